//! Transactions: savepoints, and retrying serializable transactions that conflict.
//!
//! ```sh
//! cargo run --example transactions
//! ```
//!
//! 1. A savepoint (`tx.begin()` inside a transaction) undoes one failed step
//!    without losing the rest of the transaction.
//! 2. Two tasks run the same read-then-write transaction at the same moment. At
//!    `SERIALIZABLE` PostgreSQL refuses one of them (SQLSTATE 40001) instead of
//!    losing an update; `retry_on_serialization_failure` runs it again, and both
//!    deposits count.
//!
//! Uses `DATABASE_URL` when it is set; otherwise starts a throwaway PostgreSQL.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use quarry::{IsolationLevel, Pool, PoolOptions, TempServer, TxOptions};
use tokio::sync::Barrier;

#[tokio::main]
async fn main() -> quarry::Result<()> {
    let (url, _server) = match std::env::var("DATABASE_URL") {
        Ok(url) => (url, None),
        Err(_) => {
            let server = TempServer::start()?;
            (server.url(), Some(server))
        }
    };
    let pool = PoolOptions::new().max_connections(4).connect(&url).await?;
    pool.acquire()
        .await?
        .batch_execute(include_str!("schema.sql"))
        .await?;

    savepoints(&pool).await?;
    serializable_retry(&pool).await?;

    pool.close().await;
    Ok(())
}

/// A transaction with a step that fails inside a savepoint.
async fn savepoints(pool: &Pool) -> quarry::Result<()> {
    println!("-- savepoints");
    let mut conn = pool.acquire().await?;
    let mut tx = conn.begin().await?;

    let id = quarry::query_scalar!(
        "INSERT INTO accounts (owner, balance) VALUES ($1, $2) RETURNING id",
        "Ada",
        100_i64
    )
    .fetch_one(&mut tx)
    .await?;
    println!("opened account {id} with 100");

    // A savepoint is a transaction inside the transaction: `sp` borrows `tx`.
    let mut sp = tx.begin().await?;
    let overdraft = quarry::query!(
        "UPDATE accounts SET balance = balance - $1 WHERE id = $2",
        500_i64,
        id
    )
    .execute(&mut sp)
    .await;
    match overdraft {
        // The CHECK (balance >= 0) constraint refused it. Without the savepoint the
        // whole transaction would now be failed and could only roll back.
        Err(e) if e.is_check_violation() => {
            let constraint = e.constraint().unwrap_or("?");
            println!(
                "withdrawing 500 broke constraint {constraint}: rolling back to the savepoint"
            );
            sp.rollback().await?;
        }
        Err(e) => return Err(e),
        Ok(_) => panic!("the overdraft should have been refused"),
    }

    // The transaction goes on: the account opened above is still there.
    quarry::query!(
        "UPDATE accounts SET balance = balance - $1 WHERE id = $2",
        30_i64,
        id
    )
    .execute(&mut tx)
    .await?;
    tx.commit().await?;

    let balance = quarry::query_scalar!("SELECT balance FROM accounts WHERE id = $1", id)
        .fetch_one(pool)
        .await?;
    println!("withdrew 30 instead; committed balance: {balance}");
    assert_eq!(balance, 70);
    Ok(())
}

/// Two concurrent deposits that read the balance, then write it back.
async fn serializable_retry(pool: &Pool) -> quarry::Result<()> {
    println!("-- serializable transactions, retried");
    let id = quarry::query_scalar!(
        "INSERT INTO accounts (owner, balance) VALUES ('Shared', 0) RETURNING id"
    )
    .fetch_one(pool)
    .await?;

    // Both tasks wait here after their first read, so that the two transactions
    // certainly overlap (in real life they overlap by bad luck).
    let barrier = Arc::new(Barrier::new(2));
    let tasks: Vec<_> = ["first", "second"]
        .into_iter()
        .map(|name| tokio::spawn(deposit(pool.clone(), barrier.clone(), id, name)))
        .collect();
    let mut total_attempts = 0;
    for task in tasks {
        total_attempts += task.await.expect("the deposit task panicked")?;
    }

    let balance = quarry::query_scalar!("SELECT balance FROM accounts WHERE id = $1", id)
        .fetch_one(pool)
        .await?;
    println!("final balance: {balance} after {total_attempts} attempts for 2 deposits");
    // At READ COMMITTED, without the retry, one deposit would be lost (balance 10).
    assert_eq!(balance, 20);
    assert!(
        total_attempts > 2,
        "one of the transactions must have been retried"
    );
    Ok(())
}

/// Adds 10 to the balance by reading it and writing it back (a read-modify-write
/// that would lose updates without serializable isolation). Returns how many times
/// the transaction ran.
async fn deposit(
    pool: Pool,
    barrier: Arc<Barrier>,
    id: i64,
    name: &'static str,
) -> quarry::Result<u32> {
    let attempts = Arc::new(AtomicU32::new(0));
    let mut conn = pool.acquire().await?;
    conn.transaction(|tx| {
        // The closure runs once per attempt; what it returns is the attempt.
        let attempt = attempts.fetch_add(1, Ordering::Relaxed) + 1;
        let barrier = barrier.clone();
        Box::pin(async move {
            let balance = quarry::query_scalar!("SELECT balance FROM accounts WHERE id = $1", id)
                .fetch_one(&mut *tx)
                .await?;
            println!("{name} (attempt {attempt}): read balance {balance}");
            if attempt == 1 {
                barrier.wait().await;
            }
            quarry::query!(
                "UPDATE accounts SET balance = $1 WHERE id = $2",
                balance + 10,
                id
            )
            .execute(&mut *tx)
            .await
            .inspect_err(|e| println!("{name} (attempt {attempt}): {e}"))?;
            println!("{name} (attempt {attempt}): wrote balance {}", balance + 10);
            // The closure may return your own error type (see `TransactionError`);
            // this one uses quarry's, and says so.
            Ok::<(), quarry::Error>(())
        })
    })
    .options(TxOptions::new().isolation(IsolationLevel::Serializable))
    .retry_on_serialization_failure(5)
    .await?;
    Ok(attempts.load(Ordering::Relaxed))
}
