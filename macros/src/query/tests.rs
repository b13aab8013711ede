//! Describing queries against a real server (a `TempServer` with
//! `macros/tests/schema.sql`): the nullability table, types, errors.

use std::sync::OnceLock;
use std::time::Duration;

use quarry_driver::TempServer;

use super::describe::{self, DescribeError};

mod corpus;
use super::offline::{QueryData, TypeKind};

pub(super) fn server() -> &'static TempServer {
    static SERVER: OnceLock<TempServer> = OnceLock::new();
    SERVER.get_or_init(|| {
        let server = TempServer::start().expect("start a TempServer");
        let schema = include_str!("../../tests/schema.sql");
        server
            .run_sql(schema)
            .expect("apply macros/tests/schema.sql");
        server
            .run_sql(include_str!("../../tests/corpus.sql"))
            .expect("apply macros/tests/corpus.sql");
        server
    })
}

pub(super) fn describe(sql: &str) -> Result<QueryData, DescribeError> {
    describe::describe(&server().url(), sql, Duration::from_secs(30))
}

/// `N` = certainly not null, `?` = may be NULL, one letter per column.
///
/// Each row says why; "(conservative)" marks columns that are in fact never NULL
/// but cannot be proven so from the plan: they get `Option`, which is safe.
const TABLE: &[(&str, &str)] = &[
    // --- plain columns: the catalog ---
    ("SELECT id, name, email FROM users", "NN?"),
    ("SELECT * FROM tags", "NN"),
    ("SELECT u.id, u.age FROM users u WHERE u.id = $1", "N?"),
    // --- joins ---
    (
        "SELECT u.name, o.total FROM users u JOIN orders o ON o.user_id = u.id",
        "NN",
    ),
    (
        "SELECT u.name, o.total FROM users u LEFT JOIN orders o ON o.user_id = u.id",
        "N?",
    ),
    (
        "SELECT u.name, o.total FROM orders o RIGHT JOIN users u ON o.user_id = u.id",
        "N?",
    ),
    (
        "SELECT u.name, o.total FROM users u FULL JOIN orders o ON o.user_id = u.id",
        "??",
    ),
    (
        "SELECT u.name, t.label FROM users u CROSS JOIN tags t",
        "NN",
    ),
    // A strict WHERE on the nullable side turns the outer join into an inner one.
    (
        "SELECT u.name, o.total FROM users u LEFT JOIN orders o ON o.user_id = u.id WHERE o.total > 5",
        "NN",
    ),
    // Nested outer joins: everything below a nullable side is nullable.
    (
        "SELECT u.id, o.id, t.label FROM users u LEFT JOIN orders o ON o.user_id = u.id \
         LEFT JOIN order_tags ot ON ot.order_id = o.id LEFT JOIN tags t ON t.id = ot.tag_id",
        "N??",
    ),
    (
        "SELECT u.id, x.total FROM users u LEFT JOIN LATERAL \
         (SELECT o.total FROM orders o WHERE o.user_id = u.id LIMIT 1) x ON true",
        "N?",
    ),
    (
        "SELECT u.id FROM users u WHERE EXISTS (SELECT 1 FROM orders o WHERE o.user_id = u.id)",
        "N",
    ),
    (
        "SELECT u.id FROM users u WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.user_id = u.id)",
        "N",
    ),
    // --- aggregates ---
    ("SELECT count(*) FROM users", "N"),
    ("SELECT count(email), count(DISTINCT age) FROM users", "NN"),
    ("SELECT max(id), sum(age) FROM users", "??"),
    (
        "SELECT user_id, count(*), max(total), sum(total), min(note) FROM orders GROUP BY user_id",
        "NNNN?",
    ),
    (
        "SELECT user_id, array_agg(note), string_agg(note, ','), avg(total) FROM orders GROUP BY user_id",
        "NN?N",
    ),
    (
        "SELECT count(*) FILTER (WHERE total > 3), max(total) FILTER (WHERE total > 3) FROM orders GROUP BY user_id",
        "N?",
    ),
    (
        "SELECT user_id, count(*) FROM orders GROUP BY ROLLUP (user_id)",
        "?N",
    ),
    (
        "SELECT user_id FROM orders GROUP BY user_id HAVING count(*) > 1",
        "N",
    ),
    // --- window functions ---
    (
        "SELECT id, row_number() OVER (ORDER BY id), rank() OVER (ORDER BY id), \
         count(*) OVER (), lag(id) OVER (ORDER BY id) FROM users",
        "NNNN?",
    ),
    // --- expressions ---
    ("SELECT 1, 'a', true, NULL::int, $1::int", "NNN??"),
    (
        "SELECT COALESCE(email, 'none'), COALESCE(email, name), COALESCE(email, NULL) FROM users",
        "NN?",
    ),
    (
        "SELECT id + 1, name || '!', upper(name), length(email), -id FROM users",
        "NNN?N",
    ),
    (
        "SELECT email IS NULL, age IS DISTINCT FROM 3, NOT active FROM users",
        "NNN",
    ),
    (
        "SELECT CASE WHEN age > 3 THEN 'a' ELSE 'b' END, CASE WHEN age > 3 THEN 'a' END FROM users",
        "N?",
    ),
    (
        "SELECT CASE WHEN age > 3 THEN name ELSE email END FROM users",
        "?",
    ),
    (
        "SELECT id::text, age::bigint, name::varchar(3) FROM users",
        "N?N",
    ),
    (
        "SELECT NULLIF(name, 'x'), settings->'a', settings->>'b' FROM users",
        "???",
    ),
    (
        "SELECT now(), current_date, concat(email, 'x'), GREATEST(age, 1) FROM users",
        "NNNN",
    ),
    ("SELECT ARRAY[id, 2], ROW(id, email) FROM users", "NN"),
    (
        "SELECT EXISTS (SELECT 1 FROM orders), NOT EXISTS (SELECT 1 FROM tags)",
        "NN",
    ),
    // --- subqueries ---
    (
        "SELECT (SELECT count(*) FROM orders o WHERE o.user_id = u.id) FROM users u",
        "N",
    ),
    (
        "SELECT (SELECT max(total) FROM orders o WHERE o.user_id = u.id) FROM users u",
        "?",
    ),
    (
        "SELECT (SELECT o.total FROM orders o WHERE o.user_id = u.id LIMIT 1) FROM users u",
        "?",
    ),
    (
        "SELECT u.id IN (SELECT user_id FROM orders) FROM users u",
        "?",
    ),
    (
        "SELECT s.user_id, s.n FROM (SELECT user_id, count(*) AS n FROM orders GROUP BY user_id) s",
        "NN",
    ),
    // The column is renamed inside a subquery that the plan keeps: followed by position.
    (
        "SELECT s.n, s.user_id FROM (SELECT user_id, count(*) AS n FROM orders GROUP BY user_id LIMIT 5) s",
        "NN",
    ),
    (
        "SELECT x.id FROM (SELECT id FROM users ORDER BY id LIMIT 3) x",
        "N",
    ),
    // --- CTEs ---
    (
        "WITH u AS (SELECT id, email FROM users) SELECT id, email FROM u",
        "N?",
    ),
    (
        "WITH u AS MATERIALIZED (SELECT id, email FROM users) SELECT id, email FROM u",
        "N?",
    ),
    // `s` is a renamed aggregate inside a subquery the plan keeps: by position.
    (
        "WITH t AS (SELECT user_id, sum(total) AS s FROM orders GROUP BY user_id) \
         SELECT u.name, t.s, t.user_id FROM users u JOIN t ON t.user_id = u.id",
        "NNN",
    ),
    (
        "WITH t AS MATERIALIZED (SELECT user_id, sum(total) AS s FROM orders GROUP BY user_id) \
         SELECT u.name, t.user_id FROM users u LEFT JOIN t ON t.user_id = u.id",
        "N?",
    ),
    // Recursive CTEs go through the work table (conservative).
    (
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 5) SELECT n FROM r",
        "?",
    ),
    // `FROM cte AS t(a, b)` names the CTE's first columns in order, whatever their names.
    (
        "WITH s AS MATERIALIZED (SELECT id, email FROM users) SELECT t.x, t.y FROM s AS t(x, y)",
        "N?",
    ),
    (
        "WITH s AS MATERIALIZED (SELECT email, id FROM users) \
         SELECT t.id, t.email FROM s AS t(id, email)",
        "?N",
    ),
    // A column past the list keeps the CTE's name (conservative).
    (
        "WITH s AS MATERIALIZED (SELECT email, id FROM users) SELECT t.x, t.id FROM s AS t(x)",
        "??",
    ),
    // --- views ---
    ("SELECT id, name, email FROM active_users", "NN?"),
    ("SELECT id, name, total, n FROM user_totals", "NN?N"),
    (
        "SELECT a.id, o.id FROM active_users a LEFT JOIN orders o ON o.user_id = a.id",
        "N?",
    ),
    // --- set operations ---
    ("SELECT id FROM users UNION ALL SELECT id FROM orders", "N"),
    (
        "SELECT id, name FROM users UNION SELECT id, note FROM orders",
        "N?",
    ),
    (
        "SELECT id FROM users INTERSECT SELECT user_id FROM orders",
        "N",
    ),
    (
        "SELECT email FROM users EXCEPT SELECT note FROM orders",
        "?",
    ),
    // INTERSECT keeps a row only if an equal one is on both sides (NULL equal to NULL):
    // one side that is never NULL proves the column, whichever side the plan reads.
    (
        "SELECT email FROM users INTERSECT SELECT name FROM users",
        "N",
    ),
    (
        "SELECT name FROM users INTERSECT ALL SELECT email FROM users",
        "N",
    ),
    (
        "SELECT email FROM users INTERSECT SELECT note FROM orders",
        "?",
    ),
    ("SELECT id, name FROM users UNION ALL SELECT 1, NULL", "N?"),
    // --- VALUES, functions ---
    ("SELECT g FROM generate_series(1, 3) g", "N"),
    ("SELECT x FROM unnest(ARRAY[1, NULL]) x", "?"),
    // One row of VALUES is folded into the plan; several are not shown (conservative).
    ("SELECT * FROM (VALUES (1, 'a')) v(a, b)", "NN"),
    ("SELECT * FROM (VALUES (1, 'a'), (2, 'b')) v(a, b)", "??"),
    // --- DML with RETURNING ---
    (
        "INSERT INTO tags (id, label) VALUES ($1, $2) RETURNING id, label",
        "NN",
    ),
    (
        "INSERT INTO users (name) VALUES ($1) RETURNING id, name, email, active",
        "NN?N",
    ),
    (
        "UPDATE orders SET total = total + 1 WHERE id = $1 RETURNING id, total, note",
        "NN?",
    ),
    (
        "UPDATE orders o SET total = 1 FROM users u WHERE u.id = o.user_id RETURNING o.id, u.name, u.email",
        "NN?",
    ),
    ("DELETE FROM tags WHERE id = $1 RETURNING *", "NN"),
    (
        "INSERT INTO tags (id, label) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET label = excluded.label RETURNING id, label",
        "NN",
    ),
    // --- locking, DISTINCT, ORDER BY ---
    ("SELECT id, email FROM users WHERE id = $1 FOR UPDATE", "N?"),
    (
        "SELECT DISTINCT ON (user_id) user_id, note FROM orders ORDER BY user_id, total DESC",
        "N?",
    ),
    ("SELECT name FROM users ORDER BY email NULLS FIRST", "N"),
    // --- issue 15: each was typed never NULL and failed at run time ---
    // 1. Set-returning functions side by side: the shorter is padded with NULL.
    (
        "SELECT generate_series(1, 3) AS a, generate_series(1, 2) AS b",
        "??",
    ),
    ("SELECT generate_series(1, 3) AS a", "N"),
    // 2. Functions that return NULL for some non-NULL input (infinity, an empty format).
    (
        "SELECT date_part('dow', published), to_char(published, 'YYYY'), to_char(now(), ''), \
         upper(title) FROM books",
        "???N",
    ),
    // 3. Subquery and CTE columns by position, not by their original name.
    (
        "WITH s(id, other) AS MATERIALIZED (SELECT bio, id FROM authors) SELECT id, other FROM s",
        "?N",
    ),
    (
        "SELECT x.title FROM (SELECT b.summary AS title, b.id FROM books b WHERE b.pages > 10 OFFSET 0) x",
        "?",
    ),
    (
        "SELECT d.a, d.b FROM (SELECT DISTINCT summary AS b, title AS a FROM books) d",
        "N?",
    ),
    // 4. x IN (subquery): NULL when x is NULL (PostgreSQL < 17 prints a bare SubPlan).
    (
        "SELECT a.bio IN (SELECT count(*)::text FROM books b WHERE b.author_id = a.id) AS m \
         FROM authors a",
        "?",
    ),
    // ... also when the sublink comes from an inlined SQL function, or a view over one.
    ("SELECT m FROM bio_counted()", "?"),
    ("SELECT m FROM bio_counted_view", "?"),
    (
        "SELECT f.m FROM authors a JOIN bio_counted() f ON true",
        "?",
    ),
    // Row comparisons are decided field by field.
    (
        "SELECT ROW(a.bio, a.id) < ROW('m', 0), ROW(a.name, a.id) < ROW('m', 0) FROM authors a",
        "?N",
    ),
    // 7. A NOT NULL domain column is no proof (an empty scalar subquery inserts NULL).
    ("SELECT nick, nick::text, name FROM authors", "??N"),
];

