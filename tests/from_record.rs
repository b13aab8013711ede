//! `#[derive(FromRecord)]` against a real server: every attribute, the errors users
//! see, and column positions cached per result shape.

use quarry::{Connection, FromRecord, Row, query, query_as};
use serde::Deserialize;

#[derive(FromRecord, Debug, PartialEq)]
struct User {
    id: i64,
    name: String,
    email: Option<String>,
}

const USERS: &str = "
    CREATE TABLE users (id int8 PRIMARY KEY, name text NOT NULL, email text);
    INSERT INTO users VALUES (1, 'ada', 'ada@example.com'), (2, 'brian', NULL);
";

async fn setup(conn: &mut Connection) {
    conn.batch_execute(USERS).await.unwrap();
}

async fn one_row(conn: &mut Connection, sql: &'static str) -> Row {
    query(sql).fetch_one(conn).await.unwrap()
}

#[quarry::test]
async fn reads_columns_by_name(mut conn: Connection) {
    setup(&mut conn).await;
    let users: Vec<User> = query_as("SELECT email, name, id FROM users ORDER BY id")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        users,
        [
            User {
                id: 1,
                name: "ada".into(),
                email: Some("ada@example.com".into())
            },
            User {
                id: 2,
                name: "brian".into(),
                email: None
            },
        ]
    );
}

#[quarry::test]
async fn positions_follow_each_result_shape(mut conn: Connection) {
    setup(&mut conn).await;
    // Alternate two column orders (and a third, unnamed statement) into one struct:
    // positions cached for one shape must never be used for another.
    let orders = [
        "SELECT id, name, email FROM users WHERE id = 1",
        "SELECT email, id, name FROM users WHERE id = 1",
    ];
    for round in 0..3 {
        for sql in orders {
            let u: User = query_as(sql).fetch_one(&mut conn).await.unwrap();
            assert_eq!((u.id, u.name.as_str()), (1, "ada"), "{sql} round {round}");
        }
        let u: User = query_as("SELECT name, email, id FROM users WHERE id = 2")
            .persistent(false)
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!((u.id, u.name.as_str()), (2, "brian"));
    }
}

#[derive(FromRecord, Debug, PartialEq)]
#[quarry(rename_all = "camelCase")]
struct Renamed {
    user_id: i64,
    #[quarry(rename = "full name")]
    display_name: String,
    is_admin: bool,
}

#[quarry::test]
async fn rename_and_rename_all(mut conn: Connection) {
    let r: Renamed =
        query_as(r#"SELECT 7::int8 AS "userId", 'Ada L' AS "full name", true AS "isAdmin""#)
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(
        r,
        Renamed {
            user_id: 7,
            display_name: "Ada L".into(),
            is_admin: true
        }
    );
}

#[derive(FromRecord, Debug, PartialEq, Default)]
struct Audit {
    created_by: String,
    #[quarry(default)]
    note: Option<String>,
}

#[derive(FromRecord, Debug, PartialEq)]
struct WithNested {
    id: i64,
    #[quarry(flatten)]
    audit: Audit,
    #[quarry(skip)]
    cached: Vec<u8>,
    #[quarry(default)]
    retries: i32,
}

#[quarry::test]
async fn default_flatten_and_skip(mut conn: Connection) {
    let w: WithNested = query_as("SELECT 1::int8 AS id, 'ops' AS created_by")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        w,
        WithNested {
            id: 1,
            audit: Audit {
                created_by: "ops".into(),
                note: None
            },
            cached: Vec::new(),
            retries: 0,
        }
    );
    // `default` applies to a missing column only; a present one is read.
    let w: WithNested = query_as(
        "SELECT 2::int8 AS id, 'me' AS created_by, 'hi' AS note, 3 AS retries, 'x' AS cached",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(w.audit.note.as_deref(), Some("hi"));
    assert_eq!(w.retries, 3);
    assert!(w.cached.is_empty());
}

#[derive(FromRecord, Debug, PartialEq)]
struct Converted {
    #[quarry(try_from = "i64")]
    small: u8,
    #[quarry(try_from = "String")]
    kind: Kind,
}

#[derive(Debug, PartialEq)]
enum Kind {
    Admin,
    Guest,
}

impl TryFrom<String> for Kind {
    type Error = String;
    fn try_from(s: String) -> Result<Kind, String> {
        match s.as_str() {
            "admin" => Ok(Kind::Admin),
            "guest" => Ok(Kind::Guest),
            other => Err(format!("unknown kind {other:?}")),
        }
    }
}

#[quarry::test]
async fn try_from_converts_after_decoding(mut conn: Connection) {
    let c: Converted = query_as("SELECT 200::int8 AS small, 'guest' AS kind")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        c,
        Converted {
            small: 200,
            kind: Kind::Guest
        }
    );
    let err = query_as::<Converted>("SELECT 300::int8 AS small, 'admin' AS kind")
        .fetch_one(&mut conn)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("column \"small\": cannot convert i64 into u8: out of range"),
        "{err}"
    );
    let err = query_as::<Converted>("SELECT 1::int8 AS small, 'root' AS kind")
        .fetch_one(&mut conn)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("unknown kind \"root\""), "{err}");
}

