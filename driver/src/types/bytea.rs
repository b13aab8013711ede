//! Bytes: `Vec<u8>`, `&[u8]`, `Box<[u8]>`, `Arc<[u8]>`, `Rc<[u8]>`, `Cow<[u8]>`,
//! `bytes::Bytes` and `[u8; N]` <-> `bytea`.
//!
//! Binary format is the bytes themselves; `&[u8]` borrows them from the row.
//! Text format is `\x` and hex digits (PostgreSQL's default `bytea_output`) or
//! the older escape format (`bytea_output = escape`: `\\` and `\ooo` octal
//! escapes); both are decoded, but only into owned types, since the
//! decoded bytes are not in the row. `[u8; N]` requires exactly `N` bytes.
//!
//! `u8` deliberately implements none of the value traits, so `Vec<u8>` is
//! `bytea` while `Vec<T>` for other `T` is an array.

use bytes::Bytes;

use super::{
    Decode, DecodeError, Encode, EncodeBuf, EncodeError, Format, IsNull, Oid, Type, TypeRef,
    ValueRef,
};

fn encode_bytes(bytes: &[u8], buf: &mut EncodeBuf) -> Result<IsNull, EncodeError> {
    buf.extend_from_slice(bytes);
    Ok(IsNull::No)
}

/// The value's bytes: borrowed in binary format, decoded from text format.
fn decode_bytes<'r, T: ?Sized>(
    value: &ValueRef<'r>,
) -> Result<std::borrow::Cow<'r, [u8]>, DecodeError> {
    let bytes = value.non_null::<T>()?;
    match value.format() {
        Format::Binary => Ok(std::borrow::Cow::Borrowed(bytes)),
        Format::Text => parse_text(bytes).map(std::borrow::Cow::Owned),
    }
}

/// Decodes bytea's text format: hex (`\x0aff`) or escape (`a\\b\001`).
pub(crate) fn parse_text(text: &[u8]) -> Result<Vec<u8>, DecodeError> {
    match text.strip_prefix(b"\\x") {
        Some(hex) => parse_hex(hex),
        None => parse_escape(text),
    }
}

fn parse_hex(hex: &[u8]) -> Result<Vec<u8>, DecodeError> {
    if !hex.len().is_multiple_of(2) {
        return Err(DecodeError::new(
            "bytea hex text has an odd number of digits",
        ));
    }
    let nibble = |b: u8| -> Result<u8, DecodeError> {
        match b {
            b'0'..=b'9' => Ok(b - b'0'),
            b'a'..=b'f' => Ok(b - b'a' + 10),
            b'A'..=b'F' => Ok(b - b'A' + 10),
            _ => Err(DecodeError::new(
                "bytea hex text has a character that is not a hex digit",
            )),
        }
    };
    hex.chunks_exact(2)
        .map(|pair| match pair {
            [hi, lo] => Ok(nibble(*hi)? << 4 | nibble(*lo)?),
            _ => Err(DecodeError::new(
                "bytea hex text has an odd number of digits",
            )),
        })
        .collect()
}

fn parse_escape(text: &[u8]) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::with_capacity(text.len());
    let mut rest = text;
    while let Some((&b, tail)) = rest.split_first() {
        if b != b'\\' {
            out.push(b);
            rest = tail;
            continue;
        }
        match tail {
            [b'\\', after @ ..] => {
                out.push(b'\\');
                rest = after;
            }
            [
                a @ b'0'..=b'3',
                b @ b'0'..=b'7',
                c @ b'0'..=b'7',
                after @ ..,
            ] => {
                out.push((a - b'0') << 6 | (b - b'0') << 3 | (c - b'0'));
                rest = after;
            }
            _ => {
                return Err(DecodeError::new(
                    "bytea escape text has a backslash not followed by \\ or three octal digits",
                ));
            }
        }
    }
    Ok(out)
}

impl Type for [u8] {
    fn type_ref() -> TypeRef {
        TypeRef::Oid(Oid::BYTEA)
    }
}

impl Encode for [u8] {
    fn encode(&self, buf: &mut EncodeBuf) -> Result<IsNull, EncodeError> {
        encode_bytes(self, buf)
    }
    fn param_type(&self) -> TypeRef {
        TypeRef::Oid(Oid::BYTEA)
    }
    fn size_hint(&self) -> usize {
        self.len()
    }
}

