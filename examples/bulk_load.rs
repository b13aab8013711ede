//! Bulk load: a million rows in by binary COPY, then out to a CSV file.
//!
//! ```sh
//! cargo run --example bulk_load
//! ```
//!
//! `COPY ... FROM STDIN (FORMAT binary)` is the fastest way into PostgreSQL: no
//! SQL per row, no text parsing. `copy_in_table` checks that the Rust row type
//! fits the table's columns, then streams rows as they are written (in buffers of
//! 256 KiB), so a million rows never sit in memory at once. The other way,
//! `COPY ... TO STDOUT (FORMAT csv)` streams straight into a file.
//!
//! Uses `DATABASE_URL` when it is set; otherwise starts a throwaway PostgreSQL.
//! The table is a temporary one (it lives as long as the connection), so nothing
//! is left behind.

use std::path::PathBuf;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use quarry::{Connection, TempServer};
use tokio::io::BufWriter;

const ROWS: i64 = 1_000_000;
const SITES: [&str; 3] = ["north", "harbour", "airport"];

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (url, _server) = match std::env::var("DATABASE_URL") {
        Ok(url) => (url, None),
        Err(_) => {
            let server = TempServer::start()?;
            (server.url(), Some(server))
        }
    };
    let mut conn = Connection::connect(&url).await?;
    conn.batch_execute(
        "CREATE TEMP TABLE readings (
             id      bigint NOT NULL,
             sensor  integer NOT NULL,
             celsius double precision NOT NULL,
             site    text NOT NULL
         )",
    )
    .await?;

    // --- In: typed binary COPY --------------------------------------------------------
    let bar = ProgressBar::new(ROWS.unsigned_abs()).with_style(ProgressStyle::with_template(
        "{bar:40} {human_pos}/{human_len} rows  {per_sec}  {elapsed}",
    )?);
    let started = Instant::now();
    // Each row is a tuple in column order; a type that does not fit its column
    // (an i32 for the bigint `id`, say) is refused before any data is sent.
    let mut writer = conn
        .copy_in_table::<(i64, i32, f64, &str)>("readings", &["id", "sensor", "celsius", "site"])
        .await?;
    for id in 1..=ROWS {
        let sensor = i32::try_from(id % 500).expect("below 500");
        let celsius = 10.0 + f64::from(sensor) / 25.0;
        let site = SITES[usize::from(id % 3 == 0) + usize::from(id % 7 == 0)];
        writer.write((id, sensor, celsius, site)).await?;
        if id % 10_000 == 0 {
            bar.inc(10_000);
        }
    }
    let copied = writer.finish().await?;
    bar.finish_and_clear();
    let took = started.elapsed();
    println!(
        "COPY in: {copied} rows in {took:.2?} ({:.0} rows/s)",
        ROWS as f64 / took.as_secs_f64()
    );

    // The runtime API (not `query!`): this table is not in the schema the macros know.
    let (count, sites): (i64, i64) =
        quarry::query_as("SELECT count(*), count(DISTINCT site) FROM readings")
            .fetch_one(&mut conn)
            .await?;
    println!("the table holds {count} rows from {sites} sites");
    assert_eq!((count, sites), (ROWS, 3));

    // --- Out: a streamed CSV export --------------------------------------------------
    let path =
        TempFile(std::env::temp_dir().join(format!("quarry-bulk-load-{}.csv", std::process::id())));
    let started = Instant::now();
    // The data arrives in one message per row: buffer the writes to the file.
    let file = BufWriter::with_capacity(1 << 20, tokio::fs::File::create(&path.0).await?);
    let exported = conn
        .copy_out_to("COPY readings TO STDOUT (FORMAT csv, HEADER)", file)
        .await?;
    let took = started.elapsed();
    let csv = std::fs::read(&path.0)?;
    println!(
        "COPY out: {exported} rows, {:.1} MB of CSV in {took:.2?} to {}",
        csv.len() as f64 / 1e6,
        path.0.display()
    );

    // Check the file: a header line, then one line per row.
    let lines = csv.split(|b| *b == b'\n').filter(|l| !l.is_empty()).count();
    let first = csv.split(|b| *b == b'\n').nth(1).unwrap_or_default();
    println!(
        "{lines} lines; the first row: {}",
        String::from_utf8_lossy(first)
    );
    assert_eq!(u64::try_from(lines)?, exported + 1);
    assert_eq!(exported, copied);

    conn.close().await?;
    Ok(())
}

/// A file removed when dropped, on success or failure.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
