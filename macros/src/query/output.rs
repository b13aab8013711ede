//! The generated code.
//!
//! Kept small so that 100 queries type-check quickly: `query!` defines one
//! concrete struct and a direct `FromRecord` impl that decodes by position
//! (`Row::try_get_unchecked`: the types were checked at compile time), then
//! calls the runtime's `query_as::<Record>`; `query_as!` and `query_scalar!`
//! call `query_as::<T>` / `query_scalar::<T>` directly.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};

use super::config::Config;
use super::input::Output;
use super::offline::{ColumnDesc, QueryData};
use super::types;

/// A result column as the macro uses it: its name and override, parsed.
pub(crate) struct Column {
    /// The name without `!`, `?` and `: Type`.
    pub(crate) name: String,
    /// The Rust type of the field (with `Option` when nullable).
    pub(crate) ty: TokenStream,
    /// Whether the type came from an override (decoded with a run-time type check).
    pub(crate) overridden: bool,
}

/// A column's alias, split: `name`, `name!`, `name?`, `name: Type`,
/// `name!: Type`, `name?: Type`, and for arrays `name[!]` / `name[?]` (the
/// elements), also after `!` or `?`: `name![!]`.
#[derive(Debug, PartialEq)]
struct Override<'a> {
    name: &'a str,
    /// `Some(true)`: `?`, `Some(false)`: `!`.
    nullable: Option<bool>,
    /// The same for the elements of an array.
    elements_nullable: Option<bool>,
    ty: Option<&'a str>,
}

fn split_override(raw: &str) -> Override<'_> {
    let (left, ty) = match raw.split_once(':') {
        Some((l, t)) => (l.trim_end(), Some(t.trim())),
        None => (raw, None),
    };
    let (left, elements_nullable) = if let Some(l) = left.strip_suffix("[!]") {
        (l, Some(false))
    } else if let Some(l) = left.strip_suffix("[?]") {
        (l, Some(true))
    } else {
        (left, None)
    };
    let (name, nullable) = if let Some(name) = left.strip_suffix('!') {
        (name, Some(false))
    } else if let Some(name) = left.strip_suffix('?') {
        (name, Some(true))
    } else {
        (left, None)
    };
    Override {
        name,
        nullable,
        elements_nullable,
        ty,
    }
}

/// Works out each column's field name and Rust type.
pub(crate) fn columns(data: &QueryData, config: &Config, span: Span) -> syn::Result<Vec<Column>> {
    data.columns
        .iter()
        .enumerate()
        .map(|(i, c)| column(i, c, config, span))
        .collect()
}

