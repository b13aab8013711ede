//! Binary COPY: the row traits, the typed writer and the typed reader.
//!
//! The format (PostgreSQL docs, "COPY", "Binary Format"): a header
//! `PGCOPY\n\xff\r\n\0`, an `i32` flags field and an `i32` header-extension length;
//! then each tuple as an `i16` field count followed by, per field, an `i32` length
//! (-1 for NULL) and the value in its binary send/recv form; then the trailer `i16` -1.

use std::borrow::Borrow;
use std::marker::PhantomData;
use std::ops::Range;

use bytes::{Buf, Bytes, BytesMut};
use futures_core::Stream;

use super::{CopyIn, CopyOut, FLUSH_THRESHOLD};
use crate::connection::Connection;
use crate::error::{Error, ErrorKind, Result};
use crate::protocol::frontend::MAX_MESSAGE_LEN;
use crate::query::{Arguments, AssertSqlSafe, query};
use crate::types::{
    Decode, Encode, EncodeBuf, EncodeError, Format, IsNull, Oid, Type, TypeInfo, TypeRef, ValueRef,
    short_type_name,
};

const SIGNATURE: &[u8; 11] = b"PGCOPY\n\xff\r\n\0";
/// Signature, flags (0) and header-extension length (0).
const HEADER_LEN: usize = 19;
/// A CopyData message header with a length placeholder, filled in at flush.
const COPY_DATA_HEADER: [u8; 5] = [b'd', 0, 0, 0, 0];

// --- Row traits ----------------------------------------------------------------------

/// A row that can be written by binary COPY: a tuple of up to 16 encodable values, or
/// a struct (the derive macros implement it for `#[derive(PgType)]`/`FromRecord` structs).
///
/// Implementing it by hand is three lines: the column count, each column's type, and
/// the fields in column order.
///
/// ```
/// use quarry_driver::copy::{CopyRow, RowEncoder};
/// use quarry_driver::types::{EncodeError, Type, TypeInfo, TypeRef};
///
/// struct Point { id: i64, label: String }
///
/// impl CopyRow for Point {
///     const COLUMNS: usize = 2;
///     fn column_types() -> Vec<TypeRef> {
///         vec![i64::type_ref(), String::type_ref()]
///     }
///     fn compatible(column: usize, ty: &TypeInfo) -> bool {
///         match column {
///             0 => i64::compatible(ty),
///             1 => String::compatible(ty),
///             _ => false,
///         }
///     }
///     fn encode_row(&self, row: &mut RowEncoder<'_>) -> Result<(), EncodeError> {
///         row.field(&self.id)?;
///         row.field(&self.label)
///     }
/// }
/// ```
pub trait CopyRow {
    /// The number of columns (fields written per row).
    const COLUMNS: usize;

    /// The PostgreSQL type of each column, in order (user types are resolved by name
    /// before the COPY starts).
    fn column_types() -> Vec<TypeRef>;

    /// Whether column `column` of the target, of type `ty`, can take this row's field.
    fn compatible(column: usize, ty: &TypeInfo) -> bool;

    /// Writes the fields in column order, each with [`RowEncoder::field`].
    fn encode_row(&self, row: &mut RowEncoder<'_>) -> Result<(), EncodeError>;
}

impl<T: CopyRow + ?Sized> CopyRow for &T {
    const COLUMNS: usize = T::COLUMNS;
    fn column_types() -> Vec<TypeRef> {
        T::column_types()
    }
    fn compatible(column: usize, ty: &TypeInfo) -> bool {
        T::compatible(column, ty)
    }
    fn encode_row(&self, row: &mut RowEncoder<'_>) -> Result<(), EncodeError> {
        (**self).encode_row(row)
    }
}

/// A row that can be read from binary COPY: a tuple of up to 16 decodable values, or a
/// struct (the derive macros implement it).
///
/// `decode_row` reads the fields in column order with [`RowDecoder::field`]:
/// `Ok(Point { id: row.field()?, label: row.field()? })`.
pub trait FromCopyRow: Sized {
    /// The number of columns.
    const COLUMNS: usize;

