//! The background task: reaps idle connections and keeps `min_connections` open.
//!
//! It holds only a `Weak` reference between rounds, so dropping the last handle to a
//! pool ends it; it also ends when the pool is closed.

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use super::state::{Meta, Retire};
use super::{Opening, Shared};

/// The pause between rounds when nothing asks for sooner.
const SLOWEST: Duration = Duration::from_secs(30);
const FASTEST: Duration = Duration::from_millis(50);

pub(super) fn spawn(shared: &Arc<Shared>) {
    let weak = Arc::downgrade(shared);
    let wake = shared.maintenance.clone();
    tokio::spawn(run(weak, wake));
}

async fn run(weak: Weak<Shared>, wake: Arc<Notify>) {
    loop {
        let pause = {
            let Some(shared) = weak.upgrade() else {
                return;
            };
            match shared.maintain().await {
                Some(pause) => pause,
                None => return,
            }
        };
        let _ = tokio::time::timeout(pause, wake.notified()).await;
    }
}

impl Shared {
    /// One round. Returns how long to pause, or `None` once the pool is closed.
    async fn maintain(self: &Arc<Self>) -> Option<Duration> {
        let now = Instant::now();
        let (reaped, dead) = {
            let mut st = self.lock();
            if st.is_closed() {
                return None;
            }
            let reaped = st.reap(now);
            let dead = st.take_dead(|live| !live.conn.poll_idle_health());
            (reaped, dead)
        };
        for (live, why) in reaped {
            self.close_conn(live, why);
        }
        for live in dead {
            self.close_conn(live, Retire::Broken);
        }
        self.top_up().await;

        let o = &self.options;
        let mut pause = [o.idle_timeout, o.max_lifetime]
            .into_iter()
            .flatten()
            .min()
            .map_or(SLOWEST, |d| (d / 4).clamp(FASTEST, SLOWEST));
        let st = self.lock();
        if st.below_min() {
            let retry = st.backoff(Instant::now()).map_or(FASTEST, |b| b.remaining);
            pause = pause.min(retry.max(Duration::from_millis(1)));
        }
        Some(pause)
    }

    /// Opens connections until the pool holds `min_connections`, stopping at the first failure.
    async fn top_up(self: &Arc<Self>) {
        loop {
            if !self.lock().reserve_for_min(Instant::now()) {
                return;
            }
            let mut opening = Opening {
                shared: self,
                armed: true,
            };
            let generation = self.lock().generation();
            let limit = self
                .connect_options
                .get_connect_timeout()
                .unwrap_or(self.options.acquire_timeout)
                .max(Duration::from_millis(1));
            let r = tokio::time::timeout(limit, self.open_connection()).await;
            opening.armed = false;
            match r {
                Ok(Ok(live)) => {
                    let now = Instant::now();
                    let meta = Meta::new(now, self.lifetime(), generation);
                    let mut st = self.lock();
                    let r = st.connect_done_idle(live, meta, now);
                    self.finish_release(st, r);
                }
                Ok(Err(e)) => {
                    self.connect_failed(&e);
                    return;
                }
                Err(_) => {
                    let e = crate::failure::Error::timeout(format!(
                        "opening a connection for min_connections took longer than {limit:?}"
                    ));
                    self.connect_failed(&e);
                    return;
                }
            }
        }
    }
}
