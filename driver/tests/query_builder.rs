//! `QueryBuilder` against a real server: `$n` always match the values (a deterministic
//! generator over many push sequences), identifiers with quotes, spaces and unicode
//! round-trip through a real table, and values stay values.
#![cfg(all(feature = "temp-server", unix))]

use std::sync::OnceLock;

use quarry_driver::query::{Identifier, Literal};
use quarry_driver::{
    Arguments, Connection, Pool, QueryBuilder, TempServer, query_as, query_scalar,
};

static SERVER: OnceLock<TempServer> = OnceLock::new();

fn server() -> &'static TempServer {
    SERVER.get_or_init(|| TempServer::start().expect("starting the test server"))
}

async fn connect() -> Connection {
    Connection::connect(&server().url()).await.unwrap()
}

/// xorshift64*: a fixed sequence, so a failure is reproducible from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn small(&mut self, n: u64) -> i64 {
        i64::try_from(self.below(n)).expect("below n fits")
    }
    fn index(&mut self, len: usize) -> usize {
        usize::try_from(self.below(len as u64)).expect("an index fits")
    }
    fn text(&mut self) -> String {
        const PIECES: [&str; 10] = [
            "a",
            "'",
            "\"",
            "$1",
            "\\",
            "; DROP TABLE t; --",
            " ",
            "é",
            "表",
            "$$",
        ];
        (0..self.below(6))
            .map(|_| PIECES[self.index(PIECES.len())])
            .collect()
    }
}

/// The `$n` of `sql` outside quoted strings, in order of appearance.
fn placeholders(sql: &str) -> Vec<usize> {
    let mut out = Vec::new();
    let b = sql.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\'' {
            // A quoted string (the literals are E'' strings): its `$` are text.
            i += 1;
            while i < b.len() {
                match b[i] {
                    b'\\' => i += 2,
                    b'\'' if b.get(i + 1) == Some(&b'\'') => i += 2,
                    b'\'' => break,
                    _ => i += 1,
                }
            }
            i += 1;
        } else if b[i] == b'$' {
            let start = i + 1;
            let mut j = start;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            out.push(sql[start..j].parse().expect("a $ followed by a number"));
            i = j;
        } else {
            i += 1;
        }
    }
    out
}

/// One random SELECT list: each column a bound value, a literal, a list or a `VALUES`
/// subquery, cast to text; returns the builder and the text each column must read.
fn random_query(rng: &mut Rng) -> (QueryBuilder, Vec<Option<String>>) {
    let mut b = QueryBuilder::new("SELECT ");
    let mut expected = Vec::new();
    let columns = 1 + rng.below(12);
    let mut list = b.separated(", ");
    for _ in 0..columns {
        match rng.below(6) {
            0 => {
                let v = i64::from_ne_bytes(rng.next().to_ne_bytes());
                list.push("(")
                    .push_bind_unseparated(v)
                    .push_unseparated(")::text");
                expected.push(Some(v.to_string()));
            }
            1 => {
                let s = rng.text();
                list.push("(")
                    .push_bind_unseparated(s.clone())
                    .push_unseparated(")::text");
                expected.push(Some(s));
            }
            2 => {
                list.push("(")
                    .push_bind_unseparated(None::<i32>)
                    .push_unseparated(")::text");
                expected.push(None);
            }
            3 => {
                let s = rng.text();
                list.push("(")
                    .push_unseparated(quarry_driver::AssertSqlSafe(
                        Literal::from(s.as_str()).to_string(),
                    ));
                list.push_unseparated(")::text");
                expected.push(Some(s));
            }
            4 => {
                let xs: Vec<i64> = (0..rng.below(4)).map(|_| rng.small(100)).collect();
                list.push("array_to_string(")
                    .push_bind_unseparated(xs.clone());
                list.push_unseparated("::int8[], ',')");
                let joined: Vec<String> = xs.iter().map(i64::to_string).collect();
                expected.push(Some(joined.join(",")));
            }
            _ => {
                let a = rng.small(1000);
                let c = rng.text();
                list.push("(SELECT string_agg(x || ':' || y, ';') FROM (");
                list.push_unseparated("VALUES (");
                list.push_bind_unseparated(a)
                    .push_unseparated(", ")
                    .push_bind_unseparated(c.clone());
                list.push_unseparated("), (").push_bind_unseparated(a + 1);
                list.push_unseparated(", ").push_bind_unseparated(c.clone());
                list.push_unseparated(")) AS v (x, y))");
                expected.push(Some(format!("{a}:{c};{}:{c}", a + 1)));
            }
        }
    }
    (b, expected)
}

#[test]
fn placeholders_match_the_bound_values_for_any_push_sequence() {
    for seed in 1..=2000_u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let (b, _) = random_query(&mut rng);
        let found = placeholders(b.sql());
        let want: Vec<usize> = (1..=b.bound()).collect();
        assert_eq!(found, want, "seed {seed}: {}", b.sql());
    }
}

#[tokio::test]
async fn random_queries_read_back_their_values_on_a_real_server() {
    let mut conn = connect().await;
    for seed in 1..=150_u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let (b, expected) = random_query(&mut rng);
        let sql = b.sql().to_owned();
        let row = b
            .build()
            .fetch_one(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("seed {seed}: {sql}: {}", e.display_chain()));
        let got: Vec<Option<String>> = (0..row.len()).map(|i| row.try_get(i).unwrap()).collect();
        assert_eq!(got, expected, "seed {seed}: {sql}");
    }
}

