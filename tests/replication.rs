//! Logical replication against a real server (`wal_level=logical`): every pgoutput
//! message kind, text and binary tuples read through the driver's types and
//! `#[derive(FromRecord)]`, unchanged TOAST values, replica identities, streamed large
//! transactions, at-least-once delivery across a dropped consumer and a killed walsender,
//! and an exported snapshot meeting the stream with no row lost or repeated.

use std::collections::BTreeSet;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use quarry::replication::{
    LogicalEvent, LogicalMessage, LogicalOptions, OldTuple, ReplicaIdentity,
    ReplicationConnection, ReplicationStream, SlotOptions, SlotSnapshot, Streaming,
};
use quarry::types::PgLsn;
use quarry::{Connection, FromRecord, TempServer};

fn server() -> &'static TempServer {
    static SERVER: OnceLock<TempServer> = OnceLock::new();
    SERVER.get_or_init(|| {
        TempServer::builder()
            .replication(true)
            .setting("wal_level", "logical")
            .setting("max_replication_slots", "40")
            .setting("max_wal_senders", "40")
            // Small, so that a few thousand rows make the server stream a transaction.
            .setting("logical_decoding_work_mem", "64kB")
            .start()
            .expect("start a TempServer with wal_level=logical")
    })
}

/// A lower-case name no other test uses (slot names allow nothing else).
fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

async fn connect() -> Connection {
    Connection::connect(&server().url()).await.unwrap()
}

async fn replication() -> ReplicationConnection {
    ReplicationConnection::connect(&server().url()).await.unwrap()
}

/// The next event within 20 s (a hang must fail the test, not stall it).
async fn next(stream: &mut ReplicationStream) -> LogicalEvent {
    tokio::time::timeout(Duration::from_secs(20), stream.next())
        .await
        .expect("no replication event within 20 s")
        .unwrap()
        .expect("the stream ended")
}

/// Events up to and including the next Commit (or Stream Commit), skipping Relations.
async fn transaction(stream: &mut ReplicationStream) -> Vec<LogicalEvent> {
    let mut out = Vec::new();
    for _ in 0..100_000 {
        let e = next(stream).await;
        let end = matches!(
            e.message,
            LogicalMessage::Commit(_) | LogicalMessage::StreamCommit(_)
        );
        if !matches!(e.message, LogicalMessage::Relation(_)) {
            out.push(e);
        }
        if end {
            return out;
        }
    }
    panic!("no commit in 100,000 events");
}

/// A table `name` published by a publication of the same name.
async fn published(conn: &mut Connection, name: &str, columns: &str) {
    conn.batch_execute(&format!(
        "CREATE TABLE {name} ({columns}); CREATE PUBLICATION {name} FOR TABLE {name}"
    ))
    .await
    .unwrap();
}

/// A replication session with a temporary slot, streaming publication `publication`.
async fn stream(publication: &str, options: LogicalOptions) -> ReplicationStream {
    let mut repl = replication().await;
    let slot = unique("slot");
    repl.create_logical_slot(&slot, &SlotOptions::new().temporary(true))
        .await
        .unwrap();
    let _ = publication;
    repl.start_logical(&slot, PgLsn(0), &options).await.unwrap()
}

#[derive(FromRecord, Debug, PartialEq)]
struct Item {
    id: i32,
    name: Option<String>,
}

#[tokio::test]
async fn identify_system_and_slot_commands() {
    let mut repl = replication().await;
    let id = repl.identify_system().await.unwrap();
    assert!(!id.system_id.is_empty());
    assert!(id.timeline >= 1);
    assert!(id.xlog_pos > PgLsn(0));
    assert_eq!(id.dbname.as_deref(), Some("postgres"));

    let slot = unique("perm");
    let created = repl
        .create_logical_slot(&slot, &SlotOptions::new().snapshot(SlotSnapshot::Export))
        .await
        .unwrap();
    assert_eq!(created.name, slot);
    assert!(created.consistent_point > PgLsn(0));
    assert!(created.snapshot_name.is_some());
    assert_eq!(created.output_plugin.as_deref(), Some("pgoutput"));
    let status = repl.slot_status(&slot).await.unwrap().unwrap();
    assert_eq!(status.slot_type, "logical");
    assert!(!status.active);
    repl.drop_slot(&slot, false).await.unwrap();
    assert!(repl.slot_status(&slot).await.unwrap().is_none());
    // Names the server would reject (or that would splice SQL) never leave the client.
    assert!(repl.drop_slot("x; DROP TABLE y", false).await.is_err());
    if repl.server_version().major() >= 15 {
        assert!(repl.read_slot(&unique("none")).await.unwrap().is_none());
    }
}

