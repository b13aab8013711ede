//! `uuid::Uuid` <-> `uuid` (feature `uuid`, on by default).
//!
//! Binary format is the 16 bytes; text format is the hyphenated form
//! PostgreSQL prints (other forms the `uuid` crate accepts are read too).

use ::uuid::Uuid;

use super::read;
use super::{
    Decode, DecodeError, Encode, EncodeBuf, EncodeError, Format, IsNull, Oid, Type, TypeRef,
    ValueRef,
};

impl Type for Uuid {
    fn type_ref() -> TypeRef {
        TypeRef::Oid(Oid::UUID)
    }
}

impl Encode for Uuid {
    fn encode(&self, buf: &mut EncodeBuf) -> Result<IsNull, EncodeError> {
        buf.extend_from_slice(self.as_bytes());
        Ok(IsNull::No)
    }
    fn param_type(&self) -> TypeRef {
        <Uuid as Type>::type_ref()
    }
    fn size_hint(&self) -> usize {
        16
    }
}

impl<'r> Decode<'r> for Uuid {
    fn decode(value: ValueRef<'r>) -> Result<Self, DecodeError> {
        let bytes = value.non_null::<Uuid>()?;
        match value.format() {
            Format::Binary => Ok(Uuid::from_bytes(read::fixed(bytes, "uuid")?)),
            Format::Text => Uuid::try_parse(read::utf8(bytes, "uuid")?)
                .map_err(|_| DecodeError::new("uuid text value is not a UUID")),
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::types::read::testing::{bin, encode, hex, text};

    // Golden from PostgreSQL 15's uuid_send and `::text`.
    #[test]
    fn goldens() {
        let u = Uuid::from_u128(0xa0eebc99_9c0b_4ef8_bb6d_6bb9bd380a11);
        assert_eq!(encode(&u), hex("\\xa0eebc999c0b4ef8bb6d6bb9bd380a11"));
        assert_eq!(
            bin::<Uuid>(Oid::UUID, &hex("\\xa0eebc999c0b4ef8bb6d6bb9bd380a11")),
            Ok(u)
        );
        assert_eq!(
            text::<Uuid>(Oid::UUID, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
            Ok(u)
        );
        assert_eq!(
            u.hyphenated().to_string(),
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
        );
    }

    #[test]
    fn errors() {
        assert!(bin::<Uuid>(Oid::UUID, &[0; 15]).is_err());
        assert!(bin::<Uuid>(Oid::UUID, &[0; 17]).is_err());
        assert!(text::<Uuid>(Oid::UUID, "").is_err());
        assert!(text::<Uuid>(Oid::UUID, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1").is_err());
    }

    proptest! {
        #[test]
        fn round_trip(n: u128) {
            let u = Uuid::from_u128(n);
            prop_assert_eq!(bin::<Uuid>(Oid::UUID, &encode(&u)), Ok(u));
            prop_assert_eq!(text::<Uuid>(Oid::UUID, &u.to_string()), Ok(u));
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            let _ = bin::<Uuid>(Oid::UUID, &bytes);
            if let Ok(s) = std::str::from_utf8(&bytes) {
                let _ = text::<Uuid>(Oid::UUID, s);
            }
        }
    }
}
