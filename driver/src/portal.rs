//! Cursors: a portal opened inside a transaction and fetched from in batches. The guide
//! is the public `cursor` module.

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use futures_core::Stream;

use crate::connection::{Connection, Incoming};
use crate::failure::{Error, ErrorKind, Result};
use crate::protocol::TransactionStatus;
use crate::protocol::frontend;
use crate::querying::{Query, quote_identifier};
use crate::row::{Columns, Row};
use crate::tx::Transaction;
use crate::types::TypeInfo;

/// Rows fetched per round trip by [`Cursor::next`] and the stream, unless changed.
const DEFAULT_PREFETCH: u32 = 100;

/// The most rows one Execute can ask for (its limit is an `int4`).
const MAX_FETCH: u32 = 0x7fff_ffff;

/// A server-side cursor over a query's rows. Made by [`Transaction::cursor`].
pub struct Cursor<'t> {
    conn: &'t mut Connection,
    portal: String,
    sql: Arc<str>,
    columns: Arc<Columns>,
    buffer: VecDeque<Row>,
    prefetch: u32,
    /// The server reported the end of the rows.
    exhausted: bool,
    /// Bounds each round trip: the query's own timeout, else `command_timeout`.
    timeout: Option<Duration>,
}

impl fmt::Debug for Cursor<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cursor")
            .field("portal", &self.portal)
            .field("sql", &self.sql)
            .field("buffered", &self.buffer.len())
            .field("exhausted", &self.exhausted)
            .finish()
    }
}

impl Transaction<'_> {
    /// Opens a cursor over `query`'s rows (asyncpg's `connection.cursor()`): the query is
    /// planned and bound now, and rows are read as asked for.
    ///
    /// Opening and each later round trip (a fetch from the server, `forward`) are bounded
    /// by `query`'s [`timeout`](Query::timeout), else the connection's `command_timeout`.
    pub async fn cursor(&mut self, query: Query) -> Result<Cursor<'_>> {
        let conn: &mut Connection = self;
        query.check_args()?;
        conn.ready().await?;
        if conn.transaction_status() != TransactionStatus::InTransaction {
            return Err(Error::new(
                ErrorKind::Unsupported,
                "a cursor needs an open transaction that has not failed",
            ));
        }
        let portal = String::from(conn.new_portal_name());
        let timeout = query.timeout_setting().or(conn.command_timeout());
        let r =
            crate::connection::within_timeout!(conn, timeout, conn.open_portal(&query, &portal));
        let columns = conn.note(r)?;
        let cursor = Cursor {
            conn,
            portal,
            sql: Arc::from(query.sql()),
            columns,
            buffer: VecDeque::new(),
            prefetch: DEFAULT_PREFETCH,
            exhausted: false,
            timeout,
        };
        if cursor.columns.is_empty() {
            // Dropping it queues the Close; the statement itself never ran.
            return Err(Error::new(
                ErrorKind::Unsupported,
                "the query returns no rows; a cursor needs one that does (a SELECT, or \
                 a statement with RETURNING)",
            ));
        }
        Ok(cursor)
    }
}

impl Connection {
    /// Parses (or reuses) the statement of `q` and binds it to portal `portal`, through the
    /// one extended-query path (`connection/extended.rs`): a `Statement` prepared on another
    /// connection runs by its SQL here, and the request is written whole or not at all.
    async fn open_portal(&mut self, q: &Query, portal: &str) -> Result<Arc<Columns>> {
        let sql = q.sql();
        let args = q.arguments();
        let resolved = self.resolve_param_types(args).await?;
        let oids = args.oids(&resolved);
        let values = self.bind_values(args.encoded())?;
        let plan = self.plan_statement(sql, oids, q.prepared(), q.is_persistent());
        self.write_request([&plan], |buf| {
            plan.encode_parse(buf, sql)?;
            plan.encode_bind(buf, portal, &values)?;
            frontend::sync(buf);
            Ok(1)
        })?;
        self.flush().await?;

        let mut params: Vec<TypeInfo> = Vec::new();
        let mut columns = plan.columns();
        let mut bound = false;
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
                Incoming::BindComplete => bound = true,
                Incoming::Error(err) => {
                    let err = err.with_statement(sql);
                    self.finish_after_error().await?;
                    // Inside a transaction: never retried, but a pooler is still spotted.
                    return Err(self.statement_failed(err, sql, &plan, !bound));
                }
                Incoming::Ready(_) => {
                    return match (bound, columns) {
                        (true, Some(columns)) => Ok(columns),
                        _ => Err(Error::protocol(
                            "the server did not confirm the cursor's portal and columns",
                        )),
                    };
                }
                other => return Err(other.unexpected("the response to Bind")),
            }
        }
    }
}

impl<'t> Cursor<'t> {
    /// The columns of the rows.
    pub fn columns(&self) -> &Columns {
        &self.columns
    }

    /// The portal's name; it can be used as a cursor name in SQL (`FETCH`, `MOVE`).
    pub fn name(&self) -> &str {
        &self.portal
    }

    /// The connection, to run other queries between fetches (the portal stays open).
    pub fn connection(&mut self) -> &mut Connection {
        self.conn
    }

