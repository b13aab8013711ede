//! The standard library's time types: `SystemTime` <-> `timestamptz`, `Duration` <->
//! `interval`.
//!
//! As for the `chrono` and `time` types, every conversion goes through Quarry's own type
//! and is checked: `infinity`, instants outside `timestamptz`'s range, intervals with a
//! months or days part (not a fixed duration) and negative intervals (a `Duration` is
//! never negative) are errors. Nanoseconds are rounded to the nearest microsecond (ties
//! to even), as PostgreSQL rounds a literal. `SystemTime` is an instant, so it reads
//! `timestamptz` only: a `timestamp` has no time zone to place it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::calendar::nanos_to_micros;
use super::{Interval, TimestampTz};
use crate::types::{
    Decode, DecodeError, Encode, EncodeBuf, EncodeError, IsNull, Type, TypeRef, ValueError,
    ValueRef,
};

/// Nanoseconds since the Unix epoch (negative before it).
fn unix_nanos(t: SystemTime) -> i128 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(after) => i128::try_from(after.as_nanos()).unwrap_or(i128::MAX),
        Err(before) => -i128::try_from(before.duration().as_nanos()).unwrap_or(i128::MAX),
    }
}

impl TryFrom<SystemTime> for TimestampTz {
    type Error = ValueError;

    /// The instant, rounded to the microsecond; fails outside `timestamptz`'s range.
    fn try_from(value: SystemTime) -> Result<TimestampTz, ValueError> {
        let micros = i64::try_from(nanos_to_micros(unix_nanos(value)))
            .map_err(|_| ValueError::new("SystemTime is outside timestamptz's range"))?;
        TimestampTz::from_unix_micros(micros)
    }
}

impl TryFrom<TimestampTz> for SystemTime {
    type Error = ValueError;

    /// Fails on the infinities and where `SystemTime` cannot reach.
    fn try_from(value: TimestampTz) -> Result<SystemTime, ValueError> {
        let micros = value.unix_micros().ok_or_else(|| {
            ValueError::new(
                "timestamptz is infinite (or beyond the year 294247); SystemTime has no \
                 infinity (decode into quarry's TimestampTz to keep it)",
            )
        })?;
        let magnitude = Duration::from_micros(micros.unsigned_abs());
        let out = if micros >= 0 {
            UNIX_EPOCH.checked_add(magnitude)
        } else {
            UNIX_EPOCH.checked_sub(magnitude)
        };
        out.ok_or_else(|| ValueError::new("timestamptz is outside this platform's SystemTime"))
    }
}

impl TryFrom<Interval> for Duration {
    type Error = ValueError;

    /// Only a non-negative interval without months and days is a `Duration`.
    fn try_from(value: Interval) -> Result<Duration, ValueError> {
        if value.is_infinite() {
            return Err(ValueError::new(
                "interval is infinite; std::time::Duration has no infinity \
                 (decode into quarry's Interval to keep it)",
            ));
        }
        if value.months() != 0 || value.days() != 0 {
            return Err(ValueError::new(
                "interval has a months or days part, which is not a fixed duration; \
                 decode into quarry's Interval (or use justify_hours/extract(epoch) in SQL)",
            ));
        }
        let micros = u64::try_from(value.micros()).map_err(|_| {
            ValueError::new(
                "interval is negative; std::time::Duration cannot be (decode into quarry's \
                 Interval, or chrono::TimeDelta)",
            )
        })?;
        Ok(Duration::from_micros(micros))
    }
}

impl TryFrom<Duration> for Interval {
    type Error = ValueError;

    /// A time-only interval, rounded to the microsecond; fails beyond i64 microseconds.
    fn try_from(value: Duration) -> Result<Interval, ValueError> {
        i128::try_from(value.as_nanos())
            .ok()
            .and_then(|nanos| i64::try_from(nanos_to_micros(nanos)).ok())
            .map(|micros| Interval::new(0, 0, micros))
            .ok_or_else(|| ValueError::new("duration is too long for an interval's time part"))
    }
}