    /// Builds the value from the row's fields.
    fn decode_row(row: &mut RowDecoder<'_>) -> Result<Self>;
}

/// Writes the fields of one row (see [`CopyRow::encode_row`]).
pub struct RowEncoder<'a> {
    buf: &'a mut EncodeBuf,
    fields: usize,
}

impl std::fmt::Debug for RowEncoder<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never show values.
        f.debug_struct("RowEncoder")
            .field("fields", &self.fields)
            .finish()
    }
}

impl RowEncoder<'_> {
    /// Writes the next field.
    pub fn field<T: Encode + ?Sized>(&mut self, value: &T) -> Result<(), EncodeError> {
        let at = self.buf.len();
        self.buf.extend_from_slice(&[0; 4]);
        let len = match value.encode(self.buf)? {
            IsNull::Yes => {
                self.buf.truncate(at + 4);
                -1
            }
            IsNull::No => i32::try_from(self.buf.len() - at - 4).map_err(|_| {
                EncodeError::new("a value is larger than the 1 GiB PostgreSQL accepts")
            })?,
        };
        self.buf[at..at + 4].copy_from_slice(&len.to_be_bytes());
        self.fields += 1;
        Ok(())
    }
}

/// Reads the fields of one row (see [`FromCopyRow::decode_row`]).
pub struct RowDecoder<'a> {
    data: &'a [u8],
    ranges: &'a [Option<Range<usize>>],
    /// The columns' types when known (described); otherwise each field is read as the
    /// type the Rust value expects.
    types: Option<&'a [TypeInfo]>,
    next: usize,
}

impl std::fmt::Debug for RowDecoder<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RowDecoder")
            .field("fields", &self.ranges.len())
            .field("next", &self.next)
            .finish()
    }
}

impl RowDecoder<'_> {
    /// The number of fields in the row.
    pub fn len(&self) -> usize {
        self.ranges.len()
    }

    /// Whether the row has no fields.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Reads the next field as `T`.
    pub fn field<T: for<'r> Decode<'r> + Type>(&mut self) -> Result<T> {
        let i = self.next;
        let range = self.ranges.get(i).ok_or_else(|| {
            Error::decode(format!(
                "the COPY row has {} fields; field {} was asked for",
                self.ranges.len(),
                i + 1
            ))
        })?;
        self.next += 1;
        let bytes = match range {
            None => None,
            Some(r) => Some(self.data.get(r.clone()).ok_or_else(|| {
                Error::decode("a COPY field lies outside its row (internal bounds check)")
            })?),
        };
        let fallback;
        let ty = match self.types.and_then(|t| t.get(i)) {
            Some(ty) => {
                if !T::compatible(ty) {
                    return Err(Error::decode(format!(
                        "COPY column {} is {ty}; cannot decode into {}",
                        i + 1,
                        short_type_name::<T>()
                    )));
                }
                ty
            }
            None => {
                fallback = TypeInfo::from_oid(T::type_ref().oid().unwrap_or(Oid::UNSPECIFIED));
                &fallback
            }
        };
        T::decode(ValueRef::new(bytes, Format::Binary, ty))
            .map_err(|e| Error::decode(format!("COPY column {}: {e}", i + 1)))
    }
}

macro_rules! tuple_copy_row {
    ($count:literal; $($T:ident $i:tt),+) => {
        impl<$($T: Encode + Type),+> CopyRow for ($($T,)+) {
            const COLUMNS: usize = $count;
            fn column_types() -> Vec<TypeRef> {
                vec![$($T::type_ref()),+]
            }
            fn compatible(column: usize, ty: &TypeInfo) -> bool {
                match column {
                    $($i => $T::compatible(ty),)+
                    _ => false,
                }
            }
            fn encode_row(&self, row: &mut RowEncoder<'_>) -> Result<(), EncodeError> {
                $(row.field(&self.$i)?;)+
                Ok(())
            }
        }

        impl<$($T: for<'r> Decode<'r> + Type),+> FromCopyRow for ($($T,)+) {
            const COLUMNS: usize = $count;
            fn decode_row(row: &mut RowDecoder<'_>) -> Result<Self> {
                Ok(($(row.field::<$T>()?,)+))
            }
        }
    };
}

