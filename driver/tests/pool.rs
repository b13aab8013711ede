//! The pool against a real server: saturation, timeouts, dropped futures, dirty returns,
//! terminated backends, a server restart under load, closing.
//!
//! One shared `TempServer` for the binary; the restart and role-change tests start their
//! own so they do not disturb the others. Each test names its connections with its own
//! `application_name`, so `pg_stat_activity` can be compared with what the pool thinks.
#![cfg(all(feature = "temp-server", unix))]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use quarry_driver::pool::Reset;
use quarry_driver::{
    AssertSqlSafe, ErrorKind, Pool, PoolOptions, TempServer, TransactionStatus, query, query_scalar,
};

static SERVER: OnceLock<TempServer> = OnceLock::new();

fn server() -> &'static TempServer {
    SERVER.get_or_init(|| TempServer::start().expect("starting the test server"))
}

fn url(server: &TempServer, app: &str) -> String {
    format!("{}&application_name={app}&connect_timeout=5", server.url())
}

/// Backends connected with `application_name = app`, counted by psql (not by our code).
async fn backends(server: &'static TempServer, app: &str) -> usize {
    let sql = format!("SELECT count(*) FROM pg_stat_activity WHERE application_name = '{app}'");
    let out = tokio::task::spawn_blocking(move || server.run_sql(&sql))
        .await
        .expect("psql task")
        .expect("counting backends");
    out.trim().parse().expect("a count")
}

/// Waits (at most 10 s) until the server sees as many of our backends as the pool holds.
async fn assert_server_agrees(server: &'static TempServer, pool: &Pool, app: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let on_server = backends(server, app).await;
        let in_pool = pool.size();
        if on_server == in_pool {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "pg_stat_activity shows {on_server} backends for {app}, the pool holds {in_pool}: {:?}",
            pool.status()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Polls `cond` every 20 ms for at most 10 s.
async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn pid(pool: &Pool) -> i32 {
    query_scalar::<i32>("SELECT pg_backend_pid()")
        .fetch_one(pool)
        .await
        .expect("pg_backend_pid")
}

fn assert_quiet(pool: &Pool) {
    let st = pool.status();
    assert_eq!(st.in_use, 0, "{st:?}");
    assert_eq!(st.waiters, 0, "{st:?}");
    assert_eq!(st.opening, 0, "{st:?}");
    assert_eq!(st.idle, st.size, "{st:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_concurrent_acquires_over_ten_connections() {
    let app = "pool_thousand";
    let pool = PoolOptions::new()
        .max_connections(10)
        .connect_lazy(&url(server(), app))
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..1000_i64 {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            if i % 2 == 0 {
                // Through `&Pool`: one acquire per query.
                query_scalar::<i64>("SELECT $1::int8 * 2")
                    .bind(i)
                    .fetch_one(&pool)
                    .await
            } else {
                // Held for a while, used through `&mut PoolConnection`.
                let mut conn = pool.acquire().await?;
                if i % 3 == 0 {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                query_scalar::<i64>("SELECT $1::int8 * 2")
                    .bind(i)
                    .fetch_one(&mut conn)
                    .await
            }
        }));
    }
    let all = tokio::time::timeout(Duration::from_secs(120), async {
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.expect("task"));
        }
        out
    })
    .await
    .expect("no hang: 1,000 queries over 10 connections finish");
    for (i, r) in (0..).zip(all) {
        assert_eq!(r.expect("every query succeeds"), i * 2);
    }
    let st = pool.status();
    assert!(st.size <= 10 && st.size > 0, "{st:?}");
    assert_eq!(st.acquired, 1000, "{st:?}");
    assert_eq!(st.opened, st.size as u64 + st.closed, "{st:?}");
    assert_quiet(&pool);
    assert_server_agrees(server(), &pool, app).await;
    pool.close().await;
    assert_eq!(pool.size(), 0);
    assert_server_agrees(server(), &pool, app).await;
}

