//! Quarry: a PostgreSQL toolkit for Rust.
//!
//! An async driver with a connection pool, and query macros that check SQL
//! against a real server (or an offline description of it) when the code
//! compiles. This crate re-exports [`quarry_driver`] and [`quarry_macros`]:
//! depend on `quarry` alone.

#![deny(missing_docs)]

pub use quarry_driver::*;

#[doc = include_str!("../docs/from_record.md")]
pub use quarry_macros::FromRecord;

#[doc = include_str!("../docs/pg_type.md")]
pub use quarry_macros::PgType;

#[doc = include_str!("../docs/quarry_test.md")]
#[cfg(all(feature = "temp-server", unix))]
pub use quarry_macros::test;
