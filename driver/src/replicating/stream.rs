//! The change stream: pulls CopyData from the connection, decodes pgoutput into typed
//! messages, and reports to the server only the positions the user acknowledged.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use smallvec::SmallVec;

use super::message::{
    Begin, Commit, Delete, Insert, LogicalMessage, Message, OldTuple, Origin, Presence, Relation,
    RelationColumn, ReplicaIdentity, StreamAbort, StreamCommit, StreamStart, Truncate, Tuple,
    TypeMessage, Update,
};
use super::{LogicalOptions, ReplicationConnection};
use crate::Connection;
use crate::connection::CopyBothIncoming;
use crate::failure::{Error, Result};
use crate::protocol::pgoutput::{self, TupleValue};
use crate::protocol::replication::ReplicationMessage;
use crate::row::{Column, Columns, Row};
use crate::types::{Format, Oid, PgLsn};

/// The most tables a stream keeps descriptions of. A database has far fewer published
/// tables; a server that describes more is misbehaving, and each would be kept.
const MAX_RELATIONS: usize = 100_000;

/// The most streamed transactions open at once (`max_connections` bounds it on a real
/// server, times the subtransactions it never streams separately).
const MAX_OPEN_STREAMS: usize = 100_000;

/// One message of the stream and where it is in the WAL.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct LogicalEvent {
    /// The message's position. Acknowledge it ([`ReplicationStream::ack`]) once what it
    /// carries is durable on your side; for a [`Commit`] it is the transaction's end.
    pub lsn: PgLsn,
    /// The message.
    pub message: LogicalMessage,
}

/// A logical replication stream from a pgoutput slot.
///
/// Pull it with [`next`](ReplicationStream::next); nothing is read from the socket
/// until you do, so a slow consumer slows the server's sending (TCP flow control) and
/// the stream holds one message at a time. Acknowledge with
/// [`ack`](ReplicationStream::ack): only acknowledged positions are reported to the
/// server as flushed, so after a crash the slot resumes from the last acknowledgement
/// and every change after it arrives again (at-least-once).
///
/// Dropping the stream closes its connection (the server ends the walsender); to reuse
/// the session, [`stop`](ReplicationStream::stop) it.
pub struct ReplicationStream {
    conn: Connection,
    relations: HashMap<Oid, RelationState>,
    /// Between Stream Start and Stream Stop: data messages carry an xid.
    in_stream_block: bool,
    /// Between Begin and Commit.
    in_transaction: bool,
    /// Streamed transactions neither committed nor aborted yet.
    open_streams: HashSet<u32>,
    /// The highest position handed out (or known delivered: see `on_keepalive`).
    delivered: PgLsn,
    /// The highest acknowledged position, never above `delivered`.
    acked: PgLsn,
    status_interval: Duration,
    next_status: Instant,
}

/// A table's description and the columns its tuples are read with.
struct RelationState {
    relation: Arc<Relation>,
    columns: Arc<Columns>,
}

impl std::fmt::Debug for ReplicationStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplicationStream")
            .field("connection", &self.conn)
            .field("delivered", &self.delivered)
            .field("acked", &self.acked)
            .finish_non_exhaustive()
    }
}

impl ReplicationStream {
    pub(crate) fn new(conn: Connection, options: &LogicalOptions, start: PgLsn) -> Self {
        ReplicationStream {
            conn,
            relations: HashMap::new(),
            in_stream_block: false,
            in_transaction: false,
            open_streams: HashSet::new(),
            delivered: start,
            acked: start,
            status_interval: options.status_interval.max(Duration::from_millis(10)),
            next_status: Instant::now() + options.status_interval,
        }
    }

    /// The next message, or `None` when the server ended the stream. Waits for the
    /// server, sending status updates on the configured interval and whenever the server
    /// asks for one. Cancel-safe: dropping the future loses no message.
    pub async fn next(&mut self) -> Result<Option<LogicalEvent>> {
        loop {
            if Instant::now() >= self.next_status {
                self.send_status().await?;
            }
            let wait = self.next_status.saturating_duration_since(Instant::now());
            let incoming = match tokio::time::timeout(wait, self.conn.copy_both_recv()).await {
                Err(_) => continue,
                Ok(r) => r?,
            };
            let bytes = match incoming {
                CopyBothIncoming::Data(bytes) => bytes,
                CopyBothIncoming::End(_) => return Ok(None),
            };
            let r = self.on_copy_data(bytes);
            match r {
                Ok(Some(Step::Event(e))) => return Ok(Some(e)),
                Ok(Some(Step::Reply)) => self.send_status().await?,
                Ok(None) => {}
                Err(e) => {
                    // The stream can no longer be trusted to be in step with the server.
                    self.conn.mark_broken(e.display_chain().to_string());
                    return Err(e);
                }
            }
        }
    }

