//! jiff types (feature `jiff`): `civil::Date` <-> `date`, `civil::Time` <-> `time`,
//! `civil::DateTime` <-> `timestamp`, `Timestamp` <-> `timestamptz`,
//! `SignedDuration` and `Span` <-> `interval`; `ZonedDateTime` encodes as `timestamptz`
//! (its instant) and is not decoded.
//!
//! Every conversion goes through Quarry's own type and is checked, as for the
//! `chrono` and `time` types: `infinity`, values beyond jiff's range (years -9999 to
//! 9999), `24:00:00`, an interval with a months or days part into a `SignedDuration`
//! (not a fixed duration), and an interval whose parts have different signs or exceed
//! jiff's limits into a `Span` are decode errors. Years before 4714-11-24 BC (jiff
//! reaches -9999) and out-of-range durations are encode errors. Nanoseconds are rounded
//! to the nearest microsecond (ties to even), as PostgreSQL rounds a literal.
//!
//! `ZonedDateTime` is encode-only: `timestamptz` stores an instant, not a time zone, so
//! reading one back could only invent a zone (UTC); decode a `Timestamp` and attach the
//! zone you mean with `Timestamp::to_zoned_datetime`.

use ::jiff::civil;
use ::jiff::{SignedDuration, Span, ZonedDateTime};

use super::calendar::{
    UNIX_EPOCH_DAYS, USECS_PER_DAY, USECS_PER_HOUR, USECS_PER_MINUTE, USECS_PER_SEC, days_from_ymd,
    nanos_to_micros, ymd_from_days,
};
use super::{Date, Interval, Time, Timestamp, TimestampTz};
use crate::types::{
    Decode, DecodeError, Encode, EncodeBuf, EncodeError, IsNull, Type, TypeRef, ValueError,
    ValueRef,
};

fn infinite(what: &str, target: &str) -> ValueError {
    ValueError::new(format!(
        "{what} is infinite; {target} has no infinity (decode into quarry's own type to keep it)"
    ))
}

fn jiff_range(target: &str) -> ValueError {
    ValueError::new(format!(
        "value is outside {target}'s range (years -9999 to 9999); decode into quarry's own \
         type to read it"
    ))
}

fn jiff_date(days_since_2000: i64) -> Result<civil::Date, ValueError> {
    let (year, month, day) = ymd_from_days(days_since_2000);
    let out_of_range = |_| jiff_range("jiff::civil::Date");
    civil::Date::new(
        i16::try_from(year).map_err(out_of_range)?,
        i8::try_from(month).map_err(out_of_range)?,
        i8::try_from(day).map_err(out_of_range)?,
    )
    .map_err(|_| jiff_range("jiff::civil::Date"))
}

fn days_since_2000(date: civil::Date) -> i64 {
    // jiff's month and day are always valid (1..=12, 1..=31).
    days_from_ymd(
        i64::from(date.year()),
        date.month().unsigned_abs(),
        date.day().unsigned_abs(),
    )
}

fn jiff_time(micros: i64) -> Result<civil::Time, ValueError> {
    let t = Time::from_micros_since_midnight(micros)?;
    if t == Time::END_OF_DAY {
        return Err(ValueError::new(
            "time 24:00:00 does not fit jiff::civil::Time",
        ));
    }
    // Each part is within range by construction (below 24:00:00).
    let parts = (
        i8::try_from(t.hour()),
        i8::try_from(t.minute()),
        i8::try_from(t.second()),
        i32::try_from(t.microsecond() * 1000),
    );
    match parts {
        (Ok(h), Ok(m), Ok(s), Ok(ns)) => civil::Time::new(h, m, s, ns).ok(),
        _ => None,
    }
    .ok_or_else(|| ValueError::new("time does not fit jiff::civil::Time"))
}

