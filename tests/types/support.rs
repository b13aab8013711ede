//! What the type tests share: one server per test binary, a connection per
//! test, and the round-trip helper every table of cases goes through.
//!
//! The round trip for a value `v` of PostgreSQL type `ty` whose server text is
//! `text`, each step compared with the value (and the text) it must give:
//!
//! 1. binary, extended protocol: `SELECT $1::ty, ($1::ty)::text, $2::text::ty`
//!    with `$1 = v`, `$2 = text`: our encoding must be read by the server as
//!    `text`, and both binary results must decode to `v`;
//! 2. text, simple protocol: `SELECT 'text'::ty` must decode to `v`; and
//!    `None::<T>` must reach the server as NULL and read back as `None`;
//! 3. arrays, binary: `$1::ty[]` bound as `Vec<Option<T>>` `[v, NULL, v]` and
//!    as `Vec<T>` `[v]`, decoded back, with the server's `::text` of the array
//!    compared with the array it builds from `text` itself;
//! 4. arrays, text: `SELECT ARRAY['text'::ty, NULL]` into `Vec<Option<T>>`.
//!
//! Each step returns an error message instead of panicking, so a table test
//! reports every failing case at once.

// Which helpers a build uses depends on the features it has; `pub` is for the
// test modules of this one binary.
#![allow(dead_code, unreachable_pub)]

use std::fmt::Debug;
use std::sync::OnceLock;

use quarry::types::{Decode, Encode, Type};
use quarry::{AssertSqlSafe, Connection, Row, TempServer, query};

/// The extensions the tests use, created once in the `postgres` database.
const EXTENSIONS: &str = "CREATE EXTENSION IF NOT EXISTS hstore; CREATE EXTENSION IF NOT EXISTS ltree; \
     CREATE EXTENSION IF NOT EXISTS citext;";

/// The server every test of this binary shares.
pub fn server() -> &'static TempServer {
    static SERVER: OnceLock<TempServer> = OnceLock::new();
    SERVER.get_or_init(|| {
        let server = TempServer::builder()
            .tls(false)
            // Deterministic text: what `::text` prints must not depend on the machine.
            .setting("timezone", "UTC")
            .setting("lc_monetary", "C")
            .start()
            .unwrap_or_else(|e| panic!("starting the test server: {e}"));
        server
            .run_sql(EXTENSIONS)
            .unwrap_or_else(|e| panic!("creating extensions: {e}"));
        server
    })
}

#[path = "../support/chain.rs"]
mod chain;
pub use chain::chain;

/// A new connection to the shared server (one per test, so tests run in parallel).
pub async fn connect() -> Connection {
    Connection::connect(&server().url())
        .await
        .unwrap_or_else(|e| panic!("connecting to the test server: {e}"))
}

/// Runs `f` with a fresh connection on a current-thread runtime (for `#[test]`s
/// that drive proptest's synchronous runner).
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime builds")
}

/// `s` as a SQL string literal (standard_conforming_strings is on: only `'` is special).
pub fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Runs `sql` with the simple protocol and returns its single row.
pub async fn simple_row(conn: &mut Connection, sql: &str) -> Result<Row, String> {
    let mut rows = conn
        .simple_query(sql)
        .await
        .map_err(|e| format!("{sql}: {e}"))?;
    if rows.len() != 1 {
        return Err(format!("{sql}: {} rows, expected 1", rows.len()));
    }
    Ok(rows.remove(0))
}

/// Runs `sql` with the extended protocol and binary results and returns its single row.
pub async fn binary_row(conn: &mut Connection, q: quarry::Query) -> Result<Row, String> {
    let sql = q.sql().to_owned();
    // The whole chain: a value the driver refuses says why in its source.
    q.fetch_one(conn)
        .await
        .map_err(|e| format!("{sql}: {}", chain(&e)))
}

/// Column `i` of `row` as `T`, or a message naming the step.
pub fn get<'r, T>(row: &'r Row, i: usize, step: &str) -> Result<T, String>
where
    T: Decode<'r> + Type,
{
    row.try_get::<T, usize>(i)
        .map_err(|e| format!("{step}: column {i}: {e}"))
}

/// Column `i` of `row` as text (the `::text` columns of the round trip).
pub fn text_of(row: &Row, i: usize, step: &str) -> Result<String, String> {
    get::<String>(row, i, step)
}

