//! [`PgValue`]: any value as its raw bytes plus its type and format, for
//! reading types Quarry does not know and sending pre-encoded values.
//!
//! Also [`InvalidValue`], the error of the constructors that validate a value
//! before it can exist (`Array::from_vec`, `IpNetwork::new`, ...).

use std::borrow::Cow;
use std::fmt;

use super::{
    Decode, DecodeError, Encode, EncodeBuf, EncodeError, Format, IsNull, Oid, Type, TypeInfo,
    TypeRef, ValueRef,
};

/// A value with its raw bytes, its type and the format it is in.
///
/// Reading: `PgValue` decodes from every column, of any type, NULL or not,
/// binary or text. Sending: [`PgValue::binary`] sends bytes you encoded
/// yourself (in the type's binary `recv` format) with an explicit OID.
///
/// ```
/// use quarry_driver::types::{Oid, PgValue};
/// let v = PgValue::binary(Oid::INT4, 7i32.to_be_bytes());
/// assert_eq!(v.bytes(), Some(&[0, 0, 0, 7][..]));
/// ```
///
/// `Debug` shows the type, format and length, not the bytes (a value may be
/// sensitive); use [`PgValue::bytes`] to look at them.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PgValue {
    bytes: Option<Vec<u8>>,
    format: Format,
    ty: TypeInfo,
}

impl PgValue {
    /// A value of the built-in or known type `oid`, already in its binary format.
    pub fn binary(oid: Oid, bytes: impl Into<Vec<u8>>) -> PgValue {
        PgValue {
            bytes: Some(bytes.into()),
            format: Format::Binary,
            ty: TypeInfo::from_oid(oid),
        }
    }

    /// A NULL of type `oid`.
    pub fn null(oid: Oid) -> PgValue {
        PgValue {
            bytes: None,
            format: Format::Binary,
            ty: TypeInfo::from_oid(oid),
        }
    }

    /// A copy of a value as it arrived from the server.
    pub fn from_value_ref(value: ValueRef<'_>) -> PgValue {
        PgValue {
            bytes: value.bytes().map(<[u8]>::to_vec),
            format: value.format(),
            ty: value.type_info().clone(),
        }
    }

    /// The raw bytes, or `None` for NULL.
    pub fn bytes(&self) -> Option<&[u8]> {
        self.bytes.as_deref()
    }

    /// Takes the raw bytes out (`None` for NULL).
    pub fn into_bytes(self) -> Option<Vec<u8>> {
        self.bytes
    }

    /// Whether the value is NULL.
    pub fn is_null(&self) -> bool {
        self.bytes.is_none()
    }

    /// The format the bytes are in.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The value's type.
    pub fn type_info(&self) -> &TypeInfo {
        &self.ty
    }

    /// A borrowed view, as a decoder sees it.
    pub fn as_value_ref(&self) -> ValueRef<'_> {
        ValueRef::new(self.bytes.as_deref(), self.format, &self.ty)
    }

    /// Reads the value as `T`, after checking `T` accepts its type.
    pub fn decode_as<'a, T: Decode<'a> + Type>(&'a self) -> Result<T, DecodeError> {
        if !T::compatible(&self.ty) {
            return Err(DecodeError::new(format!(
                "value of type {} cannot be read as {}",
                self.ty.with_oid(),
                super::short_type_name::<T>()
            )));
        }
        T::decode(self.as_value_ref())
    }
}

impl fmt::Debug for PgValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("PgValue");
        d.field("type", &format_args!("{}", self.ty.with_oid()));
        d.field("format", &self.format);
        match &self.bytes {
            Some(b) => d.field("len", &b.len()),
            None => d.field("null", &true),
        };
        d.finish()
    }
}

impl Type for PgValue {
    /// No static type: each value says its own ([`Encode::param_type`]).
    fn type_ref() -> TypeRef {
        TypeRef::Unspecified
    }
    /// Every type.
    fn compatible(_: &TypeInfo) -> bool {
        true
    }
}

impl Encode for PgValue {
    fn encode(&self, buf: &mut EncodeBuf) -> Result<IsNull, EncodeError> {
        let Some(bytes) = &self.bytes else {
            return Ok(IsNull::Yes);
        };
        if self.format == Format::Text {
            return Err(EncodeError::new(format!(
                "this PgValue of type {} holds text; parameters are sent in binary, \
                 so build it with PgValue::binary",
                self.ty
            )));
        }
        buf.extend_from_slice(bytes);
        Ok(IsNull::No)
    }
    fn param_type(&self) -> TypeRef {
        TypeRef::Oid(self.ty.oid())
    }
    fn size_hint(&self) -> usize {
        self.bytes.as_ref().map_or(0, Vec::len)
    }
}

