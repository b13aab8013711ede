//! The nullability corpus: every query of `corpus_queries.txt` is described,
//! then run against `macros/tests/corpus.sql`'s data (which makes every column
//! that can be NULL actually NULL somewhere, and every array hold a NULL
//! element somewhere). A column described as never NULL that yields a NULL, or
//! an array described without NULL elements that holds one, fails the test:
//! the error a user would have met at run time as a decode error.
//!
//! It also counts the pessimistic verdicts (nullable, but no NULL in the data)
//! for the macro guide. Run on PostgreSQL 15 and, in CI, 18 (it is part of
//! `query::tests`: `QUARRY_PG_BINDIR=... cargo test -p quarry-macros --lib query::tests`;
//! `QUARRY_CORPUS_VERBOSE=1` lists the pessimistic columns).

use quarry_driver::Connection;

use super::super::offline::QueryData;
use super::super::types::is_array;
use super::{describe, server};

const QUERIES: &str = include_str!("corpus_queries.txt");

/// One query of the corpus: its SQL and the arguments of EXECUTE, if given.
fn queries() -> Vec<(&'static str, Option<&'static str>)> {
    QUERIES
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("--"))
        .map(|l| match l.split_once("  @@ ") {
            Some((sql, args)) => (sql.trim(), Some(args.trim())),
            None => (l, None),
        })
        .collect()
}

/// Whether an array in PostgreSQL's text format holds an unquoted `NULL` element.
fn has_null_element(text: &str) -> bool {
    let b = text.as_bytes();
    let mut i = 0;
    // Skip dimension decoration `[1:2]=`.
    if b.first() == Some(&b'[') {
        match text.find('=') {
            Some(eq) => i = eq + 1,
            None => return false,
        }
    }
    let mut element = String::new();
    let mut quoted = false;
    while i < b.len() {
        match b[i] {
            b'"' => {
                quoted = true;
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'{' => element.clear(),
            b',' | b'}' => {
                if !quoted && element.trim().eq_ignore_ascii_case("null") {
                    return true;
                }
                element.clear();
                quoted = false;
            }
            c => element.push(c as char),
        }
        i += 1;
    }
    false
}

#[derive(Default)]
struct Tally {
    columns: usize,
    exact: usize,
    pessimistic: Vec<String>,
    arrays: usize,
    pessimistic_elements: Vec<String>,
}

/// A connection to run corpus queries on, and the runtime that drives it.
struct Run<'a> {
    runtime: &'a tokio::runtime::Runtime,
    conn: &'a mut Connection,
}

/// What the rows of a query showed of one column.
#[derive(Clone, Copy, Default)]
struct Seen {
    null: bool,
    null_element: bool,
}

impl Run<'_> {
    /// Runs query `n` (with EXECUTE's arguments `args`, else NULL for each
    /// parameter): what its rows show of each column, or an error when it fails.
    /// `None` when it returns no row (then nothing is seen).
    fn observe(
        self,
        n: usize,
        sql: &str,
        args: Option<&str>,
        data: &QueryData,
    ) -> Result<Option<Vec<Seen>>, String> {
        let args = match args {
            Some(a) => a.to_owned(),
            None if data.params.is_empty() => String::new(),
            None => format!("({})", vec!["NULL"; data.params.len()].join(", ")),
        };
        let script = format!(
            "BEGIN; PREPARE corpus_{n} AS {sql}; EXECUTE corpus_{n}{args}; ROLLBACK; DEALLOCATE corpus_{n}"
        );
        let rows = match self.runtime.block_on(self.conn.simple_query(&script)) {
            Ok(rows) => rows,
            Err(e) => {
                let _ = self
                    .runtime
                    .block_on(self.conn.batch_execute("ROLLBACK; DEALLOCATE ALL"));
                return Err(format!("{sql}\n  run failed: {}", e.display_chain()));
            }
        };
        if rows.is_empty() {
            return Ok(None);
        }
        let mut seen = vec![Seen::default(); data.columns.len()];
        for (i, (c, seen)) in data.columns.iter().zip(&mut seen).enumerate() {
            for row in &rows {
                let raw = row.try_get_raw(i).expect("the column exists");
                match raw.bytes() {
                    None => seen.null = true,
                    Some(bytes) => {
                        if is_array(&c.ty) && has_null_element(&String::from_utf8_lossy(bytes)) {
                            seen.null_element = true;
                        }
                    }
                }
            }
        }
        Ok(Some(seen))
    }
}

