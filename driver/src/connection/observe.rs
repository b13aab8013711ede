//! Seeing queries: a `tracing` span per query, a slow-query warning, and a logger hook.
//!
//! None of them ever sees bound values: only the SQL text, how long it took, how many
//! rows it returned or affected, and whether it failed.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::Connection;
use crate::failure::Error;

/// A finished query, as a query logger sees it (asyncpg's `query_logger`).
#[derive(Debug)]
pub struct QueryLog<'a> {
    sql: &'a str,
    elapsed: Duration,
    rows: u64,
    error: Option<&'a Error>,
}

impl QueryLog<'_> {
    /// The SQL text (never the bound values).
    pub fn sql(&self) -> &str {
        self.sql
    }

    /// How long the query took, from sending it to its last message.
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }

    /// Rows returned (for a query that returns rows) or affected (for the others).
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// The error, if it failed.
    pub fn error(&self) -> Option<&Error> {
        self.error
    }
}

/// A callback that sees every finished query on a connection.
pub type QueryLogger = Arc<dyn Fn(&QueryLog<'_>) + Send + Sync>;

/// A query being watched: its span, and when it started (only when someone looks).
pub(crate) struct Watch {
    span: tracing::Span,
    started: Option<Instant>,
}

impl Watch {
    pub(crate) fn span(&self) -> &tracing::Span {
        &self.span
    }
}

impl fmt::Debug for Watch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Watch").finish_non_exhaustive()
    }
}

impl Connection {
    /// Calls `logger` after every query on this connection with its SQL, duration, row
    /// count and error (never its bound values). One logger at a time: setting one
    /// replaces the last. On a pooled connection the logger is removed when the
    /// connection goes back to the pool, like the notice and notification callbacks, and
    /// the one the pool's `after_connect` hook set (if any) is back: the next user does
    /// not inherit it.
    pub fn set_query_logger(&mut self, logger: impl Fn(&QueryLog<'_>) + Send + Sync + 'static) {
        self.query_logger = Some(Arc::new(logger));
    }

    /// Removes the query logger.
    pub fn clear_query_logger(&mut self) {
        self.query_logger = None;
    }

    /// Starts watching a query: a `quarry::query` span at DEBUG level, and a clock when
    /// the span is enabled, a logger is set or a slow-query threshold is.
    pub(crate) fn watch(&self, sql: &str) -> Watch {
        let span = tracing::debug_span!(
            target: "quarry::query",
            "query",
            sql,
            rows = tracing::field::Empty,
            elapsed_us = tracing::field::Empty,
        );
        let timed = !span.is_disabled()
            || self.query_logger.is_some()
            || self.settings.slow_query_threshold.is_some();
        Watch {
            span,
            started: timed.then(Instant::now),
        }
    }

    /// Ends watching a query.
    pub(crate) fn watched(&self, watch: Watch, sql: &str, rows: u64, error: Option<&Error>) {
        let Some(started) = watch.started else {
            return;
        };
        let elapsed = started.elapsed();
        watch.span.record("rows", rows);
        watch.span.record(
            "elapsed_us",
            u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
        );
        if let Some(threshold) = self.settings.slow_query_threshold
            && elapsed >= threshold
        {
            tracing::warn!(
                target: "quarry::slow_query",
                sql,
                elapsed_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
                rows,
                failed = error.is_some(),
                "slow query"
            );
        }
        if let Some(logger) = &self.query_logger {
            logger(&QueryLog {
                sql,
                elapsed,
                rows,
                error,
            });
        }
    }
}