#[tokio::test]
async fn values_also_on_a_single_values_list() {
    let mut conn = connect().await;
    conn.batch_execute("CREATE TEMP TABLE pairs (a int8, b text)")
        .await
        .unwrap();
    let mut b = QueryBuilder::new("INSERT INTO pairs (a, b) ");
    b.push_values(
        (1..=3_i64).map(|i| (i, format!("v{i}"))),
        |mut row, (a, s)| {
            row.push_bind(a).push_bind(s);
        },
    );
    assert_eq!(
        b.sql(),
        "INSERT INTO pairs (a, b) VALUES ($1, $2), ($3, $4), ($5, $6)"
    );
    assert_eq!(b.build().execute(&mut conn).await.unwrap(), 3);
    let mut b = QueryBuilder::new("SELECT b FROM pairs WHERE a = ANY(");
    b.push_bind(vec![1_i64, 3]).push(") ORDER BY a");
    let got: Vec<String> = b.build_query_scalar().fetch_all(&mut conn).await.unwrap();
    assert_eq!(got, ["v1", "v3"]);
}

#[tokio::test]
async fn identifiers_with_quotes_spaces_and_unicode_round_trip() {
    let mut conn = connect().await;
    let table = "Wéird \"table\" 表";
    let columns = [
        "id",
        "with space",
        "quo\"te",
        "MixedCase",
        "ünïcödé 列",
        "a.b",
        "select",
    ];
    let mut b = QueryBuilder::new("CREATE TABLE ");
    b.push_identifier(table).push(" (");
    let mut list = b.separated(", ");
    for c in columns {
        list.push_identifier(c).push_unseparated(" text");
    }
    b.push(")");
    b.build().execute(&mut conn).await.unwrap();

    // The catalog holds the names exactly as given.
    let names: Vec<String> = query_scalar(
        "SELECT attname::text FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 \
         ORDER BY attnum",
    )
    .bind(Identifier::new(table).to_string())
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert_eq!(names, columns);

    let mut b = QueryBuilder::new("INSERT INTO ");
    b.push_identifier_value(&Identifier::qualified(["public", table]))
        .push(" (");
    let mut list = b.separated(", ");
    for c in columns {
        list.push_identifier(c);
    }
    b.push(") ");
    b.push_values([columns], |mut row, cols| {
        for c in cols {
            row.push_bind(format!("value of {c}"));
        }
    });
    b.build().execute(&mut conn).await.unwrap();

    let mut b = QueryBuilder::new("SELECT ");
    b.push_identifier("quo\"te")
        .push(", ")
        .push_identifier("ünïcödé 列")
        .push(" FROM ");
    b.push_identifier(table)
        .push(" WHERE ")
        .push_identifier("with space")
        .push(" = ");
    b.push_bind("value of with space");
    let got: (String, String) = b.build_query_as().fetch_one(&mut conn).await.unwrap();
    assert_eq!(
        got,
        ("value of quo\"te".into(), "value of ünïcödé 列".into())
    );
}

#[tokio::test]
async fn an_injection_attempt_stays_a_value() {
    let pool = Pool::connect(&server().url()).await.unwrap();
    let mut conn = connect().await;
    conn.batch_execute("CREATE TABLE IF NOT EXISTS victims (name text)")
        .await
        .unwrap();
    let evil = "x'); DROP TABLE victims; --";
    let mut b = QueryBuilder::new("INSERT INTO victims (name) VALUES (");
    b.push_bind(evil).push(")");
    b.build().execute(&pool).await.unwrap();

    // As a literal too, whatever standard_conforming_strings says.
    let evil_backslash = r"x\'); DROP TABLE victims; --";
    for scs in ["on", "off"] {
        conn.batch_execute(&format!("SET standard_conforming_strings = {scs}"))
            .await
            .unwrap();
        let mut b = QueryBuilder::new("INSERT INTO victims (name) VALUES (");
        b.push_literal(&Literal::from(evil_backslash)).push(")");
        b.build().execute(&mut conn).await.unwrap();
    }

    let mut b = QueryBuilder::new("SELECT name FROM victims WHERE name = ");
    b.push_bind(evil);
    let found: Vec<String> = b.build_query_scalar().fetch_all(&pool).await.unwrap();
    assert_eq!(found, [evil]);
    let n: i64 = query_scalar("SELECT count(*) FROM victims WHERE name = $1")
        .bind(evil_backslash)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(n, 2, "the table is still there and holds the literal twice");

    // A name is quoted, not obeyed.
    let mut b = QueryBuilder::new("SELECT count(*) FROM ");
    b.push_identifier("victims; DROP TABLE victims");
    let e = b.build().execute(&pool).await.unwrap_err();
    assert!(e.to_string().contains("does not exist"), "{e}");
    let mut b = QueryBuilder::new("SELECT 1 FROM ");
    b.push_identifier("bad\0name");
    let e = b.build().execute(&pool).await.unwrap_err();
    assert!(e.to_string().contains("NUL"), "{e}");
}

#[tokio::test]
async fn bind_all_on_every_builder() {
    let mut conn = connect().await;
    let mut args = Arguments::new();
    args.add(2_i64);
    args.add("two");
    let row: (i64, String) = query_as("SELECT $1::int8, $2::text")
        .bind_all(args)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(row, (2, "two".to_owned()));
    let mut args = Arguments::new();
    args.add(40_i64);
    let n: i64 = query_scalar("SELECT $1::int8 + 2")
        .bind_all(args)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(n, 42);
}
