//! `#[derive(PgType)]`: a Rust type that is a PostgreSQL user type.
//!
//! - an enum of unit variants <-> a PostgreSQL enum (binary format: the label's bytes);
//! - a struct with named fields <-> a composite type (`record_send` format, through
//!   `CompositeEncoder` / `CompositeDecoder`);
//! - a one-field struct with `#[pg(transparent)]` <-> its field's type, or a domain
//!   over it when `type_name` is given.
//!
//! Each also implements `UserType`, the description `Connection::check_type` compares
//! with the catalog.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Data, DataEnum, DeriveInput, Fields, GenericParam, Lifetime, LitStr, Path};

use super::case::Case;
use super::{default_crate, mentions_type_param, parse_crate, set_flag, set_string};

#[derive(Default)]
struct ContainerAttrs {
    type_name: Option<LitStr>,
    rename_all: Option<Case>,
    transparent: bool,
    krate: Option<Path>,
}

fn container_attrs(input: &DeriveInput) -> syn::Result<ContainerAttrs> {
    let mut out = ContainerAttrs::default();
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("pg")) {
        attr.parse_nested_meta(|meta| {
            let p = &meta.path;
            if p.is_ident("type_name") {
                set_string(&meta, &mut out.type_name, "type_name")?;
                if let Some(lit) = &out.type_name
                    && !valid_type_name(&lit.value())
                {
                    return Err(syn::Error::new(
                        lit.span(),
                        "type_name must be a type name, optionally schema-qualified: \
                         \"mood\" or \"app.mood\"",
                    ));
                }
                Ok(())
            } else if p.is_ident("rename_all") {
                let mut lit = None;
                set_string(&meta, &mut lit, "rename_all")?;
                if out.rename_all.is_some() {
                    return Err(meta.error("duplicate `rename_all`"));
                }
                out.rename_all = lit.as_ref().map(Case::parse).transpose()?;
                Ok(())
            } else if p.is_ident("transparent") {
                set_flag(&meta, &mut out.transparent, "transparent")
            } else if p.is_ident("crate") {
                parse_crate(&meta, &mut out.krate)
            } else {
                Err(meta.error(
                    "unknown #[pg] option; expected `type_name`, `rename_all`, `transparent` \
                     or `crate`",
                ))
            }
        })?;
    }
    Ok(out)
}

/// `#[pg(rename = "...")]` on a variant or field.
fn member_rename(attrs: &[syn::Attribute]) -> syn::Result<Option<LitStr>> {
    let mut rename = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident("pg")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                set_string(&meta, &mut rename, "rename")
            } else {
                Err(meta.error("unknown #[pg] option here; expected `rename`"))
            }
        })?;
    }
    Ok(rename)
}

/// A name `to_regtype` can look up: identifiers, optionally quoted, one optional schema.
fn valid_type_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 127
        && !name.contains(['\0', ';'])
        && name.split('.').count() <= 2
        && name.split('.').all(|part| !part.trim().is_empty())
}

/// The default type name: the Rust name in snake_case.
fn default_type_name(ident: &syn::Ident) -> String {
    Case::Snake.apply(&ident.to_string())
}

pub(crate) fn derive(input: &DeriveInput) -> syn::Result<TokenStream> {
    let attrs = container_attrs(input)?;
    let krate = attrs.krate.clone().unwrap_or_else(default_crate);
    if attrs.transparent {
        if attrs.rename_all.is_some() {
            return Err(syn::Error::new(
                input.ident.span(),
                "`rename_all` has no effect on a `transparent` type",
            ));
        }
        return transparent(input, &attrs, &krate);
    }
    let type_name = attrs
        .type_name
        .as_ref()
        .map_or_else(|| default_type_name(&input.ident), LitStr::value);
    match &input.data {
        Data::Enum(data) => enumeration(input, data, &attrs, &type_name, &krate),
        Data::Struct(data) => match &data.fields {
            Fields::Named(fields) => composite(input, fields, &attrs, &type_name, &krate),
            Fields::Unnamed(f) if f.unnamed.len() == 1 => Err(syn::Error::new(
                input.ident.span(),
                "a newtype needs #[pg(transparent)] (add `type_name = \"...\"` for a domain)",
            )),
            _ => Err(syn::Error::new(
                input.ident.span(),
                "PgType needs an enum of unit variants, a struct with named fields \
                 (a composite type) or a #[pg(transparent)] newtype",
            )),
        },
        Data::Union(u) => Err(syn::Error::new(
            u.union_token.span,
            "PgType cannot be derived for a union",
        )),
    }
}