/// Microseconds since midnight, rounded (at most 24:00:00).
fn time_micros(time: civil::Time) -> i64 {
    let whole = i64::from(time.hour()) * USECS_PER_HOUR
        + i64::from(time.minute()) * USECS_PER_MINUTE
        + i64::from(time.second()) * USECS_PER_SEC;
    // subsec_nanosecond() is below 10^9, so the rounded value is at most 10^6.
    whole + i64::try_from(nanos_to_micros(i128::from(time.subsec_nanosecond()))).unwrap_or(0)
}

impl TryFrom<Date> for civil::Date {
    type Error = ValueError;

    /// Fails on the infinities and after 9999-12-31.
    fn try_from(value: Date) -> Result<civil::Date, ValueError> {
        if value.is_infinite() {
            return Err(infinite("date", "jiff::civil::Date"));
        }
        jiff_date(i64::from(value.days_since_2000()))
    }
}

impl TryFrom<civil::Date> for Date {
    type Error = ValueError;

    /// Fails before 4714-11-24 BC.
    fn try_from(value: civil::Date) -> Result<Date, ValueError> {
        Date::from_days(days_since_2000(value))
    }
}

impl TryFrom<Time> for civil::Time {
    type Error = ValueError;

    /// Fails on `24:00:00`.
    fn try_from(value: Time) -> Result<civil::Time, ValueError> {
        jiff_time(value.micros_since_midnight())
    }
}

impl From<civil::Time> for Time {
    /// Rounds to the microsecond (23:59:59.9999995 becomes 24:00:00).
    fn from(value: civil::Time) -> Time {
        Time::from_micros_since_midnight(time_micros(value)).unwrap_or(Time::END_OF_DAY)
    }
}

impl TryFrom<Timestamp> for civil::DateTime {
    type Error = ValueError;

    /// Fails on the infinities and after 9999-12-31.
    fn try_from(value: Timestamp) -> Result<civil::DateTime, ValueError> {
        if value.is_infinite() {
            return Err(infinite("timestamp", "jiff::civil::DateTime"));
        }
        let micros = value.micros_since_2000();
        let date = jiff_date(micros.div_euclid(USECS_PER_DAY))
            .map_err(|_| jiff_range("jiff::civil::DateTime"))?;
        Ok(date.to_datetime(jiff_time(micros.rem_euclid(USECS_PER_DAY))?))
    }
}

impl TryFrom<civil::DateTime> for Timestamp {
    type Error = ValueError;

    /// Rounds to the microsecond; fails before 4714-11-24 BC.
    fn try_from(value: civil::DateTime) -> Result<Timestamp, ValueError> {
        days_since_2000(value.date())
            .checked_mul(USECS_PER_DAY)
            .and_then(|m| m.checked_add(time_micros(value.time())))
            .ok_or_else(|| ValueError::new("timestamp is out of range"))
            .and_then(Timestamp::from_finite_micros)
    }
}

impl TryFrom<TimestampTz> for ::jiff::Timestamp {
    type Error = ValueError;

    /// Fails on the infinities and beyond jiff's range.
    fn try_from(value: TimestampTz) -> Result<::jiff::Timestamp, ValueError> {
        let unix_micros = match value.unix_micros() {
            Some(micros) => micros,
            None if value.is_infinite() => {
                return Err(infinite("timestamptz", "jiff::Timestamp"));
            }
            None => return Err(jiff_range("jiff::Timestamp")),
        };
        ::jiff::Timestamp::from_microsecond(unix_micros).map_err(|_| jiff_range("jiff::Timestamp"))
    }
}

impl TryFrom<::jiff::Timestamp> for TimestampTz {
    type Error = ValueError;

    /// The same instant, rounded to the microsecond; fails before 4714-11-24 BC.
    fn try_from(value: ::jiff::Timestamp) -> Result<TimestampTz, ValueError> {
        let micros =
            nanos_to_micros(value.as_nanosecond()) + i128::from(UNIX_EPOCH_DAYS * USECS_PER_DAY);
        i64::try_from(micros)
            .map_err(|_| ValueError::new("timestamptz is out of range"))
            .and_then(TimestampTz::from_finite_micros)
    }
}

