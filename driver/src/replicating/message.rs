//! The typed messages of a logical replication stream, and tuples read through the
//! driver's own type system.

use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use smallvec::SmallVec;

use crate::failure::{Error, Result};
use crate::row::{ColumnIndex, Columns, FromRecord, Row};
use crate::types::{Decode, Oid, PgLsn, Type};

/// One message of a pgoutput stream.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum LogicalMessage {
    /// A transaction starts.
    Begin(Begin),
    /// It committed: acknowledge the event's LSN once its changes are durable.
    Commit(Commit),
    /// The transaction came from another node (replicated into this server).
    Origin(Origin),
    /// A table's description, sent before its first change in the session and after it
    /// changes. The stream keeps it; changes carry it too.
    Relation(Arc<Relation>),
    /// A user type used by a following Relation.
    Type(TypeMessage),
    /// A row was inserted.
    Insert(Insert),
    /// A row was updated.
    Update(Update),
    /// A row was deleted.
    Delete(Delete),
    /// Tables were truncated.
    Truncate(Truncate),
    /// `pg_logical_emit_message` (with `messages` on).
    Message(Message),
    /// A block of a streamed (large, in-progress) transaction starts.
    StreamStart(StreamStart),
    /// The block ends.
    StreamStop,
    /// A streamed transaction committed.
    StreamCommit(StreamCommit),
    /// A streamed transaction, or one of its subtransactions, aborted: drop its changes.
    StreamAbort(StreamAbort),
}

/// A transaction starts.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Begin {
    /// The LSN of its commit record.
    pub final_lsn: PgLsn,
    /// When it committed.
    pub commit_time: SystemTime,
    /// Its transaction id.
    pub xid: u32,
}

/// A transaction committed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Commit {
    /// The LSN of its commit record.
    pub commit_lsn: PgLsn,
    /// Its end in the WAL: acknowledging this position moves the slot past it.
    pub end_lsn: PgLsn,
    /// When it committed.
    pub commit_time: SystemTime,
}

/// The origin of a replicated transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Origin {
    /// The commit's LSN on the origin server.
    pub commit_lsn: PgLsn,
    /// The origin's name.
    pub name: String,
}

/// A table's replica identity: which old values Update and Delete carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReplicaIdentity {
    /// The primary key (`d`).
    Default,
    /// Nothing (`n`): updates and deletes cannot be published.
    Nothing,
    /// The whole old row (`f`).
    Full,
    /// The columns of a chosen unique index (`i`).
    Index,
    /// A code this driver does not know.
    Other(u8),
}

/// One column of a [`Relation`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RelationColumn {
    /// Its name.
    pub name: String,
    /// Its type.
    pub type_oid: Oid,
    /// Its type modifier (`-1`: none).
    pub type_modifier: i32,
    /// Whether it is part of the replica identity key.
    pub is_key: bool,
}

/// A table as the stream describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Relation {
    /// Its OID.
    pub id: Oid,
    /// Its schema (`""` means `pg_catalog`).
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// Its replica identity.
    pub replica_identity: ReplicaIdentity,
    /// Its published columns.
    pub columns: Vec<RelationColumn>,
}

/// A user type's name.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TypeMessage {
    /// The xid of the streamed transaction (inside a stream block).
    pub xid: Option<u32>,
    /// The type's OID.
    pub id: Oid,
    /// Its schema.
    pub namespace: String,
    /// Its name.
    pub name: String,
}

/// A row was inserted.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Insert {
    /// The xid of the streamed transaction (inside a stream block).
    pub xid: Option<u32>,
    /// The table.
    pub relation: Arc<Relation>,
    /// The new row.
    pub new: Tuple,
}

/// The old values an Update or Delete carries.
#[derive(Clone, Debug)]
pub enum OldTuple {
    /// The replica identity key's columns only; the others are not sent (reading one is
    /// an error, never a NULL).
    Key(Tuple),
    /// The whole old row (`REPLICA IDENTITY FULL`).
    Row(Tuple),
}

