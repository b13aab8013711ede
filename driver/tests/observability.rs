//! The driver's `tracing` spans against a real server, collected by a small subscriber
//! written here (no subscriber crate): their names, their one target prefix
//! (`quarry_driver::`), OpenTelemetry's database fields, the failed status and SQLSTATE
//! on an error, and that no bound value ever appears in a span or event.
//!
//! Each test runs on a current-thread runtime with the collector as the thread's default
//! subscriber, so it sees exactly the spans of its own work.
#![cfg(all(feature = "temp-server", unix))]

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use quarry_driver::{Connection, ErrorKind, PoolOptions, TempServer, query, query_scalar};

static SERVER: OnceLock<TempServer> = OnceLock::new();

fn server() -> &'static TempServer {
    SERVER.get_or_init(|| TempServer::start().expect("starting the test server"))
}

// --- The collector ------------------------------------------------------------------

/// One span as the collector saw it.
#[derive(Clone, Debug, Default)]
struct SpanRec {
    name: String,
    target: String,
    fields: BTreeMap<String, String>,
    /// Handles still open; 0 once closed.
    refs: u64,
    closed: bool,
}

impl SpanRec {
    fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }
}

#[derive(Default)]
struct Store {
    spans: HashMap<u64, SpanRec>,
    /// In creation order.
    order: Vec<u64>,
    /// Every event as "target: field=value ...".
    events: Vec<String>,
}

#[derive(Clone, Default)]
struct Collector {
    store: Arc<Mutex<Store>>,
    next: Arc<AtomicU64>,
}

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl tracing::field::Visit for Fields<'_> {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
    fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
        self.0.insert(field.name().to_owned(), value.to_string());
    }
    fn record_i64(&mut self, field: &tracing::field::Field, value: i64) {
        self.0.insert(field.name().to_owned(), value.to_string());
    }
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

impl tracing::Subscriber for Collector {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, attrs: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let mut rec = SpanRec {
            name: attrs.metadata().name().to_owned(),
            target: attrs.metadata().target().to_owned(),
            refs: 1,
            ..SpanRec::default()
        };
        attrs.record(&mut Fields(&mut rec.fields));
        let mut store = self.store.lock().unwrap();
        store.spans.insert(id, rec);
        store.order.push(id);
        tracing::span::Id::from_u64(id)
    }
    fn record(&self, id: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        let mut store = self.store.lock().unwrap();
        if let Some(rec) = store.spans.get_mut(&id.into_u64()) {
            values.record(&mut Fields(&mut rec.fields));
        }
    }
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        let mut line = format!("{}:", event.metadata().target());
        for (k, v) in fields {
            let _ = write!(line, " {k}={v}");
        }
        self.store.lock().unwrap().events.push(line);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
    fn clone_span(&self, id: &tracing::span::Id) -> tracing::span::Id {
        if let Some(rec) = self.store.lock().unwrap().spans.get_mut(&id.into_u64()) {
            rec.refs += 1;
        }
        id.clone()
    }
    fn try_close(&self, id: tracing::span::Id) -> bool {
        let mut store = self.store.lock().unwrap();
        let Some(rec) = store.spans.get_mut(&id.into_u64()) else {
            return false;
        };
        rec.refs = rec.refs.saturating_sub(1);
        if rec.refs == 0 {
            rec.closed = true;
            true
        } else {
            false
        }
    }
}

impl Collector {
    /// Installs the collector as this thread's subscriber until the guard drops.
    fn install(&self) -> tracing::subscriber::DefaultGuard {
        tracing::subscriber::set_default(self.clone())
    }

    /// The spans named `name`, in creation order.
    fn spans(&self, name: &str) -> Vec<SpanRec> {
        let store = self.store.lock().unwrap();
        store
            .order
            .iter()
            .map(|id| &store.spans[id])
            .filter(|s| s.name == name)
            .cloned()
            .collect()
    }

    fn all_spans(&self) -> Vec<SpanRec> {
        let store = self.store.lock().unwrap();
        store
            .order
            .iter()
            .map(|id| store.spans[id].clone())
            .collect()
    }

    fn events(&self) -> Vec<String> {
        self.store.lock().unwrap().events.clone()
    }

    /// The one span named `name` whose `db.query.text` is `sql`.
    fn query_span(&self, sql: &str) -> SpanRec {
        let found: Vec<SpanRec> = self
            .spans("query")
            .into_iter()
            .filter(|s| s.field("db.query.text") == Some(sql))
            .collect();
        assert_eq!(found.len(), 1, "query spans for {sql:?}: {found:#?}");
        found.into_iter().next().unwrap()
    }

