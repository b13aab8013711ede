//! `oidvector` and `int2vector`: the one-dimensional, zero-based arrays the
//! system catalogs use (`pg_proc.proargtypes`, `pg_index.indkey`).
//!
//! On the wire they are arrays (`array_send` format, lower bound 0); as text
//! they are space-separated numbers (`1 2 3`). Read them as [`OidVector`] /
//! [`Int2Vector`], or as `Vec<Oid>` / `Vec<u32>` / `Vec<i16>` (the array
//! codec accepts both vector types for those elements).

use super::bounded::{Reader, wire_len};
use super::{
    Decode, DecodeError, Encode, EncodeBuf, EncodeError, Format, IsNull, Oid, Type, TypeInfo,
    TypeRef, ValueRef,
};

/// Splits the text form of a vector type into its numbers.
pub(crate) fn split_vector_text(text: &str) -> impl Iterator<Item = &str> {
    text.split_ascii_whitespace()
}

// --- Oid -------------------------------------------------------------------------------

// --- The vector types ------------------------------------------------------------------

/// An `oidvector`: a list of OIDs (argument types of a function, say).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct OidVector(pub Vec<Oid>);

/// An `int2vector`: a list of `int2` (column numbers of an index, say).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Int2Vector(pub Vec<i16>);

/// The shared codec: element type, width and text name.
trait VectorElem: Copy + std::str::FromStr {
    const VECTOR: Oid;
    const ARRAY: Oid;
    const ELEM: Oid;
    const NAME: &'static str;
    fn put(self, buf: &mut Vec<u8>);
    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError>;
    const WIDTH: usize;
}

impl VectorElem for Oid {
    const VECTOR: Oid = Oid::OIDVECTOR;
    const ARRAY: Oid = Oid::OID_ARRAY;
    const ELEM: Oid = Oid::OID;
    const NAME: &'static str = "oidvector";
    const WIDTH: usize = 4;
    fn put(self, buf: &mut Vec<u8>) {
        buf.extend_from_slice(&self.0.to_be_bytes());
    }
    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.u32().map(Oid)
    }
}

impl std::str::FromStr for Oid {
    type Err = std::num::ParseIntError;
    /// Parses the decimal form (`"23"`).
    fn from_str(s: &str) -> Result<Oid, Self::Err> {
        s.parse().map(Oid)
    }
}

impl VectorElem for i16 {
    const VECTOR: Oid = Oid::INT2VECTOR;
    const ARRAY: Oid = Oid::INT2_ARRAY;
    const ELEM: Oid = Oid::INT2;
    const NAME: &'static str = "int2vector";
    const WIDTH: usize = 2;
    fn put(self, buf: &mut Vec<u8>) {
        buf.extend_from_slice(&self.to_be_bytes());
    }
    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.i16()
    }
}

fn encode_vector<E: VectorElem>(buf: &mut EncodeBuf, elems: &[E]) -> Result<IsNull, EncodeError> {
    if elems.is_empty() {
        // array_recv turns an empty array into one with no dimensions, which
        // oidvectorrecv/int2vectorrecv then reject ("invalid oidvector data"):
        // checked against PostgreSQL 15 with both encodings.
        return Err(EncodeError::new(format!(
            "PostgreSQL cannot receive an empty {0} in binary; write ''::{0} in the SQL instead",
            E::NAME
        )));
    }
    // Exactly what the server sends: one dimension, lower bound 0.
    buf.extend_from_slice(&1i32.to_be_bytes());
    buf.extend_from_slice(&0i32.to_be_bytes());
    buf.extend_from_slice(&E::ELEM.0.to_be_bytes());
    buf.extend_from_slice(&wire_len(elems.len(), E::NAME)?.to_be_bytes());
    buf.extend_from_slice(&0i32.to_be_bytes());
    let width = wire_len(E::WIDTH, "an element")?.to_be_bytes();
    for &e in elems {
        buf.extend_from_slice(&width);
        e.put(buf);
    }
    Ok(IsNull::No)
}

