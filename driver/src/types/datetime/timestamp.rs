//! [`Timestamp`] <-> `timestamp` and [`TimestampTz`] <-> `timestamptz`.

use std::fmt;
use std::str::FromStr;

use super::calendar::{UNIX_EPOCH_DAYS, USECS_PER_DAY, USECS_PER_SEC};
use super::date::{Date, write_ymd, ymd_to_days};
use super::parse::{self, Cursor};
use super::time_of_day::{Time, write_offset, write_time};
use crate::types::read;
use crate::types::{
    Decode, DecodeError, Encode, EncodeBuf, EncodeError, Format, IsNull, Oid, Type, TypeRef,
    ValueError, ValueRef,
};

/// 4714-11-24 00:00:00 BC in microseconds since 2000-01-01 (PostgreSQL's `MIN_TIMESTAMP`).
const MIN_MICROS: i64 = -211_813_488_000_000_000;
/// 294277-01-01 00:00:00, the first instant past the range (PostgreSQL's `END_TIMESTAMP`).
const END_MICROS: i64 = 9_223_371_331_200_000_000;
/// 1970-01-01 00:00:00 in microseconds since 2000-01-01.
const UNIX_EPOCH_MICROS: i64 = UNIX_EPOCH_DAYS * USECS_PER_DAY;

const RANGE_ERROR: &str = "timestamp is outside PostgreSQL's range (4714-11-24 00:00:00 BC to 294276-12-31 23:59:59.999999)";

/// A finite instant, checked against PostgreSQL's range.
fn check_finite(micros: i64) -> Result<i64, ValueError> {
    if (MIN_MICROS..END_MICROS).contains(&micros) {
        Ok(micros)
    } else {
        Err(ValueError::new(RANGE_ERROR))
    }
}

/// The binary value: the infinities or a checked finite instant.
fn check_wire(micros: i64) -> Result<i64, ValueError> {
    match micros {
        i64::MIN | i64::MAX => Ok(micros),
        _ => check_finite(micros),
    }
}

/// Writes `YYYY-MM-DD HH:MM:SS[.ffffff][+00][ BC]`.
fn write_timestamp(f: &mut fmt::Formatter<'_>, micros: i64, utc_offset: bool) -> fmt::Result {
    match micros {
        i64::MIN => return f.write_str("-infinity"),
        i64::MAX => return f.write_str("infinity"),
        _ => {}
    }
    let bc = write_ymd(f, micros.div_euclid(USECS_PER_DAY))?;
    f.write_str(" ")?;
    write_time(f, micros.rem_euclid(USECS_PER_DAY))?;
    if utc_offset {
        write_offset(f, 0)?;
    }
    if bc {
        f.write_str(" BC")?;
    }
    Ok(())
}

/// Reads `YYYY-MM-DD HH:MM:SS[.ffffff][±HH[:MM[:SS]]][ BC]` (the offset only
/// `with_offset`), returning microseconds since 2000-01-01 UTC.
fn parse_timestamp(s: &str, with_offset: bool, pg: &str) -> Result<i64, ValueError> {
    match s {
        "infinity" => return Ok(i64::MAX),
        "-infinity" => return Ok(i64::MIN),
        _ => {}
    }
    let mut c = Cursor::new(s);
    let parsed = (|| {
        let (year, month, day) = parse::date_part(&mut c)?;
        c.eat(" ").then_some(())?;
        let time = parse::time_part(&mut c)?;
        let offset = if with_offset {
            parse::offset_part(&mut c)?
        } else {
            0
        };
        let bc = parse::bc_suffix(&mut c);
        c.is_empty().then_some(())?;
        let days = ymd_to_days(year, month, day, bc)?;
        Some((days, time, offset))
    })();
    let (days, time, offset) = parsed.ok_or_else(|| {
        ValueError::new(format!(
            "{pg} text is not in PostgreSQL's ISO form (YYYY-MM-DD HH:MM:SS[.ffffff]{}[ BC])",
            if with_offset { "+HH[:MM[:SS]]" } else { "" }
        ))
    })?;
    let micros = days
        .checked_mul(USECS_PER_DAY)
        .and_then(|m| m.checked_add(time))
        .and_then(|m| m.checked_sub(i64::from(offset) * USECS_PER_SEC))
        .ok_or_else(|| ValueError::new(RANGE_ERROR))?;
    check_finite(micros)
}

