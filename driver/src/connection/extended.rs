//! The extended-query protocol's one path, shared by queries, prepared statements,
//! cursors, pipelines and `execute_many`: which statement a query binds, the Parse,
//! Describe, Bind and Execute that reach it, and what the server's answers teach the
//! statement cache.
//!
//! Two rules hold here for every caller, so no caller can drift from them:
//! - A named statement is bound only on the connection that parsed it and only while its
//!   cache says it exists there ([`Connection::owns`]); names are unique to the connection
//!   and unguessable from other processes (`statement::statement_prefix`).
//! - A request is written whole or not at all ([`Connection::write_request`]).
//!
//! And one behaviour: when the server lacks a statement this connection parsed and did not
//! close (26000 on Bind or Describe), or already has one it is asked to create (42P05 on
//! Parse), a transaction-mode pooler such as PgBouncer is passing our requests to
//! different server sessions. The connection then switches to unnamed statements for good
//! (as every later connection to the same endpoint in this process starts), says so once
//! at WARN, and the caller retries the query where that is safe.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::failure::{Error, Result, SqlState};
use crate::protocol::TransactionStatus;
use bytes::Bytes;

use crate::protocol::frontend::{self, Formats, Target};
use crate::row::Columns;
use crate::statement::Statement;
use crate::types::{Format, Oid, TypeInfo};

use super::Connection;

/// How one query reaches its statement on this connection.
pub(crate) struct Plan {
    /// The statement to bind ("" for the unnamed statement).
    pub(crate) name: Box<str>,
    /// Whether this request carries the statement's Parse and Describe.
    pub(crate) parse: bool,
    /// The statement, when it is already described (prepared by the caller, or cached).
    pub(crate) known: Option<Statement>,
    /// The parameter types the statement is (or will be) parsed with.
    pub(crate) oids: Vec<Oid>,
}

impl Plan {
    /// The result columns, when the statement is already described.
    pub(crate) fn columns(&self) -> Option<Arc<Columns>> {
        self.known.as_ref().map(|s| s.inner.columns.clone())
    }

    /// Whether this plan binds a named statement.
    pub(crate) fn is_named(&self) -> bool {
        !self.name.is_empty()
    }

    /// Appends the Parse and Describe of the statement, when this plan carries them.
    pub(crate) fn encode_parse(&self, buf: &mut Vec<u8>, sql: &str) -> Result<()> {
        if self.parse {
            frontend::parse(buf, &self.name, sql, &self.oids)?;
            frontend::describe(buf, Target::Statement, &self.name)?;
        }
        Ok(())
    }

    /// Appends Parse and Describe (when due), a Bind of `values` (already in Bind wire
    /// form, all binary) to the unnamed portal with binary results, and an Execute of
    /// all its rows.
    pub(crate) fn encode_run(&self, buf: &mut Vec<u8>, sql: &str, values: &[u8]) -> Result<()> {
        self.encode_parse(buf, sql)?;
        self.encode_bind_execute(buf, values)
    }

    /// Appends only the Bind and Execute of [`Plan::encode_run`]: for a further run of a
    /// statement whose Parse this request already carries.
    pub(crate) fn encode_bind_execute(&self, buf: &mut Vec<u8>, values: &[u8]) -> Result<()> {
        self.encode_bind(buf, "", values)?;
        frontend::execute(buf, "", 0)
    }

    /// Appends a Bind of `values` to `portal`, with binary results.
    pub(crate) fn encode_bind(&self, buf: &mut Vec<u8>, portal: &str, values: &[u8]) -> Result<()> {
        let param_formats = if self.oids.is_empty() {
            Formats::Each(&[])
        } else {
            Formats::All(1)
        };
        frontend::bind(
            buf,
            portal,
            &self.name,
            param_formats,
            self.oids.len(),
            values,
            Formats::All(1),
        )
    }
}

/// What to do after the server rejected a query (its ReadyForQuery already read).
pub(crate) enum AfterError {
    /// Run the same query once more: the failure left nothing behind (outside a
    /// transaction) and the next attempt will not meet the same cause.
    Retry,
    /// Report this error.
    Fail(Error),
}

/// Why a statement failed, as far as running it again is concerned.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Cause {
    /// A transaction-mode pooler passed the request to another server session.
    Pooler,
    /// A cached plan went stale after DDL.
    Stale,
    /// Anything else: the query's own failure.
    Other,
}

/// The error to report for a statement that failed for `cause` and is not run again.
fn explain(err: Error, cause: Cause) -> Error {
    match cause {
        Cause::Pooler => err.context(POOLER_HINT),
        Cause::Stale | Cause::Other => err,
    }
}

/// Endpoints (host, port, database, user) where this process saw a transaction-mode
/// pooler: connections to them start with unnamed statements.
static TRANSACTION_POOLERS: Mutex<Option<HashSet<Box<str>>>> = Mutex::new(None);

