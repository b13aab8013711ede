//! The binary format of `numeric` and the value traits for [`Numeric`].
//!
//! `numeric_send` writes five big-endian 16-bit fields: the number of digit
//! groups (unsigned: the largest value has 36864), the weight (power of 10000
//! of the first group), the sign word (`0x0000` positive, `0x4000` negative,
//! `0xC000` NaN, `0xD000` Infinity, `0xF000` -Infinity), the display scale,
//! and then the base-10000 groups. Every field is checked on decode.

use super::{MAX_SCALE, NBASE, Numeric, Repr};
use crate::types::read;
use crate::types::{
    Decode, DecodeError, Encode, EncodeBuf, EncodeError, Format, IsNull, Oid, Type, TypeRef,
    ValueRef,
};

const SIGN_POS: u16 = 0x0000;
const SIGN_NEG: u16 = 0x4000;
const SIGN_NAN: u16 = 0xC000;
const SIGN_PINF: u16 = 0xD000;
const SIGN_NINF: u16 = 0xF000;

impl Numeric {
    /// Reads `numeric_send`'s output.
    pub(crate) fn from_binary(bytes: &[u8]) -> Result<Numeric, DecodeError> {
        let (header, body) = bytes.split_first_chunk::<8>().ok_or_else(|| {
            DecodeError::new(format!(
                "binary numeric value must have an 8-byte header, got {} bytes",
                bytes.len()
            ))
        })?;
        let [n0, n1, w0, w1, s0, s1, d0, d1] = *header;
        let ndigits = u16::from_be_bytes([n0, n1]);
        let weight = i16::from_be_bytes([w0, w1]);
        let sign = u16::from_be_bytes([s0, s1]);
        let scale = u16::from_be_bytes([d0, d1]);
        if body.len() != usize::from(ndigits) * 2 {
            return Err(DecodeError::new(format!(
                "binary numeric value declares {ndigits} digit groups but carries {} bytes of digits",
                body.len()
            )));
        }
        if scale > MAX_SCALE {
            return Err(DecodeError::new(format!(
                "binary numeric value has display scale {scale}, above the maximum {MAX_SCALE}"
            )));
        }
        let digits = body
            .chunks_exact(2)
            .map(|pair| match pair {
                [hi, lo] => u16::from_be_bytes([*hi, *lo]),
                _ => u16::MAX,
            })
            .collect::<Vec<u16>>();
        if let Some(bad) = digits.iter().find(|d| **d >= NBASE) {
            return Err(DecodeError::new(format!(
                "binary numeric value has digit group {bad}, outside 0..=9999"
            )));
        }
        match sign {
            SIGN_POS | SIGN_NEG => Ok(Numeric::from_groups(
                sign == SIGN_NEG,
                i64::from(weight),
                scale,
                digits,
            )?),
            // PostgreSQL ignores the other fields of special values (and sends a nonzero scale for them).
            SIGN_NAN => Ok(Numeric::NAN),
            SIGN_PINF => Ok(Numeric::INFINITY),
            SIGN_NINF => Ok(Numeric::NEG_INFINITY),
            _ => Err(DecodeError::new(format!(
                "binary numeric value has unknown sign word 0x{sign:04x}"
            ))),
        }
    }

    /// Writes `numeric_send`'s format (special values with weight and scale 0).
    fn write_binary(&self, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
        let (ndigits, weight, sign, scale, digits): (u16, i16, u16, u16, &[u16]) = match &self.0 {
            Repr::NaN => (0, 0, SIGN_NAN, 0, &[]),
            Repr::Infinity => (0, 0, SIGN_PINF, 0, &[]),
            Repr::NegInfinity => (0, 0, SIGN_NINF, 0, &[]),
            Repr::Finite(f) => {
                let ndigits = u16::try_from(f.digits.len())
                    .map_err(|_| EncodeError::new("numeric has more than 65535 digit groups"))?;
                let sign = if f.negative { SIGN_NEG } else { SIGN_POS };
                (ndigits, f.weight, sign, f.scale, &f.digits)
            }
        };
        buf.reserve(8 + digits.len() * 2);
        buf.extend_from_slice(&ndigits.to_be_bytes());
        buf.extend_from_slice(&weight.to_be_bytes());
        buf.extend_from_slice(&sign.to_be_bytes());
        buf.extend_from_slice(&scale.to_be_bytes());
        for d in digits {
            buf.extend_from_slice(&d.to_be_bytes());
        }
        Ok(())
    }

