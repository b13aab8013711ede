//! `chrono` types (feature `chrono`): `NaiveDate` <-> `date`, `NaiveTime` <->
//! `time`, `NaiveDateTime` <-> `timestamp`, `DateTime<Utc>` and
//! `DateTime<FixedOffset>` <-> `timestamptz`, `TimeDelta` <-> `interval`.
//!
//! Every conversion goes through Quarry's own type and is checked:
//! `infinity`, years outside chrono's range (about ±262143), `24:00:00`, and
//! intervals with a months or days part (not a fixed duration) are decode
//! errors (rust-postgres #640/#1171, sqlx #2234). Years before 4714 BC or
//! after 294276 AD, leap seconds and out-of-range durations are encode errors.
//! Nanoseconds are rounded to the nearest microsecond (ties to even).
//! `DateTime<FixedOffset>` decodes with offset `+00:00`: `timestamptz` stores
//! an instant, not an offset.

use ::chrono::{
    DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, TimeZone,
    Timelike, Utc,
};

use super::calendar::{USECS_PER_DAY, USECS_PER_SEC, nanos_to_micros};
use super::{Date, Interval, Time, Timestamp, TimestampTz};
use crate::types::{
    Decode, DecodeError, Encode, EncodeBuf, EncodeError, IsNull, Type, TypeRef, ValueError,
    ValueRef,
};

/// `NaiveDate::from_num_days_from_ce_opt` of 2000-01-01.
const CE_DAY_OF_2000: i64 = 730_120;

fn infinite(what: &str, target: &str) -> ValueError {
    ValueError::new(format!(
        "{what} is infinite; {target} has no infinity (decode into quarry's own type to keep it)"
    ))
}

fn chrono_range(target: &str) -> ValueError {
    ValueError::new(format!(
        "value is outside {target}'s range (about 262143 BC to 262142 AD)"
    ))
}

fn naive_date(days_since_2000: i64) -> Result<NaiveDate, ValueError> {
    days_since_2000
        .checked_add(CE_DAY_OF_2000)
        .and_then(|d| i32::try_from(d).ok())
        .and_then(NaiveDate::from_num_days_from_ce_opt)
        .ok_or_else(|| chrono_range("chrono::NaiveDate"))
}

fn days_since_2000(date: NaiveDate) -> i64 {
    i64::from(date.num_days_from_ce()) - CE_DAY_OF_2000
}

fn naive_time(micros: i64) -> Result<NaiveTime, ValueError> {
    let secs = u32::try_from(micros / USECS_PER_SEC).ok();
    let nanos = u32::try_from(micros % USECS_PER_SEC * 1000).ok();
    secs.zip(nanos)
        .and_then(|(s, n)| NaiveTime::from_num_seconds_from_midnight_opt(s, n))
        .ok_or_else(|| ValueError::new("time 24:00:00 does not fit chrono::NaiveTime"))
}

/// Microseconds since midnight, rounded; a leap second is an error.
fn time_micros(time: NaiveTime) -> Result<i64, ValueError> {
    let nanos = time.nanosecond();
    if nanos >= 1_000_000_000 {
        return Err(ValueError::new(
            "PostgreSQL has no leap seconds; chrono's 23:59:60 cannot be sent",
        ));
    }
    let total = i128::from(time.num_seconds_from_midnight()) * 1_000_000_000 + i128::from(nanos);
    // At most 86 400 000 000: fits.
    i64::try_from(nanos_to_micros(total)).map_err(|_| ValueError::new("time is out of range"))
}

fn naive_date_time(micros: i64) -> Result<NaiveDateTime, ValueError> {
    let date = naive_date(micros.div_euclid(USECS_PER_DAY))?;
    Ok(date.and_time(naive_time(micros.rem_euclid(USECS_PER_DAY))?))
}

fn micros_since_2000(value: NaiveDateTime) -> Result<i64, ValueError> {
    let time = time_micros(value.time())?;
    days_since_2000(value.date())
        .checked_mul(USECS_PER_DAY)
        .and_then(|m| m.checked_add(time))
        .ok_or_else(|| ValueError::new("timestamp is out of range"))
}

impl TryFrom<Date> for NaiveDate {
    type Error = ValueError;

    /// Fails on the infinities and beyond chrono's range.
    fn try_from(value: Date) -> Result<NaiveDate, ValueError> {
        if value.is_infinite() {
            return Err(infinite("date", "chrono::NaiveDate"));
        }
        naive_date(i64::from(value.days_since_2000()))
    }
}

