//! The migration runner: files `<version>_<description>.sql` (or `.up.sql`/`.down.sql`
//! pairs) applied in version order, each once, under a session advisory lock, with a
//! SHA-384 checksum per applied file. The guide is the public `migrate` module.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha384};

use crate::connection::Connection;
use crate::executor::Executor;
use crate::failure::{Error, ErrorKind, Result, SqlState};
use crate::protocol::TransactionStatus;
use crate::querying::{AssertSqlSafe, query, query_scalar};

/// The history table Quarry keeps, in the connection's current schema.
pub const MIGRATIONS_TABLE: &str = "_quarry_migrations";

/// The history table sqlx keeps; adopted (copied, after checking) on Quarry's first run.
pub const SQLX_MIGRATIONS_TABLE: &str = "_sqlx_migrations";

/// How long [`Migrator::run`] and [`Migrator::revert`] wait for another process's
/// migration lock before giving up.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(60);

/// The session advisory lock key (`pg_advisory_lock`): "quarry" in ASCII. Advisory locks
/// belong to one database, so the key needs no database name in it.
pub const LOCK_KEY: i64 = 0x7175_6172_7279;

/// The first-line markers that make a migration run outside a transaction.
const NO_TX_MARKERS: [&str; 2] = ["-- quarry:no-transaction", "-- no-transaction"];

/// One migration: an SQL file, and its `.down.sql` when it is reversible.
#[derive(Clone)]
pub struct Migration {
    version: i64,
    description: String,
    file: String,
    sql: Cow<'static, str>,
    down: Option<(String, Cow<'static, str>)>,
    no_transaction: bool,
    checksum: Vec<u8>,
}

impl fmt::Debug for Migration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Migration")
            .field("version", &self.version)
            .field("file", &self.file)
            .field("no_transaction", &self.no_transaction)
            .field("reversible", &self.down.is_some())
            .finish()
    }
}

impl Migration {
    /// The version: the number the file name starts with.
    pub fn version(&self) -> i64 {
        self.version
    }

    /// The description: the rest of the file name, `_` read as a space (as sqlx does).
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The file name, such as `0002_add_email.sql` or `0002_add_email.up.sql`.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The SQL that applies the migration.
    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// The `.down.sql` file's name and SQL, for a reversible migration.
    pub fn down(&self) -> Option<(&str, &str)> {
        self.down.as_ref().map(|(f, s)| (f.as_str(), &**s))
    }

    /// Whether the file opts out of the transaction (its first line is
    /// `-- quarry:no-transaction` or sqlx's `-- no-transaction`).
    pub fn no_transaction(&self) -> bool {
        self.no_transaction
    }

    /// The SHA-384 of the SQL text (the same checksum sqlx records).
    pub fn checksum(&self) -> &[u8] {
        &self.checksum
    }
}

/// What happened to one migration during [`Migrator::run`] or [`Migrator::revert`]
/// (or, in a dry run, what would).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Applied {
    /// The version.
    pub version: i64,
    /// The description.
    pub description: String,
    /// The file that ran (the `.down.sql` for a revert).
    pub file: String,
    /// How long it took (zero in a dry run).
    pub elapsed: Duration,
    /// Whether this was a dry run (nothing ran).
    pub dry_run: bool,
}

/// The state of one migration, as [`Migrator::info`] reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MigrationStatus {
    /// Applied, and the file is unchanged since.
    Applied {
        /// When it was applied (the server's text for a `timestamptz`).
        installed_on: String,
    },
    /// Not applied yet.
    Pending,
    /// Applied, but the file has changed since: [`Migrator::run`] refuses to go on.
    Changed {
        /// The checksum recorded when it was applied.
        applied: Vec<u8>,
        /// The checksum of the file now.
        file: Vec<u8>,
    },
    /// Applied, but no file has its version.
    Missing,
    /// Recorded as failed (`success = false`) in a `_sqlx_migrations` history not adopted
    /// yet: sqlx left it half-applied, and [`Migrator::run`] refuses to go on.
    Failed,
}

/// One line of [`Migrator::info`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct MigrationInfo {
    /// The version.
    pub version: i64,
    /// The description (the file's, or the recorded one for a missing file).
    pub description: String,
    /// The file name, when there is a file.
    pub file: Option<String>,
    /// Applied, pending, changed or missing.
    pub status: MigrationStatus,
}

type Progress = Arc<dyn Fn(&Applied) + Send + Sync>;

