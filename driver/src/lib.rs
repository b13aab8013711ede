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
pub mod error;
pub mod protocol;
#[cfg(all(feature = "temp-server", unix))]
pub mod temp_server;
pub mod types;

pub use config::ConnectOptions;
pub use error::{Error, ErrorKind, Result};
#[cfg(all(feature = "temp-server", unix))]
pub use temp_server::TempServer;
