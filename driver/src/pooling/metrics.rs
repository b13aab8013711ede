//! The pool's gauges and counters through the `metrics` crate's facade (feature
//! `metrics`): whatever recorder the application installed (a Prometheus exporter,
//! OpenTelemetry's, a test's) sees them. Names, labels and units are listed in the
//! observability guide; every series has the label `pool` (the pool's name).
//!
//! The gauges and counters are published from [`PoolStatus`] after every change of the
//! pool's books (counters as absolute values, so they always equal `Pool::status()`), and
//! the acquire wait as a histogram sample per `Pool::acquire`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::PoolStatus;

pub(crate) const CONNECTIONS: &str = "quarry_pool_connections";
pub(crate) const MAX_CONNECTIONS: &str = "quarry_pool_max_connections";
pub(crate) const WAITERS: &str = "quarry_pool_waiters";
pub(crate) const ACQUIRES: &str = "quarry_pool_acquires_total";
pub(crate) const ACQUIRE_TIMEOUTS: &str = "quarry_pool_acquire_timeouts_total";
pub(crate) const CONNECTS: &str = "quarry_pool_connects_total";
pub(crate) const CONNECT_FAILURES: &str = "quarry_pool_connect_failures_total";
pub(crate) const CLOSED: &str = "quarry_pool_connections_closed_total";
pub(crate) const ACQUIRE_SECONDS: &str = "quarry_pool_acquire_seconds";

/// The pool's name: the one given, else `pool-<n>` in creation order. Called once per
/// pool, when it is built: it also describes the series to the recorder in place then.
pub(crate) fn pool_name(given: Option<&Arc<str>>) -> Arc<str> {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    describe();
    match given {
        Some(name) => name.clone(),
        None => Arc::from(format!("pool-{}", NEXT.fetch_add(1, Ordering::Relaxed))),
    }
}

/// Describes the series (units and help text for exporters) to the current recorder.
/// Once per pool, not once per process: a recorder installed after an earlier pool was
/// built (or a thread-local one, as in tests) still gets the descriptions.
fn describe() {
    {
        use metrics::Unit;
        metrics::describe_gauge!(
            CONNECTIONS,
            Unit::Count,
            "Connections the pool holds, by state (idle, in_use, opening)"
        );
        metrics::describe_gauge!(MAX_CONNECTIONS, Unit::Count, "The pool's max_connections");
        metrics::describe_gauge!(WAITERS, Unit::Count, "Tasks waiting in acquire");
        metrics::describe_counter!(ACQUIRES, Unit::Count, "Connections handed out");
        metrics::describe_counter!(
            ACQUIRE_TIMEOUTS,
            Unit::Count,
            "Acquires that gave up after acquire_timeout"
        );
        metrics::describe_counter!(CONNECTS, Unit::Count, "Connections opened");
        metrics::describe_counter!(
            CONNECT_FAILURES,
            Unit::Count,
            "Connection attempts that failed"
        );
        metrics::describe_counter!(CLOSED, Unit::Count, "Connections closed or discarded");
        metrics::describe_histogram!(
            ACQUIRE_SECONDS,
            Unit::Seconds,
            "Time spent in Pool::acquire, failed and timed-out acquires included"
        );
    }
}

/// Publishes the gauges and counters of `status`.
pub(crate) fn publish(name: &Arc<str>, status: &PoolStatus, max: usize) {
    for (state, v) in [
        ("idle", status.idle),
        ("in_use", status.in_use),
        ("opening", status.opening),
    ] {
        metrics::gauge!(CONNECTIONS, "pool" => name.clone(), "state" => state).set(v as f64);
    }
    metrics::gauge!(MAX_CONNECTIONS, "pool" => name.clone()).set(max as f64);
    metrics::gauge!(WAITERS, "pool" => name.clone()).set(status.waiters as f64);
    metrics::counter!(ACQUIRES, "pool" => name.clone()).absolute(status.acquired);
    metrics::counter!(ACQUIRE_TIMEOUTS, "pool" => name.clone()).absolute(status.timed_out);
    metrics::counter!(CONNECTS, "pool" => name.clone()).absolute(status.opened);
    metrics::counter!(CONNECT_FAILURES, "pool" => name.clone()).absolute(status.connect_failures);
    metrics::counter!(CLOSED, "pool" => name.clone()).absolute(status.closed);
}

/// Records one acquire's wait.
pub(crate) fn acquired(name: &Arc<str>, waited: Duration) {
    metrics::histogram!(ACQUIRE_SECONDS, "pool" => name.clone()).record(waited.as_secs_f64());
}
