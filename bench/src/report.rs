//! The table, the raw results (JSON and CSV) and the bar chart (SVG).

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use serde::{Deserialize, Serialize};

use crate::BoxError;
use crate::cli::RunOptions;
use crate::orchestrate::{RunData, Sample};
use crate::server::Server;
use crate::stats::{Latency, Summary, summarize};
use crate::workload::{Driver, Workload};

/// Peak RSS limit of W7 (20 MiB).
const W7_RSS_LIMIT_KB: u64 = 20 * 1024;

/// Where and when a run happened.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Meta {
    pub(crate) date_utc: String,
    pub(crate) cpu: String,
    pub(crate) cores: usize,
    pub(crate) memory: String,
    pub(crate) kernel: String,
    pub(crate) load_before: String,
    pub(crate) load_after: String,
    pub(crate) server: String,
    pub(crate) server_version: String,
    pub(crate) server_settings: Vec<(String, String)>,
    pub(crate) runs: usize,
    pub(crate) runtimes: Vec<String>,
    pub(crate) counts: Vec<(Workload, u64)>,
    pub(crate) rustc: String,
    pub(crate) git_commit: String,
    pub(crate) crates: Vec<(String, String)>,
    pub(crate) duration_s: f64,
}

impl Meta {
    pub(crate) fn collect(options: &RunOptions) -> Meta {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
            .unwrap_or_default();
        let memory = std::fs::read_to_string("/proc/meminfo")
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .map(|v| v.trim().to_owned())
            .unwrap_or_default();
        Meta {
            date_utc: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
            cpu,
            cores: std::thread::available_parallelism().map_or(0, usize::from),
            memory,
            kernel: command_line("uname", &["-r"]),
            load_before: loadavg(),
            runs: options.runs,
            runtimes: options
                .flavors
                .iter()
                .map(|f| f.name().to_owned())
                .collect(),
            counts: options
                .workloads
                .iter()
                .map(|w| (*w, options.count(*w)))
                .collect(),
            rustc: command_line("rustc", &["--version"]),
            git_commit: command_line(
                "git",
                &[
                    "-C",
                    env!("CARGO_MANIFEST_DIR"),
                    "rev-parse",
                    "--short",
                    "HEAD",
                ],
            ),
            crates: locked_versions(&["tokio-postgres", "deadpool-postgres", "sqlx", "tokio"]),
            ..Meta::default()
        }
    }

    pub(crate) fn server(&mut self, server: &Server) {
        self.server = if server.temporary {
            "TempServer on 127.0.0.1 (TCP, no TLS)".to_owned()
        } else {
            "BENCH_DATABASE_URL".to_owned()
        };
        self.server_version = server.setting("server_version").to_owned();
        self.server_settings = server.settings.clone();
    }

    pub(crate) fn finish(&mut self, duration_s: f64) {
        self.load_after = loadavg();
        self.duration_s = duration_s;
    }
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn command_line(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

/// Versions of `names` in the workspace's Cargo.lock.
fn locked_versions(names: &[&str]) -> Vec<(String, String)> {
    let lock = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.lock");
    let text = std::fs::read_to_string(lock).unwrap_or_default();
    let mut out = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some(name) = line
            .strip_prefix("name = \"")
            .and_then(|r| r.strip_suffix('"'))
            && names.contains(&name)
            && let Some(version) = lines
                .next()
                .and_then(|l| l.strip_prefix("version = \""))
                .and_then(|r| r.strip_suffix('"'))
        {
            out.push((name.to_owned(), version.to_owned()));
        }
    }
    out
}

/// `12.3k`, `1.45M`.
pub(crate) fn si(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.2}M", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.1}k", x / 1e3)
    } else {
        format!("{x:.1}")
    }
}

/// One driver's entry in the table.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum Cell {
    Value(Summary),
    Unavailable(String),
    Failed(String),
    Missing,
}

impl Cell {
    fn median(&self) -> Option<f64> {
        match self {
            Cell::Value(s) => Some(s.median),
            _ => None,
        }
    }

