//! W8: what a checked query costs at build time.
//!
//! Four generated crates in one scratch workspace: 100 distinct queries through the
//! checked macro (`sqlx::query!`, `quarry::query!`) and the same 100 through the plain
//! runtime API (`sqlx::query`, `quarry::query`). Each timed build edits a comment in the
//! crate's `lib.rs` and runs an incremental debug `cargo build` of that crate alone; the
//! cost per query is (macro crate - plain crate) / 100, paired per round. Online the
//! macros describe each query on the server; offline they read the saved descriptions
//! (sqlx: `.sqlx/` written by an online build with `SQLX_OFFLINE_DIR`, then
//! `SQLX_OFFLINE=true`). Both macro crates get `opt-level = 3`, as sqlx's README advises
//! for `sqlx-macros`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::BoxError;
use crate::cli::RunOptions;
use crate::server::Server;
use crate::stats::{Summary, summarize};

/// Queries per generated crate.
const QUERIES: usize = 100;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Lib {
    Sqlx,
    Quarry,
}

impl Lib {
    fn name(self) -> &'static str {
        match self {
            Lib::Sqlx => "sqlx",
            Lib::Quarry => "quarry",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Mode {
    Online,
    Offline,
}

/// One timed build.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct BuildSample {
    pub(crate) lib: Lib,
    pub(crate) mode: Mode,
    pub(crate) checked: bool,
    pub(crate) round: usize,
    pub(crate) secs: f64,
}

/// The cost per query of one library in one mode.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Cost {
    pub(crate) lib: Lib,
    pub(crate) mode: Mode,
    /// Milliseconds of build per checked query.
    pub(crate) ms_per_query: Option<Summary>,
    pub(crate) unavailable: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct W8Result {
    pub(crate) costs: Vec<Cost>,
    pub(crate) samples: Vec<BuildSample>,
}

impl W8Result {
    fn cost(&self, lib: Lib, mode: Mode) -> Option<&Cost> {
        self.costs.iter().find(|c| c.lib == lib && c.mode == mode)
    }