fn column(i: usize, c: &ColumnDesc, config: &Config, span: Span) -> syn::Result<Column> {
    let Override {
        name,
        nullable: forced,
        elements_nullable,
        ty: override_ty,
    } = split_override(&c.name);
    let nullable = forced.unwrap_or(c.nullable);
    if let Some(elements) = elements_nullable {
        let mark = if elements { "[?]" } else { "[!]" };
        if !types::is_array(&c.ty) {
            return Err(syn::Error::new(
                span,
                format!(
                    "`{mark}` in `AS \"{raw}\"` is about the elements of an array, but column \
                     `{name}` is `{ty}`, not an array; remove `{mark}` (`!` or `?` before it is \
                     about the column itself)",
                    raw = c.name,
                    ty = c.ty.name,
                ),
            ));
        }
        if override_ty.is_some() {
            return Err(syn::Error::new(
                span,
                format!(
                    "`AS \"{raw}\"` says both `{mark}` and a type; the type decides the \
                     elements (`Vec<T>` or `Vec<Option<T>>`): remove `{mark}`",
                    raw = c.name,
                ),
            ));
        }
    }
    let elements_nullable = elements_nullable.unwrap_or(!c.elements_not_null);
    let (base, overridden) = match override_ty {
        Some(text) => {
            check_override(name, text, c, config, span)?;
            (super::args::parse_type(text, span)?, true)
        }
        None => {
            let mapping = types::map(&c.ty, config).map_err(|why| {
                let message = match types::missing_feature(&c.ty) {
                    Some(feature) => format!(
                        "column `{name}` is `{}`: enable the `{feature}` feature of quarry, or \
                         override the column: `AS \"{name}: Type\"`",
                        c.ty.name
                    ),
                    None => format!("column {} `{name}`: {why}", i + 1),
                };
                syn::Error::new(span, message)
            })?;
            let rust = if elements_nullable {
                types::with_nullable_elements(&c.ty, config, mapping.rust)
            } else {
                mapping.rust
            };
            (super::args::parse_type(&rust, span)?, false)
        }
    };
    let ty = if nullable {
        quote!(::std::option::Option<#base>)
    } else {
        base
    };
    Ok(Column {
        name: name.to_owned(),
        ty,
        overridden,
    })
}

/// `AS "name: T"` where `T` is a Rust type Quarry knows and the column a
/// built-in type: whether `T` reads it is known now, so a mismatch fails the
/// build instead of every row at run time. Other types (user types, newtypes)
/// are checked when rows are read.
fn check_override(
    name: &str,
    text: &str,
    c: &ColumnDesc,
    config: &Config,
    span: Span,
) -> syn::Result<()> {
    use quarry_driver::types::{Oid, Type, TypeInfo};
    if c.ty.kind != super::offline::TypeKind::Builtin {
        return Ok(());
    }
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let mut rust = compact.as_str();
    for prefix in [
        "::std::option::",
        "std::option::",
        "core::option::",
        "::core::option::",
    ] {
        rust = rust.strip_prefix(prefix).unwrap_or(rust);
    }
    if let Some(inner) = rust
        .strip_prefix("Option<")
        .and_then(|r| r.strip_suffix('>'))
    {
        rust = inner;
    }
    let rust = rust
        .replace("::std::string::", "")
        .replace("std::string::", "")
        .replace("::std::vec::", "")
        .replace("std::vec::", "");
    let info = TypeInfo::from_oid(Oid(c.ty.oid));
    macro_rules! known {
        ($($t:ty),*) => {
            match rust.as_str() {
                $(s if s == stringify!($t).replace(' ', "") => <$t as Type>::compatible(&info),)*
                _ => return Ok(()),
            }
        };
    }
    let reads = known!(
        i8,
        i16,
        i32,
        i64,
        f32,
        f64,
        bool,
        String,
        Vec<u8>,
        Vec<i16>,
        Vec<i32>,
        Vec<i64>,
        Vec<f32>,
        Vec<f64>,
        Vec<bool>,
        Vec<String>,
        Vec<Option<i16>>,
        Vec<Option<i32>>,
        Vec<Option<i64>>,
        Vec<Option<f32>>,
        Vec<Option<f64>>,
        Vec<Option<bool>>,
        Vec<Option<String>>
    );
    if reads {
        return Ok(());
    }
    let instead = types::map(&c.ty, config)
        .map(|m| format!("override it as `{}`, or ", short_path(&m.rust)))
        .unwrap_or_default();
    Err(syn::Error::new(
        span,
        format!(
            "column `{name}` is `{pg}`, which `{text}` cannot read; {instead}cast the column in \
             the SQL to a type `{text}` reads",
            pg = c.ty.name,
        ),
    ))
}

/// A Rust path as a user writes it: `::std::vec::Vec<i64>` -> `Vec<i64>`.
fn short_path(rust: &str) -> String {
    rust.replace("::std::string::", "")
        .replace("::std::vec::", "")
        .replace("::std::option::", "")
        .replace("::quarry::types::", "")
        .replace("::quarry::__private::", "")
}

/// A field identifier for a column name (`r#type` for keywords).
fn field_ident(name: &str, index: usize, span: Span) -> syn::Result<syn::Ident> {
    if let Ok(ident) = syn::parse_str::<syn::Ident>(name) {
        return Ok(syn::Ident::new(&ident.to_string(), span));
    }
    let valid_raw = !name.is_empty()
        && !matches!(name, "self" | "Self" | "super" | "crate" | "_")
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_alphanumeric() || c == '_');
    if valid_raw {
        return Ok(syn::Ident::new_raw(name, span));
    }
    // PostgreSQL calls an expression without a name `?column?` (its last `?`
    // reads as the nullable mark, so `name` is `?column` here).
    if name == "?column" {
        return Err(syn::Error::new(
            span,
            format!(
                "column {} has no name (PostgreSQL calls it `?column?`); give it an alias: \
                 `AS some_name`",
                index + 1
            ),
        ));
    }
    Err(syn::Error::new(
        span,
        format!(
            "column {} is called `{name}`, which is not a Rust field name; give it an alias: \
             `AS some_name`",
            index + 1
        ),
    ))
}

/// Everything `generate` needs.
pub(crate) struct Generate<'a> {
    pub(crate) output: Output,
    pub(crate) record: Option<&'a syn::Type>,
    pub(crate) sql: &'a str,
    pub(crate) sql_span: Span,
    pub(crate) columns: Option<Vec<Column>>,
    pub(crate) args: super::args::ArgsCode,
    /// Files whose change must re-expand the macro.
    pub(crate) tracked: Vec<String>,
}