impl OldTuple {
    /// The tuple, whichever it is.
    pub fn tuple(&self) -> &Tuple {
        match self {
            OldTuple::Key(t) | OldTuple::Row(t) => t,
        }
    }
}

/// A row was updated.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Update {
    /// The xid of the streamed transaction (inside a stream block).
    pub xid: Option<u32>,
    /// The table.
    pub relation: Arc<Relation>,
    /// The old key (if the key changed) or the old row (`REPLICA IDENTITY FULL`).
    pub old: Option<OldTuple>,
    /// The new row. Unchanged TOASTed values are not sent: see [`Tuple::is_unchanged`].
    pub new: Tuple,
}

/// A row was deleted.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Delete {
    /// The xid of the streamed transaction (inside a stream block).
    pub xid: Option<u32>,
    /// The table.
    pub relation: Arc<Relation>,
    /// The old key or row.
    pub old: OldTuple,
}

/// Tables were truncated.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Truncate {
    /// The xid of the streamed transaction (inside a stream block).
    pub xid: Option<u32>,
    /// The tables.
    pub relations: Vec<Arc<Relation>>,
    /// `TRUNCATE ... CASCADE`.
    pub cascade: bool,
    /// `TRUNCATE ... RESTART IDENTITY`.
    pub restart_identity: bool,
}

/// A logical decoding message (`pg_logical_emit_message`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Message {
    /// The xid of the streamed transaction (inside a stream block).
    pub xid: Option<u32>,
    /// Whether it is part of its transaction (else it was sent at once).
    pub transactional: bool,
    /// Its LSN.
    pub lsn: PgLsn,
    /// Its prefix.
    pub prefix: String,
    /// Its content.
    pub content: Bytes,
}

/// A block of a streamed transaction starts.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct StreamStart {
    /// The transaction.
    pub xid: u32,
    /// Whether this is its first block.
    pub first_segment: bool,
}

/// A streamed transaction committed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct StreamCommit {
    /// The transaction.
    pub xid: u32,
    /// The LSN of its commit record.
    pub commit_lsn: PgLsn,
    /// Its end in the WAL: acknowledging this position moves the slot past it.
    pub end_lsn: PgLsn,
    /// When it committed.
    pub commit_time: SystemTime,
}

/// A streamed transaction, or a subtransaction of it, aborted.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct StreamAbort {
    /// The top-level transaction.
    pub xid: u32,
    /// The aborted (sub)transaction; `xid` when the whole transaction aborted.
    pub subxid: u32,
    /// The abort's LSN (`streaming = parallel` only).
    pub abort_lsn: Option<PgLsn>,
    /// The abort's time (`streaming = parallel` only).
    pub abort_time: Option<SystemTime>,
}

/// Whether a column's value came in the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Presence {
    /// Sent (a value or NULL).
    Sent,
    /// An unchanged TOASTed value (`u`): the column has a value the server did not send.
    Unchanged,
    /// Not part of the replica identity key, in an old key tuple.
    NotInKey,
}

/// The values of one row in a change, read like a [`Row`]: by name or position with the
/// driver's types, or whole into a `#[derive(FromRecord)]` struct.
///
/// A column whose value the server did not send (an unchanged TOASTed value, or a
/// column outside the key in an old key tuple) is never read as NULL: reading it is an
/// error, and [`Tuple::is_unchanged`] / [`Tuple::is_sent`] tell them apart beforehand.
#[derive(Clone)]
pub struct Tuple(Box<TupleInner>);

#[derive(Clone)]
struct TupleInner {
    /// Every column; values not sent are NULL here and must not be read through it.
    row: Row,
    /// The columns that were sent, when some were not (what `read` hands to FromRecord).
    sent_only: Option<Row>,
    presence: SmallVec<[Presence; 8]>,
}

impl std::fmt::Debug for Tuple {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Values may be personal data: show the column names and what was sent, as the
        // row's Debug shows values, only for columns sent.
        let mut d = f.debug_map();
        for (i, c) in self.0.row.columns().iter().enumerate() {
            match self.0.presence[i] {
                Presence::Sent => d.entry(&c.name(), &"<sent>"),
                Presence::Unchanged => d.entry(&c.name(), &"<unchanged TOAST>"),
                Presence::NotInKey => d.entry(&c.name(), &"<not in key>"),
            };
        }
        d.finish()
    }
}

