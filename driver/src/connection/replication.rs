//! CopyBoth on the wire: `START_REPLICATION` puts the session in a COPY that runs both
//! ways, the server streaming WAL (or output plugin messages) in CopyData and the client
//! answering with status updates in CopyData, until either side sends CopyDone.
//! `replicating/` builds the user-facing stream on these methods.
//!
//! While CopyBoth is open the connection is in [`Phase::CopyBoth`](super::Phase): nothing
//! else may be sent, so `ready()` refuses the connection (and marks it broken) instead of
//! trying to resynchronise: a stream abandoned half-way cannot be taken back.

use bytes::Bytes;

use crate::failure::{Error, Result};
use crate::protocol::frontend;
use crate::row::Row;

use super::{Connection, Incoming, Phase};

/// What the server sent during CopyBoth.
pub(crate) enum CopyBothIncoming {
    /// One CopyData.
    Data(Bytes),
    /// The server ended the stream (CopyDone); the connection is out of CopyBoth and
    /// back in sync. For physical replication at the end of a timeline, the rows of the
    /// result set that follows (next timeline, its start).
    End(Vec<Row>),
}

impl Connection {
    /// Sends `command` (a simple Query: `START_REPLICATION ...`) and reads to its
    /// CopyBothResponse. An error or a command that does not start CopyBoth is read to
    /// ReadyForQuery and returned as an error.
    pub(crate) async fn start_copy_both(&mut self, command: &str) -> Result<()> {
        self.ready().await?;
        let r = async {
            self.send_simple_query(command).await?;
            let mut error: Option<Error> = None;
            loop {
                match self.recv().await? {
                    Incoming::CopyBoth => {
                        self.set_phase(Phase::CopyBoth);
                        return Ok(());
                    }
                    Incoming::Error(e) => {
                        if self.is_closed() {
                            return Err(e.with_statement(command));
                        }
                        error.get_or_insert(e.with_statement(command));
                    }
                    Incoming::Ready(_) => {
                        return Err(error.unwrap_or_else(|| {
                            Error::protocol(format!(
                                "the server did not enter CopyBoth mode for `{command}`"
                            ))
                        }));
                    }
                    Incoming::CopyIn(_) => {
                        frontend::copy_fail(&mut self.io.write_buf, "expected CopyBoth")?;
                        self.flush().await?;
                    }
                    // Results of something else; skipped to the ReadyForQuery.
                    _ => {}
                }
            }
        }
        .await;
        self.note(r)
    }

    /// Whether the connection is streaming (CopyBoth).
    pub(crate) fn in_copy_both(&self) -> bool {
        matches!(self.phase, Phase::CopyBoth)
    }

    /// The next message of the CopyBoth stream.
    pub(crate) async fn copy_both_recv(&mut self) -> Result<CopyBothIncoming> {
        let r = self.copy_both_recv_inner().await;
        self.note(r)
    }

    async fn copy_both_recv_inner(&mut self) -> Result<CopyBothIncoming> {
        if !self.in_copy_both() {
            self.check_open()?;
            return Err(Error::protocol("the replication stream has ended"));
        }
        match self.recv().await? {
            Incoming::CopyData(data) => Ok(CopyBothIncoming::Data(data)),
            Incoming::CopyDone => {
                // The server is done sending; answer with our CopyDone, then read the
                // results that follow (a timeline switch's) to ReadyForQuery.
                frontend::copy_done(&mut self.io.write_buf);
                self.flush().await?;
                let rows = self.read_stream_end().await?;
                Ok(CopyBothIncoming::End(rows))
            }
            Incoming::Error(e) => {
                // The stream failed: the server left CopyBoth (a FATAL error also ends
                // the session, which `recv` recorded).
                self.set_phase(Phase::Ready);
                if !self.is_closed() {
                    self.finish_after_error().await?;
                }
                Err(e)
            }
            other => Err(other.unexpected("CopyData during replication")),
        }
    }

    /// Appends a CopyData message encoded by `encode` (a status update) to the write
    /// buffer; it goes out with the next [`Connection::copy_both_flush`].
    pub(crate) fn copy_both_queue(
        &mut self,
        encode: impl FnOnce(&mut Vec<u8>) -> Result<()>,
    ) -> Result<()> {
        if !self.in_copy_both() {
            self.check_open()?;
            return Err(Error::protocol("the replication stream has ended"));
        }
        encode(&mut self.io.write_buf)
    }

    /// Sends what was queued.
    pub(crate) async fn copy_both_flush(&mut self) -> Result<()> {
        let r = self.io.flush().await;
        self.note(r)
    }

    /// Ends the stream from our side: sends CopyDone, skips the CopyData still in flight,
    /// and reads the server's CopyDone and results to ReadyForQuery. The connection is
    /// then in sync and can run other commands.
    pub(crate) async fn end_copy_both(&mut self) -> Result<Vec<Row>> {
        if !self.in_copy_both() {
            self.check_open()?;
            return Ok(Vec::new());
        }
        let r = async {
            frontend::copy_done(&mut self.io.write_buf);
            self.flush().await?;
            loop {
                match self.recv().await? {
                    Incoming::CopyData(_) => {}
                    Incoming::CopyDone => return self.read_stream_end().await,
                    Incoming::Error(e) => {
                        self.set_phase(Phase::Ready);
                        if !self.is_closed() {
                            self.finish_after_error().await?;
                        }
                        return Err(e);
                    }
                    other => return Err(other.unexpected("CopyDone")),
                }
            }
        }
        .await;
        self.note(r)
    }

    /// After both CopyDones: the results to ReadyForQuery, as text rows.
    async fn read_stream_end(&mut self) -> Result<Vec<Row>> {
        self.set_phase(Phase::Ready);
        let mut rows = Vec::new();
        let mut columns = None;
        let mut error = None;
        loop {
            match self.recv().await? {
                Incoming::RowDescription(desc) => {
                    columns = Some(std::sync::Arc::new(crate::row::Columns::new(
                        self.columns(&desc, crate::types::Format::Text)?,
                    )));
                }
                Incoming::DataRow(body) => {
                    let Some(cols) = &columns else {
                        return Err(Error::protocol("DataRow before RowDescription"));
                    };
                    rows.push(Row::new(cols.clone(), body)?);
                }
                Incoming::Error(e) => {
                    error.get_or_insert(e);
                }
                Incoming::Ready(_) => return error.map_or(Ok(rows), Err),
                _ => {}
            }
        }
    }
}
