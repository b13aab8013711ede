//! The optional integrations, each behind the facade feature of the same name:
//! `chrono`, `time`, `jiff`, `rust_decimal`, `bigdecimal` (`uuid` and `json` are in
//! `scalar.rs` and `other.rs`). Each converts through Quarry's own type; what
//! the target cannot hold (infinity, out-of-range years, `24:00:00`, months in
//! a duration, NaN in a decimal) is a decode error naming the column.

#[cfg(any(
    feature = "chrono",
    feature = "time",
    feature = "jiff",
    feature = "rust_decimal",
    feature = "bigdecimal",
    feature = "ipnetwork",
    feature = "ipnet",
    feature = "mac_address",
    feature = "bit-vec",
    feature = "geo-types"
))]
use crate::support::{Failures, connect, needs_server, round_trip, round_trip_by, simple_row};

/// Decodes column 0 of `sql` as `T` in both formats and returns both errors,
/// failing if either succeeds.
#[cfg(any(
    feature = "chrono",
    feature = "time",
    feature = "jiff",
    feature = "rust_decimal",
    feature = "bigdecimal"
))]
async fn decode_errors<T>(conn: &mut quarry::Connection, sql: &'static str) -> [String; 2]
where
    T: for<'r> quarry::types::Decode<'r> + quarry::types::Type + std::fmt::Debug,
{
    let binary = quarry::query(sql)
        .fetch_one(&mut *conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    let text = simple_row(conn, sql).await.unwrap();
    [binary, text].map(|row| match row.try_get::<T, _>(0) {
        Ok(v) => panic!("{sql}: decoded {v:?}, expected an error"),
        Err(e) => e.to_string(),
    })
}

/// Whether `sql` reads numeric `Infinity`, which a server before PostgreSQL 14 does not
/// have: there it must refuse the literal (22P02), and the case is skipped.
#[cfg(any(feature = "rust_decimal", feature = "bigdecimal"))]
async fn skip_before_14(conn: &mut quarry::Connection, sql: &'static str) -> bool {
    let major = conn.server_version().major();
    if major >= 14 || !sql.contains("Infinity") {
        return false;
    }
    let refused = simple_row(conn, sql).await;
    assert!(
        refused.as_ref().is_err_and(|e| e.contains("22P02")),
        "PostgreSQL {major} has no numeric infinity: {sql}: {:?}",
        refused.map(|_| ())
    );
    true
}

#[cfg(feature = "chrono")]
mod with_chrono {
    use chrono::{
        DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, TimeZone, Utc,
    };
    use quarry::types::Range;

    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn time(h: u32, m: u32, s: u32, nano: u32) -> NaiveTime {
        NaiveTime::from_hms_nano_opt(h, m, s, nano).unwrap()
    }

    #[tokio::test]
    async fn round_trips() {
        let mut conn = connect().await;
        let mut f = Failures::new("chrono");
        let major = conn.server_version().major();
        for (v, text) in [
            (date(2000, 1, 1), "2000-01-01"),
            (date(1970, 1, 1), "1970-01-01"),
            (date(2024, 2, 29), "2024-02-29"),
            (date(0, 1, 1), "0001-01-01 BC"),
            (date(-4713, 11, 24), "4714-11-24 BC"),
            (NaiveDate::MAX, "262142-12-31"),
        ] {
            f.push(round_trip(&mut conn, "date", &v, text).await);
        }
        for (v, text) in [
            (NaiveTime::MIN, "00:00:00"),
            (time(23, 59, 59, 999_999_000), "23:59:59.999999"),
            (time(1, 2, 3, 4_000), "01:02:03.000004"),
        ] {
            f.push(round_trip(&mut conn, "time", &v, text).await);
        }
        for (v, text) in [
            (
                date(1970, 1, 1).and_time(NaiveTime::MIN),
                "1970-01-01 00:00:00",
            ),
            (
                date(-4713, 11, 24).and_time(NaiveTime::MIN),
                "4714-11-24 00:00:00 BC",
            ),
            (
                NaiveDate::MAX.and_time(time(23, 59, 59, 999_999_000)),
                "262142-12-31 23:59:59.999999",
            ),
        ] {
            f.push(round_trip(&mut conn, "timestamp", &v, text).await);
        }
        let instant =
            Utc.with_ymd_and_hms(2024, 5, 6, 7, 8, 9).unwrap() + TimeDelta::microseconds(123_456);
        f.push(
            round_trip(
                &mut conn,
                "timestamptz",
                &instant,
                "2024-05-06 07:08:09.123456+00",
            )
            .await,
        );
        let before_1970 = DateTime::<Utc>::from_timestamp_micros(-1).unwrap();
        f.push(
            round_trip(
                &mut conn,
                "timestamptz",
                &before_1970,
                "1969-12-31 23:59:59.999999+00",
            )
            .await,
        );
        // An offset is kept as the instant it names; it reads back in UTC (checked below).
        let offset = FixedOffset::east_opt(5 * 3600 + 1800).unwrap();
        let local = offset.with_ymd_and_hms(2024, 5, 6, 12, 38, 9).unwrap();
        f.push(round_trip(&mut conn, "timestamptz", &local, "2024-05-06 07:08:09+00").await);
        for (v, text) in [
            (TimeDelta::zero(), "00:00:00"),
            (TimeDelta::milliseconds(1_500), "00:00:01.5"),
            (TimeDelta::microseconds(-1), "-00:00:00.000001"),
            (TimeDelta::hours(100), "100:00:00"),
            (
                TimeDelta::microseconds(i64::MAX - 1),
                "2562047788:00:54.775806",
            ),
            (
                TimeDelta::microseconds(i64::MIN + 1),
                "-2562047788:00:54.775807",
            ),
        ] {
            // PostgreSQL 13 prints no interval of 2^31 hours or more (22008).
            let since = if v.num_hours().abs() > i64::from(i32::MAX) {
                14
            } else {
                0
            };
            let outcome = round_trip(&mut conn, "interval", &v, text).await;
            f.push(needs_server(major, since, "22008", outcome));
        }
        let r = Range::from(date(2020, 1, 1)..date(2020, 2, 1));
        f.push(round_trip(&mut conn, "daterange", &r, "[2020-01-01,2020-02-01)").await);
        let r = Range::from(instant..);
        f.push(
            round_trip(
                &mut conn,
                "tstzrange",
                &r,
                "[\"2024-05-06 07:08:09.123456+00\",)",
            )
            .await,
        );
        f.finish();

        let row = quarry::query("SELECT $1::timestamptz")
            .bind(local)
            .fetch_one(&mut conn)
            .await
            .unwrap();
        let back: DateTime<FixedOffset> = row.get(0);
        assert_eq!(back, local);
        assert_eq!(
            back.offset().local_minus_utc(),
            0,
            "timestamptz reads back in UTC"
        );
    }

    /// Nanoseconds round to the nearest microsecond, ties to even, as the server rounds text.
    #[tokio::test]
    async fn nanoseconds_round_like_the_server() {
        let mut conn = connect().await;
        for (nanos, text) in [
            (1_499, "00:00:00.000001"),
            (1_500, "00:00:00.000002"),
            (2_500, "00:00:00.000002"),
            (2_501, "00:00:00.000003"),
        ] {
            let (ours, server): (String, String) = quarry::query_as(
                "SELECT $1::time::text, ('00:00:00.' || lpad($2::text, 9, '0'))::time::text",
            )
            .bind(time(0, 0, 0, nanos))
            .bind(nanos)
            .fetch_one(&mut conn)
            .await
            .unwrap();
            assert_eq!(ours, text, "{nanos} ns");
            assert_eq!(server, text, "{nanos} ns, as the server rounds it");
        }
    }

    /// Values chrono cannot hold are decode errors naming the column; values
    /// PostgreSQL cannot hold are encode errors, with nothing sent.
    #[tokio::test]
    async fn errors() {
        let mut conn = connect().await;
        for e in
            decode_errors::<NaiveDateTime>(&mut conn, "SELECT 'infinity'::timestamp AS ts").await
        {
            assert!(e.contains("column \"ts\"") && e.contains("infinite"), "{e}");
        }
        for e in
            decode_errors::<DateTime<Utc>>(&mut conn, "SELECT '-infinity'::timestamptz AS ts").await
        {
            assert!(e.contains("column \"ts\"") && e.contains("infinite"), "{e}");
        }
        for e in decode_errors::<NaiveDate>(&mut conn, "SELECT '300000-01-01'::date AS d").await {
            assert!(e.contains("column \"d\"") && e.contains("range"), "{e}");
        }
        for e in decode_errors::<NaiveTime>(&mut conn, "SELECT '24:00:00'::time AS t").await {
            assert!(e.contains("column \"t\"") && e.contains("24:00:00"), "{e}");
        }
        for e in decode_errors::<TimeDelta>(&mut conn, "SELECT '1 mon'::interval AS i").await {
            assert!(e.contains("column \"i\"") && e.contains("month"), "{e}");
        }
        for e in decode_errors::<TimeDelta>(&mut conn, "SELECT '1 day'::interval AS i").await {
            assert!(e.contains("column \"i\"") && e.contains("day"), "{e}");
        }
        let err = quarry::query("SELECT $1::date")
            .bind(NaiveDate::MIN)
            .execute(&mut conn)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), quarry::ErrorKind::Encode, "{err}");
        let err = quarry::query("SELECT $1::interval")
            .bind(TimeDelta::MAX)
            .execute(&mut conn)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), quarry::ErrorKind::Encode, "{err}");
        // The connection is still usable.
        let one: i32 = quarry::query_scalar("SELECT 1")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(one, 1);
    }
}

