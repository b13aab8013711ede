//! `#[derive(PgType)]` against a real server: enums, composites, domains, arrays of
//! them, the catalog check, and `reload_types()` after DDL.

use quarry::types::PgValue;
use quarry::{Connection, PgType, query, query_scalar};

#[derive(PgType, Clone, Copy, Debug, PartialEq, Eq)]
#[pg(type_name = "mood", rename_all = "snake_case")]
enum Mood {
    Happy,
    Sad,
    VeryHappy,
}

#[derive(PgType, Clone, Debug, PartialEq)]
#[pg(type_name = "pair")]
struct Pair {
    label: String,
    score: i32,
    mood: Option<Mood>,
}

/// A composite holding a composite and an array of enums.
#[derive(PgType, Clone, Debug, PartialEq)]
#[pg(type_name = "app.outer")]
struct Outer {
    #[pg(rename = "inner_pair")]
    pair: Pair,
    moods: Vec<Mood>,
}

#[derive(PgType, Clone, Debug, PartialEq)]
#[pg(transparent, type_name = "email")]
struct Email(String);

#[derive(PgType, Clone, Copy, Debug, PartialEq)]
#[pg(transparent)]
struct UserId(i64);

/// A generic newtype: the same type as its field.
#[derive(PgType, Clone, Debug, PartialEq)]
#[pg(transparent)]
struct Tagged<T>(T);

const SCHEMA: &str = "
    CREATE TYPE mood AS ENUM ('happy', 'sad', 'very_happy');
    CREATE TYPE pair AS (label text, score int4, mood mood);
    CREATE SCHEMA app;
    CREATE TYPE app.outer AS (inner_pair pair, moods mood[]);
    CREATE DOMAIN email AS text CHECK (VALUE LIKE '%@%');
    CREATE TABLE people (id int8 PRIMARY KEY, mood mood NOT NULL, contact email, best pair);
";

async fn schema(conn: &mut Connection) {
    conn.batch_execute(SCHEMA).await.unwrap();
}

fn pair(label: &str, score: i32, mood: Option<Mood>) -> Pair {
    Pair {
        label: label.into(),
        score,
        mood,
    }
}

#[quarry::test]
async fn enums_round_trip(mut conn: Connection) {
    schema(&mut conn).await;
    for mood in [Mood::Happy, Mood::Sad, Mood::VeryHappy] {
        let back: Mood = query_scalar("SELECT $1::mood")
            .bind(mood)
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(back, mood);
    }
    // The label on the wire is the renamed one.
    let label: String = query_scalar("SELECT ($1::mood)::text")
        .bind(Mood::VeryHappy)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(label, "very_happy");
    // A text column with a label reads too; one that is no label fails, naming the labels.
    let sad: Mood = query_scalar("SELECT 'sad'::text")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(sad, Mood::Sad);
    let err = query_scalar::<Mood>("SELECT 'meh'::text")
        .fetch_one(&mut conn)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("\"meh\" is not a label of Mood (PostgreSQL type mood); expected one of: happy, sad, very_happy"),
        "{err}"
    );
    // The simple protocol (text format) reads the same.
    let rows = conn.simple_query("SELECT 'happy'::mood").await.unwrap();
    assert_eq!(rows[0].get::<Mood, _>(0), Mood::Happy);
}

/// An enum with an empty label, which PostgreSQL accepts (`CREATE TYPE ... AS ENUM ('')`).
#[derive(PgType, Clone, Copy, Debug, PartialEq, Eq)]
#[pg(type_name = "answer")]
enum Answer {
    #[pg(rename = "")]
    Blank,
    #[pg(rename = "yes")]
    Yes,
}

#[quarry::test]
async fn an_empty_enum_label(mut conn: Connection) {
    conn.batch_execute("CREATE TYPE answer AS ENUM ('', 'yes')")
        .await
        .unwrap();
    conn.check_type::<Answer>().await.unwrap();
    for answer in [Answer::Blank, Answer::Yes] {
        let (back, text): (Answer, String) =
            quarry::query_as("SELECT $1::answer, $1::answer::text")
                .bind(answer)
                .fetch_one(&mut conn)
                .await
                .unwrap();
        assert_eq!(back, answer);
        assert_eq!(text, if answer == Answer::Blank { "" } else { "yes" });
    }
}

