//! The error type: its kinds, the server's diagnostics and the SQLSTATE table. The guide,
//! and the public home of the secondary types, is the public `error` module.

use std::borrow::Cow;
use std::error::Error as StdError;
use std::fmt;

mod db;
mod sqlstate;

pub use db::{DbError, ErrorPosition, Severity};
pub use sqlstate::SqlState;

/// A `Result` whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A boxed error from a lower layer, kept as the `source()` of an [`Error`].
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// What kind of failure an [`Error`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Invalid connection options, a bad connection string, a missing file.
    Config,
    /// The socket failed: connect, read or write.
    Io,
    /// The TLS handshake or certificate check failed, or TLS was required and not offered.
    Tls,
    /// The server refused the credentials, or the exchange broke the rules we require.
    Authentication,
    /// The server sent something the protocol does not allow here. The connection is discarded.
    Protocol,
    /// The server reported an error ([`Error::as_db_error`] has the details).
    Database,
    /// A value from the server could not be read into the requested Rust type.
    Decode,
    /// A Rust value could not be sent as the requested PostgreSQL type.
    Encode,
    /// An operation did not finish within its deadline.
    Timeout,
    /// No pooled connection became available within the acquire timeout.
    PoolTimedOut,
    /// The connection or pool is closed.
    Closed,
    /// A query expected a row and got none.
    RowNotFound,
    /// The operation is not supported (for example GSSAPI authentication).
    Unsupported,
    /// A request went out and the connection failed before its answer came (or COMMIT
    /// was cancelled by a timeout): it may or may not have run, and may or may not have
    /// committed. Retrying blindly may apply it twice; check first. The failure itself
    /// is the [`source`](StdError::source). See [`Error::is_outcome_unknown`].
    OutcomeUnknown,
    /// The servers reached are up but not of the kind `target_session_attrs` asks for
    /// (read-write, a primary, a standby, ...). Unlike [`ErrorKind::Config`] this is
    /// usually passing: during a failover, retry.
    ServerRole,
}

impl ErrorKind {
    pub(crate) fn describe(self) -> &'static str {
        match self {
            ErrorKind::Config => "configuration error",
            ErrorKind::Io => "I/O error",
            ErrorKind::Tls => "TLS error",
            ErrorKind::Authentication => "authentication error",
            ErrorKind::Protocol => "protocol error",
            ErrorKind::Database => "database error",
            ErrorKind::Decode => "decode error",
            ErrorKind::Encode => "encode error",
            ErrorKind::Timeout => "timed out",
            ErrorKind::PoolTimedOut => "timed out waiting for a pooled connection",
            ErrorKind::Closed => "connection closed",
            ErrorKind::RowNotFound => "no rows returned by a query that expected a row",
            ErrorKind::Unsupported => "not supported",
            ErrorKind::OutcomeUnknown => "outcome unknown",
            ErrorKind::ServerRole => "no server of the wanted role",
        }
    }
}

/// An error from Quarry. Cheap to move (one pointer).
///
/// `Display` shows this error's own message; its cause, if any, is
/// [`source`](StdError::source) (see [`Error::display_chain`] for both in one text).
pub struct Error(Box<Inner>);

struct Inner {
    kind: ErrorKind,
    message: Cow<'static, str>,
    db: Option<DbError>,
    source: Option<BoxError>,
}

impl Error {
    /// An error of `kind` with a message for people.
    pub fn new(kind: ErrorKind, message: impl Into<Cow<'static, str>>) -> Self {
        Error(Box::new(Inner {
            kind,
            message: message.into(),
            db: None,
            source: None,
        }))
    }

