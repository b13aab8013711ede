//! `PoolConnection`: a connection on loan from the pool, and the way back.
//!
//! Returning is synchronous when the connection is clean (idle, in sync, session
//! unchanged, no `after_release` hook): the drop puts it back, or hands it to the
//! first waiter, under the lock for a few hundred nanoseconds. Anything else is
//! done by a spawned task bounded by `release_timeout`: finish or cancel an
//! abandoned query, roll back, reset, run `after_release`, then return or close.
//! The room the connection takes in the pool is given back on every path,
//! including a task dropped by a runtime shutting down.

use std::collections::HashMap;
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

use super::options::PoolConnectionMetadata;
use super::state::Meta;
use super::{Reset, Shared};
use crate::connection::{CancelToken, Connection, Handlers};
use crate::executor::{Acquire, Executor};
use crate::failure::Result;
use crate::protocol::TransactionStatus;

const HELD: &str = "a PoolConnection holds its connection until it is dropped or detached";

/// How long an abandoned query may take to finish on its own before it is cancelled.
const ABANDONED_GRACE: Duration = Duration::from_millis(100);

/// A pooled connection and what the pool remembers about its server.
pub(crate) struct Live {
    pub(crate) conn: Connection,
    pub(crate) role: Role,
    /// The callbacks the `after_connect` hook set: each user's end with its checkout.
    pub(crate) handlers: Handlers,
    /// Its cancel key in the pool's list, for as long as the connection lives.
    pub(crate) _key: CancelKey,
}

/// The cancel keys of the pool's open connections, so that [`Pool::terminate`] can stop
/// the queries of connections in use, which the pool does not hold.
///
/// [`Pool::terminate`]: super::Pool::terminate
#[derive(Default)]
pub(crate) struct CancelKeys {
    next: u64,
    keys: HashMap<u64, CancelToken>,
}

impl CancelKeys {
    /// Adds a connection's key; it leaves the list when the returned guard drops.
    pub(crate) fn register(this: &Arc<Mutex<Self>>, conn: &Connection) -> CancelKey {
        let Some(token) = conn.cancel_token() else {
            return CancelKey(None);
        };
        let mut keys = this.lock().unwrap_or_else(PoisonError::into_inner);
        let id = keys.next;
        keys.next += 1;
        keys.keys.insert(id, token);
        CancelKey(Some((Arc::downgrade(this), id)))
    }

    /// The keys of every open connection.
    pub(crate) fn all(this: &Mutex<Self>) -> Vec<CancelToken> {
        let keys = this.lock().unwrap_or_else(PoisonError::into_inner);
        keys.keys.values().cloned().collect()
    }
}

/// A connection's entry in [`CancelKeys`], removed on drop.
pub(crate) struct CancelKey(Option<(Weak<Mutex<CancelKeys>>, u64)>);

impl Drop for CancelKey {
    fn drop(&mut self) {
        if let Some((keys, id)) = self.0.take()
            && let Some(keys) = keys.upgrade()
        {
            keys.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .keys
                .remove(&id);
        }
    }
}

/// Whether the server was a standby and read-only when the connection was opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Role {
    standby: Option<bool>,
    read_only: Option<bool>,
}

impl Role {
    pub(crate) fn of(conn: &Connection) -> Role {
        let flag = |name| match conn.parameter_status(name) {
            Some("on") => Some(true),
            Some("off") => Some(false),
            _ => None,
        };
        Role {
            standby: flag("in_hot_standby"),
            read_only: flag("default_transaction_read_only"),
        }
    }
}

/// A connection taken from a [`Pool`](super::Pool); derefs to [`Connection`] and goes back
/// to the pool when dropped.
///
/// What happens on drop: if the connection is idle and its session unchanged, it is put
/// back at once. Otherwise a background task (bounded by `release_timeout`) waits briefly
/// for an abandoned query and then cancels it, rolls back an open transaction, runs the
/// reset query if the session changed, and runs `after_release`; a connection that cannot
/// be made clean is closed. Dropping it inside a transaction or in the middle of a query
/// is therefore safe.
pub struct PoolConnection {
    shared: Arc<Shared>,
    live: Option<Box<Live>>,
    meta: Meta,
}

impl std::fmt::Debug for PoolConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PoolConnection")
            .field("connection", &self.live.as_ref().map(|l| &l.conn))
            .field("uses", &self.meta.uses)
            .finish_non_exhaustive()
    }
}

