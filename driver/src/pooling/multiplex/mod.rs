//! Shared connections: queries through `&Pool` that pipeline on connections other tasks'
//! queries use too (`PoolOptions::share_connections`).
//!
//! The pool lends some of its connections to the multiplexer, one driver task each
//! (`engine.rs`). A query that may share (`rule.rs`, and no hint or long timeout against
//! it) goes to the least loaded of them with room (`max_in_flight`), or to a new one when
//! none is idle and the pool has a connection to spare, or waits for room. Everything else
//! takes a connection of its own as before. A shared connection goes back to the pool
//! when it has had nothing in flight for a moment, when the pool has waiters (so
//! `acquire`, `begin` and queries that do not share are never starved), at the end of its
//! lifetime, or when the pool closes.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, mpsc, oneshot};

use super::{PoolConnection, Shared};
use crate::failure::{Error, Result};
use crate::querying::Query;
use crate::row::Row;

mod engine;
pub(crate) mod rule;

/// What a shared query came back with.
pub(crate) enum Outcome {
    /// It ran: its rows, or its error.
    Ran(Result<Output>),
    /// It was not sent; run it on a connection of its own.
    NotRun(Query),
}

/// The rows of a shared query, all read.
pub(crate) struct Output {
    pub(crate) rows: Vec<Row>,
    pub(crate) rows_affected: u64,
}

/// The engine's answer to one query (a query handed back goes back whole).
enum Reply {
    Ran(Result<Output>),
    NotRun,
}

/// A query routed to a shared connection.
struct Job {
    id: u64,
    query: Query,
    reply: oneshot::Sender<Outcome>,
    /// Run once more already (a stale statement, a pooler spotted).
    retried: bool,
}

impl Job {
    fn send(self, reply: Reply) {
        let outcome = match reply {
            Reply::Ran(r) => Outcome::Ran(r),
            Reply::NotRun => Outcome::NotRun(self.query),
        };
        // The caller may have gone: then nobody wants the answer.
        let _ = self.reply.send(outcome);
    }
}

enum Msg {
    Run(Box<Job>),
    /// The caller of this query went away (dropped, or timed out).
    Abandon(u64),
}

/// One shared connection as the router sees it.
pub(crate) struct Slot {
    inbox: mpsc::UnboundedSender<Msg>,
    /// Queries routed to it and not answered yet (raised under the multiplexer's lock).
    load: AtomicUsize,
    /// Whether it takes new queries (not while a cancel is on its way, nor while the pool
    /// wants the connection back).
    accepting: AtomicBool,
    /// The backend's process ID, for the pool's status.
    pid: i32,
    mux: Arc<MuxRoom>,
    /// When the connection last made progress (a response group ended, or a query was
    /// written to it while nothing was in flight), in microseconds since [`epoch`].
    progress: AtomicU64,
}

/// How long a shared connection with queries in flight may go without finishing one
/// before the router counts it as stalled (a slow query at its head) and prefers others.
/// In microseconds (2 ms).
const STALLED_AFTER_MICROS: u64 = 2_000;

/// The start of the clock [`Slot::progress`] counts on.
fn epoch() -> Instant {
    static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn micros_since_epoch(at: Instant) -> u64 {
    u64::try_from(at.saturating_duration_since(epoch()).as_micros()).unwrap_or(u64::MAX)
}

impl Slot {
    /// Records progress now.
    fn progressed(&self) {
        self.progress
            .store(micros_since_epoch(Instant::now()), Ordering::Release);
    }

    /// How the router weighs it at `now`. Stalled: it has queries in flight and has
    /// finished none for a while, so a slow query holds up what is pipelined behind it.
    fn weight(&self, now: u64) -> Weight {
        let load = self.load.load(Ordering::Acquire);
        Weight {
            accepting: self.accepting.load(Ordering::Acquire),
            stalled: load > 0
                && now.saturating_sub(self.progress.load(Ordering::Acquire)) > STALLED_AFTER_MICROS,
            load,
        }
    }

    /// A query routed here was answered (or withdrawn).
    fn finish_one(&self) {
        self.load.fetch_sub(1, Ordering::AcqRel);
        self.mux.room.notify_one();
    }
}

/// Wakes routers waiting for room on a shared connection.
#[derive(Default)]
struct MuxRoom {
    room: Notify,
}

/// The shared connections of a pool.
#[derive(Default)]
pub(crate) struct Multiplexer {
    state: Mutex<MuxState>,
    wake: Arc<MuxRoom>,
    next_id: AtomicU64,
}

#[derive(Default)]
struct MuxState {
    slots: Vec<Arc<Slot>>,
    /// Shared connections being taken from the pool.
    opening: usize,
}

/// Queries in flight on one shared connection, from [`Pool::shared_connections`](super::Pool::shared_connections).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SharedConnection {
    /// The server process serving it.
    pub backend_pid: i32,
    /// Queries routed to it and not answered yet.
    pub in_flight: usize,
}