    fn text(&self) -> String {
        match self {
            Cell::Value(s) if s.n > 1 => {
                format!("{} ({}–{})", si(s.median), si(s.min), si(s.max))
            }
            Cell::Value(s) => si(s.median),
            Cell::Unavailable(_) => "not yet available".to_owned(),
            Cell::Failed(_) => "failed".to_owned(),
            Cell::Missing => "–".to_owned(),
        }
    }
}

/// One line of the table.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Line {
    pub(crate) runtime: String,
    pub(crate) workload: Workload,
    pub(crate) drivers: Vec<(Driver, Cell)>,
    pub(crate) reference: Option<(String, Summary)>,
    pub(crate) best_peer: Option<Driver>,
    /// Quarry's median rate / the best peer's median rate.
    pub(crate) ratio: Option<f64>,
    /// Quarry's median rate / the reference's.
    pub(crate) ratio_to_reference: Option<f64>,
    /// Max peak RSS over the rounds, per driver (KiB).
    pub(crate) peak_rss_kb: Vec<(Driver, u64)>,
    /// The references after the first (W2: pgbench's pipelines, tokio-postgres's
    /// shared clients), each with Quarry's median rate over it.
    #[serde(default)]
    pub(crate) more_refs: Vec<(String, Summary, Option<f64>)>,
    /// Median over the rounds of each subject's p50 and p99 latency (W2h, W9), µs.
    #[serde(default)]
    pub(crate) latency: Vec<LatencyCell>,
    pub(crate) met: String,
}

/// One subject's latencies in one line: the median over the rounds of its p50 and p99.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct LatencyCell {
    pub(crate) subject: String,
    pub(crate) what: String,
    pub(crate) p50_us: f64,
    pub(crate) p99: Summary,
}

/// Issue 18's targets for W2 against its extra reference rows: (subject, minimum of
/// Quarry's rate over its rate).
const W2_REFERENCE_TARGETS: &[(&str, f64)] = &[
    ("tokio-postgres-shared", 1.5),
    ("pgbench -c 8, pipelines of 8 point selects", 0.5),
];

/// W2's target against deadpool (tokio-postgres's pool) in issue 18.
const W2_DEADPOOL_TARGET: f64 = 2.0;

fn cell(samples: &[&Sample], runtime: &str, w: Workload, d: Driver) -> Cell {
    let mine: Vec<&&Sample> = samples
        .iter()
        .filter(|s| {
            !s.reference && s.runtime == runtime && s.workload == w && s.subject == d.name()
        })
        .collect();
    if let Some(s) = mine.iter().find(|s| s.unavailable.is_some()) {
        return Cell::Unavailable(s.unavailable.clone().unwrap_or_default());
    }
    let rates: Vec<f64> = mine
        .iter()
        .filter(|s| s.is_valid())
        .map(|s| s.rate)
        .collect();
    match summarize(&rates) {
        Some(s) => Cell::Value(s),
        None => match mine.iter().find_map(|s| s.error.clone()) {
            Some(e) => Cell::Failed(e),
            None => Cell::Missing,
        },
    }
}

