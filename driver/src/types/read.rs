//! Checked reads shared by the scalar codecs: fixed-width binary values and
//! text-format values. Nothing here indexes server bytes.

use super::DecodeError;

/// Exactly `N` bytes of a binary value of PostgreSQL type `pg_type`.
pub(crate) fn fixed<const N: usize>(bytes: &[u8], pg_type: &str) -> Result<[u8; N], DecodeError> {
    <[u8; N]>::try_from(bytes).map_err(|_| {
        DecodeError::new(format!(
            "binary {pg_type} value must be {N} bytes, got {}",
            bytes.len()
        ))
    })
}

/// A value's bytes as UTF-8 text (text format, or a binary format that is text).
pub(crate) fn utf8<'a>(bytes: &'a [u8], pg_type: &str) -> Result<&'a str, DecodeError> {
    std::str::from_utf8(bytes).map_err(|e| utf8_error(&e, pg_type))
}

/// The error for a value of `pg_type` that is not UTF-8. Separate from [`utf8`] so that
/// a hot path can look up the type's name only when it fails.
pub(crate) fn utf8_error(e: &std::str::Utf8Error, pg_type: &str) -> DecodeError {
    DecodeError::new(format!(
        "{pg_type} value is not valid UTF-8 (invalid byte at offset {})",
        e.valid_up_to()
    ))
}

/// Whether `s` is a plain decimal integer: an optional `-`, then ASCII digits only.
///
/// PostgreSQL prints integers this way; `+`, spaces and underscores are rejected
/// so that a text value that is not what the server prints is noticed.
pub(crate) fn is_plain_integer(s: &str, allow_minus: bool) -> bool {
    let digits = match s.strip_prefix('-') {
        Some(rest) if allow_minus => rest,
        Some(_) => return false,
        None => s,
    };
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// Helpers for the codec unit tests: encode to bytes, decode from golden bytes.
#[cfg(test)]
pub(crate) mod testing {
    use crate::types::{
        Decode, DecodeError, Encode, EncodeBuf, Format, IsNull, Oid, TypeInfo, ValueRef,
    };

    /// The binary encoding of `value` (which must not be NULL).
    pub(crate) fn encode<T: Encode + ?Sized>(value: &T) -> Vec<u8> {
        let mut buf = EncodeBuf::new();
        assert_eq!(value.encode(&mut buf).expect("encodes"), IsNull::No);
        buf.into_parts().0
    }

    /// A `TypeInfo` that lives as long as the test needs (leaked; tests only).
    fn type_info(oid: Oid) -> &'static TypeInfo {
        Box::leak(Box::new(TypeInfo::from_oid(oid)))
    }

    /// Decodes binary `bytes` as a column of type `oid`.
    pub(crate) fn bin<'a, T: Decode<'a>>(oid: Oid, bytes: &'a [u8]) -> Result<T, DecodeError> {
        T::decode(ValueRef::new(Some(bytes), Format::Binary, type_info(oid)))
    }

    /// Decodes text-format `text` as a column of type `oid`.
    pub(crate) fn text<'a, T: Decode<'a>>(oid: Oid, text: &'a str) -> Result<T, DecodeError> {
        T::decode(ValueRef::new(
            Some(text.as_bytes()),
            Format::Text,
            type_info(oid),
        ))
    }

    /// Decodes a NULL of type `oid`.
    pub(crate) fn null<T: Decode<'static>>(oid: Oid) -> Result<T, DecodeError> {
        T::decode(ValueRef::new(None, Format::Binary, type_info(oid)))
    }

    /// Bytes from psql's bytea output (`\x0001ff`), as the goldens were recorded.
    pub(crate) fn hex(s: &str) -> Vec<u8> {
        let digits = s.strip_prefix("\\x").expect("golden starts with \\x");
        assert!(digits.len().is_multiple_of(2), "odd hex golden {s}");
        (0..digits.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).expect("hex golden"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_checks_length() {
        assert_eq!(fixed::<2>(&[1, 2], "int2").unwrap(), [1, 2]);
        let err = fixed::<2>(&[1, 2, 3], "int2").unwrap_err();
        assert_eq!(err.message(), "binary int2 value must be 2 bytes, got 3");
        assert!(fixed::<4>(&[], "int4").is_err());
    }

    #[test]
    fn utf8_reports_offset() {
        assert_eq!(utf8(b"ok", "text").unwrap(), "ok");
        let err = utf8(b"ab\xff", "text").unwrap_err();
        assert_eq!(
            err.message(),
            "text value is not valid UTF-8 (invalid byte at offset 2)"
        );
    }

    #[test]
    fn plain_integers() {
        assert!(is_plain_integer("0", true));
        assert!(is_plain_integer("-12", true));
        assert!(!is_plain_integer("-12", false));
        for bad in ["", "-", "+1", " 1", "1 ", "1_000", "0x10", "1.0"] {
            assert!(!is_plain_integer(bad, true), "{bad:?}");
        }
    }
}
