//! Procedural macros for Quarry: `query!` and friends, `#[derive(FromRecord)]`,
//! `#[derive(PgType)]` and `#[quarry::test]`.
//!
//! Use them through the `quarry` crate, which re-exports them.