impl TryFrom<NaiveDate> for Date {
    type Error = ValueError;

    /// Fails before 4714-11-24 BC.
    fn try_from(value: NaiveDate) -> Result<Date, ValueError> {
        Date::from_days(days_since_2000(value))
    }
}

impl TryFrom<Time> for NaiveTime {
    type Error = ValueError;

    /// Fails on `24:00:00`.
    fn try_from(value: Time) -> Result<NaiveTime, ValueError> {
        naive_time(value.micros_since_midnight())
    }
}

impl TryFrom<NaiveTime> for Time {
    type Error = ValueError;

    /// Rounds to the microsecond (23:59:59.9999995 becomes 24:00:00); fails on a leap second.
    fn try_from(value: NaiveTime) -> Result<Time, ValueError> {
        Time::from_micros_since_midnight(time_micros(value)?)
    }
}

impl TryFrom<Timestamp> for NaiveDateTime {
    type Error = ValueError;

    /// Fails on the infinities and beyond chrono's range.
    fn try_from(value: Timestamp) -> Result<NaiveDateTime, ValueError> {
        if value.is_infinite() {
            return Err(infinite("timestamp", "chrono::NaiveDateTime"));
        }
        naive_date_time(value.micros_since_2000())
    }
}

impl TryFrom<NaiveDateTime> for Timestamp {
    type Error = ValueError;

    /// Fails outside PostgreSQL's range.
    fn try_from(value: NaiveDateTime) -> Result<Timestamp, ValueError> {
        micros_since_2000(value).and_then(Timestamp::from_finite_micros)
    }
}

impl TryFrom<TimestampTz> for DateTime<Utc> {
    type Error = ValueError;

    /// Fails on the infinities and beyond chrono's range.
    fn try_from(value: TimestampTz) -> Result<DateTime<Utc>, ValueError> {
        if value.is_infinite() {
            return Err(infinite("timestamptz", "chrono::DateTime"));
        }
        Ok(naive_date_time(value.micros_since_2000())?.and_utc())
    }
}

impl TryFrom<TimestampTz> for DateTime<FixedOffset> {
    type Error = ValueError;

    /// The instant at offset `+00:00`; fails on the infinities and beyond chrono's range.
    fn try_from(value: TimestampTz) -> Result<DateTime<FixedOffset>, ValueError> {
        DateTime::<Utc>::try_from(value).map(|utc| utc.fixed_offset())
    }
}

impl<Tz: TimeZone> TryFrom<DateTime<Tz>> for TimestampTz {
    type Error = ValueError;

    /// The same instant; fails outside PostgreSQL's range.
    fn try_from(value: DateTime<Tz>) -> Result<TimestampTz, ValueError> {
        micros_since_2000(value.naive_utc()).and_then(TimestampTz::from_finite_micros)
    }
}

impl TryFrom<Interval> for TimeDelta {
    type Error = ValueError;

    /// Only an interval without months and days is a fixed duration.
    fn try_from(value: Interval) -> Result<TimeDelta, ValueError> {
        if value.is_infinite() {
            return Err(infinite("interval", "chrono::TimeDelta"));
        }
        if value.months() != 0 || value.days() != 0 {
            return Err(ValueError::new(
                "interval has a months or days part, which is not a fixed duration; \
                 decode into quarry's Interval (or use justify_hours/extract(epoch) in SQL)",
            ));
        }
        Ok(TimeDelta::microseconds(value.micros()))
    }
}

impl TryFrom<TimeDelta> for Interval {
    type Error = ValueError;

    /// A time-only interval, rounded to the microsecond; fails beyond ±i64 microseconds.
    fn try_from(value: TimeDelta) -> Result<Interval, ValueError> {
        let nanos =
            i128::from(value.num_seconds()) * 1_000_000_000 + i128::from(value.subsec_nanos());
        i64::try_from(nanos_to_micros(nanos))
            .map(|micros| Interval::new(0, 0, micros))
            .map_err(|_| ValueError::new("duration is too long for an interval's time part"))
    }
}