#[cfg(feature = "time")]
mod with_time {
    use quarry::types::MultiRange;
    use time::{Date, Duration, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

    use super::*;
    use crate::support::chain;

    fn date(y: i32, m: u8, d: u8) -> Date {
        Date::from_calendar_date(y, Month::try_from(m).unwrap(), d).unwrap()
    }

    fn time(h: u8, m: u8, s: u8, micro: u32) -> Time {
        Time::from_hms_micro(h, m, s, micro).unwrap()
    }

    #[tokio::test]
    async fn round_trips() {
        let mut conn = connect().await;
        let mut f = Failures::new("time");
        let major = conn.server_version().major();
        for (v, text) in [
            (date(2000, 1, 1), "2000-01-01"),
            (date(2024, 2, 29), "2024-02-29"),
            (date(0, 1, 1), "0001-01-01 BC"),
            (date(-4713, 11, 24), "4714-11-24 BC"),
            (Date::MAX, "9999-12-31"),
        ] {
            f.push(round_trip(&mut conn, "date", &v, text).await);
        }
        for (v, text) in [
            (Time::MIDNIGHT, "00:00:00"),
            (time(23, 59, 59, 999_999), "23:59:59.999999"),
            (time(12, 34, 56, 500_000), "12:34:56.5"),
        ] {
            f.push(round_trip(&mut conn, "time", &v, text).await);
        }
        let ts = PrimitiveDateTime::new(date(2024, 5, 6), time(7, 8, 9, 123_456));
        f.push(round_trip(&mut conn, "timestamp", &ts, "2024-05-06 07:08:09.123456").await);
        let min = PrimitiveDateTime::new(date(-4713, 11, 24), Time::MIDNIGHT);
        f.push(round_trip(&mut conn, "timestamp", &min, "4714-11-24 00:00:00 BC").await);
        let utc = ts.assume_utc();
        f.push(
            round_trip(
                &mut conn,
                "timestamptz",
                &utc,
                "2024-05-06 07:08:09.123456+00",
            )
            .await,
        );
        let offset = utc.to_offset(UtcOffset::from_hms(-3, -30, 0).unwrap());
        f.push(
            round_trip(
                &mut conn,
                "timestamptz",
                &offset,
                "2024-05-06 07:08:09.123456+00",
            )
            .await,
        );
        for (v, text) in [
            (Duration::ZERO, "00:00:00"),
            (Duration::milliseconds(-1_500), "-00:00:01.5"),
            (Duration::hours(100), "100:00:00"),
            (
                Duration::microseconds(i64::MAX - 1),
                "2562047788:00:54.775806",
            ),
        ] {
            // PostgreSQL 13 prints no interval of 2^31 hours or more (22008).
            let since = if v.whole_hours().abs() > i64::from(i32::MAX) {
                14
            } else {
                0
            };
            let outcome = round_trip(&mut conn, "interval", &v, text).await;
            f.push(needs_server(major, since, "22008", outcome));
        }
        let m = MultiRange(vec![quarry::types::Range::from(
            date(2020, 1, 1)..date(2020, 1, 3),
        )]);
        // Multiranges are PostgreSQL 14's (42704: no such type before).
        let outcome =
            round_trip(&mut conn, "datemultirange", &m, "{[2020-01-01,2020-01-03)}").await;
        f.push(needs_server(major, 14, "42704", outcome));
        f.finish();

        let back: OffsetDateTime = quarry::query_scalar("SELECT $1::timestamptz")
            .bind(offset)
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(back, offset);
        assert!(back.offset().is_utc(), "timestamptz reads back in UTC");
    }

    #[tokio::test]
    async fn errors() {
        let mut conn = connect().await;
        for e in decode_errors::<PrimitiveDateTime>(&mut conn, "SELECT 'infinity'::timestamp AS ts")
            .await
        {
            assert!(e.contains("column \"ts\"") && e.contains("infinite"), "{e}");
        }
        for e in decode_errors::<Date>(&mut conn, "SELECT '10000-01-01'::date AS d").await {
            assert!(e.contains("column \"d\"") && e.contains("range"), "{e}");
        }
        for e in decode_errors::<Time>(&mut conn, "SELECT '24:00:00'::time AS t").await {
            assert!(e.contains("column \"t\"") && e.contains("24:00:00"), "{e}");
        }
        for e in decode_errors::<Duration>(&mut conn, "SELECT '1 year'::interval AS i").await {
            assert!(e.contains("column \"i\"") && e.contains("month"), "{e}");
        }
        let err = quarry::query("SELECT $1::interval")
            .bind(Duration::MAX)
            .execute(&mut conn)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), quarry::ErrorKind::Encode, "{err}");
        // Before 4714 BC, PostgreSQL's first day.
        let err = quarry::query("SELECT $1::date")
            .bind(Date::MIN)
            .execute(&mut conn)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), quarry::ErrorKind::Encode, "{err}");
        assert!(chain(&err).contains("4714-11-24 BC"), "{}", chain(&err));
    }
}

