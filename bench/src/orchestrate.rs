//! The parent process: server, data, rounds of interleaved measurements, report.

use std::process::{Command, Stdio};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::BoxError;
use crate::cli::RunOptions;
use crate::instructions;
use crate::reference::References;
use crate::report;
use crate::server::Server;
use crate::stats::Latency;
use crate::w8;
use crate::worker::WorkerReport;
use crate::workload::{Driver, Flavor, Workload};

/// One measurement of one subject (a driver or a reference).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Sample {
    pub(crate) runtime: String,
    pub(crate) workload: Workload,
    /// A driver name, or the reference's name.
    pub(crate) subject: String,
    pub(crate) reference: bool,
    pub(crate) round: usize,
    pub(crate) ops: u64,
    pub(crate) secs: f64,
    /// ops / secs.
    pub(crate) rate: f64,
    pub(crate) peak_rss_kb: Option<u64>,
    pub(crate) method: Option<String>,
    /// The driver cannot run this workload yet.
    pub(crate) unavailable: Option<String>,
    /// The measurement failed.
    pub(crate) error: Option<String>,
    /// Latencies the workload timed (W2h, W9).
    #[serde(default)]
    pub(crate) latency: Option<Latency>,
}

impl Sample {
    pub(crate) fn is_valid(&self) -> bool {
        self.unavailable.is_none()
            && self.error.is_none()
            && self.rate.is_finite()
            && self.rate > 0.0
    }
}

/// Everything a run produced.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct RunData {
    pub(crate) meta: report::Meta,
    pub(crate) samples: Vec<Sample>,
    pub(crate) instructions: Vec<instructions::InstrSample>,
    pub(crate) w8: Option<w8::W8Result>,
}

pub(crate) fn main(options: &RunOptions) -> Result<(), BoxError> {
    let started = Instant::now();
    let mut meta = report::Meta::collect(options);
    let server = Server::start()?;
    meta.server(&server);
    let runtime_workloads: Vec<Workload> = options
        .workloads
        .iter()
        .copied()
        .filter(|w| w.is_runtime())
        .collect();
    let mut samples = Vec::new();
    let mut instr = Vec::new();
    if !runtime_workloads.is_empty() {
        server.load(options.count(Workload::W4), options.count(Workload::W7))?;
        let refs = if options.references {
            Some(References::prepare(&server, options.count(Workload::W5))?)
        } else {
            None
        };
        for &flavor in &options.flavors {
            rounds(
                options,
                &server,
                refs.as_ref(),
                flavor,
                &runtime_workloads,
                &mut samples,
            )?;
        }
        if options.instructions {
            for &w in &runtime_workloads {
                if matches!(w, Workload::W1 | Workload::W2 | Workload::W4) {
                    instr.extend(instructions::measure(
                        &server,
                        w,
                        options.flavors[0],
                        options.count(w),
                    ));
                }
            }
        }
        if let Some(refs) = &refs {
            refs.cleanup(&server);
        }
    }
    let w8 = if options.workloads.contains(&Workload::W8) {
        Some(w8::run(options, &server)?)
    } else {
        None
    };
    meta.finish(started.elapsed().as_secs_f64());
    let data = RunData {
        meta,
        samples,
        instructions: instr,
        w8,
    };
    report::write(options, &data)
}