fn decode_vector<E: VectorElem>(value: &ValueRef<'_>) -> Result<Vec<E>, DecodeError> {
    let bytes = value.non_null::<Vec<E>>()?;
    if value.format() == Format::Text {
        let text = std::str::from_utf8(bytes)
            .map_err(|e| DecodeError::new(format!("{} text is not UTF-8: {e}", E::NAME)))?;
        return split_vector_text(text)
            .map(|w| {
                w.parse::<E>()
                    .map_err(|_| DecodeError::new(format!("invalid {} element {w:?}", E::NAME)))
            })
            .collect();
    }
    let mut r = Reader::new(bytes, E::NAME);
    let ndim = r.i32()?;
    let has_null = r.i32()?;
    let elem = Oid(r.u32()?);
    if elem != E::ELEM {
        return Err(r.error(format_args!(
            "element type is OID {elem}, expected {}",
            E::ELEM
        )));
    }
    let count = match ndim {
        0 => 0,
        1 => {
            let len = r.i32()?;
            let _lower_bound = r.i32()?;
            usize::try_from(len).map_err(|_| r.error(format_args!("negative length {len}")))?
        }
        n => return Err(r.error(format_args!("has {n} dimensions, expected 1"))),
    };
    if has_null != 0 && count > 0 {
        return Err(r.error("contains NULL elements"));
    }
    r.check_fits(count, "elements", 4 + E::WIDTH)?;
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let len = r.i32()?;
        if usize::try_from(len).ok() != Some(E::WIDTH) {
            return Err(r.error(format_args!(
                "element {i} has length {len}, expected {}",
                E::WIDTH
            )));
        }
        out.push(E::read(&mut r)?);
    }
    r.finish()?;
    Ok(out)
}

fn vector_compatible<E: VectorElem>(ty: &TypeInfo) -> bool {
    ty.oid() == E::VECTOR || ty.oid() == E::ARRAY
}

macro_rules! vector_impl {
    ($name:ident, $elem:ty) => {
        impl Type for $name {
            fn type_ref() -> TypeRef {
                TypeRef::Oid(<$elem as VectorElem>::VECTOR)
            }
            /// The vector type, or the one-dimensional array of its element type.
            fn compatible(ty: &TypeInfo) -> bool {
                vector_compatible::<$elem>(ty)
            }
        }

        impl Encode for $name {
            fn encode(&self, buf: &mut EncodeBuf) -> Result<IsNull, EncodeError> {
                encode_vector(buf, &self.0)
            }
            fn param_type(&self) -> TypeRef {
                Self::type_ref()
            }
            fn size_hint(&self) -> usize {
                20 + self.0.len() * (4 + <$elem as VectorElem>::WIDTH)
            }
        }

        impl<'r> Decode<'r> for $name {
            fn decode(value: ValueRef<'r>) -> Result<Self, DecodeError> {
                decode_vector(&value).map($name)
            }
        }

        impl std::fmt::Display for $name {
            /// The PostgreSQL text form: space-separated numbers.
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                for (i, e) in self.0.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" ")?;
                    }
                    write!(f, "{e}")?;
                }
                Ok(())
            }
        }
    };
}

vector_impl!(OidVector, Oid);
vector_impl!(Int2Vector, i16);

#[cfg(test)]
pub(crate) mod tests {
    use super::super::Array;
    use super::super::container_golden::{VECTORS, golden};
    use super::super::test_elements::{I16, decode, encode};
    use super::*;

    #[test]
    fn oidvector_matches_the_server() {
        for (name, want) in [
            ("oidvector", vec![Oid(1), Oid(2), Oid(3)]),
            ("oidvector_empty", vec![]),
            ("oidvector_max", vec![Oid(u32::MAX), Oid(0)]),
        ] {
            let g = golden(VECTORS, name);
            let v = OidVector(want.clone());
            if want.is_empty() {
                // The server sends an empty vector but cannot receive one in binary.
                let err = v.encode(&mut EncodeBuf::new()).unwrap_err();
                assert!(
                    err.message().contains("cannot receive an empty oidvector"),
                    "{err}"
                );
            } else {
                assert_eq!(encode(&v), g.bytes(), "{name}: encode");
            }
            assert_eq!(v.to_string(), g.text, "{name}: display");
            let bin: OidVector = decode(Oid::OIDVECTOR, Format::Binary, &g.bytes()).unwrap();
            assert_eq!(bin.0, want, "{name}: binary");
            let txt: OidVector = decode(Oid::OIDVECTOR, Format::Text, g.text.as_bytes()).unwrap();
            assert_eq!(txt.0, want, "{name}: text");
            // The generic array codec reads it too.
            let vec: Vec<Oid> = decode(Oid::OIDVECTOR, Format::Binary, &g.bytes()).unwrap();
            assert_eq!(vec, want, "{name}: Vec<Oid> binary");
            let vec: Vec<Oid> = decode(Oid::OIDVECTOR, Format::Text, g.text.as_bytes()).unwrap();
            assert_eq!(vec, want, "{name}: Vec<Oid> text");
            assert!(<Vec<Oid>>::compatible(&TypeInfo::from_oid(Oid::OIDVECTOR)));
        }
        // The lower bound 0 is kept by Array.
        let g = golden(VECTORS, "oidvector");
        let a: Array<Oid> = decode(Oid::OIDVECTOR, Format::Binary, &g.bytes()).unwrap();
        assert_eq!(a.lower_bounds(), &[0]);
    }

