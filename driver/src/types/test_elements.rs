//! Test-only element types for the container codecs.
//!
//! The real `i32`/`i64`/`i16`/`String` codecs belong to the scalar families; these
//! stand-ins let the array, range and record tests run without them and
//! without duplicate impls at merge time.

use super::range::RangeSubtype;
use super::{
    Decode, DecodeError, Encode, EncodeBuf, EncodeError, Format, IsNull, Oid, Type, TypeRef,
    ValueRef,
};

fn text_of<'r, T>(value: &ValueRef<'r>) -> Result<&'r str, DecodeError> {
    std::str::from_utf8(value.non_null::<T>()?).map_err(|e| DecodeError::new(e.to_string()))
}

macro_rules! test_int {
    ($name:ident, $int:ty, $oid:expr) => {
        /// A test-only stand-in for the scalar family's integer codec.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub(crate) struct $name(pub(crate) $int);

        impl Type for $name {
            fn type_ref() -> TypeRef {
                TypeRef::Oid($oid)
            }
        }

        impl Encode for $name {
            fn encode(&self, buf: &mut EncodeBuf) -> Result<IsNull, EncodeError> {
                buf.extend_from_slice(&self.0.to_be_bytes());
                Ok(IsNull::No)
            }
            fn param_type(&self) -> TypeRef {
                Self::type_ref()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Display::fmt(&self.0, f)
            }
        }

        impl<'r> Decode<'r> for $name {
            fn decode(value: ValueRef<'r>) -> Result<Self, DecodeError> {
                match value.format() {
                    Format::Binary => {
                        let bytes = value.non_null::<Self>()?;
                        let arr = bytes.try_into().map_err(|_| {
                            DecodeError::new(format!(
                                "{} needs {} bytes, got {}",
                                stringify!($name),
                                std::mem::size_of::<$int>(),
                                bytes.len()
                            ))
                        })?;
                        Ok($name(<$int>::from_be_bytes(arr)))
                    }
                    Format::Text => text_of::<Self>(&value)?
                        .parse()
                        .map($name)
                        .map_err(|e| DecodeError::new(format!("{e}"))),
                }
            }
        }
    };
}

test_int!(I16, i16, Oid::INT2);
test_int!(I32, i32, Oid::INT4);
test_int!(I64, i64, Oid::INT8);

impl RangeSubtype for I32 {
    fn range_type() -> TypeRef {
        TypeRef::Oid(Oid::INT4RANGE)
    }
    fn multirange_type() -> TypeRef {
        TypeRef::Oid(Oid::INT4MULTIRANGE)
    }
}

impl RangeSubtype for I64 {
    fn range_type() -> TypeRef {
        TypeRef::Oid(Oid::INT8RANGE)
    }
    fn multirange_type() -> TypeRef {
        TypeRef::Oid(Oid::INT8MULTIRANGE)
    }
}

/// Test-only: text as the bound of `tsrange`, to read bounds verbatim.
impl RangeSubtype for Text {
    fn range_type() -> TypeRef {
        TypeRef::Oid(Oid::TSRANGE)
    }
    fn multirange_type() -> TypeRef {
        TypeRef::Oid(Oid::TSMULTIRANGE)
    }
}

/// A test-only stand-in for `String` <-> `text`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Text(pub(crate) String);

impl Type for Text {
    fn type_ref() -> TypeRef {
        TypeRef::Oid(Oid::TEXT)
    }
}

impl Encode for Text {
    fn encode(&self, buf: &mut EncodeBuf) -> Result<IsNull, EncodeError> {
        buf.extend_from_slice(self.0.as_bytes());
        Ok(IsNull::No)
    }
    fn param_type(&self) -> TypeRef {
        Self::type_ref()
    }
}

impl std::fmt::Display for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'r> Decode<'r> for Text {
    fn decode(value: ValueRef<'r>) -> Result<Self, DecodeError> {
        text_of::<Self>(&value).map(|s| Text(s.to_owned()))
    }
}

