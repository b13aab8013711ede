//! The simple query protocol: one Query message, any number of statements, text results.

use std::sync::Arc;

use crate::failure::{Error, Result};
use crate::protocol::frontend;
use crate::row::{Columns, Row};
use crate::types::Format;

use super::{CommandTag, Connection, Incoming};

impl Connection {
    /// Queues a simple Query (one ReadyForQuery owed) without sending it: dropped before
    /// it goes out, it is withdrawn.
    pub(crate) fn queue_simple_query(&mut self, sql: &str) -> Result<()> {
        self.note_sql(sql);
        self.write_request([], |buf| {
            frontend::query(buf, sql)?;
            Ok(1)
        })
    }

    /// Writes a simple Query (one ReadyForQuery owed) and sends it.
    pub(crate) async fn send_simple_query(&mut self, sql: &str) -> Result<()> {
        self.queue_simple_query(sql)?;
        self.flush().await
    }

    /// Whether the one request queued since `ready()` has started to go out (then the
    /// server will run it), or was sent whole.
    pub(crate) fn request_went_out(&self) -> bool {
        self.io.written > 0 || self.io.write_buf.is_empty()
    }

    /// Flushes a queued simple Query (a control statement: BEGIN, COMMIT, MOVE, ...) and
    /// reads its response to ReadyForQuery; returns the last command tag (its first 16
    /// bytes and its count), if any.
    pub(crate) async fn control_response(&mut self, sql: &str) -> Result<Option<CommandTag>> {
        self.flush().await?;
        let mut last = None;
        self.read_to_ready(sql, |m| match m {
            Incoming::CommandComplete(tag) => {
                last = Some(tag);
                Ok(())
            }
            Incoming::EmptyQuery | Incoming::CloseComplete => Ok(()),
            other => Err(other.unexpected("the response to a control statement")),
        })
        .await?;
        Ok(last)
    }

    /// Reads the rest of a simple-protocol response up to its ReadyForQuery, passing every
    /// other message to `each` (an error from `each` stops there, as a protocol error
    /// does). The first error the server reported, with `sql` attached, is returned once
    /// the server is ready again.
    pub(crate) async fn read_to_ready(
        &mut self,
        sql: &str,
        mut each: impl FnMut(Incoming) -> Result<()>,
    ) -> Result<()> {
        let mut error = None;
        loop {
            match self.recv().await? {
                Incoming::Error(e) => {
                    error.get_or_insert(e.with_statement(sql));
                }
                Incoming::Ready(_) => return error.map_or(Ok(()), Err),
                other => each(other)?,
            }
        }
    }

    /// Runs `sql` with the simple protocol and collects the rows of every statement in it
    /// (text format). The first error is returned once the server is ready again.
    pub(crate) async fn simple_query_inner(&mut self, sql: &str) -> Result<Vec<Row>> {
        self.send_simple_query(sql).await?;
        let mut rows = Vec::new();
        let mut columns: Option<Arc<Columns>> = None;
        let mut error = None;
        loop {
            match self.recv().await? {
                Incoming::RowDescription(desc) => {
                    columns = Some(Arc::new(Columns::new(self.columns(&desc, Format::Text)?)));
                }
                Incoming::DataRow(body) => {
                    let Some(cols) = &columns else {
                        return Err(Error::protocol("DataRow before RowDescription"));
                    };
                    rows.push(Row::new(cols.clone(), body)?);
                }
                Incoming::CommandComplete(_) | Incoming::EmptyQuery => columns = None,
                Incoming::CloseComplete => {}
                Incoming::CopyIn(_) => {
                    // COPY FROM STDIN through batch_execute: refuse it cleanly.
                    frontend::copy_fail(
                        &mut self.io.write_buf,
                        "COPY FROM STDIN is not supported by simple_query; use copy_in",
                    )?;
                    self.flush().await?;
                }
                Incoming::CopyOut(_) | Incoming::CopyData(_) | Incoming::CopyDone => {}
                Incoming::Error(err) => {
                    let err = err.with_statement(sql);
                    if self.is_closed() {
                        // FATAL: no ReadyForQuery will follow.
                        return Err(err);
                    }
                    error.get_or_insert(err);
                }
                Incoming::Ready(_) => {
                    return match error {
                        Some(e) => Err(e),
                        None => Ok(rows),
                    };
                }
                other => return Err(other.unexpected("a simple query response")),
            }
        }
    }
}
