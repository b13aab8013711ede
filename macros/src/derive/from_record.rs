//! `#[derive(FromRecord)]`: build a struct from a row.
//!
//! Named fields are read by column name (after `rename` / `rename_all`), tuple
//! struct fields by position. Column names are resolved to positions once per
//! result shape, not once per row: the generated code keeps the positions in a
//! thread-local cache keyed by the result's column set (see
//! `quarry_driver::derive_support::column_indices`).

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields, GenericParam, Lifetime, LitStr, Path, Type};

use super::case::Case;
use super::{default_crate, mentions_type_param, parse_crate, set_flag, set_string};

/// Options on the struct: `#[quarry(rename_all = "...", crate = "...")]`.
#[derive(Default)]
struct ContainerAttrs {
    rename_all: Option<Case>,
    krate: Option<Path>,
}

/// Options on a field.
#[derive(Default)]
struct FieldAttrs {
    rename: Option<LitStr>,
    default: bool,
    flatten: bool,
    skip: bool,
    try_from: Option<Type>,
    json: bool,
}

fn container_attrs(input: &DeriveInput) -> syn::Result<ContainerAttrs> {
    let mut out = ContainerAttrs::default();
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("quarry")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename_all") {
                let mut lit = None;
                set_string(&meta, &mut lit, "rename_all")?;
                if out.rename_all.is_some() {
                    return Err(meta.error("duplicate `rename_all`"));
                }
                out.rename_all = lit.as_ref().map(Case::parse).transpose()?;
                Ok(())
            } else if meta.path.is_ident("crate") {
                parse_crate(&meta, &mut out.krate)
            } else {
                Err(meta.error(
                    "unknown #[quarry] option on a struct; expected `rename_all` or `crate`",
                ))
            }
        })?;
    }
    Ok(out)
}

fn field_attrs(field: &syn::Field) -> syn::Result<FieldAttrs> {
    let mut out = FieldAttrs::default();
    for attr in field.attrs.iter().filter(|a| a.path().is_ident("quarry")) {
        attr.parse_nested_meta(|meta| {
            let p = &meta.path;
            if p.is_ident("rename") {
                set_string(&meta, &mut out.rename, "rename")
            } else if p.is_ident("default") {
                set_flag(&meta, &mut out.default, "default")
            } else if p.is_ident("flatten") {
                set_flag(&meta, &mut out.flatten, "flatten")
            } else if p.is_ident("skip") {
                set_flag(&meta, &mut out.skip, "skip")
            } else if p.is_ident("json") {
                set_flag(&meta, &mut out.json, "json")
            } else if p.is_ident("try_from") {
                let mut lit = None;
                set_string(&meta, &mut lit, "try_from")?;
                if out.try_from.is_some() {
                    return Err(meta.error("duplicate `try_from`"));
                }
                out.try_from = lit.map(|l| l.parse::<Type>()).transpose()?;
                Ok(())
            } else {
                Err(meta.error(
                    "unknown #[quarry] option on a field; expected one of `rename`, `default`, \
                     `flatten`, `skip`, `try_from`, `json`",
                ))
            }
        })?;
    }
    let span = field.span();
    let conflict = |what: &str| Err(syn::Error::new(span, what.to_owned()));
    if out.skip
        && (out.rename.is_some()
            || out.default
            || out.flatten
            || out.json
            || out.try_from.is_some())
    {
        return conflict("`skip` cannot be combined with other options: the field is not read");
    }
    if out.flatten && (out.rename.is_some() || out.default || out.json || out.try_from.is_some()) {
        return conflict(
            "`flatten` cannot be combined with `rename`, `default`, `json` or `try_from`: \
             the field is built from the whole row",
        );
    }
    if out.json && out.try_from.is_some() {
        return conflict("`json` and `try_from` cannot be combined; pick one conversion");
    }
    Ok(out)
}