fn rounds(
    options: &RunOptions,
    server: &Server,
    refs: Option<&References>,
    flavor: Flavor,
    workloads: &[Workload],
    samples: &mut Vec<Sample>,
) -> Result<(), BoxError> {
    let mut unavailable: Vec<(Workload, Driver)> = Vec::new();
    for round in 0..options.runs {
        eprintln!("== {} round {}/{}", flavor.name(), round + 1, options.runs);
        for (wi, &w) in workloads.iter().enumerate() {
            let count = options.count(w);
            // Rotate the order of the drivers so none always runs first or last.
            let mut order = Driver::ALL.to_vec();
            let len = order.len();
            order.rotate_left((round + wi) % len);
            for driver in order {
                if unavailable.contains(&(w, driver)) {
                    continue;
                }
                before(server, w)?;
                let sample = run_worker(server, w, driver, flavor, count, round);
                match (&sample.unavailable, &sample.error) {
                    (Some(why), _) => {
                        eprintln!("   {w} {driver:<15} not yet available: {why}");
                        unavailable.push((w, driver));
                    }
                    (None, Some(e)) => eprintln!("   {w} {driver:<15} FAILED: {e}"),
                    (None, None) => eprintln!(
                        "   {w} {driver:<15} {:>12} {}  ({:.3} s)",
                        report::si(sample.rate),
                        w.unit(),
                        sample.secs
                    ),
                }
                samples.push(sample);
            }
            if let Some(refs) = refs {
                before(server, w)?;
                for r in refs.measure(server, w, count, flavor) {
                    match r {
                        Ok(r) => {
                            let rate = r.ops as f64 / r.secs;
                            eprintln!(
                                "   {w} {:<15} {:>12} {}  ({})",
                                "reference",
                                report::si(rate),
                                w.unit(),
                                r.name
                            );
                            samples.push(Sample {
                                runtime: flavor.name().to_owned(),
                                workload: w,
                                subject: r.name.to_owned(),
                                reference: true,
                                round,
                                ops: r.ops,
                                secs: r.secs,
                                rate,
                                peak_rss_kb: None,
                                method: None,
                                unavailable: None,
                                error: None,
                                latency: None,
                            });
                        }
                        Err(e) => eprintln!("   {w} reference FAILED: {e}"),
                    }
                }
                // Reference rows run by a worker (a peer used another way).
                for &driver in reference_drivers(w) {
                    before(server, w)?;
                    let mut sample = run_worker(server, w, driver, flavor, count, round);
                    sample.reference = true;
                    match &sample.error {
                        Some(e) => eprintln!("   {w} {driver:<15} FAILED: {e}"),
                        None => eprintln!(
                            "   {w} {:<15} {:>12} {}  ({driver})",
                            "reference",
                            report::si(sample.rate),
                            w.unit(),
                        ),
                    }
                    samples.push(sample);
                }
            }
        }
    }
    Ok(())
}

/// The reference rows of `w` that a worker measures: tokio-postgres's clients shared
/// without a pool (issue 18), next to the pools of W2 and W2h.
fn reference_drivers(w: Workload) -> &'static [Driver] {
    match w {
        Workload::W2 | Workload::W2h => &[Driver::TokioPostgresShared],
        _ => &[],
    }
}

/// Resets what a workload writes to, outside the clock.
fn before(server: &Server, w: Workload) -> Result<(), BoxError> {
    match w {
        Workload::W5 => {
            server.psql("TRUNCATE bench_w5")?;
            server.psql("CHECKPOINT")?;
        }
        Workload::W6 => {
            server.psql("TRUNCATE bench_w6")?;
            server.psql("CHECKPOINT")?;
        }
        Workload::W9 => {
            // Each run inserts a history row and updates an account per iteration.
            server.psql("TRUNCATE pgbench_history")?;
            server.psql("VACUUM pgbench_accounts")?;
            server.psql("CHECKPOINT")?;
        }
        _ => {}
    }
    Ok(())
}

/// The command line of a worker child.
pub(crate) fn worker_command(
    server: &Server,
    w: Workload,
    driver: Driver,
    flavor: Flavor,
    count: u64,
) -> Result<Command, BoxError> {
    let exe = std::env::current_exe()?;
    let mut c = Command::new(exe);
    c.args([
        "worker",
        "--workload",
        w.id(),
        "--driver",
        driver.name(),
        "--runtime",
        flavor.name(),
        "--count",
        &count.to_string(),
        "--url",
        &server.url,
    ]);
    Ok(c)
}

fn run_worker(
    server: &Server,
    w: Workload,
    driver: Driver,
    flavor: Flavor,
    count: u64,
    round: usize,
) -> Sample {
    let mut sample = Sample {
        runtime: flavor.name().to_owned(),
        workload: w,
        subject: driver.name().to_owned(),
        reference: false,
        round,
        ops: 0,
        secs: 0.0,
        rate: 0.0,
        peak_rss_kb: None,
        method: None,
        unavailable: None,
        error: None,
        latency: None,
    };
    let output = worker_command(server, w, driver, flavor, count).and_then(|mut c| {
        c.stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .map_err(BoxError::from)
    });
    let output = match output {
        Ok(o) => o,
        Err(e) => {
            sample.error = Some(e.to_string());
            return sample;
        }
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report: Option<WorkerReport> = stdout
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok());
    match (output.status.success(), report) {
        (true, Some(r)) => {
            sample.ops = r.ops;
            sample.secs = r.secs;
            sample.rate = if r.secs > 0.0 {
                r.ops as f64 / r.secs
            } else {
                0.0
            };
            sample.peak_rss_kb = r.peak_rss_kb;
            sample.method = r.method;
            sample.unavailable = r.unavailable;
            sample.latency = r.latency;
        }
        _ => {
            let stderr = String::from_utf8_lossy(&output.stderr);
            sample.error = Some(format!(
                "worker exited with {}: {}",
                output.status,
                stderr.trim().lines().last().unwrap_or("")
            ));
        }
    }
    sample
}
