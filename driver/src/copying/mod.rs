//! COPY FROM STDIN and COPY TO STDOUT on a connection: the raw streams and the typed
//! rows. The guide is the public `copy` module.

mod rows;
mod typed;

use bytes::Bytes;
use futures_core::Stream;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::connection::{Connection, CopyDirection, EarlyAnswer, within_timeout};
use crate::failure::{BoxError, Error, ErrorKind, Result};
use crate::protocol::backend::CopyResponse;
use crate::querying::quote_identifier;

pub use rows::{CopyRow, FromCopyRow, RowDecoder, RowEncoder};
pub use typed::{CopyInWriter, CopyOutReader};

/// Flush COPY IN data to the socket once this many bytes are buffered.
const FLUSH_THRESHOLD: usize = 256 * 1024;

/// The largest CopyData message we send for raw data.
const RAW_CHUNK: usize = 1024 * 1024;

/// The data format of a COPY (`FORMAT text | csv | binary`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CopyFormat {
    /// PostgreSQL's text format: tab-separated, `\N` for NULL.
    Text,
    /// CSV.
    Csv,
    /// PostgreSQL's binary COPY format.
    Binary,
}

impl CopyFormat {
    fn sql(self) -> &'static str {
        match self {
            CopyFormat::Text => "text",
            CopyFormat::Csv => "csv",
            CopyFormat::Binary => "binary",
        }
    }
}

/// `"schema"."table" ("a", "b")`: the table name (optionally `schema.table`) and columns,
/// each quoted so that names keep their case.
pub(crate) fn table_target(table: &str, columns: &[&str]) -> String {
    let mut out = table
        .split('.')
        .map(quote_identifier)
        .collect::<Vec<_>>()
        .join(".");
    if !columns.is_empty() {
        let cols: Vec<String> = columns.iter().map(|c| quote_identifier(c)).collect();
        out.push_str(" (");
        out.push_str(&cols.join(", "));
        out.push(')');
    }
    out
}

// --- Starting a COPY -----------------------------------------------------------------

impl Connection {
    /// Sends `sql` as a simple Query and reads up to CopyInResponse or CopyOutResponse
    /// (`want`). Anything else (an error, a statement that is not that kind of COPY) is
    /// read to its ReadyForQuery and returned as an error.
    async fn start_copy(&mut self, sql: &str, want: CopyDirection) -> Result<CopyResponse> {
        self.ready().await?;
        let timeout = self.command_timeout();
        let r = within_timeout!(self, timeout, self.begin_copy(sql, want));
        self.note(r)
    }
}

// --- COPY IN, raw --------------------------------------------------------------------

/// An open COPY FROM STDIN taking raw bytes (text, CSV or binary, as the statement says).
///
/// Send data with [`send`](CopyIn::send), [`send_stream`](CopyIn::send_stream) or
/// [`send_reader`](CopyIn::send_reader); end with [`finish`](CopyIn::finish) (commit the
/// rows, returns how many) or [`abort`](CopyIn::abort). Dropped without either, the COPY
/// is aborted before the connection's next use and nothing is committed.
pub struct CopyIn<'c> {
    conn: &'c mut Connection,
    sql: String,
    response: CopyResponse,
    /// The server finished the COPY (successfully or not) and we read its ReadyForQuery.
    done: bool,
    /// The `copy` span, from the COPY statement to the end (rows, or the failure).
    span: tracing::Span,
}

impl std::fmt::Debug for CopyIn<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CopyIn")
            .field("sql", &self.sql)
            .field("format", &self.response.format)
            .field("done", &self.done)
            .finish()
    }
}

