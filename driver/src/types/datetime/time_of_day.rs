//! [`Time`] <-> `time` and [`TimeTz`] <-> `timetz`.

use std::fmt;
use std::str::FromStr;

use super::calendar::{USECS_PER_DAY, USECS_PER_HOUR, USECS_PER_MINUTE, USECS_PER_SEC};
use super::parse::{self, Cursor};
use crate::types::read;
use crate::types::{
    Decode, DecodeError, Encode, EncodeBuf, EncodeError, Format, IsNull, Oid, Type, TypeRef,
    ValueError, ValueRef,
};

/// A time of day with microsecond precision, `00:00:00` to `24:00:00`
/// inclusive: PostgreSQL's `time` (`time without time zone`).
///
/// ```
/// use quarry_driver::types::Time;
///
/// let t = Time::from_hms_micro(12, 34, 56, 500_000).unwrap();
/// assert_eq!(t.to_string(), "12:34:56.5");
/// assert_eq!(Time::from_hms_micro(24, 0, 0, 0).unwrap().to_string(), "24:00:00");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Time(i64);

impl Time {
    /// `00:00:00`.
    pub const MIDNIGHT: Time = Time(0);
    /// `24:00:00`, the end of the day (PostgreSQL allows it).
    pub const END_OF_DAY: Time = Time(USECS_PER_DAY);

    /// `hour:minute:second.microsecond`; `24:00:00.000000` is allowed, seconds stop at 59.
    pub fn from_hms_micro(
        hour: u8,
        minute: u8,
        second: u8,
        micro: u32,
    ) -> Result<Time, ValueError> {
        let valid = (hour < 24 && minute < 60 && second < 60 && micro < 1_000_000)
            || (hour == 24 && minute == 0 && second == 0 && micro == 0);
        if !valid {
            return Err(ValueError::new(format!(
                "{hour:02}:{minute:02}:{second:02}.{micro:06} is not a time of day"
            )));
        }
        Ok(Time(
            i64::from(hour) * USECS_PER_HOUR
                + i64::from(minute) * USECS_PER_MINUTE
                + i64::from(second) * USECS_PER_SEC
                + i64::from(micro),
        ))
    }

    /// The time `micros` microseconds after midnight (0 to 86 400 000 000).
    pub fn from_micros_since_midnight(micros: i64) -> Result<Time, ValueError> {
        if (0..=USECS_PER_DAY).contains(&micros) {
            Ok(Time(micros))
        } else {
            Err(ValueError::new("time is outside 00:00:00 to 24:00:00"))
        }
    }

    /// Microseconds since midnight.
    pub fn micros_since_midnight(self) -> i64 {
        self.0
    }

    /// The hour, 0 to 24.
    pub fn hour(self) -> u8 {
        small(self.0 / USECS_PER_HOUR)
    }

    /// The minute, 0 to 59.
    pub fn minute(self) -> u8 {
        small(self.0 % USECS_PER_HOUR / USECS_PER_MINUTE)
    }

    /// The second, 0 to 59.
    pub fn second(self) -> u8 {
        small(self.0 % USECS_PER_MINUTE / USECS_PER_SEC)
    }

    /// The microsecond within the second, 0 to 999 999.
    pub fn microsecond(self) -> u32 {
        u32::try_from(self.0 % USECS_PER_SEC).unwrap_or(0)
    }
}

/// A field of a valid time, which is small and not negative.
fn small(v: i64) -> u8 {
    u8::try_from(v).unwrap_or(0)
}

/// Writes `HH:MM:SS[.ffffff]` (trailing zeros of the fraction dropped) for
/// `micros` since midnight, like PostgreSQL.
pub(super) fn write_time(f: &mut fmt::Formatter<'_>, micros: i64) -> fmt::Result {
    let hours = micros / USECS_PER_HOUR;
    let minutes = micros % USECS_PER_HOUR / USECS_PER_MINUTE;
    let seconds = micros % USECS_PER_MINUTE / USECS_PER_SEC;
    write!(f, "{hours:02}:{minutes:02}:{seconds:02}")?;
    write_fraction(f, micros % USECS_PER_SEC)
}