    #[test]
    fn int2vector_matches_the_server() {
        for (name, want) in [
            ("int2vector", vec![1i16, -2, 3]),
            ("int2vector_empty", vec![]),
        ] {
            let g = golden(VECTORS, name);
            let v = Int2Vector(want.clone());
            if want.is_empty() {
                assert!(v.encode(&mut EncodeBuf::new()).is_err(), "{name}");
            } else {
                assert_eq!(encode(&v), g.bytes(), "{name}: encode");
            }
            assert_eq!(v.to_string(), g.text, "{name}: display");
            let bin: Int2Vector = decode(Oid::INT2VECTOR, Format::Binary, &g.bytes()).unwrap();
            assert_eq!(bin.0, want);
            let txt: Int2Vector = decode(Oid::INT2VECTOR, Format::Text, g.text.as_bytes()).unwrap();
            assert_eq!(txt.0, want);
            let vec: Vec<I16> = decode(Oid::INT2VECTOR, Format::Binary, &g.bytes()).unwrap();
            assert_eq!(vec.into_iter().map(|x| x.0).collect::<Vec<_>>(), want);
            let vec: Vec<I16> = decode(Oid::INT2VECTOR, Format::Text, g.text.as_bytes()).unwrap();
            assert_eq!(vec.into_iter().map(|x| x.0).collect::<Vec<_>>(), want);
        }
    }

    #[test]
    fn oid_scalar() {
        assert_eq!(encode(&Oid(23)), vec![0, 0, 0, 23]);
        let o: Oid = decode(Oid::OID, Format::Text, b"4294967295").unwrap();
        assert_eq!(o, Oid(u32::MAX));
        assert!(decode::<Oid>(Oid::OID, Format::Text, b"-1").is_err());
        assert!(decode::<Oid>(Oid::OID, Format::Binary, &[0, 0, 1]).is_err());
    }

    #[test]
    fn hostile_vectors_fail_cleanly() {
        for (what, hex) in VECTOR_HOSTILE {
            let bytes = super::super::test_elements::hex(hex);
            assert!(
                decode::<OidVector>(Oid::OIDVECTOR, Format::Binary, &bytes).is_err(),
                "{what}"
            );
        }
    }

    /// Malformed `oidvector` bodies: each must be a decode error.
    pub(crate) const VECTOR_HOSTILE: &[(&str, &str)] = &[
        (
            "2^31-1 elements, no body",
            "00000001 00000000 0000001a 7fffffff 00000000",
        ),
        (
            "two dimensions",
            "00000002 00000000 0000001a 00000001 00000000 00000001 00000000",
        ),
        (
            "wrong element type",
            "00000001 00000000 00000017 00000001 00000000 00000004 00000001",
        ),
        (
            "element of length 3",
            "00000001 00000000 0000001a 00000001 00000000 00000003 000000",
        ),
        (
            "NULL element",
            "00000001 00000001 0000001a 00000001 00000000 ffffffff",
        ),
        (
            "trailing byte",
            "00000001 00000000 0000001a 00000000 00000000 00",
        ),
    ];

    proptest::proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            let _ = decode::<OidVector>(Oid::OIDVECTOR, Format::Binary, &bytes);
            let _ = decode::<Int2Vector>(Oid::INT2VECTOR, Format::Binary, &bytes);
            let _ = decode::<OidVector>(Oid::OIDVECTOR, Format::Text, &bytes);
        }

        #[test]
        fn round_trip(v in proptest::collection::vec(proptest::num::u32::ANY, 1..20),
                      w in proptest::collection::vec(proptest::num::i16::ANY, 1..20)) {
            let ov = OidVector(v.into_iter().map(Oid).collect());
            let back: OidVector = decode(Oid::OIDVECTOR, Format::Binary, &encode(&ov)).unwrap();
            proptest::prop_assert_eq!(&back, &ov);
            let back: OidVector = decode(Oid::OIDVECTOR, Format::Text, ov.to_string().as_bytes()).unwrap();
            proptest::prop_assert_eq!(&back, &ov);
            let iv = Int2Vector(w);
            let back: Int2Vector = decode(Oid::INT2VECTOR, Format::Binary, &encode(&iv)).unwrap();
            proptest::prop_assert_eq!(back, iv);
        }
    }
}