#[quarry::test]
async fn enums_in_tables_and_arrays(mut conn: Connection) {
    schema(&mut conn).await;
    for (id, mood) in [(1i64, Mood::Happy), (2, Mood::VeryHappy)] {
        query("INSERT INTO people (id, mood) VALUES ($1, $2)")
            .bind(id)
            .bind(mood)
            .execute(&mut conn)
            .await
            .unwrap();
    }
    let moods: Vec<Mood> = query_scalar("SELECT array_agg(mood ORDER BY id) FROM people")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(moods, [Mood::Happy, Mood::VeryHappy]);
    let sent = vec![Mood::Sad, Mood::Happy, Mood::Sad];
    let back: Vec<Mood> = query_scalar("SELECT $1::mood[]")
        .bind(&sent)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(back, sent);
    let with_null: Vec<Option<Mood>> = query_scalar("SELECT ARRAY['sad', NULL]::mood[]")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(with_null, [Some(Mood::Sad), None]);
    let n: i64 = query_scalar("SELECT count(*) FROM people WHERE mood = ANY($1)")
        .bind(vec![Mood::VeryHappy])
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(n, 1);
}

#[quarry::test]
async fn composites_round_trip(mut conn: Connection) {
    schema(&mut conn).await;
    for p in [
        pair("a", 1, Some(Mood::Sad)),
        pair("", -7, None),
        pair("quote \" and , comma", i32::MAX, Some(Mood::VeryHappy)),
    ] {
        let back: Pair = query_scalar("SELECT $1::pair")
            .bind(p.clone())
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(back, p);
        // The server sees the fields where they belong.
        let (label, score): (String, i32) =
            quarry::query_as("SELECT ($1::pair).label, ($1::pair).score")
                .bind(p.clone())
                .fetch_one(&mut conn)
                .await
                .unwrap();
        assert_eq!((label.as_str(), score), (p.label.as_str(), p.score));
    }
    // An anonymous record of the right shape reads too, in binary and in text.
    let anon: Pair = query_scalar("SELECT ROW('r', 2, 'happy'::mood)")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(anon, pair("r", 2, Some(Mood::Happy)));
    let rows = conn
        .simple_query("SELECT ROW('x,y', 3, NULL)::pair")
        .await
        .unwrap();
    assert_eq!(rows[0].get::<Pair, _>(0), pair("x,y", 3, None));
}

#[quarry::test]
async fn nested_composites_and_arrays_of_composites(mut conn: Connection) {
    schema(&mut conn).await;
    let outer = Outer {
        pair: pair("in", 5, None),
        moods: vec![Mood::Happy, Mood::VeryHappy],
    };
    let back: Outer = query_scalar("SELECT $1::app.outer")
        .bind(outer.clone())
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(back, outer);
    let pairs = vec![pair("x", 1, Some(Mood::Sad)), pair("y", 2, None)];
    let back: Vec<Pair> = query_scalar("SELECT $1::pair[]")
        .bind(&pairs)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(back, pairs);
    let count: i32 = query_scalar("SELECT cardinality($1::pair[])")
        .bind(&pairs)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(count, 2);
}

#[quarry::test]
async fn composite_errors_name_the_field(mut conn: Connection) {
    schema(&mut conn).await;
    let err = query_scalar::<Pair>("SELECT ROW('a', 'not a number'::text, NULL::mood)")
        .fetch_one(&mut conn)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("pair.score is of type text"),
        "{err}"
    );
    let err = query_scalar::<Pair>("SELECT ROW('a', 1)")
        .fetch_one(&mut conn)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("record has 2 fields but Pair has 3"),
        "{err}"
    );
    let err = query_scalar::<Pair>("SELECT ROW(NULL::text, 1, NULL::mood)")
        .fetch_one(&mut conn)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("pair.label"), "{err}");
    assert!(err.to_string().contains("NULL"), "{err}");
}

#[quarry::test]
async fn domains_and_newtypes(mut conn: Connection) {
    schema(&mut conn).await;
    let email = Email("ada@example.com".into());
    let back: Email = query_scalar("SELECT $1::email")
        .bind(email.clone())
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(back, email);
    // Sent as the domain: the server checks its constraint.
    let err = query_scalar::<Email>("SELECT $1")
        .bind(Email("no at sign".into()))
        .fetch_one(&mut conn)
        .await
        .unwrap_err();
    assert!(err.is_check_violation(), "{err}");
    query("INSERT INTO people (id, mood, contact) VALUES ($1, 'sad', $2)")
        .bind(UserId(9))
        .bind(&email)
        .execute(&mut conn)
        .await
        .unwrap();
    let (id, contact): (UserId, Email) = quarry::query_as("SELECT id, contact FROM people")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!((id, contact), (UserId(9), email));
    let tagged: Vec<Tagged<Mood>> = query_scalar("SELECT $1::mood[]")
        .bind(vec![Tagged(Mood::Sad)])
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(tagged, [Tagged(Mood::Sad)]);
    // A transparent newtype is its field's type: int8 only.
    let err = query_scalar::<UserId>("SELECT 1::int4")
        .fetch_one(&mut conn)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("cannot decode into UserId"),
        "{err}"
    );
}

