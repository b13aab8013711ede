//! `execute_many`: one statement run once per set of values, streamed to the server.
//!
//! The rows are encoded straight into the write buffer and sent in chunks while the
//! rest are still being encoded, so the server starts inserting after the first chunk
//! instead of after the client has encoded the whole batch (asyncpg's `executemany`
//! does the same). Responses are read between chunks, so memory stays bounded however
//! many rows there are. One Sync ends the batch: it is one implicit transaction.
//!
//! Because part of the batch is on the wire before its end is written, a batch that
//! cannot be finished (a value that fails to encode, a dropped future, a timeout) must
//! not be ended by a plain Sync, which would commit the rows sent so far. It is ended
//! by [`Connection::abandon_batch`], which makes the server fail it first.

use crate::connection::{Connection, Incoming, Plan, within_timeout};
use crate::failure::{Error, Result};
use crate::querying::Arguments;
use crate::types::TypeInfo;

use super::IntoArguments;

/// Encoded bytes after which the batch so far is sent before encoding more. Small
/// enough that the server starts early, large enough that the writes stay few.
const CHUNK: usize = 32 * 1024;

/// What the responses read so far say.
#[derive(Default)]
struct Progress {
    /// Rows whose statement completed.
    done: usize,
    rows_affected: u64,
    /// Parameter types of the statement whose description is being read.
    params: Vec<TypeInfo>,
    /// How many of the parsed plans' descriptions arrived.
    described: usize,
    /// The first error and the row it belongs to; the server skips the rest.
    error: Option<(usize, Error)>,
    /// ReadyForQuery arrived: the batch is over.
    ready: bool,
    /// The current row's Bind was answered (an error now comes from running it).
    bound: bool,
}