impl<'r> Decode<'r> for &'r [u8] {
    /// Binary format only: text-format bytea must be decoded into an owned buffer.
    fn decode(value: ValueRef<'r>) -> Result<Self, DecodeError> {
        let bytes = value.non_null::<&[u8]>()?;
        match value.format() {
            Format::Binary => Ok(bytes),
            Format::Text => Err(DecodeError::new(
                "a text-format bytea value cannot be borrowed as &[u8]; decode into Vec<u8>",
            )),
        }
    }
}

macro_rules! owned_bytes {
    ($($rust:ty => $from:expr),*) => {$(
        impl Type for $rust {
            fn type_ref() -> TypeRef {
                TypeRef::Oid(Oid::BYTEA)
            }
        }

        impl Encode for $rust {
            fn encode(&self, buf: &mut EncodeBuf) -> Result<IsNull, EncodeError> {
                encode_bytes(self, buf)
            }
            fn param_type(&self) -> TypeRef {
                TypeRef::Oid(Oid::BYTEA)
            }
            fn size_hint(&self) -> usize {
                self.len()
            }
        }

        impl<'r> Decode<'r> for $rust {
            fn decode(value: ValueRef<'r>) -> Result<Self, DecodeError> {
                decode_bytes::<$rust>(&value).map($from)
            }
        }
    )*};
}

owned_bytes!(
    Vec<u8> => std::borrow::Cow::into_owned,
    Bytes => |cow| Bytes::from(cow.into_owned())
);

impl<'r> Decode<'r> for Box<[u8]> {
    fn decode(value: ValueRef<'r>) -> Result<Self, DecodeError> {
        decode_bytes::<Box<[u8]>>(&value).map(|cow| cow.into_owned().into_boxed_slice())
    }
}

impl<'r> Decode<'r> for std::sync::Arc<[u8]> {
    fn decode(value: ValueRef<'r>) -> Result<Self, DecodeError> {
        decode_bytes::<std::sync::Arc<[u8]>>(&value).map(|cow| std::sync::Arc::from(cow.as_ref()))
    }
}

impl<'r> Decode<'r> for std::rc::Rc<[u8]> {
    fn decode(value: ValueRef<'r>) -> Result<Self, DecodeError> {
        decode_bytes::<std::rc::Rc<[u8]>>(&value).map(|cow| std::rc::Rc::from(cow.as_ref()))
    }
}

impl Type for std::borrow::Cow<'_, [u8]> {
    fn type_ref() -> TypeRef {
        TypeRef::Oid(Oid::BYTEA)
    }
}

impl Encode for std::borrow::Cow<'_, [u8]> {
    fn encode(&self, buf: &mut EncodeBuf) -> Result<IsNull, EncodeError> {
        encode_bytes(self, buf)
    }
    fn param_type(&self) -> TypeRef {
        TypeRef::Oid(Oid::BYTEA)
    }
    fn size_hint(&self) -> usize {
        self.len()
    }
}

/// Borrowed from the row in binary format; owned when text format must be unescaped.
impl<'r> Decode<'r> for std::borrow::Cow<'r, [u8]> {
    fn decode(value: ValueRef<'r>) -> Result<Self, DecodeError> {
        decode_bytes::<std::borrow::Cow<'_, [u8]>>(&value)
    }
}

impl<const N: usize> Type for [u8; N] {
    fn type_ref() -> TypeRef {
        TypeRef::Oid(Oid::BYTEA)
    }
}

impl<const N: usize> Encode for [u8; N] {
    fn encode(&self, buf: &mut EncodeBuf) -> Result<IsNull, EncodeError> {
        encode_bytes(self, buf)
    }
    fn param_type(&self) -> TypeRef {
        TypeRef::Oid(Oid::BYTEA)
    }
    fn size_hint(&self) -> usize {
        N
    }
}