/// Applies migrations: the files of a folder, read at run time ([`Migrator::new`]) or
/// embedded at compile time (`quarry::migrate!`).
#[derive(Clone)]
pub struct Migrator {
    migrations: Vec<Migration>,
    /// A folder that could not be read into migrations; every operation reports it.
    load_error: Option<String>,
    lock_timeout: Duration,
    dry_run: bool,
    ignore_missing: bool,
    progress: Option<Progress>,
}

impl fmt::Debug for Migrator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Migrator")
            .field("migrations", &self.migrations)
            .field("lock_timeout", &self.lock_timeout)
            .field("dry_run", &self.dry_run)
            .field("ignore_missing", &self.ignore_missing)
            .finish()
    }
}

impl Migrator {
    /// Reads the migrations of folder `dir`: every `*.sql` file in it (not its
    /// subfolders), named `<version>_<description>.sql`, or `.up.sql` and `.down.sql`
    /// for a reversible one. Other files are ignored.
    pub fn new(dir: impl AsRef<Path>) -> Result<Migrator> {
        let dir = dir.as_ref();
        let cannot = |e: std::io::Error| {
            Error::new(
                ErrorKind::Config,
                format!("cannot read the migrations folder {}", dir.display()),
            )
            .with_source(e)
        };
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(cannot)? {
            let entry = entry.map_err(cannot)?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else {
                continue;
            };
            if !name.ends_with(".sql") || !entry.file_type().map_err(cannot)?.is_file() {
                continue;
            }
            let sql = std::fs::read_to_string(entry.path()).map_err(|e| {
                Error::new(
                    ErrorKind::Config,
                    format!("cannot read migration {}", entry.path().display()),
                )
                .with_source(e)
            })?;
            files.push((name.to_owned(), Cow::Owned(sql)));
        }
        Migrator::from_files(files).map_err(|m| Error::config(format!("{}: {m}", dir.display())))
    }

    /// The migrations `quarry::migrate!` embedded: (file name, SQL) pairs. Not an API.
    #[doc(hidden)]
    pub fn __embedded(files: &[(&'static str, &'static str)]) -> Migrator {
        let files = files
            .iter()
            .map(|(name, sql)| ((*name).to_owned(), Cow::Borrowed(*sql)));
        match Migrator::from_files(files) {
            Ok(m) => m,
            Err(message) => Migrator {
                load_error: Some(message),
                ..Migrator::with(Vec::new())
            },
        }
    }

    fn with(migrations: Vec<Migration>) -> Migrator {
        Migrator {
            migrations,
            load_error: None,
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
            dry_run: false,
            ignore_missing: false,
            progress: None,
        }
    }

