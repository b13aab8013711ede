//! [`Interval`] <-> `interval`.

use std::fmt;
use std::str::FromStr;

use super::calendar::{USECS_PER_HOUR, USECS_PER_MINUTE, USECS_PER_SEC};
use super::parse::{self, Cursor};
use super::time_of_day::write_fraction;
use crate::types::read;
use crate::types::{
    Decode, DecodeError, Encode, EncodeBuf, EncodeError, Format, IsNull, Oid, Type, TypeRef,
    ValueError, ValueRef,
};

/// A span of months, days and microseconds: PostgreSQL's `interval`.
///
/// The three parts are kept apart, as PostgreSQL keeps them: a month is not
/// a fixed number of days, nor a day a fixed number of hours (across a
/// daylight-saving change). Equality is on the parts, so `1 day` and
/// `24:00:00` differ here although PostgreSQL's `=` calls them equal.
///
/// PostgreSQL 17 added `infinity` and `-infinity`, stored as all parts at
/// their maximum or minimum; [`Interval::INFINITY`] and
/// [`Interval::NEG_INFINITY`] are those values. On older servers the same bits
/// are an ordinary, huge interval, so reading them from such a server is an error
/// rather than a finite value that calls itself infinite (read it as text instead).
///
/// ```
/// use quarry_driver::types::Interval;
///
/// let i = Interval::new(14, 3, 4 * 3_600_000_000);
/// assert_eq!(i.to_string(), "1 year 2 mons 3 days 04:00:00");
/// assert_eq!("-1 days +01:00:00".parse::<Interval>().unwrap(), Interval::new(0, -1, 3_600_000_000));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Interval {
    months: i32,
    days: i32,
    micros: i64,
}

impl Interval {
    /// `00:00:00`.
    pub const ZERO: Interval = Interval::new(0, 0, 0);
    /// `infinity` (PostgreSQL 17 and later).
    pub const INFINITY: Interval = Interval::new(i32::MAX, i32::MAX, i64::MAX);
    /// `-infinity` (PostgreSQL 17 and later).
    pub const NEG_INFINITY: Interval = Interval::new(i32::MIN, i32::MIN, i64::MIN);

    /// An interval of `months`, `days` and `micros` microseconds (each may be negative).
    pub const fn new(months: i32, days: i32, micros: i64) -> Interval {
        Interval {
            months,
            days,
            micros,
        }
    }

    /// The months part.
    pub fn months(self) -> i32 {
        self.months
    }

    /// The days part.
    pub fn days(self) -> i32 {
        self.days
    }

    /// The time part, in microseconds.
    pub fn micros(self) -> i64 {
        self.micros
    }

    /// Whether this is `infinity` or `-infinity`.
    pub fn is_infinite(self) -> bool {
        self == Interval::INFINITY || self == Interval::NEG_INFINITY
    }

    /// Whether this is neither `infinity` nor `-infinity`.
    pub fn is_finite(self) -> bool {
        !self.is_infinite()
    }
}

/// PostgreSQL's `AddPostgresIntPart`: one `N unit(s)` field of the postgres style.
struct Fields {
    is_zero: bool,
    is_before: bool,
}

impl Fields {
    fn add(&mut self, f: &mut fmt::Formatter<'_>, value: i64, unit: &str) -> fmt::Result {
        if value == 0 {
            return Ok(());
        }
        let space = if self.is_zero { "" } else { " " };
        let plus = if self.is_before && value > 0 { "+" } else { "" };
        let plural = if value == 1 { "" } else { "s" };
        write!(f, "{space}{plus}{value} {unit}{plural}")?;
        // Each nonzero field decides whether the next positive one gets a `+`.
        self.is_before = value < 0;
        self.is_zero = false;
        Ok(())
    }
}

