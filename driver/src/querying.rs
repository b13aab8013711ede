//! Query builders and the row stream: what `query`, `query_as` and `query_scalar` return,
//! and how each runs on an executor. The guide is the public `query` module.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::Stream;

use crate::connection::{AfterError, Connection, Incoming};
use crate::executor::{Acquire, ConnectionRef, Executor};
use crate::failure::{Error, Result, SqlState};
use crate::protocol::frontend;
use crate::row::{Columns, FromRecord, Row};
use crate::statement::Statement;
use crate::types::{Decode, Encode, Oid, Type, TypeInfo};

// --- SQL text ------------------------------------------------------------------------

/// SQL text accepted by [`query`]: a string literal, or text explicitly marked safe.
pub trait IntoSql: sealed::Sealed {
    /// The text.
    fn into_sql(self) -> Cow<'static, str>;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for &'static str {}
    impl<T: Into<String>> Sealed for super::AssertSqlSafe<T> {}
}

impl IntoSql for &'static str {
    fn into_sql(self) -> Cow<'static, str> {
        Cow::Borrowed(self)
    }
}

/// Marks SQL built at run time as safe to send as it is.
///
/// [`query`] takes string literals only, so that values cannot be spliced into
/// SQL by accident; bind them instead (`$1`, `$2`, ...). When the text itself
/// must be dynamic (a table name chosen from a fixed list, a generated
/// `IN ($1, $2, ...)`), wrap it: `query(AssertSqlSafe(sql))`, and make sure no
/// untrusted input went into it. [`quote_identifier`] quotes names safely.
#[derive(Clone, Debug)]
pub struct AssertSqlSafe<T>(pub T);

impl<T: Into<String>> IntoSql for AssertSqlSafe<T> {
    fn into_sql(self) -> Cow<'static, str> {
        Cow::Owned(self.0.into())
    }
}

/// Quotes an identifier (table or column name) for SQL: `my "table"` -> `"my ""table"""`.
pub fn quote_identifier(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 2);
    out.push('"');
    for c in name.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    out.push('"');
    out
}

pub use crate::arguments::Arguments;

impl Statement {
    /// A query that runs this statement, to `bind` values to. Run it on the connection
    /// that prepared the statement.
    pub fn query(&self) -> Query {
        Query::from_statement(self.clone())
    }
}

// --- Query builders ------------------------------------------------------------------

/// A query to run with bound values. Made by [`query`].
#[must_use = "a query does nothing until it is run with execute/fetch_*"]
pub struct Query {
    sql: Cow<'static, str>,
    statement: Option<Statement>,
    args: Arguments,
    persistent: bool,
    timeout: Option<Duration>,
    /// Never on a shared connection (see `Query::exclusive`).
    exclusive: bool,
}

impl fmt::Debug for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Query")
            .field("sql", &self.sql)
            .field("args", &self.args)
            .finish()
    }
}

/// Starts a query. `sql` is a string literal or [`AssertSqlSafe`] text; bind values
/// with [`Query::bind`].
///
/// Text built at run time is refused at compile time, so a value cannot be spliced
/// into SQL by accident:
///
/// ```compile_fail
/// # fn f(name: &str) {
/// let sql = format!("SELECT * FROM users WHERE name = '{name}'");
/// let q = quarry_driver::query(sql); // error: String is not IntoSql
/// # }
/// ```
///
/// Bind the value instead, or, when the text itself must be dynamic, say so:
///
/// ```
/// use quarry_driver::{AssertSqlSafe, query};
/// # fn f(name: &str) {
/// let q = query("SELECT * FROM users WHERE name = $1").bind(name);
/// let table = quarry_driver::query::quote_identifier("users");
/// let q = query(AssertSqlSafe(format!("SELECT count(*) FROM {table}")));
/// # }
/// ```
pub fn query(sql: impl IntoSql) -> Query {
    Query {
        sql: sql.into_sql(),
        statement: None,
        args: Arguments::new(),
        persistent: true,
        timeout: None,
        exclusive: false,
    }
}

/// Starts a query whose rows become `T` (a `FromRecord` struct or a tuple).
pub fn query_as<T>(sql: impl IntoSql) -> QueryAs<T> {
    QueryAs {
        inner: query(sql),
        _row: PhantomData,
    }
}

/// Starts a query whose single column becomes `T`.
pub fn query_scalar<T>(sql: impl IntoSql) -> QueryScalar<T> {
    QueryScalar {
        inner: query(sql),
        _value: PhantomData,
    }
}

impl Query {
    pub(crate) fn from_statement(statement: Statement) -> Query {
        Query {
            sql: Cow::Owned(statement.sql().to_owned()),
            statement: Some(statement),
            args: Arguments::new(),
            persistent: true,
            timeout: None,
            exclusive: false,
        }
    }

    /// Binds the next parameter (`$1`, then `$2`, ...).
    pub fn bind<T: Encode>(mut self, value: T) -> Self {
        self.args.add(value);
        self
    }

