//! The `hstore` extension type as `HashMap<String, Option<String>>` or
//! `BTreeMap<String, Option<String>>` (a `None` value is SQL NULL).
//!
//! Binary format (`hstore_send`): pair count i32, then per pair the key
//! (i32 length, bytes; never NULL) and the value (i32 length or -1 for
//! NULL, bytes). Text (`hstore_out`): `"a"=>"1", "b"=>NULL`.
//!
//! `hstore` is an extension type whose OID differs per database, so it is
//! named ([`TypeRef::Named`]) and resolved by the connection. Every length
//! is checked against the bytes present (RUSTSEC-2026-0180 was an hstore
//! decoder that trusted them).

use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;

use super::bounded::{Reader, wire_len};
use super::{
    Decode, DecodeError, Encode, EncodeBuf, EncodeError, Format, IsNull, Type, TypeInfo, TypeRef,
    ValueRef, type_ref_accepts,
};

const HSTORE: TypeRef = TypeRef::Named("hstore");

fn put_str(buf: &mut Vec<u8>, s: &str, what: &str) -> Result<(), EncodeError> {
    if s.contains('\0') {
        return Err(EncodeError::new(format!(
            "hstore {what} contains a NUL character, which PostgreSQL text cannot hold"
        )));
    }
    buf.extend_from_slice(&wire_len(s.len(), "an hstore key or value")?.to_be_bytes());
    buf.extend_from_slice(s.as_bytes());
    Ok(())
}

fn encode_pairs<'a>(
    buf: &mut EncodeBuf,
    len: usize,
    pairs: impl Iterator<Item = (&'a String, &'a Option<String>)>,
) -> Result<IsNull, EncodeError> {
    buf.extend_from_slice(&wire_len(len, "an hstore")?.to_be_bytes());
    for (key, value) in pairs {
        put_str(buf, key, "key")?;
        match value {
            Some(v) => put_str(buf, v, "value")?,
            None => buf.extend_from_slice(&(-1i32).to_be_bytes()),
        }
    }
    Ok(IsNull::No)
}

fn utf8(bytes: &[u8], what: &str) -> Result<String, DecodeError> {
    String::from_utf8(bytes.to_vec())
        .map_err(|_| DecodeError::new(format!("invalid hstore value: {what} is not UTF-8")))
}

/// Reads every pair, in the order sent, calling `insert` for each.
fn decode_pairs(
    value: &ValueRef<'_>,
    mut insert: impl FnMut(String, Option<String>),
) -> Result<(), DecodeError> {
    let bytes = value.non_null::<HashMap<String, Option<String>>>()?;
    match value.format() {
        Format::Binary => {
            let mut r = Reader::new(bytes, "hstore");
            // Each pair takes at least a key length and a value length.
            let count = r.count("pairs", 8)?;
            for i in 0..count {
                let key = r
                    .value()?
                    .ok_or_else(|| r.error(format_args!("key {i} is NULL")))?;
                let key = utf8(key, "a key")?;
                let value = r.value()?.map(|v| utf8(v, "a value")).transpose()?;
                insert(key, value);
            }
            r.finish()
        }
        Format::Text => {
            let text = std::str::from_utf8(bytes)
                .map_err(|_| DecodeError::new("invalid hstore value: not UTF-8"))?;
            for (key, value) in parse_hstore_text(text)? {
                insert(key, value);
            }
            Ok(())
        }
    }
}

fn is_space(b: u8) -> bool {
    b.is_ascii_whitespace()
}

