//! Transactions: `BEGIN` with options, savepoints, the closure runner with retries, and
//! two-phase commit. The guide is the public `transaction` module.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::time::Duration;

use crate::connection::Connection;
use crate::executor::{Acquire, ConnectionRef, Executor};
use crate::failure::{DbError, Error, ErrorKind, Result};
use crate::protocol::TransactionStatus;
use crate::querying::query_as;
use crate::types::TimestampTz;

/// A boxed `Send` future: what the closure given to [`Connection::transaction`] and the
/// pool's hooks return (write `Box::pin(async move { ... })`).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The connection a transaction runs on: borrowed (`conn.begin()`) or owned (`pool.begin()`).
pub(crate) type ConnBox<'c> = Box<dyn DerefMut<Target = Connection> + Send + 'c>;

// --- Options -------------------------------------------------------------------------

/// A transaction isolation level (`BEGIN ISOLATION LEVEL ...`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IsolationLevel {
    /// `READ UNCOMMITTED` (PostgreSQL runs it as read committed).
    ReadUncommitted,
    /// `READ COMMITTED`, PostgreSQL's default.
    ReadCommitted,
    /// `REPEATABLE READ`: one snapshot for the whole transaction.
    RepeatableRead,
    /// `SERIALIZABLE`: as if transactions ran one at a time; may fail with 40001,
    /// so run it with [`RunTransaction::retry_on_serialization_failure`].
    Serializable,
}

impl IsolationLevel {
    fn sql(self) -> &'static str {
        match self {
            IsolationLevel::ReadUncommitted => "ISOLATION LEVEL READ UNCOMMITTED",
            IsolationLevel::ReadCommitted => "ISOLATION LEVEL READ COMMITTED",
            IsolationLevel::RepeatableRead => "ISOLATION LEVEL REPEATABLE READ",
            IsolationLevel::Serializable => "ISOLATION LEVEL SERIALIZABLE",
        }
    }
}

/// How to start a transaction: isolation level, read only, deferrable.
/// What is left unset takes the session's defaults.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TxOptions {
    isolation: Option<IsolationLevel>,
    read_only: Option<bool>,
    deferrable: Option<bool>,
}

impl TxOptions {
    /// The session's defaults (a plain `BEGIN`).
    pub fn new() -> TxOptions {
        TxOptions::default()
    }

    /// Sets the isolation level.
    pub fn isolation(mut self, level: IsolationLevel) -> TxOptions {
        self.isolation = Some(level);
        self
    }

    /// `READ ONLY` (true) or `READ WRITE` (false).
    pub fn read_only(mut self, read_only: bool) -> TxOptions {
        self.read_only = Some(read_only);
        self
    }

    /// `DEFERRABLE` (true) or `NOT DEFERRABLE` (false); matters only for
    /// serializable read-only transactions, which then wait for a safe snapshot
    /// instead of risking a serialization failure.
    pub fn deferrable(mut self, deferrable: bool) -> TxOptions {
        self.deferrable = Some(deferrable);
        self
    }

    /// The BEGIN statement for these options.
    pub(crate) fn begin_sql(&self) -> String {
        let mut modes: Vec<&str> = Vec::new();
        if let Some(level) = self.isolation {
            modes.push(level.sql());
        }
        match self.read_only {
            Some(true) => modes.push("READ ONLY"),
            Some(false) => modes.push("READ WRITE"),
            None => {}
        }
        match self.deferrable {
            Some(true) => modes.push("DEFERRABLE"),
            Some(false) => modes.push("NOT DEFERRABLE"),
            None => {}
        }
        if modes.is_empty() {
            "BEGIN".to_owned()
        } else {
            format!("BEGIN {}", modes.join(", "))
        }
    }
}

// --- Transaction ---------------------------------------------------------------------

/// Where a transaction (or savepoint) is in its life; decides what `Drop` must queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Nothing was sent yet: nothing to undo.
    NotStarted,
    /// BEGIN/SAVEPOINT is queued or on its way.
    Starting,
    /// Acknowledged by the server.
    Open,
    /// COMMIT/ROLLBACK/RELEASE/PREPARE is queued or on its way.
    Ending,
    /// Over, one way or the other.
    Done,
}