impl Connection {
    /// Starts `COPY ... FROM STDIN` with raw data: `sql` is the whole COPY statement.
    pub async fn copy_in_raw(&mut self, sql: &str) -> Result<CopyIn<'_>> {
        let span = self.copy_span(sql, "in");
        let response =
            tracing::Instrument::instrument(self.start_copy(sql, CopyDirection::In), span.clone())
                .await
                .inspect_err(|e| crate::connection::record_error(&span, e))?;
        Ok(CopyIn {
            conn: self,
            sql: sql.to_owned(),
            response,
            done: false,
            span,
        })
    }

    /// Copies everything `source` yields into `table` (asyncpg's `copy_to_table`):
    /// `COPY table (columns) FROM STDIN (FORMAT format)`. Empty `columns` means all of
    /// them. Returns the number of rows copied.
    pub async fn copy_to_table<R: AsyncRead + Unpin>(
        &mut self,
        table: &str,
        columns: &[&str],
        format: CopyFormat,
        source: R,
    ) -> Result<u64> {
        let sql = format!(
            "COPY {} FROM STDIN (FORMAT {})",
            table_target(table, columns),
            format.sql()
        );
        let mut copy = self.copy_in_raw(&sql).await?;
        copy.send_reader(source).await?;
        copy.finish().await
    }
}

impl<'c> CopyIn<'c> {
    /// Whether the COPY is in binary format (otherwise text or CSV).
    pub fn is_binary(&self) -> bool {
        self.response.format == 1
    }

    /// The number of columns the COPY expects.
    pub fn column_count(&self) -> usize {
        self.response.column_formats.len()
    }

    /// Sends bytes of COPY data (any split: rows may span calls).
    pub async fn send(&mut self, data: impl AsRef<[u8]>) -> Result<()> {
        self.check_open()?;
        for chunk in data.as_ref().chunks(RAW_CHUNK) {
            self.conn.copy_data(chunk)?;
            if self.conn.copy_unsent() >= FLUSH_THRESHOLD {
                self.flush().await?;
            }
        }
        Ok(())
    }

    /// Sends every chunk of a stream. If the stream yields an error, the COPY is aborted
    /// (nothing is committed) and the error is returned.
    pub async fn send_stream<S, B, E>(&mut self, stream: S) -> Result<()>
    where
        S: Stream<Item = std::result::Result<B, E>>,
        B: AsRef<[u8]>,
        E: Into<BoxError>,
    {
        use futures_util::StreamExt;
        let mut stream = std::pin::pin!(stream);
        while let Some(item) = stream.next().await {
            match item {
                Ok(bytes) => self.send(bytes).await?,
                Err(e) => {
                    let e: BoxError = e.into();
                    // The server's log gets the cause too; ours keeps it as `source()`.
                    self.abort_in_place(&format!("the data source failed: {e}"))
                        .await?;
                    return Err(
                        Error::new(ErrorKind::Io, "the COPY data source failed").with_source(e)
                    );
                }
            }
        }
        Ok(())
    }

    /// Sends everything `reader` yields until its end (a file, a pipe). Returns the bytes
    /// sent. If reading fails, the COPY is aborted and the error returned.
    pub async fn send_reader<R: AsyncRead + Unpin>(&mut self, mut reader: R) -> Result<u64> {
        self.check_open()?;
        let mut buf = vec![0u8; 64 * 1024];
        let mut total = 0u64;
        loop {
            let n = match reader.read(&mut buf).await {
                Ok(0) => return Ok(total),
                Ok(n) => n,
                Err(e) => {
                    let message = format!("reading the COPY data failed: {e}");
                    self.abort_in_place(&message).await?;
                    return Err(Error::io("reading the COPY data failed", e));
                }
            };
            total += n as u64;
            self.send(&buf[..n]).await?;
        }
    }

    /// Ends the COPY successfully; returns the number of rows copied.
    pub async fn finish(mut self) -> Result<u64> {
        let span = self.span.clone();
        let r = tracing::Instrument::instrument(self.finish_in_place(), span.clone()).await;
        match &r {
            Ok(rows) => {
                span.record("rows", rows);
            }
            Err(e) => crate::connection::record_error(&span, e),
        }
        r
    }

    /// Aborts the COPY with `message` (sent as CopyFail); nothing is committed.
    pub async fn abort(mut self, message: &str) -> Result<()> {
        let span = self.span.clone();
        let r = tracing::Instrument::instrument(self.abort_in_place(message), span.clone()).await;
        span.record("rows", 0);
        if let Err(e) = &r {
            crate::connection::record_error(&span, e);
        }
        r
    }

    fn check_open(&self) -> Result<()> {
        if self.done {
            return Err(Error::closed("the COPY has already ended"));
        }
        self.conn.check_open()
    }

