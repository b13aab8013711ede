//! Transactions: begin/commit/rollback, options, savepoints, drop, retry, cancel sweeps, 2PC.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use quarry_driver::BoxFuture;
use quarry_driver::{
    AssertSqlSafe, Connection, DbError, Error, IsolationLevel, TempServer, Transaction,
    TransactionStatus, TxOptions, query, query_scalar,
};

use crate::{Cancellable, assert_in_sync, connect, unique};

async fn table(conn: &mut Connection, prefix: &str) -> String {
    let name = unique(prefix);
    conn.batch_execute(&format!("CREATE TABLE {name} (v int NOT NULL)"))
        .await
        .unwrap();
    name
}

async fn values(conn: &mut Connection, table: &str) -> Vec<i32> {
    query_scalar(AssertSqlSafe(format!("SELECT v FROM {table} ORDER BY v")))
        .fetch_all(conn)
        .await
        .unwrap()
}

async fn insert(e: &mut Connection, table: &str, v: i32) {
    query(AssertSqlSafe(format!(
        "INSERT INTO {table} (v) VALUES ($1)"
    )))
    .bind(v)
    .execute(e)
    .await
    .unwrap();
}

#[tokio::test]
async fn commit_rollback_and_drop() {
    let mut conn = connect().await;
    let t = table(&mut conn, "tx_basic").await;

    let mut tx = conn.begin().await.unwrap();
    assert_eq!(tx.transaction_status(), TransactionStatus::InTransaction);
    insert(&mut tx, &t, 1).await;
    tx.commit().await.unwrap();
    assert_eq!(conn.transaction_status(), TransactionStatus::Idle);

    let mut tx = conn.begin().await.unwrap();
    query(AssertSqlSafe(format!("INSERT INTO {t} (v) VALUES (2)")))
        .execute(&mut tx)
        .await
        .unwrap();
    tx.rollback().await.unwrap();

    {
        let mut tx = conn.begin().await.unwrap();
        insert(&mut tx, &t, 3).await;
        // dropped without commit
    }
    // The queued ROLLBACK goes out before the next query.
    assert_eq!(values(&mut conn, &t).await, vec![1]);
    assert_eq!(conn.transaction_status(), TransactionStatus::Idle);
    assert!(conn.is_idle());
}

/// A function generic over its executor makes its work atomic with
/// `e.acquire().await?.begin()`: a transaction on an idle connection, a savepoint inside
/// the caller's transaction (issue 20: it used to fail with "already inside a
/// transaction").
async fn insert_two_then(e: impl quarry_driver::Executor<'_>, table: &str, commit: bool) {
    let mut tx = e.acquire().await.unwrap().begin().await.unwrap();
    for v in [10, 11] {
        insert(&mut tx, table, v).await;
    }
    if commit {
        tx.commit().await.unwrap();
    } else {
        tx.rollback().await.unwrap();
    }
}

#[tokio::test]
async fn a_generic_executor_begins_a_transaction_or_a_savepoint() {
    let mut conn = connect().await;
    let t = table(&mut conn, "tx_generic").await;

    // Inside the caller's transaction: a savepoint, rolled back alone.
    let mut tx = conn.begin().await.unwrap();
    insert(&mut tx, &t, 1).await;
    insert_two_then(&mut tx, &t, false).await;
    assert_eq!(tx.transaction_status(), TransactionStatus::InTransaction);
    // ... and one that commits (releases) inside a savepoint of the caller's.
    let mut sp = tx.begin().await.unwrap();
    insert_two_then(&mut sp, &t, true).await;
    sp.commit().await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(values(&mut conn, &t).await, vec![1, 10, 11]);

    // On an idle connection: a transaction of its own.
    conn.batch_execute(&format!("TRUNCATE {t}")).await.unwrap();
    insert_two_then(&mut conn, &t, false).await;
    assert_eq!(conn.transaction_status(), TransactionStatus::Idle);
    assert_eq!(values(&mut conn, &t).await, Vec::<i32>::new());
    insert_two_then(&mut conn, &t, true).await;
    assert_eq!(values(&mut conn, &t).await, vec![10, 11]);
}

