//! Scalar types: boundary values (min, max, empty, NaN, infinity, Unicode,
//! large values) through the full round trip of `support::round_trip`.

use quarry::types::{Date, Interval, Money, Numeric, Oid, Time, TimeTz, Timestamp, TimestampTz};

use crate::support::{
    Failures, chain, connect, needs_server, round_trip, round_trip_by, round_trip_parsed,
    simple_row,
};

#[tokio::test]
async fn bool_and_integers() {
    let mut conn = connect().await;
    let mut f = Failures::new("bool and integers");
    for (v, text) in [(true, "true"), (false, "false")] {
        f.push(round_trip(&mut conn, "bool", &v, text).await);
    }
    for v in [i16::MIN, -1, 0, 1, i16::MAX] {
        f.push(round_trip(&mut conn, "int2", &v, &v.to_string()).await);
    }
    for v in [i32::MIN, -1, 0, 1, i32::MAX] {
        f.push(round_trip(&mut conn, "int4", &v, &v.to_string()).await);
    }
    for v in [i64::MIN, -1, 0, 1, i64::MAX] {
        f.push(round_trip(&mut conn, "int8", &v, &v.to_string()).await);
    }
    for v in [0u32, 1, u32::MAX] {
        f.push(round_trip(&mut conn, "oid", &v, &v.to_string()).await);
        f.push(round_trip(&mut conn, "oid", &Oid(v), &v.to_string()).await);
    }
    f.finish();
}

/// `"char"`: one byte; the server prints 0 as the empty string and high bytes as octal.
#[tokio::test]
async fn internal_char() {
    let mut conn = connect().await;
    let mut f = Failures::new("\"char\"");
    let major = conn.server_version().major();
    for (v, text) in [
        (0i8, ""),
        (i8::try_from(b'A').unwrap(), "A"),
        (i8::try_from(b' ').unwrap(), " "),
        (i8::try_from(b'\\').unwrap(), "\\"),
        (i8::try_from(b'\'').unwrap(), "'"),
        (i8::MAX, "\u{7f}"),
        (-1, "\\377"),
        (i8::MIN, "\\200"),
    ] {
        let outcome = round_trip(&mut conn, "\"char\"", &v, text).await;
        // Before 14, `"char"::text` is the raw byte, which is not UTF-8.
        let since = if v < 0 { 14 } else { 0 };
        f.push(needs_server(major, since, "not valid UTF-8", outcome));
    }
    f.finish();
}

#[tokio::test]
async fn floats() {
    let mut conn = connect().await;
    let mut f = Failures::new("floats");
    let bits64 = |a: &f64, b: &f64| a.to_bits() == b.to_bits();
    for (v, text) in [
        (0.0f64, "0"),
        (-0.0, "-0"),
        (f64::NAN, "NaN"),
        (f64::INFINITY, "Infinity"),
        (f64::NEG_INFINITY, "-Infinity"),
        (0.1, "0.1"),
        (1e-5, "1e-05"),
        (1e15, "1e+15"),
        (1e16, "1e+16"),
        (1e100, "1e+100"),
        (123_456_789_012_345_680_000.0, "1.2345678901234568e+20"),
        (f64::MAX, "1.7976931348623157e+308"),
        (f64::MIN, "-1.7976931348623157e+308"),
        (f64::MIN_POSITIVE, "2.2250738585072014e-308"),
        (5e-324, "5e-324"),
    ] {
        f.push(round_trip_by(&mut conn, "float8", &v, text, bits64).await);
    }
    let bits32 = |a: &f32, b: &f32| a.to_bits() == b.to_bits();
    for (v, text) in [
        (0.0f32, "0"),
        (-0.0, "-0"),
        (f32::NAN, "NaN"),
        (f32::INFINITY, "Infinity"),
        (f32::NEG_INFINITY, "-Infinity"),
        (0.1, "0.1"),
        (f32::MAX, "3.4028235e+38"),
        (f32::MIN, "-3.4028235e+38"),
        (1e-45, "1e-45"),
    ] {
        f.push(round_trip_by(&mut conn, "float4", &v, text, bits32).await);
    }
    f.finish();
}