pub(crate) fn lines(data: &RunData) -> Vec<Line> {
    let samples: Vec<&Sample> = data.samples.iter().collect();
    let mut out = Vec::new();
    for runtime in &data.meta.runtimes {
        for (w, _) in &data.meta.counts {
            let w = *w;
            if !w.is_runtime() {
                continue;
            }
            let drivers: Vec<(Driver, Cell)> = Driver::ALL
                .iter()
                .map(|&d| (d, cell(&samples, runtime, w, d)))
                .collect();
            // References in the order they were measured; the first is the table's.
            let mut ref_subjects: Vec<&str> = Vec::new();
            for s in samples
                .iter()
                .filter(|s| s.reference && &s.runtime == runtime && s.workload == w)
            {
                if !ref_subjects.contains(&s.subject.as_str()) {
                    ref_subjects.push(&s.subject);
                }
            }
            let ref_summary = |subject: &str| {
                let rates: Vec<f64> = samples
                    .iter()
                    .filter(|s| {
                        s.reference
                            && &s.runtime == runtime
                            && s.workload == w
                            && s.subject == subject
                            && s.is_valid()
                    })
                    .map(|s| s.rate)
                    .collect();
                summarize(&rates).map(|s| (subject.to_owned(), s))
            };
            let mut refs = ref_subjects.iter().filter_map(|r| ref_summary(r));
            let reference = refs.next();
            let more: Vec<(String, Summary)> = refs.collect();
            let latency = latency_cells(&samples, runtime, w);
            let best_peer = drivers
                .iter()
                .filter(|(d, _)| *d != Driver::Quarry)
                .filter_map(|(d, c)| c.median().map(|m| (*d, m)))
                .max_by(|a, b| a.1.total_cmp(&b.1));
            let quarry = drivers[0].1.median();
            let ratio = match (quarry, best_peer) {
                (Some(q), Some((_, p))) => Some(q / p),
                _ => None,
            };
            let ratio_to_reference = match (quarry, &reference) {
                (Some(q), Some((_, r))) => Some(q / r.median),
                _ => None,
            };
            let peak_rss_kb = Driver::ALL
                .iter()
                .filter_map(|&d| {
                    samples
                        .iter()
                        .filter(|s| {
                            !s.reference
                                && &s.runtime == runtime
                                && s.workload == w
                                && s.subject == d.name()
                        })
                        .filter_map(|s| s.peak_rss_kb)
                        .max()
                        .map(|kb| (d, kb))
                })
                .collect();
            let more_refs = more
                .into_iter()
                .map(|(name, s)| {
                    let r = quarry.map(|q| q / s.median);
                    (name, s, r)
                })
                .collect();
            let mut line = Line {
                runtime: runtime.clone(),
                workload: w,
                drivers,
                reference,
                best_peer: best_peer.map(|(d, _)| d),
                ratio,
                ratio_to_reference,
                peak_rss_kb,
                more_refs,
                latency,
                met: String::new(),
            };
            line.met = verdict(&line);
            out.push(line);
        }
    }
    out
}

/// Each subject's latencies in `w` (drivers first, then the reference rows).
fn latency_cells(samples: &[&Sample], runtime: &str, w: Workload) -> Vec<LatencyCell> {
    let mut subjects: Vec<(&str, &str)> = Vec::new();
    for s in samples
        .iter()
        .filter(|s| s.runtime == runtime && s.workload == w && s.is_valid())
    {
        if let Some(l) = &s.latency
            && !subjects.iter().any(|(n, _)| *n == s.subject)
        {
            subjects.push((&s.subject, &l.what));
        }
    }
    subjects.sort_by_key(|(n, _)| {
        Driver::ALL
            .iter()
            .position(|d| d.name() == *n)
            .unwrap_or(Driver::ALL.len())
    });
    subjects
        .into_iter()
        .filter_map(|(subject, what)| {
            let of = |f: fn(&Latency) -> f64| -> Vec<f64> {
                samples
                    .iter()
                    .filter(|s| {
                        s.runtime == runtime
                            && s.workload == w
                            && s.subject == subject
                            && s.is_valid()
                    })
                    .filter_map(|s| s.latency.as_ref().map(f))
                    .collect()
            };
            let p50 = summarize(&of(|l| l.p50_us))?;
            let p99 = summarize(&of(|l| l.p99_us))?;
            Some(LatencyCell {
                subject: subject.to_owned(),
                what: what.to_owned(),
                p50_us: p50.median,
                p99,
            })
        })
        .collect()
}

/// Quarry's median p99 and the lowest median p99 of the other pools (not the reference
/// rows) in a line's latencies.
fn p99s(line: &Line) -> (Option<f64>, Option<f64>) {
    let quarry = line
        .latency
        .iter()
        .find(|c| c.subject == Driver::Quarry.name())
        .map(|c| c.p99.median);
    let peers = line
        .latency
        .iter()
        .filter(|c| {
            c.subject != Driver::Quarry.name() && Driver::ALL.iter().any(|d| d.name() == c.subject)
        })
        .map(|c| c.p99.median)
        .reduce(f64::min);
    (quarry, peers)
}