/// An open transaction, or a savepoint inside one (from [`Transaction::begin`]).
///
/// Run queries on it with `&mut tx` (it is an [`Executor`]) or through the connection
/// it derefs to. End it with [`commit`](Transaction::commit) or
/// [`rollback`](Transaction::rollback); dropping it unfinished rolls it back (the
/// ROLLBACK is queued and sent before the connection's next use).
pub struct Transaction<'c> {
    conn: ConnBox<'c>,
    /// 0 for the transaction itself, n for the n-th nested savepoint.
    depth: u32,
    state: State,
    /// The `transaction` span (target `quarry_driver::transaction`), from BEGIN (or
    /// SAVEPOINT) to its end, which records the outcome.
    span: tracing::Span,
}

impl fmt::Debug for Transaction<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transaction")
            .field("depth", &self.depth)
            .field("state", &self.state)
            .field("connection", &**self.conn)
            .finish()
    }
}

/// Starts a transaction on `conn` (which may be borrowed or owned, as from a pool).
///
/// The transaction exists only once the server acknowledged BEGIN; if this future is
/// dropped after BEGIN went out, a ROLLBACK is queued (see the module docs).
pub(crate) async fn begin_in<'c>(conn: ConnBox<'c>, options: TxOptions) -> Result<Transaction<'c>> {
    let span = conn.transaction_span(0);
    let mut tx = Transaction {
        conn,
        depth: 0,
        state: State::NotStarted,
        span,
    };
    let r = tx.open(&options.begin_sql()).await;
    tx.outcome_if_failed(&r);
    r.map(|()| tx)
}

impl Transaction<'_> {
    /// BEGIN, on a connection that must not be in a transaction.
    async fn open(&mut self, begin: &str) -> Result<()> {
        let tx = self;
        tx.conn.ready().await?;
        if tx.conn.transaction_status() != TransactionStatus::Idle {
            return Err(Error::new(
                ErrorKind::Unsupported,
                "the connection is already inside a transaction (begun with SQL?); \
             use the Transaction's begin() for a savepoint, or end the open transaction first",
            ));
        }
        tx.control(begin, State::Starting).await?;
        tx.started()
    }

    /// Records a failure to start (BEGIN, SAVEPOINT) on the span.
    fn outcome_if_failed(&self, r: &Result<()>) {
        if let Err(e) = r {
            self.ended("failed", Some(e));
        }
    }

    /// Records how the transaction ended on its span.
    fn ended(&self, outcome: &'static str, error: Option<&Error>) {
        if self.span.is_disabled() {
            return;
        }
        self.span.record("outcome", outcome);
        if let Some(e) = error {
            crate::connection::record_error(&self.span, e);
        }
    }
}

/// Opens savepoint number `depth` on `conn`, which is inside a transaction.
async fn savepoint_in(conn: ConnBox<'_>, depth: u32) -> Result<Transaction<'_>> {
    let span = conn.transaction_span(depth);
    let mut sp = Transaction {
        conn,
        depth,
        state: State::NotStarted,
        span,
    };
    let r = async {
        sp.conn.ready().await?;
        let sql = format!("SAVEPOINT {}", sp.savepoint_name());
        sp.control(&sql, State::Starting).await?;
        sp.started()
    }
    .await;
    sp.outcome_if_failed(&r);
    r.map(|()| sp)
}

impl<'c> ConnectionRef<'c> {
    /// Starts a transaction on this connection, or a savepoint when it is already inside
    /// one (the executor was a `&mut Transaction`), as sqlx's `Acquire::begin` does: what a
    /// function generic over its executor writes to make its own work atomic whoever
    /// called it.
    ///
    /// ```no_run
    /// use quarry_driver::{Executor, Result, query};
    ///
    /// async fn transfer(e: impl Executor<'_>) -> Result<()> {
    ///     let mut tx = e.acquire().await?.begin().await?;
    ///     query("UPDATE accounts SET balance = balance - 1 WHERE id = 1").execute(&mut tx).await?;
    ///     query("UPDATE accounts SET balance = balance + 1 WHERE id = 2").execute(&mut tx).await?;
    ///     tx.commit().await
    /// }
    /// ```
    ///
    /// A savepoint's name repeats an enclosing one's when both have the same depth, which
    /// PostgreSQL allows: `RELEASE` and `ROLLBACK TO` act on the most recent one, and the
    /// borrow rules end the inner savepoint first.
    pub async fn begin(self) -> Result<Transaction<'c>> {
        let mut conn: ConnBox<'c> = match self {
            ConnectionRef::Borrowed(conn) => Box::new(conn),
            ConnectionRef::Owned(conn) => conn,
        };
        conn.ready().await?;
        match conn.transaction_status() {
            TransactionStatus::Idle => begin_in(conn, TxOptions::new()).await,
            _ => savepoint_in(conn, 1).await,
        }
    }
}