#[tokio::test]
async fn options_reach_the_server() {
    let mut conn = connect().await;
    let mut tx = conn
        .begin_with(
            TxOptions::new()
                .isolation(IsolationLevel::Serializable)
                .read_only(true)
                .deferrable(true),
        )
        .await
        .unwrap();
    let row: (String, String, String) = quarry_driver::query_as(
        "SELECT current_setting('transaction_isolation'), current_setting('transaction_read_only'), \
         current_setting('transaction_deferrable')",
    )
    .fetch_one(&mut tx)
    .await
    .unwrap();
    assert_eq!(
        row,
        ("serializable".to_owned(), "on".to_owned(), "on".to_owned())
    );
    let err = tx
        .batch_execute("CREATE TEMP TABLE nope (a int)")
        .await
        .unwrap_err();
    assert_eq!(err.code().map(|c| c.code()), Some("25006"));
    tx.rollback().await.unwrap();

    let mut tx = conn
        .begin_with(TxOptions::new().isolation(IsolationLevel::RepeatableRead))
        .await
        .unwrap();
    let level: String = query_scalar("SELECT current_setting('transaction_isolation')")
        .fetch_one(&mut tx)
        .await
        .unwrap();
    assert_eq!(level, "repeatable read");
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn failed_transaction_status_and_commit() {
    let mut conn = connect().await;
    let t = table(&mut conn, "tx_failed").await;
    let mut tx = conn.begin().await.unwrap();
    insert(&mut tx, &t, 1).await;
    let err = tx.batch_execute("SELECT 1/0").await.unwrap_err();
    assert_eq!(err.code().map(|c| c.code()), Some("22012"));
    assert_eq!(
        tx.transaction_status(),
        TransactionStatus::InFailedTransaction
    );
    let err = query_scalar::<i32>("SELECT 1")
        .fetch_one(&mut tx)
        .await
        .unwrap_err();
    assert_eq!(err.code().map(|c| c.code()), Some("25P02"));
    // Committing a failed transaction is an error, never a silent rollback.
    let err = tx.commit().await.unwrap_err();
    assert_eq!(err.code().map(|c| c.code()), Some("25P02"));
    assert_eq!(conn.transaction_status(), TransactionStatus::Idle);
    assert!(values(&mut conn, &t).await.is_empty());
}

#[tokio::test]
async fn begin_inside_sql_transaction_is_refused() {
    let mut conn = connect().await;
    conn.batch_execute("BEGIN").await.unwrap();
    let err = conn.begin().await.unwrap_err();
    assert!(
        err.to_string().contains("already inside a transaction"),
        "{err}"
    );
    conn.batch_execute("ROLLBACK").await.unwrap();
    conn.begin().await.unwrap().commit().await.unwrap();
}

#[tokio::test]
async fn transaction_ended_by_sql_is_not_ended_twice() {
    let mut conn = connect().await;
    let t = table(&mut conn, "tx_sqlend").await;
    {
        let mut tx = conn.begin().await.unwrap();
        insert(&mut tx, &t, 7).await;
        tx.batch_execute("COMMIT").await.unwrap();
        let err = tx.commit().await.unwrap_err();
        assert!(err.to_string().contains("already ended"), "{err}");
    }
    assert_eq!(values(&mut conn, &t).await, vec![7]);
    assert!(conn.is_idle());
}

/// Opens savepoints down to `max`, inserting the level at each; rolls back at `rollback_at`
/// and commits every other level.
fn nest<'a>(
    tx: &'a mut Transaction<'_>,
    t: &'a str,
    level: u32,
    max: u32,
    rollback_at: u32,
) -> BoxFuture<'a, ()> {
    Box::pin(async move {
        let mut sp = tx.begin().await.unwrap();
        assert_eq!(sp.depth(), level);
        insert(&mut sp, t, i32::try_from(level).unwrap()).await;
        if level < max {
            nest(&mut sp, t, level + 1, max, rollback_at).await;
        }
        if level == rollback_at {
            sp.rollback().await.unwrap();
        } else {
            sp.commit().await.unwrap();
        }
    })
}

