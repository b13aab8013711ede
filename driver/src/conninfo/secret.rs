//! Passwords: values that never print, and callbacks for rotating credentials.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::Error;

/// A secret string, such as a password.
///
/// `Debug` and `Display` print `<redacted>`; read the value with [`Secret::expose`]
/// only where it is sent to the server. On drop the bytes are overwritten (best
/// effort: copies made by earlier reallocations or clones are not reachable).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret value. Do not log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the secret is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret(value.to_owned())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"<redacted>\"")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        let mut bytes = std::mem::take(&mut self.0).into_bytes();
        bytes.iter_mut().for_each(|b| *b = 0);
        // Keeps the zeroing from being optimised away as a dead store.
        std::hint::black_box(&bytes);
    }
}

/// The future a [`PasswordCallback`] returns.
pub type PasswordFuture = Pin<Box<dyn Future<Output = Result<String, Error>> + Send>>;

/// An async function that produces a password for each new connection, for
/// credentials that rotate (cloud IAM tokens, vault leases).
///
/// It is called once per connection attempt, after the host is chosen and before
/// authentication; an error from it fails that attempt.
#[derive(Clone)]
pub struct PasswordCallback(Arc<dyn Fn() -> PasswordFuture + Send + Sync>);

impl PasswordCallback {
    /// Wraps an async closure: `PasswordCallback::new(|| async { Ok(fetch_token().await?) })`.
    pub fn new<F, Fut>(f: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<String, Error>> + Send + 'static,
    {
        PasswordCallback(Arc::new(move || Box::pin(f()) as PasswordFuture))
    }

    /// Starts one call of the callback.
    pub fn call(&self) -> PasswordFuture {
        (self.0)()
    }
}

impl fmt::Debug for PasswordCallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordCallback(..)")
    }
}

/// Where the password for a connection comes from.
///
/// When no source is configured the connection looks in the password file
/// (see [`ConnectOptions::passfile_password`](super::ConnectOptions::passfile_password)).
#[derive(Clone, Debug)]
pub enum PasswordSource {
    /// A fixed password.
    Value(Secret),
    /// A callback asked for a fresh password on every connection attempt.
    Callback(PasswordCallback),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_prints() {
        let s = Secret::new("hunter2-sentinel");
        assert!(!format!("{s:?}").contains("hunter2"));
        assert!(!format!("{s}").contains("hunter2"));
        assert_eq!(s.expose(), "hunter2-sentinel");
        let src = PasswordSource::Value(s);
        assert!(!format!("{src:?}").contains("hunter2"));
    }
}
