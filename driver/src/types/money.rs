//! [`Money`] <-> `money`.

use std::fmt;
use std::str::FromStr;

use super::read;
use super::{
    Decode, DecodeError, Encode, EncodeBuf, EncodeError, Format, IsNull, Oid, Type, TypeRef,
    ValueError, ValueRef,
};

/// A `money` value: a whole number of the currency's minor unit (cents).
///
/// The binary format is this `i64`, whatever the server's `lc_monetary`.
/// The text format depends on `lc_monetary`; only the `C` (and `C.UTF-8`)
/// locale form, `$1,234.56` and `-$1.00`, is read, and
/// `Display`/`FromStr` use that form. With another locale, use the
/// extended protocol (binary format) or cast to `numeric` in SQL.
/// PostgreSQL's `numeric` is usually the better column type for money.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(pub i64);

impl Type for Money {
    fn type_ref() -> TypeRef {
        TypeRef::Oid(Oid::MONEY)
    }
}

impl Encode for Money {
    fn encode(&self, buf: &mut EncodeBuf) -> Result<IsNull, EncodeError> {
        buf.extend_from_slice(&self.0.to_be_bytes());
        Ok(IsNull::No)
    }
    fn param_type(&self) -> TypeRef {
        <Money as Type>::type_ref()
    }
    fn size_hint(&self) -> usize {
        8
    }
}

impl<'r> Decode<'r> for Money {
    fn decode(value: ValueRef<'r>) -> Result<Self, DecodeError> {
        let bytes = value.non_null::<Money>()?;
        match value.format() {
            Format::Binary => Ok(Money(i64::from_be_bytes(read::fixed(bytes, "money")?))),
            Format::Text => Ok(read::utf8(bytes, "money")?.parse()?),
        }
    }
}

impl fmt::Display for Money {
    /// The `C` locale form: `$1,234.56`, `-$1.00`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let magnitude = self.0.unsigned_abs();
        let units = (magnitude / 100).to_string();
        if self.0 < 0 {
            f.write_str("-")?;
        }
        f.write_str("$")?;
        for (i, digit) in units.chars().enumerate() {
            if i > 0 && (units.len() - i).is_multiple_of(3) {
                f.write_str(",")?;
            }
            write!(f, "{digit}")?;
        }
        write!(f, ".{:02}", magnitude % 100)
    }
}

impl FromStr for Money {
    type Err = ValueError;

    /// Parses the `C` locale form PostgreSQL prints: an optional `-`, `$`,
    /// digits grouped by `,` in threes, `.` and exactly two digits.
    fn from_str(s: &str) -> Result<Money, ValueError> {
        let bad = || ValueError::new("money text is not in the C locale form ($1,234.56)");
        let (negative, rest) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let rest = rest.strip_prefix('$').ok_or_else(bad)?;
        let (units, cents) = rest.split_once('.').ok_or_else(bad)?;
        if cents.len() != 2 || !cents.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let out_of_range = || ValueError::new("money text value is out of range");
        let mut magnitude: u64 = 0;
        for (i, group) in units.split(',').enumerate() {
            let well_formed = if i == 0 {
                (1..=3).contains(&group.len())
            } else {
                group.len() == 3
            };
            if !well_formed || !group.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            for digit in group.bytes() {
                magnitude = magnitude
                    .checked_mul(10)
                    .and_then(|m| m.checked_add(u64::from(digit - b'0')))
                    .ok_or_else(out_of_range)?;
            }
        }
        let cents: u64 = cents.parse().map_err(|_| bad())?;
        let magnitude = magnitude
            .checked_mul(100)
            .and_then(|m| m.checked_add(cents))
            .ok_or_else(out_of_range)?;
        let value = if negative {
            0i64.checked_sub_unsigned(magnitude)
        } else {
            i64::try_from(magnitude).ok()
        };
        value.map(Money).ok_or_else(out_of_range)
    }
}

/// Text forms of `money` exactly as PostgreSQL 15 prints them with `lc_monetary = C`.
#[cfg(test)]
pub(crate) const MONEY_CASES: &[&str] = &[
    "$0.00",
    "$0.05",
    "$1,234.56",
    "-$1.00",
    "-$1,234,567.89",
    "$999.99",
    "$1,000.00",
    "-$92,233,720,368,547,758.08",
    "$92,233,720,368,547,758.07",
];

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::types::read::testing::{bin, encode, hex, text};

    // Goldens from PostgreSQL 15's cash_send and `::text` (lc_monetary = C.UTF-8).
    #[test]
    fn goldens() {
        assert_eq!(encode(&Money(123_456)), hex("\\x000000000001e240"));
        assert_eq!(encode(&Money(i64::MIN)), hex("\\x8000000000000000"));
        assert_eq!(
            bin::<Money>(Oid::MONEY, &hex("\\x000000000001e240")),
            Ok(Money(123_456))
        );
        assert_eq!(text::<Money>(Oid::MONEY, "$1,234.56"), Ok(Money(123_456)));
        assert_eq!(text::<Money>(Oid::MONEY, "-$1.00"), Ok(Money(-100)));
        assert_eq!(
            text::<Money>(Oid::MONEY, "-$92,233,720,368,547,758.08"),
            Ok(Money(i64::MIN))
        );
        assert_eq!(
            text::<Money>(Oid::MONEY, "$92,233,720,368,547,758.07"),
            Ok(Money(i64::MAX))
        );
        assert_eq!(Money(-123_456_789).to_string(), "-$1,234,567.89");
        assert_eq!(Money(5).to_string(), "$0.05");
    }

    #[test]
    fn cases_round_trip() {
        for case in MONEY_CASES {
            let m: Money = case.parse().unwrap();
            assert_eq!(m.to_string(), *case);
        }
    }

    #[test]
    fn rejects_other_forms() {
        for bad in [
            "",
            "$",
            "1.00",
            "$1",
            "$1.0",
            "$1.000",
            "$1,23.00",
            "$1234,567.00",
            "$,123.00",
            "$1,234,.00",
            "--$1.00",
            "$-1.00",
            "€1,00",
            "$ 1.00",
            "$1.00 ",
            "($1.00)",
            "$92,233,720,368,547,758.08",
            "-$92,233,720,368,547,758.09",
            "$99,999,999,999,999,999,999.00",
        ] {
            assert!(bad.parse::<Money>().is_err(), "{bad:?}");
        }
        assert!(bin::<Money>(Oid::MONEY, &[0; 4]).is_err());
    }

    proptest! {
        #[test]
        fn round_trip(n: i64) {
            prop_assert_eq!(bin::<Money>(Oid::MONEY, &encode(&Money(n))), Ok(Money(n)));
            prop_assert_eq!(text::<Money>(Oid::MONEY, &Money(n).to_string()), Ok(Money(n)));
        }

        #[test]
        fn garbage_never_panics(s in "[-$0-9,.]{0,30}") {
            let _ = s.parse::<Money>();
        }
    }
}
