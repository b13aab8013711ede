//! `time` crate types (feature `time`): `Date` <-> `date`, `Time` <-> `time`,
//! `PrimitiveDateTime` <-> `timestamp`, `OffsetDateTime` <-> `timestamptz`,
//! `Duration` <-> `interval`.
//!
//! Every conversion goes through Quarry's own type and is checked:
//! `infinity`, years outside the `time` crate's range (±9999 unless its
//! `large-dates` feature is on), `24:00:00`, and intervals with a months or
//! days part are decode errors (rust-postgres #1171). Years before 4714 BC and
//! out-of-range durations are encode errors. Nanoseconds are rounded to the
//! nearest microsecond (ties to even). `OffsetDateTime` decodes in UTC:
//! `timestamptz` stores an instant, not an offset.

use ::time::{Duration, OffsetDateTime, PrimitiveDateTime};

use super::calendar::{
    USECS_PER_DAY, USECS_PER_HOUR, USECS_PER_MINUTE, USECS_PER_SEC, nanos_to_micros,
};
use super::{Date, Interval, Time, Timestamp, TimestampTz};
use crate::types::{
    Decode, DecodeError, Encode, EncodeBuf, EncodeError, IsNull, Type, TypeRef, ValueError,
    ValueRef,
};

/// The Julian day number of 2000-01-01.
const JULIAN_DAY_OF_2000: i64 = 2_451_545;
/// 1970-01-01 in days since 2000-01-01.
const UNIX_EPOCH_DAYS: i64 = -10_957;

fn infinite(what: &str, target: &str) -> ValueError {
    ValueError::new(format!(
        "{what} is infinite; {target} has no infinity (decode into quarry's own type to keep it)"
    ))
}

fn time_range(target: &str) -> ValueError {
    ValueError::new(format!(
        "value is outside {target}'s range (years -9999 to 9999 without the time crate's large-dates feature)"
    ))
}

fn time_date(days_since_2000: i64) -> Result<::time::Date, ValueError> {
    days_since_2000
        .checked_add(JULIAN_DAY_OF_2000)
        .and_then(|jd| i32::try_from(jd).ok())
        .and_then(|jd| ::time::Date::from_julian_day(jd).ok())
        .ok_or_else(|| time_range("time::Date"))
}

fn time_time(micros: i64) -> Result<::time::Time, ValueError> {
    let t = Time::from_micros_since_midnight(micros)?;
    ::time::Time::from_hms_micro(t.hour(), t.minute(), t.second(), t.microsecond())
        .map_err(|_| ValueError::new("time 24:00:00 does not fit time::Time"))
}

/// Microseconds since midnight, rounded (at most 24:00:00).
fn time_micros(time: ::time::Time) -> i64 {
    let whole = i64::from(time.hour()) * USECS_PER_HOUR
        + i64::from(time.minute()) * USECS_PER_MINUTE
        + i64::from(time.second()) * USECS_PER_SEC;
    // nanosecond() is below 10^9, so the rounded value is at most 10^6.
    whole + i64::try_from(nanos_to_micros(i128::from(time.nanosecond()))).unwrap_or(0)
}

impl TryFrom<Date> for ::time::Date {
    type Error = ValueError;

    /// Fails on the infinities and beyond the `time` crate's range.
    fn try_from(value: Date) -> Result<::time::Date, ValueError> {
        if value.is_infinite() {
            return Err(infinite("date", "time::Date"));
        }
        time_date(i64::from(value.days_since_2000()))
    }
}

impl TryFrom<::time::Date> for Date {
    type Error = ValueError;

    /// Fails before 4714-11-24 BC.
    fn try_from(value: ::time::Date) -> Result<Date, ValueError> {
        Date::from_days(i64::from(value.to_julian_day()) - JULIAN_DAY_OF_2000)
    }
}

impl TryFrom<Time> for ::time::Time {
    type Error = ValueError;

    /// Fails on `24:00:00`.
    fn try_from(value: Time) -> Result<::time::Time, ValueError> {
        time_time(value.micros_since_midnight())
    }
}

impl From<::time::Time> for Time {
    /// Rounds to the microsecond (23:59:59.9999995 becomes 24:00:00).
    fn from(value: ::time::Time) -> Time {
        Time::from_micros_since_midnight(time_micros(value)).unwrap_or(Time::END_OF_DAY)
    }
}

impl TryFrom<Timestamp> for PrimitiveDateTime {
    type Error = ValueError;

    /// Fails on the infinities and beyond the `time` crate's range.
    fn try_from(value: Timestamp) -> Result<PrimitiveDateTime, ValueError> {
        if value.is_infinite() {
            return Err(infinite("timestamp", "time::PrimitiveDateTime"));
        }
        let micros = value.micros_since_2000();
        let date = time_date(micros.div_euclid(USECS_PER_DAY))?;
        Ok(PrimitiveDateTime::new(
            date,
            time_time(micros.rem_euclid(USECS_PER_DAY))?,
        ))
    }
}

