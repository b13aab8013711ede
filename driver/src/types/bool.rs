//! `bool` <-> `bool`.

use super::{
    Decode, DecodeError, Encode, EncodeBuf, EncodeError, Format, IsNull, Oid, Type, TypeRef,
    ValueRef,
};

impl Type for bool {
    fn type_ref() -> TypeRef {
        TypeRef::Oid(Oid::BOOL)
    }
}

impl Encode for bool {
    fn encode(&self, buf: &mut EncodeBuf) -> Result<IsNull, EncodeError> {
        buf.push(u8::from(*self));
        Ok(IsNull::No)
    }
    fn param_type(&self) -> TypeRef {
        <bool as Type>::type_ref()
    }
    fn size_hint(&self) -> usize {
        1
    }
}

impl<'r> Decode<'r> for bool {
    /// Binary: one byte, 0 or 1. Text: `t` or `f`. Anything else is an error.
    fn decode(value: ValueRef<'r>) -> Result<Self, DecodeError> {
        let bytes = value.non_null::<bool>()?;
        match (value.format(), bytes) {
            (Format::Binary, [0]) | (Format::Text, b"f") => Ok(false),
            (Format::Binary, [1]) | (Format::Text, b"t") => Ok(true),
            (Format::Binary, _) => Err(DecodeError::new(
                "binary bool value must be one byte, 0 or 1",
            )),
            (Format::Text, _) => Err(DecodeError::new("bool text value must be `t` or `f`")),
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::types::read::testing::{bin, encode, hex, text};

    // Goldens from PostgreSQL 15's boolsend.
    #[test]
    fn goldens() {
        assert_eq!(encode(&true), hex("\\x01"));
        assert_eq!(encode(&false), hex("\\x00"));
        assert_eq!(bin::<bool>(Oid::BOOL, &hex("\\x01")), Ok(true));
        assert_eq!(bin::<bool>(Oid::BOOL, &hex("\\x00")), Ok(false));
        assert_eq!(text::<bool>(Oid::BOOL, "t"), Ok(true));
        assert_eq!(text::<bool>(Oid::BOOL, "f"), Ok(false));
    }

    #[test]
    fn rejects_garbage() {
        for bad in [&[][..], &[2], &[0, 1], &[0xff]] {
            assert!(bin::<bool>(Oid::BOOL, bad).is_err(), "{bad:?}");
        }
        for bad in ["", "true", "T", "1", "tt"] {
            assert!(text::<bool>(Oid::BOOL, bad).is_err(), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..4)) {
            let _ = bin::<bool>(Oid::BOOL, &bytes);
            if let Ok(s) = std::str::from_utf8(&bytes) {
                let _ = text::<bool>(Oid::BOOL, s);
            }
        }
    }
}
