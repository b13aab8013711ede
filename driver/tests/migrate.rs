//! The migration runner against a real server: racing runs, an edited migration, a
//! failing one, no-transaction files, revert, a sqlx folder and a sqlx history adopted.
//!
//! One shared `TempServer`; each test migrates a database of its own.
#![cfg(all(feature = "temp-server", unix))]

use std::path::PathBuf;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use quarry_driver::migrate::{MigrationStatus, Migrator};
use quarry_driver::{ConnectOptions, Connection, ErrorKind, Pool, TempServer, query, query_scalar};
use sha2::{Digest, Sha384};

static SERVER: OnceLock<TempServer> = OnceLock::new();

fn server() -> &'static TempServer {
    SERVER.get_or_init(|| TempServer::start().expect("starting the test server"))
}

fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A fresh database; its connect options.
/// Advisory locks held in this test's own database (tests run in parallel, each in a
/// database of its own, and several take the migration lock at the same time).
const ADVISORY_LOCKS_HERE: &str = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' \
     AND database = (SELECT oid FROM pg_database WHERE datname = current_database())";

async fn database(prefix: &str) -> ConnectOptions {
    let name = unique(prefix);
    let mut admin = Connection::connect(&server().url()).await.unwrap();
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    ConnectOptions::parse(&server().url()).unwrap().dbname(name)
}

async fn connect(options: &ConnectOptions) -> Connection {
    Connection::connect_with(options).await.unwrap()
}

/// A folder of migration files (written in the order given).
fn folder(files: &[(&str, &str)]) -> PathBuf {
    let dir = std::env::temp_dir().join(unique("quarry-migrate"));
    std::fs::create_dir_all(&dir).unwrap();
    for (name, sql) in files {
        std::fs::write(dir.join(name), sql).unwrap();
    }
    dir
}

async fn history(conn: &mut Connection) -> Vec<i64> {
    query_scalar("SELECT version FROM _quarry_migrations ORDER BY version")
        .fetch_all(conn)
        .await
        .unwrap()
}

