//! The COPY sub-protocol on the wire: starting a COPY, CopyData out and in, its end, and
//! an abort. `copy/` builds the user-facing API on these.

use bytes::Bytes;

use crate::failure::{Error, ErrorKind, Result};
use crate::protocol::backend::CopyResponse;
use crate::protocol::frontend;

use super::{Connection, Incoming};

/// Which COPY a statement is expected to start.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum CopyDirection {
    /// `COPY ... FROM STDIN`: we send the data.
    In,
    /// `COPY ... TO STDOUT`: the server sends it.
    Out,
}

impl CopyDirection {
    fn sql(self) -> &'static str {
        match self {
            CopyDirection::In => "FROM STDIN",
            CopyDirection::Out => "TO STDOUT",
        }
    }
}

fn wrong_direction(sql: &str, is: &str, use_: &str) -> Error {
    Error::new(
        ErrorKind::Unsupported,
        format!("the statement is a COPY {is}; use {use_} for it: {sql}"),
    )
}

/// What the server said to the data sent so far, read without waiting.
pub(crate) enum EarlyAnswer {
    /// Nothing yet: go on sending.
    Nothing,
    /// The server rejected the data and left COPY mode; the connection is in sync again.
    Failed(Error),
}

impl Connection {
    /// Sends `sql` as a simple Query and reads up to the CopyInResponse or
    /// CopyOutResponse `want`. Anything else (an error, a statement that is not that kind
    /// of COPY) is read to its ReadyForQuery and returned as an error.
    pub(crate) async fn begin_copy(
        &mut self,
        sql: &str,
        want: CopyDirection,
    ) -> Result<CopyResponse> {
        self.send_simple_query(sql).await?;
        let mut error: Option<Error> = None;
        loop {
            match self.recv().await? {
                Incoming::CopyIn(r) if want == CopyDirection::In => {
                    self.set_phase(super::Phase::CopyIn);
                    return Ok(r);
                }
                Incoming::CopyOut(r) if want == CopyDirection::Out => return Ok(r),
                Incoming::CopyIn(_) => {
                    // COPY FROM STDIN where COPY TO was expected: refuse the data.
                    frontend::copy_fail(&mut self.io.write_buf, "expected COPY TO STDOUT")?;
                    self.flush().await?;
                    error.get_or_insert_with(|| wrong_direction(sql, "FROM STDIN", "copy_in"));
                }
                Incoming::CopyOut(_) => {
                    error.get_or_insert_with(|| wrong_direction(sql, "TO STDOUT", "copy_out"));
                }
                Incoming::CopyBoth => {
                    return Err(Error::unsupported(
                        "COPY BOTH (replication) is not supported on this connection",
                    ));
                }
                Incoming::Error(e) => {
                    error.get_or_insert(e.with_statement(sql));
                }
                Incoming::Ready(_) => {
                    return Err(error.unwrap_or_else(|| {
                        Error::new(
                            ErrorKind::Unsupported,
                            format!("not a COPY {} statement: {sql}", want.sql()),
                        )
                    }));
                }
                // Rows or results of some other statement (or CopyOut data refused above).
                _ => {}
            }
        }
    }

    /// Appends one CopyData message.
    pub(crate) fn copy_data(&mut self, chunk: &[u8]) -> Result<()> {
        frontend::copy_data(&mut self.io.write_buf, chunk)
    }

    /// Appends CopyData messages encoded whole by the caller, taking the bytes without
    /// copying when nothing else is buffered; returns an empty buffer to reuse.
    pub(crate) fn copy_data_encoded(&mut self, mut bytes: Vec<u8>) -> Vec<u8> {
        if self.io.write_buf.is_empty() {
            std::mem::swap(&mut self.io.write_buf, &mut bytes);
        } else {
            self.io.write_buf.extend_from_slice(&bytes);
        }
        bytes.clear();
        bytes
    }

    /// How many bytes of COPY data wait to be sent.
    pub(crate) fn copy_unsent(&self) -> usize {
        self.io.write_buf.len()
    }

