//! `DbError`: every field of a server ErrorResponse or NoticeResponse.

use std::fmt;
use std::sync::Arc;

use super::SqlState;

/// How serious a server report is (the non-localised `V` field, or `S` on old servers).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Severity {
    /// `ERROR`: the statement failed; the session goes on.
    Error,
    /// `FATAL`: the session ends.
    Fatal,
    /// `PANIC`: every session ends.
    Panic,
    /// `WARNING` (in a notice).
    Warning,
    /// `NOTICE` (in a notice).
    Notice,
    /// `DEBUG` (in a notice).
    Debug,
    /// `INFO` (in a notice).
    Info,
    /// `LOG` (in a notice).
    Log,
}

impl Severity {
    fn parse(s: &str) -> Option<Severity> {
        Some(match s {
            "ERROR" => Severity::Error,
            "FATAL" => Severity::Fatal,
            "PANIC" => Severity::Panic,
            "WARNING" => Severity::Warning,
            "NOTICE" => Severity::Notice,
            "DEBUG" => Severity::Debug,
            "INFO" => Severity::Info,
            "LOG" => Severity::Log,
            _ => return None,
        })
    }

    /// The name the server uses, such as `ERROR`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "ERROR",
            Severity::Fatal => "FATAL",
            Severity::Panic => "PANIC",
            Severity::Warning => "WARNING",
            Severity::Notice => "NOTICE",
            Severity::Debug => "DEBUG",
            Severity::Info => "INFO",
            Severity::Log => "LOG",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where in a query the server found the problem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ErrorPosition {
    /// A 1-based character position in the query the client sent.
    Original(u32),
    /// A position in a query the server generated internally (for example in a function body).
    Internal {
        /// 1-based character position in `query`.
        position: u32,
        /// The internally generated query.
        query: String,
    },
}

/// An error (or notice) reported by the server, with every field it sent.
#[derive(Clone, PartialEq, Eq)]
pub struct DbError {
    severity: Severity,
    localized_severity: String,
    code: SqlState,
    message: String,
    detail: Option<String>,
    hint: Option<String>,
    position: Option<ErrorPosition>,
    where_: Option<String>,
    schema: Option<String>,
    table: Option<String>,
    column: Option<String>,
    datatype: Option<String>,
    constraint: Option<String>,
    file: Option<String>,
    line: Option<u32>,
    routine: Option<String>,
    query: Option<Arc<str>>,
}

impl DbError {
    /// Builds a report from the `(field type, value)` pairs of an ErrorResponse or NoticeResponse.
    ///
    /// Returns a message naming what is missing when the server left out a required field
    /// (severity, code or message).
    pub fn from_fields<'a>(
        fields: impl IntoIterator<Item = (u8, &'a str)>,
    ) -> Result<DbError, String> {
        let mut localized_severity = None;
        let mut severity = None;
        let mut code = None;
        let mut message = None;
        let mut e = DbError {
            severity: Severity::Error,
            localized_severity: String::new(),
            code: SqlState::from_code("XX000"),
            message: String::new(),
            detail: None,
            hint: None,
            position: None,
            where_: None,
            schema: None,
            table: None,
            column: None,
            datatype: None,
            constraint: None,
            file: None,
            line: None,
            routine: None,
            query: None,
        };
        let mut position = None;
        let mut internal_position = None;
        let mut internal_query = None;
        for (ty, value) in fields {
            let owned = || Some(value.to_owned());
            match ty {
                b'S' => localized_severity = owned(),
                b'V' => severity = Severity::parse(value),
                b'C' => code = Some(SqlState::from_code(value)),
                b'M' => message = owned(),
                b'D' => e.detail = owned(),
                b'H' => e.hint = owned(),
                b'P' => position = value.parse::<u32>().ok(),
                b'p' => internal_position = value.parse::<u32>().ok(),
                b'q' => internal_query = owned(),
                b'W' => e.where_ = owned(),
                b's' => e.schema = owned(),
                b't' => e.table = owned(),
                b'c' => e.column = owned(),
                b'd' => e.datatype = owned(),
                b'n' => e.constraint = owned(),
                b'F' => e.file = owned(),
                b'L' => e.line = value.parse::<u32>().ok(),
                b'R' => e.routine = owned(),
                // The protocol says unknown field types are to be ignored.
                _ => {}
            }
        }
        let localized_severity =
            localized_severity.ok_or("error report without a severity (S) field")?;
        e.severity = severity
            .or_else(|| Severity::parse(&localized_severity))
            .unwrap_or(Severity::Error);
        e.localized_severity = localized_severity;
        e.code = code.ok_or("error report without a SQLSTATE (C) field")?;
        e.message = message.ok_or("error report without a message (M) field")?;
        e.position = match (position, internal_position, internal_query) {
            (Some(p), _, _) => Some(ErrorPosition::Original(p)),
            (None, Some(position), Some(query)) => {
                Some(ErrorPosition::Internal { position, query })
            }
            _ => None,
        };
        Ok(e)
    }

    /// Attaches the text of the query that failed, so `Display` can point at the position.
    #[must_use]
    pub fn with_query(mut self, query: Arc<str>) -> Self {
        self.query = Some(query);
        self
    }

    /// The severity (non-localised).
    pub fn severity(&self) -> Severity {
        self.severity
    }

    /// The severity as the server wrote it, possibly translated.
    pub fn localized_severity(&self) -> &str {
        &self.localized_severity
    }