#[tokio::test]
async fn savepoints_depth_five_rollback_at_each_level() {
    let mut conn = connect().await;
    let t = table(&mut conn, "tx_nest").await;
    for rollback_at in 1..=5u32 {
        conn.batch_execute(&format!("TRUNCATE {t}")).await.unwrap();
        let mut tx = conn.begin().await.unwrap();
        insert(&mut tx, &t, 0).await;
        nest(&mut tx, &t, 1, 5, rollback_at).await;
        tx.commit().await.unwrap();
        let expected: Vec<i32> = (0..i32::try_from(rollback_at).unwrap()).collect();
        assert_eq!(
            values(&mut conn, &t).await,
            expected,
            "rollback at {rollback_at}"
        );
    }
    // No rollback: everything stays.
    conn.batch_execute(&format!("TRUNCATE {t}")).await.unwrap();
    let mut tx = conn.begin().await.unwrap();
    nest(&mut tx, &t, 1, 5, 0).await;
    tx.commit().await.unwrap();
    assert_eq!(values(&mut conn, &t).await, vec![1, 2, 3, 4, 5]);
}

#[tokio::test]
async fn savepoint_recovers_a_failed_statement() {
    let mut conn = connect().await;
    let t = table(&mut conn, "tx_sp_fail").await;
    let mut tx = conn.begin().await.unwrap();
    insert(&mut tx, &t, 1).await;
    {
        let mut sp = tx.begin().await.unwrap();
        insert(&mut sp, &t, 2).await;
        sp.batch_execute("SELECT 1/0").await.unwrap_err();
        assert_eq!(
            sp.transaction_status(),
            TransactionStatus::InFailedTransaction
        );
        // Committing a failed savepoint rolls it back and says so; the outer goes on.
        let err = sp.commit().await.unwrap_err();
        assert_eq!(err.code().map(|c| c.code()), Some("25P02"));
    }
    assert_eq!(tx.transaction_status(), TransactionStatus::InTransaction);
    {
        let mut sp = tx.begin().await.unwrap();
        insert(&mut sp, &t, 3).await;
        // dropped: rolled back to the savepoint
    }
    insert(&mut tx, &t, 4).await;
    tx.commit().await.unwrap();
    assert_eq!(values(&mut conn, &t).await, vec![1, 4]);
}

#[tokio::test]
async fn cancelled_begin_never_leaves_a_transaction_open() {
    let mut conn = connect().await;
    let mut monitor = connect().await;
    for polls in 0.. {
        let done = Cancellable::new(conn.begin(), polls)
            .await
            .map(|tx| drop(tx.unwrap()))
            .is_some();
        assert_in_sync(&mut conn, &mut monitor, TransactionStatus::Idle).await;
        if done {
            eprintln!("begin completed after {polls} polls");
            assert!(
                polls >= 2,
                "the sweep must try drop points before completion"
            );
            break;
        }
        assert!(polls < 1000, "begin never completed");
    }
}

#[tokio::test]
async fn cancelled_commit_and_rollback_end_the_transaction() {
    let mut conn = connect().await;
    let mut monitor = connect().await;
    let t = table(&mut conn, "tx_cancel_end").await;
    for commit in [true, false] {
        for polls in 0.. {
            conn.batch_execute(&format!("TRUNCATE {t}")).await.unwrap();
            let mut tx = conn.begin().await.unwrap();
            insert(&mut tx, &t, 1).await;
            let r = if commit {
                Cancellable::new(tx.commit(), polls).await
            } else {
                Cancellable::new(tx.rollback(), polls).await
            };
            assert_in_sync(&mut conn, &mut monitor, TransactionStatus::Idle).await;
            let rows = values(&mut conn, &t).await;
            match r {
                Some(r) => {
                    r.unwrap();
                    assert_eq!(rows, if commit { vec![1] } else { vec![] });
                    eprintln!("commit={commit} completed after {polls} polls");
                    assert!(
                        polls >= 2,
                        "the sweep must try drop points before completion"
                    );
                    break;
                }
                // Cancelled: the transaction is over, committed or not, never left open.
                None if !commit => assert!(rows.is_empty()),
                None => assert!(rows.len() <= 1),
            }
            assert!(polls < 1000, "never completed");
        }
    }
}