    /// Quarry's cost / sqlx's cost.
    fn ratio(&self, mode: Mode) -> Option<f64> {
        let q = self.cost(Lib::Quarry, mode)?.ms_per_query?.median;
        let s = self.cost(Lib::Sqlx, mode)?.ms_per_query?.median;
        (s > 0.0).then(|| q / s)
    }
}

pub(crate) fn run(options: &RunOptions, server: &Server) -> Result<W8Result, BoxError> {
    eprintln!("== W8: build cost of checked queries");
    server.ensure_schema()?;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/quarry-bench-w8");
    generate(&root)?;
    let mut samples = Vec::new();
    let mut costs = Vec::new();
    for lib in [Lib::Sqlx, Lib::Quarry] {
        // The untimed first builds: dependencies, and the offline data of sqlx.
        let mut unavailable = None;
        for checked in [false, true] {
            if let Err(e) = build(&root, server, lib, checked, Mode::Online, true) {
                unavailable = Some(e.to_string());
                break;
            }
        }
        if let Some(why) = unavailable {
            eprintln!("   W8 {}: not yet available: {why}", lib.name());
            for mode in [Mode::Online, Mode::Offline] {
                costs.push(Cost {
                    lib,
                    mode,
                    ms_per_query: None,
                    unavailable: Some(why.clone()),
                });
            }
            continue;
        }
        for mode in [Mode::Online, Mode::Offline] {
            let mut per_query = Vec::new();
            let mut error = None;
            for round in 0..options.runs {
                let mut secs = [0.0f64; 2];
                // Alternate which crate builds first.
                let order = if round % 2 == 0 {
                    [false, true]
                } else {
                    [true, false]
                };
                for checked in order {
                    match build(&root, server, lib, checked, mode, false) {
                        Ok(s) => {
                            secs[usize::from(checked)] = s;
                            samples.push(BuildSample {
                                lib,
                                mode,
                                checked,
                                round,
                                secs: s,
                            });
                        }
                        Err(e) => error = Some(e.to_string()),
                    }
                }
                if error.is_some() {
                    break;
                }
                let ms = (secs[1] - secs[0]) * 1000.0 / QUERIES as f64;
                eprintln!(
                    "   W8 {:<6} {:?}: plain {:.2} s, checked {:.2} s -> {ms:.1} ms per query",
                    lib.name(),
                    mode,
                    secs[0],
                    secs[1]
                );
                per_query.push(ms);
            }
            costs.push(Cost {
                lib,
                mode,
                ms_per_query: summarize(&per_query),
                unavailable: error,
            });
        }
    }
    Ok(W8Result { costs, samples })
}

/// Builds one generated crate after editing its source; returns the seconds it took.
fn build(
    root: &Path,
    server: &Server,
    lib: Lib,
    checked: bool,
    mode: Mode,
    first: bool,
) -> Result<f64, BoxError> {
    let krate = crate_name(lib, checked);
    let lib_rs = root.join(&krate).join("src/lib.rs");
    let source = std::fs::read_to_string(&lib_rs)?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let stamp = format!("// edit {nanos}\n");
    let edited = match source.split_once('\n') {
        Some((first_line, rest)) if first_line.starts_with("// edit") => format!("{stamp}{rest}"),
        _ => format!("{stamp}{source}"),
    };
    std::fs::write(&lib_rs, edited)?;
    let mut c = Command::new("cargo");
    c.current_dir(root)
        .args(["build", "-q", "-p", &krate])
        .env("CARGO_TARGET_DIR", root.join("target"))
        .env("CARGO_INCREMENTAL", "1")
        .env_remove("SQLX_OFFLINE")
        .env_remove("SQLX_OFFLINE_DIR")
        .env_remove("DATABASE_URL")
        .env_remove("PGPREPARE_OFFLINE")
        .env_remove("PGPREPARE_OFFLINE_DIR")
        .env_remove("PGPREPARE_WRITE")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if !first {
        c.arg("--offline");
    }
    match mode {
        Mode::Online => {
            c.env("DATABASE_URL", &server.url);
            // The first (untimed) online build also writes the offline data.
            if first && lib == Lib::Sqlx {
                c.env("SQLX_OFFLINE_DIR", root.join(&krate).join(".sqlx"));
            }
            if first && lib == Lib::Quarry {
                c.env("PGPREPARE_WRITE", root.join(&krate).join(".pgprepare"));
            }
        }
        Mode::Offline => {
            c.env("SQLX_OFFLINE", "true")
                .env("PGPREPARE_OFFLINE", "true");
        }
    }
    if first {
        let dir = match lib {
            Lib::Sqlx => ".sqlx",
            Lib::Quarry => ".pgprepare",
        };
        std::fs::create_dir_all(root.join(&krate).join(dir))?;
    }
    let start = Instant::now();
    let output = c.output()?;
    let secs = start.elapsed().as_secs_f64();
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let first_error = stderr
            .lines()
            .find(|l| l.starts_with("error"))
            .unwrap_or("cargo build failed");
        return Err(format!("building {krate}: {first_error}").into());
    }
    Ok(secs)
}

fn crate_name(lib: Lib, checked: bool) -> String {
    format!(
        "{}_{}",
        lib.name(),
        if checked { "checked" } else { "plain" }
    )
}

/// The 100 queries: reads and writes over the bench tables, each distinct.
fn queries() -> Vec<(String, usize)> {
    (0..QUERIES)
        .map(|i| match i % 4 {
            0 => (format!("SELECT a, b, c FROM bench_w4 WHERE a = $1 AND b > {i}"), 1),
            1 => (
                format!("SELECT a, c, d, e, f FROM bench_w4 WHERE a BETWEEN $1 AND $2 LIMIT {}", i + 1),
                2,
            ),
            2 => (
                format!(
                    "INSERT INTO bench_w6 (a, b, c, d, e, f, g) VALUES ($1, $2, $3, $4, $5, $6, '{i}')"
                ),
                6,
            ),
            _ => (format!("SELECT count(*) AS n FROM bench_w4 WHERE f = $1 AND a > {i}"), 1),
        })
        .collect()
}

/// Arguments for a query with `n` parameters, in the order of the SQL above.
fn args(sql: &str, n: usize) -> Vec<&'static str> {
    if sql.starts_with("INSERT") {
        vec!["1i32", "2i32", "3i32", "\"d\"", "0.5f64", "6i32"]
    } else if sql.contains("f = $1") {
        vec!["true"]
    } else {
        vec!["1i32", "2i32"].into_iter().take(n).collect()
    }
}