/// `Ok` when `a` and `b` are the same value by `same`, else a message with both.
fn check_same<T: Debug>(
    step: &str,
    got: &T,
    want: &T,
    same: impl Fn(&T, &T) -> bool,
) -> Result<(), String> {
    if same(got, want) {
        Ok(())
    } else {
        Err(format!("{step}: decoded {got:?}, expected {want:?}"))
    }
}

fn check_text(step: &str, got: &str, want: &str) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{step}: server text {got:?}, expected {want:?}"))
    }
}

/// Compares two slices element by element with `same`.
pub fn same_slice<T>(a: &[T], b: &[T], same: impl Fn(&T, &T) -> bool) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y))
}

/// Compares two optional values with `same` (both NULL, or both values and the same).
pub fn same_option<T>(a: &Option<T>, b: &Option<T>, same: impl Fn(&T, &T) -> bool) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(x), Some(y)) => same(x, y),
        _ => false,
    }
}

/// The full round trip (see the module docs) with `PartialEq` as sameness.
pub async fn round_trip<T>(
    conn: &mut Connection,
    ty: &str,
    value: &T,
    text: &str,
) -> Result<(), String>
where
    T: Encode + for<'r> Decode<'r> + Type + PartialEq + Clone + Debug,
{
    round_trip_by(conn, ty, value, text, T::eq).await
}

/// The full round trip, with `same` deciding whether a decoded value is the one sent
/// (floats compare bits, so NaN is NaN and -0 is not 0).
pub async fn round_trip_by<T>(
    conn: &mut Connection,
    ty: &str,
    value: &T,
    text: &str,
    same: impl Fn(&T, &T) -> bool + Copy,
) -> Result<(), String>
where
    T: Encode + for<'r> Decode<'r> + Type + Clone + Debug,
{
    round_trip_value(conn, ty, value, text, same).await?;
    round_trip_arrays(conn, ty, value, text, same).await
}

/// Steps 1 and 2 of the round trip only (the value itself, both formats): for
/// values that are arrays already, or whose type has no array type.
pub async fn round_trip_value<T>(
    conn: &mut Connection,
    ty: &str,
    value: &T,
    text: &str,
    same: impl Fn(&T, &T) -> bool + Copy,
) -> Result<(), String>
where
    T: Encode + for<'r> Decode<'r> + Type + Clone + Debug,
{
    let at = |step: &str| format!("{ty} {text:?}: {step}");

    // 1. Binary, extended protocol.
    let step = at("binary");
    let row = binary_row(
        conn,
        query(AssertSqlSafe(format!(
            "SELECT $1::{ty}, ($1::{ty})::text, $2::text::{ty}"
        )))
        .bind(value.clone())
        .bind(text),
    )
    .await
    .map_err(|e| format!("{step}: {e}"))?;
    check_same(&step, &get::<T>(&row, 0, &step)?, value, same)?;
    check_text(&step, &text_of(&row, 1, &step)?, text)?;
    check_same(
        &at("binary, parsed by the server"),
        &get::<T>(&row, 2, &step)?,
        value,
        same,
    )?;

    // 2. Text, simple protocol.
    let step = at("text");
    let row = simple_row(conn, &format!("SELECT {}::{ty}", literal(text)))
        .await
        .map_err(|e| format!("{step}: {e}"))?;
    check_same(&step, &get::<T>(&row, 0, &step)?, value, same)?;

    // NULL of this type, both ways.
    let step = at("NULL");
    let row = binary_row(
        conn,
        query(AssertSqlSafe(format!("SELECT $1::{ty}, $1::{ty} IS NULL"))).bind(None::<T>),
    )
    .await
    .map_err(|e| format!("{step}: {e}"))?;
    match (
        get::<Option<T>>(&row, 0, &step)?,
        get::<bool>(&row, 1, &step)?,
    ) {
        (None, true) => Ok(()),
        (v, is_null) => Err(format!("{step}: decoded {v:?}, server IS NULL {is_null}")),
    }
}

