//! [`Date`] <-> `date`.

use std::fmt;
use std::str::FromStr;

use super::calendar::{days_from_ymd, days_in_month, ymd_from_days};
use super::parse::{self, Cursor};
use crate::types::read;
use crate::types::{
    Decode, DecodeError, Encode, EncodeBuf, EncodeError, Format, IsNull, Oid, Type, TypeRef,
    ValueError, ValueRef,
};

/// A calendar date, `-infinity` or `infinity`: PostgreSQL's `date`.
///
/// Finite dates run from 4714-11-24 BC to 5874897-12-31 in the proleptic
/// Gregorian calendar. Years are astronomical in the API (year 0 is 1 BC,
/// -1 is 2 BC) and printed with `BC` as PostgreSQL does. Ordering puts
/// `-infinity` first and `infinity` last.
///
/// ```
/// use quarry_driver::types::Date;
///
/// let d = Date::from_ymd(-43, 3, 15).unwrap();
/// assert_eq!(d.to_string(), "0044-03-15 BC");
/// assert_eq!(d.ymd(), Some((-43, 3, 15)));
/// assert!(Date::INFINITY > Date::MAX);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(i32);

impl Date {
    /// `-infinity`.
    pub const NEG_INFINITY: Date = Date(i32::MIN);
    /// `infinity`.
    pub const INFINITY: Date = Date(i32::MAX);
    /// The earliest date PostgreSQL stores: 4714-11-24 BC (Julian day 0).
    pub const MIN: Date = Date(-2_451_545);
    /// The latest date PostgreSQL stores: 5874897-12-31.
    pub const MAX: Date = Date(2_145_031_948);

    /// The date `year-month-day` (astronomical year: 0 is 1 BC).
    pub fn from_ymd(year: i32, month: u8, day: u8) -> Result<Date, ValueError> {
        let year = i64::from(year);
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return Err(ValueError::new(format!(
                "{year}-{month:02}-{day:02} is not a calendar date"
            )));
        }
        Date::from_days(days_from_ymd(year, month, day))
    }

    /// A finite date from its day number, checked against PostgreSQL's range.
    pub(super) fn from_days(days: i64) -> Result<Date, ValueError> {
        i32::try_from(days)
            .ok()
            .filter(|d| (Date::MIN.0..=Date::MAX.0).contains(d))
            .map(Date)
            .ok_or_else(|| {
                ValueError::new(
                    "date is outside PostgreSQL's range (4714-11-24 BC to 5874897-12-31)",
                )
            })
    }

    /// The date `days` after 2000-01-01, with `i32::MIN` and `i32::MAX` meaning
    /// `-infinity` and `infinity`, as in the binary format.
    pub fn from_days_since_2000(days: i32) -> Result<Date, ValueError> {
        match days {
            i32::MIN => Ok(Date::NEG_INFINITY),
            i32::MAX => Ok(Date::INFINITY),
            days => Date::from_days(i64::from(days)),
        }
    }

    /// Days since 2000-01-01 (`i32::MIN`/`i32::MAX` for the infinities), as in the binary format.
    pub fn days_since_2000(self) -> i32 {
        self.0
    }

    /// Whether this is a calendar date (not an infinity).
    pub fn is_finite(self) -> bool {
        self.0 != i32::MIN && self.0 != i32::MAX
    }

    /// Whether this is `infinity` or `-infinity`.
    pub fn is_infinite(self) -> bool {
        !self.is_finite()
    }

    /// `(year, month, day)`, astronomical year; `None` for the infinities.
    pub fn ymd(self) -> Option<(i32, u8, u8)> {
        if !self.is_finite() {
            return None;
        }
        let (year, month, day) = ymd_from_days(i64::from(self.0));
        // Finite dates have years within ±6 million.
        Some((i32::try_from(year).ok()?, month, day))
    }
}

/// Writes a finite day number as `YYYY-MM-DD` and says whether it is BC.
pub(super) fn write_ymd(f: &mut fmt::Formatter<'_>, days: i64) -> Result<bool, fmt::Error> {
    let (year, month, day) = ymd_from_days(days);
    let bc = year <= 0;
    let printed = if bc { 1 - year } else { year };
    write!(f, "{printed:04}-{month:02}-{day:02}")?;
    Ok(bc)
}

/// Reads `YYYY-MM-DD` as a day number; `bc` says whether a ` BC` followed the whole value.
pub(super) fn ymd_to_days(year: i64, month: u8, day: u8, bc: bool) -> Option<i64> {
    let year = parse::astronomical_year(year, bc)?;
    let valid = (1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month);
    valid.then(|| days_from_ymd(year, month, day))
}

impl fmt::Display for Date {
    /// `2000-01-01`, `0044-03-15 BC`, `infinity`, `-infinity`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            i32::MIN => f.write_str("-infinity"),
            i32::MAX => f.write_str("infinity"),
            days => {
                if write_ymd(f, i64::from(days))? {
                    f.write_str(" BC")?;
                }
                Ok(())
            }
        }
    }
}

impl fmt::Debug for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Date({self})")
    }
}

impl FromStr for Date {
    type Err = ValueError;

    /// Reads what `Display` writes (PostgreSQL's ISO output).
    fn from_str(s: &str) -> Result<Date, ValueError> {
        match s {
            "infinity" => return Ok(Date::INFINITY),
            "-infinity" => return Ok(Date::NEG_INFINITY),
            _ => {}
        }
        let mut c = Cursor::new(s);
        let days = parse::date_part(&mut c).and_then(|(y, m, d)| {
            let bc = parse::bc_suffix(&mut c);
            if c.is_empty() {
                ymd_to_days(y, m, d, bc)
            } else {
                None
            }
        });
        let days = days.ok_or_else(|| {
            ValueError::new("date text is not in PostgreSQL's ISO form (YYYY-MM-DD [BC])")
        })?;
        Date::from_days(days)
    }
}

