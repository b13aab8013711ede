//! One module per driver; each runs every workload the fastest way its docs recommend.
//!
//! Common rules: prepared statements (each driver's statement cache or an explicit
//! `prepare`), no TLS, no statement logging, the same row structs decoded by position
//! with type checks, a warm-up on the same connection (which prepares the timed
//! statement) before the clock starts, and connection setup outside the clock.

pub(crate) mod quarry;
pub(crate) mod sqlx;
pub(crate) mod tokio_pg;

/// Queries run before the clock starts (on each connection for the pool workload).
pub(crate) const WARMUP_QUERIES: u64 = 1_000;

/// Tasks and connections of W2.
pub(crate) const W2_TASKS: u64 = 64;
pub(crate) const W2_POOL: usize = 8;

/// Queries in flight in W3.
pub(crate) const W3_DEPTH: usize = 100;

/// The share of `total` that task `task` of `tasks` runs.
pub(crate) fn share(total: u64, tasks: u64, task: u64) -> u64 {
    total / tasks + u64::from(task < total % tasks)
}

/// A count as an iterator length.
pub(crate) fn usize_of(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}
