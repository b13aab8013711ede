//! Reading from the server. Every frame is parsed and consumed here; notices,
//! notifications and parameter changes are handled on the way; ReadyForQuery is recorded
//! (one owed paid, the transaction status kept) and an ErrorResponse becomes an [`Error`]
//! (a FATAL one marks the connection broken). Callers get an [`Incoming`] to match on and
//! never see tag bytes, headers or the read buffer.

use std::task::{Context, Poll};

use bytes::Bytes;

use crate::failure::{Error, Result, SqlState};
use crate::protocol::TransactionStatus;
use crate::protocol::backend::{CopyResponse, Header, Message, tag};
use crate::row::Column;
use crate::types::{Format, TypeInfo};

use super::Connection;

/// A message from the server that answers a request (asynchronous messages never appear
/// here: the connection handles them as they arrive).
pub(crate) enum Incoming {
    /// `1`.
    ParseComplete,
    /// `2`.
    BindComplete,
    /// `3`.
    CloseComplete,
    /// `n`: the statement returns no rows.
    NoData,
    /// `s`: an Execute's row limit was reached.
    PortalSuspended,
    /// `I`: the query was empty.
    EmptyQuery,
    /// `t`: the statement's parameter types, as this connection knows them.
    ParameterDescription(Vec<TypeInfo>),
    /// `T`: the columns of a result, still encoded: [`Connection::columns`] reads them in
    /// the format the request asked for.
    RowDescription(Bytes),
    /// `D`: one row, its body kept as it arrived (shared, not copied).
    DataRow(Bytes),
    /// `C`: a command finished. The tag was noted for session changes already.
    CommandComplete(CommandTag),
    /// `E`: the server reported an error. A FATAL one marked the connection broken (the
    /// server hangs up instead of sending ReadyForQuery).
    Error(Error),
    /// `Z`: recorded (one ReadyForQuery owed paid, the transaction status kept).
    Ready(TransactionStatus),
    /// `G`: the server waits for COPY data.
    CopyIn(CopyResponse),
    /// `H`: the server is about to send COPY data.
    CopyOut(CopyResponse),
    /// `W`: COPY in both directions.
    CopyBoth,
    /// `d`.
    CopyData(Bytes),
    /// `c`.
    CopyDone,
}

impl Incoming {
    /// The message's name, for errors.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Incoming::ParseComplete => "ParseComplete",
            Incoming::BindComplete => "BindComplete",
            Incoming::CloseComplete => "CloseComplete",
            Incoming::NoData => "NoData",
            Incoming::PortalSuspended => "PortalSuspended",
            Incoming::EmptyQuery => "EmptyQueryResponse",
            Incoming::ParameterDescription(_) => "ParameterDescription",
            Incoming::RowDescription(_) => "RowDescription",
            Incoming::DataRow(_) => "DataRow",
            Incoming::CommandComplete(_) => "CommandComplete",
            Incoming::Error(_) => "ErrorResponse",
            Incoming::Ready(_) => "ReadyForQuery",
            Incoming::CopyIn(_) => "CopyInResponse",
            Incoming::CopyOut(_) => "CopyOutResponse",
            Incoming::CopyBoth => "CopyBothResponse",
            Incoming::CopyData(_) => "CopyData",
            Incoming::CopyDone => "CopyDone",
        }
    }

    /// An error for this message arriving where `expected` was due: the server's own
    /// error when it is one, else a protocol error naming both.
    pub(crate) fn unexpected(self, expected: &str) -> Error {
        match self {
            Incoming::Error(e) => e,
            other => Error::protocol(format!("expected {expected}, got {}", other.name())),
        }
    }
}

/// The start of a command tag (`INSERT 0 5`, `COPY 3`, `ROLLBACK`), the rows it counts,
/// and what the command did to the session, kept without allocating.
#[derive(Clone, Copy)]
pub(crate) struct CommandTag {
    start: [u8; 16],
    len: u8,
    rows: u64,
    effect: Effect,
}

/// What a completed command did to the session, as far as the connection cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Effect {
    /// Nothing the connection tracks (the common case: queries and DML).
    None,
    /// It may have changed session state (`SET`, `LISTEN`, `DECLARE`, `PREPARE`, ...): a
    /// pool resets the session before the next user.
    SessionChanged,
    /// `DEALLOCATE ALL` or `DISCARD ALL`: every prepared statement of the session is gone.
    StatementsGone,
}

impl Effect {
    fn of(tag: &str) -> Effect {
        // Most tags are SELECT, INSERT, UPDATE, DELETE, COPY: decided by the first byte.
        if !matches!(
            tag.as_bytes().first(),
            Some(b'R' | b'L' | b'U' | b'D' | b'P' | b'S')
        ) || tag.starts_with("SELECT")
            || tag.starts_with("UPDATE")
            || tag.starts_with("DELETE")
        {
            return Effect::None;
        }
        if tag == "DEALLOCATE ALL" || tag == "DISCARD ALL" {
            return Effect::StatementsGone;
        }
        let verb = tag.split(' ').next().unwrap_or("");
        if matches!(
            verb,
            "SET"
                | "RESET"
                | "LISTEN"
                | "UNLISTEN"
                | "DECLARE"
                | "PREPARE"
                | "DEALLOCATE"
                | "DISCARD"
        ) {
            Effect::SessionChanged
        } else {
            Effect::None
        }
    }
}

