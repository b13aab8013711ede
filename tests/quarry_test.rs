//! `#[quarry::test]` itself: fixtures, migrations, a fresh database per test, dropped after.

use quarry::testing::{self, Fixture, Flavor, TestDatabase, TestSpec};
use quarry::{ConnectOptions, Connection, query, query_scalar};

async fn user_names(conn: &mut Connection) -> Vec<String> {
    query_scalar("SELECT name FROM users ORDER BY id")
        .fetch_all(conn)
        .await
        .unwrap()
}

#[quarry::test(fixtures("users.sql"))]
async fn fixtures_are_applied(mut conn: Connection) {
    assert_eq!(user_names(&mut conn).await, ["ada", "brian"]);
}

#[quarry::test(fixtures("users", "sql/extra.sql"))]
async fn fixtures_apply_in_order_and_resolve_beside_the_test_file(mut conn: Connection) {
    // "users" is tests/fixtures/users.sql; "sql/extra.sql" is relative to this file.
    assert_eq!(user_names(&mut conn).await, ["ada", "brian", "carol"]);
}

#[quarry::test(migrations = "tests/migrations")]
async fn migrations_apply_in_name_order(mut conn: Connection) {
    let balance: i64 = query_scalar("SELECT balance FROM accounts WHERE id = 1")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(balance, 100);
}

/// `migrations = "dir"` goes through the `Migrator` an application runs: the test
/// database has its history, so `migrate!` (the same files, embedded) finds nothing to do.
#[quarry::test(migrations = "tests/migrations")]
async fn migrations_are_applied_by_the_migrator(mut conn: Connection) {
    let versions: Vec<i64> = query_scalar("SELECT version FROM _quarry_migrations ORDER BY 1")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    assert_eq!(versions, [1, 2]);
    let embedded = quarry::migrate!("tests/migrations");
    assert!(embedded.run(&mut conn).await.unwrap().is_empty());
}

/// `migrate!` embeds the folder: the same migrations, in version order, as reading it at
/// run time, and they apply to an empty database.
#[quarry::test]
async fn migrate_macro_embeds_the_folder(mut conn: Connection) {
    let embedded = quarry::migrate!("tests/migrations");
    let read =
        quarry::migrate::Migrator::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/migrations"))
            .unwrap();
    let files = |m: &quarry::migrate::Migrator| -> Vec<(String, Vec<u8>)> {
        m.migrations()
            .iter()
            .map(|m| (m.file().to_owned(), m.checksum().to_vec()))
            .collect()
    };
    assert_eq!(files(&embedded), files(&read));
    assert_eq!(files(&embedded)[0].0, "001_accounts.sql");
    let applied = embedded.run(&mut conn).await.unwrap();
    assert_eq!(applied.len(), 2);
    let balance: i64 = query_scalar("SELECT balance FROM accounts WHERE id = 1")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(balance, 100);
}

#[quarry::test(migrations = "tests/migrations", fixtures("users.sql"))]
async fn migrations_and_fixtures_combine(mut conn: Connection) {
    let n: i64 =
        query_scalar("SELECT (SELECT count(*) FROM accounts) + (SELECT count(*) FROM users)")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(n, 3);
}

// The next two write the same table at the same time (tests run in parallel threads);
// each sees only its own row.
#[quarry::test(fixtures("users.sql"))]
async fn writes_stay_in_their_test_a(mut conn: Connection) {
    query("INSERT INTO users VALUES (10, 'a', NULL)")
        .execute(&mut conn)
        .await
        .unwrap();
    assert_eq!(user_names(&mut conn).await, ["ada", "brian", "a"]);
}

#[quarry::test(fixtures("users.sql"))]
async fn writes_stay_in_their_test_b(mut conn: Connection) {
    query("INSERT INTO users VALUES (10, 'b', NULL)")
        .execute(&mut conn)
        .await
        .unwrap();
    assert_eq!(user_names(&mut conn).await, ["ada", "brian", "b"]);
}

#[quarry::test]
async fn takes_no_arguments() {}

#[quarry::test]
async fn takes_options_and_the_database(options: ConnectOptions, db: TestDatabase) {
    assert_eq!(options.get_dbname(), Some(db.name()));
    let mut conn = Connection::connect_with(&options).await.unwrap();
    let current: String = query_scalar("SELECT current_database()::text")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(current, db.name());
}

#[quarry::test]
async fn returns_a_result(mut conn: Connection) -> quarry::Result<()> {
    let one: i32 = query_scalar("SELECT 1").fetch_one(&mut conn).await?;
    assert_eq!(one, 1);
    Ok(())
}

#[quarry::test]
#[should_panic(expected = "the body's own panic")]
async fn a_panic_in_the_body_fails_the_test(_conn: Connection) {
    panic!("the body's own panic");
}

#[quarry::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_on_a_multi_thread_runtime() {
    assert_eq!(
        tokio::runtime::Handle::current().runtime_flavor(),
        tokio::runtime::RuntimeFlavor::MultiThread
    );
}

#[quarry::test]
async fn runs_on_a_current_thread_runtime_by_default() {
    assert_eq!(
        tokio::runtime::Handle::current().runtime_flavor(),
        tokio::runtime::RuntimeFlavor::CurrentThread
    );
}

// --- What the macro calls, driven directly ------------------------------------------

static USERS: TestSpec = TestSpec {
    name: "quarry_test::direct",
    migrations: None,
    fixtures: &[Fixture {
        name: "users.sql",
        sql: include_str!("fixtures/users.sql"),
    }],
    flavor: Flavor::CurrentThread,
};

