//! The pool: its shared state, the connections it hands out and their maintenance. The
//! guide, and the public home of the hook types, is the public `pool` module.

use std::borrow::Borrow;
use std::fmt;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use crate::connection::Connection;
use crate::conninfo::{ConnectOptions, TargetSessionAttrs};
use crate::executor::{Acquire, ConnectionRef, Executor};
use crate::failure::{Error, ErrorKind, Result};

mod connection;
mod maintenance;
#[cfg(feature = "metrics")]
mod metrics;
mod multiplex;
mod options;
mod state;

pub use connection::PoolConnection;
pub(crate) use multiplex::Outcome as SharedOutcome;
pub use multiplex::SharedConnection;
pub use options::{DEFAULT_RESET_QUERY, PoolConnectionMetadata, PoolOptions, Reset};
pub use state::PoolStatus;

use connection::{CancelKeys, Live, Role};
use state::{BackoffInfo, Grant, Meta, Release, Retire, State, Take};

/// How long closing one connection (sending Terminate) may take.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// A pool of connections: cheap to clone, shared by every task of an application.
///
/// Queries run on `&pool` directly (each takes a connection for its duration), or on a
/// connection taken with [`acquire`](Pool::acquire) and returned when dropped. See the
/// [module documentation](crate::pool) for the model and the asyncpg / sqlx name mapping.
///
/// ```no_run
/// # async fn f() -> quarry_driver::Result<()> {
/// let pool = quarry_driver::Pool::connect("postgres://app@localhost/app").await?;
/// let n: i64 = quarry_driver::query_scalar("SELECT count(*) FROM users").fetch_one(&pool).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Pool(pub(crate) Arc<Shared>);

/// What every clone of a pool and every connection it handed out share.
pub(crate) struct Shared {
    state: Mutex<State<Box<Live>>>,
    pub(crate) options: PoolOptions,
    connect_options: ConnectOptions,
    /// Notified when the pool is closed and the last connection has been closed.
    drained: Notify,
    /// Wakes the maintenance task (a connection went away below `min_connections`).
    maintenance: Arc<Notify>,
    maintenance_started: AtomicBool,
    /// Whether to discard connections whose server changed role (primary <-> standby):
    /// only when the connect options ask for a particular kind of server.
    pub(crate) check_role: bool,
    /// The cancel keys of the open connections (for `terminate`).
    cancel_keys: Arc<Mutex<CancelKeys>>,
    /// The connections lent to queries that share them (`share_connections`).
    mux: multiplex::Multiplexer,
    /// Nanoseconds callers have spent in `acquire`, summed (`PoolStatus::acquire_wait`):
    /// an atomic, so that counting takes no lock.
    acquire_wait_ns: AtomicU64,
    /// The pool's name in its metrics (the `pool` label).
    #[cfg(feature = "metrics")]
    metrics_name: Arc<str>,
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("status", &self.status())
            .field("options", &self.0.options)
            .finish_non_exhaustive()
    }
}

impl Pool {
    /// Opens a pool with default [`PoolOptions`] from a URL or keyword string
    /// (see [`Connection::connect`]). One connection is opened to check the settings.
    pub async fn connect(url: &str) -> Result<Pool> {
        PoolOptions::new().connect(url).await
    }

    /// Opens a pool with default [`PoolOptions`] and these connect options (borrowed or
    /// owned, as everywhere options are taken: `Pool::connect_with(&opts)` and
    /// `Pool::connect_with(opts)` both work).
    pub async fn connect_with(options: impl Borrow<ConnectOptions>) -> Result<Pool> {
        PoolOptions::new().connect_with(options).await
    }

    /// A pool with default [`PoolOptions`] that opens no connection until first used.
    pub fn connect_lazy(url: &str) -> Result<Pool> {
        PoolOptions::new().connect_lazy(url)
    }

    /// A pool with default [`PoolOptions`] and these connect options that opens no
    /// connection until first used.
    pub fn connect_lazy_with(options: impl Borrow<ConnectOptions>) -> Result<Pool> {
        PoolOptions::new().connect_lazy_with(options)
    }

