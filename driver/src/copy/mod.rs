#![doc = include_str!("../../docs/copy.md")]

mod rows;
mod typed;

use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use futures_core::Stream;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::connection::{Connection, within_timeout};
use crate::error::{BoxError, Error, ErrorKind, Result};
use crate::protocol::backend::{CopyResponse, Message, tag};
use crate::protocol::frontend;
use crate::query::quote_identifier;

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
    async fn start_copy(&mut self, sql: &str, want: u8) -> Result<CopyResponse> {
        self.ready().await?;
        let timeout = self.command_timeout();
        let r = within_timeout!(self, timeout, self.start_copy_inner(sql, want));
        self.note(r)
    }

    async fn start_copy_inner(&mut self, sql: &str, want: u8) -> Result<CopyResponse> {
        frontend::query(&mut self.io.write_buf, sql)?;
        self.queue_request(1);
        self.flush().await?;
        let mut error: Option<Error> = None;
        loop {
            let h = self.recv().await?;
            match h.tag {
                tag::COPY_IN_RESPONSE | tag::COPY_OUT_RESPONSE if h.tag == want => {
                    let response = match Message::parse(h.tag, self.io.body(h))? {
                        Message::CopyInResponse(r) | Message::CopyOutResponse(r) => r,
                        _ => unreachable!("parse returns the variant of its tag"),
                    };
                    self.io.consume(h);
                    if want == tag::COPY_IN_RESPONSE {
                        self.copy_in = true;
                    }
                    return Ok(response);
                }
                tag::COPY_IN_RESPONSE => {
                    // COPY FROM STDIN where COPY TO was expected: refuse the data.
                    self.io.consume(h);
                    frontend::copy_fail(&mut self.io.write_buf, "expected COPY TO STDOUT")?;
                    self.flush().await?;
                    error.get_or_insert_with(|| wrong_direction(sql, "FROM STDIN", "copy_in"));
                }
                tag::COPY_OUT_RESPONSE => {
                    self.io.consume(h);
                    error.get_or_insert_with(|| wrong_direction(sql, "TO STDOUT", "copy_out"));
                }
                tag::COPY_BOTH_RESPONSE => {
                    return Err(Error::unsupported(
                        "COPY BOTH (replication) is not supported on this connection",
                    ));
                }
                tag::ERROR_RESPONSE => {
                    let e = self.read_db_error(h, sql)?;
                    error.get_or_insert(e);
                }
                tag::READY_FOR_QUERY => {
                    self.on_ready_for_query(h)?;
                    return Err(error.unwrap_or_else(|| {
                        Error::new(
                            ErrorKind::Unsupported,
                            format!(
                                "not a COPY {} statement: {sql}",
                                if want == tag::COPY_IN_RESPONSE {
                                    "FROM STDIN"
                                } else {
                                    "TO STDOUT"
                                }
                            ),
                        )
                    }));
                }
                _ => {
                    // Rows or results of some other statement: validate and skip.
                    if h.tag == tag::COMMAND_COMPLETE {
                        self.read_command_complete(h)?;
                    } else {
                        Message::parse(h.tag, self.io.body(h))?;
                        self.io.consume(h);
                    }
                }
            }
        }
    }
}