/// jiff's types: edges of both ranges (jiff's years -9999..=9999 against PostgreSQL's
/// 4714 BC..294276 AD), BC dates, the instant of a zoned value, rounding to the
/// microsecond, and the errors for what one side cannot hold.
#[cfg(feature = "jiff")]
mod with_jiff {
    use jiff::civil::{self, date, time};
    use jiff::{SignedDuration, Span, Timestamp, ToSpan, ZonedDateTime};
    use quarry::types::Range;

    use super::*;
    use crate::support::chain;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[tokio::test]
    async fn round_trips() {
        let mut conn = connect().await;
        let mut f = Failures::new("jiff");
        let major = conn.server_version().major();
        for (v, text) in [
            (date(2000, 1, 1), "2000-01-01"),
            (date(1970, 1, 1), "1970-01-01"),
            (date(2024, 2, 29), "2024-02-29"),
            (date(0, 1, 1), "0001-01-01 BC"),
            (date(-43, 3, 15), "0044-03-15 BC"),
            (date(-4713, 11, 24), "4714-11-24 BC"),
            (civil::Date::MAX, "9999-12-31"),
        ] {
            f.push(round_trip(&mut conn, "date", &v, text).await);
        }
        for (v, text) in [
            (civil::Time::MIN, "00:00:00"),
            (time(23, 59, 59, 999_999_000), "23:59:59.999999"),
            (time(12, 34, 56, 500_000_000), "12:34:56.5"),
            (time(1, 2, 3, 4_000), "01:02:03.000004"),
        ] {
            f.push(round_trip(&mut conn, "time", &v, text).await);
        }
        for (v, text) in [
            (
                date(2024, 5, 6).at(7, 8, 9, 123_456_000),
                "2024-05-06 07:08:09.123456",
            ),
            (date(-4713, 11, 24).at(0, 0, 0, 0), "4714-11-24 00:00:00 BC"),
            (
                civil::Date::MAX.at(23, 59, 59, 999_999_000),
                "9999-12-31 23:59:59.999999",
            ),
        ] {
            f.push(round_trip(&mut conn, "timestamp", &v, text).await);
        }
        for (v, text) in [
            (
                ts("2024-05-06T07:08:09.123456Z"),
                "2024-05-06 07:08:09.123456+00",
            ),
            (
                ts("1969-12-31T23:59:59.999999Z"),
                "1969-12-31 23:59:59.999999+00",
            ),
            (ts("-004713-11-24T00:00:00Z"), "4714-11-24 00:00:00+00 BC"),
            // jiff's latest instant, to the microsecond.
            (
                ts("9999-12-30T22:00:00.999999Z"),
                "9999-12-30 22:00:00.999999+00",
            ),
        ] {
            f.push(round_trip(&mut conn, "timestamptz", &v, text).await);
        }
        for (v, text) in [
            (SignedDuration::ZERO, "00:00:00"),
            (SignedDuration::from_millis(-1_500), "-00:00:01.5"),
            (SignedDuration::from_hours(100), "100:00:00"),
            (
                SignedDuration::from_micros(i64::MAX - 1),
                "2562047788:00:54.775806",
            ),
            (
                SignedDuration::from_micros(i64::MIN + 1),
                "-2562047788:00:54.775807",
            ),
        ] {
            // PostgreSQL 13 prints no interval of 2^31 hours or more (22008).
            let since = if v.as_hours().abs() > i64::from(i32::MAX) {
                14
            } else {
                0
            };
            let outcome = round_trip(&mut conn, "interval", &v, text).await;
            f.push(needs_server(major, since, "22008", outcome));
        }
        let fieldwise = |a: &Span, b: &Span| a.fieldwise() == b.fieldwise();
        for (v, text) in [
            (Span::new(), "00:00:00"),
            (
                1.year()
                    .months(2)
                    .days(3)
                    .hours(4)
                    .minutes(5)
                    .seconds(6)
                    .microseconds(7),
                "1 year 2 mons 3 days 04:05:06.000007",
            ),
            (
                (-1).year().months(-2).days(-3).hours(-4),
                "-1 years -2 mons -3 days -04:00:00",
            ),
            (19_998.years(), "19998 years"),
            (7_304_484.days(), "7304484 days"),
        ] {
            f.push(round_trip_by(&mut conn, "interval", &v, text, fieldwise).await);
        }
        let r = Range::from(date(2020, 1, 1)..date(2020, 2, 1));
        f.push(round_trip(&mut conn, "daterange", &r, "[2020-01-01,2020-02-01)").await);
        let r = Range::from(ts("2024-05-06T07:08:09.123456Z")..);
        f.push(
            round_trip(
                &mut conn,
                "tstzrange",
                &r,
                "[\"2024-05-06 07:08:09.123456+00\",)",
            )
            .await,
        );
        f.finish();

        // A zoned value is sent as its instant; it reads back as a Timestamp.
        let zoned: ZonedDateTime = ts("2024-05-06T07:08:09.123456Z")
            .to_zoned_datetime(jiff::tz::TimeZone::fixed(jiff::tz::offset(-4)));
        let (back, text): (Timestamp, String) =
            quarry::query_as("SELECT $1::timestamptz, $1::timestamptz::text")
                .bind(&zoned)
                .fetch_one(&mut conn)
                .await
                .unwrap();
        assert_eq!(back, zoned.timestamp());
        assert_eq!(text, "2024-05-06 07:08:09.123456+00");
        let zoned_array: Vec<Option<Timestamp>> = quarry::query_scalar("SELECT $1::timestamptz[]")
            .bind(vec![Some(zoned.clone()), None])
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(zoned_array, vec![Some(zoned.timestamp()), None]);
    }