/// Generics with a decode lifetime: the type's own first lifetime, or a new one.
fn decode_generics(input: &DeriveInput) -> (syn::Generics, Lifetime) {
    let mut generics = input.generics.clone();
    match input.generics.lifetimes().next() {
        Some(l) => (generics, l.lifetime.clone()),
        None => {
            let lt = Lifetime::new("'__quarry_r", Span::call_site());
            generics.params.insert(
                0,
                GenericParam::Lifetime(syn::LifetimeParam::new(lt.clone())),
            );
            (generics, lt)
        }
    }
}

fn enumeration(
    input: &DeriveInput,
    data: &DataEnum,
    attrs: &ContainerAttrs,
    type_name: &str,
    krate: &Path,
) -> syn::Result<TokenStream> {
    if !input.generics.params.is_empty() {
        return Err(syn::Error::new(
            input.generics.span(),
            "a PostgreSQL enum cannot be generic",
        ));
    }
    if data.variants.is_empty() {
        return Err(syn::Error::new(
            input.ident.span(),
            "a PostgreSQL enum needs at least one variant",
        ));
    }
    let ident = &input.ident;
    let mut labels: Vec<String> = Vec::new();
    let mut variants = Vec::new();
    for v in &data.variants {
        if !matches!(v.fields, Fields::Unit) {
            return Err(syn::Error::new(
                v.span(),
                "a PostgreSQL enum variant cannot hold data; use unit variants",
            ));
        }
        let label = match (member_rename(&v.attrs)?, attrs.rename_all) {
            (Some(lit), _) => lit.value(),
            (None, Some(case)) => case.apply(&v.ident.to_string()),
            (None, None) => v.ident.to_string(),
        };
        // PostgreSQL accepts an empty label; NAMEDATALEN limits the length.
        if label.len() > 63 {
            return Err(syn::Error::new(
                v.span(),
                "a PostgreSQL enum label is at most 63 bytes long",
            ));
        }
        if labels.contains(&label) {
            return Err(syn::Error::new(
                v.span(),
                format!("two variants have the label {label:?}"),
            ));
        }
        labels.push(label);
        variants.push(&v.ident);
    }
    let bytes: Vec<syn::LitByteStr> = labels
        .iter()
        .map(|l| syn::LitByteStr::new(l.as_bytes(), Span::call_site()))
        .collect();
    let rust_name = ident.to_string();
    Ok(quote! {
        #[automatically_derived]
        impl #krate::types::Type for #ident {
            fn type_ref() -> #krate::types::TypeRef {
                #krate::types::TypeRef::Named(#type_name)
            }
            fn compatible(ty: &#krate::types::TypeInfo) -> bool {
                #krate::derive_support::enum_compatible(#type_name, ty)
            }
        }

        #[automatically_derived]
        impl #krate::types::Encode for #ident {
            fn encode(
                &self,
                buf: &mut #krate::types::EncodeBuf,
            ) -> ::core::result::Result<#krate::types::IsNull, #krate::types::EncodeError> {
                let label: &[u8] = match self {
                    #(Self::#variants => #bytes,)*
                };
                buf.extend_from_slice(label);
                ::core::result::Result::Ok(#krate::types::IsNull::No)
            }
            fn param_type(&self) -> #krate::types::TypeRef {
                #krate::types::TypeRef::Named(#type_name)
            }
        }

        #[automatically_derived]
        impl<'__quarry_r> #krate::types::Decode<'__quarry_r> for #ident {
            fn decode(
                value: #krate::types::ValueRef<'__quarry_r>,
            ) -> ::core::result::Result<Self, #krate::types::DecodeError> {
                match value.non_null::<Self>()? {
                    #(#bytes => ::core::result::Result::Ok(Self::#variants),)*
                    other => ::core::result::Result::Err(#krate::derive_support::unknown_label(
                        other, #rust_name, #type_name, &[#(#labels),*],
                    )),
                }
            }
        }

        #[automatically_derived]
        impl #krate::UserType for #ident {
            const TYPE_NAME: &'static str = #type_name;
            const SHAPE: #krate::UserTypeShape = #krate::UserTypeShape::Enum {
                labels: &[#(#labels),*],
            };
        }
    })
}

