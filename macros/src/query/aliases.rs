//! What the plan does not say, read from the query's own text: the column
//! names of each subquery and CTE (so a reference `s.id` is followed to the
//! right position, not to an output that happens to be called `id`), and
//! whether the query may hold `x IN (subquery)`-like sublinks (which
//! PostgreSQL 16 and older print exactly like a scalar subquery).
//!
//! The scan is deliberately partial: anything it does not understand makes the
//! answer "unknown", and unknown means nullable.

use std::collections::{HashMap, HashSet};

/// Column names of the subqueries and CTEs of one query.
#[derive(Debug, Default)]
pub(crate) struct Aliases {
    /// Alias (or CTE name) -> column names in order; `None` inside: a column
    /// whose name could not be worked out. `None` for the whole entry: unknown.
    names: HashMap<String, Option<Vec<Option<String>>>>,
    /// Aliases given a column list of their own somewhere (`FROM cte AS t(a, b)`), with
    /// the list when it is the only one the alias is given and could be read.
    renamed: HashMap<String, Option<Vec<String>>>,
    /// Whether the text may hold an `IN`/`ANY`/`ALL`/`SOME`/row-comparison sublink.
    pub(crate) quantified_sublinks: bool,
    /// Every identifier in the text.
    words: HashSet<String>,
}

impl Aliases {
    /// Reads `sql`. Never fails: what is not understood is unknown.
    pub(crate) fn read(sql: &str) -> Aliases {
        let toks = tokens(sql);
        let mut out = Aliases {
            quantified_sublinks: quantified(&toks),
            words: toks.iter().filter_map(Tok::ident).collect(),
            ..Aliases::default()
        };
        let mut i = 0;
        while i < toks.len() {
            // WITH name [(cols)] AS [NOT] [MATERIALIZED] ( query )
            if toks[i].is_word("with") || (toks[i].is(",") && out.in_with(&toks, i)) {
                let mut j = i + 1;
                if toks.get(j).is_some_and(|t| t.is_word("recursive")) {
                    j += 1;
                }
                if let Some(name) = toks.get(j).and_then(Tok::ident) {
                    j += 1;
                    let mut cols = None;
                    if toks.get(j).is_some_and(|t| t.is("(")) {
                        let (list, next) = ident_list(&toks, j);
                        cols = list;
                        j = next;
                    }
                    if toks.get(j).is_some_and(|t| t.is_word("as")) {
                        j += 1;
                        while toks
                            .get(j)
                            .is_some_and(|t| t.is_word("not") || t.is_word("materialized"))
                        {
                            j += 1;
                        }
                        if toks.get(j).is_some_and(|t| t.is("(")) {
                            let query = select_names(&toks, j + 1);
                            out.define(name, merge(cols, query));
                        }
                    }
                }
            }
            // ( query ) [AS] alias [(cols)]
            if toks[i].is("(")
                && starts_query(&toks, i + 1)
                && let Some(close) = matching(&toks, i)
            {
                let mut j = close + 1;
                if toks.get(j).is_some_and(|t| t.is_word("as")) {
                    j += 1;
                }
                if let Some(alias) = toks.get(j).and_then(Tok::ident).filter(|a| !keyword(a)) {
                    let mut cols = None;
                    if toks.get(j + 1).is_some_and(|t| t.is("(")) {
                        cols = ident_list(&toks, j + 1).0;
                    }
                    let query = select_names(&toks, i + 1);
                    out.define(alias, merge(cols, query));
                }
            }
            // [AS] alias ( ... after a name: a relation alias with its own column names.
            if toks[i].is("(")
                && i >= 2
                && let Some(alias) = toks[i - 1].ident()
                && (toks[i - 2].is_word("as") || toks[i - 2].ident().is_some_and(|w| !keyword(&w)))
            {
                let list = ident_list(&toks, i).0;
                out.renamed
                    .entry(alias)
                    .and_modify(|old| {
                        if *old != list {
                            *old = None;
                        }
                    })
                    .or_insert(list);
            }
            i += 1;
        }
        out
    }