    /// Acknowledges that everything up to `lsn` is durable on your side: the next status
    /// update reports it as flushed, and the slot will not send it again. Positions only
    /// move forward, and never past what the stream has handed out.
    pub fn ack(&mut self, lsn: PgLsn) {
        self.acked = super::advance_ack(self.acked, self.delivered, lsn);
    }

    /// The highest acknowledged position.
    pub fn acked(&self) -> PgLsn {
        self.acked
    }

    /// The description of table `id`, if the stream has received it.
    pub fn relation(&self, id: Oid) -> Option<&Arc<Relation>> {
        self.relations.get(&id).map(|s| &s.relation)
    }

    /// Sends a status update now (the acknowledged position as flushed and applied).
    pub async fn send_status(&mut self) -> Result<()> {
        super::send_standby_status(
            &mut self.conn,
            self.delivered.max(self.acked),
            self.acked,
            self.acked,
        )
        .await?;
        self.next_status = Instant::now() + self.status_interval;
        Ok(())
    }

    /// Reports the acknowledged position, ends the stream (CopyDone both ways) and hands
    /// the session back for more commands.
    pub async fn stop(mut self) -> Result<ReplicationConnection> {
        self.send_status().await?;
        self.conn.end_copy_both().await?;
        Ok(ReplicationConnection::from_connection(self.conn))
    }

    /// Handles one CopyData: an event to hand out, a reply to send, or nothing.
    fn on_copy_data(&mut self, bytes: Bytes) -> Result<Option<Step>> {
        match ReplicationMessage::parse(&bytes)? {
            ReplicationMessage::XLogData {
                wal_start, data, ..
            } => {
                let offset = bytes.len() - data.len();
                let body = bytes.slice(offset..);
                let (lsn, message) = self.decode(PgLsn(wal_start), &body)?;
                self.delivered = self.delivered.max(lsn);
                Ok(Some(Step::Event(LogicalEvent { lsn, message })))
            }
            ReplicationMessage::PrimaryKeepalive {
                wal_end,
                reply_requested,
                ..
            } => {
                self.on_keepalive(PgLsn(wal_end));
                Ok(reply_requested.then_some(Step::Reply))
            }
        }
    }

    /// Between transactions, with everything handed out acknowledged, the server's end of
    /// WAL is confirmed too: nothing up to it is owed to us, and without this an idle
    /// slot would keep the server's WAL forever. Inside a transaction (or with streamed
    /// transactions open) the position stays where the user put it.
    fn on_keepalive(&mut self, wal_end: PgLsn) {
        let between = !self.in_transaction && !self.in_stream_block && self.open_streams.is_empty();
        if between && self.acked >= self.delivered && wal_end > self.acked {
            self.delivered = wal_end;
            self.acked = wal_end;
        }
    }

