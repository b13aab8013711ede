//! Range types (`int4range`, `int8range`, `numrange`, `tsrange`, `tstzrange`,
//! `daterange`) as [`Range<T>`], and multiranges (PostgreSQL 14+) as [`MultiRange<T>`].
//!
//! Binary format (`range_send`): a flags byte, then the lower bound (if it has
//! one) and the upper bound (if it has one), each as i32 length and the
//! subtype's binary value. Flags, from `src/include/utils/rangetypes.h`:
//! 0x01 empty, 0x02 lower bound inclusive, 0x04 upper bound inclusive,
//! 0x08 lower bound infinite, 0x10 upper bound infinite (0x20/0x40, the
//! unused "bound is NULL" flags, and 0x80, a GiST-internal marker, are ignored
//! as `range_recv` ignores them).
//!
//! Multirange binary format (`multirange_send`): i32 count, then each range as
//! i32 length and the range's binary form.
//!
//! Text format: `[1,5)`, `(,3]`, `empty`, `["2020-01-01 00:00:00",)`;
//! multiranges `{[1,3),[5,7)}`.
//!
//! Which Rust types can be range bounds is said by [`RangeSubtype`]: here
//! `i32` and `i64`; the numeric and date/time families add theirs.

use std::fmt;
use std::ops::{self, Bound};

use super::bounded::{Reader, put_value, wire_len};
use super::{
    Decode, DecodeError, Encode, EncodeBuf, EncodeError, Format, IsNull, Oid, Type, TypeInfo,
    TypeRef, ValueRef, type_ref_accepts,
};

const EMPTY: u8 = 0x01;
const LB_INC: u8 = 0x02;
const UB_INC: u8 = 0x04;
const LB_INF: u8 = 0x08;
const UB_INF: u8 = 0x10;

/// A Rust type that can be the bound of a PostgreSQL range.
///
/// Implemented here for `i32` (`int4range`) and `i64` (`int8range`). The
/// numeric and date/time codecs implement it for their types (`numrange`,
/// `daterange`, `tsrange`, `tstzrange`). A user-defined range type
/// (`CREATE TYPE ... AS RANGE`) can implement it with [`TypeRef::Named`], which is
/// how a `Range` is sent as that type. Reading needs none: `Range<i32>` reads a user
/// range whose subtype is `int4` or a domain over it (and `MultiRange<i32>` its
/// multirange), once the connection has looked the column's type up.
pub trait RangeSubtype {
    /// The range type over this subtype (`int4` -> `int4range`).
    fn range_type() -> TypeRef;

    /// The multirange type over this subtype (`int4` -> `int4multirange`; PostgreSQL 14+).
    fn multirange_type() -> TypeRef;
}

impl RangeSubtype for i32 {
    fn range_type() -> TypeRef {
        TypeRef::Oid(Oid::INT4RANGE)
    }
    fn multirange_type() -> TypeRef {
        TypeRef::Oid(Oid::INT4MULTIRANGE)
    }
}

impl RangeSubtype for i64 {
    fn range_type() -> TypeRef {
        TypeRef::Oid(Oid::INT8RANGE)
    }
    fn multirange_type() -> TypeRef {
        TypeRef::Oid(Oid::INT8MULTIRANGE)
    }
}

