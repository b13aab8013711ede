//! Floats: `f32` <-> `float4`, `f64` <-> `float8`.
//!
//! NaN, both infinities and `-0` survive both ways. The text format is what
//! PostgreSQL prints with `extra_float_digits` above 0 (the default since PostgreSQL 12):
//! the shortest decimal that reads back exactly, `NaN`, `Infinity`, `-Infinity`.
//! Each Rust type reads exactly one PostgreSQL type (`float4` is not widened into `f64`).

use super::read;
use super::{
    Decode, DecodeError, Encode, EncodeBuf, EncodeError, Format, IsNull, Oid, Type, TypeRef,
    ValueRef,
};

macro_rules! float_codec {
    ($rust:ty, $oid:expr, $pg:literal, $len:literal) => {
        impl Type for $rust {
            fn type_ref() -> TypeRef {
                TypeRef::Oid($oid)
            }
        }

        impl Encode for $rust {
            fn encode(&self, buf: &mut EncodeBuf) -> Result<IsNull, EncodeError> {
                buf.extend_from_slice(&self.to_be_bytes());
                Ok(IsNull::No)
            }
            fn param_type(&self) -> TypeRef {
                <$rust as Type>::type_ref()
            }
            fn size_hint(&self) -> usize {
                $len
            }
        }

        impl<'r> Decode<'r> for $rust {
            fn decode(value: ValueRef<'r>) -> Result<Self, DecodeError> {
                let bytes = value.non_null::<$rust>()?;
                match value.format() {
                    Format::Binary => Ok(<$rust>::from_be_bytes(read::fixed(bytes, $pg)?)),
                    Format::Text => parse_float(read::utf8(bytes, $pg)?, $pg),
                }
            }
        }
    };
}

float_codec!(f32, Oid::FLOAT4, "float4", 4);
float_codec!(f64, Oid::FLOAT8, "float8", 8);

/// Parses PostgreSQL's text form of a float.
///
/// Rust's parser also takes `inf`, `nan` and `infinity` in any case; PostgreSQL
/// prints only `NaN`, `Infinity` and `-Infinity`, so other spellings are rejected.
fn parse_float<T: std::str::FromStr + FloatConsts>(s: &str, pg: &str) -> Result<T, DecodeError> {
    match s {
        "NaN" => return Ok(T::NAN),
        "Infinity" => return Ok(T::INFINITY),
        "-Infinity" => return Ok(T::NEG_INFINITY),
        _ => {}
    }
    let plausible = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'));
    if !plausible {
        return Err(DecodeError::new(format!("{pg} text value is not a number")));
    }
    s.parse()
        .map_err(|_| DecodeError::new(format!("{pg} text value is not a number")))
}

trait FloatConsts {
    const NAN: Self;
    const INFINITY: Self;
    const NEG_INFINITY: Self;
}

impl FloatConsts for f32 {
    const NAN: f32 = f32::NAN;
    const INFINITY: f32 = f32::INFINITY;
    const NEG_INFINITY: f32 = f32::NEG_INFINITY;
}

impl FloatConsts for f64 {
    const NAN: f64 = f64::NAN;
    const INFINITY: f64 = f64::INFINITY;
    const NEG_INFINITY: f64 = f64::NEG_INFINITY;
}

/// Text forms of `float8` values exactly as PostgreSQL 15 prints them (`::text`),
/// for round-trip tests against a server.
#[cfg(test)]
pub(crate) const FLOAT8_CASES: &[&str] = &[
    "0",
    "-0",
    "NaN",
    "Infinity",
    "-Infinity",
    "0.1",
    "1e+100",
    "1e-05",
    "0.0001",
    "1e+15",
    "1e+16",
    "1.2345678901234568e+20",
    "1.7976931348623157e+308",
    "5e-324",
];