impl CommandTag {
    fn new(tag: &str) -> CommandTag {
        let mut start = [0u8; 16];
        let mut len = tag.len().min(start.len());
        while !tag.is_char_boundary(len) {
            len -= 1;
        }
        start[..len].copy_from_slice(&tag.as_bytes()[..len]);
        CommandTag {
            start,
            len: u8::try_from(len).unwrap_or(0),
            rows: rows_affected(tag),
            effect: Effect::of(tag),
        }
    }

    /// What the command did to the session.
    pub(crate) fn effect(&self) -> Effect {
        self.effect
    }

    /// The tag's first 16 bytes at most (the verb and `ALL`/`0` of most tags).
    pub(crate) fn start(&self) -> &str {
        std::str::from_utf8(&self.start[..usize::from(self.len)]).unwrap_or("")
    }

    /// The command's verb (`INSERT`, `COPY`, `ROLLBACK`).
    pub(crate) fn verb(&self) -> &str {
        self.start().split(' ').next().unwrap_or("")
    }

    /// The rows it affected or returned (the number at the end of the tag, else 0).
    pub(crate) fn rows(&self) -> u64 {
        self.rows
    }
}

/// The number at the end of a command tag (`INSERT 0 5`, `UPDATE 3`, `SELECT 10`).
fn rows_affected(tag: &str) -> u64 {
    tag.rsplit(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

impl Connection {
    /// The next message, read from the socket as needed.
    pub(crate) async fn recv(&mut self) -> Result<Incoming> {
        loop {
            let h = match self.io.has_frame()? {
                Some(h) => h,
                None => self.io.fill_frame().await?,
            };
            if let Some(m) = self.take_frame(h)? {
                return Ok(m);
            }
        }
    }

    /// The next message if a whole one is buffered already; never waits.
    pub(crate) fn try_recv(&mut self) -> Result<Option<Incoming>> {
        loop {
            let Some(h) = self.io.has_frame()? else {
                return Ok(None);
            };
            if let Some(m) = self.take_frame(h)? {
                return Ok(Some(m));
            }
        }
    }

    /// Consumes the whole frame `h` at the front of the buffer: `None` when it was an
    /// asynchronous message (handled), else the message.
    fn take_frame(&mut self, h: Header) -> Result<Option<Incoming>> {
        // The hot message, never an asynchronous one: straight out, body not copied.
        if h.tag == tag::DATA_ROW {
            return Ok(Some(Incoming::DataRow(self.io.take_body(h))));
        }
        if self.handle_async(h)? {
            return Ok(None);
        }
        self.take_incoming(h).map(Some)
    }

    /// Waits until a whole message is buffered (for loops that handle what is buffered
    /// with [`Connection::try_recv`] and read only when nothing is left).
    pub(crate) async fn fill(&mut self) -> Result<()> {
        self.io.fill_frame().await.map(drop)
    }

    /// Polls the socket for more bytes (the polled form of [`Connection::fill`]).
    pub(crate) fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<Result<()>> {
        self.io.poll_read_some(cx).map_ok(drop)
    }

    /// Parses and consumes the frame `h` (not an asynchronous one).
    fn take_incoming(&mut self, h: Header) -> Result<Incoming> {
        // The hot messages first, taken without parsing more than their framing. Those
        // with no body are checked to have none (a body is a protocol error, which
        // `Message::parse` reports).
        let empty = self.io.body(h).is_empty();
        let bare = match h.tag {
            tag::PARSE_COMPLETE if empty => Some(Incoming::ParseComplete),
            tag::BIND_COMPLETE if empty => Some(Incoming::BindComplete),
            tag::CLOSE_COMPLETE if empty => Some(Incoming::CloseComplete),
            tag::NO_DATA if empty => Some(Incoming::NoData),
            tag::PORTAL_SUSPENDED if empty => Some(Incoming::PortalSuspended),
            tag::EMPTY_QUERY_RESPONSE if empty => Some(Incoming::EmptyQuery),
            tag::COPY_DONE if empty => Some(Incoming::CopyDone),
            _ => None,
        };
        if let Some(m) = bare {
            self.io.consume(h);
            return Ok(m);
        }
        // (DataRow never gets here: `take_frame` takes it first.)
        match h.tag {
            tag::COPY_DATA => return Ok(Incoming::CopyData(self.io.take_body(h))),
            tag::ROW_DESCRIPTION => {
                // Validated now: a malformed description fails here, not when read.
                Message::parse(h.tag, self.io.body(h))?;
                return Ok(Incoming::RowDescription(self.io.take_body(h)));
            }
            _ => {}
        }
        let incoming = match Message::parse(h.tag, self.io.body(h))? {
            Message::ParseComplete => Incoming::ParseComplete,
            Message::BindComplete => Incoming::BindComplete,
            Message::CloseComplete => Incoming::CloseComplete,
            Message::NoData => Incoming::NoData,
            Message::PortalSuspended => Incoming::PortalSuspended,
            Message::EmptyQueryResponse => Incoming::EmptyQuery,
            Message::ParameterDescription(p) => {
                Incoming::ParameterDescription(p.types().map(|o| self.type_info(o)).collect())
            }
            Message::CommandComplete { tag } => Incoming::CommandComplete(CommandTag::new(tag)),
            Message::ErrorResponse(fields) => Incoming::Error(Error::db(fields.to_db_error()?)),
            Message::ReadyForQuery(status) => Incoming::Ready(status),
            Message::CopyInResponse(r) => Incoming::CopyIn(r),
            Message::CopyOutResponse(r) => Incoming::CopyOut(r),
            Message::CopyBothResponse(_) => Incoming::CopyBoth,
            Message::CopyDone => Incoming::CopyDone,
            _ => {
                return Err(Error::protocol(format!(
                    "the server sent {} in the middle of a session",
                    crate::protocol::backend::name(h.tag)
                )));
            }
        };
        self.io.consume(h);
        match &incoming {
            Incoming::Ready(status) => {
                if !self.pending.ready_for_query() {
                    return Err(Error::protocol(
                        "the server sent ReadyForQuery when none was expected",
                    ));
                }
                self.session.transaction_status = Some(*status);
            }
            Incoming::CommandComplete(tag) => self.note_command(tag),
            Incoming::Error(e) => self.note_db_error(e),
            _ => {}
        }
        Ok(incoming)
    }

    /// Records what a database error says about the connection: a FATAL one breaks it; a
    /// read-only transaction error means the server may be a standby now.
    fn note_db_error(&mut self, e: &Error) {
        let Some(db) = e.as_db_error() else {
            return;
        };
        if *db.code() == SqlState::ReadOnlySqlTransaction {
            self.read_only_error = true;
        }
        if matches!(
            db.severity(),
            crate::failure::Severity::Fatal | crate::failure::Severity::Panic
        ) {
            self.mark_broken(e.display_chain().to_string());
        }
    }

    /// The columns a RowDescription lists, read as results in `format`.
    pub(crate) fn columns(&self, desc: &Bytes, format: Format) -> Result<Vec<Column>> {
        match Message::parse(tag::ROW_DESCRIPTION, desc)? {
            Message::RowDescription(d) => Ok(d
                .fields()
                .map(|f| {
                    Column::new(
                        f.name,
                        self.type_info(f.type_oid),
                        f.table_oid,
                        f.column_id,
                        f.type_modifier,
                        format,
                    )
                })
                .collect()),
            _ => Err(Error::protocol("expected RowDescription")),
        }
    }

    /// After an error, the server skips to the Sync: reads up to its ReadyForQuery.
    pub(crate) async fn finish_after_error(&mut self) -> Result<()> {
        if self.is_closed() {
            // The error was FATAL (`take_incoming` marked the connection): the server hangs
            // up instead of sending ReadyForQuery, and the caller reports the server's error
            // rather than the hang-up.
            return Ok(());
        }
        while !matches!(self.recv().await?, Incoming::Ready(_)) {}
        Ok(())
    }

    /// After an error, consumes what is buffered up to ReadyForQuery without waiting;
    /// returns whether it arrived (the polled form of `finish_after_error`).
    pub(crate) fn skip_buffered_to_ready(&mut self) -> Result<bool> {
        while let Some(m) = self.try_recv()? {
            if matches!(m, Incoming::Ready(_)) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Reads the ReadyForQuery that ends a request whose results were all read.
    pub(crate) async fn expect_ready(&mut self) -> Result<()> {
        match self.recv().await? {
            Incoming::Ready(_) => Ok(()),
            other => Err(other.unexpected("ReadyForQuery")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_tags() {
        assert_eq!(rows_affected("INSERT 0 5"), 5);
        assert_eq!(rows_affected("UPDATE 3"), 3);
        assert_eq!(rows_affected("SELECT 10"), 10);
        assert_eq!(rows_affected("CREATE TABLE"), 0);
        assert_eq!(rows_affected(""), 0);
    }

    #[test]
    fn command_tags_keep_their_start_and_count() {
        let t = CommandTag::new("DEALLOCATE ALL");
        assert_eq!(
            (t.start(), t.verb(), t.rows()),
            ("DEALLOCATE ALL", "DEALLOCATE", 0)
        );
        let t = CommandTag::new("INSERT 0 1234567890123");
        assert_eq!(
            (t.start(), t.verb(), t.rows()),
            ("INSERT 0 1234567", "INSERT", 1234567890123)
        );
        // Cut before a character, never inside one.
        let t = CommandTag::new("ÉÉÉÉÉÉÉÉÉ");
        assert_eq!(t.start(), "ÉÉÉÉÉÉÉÉ");
    }
}