#[quarry::test]
async fn unknown_types_read_as_raw_values(mut conn: Connection) {
    schema(&mut conn).await;
    let raw: PgValue = query_scalar("SELECT 'very_happy'::mood")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(raw.bytes(), Some(&b"very_happy"[..]));
    let oid: quarry::types::Oid = query_scalar("SELECT 'mood'::regtype::oid")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(raw.type_info().oid(), oid);
}

#[quarry::test]
async fn check_type_accepts_matching_definitions(mut conn: Connection) {
    schema(&mut conn).await;
    conn.check_type::<Mood>().await.unwrap();
    conn.check_type::<Pair>().await.unwrap();
    conn.check_type::<Outer>().await.unwrap();
    conn.check_type::<Email>().await.unwrap();
}

mod drifted {
    use super::Mood;
    use quarry::PgType;

    #[derive(PgType, Debug)]
    #[pg(type_name = "mood")]
    pub(crate) enum MoodMissingOne {
        #[pg(rename = "happy")]
        Happy,
        #[pg(rename = "sad")]
        Sad,
        #[pg(rename = "angry")]
        Angry,
    }

    #[derive(PgType, Debug)]
    #[pg(type_name = "pair")]
    pub(crate) struct PairSwapped {
        pub(crate) score: i32,
        pub(crate) label: String,
        pub(crate) mood: Option<Mood>,
    }

    #[derive(PgType, Debug)]
    #[pg(type_name = "pair")]
    pub(crate) struct PairWrongType {
        pub(crate) label: String,
        pub(crate) score: i64,
        pub(crate) mood: Option<Mood>,
    }

    #[derive(PgType, Debug)]
    #[pg(type_name = "mood")]
    pub(crate) struct MoodAsComposite {
        pub(crate) x: i32,
    }

    #[derive(PgType, Debug)]
    #[pg(transparent, type_name = "email")]
    pub(crate) struct EmailAsNumber(pub(crate) i64);

    #[derive(PgType, Debug)]
    #[pg(type_name = "no_such_type")]
    pub(crate) enum Missing {
        A,
    }
}

#[quarry::test]
async fn check_type_lists_what_differs(mut conn: Connection) {
    schema(&mut conn).await;
    let msg = |r: quarry::Result<()>| r.unwrap_err().to_string();
    let e = msg(conn.check_type::<drifted::MoodMissingOne>().await);
    assert!(
        e.contains("labels of MoodMissingOne missing from \"mood\": angry"),
        "{e}"
    );
    assert!(
        e.contains("labels of \"mood\" that MoodMissingOne cannot read: very_happy"),
        "{e}"
    );
    let e = msg(conn.check_type::<drifted::PairSwapped>().await);
    assert!(
        e.contains("attribute 1 of \"pair\" is \"label\" but field 1 of PairSwapped is \"score\""),
        "{e}"
    );
    let e = msg(conn.check_type::<drifted::PairWrongType>().await);
    assert!(
        e.contains("\"pair\".score is int4, which i64 cannot read"),
        "{e}"
    );
    let e = msg(conn.check_type::<drifted::MoodAsComposite>().await);
    assert!(e.contains("\"mood\" is an enum"), "{e}");
    let e = msg(conn.check_type::<drifted::EmailAsNumber>().await);
    assert!(e.contains("\"email\" is a domain over text"), "{e}");
    let e = msg(conn.check_type::<drifted::Missing>().await);
    assert!(e.contains("type \"no_such_type\" does not exist"), "{e}");
}

#[quarry::test]
async fn reload_types_after_the_type_is_recreated(mut conn: Connection) {
    schema(&mut conn).await;
    let first: Mood = query_scalar("SELECT $1::mood")
        .bind(Mood::Sad)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(first, Mood::Sad);
    // Same name, new OID: the cached OID now names nothing.
    conn.batch_execute(
        "DROP TABLE people; DROP TYPE app.outer; DROP TYPE pair; DROP TYPE mood;
         CREATE TYPE mood AS ENUM ('happy', 'sad', 'very_happy');",
    )
    .await
    .unwrap();
    let stale = query_scalar::<Mood>("SELECT $1")
        .bind(Mood::Sad)
        .fetch_one(&mut conn)
        .await;
    // The server rejects the dropped type's OID ("cache lookup failed for type ...").
    let stale = stale.expect_err("a dropped type's OID should not resolve");
    assert!(stale.as_db_error().is_some(), "{stale}");
    conn.reload_types();
    let again: Mood = query_scalar("SELECT $1")
        .bind(Mood::VeryHappy)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(again, Mood::VeryHappy);
}
