//! Text: `String`, `&str`, `Box<str>`, `Arc<str>`, `Rc<str>`, `Cow<str>` and `char` <-> `text`.
//!
//! They are sent as `text` and read `text`, `varchar`, `bpchar` (`char(n)`,
//! with its padding), `name`, `unknown` and the `citext` extension type (by
//! name). Binary and text formats are the same bytes; the connection sets
//! `client_encoding=UTF8`, and bytes that are not UTF-8 are a decode error.
//! `&str` and `Cow<str>` borrow from the row without copying.
//!
//! PostgreSQL text cannot hold U+0000, so a string containing it is an
//! [`EncodeError`] before anything is sent.

use std::borrow::Cow;

use super::read;
use super::{
    Decode, DecodeError, Encode, EncodeBuf, EncodeError, IsNull, Oid, Type, TypeInfo, TypeRef,
    ValueRef,
};

/// Whether a column of type `ty` holds text that `String` and friends read.
fn is_text_type(ty: &TypeInfo) -> bool {
    match ty.oid() {
        Oid::TEXT | Oid::VARCHAR | Oid::BPCHAR | Oid::NAME | Oid::UNKNOWN => true,
        // `citext` is an extension type: its OID differs per database, so it is known by
        // name (the connection names a result's user types before handing out rows).
        _ if ty.is_builtin() => false,
        _ => ty
            .known_name()
            .is_some_and(|name| super::type_names_match(name, "citext")),
    }
}

/// Writes `s` as text, refusing U+0000.
fn encode_str(s: &str, buf: &mut EncodeBuf) -> Result<IsNull, EncodeError> {
    if let Some(at) = s.bytes().position(|b| b == 0) {
        return Err(EncodeError::new(format!(
            "text contains a NUL character (U+0000) at byte {at}; PostgreSQL text cannot store it \
             (remove it, or send the data as bytea)"
        )));
    }
    buf.extend_from_slice(s.as_bytes());
    Ok(IsNull::No)
}

/// The value as UTF-8 text, borrowed from the row.
fn decode_str<'r, T: ?Sized>(value: &ValueRef<'r>) -> Result<&'r str, DecodeError> {
    let bytes = value.non_null::<T>()?;
    // The type's name (a search of the built-in type table) is wanted only for the error.
    std::str::from_utf8(bytes).map_err(|e| read::utf8_error(&e, value.type_info().name()))
}

macro_rules! text_type {
    ($($rust:ty),*) => {$(
        impl Type for $rust {
            fn type_ref() -> TypeRef {
                TypeRef::Oid(Oid::TEXT)
            }
            fn compatible(ty: &TypeInfo) -> bool {
                is_text_type(ty)
            }
        }
    )*};
}

text_type!(str, String, Cow<'_, str>);

impl Encode for str {
    fn encode(&self, buf: &mut EncodeBuf) -> Result<IsNull, EncodeError> {
        encode_str(self, buf)
    }
    fn param_type(&self) -> TypeRef {
        TypeRef::Oid(Oid::TEXT)
    }
    fn size_hint(&self) -> usize {
        self.len()
    }
}

impl Encode for String {
    fn encode(&self, buf: &mut EncodeBuf) -> Result<IsNull, EncodeError> {
        encode_str(self, buf)
    }
    fn param_type(&self) -> TypeRef {
        TypeRef::Oid(Oid::TEXT)
    }
    fn size_hint(&self) -> usize {
        self.len()
    }
}

impl Encode for Cow<'_, str> {
    fn encode(&self, buf: &mut EncodeBuf) -> Result<IsNull, EncodeError> {
        encode_str(self, buf)
    }
    fn param_type(&self) -> TypeRef {
        TypeRef::Oid(Oid::TEXT)
    }
    fn size_hint(&self) -> usize {
        self.len()
    }
}

impl<'r> Decode<'r> for &'r str {
    fn decode(value: ValueRef<'r>) -> Result<Self, DecodeError> {
        decode_str::<&str>(&value)
    }
}

