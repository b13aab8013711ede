//! `PoolOptions`: how big the pool is, how long things may take, and the hooks.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::connection::Connection;
use crate::failure::Result;
use crate::tx::BoxFuture;

/// The default of [`PoolOptions::max_in_flight`].
pub(crate) const DEFAULT_MAX_IN_FLIGHT: usize = 8;

/// What a hook learns about the pooled connection it is called for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolConnectionMetadata {
    /// How long ago the connection was opened.
    pub age: Duration,
    /// How long it sat idle before this acquire (zero in `after_release`).
    pub idle_for: Duration,
    /// How many times it was handed out, this time included.
    pub uses: u64,
}

pub(crate) type AfterConnect =
    Arc<dyn for<'c> Fn(&'c mut Connection) -> BoxFuture<'c, Result<()>> + Send + Sync>;
pub(crate) type Check = Arc<
    dyn for<'c> Fn(&'c mut Connection, PoolConnectionMetadata) -> BoxFuture<'c, Result<bool>>
        + Send
        + Sync,
>;

/// When the pool runs its reset query on a returned connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reset {
    /// Only when the connection saw a command that may have changed the session: a `SET`,
    /// `RESET`, `LISTEN`, `DECLARE`, `PREPARE`, or SQL calling `set_config` or an advisory-lock
    /// function ([`Connection::session_changed`]). Returning an unchanged connection costs no
    /// round trip. The default.
    #[default]
    WhenChanged,
    /// On every return, one round trip each time (for sessions changed in ways the driver
    /// cannot see, such as a function that runs `SET` inside PL/pgSQL).
    Always,
    /// Never: the next user sees whatever session state the last one left.
    Never,
}

/// The reset query asyncpg runs, plus `SET SESSION AUTHORIZATION DEFAULT` so a `SET ROLE`
/// cannot leak to the next user. It keeps the connection's prepared statements (no
/// `DISCARD ALL`, which would invalidate the statement cache).
pub const DEFAULT_RESET_QUERY: &str = "SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; \
     SET SESSION AUTHORIZATION DEFAULT; RESET ALL";

/// Settings for a [`Pool`](super::Pool): build with [`PoolOptions::new`], finish with
/// [`connect`](PoolOptions::connect) or [`connect_lazy`](PoolOptions::connect_lazy).
///
/// ```no_run
/// # async fn f() -> quarry_driver::Result<()> {
/// use std::time::Duration;
/// let pool = quarry_driver::PoolOptions::new()
///     .max_connections(20)
///     .min_connections(2)
///     .acquire_timeout(Duration::from_secs(5))
///     .after_connect(|conn| Box::pin(async move {
///         conn.batch_execute("SET search_path TO app").await
///     }))
///     .connect("postgres://app@localhost/app").await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct PoolOptions {
    pub(crate) max_connections: usize,
    pub(crate) min_connections: usize,
    pub(crate) acquire_timeout: Duration,
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) max_lifetime: Option<Duration>,
    pub(crate) max_queries: Option<u64>,
    pub(crate) release_timeout: Duration,
    pub(crate) reset: Reset,
    pub(crate) reset_query: Arc<str>,
    pub(crate) test_before_acquire: bool,
    pub(crate) after_connect: Option<AfterConnect>,
    pub(crate) before_acquire: Option<Check>,
    pub(crate) after_release: Option<Check>,
    pub(crate) share_connections: bool,
    pub(crate) max_in_flight: usize,
    pub(crate) exclusive_timeout: Option<Duration>,
    /// The pool's name in its metrics (`pool` label); `None`: `pool-<n>`.
    pub(crate) name: Option<Arc<str>>,
}

impl Default for PoolOptions {
    fn default() -> Self {
        PoolOptions::new()
    }
}

impl fmt::Debug for PoolOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolOptions")
            .field("max_connections", &self.max_connections)
            .field("min_connections", &self.min_connections)
            .field("acquire_timeout", &self.acquire_timeout)
            .field("idle_timeout", &self.idle_timeout)
            .field("max_lifetime", &self.max_lifetime)
            .field("max_queries", &self.max_queries)
            .field("release_timeout", &self.release_timeout)
            .field("reset", &self.reset)
            .field("reset_query", &self.reset_query)
            .field("test_before_acquire", &self.test_before_acquire)
            .field("after_connect", &self.after_connect.is_some())
            .field("before_acquire", &self.before_acquire.is_some())
            .field("after_release", &self.after_release.is_some())
            .field("share_connections", &self.share_connections)
            .field("max_in_flight", &self.max_in_flight)
            .field("exclusive_timeout", &self.exclusive_timeout)
            .field("name", &self.name)
            .finish()
    }
}

