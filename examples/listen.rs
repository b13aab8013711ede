//! LISTEN/NOTIFY: a `Listener`, a notifier task, and a lost connection.
//!
//! ```sh
//! cargo run --example listen
//! ```
//!
//! A `Listener` holds a connection of its own, listening on channels. When that
//! connection is lost (a server restart, a failover, an administrator's
//! `pg_terminate_backend`), it reconnects, listens again, and says so with
//! `ListenerEvent::Reconnected`: notifications sent while it was away are gone,
//! so a program re-reads whatever state they were about. The gap is never silent.
//!
//! Here the notifier task itself cuts the listener's connection halfway through.
//!
//! Uses `DATABASE_URL` when it is set; otherwise starts a throwaway PostgreSQL.

use std::time::Duration;

use quarry::{Listener, ListenerEvent, Pool, TempServer, notify};
use tokio::sync::mpsc;

#[tokio::main]
async fn main() -> quarry::Result<()> {
    let (url, _server) = match std::env::var("DATABASE_URL") {
        Ok(url) => (url, None),
        Err(_) => {
            let server = TempServer::start()?;
            (server.url(), Some(server))
        }
    };

    let mut listener = Listener::connect(&url).await?;
    listener.listen("jobs").await?;
    let pid = listener
        .backend_pid()
        .expect("the listener has just connected");
    println!("listening on \"jobs\" (server process {pid})");

    // The notifier sends on an ordinary pool. It waits for an acknowledgement at two
    // points, so that the example runs the same way every time.
    let pool = Pool::connect(&url).await?;
    let (ack, acks) = mpsc::channel(1);
    let notifier = tokio::spawn(notifier(pool.clone(), pid, acks));

    let mut received = Vec::new();
    while received.len() < 3 {
        // Bounded, so that a broken example fails instead of hanging.
        let event = tokio::time::timeout(Duration::from_secs(10), listener.recv_event())
            .await
            .map_err(|_| quarry::Error::new(quarry::ErrorKind::Timeout, "no event in 10 s"))??;
        match event {
            ListenerEvent::Notification(n) => {
                println!("listener: {} on \"{}\"", n.payload(), n.channel());
                received.push(n.payload().to_owned());
                if received.len() == 2 {
                    let _ = ack.send(()).await;
                }
            }
            ListenerEvent::Reconnected { cause } => {
                let cause = cause.map_or_else(|| "unknown".to_owned(), |e| e.to_string());
                println!("listener: reconnected; the connection was lost: {cause}");
                println!(
                    "listener: listening again as process {:?}; \
                     whatever was sent meanwhile is lost, so re-read the state here",
                    listener.backend_pid()
                );
                let _ = ack.send(()).await;
            }
        }
    }

    notifier.await.expect("the notifier task panicked")?;
    assert_eq!(received, ["job 1", "job 2", "job 3"]);
    pool.close().await;
    Ok(())
}

/// Sends two jobs, cuts the listener's connection, then sends a third.
async fn notifier(
    pool: Pool,
    listener_pid: i32,
    mut acks: mpsc::Receiver<()>,
) -> quarry::Result<()> {
    for n in 1..=2 {
        // `notify` is `SELECT pg_notify($1, $2)`: the payload is a bound value.
        notify(&pool, "jobs", &format!("job {n}")).await?;
        println!("notifier: sent job {n}");
    }
    acks.recv().await; // the listener has both

    // What a failover or an administrator would do to the listener's session.
    let terminated = quarry::query_scalar!("SELECT pg_terminate_backend($1)", listener_pid)
        .fetch_one(&pool)
        .await?;
    assert_eq!(
        terminated,
        Some(true),
        "the listener's process should exist"
    );
    println!("notifier: terminated the listener's server process {listener_pid}");

    acks.recv().await; // the listener is back
    notify(&pool, "jobs", "job 3").await?;
    println!("notifier: sent job 3");
    Ok(())
}