fn source(lib: Lib, checked: bool) -> String {
    let mut s = String::from(
        "// edit 0\n#![allow(dead_code)]\n//! Generated by quarry-bench (W8). Do not edit.\n\n",
    );
    for (i, (sql, n)) in queries().iter().enumerate() {
        let a = args(sql, *n);
        let run = if sql.starts_with("INSERT") {
            "execute"
        } else {
            "fetch_all"
        };
        let count = if run == "execute" {
            ""
        } else {
            ".len() as u64"
        };
        let body = match (lib, checked) {
            (Lib::Sqlx, true) => format!(
                "sqlx::query!({sql:?}, {}).{run}(&mut *conn).await?{}",
                a.join(", "),
                if run == "execute" {
                    ".rows_affected()"
                } else {
                    count
                }
            ),
            (Lib::Sqlx, false) => format!(
                "sqlx::query({sql:?}){}.{run}(&mut *conn).await?{}",
                a.iter().map(|v| format!(".bind({v})")).collect::<String>(),
                if run == "execute" {
                    ".rows_affected()"
                } else {
                    count
                }
            ),
            (Lib::Quarry, true) => format!(
                "quarry::query!({sql:?}, {}).{run}(&mut *conn).await?{count}",
                a.join(", ")
            ),
            (Lib::Quarry, false) => format!(
                "quarry::query({sql:?}){}.{run}(&mut *conn).await?{count}",
                a.iter().map(|v| format!(".bind({v})")).collect::<String>()
            ),
        };
        let (conn, err) = match lib {
            Lib::Sqlx => ("sqlx::PgConnection", "sqlx::Error"),
            Lib::Quarry => ("quarry::Connection", "quarry::Error"),
        };
        let _ = writeln!(
            s,
            "pub async fn q{i}(conn: &mut {conn}) -> Result<u64, {err}> {{\n    Ok({body})\n}}\n"
        );
    }
    s
}

/// Writes the scratch workspace (sources only when they changed, so builds stay incremental).
fn generate(root: &Path) -> Result<(), BoxError> {
    let quarry = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()?;
    let mut manifest = String::from("[workspace]\nresolver = \"3\"\nmembers = [");
    let mut crates = Vec::new();
    for lib in [Lib::Sqlx, Lib::Quarry] {
        for checked in [false, true] {
            crates.push((lib, checked, crate_name(lib, checked)));
        }
    }
    manifest.push_str(
        &crates
            .iter()
            .map(|(_, _, n)| format!("\"{n}\""))
            .collect::<Vec<_>>()
            .join(", "),
    );
    let _ = write!(
        manifest,
        "]\n\n[workspace.dependencies]\n\
         sqlx = {{ version = \"0.9\", default-features = false, features = [\"postgres\", \"runtime-tokio\", \"macros\", \"chrono\"] }}\n\
         quarry = {{ path = {:?}, default-features = false, features = [\"chrono\"] }}\n\n\
         [profile.dev.package.sqlx-macros]\nopt-level = 3\n\n\
         [profile.dev.package.quarry-macros]\nopt-level = 3\n",
        quarry.display().to_string()
    );
    std::fs::create_dir_all(root)?;
    write_if_changed(&root.join("Cargo.toml"), &manifest)?;
    if !root.join("Cargo.lock").exists() {
        // Start from the workspace's lock so shared dependencies keep their versions.
        let _ = std::fs::copy(quarry.join("Cargo.lock"), root.join("Cargo.lock"));
    }
    for (lib, checked, name) in crates {
        let dir: PathBuf = root.join(&name);
        std::fs::create_dir_all(dir.join("src"))?;
        let dep = match lib {
            Lib::Sqlx => "sqlx",
            Lib::Quarry => "quarry",
        };
        write_if_changed(
            &dir.join("Cargo.toml"),
            &format!(
                "[package]\nname = \"{name}\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n[dependencies]\n{dep}.workspace = true\n"
            ),
        )?;
        let lib_rs = dir.join("src/lib.rs");
        let new = source(lib, checked);
        let old = std::fs::read_to_string(&lib_rs).unwrap_or_default();
        // Compare without the edit stamp on the first line.
        let strip = |s: &str| {
            s.split_once('\n')
                .map(|(_, r)| r.to_owned())
                .unwrap_or_default()
        };
        if strip(&old) != strip(&new) {
            std::fs::write(&lib_rs, new)?;
        }
    }
    Ok(())
}