impl PoolOptions {
    /// The defaults: at most 10 connections, none kept open when idle, acquire timeout 30 s,
    /// idle timeout 10 min, max lifetime 30 min, no query limit, release cleanup bounded
    /// by 5 s, reset only when the session changed.
    pub fn new() -> PoolOptions {
        PoolOptions {
            max_connections: 10,
            min_connections: 0,
            acquire_timeout: Duration::from_secs(30),
            idle_timeout: Some(Duration::from_secs(10 * 60)),
            max_lifetime: Some(Duration::from_secs(30 * 60)),
            max_queries: None,
            release_timeout: Duration::from_secs(5),
            reset: Reset::WhenChanged,
            reset_query: Arc::from(DEFAULT_RESET_QUERY),
            test_before_acquire: false,
            after_connect: None,
            before_acquire: None,
            after_release: None,
            share_connections: false,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            exclusive_timeout: Some(Duration::from_secs(1)),
            name: None,
        }
    }

    /// Whether queries run on `&pool` outside a transaction may share a connection with
    /// other tasks' queries, pipelined (each with its own Sync, so one query's error
    /// touches only its own caller). Default off. See
    /// [Shared connections](crate::pool#shared-connections) for which queries share and
    /// which keep a connection to themselves.
    pub fn share_connections(mut self, share: bool) -> Self {
        self.share_connections = share;
        self
    }

    /// With [`share_connections`](PoolOptions::share_connections), the most queries in
    /// flight on one shared connection. Default 8; at least 1.
    pub fn max_in_flight(mut self, n: usize) -> Self {
        self.max_in_flight = n;
        self
    }

    /// With [`share_connections`](PoolOptions::share_connections), a query whose own
    /// [`timeout`](crate::Query::timeout) is longer than this takes a connection of its
    /// own: it is expected to be slow, and would hold up the queries pipelined behind it.
    /// Default 1 s; `None`: a timeout never decides.
    pub fn exclusive_timeout(mut self, limit: impl Into<Option<Duration>>) -> Self {
        self.exclusive_timeout = limit.into();
        self
    }

