//! LISTEN/NOTIFY: a connection that only listens, and reconnects. The guide is the public
//! `listen` module.

use std::collections::BTreeSet;
use std::fmt;
use std::future::Future;
use std::time::Duration;

use futures_core::Stream;

use crate::connection::{Connection, Notification};
use crate::conninfo::ConnectOptions;
use crate::executor::Executor;
use crate::failure::{Error, ErrorKind, Result};
use crate::querying::{query, quote_identifier};

/// Sends a notification: `SELECT pg_notify(channel, payload)`. The channel name is a
/// value, not an identifier, so it needs no quoting and keeps its case.
pub fn notify<'c, E: Executor<'c>>(
    executor: E,
    channel: &str,
    payload: &str,
) -> impl Future<Output = Result<()>> + Send + 'c {
    let run = query("SELECT pg_notify($1, $2)")
        .bind(channel)
        .bind(payload)
        .execute(executor);
    async move { run.await.map(drop) }
}

/// What [`Listener::recv_event`] returns.
///
/// Deliberately exhaustive: a `match` must handle the gap (no `_` arm needed, so none
/// that could swallow it by accident).
#[derive(Debug)]
pub enum ListenerEvent {
    /// A notification on one of the channels listened to.
    Notification(Notification),
    /// The connection was lost and a new one is listening again. Notifications sent
    /// in between were missed.
    Reconnected {
        /// Why the old connection was lost (`None` if that was not observed, for
        /// example when a reconnect was interrupted and resumed).
        cause: Option<Error>,
    },
}

/// A connection dedicated to receiving notifications.
pub struct Listener {
    conn: Option<Connection>,
    /// How to reconnect; `None` for a listener made from a connection.
    options: Option<ConnectOptions>,
    channels: BTreeSet<String>,
    /// Set when the connection failed; the queued notifications are delivered first.
    lost: Option<Error>,
    reconnect_attempts: u32,
    backoff: (Duration, Duration),
}

impl fmt::Debug for Listener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Listener")
            .field("connection", &self.conn)
            .field("channels", &self.channels)
            .field("reconnects", &self.options.is_some())
            .finish()
    }
}

impl Listener {
    /// Connects a listener from a URL or keyword string.
    pub async fn connect(url: &str) -> Result<Listener> {
        Listener::connect_with(&ConnectOptions::parse(url)?).await
    }

    /// Connects a listener with these options (kept for reconnecting).
    pub async fn connect_with(
        options: impl std::borrow::Borrow<ConnectOptions>,
    ) -> Result<Listener> {
        let options = options.borrow();
        let conn = Connection::connect_with(options).await?;
        let mut l = Listener::from_connection(conn);
        l.options = Some(options.clone());
        Ok(l)
    }

    /// Uses an open connection. Without [`Listener::reconnect_with`], such a listener
    /// cannot reconnect: when the connection is lost, `recv` returns the error.
    pub fn from_connection(conn: Connection) -> Listener {
        Listener {
            conn: Some(conn),
            options: None,
            channels: BTreeSet::new(),
            lost: None,
            reconnect_attempts: 10,
            backoff: (Duration::from_millis(100), Duration::from_secs(5)),
        }
    }

    /// Reconnects with `options` when the connection is lost.
    pub fn reconnect_with(mut self, options: ConnectOptions) -> Listener {
        self.options = Some(options);
        self
    }

    /// How many times to try to reconnect before `recv` gives up with the error (the
    /// next call tries again), and the backoff between tries: it starts at `first`,
    /// doubles, and stops growing at `max`. Defaults: 10 tries, 100 ms, 5 s.
    pub fn reconnect_policy(mut self, attempts: u32, first: Duration, max: Duration) -> Listener {
        self.reconnect_attempts = attempts;
        self.backoff = (first, max.max(first));
        self
    }

    /// The channels listened to.
    pub fn channels(&self) -> impl Iterator<Item = &str> {
        self.channels.iter().map(String::as_str)
    }

    /// The backend process ID of the current connection, if connected.
    pub fn backend_pid(&self) -> Option<i32> {
        self.conn
            .as_ref()
            .filter(|c| !c.is_closed())
            .map(Connection::backend_pid)
    }

    fn conn(&mut self) -> Result<&mut Connection> {
        match &mut self.conn {
            Some(c) if self.lost.is_none() => Ok(c),
            _ => Err(Error::closed(
                "the listener's connection is lost; recv() reconnects it",
            )),
        }
    }

    /// Starts listening on `channel` (quoted: the name is used exactly as given).
    pub async fn listen(&mut self, channel: &str) -> Result<()> {
        self.listen_all([channel]).await
    }

