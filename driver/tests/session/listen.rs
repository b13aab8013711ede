//! LISTEN/NOTIFY: the Listener, its reconnection, and notifications on ordinary connections.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use quarry_driver::{Listener, ListenerEvent, Notification, notify, query, query_scalar};

use crate::{connect, server, unique};

/// Waits at most 10 s (a hang must fail the test, not stall it).
async fn within<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(10), f)
        .await
        .expect("timed out")
}

#[tokio::test]
async fn listen_notify_unlisten() {
    let mut listener = Listener::connect(&server().url()).await.unwrap();
    let mut sender = connect().await;
    let a = unique("Mixed Case \"ch\"");
    let b = unique("other");
    listener.listen_all([&a, &b]).await.unwrap();
    assert_eq!(listener.channels().count(), 2);

    notify(&mut sender, &a, "hello").await.unwrap();
    let n = within(listener.recv()).await.unwrap();
    assert_eq!(n.channel(), a);
    assert_eq!(n.payload(), "hello");
    assert_eq!(n.process_id(), sender.backend_pid());

    listener.unlisten(&a).await.unwrap();
    notify(&mut sender, &a, "not heard").await.unwrap();
    notify(&mut sender, &b, "").await.unwrap();
    let n = within(listener.recv()).await.unwrap();
    assert_eq!((n.channel(), n.payload()), (b.as_str(), ""));
    assert!(listener.next_buffered().is_none());

    listener.unlisten_all().await.unwrap();
    notify(&mut sender, &b, "after unlisten_all").await.unwrap();
    listener.listen(&b).await.unwrap();
    notify(&mut sender, &b, "last").await.unwrap();
    let n = within(listener.recv()).await.unwrap();
    assert_eq!(n.payload(), "last");
}

#[tokio::test]
async fn notifications_as_a_stream() {
    let mut listener = Listener::connect(&server().url()).await.unwrap();
    let ch = unique("stream");
    listener.listen(&ch).await.unwrap();
    let mut sender = connect().await;
    for i in 0..3 {
        notify(&mut sender, &ch, &i.to_string()).await.unwrap();
    }
    let got: Vec<Notification> =
        within(listener.into_stream().take(3).map(|n| n.unwrap()).collect()).await;
    let payloads: Vec<&str> = got.iter().map(Notification::payload).collect();
    assert_eq!(payloads, ["0", "1", "2"]);
}

#[tokio::test]
async fn listener_survives_terminate_backend_and_reports_the_gap() {
    let mut listener = Listener::connect(&server().url())
        .await
        .unwrap()
        .reconnect_policy(20, Duration::from_millis(20), Duration::from_millis(500));
    let ch = unique("gap");
    listener.listen(&ch).await.unwrap();
    let mut admin = connect().await;
    notify(&mut admin, &ch, "before").await.unwrap();
    assert_eq!(within(listener.recv()).await.unwrap().payload(), "before");

    let old_pid = listener.backend_pid().unwrap();
    // The timeout form (PostgreSQL 14+) returns once the process is gone: without it the
    // notification below can reach the old session before it dies, and is then not lost.
    let killed: bool = query_scalar("SELECT pg_terminate_backend($1, 10000)")
        .bind(old_pid)
        .fetch_one(&mut admin)
        .await
        .unwrap();
    assert!(killed);
    // Sent while the listener's session is gone: lost, and the listener must say so.
    notify(&mut admin, &ch, "in the gap").await.unwrap();

    match within(listener.recv_event()).await.unwrap() {
        ListenerEvent::Reconnected { cause } => {
            let cause = cause.expect("the cause of the loss is reported");
            assert!(cause.is_connection_fatal(), "{cause}");
        }
        other => panic!("expected the gap to be reported, got {other:?}"),
    }
    let new_pid = listener.backend_pid().unwrap();
    assert_ne!(new_pid, old_pid);
    notify(&mut admin, &ch, "after").await.unwrap();
    let n = within(listener.recv()).await.unwrap();
    assert_eq!(n.payload(), "after");
    assert_eq!(n.channel(), ch);

    // Through recv(): the gap is an error, then the listener goes on.
    let killed: bool = query_scalar("SELECT pg_terminate_backend($1)")
        .bind(new_pid)
        .fetch_one(&mut admin)
        .await
        .unwrap();
    assert!(killed);
    let err = within(listener.recv()).await.unwrap_err();
    assert!(err.to_string().contains("missed"), "{err}");
    notify(&mut admin, &ch, "again").await.unwrap();
    assert_eq!(within(listener.recv()).await.unwrap().payload(), "again");
}