    /// Takes a connection: an idle one, else a new one if there is room, else the first one
    /// returned (waiters are served in arrival order). Fails after `acquire_timeout` with
    /// [`ErrorKind::PoolTimedOut`], at once with [`ErrorKind::Closed`] once the pool is
    /// closed, and at once with the last connect error while connects are failing and the
    /// pool is backing off.
    ///
    /// The future does not borrow the pool. Dropping it at any point leaks nothing.
    pub fn acquire(&self) -> impl Future<Output = Result<PoolConnection>> + Send + use<> {
        let shared = self.0.clone();
        async move {
            let span = tracing::debug_span!(
                target: "quarry_driver::pool",
                "acquire",
                db.system.name = "postgresql",
                wait_us = tracing::field::Empty,
                outcome = tracing::field::Empty,
                error.type = tracing::field::Empty,
                otel.status_code = tracing::field::Empty,
                otel.status_description = tracing::field::Empty,
            );
            let start = Instant::now();
            let result =
                tracing::Instrument::instrument(shared.clone().acquire(), span.clone()).await;
            let elapsed = start.elapsed();
            let waited = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
            shared.acquire_wait_ns.fetch_add(waited, Ordering::Relaxed);
            shared.observe_acquire(&span, elapsed, &result);
            result
        }
    }

    /// Starts a transaction on a pooled connection. The connection goes back to the pool
    /// when the transaction ends (rolled back first if it was dropped unfinished).
    pub async fn begin(&self) -> Result<crate::Transaction<'static>> {
        self.begin_with(crate::TxOptions::new()).await
    }

    /// Starts a transaction with these options (isolation level, read only, deferrable)
    /// on a pooled connection.
    pub async fn begin_with(
        &self,
        options: crate::TxOptions,
    ) -> Result<crate::Transaction<'static>> {
        let conn = self.acquire().await?;
        crate::tx::begin_in(Box::new(conn), options).await
    }

    /// Takes an idle connection if one is free and nobody is waiting; never waits or connects.
    /// The no-wait check that the server did not close it is done; `test_before_acquire` and
    /// `before_acquire`, which need to wait, are not run.
    pub fn try_acquire(&self) -> Option<PoolConnection> {
        let shared = &self.0;
        loop {
            let now = Instant::now();
            let take = shared.lock().try_acquire(now)?;
            match take {
                Take::Idle(live, meta) => {
                    let mut conn = PoolConnection::new(shared.clone(), live, meta);
                    if conn.looks_usable() {
                        return Some(conn);
                    }
                    conn.discard("the server closed it while it was idle");
                }
                Take::Retire(live, why) => shared.close_conn(live, why),
                _ => return None,
            }
        }
    }

    /// The gauges and counters: size, idle, in use, waiters, totals.
    pub fn status(&self) -> PoolStatus {
        let mut status = self.0.lock().status();
        status.acquire_wait = Duration::from_nanos(self.0.acquire_wait_ns.load(Ordering::Relaxed));
        status
    }

    /// The connections shared by queries now (see
    /// [`PoolOptions::share_connections`]), each with its queries in flight. They count as
    /// in use in [`status`](Pool::status).
    pub fn shared_connections(&self) -> Vec<SharedConnection> {
        self.0.mux.snapshot()
    }

    /// Connections the pool holds (idle, in use, or being opened) (asyncpg `get_size`).
    pub fn size(&self) -> usize {
        self.0.lock().size()
    }

    /// Connections idle in the pool (asyncpg `get_idle_size`, sqlx `num_idle`).
    pub fn idle(&self) -> usize {
        self.0.lock().idle_len()
    }

    /// The options the pool was built with.
    pub fn options(&self) -> &PoolOptions {
        &self.0.options
    }

    /// The options new connections are opened with.
    pub fn connect_options(&self) -> &ConnectOptions {
        &self.0.connect_options
    }

    /// Whether [`close`](Pool::close) or [`terminate`](Pool::terminate) was called.
    pub fn is_closed(&self) -> bool {
        self.0.lock().is_closed()
    }

    /// Closes the pool: new acquires fail with [`ErrorKind::Closed`] (waiting ones too), idle
    /// connections are closed now, connections in use are closed as they come back, and the
    /// future finishes when the last one is closed.
    ///
    /// It waits as long as a connection is held; to bound it, wrap it in
    /// `tokio::time::timeout` and call [`terminate`](Pool::terminate) after. Dropping the
    /// future does not reopen the pool.
    pub async fn close(&self) {
        self.0.start_close();
        let mut warned_at = Instant::now();
        loop {
            let mut notified = pin!(self.0.drained.notified());
            notified.as_mut().enable();
            let in_use = {
                let st = self.0.lock();
                if st.is_drained() {
                    return;
                }
                st.status().in_use
            };
            if tokio::time::timeout(Duration::from_secs(60), notified)
                .await
                .is_err()
                && warned_at.elapsed() >= Duration::from_secs(60)
            {
                warned_at = Instant::now();
                tracing::warn!(
                    in_use,
                    "Pool::close has waited more than 60 s for connections in use to be returned"
                );
            }
        }
    }

    /// Closes the pool without waiting (asyncpg's `terminate`): new acquires fail, idle
    /// connections are closed now, and the query running on each connection in use is
    /// cancelled on the server (it fails with SQLSTATE 57014, `query_canceled`); those
    /// connections are closed when they come back.
    ///
    /// The cancel requests go out from spawned tasks, one per connection; outside a tokio runtime none are
    /// sent and running queries finish on their own.
    pub fn terminate(&self) {
        self.0.start_close();
        let keys = CancelKeys::all(&self.0.cancel_keys);
        if keys.is_empty() {
            return;
        }
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                // Idle connections are already closing: a request for one finds nothing
                // to cancel.
                for key in keys {
                    handle.spawn(async move {
                        if let Err(e) = key.cancel_query().await {
                            tracing::debug!(
                                "terminate: a cancel request failed: {}",
                                e.display_chain()
                            );
                        }
                    });
                }
            }
            Err(_) => tracing::warn!(
                "Pool::terminate outside a tokio runtime: queries in use are not cancelled"
            ),
        }
    }

    /// Makes every open connection be replaced (asyncpg `expire_connections`): idle ones are
    /// closed now, ones in use when they come back. Use it after changing something new
    /// connections should see (a password rotation, `ALTER ROLE ... SET`).
    pub fn expire_connections(&self) {
        let idle = self.0.lock().expire();
        for live in idle {
            self.0.close_conn(live, Retire::Expired);
        }
        self.0.maintenance.notify_one();
    }
}

