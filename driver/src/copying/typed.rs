//! The typed binary COPY writer and reader.

use std::borrow::Borrow;
use std::marker::PhantomData;
use std::ops::Range;

use bytes::{Buf, Bytes, BytesMut};
use futures_core::Stream;

use super::rows::{HEADER_LEN, SIGNATURE, Scan, scan_header, scan_tuple};
use super::{CopyIn, CopyOut, CopyRow, FLUSH_THRESHOLD, FromCopyRow, RowDecoder, RowEncoder};
use crate::connection::Connection;
use crate::failure::{Error, Result};
use crate::protocol::frontend::MAX_MESSAGE_LEN;
use crate::querying::{Arguments, AssertSqlSafe, query};
use crate::types::{Encode, EncodeBuf, EncodeError, IsNull, TypeInfo, TypeRef, short_type_name};

/// A CopyData message header with a length placeholder, filled in at flush.
const COPY_DATA_HEADER: [u8; 5] = [b'd', 0, 0, 0, 0];

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
                .map(|c| crate::querying::quote_identifier(c))
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
        let needs = self.buf.server_needs().len();
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
            // A value this server would store as something else (an infinite interval
            // before PostgreSQL 17) is refused here, before its row is sent.
            Ok(()) => self
                .buf
                .check_server(self.copy.conn.server_version().major())
                .err()
                .map(|e| e.to_string()),
        };
        if let Some(problem) = problem {
            let message = format!("row {}: {problem}", self.rows + 1);
            if self.buf.patches().len() == patches {
                self.buf.truncate(start);
                self.buf.truncate_needs(needs);
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
        let bytes = if self.buf.patches().is_empty() {
            std::mem::take(&mut *self.buf)
        } else {
            self.copy.conn.patch_oids(&self.buf)?
        };
        // Hand the bytes to the connection without copying; take its empty buffer back.
        let bytes = self.copy.conn.copy_data_encoded(bytes);
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