    /// Decodes one pgoutput message (whose bytes are `body`) sent at `wal_start`.
    fn decode(&mut self, wal_start: PgLsn, body: &Bytes) -> Result<(PgLsn, LogicalMessage)> {
        use pgoutput::LogicalMessage as W;
        let wire = W::parse(body, self.in_stream_block)?;
        let mut lsn = wal_start;
        let message = match wire {
            W::Begin {
                final_lsn,
                commit_time,
                xid,
            } => {
                if self.in_transaction {
                    return Err(Error::protocol("pgoutput Begin inside a transaction"));
                }
                self.in_transaction = true;
                LogicalMessage::Begin(Begin {
                    final_lsn: PgLsn(final_lsn),
                    commit_time: pg_time(commit_time),
                    xid,
                })
            }
            W::Commit {
                commit_lsn,
                end_lsn,
                commit_time,
                ..
            } => {
                if !self.in_transaction {
                    return Err(Error::protocol("pgoutput Commit outside a transaction"));
                }
                self.in_transaction = false;
                lsn = lsn.max(PgLsn(end_lsn));
                LogicalMessage::Commit(Commit {
                    commit_lsn: PgLsn(commit_lsn),
                    end_lsn: PgLsn(end_lsn),
                    commit_time: pg_time(commit_time),
                })
            }
            W::Origin { commit_lsn, name } => LogicalMessage::Origin(Origin {
                commit_lsn: PgLsn(commit_lsn),
                name: name.to_owned(),
            }),
            W::Relation {
                id,
                namespace,
                name,
                replica_identity,
                columns,
                ..
            } => {
                let relation = Arc::new(Relation {
                    id,
                    namespace: namespace.to_owned(),
                    name: name.to_owned(),
                    replica_identity: match replica_identity {
                        b'd' => ReplicaIdentity::Default,
                        b'n' => ReplicaIdentity::Nothing,
                        b'f' => ReplicaIdentity::Full,
                        b'i' => ReplicaIdentity::Index,
                        other => ReplicaIdentity::Other(other),
                    },
                    columns: columns
                        .iter()
                        .map(|c| RelationColumn {
                            name: c.name.to_owned(),
                            type_oid: c.type_oid,
                            type_modifier: c.type_modifier,
                            is_key: c.flags & 1 != 0,
                        })
                        .collect(),
                });
                if !self.relations.contains_key(&id) && self.relations.len() >= MAX_RELATIONS {
                    return Err(Error::protocol(format!(
                        "the server described more than {MAX_RELATIONS} tables in one stream"
                    )));
                }
                let columns = Arc::new(self.columns_for(&relation, None));
                self.relations.insert(
                    id,
                    RelationState {
                        relation: relation.clone(),
                        columns,
                    },
                );
                LogicalMessage::Relation(relation)
            }
            W::Type {
                xid,
                id,
                namespace,
                name,
            } => {
                // Relations that follow name their columns' type by it.
                self.conn.note_type_name(id, namespace, name);
                LogicalMessage::Type(TypeMessage {
                    xid,
                    id,
                    namespace: namespace.to_owned(),
                    name: name.to_owned(),
                })
            }
            W::Insert { xid, relation, new } => {
                let (relation, new) = self.tuple(relation, &new, body, false)?;
                LogicalMessage::Insert(Insert { xid, relation, new })
            }
            W::Update {
                xid,
                relation,
                old,
                new,
            } => {
                let old = match old {
                    None => None,
                    Some(old) => Some(self.old_tuple(relation, &old, body)?),
                };
                let (relation, new) = self.tuple(relation, &new, body, false)?;
                LogicalMessage::Update(Update {
                    xid,
                    relation,
                    old,
                    new,
                })
            }
            W::Delete { xid, relation, old } => {
                let old = self.old_tuple(relation, &old, body)?;
                let relation = self.state(relation)?.relation.clone();
                LogicalMessage::Delete(Delete { xid, relation, old })
            }
            W::Truncate {
                xid,
                options,
                relations,
            } => LogicalMessage::Truncate(Truncate {
                xid,
                relations: relations
                    .iter()
                    .map(|id| Ok(self.state(*id)?.relation.clone()))
                    .collect::<Result<_>>()?,
                cascade: options & 1 != 0,
                restart_identity: options & 2 != 0,
            }),
            W::Message {
                xid,
                transactional,
                lsn: at,
                prefix,
                content,
            } => LogicalMessage::Message(Message {
                xid,
                transactional,
                lsn: PgLsn(at),
                prefix: prefix.to_owned(),
                content: body.slice_ref(content),
            }),
            W::StreamStart { xid, first_segment } => {
                if self.in_stream_block {
                    return Err(Error::protocol(
                        "pgoutput Stream Start inside a stream block",
                    ));
                }
                if !self.open_streams.contains(&xid) && self.open_streams.len() >= MAX_OPEN_STREAMS
                {
                    return Err(Error::protocol(format!(
                        "the server opened more than {MAX_OPEN_STREAMS} streamed transactions"
                    )));
                }
                self.in_stream_block = true;
                self.open_streams.insert(xid);
                LogicalMessage::StreamStart(StreamStart { xid, first_segment })
            }
            W::StreamStop => {
                if !self.in_stream_block {
                    return Err(Error::protocol(
                        "pgoutput Stream Stop outside a stream block",
                    ));
                }
                self.in_stream_block = false;
                LogicalMessage::StreamStop
            }
            W::StreamCommit {
                xid,
                commit_lsn,
                end_lsn,
                commit_time,
                ..
            } => {
                self.open_streams.remove(&xid);
                lsn = lsn.max(PgLsn(end_lsn));
                LogicalMessage::StreamCommit(StreamCommit {
                    xid,
                    commit_lsn: PgLsn(commit_lsn),
                    end_lsn: PgLsn(end_lsn),
                    commit_time: pg_time(commit_time),
                })
            }
            W::StreamAbort { xid, subxid, abort } => {
                if xid == subxid {
                    self.open_streams.remove(&xid);
                }
                LogicalMessage::StreamAbort(StreamAbort {
                    xid,
                    subxid,
                    abort_lsn: abort.map(|(l, _)| PgLsn(l)),
                    abort_time: abort.map(|(_, t)| pg_time(t)),
                })
            }
        };
        Ok((lsn, message))
    }