/// Text forms of `float4` values exactly as PostgreSQL 15 prints them.
#[cfg(test)]
pub(crate) const FLOAT4_CASES: &[&str] = &[
    "0",
    "-0",
    "NaN",
    "Infinity",
    "-Infinity",
    "0.1",
    "3.4028235e+38",
    "1e-45",
];

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::types::read::testing::{bin, encode, hex, text};

    // Goldens from PostgreSQL 15's float4send/float8send.
    #[test]
    fn goldens() {
        assert_eq!(encode(&f32::NAN), hex("\\x7fc00000"));
        assert_eq!(encode(&f32::INFINITY), hex("\\x7f800000"));
        assert_eq!(encode(&f32::NEG_INFINITY), hex("\\xff800000"));
        assert_eq!(encode(&-0.0f32), hex("\\x80000000"));
        assert_eq!(encode(&1.5f32), hex("\\x3fc00000"));
        assert_eq!(encode(&f32::MAX), hex("\\x7f7fffff"));
        assert_eq!(encode(&1.4e-45f32), hex("\\x00000001"));
        assert_eq!(encode(&f64::NAN), hex("\\x7ff8000000000000"));
        assert_eq!(encode(&f64::INFINITY), hex("\\x7ff0000000000000"));
        assert_eq!(encode(&f64::NEG_INFINITY), hex("\\xfff0000000000000"));
        assert_eq!(encode(&-0.0f64), hex("\\x8000000000000000"));
        assert_eq!(encode(&1.5f64), hex("\\x3ff8000000000000"));
        assert_eq!(encode(&f64::MAX), hex("\\x7fefffffffffffff"));
        assert_eq!(encode(&5e-324f64), hex("\\x0000000000000001"));
        assert_eq!(encode(&0.1f64), hex("\\x3fb999999999999a"));

        assert!(
            bin::<f64>(Oid::FLOAT8, &hex("\\x7ff8000000000000"))
                .unwrap()
                .is_nan()
        );
        let neg_zero = bin::<f64>(Oid::FLOAT8, &hex("\\x8000000000000000")).unwrap();
        assert!(neg_zero == 0.0 && neg_zero.is_sign_negative());
        assert_eq!(
            bin::<f32>(Oid::FLOAT4, &hex("\\xff800000")),
            Ok(f32::NEG_INFINITY)
        );
    }

    // Text from PostgreSQL 15 `::text` with extra_float_digits = 3.
    #[test]
    fn text_format() {
        assert!(text::<f64>(Oid::FLOAT8, "NaN").unwrap().is_nan());
        assert_eq!(text::<f64>(Oid::FLOAT8, "Infinity"), Ok(f64::INFINITY));
        assert_eq!(text::<f64>(Oid::FLOAT8, "-Infinity"), Ok(f64::NEG_INFINITY));
        assert!(text::<f64>(Oid::FLOAT8, "-0").unwrap().is_sign_negative());
        assert_eq!(text::<f64>(Oid::FLOAT8, "1e+100"), Ok(1e100));
        assert_eq!(text::<f64>(Oid::FLOAT8, "1e-05"), Ok(1e-5));
        assert_eq!(
            text::<f64>(Oid::FLOAT8, "1.2345678901234568e+20"),
            Ok(1.2345678901234568e20)
        );
        assert_eq!(text::<f32>(Oid::FLOAT4, "3.4028235e+38"), Ok(f32::MAX));
        assert_eq!(text::<f32>(Oid::FLOAT4, "1e-45"), Ok(1e-45f32));
        assert_eq!(text::<f32>(Oid::FLOAT4, "0.1"), Ok(0.1f32));
        for case in FLOAT8_CASES {
            let v = text::<f64>(Oid::FLOAT8, case).unwrap();
            assert_eq!(
                bin::<f64>(Oid::FLOAT8, &encode(&v)).unwrap().to_bits(),
                v.to_bits()
            );
        }
        for case in FLOAT4_CASES {
            assert!(text::<f32>(Oid::FLOAT4, case).is_ok(), "{case}");
        }
    }

    #[test]
    fn text_format_is_strict() {
        for bad in [
            "", "inf", "nan", "infinity", "NAN", " 1", "1 ", "0x1", "1,5", "e", ".",
        ] {
            assert!(text::<f64>(Oid::FLOAT8, bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn wrong_lengths() {
        assert!(bin::<f64>(Oid::FLOAT8, &[0; 4]).is_err());
        assert!(bin::<f32>(Oid::FLOAT4, &[0; 8]).is_err());
        assert!(bin::<f32>(Oid::FLOAT4, &[]).is_err());
    }

    proptest! {
        #[test]
        fn round_trip(a: f32, b: f64) {
            prop_assert_eq!(bin::<f32>(Oid::FLOAT4, &encode(&a)).unwrap().to_bits(), a.to_bits());
            prop_assert_eq!(bin::<f64>(Oid::FLOAT8, &encode(&b)).unwrap().to_bits(), b.to_bits());
        }

        #[test]
        fn text_round_trip(b in any::<f64>().prop_filter("not NaN", |b| !b.is_nan())) {
            // Rust's shortest round-trip form is a valid PostgreSQL text form.
            let s = if b.is_infinite() {
                if b > 0.0 { "Infinity".to_string() } else { "-Infinity".to_string() }
            } else {
                format!("{b:e}")
            };
            prop_assert_eq!(text::<f64>(Oid::FLOAT8, &s).unwrap().to_bits(), b.to_bits());
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..12)) {
            let _ = bin::<f32>(Oid::FLOAT4, &bytes);
            let _ = bin::<f64>(Oid::FLOAT8, &bytes);
            if let Ok(s) = std::str::from_utf8(&bytes) {
                let _ = text::<f64>(Oid::FLOAT8, s);
                let _ = text::<f32>(Oid::FLOAT4, s);
            }
        }
    }
}
