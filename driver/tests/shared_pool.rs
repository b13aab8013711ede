//! A pool whose queries share connections (`PoolOptions::share_connections`), against a
//! real server: error isolation between tasks on one connection, a timeout and drop sweep,
//! a backend terminated with queries in flight, session-changing SQL kept to itself, and
//! the statement cache under pipelining.
//!
//! Every answer is checked against the parameter its own task sent, so a response routed
//! to the wrong caller, or a desynchronised connection, shows as a wrong answer.
#![cfg(all(feature = "temp-server", unix))]

use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use quarry_driver::{
    AssertSqlSafe, Connection, ErrorKind, Pool, PoolOptions, SqlState, TempServer, query, query_as,
    query_scalar,
};

static SERVER: OnceLock<TempServer> = OnceLock::new();

fn server() -> &'static TempServer {
    SERVER.get_or_init(|| TempServer::start().expect("starting the test server"))
}

fn url(app: &str) -> String {
    format!(
        "{}&application_name={app}&connect_timeout=5",
        server().url()
    )
}

async fn shared_pool(app: &str, max_connections: usize, max_in_flight: usize) -> Pool {
    PoolOptions::new()
        .max_connections(max_connections)
        .share_connections(true)
        .max_in_flight(max_in_flight)
        .acquire_timeout(Duration::from_secs(20))
        .connect(&url(app))
        .await
        .expect("opening the pool")
}

