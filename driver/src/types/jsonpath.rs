//! [`JsonPath`] <-> `jsonpath` (the SQL/JSON path language, PostgreSQL 12+).
//!
//! Binary format (`jsonpath_send`): a version byte, 1, then the path's text. The server
//! normalizes what it stores (`$.a` prints as `$."a"`), so a path read back is the
//! server's spelling of the one sent.

use std::fmt;

use super::{
    Decode, DecodeError, Encode, EncodeBuf, EncodeError, Format, IsNull, Oid, Type, TypeRef,
    ValueRef,
};

/// The only binary version PostgreSQL writes and reads.
const VERSION: u8 = 1;

/// A `jsonpath` expression, kept as its text (`$."a"[*] ? (@ > 1)`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct JsonPath(pub String);

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for JsonPath {
    fn from(s: &str) -> JsonPath {
        JsonPath(s.to_owned())
    }
}

impl Type for JsonPath {
    fn type_ref() -> TypeRef {
        TypeRef::Oid(Oid::JSONPATH)
    }
}

impl Encode for JsonPath {
    fn encode(&self, buf: &mut EncodeBuf) -> Result<IsNull, EncodeError> {
        if self.0.contains('\0') {
            return Err(EncodeError::new(
                "a jsonpath cannot contain a NUL character (PostgreSQL text has none)",
            ));
        }
        buf.push(VERSION);
        buf.extend_from_slice(self.0.as_bytes());
        Ok(IsNull::No)
    }
    fn param_type(&self) -> TypeRef {
        Self::type_ref()
    }
    fn size_hint(&self) -> usize {
        self.0.len().saturating_add(1)
    }
}

impl<'r> Decode<'r> for JsonPath {
    fn decode(value: ValueRef<'r>) -> Result<Self, DecodeError> {
        let bytes = value.non_null::<Self>()?;
        let text = match value.format() {
            Format::Binary => match bytes.split_first() {
                Some((&VERSION, rest)) => rest,
                Some((v, _)) => {
                    return Err(DecodeError::new(format!(
                        "unsupported jsonpath binary version {v} (1 is known)"
                    )));
                }
                None => return Err(DecodeError::new("invalid jsonpath value: no version byte")),
            },
            Format::Text => bytes,
        };
        std::str::from_utf8(text)
            .map(|s| JsonPath(s.to_owned()))
            .map_err(|_| DecodeError::new("invalid jsonpath value: not UTF-8"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::read::testing::{bin, encode, text};

    #[test]
    fn version_byte_then_text() {
        let p = JsonPath::from("$.\"a\"");
        assert_eq!(encode(&p), b"\x01$.\"a\"");
        assert_eq!(
            bin::<JsonPath>(Oid::JSONPATH, b"\x01$.\"a\""),
            Ok(p.clone())
        );
        assert_eq!(text::<JsonPath>(Oid::JSONPATH, "$.\"a\""), Ok(p));
        assert!(bin::<JsonPath>(Oid::JSONPATH, b"\x02$").is_err());
        assert!(bin::<JsonPath>(Oid::JSONPATH, b"").is_err());
        assert!(JsonPath::from("$\0").encode(&mut EncodeBuf::new()).is_err());
    }
}
