//! Conversions between [`Numeric`] and Rust's integers and floats.
//!
//! - Integers into `Numeric` always fit (`From`).
//! - `Numeric` into an integer (`TryFrom`) fails on `NaN`/`±Infinity`, on a
//!   nonzero fractional part and when out of range. `1.00` converts (the
//!   fractional digits are zero).
//! - Floats into `Numeric` (`From`) take the shortest decimal that reads back
//!   as the same float (what `{}` prints), so `0.1_f64` becomes `0.1`, not
//!   `0.1000000000000000055511151231257827`. `NaN` and `±inf` map to their
//!   numeric counterparts; `-0.0` becomes `0`, as in PostgreSQL's cast.
//! - `Numeric` into a float (`TryFrom`) rounds to the nearest float, like
//!   PostgreSQL's `numeric::float8`; it fails only when the value is too
//!   large (it would become infinite) or nonzero but too small (it would become 0).

use std::fmt::Write;

use super::{DEC_DIGITS, Finite, Numeric, Repr};
use crate::types::ValueError;

impl From<i128> for Numeric {
    fn from(value: i128) -> Numeric {
        let mut magnitude = value.unsigned_abs();
        let mut groups = Vec::with_capacity(10);
        while magnitude > 0 {
            // The remainder of a division by 10000 is below 10000.
            groups.push(u16::try_from(magnitude % 10_000).unwrap_or(0));
            magnitude /= 10_000;
        }
        let weight = i16::try_from(groups.len()).map_or(0, |len| len - 1);
        groups.reverse();
        while groups.last() == Some(&0) {
            groups.pop();
        }
        if groups.is_empty() {
            return Numeric::ZERO;
        }
        Numeric(Repr::Finite(Finite {
            negative: value < 0,
            weight,
            scale: 0,
            digits: groups,
        }))
    }
}

macro_rules! from_int {
    ($($int:ty),*) => {$(
        impl From<$int> for Numeric {
            fn from(value: $int) -> Numeric {
                Numeric::from(i128::from(value))
            }
        }
    )*};
}

from_int!(i8, i16, i32, i64, u8, u16, u32, u64);

impl Numeric {
    /// The value as a sign and a magnitude, when it is a whole number that fits in `u128`.
    fn to_integer(&self, target: &str) -> Result<(bool, u128), ValueError> {
        let f = match &self.0 {
            Repr::Finite(f) => f,
            Repr::NaN => {
                return Err(ValueError::new(format!(
                    "numeric NaN cannot be converted to {target}"
                )));
            }
            Repr::Infinity | Repr::NegInfinity => {
                return Err(ValueError::new(format!(
                    "numeric {self} cannot be converted to {target}"
                )));
            }
        };
        if f.digits.is_empty() {
            return Ok((false, 0));
        }
        if f.low_power() < 0 {
            return Err(ValueError::new(format!(
                "numeric has a fractional part; {target} holds whole numbers only"
            )));
        }
        let out_of_range = || ValueError::new(format!("numeric is out of range for {target}"));
        let mut magnitude: u128 = 0;
        for power in (0..=i64::from(f.weight)).rev() {
            magnitude = magnitude
                .checked_mul(10_000)
                .and_then(|m| m.checked_add(u128::from(f.group_at(power))))
                .ok_or_else(out_of_range)?;
        }
        Ok((f.negative, magnitude))
    }
}

macro_rules! try_into_int {
    ($($int:ty),*) => {$(
        impl TryFrom<&Numeric> for $int {
            type Error = ValueError;

            /// Fails on a fractional part, out of range, `NaN` and `±Infinity`.
            fn try_from(value: &Numeric) -> Result<$int, ValueError> {
                let target = stringify!($int);
                let (negative, magnitude) = value.to_integer(target)?;
                let signed = if negative {
                    0i128.checked_sub_unsigned(magnitude)
                } else {
                    i128::try_from(magnitude).ok()
                };
                signed
                    .and_then(|v| <$int>::try_from(v).ok())
                    .ok_or_else(|| ValueError::new(format!("numeric is out of range for {target}")))
            }
        }

        impl TryFrom<Numeric> for $int {
            type Error = ValueError;

            /// Fails on a fractional part, out of range, `NaN` and `±Infinity`.
            fn try_from(value: Numeric) -> Result<$int, ValueError> {
                <$int>::try_from(&value)
            }
        }
    )*};
}

try_into_int!(i8, i16, i32, i64, i128, u8, u16, u32, u64);

