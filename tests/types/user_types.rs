//! User-defined types as `#[derive(PgType)]` will write them: an enum and a
//! composite known by name (`TypeRef::Named`), encoded with
//! `CompositeEncoder` and decoded with `CompositeDecoder`, with a field of an
//! extension type (`hstore`) and a field of the enum. The connection looks up
//! their OIDs and fills in the placeholders the encoders leave, also inside
//! arrays of them.

use std::collections::BTreeMap;
use std::ops::Bound::{Excluded, Included, Unbounded};

use quarry::types::{
    CompositeDecoder, CompositeEncoder, Decode, DecodeError, Encode, EncodeBuf, EncodeError,
    IsNull, MultiRange, Range, RangeSubtype, Type, TypeRef, ValueRef,
};

use crate::support::{Failures, binary_row, connect, get, needs_server, round_trip, simple_row};

#[derive(Clone, Debug, PartialEq)]
struct Feeling(String);

impl Type for Feeling {
    fn type_ref() -> TypeRef {
        TypeRef::Named("typetests_feeling")
    }
}

impl Encode for Feeling {
    fn encode(&self, buf: &mut EncodeBuf) -> Result<IsNull, EncodeError> {
        // enum_recv reads the label's text.
        buf.extend_from_slice(self.0.as_bytes());
        Ok(IsNull::No)
    }
    fn param_type(&self) -> TypeRef {
        Self::type_ref()
    }
}

impl<'r> Decode<'r> for Feeling {
    fn decode(value: ValueRef<'r>) -> Result<Self, DecodeError> {
        <&str>::decode(value).map(|s| Feeling(s.to_owned()))
    }
}

#[derive(Clone, Debug, PartialEq)]
struct Item {
    id: Option<i64>,
    tags: Option<BTreeMap<String, Option<String>>>,
    feeling: Option<Feeling>,
    label: String,
}

impl Type for Item {
    fn type_ref() -> TypeRef {
        TypeRef::Named("typetests_item")
    }
}

impl Encode for Item {
    fn encode(&self, buf: &mut EncodeBuf) -> Result<IsNull, EncodeError> {
        let mut record = CompositeEncoder::new(buf);
        record.field(&self.id)?;
        record.field(&self.tags)?;
        record.field(&self.feeling)?;
        record.field(&self.label)?;
        record.finish()
    }
    fn param_type(&self) -> TypeRef {
        Self::type_ref()
    }
}

impl<'r> Decode<'r> for Item {
    fn decode(value: ValueRef<'r>) -> Result<Self, DecodeError> {
        let mut record = CompositeDecoder::new(value)?;
        record.expect_fields(4, "Item")?;
        let item = Item {
            id: record.read()?,
            tags: record.read()?,
            feeling: record.read()?,
            label: record.read()?,
        };
        record.finish()?;
        Ok(item)
    }
}

#[tokio::test]
async fn enum_and_composite_known_by_name() {
    let mut conn = connect().await;
    conn.batch_execute(
        "DROP TYPE IF EXISTS typetests_item; DROP TYPE IF EXISTS typetests_feeling; \
         CREATE TYPE typetests_feeling AS ENUM ('sad', 'happy'); \
         CREATE TYPE typetests_item AS \
             (id int8, tags hstore, feeling typetests_feeling, label text)",
    )
    .await
    .unwrap();
    let mut f = Failures::new("user types");
    for label in ["sad", "happy"] {
        f.push(
            round_trip(
                &mut conn,
                "typetests_feeling",
                &Feeling(label.to_owned()),
                label,
            )
            .await,
        );
    }
    let tags: BTreeMap<String, Option<String>> = [("a".to_owned(), Some("1".to_owned()))].into();
    for (v, text) in [
        (
            Item {
                id: Some(7),
                tags: Some(tags),
                feeling: Some(Feeling("happy".to_owned())),
                label: "x y".to_owned(),
            },
            "(7,\"\"\"a\"\"=>\"\"1\"\"\",happy,\"x y\")",
        ),
        (
            Item {
                id: None,
                tags: None,
                feeling: None,
                label: String::new(),
            },
            "(,,,\"\")",
        ),
        (
            Item {
                id: Some(i64::MIN),
                tags: Some(BTreeMap::new()),
                feeling: Some(Feeling("sad".to_owned())),
                label: "a \"b\" \\ é (c),".to_owned(),
            },
            "(-9223372036854775808,\"\",sad,\"a \"\"b\"\" \\\\ é (c),\")",
        ),
    ] {
        f.push(round_trip(&mut conn, "typetests_item", &v, text).await);
    }
    f.finish();
}

