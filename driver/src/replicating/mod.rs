//! Logical replication: a replication session, its commands, and a typed change stream
//! read from a pgoutput slot. The guide is `docs/replication.md` (the `replication`
//! module); the wire formats live in `protocol/replication.rs` (CopyBoth's messages) and
//! `protocol/pgoutput.rs`, the CopyBoth phase in `connection/replication.rs`.

mod message;
mod physical;
mod stream;

use std::borrow::Borrow;
use std::time::Duration;

use crate::config::Replication;
use crate::failure::{Error, Result};
use crate::row::Row;
use crate::types::PgLsn;
use crate::{ConnectOptions, Connection, ServerVersion};

pub use message::{
    Begin, Commit, Delete, Insert, LogicalMessage, Message, OldTuple, Origin, Relation,
    RelationColumn, ReplicaIdentity, StreamAbort, StreamCommit, StreamStart, Truncate, Tuple,
    TypeMessage, Update,
};
pub use physical::{PhysicalEvent, PhysicalStream};
pub use stream::{LogicalEvent, ReplicationStream};

/// A replication session (`replication=database`): the replication commands, SQL through
/// the simple protocol, and [`start_logical`](ReplicationConnection::start_logical), which
/// turns it into a [`ReplicationStream`].
pub struct ReplicationConnection {
    conn: Connection,
}

impl std::fmt::Debug for ReplicationConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplicationConnection")
            .field("connection", &self.conn)
            .finish()
    }
}

/// What `IDENTIFY_SYSTEM` reports.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SystemIdentity {
    /// The cluster's unique system identifier.
    pub system_id: String,
    /// The current timeline.
    pub timeline: u32,
    /// The current WAL flush position.
    pub xlog_pos: PgLsn,
    /// The database connected to (`None` for a physical session).
    pub dbname: Option<String>,
}

/// Which snapshot a new logical slot exports or uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SlotSnapshot {
    /// Export a snapshot that another session imports with `SET TRANSACTION SNAPSHOT`,
    /// to copy the tables exactly as of the slot's consistent point. It stays valid until
    /// the next command on this replication session.
    Export,
    /// Use the snapshot in this session's own transaction (the session must be in a
    /// `BEGIN ISOLATION LEVEL REPEATABLE READ` transaction that has run no query yet).
    Use,
    /// No snapshot (the default).
    #[default]
    Nothing,
}

/// Options of [`ReplicationConnection::create_logical_slot`].
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct SlotOptions {
    /// A temporary slot disappears when the session ends (or on error); a permanent one
    /// keeps the server's WAL until it is dropped, so that a consumer can resume.
    pub temporary: bool,
    /// Which snapshot the slot exports or uses.
    pub snapshot: SlotSnapshot,
}

impl SlotOptions {
    /// A permanent slot, no snapshot.
    pub fn new() -> SlotOptions {
        SlotOptions::default()
    }

    /// A temporary slot (dropped with the session).
    #[must_use]
    pub fn temporary(mut self, on: bool) -> SlotOptions {
        self.temporary = on;
        self
    }

    /// Which snapshot to export or use.
    #[must_use]
    pub fn snapshot(mut self, snapshot: SlotSnapshot) -> SlotOptions {
        self.snapshot = snapshot;
        self
    }
}

/// A slot [`ReplicationConnection::create_logical_slot`] made.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CreatedSlot {
    /// Its name.
    pub name: String,
    /// The position from which its stream starts: every transaction committed after it
    /// is streamed, every one before it is in the snapshot.
    pub consistent_point: PgLsn,
    /// The exported snapshot's name ([`SlotSnapshot::Export`] only).
    pub snapshot_name: Option<String>,
    /// The output plugin.
    pub output_plugin: Option<String>,
}

/// A slot as `pg_replication_slots` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SlotStatus {
    /// `logical` or `physical`.
    pub slot_type: String,
    /// Whether a session is streaming from it now.
    pub active: bool,
    /// The oldest WAL the slot keeps.
    pub restart_lsn: Option<PgLsn>,
    /// How far the consumer confirmed (logical slots): a new stream resumes here.
    pub confirmed_flush_lsn: Option<PgLsn>,
}

/// pgoutput's `streaming` option: what happens to a transaction larger than
/// `logical_decoding_work_mem` before it commits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Streaming {
    /// Sent whole after it commits (the server spills it to disk meanwhile).
    #[default]
    Off,
    /// Sent in blocks while in progress (Stream Start/Stop), then Stream Commit or Abort
    /// (PostgreSQL 14+).
    On,
    /// Like `On`, with the abort LSN and time in Stream Abort (PostgreSQL 16+).
    Parallel,
}