#[tokio::test]
async fn inserts_updates_deletes_truncates_and_messages_in_text_and_binary() {
    for binary in [false, true] {
        let mut conn = connect().await;
        let t = unique("kinds");
        published(&mut conn, &t, "id int PRIMARY KEY, name text").await;
        let mut s = stream(
            &t,
            LogicalOptions::new([&t]).binary(binary).messages(true),
        )
        .await;
        // One transaction each (a multi-statement simple query would be one).
        for sql in [
            format!("INSERT INTO {t} VALUES (1, 'one'), (2, NULL)"),
            format!("UPDATE {t} SET name = 'uno' WHERE id = 1"),
            format!("UPDATE {t} SET id = 3 WHERE id = 2"),
            format!("DELETE FROM {t} WHERE id = 1"),
            format!("TRUNCATE {t}"),
            "SELECT pg_logical_emit_message(true, 'quarry', 'in tx')".to_owned(),
            "SELECT pg_logical_emit_message(false, 'quarry', 'not in tx')".to_owned(),
        ] {
            conn.batch_execute(&sql).await.unwrap();
        }

        // INSERT 1, 2
        let tx = transaction(&mut s).await;
        let LogicalMessage::Begin(begin) = &tx[0].message else {
            panic!("{tx:?}")
        };
        assert!(begin.xid > 0);
        let LogicalMessage::Insert(i) = &tx[1].message else {
            panic!("{tx:?}")
        };
        assert_eq!(i.relation.name, t);
        assert_eq!(i.relation.namespace, "public");
        assert_eq!(i.relation.replica_identity, ReplicaIdentity::Default);
        assert!(i.relation.columns[0].is_key && !i.relation.columns[1].is_key);
        assert_eq!(i.new.try_get::<i32, _>("id").unwrap(), 1);
        assert_eq!(i.new.try_get::<String, _>("name").unwrap(), "one");
        assert_eq!(
            i.new.read::<Item>().unwrap(),
            Item {
                id: 1,
                name: Some("one".into())
            }
        );
        let LogicalMessage::Insert(i) = &tx[2].message else {
            panic!("{tx:?}")
        };
        assert_eq!(i.new.try_get::<Option<String>, _>("name").unwrap(), None);
        let LogicalMessage::Commit(commit) = &tx[3].message else {
            panic!("{tx:?}")
        };
        assert_eq!(tx[3].lsn, commit.end_lsn);
        assert_eq!(commit.commit_lsn, begin.final_lsn);
        s.ack(tx[3].lsn);
        assert_eq!(s.acked(), commit.end_lsn);

        // UPDATE that leaves the key: no old tuple.
        let tx = transaction(&mut s).await;
        let LogicalMessage::Update(u) = &tx[1].message else {
            panic!("{tx:?}")
        };
        assert!(u.old.is_none());
        assert_eq!(u.new.read::<(i32, String)>().unwrap(), (1, "uno".into()));

        // UPDATE of the key: the old key, whose other columns were not sent.
        let tx = transaction(&mut s).await;
        let LogicalMessage::Update(u) = &tx[1].message else {
            panic!("{tx:?}")
        };
        let Some(OldTuple::Key(old)) = &u.old else {
            panic!("{u:?}")
        };
        assert_eq!(old.try_get::<i32, _>("id").unwrap(), 2);
        assert!(!old.is_sent("name").unwrap());
        let err = old.try_get::<Option<String>, _>("name").unwrap_err();
        assert!(err.to_string().contains("replica identity key"), "{err}");
        assert_eq!(u.new.try_get::<i32, _>("id").unwrap(), 3);

        // DELETE: the old key.
        let tx = transaction(&mut s).await;
        let LogicalMessage::Delete(d) = &tx[1].message else {
            panic!("{tx:?}")
        };
        assert_eq!(d.old.tuple().try_get::<i32, _>(0).unwrap(), 1);
        assert!(matches!(d.old, OldTuple::Key(_)));

        // TRUNCATE
        let tx = transaction(&mut s).await;
        let LogicalMessage::Truncate(tr) = &tx[1].message else {
            panic!("{tx:?}")
        };
        assert_eq!(tr.relations.len(), 1);
        assert_eq!(tr.relations[0].name, t);
        assert!(!tr.cascade && !tr.restart_identity);

        // Messages: the transactional one inside its transaction, the other on its own.
        let mut seen = Vec::new();
        while seen.len() < 2 {
            if let LogicalMessage::Message(m) = next(&mut s).await.message {
                assert_eq!(m.prefix, "quarry");
                seen.push((m.transactional, String::from_utf8(m.content.to_vec()).unwrap()));
            }
        }
        seen.sort();
        assert_eq!(
            seen,
            [(false, "not in tx".to_owned()), (true, "in tx".to_owned())]
        );
    }
}
