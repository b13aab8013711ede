//! Fuzz target bodies for Quarry's decoders; see `targets.rs`.

pub mod targets;