#[tokio::test]
async fn cancelled_savepoint_leaves_the_outer_transaction_usable() {
    let mut conn = connect().await;
    let mut monitor = connect().await;
    let t = table(&mut conn, "tx_cancel_sp").await;
    let mut tx = conn.begin().await.unwrap();
    insert(&mut tx, &t, 1).await;
    let mut i = 10;
    // Cancel SAVEPOINT, then cancel RELEASE and ROLLBACK TO, at every poll.
    for what in ["begin", "commit", "rollback"] {
        for polls in 0.. {
            let completed = match what {
                "begin" => match Cancellable::new(tx.begin(), polls).await {
                    Some(sp) => {
                        let mut sp = sp.unwrap();
                        insert(&mut sp, &t, 100).await; // dropped: rolled back
                        true
                    }
                    None => false,
                },
                _ => {
                    let mut sp = tx.begin().await.unwrap();
                    i += 1;
                    insert(&mut sp, &t, i).await;
                    let r = if what == "commit" {
                        Cancellable::new(sp.commit(), polls).await
                    } else {
                        Cancellable::new(sp.rollback(), polls).await
                    };
                    r.map(|r| r.unwrap()).is_some()
                }
            };
            assert_in_sync(&mut tx, &mut monitor, TransactionStatus::InTransaction).await;
            // A full savepoint still works at this depth.
            let sp = tx.begin().await.unwrap();
            assert_eq!(sp.depth(), 1);
            sp.rollback().await.unwrap();
            if completed {
                eprintln!("savepoint {what} completed after {polls} polls");
                break;
            }
            assert!(polls < 1000, "never completed");
        }
    }
    tx.commit().await.unwrap();
    let rows = values(&mut conn, &t).await;
    assert!(rows.contains(&1));
    assert!(
        !rows.contains(&100),
        "a dropped savepoint's rows must be rolled back"
    );
    // Savepoints rolled back (cancelled or not) leave nothing; only released ones stay.
    assert!(rows.iter().all(|v| *v == 1 || (11..=i).contains(v)));
    assert_in_sync(&mut conn, &mut monitor, TransactionStatus::Idle).await;
}

#[tokio::test]
async fn closure_commits_or_rolls_back() {
    let mut conn = connect().await;
    let t = table(&mut conn, "tx_closure").await;
    let t2 = t.clone();
    let n: i32 = conn
        .transaction(|tx| {
            let t = t2.clone();
            Box::pin(async move {
                insert(tx, &t, 5).await;
                query_scalar(AssertSqlSafe(format!("SELECT count(*)::int4 FROM {t}")))
                    .fetch_one(&mut **tx)
                    .await
            })
        })
        .await
        .unwrap();
    assert_eq!(n, 1);
    let t2 = t.clone();
    let err = conn
        .transaction(|tx| {
            let t = t2.clone();
            Box::pin(async move {
                insert(tx, &t, 6).await;
                Err::<(), _>(Error::new(quarry_driver::ErrorKind::Decode, "mine"))
            })
        })
        .await
        .unwrap_err();
    assert_eq!(err.message(), "mine");
    assert_eq!(values(&mut conn, &t).await, vec![5]);
}

fn synthetic_serialization_failure() -> Error {
    Error::from(
        DbError::from_fields([
            (b'S', "ERROR"),
            (b'V', "ERROR"),
            (b'C', "40001"),
            (b'M', "not from this transaction"),
        ])
        .unwrap(),
    )
}

#[tokio::test]
async fn retry_only_failures_raised_in_the_transaction() {
    let mut conn = connect().await;
    // A 40001 the transaction never saw (status still InTransaction): not retried.
    let attempts = Arc::new(AtomicU32::new(0));
    let a = attempts.clone();
    let err = conn
        .transaction(move |_tx| {
            a.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move { Err::<(), _>(synthetic_serialization_failure()) })
        })
        .retry_on_serialization_failure(3)
        .await
        .unwrap_err();
    assert!(err.is_serialization_failure());
    assert_eq!(attempts.load(Ordering::SeqCst), 1);

    // Raised by the server inside the transaction: retried up to the bound.
    let attempts = Arc::new(AtomicU32::new(0));
    let a = attempts.clone();
    let err = conn
        .transaction(move |tx| {
            a.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move {
                tx.batch_execute(
                    "DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = '40P01'; END $$",
                )
                .await
            })
        })
        .retry_on_serialization_failure(3)
        .backoff(
            std::time::Duration::from_millis(1),
            std::time::Duration::from_millis(5),
        )
        .await
        .unwrap_err();
    assert!(err.is_deadlock());
    assert_eq!(attempts.load(Ordering::SeqCst), 4);
    assert!(conn.is_idle());
}

