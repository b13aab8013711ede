//! The workloads of issue 9 and the drivers that run them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// One workload of the table (W1..W8).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub(crate) enum Workload {
    W1,
    W2,
    W3,
    W4,
    W5,
    W6,
    W7,
    W8,
}

impl Workload {
    pub(crate) const ALL: [Workload; 8] = [
        Workload::W1,
        Workload::W2,
        Workload::W3,
        Workload::W4,
        Workload::W5,
        Workload::W6,
        Workload::W7,
        Workload::W8,
    ];

    pub(crate) fn id(self) -> &'static str {
        match self {
            Workload::W1 => "W1",
            Workload::W2 => "W2",
            Workload::W3 => "W3",
            Workload::W4 => "W4",
            Workload::W5 => "W5",
            Workload::W6 => "W6",
            Workload::W7 => "W7",
            Workload::W8 => "W8",
        }
    }

    /// What is measured, in a few words.
    pub(crate) fn title(self) -> &'static str {
        match self {
            Workload::W1 => "point select, sequential, 1 connection",
            Workload::W2 => "point select, 64 tasks, pool of 8",
            Workload::W3 => "point select, 100 in flight, 1 connection",
            Workload::W4 => "fetch_all 1M rows (6 columns) into a struct",
            Workload::W5 => "binary COPY IN 1M rows (int8, text, float8)",
            Workload::W6 => "10k single-row INSERTs, pipelined",
            Workload::W7 => "stream 10M rows (int8, text)",
            Workload::W8 => "build cost per query! (incremental debug build)",
        }
    }

    /// The unit of the rate (higher is better for every workload but W8, where the
    /// harness reports queries per second of build time so higher is better too).
    pub(crate) fn unit(self) -> &'static str {
        match self {
            Workload::W1 | Workload::W2 | Workload::W3 => "queries/s",
            Workload::W4 | Workload::W5 | Workload::W6 | Workload::W7 => "rows/s",
            Workload::W8 => "query!/s of build",
        }
    }

    /// The amount of work of one measurement (queries or rows).
    pub(crate) fn default_count(self) -> u64 {
        match self {
            Workload::W1 => 20_000,
            Workload::W2 => 100_000,
            Workload::W3 => 50_000,
            Workload::W4 => 1_000_000,
            Workload::W5 => 1_000_000,
            Workload::W6 => 10_000,
            Workload::W7 => 10_000_000,
            Workload::W8 => 100,
        }
    }

    /// The target for Quarry's rate divided by the best peer's.
    pub(crate) fn target_ratio(self) -> f64 {
        match self {
            Workload::W1 => 1.05,
            Workload::W2 => 1.2,
            Workload::W3 => 1.5,
            Workload::W4 => 1.3,
            Workload::W5 => 1.1,
            Workload::W6 => 1.2,
            Workload::W7 => 1.2,
            // Quarry's build cost <= 0.7 of sqlx's: as a rate, >= 1 / 0.7.
            Workload::W8 => 1.0 / 0.7,
        }
    }

    /// The target as the issue states it.
    pub(crate) fn target_text(self) -> &'static str {
        match self {
            Workload::W1 => ">= 1.05 and >= 0.9 x pgbench",
            Workload::W2 => ">= 1.2",
            Workload::W3 => ">= 1.5",
            Workload::W4 => ">= 1.3",
            Workload::W5 => ">= 1.1",
            Workload::W6 => ">= 1.2 and >= asyncpg",
            Workload::W7 => ">= 1.2, peak RSS <= 20 MB",
            Workload::W8 => "cost <= 0.7 x sqlx",
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
            .ok_or_else(|| format!("unknown workload {s:?} (expected w1..w8)"))
    }
}

/// A client library under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub(crate) enum Driver {
    Quarry,
    TokioPostgres,
    Sqlx,
}

impl Driver {
    pub(crate) const ALL: [Driver; 3] = [Driver::Quarry, Driver::TokioPostgres, Driver::Sqlx];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Driver::Quarry => "quarry",
            Driver::TokioPostgres => "tokio-postgres",
            Driver::Sqlx => "sqlx",
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
            .find(|d| d.name() == s)
            .ok_or_else(|| format!("unknown driver {s:?} (expected quarry, tokio-postgres, sqlx)"))
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