/// Before PostgreSQL 16 there is no `EXPLAIN (GENERIC_PLAN)`.
const TABLE_BEFORE_16: &[(&str, &str)] = &[
    // 6. EXPLAIN EXECUTE fails (NULL for a NOT NULL domain): nothing is proven.
    (
        "SELECT a.name, b.title FROM authors a LEFT JOIN books b ON b.author_id = a.id \
         WHERE a.name <> $1::nn_text",
        "??",
    ),
];

/// PostgreSQL 16+: `EXPLAIN (GENERIC_PLAN)` plans what `EXECUTE` with NULLs cannot.
const TABLE_16: &[(&str, &str)] = &[
    // 6. EXECUTE with NULL fails (a NOT NULL domain): 16+ plans with GENERIC_PLAN.
    (
        "SELECT a.name, b.title FROM authors a LEFT JOIN books b ON b.author_id = a.id \
         WHERE a.name <> $1::nn_text",
        "N?",
    ),
];

/// Before PostgreSQL 17, InitPlan values print as `$n`, like statement parameters.
const TABLE_BEFORE_17: &[(&str, &str)] = &[
    // 5. `$1` is the parameter and also the second InitPlan: neither is trusted.
    (
        "SELECT $1::text AS p, (SELECT count(*) FROM books) AS x, (SELECT count(*) FROM authors) AS y",
        "?N?",
    ),
];

