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
//! `protocol`, `auth` and `types` never name tokio.

#![deny(missing_docs)]

pub mod auth;
pub mod config;
pub mod connection;
pub mod error;
mod executor;
mod pipeline;
pub mod pool;
pub mod protocol;
pub mod query;
mod row;
mod statement;
#[cfg(all(feature = "temp-server", unix))]
pub mod temp_server;
pub mod types;

pub use config::ConnectOptions;
pub use connection::{CancelToken, Connection, Notification, ServerVersion};
pub use error::{DbError, Error, ErrorKind, Result, SqlState};
pub use executor::Executor;
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