impl Deref for PoolConnection {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        &self.live.as_ref().expect(HELD).conn
    }
}

impl DerefMut for PoolConnection {
    fn deref_mut(&mut self) -> &mut Connection {
        &mut self.live.as_mut().expect(HELD).conn
    }
}

impl PoolConnection {
    pub(crate) fn new(shared: Arc<Shared>, live: Box<Live>, meta: Meta) -> PoolConnection {
        PoolConnection {
            shared,
            live: Some(live),
            meta,
        }
    }

    /// How old the connection is and how often it was handed out.
    pub fn metadata(&self) -> PoolConnectionMetadata {
        metadata(&self.meta, Instant::now())
    }

    /// Takes the connection out of the pool for good; the pool may open another in its place.
    pub fn detach(mut self) -> Connection {
        let live = self.live.take().expect(HELD);
        let mut st = self.shared.lock();
        let w = st.detach();
        self.shared.after(st, w);
        live.conn
    }

    /// Closes the connection (sending Terminate, waiting at most 5 s) instead of returning it.
    pub async fn close(mut self) -> Result<()> {
        let mut live = self.live.take().expect(HELD);
        self.shared.discard_one();
        let r = live.conn.close_in_place(Duration::from_secs(5)).await;
        drop(live);
        self.shared.close_finished();
        r
    }

    /// Closes the connection in the background instead of returning it.
    pub(crate) fn discard(&mut self, why: &str) {
        let Some(live) = self.live.take() else {
            return;
        };
        tracing::debug!(
            pid = live.conn.backend_pid(),
            "discarding a pooled connection: {why}"
        );
        self.shared.discard_one();
        self.shared.close_live(live);
    }

    /// Whether an idle connection just taken from the pool still looks usable, without a
    /// round trip: the server did not close it or change its role meanwhile.
    pub(crate) fn looks_usable(&mut self) -> bool {
        let check_role = self.shared.check_role;
        let live = self.live.as_mut().expect(HELD);
        live.conn.poll_idle_health() && !(check_role && Role::of(&live.conn) != live.role)
    }

    /// The checks before an idle connection is handed out. Returns false (having discarded
    /// it) if it must not be.
    pub(crate) async fn check_out(&mut self, deadline: Instant) -> bool {
        if !self.looks_usable() {
            self.discard("the server closed it (or changed role) while it was idle");
            return false;
        }
        let deadline = tokio::time::Instant::from(deadline);
        if self.shared.options.test_before_acquire {
            let live = self.live.as_mut().expect(HELD);
            let ping = Box::pin(live.conn.batch_execute(""));
            match tokio::time::timeout_at(deadline, ping).await {
                Ok(Ok(())) => {}
                _ => {
                    self.discard("it did not answer the test before acquire");
                    return false;
                }
            }
        }
        if let Some(hook) = self.shared.options.before_acquire.clone() {
            let meta = metadata(&self.meta, Instant::now());
            let live = self.live.as_mut().expect(HELD);
            match tokio::time::timeout_at(deadline, hook(&mut live.conn, meta)).await {
                Ok(Ok(true)) => {}
                Ok(Ok(false)) => {
                    self.discard("before_acquire returned false");
                    return false;
                }
                Ok(Err(e)) => {
                    tracing::warn!(
                        "the pool's before_acquire hook failed: {}",
                        e.display_chain()
                    );
                    self.discard("before_acquire failed");
                    return false;
                }
                Err(_) => {
                    self.discard("before_acquire did not finish within the acquire timeout");
                    return false;
                }
            }
        }
        true
    }
}

fn metadata(meta: &Meta, now: Instant) -> PoolConnectionMetadata {
    PoolConnectionMetadata {
        age: now.saturating_duration_since(meta.created),
        idle_for: now.saturating_duration_since(meta.idle_since),
        uses: meta.uses,
    }
}

impl Drop for PoolConnection {
    fn drop(&mut self) {
        let Some(mut live) = self.live.take() else {
            return;
        };
        // Callbacks one user set must not see the next user's notices, notifications and
        // queries; the ones every connection of the pool gets from after_connect stay.
        live.conn.restore_handlers(&live.handlers);
        let shared = &self.shared;
        if clean_now(shared, &live) {
            let now = Instant::now();
            let mut st = shared.lock();
            let r = st.release(live, self.meta, now);
            shared.finish_release(st, r);
            return;
        }
        let returning = Returning {
            shared: shared.clone(),
            live: Some(live),
            meta: self.meta,
        };
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                handle.spawn(returning.run());
            }
            // No runtime to clean up on: `returning` drops here and discards it.
            Err(_) => drop(returning),
        }
    }
}

