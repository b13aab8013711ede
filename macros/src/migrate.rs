//! `migrate!("dir")`: the migrations of a folder, embedded at compile time.
//!
//! The folder is read here with the driver's own reader (`Migrator::new`), so a name the
//! runner would refuse is a compile error; each file is then `include_str!`-ed, which
//! makes Cargo rebuild when one changes.

use std::path::Path;

use proc_macro2::TokenStream;
use quote::quote;
use syn::LitStr;
use syn::parse::{Parse, ParseStream};

struct Args {
    dir: LitStr,
    krate: syn::Path,
}

impl Parse for Args {
    fn parse(input: ParseStream<'_>) -> syn::Result<Args> {
        let dir = if input.is_empty() {
            LitStr::new("migrations", proc_macro2::Span::call_site())
        } else {
            input.parse()?
        };
        let mut krate: syn::Path = syn::parse_quote!(::quarry);
        if input.parse::<Option<syn::Token![,]>>()?.is_some() && !input.is_empty() {
            let key: syn::Ident = input.parse()?;
            if key != "crate" {
                return Err(syn::Error::new(key.span(), "expected `crate = path`"));
            }
            input.parse::<syn::Token![=]>()?;
            let lit: LitStr = input.parse()?;
            krate = lit.parse()?;
            input.parse::<Option<syn::Token![,]>>()?;
        }
        Ok(Args { dir, krate })
    }
}

pub(crate) fn expand(input: TokenStream) -> TokenStream {
    match expand_inner(input) {
        Ok(t) => t,
        Err(e) => e.to_compile_error(),
    }
}

fn expand_inner(input: TokenStream) -> syn::Result<TokenStream> {
    let Args { dir, krate } = syn::parse2(input)?;
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let full = Path::new(&manifest_dir).join(dir.value());
    if !manifest_dir.is_empty() && !full.is_dir() {
        return Err(syn::Error::new(
            dir.span(),
            format!(
                "no migrations folder `{}` in this crate (the path is relative to the \
                 directory holding Cargo.toml)",
                dir.value()
            ),
        ));
    }
    let migrator = quarry_driver::migrate::Migrator::new(&full).map_err(|e| {
        syn::Error::new(
            dir.span(),
            format!(
                "{} (the path is relative to the directory holding Cargo.toml)",
                e.display_chain()
            ),
        )
    })?;
    let mut files = Vec::new();
    for m in migrator.migrations() {
        let mut names = vec![m.file()];
        if let Some((down, _)) = m.down() {
            names.push(down);
        }
        for name in names {
            let path = full.join(name);
            let path = LitStr::new(&path.to_string_lossy(), dir.span());
            files.push(quote!((#name, ::core::include_str!(#path))));
        }
    }
    Ok(quote! {
        #krate::migrate::Migrator::__embedded(&[#(#files),*])
    })
}