    fn from_files(
        files: impl IntoIterator<Item = (String, Cow<'static, str>)>,
    ) -> std::result::Result<Migrator, String> {
        let mut ups: BTreeMap<i64, Migration> = BTreeMap::new();
        let mut downs: BTreeMap<i64, (String, Cow<'static, str>)> = BTreeMap::new();
        for (file, sql) in files {
            let (version, description, is_down) = parse_file_name(&file)?;
            if is_down {
                if let Some((other, _)) = downs.get(&version) {
                    return Err(format!("{file} and {other} both revert version {version}"));
                }
                downs.insert(version, (file, sql));
                continue;
            }
            if let Some(other) = ups.get(&version) {
                return Err(format!(
                    "{file} and {} both have version {version}; each version must be unique",
                    other.file
                ));
            }
            ups.insert(
                version,
                Migration {
                    version,
                    description,
                    no_transaction: has_no_tx_marker(&sql),
                    checksum: Sha384::digest(sql.as_bytes()).to_vec(),
                    file,
                    sql,
                    down: None,
                },
            );
        }
        for (version, down) in downs {
            match ups.get_mut(&version) {
                Some(up) => up.down = Some(down),
                None => {
                    return Err(format!(
                        "{} reverts version {version}, but no .up.sql file has that version",
                        down.0
                    ));
                }
            }
        }
        Ok(Migrator::with(ups.into_values().collect()))
    }

    /// The migrations, in version order.
    pub fn migrations(&self) -> &[Migration] {
        &self.migrations
    }

    /// How long to wait for the migration lock another process holds (default
    /// [`DEFAULT_LOCK_TIMEOUT`]); then the run fails with [`ErrorKind::Timeout`].
    pub fn lock_timeout(mut self, timeout: Duration) -> Migrator {
        self.lock_timeout = timeout;
        self
    }

    /// Reports what [`run`](Migrator::run) and [`revert`](Migrator::revert) would do,
    /// after the same checks, without changing the database.
    pub fn dry_run(mut self, dry_run: bool) -> Migrator {
        self.dry_run = dry_run;
        self
    }

    /// Goes on when the database has applied migrations that no file has (by default a
    /// run refuses: the files are probably from an older build).
    pub fn ignore_missing(mut self, ignore: bool) -> Migrator {
        self.ignore_missing = ignore;
        self
    }

    /// Calls `f` after each migration applied or reverted (the CLI prints a line).
    pub fn on_progress(mut self, f: impl Fn(&Applied) + Send + Sync + 'static) -> Migrator {
        self.progress = Some(Arc::new(f));
        self
    }

    fn loaded(&self) -> Result<()> {
        match &self.load_error {
            Some(m) => Err(Error::config(m.clone())),
            None => Ok(()),
        }
    }

    /// Applies the pending migrations in version order and returns them.
    ///
    /// Runs on one connection (`&Pool` lends one for the run) under a session advisory
    /// lock, so that instances starting together apply each migration once. Before
    /// anything runs, every applied migration's checksum is compared with its file: an
    /// edited file stops the run. Each migration runs in a transaction of its own
    /// together with its history row, unless the file opts out.
    pub async fn run<'c>(&self, executor: impl Executor<'c>) -> Result<Vec<Applied>> {
        self.loaded()?;
        let mut conn = executor.acquire().await?;
        let conn: &mut Connection = &mut conn;
        let table = Table::of(conn).await?;
        let _held = if self.dry_run {
            None
        } else {
            Some(lock(conn, self.lock_timeout).await?)
        };
        let result = self.run_locked(conn, &table).await;
        unlock(conn, _held, result).await
    }

    async fn run_locked(&self, conn: &mut Connection, table: &Table) -> Result<Vec<Applied>> {
        let history = table.history(conn).await?;
        self.check(&history)?;
        if !self.dry_run {
            table.ensure(conn, &history, &self.migrations).await?;
        }
        let mut done = Vec::new();
        for m in &self.migrations {
            if history.rows.iter().any(|r| r.version == m.version) {
                continue;
            }
            done.push(self.step(conn, table, m, Direction::Up).await?);
        }
        Ok(done)
    }

    /// Reverts the latest applied migration with its `.down.sql`; `None` when nothing
    /// is applied.
    pub async fn revert<'c>(&self, executor: impl Executor<'c>) -> Result<Option<Applied>> {
        self.revert_inner(executor, None).await.map(|mut v| v.pop())
    }