impl PoolOptions {
    /// Opens the pool from a URL or keyword string (see [`Connection::connect`]), with
    /// `min_connections` connections (at least one, which checks the settings).
    pub async fn connect(self, url: &str) -> Result<Pool> {
        self.connect_with(ConnectOptions::parse(url)?).await
    }

    /// Opens the pool with these connect options (borrowed or owned), with
    /// `min_connections` connections (at least one, which checks the settings).
    pub async fn connect_with(self, options: impl Borrow<ConnectOptions>) -> Result<Pool> {
        // Maintenance starts after these, or it would race them to open min_connections.
        let pool = self.build(options.borrow().clone())?;
        pool.0.maintenance_started.store(true, Ordering::Relaxed);
        let n = pool.0.options.min_connections.max(1);
        let mut opened = Vec::with_capacity(n);
        for _ in 0..n {
            opened.push(pool.acquire().await?);
        }
        drop(opened);
        if pool.0.needs_maintenance() {
            maintenance::spawn(&pool.0);
        }
        Ok(pool)
    }

    /// A pool from a URL or keyword string that opens no connection until first used.
    pub fn connect_lazy(self, url: &str) -> Result<Pool> {
        self.connect_lazy_with(ConnectOptions::parse(url)?)
    }

    /// A pool with these connect options that opens no connection until first used
    /// (`min_connections` are opened in the background once a tokio runtime runs it).
    pub fn connect_lazy_with(self, options: impl Borrow<ConnectOptions>) -> Result<Pool> {
        let pool = self.build(options.borrow().clone())?;
        pool.0.ensure_maintenance();
        Ok(pool)
    }

