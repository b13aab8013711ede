//! Records and composite types: anonymous `record` values (`SELECT ROW(1, 'a')`)
//! read into tuples `(A,)` .. `(A, ..., P)` (up to 16 fields), and the
//! building blocks a `#[derive(PgType)]` composite uses: [`CompositeEncoder`]
//! and [`CompositeDecoder`].
//!
//! Binary format (`record_send`): field count i32, then per field its type
//! OID u32, length i32 (-1 = NULL) and bytes.
//!
//! Text format (`record_out`): `(1,"a b",)`: fields separated by `,`, an
//! empty field is NULL, `"` quotes (with `""` a literal quote inside) and
//! `\` escapes. Text carries no field types, so they are not checked.
//!
//! Tuples can only be read: PostgreSQL does not accept an anonymous record
//! as a parameter ("input of anonymous composite types is not implemented").
//! To send a composite, declare its type (`CREATE TYPE`) and use a struct
//! whose `Encode` writes it with [`CompositeEncoder`].

use std::borrow::Cow;

use super::bounded::{Reader, put_value};
use super::{
    Decode, DecodeError, Encode, EncodeBuf, EncodeError, Format, IsNull, Oid, Type, TypeInfo,
    TypeRef, ValueRef, short_type_name,
};

// --- Encoding --------------------------------------------------------------------------

/// Writes a composite value field by field in `record_recv`'s binary format.
///
/// ```
/// use quarry_driver::types::{CompositeEncoder, EncodeBuf, IsNull, PgLsn};
/// let mut buf = EncodeBuf::new();
/// let mut record = CompositeEncoder::new(&mut buf);
/// record.field(&PgLsn(1)).unwrap();
/// record.field(&None::<PgLsn>).unwrap();
/// assert_eq!(record.finish().unwrap(), IsNull::No);
/// assert_eq!(buf.len(), 4 + (8 + 8) + 8);
/// ```
///
/// Each field's OID is written with [`EncodeBuf::put_type_oid`]: a field of a
/// user type leaves a placeholder the connection fills in. The server checks
/// every field OID against the composite's declared column types.
#[derive(Debug)]
pub struct CompositeEncoder<'b> {
    buf: &'b mut EncodeBuf,
    count_at: usize,
    count: i32,
}

impl<'b> CompositeEncoder<'b> {
    /// Starts a composite value in `buf` (writes a placeholder for the field count).
    pub fn new(buf: &'b mut EncodeBuf) -> CompositeEncoder<'b> {
        let count_at = buf.len();
        buf.extend_from_slice(&[0; 4]);
        CompositeEncoder {
            buf,
            count_at,
            count: 0,
        }
    }

    /// Writes the next field: its type (from [`Encode::param_type`]), then its value or NULL.
    pub fn field<T: Encode + ?Sized>(&mut self, value: &T) -> Result<(), EncodeError> {
        self.count = self
            .count
            .checked_add(1)
            .ok_or_else(|| EncodeError::new("a composite value has too many fields"))?;
        self.buf.put_type_oid(value.param_type());
        put_value(self.buf, value)?;
        Ok(())
    }

    /// Fills in the field count. The value is never NULL (a NULL composite is `Option::None`).
    pub fn finish(self) -> Result<IsNull, EncodeError> {
        let at = self.count_at;
        self.buf[at..at + 4].copy_from_slice(&self.count.to_be_bytes());
        Ok(IsNull::No)
    }
}

// --- Decoding --------------------------------------------------------------------------

/// Reads a composite (or anonymous record) value field by field, in binary or text.
///
/// Every read is bounds-checked; errors name the field (0-based) and, in
/// binary format, both the column's type and the Rust type asked for.
#[derive(Debug)]
pub struct CompositeDecoder<'r> {
    /// The record's type: its catalog names the user types of the fields.
    ty: &'r TypeInfo,
    fields: Fields<'r>,
    count: usize,
    next: usize,
}

