//! Procedural macros for Quarry: `query!` and friends, `#[derive(FromRecord)]`,
//! `#[derive(PgType)]` and `#[quarry::test]`.
//!
//! Use them through the `quarry` crate, which re-exports them.

use proc_macro::TokenStream;

mod derive;
mod migrate;
mod query;
mod test_attr;

use query::{Kind, Output};

/// Builds a struct from a row: `#[derive(FromRecord)]`; see `quarry::FromRecord`.
#[proc_macro_derive(FromRecord, attributes(quarry))]
pub fn derive_from_record(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    derive::expand(derive::from_record::derive(&input))
}

/// A struct as one row of a binary COPY: `#[derive(CopyRow)]`; see `quarry::CopyRow`.
#[proc_macro_derive(CopyRow, attributes(quarry))]
pub fn derive_copy_row(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    derive::expand(derive::copy_row::derive(&input))
}

/// A PostgreSQL enum, composite or domain: `#[derive(PgType)]`; see `quarry::UserType`.
#[proc_macro_derive(PgType, attributes(pg))]
pub fn derive_pg_type(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    derive::expand(derive::pg_type::derive(&input))
}

/// Embeds a folder of migrations at compile time; see `quarry::migrate!`.
#[proc_macro]
pub fn migrate(input: TokenStream) -> TokenStream {
    migrate::expand(input.into()).into()
}

/// An async test with a fresh database: `#[quarry::test]`; see `quarry::testing`.
#[proc_macro_attribute]
pub fn test(
    args: proc_macro::TokenStream,
    item: proc_macro::TokenStream,
) -> proc_macro::TokenStream {
    test_attr::expand(args.into(), item.into()).into()
}

fn checked(output: Output, file: bool) -> Kind {
    Kind {
        output,
        file,
        checked: true,
    }
}

/// A query checked against the database when the code compiles; rows are an
/// anonymous struct with one typed field per column.
///
/// ```text
/// let row = quarry::query!("SELECT id, email FROM users WHERE id = $1", id)
///     .fetch_one(&mut conn)
///     .await?;
/// let id: i64 = row.id; // NOT NULL column
/// let email: Option<String> = row.email;
/// ```
///
/// See the guide, `quarry::query_macros`, for overrides, named parameters,
/// nullability, offline builds and `cargo pgprepare`.
#[proc_macro]
pub fn query(input: TokenStream) -> TokenStream {
    query::expand(input.into(), checked(Output::Record, false)).into()
}

/// Like [`query!`], with rows read into a type that implements `FromRecord`:
/// `query_as!(User, "SELECT id, name FROM users")`.
#[proc_macro]
pub fn query_as(input: TokenStream) -> TokenStream {
    query::expand(input.into(), checked(Output::As, false)).into()
}

/// Like [`query!`] for a query with one column: each row is that column's value
/// (`Option<T>` only when it may be NULL).
#[proc_macro]
pub fn query_scalar(input: TokenStream) -> TokenStream {
    query::expand(input.into(), checked(Output::Scalar, false)).into()
}

/// [`query!`] with the SQL in a file, relative to the crate's directory.
#[proc_macro]
pub fn query_file(input: TokenStream) -> TokenStream {
    query::expand(input.into(), checked(Output::Record, true)).into()
}

/// [`query_as!`] with the SQL in a file, relative to the crate's directory.
#[proc_macro]
pub fn query_file_as(input: TokenStream) -> TokenStream {
    query::expand(input.into(), checked(Output::As, true)).into()
}

/// [`query_scalar!`] with the SQL in a file, relative to the crate's directory.
#[proc_macro]
pub fn query_file_scalar(input: TokenStream) -> TokenStream {
    query::expand(input.into(), checked(Output::Scalar, true)).into()
}

/// A query that is not described at compile time: rows are `Row`s, checked
/// when read. Named parameters (`:name`) still work.
#[proc_macro]
pub fn query_unchecked(input: TokenStream) -> TokenStream {
    let kind = Kind {
        output: Output::Record,
        file: false,
        checked: false,
    };
    query::expand(input.into(), kind).into()
}

/// [`query_as!`] without the compile-time description: rows are read into the
/// type with its `FromRecord` impl, checked when read.
#[proc_macro]
pub fn query_as_unchecked(input: TokenStream) -> TokenStream {
    let kind = Kind {
        output: Output::As,
        file: false,
        checked: false,
    };
    query::expand(input.into(), kind).into()
}