    /// Reverts, newest first, every applied migration whose version is above `version`
    /// (`0` reverts them all). Each must have a `.down.sql`; this is checked before
    /// anything runs.
    pub async fn revert_to<'c>(
        &self,
        executor: impl Executor<'c>,
        version: i64,
    ) -> Result<Vec<Applied>> {
        self.revert_inner(executor, Some(version)).await
    }

    async fn revert_inner<'c>(
        &self,
        executor: impl Executor<'c>,
        target: Option<i64>,
    ) -> Result<Vec<Applied>> {
        self.loaded()?;
        let mut conn = executor.acquire().await?;
        let conn: &mut Connection = &mut conn;
        let table = Table::of(conn).await?;
        let held = if self.dry_run {
            None
        } else {
            Some(lock(conn, self.lock_timeout).await?)
        };
        let result = self.revert_locked(conn, &table, target).await;
        unlock(conn, held, result).await
    }

    async fn revert_locked(
        &self,
        conn: &mut Connection,
        table: &Table,
        target: Option<i64>,
    ) -> Result<Vec<Applied>> {
        let history = table.history(conn).await?;
        self.check(&history)?;
        if !self.dry_run {
            table.ensure(conn, &history, &self.migrations).await?;
        }
        let mut versions: Vec<i64> = history.rows.iter().map(|r| r.version).collect();
        versions.sort_unstable_by(|a, b| b.cmp(a));
        let versions: Vec<i64> = match target {
            None => versions.into_iter().take(1).collect(),
            Some(t) => versions.into_iter().filter(|v| *v > t).collect(),
        };
        let mut plan = Vec::new();
        for v in versions {
            let Some(m) = self.migrations.iter().find(|m| m.version == v) else {
                return Err(Error::config(format!(
                    "cannot revert migration {v}: no file has that version"
                )));
            };
            // Every one must have its .down.sql before any runs.
            file_of(m, Direction::Down)?;
            plan.push(m);
        }
        let mut done = Vec::new();
        for m in plan {
            done.push(self.step(conn, table, m, Direction::Down).await?);
        }
        Ok(done)
    }

    /// Applied, pending, changed and missing migrations, in version order. Changes
    /// nothing and takes no lock.
    pub async fn info<'c>(&self, executor: impl Executor<'c>) -> Result<Vec<MigrationInfo>> {
        self.loaded()?;
        let mut conn = executor.acquire().await?;
        let conn: &mut Connection = &mut conn;
        let table = Table::of(conn).await?;
        let history = table.history(conn).await?;
        let mut out: BTreeMap<i64, MigrationInfo> = BTreeMap::new();
        for m in &self.migrations {
            out.insert(
                m.version,
                MigrationInfo {
                    version: m.version,
                    description: m.description.clone(),
                    file: Some(m.file.clone()),
                    status: MigrationStatus::Pending,
                },
            );
        }
        for row in &history.rows {
            let status = match self.migrations.iter().find(|m| m.version == row.version) {
                _ if !row.success => MigrationStatus::Failed,
                None => MigrationStatus::Missing,
                Some(m) if m.checksum != row.checksum => MigrationStatus::Changed {
                    applied: row.checksum.clone(),
                    file: m.checksum.clone(),
                },
                Some(_) => MigrationStatus::Applied {
                    installed_on: row.installed_on.clone(),
                },
            };
            let info = out.entry(row.version).or_insert_with(|| MigrationInfo {
                version: row.version,
                description: row.description.clone(),
                file: None,
                status: MigrationStatus::Missing,
            });
            info.status = status;
        }
        Ok(out.into_values().collect())
    }

    /// Refuses a history that does not match the files: an edited applied migration, a
    /// migration sqlx left failed, an applied migration without a file.
    fn check(&self, history: &History) -> Result<()> {
        for row in &history.rows {
            if !row.success {
                return Err(Error::config(format!(
                    "migration {} is marked failed (success = false) in {}: sqlx left it \
                     half-applied; repair the database by hand, then delete that row",
                    row.version, history.source
                )));
            }
            match self.migrations.iter().find(|m| m.version == row.version) {
                Some(m) if m.checksum != row.checksum => {
                    return Err(Error::config(format!(
                        "migration {} was edited after it was applied: its checksum was {} \
                         and is now {}; restore the file as it was applied and put the \
                         change in a new migration",
                        m.file,
                        hex(&row.checksum),
                        hex(&m.checksum)
                    )));
                }
                Some(_) => {}
                None if self.ignore_missing => {}
                None => {
                    return Err(Error::config(format!(
                        "migration {} ({}) is applied to the database but no file has that \
                         version; run with the files it was applied from, or \
                         Migrator::ignore_missing(true)",
                        row.version, row.description
                    )));
                }
            }
        }
        Ok(())
    }
}

