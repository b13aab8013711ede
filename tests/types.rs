//! The type system against a real PostgreSQL: every type of the type table
//! (`quarry::types`), both directions (encode -> server -> decode), both
//! formats (binary through the extended protocol, text through the simple
//! protocol), arrays of each, and the errors users see.
//!
//! One server for the whole binary (`support::server`), one connection per
//! test. Run with `cargo test -p quarry --all-features --test types` to cover
//! the optional integrations (`chrono`, `time`, `rust_decimal`, `bigdecimal`).

#![cfg(all(feature = "temp-server", unix))]

#[path = "types/support.rs"]
mod support;

#[path = "types/containers.rs"]
mod containers;
#[path = "types/errors.rs"]
mod errors;
#[path = "types/extensions.rs"]
mod extensions;
#[path = "types/features.rs"]
mod features;
#[path = "types/other.rs"]
mod other;
#[path = "types/props.rs"]
mod props;
#[path = "types/scalar.rs"]
mod scalar;
#[path = "types/settings.rs"]
mod settings;
#[path = "types/user_types.rs"]
mod user_types;
