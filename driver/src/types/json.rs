//! JSON (feature `json`, on by default): `serde_json::Value`, `&RawValue`,
//! `Box<RawValue>` and [`Json<T>`] for any serde type.
//!
//! All of them are sent as `jsonb` (PostgreSQL casts `jsonb` to `json` on
//! assignment) and read both `json` and `jsonb`. Binary `jsonb` starts with a
//! format version byte, which must be 1; anything else is a decode error.
//! `jsonb` cannot store the escape `\u0000`, so a value whose JSON contains it
//! is an [`EncodeError`] before anything is sent.

use std::ops::{Deref, DerefMut};

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::read;
use super::{
    Decode, DecodeError, Encode, EncodeBuf, EncodeError, Format, IsNull, Oid, Type, TypeInfo,
    TypeRef, ValueRef, short_type_name,
};

/// The only binary `jsonb` format version PostgreSQL has defined.
const JSONB_VERSION: u8 = 1;

/// A value stored as JSON: `Json(my_struct)` encodes with serde as `jsonb`, and
/// decodes from `json` or `jsonb` with serde.
///
/// `Json<T>` borrows from the row when `T` does (`Json<&str>`, structs with
/// `#[serde(borrow)]` fields).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Json<T>(pub T);

/// Serializes as the wrapped value (transparent), so a row struct holding a `Json<T>`
/// can derive `Serialize` for an HTTP response.
impl<T: serde::Serialize> serde::Serialize for Json<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

/// Deserializes as the wrapped value (transparent).
impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for Json<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(deserializer).map(Json)
    }
}

impl<T> Json<T> {
    /// The wrapped value.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Json<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> DerefMut for Json<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

impl<T> From<T> for Json<T> {
    fn from(value: T) -> Json<T> {
        Json(value)
    }
}

fn is_json_type(ty: &TypeInfo) -> bool {
    matches!(ty.oid(), Oid::JSON | Oid::JSONB)
}

/// Writes the `jsonb` version byte and then `write`'s JSON, or nothing on error.
fn encode_jsonb(
    buf: &mut EncodeBuf,
    write: impl FnOnce(&mut Vec<u8>) -> Result<(), EncodeError>,
) -> Result<IsNull, EncodeError> {
    let start = buf.len();
    buf.push(JSONB_VERSION);
    let written = write(buf).and_then(|()| {
        let json = buf.get(start + 1..).unwrap_or_default();
        check_no_nul(json)
    });
    match written {
        Ok(()) => Ok(IsNull::No),
        Err(e) => {
            buf.truncate(start);
            Err(e)
        }
    }
}

/// Rejects what `jsonb` cannot store: a raw NUL byte or a `\u0000` escape.
fn check_no_nul(json: &[u8]) -> Result<(), EncodeError> {
    let mut bytes = json.iter().enumerate();
    while let Some((i, &b)) = bytes.next() {
        let nul = match b {
            0 => true,
            b'\\' => {
                let escape = json.get(i + 1..i + 6) == Some(&b"u0000"[..]);
                // Skip the escaped character, so `\\u0000` (an escaped backslash) is fine.
                bytes.next();
                escape
            }
            _ => false,
        };
        if nul {
            return Err(EncodeError::new(
                "JSON contains U+0000 (\\u0000), which jsonb cannot store",
            ));
        }
    }
    Ok(())
}

fn serialize_into<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    serde_json::to_writer(out, value)
        .map_err(|e| EncodeError::new(format!("could not serialize to JSON: {e}")))
}

/// The JSON text of a `json` or `jsonb` value in either format.
fn json_bytes<'r, T: ?Sized>(value: &ValueRef<'r>) -> Result<&'r [u8], DecodeError> {
    let bytes = value.non_null::<T>()?;
    if value.format() == Format::Text {
        return Ok(bytes);
    }
    match (value.type_info().oid(), bytes.split_first()) {
        (Oid::JSON, _) => Ok(bytes),
        (Oid::JSONB, Some((&JSONB_VERSION, json))) => Ok(json),
        (Oid::JSONB, Some((version, _))) => Err(DecodeError::new(format!(
            "binary jsonb value has format version {version}; only version {JSONB_VERSION} is known"
        ))),
        (Oid::JSONB, None) => Err(DecodeError::new("binary jsonb value is empty")),
        // A domain over json or jsonb: JSON text never starts with byte 1, jsonb always does.
        (_, Some((&JSONB_VERSION, json))) => Ok(json),
        (_, _) => Ok(bytes),
    }
}

fn deserialize_error<T: ?Sized>(e: &serde_json::Error) -> DecodeError {
    DecodeError::new(format!(
        "could not deserialize JSON into {}: {e}",
        short_type_name::<T>()
    ))
}

