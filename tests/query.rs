//! Running queries against a real server: every query method, the statement cache
//! (eviction, re-prepare after DDL), large results at flat memory, pipelines,
//! timeouts and cancellation races, futures dropped at any point, NUL bytes, and
//! PgBouncer in transaction mode.
//!
//! Every test makes its own tables (`unique` names), so tests run in parallel on the
//! binary's one server.

mod support;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use quarry::config::SslMode;
use quarry::temp_server::roles;
use quarry::{
    AssertSqlSafe, ConnectOptions, Connection, ErrorKind, Row, SqlState, TransactionStatus, query,
    query_as, query_scalar,
};
use support::pgbouncer::PgBouncer;
use support::{Rng, connect, options_for, server, unique};

/// `CREATE TABLE <unique> (<columns>)`; returns the name.
async fn table(conn: &mut Connection, columns: &str) -> String {
    let name = unique("t");
    conn.batch_execute(&format!("CREATE TABLE {name} ({columns})"))
        .await
        .unwrap();
    name
}

fn sql(s: String) -> AssertSqlSafe<String> {
    AssertSqlSafe(s)
}

async fn count(conn: &mut Connection, table: &str) -> i64 {
    query_scalar(sql(format!("SELECT count(*) FROM {table}")))
        .fetch_one(conn)
        .await
        .unwrap()
}

// --- The query methods ---------------------------------------------------------------

#[tokio::test]
async fn every_query_method() {
    let _memory = support::memory_shared().await;
    let mut conn = connect(server()).await;
    let t = table(&mut conn, "id int8 PRIMARY KEY, name text, score float8").await;

    // execute: rows affected.
    let n = query(sql(format!(
        "INSERT INTO {t} (id, name, score) VALUES ($1, $2, $3), ($4, $5, NULL)"
    )))
    .bind(1i64)
    .bind("one")
    .bind(1.5f64)
    .bind(2i64)
    .bind("two")
    .execute(&mut conn)
    .await
    .unwrap();
    assert_eq!(n, 2);
    let n = query(sql(format!("UPDATE {t} SET score = score + 1")))
        .execute(&mut conn)
        .await
        .unwrap();
    assert_eq!(n, 2);

    // fetch_one / fetch_optional.
    let row = query(sql(format!(
        "SELECT id, name, score FROM {t} WHERE id = $1"
    )))
    .bind(1i64)
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(row.get::<i64, _>("id"), 1);
    assert_eq!(row.get::<&str, _>(1), "one");
    assert_eq!(row.get::<Option<f64>, _>("score"), Some(2.5));
    let err = query(sql(format!("SELECT id FROM {t} WHERE id = $1")))
        .bind(99i64)
        .fetch_one(&mut conn)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RowNotFound, "{err}");
    let none = query(sql(format!("SELECT id FROM {t} WHERE id = $1")))
        .bind(99i64)
        .fetch_optional(&mut conn)
        .await
        .unwrap();
    assert!(none.is_none());
    let some = query(sql(format!("SELECT id FROM {t} WHERE id = $1")))
        .bind(2i64)
        .fetch_optional(&mut conn)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(some.get::<i64, _>(0), 2);

    // fetch_all, in order.
    let rows = query(sql(format!("SELECT id, score FROM {t} ORDER BY id")))
        .fetch_all(&mut conn)
        .await
        .unwrap();
    let got: Vec<(i64, Option<f64>)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(got, [(1, Some(2.5)), (2, None)]);

    // fetch: a stream.
    let ids: Vec<i64> = query(sql(format!("SELECT id FROM {t} ORDER BY id DESC")))
        .fetch(&mut conn)
        .map(|r| r.unwrap().get::<i64, _>(0))
        .collect()
        .await;
    assert_eq!(ids, [2, 1]);

    // query_scalar: every method.
    let total: i64 = query_scalar(sql(format!("SELECT sum(id)::int8 FROM {t}")))
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(total, 3);
    let names: Vec<String> = query_scalar(sql(format!("SELECT name FROM {t} ORDER BY id")))
        .fetch_all(&mut conn)
        .await
        .unwrap();
    assert_eq!(names, ["one", "two"]);
    let missing: Option<String> = query_scalar(sql(format!("SELECT name FROM {t} WHERE false")))
        .fetch_optional(&mut conn)
        .await
        .unwrap();
    assert_eq!(missing, None);
    let err = query_scalar::<i64>(sql(format!("SELECT id, name FROM {t}")))
        .fetch_all(&mut conn)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decode, "{err}");
    let streamed: Vec<i64> = query_scalar::<i64>(sql(format!("SELECT id FROM {t} ORDER BY id")))
        .fetch(&mut conn)
        .map(|r| r.unwrap())
        .collect()
        .await;
    assert_eq!(streamed, [1, 2]);

    // query_as with tuples.
    let pairs: Vec<(i64, String)> = query_as(sql(format!("SELECT id, name FROM {t} ORDER BY id")))
        .fetch_all(&mut conn)
        .await
        .unwrap();
    assert_eq!(pairs, [(1, "one".to_owned()), (2, "two".to_owned())]);
    let one: (i64, Option<f64>, String) = query_as(sql(format!(
        "SELECT id, score, name FROM {t} WHERE id = $1"
    )))
    .bind(2i64)
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(one, (2, None, "two".to_owned()));
    let err = query_as::<(i64,)>(sql(format!("SELECT id, name FROM {t}")))
        .fetch_one(&mut conn)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decode, "{err}");
    let err = query_as::<(String, String)>(sql(format!("SELECT id, name FROM {t}")))
        .fetch_one(&mut conn)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decode, "{err}");
    assert!(err.to_string().contains("\"id\""), "{err}");

    // batch_execute: several statements, one round trip; an error stops the script.
    conn.batch_execute(&format!(
        "INSERT INTO {t} (id) VALUES (10); INSERT INTO {t} (id) VALUES (11); DELETE FROM {t} WHERE id = 1"
    ))
    .await
    .unwrap();
    assert_eq!(count(&mut conn, &t).await, 3);
    let err = conn
        .batch_execute(&format!(
            "INSERT INTO {t} (id) VALUES (12); INSERT INTO {t} (id) VALUES (10); INSERT INTO {t} (id) VALUES (13)"
        ))
        .await
        .unwrap_err();
    assert!(err.is_unique_violation(), "{err}");
    // The script is one implicit transaction: 12 was rolled back, 13 never ran.
    assert_eq!(count(&mut conn, &t).await, 3);

    // A database error leaves the connection usable.
    let err = query("SELECT 1/0").execute(&mut conn).await.unwrap_err();
    assert_eq!(err.code(), Some(&SqlState::DivisionByZero));
    let one: i32 = query_scalar("SELECT 1").fetch_one(&mut conn).await.unwrap();
    assert_eq!(one, 1);
}

