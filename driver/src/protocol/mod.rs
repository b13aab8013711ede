//! The PostgreSQL wire protocol (3.0 and 3.2) as a sans-IO codec.
//!
//! [`frontend`] encodes client messages into a buffer; [`backend`] decodes
//! server messages from bytes the caller has read. Nothing here touches a
//! socket: the connection layer owns the socket and feeds bytes in and out.
//! Message layouts follow the "Message Formats" chapter of the PostgreSQL
//! documentation; the length rules are libpq's (see [`backend`]).

pub(crate) mod backend;
pub(crate) mod frontend;
pub(crate) mod pgoutput;
pub(crate) mod reader;
pub(crate) mod replication;

pub use backend::TransactionStatus;