    /// Uses these values for the parameters, replacing any bound before.
    pub fn bind_all(mut self, args: Arguments) -> Self {
        self.args = args;
        self
    }

    /// Whether to keep the prepared statement in the connection's cache (default true).
    pub fn persistent(mut self, persistent: bool) -> Self {
        self.persistent = persistent;
        self
    }

    /// Fails with a timeout error (after cancelling the query on the server) if it
    /// takes longer than `timeout`. Overrides the connection's `command_timeout`.
    ///
    /// Applies to `execute`, `fetch_all`, `fetch_one`, `fetch_optional`, to a pipeline
    /// holding the query, and to a stream from `fetch` up to its first row (see
    /// [Timeouts](mod@crate::query#timeouts)).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Runs the query on a connection of its own even on a pool that shares connections
    /// ([`PoolOptions::share_connections`](crate::PoolOptions::share_connections)): for a
    /// query known to be slow, which would hold up the queries pipelined behind it, or
    /// one that changes the session in a way its text does not show (a function that runs
    /// `SET`). No effect elsewhere.
    pub fn exclusive(mut self) -> Self {
        self.exclusive = true;
        self
    }

    /// The SQL text.
    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// The SQL text when it lives for the whole program (a literal, a macro's text).
    pub(crate) fn static_sql(&self) -> Option<&'static str> {
        match self.sql {
            Cow::Borrowed(s) => Some(s),
            Cow::Owned(_) => None,
        }
    }

    pub(crate) fn is_exclusive(&self) -> bool {
        self.exclusive
    }

    pub(crate) fn timeout_setting(&self) -> Option<Duration> {
        self.timeout
    }

    pub(crate) fn arguments(&self) -> &Arguments {
        &self.args
    }

    /// Fails if one of the bound values could not be encoded.
    pub(crate) fn check_args(&self) -> Result<()> {
        self.args.check()
    }

    pub(crate) fn is_persistent(&self) -> bool {
        self.persistent
    }

    pub(crate) fn prepared(&self) -> Option<&Statement> {
        self.statement.as_ref()
    }

    /// Runs the query and returns the number of rows it affected.
    pub fn execute<'c, E: Executor<'c>>(
        self,
        executor: E,
    ) -> impl Future<Output = Result<u64>> + Send + 'c {
        let target = Target::of(&self, executor);
        async move { target.run(self, |_| Ok(())).await }
    }

    /// Runs the query and returns all rows.
    pub fn fetch_all<'c, E: Executor<'c>>(
        self,
        executor: E,
    ) -> impl Future<Output = Result<Vec<Row>>> + Send + 'c {
        let target = Target::of(&self, executor);
        collect(self, target, Ok)
    }

    /// Runs the query and returns its first row; an error if there is none.
    pub fn fetch_one<'c, E: Executor<'c>>(
        self,
        executor: E,
    ) -> impl Future<Output = Result<Row>> + Send + 'c {
        let target = Target::of(&self, executor);
        let first = first(self, target, Ok);
        async move { first.await?.ok_or_else(row_not_found) }
    }

    /// Runs the query and returns its first row, if any.
    pub fn fetch_optional<'c, E: Executor<'c>>(
        self,
        executor: E,
    ) -> impl Future<Output = Result<Option<Row>>> + Send + 'c {
        let target = Target::of(&self, executor);
        first(self, target, Ok)
    }

    /// Runs the query and streams its rows as they arrive; memory stays flat for any
    /// result size.
    pub fn fetch<'c, E: Executor<'c>>(self, executor: E) -> RowStream<'c, Row> {
        RowStream::new(self, executor.acquire(), Ok)
    }
}

/// A query whose rows become `T`. Made by [`query_as`].
#[must_use = "a query does nothing until it is run with execute/fetch_*"]
pub struct QueryAs<T> {
    inner: Query,
    _row: PhantomData<fn() -> T>,
}

impl<T> fmt::Debug for QueryAs<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

