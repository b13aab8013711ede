//! The other built-in types: JSON, network addresses, geometry, bit strings,
//! XML, text search, `pg_lsn`, `oidvector`/`int2vector`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use quarry::types::{
    BitString, Circle, Int2Vector, IpNetwork, Line, LineSegment, MacAddr, MacAddr8, Oid, OidVector,
    Path, PgLsn, Point, Polygon, Rect, TsQuery, TsVector, Xml,
};

use crate::support::{
    Failures, connect, needs_server, round_trip, round_trip_by, round_trip_parsed, same_debug,
    simple_row,
};

/// JSON values are sent as `jsonb`; `jsonb` prints keys sorted, with `": "` and `", "`.
#[cfg(feature = "json")]
#[tokio::test]
async fn json() {
    use quarry::types::Json;
    use serde_json::json;

    let mut conn = connect().await;
    let mut f = Failures::new("json");
    let large: Vec<i64> = (0..10_000).collect();
    let large_text = format!(
        "[{}]",
        large
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    );
    let cases = [
        (json!(null), "null".to_owned()),
        (json!(true), "true".to_owned()),
        (json!(0), "0".to_owned()),
        (json!(i64::MIN), i64::MIN.to_string()),
        (json!(u64::MAX), u64::MAX.to_string()),
        (json!(1.5), "1.5".to_owned()),
        (json!(""), "\"\"".to_owned()),
        (
            json!("é ✓ 😀 \" \\ \n \u{1}"),
            "\"é ✓ 😀 \\\" \\\\ \\n \\u0001\"".to_owned(),
        ),
        (json!([]), "[]".to_owned()),
        (json!({}), "{}".to_owned()),
        (
            json!({"b": [1, 2.5, null], "a": {"x": "y"}}),
            "{\"a\": {\"x\": \"y\"}, \"b\": [1, 2.5, null]}".to_owned(),
        ),
        (json!(large), large_text),
    ];
    for (v, text) in &cases {
        f.push(round_trip(&mut conn, "jsonb", v, text).await);
        f.push(round_trip(&mut conn, "json", v, text).await);
    }
    let v = Json(vec![(1u8, "a".to_owned()), (2, "b".to_owned())]);
    f.push(round_trip(&mut conn, "jsonb", &v, "[[1, \"a\"], [2, \"b\"]]").await);
    let v: Json<Option<String>> = Json(None);
    f.push(round_trip(&mut conn, "jsonb", &v, "null").await);
    f.finish();
}

/// `RawValue` keeps the JSON text as the server sends it: `json` keeps the
/// input exactly, `jsonb` normalizes; numbers beyond `f64` survive in it,
/// while `serde_json::Value` reports them as a decode error.
#[cfg(feature = "json")]
#[tokio::test]
async fn json_raw_values() {
    use serde_json::value::RawValue;

    let mut conn = connect().await;
    let input = "{\"b\":1,  \"a\":1e400}";
    let sql = "SELECT '{\"b\":1,  \"a\":1e400}'::json AS j, '{\"b\":1,  \"a\":1e400}'::jsonb AS jb";
    let jsonb_text = format!("{{\"a\": 1{}, \"b\": 1}}", "0".repeat(400));
    let binary = quarry::query(sql).fetch_one(&mut conn).await.unwrap();
    let text = simple_row(&mut conn, sql).await.unwrap();
    for (format, row) in [("binary", &binary), ("text", &text)] {
        assert_eq!(row.get::<Box<RawValue>, _>("j").get(), input, "{format}");
        assert_eq!(row.get::<&RawValue, _>("j").get(), input, "{format}");
        assert_eq!(
            row.get::<Box<RawValue>, _>("jb").get(),
            jsonb_text,
            "{format}"
        );
        let e = row
            .try_get::<serde_json::Value, _>("jb")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("column \"jb\"") && e.contains("JSON"),
            "{format}: {e}"
        );
    }
    let raw = RawValue::from_string("{\"x\": [1, 2.50]}".to_owned()).unwrap();
    let (jsonb, json): (String, String) =
        quarry::query_as("SELECT $1::jsonb::text, $1::json::text")
            .bind(&*raw)
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(jsonb, "{\"x\": [1, 2.50]}");
    assert_eq!(json, "{\"x\": [1, 2.50]}");
}