/// `numeric`: scale is kept (`0.00` is not `0`), NaN and ±Infinity, and the
/// extremes of its range (131072 digits before the point, 16383 after).
#[tokio::test]
async fn numeric() {
    let mut conn = connect().await;
    let mut f = Failures::new("numeric");
    let major = conn.server_version().major();
    // numeric's infinities are PostgreSQL 14's; the driver refuses to send them before.
    let infinity_since = |text: &str| if text.contains("Infinity") { 14 } else { 0 };
    let nines = |n| "9".repeat(n);
    let extremes = [
        format!("1{}", "0".repeat(131_071)),
        format!("-1{}", "0".repeat(131_071)),
        format!("0.{}1", "0".repeat(16_382)),
        format!("{}.{}", nines(131_072), nines(16_383)),
        format!("-{}.{}", nines(131_072), nines(16_383)),
    ];
    let cases = [
        "0",
        "0.0",
        "0.00",
        "1",
        "-1",
        "1.5",
        "-0.5",
        "0.1",
        "0.0001",
        "0.00001",
        "0.000010",
        "0.00005",
        "10000.0001",
        "9999",
        "10000",
        "9999.9999",
        "1234.5678",
        "-12.3400",
        "15.0",
        "1500",
        "0.0000000001",
        "0.000000000000000000000000000001",
        "100000000000000000000",
        "123456789.123456789",
        "12345678901234567890.12345678901234567890",
        "99999999999999999999999999999.9999",
        "79228162514264337593543950335",
        "-79228162514264337593543950335",
        "0.12345678901234567890123456789",
        "18446744073709551615",
        "-170141183460469231731687303715884105728",
        "NaN",
        "Infinity",
        "-Infinity",
    ];
    for text in cases
        .iter()
        .copied()
        .chain(extremes.iter().map(String::as_str))
    {
        let outcome = round_trip_parsed::<Numeric>(&mut conn, "numeric", text).await;
        f.push(needs_server(
            major,
            infinity_since(text),
            "PostgreSQL 14",
            outcome,
        ));
    }
    // Built from Rust numbers rather than parsed.
    for (v, text) in [
        (Numeric::from(i64::MIN), "-9223372036854775808"),
        (Numeric::from(u64::MAX), "18446744073709551615"),
        (
            Numeric::from(i128::MAX),
            "170141183460469231731687303715884105727",
        ),
        (Numeric::from(0.1f64), "0.1"),
        (Numeric::from(-2.5e-7f64), "-0.00000025"),
        (Numeric::ZERO, "0"),
        (Numeric::NAN, "NaN"),
        (Numeric::INFINITY, "Infinity"),
        (Numeric::NEG_INFINITY, "-Infinity"),
    ] {
        let outcome = round_trip(&mut conn, "numeric", &v, text).await;
        f.push(needs_server(
            major,
            infinity_since(text),
            "PostgreSQL 14",
            outcome,
        ));
    }
    f.finish();
}

/// `money` (the server runs with `lc_monetary = C`).
#[tokio::test]
async fn money() {
    let mut conn = connect().await;
    let mut f = Failures::new("money");
    for text in [
        "$0.00",
        "$0.05",
        "$1,234.56",
        "-$1.00",
        "-$1,234,567.89",
        "$999.99",
        "$1,000.00",
        "-$92,233,720,368,547,758.08",
        "$92,233,720,368,547,758.07",
    ] {
        f.push(round_trip_parsed::<Money>(&mut conn, "money", text).await);
    }
    for (v, text) in [
        (Money(i64::MIN), "-$92,233,720,368,547,758.08"),
        (Money(i64::MAX), "$92,233,720,368,547,758.07"),
        (Money(-1), "-$0.01"),
    ] {
        f.push(round_trip(&mut conn, "money", &v, text).await);
    }
    f.finish();
}