fn hex(bytes: &[u8]) -> String {
    use fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// `<version>_<description>(.up|.down)?.sql` -> (version, description, is_down).
fn parse_file_name(file: &str) -> std::result::Result<(i64, String, bool), String> {
    let (stem, is_down) = if let Some(s) = file.strip_suffix(".down.sql") {
        (s, true)
    } else if let Some(s) = file.strip_suffix(".up.sql") {
        (s, false)
    } else if let Some(s) = file.strip_suffix(".sql") {
        (s, false)
    } else {
        return Err(format!("{file} is not an .sql file"));
    };
    let bad = || {
        format!(
            "{file}: a migration file is named <version>_<description>.sql (or .up.sql and \
             .down.sql), the version a positive integer, as in 0001_create_users.sql"
        )
    };
    let (version, description) = stem.split_once('_').ok_or_else(bad)?;
    if version.is_empty() || !version.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let version: i64 = version.parse().map_err(|_| bad())?;
    Ok((version, description.replace('_', " "), is_down))
}

fn has_no_tx_marker(sql: &str) -> bool {
    let first = sql
        .trim_start_matches('\u{feff}')
        .lines()
        .next()
        .unwrap_or("");
    NO_TX_MARKERS.iter().any(|m| first.trim_end() == *m)
}

// --- The history table ----------------------------------------------------------------

struct HistoryRow {
    version: i64,
    description: String,
    checksum: Vec<u8>,
    installed_on: String,
    success: bool,
    execution_ms: i64,
}

struct History {
    /// The table the rows came from (Quarry's, or sqlx's before adoption).
    source: String,
    /// Whether Quarry's table exists.
    exists: bool,
    rows: Vec<HistoryRow>,
}

struct Table {
    schema: String,
    /// `"schema"."_quarry_migrations"`
    qualified: String,
}

impl Table {
    /// Quarry's table in the connection's current schema (fixed for the whole run, so a
    /// migration that changes `search_path` cannot move it).
    async fn of(conn: &mut Connection) -> Result<Table> {
        if conn.transaction_status() != TransactionStatus::Idle {
            return Err(Error::config(
                "migrations run outside a transaction (each in one of its own): run them on \
                 a connection or pool, not inside a transaction",
            ));
        }
        let schema: Option<String> = query_scalar("SELECT current_schema()")
            .fetch_one(&mut *conn)
            .await?;
        let schema = schema.ok_or_else(|| {
            Error::config(
                "no schema of search_path exists, so there is nowhere to keep the migration \
                 history; create one or fix search_path",
            )
        })?;
        let qualified = format!(
            "{}.{}",
            crate::querying::quote_identifier(&schema),
            crate::querying::quote_identifier(MIGRATIONS_TABLE)
        );
        Ok(Table { schema, qualified })
    }

    async fn exists(&self, conn: &mut Connection, name: &str) -> Result<bool> {
        query_scalar::<bool>(
            "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = $1 \
             AND tablename = $2)",
        )
        .bind(self.schema.as_str())
        .bind(name)
        .fetch_one(&mut *conn)
        .await
    }

    async fn history(&self, conn: &mut Connection) -> Result<History> {
        let (source, exists) = if self.exists(conn, MIGRATIONS_TABLE).await? {
            (MIGRATIONS_TABLE, true)
        } else if self.exists(conn, SQLX_MIGRATIONS_TABLE).await? {
            (SQLX_MIGRATIONS_TABLE, false)
        } else {
            return Ok(History {
                source: MIGRATIONS_TABLE.into(),
                exists: false,
                rows: Vec::new(),
            });
        };
        let sql = if exists {
            format!(
                "SELECT version, description, checksum, installed_on::text, true, execution_ms \
                 FROM {} ORDER BY version",
                self.qualified
            )
        } else {
            // sqlx's execution_time is in nanoseconds.
            format!(
                "SELECT version, description, checksum, installed_on::text, success, \
                 execution_time / 1000000 FROM {}.{} ORDER BY version",
                crate::querying::quote_identifier(&self.schema),
                crate::querying::quote_identifier(SQLX_MIGRATIONS_TABLE)
            )
        };
        let rows = query(AssertSqlSafe(sql)).fetch_all(&mut *conn).await?;
        let rows = rows
            .iter()
            .map(|r| {
                Ok(HistoryRow {
                    version: r.try_get(0)?,
                    description: r.try_get(1)?,
                    checksum: r.try_get(2)?,
                    installed_on: r.try_get(3)?,
                    success: r.try_get(4)?,
                    execution_ms: r.try_get(5)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(History {
            source: format!("{}.{source}", self.schema),
            exists,
            rows,
        })
    }

    /// Creates Quarry's table if it does not exist, copying sqlx's history into it
    /// (already checked against the files) in the same transaction.
    async fn ensure(
        &self,
        conn: &mut Connection,
        history: &History,
        migrations: &[Migration],
    ) -> Result<()> {
        if history.exists {
            return Ok(());
        }
        let create = format!(
            "CREATE TABLE {} (
                version int8 PRIMARY KEY,
                description text NOT NULL,
                file text NOT NULL,
                checksum bytea NOT NULL,
                installed_on timestamptz NOT NULL DEFAULT now(),
                execution_ms int8 NOT NULL
            )",
            self.qualified
        );
        conn.batch_execute("BEGIN").await?;
        let result = async {
            conn.batch_execute(&create).await?;
            for row in &history.rows {
                let file = migrations
                    .iter()
                    .find(|m| m.version == row.version)
                    .map_or("", |m| m.file.as_str());
                query(AssertSqlSafe(format!(
                    "INSERT INTO {} (version, description, file, checksum, installed_on, \
                     execution_ms) VALUES ($1, $2, $3, $4, $5::timestamptz, $6)",
                    self.qualified
                )))
                .bind(row.version)
                .bind(row.description.as_str())
                .bind(file)
                .bind(row.checksum.as_slice())
                .bind(row.installed_on.as_str())
                .bind(row.execution_ms)
                .execute(&mut *conn)
                .await?;
            }
            conn.batch_execute("COMMIT").await
        }
        .await;
        if result.is_err() {
            rollback(conn).await;
        } else if !history.rows.is_empty() {
            tracing::info!(
                migrations = history.rows.len(),
                from = %history.source,
                "adopted sqlx's migration history"
            );
        }
        result
    }

    async fn record(&self, conn: &mut Connection, m: &Migration, elapsed: Duration) -> Result<()> {
        query(AssertSqlSafe(format!(
            "INSERT INTO {} (version, description, file, checksum, execution_ms) \
             VALUES ($1, $2, $3, $4, $5)",
            self.qualified
        )))
        .bind(m.version)
        .bind(m.description.as_str())
        .bind(m.file.as_str())
        .bind(m.checksum.as_slice())
        .bind(i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX))
        .execute(&mut *conn)
        .await
        .map(drop)
    }

    async fn forget(&self, conn: &mut Connection, version: i64) -> Result<()> {
        query(AssertSqlSafe(format!(
            "DELETE FROM {} WHERE version = $1",
            self.qualified
        )))
        .bind(version)
        .execute(&mut *conn)
        .await
        .map(drop)
    }
}

// --- Running one migration --------------------------------------------------------------

async fn rollback(conn: &mut Connection) {
    if !conn.is_closed()
        && conn.transaction_status() != TransactionStatus::Idle
        && let Err(e) = conn.batch_execute("ROLLBACK").await
    {
        tracing::warn!(error = %e.display_chain(), "rolling back a failed migration failed");
    }
}

/// Names the file in a failure of its SQL, and shows the server's `LINE n:`.
fn failed(file: &str, sql: &str, e: Error) -> Error {
    e.with_statement(sql)
        .context(format!("migration {file} failed"))
}

/// Which way a migration runs: its file, or its `.down.sql`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Direction {
    Up,
    Down,
}

impl Migrator {
    /// Runs `m` one way (or, in a dry run, only says it would), logs it and reports it
    /// to the progress callback.
    async fn step(
        &self,
        conn: &mut Connection,
        table: &Table,
        m: &Migration,
        direction: Direction,
    ) -> Result<Applied> {
        let applied = if self.dry_run {
            Applied {
                version: m.version,
                description: m.description.clone(),
                file: file_of(m, direction)?.0.to_owned(),
                elapsed: Duration::ZERO,
                dry_run: true,
            }
        } else {
            run_file(conn, table, m, direction).await?
        };
        tracing::info!(
            version = applied.version,
            file = %applied.file,
            elapsed_ms = applied.elapsed.as_millis(),
            dry_run = applied.dry_run,
            "{} migration",
            if direction == Direction::Up { "applied" } else { "reverted" }
        );
        if let Some(p) = &self.progress {
            p(&applied);
        }
        Ok(applied)
    }
}

/// The file and SQL that run `m` in `direction`, and whether it opts out of the
/// transaction.
fn file_of(m: &Migration, direction: Direction) -> Result<(&str, &str, bool)> {
    match (direction, &m.down) {
        (Direction::Up, _) => Ok((&m.file, &m.sql, m.no_transaction)),
        (Direction::Down, Some((file, sql))) => Ok((file, sql, has_no_tx_marker(sql))),
        (Direction::Down, None) => Err(Error::config(format!(
            "cannot revert migration {}: it has no .down.sql file (only a \
             <version>_<description>.up.sql/.down.sql pair can be reverted)",
            m.file
        ))),
    }
}

/// Runs `m`'s file (or its `.down.sql`) and records (or forgets) it in the history: in
/// one transaction, unless the file opts out.
async fn run_file(
    conn: &mut Connection,
    table: &Table,
    m: &Migration,
    direction: Direction,
) -> Result<Applied> {
    let (file, sql, no_transaction) = file_of(m, direction)?;
    let started = Instant::now();
    let book = async |conn: &mut Connection, elapsed: Duration| match direction {
        Direction::Up => table.record(conn, m, elapsed).await,
        Direction::Down => table.forget(conn, m.version).await,
    };
    if no_transaction {
        run_statements(conn, file, sql).await?;
        book(conn, started.elapsed()).await?;
    } else {
        conn.batch_execute("BEGIN").await?;
        let result = async {
            conn.batch_execute(sql)
                .await
                .map_err(|e| failed(file, sql, e))?;
            book(conn, started.elapsed()).await?;
            conn.batch_execute("COMMIT").await
        }
        .await;
        if result.is_err() {
            rollback(conn).await;
        }
        result?;
    }
    Ok(Applied {
        version: m.version,
        description: m.description.clone(),
        file: file.to_owned(),
        elapsed: started.elapsed(),
        dry_run: false,
    })
}

/// Runs a no-transaction file one statement at a time: a multi-statement query string
/// is an implicit transaction, which `CREATE INDEX CONCURRENTLY` and friends refuse.
async fn run_statements(conn: &mut Connection, file: &str, sql: &str) -> Result<()> {
    for (line, statement) in split_statements(sql) {
        // Lines before the statement become empty lines, so the server's position (and
        // so `LINE n:`) counts from the top of the file.
        let text = format!("{}{statement}", "\n".repeat(line));
        conn.batch_execute(&text).await.map_err(|e| {
            e.with_statement(&text).context(format!(
                "migration {file} failed; the statements before this one are committed (the \
                 file opted out of a transaction) and the next run starts the file again \
                 from the top, so make each statement safe to repeat (IF NOT EXISTS)"
            ))
        })?;
    }
    Ok(())
}

/// Splits SQL into statements at top-level `;`, skipping those that are only comments or
/// white space. Each comes with the number of lines before it. Knows quotes, `E''`
/// strings, dollar quotes, `--` and nested `/* */` comments.
pub(crate) fn split_statements(sql: &str) -> Vec<(usize, &str)> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut has_code = false;
    let mut i = 0;
    fn push<'s>(out: &mut Vec<(usize, &'s str)>, sql: &'s str, from: usize, to: usize, code: bool) {
        if code {
            let line = sql[..from].bytes().filter(|c| *c == b'\n').count();
            out.push((line, &sql[from..to]));
        }
    }
    while i < b.len() {
        match b[i] {
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let mut depth = 1;
                i += 2;
                while i < b.len() && depth > 0 {
                    if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                        depth += 1;
                        i += 2;
                    } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                        depth -= 1;
                        i += 2;
                    } else {
                        i += 1;
                    }
                }
                continue;
            }
            b'\'' => {
                let escapes =
                    i > 0 && matches!(b[i - 1], b'e' | b'E') && !is_ident(b.get(i.wrapping_sub(2)));
                has_code = true;
                i += 1;
                while i < b.len() {
                    if escapes && b[i] == b'\\' {
                        i += 2;
                        continue;
                    }
                    if b[i] == b'\'' {
                        if b.get(i + 1) == Some(&b'\'') {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
            }
            b'"' => {
                has_code = true;
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += 1;
                }
            }
            b'$' if i == 0 || !is_ident(Some(&b[i - 1])) => {
                has_code = true;
                // $tag$ ... $tag$, the tag empty or an identifier (not a $1 parameter).
                let mut j = i + 1;
                while j < b.len()
                    && (b[j].is_ascii_alphabetic()
                        || b[j] == b'_'
                        || b[j] >= 0x80
                        || (j > i + 1 && b[j].is_ascii_digit()))
                {
                    j += 1;
                }
                if j < b.len() && b[j] == b'$' {
                    let tag = &sql[i..=j];
                    match sql[j + 1..].find(tag) {
                        Some(end) => i = j + 1 + end + tag.len(),
                        None => i = b.len(),
                    }
                    continue;
                }
            }
            b';' => {
                push(&mut out, sql, start, i + 1, has_code);
                start = i + 1;
                has_code = false;
            }
            c if !c.is_ascii_whitespace() => has_code = true,
            _ => {}
        }
        i += 1;
    }
    push(&mut out, sql, start, b.len(), has_code);
    out
}