/// PostgreSQL 18: `RETURNING old.*` / `new.*` (run when the server is 18 or newer:
/// `QUARRY_PG_BINDIR=<pg18>/bin cargo test -p quarry-macros --lib`).
const TABLE_18: &[(&str, &str)] = &[
    // UPDATE has both rows; INSERT has no old row, DELETE no new row.
    (
        "UPDATE orders SET total = 1 WHERE id = $1 RETURNING old.total, new.total, old.note, id",
        "NN?N",
    ),
    (
        "INSERT INTO tags (id, label) VALUES ($1, 'a') RETURNING old.id, new.id, new.label",
        "?NN",
    ),
    (
        "DELETE FROM tags WHERE id = $1 RETURNING old.id, new.id, old.label",
        "N?N",
    ),
    // 5. InitPlans are `(InitPlan n).col1`; `$1` is the parameter alone.
    (
        "SELECT $1::text AS p, (SELECT count(*) FROM books) AS x, (SELECT count(*) FROM authors) AS y",
        "?NN",
    ),
    // PostgreSQL 17+ prints sublinks as EXISTS(SubPlan n), (ANY (... (hashed SubPlan n).col1)).
    (
        "SELECT EXISTS (SELECT 1 FROM orders o WHERE o.user_id = u.id AND o.total > u.age), \
         u.id IN (SELECT user_id FROM orders), (SELECT count(*) FROM orders) FROM users u",
        "N?N",
    ),
];

