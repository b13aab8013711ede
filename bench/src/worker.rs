//! One measurement, in a child process: connect, warm up, time the work, print one JSON line.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::BoxError;
use crate::cli::WorkerArgs;
use crate::peers;
use crate::stats::Latency;
use crate::workload::Driver;

/// What a child reports.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct WorkerReport {
    /// Queries or rows done while the clock ran.
    pub(crate) ops: u64,
    /// Seconds on the clock.
    pub(crate) secs: f64,
    /// Peak RSS of the child, KiB.
    pub(crate) peak_rss_kb: Option<u64>,
    /// Set when the driver cannot run this workload yet; the other fields are then zero.
    pub(crate) unavailable: Option<String>,
    /// How the driver did it, when it matters (for example which of its APIs).
    pub(crate) method: Option<String>,
    /// Latencies the workload times (W2h: the fast queries; W9: the transactions).
    #[serde(default)]
    pub(crate) latency: Option<Latency>,
}

/// What a driver's workload function returns.
pub(crate) enum Outcome {
    /// Work done in `elapsed`.
    Done {
        ops: u64,
        elapsed: Duration,
        method: Option<&'static str>,
    },
    /// Work done in `elapsed`, with the latencies of the operations the workload times.
    Timed {
        ops: u64,
        elapsed: Duration,
        method: &'static str,
        latency: Option<Latency>,
    },
    /// The driver cannot do this yet (every driver can today; kept so that a new
    /// workload can be wired before a driver supports it).
    #[allow(dead_code)]
    Unavailable(&'static str),
}

pub(crate) fn main(args: &WorkerArgs) -> Result<(), BoxError> {
    let rt = args.flavor.runtime()?;
    let outcome = rt.block_on(async {
        match args.driver {
            Driver::Quarry => peers::quarry::run(args).await,
            Driver::TokioPostgres => peers::tokio_pg::run(args).await,
            Driver::Sqlx => peers::sqlx::run(args).await,
            Driver::TokioPostgresShared => peers::tokio_pg::run_shared(args).await,
        }
    })?;
    drop(rt);
    let report = match outcome {
        Outcome::Done {
            ops,
            elapsed,
            method,
        } => WorkerReport {
            ops,
            secs: elapsed.as_secs_f64(),
            peak_rss_kb: crate::fixtures::peak_rss_kb(),
            unavailable: None,
            method: method.map(str::to_owned),
            latency: None,
        },
        Outcome::Timed {
            ops,
            elapsed,
            method,
            latency,
        } => WorkerReport {
            ops,
            secs: elapsed.as_secs_f64(),
            peak_rss_kb: crate::fixtures::peak_rss_kb(),
            unavailable: None,
            method: Some(method.to_owned()),
            latency,
        },
        Outcome::Unavailable(why) => WorkerReport {
            ops: 0,
            secs: 0.0,
            peak_rss_kb: None,
            unavailable: Some(why.to_owned()),
            method: None,
            latency: None,
        },
    };
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}
