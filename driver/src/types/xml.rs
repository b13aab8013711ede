//! `xml` as [`Xml`], a string newtype.
//!
//! Binary format (`xml_send`): the document's text in the client encoding
//! (UTF-8 for Quarry connections), the same bytes as the text format. The
//! server checks that the text is well-formed XML; this codec only checks
//! that it is UTF-8 without NUL bytes.
//!
//! When a document has an XML declaration with an `encoding="..."`,
//! `xml_recv` decodes the bytes with that encoding instead of the client's:
//! leave it out (or say UTF-8), since Quarry always sends UTF-8.

use std::fmt;

use super::{
    Decode, DecodeError, Encode, EncodeBuf, EncodeError, IsNull, Oid, Type, TypeRef, ValueRef,
};

/// An XML document or content fragment (`xml`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Xml(pub String);

impl Xml {
    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Takes the text out.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl From<String> for Xml {
    fn from(s: String) -> Self {
        Xml(s)
    }
}

impl From<&str> for Xml {
    fn from(s: &str) -> Self {
        Xml(s.to_owned())
    }
}

impl fmt::Display for Xml {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Type for Xml {
    fn type_ref() -> TypeRef {
        TypeRef::Oid(Oid::XML)
    }
}

impl Encode for Xml {
    fn encode(&self, buf: &mut EncodeBuf) -> Result<IsNull, EncodeError> {
        if self.0.contains('\0') {
            return Err(EncodeError::new(
                "xml value contains a NUL character, which PostgreSQL text cannot hold",
            ));
        }
        buf.extend_from_slice(self.0.as_bytes());
        Ok(IsNull::No)
    }
    fn param_type(&self) -> TypeRef {
        Self::type_ref()
    }
    fn size_hint(&self) -> usize {
        self.0.len()
    }
}

impl<'r> Decode<'r> for Xml {
    /// Binary and text are the same bytes.
    fn decode(value: ValueRef<'r>) -> Result<Self, DecodeError> {
        let bytes = value.non_null::<Self>()?;
        std::str::from_utf8(bytes)
            .map(|s| Xml(s.to_owned()))
            .map_err(|e| DecodeError::new(format!("invalid xml value: not UTF-8 ({e})")))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use proptest::prelude::*;

    use super::super::Format;
    use super::super::container_golden::{XML, golden};
    use super::super::test_elements::{decode, encode};
    use super::*;

    #[test]
    fn matches_the_server() {
        for (name, text) in [
            ("element", "<a>é</a>"),
            ("content", "text &amp; <b>bold</b>"),
        ] {
            let g = golden(XML, name);
            let x = Xml::from(text);
            assert_eq!(encode(&x), g.bytes(), "{name}");
            assert_eq!(x.to_string(), g.text, "{name}");
            assert_eq!(
                decode::<Xml>(Oid::XML, Format::Binary, &g.bytes()).unwrap(),
                x
            );
            assert_eq!(
                decode::<Xml>(Oid::XML, Format::Text, g.text.as_bytes()).unwrap(),
                x
            );
        }
        assert!(Xml::from("a\0b").encode(&mut EncodeBuf::new()).is_err());
        assert!(decode::<Xml>(Oid::XML, Format::Binary, &[0xff]).is_err());
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..16)) {
            let _ = decode::<Xml>(Oid::XML, Format::Binary, &bytes);
        }
    }
}