impl TryFrom<&ZonedDateTime> for TimestampTz {
    type Error = ValueError;

    /// The instant (the time zone is not sent: `timestamptz` does not store one).
    fn try_from(value: &ZonedDateTime) -> Result<TimestampTz, ValueError> {
        TimestampTz::try_from(value.timestamp())
    }
}

fn fixed_only(value: Interval, target: &str) -> Result<i64, ValueError> {
    if value.is_infinite() {
        return Err(infinite("interval", target));
    }
    if value.months() != 0 || value.days() != 0 {
        return Err(ValueError::new(format!(
            "interval has a months or days part, which is not a fixed duration; decode into \
             jiff::Span or quarry's Interval (or use justify_hours/extract(epoch) in SQL) \
             rather than {target}"
        )));
    }
    Ok(value.micros())
}

impl TryFrom<Interval> for SignedDuration {
    type Error = ValueError;

    /// Only an interval without months and days is a fixed duration.
    fn try_from(value: Interval) -> Result<SignedDuration, ValueError> {
        fixed_only(value, "jiff::SignedDuration").map(SignedDuration::from_micros)
    }
}

impl TryFrom<SignedDuration> for Interval {
    type Error = ValueError;

    /// A time-only interval, rounded to the microsecond; fails beyond ±i64 microseconds.
    fn try_from(value: SignedDuration) -> Result<Interval, ValueError> {
        i64::try_from(nanos_to_micros(value.as_nanos()))
            .map(|micros| Interval::new(0, 0, micros))
            .map_err(|_| ValueError::new("duration is too long for an interval's time part"))
    }
}

fn span_range(what: &str) -> ValueError {
    ValueError::new(format!(
        "interval's {what} exceed jiff::Span's limits (about 20 000 years); decode into \
         quarry's Interval"
    ))
}

impl TryFrom<Interval> for Span {
    type Error = ValueError;

    /// Years and months from the months, days, then hours, minutes, seconds and
    /// microseconds from the time part, as PostgreSQL prints an interval. Fails on the
    /// infinities, on parts of different signs (`1 mon -1 days`: a `Span` has one sign)
    /// and beyond jiff's limits.
    fn try_from(value: Interval) -> Result<Span, ValueError> {
        if value.is_infinite() {
            return Err(infinite("interval", "jiff::Span"));
        }
        let (months, days, micros) = (
            i64::from(value.months()),
            i64::from(value.days()),
            value.micros(),
        );
        let signs = [months.signum(), days.signum(), micros.signum()];
        if signs.contains(&1) && signs.contains(&-1) {
            return Err(ValueError::new(
                "interval's months, days and time parts have different signs, which a \
                 jiff::Span cannot hold (it has one sign); decode into quarry's Interval \
                 (or use justify_interval in SQL)",
            ));
        }
        Span::new()
            .try_years(months / 12)
            .and_then(|s| s.try_months(months % 12))
            .map_err(|_| span_range("months"))?
            .try_days(days)
            .map_err(|_| span_range("days"))?
            .try_hours(micros / USECS_PER_HOUR)
            .and_then(|s| s.try_minutes(micros % USECS_PER_HOUR / USECS_PER_MINUTE))
            .and_then(|s| s.try_seconds(micros % USECS_PER_MINUTE / USECS_PER_SEC))
            .and_then(|s| s.try_microseconds(micros % USECS_PER_SEC))
            .map_err(|_| span_range("hours"))
    }
}

impl TryFrom<Span> for Interval {
    type Error = ValueError;

