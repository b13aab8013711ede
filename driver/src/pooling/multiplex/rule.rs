//! Which SQL may run on a shared connection: the rule, as plain functions of the text.
//!
//! A query through `&Pool` shares a connection with other tasks' queries only if nothing
//! it does can outlive it in the session. The rule is an allow-list, and it errs towards
//! "no": one statement (no `;` but a trailing one), starting with `SELECT`, `VALUES`,
//! `TABLE`, `WITH`, `INSERT`, `UPDATE`, `DELETE` or `MERGE`, and naming none of the words
//! that mark session state: `INTO` after a `SELECT`/`VALUES`/`TABLE`/`WITH` start
//! (`SELECT ... INTO` creates a table), `TEMP`, `TEMPORARY`, `PG_TEMP` (temporary
//! tables live in the session), `SET_CONFIG`, and any word containing `ADVISORY` but not
//! `XACT` (session advisory locks; the transaction-scoped ones end with the statement).
//! Words are compared case-insensitively and whole, comments and string literals
//! included: a word in a literal can only make a query not share, never the reverse.
//!
//! Everything else (`SET`, `RESET`, `DISCARD`, `PREPARE`, `LISTEN`, `UNLISTEN`, `LOAD`,
//! `DO`, `CALL`, `CREATE`, `BEGIN`, `COPY`, `DECLARE`, `LOCK`, `NOTIFY`, `EXPLAIN`, ...)
//! takes a connection of its own, as every query did before sharing. What the text cannot
//! show (a function that runs `SET` inside PL/pgSQL) is the caller's to mark with
//! `Query::exclusive`.

/// [`may_share`] for a query's text, remembered for text that lives for the whole program
/// (`&'static str`, such as a literal or a macro's text): such text cannot change, so its
/// address and length name it, and the rule is worked out once per thread instead of on
/// every query (it was an eighth of a shared point select's client instructions).
pub(crate) fn may_share_text(sql: &str, fixed: Option<&'static str>) -> bool {
    let Some(fixed) = fixed else {
        return may_share(sql);
    };
    let key = (fixed.as_ptr() as usize, fixed.len());
    // Direct-mapped: a slot per address hash; a collision only recomputes.
    let index = ((key.0 >> 3) ^ key.1) % MEMO_SLOTS;
    MEMO.with(|memo| {
        let mut memo = memo.borrow_mut();
        match memo[index] {
            Some((k, shares)) if k == key => shares,
            _ => {
                let shares = may_share(fixed);
                memo[index] = Some((key, shares));
                shares
            }
        }
    })
}

const MEMO_SLOTS: usize = 64;

type Memo = [Option<((usize, usize), bool)>; MEMO_SLOTS];

thread_local! {
    static MEMO: std::cell::RefCell<Memo> = const { std::cell::RefCell::new([None; MEMO_SLOTS]) };
}

/// Whether `sql` may share a connection with other queries in flight.
pub(crate) fn may_share(sql: &str) -> bool {
    let body = strip_leading(sql);
    if has_inner_semicolon(body) {
        return false;
    }
    let mut words = Words::new(body);
    let Some(first) = words.next() else {
        // Empty text: nothing to share, and nothing it would change either; it keeps to
        // itself only to stay simple.
        return false;
    };
    let query_start = ["select", "values", "table", "with"]
        .iter()
        .any(|k| first.eq_ignore_ascii_case(k));
    let dml_start = ["insert", "update", "delete", "merge"]
        .iter()
        .any(|k| first.eq_ignore_ascii_case(k));
    if !query_start && !dml_start {
        return false;
    }
    for word in std::iter::once(first).chain(words) {
        if query_start && word.eq_ignore_ascii_case("into") {
            return false;
        }
        if ["temp", "temporary", "pg_temp", "set_config"]
            .iter()
            .any(|k| word.eq_ignore_ascii_case(k))
        {
            return false;
        }
        if contains_ignore_case(word, "advisory") && !contains_ignore_case(word, "xact") {
            return false;
        }
    }
    true
}

/// `sql` without leading white space, comments and opening parentheses.
fn strip_leading(mut sql: &str) -> &str {
    loop {
        let trimmed = sql.trim_start_matches(|c: char| c.is_whitespace() || c == '(');
        if let Some(rest) = trimmed.strip_prefix("--") {
            sql = rest.find('\n').map_or("", |i| &rest[i + 1..]);
        } else if let Some(rest) = trimmed.strip_prefix("/*") {
            // Nested comments end wherever the first `*/` is; what follows still has to
            // pass the rule, so a misread can only refuse.
            sql = rest.find("*/").map_or("", |i| &rest[i + 2..]);
        } else {
            return trimmed;
        }
    }
}