    /// Attaches the lower-level cause. It is [`source`](StdError::source), and `Display`
    /// does not repeat it: the message should say what failed without it.
    #[must_use]
    pub fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.0.source = Some(source.into());
        self
    }

    /// Changes the kind (a database error during startup is an authentication error).
    #[must_use]
    pub(crate) fn with_kind(mut self, kind: ErrorKind) -> Self {
        self.0.kind = kind;
        self
    }

    /// Prefixes the message with context, for example `"column \"id\""`.
    #[must_use]
    pub fn context(mut self, context: impl fmt::Display) -> Self {
        self.0.message = if self.0.message.is_empty() {
            Cow::Owned(context.to_string())
        } else {
            Cow::Owned(format!("{context}: {}", self.0.message))
        };
        self
    }

    pub(crate) fn config(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Config, message)
    }

    pub(crate) fn protocol(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Protocol, message)
    }

    pub(crate) fn auth(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Authentication, message)
    }

    pub(crate) fn tls(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Tls, message)
    }

    pub(crate) fn io(message: impl Into<Cow<'static, str>>, source: std::io::Error) -> Self {
        Self::new(ErrorKind::Io, message).with_source(source)
    }

    pub(crate) fn decode(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Decode, message)
    }

    pub(crate) fn encode(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Encode, message)
    }

    pub(crate) fn closed(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Closed, message)
    }

    pub(crate) fn timeout(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Timeout, message)
    }

    pub(crate) fn unsupported(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Unsupported, message)
    }

    /// `cause` ended a request after it was sent and before its answer: an
    /// [`ErrorKind::OutcomeUnknown`] error whose source is `cause`.
    pub(crate) fn outcome_unknown(cause: Error) -> Self {
        Self::new(
            ErrorKind::OutcomeUnknown,
            "the request was sent and the connection failed before the server answered: it \
             may or may not have run (and committed); check before retrying",
        )
        .with_source(cause)
    }

    /// A database error carrying the server's report.
    pub(crate) fn db(db: DbError) -> Self {
        Error(Box::new(Inner {
            kind: ErrorKind::Database,
            message: Cow::Borrowed(""),
            db: Some(db),
            source: None,
        }))
    }

    /// Attaches the statement text to a database error that points at a position in it,
    /// so that its message can show the line and a caret.
    #[must_use]
    pub(crate) fn with_statement(mut self, sql: &str) -> Self {
        if let Some(db) = self.0.db.take() {
            self.0.db = Some(if db.position().is_some() {
                db.with_query(std::sync::Arc::from(sql))
            } else {
                db
            });
        }
        self
    }

    /// What kind of error this is.
    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }

    /// This error followed by each of its causes, `error: cause: cause of the cause`.
    ///
    /// `Display` shows this error alone and [`source`](StdError::source) gives its cause,
    /// as the standard library's convention asks. Use this where the whole story must fit
    /// in one piece of text: a log line, a panic message, an error shown to a person.
    ///
    /// ```
    /// # use quarry_driver as quarry;
    /// use quarry::{Error, ErrorKind};
    ///
    /// let cause = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
    /// let e = Error::new(ErrorKind::Config, "could not read the service file").with_source(cause);
    /// assert_eq!(e.to_string(), "configuration error: could not read the service file");
    /// assert_eq!(
    ///     e.display_chain().to_string(),
    ///     "configuration error: could not read the service file: no such file"
    /// );
    /// ```
    pub fn display_chain(&self) -> impl fmt::Display + '_ {
        Chain(self)
    }

    /// The message, without the kind prefix or the cause.
    pub fn message(&self) -> &str {
        match &self.0.db {
            Some(db) => db.message(),
            None => &self.0.message,
        }
    }

    /// The server's error report, when this is a database error.
    pub fn as_db_error(&self) -> Option<&DbError> {
        self.0.db.as_ref()
    }

    /// The SQLSTATE code, when this is a database error.
    pub fn code(&self) -> Option<&SqlState> {
        self.0.db.as_ref().map(DbError::code)
    }

    /// The name of the constraint the server reported, if any.
    pub fn constraint(&self) -> Option<&str> {
        self.0.db.as_ref().and_then(DbError::constraint)
    }

    /// `23505 unique_violation`.
    pub fn is_unique_violation(&self) -> bool {
        self.code() == Some(&SqlState::UniqueViolation)
    }

    /// `23503 foreign_key_violation`.
    pub fn is_foreign_key_violation(&self) -> bool {
        self.code() == Some(&SqlState::ForeignKeyViolation)
    }

    /// `23502 not_null_violation`.
    pub fn is_not_null_violation(&self) -> bool {
        self.code() == Some(&SqlState::NotNullViolation)
    }

    /// `23514 check_violation`.
    pub fn is_check_violation(&self) -> bool {
        self.code() == Some(&SqlState::CheckViolation)
    }

    /// `40001 serialization_failure`.
    pub fn is_serialization_failure(&self) -> bool {
        self.code() == Some(&SqlState::SerializationFailure)
    }

    /// `40P01 deadlock_detected`.
    pub fn is_deadlock(&self) -> bool {
        self.code() == Some(&SqlState::DeadlockDetected)
    }

    /// Whether retrying the whole transaction may succeed (serialization failure or deadlock).
    pub fn is_retryable_transaction_error(&self) -> bool {
        self.is_serialization_failure() || self.is_deadlock()
    }

    /// `57014 query_canceled` (by a cancel request or `statement_timeout`).
    pub fn is_query_canceled(&self) -> bool {
        self.code() == Some(&SqlState::QueryCanceled)
    }

    /// Whether a request may or may not have taken effect: it was sent, and the
    /// connection failed (or a COMMIT timed out and was cancelled) before the answer came
    /// ([`ErrorKind::OutcomeUnknown`]). An autocommit statement, a COPY, a pipeline or a
    /// COMMIT that fails this way may have committed; one that fails in any other way
    /// did not reach the point of no return (or the server said what happened). Check
    /// the database before retrying a statement that is not idempotent.
    pub fn is_outcome_unknown(&self) -> bool {
        self.0.kind == ErrorKind::OutcomeUnknown
    }

    /// Whether the connection this error came from can no longer be used.
    pub fn is_connection_fatal(&self) -> bool {
        match self.kind() {
            ErrorKind::Io | ErrorKind::Protocol | ErrorKind::Closed | ErrorKind::Tls => true,
            // As fatal as the failure behind it (a COMMIT cancelled after a timeout leaves
            // the connection usable; a connection that failed does not).
            ErrorKind::OutcomeUnknown => self
                .0
                .source
                .as_deref()
                .and_then(|s| s.downcast_ref::<Error>())
                .is_none_or(Error::is_connection_fatal),
            ErrorKind::Database => self
                .as_db_error()
                .is_some_and(|db| matches!(db.severity(), Severity::Fatal | Severity::Panic)),
            _ => false,
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.0.kind);
        if let Some(db) = &self.0.db {
            d.field("db", db);
        } else {
            d.field("message", &self.0.message);
        }
        if let Some(source) = &self.0.source {
            d.field("source", source);
        }
        d.finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(db) = &self.0.db {
            if !self.0.message.is_empty() {
                write!(f, "{}: ", self.0.message)?;
            }
            return fmt::Display::fmt(db, f);
        }
        f.write_str(self.0.kind.describe())?;
        if !self.0.message.is_empty() {
            write!(f, ": {}", self.0.message)?;
        }
        // The cause is not written here: it is `source()`, and reporters that walk the
        // chain (anyhow, eyre, tracing) would print it twice.
        Ok(())
    }
}