impl<T> QueryAs<T>
where
    T: for<'r> FromRecord<'r> + Send,
{
    /// Binds the next parameter.
    pub fn bind<V: Encode>(mut self, value: V) -> Self {
        self.inner = self.inner.bind(value);
        self
    }

    /// Uses these values for the parameters (see [`Query::bind_all`]).
    pub fn bind_all(mut self, args: Arguments) -> Self {
        self.inner = self.inner.bind_all(args);
        self
    }

    /// See [`Query::timeout`].
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.inner = self.inner.timeout(timeout);
        self
    }

    /// See [`Query::exclusive`].
    pub fn exclusive(mut self) -> Self {
        self.inner = self.inner.exclusive();
        self
    }

    /// See [`Query::persistent`].
    pub fn persistent(mut self, persistent: bool) -> Self {
        self.inner = self.inner.persistent(persistent);
        self
    }

    /// Runs the query for its effect and returns the rows it affected (or returned),
    /// without decoding any row.
    pub fn execute<'c, E: Executor<'c>>(
        self,
        executor: E,
    ) -> impl Future<Output = Result<u64>> + Send + 'c {
        self.inner.execute(executor)
    }

    /// Runs the query; returns every row as `T`.
    pub fn fetch_all<'c, E: Executor<'c>>(
        self,
        executor: E,
    ) -> impl Future<Output = Result<Vec<T>>> + Send + 'c
    where
        T: 'c,
    {
        let target = Target::of(&self.inner, executor);
        collect(self.inner, target, |row| T::from_record(&row))
    }

    /// Runs the query; returns the first row as `T`, an error if there is none.
    pub fn fetch_one<'c, E: Executor<'c>>(
        self,
        executor: E,
    ) -> impl Future<Output = Result<T>> + Send + 'c
    where
        T: 'c,
    {
        let target = Target::of(&self.inner, executor);
        let first = first(self.inner, target, |row| T::from_record(&row));
        async move { first.await?.ok_or_else(row_not_found) }
    }

    /// Runs the query; returns the first row as `T`, if any.
    pub fn fetch_optional<'c, E: Executor<'c>>(
        self,
        executor: E,
    ) -> impl Future<Output = Result<Option<T>>> + Send + 'c
    where
        T: 'c,
    {
        let target = Target::of(&self.inner, executor);
        first(self.inner, target, |row| T::from_record(&row))
    }

    /// Streams the rows as `T`.
    pub fn fetch<'c, E: Executor<'c>>(self, executor: E) -> RowStream<'c, T>
    where
        T: 'c,
    {
        RowStream::new(self.inner, executor.acquire(), |row| T::from_record(&row))
    }
}

/// A query whose single column becomes `T`. Made by [`query_scalar`].
#[must_use = "a query does nothing until it is run with execute/fetch_*"]
pub struct QueryScalar<T> {
    inner: Query,
    _value: PhantomData<fn() -> T>,
}

impl<T> fmt::Debug for QueryScalar<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

fn scalar<T: for<'r> Decode<'r> + Type>(row: &Row) -> Result<T> {
    if row.len() != 1 {
        return Err(Error::decode(format!(
            "query_scalar expects exactly one column, the query returned {}",
            row.len()
        )));
    }
    row.try_get(0)
}

impl<T> QueryScalar<T>
where
    T: for<'r> Decode<'r> + Type + Send,
{
    /// Binds the next parameter.
    pub fn bind<V: Encode>(mut self, value: V) -> Self {
        self.inner = self.inner.bind(value);
        self
    }

    /// Uses these values for the parameters (see [`Query::bind_all`]).
    pub fn bind_all(mut self, args: Arguments) -> Self {
        self.inner = self.inner.bind_all(args);
        self
    }

    /// See [`Query::timeout`].
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.inner = self.inner.timeout(timeout);
        self
    }

    /// See [`Query::exclusive`].
    pub fn exclusive(mut self) -> Self {
        self.inner = self.inner.exclusive();
        self
    }

    /// Runs the query for its effect and returns the rows it affected (or returned),
    /// without decoding any value.
    pub fn execute<'c, E: Executor<'c>>(
        self,
        executor: E,
    ) -> impl Future<Output = Result<u64>> + Send + 'c {
        self.inner.execute(executor)
    }

    /// Runs the query; returns the first column of every row.
    pub fn fetch_all<'c, E: Executor<'c>>(
        self,
        executor: E,
    ) -> impl Future<Output = Result<Vec<T>>> + Send + 'c
    where
        T: 'c,
    {
        let target = Target::of(&self.inner, executor);
        collect(self.inner, target, |row| scalar(&row))
    }

    /// Runs the query; returns the value of the first row, an error if there is none.
    pub fn fetch_one<'c, E: Executor<'c>>(
        self,
        executor: E,
    ) -> impl Future<Output = Result<T>> + Send + 'c
    where
        T: 'c,
    {
        let target = Target::of(&self.inner, executor);
        let first = first(self.inner, target, |row| scalar(&row));
        async move { first.await?.ok_or_else(row_not_found) }
    }

    /// Runs the query; returns the value of the first row, if any.
    pub fn fetch_optional<'c, E: Executor<'c>>(
        self,
        executor: E,
    ) -> impl Future<Output = Result<Option<T>>> + Send + 'c
    where
        T: 'c,
    {
        let target = Target::of(&self.inner, executor);
        first(self.inner, target, |row| scalar(&row))
    }

    /// Streams the values.
    pub fn fetch<'c, E: Executor<'c>>(self, executor: E) -> RowStream<'c, T>
    where
        T: 'c,
    {
        RowStream::new(self.inner, executor.acquire(), |row| scalar(&row))
    }
}

fn row_not_found() -> Error {
    Error::new(
        crate::ErrorKind::RowNotFound,
        "the query returned no rows; use fetch_optional to allow none",
    )
}

/// Where a query runs: a connection of its own (borrowed, or taken from a pool for the
/// query), or a pool's shared connection.
enum Target<'c> {
    Own(Acquire<'c>),
    Shared(crate::Pool),
}

