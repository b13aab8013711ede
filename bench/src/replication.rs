//! `quarry-bench replication`: decoding a logical replication stream (issue 22).
//!
//! One server with `wal_level=logical`; each round inserts `rows` rows in one transaction
//! into a published table, then reads that transaction from three slots created before
//! it: Quarry with text values, Quarry with binary values (each decoding every tuple into
//! `(i32, &str, i64)`), and `pg_recvlogical` writing the same changes (pgoutput, its
//! protocol version one) to /dev/null. The three readers run one after the other, their
//! order rotating from round to round; the rate is rows per second from the start of
//! the stream to the transaction's Commit (Quarry) or to the end position
//! (`pg_recvlogical -E`). Peak RSS of this process is printed too: the stream is pulled,
//! so it stays flat whatever `rows` is.

use std::time::Instant;

use quarry_driver::replication::{
    LogicalMessage, LogicalOptions, ReplicationConnection, SlotOptions,
};
use quarry_driver::types::PgLsn;
use quarry_driver::{Connection, TempServer};

use crate::BoxError;
use crate::stats::summarize;

const READERS: [&str; 3] = ["quarry text", "quarry binary", "pg_recvlogical"];

pub(crate) fn main(runs: usize, rows: u64) -> Result<(), BoxError> {
    let server = TempServer::builder()
        .replication(true)
        .setting("wal_level", "logical")
        .setting("max_wal_size", "4GB")
        .setting("max_replication_slots", "32")
        .start()?;
    let recvlogical = server.pg_bin("pg_recvlogical")?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let url = server.url();
    let mut rates: Vec<Vec<f64>> = vec![Vec::new(); READERS.len()];
    rt.block_on(async {
        let mut conn = Connection::connect(&url).await?;
        conn.batch_execute(
            "CREATE TABLE bench_repl (id int PRIMARY KEY, name text, v int8); \
             CREATE PUBLICATION bench_repl_pub FOR TABLE bench_repl",
        )
        .await?;
        for round in 0..runs {
            let mut admin = ReplicationConnection::connect(&url).await?;
            // WAIT: a reader's walsender may still be ending.
            for r in 0..READERS.len() {
                admin
                    .create_logical_slot(&format!("bench_{round}_{r}"), &SlotOptions::new())
                    .await?;
            }
            conn.batch_execute(&format!(
                "TRUNCATE bench_repl; INSERT INTO bench_repl \
                 SELECT i, 'name ' || i, i * 7 FROM generate_series(1, {rows}) AS i"
            ))
            .await?;
            let end: String = quarry_driver::query_scalar("SELECT pg_current_wal_lsn()::text")
                .fetch_one(&mut conn)
                .await?;
            for k in 0..READERS.len() {
                let r = (k + round) % READERS.len();
                let slot = format!("bench_{round}_{r}");
                let started = Instant::now();
                let decoded = match r {
                    0 | 1 => quarry_reader(&url, &slot, r == 1).await?,
                    _ => {
                        let status = std::process::Command::new(&recvlogical)
                            .args(["-d", &url, "--slot", &slot, "--start", "--no-loop"])
                            .args(["-o", "proto_version=1", "-o"])
                            .arg("publication_names=bench_repl_pub")
                            .args(["-f", "/dev/null", "-E", &end])
                            .status()?;
                        if !status.success() {
                            return Err(format!("pg_recvlogical failed: {status}").into());
                        }
                        rows
                    }
                };
                let took = started.elapsed().as_secs_f64();
                if decoded != rows {
                    return Err(format!("{}: {decoded} rows, expected {rows}", READERS[r]).into());
                }
                #[allow(clippy::cast_precision_loss)]
                rates[r].push(rows as f64 / took);
            }
            for r in 0..READERS.len() {
                admin.drop_slot(&format!("bench_{round}_{r}"), true).await?;
            }
        }
        Ok::<(), BoxError>(())
    })?;
    println!("logical replication decode, {rows} rows in one transaction, {runs} rounds:");
    let reference = summarize(&rates[2]).map_or(f64::NAN, |s| s.median);
    for (name, values) in READERS.iter().zip(&rates) {
        if let Some(s) = summarize(values) {
            println!(
                "  {name:<15} {:>9.0} rows/s ({:.0}-{:.0})  {:.2}x pg_recvlogical",
                s.median,
                s.min,
                s.max,
                s.median / reference
            );
        }
    }
    println!("  peak RSS of this process: {}", peak_rss());
    Ok(())
}

/// Reads the slot's one transaction, decoding every inserted tuple; returns the rows.
async fn quarry_reader(url: &str, slot: &str, binary: bool) -> Result<u64, BoxError> {
    let repl = ReplicationConnection::connect(url).await?;
    let options = LogicalOptions::new(["bench_repl_pub"]).binary(binary);
    let mut stream = repl.start_logical(slot, PgLsn(0), &options).await?;
    let (mut rows, mut checksum) = (0u64, 0i64);
    loop {
        let Some(change) = stream.next().await? else {
            return Err("the stream ended before the transaction's Commit".into());
        };
        match &change.message {
            LogicalMessage::Insert(insert) => {
                let (id, name, v): (i32, &str, i64) = insert.new.read()?;
                checksum = checksum
                    .wrapping_add(i64::from(id))
                    .wrapping_add(v)
                    .wrapping_add(i64::try_from(name.len())?);
                rows += 1;
            }
            LogicalMessage::Commit(_) => {
                stream.ack(change.lsn);
                std::hint::black_box(checksum);
                return Ok(rows);
            }
            _ => {}
        }
    }
}

fn peak_rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l.trim_start_matches("VmHWM:").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned())
}