fn is_ident(c: Option<&u8>) -> bool {
    c.is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c >= 0x80)
}

// --- The lock -----------------------------------------------------------------------------

/// Proof that this session holds the migration lock.
struct Held;

/// Takes the session advisory lock, waiting at most `timeout` (through the server's
/// `lock_timeout`, restored afterwards).
async fn lock(conn: &mut Connection, timeout: Duration) -> Result<Held> {
    let ms = timeout.as_millis().clamp(1, 2_147_483_647);
    let previous: String = query_scalar("SELECT current_setting('lock_timeout')")
        .fetch_one(&mut *conn)
        .await?;
    query("SELECT set_config('lock_timeout', $1, false)")
        .bind(format!("{ms}ms"))
        .execute(&mut *conn)
        .await?;
    let taken = query("SELECT pg_advisory_lock($1)")
        .bind(LOCK_KEY)
        .execute(&mut *conn)
        .await;
    let restored = query("SELECT set_config('lock_timeout', $1, false)")
        .bind(previous)
        .execute(&mut *conn)
        .await;
    match taken {
        Err(e) if e.code() == Some(&SqlState::LockNotAvailable) => {
            return Err(Error::timeout(format!(
                "another session held the migration lock (pg_advisory_lock({LOCK_KEY})) for \
                 longer than {timeout:?}: another instance is migrating this database, or \
                 one is stuck (look for it in pg_locks); raise Migrator::lock_timeout to \
                 wait longer"
            )));
        }
        Err(e) => return Err(e),
        Ok(_) => {}
    }
    restored?;
    Ok(Held)
}