tuple_copy_row!(1; A 0);
tuple_copy_row!(2; A 0, B 1);
tuple_copy_row!(3; A 0, B 1, C 2);
tuple_copy_row!(4; A 0, B 1, C 2, D 3);
tuple_copy_row!(5; A 0, B 1, C 2, D 3, E 4);
tuple_copy_row!(6; A 0, B 1, C 2, D 3, E 4, F 5);
tuple_copy_row!(7; A 0, B 1, C 2, D 3, E 4, F 5, G 6);
tuple_copy_row!(8; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
tuple_copy_row!(9; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8);
tuple_copy_row!(10; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9);
tuple_copy_row!(11; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10);
tuple_copy_row!(12; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11);
tuple_copy_row!(13; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12);
tuple_copy_row!(14; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13);
tuple_copy_row!(15; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13, O 14);
tuple_copy_row!(16; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13, O 14, P 15);

// --- The writer ----------------------------------------------------------------------

/// A value whose only purpose is to carry a type to `resolve_param_types`.
struct TypeProbe(TypeRef);

impl Encode for TypeProbe {
    fn encode(&self, _: &mut EncodeBuf) -> Result<IsNull, EncodeError> {
        Ok(IsNull::Yes)
    }
    fn param_type(&self) -> TypeRef {
        self.0
    }
}

/// A typed binary COPY FROM STDIN: [`write`](CopyInWriter::write) rows, then
/// [`finish`](CopyInWriter::finish). Dropped without `finish`, the COPY is aborted and
/// nothing is committed.
///
/// Rows are encoded straight into CopyData messages of about 256 KiB, sent as they fill.
pub struct CopyInWriter<'c, T> {
    copy: CopyIn<'c>,
    buf: EncodeBuf,
    rows: u64,
    /// Set when a row failed to encode in a way that cannot be undone in the buffer.
    failed: Option<String>,
    _row: PhantomData<fn(&T)>,
}

impl<T> std::fmt::Debug for CopyInWriter<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CopyInWriter")
            .field("copy", &self.copy)
            .field("rows", &self.rows)
            .finish()
    }
}