/// `inet` and `cidr` as `IpAddr` and `IpNetwork`; `macaddr`, `macaddr8`.
///
/// `inet::text` always shows the netmask (`0.0.0.0/32`) where the output
/// function, and so the text format, leaves a full one out (`0.0.0.0`): the
/// text and array steps of the round trip read the latter.
#[tokio::test]
async fn network() {
    let mut conn = connect().await;
    let mut f = Failures::new("network");
    for (v, text) in [
        (IpAddr::V4(Ipv4Addr::UNSPECIFIED), "0.0.0.0/32"),
        (IpAddr::V4(Ipv4Addr::BROADCAST), "255.255.255.255/32"),
        (IpAddr::V6(Ipv6Addr::LOCALHOST), "::1/128"),
        (IpAddr::V6(Ipv6Addr::UNSPECIFIED), "::/128"),
        (
            IpAddr::V6(Ipv6Addr::from(u128::MAX)),
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128",
        ),
        (
            IpAddr::V6(Ipv4Addr::new(1, 2, 3, 4).to_ipv6_mapped()),
            "::ffff:1.2.3.4/128",
        ),
    ] {
        f.push(round_trip(&mut conn, "inet", &v, text).await);
    }
    for (text, ty) in [
        ("10.1.2.3/8", "inet"),
        ("192.168.0.1/32", "inet"),
        ("0.0.0.0/0", "inet"),
        ("2001:db8::1/64", "inet"),
        ("10.0.0.0/8", "cidr"),
        ("0.0.0.0/0", "cidr"),
        ("255.255.255.255/32", "cidr"),
        ("::/0", "cidr"),
        ("2001:db8::/32", "cidr"),
        ("::1/128", "cidr"),
    ] {
        let v: IpNetwork = match text.parse::<IpNetwork>() {
            // `FromStr` makes an `inet`; a `cidr` is built with `IpNetwork::cidr`.
            Ok(n) if ty == "cidr" => IpNetwork::cidr(n.addr(), n.prefix()).unwrap(),
            Ok(n) => n,
            Err(e) => {
                f.push(Err(format!("{text}: {e}")));
                continue;
            }
        };
        f.push(round_trip(&mut conn, ty, &v, text).await);
    }
    for text in [
        "00:00:00:00:00:00",
        "08:00:2b:01:02:03",
        "ff:ff:ff:ff:ff:ff",
    ] {
        f.push(round_trip_parsed::<MacAddr>(&mut conn, "macaddr", text).await);
    }
    // mac_address has no 8-byte address: Quarry's MacAddr8 is the type for macaddr8.
    for text in [
        "00:00:00:00:00:00:00:00",
        "08:00:2b:01:02:03:04:05",
        "ff:ff:ff:ff:ff:ff:ff:ff",
    ] {
        f.push(round_trip_parsed::<MacAddr8>(&mut conn, "macaddr8", text).await);
    }
    f.finish();
}