/// Writes `.ffffff` without trailing zeros, or nothing for zero.
pub(super) fn write_fraction(f: &mut fmt::Formatter<'_>, micros: i64) -> fmt::Result {
    if micros == 0 {
        return Ok(());
    }
    let mut digits = micros;
    let mut width = 6;
    while digits % 10 == 0 {
        digits /= 10;
        width -= 1;
    }
    write!(f, ".{digits:0width$}")
}

/// Writes a UTC offset (seconds east) as PostgreSQL does: `+05`, `+05:30`, `-04:56:02`.
pub(super) fn write_offset(f: &mut fmt::Formatter<'_>, east: i32) -> fmt::Result {
    let sign = if east >= 0 { '+' } else { '-' };
    let total = east.unsigned_abs();
    let (hours, minutes, seconds) = (total / 3600, total % 3600 / 60, total % 60);
    if seconds != 0 {
        write!(f, "{sign}{hours:02}:{minutes:02}:{seconds:02}")
    } else if minutes != 0 {
        write!(f, "{sign}{hours:02}:{minutes:02}")
    } else {
        write!(f, "{sign}{hours:02}")
    }
}

impl fmt::Display for Time {
    /// `HH:MM:SS[.ffffff]`, as PostgreSQL prints a `time`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_time(f, self.0)
    }
}

impl fmt::Debug for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Time({self})")
    }
}

impl FromStr for Time {
    type Err = ValueError;

    /// Reads `HH:MM:SS[.ffffff]`.
    fn from_str(s: &str) -> Result<Time, ValueError> {
        let mut c = Cursor::new(s);
        parse::time_part(&mut c)
            .filter(|_| c.is_empty())
            .map(Time)
            .ok_or_else(|| {
                ValueError::new("time text is not in PostgreSQL's form (HH:MM:SS[.ffffff])")
            })
    }
}

impl Type for Time {
    fn type_ref() -> TypeRef {
        TypeRef::Oid(Oid::TIME)
    }
}

impl Encode for Time {
    fn encode(&self, buf: &mut EncodeBuf) -> Result<IsNull, EncodeError> {
        buf.extend_from_slice(&self.0.to_be_bytes());
        Ok(IsNull::No)
    }
    fn param_type(&self) -> TypeRef {
        <Time as Type>::type_ref()
    }
    fn size_hint(&self) -> usize {
        8
    }
}

impl<'r> Decode<'r> for Time {
    fn decode(value: ValueRef<'r>) -> Result<Self, DecodeError> {
        let bytes = value.non_null::<Time>()?;
        Ok(match value.format() {
            Format::Binary => {
                Time::from_micros_since_midnight(i64::from_be_bytes(read::fixed(bytes, "time")?))?
            }
            Format::Text => read::utf8(bytes, "time")?.parse()?,
        })
    }
}

/// A time of day with a UTC offset: PostgreSQL's `timetz` (`time with time zone`).
///
/// The offset is in seconds *east* of UTC (`+05:30` is 19800), up to
/// ±15:59:59; the binary format's west-positive sign is handled on the wire.
/// Equality is on both parts: `12:00+01` and `11:00+00` differ.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TimeTz {
    time: Time,
    offset: i32,
}

/// PostgreSQL's limit on a zone offset: below 16 hours.
const MAX_OFFSET: i32 = 16 * 3600 - 1;

impl TimeTz {
    /// `time` at `offset_seconds` east of UTC (at most ±15:59:59).
    pub fn new(time: Time, offset_seconds: i32) -> Result<TimeTz, ValueError> {
        if (-MAX_OFFSET..=MAX_OFFSET).contains(&offset_seconds) {
            Ok(TimeTz {
                time,
                offset: offset_seconds,
            })
        } else {
            Err(ValueError::new("time zone offset is outside ±15:59:59"))
        }
    }

    /// The local time of day.
    pub fn time(self) -> Time {
        self.time
    }

    /// The UTC offset in seconds east of UTC.
    pub fn offset_seconds(self) -> i32 {
        self.offset
    }
}

impl fmt::Display for TimeTz {
    /// `HH:MM:SS[.ffffff]+HH[:MM[:SS]]`, as PostgreSQL prints a `timetz`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_time(f, self.time.0)?;
        write_offset(f, self.offset)
    }
}

impl fmt::Debug for TimeTz {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TimeTz({self})")
    }
}