/// Bumped each time an endpoint is added to [`TRANSACTION_POOLERS`]: a connection compares
/// it with the value it saw last (one atomic load per statement planned) and looks at the
/// set only when it changed, so a pooler spotted by one connection switches all the others
/// to the same endpoint before their next statement, not after their own failure.
static POOLER_GENERATION: AtomicU64 = AtomicU64::new(0);

fn pooler_seen(endpoint: &str) -> bool {
    let seen = TRANSACTION_POOLERS
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    seen.as_ref().is_some_and(|s| s.contains(endpoint))
}

/// Records `endpoint` as a pooler; returns whether it is new to this process.
fn remember_pooler(endpoint: &str) -> bool {
    let mut seen = TRANSACTION_POOLERS
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    seen.get_or_insert_with(HashSet::new)
        .insert(endpoint.into())
}

/// The hint added to an error that a transaction-mode pooler caused.
const POOLER_HINT: &str = "a prepared statement this connection made is not on the server \
     session answering it: a pooler in transaction mode (PgBouncer before 1.21, or without \
     max_prepared_statements) is passing requests to different server sessions. This \
     connection, and every later one to the same endpoint, now uses unnamed statements; \
     set statement_cache_capacity=0 in the connection options to start that way";

impl Connection {
    /// Chooses how `sql`, with parameter types `oids`, reaches its statement: `prepared`
    /// by name when this connection owns it; else a cached statement; else a new one,
    /// named and cached when `persistent` and the cache accepts it, unnamed otherwise.
    pub(crate) fn plan_statement(
        &mut self,
        sql: &str,
        oids: Vec<Oid>,
        prepared: Option<&Statement>,
        persistent: bool,
    ) -> Plan {
        self.follow_pooler_news();
        let known = match prepared {
            Some(s) if self.owns(s) => Some(s.clone()),
            _ if persistent && self.cache.accepts(sql) => self.cache.get(sql, &oids),
            _ => None,
        };
        match known {
            Some(s) => {
                self.note_statement(&s);
                Plan {
                    name: s.inner.name.clone(),
                    parse: false,
                    known: Some(s),
                    oids,
                }
            }
            None => self.plan_new_statement(sql, oids, persistent),
        }
    }

    /// A plan that parses `sql` afresh (named and cached when `persistent` and the cache
    /// accepts it).
    pub(crate) fn plan_new_statement(
        &mut self,
        sql: &str,
        oids: Vec<Oid>,
        persistent: bool,
    ) -> Plan {
        self.note_sql(sql);
        let name = if persistent && self.cache.accepts(sql) {
            self.cache.next_name()
        } else {
            Box::from("")
        };
        Plan {
            name,
            parse: true,
            known: None,
            oids,
        }
    }

    /// Puts `statement` in place of the cached one of the same name (its user types were
    /// named after its description arrived).
    pub(crate) fn refile_statement(&mut self, statement: Statement) {
        if statement.is_named() {
            self.cache.replace_statement(statement);
        }
    }

    /// Whether a statement with this text would be named and cached now.
    pub(crate) fn caches(&self, sql: &str) -> bool {
        self.cache.accepts(sql)
    }

    /// A portal name no other portal of this process has, nor another process can guess.
    pub(crate) fn new_portal_name(&mut self) -> Box<str> {
        self.cache.next_name()
    }