/// Geometry: `float8` coordinates, including `-0`, NaN, infinities and extremes.
#[tokio::test]
async fn geometry() {
    let mut conn = connect().await;
    let mut f = Failures::new("geometry");
    let p = Point::new;
    for (v, text) in [
        (p(1.0, 2.0), "(1,2)"),
        (p(1e300, -0.0), "(1e+300,-0)"),
        (p(f64::NAN, f64::INFINITY), "(NaN,Infinity)"),
        (p(0.1, 1e-300), "(0.1,1e-300)"),
        (
            p(f64::MAX, f64::MIN_POSITIVE),
            "(1.7976931348623157e+308,2.2250738585072014e-308)",
        ),
    ] {
        f.push(round_trip_by(&mut conn, "point", &v, text, same_debug).await);
    }
    let line = Line {
        a: 1.0,
        b: -1.0,
        c: 0.5,
    };
    f.push(round_trip_by(&mut conn, "line", &line, "{1,-1,0.5}", same_debug).await);
    let seg = LineSegment {
        start: p(0.0, 0.0),
        end: p(1.5, 2.0),
    };
    f.push(round_trip_by(&mut conn, "lseg", &seg, "[(0,0),(1.5,2)]", same_debug).await);
    let rect = Rect::new(p(1.0, 2.0), p(3.0, 4.0));
    f.push(round_trip_by(&mut conn, "box", &rect, "(3,4),(1,2)", same_debug).await);
    let open = Path {
        points: vec![p(0.0, 0.0), p(1.0, 1.0), p(2.0, 0.0)],
        closed: false,
    };
    f.push(round_trip_by(&mut conn, "path", &open, "[(0,0),(1,1),(2,0)]", same_debug).await);
    let closed = Path {
        points: vec![p(0.0, 0.0), p(1.0, 1.0)],
        closed: true,
    };
    f.push(round_trip_by(&mut conn, "path", &closed, "((0,0),(1,1))", same_debug).await);
    let single = Path {
        points: vec![p(-1.5, 2.0)],
        closed: false,
    };
    f.push(round_trip_by(&mut conn, "path", &single, "[(-1.5,2)]", same_debug).await);
    let poly = Polygon {
        points: vec![p(0.0, 0.0), p(1.0, 1.0), p(1.0, 0.0)],
    };
    f.push(
        round_trip_by(
            &mut conn,
            "polygon",
            &poly,
            "((0,0),(1,1),(1,0))",
            same_debug,
        )
        .await,
    );
    let many: Vec<Point> = (0..1000).map(|i| p(f64::from(i), -f64::from(i))).collect();
    let many_text = format!(
        "({})",
        many.iter()
            .map(|q| format!("({},{})", q.x, q.y))
            .collect::<Vec<_>>()
            .join(",")
    );
    let big = Polygon { points: many };
    f.push(round_trip_by(&mut conn, "polygon", &big, &many_text, same_debug).await);
    for (v, text) in [
        (
            Circle {
                center: p(1.0, 2.0),
                radius: 3.0,
            },
            "<(1,2),3>",
        ),
        (
            Circle {
                center: p(0.0, 0.0),
                radius: 0.0,
            },
            "<(0,0),0>",
        ),
        (
            Circle {
                center: p(-0.5, 0.25),
                radius: f64::INFINITY,
            },
            "<(-0.5,0.25),Infinity>",
        ),
    ] {
        f.push(round_trip_by(&mut conn, "circle", &v, text, same_debug).await);
    }
    f.finish();
}

/// `bit(n)` and `varbit`, empty to 10000 bits, whole and partial bytes.
#[tokio::test]
async fn bit_strings() {
    let mut conn = connect().await;
    let mut f = Failures::new("bit strings");
    let long = "10".repeat(5_000);
    for text in [
        "",
        "0",
        "1",
        "101",
        "11111111",
        "100000001",
        "0000000000000001",
        long.as_str(),
    ] {
        f.push(round_trip_parsed::<BitString>(&mut conn, "varbit", text).await);
    }
    for text in ["101", "00000000", "111111111"] {
        let ty = format!("bit({})", text.len());
        f.push(round_trip_parsed::<BitString>(&mut conn, &ty, text).await);
    }
    let built = BitString::from_bits([true, false, true, true]);
    f.push(round_trip(&mut conn, "varbit", &built, "1011").await);
    let bytes = BitString::from_bytes(vec![0xff, 0x80], 9).unwrap();
    f.push(round_trip(&mut conn, "varbit", &bytes, "111111111").await);
    f.finish();
}

#[tokio::test]
async fn xml() {
    let mut conn = connect().await;
    let mut f = Failures::new("xml");
    for text in [
        "",
        "text only",
        "<a>é ✓ 😀</a>",
        "<a b=\"1\" c='2'><d/>&amp;&lt;</a>",
        "<a/><b/>",
    ] {
        f.push(round_trip(&mut conn, "xml", &Xml::from(text), text).await);
    }
    f.finish();
}

/// `tsvector` and `tsquery` as their normalized text.
#[tokio::test]
async fn text_search() {
    let mut conn = connect().await;
    let mut f = Failures::new("text search");
    for text in [
        "",
        "'a'",
        "'a':1A,2B 'a''b' 'fat':3C,4 'x\\\\y'",
        "'é' '😀':16383",
        "'a':1,2,3,4,5,6,7,8",
        "'!' '&' 'and' 'or'",
    ] {
        f.push(round_trip(&mut conn, "tsvector", &TsVector::from(text), text).await);
    }
    for text in [
        "'a'",
        "!( 'a' | 'b' )",
        "'a' <-> 'b' <2> 'c'",
        "'a':* & 'b':AB",
        "'é' | '😀'",
        "!'a'",
        "'a' & ( 'b' | 'c' ) & !'d'",
        "'a' <0> 'b'",
        "'a''b' & 'c\\\\d'",
    ] {
        f.push(round_trip(&mut conn, "tsquery", &TsQuery::from(text), text).await);
    }
    f.finish();
}