    /// Every value recorded anywhere (span fields and events) must not contain `secret`,
    /// and every span's target starts with `quarry_driver::`.
    fn assert_clean(&self, secret: &str) {
        for span in self.all_spans() {
            assert!(
                span.target.starts_with("quarry_driver::"),
                "a span outside the quarry_driver:: target prefix: {span:#?}"
            );
            for (k, v) in &span.fields {
                assert!(
                    !v.contains(secret),
                    "the bound value appears in span {} field {k}: {v}",
                    span.name
                );
            }
        }
        for event in self.events() {
            assert!(
                !event.contains(secret),
                "the bound value appears in an event: {event}"
            );
        }
    }
}

fn assert_db_fields(span: &SpanRec) {
    let s = server();
    assert_eq!(
        span.field("db.system.name"),
        Some("postgresql"),
        "{span:#?}"
    );
    assert_eq!(span.field("otel.kind"), Some("client"), "{span:#?}");
    assert_eq!(span.field("server.address"), Some(s.host()), "{span:#?}");
    assert_eq!(
        span.field("server.port"),
        Some(s.port().to_string().as_str()),
        "{span:#?}"
    );
    assert_eq!(span.field("db.namespace"), Some("postgres"), "{span:#?}");
}

fn assert_failed(span: &SpanRec, sqlstate: Option<&str>, error_type: &str) {
    assert_eq!(span.field("otel.status_code"), Some("ERROR"), "{span:#?}");
    assert_eq!(span.field("error.type"), Some(error_type), "{span:#?}");
    assert_eq!(span.field("db.response.status_code"), sqlstate, "{span:#?}");
    assert!(span.field("otel.status_description").is_some(), "{span:#?}");
}

fn assert_not_failed(span: &SpanRec) {
    for f in ["otel.status_code", "error.type", "db.response.status_code"] {
        assert_eq!(
            span.field(f),
            None,
            "{f} on a span that succeeded: {span:#?}"
        );
    }
}

async fn connect() -> Connection {
    Connection::connect(&server().url())
        .await
        .expect("connecting")
}

const SECRET: &str = "hunter2-very-secret-value";

// --- Queries --------------------------------------------------------------------------

#[tokio::test]
async fn query_spans_carry_the_otel_database_fields_and_no_bound_value() {
    let collector = Collector::default();
    let _guard = collector.install();
    let mut conn = connect().await;

    let sql = "  select $1::text AS v";
    let v: String = query_scalar(sql)
        .bind(SECRET)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(v, SECRET);
    let span = collector.query_span(sql);
    assert_eq!(span.target, "quarry_driver::query");
    assert_db_fields(&span);
    assert_eq!(span.field("db.operation.name"), Some("SELECT"));
    assert_eq!(span.field("otel.name"), Some("SELECT"));
    assert_eq!(span.field("rows"), Some("1"));
    assert!(span.field("elapsed_us").is_some(), "{span:#?}");
    assert!(
        span.closed,
        "the query's span is closed when it ends: {span:#?}"
    );
    assert_not_failed(&span);

    // A statement the name list does not know: no operation name (never a piece of SQL).
    conn.batch_execute("DO $$ BEGIN END $$").await.unwrap();
    let span = collector.query_span("DO $$ BEGIN END $$");
    assert_eq!(span.field("db.operation.name"), Some("DO"));

    // The server's message quotes the bound value; the span must not.
    let bad = "SELECT $1::text::int";
    let e = query(bad)
        .bind(SECRET)
        .execute(&mut conn)
        .await
        .unwrap_err();
    assert_eq!(e.code().map(|c| c.code()), Some("22P02"), "{e}");
    assert!(format!("{e}").contains("integer"), "{e}");
    let span = collector.query_span(bad);
    assert_failed(&span, Some("22P02"), "22P02");

    // A client-side failure: the kind is the error type, no SQLSTATE.
    let timeout_sql = "SELECT pg_sleep(5)";
    let e = query(timeout_sql)
        .timeout(Duration::from_millis(100))
        .execute(&mut conn)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    let span = collector.query_span(timeout_sql);
    assert_failed(&span, None, "timeout");

    // The simple protocol and a failure there.
    let e = conn.simple_query("SELECT 1/0").await.unwrap_err();
    assert_eq!(e.code().map(|c| c.code()), Some("22012"));
    assert_failed(&collector.query_span("SELECT 1/0"), Some("22012"), "22012");

    collector.assert_clean(SECRET);
}