    /// Years and months become months, weeks and days days (a day is not always 24
    /// hours: PostgreSQL keeps it apart too), the rest the time part, rounded to the
    /// microsecond. Fails where a part does not fit.
    fn try_from(value: Span) -> Result<Interval, ValueError> {
        let months = i64::from(value.get_years()) * 12 + i64::from(value.get_months());
        let days = i64::from(value.get_weeks()) * 7 + i64::from(value.get_days());
        let nanos = (i128::from(value.get_hours()) * i128::from(USECS_PER_HOUR)
            + i128::from(value.get_minutes()) * i128::from(USECS_PER_MINUTE)
            + i128::from(value.get_seconds()) * i128::from(USECS_PER_SEC)
            + i128::from(value.get_milliseconds()) * 1000
            + i128::from(value.get_microseconds()))
            * 1000
            + i128::from(value.get_nanoseconds());
        let months = i32::try_from(months)
            .map_err(|_| ValueError::new("span's months do not fit an interval"))?;
        let days = i32::try_from(days)
            .map_err(|_| ValueError::new("span's days do not fit an interval"))?;
        let micros = i64::try_from(nanos_to_micros(nanos))
            .map_err(|_| ValueError::new("span is too long for an interval's time part"))?;
        Ok(Interval::new(months, days, micros))
    }
}

macro_rules! via_own_type {
    ($theirs:ty, $own:ty, $to_own:expr) => {
        impl Type for $theirs {
            fn type_ref() -> TypeRef {
                <$own as Type>::type_ref()
            }
        }

        impl Encode for $theirs {
            fn encode(&self, buf: &mut EncodeBuf) -> Result<IsNull, EncodeError> {
                let own: $own = ($to_own)(*self)?;
                own.encode(buf)
            }
            fn param_type(&self) -> TypeRef {
                <$own as Type>::type_ref()
            }
            fn size_hint(&self) -> usize {
                16
            }
        }

        impl<'r> Decode<'r> for $theirs {
            fn decode(value: ValueRef<'r>) -> Result<Self, DecodeError> {
                let own = <$own>::decode(value)?;
                Ok(<$theirs>::try_from(own)?)
            }
        }
    };
}

via_own_type!(civil::Date, Date, Date::try_from);
via_own_type!(civil::Time, Time, |t| Ok::<_, ValueError>(Time::from(t)));
via_own_type!(civil::DateTime, Timestamp, Timestamp::try_from);
via_own_type!(::jiff::Timestamp, TimestampTz, TimestampTz::try_from);
via_own_type!(SignedDuration, Interval, Interval::try_from);
via_own_type!(Span, Interval, Interval::try_from);

/// Sent as `timestamptz`, so `Option<ZonedDateTime>` and arrays of it bind; never read.
impl Type for ZonedDateTime {
    fn type_ref() -> TypeRef {
        <TimestampTz as Type>::type_ref()
    }
}

impl Encode for ZonedDateTime {
    fn encode(&self, buf: &mut EncodeBuf) -> Result<IsNull, EncodeError> {
        TimestampTz::try_from(self)?.encode(buf)
    }
    fn param_type(&self) -> TypeRef {
        <TimestampTz as Type>::type_ref()
    }
    fn size_hint(&self) -> usize {
        8
    }
}

#[cfg(test)]
mod tests {
    use ::jiff::ToSpan;
    use ::jiff::civil::{date, time};
    use proptest::prelude::*;

    use super::*;
    use crate::types::Oid;
    use crate::types::read::testing::{bin, encode, hex, text};