    fn build(self, options: ConnectOptions) -> Result<Pool> {
        self.validate()?;
        let limits = state::Limits {
            max: self.max_connections,
            min: self.min_connections,
            idle_timeout: self.idle_timeout,
            max_queries: self.max_queries,
        };
        let check_role = options.get_target_session_attrs() != TargetSessionAttrs::Any;
        let shared = Arc::new(Shared {
            state: Mutex::new(State::new(limits)),
            connect_options: options,
            drained: Notify::new(),
            maintenance: Arc::new(Notify::new()),
            maintenance_started: AtomicBool::new(false),
            check_role,
            cancel_keys: Arc::default(),
            mux: multiplex::Multiplexer::default(),
            acquire_wait_ns: AtomicU64::new(0),
            #[cfg(feature = "metrics")]
            metrics_name: metrics::pool_name(self.name.as_ref()),
            options: self,
        });
        Ok(Pool(shared))
    }
}

// --- The shell around the bookkeeping ----------------------------------------------------

impl Shared {
    /// Ends an acquire's span: how long it waited and how it ended.
    fn observe_acquire(
        &self,
        span: &tracing::Span,
        waited: Duration,
        result: &Result<PoolConnection>,
    ) {
        #[cfg(feature = "metrics")]
        {
            metrics::acquired(&self.metrics_name, waited);
            let status = self.lock().status();
            metrics::publish(&self.metrics_name, &status, self.options.max_connections);
        }
        if span.is_disabled() {
            return;
        }
        span.record(
            "wait_us",
            u64::try_from(waited.as_micros()).unwrap_or(u64::MAX),
        );
        match result {
            Ok(_) => {
                span.record("outcome", "acquired");
            }
            Err(e) => {
                span.record(
                    "outcome",
                    if e.kind() == ErrorKind::PoolTimedOut {
                        "timed_out"
                    } else {
                        "failed"
                    },
                );
                crate::connection::record_error(span, e);
            }
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State<Box<Live>>> {
        // The state is only changed by short, non-panicking methods; a poisoned lock still
        // holds consistent books.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Unlocks, then wakes `waker` and whoever waits on the pool closing or on maintenance.
    pub(crate) fn after(&self, st: MutexGuard<'_, State<Box<Live>>>, waker: Option<Waker>) {
        let drained = st.is_drained();
        let below_min = st.below_min();
        #[cfg(feature = "metrics")]
        metrics::publish(
            &self.metrics_name,
            &st.status(),
            self.options.max_connections,
        );
        drop(st);
        if let Some(w) = waker {
            w.wake();
        }
        if drained {
            self.drained.notify_waiters();
        }
        if below_min {
            self.maintenance.notify_one();
        }
    }

    /// Acts on what the bookkeeping decided about a returned connection.
    pub(crate) fn finish_release(
        self: &Arc<Self>,
        st: MutexGuard<'_, State<Box<Live>>>,
        r: Release<Box<Live>>,
    ) {
        match r {
            Release::Idle => self.after(st, None),
            Release::Handed(w) => self.after(st, w),
            Release::Retire(live, why, w) => {
                self.after(st, w);
                self.close_conn(live, why);
            }
        }
    }

    /// A connection in use will not come back (the caller closes it).
    pub(crate) fn discard_one(&self) {
        let mut st = self.lock();
        let w = st.discard();
        self.after(st, w);
    }

    /// Closes a connection the bookkeeping already counts as closing, in the background.
    pub(crate) fn close_conn(self: &Arc<Self>, live: Box<Live>, why: Retire) {
        tracing::debug!(reason = ?why, pid = live.conn.backend_pid(), "closing a pooled connection");
        self.close_live(live);
    }

    pub(crate) fn close_live(self: &Arc<Self>, mut live: Box<Live>) {
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                let shared = self.clone();
                handle.spawn(async move {
                    let _ = live.conn.close_in_place(CLOSE_TIMEOUT).await;
                    drop(live);
                    shared.close_finished();
                });
            }
            Err(_) => {
                // No runtime to send Terminate from: dropping closes the socket.
                drop(live);
                self.close_finished();
            }
        }
    }

    fn close_finished(&self) {
        let mut st = self.lock();
        st.close_finished();
        self.after(st, None);
    }

    fn start_close(self: &Arc<Self>) {
        let (wakers, idle) = self.lock().close();
        for w in wakers {
            w.wake();
        }
        for live in idle {
            self.close_conn(live, Retire::PoolClosed);
        }
        // Nothing may be left to wait for.
        let st = self.lock();
        self.after(st, None);
        self.maintenance.notify_one();
    }

    fn needs_maintenance(&self) -> bool {
        let o = &self.options;
        o.min_connections > 0 || o.idle_timeout.is_some() || o.max_lifetime.is_some()
    }

    fn ensure_maintenance(self: &Arc<Self>) {
        if self.maintenance_started.load(Ordering::Relaxed) {
            return;
        }
        if !self.needs_maintenance() {
            self.maintenance_started.store(true, Ordering::Relaxed);
            return;
        }
        if tokio::runtime::Handle::try_current().is_ok()
            && !self.maintenance_started.swap(true, Ordering::AcqRel)
        {
            maintenance::spawn(self);
        }
    }

    // Opening a connection is boxed: it is rare, and its future (several KB) would otherwise
    // be part of every query future that runs on `&Pool`.
    async fn acquire(self: Arc<Self>) -> Result<PoolConnection> {
        self.ensure_maintenance();
        let start = Instant::now();
        let deadline = start
            .checked_add(self.options.acquire_timeout)
            .unwrap_or(start + Duration::from_secs(86_400 * 365));
        let mut first = true;
        loop {
            let now = Instant::now();
            if !std::mem::take(&mut first) && now >= deadline {
                let mut st = self.lock();
                st.note_timed_out();
                return Err(self.timed_out(st.status(), "handing out a connection"));
            }
            let take = self.lock().acquire(now);
            // `fresh`: handed over straight from its open, never idle. A connection goes
            // from one user to a waiter directly (its `uses` is then 2 or more) or comes
            // from an open (1); from the idle set it is never fresh.
            let (live, meta, fresh) = match take {
                Take::Idle(live, meta) => (live, meta, false),
                Take::Retire(live, why) => {
                    self.close_conn(live, why);
                    continue;
                }
                Take::Connect => {
                    let (live, meta) = Box::pin(self.open_and_wait(deadline, false)).await?;
                    (live, meta, meta.uses == 1)
                }
                Take::Backoff(info) => return Err(backoff_error(info)),
                Take::Closed => return Err(closed_error()),
                Take::Wait(key) => match self.wait(key, deadline, None).await? {
                    Grant::Conn(live, meta) => (live, meta, meta.uses == 1),
                    Grant::Connect => {
                        if let Some(info) = self.refuse_during_backoff() {
                            return Err(backoff_error(info));
                        }
                        let (live, meta) = Box::pin(self.open_and_wait(deadline, true)).await?;
                        (live, meta, meta.uses == 1)
                    }
                    Grant::Closed => return Err(closed_error()),
                },
            };
            // A connection straight from its open needs no check (and the hooks run only
            // for connections that were idle).
            let mut conn = PoolConnection::new(self.clone(), live, meta);
            if fresh || conn.check_out(deadline).await {
                return Ok(conn);
            }
        }
    }

    /// A waiter granted room to connect while the pool backs off gives the room back.
    fn refuse_during_backoff(&self) -> Option<BackoffInfo> {
        let mut st = self.lock();
        let info = st.backoff(Instant::now())?;
        let w = st.connect_abandoned();
        self.after(st, w);
        Some(info)
    }

    /// Waits in the queue until granted something or `deadline`. With `opened`, also
    /// until the background open this waiter started fails: its error is then the
    /// answer (unless something was granted meanwhile), as if the waiter had connected
    /// itself.
    async fn wait(
        self: &Arc<Self>,
        key: state::Key,
        deadline: Instant,
        mut opened: Option<tokio::sync::oneshot::Receiver<Error>>,
    ) -> Result<Grant<Box<Live>>> {
        /// Leaves the queue if the wait is dropped, passing on anything granted meanwhile.
        struct Waiting<'a> {
            shared: &'a Arc<Shared>,
            key: state::Key,
            done: bool,
        }
        impl Drop for Waiting<'_> {
            fn drop(&mut self) {
                if self.done {
                    return;
                }
                let mut st = self.shared.lock();
                match st.cancel_wait(self.key) {
                    None => self.shared.after(st, None),
                    Some(grant) => {
                        let r = st.return_grant(grant, Instant::now());
                        self.shared.finish_release(st, r);
                    }
                }
            }
        }

