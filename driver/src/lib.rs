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
//! [cursors](cursor), [migrations](migrate), [errors](error), [types], [logical
//! replication](replication), and [deployment] (PgBouncer, replicas, failover).

#![deny(missing_docs)]

mod arguments;
mod auth;
mod connection;
mod conninfo;
mod copying;
#[doc(hidden)]
pub mod derive_support;
mod executor;
mod failure;
#[cfg(feature = "__internals")]
#[doc(hidden)]
pub mod internals;
mod listening;
mod migrating;
mod pipeline;
mod pooling;
mod portal;
// The items that `internals` re-exports are `pub`; without that feature nothing outside
// the crate can reach them.
#[cfg_attr(not(feature = "__internals"), allow(unreachable_pub))]
mod protocol;
mod querying;
mod replicating;
mod row;
mod sql_builder;
mod statement;
#[cfg(all(feature = "temp-server", unix))]
mod test_server;
#[cfg(all(feature = "temp-server", unix))]
pub mod testing;
mod tx;
pub mod types;
mod user_type;

// Every public type has one path. The types an application names every day are at the
// root; each guide is a module of its own, which also holds the few types only its topic
// needs (the `sslmode` enums under `config`, the hook types under `pool`).

#[doc = include_str!("../docs/connecting.md")]
pub mod config {
    pub use crate::conninfo::{
        ChannelBinding, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_CACHEABLE_STATEMENT_LEN,
        DEFAULT_MAX_MESSAGE_LEN, DEFAULT_PORT, DEFAULT_SCRAM_MAX_ITERATIONS, DEFAULT_SOCKET_DIRS,
        DEFAULT_STATEMENT_CACHE_CAPACITY, Endpoint, Host, LoadBalanceHosts, PasswordCallback,
        PasswordFuture, PasswordSource, ProtocolVersion, Replication, Secret, SslMode,
        SslNegotiation, SslRootCert, TargetSessionAttrs, TlsVersion,
    };
}

#[doc = include_str!("../docs/queries.md")]
pub mod query {
    pub use crate::querying::{IntoSql, quote_identifier};
    pub use crate::sql_builder::{Identifier, Literal, Separated};
}

#[doc = include_str!("../docs/pool.md")]
pub mod pool {
    pub use crate::pooling::{
        DEFAULT_RESET_QUERY, PoolConnectionMetadata, Reset, SharedConnection,
    };
}

#[doc = include_str!("../docs/transactions.md")]
pub mod transaction {}

#[doc = include_str!("../docs/copy.md")]
pub mod copy {
    pub use crate::copying::{RowDecoder, RowEncoder};
}

#[doc = include_str!("../docs/listen.md")]
pub mod listen {}

#[doc = include_str!("../docs/cursors.md")]
pub mod cursor {}

#[doc = include_str!("../docs/observability.md")]
pub mod observability {}

#[doc = include_str!("../docs/errors.md")]
pub mod error {
    pub use crate::failure::{BoxError, ErrorPosition, Severity};
}

#[doc = include_str!("../docs/migrations.md")]
pub mod migrate {
    pub use crate::migrating::{
        Applied, DEFAULT_LOCK_TIMEOUT, LOCK_KEY, MIGRATIONS_TABLE, Migration, MigrationInfo,
        MigrationStatus, Migrator, SQLX_MIGRATIONS_TABLE,
    };
}

#[doc = include_str!("../docs/replication.md")]
pub mod replication {
    pub use crate::replicating::{
        Begin, Commit, CreatedSlot, Delete, Insert, LogicalEvent, LogicalMessage, LogicalOptions,
        Message, OldTuple, Origin, OriginFilter, PhysicalEvent, PhysicalStream, Relation,
        RelationColumn, ReplicaIdentity, ReplicationConnection, ReplicationStream, SlotOptions,
        SlotSnapshot, SlotStatus, StreamAbort, StreamCommit, StreamStart, Streaming,
        SystemIdentity, Truncate, Tuple, TypeMessage, Update,
    };
}

#[doc = include_str!("../docs/deployment.md")]
pub mod deployment {}