impl Tuple {
    pub(crate) fn new(row: Row, presence: SmallVec<[Presence; 8]>) -> Result<Tuple> {
        let sent_only = if presence.iter().all(|p| *p == Presence::Sent) {
            None
        } else {
            let columns: Vec<_> = row
                .columns()
                .iter()
                .zip(&presence)
                .filter(|(_, p)| **p == Presence::Sent)
                .map(|(c, _)| c.clone())
                .collect();
            let ranges: Vec<_> = (0..row.len())
                .filter(|&i| presence[i] == Presence::Sent)
                .map(|i| row.value_range(i))
                .collect();
            Some(Row::from_ranges(
                Arc::new(Columns::new(columns)),
                row.body().clone(),
                ranges,
            )?)
        };
        Ok(Tuple(Box::new(TupleInner {
            row,
            sent_only,
            presence,
        })))
    }

    /// The columns (all of the table's published columns, sent or not).
    pub fn columns(&self) -> &Columns {
        self.0.row.columns()
    }

    /// The number of columns.
    pub fn len(&self) -> usize {
        self.0.row.len()
    }

    /// Whether there are no columns.
    pub fn is_empty(&self) -> bool {
        self.0.row.is_empty()
    }

    /// Whether the column's value is an unchanged TOASTed value the server did not send
    /// (an Update that left a large value alone). Not the same as NULL.
    pub fn is_unchanged<I: ColumnIndex>(&self, index: I) -> Result<bool> {
        let i = index.index(self.0.row.columns())?;
        Ok(self.0.presence[i] == Presence::Unchanged)
    }

    /// Whether the column's value was sent (a value or NULL).
    pub fn is_sent<I: ColumnIndex>(&self, index: I) -> Result<bool> {
        let i = index.index(self.0.row.columns())?;
        Ok(self.0.presence[i] == Presence::Sent)
    }

    /// Decodes a column, checking that its type fits `T`. A value that was not sent is an
    /// error (never NULL).
    pub fn try_get<'r, T, I>(&'r self, index: I) -> Result<T>
    where
        T: Decode<'r> + Type,
        I: ColumnIndex,
    {
        let i = index.index(self.0.row.columns())?;
        self.check_sent(i)?;
        self.0.row.try_get(i)
    }

    /// Reads the sent columns into `T` (a `#[derive(FromRecord)]` struct or a tuple). A
    /// field whose column was not sent fails with an error naming it.
    pub fn read<'r, T: FromRecord<'r>>(&'r self) -> Result<T> {
        match &self.0.sent_only {
            None => T::from_record(&self.0.row),
            Some(row) => T::from_record(row).map_err(|e| {
                let missing: Vec<&str> = self
                    .0
                    .row
                    .columns()
                    .iter()
                    .zip(&self.0.presence)
                    .filter(|(_, p)| **p != Presence::Sent)
                    .map(|(c, _)| c.name())
                    .collect();
                Error::decode(format!(
                    "{}; the server did not send columns {} (unchanged TOASTed values, or \
                     columns outside the replica identity key)",
                    e,
                    missing.join(", ")
                ))
            }),
        }
    }

    fn check_sent(&self, i: usize) -> Result<()> {
        let name = self.0.row.columns()[i].name();
        match self.0.presence[i] {
            Presence::Sent => Ok(()),
            Presence::Unchanged => Err(Error::decode(format!(
                "column \"{name}\" holds an unchanged TOASTed value that the server did not \
                 send (it is not NULL); use REPLICA IDENTITY FULL to receive old values, or \
                 check Tuple::is_unchanged"
            ))),
            Presence::NotInKey => Err(Error::decode(format!(
                "column \"{name}\" is not part of the replica identity key, so the old key \
                 tuple does not carry it; use REPLICA IDENTITY FULL to receive whole old rows"
            ))),
        }
    }
}
