//! Change data capture: an initial snapshot of a table, then its changes, as JSON lines.
//!
//! ```sh
//! cargo run --example cdc                # snapshot, a few changes, done
//! cargo run --example cdc -- --follow    # ... then keep streaming until Ctrl-C
//! cargo run --example cdc -- --self-test # changes made concurrently, each checked once
//! ```
//!
//! A replication session creates a slot that exports a snapshot; an ordinary session
//! copies the table as of that snapshot; the stream then starts exactly where the
//! snapshot ends, so no change is lost or seen twice. Each change is written to stdout
//! as one JSON line and acknowledged only after the write, so a crash replays from the
//! last acknowledged change (at-least-once). Progress goes to stderr.
//!
//! Uses `DATABASE_URL` when it is set (the server needs `wal_level = logical` and a user
//! allowed to replicate); otherwise starts a throwaway PostgreSQL configured for it.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use quarry::replication::{
    LogicalMessage, LogicalOptions, ReplicationConnection, SlotOptions, SlotSnapshot, Tuple,
};
use quarry::types::PgLsn;
use quarry::{Connection, Error, ErrorKind, FromRecord, TempServer};
use serde::Serialize;

/// The table's rows, read from snapshot rows and change tuples alike.
#[derive(FromRecord, Serialize, Debug, Clone, PartialEq)]
struct Order {
    id: i32,
    item: String,
    qty: i32,
}

/// One output line.
#[derive(Serialize)]
struct Line<'a> {
    op: &'a str,
    lsn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    row: Option<&'a Order>,
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<i32>,
}

#[tokio::main]
async fn main() -> quarry::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let self_test = args.iter().any(|a| a == "--self-test");
    let follow = args.iter().any(|a| a == "--follow");
    let (url, _server) = match std::env::var("DATABASE_URL") {
        Ok(url) => (url, None),
        Err(_) => {
            let server = TempServer::builder()
                .replication(true)
                .setting("wal_level", "logical")
                .start()?;
            (server.url(), Some(server))
        }
    };

    let mut conn = Connection::connect(&url).await?;
    conn.batch_execute(
        "DROP PUBLICATION IF EXISTS cdc_orders;
         DROP TABLE IF EXISTS cdc_orders;
         CREATE TABLE cdc_orders (id int PRIMARY KEY, item text NOT NULL, qty int NOT NULL);
         INSERT INTO cdc_orders SELECT i, 'item ' || i, i FROM generate_series(1, 20) AS i;
         CREATE PUBLICATION cdc_orders FOR TABLE cdc_orders",
    )
    .await?;

    // Changes made while the snapshot is taken: the snapshot and the stream must split
    // them between them without a gap or an overlap.
    let writer = tokio::spawn(write_changes(url.clone()));

    let mut repl = ReplicationConnection::connect(&url).await?;
    let slot = format!("cdc_{}", std::process::id());
    let created = repl
        .create_logical_slot(
            &slot,
            &SlotOptions::new()
                .temporary(true)
                .snapshot(SlotSnapshot::Export),
        )
        .await?;
    let snapshot = created
        .snapshot_name
        .ok_or_else(|| Error::new(ErrorKind::Protocol, "the server exported no snapshot"))?;

    let mut out = std::io::stdout().lock();
    let mut state: BTreeMap<i32, Order> = BTreeMap::new();
    let mut copy = Connection::connect(&url).await?;
    copy.batch_execute(&format!(
        "BEGIN ISOLATION LEVEL REPEATABLE READ; SET TRANSACTION SNAPSHOT '{snapshot}'"
    ))
    .await?;
    let rows: Vec<Order> = quarry::query_as("SELECT id, item, qty FROM cdc_orders ORDER BY id")
        .fetch_all(&mut copy)
        .await?;
    copy.batch_execute("COMMIT").await?;
    for order in rows {
        emit(&mut out, "snapshot", None, Some(&order), None)?;
        state.insert(order.id, order);
    }
    eprintln!(
        "snapshot: {} rows as of {}",
        state.len(),
        created.consistent_point
    );

    let mut stream = repl
        .start_logical(
            &slot,
            created.consistent_point,
            &LogicalOptions::new(["cdc_orders"])
                .messages(true)
                .status_interval(Duration::from_secs(1)),
        )
        .await?;
    let mut changes = 0u64;
    let mut reported = 0u64;
    let mut inserted_twice = Vec::new();
    loop {
        let event = match tokio::time::timeout(Duration::from_secs(30), stream.next()).await {
            Ok(event) => event?,
            Err(_) if follow => continue,
            Err(_) => {
                return Err(Error::new(ErrorKind::Timeout, "no change within 30 s"));
            }
        };
        let Some(event) = event else { break };
        let lsn = Some(event.lsn);
        match &event.message {
            LogicalMessage::Insert(i) => {
                let order: Order = i.new.read()?;
                emit(&mut out, "insert", lsn, Some(&order), None)?;
                if state.insert(order.id, order.clone()).is_some() {
                    inserted_twice.push(order.id);
                }
                changes += 1;
            }
            LogicalMessage::Update(u) => {
                let order: Order = u.new.read()?;
                emit(&mut out, "update", lsn, Some(&order), None)?;
                state.insert(order.id, order);
                changes += 1;
            }
            LogicalMessage::Delete(d) => {
                let id = key(d.old.tuple())?;
                emit(&mut out, "delete", lsn, None, Some(id))?;
                state.remove(&id);
                changes += 1;
            }
            LogicalMessage::Message(m) if m.prefix == "cdc_done" && !follow => {
                stream.ack(event.lsn);
                break;
            }
            _ => {}
        }
        // Written (and flushed) before acknowledged: at-least-once.
        stream.ack(event.lsn);
        if changes.is_multiple_of(100) && changes > reported {
            reported = changes;
            eprint!(
                "\rstreamed {changes} changes, acknowledged up to {}",
                stream.acked()
            );
        }
    }
    eprintln!(
        "\rstreamed {changes} changes, acknowledged up to {}",
        stream.acked()
    );
    stream.stop().await?.close().await?;
    let written = writer
        .await
        .map_err(|e| Error::new(ErrorKind::Io, format!("the writer failed: {e}")))??;

    if self_test {
        // What the snapshot plus the stream rebuilt must be the table itself, and no
        // insert may have arrived twice.
        let table: Vec<Order> =
            quarry::query_as("SELECT id, item, qty FROM cdc_orders ORDER BY id")
                .fetch_all(&mut conn)
                .await?;
        let rebuilt: Vec<Order> = state.into_values().collect();
        if !inserted_twice.is_empty() || rebuilt != table {
            eprintln!(
                "self-test FAILED: {} rows rebuilt, {} in the table; inserted twice: {:?}",
                rebuilt.len(),
                table.len(),
                inserted_twice
            );
            std::process::exit(1);
        }
        eprintln!(
            "self-test passed: {written} concurrent changes, {} rows match the table",
            table.len()
        );
    }
    Ok(())
}

