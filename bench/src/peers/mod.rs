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

/// What one iteration of a W2h or W9 task gives back: a value every driver computes
/// the same way (so nothing is optimised away) and, when the iteration timed one, the
/// latency of the timed operation in microseconds.
pub(crate) type Step = Result<(i64, Option<u32>), crate::BoxError>;

/// Runs `total` iterations of `f` spread over [`W2_TASKS`] spawned tasks, task `t`
/// drawing its keys from `Aids::new(seed + t)`. `f` gets a clone of `state`, the task
/// number, the task's iteration number and the key. Returns the sum of the values and every latency.
pub(crate) async fn in_tasks<S, F, Fut>(
    total: u64,
    seed: u64,
    state: &S,
    f: F,
) -> Result<(i64, Vec<u32>), crate::BoxError>
where
    S: Clone + Send + 'static,
    F: Fn(S, u64, u64, i32) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Step> + Send,
{
    let tasks: Vec<_> = (0..W2_TASKS)
        .map(|t| {
            let state = state.clone();
            let f = f.clone();
            let n = share(total, W2_TASKS, t);
            tokio::spawn(async move {
                let mut sum = 0i64;
                let mut latencies = Vec::with_capacity(usize_of(n));
                for (k, aid) in (0u64..).zip(crate::fixtures::Aids::new(seed + t).take(usize_of(n)))
                {
                    let (v, latency) = f(state.clone(), t, k, aid).await?;
                    sum = sum.wrapping_add(v);
                    latencies.extend(latency);
                }
                Ok::<_, crate::BoxError>((sum, latencies))
            })
        })
        .collect();
    let mut sum = 0i64;
    let mut latencies = Vec::new();
    for t in tasks {
        let (s, l) = t.await??;
        sum = sum.wrapping_add(s);
        latencies.extend(l);
    }
    Ok((sum, latencies))
}

/// Whether query `k` of W2h task `task` is the slow one: one in a hundred, the tasks
/// out of step with each other.
pub(crate) fn w2h_is_slow(task: u64, k: u64) -> bool {
    (task + k) % crate::fixtures::W2H_SLOW_EVERY == crate::fixtures::W2H_SLOW_EVERY - 1
}

/// W2h and W9 warm up with this many iterations (spread over the tasks) before the clock.
pub(crate) const LATENCY_WARMUP: u64 = W2_TASKS * 10;