    /// Whether `,` at `i` continues a WITH list (a `)` closes a CTE body just before).
    fn in_with(&self, toks: &[Tok], i: usize) -> bool {
        // The comma follows `)` and is followed by `name [(..)] AS`.
        i > 0
            && toks[i - 1].is(")")
            && toks.get(i + 1).and_then(Tok::ident).is_some()
            && (toks.get(i + 2).is_some_and(|t| t.is_word("as"))
                || (toks.get(i + 2).is_some_and(|t| t.is("("))
                    && matching(toks, i + 2)
                        .and_then(|c| toks.get(c + 1))
                        .is_some_and(|t| t.is_word("as"))))
    }

    fn define(&mut self, name: String, cols: Option<Vec<Option<String>>>) {
        match self.names.get(&name) {
            // The same alias twice: PostgreSQL renames one of them (`s_1`).
            Some(old) if *old != cols => {
                self.names.insert(name, None);
            }
            _ => {
                self.names.insert(name, cols);
            }
        }
    }

    /// Whether the text names any of `names` (views, say).
    pub(crate) fn mentions(&self, names: &[String]) -> bool {
        names.iter().any(|n| self.words.contains(n))
    }

    /// Whether `alias` is given a column list of its own somewhere.
    pub(crate) fn renamed(&self, alias: &str) -> bool {
        self.renamed.contains_key(alias)
    }

    /// The position of column `column` in the column list `alias` is given (`FROM cte
    /// AS alias(a, b)` names the first columns of `cte` in order), when certain: the
    /// alias has that one list, names `column` once, and is not renamed in the plan.
    pub(crate) fn renamed_position(
        &self,
        alias: &str,
        column: &str,
        plan_aliases: &[&str],
    ) -> Option<usize> {
        if renamed_copy(alias, plan_aliases) || self.names.contains_key(alias) {
            return None;
        }
        let list = self.renamed.get(alias)?.as_ref()?;
        let mut found = list.iter().enumerate().filter(|(_, c)| *c == column);
        match (found.next(), found.next()) {
            (Some((i, _)), None) => Some(i),
            _ => None,
        }
    }

    /// The position of column `column` of the subquery or CTE called `alias`,
    /// when certain. `plan_aliases` are all aliases the plan shows: a name
    /// PostgreSQL had to make unique (`s_1`) makes `s` uncertain.
    pub(crate) fn position(
        &self,
        alias: &str,
        column: &str,
        plan_aliases: &[&str],
    ) -> Option<usize> {
        if self.renamed.contains_key(alias) || renamed_copy(alias, plan_aliases) {
            return None;
        }
        let cols = self.names.get(alias)?.as_ref()?;
        if cols.iter().any(Option::is_none) {
            return None;
        }
        let mut found = None;
        for (i, c) in cols.iter().enumerate() {
            if c.as_deref() == Some(column) {
                if found.is_some() {
                    return None;
                }
                found = Some(i);
            }
        }
        found
    }
}

/// Whether the plan shows a copy of `alias` that PostgreSQL had to make unique (`s_1`):
/// then `alias` may mean either.
fn renamed_copy(alias: &str, plan_aliases: &[&str]) -> bool {
    plan_aliases.iter().any(|a| {
        a.strip_prefix(alias)
            .and_then(|rest| rest.strip_prefix('_'))
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    })
}

