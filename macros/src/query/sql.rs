//! Just enough SQL lexing for the macros: named parameters (`:name` -> `$n`)
//! and pointing at a position of the text in error messages.
//!
//! The lexer knows what PostgreSQL's does about where a `:` or `$` can be a
//! parameter: not inside `'strings'`, `E'escapes'`, `"identifiers"`,
//! `$tag$dollar quotes$tag$`, `-- comments` or nested `/* comments */`, and
//! `::` is a cast.

/// A query with `:name` parameters rewritten to `$n`.
#[derive(Debug, PartialEq)]
pub(crate) struct Rewritten {
    /// The text with `$1`, `$2`, ...
    pub(crate) sql: String,
    /// The names, in parameter order (`$1` is `names[0]`).
    pub(crate) names: Vec<String>,
    /// Each replacement: (offset in the new text, offset in the old, old length, new length).
    edits: Vec<(usize, usize, usize, usize)>,
}

impl Rewritten {
    /// The byte offset in the original text of byte `at` of the rewritten one.
    pub(crate) fn original_offset(&self, at: usize) -> usize {
        let (mut new_end, mut old_end) = (0, 0);
        for &(new_at, old_at, old_len, new_len) in &self.edits {
            if at < new_at {
                break;
            }
            if at < new_at + new_len {
                return old_at;
            }
            new_end = new_at + new_len;
            old_end = old_at + old_len;
        }
        at - new_end + old_end
    }
}

/// A piece of SQL text outside strings, identifiers and comments.
#[derive(Debug, PartialEq)]
enum Token {
    /// `$n`.
    Positional,
    /// `:name`, with its byte range.
    Named(usize, usize),
}

/// The parameter-like tokens of `sql`, with the byte offset of each.
fn scan(sql: &str) -> Vec<(usize, Token)> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            b'\'' => {
                // E'...' allows backslash escapes; the E was an identifier char before us.
                let escapes = i > 0 && matches!(b[i - 1], b'e' | b'E') && !ident_before(b, i - 1);
                i = skip_quoted(b, i + 1, b'\'', escapes);
            }
            b'"' => i = skip_quoted(b, i + 1, b'"', false),
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let mut depth = 1;
                i += 2;
                while i < b.len() && depth > 0 {
                    if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                        depth += 1;
                        i += 2;
                    } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                        depth -= 1;
                        i += 2;
                    } else {
                        i += 1;
                    }
                }
            }
            b'$' => {
                if b.get(i + 1).is_some_and(u8::is_ascii_digit) && !ident_before(b, i) {
                    out.push((i, Token::Positional));
                    i += 1;
                    while i < b.len() && b[i].is_ascii_digit() {
                        i += 1;
                    }
                } else if let Some(end) = dollar_tag(b, i).filter(|_| !ident_before(b, i)) {
                    // $tag$ ... $tag$
                    let tag = &b[i..end];
                    i = end;
                    loop {
                        if i >= b.len() {
                            break;
                        }
                        if b[i..].starts_with(tag) {
                            i += tag.len();
                            break;
                        }
                        i += 1;
                    }
                } else {
                    i += 1;
                }
            }
            b':' => {
                if b.get(i + 1) == Some(&b':') {
                    i += 2;
                } else if b
                    .get(i + 1)
                    .is_some_and(|&n| n.is_ascii_alphabetic() || n == b'_')
                {
                    let start = i;
                    i += 1;
                    while i < b.len() && is_ident_char(b[i]) {
                        i += 1;
                    }
                    out.push((start, Token::Named(start + 1, i)));
                } else {
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
    out
}

fn is_ident_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80
}

fn ident_before(b: &[u8], i: usize) -> bool {
    i > 0 && (is_ident_char(b[i - 1]) || b[i - 1] == b'$')
}

/// The end of the `$tag$` opening at `i`, if one does.
fn dollar_tag(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    while j < b.len() && b[j] != b'$' {
        if !(b[j].is_ascii_alphanumeric() || b[j] == b'_' || b[j] >= 0x80)
            || b[j].is_ascii_digit() && j == i + 1
        {
            return None;
        }
        j += 1;
    }
    (j < b.len()).then_some(j + 1)
}

