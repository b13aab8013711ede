//! The async PostgreSQL driver behind Quarry.
//!
//! Layers, each knowing only the ones below it:
//!
//! ```text
//!  pool ─────────────────────────────── Pool, PoolConnection
//!  query / copy / listen / transaction  Query, Row, Transaction, Listener, ...
//!  connection ───────────────────────── the one owner of the socket
//!  auth ─────────────────────────────── SCRAM, MD5 (sans-IO)
//!  protocol ─────────────────────────── message codec (sans-IO)
//!  types ────────────────────────────── Encode / Decode (sans-IO)
//! ```
//!
//! `protocol`, `auth` and `types` never name tokio. `auth` and `protocol` are private.
//!
//! Applications depend on the `quarry` crate, which re-exports this one. The guides are
//! the module docs: [connecting](config), [queries](mod@query), [pools](pool),
//! [transactions](transaction), [COPY](copy), [LISTEN/NOTIFY](listen),
//! [cursors](cursor), [errors](error), [types], and [deployment]
//! (PgBouncer, replicas, failover).

#![deny(missing_docs)]

mod arguments;
mod auth;
pub mod config;
mod connection;
pub mod copy;
pub mod cursor;
#[doc = include_str!("../docs/deployment.md")]
pub mod deployment {}
#[doc(hidden)]
pub mod derive_support;
pub mod error;
mod executor;
#[cfg(feature = "__internals")]
#[doc(hidden)]
pub mod internals;
pub mod listen;
mod pipeline;
pub mod pool;
// The items that `internals` re-exports are `pub`; without that feature nothing outside
// the crate can reach them.
#[cfg_attr(not(feature = "__internals"), allow(unreachable_pub))]
mod protocol;
pub mod query;
mod row;
mod statement;
#[cfg(all(feature = "temp-server", unix))]
pub mod temp_server;
#[cfg(all(feature = "temp-server", unix))]
pub mod testing;
pub mod transaction;
pub mod types;
mod user_type;

pub use config::ConnectOptions;
pub use connection::{CancelToken, Connection, Notification, QueryLog, QueryLogger, ServerVersion};
pub use copy::{CopyFormat, CopyIn, CopyInWriter, CopyOut, CopyOutReader, CopyRow, FromCopyRow};
pub use cursor::Cursor;
pub use error::{DbError, Error, ErrorKind, Result, SqlState};
pub use executor::{Acquire, ConnectionRef, Executor};
pub use listen::{Listener, ListenerEvent, notify};
pub use pipeline::{IntoArguments, Pipeline, QueryResult};
pub use pool::{Pool, PoolConnection, PoolOptions, PoolStatus};
pub use protocol::TransactionStatus;
pub use query::{
    Arguments, AssertSqlSafe, Query, QueryAs, QueryScalar, RowStream, query, query_as, query_scalar,
};
pub use row::{Column, ColumnIndex, Columns, FromRecord, Row};
pub use statement::Statement;
#[cfg(all(feature = "temp-server", unix))]
pub use temp_server::TempServer;
pub use transaction::{
    BoxFuture, IsolationLevel, PreparedTransaction, RunTransaction, Transaction, TransactionError,
    TxOptions,
};
pub use user_type::{CompositeField, UserType, UserTypeShape};

/// Compile-time checks that the public types can cross threads and that the futures
/// users await can be spawned on a multi-threaded runtime.
#[cfg(test)]
mod send_sync {
    use super::*;

    fn is_send_sync<T: Send + Sync>() {}

    #[test]
    fn types_are_send_and_sync() {
        is_send_sync::<Connection>();
        is_send_sync::<Error>();
        is_send_sync::<Row>();
        is_send_sync::<Statement>();
        is_send_sync::<CancelToken>();
        is_send_sync::<ConnectOptions>();
    }

    #[allow(dead_code)]
    fn futures_are_send(mut conn: Connection) {
        fn spawnable<F: std::future::Future + Send + 'static>(_: F) {}
        spawnable(async move {
            query("SELECT 1").execute(&mut conn).await?;
            query("SELECT 1").fetch_all(&mut conn).await?;
            query_scalar::<i64>("SELECT 1").fetch_one(&mut conn).await?;
            conn.batch_execute("SELECT 1").await?;
            conn.pipeline().run().await?;
            let _ = Connection::connect("postgres://x").await?;
            let _: i64 = generic(&mut conn).await?;
            let mut rows = query("SELECT 1").fetch(&mut conn);
            futures_util::StreamExt::next(&mut rows).await;
            Ok::<(), Error>(())
        });
    }

    /// A user's function generic over the executor, as the docs suggest writing it.
    async fn generic(e: impl Executor<'_>) -> Result<i64> {
        query_scalar("SELECT 1").fetch_one(e).await
    }
}