macro_rules! timestamp_type {
    ($name:ident, $oid:expr, $pg:literal, $utc_offset:literal) => {
        impl $name {
            /// `-infinity`.
            pub const NEG_INFINITY: $name = $name(i64::MIN);
            /// `infinity`.
            pub const INFINITY: $name = $name(i64::MAX);
            /// The earliest value PostgreSQL stores: 4714-11-24 00:00:00 BC.
            pub const MIN: $name = $name(MIN_MICROS);
            /// The latest value PostgreSQL stores: 294276-12-31 23:59:59.999999.
            pub const MAX: $name = $name(END_MICROS - 1);

            /// The value `micros` microseconds after 2000-01-01 00:00:00, with
            /// `i64::MIN`/`i64::MAX` meaning `-infinity`/`infinity`, as in the binary format.
            pub fn from_micros_since_2000(micros: i64) -> Result<$name, ValueError> {
                check_wire(micros).map($name)
            }

            /// A finite value `micros` after 2000-01-01 00:00:00, checked against the range.
            #[cfg(any(feature = "chrono", feature = "time", feature = "jiff"))]
            pub(super) fn from_finite_micros(micros: i64) -> Result<$name, ValueError> {
                check_finite(micros).map($name)
            }

            /// Microseconds since 2000-01-01 00:00:00 (`i64::MIN`/`MAX` for the infinities).
            pub fn micros_since_2000(self) -> i64 {
                self.0
            }

            /// The value `micros` microseconds after 1970-01-01 00:00:00 (always finite).
            pub fn from_unix_micros(micros: i64) -> Result<$name, ValueError> {
                micros
                    .checked_add(UNIX_EPOCH_MICROS)
                    .ok_or_else(|| ValueError::new(RANGE_ERROR))
                    .and_then(check_finite)
                    .map($name)
            }

            /// Microseconds since 1970-01-01 00:00:00; `None` for the infinities and
            /// for the last ~30 years of the range (from about 294247), where it overflows `i64`.
            pub fn unix_micros(self) -> Option<i64> {
                if self.is_finite() {
                    self.0.checked_sub(UNIX_EPOCH_MICROS)
                } else {
                    None
                }
            }

            /// Whether this is neither `infinity` nor `-infinity`.
            pub fn is_finite(self) -> bool {
                self.0 != i64::MIN && self.0 != i64::MAX
            }

            /// Whether this is `infinity` or `-infinity`.
            pub fn is_infinite(self) -> bool {
                !self.is_finite()
            }
        }

        impl fmt::Display for $name {
            #[doc = concat!("PostgreSQL's ISO form of a `", $pg, "`.")]
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write_timestamp(f, self.0, $utc_offset)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self)
            }
        }

        impl FromStr for $name {
            type Err = ValueError;

            #[doc = concat!("Reads PostgreSQL's ISO form of a `", $pg, "`.")]
            fn from_str(s: &str) -> Result<$name, ValueError> {
                parse_timestamp(s, $utc_offset, $pg).map($name)
            }
        }

        impl Type for $name {
            fn type_ref() -> TypeRef {
                TypeRef::Oid($oid)
            }
        }

        impl Encode for $name {
            fn encode(&self, buf: &mut EncodeBuf) -> Result<IsNull, EncodeError> {
                buf.extend_from_slice(&self.0.to_be_bytes());
                Ok(IsNull::No)
            }
            fn param_type(&self) -> TypeRef {
                <$name as Type>::type_ref()
            }
            fn size_hint(&self) -> usize {
                8
            }
        }

        impl<'r> Decode<'r> for $name {
            fn decode(value: ValueRef<'r>) -> Result<Self, DecodeError> {
                let bytes = value.non_null::<$name>()?;
                Ok(match value.format() {
                    Format::Binary => {
                        $name::from_micros_since_2000(i64::from_be_bytes(read::fixed(bytes, $pg)?))?
                    }
                    Format::Text => read::utf8(bytes, $pg)?.parse()?,
                })
            }
        }
    };
}