impl Connection {
    /// Starts a typed binary `COPY ... FROM STDIN (FORMAT binary)`: `sql` is the whole
    /// statement. The COPY's column count must match `T`'s.
    ///
    /// ```no_run
    /// # async fn f(conn: &mut quarry_driver::Connection) -> quarry_driver::Result<()> {
    /// let mut w = conn.copy_in::<(i64, String, f64)>("COPY t (a, b, c) FROM STDIN BINARY").await?;
    /// w.write((1, "one".to_string(), 1.5)).await?;
    /// let rows = w.finish().await?;
    /// # Ok(()) }
    /// ```
    pub async fn copy_in<T: CopyRow>(&mut self, sql: &str) -> Result<CopyInWriter<'_, T>> {
        let count = i16::try_from(T::COLUMNS).map_err(|_| {
            Error::encode(format!(
                "a COPY row has at most 1600 columns, not {}",
                T::COLUMNS
            ))
        })?;
        // User types must be known before the COPY starts: no query can run during it.
        let mut probe = Arguments::new();
        for t in T::column_types() {
            probe.add(TypeProbe(t));
        }
        self.ready().await?;
        self.resolve_param_types(&probe).await?;
        let copy = self.copy_in_raw(sql).await?;
        let problem = if !copy.is_binary() {
            Some(
                "the COPY is not in binary format; add `(FORMAT binary)` or use copy_in_raw"
                    .to_owned(),
            )
        } else if copy.column_count() != T::COLUMNS {
            Some(format!(
                "the COPY has {} columns but the row type {} has {}",
                copy.column_count(),
                short_type_name::<T>(),
                T::COLUMNS
            ))
        } else {
            None
        };
        if let Some(problem) = problem {
            copy.abort(&problem).await?;
            return Err(Error::encode(problem));
        }
        let mut buf = EncodeBuf::new();
        buf.reserve(FLUSH_THRESHOLD + 64 * 1024);
        buf.extend_from_slice(&COPY_DATA_HEADER);
        buf.extend_from_slice(SIGNATURE);
        buf.extend_from_slice(&0i32.to_be_bytes());
        buf.extend_from_slice(&0i32.to_be_bytes());
        debug_assert_eq!(buf.len(), COPY_DATA_HEADER.len() + HEADER_LEN);
        let _ = count;
        Ok(CopyInWriter {
            copy,
            buf,
            rows: 0,
            failed: None,
            _row: PhantomData,
        })
    }

    /// Starts a typed binary COPY into `table` (optionally `schema.table`) and `columns`
    /// (empty: all columns), after checking that each column's type fits `T`.
    pub async fn copy_in_table<T: CopyRow>(
        &mut self,
        table: &str,
        columns: &[&str],
    ) -> Result<CopyInWriter<'_, T>> {
        let target = super::table_target(table, columns);
        let types = self.describe_target(table, columns).await?;
        if types.len() != T::COLUMNS {
            return Err(Error::encode(format!(
                "{target} has {} columns but the row type {} has {}",
                types.len(),
                short_type_name::<T>(),
                T::COLUMNS
            )));
        }
        for (i, (name, ty)) in types.iter().enumerate() {
            if !T::compatible(i, ty) {
                return Err(Error::encode(format!(
                    "column \"{name}\" of {target} is {ty}; field {} of {} does not fit it",
                    i + 1,
                    short_type_name::<T>()
                )));
            }
        }
        self.copy_in(&format!("COPY {target} FROM STDIN (FORMAT binary)"))
            .await
    }

    /// Copies `rows` into `table` by binary COPY in one call (asyncpg's
    /// `copy_records_to_table`): `conn.copy_rows_to_table("t", &["a", "b", "c"], rows)`.
    /// Returns the number of rows copied.
    pub async fn copy_rows_to_table<T, I>(
        &mut self,
        table: &str,
        columns: &[&str],
        rows: I,
    ) -> Result<u64>
    where
        T: CopyRow,
        I: IntoIterator<Item = T>,
    {
        let mut writer = self.copy_in_table::<T>(table, columns).await?;
        for row in rows {
            writer.write(row).await?;
        }
        writer.finish().await
    }

    /// The names and types of `columns` of `table` (all columns if empty).
    async fn describe_target(
        &mut self,
        table: &str,
        columns: &[&str],
    ) -> Result<Vec<(String, TypeInfo)>> {
        let table_sql = super::table_target(table, &[]);
        let cols = if columns.is_empty() {
            "*".to_owned()
        } else {
            columns
                .iter()
                .map(|c| crate::query::quote_identifier(c))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let q = query(AssertSqlSafe(format!(
            "SELECT {cols} FROM {table_sql} LIMIT 0"
        )))
        .persistent(false);
        let mut reader = self.start_query(&q).await?;
        let columns = reader.columns.clone();
        while self.next_row(&mut reader).await?.is_some() {}
        Ok(columns
            .iter()
            .map(|c| (c.name().to_owned(), c.type_info().clone()))
            .collect())
    }
}

impl<'c, T: CopyRow> CopyInWriter<'c, T> {
    /// Writes one row (a `T` or a `&T`). Data goes out as buffers fill; an error the
    /// server reports meanwhile (a constraint, a bad value) is returned at once.
    pub async fn write(&mut self, row: impl Borrow<T>) -> Result<()> {
        self.copy.check_open()?;
        if let Some(why) = &self.failed {
            return Err(Error::encode(format!(
                "an earlier row failed to encode ({why}); abort this COPY"
            )));
        }
        let start = self.buf.len();
        let patches = self.buf.patches().len();
        // COLUMNS fits i16: checked when the writer was made.
        let count = i16::try_from(T::COLUMNS).unwrap_or(i16::MAX);
        self.buf.extend_from_slice(&count.to_be_bytes());
        let mut encoder = RowEncoder {
            buf: &mut self.buf,
            fields: 0,
        };
        let r = row.borrow().encode_row(&mut encoder);
        let fields = encoder.fields;
        let problem = match r {
            Err(e) => Some(e.to_string()),
            Ok(()) if fields != T::COLUMNS => Some(format!(
                "{} wrote {fields} fields; the COPY has {} columns",
                short_type_name::<T>(),
                T::COLUMNS
            )),
            Ok(()) => None,
        };
        if let Some(problem) = problem {
            let message = format!("row {}: {problem}", self.rows + 1);
            if self.buf.patches().len() == patches {
                self.buf.truncate(start);
            } else {
                // A type placeholder was recorded inside the bad row; the buffer
                // cannot be rolled back safely.
                self.failed = Some(message.clone());
            }
            return Err(Error::encode(message));
        }
        self.rows += 1;
        if self.buf.len() >= FLUSH_THRESHOLD {
            self.flush_buf().await?;
        }
        Ok(())
    }