impl<'r> Decode<'r> for String {
    fn decode(value: ValueRef<'r>) -> Result<Self, DecodeError> {
        decode_str::<String>(&value).map(str::to_owned)
    }
}

impl<'r> Decode<'r> for Box<str> {
    fn decode(value: ValueRef<'r>) -> Result<Self, DecodeError> {
        decode_str::<Box<str>>(&value).map(Box::from)
    }
}

impl<'r> Decode<'r> for std::sync::Arc<str> {
    fn decode(value: ValueRef<'r>) -> Result<Self, DecodeError> {
        decode_str::<std::sync::Arc<str>>(&value).map(std::sync::Arc::from)
    }
}

impl<'r> Decode<'r> for std::rc::Rc<str> {
    fn decode(value: ValueRef<'r>) -> Result<Self, DecodeError> {
        decode_str::<std::rc::Rc<str>>(&value).map(std::rc::Rc::from)
    }
}

impl<'r> Decode<'r> for Cow<'r, str> {
    fn decode(value: ValueRef<'r>) -> Result<Self, DecodeError> {
        decode_str::<Cow<'_, str>>(&value).map(Cow::Borrowed)
    }
}

impl Type for char {
    fn type_ref() -> TypeRef {
        TypeRef::Oid(Oid::TEXT)
    }
    fn compatible(ty: &TypeInfo) -> bool {
        is_text_type(ty)
    }
}

impl Encode for char {
    fn encode(&self, buf: &mut EncodeBuf) -> Result<IsNull, EncodeError> {
        encode_str(self.encode_utf8(&mut [0; 4]), buf)
    }
    fn param_type(&self) -> TypeRef {
        TypeRef::Oid(Oid::TEXT)
    }
    fn size_hint(&self) -> usize {
        self.len_utf8()
    }
}

impl<'r> Decode<'r> for char {
    /// Exactly one character; anything longer or empty is an error (a
    /// `char(n)` column with `n > 1` keeps its padding and does not fit).
    fn decode(value: ValueRef<'r>) -> Result<Self, DecodeError> {
        let s = decode_str::<char>(&value)?;
        let mut chars = s.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) => Ok(c),
            _ => Err(DecodeError::new(format!(
                "{} value has {} characters; char holds exactly one (use String)",
                value.type_info().name(),
                s.chars().count()
            ))),
        }
    }
}