#[tokio::test]
async fn slow_query_warnings_and_prepare_spans_use_the_one_prefix() {
    let collector = Collector::default();
    let _guard = collector.install();
    let url = format!("{}&slow_query_threshold=0.001", server().url());
    let mut conn = Connection::connect(&url).await.unwrap();
    query("SELECT pg_sleep(0.01), $1::text")
        .bind(SECRET)
        .execute(&mut conn)
        .await
        .unwrap();
    let slow: Vec<String> = collector
        .events()
        .into_iter()
        .filter(|e| e.contains("slow query"))
        .collect();
    assert_eq!(slow.len(), 1, "{:#?}", collector.events());
    assert!(
        slow[0].starts_with("quarry_driver::slow_query:"),
        "{slow:?}"
    );

    let sql = "UPDATE pg_class SET relname = relname WHERE false";
    conn.prepare(sql).await.unwrap();
    let spans = collector.spans("prepare");
    assert_eq!(spans.len(), 1, "{spans:#?}");
    assert_eq!(spans[0].target, "quarry_driver::prepare");
    assert_eq!(spans[0].field("db.query.text"), Some(sql));
    assert_eq!(spans[0].field("db.operation.name"), Some("UPDATE"));
    assert_db_fields(&spans[0]);
    assert_not_failed(&spans[0]);

    let e = conn
        .prepare("SELECT * FROM no_such_table")
        .await
        .unwrap_err();
    assert_eq!(e.code().map(|c| c.code()), Some("42P01"));
    let spans = collector.spans("prepare");
    assert_eq!(spans.len(), 2);
    assert_failed(&spans[1], Some("42P01"), "42P01");

    collector.assert_clean(SECRET);
}

// --- Connecting -----------------------------------------------------------------------

#[tokio::test]
async fn one_connect_span_per_host_attempt() {
    let collector = Collector::default();
    let _guard = collector.install();
    let s = server();
    // A port nobody listens on: bound, then released.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);
    let url = format!(
        "host=127.0.0.1,{host} port={closed_port},{port} user=postgres dbname=postgres \
         sslmode=disable connect_timeout=5",
        host = s.host(),
        port = s.port()
    );
    let conn = Connection::connect(&url).await.unwrap();
    drop(conn);
    let spans = collector.spans("connect");
    assert_eq!(spans.len(), 2, "{spans:#?}");
    let (refused, ok) = (&spans[0], &spans[1]);
    for span in &spans {
        assert_eq!(span.target, "quarry_driver::connect");
        assert_eq!(span.field("db.system.name"), Some("postgresql"));
        assert_eq!(span.field("db.namespace"), Some("postgres"));
        assert!(span.closed, "{span:#?}");
    }
    assert_eq!(
        refused.field("server.port"),
        Some(closed_port.to_string().as_str())
    );
    assert_eq!(refused.field("outcome"), Some("failed"));
    assert_failed(refused, None, "io");
    assert_eq!(ok.field("server.port"), Some(s.port().to_string().as_str()));
    assert_eq!(ok.field("server.address"), Some(s.host()));
    assert_eq!(
        ok.field("network.peer.address"),
        Some(format!("{}:{}", s.host(), s.port()).as_str())
    );
    assert_eq!(ok.field("outcome"), Some("connected"));
    assert_not_failed(ok);

    // A refusal by the server (a database that does not exist) is recorded with its SQLSTATE.
    let url = format!("{}&dbname=no_such_db", s.url());
    let e = Connection::connect(&url).await.unwrap_err();
    assert_eq!(e.code().map(|c| c.code()), Some("3D000"), "{e}");
    let spans = collector.spans("connect");
    assert_eq!(spans.len(), 3, "{spans:#?}");
    assert_failed(&spans[2], Some("3D000"), "3D000");
    assert_eq!(spans[2].field("db.namespace"), Some("no_such_db"));
}

// --- The pool -------------------------------------------------------------------------

#[tokio::test]
async fn acquire_spans_record_the_wait_and_timeouts() {
    let collector = Collector::default();
    let _guard = collector.install();
    let pool = PoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_millis(200))
        .connect_lazy(&server().url())
        .unwrap();
    let held = pool.acquire().await.unwrap();
    // Released after 50 ms: the next acquire waits at least that long.
    let waiter = {
        let pool = pool.clone();
        tokio::spawn(async move { pool.acquire().await.map(drop) })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    drop(held);
    waiter.await.unwrap().unwrap();
    // Held past the timeout: the acquire fails.
    let held = pool.acquire().await.unwrap();
    let e = pool.acquire().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PoolTimedOut);
    drop(held);

    let spans = collector.spans("acquire");
    assert_eq!(spans.len(), 4, "{spans:#?}");
    for span in &spans {
        assert_eq!(span.target, "quarry_driver::pool");
        assert!(span.field("wait_us").is_some(), "{span:#?}");
    }
    let waited: u64 = spans[1].field("wait_us").unwrap().parse().unwrap();
    assert!(
        waited >= 40_000,
        "the second acquire waited {waited} us: {spans:#?}"
    );
    assert_eq!(spans[1].field("outcome"), Some("acquired"));
    assert_not_failed(&spans[1]);
    assert_eq!(spans[3].field("outcome"), Some("timed_out"));
    assert_failed(&spans[3], None, "pool_timed_out");
    let timed_out: u64 = spans[3].field("wait_us").unwrap().parse().unwrap();
    assert!(timed_out >= 150_000, "{spans:#?}");
}