/// Text: empty, Unicode from U+0001 to U+10FFFF, every character SQL and the
/// array and record syntaxes treat specially, and a large value.
#[tokio::test]
async fn text() {
    let mut conn = connect().await;
    let mut f = Failures::new("text");
    let large = "ab✓😀".repeat(100_000);
    let cases = [
        "",
        "hello",
        "héllo ✓ 😀",
        " leading and trailing spaces ",
        "tab\tnewline\ncarriage\r",
        "backslash \\ quote ' double \"",
        "\u{1}\u{7f}\u{80}\u{7ff}\u{800}\u{ffff}\u{10000}\u{10ffff}",
        "\u{feff}byte order mark",
        "NULL",
        "null",
        "{}",
        "{1,2}",
        "a,b",
        "(a,b)",
        "$1",
        large.as_str(),
    ];
    for text in cases {
        let v = text.to_owned();
        for ty in ["text", "varchar"] {
            f.push(round_trip(&mut conn, ty, &v, text).await);
        }
    }
    // `name` truncates to 63 bytes; `bpchar` drops trailing spaces when cast to text.
    for text in ["", "pg_catalog", "héllo ✓ 😀", &"n".repeat(63)] {
        f.push(round_trip(&mut conn, "name", &text.to_owned(), text).await);
    }
    for text in ["", "x", "héllo ✓ 😀", "  lead"] {
        f.push(round_trip(&mut conn, "bpchar", &text.to_owned(), text).await);
    }
    for (c, text) in [
        ('a', "a"),
        ('é', "é"),
        ('😀', "😀"),
        ('\'', "'"),
        ('"', "\""),
    ] {
        f.push(round_trip(&mut conn, "text", &c, text).await);
    }
    f.finish();

    // Typmods: `char(n)` is read with its padding, `name` as is.
    let sql = "SELECT 'a'::char(3), 'ab'::varchar(5), 'x'::name, 'é'::char(2)";
    let binary = quarry::query(sql).fetch_one(&mut conn).await.unwrap();
    let text = simple_row(&mut conn, sql).await.unwrap();
    for (format, row) in [("binary", &binary), ("text", &text)] {
        assert_eq!(row.get::<String, _>(0), "a  ", "{format}");
        assert_eq!(row.get::<String, _>(1), "ab", "{format}");
        assert_eq!(row.get::<String, _>(2), "x", "{format}");
        assert_eq!(row.get::<String, _>(3), "é ", "{format}");
        let e = row.try_get::<char, _>(0).unwrap_err().to_string();
        assert!(e.contains("column \"bpchar\""), "{format}: {e}");
    }
}

#[tokio::test]
async fn bytea() {
    let mut conn = connect().await;
    let mut f = Failures::new("bytea");
    let all: Vec<u8> = (0..=255).collect();
    let large: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
    for v in [
        vec![],
        vec![0],
        vec![0, 1, 0xff],
        b"\\x00'\"{},".to_vec(),
        all,
        large,
    ] {
        let text = format!("\\x{}", hex(&v));
        f.push(round_trip(&mut conn, "bytea", &v, &text).await);
    }
    f.finish();
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(feature = "uuid")]
#[tokio::test]
async fn uuid() {
    let mut conn = connect().await;
    let mut f = Failures::new("uuid");
    for text in [
        "00000000-0000-0000-0000-000000000000",
        "ffffffff-ffff-ffff-ffff-ffffffffffff",
        "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
    ] {
        let v = uuid::Uuid::parse_str(text).unwrap();
        f.push(round_trip(&mut conn, "uuid", &v, text).await);
    }
    f.finish();
}

/// Dates, from 4714 BC to 5874897 AD, and ±infinity.
#[tokio::test]
async fn date() {
    let mut conn = connect().await;
    let mut f = Failures::new("date");
    for text in [
        "2000-01-01",
        "1999-12-31",
        "1970-01-01",
        "2024-02-29",
        "0001-01-01",
        "0001-12-31 BC",
        "0044-03-15 BC",
        "4714-11-24 BC",
        "5874897-12-31",
        "10000-01-01",
        "infinity",
        "-infinity",
    ] {
        f.push(round_trip_parsed::<Date>(&mut conn, "date", text).await);
    }
    for (v, text) in [
        (Date::MIN, "4714-11-24 BC"),
        (Date::MAX, "5874897-12-31"),
        (Date::INFINITY, "infinity"),
        (Date::NEG_INFINITY, "-infinity"),
        (Date::from_ymd(2024, 2, 29).unwrap(), "2024-02-29"),
        (Date::from_ymd(0, 1, 1).unwrap(), "0001-01-01 BC"),
        (Date::from_days_since_2000(0).unwrap(), "2000-01-01"),
    ] {
        f.push(round_trip(&mut conn, "date", &v, text).await);
    }
    f.finish();
}