fn verdict(line: &Line) -> String {
    let w = line.workload;
    match &line.drivers[0].1 {
        Cell::Unavailable(_) => return "not yet available".to_owned(),
        Cell::Failed(_) => return "failed".to_owned(),
        Cell::Missing => return "–".to_owned(),
        Cell::Value(_) => {}
    }
    let Some(ratio) = line.ratio else {
        return "no peer".to_owned();
    };
    let mut misses = Vec::new();
    if ratio < w.target_ratio() {
        misses.push(format!("ratio {ratio:.2}"));
    }
    if matches!(w, Workload::W2h | Workload::W9) {
        // W2h: the fast queries' p99; W9: the transactions' p99; against the checkout
        // pools of the same run.
        match p99s(line) {
            (Some(q), Some(p)) if q > p => {
                misses.push(format!("p99 {} vs {}", micros_text(q), micros_text(p)))
            }
            (Some(_), Some(_)) => {}
            _ => misses.push("latency not measured".to_owned()),
        }
    }
    if w == Workload::W2 {
        // Issue 18: against deadpool and the extra reference rows.
        if let Some(d) = line
            .drivers
            .iter()
            .find(|(d, _)| *d == Driver::TokioPostgres)
            .and_then(|(_, c)| c.median())
            && let Some(q) = line.drivers[0].1.median()
            && q / d < W2_DEADPOOL_TARGET
        {
            misses.push(format!("{:.2} x deadpool", q / d));
        }
        for (name, min) in W2_REFERENCE_TARGETS {
            if let Some((_, _, Some(r))) = line.more_refs.iter().find(|(n, _, _)| n == name)
                && r < min
            {
                misses.push(format!("{r:.2} x {name}"));
            }
        }
    }
    match w {
        Workload::W1 => match line.ratio_to_reference {
            Some(r) if r < 0.9 => misses.push(format!("{r:.2} x pgbench")),
            Some(_) => {}
            None => misses.push("pgbench not measured".to_owned()),
        },
        Workload::W6 => match line.ratio_to_reference {
            Some(r) if r < 1.0 => misses.push(format!("{r:.2} x asyncpg")),
            Some(_) => {}
            None => misses.push("asyncpg not measured".to_owned()),
        },
        Workload::W7 => match line.peak_rss_kb.iter().find(|(d, _)| *d == Driver::Quarry) {
            Some((_, kb)) if *kb > W7_RSS_LIMIT_KB => {
                misses.push(format!("peak RSS {:.1} MiB", *kb as f64 / 1024.0));
            }
            Some(_) => {}
            None => misses.push("RSS not measured".to_owned()),
        },
        _ => {}
    }
    if misses.is_empty() {
        "yes".to_owned()
    } else {
        format!("no ({})", misses.join(", "))
    }
}

/// `850 µs`, `12.3 ms`.
fn micros_text(us: f64) -> String {
    if us >= 1000.0 {
        format!("{:.1} ms", us / 1000.0)
    } else {
        format!("{us:.0} µs")
    }
}

/// The reference rows beyond the first, and the latencies, as Markdown.
fn extra_tables(t: &mut String, lines: &[&Line]) {
    let more: Vec<&&Line> = lines.iter().filter(|l| !l.more_refs.is_empty()).collect();
    if !more.is_empty() {
        t.push_str("More reference rows (Quarry / it: Quarry's median over the reference's):\n\n| id | reference | rate | Quarry / it | target |\n|---|---|---|---|---|\n");
        for line in more {
            for (name, s, r) in &line.more_refs {
                let target = W2_REFERENCE_TARGETS
                    .iter()
                    .find(|(n, _)| line.workload == Workload::W2 && n == name)
                    .map_or("–".to_owned(), |(_, m)| format!(">= {m}"));
                let _ = writeln!(
                    t,
                    "| {} | {name} | {} ({}–{}) | {} | {target} |",
                    line.workload.id(),
                    si(s.median),
                    si(s.min),
                    si(s.max),
                    r.map_or("–".to_owned(), |r| format!("**{r:.2}**")),
                );
            }
        }
        t.push('\n');
    }
    let timed: Vec<&&Line> = lines.iter().filter(|l| !l.latency.is_empty()).collect();
    if !timed.is_empty() {
        t.push_str("Latencies (median over the rounds of each round's p50 and p99; p99 min–max; lower is better):\n\n| id | timed | subject | p50 | p99 |\n|---|---|---|---|---|\n");
        for line in timed {
            for c in &line.latency {
                let _ = writeln!(
                    t,
                    "| {} | {} | {} | {} | {} ({}–{}) |",
                    line.workload.id(),
                    c.what,
                    c.subject,
                    micros_text(c.p50_us),
                    micros_text(c.p99.median),
                    micros_text(c.p99.min),
                    micros_text(c.p99.max),
                );
            }
        }
        t.push('\n');
    }
}