    /// Writes every row of `rows`.
    pub async fn write_all<I>(&mut self, rows: I) -> Result<()>
    where
        I: IntoIterator,
        I::Item: Borrow<T>,
    {
        for row in rows {
            self.write(row).await?;
        }
        Ok(())
    }

    /// The rows written so far.
    pub fn rows_written(&self) -> u64 {
        self.rows
    }

    /// Ends the COPY; returns the number of rows the server copied.
    pub async fn finish(mut self) -> Result<u64> {
        self.copy.check_open()?;
        if let Some(why) = self.failed.take() {
            let message = format!("a row failed to encode ({why})");
            self.copy.abort_in_place(&message).await?;
            return Err(Error::encode(message));
        }
        self.buf.extend_from_slice(&(-1i16).to_be_bytes());
        self.flush_buf().await?;
        self.copy.finish_in_place().await
    }

    /// Aborts the COPY with `message`; nothing is committed.
    pub async fn abort(mut self, message: &str) -> Result<()> {
        self.copy.abort_in_place(message).await
    }

    /// Wraps the buffer in its CopyData header and sends it.
    async fn flush_buf(&mut self) -> Result<()> {
        let body_len = self.buf.len() - 1;
        let len = i32::try_from(body_len)
            .ok()
            .filter(|_| body_len <= MAX_MESSAGE_LEN)
            .ok_or_else(|| {
                Error::encode(format!(
                    "a COPY row of about {body_len} bytes is larger than the 1 GiB PostgreSQL accepts"
                ))
            })?;
        self.buf[1..5].copy_from_slice(&len.to_be_bytes());
        let mut bytes = if self.buf.patches().is_empty() {
            std::mem::take(&mut *self.buf)
        } else {
            self.copy.conn.patch_oids(&self.buf).await?
        };
        let conn = &mut *self.copy.conn;
        // Hand the bytes to the connection without copying; take its empty buffer back.
        if conn.io.write_buf.is_empty() {
            std::mem::swap(&mut conn.io.write_buf, &mut bytes);
        } else {
            conn.io.write_buf.extend_from_slice(&bytes);
        }
        bytes.clear();
        let mut fresh = EncodeBuf::new();
        *fresh = bytes;
        fresh.extend_from_slice(&COPY_DATA_HEADER);
        self.buf = fresh;
        self.copy.flush().await
    }
}

// --- The reader ----------------------------------------------------------------------

/// A typed binary COPY TO STDOUT: rows as `T` ([`read`](CopyOutReader::read), or
/// [`into_stream`](CopyOutReader::into_stream)).
pub struct CopyOutReader<'c, T> {
    copy: CopyOut<'c>,
    /// Data received and not yet decoded (usually exactly one server chunk: no copy).
    pending: Bytes,
    header_done: bool,
    trailer_seen: bool,
    ranges: Vec<Option<Range<usize>>>,
    _row: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for CopyOutReader<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CopyOutReader")
            .field("copy", &self.copy)
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// Starts a typed binary `COPY ... TO STDOUT (FORMAT binary)`: `sql` is the whole
    /// statement, for example `COPY (SELECT a, b FROM t) TO STDOUT BINARY`.
    pub async fn copy_out<T: FromCopyRow>(&mut self, sql: &str) -> Result<CopyOutReader<'_, T>> {
        let copy = self.copy_out_raw(sql).await?;
        if !copy.is_binary() {
            return Err(Error::decode(
                "the COPY is not in binary format; add `(FORMAT binary)` or use copy_out_raw",
            ));
        }
        if copy.column_count() != T::COLUMNS {
            return Err(Error::decode(format!(
                "the COPY has {} columns but the row type {} has {}",
                copy.column_count(),
                short_type_name::<T>(),
                T::COLUMNS
            )));
        }
        Ok(CopyOutReader {
            copy,
            pending: Bytes::new(),
            header_done: false,
            trailer_seen: false,
            ranges: Vec::with_capacity(T::COLUMNS),
            _row: PhantomData,
        })
    }
}

/// What the front of the data holds.
#[derive(Debug, PartialEq, Eq)]
enum Scan {
    /// A whole tuple of this many bytes; `ranges` has its fields.
    Row(usize),
    /// The trailer (2 bytes).
    Trailer,
    /// Not enough bytes yet.
    Incomplete,
}