impl Connection {
    /// Starts a transaction with the session's default options.
    pub async fn begin(&mut self) -> Result<Transaction<'_>> {
        begin_in(Box::new(self), TxOptions::new()).await
    }

    /// Starts a transaction with these options:
    /// `conn.begin_with(TxOptions::new().isolation(Serializable).read_only(true))`.
    pub async fn begin_with(&mut self, options: TxOptions) -> Result<Transaction<'_>> {
        begin_in(Box::new(self), options).await
    }
}

impl<'c> Transaction<'c> {
    /// The savepoint name of depth `depth` (only for depth > 0).
    fn savepoint_name(&self) -> String {
        format!("quarry_savepoint_{}", self.depth)
    }

    /// How deep this is: 0 for a transaction, 1 for a savepoint in it, and so on.
    pub fn depth(&self) -> u32 {
        self.depth
    }

    /// Starts a nested transaction: a savepoint. Its commit releases the savepoint; its
    /// rollback (or drop) rolls back to it, undoing only what was done since.
    pub async fn begin(&mut self) -> Result<Transaction<'_>> {
        let depth = self
            .depth
            .checked_add(1)
            .ok_or_else(|| Error::new(ErrorKind::Unsupported, "too many nested savepoints"))?;
        let conn: &mut Connection = &mut self.conn;
        savepoint_in(Box::new(conn), depth).await
    }

    /// After BEGIN/SAVEPOINT completed: check that the server is in a transaction.
    fn started(&mut self) -> Result<()> {
        match self.conn.transaction_status() {
            TransactionStatus::InTransaction => {
                self.state = State::Open;
                Ok(())
            }
            other => {
                // Nothing to undo (BEGIN did not start one) or the enclosing transaction
                // is failed (the savepoint will be discarded with it).
                self.state = State::Done;
                Err(Error::protocol(format!(
                    "the server reports {other:?} after {}",
                    if self.depth == 0 {
                        "BEGIN"
                    } else {
                        "SAVEPOINT"
                    }
                )))
            }
        }
    }

    /// Commits: `COMMIT`, or `RELEASE SAVEPOINT` for a savepoint.
    ///
    /// If a statement in the transaction failed, nothing can be committed: the
    /// transaction (or savepoint) is rolled back and an error with SQLSTATE 25P02
    /// (`in_failed_sql_transaction`) is returned. If the connection fails while
    /// COMMIT is on its way, the error says that the outcome is unknown.
    pub async fn commit(mut self) -> Result<()> {
        let r = self.commit_inner().await;
        match &r {
            Ok(()) => self.ended("committed", None),
            Err(e) if e.code().map(|c| c.code()) == Some("25P02") => {
                self.ended("rolled_back", Some(e));
            }
            Err(e) => self.ended("failed", Some(e)),
        }
        r
    }

    async fn commit_inner(&mut self) -> Result<()> {
        self.conn.ready().await?;
        self.check_open()?;
        if self.conn.transaction_status() == TransactionStatus::InFailedTransaction {
            let sql = self.rollback_sql();
            self.control(&sql, State::Ending).await?;
            return Err(failed_commit(self.depth));
        }
        let sql = if self.depth == 0 {
            "COMMIT".to_owned()
        } else {
            format!("RELEASE SAVEPOINT {}", self.savepoint_name())
        };
        match self.control(&sql, State::Ending).await {
            Ok(tag) if tag == "ROLLBACK" => Err(failed_commit(self.depth)),
            Ok(_) => Ok(()),
            // (The connection marked a failure after COMMIT went out as OutcomeUnknown; one
            // before it went out keeps its kind: the server rolls the transaction back.)
            Err(e) if e.is_outcome_unknown() && self.depth == 0 => Err(e.context(
                "the connection failed while COMMIT was on its way: the transaction may or \
                 may not have been committed",
            )),
            Err(e) if e.kind() == ErrorKind::Timeout && self.depth == 0 => Err(Error::new(
                ErrorKind::OutcomeUnknown,
                "COMMIT was cancelled when it timed out: the transaction may or may not have \
                 been committed (a cancelled deferred trigger rolls it back; a commit waiting \
                 for a synchronous standby has committed locally); check before retrying",
            )
            .with_source(e)),
            Err(e) => Err(e),
        }
    }

    /// Rolls back: `ROLLBACK`, or `ROLLBACK TO SAVEPOINT` (then `RELEASE`) for a savepoint.
    pub async fn rollback(mut self) -> Result<()> {
        let r = async {
            self.conn.ready().await?;
            self.check_open()?;
            let sql = self.rollback_sql();
            self.control(&sql, State::Ending).await.map(drop)
        }
        .await;
        match &r {
            Ok(()) => self.ended("rolled_back", None),
            Err(e) => self.ended("failed", Some(e)),
        }
        r
    }

    /// Two-phase commit, first phase: `PREPARE TRANSACTION 'gid'`. The transaction is
    /// detached from the session and kept by the server, even across restarts, until
    /// [`Connection::commit_prepared`] or [`Connection::rollback_prepared`] with the same
    /// `gid` (from any session). Requires `max_prepared_transactions > 0` on the server.
    ///
    /// (Named `prepare_transaction` rather than `prepare` so that it cannot be confused
    /// with [`Connection::prepare`], which prepares a statement.)
    pub async fn prepare_transaction(mut self, gid: &str) -> Result<()> {
        let r = self.prepare_inner(gid).await;
        match &r {
            Ok(()) => self.ended("prepared", None),
            Err(e) => self.ended("failed", Some(e)),
        }
        r
    }

    async fn prepare_inner(&mut self, gid: &str) -> Result<()> {
        if self.depth != 0 {
            return Err(Error::new(
                ErrorKind::Unsupported,
                "a savepoint cannot be prepared for two-phase commit; prepare the outer transaction",
            ));
        }
        self.conn.ready().await?;
        self.check_open()?;
        if self.conn.transaction_status() == TransactionStatus::InFailedTransaction {
            self.control("ROLLBACK", State::Ending).await?;
            return Err(failed_commit(0));
        }
        let sql = format!("PREPARE TRANSACTION {}", literal(gid));
        match self.control(&sql, State::Ending).await? {
            tag if tag == "ROLLBACK" => Err(failed_commit(0)),
            _ => Ok(()),
        }
    }

    fn rollback_sql(&self) -> String {
        if self.depth == 0 {
            "ROLLBACK".to_owned()
        } else {
            let name = self.savepoint_name();
            format!("ROLLBACK TO SAVEPOINT {name}; RELEASE SAVEPOINT {name}")
        }
    }

    /// Refuses to end a transaction that SQL ended behind our back (`COMMIT` run directly).
    fn check_open(&mut self) -> Result<()> {
        if self.conn.transaction_status() == TransactionStatus::Idle {
            self.state = State::Done;
            return Err(Error::new(
                ErrorKind::Unsupported,
                "the transaction was already ended by SQL run on it (COMMIT, ROLLBACK or \
                 PREPARE TRANSACTION sent as a query)",
            ));
        }
        Ok(())
    }

    /// Sends one control statement as a simple Query, with `during` as the state while it
    /// is on its way; returns the last command tag. The caller made the connection ready.
    /// Bounded by the connection's `command_timeout`, like any query.
    async fn control(&mut self, sql: &str, during: State) -> Result<String> {
        let conn: &mut Connection = &mut self.conn;
        conn.queue_simple_query(sql)?;
        self.state = during;
        let conn: &mut Connection = &mut self.conn;
        let timeout = conn.command_timeout();
        let r = crate::connection::within_timeout!(conn, timeout, conn.control_response(sql));
        let r = conn
            .note(r)
            .map(|tag| tag.map(|t| t.start().to_owned()).unwrap_or_default());
        // The response was read to its end, or the connection broke: either way the
        // statement did what it did, and nothing more needs undoing on its account.
        // (`started` reopens the state after a successful BEGIN/SAVEPOINT.)
        self.state = State::Done;
        if let Err(e) = &r
            && e.kind() == ErrorKind::Timeout
            && self.depth == 0
            && !self.conn.is_closed()
            && self.conn.transaction_status() != TransactionStatus::Idle
        {
            // Cancelled, and the transaction is still open (a BEGIN that got through, a
            // COMMIT the cancel stopped before it ran): dropping this rolls it back.
            self.state = State::Open;
        }
        r
    }
}

