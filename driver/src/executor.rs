//! `Executor`: anything a query can run on.

use std::future::Future;
use std::ops::DerefMut;
use std::pin::Pin;

use crate::connection::Connection;
use crate::error::Result;

/// A boxed future that is `Send`: what the query methods return, so that a query can be
/// awaited inside any `Send` future (`tokio::spawn`, a transaction closure). An `async fn`
/// generic over the executor would not be: rustc cannot prove its future `Send` when the
/// executor's lifetime is only known inside the caller's future (rust-lang/rust#100013).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Something a query runs on: `&mut Connection`, `&Pool`, `&mut PoolConnection` or
/// `&mut Transaction`.
///
/// Write functions that accept any of them as `impl Executor<'_>`:
///
/// ```no_run
/// async fn count_users(e: impl quarry_driver::Executor<'_>) -> quarry_driver::Result<i64> {
///     quarry_driver::query_scalar("SELECT count(*) FROM users").fetch_one(e).await
/// }
/// ```
pub trait Executor<'c>: Send + Sized {
    /// The connection the query runs on while it runs (borrowed, or taken from a pool
    /// and returned when dropped).
    type Conn: DerefMut<Target = Connection> + Send + 'c;

    /// Gets the connection to run on.
    fn connection(self) -> impl Future<Output = Result<Self::Conn>> + Send + 'c;
}

impl<'c> Executor<'c> for &'c mut Connection {
    type Conn = &'c mut Connection;

    fn connection(self) -> impl Future<Output = Result<Self::Conn>> + Send + 'c {
        std::future::ready(Ok(self))
    }
}