    /// Reads, without waiting, what the server sent during a COPY FROM STDIN. An error
    /// means it left COPY mode: data not sent at all is dropped, and the connection is
    /// read to its ReadyForQuery.
    pub(crate) async fn copy_in_early_answer(&mut self, sql: &str) -> Result<EarlyAnswer> {
        {
            // (A `Context` is not `Send`: keep it out of the awaits below.)
            let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
            loop {
                match self.poll_fill(&mut cx) {
                    std::task::Poll::Ready(Ok(())) => continue,
                    std::task::Poll::Ready(Err(e)) => return self.note(Err(e)),
                    std::task::Poll::Pending => break,
                }
            }
        }
        let answer = self.try_recv();
        let err = match self.note(answer)? {
            None => return Ok(EarlyAnswer::Nothing),
            Some(Incoming::Error(e)) => e.with_statement(sql),
            Some(other) => {
                let e = other.unexpected("nothing during COPY FROM STDIN");
                return self.note(Err(e));
            }
        };
        // The server left COPY mode and answers with ReadyForQuery; data still on its way
        // is ignored by it. Drop what was not sent at all.
        self.end_copy_in();
        self.drop_unsent_copy_data();
        let r = async {
            self.flush().await?;
            self.finish_after_error().await
        }
        .await;
        self.note(r)?;
        Ok(EarlyAnswer::Failed(err))
    }

    /// Appends CopyDone: the data is complete.
    pub(crate) fn copy_done(&mut self) {
        frontend::copy_done(&mut self.io.write_buf);
    }

    /// CopyDone went out: the server is no longer waiting for data.
    pub(crate) fn copy_in_sent(&mut self) {
        self.end_copy_in();
    }

    /// Sends CopyFail with `message` (after dropping data not sent at all): the server
    /// ends the COPY with an error and commits nothing.
    pub(crate) async fn copy_fail(&mut self, message: &str) -> Result<()> {
        self.drop_unsent_copy_data();
        frontend::copy_fail(&mut self.io.write_buf, message)?;
        let r = self.flush().await;
        self.note(r)?;
        self.end_copy_in();
        Ok(())
    }

    /// Drops COPY data of which nothing was sent. A message half sent must be completed
    /// first, so then nothing is dropped. Only COPY data can be in the buffer during a
    /// COPY FROM STDIN (the request that started it went out whole), so no queued request
    /// is touched.
    pub(crate) fn drop_unsent_copy_data(&mut self) {
        if self.io.written == 0 {
            self.io.write_buf.clear();
        }
    }

    /// Whether this connection is in a COPY FROM STDIN.
    pub(crate) fn in_copy_in(&self) -> bool {
        matches!(self.phase, super::Phase::CopyIn)
    }

    /// The server is no longer in COPY FROM STDIN.
    fn end_copy_in(&mut self) {
        if self.in_copy_in() {
            self.phase = super::Phase::Ready;
        }
    }

    /// Reads the end of a COPY FROM STDIN: CommandComplete and ReadyForQuery, or an error.
    pub(crate) async fn read_copy_end(&mut self, sql: &str) -> Result<u64> {
        let mut rows = 0;
        self.read_to_ready(sql, |m| {
            // Other messages: results of statements after the COPY in the same query.
            if let Incoming::CommandComplete(tag) = m
                && tag.verb() == "COPY"
            {
                rows = tag.rows();
            }
            Ok(())
        })
        .await?;
        Ok(rows)
    }

    /// Reads the next chunk of a COPY TO STDOUT: `Ok(Some)` data, `Ok(None)` at the end
    /// (with the rows the server reported, if it did, in `rows`).
    pub(crate) async fn copy_out_chunk(
        &mut self,
        sql: &str,
        rows: &mut Option<u64>,
    ) -> Result<Option<Bytes>> {
        loop {
            match self.recv().await? {
                Incoming::CopyData(data) => return Ok(Some(data)),
                Incoming::CommandComplete(tag) if tag.verb() == "COPY" => *rows = Some(tag.rows()),
                Incoming::Error(err) => {
                    let err = err.with_statement(sql);
                    self.finish_after_error().await?;
                    return Err(err);
                }
                Incoming::Ready(_) => return Ok(None),
                // CopyDone, and results of statements after the COPY in the same query.
                _ => {}
            }
        }
    }
}
