//! The connection: one session with the server, and the one owner of its socket. Private:
//! its public types are re-exported at the crate root (see [`Connection`]).

// # The contract for code built on the connection (query, copy, transaction, listen)
//
// 1. Call `ready().await?` first. It refuses a broken connection and resynchronises.
// 2. Write a request through the connection: `write_request(plans, |buf| ...)` (the
//    extended protocol; it adds the Closes owed and returns how many Syncs it wrote),
//    `queue_simple_query` / `send_simple_query`, `send_execute_portal`, the COPY methods
//    (copy_io.rs) or the batch methods (extended.rs); then `flush().await?`. A request is
//    written whole or not at all; one dropped before its first byte went out is withdrawn;
//    one partly sent is completed and its responses discarded by the next `ready()`.
// 3. Read with `recv().await?` (or `try_recv()` for what is buffered, then `fill()`): it
//    returns an `Incoming`. ReadyForQuery was recorded already; an `Incoming::Error` is the
//    server's error (attach the SQL with `with_statement`), after which
//    `finish_after_error()` reads to the ReadyForQuery.
// 4. Wrap the operation's result in `note(result)`: IO and protocol errors mark the
//    connection broken.
// 5. From `Drop`, queue cleanup with `queue_cleanup_query("ROLLBACK")` or
//    `queue_close_portal`: it is sent before the next operation, never withdrawn.
// 6. COPY FROM STDIN runs as a simple Query; while the server waits for data the
//    connection knows it (`in_copy_in`), and an abandoned COPY is ended by `ready()` with
//    CopyFail.
// 7. `execute_many` streams a batch out before its Sync is written; while it does, an
//    abandoned batch is made to fail by `abandon_batch()` (called by `ready()` and before
//    any cleanup is queued), so none of it commits.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::Arc;

use crate::failure::{DbError, Error, ErrorKind, Result, SqlState};
use crate::protocol::backend::{Header, Message, TransactionStatus, show_tag, tag};
use crate::protocol::frontend;

mod cancel;
mod copy_io;
mod extended;
mod idle;
mod observe;
mod pending;
mod recv;
mod replication;
mod simple;
mod startup;
pub(crate) mod stream;
mod tls;
mod type_registry;
mod x509;

/// For `internals` (the fuzz target): see `internals::certificate_version_and_host_match`.
#[cfg(feature = "__internals")]
pub(crate) fn certificate_version_and_host_match(der: &[u8], host: &str) -> Option<(u8, bool)> {
    let cert = x509::parse(der).ok()?;
    Some((cert.version, x509::matches_host(&cert, host)))
}

pub use cancel::CancelToken;
pub(crate) use copy_io::{CopyDirection, EarlyAnswer};
pub(crate) use extended::{AfterError, Plan};
pub use observe::{QueryLog, QueryLogger};
pub(crate) use observe::{Watch, record_error};
use pending::Pending;
pub(crate) use recv::{CommandTag, Incoming};
pub(crate) use replication::CopyBothIncoming;
pub(crate) use stream::Framed;
pub(crate) use type_registry::TypeRegistry;

use crate::statement::StatementCache;

/// A notification received through LISTEN.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    process_id: i32,
    channel: String,
    payload: String,
}

impl Notification {
    pub(crate) fn new(process_id: i32, channel: String, payload: String) -> Notification {
        Notification {
            process_id,
            channel,
            payload,
        }
    }

    /// The process ID of the backend that sent it.
    pub fn process_id(&self) -> i32 {
        self.process_id
    }

    /// The channel it was sent on.
    pub fn channel(&self) -> &str {
        &self.channel
    }

    /// The payload (empty if none was given).
    pub fn payload(&self) -> &str {
        &self.payload
    }
}

/// A callback for notices (warnings and information the server sends with results).
pub(crate) type NoticeHandler = Arc<dyn Fn(&DbError) + Send + Sync>;

/// A callback for notifications, called as they arrive (psycopg's `add_notify_handler`).
pub(crate) type NotificationHandler = Arc<dyn Fn(&Notification) + Send + Sync>;

/// A connection's callbacks, saved to be put back (see [`Connection::handlers`]).
#[derive(Clone, Default)]
pub(crate) struct Handlers {
    notices: Option<NoticeHandler>,
    notifications: Option<NotificationHandler>,
    query_logger: Option<QueryLogger>,
}

/// The most notifications kept for [`Connection::take_notifications`] before the oldest are dropped.
const MAX_QUEUED_NOTIFICATIONS: usize = 10_000;

/// The server's version, from the `server_version` parameter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerVersion {
    major: u32,
    minor: u32,
    raw: String,
}