#[derive(Debug)]
enum Fields<'r> {
    Binary(Reader<'r>),
    Text(std::vec::IntoIter<Option<Cow<'r, str>>>),
}

impl<'r> CompositeDecoder<'r> {
    /// Starts reading `value`; fails on NULL or a malformed header.
    pub fn new(value: ValueRef<'r>) -> Result<CompositeDecoder<'r>, DecodeError> {
        let bytes = value
            .non_null::<CompositeDecoder<'_>>()
            .map_err(|_| DecodeError::new("record value is NULL; read it into an Option"))?;
        match value.format() {
            Format::Binary => {
                let mut r = Reader::new(bytes, "record");
                // Each field takes at least its OID and length.
                let count = r.count("fields", 8)?;
                Ok(CompositeDecoder {
                    ty: value.type_info(),
                    fields: Fields::Binary(r),
                    count,
                    next: 0,
                })
            }
            Format::Text => {
                let text = std::str::from_utf8(bytes).map_err(|e| {
                    DecodeError::new(format!("record text is not valid UTF-8: {e}"))
                })?;
                let fields = parse_record_text(text)?;
                Ok(CompositeDecoder {
                    ty: value.type_info(),
                    count: fields.len(),
                    fields: Fields::Text(fields.into_iter()),
                    next: 0,
                })
            }
        }
    }

    /// How many fields the value has. (In text format `()` is one NULL field:
    /// `record_out` writes a one-field NULL record and a zero-field record alike.)
    pub fn field_count(&self) -> usize {
        self.count
    }

    /// Fails unless the value has exactly `n` fields; `target` names the Rust type for the message.
    pub fn expect_fields(&self, n: usize, target: &str) -> Result<(), DecodeError> {
        if self.count == n {
            Ok(())
        } else {
            Err(DecodeError::new(format!(
                "record has {} field{} but {target} has {n}",
                self.count,
                if self.count == 1 { "" } else { "s" }
            )))
        }
    }

    /// Reads the next field as `T`, checking (in binary format) that its type is one `T` reads.
    pub fn read<T>(&mut self) -> Result<T, DecodeError>
    where
        T: for<'a> Decode<'a> + Type,
    {
        let index = self.next;
        if index >= self.count {
            return Err(DecodeError::new(format!(
                "record has only {} fields; cannot read field {index}",
                self.count
            )));
        }
        self.next += 1;
        let in_field = |e: DecodeError| DecodeError::new(format!("record field {index}: {e}"));
        match &mut self.fields {
            Fields::Binary(r) => {
                let oid = Oid(r.u32()?);
                let bytes = r.value()?;
                let ty = self.ty.nested(oid);
                if !T::compatible(&ty) {
                    return Err(DecodeError::new(format!(
                        "record field {index} is of type {}, which {} cannot read",
                        ty.with_oid(),
                        short_type_name::<T>()
                    )));
                }
                T::decode(ValueRef::new(bytes, Format::Binary, &ty)).map_err(in_field)
            }
            Fields::Text(fields) => {
                let field = fields
                    .next()
                    .ok_or_else(|| DecodeError::new(format!("record field {index} is missing")))?;
                let ty = TypeInfo::from_oid(Oid::UNSPECIFIED);
                let bytes = field.as_deref().map(str::as_bytes);
                T::decode(ValueRef::new(bytes, Format::Text, &ty)).map_err(in_field)
            }
        }
    }

    /// Succeeds when every field was read and no bytes are left over.
    pub fn finish(self) -> Result<(), DecodeError> {
        if self.next != self.count {
            return Err(DecodeError::new(format!(
                "record has {} fields but only {} were read",
                self.count, self.next
            )));
        }
        match self.fields {
            Fields::Binary(r) => r.finish(),
            Fields::Text(_) => Ok(()),
        }
    }
}

fn is_record_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// Splits a record literal into its fields as `record_in` does.
pub(crate) fn parse_record_text(text: &str) -> Result<Vec<Option<Cow<'_, str>>>, DecodeError> {
    let bad = |detail: &str| {
        let shown: String = text.chars().take(64).collect();
        DecodeError::new(format!("malformed record literal {shown:?}: {detail}"))
    };
    let bytes = text.as_bytes();
    let mut pos = 0;
    while bytes.get(pos).is_some_and(|&b| is_record_space(b)) {
        pos += 1;
    }
    if bytes.get(pos) != Some(&b'(') {
        return Err(bad("missing left parenthesis"));
    }
    pos += 1;
    let mut fields = Vec::new();
    loop {
        let start = pos;
        let mut owned: Option<Vec<u8>> = None;
        let mut in_quote = false;
        loop {
            let Some(&b) = bytes.get(pos) else {
                return Err(bad("unexpected end of input"));
            };
            if !in_quote && (b == b',' || b == b')') {
                break;
            }
            pos += 1;
            match b {
                b'\\' => {
                    let Some(&next) = bytes.get(pos) else {
                        return Err(bad("unexpected end of input after \"\\\""));
                    };
                    owned
                        .get_or_insert_with(|| prefix(bytes, start, pos - 1))
                        .push(next);
                    pos += 1;
                }
                b'"' if !in_quote => {
                    in_quote = true;
                    owned.get_or_insert_with(|| prefix(bytes, start, pos - 1));
                }
                b'"' => {
                    if bytes.get(pos) == Some(&b'"') {
                        owned.get_or_insert_with(Vec::new).push(b'"');
                        pos += 1;
                    } else {
                        in_quote = false;
                    }
                }
                _ => {
                    if let Some(o) = owned.as_mut() {
                        o.push(b);
                    }
                }
            }
        }
        let field = if pos == start {
            None
        } else {
            match owned {
                None => Some(Cow::Borrowed(&text[start..pos])),
                // Only ASCII quote/backslash bytes were dropped from valid UTF-8.
                Some(o) => Some(Cow::Owned(
                    String::from_utf8(o).map_err(|_| bad("field is not valid UTF-8"))?,
                )),
            }
        };
        fields.push(field);
        // The inner loop stopped at ',' or ')'.
        let stop = bytes.get(pos).copied();
        pos += 1;
        if stop == Some(b')') {
            break;
        }
    }
    if !bytes.iter().skip(pos).all(|&b| is_record_space(b)) {
        return Err(bad("junk after right parenthesis"));
    }
    Ok(fields)
}

/// The bytes of a field before its first quote or escape.
fn prefix(bytes: &[u8], start: usize, end: usize) -> Vec<u8> {
    bytes.get(start..end).unwrap_or_default().to_vec()
}

// --- Tuples ----------------------------------------------------------------------------

/// Whether `ty` can be read as a record: `record` itself or any type that is
/// not built in (a user composite; its fields are checked when read).
fn record_compatible(ty: &TypeInfo) -> bool {
    ty.oid() == Oid::RECORD || !ty.is_builtin()
}

macro_rules! tuple_impls {
    ($( ($n:literal; $($T:ident),+) )+) => {$(
        impl<$($T: Type),+> Type for ($($T,)+) {
            fn type_ref() -> TypeRef {
                TypeRef::Oid(Oid::RECORD)
            }
            /// `record` or a user composite type.
            fn compatible(ty: &TypeInfo) -> bool {
                record_compatible(ty)
            }
        }

        impl<'r, $($T),+> Decode<'r> for ($($T,)+)
        where
            $($T: for<'a> Decode<'a> + Type),+
        {
            fn decode(value: ValueRef<'r>) -> Result<Self, DecodeError> {
                let mut record = CompositeDecoder::new(value)?;
                record.expect_fields($n, &format!("the tuple {}", short_type_name::<Self>()))?;
                let tuple = ($(record.read::<$T>()?,)+);
                record.finish()?;
                Ok(tuple)
            }
        }
    )+};
}

/// `()` reads an empty record (`SELECT ROW()`).
impl Type for () {
    fn type_ref() -> TypeRef {
        TypeRef::Oid(Oid::RECORD)
    }
    fn compatible(ty: &TypeInfo) -> bool {
        record_compatible(ty)
    }
}

impl<'r> Decode<'r> for () {
    fn decode(value: ValueRef<'r>) -> Result<Self, DecodeError> {
        let text = value.format() == Format::Text;
        let mut record = CompositeDecoder::new(value)?;
        if text && record.field_count() == 1 {
            // `record_out` prints an empty record and a one-field NULL one alike: `()`.
            if record.read::<Option<String>>()?.is_some() {
                return Err(DecodeError::new("record has 1 field but () has 0"));
            }
        } else {
            record.expect_fields(0, "()")?;
        }
        record.finish()
    }
}

tuple_impls! {
    (1; A)
    (2; A, B)
    (3; A, B, C)
    (4; A, B, C, D)
    (5; A, B, C, D, E)
    (6; A, B, C, D, E, F)
    (7; A, B, C, D, E, F, G)
    (8; A, B, C, D, E, F, G, H)
    (9; A, B, C, D, E, F, G, H, I)
    (10; A, B, C, D, E, F, G, H, I, J)
    (11; A, B, C, D, E, F, G, H, I, J, K)
    (12; A, B, C, D, E, F, G, H, I, J, K, L)
    (13; A, B, C, D, E, F, G, H, I, J, K, L, M)
    (14; A, B, C, D, E, F, G, H, I, J, K, L, M, N)
    (15; A, B, C, D, E, F, G, H, I, J, K, L, M, N, O)
    (16; A, B, C, D, E, F, G, H, I, J, K, L, M, N, O, P)
}

#[cfg(test)]
pub(crate) mod tests {
    use proptest::prelude::*;

    use super::super::PgLsn;
    use super::super::container_golden::{RECORDS, golden};
    use super::super::test_elements::{I32, I64, Mood, Text, decode, hex};
    use super::*;

    type IntTextNull = (I32, Text, Option<I32>);

    #[test]
    fn records_match_the_server() {
        let g = golden(RECORDS, "int_text_null");
        let want: IntTextNull = (I32(1), Text("a b".into()), None);
        assert_eq!(
            decode::<IntTextNull>(Oid::RECORD, Format::Binary, &g.bytes()).unwrap(),
            want
        );
        assert_eq!(
            decode::<IntTextNull>(Oid::RECORD, Format::Text, g.text.as_bytes()).unwrap(),
            want
        );

        // The same bytes, written field by field.
        let mut buf = EncodeBuf::new();
        let mut enc = CompositeEncoder::new(&mut buf);
        enc.field(&want.0).unwrap();
        enc.field(&want.1).unwrap();
        enc.field(&want.2).unwrap();
        assert_eq!(enc.finish().unwrap(), IsNull::No);
        assert_eq!(buf.as_bytes(), g.bytes());

        let g = golden(RECORDS, "text_quoting");
        type Six = (Text, Text, Text, Text, Option<Text>, Text);
        let want: Six = (
            Text(String::new()),
            Text("x\"y".into()),
            Text("a\\b".into()),
            Text("(".into()),
            None,
            Text(" ".into()),
        );
        assert_eq!(
            decode::<Six>(Oid::RECORD, Format::Binary, &g.bytes()).unwrap(),
            want
        );
        assert_eq!(
            decode::<Six>(Oid::RECORD, Format::Text, g.text.as_bytes()).unwrap(),
            want
        );

        let g = golden(RECORDS, "nested");
        type Nested = (I32, (PgLsn, Option<I32>));
        let want: Nested = (I32(1), (PgLsn(0x16_B374_D848), None));
        assert_eq!(
            decode::<Nested>(Oid::RECORD, Format::Binary, &g.bytes()).unwrap(),
            want
        );
        assert_eq!(
            decode::<Nested>(Oid::RECORD, Format::Text, g.text.as_bytes()).unwrap(),
            want
        );

        let g = golden(RECORDS, "empty");
        let (bytes, ty) = (g.bytes(), TypeInfo::from_oid(Oid::RECORD));
        let d = CompositeDecoder::new(ValueRef::new(Some(&bytes), Format::Binary, &ty)).unwrap();
        assert_eq!(d.field_count(), 0);
        d.finish().unwrap();
    }

    #[test]
    fn field_count_and_types_are_checked() {
        let g = golden(RECORDS, "int_text_null");
        let err = decode::<(I32, Text)>(Oid::RECORD, Format::Binary, &g.bytes()).unwrap_err();
        assert_eq!(
            err.message(),
            "record has 3 fields but the tuple (I32, Text) has 2"
        );
        let err = decode::<(I32, Text)>(Oid::RECORD, Format::Text, g.text.as_bytes()).unwrap_err();
        assert_eq!(
            err.message(),
            "record has 3 fields but the tuple (I32, Text) has 2"
        );
        let err =
            decode::<(I32, I64, Option<I32>)>(Oid::RECORD, Format::Binary, &g.bytes()).unwrap_err();
        assert_eq!(
            err.message(),
            "record field 1 is of type text (OID 25), which I64 cannot read"
        );
        let err = decode::<(I32, Text, I32)>(Oid::RECORD, Format::Binary, &g.bytes()).unwrap_err();
        assert_eq!(
            err.message(),
            "record field 2: value is NULL; use Option<I32>"
        );
        let err =
            decode::<(I32, Text, I32)>(Oid::RECORD, Format::Text, g.text.as_bytes()).unwrap_err();
        assert_eq!(
            err.message(),
            "record field 2: value is NULL; use Option<I32>"
        );
        assert!(<(I32,)>::compatible(&TypeInfo::from_oid(Oid::RECORD)));
        assert!(<(I32,)>::compatible(&TypeInfo::from_oid(Oid(16400))));
        assert!(!<(I32,)>::compatible(&TypeInfo::from_oid(Oid::INT4)));
        assert_eq!(<(I32, Text)>::type_ref(), TypeRef::Oid(Oid::RECORD));
        assert_eq!(
            <Vec<(I32, Text)>>::type_ref(),
            TypeRef::Oid(Oid::RECORD_ARRAY)
        );
    }

    #[test]
    fn sixteen_fields() {
        type T16 = (
            I32,
            I32,
            I32,
            I32,
            I32,
            I32,
            I32,
            I32,
            I32,
            I32,
            I32,
            I32,
            I32,
            I32,
            I32,
            I32,
        );
        let mut buf = EncodeBuf::new();
        let mut enc = CompositeEncoder::new(&mut buf);
        for i in 0..16 {
            enc.field(&I32(i)).unwrap();
        }
        enc.finish().unwrap();
        let t: T16 = decode(Oid::RECORD, Format::Binary, buf.as_bytes()).unwrap();
        assert_eq!((t.0, t.15), (I32(0), I32(15)));
        let text = format!(
            "({})",
            (0..16).map(|i| i.to_string()).collect::<Vec<_>>().join(",")
        );
        let t: T16 = decode(Oid::RECORD, Format::Text, text.as_bytes()).unwrap();
        assert_eq!(t.7, I32(7));
    }

    #[test]
    fn user_type_fields_leave_oid_placeholders() {
        let mut buf = EncodeBuf::new();
        let mut enc = CompositeEncoder::new(&mut buf);
        enc.field(&I32(1)).unwrap();
        enc.field(&Mood("ok".into())).unwrap();
        enc.field(&vec![Mood("ok".into())]).unwrap();
        enc.finish().unwrap();
        let patches = buf.patches().to_vec();
        assert_eq!(patches.len(), 3);
        assert_eq!(
            (patches[0].at, patches[0].name, patches[0].array),
            (16, "mood", false)
        );
        assert_eq!((patches[1].at, patches[1].array), (26, true));
        // The array's own element OID, inside the field value.
        assert_eq!((patches[2].at, patches[2].array), (26 + 8 + 8, false));
    }

    #[test]
    fn decoder_misuse_is_an_error() {
        let g = golden(RECORDS, "int_text_null");
        let ty = TypeInfo::from_oid(Oid::RECORD);
        let bytes = g.bytes();
        let mut d =
            CompositeDecoder::new(ValueRef::new(Some(&bytes), Format::Binary, &ty)).unwrap();
        assert_eq!(d.read::<I32>().unwrap(), I32(1));
        assert!(d.expect_fields(2, "X").is_err());
        let err = CompositeDecoder::new(ValueRef::new(Some(&bytes), Format::Binary, &ty))
            .unwrap()
            .finish()
            .unwrap_err();
        assert_eq!(err.message(), "record has 3 fields but only 0 were read");
        let zero = hex("00000000");
        let mut d = CompositeDecoder::new(ValueRef::new(Some(&zero), Format::Binary, &ty)).unwrap();
        assert!(d.read::<I32>().is_err());
        assert!(CompositeDecoder::new(ValueRef::new(None, Format::Binary, &ty)).is_err());
    }

    /// Record literals and the fields `record_in` reads from them (checked against
    /// PostgreSQL 15.18 with `SELECT $q$<literal>$q$::<composite of text columns>`).
    pub(crate) const TEXT_LITERALS: &[(&str, Option<&[Option<&str>]>)] = &[
        ("(1,\"a b\",)", Some(&[Some("1"), Some("a b"), None])),
        ("()", Some(&[None])),
        ("(,)", Some(&[None, None])),
        ("(\"\")", Some(&[Some("")])),
        (" ( a , b ) ", Some(&[Some(" a "), Some(" b ")])),
        ("(a\"b,c\"d)", Some(&[Some("ab,cd")])),
        ("(\"x\"\"y\",a\\,b)", Some(&[Some("x\"y"), Some("a,b")])),
        ("(\"a\\\\b\")", Some(&[Some("a\\b")])),
        ("(é)", Some(&[Some("é")])),
        ("(a", None),
        ("a)", None),
        ("(a) x", None),
        ("(\"a)", None),
        ("(a\\", None),
    ];

    #[test]
    fn text_literals_parse_like_record_in() {
        for &(literal, want) in TEXT_LITERALS {
            let got = parse_record_text(literal);
            match want {
                Some(want) => {
                    let got = got.unwrap_or_else(|e| panic!("{literal}: {e}"));
                    let got: Vec<Option<&str>> = got.iter().map(|f| f.as_deref()).collect();
                    assert_eq!(got, want, "{literal}");
                }
                None => assert!(got.is_err(), "{literal} should be rejected: {got:?}"),
            }
        }
    }

    /// Binary records that must be decode errors.
    pub(crate) const RECORD_HOSTILE: &[(&str, &str)] = &[
        ("2^31-1 fields, no body", "7fffffff"),
        ("negative field count", "ffffffff"),
        (
            "field length past the end",
            "00000001 00000017 00000010 00000001",
        ),
        ("truncated OID", "00000001 0000"),
        ("trailing bytes", "00000001 00000017 00000004 00000001 ff"),
    ];

    #[test]
    fn hostile_records_fail_cleanly() {
        for &(what, h) in RECORD_HOSTILE {
            assert!(
                decode::<(I32,)>(Oid::RECORD, Format::Binary, &hex(h)).is_err(),
                "{what}"
            );
        }
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode::<(Option<I32>, Option<Text>)>(Oid::RECORD, Format::Binary, &bytes);
            let _ = decode::<(Option<Text>, Option<Text>)>(Oid::RECORD, Format::Text, &bytes);
        }

        #[test]
        fn random_literals_never_panic(s in "[(),\"\\\\ aé]{0,30}") {
            let _ = parse_record_text(&s);
        }

        #[test]
        fn round_trip(a in any::<i32>(), b in proptest::option::of("[^\u{0}]{0,10}")) {
            let mut buf = EncodeBuf::new();
            let mut enc = CompositeEncoder::new(&mut buf);
            enc.field(&I32(a)).unwrap();
            enc.field(&b.clone().map(Text)).unwrap();
            enc.finish().unwrap();
            let back: (I32, Option<Text>) = decode(Oid::RECORD, Format::Binary, buf.as_bytes()).unwrap();
            prop_assert_eq!(back, (I32(a), b.map(Text)));
        }
    }
}