async fn table_exists(conn: &mut Connection, name: &str) -> bool {
    query_scalar::<Option<String>>("SELECT to_regclass($1)::text")
        .bind(name)
        .fetch_one(conn)
        .await
        .unwrap()
        .is_some()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_runs_apply_each_migration_once() {
    let db = database("race").await;
    // Each migration logs itself; a second application would log twice (or fail on the
    // CREATE TABLE and, with it, the run).
    let mut files = vec![(
        "0001_log.sql".to_owned(),
        "CREATE TABLE log (version int8 NOT NULL);\nINSERT INTO log VALUES (1);".to_owned(),
    )];
    for v in 2..=6 {
        files.push((
            format!("{v:04}_step_{v}.sql"),
            format!("SELECT pg_sleep(0.05);\nINSERT INTO log VALUES ({v});"),
        ));
    }
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let dir = folder(&refs);

    let runs = (0..4).map(|_| {
        let db = db.clone();
        let dir = dir.clone();
        tokio::spawn(async move {
            let mut conn = connect(&db).await;
            Migrator::new(&dir).unwrap().run(&mut conn).await
        })
    });
    let mut total = 0;
    for run in runs.collect::<Vec<_>>() {
        total += run.await.unwrap().expect("every racing run succeeds").len();
    }
    assert_eq!(total, 6, "the runs together applied each migration once");

    let mut conn = connect(&db).await;
    let logged: Vec<i64> = query_scalar("SELECT version FROM log ORDER BY version")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    assert_eq!(logged, vec![1, 2, 3, 4, 5, 6]);
    assert_eq!(history(&mut conn).await, vec![1, 2, 3, 4, 5, 6]);
    // No session kept the lock.
    let held: i64 = query_scalar(ADVISORY_LOCKS_HERE)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(held, 0);
}

#[tokio::test]
async fn a_pool_is_an_executor_and_a_second_run_applies_nothing() {
    let db = database("pool").await;
    let dir = folder(&[("1_a.sql", "CREATE TABLE a (x int);")]);
    let pool = Pool::connect_with(db.clone()).await.unwrap();
    let migrator = Migrator::new(&dir).unwrap();
    assert_eq!(migrator.run(&pool).await.unwrap().len(), 1);
    assert!(migrator.run(&pool).await.unwrap().is_empty());
}

#[tokio::test]
async fn an_edited_applied_migration_is_refused_with_both_checksums() {
    let db = database("edited").await;
    let dir = folder(&[("0001_users.sql", "CREATE TABLE users (id int8);")]);
    let mut conn = connect(&db).await;
    Migrator::new(&dir).unwrap().run(&mut conn).await.unwrap();

    let applied = hex(&Sha384::digest(b"CREATE TABLE users (id int8);"));
    let edited_sql = "CREATE TABLE users (id int8, name text);";
    std::fs::write(dir.join("0001_users.sql"), edited_sql).unwrap();
    std::fs::write(dir.join("0002_more.sql"), "CREATE TABLE more (x int);").unwrap();
    let e = Migrator::new(&dir)
        .unwrap()
        .run(&mut conn)
        .await
        .unwrap_err();
    let text = e.to_string();
    assert!(text.contains("0001_users.sql"), "{text}");
    assert!(text.contains(&applied), "{text}");
    assert!(
        text.contains(&hex(&Sha384::digest(edited_sql.as_bytes()))),
        "{text}"
    );
    // Refused before anything ran.
    assert!(!table_exists(&mut conn, "more").await);
    assert_eq!(history(&mut conn).await, vec![1]);

    let info = Migrator::new(&dir).unwrap().info(&mut conn).await.unwrap();
    assert!(
        matches!(info[0].status, MigrationStatus::Changed { .. }),
        "{info:?}"
    );
    assert_eq!(info[1].status, MigrationStatus::Pending);
}

#[tokio::test]
async fn a_failing_migration_leaves_nothing_and_the_next_run_retries_it() {
    let db = database("failing").await;
    let bad = "CREATE TABLE half (x int);\nINSERT INTO half VALUES (1);\nSELEC oops;\n";
    let dir = folder(&[("1_ok.sql", "CREATE TABLE ok (x int);"), ("2_bad.sql", bad)]);
    let mut conn = connect(&db).await;
    let e = Migrator::new(&dir)
        .unwrap()
        .run(&mut conn)
        .await
        .unwrap_err();
    let text = e.to_string();
    assert!(text.contains("2_bad.sql"), "{text}");
    assert!(text.contains("LINE 3: SELEC oops;"), "{text}");
    assert_eq!(e.kind(), ErrorKind::Database);
    assert!(table_exists(&mut conn, "ok").await);
    assert!(
        !table_exists(&mut conn, "half").await,
        "nothing of 2 is left"
    );
    assert_eq!(history(&mut conn).await, vec![1]);
    // The connection is usable and holds no lock.
    let held: i64 = query_scalar(ADVISORY_LOCKS_HERE)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(held, 0);

    std::fs::write(dir.join("2_bad.sql"), bad.replace("SELEC", "SELECT 1 AS")).unwrap();
    let applied = Migrator::new(&dir).unwrap().run(&mut conn).await.unwrap();
    assert_eq!(applied.len(), 1);
    assert_eq!(applied[0].file, "2_bad.sql");
    assert_eq!(history(&mut conn).await, vec![1, 2]);
}

#[tokio::test]
async fn no_transaction_migrations_run_statement_by_statement() {
    let db = database("notx").await;
    // CREATE INDEX CONCURRENTLY refuses a transaction, and a multi-statement query string
    // is one: each statement must go on its own.
    let dir = folder(&[
        ("1_t.sql", "CREATE TABLE t (x int);"),
        (
            "2_index.sql",
            "-- no-transaction\nCREATE INDEX CONCURRENTLY t_x ON t (x);\n\
             CREATE INDEX CONCURRENTLY t_x2 ON t ((x + 1));\n",
        ),
        (
            "3_quarry_marker.sql",
            "-- quarry:no-transaction\nCREATE INDEX CONCURRENTLY t_x3 ON t ((x * 2));\n\
             -- the end; with a semicolon in a comment\n",
        ),
    ]);
    let migrator = Migrator::new(&dir).unwrap();
    assert!(migrator.migrations()[1].no_transaction());
    let mut conn = connect(&db).await;
    migrator.run(&mut conn).await.unwrap();
    let indexes: i64 = query_scalar("SELECT count(*) FROM pg_indexes WHERE tablename = 't'")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(indexes, 3);
    assert_eq!(history(&mut conn).await, vec![1, 2, 3]);

    // A failure names the file and the line in the file.
    std::fs::write(
        dir.join("4_broken.sql"),
        "-- no-transaction\nCREATE TABLE u (x int);\n\nCREATE INDEX CONCURRENTLY u_x ON u (x) WHER x > 0;\n",
    )
    .unwrap();
    let e = Migrator::new(&dir)
        .unwrap()
        .run(&mut conn)
        .await
        .unwrap_err();
    let text = e.to_string();
    assert!(text.contains("4_broken.sql"), "{text}");
    assert!(text.contains("LINE 4: CREATE INDEX"), "{text}");
    assert!(text.contains("safe to repeat"), "{text}");
    assert_eq!(history(&mut conn).await, vec![1, 2, 3]);
}

#[tokio::test]
async fn revert_runs_down_files_newest_first() {
    let db = database("revert").await;
    let dir = folder(&[
        ("1_a.up.sql", "CREATE TABLE a (x int);"),
        ("1_a.down.sql", "DROP TABLE a;"),
        ("2_b.up.sql", "CREATE TABLE b (x int);"),
        ("2_b.down.sql", "DROP TABLE b;"),
        ("3_c.up.sql", "CREATE TABLE c (x int);"),
        ("3_c.down.sql", "DROP TABLE c;"),
    ]);
    let migrator = Migrator::new(&dir).unwrap();
    let mut conn = connect(&db).await;
    migrator.run(&mut conn).await.unwrap();

    let dry = migrator
        .clone()
        .dry_run(true)
        .revert(&mut conn)
        .await
        .unwrap()
        .unwrap();
    assert!(dry.dry_run);
    assert!(
        table_exists(&mut conn, "c").await,
        "a dry run changes nothing"
    );

    let reverted = migrator.revert(&mut conn).await.unwrap().unwrap();
    assert_eq!(reverted.file, "3_c.down.sql");
    assert!(!table_exists(&mut conn, "c").await);
    assert_eq!(history(&mut conn).await, vec![1, 2]);

    let reverted = migrator.revert_to(&mut conn, 0).await.unwrap();
    let files: Vec<&str> = reverted.iter().map(|a| a.file.as_str()).collect();
    assert_eq!(files, ["2_b.down.sql", "1_a.down.sql"]);
    assert!(history(&mut conn).await.is_empty());
    assert!(!table_exists(&mut conn, "a").await);
    assert!(migrator.revert(&mut conn).await.unwrap().is_none());

    // Applied again after a revert, and a plain migration cannot be reverted: refused
    // before any down file runs.
    migrator.run(&mut conn).await.unwrap();
    std::fs::write(dir.join("4_plain.sql"), "CREATE TABLE plain (x int);").unwrap();
    let migrator = Migrator::new(&dir).unwrap();
    migrator.run(&mut conn).await.unwrap();
    let e = migrator.revert_to(&mut conn, 0).await.unwrap_err();
    assert!(e.to_string().contains("4_plain.sql"), "{e}");
    assert!(e.to_string().contains("no .down.sql"), "{e}");
    assert_eq!(history(&mut conn).await, vec![1, 2, 3, 4]);
}

#[tokio::test]
async fn dry_run_and_info_change_nothing() {
    let db = database("dry").await;
    let dir = folder(&[
        ("1_a.sql", "CREATE TABLE a (x int);"),
        ("2_b.sql", "CREATE TABLE b (x int);"),
    ]);
    let mut conn = connect(&db).await;
    let would = Migrator::new(&dir)
        .unwrap()
        .dry_run(true)
        .run(&mut conn)
        .await
        .unwrap();
    assert_eq!(would.len(), 2);
    assert!(!table_exists(&mut conn, "a").await);
    assert!(!table_exists(&mut conn, "_quarry_migrations").await);

    let info = Migrator::new(&dir).unwrap().info(&mut conn).await.unwrap();
    assert!(info.iter().all(|i| i.status == MigrationStatus::Pending));
    Migrator::new(&dir).unwrap().run(&mut conn).await.unwrap();

    // A file gone from the folder: reported missing, and a run refuses unless told.
    std::fs::remove_file(dir.join("2_b.sql")).unwrap();
    let info = Migrator::new(&dir).unwrap().info(&mut conn).await.unwrap();
    assert!(matches!(info[0].status, MigrationStatus::Applied { .. }));
    assert_eq!(info[1].status, MigrationStatus::Missing);
    assert_eq!(info[1].description, "b");
    let e = Migrator::new(&dir)
        .unwrap()
        .run(&mut conn)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("no file has that version"), "{e}");
    Migrator::new(&dir)
        .unwrap()
        .ignore_missing(true)
        .run(&mut conn)
        .await
        .unwrap();
}