macro_rules! float_conversions {
    ($($float:ty),*) => {$(
        impl From<$float> for Numeric {
            /// The shortest decimal that reads back as the same float; NaN and
            /// infinities map to numeric's; `-0.0` becomes `0`.
            fn from(value: $float) -> Numeric {
                if value.is_nan() {
                    Numeric::NAN
                } else if value.is_infinite() {
                    if value > 0.0 { Numeric::INFINITY } else { Numeric::NEG_INFINITY }
                } else {
                    // `{:e}` of a finite float is `[-]d[.ddd]e[-]x` with |x| < 400: always valid
                    // numeric text within range. Should that ever fail, NaN is returned rather than a panic.
                    format!("{value:e}").parse().unwrap_or(Numeric::NAN)
                }
            }
        }

        impl TryFrom<&Numeric> for $float {
            type Error = ValueError;

            /// The nearest float. Fails when the value would become infinite or
            /// (being nonzero) zero.
            fn try_from(value: &Numeric) -> Result<$float, ValueError> {
                let target = stringify!($float);
                let f = match &value.0 {
                    Repr::NaN => return Ok(<$float>::NAN),
                    Repr::Infinity => return Ok(<$float>::INFINITY),
                    Repr::NegInfinity => return Ok(<$float>::NEG_INFINITY),
                    Repr::Finite(f) if f.digits.is_empty() => return Ok(0.0),
                    Repr::Finite(f) => f,
                };
                let too_large = || ValueError::new(format!("numeric is too large for {target}"));
                let too_small = || {
                    ValueError::new(format!("numeric is too small for {target} (it would round to zero)"))
                };
                // Far outside any float's range: answer without building the digits.
                if f.weight > 100 {
                    return Err(too_large());
                }
                if f.weight < -100 {
                    return Err(too_small());
                }
                let parsed: $float = scientific(f)
                    .parse()
                    .map_err(|_| ValueError::new(format!("numeric could not be converted to {target}")))?;
                if parsed.is_infinite() {
                    Err(too_large())
                } else if parsed == 0.0 {
                    Err(too_small())
                } else {
                    Ok(parsed)
                }
            }
        }

        impl TryFrom<Numeric> for $float {
            type Error = ValueError;

            /// The nearest float. Fails when the value would become infinite or
            /// (being nonzero) zero.
            fn try_from(value: Numeric) -> Result<$float, ValueError> {
                <$float>::try_from(&value)
            }
        }
    )*};
}

float_conversions!(f32, f64);