impl Drop for Transaction<'_> {
    fn drop(&mut self) {
        let conn: &mut Connection = &mut self.conn;
        let undo = match self.state {
            State::NotStarted | State::Done => false,
            State::Starting => conn.request_went_out(),
            State::Open => true,
            // COMMIT/ROLLBACK already on its way ends the transaction; one never sent is
            // withdrawn by the next `ready()`, so the transaction must be rolled back.
            State::Ending => !conn.request_went_out(),
        };
        if undo {
            self.ended("dropped", None);
        }
        let conn: &mut Connection = &mut self.conn;
        if !undo || conn.is_closed() {
            return;
        }
        // Ended by SQL behind our back and nothing in flight: nothing left to roll back.
        if !conn.has_pending_work() && conn.transaction_status() == TransactionStatus::Idle {
            return;
        }
        let sql = self.rollback_sql();
        tracing::debug!(
            depth = self.depth,
            "transaction dropped unfinished; queueing `{sql}`"
        );
        let conn: &mut Connection = &mut self.conn;
        conn.queue_cleanup_query(&sql);
        // Send it now if the socket takes it, so the server does not keep the abandoned
        // transaction (and its locks) open until the connection's next use.
        conn.flush_now();
    }
}

impl Deref for Transaction<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        &self.conn
    }
}