fn composite(
    input: &DeriveInput,
    fields: &syn::FieldsNamed,
    attrs: &ContainerAttrs,
    type_name: &str,
    krate: &Path,
) -> syn::Result<TokenStream> {
    let ident = &input.ident;
    let rust_name = ident.to_string();
    let mut names: Vec<String> = Vec::new();
    let mut members = Vec::new();
    let mut types = Vec::new();
    for f in &fields.named {
        let field_ident = f
            .ident
            .as_ref()
            .ok_or_else(|| syn::Error::new(f.span(), "a composite field needs a name"))?;
        let name = match (member_rename(&f.attrs)?, attrs.rename_all) {
            (Some(lit), _) => lit.value(),
            (None, Some(case)) => case.apply(&field_ident.to_string()),
            (None, None) => {
                let s = field_ident.to_string();
                s.strip_prefix("r#").unwrap_or(&s).to_owned()
            }
        };
        if names.contains(&name) {
            return Err(syn::Error::new(
                f.span(),
                format!("two fields have the name {name:?}"),
            ));
        }
        names.push(name);
        members.push(field_ident);
        types.push(&f.ty);
    }
    let n = names.len();
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let mut type_preds: Vec<TokenStream> = where_clause
        .map(|w| w.predicates.iter().map(|p| quote!(#p)).collect())
        .unwrap_or_default();
    let mut encode_preds = type_preds.clone();
    let mut decode_preds = type_preds.clone();
    for ty in types
        .iter()
        .filter(|t| mentions_type_param(t, &input.generics))
    {
        type_preds.push(quote_spanned!(ty.span()=> #ty: #krate::types::Type));
        encode_preds
            .push(quote_spanned!(ty.span()=> #ty: #krate::types::Encode + #krate::types::Type));
        decode_preds.push(quote_spanned!(ty.span()=>
            #ty: for<'__quarry_a> #krate::types::Decode<'__quarry_a> + #krate::types::Type));
    }
    let (decode_generics, lt) = decode_generics(input);
    let (decode_impl_generics, _, _) = decode_generics.split_for_impl();
    let indices = 0..n;

    Ok(quote! {
        #[automatically_derived]
        impl #impl_generics #krate::types::Type for #ident #ty_generics
        where #(#type_preds,)*
        {
            fn type_ref() -> #krate::types::TypeRef {
                #krate::types::TypeRef::Named(#type_name)
            }
            fn compatible(ty: &#krate::types::TypeInfo) -> bool {
                #krate::derive_support::composite_compatible(#type_name, ty)
            }
        }

        #[automatically_derived]
        impl #impl_generics #krate::types::Encode for #ident #ty_generics
        where #(#encode_preds,)*
        {
            fn encode(
                &self,
                buf: &mut #krate::types::EncodeBuf,
            ) -> ::core::result::Result<#krate::types::IsNull, #krate::types::EncodeError> {
                let mut record = #krate::types::CompositeEncoder::new(buf);
                #(
                    record.field(&self.#members).map_err(|e| {
                        #krate::derive_support::field_encode_error(#type_name, #names, e)
                    })?;
                )*
                record.finish()
            }
            fn param_type(&self) -> #krate::types::TypeRef {
                #krate::types::TypeRef::Named(#type_name)
            }
            fn size_hint(&self) -> usize {
                4 #( + 8 + #krate::types::Encode::size_hint(&self.#members) )*
            }
        }

        #[automatically_derived]
        impl #decode_impl_generics #krate::types::Decode<#lt> for #ident #ty_generics
        where #(#decode_preds,)*
        {
            fn decode(
                value: #krate::types::ValueRef<#lt>,
            ) -> ::core::result::Result<Self, #krate::types::DecodeError> {
                if value.is_null() {
                    return ::core::result::Result::Err(
                        #krate::types::DecodeError::unexpected_null::<Self>(),
                    );
                }
                let mut record = #krate::types::CompositeDecoder::new(value)?;
                record.expect_fields(#n, #rust_name)?;
                let result = Self {
                    #(
                        #members: record.read::<#types>().map_err(|e| {
                            #krate::derive_support::field_decode_error(#type_name, #names, #indices, e)
                        })?,
                    )*
                };
                record.finish()?;
                ::core::result::Result::Ok(result)
            }
        }

        #[automatically_derived]
        impl #impl_generics #krate::UserType for #ident #ty_generics
        where #(#type_preds,)*
        {
            const TYPE_NAME: &'static str = #type_name;
            const SHAPE: #krate::UserTypeShape = #krate::UserTypeShape::Composite {
                fields: &[
                    #(
                        #krate::CompositeField::new(
                            #names,
                            ::core::stringify!(#types),
                            <#types as #krate::types::Type>::compatible,
                        ),
                    )*
                ],
            };
        }
    })
}

