//! `Executor`: anything a query can run on.
//!
//! The trait is deliberately small and not generic over anything but a
//! lifetime: an executor turns itself, synchronously, into an [`Acquire`] (a
//! concrete future of a [`ConnectionRef`]). Query methods do that before their
//! `async` part starts, so the futures they return hold only concrete types.
//! That keeps them `Send` for any caller, and avoids the "implementation of
//! `Executor` is not general enough" errors users of generic executor traits
//! know from sqlx.

use std::fmt;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::connection::Connection;
use crate::failure::Result;

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
    /// The connection to run on: at once for a borrowed connection, after waiting for
    /// one from a pool.
    fn acquire(self) -> Acquire<'c>;

    /// The pool, when this executor is `&Pool`: a query that may share a connection
    /// (`PoolOptions::share_connections`) is sent to one of its shared connections instead
    /// of taking a connection of its own.
    #[doc(hidden)]
    fn pool(&self) -> Option<crate::Pool> {
        None
    }
}

impl<'c> Executor<'c> for &'c mut Connection {
    fn acquire(self) -> Acquire<'c> {
        Acquire::ready(self)
    }
}

/// A connection an operation runs on: borrowed, or owned for the operation's
/// duration (taken from a pool and returned when dropped).
pub enum ConnectionRef<'c> {
    /// A connection the caller lent.
    Borrowed(&'c mut Connection),
    /// A connection held for the operation (a pooled connection).
    Owned(Box<dyn DerefMut<Target = Connection> + Send + 'c>),
}

impl fmt::Debug for ConnectionRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl Deref for ConnectionRef<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        match self {
            ConnectionRef::Borrowed(c) => c,
            ConnectionRef::Owned(c) => c,
        }
    }
}

impl DerefMut for ConnectionRef<'_> {
    fn deref_mut(&mut self) -> &mut Connection {
        match self {
            ConnectionRef::Borrowed(c) => c,
            ConnectionRef::Owned(c) => c,
        }
    }
}

type PendingConnection<'c> = Pin<Box<dyn Future<Output = Result<ConnectionRef<'c>>> + Send + 'c>>;

/// A future of the connection an operation runs on. Made by [`Executor::acquire`].
#[must_use = "futures do nothing unless polled"]
pub struct Acquire<'c>(AcquireState<'c>);

enum AcquireState<'c> {
    Ready(Option<&'c mut Connection>),
    Pending(PendingConnection<'c>),
}

impl<'c> Acquire<'c> {
    /// A connection that is available now.
    pub fn ready(conn: &'c mut Connection) -> Acquire<'c> {
        Acquire(AcquireState::Ready(Some(conn)))
    }

    /// A connection that will be available when `future` completes.
    pub fn pending(
        future: impl Future<Output = Result<ConnectionRef<'c>>> + Send + 'c,
    ) -> Acquire<'c> {
        Acquire(AcquireState::Pending(Box::pin(future)))
    }
}

impl fmt::Debug for Acquire<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acquire").finish_non_exhaustive()
    }
}

impl<'c> Future for Acquire<'c> {
    type Output = Result<ConnectionRef<'c>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.0 {
            AcquireState::Ready(conn) => match conn.take() {
                Some(conn) => Poll::Ready(Ok(ConnectionRef::Borrowed(conn))),
                None => Poll::Ready(Err(crate::Error::closed(
                    "Acquire polled after it completed",
                ))),
            },
            AcquireState::Pending(fut) => fut.as_mut().poll(cx),
        }
    }
}