/// Compares each column's verdict in `data` with what the rows showed: unsafe
/// verdicts go to `unsafe_verdicts`, the rest is counted in `tally`.
fn judge(
    sql: &str,
    data: &QueryData,
    seen: &[Seen],
    tally: &mut Tally,
    unsafe_verdicts: &mut Vec<String>,
) {
    for (i, (c, seen)) in data.columns.iter().zip(seen).enumerate() {
        tally.columns += 1;
        let label = format!("{sql}\n  column {} `{}`", i + 1, c.name);
        if seen.null && !c.nullable {
            unsafe_verdicts.push(format!("{label}: typed never NULL, but a row holds NULL"));
        } else if !seen.null && c.nullable {
            tally.pessimistic.push(label.clone());
        } else {
            tally.exact += 1;
        }
        if is_array(&c.ty) {
            tally.arrays += 1;
            if seen.null_element && c.elements_not_null {
                unsafe_verdicts.push(format!(
                    "{label}: elements typed never NULL, but an element is NULL"
                ));
            } else if !seen.null_element && !c.elements_not_null {
                tally.pessimistic_elements.push(label);
            }
        }
    }
}

#[test]
fn corpus_is_never_unsafe() {
    let server = server();
    let major = server.version().major;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let mut conn: Connection = runtime
        .block_on(async {
            Connection::connect_with(&quarry_driver::ConnectOptions::parse(&server.url())?).await
        })
        .expect("connect to the TempServer");
    let list = queries();
    assert!(
        list.len() >= 150,
        "the corpus should keep at least 150 queries"
    );
    let mut unsafe_verdicts = Vec::new();
    let mut failures = Vec::new();
    let mut tally = Tally::default();
    for (n, (sql, args)) in list.iter().enumerate() {
        if sql.starts_with("MERGE") && major < 15 {
            continue;
        }
        let data: QueryData = match describe(sql) {
            Ok(d) => d,
            Err(e) => {
                failures.push(format!("{sql}\n  describe failed: {e:?}"));
                continue;
            }
        };
        let run = Run {
            runtime: &runtime,
            conn: &mut conn,
        };
        match run.observe(n, sql, *args, &data) {
            Ok(Some(seen)) => judge(sql, &data, &seen, &mut tally, &mut unsafe_verdicts),
            Ok(None) if data.columns.is_empty() => {}
            Ok(None) => failures.push(format!("{sql}\n  returned no rows: nothing is checked")),
            Err(e) => failures.push(e),
        }
    }
    println!(
        "corpus on PostgreSQL {major}: {} queries, {} columns, {} exactly right ({:.1}%), {} \
         pessimistic; {} array columns, {} with pessimistic elements",
        list.len(),
        tally.columns,
        tally.exact,
        100.0 * tally.exact as f64 / tally.columns.max(1) as f64,
        tally.pessimistic.len(),
        tally.arrays,
        tally.pessimistic_elements.len()
    );
    if std::env::var_os("QUARRY_CORPUS_VERBOSE").is_some() {
        println!("pessimistic:\n{}", tally.pessimistic.join("\n"));
        println!(
            "pessimistic elements:\n{}",
            tally.pessimistic_elements.join("\n")
        );
    }
    assert!(
        unsafe_verdicts.is_empty() && failures.is_empty(),
        "{} unsafe verdicts:\n{}\n\n{} queries could not be checked:\n{}",
        unsafe_verdicts.len(),
        unsafe_verdicts.join("\n"),
        failures.len(),
        failures.join("\n")
    );
}

/// `sql` without a trailing `limit N`.
fn without_limit(sql: &str) -> &str {
    let trimmed = sql.trim_end();
    match trimmed.to_ascii_lowercase().rfind(" limit ") {
        Some(at) if trimmed[at + 7..].trim().bytes().all(|b| b.is_ascii_digit()) => &trimmed[..at],
        _ => trimmed,
    }
}

/// Sets about a quarter of the values of every nullable column of every table
/// in `public` to NULL (deterministically).
const NULLIFY: &str = r#"
SET statement_timeout = 0;
DO $$
DECLARE t record; sets text;
BEGIN
  FOR t IN SELECT c.table_name, string_agg(format('%I = CASE WHEN hashtext(ctid::text || %L) & 3 = 0 THEN NULL ELSE %I END', c.column_name, c.column_name, c.column_name), ', ') AS sets
           FROM information_schema.columns c
           WHERE c.table_schema = 'public' AND c.is_nullable = 'YES'
           GROUP BY c.table_name
  LOOP
    EXECUTE format('UPDATE %I SET %s', t.table_name, t.sets);
  END LOOP;
END $$;
ANALYZE;
SET statement_timeout = '30s';
"#;