impl TryFrom<PrimitiveDateTime> for Timestamp {
    type Error = ValueError;

    /// Fails outside PostgreSQL's range.
    fn try_from(value: PrimitiveDateTime) -> Result<Timestamp, ValueError> {
        let days = i64::from(value.date().to_julian_day()) - JULIAN_DAY_OF_2000;
        days.checked_mul(USECS_PER_DAY)
            .and_then(|m| m.checked_add(time_micros(value.time())))
            .ok_or_else(|| ValueError::new("timestamp is out of range"))
            .and_then(Timestamp::from_finite_micros)
    }
}

impl TryFrom<TimestampTz> for OffsetDateTime {
    type Error = ValueError;

    /// The instant in UTC; fails on the infinities and beyond the `time` crate's range.
    fn try_from(value: TimestampTz) -> Result<OffsetDateTime, ValueError> {
        let unix_micros = match value.unix_micros() {
            Some(micros) => micros,
            None if value.is_infinite() => {
                return Err(infinite("timestamptz", "time::OffsetDateTime"));
            }
            None => return Err(time_range("time::OffsetDateTime")),
        };
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(unix_micros) * 1000)
            .map_err(|_| time_range("time::OffsetDateTime"))
    }
}

impl TryFrom<OffsetDateTime> for TimestampTz {
    type Error = ValueError;

    /// The same instant; fails outside PostgreSQL's range.
    fn try_from(value: OffsetDateTime) -> Result<TimestampTz, ValueError> {
        let micros = nanos_to_micros(value.unix_timestamp_nanos())
            + i128::from(UNIX_EPOCH_DAYS * USECS_PER_DAY);
        i64::try_from(micros)
            .map_err(|_| ValueError::new("timestamptz is out of range"))
            .and_then(TimestampTz::from_finite_micros)
    }
}

impl TryFrom<Interval> for Duration {
    type Error = ValueError;

    /// Only an interval without months and days is a fixed duration.
    fn try_from(value: Interval) -> Result<Duration, ValueError> {
        if value.is_infinite() {
            return Err(infinite("interval", "time::Duration"));
        }
        if value.months() != 0 || value.days() != 0 {
            return Err(ValueError::new(
                "interval has a months or days part, which is not a fixed duration; \
                 decode into quarry's Interval (or use justify_hours/extract(epoch) in SQL)",
            ));
        }
        Ok(Duration::microseconds(value.micros()))
    }
}

impl TryFrom<Duration> for Interval {
    type Error = ValueError;

