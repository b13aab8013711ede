//! `#[derive(FromRecord)]` and `#[derive(PgType)]`.
//!
//! Both emit code that names the runtime through a crate path, `::quarry` by
//! default; `#[quarry(crate = "path")]` / `#[pg(crate = "path")]` override it
//! (the driver's own tests use `quarry_driver`).

pub(crate) mod case;
pub(crate) mod copy_row;
pub(crate) mod from_record;
pub(crate) mod pg_type;

use proc_macro2::TokenStream;
use syn::meta::ParseNestedMeta;
use syn::{LitStr, Path};

/// The default path of the runtime crate in generated code.
fn default_crate() -> Path {
    syn::parse_quote!(::quarry)
}

/// Reads `key = "string"` and fails on a duplicate.
fn set_string(meta: &ParseNestedMeta<'_>, slot: &mut Option<LitStr>, key: &str) -> syn::Result<()> {
    let value: LitStr = meta.value()?.parse()?;
    if slot.is_some() {
        return Err(meta.error(format!("duplicate `{key}`")));
    }
    *slot = Some(value);
    Ok(())
}

/// Marks a flag (`default`, `skip`, ...) and fails on a duplicate.
fn set_flag(meta: &ParseNestedMeta<'_>, slot: &mut bool, key: &str) -> syn::Result<()> {
    if *slot {
        return Err(meta.error(format!("duplicate `{key}`")));
    }
    *slot = true;
    Ok(())
}

/// Parses `crate = "path"`.
fn parse_crate(meta: &ParseNestedMeta<'_>, slot: &mut Option<Path>) -> syn::Result<()> {
    let value: LitStr = meta.value()?.parse()?;
    if slot.is_some() {
        return Err(meta.error("duplicate `crate`"));
    }
    *slot = Some(value.parse()?);
    Ok(())
}

/// Turns a derive's result into tokens, errors as `compile_error!`.
pub(crate) fn expand(result: syn::Result<TokenStream>) -> proc_macro::TokenStream {
    result.unwrap_or_else(syn::Error::into_compile_error).into()
}

/// Whether `ty` names one of `generics`' type parameters. Only such fields get
/// `where` bounds: a bound on a concrete type that does not hold would be reported at
/// the derive instead of at the field.
fn mentions_type_param(ty: &syn::Type, generics: &syn::Generics) -> bool {
    let params: Vec<&syn::Ident> = generics.type_params().map(|p| &p.ident).collect();
    if params.is_empty() {
        return false;
    }
    fn walk(tokens: TokenStream, params: &[&syn::Ident]) -> bool {
        tokens.into_iter().any(|t| match t {
            proc_macro2::TokenTree::Ident(i) => params.iter().any(|p| **p == i),
            proc_macro2::TokenTree::Group(g) => walk(g.stream(), params),
            _ => false,
        })
    }
    walk(quote::ToTokens::to_token_stream(ty), &params)
}