#[derive(Deserialize, Debug, PartialEq)]
struct Settings {
    theme: String,
    size: u32,
}

#[derive(FromRecord, Debug, PartialEq)]
struct WithJson {
    #[quarry(json)]
    settings: Settings,
    #[quarry(json)]
    tags: Option<Vec<String>>,
}

#[quarry::test]
async fn json_fields_decode_with_serde(mut conn: Connection) {
    let w: WithJson = query_as(
        r#"SELECT '{"theme": "dark", "size": 12}'::jsonb AS settings, '["a", "b"]'::json AS tags"#,
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(
        w,
        WithJson {
            settings: Settings {
                theme: "dark".into(),
                size: 12
            },
            tags: Some(vec!["a".into(), "b".into()]),
        }
    );
    let w: WithJson =
        query_as(r#"SELECT '{"theme": "x", "size": 1}'::jsonb AS settings, NULL::jsonb AS tags"#)
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(w.tags, None);
    let err =
        query_as::<WithJson>(r#"SELECT '{"theme": 1}'::jsonb AS settings, NULL::json AS tags"#)
            .fetch_one(&mut conn)
            .await
            .unwrap_err();
    assert!(err.to_string().contains("column \"settings\""), "{err}");
    let err = query_as::<WithJson>("SELECT NULL::jsonb AS settings, NULL::json AS tags")
        .fetch_one(&mut conn)
        .await
        .unwrap_err();
    assert_eq!(
        err.message(),
        "column \"settings\" is NULL; use Option<Settings>"
    );
}

#[derive(FromRecord, Debug, PartialEq)]
struct Borrowed<'a> {
    name: &'a str,
    bytes: &'a [u8],
}

#[quarry::test]
async fn fields_can_borrow_from_the_row(mut conn: Connection) {
    let row = one_row(&mut conn, "SELECT 'ada' AS name, '\\x0102'::bytea AS bytes").await;
    let b = Borrowed::from_record(&row).unwrap();
    assert_eq!(
        b,
        Borrowed {
            name: "ada",
            bytes: &[1, 2]
        }
    );
}

#[derive(FromRecord, Debug, PartialEq)]
struct Point(i32, i32);

#[quarry::test]
async fn tuple_structs_read_by_position(mut conn: Connection) {
    let p: Point = query_as("SELECT 3 AS y, 4 AS x")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(p, Point(3, 4));
    let err = query_as::<Point>("SELECT 1, 2, 3")
        .fetch_one(&mut conn)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("row has 3 columns but Point has 2 fields"),
        "{err}"
    );
}

#[derive(FromRecord, Debug)]
#[quarry(crate = "quarry")]
struct WithCratePath {
    id: i32,
}

#[quarry::test]
async fn crate_path_can_be_given(mut conn: Connection) {
    let w: WithCratePath = query_as("SELECT 5 AS id")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(w.id, 5);
}

// --- The three errors users see -------------------------------------------------------

#[derive(FromRecord, Debug)]
struct Misspelled {
    #[allow(dead_code)]
    nmae: String,
}

#[derive(FromRecord, Debug)]
struct NarrowId {
    #[allow(dead_code)]
    id: i32,
}

#[derive(FromRecord, Debug)]
struct RequiredEmail {
    #[allow(dead_code)]
    email: String,
}

#[quarry::test]
async fn errors_say_what_to_do(mut conn: Connection) {
    setup(&mut conn).await;
    let err = query_as::<Misspelled>("SELECT id, name, email FROM users")
        .fetch_all(&mut conn)
        .await
        .unwrap_err();
    assert_eq!(
        err.message(),
        "no column \"nmae\" in row (columns: id, name, email)"
    );
    let err = query_as::<NarrowId>("SELECT id, name, email FROM users")
        .fetch_all(&mut conn)
        .await
        .unwrap_err();
    assert_eq!(
        err.message(),
        "column \"id\" is int8; cannot decode into i32 (use i64)"
    );
    let err = query_as::<RequiredEmail>("SELECT email FROM users WHERE id = 2")
        .fetch_all(&mut conn)
        .await
        .unwrap_err();
    assert_eq!(
        err.message(),
        "column \"email\" is NULL; use Option<String>"
    );
}

#[quarry::test]
async fn the_connection_stays_usable_after_a_row_fails(mut conn: Connection) {
    setup(&mut conn).await;
    query_as::<RequiredEmail>("SELECT email FROM users ORDER BY id")
        .fetch_all(&mut conn)
        .await
        .unwrap_err();
    let users: Vec<User> = query_as("SELECT * FROM users")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    assert_eq!(users.len(), 2);
    query("SELECT 1").execute(&mut conn).await.unwrap();
}

// --- Generic structs: bounds only where the type parameters are -----------------------

#[derive(FromRecord, Debug, PartialEq)]
struct Page<T> {
    #[quarry(flatten)]
    item: T,
    total: i64,
}

#[derive(FromRecord, Debug, PartialEq)]
struct Single<T> {
    value: T,
}

#[quarry::test]
async fn generic_structs(mut conn: Connection) {
    let p: Page<Single<String>> = query_as("SELECT 'x' AS value, 10::int8 AS total")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        p,
        Page {
            item: Single {
                value: "x".to_owned()
            },
            total: 10
        }
    );
    let s: Single<Option<i32>> = query_as("SELECT NULL::int4 AS value")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(s.value, None);
}