/// The value as `[-]digitse<exponent>` (all digit groups, exponent of the last).
/// Writing to a `String` cannot fail.
fn scientific(f: &Finite) -> String {
    let mut s = String::with_capacity(f.digits.len() * 4 + 8);
    if f.negative {
        s.push('-');
    }
    for group in &f.digits {
        let _ = write!(s, "{group:04}");
    }
    let _ = write!(s, "e{}", f.low_power() * DEC_DIGITS);
    s
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn n(s: &str) -> Numeric {
        s.parse().unwrap()
    }

    #[test]
    fn integers_in() {
        assert_eq!(Numeric::from(0_i32).to_string(), "0");
        assert_eq!(Numeric::from(10_000_i32).to_string(), "10000");
        assert_eq!(Numeric::from(-1_i8).to_string(), "-1");
        assert_eq!(Numeric::from(i64::MIN).to_string(), "-9223372036854775808");
        assert_eq!(Numeric::from(u64::MAX).to_string(), "18446744073709551615");
        assert_eq!(
            Numeric::from(i128::MIN).to_string(),
            "-170141183460469231731687303715884105728"
        );
        assert_eq!(Numeric::from(i128::MAX).to_string(), i128::MAX.to_string());
        assert_eq!(Numeric::from(100_000_000_i64), n("100000000"));
    }

    #[test]
    fn integers_out() {
        assert_eq!(i64::try_from(&n("-9223372036854775808")), Ok(i64::MIN));
        assert_eq!(
            i128::try_from(n("-170141183460469231731687303715884105728")),
            Ok(i128::MIN)
        );
        assert_eq!(u64::try_from(n("18446744073709551615")), Ok(u64::MAX));
        assert_eq!(i32::try_from(n("12.000")), Ok(12));
        assert_eq!(i32::try_from(n("0.00")), Ok(0));
        assert_eq!(i16::try_from(n("-32768")), Ok(i16::MIN));

        let frac = i64::try_from(n("1.5")).unwrap_err();
        assert_eq!(
            frac.message(),
            "numeric has a fractional part; i64 holds whole numbers only"
        );
        assert!(i64::try_from(n("0.0001")).is_err());
        assert!(i64::try_from(n("10000.0001")).is_err());
        let range = i16::try_from(n("32768")).unwrap_err();
        assert_eq!(range.message(), "numeric is out of range for i16");
        assert!(u64::try_from(n("-1")).is_err());
        assert!(u64::try_from(n("18446744073709551616")).is_err());
        assert!(i128::try_from(n("170141183460469231731687303715884105728")).is_err());
        assert!(i64::try_from(n("1e131071")).is_err());
        assert_eq!(
            i32::try_from(Numeric::NAN).unwrap_err().message(),
            "numeric NaN cannot be converted to i32"
        );
        assert_eq!(
            i32::try_from(Numeric::NEG_INFINITY).unwrap_err().message(),
            "numeric -Infinity cannot be converted to i32"
        );
    }

    #[test]
    fn floats_in() {
        assert_eq!(Numeric::from(0.1_f64).to_string(), "0.1");
        assert_eq!(Numeric::from(0.1_f32).to_string(), "0.1");
        assert_eq!(Numeric::from(-1.5_f64).to_string(), "-1.5");
        assert_eq!(Numeric::from(-0.0_f64).to_string(), "0");
        assert_eq!(Numeric::from(1e20_f64).to_string(), "100000000000000000000");
        assert_eq!(Numeric::from(1.5e-7_f64).to_string(), "0.00000015");
        assert_eq!(Numeric::from(f64::MAX).to_string().len(), 309);
        assert_eq!(Numeric::from(5e-324_f64).scale(), 324);
        assert!(Numeric::from(f64::NAN).is_nan());
        assert_eq!(Numeric::from(f64::INFINITY), Numeric::INFINITY);
        assert_eq!(Numeric::from(f32::NEG_INFINITY), Numeric::NEG_INFINITY);
    }

    #[test]
    fn floats_out() {
        assert_eq!(f64::try_from(&n("0.1")), Ok(0.1));
        assert_eq!(f64::try_from(&n("-12.3400")), Ok(-12.34));
        assert_eq!(f64::try_from(&n("0.00")), Ok(0.0));
        assert_eq!(f32::try_from(&n("3.4028235e38")), Ok(f32::MAX));
        // Rounds to nearest: 2^53 + 1 is not a float.
        assert_eq!(
            f64::try_from(&n("9007199254740993")),
            Ok(9_007_199_254_740_992.0)
        );
        assert!(f64::try_from(&Numeric::NAN).unwrap().is_nan());
        assert_eq!(f64::try_from(Numeric::NEG_INFINITY), Ok(f64::NEG_INFINITY));
        assert_eq!(
            f64::try_from(&n("1e309")).unwrap_err().message(),
            "numeric is too large for f64"
        );
        assert!(f32::try_from(&n("1e39")).is_err());
        assert!(f64::try_from(&n("1e-400")).is_err());
        assert!(f64::try_from(&n("1e131071")).is_err());
        assert!(f64::try_from(&n("1e-16383")).is_err());
        assert_eq!(f64::try_from(&n("5e-324")), Ok(5e-324));
    }

    proptest! {
        #[test]
        fn integers_round_trip(v: i128) {
            let value = Numeric::from(v);
            prop_assert_eq!(value.to_string(), v.to_string());
            prop_assert_eq!(i128::try_from(&value), Ok(v));
            prop_assert_eq!(i64::try_from(&value).ok(), i64::try_from(v).ok());
            prop_assert_eq!(u64::try_from(&value).ok(), u64::try_from(v).ok());
        }

        #[test]
        fn floats_round_trip(v in any::<f64>().prop_filter("finite", |v| v.is_finite())) {
            let value = Numeric::from(v);
            let back = f64::try_from(&value);
            if v == 0.0 {
                prop_assert_eq!(back, Ok(0.0));
            } else {
                prop_assert_eq!(back.map(f64::to_bits), Ok(v.to_bits()));
            }
        }

        #[test]
        fn f32_round_trip(v in any::<f32>().prop_filter("finite", |v| v.is_finite() && *v != 0.0)) {
            prop_assert_eq!(f32::try_from(Numeric::from(v)).map(f32::to_bits), Ok(v.to_bits()));
        }

        #[test]
        fn whole_decimals_convert(int in "-?[1-9][0-9]{0,40}", zeros in 0usize..5) {
            let text = if zeros > 0 { format!("{int}.{}", "0".repeat(zeros)) } else { int.clone() };
            let expected = int.parse::<i128>().ok();
            prop_assert_eq!(i128::try_from(n(&text)).ok(), expected);
        }
    }
}
