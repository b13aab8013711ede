//! Rows and their columns.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use bytes::Bytes;

use crate::failure::{Error, Result};
use crate::protocol::reader::Reader;
use crate::types::{Decode, Format, Oid, TypeInfo, ValueRef, short_type_name};

/// One column of a result: its name, type and origin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    name: Box<str>,
    type_info: TypeInfo,
    table_oid: Option<Oid>,
    column_id: Option<i16>,
    type_modifier: i32,
    format: Format,
}

impl Column {
    pub(crate) fn new(
        name: &str,
        type_info: TypeInfo,
        table_oid: Oid,
        column_id: i16,
        type_modifier: i32,
        format: Format,
    ) -> Column {
        Column {
            name: name.into(),
            type_info,
            table_oid: (table_oid.0 != 0).then_some(table_oid),
            column_id: (column_id != 0).then_some(column_id),
            type_modifier,
            format,
        }
    }

    /// The column's name (its alias, if the query gave one).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The name errors call the column by: the name without a `query!` override
    /// (`"big: i32"`, `"id!"`, `"tags[?]"` are the columns `big`, `id` and `tags` of
    /// the user's Rust code).
    pub(crate) fn error_name(&self) -> &str {
        override_base(&self.name)
    }

    /// The column's type.
    pub fn type_info(&self) -> &TypeInfo {
        &self.type_info
    }

    /// The OID of the table the column comes from, when it is a plain table column.
    pub fn table_oid(&self) -> Option<Oid> {
        self.table_oid
    }

    /// The column's attribute number in that table.
    pub fn column_id(&self) -> Option<i16> {
        self.column_id
    }

    /// The type modifier (`varchar(20)` has one), or -1.
    pub fn type_modifier(&self) -> i32 {
        self.type_modifier
    }

    /// The format values of this column arrive in.
    pub fn format(&self) -> Format {
        self.format
    }
}

/// The columns of a result, with a name index built once per statement.
#[derive(Debug)]
pub struct Columns {
    list: Vec<Column>,
    by_name: HashMap<Box<str>, usize>,
    /// Unique per column set made in this process, never reused: `#[derive(FromRecord)]`
    /// caches name -> position lookups under it (see `derive_support`).
    id: u64,
}

impl PartialEq for Columns {
    fn eq(&self, other: &Columns) -> bool {
        self.list == other.list
    }
}

impl Eq for Columns {}

impl Columns {
    pub(crate) fn new(list: Vec<Column>) -> Columns {
        static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let mut by_name = HashMap::with_capacity(list.len());
        for (i, c) in list.iter().enumerate() {
            // Like PostgreSQL's own lookup, the first column with a name wins.
            by_name.entry(c.name.clone()).or_insert(i);
        }
        let id = NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Columns { list, by_name, id }
    }

    /// This column set's identity (never 0, never reused in the process).
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// The columns in order.
    pub fn as_slice(&self) -> &[Column] {
        &self.list
    }

    /// The number of columns.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether there are no columns.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// User-defined column types whose names this connection has not looked up yet.
    pub(crate) fn unnamed_user_types(&self) -> Vec<crate::types::Oid> {
        let mut oids: Vec<crate::types::Oid> = self
            .list
            .iter()
            .map(|c| &c.type_info)
            .filter(|t| !t.is_builtin() && t.known_name().is_none())
            .map(TypeInfo::oid)
            .collect();
        oids.sort_unstable();
        oids.dedup();
        oids
    }

    /// The same columns with their types renamed by `name` (user types the connection
    /// looked up after the description arrived).
    pub(crate) fn renamed(&self, name: impl Fn(crate::types::Oid) -> TypeInfo) -> Columns {
        Columns::new(
            self.list
                .iter()
                .map(|c| Column {
                    type_info: name(c.type_info.oid()),
                    ..c.clone()
                })
                .collect(),
        )
    }

    /// The index of the column called `name`.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }

    fn names(&self) -> String {
        let names: Vec<&str> = self.list.iter().map(|c| c.name()).collect();
        names.join(", ")
    }
}