/// Steps 3 and 4 of the round trip: the value inside arrays, both formats.
async fn round_trip_arrays<T>(
    conn: &mut Connection,
    ty: &str,
    value: &T,
    text: &str,
    same: impl Fn(&T, &T) -> bool + Copy,
) -> Result<(), String>
where
    T: Encode + for<'r> Decode<'r> + Type + Clone + Debug,
{
    let at = |step: &str| format!("{ty} {text:?}: {step}");

    // 3. Arrays, binary.
    let step = at("array, binary");
    let with_null = vec![Some(value.clone()), None, Some(value.clone())];
    let row = binary_row(
        conn,
        query(AssertSqlSafe(format!(
            "SELECT $1::{ty}[], ($1::{ty}[])::text, \
             ARRAY[$2::text::{ty}, NULL, $2::text::{ty}]::text, $3::{ty}[]"
        )))
        .bind(with_null.clone())
        .bind(text)
        .bind(vec![value.clone()]),
    )
    .await
    .map_err(|e| format!("{step}: {e}"))?;
    check_same(
        &step,
        &get::<Vec<Option<T>>>(&row, 0, &step)?,
        &with_null,
        |a, b| same_slice(a, b, |x, y| same_option(x, y, same)),
    )?;
    check_text(&step, &text_of(&row, 1, &step)?, &text_of(&row, 2, &step)?)?;
    check_same(
        &at("array without NULLs, binary"),
        &get::<Vec<T>>(&row, 3, &step)?,
        &vec![value.clone()],
        |a, b| same_slice(a, b, same),
    )?;

    // 4. Arrays, text.
    let step = at("array, text");
    let lit = literal(text);
    let row = simple_row(
        conn,
        &format!("SELECT ARRAY[{lit}::{ty}, NULL, {lit}::{ty}], ARRAY[{lit}::{ty}]"),
    )
    .await
    .map_err(|e| format!("{step}: {e}"))?;
    check_same(
        &step,
        &get::<Vec<Option<T>>>(&row, 0, &step)?,
        &with_null,
        |a, b| same_slice(a, b, |x, y| same_option(x, y, same)),
    )?;
    check_same(
        &at("array without NULLs, text"),
        &get::<Vec<T>>(&row, 1, &step)?,
        &vec![value.clone()],
        |a, b| same_slice(a, b, same),
    )?;
    Ok(())
}

/// The outcome of a case that needs PostgreSQL `since` or later: on such a server, the
/// outcome itself; on an older one, `Ok` only if it failed with `refusal` in its message
/// (a SQLSTATE, or the driver's own words), so that skipping the case can fail too.
pub fn needs_server(
    major: u32,
    since: u32,
    refusal: &str,
    outcome: Result<(), String>,
) -> Result<(), String> {
    match outcome {
        _ if major >= since => outcome,
        Err(e) if e.contains(refusal) => Ok(()),
        Err(e) => Err(format!(
            "PostgreSQL {major} (before {since}) was expected to refuse with {refusal:?}: {e}"
        )),
        Ok(()) => Err(format!(
            "PostgreSQL {major} (before {since}) was expected to refuse with {refusal:?}, \
             but the case passed"
        )),
    }
}

/// The major version of the shared server (for `#[test]`s outside a runtime).
pub fn server_major_now() -> u32 {
    runtime().block_on(async { connect().await.server_version().major() })
}

/// Collects failures: a table test pushes each case's outcome and calls `finish`.
#[derive(Default)]
pub struct Failures {
    name: &'static str,
    cases: usize,
    failed: Vec<String>,
}

impl Failures {
    /// An empty list for the table `name`.
    pub fn new(name: &'static str) -> Failures {
        Failures {
            name,
            cases: 0,
            failed: Vec::new(),
        }
    }

    /// Records one case's outcome.
    pub fn push(&mut self, outcome: Result<(), String>) {
        self.cases += 1;
        if let Err(e) = outcome {
            self.failed.push(e);
        }
    }

    /// Panics with every failure, if there were any.
    #[track_caller]
    pub fn finish(self) {
        assert!(self.cases > 0, "{}: no cases ran", self.name);
        assert!(
            self.failed.is_empty(),
            "{}: {} of {} cases failed:\n  {}",
            self.name,
            self.failed.len(),
            self.cases,
            self.failed.join("\n  ")
        );
    }
}