/// A test-only element 64 KiB wide: a decoder that reserved room for a claimed
/// element count before checking the bytes would ask for terabytes and abort.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Wide(pub(crate) Box<[u8; 1 << 16]>, pub(crate) [u8; 1 << 16]);

impl Type for Wide {
    fn type_ref() -> TypeRef {
        TypeRef::Oid(Oid::INT4)
    }
}

impl<'r> Decode<'r> for Wide {
    fn decode(value: ValueRef<'r>) -> Result<Self, DecodeError> {
        value.non_null::<Self>()?;
        Err(DecodeError::new("Wide is never decoded in tests"))
    }
}

impl RangeSubtype for Wide {
    fn range_type() -> TypeRef {
        TypeRef::Oid(Oid::INT4RANGE)
    }
    fn multirange_type() -> TypeRef {
        TypeRef::Oid(Oid::INT4MULTIRANGE)
    }
}

/// A test-only user type known by name (an enum, say), to check OID placeholders.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Mood(pub(crate) String);

impl Type for Mood {
    fn type_ref() -> TypeRef {
        TypeRef::Named("mood")
    }
}

impl Encode for Mood {
    fn encode(&self, buf: &mut EncodeBuf) -> Result<IsNull, EncodeError> {
        buf.extend_from_slice(self.0.as_bytes());
        Ok(IsNull::No)
    }
    fn param_type(&self) -> TypeRef {
        Self::type_ref()
    }
}

impl<'r> Decode<'r> for Mood {
    fn decode(value: ValueRef<'r>) -> Result<Self, DecodeError> {
        text_of::<Self>(&value).map(|s| Mood(s.to_owned()))
    }
}

/// Decodes the hex of a golden row (helper for hand-written hostile inputs).
pub(crate) fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("test hex is valid"))
        .collect()
}

/// Encodes a value the way the connection will: into a fresh buffer.
pub(crate) fn encode<T: Encode + ?Sized>(value: &T) -> Vec<u8> {
    let mut buf = EncodeBuf::new();
    assert_eq!(value.encode(&mut buf).expect("encodes"), IsNull::No);
    buf.into_parts().0
}

/// Decodes `bytes` in `format` as a value of the built-in type `oid`.
pub(crate) fn decode<T: for<'a> Decode<'a>>(
    oid: Oid,
    format: Format,
    bytes: &[u8],
) -> Result<T, DecodeError> {
    let ty = super::TypeInfo::from_oid(oid);
    T::decode(ValueRef::new(Some(bytes), format, &ty))
}

/// Every golden value, mutated and truncated, through every decoder of its family:
/// decoders must return (Ok or Err), never panic.
#[cfg(test)]
mod mutation_tests {
    use std::collections::BTreeMap;
    use std::net::IpAddr;

    use proptest::prelude::*;

    use super::super::container_golden::{
        ARRAYS, BITS, GEO, Golden, HSTORE, LSN, LTREE, NET, RANGES, RECORDS, TSEARCH, VECTORS, XML,
    };
    use super::super::*;
    use super::{I32, I64, Text};

    fn all() -> Vec<(&'static str, Golden)> {
        let tables: [(&str, &[Golden]); 12] = [
            ("arrays", ARRAYS),
            ("ranges", RANGES),
            ("records", RECORDS),
            ("net", NET),
            ("geo", GEO),
            ("bits", BITS),
            ("xml", XML),
            ("tsearch", TSEARCH),
            ("hstore", HSTORE),
            ("ltree", LTREE),
            ("lsn", LSN),
            ("vectors", VECTORS),
        ];
        tables
            .iter()
            .flat_map(|&(t, rows)| rows.iter().map(move |g| (t, *g)))
            .collect()
    }