#[tokio::test]
async fn prepare_describes_parameters_columns_and_origins() {
    let _memory = support::memory_shared().await;
    let mut conn = connect(server()).await;
    let t = table(&mut conn, "id int8, label varchar(20), flag bool").await;
    let table_oid: i64 = query_scalar(sql(format!("SELECT '{t}'::regclass::oid::int8")))
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let st = conn
        .prepare(sql(format!(
            "SELECT id, label, flag, $2::text AS extra FROM {t} WHERE id = $1"
        )))
        .await
        .unwrap();
    let params: Vec<&str> = st.params().iter().map(|p| p.name()).collect();
    assert_eq!(params, ["int8", "text"]);
    let cols: Vec<(&str, &str)> = st
        .columns()
        .iter()
        .map(|c| (c.name(), c.type_info().name()))
        .collect();
    assert_eq!(
        cols,
        [
            ("id", "int8"),
            ("label", "varchar"),
            ("flag", "bool"),
            ("extra", "text")
        ]
    );
    let origin: Vec<(Option<i64>, Option<i16>)> = st
        .columns()
        .iter()
        .map(|c| (c.table_oid().map(|o| i64::from(o.0)), c.column_id()))
        .collect();
    assert_eq!(
        origin,
        [
            (Some(table_oid), Some(1)),
            (Some(table_oid), Some(2)),
            (Some(table_oid), Some(3)),
            (None, None)
        ]
    );
    // varchar(20): typmod 24 (length + 4).
    assert_eq!(st.columns()[1].type_modifier(), 24);
    assert!(st.is_named());

    // The statement runs, many times.
    query(sql(format!("INSERT INTO {t} VALUES (7, 'seven', true)")))
        .execute(&mut conn)
        .await
        .unwrap();
    for _ in 0..3 {
        let row = st
            .query()
            .bind(7i64)
            .bind("x")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(row.get::<&str, _>("label"), "seven");
        assert_eq!(row.get::<&str, _>("extra"), "x");
    }
    // A statement that returns nothing has no columns; bad SQL is a database error.
    let st = conn
        .prepare(sql(format!("DELETE FROM {t} WHERE id = $1")))
        .await
        .unwrap();
    assert!(st.columns().is_empty());
    assert_eq!(st.query().bind(7i64).execute(&mut conn).await.unwrap(), 1);
    let err = conn.prepare("SELEC 1").await.unwrap_err();
    assert_eq!(err.code(), Some(&SqlState::SyntaxError), "{err}");
    let one: i32 = query_scalar("SELECT 1").fetch_one(&mut conn).await.unwrap();
    assert_eq!(one, 1);
}

// --- The statement cache -------------------------------------------------------------

/// The SQL texts of the statements prepared on this session, read with the simple
/// protocol (which prepares nothing).
async fn server_statements(conn: &mut Connection) -> Vec<String> {
    let rows = conn
        .simple_query("SELECT statement FROM pg_prepared_statements ORDER BY statement")
        .await
        .unwrap();
    rows.iter().map(|r| r.get::<String, _>(0)).collect()
}

#[tokio::test]
async fn statement_cache_evicts_and_closes_the_oldest() {
    let _memory = support::memory_shared().await;
    let s = server();
    let opts = options_for(s, roles::SUPERUSER, SslMode::Disable).statement_cache_capacity(2);
    let mut conn = Connection::connect_with(&opts).await.unwrap();
    let (a, b, c) = ("SELECT 1::int4", "SELECT 2::int4", "SELECT 3::int4");
    for q in [a, b, c] {
        query(q).execute(&mut conn).await.unwrap();
    }
    assert_eq!(conn.cached_statements(), 2);
    // The Close for the evicted statement goes out with the next request.
    query(b).execute(&mut conn).await.unwrap();
    assert_eq!(server_statements(&mut conn).await, [b, c]);
    // Using `b` made `c` the oldest: `a` evicts `c`, then `d` evicts `b`.
    let d = "SELECT 4::int4";
    query(a).execute(&mut conn).await.unwrap();
    query(d).execute(&mut conn).await.unwrap();
    query(a).execute(&mut conn).await.unwrap();
    assert_eq!(conn.cached_statements(), 2);
    assert_eq!(server_statements(&mut conn).await, [a, d]);
    // Non-persistent queries are not cached.
    query("SELECT 5::int4")
        .persistent(false)
        .execute(&mut conn)
        .await
        .unwrap();
    assert_eq!(conn.cached_statements(), 2);
    // Clearing closes everything on the server.
    conn.clear_statement_cache();
    assert_eq!(conn.cached_statements(), 0);
    query("SELECT 6::int4")
        .persistent(false)
        .execute(&mut conn)
        .await
        .unwrap();
    assert_eq!(server_statements(&mut conn).await, Vec::<String>::new());

    // Capacity 0: nothing named, ever.
    let opts = opts.statement_cache_capacity(0);
    let mut conn = Connection::connect_with(&opts).await.unwrap();
    for q in [a, b, c, a] {
        query(q).execute(&mut conn).await.unwrap();
    }
    assert_eq!(conn.cached_statements(), 0);
    assert_eq!(server_statements(&mut conn).await, Vec::<String>::new());
}

#[tokio::test]
async fn a_statement_made_stale_by_ddl_is_prepared_again() {
    let _memory = support::memory_shared().await;
    let mut conn = connect(server()).await;
    let t = table(&mut conn, "a int4").await;
    conn.batch_execute(&format!("INSERT INTO {t} VALUES (1)"))
        .await
        .unwrap();
    let select = format!("SELECT * FROM {t}");
    let row = query(sql(select.clone()))
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(row.len(), 1);
    assert_eq!(conn.cached_statements(), 1);

    // Outside a transaction: 0A000 "cached plan must not change result type" is retried.
    let mut other = connect(server()).await;
    other
        .batch_execute(&format!("ALTER TABLE {t} ADD COLUMN b text DEFAULT 'x'"))
        .await
        .unwrap();
    let row = query(sql(select.clone()))
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(row.len(), 2);
    assert_eq!(row.get::<&str, _>("b"), "x");

    // Inside a transaction the error is the caller's (the transaction is aborted anyway).
    conn.batch_execute("BEGIN").await.unwrap();
    other
        .batch_execute(&format!("ALTER TABLE {t} ADD COLUMN c int4 DEFAULT 3"))
        .await
        .unwrap();
    let err = query(sql(select.clone()))
        .fetch_one(&mut conn)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&SqlState::FeatureNotSupported), "{err}");
    assert_eq!(
        conn.transaction_status(),
        TransactionStatus::InFailedTransaction
    );
    conn.batch_execute("ROLLBACK").await.unwrap();
    let row = query(sql(select.clone()))
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(row.len(), 3);

    // A column type change.
    other
        .batch_execute(&format!("ALTER TABLE {t} ALTER COLUMN a TYPE int8"))
        .await
        .unwrap();
    let row = query(sql(select)).fetch_one(&mut conn).await.unwrap();
    assert_eq!(row.get::<i64, _>("a"), 1);
}