    /// Starts listening on every channel in `channels`, in one round trip.
    pub async fn listen_all<I>(&mut self, channels: I) -> Result<()>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let names: Vec<String> = channels
            .into_iter()
            .map(|c| c.as_ref().to_owned())
            .collect();
        if names.is_empty() {
            return Ok(());
        }
        self.conn()?.batch_execute(&listen_sql(&names)).await?;
        self.channels.extend(names);
        Ok(())
    }

    /// Stops listening on `channel`.
    pub async fn unlisten(&mut self, channel: &str) -> Result<()> {
        let sql = format!("UNLISTEN {}", quote_identifier(channel));
        self.conn()?.batch_execute(&sql).await?;
        self.channels.remove(channel);
        Ok(())
    }

    /// Stops listening on every channel.
    pub async fn unlisten_all(&mut self) -> Result<()> {
        self.conn()?.batch_execute("UNLISTEN *").await?;
        self.channels.clear();
        Ok(())
    }

    /// A notification already received, without waiting.
    pub fn next_buffered(&mut self) -> Option<Notification> {
        self.conn.as_mut().and_then(Connection::pop_notification)
    }

    /// Waits for the next notification. If the connection was lost and re-established
    /// in the meantime, returns an error (of kind `Closed`) saying that notifications
    /// may have been missed (its `source()` is why the connection was lost, when that
    /// was seen); call `recv` again to go on. See [`Listener::recv_event`] to
    /// handle the gap without an error.
    pub async fn recv(&mut self) -> Result<Notification> {
        match self.recv_event().await? {
            ListenerEvent::Notification(n) => Ok(n),
            ListenerEvent::Reconnected { cause } => Err(gap_error(cause)),
        }
    }

    /// Waits for the next notification or reconnection.
    ///
    /// Cancel-safe: dropping the future loses nothing.
    pub async fn recv_event(&mut self) -> Result<ListenerEvent> {
        loop {
            if let Some(conn) = &mut self.conn {
                if let Some(n) = conn.pop_notification() {
                    return Ok(ListenerEvent::Notification(n));
                }
                if self.lost.is_none() {
                    match conn.wait_for_async_message().await {
                        Ok(()) => continue,
                        Err(e) if self.options.is_some() => {
                            tracing::info!(
                                "the listener's connection was lost: {}",
                                e.display_chain()
                            );
                            self.lost = Some(e);
                            continue;
                        }
                        Err(e) => return Err(e),
                    }
                }
            }
            // Lost (and drained), or never connected: reconnect and report the gap.
            self.conn = None;
            let conn = self.reconnect().await?;
            self.conn = Some(conn);
            let cause = self.lost.take();
            return Ok(ListenerEvent::Reconnected { cause });
        }
    }

    async fn reconnect(&mut self) -> Result<Connection> {
        let Some(options) = &self.options else {
            return Err(Error::closed(
                "the listener's connection is lost and it has no options to reconnect with",
            ));
        };
        let names: Vec<String> = self.channels.iter().cloned().collect();
        let mut delay = self.backoff.0;
        let mut last = None;
        for attempt in 0..=self.reconnect_attempts {
            if attempt > 0 {
                tokio::time::sleep(delay).await;
                delay = delay.saturating_mul(2).min(self.backoff.1);
            }
            let r = async {
                let mut conn = Connection::connect_with(options).await?;
                if !names.is_empty() {
                    conn.batch_execute(&listen_sql(&names)).await?;
                }
                Ok::<Connection, Error>(conn)
            }
            .await;
            match r {
                Ok(conn) => {
                    tracing::info!(attempt, "the listener reconnected");
                    return Ok(conn);
                }
                Err(e) => {
                    tracing::debug!(
                        attempt,
                        "the listener could not reconnect: {}",
                        e.display_chain()
                    );
                    last = Some(e);
                }
            }
        }
        Err(last
            .unwrap_or_else(|| Error::closed("could not reconnect"))
            .context("the listener could not reconnect"))
    }

    /// The notifications as a `Stream`. A reconnection arrives as an `Err` item (see
    /// [`Listener::recv`]) and the stream goes on after it; any other error ends it.
    pub fn into_stream(self) -> impl Stream<Item = Result<Notification>> + Send + 'static {
        futures_util::stream::unfold((self, false), |(mut l, ended)| async move {
            if ended {
                return None;
            }
            Some(match l.recv_event().await {
                Ok(ListenerEvent::Notification(n)) => (Ok(n), (l, false)),
                Ok(ListenerEvent::Reconnected { cause }) => (Err(gap_error(cause)), (l, false)),
                Err(e) => (Err(e), (l, true)),
            })
        })
    }

    /// Every event (notifications and reconnections) as a `Stream`; it ends after the
    /// first error.
    pub fn into_event_stream(self) -> impl Stream<Item = Result<ListenerEvent>> + Send + 'static {
        futures_util::stream::unfold((self, false), |(mut l, ended)| async move {
            if ended {
                return None;
            }
            let item = l.recv_event().await;
            let end = item.is_err();
            Some((item, (l, end)))
        })
    }
}

/// The error `recv` returns for a reconnection; why the connection was lost is its
/// `source()`.
fn gap_error(cause: Option<Error>) -> Error {
    let e = Error::new(
        ErrorKind::Closed,
        "the listener's connection was lost and re-established; notifications sent in \
         between were missed. The listener goes on",
    );
    match cause {
        Some(cause) => e.with_source(cause),
        None => e,
    }
}

fn listen_sql(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("LISTEN {}", quote_identifier(n)))
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_statements_quote_names() {
        assert_eq!(
            listen_sql(&["a".into(), "My \"Ch\"".into()]),
            "LISTEN \"a\"; LISTEN \"My \"\"Ch\"\"\""
        );
    }
}