#[tokio::test]
async fn the_lock_wait_is_bounded() {
    let db = database("lock").await;
    let dir = folder(&[("1_a.sql", "CREATE TABLE a (x int);")]);
    let mut holder = connect(&db).await;
    query("SELECT pg_advisory_lock($1)")
        .bind(quarry_driver::migrate::LOCK_KEY)
        .execute(&mut holder)
        .await
        .unwrap();
    let mut conn = connect(&db).await;
    query("SET lock_timeout = '7s'")
        .execute(&mut conn)
        .await
        .unwrap();
    let e = Migrator::new(&dir)
        .unwrap()
        .lock_timeout(Duration::from_millis(100))
        .run(&mut conn)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(e.to_string().contains("migration lock"), "{e}");
    assert!(!table_exists(&mut conn, "a").await);
    // The session's own lock_timeout is back.
    let setting: String = query_scalar("SHOW lock_timeout")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(setting, "7s");
    // Runs as soon as the holder lets go.
    query("SELECT pg_advisory_unlock($1)")
        .bind(quarry_driver::migrate::LOCK_KEY)
        .execute(&mut holder)
        .await
        .unwrap();
    Migrator::new(&dir).unwrap().run(&mut conn).await.unwrap();
}

#[tokio::test]
async fn inside_a_transaction_is_refused() {
    let db = database("intx").await;
    let dir = folder(&[("1_a.sql", "CREATE TABLE a (x int);")]);
    let mut conn = connect(&db).await;
    let mut tx = conn.begin().await.unwrap();
    let e = Migrator::new(&dir).unwrap().run(&mut tx).await.unwrap_err();
    assert!(e.to_string().contains("not inside a transaction"), "{e}");
}