/// `DEALLOCATE ALL` and `DISCARD ALL` in the user's SQL empty the statement cache too: the
/// next query parses its statement again, even inside a transaction (where a retry after
/// 26000 would not be possible), and the connection keeps naming its statements (a
/// statement it made going missing is otherwise the sign of a transaction-mode pooler).
#[tokio::test]
async fn a_statement_the_server_forgot_is_prepared_again() {
    let _memory = support::memory_shared().await;
    let mut conn = connect(server()).await;
    let value = |n: i64| query_scalar::<i64>("SELECT $1::int8 * 2").bind(n);
    assert_eq!(value(1).fetch_one(&mut conn).await.unwrap(), 2);
    assert_eq!(conn.cached_statements(), 1);
    conn.batch_execute("DEALLOCATE ALL").await.unwrap();
    assert_eq!(conn.cached_statements(), 0);
    assert_eq!(value(2).fetch_one(&mut conn).await.unwrap(), 4);
    conn.batch_execute("DISCARD ALL").await.unwrap();
    assert_eq!(value(3).fetch_one(&mut conn).await.unwrap(), 6);
    assert_eq!(server_statements(&mut conn).await.len(), 1);
    // Inside a transaction: parsed again, so the transaction goes on.
    conn.batch_execute("BEGIN; DEALLOCATE ALL").await.unwrap();
    assert_eq!(value(4).fetch_one(&mut conn).await.unwrap(), 8);
    conn.batch_execute("COMMIT").await.unwrap();
    assert_eq!(value(5).fetch_one(&mut conn).await.unwrap(), 10);
    assert_eq!(conn.cached_statements(), 1, "the cache is still on");
    assert_eq!(server_statements(&mut conn).await.len(), 1);
}

// --- Large results --------------------------------------------------------------------

/// Ten million rows streamed: memory stays flat. Runs in every build; the rows are
/// narrow (`int4`) so that a debug build streams them in seconds.
#[tokio::test]
async fn ten_million_rows_stream_at_flat_memory() {
    const ROWS: i64 = 10_000_000;
    let _memory = support::memory_exclusive().await;
    let mut conn = connect(server()).await;
    let mut stream = query("SELECT g FROM generate_series(1, $1::int4) g")
        .bind(i32::try_from(ROWS).unwrap())
        .fetch(&mut conn);
    let mut n = 0i64;
    let mut sum = 0i64;
    let mut baseline = 0;
    let mut peak = 0;
    while let Some(row) = stream.next().await {
        let v: i32 = row.unwrap().get(0);
        n += 1;
        sum += i64::from(v);
        if n == 100_000 {
            baseline = support::rss_kib();
        }
        if n % 1_000_000 == 0 {
            peak = peak.max(support::rss_kib());
        }
    }
    drop(stream);
    assert_eq!(n, ROWS);
    assert_eq!(sum, ROWS * (ROWS + 1) / 2);
    let growth_mib = peak.saturating_sub(baseline) / 1024;
    eprintln!("10M rows: RSS {baseline} KiB after 100k rows, peak {peak} KiB");
    assert!(
        growth_mib < 64,
        "RSS grew by {growth_mib} MiB while streaming (from {baseline} KiB to {peak} KiB)"
    );
    let one: i32 = query_scalar("SELECT 1").fetch_one(&mut conn).await.unwrap();
    assert_eq!(one, 1);
}

// --- Pipelines --------------------------------------------------------------------------

#[tokio::test]
async fn an_atomic_pipeline_rolls_back_on_error() {
    let _memory = support::memory_shared().await;
    let mut conn = connect(server()).await;
    let t = table(&mut conn, "id int4 PRIMARY KEY").await;
    let insert = format!("INSERT INTO {t} VALUES ($1)");
    let mut p = conn.pipeline();
    p.push(query(sql(insert.clone())).bind(1i32));
    p.push(query(sql(insert.clone())).bind(2i32));
    p.push(query(sql(insert.clone())).bind(1i32)); // duplicate
    p.push(query(sql(insert.clone())).bind(3i32));
    let err = p.run().await.unwrap_err();
    assert!(err.is_unique_violation(), "{err}");
    assert!(err.to_string().contains("query 3 of 4"), "{err}");
    assert_eq!(count(&mut conn, &t).await, 0);
    assert_eq!(conn.transaction_status(), TransactionStatus::Idle);

    // run_each says what happened to each.
    let mut p = conn.pipeline();
    p.push(query(sql(insert.clone())).bind(1i32));
    p.push(query("SELECT 1/0"));
    p.push(query(sql(insert.clone())).bind(2i32));
    let results = p.run_each().await.unwrap();
    assert!(results[0].is_ok());
    assert_eq!(
        results[1].as_ref().unwrap_err().code(),
        Some(&SqlState::DivisionByZero)
    );
    let skipped = results[2].as_ref().unwrap_err();
    assert!(skipped.to_string().contains("not run"), "{skipped}");
    assert_eq!(count(&mut conn, &t).await, 0);

    // Success: everything in, results in order.
    let mut p = conn.pipeline();
    p.push(query(sql(insert.clone())).bind(1i32));
    p.push(query(sql(insert.clone())).bind(2i32));
    p.push(query(sql(format!("SELECT id FROM {t} ORDER BY id"))));
    let results = p.run().await.unwrap();
    assert_eq!(results[0].rows_affected, 1);
    let ids: Vec<i32> = results[2].rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(ids, [1, 2]);
    // execute_many is all-or-nothing too.
    let err = conn
        .execute_many("INSERT INTO pg_temp.nope VALUES ($1)", [(1i32,), (2i32,)])
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&SqlState::UndefinedTable), "{err}");
}

#[tokio::test]
async fn an_independent_pipeline_commits_each_query() {
    let _memory = support::memory_shared().await;
    let mut conn = connect(server()).await;
    let t = table(&mut conn, "id int4 PRIMARY KEY").await;
    let insert = format!("INSERT INTO {t} VALUES ($1)");
    let mut p = conn.pipeline().independent(true);
    p.push(query(sql(insert.clone())).bind(1i32));
    p.push(query(sql(insert.clone())).bind(1i32)); // duplicate
    p.push(query(sql(insert.clone())).bind(2i32));
    p.push(query("SELECT 1/0"));
    p.push(query(sql(insert.clone())).bind(3i32));
    let results = p.run_each().await.unwrap();
    let ok: Vec<bool> = results.iter().map(Result::is_ok).collect();
    assert_eq!(ok, [true, false, true, false, true]);
    assert!(results[1].as_ref().unwrap_err().is_unique_violation());
    assert_eq!(count(&mut conn, &t).await, 3);
    // run() reports the first failure by index; the others committed.
    let mut p = conn.pipeline().independent(true);
    p.push(query(sql(insert.clone())).bind(4i32));
    p.push(query(sql(insert.clone())).bind(4i32));
    let err = p.run().await.unwrap_err();
    assert!(err.to_string().contains("query 2 of 2"), "{err}");
    assert_eq!(count(&mut conn, &t).await, 4);
}

#[tokio::test]
async fn a_query_that_cannot_be_encoded_leaves_the_pipeline_unsent() {
    let _memory = support::memory_shared().await;
    let mut conn = connect(server()).await;
    let t = table(&mut conn, "id int4").await;
    let mut p = conn.pipeline();
    p.push(query(sql(format!("INSERT INTO {t} VALUES (1)"))));
    p.push(query(AssertSqlSafe("SELECT 'nul\0byte'")));
    let err = p.run().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Encode, "{err}");
    // Nothing of it may reach the server later, with the next request.
    let v: i64 = query_scalar("SELECT $1::int8")
        .bind(41i64)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(v, 41);
    assert_eq!(count(&mut conn, &t).await, 0);
    let rows = conn.simple_query("SELECT 7").await.unwrap();
    assert_eq!(rows[0].get::<i32, _>(0), 7);
}