    /// How many rows [`next`](Cursor::next) and the stream fetch per round trip
    /// (default 100).
    pub fn prefetch(&mut self, rows: u32) -> &mut Self {
        self.prefetch = rows.clamp(1, MAX_FETCH);
        self
    }

    /// Fetches up to `n` rows (fewer at the end; empty when there are no more).
    pub async fn fetch(&mut self, n: u32) -> Result<Vec<Row>> {
        let want = usize::try_from(n).unwrap_or(usize::MAX);
        let mut out: Vec<Row> = Vec::with_capacity(want.min(self.buffer.len() + 1024));
        while out.len() < want {
            match self.buffer.pop_front() {
                Some(row) => out.push(row),
                None => break,
            }
        }
        let missing = want - out.len();
        if missing > 0 && !self.exhausted {
            let missing = u32::try_from(missing).unwrap_or(MAX_FETCH).min(MAX_FETCH);
            self.execute(missing, &mut |row| out.push(row)).await?;
        }
        Ok(out)
    }

    /// The next row, or `None` at the end. Fetches `prefetch` rows at a time.
    pub async fn next(&mut self) -> Result<Option<Row>> {
        if self.buffer.is_empty() && !self.exhausted {
            let mut rows = VecDeque::with_capacity(usize::try_from(self.prefetch).unwrap_or(0));
            self.execute(self.prefetch, &mut |row| rows.push_back(row))
                .await?;
            self.buffer = rows;
        }
        Ok(self.buffer.pop_front())
    }

    /// Skips up to `n` rows without sending them (`MOVE FORWARD n` on the server);
    /// returns how many were skipped.
    pub async fn forward(&mut self, n: u32) -> Result<u64> {
        let want = usize::try_from(n).unwrap_or(usize::MAX);
        let from_buffer = want.min(self.buffer.len());
        self.buffer.drain(..from_buffer);
        let mut moved = from_buffer as u64;
        let rest = n - u32::try_from(from_buffer).unwrap_or(n);
        if rest > 0 && !self.exhausted {
            let sql = format!("MOVE FORWARD {rest} IN {}", quote_identifier(&self.portal));
            self.conn.ready().await?;
            self.conn.queue_simple_query(&sql)?;
            let conn = &mut *self.conn;
            let r =
                crate::connection::within_timeout!(conn, self.timeout, conn.control_response(&sql));
            // The tag (`MOVE n`) says how many rows were moved over; fewer than asked
            // means the end.
            let skipped = self.conn.note(r)?.map_or(0, |tag| tag.rows());
            if skipped < u64::from(rest) {
                self.exhausted = true;
            }
            moved += skipped;
        }
        Ok(moved)
    }

    /// The rows as a `Stream`, fetched `prefetch` at a time.
    pub fn into_stream(self) -> impl Stream<Item = Result<Row>> + Send + 't {
        futures_util::stream::try_unfold(self, |mut cursor| async move {
            Ok(cursor.next().await?.map(|row| (row, cursor)))
        })
    }

    /// One `Execute(portal, n)` + Sync, passing each row to `on_row`, bounded by the
    /// cursor's timeout. A timeout cancels the fetch on the server, which fails the
    /// transaction: the next use of the cursor reports that.
    async fn execute(&mut self, n: u32, on_row: &mut (dyn FnMut(Row) + Send)) -> Result<()> {
        let span = self.conn.cursor_span(&self.sql, u64::from(n));
        let mut rows = 0u64;
        let mut counted = |row: Row| {
            rows += 1;
            on_row(row);
        };
        let work = async {
            self.conn.ready().await?;
            let r = match self.timeout {
                None => self.execute_inner(n, &mut counted).await,
                Some(d) => match tokio::time::timeout(d, self.execute_inner(n, &mut counted)).await
                {
                    Ok(r) => r,
                    Err(_) => Err(self.conn.after_timeout(d).await),
                },
            };
            self.conn.note(r)
        };
        let r = tracing::Instrument::instrument(work, span.clone()).await;
        span.record("rows", rows);
        if let Err(e) = &r {
            crate::connection::record_error(&span, e);
        }
        r
    }

    async fn execute_inner(&mut self, n: u32, on_row: &mut (dyn FnMut(Row) + Send)) -> Result<()> {
        let conn = &mut *self.conn;
        conn.send_execute_portal(&self.portal, n).await?;
        loop {
            match conn.recv().await? {
                Incoming::DataRow(body) => on_row(Row::new(self.columns.clone(), body)?),
                Incoming::PortalSuspended | Incoming::CloseComplete => {}
                Incoming::CommandComplete(_) | Incoming::EmptyQuery => self.exhausted = true,
                Incoming::Error(err) => {
                    let err = err.with_statement(&self.sql);
                    conn.finish_after_error().await?;
                    self.exhausted = true;
                    return Err(err);
                }
                Incoming::Ready(_) => return Ok(()),
                other => return Err(other.unexpected("a cursor's rows")),
            }
        }
    }
}

impl Drop for Cursor<'_> {
    fn drop(&mut self) {
        if self.conn.is_closed() {
            return;
        }
        // Close the portal before the connection's next use (the transaction's end
        // would close it too; this frees it sooner).
        self.conn.queue_close_portal(&self.portal);
    }
}
