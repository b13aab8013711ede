//! A local load harness for shared (pipelined) pool connections, not a benchmark of
//! record (that is quarry-bench W2/W9): 64 tasks, 8 connections, point selects on a
//! pgbench-like table, the checkout pool against `share_connections` at several
//! `max_in_flight` depths, interleaved; then the head-of-line case (1 query in 100 takes
//! 50 ms) with the fast queries' p50/p99.
//!
//! `cargo run --release -p quarry-driver --features temp-server --example shared_pool_load [seconds]`

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use quarry_driver::{Pool, PoolOptions, TempServer, query_scalar};

const TASKS: usize = 64;
const CONNECTIONS: usize = 8;
const ROWS: i32 = 100_000;
const ROWS_U64: u64 = 100_000;

#[derive(Clone, Copy, Debug)]
enum Mode {
    Checkout,
    Shared(usize),
}

async fn pool(url: &str, mode: Mode) -> Pool {
    let o = PoolOptions::new()
        .max_connections(CONNECTIONS)
        .min_connections(CONNECTIONS);
    let o = match mode {
        Mode::Checkout => o,
        Mode::Shared(depth) => o.share_connections(true).max_in_flight(depth),
    };
    o.connect(url).await.expect("pool")
}

/// Runs the point-select load for `secs`; returns queries per second and, when
/// `slow_every` is set, the fast queries' latencies (sorted).
async fn run(pool: &Pool, secs: f64, slow_every: Option<u64>) -> (f64, Vec<Duration>) {
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for t in 0..TASKS {
        let pool = pool.clone();
        let stop = stop.clone();
        tasks.push(tokio::spawn(async move {
            let mut n = 0_u64;
            let mut lat = Vec::new();
            let mut x = (u64::try_from(t).expect("few tasks") + 1) * 0x9E37_79B9_7F4A_7C15;
            while !stop.load(Ordering::Relaxed) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let aid = i32::try_from(x % ROWS_U64).expect("below ROWS") + 1;
                n += 1;
                if slow_every.is_some_and(|k| n.is_multiple_of(k)) {
                    let _: i32 = query_scalar(
                        "SELECT abalance FROM pgbench_accounts, pg_sleep(0.05) WHERE aid = $1",
                    )
                    .bind(aid)
                    .fetch_one(&pool)
                    .await
                    .expect("slow select");
                    continue;
                }
                let started = Instant::now();
                let v: i32 = query_scalar("SELECT abalance FROM pgbench_accounts WHERE aid = $1")
                    .bind(aid)
                    .fetch_one(&pool)
                    .await
                    .expect("select");
                assert_eq!(v, aid % 1000);
                if slow_every.is_some() {
                    lat.push(started.elapsed());
                }
            }
            (n, lat)
        }));
    }
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs_f64(secs)).await;
    stop.store(true, Ordering::Relaxed);
    let mut total = 0;
    let mut lat = Vec::new();
    for t in tasks {
        let (n, l) = t.await.expect("task");
        total += n;
        lat.extend(l);
    }
    lat.sort();
    (
        f64::from(u32::try_from(total).unwrap_or(u32::MAX)) / started.elapsed().as_secs_f64(),
        lat,
    )
}

/// The `permille`th latency, in milliseconds.
fn pct(lat: &[Duration], permille: usize) -> f64 {
    if lat.is_empty() {
        return 0.0;
    }
    let i = (lat.len() * permille / 1000).min(lat.len() - 1);
    lat[i].as_secs_f64() * 1000.0
}

fn main() {
    let secs: f64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0);
    let flavor = std::env::var("FLAVOR").unwrap_or_default();
    let rt = if flavor == "current_thread" {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
    }
    .expect("runtime");
    rt.block_on(async {
        let server = TempServer::start().expect("server");
        let url = server.url();
        let mut conn = quarry_driver::Connection::connect(&url).await.expect("connect");
        conn.batch_execute(&format!(
            "CREATE TABLE pgbench_accounts (aid int PRIMARY KEY, bid int, abalance int, filler char(84)); \
             INSERT INTO pgbench_accounts SELECT g, 1, g % 1000, '' FROM generate_series(1, {ROWS}) g"
        ))
        .await
        .expect("table");
        conn.batch_execute("VACUUM ANALYZE pgbench_accounts")
            .await
            .expect("vacuum");
        let modes = [
            Mode::Checkout,
            Mode::Shared(4),
            Mode::Shared(8),
            Mode::Shared(16),
        ];
        println!("W2-like: {TASKS} tasks, {CONNECTIONS} connections, point selects, {secs} s per run, {flavor:?}");
        for round in 0..2 {
            for mode in modes {
                let p = pool(&url, mode).await;
                let (qps, _) = run(&p, secs, None).await;
                println!("round {round} {mode:?}: {qps:.0} q/s");
                p.close().await;
            }
        }
        println!("head of line: 1 query in 100 sleeps 50 ms; fast queries' latency");
        for round in 0..2 {
            for mode in [Mode::Checkout, Mode::Shared(8)] {
                let p = pool(&url, mode).await;
                let (qps, lat) = run(&p, secs, Some(100)).await;
                println!(
                    "round {round} {mode:?}: {qps:.0} q/s, fast p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms",
                    pct(&lat, 500),
                    pct(&lat, 990),
                    pct(&lat, 999)
                );
                p.close().await;
            }
        }
    });
}