/// Polls `cond` every 5 ms for at most 10 s.
async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The most queries seen in flight on one shared connection while `work` runs.
async fn max_in_flight_during<F: std::future::Future>(pool: &Pool, work: F) -> (F::Output, usize) {
    let seen = Arc::new(AtomicUsize::new(0));
    let sampler = tokio::spawn({
        let pool = pool.clone();
        let seen = seen.clone();
        async move {
            loop {
                for c in pool.shared_connections() {
                    seen.fetch_max(c.in_flight, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_micros(200)).await;
            }
        }
    });
    let out = work.await;
    sampler.abort();
    (out, seen.load(Ordering::Relaxed))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_and_rows_stay_with_the_task_that_sent_them() {
    let pool = shared_pool("shared_isolation", 2, 16).await;
    let work = async {
        let mut tasks = Vec::new();
        for task in 0..48_i64 {
            let pool = pool.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..40_i64 {
                    let n = task * 1000 + i;
                    if (task + i) % 5 == 0 {
                        // Division by zero: this query fails, nobody else's.
                        let err = query_scalar::<i64>("SELECT $1::int8 / ($1::int8 - $1::int8)")
                            .bind(n)
                            .fetch_one(&pool)
                            .await
                            .expect_err("a division by zero fails");
                        assert_eq!(err.code(), Some(&SqlState::DivisionByZero), "{err}");
                    } else if i % 7 == 0 {
                        let rows: Vec<(i64, String)> =
                            query_as("SELECT $1::int8 + g, $2::text FROM generate_series(0, 4) g")
                                .bind(n)
                                .bind(format!("task {task}"))
                                .fetch_all(&pool)
                                .await
                                .expect("rows");
                        let want: Vec<(i64, String)> =
                            (0..5).map(|g| (n + g, format!("task {task}"))).collect();
                        assert_eq!(rows, want);
                    } else {
                        let v: i64 = query_scalar("SELECT $1::int8 * 3")
                            .bind(n)
                            .fetch_one(&pool)
                            .await
                            .expect("a fast query never sees another's error");
                        assert_eq!(v, n * 3, "task {task} got another task's answer");
                    }
                }
            }));
        }
        for t in tasks {
            t.await.expect("task");
        }
    };
    let ((), seen) = max_in_flight_during(&pool, work).await;
    assert!(
        seen >= 2,
        "queries were pipelined ({seen} in flight at most)"
    );
    assert!(seen <= 16, "max_in_flight bounds the depth ({seen})");
    let n: i64 = query_scalar("SELECT 41::int8 + 1")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(n, 42);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeouts_and_drops_on_a_shared_connection_touch_no_other_query() {
    let app = "shared_sweep";
    // One connection: every query of the test is pipelined with the abandoned ones.
    let pool = shared_pool(app, 1, 8).await;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Other tasks' queries, all the while, each running a few milliseconds on the server
    // (so a cancel meant for the query before them would land on them): each answer
    // identifies its caller, and none may fail (57014 would be another's cancel).
    let mut others = Vec::new();
    for task in 0..4_i64 {
        let pool = pool.clone();
        let stop = stop.clone();
        others.push(tokio::spawn(async move {
            let mut n = 0_i64;
            while !stop.load(Ordering::Relaxed) {
                let v = task * 1_000_000 + n;
                let got: (i64, i32) = query_as("SELECT $1::int8, $2::int4 FROM pg_sleep(0.003)")
                    .bind(v)
                    .bind(7_i32)
                    .fetch_one(&pool)
                    .await
                    .unwrap_or_else(|e| panic!("task {task}'s query failed: {e}"));
                assert_eq!(got, (v, 7), "task {task} got a wrong answer");
                n += 1;
            }
            n
        }));
    }
    // Queries abandoned at many points, by their timeout or by dropping the future:
    // short ones (likely to end just as their cancel would arrive) and long ones.
    let mut abandoned = 0;
    for step in 0..80_i32 {
        let after = Duration::from_micros(100 + 250 * u64::from(step.unsigned_abs() % 20));
        let sql = if step % 4 == 0 {
            "SELECT $1::int4 FROM pg_sleep(0.05)"
        } else {
            "SELECT $1::int4 FROM pg_sleep(0.002)"
        };
        let q = query_scalar::<i32>(sql).bind(step);
        let r = if step % 2 == 0 {
            q.timeout(after).fetch_one(&pool).await.map(Some)
        } else {
            match tokio::time::timeout(after, q.fetch_one(&pool)).await {
                Ok(r) => r.map(Some),
                Err(_) => Ok(None),
            }
        };
        match r {
            Ok(Some(v)) => assert_eq!(v, step, "the query's own answer"),
            Ok(None) => abandoned += 1,
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
                abandoned += 1;
            }
        }
        assert!(
            !others.iter().any(|t| t.is_finished()),
            "another task's query failed (see its panic above)"
        );
        // And one that finishes, on the same connection, with its own answer.
        let v: i32 = query_scalar("SELECT $1::int4 + 1")
            .bind(step)
            .fetch_one(&pool)
            .await
            .expect("a query after an abandoned one");
        assert_eq!(v, step + 1);
    }
    stop.store(true, Ordering::Relaxed);
    let mut ran = 0;
    for t in others {
        ran += t.await.expect("other task");
    }
    assert!(abandoned >= 40, "most queries were abandoned ({abandoned})");
    assert!(ran > 0);
    // No abandoned sleep runs on forever on the server: each was cancelled or finished.
    let mut check = Connection::connect(&server().url()).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let sleeping: i64 = query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 \
             AND state = 'active' AND query LIKE '%pg_sleep%'",
        )
        .bind(app)
        .fetch_one(&mut check)
        .await
        .unwrap();
        if sleeping == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{sleeping} abandoned sleeps still run"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminated_backend_fails_exactly_the_queries_in_flight_on_it() {
    let pool = shared_pool("shared_terminate", 1, 16).await;
    let mut tasks = Vec::new();
    for i in 0..10_i32 {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            query_scalar::<i32>("SELECT $1::int4 FROM pg_sleep(5)")
                .bind(i)
                .fetch_one(&pool)
                .await
        }));
    }
    eventually("10 queries are in flight on the shared connection", || {
        pool.shared_connections().iter().any(|c| c.in_flight == 10)
    })
    .await;
    let victim = pool.shared_connections()[0].backend_pid;
    let mut admin = Connection::connect(&server().url()).await.unwrap();
    let killed: bool = query_scalar("SELECT pg_terminate_backend($1)")
        .bind(victim)
        .fetch_one(&mut admin)
        .await
        .unwrap();
    assert!(killed);
    for t in tasks {
        let err = tokio::time::timeout(Duration::from_secs(10), t)
            .await
            .expect("no query hangs")
            .expect("task")
            .expect_err("every query in flight fails");
        let clear =
            err.code() == Some(&SqlState::AdminShutdown) || err.kind() == ErrorKind::OutcomeUnknown;
        assert!(clear, "the server's error or OutcomeUnknown, got: {err}");
    }
    // The pool replaces the connection: the next queries succeed elsewhere.
    for i in 0..20_i32 {
        let (v, pid): (i32, i32) = query_as("SELECT $1::int4, pg_backend_pid()")
            .bind(i)
            .fetch_one(&pool)
            .await
            .expect("queries after the termination succeed");
        assert_eq!(v, i);
        assert_ne!(pid, victim);
    }
}