/// [`Error::display_chain`]: an error, then each of its causes.
struct Chain<'a>(&'a Error);

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.0, f)?;
        let mut cause = self.0.source();
        while let Some(e) = cause {
            write!(f, ": {e}")?;
            cause = e.source();
        }
        Ok(())
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match &self.0.source {
            Some(source) => Some(&**source),
            None => None,
        }
    }
}

impl From<DbError> for Error {
    fn from(db: DbError) -> Self {
        Error::db(db)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;

    fn reset() -> io::Error {
        io::Error::new(io::ErrorKind::ConnectionReset, "peer reset the connection")
    }

    /// Every level of the chain, outermost first, as `Display` shows each one.
    fn levels(e: &(dyn StdError + 'static)) -> Vec<String> {
        let mut out = vec![e.to_string()];
        let mut cause = e.source();
        while let Some(c) = cause {
            out.push(c.to_string());
            cause = c.source();
        }
        out
    }

    #[test]
    fn display_shows_this_error_and_not_its_source() {
        let e = Error::io("reading from the server failed", reset());
        assert_eq!(e.to_string(), "I/O error: reading from the server failed");
        assert!(!e.to_string().contains("peer reset"), "{e}");
        // Context goes in front of the message; the cause still stays out.
        let e = e.context("query 2 of 3 in the pipeline");
        assert_eq!(
            e.to_string(),
            "I/O error: query 2 of 3 in the pipeline: reading from the server failed"
        );
    }

    #[test]
    fn the_cause_is_the_source() {
        let e = Error::io("reading from the server failed", reset());
        let source = e.source().expect("the io::Error is the source");
        assert_eq!(source.to_string(), "peer reset the connection");
        let io = source.downcast_ref::<io::Error>().expect("an io::Error");
        assert_eq!(io.kind(), io::ErrorKind::ConnectionReset);
        assert!(Error::closed("pool closed").source().is_none());
    }

    #[test]
    fn walking_the_chain_shows_each_message_once() {
        let inner = Error::io("could not connect to 10.0.0.5:5432", reset());
        let outer = Error::new(ErrorKind::Closed, "the listener could not reconnect")
            .with_source(inner)
            .context("listener");
        let levels = levels(&outer);
        assert_eq!(
            levels,
            [
                "connection closed: listener: the listener could not reconnect",
                "I/O error: could not connect to 10.0.0.5:5432",
                "peer reset the connection",
            ]
        );
        let whole = levels.join(": ");
        for needle in [
            "the listener could not reconnect",
            "could not connect to 10.0.0.5:5432",
            "peer reset the connection",
        ] {
            assert_eq!(whole.matches(needle).count(), 1, "{needle} in {whole}");
        }
        assert_eq!(outer.display_chain().to_string(), whole);
    }

    #[test]
    fn display_chain_of_an_error_without_a_source_is_its_display() {
        let e = Error::config("unknown keyword \"hots\"");
        assert_eq!(e.display_chain().to_string(), e.to_string());
    }

    #[test]
    fn a_database_error_shows_the_report_after_its_context() {
        let db = DbError::from_fields([
            (b'S', "ERROR"),
            (b'V', "ERROR"),
            (b'C', "23505"),
            (
                b'M',
                "duplicate key value violates unique constraint \"t_pkey\"",
            ),
            (b'D', "Key (id)=(1) already exists."),
        ])
        .unwrap();
        let e = Error::from(db).context("row 3 of execute_many");
        assert_eq!(
            e.to_string(),
            "row 3 of execute_many: ERROR: duplicate key value violates unique constraint \
             \"t_pkey\" (SQLSTATE 23505)\nDETAIL: Key (id)=(1) already exists."
        );
        // The report is this error itself, not a cause: nothing is printed twice.
        assert!(e.source().is_none());
        assert_eq!(e.display_chain().to_string(), e.to_string());
        assert_eq!(
            e.message(),
            "duplicate key value violates unique constraint \"t_pkey\""
        );
    }
}