impl DerefMut for Transaction<'_> {
    fn deref_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }
}

impl<'c, 't> Executor<'c> for &'c mut Transaction<'t> {
    fn acquire(self) -> Acquire<'c> {
        let conn: &'c mut Connection = &mut self.conn;
        Acquire::ready(conn)
    }
}

/// The error for a commit that could not commit because the transaction had failed.
fn failed_commit(depth: u32) -> Error {
    let what = if depth == 0 {
        "the transaction was rolled back"
    } else {
        "the savepoint was rolled back"
    };
    let message = format!(
        "cannot commit: a statement in the transaction failed earlier, so {what} and nothing was committed"
    );
    match DbError::from_fields([
        (b'S', "ERROR"),
        (b'V', "ERROR"),
        (b'C', "25P02"),
        (b'M', message.as_str()),
    ]) {
        Ok(db) => Error::from(db),
        Err(_) => Error::new(ErrorKind::Database, message),
    }
}

/// A string literal that means the same whatever `standard_conforming_strings` is.
pub(crate) fn literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 3);
    out.push_str("E'");
    for c in s.chars() {
        if c == '\'' || c == '\\' {
            out.push(c);
        }
        out.push(c);
    }
    out.push('\'');
    out
}

// --- The retry helper ----------------------------------------------------------------

/// An error a [`Connection::transaction`] closure may return: quarry's [`Error`], or
/// your own error type that can hold one.
///
/// For your own type, implement `driver_error` to hand out the quarry error inside, if
/// any, so that [`RunTransaction::retry_on_serialization_failure`] can see a 40001 or
/// 40P01 from the database.
pub trait TransactionError: From<Error> {
    /// The quarry error this is (or wraps), if any.
    fn driver_error(&self) -> Option<&Error>;
}

impl TransactionError for Error {
    fn driver_error(&self) -> Option<&Error> {
        Some(self)
    }
}

/// A closure run in a transaction, from [`Connection::transaction`]. Await it to run it.
///
/// `.options(...)` sets how the transaction starts; `.retry_on_serialization_failure(n)`
/// runs the closure again (up to `n` more times, with exponential backoff and jitter)
/// when the transaction fails with a serialization failure (40001) or a deadlock (40P01).
#[must_use = "the closure runs only when this is awaited"]
pub struct RunTransaction<'c, F> {
    conn: &'c mut Connection,
    f: F,
    options: TxOptions,
    retries: u32,
    backoff: (Duration, Duration),
}