macro_rules! range_subtype {
    ($range:ident, $multirange:ident: $($(#[$cfg:meta])* $t:ty),+ $(,)?) => {$(
        $(#[$cfg])*
        impl RangeSubtype for $t {
            fn range_type() -> TypeRef {
                TypeRef::Oid(Oid::$range)
            }
            fn multirange_type() -> TypeRef {
                TypeRef::Oid(Oid::$multirange)
            }
        }
    )+};
}

range_subtype!(NUMRANGE, NUMMULTIRANGE:
    super::Numeric,
    #[cfg(feature = "rust_decimal")] rust_decimal::Decimal,
    #[cfg(feature = "bigdecimal")] bigdecimal::BigDecimal,
);
range_subtype!(DATERANGE, DATEMULTIRANGE:
    super::Date,
    #[cfg(feature = "chrono")] chrono::NaiveDate,
    #[cfg(feature = "time")] time::Date,
    #[cfg(feature = "jiff")] jiff::civil::Date,
);
range_subtype!(TSRANGE, TSMULTIRANGE:
    super::Timestamp,
    #[cfg(feature = "chrono")] chrono::NaiveDateTime,
    #[cfg(feature = "time")] time::PrimitiveDateTime,
    #[cfg(feature = "jiff")] jiff::civil::DateTime,
);
range_subtype!(TSTZRANGE, TSTZMULTIRANGE:
    super::TimestampTz,
    #[cfg(feature = "chrono")] chrono::DateTime<chrono::Utc>,
    #[cfg(feature = "time")] time::OffsetDateTime,
    #[cfg(feature = "jiff")] jiff::Timestamp,
);

/// The subtype of a built-in range or multirange type.
fn range_subtype(oid: Oid) -> Oid {
    match oid {
        Oid::INT4RANGE | Oid::INT4MULTIRANGE => Oid::INT4,
        Oid::INT8RANGE | Oid::INT8MULTIRANGE => Oid::INT8,
        Oid::NUMRANGE | Oid::NUMMULTIRANGE => Oid::NUMERIC,
        Oid::TSRANGE | Oid::TSMULTIRANGE => Oid::TIMESTAMP,
        Oid::TSTZRANGE | Oid::TSTZMULTIRANGE => Oid::TIMESTAMPTZ,
        Oid::DATERANGE | Oid::DATEMULTIRANGE => Oid::DATE,
        _ => Oid::UNSPECIFIED,
    }
}

/// The subtype of range or multirange type `ty`, as its bounds are read: a built-in one's
/// from the table above; a user range's (`CREATE TYPE r AS RANGE (subtype = positive_int)`)
/// from what the connection looked up, a domain as its base type (`int4`).
fn subtype_of(ty: &TypeInfo) -> TypeInfo {
    match range_subtype(ty.oid()) {
        Oid::UNSPECIFIED => match ty.user_range() {
            Some((subtype, _)) => subtype,
            None => TypeInfo::from_oid(Oid::UNSPECIFIED),
        },
        builtin => TypeInfo::from_oid(builtin),
    }
}

/// Whether a range (`multi` false) or multirange Rust type sent as `expected` reads `ty`:
/// its own type, or, for a built-in one, a user range (or multirange) type whose subtype
/// is the same built-in type or a domain over it. Their binary and text forms are the
/// built-in range's, so `Range<i32>` reads a range over `positive_int`.
fn accepts_range(expected: TypeRef, ty: &TypeInfo, multi: bool) -> bool {
    if type_ref_accepts(expected, ty) {
        return true;
    }
    let TypeRef::Oid(oid) = expected else {
        return false;
    };
    let want = range_subtype(oid);
    want != Oid::UNSPECIFIED
        && ty
            .user_range()
            .is_some_and(|(subtype, is_multi)| is_multi == multi && subtype.oid() == want)
}

// --- Range -----------------------------------------------------------------------------

/// A PostgreSQL range value: empty, or a lower and an upper [`Bound`].
///
/// ```
/// use std::ops::Bound::{Excluded, Included, Unbounded};
/// use quarry_driver::types::Range;
/// let r: Range<i32> = Range::new(Included(1), Excluded(5)); // '[1,5)'
/// assert_eq!(r, Range::from(1..5));
/// assert_eq!(Range::new(Unbounded, Included(3)).to_string(), "(,3]");
/// assert_eq!(Range::<i32>::Empty.to_string(), "empty");
/// ```
///
/// The server canonicalizes what it stores: discrete ranges become `[lo,hi)`
/// (`[1,5]` reads back as `[1,6)`), and bounds that enclose nothing (`[5,5)`)
/// read back as [`Range::Empty`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Range<T> {
    /// The empty range (`'empty'`): contains no values.
    Empty,
    /// A range between two bounds; [`Bound::Unbounded`] is infinite on that side.
    Bounds {
        /// The lower bound.
        lower: Bound<T>,
        /// The upper bound.
        upper: Bound<T>,
    },
}

impl<T> Range<T> {
    /// The range between `lower` and `upper`.
    pub fn new(lower: Bound<T>, upper: Bound<T>) -> Range<T> {
        Range::Bounds { lower, upper }
    }

    /// Whether this is [`Range::Empty`]. (A range the server would canonicalize
    /// to empty, like `[5,5)`, is not empty until it has been through the server.)
    pub fn is_empty(&self) -> bool {
        matches!(self, Range::Empty)
    }

    /// The lower bound, or `None` for the empty range.
    pub fn lower(&self) -> Option<Bound<&T>> {
        match self {
            Range::Empty => None,
            Range::Bounds { lower, .. } => Some(lower.as_ref()),
        }
    }

    /// The upper bound, or `None` for the empty range.
    pub fn upper(&self) -> Option<Bound<&T>> {
        match self {
            Range::Empty => None,
            Range::Bounds { upper, .. } => Some(upper.as_ref()),
        }
    }
}

impl<T> From<ops::Range<T>> for Range<T> {
    /// `a..b` is `[a,b)`.
    fn from(r: ops::Range<T>) -> Self {
        Range::new(Bound::Included(r.start), Bound::Excluded(r.end))
    }
}

impl<T> From<ops::RangeInclusive<T>> for Range<T> {
    /// `a..=b` is `[a,b]`.
    fn from(r: ops::RangeInclusive<T>) -> Self {
        let (start, end) = r.into_inner();
        Range::new(Bound::Included(start), Bound::Included(end))
    }
}

impl<T> From<ops::RangeFrom<T>> for Range<T> {
    /// `a..` is `[a,)`.
    fn from(r: ops::RangeFrom<T>) -> Self {
        Range::new(Bound::Included(r.start), Bound::Unbounded)
    }
}

impl<T> From<ops::RangeTo<T>> for Range<T> {
    /// `..b` is `(,b)`.
    fn from(r: ops::RangeTo<T>) -> Self {
        Range::new(Bound::Unbounded, Bound::Excluded(r.end))
    }
}

impl<T> From<ops::RangeToInclusive<T>> for Range<T> {
    /// `..=b` is `(,b]`.
    fn from(r: ops::RangeToInclusive<T>) -> Self {
        Range::new(Bound::Unbounded, Bound::Included(r.end))
    }
}

impl<T> From<ops::RangeFull> for Range<T> {
    /// `..` is `(,)`.
    fn from(_: ops::RangeFull) -> Self {
        Range::new(Bound::Unbounded, Bound::Unbounded)
    }
}

impl<T: RangeSubtype> Type for Range<T> {
    fn type_ref() -> TypeRef {
        T::range_type()
    }
    fn compatible(ty: &TypeInfo) -> bool {
        accepts_range(T::range_type(), ty, false)
    }
}

fn put_bound<T: Encode>(buf: &mut EncodeBuf, value: &T) -> Result<(), EncodeError> {
    match put_value(buf, value)? {
        IsNull::No => Ok(()),
        IsNull::Yes => Err(EncodeError::new(
            "a range bound cannot be NULL; use Bound::Unbounded for an infinite bound",
        )),
    }
}

fn encode_range<T: Encode>(range: &Range<T>, buf: &mut EncodeBuf) -> Result<IsNull, EncodeError> {
    let (lower, upper) = match range {
        Range::Empty => {
            buf.push(EMPTY);
            return Ok(IsNull::No);
        }
        Range::Bounds { lower, upper } => (lower, upper),
    };
    let mut flags = 0u8;
    flags |= match lower {
        Bound::Included(_) => LB_INC,
        Bound::Excluded(_) => 0,
        Bound::Unbounded => LB_INF,
    };
    flags |= match upper {
        Bound::Included(_) => UB_INC,
        Bound::Excluded(_) => 0,
        Bound::Unbounded => UB_INF,
    };
    buf.push(flags);
    if let Bound::Included(v) | Bound::Excluded(v) = lower {
        put_bound(buf, v)?;
    }
    if let Bound::Included(v) | Bound::Excluded(v) = upper {
        put_bound(buf, v)?;
    }
    Ok(IsNull::No)
}

fn bound_size_hint<T: Encode>(b: &Bound<T>) -> usize {
    match b {
        Bound::Included(v) | Bound::Excluded(v) => v.size_hint().saturating_add(4),
        Bound::Unbounded => 0,
    }
}

impl<T: Encode + RangeSubtype> Encode for Range<T> {
    fn encode(&self, buf: &mut EncodeBuf) -> Result<IsNull, EncodeError> {
        encode_range(self, buf)
    }
    fn param_type(&self) -> TypeRef {
        T::range_type()
    }
    fn size_hint(&self) -> usize {
        range_size_hint(self)
    }
}

fn range_size_hint<T: Encode>(range: &Range<T>) -> usize {
    match range {
        Range::Empty => 1,
        Range::Bounds { lower, upper } => 1usize
            .saturating_add(bound_size_hint(lower))
            .saturating_add(bound_size_hint(upper)),
    }
}

fn decode_bound<T: for<'a> Decode<'a>>(
    r: &mut Reader<'_>,
    ty: &TypeInfo,
    inclusive: bool,
    which: &str,
) -> Result<Bound<T>, DecodeError> {
    let bytes = r
        .value()?
        .ok_or_else(|| r.error(format_args!("the {which} bound is NULL")))?;
    let value = T::decode(ValueRef::new(Some(bytes), Format::Binary, ty))
        .map_err(|e| DecodeError::new(format!("range {which} bound: {e}")))?;
    Ok(if inclusive {
        Bound::Included(value)
    } else {
        Bound::Excluded(value)
    })
}

fn decode_range_binary<T: for<'a> Decode<'a>>(
    bytes: &[u8],
    subtype: &TypeInfo,
) -> Result<Range<T>, DecodeError> {
    let mut r = Reader::new(bytes, "range");
    // As range_recv: only these five flags mean anything.
    let flags = r.u8()? & (EMPTY | LB_INC | UB_INC | LB_INF | UB_INF);
    if flags & EMPTY != 0 {
        r.finish()?;
        return Ok(Range::Empty);
    }
    let lower = if flags & LB_INF != 0 {
        Bound::Unbounded
    } else {
        decode_bound(&mut r, subtype, flags & LB_INC != 0, "lower")?
    };
    let upper = if flags & UB_INF != 0 {
        Bound::Unbounded
    } else {
        decode_bound(&mut r, subtype, flags & UB_INC != 0, "upper")?
    };
    r.finish()?;
    Ok(Range::Bounds { lower, upper })
}

// --- Range text ------------------------------------------------------------------------

fn is_range_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

fn malformed_range(text: &str, detail: &str) -> DecodeError {
    let shown: String = text.chars().take(64).collect();
    DecodeError::new(format!("malformed range literal {shown:?}: {detail}"))
}

/// A range literal's parts: `None` bounds are infinite.
struct TextRange {
    empty: bool,
    lower: Option<String>,
    lower_inc: bool,
    upper: Option<String>,
    upper_inc: bool,
}

/// Reads one bound as `range_parse_bound` does: up to `,` `)` `]` outside
/// quotes; `"` quotes (with `""` a literal quote inside), `\` escapes; an
/// empty unquoted bound is infinite. Whitespace is part of the value.
fn parse_bound(text: &str, bytes: &[u8], pos: &mut usize) -> Result<Option<String>, DecodeError> {
    let start = *pos;
    let mut out: Vec<u8> = Vec::new();
    let mut in_quote = false;
    loop {
        let Some(&b) = bytes.get(*pos) else {
            return Err(malformed_range(text, "unexpected end of input"));
        };
        if !in_quote && matches!(b, b',' | b')' | b']') {
            break;
        }
        *pos += 1;
        match b {
            b'\\' => {
                let Some(&next) = bytes.get(*pos) else {
                    return Err(malformed_range(
                        text,
                        "unexpected end of input after \"\\\"",
                    ));
                };
                out.push(next);
                *pos += 1;
            }
            b'"' if !in_quote => in_quote = true,
            b'"' => {
                if bytes.get(*pos) == Some(&b'"') {
                    out.push(b'"');
                    *pos += 1;
                } else {
                    in_quote = false;
                }
            }
            _ => out.push(b),
        }
    }
    if *pos == start {
        return Ok(None);
    }
    // Only ASCII bytes were removed from valid UTF-8, so this cannot fail; be total anyway.
    String::from_utf8(out)
        .map(Some)
        .map_err(|_| malformed_range(text, "bound is not valid UTF-8"))
}

fn parse_range_text(text: &str) -> Result<TextRange, DecodeError> {
    let bytes = text.as_bytes();
    let mut pos = 0;
    while bytes.get(pos).is_some_and(|&b| is_range_space(b)) {
        pos += 1;
    }
    if bytes
        .get(pos..pos + 5)
        .is_some_and(|s| s.eq_ignore_ascii_case(b"empty"))
    {
        if bytes.iter().skip(pos + 5).all(|&b| is_range_space(b)) {
            return Ok(TextRange {
                empty: true,
                lower: None,
                lower_inc: false,
                upper: None,
                upper_inc: false,
            });
        }
        return Err(malformed_range(text, "junk after \"empty\""));
    }
    let lower_inc = match bytes.get(pos) {
        Some(b'[') => true,
        Some(b'(') => false,
        _ => return Err(malformed_range(text, "missing left parenthesis or bracket")),
    };
    pos += 1;
    let lower = parse_bound(text, bytes, &mut pos)?;
    if bytes.get(pos) != Some(&b',') {
        return Err(malformed_range(text, "missing comma after lower bound"));
    }
    pos += 1;
    let upper = parse_bound(text, bytes, &mut pos)?;
    let upper_inc = match bytes.get(pos) {
        Some(b']') => true,
        Some(b')') => false,
        _ => return Err(malformed_range(text, "too many commas")),
    };
    pos += 1;
    if !bytes.iter().skip(pos).all(|&b| is_range_space(b)) {
        return Err(malformed_range(
            text,
            "junk after right parenthesis or bracket",
        ));
    }
    Ok(TextRange {
        empty: false,
        lower,
        lower_inc,
        upper,
        upper_inc,
    })
}

fn text_bound<T: for<'a> Decode<'a>>(
    value: Option<String>,
    inclusive: bool,
    ty: &TypeInfo,
    which: &str,
) -> Result<Bound<T>, DecodeError> {
    let Some(s) = value else {
        return Ok(Bound::Unbounded);
    };
    let v = T::decode(ValueRef::new(Some(s.as_bytes()), Format::Text, ty))
        .map_err(|e| DecodeError::new(format!("range {which} bound: {e}")))?;
    Ok(if inclusive {
        Bound::Included(v)
    } else {
        Bound::Excluded(v)
    })
}

fn decode_range_text<T: for<'a> Decode<'a>>(
    text: &str,
    subtype: &TypeInfo,
) -> Result<Range<T>, DecodeError> {
    let parsed = parse_range_text(text)?;
    if parsed.empty {
        return Ok(Range::Empty);
    }
    Ok(Range::Bounds {
        lower: text_bound(parsed.lower, parsed.lower_inc, subtype, "lower")?,
        upper: text_bound(parsed.upper, parsed.upper_inc, subtype, "upper")?,
    })
}

fn utf8<'a>(bytes: &'a [u8], what: &str) -> Result<&'a str, DecodeError> {
    std::str::from_utf8(bytes)
        .map_err(|e| DecodeError::new(format!("{what} text is not valid UTF-8: {e}")))
}