        let mut waiting = Waiting {
            shared: self,
            key,
            done: false,
        };
        let granted = std::future::poll_fn(|cx| {
            if let Some(rx) = &mut opened
                && let Poll::Ready(r) = std::pin::Pin::new(rx).poll(cx)
            {
                match r {
                    // The open failed: answer with its error (below).
                    Ok(e) => return Poll::Ready(Err(e)),
                    // It succeeded: its connection went to the first waiter, maybe this one.
                    Err(_) => opened = None,
                }
            }
            match self.lock().poll_wait(key, cx.waker()) {
                Some(grant) => Poll::Ready(Ok(grant)),
                None => Poll::Pending,
            }
        });
        let r = tokio::time::timeout_at(deadline.into(), granted).await;
        waiting.done = true;
        match r {
            Ok(Ok(grant)) => Ok(grant),
            Ok(Err(open_failed)) => {
                let mut st = self.lock();
                match st.cancel_wait(key) {
                    // A connection came meanwhile: better than the error.
                    Some(grant @ Grant::Conn(..)) => Ok(grant),
                    // Room to try again (the failed open freed it): the error is the
                    // answer, as when the caller connected itself; the room goes on.
                    Some(grant) => {
                        let r = st.return_grant(grant, Instant::now());
                        self.finish_release(st, r);
                        Err(open_failed)
                    }
                    None => {
                        self.after(st, None);
                        Err(open_failed)
                    }
                }
            }
            Err(_) => {
                let mut st = self.lock();
                match st.cancel_wait(key) {
                    // Granted just as the time ran out: take it.
                    Some(grant) => Ok(grant),
                    None => {
                        st.note_timed_out();
                        let status = st.status();
                        self.after(st, None);
                        Err(self.timed_out(status, "waiting for a connection to be returned"))
                    }
                }
            }
        }
    }

    /// Uses the room the bookkeeping granted to open a connection: the open runs in the
    /// background and finishes whoever waits for it (issue 17: opened inside the
    /// caller's future, it was dropped with a caller whose timeout fired, and the room
    /// went to the oldest waiter, the one closest to its own deadline, so under short
    /// timeouts the pool starved). The new connection joins the pool like a returned one:
    /// the first waiter gets it. This caller waits in the queue until
    /// `deadline` (at its head if it was `first` in line already, else at its back); if
    /// the open fails first, it gets the open's error.
    async fn open_and_wait(
        self: &Arc<Self>,
        deadline: Instant,
        mut first: bool,
    ) -> Result<(Box<Live>, Meta)> {
        loop {
            // Queued before the open can finish, so its connection cannot slip into the
            // idle set unseen.
            let key = self
                .lock()
                .register_opener(std::mem::replace(&mut first, true));
            let (tx, rx) = tokio::sync::oneshot::channel();
            self.spawn_open(tx);
            match self.wait(key, deadline, Some(rx)).await? {
                Grant::Conn(live, meta) => return Ok((live, meta)),
                // More room freed while waiting: open another.
                Grant::Connect => {
                    if let Some(info) = self.refuse_during_backoff() {
                        return Err(backoff_error(info));
                    }
                }
                Grant::Closed => return Err(closed_error()),
            }
        }
    }

    /// Opens a connection with room already counted as opening, in a task of its own:
    /// it goes to the first waiter or the idle set; a failure is counted (backoff) and
    /// sent to `failed`.
    fn spawn_open(self: &Arc<Self>, failed: tokio::sync::oneshot::Sender<Error>) {
        let shared = self.clone();
        tokio::spawn(async move {
            let mut opening = Opening {
                shared: &shared,
                armed: true,
            };
            let generation = shared.lock().generation();
            let limit = shared
                .connect_options
                .get_connect_timeout()
                .unwrap_or(shared.options.acquire_timeout)
                .max(Duration::from_millis(1));
            let r = tokio::time::timeout(limit, shared.open_connection()).await;
            opening.armed = false;
            match r {
                Ok(Ok(live)) => {
                    let now = Instant::now();
                    let meta = Meta::new(now, shared.lifetime(), generation);
                    let mut st = shared.lock();
                    let r = st.connect_done_idle(live, meta, now);
                    shared.finish_release(st, r);
                }
                Ok(Err(e)) => {
                    shared.connect_failed(&e);
                    let _ = failed.send(e);
                }
                Err(_) => {
                    let e = Error::timeout(format!(
                        "opening a new connection for the pool took longer than {limit:?}"
                    ));
                    shared.connect_failed(&e);
                    let _ = failed.send(e);
                }
            }
        });
    }

    pub(crate) fn connect_failed(&self, e: &Error) {
        tracing::warn!(
            "the pool could not open a connection: {}",
            e.display_chain()
        );
        let mut st = self.lock();
        let w = st.connect_failed(
            Instant::now(),
            e.kind(),
            e.display_chain().to_string(),
            jitter(),
        );
        self.after(st, w);
    }

    /// Opens and initialises one connection (no bookkeeping).
    pub(crate) async fn open_connection(&self) -> Result<Box<Live>> {
        let mut conn = Connection::connect_with(&self.connect_options).await?;
        if let Some(hook) = &self.options.after_connect
            && let Err(e) = hook(&mut conn).await
        {
            let _ = conn.close_in_place(CLOSE_TIMEOUT).await;
            return Err(e.context("the pool's after_connect hook failed"));
        }
        conn.clear_session_changed();
        let role = Role::of(&conn);
        let key = CancelKeys::register(&self.cancel_keys, &conn);
        let handlers = conn.handlers();
        Ok(Box::new(Live {
            conn,
            role,
            handlers,
            _key: key,
        }))
    }

    /// `max_lifetime` less up to a tenth, so connections opened together retire apart.
    pub(crate) fn lifetime(&self) -> Option<Duration> {
        self.options
            .max_lifetime
            .map(|d| d.mul_f64(1.0 - 0.1 * jitter()))
    }

    fn timed_out(&self, status: PoolStatus, doing: &str) -> Error {
        Error::new(
            ErrorKind::PoolTimedOut,
            format!(
                "no connection within the acquire timeout ({:?}) while {doing}; the pool has \
                 {} of at most {} connections ({} in use, {} idle, {} opening) and {} waiters. \
                 Connections may be held too long, or queries may be slow",
                self.options.acquire_timeout,
                status.size,
                self.options.max_connections,
                status.in_use,
                status.idle,
                status.opening,
                status.waiters,
            ),
        )
    }
}

