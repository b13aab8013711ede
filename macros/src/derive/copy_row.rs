//! `#[derive(CopyRow)]`: a struct as one row of a binary COPY, fields in declaration
//! order as the COPY's columns (write with `copy_in::<T>`, read with `copy_out::<T>`).

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields};

pub(crate) fn derive(input: &DeriveInput) -> syn::Result<TokenStream> {
    let mut krate = super::default_crate();
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("quarry")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("crate") {
                let lit: syn::LitStr = meta.value()?.parse()?;
                krate = lit.parse()?;
                Ok(())
            } else {
                Err(meta.error("CopyRow takes only `#[quarry(crate = \"path\")]`"))
            }
        })?;
    }
    let Data::Struct(data) = &input.data else {
        return Err(syn::Error::new(
            input.ident.span(),
            "CopyRow can be derived for structs only (fields are the COPY's columns, in order)",
        ));
    };
    let fields: Vec<(TokenStream, &syn::Type)> = match &data.fields {
        Fields::Named(f) => f
            .named
            .iter()
            .map(|f| {
                let ident = f.ident.as_ref().map(|i| quote!(#i)).unwrap_or_default();
                (ident, &f.ty)
            })
            .collect(),
        Fields::Unnamed(f) => f
            .unnamed
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let index = syn::Index::from(i);
                (quote!(#index), &f.ty)
            })
            .collect(),
        Fields::Unit => {
            return Err(syn::Error::new(
                input.ident.span(),
                "CopyRow needs at least one field (one per column)",
            ));
        }
    };
    if fields.is_empty() {
        return Err(syn::Error::new(
            input.ident.span(),
            "CopyRow needs at least one field (one per column)",
        ));
    }
    if input.generics.params.iter().next().is_some() {
        return Err(syn::Error::new(
            input.generics.span(),
            "CopyRow cannot be derived for generic structs; write the impl by hand",
        ));
    }
    let ident = &input.ident;
    let count = fields.len();
    let types: Vec<&syn::Type> = fields.iter().map(|(_, t)| *t).collect();
    let members: Vec<&TokenStream> = fields.iter().map(|(m, _)| m).collect();
    let indices: Vec<usize> = (0..count).collect();
    // Every use of a field's type is spanned to that field, so a type without a
    // codec is reported on the field that declares it rather than on the derive.
    // No where-clause: the struct is not generic, so the bounds would be trivial
    // and rustc would report them at the derive.
    let type_refs = types
        .iter()
        .map(|t| quote_spanned!(t.span()=> <#t as #krate::types::Type>::type_ref()));
    let compatibles = types
        .iter()
        .map(|t| quote_spanned!(t.span()=> <#t as #krate::types::Type>::compatible(ty)));
    let encodes = fields.iter().map(|(m, t)| {
        quote_spanned!(t.span()=> #krate::copy::RowEncoder::field::<#t>(__row, &self.#m)?;)
    });
    let decodes: Vec<TokenStream> = types
        .iter()
        .map(|t| quote_spanned!(t.span()=> #krate::copy::RowDecoder::field::<#t>(__row)?))
        .collect();
    let construct = match &data.fields {
        Fields::Named(_) => quote!(#ident { #(#members: #decodes,)* }),
        _ => quote!(#ident ( #(#decodes,)* )),
    };
    Ok(quote! {
        #[automatically_derived]
        impl #krate::CopyRow for #ident {
            const COLUMNS: usize = #count;
            fn column_types() -> ::std::vec::Vec<#krate::types::TypeRef> {
                ::std::vec![#(#type_refs),*]
            }
            fn compatible(column: usize, ty: &#krate::types::TypeInfo) -> bool {
                match column {
                    #(#indices => #compatibles,)*
                    _ => false,
                }
            }
            fn encode_row(
                &self,
                __row: &mut #krate::copy::RowEncoder<'_>,
            ) -> ::core::result::Result<(), #krate::types::EncodeError> {
                #(#encodes)*
                ::core::result::Result::Ok(())
            }
        }

        #[automatically_derived]
        impl #krate::FromCopyRow for #ident {
            const COLUMNS: usize = #count;
            fn decode_row(__row: &mut #krate::copy::RowDecoder<'_>) -> #krate::Result<Self> {
                ::core::result::Result::Ok(#construct)
            }
        }
    })
}