impl std::ops::Deref for Columns {
    type Target = [Column];
    fn deref(&self) -> &[Column] {
        &self.list
    }
}

/// Something that picks a column: its position (`usize`) or its name (`&str`).
pub trait ColumnIndex: fmt::Debug + sealed::Sealed {
    /// The position of the column in `columns`, or an error naming what is there.
    fn index(&self, columns: &Columns) -> Result<usize>;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for usize {}
    impl Sealed for str {}
    impl Sealed for String {}
    impl<T: ?Sized + Sealed> Sealed for &T {}
}

impl ColumnIndex for usize {
    #[inline]
    fn index(&self, columns: &Columns) -> Result<usize> {
        if *self < columns.len() {
            Ok(*self)
        } else {
            Err(no_such_position(*self, columns))
        }
    }
}

#[cold]
#[inline(never)]
fn no_such_position(i: usize, columns: &Columns) -> Error {
    Error::decode(format!(
        "no column {i} in row: it has {} columns ({})",
        columns.len(),
        columns.names()
    ))
}

impl ColumnIndex for str {
    fn index(&self, columns: &Columns) -> Result<usize> {
        columns.index_of(self).ok_or_else(|| {
            Error::decode(format!(
                "no column \"{self}\" in row (columns: {})",
                columns.names()
            ))
        })
    }
}

impl ColumnIndex for String {
    fn index(&self, columns: &Columns) -> Result<usize> {
        self.as_str().index(columns)
    }
}

impl<T: ColumnIndex + ?Sized> ColumnIndex for &T {
    #[inline]
    fn index(&self, columns: &Columns) -> Result<usize> {
        (**self).index(columns)
    }
}

/// Where one value lies in a DataRow body: the offset of its first byte and its length;
/// a negative length is `NULL` (as on the wire). Eight bytes, where an
/// `Option<Range<u32>>` takes twelve.
#[derive(Clone, Copy)]
struct Span {
    start: u32,
    len: i32,
}

/// The spans of a row's values; rows of up to eight columns keep them inline.
type Spans = smallvec::SmallVec<[Span; 8]>;

/// One row of a result.
///
/// Holds the server's bytes as they arrived (shared, not copied) and decodes a
/// column when asked: `row.get::<i64, _>("id")`, `row.try_get::<Option<String>, _>(1)`.
#[derive(Clone)]
pub struct Row {
    columns: Arc<Columns>,
    body: Bytes,
    spans: Spans,
}

impl Row {
    /// Builds a row from a DataRow body, checking that it matches `columns`.
    #[inline]
    pub(crate) fn new(columns: Arc<Columns>, body: Bytes) -> Result<Row> {
        let spans = spans(&body, columns.len())?;
        Ok(Row {
            columns,
            body,
            spans,
        })
    }

    /// A row over values at `ranges` of `body` (`None`: NULL), which need not be a
    /// DataRow: a logical replication tuple is read in place this way. Fails unless
    /// there is one range per column and every range lies inside `body`.
    pub(crate) fn from_ranges(
        columns: Arc<Columns>,
        body: Bytes,
        ranges: impl IntoIterator<Item = Option<std::ops::Range<usize>>>,
    ) -> Result<Row> {
        let mut out = Spans::new();
        for r in ranges {
            out.push(match r {
                None => Span { start: 0, len: -1 },
                Some(r) if r.start <= r.end && r.end <= body.len() => {
                    let start = u32::try_from(r.start)
                        .map_err(|_| Error::protocol("a row larger than 4 GiB"))?;
                    let len = i32::try_from(r.end - r.start)
                        .map_err(|_| Error::protocol("a value larger than 2 GiB"))?;
                    Span { start, len }
                }
                Some(_) => return Err(Error::protocol("a value lies outside its message")),
            });
        }
        if out.len() != columns.len() {
            return Err(Error::protocol(format!(
                "a row has {} values but {} columns",
                out.len(),
                columns.len()
            )));
        }
        Ok(Row {
            columns,
            body,
            spans: out,
        })
    }

