//! Client instructions per query or row, counted by `perf stat`: a noise-free view of
//! client CPU. Each driver's worker runs twice, with the full count and with a count of
//! zero (same connect and warm-up); the difference divided by the count is the cost of
//! one query or row. User and kernel instructions are counted apart: the kernel part is
//! mostly the cost of the socket calls.
//!
//! Where the machine has no hardware counters (many VMs: perf says `<not supported>`),
//! valgrind's callgrind counts user-space instructions instead (no kernel count), once
//! per pair since its counts do not vary from run to run.

use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};

use crate::orchestrate::worker_command;
use crate::server::Server;
use crate::stats;
use crate::workload::{Driver, Flavor, Workload};

/// Repetitions of each (count, zero) pair under perf; the median is kept.
const REPEAT: usize = 3;

/// What counts the instructions.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Counter {
    Perf,
    Callgrind,
}

impl Counter {
    /// perf if it counts instructions here, else callgrind if valgrind is installed.
    fn find() -> Option<Counter> {
        let perf = Command::new("perf")
            .args(["stat", "-x,", "-e", "instructions:u", "true"])
            .stdout(Stdio::null())
            .output();
        if let Ok(out) = perf
            && out.status.success()
            && !String::from_utf8_lossy(&out.stderr).contains("<not ")
        {
            return Some(Counter::Perf);
        }
        let valgrind = Command::new("valgrind")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        valgrind
            .is_ok_and(|s| s.success())
            .then_some(Counter::Callgrind)
    }
}

/// Instructions per query or row of one driver.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct InstrSample {
    pub(crate) workload: Workload,
    pub(crate) driver: String,
    pub(crate) runtime: String,
    pub(crate) count: u64,
    pub(crate) user_per_op: Option<f64>,
    pub(crate) kernel_per_op: Option<f64>,
    pub(crate) error: Option<String>,
}

pub(crate) fn measure(
    server: &Server,
    w: Workload,
    flavor: Flavor,
    count: u64,
) -> Vec<InstrSample> {
    let counter = Counter::find();
    let repeat = if counter == Some(Counter::Callgrind) {
        1
    } else {
        REPEAT
    };
    let mut out = Vec::new();
    for driver in Driver::ALL {
        let mut sample = InstrSample {
            workload: w,
            driver: driver.name().to_owned(),
            runtime: flavor.name().to_owned(),
            count,
            user_per_op: None,
            kernel_per_op: None,
            error: None,
        };
        let Some(counter) = counter else {
            sample.error =
                Some("neither perf stat (with counters) nor valgrind is available here".to_owned());
            out.push(sample);
            continue;
        };
        eprintln!("   instructions: {w} {driver}");
        let mut user = Vec::new();
        let mut kernel = Vec::new();
        let once = |count| count_once(counter, server, w, driver, flavor, count);
        for _ in 0..repeat {
            match (once(count), once(0)) {
                (Ok(full), Ok(zero)) => {
                    let n = count as f64;
                    if let (Some(f), Some(z)) = (full.0, zero.0) {
                        user.push((f - z) / n);
                    }
                    if let (Some(f), Some(z)) = (full.1, zero.1) {
                        kernel.push((f - z) / n);
                    }
                }
                (Err(e), _) | (_, Err(e)) => {
                    sample.error = Some(e);
                    break;
                }
            }
        }
        sample.user_per_op = stats::summarize(&user).map(|s| s.median);
        sample.kernel_per_op = stats::summarize(&kernel).map(|s| s.median);
        out.push(sample);
    }
    out
}

/// (user, kernel) instructions of one worker run, as `counter` sees them (callgrind does
/// not see the kernel).
fn count_once(
    counter: Counter,
    server: &Server,
    w: Workload,
    driver: Driver,
    flavor: Flavor,
    count: u64,
) -> Result<(Option<f64>, Option<f64>), String> {
    let text = run_counted(counter, server, w, driver, flavor, count)?;
    match counter {
        Counter::Perf => {
            let value = |event: &str| -> Option<f64> {
                text.lines().find_map(|l| {
                    let mut fields = l.split(',');
                    let v = fields.next()?;
                    let _unit = fields.next()?;
                    let name = fields.next()?;
                    (name == event).then(|| v.parse().ok()).flatten()
                })
            };
            Ok((value("instructions:u"), value("instructions:k")))
        }
        Counter::Callgrind => {
            let total = text
                .lines()
                .find_map(|l| {
                    l.strip_prefix("summary:")
                        .or_else(|| l.strip_prefix("totals:"))
                })
                .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
                .ok_or("callgrind wrote no instruction total")?;
            Ok((Some(total), None))
        }
    }
}

/// Runs one worker under `counter`; returns the report it wrote.
fn run_counted(
    counter: Counter,
    server: &Server,
    w: Workload,
    driver: Driver,
    flavor: Flavor,
    count: u64,
) -> Result<String, String> {
    let (tool, ext) = match counter {
        Counter::Perf => ("perf stat", "csv"),
        Counter::Callgrind => ("callgrind", "out"),
    };
    let file = std::env::temp_dir().join(format!(
        "quarry-bench-{}-{}.{ext}",
        tool.replace(' ', "-"),
        std::process::id()
    ));
    let worker = worker_command(server, w, driver, flavor, count).map_err(|e| e.to_string())?;
    let mut c = match counter {
        Counter::Perf => {
            let mut c = Command::new("perf");
            c.args(["stat", "-x,", "-e", "instructions:u,instructions:k", "-o"])
                .arg(&file);
            c
        }
        Counter::Callgrind => {
            let mut out_file = std::ffi::OsString::from("--callgrind-out-file=");
            out_file.push(&file);
            let mut c = Command::new("valgrind");
            c.args(["--tool=callgrind", "--quiet"]).arg(out_file);
            c
        }
    };
    let output = c
        .arg("--")
        .arg(worker.get_program())
        .args(worker.get_args())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| e.to_string())?;
    if !output.status.success() {
        return Err(format!(
            "{tool} of the worker failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    if String::from_utf8_lossy(&output.stdout).contains("\"unavailable\":\"") {
        return Err("not yet available".to_owned());
    }
    let text = std::fs::read_to_string(&file).map_err(|e| e.to_string())?;
    let _ = std::fs::remove_file(&file);
    Ok(text)
}
