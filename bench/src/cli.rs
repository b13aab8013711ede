//! Command-line parsing (by hand: a handful of flags does not need a parser crate).

use std::path::PathBuf;

use crate::workload::{Driver, Flavor, Workload};

pub(crate) const USAGE: &str = "\
usage: quarry-bench [all | w1 .. w9 | w2h]... [options]
       quarry-bench connect [--runs N]
       quarry-bench replication [--runs N] [--rows N]

Runs each workload for Quarry, tokio-postgres and sqlx in the same run, drivers
interleaved, and prints throughput (median, min-max) with the ratio Quarry / best peer.
W2h (W2 with 1 query in 100 taking 50 ms) and W9 (a service mix) also report latencies;
W2 and W2h also run tokio-postgres with 8 clients shared by the tasks (no pool).
`connect` times opening and closing a connection instead (and libpq's, by pgbench -C).
`replication` decodes a logical replication stream of one large insert transaction
(text and binary values) against pg_recvlogical reading the same changes (default 3
rounds of 1,000,000 rows).

options:
  --runs N           rounds per workload (default 5; the median is reported)
  --runtime KIND     current | multi | both   tokio runtime of every client (default current)
  --scale F          multiply every workload's size by F (for a quick smoke run)
  --quick            --runs 1 --scale 0.05, no references, no instruction counts, no W8
  --no-refs          skip pgbench / COPY / asyncpg references
  --no-instructions  skip the instruction counts (perf, else callgrind) for W1, W2, W4
  --out DIR          where raw results and the chart go (default bench/results)

environment:
  BENCH_DATABASE_URL   use this server instead of starting a TempServer (superuser;
                       tables named bench_* and pgbench_* are created and replaced)
";

/// What to do.
#[derive(Debug)]
pub(crate) enum Command {
    Help,
    Run(RunOptions),
    Worker(WorkerArgs),
    /// Connection setup time, `runs` rounds.
    Connect {
        runs: usize,
    },
    /// Logical replication decode throughput, `runs` rounds of `rows` rows.
    Replication {
        runs: usize,
        rows: u64,
    },
}

/// Options of a benchmark run.
#[derive(Clone, Debug)]
pub(crate) struct RunOptions {
    pub(crate) workloads: Vec<Workload>,
    pub(crate) runs: usize,
    pub(crate) flavors: Vec<Flavor>,
    pub(crate) scale: f64,
    pub(crate) references: bool,
    pub(crate) instructions: bool,
    pub(crate) out: PathBuf,
}

impl RunOptions {
    /// The size of one measurement of `w`.
    pub(crate) fn count(&self, w: Workload) -> u64 {
        let scaled = w.default_count() as f64 * self.scale;
        if !scaled.is_finite() || scaled < 1.0 {
            return 1;
        }
        // Counts are far below 2^53: the float holds them exactly.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let n = scaled.round() as u64;
        n
    }
}

/// Arguments of one measurement in a child process.
#[derive(Clone, Debug)]
pub(crate) struct WorkerArgs {
    pub(crate) workload: Workload,
    pub(crate) driver: Driver,
    pub(crate) url: String,
    pub(crate) flavor: Flavor,
    pub(crate) count: u64,
}

pub(crate) fn parse(args: &[String]) -> Result<Command, String> {
    if args.first().map(String::as_str) == Some("worker") {
        return parse_worker(&args[1..]).map(Command::Worker);
    }
    if args.first().map(String::as_str) == Some("replication") {
        let (mut runs, mut rows) = (3usize, 1_000_000u64);
        let mut it = args[1..].iter();
        while let Some(arg) = it.next() {
            let number = |v: &str| v.parse::<u64>().ok().filter(|n| *n > 0);
            match arg.as_str() {
                "--runs" => {
                    runs = number(value(&mut it, arg)?)
                        .and_then(|n| usize::try_from(n).ok())
                        .ok_or("--runs takes a positive number")?;
                }
                "--rows" => {
                    rows = number(value(&mut it, arg)?).ok_or("--rows takes a positive number")?;
                }
                other => return Err(format!("replication: unknown argument {other:?}")),
            }
        }
        return Ok(Command::Replication { runs, rows });
    }
    let mut options = RunOptions {
        workloads: Vec::new(),
        runs: 5,
        flavors: vec![Flavor::CurrentThread],
        scale: 1.0,
        references: true,
        instructions: true,
        out: default_out(),
    };
    let connect = args.first().map(String::as_str) == Some("connect");
    let mut it = args[usize::from(connect)..].iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "help" | "-h" | "--help" => return Ok(Command::Help),
            "all" => options.workloads.extend(Workload::ALL),
            "--runs" => {
                options.runs = value(&mut it, "--runs")?
                    .parse()
                    .map_err(|_| "--runs takes a positive number".to_owned())?;
                if options.runs == 0 {
                    return Err("--runs takes a positive number".to_owned());
                }
            }
            "--runtime" => {
                let v = value(&mut it, "--runtime")?;
                options.flavors = if v == "both" {
                    vec![Flavor::CurrentThread, Flavor::MultiThread]
                } else {
                    vec![v.parse()?]
                };
            }
            "--scale" => {
                options.scale = value(&mut it, "--scale")?
                    .parse()
                    .ok()
                    .filter(|s: &f64| s.is_finite() && *s > 0.0)
                    .ok_or("--scale takes a positive number")?;
            }
            "--quick" => {
                options.runs = 1;
                options.scale = 0.05;
                options.references = false;
                options.instructions = false;
                options.workloads.retain(|w| *w != Workload::W8);
            }
            "--no-refs" => options.references = false,
            "--no-instructions" => options.instructions = false,
            "--out" => options.out = PathBuf::from(value(&mut it, "--out")?),
            other => options.workloads.push(other.parse()?),
        }
    }
    if connect {
        if !options.workloads.is_empty() {
            return Err("connect takes no workloads".to_owned());
        }
        return Ok(Command::Connect { runs: options.runs });
    }
    if options.workloads.is_empty() {
        return Ok(Command::Help);
    }
    if args.iter().any(|a| a == "--quick") {
        options.workloads.retain(|w| *w != Workload::W8);
    }
    options.workloads.sort();
    options.workloads.dedup();
    Ok(Command::Run(options))
}

fn parse_worker(args: &[String]) -> Result<WorkerArgs, String> {
    let mut workload = None;
    let mut driver = None;
    let mut url = None;
    let mut flavor = Flavor::CurrentThread;
    let mut count = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--workload" => workload = Some(value(&mut it, arg)?.parse()?),
            "--driver" => driver = Some(value(&mut it, arg)?.parse()?),
            "--url" => url = Some(value(&mut it, arg)?.to_owned()),
            "--runtime" => flavor = value(&mut it, arg)?.parse()?,
            "--count" => {
                count = Some(
                    value(&mut it, arg)?
                        .parse()
                        .map_err(|_| "--count takes a number".to_owned())?,
                );
            }
            other => return Err(format!("worker: unknown argument {other:?}")),
        }
    }
    Ok(WorkerArgs {
        workload: workload.ok_or("worker needs --workload")?,
        driver: driver.ok_or("worker needs --driver")?,
        url: url.ok_or("worker needs --url")?,
        flavor,
        count: count.ok_or("worker needs --count")?,
    })
}

fn value<'a>(it: &mut std::slice::Iter<'a, String>, flag: &str) -> Result<&'a str, String> {
    it.next()
        .map(String::as_str)
        .ok_or_else(|| format!("{flag} needs a value"))
}

/// `bench/results` of the workspace, wherever the command runs from.
fn default_out() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("results")
}