    fn state(&self, id: Oid) -> Result<&RelationState> {
        self.relations.get(&id).ok_or_else(|| {
            Error::protocol(format!(
                "pgoutput sent a change of table {} before describing it (Relation)",
                id.0
            ))
        })
    }

    /// Columns for `relation`'s tuples, each in `formats` (text where not given).
    fn columns_for(&self, relation: &Relation, formats: Option<&[Format]>) -> Columns {
        Columns::new(
            relation
                .columns
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let format = formats
                        .and_then(|f| f.get(i).copied())
                        .unwrap_or(Format::Text);
                    Column::new(
                        &c.name,
                        self.conn.type_info(c.type_oid),
                        relation.id,
                        0,
                        c.type_modifier,
                        format,
                    )
                })
                .collect(),
        )
    }

    fn old_tuple(
        &mut self,
        relation: Oid,
        old: &pgoutput::OldTuple,
        body: &Bytes,
    ) -> Result<OldTuple> {
        Ok(match old {
            pgoutput::OldTuple::Key(t) => OldTuple::Key(self.tuple(relation, t, body, true)?.1),
            pgoutput::OldTuple::Row(t) => OldTuple::Row(self.tuple(relation, t, body, false)?.1),
        })
    }

    /// Reads TupleData of table `id`, whose values lie in `body`. In a key tuple
    /// (`key_only`), NULLs of columns outside the key were not sent.
    fn tuple(
        &mut self,
        id: Oid,
        data: &pgoutput::TupleData,
        body: &Bytes,
        key_only: bool,
    ) -> Result<(Arc<Relation>, Tuple)> {
        let state = self.state(id)?;
        let relation = state.relation.clone();
        if data.values.len() != relation.columns.len() {
            return Err(Error::protocol(format!(
                "pgoutput sent {} values for table {}.{}, which has {} columns",
                data.values.len(),
                relation.namespace,
                relation.name,
                relation.columns.len()
            )));
        }
        // Each value says its format; the columns are rebuilt only when one differs
        // from what they say (in practice once per table: a type's format is fixed).
        let differs = data
            .values
            .iter()
            .zip(state.columns.iter())
            .any(|(v, c)| match v {
                TupleValue::Text(_) => c.format() != Format::Text,
                TupleValue::Binary(_) => c.format() != Format::Binary,
                TupleValue::Null | TupleValue::Unchanged => false,
            });
        let columns = if differs {
            let formats: Vec<Format> = data
                .values
                .iter()
                .zip(state.columns.iter())
                .map(|(v, c)| match v {
                    TupleValue::Text(_) => Format::Text,
                    TupleValue::Binary(_) => Format::Binary,
                    _ => c.format(),
                })
                .collect();
            let columns = Arc::new(self.columns_for(&relation, Some(&formats)));
            if let Some(state) = self.relations.get_mut(&id) {
                state.columns = columns.clone();
            }
            columns
        } else {
            state.columns.clone()
        };
        let mut presence: SmallVec<[Presence; 8]> = SmallVec::with_capacity(data.values.len());
        for (v, c) in data.values.iter().zip(&relation.columns) {
            presence.push(match v {
                TupleValue::Unchanged => Presence::Unchanged,
                TupleValue::Null if key_only && !c.is_key => Presence::NotInKey,
                _ => Presence::Sent,
            });
        }
        let ranges = data.values.iter().map(|v| match v {
            TupleValue::Text(r) | TupleValue::Binary(r) => Some(r.clone()),
            TupleValue::Null | TupleValue::Unchanged => None,
        });
        let row = Row::from_ranges(columns, body.clone(), ranges)?;
        Ok((relation, Tuple::new(row, presence)?))
    }
}

/// What one CopyData asks of the stream.
enum Step {
    /// Hand this out.
    Event(LogicalEvent),
    /// The server asked for a status update.
    Reply,
}

/// Microseconds since 2000-01-01 as a `SystemTime`.
fn pg_time(micros: i64) -> SystemTime {
    let epoch = SystemTime::UNIX_EPOCH + Duration::from_secs(946_684_800);
    let offset = Duration::from_micros(micros.unsigned_abs());
    if micros >= 0 {
        epoch.checked_add(offset).unwrap_or(epoch)
    } else {
        epoch.checked_sub(offset).unwrap_or(epoch)
    }
}