/// pgoutput's `origin` option (PostgreSQL 16+).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OriginFilter {
    /// Changes of every origin (the server's default).
    Any,
    /// Only changes made on this server, none replicated into it.
    None,
}

/// Options of [`ReplicationConnection::start_logical`]: pgoutput's, and the stream's own.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct LogicalOptions {
    /// The publications to stream (at least one).
    pub publications: Vec<String>,
    /// pgoutput's protocol version; `None` picks the newest the server speaks (4 on 16+,
    /// 3 on 15, 2 on 14, 1 before).
    pub proto_version: Option<u32>,
    /// Values in binary format where the type has one (PostgreSQL 14+); text otherwise.
    pub binary: bool,
    /// Include `pg_logical_emit_message` messages (PostgreSQL 14+).
    pub messages: bool,
    /// Streaming of large in-progress transactions.
    pub streaming: Streaming,
    /// Which origins' changes to send (PostgreSQL 16+; `None`: the server's default).
    pub origin: Option<OriginFilter>,
    /// How often the stream reports its positions to the server when nothing else makes
    /// it (default 10 s; keep it well under the server's `wal_sender_timeout`).
    pub status_interval: Duration,
}

impl LogicalOptions {
    /// Options streaming `publications`, text values, no messages, no streaming.
    pub fn new<S: Into<String>>(publications: impl IntoIterator<Item = S>) -> LogicalOptions {
        LogicalOptions {
            publications: publications.into_iter().map(Into::into).collect(),
            proto_version: None,
            binary: false,
            messages: false,
            streaming: Streaming::Off,
            origin: None,
            status_interval: Duration::from_secs(10),
        }
    }

    /// Values in binary format.
    #[must_use]
    pub fn binary(mut self, on: bool) -> LogicalOptions {
        self.binary = on;
        self
    }

    /// Include logical decoding messages.
    #[must_use]
    pub fn messages(mut self, on: bool) -> LogicalOptions {
        self.messages = on;
        self
    }

    /// Streaming of large in-progress transactions.
    #[must_use]
    pub fn streaming(mut self, mode: Streaming) -> LogicalOptions {
        self.streaming = mode;
        self
    }

    /// Which origins' changes to send.
    #[must_use]
    pub fn origin(mut self, origin: OriginFilter) -> LogicalOptions {
        self.origin = Some(origin);
        self
    }

    /// pgoutput's protocol version.
    #[must_use]
    pub fn proto_version(mut self, version: u32) -> LogicalOptions {
        self.proto_version = Some(version);
        self
    }

    /// How often positions are reported when nothing else makes the stream report.
    #[must_use]
    pub fn status_interval(mut self, every: Duration) -> LogicalOptions {
        self.status_interval = every;
        self
    }
}

impl ReplicationConnection {
    /// Opens a logical replication session: `url` with `replication=database` (unless it
    /// says `replication` itself).
    pub async fn connect(url: &str) -> Result<ReplicationConnection> {
        let options = ConnectOptions::parse(url)?;
        ReplicationConnection::connect_with(options).await
    }

    /// Opens a replication session with these options; `replication` defaults to
    /// `database` when they leave it off.
    pub async fn connect_with(
        options: impl Borrow<ConnectOptions>,
    ) -> Result<ReplicationConnection> {
        let mut options = options.borrow().clone();
        if options.get_replication() == Replication::Off {
            options = options.replication(Replication::Database);
        }
        let conn = Connection::connect_with(&options).await?;
        Ok(ReplicationConnection { conn })
    }

    /// The server's version.
    pub fn server_version(&self) -> ServerVersion {
        self.conn.server_version()
    }

    /// The walsender process serving this session (for `pg_terminate_backend`).
    pub fn backend_pid(&self) -> i32 {
        self.conn.backend_pid()
    }

    /// Runs SQL or a replication command with the simple protocol (the only one a
    /// replication session speaks) and returns the rows, in text format.
    pub async fn simple_query(&mut self, sql: &str) -> Result<Vec<Row>> {
        self.conn.simple_query(sql).await
    }

