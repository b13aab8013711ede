//! The run: describe every query through `cargo check`, then write or compare.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::args::Options;
use crate::cache;

pub(crate) enum Outcome {
    /// Written, or up to date.
    Clean,
    /// `--check` found differences.
    Differs,
}

pub(crate) fn run(o: &Options) -> Result<Outcome> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let root = project_dir(&cargo, o.workspace)?;
    let cache_dir = root.join(".pgprepare");

    let server = if o.temp_server {
        Some(crate::server::start(&o.migrations, &o.schema)?)
    } else {
        None
    };
    let url = match (&server, &o.database_url) {
        (Some(s), _) => s.url(),
        (None, Some(url)) => url.clone(),
        (None, None) => match std::env::var("DATABASE_URL") {
            Ok(url) if !url.is_empty() => url,
            _ => bail!(
                "no database to describe queries against: set DATABASE_URL, pass \
                 --database-url, or use --temp-server --schema <schema.sql>"
            ),
        },
    };

    let scratch =
        std::env::temp_dir().join(format!("pgprepare-{}-{}", std::process::id(), nonce()));
    std::fs::create_dir_all(&scratch)
        .with_context(|| format!("cannot create {}", scratch.display()))?;
    let result = check(&cargo, o, &url, &scratch);
    let fresh = result.and_then(|()| cache::read_dir(&scratch));
    let locations = cache::read_locations(&scratch);
    let _ = std::fs::remove_dir_all(&scratch);
    drop(server);
    let fresh = fresh?;
    let cached = cache::read_dir(&cache_dir)?;
    let diff = cache::compare(&fresh, &cached);
    let shown = cache_dir
        .strip_prefix(&root)
        .map_or(cache_dir.clone(), |p| p.to_path_buf());

    if fresh.is_empty() {
        eprintln!("warning: no queries were described (no query! calls were compiled)");
    }
    if o.check {
        if diff.is_clean() {
            println!(
                "{}: up to date ({} queries)",
                shown.display(),
                diff.unchanged
            );
            return Ok(Outcome::Clean);
        }
        eprintln!("{} is out of date:", shown.display());
        let query = |name: &String| {
            let sql = cache::first_line(&fresh[name]);
            match locations.get(name) {
                Some(site) => format!("{site}: {sql}"),
                None => sql,
            }
        };
        for name in &diff.missing {
            eprintln!(
                "  missing  {}\n           no description ({name})",
                query(name)
            );
        }
        for name in &diff.stale {
            eprintln!("  stale    {}  ({name})", query(name));
            for change in cache::changes(&cached[name], &fresh[name]) {
                eprintln!("           {change}");
            }
        }
        for name in &diff.extra {
            eprintln!(
                "  extra    {}  ({name})\n           no query uses it any more",
                cache::first_line(&cached[name])
            );
        }
        eprintln!(
            "Run `cargo pgprepare` (with the same options, without --check) and commit the result."
        );
        return Ok(Outcome::Differs);
    }
    cache::apply(&cache_dir, &fresh, &diff)?;
    println!(
        "{}: {} queries described; {} written, {} unchanged, {} removed",
        shown.display(),
        fresh.len(),
        diff.missing.len() + diff.stale.len(),
        diff.unchanged,
        diff.extra.len()
    );
    Ok(Outcome::Clean)
}

/// Runs `cargo check` so that every query macro describes its query into `scratch`.
fn check(cargo: &str, o: &Options, url: &str, scratch: &Path) -> Result<()> {
    let mut cmd = Command::new(cargo);
    cmd.arg("check");
    if o.workspace {
        cmd.arg("--workspace");
    }
    if o.cargo_args.is_empty() {
        cmd.arg("--all-targets");
    } else {
        cmd.args(&o.cargo_args);
    }
    cmd.env("DATABASE_URL", url)
        .env("PGPREPARE_WRITE", scratch)
        // Changes on every run, so that cargo re-expands every query macro.
        .env("PGPREPARE_RUN", nonce().to_string())
        .env_remove("PGPREPARE_OFFLINE");
    eprintln!("running cargo check to describe the queries...");
    let status = cmd
        .status()
        .with_context(|| format!("cannot run `{cargo} check`"))?;
    if !status.success() {
        bail!(
            "`cargo check` failed (see its output above); fix the errors, then run \
             `cargo pgprepare` again"
        );
    }
    Ok(())
}

/// The directory of the current crate (or the workspace root).
fn project_dir(cargo: &str, workspace: bool) -> Result<PathBuf> {
    let mut cmd = Command::new(cargo);
    cmd.args(["locate-project", "--message-format", "plain"]);
    if workspace {
        cmd.arg("--workspace");
    }
    let out = cmd
        .output()
        .with_context(|| format!("cannot run `{cargo} locate-project`"))?;
    if !out.status.success() {
        bail!(
            "not in a cargo project: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let manifest = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    manifest
        .parent()
        .map(Path::to_path_buf)
        .context("cargo locate-project printed no directory")
}

fn nonce() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}