impl<T> Type for Json<T> {
    fn type_ref() -> TypeRef {
        TypeRef::Oid(Oid::JSONB)
    }
    fn compatible(ty: &TypeInfo) -> bool {
        is_json_type(ty)
    }
}

impl<T: Serialize> Encode for Json<T> {
    fn encode(&self, buf: &mut EncodeBuf) -> Result<IsNull, EncodeError> {
        encode_jsonb(buf, |out| serialize_into(&self.0, out))
    }
    fn param_type(&self) -> TypeRef {
        TypeRef::Oid(Oid::JSONB)
    }
}

impl<'r, T: Deserialize<'r>> Decode<'r> for Json<T> {
    fn decode(value: ValueRef<'r>) -> Result<Self, DecodeError> {
        let json = json_bytes::<Json<T>>(&value)?;
        serde_json::from_slice(json)
            .map(Json)
            .map_err(|e| deserialize_error::<T>(&e))
    }
}

impl Type for serde_json::Value {
    fn type_ref() -> TypeRef {
        TypeRef::Oid(Oid::JSONB)
    }
    fn compatible(ty: &TypeInfo) -> bool {
        is_json_type(ty)
    }
}

impl Encode for serde_json::Value {
    fn encode(&self, buf: &mut EncodeBuf) -> Result<IsNull, EncodeError> {
        encode_jsonb(buf, |out| serialize_into(self, out))
    }
    fn param_type(&self) -> TypeRef {
        TypeRef::Oid(Oid::JSONB)
    }
}

impl<'r> Decode<'r> for serde_json::Value {
    fn decode(value: ValueRef<'r>) -> Result<Self, DecodeError> {
        let json = json_bytes::<serde_json::Value>(&value)?;
        serde_json::from_slice(json).map_err(|e| deserialize_error::<serde_json::Value>(&e))
    }
}

impl Type for RawValue {
    fn type_ref() -> TypeRef {
        TypeRef::Oid(Oid::JSONB)
    }
    fn compatible(ty: &TypeInfo) -> bool {
        is_json_type(ty)
    }
}

impl Encode for RawValue {
    fn encode(&self, buf: &mut EncodeBuf) -> Result<IsNull, EncodeError> {
        encode_jsonb(buf, |out| {
            out.extend_from_slice(self.get().as_bytes());
            Ok(())
        })
    }
    fn param_type(&self) -> TypeRef {
        TypeRef::Oid(Oid::JSONB)
    }
    fn size_hint(&self) -> usize {
        self.get().len().saturating_add(1)
    }
}

impl<'r> Decode<'r> for &'r RawValue {
    /// Borrows the JSON text from the row (checked to be valid JSON, not copied).
    fn decode(value: ValueRef<'r>) -> Result<Self, DecodeError> {
        let json = read::utf8(json_bytes::<&RawValue>(&value)?, "json")?;
        serde_json::from_str(json).map_err(|e| deserialize_error::<RawValue>(&e))
    }
}