    #[test]
    fn dates() {
        let d = date(2024, 2, 29);
        // Golden from PostgreSQL 15's date_send('2024-02-29').
        assert_eq!(encode(&d), hex("\\x00002279"));
        assert_eq!(bin::<civil::Date>(Oid::DATE, &hex("\\x00002279")), Ok(d));
        assert_eq!(
            text::<civil::Date>(Oid::DATE, "0044-03-15 BC"),
            Ok(date(-43, 3, 15))
        );
        assert_eq!(
            text::<civil::Date>(Oid::DATE, "4714-11-24 BC"),
            Ok(date(-4713, 11, 24))
        );
        assert_eq!(
            text::<civil::Date>(Oid::DATE, "9999-12-31"),
            Ok(date(9999, 12, 31))
        );
        let inf = bin::<civil::Date>(Oid::DATE, &hex("\\x7fffffff")).unwrap_err();
        assert!(inf.message().contains("infinite"), "{inf}");
        let far = text::<civil::Date>(Oid::DATE, "10000-01-01").unwrap_err();
        assert!(far.message().contains("range"), "{far}");
        let early = Date::try_from(civil::Date::MIN).unwrap_err();
        assert!(early.to_string().contains("4714-11-24 BC"), "{early}");
    }

    #[test]
    fn times() {
        let t = time(23, 59, 59, 999_999_000);
        assert_eq!(encode(&t), hex("\\x000000141dd75fff"));
        assert_eq!(
            bin::<civil::Time>(Oid::TIME, &hex("\\x000000141dd75fff")),
            Ok(t)
        );
        let end = bin::<civil::Time>(Oid::TIME, &hex("\\x000000141dd76000")).unwrap_err();
        assert!(end.message().contains("24:00:00"), "{end}");
        assert_eq!(Time::from(time(23, 59, 59, 999_999_500)), Time::END_OF_DAY);
        assert_eq!(
            Time::from(time(0, 0, 0, 1_500)),
            Time::from_micros_since_midnight(2).unwrap()
        );
        assert_eq!(
            Time::from(time(0, 0, 0, 2_500)),
            Time::from_micros_since_midnight(2).unwrap()
        );
    }

    #[test]
    fn timestamps() {
        // Goldens from PostgreSQL 15's timestamp_send / timestamptz_send.
        let dt = date(2024, 5, 6).at(7, 8, 9, 123_456_000);
        assert_eq!(encode(&dt), hex("\\x0002bac2801b6a80"));
        assert_eq!(
            bin::<civil::DateTime>(Oid::TIMESTAMP, &hex("\\x0002bac2801b6a80")),
            Ok(dt)
        );
        let ts: ::jiff::Timestamp = "2024-05-06T07:08:09.123456Z".parse().unwrap();
        assert_eq!(encode(&ts), hex("\\x0002bac2801b6a80"));
        assert_eq!(
            bin::<::jiff::Timestamp>(Oid::TIMESTAMPTZ, &hex("\\x0002bac2801b6a80")),
            Ok(ts)
        );
        assert_eq!(
            text::<::jiff::Timestamp>(Oid::TIMESTAMPTZ, "2024-05-06 03:08:09.123456-04"),
            Ok(ts)
        );
        let zoned = ts.to_zoned_datetime(::jiff::tz::TimeZone::fixed(::jiff::tz::offset(5)));
        assert_eq!(encode(&zoned), hex("\\x0002bac2801b6a80"));

        assert!(bin::<civil::DateTime>(Oid::TIMESTAMP, &hex("\\x7fffffffffffffff")).is_err());
        assert!(bin::<::jiff::Timestamp>(Oid::TIMESTAMPTZ, &hex("\\x8000000000000000")).is_err());
        assert!(text::<civil::DateTime>(Oid::TIMESTAMP, "10000-01-01 00:00:00").is_err());
        assert!(text::<::jiff::Timestamp>(Oid::TIMESTAMPTZ, "9999-12-31 23:00:00+00").is_err());
        let earliest = bin::<civil::DateTime>(Oid::TIMESTAMP, &hex("\\xfd0f7cc1411fa000")).unwrap();
        assert_eq!(earliest, date(-4713, 11, 24).at(0, 0, 0, 0));
        assert!(Timestamp::try_from(civil::DateTime::MIN).is_err());
        assert!(TimestampTz::try_from(::jiff::Timestamp::MIN).is_err());
        // jiff's latest instant is within PostgreSQL's range.
        assert!(TimestampTz::try_from(::jiff::Timestamp::MAX).is_ok());
    }

