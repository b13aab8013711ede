//! [`ValueError`]: a value that does not fit where it is going.

use std::borrow::Cow;
use std::fmt;

use super::{DecodeError, EncodeError};

/// A conversion or construction that would lose information, or text that does not parse.
///
/// Returned by the constructors and conversions of Quarry's own value types
/// ([`Numeric`](super::Numeric), [`Date`](super::Date), [`Timestamp`](super::Timestamp), ...):
/// a numeric with a fractional part converted to `i64`, a date outside
/// PostgreSQL's range, `infinity` converted to a `chrono` type. Nothing is
/// silently rounded, wrapped or clamped unless the conversion's docs say so.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValueError(Cow<'static, str>);

impl ValueError {
    /// An error with a message for people.
    pub(crate) fn new(message: impl Into<Cow<'static, str>>) -> ValueError {
        ValueError(message.into())
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ValueError {}

impl From<ValueError> for DecodeError {
    fn from(e: ValueError) -> DecodeError {
        DecodeError::new(e.0)
    }
}

impl From<ValueError> for EncodeError {
    fn from(e: ValueError) -> EncodeError {
        EncodeError::new(e.0)
    }
}
