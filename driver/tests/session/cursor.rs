//! Server-side cursors over portals, and SQL cursors.

use futures_util::StreamExt;
use quarry_driver::{ConnectOptions, Connection, Row, TransactionStatus, query, query_scalar};

use crate::{Cancellable, assert_in_sync, connect, server};

fn ints(rows: &[Row]) -> Vec<i32> {
    rows.iter().map(|r| r.get::<i32, _>(0)).collect()
}

#[tokio::test]
async fn fetch_next_forward() {
    let mut conn = connect().await;
    let mut tx = conn.begin().await.unwrap();
    let mut c = tx
        .cursor(query("SELECT i FROM generate_series(1, $1) i").bind(1000i32))
        .await
        .unwrap();
    assert_eq!(c.columns().len(), 1);
    assert_eq!(
        ints(&c.fetch(10).await.unwrap()),
        (1..=10).collect::<Vec<_>>()
    );
    assert_eq!(c.forward(100).await.unwrap(), 100); // on the server
    c.prefetch(5);
    assert_eq!(c.next().await.unwrap().unwrap().get::<i32, _>(0), 111); // buffers 111..115
    assert_eq!(c.forward(2).await.unwrap(), 2); // from the buffer: 112, 113
    assert_eq!(c.next().await.unwrap().unwrap().get::<i32, _>(0), 114);
    // fetch takes the buffered row first, then goes to the server.
    assert_eq!(ints(&c.fetch(3).await.unwrap()), [115, 116, 117]);
    assert_eq!(c.forward(10_000).await.unwrap(), 883);
    assert!(c.fetch(10).await.unwrap().is_empty());
    assert!(c.next().await.unwrap().is_none());
    assert_eq!(c.forward(5).await.unwrap(), 0);
    assert!(c.fetch(0).await.unwrap().is_empty());
    drop(c);
    tx.commit().await.unwrap();
    assert!(conn.is_idle());
}

#[tokio::test]
async fn stream_prefetches() {
    let mut conn = connect().await;
    let mut tx = conn.begin().await.unwrap();
    let mut c = tx
        .cursor(query("SELECT i, 'v' || i FROM generate_series(1, 1000) i"))
        .await
        .unwrap();
    c.prefetch(64);
    let rows: Vec<(i32, String)> = c
        .into_stream()
        .map(|r| {
            let r = r.unwrap();
            (r.get(0), r.get(1))
        })
        .collect()
        .await;
    assert_eq!(rows.len(), 1000);
    for (i, (n, s)) in rows.iter().enumerate() {
        assert_eq!(*n, i32::try_from(i).unwrap() + 1);
        assert_eq!(*s, format!("v{n}"));
    }
    tx.rollback().await.unwrap();
}

#[tokio::test]
async fn statement_cache_on_and_off_and_queries_between_fetches() {
    for capacity in [100usize, 0] {
        let options = ConnectOptions::parse(&server().url())
            .unwrap()
            .statement_cache_capacity(capacity);
        let mut conn = Connection::connect_with(&options).await.unwrap();
        let mut tx = conn.begin().await.unwrap();
        for _round in 0..2 {
            let mut c = tx
                .cursor(query("SELECT i FROM generate_series(1, 20) i WHERE i % $1 = 0").bind(2i32))
                .await
                .unwrap();
            let name = c.name().to_owned();
            assert_eq!(
                ints(&c.fetch(2).await.unwrap()),
                [2, 4],
                "capacity {capacity}"
            );
            // Other queries in between (with the cache off they replace the unnamed
            // statement): the portal is unaffected.
            let n: i64 = query_scalar("SELECT count(*) FROM generate_series(1, 7)")
                .fetch_one(c.connection())
                .await
                .unwrap();
            assert_eq!(n, 7);
            // The portal is a SQL cursor too.
            let rows = c
                .connection()
                .simple_query(&format!("FETCH 2 FROM \"{name}\""))
                .await
                .unwrap();
            let fetched: Vec<i32> = rows.iter().map(|r| r.get(0)).collect();
            assert_eq!(fetched, [6, 8]);
            assert_eq!(ints(&c.fetch(2).await.unwrap()), [10, 12]);
            drop(c);
            // Dropped: the portal is closed before the next query.
            let open: i64 = query_scalar("SELECT count(*) FROM pg_cursors WHERE name = $1")
                .bind(name.as_str())
                .fetch_one(&mut tx)
                .await
                .unwrap();
            assert_eq!(open, 0, "capacity {capacity}");
        }
        let cached = tx.cached_statements();
        if capacity == 0 {
            assert_eq!(cached, 0);
        } else {
            assert!(cached >= 1);
        }
        tx.commit().await.unwrap();
    }
}