impl fmt::Display for Interval {
    /// The `postgres` IntervalStyle: `1 year 2 mons -3 days +04:05:06.789`,
    /// `-1 days`, `00:00:00`, `infinity`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == Interval::INFINITY {
            return f.write_str("infinity");
        }
        if *self == Interval::NEG_INFINITY {
            return f.write_str("-infinity");
        }
        let mut fields = Fields {
            is_zero: true,
            is_before: false,
        };
        // C division truncates toward zero, so each part keeps the sign of the whole.
        fields.add(f, i64::from(self.months / 12), "year")?;
        fields.add(f, i64::from(self.months % 12), "mon")?;
        fields.add(f, i64::from(self.days), "day")?;
        if fields.is_zero || self.micros != 0 {
            let magnitude = self.micros.unsigned_abs();
            let hours = magnitude / USECS_PER_HOUR.unsigned_abs();
            let minutes =
                magnitude % USECS_PER_HOUR.unsigned_abs() / USECS_PER_MINUTE.unsigned_abs();
            let seconds =
                magnitude % USECS_PER_MINUTE.unsigned_abs() / USECS_PER_SEC.unsigned_abs();
            let fraction = magnitude % USECS_PER_SEC.unsigned_abs();
            if !fields.is_zero {
                f.write_str(" ")?;
            }
            if self.micros < 0 {
                f.write_str("-")?;
            } else if fields.is_before {
                f.write_str("+")?;
            }
            write!(f, "{hours:02}:{minutes:02}:{seconds:02}")?;
            // Below one million, so it fits.
            write_fraction(f, i64::try_from(fraction).unwrap_or(0))?;
        }
        Ok(())
    }
}

impl fmt::Debug for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Interval({self})")
    }
}

impl FromStr for Interval {
    type Err = ValueError;

    /// Reads the `postgres` IntervalStyle output that `Display` writes, and the
    /// `postgres_verbose` and `iso_8601` styles a server may be configured to print.
    fn from_str(s: &str) -> Result<Interval, ValueError> {
        match s {
            "infinity" => return Ok(Interval::INFINITY),
            "-infinity" => return Ok(Interval::NEG_INFINITY),
            _ => {}
        }
        let parsed = if s.starts_with('P') {
            parse_iso_8601(s)
        } else if let Some(rest) = s.strip_prefix("@ ") {
            parse_postgres_verbose(rest)
        } else {
            parse_postgres_style(s)
        };
        parsed.ok_or_else(|| {
            ValueError::new(
                "interval text is in none of PostgreSQL's `postgres`, `postgres_verbose` or \
                 `iso_8601` IntervalStyles (`sql_standard` is ambiguous and not read: use \
                 another style, or read intervals in binary), or is out of range",
            )
        })
    }
}

fn parse_postgres_style(s: &str) -> Option<Interval> {
    let mut tokens = s.split(' ').peekable();
    let (mut months, mut days, mut micros) = (0i64, 0i64, 0i64);
    let mut rank = 0; // units must come in the order year, mon, day, time
    let mut any = false;
    while let Some(token) = tokens.next() {
        any = true;
        if token.contains(':') {
            // The time part is last.
            if tokens.peek().is_some() {
                return None;
            }
            micros = parse_time(token)?;
            break;
        }
        let value = parse_signed(token)?;
        let unit = tokens.next()?;
        let unit_rank = match unit {
            "year" | "years" => 1,
            "mon" | "mons" => 2,
            "day" | "days" => 3,
            _ => return None,
        };
        if unit_rank <= rank {
            return None;
        }
        rank = unit_rank;
        match unit_rank {
            1 => months = months.checked_add(value.checked_mul(12)?)?,
            2 => months = months.checked_add(value)?,
            _ => days = value,
        }
    }
    any.then_some(())?;
    Some(Interval::new(
        i32::try_from(months).ok()?,
        i32::try_from(days).ok()?,
        micros,
    ))
}