    /// The SQLSTATE code.
    pub fn code(&self) -> &SqlState {
        &self.code
    }

    /// The primary message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The optional detail (it may contain row values).
    pub fn detail(&self) -> Option<&str> {
        self.detail.as_deref()
    }

    /// The optional hint.
    pub fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }

    /// Where in the query the error is.
    pub fn position(&self) -> Option<&ErrorPosition> {
        self.position.as_ref()
    }

    /// The call-stack context (`W`).
    pub fn where_(&self) -> Option<&str> {
        self.where_.as_deref()
    }

    /// The schema of the object involved.
    pub fn schema(&self) -> Option<&str> {
        self.schema.as_deref()
    }

    /// The table involved.
    pub fn table(&self) -> Option<&str> {
        self.table.as_deref()
    }

    /// The column involved.
    pub fn column(&self) -> Option<&str> {
        self.column.as_deref()
    }

    /// The data type involved.
    pub fn datatype(&self) -> Option<&str> {
        self.datatype.as_deref()
    }

    /// The constraint involved.
    pub fn constraint(&self) -> Option<&str> {
        self.constraint.as_deref()
    }

    /// The server source file that raised the error.
    pub fn file(&self) -> Option<&str> {
        self.file.as_deref()
    }

    /// The server source line that raised the error.
    pub fn line(&self) -> Option<u32> {
        self.line
    }

    /// The server routine that raised the error (stable across locales).
    pub fn routine(&self) -> Option<&str> {
        self.routine.as_deref()
    }

    /// The query text attached with [`DbError::with_query`].
    pub fn query(&self) -> Option<&str> {
        self.query.as_deref()
    }
}

impl fmt::Debug for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("DbError");
        d.field("severity", &self.severity)
            .field("code", &self.code)
            .field("message", &self.message);
        macro_rules! opt {
            ($($name:ident),*) => {$(
                if let Some(v) = &self.$name { d.field(stringify!($name), v); }
            )*};
        }
        opt!(
            detail, hint, position, where_, schema, table, column, datatype, constraint, file,
            line, routine
        );
        d.finish()
    }
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} (SQLSTATE {})",
            self.severity,
            self.message,
            self.code.code()
        )?;
        if let (Some(ErrorPosition::Original(pos)), Some(query)) = (&self.position, &self.query) {
            write_position(f, query, *pos)?;
        }
        if let Some(detail) = &self.detail {
            write!(f, "\nDETAIL: {detail}")?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "\nHINT: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for DbError {}

/// Writes the query line holding character `pos` (1-based) with a caret under it.
fn write_position(f: &mut fmt::Formatter<'_>, query: &str, pos: u32) -> fmt::Result {
    let Some(target) = usize::try_from(pos).ok().and_then(|p| p.checked_sub(1)) else {
        return Ok(());
    };
    let mut line_start_chars = 0usize;
    for (line_no, line) in (1usize..).zip(query.split_inclusive('\n')) {
        let len = line.chars().count();
        if target < line_start_chars + len {
            let line = line.trim_end_matches(['\n', '\r']);
            let col = target - line_start_chars;
            let prefix = format!("LINE {line_no}: ");
            write!(f, "\n{prefix}{line}\n{}^", " ".repeat(prefix.len() + col))?;
            return Ok(());
        }
        line_start_chars += len;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> DbError {
        DbError::from_fields([
            (b'S', "ERREUR"),
            (b'V', "ERROR"),
            (b'C', "42703"),
            (b'M', "column \"nmae\" does not exist"),
            (b'H', "Perhaps you meant \"name\"."),
            (b'P', "8"),
            (b'R', "errorMissingColumn"),
            (b'Z', "unknown field types are ignored"),
        ])
        .unwrap()
    }

    #[test]
    fn parses_every_field_it_was_given() {
        let e = sample();
        assert_eq!(e.severity(), Severity::Error);
        assert_eq!(e.localized_severity(), "ERREUR");
        assert_eq!(e.code().code(), "42703");
        assert_eq!(e.hint(), Some("Perhaps you meant \"name\"."));
        assert_eq!(e.position(), Some(&ErrorPosition::Original(8)));
        assert_eq!(e.routine(), Some("errorMissingColumn"));
        assert_eq!(e.detail(), None);
    }

    #[test]
    fn missing_required_fields_are_reported() {
        let err = DbError::from_fields([(b'S', "ERROR"), (b'M', "x")]).unwrap_err();
        assert!(err.contains("SQLSTATE"), "{err}");
    }

    #[test]
    fn display_marks_the_position_in_the_query() {
        let e = sample().with_query(Arc::from("SELECT nmae FROM users"));
        let text = e.to_string();
        assert!(
            text.contains("LINE 1: SELECT nmae FROM users\n               ^"),
            "{text}"
        );
        assert!(text.contains("HINT: Perhaps"), "{text}");
    }

    #[test]
    fn position_on_a_later_line() {
        let e = DbError::from_fields([
            (b'S', "ERROR"),
            (b'C', "42601"),
            (b'M', "syntax error"),
            (b'P', "15"),
        ])
        .unwrap()
        .with_query(Arc::from("SELECT 1\nFROM x y z"));
        let text = e.to_string();
        assert!(
            text.contains("LINE 2: FROM x y z\n             ^"),
            "{text}"
        );
    }
}
