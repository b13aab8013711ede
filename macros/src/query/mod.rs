//! `query!` and friends: read the input, describe the query (online or from the
//! offline cache), generate the code.
//!
//! Environment (read when a macro expands):
//!
//! | variable | meaning |
//! |---|---|
//! | `DATABASE_URL` | describe queries against this server (online) |
//! | `PGPREPARE_OFFLINE` | `true`/`1`: never connect; use `.pgprepare/` |
//! | `PGPREPARE_OFFLINE_DIR` | read offline files from this directory only |
//! | `PGPREPARE_WRITE` | online: also write each description into this directory (`cargo pgprepare` sets it) |
//! | `PGPREPARE_TIMEOUT` | seconds for connecting and for each description (default 10) |

mod aliases;
mod args;
mod config;
mod describe;
mod input;
mod nullability;
mod offline;
mod output;
mod sql;
mod types;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::time::Duration;

use proc_macro2::{Span, TokenStream};
use syn::parse::Parser;

pub(crate) use input::{Kind, Output};

use config::Config;
use describe::DescribeError;
use input::{Arg, QueryInput};
use offline::{LoadError, QueryData};

/// Expands one macro call.
pub(crate) fn expand(tokens: TokenStream, kind: Kind) -> TokenStream {
    match expand_inner(tokens, kind) {
        Ok(code) => code,
        Err(e) => e.to_compile_error(),
    }
}

fn expand_inner(tokens: TokenStream, kind: Kind) -> syn::Result<TokenStream> {
    let parser = |input: syn::parse::ParseStream<'_>| QueryInput::parse(input, kind);
    let mut input = parser.parse2(tokens)?;
    let first = input.literals[0].span();
    let manifest_dir =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").map_err(|_| {
            syn::Error::new(first, "CARGO_MANIFEST_DIR is not set: build with cargo")
        })?);

    let mut tracked = Vec::new();
    let (sql, file) = if kind.file {
        let path = input.file_path(&manifest_dir)?;
        let text = std::fs::read_to_string(&path)
            .map_err(|e| syn::Error::new(first, format!("cannot read {}: {e}", path.display())))?;
        tracked.push(path.display().to_string());
        (text, Some(path))
    } else {
        (input.inline_sql(), None)
    };

    let (sql, rewritten) = named_parameters(&sql, &mut input, first)?;
    let locate = Locate {
        input: &input,
        file: file.as_deref(),
        original: &sql,
        rewritten: rewritten.as_ref(),
    };
    let sql = rewritten.as_ref().map_or(sql.clone(), |r| r.sql.clone());

    if !kind.checked {
        let args = args::generate(&input.args, None, &Config::default(), first)?;
        return output::generate(output::Generate {
            output: kind.output,
            record: input.record.as_ref(),
            sql: &sql,
            sql_span: first,
            columns: None,
            args,
            tracked,
        });
    }

    let (config, config_file) =
        Config::load(&manifest_dir).map_err(|e| syn::Error::new(first, e))?;
    if let Some(path) = config_file {
        tracked.push(path.display().to_string());
    }
    let data = description(&sql, &manifest_dir, &locate, &mut tracked)?;

    if data.params.len() != input.args.len() {
        let span = input.args.get(data.params.len()).map_or(first, |a| a.span);
        return Err(syn::Error::new(
            span,
            format!(
                "the query has {} parameter{} but {} argument{} {} given",
                data.params.len(),
                if data.params.len() == 1 { "" } else { "s" },
                input.args.len(),
                if input.args.len() == 1 { "" } else { "s" },
                if input.args.len() == 1 { "was" } else { "were" },
            ),
        ));
    }
    let args = args::generate(&input.args, Some(&data.params), &config, first)?;
    let columns = output::columns(&data, &config, first)?;
    output::generate(output::Generate {
        output: kind.output,
        record: input.record.as_ref(),
        sql: &sql,
        sql_span: first,
        columns: Some(columns),
        args,
        tracked,
    })
}