#[test]
fn nullability_table() {
    let mut failures = Vec::new();
    let major = server().version().major;
    let rows = TABLE
        .iter()
        .chain(if major >= 18 { TABLE_18 } else { &[] })
        .chain(if major < 17 { TABLE_BEFORE_17 } else { &[] })
        .chain(if major < 16 {
            TABLE_BEFORE_16
        } else {
            TABLE_16
        });
    for (sql, expected) in rows {
        match describe(sql) {
            Ok(data) => {
                let got: String = data
                    .columns
                    .iter()
                    .map(|c| if c.nullable { '?' } else { 'N' })
                    .collect();
                if got != *expected {
                    failures.push(format!("{sql}\n  expected {expected}, got {got}"));
                }
            }
            Err(e) => failures.push(format!("{sql}\n  failed: {e:?}")),
        }
    }
    assert!(
        TABLE.len() >= 40,
        "the table should keep at least 40 queries"
    );
    assert!(
        failures.is_empty(),
        "{} of {} queries differ:\n{}",
        failures.len(),
        TABLE.len(),
        failures.join("\n")
    );
}

/// Issue 15's item 8: array elements are `Option` unless proven (`array_agg` of
/// a NOT NULL column, `ARRAY[..]` of non-null values, `string_to_array` without
/// a NULL string, a CHECK that excludes NULL elements).
#[test]
fn array_elements() {
    let data = describe(
        "SELECT tags, genres, scores, array_agg(name) OVER (), array_agg(bio) OVER (), \
         ARRAY[authors.id, 2], ARRAY[bio], string_to_array(name, ','), string_to_array(name, ',', 'x'), \
         regexp_match(name, '(x)?') FROM authors, books",
    )
    .unwrap();
    let got: String = data
        .columns
        .iter()
        .map(|c| if c.elements_not_null { 'N' } else { '?' })
        .collect();
    assert_eq!(got, "??NN?N?N??");
}