/// Parses `text` with `T`'s `FromStr` (which reads what the server prints), then runs
/// the full round trip: the server must print the parsed value as `text` again, and
/// its own parse of `text` must decode to the same value.
pub async fn round_trip_parsed<T>(conn: &mut Connection, ty: &str, text: &str) -> Result<(), String>
where
    T: Encode + for<'r> Decode<'r> + Type + PartialEq + Clone + Debug + std::str::FromStr,
    T::Err: std::fmt::Display,
{
    let value: T = text
        .parse()
        .map_err(|e| format!("{ty} {text:?}: FromStr failed: {e}"))?;
    round_trip(conn, ty, &value, text).await
}

/// Sameness by `Debug` text: for types holding floats (geometry), where `NaN`
/// must equal `NaN` and `-0` must differ from `0`, which `PartialEq` gets wrong.
pub fn same_debug<T: Debug>(a: &T, b: &T) -> bool {
    format!("{a:?}") == format!("{b:?}")
}

/// Property tests against the server: 8 batches of 1 to 64 values drawn
/// from `strategy`. Each batch is one pipeline of `SELECT $1::ty, ($1::ty)::text`
/// (binary: the decoded value must be `same` as the one sent, and `expected_text`,
/// when it gives one, must be the server's text), then one simple-protocol query
/// reading every server text back as `'text'::ty` (text format: must decode to
/// the same value). A failing batch is shrunk by proptest to a small one.
pub fn server_property<T, S>(
    name: &str,
    ty: &str,
    strategy: S,
    expected_text: impl Fn(&T) -> Option<String>,
    same: impl Fn(&T, &T) -> bool,
) where
    S: proptest::strategy::Strategy<Value = T>,
    T: Encode + for<'r> Decode<'r> + Type + Clone + Debug,
{
    use proptest::test_runner::{Config, TestCaseError, TestRunner};

    const CASES: u32 = 8;
    const BATCH: usize = 64;

    let rt = runtime();
    let conn = std::cell::RefCell::new(rt.block_on(connect()));
    let mut runner = TestRunner::new(Config {
        cases: CASES,
        failure_persistence: None,
        max_shrink_iters: 256,
        ..Config::default()
    });
    let batches = proptest::collection::vec(strategy, 1..=BATCH);
    let result = runner.run(&batches, |values| {
        let mut conn = conn.borrow_mut();
        rt.block_on(check_batch(&mut conn, ty, &values, &expected_text, &same))
            .map_err(TestCaseError::fail)
    });
    if let Err(e) = result {
        panic!("{name}: {e}");
    }
}

async fn check_batch<T>(
    conn: &mut Connection,
    ty: &str,
    values: &[T],
    expected_text: &impl Fn(&T) -> Option<String>,
    same: &impl Fn(&T, &T) -> bool,
) -> Result<(), String>
where
    T: Encode + for<'r> Decode<'r> + Type + Clone + Debug,
{
    let sql = format!("SELECT $1::{ty}, ($1::{ty})::text");
    let mut pipeline = conn.pipeline();
    for v in values {
        pipeline.push(query(AssertSqlSafe(sql.clone())).bind(v.clone()));
    }
    let results = pipeline
        .run()
        .await
        .map_err(|e| format!("{ty}: pipeline of {}: {e}", values.len()))?;
    let mut texts = Vec::with_capacity(values.len());
    for (v, r) in values.iter().zip(&results) {
        let step = format!("{ty} {v:?}: binary");
        let [row] = r.rows.as_slice() else {
            return Err(format!("{step}: {} rows", r.rows.len()));
        };
        check_same(&step, &get::<T>(row, 0, &step)?, v, same)?;
        let text = text_of(row, 1, &step)?;
        if let Some(want) = expected_text(v) {
            check_text(&step, &text, &want)?;
        }
        texts.push(text);
    }
    let columns: Vec<String> = texts
        .iter()
        .map(|t| format!("{}::{ty}", literal(t)))
        .collect();
    let row = simple_row(conn, &format!("SELECT {}", columns.join(", ")))
        .await
        .map_err(|e| format!("{ty}: text batch: {e}"))?;
    for (i, v) in values.iter().enumerate() {
        let step = format!("{ty} {v:?}: text {:?}", texts[i]);
        check_same(&step, &get::<T>(&row, i, &step)?, v, same)?;
    }
    Ok(())
}