#[tokio::test]
async fn a_query_that_cannot_be_encoded_leaves_pending_closes_for_later() {
    let _memory = support::memory_shared().await;
    let opts =
        options_for(server(), roles::SUPERUSER, SslMode::Disable).statement_cache_capacity(1);
    let mut conn = Connection::connect_with(&opts).await.unwrap();
    query("SELECT 1::int4").execute(&mut conn).await.unwrap();
    // Evicts the first statement: its Close waits for the next request.
    query("SELECT 2::int4").execute(&mut conn).await.unwrap();
    let err = query(AssertSqlSafe("SELECT '\0'"))
        .execute(&mut conn)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Encode, "{err}");
    // The simple protocol must not meet a CloseComplete it did not ask for.
    let rows = conn.simple_query("SELECT 7").await.unwrap();
    assert_eq!(rows[0].get::<i32, _>(0), 7);
    // The Close still goes out with the next extended query.
    query("SELECT 2::int4").execute(&mut conn).await.unwrap();
    assert_eq!(server_statements(&mut conn).await, ["SELECT 2::int4"]);
}

// --- execute_many streams its rows ----------------------------------------------------

/// `execute_many` takes `&'static str`; the tests' tables have made-up names.
fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// Rows `(i, text)` for `i` in `1..=n`; many of them span many of the chunks
/// `execute_many` sends while it encodes the rest.
fn many_rows(n: i32) -> impl Iterator<Item = (i32, String)> {
    (1..=n).map(|i| (i, format!("row {i:>40}")))
}

#[tokio::test]
async fn execute_many_streams_a_large_batch_as_one_transaction() {
    let _memory = support::memory_shared().await;
    let mut conn = connect(server()).await;
    let t = table(&mut conn, "id int4 PRIMARY KEY, note text").await;
    let insert = leak(format!("INSERT INTO {t} VALUES ($1, $2)"));
    let n = conn.execute_many(insert, many_rows(50_000)).await.unwrap();
    assert_eq!(n, 50_000);
    assert_eq!(count(&mut conn, &t).await, 50_000);
    assert!(conn.is_idle());

    // A row the server rejects late in the batch, long after the first rows were sent
    // and inserted: nothing of the batch stays, and the error names the row.
    let rows = many_rows(100_000).map(|(i, s)| (if i == 90_000 { 1 } else { i + 50_000 }, s));
    let err = conn.execute_many(insert, rows).await.unwrap_err();
    assert_eq!(err.code(), Some(&SqlState::UniqueViolation), "{err}");
    assert!(
        err.to_string().contains("row 90000 of execute_many"),
        "{err}"
    );
    assert_eq!(count(&mut conn, &t).await, 50_000);

    // A value that cannot be encoded, after much of the batch went out: the same.
    let rows = many_rows(60_000).map(|(i, s)| {
        let note = if i == 55_000 { "nul\0".to_owned() } else { s };
        (i + 200_000, note)
    });
    let err = conn.execute_many(insert, rows).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Encode, "{err}");
    assert!(
        err.to_string().contains("row 55000 of execute_many"),
        "{err}"
    );
    assert_eq!(count(&mut conn, &t).await, 50_000);
    assert_eq!(conn.transaction_status(), TransactionStatus::Idle);

    // The statement was prepared once and cached: the next batch reuses it.
    let cached = conn.cached_statements();
    let n = conn
        .execute_many(insert, many_rows(10).map(|(i, s)| (i + 300_000, s)))
        .await
        .unwrap();
    assert_eq!(n, 10);
    assert_eq!(conn.cached_statements(), cached);
    assert_eq!(count(&mut conn, &t).await, 50_010);
}

#[tokio::test]
async fn an_abandoned_execute_many_commits_nothing() {
    let _memory = support::memory_shared().await;
    let s = server();
    let mut conn = connect(s).await;
    let mut locker = connect(s).await;
    let t = table(&mut conn, "id int4, note text").await;
    let insert = leak(format!("INSERT INTO {t} VALUES ($1, $2)"));
    let lock = format!("BEGIN; LOCK TABLE {t} IN ACCESS EXCLUSIVE MODE");
    // While the table is locked the server stops reading the batch, the socket fills,
    // and the batch is left with part of it sent and no Sync.
    let mid_batch = Duration::from_millis(500);

    // A dropped future: the next use of the connection must not commit what was sent.
    locker.batch_execute(&lock).await.unwrap();
    let r = tokio::time::timeout(mid_batch, conn.execute_many(insert, many_rows(1_000_000))).await;
    assert!(
        r.is_err(),
        "the batch cannot finish while the table is locked"
    );
    assert!(conn.has_pending_work());
    locker.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(count(&mut conn, &t).await, 0);
    assert_eq!(conn.transaction_status(), TransactionStatus::Idle);

    // The same inside a transaction that is dropped too: its ROLLBACK follows the batch.
    locker.batch_execute(&lock).await.unwrap();
    let mut tx = conn.begin().await.unwrap();
    let r = tokio::time::timeout(mid_batch, tx.execute_many(insert, many_rows(1_000_000))).await;
    assert!(
        r.is_err(),
        "the batch cannot finish while the table is locked"
    );
    drop(tx);
    locker.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(count(&mut conn, &t).await, 0);
    assert_eq!(conn.transaction_status(), TransactionStatus::Idle);

    // command_timeout: the batch is cancelled and the connection comes back in sync.
    let options = options_for(s, roles::SUPERUSER, SslMode::Disable)
        .command_timeout(Duration::from_millis(300));
    let mut slow = Connection::connect_with(&options).await.unwrap();
    locker.batch_execute(&lock).await.unwrap();
    let err = slow
        .execute_many(insert, many_rows(1_000_000))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    locker.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(count(&mut slow, &t).await, 0);
    assert!(slow.is_idle());
}

// --- Timeouts, cancellation and dropped futures ---------------------------------------

#[tokio::test]
async fn ten_thousand_random_timeouts_never_mix_up_results() {
    let _memory = support::memory_shared().await;
    const ITERATIONS: u64 = 10_000;
    const TIME_LIMIT: Duration = Duration::from_secs(120);
    let mut rng = Rng::from_env("ten_thousand_random_timeouts_never_mix_up_results");
    let mut conn = connect(server()).await;
    let started = Instant::now();
    let (mut completed, mut dropped) = (0u64, 0u64);
    for i in 0..ITERATIONS {
        let i = i64::try_from(i).unwrap();
        let sleep = f64::from(u32::try_from(rng.below(1500)).unwrap()) / 1e6; // 0 to 1.5 ms
        let limit = Duration::from_micros(rng.below(2000));
        let q = query_as::<(i64, String)>("SELECT $1::int8, pg_sleep($2)::text")
            .bind(i)
            .bind(sleep)
            .fetch_one(&mut conn);
        match tokio::time::timeout(limit, q).await {
            Ok(r) => {
                let (v, _) = r.unwrap_or_else(|e| panic!("iteration {i}: {e}"));
                assert_eq!(v, i, "iteration {i} got another query's result");
                completed += 1;
            }
            Err(_) => dropped += 1,
        }
        if started.elapsed() > TIME_LIMIT {
            // Bounded in time as well as in count; a slow machine runs fewer.
            eprintln!("stopping after {} iterations: {TIME_LIMIT:?} spent", i + 1);
            break;
        }
    }
    eprintln!(
        "{completed} completed, {dropped} dropped in {:?}",
        started.elapsed()
    );
    assert!(
        dropped > 0 && completed > 0,
        "{completed} completed, {dropped} dropped"
    );
    let v: i64 = query_scalar("SELECT $1::int8")
        .bind(-1i64)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(v, -1);
    assert!(conn.is_idle());
    assert_eq!(server_statements(&mut conn).await.len(), 2);
}