/// The key of a deleted row (the old key tuple carries the primary key only).
fn key(tuple: &Tuple) -> quarry::Result<i32> {
    tuple.try_get("id")
}

fn emit(
    out: &mut impl Write,
    op: &str,
    lsn: Option<PgLsn>,
    row: Option<&Order>,
    key: Option<i32>,
) -> quarry::Result<()> {
    let line = Line {
        op,
        lsn: lsn.map(|l| l.to_string()),
        row,
        key,
    };
    let json = serde_json::to_string(&line)
        .map_err(|e| Error::new(ErrorKind::Encode, format!("JSON: {e}")))?;
    writeln!(out, "{json}")
        .and_then(|()| out.flush())
        .map_err(|e| Error::new(ErrorKind::Io, format!("writing stdout: {e}")))
}

/// Inserts, updates and deletes in many small transactions, then a message that tells
/// the reader it has seen everything. Returns how many statements it ran.
async fn write_changes(url: String) -> quarry::Result<u32> {
    let mut w = Connection::connect(&url).await?;
    let mut n = 0;
    for i in 21..=220 {
        w.batch_execute(&format!(
            "INSERT INTO cdc_orders VALUES ({i}, 'item {i}', {i})"
        ))
        .await?;
        n += 1;
        if i % 3 == 0 {
            w.batch_execute(&format!(
                "UPDATE cdc_orders SET qty = qty + 1 WHERE id = {}",
                i - 10
            ))
            .await?;
            n += 1;
        }
        if i % 7 == 0 {
            w.batch_execute(&format!("DELETE FROM cdc_orders WHERE id = {}", i - 20))
                .await?;
            n += 1;
        }
    }
    w.batch_execute("SELECT pg_logical_emit_message(false, 'cdc_done', '')")
        .await?;
    Ok(n)
}