/// Rewrites `:name` parameters when the arguments are named, and puts the
/// arguments in parameter order.
fn named_parameters(
    sql: &str,
    input: &mut QueryInput,
    span: Span,
) -> syn::Result<(String, Option<sql::Rewritten>)> {
    let named = input.args.iter().filter(|a| a.name.is_some()).count();
    if named == 0 {
        return Ok((sql.to_owned(), None));
    }
    if named != input.args.len() {
        return Err(syn::Error::new(
            span,
            "either name every argument (`id = value` for `:id`) or none (for `$1`, `$2`)",
        ));
    }
    if sql::has_positional(sql) {
        return Err(syn::Error::new(
            span,
            "named arguments are for `:name` parameters, but the query uses `$n` parameters",
        ));
    }
    let rewritten = sql::rewrite_named(sql);
    let mut args: Vec<Option<Arg>> = std::mem::take(&mut input.args)
        .into_iter()
        .map(Some)
        .collect();
    let mut ordered = Vec::with_capacity(rewritten.names.len());
    for name in &rewritten.names {
        let found = args.iter_mut().find(|a| {
            a.as_ref()
                .and_then(|a| a.name.as_ref())
                .is_some_and(|n| n == name)
        });
        match found.and_then(Option::take) {
            Some(arg) => ordered.push(arg),
            None => {
                return Err(syn::Error::new(
                    span,
                    format!("the query uses `:{name}` but no argument `{name} = ...` was given"),
                ));
            }
        }
    }
    if let Some(extra) = args.into_iter().flatten().next() {
        let name = extra
            .name
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        return Err(syn::Error::new(
            extra.span,
            format!("argument `{name}` is not used: the query has no `:{name}`"),
        ));
    }
    input.args = ordered;
    Ok((sql.to_owned(), Some(rewritten)))
}

/// Where in the user's source a position of the SQL text is.
struct Locate<'a> {
    input: &'a QueryInput,
    file: Option<&'a Path>,
    /// The text as written.
    original: &'a str,
    rewritten: Option<&'a sql::Rewritten>,
}

impl Locate<'_> {
    /// The span and a psql-style excerpt for PostgreSQL's 1-based character position
    /// in the text that was sent.
    fn at(&self, sent: &str, position: usize) -> (Span, String) {
        let Some(byte) = sql::byte_offset(sent, position) else {
            return (self.input.literals[0].span(), String::new());
        };
        let byte = self.rewritten.map_or(byte, |r| r.original_offset(byte));
        let excerpt = sql::excerpt(self.original, byte);
        if let Some(file) = self.file {
            let line = self.original[..byte.min(self.original.len())]
                .matches('\n')
                .count()
                + 1;
            return (
                self.input.literals[0].span(),
                format!("{}:{line}\n{excerpt}", file.display()),
            );
        }
        // The literal that holds the byte (literals are joined with `+`).
        let Some((start, lit)) = self
            .input
            .literal_offsets()
            .into_iter()
            .zip(&self.input.literals)
            .take_while(|((start, _), _)| *start <= byte)
            .last()
            .map(|((start, _), lit)| (start, lit))
        else {
            return (self.input.literals[0].span(), excerpt);
        };
        // Inside the literal where the compiler allows it; else say where in words.
        match site_in_literal(lit, byte - start) {
            (Some(span), _) => (span, excerpt),
            (None, Some(site)) => (lit.span(), format!("{excerpt}\nat {site}")),
            (None, None) => (lit.span(), excerpt),
        }
    }
}