fn write_if_changed(path: &Path, text: &str) -> Result<(), BoxError> {
    if std::fs::read_to_string(path).ok().as_deref() != Some(text) {
        std::fs::write(path, text)?;
    }
    Ok(())
}

fn cell(c: Option<&Cost>) -> String {
    match c {
        Some(Cost {
            ms_per_query: Some(s),
            ..
        }) if s.n > 1 => {
            format!("{:.1} ms ({:.1}–{:.1})", s.median, s.min, s.max)
        }
        Some(Cost {
            ms_per_query: Some(s),
            ..
        }) => format!("{:.1} ms", s.median),
        Some(Cost {
            unavailable: Some(_),
            ..
        }) => "not yet available".to_owned(),
        _ => "–".to_owned(),
    }
}

fn verdict(r: &W8Result, mode: Mode) -> String {
    match (r.cost(Lib::Quarry, mode), r.ratio(mode)) {
        (
            Some(Cost {
                unavailable: Some(_),
                ..
            }),
            _,
        ) => "not yet available".to_owned(),
        (_, Some(x)) if x <= 0.7 => "yes".to_owned(),
        (_, Some(x)) => format!("no ({x:.2})"),
        _ => "–".to_owned(),
    }
}

/// W8's lines in the main table (cost, lower is better).
pub(crate) fn table_line(r: &W8Result) -> String {
    let mut s = String::new();
    for (mode, label) in [(Mode::Online, "online"), (Mode::Offline, "offline")] {
        let ratio = r
            .ratio(mode)
            .map_or("–".to_owned(), |x| format!("**{x:.2}** (cost vs sqlx)"));
        let _ = writeln!(
            s,
            "| W8 | build cost per checked query, {label} | ms per query (lower is better) | {} | – | {} | – | {ratio} | cost <= 0.7 x sqlx | {} |",
            cell(r.cost(Lib::Quarry, mode)),
            cell(r.cost(Lib::Sqlx, mode)),
            verdict(r, mode)
        );
    }
    s.trim_end().to_owned()
}

/// A note under the table with the raw build times.
pub(crate) fn table(r: &W8Result) -> String {
    let mut s = String::from(
        "W8 build times (incremental debug build after editing lib.rs, seconds, median):\n\n| library | mode | plain (100 x query) | checked (100 x query!) |\n|---|---|---|---|\n",
    );
    for lib in [Lib::Sqlx, Lib::Quarry] {
        for mode in [Mode::Online, Mode::Offline] {
            let med = |checked: bool| {
                let v: Vec<f64> = r
                    .samples
                    .iter()
                    .filter(|b| b.lib == lib && b.mode == mode && b.checked == checked)
                    .map(|b| b.secs)
                    .collect();
                summarize(&v).map_or("–".to_owned(), |s| format!("{:.2}", s.median))
            };
            let _ = writeln!(
                s,
                "| {} | {mode:?} | {} | {} |",
                lib.name(),
                med(false),
                med(true)
            );
        }
    }
    for c in &r.costs {
        if let Some(why) = &c.unavailable {
            let _ = writeln!(s, "\n{} {:?}: {why}", c.lib.name(), c.mode);
        }
    }
    s.push('\n');
    s
}

/// Chart groups: build speed relative to sqlx (sqlx cost / cost), higher is better.
pub(crate) fn chart_groups(r: &W8Result) -> Vec<crate::chart::Group> {
    let mut out = Vec::new();
    for (mode, label) in [(Mode::Online, "W8 online"), (Mode::Offline, "W8 offline")] {
        let Some(sqlx) = r
            .cost(Lib::Sqlx, mode)
            .and_then(|c| c.ms_per_query)
            .map(|s| s.median)
        else {
            continue;
        };
        if sqlx <= 0.0 {
            continue;
        }
        let mut bars = vec![(2, 1.0)];
        if let Some(q) = r
            .cost(Lib::Quarry, mode)
            .and_then(|c| c.ms_per_query)
            .map(|s| s.median)
            && q > 0.0
        {
            bars.push((0, sqlx / q));
        }
        out.push(crate::chart::Group {
            label: label.to_owned(),
            bars,
            note: Some("Quarry: n/a".to_owned()),
        });
    }
    out
}