impl<F> fmt::Debug for RunTransaction<'_, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunTransaction")
            .field("options", &self.options)
            .field("retries", &self.retries)
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// Runs `f` in a transaction: commits if it returns `Ok`, rolls back if it returns
    /// `Err` (or panics, or is cancelled).
    ///
    /// ```no_run
    /// # async fn f(conn: &mut quarry_driver::Connection) -> quarry_driver::Result<()> {
    /// use quarry_driver::{IsolationLevel, TxOptions, query};
    /// let moved = conn
    ///     .transaction(|tx| Box::pin(async move {
    ///         query("UPDATE accounts SET balance = balance - 10 WHERE id = 1").execute(&mut *tx).await?;
    ///         query("UPDATE accounts SET balance = balance + 10 WHERE id = 2").execute(&mut *tx).await
    ///     }))
    ///     .options(TxOptions::new().isolation(IsolationLevel::Serializable))
    ///     .retry_on_serialization_failure(5)
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn transaction<F, T, E>(&mut self, f: F) -> RunTransaction<'_, F>
    where
        F: for<'t, 'x> FnMut(&'t mut Transaction<'x>) -> BoxFuture<'t, Result<T, E>> + Send,
        E: TransactionError,
    {
        RunTransaction {
            conn: self,
            f,
            options: TxOptions::new(),
            retries: 0,
            backoff: (Duration::from_millis(10), Duration::from_secs(1)),
        }
    }
}

impl<F> RunTransaction<'_, F> {
    /// How to start the transaction.
    pub fn options(mut self, options: TxOptions) -> Self {
        self.options = options;
        self
    }

    /// Retries up to `retries` times when the transaction fails with 40001
    /// (serialization failure) or 40P01 (deadlock) raised inside it (by a statement or
    /// by COMMIT). A connection failure is never retried: if it happened during COMMIT,
    /// the outcome is unknown and the error says so.
    pub fn retry_on_serialization_failure(mut self, retries: u32) -> Self {
        self.retries = retries;
        self
    }

    /// The backoff before the first retry and its cap (default 10 ms and 1 s); it doubles
    /// on each retry, and each wait is randomised between half and all of it.
    pub fn backoff(mut self, first: Duration, max: Duration) -> Self {
        self.backoff = (first, max.max(first));
        self
    }
}

impl<'c, F, T, E> IntoFuture for RunTransaction<'c, F>
where
    F: for<'t, 'x> FnMut(&'t mut Transaction<'x>) -> BoxFuture<'t, Result<T, E>> + Send + 'c,
    T: Send + 'c,
    E: TransactionError + Send + 'c,
{
    type Output = Result<T, E>;
    type IntoFuture = BoxFuture<'c, Result<T, E>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

impl<'c, F> RunTransaction<'c, F> {
    async fn run<T, E>(self) -> Result<T, E>
    where
        F: for<'t, 'x> FnMut(&'t mut Transaction<'x>) -> BoxFuture<'t, Result<T, E>> + Send + 'c,
        E: TransactionError,
    {
        let RunTransaction {
            conn,
            mut f,
            options,
            retries,
            backoff,
        } = self;
        let mut attempt: u32 = 0;
        loop {
            let mut tx = conn.begin_with(options).await?;
            let outcome = f(&mut tx).await;
            let err: E = match outcome {
                Ok(value) => match tx.commit().await {
                    Ok(()) => return Ok(value),
                    // COMMIT itself failed; a 40001 here is a known outcome (rolled back).
                    Err(e) => E::from(e),
                },
                Err(e) => {
                    // The error must come from this transaction: the server saw it fail.
                    let failed_here =
                        tx.transaction_status() == TransactionStatus::InFailedTransaction;
                    if let Err(rollback_error) = tx.rollback().await {
                        // The connection broke; the closure's error says more.
                        tracing::debug!(
                            "ROLLBACK after the closure's error failed: {rollback_error}"
                        );
                        return Err(e);
                    }
                    if !failed_here {
                        return Err(e);
                    }
                    e
                }
            };
            let retryable = err
                .driver_error()
                .is_some_and(Error::is_retryable_transaction_error)
                && !conn.is_closed();
            if !retryable || attempt >= retries {
                return Err(err);
            }
            attempt += 1;
            let wait = backoff_delay(backoff, attempt);
            tracing::debug!(
                attempt,
                ?wait,
                "transaction failed with a retryable error; retrying"
            );
            tokio::time::sleep(wait).await;
        }
    }
}

/// Exponential backoff with jitter: `first * 2^(attempt-1)`, capped, randomised to [½, 1].
fn backoff_delay((first, max): (Duration, Duration), attempt: u32) -> Duration {
    let exp = first.saturating_mul(
        1u32.checked_shl(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX),
    );
    let full = exp.min(max);
    let mut b = [0u8; 2];
    let r = match getrandom::getrandom(&mut b) {
        Ok(()) => u16::from_be_bytes(b),
        Err(_) => u16::MAX / 2,
    };
    // full/2 + full/2 * r/65535
    full / 2 + (full / 2).mul_f64(f64::from(r) / f64::from(u16::MAX))
}

// --- Two-phase commit ----------------------------------------------------------------

/// A transaction prepared for two-phase commit, as `pg_prepared_xacts` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreparedTransaction {
    /// The global identifier given to [`Transaction::prepare_transaction`].
    pub gid: String,
    /// When it was prepared.
    pub prepared_at: TimestampTz,
    /// The role that prepared it.
    pub owner: String,
    /// The database it belongs to.
    pub database: String,
}