impl Multiplexer {
    fn lock(&self) -> MutexGuard<'_, MuxState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The shared connections and their queries in flight.
    pub(crate) fn snapshot(&self) -> Vec<SharedConnection> {
        self.lock()
            .slots
            .iter()
            .map(|s| SharedConnection {
                backend_pid: s.pid,
                in_flight: s.load.load(Ordering::Acquire),
            })
            .collect()
    }
}

/// One shared connection as the router weighs it.
#[derive(Clone, Copy, Debug)]
struct Weight {
    accepting: bool,
    stalled: bool,
    load: usize,
}

/// Where one query goes.
#[derive(Debug, PartialEq, Eq)]
enum Decision {
    /// The shared connection at this index.
    Use(usize),
    /// A new shared connection.
    Open,
    /// Wait for room.
    Wait,
}

/// The routing rule, pure: an idle shared connection first; else a new one while there
/// are fewer than `max_slots` (shared ones and `opening`) and the pool has one to spare
/// (`spare`; the first needs none: it waits in the pool's queue); else the least loaded
/// with room (fewer than `depth` in flight), preferring ones not stalled; else wait.
fn decide(
    slots: impl IntoIterator<Item = Weight>,
    opening: usize,
    max_slots: usize,
    depth: usize,
    spare: impl FnOnce() -> bool,
) -> Decision {
    let mut count = 0;
    let mut best: Option<(usize, Weight)> = None;
    for (i, w) in slots.into_iter().enumerate() {
        count += 1;
        if w.accepting
            && w.load < depth
            && best.is_none_or(|(_, b)| (w.stalled, w.load) < (b.stalled, b.load))
        {
            best = Some((i, w));
        }
    }
    if let Some((i, w)) = best
        && w.load == 0
    {
        return Decision::Use(i);
    }
    let total = count + opening;
    if total < max_slots && (total == 0 || spare()) {
        return Decision::Open;
    }
    match best {
        Some((i, _)) => Decision::Use(i),
        None => Decision::Wait,
    }
}

/// What the router decided for one query.
enum Route {
    Use(Arc<Slot>),
    Open,
    Wait,
}

/// Takes back the room of a shared connection being opened if the open is dropped.
struct OpeningSlot<'a> {
    mux: &'a Multiplexer,
    armed: bool,
}

impl Drop for OpeningSlot<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.mux.lock().opening -= 1;
            self.mux.wake.room.notify_waiters();
        }
    }
}

/// Sends `Abandon` for a query whose caller goes away before its answer.
struct Waiting<'a> {
    slot: &'a Slot,
    id: u64,
    answered: bool,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if !self.answered {
            let _ = self.slot.inbox.send(Msg::Abandon(self.id));
        }
    }
}

impl Shared {
    /// Whether `query` may run on a shared connection of this pool.
    pub(crate) fn shares(&self, query: &Query) -> bool {
        let o = &self.options;
        o.share_connections
            && !query.is_exclusive()
            && query.prepared().is_none()
            && query
                .timeout_setting()
                .is_none_or(|t| o.exclusive_timeout.is_none_or(|limit| t <= limit))
            && rule::may_share_text(query.sql(), query.static_sql())
    }

    /// Whether the pool wants its shared connections back: someone waits for a connection
    /// of their own, or the pool is closing.
    /// (The multiplexer's own opens wait in the pool's queue too: they do not count.)
    pub(super) fn wants_connections(&self) -> bool {
        let opening = self.mux.lock().opening;
        let st = self.lock();
        st.is_closed() || st.status().waiters > opening
    }