#[tokio::test]
async fn query_timeout_and_command_timeout() {
    let _memory = support::memory_shared().await;
    let s = server();
    let mut conn = connect(s).await;
    let err = query("SELECT pg_sleep(30)")
        .timeout(Duration::from_millis(100))
        .execute(&mut conn)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(!conn.is_closed());
    let one: i32 = query_scalar("SELECT 1").fetch_one(&mut conn).await.unwrap();
    assert_eq!(one, 1);
    // A per-query timeout that is long enough changes nothing.
    let v: i32 = query_scalar("SELECT 2")
        .timeout(Duration::from_secs(30))
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(v, 2);

    let opts = options_for(s, roles::SUPERUSER, SslMode::Require)
        .command_timeout(Duration::from_millis(100));
    let mut conn = Connection::connect_with(&opts).await.unwrap();
    for attempt in 0..3 {
        let err = query("SELECT pg_sleep(30)")
            .execute(&mut conn)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Timeout, "attempt {attempt}: {err}");
        let err = conn.batch_execute("SELECT pg_sleep(30)").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Timeout, "attempt {attempt}: {err}");
        let one: i32 = query_scalar("SELECT 1").fetch_one(&mut conn).await.unwrap();
        assert_eq!(one, 1);
    }
    // A query's own timeout overrides command_timeout.
    let v: i32 = query_scalar("SELECT 3 FROM pg_sleep(0.3)")
        .timeout(Duration::from_secs(30))
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(v, 3);
    assert!(conn.is_idle());
}

/// asyncpg's test_timeout_05: a timeout so short that the cancel races the query's
/// completion, then `SELECT 1` on the same connection must return 1, never 57014.
#[tokio::test]
async fn cancel_races_never_hit_the_next_query() {
    let _memory = support::memory_shared().await;
    let mut rng = Rng::from_env("cancel_races_never_hit_the_next_query");
    let mut conn = connect(server()).await;
    let (mut timed_out, mut finished) = (0, 0);
    for i in 0..500 {
        let limit = Duration::from_micros(rng.below(1500));
        match query("SELECT pg_sleep(0.0005)")
            .timeout(limit)
            .execute(&mut conn)
            .await
        {
            Ok(_) => finished += 1,
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::Timeout, "iteration {i}: {e}");
                timed_out += 1;
            }
        }
        let one: i32 = query_scalar("SELECT 1")
            .fetch_one(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("iteration {i}: SELECT 1 failed: {e}"));
        assert_eq!(one, 1);
    }
    eprintln!("{timed_out} timed out, {finished} finished");
    assert!(timed_out > 0, "no timeout fired");
    assert!(conn.is_idle());
}

#[tokio::test]
async fn a_dropped_stream_then_a_new_query() {
    let _memory = support::memory_shared().await;
    let mut conn = connect(server()).await;
    for take in [0, 1, 10, 5000] {
        {
            let mut stream = query("SELECT g, repeat('x', 100) FROM generate_series(1, 100000) g")
                .fetch(&mut conn);
            for expected in 1..=take {
                let row: Row = stream.next().await.unwrap().unwrap();
                assert_eq!(row.get::<i32, _>(0), expected);
            }
        }
        assert!(conn.has_pending_work() || take == 0);
        let v: i64 = query_scalar("SELECT $1::int8")
            .bind(42i64)
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(v, 42, "after dropping a stream at row {take}");
        assert!(conn.is_idle());
    }
}

/// Polls a future at most `polls` times, then drops it (tokio-postgres' `Cancellable`).
struct PollLimit<F> {
    inner: Pin<Box<F>>,
    polls_left: usize,
}

impl<F: Future> Future for PollLimit<F> {
    type Output = Option<F::Output>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if self.polls_left == 0 {
            return Poll::Ready(None);
        }
        self.polls_left -= 1;
        match self.inner.as_mut().poll(cx) {
            Poll::Ready(v) => Poll::Ready(Some(v)),
            Poll::Pending => {
                // Come back soon, so the sweep moves on.
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        }
    }
}

#[tokio::test]
async fn a_future_dropped_before_it_is_sent_does_not_run() {
    let _memory = support::memory_shared().await;
    let mut conn = connect(server()).await;
    let t = table(&mut conn, "id int4").await;
    let insert = format!("INSERT INTO {t} VALUES ($1)");
    // Never polled: nothing is sent.
    let fut = query(sql(insert.clone())).bind(1i32).execute(&mut conn);
    drop(fut);
    assert_eq!(count(&mut conn, &t).await, 0);
    // Dropped after n polls, for every n until it completes: it runs at most once, and
    // the next query gets its own result.
    let mut inserted = 0;
    for polls in 0..200 {
        let fut = query(sql(insert.clone())).bind(polls).execute(&mut conn);
        let done = PollLimit {
            inner: Box::pin(fut),
            polls_left: usize::try_from(polls).unwrap(),
        }
        .await;
        let v: i64 = query_scalar("SELECT $1::int8")
            .bind(i64::from(polls))
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(v, i64::from(polls));
        let here: i64 = query_scalar(sql(format!("SELECT count(*) FROM {t} WHERE id = $1")))
            .bind(polls)
            .fetch_one(&mut conn)
            .await
            .unwrap();
        match done {
            Some(r) => {
                assert_eq!(r.unwrap(), 1);
                assert_eq!(here, 1);
                inserted += 1;
                break;
            }
            None if polls == 0 => assert_eq!(here, 0, "a future never polled ran"),
            None => assert!(here <= 1),
        }
    }
    assert_eq!(inserted, 1, "the insert never completed within 200 polls");
}

// --- NUL bytes and SQL text ----------------------------------------------------------

#[tokio::test]
async fn nul_bytes_fail_before_reaching_the_server() {
    let _memory = support::memory_shared().await;
    let s = server();
    let mut conn = connect(s).await;
    let mut observer = connect(s).await;
    let pid = conn.backend_pid();
    async fn last_query(observer: &mut Connection, pid: i32) -> String {
        query_scalar::<String>("SELECT query FROM pg_stat_activity WHERE pid = $1")
            .bind(pid)
            .fetch_one(observer)
            .await
            .unwrap()
    }
    query("SELECT 'marker-before-nul'")
        .execute(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        last_query(&mut observer, pid).await,
        "SELECT 'marker-before-nul'"
    );

    let err = query(AssertSqlSafe("SELECT 'a\0b'"))
        .execute(&mut conn)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Encode, "{err}");
    let err = query("SELECT $1::text")
        .bind("a\0b")
        .fetch_one(&mut conn)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Encode, "{err}");
    assert!(err.to_string().contains("$1"), "{err}");
    let err = conn.batch_execute("SELECT 'a\0b'").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Encode, "{err}");
    let err = conn
        .prepare(AssertSqlSafe("SELECT '\0'"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Encode, "{err}");
    // No round trip: the server's last query is still the marker.
    assert_eq!(
        last_query(&mut observer, pid).await,
        "SELECT 'marker-before-nul'"
    );
    // And the connection is usable.
    let v: String = query_scalar("SELECT $1::text")
        .bind("a b")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(v, "a b");
    assert!(conn.is_idle());
}