    /// `IDENTIFY_SYSTEM`.
    pub async fn identify_system(&mut self) -> Result<SystemIdentity> {
        let rows = self.simple_query("IDENTIFY_SYSTEM").await?;
        let row = one_row(&rows, "IDENTIFY_SYSTEM")?;
        Ok(SystemIdentity {
            system_id: row.try_get::<String, _>(0)?,
            timeline: timeline(row, 1, "IDENTIFY_SYSTEM")?,
            xlog_pos: lsn(row.try_get::<&str, _>(2)?)?,
            dbname: row.try_get::<Option<String>, _>(3)?,
        })
    }

    /// `CREATE_REPLICATION_SLOT name [TEMPORARY] LOGICAL pgoutput` with a snapshot
    /// choice. Slot names are lower-case letters, digits and underscores (the server's
    /// rule); any other name is refused before anything is sent.
    pub async fn create_logical_slot(
        &mut self,
        name: &str,
        options: &SlotOptions,
    ) -> Result<CreatedSlot> {
        check_slot_name(name)?;
        let temporary = if options.temporary { " TEMPORARY" } else { "" };
        // PostgreSQL 15 takes options in parentheses; the old keywords still work there,
        // but only they work on 13 and 14.
        let snapshot = if self.server_version().major() >= 15 {
            match options.snapshot {
                SlotSnapshot::Export => " (SNAPSHOT 'export')",
                SlotSnapshot::Use => " (SNAPSHOT 'use')",
                SlotSnapshot::Nothing => " (SNAPSHOT 'nothing')",
            }
        } else {
            match options.snapshot {
                SlotSnapshot::Export => " EXPORT_SNAPSHOT",
                SlotSnapshot::Use => " USE_SNAPSHOT",
                SlotSnapshot::Nothing => " NOEXPORT_SNAPSHOT",
            }
        };
        let sql = format!("CREATE_REPLICATION_SLOT {name}{temporary} LOGICAL pgoutput{snapshot}");
        let rows = self.simple_query(&sql).await?;
        let row = one_row(&rows, "CREATE_REPLICATION_SLOT")?;
        Ok(CreatedSlot {
            name: row.try_get::<String, _>(0)?,
            consistent_point: lsn(row.try_get::<&str, _>(1)?)?,
            snapshot_name: row.try_get::<Option<String>, _>(2)?,
            output_plugin: row.try_get::<Option<String>, _>(3)?,
        })
    }

    /// `DROP_REPLICATION_SLOT name [WAIT]`: with `wait`, waits for a session streaming
    /// from it to end instead of failing.
    pub async fn drop_slot(&mut self, name: &str, wait: bool) -> Result<()> {
        check_slot_name(name)?;
        let wait = if wait { " WAIT" } else { "" };
        self.simple_query(&format!("DROP_REPLICATION_SLOT {name}{wait}"))
            .await
            .map(drop)
    }

    /// `READ_REPLICATION_SLOT name` (PostgreSQL 15+, physical slots): the slot's type,
    /// restart LSN and its timeline, or `None` if there is no such slot.
    pub async fn read_slot(&mut self, name: &str) -> Result<Option<(String, PgLsn, u32)>> {
        check_slot_name(name)?;
        if self.server_version().major() < 15 {
            return Err(Error::unsupported(
                "READ_REPLICATION_SLOT needs PostgreSQL 15 or later; use slot_status",
            ));
        }
        let rows = self
            .simple_query(&format!("READ_REPLICATION_SLOT {name}"))
            .await?;
        let row = one_row(&rows, "READ_REPLICATION_SLOT")?;
        let Some(kind) = row.try_get::<Option<String>, _>(0)? else {
            return Ok(None);
        };
        let restart = match row.try_get::<Option<&str>, _>(1)? {
            Some(s) => lsn(s)?,
            None => PgLsn(0),
        };
        let timeline = timeline(row, 2, "READ_REPLICATION_SLOT")?;
        Ok(Some((kind, restart, timeline)))
    }

    /// The slot as `pg_replication_slots` shows it (any server version, logical
    /// sessions only), or `None` if there is no such slot.
    pub async fn slot_status(&mut self, name: &str) -> Result<Option<SlotStatus>> {
        check_slot_name(name)?;
        let rows = self
            .simple_query(&format!(
                "SELECT slot_type, active, restart_lsn::text, confirmed_flush_lsn::text \
                 FROM pg_catalog.pg_replication_slots WHERE slot_name = '{name}'"
            ))
            .await?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        let opt = |s: Option<&str>| s.map(lsn).transpose();
        Ok(Some(SlotStatus {
            slot_type: row.try_get::<String, _>(0)?,
            active: row.try_get::<bool, _>(1)?,
            restart_lsn: opt(row.try_get::<Option<&str>, _>(2)?)?,
            confirmed_flush_lsn: opt(row.try_get::<Option<&str>, _>(3)?)?,
        }))
    }

