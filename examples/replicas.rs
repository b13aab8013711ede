//! Read replicas: write to the primary, read from a standby, with one list of hosts.
//!
//! ```sh
//! cargo run --example replicas
//! ```
//!
//! A connection string may name several servers:
//! `postgres://user@standby:5433,primary:5432/app`. `target_session_attrs` says which
//! kind the connection must reach, and hosts of the wrong kind are skipped:
//!
//! - `read-write`: a server that accepts writes (the primary), for the writer pool;
//! - `prefer-standby`: a hot standby if one is up, else any server, for the reader pool
//!   (`standby` would refuse to fall back to the primary).
//!
//! After a failover the same two pools find the new primary by themselves: nothing
//! in the program names which host is which.
//!
//! Without `DATABASE_URL` this starts a primary and a streaming standby of it
//! locally. With `DATABASE_URL`, give it the hosts of such a pair.

use std::time::{Duration, Instant};

use quarry::config::TargetSessionAttrs;
use quarry::{ConnectOptions, Pool, SqlState, TempServer};

#[tokio::main]
async fn main() -> quarry::Result<()> {
    let (url, servers) = match std::env::var("DATABASE_URL") {
        Ok(url) => (url, None),
        Err(_) => {
            println!("starting a primary and a hot standby that streams from it...");
            let primary = TempServer::builder().replication(true).start()?;
            let standby = primary.start_standby()?;
            // The standby is listed first, to show that the writer skips it.
            let url = format!(
                "postgres://postgres@{}:{},{}:{}/postgres?sslmode=disable",
                standby.host(),
                standby.port(),
                primary.host(),
                primary.port()
            );
            (url, Some((primary, standby)))
        }
    };
    println!("hosts: {url}");

    // One list of hosts, two kinds of session.
    let hosts = ConnectOptions::parse(&url)?;
    let writer = Pool::connect_with(
        hosts
            .clone()
            .target_session_attrs(TargetSessionAttrs::ReadWrite),
    )
    .await?;
    let reader =
        Pool::connect_with(hosts.target_session_attrs(TargetSessionAttrs::PreferStandby)).await?;

    // DDL goes to the primary, and reaches the standby by replication.
    writer
        .acquire()
        .await?
        .batch_execute(include_str!("schema.sql"))
        .await?;
    replayed(&writer, &reader).await?;

    let (writer_port, _) = server_of(&writer).await?;
    let (reader_port, reader_on_standby) = server_of(&reader).await?;
    println!("writer pool: the primary, port {writer_port}");
    if reader_on_standby {
        println!("reader pool: a standby, port {reader_port}");
    } else {
        // Only with a DATABASE_URL that names no standby.
        println!("reader pool: port {reader_port}, a primary: no standby is up, so it fell back");
    }
    // The pair started above has a standby: this example checks that it was found.
    assert!(reader_on_standby || servers.is_none());

    let id = quarry::query_scalar!(
        "INSERT INTO users (name, email) VALUES ($1, $2) RETURNING id",
        "Grace",
        "grace@example.com"
    )
    .fetch_one(&writer)
    .await?;
    println!("wrote user {id} on the primary");

    // Replication is asynchronous: the row reaches the standby a moment later.
    // To read your own writes from a replica, wait until it has replayed the WAL
    // up to the primary's position after the write.
    let lag = replayed(&writer, &reader).await?;
    let name = quarry::query_scalar!("SELECT name FROM users WHERE id = $1", id)
        .fetch_one(&reader)
        .await?;
    println!("read {name:?} on the reader pool, {lag:.0?} after the write");

    // A standby refuses writes, with SQLSTATE 25006. (The pool also discards a
    // connection that fails this way: after a failover it may be on a demoted host.)
    if reader_on_standby {
        let refused = quarry::query!("DELETE FROM users WHERE id = $1", id)
            .execute(&reader)
            .await
            .expect_err("a standby accepts no writes");
        assert_eq!(refused.code(), Some(&SqlState::ReadOnlySqlTransaction));
        println!("a write on the reader pool: {}", refused.message());
    }

    assert_eq!(name, "Grace");
    writer.close().await;
    reader.close().await;
    Ok(())
}

/// The port of the server a pool's connections reach, and whether it is a standby.
async fn server_of(pool: &Pool) -> quarry::Result<(i32, bool)> {
    let server = quarry::query!(
        r#"SELECT inet_server_port() AS "port!", pg_is_in_recovery() AS "standby!""#
    )
    .fetch_one(pool)
    .await?;
    Ok((server.port, server.standby))
}

/// Waits (10 s at most) until the reader's server has replayed everything the
/// primary had written when this was called; returns how long that took.
async fn replayed(writer: &Pool, reader: &Pool) -> quarry::Result<Duration> {
    let primary_lsn = quarry::query_scalar!(r#"SELECT pg_current_wal_lsn() AS "lsn!""#)
        .fetch_one(writer)
        .await?;
    let started = Instant::now();
    loop {
        // NULL on a primary (the reader fell back to it): nothing to wait for.
        let done = quarry::query_scalar!(
            "SELECT COALESCE(pg_last_wal_replay_lsn() >= $1, true) AS done",
            primary_lsn
        )
        .fetch_one(reader)
        .await?;
        if done {
            return Ok(started.elapsed());
        }
        if started.elapsed() > Duration::from_secs(10) {
            return Err(quarry::Error::new(
                quarry::ErrorKind::Timeout,
                "the standby did not catch up with the primary within 10 s",
            ));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