#[tokio::test]
async fn pg_lsn() {
    let mut conn = connect().await;
    let mut f = Failures::new("pg_lsn");
    for (v, text) in [
        (PgLsn(0), "0/0"),
        (PgLsn(1), "0/1"),
        (PgLsn(0x16_B374_D848), "16/B374D848"),
        (PgLsn(u64::MAX), "FFFFFFFF/FFFFFFFF"),
    ] {
        f.push(round_trip(&mut conn, "pg_lsn", &v, text).await);
        f.push(round_trip_parsed::<PgLsn>(&mut conn, "pg_lsn", text).await);
    }
    f.finish();
}

/// `oidvector` and `int2vector` (as their own types, and as `Vec<Oid>` / `Vec<i16>`).
#[tokio::test]
async fn catalog_vectors() {
    let mut conn = connect().await;
    let mut f = Failures::new("oidvector and int2vector");
    for (v, text) in [
        (vec![Oid(0)], "0"),
        (vec![Oid(1), Oid(2), Oid(3)], "1 2 3"),
        (vec![Oid(u32::MAX), Oid(23)], "4294967295 23"),
    ] {
        f.push(round_trip(&mut conn, "oidvector", &OidVector(v), text).await);
    }
    for (v, text) in [
        (vec![0i16], "0"),
        (vec![i16::MIN, 0, i16::MAX], "-32768 0 32767"),
    ] {
        f.push(round_trip(&mut conn, "int2vector", &Int2Vector(v), text).await);
    }
    f.finish();

    // Also as Vec<Oid> / Vec<u32> / Vec<i16>; an empty vector reads as empty.
    let sql = "SELECT '1 2 3'::oidvector, '-1 0 1'::int2vector, ''::oidvector, ''::int2vector";
    let binary = quarry::query(sql).fetch_one(&mut conn).await.unwrap();
    let text = simple_row(&mut conn, sql).await.unwrap();
    for (format, row) in [("binary", &binary), ("text", &text)] {
        assert_eq!(
            row.get::<Vec<Oid>, _>(0),
            [Oid(1), Oid(2), Oid(3)],
            "{format}"
        );
        assert_eq!(row.get::<Vec<u32>, _>(0), [1, 2, 3], "{format}");
        assert_eq!(row.get::<Vec<i16>, _>(1), [-1, 0, 1], "{format}");
        assert_eq!(row.get::<OidVector, _>(2), OidVector(vec![]), "{format}");
        assert_eq!(row.get::<Vec<Oid>, _>(2), [], "{format}");
        assert_eq!(row.get::<Int2Vector, _>(3), Int2Vector(vec![]), "{format}");
    }
    // The server cannot receive an empty vector in binary: an encode error, nothing sent.
    let e = quarry::query("SELECT $1::oidvector")
        .bind(OidVector(vec![]))
        .execute(&mut conn)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), quarry::ErrorKind::Encode, "{e}");
}