    /// The bytes the values lie in.
    pub(crate) fn body(&self) -> &Bytes {
        &self.body
    }

    /// Where value `i` lies in [`Row::body`] (`None`: NULL). `i` must be a column index.
    pub(crate) fn value_range(&self, i: usize) -> Option<std::ops::Range<usize>> {
        let span = self.spans[i];
        usize::try_from(span.len)
            .ok()
            .map(|len| span.start as usize..span.start as usize + len)
    }

    /// The same values under `columns` (the same shape, better-named types).
    pub(crate) fn with_columns(self, columns: Arc<Columns>) -> Row {
        debug_assert_eq!(columns.len(), self.columns.len());
        Row { columns, ..self }
    }

    /// The columns of this row.
    pub fn columns(&self) -> &Columns {
        &self.columns
    }

    /// The number of columns.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether the row has no columns.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The raw value of a column.
    pub fn try_get_raw<I: ColumnIndex>(&self, index: I) -> Result<ValueRef<'_>> {
        let i = index.index(&self.columns)?;
        Ok(self.raw(i))
    }

    #[inline]
    fn raw(&self, i: usize) -> ValueRef<'_> {
        let column = &self.columns.list[i];
        let span = self.spans[i];
        // Spans were computed from this body in `new`: they lie inside it.
        let bytes = usize::try_from(span.len).ok().map(|len| {
            let start = span.start as usize;
            &self.body[start..start + len]
        });
        ValueRef::new(bytes, column.format, &column.type_info)
    }

    /// Decodes a column, checking that its type fits `T`.
    #[inline]
    pub fn try_get<'r, T, I>(&'r self, index: I) -> Result<T>
    where
        T: Decode<'r> + crate::types::Type,
        I: ColumnIndex,
    {
        let i = index.index(&self.columns)?;
        let column = &self.columns.list[i];
        if !T::compatible(&column.type_info) {
            return Err(mismatch::<T>(column));
        }
        let value = self.raw(i);
        match T::decode(value) {
            Ok(v) => Ok(v),
            Err(e) => Err(decode_failure::<T>(column, value.is_null(), &e)),
        }
    }

    /// Decodes a column without checking its type (the macros checked it at compile time).
    #[inline]
    pub fn try_get_unchecked<'r, T, I>(&'r self, index: I) -> Result<T>
    where
        T: Decode<'r>,
        I: ColumnIndex,
    {
        let i = index.index(&self.columns)?;
        let value = self.raw(i);
        match T::decode(value) {
            Ok(v) => Ok(v),
            Err(e) => Err(decode_failure::<T>(
                &self.columns.list[i],
                value.is_null(),
                &e,
            )),
        }
    }

    /// Decodes a column, panicking with the error message if it cannot.
    ///
    /// Use [`Row::try_get`] to handle the error instead.
    #[track_caller]
    pub fn get<'r, T, I>(&'r self, index: I) -> T
    where
        T: Decode<'r> + crate::types::Type,
        I: ColumnIndex,
    {
        match self.try_get(index) {
            Ok(v) => v,
            Err(e) => panic!("{e}"),
        }
    }
}

/// `name` without the override syntax of the query macros (`!`, `?`, `[!]`, `[?]`,
/// `: Type`), when it has one after a non-empty name; otherwise `name` itself.
fn override_base(name: &str) -> &str {
    let left = match name.split_once(':') {
        Some((l, _)) => l.trim_end(),
        None => name,
    };
    let left = left
        .strip_suffix("[!]")
        .or_else(|| left.strip_suffix("[?]"))
        .unwrap_or(left);
    let left = left
        .strip_suffix('!')
        .or_else(|| left.strip_suffix('?'))
        .unwrap_or(left);
    if left.is_empty() { name } else { left }
}

/// The spans of the values of a DataRow `body` that must hold `expected` values.
///
/// Every length is checked against the bytes there, so the spans lie inside `body`.
#[inline]
fn spans(body: &[u8], expected: usize) -> Result<Spans> {
    match well_formed_spans(body, expected) {
        Some(spans) => Ok(spans),
        None => checked_spans(body, expected),
    }
}