/// `Ok` when `got` is `want`, else a message naming the step.
fn equal<T: PartialEq + std::fmt::Debug>(step: &str, got: &T, want: &T) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{step}: decoded {got:?}, expected {want:?}"))
    }
}

/// The single row of `sql`, in text (simple protocol) or binary format.
async fn one_row(
    conn: &mut quarry::Connection,
    sql: &str,
    text: bool,
) -> Result<quarry::Row, String> {
    if text {
        simple_row(conn, sql).await
    } else {
        binary_row(conn, quarry::query(quarry::AssertSqlSafe(sql.to_owned()))).await
    }
}

/// A domain reads as its base type wherever it appears. At the top level the server
/// already sends the base type; inside an array or a composite the value carries the
/// domain's own OID, which the connection resolves through the catalog: domains over
/// domains, domains over extension types (`citext`), in both formats.
#[tokio::test]
async fn domains_nested_in_arrays_and_composites_read_as_their_base_type() {
    let mut conn = connect().await;
    conn.batch_execute(
        "DROP TYPE IF EXISTS typetests_person; \
         DROP DOMAIN IF EXISTS typetests_small; DROP DOMAIN IF EXISTS typetests_positive; \
         DROP DOMAIN IF EXISTS typetests_email; \
         CREATE DOMAIN typetests_positive AS integer CHECK (VALUE > 0); \
         CREATE DOMAIN typetests_small AS typetests_positive CHECK (VALUE < 100); \
         CREATE DOMAIN typetests_email AS citext; \
         CREATE TYPE typetests_person AS \
             (id int4, age typetests_small, score typetests_positive, email typetests_email)",
    )
    .await
    .unwrap();
    let mut f = Failures::new("domains nested in containers");
    let ints = "SELECT ARRAY[1, 50]::typetests_positive[]";
    let small = "SELECT ARRAY[3, NULL]::typetests_small[]";
    let emails = "SELECT ARRAY['A@b.example', NULL]::typetests_email[]";
    let person = "SELECT ROW(1, 42, 7, 'X@y.example')::typetests_person";
    for text in [false, true] {
        let format = if text { "text" } else { "binary" };
        let step = |sql: &str| format!("{sql} ({format})");
        let r = one_row(&mut conn, ints, text).await;
        f.push(
            r.and_then(|r| get::<Vec<i32>>(&r, 0, &step(ints)))
                .and_then(|v| equal(&step(ints), &v, &vec![1, 50])),
        );
        let r = one_row(&mut conn, small, text).await;
        f.push(
            r.and_then(|r| get::<Vec<Option<i32>>>(&r, 0, &step(small)))
                .and_then(|v| equal(&step(small), &v, &vec![Some(3), None])),
        );
        let r = one_row(&mut conn, emails, text).await;
        f.push(
            r.and_then(|r| get::<Vec<Option<String>>>(&r, 0, &step(emails)))
                .and_then(|v| {
                    equal(
                        &step(emails),
                        &v,
                        &vec![Some("A@b.example".to_owned()), None],
                    )
                }),
        );
        let r = one_row(&mut conn, person, text).await;
        f.push(
            r.and_then(|r| get::<(i32, i32, i32, String)>(&r, 0, &step(person)))
                .and_then(|v| equal(&step(person), &v, &(1, 42, 7, "X@y.example".to_owned()))),
        );
    }
    f.finish();
}

/// An extension type inside an anonymous record reads like at the top level once the
/// connection knows its name; before, the error names the field's type once.
#[tokio::test]
async fn an_extension_type_inside_a_record() {
    let mut conn = connect().await;
    let sql = "SELECT ROW('Ab'::citext)";
    let err = quarry::query_scalar::<(String,)>(sql)
        .fetch_one(&mut conn)
        .await
        .expect_err("citext is not known to a fresh connection");
    let message = err.to_string();
    assert!(
        message.contains("user-defined type OID") && !message.contains("(OID"),
        "{message}"
    );
    let top: String = quarry::query_scalar("SELECT 'x'::citext")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(top, "x");
    let (field,): (String,) = quarry::query_scalar(sql)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(field, "Ab");
}

/// A value of the domain `typetests_posint` (over `int4`), for the range type over it.
#[derive(Clone, Copy, Debug, PartialEq)]
struct PosInt(i32);

impl Type for PosInt {
    fn type_ref() -> TypeRef {
        TypeRef::Named("typetests_posint")
    }
    fn compatible(ty: &quarry::types::TypeInfo) -> bool {
        quarry::types::type_ref_accepts(Self::type_ref(), ty) || i32::compatible(ty)
    }
}

