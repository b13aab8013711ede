//! Procedural macros for Quarry: `query!` and friends, `#[derive(FromRecord)]`,
//! `#[derive(PgType)]` and `#[quarry::test]`.
//!
//! Use them through the `quarry` crate, which re-exports them.

mod derive;
mod test_attr;

/// Builds a struct from a row: `#[derive(FromRecord)]`; see `quarry::FromRecord`.
#[proc_macro_derive(FromRecord, attributes(quarry))]
pub fn derive_from_record(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    derive::expand(derive::from_record::derive(&input))
}

/// A PostgreSQL enum, composite or domain: `#[derive(PgType)]`; see `quarry::UserType`.
#[proc_macro_derive(PgType, attributes(pg))]
pub fn derive_pg_type(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    derive::expand(derive::pg_type::derive(&input))
}

/// An async test with a fresh database: `#[quarry::test]`; see `quarry::testing`.
#[proc_macro_attribute]
pub fn test(
    args: proc_macro::TokenStream,
    item: proc_macro::TokenStream,
) -> proc_macro::TokenStream {
    test_attr::expand(args.into(), item.into()).into()
}