    /// The pool's name: the `pool` label of its metrics (with the `metrics` feature; see
    /// the [observability guide](crate::observability)). Default `pool-<n>`, numbered in
    /// the order the process creates pools, so that two pools never share a series.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(Arc::from(name.into()));
        self
    }

    /// The most connections the pool opens (asyncpg `max_size`). Default 10; at least 1.
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = n;
        self
    }

    /// How many connections the pool keeps open even when idle (asyncpg `min_size`),
    /// opened at `connect` and kept up in the background. Default 0.
    pub fn min_connections(mut self, n: usize) -> Self {
        self.min_connections = n;
        self
    }

    /// How long [`Pool::acquire`](super::Pool::acquire) waits in all, for a free connection
    /// or for a new one to open, before it fails with
    /// [`ErrorKind::PoolTimedOut`](crate::ErrorKind::PoolTimedOut). Default 30 s. There is
    /// deliberately no "wait forever".
    pub fn acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }

    /// Close connections idle longer than this, down to `min_connections`
    /// (asyncpg `max_inactive_connection_lifetime`). Default 10 min; `None` keeps them.
    pub fn idle_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.idle_timeout = timeout.into();
        self
    }

    /// Retire connections this old (less up to a tenth, so they do not all go at once) when
    /// they are next returned or found idle. Default 30 min; `None` keeps them forever.
    pub fn max_lifetime(mut self, lifetime: impl Into<Option<Duration>>) -> Self {
        self.max_lifetime = lifetime.into();
        self
    }

    /// Retire a connection after it was handed out this many times (asyncpg `max_queries`).
    ///
    /// Counted per acquire, not per statement: through `&Pool` each query is one acquire;
    /// a [`PoolConnection`](super::PoolConnection) used for many queries counts once.
    /// Default: no limit.
    pub fn max_queries(mut self, n: u64) -> Self {
        self.max_queries = Some(n);
        self
    }

    /// How long the cleanup of a returned connection may take (finishing an abandoned
    /// query, rollback, reset, `after_release`) before the connection is closed instead.
    /// Default 5 s.
    pub fn release_timeout(mut self, timeout: Duration) -> Self {
        self.release_timeout = timeout;
        self
    }

    /// When to run the reset query on returned connections. Default [`Reset::WhenChanged`].
    pub fn reset(mut self, reset: Reset) -> Self {
        self.reset = reset;
        self
    }

    /// The SQL run to reset a returned connection's session (one simple-protocol batch).
    /// Default [`DEFAULT_RESET_QUERY`]. Settings made by `after_connect` are made again after
    /// each reset.
    pub fn reset_query(mut self, sql: impl AsRef<str>) -> Self {
        self.reset_query = Arc::from(sql.as_ref());
        self
    }

    /// Send an empty query (one round trip) before handing out an idle connection, to catch
    /// connections that died silently (a NAT timeout). Default off: the pool already checks,
    /// without a round trip, whether the server closed an idle connection.
    pub fn test_before_acquire(mut self, test: bool) -> Self {
        self.test_before_acquire = test;
        self
    }

    /// Runs on every new connection before first use, and again after each reset
    /// (asyncpg `init`). An error discards the connection and fails the acquire.
    ///
    /// Settings that must survive the reset are better put in the connect options
    /// (`options=-c search_path=app`, or `ConnectOptions::server_setting`). Callbacks it
    /// sets (a query logger, a notice handler) stay for the connection's life; ones a
    /// user sets on a checked-out connection end when it goes back.
    pub fn after_connect<F>(mut self, hook: F) -> Self
    where
        F: for<'c> Fn(&'c mut Connection) -> BoxFuture<'c, Result<()>> + Send + Sync + 'static,
    {
        self.after_connect = Some(Arc::new(hook));
        self
    }

    /// Runs on an idle connection before it is handed out (asyncpg `setup`). `Ok(false)` or an
    /// error closes that connection and the acquire tries another. Not run on new connections.
    pub fn before_acquire<F>(mut self, hook: F) -> Self
    where
        F: for<'c> Fn(&'c mut Connection, PoolConnectionMetadata) -> BoxFuture<'c, Result<bool>>
            + Send
            + Sync
            + 'static,
    {
        self.before_acquire = Some(Arc::new(hook));
        self
    }

    /// Runs on a returned connection after rollback and reset (asyncpg `reset`). `Ok(false)`
    /// or an error closes it instead of keeping it. Setting it makes every return take the
    /// slow path (a spawned task).
    pub fn after_release<F>(mut self, hook: F) -> Self
    where
        F: for<'c> Fn(&'c mut Connection, PoolConnectionMetadata) -> BoxFuture<'c, Result<bool>>
            + Send
            + Sync
            + 'static,
    {
        self.after_release = Some(Arc::new(hook));
        self
    }

    /// The most connections.
    pub fn get_max_connections(&self) -> usize {
        self.max_connections
    }

    /// The connections kept open when idle.
    pub fn get_min_connections(&self) -> usize {
        self.min_connections
    }

    /// The acquire timeout.
    pub fn get_acquire_timeout(&self) -> Duration {
        self.acquire_timeout
    }

    /// The idle timeout, if any.
    pub fn get_idle_timeout(&self) -> Option<Duration> {
        self.idle_timeout
    }

    /// The max lifetime, if any.
    pub fn get_max_lifetime(&self) -> Option<Duration> {
        self.max_lifetime
    }

    /// The uses after which a connection is retired, if limited.
    pub fn get_max_queries(&self) -> Option<u64> {
        self.max_queries
    }

    /// The bound on cleaning up a returned connection.
    pub fn get_release_timeout(&self) -> Duration {
        self.release_timeout
    }

    /// When the reset query runs.
    pub fn get_reset(&self) -> Reset {
        self.reset
    }

    /// The reset query.
    pub fn get_reset_query(&self) -> &str {
        &self.reset_query
    }

    /// Whether idle connections are pinged before being handed out.
    pub fn get_test_before_acquire(&self) -> bool {
        self.test_before_acquire
    }

    pub(crate) fn validate(&self) -> Result<()> {
        use crate::failure::Error;
        if self.max_connections == 0 {
            return Err(Error::config("max_connections must be at least 1"));
        }
        if self.min_connections > self.max_connections {
            return Err(Error::config(format!(
                "min_connections ({}) is more than max_connections ({})",
                self.min_connections, self.max_connections
            )));
        }
        if self.max_in_flight == 0 {
            return Err(Error::config("max_in_flight must be at least 1"));
        }
        if self.max_queries == Some(0) {
            return Err(Error::config(
                "max_queries must be at least 1 (leave it unset for no limit)",
            ));
        }
        Ok(())
    }
}
