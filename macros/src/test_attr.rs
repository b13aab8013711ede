//! `#[quarry::test]`: an async test that gets a fresh database.
//!
//! ```text
//! #[quarry::test(migrations = "migrations", fixtures("users.sql"))]
//! async fn finds_users(mut conn: quarry::Connection) { ... }
//! ```
//! becomes a `#[test]` function that calls `quarry::testing::run` with the options,
//! which makes the database (from a template with the migrations and fixtures
//! applied), runs the body on a tokio runtime, and drops the database.
//!
//! Paths: `migrations = "dir"` is relative to the crate root (`CARGO_MANIFEST_DIR`) and
//! read when the test runs; a fixture is looked up in `<crate>/tests/fixtures/` first,
//! then relative to the file holding the test, and included at compile time. A fixture
//! name without an extension gets `.sql`.

use std::path::Path;

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{FnArg, ItemFn, LitInt, LitStr, Token};

#[derive(Default)]
struct Args {
    fixtures: Vec<LitStr>,
    migrations: Option<LitStr>,
    flavor: Option<LitStr>,
    worker_threads: Option<LitInt>,
    krate: Option<syn::Path>,
}

fn parse_args(tokens: TokenStream) -> syn::Result<Args> {
    let mut args = Args::default();
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("fixtures") {
            let content;
            syn::parenthesized!(content in meta.input);
            let list = Punctuated::<LitStr, Token![,]>::parse_terminated(&content)?;
            if list.is_empty() {
                return Err(meta.error("`fixtures(...)` needs at least one file name"));
            }
            args.fixtures.extend(list);
            Ok(())
        } else if meta.path.is_ident("migrations") {
            if args.migrations.is_some() {
                return Err(meta.error("duplicate `migrations`"));
            }
            args.migrations = Some(meta.value()?.parse()?);
            Ok(())
        } else if meta.path.is_ident("flavor") {
            let lit: LitStr = meta.value()?.parse()?;
            if !matches!(lit.value().as_str(), "current_thread" | "multi_thread") {
                return Err(syn::Error::new(
                    lit.span(),
                    "flavor is \"current_thread\" (the default) or \"multi_thread\"",
                ));
            }
            args.flavor = Some(lit);
            Ok(())
        } else if meta.path.is_ident("worker_threads") {
            let lit: LitInt = meta.value()?.parse()?;
            if lit.base10_parse::<usize>()? == 0 {
                return Err(syn::Error::new(
                    lit.span(),
                    "worker_threads must be at least 1",
                ));
            }
            args.worker_threads = Some(lit);
            Ok(())
        } else if meta.path.is_ident("crate") {
            let lit: LitStr = meta.value()?.parse()?;
            args.krate = Some(lit.parse()?);
            Ok(())
        } else {
            Err(meta.error(
                "unknown #[quarry::test] option; expected `fixtures(...)`, `migrations = \"dir\"`, \
                 `flavor = \"...\"`, `worker_threads = N` or `crate = \"path\"`",
            ))
        }
    });
    parser.parse2(tokens)?;
    if args.worker_threads.is_some()
        && args.flavor.as_ref().map(LitStr::value).as_deref() != Some("multi_thread")
    {
        return Err(syn::Error::new(
            Span::call_site(),
            "`worker_threads` needs `flavor = \"multi_thread\"`",
        ));
    }
    Ok(args)
}

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    match expand_inner(args, item) {
        Ok(tokens) => tokens,
        Err(e) => e.into_compile_error(),
    }
}

fn expand_inner(args: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let args = parse_args(args)?;
    let func: ItemFn = syn::parse2(item)?;
    let through_facade = args.krate.is_none();
    let krate = args
        .krate
        .clone()
        .unwrap_or_else(|| syn::parse_quote!(::quarry));
    let sig = &func.sig;
    if sig.asyncness.is_none() {
        return Err(syn::Error::new(
            sig.fn_token.span,
            "#[quarry::test] needs an `async fn`",
        ));
    }
    if !sig.generics.params.is_empty() {
        return Err(syn::Error::new(
            sig.generics.span(),
            "a #[quarry::test] function cannot be generic",
        ));
    }
    let mut arg_values = Vec::new();
    for input in &sig.inputs {
        match input {
            FnArg::Receiver(r) => {
                return Err(syn::Error::new(
                    r.span(),
                    "a #[quarry::test] function cannot take `self`",
                ));
            }
            FnArg::Typed(pat) => {
                let ty = &pat.ty;
                arg_values.push(quote_spanned! {ty.span()=>
                    #krate::testing::arg::<#ty>(&__quarry_db).await
                });
            }
        }
    }

    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let mut fixtures = Vec::new();
    for lit in &args.fixtures {
        let mut name = lit.value();
        if name.is_empty() {
            return Err(syn::Error::new(lit.span(), "empty fixture name"));
        }
        if Path::new(&name).extension().is_none() {
            name.push_str(".sql");
        }
        let in_fixtures = Path::new(&manifest_dir)
            .join("tests")
            .join("fixtures")
            .join(&name);
        let path = if !manifest_dir.is_empty() && in_fixtures.is_file() {
            in_fixtures.to_string_lossy().into_owned()
        } else {
            name.clone()
        };
        let path = LitStr::new(&path, lit.span());
        fixtures.push(quote_spanned! {lit.span()=>
            #krate::testing::Fixture { name: #name, sql: ::core::include_str!(#path) }
        });
    }

    let migrations = match &args.migrations {
        Some(lit) => {
            let dir = lit.value();
            let full = Path::new(&manifest_dir).join(&dir);
            if !manifest_dir.is_empty() && !full.is_dir() {
                return Err(syn::Error::new(
                    lit.span(),
                    format!(
                        "no migrations directory `{dir}` in this crate (the path is relative to \
                         the directory holding Cargo.toml)"
                    ),
                ));
            }
            let full = LitStr::new(&full.to_string_lossy(), lit.span());
            quote!(::core::option::Option::Some(#full))
        }
        None => quote!(::core::option::Option::None),
    };

    let flavor = match args.flavor.as_ref().map(LitStr::value).as_deref() {
        Some("multi_thread") => {
            let threads = match &args.worker_threads {
                Some(n) => quote!(::core::option::Option::Some(#n)),
                None => quote!(::core::option::Option::None),
            };
            quote!(#krate::testing::Flavor::MultiThread { worker_threads: #threads })
        }
        _ => quote!(#krate::testing::Flavor::CurrentThread),
    };

    let attrs = &func.attrs;
    let vis = &func.vis;
    let name = &sig.ident;
    let output = &sig.output;
    let inner = format_ident!("__quarry_test_body");
    let mut inner_sig = sig.clone();
    inner_sig.ident = inner.clone();
    let block = &func.block;

    let test = quote! {
        #(#attrs)*
        #[::core::prelude::v1::test]
        #vis fn #name() #output {
            #inner_sig #block
            static __QUARRY_SPEC: #krate::testing::TestSpec = #krate::testing::TestSpec {
                name: ::core::concat!(::core::module_path!(), "::", ::core::stringify!(#name)),
                migrations: #migrations,
                fixtures: &[#(#fixtures),*],
                flavor: #flavor,
            };
            #krate::testing::run(&__QUARRY_SPEC, |__quarry_db| async move {
                #inner(#(#arg_values),*).await
            })
        }
    };
    // Through `quarry`, the test passes through its `__quarry_test!`, which is the test
    // itself with the `temp-server` feature and one compile error naming it without.
    Ok(if through_facade {
        quote!(::quarry::__quarry_test! { #test })
    } else {
        test
    })
}
