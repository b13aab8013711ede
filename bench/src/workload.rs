//! The workloads of issues 9 and 18 and the drivers that run them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// One workload of the table (W1..W9, and W2h: W2 with a slow query in every hundred).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub(crate) enum Workload {
    W1,
    W2,
    /// W2 with 1 query in 100 taking 50 ms: the fast queries' latency (head-of-line).
    W2h,
    W3,
    W4,
    W5,
    W6,
    W7,
    W8,
    /// A service mix: point select, 20-row range select, a transaction (UPDATE, INSERT).
    W9,
}

impl Workload {
    pub(crate) const ALL: [Workload; 10] = [
        Workload::W1,
        Workload::W2,
        Workload::W2h,
        Workload::W3,
        Workload::W4,
        Workload::W5,
        Workload::W6,
        Workload::W7,
        Workload::W8,
        Workload::W9,
    ];

    pub(crate) fn id(self) -> &'static str {
        match self {
            Workload::W1 => "W1",
            Workload::W2 => "W2",
            Workload::W2h => "W2h",
            Workload::W3 => "W3",
            Workload::W4 => "W4",
            Workload::W5 => "W5",
            Workload::W6 => "W6",
            Workload::W7 => "W7",
            Workload::W8 => "W8",
            Workload::W9 => "W9",
        }
    }

    /// What is measured, in a few words.
    pub(crate) fn title(self) -> &'static str {
        match self {
            Workload::W1 => "point select, sequential, 1 connection",
            Workload::W2 => "point select, 64 tasks, pool of 8",
            Workload::W2h => "W2 with 1 query in 100 taking 50 ms (pg_sleep)",
            Workload::W3 => "point select, 100 in flight, 1 connection",
            Workload::W4 => "fetch_all 1M rows (6 columns) into a struct",
            Workload::W5 => "binary COPY IN 1M rows (int8, text, float8)",
            Workload::W6 => "10k single-row INSERTs, pipelined",
            Workload::W7 => "stream 10M rows (int8, text)",
            Workload::W8 => "build cost per query! (incremental debug build)",
            Workload::W9 => {
                "service mix, 64 tasks, pool of 8: point select, 20 rows, UPDATE + INSERT transaction"
            }
        }
    }

    /// The unit of the rate (higher is better for every workload but W8, where the
    /// harness reports queries per second of build time so higher is better too).
    pub(crate) fn unit(self) -> &'static str {
        match self {
            Workload::W1 | Workload::W2 | Workload::W2h | Workload::W3 => "queries/s",
            Workload::W4 | Workload::W5 | Workload::W6 | Workload::W7 => "rows/s",
            Workload::W8 => "query!/s of build",
            Workload::W9 => "iterations/s",
        }
    }

    /// The amount of work of one measurement (queries or rows).
    pub(crate) fn default_count(self) -> u64 {
        match self {
            Workload::W1 => 20_000,
            Workload::W2 => 100_000,
            // 200 slow queries: at 8 connections at least 1.25 s of sleeping.
            Workload::W2h => 20_000,
            Workload::W3 => 50_000,
            Workload::W4 => 1_000_000,
            Workload::W5 => 1_000_000,
            Workload::W6 => 10_000,
            Workload::W7 => 10_000_000,
            Workload::W8 => 100,
            Workload::W9 => 5_000,
        }
    }

    /// The target for Quarry's rate divided by the best peer's.
    pub(crate) fn target_ratio(self) -> f64 {
        match self {
            Workload::W1 => 1.05,
            Workload::W2 => 1.2,
            // The target is on latency (the fast queries' p99), not on the rate.
            Workload::W2h => 0.0,
            Workload::W3 => 1.5,
            Workload::W4 => 1.3,
            Workload::W5 => 1.1,
            Workload::W6 => 1.2,
            Workload::W7 => 1.2,
            // Quarry's build cost <= 0.7 of sqlx's: as a rate, >= 1 / 0.7.
            Workload::W8 => 1.0 / 0.7,
            Workload::W9 => 1.3,
        }
    }

    /// The target as the issue states it.
    pub(crate) fn target_text(self) -> &'static str {
        match self {
            Workload::W1 => ">= 1.05 and >= 0.9 x pgbench",
            Workload::W2 => {
                ">= 1.2; issue 18: >= 2 x deadpool, >= 1.5 x shared clients, >= 0.5 x pgbench pipelined"
            }
            Workload::W2h => "fast p99 <= checkout pool's",
            Workload::W3 => ">= 1.5",
            Workload::W4 => ">= 1.3",
            Workload::W5 => ">= 1.1",
            Workload::W6 => ">= 1.2 and >= asyncpg",
            Workload::W7 => ">= 1.2, peak RSS <= 20 MB",
            Workload::W8 => "cost <= 0.7 x sqlx",
            Workload::W9 => ">= 1.3, transactions no slower",
        }
    }

    /// Whether a child process measures it (W8 is measured by builds instead).
    pub(crate) fn is_runtime(self) -> bool {
        self != Workload::W8
    }
}

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl FromStr for Workload {
    type Err = String;
    fn from_str(s: &str) -> Result<Workload, String> {
        Workload::ALL
            .into_iter()
            .find(|w| w.id().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown workload {s:?} (expected w1..w9 or w2h)"))
    }
}

/// A client library under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub(crate) enum Driver {
    Quarry,
    TokioPostgres,
    Sqlx,
    /// tokio-postgres without a pool: 8 clients shared by all the tasks, each client
    /// pipelining the queries of every task that uses it (issue 18's hand-written
    /// multiplexing). A reference row of W2 and W2h, not a column of the table.
    TokioPostgresShared,
}

impl Driver {
    pub(crate) const ALL: [Driver; 3] = [Driver::Quarry, Driver::TokioPostgres, Driver::Sqlx];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Driver::Quarry => "quarry",
            Driver::TokioPostgres => "tokio-postgres",
            Driver::Sqlx => "sqlx",
            Driver::TokioPostgresShared => "tokio-postgres-shared",
        }
    }
}

impl fmt::Display for Driver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Driver {
    type Err = String;
    fn from_str(s: &str) -> Result<Driver, String> {
        Driver::ALL
            .into_iter()
            .chain([Driver::TokioPostgresShared])
            .find(|d| d.name() == s)
            .ok_or_else(|| {
                format!(
                    "unknown driver {s:?} (expected quarry, tokio-postgres, sqlx, tokio-postgres-shared)"
                )
            })
    }
}

/// The tokio runtime every client runs on (the same kind for all of them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flavor {
    CurrentThread,
    MultiThread,
}

impl Flavor {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Flavor::CurrentThread => "current_thread",
            Flavor::MultiThread => "multi_thread",
        }
    }

    pub(crate) fn runtime(self) -> std::io::Result<tokio::runtime::Runtime> {
        match self {
            Flavor::CurrentThread => tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build(),
            Flavor::MultiThread => tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build(),
        }
    }
}

impl FromStr for Flavor {
    type Err = String;
    fn from_str(s: &str) -> Result<Flavor, String> {
        match s {
            "current" | "current_thread" => Ok(Flavor::CurrentThread),
            "multi" | "multi_thread" => Ok(Flavor::MultiThread),
            _ => Err(format!("unknown runtime {s:?} (expected current or multi)")),
        }
    }
}