macro_rules! via_own_type {
    ($chrono:ty, $own:ty) => {
        impl Type for $chrono {
            fn type_ref() -> TypeRef {
                <$own as Type>::type_ref()
            }
        }

        impl Encode for $chrono {
            fn encode(&self, buf: &mut EncodeBuf) -> Result<IsNull, EncodeError> {
                <$own>::try_from(self.clone())?.encode(buf)
            }
            fn param_type(&self) -> TypeRef {
                <$own as Type>::type_ref()
            }
            fn size_hint(&self) -> usize {
                16
            }
        }

        impl<'r> Decode<'r> for $chrono {
            fn decode(value: ValueRef<'r>) -> Result<Self, DecodeError> {
                let own = <$own>::decode(value)?;
                Ok(<$chrono>::try_from(own)?)
            }
        }
    };
}

via_own_type!(NaiveDate, Date);
via_own_type!(NaiveTime, Time);
via_own_type!(NaiveDateTime, Timestamp);
via_own_type!(DateTime<Utc>, TimestampTz);
via_own_type!(DateTime<FixedOffset>, TimestampTz);
via_own_type!(TimeDelta, Interval);

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::types::Oid;
    use crate::types::read::testing::{bin, encode, hex, text};

    fn date(s: &str) -> Date {
        s.parse().unwrap()
    }

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn dates() {
        let d = NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
        assert_eq!(Date::try_from(d), Ok(date("2024-02-29")));
        assert_eq!(
            NaiveDate::try_from(date("0044-03-15 BC")),
            Ok(NaiveDate::from_ymd_opt(-43, 3, 15).unwrap())
        );
        // Golden from PostgreSQL 15's date_send('2024-02-29').
        assert_eq!(encode(&d), hex("\\x00002279"));
        assert_eq!(bin::<NaiveDate>(Oid::DATE, &hex("\\x00002279")), Ok(d));
        assert_eq!(text::<NaiveDate>(Oid::DATE, "2024-02-29"), Ok(d));

        let err = bin::<NaiveDate>(Oid::DATE, &hex("\\x7fffffff")).unwrap_err();
        assert!(err.message().contains("infinite"), "{err}");
        assert!(text::<NaiveDate>(Oid::DATE, "-infinity").is_err());
        assert!(
            text::<NaiveDate>(Oid::DATE, "5874897-12-31")
                .unwrap_err()
                .message()
                .contains("range")
        );
        assert!(Date::try_from(NaiveDate::MIN).is_err(), "before 4714 BC");
        assert!(NaiveDate::try_from(Date::MIN).is_ok());
        let mut buf = EncodeBuf::new();
        assert!(NaiveDate::MIN.encode(&mut buf).is_err());
    }

    #[test]
    fn times() {
        let t = NaiveTime::from_hms_micro_opt(23, 59, 59, 999_999).unwrap();
        assert_eq!(encode(&t), hex("\\x000000141dd75fff"));
        assert_eq!(
            bin::<NaiveTime>(Oid::TIME, &hex("\\x000000141dd75fff")),
            Ok(t)
        );
        assert!(
            bin::<NaiveTime>(Oid::TIME, &hex("\\x000000141dd76000")).is_err(),
            "24:00:00"
        );
        let leap = NaiveTime::from_hms_nano_opt(23, 59, 59, 1_500_000_000).unwrap();
        assert!(Time::try_from(leap).is_err());
        let rounds_up = NaiveTime::from_hms_nano_opt(23, 59, 59, 999_999_500).unwrap();
        assert_eq!(Time::try_from(rounds_up), Ok(Time::END_OF_DAY));
        let half = NaiveTime::from_hms_nano_opt(0, 0, 0, 2_500).unwrap();
        assert_eq!(Time::try_from(half).map(Time::micros_since_midnight), Ok(2));
    }

    #[test]
    fn timestamps() {
        // Goldens from PostgreSQL 15's timestamp_send / timestamptz_send.
        let naive = NaiveDate::from_ymd_opt(2024, 5, 6)
            .unwrap()
            .and_hms_micro_opt(7, 8, 9, 123_456)
            .unwrap();
        assert_eq!(encode(&naive), hex("\\x0002bac2801b6a80"));
        assert_eq!(encode(&naive.and_utc()), hex("\\x0002bac2801b6a80"));
        assert_eq!(
            bin::<NaiveDateTime>(Oid::TIMESTAMP, &hex("\\x0002bac2801b6a80")),
            Ok(naive)
        );
        assert_eq!(
            bin::<DateTime<Utc>>(Oid::TIMESTAMPTZ, &hex("\\x0002bac2801b6a80")),
            Ok(naive.and_utc())
        );
        let fixed =
            bin::<DateTime<FixedOffset>>(Oid::TIMESTAMPTZ, &hex("\\x0002bac2801b6a80")).unwrap();
        assert_eq!(fixed, naive.and_utc());
        assert_eq!(fixed.offset().local_minus_utc(), 0);
        // A text value in another session zone is the same instant.
        assert_eq!(
            text::<DateTime<Utc>>(Oid::TIMESTAMPTZ, "2024-05-06 12:38:09.123456+05:30"),
            Ok(naive.and_utc())
        );
        let east = FixedOffset::east_opt(5 * 3600)
            .unwrap()
            .from_utc_datetime(&naive);
        assert_eq!(encode(&east), hex("\\x0002bac2801b6a80"));

        // rust-postgres #640 / sqlx #2234: infinity is an error, not a panic.
        assert!(bin::<NaiveDateTime>(Oid::TIMESTAMP, &hex("\\x7fffffffffffffff")).is_err());
        assert!(bin::<DateTime<Utc>>(Oid::TIMESTAMPTZ, &hex("\\x8000000000000000")).is_err());
        // Finite but beyond chrono (dora #256): 294276 AD.
        let err = bin::<NaiveDateTime>(Oid::TIMESTAMP, &hex("\\x7fffff5bb3b29fff")).unwrap_err();
        assert!(err.message().contains("range"), "{err}");
        assert!(NaiveDateTime::try_from(ts("4714-11-24 00:00:00 BC")).is_ok());
        assert!(Timestamp::try_from(NaiveDateTime::MIN).is_err());
        assert!(TimestampTz::try_from(DateTime::<Utc>::MAX_UTC).is_ok());
        assert!(TimestampTz::try_from(DateTime::<Utc>::MIN_UTC).is_err());
    }

    #[test]
    fn durations() {
        let i: Interval = "100:00:00".parse().unwrap();
        assert_eq!(TimeDelta::try_from(i), Ok(TimeDelta::hours(100)));
        assert_eq!(
            encode(&TimeDelta::hours(100)),
            hex("\\x00000053d1ac10000000000000000000")
        );
        assert_eq!(
            bin::<TimeDelta>(Oid::INTERVAL, &hex("\\xffffffffffffffff0000000000000000")),
            Ok(TimeDelta::microseconds(-1))
        );
        assert!(
            bin::<TimeDelta>(Oid::INTERVAL, &hex("\\x0000000000000000ffffffff00000000")).is_err(),
            "-1 days"
        );
        assert!(TimeDelta::try_from(Interval::INFINITY).is_err());
        assert_eq!(
            Interval::try_from(TimeDelta::nanoseconds(-1_500)),
            Ok(Interval::new(0, 0, -2))
        );
        assert!(Interval::try_from(TimeDelta::MAX).is_err());
        assert_eq!(
            TimeDelta::try_from(Interval::new(0, 0, i64::MIN)),
            Ok(TimeDelta::microseconds(i64::MIN))
        );
    }

    /// The last microsecond chrono can hold (its `NaiveDateTime::MAX`, about 262142 AD).
    fn chrono_max_micros() -> i64 {
        Timestamp::try_from(NaiveDateTime::MAX)
            .expect("chrono's maximum is within PostgreSQL's timestamp range")
            .micros_since_2000()
    }

    proptest! {
        #[test]
        fn timestamp_round_trip(micros in Timestamp::MIN.micros_since_2000()..chrono_max_micros()) {
            // From PostgreSQL's minimum to chrono's maximum (about 262142 AD): every value
            // converts both ways. (A fixed bound here was past chrono's range: found by
            // proptest with micros = 8209320192000000000.)
            let ts = Timestamp::from_micros_since_2000(micros).unwrap();
            let naive = NaiveDateTime::try_from(ts).unwrap();
            prop_assert_eq!(Timestamp::try_from(naive), Ok(ts));
            prop_assert_eq!(bin::<NaiveDateTime>(Oid::TIMESTAMP, &encode(&naive)), Ok(naive));
        }

        #[test]
        fn any_timestamp_decodes_or_errors(micros: i64) {
            let bytes = micros.to_be_bytes();
            let _ = bin::<NaiveDateTime>(Oid::TIMESTAMP, &bytes);
            let _ = bin::<DateTime<Utc>>(Oid::TIMESTAMPTZ, &bytes);
            let _ = bin::<NaiveDate>(Oid::DATE, &bytes[..4]);
            let _ = bin::<NaiveTime>(Oid::TIME, &bytes);
        }
    }
}