    /// Sends what is buffered, then returns at once the error the server may have sent
    /// meanwhile (a bad row): no point sending the rest.
    async fn flush(&mut self) -> Result<()> {
        let conn = &mut *self.conn;
        let timeout = conn.command_timeout();
        let r = within_timeout!(conn, timeout, conn.flush_while_reading());
        if r.as_ref().is_err_and(|e| e.kind() == ErrorKind::Timeout) {
            // Cancelled, and the connection brought back in sync: the COPY is over.
            self.done = true;
        }
        self.conn.note(r)?;
        // The runtime learns that the socket became readable only when its I/O driver
        // runs; while writes never block, that may be never. Yielding lets it run (tokio
        // polls the driver before resuming a yielded task), so an error is seen within a
        // flush or two of its arrival.
        tokio::task::yield_now().await;
        self.check_early_error().await
    }

    /// Processes whatever the server sent during the COPY without waiting for more.
    async fn check_early_error(&mut self) -> Result<()> {
        match self.conn.copy_in_early_answer(&self.sql).await? {
            EarlyAnswer::Nothing => Ok(()),
            EarlyAnswer::Failed(err) => {
                self.done = true;
                Err(err)
            }
        }
    }

    async fn finish_in_place(&mut self) -> Result<u64> {
        self.check_open()?;
        self.conn.copy_done();
        let conn = &mut *self.conn;
        let timeout = conn.command_timeout();
        let sql = &self.sql;
        let work = async {
            // No early-error check here: the server may already be answering CopyDone.
            conn.flush_while_reading().await?;
            conn.copy_in_sent();
            conn.read_copy_end(sql).await
        };
        let r = within_timeout!(conn, timeout, work);
        self.done = true;
        let r = r.map_err(|e| {
            if e.kind() == ErrorKind::Timeout {
                Error::new(
                    ErrorKind::OutcomeUnknown,
                    "the COPY was cancelled while the server finished it: its rows may or may \
                     not have been committed; check before retrying",
                )
                .with_source(e)
            } else {
                e
            }
        });
        self.conn.note(r)
    }

    async fn abort_in_place(&mut self, message: &str) -> Result<()> {
        self.check_open()?;
        // What was not sent at all need not be.
        self.conn.copy_fail(message).await?;
        let r = self.conn.read_copy_end(&self.sql).await;
        self.done = true;
        match self.conn.note(r) {
            Ok(_) => Err(Error::protocol(
                "the server accepted a COPY that was aborted",
            )),
            // The server confirms the abort with 57014 (query_canceled), or with the
            // error it had already found in the data: either way nothing was committed.
            Err(e) if e.as_db_error().is_some() && !e.is_connection_fatal() => Ok(()),
            Err(e) => Err(e),
        }
    }
}

impl Drop for CopyIn<'_> {
    fn drop(&mut self) {
        if self.done || !self.conn.in_copy_in() {
            return;
        }
        // Left open: the connection's next `ready()` sends CopyFail (it is still in COPY
        // FROM STDIN). Data that never started to go out need not go at all; a message
        // half sent must be completed first.
        self.conn.drop_unsent_copy_data();
        tracing::debug!("COPY FROM STDIN dropped unfinished; it will be aborted");
    }
}

// --- COPY OUT, raw -------------------------------------------------------------------

/// An open COPY TO STDOUT: the data arrives in chunks ([`CopyOut::next_chunk`], or
/// [`CopyOut::into_stream`]). Dropped before the end, the rest is discarded before the
/// connection's next use.
pub struct CopyOut<'c> {
    conn: &'c mut Connection,
    sql: String,
    response: CopyResponse,
    rows: Option<u64>,
    done: bool,
    /// The `copy` span, from the COPY statement to the end (rows, or the failure).
    span: tracing::Span,
}

impl std::fmt::Debug for CopyOut<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CopyOut")
            .field("sql", &self.sql)
            .field("format", &self.response.format)
            .field("done", &self.done)
            .finish()
    }
}

