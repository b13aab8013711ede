//! The pool's bookkeeping, without IO and without a runtime.
//!
//! Everything the pool decides lives here: which idle connection to hand out,
//! who waits in what order, when there is room to open a connection, when a
//! connection has lived long enough, how long to back off after failed
//! connects, and the counters users read. Every method takes `now` where time
//! matters, so the tests at the bottom drive it with made-up instants and no
//! runtime. The async shell (`mod.rs`, `connection.rs`, `maintenance.rs`) holds
//! it behind a `std::sync::Mutex` for a few hundred nanoseconds at a time and
//! does the IO outside the lock.
//!
//! Accounting: `size` counts every connection the pool is responsible for,
//! idle, in use or being opened, and never exceeds `max`:
//!
//! ```text
//! size = idle.len() + in_use + opening
//! ```
//!
//! Waiters are served first in, first out. A connection that comes back while
//! someone waits is handed to the first waiter directly (its slot is filled and
//! its waker returned), so a newcomer can never overtake a waiter. When a
//! connection goes away for good and a waiter is queued, the waiter is granted
//! the room to open a new one. A waiter that goes away after being granted
//! something gives it back ([`State::cancel_wait`] returns it), so no permit
//! or connection is ever lost with a dropped future.

use std::collections::VecDeque;
use std::task::Waker;
use std::time::{Duration, Instant};

use crate::failure::ErrorKind;

/// The shortest and longest pause between connection attempts once connects fail.
const BACKOFF_FIRST: Duration = Duration::from_millis(25);
const BACKOFF_MAX: Duration = Duration::from_millis(500);

/// Facts about one pooled connection that the bookkeeping needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Meta {
    /// When the connection was opened.
    pub(crate) created: Instant,
    /// When it is retired at the latest (`max_lifetime`, less a little jitter).
    pub(crate) expires: Option<Instant>,
    /// How many times it was handed out (the first use included).
    pub(crate) uses: u64,
    /// The pool generation it was opened in; `expire_connections` starts a new one.
    pub(crate) generation: u64,
    /// When it last went idle (its creation time until then).
    pub(crate) idle_since: Instant,
}

impl Meta {
    /// A connection opened at `now` in `generation`, to be retired `lifetime` later.
    pub(crate) fn new(now: Instant, lifetime: Option<Duration>, generation: u64) -> Meta {
        Meta {
            created: now,
            expires: lifetime.and_then(|d| now.checked_add(d)),
            uses: 0,
            generation,
            idle_since: now,
        }
    }
}

/// The limits the bookkeeping enforces (from `PoolOptions`).
#[derive(Clone, Debug)]
pub(crate) struct Limits {
    pub(crate) max: usize,
    pub(crate) min: usize,
    pub(crate) idle_timeout: Option<Duration>,
    /// Retire a connection once it was handed out this many times.
    pub(crate) max_queries: Option<u64>,
}

/// Why a connection is closed rather than kept (for logs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Retire {
    /// The pool is closed.
    PoolClosed,
    /// `expire_connections` was called after it was opened.
    Expired,
    /// It reached `max_lifetime`.
    Lifetime,
    /// It was handed out `max_queries` times.
    MaxQueries,
    /// It was idle longer than `idle_timeout` while the pool had more than `min_connections`.
    IdleTimeout,
    /// The server closed it while it was idle.
    Broken,
}

/// What a waiter was given.
#[derive(Debug)]
pub(crate) enum Grant<C> {
    /// A connection, already counted as in use.
    Conn(C, Meta),
    /// Room to open a new connection, already counted in `size` as opening.
    Connect,
    /// The pool was closed while waiting.
    Closed,
}

#[derive(Debug)]
enum Slot<C> {
    Free,
    Waiting {
        generation: u64,
        waker: Option<Waker>,
    },
    Granted {
        generation: u64,
        grant: Grant<C>,
    },
}

/// A waiter's ticket: its slot and the slot's generation (slots are reused).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Key {
    index: usize,
    generation: u64,
}

/// The answer to [`State::acquire`].
#[derive(Debug)]
pub(crate) enum Take<C> {
    /// An idle connection, now in use.
    Idle(C, Meta),
    /// An idle connection that must be closed instead; ask again.
    Retire(C, Retire),
    /// Room to open a new connection; report back with `connect_done_idle` or
    /// `connect_failed`, and wait for a connection with `register_opener`.
    Connect,
    /// Queued; poll with `poll_wait`, give up with `cancel_wait`.
    Wait(Key),
    /// Connects are failing and the pool is waiting before the next attempt.
    Backoff(BackoffInfo),
    /// The pool is closed.
    Closed,
}

/// The answer to [`State::release`].
#[derive(Debug)]
pub(crate) enum Release<C> {
    /// Kept as idle.
    Idle,
    /// Handed to a waiter: wake it.
    Handed(Option<Waker>),
    /// Must be closed; the waker (if any) belongs to a waiter granted room to connect.
    Retire(C, Retire, Option<Waker>),
}

/// Why an acquire is refused without trying to connect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct BackoffInfo {
    /// How long until the next attempt is allowed.
    pub(crate) remaining: Duration,
    /// Consecutive failed attempts.
    pub(crate) failures: u32,
    /// The kind and text of the last failure.
    pub(crate) last_kind: ErrorKind,
    pub(crate) last_error: String,
}

#[derive(Debug, Default)]
struct Failures {
    count: u32,
    retry_at: Option<Instant>,
    last: Option<(ErrorKind, String)>,
}