/// Parses `hstore_in` syntax: `key=>value` pairs separated by commas, keys
/// and values quoted with `"` or bare, `\` escaping, bare `NULL` (any case)
/// as a NULL value, an optional trailing comma.
pub(crate) fn parse_hstore_text(text: &str) -> Result<Vec<(String, Option<String>)>, DecodeError> {
    let bytes = text.as_bytes();
    let bad = |pos: usize, what: &str| {
        let shown: String = text.chars().take(64).collect();
        DecodeError::new(format!(
            "malformed hstore literal {shown:?}: {what} at byte {pos}"
        ))
    };
    let mut pos = 0;
    let skip = |pos: &mut usize| {
        while bytes.get(*pos).is_some_and(|&b| is_space(b)) {
            *pos += 1;
        }
    };
    // Reads a quoted or bare token; bare tokens end at whitespace or a byte in `stops`.
    let token = |pos: &mut usize, stops: &[u8]| -> Result<(String, bool), DecodeError> {
        let mut out = Vec::new();
        let quoted = bytes.get(*pos) == Some(&b'"');
        if quoted {
            *pos += 1;
        }
        loop {
            match bytes.get(*pos) {
                None if quoted => return Err(bad(*pos, "unterminated quoted string")),
                None => break,
                Some(b'"') if quoted => {
                    *pos += 1;
                    break;
                }
                Some(&b) if !quoted && (is_space(b) || stops.contains(&b)) => break,
                Some(b'\\') => {
                    let Some(&next) = bytes.get(*pos + 1) else {
                        return Err(bad(*pos, "unexpected end after \"\\\""));
                    };
                    out.push(next);
                    *pos += 2;
                }
                Some(&b) => {
                    out.push(b);
                    *pos += 1;
                }
            }
        }
        if !quoted && out.is_empty() {
            return Err(bad(*pos, "expected a key or value"));
        }
        // Only ASCII quote/backslash bytes were dropped from valid UTF-8.
        let s = String::from_utf8(out).map_err(|_| bad(*pos, "invalid UTF-8"))?;
        Ok((s, quoted))
    };
    let mut pairs = Vec::new();
    loop {
        skip(&mut pos);
        if pos >= bytes.len() {
            break;
        }
        let (key, _) = token(&mut pos, b"=,")?;
        skip(&mut pos);
        if bytes.get(pos..pos + 2) != Some(&b"=>"[..]) {
            return Err(bad(pos, "expected \"=>\""));
        }
        pos += 2;
        skip(&mut pos);
        let (value, quoted) = token(&mut pos, b",")?;
        let value = if !quoted && value.eq_ignore_ascii_case("NULL") {
            None
        } else {
            Some(value)
        };
        pairs.push((key, value));
        skip(&mut pos);
        match bytes.get(pos) {
            None => break,
            Some(b',') => pos += 1,
            Some(_) => return Err(bad(pos, "expected \",\"")),
        }
    }
    Ok(pairs)
}

impl<S> Type for HashMap<String, Option<String>, S> {
    fn type_ref() -> TypeRef {
        HSTORE
    }
    fn compatible(ty: &TypeInfo) -> bool {
        type_ref_accepts(HSTORE, ty)
    }
}

impl<S> Encode for HashMap<String, Option<String>, S> {
    fn encode(&self, buf: &mut EncodeBuf) -> Result<IsNull, EncodeError> {
        encode_pairs(buf, self.len(), self.iter())
    }
    fn param_type(&self) -> TypeRef {
        HSTORE
    }
}

impl<'r, S: BuildHasher + Default> Decode<'r> for HashMap<String, Option<String>, S> {
    /// A key sent twice keeps its first value, as `hstore_in` does.
    fn decode(value: ValueRef<'r>) -> Result<Self, DecodeError> {
        let mut map = HashMap::default();
        decode_pairs(&value, |k, v| {
            map.entry(k).or_insert(v);
        })?;
        Ok(map)
    }
}

impl Type for BTreeMap<String, Option<String>> {
    fn type_ref() -> TypeRef {
        HSTORE
    }
    fn compatible(ty: &TypeInfo) -> bool {
        type_ref_accepts(HSTORE, ty)
    }
}

impl Encode for BTreeMap<String, Option<String>> {
    fn encode(&self, buf: &mut EncodeBuf) -> Result<IsNull, EncodeError> {
        encode_pairs(buf, self.len(), self.iter())
    }
    fn param_type(&self) -> TypeRef {
        HSTORE
    }
}