    /// Nanoseconds round to the nearest microsecond, ties to even, as the server rounds text.
    #[tokio::test]
    async fn nanoseconds_round_like_the_server() {
        let mut conn = connect().await;
        for (nanos, text) in [
            (1_499, "00:00:00.000001"),
            (1_500, "00:00:00.000002"),
            (2_500, "00:00:00.000002"),
            (2_501, "00:00:00.000003"),
        ] {
            let (ours, dt, instant, span, duration, server): (
                String,
                String,
                String,
                String,
                String,
                String,
            ) = quarry::query_as(
                "SELECT $1::time::text, $2::timestamp::time::text, \
                 ($3::timestamptz AT TIME ZONE 'UTC')::time::text, $4::interval::text, \
                 $5::interval::text, ('00:00:00.' || lpad($6::text, 9, '0'))::time::text",
            )
            .bind(time(0, 0, 0, nanos))
            .bind(date(2000, 1, 1).at(0, 0, 0, nanos))
            .bind(Timestamp::new(0, nanos).unwrap())
            .bind(i64::from(nanos).nanoseconds())
            .bind(SignedDuration::from_nanos(i64::from(nanos)))
            .bind(nanos)
            .fetch_one(&mut conn)
            .await
            .unwrap();
            assert_eq!(server, text, "{nanos} ns, as the server rounds it");
            for ours in [ours, dt, instant, span, duration] {
                assert_eq!(ours, text, "{nanos} ns");
            }
        }
    }

