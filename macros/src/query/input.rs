//! The input of `query!` and friends: SQL (literals or a file), the record
//! type of `query_as!`, and the arguments.
//!
//! ```text
//! query!("SELECT ..." [+ "..."]* [, arg]* [,])
//! query_as!(Type, "SELECT ..." [, arg]*)
//! query_file!("queries/x.sql" [, arg]*)
//! arg := expr | expr as Type | expr as _ | name = expr [as Type]
//! ```

use std::path::PathBuf;

use proc_macro2::Span;
use syn::parse::ParseStream;
use syn::{Expr, Ident, LitStr, Token, Type};

/// What a macro produces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Output {
    /// An anonymous record struct (`query!`).
    Record,
    /// The user's type through `FromRecord` (`query_as!`).
    As,
    /// The single column's value (`query_scalar!`).
    Scalar,
}

/// Which macro was called.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Kind {
    pub(crate) output: Output,
    /// The SQL comes from a file.
    pub(crate) file: bool,
    /// Whether to describe and check at all (`*_unchecked!` do not).
    pub(crate) checked: bool,
}

/// The parsed input.
pub(crate) struct QueryInput {
    /// `query_as!`'s type.
    pub(crate) record: Option<Type>,
    /// The literals the SQL text (or the file path) was written as.
    pub(crate) literals: Vec<LitStr>,
    pub(crate) args: Vec<Arg>,
}

/// One argument.
pub(crate) struct Arg {
    /// `name = value`.
    pub(crate) name: Option<Ident>,
    pub(crate) expr: Expr,
    pub(crate) ty: ArgType,
    /// The whole argument, for errors.
    pub(crate) span: Span,
}

/// How an argument's type is checked.
pub(crate) enum ArgType {
    /// Against the parameter's type.
    Infer,
    /// `value as _`: not at all.
    Skip,
    /// `value as Type`: the value must be a `Type`; the server checks the rest.
    Override(Box<Type>),
}

impl QueryInput {
    pub(crate) fn parse(input: ParseStream<'_>, kind: Kind) -> syn::Result<QueryInput> {
        let record = if kind.output == Output::As {
            let ty: Type = input.parse()?;
            input.parse::<Token![,]>()?;
            Some(ty)
        } else {
            None
        };
        let mut literals = vec![input.parse::<LitStr>().map_err(|e| {
            let what = if kind.file {
                "a file path string literal"
            } else {
                "a SQL string literal"
            };
            syn::Error::new(e.span(), format!("expected {what}"))
        })?];
        if !kind.file {
            while input.peek(Token![+]) {
                input.parse::<Token![+]>()?;
                literals.push(input.parse()?);
            }
        }
        let mut args = Vec::new();
        while !input.is_empty() {
            input.parse::<Token![,]>()?;
            if input.is_empty() {
                break;
            }
            let expr: Expr = input.parse()?;
            args.push(Arg::from_expr(expr)?);
        }
        Ok(QueryInput {
            record,
            literals,
            args,
        })
    }

    /// The SQL text: the literals joined (for inline SQL).
    pub(crate) fn inline_sql(&self) -> String {
        self.literals.iter().map(LitStr::value).collect()
    }

    /// The file named by `query_file!`, relative to the crate's directory.
    pub(crate) fn file_path(&self, manifest_dir: &std::path::Path) -> syn::Result<PathBuf> {
        let lit = &self.literals[0];
        let rel = lit.value();
        let path = std::path::Path::new(&rel);
        if path.is_absolute() {
            return Err(syn::Error::new(
                lit.span(),
                "the path must be relative to the crate's directory (where Cargo.toml is)",
            ));
        }
        Ok(manifest_dir.join(path))
    }

    /// Where each literal starts in the joined text, and its span.
    pub(crate) fn literal_offsets(&self) -> Vec<(usize, Span)> {
        let mut at = 0;
        self.literals
            .iter()
            .map(|l| {
                let start = at;
                at += l.value().len();
                (start, l.span())
            })
            .collect()
    }
}

impl Arg {
    fn from_expr(expr: Expr) -> syn::Result<Arg> {
        let span = syn::spanned::Spanned::span(&expr);
        let (name, value) = match expr {
            Expr::Assign(assign) => match *assign.left {
                Expr::Path(p) if p.qself.is_none() && p.path.get_ident().is_some() => {
                    let ident = p.path.get_ident().cloned();
                    (ident, *assign.right)
                }
                left => {
                    return Err(syn::Error::new_spanned(
                        left,
                        "a named argument is `name = value`, with a plain name",
                    ));
                }
            },
            other => (None, other),
        };
        let (expr, ty) = match value {
            Expr::Cast(cast) => {
                let ty = match *cast.ty {
                    Type::Infer(_) => ArgType::Skip,
                    ty => ArgType::Override(Box::new(ty)),
                };
                (*cast.expr, ty)
            }
            other => (other, ArgType::Infer),
        };
        Ok(Arg {
            name,
            expr,
            ty,
            span,
        })
    }
}