/// The spans of a well-formed DataRow body, or `None` if anything is wrong with it
/// (then [`checked_spans`] says what).
#[inline]
fn well_formed_spans(body: &[u8], expected: usize) -> Option<Spans> {
    // Offsets are kept as u32: a larger row is refused.
    u32::try_from(body.len()).ok()?;
    let (count, mut rest) = body.split_first_chunk::<2>()?;
    if usize::try_from(i16::from_be_bytes(*count)).ok()? != expected {
        return None;
    }
    let mut spans = Spans::new();
    if expected > spans.inline_size() {
        spans.reserve_exact(expected);
    }
    let mut start: u32 = 2;
    for _ in 0..expected {
        let (len, tail) = rest.split_first_chunk::<4>()?;
        let len = i32::from_be_bytes(*len);
        // `start` stays within the body, which is under 4 GiB.
        start += 4;
        if len >= 0 {
            let (_, after) = tail.split_at_checked(len.unsigned_abs() as usize)?;
            rest = after;
            spans.push(Span { start, len });
            start += len.unsigned_abs();
        } else if len == -1 {
            rest = tail;
            spans.push(Span { start, len });
        } else {
            return None;
        }
    }
    rest.is_empty().then_some(spans)
}

/// The spans of a DataRow body read field by field, with an error saying what is wrong
/// with a malformed one.
#[cold]
#[inline(never)]
fn checked_spans(body: &[u8], expected: usize) -> Result<Spans> {
    if u32::try_from(body.len()).is_err() {
        return Err(Error::protocol("DataRow larger than 4 GiB"));
    }
    let mut r = Reader::new(body, "DataRow");
    let n = r.count16("field")?;
    if n != expected {
        return Err(field_count_mismatch(n, expected));
    }
    let mut spans = Spans::with_capacity(n);
    for _ in 0..n {
        // The body is under 4 GiB (checked above), so offsets and lengths fit.
        #[allow(clippy::cast_possible_truncation)]
        let start = (body.len() - r.remaining() + 4) as u32;
        #[allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]
        let len = match r.value()? {
            None => -1,
            Some(v) => v.len() as i32,
        };
        spans.push(Span { start, len });
    }
    r.finish()?;
    Ok(spans)
}

#[cold]
#[inline(never)]
fn field_count_mismatch(n: usize, columns: usize) -> Error {
    Error::protocol(format!(
        "DataRow has {n} values but the result has {columns} columns"
    ))
}

#[cold]
#[inline(never)]
fn mismatch<T: ?Sized>(column: &Column) -> Error {
    let hint = match rust_type_for(column.type_info.oid()) {
        Some(rust) => format!(" (use {rust})"),
        None => String::new(),
    };
    Error::decode(format!(
        "column \"{}\" is {}; cannot decode into {}{hint}",
        column.error_name(),
        column.type_info,
        short_type_name::<T>()
    ))
}

/// The error of a value that did not decode: a NULL where `T` cannot hold one, or
/// what the decoder said.
#[cold]
#[inline(never)]
fn decode_failure<T: ?Sized>(column: &Column, null: bool, e: &crate::types::DecodeError) -> Error {
    if null {
        // Only a type that cannot hold NULL fails on one.
        null_error::<T>(column)
    } else {
        decode_error(column, e)
    }
}

fn null_error<T: ?Sized>(column: &Column) -> Error {
    Error::decode(format!(
        "column \"{}\" is NULL; use Option<{}>",
        column.error_name(),
        short_type_name::<T>()
    ))
}

