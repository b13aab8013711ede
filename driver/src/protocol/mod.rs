//! The PostgreSQL wire protocol (3.0 and 3.2) as a sans-IO codec.
//!
//! [`frontend`] encodes client messages into a buffer; [`backend`] decodes
//! server messages from bytes the caller has read. Nothing here touches a
//! socket: the connection layer owns the socket and feeds bytes in and out.
//! Message layouts follow the "Message Formats" chapter of the PostgreSQL
//! documentation; the length rules are libpq's (see [`backend`]).

pub mod backend;
pub mod frontend;
pub mod reader;

pub use backend::{Header, Limits, Message, TransactionStatus};