/// The table as Markdown.
pub(crate) fn table(data: &RunData, lines: &[Line]) -> String {
    let mut t = String::new();
    for runtime in &data.meta.runtimes {
        let _ = writeln!(
            t,
            "Runtime: tokio {runtime}. Median of {} rounds (min–max). Rates per second; higher is better.\n",
            data.meta.runs
        );
        t.push_str("| id | workload | unit | Quarry | tokio-postgres | sqlx | reference | Quarry / best peer | target | met? |\n");
        t.push_str("|---|---|---|---|---|---|---|---|---|---|\n");
        for line in lines.iter().filter(|l| &l.runtime == runtime) {
            let w = line.workload;
            let reference = match &line.reference {
                Some((name, s)) => format!("{} ({name})", si(s.median)),
                None => "–".to_owned(),
            };
            let ratio = match (line.ratio, line.best_peer) {
                (Some(r), Some(p)) => format!("**{r:.2}** (vs {p})"),
                _ => "–".to_owned(),
            };
            let _ = writeln!(
                t,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                w.id(),
                w.title(),
                w.unit(),
                line.drivers[0].1.text(),
                line.drivers[1].1.text(),
                line.drivers[2].1.text(),
                reference,
                ratio,
                w.target_text(),
                line.met
            );
        }
        if let Some(w8) = &data.w8 {
            let _ = writeln!(t, "{}", crate::w8::table_line(w8));
        }
        t.push('\n');
        let mine: Vec<&Line> = lines.iter().filter(|l| &l.runtime == runtime).collect();
        extra_tables(&mut t, &mine);
        // Peak RSS where memory is part of the story.
        let rss: Vec<&Line> = lines
            .iter()
            .filter(|l| &l.runtime == runtime && matches!(l.workload, Workload::W4 | Workload::W7))
            .collect();
        if !rss.is_empty() {
            t.push_str("Peak RSS of the measuring process (max over rounds):\n\n| id | Quarry | tokio-postgres | sqlx |\n|---|---|---|---|\n");
            for line in rss {
                let kb = |d: Driver| {
                    line.peak_rss_kb
                        .iter()
                        .find(|(x, _)| *x == d)
                        .map_or("–".to_owned(), |(_, kb)| {
                            format!("{:.1} MiB", *kb as f64 / 1024.0)
                        })
                };
                let _ = writeln!(
                    t,
                    "| {} | {} | {} | {} |",
                    line.workload.id(),
                    kb(Driver::Quarry),
                    kb(Driver::TokioPostgres),
                    kb(Driver::Sqlx)
                );
            }
            t.push('\n');
        }
    }
    if !data.instructions.is_empty() {
        t.push_str("Client instructions per query (W1, W2) / per row (W4), perf stat (user + kernel) or callgrind (user only):\n\n| id | driver | user | kernel |\n|---|---|---|---|\n");
        for s in &data.instructions {
            let f = |v: Option<f64>| {
                v.map_or_else(
                    || s.error.clone().unwrap_or("–".to_owned()),
                    |v| format!("{v:.0}"),
                )
            };
            let _ = writeln!(
                t,
                "| {} | {} | {} | {} |",
                s.workload.id(),
                s.driver,
                f(s.user_per_op),
                f(s.kernel_per_op)
            );
        }
        t.push('\n');
    }
    if let Some(w8) = &data.w8 {
        t.push_str(&crate::w8::table(w8));
    }
    // How each driver did the work.
    let mut methods: Vec<(Workload, String, String)> = Vec::new();
    for s in &data.samples {
        if let Some(m) = &s.method
            && !methods
                .iter()
                .any(|(w, d, _)| *w == s.workload && *d == s.subject)
        {
            methods.push((s.workload, s.subject.clone(), m.clone()));
        }
    }
    methods.sort();
    if !methods.is_empty() {
        t.push_str("How each driver ran each workload:\n\n");
        for (w, d, m) in methods {
            let _ = writeln!(t, "- {w} {d}: {m}");
        }
        t.push('\n');
    }
    let unavailable: Vec<String> = lines
        .iter()
        .flat_map(|l| {
            l.drivers.iter().filter_map(move |(d, c)| match c {
                Cell::Unavailable(why) => Some(format!("- {} {d}: {why}", l.workload)),
                Cell::Failed(why) => Some(format!("- {} {d} FAILED: {why}", l.workload)),
                _ => None,
            })
        })
        .collect();
    if !unavailable.is_empty() {
        t.push_str("Not measured:\n\n");
        for u in dedup(unavailable) {
            t.push_str(&u);
            t.push('\n');
        }
        t.push('\n');
    }
    let m = &data.meta;
    let _ = writeln!(
        t,
        "Run {} on {} ({} cores, {}), kernel {}; PostgreSQL {} ({}); settings: {}; load before/after: {} / {}; {}; {}; commit {}; {:.0} s.",
        m.date_utc,
        m.cpu,
        m.cores,
        m.memory,
        m.kernel,
        m.server_version,
        m.server,
        m.server_settings
            .iter()
            .filter(|(n, _)| n != "server_version")
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join(", "),
        m.load_before,
        m.load_after,
        m.rustc,
        m.crates
            .iter()
            .map(|(n, v)| format!("{n} {v}"))
            .collect::<Vec<_>>()
            .join(", "),
        m.git_commit,
        m.duration_s
    );
    t
}

