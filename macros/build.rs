//! Detects whether the compiler has `proc_macro::Span::{file, line, column}`
//! (stable since Rust 1.88; the crate's MSRV is older): with them, errors in a
//! query literal say `at path:line:column` and `cargo pgprepare --check` names
//! each query's place.

use std::process::Command;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(quarry_span_lines)");
    println!("cargo::rerun-if-env-changed=RUSTC");
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let minor = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|v| {
            // "rustc 1.95.0 (...)"
            let version = v.split_whitespace().nth(1)?.to_owned();
            let mut parts = version.split('.');
            let major: u32 = parts.next()?.parse().ok()?;
            let minor: u32 = parts.next()?.parse().ok()?;
            (major == 1).then_some(minor)
        });
    if minor.is_some_and(|m| m >= 88) {
        println!("cargo::rustc-cfg=quarry_span_lines");
    }
}