    /// `START_REPLICATION SLOT slot LOGICAL start (...)`: streams the slot's changes
    /// from `start`, or from where the slot's consumer last confirmed when `start` is
    /// `PgLsn(0)` (or before it: the server never goes back past a confirmed position).
    pub async fn start_logical(
        mut self,
        slot: &str,
        start: PgLsn,
        options: &LogicalOptions,
    ) -> Result<ReplicationStream> {
        check_slot_name(slot)?;
        let major = self.server_version().major();
        let command = start_command(slot, start, options, major)?;
        self.conn.start_copy_both(&command).await?;
        Ok(ReplicationStream::new(self.conn, options, start))
    }

    /// Closes the session.
    pub async fn close(self) -> Result<()> {
        self.conn.close().await
    }

    pub(crate) fn from_connection(conn: Connection) -> ReplicationConnection {
        ReplicationConnection { conn }
    }
}

/// The START_REPLICATION command for these options on a server of `major` version.
fn start_command(slot: &str, start: PgLsn, options: &LogicalOptions, major: u32) -> Result<String> {
    let newest = match major {
        16.. => 4,
        15 => 3,
        14 => 2,
        _ => 1,
    };
    let version = options.proto_version.unwrap_or(newest);
    if !(1..=newest).contains(&version) {
        return Err(Error::unsupported(format!(
            "pgoutput protocol version {version} is not available on PostgreSQL {major} \
             (it speaks 1 to {newest})"
        )));
    }
    if options.publications.is_empty() {
        return Err(Error::config(
            "logical replication needs at least one publication (CREATE PUBLICATION ... FOR TABLE ...)",
        ));
    }
    let needs = |what: &str, min_version: u32, min_major: u32| -> Result<()> {
        if version < min_version {
            return Err(Error::unsupported(format!(
                "{what} needs pgoutput protocol version {min_version} or later (PostgreSQL \
                 {min_major}+); this stream uses version {version}"
            )));
        }
        Ok(())
    };
    let mut opts = vec![
        format!("proto_version '{version}'"),
        format!(
            "publication_names {}",
            literal(
                &options
                    .publications
                    .iter()
                    .map(|p| identifier(p))
                    .collect::<Result<Vec<_>>>()?
                    .join(",")
            )
        ),
    ];
    if options.binary {
        if major < 14 {
            return Err(Error::unsupported(
                "binary values in logical replication need PostgreSQL 14 or later",
            ));
        }
        opts.push("binary 'true'".into());
    }
    if options.messages {
        if major < 14 {
            return Err(Error::unsupported(
                "logical decoding messages in pgoutput need PostgreSQL 14 or later",
            ));
        }
        opts.push("messages 'true'".into());
    }
    match options.streaming {
        Streaming::Off => {}
        Streaming::On => {
            needs("streaming of in-progress transactions", 2, 14)?;
            opts.push("streaming 'on'".into());
        }
        Streaming::Parallel => {
            needs("parallel streaming", 4, 16)?;
            opts.push("streaming 'parallel'".into());
        }
    }
    if let Some(origin) = options.origin {
        if major < 16 {
            return Err(Error::unsupported(
                "the origin option of pgoutput needs PostgreSQL 16 or later",
            ));
        }
        opts.push(match origin {
            OriginFilter::Any => "origin 'any'".into(),
            OriginFilter::None => "origin 'none'".into(),
        });
    }
    Ok(format!(
        "START_REPLICATION SLOT {slot} LOGICAL {start} ({})",
        opts.join(", ")
    ))
}

/// The server's rule for slot names (`ReplicationSlotValidateName`): 1 to 63 lower-case
/// letters, digits and underscores. Checked here because the name is spliced into a
/// replication command, which has no parameters.
fn check_slot_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() < 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(Error::config(format!(
            "invalid replication slot name {name:?}: use 1 to 63 lower-case letters, digits \
             and underscores"
        )))
    }
}

/// A publication name as a double-quoted identifier (pgoutput splits the list with
/// `SplitIdentifierString`).
fn identifier(name: &str) -> Result<String> {
    if name.is_empty() || name.contains('\0') {
        return Err(Error::config(
            "a publication name is empty or contains a NUL byte",
        ));
    }
    Ok(format!("\"{}\"", name.replace('"', "\"\"")))
}

