//! The driver of one shared connection: a task that owns the pooled connection, writes the
//! queries routed to it in arrival order (each with its own Sync), and hands each caller
//! the response group that ends with its query's ReadyForQuery.
//!
//! It talks to the socket only through the connection's methods (`write_pipelined_request`,
//! `poll_exchange`, `try_recv`), as every layer above `connection/` does.
//!
//! Rules it keeps, so that sharing never changes an answer:
//! - A statement is bound by name only once its description arrived (the cache files it
//!   then). A query whose statement another in-flight query is still parsing parses its
//!   own, unnamed: if that other Parse fails, this query never names a statement that does
//!   not exist. Closes of evicted statements are written before any later request, after
//!   every earlier one that may bind them.
//! - A query that needs a round trip of its own before it can be sent (a user type not
//!   looked up yet) is handed back unsent, and runs on a connection of its own.
//! - A query abandoned by its caller (dropped, or timed out) is withdrawn if it was not
//!   written yet; if it runs alone on the connection, nothing written behind it, a
//!   CancelRequest is sent and nothing more is written until the cancel was delivered and
//!   the query's responses ended; otherwise its responses are read and dropped.
//! - When the connection fails, every query in flight on it fails (the server's error for
//!   the one it answered with one, `OutcomeUnknown` for the rest), queries not written yet
//!   are handed back to run elsewhere, and the connection goes back to the pool, which
//!   discards it.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::Poll;
use std::time::Instant;

use tokio::sync::mpsc::UnboundedReceiver;

use super::{Job, Msg, Output, Reply, Slot};
use crate::connection::{AfterError, Connection, Incoming, Plan, TIMEOUT_CLEANUP, Watch};
use crate::failure::{Error, Result};
use crate::pooling::Shared;
use crate::protocol::frontend;
use crate::row::{Columns, Row};
use crate::types::TypeInfo;

/// How long a shared connection with nothing in flight stays with the multiplexer before
/// it goes back to the pool.
const LINGER: std::time::Duration = std::time::Duration::from_millis(50);

/// A query written to the connection whose response group has not ended.
struct InFlight {
    job: Job,
    plan: Plan,
    columns: Option<Arc<Columns>>,
    params: Vec<TypeInfo>,
    rows: Vec<Row>,
    rows_affected: u64,
    /// BindComplete arrived: an error now is the execution's, not the statement's.
    bound: bool,
    error: Option<Error>,
    /// The caller went away: responses are read and dropped.
    abandoned: bool,
    watch: Watch,
}

/// A result complete but for the names of user types its columns have (looked up once
/// per type per connection, when nothing is in flight).
struct Unnamed {
    job: Job,
    statement: Box<str>,
    columns: Arc<Columns>,
    rows: Vec<Row>,
    rows_affected: u64,
    watch: Watch,
}

/// A CancelRequest for the one query in flight, and the bound on waiting for its end.
struct Cancelling {
    id: u64,
    sending: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
    deadline: Instant,
}

/// Why the driver stopped.
pub(super) enum Stop {
    /// Nothing in flight and no reason to keep the connection.
    Idle,
    /// The connection failed; everything in flight was answered.
    Broken,
}

pub(super) struct Engine<'a> {
    conn: &'a mut Connection,
    slot: &'a Slot,
    waiting: VecDeque<Job>,
    in_flight: VecDeque<InFlight>,
    unnamed: Vec<Unnamed>,
    cancelling: Option<Cancelling>,
    inbox_closed: bool,
}

