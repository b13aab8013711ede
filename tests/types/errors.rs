//! The errors users see: type mismatches, NULL into a non-`Option`, values
//! that cannot be sent (caught before anything goes to the server), and
//! values that do not fit the Rust type. Each names the column or parameter
//! and says what to do; none breaks the connection.

use quarry::types::{Ltree, Xml};
use quarry::{Connection, Row, TransactionStatus, query};

use crate::support::{chain, connect, simple_row};

/// The same SQL through both protocols: binary and text results.
async fn both_formats(conn: &mut Connection, sql: &'static str) -> [(&'static str, Row); 2] {
    let binary = query(sql).fetch_one(&mut *conn).await.unwrap();
    let text = simple_row(conn, sql).await.unwrap();
    [("binary", binary), ("text", text)]
}

fn decode_error<'r, T>(row: &'r Row, column: &str) -> String
where
    T: quarry::types::Decode<'r> + quarry::types::Type + std::fmt::Debug,
{
    match row.try_get::<T, _>(column) {
        Ok(v) => panic!("column {column} decoded into {v:?}; expected an error"),
        Err(e) => {
            assert_eq!(e.kind(), quarry::ErrorKind::Decode, "{e}");
            e.to_string()
        }
    }
}

/// No silent widening or narrowing: the message names the column, its type and the Rust type.
#[tokio::test]
async fn type_mismatch_names_column_and_both_types() {
    let mut conn = connect().await;
    let sql = "SELECT 1::int8 AS id, 1::int4 AS small, 'x'::text AS name, \
               '{1}'::int8[] AS ids, 1.5::numeric AS price, NULL::int8 AS gone";
    for (format, row) in both_formats(&mut conn, sql).await {
        let e = decode_error::<i32>(&row, "id");
        assert!(
            e.contains("column \"id\" is int8; cannot decode into i32"),
            "{format}: {e}"
        );
        let e = decode_error::<i64>(&row, "small");
        assert!(
            e.contains("column \"small\" is int4; cannot decode into i64"),
            "{format}: {e}"
        );
        let e = decode_error::<i32>(&row, "name");
        assert!(
            e.contains("column \"name\" is text; cannot decode into i32"),
            "{format}: {e}"
        );
        let e = decode_error::<Vec<i32>>(&row, "ids");
        assert!(
            e.contains("column \"ids\" is int8[]; cannot decode into Vec<i32>"),
            "{format}: {e}"
        );
        let e = decode_error::<f64>(&row, "price");
        assert!(
            e.contains("column \"price\" is numeric; cannot decode into f64"),
            "{format}: {e}"
        );
        // The type is checked before NULL: a NULL of the wrong type is still a mismatch.
        let e = decode_error::<Option<i32>>(&row, "gone");
        assert!(
            e.contains("column \"gone\" is int8") && e.contains("Option<i32>"),
            "{format}: {e}"
        );
        // What does fit still reads.
        assert_eq!(row.get::<i64, _>("id"), 1);
        assert_eq!(row.get::<Option<i64>, _>("gone"), None);
    }
}

/// A user-defined type in a result is named as the catalog names it (the
/// connection looks the name up before handing out the rows).
#[tokio::test]
async fn user_type_mismatch_names_the_type() {
    let mut conn = connect().await;
    conn.batch_execute(
        "DROP TYPE IF EXISTS typetests_color; CREATE TYPE typetests_color AS ENUM ('red')",
    )
    .await
    .unwrap();
    for (format, row) in both_formats(&mut conn, "SELECT 'red'::typetests_color AS c").await {
        let e = decode_error::<i32>(&row, "c");
        let want = "column \"c\" is typetests_color; cannot decode into i32";
        assert!(e.contains(want), "{format}: {e}");
    }
}

/// NULL into a type that cannot hold it says to use `Option<...>`, naming the column.
#[tokio::test]
async fn null_into_non_option_says_use_option() {
    let mut conn = connect().await;
    let sql = "SELECT NULL::int4 AS n, NULL::text AS t, NULL::int4[] AS a, \
               ARRAY[1, NULL]::int4[] AS e, ROW(1, NULL::text) AS r";
    for (format, row) in both_formats(&mut conn, sql).await {
        let e = decode_error::<i32>(&row, "n");
        assert!(
            e.contains("column \"n\"") && e.contains("use Option<i32>"),
            "{format}: {e}"
        );
        let e = decode_error::<String>(&row, "t");
        assert!(
            e.contains("column \"t\"") && e.contains("use Option<String>"),
            "{format}: {e}"
        );
        let e = decode_error::<Vec<i32>>(&row, "a");
        assert!(
            e.contains("column \"a\"") && e.contains("use Option<Vec<i32>>"),
            "{format}: {e}"
        );
        let e = decode_error::<Vec<i32>>(&row, "e");
        assert!(
            e.contains("column \"e\"") && e.contains("element 1") && e.contains("use Option<i32>"),
            "{format}: {e}"
        );
        let e = decode_error::<(i32, String)>(&row, "r");
        assert!(
            e.contains("column \"r\"") && e.contains("field 1") && e.contains("use Option<String>"),
            "{format}: {e}"
        );
    }
}

