//! The compile errors of `#[derive(FromRecord)]`, `#[derive(PgType)]`, `#[derive(CopyRow)]` and
//! `#[quarry::test]` and `migrate!`. The `.stderr` snapshots are part of the API: regenerate
//! them with `TRYBUILD=overwrite cargo test -p quarry --test derive_ui` and review.

#[test]
fn derive_errors() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/derive/*.rs");
}