impl FromStr for TimeTz {
    type Err = ValueError;

    /// Reads what `Display` writes.
    fn from_str(s: &str) -> Result<TimeTz, ValueError> {
        let mut c = Cursor::new(s);
        let parsed = parse::time_part(&mut c)
            .zip(parse::offset_part(&mut c))
            .filter(|_| c.is_empty());
        let (micros, offset) = parsed.ok_or_else(|| {
            ValueError::new(
                "timetz text is not in PostgreSQL's form (HH:MM:SS[.ffffff]+HH[:MM[:SS]])",
            )
        })?;
        TimeTz::new(Time(micros), offset)
    }
}

impl Type for TimeTz {
    fn type_ref() -> TypeRef {
        TypeRef::Oid(Oid::TIMETZ)
    }
}

impl Encode for TimeTz {
    fn encode(&self, buf: &mut EncodeBuf) -> Result<IsNull, EncodeError> {
        buf.extend_from_slice(&self.time.0.to_be_bytes());
        // The wire counts seconds west of UTC; the offset is bounded, so it negates.
        buf.extend_from_slice(&(-self.offset).to_be_bytes());
        Ok(IsNull::No)
    }
    fn param_type(&self) -> TypeRef {
        <TimeTz as Type>::type_ref()
    }
    fn size_hint(&self) -> usize {
        12
    }
}

impl<'r> Decode<'r> for TimeTz {
    fn decode(value: ValueRef<'r>) -> Result<Self, DecodeError> {
        let bytes = value.non_null::<TimeTz>()?;
        Ok(match value.format() {
            Format::Binary => {
                let [t0, t1, t2, t3, t4, t5, t6, t7, z0, z1, z2, z3] =
                    read::fixed::<12>(bytes, "timetz")?;
                let time = Time::from_micros_since_midnight(i64::from_be_bytes([
                    t0, t1, t2, t3, t4, t5, t6, t7,
                ]))?;
                let west = i32::from_be_bytes([z0, z1, z2, z3]);
                let east = west
                    .checked_neg()
                    .ok_or_else(|| DecodeError::new("timetz zone offset is out of range"))?;
                TimeTz::new(time, east)?
            }
            Format::Text => read::utf8(bytes, "timetz")?.parse()?,
        })
    }
}

/// Text forms of `time` exactly as PostgreSQL 15 prints them.
#[cfg(test)]
pub(crate) const TIME_CASES: &[&str] = &[
    "00:00:00",
    "23:59:59.999999",
    "24:00:00",
    "12:34:56.5",
    "12:34:56.000001",
    "01:02:03.1",
];

