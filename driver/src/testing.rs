//! What `#[quarry::test]` runs on: a fresh database per test.
//!
//! ```text
//!  server ─ DATABASE_URL if set, else one TempServer per test binary (started on first use)
//!    └─ quarry_tpl_<hash>   one template per distinct set of migrations + fixtures,
//!         │                 built once (race-free across threads and processes)
//!         └─ quarry_t_<pid>_<n>   one database per test: CREATE DATABASE ... TEMPLATE,
//!                                 dropped when the test ends, also when it panics
//! ```
//!
//! Copying a template is a file copy on the server, so a test pays a few
//! milliseconds for a database that already has its schema and fixtures.
//!
//! With `DATABASE_URL`, the role needs `CREATEDB`. Templates stay on that server
//! between runs (their name is a hash of the SQL they were built from, so a change
//! makes a new one); drop `quarry_tpl_*` databases to reclaim the space. Test
//! databases are dropped, unless the test process is killed.
//!
//! Most of this module is for the macro's generated code; [`TestDatabase`] and
//! [`TestArg`] are what a test sees.

use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use futures_util::FutureExt;
use sha2::{Digest, Sha256};

use crate::connection::Connection;
use crate::conninfo::ConnectOptions;
use crate::failure::{Error, Result};
use crate::migrating::Migrator;
use crate::querying::quote_identifier;
use crate::test_server::TempServer;

/// The environment variable naming a server to use instead of a [`TempServer`].
pub const DATABASE_URL: &str = "DATABASE_URL";

/// What a `#[quarry::test]` asked for. Built by the macro.
#[doc(hidden)]
#[derive(Debug)]
pub struct TestSpec {
    /// `module::path::test_name`, for messages.
    pub name: &'static str,
    /// An absolute directory whose `*.sql` files are applied in name order, first.
    pub migrations: Option<&'static str>,
    /// SQL files applied after the migrations, in order.
    pub fixtures: &'static [Fixture],
    /// The runtime the test body runs on.
    pub flavor: Flavor,
}

/// A fixture file, read at compile time.
#[doc(hidden)]
#[derive(Debug)]
pub struct Fixture {
    /// The name given in `fixtures(...)`, for messages.
    pub name: &'static str,
    /// The file's contents.
    pub sql: &'static str,
}

/// The tokio runtime a test runs on.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// One thread, like `#[tokio::test]` (the default).
    CurrentThread,
    /// A multi-threaded runtime (`flavor = "multi_thread"`).
    MultiThread {
        /// `worker_threads = N`; tokio's default when absent.
        worker_threads: Option<usize>,
    },
}

/// The database a test runs against: made for the test, dropped after it.
///
/// A test can take one as an argument to connect as often as it likes.
#[derive(Clone, Debug)]
pub struct TestDatabase {
    options: ConnectOptions,
    name: String,
}

impl TestDatabase {
    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Options that connect to the database.
    pub fn connect_options(&self) -> &ConnectOptions {
        &self.options
    }

    /// Opens a new connection to the database.
    pub async fn connect(&self) -> Result<Connection> {
        Connection::connect_with(&self.options).await
    }
}

/// A value a `#[quarry::test]` function can take as an argument, made for the test's
/// database: [`Connection`], [`Pool`](crate::Pool), [`ConnectOptions`], [`TestDatabase`].
#[diagnostic::on_unimplemented(
    message = "#[quarry::test] cannot pass a `{Self}` to the test",
    label = "not a test argument",
    note = "a test can take a quarry::Connection, quarry::Pool, quarry::ConnectOptions or quarry::testing::TestDatabase"
)]
pub trait TestArg: Sized {
    /// Makes the value for the test's database.
    fn create(db: &TestDatabase) -> impl Future<Output = Result<Self>>;
}

impl TestArg for Connection {
    async fn create(db: &TestDatabase) -> Result<Connection> {
        db.connect().await
    }
}

impl TestArg for crate::Pool {
    async fn create(db: &TestDatabase) -> Result<crate::Pool> {
        crate::PoolOptions::new()
            .max_connections(5)
            .connect_with(db.options.clone())
            .await
    }
}

impl TestArg for ConnectOptions {
    async fn create(db: &TestDatabase) -> Result<ConnectOptions> {
        Ok(db.options.clone())
    }
}

impl TestArg for TestDatabase {
    async fn create(db: &TestDatabase) -> Result<TestDatabase> {
        Ok(db.clone())
    }
}