    /// The encoded size in bytes.
    pub(crate) fn binary_len(&self) -> usize {
        8 + self.finite().map_or(0, |f| f.digits.len() * 2)
    }
}

impl Type for Numeric {
    fn type_ref() -> TypeRef {
        TypeRef::Oid(Oid::NUMERIC)
    }
}

impl Encode for Numeric {
    fn encode(&self, buf: &mut EncodeBuf) -> Result<IsNull, EncodeError> {
        if self.is_infinite() {
            // Refused by the connection with this message, rather than by an older server
            // with "invalid sign in external numeric value".
            buf.needs_server(
                14,
                "numeric `Infinity` and `-Infinity` exist only from PostgreSQL 14 on; \
                 send a finite value, or NULL",
            );
        }
        self.write_binary(buf)?;
        Ok(IsNull::No)
    }
    fn param_type(&self) -> TypeRef {
        <Numeric as Type>::type_ref()
    }
    fn size_hint(&self) -> usize {
        self.binary_len()
    }
}

impl<'r> Decode<'r> for Numeric {
    fn decode(value: ValueRef<'r>) -> Result<Self, DecodeError> {
        let bytes = value.non_null::<Numeric>()?;
        match value.format() {
            Format::Binary => Numeric::from_binary(bytes),
            Format::Text => Ok(read::utf8(bytes, "numeric")?.parse()?),
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::{NUMERIC_CASES, numeric_extreme_cases};
    use super::*;
    use crate::types::read::testing::{bin, encode, hex, text};

    fn n(s: &str) -> Numeric {
        s.parse().unwrap()
    }

    /// (`::text`, `numeric_send`) pairs recorded from PostgreSQL 15.
    const GOLDENS: &[(&str, &str)] = &[
        ("0", "\\x0000000000000000"),
        ("0.0", "\\x0000000000000001"),
        ("0.00", "\\x0000000000000002"),
        ("0.0001", "\\x0001ffff000000040001"),
        ("10000.0001", "\\x0003000100000004000100000001"),
        ("1", "\\x00010000000000000001"),
        ("-1", "\\x00010000400000000001"),
        ("1.5", "\\x000200000000000100011388"),
        ("-0.5", "\\x0001ffff400000011388"),
        (
            "123456789.123456789",
            "\\x0006000200000009000109291a8504d2162e2328",
        ),
        ("0.0000000001", "\\x0001fffd0000000a0064"),
        ("100", "\\x00010000000000000064"),
        ("10000", "\\x00010001000000000001"),
        ("100000000000000000000", "\\x00010005000000000001"),
        ("-12.3400", "\\x0002000040000004000c0d48"),
        ("0.1", "\\x0001ffff0000000103e8"),
        ("1234.5678", "\\x000200000000000404d2162e"),
        ("9999", "\\x0001000000000000270f"),
        ("9999.9999", "\\x0002000000000004270f270f"),
        ("0.00001", "\\x0001fffe0000000503e8"),
        ("0.000010", "\\x0001fffe0000000603e8"),
        ("0.00005", "\\x0001fffe000000051388"),
        ("1500", "\\x000100000000000005dc"),
        ("15.0", "\\x0001000000000001000f"),
        (
            "0.000000000000000000000000000001",
            "\\x0001fff80000001e0064",
        ),
        (
            "99999999999999999999999999999.9999",
            "\\x00090007000000040009270f270f270f270f270f270f270f270f",
        ),
        (
            "12345678901234567890.12345678901234567890",
            "\\x000a00040000001404d2162e23340d801ed204d2162e23340d801ed2",
        ),
        (
            "-170141183460469231731687303715884105728",
            "\\x000a00094000000000aa0583209a01d5090d0c601c871bf620da1660",
        ),
        (
            "18446744073709551615",
            "\\x000500040000000007341a5802e103bb064f",
        ),
        (
            "-79228162514264337593543950335",
            "\\x00080007400000000007240c0659059210f1172f112b014f",
        ),
        (
            "0.12345678901234567890123456789",
            "\\x0008ffff0000001d04d2162e23340d801ed204d2162e2328",
        ),
        ("NaN", "\\x00000000c0000000"),
    ];

    #[test]
    fn goldens_both_ways() {
        for (text_form, golden) in GOLDENS {
            let bytes = hex(golden);
            assert_eq!(encode(&n(text_form)), bytes, "encode {text_form}");
            let decoded = bin::<Numeric>(Oid::NUMERIC, &bytes).unwrap();
            assert_eq!(decoded.to_string(), *text_form, "decode {golden}");
        }
    }

    // PostgreSQL 15 sends ±Infinity with display scale 0x20; we send 0, which numeric_recv accepts.
    #[test]
    fn infinities() {
        assert_eq!(
            bin::<Numeric>(Oid::NUMERIC, &hex("\\x00000000d0000020")),
            Ok(Numeric::INFINITY)
        );
        assert_eq!(
            bin::<Numeric>(Oid::NUMERIC, &hex("\\x00000000f0000020")),
            Ok(Numeric::NEG_INFINITY)
        );
        assert_eq!(encode(&Numeric::INFINITY), hex("\\x00000000d0000000"));
        assert_eq!(encode(&Numeric::NEG_INFINITY), hex("\\x00000000f0000000"));
    }

    // PostgreSQL 15: numeric_send of 10^-16383 and of the largest value
    // (131072 nines . 16383 nines): 36864 groups, an unsigned count, 73736 bytes.
    #[test]
    fn extremes() {
        assert_eq!(encode(&n("1e-16383")), hex("\\x0001f00000003fff000a"));
        assert_eq!(encode(&n("-1e131071")), hex("\\x00017fff4000000003e8"));
        let max = n(&numeric_extreme_cases()[3]);
        let bytes = encode(&max);
        assert_eq!(bytes.len(), 73_736);
        assert_eq!(
            bytes.get(..14),
            Some(&hex("\\x90007fff00003fff270f270f270f")[..])
        );
        assert_eq!(bytes.get(73_728..), Some(&hex("\\x270f270f270f2706")[..]));
        assert_eq!(max.size_hint(), bytes.len());
        assert_eq!(bin::<Numeric>(Oid::NUMERIC, &bytes), Ok(max));
    }

    #[test]
    fn cases_round_trip() {
        let cases = NUMERIC_CASES
            .iter()
            .map(|s| s.to_string())
            .chain(numeric_extreme_cases());
        for case in cases {
            let value = n(&case);
            assert_eq!(
                bin::<Numeric>(Oid::NUMERIC, &encode(&value)),
                Ok(value.clone())
            );
            assert_eq!(text::<Numeric>(Oid::NUMERIC, &case), Ok(value));
        }
    }

    // Regression: pgpq #79 (a leading fractional group of zero was dropped) and
    // sqlx #423 (wrong weight on encode).
    #[test]
    fn leading_zero_fraction_groups() {
        for (s, weight) in [
            ("0.0001", -1),
            ("0.00000001", -2),
            ("10000.0001", 1),
            ("0.000012345", -2),
        ] {
            let bytes = encode(&n(s));
            assert_eq!(bytes.get(2..4), Some(&i16::to_be_bytes(weight)[..]), "{s}");
            assert_eq!(bin::<Numeric>(Oid::NUMERIC, &bytes).unwrap().to_string(), s);
        }
    }

    #[test]
    fn non_normalized_input_is_accepted() {
        // Leading and trailing zero groups, as another server might send them: 0000 0001 0000 = 1.
        let bytes = hex("\\x000300010000000000000001 0000".replace(' ', "").as_str());
        assert_eq!(
            bin::<Numeric>(Oid::NUMERIC, &bytes).unwrap().to_string(),
            "1"
        );
        // Negative zero becomes zero.
        assert_eq!(
            bin::<Numeric>(Oid::NUMERIC, &hex("\\x0000000040000002"))
                .unwrap()
                .to_string(),
            "0.00"
        );
    }

    // Regression: sqlx #3015 (decode panicked on a short buffer).
    #[test]
    fn malformed_values_are_errors() {
        for (bytes, why) in [
            ("\\x", "empty"),
            ("\\x00010000000000", "short header"),
            ("\\x0001000000000000", "missing digits"),
            ("\\x00010000000000000001ff", "trailing byte"),
            ("\\x000200000000000000010001ff", "odd trailing byte"),
            ("\\x00010000000000002710", "digit 10000"),
            ("\\x0001000000000000ffff", "digit 0xffff"),
            ("\\x0000000080000000", "sign 0x8000"),
            ("\\x0000000000014000", "scale above 0x3fff"),
            ("\\x0001ffff000000001388", "0.5 with scale 0"),
            (
                "\\x00018000000000000001",
                "weight -32768 digit beyond scale",
            ),
            ("\\xffff000000000000", "65535 groups declared, none sent"),
        ] {
            let decoded = bin::<Numeric>(Oid::NUMERIC, &hex(bytes));
            assert!(decoded.is_err(), "{why}: {decoded:?}");
        }
    }

    /// Random numerics as (sign, integer digits, fraction digits, extra scale).
    fn numeric_parts() -> impl Strategy<Value = String> {
        ("-?", "[0-9]{0,45}", "[0-9]{0,45}").prop_map(|(sign, int, frac)| {
            let int = if int.is_empty() { "0".to_string() } else { int };
            if frac.is_empty() {
                format!("{sign}{int}")
            } else {
                format!("{sign}{int}.{frac}")
            }
        })
    }

    proptest! {
        #[test]
        fn binary_round_trip(s in numeric_parts()) {
            let value = n(&s);
            let bytes = encode(&value);
            let back = bin::<Numeric>(Oid::NUMERIC, &bytes).unwrap();
            prop_assert_eq!(back.to_string(), value.to_string());
            prop_assert_eq!(back, value);
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            let _ = bin::<Numeric>(Oid::NUMERIC, &bytes);
            let _ = text::<Numeric>(Oid::NUMERIC, &String::from_utf8_lossy(&bytes));
        }

        #[test]
        fn structured_garbage_never_panics(
            weight: i16,
            sign in prop_oneof![Just(0u16), Just(0x4000), Just(0xC000), any::<u16>()],
            scale in 0u16..0x4001,
            digits in proptest::collection::vec(0u16..10_001, 0..8),
        ) {
            let mut bytes = Vec::new();
            bytes.extend_from_slice(&u16::try_from(digits.len()).unwrap().to_be_bytes());
            bytes.extend_from_slice(&weight.to_be_bytes());
            bytes.extend_from_slice(&sign.to_be_bytes());
            bytes.extend_from_slice(&scale.to_be_bytes());
            for d in &digits {
                bytes.extend_from_slice(&d.to_be_bytes());
            }
            if let Ok(value) = bin::<Numeric>(Oid::NUMERIC, &bytes) {
                // Whatever decodes must print and re-encode to the same value.
                let again = n(&value.to_string());
                prop_assert_eq!(&again, &value);
                prop_assert_eq!(bin::<Numeric>(Oid::NUMERIC, &encode(&value)), Ok(value));
            }
        }
    }
}