fn wrong_direction(sql: &str, is: &str, use_: &str) -> Error {
    Error::new(
        ErrorKind::Unsupported,
        format!("the statement is a COPY {is}; use {use_} for it: {sql}"),
    )
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
        let response = self.start_copy(sql, tag::COPY_IN_RESPONSE).await?;
        Ok(CopyIn {
            conn: self,
            sql: sql.to_owned(),
            response,
            done: false,
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
            frontend::copy_data(&mut self.conn.io.write_buf, chunk)?;
            if self.conn.io.write_buf.len() >= FLUSH_THRESHOLD {
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
        self.finish_in_place().await
    }

    /// Aborts the COPY with `message` (sent as CopyFail); nothing is committed.
    pub async fn abort(mut self, message: &str) -> Result<()> {
        self.abort_in_place(message).await
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
        let conn = &mut *self.conn;
        {
            // (A `Context` is not `Send`: keep it out of the awaits below.)
            let mut cx = Context::from_waker(Waker::noop());
            loop {
                match conn.io.poll_read_some(&mut cx) {
                    Poll::Ready(Ok(_)) => continue,
                    Poll::Ready(Err(e)) => return conn.note(Err(e)),
                    Poll::Pending => break,
                }
            }
        }
        while let Some(h) = conn.io.has_frame()? {
            let handled = conn.handle_async(h);
            if conn.note(handled)? {
                continue;
            }
            if h.tag != tag::ERROR_RESPONSE {
                let e = conn.unexpected(h, "nothing during COPY FROM STDIN");
                return conn.note(Err(e));
            }
            let err = conn.read_db_error(h, &self.sql)?;
            // The server left COPY mode and answers with ReadyForQuery; data still on
            // its way is ignored by it. Drop what was not sent at all.
            conn.copy_in = false;
            if conn.io.written == 0 {
                conn.io.write_buf.clear();
            }
            let r = async {
                conn.flush().await?;
                conn.finish_after_error().await
            }
            .await;
            conn.note(r)?;
            self.done = true;
            return Err(err);
        }
        Ok(())
    }

    async fn finish_in_place(&mut self) -> Result<u64> {
        self.check_open()?;
        frontend::copy_done(&mut self.conn.io.write_buf);
        let conn = &mut *self.conn;
        let timeout = conn.command_timeout();
        let sql = &self.sql;
        let work = async {
            // No early-error check here: the server may already be answering CopyDone.
            conn.flush_while_reading().await?;
            conn.copy_in = false;
            read_copy_end(conn, sql).await
        };
        let r = within_timeout!(conn, timeout, work);
        self.done = true;
        let r = r.map_err(|e| {
            if e.kind() == ErrorKind::Timeout {
                e.context(
                    "the COPY was cancelled while the server finished it: its rows may or may \
                     not have been committed; check before retrying",
                )
            } else {
                e
            }
        });
        self.conn.note(r)
    }

    async fn abort_in_place(&mut self, message: &str) -> Result<()> {
        self.check_open()?;
        // What was not sent at all need not be.
        if self.conn.io.written == 0 {
            self.conn.io.write_buf.clear();
        }
        frontend::copy_fail(&mut self.conn.io.write_buf, message)?;
        let r = self.conn.flush().await;
        self.conn.note(r)?;
        self.conn.copy_in = false;
        let r = read_copy_end(self.conn, &self.sql).await;
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

/// Reads the end of a COPY FROM STDIN: CommandComplete and ReadyForQuery, or an error.
async fn read_copy_end(conn: &mut Connection, sql: &str) -> Result<u64> {
    let mut rows = 0;
    let mut error = None;
    loop {
        let h = conn.recv().await?;
        match h.tag {
            tag::COMMAND_COMPLETE => {
                let is_copy = conn.io.body(h).starts_with(b"COPY");
                let n = conn.read_command_complete(h)?;
                if is_copy {
                    rows = n;
                }
            }
            tag::ERROR_RESPONSE => {
                let e = conn.read_db_error(h, sql)?;
                error.get_or_insert(e);
            }
            tag::READY_FOR_QUERY => {
                conn.on_ready_for_query(h)?;
                return match error {
                    Some(e) => Err(e),
                    None => Ok(rows),
                };
            }
            _ => {
                // Results of statements after the COPY in the same query string.
                Message::parse(h.tag, conn.io.body(h))?;
                conn.io.consume(h);
            }
        }
    }
}

impl Drop for CopyIn<'_> {
    fn drop(&mut self) {
        if self.done || !self.conn.copy_in {
            return;
        }
        // Left open: the connection's next `ready()` sends CopyFail (`copy_in` is still
        // set). Data that never started to go out need not go at all; a message half
        // sent must be completed first.
        if self.conn.io.written == 0 {
            self.conn.io.write_buf.clear();
        }
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
        let response = self.start_copy(sql, tag::COPY_OUT_RESPONSE).await?;
        Ok(CopyOut {
            conn: self,
            sql: sql.to_owned(),
            response,
            rows: None,
            done: false,
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
        query: impl crate::query::IntoSql,
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
            next_copy_chunk(conn, &self.sql, &mut self.rows, &mut self.done)
        );
        if r.is_err() {
            self.done = true;
        }
        self.conn.note(r)
    }

    /// The data as a `Stream` of chunks.
    pub fn into_stream(self) -> impl Stream<Item = Result<Bytes>> + Send + 'c {
        futures_util::stream::try_unfold(self, |mut copy| async move {
            Ok(copy.next_chunk().await?.map(|chunk| (chunk, copy)))
        })
    }
}

/// Reads the next chunk of a COPY TO STDOUT; at the end records the rows and `done`.
async fn next_copy_chunk(
    conn: &mut Connection,
    sql: &str,
    rows: &mut Option<u64>,
    done: &mut bool,
) -> Result<Option<Bytes>> {
    loop {
        let h = conn.recv().await?;
        match h.tag {
            tag::COPY_DATA => return Ok(Some(conn.io.take_body(h))),
            tag::COPY_DONE => conn.io.consume(h),
            tag::COMMAND_COMPLETE => {
                let is_copy = conn.io.body(h).starts_with(b"COPY");
                let n = conn.read_command_complete(h)?;
                if is_copy {
                    *rows = Some(n);
                }
            }
            tag::ERROR_RESPONSE => {
                let err = conn.read_db_error(h, sql)?;
                conn.finish_after_error().await?;
                return Err(err);
            }
            tag::READY_FOR_QUERY => {
                conn.on_ready_for_query(h)?;
                *done = true;
                return Ok(None);
            }
            _ => {
                // Results of statements after the COPY in the same query string.
                Message::parse(h.tag, conn.io.body(h))?;
                conn.io.consume(h);
            }
        }
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