/// The `iso_8601` IntervalStyle: `P1Y2M-3DT4H5M6.789S`, `PT0S`; each part signed.
fn parse_iso_8601(s: &str) -> Option<Interval> {
    let body = s.strip_prefix('P')?;
    let (date, time) = match body.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (body, None),
    };
    let (mut months, mut days, mut micros) = (0i64, 0i64, 0i64);
    let mut any = false;
    for (part, unit) in iso_parts(date)? {
        any = true;
        match unit {
            'Y' => months = months.checked_add(whole(part)?.checked_mul(12)?)?,
            'M' => months = months.checked_add(whole(part)?)?,
            'W' => days = days.checked_add(whole(part)?.checked_mul(7)?)?,
            'D' => days = days.checked_add(whole(part)?)?,
            _ => return None,
        }
    }
    if let Some(time) = time {
        for (part, unit) in iso_parts(time)? {
            any = true;
            let add = match unit {
                'H' => whole(part)?.checked_mul(3_600_000_000)?,
                'M' => whole(part)?.checked_mul(60_000_000)?,
                'S' => seconds_to_micros(part)?,
                _ => return None,
            };
            micros = micros.checked_add(add)?;
        }
    }
    any.then_some(())?;
    Some(Interval::new(
        i32::try_from(months).ok()?,
        i32::try_from(days).ok()?,
        micros,
    ))
}

/// Splits `1Y-2M3D` into `[("1", 'Y'), ("-2", 'M'), ("3", 'D')]`.
fn iso_parts(s: &str) -> Option<Vec<(&str, char)>> {
    let mut parts = Vec::new();
    let mut start = 0;
    for (i, c) in s.char_indices() {
        if c.is_ascii_alphabetic() {
            let number = s.get(start..i)?;
            if number.is_empty() {
                return None;
            }
            parts.push((number, c));
            start = i + c.len_utf8();
        }
    }
    (start == s.len()).then_some(parts)
}

/// The `postgres_verbose` IntervalStyle (after its `@ `):
/// `1 year 2 mons -3 days 4 hours 5 mins 6.789 secs`, optionally ending in `ago`.
fn parse_postgres_verbose(s: &str) -> Option<Interval> {
    let (s, ago) = match s.strip_suffix(" ago") {
        Some(rest) => (rest, true),
        None => (s, false),
    };
    let mut tokens = s.split(' ');
    let (mut months, mut days, mut micros) = (0i64, 0i64, 0i64);
    let mut any = false;
    while let Some(number) = tokens.next() {
        any = true;
        let Some(unit) = tokens.next() else {
            // `@ 0` is the zero interval.
            return (number == "0" && !ago).then(|| Interval::new(0, 0, 0));
        };
        match unit {
            "year" | "years" => months = months.checked_add(whole(number)?.checked_mul(12)?)?,
            "mon" | "mons" => months = months.checked_add(whole(number)?)?,
            "day" | "days" => days = days.checked_add(whole(number)?)?,
            "hour" | "hours" => {
                micros = micros.checked_add(whole(number)?.checked_mul(3_600_000_000)?)?;
            }
            "min" | "mins" => {
                micros = micros.checked_add(whole(number)?.checked_mul(60_000_000)?)?
            }
            "sec" | "secs" => micros = micros.checked_add(seconds_to_micros(number)?)?,
            _ => return None,
        }
    }
    any.then_some(())?;
    if ago {
        months = months.checked_neg()?;
        days = days.checked_neg()?;
        micros = micros.checked_neg()?;
    }
    Some(Interval::new(
        i32::try_from(months).ok()?,
        i32::try_from(days).ok()?,
        micros,
    ))
}

/// A signed whole number of at most 10 digits.
fn whole(s: &str) -> Option<i64> {
    parse_signed(s)
}

/// Signed seconds with up to 6 fractional digits (`-6.789`) as microseconds.
fn seconds_to_micros(s: &str) -> Option<i64> {
    let (negative, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if int.is_empty() || int.len() > 12 || frac.len() > 6 {
        return None;
    }
    if !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let int: i64 = int.parse().ok()?;
    let frac: i64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<6}").parse().ok()?
    };
    let micros = int.checked_mul(1_000_000)?.checked_add(frac)?;
    Some(if negative { -micros } else { micros })
}