    /// Writes one request whole or not at all: the Closes owed (statements evicted, or
    /// parsed by an abandoned operation), then what `body` appends, which returns how many
    /// Syncs it wrote. On success the request is queued and the named statements that
    /// `plans` parse are remembered until their description is read; on failure nothing
    /// of it stays in the write buffer.
    pub(crate) fn write_request<'p>(
        &mut self,
        plans: impl IntoIterator<Item = &'p Plan>,
        body: impl FnOnce(&mut Vec<u8>) -> Result<u32>,
    ) -> Result<()> {
        self.close_unconfirmed();
        let buf = &mut self.io.write_buf;
        let start = buf.len();
        let encoded = (|| {
            for name in &self.closes {
                frontend::close(buf, Target::Statement, name)?;
            }
            body(buf)
        })();
        match encoded {
            Ok(syncs) => {
                self.closes.clear();
                for plan in plans {
                    self.parse_sent(plan);
                }
                self.queue_request(syncs);
                Ok(())
            }
            Err(e) => {
                self.io.write_buf.truncate(start);
                Err(e)
            }
        }
    }

    /// [`Connection::write_request`] for a connection whose earlier requests may still be
    /// in flight (a pool's shared connection, see `pooling/multiplex`): the statements
    /// other in-flight requests parsed are unconfirmed only because their descriptions
    /// have not arrived yet, so they are not closed (that would close a statement a moment
    /// before its description files it in the cache). Nothing is ever abandoned half-read
    /// on such a connection: its driver reads every response. The Closes of evicted
    /// statements still go first, after every request that may bind them.
    pub(crate) fn write_pipelined_request(
        &mut self,
        plan: &Plan,
        body: impl FnOnce(&mut Vec<u8>) -> Result<u32>,
    ) -> Result<()> {
        let buf = &mut self.io.write_buf;
        let start = buf.len();
        let encoded = (|| {
            for name in &self.closes {
                frontend::close(buf, Target::Statement, name)?;
            }
            body(buf)
        })();
        match encoded {
            Ok(syncs) => {
                self.closes.clear();
                self.parse_sent(plan);
                self.queue_request(syncs);
                Ok(())
            }
            Err(e) => {
                self.io.write_buf.truncate(start);
                Err(e)
            }
        }
    }

    /// Records that `plan`'s Parse is on its way: until its description is read, the
    /// statement is unconfirmed, and closed by the next request if nobody reads it.
    pub(crate) fn parse_sent(&mut self, plan: &Plan) {
        if plan.parse && plan.is_named() {
            self.unconfirmed.push(plan.name.clone());
        }
    }

    /// Files the statement that a RowDescription (`desc`) describes, answering the
    /// Describe of `plan`'s statement (`params` from the ParameterDescription before it):
    /// the statement is confirmed, cached when named, and returned.
    pub(crate) fn read_description(
        &mut self,
        desc: &Bytes,
        sql: &str,
        plan: &Plan,
        params: Vec<TypeInfo>,
    ) -> Result<Statement> {
        let cols = self.columns(desc, Format::Binary)?;
        Ok(self.file_statement(sql, plan, params, cols))
    }

    /// As [`Connection::read_description`], for a statement that returns no rows (NoData).
    pub(crate) fn read_no_data(
        &mut self,
        sql: &str,
        plan: &Plan,
        params: Vec<TypeInfo>,
    ) -> Statement {
        self.file_statement(sql, plan, params, Vec::new())
    }

    fn file_statement(
        &mut self,
        sql: &str,
        plan: &Plan,
        params: Vec<TypeInfo>,
        cols: Vec<crate::row::Column>,
    ) -> Statement {
        // Filed under the parameter types it was parsed with; a statement parsed with none
        // given (`prepare`) under those the server chose, which a query binding it sends.
        let key: Vec<Oid> = if plan.oids.is_empty() {
            params.iter().map(TypeInfo::oid).collect()
        } else {
            plan.oids.clone()
        };
        let statement = Statement::new(self.id, plan.name.clone(), sql, params, cols);
        self.confirm_statement(&plan.name);
        if plan.is_named()
            && let Some(evicted) = self.cache.insert(&key, statement.clone())
        {
            self.closes.push(evicted);
        }
        statement
    }

    /// After the server rejected a query that used `plan`, and its ReadyForQuery was read:
    /// spots a transaction-mode pooler, forgets a stale statement, and says whether to run
    /// the query once more. `before_bind` says the error answered the Parse, Describe or
    /// Bind (it came before BindComplete), not the execution; `may_retry` that the caller
    /// can run the query again (a single query, not retried yet). A retry is only ever
    /// offered outside a transaction, where the failed statement left nothing behind.
    pub(crate) fn after_statement_error(
        &mut self,
        err: Error,
        sql: &str,
        plan: &Plan,
        before_bind: bool,
        may_retry: bool,
    ) -> AfterError {
        let cause = self.diagnose(&err, sql, plan, before_bind);
        if may_retry
            && cause != Cause::Other
            && self.transaction_status() == TransactionStatus::Idle
        {
            return AfterError::Retry;
        }
        AfterError::Fail(explain(err, cause))
    }

    /// [`Connection::after_statement_error`] for a query that is never run twice (a
    /// cursor's, a pipeline's, a batch's): a pooler is still spotted and named.
    pub(crate) fn statement_failed(
        &mut self,
        err: Error,
        sql: &str,
        plan: &Plan,
        before_bind: bool,
    ) -> Error {
        let cause = self.diagnose(&err, sql, plan, before_bind);
        explain(err, cause)
    }

    /// Why a statement failed, acting on it: a pooler switches the connection to unnamed
    /// statements; a stale statement is forgotten and closed. (A statement whose Parse
    /// failed was never described, so never cached; its name stays unconfirmed and is
    /// closed with the next request.)
    fn diagnose(&mut self, err: &Error, sql: &str, plan: &Plan, before_bind: bool) -> Cause {
        if !before_bind || !plan.is_named() {
            return Cause::Other;
        }
        // Our names are unique, so the server lacking a statement it described to us and
        // we did not close, or holding one under a name we have never used, means another
        // server session answered.
        match err.code() {
            Some(SqlState::InvalidSqlStatementName)
                if !plan.parse && self.cache.holds(&plan.name) =>
            {
                self.use_unnamed_statements();
                Cause::Pooler
            }
            Some(SqlState::DuplicatePreparedStatement) if plan.parse => {
                self.use_unnamed_statements();
                Cause::Pooler
            }
            // A cached plan whose result type changed after DDL (0A000 "cached plan must
            // not change result type", raised when Bind revalidates it): parse it again.
            Some(SqlState::FeatureNotSupported) if !plan.parse => {
                self.cache.remove_name(&plan.name);
                self.closes.push(plan.name.clone());
                tracing::debug!(sql, "a cached statement went stale; it is prepared again");
                Cause::Stale
            }
            _ => Cause::Other,
        }
    }

    /// Switches this connection to unnamed statements for good, after a sign of a
    /// transaction-mode pooler, and makes later connections to the same endpoint start so.
    /// Cached statements are forgotten without Close: on a pooler a Close would reach
    /// whichever server session answers, and on the session that has them they are
    /// harmless.
    pub(crate) fn use_unnamed_statements(&mut self) {
        if !self.cache.is_enabled() {
            return;
        }
        self.cache.disable();
        self.closes.clear();
        self.unconfirmed.clear();
        if remember_pooler(&self.settings.endpoint) {
            tracing::warn!(
                endpoint = &*self.settings.endpoint,
                "a prepared statement this connection made is missing on the server: a pooler \
                 in transaction mode (PgBouncer before 1.21, or without max_prepared_statements) \
                 is between us and PostgreSQL. Quarry now uses unnamed statements for this \
                 endpoint; set statement_cache_capacity=0 to start that way and silence this \
                 warning"
            );
        }
    }

    /// Switches to unnamed statements when another connection of this process has spotted
    /// a transaction-mode pooler at this connection's endpoint since the last look.
    fn follow_pooler_news(&mut self) {
        let generation = POOLER_GENERATION.load(Ordering::Acquire);
        if generation == self.pooler_generation {
            return;
        }
        self.pooler_generation = generation;
        if self.cache.is_enabled() && pooler_seen(&self.settings.endpoint) {
            self.use_unnamed_statements();
        }
    }

    // --- Portals ------------------------------------------------------------------------

    /// Sends `Execute(portal, max_rows)` and Sync: the next rows of an open portal.
    pub(crate) async fn send_execute_portal(&mut self, portal: &str, max_rows: u32) -> Result<()> {
        self.write_request([], |buf| {
            frontend::execute(buf, portal, max_rows)?;
            frontend::sync(buf);
            Ok(1)
        })?;
        self.flush().await
    }

    /// Queues, from `Drop`, a Close of `portal` (and Sync) that goes out before the next
    /// request and is never withdrawn.
    pub(crate) fn queue_close_portal(&mut self, portal: &str) {
        self.abandon_batch();
        let buf = &mut self.io.write_buf;
        match frontend::close(buf, Target::Portal, portal) {
            Ok(()) => {
                frontend::sync(buf);
                self.queue_cleanup(1);
            }
            Err(e) => self.mark_broken(format!(
                "could not queue closing a cursor: {}",
                e.display_chain()
            )),
        }
    }

    // --- A batch streamed out before its Sync (`execute_many`) ------------------------

    /// Starts a batch: the Closes owed go first; until [`Connection::end_batch`], a dropped
    /// future, a timeout or a failed row makes the server fail what was sent (see
    /// [`Connection::abandon_batch`]).
    pub(crate) fn begin_batch(&mut self) -> Result<()> {
        self.close_unconfirmed();
        for name in std::mem::take(&mut self.closes) {
            frontend::close(&mut self.io.write_buf, Target::Statement, &name)?;
        }
        self.set_phase(super::Phase::Batch);
        Ok(())
    }

    /// Appends to the open batch what `encode` writes, or nothing if it fails.
    pub(crate) fn append_to_batch(
        &mut self,
        encode: impl FnOnce(&mut Vec<u8>) -> Result<()>,
    ) -> Result<()> {
        let start = self.io.write_buf.len();
        let r = encode(&mut self.io.write_buf);
        if r.is_err() {
            self.io.write_buf.truncate(start);
        }
        r
    }

    /// How many bytes of the batch wait to be sent.
    pub(crate) fn batch_unsent(&self) -> usize {
        self.io.write_buf.len()
    }

    /// Ends the batch with its Sync (`sent`: part of it is on the wire already, so the
    /// Sync must follow even if the caller is dropped now).
    pub(crate) fn end_batch(&mut self, sent: bool) {
        if matches!(self.phase, super::Phase::Batch) {
            self.phase = super::Phase::Ready;
        }
        frontend::sync(&mut self.io.write_buf);
        if sent {
            self.queue_cleanup(1);
        } else {
            self.queue_request(1);
        }
    }
}