/// The stats a user exports (`Pool::status`) under load: gauges while tasks queue, the
/// counters and the summed acquire wait afterwards, and a timeout counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_counts_a_pool_under_load() {
    let app = "pool_status_load";
    let pool = PoolOptions::new()
        .max_connections(2)
        .connect_lazy(&url(server(), app))
        .unwrap();
    let hold = Duration::from_millis(10);
    let release = Arc::new(tokio::sync::Semaphore::new(0));
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let pool = pool.clone();
        let release = release.clone();
        tasks.push(tokio::spawn(async move {
            let mut conn = pool.acquire().await?;
            // The first two hold their connections until the gauges are read.
            release.acquire().await.expect("open semaphore").forget();
            tokio::time::sleep(hold).await;
            query_scalar::<i32>("SELECT 1").fetch_one(&mut conn).await
        }));
    }
    eventually("18 tasks wait for the 2 connections", || {
        let st = pool.status();
        st.waiters == 18 && st.in_use == 2
    })
    .await;
    let st = pool.status();
    assert_eq!((st.size, st.idle, st.opening), (2, 0, 0), "{st:?}");
    release.add_permits(20);
    for t in tasks {
        assert_eq!(t.await.expect("task").expect("query"), 1);
    }
    let st = pool.status();
    assert_eq!(st.acquired, 20, "{st:?}");
    assert_eq!(
        (st.opened, st.connect_failures, st.timed_out),
        (2, 0, 0),
        "{st:?}"
    );
    // 20 holds of at least `hold` on 2 connections: the k-th acquire (from 0) waited at
    // least k/2 holds, so the waits add up to at least 90 holds.
    assert!(st.acquire_wait >= hold * 90, "{st:?}");
    assert_quiet(&pool);

    // A timeout is counted, and its wait too.
    let before = st.acquire_wait;
    let one = PoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_millis(50))
        .connect_lazy(&url(server(), app))
        .unwrap();
    let held = one.acquire().await.unwrap();
    let err = one.acquire().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PoolTimedOut);
    drop(held);
    let st = one.status();
    assert_eq!((st.timed_out, st.acquired), (1, 1), "{st:?}");
    assert!(st.acquire_wait >= Duration::from_millis(50), "{st:?}");
    assert!(pool.status().acquire_wait == before, "pools count apart");
    one.close().await;
    pool.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acquire_timeout_fires_on_time() {
    let app = "pool_timeout";
    let timeout = Duration::from_millis(300);
    let pool = PoolOptions::new()
        .max_connections(1)
        .acquire_timeout(timeout)
        .connect(&url(server(), app))
        .await
        .unwrap();
    let held = pool.acquire().await.unwrap();
    for round in 0..2 {
        let start = Instant::now();
        let err = if round == 0 {
            pool.acquire().await.unwrap_err()
        } else {
            query("SELECT 1").execute(&pool).await.unwrap_err()
        };
        let took = start.elapsed();
        assert_eq!(err.kind(), ErrorKind::PoolTimedOut, "{err}");
        assert!(took >= timeout, "gave up early: {took:?}");
        // Generous slack for a loaded 2-core machine; a hang would be far longer.
        assert!(
            took < timeout + Duration::from_secs(3),
            "fired late: {took:?}"
        );
        assert!(err.to_string().contains("1 in use"), "{err}");
    }
    assert_eq!(pool.status().timed_out, 2);
    drop(held);
    // Served again once the connection is back.
    query("SELECT 1").execute(&pool).await.unwrap();
    assert_quiet(&pool);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_acquire_futures_leak_nothing() {
    let app = "pool_dropped";
    let max = 3;
    let pool = PoolOptions::new()
        .max_connections(max)
        .acquire_timeout(Duration::from_secs(20))
        .connect_lazy(&url(server(), app))
        .unwrap();

    // 1. Dropped while opening a connection: timeouts from 0 to ~30 ms land before, during
    //    and after the connect.
    for round in 0..60_u64 {
        let d = Duration::from_micros(round * 500);
        let _ = tokio::time::timeout(d, pool.acquire()).await;
    }
    // 2. Dropped while waiting, with connections coming back (grants to leaving waiters).
    let churn = {
        let pool = pool.clone();
        tokio::spawn(async move {
            for _ in 0..200 {
                let conn = pool.acquire().await.unwrap();
                tokio::task::yield_now().await;
                drop(conn);
            }
        })
    };
    let mut waiters = Vec::new();
    for i in 0..300_u64 {
        let pool = pool.clone();
        waiters.push(tokio::spawn(async move {
            let d = Duration::from_micros((i * 37) % 3000);
            let _ = tokio::time::timeout(d, pool.acquire()).await;
        }));
    }
    // 3. Dropped by select-style racing: the acquire loses against a ready future.
    for _ in 0..100 {
        let acquire = pool.acquire();
        tokio::pin!(acquire);
        tokio::select! {
            biased;
            _ = std::future::ready(()) => {}
            _ = &mut acquire => {}
        }
    }
    churn.await.unwrap();
    for w in waiters {
        w.await.unwrap();
    }
    eventually("every connection is back", || {
        let st = pool.status();
        st.in_use == 0 && st.opening == 0 && st.waiters == 0
    })
    .await;
    assert_quiet(&pool);
    // All the room is still there: `max` connections can be held at once, quickly.
    let held = tokio::time::timeout(Duration::from_secs(10), async {
        let mut held = Vec::new();
        for _ in 0..max {
            held.push(pool.acquire().await.unwrap());
        }
        held
    })
    .await
    .expect("no room was leaked");
    assert_eq!(held.len(), max);
    drop(held);
    assert_server_agrees(server(), &pool, app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_returned_dirty_is_clean_for_the_next_user() {
    let app = "pool_dirty";
    let pool = PoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(15))
        .connect(&url(server(), app))
        .await
        .unwrap();
    let table = "pool_dirty_t";
    pool.acquire()
        .await
        .unwrap()
        .batch_execute(&format!(
            "DROP TABLE IF EXISTS {table}; CREATE TABLE {table} (x int)"
        ))
        .await
        .unwrap();
    let first_pid = pid(&pool).await;

    // Inside a transaction.
    let mut conn = pool.acquire().await.unwrap();
    conn.batch_execute(&format!("BEGIN; INSERT INTO {table} VALUES (1)"))
        .await
        .unwrap();
    assert_eq!(conn.transaction_status(), TransactionStatus::InTransaction);
    drop(conn);
    let mut conn = pool.acquire().await.unwrap();
    assert_eq!(
        conn.backend_pid(),
        first_pid,
        "rolled back and kept, not replaced"
    );
    assert_eq!(conn.transaction_status(), TransactionStatus::Idle);
    let n: i64 = query_scalar(AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        n, 0,
        "the insert of the abandoned transaction was rolled back"
    );

    // In a failed transaction.
    conn.batch_execute("BEGIN").await.unwrap();
    assert!(conn.batch_execute("SELECT 1/0").await.is_err());
    assert_eq!(
        conn.transaction_status(),
        TransactionStatus::InFailedTransaction
    );
    drop(conn);
    let mut conn = pool.acquire().await.unwrap();
    assert_eq!(conn.transaction_status(), TransactionStatus::Idle);
    query("SELECT 1").execute(&mut conn).await.unwrap();

    // With the session changed: settings, LISTEN, an advisory lock, a cursor.
    conn.batch_execute(
        "SET search_path TO nowhere; SET work_mem = '1234kB'; LISTEN pool_dirty_chan; \
         DECLARE pool_dirty_cur CURSOR WITH HOLD FOR SELECT 1",
    )
    .await
    .unwrap();
    query("SELECT pg_advisory_lock(4242)")
        .execute(&mut conn)
        .await
        .unwrap();
    assert!(conn.session_changed());
    query("NOTIFY pool_dirty_chan, 'for the last user'")
        .execute(&mut conn)
        .await
        .unwrap();
    drop(conn);
    let mut conn = pool.acquire().await.unwrap();
    assert_eq!(conn.backend_pid(), first_pid);
    assert!(!conn.session_changed());
    let work_mem: String = query_scalar("SHOW work_mem")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_ne!(work_mem, "1234kB", "RESET ALL ran");
    let search_path: String = query_scalar("SHOW search_path")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_ne!(search_path, "nowhere");
    let (listens, cursors, locks): (i64, i64, i64) = quarry_driver::query_as(
        "SELECT (SELECT count(*) FROM pg_listening_channels()), \
                (SELECT count(*) FROM pg_cursors WHERE name = 'pool_dirty_cur'), \
                (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid())",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!((listens, cursors, locks), (0, 0, 0));
    assert!(
        conn.take_notifications().is_empty(),
        "the last user's notifications are gone"
    );
    drop(conn);

    // Dropped in the middle of a long query: cancelled, drained, and kept.
    let mut conn = pool.acquire().await.unwrap();
    let r = tokio::time::timeout(
        Duration::from_millis(100),
        query("SELECT pg_sleep(30)").execute(&mut conn),
    )
    .await;
    assert!(r.is_err(), "the query was abandoned");
    assert!(conn.has_pending_work());
    drop(conn);
    let mut conn = pool.acquire().await.unwrap();
    assert_eq!(
        conn.backend_pid(),
        first_pid,
        "the abandoned query was cancelled and the connection kept"
    );
    let v: i32 = query_scalar("SELECT 7").fetch_one(&mut conn).await.unwrap();
    assert_eq!(v, 7, "no collateral cancel, no leftover result");
    drop(conn);

    // A read-only error (25006) discards the connection: after a failover it may be a standby.
    let mut conn = pool.acquire().await.unwrap();
    conn.batch_execute("SET default_transaction_read_only = on")
        .await
        .unwrap();
    let err = conn
        .batch_execute(&format!("INSERT INTO {table} VALUES (2)"))
        .await
        .unwrap_err();
    assert_eq!(err.code().map(|c| c.code()), Some("25006"));
    drop(conn);
    assert_ne!(pid(&pool).await, first_pid, "replaced after 25006");
    assert_quiet(&pool);
    assert_server_agrees(server(), &pool, app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminated_backends_are_replaced() {
    let app = "pool_terminate";
    let pool = PoolOptions::new()
        .max_connections(3)
        .connect(&url(server(), app))
        .await
        .unwrap();
    // Three idle connections.
    let held: Vec<_> = futures_util::future::try_join_all((0..3).map(|_| pool.acquire()))
        .await
        .unwrap();
    let old: Vec<i32> = held.iter().map(|c| c.backend_pid()).collect();
    drop(held);
    assert_eq!(pool.idle(), 3);
    let sql = format!(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = '{app}'"
    );
    let s = server();
    tokio::task::spawn_blocking(move || s.run_sql(&sql))
        .await
        .unwrap()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while backends(server(), app).await > 0 {
        assert!(Instant::now() < deadline, "backends did not go away");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    // No call fails: the dead idle connections are noticed before they are handed out.
    for i in 0..20_i64 {
        let v: i64 = query_scalar("SELECT $1::int8")
            .bind(i)
            .fetch_one(&pool)
            .await
            .expect("dead idle connections are never handed out");
        assert_eq!(v, i);
    }
    let now = pid(&pool).await;
    assert!(!old.contains(&now));
    assert!(pool.status().closed >= 3, "{:?}", pool.status());

    // A connection in use whose backend is terminated fails its query, then is discarded.
    let mut conn = pool.acquire().await.unwrap();
    let victim = conn.backend_pid();
    let sql = format!("SELECT pg_terminate_backend({victim})");
    tokio::task::spawn_blocking(move || s.run_sql(&sql))
        .await
        .unwrap()
        .unwrap();
    let err = loop {
        // The termination may arrive a moment later.
        match query("SELECT 1").execute(&mut conn).await {
            Ok(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            Err(e) => break e,
        }
    };
    assert!(err.is_connection_fatal(), "{err}");
    drop(conn);
    assert_ne!(pid(&pool).await, victim);
    assert_quiet(&pool);
    assert_server_agrees(server(), &pool, app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_waits_for_connections_in_use() {
    let app = "pool_close";
    let pool = PoolOptions::new()
        .max_connections(2)
        .acquire_timeout(Duration::from_secs(20))
        .connect(&url(server(), app))
        .await
        .unwrap();
    let mut a = pool.acquire().await.unwrap();
    let b = pool.acquire().await.unwrap();
    // A waiter, woken by close with an error.
    let waiter = tokio::spawn({
        let pool = pool.clone();
        async move { pool.acquire().await.map(drop) }
    });
    eventually("the waiter queued", || pool.status().waiters == 1).await;
    let closing = tokio::spawn({
        let pool = pool.clone();
        async move { pool.close().await }
    });
    let err = tokio::time::timeout(Duration::from_secs(10), waiter)
        .await
        .expect("the waiter is woken")
        .unwrap()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Closed);
    assert_eq!(pool.acquire().await.unwrap_err().kind(), ErrorKind::Closed);
    assert!(pool.is_closed());
    assert!(pool.try_acquire().is_none());
    // Connections in use keep working until they are returned...
    query("SELECT 1").execute(&mut a).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!closing.is_finished(), "close waits for connections in use");
    drop(a);
    drop(b);
    // ...then close finishes and nothing is left on the server.
    tokio::time::timeout(Duration::from_secs(10), closing)
        .await
        .expect("close finishes once everything is back")
        .unwrap();
    assert_eq!(pool.size(), 0);
    // Backends exit a moment after Terminate: wait until the server agrees.
    assert_server_agrees(server(), &pool, app).await;
}

/// `terminate` cancels what connections in use are running (asyncpg's `terminate` closes
/// them): a long query fails with `query_canceled` instead of running on, the idle
/// connection closes at once, and everything is gone from the server at the end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminate_cancels_queries_in_use() {
    let app = "pool_terminate_in_use";
    let pool = PoolOptions::new()
        .max_connections(2)
        .min_connections(2)
        .connect(&url(server(), app))
        .await
        .unwrap();
    eventually("both connections are open", || pool.size() == 2).await;
    let mut busy = pool.acquire().await.unwrap();
    let busy_pid = busy.backend_pid();
    let sleeping = tokio::spawn(async move {
        let r = query("SELECT pg_sleep(60)").execute(&mut busy).await;
        drop(busy);
        r
    });
    // Wait until the server runs the sleep, as seen by psql.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let sql = format!(
            "SELECT count(*) FROM pg_stat_activity WHERE pid = {busy_pid} AND state = 'active'"
        );
        let out = tokio::task::spawn_blocking(move || server().run_sql(&sql))
            .await
            .unwrap()
            .unwrap();
        if out.trim() == "1" {
            break;
        }
        assert!(Instant::now() < deadline, "the sleep never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    pool.terminate();
    assert!(pool.is_closed());
    assert_eq!(pool.acquire().await.unwrap_err().kind(), ErrorKind::Closed);
    let err = tokio::time::timeout(Duration::from_secs(10), sleeping)
        .await
        .expect("the query in use is cancelled, not left to run for 60 s")
        .unwrap()
        .expect_err("the sleep was cancelled");
    assert!(err.is_query_canceled(), "{err}");
    tokio::time::timeout(Duration::from_secs(10), pool.close())
        .await
        .expect("everything is closed once the cancelled connection is back");
    assert_eq!(pool.size(), 0);
    assert_server_agrees(server(), &pool, app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lazy_detach_close_and_expire() {
    let app = "pool_lazy";
    let pool = PoolOptions::new()
        .max_connections(2)
        .connect_lazy(&url(server(), app))
        .unwrap();
    assert_eq!(pool.size(), 0);
    assert_eq!(backends(server(), app).await, 0, "lazy opens nothing");
    let first = pid(&pool).await;
    assert_eq!(pool.size(), 1);

    // Detach: the pool forgets it; it keeps working on its own.
    let conn = pool.acquire().await.unwrap();
    assert_eq!(conn.backend_pid(), first);
    let mut detached = conn.detach();
    assert_eq!(pool.size(), 0);
    query("SELECT 1").execute(&mut detached).await.unwrap();
    assert_eq!(pool.status().closed, 0);

    // PoolConnection::close closes it instead of returning it.
    let conn = pool.acquire().await.unwrap();
    let second = conn.backend_pid();
    conn.close().await.unwrap();
    assert_eq!(pool.size(), 0);
    assert_eq!(pool.status().closed, 1);

    // expire_connections: idle ones now, ones in use when returned.
    let a = pool.acquire().await.unwrap();
    let b = pool.acquire().await.unwrap();
    let (pa, pb) = (a.backend_pid(), b.backend_pid());
    drop(b);
    assert_eq!(pool.idle(), 1);
    pool.expire_connections();
    assert_eq!(pool.idle(), 0);
    drop(a);
    assert_eq!(pool.size(), 0, "the one in use was closed when returned");
    let now = pid(&pool).await;
    assert!(![first, second, pa, pb].contains(&now));
    detached.close().await.unwrap();
    assert_server_agrees(server(), &pool, app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_queries_idle_timeout_and_min_connections() {
    // max_queries: retired after three hand-outs.
    let app = "pool_maxq";
    let pool = PoolOptions::new()
        .max_connections(1)
        .max_queries(3)
        .connect_lazy(&url(server(), app))
        .unwrap();
    let mut pids = Vec::new();
    for _ in 0..7 {
        pids.push(pid(&pool).await);
    }
    assert!(pids[0] == pids[1] && pids[1] == pids[2], "{pids:?}");
    assert!(pids[3] == pids[4] && pids[4] == pids[5], "{pids:?}");
    assert!(pids[2] != pids[3] && pids[5] != pids[6], "{pids:?}");
    assert_server_agrees(server(), &pool, app).await;

    // idle_timeout: idle connections above min_connections are closed.
    let app = "pool_idle";
    let pool = PoolOptions::new()
        .max_connections(3)
        .idle_timeout(Duration::from_millis(200))
        .connect(&url(server(), app))
        .await
        .unwrap();
    let held: Vec<_> = futures_util::future::try_join_all((0..3).map(|_| pool.acquire()))
        .await
        .unwrap();
    drop(held);
    assert_eq!(pool.idle(), 3);
    eventually("idle connections are reaped", || pool.size() == 0).await;
    assert_server_agrees(server(), &pool, app).await;

    // min_connections: kept up in the background, also after the backends are killed.
    let app = "pool_min";
    let pool = PoolOptions::new()
        .max_connections(4)
        .min_connections(2)
        .idle_timeout(Duration::from_millis(400))
        .connect(&url(server(), app))
        .await
        .unwrap();
    assert_eq!(pool.size(), 2);
    let sql = format!(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = '{app}'"
    );
    let s = server();
    tokio::task::spawn_blocking(move || s.run_sql(&sql))
        .await
        .unwrap()
        .unwrap();
    eventually("the killed connections are replaced", || {
        let st = pool.status();
        st.closed >= 2 && st.size == 2 && st.idle == 2
    })
    .await;
    assert_server_agrees(server(), &pool, app).await;
    // Above min, idle ones go back down to min.
    let held: Vec<_> = futures_util::future::try_join_all((0..4).map(|_| pool.acquire()))
        .await
        .unwrap();
    drop(held);
    eventually("reaped down to min_connections", || pool.size() == 2).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(pool.size(), 2, "never below min_connections");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hooks_run_where_they_should() {
    let app = "pool_hooks";
    let connects = Arc::new(AtomicUsize::new(0));
    let checks = Arc::new(AtomicUsize::new(0));
    let refuse_next = Arc::new(AtomicBool::new(false));
    let keep = Arc::new(AtomicBool::new(true));
    let pool = PoolOptions::new()
        .max_connections(1)
        .after_connect({
            let connects = connects.clone();
            move |conn| {
                connects.fetch_add(1, Ordering::SeqCst);
                Box::pin(async move {
                    conn.batch_execute("SET search_path TO hooked, public")
                        .await
                })
            }
        })
        .before_acquire({
            let checks = checks.clone();
            let refuse_next = refuse_next.clone();
            move |_conn, meta| {
                checks.fetch_add(1, Ordering::SeqCst);
                let refuse = refuse_next.swap(false, Ordering::SeqCst);
                Box::pin(async move {
                    assert!(meta.uses >= 2, "not run on new connections");
                    Ok(!refuse)
                })
            }
        })
        .after_release({
            let keep = keep.clone();
            move |_conn, _meta| {
                let keep = keep.load(Ordering::SeqCst);
                Box::pin(async move { Ok(keep) })
            }
        })
        .connect_lazy(&url(server(), app))
        .unwrap();
    let show = |pool: Pool| async move {
        query_scalar::<String>("SHOW search_path")
            .fetch_one(&pool)
            .await
            .unwrap()
    };
    assert_eq!(show(pool.clone()).await, "hooked, public");
    assert_eq!(connects.load(Ordering::SeqCst), 1);
    assert_eq!(
        checks.load(Ordering::SeqCst),
        0,
        "not run on a new connection"
    );

    // A session change is reset, and after_connect's settings are made again.
    let mut conn = pool.acquire().await.unwrap();
    let first = conn.backend_pid();
    conn.batch_execute("SET work_mem = '1234kB'").await.unwrap();
    drop(conn);
    let mut conn = pool.acquire().await.unwrap();
    assert_eq!(conn.backend_pid(), first);
    let work_mem: String = query_scalar("SHOW work_mem")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_ne!(work_mem, "1234kB");
    drop(conn);
    assert_eq!(show(pool.clone()).await, "hooked, public");
    assert_eq!(
        connects.load(Ordering::SeqCst),
        2,
        "run again after the reset"
    );
    assert!(checks.load(Ordering::SeqCst) >= 2);

    // before_acquire says no: that connection is closed and a new one opened.
    refuse_next.store(true, Ordering::SeqCst);
    assert_ne!(pid(&pool).await, first);
    assert_eq!(connects.load(Ordering::SeqCst), 3);

    // after_release says no: closed on return.
    keep.store(false, Ordering::SeqCst);
    let a = pid(&pool).await;
    eventually("the refused connection is closed", || pool.size() == 0).await;
    keep.store(true, Ordering::SeqCst);
    assert_ne!(pid(&pool).await, a);
    assert_server_agrees(server(), &pool, app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_modes() {
    let app = "pool_reset_never";
    let pool = PoolOptions::new()
        .max_connections(1)
        .reset(Reset::Never)
        .connect_lazy(&url(server(), app))
        .unwrap();
    let mut conn = pool.acquire().await.unwrap();
    conn.batch_execute("SET work_mem = '1234kB'").await.unwrap();
    drop(conn);
    let work_mem: String = query_scalar("SHOW work_mem")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        work_mem, "1234kB",
        "Reset::Never keeps the session as it was"
    );

    let app = "pool_reset_custom";
    let pool = PoolOptions::new()
        .max_connections(1)
        .reset(Reset::Always)
        .reset_query("RESET work_mem")
        .connect_lazy(&url(server(), app))
        .unwrap();
    let mut conn = pool.acquire().await.unwrap();
    // A change the driver cannot see: SET inside a function.
    conn.batch_execute(
        "CREATE OR REPLACE FUNCTION pg_temp.sneaky() RETURNS void LANGUAGE plpgsql AS \
         $$ BEGIN SET work_mem = '2345kB'; END $$; SELECT pg_temp.sneaky()",
    )
    .await
    .unwrap();
    conn.clear_session_changed();
    drop(conn);
    let work_mem: String = query_scalar("SHOW work_mem")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_ne!(
        work_mem, "2345kB",
        "Reset::Always ran the custom reset query"
    );
}

#[test]
fn invalid_options_are_refused() {
    let url = "postgres://nobody@127.0.0.1:1/none";
    let err = PoolOptions::new()
        .max_connections(0)
        .connect_lazy(url)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    let err = PoolOptions::new()
        .max_connections(2)
        .min_connections(3)
        .connect_lazy(url)
        .unwrap_err();
    assert!(err.to_string().contains("min_connections (3)"), "{err}");
    // Outside a runtime a lazy pool can still be made (and dropped).
    let pool = Pool::connect_lazy(url).unwrap();
    assert_eq!(pool.size(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_failures_fail_fast_and_back_off() {
    // Nothing listens on this port.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let pool = PoolOptions::new()
        .max_connections(4)
        .acquire_timeout(Duration::from_secs(30))
        .connect_lazy(&format!(
            "postgres://nobody@127.0.0.1:{port}/none?sslmode=disable&connect_timeout=5"
        ))
        .unwrap();
    let start = Instant::now();
    for _ in 0..10 {
        let err = pool.acquire().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Io, "{err}");
    }
    assert!(start.elapsed() < Duration::from_secs(10), "failed fast");
    let st = pool.status();
    assert!(st.connect_failures >= 2, "{st:?}");
    assert!(
        st.connect_failures < 10,
        "some acquires were refused during the backoff without a connect: {st:?}"
    );
    assert_eq!(st.size, 0, "{st:?}");
}

/// A server restart under load: calls fail fast while it is down, and the pool recovers
/// within 2 s of the server being back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_restart_under_load() {
    let server: &'static TempServer = Box::leak(Box::new(
        TempServer::start().expect("starting a private server"),
    ));
    let app = "pool_restart";
    let pool = PoolOptions::new()
        .max_connections(10)
        .acquire_timeout(Duration::from_secs(10))
        .connect(&url(server, app))
        .await
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    // (started, finished, ok)
    let log: Arc<Mutex<Vec<(Instant, Instant, bool)>>> = Arc::default();
    let mut tasks = Vec::new();
    for t in 0..50_i64 {
        let (pool, stop, log) = (pool.clone(), stop.clone(), log.clone());
        tasks.push(tokio::spawn(async move {
            let mut i = 0_i64;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let value = t * 1_000_000 + i;
                let started = Instant::now();
                let r = query_scalar::<i64>("SELECT $1::int8")
                    .bind(value)
                    .fetch_one(&pool)
                    .await;
                let ok = match r {
                    Ok(v) => {
                        assert_eq!(v, value, "a result for someone else");
                        true
                    }
                    Err(_) => false,
                };
                log.lock().unwrap().push((started, Instant::now(), ok));
                tokio::time::sleep(Duration::from_millis(if ok { 2 } else { 10 })).await;
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let restart_began = Instant::now();
    tokio::task::spawn_blocking(move || server.restart_fast())
        .await
        .unwrap()
        .expect("pg_ctl restart -m fast");
    let back = Instant::now();
    tokio::time::sleep(Duration::from_secs(4)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        tokio::time::timeout(Duration::from_secs(15), t)
            .await
            .expect("no task hangs")
            .unwrap();
    }
    let log = log.lock().unwrap().clone();
    let failed = log.iter().filter(|(_, _, ok)| !ok).count();
    assert!(failed > 0, "the restart was felt");
    assert!(
        log.iter().any(|(s, _, ok)| *ok && *s < restart_began),
        "load ran before"
    );
    let slowest = log.iter().map(|(s, f, _)| *f - *s).max().unwrap();
    assert!(
        slowest < Duration::from_secs(5),
        "calls fail fast (acquire timeout is 10 s): slowest {slowest:?}"
    );
    let recovered = log
        .iter()
        .filter(|(s, _, ok)| *ok && *s >= back)
        .map(|(_, f, _)| *f)
        .min()
        .expect("calls succeed after the restart");
    eprintln!(
        "restart: {} calls, {failed} failed, slowest {slowest:?}, down for {:?}, \
         recovered {:?} after the server was back",
        log.len(),
        back - restart_began,
        recovered - back
    );
    assert!(
        recovered - back < Duration::from_secs(2),
        "recovered {:?} after the server was back",
        recovered - back
    );
    let late_failures = log
        .iter()
        .filter(|(s, _, ok)| !ok && *s >= back + Duration::from_secs(2))
        .count();
    assert_eq!(late_failures, 0, "no failures once recovered");
    assert_quiet(&pool);
    assert_server_agrees(server, &pool, app).await;
}

/// A server that turns read-only (as a failed-over primary does) is noticed: connections
/// opened read-write are discarded instead of being handed out again, and a pool that asks
/// for a read-write server opens no read-only connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_turning_read_only_is_noticed() {
    let server: &'static TempServer = Box::leak(Box::new(
        TempServer::start().expect("starting a private server"),
    ));
    let app = "pool_role";
    let pool = PoolOptions::new()
        .max_connections(2)
        .acquire_timeout(Duration::from_secs(10))
        .connect(&format!(
            "{}&target_session_attrs=read-write",
            url(server, app)
        ))
        .await
        .unwrap();
    let before = pid(&pool).await;
    let reload = |sql: &'static str| async move {
        tokio::task::spawn_blocking(move || {
            server.run_sql(sql)?;
            server.reload()
        })
        .await
        .unwrap()
        .unwrap();
    };
    reload("ALTER SYSTEM SET default_transaction_read_only = on").await;
    // The session learns of it (ParameterStatus) with its next command at the latest; the
    // pool then discards it on return instead of keeping a read-only connection.
    let _ = query("SELECT 1").execute(&pool).await;
    eventually("the connection that turned read-only is discarded", || {
        pool.status().closed >= 1
    })
    .await;
    let err = pool.acquire().await.unwrap_err();
    assert!(
        err.to_string().contains("target_session_attrs"),
        "no read-only connection is opened for a read-write pool: {err}"
    );
    reload("ALTER SYSTEM RESET default_transaction_read_only").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let after = loop {
        match query_scalar::<i32>("SELECT pg_backend_pid()")
            .fetch_one(&pool)
            .await
        {
            Ok(p) => break p,
            Err(e) => {
                assert!(Instant::now() < deadline, "never recovered: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    assert_ne!(after, before);
    let read_only: String = query_scalar("SHOW default_transaction_read_only")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(read_only, "off");
}

/// The notice callback and query logger one user set are gone when the next user gets
/// the connection; the logger every connection gets from `after_connect` stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callbacks_do_not_pass_to_the_next_user() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let app = "pool_handlers";
    let pool_logged = Arc::new(AtomicUsize::new(0));
    let hook_counter = pool_logged.clone();
    let pool = PoolOptions::new()
        .max_connections(1)
        .after_connect(move |conn| {
            let counter = hook_counter.clone();
            Box::pin(async move {
                conn.set_query_logger(move |_| {
                    counter.fetch_add(1, Ordering::SeqCst);
                });
                Ok(())
            })
        })
        .connect(&url(server(), app))
        .await
        .unwrap();
    let seen = std::sync::Arc::new(AtomicUsize::new(0));
    let logged = std::sync::Arc::new(AtomicUsize::new(0));
    let notice = "DO $$ BEGIN RAISE NOTICE 'hello'; END $$";
    {
        let mut conn = pool.acquire().await.unwrap();
        let counter = seen.clone();
        conn.set_notice_handler(move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
        });
        let log_counter = logged.clone();
        conn.set_query_logger(move |_| {
            log_counter.fetch_add(1, Ordering::SeqCst);
        });
        conn.batch_execute(notice).await.unwrap();
        assert_eq!(
            seen.load(Ordering::SeqCst),
            1,
            "the first user's handler ran"
        );
        assert_eq!(
            logged.load(Ordering::SeqCst),
            1,
            "the first user's logger ran"
        );
    }
    let pid_before = pid(&pool).await;
    let mut conn = pool.acquire().await.unwrap();
    conn.batch_execute(notice).await.unwrap();
    assert_eq!(
        seen.load(Ordering::SeqCst),
        1,
        "the next user's notice reached the first user's handler"
    );
    assert_eq!(
        logged.load(Ordering::SeqCst),
        1,
        "the next user's queries reached the first user's logger"
    );
    assert_eq!(
        conn.backend_pid(),
        pid_before,
        "the same connection was reused"
    );
    // The first user's logger replaced the pool's for that checkout only: the pool's
    // logger is back and saw pid()'s query and the next user's.
    assert_eq!(pool_logged.load(Ordering::SeqCst), 2);
}