/// `[+-]digits`, at most 10 digits.
fn parse_signed(token: &str) -> Option<i64> {
    let mut c = Cursor::new(token);
    let negative = parse::sign(&mut c);
    let (value, _) = c.digits(1, 10)?;
    c.is_empty()
        .then_some(if negative { -value } else { value })
}

/// `[+-]H+:MM:SS[.ffffff]` as microseconds.
fn parse_time(token: &str) -> Option<i64> {
    let mut c = Cursor::new(token);
    let negative = parse::sign(&mut c);
    let (hours, _) = c.digits(2, 10)?;
    c.eat(":").then_some(())?;
    let minutes = c.fixed(2)?;
    c.eat(":").then_some(())?;
    let seconds = c.fixed(2)?;
    let fraction = parse::fraction(&mut c)?;
    if !c.is_empty() || minutes >= 60 || seconds >= 60 {
        return None;
    }
    let magnitude = i128::from(hours) * i128::from(USECS_PER_HOUR)
        + i128::from(minutes * USECS_PER_MINUTE + seconds * USECS_PER_SEC + fraction);
    i64::try_from(if negative { -magnitude } else { magnitude }).ok()
}

impl Type for Interval {
    fn type_ref() -> TypeRef {
        TypeRef::Oid(Oid::INTERVAL)
    }
}

impl Encode for Interval {
    fn encode(&self, buf: &mut EncodeBuf) -> Result<IsNull, EncodeError> {
        if self.is_infinite() {
            // The same bits are an ordinary interval before PostgreSQL 17: the connection
            // refuses to send them to such a server rather than store a finite value.
            let (sign, finite) = if *self == Interval::INFINITY {
                ("", MAX_BEFORE_17)
            } else {
                ("-", MIN_BEFORE_17)
            };
            buf.needs_server(
                17,
                format!(
                    "interval `{sign}infinity` exists only from PostgreSQL 17 on: an older \
                     server stores the bits of Interval::{} as the finite interval `{finite}`; \
                     send a finite interval, or NULL",
                    if sign.is_empty() {
                        "INFINITY"
                    } else {
                        "NEG_INFINITY"
                    }
                ),
            );
        }
        buf.extend_from_slice(&self.micros.to_be_bytes());
        buf.extend_from_slice(&self.days.to_be_bytes());
        buf.extend_from_slice(&self.months.to_be_bytes());
        Ok(IsNull::No)
    }
    fn param_type(&self) -> TypeRef {
        <Interval as Type>::type_ref()
    }
    fn size_hint(&self) -> usize {
        16
    }
}

/// What PostgreSQL before 17 prints for the bits of [`Interval::INFINITY`] and
/// [`Interval::NEG_INFINITY`].
const MAX_BEFORE_17: &str = "178956970 years 7 mons 2147483647 days 2562047788:00:54.775807";
const MIN_BEFORE_17: &str = "-178956970 years -8 mons -2147483648 days -2562047788:00:54.775808";

/// Refuses the two bit patterns that mean `±infinity` from PostgreSQL 17 on when they come
/// from an older server, where they are ordinary (huge) intervals: [`Interval`] would
/// call them infinite, and display them so. (On those servers they are almost never seen:
/// every part must be at its extreme.)
fn finite_before_17(i: Interval, server_major: Option<u32>) -> Result<Interval, DecodeError> {
    match server_major {
        Some(major) if major < 17 && i.is_infinite() => Err(DecodeError::new(format!(
            "interval with every part at its {} (months {}, days {}, microseconds {}) is an \
             ordinary interval on PostgreSQL {major}, but Interval reads these bits as \
             {}infinity, their meaning from PostgreSQL 17 on; read the value as text \
             (`::text`) instead",
            if i.months() > 0 { "maximum" } else { "minimum" },
            i.months(),
            i.days(),
            i.micros(),
            if i.months() > 0 { "" } else { "-" },
        ))),
        _ => Ok(i),
    }
}

