//! COPY in and out: typed binary, raw, the asyncpg-style helpers, and faults.

use bytes::Bytes;
use futures_util::StreamExt;
use quarry_driver::CopyRow;
use quarry_driver::copy::RowEncoder;
use quarry_driver::types::{EncodeError, Type, TypeInfo, TypeRef};
use quarry_driver::{AssertSqlSafe, Connection, CopyFormat, TransactionStatus, query_scalar};

use crate::{Cancellable, connect, unique};

async fn table(conn: &mut Connection, prefix: &str, columns: &str) -> String {
    let name = unique(prefix);
    conn.batch_execute(&format!("CREATE TABLE {name} ({columns})"))
        .await
        .unwrap();
    name
}

async fn count(conn: &mut Connection, table: &str) -> i64 {
    query_scalar(AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
        .fetch_one(conn)
        .await
        .unwrap()
}

async fn assert_usable(conn: &mut Connection) {
    let one: i32 = query_scalar("SELECT 1")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(one, 1);
    assert_eq!(conn.transaction_status(), TransactionStatus::Idle);
    assert!(conn.is_idle());
}

fn row(i: i64) -> (i64, String, f64) {
    (i, format!("row {i}"), i as f64 * 0.5)
}

#[tokio::test]
async fn a_million_rows_in_and_out() {
    const N: i64 = 1_000_000;
    let mut conn = connect().await;
    let t = table(&mut conn, "copy_million", "a int8, b text, c float8").await;
    let started = std::time::Instant::now();
    let mut w = conn
        .copy_in::<(i64, String, f64)>(&format!("COPY {t} (a, b, c) FROM STDIN BINARY"))
        .await
        .unwrap();
    for i in 0..N {
        w.write(row(i)).await.unwrap();
    }
    assert_eq!(w.finish().await.unwrap(), 1_000_000);
    eprintln!("COPY IN of {N} rows: {:?}", started.elapsed());

    let check: (i64, i64, i64, f64, bool) = quarry_driver::query_as(AssertSqlSafe(format!(
        "SELECT count(*), sum(a)::int8, sum(length(b))::int8, sum(c), \
         bool_and(b = 'row ' || a AND c = a * 0.5) FROM {t}"
    )))
    .fetch_one(&mut conn)
    .await
    .unwrap();
    let len_sum: i64 = (0..N)
        .map(|i| i64::try_from(format!("row {i}").len()).unwrap())
        .sum();
    assert_eq!(check.0, N);
    assert_eq!(check.1, N * (N - 1) / 2);
    assert_eq!(check.2, len_sum);
    assert_eq!(check.3, (N * (N - 1) / 2) as f64 * 0.5);
    assert!(check.4);

    let started = std::time::Instant::now();
    let mut r = conn
        .copy_out::<(i64, String, f64)>(&format!(
            "COPY (SELECT a, b, c FROM {t} ORDER BY a) TO STDOUT BINARY"
        ))
        .await
        .unwrap();
    let mut i = 0;
    while let Some(got) = r.read().await.unwrap() {
        if got != row(i) {
            panic!("row {i}: {got:?}");
        }
        i += 1;
    }
    assert_eq!(i, N);
    assert_eq!(r.rows_copied(), Some(1_000_000));
    eprintln!("COPY OUT of {N} rows: {:?}", started.elapsed());
    assert_usable(&mut conn).await;
}

struct Item {
    id: i32,
    name: Option<String>,
}

impl CopyRow for Item {
    const COLUMNS: usize = 2;
    fn column_types() -> Vec<TypeRef> {
        vec![i32::type_ref(), String::type_ref()]
    }
    fn compatible(column: usize, ty: &TypeInfo) -> bool {
        match column {
            0 => i32::compatible(ty),
            1 => String::compatible(ty),
            _ => false,
        }
    }
    fn encode_row(&self, row: &mut RowEncoder<'_>) -> Result<(), EncodeError> {
        row.field(&self.id)?;
        row.field(&self.name)
    }
}

#[tokio::test]
async fn rows_to_table_structs_nulls_and_type_checks() {
    let mut conn = connect().await;
    let t = table(
        &mut conn,
        "copy_items",
        "id int4, \"Name\" text, extra int8 DEFAULT 9",
    )
    .await;
    let items = vec![
        Item {
            id: 1,
            name: Some("one".into()),
        },
        Item { id: 2, name: None },
    ];
    let n = conn
        .copy_rows_to_table(&t, &["id", "Name"], &items)
        .await
        .unwrap();
    assert_eq!(n, 2);
    let rows: Vec<(i32, Option<String>, i64)> = quarry_driver::query_as(AssertSqlSafe(format!(
        "SELECT id, \"Name\", extra FROM {t} ORDER BY id"
    )))
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert_eq!(rows, vec![(1, Some("one".into()), 9), (2, None, 9)]);

    // i64 into an int4 column is refused before any data goes out.
    let err = conn
        .copy_rows_to_table(&t, &["id", "Name"], vec![(5i64, "x")])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("column \"id\""), "{err}");
    // So is a wrong column count.
    let err = conn
        .copy_rows_to_table(&t, &[], vec![(5i32, "x")])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("3 columns"), "{err}");
    let err = conn
        .copy_in::<(i32,)>(&format!("COPY {t} (id, \"Name\") FROM STDIN BINARY"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("2 columns"), "{err}");
    let err = conn
        .copy_in::<(i32,)>(&format!("COPY {t} (id) FROM STDIN"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("binary"), "{err}");
    assert_eq!(count(&mut conn, &t).await, 2);
    assert_usable(&mut conn).await;
}

#[tokio::test]
async fn raw_in_from_buffer_stream_and_file() {
    let mut conn = connect().await;
    let t = table(&mut conn, "copy_raw", "a int, b text").await;
    let mut c = conn
        .copy_in_raw(&format!("COPY {t} FROM STDIN"))
        .await
        .unwrap();
    assert!(!c.is_binary());
    assert_eq!(c.column_count(), 2);
    c.send("1\tone\n2\t").await.unwrap();
    c.send(b"\\N\n").await.unwrap();
    assert_eq!(c.finish().await.unwrap(), 2);

    let mut c = conn
        .copy_in_raw(&format!("COPY {t} FROM STDIN (FORMAT csv)"))
        .await
        .unwrap();
    let chunks = vec![
        Ok::<_, std::io::Error>(Bytes::from_static(b"3,\"th")),
        Ok(Bytes::from_static(b"ree, with comma\"\n4,four\n")),
    ];
    c.send_stream(futures_util::stream::iter(chunks))
        .await
        .unwrap();
    assert_eq!(c.finish().await.unwrap(), 2);

    let path = std::env::temp_dir().join(format!("{}.csv", unique("copy_file")));
    let mut data = String::new();
    for i in 5..1005 {
        data.push_str(&format!("{i},file {i}\n"));
    }
    std::fs::write(&path, &data).unwrap();
    let file = tokio::fs::File::open(&path).await.unwrap();
    let n = conn
        .copy_to_table(&t, &["a", "b"], CopyFormat::Csv, file)
        .await
        .unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(n, 1000);

    let rows: Vec<(i32, Option<String>)> = quarry_driver::query_as(AssertSqlSafe(format!(
        "SELECT a, b FROM {t} WHERE a <= 5 ORDER BY a"
    )))
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert_eq!(
        rows,
        vec![
            (1, Some("one".into())),
            (2, None),
            (3, Some("three, with comma".into())),
            (4, Some("four".into())),
            (5, Some("file 5".into())),
        ]
    );
    assert_usable(&mut conn).await;
}

#[tokio::test]
async fn raw_out_stream_writer_and_helpers() {
    let mut conn = connect().await;
    let t = table(&mut conn, "copy_out", "a int, b text").await;
    conn.batch_execute(&format!(
        "INSERT INTO {t} SELECT i, 'v' || i FROM generate_series(1, 3) i"
    ))
    .await
    .unwrap();

    let c = conn
        .copy_out_raw(&format!("COPY {t} TO STDOUT"))
        .await
        .unwrap();
    let chunks: Vec<Bytes> = c.into_stream().map(|c| c.unwrap()).collect().await;
    assert_eq!(chunks.concat(), b"1\tv1\n2\tv2\n3\tv3\n");

    let mut out: Vec<u8> = Vec::new();
    let n = conn
        .copy_from_table(&t, &["b"], CopyFormat::Csv, &mut out)
        .await
        .unwrap();
    assert_eq!(n, 3);
    assert_eq!(out, b"v1\nv2\nv3\n");

    let mut out: Vec<u8> = Vec::new();
    let n = conn
        .copy_from_query(
            AssertSqlSafe(format!("SELECT a * 10, b FROM {t} WHERE a > 1 ORDER BY a")),
            CopyFormat::Csv,
            &mut out,
        )
        .await
        .unwrap();
    assert_eq!(n, 2);
    assert_eq!(out, b"20,v2\n30,v3\n");

    // Binary raw out decodes with the typed reader too.
    let mut r = conn
        .copy_out::<(i32, String)>(&format!("COPY {t} TO STDOUT (FORMAT binary)"))
        .await
        .unwrap();
    assert_eq!(
        r.read_all().await.unwrap(),
        vec![(1, "v1".into()), (2, "v2".into()), (3, "v3".into())]
    );
    let r = conn
        .copy_out::<(i32, String)>(&format!("COPY {t} TO STDOUT (FORMAT binary)"))
        .await
        .unwrap();
    let streamed: Vec<(i32, String)> = r.into_stream().map(|r| r.unwrap()).collect().await;
    assert_eq!(streamed.len(), 3);
    assert_usable(&mut conn).await;
}

#[tokio::test]
async fn fault_abort_with_message() {
    let mut conn = connect().await;
    let t = table(&mut conn, "copy_abort", "a int8, b text, c float8").await;
    let mut w = conn
        .copy_in::<(i64, String, f64)>(&format!("COPY {t} FROM STDIN BINARY"))
        .await
        .unwrap();
    for i in 0..50_000 {
        w.write(row(i)).await.unwrap();
    }
    w.abort("changed my mind").await.unwrap();
    assert_eq!(count(&mut conn, &t).await, 0);
    assert_usable(&mut conn).await;
}

#[tokio::test]
async fn fault_server_error_midway_is_reported_promptly() {
    let mut conn = connect().await;
    let t = table(
        &mut conn,
        "copy_midway",
        "a int8 CHECK (a <> 1000), b text, c float8",
    )
    .await;
    let mut w = conn
        .copy_in::<(i64, String, f64)>(&format!("COPY {t} FROM STDIN BINARY"))
        .await
        .unwrap();
    let mut failed_at = None;
    for i in 0..1_000_000 {
        if let Err(e) = w.write(row(i)).await {
            assert_eq!(e.code().map(|c| c.code()), Some("23514"), "{e}");
            failed_at = Some(i);
            break;
        }
    }
    // The error came back while writing, long before the last row.
    let failed_at = failed_at.expect("the server's error is reported by write()");
    eprintln!("the error for row 1000 was reported while writing row {failed_at}");
    assert!(failed_at < 200_000, "reported only at row {failed_at}");
    drop(w);
    assert_eq!(count(&mut conn, &t).await, 0);
    assert_usable(&mut conn).await;

    // The same when the error is only found at finish.
    let mut w = conn
        .copy_in::<(i64, String, f64)>(&format!("COPY {t} FROM STDIN BINARY"))
        .await
        .unwrap();
    for i in 999..1001 {
        w.write(row(i)).await.unwrap();
    }
    let err = w.finish().await.unwrap_err();
    assert_eq!(err.code().map(|c| c.code()), Some("23514"));
    assert_eq!(count(&mut conn, &t).await, 0);
    assert_usable(&mut conn).await;
}

#[tokio::test]
async fn fault_writer_dropped_without_finish() {
    let mut conn = connect().await;
    let t = table(&mut conn, "copy_dropped", "a int8, b text, c float8").await;
    for rows in [0, 10, 100_000] {
        let mut w = conn
            .copy_in::<(i64, String, f64)>(&format!("COPY {t} FROM STDIN BINARY"))
            .await
            .unwrap();
        for i in 0..rows {
            w.write(row(i)).await.unwrap();
        }
        drop(w);
        assert!(conn.has_pending_work());
        assert_eq!(count(&mut conn, &t).await, 0);
        assert_usable(&mut conn).await;
    }
    // Raw too, and inside a transaction (which the failed COPY then fails).
    let mut tx = conn.begin().await.unwrap();
    {
        let mut c = tx
            .copy_in_raw(&format!("COPY {t} FROM STDIN"))
            .await
            .unwrap();
        c.send("1\tx\t1.0\n").await.unwrap();
    }
    let err = tx.batch_execute("SELECT 1").await.unwrap_err();
    assert_eq!(err.code().map(|c| c.code()), Some("25P02"));
    tx.rollback().await.unwrap();
    assert_eq!(count(&mut conn, &t).await, 0);
    assert_usable(&mut conn).await;
}

#[tokio::test]
async fn fault_source_stream_fails() {
    let mut conn = connect().await;
    let t = table(&mut conn, "copy_badsrc", "a int").await;
    let mut c = conn
        .copy_in_raw(&format!("COPY {t} FROM STDIN"))
        .await
        .unwrap();
    let chunks = vec![
        Ok(Bytes::from_static(b"1\n2\n")),
        Err(std::io::Error::other("disk on fire")),
    ];
    let err = c
        .send_stream(futures_util::stream::iter(chunks))
        .await
        .unwrap_err();
    // The stream's own error is the cause, reachable once: not repeated in `Display`.
    let cause = std::error::Error::source(&err).expect("the stream's error is the source");
    assert_eq!(cause.to_string(), "disk on fire");
    assert!(!err.to_string().contains("disk on fire"), "{err}");
    drop(c);
    assert_eq!(count(&mut conn, &t).await, 0);
    assert_usable(&mut conn).await;
}

#[tokio::test]
async fn fault_cancelled_finish_and_dropped_reader() {
    let mut conn = connect().await;
    let t = table(&mut conn, "copy_cancel", "a int8, b text, c float8").await;
    for polls in 0.. {
        conn.batch_execute(&format!("TRUNCATE {t}")).await.unwrap();
        let mut w = conn
            .copy_in::<(i64, String, f64)>(&format!("COPY {t} FROM STDIN BINARY"))
            .await
            .unwrap();
        for i in 0..1000 {
            w.write(row(i)).await.unwrap();
        }
        let r = Cancellable::new(w.finish(), polls).await;
        let n = count(&mut conn, &t).await;
        assert_usable(&mut conn).await;
        match r {
            Some(r) => {
                assert_eq!(r.unwrap(), 1000);
                assert_eq!(n, 1000);
                break;
            }
            // Cancelled: all rows or none, never a stuck COPY.
            None => assert!(n == 0 || n == 1000, "{n} rows"),
        }
        assert!(polls < 1000);
    }

    conn.batch_execute(&format!(
        "INSERT INTO {t} SELECT i, 'r', 0 FROM generate_series(1, 100000) i"
    ))
    .await
    .unwrap();
    let mut r = conn
        .copy_out::<(i64, String, f64)>(&format!("COPY {t} TO STDOUT BINARY"))
        .await
        .unwrap();
    r.read().await.unwrap().unwrap();
    drop(r);
    assert_usable(&mut conn).await;
    let mut c = conn
        .copy_out_raw(&format!("COPY {t} TO STDOUT"))
        .await
        .unwrap();
    c.next_chunk().await.unwrap().unwrap();
    drop(c);
    assert_usable(&mut conn).await;
}

#[tokio::test]
async fn not_a_copy_or_wrong_direction() {
    let mut conn = connect().await;
    let t = table(&mut conn, "copy_wrong", "a int").await;
    let err = conn.copy_in_raw("SELECT 1").await.unwrap_err();
    assert!(err.to_string().contains("not a COPY"), "{err}");
    let err = conn
        .copy_in_raw(&format!("COPY {t} TO STDOUT"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("copy_out"), "{err}");
    let err = conn
        .copy_out_raw(&format!("COPY {t} FROM STDIN"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("copy_in"), "{err}");
    let err = conn
        .copy_in_raw("COPY no_such_table FROM STDIN")
        .await
        .unwrap_err();
    assert_eq!(err.code().map(|c| c.code()), Some("42P01"));
    let err = conn
        .copy_out::<(i64,)>(&format!("COPY {t} TO STDOUT"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("binary"), "{err}");
    assert_usable(&mut conn).await;
}

#[tokio::test]
async fn fault_backend_killed_during_copy_in_breaks_the_connection_clearly() {
    let mut conn = connect().await;
    let mut admin = connect().await;
    let t = table(&mut conn, "copy_killed", "a int8, b text, c float8").await;
    let pid = conn.backend_pid();
    let mut w = conn
        .copy_in::<(i64, String, f64)>(&format!("COPY {t} FROM STDIN BINARY"))
        .await
        .unwrap();
    for i in 0..10_000 {
        w.write(row(i)).await.unwrap();
    }
    let killed: bool = query_scalar("SELECT pg_terminate_backend($1)")
        .bind(pid)
        .fetch_one(&mut admin)
        .await
        .unwrap();
    assert!(killed);
    let outcome = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        for i in 10_000..5_000_000 {
            w.write(row(i)).await?;
        }
        w.finish().await
    })
    .await
    .expect("a killed backend must not leave the COPY hanging");
    let err = outcome.unwrap_err();
    assert!(err.is_connection_fatal(), "{err}");
    assert!(conn.is_closed());
    let err = query_scalar::<i32>("SELECT 1")
        .fetch_one(&mut conn)
        .await
        .unwrap_err();
    assert!(err.is_connection_fatal(), "{err}");
    assert_eq!(count(&mut admin, &t).await, 0);
}

/// A PostgreSQL enum known only by name: exercises the lookup of user types before COPY.
struct Mood(&'static str);

impl Type for Mood {
    fn type_ref() -> TypeRef {
        TypeRef::Named("copy_mood")
    }
}

impl quarry_driver::types::Encode for Mood {
    fn encode(
        &self,
        buf: &mut quarry_driver::types::EncodeBuf,
    ) -> Result<quarry_driver::types::IsNull, EncodeError> {
        buf.extend_from_slice(self.0.as_bytes());
        Ok(quarry_driver::types::IsNull::No)
    }
    fn param_type(&self) -> TypeRef {
        Self::type_ref()
    }
}

#[tokio::test]
async fn user_types_by_name() {
    let mut conn = connect().await;
    conn.batch_execute(
        "DO $$ BEGIN CREATE TYPE copy_mood AS ENUM ('sad', 'ok', 'happy'); \
         EXCEPTION WHEN duplicate_object THEN NULL; END $$",
    )
    .await
    .unwrap();
    let t = table(&mut conn, "copy_enum", "id int4, m copy_mood").await;
    let n = conn
        .copy_rows_to_table(
            &t,
            &["id", "m"],
            vec![(1i32, Mood("happy")), (2, Mood("sad"))],
        )
        .await
        .unwrap();
    assert_eq!(n, 2);
    let got: Vec<String> = query_scalar(AssertSqlSafe(format!(
        "SELECT m::text FROM {t} ORDER BY id"
    )))
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert_eq!(got, ["happy", "sad"]);
    // A label the enum does not have: the server rejects the row, nothing is committed.
    let err = conn
        .copy_rows_to_table(&t, &["id", "m"], vec![(3i32, Mood("angry"))])
        .await
        .unwrap_err();
    assert_eq!(err.code().map(|c| c.code()), Some("22P02"), "{err}");
    assert_eq!(count(&mut conn, &t).await, 2);
    assert_usable(&mut conn).await;
}

#[tokio::test]
async fn cancelled_copy_start_never_leaves_a_copy_open() {
    let mut conn = connect().await;
    let t = table(&mut conn, "copy_cancel_start", "a int8, b text, c float8").await;
    conn.batch_execute(&format!("INSERT INTO {t} VALUES (1, 'x', 0.5)"))
        .await
        .unwrap();
    let sql_in = format!("COPY {t} FROM STDIN BINARY");
    for polls in 0.. {
        let started = Cancellable::new(conn.copy_in::<(i64, String, f64)>(&sql_in), polls)
            .await
            .map(|w| drop(w.unwrap()))
            .is_some();
        assert_eq!(count(&mut conn, &t).await, 1);
        assert_usable(&mut conn).await;
        if started {
            break;
        }
        assert!(polls < 1000);
    }
    let sql_out = format!("COPY {t} TO STDOUT BINARY");
    for polls in 0.. {
        let started = Cancellable::new(conn.copy_out::<(i64, String, f64)>(&sql_out), polls)
            .await
            .map(|r| drop(r.unwrap()))
            .is_some();
        assert_usable(&mut conn).await;
        if started {
            break;
        }
        assert!(polls < 1000);
    }
}

#[tokio::test]
async fn raw_binary_round_trip_between_tables() {
    let mut conn = connect().await;
    let src = table(&mut conn, "copy_bin_src", "a int8, b text, c float8").await;
    let dst = table(&mut conn, "copy_bin_dst", "a int8, b text, c float8").await;
    conn.copy_rows_to_table(&src, &[], (0..5000).map(row))
        .await
        .unwrap();
    let mut data: Vec<u8> = Vec::new();
    let n = conn
        .copy_from_table(&src, &[], CopyFormat::Binary, &mut data)
        .await
        .unwrap();
    assert_eq!(n, 5000);
    assert!(data.starts_with(b"PGCOPY\n\xff\r\n\0"));
    let n = conn
        .copy_to_table(&dst, &[], CopyFormat::Binary, &data[..])
        .await
        .unwrap();
    assert_eq!(n, 5000);
    let same: bool = query_scalar(AssertSqlSafe(format!(
        "SELECT NOT EXISTS (SELECT * FROM {src} EXCEPT SELECT * FROM {dst})"
    )))
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert!(same);
    assert_usable(&mut conn).await;
}

/// `command_timeout` bounds every wait on the server during COPY: starting it (here
/// blocked by a lock), finishing COPY IN (a trigger that sleeps) and each chunk of COPY
/// OUT (a query that sleeps). Each is cancelled on the server, fails with a timeout, and
/// leaves the connection in sync; a COPY IN cancelled while finishing commits nothing.
#[tokio::test]
async fn copy_waits_are_bounded_by_command_timeout() {
    use quarry_driver::ErrorKind;
    use std::time::{Duration, Instant};
    let mut setup = connect().await;
    let t = table(&mut setup, "copy_timeout", "v int NOT NULL").await;
    let f = unique("copy_timeout_fn");
    setup
        .batch_execute(&format!(
            "CREATE FUNCTION {f}() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN IF NEW.v = 0 THEN PERFORM pg_sleep(5); END IF; RETURN NEW; END $$; \
             CREATE TRIGGER {f} BEFORE INSERT ON {t} FOR EACH ROW EXECUTE FUNCTION {f}()"
        ))
        .await
        .unwrap();
    let mut conn = crate::connect_with_command_timeout(Duration::from_millis(300)).await;
    let bounded = |started: Instant| {
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "{:?}",
            started.elapsed()
        );
    };

    // Starting: the table is locked by another session.
    setup
        .batch_execute(&format!("BEGIN; LOCK TABLE {t} IN ACCESS EXCLUSIVE MODE"))
        .await
        .unwrap();
    let started = Instant::now();
    let err = conn
        .copy_in_raw(&format!("COPY {t} (v) FROM STDIN"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    bounded(started);
    setup.batch_execute("ROLLBACK").await.unwrap();
    assert_usable(&mut conn).await;

    // Finishing: the row with v = 0 makes the trigger sleep.
    let mut copy = conn
        .copy_in_raw(&format!("COPY {t} (v) FROM STDIN"))
        .await
        .unwrap();
    copy.send("1\n0\n").await.unwrap();
    let started = Instant::now();
    let err = copy.finish().await.unwrap_err();
    // Cancelled while the server finished it: the outcome is unknown, the timeout its source.
    assert_eq!(err.kind(), ErrorKind::OutcomeUnknown, "{err}");
    assert!(!err.is_connection_fatal(), "{err}");
    let cause = std::error::Error::source(&err)
        .and_then(|s| s.downcast_ref::<quarry_driver::Error>())
        .expect("the timeout is the source");
    assert_eq!(cause.kind(), ErrorKind::Timeout, "{cause}");
    assert!(err.to_string().contains("check before retrying"), "{err}");
    bounded(started);
    assert_usable(&mut conn).await;
    assert_eq!(count(&mut conn, &t).await, 0);

    // COPY OUT: the third row takes 5 s to compute. (Rows larger than the server's 8 KB
    // output buffer, so that the first two are sent before it sleeps.)
    let mut out = conn
        .copy_out_raw(
            "COPY (SELECT i, repeat('x', 20000), \
             pg_sleep(CASE WHEN i = 3 THEN 5 ELSE 0 END) \
             FROM generate_series(1, 5) i) TO STDOUT",
        )
        .await
        .unwrap();
    // The rows before the third arrive (how many of them before the server's buffer is
    // flushed is the server's business); then the wait for more times out.
    let mut chunks = 0;
    let started = Instant::now();
    let err = loop {
        match out.next_chunk().await {
            Ok(Some(_)) => chunks += 1,
            Ok(None) => panic!("the COPY ended although its third row takes 5 s"),
            Err(e) => break e,
        }
    };
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(
        (1..3).contains(&chunks),
        "{chunks} chunks before the timeout"
    );
    bounded(started);
    assert!(
        out.next_chunk().await.unwrap().is_none(),
        "the COPY is over"
    );
    drop(out);
    assert_usable(&mut conn).await;
}