impl ServerVersion {
    /// Parses `15.4`, `16beta1`, `9.6.24`, `18.0 (Debian 18.0-1)`.
    pub fn parse(raw: &str) -> ServerVersion {
        let digits = |s: &str| -> (u32, usize) {
            let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
            (s[..end].parse().unwrap_or(0), end)
        };
        let (major, end) = digits(raw);
        let rest = &raw[end..];
        let minor = match rest.strip_prefix('.') {
            Some(rest) if major < 10 => {
                // 9.6.24: "minor" is the third number for old versions.
                let (_, e) = digits(rest);
                rest[e..].strip_prefix('.').map_or(0, |r| digits(r).0)
            }
            Some(rest) => digits(rest).0,
            None => 0,
        };
        ServerVersion {
            major,
            minor,
            raw: raw.to_owned(),
        }
    }

    /// The major version (15 for 15.4).
    pub fn major(&self) -> u32 {
        self.major
    }

    /// The minor version (4 for 15.4).
    pub fn minor(&self) -> u32 {
        self.minor
    }

    /// The version string as the server reported it.
    pub fn as_str(&self) -> &str {
        &self.raw
    }
}

impl fmt::Display for ServerVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

/// The most distinct run-time parameters a session keeps. A server reports a few dozen
/// (those marked `GUC_REPORT`, extensions' included); more means it is misbehaving, and
/// every name would be kept for the connection's life.
pub(crate) const MAX_PARAMETERS: usize = 1_000;

/// The most bytes of parameter names and values a session keeps (each ParameterStatus
/// is at most 30,000 bytes already).
pub(crate) const MAX_PARAMETER_BYTES: usize = 1 << 20;

/// What the server told us about the session.
#[derive(Debug, Default)]
pub(crate) struct Session {
    parameters: HashMap<String, String>,
    /// The bytes of the names and values in `parameters`.
    parameter_bytes: usize,
    pub(crate) process_id: i32,
    pub(crate) secret_key: Vec<u8>,
    pub(crate) transaction_status: Option<TransactionStatus>,
    /// The protocol minor version in use (0 or 2).
    pub(crate) protocol_minor: i32,
}

impl Session {
    /// Records a ParameterStatus, refusing one past the bounds ([`MAX_PARAMETERS`] names,
    /// [`MAX_PARAMETER_BYTES`] in all): a server that floods them would otherwise grow
    /// the connection's memory without end.
    fn set_parameter(&mut self, name: String, value: String) -> Result<()> {
        let old = self.parameters.get(&name).map(|v| name.len() + v.len());
        let bytes = self.parameter_bytes - old.unwrap_or(0) + name.len() + value.len();
        if old.is_none() && self.parameters.len() >= MAX_PARAMETERS {
            return Err(Error::protocol(format!(
                "the server reported more than {MAX_PARAMETERS} distinct run-time parameters \
                 (ParameterStatus); a server reports a few dozen, so it is misbehaving. \
                 The connection is closed"
            )));
        }
        if bytes > MAX_PARAMETER_BYTES {
            return Err(Error::protocol(format!(
                "the server's run-time parameters (ParameterStatus) grew past \
                 {MAX_PARAMETER_BYTES} bytes of names and values; a server reports a few \
                 KiB, so it is misbehaving. The connection is closed"
            )));
        }
        self.parameter_bytes = bytes;
        self.parameters.insert(name, value);
        Ok(())
    }
}

/// An open session with a PostgreSQL server.
///
/// A connection is always a live session that is either in sync with the server or
/// marked broken (and refused for further use); never half-way. Every operation first
/// finishes whatever an abandoned (dropped) operation left behind, and asynchronous
/// messages (notices, notifications, parameter changes) are handled wherever they
/// arrive, without disturbing the result being read.
///
/// Open one with [`Connection::connect`] (see the [connecting guide](crate::config)),
/// run queries on `&mut conn` (the [queries guide](mod@crate::query)), and read the
/// session's state with [`Connection::server_version`],
/// [`Connection::parameter_status`], [`Connection::transaction_status`] and
/// [`Connection::backend_pid`]. A [`CancelToken`] cancels the running query from
/// another task. Dropping a connection closes its socket; [`Connection::close`] also
/// tells the server goodbye.
///
/// A connection is `Send` and `Sync` and needs no background task; to share one
/// session between tasks, use a [`Pool`](crate::Pool) instead.
pub struct Connection {
    io: Framed,
    session: Session,
    pending: Pending,
    /// What the connection is in the middle of, beyond the requests `pending` tracks.
    phase: Phase,
    notices: Option<NoticeHandler>,
    notification_handler: Option<NotificationHandler>,
    notifications: VecDeque<Notification>,
    dropped_notifications: u64,
    cache: StatementCache,
    /// Named statements to close with the next request (evicted from the cache).
    closes: Vec<Box<str>>,
    /// Named statements whose Parse was sent but whose description was not read yet.
    /// If the operation is abandoned, nobody learns about them: the next request
    /// closes them (see `Connection::close_unconfirmed`).
    unconfirmed: Vec<Box<str>>,
    types: TypeRegistry,
    settings: Arc<Settings>,
    cancel: Option<CancelToken>,
    /// Whether a command may have changed session state (settings, listens, cursors,
    /// advisory locks) since the last [`Connection::clear_session_changed`].
    session_changed: bool,
    /// Set when a statement failed with 25006 `read_only_sql_transaction`: after a failover
    /// the server may be a standby now, so a pool discards the connection.
    read_only_error: bool,
    query_logger: Option<QueryLogger>,
    /// Unique in this process: named statements belong to the connection that made them.
    id: u64,
    /// The count of transaction-mode poolers this process knew of when this connection
    /// last looked (see `extended.rs`); starts at 0 so the first statement looks.
    pooler_generation: u64,
}