async fn database_count(db: &TestDatabase, name: &str) -> i64 {
    let mut conn = db.connect().await.unwrap();
    query_scalar("SELECT count(*) FROM pg_database WHERE datname = $1")
        .bind(name)
        .fetch_one(&mut conn)
        .await
        .unwrap()
}

#[test]
fn each_run_gets_a_new_database_that_is_dropped_afterwards() {
    let first = testing::run(&USERS, |db| async move {
        let mut conn = db.connect().await.unwrap();
        query("INSERT INTO users VALUES (3, 'first run', NULL)")
            .execute(&mut conn)
            .await
            .unwrap();
        assert_eq!(database_count(&db, db.name()).await, 1);
        db.name().to_owned()
    });
    testing::run(&USERS, |db| async move {
        assert_ne!(db.name(), first);
        // The first run's database is gone, and its row never reached the template.
        assert_eq!(database_count(&db, &first).await, 0);
        let mut conn = db.connect().await.unwrap();
        assert_eq!(user_names(&mut conn).await, ["ada", "brian"]);
    });
}

#[test]
fn the_database_is_dropped_when_the_body_panics() {
    let name = std::sync::Mutex::new(String::new());
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let name = &name;
        testing::run(&USERS, |db| async move {
            // The open connection does not keep the database alive: it is dropped with FORCE.
            let _conn = db.connect().await.unwrap();
            *name.lock().unwrap() = db.name().to_owned();
            panic!("on purpose");
        })
    }));
    assert!(panicked.is_err());
    let name = name.into_inner().unwrap();
    assert!(name.starts_with("quarry_t_"), "{name}");
    testing::run(&USERS, |db| async move {
        assert_eq!(database_count(&db, &name).await, 0);
    });
}

static BROKEN: TestSpec = TestSpec {
    name: "quarry_test::broken",
    migrations: None,
    fixtures: &[Fixture {
        name: "broken.sql",
        sql: "CREATE TABLE ok (id int); CREATE TABLE broken (;",
    }],
    flavor: Flavor::CurrentThread,
};

#[test]
fn a_failing_fixture_fails_the_test_naming_the_file() {
    let panicked = std::panic::catch_unwind(|| testing::run(&BROKEN, |_db| async {}))
        .expect_err("a broken fixture must fail the test");
    let message = panicked
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(message.contains("in fixture broken.sql"), "{message}");
    assert!(message.contains("syntax error"), "{message}");
    // Nothing half-built is left behind.
    testing::run(&USERS, |db| async move {
        let mut conn = db.connect().await.unwrap();
        let left: i64 = query_scalar(
            "SELECT count(*) FROM pg_database WHERE datname LIKE 'quarry_tpl_%_build'",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap();
        assert_eq!(left, 0);
    });
}

// --- DATABASE_URL -----------------------------------------------------------------------

/// Set in the child process of `uses_the_server_in_database_url`.
const CHILD: &str = "QUARRY_TEST_DATABASE_URL_CHILD";

/// Runs only as the child of `uses_the_server_in_database_url` (the environment cannot be
/// changed inside this process: `set_var` is unsafe). Elsewhere it has nothing to check.
#[test]
fn database_url_child() {
    let Ok(expected_port) = std::env::var(CHILD) else {
        return;
    };
    testing::run(&USERS, |db| async move {
        assert_eq!(
            db.connect_options().get_ports(),
            [Some(expected_port.parse::<u16>().unwrap())]
        );
        let mut conn = db.connect().await.unwrap();
        assert_eq!(user_names(&mut conn).await, ["ada", "brian"]);
    });
}

#[test]
fn uses_the_server_in_database_url() {
    let server = quarry::TempServer::start().unwrap();
    let child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "database_url_child", "--test-threads=1"])
        .env("DATABASE_URL", server.url())
        .env(CHILD, server.port().to_string())
        .output()
        .unwrap();
    assert!(
        child.status.success(),
        "the child test failed: {}\n{}\n{}",
        child.status,
        String::from_utf8_lossy(&child.stdout),
        String::from_utf8_lossy(&child.stderr)
    );
    // The child built its template on that server and dropped its test database.
    let out = server
        .run_sql(
            "SELECT (SELECT count(*) FROM pg_database WHERE datname LIKE 'quarry\\_tpl\\_%') \
             || ' ' || (SELECT count(*) FROM pg_database WHERE datname LIKE 'quarry\\_t\\_%')",
        )
        .unwrap();
    assert_eq!(out.trim(), "1 0");
}

#[quarry::test(fixtures("users.sql"))]
async fn takes_a_pool_and_pooled_transactions_roll_back_when_dropped(pool: quarry::Pool) {
    {
        let mut tx = pool.begin().await.unwrap();
        quarry::query("INSERT INTO users (id, name) VALUES (100, 'ghost')")
            .execute(&mut tx)
            .await
            .unwrap();
        // Dropped without commit: rolled back before the connection is reused.
    }
    let mut tx = pool.begin().await.unwrap();
    quarry::query("INSERT INTO users (id, name) VALUES (101, 'kept')")
        .execute(&mut tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let names: Vec<String> = quarry::query_scalar("SELECT name FROM users ORDER BY name")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert!(names.contains(&"kept".to_owned()), "{names:?}");
    assert!(!names.contains(&"ghost".to_owned()), "{names:?}");
    // Every connection is accounted for: the dropped transaction's came back. (An open
    // started for the second `begin` may still be finishing in the background.)
    let status = pool.status();
    assert_eq!(
        status.idle + status.in_use + status.opening,
        status.size,
        "{status:?}"
    );
}