impl<'r> Decode<'r> for PgValue {
    /// Any value, including NULL (a NULL `PgValue`; use `Option<PgValue>` to get `None`).
    fn decode(value: ValueRef<'r>) -> Result<Self, DecodeError> {
        Ok(PgValue::from_value_ref(value))
    }
}

/// A value a constructor refused: what rule it broke.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidValue(Cow<'static, str>);

impl InvalidValue {
    pub(crate) fn new(message: impl Into<Cow<'static, str>>) -> InvalidValue {
        InvalidValue(message.into())
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for InvalidValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InvalidValue {}

impl From<InvalidValue> for EncodeError {
    fn from(e: InvalidValue) -> EncodeError {
        EncodeError::new(e.0)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use proptest::prelude::*;

    use super::super::Array;
    use super::super::container_golden::{ARRAYS, RECORDS, golden};
    use super::super::test_elements::{I32, Text, decode, encode};
    use super::*;

    #[test]
    fn reads_anything_and_re_decodes() {
        let g = golden(ARRAYS, "int4_2d");
        let v: PgValue = decode(Oid::INT4_ARRAY, Format::Binary, &g.bytes()).unwrap();
        assert_eq!(v.bytes(), Some(&g.bytes()[..]));
        assert_eq!(v.type_info().oid(), Oid::INT4_ARRAY);
        let a: Array<I32> = v.decode_as().unwrap();
        assert_eq!(a.dims(), &[2, 2]);
        let err = v.decode_as::<Vec<Text>>().unwrap_err();
        assert!(
            err.message().contains("cannot be read as Vec<Text>"),
            "{err}"
        );
        // Unknown types, NULLs, text.
        let ty = TypeInfo::from_oid(Oid(99999));
        let v = PgValue::decode(ValueRef::new(Some(b"x"), Format::Text, &ty)).unwrap();
        assert_eq!((v.format(), v.bytes()), (Format::Text, Some(&b"x"[..])));
        let v = PgValue::decode(ValueRef::new(None, Format::Binary, &ty)).unwrap();
        assert!(v.is_null());
        assert_eq!(
            <Option<PgValue>>::decode(ValueRef::new(None, Format::Binary, &ty)).unwrap(),
            None
        );
        // Fields of a record of any types.
        let g = golden(RECORDS, "int_text_null");
        let (a, b, c): (PgValue, PgValue, PgValue) =
            decode(Oid::RECORD, Format::Binary, &g.bytes()).unwrap();
        assert_eq!(
            (a.type_info().oid(), b.type_info().oid()),
            (Oid::INT4, Oid::TEXT)
        );
        assert!(c.is_null());
        assert_eq!(b.decode_as::<Text>().unwrap(), Text("a b".into()));
    }

    #[test]
    fn sends_raw_binary_with_its_oid() {
        let v = PgValue::binary(Oid::INT4, 5i32.to_be_bytes());
        assert_eq!(encode(&v), vec![0, 0, 0, 5]);
        assert_eq!(v.param_type(), TypeRef::Oid(Oid::INT4));
        assert_eq!(
            PgValue::null(Oid::TEXT)
                .encode(&mut EncodeBuf::new())
                .unwrap(),
            IsNull::Yes
        );
        let ty = TypeInfo::from_oid(Oid::TEXT);
        let text = PgValue::from_value_ref(ValueRef::new(Some(b"a"), Format::Text, &ty));
        assert!(text.encode(&mut EncodeBuf::new()).is_err());
        // An array of raw values takes its element type from them.
        let arr = vec![PgValue::binary(Oid::INT4, 5i32.to_be_bytes())];
        assert_eq!(arr.param_type(), TypeRef::Oid(Oid::INT4_ARRAY));
        assert_eq!(encode(&arr), golden(ARRAYS, "int4_one").bytes());
        let mixed = vec![
            PgValue::binary(Oid::INT4, [0; 4]),
            PgValue::binary(Oid::TEXT, *b"a"),
        ];
        assert!(mixed.encode(&mut EncodeBuf::new()).is_err());
    }

    #[test]
    fn debug_hides_the_bytes() {
        let v = PgValue::binary(Oid::TEXT, *b"secret");
        let shown = format!("{v:?}");
        assert!(!shown.contains("115"), "{shown}");
        assert!(shown.contains("len: 6"), "{shown}");
    }

    proptest! {
        #[test]
        fn round_trip(bytes in proptest::collection::vec(any::<u8>(), 0..32), oid in any::<u32>()) {
            let v = PgValue::binary(Oid(oid), bytes.clone());
            let back: PgValue = decode(Oid(oid), Format::Binary, &encode(&v)).unwrap();
            prop_assert_eq!(back, v);
        }
    }
}
