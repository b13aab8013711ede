#![cfg(all(feature = "temp-server", unix))]
//! Reading results against a real server: `fetch` streams and `fetch_all`, across many
//! socket reads, with an error in the middle of a result, and with a stream dropped
//! early. Rows that are already buffered are decoded without waiting; these tests pin
//! down that this changes nothing a caller can see.

use std::sync::OnceLock;

use futures_util::TryStreamExt;
use quarry_driver::{Connection, ErrorKind, TempServer, query, query_as, query_scalar};

fn server() -> &'static TempServer {
    static SERVER: OnceLock<TempServer> = OnceLock::new();
    SERVER.get_or_init(|| TempServer::start().expect("the test server starts"))
}

async fn connect() -> Connection {
    Connection::connect(&server().url())
        .await
        .expect("connects to the test server")
}

/// The connection answers a new query correctly.
async fn assert_usable(conn: &mut Connection) {
    let v: i32 = query_scalar("SELECT 41 + 1")
        .fetch_one(&mut *conn)
        .await
        .expect("the connection is usable");
    assert_eq!(v, 42);
}

/// 200,000 rows of about 100 bytes: many socket reads, frames split across reads.
const MANY: &str = "SELECT i::int8, repeat('x', 90) || i FROM generate_series(1, 200000) AS i";

#[tokio::test]
async fn a_stream_yields_every_row_across_many_reads() {
    let mut conn = connect().await;
    let mut rows = query_as::<(i64, String)>(MANY).fetch(&mut conn);
    let (mut n, mut sum) = (0i64, 0i64);
    while let Some((i, text)) = rows.try_next().await.expect("rows decode") {
        n += 1;
        sum += i;
        assert_eq!(i, n, "rows arrive in order");
        assert!(text.ends_with(&i.to_string()) && text.len() > 90);
    }
    drop(rows);
    assert_eq!(n, 200_000);
    assert_eq!(sum, 200_000 * 200_001 / 2);
    assert_usable(&mut conn).await;
}

#[tokio::test]
async fn fetch_all_returns_every_row_and_the_row_count() {
    let mut conn = connect().await;
    let rows = query_as::<(i64, String)>(MANY)
        .fetch_all(&mut conn)
        .await
        .expect("fetch_all succeeds");
    assert_eq!(rows.len(), 200_000);
    assert_eq!(rows[199_999].0, 200_000);
    let affected = query("SELECT i FROM generate_series(1, 1234) AS i")
        .execute(&mut conn)
        .await
        .expect("execute succeeds");
    assert_eq!(affected, 1234);
    assert_usable(&mut conn).await;
}

/// Division by zero at row 60,000: the rows before it arrive first.
const FAILS_MIDWAY: &str = "SELECT 1 / (i - 60000) FROM generate_series(1, 100000) AS i";

#[tokio::test]
async fn an_error_in_the_middle_of_a_stream_comes_after_the_rows_before_it() {
    let mut conn = connect().await;
    let mut rows = query_scalar::<i32>(FAILS_MIDWAY).fetch(&mut conn);
    let mut n = 0;
    let err = loop {
        match rows.try_next().await {
            Ok(Some(_)) => n += 1,
            Ok(None) => panic!("the stream ended without the division-by-zero error"),
            Err(e) => break e,
        }
    };
    assert_eq!(err.kind(), ErrorKind::Database);
    assert_eq!(err.code().map(|c| c.code()), Some("22012"));
    assert!(n < 60_000, "{n} rows before the error");
    assert!(
        rows.try_next().await.expect("no second error").is_none(),
        "the stream ends after its error"
    );
    drop(rows);
    assert_usable(&mut conn).await;
}

#[tokio::test]
async fn an_error_in_the_middle_of_fetch_all_fails_it_and_the_connection_recovers() {
    let mut conn = connect().await;
    let err = query_scalar::<i32>(FAILS_MIDWAY)
        .fetch_all(&mut conn)
        .await
        .expect_err("division by zero");
    assert_eq!(err.code().map(|c| c.code()), Some("22012"));
    assert_usable(&mut conn).await;
}

#[tokio::test]
async fn a_stream_dropped_early_leaves_the_connection_usable() {
    let mut conn = connect().await;
    {
        let mut rows = query_as::<(i64, String)>(MANY).fetch(&mut conn);
        for expected in 1..=10 {
            let (i, _) = rows.try_next().await.expect("decodes").expect("a row");
            assert_eq!(i, expected);
        }
    }
    assert_usable(&mut conn).await;
}

#[tokio::test]
async fn a_decode_error_ends_the_stream_and_the_connection_recovers() {
    let mut conn = connect().await;
    let mut rows =
        query_scalar::<i32>("SELECT 'text'::text FROM generate_series(1, 1000)").fetch(&mut conn);
    let err = rows.try_next().await.expect_err("text is not an i32");
    assert_eq!(err.kind(), ErrorKind::Decode);
    assert!(rows.try_next().await.expect("ended").is_none());
    drop(rows);
    assert_usable(&mut conn).await;
}

#[tokio::test]
async fn an_empty_result_and_a_failing_statement() {
    let mut conn = connect().await;
    let mut rows = query_scalar::<i32>("SELECT 1 WHERE false").fetch(&mut conn);
    assert!(rows.try_next().await.expect("no error").is_none());
    drop(rows);
    let mut rows = query_scalar::<i32>("SELECT x FROM no_such_table").fetch(&mut conn);
    let err = rows.try_next().await.expect_err("the table does not exist");
    assert_eq!(err.code().map(|c| c.code()), Some("42P01"));
    drop(rows);
    assert_usable(&mut conn).await;
}

/// Errors call a column by the name the user's Rust code knows: without the query
/// macros' override syntax (`"big: i32"` is the field `big`).
#[tokio::test]
async fn errors_name_a_column_without_its_override() {
    let mut conn = connect().await;
    let row = query(
        "SELECT NULL::int4 AS \"big: i32\", 7::int8 AS \"n!\", NULL::int4 AS \"tags[?]\", \
         NULL::int4 AS \"!\", 'x'::text AS \"plain\"",
    )
    .fetch_one(&mut conn)
    .await
    .expect("the query runs");
    let message = |i: usize| match row.try_get::<i32, _>(i) {
        Ok(v) => panic!("column {i} read as {v}"),
        Err(e) => e.to_string(),
    };
    assert!(
        message(0).contains("column \"big\" is NULL"),
        "{}",
        message(0)
    );
    assert!(
        message(1).contains("column \"n\" is int8"),
        "{}",
        message(1)
    );
    assert!(
        message(2).contains("column \"tags\" is NULL"),
        "{}",
        message(2)
    );
    // A name that is nothing but override syntax is shown as it is.
    assert!(
        message(3).contains("column \"!\" is NULL"),
        "{}",
        message(3)
    );
    assert!(
        message(4).contains("column \"plain\" is text"),
        "{}",
        message(4)
    );
    // Looking a column up by name still uses the server's name.
    assert!(row.try_get::<Option<i32>, _>("big: i32").is_ok());
}
