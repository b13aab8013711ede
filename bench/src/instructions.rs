//! Client instructions per query or row, counted by `perf stat`: a noise-free view of
//! client CPU. Each driver's worker runs twice, with the full count and with a count of
//! zero (same connect and warm-up); the difference divided by the count is the cost of
//! one query or row. User and kernel instructions are counted apart: the kernel part is
//! mostly the cost of the socket calls.

use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};

use crate::orchestrate::worker_command;
use crate::server::Server;
use crate::stats;
use crate::workload::{Driver, Flavor, Workload};

/// Repetitions of each (count, zero) pair; the median is kept.
const REPEAT: usize = 3;

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
    let perf_works = Command::new("perf")
        .args(["stat", "-x,", "-e", "instructions:u", "true"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
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
        if !perf_works {
            sample.error = Some("perf stat is not available here".to_owned());
            out.push(sample);
            continue;
        }
        eprintln!("   instructions: {w} {driver}");
        let mut user = Vec::new();
        let mut kernel = Vec::new();
        for _ in 0..REPEAT {
            match (
                count_once(server, w, driver, flavor, count),
                count_once(server, w, driver, flavor, 0),
            ) {
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

/// (user, kernel) instructions of one worker run.
fn count_once(
    server: &Server,
    w: Workload,
    driver: Driver,
    flavor: Flavor,
    count: u64,
) -> Result<(Option<f64>, Option<f64>), String> {
    let file = std::env::temp_dir().join(format!("quarry-bench-perf-{}.csv", std::process::id()));
    let worker = worker_command(server, w, driver, flavor, count).map_err(|e| e.to_string())?;
    let mut c = Command::new("perf");
    c.args(["stat", "-x,", "-e", "instructions:u,instructions:k", "-o"])
        .arg(&file)
        .arg("--")
        .arg(worker.get_program())
        .args(worker.get_args());
    let output = c
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| e.to_string())?;
    if !output.status.success() {
        return Err(format!(
            "perf stat of the worker failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    if String::from_utf8_lossy(&output.stdout).contains("\"unavailable\":\"") {
        return Err("not yet available".to_owned());
    }
    let text = std::fs::read_to_string(&file).map_err(|e| e.to_string())?;
    let _ = std::fs::remove_file(&file);
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