/// Runs `sql` through the pool while a shared query holds the pool's only connection,
/// then asks, through the pool, what `probe` says about the session the next shared query
/// gets. Returns the probe's answer and how many connections were handed out for `sql`.
///
/// A statement pipelined on the shared connection is handed out no connection (0) and
/// leaves its mark on the session the next shared query gets; one that took the
/// connection for itself is handed out one (1), and was reset before the connection was
/// lent again.
async fn after_session_change(app: &str, sql: &'static str, probe: &'static str) -> (String, u64) {
    let pool = shared_pool(app, 1, 8).await;
    let slow = tokio::spawn({
        let pool = pool.clone();
        async move {
            query_scalar::<i32>("SELECT 1 FROM pg_sleep(0.2)")
                .fetch_one(&pool)
                .await
        }
    });
    eventually("the shared connection has a query in flight", || {
        pool.shared_connections().iter().any(|c| c.in_flight == 1)
    })
    .await;
    let before = pool.status().acquired;
    query(sql)
        .execute(&pool)
        .await
        .expect("the session-changing statement");
    let handed_out = pool.status().acquired - before;
    let seen: String = query_scalar(AssertSqlSafe(probe))
        .fetch_one(&pool)
        .await
        .expect("the probe");
    assert_eq!(slow.await.unwrap().unwrap(), 1);
    (seen, handed_out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_changing_sql_never_shares_a_connection() {
    let (seen, own) = after_session_change(
        "shared_set",
        "SET application_name = 'changed_by_set'",
        "SELECT current_setting('application_name')",
    )
    .await;
    assert_eq!(
        (seen.as_str(), own),
        ("shared_set", 1),
        "SET took a connection of its own and was reset"
    );

    let (seen, own) = after_session_change(
        "shared_set_config",
        "SELECT set_config('application_name', 'changed_by_set_config', false)",
        "SELECT current_setting('application_name')",
    )
    .await;
    assert_eq!((seen.as_str(), own), ("shared_set_config", 1));

    let (seen, own) = after_session_change(
        "shared_advisory",
        "SELECT pg_advisory_lock(4242)",
        "SELECT count(*)::text FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()",
    )
    .await;
    assert_eq!(
        (seen.as_str(), own),
        ("0", 1),
        "the session lock was released before the connection was lent again"
    );

    // A temporary table outlives its statement on any pooled connection (the reset query
    // does not drop it); what matters here is that it was made on a connection of its own.
    let (_, own) = after_session_change(
        "shared_temp",
        "CREATE TEMP TABLE shared_temp_probe (a int)",
        "SELECT 'probe'",
    )
    .await;
    assert_eq!(own, 1, "CREATE TEMP TABLE took a connection of its own");

    let (_, own) = after_session_change("shared_plain", "SELECT 1", "SELECT 'probe'").await;
    assert_eq!(own, 0, "a plain query shares the busy connection");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_still_being_parsed_is_never_bound_by_another_query() {
    let pool = shared_pool("shared_parse", 1, 32).await;
    // Many queries of one new statement at once: the first parses it (named); the others,
    // written before its description arrived, parse their own (unnamed). The cached
    // statement must exist on the server afterwards: a Close sent for it while its
    // description was on its way would leave the cache naming a statement that is gone.
    let mut tasks = Vec::new();
    for i in 0..32_i64 {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            query_scalar::<i64>("SELECT $1::int8 - 17")
                .bind(i)
                .fetch_one(&pool)
                .await
        }));
    }
    for (i, t) in (0_i64..).zip(tasks) {
        assert_eq!(t.await.unwrap().unwrap(), i - 17);
    }
    // Statements whose Parse fails: each query gets its own error (42P01), never
    // "prepared statement does not exist" from binding another's failed statement.
    let mut tasks = Vec::new();
    for i in 0..16_i64 {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            query_scalar::<i64>("SELECT x FROM shared_parse_missing WHERE x = $1")
                .bind(i)
                .fetch_optional(&pool)
                .await
        }));
    }
    for t in tasks {
        let err = t.await.unwrap().expect_err("the table does not exist");
        assert_eq!(err.code(), Some(&SqlState::UndefinedTable), "{err}");
    }
    // The statement cache on the connection is sound: the cached statement runs by name.
    eventually("the shared connection went back to the pool", || {
        pool.shared_connections().is_empty()
    })
    .await;
    let mut conn = pool.acquire().await.unwrap();
    let cached = conn.cached_statements();
    assert!(cached >= 1, "the statement was cached");
    let v: i64 = query_scalar("SELECT $1::int8 - 17")
        .bind(100_i64)
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(v, 83);
    assert_eq!(
        conn.cached_statements(),
        cached,
        "the cached statement existed on the server (no fallback to unnamed statements)"
    );
    // And the server holds no statement the cache does not know of (the queries written
    // while the first one's Parse was in flight did not leave named statements behind).
    let on_server: i64 = query_scalar("SELECT count(*) FROM pg_prepared_statements")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(
        usize::try_from(on_server).unwrap(),
        conn.cached_statements()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_and_acquire_are_not_starved_by_shared_queries() {
    let pool = shared_pool("shared_starve", 2, 8).await;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut load = Vec::new();
    for task in 0..16_i64 {
        let pool = pool.clone();
        let stop = stop.clone();
        load.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let v: i64 = query_scalar("SELECT $1::int8")
                    .bind(task)
                    .fetch_one(&pool)
                    .await
                    .unwrap();
                assert_eq!(v, task);
            }
        }));
    }
    for i in 0..10_i64 {
        let mut tx = tokio::time::timeout(Duration::from_secs(10), pool.begin())
            .await
            .expect("begin is served while shared queries run")
            .unwrap();
        let v: i64 = query_scalar("SELECT $1::int8")
            .bind(i)
            .fetch_one(&mut tx)
            .await
            .unwrap();
        assert_eq!(v, i);
        tx.commit().await.unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    for t in load {
        t.await.unwrap();
    }
}