#[tokio::test]
async fn declared_scroll_cursor_through_sql() {
    let mut conn = connect().await;
    let mut tx = conn.begin().await.unwrap();
    tx.batch_execute("DECLARE sc SCROLL CURSOR FOR SELECT i FROM generate_series(1, 10) i")
        .await
        .unwrap();
    let at = |sql: &'static str| query_scalar::<i32>(sql);
    assert_eq!(
        at("FETCH ABSOLUTE 5 FROM sc")
            .fetch_one(&mut tx)
            .await
            .unwrap(),
        5
    );
    assert_eq!(
        at("FETCH PRIOR FROM sc").fetch_one(&mut tx).await.unwrap(),
        4
    );
    assert_eq!(
        at("FETCH LAST FROM sc").fetch_one(&mut tx).await.unwrap(),
        10
    );
    assert_eq!(
        at("FETCH BACKWARD 3 FROM sc")
            .fetch_all(&mut tx)
            .await
            .unwrap(),
        [9, 8, 7]
    );
    tx.batch_execute("CLOSE sc").await.unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn errors_while_fetching_and_in_a_failed_transaction() {
    let mut conn = connect().await;
    let mut tx = conn.begin().await.unwrap();
    let mut c = tx
        .cursor(query("SELECT 10 / (5 - i) FROM generate_series(1, 10) i"))
        .await
        .unwrap();
    assert_eq!(ints(&c.fetch(3).await.unwrap()), [2, 3, 5]);
    let err = c.fetch(5).await.unwrap_err();
    assert_eq!(err.code().map(|c| c.code()), Some("22012"));
    drop(c);
    assert_eq!(
        tx.transaction_status(),
        TransactionStatus::InFailedTransaction
    );
    let err = tx.cursor(query("SELECT 1")).await.unwrap_err();
    assert!(err.to_string().contains("transaction"), "{err}");
    tx.rollback().await.unwrap();

    let mut tx = conn.begin().await.unwrap();
    let err = tx
        .cursor(query("SELECT * FROM no_such_table"))
        .await
        .unwrap_err();
    assert_eq!(err.code().map(|c| c.code()), Some("42P01"));
    tx.rollback().await.unwrap();

    let mut tx = conn.begin().await.unwrap();
    let err = tx
        .cursor(query("CREATE TEMP TABLE cursor_nodata (a int)"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("returns no rows"), "{err}");
    tx.commit().await.unwrap();
    let one: i32 = query_scalar("SELECT 1").fetch_one(&mut conn).await.unwrap();
    assert_eq!(one, 1);
}

#[tokio::test]
async fn cancelled_fetch_keeps_the_connection_in_sync() {
    let mut conn = connect().await;
    let mut monitor = connect().await;
    let mut tx = conn.begin().await.unwrap();
    for polls in 0.. {
        let completed;
        let mut seen = Vec::new();
        {
            let mut c = tx
                .cursor(query("SELECT i FROM generate_series(1, 5000) i"))
                .await
                .unwrap();
            completed = Cancellable::new(c.fetch(2000), polls)
                .await
                .map(|r| r.unwrap());
            // Whatever a cancelled fetch was reading is lost; the cursor goes on after it.
            seen.extend(ints(&c.fetch(10).await.unwrap()));
        }
        assert_in_sync(&mut tx, &mut monitor, TransactionStatus::InTransaction).await;
        assert!(seen.windows(2).all(|w| w[1] == w[0] + 1), "{seen:?}");
        if let Some(rows) = completed {
            assert_eq!(ints(&rows), (1..=2000).collect::<Vec<_>>());
            assert_eq!(seen[0], 2001);
            break;
        }
        assert!(polls < 10_000);
    }
    tx.commit().await.unwrap();
}

/// A fetch or a MOVE that takes longer than the cursor's timeout (`command_timeout`, or
/// the query's own `.timeout`) is cancelled on the server and fails with a timeout; the
/// transaction is then failed, which the next use of the cursor reports (no silent end),
/// and after a rollback the connection works.
#[tokio::test]
async fn fetch_and_forward_are_bounded_by_timeouts() {
    use quarry_driver::ErrorKind;
    use std::time::{Duration, Instant};
    // Rows after the third take 5 s each to compute; a portal computes only what is fetched.
    let slow = "SELECT i, pg_sleep(CASE WHEN i > 3 THEN 5 ELSE 0 END)::text \
                FROM generate_series(1, 10) i";
    let mut conn = crate::connect_with_command_timeout(Duration::from_millis(300)).await;
    let mut tx = conn.begin().await.unwrap();
    let mut c = tx.cursor(query(slow)).await.unwrap();
    assert_eq!(ints(&c.fetch(3).await.unwrap()), [1, 2, 3]);
    let started = Instant::now();
    let err = c.fetch(1).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    let next = c.fetch(1).await;
    assert!(
        next.is_err(),
        "after a timeout the cursor must not look exhausted: {next:?}"
    );
    drop(c);
    tx.rollback().await.unwrap();
    let v: i32 = query_scalar("SELECT 7").fetch_one(&mut conn).await.unwrap();
    assert_eq!(v, 7);

    // The query's own timeout, on a connection without command_timeout, bounds MOVE too.
    let mut conn = crate::connect().await;
    let mut tx = conn.begin().await.unwrap();
    let mut c = tx
        .cursor(query(slow).timeout(Duration::from_millis(300)))
        .await
        .unwrap();
    let started = Instant::now();
    let err = c.forward(5).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    drop(c);
    tx.rollback().await.unwrap();
    let v: i32 = query_scalar("SELECT 8").fetch_one(&mut conn).await.unwrap();
    assert_eq!(v, 8);
}

/// Issue 14: a `Statement` prepared on one pooled connection, opened as a cursor on
/// another, runs by its SQL there. It must never bind a statement of the other session
/// that happens to share its name (before, every connection named its statements
/// `quarry_s1, quarry_s2, ...` and the cursor bound whatever `quarry_s1` was there,
/// decoding its rows with the first statement's columns).
#[tokio::test]
async fn a_statement_of_another_pooled_connection_runs_by_its_sql() {
    let pool = quarry_driver::PoolOptions::new()
        .max_connections(2)
        .connect(&server().url())
        .await
        .unwrap();
    let mut a = pool.acquire().await.unwrap();
    let mut b = pool.acquire().await.unwrap();
    assert_ne!(a.backend_pid(), b.backend_pid());
    // The first statement each session prepares.
    let mine = a
        .prepare("SELECT i AS n FROM generate_series(1, 3) i")
        .await
        .unwrap();
    let theirs = b
        .prepare("SELECT 'not mine'::text AS s, 42 AS x")
        .await
        .unwrap();
    assert_ne!(
        mine.name(),
        theirs.name(),
        "two sessions share a statement name"
    );
    let mut tx = b.begin().await.unwrap();
    let mut c = tx.cursor(mine.query()).await.unwrap();
    assert_eq!(c.columns().len(), 1);
    assert_eq!(ints(&c.fetch(10).await.unwrap()), [1, 2, 3]);
    drop(c);
    tx.commit().await.unwrap();
    // And on the connection that prepared it, it runs by name.
    let mut tx = a.begin().await.unwrap();
    let mut c = tx.cursor(mine.query()).await.unwrap();
    assert_eq!(ints(&c.fetch(10).await.unwrap()), [1, 2, 3]);
    drop(c);
    tx.commit().await.unwrap();
}

/// Issue 14: a cursor whose request cannot be written (a Bind over PostgreSQL's 1 GiB
/// message limit, after its statement's Parse and Describe were encoded) leaves nothing
/// in the write buffer. Before, the Parse and Describe stayed there and went out with the
/// next query, whose statement was then filed with the cursor statement's columns.
#[tokio::test]
async fn a_cursor_that_cannot_be_written_leaves_nothing_behind() {
    let mut conn = connect().await;
    let mut tx = conn.begin().await.unwrap();
    let huge = vec![0u8; (1 << 30) + 1];
    let err = tx
        .cursor(query("SELECT length($1::bytea) AS n, 'cursor' AS which").bind(huge))
        .await
        .expect_err("a Bind over 1 GiB cannot be sent");
    assert_eq!(err.kind(), quarry_driver::ErrorKind::Encode, "{err}");
    // The transaction is untouched: nothing reached the server.
    assert_eq!(tx.transaction_status(), TransactionStatus::InTransaction);
    for _ in 0..2 {
        let v: i64 = query_scalar("SELECT 7::int8 AS seven")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert_eq!(v, 7);
    }
    tx.commit().await.unwrap();
    let mut monitor = connect().await;
    assert_in_sync(&mut conn, &mut monitor, TransactionStatus::Idle).await;
}