/// The description of `sql`: online when `DATABASE_URL` is set (and offline mode is
/// not forced), else from the offline cache.
fn description(
    sql: &str,
    manifest_dir: &Path,
    locate: &Locate<'_>,
    tracked: &mut Vec<String>,
) -> syn::Result<QueryData> {
    let span = locate.input.literals[0].span();
    let offline_forced = std::env::var("PGPREPARE_OFFLINE")
        .is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1");
    let url = std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty());
    if let (false, Some(url)) = (offline_forced, url) {
        let timeout = std::env::var("PGPREPARE_TIMEOUT")
            .ok()
            .and_then(|t| t.trim().parse::<u64>().ok())
            .filter(|t| *t > 0)
            .map_or(Duration::from_secs(10), Duration::from_secs);
        let data = describe::describe(&url, sql, timeout).map_err(|e| match e {
            DescribeError::Connect(message) | DescribeError::Other(message) => {
                syn::Error::new(span, message)
            }
            DescribeError::Query {
                message,
                position,
                detail,
                hint,
            } => {
                let (span, excerpt) = match position {
                    Some(p) => locate.at(sql, p),
                    None => (span, String::new()),
                };
                let mut text = message;
                if !excerpt.is_empty() {
                    text.push('\n');
                    text.push_str(&excerpt);
                }
                if let Some(detail) = detail {
                    text.push_str("\nDETAIL: ");
                    text.push_str(&detail);
                }
                if let Some(hint) = hint {
                    text.push_str("\nHINT: ");
                    text.push_str(&hint);
                }
                syn::Error::new(span, text)
            }
        })?;
        if let Some(dir) = std::env::var_os("PGPREPARE_WRITE").filter(|d| !d.is_empty()) {
            offline::write(Path::new(&dir), &data).map_err(|e| {
                syn::Error::new(
                    span,
                    format!(
                        "cannot write the offline description into {}: {e}",
                        Path::new(&dir).display()
                    ),
                )
            })?;
            // Where the query is, for `cargo pgprepare --check`'s messages (beside the
            // description, never in it: moving code must not make the cache stale).
            #[cfg(quarry_span_lines)]
            #[allow(clippy::incompatible_msrv)] // build.rs checked the compiler
            if proc_macro::is_available() {
                let at = span.unwrap();
                let site = format!("{}:{}", at.file(), at.line());
                let _ = offline::record_site(Path::new(&dir), &data.query, &site);
            }
        }
        return Ok(data);
    }
    let offline_dir = std::env::var("PGPREPARE_OFFLINE_DIR").ok();
    let dirs = offline::search_dirs(offline_dir.as_deref(), manifest_dir);
    match offline::load(sql, &dirs) {
        Ok((data, path)) => {
            tracked.push(path.display().to_string());
            Ok(data)
        }
        Err(LoadError::Missing) => {
            let why = if offline_forced {
                "PGPREPARE_OFFLINE is set"
            } else {
                "DATABASE_URL is not set"
            };
            let existing: Vec<String> = dirs
                .iter()
                .filter(|d| d.is_dir())
                .map(|d| d.display().to_string())
                .collect();
            let looked = if existing.is_empty() {
                "there is no .pgprepare directory in the crate or up to the workspace root"
                    .to_owned()
            } else {
                format!("it is not in {}", existing.join(", "))
            };
            Err(syn::Error::new(
                span,
                format!(
                    "no offline description of this query ({why}): {looked} ({}).\n\
                     Run `cargo pgprepare` with DATABASE_URL set (or `cargo pgprepare \
                     --temp-server --schema <schema.sql>`) and commit .pgprepare/, or set \
                     DATABASE_URL to check queries against a database",
                    offline::file_name(sql),
                ),
            ))
        }
        Err(LoadError::Invalid(path, why)) => Err(syn::Error::new(
            span,
            format!(
                "{} cannot be used: {why}. Run `cargo pgprepare` to write it again",
                path.display()
            ),
        )),
    }
}

