//! `rust_decimal::Decimal` <-> `numeric` (feature `rust_decimal`).
//!
//! `Decimal` holds a 96-bit mantissa and at most 28 digits after the point.
//! Into `numeric` it always fits (its scale is kept: `1.20` stays `1.20`).
//! From `numeric`, `NaN`, `±Infinity`, values of 2^96 or more, and values
//! with a display scale above 28 (digits after the point, even zeros: `1.000...0`
//! with 29 zeros prints differently at scale 28) are errors, never a panic or a
//! silent rounding (rust_decimal #652 and friends). Round in SQL (`round(x, 28)`)
//! or read [`Numeric`], which keeps every digit.

use ::rust_decimal::Decimal;

use super::{Numeric, Repr};
use crate::types::{
    Decode, DecodeError, Encode, EncodeBuf, EncodeError, IsNull, Oid, Type, TypeRef, ValueError,
    ValueRef,
};

const TARGET: &str = "rust_decimal::Decimal";
/// `Decimal::MAX_SCALE`.
const DECIMAL_MAX_SCALE: u16 = 28;
/// `Decimal`'s mantissa is below 2^96.
const MANTISSA_LIMIT: u128 = 1 << 96;

impl From<Decimal> for Numeric {
    fn from(value: Decimal) -> Numeric {
        let mantissa = value.mantissa();
        let scale = i64::from(value.scale());
        let digits = mantissa.unsigned_abs().to_string();
        Numeric::from_decimal(mantissa < 0, digits.as_bytes(), -scale, scale)
            .expect("a Decimal (scale <= 28, mantissa < 2^96) is within numeric's range")
    }
}

impl From<&Decimal> for Numeric {
    fn from(value: &Decimal) -> Numeric {
        Numeric::from(*value)
    }
}

impl TryFrom<&Numeric> for Decimal {
    type Error = ValueError;

    /// Fails on `NaN`, `±Infinity`, magnitudes of 2^96 or more and a display
    /// scale above 28.
    fn try_from(value: &Numeric) -> Result<Decimal, ValueError> {
        let f = match &value.0 {
            Repr::Finite(f) => f,
            _ => {
                return Err(ValueError::new(format!(
                    "numeric {value} cannot be converted to {TARGET}"
                )));
            }
        };
        if f.scale > DECIMAL_MAX_SCALE {
            return Err(ValueError::new(format!(
                "numeric has {} digits after the point; {TARGET} holds at most 28 (reading it \
                 would change the value's scale): round it in SQL (`round(x, 28)`) or read it \
                 as quarry::types::Numeric",
                f.scale
            )));
        }
        let scale = f.scale;
        let lowest_needed = -i64::from(scale);
        let out_of_range = || {
            ValueError::new(format!(
                "numeric is out of range for {TARGET} (at most 28 significant digits, ±79228162514264337593543950335)"
            ))
        };
        if let Some(&last) = f.digits.last() {
            let zeros = [10, 100, 1000]
                .iter()
                .take_while(|p| last % **p == 0)
                .count();
            let lowest_digit = f.low_power() * 4 + i64::try_from(zeros).unwrap_or(0);
            if lowest_digit < lowest_needed {
                return Err(ValueError::new(format!(
                    "numeric has nonzero digits beyond the 28th decimal place; {TARGET} cannot hold them"
                )));
            }
        }
        let mut mantissa: u128 = 0;
        let top = i64::from(f.weight) * 4 + 3;
        let mut power = top;
        while power >= lowest_needed {
            let group = f.group_at(power.div_euclid(4));
            let digit = group / 10u16.pow(u32::try_from(power.rem_euclid(4)).unwrap_or(0)) % 10;
            mantissa = mantissa * 10 + u128::from(digit);
            if mantissa >= MANTISSA_LIMIT {
                return Err(out_of_range());
            }
            power -= 1;
        }
        let magnitude = i128::try_from(mantissa).map_err(|_| out_of_range())?;
        let signed = if f.negative { -magnitude } else { magnitude };
        Decimal::try_from_i128_with_scale(signed, u32::from(scale)).map_err(|_| out_of_range())
    }
}