/// Strings that survive a round trip through `text` unchanged, for server tests.
#[cfg(test)]
pub(crate) const TEXT_CASES: &[&str] = &[
    "",
    "hello",
    "héllo ✓ 😀",
    " leading and trailing spaces ",
    "tab\tnewline\ncarriage\r",
    "backslash \\ quote ' double \"",
    "\u{1}\u{7f}\u{80}\u{7ff}\u{800}\u{ffff}\u{10000}\u{10ffff}",
    "\u{feff}byte order mark",
];

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::types::Format;
    use crate::types::read::testing::{bin, encode, hex, text};

    // Goldens from PostgreSQL 15's textsend/bpcharsend/namesend/varcharsend.
    #[test]
    fn goldens() {
        assert_eq!(
            encode("héllo ✓ 😀"),
            hex("\\x68c3a96c6c6f20e29c9320f09f9880")
        );
        assert_eq!(encode(""), hex("\\x"));
        assert_eq!(encode(&'x'), hex("\\x78"));
        assert_eq!(
            bin::<String>(Oid::TEXT, &hex("\\x68c3a96c6c6f20e29c9320f09f9880")).unwrap(),
            "héllo ✓ 😀"
        );
        assert_eq!(
            bin::<String>(Oid::BPCHAR, &hex("\\x61622020")).unwrap(),
            "ab  "
        );
        assert_eq!(
            bin::<String>(Oid::NAME, &hex("\\x70675f636c617373")).unwrap(),
            "pg_class"
        );
        assert_eq!(bin::<char>(Oid::VARCHAR, &hex("\\x78")), Ok('x'));
        assert_eq!(text::<String>(Oid::TEXT, "").unwrap(), "");
    }

    #[test]
    fn borrowed_forms_do_not_copy() {
        let bytes = b"borrowed".to_vec();
        let ty = TypeInfo::from_oid(Oid::TEXT);
        let value = ValueRef::new(Some(&bytes), Format::Binary, &ty);
        let s = <&str>::decode(value).unwrap();
        assert!(std::ptr::eq(s.as_ptr(), bytes.as_ptr()));
        let cow = Cow::<str>::decode(value).unwrap();
        assert!(matches!(cow, Cow::Borrowed(_)));
        assert_eq!(&*Box::<str>::decode(value).unwrap(), "borrowed");
    }

    #[test]
    fn nul_is_an_encode_error() {
        let mut buf = EncodeBuf::new();
        let err = "ab\0c".encode(&mut buf).unwrap_err();
        assert!(err.message().contains("NUL"), "{err}");
        assert!(err.message().contains("byte 2"), "{err}");
        assert!(String::from("\0").encode(&mut buf).is_err());
        assert!('\0'.encode(&mut buf).is_err());
        assert!(Cow::Borrowed("x\0").encode(&mut buf).is_err());
        assert!(buf.is_empty(), "nothing written on error");
    }

    #[test]
    fn invalid_utf8_is_a_decode_error() {
        let err = bin::<String>(Oid::TEXT, b"ok\xc3").unwrap_err();
        assert_eq!(
            err.message(),
            "text value is not valid UTF-8 (invalid byte at offset 2)"
        );
        assert!(
            bin::<&str>(Oid::TEXT, b"\xed\xa0\x80").is_err(),
            "surrogate"
        );
    }

    #[test]
    fn char_needs_one_character() {
        assert!(bin::<char>(Oid::TEXT, b"").is_err());
        assert!(bin::<char>(Oid::BPCHAR, b"ab").is_err());
        assert_eq!(bin::<char>(Oid::TEXT, "😀".as_bytes()), Ok('😀'));
    }

    #[test]
    fn compatible_types() {
        for oid in [
            Oid::TEXT,
            Oid::VARCHAR,
            Oid::BPCHAR,
            Oid::NAME,
            Oid::UNKNOWN,
        ] {
            assert!(String::compatible(&TypeInfo::from_oid(oid)), "{oid}");
            assert!(<&str>::compatible(&TypeInfo::from_oid(oid)), "{oid}");
        }
        assert!(String::compatible(&TypeInfo::with_name(
            Oid(16500),
            "citext"
        )));
        assert!(String::compatible(&TypeInfo::with_name(
            Oid(16500),
            "ext.citext"
        )));
        assert!(!String::compatible(&TypeInfo::with_name(
            Oid(16500),
            "mood"
        )));
        assert!(!String::compatible(&TypeInfo::from_oid(Oid::INT4)));
        assert!(!String::compatible(&TypeInfo::from_oid(Oid::CHAR)));
        assert!(!String::compatible(&TypeInfo::from_oid(Oid::JSON)));
    }

    #[test]
    fn cases_round_trip() {
        for case in TEXT_CASES {
            assert_eq!(bin::<String>(Oid::TEXT, &encode(*case)).unwrap(), *case);
        }
    }

    proptest! {
        #[test]
        fn round_trip(s in "[^\u{0}]*") {
            prop_assert_eq!(bin::<String>(Oid::TEXT, &encode(s.as_str())).unwrap(), s.clone());
            prop_assert_eq!(text::<String>(Oid::VARCHAR, &s).unwrap(), s);
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..16)) {
            let _ = bin::<String>(Oid::TEXT, &bytes);
            let _ = bin::<char>(Oid::TEXT, &bytes);
        }
    }
}