pub(crate) fn generate(g: Generate<'_>) -> syn::Result<TokenStream> {
    let sql = proc_macro2::Literal::string(g.sql);
    let super::args::ArgsCode {
        lets,
        checks,
        binds,
    } = g.args;
    let mut tracked: TokenStream = g
        .tracked
        .iter()
        .map(|path| {
            quote!(
                const _: &[u8] = ::std::include_bytes!(#path);
            )
        })
        .collect();
    if g.columns.is_some() {
        // `cargo pgprepare` changes this on every run: cargo then re-expands the macro.
        tracked.extend(quote!(
            const _: ::std::option::Option<&str> = ::std::option_env!("PGPREPARE_RUN");
        ));
    }
    let span = g.sql_span;
    let mut column_checks = TokenStream::new();
    let mut record_check = TokenStream::new();
    let (items, call) = match (g.output, &g.columns) {
        (Output::Record, Some(columns)) if columns.is_empty() => {
            (quote!(), quote!(::quarry::__private::query(#sql)))
        }
        (Output::Record, Some(columns)) => {
            let mut fields = TokenStream::new();
            let mut decode = TokenStream::new();
            let mut seen: Vec<&str> = Vec::new();
            for (i, c) in columns.iter().enumerate() {
                if seen.contains(&c.name.as_str()) {
                    return Err(syn::Error::new(
                        span,
                        format!("two columns are called `{}`; give one an alias", c.name),
                    ));
                }
                seen.push(&c.name);
                let ident = field_ident(&c.name, i, span)?;
                let ty = &c.ty;
                fields.extend(quote!(#ident: #ty,));
                let get = if c.overridden {
                    quote!(try_get)
                } else {
                    quote!(try_get_unchecked)
                };
                decode.extend(quote!(#ident: row.#get(#i)?,));
            }
            let width = columns.len();
            let items = quote_spanned! {span=>
                #[derive(Debug)]
                #[allow(non_snake_case)]
                struct Record { #fields }
                impl<'r> ::quarry::__private::FromRecord<'r> for Record {
                    fn from_record(row: &'r ::quarry::__private::Row) -> ::quarry::__private::Result<Self> {
                        ::quarry::__private::check_width(row, #width)?;
                        ::std::result::Result::Ok(Record { #decode })
                    }
                }
            };
            (items, quote!(::quarry::__private::query_as::<Record>(#sql)))
        }
        (Output::Record, None) => (quote!(), quote!(::quarry::__private::query(#sql))),
        (Output::Scalar, Some(columns)) => {
            let [c] = columns.as_slice() else {
                return Err(syn::Error::new(
                    span,
                    format!(
                        "query_scalar! needs a query with exactly one column; this one has {}",
                        columns.len()
                    ),
                ));
            };
            let ty = &c.ty;
            (
                quote!(),
                quote!(::quarry::__private::query_scalar::<#ty>(#sql)),
            )
        }
        (Output::Scalar, None) => {
            return Err(syn::Error::new(span, "query_scalar! is always checked"));
        }
        (Output::As, columns) => {
            let record = g
                .record
                .ok_or_else(|| syn::Error::new(span, "missing type"))?;
            if let Some(columns) = columns {
                // Every column a derived record's field reads must be in the query:
                // checked in a `const`, whose panic message says which field and
                // which columns the query has.
                let names = columns.iter().map(|c| c.name.as_str());
                let record_span = syn::spanned::Spanned::span(record);
                let body = quote_spanned! {record_span=>
                    {
                        #[allow(unused_imports)]
                        use ::quarry::__private::NoRecordColumnNames as _;
                        if let ::std::option::Option::Some(m) = &::quarry::__private::missing_column(
                            ::quarry::__private::RecordColumnsProbe::<#record>::STRUCT,
                            ::quarry::__private::RecordColumnsProbe::<#record>::FIELDS,
                            &[#(#names),*],
                        ) {
                            ::std::panic!("{}", m.as_str())
                        }
                    }
                };
                if names_outer_generics(record) {
                    // A `const` item cannot name the enclosing function's generic
                    // parameters (or `Self`): an inline `const`, checked when the
                    // function is instantiated.
                    record_check = quote!(let () = const #body;);
                } else {
                    record_check = quote!(const _: () = #body;);
                }
                for c in columns {
                    let key = column_key(&c.name);
                    let ty = &c.ty;
                    let shown = short_path(&ty.to_string().replace(' ', ""));
                    let message = format!(
                        "column `{}` is `{shown}`; it cannot be read into a field of type `{{Self}}`",
                        c.name
                    );
                    let label = format!("the field for column `{}`", c.name);
                    // The field's type is the `Self` of a trait of this call's own, so the
                    // message names the column and both types, nothing internal.
                    column_checks.extend(quote_spanned! {span=>
                        {
                            #[diagnostic::on_unimplemented(
                                message = #message,
                                label = #label,
                                note = "a column that may be NULL needs an `Option<_>` field; or override the column in the SQL: `AS \"name!\"` (not null), `AS \"name: Type\"`"
                            )]
                            trait Column {}
                            // Not shown in errors: the message above says it all.
                            #[diagnostic::do_not_recommend]
                            impl<F: ::quarry::__private::Reads<#ty, ()>> Column for F {}
                            trait Field {
                                type F;
                            }
                            impl<F> Field for ::quarry::__private::Checked<F> {
                                type F = F;
                            }
                            impl Field for ::quarry::__private::Unchecked {
                                type F = #ty;
                            }
                            fn check<X: Field>(_: X)
                            where
                                X::F: Column,
                            {
                            }
                            #[allow(unused_imports)]
                            use ::quarry::__private::{ProbeField as _, ProbeNone as _};
                            check((&::quarry::__private::ColumnProbe::<#record, #key>::new()).field());
                        }
                    });
                }
            }
            (
                quote!(),
                quote!(::quarry::__private::query_as::<#record>(#sql)),
            )
        }
    };
    Ok(quote! {
        {
            #tracked
            #items
            #record_check
            #lets
            if false {
                #checks
                #column_checks
            }
            #call #binds
        }
    })
}

/// Whether a record type may name a generic parameter of the function around
/// the macro (or `Self`), which a `const` item cannot see: `Self`, or a path
/// segment named like a type parameter (`T`, `R2`).
fn names_outer_generics(ty: &syn::Type) -> bool {
    fn scan(tokens: TokenStream) -> bool {
        tokens.into_iter().any(|t| match t {
            proc_macro2::TokenTree::Ident(i) => {
                let s = i.to_string();
                let mut chars = s.chars();
                s == "Self"
                    || (chars.next().is_some_and(|c| c.is_ascii_uppercase())
                        && chars.all(|c| c.is_ascii_digit()))
            }
            proc_macro2::TokenTree::Group(g) => scan(g.stream()),
            _ => false,
        })
    }
    scan(quote!(#ty))
}

/// 64-bit FNV-1a, as `quarry::__private::column_key`.
fn column_key(name: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_in_aliases() {
        let o = |name, nullable, elements_nullable, ty| Override {
            name,
            nullable,
            elements_nullable,
            ty,
        };
        assert_eq!(split_override("id"), o("id", None, None, None));
        assert_eq!(split_override("id!"), o("id", Some(false), None, None));
        assert_eq!(split_override("id?"), o("id", Some(true), None, None));
        assert_eq!(split_override("id: i64"), o("id", None, None, Some("i64")));
        assert_eq!(
            split_override("id!: crate::Id"),
            o("id", Some(false), None, Some("crate::Id"))
        );
        assert_eq!(
            split_override("m?:Vec<Mood>"),
            o("m", Some(true), None, Some("Vec<Mood>"))
        );
        assert_eq!(
            split_override("tags[!]"),
            o("tags", None, Some(false), None)
        );
        assert_eq!(
            split_override("tags![?]"),
            o("tags", Some(false), Some(true), None)
        );
    }

    #[test]
    fn field_names() {
        let s = Span::call_site();
        assert_eq!(field_ident("id", 0, s).unwrap().to_string(), "id");
        assert_eq!(field_ident("type", 0, s).unwrap().to_string(), "r#type");
        assert!(field_ident("?column?", 0, s).is_err());
        assert!(field_ident("self", 0, s).is_err());
    }

    #[test]
    fn outer_generics() {
        let ty = |s: &str| syn::parse_str::<syn::Type>(s).unwrap();
        assert!(!names_outer_generics(&ty("User")));
        assert!(!names_outer_generics(&ty("crate::db::User")));
        assert!(!names_outer_generics(&ty("(i64, String)")));
        assert!(!names_outer_generics(&ty("Page<User>")));
        assert!(names_outer_generics(&ty("T")));
        assert!(names_outer_generics(&ty("Page<R2>")));
        assert!(names_outer_generics(&ty("Self")));
    }

    #[test]
    fn column_key_is_fnv1a() {
        // FNV-1a 64 test vectors.
        assert_eq!(column_key(""), 0xcbf29ce484222325);
        assert_eq!(column_key("a"), 0xaf63dc4c8601ec8c);
    }
}