    /// Whether the pool can give a connection now without making anyone else wait
    /// (`opening`: the multiplexer's opens under way).
    fn has_spare(&self, opening: usize) -> bool {
        let st = self.lock();
        let s = st.status();
        !s.is_closed
            && s.waiters <= opening
            && (s.idle > 0 || s.size < self.options.max_connections)
    }

    /// Runs `query` on a shared connection; [`Outcome::NotRun`] hands it back unsent.
    pub(crate) async fn run_shared(self: &Arc<Self>, query: Query) -> Result<Outcome> {
        let timeout = query
            .timeout_setting()
            .or(self.connect_options.get_command_timeout());
        let slot = self.route().await?;
        let id = self.mux.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        let job = Job {
            id,
            query,
            reply: tx,
            retried: false,
        };
        if let Err(mpsc::error::SendError(msg)) = slot.inbox.send(Msg::Run(Box::new(job))) {
            // Its driver stopped meanwhile (the connection broke): run it elsewhere.
            slot.load.fetch_sub(1, Ordering::AcqRel);
            let Msg::Run(job) = msg else {
                unreachable!("the message sent was a Run")
            };
            return Ok(Outcome::NotRun(job.query));
        }
        let mut waiting = Waiting {
            slot: &slot,
            id,
            answered: false,
        };
        let answer = match timeout {
            None => rx.await,
            Some(d) => match tokio::time::timeout(d, rx).await {
                Ok(r) => r,
                Err(_) => {
                    // `waiting` drops unanswered: the driver withdraws or cancels it.
                    return Err(Error::timeout(format!(
                        "the query did not finish within {d:?} and was abandoned: cancelled \
                         on the server if it was running alone on its shared connection, its \
                         results discarded otherwise"
                    )));
                }
            },
        };
        waiting.answered = true;
        answer.map_err(|_| {
            Error::outcome_unknown(Error::closed(
                "the task driving the shared connection ended before the query was answered \
                 (the runtime is shutting down?)",
            ))
        })
    }

    /// Chooses the shared connection for one query and counts the query on it.
    async fn route(self: &Arc<Self>) -> Result<Arc<Slot>> {
        let max_slots = self.options.max_connections;
        let depth = self.options.max_in_flight.max(1);
        let mut deadline = None;
        loop {
            let notified = self.mux.wake.room.notified();
            let mut notified = std::pin::pin!(notified);
            // Armed only once a first look found no room (most queries find room at once,
            // and an armed `Notified` costs a lock on the way in and out); the look after
            // arming sees any room freed before it, the wake-up any freed after.
            if deadline.is_some() {
                notified.as_mut().enable();
            }
            let route = {
                let mut m = self.mux.lock();
                let now = micros_since_epoch(Instant::now());
                let opening = m.opening;
                match decide(
                    m.slots.iter().map(|s| s.weight(now)),
                    opening,
                    max_slots,
                    depth,
                    || self.has_spare(opening),
                ) {
                    Decision::Use(i) => {
                        let s = m.slots[i].clone();
                        s.load.fetch_add(1, Ordering::AcqRel);
                        Route::Use(s)
                    }
                    Decision::Open => {
                        m.opening += 1;
                        Route::Open
                    }
                    Decision::Wait => Route::Wait,
                }
            };
            match route {
                Route::Use(s) => return Ok(s),
                // Boxed: rare, and its future (a pool acquire) would otherwise make every
                // shared query's future larger.
                Route::Open => return Box::pin(self.open_slot()).await,
                Route::Wait => {
                    let now = Instant::now();
                    let Some(deadline) = deadline else {
                        deadline = Some(now + self.options.acquire_timeout);
                        continue;
                    };
                    if now >= deadline {
                        return Err(Error::new(
                            crate::ErrorKind::PoolTimedOut,
                            format!(
                                "no room on a shared connection within the acquire timeout \
                                 ({:?}): every shared connection has {depth} queries in \
                                 flight (max_in_flight) and the pool has no connection to spare",
                                self.options.acquire_timeout
                            ),
                        ));
                    }
                    // A bounded wait: a wake-up lost to a race costs a few milliseconds.
                    let _ = tokio::time::timeout(
                        Duration::from_millis(5).min(deadline - now),
                        notified,
                    )
                    .await;
                }
            }
        }
    }