/// `time` (including `24:00:00`) and `timetz` (offsets up to ±15:59:59).
#[tokio::test]
async fn time_of_day() {
    let mut conn = connect().await;
    let mut f = Failures::new("time and timetz");
    for text in [
        "00:00:00",
        "23:59:59.999999",
        "24:00:00",
        "12:34:56.5",
        "12:34:56.000001",
        "01:02:03.1",
    ] {
        f.push(round_trip_parsed::<Time>(&mut conn, "time", text).await);
    }
    for (v, text) in [
        (Time::MIDNIGHT, "00:00:00"),
        (Time::END_OF_DAY, "24:00:00"),
        (
            Time::from_hms_micro(12, 34, 56, 1).unwrap(),
            "12:34:56.000001",
        ),
    ] {
        f.push(round_trip(&mut conn, "time", &v, text).await);
    }
    for text in [
        "00:00:00+00",
        "12:34:56.5+02",
        "12:00:00-05:30",
        "24:00:00-15:59",
        "23:59:59.999999+15:59",
        "12:00:00+01:02:03",
        "00:00:00-15:59:59",
    ] {
        f.push(round_trip_parsed::<TimeTz>(&mut conn, "timetz", text).await);
    }
    let v = TimeTz::new(Time::from_hms_micro(1, 2, 3, 0).unwrap(), -3600).unwrap();
    f.push(round_trip(&mut conn, "timetz", &v, "01:02:03-01").await);
    f.finish();
}

/// `timestamp` and `timestamptz` (`TimeZone = UTC`) over their whole range.
#[tokio::test]
async fn timestamps() {
    let mut conn = connect().await;
    let mut f = Failures::new("timestamp and timestamptz");
    for text in [
        "2000-01-01 00:00:00",
        "1970-01-01 00:00:00.5",
        "2024-05-06 07:08:09.123456",
        "0001-01-01 00:00:00 BC",
        "4714-11-24 00:00:00 BC",
        "294276-12-31 23:59:59.999999",
        "infinity",
        "-infinity",
    ] {
        f.push(round_trip_parsed::<Timestamp>(&mut conn, "timestamp", text).await);
    }
    for (v, text) in [
        (Timestamp::MIN, "4714-11-24 00:00:00 BC"),
        (Timestamp::MAX, "294276-12-31 23:59:59.999999"),
        (Timestamp::INFINITY, "infinity"),
        (Timestamp::NEG_INFINITY, "-infinity"),
        (
            Timestamp::from_unix_micros(0).unwrap(),
            "1970-01-01 00:00:00",
        ),
        (
            Timestamp::new(Date::from_ymd(2024, 2, 29).unwrap(), Time::END_OF_DAY).unwrap(),
            "2024-03-01 00:00:00",
        ),
    ] {
        f.push(round_trip(&mut conn, "timestamp", &v, text).await);
    }
    for text in [
        "2000-01-01 00:00:00+00",
        "1970-01-01 00:00:00.5+00",
        "2024-05-06 07:08:09.123456+00",
        "0001-01-01 00:00:00+00 BC",
        "4714-11-24 00:00:00+00 BC",
        "294276-12-31 23:59:59.999999+00",
        "infinity",
        "-infinity",
    ] {
        f.push(round_trip_parsed::<TimestampTz>(&mut conn, "timestamptz", text).await);
    }
    for (v, text) in [
        (TimestampTz::MIN, "4714-11-24 00:00:00+00 BC"),
        (TimestampTz::MAX, "294276-12-31 23:59:59.999999+00"),
        (
            TimestampTz::from_unix_micros(-1).unwrap(),
            "1969-12-31 23:59:59.999999+00",
        ),
    ] {
        f.push(round_trip(&mut conn, "timestamptz", &v, text).await);
    }
    f.finish();
}

/// `interval` in the `postgres` IntervalStyle, with mixed signs and the extremes of each field.
#[tokio::test]
async fn interval() {
    let mut conn = connect().await;
    let mut f = Failures::new("interval");
    let major = conn.server_version().major();
    for text in [
        "00:00:00",
        "1 year 2 mons 3 days 04:05:06.789",
        "-1 days",
        "1 day -00:00:01",
        "-1 years -2 mons +3 days",
        "-1 mons",
        "1 mon",
        "2 mons",
        "-00:00:00.000001",
        "100:00:00",
        "11 mons",
        "-1 days +01:00:00",
        "1 day 01:00:00",
        "12 years",
        "-1 years",
        "00:00:01.5",
        "3 days -04:00:00",
        "-3 days -04:00:00",
    ] {
        f.push(round_trip_parsed::<Interval>(&mut conn, "interval", text).await);
    }
    for (v, text) in [
        (Interval::ZERO, "00:00:00"),
        (
            Interval::new(i32::MAX, i32::MAX, i64::MAX - 1),
            "178956970 years 7 mons 2147483647 days 2562047788:00:54.775806",
        ),
        (
            Interval::new(i32::MIN + 1, i32::MIN, i64::MIN + 1),
            "-178956970 years -7 mons -2147483648 days -2562047788:00:54.775807",
        ),
    ] {
        // PostgreSQL 13 prints no interval of 2^31 hours or more (22008).
        let since = if v.micros().unsigned_abs() > 1 << 60 {
            14
        } else {
            0
        };
        let outcome = round_trip(&mut conn, "interval", &v, text).await;
        f.push(needs_server(major, since, "22008", outcome));
    }
    f.finish();
}