impl Type for Date {
    fn type_ref() -> TypeRef {
        TypeRef::Oid(Oid::DATE)
    }
}

impl Encode for Date {
    fn encode(&self, buf: &mut EncodeBuf) -> Result<IsNull, EncodeError> {
        buf.extend_from_slice(&self.0.to_be_bytes());
        Ok(IsNull::No)
    }
    fn param_type(&self) -> TypeRef {
        <Date as Type>::type_ref()
    }
    fn size_hint(&self) -> usize {
        4
    }
}

impl<'r> Decode<'r> for Date {
    fn decode(value: ValueRef<'r>) -> Result<Self, DecodeError> {
        let bytes = value.non_null::<Date>()?;
        Ok(match value.format() {
            Format::Binary => {
                Date::from_days_since_2000(i32::from_be_bytes(read::fixed(bytes, "date")?))?
            }
            Format::Text => read::utf8(bytes, "date")?.parse()?,
        })
    }
}

/// Text forms of `date` exactly as PostgreSQL 15 prints them, for server round trips.
#[cfg(test)]
pub(crate) const DATE_CASES: &[&str] = &[
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
];

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::types::read::testing::{bin, encode, hex, text};

    /// (`::text`, `date_send`) from PostgreSQL 15.
    const GOLDENS: &[(&str, &str)] = &[
        ("2000-01-01", "\\x00000000"),
        ("1999-12-31", "\\xffffffff"),
        ("4714-11-24 BC", "\\xffda97a7"),
        ("4713-11-24 BC", "\\xffda9915"),
        ("5874897-12-31", "\\x7fda970c"),
        ("infinity", "\\x7fffffff"),
        ("-infinity", "\\x80000000"),
        ("0001-01-01", "\\xfff4dbf9"),
        ("0001-12-31 BC", "\\xfff4dbf8"),
        ("0044-03-15 BC", "\\xfff49d7b"),
        ("1970-01-01", "\\xffffd533"),
        ("2024-02-29", "\\x00002279"),
        ("10000-01-01", "\\x002c95d4"),
    ];

    #[test]
    fn goldens() {
        for (text_form, golden) in GOLDENS {
            let date: Date = text_form.parse().unwrap();
            assert_eq!(encode(&date), hex(golden), "{text_form}");
            assert_eq!(bin::<Date>(Oid::DATE, &hex(golden)), Ok(date));
            assert_eq!(date.to_string(), *text_form);
            assert_eq!(text::<Date>(Oid::DATE, text_form), Ok(date));
        }
        for case in DATE_CASES {
            assert_eq!(case.parse::<Date>().unwrap().to_string(), *case);
        }
    }

    #[test]
    fn constructors_and_accessors() {
        assert_eq!(Date::from_ymd(2000, 1, 1).unwrap().days_since_2000(), 0);
        assert_eq!(Date::from_ymd(-4713, 11, 24), Ok(Date::MIN));
        assert_eq!(Date::from_ymd(5_874_897, 12, 31), Ok(Date::MAX));
        assert!(Date::from_ymd(-4713, 11, 23).is_err());
        assert!(Date::from_ymd(5_874_898, 1, 1).is_err());
        assert!(Date::from_ymd(2023, 2, 29).is_err());
        assert!(Date::from_ymd(2024, 13, 1).is_err());
        assert!(Date::from_ymd(2024, 1, 0).is_err());
        assert!(Date::from_ymd(i32::MAX, 1, 1).is_err());
        assert_eq!(Date::MIN.ymd(), Some((-4713, 11, 24)));
        assert_eq!(Date::INFINITY.ymd(), None);
        assert!(Date::NEG_INFINITY < Date::MIN && Date::MAX < Date::INFINITY);
        assert!(Date::INFINITY.is_infinite() && Date::MIN.is_finite());
        assert_eq!(Date::from_days_since_2000(i32::MIN), Ok(Date::NEG_INFINITY));
        assert!(Date::from_days_since_2000(Date::MAX.0 + 1).is_err());
        assert_eq!(format!("{:?}", Date::MIN), "Date(4714-11-24 BC)");
    }

    #[test]
    fn rejects_bad_values() {
        for bad in [
            "",
            "2000-1-01",
            "2000-01-1",
            "200-01-01",
            "2000-02-30",
            "0000-01-01",
            "2000-01-01 ",
            "2000-01-01 AD",
            "2000/01/01",
            "Infinity",
            "+infinity",
            "4714-11-23 BC",
            "5874898-01-01",
            "2000-01-01 00:00:00",
        ] {
            assert!(text::<Date>(Oid::DATE, bad).is_err(), "{bad:?}");
        }
        for bad in [
            &[0u8; 3][..],
            &[0; 5],
            &hex("\\x7fda970d"),
            &hex("\\xffda97a6"),
        ] {
            assert!(bin::<Date>(Oid::DATE, bad).is_err(), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn round_trip(days in Date::MIN.0..=Date::MAX.0) {
            let date = Date::from_days_since_2000(days).unwrap();
            prop_assert_eq!(bin::<Date>(Oid::DATE, &encode(&date)), Ok(date));
            prop_assert_eq!(date.to_string().parse::<Date>(), Ok(date));
            let (y, m, d) = date.ymd().unwrap();
            prop_assert_eq!(Date::from_ymd(y, m, d), Ok(date));
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..8), s in "[-0-9 BCinfty]{0,16}") {
            let _ = bin::<Date>(Oid::DATE, &bytes);
            let _ = s.parse::<Date>();
        }
    }
}