impl Connection {
    /// Two-phase commit, second phase: `COMMIT PREPARED 'gid'`. Runs outside a transaction.
    pub async fn commit_prepared(&mut self, gid: &str) -> Result<()> {
        self.batch_execute(&format!("COMMIT PREPARED {}", literal(gid)))
            .await
    }

    /// Two-phase commit, second phase: `ROLLBACK PREPARED 'gid'`. Runs outside a transaction.
    pub async fn rollback_prepared(&mut self, gid: &str) -> Result<()> {
        self.batch_execute(&format!("ROLLBACK PREPARED {}", literal(gid)))
            .await
    }

    /// The transactions prepared for two-phase commit on the server (all databases),
    /// oldest first.
    pub async fn prepared_transactions(&mut self) -> Result<Vec<PreparedTransaction>> {
        let rows: Vec<(String, TimestampTz, String, String)> = query_as(
            "SELECT gid, prepared, owner::text, database::text \
             FROM pg_catalog.pg_prepared_xacts ORDER BY prepared, gid",
        )
        .fetch_all(&mut *self)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(gid, prepared_at, owner, database)| PreparedTransaction {
                gid,
                prepared_at,
                owner,
                database,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn begin_statements() {
        assert_eq!(TxOptions::new().begin_sql(), "BEGIN");
        assert_eq!(
            TxOptions::new()
                .isolation(IsolationLevel::Serializable)
                .read_only(true)
                .deferrable(true)
                .begin_sql(),
            "BEGIN ISOLATION LEVEL SERIALIZABLE, READ ONLY, DEFERRABLE"
        );
        assert_eq!(
            TxOptions::new()
                .isolation(IsolationLevel::RepeatableRead)
                .read_only(false)
                .deferrable(false)
                .begin_sql(),
            "BEGIN ISOLATION LEVEL REPEATABLE READ, READ WRITE, NOT DEFERRABLE"
        );
    }

    #[test]
    fn literals_survive_quotes_and_backslashes() {
        assert_eq!(literal("gid-1"), "E'gid-1'");
        assert_eq!(literal("o'b\\c"), "E'o''b\\\\c'");
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let b = (Duration::from_millis(10), Duration::from_millis(100));
        for attempt in 1..40 {
            let d = backoff_delay(b, attempt);
            let full = Duration::from_millis(10)
                .saturating_mul(1u32.checked_shl(attempt - 1).unwrap_or(u32::MAX))
                .min(Duration::from_millis(100));
            assert!(
                d >= full / 2 && d <= full,
                "attempt {attempt}: {d:?} vs {full:?}"
            );
        }
    }

    #[test]
    fn failed_commit_is_25p02() {
        let e = failed_commit(0);
        assert_eq!(e.code().map(|c| c.code()), Some("25P02"));
    }
}