#[cfg(all(feature = "temp-server", unix))]
#[doc = include_str!("../docs/temp_server.md")]
pub mod temp_server {
    pub use crate::test_server::{
        BINDIR_VAR, Builder, CertificateStyle, SearchEnv, ServerBinaries, ServerVersion, roles,
    };
}

pub use connection::{CancelToken, Connection, Notification, QueryLog, QueryLogger, ServerVersion};
pub use conninfo::ConnectOptions;
pub use copying::{CopyFormat, CopyIn, CopyInWriter, CopyOut, CopyOutReader, CopyRow, FromCopyRow};
pub use executor::{Acquire, ConnectionRef, Executor};
pub use failure::{DbError, Error, ErrorKind, Result, SqlState};
pub use listening::{Listener, ListenerEvent, notify};
pub use pipeline::{IntoArguments, Pipeline, QueryResult};
pub use pooling::{Pool, PoolConnection, PoolOptions, PoolStatus};
pub use portal::Cursor;
pub use protocol::TransactionStatus;
pub use querying::{
    Arguments, AssertSqlSafe, Query, QueryAs, QueryScalar, RowStream, query, query_as, query_scalar,
};
pub use row::{Column, ColumnIndex, Columns, FromRecord, Row};
pub use sql_builder::QueryBuilder;
pub use statement::Statement;
#[cfg(all(feature = "temp-server", unix))]
pub use test_server::TempServer;
pub use tx::{
    BoxFuture, IsolationLevel, PreparedTransaction, RunTransaction, Transaction, TransactionError,
    TxOptions,
};
pub use user_type::{CompositeField, UserType, UserTypeShape};

/// One path per public type: each type below is named at the crate root, and its guide
/// module does not name it a second time. Each example must fail to compile.
///
/// ```compile_fail
/// use quarry_driver::config::ConnectOptions;
/// ```
/// ```compile_fail
/// use quarry_driver::query::Query;
/// ```
/// ```compile_fail
/// use quarry_driver::pool::PoolOptions;
/// ```
/// ```compile_fail
/// use quarry_driver::transaction::Transaction;
/// ```
/// ```compile_fail
/// use quarry_driver::copy::CopyIn;
/// ```
/// ```compile_fail
/// use quarry_driver::listen::Listener;
/// ```
/// ```compile_fail
/// use quarry_driver::cursor::Cursor;
/// ```
/// ```compile_fail
/// use quarry_driver::error::Error;
/// ```
/// ```compile_fail
/// use quarry_driver::query::QueryBuilder;
/// ```
/// ```compile_fail
/// use quarry_driver::Migrator; // the migration types live in their guide, `migrate`
/// ```
/// ```
/// // ... while the root and the guides' own types are where the docs say.
/// use quarry_driver::config::SslMode;
/// use quarry_driver::error::Severity;
/// use quarry_driver::pool::Reset;
/// use quarry_driver::migrate::Migrator;
/// use quarry_driver::query::{Identifier, Literal};
/// use quarry_driver::QueryBuilder;
/// use quarry_driver::{ConnectOptions, Cursor, Error, Listener, PoolOptions, Query, Transaction};
/// ```
#[cfg(doctest)]
pub struct OnePathPerType;

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
        is_send_sync::<replication::ReplicationConnection>();
        is_send_sync::<replication::ReplicationStream>();
        is_send_sync::<replication::PhysicalStream>();
        is_send_sync::<replication::LogicalEvent>();
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
            // Options are taken borrowed or owned alike, everywhere (issue 20).
            let opts = ConnectOptions::default();
            let _ = Connection::connect_with(&opts).await?;
            let _ = Pool::connect_with(&opts).await?;
            let _ = PoolOptions::new().connect_lazy_with(&opts)?;
            let _ = Listener::connect_with(&opts).await?;
            let _ = Pool::connect_with(opts.clone()).await?;
            let _ = Connection::connect_with(opts).await?;
            let _: i64 = generic(&mut conn).await?;
            let repl = replication::ReplicationConnection::connect("postgres://x").await?;
            let mut stream = repl
                .start_logical(
                    "s",
                    types::PgLsn(0),
                    &replication::LogicalOptions::new(["p"]),
                )
                .await?;
            stream.next().await?;
            stream.send_status().await?;
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