/// Looks at one tuple at the front of `data` without decoding it.
fn scan_tuple(data: &[u8], columns: usize, ranges: &mut Vec<Option<Range<usize>>>) -> Result<Scan> {
    let Some(&[a, b]) = data.get(..2) else {
        return Ok(Scan::Incomplete);
    };
    let count = i16::from_be_bytes([a, b]);
    if count == -1 {
        return Ok(Scan::Trailer);
    }
    let count = usize::try_from(count)
        .map_err(|_| Error::decode(format!("COPY tuple has a field count of {count}")))?;
    if count != columns {
        return Err(Error::decode(format!(
            "COPY tuple has {count} fields; the row type has {columns}"
        )));
    }
    ranges.clear();
    let mut pos = 2usize;
    for _ in 0..count {
        let Some(&[a, b, c, d]) = data.get(pos..pos + 4) else {
            return Ok(Scan::Incomplete);
        };
        pos += 4;
        let len = i32::from_be_bytes([a, b, c, d]);
        if len == -1 {
            ranges.push(None);
            continue;
        }
        let len = usize::try_from(len)
            .map_err(|_| Error::decode(format!("COPY field has a length of {len}")))?;
        let end = pos
            .checked_add(len)
            .ok_or_else(|| Error::decode("COPY field length overflows"))?;
        if end > data.len() {
            return Ok(Scan::Incomplete);
        }
        ranges.push(Some(pos..end));
        pos = end;
    }
    Ok(Scan::Row(pos))
}

/// Checks the binary COPY header at the front of `data`; returns its length, or `None`
/// if more bytes are needed.
fn scan_header(data: &[u8]) -> Result<Option<usize>> {
    let Some(head) = data.get(..HEADER_LEN) else {
        return Ok(None);
    };
    if &head[..11] != SIGNATURE {
        return Err(Error::decode(
            "the COPY data does not start with the binary COPY signature",
        ));
    }
    let flags = u32::from_be_bytes([head[11], head[12], head[13], head[14]]);
    if flags & (1 << 16) != 0 {
        return Err(Error::new(
            ErrorKind::Unsupported,
            "binary COPY with OIDs is not supported",
        ));
    }
    if flags & 0xffff_0000 & !(1 << 16) != 0 {
        return Err(Error::decode(format!(
            "binary COPY header has unknown critical flags {flags:#x}"
        )));
    }
    let ext = u32::from_be_bytes([head[15], head[16], head[17], head[18]]);
    let total = usize::try_from(ext)
        .ok()
        .and_then(|e| e.checked_add(HEADER_LEN))
        .ok_or_else(|| Error::decode("binary COPY header extension too long"))?;
    if data.len() < total {
        return Ok(None);
    }
    Ok(Some(total))
}

impl<'c, T: FromCopyRow> CopyOutReader<'c, T> {
    /// The next row, or `None` at the end.
    pub async fn read(&mut self) -> Result<Option<T>> {
        loop {
            if !self.header_done {
                if let Some(n) = scan_header(&self.pending)? {
                    self.pending.advance(n);
                    self.header_done = true;
                    continue;
                }
            } else if !self.trailer_seen {
                match scan_tuple(&self.pending, T::COLUMNS, &mut self.ranges)? {
                    Scan::Row(n) => {
                        let mut decoder = RowDecoder {
                            data: &self.pending[..n],
                            ranges: &self.ranges,
                            types: None,
                            next: 0,
                        };
                        let row = T::decode_row(&mut decoder);
                        self.pending.advance(n);
                        return row.map(Some);
                    }
                    Scan::Trailer => {
                        self.pending.advance(2);
                        self.trailer_seen = true;
                        continue;
                    }
                    Scan::Incomplete => {}
                }
            }
            match self.copy.next_chunk().await? {
                Some(chunk) => {
                    if self.trailer_seen && !chunk.is_empty() {
                        return Err(Error::decode("COPY data continues after its end marker"));
                    }
                    self.pending = if self.pending.is_empty() {
                        chunk
                    } else {
                        // A row split across chunks: join them.
                        let mut joined = BytesMut::with_capacity(self.pending.len() + chunk.len());
                        joined.extend_from_slice(&self.pending);
                        joined.extend_from_slice(&chunk);
                        joined.freeze()
                    };
                }
                None => {
                    if !self.trailer_seen || !self.pending.is_empty() {
                        return Err(Error::decode(
                            "the COPY data ended in the middle of a row or without its end marker",
                        ));
                    }
                    return Ok(None);
                }
            }
        }
    }

