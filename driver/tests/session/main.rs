//! Integration tests for transactions, COPY, LISTEN/NOTIFY and cursors, against a real
//! PostgreSQL started once for this binary. Each test uses its own tables.
#![cfg(all(feature = "temp-server", unix))]

mod copy;
mod cursor;
mod listen;
mod transaction;

use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::task::{Context, Poll};

use quarry_driver::{Connection, TempServer, TransactionStatus, query_scalar};

static SERVER: OnceLock<TempServer> = OnceLock::new();

pub fn server() -> &'static TempServer {
    SERVER.get_or_init(|| TempServer::start().expect("start a TempServer"))
}

pub async fn connect() -> Connection {
    Connection::connect(&server().url())
        .await
        .expect("connect to the TempServer")
}

/// A connection whose queries time out after `after` (`command_timeout`).
pub async fn connect_with_command_timeout(after: std::time::Duration) -> Connection {
    let options = quarry_driver::ConnectOptions::parse(&server().url())
        .expect("the TempServer's URL parses")
        .command_timeout(after);
    Connection::connect_with(&options)
        .await
        .expect("connect to the TempServer")
}

/// A name no other test uses: `prefix_<n>`.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Polls the inner future at most `polls` times, then drops it (tokio-postgres's
/// `Cancellable` sweep). When the inner future is pending it asks to be polled again at
/// once, so every await point is a drop point, including "sent, no answer yet".
pub struct Cancellable<F> {
    inner: Pin<Box<F>>,
    polls_left: usize,
}

impl<F: Future> Cancellable<F> {
    pub fn new(inner: F, polls: usize) -> Self {
        Cancellable {
            inner: Box::pin(inner),
            polls_left: polls,
        }
    }
}

impl<F: Future> Future for Cancellable<F> {
    type Output = Option<F::Output>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if self.polls_left == 0 {
            return Poll::Ready(None);
        }
        self.polls_left -= 1;
        match self.inner.as_mut().poll(cx) {
            Poll::Ready(v) => Poll::Ready(Some(v)),
            Poll::Pending => {
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        }
    }
}

/// Asserts that `conn` answers `SELECT 1` correctly and is in the expected status, and
/// that the server sees its session in the expected state (`idle`, `idle in transaction`).
pub async fn assert_in_sync(
    conn: &mut Connection,
    monitor: &mut Connection,
    status: TransactionStatus,
) {
    let one: i32 = query_scalar("SELECT 1")
        .fetch_one(&mut *conn)
        .await
        .expect("SELECT 1 after a dropped future");
    assert_eq!(one, 1);
    assert_eq!(conn.transaction_status(), status);
    let state: String = query_scalar("SELECT state FROM pg_stat_activity WHERE pid = $1")
        .bind(conn.backend_pid())
        .fetch_one(&mut *monitor)
        .await
        .expect("the session is listed in pg_stat_activity");
    let expected = match status {
        TransactionStatus::Idle => "idle",
        TransactionStatus::InTransaction => "idle in transaction",
        TransactionStatus::InFailedTransaction => "idle in transaction (aborted)",
    };
    assert_eq!(state, expected);
}

/// Compile-time check: every future of this area can be spawned on a multi-threaded
/// runtime (it is `Send + 'static` when its connection is owned by the task).
#[allow(dead_code)]
fn futures_are_send(mut conn: Connection, mut listener: quarry_driver::Listener) {
    fn spawnable<F: Future + Send + 'static>(_: F) {}
    spawnable(async move {
        let mut tx = conn.begin().await?;
        quarry_driver::query("SELECT 1").execute(&mut tx).await?;
        {
            let mut sp = tx.begin().await?;
            quarry_driver::query("SELECT 1").execute(&mut sp).await?;
            sp.commit().await?;
        }
        {
            let mut c = tx.cursor(quarry_driver::query("SELECT 1")).await?;
            c.fetch(1).await?;
            c.next().await?;
            c.forward(1).await?;
        }
        tx.rollback().await?;
        let mut w = conn
            .copy_in::<(i64, String)>("COPY t FROM STDIN BINARY")
            .await?;
        w.write((1, String::new())).await?;
        w.finish().await?;
        let mut r = conn.copy_out::<(i64,)>("COPY t TO STDOUT BINARY").await?;
        r.read().await?;
        drop(r);
        let mut raw = conn.copy_in_raw("COPY t FROM STDIN").await?;
        raw.send("x").await?;
        raw.finish().await?;
        conn.transaction(|tx| {
            Box::pin(async move { quarry_driver::query("SELECT 1").execute(&mut **tx).await })
        })
        .retry_on_serialization_failure(1)
        .await?;
        quarry_driver::notify(&mut conn, "ch", "payload").await?;
        listener.listen("ch").await?;
        listener.recv().await?;
        listener.recv_event().await?;
        Ok::<(), quarry_driver::Error>(())
    });
}