/// The same measurement on SQL this project did not write:
/// `scripts/unseen-corpus DIR` writes DIR/schema.sql (TPC-DS tables and a slice of
/// dsdgen's data) and DIR/queries.sql (dsqgen's queries), fetched from PyPI (the
/// TPC's licence does not let us check them in); then
/// `QUARRY_UNSEEN_CORPUS=DIR cargo test -p quarry-macros --lib unseen_corpus -- --nocapture`.
/// Without the variable there is nothing to measure and the test says so.
#[test]
fn unseen_corpus() {
    let Some(dir) = std::env::var_os("QUARRY_UNSEEN_CORPUS") else {
        println!("unseen corpus: QUARRY_UNSEEN_CORPUS is not set (see scripts/unseen-corpus)");
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    let schema = std::fs::read_to_string(dir.join("schema.sql")).expect("read DIR/schema.sql");
    let queries = std::fs::read_to_string(dir.join("queries.sql")).expect("read DIR/queries.sql");
    let server = quarry_driver::TempServer::start().expect("start a TempServer");
    server.run_sql(&schema).expect("apply DIR/schema.sql");
    let major = server.version().major;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let mut conn: Connection = runtime
        .block_on(async {
            Connection::connect_with(&quarry_driver::ConnectOptions::parse(&server.url())?).await
        })
        .expect("connect to the TempServer");
    runtime
        .block_on(conn.batch_execute("SET statement_timeout = '30s'"))
        .expect("set a statement timeout");
    let mut unsafe_verdicts = Vec::new();
    let mut unchecked = Vec::new();
    let mut tally = Tally::default();
    let list: Vec<&str> = queries.lines().filter(|l| !l.trim().is_empty()).collect();
    let mut described = Vec::new();
    for sql in &list {
        match super::super::describe::describe(
            &server.url(),
            sql,
            std::time::Duration::from_secs(30),
        ) {
            Ok(d) => described.push(Some(d)),
            Err(e) => {
                unchecked.push(format!("{sql}\n  describe failed: {e:?}"));
                described.push(None);
            }
        }
    }
    // Two passes: dsdgen's data, then the same with about a quarter of the values
    // of every nullable column set to NULL (what a column may hold, it holds).
    let mut seen: Vec<Option<Vec<Seen>>> = vec![None; list.len()];
    let mut failed = vec![None; list.len()];
    for pass in 0..2 {
        if pass == 1 {
            runtime
                .block_on(conn.batch_execute(NULLIFY))
                .expect("set a quarter of each nullable column to NULL");
        }
        for (n, sql) in list.iter().enumerate() {
            let Some(data) = &described[n] else { continue };
            let run = Run {
                runtime: &runtime,
                conn: &mut conn,
            };
            // The rows are looked at without the final `limit 100`: a superset
            // of the rows the query may return, so a NULL sorted past the limit
            // still counts.
            let unlimited = without_limit(sql);
            match run.observe(n, unlimited, None, data) {
                Ok(Some(now)) => {
                    let merged = seen[n].get_or_insert_with(|| vec![Seen::default(); now.len()]);
                    for (m, x) in merged.iter_mut().zip(now) {
                        m.null |= x.null;
                        m.null_element |= x.null_element;
                    }
                }
                Ok(None) => {}
                Err(e) => failed[n] = Some(e),
            }
        }
    }
    for (n, sql) in list.iter().enumerate() {
        let Some(data) = &described[n] else { continue };
        match (&seen[n], &failed[n]) {
            (Some(seen), _) => judge(sql, data, seen, &mut tally, &mut unsafe_verdicts),
            (None, Some(e)) => unchecked.push(e.clone()),
            (None, None) => unchecked.push(format!("{sql}\n  returned no rows in either pass")),
        }
    }
    println!(
        "unseen corpus on PostgreSQL {major}: {} queries, {} checked ({} not: they fail on \
         PostgreSQL or return no row), {} columns, {} exactly right ({:.1}%), {} pessimistic, \
         {} unsafe",
        list.len(),
        list.len() - unchecked.len(),
        unchecked.len(),
        tally.columns,
        tally.exact,
        100.0 * tally.exact as f64 / tally.columns.max(1) as f64,
        tally.pessimistic.len(),
        unsafe_verdicts.len(),
    );
    if std::env::var_os("QUARRY_CORPUS_VERBOSE").is_some() {
        println!("pessimistic:\n{}", tally.pessimistic.join("\n"));
        println!("not checked:\n{}", unchecked.join("\n"));
    }
    assert!(
        unsafe_verdicts.is_empty(),
        "{} unsafe verdicts:\n{}",
        unsafe_verdicts.len(),
        unsafe_verdicts.join("\n")
    );
}

#[test]
fn array_text_null_elements() {
    assert!(has_null_element("{a,NULL}"));
    assert!(has_null_element("{{1,2},{NULL,4}}"));
    assert!(!has_null_element("{a,\"NULL\"}"));
    assert!(!has_null_element("{}"));
    assert!(!has_null_element("[0:1]={1,2}"));
}