/// A snapshot of the pool's gauges and counters, from [`Pool::status`](super::Pool::status).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolStatus {
    /// Connections the pool holds: idle, in use, or being opened.
    pub size: usize,
    /// Connections idle in the pool, ready to be handed out.
    pub idle: usize,
    /// Connections handed out and not yet returned.
    pub in_use: usize,
    /// Connections being opened.
    pub opening: usize,
    /// Tasks waiting in `acquire` for a connection.
    pub waiters: usize,
    /// Connections handed out since the pool was created.
    pub acquired: u64,
    /// Acquires that gave up after `acquire_timeout`.
    pub timed_out: u64,
    /// Connections opened since the pool was created.
    pub opened: u64,
    /// Connections closed or discarded by the pool since it was created (detached ones not counted).
    pub closed: u64,
    /// Connection attempts that failed since the pool was created.
    pub connect_failures: u64,
    /// Time callers have spent in [`Pool::acquire`](super::Pool::acquire) (waiting for a
    /// connection, or for one to open), summed over every call since the pool was created,
    /// those that timed out or failed included. Its growth over an interval divided by the
    /// growth of `acquired` is the mean wait.
    pub acquire_wait: std::time::Duration,
    /// Whether the pool is closed.
    pub is_closed: bool,
}

/// The pool's bookkeeping. `C` is the pooled connection (a boxed `Connection` in the pool,
/// a number in the tests).
#[derive(Debug)]
pub(crate) struct State<C> {
    limits: Limits,
    /// Idle connections, oldest idle at the front; handed out from the back (most
    /// recently used first), reaped from the front.
    idle: VecDeque<(C, Meta)>,
    size: usize,
    in_use: usize,
    opening: usize,
    /// Connections handed to the shell to close whose close has not finished.
    closing: usize,
    /// Waiters in arrival order; entries whose slot moved on are skipped.
    queue: VecDeque<Key>,
    slots: Vec<Slot<C>>,
    free_slots: Vec<usize>,
    next_slot_generation: u64,
    waiting: usize,
    generation: u64,
    closed: bool,
    failures: Failures,
    acquired: u64,
    timed_out: u64,
    opened: u64,
    closed_count: u64,
    connect_failures: u64,
}

impl<C> State<C> {
    pub(crate) fn new(limits: Limits) -> State<C> {
        State {
            idle: VecDeque::with_capacity(limits.max),
            limits,
            size: 0,
            in_use: 0,
            opening: 0,
            closing: 0,
            queue: VecDeque::new(),
            slots: Vec::new(),
            free_slots: Vec::new(),
            next_slot_generation: 0,
            waiting: 0,
            generation: 0,
            closed: false,
            failures: Failures::default(),
            acquired: 0,
            timed_out: 0,
            opened: 0,
            closed_count: 0,
            connect_failures: 0,
        }
    }

    // --- Reading ----------------------------------------------------------------------

    pub(crate) fn status(&self) -> PoolStatus {
        PoolStatus {
            size: self.size,
            idle: self.idle.len(),
            in_use: self.in_use,
            opening: self.opening,
            waiters: self.waiting,
            acquired: self.acquired,
            timed_out: self.timed_out,
            opened: self.opened,
            closed: self.closed_count,
            connect_failures: self.connect_failures,
            acquire_wait: std::time::Duration::ZERO,
            is_closed: self.closed,
        }
    }

    pub(crate) fn size(&self) -> usize {
        self.size
    }

    pub(crate) fn idle_len(&self) -> usize {
        self.idle.len()
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed
    }