impl<'c> Target<'c> {
    /// Decides, before the query's future starts, where `query` runs on `executor`.
    fn of<E: Executor<'c>>(query: &Query, executor: E) -> Target<'c> {
        match executor.pool() {
            Some(pool) if pool.0.shares(query) => Target::Shared(pool),
            _ => Target::Own(executor.acquire()),
        }
    }

    /// Runs `query`, passing each row to `on_row` (after its first error, rows are
    /// dropped); returns the rows affected.
    ///
    /// The path of a connection of its own is not boxed although its state machine makes
    /// every query's future several kilobytes (copied as the future moves): boxing it
    /// was measured to cost a query on a connection of its own about 440 instructions
    /// (W1, callgrind), about 5%, for a saving only on shared queries.
    async fn run(self, query: Query, mut on_row: impl FnMut(Row) -> Result<()>) -> Result<u64> {
        let query = match self {
            Target::Own(acquire) => {
                let mut conn = acquire.await?;
                return conn.run_collect(&query, on_row).await;
            }
            Target::Shared(pool) => {
                query.check_args()?;
                match pool.0.run_shared(query).await? {
                    crate::pooling::SharedOutcome::Ran(output) => {
                        let output = output?;
                        let mut first_error = None;
                        for row in output.rows {
                            if let Err(e) = on_row(row) {
                                first_error = Some(e);
                                break;
                            }
                        }
                        return match first_error {
                            Some(e) => Err(e),
                            None => Ok(output.rows_affected),
                        };
                    }
                    // Not sent: it needs a connection of its own after all.
                    crate::pooling::SharedOutcome::NotRun(query) => (query, pool),
                }
            }
        };
        let (query, pool) = query;
        // Rare (a query handed back unsent): boxed, so it does not add its own copy of
        // that state machine to every query's future.
        Box::pin(async move {
            let mut conn = pool.acquire().await?;
            conn.run_collect(&query, on_row).await
        })
        .await
    }
}

/// Runs `query` where `target` says, mapping every row.
async fn collect<T>(
    query: Query,
    target: Target<'_>,
    map: impl Fn(Row) -> Result<T> + Send + Sync,
) -> Result<Vec<T>> {
    let mut out = Vec::new();
    target
        .run(query, |row| {
            out.push(map(row)?);
            Ok(())
        })
        .await?;
    Ok(out)
}

/// Runs `query` where `target` says, mapping the first row (the rest are read and
/// dropped so the connection stays in sync).
async fn first<T>(
    query: Query,
    target: Target<'_>,
    map: impl Fn(Row) -> Result<T> + Send + Sync,
) -> Result<Option<T>> {
    let mut first = None;
    target
        .run(query, |row| {
            if first.is_none() {
                first = Some(map(row)?);
            }
            Ok(())
        })
        .await?;
    Ok(first)
}

// --- Streams -------------------------------------------------------------------------

type BoxStream<'c, T> = Pin<Box<dyn Stream<Item = Result<T>> + Send + 'c>>;

/// Rows streamed from a query as they arrive. Implements `futures::Stream`.
///
/// Dropping it before the end is safe: the connection reads and discards the
/// rest of the result before its next use.
pub struct RowStream<'c, T> {
    inner: BoxStream<'c, T>,
}

impl<T> fmt::Debug for RowStream<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RowStream").finish_non_exhaustive()
    }
}

/// What starting a streamed query gives: the connection positioned at the first row,
/// or (the first time a result has user types the connection has not named) the
/// whole result, read and named.
enum Started<'c> {
    Reading(ConnectionRef<'c>, ResultReader, Watched),
    Buffered(VecDeque<Row>),
}

type StartFuture<'c> = Pin<Box<dyn Future<Output = Result<Started<'c>>> + Send + 'c>>;

/// A streamed query being watched (see `connection/observe.rs`): rows so far.
struct Watched {
    watch: crate::connection::Watch,
    rows: u64,
}

impl<'c, T: Send + 'c> RowStream<'c, T> {
    fn new<F>(query: Query, acquire: Acquire<'c>, map: F) -> RowStream<'c, T>
    where
        F: Fn(Row) -> Result<T> + Send + Sync + Unpin + 'c,
    {
        let start: StartFuture<'c> = Box::pin(async move {
            let mut conn = acquire.await?;
            let watch = conn.watch(query.sql());
            // The timeout covers the query up to its first row.
            let timeout = query.timeout.or(conn.command_timeout());
            let c = &mut *conn;
            let started = crate::connection::within_timeout!(c, timeout, c.start_query(&query));
            let mut reader = match started {
                Ok(reader) => reader,
                Err(e) => {
                    conn.watched(watch, query.sql(), 0, Some(&e));
                    return Err(e);
                }
            };
            if reader.has_unnamed_types() {
                let rows = conn.read_all_named(&mut reader).await;
                let n = rows.as_ref().map_or(0, Vec::len);
                let n = u64::try_from(n).unwrap_or(u64::MAX);
                conn.watched(watch, query.sql(), n, rows.as_ref().err());
                return Ok(Started::Buffered(rows?.into()));
            }
            Ok(Started::Reading(conn, reader, Watched { watch, rows: 0 }))
        });
        RowStream {
            inner: Box::pin(Rows {
                state: RowsState::Starting(start),
                map,
            }),
        }
    }
}

