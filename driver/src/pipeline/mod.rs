//! Pipelines: many queries in one write, results read back in order.
//!
//! ```no_run
//! # async fn f(conn: &mut quarry_driver::Connection) -> quarry_driver::Result<()> {
//! use quarry_driver::query;
//! let mut p = conn.pipeline();
//! p.push(query("INSERT INTO t (a) VALUES ($1)").bind(1i64));
//! p.push(query("INSERT INTO t (a) VALUES ($1)").bind(2i64));
//! p.push(query("SELECT count(*) FROM t"));
//! let results = p.run().await?; // one round trip
//! # Ok(()) }
//! ```
//!
//! By default a pipeline ends with one Sync, so it runs as one implicit
//! transaction: if a query fails, the ones before it are rolled back and the
//! ones after it are skipped, and [`Pipeline::run`] reports which query failed.
//! [`Pipeline::independent`] puts a Sync after every query instead: each one
//! commits on its own and a failure affects only that query.

use crate::connection::{Connection, Incoming, Plan};
use crate::failure::{Error, Result};
use crate::protocol::frontend;
use crate::querying::{Arguments, Query};
use crate::row::{Columns, Row};
use crate::types::{Encode, TypeInfo};

mod many;

/// The outcome of one query in a pipeline.
#[derive(Debug, Default)]
pub struct QueryResult {
    /// The rows it returned.
    pub rows: Vec<Row>,
    /// The rows it affected (from the command tag).
    pub rows_affected: u64,
}

/// Queries queued to run in one round trip. Made by [`Connection::pipeline`].
#[must_use = "a pipeline does nothing until it is run"]
pub struct Pipeline<'c> {
    conn: &'c mut Connection,
    queries: Vec<Query>,
    independent: bool,
}

impl std::fmt::Debug for Pipeline<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("queries", &self.queries.len())
            .field("independent", &self.independent)
            .finish()
    }
}

impl Connection {
    /// Starts a pipeline on this connection.
    pub fn pipeline(&mut self) -> Pipeline<'_> {
        Pipeline {
            conn: self,
            queries: Vec::new(),
            independent: false,
        }
    }
}

/// Values that become a query's parameters: [`Arguments`] or a tuple of encodable values.
pub trait IntoArguments {
    /// The values, encoded.
    fn into_arguments(self) -> Arguments;
}

impl IntoArguments for Arguments {
    fn into_arguments(self) -> Arguments {
        self
    }
}

macro_rules! tuple_into_arguments {
    ($($T:ident $i:tt),+) => {
        impl<$($T: Encode),+> IntoArguments for ($($T,)+) {
            fn into_arguments(self) -> Arguments {
                let mut a = Arguments::new();
                // One allocation for the values and one for their types, not one per value.
                a.reserve([$(stringify!($T)),+].len(), 0 $(+ 4 + self.$i.size_hint())+);
                $(a.add(self.$i);)+
                a
            }
        }
    };
}

tuple_into_arguments!(A 0);
tuple_into_arguments!(A 0, B 1);
tuple_into_arguments!(A 0, B 1, C 2);
tuple_into_arguments!(A 0, B 1, C 2, D 3);
tuple_into_arguments!(A 0, B 1, C 2, D 3, E 4);
tuple_into_arguments!(A 0, B 1, C 2, D 3, E 4, F 5);
tuple_into_arguments!(A 0, B 1, C 2, D 3, E 4, F 5, G 6);
tuple_into_arguments!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
tuple_into_arguments!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8);
tuple_into_arguments!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9);
tuple_into_arguments!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10);
tuple_into_arguments!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11);

impl<'c> Pipeline<'c> {
    /// Adds a query; results come back in the order queries were added.
    pub fn push(&mut self, query: Query) -> &mut Self {
        self.queries.push(query);
        self
    }

    /// Puts a Sync after every query, so each commits (or fails) on its own.
    pub fn independent(mut self, independent: bool) -> Self {
        self.independent = independent;
        self
    }

    /// The number of queries queued.
    pub fn len(&self) -> usize {
        self.queries.len()
    }

    /// Whether no query is queued.
    pub fn is_empty(&self) -> bool {
        self.queries.is_empty()
    }

    /// Runs every query; fails with the first query's error (saying which one it was).
    pub async fn run(self) -> Result<Vec<QueryResult>> {
        let total = self.queries.len();
        let results = self.run_each().await?;
        let mut out = Vec::with_capacity(results.len());
        for (i, r) in results.into_iter().enumerate() {
            match r {
                Ok(r) => out.push(r),
                Err(e) => {
                    return Err(e.context(format!("query {} of {total} in the pipeline", i + 1)));
                }
            }
        }
        Ok(out)
    }

    /// Runs every query and returns each one's outcome. The outer error is for failures
    /// of the connection itself.
    pub async fn run_each(self) -> Result<Vec<Result<QueryResult>>> {
        let Pipeline {
            conn,
            queries,
            independent,
        } = self;
        if queries.is_empty() {
            return Ok(Vec::new());
        }
        for q in &queries {
            q.check_args()?;
        }
        conn.ready().await?;
        // Watched as one operation: the SQL when every query runs the same statement,
        // else a summary; rows are the sum over the queries.
        let first = queries[0].sql();
        let sql = if queries.iter().all(|q| q.sql() == first) {
            std::borrow::Cow::Borrowed(first)
        } else {
            std::borrow::Cow::Owned(format!("<pipeline of {} queries>", queries.len()))
        };
        let watch = conn.watch(&sql);
        let span = watch.span().clone();
        // The longest timeout any query asked for, else the connection's.
        let timeout = queries
            .iter()
            .filter_map(Query::timeout_setting)
            .max()
            .or(conn.command_timeout());
        let work = tracing::Instrument::instrument(conn.run_pipeline(&queries, independent), span);
        let r = crate::connection::within_timeout!(conn, timeout, work);
        let r = conn.note(r);
        let rows = r.as_ref().map_or(0, |results| {
            results
                .iter()
                .filter_map(|r| r.as_ref().ok())
                .map(|r| r.rows_affected)
                .sum()
        });
        let error = match &r {
            Err(e) => Some(e),
            Ok(results) => results.iter().find_map(|r| r.as_ref().err()),
        };
        conn.watched(watch, &sql, rows, error);
        r
    }
}

