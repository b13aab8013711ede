//! Physical replication's basics for tooling: the WAL stream of a whole cluster
//! (`START_REPLICATION PHYSICAL`), its acknowledgements, and the end of a timeline.

use std::time::{Duration, Instant};

use bytes::Bytes;

use super::{ReplicationConnection, check_slot_name, lsn};
use crate::Connection;
use crate::connection::CopyBothIncoming;
use crate::failure::Result;
use crate::protocol::replication::ReplicationMessage;
use crate::types::PgLsn;

/// One event of a physical stream.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PhysicalEvent {
    /// A piece of WAL, as it lies in the WAL files from `wal_start` on.
    WalData {
        /// Where the piece starts.
        wal_start: PgLsn,
        /// The server's end of WAL when it sent it.
        wal_end: PgLsn,
        /// The WAL bytes.
        data: Bytes,
    },
    /// The timeline streamed has ended on the server (it was promoted, or it is a
    /// standby that followed a promotion): the stream is over. Start again on
    /// `next_timeline` from `next_start` (fetch its history with
    /// [`ReplicationConnection::timeline_history`]).
    TimelineEnd {
        /// The timeline that follows.
        next_timeline: u32,
        /// Where it starts.
        next_start: PgLsn,
    },
}

/// A physical replication stream ([`ReplicationConnection::start_physical`]): WAL as
/// the server writes it, pulled like [`ReplicationStream`](super::ReplicationStream),
/// with the positions you [`ack`](PhysicalStream::ack) reported as written and flushed
/// (a slot keeps WAL after them).
pub struct PhysicalStream {
    conn: Connection,
    delivered: PgLsn,
    acked: PgLsn,
    status_interval: Duration,
    next_status: Instant,
    /// The timeline ended, its event handed out: the stream is over.
    ended: bool,
}

impl std::fmt::Debug for PhysicalStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PhysicalStream")
            .field("connection", &self.conn)
            .field("delivered", &self.delivered)
            .field("acked", &self.acked)
            .finish_non_exhaustive()
    }
}

impl ReplicationConnection {
    /// `START_REPLICATION [SLOT slot] PHYSICAL start [TIMELINE tli]`: streams the
    /// cluster's WAL from `start` (on timeline `timeline`, or the current one). Needs a
    /// session that may replicate physically (`replication=true`, or `database` on
    /// servers that allow it).
    pub async fn start_physical(
        mut self,
        slot: Option<&str>,
        start: PgLsn,
        timeline: Option<u32>,
    ) -> Result<PhysicalStream> {
        let slot = match slot {
            Some(s) => {
                check_slot_name(s)?;
                format!("SLOT {s} ")
            }
            None => String::new(),
        };
        let timeline = timeline.map_or_else(String::new, |t| format!(" TIMELINE {t}"));
        let command = format!("START_REPLICATION {slot}PHYSICAL {start}{timeline}");
        self.conn.start_copy_both(&command).await?;
        let status_interval = Duration::from_secs(10);
        Ok(PhysicalStream {
            conn: self.conn,
            delivered: start,
            acked: start,
            status_interval,
            next_status: Instant::now() + status_interval,
            ended: false,
        })
    }

    /// `TIMELINE_HISTORY tli`: the history file of a timeline (its name and content),
    /// which says where each earlier timeline ended.
    pub async fn timeline_history(&mut self, timeline: u32) -> Result<(String, Bytes)> {
        let rows = self
            .simple_query(&format!("TIMELINE_HISTORY {timeline}"))
            .await?;
        let row = super::one_row(&rows, "TIMELINE_HISTORY")?;
        let name = row.try_get::<String, _>(0)?;
        // `text` before PostgreSQL 16 (or so), `bytea` after: the raw text form either way
        // (bytea's is hex-escaped).
        let raw = row.try_get_raw(1)?;
        let content = match row.try_get::<Vec<u8>, _>(1) {
            Ok(bytes) => bytes,
            Err(_) => raw.bytes().unwrap_or_default().to_vec(),
        };
        Ok((name, Bytes::from(content)))
    }

    /// `CREATE_REPLICATION_SLOT name [TEMPORARY] PHYSICAL RESERVE_WAL`: a physical slot
    /// that keeps WAL from now on; returns its name.
    pub async fn create_physical_slot(&mut self, name: &str, temporary: bool) -> Result<String> {
        check_slot_name(name)?;
        let temporary = if temporary { " TEMPORARY" } else { "" };
        let rows = self
            .simple_query(&format!(
                "CREATE_REPLICATION_SLOT {name}{temporary} PHYSICAL RESERVE_WAL"
            ))
            .await?;
        super::one_row(&rows, "CREATE_REPLICATION_SLOT")?.try_get::<String, _>(0)
    }
}

impl PhysicalStream {
    /// The next event, or `None` after the end of the timeline (or when the server ended
    /// the stream). Cancel-safe.
    pub async fn next(&mut self) -> Result<Option<PhysicalEvent>> {
        if self.ended {
            return Ok(None);
        }
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
                CopyBothIncoming::End(rows) => {
                    self.ended = true;
                    // At the end of a timeline the server says which one follows.
                    let Some(row) = rows.first() else {
                        return Ok(None);
                    };
                    let next_timeline = super::timeline(row, 0, "the end of a timeline")?;
                    let next_start = lsn(row.try_get::<&str, _>(1)?)?;
                    return Ok(Some(PhysicalEvent::TimelineEnd {
                        next_timeline,
                        next_start,
                    }));
                }
            };
            let parsed = ReplicationMessage::parse(&bytes).map(|m| match m {
                ReplicationMessage::XLogData {
                    wal_start,
                    wal_end,
                    data,
                    ..
                } => Ok((wal_start, wal_end, bytes.len() - data.len())),
                ReplicationMessage::PrimaryKeepalive {
                    reply_requested, ..
                } => Err(reply_requested),
            });
            match parsed {
                Ok(Ok((wal_start, wal_end, offset))) => {
                    let data = bytes.slice(offset..);
                    let end = wal_start.saturating_add(u64::try_from(data.len()).unwrap_or(0));
                    self.delivered = self.delivered.max(PgLsn(end));
                    return Ok(Some(PhysicalEvent::WalData {
                        wal_start: PgLsn(wal_start),
                        wal_end: PgLsn(wal_end),
                        data,
                    }));
                }
                Ok(Err(true)) => self.send_status().await?,
                Ok(Err(false)) => {}
                Err(e) => {
                    self.conn.mark_broken(e.display_chain().to_string());
                    return Err(e);
                }
            }
        }
    }

    /// Acknowledges that WAL up to `lsn` is written and flushed on your side. Positions
    /// only move forward, never past what was handed out.
    pub fn ack(&mut self, lsn: PgLsn) {
        self.acked = super::advance_ack(self.acked, self.delivered, lsn);
    }

    /// The highest acknowledged position.
    pub fn acked(&self) -> PgLsn {
        self.acked
    }

    /// Sends a status update now.
    pub async fn send_status(&mut self) -> Result<()> {
        super::send_standby_status(&mut self.conn, self.acked, self.acked, PgLsn(0)).await?;
        self.next_status = Instant::now() + self.status_interval;
        Ok(())
    }

    /// Ends the stream (after a timeline end, it is over already) and hands the session
    /// back.
    pub async fn stop(mut self) -> Result<ReplicationConnection> {
        if !self.ended {
            self.send_status().await?;
        }
        self.conn.end_copy_both().await?;
        Ok(ReplicationConnection::from_connection(self.conn))
    }
}