impl<'r, T: for<'a> Decode<'a>> Decode<'r> for Range<T> {
    fn decode(value: ValueRef<'r>) -> Result<Self, DecodeError> {
        let bytes = value.non_null::<Self>()?;
        let subtype = subtype_of(value.type_info());
        match value.format() {
            Format::Binary => decode_range_binary(bytes, &subtype),
            Format::Text => decode_range_text(utf8(bytes, "range")?, &subtype),
        }
    }
}

/// Writes a bound value as `range_out` does: quoted (with `"` and `\`
/// doubled) when empty or containing `"` `\` `(` `)` `[` `]` `,` or whitespace.
fn write_bound_value(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    let needs_quotes = s.is_empty()
        || s.bytes().any(|b| {
            matches!(b, b'"' | b'\\' | b'(' | b')' | b'[' | b']' | b',') || is_range_space(b)
        });
    if !needs_quotes {
        return f.write_str(s);
    }
    f.write_str("\"")?;
    for c in s.chars() {
        if c == '"' || c == '\\' {
            write!(f, "{c}")?;
        }
        write!(f, "{c}")?;
    }
    f.write_str("\"")
}

/// The PostgreSQL text form (`[1,5)`, `(,3]`, `empty`), built from the bounds'
/// `Display`; it matches `range_out` when theirs matches the subtype's output.
impl<T: fmt::Display> fmt::Display for Range<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (lower, upper) = match self {
            Range::Empty => return f.write_str("empty"),
            Range::Bounds { lower, upper } => (lower, upper),
        };
        match lower {
            Bound::Included(v) => {
                f.write_str("[")?;
                write_bound_value(f, &v.to_string())?;
            }
            Bound::Excluded(v) => {
                f.write_str("(")?;
                write_bound_value(f, &v.to_string())?;
            }
            Bound::Unbounded => f.write_str("(")?,
        }
        f.write_str(",")?;
        match upper {
            Bound::Included(v) => {
                write_bound_value(f, &v.to_string())?;
                f.write_str("]")
            }
            Bound::Excluded(v) => {
                write_bound_value(f, &v.to_string())?;
                f.write_str(")")
            }
            Bound::Unbounded => f.write_str(")"),
        }
    }
}