    /// Values jiff cannot hold are decode errors naming the column and what to use
    /// instead; values PostgreSQL cannot hold are encode errors, with nothing sent.
    #[tokio::test]
    async fn errors() {
        let mut conn = connect().await;
        for e in
            decode_errors::<civil::DateTime>(&mut conn, "SELECT 'infinity'::timestamp AS ts").await
        {
            assert!(e.contains("column \"ts\"") && e.contains("infinite"), "{e}");
            assert!(e.contains("quarry's own type"), "{e}");
        }
        for e in
            decode_errors::<Timestamp>(&mut conn, "SELECT '-infinity'::timestamptz AS ts").await
        {
            assert!(e.contains("column \"ts\"") && e.contains("infinite"), "{e}");
        }
        for e in decode_errors::<civil::Date>(&mut conn, "SELECT 'infinity'::date AS d").await {
            assert!(e.contains("column \"d\"") && e.contains("infinite"), "{e}");
        }
        for e in decode_errors::<civil::Date>(&mut conn, "SELECT '10000-01-01'::date AS d").await {
            assert!(e.contains("column \"d\"") && e.contains("range"), "{e}");
        }
        for e in decode_errors::<civil::DateTime>(
            &mut conn,
            "SELECT '10000-01-01 00:00'::timestamp AS ts",
        )
        .await
        {
            assert!(e.contains("column \"ts\"") && e.contains("range"), "{e}");
        }
        // Past jiff's last instant, though still in year 9999.
        for e in decode_errors::<Timestamp>(
            &mut conn,
            "SELECT '9999-12-31 00:00:00+00'::timestamptz AS ts",
        )
        .await
        {
            assert!(e.contains("column \"ts\"") && e.contains("range"), "{e}");
        }
        for e in decode_errors::<civil::Time>(&mut conn, "SELECT '24:00:00'::time AS t").await {
            assert!(e.contains("column \"t\"") && e.contains("24:00:00"), "{e}");
        }
        for e in decode_errors::<SignedDuration>(&mut conn, "SELECT '1 mon'::interval AS i").await {
            assert!(e.contains("column \"i\"") && e.contains("month"), "{e}");
        }
        for e in decode_errors::<SignedDuration>(&mut conn, "SELECT '1 day'::interval AS i").await {
            assert!(e.contains("column \"i\"") && e.contains("day"), "{e}");
        }
        for e in decode_errors::<Span>(&mut conn, "SELECT '1 mon -1 days'::interval AS i").await {
            assert!(e.contains("column \"i\"") && e.contains("signs"), "{e}");
        }
        for e in decode_errors::<Span>(&mut conn, "SELECT '20000 years'::interval AS i").await {
            assert!(
                e.contains("column \"i\"") && e.contains("jiff::Span"),
                "{e}"
            );
        }
        // Before 4714-11-24 BC, PostgreSQL's first day: encode errors, nothing sent.
        let err = quarry::query("SELECT $1::date")
            .bind(civil::Date::MIN)
            .execute(&mut conn)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), quarry::ErrorKind::Encode, "{err}");
        assert!(chain(&err).contains("4714-11-24 BC"), "{}", chain(&err));
        for err in [
            quarry::query("SELECT $1::timestamp")
                .bind(civil::DateTime::MIN)
                .execute(&mut conn)
                .await
                .unwrap_err(),
            quarry::query("SELECT $1::timestamptz")
                .bind(Timestamp::MIN)
                .execute(&mut conn)
                .await
                .unwrap_err(),
            quarry::query("SELECT $1::interval")
                .bind(SignedDuration::MAX)
                .execute(&mut conn)
                .await
                .unwrap_err(),
        ] {
            assert_eq!(err.kind(), quarry::ErrorKind::Encode, "{err}");
        }
        // The connection is still usable.
        let one: i32 = quarry::query_scalar("SELECT 1")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(one, 1);
    }
}