/// A date and time of day without a time zone: PostgreSQL's `timestamp`
/// (`timestamp without time zone`), `-infinity` or `infinity`.
///
/// Microsecond precision, from 4714-11-24 00:00:00 BC to
/// 294276-12-31 23:59:59.999999. Ordering puts `-infinity` first and
/// `infinity` last.
///
/// ```
/// use quarry_driver::types::{Date, Time, Timestamp};
///
/// let date = Date::from_ymd(2024, 5, 6).unwrap();
/// let time = Time::from_hms_micro(7, 8, 9, 500_000).unwrap();
/// let ts = Timestamp::new(date, time).unwrap();
/// assert_eq!(ts.to_string(), "2024-05-06 07:08:09.5");
/// assert_eq!(ts.date(), date);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

timestamp_type!(Timestamp, Oid::TIMESTAMP, "timestamp", false);

impl Timestamp {
    /// `time` on `date` (which must be finite); `24:00:00` is the next midnight.
    pub fn new(date: Date, time: Time) -> Result<Timestamp, ValueError> {
        if date.is_infinite() {
            return Err(ValueError::new(
                "an infinite date has no time of day; use Timestamp::INFINITY or NEG_INFINITY",
            ));
        }
        i64::from(date.days_since_2000())
            .checked_mul(USECS_PER_DAY)
            .and_then(|m| m.checked_add(time.micros_since_midnight()))
            .ok_or_else(|| ValueError::new(RANGE_ERROR))
            .and_then(check_finite)
            .map(Timestamp)
    }

    /// The date (`infinity` and `-infinity` for the infinite timestamps).
    pub fn date(self) -> Date {
        match self.0 {
            i64::MIN => Date::NEG_INFINITY,
            i64::MAX => Date::INFINITY,
            micros => Date::from_days_since_2000(
                i32::try_from(micros.div_euclid(USECS_PER_DAY)).unwrap_or(i32::MAX),
            )
            // A finite timestamp's day always lies within date's range.
            .unwrap_or(Date::INFINITY),
        }
    }

    /// The time of day; `None` for the infinities.
    pub fn time(self) -> Option<Time> {
        if self.is_infinite() {
            return None;
        }
        Time::from_micros_since_midnight(self.0.rem_euclid(USECS_PER_DAY)).ok()
    }
}

/// An instant in time: PostgreSQL's `timestamptz` (`timestamp with time zone`),
/// `-infinity` or `infinity`.
///
/// PostgreSQL stores no zone with the value, only the instant (as UTC); the
/// session's `TimeZone` is used just to print it. So does this type: the
/// text format's offset is applied when reading, and `Display` prints UTC
/// (`2024-05-06 07:08:09.5+00`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimestampTz(i64);

timestamp_type!(TimestampTz, Oid::TIMESTAMPTZ, "timestamptz", true);

impl TimestampTz {
    /// The instant at which UTC clocks show `utc`.
    pub fn from_utc(utc: Timestamp) -> TimestampTz {
        TimestampTz(utc.0)
    }

    /// What UTC clocks show at this instant.
    pub fn to_utc(self) -> Timestamp {
        Timestamp(self.0)
    }
}

/// Text forms of `timestamp` exactly as PostgreSQL 15 prints them.
#[cfg(test)]
pub(crate) const TIMESTAMP_CASES: &[&str] = &[
    "2000-01-01 00:00:00",
    "1970-01-01 00:00:00.5",
    "2024-05-06 07:08:09.123456",
    "0001-01-01 00:00:00 BC",
    "4714-11-24 00:00:00 BC",
    "294276-12-31 23:59:59.999999",
    "infinity",
    "-infinity",
];