// --- MultiRange ------------------------------------------------------------------------

/// A PostgreSQL multirange (PostgreSQL 14+): an ordered set of non-overlapping ranges.
///
/// The server sorts and merges the ranges it receives and drops empty ones;
/// what it sends back is in that normal form.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct MultiRange<T>(pub Vec<Range<T>>);

impl<T> From<Vec<Range<T>>> for MultiRange<T> {
    fn from(ranges: Vec<Range<T>>) -> Self {
        MultiRange(ranges)
    }
}

impl<T> FromIterator<Range<T>> for MultiRange<T> {
    fn from_iter<I: IntoIterator<Item = Range<T>>>(iter: I) -> Self {
        MultiRange(iter.into_iter().collect())
    }
}

impl<T: RangeSubtype> Type for MultiRange<T> {
    fn type_ref() -> TypeRef {
        T::multirange_type()
    }
    fn compatible(ty: &TypeInfo) -> bool {
        accepts_range(T::multirange_type(), ty, true)
    }
}

impl<T: Encode + RangeSubtype> Encode for MultiRange<T> {
    fn encode(&self, buf: &mut EncodeBuf) -> Result<IsNull, EncodeError> {
        buf.extend_from_slice(&wire_len(self.0.len(), "a multirange")?.to_be_bytes());
        for range in &self.0 {
            let at = buf.len();
            buf.extend_from_slice(&[0; 4]);
            encode_range(range, buf)?;
            let len = wire_len(buf.len() - at - 4, "a range")?;
            buf[at..at + 4].copy_from_slice(&len.to_be_bytes());
        }
        Ok(IsNull::No)
    }
    fn param_type(&self) -> TypeRef {
        T::multirange_type()
    }
    fn size_hint(&self) -> usize {
        self.0
            .iter()
            .map(|r| range_size_hint(r).saturating_add(4))
            .fold(4usize, usize::saturating_add)
    }
}

