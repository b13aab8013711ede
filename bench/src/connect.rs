//! `quarry-bench connect`: the time to open a connection (closing it is not timed), on
//! loopback with trust authentication and no TLS, for each driver and for libpq
//! (`pgbench -C`, which reports its average connection time).
//!
//! Connecting is one round trip for the server (StartupMessage; AuthenticationOk,
//! ParameterStatus..., BackendKeyData, ReadyForQuery) after TCP's own handshake;
//! `tests/faults.rs` (`connecting_is_one_round_trip`) checks that Quarry sends nothing
//! else. This measures what that costs in wall time against the peers, in one process
//! (connection setup leaves no state behind), drivers interleaved within each round.

use std::time::{Duration, Instant};

use crate::BoxError;
use crate::reference::run_pgbench;
use crate::server::Server;
use crate::stats::summarize;
use crate::workload::Driver;

/// Connections opened and closed per driver and round.
const PER_ROUND: u32 = 200;

pub(crate) fn main(runs: usize) -> Result<(), BoxError> {
    let server = Server::start()?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut times: Vec<(Driver, Vec<f64>)> = Driver::ALL.iter().map(|d| (*d, Vec::new())).collect();
    let mut libpq = Vec::new();
    // One warm-up round: the server's first backends pay for catalog caches.
    for round in 0..=runs {
        let mut order = Driver::ALL.to_vec();
        order.rotate_left(round % Driver::ALL.len());
        for driver in order {
            let per = rt.block_on(per_connection(driver, &server.url))?;
            if round > 0 {
                let slot = times
                    .iter_mut()
                    .find(|(d, _)| *d == driver)
                    .expect("every driver");
                slot.1.push(per.as_secs_f64() * 1e6);
            }
        }
        if round > 0 {
            libpq.push(pgbench_connection_time(&server)?);
        }
    }
    println!(
        "Time to open one connection (until ready for a query), sequentially, 127.0.0.1, \
         trust, no TLS, tokio current_thread; {PER_ROUND} per driver per round, median of \
         {runs} rounds (min-max), microseconds; lower is better."
    );
    println!();
    println!("| client | µs per connection |");
    println!("|---|---|");
    for (driver, values) in &times {
        print_row(driver.name(), values);
    }
    print_row(
        "libpq (`pgbench -C`, `SELECT 1` per connection: its average connection time)",
        &libpq,
    );
    Ok(())
}

fn print_row(name: &str, values: &[f64]) {
    match summarize(values) {
        Some(s) => println!("| {name} | {:.0} ({:.0}–{:.0}) |", s.median, s.min, s.max),
        None => println!("| {name} | – |"),
    }
}

/// The mean time of one connect over [`PER_ROUND`] in a row: from the call until the
/// connection is ready for a query. Closing is done, but not timed.
async fn per_connection(driver: Driver, url: &str) -> Result<Duration, BoxError> {
    let mut total = Duration::ZERO;
    for _ in 0..PER_ROUND {
        let start = Instant::now();
        match driver {
            Driver::Quarry => {
                let conn = quarry_driver::Connection::connect(url).await?;
                total += start.elapsed();
                conn.close().await?;
            }
            Driver::TokioPostgres | Driver::TokioPostgresShared => {
                let (client, connection) =
                    tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
                total += start.elapsed();
                let task = tokio::spawn(connection);
                drop(client);
                task.await??;
            }
            Driver::Sqlx => {
                use sqlx::Connection as _;
                let conn = sqlx::PgConnection::connect(url).await?;
                total += start.elapsed();
                conn.close().await?;
            }
        }
    }
    Ok(total / PER_ROUND)
}

/// pgbench's "average connection time" of a 3-second `-C` run, in microseconds. Each
/// transaction is one `SELECT 1` (a script, so no pgbench tables are needed).
fn pgbench_connection_time(server: &Server) -> Result<f64, BoxError> {
    let script =
        std::env::temp_dir().join(format!("quarry-bench-connect-{}.sql", std::process::id()));
    let path = script.to_str().ok_or("temp path is not UTF-8")?;
    std::fs::write(&script, "SELECT 1;\n")?;
    let output = run_pgbench(
        server,
        "pgbench -C",
        &["-n", "-C", "-c", "1", "-j", "1", "-T", "3", "-f", path],
    );
    let _ = std::fs::remove_file(&script);
    let text = output?;
    let ms: f64 = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("average connection time ="))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("pgbench -C printed no average connection time:\n{text}"))?;
    Ok(ms * 1000.0)
}
