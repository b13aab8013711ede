//! Arguments: evaluated once, in order, checked against the parameter types.
//!
//! Each argument becomes `let __quarry_argN = &(expr);` and a call to a no-op
//! function whose trait bound is the check (`bindable` or `same` in
//! `quarry::__private`); its `on_unimplemented` message names `$N` and both
//! types. The checks sit in `if false { }` so they cost type checking only.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};

use super::config::Config;
use super::input::{Arg, ArgType};
use super::offline::TypeDesc;
use super::types::{self, ParamCheck};

/// The code for the arguments: `let` bindings, checks, and `.bind(...)` calls.
pub(crate) struct ArgsCode {
    pub(crate) lets: TokenStream,
    pub(crate) checks: TokenStream,
    pub(crate) binds: TokenStream,
}

/// Generates the arguments; `params` are the described parameter types (`None`
/// for unchecked queries).
pub(crate) fn generate(
    args: &[Arg],
    params: Option<&[TypeDesc]>,
    config: &Config,
    sql_span: Span,
) -> syn::Result<ArgsCode> {
    let mut lets = TokenStream::new();
    let mut checks = TokenStream::new();
    let mut binds = TokenStream::new();
    for (i, arg) in args.iter().enumerate() {
        let var = format_ident!("__quarry_arg{}", i);
        let expr = &arg.expr;
        let span = arg.span;
        lets.extend(quote_spanned!(span=> let #var = &(#expr);));
        // An inet-typed value (an address, a network of ours or a feature crate's) bound
        // to a `cidr` parameter goes as `cidr`: the server's inet -> cidr cast would clear
        // its host bits silently, and `AsCidr` refuses them instead.
        let cidr = params
            .and_then(|p| p.get(i))
            .is_some_and(|p| p.oid == quarry_driver::types::Oid::CIDR.0);
        if cidr {
            binds.extend(quote!(.bind(::quarry::types::AsCidr(#var))));
        } else {
            binds.extend(quote!(.bind(#var)));
        }
        let n = i + 1;
        let check = match (&arg.ty, params) {
            (ArgType::Skip, _) | (_, None) => continue,
            (ArgType::Override(ty), _) => {
                quote_spanned!(span=> ::quarry::__private::same::<#ty, #n, _>(#var);)
            }
            (ArgType::Infer, Some(params)) => {
                let Some(param) = params.get(i) else {
                    continue;
                };
                let mapping = types::map(param, config).map_err(|why| {
                    syn::Error::new(
                        span,
                        match types::missing_feature(param) {
                            Some(feature) => format!(
                                "parameter ${n} is `{}`: enable the `{feature}` feature of \
                                 quarry to bind it, or write `value as Type`",
                                param.name
                            ),
                            None => format!("parameter ${n}: {why}\nor write `value as Type`"),
                        },
                    )
                })?;
                // A trait of this call's own carries the message, in the user's words:
                // the PostgreSQL type as the catalog names it, no internal paths.
                let message = format!(
                    "parameter ${n} is `{}`; a `{{Self}}` cannot be bound to it",
                    param.name
                );
                let label = format!("this argument is bound to ${n} (`{}`)", param.name);
                let bound = match mapping.param {
                    ParamCheck::Marker(marker) => {
                        let marker =
                            parse_type(&format!("::quarry::__private::sql::{marker}"), sql_span)?;
                        quote_spanned!(span=> ::quarry::__private::Bindable<#marker, #n>)
                    }
                    ParamCheck::Same(rust) => {
                        let rust = parse_type(&rust, sql_span)?;
                        quote_spanned!(span=> ::quarry::__private::Same<#rust, #n>)
                    }
                };
                let name = format_ident!("Parameter{}", n, span = span);
                // The argument's own span, so the error underlines it.
                let arg_var = syn::Ident::new(&var.to_string(), span);
                quote_spanned! {span=>
                    {
                        #[diagnostic::on_unimplemented(
                            message = #message,
                            label = #label,
                            note = "bind a value of a Rust type that maps to it, write `value as Type` to bind it as another type, or `value as _` to skip the check"
                        )]
                        trait #name {}
                        // Not shown in errors: the message above says it all, without
                        // the internal traits behind it.
                        #[diagnostic::do_not_recommend]
                        impl<T: ?::core::marker::Sized + #bound> #name for T {}
                        fn check<T: ?::core::marker::Sized + #name>(_: &T) {}
                        check(#arg_var);
                    }
                }
            }
        };
        checks.extend(check);
    }
    Ok(ArgsCode {
        lets,
        checks,
        binds,
    })
}

/// Parses a Rust type written as text (from the type table or `quarry.toml`).
pub(crate) fn parse_type(text: &str, span: Span) -> syn::Result<TokenStream> {
    let ty: syn::Type = syn::parse_str(text)
        .map_err(|e| syn::Error::new(span, format!("`{text}` is not a Rust type: {e}")))?;
    Ok(respan(quote!(#ty), span))
}

/// Gives every token `span`, so errors about a generated type point at the query.
pub(crate) fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut t| {
            if let proc_macro2::TokenTree::Group(g) = &t {
                let mut group = proc_macro2::Group::new(g.delimiter(), respan(g.stream(), span));
                group.set_span(span);
                t = proc_macro2::TokenTree::Group(group);
            } else {
                t.set_span(span);
            }
            t
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use quarry_driver::types::Oid;

    use super::*;
    use crate::query::offline::TypeKind;

    fn builtin(oid: Oid) -> TypeDesc {
        TypeDesc {
            oid: oid.0,
            name: oid.builtin_name().unwrap_or("?").to_owned(),
            kind: TypeKind::Builtin,
            of: None,
        }
    }

    fn arg(expr: &str, ty: ArgType) -> Arg {
        Arg {
            name: None,
            expr: syn::parse_str(expr).unwrap(),
            ty,
            span: Span::call_site(),
        }
    }

    /// A `cidr` parameter gets its argument through `AsCidr` (checked or not), so the
    /// server's inet -> cidr cast cannot clear host bits; an `inet` one does not.
    #[test]
    fn cidr_parameters_bind_as_cidr() {
        let args = [
            arg("net", ArgType::Infer),
            arg("host", ArgType::Infer),
            arg("other", ArgType::Skip),
        ];
        let params = [builtin(Oid::CIDR), builtin(Oid::INET), builtin(Oid::CIDR)];
        let code = generate(&args, Some(&params), &Config::default(), Span::call_site()).unwrap();
        let binds = code.binds.to_string().replace(' ', "");
        assert_eq!(
            binds,
            ".bind(::quarry::types::AsCidr(__quarry_arg0))\
             .bind(__quarry_arg1)\
             .bind(::quarry::types::AsCidr(__quarry_arg2))"
        );
        let unchecked = generate(&args, None, &Config::default(), Span::call_site()).unwrap();
        assert!(!unchecked.binds.to_string().contains("AsCidr"));
    }
}