/// The Rust type that reads a column of built-in type `oid`, for mismatch messages.
fn rust_type_for(oid: Oid) -> Option<&'static str> {
    Some(match oid {
        Oid::BOOL => "bool",
        Oid::INT2 => "i16",
        Oid::INT4 => "i32",
        Oid::INT8 => "i64",
        Oid::FLOAT4 => "f32",
        Oid::FLOAT8 => "f64",
        Oid::TEXT | Oid::VARCHAR | Oid::BPCHAR | Oid::NAME => "String",
        Oid::BYTEA => "Vec<u8>",
        Oid::NUMERIC => "quarry::types::Numeric",
        Oid::UUID => "uuid::Uuid",
        Oid::JSON | Oid::JSONB => "serde_json::Value or Json<T>",
        Oid::OID => "quarry::types::Oid",
        Oid::INT4_ARRAY => "Vec<i32>",
        Oid::INT8_ARRAY => "Vec<i64>",
        Oid::TEXT_ARRAY => "Vec<String>",
        _ => return None,
    })
}

fn decode_error(column: &Column, e: &crate::types::DecodeError) -> Error {
    Error::decode(format!("column \"{}\": {e}", column.error_name()))
}

impl fmt::Debug for Row {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_map();
        for (i, c) in self.columns.iter().enumerate() {
            let v = self.raw(i);
            match v.bytes() {
                None => d.entry(&c.name(), &"NULL"),
                Some(b) if v.format() == Format::Text => {
                    d.entry(&c.name(), &String::from_utf8_lossy(b))
                }
                Some(b) => d.entry(
                    &c.name(),
                    &format_args!("<{} bytes {}>", b.len(), c.type_info),
                ),
            };
        }
        d.finish()
    }
}

/// A type that can be built from a whole row: a struct with
/// `#[derive(FromRecord)]`, or a tuple (by position).
pub trait FromRecord<'r>: Sized {
    /// Builds the value from `row`.
    fn from_record(row: &'r Row) -> Result<Self>;
}

impl<'r> FromRecord<'r> for Row {
    fn from_record(row: &'r Row) -> Result<Self> {
        Ok(row.clone())
    }
}