#[tokio::test]
async fn listener_without_options_reports_the_loss() {
    let conn = connect().await;
    let mut listener = Listener::from_connection(conn);
    let ch = unique("noreconnect");
    listener.listen(&ch).await.unwrap();
    let mut admin = connect().await;
    let pid = listener.backend_pid().unwrap();
    query("SELECT pg_terminate_backend($1)")
        .bind(pid)
        .execute(&mut admin)
        .await
        .unwrap();
    let err = within(listener.recv()).await.unwrap_err();
    assert!(err.is_connection_fatal(), "{err}");
}

#[tokio::test]
async fn notifications_arrive_while_a_long_query_streams() {
    let mut conn = connect().await;
    let ch = unique("busy");
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let s = seen.clone();
    conn.set_notification_handler(move |n| s.lock().unwrap().push(n.payload().to_owned()));
    conn.batch_execute(&format!("LISTEN \"{ch}\""))
        .await
        .unwrap();
    let mut sender = connect().await;

    let mut rows =
        query_scalar::<i32>("SELECT i FROM generate_series(1, 1000000) i").fetch(&mut conn);
    let mut expected = 1;
    while let Some(v) = rows.next().await {
        assert_eq!(v.unwrap(), expected);
        if expected == 1 || expected == 500_000 {
            notify(&mut sender, &ch, &format!("at {expected}"))
                .await
                .unwrap();
        }
        expected += 1;
    }
    drop(rows);
    assert_eq!(expected, 1_000_001);
    // The server delivers a notification when the listening session's transaction
    // ends: the first one was sent while the server was still sending rows (15 MB do
    // not fit the socket buffers), so it came in the middle of the stream, before the
    // query's ReadyForQuery, and the rows around it were read correctly.
    assert_eq!(
        seen.lock().unwrap().first().map(String::as_str),
        Some("at 1")
    );
    // The second may have arrived after the query ended: the next query's response
    // brings it at the latest (the server delivers pending ones before ReadyForQuery).
    let one: i32 = query_scalar("SELECT 1").fetch_one(&mut conn).await.unwrap();
    assert_eq!(one, 1);
    let taken: Vec<String> = conn
        .take_notifications()
        .into_iter()
        .map(|n| n.payload().to_owned())
        .collect();
    assert_eq!(taken, ["at 1", "at 500000"]);
    assert_eq!(*seen.lock().unwrap(), ["at 1", "at 500000"]);
    assert!(conn.take_notifications().is_empty());
}

#[tokio::test]
async fn listener_reconnects_with_backoff_after_a_server_restart() {
    let server = std::sync::Arc::new(quarry_driver::TempServer::start().unwrap());
    let mut listener = Listener::connect(&server.url())
        .await
        .unwrap()
        .reconnect_policy(50, Duration::from_millis(50), Duration::from_millis(200));
    listener.listen("restart").await.unwrap();
    server.stop().unwrap();
    // The server comes back a little later; meanwhile connecting fails and is retried.
    let s = server.clone();
    let restarter = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(500));
        s.start_again().unwrap();
    });
    match within(listener.recv_event()).await.unwrap() {
        ListenerEvent::Reconnected { cause } => assert!(cause.is_some()),
        other => panic!("expected a reconnection, got {other:?}"),
    }
    restarter.join().unwrap();
    let mut sender = quarry_driver::Connection::connect(&server.url())
        .await
        .unwrap();
    notify(&mut sender, "restart", "back").await.unwrap();
    assert_eq!(within(listener.recv()).await.unwrap().payload(), "back");
}

#[tokio::test]
async fn cancelled_listen_leaves_the_listener_usable() {
    let mut listener = Listener::connect(&server().url()).await.unwrap();
    let mut sender = connect().await;
    for polls in 0.. {
        let ch = unique("cancel_listen");
        let done = crate::Cancellable::new(listener.listen(&ch), polls)
            .await
            .map(|r| r.unwrap())
            .is_some();
        // Whether or not that LISTEN ran, a complete one works afterwards.
        listener.listen(&ch).await.unwrap();
        notify(&mut sender, &ch, "x").await.unwrap();
        let n = within(listener.recv()).await.unwrap();
        assert_eq!(n.channel(), ch);
        if done {
            break;
        }
        assert!(polls < 1000);
    }
}