/// A string literal for a replication command.
fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn one_row<'a>(rows: &'a [Row], command: &str) -> Result<&'a Row> {
    match rows {
        [row] => Ok(row),
        _ => Err(Error::protocol(format!(
            "{command} returned {} rows; expected one",
            rows.len()
        ))),
    }
}

/// A timeline column: `int4` or `int8` depending on the server version (IDENTIFY_SYSTEM's
/// became `int8` in PostgreSQL 16), read from its text form; NULL is 0.
fn timeline(row: &Row, i: usize, command: &str) -> Result<u32> {
    let raw = row.try_get_raw(i)?;
    let Some(bytes) = raw.bytes() else {
        return Ok(0);
    };
    std::str::from_utf8(bytes)
        .ok()
        .and_then(|s| s.parse::<u32>().ok())
        .ok_or_else(|| Error::protocol(format!("{command} reported an invalid timeline")))
}

fn lsn(s: &str) -> Result<PgLsn> {
    s.parse()
        .map_err(|e| Error::protocol(format!("the server sent an invalid LSN: {e}")))
}

/// The acknowledged position after `ack(lsn)`: it only moves forward, and never past
/// what the stream has handed out (`delivered`). Shared by both kinds of stream.
pub(crate) fn advance_ack(acked: PgLsn, delivered: PgLsn, lsn: PgLsn) -> PgLsn {
    acked.max(lsn.min(delivered))
}

/// Sends a standby status update on a streaming connection, stamped with the time now.
pub(crate) async fn send_standby_status(
    conn: &mut Connection,
    write: PgLsn,
    flush: PgLsn,
    apply: PgLsn,
) -> Result<()> {
    let status = crate::protocol::replication::StandbyStatus {
        write: write.0,
        flush: flush.0,
        apply: apply.0,
        client_time: crate::protocol::replication::now_micros(),
        reply_requested: false,
    };
    conn.copy_both_queue(|buf| crate::protocol::replication::standby_status_update(buf, &status))?;
    conn.copy_both_flush().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_command_picks_the_protocol_version_and_quotes_names() {
        let o = LogicalOptions::new(["pub", "Odd \"one\", 'q'"]);
        let sql = start_command("s", PgLsn(0x1_0000_0010), &o, 16).unwrap();
        assert_eq!(
            sql,
            "START_REPLICATION SLOT s LOGICAL 1/10 (proto_version '4', publication_names \
             '\"pub\",\"Odd \"\"one\"\", ''q''\"')"
        );
        assert!(
            start_command("s", PgLsn(0), &o, 15)
                .unwrap()
                .contains("'3'")
        );
        assert!(
            start_command("s", PgLsn(0), &o, 14)
                .unwrap()
                .contains("'2'")
        );
        assert!(
            start_command("s", PgLsn(0), &o, 13)
                .unwrap()
                .contains("'1'")
        );
    }

    #[test]
    fn options_the_server_cannot_honour_are_refused_before_sending() {
        let o = LogicalOptions::new(["p"]).streaming(Streaming::Parallel);
        assert!(start_command("s", PgLsn(0), &o, 15).is_err());
        assert!(
            start_command("s", PgLsn(0), &o, 16)
                .unwrap()
                .contains("streaming 'parallel'")
        );
        let o = LogicalOptions::new(["p"])
            .streaming(Streaming::On)
            .proto_version(1);
        assert!(start_command("s", PgLsn(0), &o, 16).is_err());
        let o = LogicalOptions::new(["p"]).proto_version(5);
        assert!(start_command("s", PgLsn(0), &o, 18).is_err());
        let o = LogicalOptions::new(["p"]).binary(true);
        assert!(start_command("s", PgLsn(0), &o, 13).is_err());
        let o = LogicalOptions::new(["p"]).origin(OriginFilter::None);
        assert!(start_command("s", PgLsn(0), &o, 15).is_err());
        let o = LogicalOptions::new(Vec::<String>::new());
        assert!(start_command("s", PgLsn(0), &o, 15).is_err());
    }

    #[test]
    fn slot_names_follow_the_servers_rule() {
        assert!(check_slot_name("cdc_1").is_ok());
        for bad in ["", "Upper", "a b", "x;DROP", &"a".repeat(64)] {
            assert!(check_slot_name(bad).is_err(), "{bad}");
        }
    }
}
