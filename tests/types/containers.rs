//! Containers: multi-dimensional arrays with lower bounds, ranges,
//! multiranges, records into tuples, and `PgValue` for types Quarry does not know.

use std::ops::Bound::{Excluded, Included, Unbounded};

use quarry::types::{
    Array, Date, MultiRange, Numeric, Oid, PgValue, Range, Timestamp, TimestampTz,
};
use quarry::{AssertSqlSafe, query};

use crate::support::{Failures, connect, needs_server, round_trip, round_trip_value, simple_row};

fn arr<T>(dims: &[usize], lower: &[i32], elements: Vec<T>) -> Array<T> {
    Array::from_vec(dims.to_vec(), lower.to_vec(), elements).expect("a valid test shape")
}

/// `Array<T>`: up to 6 dimensions, lower bounds kept (negative, zero, large),
/// NULL elements, and elements the array syntax must quote.
#[tokio::test]
async fn multi_dimensional_arrays() {
    let mut conn = connect().await;
    let mut f = Failures::new("Array<T>");
    let eq = |a: &Array<i32>, b: &Array<i32>| a == b;
    for (v, text) in [
        (Array::empty(), "{}"),
        (arr(&[1], &[1], vec![5]), "{5}"),
        (arr(&[3], &[0], vec![1, 2, 3]), "[0:2]={1,2,3}"),
        (arr(&[2, 2], &[1, 1], vec![1, 2, 3, 4]), "{{1,2},{3,4}}"),
        (
            arr(&[2, 2], &[0, -1], vec![1, 2, 3, 4]),
            "[0:1][-1:0]={{1,2},{3,4}}",
        ),
        (
            arr(&[2], &[i32::MIN], vec![i32::MIN, i32::MAX]),
            "[-2147483648:-2147483647]={-2147483648,2147483647}",
        ),
        (
            arr(&[1], &[i32::MAX - 1], vec![1]),
            "[2147483646:2147483646]={1}",
        ),
        (
            arr(&[2, 1, 2], &[1, 1, 1], vec![1, 2, 3, 4]),
            "{{{1,2}},{{3,4}}}",
        ),
        (
            arr(&[1, 1, 1, 1, 1, 2], &[1, 1, 1, 1, 1, 1], vec![7, 7]),
            "{{{{{{7,7}}}}}}",
        ),
        (
            arr(&[1, 1, 1, 1, 1, 2], &[-3, 0, 1, 2, 3, 4], vec![7, 8]),
            "[-3:-3][0:0][1:1][2:2][3:3][4:5]={{{{{{7,8}}}}}}",
        ),
    ] {
        f.push(round_trip_value(&mut conn, "int4[]", &v, text, eq).await);
    }
    let with_nulls = arr(
        &[2, 2],
        &[1, 1],
        vec![Some(1i64), None, None, Some(i64::MAX)],
    );
    f.push(
        round_trip_value(
            &mut conn,
            "int8[]",
            &with_nulls,
            "{{1,NULL},{NULL,9223372036854775807}}",
            PartialEq::eq,
        )
        .await,
    );
    let all_null = arr(&[1, 2], &[1, 1], vec![None::<i32>, None]);
    f.push(
        round_trip_value(
            &mut conn,
            "int4[]",
            &all_null,
            "{{NULL,NULL}}",
            PartialEq::eq,
        )
        .await,
    );
    let texts = arr(
        &[2, 3],
        &[1, 1],
        vec![
            Some("a b".to_owned()),
            None,
            Some("".to_owned()),
            Some("NULL".to_owned()),
            Some("\"\\{},".to_owned()),
            Some("é😀".to_owned()),
        ],
    );
    f.push(
        round_trip_value(
            &mut conn,
            "text[]",
            &texts,
            "{{\"a b\",NULL,\"\"},{\"NULL\",\"\\\"\\\\{},\",é😀}}",
            PartialEq::eq,
        )
        .await,
    );
    let numerics = arr(
        &[2, 1],
        &[5, 5],
        vec!["1.50".parse::<Numeric>().unwrap(), Numeric::NAN],
    );
    f.push(
        round_trip_value(
            &mut conn,
            "numeric[]",
            &numerics,
            "[5:6][5:5]={{1.50},{NaN}}",
            PartialEq::eq,
        )
        .await,
    );
    let dates = arr(
        &[1, 2],
        &[1, 1],
        vec![Date::INFINITY, Date::from_ymd(2000, 1, 1).unwrap()],
    );
    f.push(
        round_trip_value(
            &mut conn,
            "date[]",
            &dates,
            "{{infinity,2000-01-01}}",
            PartialEq::eq,
        )
        .await,
    );
    let bytes = arr(&[2], &[1], vec![vec![0u8, 255], vec![]]);
    f.push(
        round_trip_value(
            &mut conn,
            "bytea[]",
            &bytes,
            "{\"\\\\x00ff\",\"\\\\x\"}",
            PartialEq::eq,
        )
        .await,
    );
    // Slices and fixed-size arrays encode as one-dimensional arrays too.
    let row = query("SELECT $1::int4[]::text, $2::text[]::text")
        .bind(&[1i32, 2, 3][..])
        .bind(["x".to_owned(), "y z".to_owned()])
        .fetch_one(&mut conn)
        .await
        .unwrap();
    f.push(check_eq(
        "slice",
        row.get::<String, _>(0),
        "{1,2,3}".to_owned(),
    ));
    f.push(check_eq(
        "array",
        row.get::<String, _>(1),
        "{x,\"y z\"}".to_owned(),
    ));
    f.finish();
}