    /// The generation new connections are opened in.
    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }

    /// Closed, and every connection is back and closed: `close()` may return.
    pub(crate) fn is_drained(&self) -> bool {
        self.closed && self.size == 0 && self.closing == 0
    }

    /// Fewer connections than `min_connections` and not closed: maintenance should open some.
    pub(crate) fn below_min(&self) -> bool {
        !self.closed && self.size < self.limits.min
    }

    /// When connects are failing: how long to wait before the next attempt.
    pub(crate) fn backoff(&self, now: Instant) -> Option<BackoffInfo> {
        let retry_at = self.failures.retry_at?;
        let remaining = retry_at.checked_duration_since(now)?;
        if remaining.is_zero() {
            return None;
        }
        let (last_kind, last_error) = self
            .failures
            .last
            .clone()
            .unwrap_or((ErrorKind::Io, String::new()));
        Some(BackoffInfo {
            remaining,
            failures: self.failures.count,
            last_kind,
            last_error,
        })
    }

    // --- Acquiring --------------------------------------------------------------------

    /// Hands out an idle connection, or room to open one, or a place in the queue.
    pub(crate) fn acquire(&mut self, now: Instant) -> Take<C> {
        if self.closed {
            return Take::Closed;
        }
        if self.waiting > 0 {
            // Someone came first: queue behind. With room, the newcomer also opens a
            // connection (in the background, for the first waiter): a queue must not keep
            // the pool below its size.
            if self.size < self.limits.max
                && self.waiting >= self.opening
                && self.backoff(now).is_none()
            {
                self.size += 1;
                self.opening += 1;
                return Take::Connect;
            }
            return Take::Wait(self.register());
        }
        if let Some((conn, mut meta)) = self.idle.pop_back() {
            if let Some(why) = self.retire_reason(&meta, now) {
                self.forget_one();
                return Take::Retire(conn, why);
            }
            meta.uses = meta.uses.saturating_add(1);
            self.in_use += 1;
            self.acquired += 1;
            return Take::Idle(conn, meta);
        }
        if self.size < self.limits.max {
            if let Some(info) = self.backoff(now) {
                return Take::Backoff(info);
            }
            self.size += 1;
            self.opening += 1;
            return Take::Connect;
        }
        Take::Wait(self.register())
    }

    /// Hands out an idle connection if there is one and nobody waits; never queues or connects.
    pub(crate) fn try_acquire(&mut self, now: Instant) -> Option<Take<C>> {
        if self.closed || self.waiting > 0 {
            return None;
        }
        let (conn, mut meta) = self.idle.pop_back()?;
        if let Some(why) = self.retire_reason(&meta, now) {
            self.forget_one();
            return Some(Take::Retire(conn, why));
        }
        meta.uses = meta.uses.saturating_add(1);
        self.in_use += 1;
        self.acquired += 1;
        Some(Take::Idle(conn, meta))
    }

    /// Queues a waiter that holds room to open a connection and opens it in the
    /// background, to be served by the first connection that comes (the one it opens, or
    /// any other): at the back after [`Take::Connect`], at the front after a
    /// [`Grant::Connect`] (it was first in line).
    pub(crate) fn register_opener(&mut self, first: bool) -> Key {
        let key = self.register();
        if first {
            self.queue.pop_back();
            self.queue.push_front(key);
        }
        key
    }

    fn register(&mut self) -> Key {
        let generation = self.next_slot_generation;
        self.next_slot_generation += 1;
        let slot = Slot::Waiting {
            generation,
            waker: None,
        };
        let index = match self.free_slots.pop() {
            Some(index) => {
                self.slots[index] = slot;
                index
            }
            None => {
                self.slots.push(slot);
                self.slots.len() - 1
            }
        };
        let key = Key { index, generation };
        self.queue.push_back(key);
        self.waiting += 1;
        key
    }

    /// What the waiter `key` was granted, if anything yet; otherwise remembers `waker`.
    pub(crate) fn poll_wait(&mut self, key: Key, waker: &Waker) -> Option<Grant<C>> {
        let slot = self.slots.get_mut(key.index)?;
        match slot {
            Slot::Waiting {
                generation,
                waker: stored,
            } if *generation == key.generation => {
                match stored {
                    Some(w) if w.will_wake(waker) => {}
                    _ => *stored = Some(waker.clone()),
                }
                None
            }
            Slot::Granted { generation, .. } if *generation == key.generation => {
                let Slot::Granted { grant, .. } = std::mem::replace(slot, Slot::Free) else {
                    unreachable!("matched Granted just above")
                };
                self.free_slots.push(key.index);
                Some(grant)
            }
            // Not this waiter's slot any more: it was cancelled already.
            _ => Some(Grant::Closed),
        }
    }

    /// The waiter `key` gives up (its future was dropped or timed out). Returns what it had
    /// been granted meanwhile: the caller either uses it or passes it on with [`return_grant`].
    ///
    /// [`return_grant`]: State::return_grant
    pub(crate) fn cancel_wait(&mut self, key: Key) -> Option<Grant<C>> {
        let slot = self.slots.get_mut(key.index)?;
        match slot {
            Slot::Waiting { generation, .. } if *generation == key.generation => {
                // Its queue entry is skipped when reached.
                *slot = Slot::Free;
                self.free_slots.push(key.index);
                self.waiting -= 1;
                None
            }
            Slot::Granted { generation, .. } if *generation == key.generation => {
                let Slot::Granted { grant, .. } = std::mem::replace(slot, Slot::Free) else {
                    unreachable!("matched Granted just above")
                };
                self.free_slots.push(key.index);
                Some(grant)
            }
            _ => None,
        }
    }

    /// Counts an acquire that gave up after its timeout.
    pub(crate) fn note_timed_out(&mut self) {
        self.timed_out += 1;
    }

    /// Passes on a grant whose waiter went away. Returns the next waiter to wake, and a
    /// connection to close if the grant had one that must not be kept.
    pub(crate) fn return_grant(&mut self, grant: Grant<C>, now: Instant) -> Release<C> {
        match grant {
            Grant::Conn(conn, mut meta) => {
                // Never used: undo the count of this hand-out.
                meta.uses = meta.uses.saturating_sub(1);
                self.acquired = self.acquired.saturating_sub(1);
                self.release(conn, meta, now)
            }
            Grant::Connect => Release::Handed(self.connect_abandoned()),
            Grant::Closed => Release::Handed(None),
        }
    }

    /// The first waiter still waiting, taken off the queue.
    fn next_waiter(&mut self) -> Option<usize> {
        while let Some(key) = self.queue.pop_front() {
            if matches!(
                self.slots.get(key.index),
                Some(Slot::Waiting { generation, .. }) if *generation == key.generation
            ) {
                return Some(key.index);
            }
        }
        None
    }

    /// Fills the waiting slot `index` and returns its waker.
    fn grant(&mut self, index: usize, grant: Grant<C>) -> Option<Waker> {
        let slot = std::mem::replace(&mut self.slots[index], Slot::Free);
        let Slot::Waiting { generation, waker } = slot else {
            unreachable!("next_waiter returns only waiting slots")
        };
        self.slots[index] = Slot::Granted { generation, grant };
        self.waiting -= 1;
        waker
    }

    /// Room was freed: the first waiter may open a connection.
    fn on_room(&mut self) -> Option<Waker> {
        // Each open in flight serves one waiter: room goes only to waiters beyond those.
        if self.closed || self.size >= self.limits.max || self.waiting <= self.opening {
            return None;
        }
        let index = self.next_waiter()?;
        self.size += 1;
        self.opening += 1;
        self.grant(index, Grant::Connect)
    }

    // --- Opening ----------------------------------------------------------------------

    /// A connection was opened for the acquirer that had room for it; it is now in use.
    /// (The pool opens in the background and uses [`State::connect_done_idle`]; the tests
    /// use this shorthand.)
    #[cfg(test)]
    /// Returns false (and counts it as closing) if the pool closed meanwhile.
    pub(crate) fn connect_done(&mut self) -> bool {
        self.opening -= 1;
        self.opened += 1;
        self.failures = Failures::default();
        if self.closed {
            self.size -= 1;
            self.closed_count += 1;
            self.closing += 1;
            return false;
        }
        self.in_use += 1;
        self.acquired += 1;
        true
    }

    /// A connection opened by maintenance: handed to a waiter or kept idle.
    pub(crate) fn connect_done_idle(&mut self, conn: C, meta: Meta, now: Instant) -> Release<C> {
        self.opening -= 1;
        self.opened += 1;
        self.failures = Failures::default();
        self.in_use += 1;
        let mut meta = meta;
        meta.uses = 0;
        self.release(conn, meta, now)
    }

    /// Opening failed. `jitter` in `[0, 1)` shortens the backoff by up to a fifth so that
    /// pools started together do not retry in step.
    pub(crate) fn connect_failed(
        &mut self,
        now: Instant,
        kind: ErrorKind,
        error: String,
        jitter: f64,
    ) -> Option<Waker> {
        self.opening -= 1;
        self.size -= 1;
        self.connect_failures += 1;
        self.failures.count = self.failures.count.saturating_add(1);
        let delay = backoff_delay(self.failures.count).mul_f64(1.0 - 0.2 * jitter.clamp(0.0, 1.0));
        self.failures.retry_at = if delay.is_zero() {
            None
        } else {
            now.checked_add(delay)
        };
        self.failures.last = Some((kind, error));
        self.on_room()
    }

    /// The opener went away (dropped future, or refused because of backoff): free the room.
    pub(crate) fn connect_abandoned(&mut self) -> Option<Waker> {
        self.opening -= 1;
        self.size -= 1;
        self.on_room()
    }

    /// Reserves room to open a connection for `min_connections`, if the pool is below it
    /// and not backing off.
    pub(crate) fn reserve_for_min(&mut self, now: Instant) -> bool {
        if !self.below_min() || self.size >= self.limits.max || self.backoff(now).is_some() {
            return false;
        }
        self.size += 1;
        self.opening += 1;
        true
    }

    // --- Returning --------------------------------------------------------------------

    fn retire_reason(&self, meta: &Meta, now: Instant) -> Option<Retire> {
        if self.closed {
            Some(Retire::PoolClosed)
        } else if meta.generation < self.generation {
            Some(Retire::Expired)
        } else if meta.expires.is_some_and(|at| now >= at) {
            Some(Retire::Lifetime)
        } else if self.limits.max_queries.is_some_and(|max| meta.uses >= max) {
            Some(Retire::MaxQueries)
        } else {
            None
        }
    }

    /// A connection the shell will close was taken out of the idle set.
    fn forget_one(&mut self) {
        self.size -= 1;
        self.closed_count += 1;
        self.closing += 1;
    }

    /// A connection in use comes back clean (idle, in sync, reset done).
    pub(crate) fn release(&mut self, conn: C, mut meta: Meta, now: Instant) -> Release<C> {
        self.in_use -= 1;
        if let Some(why) = self.retire_reason(&meta, now) {
            self.forget_one();
            return Release::Retire(conn, why, self.on_room());
        }
        if let Some(index) = self.next_waiter() {
            meta.uses = meta.uses.saturating_add(1);
            self.in_use += 1;
            self.acquired += 1;
            return Release::Handed(self.grant(index, Grant::Conn(conn, meta)));
        }
        meta.idle_since = now;
        self.idle.push_back((conn, meta));
        Release::Idle
    }

    /// A connection in use will not come back: the shell closes it (broken, refused by a
    /// hook, or failed to clean up). Returns a waiter granted room to open a new one.
    pub(crate) fn discard(&mut self) -> Option<Waker> {
        self.in_use -= 1;
        self.forget_one();
        self.on_room()
    }

    /// A connection in use leaves the pool for good (`PoolConnection::detach`).
    pub(crate) fn detach(&mut self) -> Option<Waker> {
        self.in_use -= 1;
        self.size -= 1;
        self.on_room()
    }

    /// The shell finished closing a connection it was told to close.
    pub(crate) fn close_finished(&mut self) {
        self.closing -= 1;
    }

    // --- Maintenance and shutdown -----------------------------------------------------

    /// Takes out idle connections that must go: expired, past their lifetime, or idle longer
    /// than `idle_timeout` while the pool holds more than `min_connections`.
    pub(crate) fn reap(&mut self, now: Instant) -> Vec<(C, Retire)> {
        let mut out = Vec::new();
        if self.closed {
            return out;
        }
        let mut i = 0;
        while i < self.idle.len() {
            let meta = &self.idle[i].1;
            let why = self.retire_reason(meta, now).or_else(|| {
                let idle_for = now.saturating_duration_since(meta.idle_since);
                match self.limits.idle_timeout {
                    Some(t) if idle_for >= t && self.size > self.limits.min => {
                        Some(Retire::IdleTimeout)
                    }
                    _ => None,
                }
            });
            match why {
                Some(why) => {
                    if let Some((conn, _)) = self.idle.remove(i) {
                        self.forget_one();
                        out.push((conn, why));
                    }
                }
                None => i += 1,
            }
        }
        out
    }

    /// Takes out the idle connections `dead` says are dead (the shell's no-wait check).
    pub(crate) fn take_dead(&mut self, mut dead: impl FnMut(&mut C) -> bool) -> Vec<C> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < self.idle.len() {
            if dead(&mut self.idle[i].0) {
                if let Some((conn, _)) = self.idle.remove(i) {
                    self.forget_one();
                    out.push(conn);
                }
            } else {
                i += 1;
            }
        }
        out
    }

    /// `expire_connections`: connections opened before now are closed instead of reused.
    /// Returns the idle ones, to close now.
    pub(crate) fn expire(&mut self) -> Vec<C> {
        self.generation += 1;
        let drained: Vec<C> = self.idle.drain(..).map(|(c, _)| c).collect();
        for _ in &drained {
            self.forget_one();
        }
        drained
    }

    /// Closes the pool: refuses new acquires, wakes every waiter with `Closed`, and returns
    /// the idle connections to close. Connections in use are closed when they come back.
    pub(crate) fn close(&mut self) -> (Vec<Waker>, Vec<C>) {
        self.closed = true;
        let mut wakers = Vec::new();
        while let Some(index) = self.next_waiter() {
            if let Some(w) = self.grant(index, Grant::Closed) {
                wakers.push(w);
            }
        }
        let idle: Vec<C> = self.idle.drain(..).map(|(c, _)| c).collect();
        for _ in &idle {
            self.forget_one();
        }
        (wakers, idle)
    }
}