    /// A time-only interval, rounded to the microsecond; fails beyond ±i64 microseconds.
    fn try_from(value: Duration) -> Result<Interval, ValueError> {
        let nanos = i128::from(value.whole_seconds()) * 1_000_000_000
            + i128::from(value.subsec_nanoseconds());
        i64::try_from(nanos_to_micros(nanos))
            .map(|micros| Interval::new(0, 0, micros))
            .map_err(|_| ValueError::new("duration is too long for an interval's time part"))
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

via_own_type!(::time::Date, Date, Date::try_from);
via_own_type!(::time::Time, Time, |t| Ok::<_, ValueError>(Time::from(t)));
via_own_type!(PrimitiveDateTime, Timestamp, Timestamp::try_from);
via_own_type!(OffsetDateTime, TimestampTz, TimestampTz::try_from);
via_own_type!(Duration, Interval, Interval::try_from);

#[cfg(test)]
mod tests {
    use ::time::{Month, UtcOffset};
    use proptest::prelude::*;

    use super::*;
    use crate::types::Oid;
    use crate::types::read::testing::{bin, encode, hex, text};

    fn tdate(y: i32, m: Month, d: u8) -> ::time::Date {
        ::time::Date::from_calendar_date(y, m, d).unwrap()
    }

    #[test]
    fn dates() {
        let d = tdate(2024, Month::February, 29);
        // Golden from PostgreSQL 15's date_send('2024-02-29').
        assert_eq!(encode(&d), hex("\\x00002279"));
        assert_eq!(bin::<::time::Date>(Oid::DATE, &hex("\\x00002279")), Ok(d));
        assert_eq!(
            text::<::time::Date>(Oid::DATE, "0044-03-15 BC"),
            Ok(tdate(-43, Month::March, 15))
        );
        assert!(
            bin::<::time::Date>(Oid::DATE, &hex("\\x7fffffff"))
                .unwrap_err()
                .message()
                .contains("infinite")
        );
        assert!(
            text::<::time::Date>(Oid::DATE, "10000-01-01")
                .unwrap_err()
                .message()
                .contains("range")
        );
        assert!(
            Date::try_from(::time::Date::MIN).is_err(),
            "-9999 is before 4714 BC"
        );
    }

    #[test]
    fn times() {
        let t = ::time::Time::from_hms_micro(23, 59, 59, 999_999).unwrap();
        assert_eq!(encode(&t), hex("\\x000000141dd75fff"));
        assert_eq!(
            bin::<::time::Time>(Oid::TIME, &hex("\\x000000141dd75fff")),
            Ok(t)
        );
        assert!(
            bin::<::time::Time>(Oid::TIME, &hex("\\x000000141dd76000")).is_err(),
            "24:00:00"
        );
        let rounds_up = ::time::Time::from_hms_nano(23, 59, 59, 999_999_500).unwrap();
        assert_eq!(Time::from(rounds_up), Time::END_OF_DAY);
    }

    #[test]
    fn timestamps() {
        // Goldens from PostgreSQL 15's timestamp_send / timestamptz_send.
        let pdt = PrimitiveDateTime::new(
            tdate(2024, Month::May, 6),
            ::time::Time::from_hms_micro(7, 8, 9, 123_456).unwrap(),
        );
        assert_eq!(encode(&pdt), hex("\\x0002bac2801b6a80"));
        assert_eq!(
            bin::<PrimitiveDateTime>(Oid::TIMESTAMP, &hex("\\x0002bac2801b6a80")),
            Ok(pdt)
        );
        let odt = pdt.assume_utc();
        assert_eq!(encode(&odt), hex("\\x0002bac2801b6a80"));
        assert_eq!(
            encode(&odt.to_offset(UtcOffset::from_hms(5, 30, 0).unwrap())),
            hex("\\x0002bac2801b6a80")
        );
        let decoded = bin::<OffsetDateTime>(Oid::TIMESTAMPTZ, &hex("\\x0002bac2801b6a80")).unwrap();
        assert_eq!(decoded, odt);
        assert!(decoded.offset().is_utc());
        assert_eq!(
            text::<OffsetDateTime>(Oid::TIMESTAMPTZ, "2024-05-06 03:08:09.123456-04"),
            Ok(odt)
        );

        // rust-postgres #1171: infinity and far years are errors, not panics.
        assert!(bin::<PrimitiveDateTime>(Oid::TIMESTAMP, &hex("\\x7fffffffffffffff")).is_err());
        assert!(bin::<OffsetDateTime>(Oid::TIMESTAMPTZ, &hex("\\x8000000000000000")).is_err());
        assert!(bin::<OffsetDateTime>(Oid::TIMESTAMPTZ, &hex("\\x7fffff5bb3b29fff")).is_err());
        assert!(text::<PrimitiveDateTime>(Oid::TIMESTAMP, "10000-01-01 00:00:00").is_err());
        // PostgreSQL's earliest timestamp, 4714-11-24 BC, is within the time crate's range.
        let earliest =
            bin::<PrimitiveDateTime>(Oid::TIMESTAMP, &hex("\\xfd0f7cc1411fa000")).unwrap();
        assert_eq!(earliest.date(), tdate(-4713, Month::November, 24));
    }

    #[test]
    fn durations() {
        assert_eq!(
            encode(&Duration::hours(100)),
            hex("\\x00000053d1ac10000000000000000000")
        );
        assert_eq!(
            bin::<Duration>(Oid::INTERVAL, &hex("\\xffffffffffffffff0000000000000000")),
            Ok(Duration::microseconds(-1))
        );
        assert!(
            bin::<Duration>(Oid::INTERVAL, &hex("\\x0000000000000000ffffffff00000000")).is_err()
        );
        assert_eq!(
            Interval::try_from(Duration::nanoseconds(-1_500)),
            Ok(Interval::new(0, 0, -2))
        );
        assert!(Interval::try_from(Duration::MAX).is_err());
    }

    proptest! {
        #[test]
        fn timestamp_round_trip(micros in -315_537_897_600_000_000i64..252_423_993_600_000_000) {
            // Years -4713..=9999: within both PostgreSQL's and the time crate's range.
            prop_assume!(micros >= Timestamp::MIN.micros_since_2000());
            let ts = Timestamp::from_micros_since_2000(micros).unwrap();
            let pdt = PrimitiveDateTime::try_from(ts).unwrap();
            prop_assert_eq!(Timestamp::try_from(pdt), Ok(ts));
            let tz = TimestampTz::from_micros_since_2000(micros).unwrap();
            let odt = OffsetDateTime::try_from(tz).unwrap();
            prop_assert_eq!(TimestampTz::try_from(odt), Ok(tz));
        }

        #[test]
        fn any_timestamp_decodes_or_errors(micros: i64) {
            let bytes = micros.to_be_bytes();
            let _ = bin::<PrimitiveDateTime>(Oid::TIMESTAMP, &bytes);
            let _ = bin::<OffsetDateTime>(Oid::TIMESTAMPTZ, &bytes);
            let _ = bin::<::time::Date>(Oid::DATE, &bytes[..4]);
            let _ = bin::<::time::Time>(Oid::TIME, &bytes);
        }
    }
}