/// Splits a multirange literal (`{[1,3), empty ,(5,7]}`) into its range literals.
fn split_multirange_text(text: &str) -> Result<Vec<&str>, DecodeError> {
    let bad = |detail: &str| {
        let shown: String = text.chars().take(64).collect();
        DecodeError::new(format!("malformed multirange literal {shown:?}: {detail}"))
    };
    let bytes = text.as_bytes();
    let mut pos = 0;
    let skip = |pos: &mut usize| {
        while bytes.get(*pos).is_some_and(|&b| is_range_space(b)) {
            *pos += 1;
        }
    };
    skip(&mut pos);
    if bytes.get(pos) != Some(&b'{') {
        return Err(bad("missing left brace"));
    }
    pos += 1;
    let mut ranges = Vec::new();
    skip(&mut pos);
    if bytes.get(pos) == Some(&b'}') {
        pos += 1;
    } else {
        loop {
            skip(&mut pos);
            let start = pos;
            if bytes
                .get(pos..pos + 5)
                .is_some_and(|s| s.eq_ignore_ascii_case(b"empty"))
            {
                pos += 5;
            } else if matches!(bytes.get(pos), Some(b'[' | b'(')) {
                // Scan to the closing bracket, outside quotes, honouring escapes.
                pos += 1;
                let mut in_quote = false;
                loop {
                    let Some(&b) = bytes.get(pos) else {
                        return Err(bad("unexpected end of input"));
                    };
                    pos += 1;
                    match b {
                        b'\\' => pos += 1,
                        b'"' => in_quote = !in_quote,
                        b']' | b')' if !in_quote => break,
                        _ => {}
                    }
                }
            } else {
                return Err(bad("expected a range"));
            }
            let range = text
                .get(start..pos)
                .ok_or_else(|| bad("unexpected end of input"))?;
            ranges.push(range);
            skip(&mut pos);
            match bytes.get(pos) {
                Some(b',') => pos += 1,
                Some(b'}') => {
                    pos += 1;
                    break;
                }
                _ => return Err(bad("expected \",\" or \"}\"")),
            }
        }
    }
    skip(&mut pos);
    if pos != bytes.len() {
        return Err(bad("junk after right brace"));
    }
    Ok(ranges)
}