/// The room granted to open a connection; given back if the opener is dropped.
pub(crate) struct Opening<'a> {
    pub(crate) shared: &'a Shared,
    pub(crate) armed: bool,
}

impl Drop for Opening<'_> {
    fn drop(&mut self) {
        if self.armed {
            let mut st = self.shared.lock();
            let w = st.connect_abandoned();
            self.shared.after(st, w);
        }
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        // The last handle went away: close what is idle, politely if a runtime is there.
        let state = self.state.get_mut().unwrap_or_else(PoisonError::into_inner);
        let (_, idle) = state.close();
        if idle.is_empty() {
            return;
        }
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                for mut live in idle {
                    let _ = live.conn.close_in_place(CLOSE_TIMEOUT).await;
                }
            });
        }
    }
}

fn closed_error() -> Error {
    Error::closed("the pool is closed")
}

fn backoff_error(info: BackoffInfo) -> Error {
    Error::new(
        info.last_kind,
        format!(
            "the pool is not opening connections for another {:?} after {} failed attempts; \
             the last one: {}",
            info.remaining, info.failures, info.last_error
        ),
    )
}

/// A number in `[0, 1)` from the OS (0.5 if it has none to give).
pub(crate) fn jitter() -> f64 {
    let mut bytes = [0u8; 8];
    match getrandom::getrandom(&mut bytes) {
        Ok(()) => (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64,
        Err(_) => 0.5,
    }
}

impl<'c> Executor<'c> for &Pool {
    fn pool(&self) -> Option<Pool> {
        Some(Pool::clone(self))
    }

    fn acquire(self) -> Acquire<'c> {
        let acquiring = Pool::acquire(self);
        Acquire::pending(async move {
            let conn = acquiring.await?;
            Ok(ConnectionRef::Owned(Box::new(conn)))
        })
    }
}