fn transparent(
    input: &DeriveInput,
    attrs: &ContainerAttrs,
    krate: &Path,
) -> syn::Result<TokenStream> {
    let Data::Struct(data) = &input.data else {
        return Err(syn::Error::new(
            input.ident.span(),
            "`transparent` needs a struct with exactly one field",
        ));
    };
    let mut iter = data.fields.iter();
    let (Some(field), None) = (iter.next(), iter.next()) else {
        return Err(syn::Error::new(
            input.ident.span(),
            "`transparent` needs a struct with exactly one field",
        ));
    };
    for f in data.fields.iter() {
        member_rename(&f.attrs)?;
    }
    let ident = &input.ident;
    let inner = &field.ty;
    let member = match &field.ident {
        Some(i) => quote!(#i),
        None => quote!(0),
    };
    let construct = match &field.ident {
        Some(i) => quote!(Self { #i: v }),
        None => quote!(Self(v)),
    };
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let base: Vec<TokenStream> = where_clause
        .map(|w| w.predicates.iter().map(|p| quote!(#p)).collect())
        .unwrap_or_default();
    let (decode_generics, lt) = decode_generics(input);
    let (decode_impl_generics, _, _) = decode_generics.split_for_impl();
    let (type_pred, encode_pred, decode_pred) = if mentions_type_param(inner, &input.generics) {
        (
            quote_spanned!(inner.span()=> #inner: #krate::types::Type),
            quote_spanned!(inner.span()=> #inner: #krate::types::Encode),
            quote_spanned!(inner.span()=> #inner: #krate::types::Decode<#lt>),
        )
    } else {
        (quote!(), quote!(), quote!())
    };

    let (type_impl, param_type, user_type) = match &attrs.type_name {
        // A domain: sent as the domain, read from the domain or its base type.
        Some(lit) => {
            let name = lit.value();
            (
                quote! {
                    fn type_ref() -> #krate::types::TypeRef {
                        #krate::types::TypeRef::Named(#name)
                    }
                    fn compatible(ty: &#krate::types::TypeInfo) -> bool {
                        #krate::types::type_ref_accepts(#krate::types::TypeRef::Named(#name), ty)
                            || <#inner as #krate::types::Type>::compatible(ty)
                    }
                },
                quote!(#krate::types::TypeRef::Named(#name)),
                quote! {
                    #[automatically_derived]
                    impl #impl_generics #krate::UserType for #ident #ty_generics
                    where #(#base,)* #type_pred
                    {
                        const TYPE_NAME: &'static str = #name;
                        const SHAPE: #krate::UserTypeShape = #krate::UserTypeShape::Domain {
                            base: <#inner as #krate::types::Type>::compatible,
                        };
                    }
                },
            )
        }
        // The field's own type in every respect.
        None => (
            quote! {
                fn type_ref() -> #krate::types::TypeRef {
                    <#inner as #krate::types::Type>::type_ref()
                }
                fn compatible(ty: &#krate::types::TypeInfo) -> bool {
                    <#inner as #krate::types::Type>::compatible(ty)
                }
                fn array_type_ref() -> #krate::types::TypeRef {
                    <#inner as #krate::types::Type>::array_type_ref()
                }
            },
            quote!(#krate::types::Encode::param_type(&self.#member)),
            quote!(),
        ),
    };

    Ok(quote! {
        #[automatically_derived]
        impl #impl_generics #krate::types::Type for #ident #ty_generics
        where #(#base,)* #type_pred
        {
            #type_impl
        }

        #[automatically_derived]
        impl #impl_generics #krate::types::Encode for #ident #ty_generics
        where #(#base,)* #encode_pred
        {
            fn encode(
                &self,
                buf: &mut #krate::types::EncodeBuf,
            ) -> ::core::result::Result<#krate::types::IsNull, #krate::types::EncodeError> {
                #krate::types::Encode::encode(&self.#member, buf)
            }
            fn param_type(&self) -> #krate::types::TypeRef {
                #param_type
            }
            fn size_hint(&self) -> usize {
                #krate::types::Encode::size_hint(&self.#member)
            }
        }

        #[automatically_derived]
        impl #decode_impl_generics #krate::types::Decode<#lt> for #ident #ty_generics
        where #(#base,)* #decode_pred
        {
            fn decode(
                value: #krate::types::ValueRef<#lt>,
            ) -> ::core::result::Result<Self, #krate::types::DecodeError> {
                <#inner as #krate::types::Decode<#lt>>::decode(value).map(|v| #construct)
            }
        }

        #user_type
    })
}