/// An explicit column list overrides the first names of the query's own.
fn merge(
    cols: Option<Vec<String>>,
    query: Option<Vec<Option<String>>>,
) -> Option<Vec<Option<String>>> {
    let query = query?;
    match cols {
        None => Some(query),
        Some(cols) if cols.len() <= query.len() => {
            let mut out = query;
            for (slot, c) in out.iter_mut().zip(cols) {
                *slot = Some(c);
            }
            Some(out)
        }
        Some(_) => None,
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    /// An unquoted word, lowercased.
    Word(String),
    /// A quoted identifier, as written.
    Quoted(String),
    /// Punctuation or an operator.
    Punct(String),
    /// A literal (number, string).
    Literal,
}

impl Tok {
    fn is(&self, p: &str) -> bool {
        matches!(self, Tok::Punct(x) if x == p)
    }

    fn is_word(&self, w: &str) -> bool {
        matches!(self, Tok::Word(x) if x == w)
    }

    /// The identifier this token names, if it is one.
    fn ident(&self) -> Option<String> {
        match self {
            Tok::Word(w) => Some(w.clone()),
            Tok::Quoted(q) => Some(q.clone()),
            _ => None,
        }
    }
}

/// Keywords that follow a FROM item and so are never its alias.
fn keyword(w: &str) -> bool {
    matches!(
        w,
        "on" | "using"
            | "where"
            | "join"
            | "inner"
            | "left"
            | "right"
            | "full"
            | "cross"
            | "natural"
            | "lateral"
            | "group"
            | "having"
            | "window"
            | "order"
            | "limit"
            | "offset"
            | "fetch"
            | "for"
            | "union"
            | "intersect"
            | "except"
            | "returning"
            | "select"
            | "from"
            | "as"
            | "and"
            | "or"
            | "not"
            | "then"
            | "else"
            | "end"
            | "when"
            | "is"
            | "in"
            | "between"
            | "like"
            | "ilike"
            | "similar"
            | "into"
            | "values"
            | "set"
            | "do"
            | "with"
            | "tablesample"
            | "precision"
            | "varying"
            | "zone"
            | "null"
            | "true"
            | "false"
            | "unknown"
            | "distinct"
            | "all"
            | "any"
            | "some"
            | "exists"
            | "array"
            | "row"
            | "collate"
            | "asc"
            | "desc"
            | "nulls"
            | "first"
            | "last"
            | "filter"
            | "over"
            | "within"
            | "escape"
            | "isnull"
            | "notnull"
            | "at"
            | "time"
            | "case"
    )
}

fn tokens(sql: &str) -> Vec<Tok> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c == b'-' && b.get(i + 1) == Some(&b'-') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if c == b'/' && b.get(i + 1) == Some(&b'*') {
            // Nested block comments.
            let mut depth = 0;
            while i < b.len() {
                if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                    depth += 1;
                    i += 2;
                } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c == b'\'' {
            i += 1;
            while i < b.len() {
                if b[i] == b'\'' && b.get(i + 1) == Some(&b'\'') {
                    i += 2;
                } else if b[i] == b'\'' {
                    i += 1;
                    break;
                } else {
                    i += 1;
                }
            }
            out.push(Tok::Literal);
        } else if c == b'$' && !b.get(i + 1).is_some_and(u8::is_ascii_digit) {
            // Dollar quoting: $tag$ ... $tag$.
            let start = i;
            i += 1;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            if b.get(i) == Some(&b'$') {
                let tag = &sql[start..=i];
                i += 1;
                match sql[i..].find(tag) {
                    Some(end) => i += end + tag.len(),
                    None => i = b.len(),
                }
                out.push(Tok::Literal);
            } else {
                out.push(Tok::Punct("$".into()));
            }
        } else if c == b'"' {
            i += 1;
            let mut name = String::new();
            while i < b.len() {
                if b[i] == b'"' && b.get(i + 1) == Some(&b'"') {
                    name.push('"');
                    i += 2;
                } else if b[i] == b'"' {
                    i += 1;
                    break;
                } else {
                    let ch = sql[i..].chars().next().unwrap_or('?');
                    name.push(ch);
                    i += ch.len_utf8().max(1);
                }
            }
            out.push(Tok::Quoted(name));
        } else if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 {
            let start = i;
            while i < b.len()
                && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'$' || b[i] >= 0x80)
            {
                i += 1;
            }
            out.push(Tok::Word(sql[start..i].to_lowercase()));
        } else if c.is_ascii_digit() || c == b'$' {
            i += 1;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.') {
                i += 1;
            }
            out.push(Tok::Literal);
        } else if b"(),;[].".contains(&c) {
            out.push(Tok::Punct((c as char).to_string()));
            i += 1;
        } else if c == b':' && b.get(i + 1) == Some(&b':') {
            out.push(Tok::Punct("::".into()));
            i += 2;
        } else {
            const OP: &[u8] = b"+-*/<>=~!@#%^&|`?:";
            let start = i;
            while i < b.len() && OP.contains(&b[i]) {
                i += 1;
            }
            if i == start {
                i += 1;
            }
            out.push(Tok::Punct(sql[start..i].to_owned()));
        }
    }
    out
}

/// The index of the `)` matching the `(` at `open`.
fn matching(toks: &[Tok], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, t) in toks.iter().enumerate().skip(open) {
        if t.is("(") {
            depth += 1;
        } else if t.is(")") {
            depth = depth.checked_sub(1)?;
            if depth == 0 {
                return Some(i);
            }
        }
    }
    None
}