#[cfg(feature = "rust_decimal")]
mod with_rust_decimal {
    use rust_decimal::Decimal;

    use super::*;

    /// Equal and with the same scale (`Decimal`'s `==` ignores scale: `1.5 == 1.50`).
    fn exact(a: &Decimal, b: &Decimal) -> bool {
        a == b && a.scale() == b.scale()
    }

    #[tokio::test]
    async fn round_trips() {
        let mut conn = connect().await;
        let mut f = Failures::new("rust_decimal");
        for text in [
            "0",
            "1.50",
            "-1",
            "0.0000000000000000000000000001",
            "7.9228162514264337593543950335",
            "79228162514264337593543950335",
            "-79228162514264337593543950335",
            "12345.678900",
        ] {
            let v: Decimal = text.parse().unwrap();
            f.push(round_trip_by(&mut conn, "numeric", &v, text, exact).await);
        }
        for (v, text) in [
            (Decimal::MAX, "79228162514264337593543950335"),
            (Decimal::MIN, "-79228162514264337593543950335"),
            (Decimal::new(-5, 3), "-0.005"),
        ] {
            f.push(round_trip_by(&mut conn, "numeric", &v, text, exact).await);
        }
        let r = quarry::types::Range::from(Decimal::new(15, 1)..Decimal::new(250, 2));
        f.push(round_trip(&mut conn, "numrange", &r, "[1.5,2.50)").await);
        f.finish();
    }

    #[tokio::test]
    async fn errors() {
        let mut conn = connect().await;
        for sql in [
            "SELECT 'NaN'::numeric AS n",
            "SELECT 'Infinity'::numeric AS n",
            "SELECT '79228162514264337593543950336'::numeric AS n",
            "SELECT '0.00000000000000000000000000001'::numeric AS n",
            "SELECT '1e40'::numeric AS n",
            // 29 digits after the point, all zeros: reading it at scale 28 would change
            // how the value prints, so it is an error too (issue 21).
            "SELECT '1.00000000000000000000000000000'::numeric AS n",
        ] {
            if skip_before_14(&mut conn, sql).await {
                continue;
            }
            for e in decode_errors::<Decimal>(&mut conn, sql).await {
                assert!(
                    e.contains("column \"n\"") && e.contains("Decimal"),
                    "{sql}: {e}"
                );
            }
        }
    }
}

#[cfg(feature = "bigdecimal")]
mod with_bigdecimal {
    use bigdecimal::BigDecimal;

    use super::*;

    /// Same digits and scale (`BigDecimal`'s `==` ignores scale).
    fn exact(a: &BigDecimal, b: &BigDecimal) -> bool {
        a.as_bigint_and_scale() == b.as_bigint_and_scale()
    }

    #[tokio::test]
    async fn round_trips() {
        let mut conn = connect().await;
        let mut f = Failures::new("bigdecimal");
        let huge = format!("1{}", "0".repeat(1000));
        let tiny = format!("0.{}1", "0".repeat(16_382));
        // (numeric's widest value is in scalar.rs: BigInt's decimal parsing is
        // quadratic, too slow for a debug-build test at 147455 digits.)
        let wide = format!("{}.{}", "9".repeat(10_000), "9".repeat(1_000));
        for text in [
            "0",
            "1.50",
            "-123456789012345678901234567890.123456789",
            huge.as_str(),
            tiny.as_str(),
            wide.as_str(),
        ] {
            let v: BigDecimal = text.parse().unwrap();
            f.push(round_trip_by(&mut conn, "numeric", &v, text, exact).await);
        }
        f.finish();

        // A negative scale (1.5E+5) is sent as the integer it is.
        let v: BigDecimal = "1.5E+5".parse().unwrap();
        let text: String = quarry::query_scalar("SELECT $1::numeric::text")
            .bind(v)
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(text, "150000");
    }

    #[tokio::test]
    async fn errors() {
        let mut conn = connect().await;
        for sql in [
            "SELECT 'NaN'::numeric AS n",
            "SELECT '-Infinity'::numeric AS n",
        ] {
            if skip_before_14(&mut conn, sql).await {
                continue;
            }
            for e in decode_errors::<BigDecimal>(&mut conn, sql).await {
                assert!(
                    e.contains("column \"n\"") && e.contains("BigDecimal"),
                    "{sql}: {e}"
                );
            }
        }
        let too_fine: BigDecimal = format!("0.{}1", "0".repeat(16_383)).parse().unwrap();
        let err = quarry::query("SELECT $1::numeric")
            .bind(too_fine)
            .execute(&mut conn)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), quarry::ErrorKind::Encode, "{err}");
    }
}

