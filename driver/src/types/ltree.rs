//! The `ltree` extension's types, as text newtypes: [`Ltree`] (a label path,
//! `a.b.c`), [`Lquery`] (a path pattern, `*.a|b.c*`) and [`Ltxtquery`] (a
//! full-text-style query over labels, `a & b*`).
//!
//! Binary format (`ltree_send`, `lquery_send`, `ltxtq_send`, ltree 1.2+):
//! a version byte (1) followed by the text. These are extension types, so
//! their OIDs differ per database: they are named ([`TypeRef::Named`]) and
//! the connection resolves them. Servers whose ltree predates binary I/O
//! (extension version < 1.2, PostgreSQL < 13) can only exchange them as text.

use std::fmt;

use super::{
    Decode, DecodeError, Encode, EncodeBuf, EncodeError, Format, IsNull, Type, TypeRef, ValueRef,
};

/// The only binary format version of the ltree types.
const VERSION: u8 = 1;

macro_rules! ltree_type {
    ($name:ident, $pg:literal, $doc:literal) => {
        #[doc = $doc]
        #[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub String);

        impl $name {
            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                $name(s)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                $name(s.to_owned())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl Type for $name {
            fn type_ref() -> TypeRef {
                TypeRef::Named($pg)
            }
        }

        impl Encode for $name {
            fn encode(&self, buf: &mut EncodeBuf) -> Result<IsNull, EncodeError> {
                if self.0.contains('\0') {
                    return Err(EncodeError::new(concat!(
                        $pg,
                        " value contains a NUL character"
                    )));
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

        impl<'r> Decode<'r> for $name {
            fn decode(value: ValueRef<'r>) -> Result<Self, DecodeError> {
                let bytes = value.non_null::<Self>()?;
                let text = match value.format() {
                    Format::Text => bytes,
                    Format::Binary => match bytes.split_first() {
                        Some((&VERSION, rest)) => rest,
                        Some((v, _)) => {
                            return Err(DecodeError::new(format!(
                                concat!("unsupported ", $pg, " binary format version {}"),
                                v
                            )));
                        }
                        None => {
                            return Err(DecodeError::new(concat!(
                                "invalid ",
                                $pg,
                                " value: missing version byte"
                            )));
                        }
                    },
                };
                std::str::from_utf8(text)
                    .map(|s| $name(s.to_owned()))
                    .map_err(|_| DecodeError::new(concat!("invalid ", $pg, " value: not UTF-8")))
            }
        }
    };
}

ltree_type!(
    Ltree,
    "ltree",
    "A label path (`ltree`, extension type), such as `Top.Science.Astronomy`."
);
ltree_type!(
    Lquery,
    "lquery",
    "A label path pattern (`lquery`, extension type), such as `*.Astronomy.*`."
);
ltree_type!(
    Ltxtquery,
    "ltxtquery",
    "A label search query (`ltxtquery`, extension type), such as `Europe & Russia*`."
);

#[cfg(test)]
pub(crate) mod tests {
    use proptest::prelude::*;

    use super::super::container_golden::{LTREE, golden};
    use super::super::test_elements::{decode, encode};
    use super::super::{Oid, TypeInfo};
    use super::*;

    /// The extension OIDs of the capture database (they differ per database).
    const LTREE_OID: Oid = Oid(16513);

    #[test]
    fn matches_the_server() {
        let g = golden(LTREE, "ltree");
        let v = Ltree::from("a.b.c");
        assert_eq!(encode(&v), g.bytes());
        assert_eq!(v.to_string(), g.text);
        assert_eq!(
            decode::<Ltree>(LTREE_OID, Format::Binary, &g.bytes()).unwrap(),
            v
        );
        assert_eq!(
            decode::<Ltree>(LTREE_OID, Format::Text, g.text.as_bytes()).unwrap(),
            v
        );
        let g = golden(LTREE, "ltree_empty");
        assert_eq!(encode(&Ltree::default()), g.bytes());
        let g = golden(LTREE, "lquery");
        assert_eq!(encode(&Lquery::from("*.a|b.c*")), g.bytes());
        assert_eq!(
            decode::<Lquery>(Oid(16567), Format::Binary, &g.bytes())
                .unwrap()
                .as_str(),
            g.text
        );
        let g = golden(LTREE, "ltxtquery");
        assert_eq!(encode(&Ltxtquery::from("a & b*")), g.bytes());
        assert_eq!(
            decode::<Ltxtquery>(Oid(16583), Format::Binary, &g.bytes())
                .unwrap()
                .as_str(),
            g.text
        );
    }

    #[test]
    fn types_and_errors() {
        assert_eq!(Ltree::type_ref(), TypeRef::Named("ltree"));
        assert!(Ltree::compatible(&TypeInfo::with_name(LTREE_OID, "ltree")));
        assert!(!Ltree::compatible(&TypeInfo::from_oid(Oid::TEXT)));
        let err = decode::<Ltree>(LTREE_OID, Format::Binary, b"\x02a").unwrap_err();
        assert_eq!(err.message(), "unsupported ltree binary format version 2");
        assert!(decode::<Ltree>(LTREE_OID, Format::Binary, b"").is_err());
        assert!(Ltree::from("a\0").encode(&mut EncodeBuf::new()).is_err());
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..16)) {
            let _ = decode::<Ltree>(LTREE_OID, Format::Binary, &bytes);
            let _ = decode::<Lquery>(LTREE_OID, Format::Text, &bytes);
        }
    }
}