impl Connection {
    /// Starts `COPY ... TO STDOUT`: `sql` is the whole COPY statement.
    pub async fn copy_out_raw(&mut self, sql: &str) -> Result<CopyOut<'_>> {
        let span = self.copy_span(sql, "out");
        let response =
            tracing::Instrument::instrument(self.start_copy(sql, CopyDirection::Out), span.clone())
                .await
                .inspect_err(|e| crate::connection::record_error(&span, e))?;
        Ok(CopyOut {
            conn: self,
            sql: sql.to_owned(),
            response,
            rows: None,
            done: false,
            span,
        })
    }

    /// Runs `COPY ... TO STDOUT` and writes all its data to `output`; returns the rows.
    pub async fn copy_out_to<W: AsyncWrite + Unpin>(
        &mut self,
        sql: &str,
        mut output: W,
    ) -> Result<u64> {
        let mut copy = self.copy_out_raw(sql).await?;
        while let Some(chunk) = copy.next_chunk().await? {
            output
                .write_all(&chunk)
                .await
                .map_err(|e| Error::io("writing the COPY data to the output failed", e))?;
        }
        output
            .flush()
            .await
            .map_err(|e| Error::io("writing the COPY data to the output failed", e))?;
        Ok(copy.rows_copied().unwrap_or(0))
    }

    /// Copies a table (or some of its columns) to `output` (asyncpg's `copy_from_table`).
    /// Empty `columns` means all of them. Returns the rows copied.
    pub async fn copy_from_table<W: AsyncWrite + Unpin>(
        &mut self,
        table: &str,
        columns: &[&str],
        format: CopyFormat,
        output: W,
    ) -> Result<u64> {
        let sql = format!(
            "COPY {} TO STDOUT (FORMAT {})",
            table_target(table, columns),
            format.sql()
        );
        self.copy_out_to(&sql, output).await
    }

    /// Copies the result of a query to `output` (asyncpg's `copy_from_query`); the query
    /// is SQL text spliced into `COPY (query) TO STDOUT`, so it takes no parameters.
    pub async fn copy_from_query<W: AsyncWrite + Unpin>(
        &mut self,
        query: impl crate::querying::IntoSql,
        format: CopyFormat,
        output: W,
    ) -> Result<u64> {
        let sql = format!(
            "COPY ({}) TO STDOUT (FORMAT {})",
            query.into_sql(),
            format.sql()
        );
        self.copy_out_to(&sql, output).await
    }
}

impl<'c> CopyOut<'c> {
    /// Whether the data is in binary format (otherwise text or CSV).
    pub fn is_binary(&self) -> bool {
        self.response.format == 1
    }

    /// The number of columns in the data.
    pub fn column_count(&self) -> usize {
        self.response.column_formats.len()
    }

    /// The number of rows the server reported, once the COPY is complete.
    pub fn rows_copied(&self) -> Option<u64> {
        self.rows
    }

    /// The next chunk of data (one row per chunk, as the server sends it), or `None`
    /// at the end.
    pub async fn next_chunk(&mut self) -> Result<Option<Bytes>> {
        if self.done {
            return Ok(None);
        }
        let conn = &mut *self.conn;
        let timeout = conn.command_timeout();
        let r = within_timeout!(
            conn,
            timeout,
            conn.copy_out_chunk(&self.sql, &mut self.rows)
        );
        if matches!(r, Ok(None)) {
            self.done = true;
            self.span.record("rows", self.rows.unwrap_or(0));
        }
        if r.is_err() {
            self.done = true;
        }
        let r = self.conn.note(r);
        if let Err(e) = &r {
            crate::connection::record_error(&self.span, e);
        }
        r
    }

    /// The data as a `Stream` of chunks.
    pub fn into_stream(self) -> impl Stream<Item = Result<Bytes>> + Send + 'c {
        futures_util::stream::try_unfold(self, |mut copy| async move {
            Ok(copy.next_chunk().await?.map(|chunk| (chunk, copy)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_targets_are_quoted() {
        assert_eq!(table_target("t", &[]), "\"t\"");
        assert_eq!(
            table_target("public.My T", &["a", "B\"c"]),
            "\"public\".\"My T\" (\"a\", \"B\"\"c\")"
        );
    }
}