/// Whether a query starts at `i` (possibly behind more parentheses).
fn starts_query(toks: &[Tok], mut i: usize) -> bool {
    while toks.get(i).is_some_and(|t| t.is("(")) {
        i += 1;
    }
    toks.get(i).is_some_and(|t| {
        t.is_word("select") || t.is_word("values") || t.is_word("with") || t.is_word("table")
    })
}

/// `(a, b, c)` at `open`: the names, and the index after `)`.
fn ident_list(toks: &[Tok], open: usize) -> (Option<Vec<String>>, usize) {
    let Some(close) = matching(toks, open) else {
        return (None, toks.len());
    };
    let mut names = Vec::new();
    let mut expect_name = true;
    for t in &toks[open + 1..close] {
        match (expect_name, t.ident()) {
            (true, Some(n)) => {
                names.push(n);
                expect_name = false;
            }
            (false, _) if t.is(",") => expect_name = true,
            _ => return (None, close + 1),
        }
    }
    (Some(names), close + 1)
}

/// The output column names of the query starting at `i` (the first SELECT of a
/// set operation names the columns); `None` when not understood.
fn select_names(toks: &[Tok], mut i: usize) -> Option<Vec<Option<String>>> {
    while toks.get(i).is_some_and(|t| t.is("(")) {
        i += 1;
    }
    if toks.get(i)?.is_word("with") {
        return None; // a nested WITH: not worth the risk
    }
    if toks.get(i)?.is_word("values") {
        let close = matching(toks, i + 1)?;
        let n = toks[i + 2..close]
            .iter()
            .scan(0i32, |depth, t| {
                if t.is("(") {
                    *depth += 1;
                } else if t.is(")") {
                    *depth -= 1;
                }
                Some(*depth == 0 && t.is(","))
            })
            .filter(|c| *c)
            .count();
        return Some((1..=n + 1).map(|k| Some(format!("column{k}"))).collect());
    }
    if matches!(toks.get(i)?, Tok::Word(w) if matches!(w.as_str(), "insert" | "update" | "delete"))
    {
        // A data-modifying CTE: its columns are its RETURNING list.
        let mut depth = 0usize;
        let mut j = i;
        loop {
            let t = toks.get(j)?;
            if t.is("(") {
                depth += 1;
            } else if t.is(")") {
                depth = depth.checked_sub(1)?;
            } else if depth == 0 && t.is_word("returning") {
                return select_list(toks, j + 1);
            }
            j += 1;
        }
    }
    if !toks.get(i)?.is_word("select") {
        return None;
    }
    i += 1;
    if toks.get(i).is_some_and(|t| t.is_word("all")) {
        i += 1;
    } else if toks.get(i).is_some_and(|t| t.is_word("distinct")) {
        i += 1;
        if toks.get(i).is_some_and(|t| t.is_word("on")) {
            i = matching(toks, i + 1)? + 1;
        }
    }
    select_list(toks, i)
}

/// The names of the items of a select (or RETURNING) list starting at `i`.
fn select_list(toks: &[Tok], i: usize) -> Option<Vec<Option<String>>> {
    let mut items: Vec<&[Tok]> = Vec::new();
    let mut start = i;
    let mut depth = 0usize;
    let mut j = i;
    loop {
        let t = toks.get(j);
        let end = match t {
            None => true,
            Some(t) if depth == 0 => {
                t.is(")")
                    || t.is(";")
                    || matches!(t, Tok::Word(w) if matches!(w.as_str(),
                        "from" | "into" | "where" | "group" | "having" | "window" | "order"
                        | "limit" | "offset" | "fetch" | "union" | "intersect" | "except" | "for"))
            }
            _ => false,
        };
        if end {
            items.push(&toks[start..j]);
            break;
        }
        let t = &toks[j];
        if t.is("(") || t.is("[") {
            depth += 1;
        } else if t.is(")") || t.is("]") {
            depth = depth.checked_sub(1)?;
        } else if depth == 0 && t.is(",") {
            items.push(&toks[start..j]);
            start = j + 1;
        }
        j += 1;
    }
    items.into_iter().map(item_name).map(Some).collect()
}