/// Where byte `offset` of a literal's value is in the source: a span of just
/// that token where the compiler can make one (`Literal::subspan`, nightly
/// today), and `path:line:column` computed from the literal's own position and
/// text (stable since Rust 1.88).
fn site_in_literal(lit: &syn::LitStr, offset: usize) -> (Option<Span>, Option<String>) {
    let token = lit.token();
    let source = token.to_string();
    let Some(start) = source_offset(&source, offset) else {
        return (None, None);
    };
    // The token the offset starts: up to the next space or quote.
    let len = source[start..]
        .find(|c: char| c.is_whitespace() || c == '"')
        .unwrap_or(0)
        .max(1);
    let sub = token.subspan(start..start + len);
    (sub, written_site(lit, &source[..start]))
}

/// `path:line:column` of the end of `before`, the start of a literal's source text.
#[cfg(quarry_span_lines)]
#[allow(clippy::incompatible_msrv)] // build.rs checked the compiler
fn written_site(lit: &syn::LitStr, before: &str) -> Option<String> {
    if !proc_macro::is_available() {
        return None;
    }
    let at = lit.span().unwrap();
    let newlines = before.matches('\n').count();
    let line = at.line() + newlines;
    let column = match before.rfind('\n') {
        Some(nl) => before[nl + 1..].chars().count() + 1,
        None => at.column() + before.chars().count(),
    };
    Some(format!("{}:{line}:{column}", at.file()))
}

/// Without `Span::line` (Rust < 1.88) the place is not known.
#[cfg(not(quarry_span_lines))]
fn written_site(_lit: &syn::LitStr, _before: &str) -> Option<String> {
    None
}

/// The byte in a string literal's source text (`"..."`, `r#"..."#`) where byte
/// `offset` of its value comes from; `None` for what cannot be followed.
fn source_offset(source: &str, offset: usize) -> Option<usize> {
    let b = source.as_bytes();
    if b.first() == Some(&b'r') {
        let hashes = b[1..].iter().take_while(|c| **c == b'#').count();
        let content = 1 + hashes + 1;
        return (content + offset < b.len()).then_some(content + offset);
    }
    if b.first() != Some(&b'"') {
        return None;
    }
    let mut i = 1; // source
    let mut value = 0; // bytes of the value so far
    while i < b.len() {
        // A line continuation: the newline and the next line's indentation vanish.
        while b.get(i) == Some(&b'\\') && matches!(b.get(i + 1), Some(b'\n' | b'\r')) {
            i += 1;
            while b.get(i).is_some_and(u8::is_ascii_whitespace) {
                i += 1;
            }
        }
        if value >= offset {
            return (i < b.len()).then_some(i);
        }
        match *b.get(i)? {
            b'"' => return None,
            b'\\' => match b.get(i + 1)? {
                b'x' => {
                    i += 4;
                    value += 1;
                }
                b'u' => {
                    let close = source[i..].find('}')?;
                    let hex = source.get(i + 3..i + close)?;
                    let ch = char::from_u32(u32::from_str_radix(hex, 16).ok()?)?;
                    i += close + 1;
                    value += ch.len_utf8();
                }
                _ => {
                    i += 2;
                    value += 1;
                }
            },
            _ => {
                let ch = source[i..].chars().next()?;
                i += ch.len_utf8();
                value += ch.len_utf8();
            }
        }
    }
    None
}

#[cfg(test)]
mod site_tests {
    use super::source_offset;

    #[test]
    fn offsets_in_the_literal_source() {
        // "SELECT nmae" : value byte 7 is `n`, source byte 8 (after the quote).
        assert_eq!(source_offset("\"SELECT nmae\"", 7), Some(8));
        assert_eq!(source_offset("r#\"SELECT nmae\"#", 7), Some(10));
        // An escape counts one value byte for two source bytes.
        assert_eq!(source_offset("\"a\\nb nmae\"", 4), Some(6));
        // A line continuation drops the newline and the indentation.
        assert_eq!(source_offset("\"a \\\n    nmae\"", 2), Some(9));
        assert_eq!(source_offset("\"ab\"", 9), None);
    }
}