/// What a connection is in the middle of, beyond the requests and responses that
/// `Pending` tracks.
#[derive(Debug)]
enum Phase {
    /// Nothing but requests and their responses.
    Ready,
    /// A COPY FROM STDIN is open: the server waits for data (or CopyDone, CopyFail).
    CopyIn,
    /// A replication stream (`START_REPLICATION`) is open: CopyData flows both ways until
    /// one side sends CopyDone. Nothing else may be sent meanwhile.
    CopyBoth,
    /// `execute_many` streams a batch whose Sync is not written yet: part of it may have
    /// reached the server. See [`Connection::abandon_batch`].
    Batch,
    /// The connection can no longer be used, and why.
    Broken(String),
}

/// Per-connection settings taken from the connect options.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub(crate) statement_cache_capacity: usize,
    pub(crate) max_cacheable_statement_len: usize,
    pub(crate) command_timeout: Option<std::time::Duration>,
    pub(crate) slow_query_threshold: Option<std::time::Duration>,
    /// `host:port/database/user`: where a transaction-mode pooler, once seen, is
    /// remembered for the process (see `extended.rs`).
    pub(crate) endpoint: Box<str>,
    /// For the spans (OpenTelemetry's `server.address`, `server.port`, `db.namespace`):
    /// the host as given (a name, an address, or a socket directory), its port, and the
    /// database.
    pub(crate) server_address: Box<str>,
    pub(crate) server_port: u16,
    pub(crate) database: Box<str>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            statement_cache_capacity: 100,
            max_cacheable_statement_len: 15 * 1024,
            command_timeout: None,
            slow_query_threshold: None,
            endpoint: Box::from(""),
            server_address: Box::from(""),
            server_port: 0,
            database: Box::from(""),
        }
    }
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("process_id", &self.session.process_id)
            .field("transaction_status", &self.session.transaction_status)
            .field("phase", &self.phase)
            .finish_non_exhaustive()
    }
}

impl Connection {
    pub(crate) fn from_framed(io: Framed, settings: Arc<Settings>) -> Connection {
        static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let id = NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Connection {
            cache: StatementCache::new(
                settings.statement_cache_capacity,
                settings.max_cacheable_statement_len,
                crate::statement::statement_prefix(id),
            ),
            closes: Vec::new(),
            unconfirmed: Vec::new(),
            types: TypeRegistry::default(),
            settings,
            cancel: None,
            session_changed: false,
            query_logger: None,
            id,
            pooler_generation: 0,
            read_only_error: false,
            io,
            session: Session::default(),
            pending: Pending::default(),
            phase: Phase::Ready,
            notices: None,
            notification_handler: None,
            notifications: VecDeque::new(),
            dropped_notifications: 0,
        }
    }

    // --- Session information ---------------------------------------------------------

    /// The backend process ID serving this session.
    pub fn backend_pid(&self) -> i32 {
        self.session.process_id
    }

    /// Whether this session is encrypted with TLS. With `sslmode=prefer` (the default) or
    /// `allow`, a session may have been set up in plaintext (the server offered no TLS, or
    /// refused the TLS session): assert on this when encryption matters, or use
    /// `sslmode=verify-full`, which never falls back.
    pub fn is_tls(&self) -> bool {
        self.io.socket.is_tls()
    }

    /// A run-time parameter the server reported (`server_version`, `TimeZone`, ...).
    pub fn parameter_status(&self, name: &str) -> Option<&str> {
        self.session.parameters.get(name).map(String::as_str)
    }

    /// Every run-time parameter the server reported.
    pub fn parameters(&self) -> &HashMap<String, String> {
        &self.session.parameters
    }

    /// The server's version.
    pub fn server_version(&self) -> ServerVersion {
        ServerVersion::parse(self.parameter_status("server_version").unwrap_or(""))
    }

    /// The transaction status after the last completed operation.
    pub fn transaction_status(&self) -> TransactionStatus {
        self.session
            .transaction_status
            .unwrap_or(TransactionStatus::Idle)
    }

    /// The protocol version in use, as `(3, 0)` or `(3, 2)`.
    pub fn protocol_version(&self) -> (i32, i32) {
        (3, self.session.protocol_minor)
    }

    /// Whether the connection was closed or broke and can no longer be used.
    pub fn is_closed(&self) -> bool {
        matches!(self.phase, Phase::Broken(_))
    }