fn check_eq<T: PartialEq + std::fmt::Debug>(what: &str, got: T, want: T) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what}: got {got:?}, expected {want:?}"))
    }
}

/// `Vec<T>` is one-dimensional: a 2-D array is an error in both formats, never flattened.
#[tokio::test]
async fn two_dimensional_array_into_vec_is_an_error() {
    let mut conn = connect().await;
    let row = query("SELECT '{{1,2},{3,4}}'::int4[]")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let err = row.try_get::<Vec<i32>, _>(0).unwrap_err().to_string();
    assert!(
        err.contains("2 dimensions") || err.contains("dimension"),
        "{err}"
    );
    assert!(
        err.contains("Array"),
        "the message points to Array<T>: {err}"
    );
    // The same array reads as Array<i32>.
    let a: Array<i32> = row.get(0);
    assert_eq!(a.dims(), [2, 2]);

    let row = simple_row(&mut conn, "SELECT '{{1,2},{3,4}}'::int4[]")
        .await
        .unwrap();
    let err = row.try_get::<Vec<i32>, _>(0).unwrap_err().to_string();
    assert!(err.contains("dimension"), "{err}");
    assert!(
        err.contains("Array"),
        "the message points to Array<T>: {err}"
    );
    let a: Array<i32> = row.get(0);
    assert_eq!(a.elements(), [1, 2, 3, 4]);
}

/// A NULL element into `Vec<T>` asks for `Vec<Option<T>>`; a lower bound other
/// than 1 is kept by `Array<T>` only; `[T; N]` needs exactly `N` elements.
#[tokio::test]
async fn array_nulls_and_lower_bounds_into_vec() {
    let mut conn = connect().await;
    for (binary, row) in [
        (
            true,
            query("SELECT '{1,NULL}'::int4[], '[0:1]={5,6}'::int4[]")
                .fetch_one(&mut conn)
                .await
                .unwrap(),
        ),
        (
            false,
            simple_row(
                &mut conn,
                "SELECT '{1,NULL}'::int4[], '[0:1]={5,6}'::int4[]",
            )
            .await
            .unwrap(),
        ),
    ] {
        let err = row.try_get::<Vec<i32>, _>(0).unwrap_err().to_string();
        assert!(err.contains("Option<i32>"), "binary={binary}: {err}");
        assert_eq!(
            row.get::<Vec<Option<i32>>, _>(0),
            [Some(1), None],
            "binary={binary}"
        );
        let a: Array<i32> = row.get(1);
        assert_eq!(a.lower_bounds(), [0], "binary={binary}");
        assert_eq!(a.get(&[0]), Some(&5), "binary={binary}");
        // A fixed-size array needs exactly its length.
        assert_eq!(row.get::<[i32; 2], _>(1), [5, 6], "binary={binary}");
        let err = row.try_get::<[i32; 3], _>(1).unwrap_err().to_string();
        assert!(err.contains("exactly 3"), "binary={binary}: {err}");
    }
}