#[tokio::test]
async fn retry_two_conflicting_serializable_transactions() {
    let mut setup = connect().await;
    let t = table(&mut setup, "tx_serial").await;
    setup
        .batch_execute(&format!("INSERT INTO {t} VALUES (1), (2)"))
        .await
        .unwrap();
    let mut a = connect().await;
    let mut b = connect().await;
    let a_read = Arc::new(tokio::sync::Notify::new());
    let b_committed = Arc::new(tokio::sync::Notify::new());
    let attempts = Arc::new(AtomicU32::new(0));
    let serializable = TxOptions::new().isolation(IsolationLevel::Serializable);

    let a_task = {
        let (t, a_read, b_committed, attempts) = (
            t.clone(),
            a_read.clone(),
            b_committed.clone(),
            attempts.clone(),
        );
        async move {
            a.transaction(move |tx| {
                let (t, a_read, b_committed) = (t.clone(), a_read.clone(), b_committed.clone());
                let attempt = attempts.fetch_add(1, Ordering::SeqCst) + 1;
                Box::pin(async move {
                    let sum: i64 = query_scalar(AssertSqlSafe(format!("SELECT sum(v) FROM {t}")))
                        .fetch_one(&mut **tx)
                        .await?;
                    if attempt == 1 {
                        a_read.notify_one();
                        b_committed.notified().await;
                    }
                    query(AssertSqlSafe(format!("INSERT INTO {t} (v) VALUES ($1)")))
                        .bind(i32::try_from(sum).unwrap() + 100)
                        .execute(&mut **tx)
                        .await?;
                    Ok::<i64, Error>(sum)
                })
            })
            .options(serializable)
            .retry_on_serialization_failure(5)
            .await
        }
    };
    let b_task = {
        let t = t.clone();
        async move {
            let mut tx = b.begin_with(serializable).await.unwrap();
            let sum: i64 = query_scalar(AssertSqlSafe(format!("SELECT sum(v) FROM {t}")))
                .fetch_one(&mut tx)
                .await
                .unwrap();
            a_read.notified().await;
            query(AssertSqlSafe(format!("INSERT INTO {t} (v) VALUES ($1)")))
                .bind(i32::try_from(sum).unwrap() + 10)
                .execute(&mut tx)
                .await
                .unwrap();
            tx.commit().await.unwrap();
            b_committed.notify_one();
        }
    };
    let (a_result, ()) = tokio::join!(a_task, b_task);
    // A's first attempt conflicted with B and was retried; the retry saw B's row.
    assert_eq!(attempts.load(Ordering::SeqCst), 2);
    assert_eq!(a_result.unwrap(), 1 + 2 + 13);
    assert_eq!(values(&mut setup, &t).await, vec![1, 2, 13, 116]);
}

#[tokio::test]
async fn two_phase_commit_survives_a_restart() {
    let server = TempServer::start().unwrap();
    let mut conn = Connection::connect(&server.url()).await.unwrap();
    conn.batch_execute("CREATE TABLE tpc (v int)")
        .await
        .unwrap();
    let gids = ["tpc-commit 'quoted' \\ one", "tpc-rollback"];
    for (i, gid) in gids.iter().enumerate() {
        let mut tx = conn.begin().await.unwrap();
        insert(&mut tx, "tpc", i32::try_from(i).unwrap() + 1).await;
        tx.prepare_transaction(gid).await.unwrap();
        assert!(conn.is_idle());
    }
    let listed: Vec<String> = conn
        .prepared_transactions()
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.gid)
        .collect();
    assert_eq!(listed, gids);
    assert!(values(&mut conn, "tpc").await.is_empty());
    drop(conn);

    server.restart_fast().unwrap();

    let mut conn = Connection::connect(&server.url()).await.unwrap();
    let prepared = conn.prepared_transactions().await.unwrap();
    assert_eq!(prepared.len(), 2);
    assert_eq!(prepared[0].owner, "postgres");
    assert_eq!(prepared[0].database, "postgres");
    assert!(prepared[0].prepared_at.is_finite());
    assert!(prepared[0].prepared_at <= prepared[1].prepared_at);
    conn.commit_prepared(gids[0]).await.unwrap();
    conn.rollback_prepared(gids[1]).await.unwrap();
    assert!(conn.prepared_transactions().await.unwrap().is_empty());
    assert_eq!(values(&mut conn, "tpc").await, vec![1]);
    let err = conn.commit_prepared("no-such-gid").await.unwrap_err();
    assert_eq!(err.code().map(|c| c.code()), Some("42704"));
}

