#![doc = include_str!("../docs/overview.md")]
#![deny(missing_docs)]

pub use quarry_driver::*;

#[doc = include_str!("../docs/from_record.md")]
pub use quarry_macros::FromRecord;

#[doc = include_str!("../docs/pg_type.md")]
pub use quarry_macros::PgType;

/// Derives [`CopyRow`] and [`FromCopyRow`] for a struct: its fields, in declaration
/// order, are the columns of a binary COPY.
///
/// ```no_run
/// # async fn f(conn: &mut quarry::Connection) -> quarry::Result<()> {
/// #[derive(quarry::CopyRow)]
/// struct Reading {
///     sensor: i64,
///     value: f64,
///     note: Option<String>,
/// }
///
/// let mut writer = conn
///     .copy_in::<Reading>("COPY readings (sensor, value, note) FROM STDIN BINARY")
///     .await?;
/// writer.write(&Reading { sensor: 1, value: 20.5, note: None }).await?;
/// let rows = writer.finish().await?;
/// # Ok(()) }
/// ```
pub use quarry_macros::CopyRow;

#[doc = include_str!("../docs/quarry_test.md")]
pub use quarry_macros::test;

/// `#[quarry::test]` expands through this: the test, with the `temp-server` feature.
#[cfg(all(feature = "temp-server", unix))]
#[doc(hidden)]
#[macro_export]
macro_rules! __quarry_test {
    ($($test:tt)*) => { $($test)* };
}

/// `#[quarry::test]` expands through this: without the `temp-server` feature, one error
/// that says how to turn it on.
#[cfg(not(all(feature = "temp-server", unix)))]
#[doc(hidden)]
#[macro_export]
macro_rules! __quarry_test {
    ($($test:tt)*) => {
        ::core::compile_error!(
            "#[quarry::test] needs quarry's `temp-server` feature (Unix only): add \
             `quarry = { version = \"0.1\", features = [\"temp-server\"] }` under \
             [dev-dependencies] in Cargo.toml"
        );
    };
}

// Compile-time checked queries; their guide is the `query_macros` module below.
pub use quarry_macros::{
    query, query_as, query_as_unchecked, query_file, query_file_as, query_file_scalar,
    query_scalar, query_unchecked,
};

#[doc(hidden)]
#[path = "macro_support.rs"]
pub mod __private;

/// The guide to `query!` and friends, and `cargo pgprepare`.
#[doc = include_str!("query_macros.md")]
pub mod query_macros {}

/// Embeds a folder of migrations at compile time and returns a
/// [`Migrator`](migrate::Migrator) for them (see the [`migrate`](mod@migrate) guide).
///
/// ```no_run
/// # async fn f(pool: &quarry::Pool) -> quarry::Result<()> {
/// static MIGRATOR: std::sync::LazyLock<quarry::migrate::Migrator> =
///     std::sync::LazyLock::new(|| quarry::migrate!("tests/migrations"));
/// MIGRATOR.run(pool).await?;
/// # Ok(()) }
/// ```
///
/// The path is relative to the crate root (the directory holding `Cargo.toml`) and
/// defaults to `"migrations"`. The file names are checked when the code compiles, and
/// each file is included in the binary, so editing one rebuilds the crate; adding one
/// needs a `build.rs` with `cargo:rerun-if-changed=migrations`. Outside the `quarry`
/// crate (with `quarry-driver` alone), say where the driver is:
/// `migrate!("migrations", crate = "quarry_driver")`.
pub use quarry_macros::migrate;