pub(crate) fn derive(input: &DeriveInput) -> syn::Result<TokenStream> {
    let container = container_attrs(input)?;
    let krate = container.krate.clone().unwrap_or_else(default_crate);
    let data = match &input.data {
        Data::Struct(s) => s,
        Data::Enum(e) => {
            return Err(syn::Error::new(
                e.enum_token.span,
                "FromRecord can be derived for structs only; an enum column is #[derive(PgType)]",
            ));
        }
        Data::Union(u) => {
            return Err(syn::Error::new(
                u.union_token.span,
                "FromRecord can be derived for structs only",
            ));
        }
    };

    // The row lifetime: the struct's first lifetime (so fields can borrow from the row), or a new one.
    let row_lt = input
        .generics
        .lifetimes()
        .next()
        .map(|l| l.lifetime.clone());
    let (lt, fresh) = match row_lt {
        Some(l) => (l, false),
        None => (Lifetime::new("'__quarry_row", Span::call_site()), true),
    };

    let named = matches!(data.fields, Fields::Named(_));
    if !named && container.rename_all.is_some() {
        return Err(syn::Error::new(
            input.ident.span(),
            "`rename_all` needs named fields; a tuple struct reads columns by position",
        ));
    }

    let mut names: Vec<String> = Vec::new();
    let mut inits: Vec<TokenStream> = Vec::new();
    // (column name, type read from it) for `query_as!`'s compile-time column checks.
    let mut record_fields: Vec<(String, syn::Type)> = Vec::new();
    // (field, column, how the column was named): the columns a query must return.
    let mut required: Vec<(String, String, TokenStream)> = Vec::new();
    let mut bounds: Vec<TokenStream> = Vec::new();
    let mut positional = 0usize;

    for (i, field) in data.fields.iter().enumerate() {
        let attrs = field_attrs(field)?;
        let ty = &field.ty;
        let generic = mentions_type_param(ty, &input.generics)
            || attrs
                .try_from
                .as_ref()
                .is_some_and(|t| mentions_type_param(t, &input.generics));
        let mut bound = |b: TokenStream| {
            if generic {
                bounds.push(b);
            }
        };
        let member = match &field.ident {
            Some(ident) => quote!(#ident),
            None => {
                let index = syn::Index::from(i);
                quote!(#index)
            }
        };
        if attrs.skip {
            bound(quote_spanned!(ty.span()=> #ty: ::core::default::Default));
            inits.push(quote_spanned!(ty.span()=> #member: ::core::default::Default::default()));
            continue;
        }
        if attrs.flatten {
            bound(quote_spanned!(ty.span()=> #ty: #krate::FromRecord<#lt>));
            inits.push(quote_spanned!(ty.span()=> #member: <#ty as #krate::FromRecord<#lt>>::from_record(__row)?));
            continue;
        }
        if !named && attrs.rename.is_some() {
            return Err(syn::Error::new(
                field.span(),
                "`rename` needs a named field; a tuple struct reads columns by position",
            ));
        }
        if !named && attrs.default {
            return Err(syn::Error::new(
                field.span(),
                "`default` needs a named field; a tuple struct reads columns by position",
            ));
        }

        // Which column: a slot in the cached name -> position table, or a fixed position.
        let (column, name_for_errors) = if named {
            let ident = field
                .ident
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default();
            let name = match (&attrs.rename, container.rename_all) {
                (Some(lit), _) => lit.value(),
                (None, Some(case)) => case.apply(&ident),
                (None, None) => ident.strip_prefix("r#").unwrap_or(&ident).to_owned(),
            };
            let slot = names.len();
            names.push(name.clone());
            if !attrs.default {
                let naming = match (&attrs.rename, container.rename_all) {
                    (Some(_), _) => quote!(Rename),
                    (None, Some(_)) => quote!(RenameAll),
                    (None, None) => quote!(Field),
                };
                let field_name = ident.strip_prefix("r#").unwrap_or(&ident).to_owned();
                required.push((field_name, name.clone(), naming));
            }
            if !attrs.json && !record_fields.iter().any(|(c, _)| *c == name) {
                let read_ty = attrs.try_from.clone().unwrap_or_else(|| ty.clone());
                record_fields.push((name.clone(), read_ty));
            }
            (quote!(__idx[#slot]), name)
        } else {
            let pos = positional;
            positional += 1;
            (quote!(::core::option::Option::Some(#pos)), pos.to_string())
        };

        // How the value is read once the column is known.
        let read = if attrs.json {
            bound(quote_spanned!(ty.span()=>
                #ty: #krate::derive_support::JsonDeserialize<#lt>));
            quote_spanned!(ty.span()=> #krate::derive_support::json::<#ty>(__row, __i)?)
        } else if let Some(src) = &attrs.try_from {
            bound(quote_spanned!(src.span()=>
                #src: #krate::types::Decode<#lt> + #krate::types::Type));
            bound(quote_spanned!(ty.span()=>
                #ty: ::core::convert::TryFrom<#src>));
            bound(quote_spanned!(ty.span()=>
                <#ty as ::core::convert::TryFrom<#src>>::Error: ::core::fmt::Display));
            quote_spanned!(ty.span()=> #krate::derive_support::convert::<#src, #ty>(
                __row, __i, __row.try_get::<#src, usize>(__i)?)?)
        } else {
            bound(quote_spanned!(ty.span()=>
                #ty: #krate::types::Decode<#lt> + #krate::types::Type));
            quote_spanned!(ty.span()=> __row.try_get::<#ty, usize>(__i)?)
        };
        let missing = if attrs.default {
            bound(quote_spanned!(ty.span()=> #ty: ::core::default::Default));
            quote_spanned!(ty.span()=> ::core::default::Default::default())
        } else {
            quote!(return ::core::result::Result::Err(
                #krate::derive_support::missing_column(__row, #name_for_errors)))
        };
        inits.push(quote! {
            #member: match #column {
                ::core::option::Option::Some(__i) => #read,
                ::core::option::Option::None => #missing,
            }
        });
    }

    let ident = &input.ident;
    let mut generics = input.generics.clone();
    if fresh {
        generics.params.insert(
            0,
            GenericParam::Lifetime(syn::LifetimeParam::new(lt.clone())),
        );
    }
    let (impl_generics, _, _) = generics.split_for_impl();
    let (_, ty_generics, where_clause) = input.generics.split_for_impl();
    let mut predicates: Vec<TokenStream> = where_clause
        .map(|w| w.predicates.iter().map(|p| quote!(#p)).collect())
        .unwrap_or_default();
    predicates.extend(bounds);

    let n = names.len();
    let lookup = if n == 0 {
        quote!()
    } else {
        quote! {
            ::std::thread_local! {
                static __QUARRY_COLUMNS: #krate::derive_support::ColumnCache<#n> =
                    const { #krate::derive_support::ColumnCache::new() };
            }
            let __idx: [::core::option::Option<usize>; #n] =
                #krate::derive_support::column_indices(__row, &__QUARRY_COLUMNS, &[#(#names),*]);
        }
    };
    // A tuple struct reads by position: the row must have exactly its columns.
    let count_check = if named {
        quote!()
    } else {
        quote!(#krate::derive_support::expect_columns(__row, #positional, ::core::stringify!(#ident))?;)
    };
    let body = match &data.fields {
        Fields::Unit => quote!(::core::result::Result::Ok(#ident)),
        _ => quote!(::core::result::Result::Ok(#ident { #(#inits,)* })),
    };

    // `query_as!` checks each column it knows against the field of that name through
    // `RecordField` (in the facade's `__private`, so only with the default crate path).
    let field_impls: Vec<TokenStream> = if container.krate.is_none() {
        let (rf_impl_generics, _, rf_where) = input.generics.split_for_impl();
        record_fields
            .iter()
            .map(|(column, read_ty)| {
                quote! {
                    #[automatically_derived]
                    impl #rf_impl_generics ::quarry::__private::RecordField<
                        { ::quarry::__private::column_key(#column) }
                    > for #ident #ty_generics #rf_where {
                        type Type = #read_ty;
                    }
                }
            })
            .collect()
    } else {
        Vec::new()
    };

    // ... and that the query returns every column a field needs (checked in a
    // `const` item by `query_as!`, which knows the query's columns).
    let columns_impl = if container.krate.is_none() && named {
        let (plain_impl_generics, _, plain_where) = input.generics.split_for_impl();
        let struct_name = ident.to_string();
        let struct_name = struct_name.strip_prefix("r#").unwrap_or(&struct_name);
        let fields = required.iter().map(|(field, column, naming)| {
            quote!((#field, #column, ::quarry::__private::Naming::#naming))
        });
        quote! {
            #[automatically_derived]
            impl #plain_impl_generics ::quarry::__private::RecordColumnNames for #ident #ty_generics
                #plain_where
            {
                const STRUCT: &'static str = #struct_name;
                const FIELDS: &'static [(&'static str, &'static str, ::quarry::__private::Naming)] =
                    &[#(#fields),*];
            }
        }
    } else {
        quote!()
    };

    Ok(quote! {
        #(#field_impls)*
        #columns_impl

        #[automatically_derived]
        impl #impl_generics #krate::FromRecord<#lt> for #ident #ty_generics
        where
            #(#predicates,)*
        {
            fn from_record(__row: &#lt #krate::Row) -> #krate::Result<Self> {
                #count_check
                #lookup
                #body
            }
        }
    })
}