/// The pause before the next attempt after `failures` consecutive failed connects:
/// none after the first (a single refusal may be a blip), then 25 ms doubling to 500 ms.
pub(crate) fn backoff_delay(failures: u32) -> Duration {
    match failures {
        0 | 1 => Duration::ZERO,
        n => {
            let doublings = (n - 2).min(16);
            BACKOFF_FIRST
                .saturating_mul(1u32 << doublings)
                .min(BACKOFF_MAX)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    /// A waker that counts its wakes.
    struct Counter(AtomicUsize);

    impl Wake for Counter {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn waker() -> (Waker, Arc<Counter>) {
        let c = Arc::new(Counter(AtomicUsize::new(0)));
        (Waker::from(c.clone()), c)
    }

    fn limits(max: usize) -> Limits {
        Limits {
            max,
            min: 0,
            idle_timeout: None,
            max_queries: None,
        }
    }

    fn t0() -> Instant {
        Instant::now()
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Checks `size = idle + in_use + opening`.
    fn check<C>(s: &State<C>) {
        let st = s.status();
        assert_eq!(st.size, st.idle + st.in_use + st.opening, "{st:?}");
        assert!(st.size <= s.limits.max, "{st:?}");
    }

    /// Opens a connection numbered `id` through the acquire path.
    fn open(s: &mut State<u32>, now: Instant) -> Meta {
        assert!(matches!(s.acquire(now), Take::Connect));
        assert!(s.connect_done());
        let mut meta = Meta::new(now, None, s.generation());
        meta.uses = 1;
        meta
    }

    #[test]
    fn hands_out_idle_connections_most_recent_first() {
        let now = t0();
        let mut s = State::new(limits(3));
        let m1 = open(&mut s, now);
        let m2 = open(&mut s, now);
        assert!(matches!(s.release(1, m1, now), Release::Idle));
        assert!(matches!(s.release(2, m2, now + ms(1)), Release::Idle));
        check(&s);
        let Take::Idle(c, meta) = s.acquire(now + ms(2)) else {
            panic!("expected an idle connection")
        };
        assert_eq!(c, 2);
        assert_eq!(meta.uses, 2);
        assert_eq!(s.status().acquired, 3);
        check(&s);
    }

    #[test]
    fn waiters_are_served_first_in_first_out_and_newcomers_queue_behind() {
        let now = t0();
        let mut s = State::new(limits(1));
        let m = open(&mut s, now);
        let (w, _) = waker();
        let Take::Wait(a) = s.acquire(now) else {
            panic!("full pool queues")
        };
        let Take::Wait(b) = s.acquire(now) else {
            panic!("full pool queues")
        };
        assert!(s.poll_wait(a, &w).is_none());
        assert!(s.poll_wait(b, &w).is_none());
        assert_eq!(s.status().waiters, 2);
        // The connection comes back: it goes to `a`, not to the idle set.
        assert!(matches!(s.release(7, m, now), Release::Handed(Some(_))));
        assert_eq!(s.status().idle, 0);
        // A newcomer cannot overtake `b`.
        assert!(matches!(s.acquire(now), Take::Wait(_)));
        let Some(Grant::Conn(7, meta)) = s.poll_wait(a, &w) else {
            panic!("a was first")
        };
        assert!(s.poll_wait(b, &w).is_none());
        assert!(matches!(s.release(7, meta, now), Release::Handed(Some(_))));
        assert!(matches!(s.poll_wait(b, &w), Some(Grant::Conn(7, _))));
        check(&s);
    }

    #[test]
    fn release_wakes_the_stored_waker() {
        let now = t0();
        let mut s = State::new(limits(1));
        let m = open(&mut s, now);
        let (w, count) = waker();
        let Take::Wait(a) = s.acquire(now) else {
            panic!()
        };
        assert!(s.poll_wait(a, &w).is_none());
        let Release::Handed(Some(wk)) = s.release(1, m, now) else {
            panic!("handed to the waiter")
        };
        wk.wake();
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn cancelled_waiter_is_skipped_and_its_slot_reused_without_confusion() {
        let now = t0();
        let mut s = State::new(limits(1));
        let m = open(&mut s, now);
        let (w, _) = waker();
        let Take::Wait(a) = s.acquire(now) else {
            panic!()
        };
        assert!(s.cancel_wait(a).is_none());
        assert_eq!(s.status().waiters, 0);
        // The freed slot is reused by a new waiter; the stale queue entry for `a` must not
        // make it jump ahead or be served twice.
        let Take::Wait(b) = s.acquire(now) else {
            panic!()
        };
        let Take::Wait(c) = s.acquire(now) else {
            panic!()
        };
        assert_eq!(b.index, a.index);
        assert!(matches!(s.release(1, m, now), Release::Handed(_)));
        let Some(Grant::Conn(1, m)) = s.poll_wait(b, &w) else {
            panic!("b is first")
        };
        assert!(s.poll_wait(c, &w).is_none());
        assert!(matches!(s.release(1, m, now), Release::Handed(_)));
        assert!(matches!(s.poll_wait(c, &w), Some(Grant::Conn(1, _))));
        check(&s);
    }

    #[test]
    fn a_grant_given_to_a_waiter_that_left_is_passed_on() {
        let now = t0();
        let mut s = State::new(limits(1));
        let m = open(&mut s, now);
        let (w, _) = waker();
        let Take::Wait(a) = s.acquire(now) else {
            panic!()
        };
        let Take::Wait(b) = s.acquire(now) else {
            panic!()
        };
        assert!(matches!(s.release(1, m, now), Release::Handed(_)));
        // `a` was granted the connection, then its future was dropped.
        let grant = s.cancel_wait(a).expect("a had a grant");
        assert!(matches!(s.return_grant(grant, now), Release::Handed(_)));
        assert!(matches!(s.poll_wait(b, &w), Some(Grant::Conn(1, _))));
        assert_eq!(s.status().in_use, 1);
        check(&s);
    }

    #[test]
    fn returned_grant_with_nobody_waiting_becomes_idle_and_counts_are_undone() {
        let now = t0();
        let mut s = State::new(limits(1));
        let m = open(&mut s, now);
        let Take::Wait(a) = s.acquire(now) else {
            panic!()
        };
        assert!(matches!(s.release(1, m, now), Release::Handed(_)));
        let before = s.status().acquired;
        let grant = s.cancel_wait(a).expect("granted");
        assert!(matches!(s.return_grant(grant, now), Release::Idle));
        let st = s.status();
        assert_eq!((st.idle, st.in_use, st.acquired), (1, 0, before - 1));
        check(&s);
    }

    #[test]
    fn room_freed_by_a_discard_goes_to_the_first_waiter() {
        let now = t0();
        let mut s = State::<u32>::new(limits(1));
        open(&mut s, now);
        let (w, _) = waker();
        let Take::Wait(a) = s.acquire(now) else {
            panic!()
        };
        s.discard();
        assert!(matches!(s.poll_wait(a, &w), Some(Grant::Connect)));
        let st = s.status();
        assert_eq!((st.size, st.opening, st.closed), (1, 1, 1));
        // The waiter leaves before connecting: the room is freed again.
        assert!(s.connect_abandoned().is_none());
        assert_eq!(s.status().size, 0);
        check(&s);
    }

    #[test]
    fn a_connect_grant_returned_by_a_leaving_waiter_goes_to_the_next() {
        let now = t0();
        let mut s = State::<u32>::new(limits(1));
        open(&mut s, now);
        let (w, _) = waker();
        let Take::Wait(a) = s.acquire(now) else {
            panic!()
        };
        let Take::Wait(b) = s.acquire(now) else {
            panic!()
        };
        s.discard();
        let grant = s.cancel_wait(a).expect("a was granted room");
        assert!(matches!(grant, Grant::Connect));
        assert!(matches!(s.return_grant(grant, now), Release::Handed(_)));
        assert!(matches!(s.poll_wait(b, &w), Some(Grant::Connect)));
        check(&s);
    }

    #[test]
    fn a_background_open_serves_the_first_waiter() {
        let mut s = State::<u32>::new(limits(1));
        let now = t0();
        // The first acquirer gets room to connect, opens in the background and waits
        // first in line; a second acquirer queues behind it.
        assert!(matches!(s.acquire(now), Take::Connect));
        let first = s.register_opener(false);
        let Take::Wait(second) = s.acquire(now) else {
            panic!("expected to wait");
        };
        check(&s);
        // The first gives up (its timeout fired) before the open finishes.
        assert!(s.cancel_wait(first).is_none());
        // The open finishes: the connection goes to the second, not to the idle set.
        let r = s.connect_done_idle(7, Meta::new(now, None, 0), now);
        assert!(matches!(r, Release::Handed(_)), "{r:?}");
        let (w, _) = waker();
        assert!(matches!(s.poll_wait(second, &w), Some(Grant::Conn(7, _))));
        assert_eq!(s.status().in_use, 1);
        assert_eq!(s.size(), 1);
        check(&s);
    }

    #[test]
    fn never_more_than_max_and_connect_when_room() {
        let now = t0();
        let mut s = State::<u32>::new(limits(2));
        assert!(matches!(s.acquire(now), Take::Connect));
        assert!(matches!(s.acquire(now), Take::Connect));
        assert!(matches!(s.acquire(now), Take::Wait(_)));
        assert_eq!(s.status().opening, 2);
        check(&s);
    }

    #[test]
    fn lifetime_generation_and_max_queries_retire_on_release() {
        let now = t0();
        let mut s = State::new(Limits {
            max_queries: Some(2),
            ..limits(3)
        });
        // Lifetime.
        assert!(matches!(s.acquire(now), Take::Connect));
        assert!(s.connect_done());
        let meta = Meta {
            uses: 1,
            ..Meta::new(now, Some(ms(100)), 0)
        };
        assert!(matches!(s.release(1, meta, now + ms(50)), Release::Idle));
        let Take::Idle(1, meta) = s.acquire(now + ms(60)) else {
            panic!()
        };
        // Second use: max_queries = 2 reached.
        assert!(matches!(
            s.release(1, meta, now + ms(70)),
            Release::Retire(1, Retire::MaxQueries, None)
        ));
        let meta = open(&mut s, now);
        let meta = Meta {
            expires: Some(now + ms(100)),
            ..meta
        };
        assert!(matches!(
            s.release(2, meta, now + ms(100)),
            Release::Retire(2, Retire::Lifetime, None)
        ));
        // expire_connections: the connection in use is retired when it comes back.
        let meta = open(&mut s, now);
        assert!(s.expire().is_empty());
        assert!(matches!(
            s.release(3, meta, now),
            Release::Retire(3, Retire::Expired, None)
        ));
        assert_eq!(s.status().closed, 3);
        check(&s);
    }

    #[test]
    fn idle_connection_past_its_lifetime_is_not_handed_out() {
        let now = t0();
        let mut s = State::new(limits(2));
        let meta = open(&mut s, now);
        let meta = Meta {
            expires: Some(now + ms(10)),
            ..meta
        };
        assert!(matches!(s.release(1, meta, now), Release::Idle));
        assert!(matches!(
            s.acquire(now + ms(10)),
            Take::Retire(1, Retire::Lifetime)
        ));
        assert!(matches!(s.acquire(now + ms(10)), Take::Connect));
        check(&s);
    }

    #[test]
    fn reaping_keeps_min_connections_and_takes_the_oldest_idle_first() {
        let now = t0();
        let mut s = State::new(Limits {
            min: 1,
            idle_timeout: Some(ms(100)),
            ..limits(3)
        });
        let m1 = open(&mut s, now);
        let m2 = open(&mut s, now);
        let m3 = open(&mut s, now);
        assert!(matches!(s.release(1, m1, now), Release::Idle));
        assert!(matches!(s.release(2, m2, now + ms(10)), Release::Idle));
        assert!(matches!(s.release(3, m3, now + ms(50)), Release::Idle));
        assert!(s.reap(now + ms(99)).is_empty());
        let reaped = s.reap(now + ms(200));
        assert_eq!(
            reaped,
            vec![(1, Retire::IdleTimeout), (2, Retire::IdleTimeout)]
        );
        assert_eq!(s.status().size, 1);
        assert!(s.reap(now + ms(1000)).is_empty(), "min_connections is kept");
        check(&s);
    }

    #[test]
    fn reserve_for_min_stops_at_min_and_during_backoff() {
        let now = t0();
        let mut s = State::<u32>::new(Limits {
            min: 2,
            ..limits(4)
        });
        assert!(s.reserve_for_min(now));
        assert!(s.reserve_for_min(now));
        assert!(!s.reserve_for_min(now), "size counts the ones being opened");
        s.connect_failed(now, ErrorKind::Io, "refused".into(), 0.0);
        s.connect_failed(now, ErrorKind::Io, "refused".into(), 0.0);
        assert!(!s.reserve_for_min(now), "second failure starts a backoff");
        assert!(s.reserve_for_min(now + BACKOFF_MAX));
        check(&s);
    }

    #[test]
    fn backoff_grows_caps_and_resets_on_success() {
        assert_eq!(backoff_delay(1), Duration::ZERO);
        assert_eq!(backoff_delay(2), ms(25));
        assert_eq!(backoff_delay(3), ms(50));
        assert_eq!(backoff_delay(6), ms(400));
        assert_eq!(backoff_delay(7), BACKOFF_MAX);
        assert_eq!(backoff_delay(u32::MAX), BACKOFF_MAX);

        let now = t0();
        let mut s = State::<u32>::new(limits(2));
        assert!(matches!(s.acquire(now), Take::Connect));
        s.connect_failed(now, ErrorKind::Io, "connection refused".into(), 0.0);
        // One failure: retry right away.
        assert!(matches!(s.acquire(now), Take::Connect));
        s.connect_failed(now, ErrorKind::Io, "connection refused".into(), 0.0);
        let Take::Backoff(info) = s.acquire(now + ms(10)) else {
            panic!("backing off")
        };
        assert_eq!(info.failures, 2);
        assert_eq!(info.remaining, ms(15));
        assert_eq!(info.last_error, "connection refused");
        assert_eq!(s.status().size, 0, "a refused acquire holds no room");
        assert!(matches!(s.acquire(now + ms(25)), Take::Connect));
        assert!(s.connect_done());
        assert!(s.backoff(now + ms(25)).is_none());
        assert_eq!(s.status().connect_failures, 2);
        check(&s);
    }

    #[test]
    fn jitter_only_shortens_the_backoff() {
        let now = t0();
        let mut s = State::<u32>::new(limits(1));
        let mut at = now;
        for _ in 0..10 {
            at += Duration::from_secs(1);
            assert!(matches!(s.acquire(at), Take::Connect));
            s.connect_failed(at, ErrorKind::Io, String::new(), 0.99);
        }
        let remaining = s.backoff(at).expect("backing off").remaining;
        assert!(remaining <= BACKOFF_MAX && remaining >= BACKOFF_MAX.mul_f64(0.8));
    }

    #[test]
    fn failed_connect_gives_the_room_to_a_waiter() {
        let now = t0();
        let mut s = State::<u32>::new(limits(1));
        assert!(matches!(s.acquire(now), Take::Connect));
        let (w, _) = waker();
        let Take::Wait(a) = s.acquire(now) else {
            panic!()
        };
        assert!(s.poll_wait(a, &w).is_none());
        assert!(
            s.connect_failed(now, ErrorKind::Io, String::new(), 0.0)
                .is_some()
        );
        assert!(matches!(s.poll_wait(a, &w), Some(Grant::Connect)));
        check(&s);
    }

    #[test]
    fn close_wakes_waiters_refuses_acquires_and_drains() {
        let now = t0();
        let mut s = State::new(limits(2));
        let m1 = open(&mut s, now);
        let m2 = open(&mut s, now);
        assert!(matches!(s.release(1, m1, now), Release::Idle));
        let (w, _) = waker();
        let Take::Idle(1, m1) = s.acquire(now) else {
            panic!()
        };
        assert!(matches!(s.release(1, m1, now), Release::Idle));
        assert!(matches!(s.acquire(now), Take::Idle(1, _)));
        let Take::Wait(a) = s.acquire(now) else {
            panic!()
        };
        assert!(s.poll_wait(a, &w).is_none());
        let (wakers, idle) = s.close();
        assert_eq!(wakers.len(), 1);
        assert!(idle.is_empty());
        assert!(matches!(s.poll_wait(a, &w), Some(Grant::Closed)));
        assert!(matches!(s.acquire(now), Take::Closed));
        assert!(!s.is_drained());
        assert!(matches!(
            s.release(2, m2, now),
            Release::Retire(2, Retire::PoolClosed, None)
        ));
        s.close_finished();
        assert!(!s.is_drained(), "one still in use");
        s.discard();
        assert!(!s.is_drained(), "its close has not finished");
        s.close_finished();
        assert!(s.is_drained());
        check(&s);
    }

    #[test]
    fn close_takes_the_idle_connections() {
        let now = t0();
        let mut s = State::new(limits(2));
        let m = open(&mut s, now);
        assert!(matches!(s.release(9, m, now), Release::Idle));
        let (_, idle) = s.close();
        assert_eq!(idle, vec![9]);
        assert_eq!(s.status().size, 0);
        s.close_finished();
        assert!(s.is_drained());
    }

    #[test]
    fn connection_opened_while_closing_is_closed() {
        let now = t0();
        let mut s = State::<u32>::new(limits(1));
        assert!(matches!(s.acquire(now), Take::Connect));
        s.close();
        assert!(!s.connect_done());
        assert!(!s.is_drained());
        s.close_finished();
        assert!(s.is_drained());
    }

    #[test]
    fn maintenance_connection_goes_to_a_waiter_first() {
        let now = t0();
        let mut s = State::<u32>::new(Limits {
            min: 2,
            ..limits(2)
        });
        assert!(s.reserve_for_min(now));
        let m = open(&mut s, now);
        let (w, _) = waker();
        let Take::Wait(a) = s.acquire(now) else {
            panic!()
        };
        assert!(matches!(
            s.connect_done_idle(5, Meta::new(now, None, 0), now),
            Release::Handed(_)
        ));
        assert!(matches!(
            s.poll_wait(a, &w),
            Some(Grant::Conn(5, Meta { uses: 1, .. }))
        ));
        assert!(matches!(s.release(6, m, now), Release::Idle));
        check(&s);
    }

    #[test]
    fn dead_idle_connections_are_taken_out() {
        let now = t0();
        let mut s = State::new(limits(3));
        let metas = [open(&mut s, now), open(&mut s, now), open(&mut s, now)];
        for (id, m) in (1..=3).zip(metas) {
            assert!(matches!(s.release(id, m, now), Release::Idle));
        }
        assert_eq!(s.take_dead(|c| *c != 2), vec![1, 3]);
        let st = s.status();
        assert_eq!((st.size, st.idle, st.closed), (1, 1, 2));
        check(&s);
    }

    #[test]
    fn detach_frees_room_without_counting_a_close() {
        let now = t0();
        let mut s = State::<u32>::new(limits(1));
        open(&mut s, now);
        s.detach();
        let st = s.status();
        assert_eq!((st.size, st.closed), (0, 0));
        assert!(matches!(s.acquire(now), Take::Connect));
    }

    #[test]
    fn try_acquire_never_queues_or_connects() {
        let now = t0();
        let mut s = State::<u32>::new(limits(1));
        assert!(s.try_acquire(now).is_none());
        assert_eq!(s.status().size, 0);
        let m = open(&mut s, now);
        assert!(matches!(s.release(4, m, now), Release::Idle));
        assert!(matches!(s.try_acquire(now), Some(Take::Idle(4, _))));
        assert!(s.try_acquire(now).is_none());
        assert_eq!(s.status().waiters, 0);
    }

    #[test]
    fn many_waiters_with_random_cancels_keep_the_books_balanced() {
        // A deterministic pseudo-random walk over acquire / release / cancel.
        let now = t0();
        let mut s = State::<u32>::new(limits(3));
        let (w, _) = waker();
        let mut held: Vec<(u32, Meta)> = Vec::new();
        let mut waiting: Vec<Key> = Vec::new();
        let mut next_id = 0u32;
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            match x % 5 {
                0 | 1 => match s.acquire(now) {
                    Take::Idle(c, m) => held.push((c, m)),
                    Take::Connect => {
                        assert!(s.connect_done());
                        next_id += 1;
                        held.push((next_id, Meta::new(now, None, 0)));
                    }
                    Take::Wait(k) => waiting.push(k),
                    other => panic!("unexpected {other:?}"),
                },
                2 if !held.is_empty() => {
                    let (c, m) = held.swap_remove(usize::try_from(x % 7).unwrap() % held.len());
                    if x.is_multiple_of(11) {
                        s.discard();
                        s.close_finished();
                    } else if let Release::Retire(..) = s.release(c, m, now) {
                        s.close_finished();
                    }
                }
                3 if !waiting.is_empty() => {
                    let k = waiting.remove(0);
                    if let Some(g) = s.cancel_wait(k)
                        && let Release::Retire(..) = s.return_grant(g, now)
                    {
                        s.close_finished();
                    }
                }
                _ => {
                    let mut still = Vec::new();
                    for k in waiting.drain(..) {
                        match s.poll_wait(k, &w) {
                            None => still.push(k),
                            Some(Grant::Conn(c, m)) => held.push((c, m)),
                            Some(Grant::Connect) => {
                                assert!(s.connect_done());
                                next_id += 1;
                                held.push((next_id, Meta::new(now, None, 0)));
                            }
                            Some(Grant::Closed) => panic!("not closed"),
                        }
                    }
                    waiting = still;
                }
            }
            check(&s);
            // Granted but not yet polled: counted in use (or opening) by the books, still
            // "waiting" for the test.
            assert!(s.status().in_use >= held.len());
            assert!(s.status().waiters <= waiting.len());
        }
        // Collect every grant, then the books must match exactly.
        for k in waiting.drain(..) {
            match s.poll_wait(k, &w) {
                None => assert!(s.cancel_wait(k).is_none()),
                Some(Grant::Conn(c, m)) => held.push((c, m)),
                Some(Grant::Connect) => {
                    assert!(s.connect_done());
                    held.push((0, Meta::new(now, None, 0)));
                }
                Some(Grant::Closed) => panic!("not closed"),
            }
        }
        let st = s.status();
        assert_eq!(st.in_use, held.len());
        assert_eq!(st.opening, 0);
        assert!(st.acquired > 1000, "the walk exercised the pool: {st:?}");
        for (c, m) in held {
            if let Release::Retire(..) = s.release(c, m, now) {
                s.close_finished();
            }
        }
        let st = s.status();
        assert_eq!((st.in_use, st.idle), (0, st.size));
    }
}