    fn decode_all(table: &str, bytes: &[u8], format: Format) {
        fn d<T: for<'a> Decode<'a>>(oid: Oid, bytes: &[u8], format: Format) {
            let ty = TypeInfo::from_oid(oid);
            let _ = T::decode(ValueRef::new(Some(bytes), format, &ty));
        }
        match table {
            "arrays" => {
                d::<Array<Option<I32>>>(Oid::INT4_ARRAY, bytes, format);
                d::<Vec<Option<Text>>>(Oid::TEXT_ARRAY, bytes, format);
                d::<Array<Option<IpAddr>>>(Oid::INET_ARRAY, bytes, format);
                d::<Vec<Rect>>(Oid::BOX_ARRAY, bytes, format);
                d::<Vec<Range<I32>>>(Oid::INT4RANGE_ARRAY, bytes, format);
                d::<Vec<PgValue>>(Oid::INT4_ARRAY, bytes, format);
            }
            "ranges" => {
                d::<Range<I32>>(Oid::INT4RANGE, bytes, format);
                d::<Range<I64>>(Oid::INT8RANGE, bytes, format);
                d::<MultiRange<I32>>(Oid::INT4MULTIRANGE, bytes, format);
                d::<MultiRange<Text>>(Oid::TSMULTIRANGE, bytes, format);
            }
            "records" => {
                d::<(Option<I32>, Option<Text>, Option<I32>)>(Oid::RECORD, bytes, format);
                d::<(PgValue, PgValue)>(Oid::RECORD, bytes, format);
                d::<(Option<I32>, Option<(Option<PgLsn>, Option<I32>)>)>(
                    Oid::RECORD,
                    bytes,
                    format,
                );
            }
            "net" => {
                d::<IpNetwork>(Oid::INET, bytes, format);
                d::<IpAddr>(Oid::CIDR, bytes, format);
                d::<MacAddr>(Oid::MACADDR, bytes, format);
                d::<MacAddr8>(Oid::MACADDR8, bytes, format);
            }
            "geo" => {
                d::<Point>(Oid::POINT, bytes, format);
                d::<Line>(Oid::LINE, bytes, format);
                d::<LineSegment>(Oid::LSEG, bytes, format);
                d::<Rect>(Oid::BOX, bytes, format);
                d::<Path>(Oid::PATH, bytes, format);
                d::<Polygon>(Oid::POLYGON, bytes, format);
                d::<Circle>(Oid::CIRCLE, bytes, format);
            }
            "bits" => d::<BitString>(Oid::VARBIT, bytes, format),
            "xml" => d::<Xml>(Oid::XML, bytes, format),
            "tsearch" => {
                d::<TsVector>(Oid::TSVECTOR, bytes, format);
                d::<TsQuery>(Oid::TSQUERY, bytes, format);
            }
            "hstore" => d::<BTreeMap<String, Option<String>>>(Oid(16385), bytes, format),
            "ltree" => {
                d::<Ltree>(Oid(16513), bytes, format);
                d::<Lquery>(Oid(16567), bytes, format);
            }
            "lsn" => d::<PgLsn>(Oid::PG_LSN, bytes, format),
            _ => {
                d::<OidVector>(Oid::OIDVECTOR, bytes, format);
                d::<Int2Vector>(Oid::INT2VECTOR, bytes, format);
                d::<Vec<Oid>>(Oid::OIDVECTOR, bytes, format);
            }
        }
    }

    #[test]
    fn every_golden_decodes_in_every_family_decoder_without_panicking() {
        for (table, g) in all() {
            decode_all(table, &g.bytes(), Format::Binary);
            decode_all(table, g.text.as_bytes(), Format::Text);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        #[test]
        fn mutated_goldens_never_panic(
            row in any::<proptest::sample::Index>(),
            edits in proptest::collection::vec((any::<proptest::sample::Index>(), any::<u8>()), 1..4),
            cut in any::<proptest::sample::Index>(),
        ) {
            let rows = all();
            let (table, g) = rows[row.index(rows.len())];
            for (format, mut bytes) in [(Format::Binary, g.bytes()), (Format::Text, g.text.as_bytes().to_vec())] {
                if !bytes.is_empty() {
                    for (at, byte) in &edits {
                        let i = at.index(bytes.len());
                        bytes[i] = *byte;
                    }
                }
                decode_all(table, &bytes, format);
                bytes.truncate(cut.index(bytes.len() + 1));
                decode_all(table, &bytes, format);
            }
        }
    }
}