    /// Whether the connection is idle and in sync: nothing in flight, not in a transaction,
    /// not in COPY. A pool returns only such connections to its idle set.
    pub fn is_idle(&self) -> bool {
        matches!(self.phase, Phase::Ready)
            && self.pending.is_idle()
            && self.transaction_status() == TransactionStatus::Idle
    }

    /// Whether an abandoned operation left responses still to be read.
    pub fn has_pending_work(&self) -> bool {
        !self.pending.is_idle()
            || matches!(self.phase, Phase::CopyIn | Phase::Batch | Phase::CopyBoth)
    }

    /// Sets the callback for notices. The default logs them as `tracing` events.
    pub fn set_notice_handler(&mut self, handler: impl Fn(&DbError) + Send + Sync + 'static) {
        self.notices = Some(Arc::new(handler));
    }

    /// Sets a callback called for each notification as it arrives (it is also queued).
    pub fn set_notification_handler(
        &mut self,
        handler: impl Fn(&Notification) + Send + Sync + 'static,
    ) {
        self.notification_handler = Some(Arc::new(handler));
    }

    /// The notice and notification callbacks and the query logger, as they are now.
    pub(crate) fn handlers(&self) -> Handlers {
        Handlers {
            notices: self.notices.clone(),
            notifications: self.notification_handler.clone(),
            query_logger: self.query_logger.clone(),
        }
    }

    /// Puts back callbacks taken with [`Connection::handlers`], dropping any set since (a
    /// pool does between users, keeping what its `after_connect` hook set).
    pub(crate) fn restore_handlers(&mut self, handlers: &Handlers) {
        self.notices = handlers.notices.clone();
        self.notification_handler = handlers.notifications.clone();
        self.query_logger = handlers.query_logger.clone();
    }

    /// Takes the notifications received so far on this connection.
    pub fn take_notifications(&mut self) -> Vec<Notification> {
        self.notifications.drain(..).collect()
    }

    /// How many notifications were dropped because nobody took them
    /// (more than 10,000 queued).
    pub fn dropped_notifications(&self) -> u64 {
        self.dropped_notifications
    }

    pub(crate) fn pop_notification(&mut self) -> Option<Notification> {
        self.notifications.pop_front()
    }

    /// The timeout applied to every query that sets none of its own.
    pub(crate) fn command_timeout(&self) -> Option<std::time::Duration> {
        self.settings.command_timeout
    }

    /// A token that cancels the query running on this connection from anywhere.
    pub fn cancel_token(&self) -> Option<CancelToken> {
        self.cancel.clone()
    }

    /// Enters `phase` (a COPY FROM STDIN or a streamed batch opens), or leaves it for
    /// `Ready`; a broken connection stays broken.
    fn set_phase(&mut self, phase: Phase) {
        if !self.is_closed() {
            self.phase = phase;
        }
    }

    /// Whether a statement failed with 25006 `read_only_sql_transaction`: after a
    /// failover the server may be a standby now, so a pool discards the connection.
    pub(crate) fn saw_read_only_error(&self) -> bool {
        self.read_only_error
    }

    /// Whether `statement` is a named statement of this session that still exists.
    pub(crate) fn owns(&self, statement: &crate::statement::Statement) -> bool {
        statement.is_named()
            && statement.inner.owner == self.id
            && self.cache.holds(&statement.inner.name)
    }

    /// How many prepared statements the connection's cache holds.
    pub fn cached_statements(&self) -> usize {
        self.cache.len()
    }

    /// Forgets every cached statement and closes them on the server before the next query.
    pub fn clear_statement_cache(&mut self) {
        let names = self.cache.clear();
        self.closes.extend(names);
    }

    /// Queues a Close for every statement an abandoned operation parsed without reading
    /// its description (so the cache never learned of it). Call before encoding a request
    /// that sends `closes`; an operation that completes confirms its statements first.
    pub(crate) fn close_unconfirmed(&mut self) {
        self.closes.append(&mut self.unconfirmed);
    }

    /// A statement's description was read: it is known, to the cache or to its owner.
    pub(crate) fn confirm_statement(&mut self, name: &str) {
        self.unconfirmed.retain(|n| &**n != name);
    }

    /// Forgets the OIDs of user types looked up so far (asyncpg's `reload_schema_state`);
    /// call it after DDL that drops or recreates types. Also clears the statement cache.
    pub fn reload_types(&mut self) {
        self.types.clear();
        self.clear_statement_cache();
    }