    #[test]
    fn durations() {
        assert_eq!(
            encode(&SignedDuration::from_hours(100)),
            hex("\\x00000053d1ac10000000000000000000")
        );
        assert_eq!(
            bin::<SignedDuration>(Oid::INTERVAL, &hex("\\xffffffffffffffff0000000000000000")),
            Ok(SignedDuration::from_micros(-1))
        );
        let days =
            bin::<SignedDuration>(Oid::INTERVAL, &hex("\\x0000000000000000ffffffff00000000"))
                .unwrap_err();
        assert!(days.message().contains("days"), "{days}");
        assert_eq!(
            Interval::try_from(SignedDuration::from_nanos(-1_500)),
            Ok(Interval::new(0, 0, -2))
        );
        assert!(Interval::try_from(SignedDuration::MAX).is_err());
        assert!(Interval::try_from(SignedDuration::MIN).is_err());
    }

    #[test]
    fn spans() {
        let span = 1
            .year()
            .months(2)
            .days(3)
            .hours(4)
            .minutes(5)
            .seconds(6)
            .microseconds(7);
        let interval = Interval::try_from(span).unwrap();
        assert_eq!(interval, Interval::new(14, 3, 14_706_000_007));
        assert_eq!(
            Span::try_from(interval).unwrap().fieldwise(),
            span.fieldwise()
        );
        let negative = Interval::new(-14, -3, -1);
        assert_eq!(
            Span::try_from(negative).unwrap().fieldwise(),
            (-1).year().months(-2).days(-3).microseconds(-1).fieldwise()
        );
        assert_eq!(
            Interval::try_from(2.weeks().days(1).milliseconds(1).nanoseconds(500)),
            Ok(Interval::new(0, 15, 1_000))
        );
        let mixed = Span::try_from(Interval::new(1, -1, 0)).unwrap_err();
        assert!(mixed.to_string().contains("signs"), "{mixed}");
        assert!(Span::try_from(Interval::new(0, i32::MAX - 1, 0)).is_err());
        assert!(Span::try_from(Interval::new(0, 0, i64::MAX - 1)).is_err());
        assert!(Span::try_from(Interval::INFINITY).is_err());
        assert!(Span::try_from(Interval::NEG_INFINITY).is_err());
    }

    proptest! {
        #[test]
        fn timestamp_round_trip(micros in -315_537_897_600_000_000i64..252_423_993_600_000_000) {
            // Years -4713..=9999: within both PostgreSQL's and jiff's range.
            prop_assume!(micros >= Timestamp::MIN.micros_since_2000());
            let ts = Timestamp::from_micros_since_2000(micros).unwrap();
            let dt = civil::DateTime::try_from(ts).unwrap();
            prop_assert_eq!(Timestamp::try_from(dt), Ok(ts));
            let tz = TimestampTz::from_micros_since_2000(micros).unwrap();
            if let Ok(instant) = ::jiff::Timestamp::try_from(tz) {
                prop_assert_eq!(TimestampTz::try_from(instant), Ok(tz));
            }
        }

        #[test]
        fn any_value_decodes_or_errors(micros: i64, days: i32, months: i32) {
            let bytes = micros.to_be_bytes();
            let _ = bin::<civil::DateTime>(Oid::TIMESTAMP, &bytes);
            let _ = bin::<::jiff::Timestamp>(Oid::TIMESTAMPTZ, &bytes);
            let _ = bin::<civil::Date>(Oid::DATE, &bytes[..4]);
            let _ = bin::<civil::Time>(Oid::TIME, &bytes);
            let interval = Interval::new(months, days, micros);
            let _ = SignedDuration::try_from(interval);
            if let Ok(span) = Span::try_from(interval) {
                prop_assert_eq!(Interval::try_from(span), Ok(interval));
            }
        }
    }
}