    /// Takes a connection from the pool for sharing, starts its driver, and counts one
    /// query on it.
    async fn open_slot(self: &Arc<Self>) -> Result<Arc<Slot>> {
        let mut opening = OpeningSlot {
            mux: &self.mux,
            armed: true,
        };
        let conn = self.clone().acquire().await?;
        let (tx, rx) = mpsc::unbounded_channel();
        let slot = Arc::new(Slot {
            inbox: tx,
            load: AtomicUsize::new(1),
            accepting: AtomicBool::new(true),
            pid: conn.backend_pid(),
            mux: self.mux.wake.clone(),
            progress: AtomicU64::new(micros_since_epoch(Instant::now())),
        });
        {
            let mut m = self.mux.lock();
            m.opening -= 1;
            opening.armed = false;
            m.slots.push(slot.clone());
        }
        self.mux.wake.room.notify_waiters();
        tokio::spawn(drive(self.clone(), slot.clone(), rx, conn));
        Ok(slot)
    }
}

/// The driver task of one shared connection.
async fn drive(
    shared: Arc<Shared>,
    slot: Arc<Slot>,
    mut inbox: mpsc::UnboundedReceiver<Msg>,
    mut conn: PoolConnection,
) {
    let expires = shared
        .options
        .max_lifetime
        .and_then(|l| Instant::now().checked_add(l.saturating_sub(conn.metadata().age)));
    let retire = || {
        let mut m = shared.mux.lock();
        if slot.load.load(Ordering::Acquire) != 0 {
            return false;
        }
        m.slots.retain(|s| !Arc::ptr_eq(s, &slot));
        true
    };
    let stop = {
        let mut engine = engine::Engine::new(&mut conn, &slot);
        engine.run(&shared, &mut inbox, expires, retire).await
    };
    if let engine::Stop::Broken = stop {
        shared.mux.lock().slots.retain(|s| !Arc::ptr_eq(s, &slot));
    }
    // Queries routed here before it left the list are handed back, unsent.
    inbox.close();
    while let Ok(msg) = inbox.try_recv() {
        if let Msg::Run(job) = msg {
            (*job).send(Reply::NotRun);
            slot.load.fetch_sub(1, Ordering::AcqRel);
        }
    }
    slot.accepting.store(false, Ordering::Release);
    drop(conn);
    shared.mux.wake.room.notify_waiters();
}

#[cfg(test)]
mod tests {
    use super::{Decision, Weight, decide};

    fn w(load: usize) -> Weight {
        Weight {
            accepting: true,
            stalled: false,
            load,
        }
    }

    #[test]
    fn an_idle_shared_connection_comes_first() {
        let slots = [w(3), w(0), w(1)];
        assert_eq!(decide(slots, 0, 8, 8, || true), Decision::Use(1));
    }

    #[test]
    fn a_new_one_opens_while_the_pool_has_one_to_spare() {
        let slots = [w(3), w(1)];
        assert_eq!(decide(slots, 0, 8, 8, || true), Decision::Open);
        // Not past max_connections, counting those being opened.
        assert_eq!(decide(slots, 6, 8, 8, || true), Decision::Use(1));
        // Not while the pool has none to spare: pipeline instead.
        assert_eq!(decide(slots, 0, 8, 8, || false), Decision::Use(1));
        // The first one needs none: it waits in the pool's queue.
        assert_eq!(decide([], 0, 8, 8, || false), Decision::Open);
        assert_eq!(decide([], 1, 1, 8, || true), Decision::Wait);
    }

    #[test]
    fn depth_is_bounded_and_then_queries_wait() {
        let slots = [w(8), w(8)];
        assert_eq!(decide(slots, 0, 2, 8, || true), Decision::Wait);
        let slots = [w(8), w(7)];
        assert_eq!(decide(slots, 0, 2, 8, || true), Decision::Use(1));
    }

    #[test]
    fn stalled_and_non_accepting_connections_are_avoided() {
        let stalled = Weight {
            stalled: true,
            ..w(1)
        };
        let closed = Weight {
            accepting: false,
            ..w(0)
        };
        assert_eq!(decide([stalled, w(4)], 0, 2, 8, || true), Decision::Use(1));
        // A stalled one is still used when it is the only one with room.
        assert_eq!(decide([stalled, w(8)], 0, 2, 8, || true), Decision::Use(0));
        assert_eq!(decide([closed, w(2)], 0, 2, 8, || true), Decision::Use(1));
        assert_eq!(decide([closed], 0, 1, 8, || true), Decision::Wait);
    }
}