/// Text forms of `timetz` exactly as PostgreSQL 15 prints them.
#[cfg(test)]
pub(crate) const TIMETZ_CASES: &[&str] = &[
    "00:00:00+00",
    "12:34:56.5+02",
    "12:00:00-05:30",
    "24:00:00-15:59",
    "23:59:59.999999+15:59",
    "12:00:00+01:02:03",
];

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::types::read::testing::{bin, encode, hex, text};

    #[test]
    fn time_goldens() {
        // (`::text`, `time_send`) from PostgreSQL 15.
        for (text_form, golden) in [
            ("00:00:00", "\\x0000000000000000"),
            ("23:59:59.999999", "\\x000000141dd75fff"),
            ("24:00:00", "\\x000000141dd76000"),
            ("12:34:56.5", "\\x0000000a8be1bd20"),
            ("12:34:56.000001", "\\x0000000a8bda1c01"),
            ("01:02:03.1", "\\x00000000dde9ff60"),
        ] {
            let t: Time = text_form.parse().unwrap();
            assert_eq!(encode(&t), hex(golden), "{text_form}");
            assert_eq!(bin::<Time>(Oid::TIME, &hex(golden)), Ok(t));
            assert_eq!(t.to_string(), text_form);
        }
        let t = Time::from_hms_micro(12, 34, 56, 1).unwrap();
        assert_eq!(
            (t.hour(), t.minute(), t.second(), t.microsecond()),
            (12, 34, 56, 1)
        );
        assert_eq!(Time::END_OF_DAY.hour(), 24);
    }

    #[test]
    fn timetz_goldens() {
        // (`::text`, `timetz_send`) from PostgreSQL 15; the zone is seconds west.
        for (text_form, golden) in [
            ("00:00:00+00", "\\x000000000000000000000000"),
            ("12:34:56.5+02", "\\x0000000a8be1bd20ffffe3e0"),
            ("12:00:00-05:30", "\\x0000000a0eebb00000004d58"),
            ("24:00:00-15:59", "\\x000000141dd760000000e0c4"),
            ("23:59:59.999999+15:59", "\\x000000141dd75fffffff1f3c"),
            ("12:00:00+01:02:03", "\\x0000000a0eebb000fffff175"),
        ] {
            let t: TimeTz = text_form.parse().unwrap();
            assert_eq!(encode(&t), hex(golden), "{text_form}");
            assert_eq!(bin::<TimeTz>(Oid::TIMETZ, &hex(golden)), Ok(t));
            assert_eq!(t.to_string(), text_form);
            assert_eq!(text::<TimeTz>(Oid::TIMETZ, text_form), Ok(t));
        }
        let t: TimeTz = "12:00:00-05:30".parse().unwrap();
        assert_eq!(t.offset_seconds(), -19_800);
        assert_eq!(t.time(), Time::from_hms_micro(12, 0, 0, 0).unwrap());
    }

    #[test]
    fn cases_round_trip() {
        for case in TIME_CASES {
            assert_eq!(case.parse::<Time>().unwrap().to_string(), *case);
        }
        for case in TIMETZ_CASES {
            assert_eq!(case.parse::<TimeTz>().unwrap().to_string(), *case);
        }
    }

    #[test]
    fn rejects_bad_values() {
        for bad in [
            "",
            "24:00:01",
            "12:60:00",
            "12:00:60",
            "1:00:00",
            "12:00",
            "12:00:00 ",
            "12:00:00.1234567",
            "-01:00:00",
        ] {
            assert!(bad.parse::<Time>().is_err(), "{bad:?}");
        }
        for bad in [
            "12:00:00",
            "12:00:00+16",
            "12:00:00+5",
            "12:00:00+05:3",
            "12:00:00 +05",
        ] {
            assert!(bad.parse::<TimeTz>().is_err(), "{bad:?}");
        }
        assert!(Time::from_hms_micro(24, 0, 0, 1).is_err());
        assert!(Time::from_hms_micro(12, 0, 0, 1_000_000).is_err());
        assert!(TimeTz::new(Time::MIDNIGHT, 57_600).is_err());
        assert!(
            bin::<Time>(Oid::TIME, &hex("\\x000000141dd76001")).is_err(),
            "past 24:00"
        );
        assert!(
            bin::<Time>(Oid::TIME, &hex("\\xffffffffffffffff")).is_err(),
            "negative"
        );
        assert!(
            bin::<TimeTz>(Oid::TIMETZ, &hex("\\x00000000000000000000e100")).is_err(),
            "zone 16h"
        );
        assert!(
            bin::<TimeTz>(Oid::TIMETZ, &hex("\\x000000000000000080000000")).is_err(),
            "zone i32::MIN"
        );
        assert!(bin::<TimeTz>(Oid::TIMETZ, &[0; 8]).is_err());
    }

    proptest! {
        #[test]
        fn round_trip(micros in 0..=USECS_PER_DAY, offset in -MAX_OFFSET..=MAX_OFFSET) {
            let t = Time::from_micros_since_midnight(micros).unwrap();
            prop_assert_eq!(bin::<Time>(Oid::TIME, &encode(&t)), Ok(t));
            prop_assert_eq!(t.to_string().parse::<Time>(), Ok(t));
            let tz = TimeTz::new(t, offset).unwrap();
            prop_assert_eq!(bin::<TimeTz>(Oid::TIMETZ, &encode(&tz)), Ok(tz));
            prop_assert_eq!(tz.to_string().parse::<TimeTz>(), Ok(tz));
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..14), s in "[-+0-9:. ]{0,20}") {
            let _ = bin::<Time>(Oid::TIME, &bytes);
            let _ = bin::<TimeTz>(Oid::TIMETZ, &bytes);
            let _ = s.parse::<Time>();
            let _ = s.parse::<TimeTz>();
        }
    }
}