/// A NUL character cannot be stored in PostgreSQL text: it is an encode error
/// before anything is sent, so an open transaction is not even aborted.
#[tokio::test]
async fn nul_in_text_is_an_encode_error_with_no_round_trip() {
    let mut conn = connect().await;
    conn.batch_execute("BEGIN").await.unwrap();
    let attempts: Vec<(&str, quarry::Result<u64>)> = vec![
        (
            "String",
            query("SELECT $1::text")
                .bind("a\0b".to_owned())
                .execute(&mut conn)
                .await,
        ),
        (
            "&str",
            query("SELECT $1::text").bind("\0").execute(&mut conn).await,
        ),
        (
            "char",
            query("SELECT $1::text").bind('\0').execute(&mut conn).await,
        ),
        (
            "Vec<String>",
            query("SELECT $1::text[]")
                .bind(vec!["ok".to_owned(), "x\0".to_owned()])
                .execute(&mut conn)
                .await,
        ),
        (
            "Xml",
            query("SELECT $1::xml")
                .bind(Xml::from("<a>\0</a>"))
                .execute(&mut conn)
                .await,
        ),
        (
            "Ltree",
            query("SELECT $1::ltree")
                .bind(Ltree::from("a\0b"))
                .execute(&mut conn)
                .await,
        ),
        #[cfg(feature = "json")]
        (
            "serde_json::Value",
            query("SELECT $1::jsonb")
                .bind(serde_json::json!({"k": "\u{0}"}))
                .execute(&mut conn)
                .await,
        ),
    ];
    for (what, r) in attempts {
        let e = r.expect_err(what);
        assert_eq!(e.kind(), quarry::ErrorKind::Encode, "{what}: {e}");
        assert!(e.to_string().contains("parameter $1"), "{what}: {e}");
        assert_eq!(
            conn.transaction_status(),
            TransactionStatus::InTransaction,
            "{what}: nothing reached the server, so the transaction is not aborted"
        );
    }
    let e = query("SELECT $1::text")
        .bind("a\0b")
        .execute(&mut conn)
        .await
        .unwrap_err();
    // The error names the parameter; its cause (the encoder's error) says what is wrong.
    assert!(e.to_string().contains("parameter $1"), "{e}");
    assert!(
        chain(&e).contains("NUL"),
        "the chain says what is wrong: {}",
        chain(&e)
    );
    let one: i32 = quarry::query_scalar("SELECT 1")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(one, 1);
    conn.batch_execute("COMMIT").await.unwrap();
}

/// Borrowing decodes: `&str`, `Cow<str>` and `&[u8]` borrow from the row;
/// a text-format `bytea` cannot be borrowed (it is hex), and says so.
#[tokio::test]
async fn borrowed_values() {
    let mut conn = connect().await;
    let sql = "SELECT 'héllo'::text AS s, '\\x00ff'::bytea AS b";
    for (format, row) in both_formats(&mut conn, sql).await {
        assert_eq!(row.get::<&str, _>("s"), "héllo", "{format}");
        assert_eq!(
            row.get::<std::borrow::Cow<'_, str>, _>("s"),
            "héllo",
            "{format}"
        );
        assert_eq!(row.get::<Box<str>, _>("s"), "héllo".into(), "{format}");
        assert_eq!(row.get::<Vec<u8>, _>("b"), [0, 255], "{format}");
        assert_eq!(row.get::<[u8; 2], _>("b"), [0, 255], "{format}");
        assert_eq!(row.get::<bytes::Bytes, _>("b"), &[0u8, 255][..], "{format}");
        let e = decode_error::<[u8; 3]>(&row, "b");
        assert!(e.contains("[u8; 3]") || e.contains("3"), "{format}: {e}");
        if format == "binary" {
            assert_eq!(row.get::<&[u8], _>("b"), [0, 255]);
        } else {
            let e = decode_error::<&[u8]>(&row, "b");
            assert!(e.contains("Vec<u8>"), "{e}");
        }
    }
}