impl Connection {
    async fn run_pipeline(
        &mut self,
        queries: &[Query],
        independent: bool,
    ) -> Result<Vec<Result<QueryResult>>> {
        // Plan: which queries parse their statement, which reuse one.
        let mut plans: Vec<Plan> = Vec::with_capacity(queries.len());
        let mut values: Vec<std::borrow::Cow<'_, [u8]>> = Vec::with_capacity(queries.len());
        for q in queries {
            let resolved = self.resolve_param_types(q.arguments()).await?;
            let oids = q.arguments().oids(&resolved);
            values.push(self.bind_values(q.arguments().encoded())?);
            let sql = q.sql();
            // A statement an earlier query of this pipeline binds (parsed by it, or found in
            // the cache) is bound again: not parsed twice, not looked up again.
            let earlier = plans
                .iter()
                .zip(queries)
                .find(|(p, eq)| p.is_named() && eq.sql() == sql && p.oids == oids)
                .map(|(p, _)| (p.name.clone(), p.known.clone()));
            let plan = match earlier {
                Some((name, known)) if q.prepared().is_none_or(|s| !self.owns(s)) => {
                    match &known {
                        Some(s) => self.note_statement(s),
                        None => self.note_sql(sql),
                    }
                    Plan {
                        name,
                        parse: false,
                        known,
                        oids,
                    }
                }
                _ => self.plan_statement(sql, oids, q.prepared(), q.is_persistent()),
            };
            plans.push(plan);
        }

        // Encode everything, or nothing: a query that cannot be encoded must not leave
        // the ones before it in the buffer for the next request to send.
        self.write_request(&plans, |buf| {
            let mut syncs = 0u32;
            for ((q, plan), vals) in queries.iter().zip(&plans).zip(&values) {
                plan.encode_run(buf, q.sql(), vals)?;
                if independent {
                    frontend::sync(buf);
                    syncs += 1;
                }
            }
            if !independent {
                frontend::sync(buf);
                syncs += 1;
            }
            Ok(syncs)
        })?;
        self.flush_while_reading().await?;

        // Read the results in order.
        let mut results: Vec<Result<QueryResult>> = Vec::with_capacity(queries.len());
        let mut columns_by_name: std::collections::HashMap<Box<str>, std::sync::Arc<Columns>> =
            std::collections::HashMap::new();
        let mut skipping: Option<usize> = None;
        for (i, (q, plan)) in queries.iter().zip(&plans).enumerate() {
            if let Some(failed) = skipping {
                results.push(Err(Error::new(
                    crate::ErrorKind::Database,
                    format!(
                        "not run: query {} of the pipeline failed and the pipeline is one transaction",
                        failed + 1
                    ),
                )));
                continue;
            }
            let mut columns = plan
                .columns()
                .or_else(|| columns_by_name.get(&plan.name).cloned());
            let mut params: Vec<TypeInfo> = Vec::new();
            let mut result = QueryResult::default();
            let mut bound = false;
            let outcome: Result<()> = loop {
                match self.recv().await? {
                    Incoming::ParseComplete | Incoming::CloseComplete => {}
                    Incoming::BindComplete => bound = true,
                    Incoming::ParameterDescription(p) => params = p,
                    Incoming::RowDescription(desc) => {
                        let statement = self.read_description(
                            &desc,
                            q.sql(),
                            plan,
                            std::mem::take(&mut params),
                        )?;
                        let cols = statement.inner.columns.clone();
                        if plan.is_named() {
                            columns_by_name.insert(plan.name.clone(), cols.clone());
                        }
                        columns = Some(cols);
                    }
                    Incoming::NoData => {
                        let statement =
                            self.read_no_data(q.sql(), plan, std::mem::take(&mut params));
                        let cols = statement.inner.columns.clone();
                        if plan.is_named() {
                            columns_by_name.insert(plan.name.clone(), cols.clone());
                        }
                        columns = Some(cols);
                    }
                    Incoming::DataRow(body) => {
                        let cols = columns.clone().ok_or_else(|| {
                            Error::protocol("DataRow before the statement's description")
                        })?;
                        result.rows.push(Row::new(cols, body)?);
                    }
                    Incoming::CommandComplete(tag) => {
                        result.rows_affected = tag.rows();
                        break Ok(());
                    }
                    Incoming::EmptyQuery | Incoming::PortalSuspended => break Ok(()),
                    Incoming::Error(err) => break Err(err.with_statement(q.sql())),
                    other => return Err(other.unexpected("a pipelined query's result")),
                }
            };
            match outcome {
                Ok(()) => {
                    if independent {
                        self.expect_ready().await?;
                    }
                    results.push(Ok(result));
                }
                Err(e) => {
                    if independent {
                        self.finish_after_error().await?;
                    } else {
                        skipping = Some(i);
                    }
                    // A pipelined query is never run twice, but a pooler is still spotted.
                    let e = self.statement_failed(e, q.sql(), plan, !bound);
                    results.push(Err(e));
                }
            }
        }
        if !independent {
            if skipping.is_some() {
                self.finish_after_error().await?;
            } else {
                self.expect_ready().await?;
            }
        }
        Ok(results)
    }
}