/// The interval with every part at its maximum (or minimum) is `±infinity` from
/// PostgreSQL 17 on and an ordinary interval before. `Interval` reads those bits as
/// infinity, so from an older server they are an error, never a finite value that
/// calls itself infinite.
#[tokio::test]
async fn interval_extremes_mean_infinity_only_from_postgresql_17() {
    let mut conn = connect().await;
    let major = conn.server_version().major();
    let max = "178956970 years 7 mons 2147483647 days 2562047788:00:54.775807";
    for simple in [false, true] {
        let sql = format!("SELECT '{max}'::interval");
        let got: Result<Interval, String> = if simple {
            match simple_row(&mut conn, &sql).await {
                Ok(row) => row.try_get::<Interval, usize>(0).map_err(|e| e.to_string()),
                Err(e) => Err(e),
            }
        } else {
            quarry::query_scalar(quarry::AssertSqlSafe(sql.clone()))
                .fetch_one(&mut conn)
                .await
                .map_err(|e| e.to_string())
        };
        // PostgreSQL 13 cannot read that text back (22015); the binary case below
        // still covers it there.
        if major < 14 && got.as_ref().is_err_and(|e| e.contains("22015")) {
            continue;
        }
        check_extreme(major, &sql, got, Interval::INFINITY);
    }
    // The bits themselves, sent raw (`Interval`'s encoder refuses them before 17: see
    // below); the minimum has no text form PostgreSQL reads back before 17.
    for (want, what) in [
        (Interval::INFINITY, "all maximum"),
        (Interval::NEG_INFINITY, "all minimum"),
    ] {
        let mut bits = want.micros().to_be_bytes().to_vec();
        bits.extend_from_slice(&want.days().to_be_bytes());
        bits.extend_from_slice(&want.months().to_be_bytes());
        let got = quarry::query_scalar::<Interval>("SELECT $1::interval")
            .bind(quarry::types::PgValue::binary(Oid::INTERVAL, bits))
            .fetch_one(&mut conn)
            .await
            .map_err(|e| e.to_string());
        check_extreme(major, &format!("SELECT $1 ({what})"), got, want);
    }
}