/// `#[derive(CopyRow)]`: a struct's fields, in order, are the columns of a binary COPY,
/// written with `copy_in` and read back with `copy_out`.
#[quarry::test]
async fn copy_row_structs_go_in_and_out(mut conn: Connection) {
    #[derive(quarry::CopyRow, Debug, PartialEq, Clone)]
    struct Reading {
        sensor: i64,
        value: f64,
        note: Option<String>,
    }
    #[derive(quarry::CopyRow, Debug, PartialEq)]
    struct Pair(i64, f64);

    conn.batch_execute("CREATE TABLE readings (sensor int8, value float8, note text)")
        .await
        .unwrap();
    let rows: Vec<Reading> = (0..1000)
        .map(|i| Reading {
            sensor: i,
            value: i as f64 / 4.0,
            note: (i % 3 == 0).then(|| format!("n{i}")),
        })
        .collect();
    let mut writer = conn
        .copy_in::<Reading>("COPY readings (sensor, value, note) FROM STDIN BINARY")
        .await
        .unwrap();
    writer.write_all(rows.iter()).await.unwrap();
    assert_eq!(writer.finish().await.unwrap(), 1000);

    let mut reader = conn
        .copy_out::<Reading>(
            "COPY (SELECT sensor, value, note FROM readings ORDER BY sensor) TO STDOUT BINARY",
        )
        .await
        .unwrap();
    assert_eq!(reader.read_all().await.unwrap(), rows);

    let mut pairs = conn
        .copy_out::<Pair>("COPY (SELECT sensor, value FROM readings WHERE sensor < 2 ORDER BY sensor) TO STDOUT BINARY")
        .await
        .unwrap();
    assert_eq!(
        pairs.read_all().await.unwrap(),
        [Pair(0, 0.0), Pair(1, 0.25)]
    );

    // A struct whose fields do not fit the table's columns is refused before any row is sent.
    let wrong = conn
        .copy_in_table::<Pair>("readings", &["sensor", "note"])
        .await;
    assert!(
        wrong.is_err(),
        "a float8 field was accepted for a text column"
    );
    drop(wrong);
    let n: i64 = quarry::query_scalar("SELECT count(*) FROM readings")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(n, 1000);
}