#[tokio::test]
async fn commit_that_fails_on_a_deferred_constraint() {
    let mut conn = connect().await;
    let t = unique("tx_deferred");
    conn.batch_execute(&format!(
        "CREATE TABLE {t} (v int, CONSTRAINT {t}_u UNIQUE (v) DEFERRABLE INITIALLY DEFERRED)"
    ))
    .await
    .unwrap();
    let mut tx = conn.begin().await.unwrap();
    insert(&mut tx, &t, 1).await;
    insert(&mut tx, &t, 1).await; // accepted until COMMIT
    let err = tx.commit().await.unwrap_err();
    assert!(err.is_unique_violation(), "{err}");
    assert_eq!(conn.transaction_status(), TransactionStatus::Idle);
    assert!(values(&mut conn, &t).await.is_empty());
    assert!(conn.is_idle());
}

/// A transaction dropped unfinished on a plain connection is rolled back at once (the
/// ROLLBACK goes out from `Drop`), not at the connection's next use: the server does not
/// keep it open, holding its locks, while the connection sits unused.
#[tokio::test]
async fn a_dropped_transaction_releases_its_locks_without_the_connection_being_used() {
    let mut conn = connect().await;
    let t = table(&mut conn, "tx_drop_locks").await;
    let pid = conn.backend_pid();
    {
        let mut tx = conn.begin().await.unwrap();
        tx.batch_execute(&format!("LOCK TABLE {t} IN ACCESS EXCLUSIVE MODE"))
            .await
            .unwrap();
    }
    // `conn` is not touched again until the end: another session looks.
    let mut other = connect().await;
    let mut state = String::new();
    for _ in 0..100 {
        state = query_scalar::<String>("SELECT state FROM pg_stat_activity WHERE pid = $1")
            .bind(pid)
            .fetch_one(&mut other)
            .await
            .unwrap();
        if state == "idle" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(
        state, "idle",
        "the dropped transaction is still open on the server"
    );
    let n: i64 = query_scalar(AssertSqlSafe(format!("SELECT count(*) FROM {t}")))
        .fetch_one(&mut other)
        .await
        .unwrap();
    assert_eq!(n, 0, "the table is readable: the lock is gone");
    // And the connection itself is in sync for its next use.
    assert_in_sync(&mut conn, &mut other, TransactionStatus::Idle).await;
}

/// A COMMIT that runs longer than `command_timeout` (here a deferred trigger that sleeps)
/// is cancelled on the server and fails with a timeout that says the outcome must be
/// checked; the connection comes back in sync and works.
#[tokio::test]
async fn commit_is_bounded_by_command_timeout() {
    use quarry_driver::ErrorKind;
    use std::time::{Duration, Instant};
    let mut setup = connect().await;
    let t = table(&mut setup, "slow_commit").await;
    let f = unique("slow_commit_fn");
    setup
        .batch_execute(&format!(
            "CREATE FUNCTION {f}() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN PERFORM pg_sleep(5); RETURN NULL; END $$; \
             CREATE CONSTRAINT TRIGGER {f} AFTER INSERT ON {t} \
             DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION {f}()"
        ))
        .await
        .unwrap();
    let mut conn = crate::connect_with_command_timeout(Duration::from_millis(300)).await;

    let mut tx = conn.begin().await.unwrap();
    insert(&mut tx, &t, 1).await;
    let started = Instant::now();
    let err = tx.commit().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::OutcomeUnknown, "{err}");
    assert!(err.is_outcome_unknown());
    assert!(!err.is_connection_fatal(), "{err}");
    let cause = std::error::Error::source(&err)
        .and_then(|s| s.downcast_ref::<quarry_driver::Error>())
        .expect("the timeout is the source");
    assert_eq!(cause.kind(), ErrorKind::Timeout, "{cause}");
    assert!(err.to_string().contains("check before retrying"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    // The cancel stopped the trigger, so the commit failed: nothing was written.
    assert_eq!(conn.transaction_status(), TransactionStatus::Idle);
    assert!(values(&mut conn, &t).await.is_empty());
    let mut tx = conn.begin().await.unwrap();
    tx.batch_execute("SELECT 1").await.unwrap();
    tx.commit().await.unwrap();
}