impl<'r> Decode<'r> for Box<RawValue> {
    fn decode(value: ValueRef<'r>) -> Result<Self, DecodeError> {
        let json = read::utf8(json_bytes::<Box<RawValue>>(&value)?, "json")?;
        serde_json::from_str(json).map_err(|e| deserialize_error::<RawValue>(&e))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;
    use serde_json::json;

    use super::*;
    use crate::types::read::testing::{bin, encode, hex, text};

    #[test]
    fn json_serializes_as_what_it_wraps() {
        let wrapped = Json(BTreeMap::from([("a", 1)]));
        assert_eq!(serde_json::to_string(&wrapped).unwrap(), r#"{"a":1}"#);
        let back: Json<BTreeMap<String, i32>> = serde_json::from_str(r#"{"b":2}"#).unwrap();
        assert_eq!(back.0, BTreeMap::from([("b".to_owned(), 2)]));
    }

    // Goldens from PostgreSQL 15's json_send/jsonb_send of `{"a": [1, 2.5, null]}`.
    const JSON_GOLDEN: &str = "\\x7b2261223a205b312c20322e352c206e756c6c5d7d";
    const JSONB_GOLDEN: &str = "\\x017b2261223a205b312c20322e352c206e756c6c5d7d";

    #[test]
    fn goldens() {
        let expected = json!({"a": [1, 2.5, null]});
        assert_eq!(
            bin::<serde_json::Value>(Oid::JSON, &hex(JSON_GOLDEN)).unwrap(),
            expected
        );
        assert_eq!(
            bin::<serde_json::Value>(Oid::JSONB, &hex(JSONB_GOLDEN)).unwrap(),
            expected
        );
        assert_eq!(
            text::<serde_json::Value>(Oid::JSONB, "{\"a\": \"é\", \"b\": 1}").unwrap(),
            json!({"a": "é", "b": 1})
        );
        // Encoding: the version byte, then serde_json's compact text.
        assert_eq!(
            encode(&json!({"a": [1, 2.5, null]})),
            b"\x01{\"a\":[1,2.5,null]}"
        );
        assert_eq!(encode(&Json(vec![1, 2])), b"\x01[1,2]");
        let raw = RawValue::from_string("{\"a\": [1, 2.5, null]}".into()).unwrap();
        assert_eq!(encode(&*raw), hex(JSONB_GOLDEN));
    }

    #[test]
    fn typed_and_borrowed() {
        let map: Json<BTreeMap<String, Vec<Option<f64>>>> =
            bin(Oid::JSONB, &hex(JSONB_GOLDEN)).unwrap();
        assert_eq!(map.0["a"], [Some(1.0), Some(2.5), None]);

        let bytes = hex(JSONB_GOLDEN);
        let ty = TypeInfo::from_oid(Oid::JSONB);
        let value = ValueRef::new(Some(&bytes), Format::Binary, &ty);
        let raw = <&RawValue>::decode(value).unwrap();
        assert_eq!(raw.get(), "{\"a\": [1, 2.5, null]}");
        assert!(
            std::ptr::eq(raw.get().as_ptr(), bytes[1..].as_ptr()),
            "borrowed"
        );
        let boxed = Box::<RawValue>::decode(value).unwrap();
        assert_eq!(boxed.get(), raw.get());

        let s: Json<&str> = text(Oid::JSON, "\"plain\"").unwrap();
        assert_eq!(s.0, "plain");
    }

    #[test]
    fn jsonb_version_is_checked() {
        let err = bin::<serde_json::Value>(Oid::JSONB, b"\x02{}").unwrap_err();
        assert_eq!(
            err.message(),
            "binary jsonb value has format version 2; only version 1 is known"
        );
        assert!(bin::<serde_json::Value>(Oid::JSONB, b"").is_err());
        assert!(
            bin::<Box<RawValue>>(Oid::JSONB, b"{}").is_err(),
            "missing version byte"
        );
        // A domain over jsonb (unknown OID): the version byte is recognised.
        assert_eq!(
            bin::<serde_json::Value>(Oid(20000), b"\x01[1]").unwrap(),
            json!([1])
        );
        assert_eq!(
            bin::<serde_json::Value>(Oid(20000), b"[1]").unwrap(),
            json!([1])
        );
    }

    #[test]
    fn decode_errors_name_the_type() {
        let err = text::<Json<u32>>(Oid::JSON, "\"x\"").unwrap_err();
        assert!(
            err.message()
                .starts_with("could not deserialize JSON into u32: "),
            "{err}"
        );
        assert!(text::<serde_json::Value>(Oid::JSON, "{").is_err());
        assert!(bin::<&RawValue>(Oid::JSON, b"\xff").is_err());
    }

    #[test]
    fn nul_is_an_encode_error() {
        let mut buf = EncodeBuf::new();
        buf.push(7);
        assert!(json!({"k": "a\u{0}b"}).encode(&mut buf).is_err());
        assert!(Json("\u{0}").encode(&mut buf).is_err());
        let raw = RawValue::from_string("\"\\u0000\"".into()).unwrap();
        assert!(raw.encode(&mut buf).is_err());
        assert_eq!(buf.as_bytes(), [7], "a failed value leaves nothing behind");
        // An escaped backslash followed by "u0000" is not a NUL.
        assert_eq!(encode(&json!("\\u0000")), b"\x01\"\\\\u0000\"");
    }

    #[test]
    fn compatible_types() {
        for oid in [Oid::JSON, Oid::JSONB] {
            assert!(serde_json::Value::compatible(&TypeInfo::from_oid(oid)));
            assert!(Json::<u8>::compatible(&TypeInfo::from_oid(oid)));
            assert!(<&RawValue>::compatible(&TypeInfo::from_oid(oid)));
        }
        assert!(!serde_json::Value::compatible(&TypeInfo::from_oid(
            Oid::TEXT
        )));
    }

    proptest! {
        #[test]
        fn round_trip(map in proptest::collection::btree_map("[^\u{0}]{0,8}", any::<i64>(), 0..6)) {
            let decoded: Json<BTreeMap<String, i64>> = bin(Oid::JSONB, &encode(&Json(&map))).unwrap();
            prop_assert_eq!(decoded.0, map);
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..24)) {
            let _ = bin::<serde_json::Value>(Oid::JSONB, &bytes);
            let _ = bin::<Box<RawValue>>(Oid::JSON, &bytes);
            let _ = check_no_nul(&bytes);
        }
    }
}