/// sqlx's history table, as sqlx 0.7/0.8 create it for PostgreSQL.
const SQLX_TABLE: &str = "CREATE TABLE _sqlx_migrations (
    version BIGINT PRIMARY KEY,
    description TEXT NOT NULL,
    installed_on TIMESTAMPTZ NOT NULL DEFAULT now(),
    success BOOLEAN NOT NULL,
    checksum BYTEA NOT NULL,
    execution_time BIGINT NOT NULL
)";

/// Applies `files` as sqlx would have: runs them and records them in `_sqlx_migrations`.
async fn migrate_like_sqlx(conn: &mut Connection, files: &[(i64, &str, &str)]) {
    conn.batch_execute(SQLX_TABLE).await.unwrap();
    for (version, description, sql) in files {
        conn.batch_execute(sql).await.unwrap();
        query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES ($1, $2, true, $3, 1234567)",
        )
        .bind(*version)
        .bind(*description)
        .bind(Sha384::digest(sql.as_bytes()).as_slice())
        .execute(&mut *conn)
        .await
        .unwrap();
    }
}

#[tokio::test]
async fn a_sqlx_folder_and_history_are_adopted_without_rerunning() {
    let db = database("sqlx").await;
    let users = "-- Add migration script here\nCREATE TABLE users (id int8 PRIMARY KEY);\n";
    let posts = "CREATE TABLE posts (id int8 PRIMARY KEY, user_id int8 REFERENCES users);\n";
    let tags = "CREATE TABLE tags (name text);\n";
    // The layout `sqlx migrate add -r` makes: timestamps, reversible pairs.
    let dir = folder(&[
        ("20240101000000_create_users.up.sql", users),
        ("20240101000000_create_users.down.sql", "DROP TABLE users;"),
        ("20240102000000_create_posts.up.sql", posts),
        ("20240102000000_create_posts.down.sql", "DROP TABLE posts;"),
        ("20240103000000_tags.sql", tags),
    ]);
    let mut conn = connect(&db).await;
    migrate_like_sqlx(
        &mut conn,
        &[
            (20240101000000, "create users", users),
            (20240102000000, "create posts", posts),
        ],
    )
    .await;

    let migrator = Migrator::new(&dir).unwrap();
    let info = migrator.info(&mut conn).await.unwrap();
    assert!(
        matches!(info[0].status, MigrationStatus::Applied { .. }),
        "{info:?}"
    );
    assert!(
        matches!(info[1].status, MigrationStatus::Applied { .. }),
        "{info:?}"
    );
    assert_eq!(info[2].status, MigrationStatus::Pending);

    // Had 1 or 2 run again, their CREATE TABLE would fail.
    let applied = migrator.run(&mut conn).await.unwrap();
    let files: Vec<&str> = applied.iter().map(|a| a.file.as_str()).collect();
    assert_eq!(files, ["20240103000000_tags.sql"]);
    assert_eq!(
        history(&mut conn).await,
        vec![20240101000000, 20240102000000, 20240103000000]
    );
    let (description, ms): (String, i64) = quarry_driver::query_as(
        "SELECT description, execution_ms FROM _quarry_migrations WHERE version = 20240101000000",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!((description.as_str(), ms), ("create users", 1));
    // The adopted history is Quarry's from now on: revert works on it.
    let reverted = migrator.revert_to(&mut conn, 20240101000000).await;
    assert!(
        reverted
            .unwrap_err()
            .to_string()
            .contains("20240103000000_tags.sql")
    );
    conn.batch_execute(
        "DELETE FROM _quarry_migrations WHERE version = 20240103000000; DROP TABLE tags",
    )
    .await
    .unwrap();
    migrator.revert(&mut conn).await.unwrap();
    assert!(!table_exists(&mut conn, "posts").await);
}

#[tokio::test]
async fn a_sqlx_history_that_does_not_match_is_refused() {
    let db = database("sqlxbad").await;
    let mut conn = connect(&db).await;
    migrate_like_sqlx(&mut conn, &[(1, "a", "CREATE TABLE a (x int);")]).await;
    let dir = folder(&[("1_a.sql", "CREATE TABLE a (x int8);")]);
    let e = Migrator::new(&dir)
        .unwrap()
        .run(&mut conn)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("1_a.sql"), "{e}");
    assert!(e.to_string().contains("edited"), "{e}");
    assert!(!table_exists(&mut conn, "_quarry_migrations").await);

    // A migration sqlx left failed is refused too.
    conn.batch_execute(
        "UPDATE _sqlx_migrations SET success = false, checksum = sha384('CREATE TABLE a (x int8);')",
    )
    .await
    .unwrap();
    let e = Migrator::new(&dir)
        .unwrap()
        .run(&mut conn)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("success = false"), "{e}");
    let info = Migrator::new(&dir).unwrap().info(&mut conn).await.unwrap();
    assert_eq!(info[0].status, MigrationStatus::Failed);
}

#[tokio::test]
async fn a_bad_folder_is_a_clear_error() {
    let dir = folder(&[("1_a.sql", "SELECT 1"), ("create_users.sql", "SELECT 2")]);
    let e = Migrator::new(&dir).unwrap_err();
    assert!(e.to_string().contains("create_users.sql"), "{e}");
    let e = Migrator::new(dir.join("nope")).unwrap_err();
    assert!(
        e.to_string().contains("cannot read the migrations folder"),
        "{e}"
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