impl<T> Stream for RowStream<'_, T> {
    type Item = Result<T>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

/// The stream behind [`RowStream`]. Rows already in the read buffer are decoded
/// without an async call, and the socket is polled only when no whole message is
/// buffered: a large result costs one read per buffer-full and no future per row.
struct Rows<'c, F> {
    state: RowsState<'c>,
    map: F,
}

enum RowsState<'c> {
    /// Checking out the connection and sending the query.
    Starting(StartFuture<'c>),
    /// Reading rows.
    Reading(ConnectionRef<'c>, ResultReader, Watched),
    /// A result read whole (see [`Started::Buffered`]), handed out from here.
    Buffered(VecDeque<Row>),
    /// The server reported an error: reading up to its ReadyForQuery, then yielding it.
    Failed(ConnectionRef<'c>, Error, Watched, Arc<str>),
    Done,
}

impl<F, T> Stream for Rows<'_, F>
where
    F: Fn(Row) -> Result<T> + Unpin,
{
    type Item = Result<T>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<T>>> {
        let this = self.get_mut();
        loop {
            match &mut this.state {
                RowsState::Starting(start) => match start.as_mut().poll(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Ok(Started::Reading(conn, reader, watched))) => {
                        this.state = RowsState::Reading(conn, reader, watched);
                    }
                    Poll::Ready(Ok(Started::Buffered(rows))) => {
                        this.state = RowsState::Buffered(rows);
                    }
                    Poll::Ready(Err(e)) => {
                        this.state = RowsState::Done;
                        return Poll::Ready(Some(Err(e)));
                    }
                },
                RowsState::Buffered(rows) => {
                    return match rows.pop_front() {
                        Some(row) => Poll::Ready(Some((this.map)(row))),
                        None => {
                            this.state = RowsState::Done;
                            Poll::Ready(None)
                        }
                    };
                }
                RowsState::Reading(conn, reader, watched) => {
                    if reader.done {
                        this.state = RowsState::Done;
                        return Poll::Ready(None);
                    }
                    let failure = match conn.buffered_step(reader) {
                        Ok(Step::Row(row)) => {
                            watched.rows += 1;
                            let item = (this.map)(row);
                            if item.is_err() {
                                // The rest of the result is discarded before the next use.
                                this.state = RowsState::Done;
                            }
                            return Poll::Ready(Some(item));
                        }
                        Ok(Step::Done) => {
                            if let RowsState::Reading(conn, reader, watched) =
                                std::mem::replace(&mut this.state, RowsState::Done)
                            {
                                conn.watched(watched.watch, &reader.sql, watched.rows, None);
                            }
                            return Poll::Ready(None);
                        }
                        Ok(Step::NeedMore) => match conn.poll_fill(cx) {
                            Poll::Pending => return Poll::Pending,
                            Poll::Ready(Ok(())) => continue,
                            Poll::Ready(Err(e)) => e,
                        },
                        Ok(Step::Failed(err)) => {
                            if let RowsState::Reading(conn, reader, watched) =
                                std::mem::replace(&mut this.state, RowsState::Done)
                            {
                                this.state = RowsState::Failed(conn, err, watched, reader.sql);
                            }
                            continue;
                        }
                        Err(e) => e,
                    };
                    reader.done = true;
                    let e = conn.noted(failure);
                    if let RowsState::Reading(conn, reader, watched) =
                        std::mem::replace(&mut this.state, RowsState::Done)
                    {
                        conn.watched(watched.watch, &reader.sql, watched.rows, Some(&e));
                    }
                    return Poll::Ready(Some(Err(e)));
                }
                RowsState::Failed(conn, ..) => {
                    // After a FATAL error the server hangs up instead of sending
                    // ReadyForQuery: report its error, not the hang-up (as finish_after_error).
                    let failure = if conn.is_closed() {
                        None
                    } else {
                        match conn.skip_buffered_to_ready() {
                            Ok(true) => None,
                            Ok(false) => match conn.poll_fill(cx) {
                                Poll::Pending => return Poll::Pending,
                                Poll::Ready(Ok(())) => continue,
                                Poll::Ready(Err(e)) => Some(conn.noted(e)),
                            },
                            Err(e) => Some(conn.noted(e)),
                        }
                    };
                    let RowsState::Failed(conn, err, watched, sql) =
                        std::mem::replace(&mut this.state, RowsState::Done)
                    else {
                        unreachable!("this arm matched RowsState::Failed")
                    };
                    let err = failure.unwrap_or(err);
                    conn.watched(watched.watch, &sql, watched.rows, Some(&err));
                    return Poll::Ready(Some(Err(err)));
                }
                RowsState::Done => return Poll::Ready(None),
            }
        }
    }
}

// --- The engine ----------------------------------------------------------------------

/// The state of a result being read.
pub(crate) struct ResultReader {
    pub(crate) columns: Arc<Columns>,
    pub(crate) rows_affected: u64,
    sql: Arc<str>,
    /// The server-side statement the rows come from (empty: unnamed).
    statement: Box<str>,
    done: bool,
}

impl ResultReader {
    /// Whether some column has a user type this connection has not named yet.
    pub(crate) fn has_unnamed_types(&self) -> bool {
        self.columns
            .iter()
            .any(|c| !c.type_info().is_builtin() && c.type_info().known_name().is_none())
    }
}

/// What the buffered messages say about a result being read.
enum Step {
    /// The next row.
    Row(Row),
    /// The result is complete (ReadyForQuery was read).
    Done,
    /// No whole message is buffered: read more from the socket.
    NeedMore,
    /// The server reported this error; its ReadyForQuery is still to be read.
    Failed(Error),
}

impl Connection {
    /// Runs `q`, passing each row to `on_row`; returns the rows affected.
    pub(crate) async fn run_collect(
        &mut self,
        q: &Query,
        mut on_row: impl FnMut(Row) -> Result<()>,
    ) -> Result<u64> {
        let timeout = q.timeout.or(self.command_timeout());
        let watch = self.watch(&q.sql);
        let span = watch.span().clone();
        let work = async {
            let mut reader = self.start_query(q).await?;
            if reader.has_unnamed_types() {
                let rows = self.read_all_named(&mut reader).await?;
                let mut first_error = None;
                for row in rows {
                    if first_error.is_none()
                        && let Err(e) = on_row(row)
                    {
                        first_error = Some(e);
                    }
                }
                return match first_error {
                    Some(e) => Err(e),
                    None => Ok(reader.rows_affected),
                };
            }
            let mut first_error = None;
            // Rows already buffered are handled without an await; the socket is read
            // only when no whole message is left.
            let r = loop {
                match self.buffered_step(&mut reader) {
                    Ok(Step::Row(row)) => {
                        if first_error.is_none()
                            && let Err(e) = on_row(row)
                        {
                            // Keep reading to the end so the connection stays in sync.
                            first_error = Some(e);
                        }
                    }
                    Ok(Step::Done) => break Ok(()),
                    Ok(Step::NeedMore) => {
                        if let Err(e) = self.fill().await {
                            break Err(e);
                        }
                    }
                    Ok(Step::Failed(err)) => break self.finish_after_error().await.and(Err(err)),
                    Err(e) => break Err(e),
                }
            };
            if r.is_err() {
                reader.done = true;
            }
            self.note(r)?;
            match first_error {
                Some(e) => Err(e),
                None => Ok(reader.rows_affected),
            }
        };
        let work = tracing::Instrument::instrument(work, span);
        let result = match timeout {
            None => work.await,
            Some(d) => {
                let r = tokio::time::timeout(d, work).await;
                match r {
                    Ok(r) => r,
                    Err(_) => Err(self.after_timeout(d).await),
                }
            }
        };
        let rows = result.as_ref().copied().unwrap_or(0);
        self.watched(watch, &q.sql, rows, result.as_ref().err());
        result
    }

    /// Reads the whole result, then names the user types of its columns (a catalog
    /// lookup, once per type per connection) and gives the rows the named columns.
    ///
    /// Used the first time a result has a user type this connection has not seen, so
    /// that types matched by name (`citext` into `String`) decode on first use; the
    /// cached statement keeps the names, so later runs stream directly.
    pub(crate) async fn read_all_named(&mut self, reader: &mut ResultReader) -> Result<Vec<Row>> {
        let mut rows = Vec::new();
        while let Some(row) = self.next_row(reader).await? {
            rows.push(row);
        }
        if let Some(named) = self
            .name_columns(&reader.statement, &reader.columns)
            .await?
        {
            reader.columns = named.clone();
            rows = rows
                .into_iter()
                .map(|row| row.with_columns(named.clone()))
                .collect();
        }
        Ok(rows)
    }

    /// Sends a query and reads up to its first row. Retries once after a stale statement.
    pub(crate) async fn start_query(&mut self, q: &Query) -> Result<ResultReader> {
        q.args.check()?;
        self.ready().await?;
        let r = self.start_query_inner(q).await;
        self.note(r)
    }

    async fn start_query_inner(&mut self, q: &Query) -> Result<ResultReader> {
        let sql: &str = &q.sql;
        let resolved = self.resolve_param_types(&q.args).await?;
        let mut oids = q.args.oids(&resolved);
        let values = self.bind_values(q.args.encoded())?;
        let mut retried = false;
        loop {
            // A prepared statement runs by name only on the connection that made it, while
            // it still exists there; anywhere else (or on the retry) it runs by its SQL.
            let prepared = q.statement.as_ref().filter(|_| !retried);
            let plan = self.plan_statement(sql, std::mem::take(&mut oids), prepared, q.persistent);
            self.write_request([&plan], |buf| {
                plan.encode_run(buf, sql, &values)?;
                frontend::sync(buf);
                Ok(1)
            })?;
            self.flush().await?;

            let mut params: Vec<TypeInfo> = Vec::new();
            let mut columns = plan.columns();
            loop {
                match self.recv().await? {
                    Incoming::ParseComplete | Incoming::CloseComplete => {}
                    Incoming::ParameterDescription(p) => params = p,
                    Incoming::RowDescription(desc) => {
                        let statement =
                            self.read_description(&desc, sql, &plan, std::mem::take(&mut params))?;
                        columns = Some(statement.inner.columns.clone());
                    }
                    Incoming::NoData => {
                        let statement = self.read_no_data(sql, &plan, std::mem::take(&mut params));
                        columns = Some(statement.inner.columns.clone());
                    }
                    Incoming::BindComplete => {
                        let columns = columns.ok_or_else(|| {
                            Error::protocol(
                                "BindComplete arrived before the statement's description",
                            )
                        })?;
                        return Ok(ResultReader {
                            columns,
                            rows_affected: 0,
                            sql: Arc::from(sql),
                            statement: plan.name.clone(),
                            done: false,
                        });
                    }
                    Incoming::Error(err) => {
                        let err = err.with_statement(sql);
                        self.finish_after_error().await?;
                        match self.after_statement_error(err, sql, &plan, true, !retried) {
                            AfterError::Retry => {
                                retried = true;
                                oids = plan.oids;
                                break;
                            }
                            AfterError::Fail(err) => return Err(err),
                        }
                    }
                    other => return Err(other.unexpected("the response to Bind")),
                }
            }
        }
    }

    /// Reads the next row, or `None` when the result is complete (after ReadyForQuery).
    pub(crate) async fn next_row(&mut self, reader: &mut ResultReader) -> Result<Option<Row>> {
        if reader.done {
            return Ok(None);
        }
        let r = self.next_row_inner(reader).await;
        if r.is_err() {
            reader.done = true;
        }
        self.note(r)
    }

    async fn next_row_inner(&mut self, reader: &mut ResultReader) -> Result<Option<Row>> {
        loop {
            match self.buffered_step(reader)? {
                Step::Row(row) => return Ok(Some(row)),
                Step::Done => return Ok(None),
                Step::NeedMore => self.fill().await?,
                Step::Failed(err) => {
                    self.finish_after_error().await?;
                    return Err(err);
                }
            }
        }
    }

    /// One step of reading a result, from what is already buffered: never waits.
    fn buffered_step(&mut self, reader: &mut ResultReader) -> Result<Step> {
        loop {
            let Some(m) = self.try_recv()? else {
                return Ok(Step::NeedMore);
            };
            match m {
                Incoming::DataRow(body) => {
                    return Row::new(reader.columns.clone(), body).map(Step::Row);
                }
                Incoming::CommandComplete(tag) => reader.rows_affected = tag.rows(),
                Incoming::EmptyQuery | Incoming::PortalSuspended => {}
                Incoming::Ready(_) => {
                    reader.done = true;
                    return Ok(Step::Done);
                }
                Incoming::Error(e) => return Ok(Step::Failed(e.with_statement(&reader.sql))),
                other => return Err(other.unexpected("a row or the end of the result")),
            }
        }
    }

    /// Records a failure the way `note` does and gives the error back.
    fn noted(&mut self, e: Error) -> Error {
        self.note::<()>(Err(e))
            .expect_err("note returns the error it is given")
    }

    /// Prepares a statement and returns its description (parameter and column types).
    ///
    /// The statement is named on this connection's session and filed in its statement
    /// cache (closed when the cache evicts it); run it with [`Statement::query`]. On
    /// another connection it runs by its SQL. See
    /// [prepared statements you hold](mod@crate::query#prepared-statements-you-hold).
    pub async fn prepare(&mut self, sql: impl IntoSql) -> Result<Statement> {
        let sql = sql.into_sql();
        let span = self.prepare_span(&sql);
        let r = tracing::Instrument::instrument(
            async {
                self.ready().await?;
                let timeout = self.command_timeout();
                let r = crate::connection::within_timeout!(self, timeout, self.prepare_inner(&sql));
                self.note(r)
            },
            span.clone(),
        )
        .await;
        if let Err(e) = &r {
            crate::connection::record_error(&span, e);
        }
        r
    }

    async fn prepare_inner(&mut self, sql: &str) -> Result<Statement> {
        // A cacheable statement is named and filed in the cache, which closes it on
        // eviction; otherwise (caching off, as behind PgBouncer, or SQL too long) the
        // unnamed statement describes it and each run parses it again.
        let mut retried = false;
        loop {
            let plan = self.plan_new_statement(sql, Vec::new(), true);
            self.write_request([&plan], |buf| {
                plan.encode_parse(buf, sql)?;
                frontend::sync(buf);
                Ok(1)
            })?;
            self.flush().await?;
            let mut params = Vec::new();
            let mut statement = None;
            let failed = loop {
                match self.recv().await? {
                    Incoming::ParseComplete | Incoming::CloseComplete => {}
                    Incoming::ParameterDescription(p) => params = p,
                    Incoming::RowDescription(desc) => {
                        statement = Some(self.read_description(
                            &desc,
                            sql,
                            &plan,
                            std::mem::take(&mut params),
                        )?);
                    }
                    Incoming::NoData => {
                        statement =
                            Some(self.read_no_data(sql, &plan, std::mem::take(&mut params)));
                    }
                    Incoming::Ready(_) => break None,
                    Incoming::Error(err) => {
                        let err = err.with_statement(sql);
                        self.finish_after_error().await?;
                        break Some(err);
                    }
                    other => return Err(other.unexpected("the response to Parse/Describe")),
                }
            };
            if let Some(err) = failed {
                match self.after_statement_error(err, sql, &plan, true, !retried) {
                    AfterError::Retry => {
                        retried = true;
                        continue;
                    }
                    AfterError::Fail(err) => return Err(err),
                }
            }
            let statement =
                statement.ok_or_else(|| Error::protocol("Describe returned no row description"))?;
            let named = self.name_statement(statement).await?;
            // The cache holds the description as it came; give it the named types.
            self.refile_statement(named.clone());
            return Ok(named);
        }
    }

    /// Runs one or more SQL statements separated by `;` with the simple protocol.
    ///
    /// Nothing can be bound; no rows are returned. Use it for DDL and scripts.
    pub async fn batch_execute(&mut self, sql: &str) -> Result<()> {
        self.simple_query(sql).await.map(drop)
    }

    /// Runs SQL with the simple protocol and returns the rows of every statement,
    /// with values in text format (they decode like any others).
    pub async fn simple_query(&mut self, sql: &str) -> Result<Vec<Row>> {
        self.ready().await?;
        let timeout = self.command_timeout();
        let watch = self.watch(sql);
        let span = watch.span().clone();
        let work = async {
            let r = self.simple_query_inner(sql).await;
            let rows = self.note(r)?;
            self.name_rows(rows).await
        };
        let work = tracing::Instrument::instrument(work, span);
        let result = match timeout {
            None => work.await,
            Some(d) => {
                let r = tokio::time::timeout(d, work).await;
                match r {
                    Ok(r) => r,
                    Err(_) => Err(self.after_timeout(d).await),
                }
            }
        };
        let rows = result
            .as_ref()
            .map_or(0, |r| u64::try_from(r.len()).unwrap_or(u64::MAX));
        self.watched(watch, sql, rows, result.as_ref().err());
        result
    }

    /// Names the user types among a described statement's parameters and columns.
    async fn name_statement(&mut self, statement: Statement) -> Result<Statement> {
        let inner = &statement.inner;
        let mut unnamed = inner.columns.unnamed_user_types();
        unnamed.extend(
            inner
                .params
                .iter()
                .filter(|t| !t.is_builtin() && t.known_name().is_none())
                .map(TypeInfo::oid),
        );
        if unnamed.is_empty() {
            return Ok(statement);
        }
        self.name_user_types(&unnamed).await?;
        let columns = inner.columns.renamed(|oid| self.type_info(oid));
        let params = inner
            .params
            .iter()
            .map(|t| self.type_info(t.oid()))
            .collect();
        Ok(Statement::new(
            inner.owner,
            inner.name.clone(),
            &inner.sql,
            params,
            columns.as_slice().to_vec(),
        ))
    }

    /// Gives rows whose columns have user types not named yet the named columns (one
    /// catalog lookup per type per connection).
    async fn name_rows(&mut self, rows: Vec<Row>) -> Result<Vec<Row>> {
        let mut unnamed: Vec<Oid> = Vec::new();
        let mut last: Option<u64> = None;
        for row in &rows {
            if last != Some(row.columns().id()) {
                unnamed.extend(row.columns().unnamed_user_types());
                last = Some(row.columns().id());
            }
        }
        if unnamed.is_empty() {
            return Ok(rows);
        }
        self.name_user_types(&unnamed).await?;
        let mut renamed: Vec<(u64, Arc<Columns>)> = Vec::new();
        Ok(rows
            .into_iter()
            .map(|row| {
                let key = row.columns().id();
                let named = match renamed.iter().find(|(k, _)| *k == key) {
                    Some((_, named)) => named.clone(),
                    None => {
                        let named = Arc::new(row.columns().renamed(|oid| self.type_info(oid)));
                        renamed.push((key, named.clone()));
                        named
                    }
                };
                row.with_columns(named)
            })
            .collect())
    }
}

/// Whether an error is a SQLSTATE class the caller may want to inspect.
#[allow(dead_code)]
fn is_class(code: &SqlState, class: &str) -> bool {
    code.code().starts_with(class)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_identifier("users"), "\"users\"");
        assert_eq!(quote_identifier("my \"t\""), "\"my \"\"t\"\"\"");
    }

    #[test]
    fn arguments_debug_hides_values() {
        let mut a = Arguments::new();
        a.add("secret-value");
        assert!(!format!("{a:?}").contains("secret"));
    }
}
