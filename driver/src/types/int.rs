//! Integers: `i8` <-> `"char"`, `i16` <-> `int2`, `i32` <-> `int4`, `i64` <-> `int8`,
//! `u32` and [`Oid`] <-> `oid`.
//!
//! Each Rust type reads exactly one PostgreSQL type: no silent widening
//! (`int4` into `i64`) and no narrowing. Text-format values are parsed
//! strictly: an optional `-` and ASCII digits, as PostgreSQL prints them.

use super::read::{self, is_plain_integer};
use super::{
    Decode, DecodeError, Encode, EncodeBuf, EncodeError, Format, IsNull, Oid, Type, TypeRef,
    ValueRef,
};

macro_rules! int_codec {
    ($rust:ty, $oid:expr, $pg:literal, $len:literal, $signed:literal) => {
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
                    Format::Text => parse_int(read::utf8(bytes, $pg)?, $pg, $signed),
                }
            }
        }
    };
}

int_codec!(i16, Oid::INT2, "int2", 2, true);
int_codec!(i32, Oid::INT4, "int4", 4, true);
int_codec!(i64, Oid::INT8, "int8", 8, true);
int_codec!(u32, Oid::OID, "oid", 4, false);

/// Parses PostgreSQL's text form of an integer type.
fn parse_int<T: std::str::FromStr>(s: &str, pg: &str, signed: bool) -> Result<T, DecodeError> {
    if !is_plain_integer(s, signed) {
        return Err(DecodeError::new(format!(
            "{pg} text value is not a plain decimal integer"
        )));
    }
    s.parse()
        .map_err(|_| DecodeError::new(format!("{pg} text value is out of range")))
}

// `"char"`: PostgreSQL's internal one-byte type (not `char(n)`, which is `bpchar`).

impl Type for i8 {
    fn type_ref() -> TypeRef {
        TypeRef::Oid(Oid::CHAR)
    }
}

impl Encode for i8 {
    fn encode(&self, buf: &mut EncodeBuf) -> Result<IsNull, EncodeError> {
        buf.extend_from_slice(&self.to_be_bytes());
        Ok(IsNull::No)
    }
    fn param_type(&self) -> TypeRef {
        <i8 as Type>::type_ref()
    }
    fn size_hint(&self) -> usize {
        1
    }
}

impl<'r> Decode<'r> for i8 {
    /// Binary: the byte. Text: empty for `\0`, the byte itself when it is
    /// ASCII, and `\ooo` (three octal digits) for bytes with the high bit set,
    /// as PostgreSQL 15's `charout` prints them.
    fn decode(value: ValueRef<'r>) -> Result<Self, DecodeError> {
        let bytes = value.non_null::<i8>()?;
        let byte = match value.format() {
            Format::Binary => u8::from_be_bytes(read::fixed(bytes, "\"char\"")?),
            Format::Text => char_from_text(bytes)?,
        };
        Ok(i8::from_be_bytes([byte]))
    }
}

fn char_from_text(bytes: &[u8]) -> Result<u8, DecodeError> {
    match bytes {
        [] => Ok(0),
        [b] => Ok(*b),
        [b'\\', rest @ ..] if rest.len() == 3 && rest.iter().all(|b| (b'0'..=b'7').contains(b)) => {
            let value = rest
                .iter()
                .fold(0u32, |acc, d| acc * 8 + u32::from(d - b'0'));
            u8::try_from(value)
                .map_err(|_| DecodeError::new("\"char\" text value: octal escape above \\377"))
        }
        _ => Err(DecodeError::new(
            "\"char\" text value must be empty, one byte, or a \\ooo octal escape",
        )),
    }
}

impl Type for Oid {
    fn type_ref() -> TypeRef {
        TypeRef::Oid(Oid::OID)
    }
}

impl Encode for Oid {
    fn encode(&self, buf: &mut EncodeBuf) -> Result<IsNull, EncodeError> {
        self.0.encode(buf)
    }
    fn param_type(&self) -> TypeRef {
        <Oid as Type>::type_ref()
    }
    fn size_hint(&self) -> usize {
        4
    }
}