/// The standard library's own types: `SystemTime` <-> `timestamptz`, `Duration` <->
/// `interval`, shared and borrowed text and bytes, and `()` for an empty record (issue 21).
#[tokio::test]
async fn standard_library_types() {
    use std::borrow::Cow;
    use std::rc::Rc;
    use std::sync::Arc;
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    let mut conn = connect().await;
    let mut f = Failures::new("std types");
    for (t, text) in [
        (UNIX_EPOCH, "1970-01-01 00:00:00+00"),
        (
            UNIX_EPOCH + Duration::from_millis(1_500),
            "1970-01-01 00:00:01.5+00",
        ),
        (
            UNIX_EPOCH - Duration::from_micros(1),
            "1969-12-31 23:59:59.999999+00",
        ),
        (
            UNIX_EPOCH + Duration::from_secs(1_700_000_000),
            "2023-11-14 22:13:20+00",
        ),
    ] {
        f.push(round_trip(&mut conn, "timestamptz", &t, text).await);
    }
    for (d, text) in [
        (Duration::ZERO, "00:00:00"),
        (Duration::from_secs(3_723), "01:02:03"),
        (Duration::from_micros(1), "00:00:00.000001"),
        (Duration::from_secs(100 * 3_600), "100:00:00"),
    ] {
        f.push(round_trip(&mut conn, "interval", &d, text).await);
    }
    f.push(round_trip(&mut conn, "text", &Arc::<str>::from("héllo"), "héllo").await);
    f.push(
        round_trip(
            &mut conn,
            "bytea",
            &Arc::<[u8]>::from(&[1u8, 2][..]),
            "\\x0102",
        )
        .await,
    );
    f.finish();

    // Read-only or borrowed spellings, in both formats.
    for simple in [false, true] {
        let sql = "SELECT 'a b'::text, '\\x0a0b'::bytea, ROW()";
        let row = if simple {
            simple_row(&mut conn, sql).await.unwrap()
        } else {
            quarry::query(sql).fetch_one(&mut conn).await.unwrap()
        };
        assert_eq!(&*row.get::<Rc<str>, _>(0), "a b");
        assert_eq!(&*row.get::<Rc<[u8]>, _>(1), [10, 11]);
        assert_eq!(row.get::<Cow<'_, [u8]>, _>(1).as_ref(), [10, 11]);
        row.get::<(), _>(2);
    }
    // A Duration is never negative, nor has months or days; SystemTime has no infinity.
    for sql in [
        "SELECT interval '-1 second'",
        "SELECT interval '1 day'",
        "SELECT interval '1 mon'",
    ] {
        let err = quarry::query_scalar::<Duration>(sql)
            .fetch_one(&mut conn)
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("Duration") || err.to_string().contains("fixed duration"),
            "{sql}: {err}"
        );
    }
    let err = quarry::query_scalar::<SystemTime>("SELECT 'infinity'::timestamptz")
        .fetch_one(&mut conn)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("infinite"), "{err}");
    // `()` is the empty record only.
    assert!(
        quarry::query_scalar::<()>("SELECT ROW(1)")
            .fetch_one(&mut conn)
            .await
            .is_err()
    );
}

/// `xid`, `xid8` and `tid` (issue 21), and a real row's `ctid` and `xmin`.
#[tokio::test]
async fn transaction_and_tuple_ids() {
    use quarry::types::{Tid, Xid, Xid8};

    let mut conn = connect().await;
    let mut f = Failures::new("xid, xid8, tid");
    for (v, text) in [(Xid(0), "0"), (Xid(7), "7"), (Xid(u32::MAX), "4294967295")] {
        f.push(round_trip(&mut conn, "xid", &v, text).await);
    }
    for (v, text) in [(Xid8(3), "3"), (Xid8(u64::MAX), "18446744073709551615")] {
        f.push(round_trip(&mut conn, "xid8", &v, text).await);
    }
    for (v, text) in [
        (
            Tid {
                block: 0,
                offset: 1,
            },
            "(0,1)",
        ),
        (
            Tid {
                block: u32::MAX,
                offset: u16::MAX,
            },
            "(4294967295,65535)",
        ),
    ] {
        f.push(round_trip(&mut conn, "tid", &v, text).await);
    }
    f.finish();
    let (ctid, xmin, current): (Tid, Xid, Xid8) = quarry::query_as(
        "SELECT ctid, xmin, pg_current_xact_id() FROM (VALUES (1)) v(x), pg_class \
         WHERE relname = 'pg_class' LIMIT 1",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert!(ctid.offset >= 1, "{ctid}");
    assert!(xmin.0 >= 1 && current.0 >= 1, "{xmin} {current}");
}

/// `pg_snapshot` (PostgreSQL 13+) and `txid_snapshot` (read) as `Snapshot`: no running
/// transactions, several, the largest IDs; and a live `pg_current_snapshot()`.
#[tokio::test]
async fn snapshots() {
    use quarry::types::{Snapshot, Xid8};

    let mut conn = connect().await;
    let mut f = Failures::new("pg_snapshot");
    for text in [
        "1:1:",
        "10:20:12,15",
        "3:9223372036854775807:4,9223372036854775806",
    ] {
        f.push(round_trip_parsed::<Snapshot>(&mut conn, "pg_snapshot", text).await);
        // `txid_snapshot` is read (there is no cast from `pg_snapshot` to send one).
        let want: Snapshot = text.parse().unwrap();
        let sql = format!("SELECT '{text}'::txid_snapshot");
        for row in [
            simple_row(&mut conn, &sql).await,
            quarry::query(quarry::AssertSqlSafe(sql.clone()))
                .fetch_one(&mut conn)
                .await
                .map_err(|e| e.to_string()),
        ] {
            f.push(row.and_then(|r| {
                let got: Snapshot = r.get(0);
                (got == want)
                    .then_some(())
                    .ok_or_else(|| format!("{sql}: read {got}"))
            }));
        }
    }
    f.finish();
    let live: Snapshot = quarry::query_scalar("SELECT pg_current_snapshot()")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert!(live.xmin >= Xid8(1) && live.xmax >= live.xmin, "{live}");
    // One the server would refuse is not sent.
    let bad: Snapshot = "10:20:25".parse().unwrap();
    let err = quarry::query("SELECT $1")
        .bind(bad)
        .execute(&mut conn)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), quarry::ErrorKind::Encode, "{err}");
}