/// Text forms of `timestamptz` exactly as PostgreSQL 15 prints them with `TimeZone = UTC`.
#[cfg(test)]
pub(crate) const TIMESTAMPTZ_CASES: &[&str] = &[
    "2000-01-01 00:00:00+00",
    "1970-01-01 00:00:00.5+00",
    "2024-05-06 07:08:09.123456+00",
    "0001-01-01 00:00:00+00 BC",
    "4714-11-24 00:00:00+00 BC",
    "294276-12-31 23:59:59.999999+00",
    "infinity",
    "-infinity",
];

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::types::read::testing::{bin, encode, hex, text};

    /// (`::text` with TimeZone = UTC, `timestamp_send` = `timestamptz_send`) from PostgreSQL 15.
    const GOLDENS: &[(&str, &str)] = &[
        ("4714-11-24 00:00:00 BC", "\\xfd0f7cc1411fa000"),
        ("294276-12-31 23:59:59.999999", "\\x7fffff5bb3b29fff"),
        ("infinity", "\\x7fffffffffffffff"),
        ("-infinity", "\\x8000000000000000"),
        ("2000-01-01 00:00:00", "\\x0000000000000000"),
        ("1970-01-01 00:00:00.5", "\\xfffca2fec4cfc120"),
        ("0001-01-01 00:00:00 BC", "\\xff1fc63d1bb12000"),
        ("2024-05-06 07:08:09.123456", "\\x0002bac2801b6a80"),
    ];

    /// `timestamptz` text as the same instant prints with TimeZone = UTC: offset before BC.
    fn with_utc(text: &str) -> String {
        match text {
            "infinity" | "-infinity" => text.to_string(),
            _ => match text.strip_suffix(" BC") {
                Some(rest) => format!("{rest}+00 BC"),
                None => format!("{text}+00"),
            },
        }
    }

    #[test]
    fn goldens() {
        for (text_form, golden) in GOLDENS {
            let ts: Timestamp = text_form.parse().unwrap();
            assert_eq!(encode(&ts), hex(golden), "{text_form}");
            assert_eq!(bin::<Timestamp>(Oid::TIMESTAMP, &hex(golden)), Ok(ts));
            assert_eq!(ts.to_string(), *text_form);
            let tz_text = with_utc(text_form);
            let tz: TimestampTz = tz_text.parse().unwrap();
            assert_eq!(encode(&tz), hex(golden), "{tz_text}");
            assert_eq!(bin::<TimestampTz>(Oid::TIMESTAMPTZ, &hex(golden)), Ok(tz));
            assert_eq!(tz.to_string(), tz_text);
            assert_eq!(text::<TimestampTz>(Oid::TIMESTAMPTZ, &tz_text), Ok(tz));
        }
    }

    // `'2024-05-06 07:08:09.5+00'::timestamptz::text` and others under other
    // TimeZone settings in PostgreSQL 15: the offset is applied.
    #[test]
    fn timestamptz_text_in_other_zones() {
        let instant: TimestampTz = "2024-05-06 07:08:09.5+00".parse().unwrap();
        for shown in [
            "2024-05-06 12:38:09.5+05:30",
            "2024-05-06 03:08:09.5-04",
            "2024-05-06 09:08:09.5+02",
            "2024-05-06 04:38:09.5-02:30",
        ] {
            assert_eq!(
                text::<TimestampTz>(Oid::TIMESTAMPTZ, shown),
                Ok(instant),
                "{shown}"
            );
        }
        let lmt: TimestampTz = "1800-01-01 00:00:00+00".parse().unwrap();
        for shown in [
            "1800-01-01 05:53:28+05:53:28",
            "1799-12-31 19:03:58-04:56:02",
            "1799-12-31 20:29:08-03:30:52",
        ] {
            assert_eq!(shown.parse::<TimestampTz>(), Ok(lmt), "{shown}");
        }
        let bc: TimestampTz = "0044-03-15 12:00:00+00 BC".parse().unwrap();
        assert_eq!(
            "0044-03-15 17:53:28+05:53:28 BC".parse::<TimestampTz>(),
            Ok(bc)
        );
        assert_eq!(
            "0044-03-15 07:03:58-04:56:02 BC".parse::<TimestampTz>(),
            Ok(bc)
        );
    }

    #[test]
    fn cases_round_trip() {
        for case in TIMESTAMP_CASES {
            assert_eq!(case.parse::<Timestamp>().unwrap().to_string(), *case);
        }
        for case in TIMESTAMPTZ_CASES {
            assert_eq!(case.parse::<TimestampTz>().unwrap().to_string(), *case);
        }
    }

    #[test]
    fn constructors_and_accessors() {
        let date = Date::from_ymd(2024, 5, 6).unwrap();
        let ts = Timestamp::new(date, Time::END_OF_DAY).unwrap();
        assert_eq!(ts.to_string(), "2024-05-07 00:00:00");
        assert!(Timestamp::new(Date::INFINITY, Time::MIDNIGHT).is_err());
        assert!(
            Timestamp::new(Date::MAX, Time::MIDNIGHT).is_err(),
            "date range exceeds timestamp's"
        );
        assert_eq!(Timestamp::MIN.date(), Date::MIN);
        assert_eq!(Timestamp::INFINITY.date(), Date::INFINITY);
        assert_eq!(Timestamp::NEG_INFINITY.time(), None);
        assert_eq!(
            Timestamp::MAX.time().map(|t| t.to_string()).as_deref(),
            Some("23:59:59.999999")
        );
        assert_eq!(
            Timestamp::from_unix_micros(0).unwrap().to_string(),
            "1970-01-01 00:00:00"
        );
        assert_eq!(
            TimestampTz::from_unix_micros(-1).unwrap().unix_micros(),
            Some(-1)
        );
        assert_eq!(TimestampTz::INFINITY.unix_micros(), None);
        // PostgreSQL's range reaches past i64 microseconds since 1970 at the top.
        let late = Timestamp::from_unix_micros(i64::MAX).unwrap();
        assert_eq!(late.unix_micros(), Some(i64::MAX));
        assert_eq!(Timestamp::MAX.unix_micros(), None);
        assert!(Timestamp::from_unix_micros(i64::MIN).is_err());
        assert!(Timestamp::from_micros_since_2000(END_MICROS).is_err());
        assert!(Timestamp::from_micros_since_2000(MIN_MICROS - 1).is_err());
        assert_eq!(TimestampTz::from_utc(ts).to_utc(), ts);
        assert!(Timestamp::NEG_INFINITY < Timestamp::MIN && Timestamp::MAX < Timestamp::INFINITY);
        assert_eq!(
            format!("{:?}", TimestampTz::INFINITY),
            "TimestampTz(infinity)"
        );
    }

    #[test]
    fn rejects_bad_values() {
        for bad in [
            "",
            "2000-01-01",
            "2000-01-01T00:00:00",
            "2000-01-01 00:00",
            "2000-01-01 00:00:00+00",
            "4714-11-23 23:59:59 BC",
            "294277-01-01 00:00:00",
            "2000-13-01 00:00:00",
            "Infinity",
            "2000-01-01 00:00:00 BC ",
        ] {
            assert!(bad.parse::<Timestamp>().is_err(), "{bad:?}");
        }
        for bad in [
            "2000-01-01 00:00:00",
            "2000-01-01 00:00:00 +00",
            "294276-12-31 23:59:59-01",
            "2000-01-01 00:00:00+00:00:0",
        ] {
            assert!(bad.parse::<TimestampTz>().is_err(), "{bad:?}");
        }
        for bad in [
            "\\x7fffffffffffff00",
            "\\x8000000000000001",
            "\\x7fffff5bb3b2a000",
            "\\xfd0f7cc1411f9fff",
            "\\x00",
        ] {
            assert!(
                bin::<Timestamp>(Oid::TIMESTAMP, &hex(bad)).is_err(),
                "{bad}"
            );
        }
    }

    proptest! {
        #[test]
        fn round_trip(micros in MIN_MICROS..END_MICROS) {
            let ts = Timestamp::from_micros_since_2000(micros).unwrap();
            prop_assert_eq!(bin::<Timestamp>(Oid::TIMESTAMP, &encode(&ts)), Ok(ts));
            prop_assert_eq!(ts.to_string().parse::<Timestamp>(), Ok(ts));
            prop_assert_eq!(Timestamp::new(ts.date(), ts.time().unwrap()), Ok(ts));
            let tz = TimestampTz::from_micros_since_2000(micros).unwrap();
            prop_assert_eq!(bin::<TimestampTz>(Oid::TIMESTAMPTZ, &encode(&tz)), Ok(tz));
            prop_assert_eq!(tz.to_string().parse::<TimestampTz>(), Ok(tz));
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..10), s in "[-+0-9:. BCinfty]{0,34}") {
            let _ = bin::<Timestamp>(Oid::TIMESTAMP, &bytes);
            let _ = bin::<TimestampTz>(Oid::TIMESTAMPTZ, &bytes);
            let _ = s.parse::<Timestamp>();
            let _ = s.parse::<TimestampTz>();
        }
    }
}