/// Ranges over every built-in subtype, in the canonical form the server keeps.
#[tokio::test]
async fn ranges() {
    let mut conn = connect().await;
    let mut f = Failures::new("ranges");
    let major = conn.server_version().major();
    for (v, text) in [
        (Range::<i32>::Empty, "empty"),
        (Range::from(1..5), "[1,5)"),
        (Range::from(..4), "(,4)"),
        (Range::from(10..), "[10,)"),
        (Range::from(..), "(,)"),
        (Range::from(i32::MIN..i32::MAX), "[-2147483648,2147483647)"),
        (Range::from(-5..-1), "[-5,-1)"),
    ] {
        f.push(round_trip(&mut conn, "int4range", &v, text).await);
    }
    for (v, text) in [
        (
            Range::from(i64::MIN..i64::MAX),
            "[-9223372036854775808,9223372036854775807)",
        ),
        (Range::new(Unbounded, Excluded(0i64)), "(,0)"),
    ] {
        f.push(round_trip(&mut conn, "int8range", &v, text).await);
    }
    let n = |s: &str| s.parse::<Numeric>().unwrap();
    for (v, text) in [
        (
            Range::new(Included(n("1.5")), Included(n("2.50"))),
            "[1.5,2.50]",
        ),
        (Range::new(Excluded(n("-0.001")), Unbounded), "(-0.001,)"),
        (
            Range::new(Included(n("-Infinity")), Excluded(n("Infinity"))),
            "[-Infinity,Infinity)",
        ),
        (Range::<Numeric>::Empty, "empty"),
    ] {
        // numeric's infinities are PostgreSQL 14's; the driver refuses to send them before.
        let since = if text.contains("Infinity") { 14 } else { 0 };
        let outcome = round_trip(&mut conn, "numrange", &v, text).await;
        f.push(needs_server(major, since, "PostgreSQL 14", outcome));
    }
    let d = |y, m, d| Date::from_ymd(y, m, d).unwrap();
    for (v, text) in [
        (
            Range::from(d(2020, 1, 1)..d(2020, 1, 6)),
            "[2020-01-01,2020-01-06)",
        ),
        (
            Range::new(Included(Date::NEG_INFINITY), Excluded(Date::INFINITY)),
            "[-infinity,infinity)",
        ),
        (
            Range::new(Included(d(-4713, 11, 24)), Unbounded),
            "[\"4714-11-24 BC\",)",
        ),
    ] {
        f.push(round_trip(&mut conn, "daterange", &v, text).await);
    }
    let ts = |s: &str| s.parse::<Timestamp>().unwrap();
    for (v, text) in [
        (
            Range::new(Included(ts("2020-01-01 00:00:00")), Unbounded),
            "[\"2020-01-01 00:00:00\",)",
        ),
        (
            Range::new(
                Excluded(ts("0001-01-01 00:00:00 BC")),
                Included(ts("infinity")),
            ),
            "(\"0001-01-01 00:00:00 BC\",infinity]",
        ),
    ] {
        f.push(round_trip(&mut conn, "tsrange", &v, text).await);
    }
    let tz = |s: &str| s.parse::<TimestampTz>().unwrap();
    let v = Range::new(
        Included(tz("2020-01-01 00:00:00+00")),
        Excluded(TimestampTz::INFINITY),
    );
    f.push(
        round_trip(
            &mut conn,
            "tstzrange",
            &v,
            "[\"2020-01-01 00:00:00+00\",infinity)",
        )
        .await,
    );
    f.finish();
}