impl<'r> Decode<'r> for Oid {
    fn decode(value: ValueRef<'r>) -> Result<Self, DecodeError> {
        u32::decode(value).map(Oid)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::types::TypeInfo;
    use crate::types::read::testing::{bin, encode, hex, null, text};

    // Goldens from PostgreSQL 15's int2send/int4send/int8send/oidsend/charsend.
    #[test]
    fn goldens() {
        assert_eq!(encode(&i16::MIN), hex("\\x8000"));
        assert_eq!(encode(&i16::MAX), hex("\\x7fff"));
        assert_eq!(encode(&i32::MIN), hex("\\x80000000"));
        assert_eq!(encode(&i32::MAX), hex("\\x7fffffff"));
        assert_eq!(encode(&1i32), hex("\\x00000001"));
        assert_eq!(encode(&i64::MIN), hex("\\x8000000000000000"));
        assert_eq!(encode(&i64::MAX), hex("\\x7fffffffffffffff"));
        assert_eq!(encode(&u32::MAX), hex("\\xffffffff"));
        assert_eq!(encode(&Oid(u32::MAX)), hex("\\xffffffff"));
        assert_eq!(encode(&97i8), hex("\\x61"));
        assert_eq!(encode(&0i8), hex("\\x00"));
        assert_eq!(encode(&-1i8), hex("\\xff"));

        assert_eq!(bin::<i16>(Oid::INT2, &hex("\\x8000")), Ok(i16::MIN));
        assert_eq!(bin::<i32>(Oid::INT4, &hex("\\x7fffffff")), Ok(i32::MAX));
        assert_eq!(
            bin::<i64>(Oid::INT8, &hex("\\x8000000000000000")),
            Ok(i64::MIN)
        );
        assert_eq!(bin::<u32>(Oid::OID, &hex("\\xffffffff")), Ok(u32::MAX));
        assert_eq!(bin::<Oid>(Oid::OID, &hex("\\xffffffff")), Ok(Oid(u32::MAX)));
        assert_eq!(bin::<i8>(Oid::CHAR, &hex("\\x80")), Ok(i8::MIN));
    }

    // Text forms as PostgreSQL 15 prints them.
    #[test]
    fn text_format() {
        assert_eq!(text::<i16>(Oid::INT2, "-32768"), Ok(i16::MIN));
        assert_eq!(text::<i32>(Oid::INT4, "2147483647"), Ok(i32::MAX));
        assert_eq!(text::<i64>(Oid::INT8, "-9223372036854775808"), Ok(i64::MIN));
        assert_eq!(text::<u32>(Oid::OID, "4294967295"), Ok(u32::MAX));
        assert_eq!(text::<Oid>(Oid::OID, "26"), Ok(Oid::OID));
        assert_eq!(text::<i8>(Oid::CHAR, "a"), Ok(97));
        assert_eq!(text::<i8>(Oid::CHAR, ""), Ok(0));
        assert_eq!(text::<i8>(Oid::CHAR, "\\377"), Ok(-1));
        assert_eq!(text::<i8>(Oid::CHAR, "\\200"), Ok(i8::MIN));
        assert_eq!(text::<i8>(Oid::CHAR, "\\"), Ok(92));
    }

    #[test]
    fn text_format_is_strict() {
        for bad in ["", "+1", " 1", "1 ", "1.0", "1e3", "0x1", "--1", "１"] {
            assert!(text::<i32>(Oid::INT4, bad).is_err(), "{bad:?}");
        }
        assert!(text::<i16>(Oid::INT2, "32768").is_err());
        assert!(text::<i16>(Oid::INT2, "-32769").is_err());
        assert!(text::<u32>(Oid::OID, "-1").is_err());
        assert!(text::<u32>(Oid::OID, "4294967296").is_err());
        assert!(text::<i8>(Oid::CHAR, "ab").is_err());
        assert!(text::<i8>(Oid::CHAR, "\\400").is_err());
        assert!(text::<i8>(Oid::CHAR, "\\38").is_err());
        assert!(text::<i32>(Oid::INT4, "\u{ff}").is_err());
    }

    #[test]
    fn wrong_lengths_and_null() {
        assert_eq!(
            bin::<i32>(Oid::INT4, &[0, 0, 0]).unwrap_err().message(),
            "binary int4 value must be 4 bytes, got 3"
        );
        assert!(bin::<i64>(Oid::INT8, &[0; 9]).is_err());
        assert!(bin::<i16>(Oid::INT2, &[]).is_err());
        assert!(bin::<i8>(Oid::CHAR, &[1, 2]).is_err());
        assert_eq!(
            null::<i32>(Oid::INT4).unwrap_err().message(),
            "value is NULL; use Option<i32>"
        );
        assert_eq!(null::<Option<i64>>(Oid::INT8), Ok(None));
    }

    #[test]
    fn types_are_precise() {
        let int8 = TypeInfo::from_oid(Oid::INT8);
        let int4 = TypeInfo::from_oid(Oid::INT4);
        assert!(i64::compatible(&int8));
        assert!(!i64::compatible(&int4), "no silent widening");
        assert!(!i32::compatible(&int8));
        assert!(u32::compatible(&TypeInfo::from_oid(Oid::OID)));
        assert!(i8::compatible(&TypeInfo::from_oid(Oid::CHAR)));
        assert!(!i8::compatible(&TypeInfo::from_oid(Oid::INT2)));
    }

    proptest! {
        #[test]
        fn round_trip(a: i16, b: i32, c: i64, d: u32, e: i8) {
            prop_assert_eq!(bin::<i16>(Oid::INT2, &encode(&a)), Ok(a));
            prop_assert_eq!(bin::<i32>(Oid::INT4, &encode(&b)), Ok(b));
            prop_assert_eq!(bin::<i64>(Oid::INT8, &encode(&c)), Ok(c));
            prop_assert_eq!(bin::<u32>(Oid::OID, &encode(&d)), Ok(d));
            prop_assert_eq!(bin::<i8>(Oid::CHAR, &encode(&e)), Ok(e));
            prop_assert_eq!(text::<i16>(Oid::INT2, &a.to_string()), Ok(a));
            prop_assert_eq!(text::<i32>(Oid::INT4, &b.to_string()), Ok(b));
            prop_assert_eq!(text::<i64>(Oid::INT8, &c.to_string()), Ok(c));
            prop_assert_eq!(text::<u32>(Oid::OID, &d.to_string()), Ok(d));
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..12)) {
            let _ = bin::<i16>(Oid::INT2, &bytes);
            let _ = bin::<i32>(Oid::INT4, &bytes);
            let _ = bin::<i64>(Oid::INT8, &bytes);
            let _ = bin::<i8>(Oid::CHAR, &bytes);
            let ty = TypeInfo::from_oid(Oid::INT8);
            let _ = i64::decode(ValueRef::new(Some(&bytes), Format::Text, &ty));
            let _ = i8::decode(ValueRef::new(Some(&bytes), Format::Text, &ty));
            let _ = u32::decode(ValueRef::new(Some(&bytes), Format::Text, &ty));
        }
    }
}