/// `ipnetwork::IpNetwork` and `ipnet::IpNet` <-> `inet` and `cidr`: every prefix length's
/// edges in both families, host bits in an `inet`, networks read from `cidr`.
#[cfg(any(feature = "ipnetwork", feature = "ipnet"))]
mod with_ip_crates {
    use quarry::types::AsCidr;

    use super::*;
    use crate::support::chain;

    /// (text as `inet` prints it, is it a network `cidr` accepts too)
    const CASES: &[(&str, bool)] = &[
        ("0.0.0.0/0", true),
        ("255.255.255.255", true),
        ("10.1.2.3/8", false),
        ("192.168.0.0/16", true),
        ("::/0", true),
        ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true),
        ("2001:db8::1/64", false),
        ("::ffff:1.2.3.4", true),
    ];

    /// The `/n` a `cidr` always prints.
    fn as_cidr(text: &str) -> String {
        match (text.contains('/'), text.contains(':')) {
            (true, _) => text.to_owned(),
            (false, false) => format!("{text}/32"),
            (false, true) => format!("{text}/128"),
        }
    }

    async fn check<T>(parse: impl Fn(&str) -> T)
    where
        T: quarry::types::Encode
            + for<'r> quarry::types::Decode<'r>
            + quarry::types::Type
            + PartialEq
            + Clone
            + std::fmt::Debug
            + Send,
    {
        let mut conn = connect().await;
        let mut f = Failures::new("ip crates");
        for &(text, network) in CASES {
            let v = parse(&as_cidr(text));
            // `inet::text` prints the netmask of a host too.
            f.push(round_trip(&mut conn, "inet", &v, &as_cidr(text)).await);
            if network {
                f.push(round_trip(&mut conn, "cidr", &v, &as_cidr(text)).await);
            }
        }
        f.finish();
        // Sent as `inet`, a value bound to a `cidr` parameter is cast by the server, which
        // clears host bits; `AsCidr` (what `query!` binds to a `cidr` parameter) sends it
        // as `cidr` and refuses them, with nothing sent.
        let truncated: String = quarry::query_scalar("SELECT $1::cidr::text")
            .bind(parse("10.1.2.3/8"))
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(truncated, "10.0.0.0/8");
        for host in ["10.1.2.3/8", "2001:db8::1/64", "192.168.1.1/31"] {
            let err = quarry::query("SELECT $1::cidr")
                .bind(AsCidr(&parse(host)))
                .execute(&mut conn)
                .await
                .unwrap_err();
            assert_eq!(err.kind(), quarry::ErrorKind::Encode, "{err}");
            let why = chain(&err);
            assert!(
                why.contains(host) && why.contains("right of the netmask"),
                "{why}"
            );
        }
        quarry::query("CREATE TEMP TABLE nets (n cidr, a cidr[])")
            .execute(&mut conn)
            .await
            .unwrap();
        let err = quarry::query("INSERT INTO nets (n) VALUES ($1)")
            .bind(AsCidr(&Some(parse("10.1.2.3/8"))))
            .execute(&mut conn)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), quarry::ErrorKind::Encode, "{err}");
        for (net, text) in [
            (Some(parse("10.0.0.0/8")), Some("10.0.0.0/8")),
            (Some(parse("2001:db8::/32")), Some("2001:db8::/32")),
            (Some(parse("1.2.3.4/32")), Some("1.2.3.4/32")),
            (None, None),
        ] {
            let (back, printed): (Option<T>, Option<String>) =
                quarry::query_as("INSERT INTO nets (n) VALUES ($1) RETURNING n, n::text")
                    .bind(AsCidr(&net))
                    .fetch_one(&mut conn)
                    .await
                    .unwrap();
            assert_eq!(back, net);
            assert_eq!(printed.as_deref(), text);
        }
        // A statement prepared without types has a `cidr` parameter: the server's cidr
        // input refuses host bits sent as `inet` (22P03), never clears them.
        let stmt = conn
            .prepare("INSERT INTO nets (n) VALUES ($1)")
            .await
            .unwrap();
        let err = stmt
            .query()
            .bind(parse("10.1.2.3/8"))
            .execute(&mut conn)
            .await
            .unwrap_err();
        assert_eq!(err.code().map(|c| c.code()), Some("22P03"), "{err}");
        let stored: i64 = quarry::query_scalar("SELECT count(*) FROM nets WHERE n = '10.0.0.0/8'")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(stored, 1, "only the network inserted above");
        let refused = simple_row(&mut conn, "SELECT '10.1.2.3/8'::cidr").await;
        assert!(refused.is_err_and(|e| e.contains("22P02")));
    }

    #[cfg(feature = "ipnetwork")]
    #[tokio::test]
    async fn ipnetwork_round_trips() {
        check(|s| s.parse::<ipnetwork::IpNetwork>().unwrap()).await;
    }

    #[cfg(feature = "ipnet")]
    #[tokio::test]
    async fn ipnet_round_trips() {
        check(|s| s.parse::<ipnet::IpNet>().unwrap()).await;
    }
}