// --- Transactions, COPY, cursors ------------------------------------------------------

#[tokio::test]
async fn transaction_spans_record_their_outcome() {
    let collector = Collector::default();
    let _guard = collector.install();
    let mut conn = connect().await;

    let tx = conn.begin().await.unwrap();
    tx.commit().await.unwrap();
    let tx = conn.begin().await.unwrap();
    tx.rollback().await.unwrap();
    {
        let mut tx = conn.begin().await.unwrap();
        let sp = tx.begin().await.unwrap();
        sp.commit().await.unwrap();
        // Dropped unfinished: rolled back.
    }
    {
        let mut tx = conn.begin().await.unwrap();
        let _ = tx.batch_execute("SELECT 1/0").await.unwrap_err();
        let e = tx.commit().await.unwrap_err();
        assert_eq!(e.code().map(|c| c.code()), Some("25P02"));
    }
    conn.batch_execute("SELECT 1").await.unwrap();

    let spans = collector.spans("transaction");
    let outcomes: Vec<(Option<&str>, Option<&str>)> = spans
        .iter()
        .map(|s| (s.field("depth"), s.field("outcome")))
        .collect();
    assert_eq!(
        outcomes,
        [
            (Some("0"), Some("committed")),
            (Some("0"), Some("rolled_back")),
            (Some("0"), Some("dropped")),
            (Some("1"), Some("committed")),
            (Some("0"), Some("rolled_back")),
        ],
        "{spans:#?}"
    );
    for span in &spans {
        assert_eq!(span.target, "quarry_driver::transaction");
        assert_db_fields(span);
        assert!(span.closed, "{span:#?}");
    }
    assert_failed(&spans[4], Some("25P02"), "25P02");
    assert_not_failed(&spans[0]);
}

#[tokio::test]
async fn copy_and_cursor_spans_count_rows() {
    let collector = Collector::default();
    let _guard = collector.install();
    let mut conn = connect().await;
    conn.batch_execute("CREATE TEMP TABLE obs_copy (v text)")
        .await
        .unwrap();

    let mut copy = conn.copy_in_raw("COPY obs_copy FROM STDIN").await.unwrap();
    copy.send(format!("{SECRET}\nb\nc\n")).await.unwrap();
    assert_eq!(copy.finish().await.unwrap(), 3);
    let mut out = Vec::new();
    let n = conn
        .copy_out_to("COPY obs_copy TO STDOUT", &mut out)
        .await
        .unwrap();
    assert_eq!(n, 3);
    let e = conn
        .copy_in_raw("COPY no_such_table FROM STDIN")
        .await
        .unwrap_err();
    assert_eq!(e.code().map(|c| c.code()), Some("42P01"));

    let spans = collector.spans("copy");
    assert_eq!(spans.len(), 3, "{spans:#?}");
    for span in &spans {
        assert_eq!(span.target, "quarry_driver::copy");
        assert_eq!(span.field("db.operation.name"), Some("COPY"));
        assert_db_fields(span);
        assert!(span.closed, "{span:#?}");
    }
    assert_eq!(spans[0].field("direction"), Some("in"));
    assert_eq!(spans[0].field("rows"), Some("3"));
    assert_not_failed(&spans[0]);
    assert_eq!(spans[1].field("direction"), Some("out"));
    assert_eq!(spans[1].field("rows"), Some("3"));
    assert_failed(&spans[2], Some("42P01"), "42P01");

    let mut tx = conn.begin().await.unwrap();
    let sql = "SELECT g FROM generate_series(1, 5) g WHERE g::text <> $1";
    let mut cursor = tx.cursor(query(sql).bind(SECRET)).await.unwrap();
    assert_eq!(cursor.fetch(3).await.unwrap().len(), 3);
    assert_eq!(cursor.fetch(3).await.unwrap().len(), 2);
    drop(cursor);
    tx.rollback().await.unwrap();
    let spans = collector.spans("fetch");
    assert_eq!(spans.len(), 2, "{spans:#?}");
    for span in &spans {
        assert_eq!(span.target, "quarry_driver::cursor");
        assert_eq!(span.field("db.query.text"), Some(sql));
        assert_eq!(span.field("max_rows"), Some("3"));
        assert_db_fields(span);
    }
    assert_eq!(spans[0].field("rows"), Some("3"));
    assert_eq!(spans[1].field("rows"), Some("2"));

    collector.assert_clean(SECRET);
}
