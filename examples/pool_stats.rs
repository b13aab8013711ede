//! Pool statistics: what to export to a dashboard (Prometheus, OpenTelemetry, logs).
//!
//! ```sh
//! cargo run --example pool_stats
//! ```
//!
//! `Pool::status()` is a snapshot of the pool's gauges (connections open, idle, in use,
//! being opened; tasks waiting) and counters since the pool was created (acquires,
//! timeouts, connections opened and closed, failed connects, and the time callers spent
//! waiting in `acquire`). Read it on a timer and hand the numbers to your metrics
//! library; counters are monotonic, so export them as counters and let the backend take
//! rates. This example loads a small pool with more tasks than connections and prints
//! a snapshot every 50 ms, then the totals.
//!
//! Uses `DATABASE_URL` when it is set; otherwise starts a throwaway PostgreSQL.

use std::time::Duration;

use quarry::{PoolOptions, PoolStatus, TempServer};

fn print(label: &str, st: &PoolStatus) {
    println!(
        "{label:>6}: open {} (idle {}, in use {}, opening {}), waiting {}, \
         acquired {}, timed out {}, opened {}, closed {}, connect failures {}, \
         acquire wait {:?}",
        st.size,
        st.idle,
        st.in_use,
        st.opening,
        st.waiters,
        st.acquired,
        st.timed_out,
        st.opened,
        st.closed,
        st.connect_failures,
        st.acquire_wait,
    );
}

#[tokio::main]
async fn main() -> quarry::Result<()> {
    let (url, _server) = match std::env::var("DATABASE_URL") {
        Ok(url) => (url, None),
        Err(_) => {
            let server = TempServer::start()?;
            (server.url(), Some(server))
        }
    };
    let pool = PoolOptions::new().max_connections(4).connect(&url).await?;
    // `connect` has already acquired once, to check the server is there.
    let start = pool.status();

    // 64 tasks, each holding a connection for a 20 ms query: 16 rounds over 4 connections.
    let mut tasks = Vec::new();
    for _ in 0..64 {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            quarry::query("SELECT pg_sleep(0.02)").execute(&pool).await
        }));
    }
    let sampler = {
        let pool = pool.clone();
        tokio::spawn(async move {
            for _ in 0..100 {
                let st = pool.status();
                print("load", &st);
                if st.waiters == 0 && st.in_use == 0 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    for t in tasks {
        t.await.expect("a query task")?;
    }
    sampler.await.expect("the sampler");

    let st = pool.status();
    print("total", &st);
    assert_eq!(st.acquired - start.acquired, 64);
    assert_eq!(st.waiters, 0);
    println!(
        "mean acquire wait under load: {:?}",
        (st.acquire_wait - start.acquire_wait) / 64
    );
    pool.close().await;
    Ok(())
}
