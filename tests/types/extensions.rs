//! Extension types (`CREATE EXTENSION` once per server, in `support::server`):
//! `hstore`, `ltree`/`lquery`/`ltxtquery`, `citext`. Their OIDs differ per
//! database; the connection looks them up by name.

use std::collections::{BTreeMap, HashMap};

use quarry::types::{
    Decode, DecodeError, Encode, EncodeBuf, EncodeError, IsNull, Lquery, Ltree, Ltxtquery, Type,
    TypeRef, ValueRef,
};
use quarry::{AssertSqlSafe, query};

use crate::support::{Failures, connect, round_trip, simple_row};

fn pairs(p: &[(&str, Option<&str>)]) -> BTreeMap<String, Option<String>> {
    p.iter()
        .map(|(k, v)| ((*k).to_owned(), v.map(str::to_owned)))
        .collect()
}

/// `hstore` as `BTreeMap` and `HashMap`: empty, NULL values, empty keys and
/// values, the characters its syntax quotes, Unicode, and many pairs.
#[tokio::test]
async fn hstore() {
    let mut conn = connect().await;
    let mut f = Failures::new("hstore");
    let many: Vec<(String, Option<String>)> = (0..1000)
        .map(|i| (format!("k{i:04}"), Some(i.to_string())))
        .collect();
    let many_text = many
        .iter()
        .map(|(k, v)| format!("\"{k}\"=>\"{}\"", v.as_deref().unwrap_or_default()))
        .collect::<Vec<_>>()
        .join(", ");
    let cases = [
        (pairs(&[]), String::new()),
        (pairs(&[("a", Some("1"))]), "\"a\"=>\"1\"".to_owned()),
        (
            pairs(&[
                ("a", Some("1")),
                ("b", None),
                ("", Some("")),
                ("k \" q", Some("v,=>")),
                ("é", Some("😀")),
            ]),
            "\"\"=>\"\", \"a\"=>\"1\", \"b\"=>NULL, \"é\"=>\"😀\", \"k \\\" q\"=>\"v,=>\""
                .to_owned(),
        ),
        (pairs(&[("NULL", None)]), "\"NULL\"=>NULL".to_owned()),
        (
            pairs(&[("NULL", Some("NULL"))]),
            "\"NULL\"=>\"NULL\"".to_owned(),
        ),
        (
            pairs(&[("back\\slash", Some("\\"))]),
            "\"back\\\\slash\"=>\"\\\\\"".to_owned(),
        ),
        (many.into_iter().collect(), many_text),
    ];
    for (v, text) in &cases {
        f.push(round_trip(&mut conn, "hstore", v, text).await);
        let hashed: HashMap<String, Option<String>> = v.clone().into_iter().collect();
        f.push(round_trip(&mut conn, "hstore", &hashed, text).await);
    }
    f.finish();
}

#[tokio::test]
async fn ltree() {
    let mut conn = connect().await;
    let mut f = Failures::new("ltree");
    let deep = vec!["label"; 1000].join(".");
    for text in [
        "",
        "a",
        "a.b.c",
        "Top.Science.Astronomy",
        "_1.a_b",
        deep.as_str(),
    ] {
        f.push(round_trip(&mut conn, "ltree", &Ltree::from(text), text).await);
    }
    for text in ["*", "*.a|b.c*", "top.*{1,2}.b", "!a.*", "a%@|b*"] {
        f.push(round_trip(&mut conn, "lquery", &Lquery::from(text), text).await);
    }
    for text in ["a", "a & b*", "!a | b@ & c%*", "( a | b ) & c"] {
        f.push(round_trip(&mut conn, "ltxtquery", &Ltxtquery::from(text), text).await);
    }
    f.finish();
}

/// `citext` as a user would declare an extension type Quarry has no type for:
/// by name, resolved by the connection when first bound.
#[derive(Clone, Debug, PartialEq)]
struct Citext(String);

impl Type for Citext {
    fn type_ref() -> TypeRef {
        TypeRef::Named("citext")
    }
}

impl Encode for Citext {
    fn encode(&self, buf: &mut EncodeBuf) -> Result<IsNull, EncodeError> {
        self.0.encode(buf)
    }
    fn param_type(&self) -> TypeRef {
        Self::type_ref()
    }
}

impl<'r> Decode<'r> for Citext {
    fn decode(value: ValueRef<'r>) -> Result<Self, DecodeError> {
        String::decode(value).map(Citext)
    }
}

/// `citext` reads into `String`, like `text`, as values and arrays (`String` is
/// sent as `text`; the server casts). `String` knows `citext` by name; the
/// connection looks the name up (here also by binding a `Citext`).
#[tokio::test]
async fn citext() {
    let mut conn = connect().await;
    let mut f = Failures::new("citext");
    for text in ["", "AbC", "héLLo ✓ 😀", "\"quoted\" {braces}", "NULL"] {
        f.push(round_trip(&mut conn, "citext", &Citext(text.to_owned()), text).await);
        f.push(round_trip(&mut conn, "citext", &text.to_owned(), text).await);
    }
    f.finish();
}

/// On a fresh connection, before any extension value was bound, `hstore`,
/// `ltree` and `citext` columns read, in both formats, as values and in
/// arrays: the connection names a result's user types (one catalog lookup)
/// before handing out its rows the first time.
#[tokio::test]
async fn extension_columns_on_a_fresh_connection() {
    let sql = "SELECT 'a=>1'::hstore, 'x.y'::ltree, ARRAY['a=>1'::hstore], ARRAY['x.y'::ltree], \
               'MiXeD'::citext, ARRAY['a'::citext, NULL]";
    let want_map = pairs(&[("a", Some("1"))]);
    let want_path = Ltree::from("x.y");
    for binary in [true, false] {
        let mut conn = connect().await;
        let (format, row) = if binary {
            (
                "binary",
                query(AssertSqlSafe(sql))
                    .fetch_one(&mut conn)
                    .await
                    .unwrap(),
            )
        } else {
            ("text", simple_row(&mut conn, sql).await.unwrap())
        };
        assert_eq!(
            row.get::<BTreeMap<String, Option<String>>, _>(0),
            want_map,
            "{format}"
        );
        assert_eq!(row.get::<Ltree, _>(1), want_path, "{format}");
        assert_eq!(
            row.get::<Vec<HashMap<String, Option<String>>>, _>(2),
            [want_map.clone().into_iter().collect()],
            "{format}"
        );
        assert_eq!(
            row.get::<Vec<Ltree>, _>(3),
            std::slice::from_ref(&want_path),
            "{format}"
        );
        assert_eq!(row.get::<String, _>(4), "MiXeD", "{format}");
        assert_eq!(
            row.get::<Vec<Option<String>>, _>(5),
            [Some("a".to_owned()), None],
            "{format}"
        );
    }
}
