//! Quarry: a PostgreSQL toolkit for Rust.
//!
//! An async driver with a connection pool, and query macros that check SQL
//! against a real server (or an offline description of it) when the code
//! compiles. This crate re-exports [`quarry_driver`] and [`quarry_macros`]:
//! depend on `quarry` alone.

#![deny(missing_docs)]

pub use quarry_driver::*;
pub use quarry_macros::*;

#[doc(hidden)]
#[path = "macro_support.rs"]
pub mod __private;

/// The guide to `query!` and friends, and `cargo pgprepare`.
#[doc = include_str!("query_macros.md")]
pub mod query_macros {}
