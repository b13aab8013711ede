//! Seeing queries: a `tracing` span per query, a slow-query warning, and a logger hook;
//! and the fields every span of the driver shares (OpenTelemetry's database conventions,
//! see the observability guide).
//!
//! None of them ever sees bound values: only the SQL text, how long it took, how many
//! rows it returned or affected, and whether it failed (its kind and SQLSTATE, not the
//! server's message, which can quote a value).

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

    /// Starts watching a query: a DEBUG span `query` (target `quarry_driver::query`) with
    /// OpenTelemetry's database fields, and a clock when the span is enabled, a logger is
    /// set or a slow-query threshold is. The fields are computed only when the span is
    /// enabled (the macro evaluates them behind its `enabled` check).
    pub(crate) fn watch(&self, sql: &str) -> Watch {
        // The span's construction (16 fields) stays out of line: with DEBUG off (no
        // subscriber, or a higher level) a query pays one load and compare for it.
        let span = if tracing::level_enabled!(tracing::Level::DEBUG) {
            self.query_span(sql)
        } else {
            tracing::Span::none()
        };
        let timed = !span.is_disabled()
            || self.query_logger.is_some()
            || self.settings.slow_query_threshold.is_some();
        Watch {
            span,
            started: timed.then(Instant::now),
        }
    }

    #[inline(never)]
    fn query_span(&self, sql: &str) -> tracing::Span {
        tracing::debug_span!(
            target: "quarry_driver::query",
            "query",
            otel.name = operation_name(sql).unwrap_or("postgresql"),
            otel.kind = "client",
            db.system.name = "postgresql",
            db.namespace = &*self.settings.database,
            db.query.text = sql,
            db.operation.name = operation_name(sql),
            server.address = &*self.settings.server_address,
            server.port = self.settings.server_port,
            db.response.status_code = tracing::field::Empty,
            error.type = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            otel.status_description = tracing::field::Empty,
            rows = tracing::field::Empty,
            elapsed_us = tracing::field::Empty,
        )
    }

    /// The span of a transaction or savepoint (`depth` > 0; target
    /// `quarry_driver::transaction`), from BEGIN to its end, which records `outcome`.
    pub(crate) fn transaction_span(&self, depth: u32) -> tracing::Span {
        tracing::debug_span!(
            target: "quarry_driver::transaction",
            "transaction",
            otel.kind = "client",
            db.system.name = "postgresql",
            db.namespace = &*self.settings.database,
            server.address = &*self.settings.server_address,
            server.port = self.settings.server_port,
            depth,
            outcome = tracing::field::Empty,
            db.response.status_code = tracing::field::Empty,
            error.type = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            otel.status_description = tracing::field::Empty,
        )
    }

    /// The span of a statement's preparation (Parse and Describe; target
    /// `quarry_driver::prepare`).
    pub(crate) fn prepare_span(&self, sql: &str) -> tracing::Span {
        tracing::debug_span!(
            target: "quarry_driver::prepare",
            "prepare",
            otel.kind = "client",
            db.system.name = "postgresql",
            db.namespace = &*self.settings.database,
            db.query.text = sql,
            db.operation.name = operation_name(sql),
            server.address = &*self.settings.server_address,
            server.port = self.settings.server_port,
            db.response.status_code = tracing::field::Empty,
            error.type = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            otel.status_description = tracing::field::Empty,
        )
    }

    /// The span of a COPY (target `quarry_driver::copy`), from the COPY statement to its
    /// end; `direction` is `in` (to the server) or `out`; `rows` is recorded at the end.
    pub(crate) fn copy_span(&self, sql: &str, direction: &'static str) -> tracing::Span {
        tracing::debug_span!(
            target: "quarry_driver::copy",
            "copy",
            otel.kind = "client",
            db.system.name = "postgresql",
            db.namespace = &*self.settings.database,
            db.query.text = sql,
            db.operation.name = "COPY",
            server.address = &*self.settings.server_address,
            server.port = self.settings.server_port,
            direction,
            rows = tracing::field::Empty,
            db.response.status_code = tracing::field::Empty,
            error.type = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            otel.status_description = tracing::field::Empty,
        )
    }

    /// The span of one fetch from a cursor or portal (target `quarry_driver::cursor`):
    /// `rows` asked for, `rows` returned recorded at the end.
    pub(crate) fn cursor_span(&self, sql: &str, max_rows: u64) -> tracing::Span {
        tracing::debug_span!(
            target: "quarry_driver::cursor",
            "fetch",
            otel.kind = "client",
            db.system.name = "postgresql",
            db.namespace = &*self.settings.database,
            db.query.text = sql,
            db.operation.name = "FETCH",
            server.address = &*self.settings.server_address,
            server.port = self.settings.server_port,
            max_rows,
            rows = tracing::field::Empty,
            db.response.status_code = tracing::field::Empty,
            error.type = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            otel.status_description = tracing::field::Empty,
        )
    }

    /// Ends watching a query.
    pub(crate) fn watched(&self, watch: Watch, sql: &str, rows: u64, error: Option<&Error>) {
        let Some(started) = watch.started else {
            return;
        };
        let elapsed = started.elapsed();
        watch.span.record("rows", rows);
        if let Some(e) = error {
            record_error(&watch.span, e);
        }
        watch.span.record(
            "elapsed_us",
            u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
        );
        if let Some(threshold) = self.settings.slow_query_threshold
            && elapsed >= threshold
        {
            tracing::warn!(
                target: "quarry_driver::slow_query",
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

/// The operation a statement starts with, upper-cased (`SELECT`, `INSERT`, `WITH`...),
/// after blanks, comments and opening parentheses; `None` when it starts with none.
/// For OpenTelemetry's `db.operation.name` (and the span's `otel.name`).
pub(crate) fn operation_name(sql: &str) -> Option<&'static str> {
    const KNOWN: &[&str] = &[
        "SELECT",
        "INSERT",
        "UPDATE",
        "DELETE",
        "MERGE",
        "WITH",
        "VALUES",
        "TABLE",
        "COPY",
        "BEGIN",
        "START",
        "COMMIT",
        "END",
        "ROLLBACK",
        "SAVEPOINT",
        "RELEASE",
        "PREPARE",
        "EXECUTE",
        "DEALLOCATE",
        "CREATE",
        "ALTER",
        "DROP",
        "TRUNCATE",
        "GRANT",
        "REVOKE",
        "SET",
        "RESET",
        "SHOW",
        "DO",
        "CALL",
        "LISTEN",
        "UNLISTEN",
        "NOTIFY",
        "LOCK",
        "VACUUM",
        "ANALYZE",
        "EXPLAIN",
        "REFRESH",
        "REINDEX",
        "CLUSTER",
        "COMMENT",
        "DECLARE",
        "FETCH",
        "MOVE",
        "CLOSE",
        "DISCARD",
        "CHECKPOINT",
        "LOAD",
        "IMPORT",
        "SECURITY",
        "REASSIGN",
        "ABORT",
    ];
    let mut rest = sql.as_bytes();
    loop {
        match rest {
            [b, tail @ ..] if b.is_ascii_whitespace() || *b == b'(' => rest = tail,
            [b'-', b'-', tail @ ..] => {
                let end = tail
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(tail.len(), |i| i + 1);
                rest = &tail[end..];
            }
            [b'/', b'*', tail @ ..] => {
                // Block comments nest in PostgreSQL.
                let mut depth = 1usize;
                let mut i = 0;
                while i < tail.len() && depth > 0 {
                    match &tail[i..] {
                        [b'/', b'*', ..] => {
                            depth += 1;
                            i += 2;
                        }
                        [b'*', b'/', ..] => {
                            depth -= 1;
                            i += 2;
                        }
                        _ => i += 1,
                    }
                }
                rest = &tail[i..];
            }
            _ => break,
        }
    }
    let len = rest
        .iter()
        .position(|b| !b.is_ascii_alphabetic())
        .unwrap_or(rest.len());
    let word = &rest[..len];
    // A known keyword only: the name is a low-cardinality label, never a piece of the
    // statement (an identifier, a value) that a user did not mean to publish.
    KNOWN
        .iter()
        .find(|k| k.as_bytes().eq_ignore_ascii_case(word))
        .copied()
}

/// Records a failure on a span: OpenTelemetry's `error.type` (the SQLSTATE for a server
/// error, else the kind of failure), `db.response.status_code` (the SQLSTATE) and the
/// span's status (`otel.status_code = "ERROR"`, as tracing-opentelemetry reads it). The
/// description names the kind and the SQLSTATE only: the error's text can quote a value
/// (`invalid input syntax for type integer: "..."`), and spans never carry values.
pub(crate) fn record_error(span: &tracing::Span, e: &Error) {
    if span.is_disabled() {
        return;
    }
    span.record("otel.status_code", "ERROR");
    match e.code() {
        Some(code) => {
            span.record("db.response.status_code", code.code());
            span.record("error.type", code.code());
            span.record(
                "otel.status_description",
                tracing::field::display(format_args!(
                    "{} (SQLSTATE {})",
                    e.kind().describe(),
                    code.code()
                )),
            );
        }
        None => {
            span.record("error.type", error_type(e.kind()));
            span.record("otel.status_description", e.kind().describe());
        }
    }
}

/// A kind of failure as a stable, low-cardinality name for `error.type`.
pub(crate) fn error_type(kind: crate::ErrorKind) -> &'static str {
    use crate::ErrorKind as K;
    match kind {
        K::Config => "config",
        K::Io => "io",
        K::Tls => "tls",
        K::Authentication => "authentication",
        K::Protocol => "protocol",
        K::Database => "database",
        K::Decode => "decode",
        K::Encode => "encode",
        K::Timeout => "timeout",
        K::PoolTimedOut => "pool_timed_out",
        K::Closed => "closed",
        K::RowNotFound => "row_not_found",
        K::Unsupported => "unsupported",
        K::OutcomeUnknown => "outcome_unknown",
        K::ServerRole => "server_role",
    }
}

#[cfg(test)]
mod tests {
    use super::operation_name;

    #[test]
    fn operation_names() {
        assert_eq!(operation_name("SELECT 1"), Some("SELECT"));
        assert_eq!(operation_name("  select\n1"), Some("SELECT"));
        assert_eq!(
            operation_name("-- hi\n/* a /* nested */ b */ (insert into t"),
            Some("INSERT")
        );
        assert_eq!(
            operation_name("with x as (select 1) select * from x"),
            Some("WITH")
        );
        assert_eq!(operation_name("secret_value"), None);
        assert_eq!(operation_name(""), None);
        assert_eq!(operation_name("/* unterminated"), None);
        assert_eq!(operation_name("<pipeline of 3 queries>"), None);
    }
}