/// `jsonpath` as `JsonPath`, in the server's own spelling (it normalizes what it stores).
#[tokio::test]
async fn jsonpaths() {
    use quarry::types::JsonPath;

    let mut conn = connect().await;
    let mut f = Failures::new("jsonpath");
    let long = format!("${}", ".\"k\"".repeat(2000));
    for text in [
        "$",
        "$.\"a\"",
        "strict $.\"a\"[*]",
        "$.\"a\"[*]?(@ > 1)",
        "$[0 to last]",
        "$.\"é \\\"q\\\"\"",
        long.as_str(),
    ] {
        f.push(round_trip(&mut conn, "jsonpath", &JsonPath::from(text), text).await);
    }
    f.finish();
}

/// `aclitem` has no binary form on the server: through the extended protocol the server
/// refuses the column (42883); through the simple protocol it reads as `AclItem`.
#[tokio::test]
async fn aclitems_read_as_text() {
    use quarry::types::AclItem;

    let mut conn = connect().await;
    let user: String = quarry::query_scalar("SELECT current_user::text")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    conn.batch_execute("CREATE TEMP TABLE acl_probe (); GRANT SELECT ON acl_probe TO PUBLIC")
        .await
        .unwrap();
    let sql = "SELECT relacl, relacl[1] FROM pg_class WHERE oid = 'acl_probe'::regclass";
    let row = simple_row(&mut conn, sql).await.unwrap();
    let all: Vec<Option<AclItem>> = row.get(0);
    let first: AclItem = row.get(1);
    assert!(
        all.contains(&Some(AclItem(format!("={}/{user}", "r"))))
            && first.0.starts_with(&format!("{user}=")),
        "{all:?} {first}"
    );
    let refused = quarry::query(sql).fetch_one(&mut conn).await.unwrap_err();
    assert_eq!(
        refused.code(),
        Some(&quarry::SqlState::UndefinedFunction),
        "{refused}"
    );
    // Cast to text, it goes through the extended protocol.
    let texts: Vec<String> = quarry::query_scalar(
        "SELECT relacl::text[] FROM pg_class WHERE oid = 'acl_probe'::regclass",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(texts.len(), all.len());
}

/// The `cube` extension as `Cube`: points, boxes, 100 dimensions, extreme coordinates.
/// Its binary form is cube 1.5's (PostgreSQL 15+); before, the server refuses binary
/// (42883) and the text form is read. The extension must be installed with the server
/// (Debian: `postgresql-contrib` is part of `postgresql-15`): this fails, never skips,
/// when it is missing.
#[tokio::test]
async fn cube_extension() {
    use quarry::types::Cube;

    let mut conn = connect().await;
    let major = conn.server_version().major();
    let available: i64 =
        quarry::query_scalar("SELECT count(*) FROM pg_available_extensions WHERE name = 'cube'")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(
        available, 1,
        "the cube extension is not installed for this PostgreSQL {major} server: install \
         the server's contrib modules (Debian: postgresql-contrib)"
    );
    conn.batch_execute("CREATE EXTENSION IF NOT EXISTS cube")
        .await
        .unwrap();
    let hundred = format!("({})", vec!["0.5"; 100].join(", "));
    let cases = [
        "(1, -2.5)",
        "(0)",
        "(1, 2),(3, 4)",
        "(1.7976931348623157e+308, -5e-324),(0, 0)",
        hundred.as_str(),
    ];
    let mut f = Failures::new("cube");
    for text in cases {
        let outcome = round_trip_parsed::<Cube>(&mut conn, "cube", text).await;
        f.push(needs_server(major, 15, "42883", outcome));
        // The text form, on every version.
        let row = simple_row(&mut conn, &format!("SELECT '{text}'::cube")).await;
        f.push(row.and_then(|r| {
            let got: Cube = r.get(0);
            (got == text.parse::<Cube>().unwrap())
                .then_some(())
                .ok_or_else(|| format!("{text}: text read {got:?}"))
        }));
    }
    f.finish();
}