impl<'a> Engine<'a> {
    pub(super) fn new(conn: &'a mut Connection, slot: &'a Slot) -> Engine<'a> {
        Engine {
            conn,
            slot,
            waiting: VecDeque::new(),
            in_flight: VecDeque::new(),
            unnamed: Vec::new(),
            cancelling: None,
            inbox_closed: false,
        }
    }

    /// Runs until the connection is idle and may go back (`retire` agrees), or breaks.
    /// `expires` is when the connection's lifetime ends.
    pub(super) async fn run(
        &mut self,
        shared: &Arc<Shared>,
        inbox: &mut UnboundedReceiver<Msg>,
        expires: Option<Instant>,
        retire: impl Fn() -> bool,
    ) -> Stop {
        let mut idle_since = Instant::now();
        loop {
            if self.cancelling.is_none() && self.unnamed.is_empty() {
                self.write_waiting();
            }
            let absorbed = self.absorb();
            if let Err(e) = absorbed {
                let _ = self.conn.note::<()>(Err(e));
            }
            if self.conn.is_closed() {
                self.fail_all();
                return Stop::Broken;
            }
            if !self.unnamed.is_empty() && self.in_flight.is_empty() {
                self.name_results().await;
                continue;
            }
            if let Some(c) = &self.cancelling
                && c.sending.is_none()
                && !self.in_flight.iter().any(|f| f.job.id == c.id)
            {
                self.cancelling = None;
            }
            let busy = !self.in_flight.is_empty()
                || !self.waiting.is_empty()
                || !self.unnamed.is_empty()
                || self.cancelling.is_some();
            let release = self.inbox_closed
                || shared.wants_connections()
                || expires.is_some_and(|at| Instant::now() >= at);
            // Stop taking queries while the pool needs the connection back or a cancel
            // is on its way; take them again once neither holds.
            self.slot
                .accepting
                .store(!release && self.cancelling.is_none(), Ordering::Release);
            if busy {
                idle_since = Instant::now();
            } else if (release || idle_since.elapsed() >= LINGER) && retire() {
                return Stop::Idle;
            }
            let deadline = match &self.cancelling {
                Some(c) => Some(c.deadline),
                None if !busy => Some(idle_since + LINGER),
                None => None,
            };
            match self.wait(inbox, deadline).await {
                Ok(true) => {}
                Ok(false) => {
                    if let Some(c) = &self.cancelling
                        && Instant::now() >= c.deadline
                    {
                        tracing::warn!(
                            "the server did not finish a cancelled query on a shared connection \
                             within {TIMEOUT_CLEANUP:?}; closing the connection"
                        );
                        self.conn.mark_broken(format!(
                            "the server did not finish a cancelled query within \
                             {TIMEOUT_CLEANUP:?}, so the connection was closed"
                        ));
                    }
                }
                Err(e) => {
                    let _ = self.conn.note::<()>(Err(e));
                }
            }
        }
    }

    /// Waits until a message arrives, the socket moves, the cancel was delivered, or
    /// `deadline`. Returns false at the deadline.
    async fn wait(
        &mut self,
        inbox: &mut UnboundedReceiver<Msg>,
        deadline: Option<Instant>,
    ) -> Result<bool> {
        let mut msgs = Vec::new();
        let inbox_closed = &mut self.inbox_closed;
        let conn = &mut *self.conn;
        let exchanging = !self.in_flight.is_empty();
        let cancelling = &mut self.cancelling;
        let woke = std::future::poll_fn(|cx| {
            let mut woke = false;
            while !*inbox_closed {
                match inbox.poll_recv(cx) {
                    Poll::Ready(Some(m)) => {
                        msgs.push(m);
                        woke = true;
                    }
                    Poll::Ready(None) => {
                        *inbox_closed = true;
                        woke = true;
                    }
                    Poll::Pending => break,
                }
            }
            if exchanging || conn.has_unsent() {
                match conn.poll_exchange(cx) {
                    Poll::Ready(Ok(())) => woke = true,
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Pending => {}
                }
            }
            if let Some(c) = cancelling
                && let Some(sending) = &mut c.sending
                && sending.as_mut().poll(cx).is_ready()
            {
                c.sending = None;
                woke = true;
            }
            if woke {
                Poll::Ready(Ok(()))
            } else {
                Poll::Pending
            }
        });
        let r = match deadline {
            Some(at) => match tokio::time::timeout_at(at.into(), woke).await {
                Ok(r) => r.map(|()| true),
                Err(_) => Ok(false),
            },
            None => woke.await.map(|()| true),
        };
        for m in msgs {
            match m {
                Msg::Run(job) => self.waiting.push_back(*job),
                Msg::Abandon(id) => self.abandon(id),
            }
        }
        r
    }

    /// The caller of query `id` went away (dropped, or timed out).
    fn abandon(&mut self, id: u64) {
        if let Some(i) = self.waiting.iter().position(|j| j.id == id) {
            // Not written yet: withdrawn, it never reaches the server.
            self.waiting.remove(i);
            self.slot.finish_one();
            return;
        }
        let Some(pos) = self.in_flight.iter().position(|f| f.job.id == id) else {
            return;
        };
        let f = &mut self.in_flight[pos];
        f.abandoned = true;
        f.rows = Vec::new();
        // Cancel on the server only the query running alone: with anything written behind
        // it, the cancel could land on that instead. Nothing more is written until the
        // cancel was delivered and this query's responses ended.
        if pos == 0
            && self.in_flight.len() == 1
            && self.cancelling.is_none()
            && let Some(token) = self.conn.cancel_token()
        {
            self.slot.accepting.store(false, Ordering::Release);
            self.cancelling = Some(Cancelling {
                id,
                sending: Some(Box::pin(async move {
                    if let Err(e) = token.cancel_query().await {
                        tracing::debug!(
                            "could not cancel an abandoned query on a shared connection: {}",
                            e.display_chain()
                        );
                    }
                })),
                deadline: Instant::now() + TIMEOUT_CLEANUP,
            });
        }
    }

    /// Writes the queries that wait, in order.
    fn write_waiting(&mut self) {
        while let Some(job) = self.waiting.pop_front() {
            if job.reply.is_closed() {
                // Its caller left before it was written: withdrawn.
                self.slot.finish_one();
                continue;
            }
            if let Some(f) = self.write(job) {
                if self.in_flight.is_empty() {
                    self.slot.progressed();
                }
                self.in_flight.push_back(f);
            }
        }
    }

    /// Writes one query, or answers it at once (handed back, or failed to encode).
    fn write(&mut self, job: Job) -> Option<InFlight> {
        let conn = &mut *self.conn;
        let args = job.query.arguments();
        if !conn.knows_param_types(args) {
            // Its user types need a catalog lookup first: a round trip of its own.
            self.reply(job, Reply::NotRun);
            return None;
        }
        let planned = (|| {
            let resolved = conn.known_param_types(args)?;
            let oids = args.oids(&resolved);
            let values: Cow<'_, [u8]> = if args.encoded().patches().is_empty() {
                Cow::Borrowed(args.encoded().as_bytes())
            } else {
                Cow::Owned(conn.patch_oids(args.encoded())?)
            };
            let sql = job.query.sql();
            // Another in-flight query is parsing this statement: its name is not bound
            // until its description arrives (that Parse may yet fail).
            let parsing = self.in_flight.iter().any(|f| {
                f.plan.parse && f.plan.is_named() && f.job.query.sql() == sql && f.plan.oids == oids
            });
            let plan = if parsing {
                conn.plan_new_statement(sql, oids, false)
            } else {
                conn.plan_statement(sql, oids, None, job.query.is_persistent())
            };
            conn.write_pipelined_request(&plan, |buf| {
                plan.encode_run(buf, sql, &values)?;
                frontend::sync(buf);
                Ok(1)
            })?;
            Ok(plan)
        })();
        match planned {
            Ok(plan) => {
                let watch = conn.watch(job.query.sql());
                Some(InFlight {
                    columns: plan.columns(),
                    job,
                    plan,
                    params: Vec::new(),
                    rows: Vec::new(),
                    rows_affected: 0,
                    bound: false,
                    error: None,
                    abandoned: false,
                    watch,
                })
            }
            Err(e) => {
                self.reply(job, Reply::Ran(Err(e)));
                None
            }
        }
    }

    /// Reads what is buffered, ending response groups as their ReadyForQuery arrives.
    fn absorb(&mut self) -> Result<()> {
        while let Some(m) = self.conn.try_recv()? {
            let Some(f) = self.in_flight.front_mut() else {
                return Err(
                    m.unexpected("nothing (no query is in flight on the shared connection)")
                );
            };
            let sql = f.job.query.sql();
            match m {
                Incoming::ParseComplete | Incoming::CloseComplete => {}
                Incoming::ParameterDescription(p) => f.params = p,
                Incoming::RowDescription(desc) => {
                    let statement = self.conn.read_description(
                        &desc,
                        sql,
                        &f.plan,
                        std::mem::take(&mut f.params),
                    )?;
                    f.columns = Some(statement.inner.columns.clone());
                }
                Incoming::NoData => {
                    let statement =
                        self.conn
                            .read_no_data(sql, &f.plan, std::mem::take(&mut f.params));
                    f.columns = Some(statement.inner.columns.clone());
                }
                Incoming::BindComplete => f.bound = true,
                Incoming::DataRow(body) => {
                    if !f.abandoned {
                        let columns = f.columns.clone().ok_or_else(|| {
                            Error::protocol("DataRow before the statement's description")
                        })?;
                        f.rows.push(Row::new(columns, body)?);
                    }
                }
                Incoming::CommandComplete(tag) => f.rows_affected = tag.rows(),
                Incoming::EmptyQuery | Incoming::PortalSuspended => {}
                Incoming::Error(e) => {
                    if f.error.is_none() {
                        f.error = Some(e.with_statement(sql));
                    }
                    if self.conn.is_closed() {
                        // FATAL: no ReadyForQuery follows; `fail_all` answers.
                        return Ok(());
                    }
                }
                Incoming::Ready(_) => {
                    self.slot.progressed();
                    let f = self.in_flight.pop_front().expect("matched front_mut above");
                    self.complete(f);
                }
                other => return Err(other.unexpected("the result of a shared query")),
            }
        }
        Ok(())
    }

    /// A response group ended: answer its caller (or run the query again, or wait for
    /// its columns' type names).
    fn complete(&mut self, f: InFlight) {
        let InFlight {
            mut job,
            plan,
            columns,
            rows,
            rows_affected,
            error,
            abandoned,
            bound,
            watch,
            ..
        } = f;
        let sql = job.query.sql();
        if let Some(err) = error {
            let retry = !abandoned && !job.retried;
            match self
                .conn
                .after_statement_error(err, sql, &plan, !bound, retry)
            {
                AfterError::Retry => {
                    // A stale statement, or a pooler spotted: once more, planned afresh.
                    job.retried = true;
                    self.waiting.push_front(job);
                }
                AfterError::Fail(e) => {
                    self.conn.watched(watch, sql, 0, Some(&e));
                    self.reply(job, Reply::Ran(Err(e)));
                }
            }
            return;
        }
        match columns {
            Some(columns) if !abandoned && has_unnamed_types(&columns) => {
                self.unnamed.push(Unnamed {
                    job,
                    statement: plan.name,
                    columns,
                    rows,
                    rows_affected,
                    watch,
                });
            }
            _ => {
                self.conn.watched(watch, sql, rows_affected, None);
                self.reply(
                    job,
                    Reply::Ran(Ok(Output {
                        rows,
                        rows_affected,
                    })),
                );
            }
        }
    }

    /// Names the user types of results that have some, now that nothing is in flight
    /// (one catalog query per new type per connection), and answers their callers.
    async fn name_results(&mut self) {
        for u in std::mem::take(&mut self.unnamed) {
            let named = self.conn.name_columns(&u.statement, &u.columns).await;
            let named = self.conn.note(named);
            let sql = u.job.query.sql();
            let reply = match named {
                Ok(named) => {
                    let rows = match named {
                        Some(named) => u
                            .rows
                            .into_iter()
                            .map(|row| row.with_columns(named.clone()))
                            .collect(),
                        None => u.rows,
                    };
                    self.conn.watched(u.watch, sql, u.rows_affected, None);
                    Reply::Ran(Ok(Output {
                        rows,
                        rows_affected: u.rows_affected,
                    }))
                }
                Err(e) => {
                    self.conn.watched(u.watch, sql, 0, Some(&e));
                    Reply::Ran(Err(e))
                }
            };
            self.reply(u.job, reply);
        }
    }

    /// The connection failed: every query in flight fails, every one not written is
    /// handed back to run elsewhere.
    fn fail_all(&mut self) {
        let why = match self.conn.check_open() {
            Err(e) => e,
            Ok(()) => Error::closed("the shared connection stopped"),
        };
        for f in std::mem::take(&mut self.in_flight) {
            let e = match f.error {
                // The server said why (a FATAL error, such as pg_terminate_backend's).
                Some(e) => e,
                None => Error::outcome_unknown(Error::closed(format!(
                    "the connection this query shared with others failed while it was in \
                     flight: {}",
                    why.display_chain()
                ))),
            };
            self.conn.watched(f.watch, f.job.query.sql(), 0, Some(&e));
            self.reply(f.job, Reply::Ran(Err(e)));
        }
        for u in std::mem::take(&mut self.unnamed) {
            // Complete already; only the type names are missing.
            self.reply(
                u.job,
                Reply::Ran(Ok(Output {
                    rows: u.rows,
                    rows_affected: u.rows_affected,
                })),
            );
        }
        for job in std::mem::take(&mut self.waiting) {
            self.reply(job, Reply::NotRun);
        }
        self.cancelling = None;
    }

    fn reply(&self, job: Job, reply: Reply) {
        job.send(reply);
        self.slot.finish_one();
    }
}

fn has_unnamed_types(columns: &Columns) -> bool {
    columns
        .iter()
        .any(|c| !c.type_info().is_builtin() && c.type_info().known_name().is_none())
}