impl<'r, T: for<'a> Decode<'a>> Decode<'r> for MultiRange<T> {
    fn decode(value: ValueRef<'r>) -> Result<Self, DecodeError> {
        let bytes = value.non_null::<Self>()?;
        let subtype = subtype_of(value.type_info());
        match value.format() {
            Format::Binary => {
                let mut r = Reader::new(bytes, "multirange");
                // Each range takes at least a 4-byte length and a flags byte.
                let count = r.count("ranges", 5)?;
                let mut ranges = Vec::with_capacity(count);
                for i in 0..count {
                    let range_bytes = r
                        .value()?
                        .ok_or_else(|| r.error(format_args!("range {i} is NULL")))?;
                    let range = decode_range_binary(range_bytes, &subtype)
                        .map_err(|e| DecodeError::new(format!("multirange range {i}: {e}")))?;
                    ranges.push(range);
                }
                r.finish()?;
                Ok(MultiRange(ranges))
            }
            Format::Text => {
                let text = utf8(bytes, "multirange")?;
                split_multirange_text(text)?
                    .into_iter()
                    .enumerate()
                    .map(|(i, s)| {
                        decode_range_text(s, &subtype)
                            .map_err(|e| DecodeError::new(format!("multirange range {i}: {e}")))
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map(MultiRange)
            }
        }
    }
}

/// The PostgreSQL text form (`{[1,3),[5,7)}`).
impl<T: fmt::Display> fmt::Display for MultiRange<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, r) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{r}")?;
        }
        f.write_str("}")
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::ops::Bound::{Excluded, Included, Unbounded};

    use proptest::prelude::*;

    use super::super::container_golden::{ARRAYS, RANGES, golden};
    use super::super::test_elements::{I32, I64, Text, Wide, decode, encode, hex};
    use super::*;

    fn check<T>(oid: Oid, name: &str, want: &T)
    where
        T: for<'a> Decode<'a> + Encode + PartialEq + fmt::Debug + fmt::Display,
    {
        let g = golden(RANGES, name);
        assert_eq!(encode(want), g.bytes(), "{name}: encode");
        assert_eq!(want.to_string(), g.text, "{name}: display");
        let bin: T =
            decode(oid, Format::Binary, &g.bytes()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(&bin, want, "{name}: binary");
        let txt: T =
            decode(oid, Format::Text, g.text.as_bytes()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(&txt, want, "{name}: text");
    }

    #[test]
    fn ranges_match_the_server() {
        let r = |lo: Bound<i32>, hi: Bound<i32>| Range::new(lo.map(I32), hi.map(I32));
        check(Oid::INT4RANGE, "int4_basic", &r(Included(1), Excluded(5)));
        check(
            Oid::INT4RANGE,
            "int4_inclusive_canonical",
            &r(Included(1), Excluded(6)),
        );
        check(Oid::INT4RANGE, "int4_empty", &Range::<I32>::Empty);
        check(
            Oid::INT4RANGE,
            "int4_collapses_to_empty",
            &Range::<I32>::Empty,
        );
        check(
            Oid::INT4RANGE,
            "int4_lower_unbounded",
            &r(Unbounded, Excluded(4)),
        );
        check(Oid::INT4RANGE, "int4_unbounded", &Range::<I32>::from(..));
        check(
            Oid::INT4RANGE,
            "int4_negative",
            &Range::from(I32(-5)..I32(-1)),
        );
        check(
            Oid::INT8RANGE,
            "int8_upper_unbounded",
            &Range::from(I64(10)..),
        );
        check(
            Oid::INT8RANGE,
            "int8_extremes",
            &Range::from(I64(i64::MIN)..I64(i64::MAX)),
        );
    }

    #[test]
    fn quoted_bounds_are_read_verbatim() {
        let g = golden(RANGES, "tsrange");
        let r: Range<Text> = decode(Oid::TSRANGE, Format::Text, g.text.as_bytes()).unwrap();
        let want = Range::new(
            Included(Text("2020-01-01 00:00:00".into())),
            Excluded(Text("2020-01-02 00:00:00".into())),
        );
        assert_eq!(r, want);
        assert_eq!(want.to_string(), g.text);
        let g = golden(RANGES, "tstzrange");
        let r: Range<Text> = decode(Oid::TSTZRANGE, Format::Text, g.text.as_bytes()).unwrap();
        assert_eq!(
            r,
            Range::new(Included(Text("2020-01-01 00:00:00+00".into())), Unbounded)
        );
        // Quoting: empty strings, quotes and backslashes (doubled inside quotes).
        let odd = Range::new(
            Included(Text(String::new())),
            Excluded(Text("a\"b\\c,".into())),
        );
        assert_eq!(odd.to_string(), r#"["","a""b\\c,")"#);
        let back: Range<Text> =
            decode(Oid::TSRANGE, Format::Text, odd.to_string().as_bytes()).unwrap();
        assert_eq!(back, odd);
        // Whitespace belongs to the bound; escapes work outside quotes too.
        let spaced: Range<Text> = decode(Oid::TSRANGE, Format::Text, br"( a\,b ,c]").unwrap();
        assert_eq!(
            spaced,
            Range::new(Excluded(Text(" a,b ".into())), Included(Text("c".into())))
        );
        let e: Range<Text> = decode(Oid::TSRANGE, Format::Text, b"  EMPTY ").unwrap();
        assert!(e.is_empty());
    }

    #[test]
    fn multiranges_match_the_server() {
        let m = MultiRange(vec![
            Range::from(I32(1)..I32(3)),
            Range::from(I32(5)..I32(7)),
        ]);
        check(Oid::INT4MULTIRANGE, "int4_multi", &m);
        check(
            Oid::INT4MULTIRANGE,
            "int4_multi_empty",
            &MultiRange::<I32>(vec![]),
        );
        let m = MultiRange(vec![Range::from(..I64(2)), Range::from(I64(10)..)]);
        check(Oid::INT8MULTIRANGE, "int8_multi_unbounded", &m);
        let spaced: MultiRange<I32> = decode(
            Oid::INT4MULTIRANGE,
            Format::Text,
            b" { [1,3) , empty,(4,5]} ",
        )
        .unwrap();
        assert_eq!(
            spaced.0,
            vec![
                Range::from(I32(1)..I32(3)),
                Range::Empty,
                Range::new(Excluded(I32(4)), Included(I32(5)))
            ]
        );
    }

    #[test]
    fn arrays_of_ranges() {
        let g = golden(ARRAYS, "int4range");
        let want = vec![Range::from(I32(1)..I32(2)), Range::Empty];
        assert_eq!(encode(&want), g.bytes());
        let bin: Vec<Range<I32>> =
            decode(Oid::INT4RANGE_ARRAY, Format::Binary, &g.bytes()).unwrap();
        assert_eq!(bin, want);
        let txt: Vec<Range<I32>> =
            decode(Oid::INT4RANGE_ARRAY, Format::Text, g.text.as_bytes()).unwrap();
        assert_eq!(txt, want);
    }

    #[test]
    fn types() {
        assert_eq!(<Range<I32>>::type_ref(), TypeRef::Oid(Oid::INT4RANGE));
        assert_eq!(<Range<i64>>::type_ref(), TypeRef::Oid(Oid::INT8RANGE));
        assert_eq!(
            <MultiRange<i32>>::type_ref(),
            TypeRef::Oid(Oid::INT4MULTIRANGE)
        );
        assert!(<Range<I32>>::compatible(&TypeInfo::from_oid(
            Oid::INT4RANGE
        )));
        assert!(!<Range<I32>>::compatible(&TypeInfo::from_oid(
            Oid::INT8RANGE
        )));
        assert_eq!(
            <Range<I32>>::array_type_ref(),
            TypeRef::Oid(Oid::INT4RANGE_ARRAY)
        );
    }

    /// Range literals the text decoder must reject (`range_in` rejects each of
    /// them: checked against PostgreSQL 15.18 with `SELECT $q$<literal>$q$::int4range`).
    pub(crate) const BAD_RANGE_LITERALS: &[&str] = &[
        "", "[1,5", "1,5)", "[1;5)", "[1,5,6)", "[1,5) x", "emptyx", "[\"1,5)", "[1,5\\",
    ];

    /// Binary `int4range` values that must be decode errors.
    pub(crate) const RANGE_HOSTILE: &[(&str, &str)] = &[
        ("no flags byte", ""),
        ("empty with trailing bytes", "01 00"),
        ("lower bound missing", "02"),
        ("NULL lower bound", "02 ffffffff"),
        ("bound longer than the value", "12 7fffffff 00"),
        ("trailing bytes", "18 00"),
        ("bound of the wrong width", "12 00000002 0001"),
    ];

    #[test]
    fn bad_input_fails_cleanly() {
        for lit in BAD_RANGE_LITERALS {
            assert!(
                decode::<Range<I32>>(Oid::INT4RANGE, Format::Text, lit.as_bytes()).is_err(),
                "{lit:?}"
            );
        }
        for &(what, h) in RANGE_HOSTILE {
            assert!(
                decode::<Range<I32>>(Oid::INT4RANGE, Format::Binary, &hex(h)).is_err(),
                "{what}"
            );
        }
        // 0x18 is '(,)': valid. The flags the server ignores are ignored here too.
        let all: Range<I32> = decode(Oid::INT4RANGE, Format::Binary, &hex("18")).unwrap();
        assert_eq!(all, Range::from(..));
        let masked: Range<I32> = decode(Oid::INT4RANGE, Format::Binary, &hex("f8")).unwrap();
        assert_eq!(masked, Range::from(..));
        let err = decode::<MultiRange<I32>>(
            Oid::INT4MULTIRANGE,
            Format::Binary,
            &hex("7fffffff 00000001 01"),
        )
        .unwrap_err();
        assert!(err.message().contains("claims 2147483647 ranges"), "{err}");
        // Nothing is reserved from the claimed count (it would be terabytes for Wide bounds).
        let claim = hex("7fffffff 00000001 01");
        assert!(decode::<MultiRange<Wide>>(Oid::INT4MULTIRANGE, Format::Binary, &claim).is_err());
        let err = decode::<Range<I32>>(Oid::INT4RANGE, Format::Binary, &hex("12 00000002 0001"))
            .unwrap_err();
        assert!(err.message().starts_with("range lower bound: "), "{err}");
        let null_bound: Range<Option<I32>> = Range::new(Included(None), Unbounded);
        let err = encode_range(&null_bound, &mut EncodeBuf::new()).unwrap_err();
        assert!(err.message().contains("cannot be NULL"), "{err}");
    }

    fn bound() -> impl Strategy<Value = Bound<I32>> {
        prop_oneof![
            any::<i32>().prop_map(|v| Included(I32(v))),
            any::<i32>().prop_map(|v| Excluded(I32(v))),
            Just(Unbounded),
        ]
    }

    fn range() -> impl Strategy<Value = Range<I32>> {
        prop_oneof![
            1 => Just(Range::Empty),
            6 => (bound(), bound()).prop_map(|(lower, upper)| Range::new(lower, upper)),
        ]
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode::<Range<I32>>(Oid::INT4RANGE, Format::Binary, &bytes);
            let _ = decode::<MultiRange<I64>>(Oid::INT8MULTIRANGE, Format::Binary, &bytes);
            let _ = decode::<Range<Text>>(Oid::TSRANGE, Format::Text, &bytes);
            let _ = decode::<MultiRange<Text>>(Oid::TSMULTIRANGE, Format::Text, &bytes);
        }

        #[test]
        fn random_literals_never_panic(s in "[\\[\\](){},\"\\\\ a1é-]{0,30}|empty") {
            let _ = decode::<Range<Text>>(Oid::TSRANGE, Format::Text, s.as_bytes());
            let _ = decode::<MultiRange<Text>>(Oid::TSMULTIRANGE, Format::Text, s.as_bytes());
        }

        #[test]
        fn round_trips(r in range(), m in proptest::collection::vec(range(), 0..5)) {
            let back: Range<I32> = decode(Oid::INT4RANGE, Format::Binary, &encode(&r)).unwrap();
            prop_assert_eq!(&back, &r);
            let back: Range<I32> = decode(Oid::INT4RANGE, Format::Text, r.to_string().as_bytes()).unwrap();
            prop_assert_eq!(&back, &r);
            let m = MultiRange(m);
            let back: MultiRange<I32> = decode(Oid::INT4MULTIRANGE, Format::Binary, &encode(&m)).unwrap();
            prop_assert_eq!(&back, &m);
            let back: MultiRange<I32> = decode(Oid::INT4MULTIRANGE, Format::Text, m.to_string().as_bytes()).unwrap();
            prop_assert_eq!(&back, &m);
        }

        #[test]
        fn text_bounds_round_trip(lo in "[^\u{0}]{0,10}", hi in "[^\u{0}]{0,10}") {
            let r = Range::new(Included(Text(lo)), Excluded(Text(hi)));
            let back: Range<Text> = decode(Oid::TSRANGE, Format::Text, r.to_string().as_bytes()).unwrap();
            prop_assert_eq!(back, r);
        }
    }
}
