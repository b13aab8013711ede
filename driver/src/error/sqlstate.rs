//! SQLSTATE codes. PLACEHOLDER: to be replaced by the generated table (`xtask`/codegen).

/// A SQLSTATE code.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SqlState {
    /// `23505`
    UniqueViolation,
    /// `23503`
    ForeignKeyViolation,
    /// `23502`
    NotNullViolation,
    /// `23514`
    CheckViolation,
    /// `40001`
    SerializationFailure,
    /// `40P01`
    DeadlockDetected,
    /// `57014`
    QueryCanceled,
    /// A code not in the table.
    Other(Box<str>),
}

impl SqlState {
    /// Looks up a five-character code.
    pub fn from_code(code: &str) -> SqlState {
        match code {
            "23505" => SqlState::UniqueViolation,
            "23503" => SqlState::ForeignKeyViolation,
            "23502" => SqlState::NotNullViolation,
            "23514" => SqlState::CheckViolation,
            "40001" => SqlState::SerializationFailure,
            "40P01" => SqlState::DeadlockDetected,
            "57014" => SqlState::QueryCanceled,
            other => SqlState::Other(other.into()),
        }
    }

    /// The five-character code.
    pub fn code(&self) -> &str {
        match self {
            SqlState::UniqueViolation => "23505",
            SqlState::ForeignKeyViolation => "23503",
            SqlState::NotNullViolation => "23502",
            SqlState::CheckViolation => "23514",
            SqlState::SerializationFailure => "40001",
            SqlState::DeadlockDetected => "40P01",
            SqlState::QueryCanceled => "57014",
            SqlState::Other(code) => code,
        }
    }
}