/// The server canonicalizes: `[1,5]` is stored as `[1,6)` and `[5,5)` as `empty`;
/// what is read back is the canonical form.
#[tokio::test]
async fn ranges_read_back_canonical() {
    let mut conn = connect().await;
    let row = query("SELECT $1::int4range, $2::int4range, $3::daterange")
        .bind(Range::from(1..=5))
        .bind(Range::from(5..5))
        .bind(Range::new(
            Excluded(Date::from_ymd(2020, 1, 1).unwrap()),
            Included(Date::from_ymd(2020, 1, 2).unwrap()),
        ))
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(row.get::<Range<i32>, _>(0), Range::from(1..6));
    assert_eq!(row.get::<Range<i32>, _>(1), Range::Empty);
    assert_eq!(
        row.get::<Range<Date>, _>(2),
        Range::from(Date::from_ymd(2020, 1, 2).unwrap()..Date::from_ymd(2020, 1, 3).unwrap())
    );
}

/// Multiranges (PostgreSQL 14+): the server sorts, merges and drops empty ranges.
#[tokio::test]
async fn multiranges() {
    let mut conn = connect().await;
    let major = conn.server_version().major();
    if major < 14 {
        let refused = simple_row(&mut conn, "SELECT '{}'::int4multirange").await;
        assert!(
            refused.as_ref().is_err_and(|e| e.contains("42704")),
            "PostgreSQL {major} has no multiranges: {:?}",
            refused.map(|_| ())
        );
        return;
    }
    let mut f = Failures::new("multiranges");
    for (v, text) in [
        (MultiRange::<i32>(vec![]), "{}"),
        (MultiRange(vec![Range::from(1..3)]), "{[1,3)}"),
        (
            MultiRange(vec![Range::from(..0), Range::from(1..3), Range::from(5..)]),
            "{(,0),[1,3),[5,)}",
        ),
    ] {
        f.push(round_trip(&mut conn, "int4multirange", &v, text).await);
    }
    let v = MultiRange(vec![Range::from(i64::MIN..0), Range::from(1..i64::MAX)]);
    f.push(
        round_trip(
            &mut conn,
            "int8multirange",
            &v,
            "{[-9223372036854775808,0),[1,9223372036854775807)}",
        )
        .await,
    );
    let n = |s: &str| s.parse::<Numeric>().unwrap();
    let v = MultiRange(vec![Range::new(Included(n("0.5")), Included(n("1.50")))]);
    f.push(round_trip(&mut conn, "nummultirange", &v, "{[0.5,1.50]}").await);
    let d = |y, m, d| Date::from_ymd(y, m, d).unwrap();
    let v = MultiRange(vec![
        Range::from(d(2020, 1, 1)..d(2020, 2, 1)),
        Range::from(d(2021, 1, 1)..),
    ]);
    f.push(
        round_trip(
            &mut conn,
            "datemultirange",
            &v,
            "{[2020-01-01,2020-02-01),[2021-01-01,)}",
        )
        .await,
    );
    let ts = |s: &str| s.parse::<Timestamp>().unwrap();
    let v = MultiRange(vec![Range::from(
        ts("2020-01-01 00:00:00")..ts("2020-01-01 00:00:00.5"),
    )]);
    f.push(
        round_trip(
            &mut conn,
            "tsmultirange",
            &v,
            "{[\"2020-01-01 00:00:00\",\"2020-01-01 00:00:00.5\")}",
        )
        .await,
    );
    let tz = |s: &str| s.parse::<TimestampTz>().unwrap();
    let v = MultiRange(vec![Range::new(
        Unbounded,
        Included(tz("1970-01-01 00:00:00+00")),
    )]);
    f.push(
        round_trip(
            &mut conn,
            "tstzmultirange",
            &v,
            "{(,\"1970-01-01 00:00:00+00\"]}",
        )
        .await,
    );

    // Normalization by the server: sorted, merged, empty ranges dropped.
    let row = query("SELECT $1::int4multirange")
        .bind(MultiRange(vec![
            Range::from(5..7),
            Range::Empty,
            Range::from(1..3),
            Range::from(2..4),
        ]))
        .fetch_one(&mut conn)
        .await
        .unwrap();
    f.push(check_eq(
        "normalized",
        row.get::<MultiRange<i32>, _>(0),
        MultiRange(vec![Range::from(1..4), Range::from(5..7)]),
    ));
    f.finish();
}