fn dedup(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v.dedup();
    v
}

/// Prints the table and writes `run-<date>.json`, `latest.{json,csv,md,svg}`.
pub(crate) fn write(options: &RunOptions, data: &RunData) -> Result<(), BoxError> {
    let lines = lines(data);
    let table = table(data, &lines);
    println!("\n{table}");
    std::fs::create_dir_all(&options.out)?;
    let json = serde_json::to_string_pretty(&serde_json::json!({
        "meta": data.meta,
        "summary": lines,
        "samples": data.samples,
        "instructions": data.instructions,
        "w8": data.w8,
    }))?;
    let stamp = chrono::Utc::now().format("%Y%m%d-%H%M%S");
    let out = &options.out;
    std::fs::write(out.join(format!("run-{stamp}.json")), &json)?;
    std::fs::write(out.join("latest.json"), &json)?;
    std::fs::write(out.join("latest.csv"), csv(data))?;
    std::fs::write(out.join("latest.md"), &table)?;
    if let Some(runtime) = data.meta.runtimes.first() {
        crate::chart::draw(&out.join("latest.svg"), data, &lines, runtime)?;
    }
    eprintln!("results: {}", out.display());
    Ok(())
}

fn csv(data: &RunData) -> String {
    let mut s = String::from(
        "runtime,workload,subject,reference,round,ops,secs,rate,peak_rss_kb,unavailable,error\n",
    );
    for x in &data.samples {
        let _ = writeln!(
            s,
            "{},{},{},{},{},{},{:.6},{:.1},{},{},{}",
            x.runtime,
            x.workload.id(),
            x.subject,
            x.reference,
            x.round,
            x.ops,
            x.secs,
            x.rate,
            x.peak_rss_kb.map(|k| k.to_string()).unwrap_or_default(),
            quote(x.unavailable.as_deref()),
            quote(x.error.as_deref()),
        );
    }
    s
}

fn quote(v: Option<&str>) -> String {
    v.map(|v| format!("\"{}\"", v.replace('"', "\"\"")))
        .unwrap_or_default()
}