fn skip_quoted(b: &[u8], mut i: usize, quote: u8, escapes: bool) -> usize {
    while i < b.len() {
        if escapes && b[i] == b'\\' {
            i += 2;
            continue;
        }
        if b[i] == quote {
            if b.get(i + 1) == Some(&quote) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    i
}

/// Whether the text uses `$n` parameters.
pub(crate) fn has_positional(sql: &str) -> bool {
    scan(sql).iter().any(|(_, t)| *t == Token::Positional)
}

/// Rewrites `:name` to `$n`; the same name is the same parameter.
pub(crate) fn rewrite_named(sql: &str) -> Rewritten {
    let mut out = String::with_capacity(sql.len());
    let mut names: Vec<String> = Vec::new();
    let mut edits = Vec::new();
    let mut last = 0;
    for (at, token) in scan(sql) {
        let Token::Named(start, end) = token else {
            continue;
        };
        let name = &sql[start..end];
        let n = match names.iter().position(|x| x == name) {
            Some(i) => i + 1,
            None => {
                names.push(name.to_owned());
                names.len()
            }
        };
        out.push_str(&sql[last..at]);
        let new_at = out.len();
        let replacement = format!("${n}");
        out.push_str(&replacement);
        edits.push((new_at, at, end - at, replacement.len()));
        last = end;
    }
    out.push_str(&sql[last..]);
    Rewritten {
        sql: out,
        names,
        edits,
    }
}

/// The byte offset of PostgreSQL's 1-based character position `position`.
pub(crate) fn byte_offset(sql: &str, position: usize) -> Option<usize> {
    let index = position.checked_sub(1)?;
    sql.char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(sql.len()))
        .nth(index)
}

/// The line of `sql` around byte `at`, and a caret under it, as psql shows them:
///
/// ```text
/// LINE 2: FROM userz
///              ^
/// ```
pub(crate) fn excerpt(sql: &str, at: usize) -> String {
    let at = at.min(sql.len());
    let line_start = sql[..at].rfind('\n').map_or(0, |i| i + 1);
    let line_end = sql[at..].find('\n').map_or(sql.len(), |i| at + i);
    let line_no = sql[..at].matches('\n').count() + 1;
    let prefix = format!("LINE {line_no}: ");
    let line = &sql[line_start..line_end];
    let column = sql[line_start..at].chars().count();
    format!("{prefix}{line}\n{}^", " ".repeat(prefix.len() + column))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_parameters_become_positional() {
        let r = rewrite_named("SELECT * FROM t WHERE id = :id AND org = :org OR owner = :id");
        assert_eq!(
            r.sql,
            "SELECT * FROM t WHERE id = $1 AND org = $2 OR owner = $1"
        );
        assert_eq!(r.names, vec!["id", "org"]);
    }

    #[test]
    fn colons_that_are_not_parameters() {
        let sql = "SELECT x::int, ':a', \":b\", $$ :c $$, $t$ :d $t$, E'\\' :e' -- :f\n/* :g /* :h */ */ FROM t WHERE a = :real";
        let r = rewrite_named(sql);
        assert_eq!(r.names, vec!["real"]);
        assert!(r.sql.ends_with("WHERE a = $1"));
        assert!(r.sql.contains("x::int"));
        assert!(!has_positional(sql));
        assert!(has_positional("SELECT $1"));
        assert!(!has_positional("SELECT '$1', a$1"));
    }

    #[test]
    fn offsets_map_back_to_the_original() {
        let original = "SELECT :first, :second, bad";
        let r = rewrite_named(original);
        assert_eq!(r.sql, "SELECT $1, $2, bad");
        let bad_new = r.sql.find("bad").unwrap();
        assert_eq!(r.original_offset(bad_new), original.find("bad").unwrap());
        assert_eq!(r.original_offset(7), 7); // inside `$1` -> start of `:first`
        assert_eq!(r.original_offset(0), 0);
    }

    #[test]
    fn positions_and_excerpts() {
        let sql = "SELECT é,\n  nope FROM t";
        let at = byte_offset(sql, 13).unwrap(); // 'n' of nope (characters, not bytes)
        assert_eq!(&sql[at..at + 4], "nope");
        assert_eq!(excerpt(sql, at), "LINE 2:   nope FROM t\n          ^");
        assert_eq!(byte_offset(sql, 0), None);
        assert_eq!(byte_offset(sql, 1000), None);
    }
}