/// Anonymous records and composite values read into tuples, binary and text,
/// with NULL fields, empty strings, quoting, nesting, and arrays of records.
#[tokio::test]
async fn records_into_tuples() {
    let mut conn = connect().await;
    let sql = "SELECT ROW(1, 'a \"b\" (c), d\\e', '', NULL::int8, 'é😀'), \
               ROW(1, ROW('x y', 2.5::float8)), \
               ARRAY[ROW(1, 'a'), ROW(2, NULL)], \
               ROW(NULL::int4), \
               ROW('2020-01-01'::date, '[1,2)'::int4range, '{1,2}'::int4[])";
    type Flat = (i32, String, String, Option<i64>, String);
    let flat: Flat = (
        1,
        "a \"b\" (c), d\\e".into(),
        String::new(),
        None,
        "é😀".into(),
    );
    let nested: (i32, (String, f64)) = (1, ("x y".into(), 2.5));
    let list: Vec<(i32, Option<String>)> = vec![(1, Some("a".into())), (2, None)];
    let mixed = (
        Date::from_ymd(2020, 1, 1).unwrap(),
        Range::from(1..2),
        vec![1i32, 2],
    );
    let binary = query(AssertSqlSafe(sql))
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let text = simple_row(&mut conn, sql).await.unwrap();
    for (format, row) in [("binary", binary), ("text", text)] {
        assert_eq!(row.get::<Flat, _>(0), flat, "{format}");
        assert_eq!(row.get::<(i32, (String, f64)), _>(1), nested, "{format}");
        assert_eq!(
            row.get::<Vec<(i32, Option<String>)>, _>(2),
            list,
            "{format}"
        );
        assert_eq!(row.get::<(Option<i32>,), _>(3), (None,), "{format}");
        assert_eq!(
            row.get::<(Date, Range<i32>, Vec<i32>), _>(4),
            mixed,
            "{format}"
        );
        // The wrong number of fields is an error naming both counts.
        let err = row.try_get::<(i32, String), _>(0).unwrap_err().to_string();
        assert!(
            err.contains("5 fields") && err.contains("has 2"),
            "{format}: {err}"
        );
    }
}

/// A composite type declared with `CREATE TYPE` reads into a tuple; a field of
/// the wrong type is an error naming the field.
#[tokio::test]
async fn composite_type_into_tuple() {
    let mut conn = connect().await;
    conn.batch_execute(
        "DROP TYPE IF EXISTS typetests_pair; \
         CREATE TYPE typetests_pair AS (id int8, label text)",
    )
    .await
    .unwrap();
    let sql = "SELECT ROW(7, 'seven')::typetests_pair, \
               ARRAY[ROW(1, NULL)::typetests_pair, NULL]";
    let binary = query(AssertSqlSafe(sql))
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let text = simple_row(&mut conn, sql).await.unwrap();
    for (format, row) in [("binary", &binary), ("text", &text)] {
        assert_eq!(
            row.get::<(i64, String), _>(0),
            (7, "seven".to_owned()),
            "{format}"
        );
        assert_eq!(
            row.get::<Vec<Option<(i64, Option<String>)>>, _>(1),
            vec![Some((1, None)), None],
            "{format}"
        );
    }
    let err = binary
        .try_get::<(i32, String), _>(0)
        .unwrap_err()
        .to_string();
    assert!(err.contains("field 0") && err.contains("int8"), "{err}");
}