/// Releases the lock (when held) and returns `result`, or the unlock's failure when the
/// work itself succeeded.
async fn unlock<T>(conn: &mut Connection, held: Option<Held>, result: Result<T>) -> Result<T> {
    if held.is_none() || conn.is_closed() {
        // A closed session has released its locks with it.
        return result;
    }
    rollback(conn).await;
    let released = query("SELECT pg_advisory_unlock($1)")
        .bind(LOCK_KEY)
        .execute(&mut *conn)
        .await;
    match (result, released) {
        (Err(e), _) => Err(e),
        (Ok(_), Err(e)) => Err(e),
        (Ok(v), Ok(_)) => Ok(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statements(sql: &str) -> Vec<(usize, &str)> {
        split_statements(sql)
            .into_iter()
            .map(|(l, s)| (l, s.trim()))
            .collect()
    }

    #[test]
    fn statements_split_at_top_level_semicolons_only() {
        let sql = "-- first; not a split\nCREATE TABLE a (x text DEFAULT 'a;b');\n\
                   /* c; /* nested; */ still */ CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ \
                   LANGUAGE sql;\nSELECT E'it\\'s; fine', \"we;ird\", $tag$ ; $tag$;\n-- trailing\n";
        let got = statements(sql);
        assert_eq!(got.len(), 3, "{got:?}");
        assert_eq!(got[0].0, 0);
        assert!(got[0].1.ends_with("DEFAULT 'a;b');"));
        assert_eq!(got[1].0, 1);
        assert!(got[1].1.contains("SELECT 1; $$"));
        assert_eq!(got[2].0, 2);
        assert!(got[2].1.ends_with("$tag$ ; $tag$;"));
    }

    #[test]
    fn a_statement_without_a_semicolon_and_positional_dollars() {
        let got = statements("SELECT $1::int; SELECT 2");
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[1].1, "SELECT 2");
    }

    #[test]
    fn file_names() {
        assert_eq!(
            parse_file_name("0001_create_users.sql").unwrap(),
            (1, "create users".into(), false)
        );
        assert_eq!(
            parse_file_name("20240101120000_x.up.sql").unwrap(),
            (20240101120000, "x".into(), false)
        );
        assert_eq!(
            parse_file_name("3_x.down.sql").unwrap(),
            (3, "x".into(), true)
        );
        for bad in [
            "x_1.sql",
            "1.sql",
            "_x.sql",
            "99999999999999999999_x.sql",
            "-1_x.sql",
        ] {
            let e = parse_file_name(bad).unwrap_err();
            assert!(e.contains("<version>_<description>"), "{bad}: {e}");
        }
    }

    #[test]
    fn markers_and_duplicates() {
        assert!(has_no_tx_marker(
            "-- no-transaction\nCREATE INDEX CONCURRENTLY i ON t (x);"
        ));
        assert!(has_no_tx_marker("-- quarry:no-transaction\r\nSELECT 1"));
        assert!(!has_no_tx_marker("SELECT 1;\n-- no-transaction"));
        let files = [("1_a.sql", "SELECT 1"), ("01_b.sql", "SELECT 2")];
        let m = Migrator::__embedded(&files);
        let e = m.loaded().unwrap_err().to_string();
        assert!(e.contains("both have version 1"), "{e}");
        let m = Migrator::__embedded(&[("2_a.down.sql", "")]);
        assert!(m.loaded().unwrap_err().to_string().contains("no .up.sql"));
    }

    #[test]
    fn checksums_are_sqlx_s() {
        // SHA-384 of the file's bytes, as sqlx computes it.
        let m = Migrator::__embedded(&[("1_a.sql", "abc")]);
        assert_eq!(
            hex(m.migrations()[0].checksum()),
            "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed\
             8086072ba1e7cc2358baeca134c825a7"
        );
    }
}