macro_rules! via_own_type {
    ($std:ty, $own:ty) => {
        impl Type for $std {
            fn type_ref() -> TypeRef {
                <$own as Type>::type_ref()
            }
            fn compatible(ty: &crate::types::TypeInfo) -> bool {
                <$own as Type>::compatible(ty)
            }
        }

        impl Encode for $std {
            fn encode(&self, buf: &mut EncodeBuf) -> Result<IsNull, EncodeError> {
                <$own>::try_from(*self)?.encode(buf)
            }
            fn param_type(&self) -> TypeRef {
                <$own as Type>::type_ref()
            }
            fn size_hint(&self) -> usize {
                16
            }
        }

        impl<'r> Decode<'r> for $std {
            fn decode(value: ValueRef<'r>) -> Result<Self, DecodeError> {
                let own = <$own>::decode(value)?;
                Ok(<$std>::try_from(own)?)
            }
        }
    };
}

via_own_type!(SystemTime, TimestampTz);
via_own_type!(Duration, Interval);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Oid;
    use crate::types::read::testing::{bin, encode, text};

    #[test]
    fn system_time_round_trips_through_timestamptz() {
        for micros in [0i64, 1, -1, 1_700_000_000_123_456, -2_000_000_000_000_000] {
            let t = if micros >= 0 {
                UNIX_EPOCH + Duration::from_micros(micros.unsigned_abs())
            } else {
                UNIX_EPOCH - Duration::from_micros(micros.unsigned_abs())
            };
            let ts = TimestampTz::try_from(t).unwrap();
            assert_eq!(ts.unix_micros(), Some(micros));
            assert_eq!(bin::<SystemTime>(Oid::TIMESTAMPTZ, &encode(&t)), Ok(t));
        }
        // Nanoseconds round to the nearest microsecond, ties to even.
        let t = UNIX_EPOCH + Duration::from_nanos(1_500);
        assert_eq!(TimestampTz::try_from(t).unwrap().unix_micros(), Some(2));
        let t = UNIX_EPOCH + Duration::from_nanos(2_500);
        assert_eq!(TimestampTz::try_from(t).unwrap().unix_micros(), Some(2));
        assert_eq!(
            text::<SystemTime>(Oid::TIMESTAMPTZ, "1970-01-01 00:00:01+00"),
            Ok(UNIX_EPOCH + Duration::from_secs(1))
        );
    }

    #[test]
    fn system_time_refuses_what_it_cannot_hold() {
        assert!(SystemTime::try_from(TimestampTz::INFINITY).is_err());
        assert!(SystemTime::try_from(TimestampTz::NEG_INFINITY).is_err());
        assert!(!SystemTime::compatible(&crate::types::TypeInfo::from_oid(
            Oid::TIMESTAMP
        )));
        let far = UNIX_EPOCH + Duration::from_secs(400_000 * 366 * 86_400);
        assert!(TimestampTz::try_from(far).is_err());
    }

    #[test]
    fn duration_is_a_non_negative_time_only_interval() {
        let d = Duration::new(90, 123_456_789);
        let i = Interval::try_from(d).unwrap();
        assert_eq!(i, Interval::new(0, 0, 90_123_457));
        assert_eq!(
            Duration::try_from(i).unwrap(),
            Duration::new(90, 123_457_000)
        );
        assert_eq!(
            bin::<Duration>(Oid::INTERVAL, &encode(&Duration::from_secs(3))),
            Ok(Duration::from_secs(3))
        );
        for bad in [
            Interval::new(1, 0, 0),
            Interval::new(0, 1, 0),
            Interval::new(0, 0, -1),
            Interval::INFINITY,
        ] {
            assert!(Duration::try_from(bad).is_err(), "{bad:?}");
        }
        assert!(Interval::try_from(Duration::MAX).is_err());
        assert_eq!(
            text::<Duration>(Oid::INTERVAL, "00:00:01.5"),
            Ok(Duration::from_millis(1500))
        );
    }
}