    /// After a query timed out: cancel it on the server, wait (bounded) for the
    /// connection to come back in sync, and return the timeout error.
    ///
    /// The cancel and the resync share one short deadline ([`TIMEOUT_CLEANUP`]), so the
    /// caller's whole wait is its timeout plus at most that: a server that stopped
    /// answering (a black hole) cannot hold the caller, or a pool slot, any longer. Past
    /// the deadline the connection is given up (marked broken, its socket closed when
    /// it is dropped) rather than waited on.
    pub(crate) async fn after_timeout(&mut self, after: std::time::Duration) -> Error {
        let err = Error::timeout(format!(
            "the query did not finish within {after:?} and was cancelled"
        ));
        if self.is_closed() {
            return err;
        }
        // Withdraw what never went out; if nothing is left in flight, there is nothing to cancel.
        self.abandon_batch();
        let written = self.io.written;
        self.pending
            .withdraw_unsent(&mut self.io.write_buf, written);
        let token = self.cancel.clone().filter(|_| self.pending.owed() > 0);
        let cleanup = async {
            if let Some(token) = token
                && let Err(e) = token.cancel_query().await
            {
                tracing::warn!(
                    "could not cancel the timed-out query: {}",
                    e.display_chain()
                );
            }
            self.ready().await
        };
        match tokio::time::timeout(TIMEOUT_CLEANUP, cleanup).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                self.mark_broken(format!("lost sync after a timeout: {}", e.display_chain()))
            }
            Err(_) => {
                tracing::warn!(
                    "the server did not finish the cancelled query within {TIMEOUT_CLEANUP:?} \
                     of the timeout; closing the connection"
                );
                self.mark_broken(format!(
                    "the server did not finish the cancelled query within {TIMEOUT_CLEANUP:?} \
                     of the timeout, so the connection was closed"
                ))
            }
        }
        err
    }

    /// Whether a command since the last reset may have changed session state: a `SET`,
    /// `RESET`, `LISTEN`, `DECLARE CURSOR`, `PREPARE`, or SQL that calls `set_config` or an
    /// advisory-lock function. A pool uses it to run its reset query only when needed.
    pub fn session_changed(&self) -> bool {
        self.session_changed
    }

    /// Forgets that the session changed (after a reset).
    pub fn clear_session_changed(&mut self) {
        self.session_changed = false;
    }

    /// Notes what a completed command did to the session (see [`CommandTag`]).
    fn note_command(&mut self, tag: &CommandTag) {
        match tag.effect() {
            recv::Effect::None => {}
            recv::Effect::SessionChanged => self.session_changed = true,
            recv::Effect::StatementsGone => {
                // The user's SQL removed every prepared statement of the session: forget
                // them without closing (a Close of one would fail), or their next use
                // would look like a transaction-mode pooler's doing (see `extended.rs`).
                self.cache.clear();
                self.closes.clear();
                self.unconfirmed.clear();
                self.session_changed = true;
            }
        }
    }

    /// Notes SQL about to run that may change session state through a function call.
    pub(crate) fn note_sql(&mut self, sql: &str) {
        if !self.session_changed && crate::statement::touches_session(sql) {
            self.session_changed = true;
        }
    }

    /// Notes a cached statement about to run.
    pub(crate) fn note_statement(&mut self, statement: &crate::statement::Statement) {
        self.session_changed |= statement.inner.touches_session;
    }

    // --- Sync -------------------------------------------------------------------------

    /// Refuses use of a broken connection.
    pub(crate) fn check_open(&self) -> Result<()> {
        match &self.phase {
            Phase::Broken(why) => Err(Error::closed(format!(
                "the connection can no longer be used: {why}"
            ))),
            _ => Ok(()),
        }
    }

    /// Marks the connection broken when `r` is an error that leaves it unusable. A socket
    /// failure (IO error, hang-up) while a request that went out is still unanswered
    /// becomes [`ErrorKind::OutcomeUnknown`](crate::ErrorKind::OutcomeUnknown): the server
    /// may have run it, even committed it. (One that failed before its first byte went
    /// out, or after its ReadyForQuery, keeps its kind: its outcome is known.)
    pub(crate) fn note<T>(&mut self, r: Result<T>) -> Result<T> {
        match r {
            Err(e) if e.is_connection_fatal() && !self.is_closed() => {
                // (A replication stream's START_REPLICATION is answered already; losing
                // the stream leaves nothing in doubt: the slot says where it stands.)
                let e = if matches!(e.kind(), ErrorKind::Io | ErrorKind::Closed)
                    && !matches!(self.phase, Phase::CopyBoth)
                    && self.pending.sent_unanswered(self.io.written)
                {
                    Error::outcome_unknown(e)
                } else {
                    e
                };
                self.phase = Phase::Broken(e.display_chain().to_string());
                Err(e)
            }
            r => r,
        }
    }

    /// Like [`Connection::note`] where no request of the caller's can be in doubt: while
    /// finishing what abandoned operations left (their outcomes concern nobody waiting;
    /// the next request was not sent yet), and during startup.
    fn note_no_request<T>(&mut self, r: Result<T>) -> Result<T> {
        if let Err(e) = &r
            && e.is_connection_fatal()
        {
            self.mark_broken(e.display_chain().to_string());
        }
        r
    }

    pub(crate) fn mark_broken(&mut self, why: impl Into<String>) {
        if !self.is_closed() {
            self.phase = Phase::Broken(why.into());
        }
    }

    /// Brings the connection back in sync before a new operation: sends what an
    /// abandoned operation must still send, and discards the responses it left.
    pub(crate) async fn ready(&mut self) -> Result<()> {
        self.check_open()?;
        if self.pending.is_idle()
            && matches!(self.phase, Phase::Ready)
            && self.io.write_buf.is_empty()
        {
            return Ok(());
        }
        let r = self.resync().await;
        self.note_no_request(r)
    }

    async fn resync(&mut self) -> Result<()> {
        if matches!(self.phase, Phase::CopyBoth) {
            // The server streams until it reads our CopyDone, and may never stop: a
            // stream left open cannot be drained into sync. Give the session up.
            let why = "a replication stream was left open (end it with \
                       ReplicationStream::stop to reuse the connection)";
            self.mark_broken(why);
            return Err(Error::closed(format!(
                "the connection can no longer be used: {why}"
            )));
        }
        self.abandon_batch();
        let written = self.io.written;
        self.pending
            .withdraw_unsent(&mut self.io.write_buf, written);
        if matches!(self.phase, Phase::CopyIn) {
            // An abandoned COPY FROM STDIN: tell the server, which then answers with
            // an error and ReadyForQuery (the COPY was sent as a simple Query).
            frontend::copy_fail(&mut self.io.write_buf, "COPY abandoned by the client")?;
            self.phase = Phase::Ready;
        }
        self.flush().await?;
        while self.pending.owed() > 0 {
            // Every message is validated even when discarded: a malformed one means we
            // are lost.
            match self.recv().await? {
                Incoming::CopyIn(_) => {
                    frontend::copy_fail(&mut self.io.write_buf, "COPY abandoned by the client")?;
                    self.flush().await?;
                }
                Incoming::Error(e) => {
                    tracing::debug!(
                        code = e.code().map(SqlState::code),
                        "discarding the error of an abandoned operation"
                    );
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Queues a whole request already encoded at the end of the write buffer.
    pub(crate) fn queue_request(&mut self, syncs: u32) {
        let end = self.io.write_buf.len();
        self.pending.queue(end, syncs, false);
    }

    /// Queues a request that must be sent even if nobody waits for it (cleanup from `Drop`).
    pub(crate) fn queue_cleanup(&mut self, syncs: u32) {
        let end = self.io.write_buf.len();
        self.pending.queue(end, syncs, true);
    }

    /// Records that the write buffer was sent completely by someone else.
    pub(crate) fn mark_flushed(&mut self) {
        self.pending.flushed();
    }

    /// Sends the write buffer.
    pub(crate) async fn flush(&mut self) -> Result<()> {
        self.io.flush().await?;
        self.pending.flushed();
        Ok(())
    }

    /// Sends the write buffer while also reading whatever the server answers meanwhile,
    /// so a large pipeline cannot deadlock with both sides' socket buffers full.
    pub(crate) async fn flush_while_reading(&mut self) -> Result<()> {
        let io = &mut self.io;
        std::future::poll_fn(|cx| {
            loop {
                match io.poll_flush_some(cx) {
                    std::task::Poll::Ready(r) => return std::task::Poll::Ready(r),
                    std::task::Poll::Pending => match io.poll_read_some(cx) {
                        std::task::Poll::Ready(Ok(_)) => continue,
                        std::task::Poll::Ready(Err(e)) => return std::task::Poll::Ready(Err(e)),
                        std::task::Poll::Pending => return std::task::Poll::Pending,
                    },
                }
            }
        })
        .await?;
        self.mark_flushed();
        Ok(())
    }

    /// Drives the socket of a connection with requests in flight (a pool's shared
    /// connection): sends what the write buffer holds and reads what the server answered,
    /// as far as the socket allows now. Ready when something moved (bytes read, or the
    /// write buffer sent); pending, with `cx` registered, when nothing could.
    pub(crate) fn poll_exchange(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<()>> {
        use std::task::Poll;
        let mut moved = false;
        if !self.io.write_buf.is_empty() {
            match self.io.poll_flush_some(cx) {
                Poll::Ready(Ok(())) => {
                    self.pending.flushed();
                    moved = true;
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => {}
            }
        }
        if self.pending.owed() > 0 {
            match self.io.poll_read_some(cx) {
                Poll::Ready(Ok(_)) => moved = true,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => {}
            }
        }
        if moved {
            Poll::Ready(Ok(()))
        } else {
            Poll::Pending
        }
    }

    /// Whether bytes of written requests wait to be sent.
    pub(crate) fn has_unsent(&self) -> bool {
        !self.io.write_buf.is_empty()
    }

    /// Sends what is queued as far as the socket takes it right now, without waiting: a
    /// cleanup queued from `Drop` (a transaction's ROLLBACK) then reaches the server at
    /// once instead of at the connection's next use, so an abandoned transaction does not
    /// hold its locks meanwhile. Requests of which nothing went out are withdrawn first,
    /// exactly as the next `ready()` would. What the socket does not take now goes out
    /// with the next operation; responses are read then.
    pub(crate) fn flush_now(&mut self) {
        if self.is_closed() {
            return;
        }
        self.abandon_batch();
        if self.io.write_buf.is_empty() {
            return;
        }
        let written = self.io.written;
        self.pending
            .withdraw_unsent(&mut self.io.write_buf, written);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match self.io.poll_flush_some(&mut cx) {
            std::task::Poll::Ready(Ok(())) => self.pending.flushed(),
            std::task::Poll::Ready(Err(e)) => self.mark_broken(e.display_chain().to_string()),
            std::task::Poll::Pending => {}
        }
    }

    /// Ends a batch that `execute_many` was streaming when it was dropped or failed
    /// before its Sync: appends an Execute of a portal that does not exist, which fails
    /// the batch's implicit transaction so that none of its rows commit, then the Sync.
    /// The batch's bytes and these go out as one request that is never withdrawn (part
    /// of it may be on the wire already); the server answers with an error and
    /// ReadyForQuery. Call before appending anything else to the write buffer.
    pub(crate) fn abandon_batch(&mut self) {
        if !matches!(self.phase, Phase::Batch) {
            return;
        }
        self.phase = Phase::Ready;
        match frontend::execute(&mut self.io.write_buf, ABANDONED_BATCH_PORTAL, 0) {
            Ok(()) => {
                frontend::sync(&mut self.io.write_buf);
                self.queue_cleanup(1);
            }
            Err(e) => self.mark_broken(format!(
                "could not end an abandoned batch: {}",
                e.display_chain()
            )),
        }
    }

    /// Queues a simple-protocol cleanup query (e.g. `ROLLBACK`) from a `Drop` impl.
    /// It is sent before the next operation on this connection.
    pub(crate) fn queue_cleanup_query(&mut self, sql: &str) {
        self.abandon_batch();
        match frontend::query(&mut self.io.write_buf, sql) {
            Ok(()) => self.queue_cleanup(1),
            Err(e) => self.mark_broken(format!("could not queue `{sql}`: {}", e.display_chain())),
        }
    }

    /// Records a ReadyForQuery at the front of the buffer.
    fn on_ready_for_query(&mut self, h: Header) -> Result<()> {
        let Message::ReadyForQuery(status) = Message::parse(h.tag, self.io.body(h))? else {
            return Err(Error::protocol("expected ReadyForQuery"));
        };
        self.io.consume(h);
        if !self.pending.ready_for_query() {
            return Err(Error::protocol(
                "the server sent ReadyForQuery when none was expected",
            ));
        }
        self.session.transaction_status = Some(status);
        Ok(())
    }

    /// Waits for the next frame that is not asynchronous, leaving it at the front of the
    /// buffer (startup reads authentication messages this way; everything after it uses
    /// [`Connection::recv`]). Notices, notifications and parameter changes are handled on
    /// the way.
    async fn recv_frame(&mut self) -> Result<Header> {
        loop {
            let h = match self.io.has_frame()? {
                Some(h) => h,
                None => self.io.fill_frame().await?,
            };
            if !self.handle_async(h)? {
                return Ok(h);
            }
        }
    }

    /// Handles `h` if it is an asynchronous message, consuming it. Returns whether it was.
    fn handle_async(&mut self, h: Header) -> Result<bool> {
        let asynchronous = matches!(
            h.tag,
            tag::NOTICE_RESPONSE | tag::NOTIFICATION_RESPONSE | tag::PARAMETER_STATUS
        ) || (h.tag == tag::ERROR_RESPONSE && self.pending.owed() == 0);
        if !asynchronous {
            return Ok(false);
        }
        enum Async {
            Notice(DbError),
            Notification(Notification),
            Parameter(String, String),
            Ended(DbError),
        }
        let message = match Message::parse(h.tag, self.io.body(h))? {
            Message::NoticeResponse(fields) => Async::Notice(fields.to_db_error()?),
            Message::NotificationResponse {
                process_id,
                channel,
                payload,
            } => Async::Notification(Notification::new(
                process_id,
                channel.to_owned(),
                payload.to_owned(),
            )),
            Message::ParameterStatus { name, value } => {
                Async::Parameter(name.to_owned(), value.to_owned())
            }
            // An error nobody asked for: the server is ending the session (admin
            // shutdown, idle timeout).
            Message::ErrorResponse(fields) => Async::Ended(fields.to_db_error()?),
            _ => return Ok(false),
        };
        self.io.consume(h);
        match message {
            Async::Notice(notice) => match &self.notices {
                Some(handler) => handler(&notice),
                None => log_notice(&notice),
            },
            Async::Notification(n) => {
                if let Some(handler) = &self.notification_handler {
                    handler(&n);
                }
                if self.notifications.len() >= MAX_QUEUED_NOTIFICATIONS {
                    self.notifications.pop_front();
                    self.dropped_notifications += 1;
                    tracing::warn!(
                        dropped = self.dropped_notifications,
                        "more than {MAX_QUEUED_NOTIFICATIONS} notifications queued and not taken; \
                         dropping the oldest (use take_notifications or a Listener)"
                    );
                }
                self.notifications.push_back(n);
            }
            Async::Parameter(name, value) => {
                self.session.set_parameter(name, value)?;
            }
            Async::Ended(db) => {
                return Err(Error::closed(format!("the server ended the session: {db}")));
            }
        }
        Ok(true)
    }

    /// Turns the ErrorResponse frame `h` at the front of the buffer into an error,
    /// consuming it (startup's errors; later ones arrive as [`Incoming::Error`]).
    fn frame_db_error(&mut self, h: Header) -> Result<Error> {
        let Message::ErrorResponse(fields) = Message::parse(h.tag, self.io.body(h))? else {
            return Err(self.unexpected_frame(h, "ErrorResponse"));
        };
        let db = fields.to_db_error()?;
        self.io.consume(h);
        Ok(Error::db(db))
    }

    /// A protocol error for message `h` arriving when `expected` was due.
    /// An ErrorResponse becomes the database error it carries.
    fn unexpected_frame(&self, h: Header, expected: &str) -> Error {
        if h.tag == tag::ERROR_RESPONSE
            && let Ok(Message::ErrorResponse(f)) = Message::parse(h.tag, self.io.body(h))
        {
            return match f.to_db_error() {
                Ok(db) => Error::db(db),
                Err(e) => e,
            };
        }
        Error::protocol(format!(
            "expected {expected}, got {} ({})",
            crate::protocol::backend::name(h.tag),
            show_tag(h.tag)
        ))
    }

    /// Sends Terminate and closes the socket, waiting at most 5 seconds.
    pub async fn close(mut self) -> Result<()> {
        self.close_in_place(std::time::Duration::from_secs(5)).await
    }

    pub(crate) async fn close_in_place(&mut self, timeout: std::time::Duration) -> Result<()> {
        if self.is_closed() {
            return Ok(());
        }
        self.phase = Phase::Broken("the connection was closed".into());
        if self.io.written > 0 {
            // A message is half sent; Terminate would be read as part of it. Just hang up.
            self.io.shutdown().await;
            return Ok(());
        }
        // Whatever was queued and not sent is moot now.
        self.io.write_buf.clear();
        frontend::terminate(&mut self.io.write_buf);
        let io = &mut self.io;
        let _ = tokio::time::timeout(timeout, async {
            io.flush().await?;
            io.shutdown().await;
            Ok::<(), Error>(())
        })
        .await;
        Ok(())
    }
}

/// How long after a timeout the driver spends cancelling the statement and reading the
/// connection back into sync before it closes the connection instead: a caller's wait is
/// bounded by its timeout plus this (issue 17: the cancel and the resync each used to
/// wait up to 5 s against a server that stopped answering).
pub(crate) const TIMEOUT_CLEANUP: std::time::Duration = std::time::Duration::from_millis(300);

/// The portal that `abandon_batch` executes. No portal of this name is ever opened, so
/// executing it fails (34000, invalid_cursor_name).
pub(crate) const ABANDONED_BATCH_PORTAL: &str = "quarry: abandoned batch";

/// Awaits `$work`, an operation on connection `$conn`, within `$timeout`: on expiry the
/// operation is dropped, its query cancelled on the server, and the connection brought
/// back in sync (`Connection::after_timeout`). A macro because `$work` borrows `$conn`.
macro_rules! within_timeout {
    ($conn:ident, $timeout:expr, $work:expr) => {{
        let timeout: Option<std::time::Duration> = $timeout;
        match timeout {
            None => $work.await,
            Some(d) => {
                let r = tokio::time::timeout(d, $work).await;
                match r {
                    Ok(r) => r,
                    Err(_) => Err($conn.after_timeout(d).await),
                }
            }
        }
    }};
}
pub(crate) use within_timeout;

fn log_notice(notice: &DbError) {
    use crate::failure::Severity;
    let code = notice.code().code();
    match notice.severity() {
        Severity::Warning => tracing::warn!(code, "{}", notice.message()),
        Severity::Debug => tracing::debug!(code, "{}", notice.message()),
        Severity::Log => tracing::debug!(code, "{}", notice.message()),
        _ => tracing::info!(code, "{}", notice.message()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_versions() {
        let v = ServerVersion::parse("15.18 (Debian 15.18-0+deb12u1)");
        assert_eq!((v.major(), v.minor()), (15, 18));
        let v = ServerVersion::parse("16beta1");
        assert_eq!((v.major(), v.minor()), (16, 0));
        let v = ServerVersion::parse("9.6.24");
        assert_eq!((v.major(), v.minor()), (9, 24));
        let v = ServerVersion::parse("18.0");
        assert_eq!((v.major(), v.minor()), (18, 0));
        let v = ServerVersion::parse("");
        assert_eq!((v.major(), v.minor()), (0, 0));
    }
}