/// The name of one select-list item (`None`: not known; a `*` makes the whole list unknown).
fn item_name(item: &[Tok]) -> Option<String> {
    let n = item.len();
    if n == 0 {
        return None;
    }
    if item.iter().any(|t| t.is("*")) && (n == 1 || item[n - 1].is("*")) {
        return None; // `*` or `t.*`: PostgreSQL expands it; we do not
    }
    // expr AS name
    if n >= 3 && item[n - 2].is_word("as") {
        return item[n - 1].ident();
    }
    // expr name (a bare alias, not a keyword or a type's last word)
    if n >= 2
        && let Some(last) = item[n - 1].ident()
        && !(matches!(item[n - 1], Tok::Word(_)) && keyword(&last))
        && !item[n - 2].is("::")
        && !item[n - 2].is(".")
        && (matches!(item[n - 2], Tok::Literal | Tok::Quoted(_))
            || item[n - 2].is(")")
            || item[n - 2].is("]")
            || matches!(&item[n - 2], Tok::Word(w) if !keyword(w)))
    {
        // `a.b c`, `f(x) c`, `1 c`: an alias. But `x::double precision` ended above.
        if !item.iter().any(|t| t.is("::")) {
            return Some(last);
        }
        return None;
    }
    natural_name(item)
}

/// PostgreSQL's `FigureColname` for the shapes that matter.
fn natural_name(item: &[Tok]) -> Option<String> {
    // Strip trailing `::type` casts of a non-literal.
    let mut end = item.len();
    if let Some(cast) = item.iter().position(|t| t.is("::")) {
        end = cast;
    }
    let e = &item[..end];
    match e {
        // a, a.b, a.b.c
        [first, rest @ ..]
            if first.ident().is_some()
                && rest
                    .chunks(2)
                    .all(|c| c.len() == 2 && c[0].is(".") && c[1].ident().is_some()) =>
        {
            if matches!(first, Tok::Word(w) if keyword(w)) && rest.is_empty() {
                return None; // NULL, TRUE, CASE ... (not a column)
            }
            e.last()?.ident()
        }
        [Tok::Literal] if end == item.len() => Some("?column?".into()),
        _ => {
            // An operator at the top level: `?column?` (never a name a reference uses).
            let mut depth = 0i32;
            for t in e {
                match t {
                    Tok::Punct(p) if p == "(" || p == "[" => depth += 1,
                    Tok::Punct(p) if p == ")" || p == "]" => depth -= 1,
                    Tok::Punct(p) if depth == 0 && !matches!(p.as_str(), "." | "," | ";" | "$") => {
                        return Some("?column?".into());
                    }
                    _ => {}
                }
            }
            // f(...) with nothing after the closing parenthesis.
            let open = e.iter().position(|t| t.is("("))?;
            if open == 0 {
                return None;
            }
            let close = matching(e, open)?;
            if close + 1 != e.len() {
                return None;
            }
            let name = e[open - 1].ident()?;
            if e[..open - 1]
                .chunks(2)
                .all(|c| c.len() == 2 && c[0].ident().is_some() && c[1].is("."))
            {
                if matches!(e[open - 1], Tok::Word(_)) && keyword(&name) {
                    return match name.as_str() {
                        "exists" | "array" | "row" => Some(name),
                        _ => None,
                    };
                }
                Some(name)
            } else {
                None
            }
        }
    }
}