macro_rules! tuple_from_record {
    ($count:literal; $($T:ident $i:tt),+) => {
        impl<'r, $($T),+> FromRecord<'r> for ($($T,)+)
        where
            $($T: Decode<'r> + crate::types::Type,)+
        {
            fn from_record(row: &'r Row) -> Result<Self> {
                if row.len() != $count {
                    return Err(Error::decode(format!(
                        "row has {} columns but the tuple has {}",
                        row.len(),
                        $count
                    )));
                }
                Ok(($(row.try_get::<$T, usize>($i)?,)+))
            }
        }
    };
}

tuple_from_record!(1; A 0);
tuple_from_record!(2; A 0, B 1);
tuple_from_record!(3; A 0, B 1, C 2);
tuple_from_record!(4; A 0, B 1, C 2, D 3);
tuple_from_record!(5; A 0, B 1, C 2, D 3, E 4);
tuple_from_record!(6; A 0, B 1, C 2, D 3, E 4, F 5);
tuple_from_record!(7; A 0, B 1, C 2, D 3, E 4, F 5, G 6);
tuple_from_record!(8; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
tuple_from_record!(9; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8);
tuple_from_record!(10; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9);
tuple_from_record!(11; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10);
tuple_from_record!(12; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11);
tuple_from_record!(13; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12);
tuple_from_record!(14; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13);
tuple_from_record!(15; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13, O 14);
tuple_from_record!(16; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13, O 14, P 15);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Oid;

    fn columns(n: usize) -> Arc<Columns> {
        let list = (0..n)
            .map(|i| {
                Column::new(
                    &format!("c{i}"),
                    TypeInfo::from_oid(Oid::INT4),
                    Oid(0),
                    0,
                    -1,
                    Format::Binary,
                )
            })
            .collect();
        Arc::new(Columns::new(list))
    }

    /// A DataRow body: the field count, then each value (`None` is NULL).
    fn body(values: &[Option<&[u8]>]) -> Vec<u8> {
        let mut b = i16::try_from(values.len()).unwrap().to_be_bytes().to_vec();
        for v in values {
            match v {
                None => b.extend_from_slice(&(-1i32).to_be_bytes()),
                Some(v) => {
                    b.extend_from_slice(&i32::try_from(v.len()).unwrap().to_be_bytes());
                    b.extend_from_slice(v);
                }
            }
        }
        b
    }

    fn values(row: &Row) -> Vec<Option<Vec<u8>>> {
        (0..row.len())
            .map(|i| row.raw(i).bytes().map(<[u8]>::to_vec))
            .collect()
    }

    #[test]
    fn rows_give_back_their_values_and_nulls() {
        let shapes: [&[Option<&[u8]>]; 5] = [
            &[],
            &[Some(b"abc")],
            &[None, Some(b""), Some(b"\x00\x00\x00\x07")],
            &[Some(&b"x"[..]); 8],
            &[
                Some(b"y"),
                None,
                Some(b"zz"),
                None,
                None,
                Some(b"w"),
                None,
                None,
                Some(b"last"),
            ],
        ];
        for shape in shapes {
            let row = Row::new(columns(shape.len()), Bytes::from(body(shape))).unwrap();
            let want: Vec<Option<Vec<u8>>> = shape.iter().map(|v| v.map(<[u8]>::to_vec)).collect();
            assert_eq!(values(&row), want);
        }
    }

    /// The quick parse of a DataRow and the field-by-field one agree on every body,
    /// well-formed or not: both accept the same bodies with the same spans, and every
    /// body the quick parse refuses gets the field-by-field error.
    #[test]
    fn the_quick_and_the_checked_parse_agree_on_every_cut_and_corruption() {
        let good = body(&[Some(b"\x00\x00\x00\x01"), None, Some(b""), Some(b"hello")]);
        let mut bodies = vec![good.clone()];
        // Every truncation, every extension, every single byte flipped to 0x80 and 0xff.
        for cut in 0..good.len() {
            bodies.push(good[..cut].to_vec());
        }
        bodies.push([good.as_slice(), b"\x00"].concat());
        for i in 0..good.len() {
            for byte in [0x80, 0xff, 0x00] {
                let mut b = good.clone();
                b[i] = byte;
                bodies.push(b);
            }
        }
        for b in &bodies {
            for expected in [3, 4, 5] {
                let quick = well_formed_spans(b, expected);
                let checked = checked_spans(b, expected);
                match (&quick, &checked) {
                    (Some(q), Ok(c)) => {
                        let q: Vec<(u32, i32)> = q.iter().map(|s| (s.start, s.len)).collect();
                        let c: Vec<(u32, i32)> = c.iter().map(|s| (s.start, s.len)).collect();
                        assert_eq!(q, c, "{b:?}");
                    }
                    (None, Err(e)) => {
                        assert_eq!(e.kind(), crate::ErrorKind::Protocol, "{b:?}");
                        assert!(e.to_string().contains("DataRow"), "{e}");
                    }
                    _ => panic!("the parses disagree on {b:?} ({expected} columns)"),
                }
                // What a caller sees is the checked outcome either way.
                let row = Row::new(columns(expected), Bytes::from(b.clone()));
                assert_eq!(row.is_ok(), checked.is_ok(), "{b:?}");
            }
        }
    }

    #[test]
    fn malformed_rows_say_what_is_wrong() {
        let cases: [(Vec<u8>, usize, &str); 5] = [
            (
                body(&[Some(b"ab")]),
                2,
                "DataRow has 1 values but the result has 2 columns",
            ),
            (b"\xff\xff".to_vec(), 1, "negative field count"),
            (
                b"\x00\x01\xff\xff\xff\xfe".to_vec(),
                1,
                "negative value length (-2)",
            ),
            (
                b"\x00\x01\x00\x00\x00\x05ab".to_vec(),
                1,
                "truncated: expected 5 more bytes, 2 left",
            ),
            (
                [body(&[Some(b"ab")]), b"z".to_vec()].concat(),
                1,
                "1 unexpected trailing bytes",
            ),
        ];
        for (b, n, want) in cases {
            let err = Row::new(columns(n), Bytes::from(b)).unwrap_err();
            assert!(err.to_string().contains(want), "{err} (wanted {want:?})");
        }
    }
}
