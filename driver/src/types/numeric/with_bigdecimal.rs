//! `bigdecimal::BigDecimal` <-> `numeric` (feature `bigdecimal`).
//!
//! `BigDecimal` is unbounded, `numeric` is not: into `numeric`, more than
//! 131072 digits before the point or a scale above 16383 is an error. From
//! `numeric`, `NaN` and `±Infinity` are errors. Digits and scale are kept
//! exactly both ways.

use ::bigdecimal::BigDecimal;
use ::bigdecimal::num_bigint::{BigInt, Sign};

use super::Numeric;
use crate::types::{
    Decode, DecodeError, Encode, EncodeBuf, EncodeError, IsNull, Oid, Type, TypeRef, ValueError,
    ValueRef,
};

impl TryFrom<&BigDecimal> for Numeric {
    type Error = ValueError;

    /// Fails when the value is outside numeric's range or its scale above 16383.
    fn try_from(value: &BigDecimal) -> Result<Numeric, ValueError> {
        let (int, scale) = value.as_bigint_and_scale();
        let digits = int.magnitude().to_string();
        let exponent = scale
            .checked_neg()
            .ok_or_else(|| ValueError::new("BigDecimal scale is out of numeric's range"))?;
        Numeric::from_decimal(
            int.sign() == Sign::Minus,
            digits.as_bytes(),
            exponent,
            scale.max(0),
        )
    }
}

impl TryFrom<BigDecimal> for Numeric {
    type Error = ValueError;

    /// See `TryFrom<&BigDecimal>`.
    fn try_from(value: BigDecimal) -> Result<Numeric, ValueError> {
        Numeric::try_from(&value)
    }
}

impl TryFrom<&Numeric> for BigDecimal {
    type Error = ValueError;

    /// Fails on `NaN` and `±Infinity`.
    fn try_from(value: &Numeric) -> Result<BigDecimal, ValueError> {
        if !value.is_finite() {
            return Err(ValueError::new(format!(
                "numeric {value} cannot be converted to bigdecimal::BigDecimal"
            )));
        }
        // The printed form has exactly `scale` digits after the point.
        let digits: String = value.to_string().chars().filter(|c| *c != '.').collect();
        let int: BigInt = digits
            .parse()
            .map_err(|_| ValueError::new("numeric digits did not parse as a BigInt"))?;
        Ok(BigDecimal::new(int, i64::from(value.scale())))
    }
}

impl TryFrom<Numeric> for BigDecimal {
    type Error = ValueError;

    /// Fails on `NaN` and `±Infinity`.
    fn try_from(value: Numeric) -> Result<BigDecimal, ValueError> {
        BigDecimal::try_from(&value)
    }
}

impl Type for BigDecimal {
    fn type_ref() -> TypeRef {
        TypeRef::Oid(Oid::NUMERIC)
    }
}

impl Encode for BigDecimal {
    fn encode(&self, buf: &mut EncodeBuf) -> Result<IsNull, EncodeError> {
        Numeric::try_from(self)?.encode(buf)
    }
    fn param_type(&self) -> TypeRef {
        <BigDecimal as Type>::type_ref()
    }
}

impl<'r> Decode<'r> for BigDecimal {
    fn decode(value: ValueRef<'r>) -> Result<Self, DecodeError> {
        let numeric = Numeric::decode(value)?;
        Ok(BigDecimal::try_from(&numeric)?)
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use proptest::prelude::*;

    use super::super::NUMERIC_CASES;
    use super::*;
    use crate::types::read::testing::{bin, encode, hex, text};

    fn big(s: &str) -> BigDecimal {
        BigDecimal::from_str(s).unwrap()
    }

    #[test]
    fn exact_both_ways() {
        for case in NUMERIC_CASES
            .iter()
            .filter(|c| !matches!(**c, "NaN" | "Infinity" | "-Infinity"))
        {
            let numeric: Numeric = case.parse().unwrap();
            let b = BigDecimal::try_from(&numeric).unwrap();
            assert_eq!(b.to_plain_string(), *case, "to BigDecimal");
            assert_eq!(Numeric::try_from(&b).unwrap(), numeric, "back to Numeric");
        }
    }

    #[test]
    fn negative_scale_and_limits() {
        // BigDecimal keeps 1.5e3 as 15 with scale -2.
        assert_eq!(
            Numeric::try_from(&big("1.5e3")).unwrap().to_string(),
            "1500"
        );
        assert_eq!(
            Numeric::try_from(&BigDecimal::new(BigInt::from(7), -4))
                .unwrap()
                .to_string(),
            "70000"
        );
        assert!(Numeric::try_from(&BigDecimal::new(BigInt::from(1), -131_072)).is_err());
        assert!(Numeric::try_from(&BigDecimal::new(BigInt::from(1), 16_384)).is_err());
        assert!(Numeric::try_from(&BigDecimal::new(BigInt::from(1), i64::MIN)).is_err());
        assert!(Numeric::try_from(&BigDecimal::new(BigInt::from(1), i64::MAX)).is_err());
        assert!(BigDecimal::try_from(&Numeric::NAN).is_err());
        let mut buf = EncodeBuf::new();
        assert!(
            BigDecimal::new(BigInt::from(1), 20_000)
                .encode(&mut buf)
                .is_err()
        );
    }

    // Golden from PostgreSQL 15's numeric_send('10000.0001').
    #[test]
    fn codec() {
        assert_eq!(
            encode(&big("10000.0001")),
            hex("\\x0003000100000004000100000001")
        );
        assert_eq!(
            bin::<BigDecimal>(Oid::NUMERIC, &hex("\\x0003000100000004000100000001")),
            Ok(big("10000.0001"))
        );
        assert_eq!(text::<BigDecimal>(Oid::NUMERIC, "-0.5"), Ok(big("-0.5")));
        assert!(text::<BigDecimal>(Oid::NUMERIC, "Infinity").is_err());
    }

    proptest! {
        #[test]
        fn round_trip(int in "-?[0-9]{1,50}", scale in -20i64..40) {
            let value = BigDecimal::new(int.parse().unwrap(), scale);
            let numeric = Numeric::try_from(&value).unwrap();
            let back = BigDecimal::try_from(&numeric).unwrap();
            prop_assert_eq!(&back, &value);
            prop_assert_eq!(bin::<BigDecimal>(Oid::NUMERIC, &encode(&value)), Ok(value));
        }
    }
}