impl Connection {
    /// Runs one statement once per set of values, in one round trip and one implicit
    /// transaction (asyncpg's `executemany`): all rows are inserted, or none. Returns the
    /// total rows affected.
    ///
    /// Rows are taken from `rows` as they are sent, so the server starts on the first
    /// ones while later ones are still being encoded, and the rows need not be in memory
    /// all at once. If a row's values cannot be encoded, the batch fails as a whole, as
    /// when a row violates a constraint: inside a transaction you opened, that
    /// transaction is then aborted.
    ///
    /// Bounded by the connection's `command_timeout`, like any query.
    pub async fn execute_many<I>(&mut self, sql: &'static str, rows: I) -> Result<u64>
    where
        I: IntoIterator,
        I::Item: IntoArguments,
    {
        let mut rows = rows.into_iter();
        let Some(first) = rows.next() else {
            return Ok(0);
        };
        self.ready().await?;
        let watch = self.watch(sql);
        let span = watch.span().clone();
        let timeout = self.command_timeout();
        let work = tracing::Instrument::instrument(
            self.stream_many(sql, first.into_arguments(), rows),
            span,
        );
        let r = within_timeout!(self, timeout, work);
        let r = self.note(r);
        let (affected, error) = match &r {
            Ok(n) => (*n, None),
            Err(e) => (0, Some(e)),
        };
        self.watched(watch, sql, affected, error);
        r
    }

    async fn stream_many<I>(&mut self, sql: &str, first: Arguments, mut rest: I) -> Result<u64>
    where
        I: Iterator,
        I::Item: IntoArguments,
    {
        // The first row may name user types not looked up yet: that takes a query of
        // its own, so it happens before the batch starts. Later rows use what is known.
        first
            .check()
            .map_err(|e| e.context("row 1 of execute_many"))?;
        self.resolve_param_types(&first).await?;

        self.begin_batch()?;
        let cacheable = self.caches(sql);
        let mut plans: Vec<Plan> = Vec::new();
        let mut progress = Progress::default();
        let mut sent = false;
        let mut row = 1usize;
        let mut args = first;
        let encoded: Result<()> = loop {
            if let Err(e) = self.encode_row(sql, cacheable, &mut plans, &args) {
                break Err(e.context(format!("row {row} of execute_many")));
            }
            if self.batch_unsent() >= CHUNK {
                self.flush_while_reading().await?;
                sent = true;
                self.absorb(sql, &plans, &mut progress)?;
                if let Some((failed, e)) = progress.error.take_if(|_| self.is_closed()) {
                    // A FATAL error: the server has hung up.
                    return Err(e.context(format!("row {failed} of execute_many")));
                }
                if progress.error.is_some() {
                    // The server skips the rest of the batch: stop encoding it.
                    break Ok(());
                }
            }
            let Some(next) = rest.next() else {
                break Ok(());
            };
            row += 1;
            args = next.into_arguments();
        };
        match &encoded {
            // Part of the batch may be on the wire: its Sync must follow even if this
            // future is dropped now, or the next request's Sync would end it.
            Ok(()) => self.end_batch(sent),
            Err(_) => self.abandon_batch(),
        }
        self.flush_while_reading().await?;
        while !progress.ready {
            self.absorb(sql, &plans, &mut progress)?;
            if !progress.ready {
                self.fill().await?;
            }
        }
        // The first failure in row order: a row the server rejected comes before the
        // row that could not be encoded (the server's answer to the abandoned batch is
        // an error of our making and is not reported).
        match (progress.error, encoded) {
            (Some((failed, _)), Err(encode)) if failed >= row => Err(encode),
            (Some((failed, e)), _) => Err(e.context(format!("row {failed} of execute_many"))),
            (None, Err(encode)) => Err(encode),
            (None, Ok(())) => Ok(progress.rows_affected),
        }
    }

    /// Appends one row's Bind and Execute (and its statement's Parse and Describe when
    /// it is the first row with these parameter types), or nothing if it fails.
    fn encode_row(
        &mut self,
        sql: &str,
        cacheable: bool,
        plans: &mut Vec<Plan>,
        args: &Arguments,
    ) -> Result<()> {
        args.check()?;
        if !self.knows_param_types(args) {
            return Err(Error::encode(
                "its values name a user type that no earlier row of the batch used; \
                 bind a value of that type in the first row, or run one query with it first",
            ));
        }
        let resolved = self.known_param_types(args)?;
        let values = self.bind_values(args.encoded())?;
        let fits = |p: &Plan| p.oids.iter().copied().eq(args.oids_iter(&resolved));
        let found = if cacheable {
            plans.iter().position(fits)
        } else {
            // The unnamed statement is replaced by the next Parse: only the latest is there.
            plans.len().checked_sub(1).filter(|&i| fits(&plans[i]))
        };
        match found {
            Some(i) => {
                let plan = &plans[i];
                self.append_to_batch(|buf| plan.encode_bind_execute(buf, &values))
            }
            None => {
                let oids = args.oids(&resolved);
                let plan = self.plan_statement(sql, oids, None, cacheable);
                self.append_to_batch(|buf| plan.encode_run(buf, sql, &values))?;
                self.parse_sent(&plan);
                plans.push(plan);
                Ok(())
            }
        }
    }

    /// Handles the responses already buffered, without waiting.
    fn absorb(&mut self, sql: &str, plans: &[Plan], progress: &mut Progress) -> Result<()> {
        while !progress.ready {
            let Some(m) = self.try_recv()? else {
                return Ok(());
            };
            self.absorb_one(m, sql, plans, progress)?;
        }
        Ok(())
    }

    fn absorb_one(
        &mut self,
        m: Incoming,
        sql: &str,
        plans: &[Plan],
        progress: &mut Progress,
    ) -> Result<()> {
        match m {
            Incoming::Ready(_) => progress.ready = true,
            // After an error the server sends nothing but ReadyForQuery.
            _ if progress.error.is_some() => {}
            Incoming::ParseComplete | Incoming::CloseComplete | Incoming::DataRow(_) => {}
            Incoming::BindComplete => progress.bound = true,
            Incoming::ParameterDescription(p) => progress.params = p,
            Incoming::RowDescription(_) | Incoming::NoData => {
                let plan = plans
                    .iter()
                    .filter(|p| p.parse)
                    .nth(progress.described)
                    .ok_or_else(|| Error::protocol("a statement description nobody asked for"))?;
                progress.described += 1;
                let params = std::mem::take(&mut progress.params);
                match &m {
                    Incoming::RowDescription(desc) => {
                        self.read_description(desc, sql, plan, params)?;
                    }
                    _ => {
                        self.read_no_data(sql, plan, params);
                    }
                }
            }
            Incoming::CommandComplete(tag) => {
                progress.rows_affected += tag.rows();
                progress.done += 1;
                progress.bound = false;
            }
            Incoming::EmptyQuery | Incoming::PortalSuspended => {
                progress.done += 1;
                progress.bound = false;
            }
            Incoming::Error(err) => {
                let mut err = err.with_statement(sql);
                if !progress.bound {
                    // A Bind of a cached statement the server lacks: a pooler in
                    // transaction mode (see `connection/extended.rs`). A batch is never
                    // retried; the error says what happened.
                    if let Some(plan) = plans.iter().find(|p| !p.parse && p.is_named()) {
                        err = self.statement_failed(err, sql, plan, true);
                    }
                }
                progress.error = Some((progress.done + 1, err));
                if self.is_closed() {
                    // A FATAL error: the server hangs up instead of answering the Sync.
                    progress.ready = true;
                }
            }
            other => return Err(other.unexpected("the result of a row of execute_many")),
        }
        Ok(())
    }
}