/// `mac_address::MacAddress` <-> `macaddr`: all zeros, all ones, one in between.
#[cfg(feature = "mac_address")]
#[tokio::test]
async fn mac_address_round_trips() {
    use mac_address::MacAddress;

    let mut conn = connect().await;
    let mut f = Failures::new("mac_address");
    for (bytes, text) in [
        ([0u8; 6], "00:00:00:00:00:00"),
        ([0xff; 6], "ff:ff:ff:ff:ff:ff"),
        ([0x08, 0x00, 0x2b, 0x01, 0x02, 0x03], "08:00:2b:01:02:03"),
    ] {
        f.push(round_trip(&mut conn, "macaddr", &MacAddress::new(bytes), text).await);
    }
    f.finish();
}

/// `bit_vec::BitVec` <-> `varbit` and `bit(n)`: empty, one bit, across byte edges, long.
#[cfg(feature = "bit-vec")]
#[tokio::test]
async fn bit_vec_round_trips() {
    use bit_vec::BitVec;

    let mut conn = connect().await;
    let mut f = Failures::new("bit-vec");
    let long: String = (0..1001)
        .map(|i| if i % 3 == 0 { '1' } else { '0' })
        .collect();
    for text in ["", "0", "1", "10110011", "101100111", long.as_str()] {
        let bits: BitVec = text.bytes().map(|b| b == b'1').collect();
        f.push(round_trip(&mut conn, "varbit", &bits, text).await);
        if !text.is_empty() {
            let ty = format!("bit({})", text.len());
            f.push(round_trip(&mut conn, &ty, &bits, text).await);
        }
    }
    f.finish();
}

/// geo-types <-> `point`, `box`, `path` (open and closed), `polygon`: extreme, infinite
/// and NaN coordinates, compared by `Debug` text (so NaN is NaN).
#[cfg(feature = "geo-types")]
#[tokio::test]
async fn geo_types_round_trip() {
    use geo_types::{LineString, Point, Polygon, Rect, coord};

    use crate::support::same_debug;

    let mut conn = connect().await;
    let mut f = Failures::new("geo-types");
    for (v, text) in [
        (Point::new(0.0, 0.0), "(0,0)"),
        (Point::new(-1.5, 2.25), "(-1.5,2.25)"),
        (
            Point::new(f64::MAX, f64::MIN_POSITIVE),
            "(1.7976931348623157e+308,2.2250738585072014e-308)",
        ),
        (
            Point::new(f64::INFINITY, f64::NEG_INFINITY),
            "(Infinity,-Infinity)",
        ),
        (Point::new(f64::NAN, 0.0), "(NaN,0)"),
    ] {
        f.push(round_trip_by(&mut conn, "point", &v, text, same_debug).await);
    }
    for (v, text) in [
        (
            Rect::new(coord! { x: 3.0, y: -1.0 }, coord! { x: -2.0, y: 4.0 }),
            "(3,4),(-2,-1)",
        ),
        (
            Rect::new(coord! { x: 0.0, y: 0.0 }, coord! { x: 0.0, y: 0.0 }),
            "(0,0),(0,0)",
        ),
    ] {
        // `box[]` text separates elements with `;`: compared through the value.
        f.push(round_trip_by(&mut conn, "box", &v, text, same_debug).await);
    }
    for (v, text) in [
        (LineString::from(vec![(0.0, 0.0)]), "[(0,0)]"),
        (
            LineString::from(vec![(0.0, 0.0), (1.0, 1.5)]),
            "[(0,0),(1,1.5)]",
        ),
        (
            LineString::from(vec![(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 0.0)]),
            "((0,0),(1,0),(1,1))",
        ),
    ] {
        f.push(round_trip_by(&mut conn, "path", &v, text, same_debug).await);
    }
    for (v, text) in [
        (
            Polygon::new(
                LineString::from(vec![(0.0, 0.0), (1.0, 0.0), (1.0, 1.0)]),
                vec![],
            ),
            "((0,0),(1,0),(1,1))",
        ),
        (
            Polygon::new(LineString::from(vec![(2.0, -3.0)]), vec![]),
            "((2,-3))",
        ),
    ] {
        f.push(round_trip_by(&mut conn, "polygon", &v, text, same_debug).await);
    }
    f.finish();

    // A polygon with a hole is refused before it is sent.
    let holed = Polygon::new(
        LineString::from(vec![(0.0, 0.0), (4.0, 0.0), (4.0, 4.0)]),
        vec![LineString::from(vec![(1.0, 1.0), (2.0, 1.0), (2.0, 2.0)])],
    );
    let err = quarry::query("SELECT $1::polygon")
        .bind(holed)
        .execute(&mut conn)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), quarry::ErrorKind::Encode, "{err}");
}
