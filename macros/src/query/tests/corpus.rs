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
        let args = match args {
            Some(a) => (*a).to_owned(),
            None if data.params.is_empty() => String::new(),
            None => format!("({})", vec!["NULL"; data.params.len()].join(", ")),
        };
        let script = format!(
            "BEGIN; PREPARE corpus_{n} AS {sql}; EXECUTE corpus_{n}{args}; ROLLBACK; DEALLOCATE corpus_{n}"
        );
        let rows = match runtime.block_on(conn.simple_query(&script)) {
            Ok(rows) => rows,
            Err(e) => {
                let _ = runtime.block_on(conn.batch_execute("ROLLBACK; DEALLOCATE ALL"));
                failures.push(format!("{sql}\n  run failed: {}", e.display_chain()));
                continue;
            }
        };
        if !data.columns.is_empty() && rows.is_empty() {
            failures.push(format!("{sql}\n  returned no rows: nothing is checked"));
            continue;
        }
        for (i, c) in data.columns.iter().enumerate() {
            let mut saw_null = false;
            let mut saw_null_element = false;
            for row in &rows {
                let raw = row.try_get_raw(i).expect("the column exists");
                match raw.bytes() {
                    None => saw_null = true,
                    Some(bytes) => {
                        if is_array(&c.ty) && has_null_element(&String::from_utf8_lossy(bytes)) {
                            saw_null_element = true;
                        }
                    }
                }
            }
            tally.columns += 1;
            let label = format!("{sql}\n  column {} `{}`", i + 1, c.name);
            if saw_null && !c.nullable {
                unsafe_verdicts.push(format!("{label}: typed never NULL, but a row holds NULL"));
            } else if !saw_null && c.nullable {
                tally.pessimistic.push(label.clone());
            } else {
                tally.exact += 1;
            }
            if is_array(&c.ty) {
                tally.arrays += 1;
                if saw_null_element && c.elements_not_null {
                    unsafe_verdicts.push(format!(
                        "{label}: elements typed never NULL, but an element is NULL"
                    ));
                } else if !saw_null_element && !c.elements_not_null {
                    tally.pessimistic_elements.push(label);
                }
            }
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

#[test]
fn array_text_null_elements() {
    assert!(has_null_element("{a,NULL}"));
    assert!(has_null_element("{{1,2},{NULL,4}}"));
    assert!(!has_null_element("{a,\"NULL\"}"));
    assert!(!has_null_element("{}"));
    assert!(!has_null_element("[0:1]={1,2}"));
}