#[tokio::test]
async fn runtime_sql_needs_assert_sql_safe() {
    let _memory = support::memory_shared().await;
    // `query(String)` does not compile (see the compile_fail example on `query`); this
    // checks that wrapped runtime text runs, with values still bound.
    let mut conn = connect(server()).await;
    let column = quarry::query::quote_identifier("we\"ird");
    let text = format!("SELECT $1::int4 AS {column}");
    let row = query(AssertSqlSafe(text))
        .bind(5i32)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(row.get::<i32, _>("we\"ird"), 5);
}

/// Every query future can run in a spawned task (it is `Send` for any connection
/// lifetime: the "Executor is not general enough" error must not come back).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_run_in_spawned_tasks() {
    let _memory = support::memory_shared().await;
    let opts = options_for(server(), roles::SUPERUSER, SslMode::Disable);
    let task = tokio::spawn(async move {
        let mut conn = Connection::connect_with(&opts).await?;
        let a = query("SELECT 1").execute(&mut conn).await?;
        let b = query("SELECT 1").fetch_all(&mut conn).await?.len();
        let c: i32 = query("SELECT 1").fetch_one(&mut conn).await?.get(0);
        let d = query("SELECT 1").fetch_optional(&mut conn).await?.is_some();
        let e: (i32,) = query_as("SELECT 1").fetch_one(&mut conn).await?;
        let f: Vec<(i32,)> = query_as("SELECT 1").fetch_all(&mut conn).await?;
        let g: Option<(i32,)> = query_as("SELECT 1").fetch_optional(&mut conn).await?;
        let h: i32 = query_scalar("SELECT 1").fetch_one(&mut conn).await?;
        let i: Vec<i32> = query_scalar("SELECT 1").fetch_all(&mut conn).await?;
        let j: Option<i32> = query_scalar("SELECT 1").fetch_optional(&mut conn).await?;
        let k = query("SELECT 1").fetch(&mut conn).count().await;
        let l = query_scalar::<i32>("SELECT 1")
            .fetch(&mut conn)
            .count()
            .await;
        let m = query_as::<(i32,)>("SELECT 1")
            .fetch(&mut conn)
            .count()
            .await;
        let st = conn.prepare("SELECT 1").await?;
        let n: i32 = st.query().fetch_one(&mut conn).await?.get(0);
        let mut p = conn.pipeline();
        p.push(query("SELECT 1"));
        let o = p.run().await?.len();
        conn.batch_execute("SELECT 1").await?;
        Ok::<_, quarry::Error>((
            (a, b, c, d, e.0, f.len(), g.is_some()),
            (h, i.len(), j, k, l, m, n, o),
        ))
    });
    let got = task.await.unwrap().unwrap();
    assert_eq!(
        got,
        ((1, 1, 1, true, 1, 1, true), (1, 1, Some(1), 1, 1, 1, 1, 1))
    );
}

// --- PgBouncer ----------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pgbouncer_transaction_mode_with_unnamed_statements() {
    let _memory = support::memory_shared().await;
    const CLIENTS: i64 = 16;
    const QUERIES: i64 = 300;
    let s = server();
    let bouncer = PgBouncer::start(s);
    let opts = ConnectOptions::new()
        .host("127.0.0.1")
        .port(bouncer.port)
        .user("postgres")
        .dbname("postgres")
        .ssl_mode(SslMode::Disable)
        .statement_cache_capacity(0)
        .connect_timeout(Duration::from_secs(10));
    let mut setup = match Connection::connect_with(&opts).await {
        Ok(c) => c,
        Err(e) => panic!(
            "connect through pgbouncer: {e}\npgbouncer log:\n{}",
            bouncer.log()
        ),
    };
    let t = table(&mut setup, "client int8, n int8").await;
    let mut tasks = Vec::new();
    for client in 0..CLIENTS {
        let opts = opts.clone();
        let insert = format!("INSERT INTO {t} VALUES ($1, $2)");
        tasks.push(tokio::spawn(async move {
            let mut conn = Connection::connect_with(&opts).await?;
            for n in 0..QUERIES {
                // Alternate statement shapes so server connections see many texts.
                match n % 3 {
                    0 => {
                        let (c, v): (i64, String) = query_as("SELECT $1::int8, $2::text")
                            .bind(client)
                            .bind(format!("v{n}"))
                            .fetch_one(&mut conn)
                            .await?;
                        assert_eq!((c, v), (client, format!("v{n}")));
                    }
                    1 => {
                        query(AssertSqlSafe(insert.clone()))
                            .bind(client)
                            .bind(n)
                            .execute(&mut conn)
                            .await?;
                    }
                    _ => {
                        let v: i64 = query_scalar("SELECT $1::int8 + 1")
                            .bind(n)
                            .fetch_one(&mut conn)
                            .await?;
                        assert_eq!(v, n + 1);
                    }
                }
            }
            Ok::<_, quarry::Error>(())
        }));
    }
    let mut errors = Vec::new();
    for task in tasks {
        if let Err(e) = task.await.unwrap() {
            errors.push(e.to_string());
        }
    }
    assert!(
        errors.is_empty(),
        "{errors:#?}\npgbouncer log:\n{}",
        bouncer.log()
    );
    let inserted = count(&mut setup, &t).await;
    assert_eq!(inserted, CLIENTS * QUERIES.div_euclid(3));
}

/// One client's view of the mixed PgBouncer workload: how many answers were right, how
/// many wrong (never allowed), and the errors.
#[derive(Default)]
struct Tally {
    right: u64,
    wrong: Vec<String>,
    errors: Vec<String>,
}

impl Tally {
    fn check<T: PartialEq + std::fmt::Debug>(
        &mut self,
        what: &str,
        got: quarry::Result<T>,
        want: T,
    ) {
        match got {
            Ok(v) if v == want => self.right += 1,
            Ok(v) => self.wrong.push(format!("{what}: got {v:?}, want {want:?}")),
            Err(e) => self.errors.push(format!("{what}: {e}")),
        }
    }
}