/// Whether the text may hold a sublink that PostgreSQL 16 and older print as a
/// bare `(SubPlan n)` though it is not a scalar subquery: `IN`, `ANY`, `SOME`,
/// `ALL`, or a row compared with a subquery.
fn quantified(toks: &[Tok]) -> bool {
    for (i, t) in toks.iter().enumerate() {
        if !(t.is("(") && starts_query(toks, i + 1)) {
            continue;
        }
        // The token before this run of parentheses.
        let mut k = i;
        while k > 0 && toks[k - 1].is("(") {
            k -= 1;
        }
        let Some(before) = k.checked_sub(1).and_then(|k| toks.get(k)) else {
            continue;
        };
        if before.is_word("in")
            || before.is_word("any")
            || before.is_word("some")
            || before.is_word("all")
        {
            return true;
        }
        // `(a, b) = (SELECT ...)`, `f(x) < (SELECT ...)`: a row comparison may be one.
        if matches!(before, Tok::Punct(p) if p != "(" && p != "," && p != ")" && p != ";")
            && k >= 2
            && toks[k - 2].is(")")
        {
            return true;
        }
        if before.is_word("row") {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renamed_columns_by_position() {
        let a = Aliases::read("WITH s AS (SELECT a, b FROM x) SELECT t.b, t.a FROM s AS t(b, a)");
        assert_eq!(a.renamed_position("t", "b", &[]), Some(0));
        assert_eq!(a.renamed_position("t", "a", &[]), Some(1));
        assert_eq!(a.renamed_position("t", "c", &[]), None);
        // A copy in the plan, a second list, or a list with a name twice: unknown.
        assert_eq!(a.renamed_position("t", "b", &["t", "t_1"]), None);
        let a = Aliases::read("SELECT 1 FROM s AS t(a, b), (SELECT 1 FROM r AS t(b, a)) q");
        assert_eq!(a.renamed_position("t", "a", &[]), None);
        let a = Aliases::read("SELECT 1 FROM s AS t(a, a)");
        assert_eq!(a.renamed_position("t", "a", &[]), None);
        // An alias that also names a subquery is not followed through a list.
        let a = Aliases::read("SELECT 1 FROM s AS t(a), (SELECT 1 AS a) t");
        assert_eq!(a.renamed_position("t", "a", &[]), None);
    }

    #[test]
    fn cte_and_subquery_columns_by_position() {
        let a = Aliases::read(
            "WITH s(id, other) AS MATERIALIZED (SELECT bio, id FROM authors) SELECT id FROM s",
        );
        assert_eq!(a.position("s", "id", &[]), Some(0));
        assert_eq!(a.position("s", "other", &[]), Some(1));
        let a = Aliases::read(
            "SELECT x.title FROM (SELECT b.summary AS title, b.title AS t2 FROM books b) x",
        );
        assert_eq!(a.position("x", "title", &[]), Some(0));
        let a = Aliases::read("SELECT * FROM (SELECT DISTINCT b.id, b.summary s FROM books b) q");
        assert_eq!(a.position("q", "s", &[]), Some(1));
        assert_eq!(a.position("q", "id", &[]), Some(0));
        // A renamed copy in the plan makes the alias uncertain.
        assert_eq!(a.position("q", "id", &["q_1"]), None);
        let a = Aliases::read("SELECT * FROM (SELECT * FROM books) q");
        assert_eq!(a.position("q", "id", &[]), None);
        let a = Aliases::read("WITH c AS (SELECT 1 AS n), d AS (SELECT 2 AS m, 3) SELECT 1");
        assert_eq!(a.position("c", "n", &[]), Some(0));
        assert_eq!(a.position("d", "m", &[]), Some(0));
        let a = Aliases::read(
            "WITH d AS (DELETE FROM reviews WHERE id = 3 RETURNING id, body AS b) SELECT b FROM d",
        );
        assert_eq!(a.position("d", "b", &[]), Some(1));
        let a = Aliases::read("SELECT 1 FROM (VALUES (1, 2)) v");
        assert_eq!(a.position("v", "column2", &[]), Some(1));
        let a = Aliases::read("WITH c AS (SELECT 1 AS n) SELECT t.a FROM c AS t(a)");
        assert_eq!(a.position("t", "a", &[]), None);
        let a =
            Aliases::read("SELECT s.n FROM (SELECT x::double precision AS n, y::text FROM t) s");
        assert_eq!(a.position("s", "n", &[]), Some(0));
        assert_eq!(a.position("s", "y", &[]), Some(1));
    }

    #[test]
    fn quantified_sublinks() {
        for (sql, expected) in [
            ("SELECT a.bio IN (SELECT 'x') FROM authors a", true),
            ("SELECT x = ANY ((SELECT array_agg(1)))", true),
            ("SELECT (1, 2) = (SELECT 1, 2)", true),
            ("SELECT (SELECT count(*) FROM books)", false),
            ("SELECT 1 WHERE EXISTS (SELECT 1)", false),
            ("SELECT x IN (1, 2) FROM t", false),
        ] {
            assert_eq!(Aliases::read(sql).quantified_sublinks, expected, "{sql}");
        }
    }
}
