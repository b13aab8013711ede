//! Rows and their columns.

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
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
    fn index(&self, columns: &Columns) -> Result<usize> {
        if *self < columns.len() {
            Ok(*self)
        } else {
            Err(Error::decode(format!(
                "no column {self} in row: it has {} columns ({})",
                columns.len(),
                columns.names()
            )))
        }
    }
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
    fn index(&self, columns: &Columns) -> Result<usize> {
        (**self).index(columns)
    }
}

/// Where each value lies in a DataRow body; `NULL` values have no range.
type Ranges = smallvec::SmallVec<[Option<Range<u32>>; 8]>;

/// One row of a result.
///
/// Holds the server's bytes as they arrived (shared, not copied) and decodes a
/// column when asked: `row.get::<i64, _>("id")`, `row.try_get::<Option<String>, _>(1)`.
#[derive(Clone)]
pub struct Row {
    columns: Arc<Columns>,
    body: Bytes,
    ranges: Ranges,
}

impl Row {
    /// Builds a row from a DataRow body, checking that it matches `columns`.
    pub(crate) fn new(columns: Arc<Columns>, body: Bytes) -> Result<Row> {
        let mut ranges = Ranges::new();
        let mut r = Reader::new(&body, "DataRow");
        let n = r.count16("field")?;
        if n != columns.len() {
            return Err(Error::protocol(format!(
                "DataRow has {n} values but the result has {} columns",
                columns.len()
            )));
        }
        for _ in 0..n {
            let start = body.len() - r.remaining() + 4;
            let value = r.value()?;
            ranges.push(match value {
                None => None,
                Some(v) => {
                    let start = u32::try_from(start)
                        .map_err(|_| Error::protocol("DataRow larger than 4 GiB"))?;
                    let len = u32::try_from(v.len())
                        .map_err(|_| Error::protocol("DataRow larger than 4 GiB"))?;
                    Some(start..start + len)
                }
            });
        }
        r.finish()?;
        Ok(Row {
            columns,
            body,
            ranges,
        })
    }

    /// A row over values at `ranges` of `body` (`None`: NULL), which need not be a
    /// DataRow: a logical replication tuple is read in place this way. Fails unless
    /// there is one range per column and every range lies inside `body`.
    pub(crate) fn from_ranges(
        columns: Arc<Columns>,
        body: Bytes,
        ranges: impl IntoIterator<Item = Option<Range<usize>>>,
    ) -> Result<Row> {
        let mut out = Ranges::new();
        for r in ranges {
            out.push(match r {
                None => None,
                Some(r) if r.start <= r.end && r.end <= body.len() => {
                    let start = u32::try_from(r.start)
                        .map_err(|_| Error::protocol("a row larger than 4 GiB"))?;
                    let end = u32::try_from(r.end)
                        .map_err(|_| Error::protocol("a row larger than 4 GiB"))?;
                    Some(start..end)
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
            ranges: out,
        })
    }

    /// The bytes the values lie in.
    pub(crate) fn body(&self) -> &Bytes {
        &self.body
    }

    /// Where value `i` lies in [`Row::body`] (`None`: NULL). `i` must be a column index.
    pub(crate) fn value_range(&self, i: usize) -> Option<Range<usize>> {
        self.ranges[i]
            .as_ref()
            .map(|r| r.start as usize..r.end as usize)
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
        self.ranges.len()
    }

    /// Whether the row has no columns.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// The raw value of a column.
    pub fn try_get_raw<I: ColumnIndex>(&self, index: I) -> Result<ValueRef<'_>> {
        let i = index.index(&self.columns)?;
        Ok(self.raw(i))
    }

    fn raw(&self, i: usize) -> ValueRef<'_> {
        let column = &self.columns.list[i];
        let bytes = self.ranges[i].as_ref().map(|r| {
            // Ranges were computed from this body in `new`.
            &self.body[r.start as usize..r.end as usize]
        });
        ValueRef::new(bytes, column.format, &column.type_info)
    }

    /// Decodes a column, checking that its type fits `T`.
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
        T::decode(value).map_err(|e| {
            if value.is_null() {
                // Only a type that cannot hold NULL fails on one.
                null_error::<T>(column)
            } else {
                decode_error(column, &e)
            }
        })
    }

    /// Decodes a column without checking its type (the macros checked it at compile time).
    pub fn try_get_unchecked<'r, T, I>(&'r self, index: I) -> Result<T>
    where
        T: Decode<'r>,
        I: ColumnIndex,
    {
        let i = index.index(&self.columns)?;
        let value = self.raw(i);
        let column = &self.columns.list[i];
        T::decode(value).map_err(|e| {
            if value.is_null() {
                null_error::<T>(column)
            } else {
                decode_error(column, &e)
            }
        })
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