impl Encode for PosInt {
    fn encode(&self, buf: &mut EncodeBuf) -> Result<IsNull, EncodeError> {
        self.0.encode(buf)
    }
    fn param_type(&self) -> TypeRef {
        Self::type_ref()
    }
}

impl<'r> Decode<'r> for PosInt {
    fn decode(value: ValueRef<'r>) -> Result<Self, DecodeError> {
        i32::decode(value).map(PosInt)
    }
}

impl RangeSubtype for PosInt {
    fn range_type() -> TypeRef {
        TypeRef::Named("typetests_posrange")
    }
    fn multirange_type() -> TypeRef {
        TypeRef::Named("typetests_posmultirange")
    }
}

/// A user range over a domain (`CREATE TYPE r AS RANGE (subtype = positive_int)`) reads
/// as a range of the domain's base type, `Range<i32>`, in both formats, inside arrays and
/// records, and as a multirange (PostgreSQL 14+); a `RangeSubtype` naming the range type
/// sends it, and the server checks the domain's constraint on each bound.
#[tokio::test]
async fn ranges_over_a_domain_read_as_ranges_of_its_base_type() {
    let mut conn = connect().await;
    let major = conn.server_version().major();
    conn.batch_execute(
        "DROP TYPE IF EXISTS typetests_posrange; DROP DOMAIN IF EXISTS typetests_posint; \
         CREATE DOMAIN typetests_posint AS integer CHECK (VALUE > 0); \
         CREATE TYPE typetests_posrange AS RANGE (subtype = typetests_posint, \
             multirange_type_name = typetests_posmultirange)"
            .replace(
                ", \
             multirange_type_name = typetests_posmultirange",
                if major >= 14 {
                    ", multirange_type_name = typetests_posmultirange"
                } else {
                    ""
                },
            )
            .as_str(),
    )
    .await
    .unwrap();
    let mut f = Failures::new("ranges over a domain");
    let range = "SELECT '[1,5)'::typetests_posrange";
    let array = "SELECT ARRAY['[1,5)'::typetests_posrange, NULL, '(,7]']";
    let record = "SELECT ROW('[2,3]'::typetests_posrange)";
    let multi = "SELECT '{[1,3), [5,)}'::typetests_posmultirange";
    for text in [false, true] {
        let format = if text { "text" } else { "binary" };
        let step = |sql: &str| format!("{sql} ({format})");
        let r = one_row(&mut conn, range, text).await;
        f.push(
            r.and_then(|r| get::<Range<i32>>(&r, 0, &step(range)))
                .and_then(|v| equal(&step(range), &v, &Range::from(1..5))),
        );
        let r = one_row(&mut conn, array, text).await;
        f.push(
            r.and_then(|r| get::<Vec<Option<Range<i32>>>>(&r, 0, &step(array)))
                .and_then(|v| {
                    let want = vec![
                        Some(Range::from(1..5)),
                        None,
                        Some(Range::new(Unbounded, Included(7))),
                    ];
                    equal(&step(array), &v, &want)
                }),
        );
        let r = one_row(&mut conn, record, text).await;
        f.push(
            r.and_then(|r| get::<(Range<i32>,)>(&r, 0, &step(record)))
                .and_then(|v| equal(&step(record), &v, &(Range::from(2..=3),))),
        );
        // Not as a range of another base type.
        let r = one_row(&mut conn, range, text).await;
        f.push(r.and_then(|r| match r.try_get::<Range<i64>, _>(0) {
            Err(e) if e.to_string().contains("typetests_posrange") => Ok(()),
            other => Err(format!("{}: Range<i64>: {other:?}", step(range))),
        }));
        let r = one_row(&mut conn, multi, text).await;
        let outcome = r
            .and_then(|r| get::<MultiRange<i32>>(&r, 0, &step(multi)))
            .and_then(|v| {
                let want = MultiRange(vec![Range::from(1..3), Range::from(5..)]);
                equal(&step(multi), &v, &want)
            });
        f.push(needs_server(major, 14, "42704", outcome));
    }
    // Sent through a `RangeSubtype` that names the range type: the full round trip.
    for (v, text) in [
        (Range::from(PosInt(1)..PosInt(5)), "[1,5)"),
        (Range::new(Excluded(PosInt(1)), Unbounded), "(1,)"),
        (Range::<PosInt>::Empty, "empty"),
    ] {
        f.push(round_trip(&mut conn, "typetests_posrange", &v, text).await);
    }
    f.finish();
    // Each bound is checked against the domain by the server.
    let err = quarry::query("SELECT $1")
        .bind(Range::from(PosInt(0)..PosInt(5)))
        .execute(&mut conn)
        .await
        .expect_err("0 is not a typetests_posint");
    assert!(err.is_check_violation(), "{err}");
}