#[test]
fn types_and_origins() {
    let data = describe(
        "SELECT id, name, current, home, rank, settings FROM users WHERE id = $1 AND current = $2",
    )
    .unwrap();
    assert_eq!(data.params[0].name, "int8");
    assert_eq!(data.params[1].name, "public.mood");
    assert_eq!(data.params[1].kind, TypeKind::Enum);
    let c = &data.columns;
    assert_eq!(c[0].ty.name, "int8");
    let origin = c[0].origin.as_ref().unwrap();
    assert_eq!(
        (origin.table.as_str(), origin.column.as_str()),
        ("public.users", "id")
    );
    assert_eq!(c[2].ty.kind, TypeKind::Enum);
    assert_eq!(c[3].ty.kind, TypeKind::Composite);
    // RowDescription gives a domain's base type; the origin column shows the domain.
    assert_eq!(c[4].ty.kind, TypeKind::Domain);
    assert_eq!(c[4].ty.name, "public.positive_int");
    assert_eq!(c[4].ty.of.as_ref().unwrap().name, "int4");
    assert_eq!(c[5].ty.name, "jsonb");

    let data = describe("SELECT ARRAY['ok'::mood]").unwrap();
    assert_eq!(data.columns[0].ty.kind, TypeKind::Array);
    assert_eq!(data.columns[0].ty.of.as_ref().unwrap().name, "public.mood");
}

#[test]
fn server_errors_carry_their_position() {
    match describe("SELECT id, FROM users") {
        Err(DescribeError::Query {
            message, position, ..
        }) => {
            assert!(message.contains("syntax error"), "{message}");
            assert_eq!(position, Some(12)); // "FROM"
        }
        other => panic!("expected a query error, got {other:?}"),
    }
    match describe("SELECT nope FROM users") {
        Err(DescribeError::Query {
            message, position, ..
        }) => {
            assert!(message.contains("\"nope\" does not exist"), "{message}");
            assert_eq!(position, Some(8));
        }
        other => panic!("expected a query error, got {other:?}"),
    }
}

#[test]
fn unreachable_server_fails_within_the_timeout() {
    // A port nothing listens on: refused at once; the message says what to do.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let url = format!("postgres://nobody@127.0.0.1:{port}/x?sslmode=disable");
    match describe::describe(&url, "SELECT 1", Duration::from_secs(2)) {
        Err(DescribeError::Connect(message)) => {
            assert!(message.contains("cannot connect"), "{message}");
            assert!(message.contains("cargo pgprepare"), "{message}");
        }
        other => panic!("expected a connect error, got {other:?}"),
    }
}