/// Whether the connection can go back as it is, without a round trip.
fn clean_now(shared: &Shared, live: &Live) -> bool {
    let conn = &live.conn;
    conn.is_idle()
        && !conn.saw_read_only_error()
        && shared.options.after_release.is_none()
        && !needs_reset(shared, conn)
        && !(shared.check_role && Role::of(conn) != live.role)
}

fn needs_reset(shared: &Shared, conn: &Connection) -> bool {
    match shared.options.reset {
        Reset::WhenChanged => conn.session_changed(),
        Reset::Always => true,
        Reset::Never => false,
    }
}

/// A connection on its way back that needs cleaning; discarded if dropped unfinished.
struct Returning {
    shared: Arc<Shared>,
    live: Option<Box<Live>>,
    meta: Meta,
}

impl Drop for Returning {
    fn drop(&mut self) {
        if let Some(live) = self.live.take() {
            self.shared.discard_one();
            // Closing needs a runtime we may not have here: dropping closes the socket.
            drop(live);
            self.shared.close_finished();
        }
    }
}

impl Returning {
    async fn run(mut self) {
        let budget = self.shared.options.release_timeout;
        let live = self.live.as_mut().expect("set until run ends");
        let outcome = tokio::time::timeout(budget, clean(&self.shared, live, &self.meta)).await;
        let keep = match outcome {
            Ok(Ok(keep)) => keep && live.conn.is_idle(),
            Ok(Err(e)) => {
                tracing::debug!(
                    "closing a returned connection that could not be cleaned: {}",
                    e.display_chain()
                );
                false
            }
            Err(_) => {
                tracing::warn!(
                    "closing a returned connection whose cleanup took longer than the \
                     release timeout ({budget:?})"
                );
                false
            }
        };
        let live = self.live.take().expect("set until run ends");
        if keep {
            let mut st = self.shared.lock();
            let r = st.release(live, self.meta, Instant::now());
            self.shared.finish_release(st, r);
        } else {
            self.shared.discard_one();
            self.shared.close_live(live);
        }
    }
}

/// Brings a returned connection back to a clean session. `Ok(false)`: close it instead.
async fn clean(shared: &Shared, live: &mut Live, meta: &Meta) -> Result<bool> {
    let conn = &mut live.conn;
    if conn.is_closed() {
        return Ok(false);
    }
    if conn.saw_read_only_error() {
        // 25006 on a pooled connection: after a failover it may point at a standby.
        return Ok(false);
    }
    if shared.check_role && Role::of(conn) != live.role {
        return Ok(false);
    }
    if conn.has_pending_work() {
        // An operation was abandoned mid-flight. Let it finish if it is about to; otherwise
        // cancel it (the cancel returns once the server has it, so it cannot hit a later
        // query) and read to its end.
        let grace = ABANDONED_GRACE.min(shared.options.release_timeout / 4);
        if tokio::time::timeout(grace, conn.ready()).await.is_err()
            && let Some(token) = conn.cancel_token()
        {
            token.cancel_query().await?;
        }
    }
    // Sends what a dropped transaction queued (its ROLLBACK) and reads what is owed.
    conn.ready().await?;
    if conn.transaction_status() != TransactionStatus::Idle {
        conn.batch_execute("ROLLBACK").await?;
    }
    if needs_reset(shared, conn) {
        conn.batch_execute(&shared.options.reset_query).await?;
        conn.clear_session_changed();
        // Notifications for channels the last user listened to are not the next user's.
        drop(conn.take_notifications());
        if let Some(hook) = &shared.options.after_connect {
            hook(conn).await?;
            conn.clear_session_changed();
        }
    }
    if let Some(hook) = &shared.options.after_release {
        let mut m = metadata(meta, Instant::now());
        m.idle_for = Duration::ZERO;
        if !hook(conn, m).await? {
            return Ok(false);
        }
    }
    Ok(conn.is_idle() && !conn.saw_read_only_error())
}

impl<'c> Executor<'c> for &'c mut PoolConnection {
    fn acquire(self) -> Acquire<'c> {
        Acquire::ready(self)
    }
}