/// Makes a test argument or fails the test saying why.
#[doc(hidden)]
pub async fn arg<T: TestArg>(db: &TestDatabase) -> T {
    match T::create(db).await {
        Ok(v) => v,
        Err(e) => panic!(
            "#[quarry::test]: could not make the {} argument for database {}: {}",
            crate::types::short_type_name::<T>(),
            db.name,
            e.display_chain()
        ),
    }
}

/// Runs a test body against a fresh database. Called by `#[quarry::test]`.
///
/// Panics (failing the test) when the server, template or database cannot be made.
#[doc(hidden)]
pub fn run<F, Fut>(spec: &TestSpec, body: F) -> Fut::Output
where
    F: FnOnce(TestDatabase) -> Fut,
    Fut: Future,
{
    let fail = |e: String| -> ! { panic!("#[quarry::test] {}: {e}", spec.name) };
    let server = server().unwrap_or_else(|e| fail(e));
    let template = template(server, spec).unwrap_or_else(|e| fail(e));
    let runtime = runtime(spec.flavor).unwrap_or_else(|e| fail(e));
    runtime.block_on(async {
        let mut admin = Connection::connect_with(&server.options)
            .await
            .unwrap_or_else(|e| {
                fail(format!(
                    "cannot connect to the test server: {}",
                    e.display_chain()
                ))
            });
        let name = format!(
            "quarry_t_{}_{}_{}",
            std::process::id(),
            process_tag(),
            NEXT_DB.fetch_add(1, Ordering::Relaxed)
        );
        create_database(&mut admin, &name, Some(&template))
            .await
            .unwrap_or_else(|e| {
                fail(format!(
                    "cannot create the test database: {}",
                    e.display_chain()
                ))
            });
        let db = TestDatabase {
            options: server.options.clone().dbname(name.clone()),
            name: name.clone(),
        };
        // Drop the database whether the body returns or panics.
        let outcome = AssertUnwindSafe(body(db)).catch_unwind().await;
        if let Err(e) = drop_database(&mut admin, &name).await {
            eprintln!(
                "#[quarry::test] {}: could not drop database {name}: {}",
                spec.name,
                e.display_chain()
            );
        }
        let _ = admin.close().await;
        match outcome {
            Ok(v) => v,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

static NEXT_DB: AtomicU64 = AtomicU64::new(1);

/// A random tag for this process, so that processes on different machines sharing one
/// `DATABASE_URL` server (with possibly equal PIDs) never pick the same database name.
fn process_tag() -> &'static str {
    static TAG: OnceLock<String> = OnceLock::new();
    TAG.get_or_init(|| {
        let mut bytes = [0u8; 4];
        // Without randomness the PID and counter still make names unique on one machine.
        let _ = getrandom::getrandom(&mut bytes);
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    })
}

// --- The server ------------------------------------------------------------------------

/// The server tests run on, with options that connect as a role that may create databases.
struct Server {
    options: ConnectOptions,
}

fn server() -> std::result::Result<&'static Server, String> {
    static SERVER: OnceLock<std::result::Result<Server, String>> = OnceLock::new();
    SERVER
        .get_or_init(|| {
            if let Ok(url) = std::env::var(DATABASE_URL) {
                let options = ConnectOptions::parse(&url).map_err(|e| {
                    format!(
                        "{DATABASE_URL} is not a valid connection string: {}",
                        e.display_chain()
                    )
                })?;
                return Ok(Server { options });
            }
            let temp = temp_server()?;
            let options = ConnectOptions::parse(&temp.url())
                .map_err(|e| format!("TempServer gave an invalid URL: {}", e.display_chain()))?;
            Ok(Server { options })
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// The test binary's own server: started on first use, removed when the process exits
/// (by TempServer's reaper, as statics are not dropped).
fn temp_server() -> std::result::Result<&'static TempServer, String> {
    static TEMP: OnceLock<std::result::Result<TempServer, String>> = OnceLock::new();
    TEMP.get_or_init(|| {
        TempServer::start().map_err(|e| {
            format!(
                "cannot start a TempServer ({}); set {DATABASE_URL} to use a running server",
                e.display_chain()
            )
        })
    })
    .as_ref()
    .map_err(Clone::clone)
}

fn runtime(flavor: Flavor) -> std::result::Result<tokio::runtime::Runtime, String> {
    let mut builder = match flavor {
        Flavor::CurrentThread => tokio::runtime::Builder::new_current_thread(),
        Flavor::MultiThread { worker_threads } => {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            if let Some(n) = worker_threads {
                b.worker_threads(n);
            }
            b
        }
    };
    builder
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a tokio runtime: {e}"))
}

// --- Templates -------------------------------------------------------------------------

/// One SQL script to apply to a template (or, for a migration, to hash into its name).
struct Script {
    origin: String,
    sql: String,
}

/// What a template is built from: the migrations (applied by the same [`Migrator`] an
/// application runs), then the fixtures. `scripts` holds both, for the template's name.
struct Plan {
    migrator: Option<Migrator>,
    fixtures: Vec<Script>,
    scripts: Vec<Script>,
}

/// The plan of `spec`: its migrations in version order, then fixtures in the order given.
fn plan(spec: &TestSpec) -> std::result::Result<Plan, String> {
    let mut scripts = Vec::new();
    let migrator = match spec.migrations {
        Some(dir) => {
            let migrator = Migrator::new(dir).map_err(|e| e.display_chain().to_string())?;
            for m in migrator.migrations() {
                let mut sql = m.sql().to_owned();
                if let Some((down, down_sql)) = m.down() {
                    sql.push_str(down);
                    sql.push_str(down_sql);
                }
                scripts.push(Script {
                    origin: format!("migration {}", m.file()),
                    sql,
                });
            }
            Some(migrator)
        }
        None => None,
    };
    let fixtures: Vec<Script> = spec
        .fixtures
        .iter()
        .map(|f| Script {
            origin: format!("fixture {}", f.name),
            sql: f.sql.to_owned(),
        })
        .collect();
    scripts.extend(fixtures.iter().map(|f| Script {
        origin: f.origin.clone(),
        sql: f.sql.clone(),
    }));
    Ok(Plan {
        migrator,
        fixtures,
        scripts,
    })
}

/// The template's name: a hash of every script's origin and text.
fn template_name(scripts: &[Script]) -> String {
    let mut hash = Sha256::new();
    for s in scripts {
        // Lengths first, so that moving text between scripts changes the hash.
        hash.update((s.origin.len() as u64).to_be_bytes());
        hash.update(s.origin.as_bytes());
        hash.update((s.sql.len() as u64).to_be_bytes());
        hash.update(s.sql.as_bytes());
    }
    let digest = hash.finalize();
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("quarry_tpl_{hex}")
}

/// The template database for `spec`, built on first use.
fn template(server: &Server, spec: &TestSpec) -> std::result::Result<String, String> {
    type Cell = Arc<OnceLock<std::result::Result<String, String>>>;
    static TEMPLATES: OnceLock<Mutex<HashMap<String, Cell>>> = OnceLock::new();
    let plan = plan(spec)?;
    let name = template_name(&plan.scripts);
    let cell = {
        let mut map = TEMPLATES
            .get_or_init(Default::default)
            .lock()
            // A panic while holding this lock leaves the map itself intact.
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.entry(name.clone()).or_default().clone()
    };
    // Other threads wanting the same template wait here until it is built.
    cell.get_or_init(|| {
        let runtime = runtime(Flavor::CurrentThread)?;
        runtime
            .block_on(build_template(server, &name, &plan))
            .map(|()| name.clone())
            .map_err(|e| {
                format!(
                    "cannot build the template database {name}: {}",
                    e.display_chain()
                )
            })
    })
    .clone()
}

/// Builds template `name` unless it exists. An advisory lock makes concurrent test
/// processes on one server wait for each other; the template appears under its name
/// only when complete (built under another name, then renamed).
async fn build_template(server: &Server, name: &str, plan: &Plan) -> Result<()> {
    let mut admin = Connection::connect_with(&server.options).await?;
    let lock_key = i64::from_be_bytes(
        Sha256::digest(name.as_bytes())[..8]
            .try_into()
            .expect("a SHA-256 digest has at least 8 bytes"),
    );
    crate::querying::query("SELECT pg_catalog.pg_advisory_lock($1)")
        .bind(lock_key)
        .execute(&mut admin)
        .await?;
    let exists = database_exists(&mut admin, name).await?;
    if !exists {
        let building = format!("{name}_build");
        drop_database(&mut admin, &building).await?;
        create_database(&mut admin, &building, None).await?;
        let filled = fill(server, &building, plan).await;
        if let Err(e) = filled {
            // Leave nothing half-built behind (the next attempt would drop it anyway).
            let _ = drop_database(&mut admin, &building).await;
            return Err(e);
        }
        rename_database(&mut admin, &building, name).await?;
    }
    let _ = admin.close().await;
    Ok(())
}

/// Applies the migrations, then the fixtures, to database `name`.
async fn fill(server: &Server, name: &str, plan: &Plan) -> Result<()> {
    let mut conn = Connection::connect_with(&server.options.clone().dbname(name)).await?;
    if let Some(migrator) = &plan.migrator {
        migrator.run(&mut conn).await?;
    }
    for script in &plan.fixtures {
        conn.batch_execute(&script.sql)
            .await
            .map_err(|e| e.context(format!("in {}", script.origin)))?;
    }
    conn.close().await
}

async fn database_exists(admin: &mut Connection, name: &str) -> Result<bool> {
    let row = crate::querying::query("SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1")
        .bind(name)
        .fetch_optional(admin)
        .await?;
    Ok(row.is_some())
}

// --- Database DDL ----------------------------------------------------------------------

/// How long to keep retrying DDL that waits for a closed session to go away.
const BUSY_RETRY_FOR: Duration = Duration::from_secs(10);

/// Runs `sql`, retrying while another session still uses the database
/// (a backend finishes exiting shortly after its client closed the connection).
async fn run_ddl(admin: &mut Connection, sql: &str) -> Result<()> {
    let start = std::time::Instant::now();
    let mut pause = Duration::from_millis(5);
    loop {
        match admin.batch_execute(sql).await {
            Err(e) if is_busy(&e) && start.elapsed() < BUSY_RETRY_FOR => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(200));
            }
            other => return other,
        }
    }
}

/// "database is being accessed by other users" (SQLSTATE 55006, object_in_use).
fn is_busy(e: &Error) -> bool {
    e.code() == Some(&crate::failure::SqlState::ObjectInUse)
}

async fn create_database(admin: &mut Connection, name: &str, template: Option<&str>) -> Result<()> {
    let mut sql = format!("CREATE DATABASE {}", quote_identifier(name));
    if let Some(t) = template {
        sql.push_str(" TEMPLATE ");
        sql.push_str(&quote_identifier(t));
    }
    run_ddl(admin, &sql).await
}

async fn drop_database(admin: &mut Connection, name: &str) -> Result<()> {
    let quoted = quote_identifier(name);
    if admin.server_version().major() >= 13 {
        run_ddl(
            admin,
            &format!("DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"),
        )
        .await
    } else {
        crate::querying::query(
            "SELECT pg_catalog.pg_terminate_backend(pid) FROM pg_catalog.pg_stat_activity \
             WHERE datname = $1 AND pid <> pg_catalog.pg_backend_pid()",
        )
        .bind(name)
        .execute(&mut *admin)
        .await?;
        run_ddl(admin, &format!("DROP DATABASE IF EXISTS {quoted}")).await
    }
}

async fn rename_database(admin: &mut Connection, from: &str, to: &str) -> Result<()> {
    run_ddl(
        admin,
        &format!(
            "ALTER DATABASE {} RENAME TO {}",
            quote_identifier(from),
            quote_identifier(to)
        ),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script(origin: &str, sql: &str) -> Script {
        Script {
            origin: origin.into(),
            sql: sql.into(),
        }
    }

    #[test]
    fn template_names_follow_the_sql() {
        let a = template_name(&[script("fixture a.sql", "CREATE TABLE t ()")]);
        let b = template_name(&[script("fixture a.sql", "CREATE TABLE u ()")]);
        let moved = template_name(&[
            script("fixture a.sql", "CREATE TABLE t ("),
            script("x", ")"),
        ]);
        assert_ne!(a, b);
        assert_ne!(a, moved);
        assert_eq!(
            a,
            template_name(&[script("fixture a.sql", "CREATE TABLE t ()")])
        );
        assert!(a.starts_with("quarry_tpl_") && a.len() == "quarry_tpl_".len() + 16);
    }

    #[test]
    fn migrations_are_read_by_the_migrator() {
        let dir = std::env::temp_dir().join(format!("quarry-migrations-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for name in ["002_b.sql", "001_a.sql", "notes.txt", "010_c.sql"] {
            std::fs::write(dir.join(name), "").unwrap();
        }
        let dir_str: &'static str = Box::leak(dir.to_string_lossy().into_owned().into_boxed_str());
        let spec = TestSpec {
            name: "t",
            migrations: Some(dir_str),
            fixtures: &[],
            flavor: Flavor::CurrentThread,
        };
        let names: Vec<String> = plan(&spec)
            .unwrap()
            .scripts
            .into_iter()
            .map(|s| s.origin)
            .collect();
        assert_eq!(
            names,
            [
                "migration 001_a.sql",
                "migration 002_b.sql",
                "migration 010_c.sql"
            ]
        );
        std::fs::remove_dir_all(&dir).unwrap();
        let e = plan(&spec).err().unwrap();
        assert!(e.contains("cannot read the migrations folder"), "{e}");
    }
}
