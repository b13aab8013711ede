//! Bookkeeping that keeps a connection in sync with the server.
//!
//! Every request ends in a message that makes the server answer with
//! ReadyForQuery (Sync, or a simple Query). `owed` counts the ReadyForQuery
//! messages still to come. If the future that sent a request is dropped, the
//! next operation reads and discards responses until `owed` is zero, so it
//! gets its own result, never the tail of the previous one.
//!
//! A request that never reached the server at all is withdrawn instead of
//! being sent late: dropping `timeout(0, conn.execute("DELETE ..."))` before
//! its first byte was written means the DELETE does not run. Requests queued
//! from `Drop` (a transaction's ROLLBACK) are marked `keep` and always go out.

/// A request in the write buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Queued {
    /// Offset in the write buffer just past the request's last byte.
    end: usize,
    /// ReadyForQuery messages this request will bring.
    syncs: u32,
    /// Whether it must be sent even if the caller went away.
    keep: bool,
}

/// ReadyForQuery still owed by the server, and the requests not yet sent.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    owed: u32,
    queued: Vec<Queued>,
}

impl Pending {
    /// Whether the connection is in sync: nothing owed, nothing queued.
    pub(crate) fn is_idle(&self) -> bool {
        self.owed == 0 && self.queued.is_empty()
    }

    /// How many ReadyForQuery messages are still to come.
    pub(crate) fn owed(&self) -> u32 {
        self.owed
    }

    /// Records a request that now ends at `end` in the write buffer.
    pub(crate) fn queue(&mut self, end: usize, syncs: u32, keep: bool) {
        self.owed += syncs;
        self.queued.push(Queued { end, syncs, keep });
    }

    /// The write buffer was sent completely.
    pub(crate) fn flushed(&mut self) {
        self.queued.clear();
    }

    /// Whether a request of which at least one byte went out (`written` bytes of the
    /// write buffer were sent) is still unanswered: its outcome is unknown if the
    /// connection fails now.
    pub(crate) fn sent_unanswered(&self, written: usize) -> bool {
        let mut start = 0;
        let mut unsent = 0;
        for q in &self.queued {
            if start >= written {
                unsent += q.syncs;
            }
            start = q.end;
        }
        self.owed > unsent
    }

    /// A ReadyForQuery arrived. Returns false if none was owed (a protocol violation).
    pub(crate) fn ready_for_query(&mut self) -> bool {
        match self.owed.checked_sub(1) {
            Some(n) => {
                self.owed = n;
                true
            }
            None => false,
        }
    }

    /// Withdraws queued requests of which no byte was sent, unless marked `keep`.
    ///
    /// `written` bytes at the front of `buf` went out already; the request they
    /// belong to must be completed. Returns the new buffer content.
    pub(crate) fn withdraw_unsent(&mut self, buf: &mut Vec<u8>, written: usize) {
        if self.queued.iter().all(|q| q.keep) {
            return;
        }
        let mut kept = Vec::with_capacity(buf.len());
        let mut queued = Vec::with_capacity(self.queued.len());
        let mut start = 0;
        for q in self.queued.drain(..) {
            let started = start < written;
            if started || q.keep {
                kept.extend_from_slice(&buf[start..q.end]);
                queued.push(Queued {
                    end: kept.len(),
                    ..q
                });
            } else {
                self.owed -= q.syncs;
            }
            start = q.end;
        }
        // Bytes after the last queued request (there should be none) are kept as they are.
        kept.extend_from_slice(&buf[start..]);
        *buf = kept;
        self.queued = queued;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owed_counts_syncs_and_ready_for_query_pays_them() {
        let mut p = Pending::default();
        assert!(p.is_idle());
        p.queue(10, 1, false);
        p.queue(20, 2, false);
        assert_eq!(p.owed(), 3);
        p.flushed();
        assert!(!p.is_idle());
        assert!(p.ready_for_query());
        assert!(p.ready_for_query());
        assert!(p.ready_for_query());
        assert!(p.is_idle());
        assert!(
            !p.ready_for_query(),
            "an unowed ReadyForQuery is a violation"
        );
    }

    #[test]
    fn unsent_requests_are_withdrawn() {
        let mut p = Pending::default();
        let mut buf = b"aaaabbbbcc".to_vec();
        p.queue(4, 1, false);
        p.queue(8, 1, false);
        p.queue(10, 1, true);
        p.withdraw_unsent(&mut buf, 0);
        assert_eq!(buf, b"cc", "only the kept request remains");
        assert_eq!(p.owed(), 1);
    }

    #[test]
    fn a_partly_sent_request_is_completed_and_later_ones_withdrawn() {
        let mut p = Pending::default();
        let mut buf = b"aaaabbbbcc".to_vec();
        p.queue(4, 1, false);
        p.queue(8, 2, false);
        p.queue(10, 1, false);
        p.withdraw_unsent(&mut buf, 5);
        assert_eq!(buf, b"aaaabbbb");
        assert_eq!(p.owed(), 3);
    }

    #[test]
    fn sent_and_unanswered() {
        let mut p = Pending::default();
        assert!(!p.sent_unanswered(0));
        p.queue(4, 1, false);
        p.queue(8, 1, false);
        assert!(!p.sent_unanswered(0), "nothing went out");
        assert!(p.sent_unanswered(1), "the first request is on its way");
        p.flushed();
        assert!(p.sent_unanswered(0), "both went out");
        assert!(p.ready_for_query());
        assert!(p.sent_unanswered(0));
        assert!(p.ready_for_query());
        assert!(!p.sent_unanswered(0), "both were answered");
    }

    #[test]
    fn nothing_to_withdraw_when_all_are_kept() {
        let mut p = Pending::default();
        let mut buf = b"rollback".to_vec();
        p.queue(8, 1, true);
        p.withdraw_unsent(&mut buf, 0);
        assert_eq!(buf, b"rollback");
        assert_eq!(p.owed(), 1);
    }
}