impl TryFrom<Numeric> for Decimal {
    type Error = ValueError;

    /// See `TryFrom<&Numeric>`.
    fn try_from(value: Numeric) -> Result<Decimal, ValueError> {
        Decimal::try_from(&value)
    }
}

impl Type for Decimal {
    fn type_ref() -> TypeRef {
        TypeRef::Oid(Oid::NUMERIC)
    }
}

impl Encode for Decimal {
    fn encode(&self, buf: &mut EncodeBuf) -> Result<IsNull, EncodeError> {
        Numeric::from(*self).encode(buf)
    }
    fn param_type(&self) -> TypeRef {
        <Decimal as Type>::type_ref()
    }
    fn size_hint(&self) -> usize {
        // 8-byte header and at most 9 groups for 29 digits.
        26
    }
}

impl<'r> Decode<'r> for Decimal {
    fn decode(value: ValueRef<'r>) -> Result<Self, DecodeError> {
        let numeric = Numeric::decode(value)?;
        Ok(Decimal::try_from(&numeric)?)
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use proptest::prelude::*;

    use super::*;
    use crate::types::read::testing::{bin, encode, hex, text};

    fn n(s: &str) -> Numeric {
        s.parse().unwrap()
    }

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn into_numeric_keeps_scale() {
        for s in [
            "0",
            "1.20",
            "-12.3400",
            "0.0001",
            "10000.0001",
            "79228162514264337593543950335",
            "-0.0000000000000000000000000001",
            "0.1234567890123456789012345678",
        ] {
            assert_eq!(Numeric::from(d(s)).to_string(), s);
        }
        assert_eq!(Numeric::from(d("-0.00")).to_string(), "0.00");
    }

    #[test]
    fn from_numeric() {
        for s in [
            "0",
            "1.20",
            "-12.3400",
            "0.0001",
            "10000.0001",
            "79228162514264337593543950335",
            "-79228162514264337593543950335",
            "0.0000000000000000000000000001",
        ] {
            assert_eq!(Decimal::try_from(&n(s)).unwrap().to_string(), s);
        }
        // More than 28 digits after the point is an error, zeros too: the scale is
        // part of the value as PostgreSQL prints it.
        for s in [
            "1.00000000000000000000000000000",
            "1.500000000000000000000000000000",
            "0.00000000000000000000000000001",
        ] {
            let err = Decimal::try_from(&n(s)).unwrap_err().to_string();
            assert!(err.contains("round(x, 28)"), "{s}: {err}");
        }
        assert!(Decimal::try_from(&n("79228162514264337593543950336")).is_err());
        assert!(Decimal::try_from(&n("1e29")).is_err(), "rust_decimal #652");
        assert!(Decimal::try_from(&n("1e131071")).is_err());
        assert!(Decimal::try_from(&Numeric::NAN).is_err());
        assert!(Decimal::try_from(&Numeric::INFINITY).is_err());
    }

    // Golden from PostgreSQL 15's numeric_send('-12.3400').
    #[test]
    fn codec() {
        assert_eq!(encode(&d("-12.3400")), hex("\\x0002000040000004000c0d48"));
        assert_eq!(
            bin::<Decimal>(Oid::NUMERIC, &hex("\\x0002000040000004000c0d48")),
            Ok(d("-12.3400"))
        );
        assert_eq!(text::<Decimal>(Oid::NUMERIC, "0.0001"), Ok(d("0.0001")));
        assert!(text::<Decimal>(Oid::NUMERIC, "NaN").is_err());
    }

    proptest! {
        #[test]
        fn round_trip(mantissa in -(1i128 << 96) + 1..(1i128 << 96), scale in 0u32..=28) {
            let value = Decimal::from_i128_with_scale(mantissa, scale);
            let numeric = Numeric::from(value);
            prop_assert_eq!(numeric.to_string(), value.to_string());
            let back = Decimal::try_from(&numeric).unwrap();
            prop_assert_eq!(back, value);
            prop_assert_eq!(back.scale(), value.scale());
            prop_assert_eq!(bin::<Decimal>(Oid::NUMERIC, &encode(&value)), Ok(value));
        }
    }
}