/// `PgValue` reads any type (here ones Quarry has no Rust type for), NULL or
/// not, in both formats, and sends pre-encoded binary values.
#[tokio::test]
async fn pg_value_for_unknown_types() {
    let mut conn = connect().await;
    conn.batch_execute(
        "DROP TYPE IF EXISTS typetests_mood; \
         CREATE TYPE typetests_mood AS ENUM ('sad', 'happy')",
    )
    .await
    .unwrap();
    let sql = "SELECT '(0,1)'::tid, 'happy'::typetests_mood, NULL::int4, \
               'pg_class'::regclass, ARRAY['(1,2)'::tid, NULL]";
    let binary = query(AssertSqlSafe(sql))
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let v: PgValue = binary.get(0);
    assert_eq!(v.type_info().oid(), Oid(27), "tid");
    assert_eq!(
        v.bytes(),
        Some(&[0, 0, 0, 0, 0, 1][..]),
        "tid_send: block 0, offset 1"
    );
    let v: PgValue = binary.get(1);
    assert!(!v.type_info().is_builtin());
    assert_eq!(v.bytes(), Some(&b"happy"[..]), "enum_send is the label");
    let v: PgValue = binary.get(2);
    assert!(v.is_null());
    assert_eq!(v.type_info().oid(), Oid::INT4);
    assert_eq!(binary.get::<Option<PgValue>, _>(2), None);
    let v: PgValue = binary.get(3);
    assert_eq!(
        v.bytes(),
        Some(&1259u32.to_be_bytes()[..]),
        "pg_class is OID 1259"
    );
    let tids: Vec<Option<PgValue>> = binary.get(4);
    assert_eq!(tids.len(), 2);
    assert_eq!(
        tids[0].as_ref().and_then(PgValue::bytes),
        Some(&[0, 0, 0, 1, 0, 2][..])
    );
    assert!(tids[1].is_none());

    let text = simple_row(&mut conn, sql).await.unwrap();
    let expect: [Option<&[u8]>; 5] = [
        Some(b"(0,1)"),
        Some(b"happy"),
        None,
        Some(b"pg_class"),
        Some(b"{\"(1,2)\",NULL}"),
    ];
    for (i, want) in expect.into_iter().enumerate() {
        let v: PgValue = text.get(i);
        assert_eq!(v.bytes(), want, "column {i}");
        assert_eq!(v.format(), quarry::types::Format::Text);
    }

    // Sending: a value encoded by hand, with its OID; and one read back and sent again.
    let row = query("SELECT $1::text, $2::tid::text, $3::int4")
        .bind(PgValue::binary(Oid::INT4, 7i32.to_be_bytes()))
        .bind(binary.get::<PgValue, _>(0))
        .bind(PgValue::null(Oid::INT4))
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(row.get::<String, _>(0), "7");
    assert_eq!(row.get::<String, _>(1), "(0,1)");
    assert_eq!(row.get::<Option<i32>, _>(2), None);
    // decode_as checks the type.
    let v: PgValue = binary.get(3);
    assert!(v.decode_as::<u32>().is_err(), "regclass is not oid");
    let v = PgValue::binary(Oid::INT8, 5i64.to_be_bytes());
    assert_eq!(v.decode_as::<i64>(), Ok(5));
}

/// `Array::from_vec` refuses the shapes PostgreSQL refuses, before anything is
/// sent: more than 6 dimensions, and a lower bound plus length beyond `i32`
/// (`ArrayCheckBounds`: the largest upper bound is 2147483646).
#[tokio::test]
async fn array_shapes_postgres_refuses() {
    let mut conn = connect().await;
    let largest = Array::from_vec(vec![2], vec![i32::MAX - 2], vec![1i32, 2]).unwrap();
    let text: String = quarry::query_scalar("SELECT $1::int4[]::text")
        .bind(largest)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(text, "[2147483645:2147483646]={1,2}");
    for (dims, lower) in [(vec![2], vec![i32::MAX - 1]), (vec![1], vec![i32::MAX])] {
        if let Ok(a) = Array::from_vec(dims.clone(), lower.clone(), vec![1i32; dims[0]]) {
            let sent = quarry::query_scalar::<String>("SELECT $1::int4[]::text")
                .bind(a)
                .fetch_one(&mut conn)
                .await;
            panic!("Array::from_vec accepted {dims:?} from {lower:?}; the server says {sent:?}");
        }
    }
    assert!(Array::from_vec(vec![1; 7], vec![1; 7], vec![0i32]).is_err());
}