/// Whether a `;` is followed by anything but white space and more `;` (so the text may
/// hold two statements). A `;` inside a literal counts too: when in doubt, no.
fn has_inner_semicolon(sql: &str) -> bool {
    match sql.find(';') {
        None => false,
        Some(i) => !sql[i..].chars().all(|c| c == ';' || c.is_whitespace()),
    }
}

fn contains_ignore_case(word: &str, needle: &str) -> bool {
    word.as_bytes()
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// The words of SQL text: runs of letters, digits, `_` and `$`.
struct Words<'a> {
    rest: &'a str,
}

impl<'a> Words<'a> {
    fn new(sql: &'a str) -> Words<'a> {
        Words { rest: sql }
    }
}

impl<'a> Iterator for Words<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let is_word = |c: char| c.is_alphanumeric() || c == '_' || c == '$';
        let start = self.rest.find(is_word)?;
        let rest = &self.rest[start..];
        let end = rest.find(|c: char| !is_word(c)).unwrap_or(rest.len());
        self.rest = &rest[end..];
        Some(&rest[..end])
    }
}

#[cfg(test)]
mod tests {
    use super::{may_share, may_share_text};

    #[test]
    fn remembered_answers_follow_the_text() {
        // Static texts, one that shares and one that does not, asked in turn (and with
        // owned copies of the same text, which are never remembered).
        let texts: [&'static str; 4] = [
            "SELECT 1",
            "SET search_path = x",
            "SELECT pg_advisory_lock(1)",
            "SELECT 1 ",
        ];
        for _ in 0..3 {
            for t in texts {
                assert_eq!(may_share_text(t, Some(t)), may_share(t), "{t}");
                let owned = t.to_owned();
                assert_eq!(may_share_text(&owned, None), may_share(t), "{t}");
            }
        }
        // Same address, other length: a different text.
        let long: &'static str = "SELECT 1; SET x = 1";
        assert!(may_share_text(&long[..8], Some(&long[..8])));
        assert!(!may_share_text(long, Some(long)));
        assert!(may_share_text(&long[..8], Some(&long[..8])));
    }

    #[test]
    fn plain_queries_and_dml_share() {
        for sql in [
            "SELECT 1",
            "select * from t where id = $1",
            "  -- a comment\n SELECT a FROM t",
            "/* c */ (SELECT 1) UNION (SELECT 2)",
            "WITH x AS (SELECT 1) SELECT * FROM x",
            "VALUES (1), (2)",
            "TABLE t",
            "INSERT INTO t (a) VALUES ($1) RETURNING id",
            "UPDATE t SET a = $1 WHERE id = $2",
            "DELETE FROM t WHERE id = $1;",
            "SELECT pg_advisory_xact_lock(1)",
            "SELECT temperature FROM readings",
            "SELECT pg_sleep(0.01)",
        ] {
            assert!(may_share(sql), "{sql} should share");
        }
    }

    #[test]
    fn session_changing_sql_never_shares() {
        for sql in [
            "SET search_path TO app",
            "set local work_mem = '1MB'",
            "RESET ALL",
            "DISCARD ALL",
            "PREPARE p AS SELECT 1",
            "DEALLOCATE ALL",
            "LISTEN ch",
            "UNLISTEN *",
            "LOAD 'auto_explain'",
            "DO $$ BEGIN PERFORM 1; END $$",
            "CALL proc()",
            "BEGIN",
            "COPY t FROM STDIN",
            "DECLARE c CURSOR FOR SELECT 1",
            "CREATE TEMP TABLE x (a int)",
            "CREATE TABLE x (a int)",
            "SELECT * INTO new_table FROM t",
            "SELECT 1 INTO TEMP x",
            "WITH x AS (SELECT 1) SELECT * INTO y FROM x",
            "INSERT INTO pg_temp.x VALUES (1)",
            "SELECT pg_advisory_lock(1)",
            "SELECT pg_try_advisory_lock($1)",
            "select PG_ADVISORY_UNLOCK_ALL()",
            "SELECT set_config('search_path', 'x', false)",
            "SELECT 1; SELECT 2",
            "SELECT 1; SET x = 1",
            "SELECT ';'; SELECT 2",
            "",
            "   ",
            "-- only a comment",
            "EXPLAIN SELECT 1",
            "NOTIFY ch",
            "LOCK TABLE t",
        ] {
            assert!(!may_share(sql), "{sql:?} must not share");
        }
    }
}