impl<'r, const N: usize> Decode<'r> for [u8; N] {
    /// Exactly `N` bytes; any other length is an error.
    fn decode(value: ValueRef<'r>) -> Result<Self, DecodeError> {
        let bytes = decode_bytes::<[u8; N]>(&value)?;
        <[u8; N]>::try_from(&*bytes).map_err(|_| {
            DecodeError::new(format!(
                "bytea value has {} bytes; [u8; {N}] needs exactly {N}",
                bytes.len()
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::types::TypeInfo;
    use crate::types::read::testing::{bin, encode, hex, text};

    // Goldens from PostgreSQL 15's byteasend and `::text` (hex and escape output).
    #[test]
    fn goldens() {
        assert_eq!(encode(&[0u8, 0xff, 0x10][..]), hex("\\x00ff10"));
        assert_eq!(encode(&vec![0u8, 0xff, 0x10]), hex("\\x00ff10"));
        assert_eq!(encode(&[0u8, 0xff, 0x10]), hex("\\x00ff10"));
        assert_eq!(encode(&Bytes::from_static(b"")), hex("\\x"));
        assert_eq!(
            bin::<Vec<u8>>(Oid::BYTEA, &hex("\\x00ff10")).unwrap(),
            [0, 0xff, 0x10]
        );
        assert_eq!(
            text::<Vec<u8>>(Oid::BYTEA, "\\x00ff10").unwrap(),
            [0, 0xff, 0x10]
        );
        assert_eq!(
            text::<Vec<u8>>(Oid::BYTEA, "\\x").unwrap(),
            Vec::<u8>::new()
        );
        assert_eq!(text::<Vec<u8>>(Oid::BYTEA, "\\x00FF").unwrap(), [0, 0xff]);
        // bytea_output = escape
        assert_eq!(
            text::<Vec<u8>>(Oid::BYTEA, "\\000\\377\\020\\\\'").unwrap(),
            [0, 0xff, 0x10, b'\\', b'\'']
        );
        assert_eq!(text::<Vec<u8>>(Oid::BYTEA, "abc").unwrap(), b"abc");
        assert_eq!(
            text::<Vec<u8>>(Oid::BYTEA, "\\177\\200").unwrap(),
            [0x7f, 0x80]
        );
        assert_eq!(text::<Vec<u8>>(Oid::BYTEA, "").unwrap(), Vec::<u8>::new());
    }

    #[test]
    fn all_owned_forms() {
        assert_eq!(
            text::<Bytes>(Oid::BYTEA, "\\x0102").unwrap(),
            Bytes::from_static(&[1, 2])
        );
        assert_eq!(&*text::<Box<[u8]>>(Oid::BYTEA, "\\x0102").unwrap(), [1, 2]);
        assert_eq!(text::<[u8; 2]>(Oid::BYTEA, "\\x0102").unwrap(), [1, 2]);
        assert_eq!(bin::<[u8; 0]>(Oid::BYTEA, &[]).unwrap(), [0u8; 0]);
        assert_eq!(bin::<&[u8]>(Oid::BYTEA, &[9, 8]).unwrap(), [9, 8]);
        assert!(Vec::<u8>::compatible(&TypeInfo::from_oid(Oid::BYTEA)));
        assert!(!Vec::<u8>::compatible(&TypeInfo::from_oid(Oid::TEXT)));
    }

    #[test]
    fn errors() {
        let err = bin::<[u8; 16]>(Oid::BYTEA, &[0; 15]).unwrap_err();
        assert_eq!(
            err.message(),
            "bytea value has 15 bytes; [u8; 16] needs exactly 16"
        );
        assert!(bin::<[u8; 2]>(Oid::BYTEA, &[0; 3]).is_err());
        assert!(text::<&[u8]>(Oid::BYTEA, "\\x00").is_err());
        for bad in [
            "\\x0",
            "\\x0g",
            "\\x 00",
            "\\",
            "a\\b",
            "\\400",
            "\\12",
            "\\x00\\x00",
        ] {
            assert!(text::<Vec<u8>>(Oid::BYTEA, bad).is_err(), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn round_trip(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            prop_assert_eq!(bin::<Vec<u8>>(Oid::BYTEA, &encode(&bytes)).unwrap(), bytes.clone());
            let hex_text: String = std::iter::once("\\x".to_string())
                .chain(bytes.iter().map(|b| format!("{b:02x}")))
                .collect();
            prop_assert_eq!(text::<Vec<u8>>(Oid::BYTEA, &hex_text).unwrap(), bytes.clone());
            let escape_text: String = bytes.iter().map(|b| format!("\\{b:03o}")).collect();
            prop_assert_eq!(text::<Vec<u8>>(Oid::BYTEA, &escape_text).unwrap(), bytes);
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..16)) {
            let _ = parse_text(&bytes);
            let _ = bin::<[u8; 4]>(Oid::BYTEA, &bytes);
        }
    }
}