/// The mixed workload of one client of the PgBouncer test: statements that differ only in
/// what they compute (a Bind reaching the other one's statement would give a wrong
/// answer), transactions whose queries reuse cached statements, statements prepared by
/// hand, dynamic SQL and an atomic pipeline. Every answer is checked.
async fn pooler_workload(pool: quarry::Pool, table: String, client: i64, rounds: i64) -> Tally {
    let mut tally = Tally::default();
    for n in 0..rounds {
        let k = client * 1_000_000 + n;
        let kinds: i64 = std::env::var("PGB_KINDS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(6);
        match n % kinds {
            0 => {
                let got = query_scalar::<i64>("SELECT $1::int8 + 1")
                    .bind(k)
                    .fetch_one(&pool)
                    .await;
                tally.check("SELECT $1 + 1", got, k + 1);
            }
            1 => {
                let got = query_scalar::<i64>("SELECT $1::int8")
                    .bind(k)
                    .fetch_one(&pool)
                    .await;
                tally.check("SELECT $1", got, k);
            }
            2 => {
                let got = query_as::<(i64, String)>("SELECT $1::int8 * 2, $2::text || '!'")
                    .bind(k)
                    .bind(format!("c{client}"))
                    .fetch_one(&pool)
                    .await;
                tally.check("SELECT $1 * 2, $2", got, (k * 2, format!("c{client}!")));
            }
            3 => {
                // A transaction whose statements were cached by earlier transactions, which
                // PgBouncer ran on other server sessions.
                let got = async {
                    let mut conn = pool.acquire().await?;
                    let mut tx = conn.begin().await?;
                    query(sql(format!("INSERT INTO {table} VALUES ($1, $2)")))
                        .bind(client)
                        .bind(k)
                        .execute(&mut *tx)
                        .await?;
                    let plus: i64 = query_scalar("SELECT $1::int8 + 1")
                        .bind(k)
                        .fetch_one(&mut *tx)
                        .await?;
                    let mine: i64 = query_scalar(sql(format!(
                        "SELECT count(*) FROM {table} WHERE client = $1"
                    )))
                    .bind(client)
                    .fetch_one(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    Ok::<_, quarry::Error>((plus, mine))
                }
                .await;
                // This client's rows: one per transaction of its own that committed.
                let earlier = i64::try_from((0..n).filter(|i| i % 6 == 3).count()).unwrap();
                match got {
                    Ok((plus, mine)) if plus == k + 1 && (1..=earlier + 1).contains(&mine) => {
                        tally.right += 1
                    }
                    Ok(v) => tally.wrong.push(format!("transaction: got {v:?} for {k}")),
                    Err(e) => tally.errors.push(format!("transaction: {e}")),
                }
            }
            4 => {
                // A statement prepared by hand, run later on whatever session answers.
                let got = async {
                    let mut conn = pool.acquire().await?;
                    let stmt = conn.prepare("SELECT $1::int8 - 1 AS minus").await?;
                    tokio::task::yield_now().await;
                    stmt.query()
                        .bind(k)
                        .fetch_one(&mut *conn)
                        .await
                        .map(|r| r.get::<i64, _>(0))
                }
                .await;
                tally.check("prepared SELECT $1 - 1", got, k - 1);
            }
            _ => {
                let got = query_scalar::<i64>(sql(format!("SELECT {k}::int8 * 3")))
                    .fetch_one(&pool)
                    .await;
                tally.check("dynamic SQL", got, k * 3);
                let got = async {
                    let mut conn = pool.acquire().await?;
                    let mut p = conn.pipeline();
                    p.push(query("SELECT $1::int8").bind(k));
                    p.push(query("SELECT $1::int8 + 1").bind(k));
                    let results = p.run().await?;
                    let mut out = Vec::new();
                    for r in results {
                        out.push(r.rows[0].get::<i64, _>(0));
                    }
                    Ok::<_, quarry::Error>(out)
                }
                .await;
                tally.check("pipeline", got, vec![k, k + 1]);
            }
        }
    }
    tally
}

/// Issue 14: behind PgBouncer in transaction mode, with default options (the statement
/// cache on), no query ever returns another query's result. The first time a connection
/// finds a statement it prepared missing on the server session that answers, it switches
/// to unnamed statements (as does every connection to that PgBouncer in this process),
/// retries the query when outside a transaction, and says so; an error that still reaches
/// the caller (inside a transaction) names the pooler and `statement_cache_capacity`. Once
/// detected, nothing fails. Before, 12 of 1,000 answers were another client's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pgbouncer_transaction_mode_with_default_options() {
    let _memory = support::memory_shared().await;
    const CLIENTS: i64 = 16;
    const ROUNDS: i64 = 66; // 16 x 66 x ~1.2 > 1,000 checked answers per phase
    let s = server();
    let bouncer = PgBouncer::start(s);
    let url = format!(
        "postgres://postgres@127.0.0.1:{}/postgres?sslmode=disable&connect_timeout=10",
        bouncer.port
    );
    let pool = quarry::PoolOptions::new()
        .max_connections(usize::try_from(CLIENTS).unwrap())
        .connect(&url)
        .await
        .unwrap_or_else(|e| panic!("pool through pgbouncer: {e}\n{}", bouncer.log()));
    let t = unique("t");
    pool.acquire()
        .await
        .unwrap()
        .batch_execute(&format!("CREATE TABLE {t} (client int8, n int8)"))
        .await
        .unwrap();

    let mut phases = Vec::new();
    for phase in 0..2 {
        let mut tasks = Vec::new();
        for client in 0..CLIENTS {
            let pool = pool.clone();
            let t = t.clone();
            let client = client + phase * CLIENTS;
            tasks.push(tokio::spawn(pooler_workload(pool, t, client, ROUNDS)));
        }
        let mut total = Tally::default();
        for task in tasks {
            let tally = task.await.unwrap();
            total.right += tally.right;
            total.wrong.extend(tally.wrong);
            total.errors.extend(tally.errors);
        }
        phases.push(total);
    }
    for (i, phase) in phases.iter().enumerate() {
        eprintln!(
            "pgbouncer phase {i}: {} right, {} wrong, {} errors",
            phase.right,
            phase.wrong.len(),
            phase.errors.len()
        );
        assert!(
            phase.wrong.is_empty(),
            "wrong results in phase {i}: {:#?}\nerrors: {:#?}",
            phase.wrong,
            phase.errors
        );
        assert!(
            phase.right >= 1_000,
            "phase {i}: only {} answers",
            phase.right
        );
    }
    // Before detection, only a query inside a transaction may fail, and it says why.
    for e in &phases[0].errors {
        eprintln!("phase 0 error: {e}");
        assert!(
            e.contains("pooler in transaction mode") && e.contains("statement_cache_capacity=0"),
            "an error that does not explain itself: {e}"
        );
    }
    assert!(
        phases[1].errors.is_empty(),
        "errors after detection: {:#?}\npgbouncer log:\n{}",
        phases[1].errors,
        bouncer.log()
    );
}

/// Issue 14, another member of the family the cursor fix belongs to (binding a named
/// statement on a connection that did not prepare it): a `Statement` prepared on one
/// connection, pushed into a pipeline (atomic and independent) on another, runs by its
/// SQL there, next to that connection's own cached statements.
#[tokio::test]
async fn a_pipeline_runs_another_connections_statement_by_its_sql() {
    let _memory = support::memory_shared().await;
    let mut a = connect(server()).await;
    let mut b = connect(server()).await;
    let on_b: i32 = query_scalar("SELECT 7").fetch_one(&mut b).await.unwrap();
    assert_eq!(on_b, 7);
    let stmt = a.prepare("SELECT $1::int4 + 1").await.unwrap();
    assert!(stmt.is_named());
    for atomic in [true, false] {
        let mut p = b.pipeline().independent(!atomic);
        p.push(query("SELECT 7"));
        p.push(stmt.query().bind(1i32));
        p.push(stmt.query().bind(41i32));
        let results = p.run().await.unwrap();
        let values: Vec<i32> = results.iter().map(|r| r.rows[0].get(0)).collect();
        assert_eq!(values, [7, 2, 42], "atomic: {atomic}");
    }
}

/// Issue 4, observability: a span per query with its SQL and row count, a slow-query
/// warning, and a query logger seeing SQL, duration, rows and errors; never a bound value.
///
/// Runs in a child process of its own: `tracing` caches, per call site and process-wide,
/// whether anyone listens, and the other tests of this binary (running in parallel with no
/// subscriber) can leave the span's call site cached as unwatched for this thread's
/// subscriber.
#[test]
fn queries_are_observed_without_their_bound_values() {
    const CHILD: &str = "QUARRY_OBSERVE_CHILD";
    if std::env::var_os(CHILD).is_some() {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(observed_queries());
        return;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "queries_are_observed_without_their_bound_values",
            "--nocapture",
        ])
        .env(CHILD, "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the observed-queries child failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("1 passed"),
        "the child ran no test:\n{stdout}"
    );
}