impl<'r> Decode<'r> for BTreeMap<String, Option<String>> {
    /// A key sent twice keeps its first value, as `hstore_in` does.
    fn decode(value: ValueRef<'r>) -> Result<Self, DecodeError> {
        let mut map = BTreeMap::new();
        decode_pairs(&value, |k, v| {
            map.entry(k).or_insert(v);
        })?;
        Ok(map)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use proptest::prelude::*;

    use super::super::Oid;
    use super::super::container_golden::{HSTORE, golden};
    use super::super::test_elements::{decode, encode, hex};
    use super::*;

    /// The extension OID in the capture database (it differs per database).
    const HSTORE_OID: Oid = Oid(16385);

    type Map = BTreeMap<String, Option<String>>;

    fn map(pairs: &[(&str, Option<&str>)]) -> Map {
        pairs
            .iter()
            .map(|&(k, v)| (k.to_owned(), v.map(str::to_owned)))
            .collect()
    }

    #[test]
    fn matches_the_server() {
        for (name, want) in [
            (
                "three",
                map(&[("a", Some("1")), ("b", None), ("c d", Some("x\"y"))]),
            ),
            ("empty", map(&[])),
            (
                "unicode_and_empty",
                map(&[("é", Some("")), ("", Some("z"))]),
            ),
        ] {
            let g = golden(HSTORE, name);
            // The server sends keys ordered by (length, bytes); here that is BTreeMap order too.
            assert_eq!(encode(&want), g.bytes(), "{name}");
            assert_eq!(
                decode::<Map>(HSTORE_OID, Format::Binary, &g.bytes()).unwrap(),
                want,
                "{name}"
            );
            assert_eq!(
                decode::<Map>(HSTORE_OID, Format::Text, g.text.as_bytes()).unwrap(),
                want,
                "{name}"
            );
            let hm: HashMap<String, Option<String>> =
                decode(HSTORE_OID, Format::Binary, &g.bytes()).unwrap();
            assert_eq!(hm.into_iter().collect::<Map>(), want);
        }
    }

    type Pairs = &'static [(&'static str, Option<&'static str>)];

    /// hstore literals and what `hstore_in` makes of them (checked against
    /// PostgreSQL 15.18: `SELECT $q$<literal>$q$::hstore`); `None`: rejected.
    pub(crate) const TEXT_LITERALS: &[(&str, Option<Pairs>)] = &[
        ("a=>1,b=>2", Some(&[("a", Some("1")), ("b", Some("2"))])),
        (" a => 1 , b=>NULL ", Some(&[("a", Some("1")), ("b", None)])),
        ("a=>null", Some(&[("a", None)])),
        ("a=>\"NULL\"", Some(&[("a", Some("NULL"))])),
        ("a=>NULLx", Some(&[("a", Some("NULLx"))])),
        ("a\\,b=>c\\\"d", Some(&[("a,b", Some("c\"d"))])),
        ("a=>1,a=>2", Some(&[("a", Some("1"))])),
        ("a=>1,", Some(&[("a", Some("1"))])),
        ("", Some(&[])),
        ("a=>", None),
        ("=>1", None),
        ("a=>1 b=>2", None),
        ("\"a\"=>\"b\"x", None),
        ("a b=>c", None),
    ];

    #[test]
    fn text_literals_parse_like_hstore_in() {
        for &(literal, want) in TEXT_LITERALS {
            let got = decode::<Map>(HSTORE_OID, Format::Text, literal.as_bytes());
            match want {
                Some(want) => assert_eq!(got.unwrap(), map(want), "{literal}"),
                None => assert!(got.is_err(), "{literal} should be rejected: {got:?}"),
            }
        }
    }

    /// Binary hstore values that must be decode errors (RUSTSEC-2026-0180 class).
    pub(crate) const HSTORE_HOSTILE: &[(&str, &str)] = &[
        ("2^31-1 pairs, 8 bytes", "7fffffff 00000000 00000000"),
        ("negative pair count", "ffffffff"),
        ("key length past the end", "00000001 00000010 61 ffffffff"),
        (
            "value length past the end",
            "00000001 00000001 61 7fffffff 62",
        ),
        ("NULL key", "00000001 ffffffff ffffffff"),
        ("key length -2", "00000001 fffffffe ffffffff"),
        ("invalid UTF-8 key", "00000001 00000001 ff ffffffff"),
        ("trailing bytes", "00000000 00"),
        ("missing value", "00000001 00000001 61"),
    ];

    #[test]
    fn hostile_hstores_fail_cleanly() {
        for &(what, h) in HSTORE_HOSTILE {
            assert!(
                decode::<Map>(HSTORE_OID, Format::Binary, &hex(h)).is_err(),
                "{what}"
            );
        }
        let mut bad = Map::new();
        bad.insert("a\0".into(), None);
        assert!(bad.encode(&mut EncodeBuf::new()).is_err());
        assert_eq!(<Map>::type_ref(), TypeRef::Named("hstore"));
        assert!(<Map>::compatible(&TypeInfo::with_name(
            HSTORE_OID, "hstore"
        )));
        assert!(!<Map>::compatible(&TypeInfo::from_oid(Oid::TEXT)));
    }

    fn render(m: &Map) -> String {
        // hstore_out's form: every key and value quoted, `"` and `\` escaped.
        let q = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
        m.iter()
            .map(|(k, v)| format!("{}=>{}", q(k), v.as_deref().map_or("NULL".to_owned(), q)))
            .collect::<Vec<_>>()
            .join(", ")
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..48)) {
            let _ = decode::<Map>(HSTORE_OID, Format::Binary, &bytes);
            let _ = decode::<Map>(HSTORE_OID, Format::Text, &bytes);
        }

        #[test]
        fn round_trip(m in proptest::collection::btree_map("[^\u{0}]{0,6}", proptest::option::of("[^\u{0}]{0,6}"), 0..6)) {
            prop_assert_eq!(decode::<Map>(HSTORE_OID, Format::Binary, &encode(&m)).unwrap(), m.clone());
            prop_assert_eq!(decode::<Map>(HSTORE_OID, Format::Text, render(&m).as_bytes()).unwrap(), m);
        }
    }
}