impl<'r> Decode<'r> for Interval {
    fn decode(value: ValueRef<'r>) -> Result<Self, DecodeError> {
        let bytes = value.non_null::<Interval>()?;
        Ok(match value.format() {
            Format::Binary => {
                let [
                    t0,
                    t1,
                    t2,
                    t3,
                    t4,
                    t5,
                    t6,
                    t7,
                    d0,
                    d1,
                    d2,
                    d3,
                    m0,
                    m1,
                    m2,
                    m3,
                ] = read::fixed::<16>(bytes, "interval")?;
                Interval::new(
                    i32::from_be_bytes([m0, m1, m2, m3]),
                    i32::from_be_bytes([d0, d1, d2, d3]),
                    i64::from_be_bytes([t0, t1, t2, t3, t4, t5, t6, t7]),
                )
            }
            Format::Text => read::utf8(bytes, "interval")?.parse()?,
        })
        .and_then(|i| finite_before_17(i, value.type_info().server_major()))
    }
}

/// Text forms of `interval` exactly as PostgreSQL 15 prints them (IntervalStyle = postgres).
#[cfg(test)]
pub(crate) const INTERVAL_CASES: &[&str] = &[
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
];

#[cfg(test)]
mod style_tests {
    use super::*;

    #[test]
    fn other_interval_styles() {
        // Each line: the same interval in three IntervalStyles, from PostgreSQL 15.
        for (postgres, verbose, iso) in [
            ("00:00:00", "@ 0", "PT0S"),
            (
                "1 year 2 mons -3 days +04:05:06.789",
                "@ 1 year 2 mons -3 days 4 hours 5 mins 6.789 secs",
                "P1Y2M-3DT4H5M6.789S",
            ),
            (
                "-1 years -2 mons +3 days -04:05:06.5",
                "@ 1 year 2 mons -3 days 4 hours 5 mins 6.5 secs ago",
                "P-1Y-2M3DT-4H-5M-6.5S",
            ),
            ("-00:00:00.000001", "@ 0.000001 secs ago", "PT-0.000001S"),
        ] {
            let want: Interval = postgres.parse().unwrap();
            assert_eq!(verbose.parse::<Interval>().unwrap(), want, "{verbose}");
            assert_eq!(iso.parse::<Interval>().unwrap(), want, "{iso}");
        }
        for bad in [
            "P",
            "PT",
            "P1",
            "P1X",
            "@",
            "@ 1",
            "@ 1 fortnight",
            "PT1.1234567S",
        ] {
            assert!(bad.parse::<Interval>().is_err(), "{bad}");
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::types::read::testing::{bin, encode, hex, text};

    /// (`::text`, `interval_send`) from PostgreSQL 15.
    const GOLDENS: &[(&str, &str)] = &[
        ("00:00:00", "\\x00000000000000000000000000000000"),
        (
            "1 year 2 mons 3 days 04:05:06.789",
            "\\x000000036c97ca88000000030000000e",
        ),
        ("-1 days", "\\x0000000000000000ffffffff00000000"),
        ("1 day -00:00:01", "\\xfffffffffff0bdc00000000100000000"),
        (
            "-1 years -2 mons +3 days",
            "\\x000000000000000000000003fffffff2",
        ),
        ("-1 mons", "\\x000000000000000000000000ffffffff"),
        ("1 mon", "\\x00000000000000000000000000000001"),
        ("2 mons", "\\x00000000000000000000000000000002"),
        ("-00:00:00.000001", "\\xffffffffffffffff0000000000000000"),
        ("100:00:00", "\\x00000053d1ac10000000000000000000"),
        ("11 mons", "\\x0000000000000000000000000000000b"),
        ("-1 days +01:00:00", "\\x00000000d693a400ffffffff00000000"),
        ("1 day 01:00:00", "\\x00000000d693a4000000000100000000"),
        ("12 years", "\\x00000000000000000000000000000090"),
        ("-1 years", "\\x000000000000000000000000fffffff4"),
        ("00:00:01.5", "\\x000000000016e3600000000000000000"),
        ("3 days -04:00:00", "\\xfffffffca5b170000000000300000000"),
        ("-3 days -04:00:00", "\\xfffffffca5b17000fffffffd00000000"),
    ];

    #[test]
    fn goldens() {
        for (text_form, golden) in GOLDENS {
            let interval: Interval = text_form.parse().unwrap();
            assert_eq!(encode(&interval), hex(golden), "{text_form}");
            assert_eq!(bin::<Interval>(Oid::INTERVAL, &hex(golden)), Ok(interval));
            assert_eq!(interval.to_string(), *text_form);
            assert_eq!(text::<Interval>(Oid::INTERVAL, text_form), Ok(interval));
        }
        for case in INTERVAL_CASES {
            assert_eq!(case.parse::<Interval>().unwrap().to_string(), *case);
        }
    }

    // PostgreSQL 15 prints the all-maximum interval as a finite value; PostgreSQL 17 calls it infinity.
    #[test]
    fn extremes_and_infinity() {
        let max = hex("\\x7fffffffffffffff7fffffff7fffffff");
        assert_eq!(bin::<Interval>(Oid::INTERVAL, &max), Ok(Interval::INFINITY));
        assert_eq!(Interval::INFINITY.to_string(), "infinity");
        assert_eq!(Interval::NEG_INFINITY.to_string(), "-infinity");
        assert_eq!(
            encode(&Interval::NEG_INFINITY),
            hex("\\x80000000000000008000000080000000")
        );
        assert_eq!(
            "178956970 years 7 mons 2147483647 days 2562047788:00:54.775807".parse::<Interval>(),
            Ok(Interval::INFINITY)
        );
        assert_eq!(
            "-178956970 years -8 mons -2147483648 days -2562047788:00:54.775808"
                .parse::<Interval>(),
            Ok(Interval::NEG_INFINITY)
        );
        let almost = Interval::new(i32::MAX, i32::MAX, i64::MAX - 1);
        assert_eq!(
            almost.to_string(),
            "178956970 years 7 mons 2147483647 days 2562047788:00:54.775806"
        );
        assert_eq!(almost.to_string().parse::<Interval>(), Ok(almost));
        assert!(Interval::INFINITY.is_infinite() && almost.is_finite());
    }

    #[test]
    fn rejects_bad_values() {
        for bad in [
            "",
            " ",
            "1",
            "1 day 1 day",
            "1 day 1 year",
            "1 hour",
            "1 days 00:00",
            "00:00:00 1 day",
            "1 year  2 mons",
            "0:00:00",
            "00:60:00",
            "00:00:60",
            "1.5 days",
            "+-1 days",
            "178956971 years",
            "2147483648 days",
            "9999999999:00:00",
            "00:00:00.1234567",
            "Infinity",
        ] {
            assert!(bad.parse::<Interval>().is_err(), "{bad:?}");
        }
        assert!(bin::<Interval>(Oid::INTERVAL, &[0; 15]).is_err());
        assert!(bin::<Interval>(Oid::INTERVAL, &[0; 17]).is_err());
    }

    proptest! {
        #[test]
        fn round_trip(months: i32, days: i32, micros: i64) {
            let interval = Interval::new(months, days, micros);
            prop_assert_eq!(bin::<Interval>(Oid::INTERVAL, &encode(&interval)), Ok(interval));
            prop_assert_eq!(interval.to_string().parse::<Interval>(), Ok(interval));
        }

        #[test]
        fn garbage_never_panics(s in "[-+0-9:. a-z]{0,40}") {
            let _ = s.parse::<Interval>();
        }
    }
}