async fn observed_queries() {
    use std::sync::{Arc, Mutex};
    const SECRET: &str = "observed-sentinel-4242";
    let capture = support::Capture::default();
    let _guard = capture.install();
    let options = options_for(server(), roles::TRUST, SslMode::Disable)
        .slow_query_threshold(Duration::from_millis(20));
    let mut conn = Connection::connect_with(&options).await.unwrap();
    /// SQL, rows, failed, elapsed.
    type Logged = Vec<(String, u64, bool, Duration)>;
    let logged: Arc<Mutex<Logged>> = Arc::default();
    let sink = logged.clone();
    conn.set_query_logger(move |log| {
        sink.lock().unwrap().push((
            log.sql().to_owned(),
            log.rows(),
            log.error().is_some(),
            log.elapsed(),
        ));
    });

    let rows = query("SELECT $1::text AS s, g FROM generate_series(1, 3) g, pg_sleep(0.05)")
        .bind(SECRET)
        .fetch_all(&mut conn)
        .await
        .unwrap();
    assert_eq!(rows.len(), 3);
    query("SELECT $1::int4 / 0")
        .bind(1i32)
        .execute(&mut conn)
        .await
        .unwrap_err();
    let streamed = query("SELECT g FROM generate_series(1, 5) g")
        .fetch(&mut conn)
        .collect::<Vec<_>>()
        .await;
    assert_eq!(streamed.len(), 5);
    conn.execute_many(
        "SELECT $1::text",
        [(SECRET.to_owned(),), (SECRET.to_owned(),)],
    )
    .await
    .unwrap();

    let logged = logged.lock().unwrap().clone();
    let sqls: Vec<&str> = logged.iter().map(|(s, ..)| s.as_str()).collect();
    assert_eq!(
        sqls,
        [
            "SELECT $1::text AS s, g FROM generate_series(1, 3) g, pg_sleep(0.05)",
            "SELECT $1::int4 / 0",
            "SELECT g FROM generate_series(1, 5) g",
            "SELECT $1::text",
        ]
    );
    assert_eq!(logged[0].1, 3, "rows of the first query");
    assert!(
        logged[0].3 >= Duration::from_millis(50),
        "{:?}",
        logged[0].3
    );
    assert!(
        !logged[0].2 && logged[1].2,
        "only the division by zero failed"
    );
    assert_eq!(logged[2].1, 5, "streamed rows are counted");

    let events = capture.events();
    let slow: Vec<_> = events
        .iter()
        .filter(|e| e.text.contains("slow query"))
        .collect();
    assert!(
        slow.iter()
            .any(|e| e.level == tracing::Level::WARN && e.text.contains("pg_sleep(0.05)")),
        "no slow-query warning: {events:?}"
    );
    let spans = capture.spans();
    assert!(
        spans.iter().any(|s| s.starts_with("query")
            && s.contains("generate_series(1, 3)")
            && s.contains("rows=3")),
        "no query span with its SQL and rows: {spans:?}"
    );
    for text in events.iter().map(|e| &e.text).chain(spans.iter()) {
        assert!(!text.contains(SECRET), "a bound value was logged: {text}");
    }
}

/// A prepared statement runs by name only on the connection that prepared it (named
/// statements exist in one session); elsewhere it runs by its SQL. Statements from
/// `prepare` live in the cache and are closed when it evicts them.
#[tokio::test]
async fn prepared_statements_belong_to_their_connection() {
    let mut a = connect(server()).await;
    let mut b = connect(server()).await;
    // b's first cached statement gets the same server-side name as a's first one.
    let on_b: i32 = query_scalar("SELECT 7").fetch_one(&mut b).await.unwrap();
    assert_eq!(on_b, 7);
    let stmt = a.prepare("SELECT $1::int4 + 1").await.unwrap();
    assert!(stmt.is_named());
    let on_a: i32 = stmt
        .query()
        .bind(1i32)
        .fetch_one(&mut a)
        .await
        .unwrap()
        .get(0);
    let on_other: i32 = stmt
        .query()
        .bind(1i32)
        .fetch_one(&mut b)
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        (on_a, on_other),
        (2, 2),
        "b ran its own statement of the same name"
    );

    // prepare() fills the cache like queries do: with capacity 2, older ones are closed.
    let options = options_for(server(), roles::TRUST, SslMode::Disable).statement_cache_capacity(2);
    let mut c = Connection::connect_with(&options).await.unwrap();
    let mut kept = Vec::new();
    for i in 0..5 {
        let sql = format!("SELECT {i}::int4 AS n");
        kept.push(c.prepare(AssertSqlSafe(sql)).await.unwrap());
    }
    let on_server: i64 =
        query_scalar("SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'q%'")
            .fetch_one(&mut c)
            .await
            .unwrap();
    assert!(on_server <= 3, "{on_server} statements left on the server");
    // An evicted statement still runs (by its SQL).
    let n: i32 = kept[0].query().fetch_one(&mut c).await.unwrap().get(0);
    assert_eq!(n, 0);
}

/// `.timeout` and `command_timeout` cover streams (up to the first row), pipelines and
/// `prepare` too; the connection stays usable after each.
#[tokio::test]
async fn timeouts_cover_streams_pipelines_and_prepare() {
    let mut conn = connect(server()).await;
    let started = Instant::now();
    let mut rows = query("SELECT pg_sleep(5)")
        .timeout(Duration::from_millis(200))
        .fetch(&mut conn);
    let first = rows.next().await.expect("an item");
    drop(rows);
    assert_eq!(first.unwrap_err().kind(), ErrorKind::Timeout);
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    let v: i32 = query_scalar("SELECT 1").fetch_one(&mut conn).await.unwrap();
    assert_eq!(v, 1);

    let started = Instant::now();
    let mut p = conn.pipeline();
    p.push(query("SELECT 1"));
    p.push(query("SELECT pg_sleep(5)").timeout(Duration::from_millis(200)));
    let err = p.run().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );

    let options = options_for(server(), roles::TRUST, SslMode::Disable)
        .command_timeout(Duration::from_millis(200));
    let mut slow = Connection::connect_with(&options).await.unwrap();
    let err = slow
        .execute_many("SELECT pg_sleep(5) WHERE $1", [(true,)])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout);
    let v: i32 = query_scalar("SELECT 2").fetch_one(&mut slow).await.unwrap();
    assert_eq!(v, 2);
}