    /// Reads every remaining row.
    pub async fn read_all(&mut self) -> Result<Vec<T>> {
        let mut out = Vec::new();
        while let Some(row) = self.read().await? {
            out.push(row);
        }
        Ok(out)
    }

    /// The number of rows the server reported, once all were read.
    pub fn rows_copied(&self) -> Option<u64> {
        self.copy.rows_copied()
    }

    /// The rows as a `Stream`.
    pub fn into_stream(self) -> impl Stream<Item = Result<T>> + Send + 'c
    where
        T: Send + 'c,
    {
        futures_util::stream::try_unfold(self, |mut reader| async move {
            Ok(reader.read().await?.map(|row| (row, reader)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode<T: CopyRow>(row: &T) -> Vec<u8> {
        let mut buf = EncodeBuf::new();
        let mut e = RowEncoder {
            buf: &mut buf,
            fields: 0,
        };
        row.encode_row(&mut e).unwrap();
        assert_eq!(e.fields, T::COLUMNS);
        buf.as_bytes().to_vec()
    }

    #[test]
    fn fields_are_length_prefixed() {
        let bytes = encode(&(7i32, None::<String>, "ab"));
        assert_eq!(
            bytes,
            [
                0, 0, 0, 4, 0, 0, 0, 7, // 7
                0xff, 0xff, 0xff, 0xff, // NULL
                0, 0, 0, 2, b'a', b'b',
            ]
        );
    }

    #[test]
    fn tuples_scan_and_decode() {
        let mut data = vec![0, 3];
        data.extend(encode(&(7i32, None::<String>, "ab")));
        let mut ranges = Vec::new();
        let n = match scan_tuple(&data, 3, &mut ranges).unwrap() {
            Scan::Row(n) => n,
            other => panic!("{other:?}"),
        };
        assert_eq!(n, data.len());
        let mut d = RowDecoder {
            data: &data,
            ranges: &ranges,
            types: None,
            next: 0,
        };
        let row = <(i32, Option<String>, String)>::decode_row(&mut d).unwrap();
        assert_eq!(row, (7, None, "ab".to_owned()));
        // Every prefix is incomplete, never an error or a panic.
        for cut in 0..data.len() {
            assert_eq!(
                scan_tuple(&data[..cut], 3, &mut ranges).unwrap(),
                Scan::Incomplete
            );
        }
        assert_eq!(
            scan_tuple(&[0xff, 0xff], 3, &mut ranges).unwrap(),
            Scan::Trailer
        );
    }

    #[test]
    fn bad_tuples_are_errors() {
        let mut ranges = Vec::new();
        assert!(scan_tuple(&[0, 2], 3, &mut ranges).is_err());
        assert!(scan_tuple(&[0x80, 0], 3, &mut ranges).is_err());
        assert!(scan_tuple(&[0, 1, 0xff, 0xff, 0xff, 0xfe], 1, &mut ranges).is_err());
        // A wrong-size value is a decode error, not a panic.
        let data = [0, 1, 0, 0, 0, 3, 1, 2, 3];
        assert_eq!(scan_tuple(&data, 1, &mut ranges).unwrap(), Scan::Row(9));
        let mut d = RowDecoder {
            data: &data,
            ranges: &ranges,
            types: None,
            next: 0,
        };
        assert!(<(i64,)>::decode_row(&mut d).is_err());
    }

    #[test]
    fn headers() {
        let mut h = SIGNATURE.to_vec();
        h.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 2, 9, 9]);
        assert_eq!(scan_header(&h).unwrap(), Some(21));
        assert_eq!(scan_header(&h[..20]).unwrap(), None);
        h[0] = b'X';
        assert!(scan_header(&h).is_err());
    }

    proptest::proptest! {
        #[test]
        fn scanning_never_panics(data: Vec<u8>, columns in 0usize..4) {
            let mut ranges = Vec::new();
            let _ = scan_tuple(&data, columns, &mut ranges);
            let _ = scan_header(&data);
        }
    }
}