/// Sending `Interval::INFINITY` or `NEG_INFINITY` to a server before PostgreSQL 17 would
/// store a finite interval (those bits are one there): every way a value goes out (a
/// query, an array, a pipeline, a binary COPY) refuses it, naming the server's version.
/// From 17 on the server stores infinity.
#[tokio::test]
async fn infinite_intervals_are_refused_by_servers_before_17() {
    let mut conn = connect().await;
    let major = conn.server_version().major();
    let check = |what: &str, got: Result<String, quarry::Error>, want: &str| match got {
        Ok(text) if major >= 17 => assert_eq!(text, want, "{what}"),
        Err(e) if major < 17 => {
            let all = chain(&e);
            assert!(
                all.contains("PostgreSQL 17") && all.contains(&format!("PostgreSQL {major})")),
                "{what}: {all}"
            );
        }
        other => panic!("PostgreSQL {major}, {what}: {other:?}"),
    };
    for (v, text) in [
        (Interval::INFINITY, "infinity"),
        (Interval::NEG_INFINITY, "-infinity"),
    ] {
        let got = quarry::query_scalar::<String>("SELECT $1::interval::text")
            .bind(v)
            .fetch_one(&mut conn)
            .await;
        if major < 17 {
            // The error names the finite interval the server would have stored: its own
            // text of the same bits, sent raw.
            let mut bits = v.micros().to_be_bytes().to_vec();
            bits.extend_from_slice(&v.days().to_be_bytes());
            bits.extend_from_slice(&v.months().to_be_bytes());
            let stored = quarry::query_scalar::<String>("SELECT $1::interval::text")
                .bind(quarry::types::PgValue::binary(Oid::INTERVAL, bits))
                .fetch_one(&mut conn)
                .await;
            let e = got.as_ref().map(|_| ()).expect_err("refused before 17");
            match stored {
                Ok(stored) => assert!(chain(e).contains(&format!("`{stored}`")), "{}", chain(e)),
                // PostgreSQL 13 cannot print it (interval out of range).
                Err(printing) if major < 14 => {
                    assert!(chain(&printing).contains("22008"), "{}", chain(&printing))
                }
                Err(printing) => panic!("{}", chain(&printing)),
            }
        }
        check("a parameter", got, text);
        let got = quarry::query_scalar::<String>("SELECT $1::interval[]::text")
            .bind(vec![Some(Interval::ZERO), None, Some(v)])
            .fetch_one(&mut conn)
            .await;
        check(
            "an array element",
            got,
            &format!("{{00:00:00,NULL,{text}}}"),
        );
        let mut pipeline = conn.pipeline();
        pipeline.push(quarry::query("SELECT $1::interval::text").bind(v));
        let got = pipeline.run().await.map(|r| {
            let [row] = r[0].rows.as_slice() else {
                panic!("one row expected")
            };
            row.get::<String, _>(0)
        });
        check("a pipeline", got, text);
    }
    // A finite interval next to the extremes still goes.
    let near = Interval::new(i32::MAX, i32::MAX, i64::MAX - 1);
    let got = quarry::query_scalar::<Interval>("SELECT $1::interval")
        .bind(near)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(got, near);

    // A binary COPY: the row is refused before it is sent, the COPY goes on.
    quarry::query("CREATE TEMP TABLE copied_intervals (i interval)")
        .execute(&mut conn)
        .await
        .unwrap();
    let mut copy = conn
        .copy_in::<(Interval,)>("COPY copied_intervals (i) FROM STDIN BINARY")
        .await
        .unwrap();
    copy.write((Interval::ZERO,)).await.unwrap();
    let refused = copy.write((Interval::INFINITY,)).await;
    let rows = copy.finish().await.unwrap();
    let texts: Vec<String> =
        quarry::query_scalar("SELECT i::text FROM copied_intervals ORDER BY i")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    match refused {
        Err(e) if major < 17 => {
            assert!(chain(&e).contains("PostgreSQL 17"), "{}", chain(&e));
            assert_eq!((rows, texts), (1, vec!["00:00:00".to_owned()]));
        }
        Ok(()) if major >= 17 => {
            assert_eq!(rows, 2);
            assert_eq!(texts, ["00:00:00", "infinity"]);
        }
        other => panic!("PostgreSQL {major}, COPY: {other:?}"),
    }
}

fn check_extreme(major: u32, sql: &str, got: Result<Interval, String>, want: Interval) {
    match (major >= 17, got) {
        (true, Ok(v)) => assert_eq!(v, want, "{sql}"),
        (false, Err(e)) => assert!(e.contains("PostgreSQL 17"), "{sql}: {e}"),
        (_, other) => panic!("PostgreSQL {major}, {sql}: {other:?}"),
    }
}

/// Every Rust spelling of text and bytes in the type table encodes as its
/// PostgreSQL type (the round trips above use the owned ones).
#[tokio::test]
async fn borrowed_and_boxed_spellings_encode() {
    use std::borrow::Cow;

    let mut conn = connect().await;
    let row = quarry::query(
        "SELECT $1::text, $2::text, $3::text, $4::bytea::text, $5::bytea::text, \
         $6::bytea::text, $7::bytea::text",
    )
    .bind(Cow::Borrowed("cow"))
    .bind(Box::<str>::from("box"))
    .bind("str")
    .bind(&b"\x00\x01"[..])
    .bind(Box::<[u8]>::from(&b"\x02"[..]))
    .bind(bytes::Bytes::from_static(b"\x03"))
    .bind([0xffu8, 0xfe])
    .fetch_one(&mut conn)
    .await
    .unwrap();
    let got: Vec<String> = (0..7).map(|i| row.get::<String, _>(i)).collect();
    assert_eq!(
        got,
        ["cow", "box", "str", "\\x0001", "\\x02", "\\x03", "\\xfffe"]
    );
}
