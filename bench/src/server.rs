//! The server under test: a `TempServer` sized for the data, or `BENCH_DATABASE_URL`.
//! Setup goes through `psql` and `pgbench` (not through any driver under test).

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

use quarry_driver::TempServer;
use quarry_driver::temp_server::ServerBinaries;

use crate::BoxError;

/// The settings every TempServer of the suite gets, on top of TempServer's own
/// (`fsync=off`, `synchronous_commit=off`, `full_page_writes=off`).
const SETTINGS: &[(&str, &str)] = &[
    // pgbench_accounts (~160 MB), bench_w4 (~110 MB) and bench_w7 (~500 MB) stay cached.
    ("shared_buffers", "1536MB"),
    // No checkpoint in the middle of a measurement (W5 writes 1M rows per run).
    ("max_wal_size", "8GB"),
    ("checkpoint_timeout", "1h"),
    // A full scan of 10M rows crosses jit_above_cost: JIT compile time is not a client cost.
    ("jit", "off"),
    // Background work that would land at random in someone's measurement.
    ("autovacuum", "off"),
];

/// What is reported about the server.
const REPORTED: &[&str] = &[
    "server_version",
    "fsync",
    "synchronous_commit",
    "full_page_writes",
    "shared_buffers",
    "wal_level",
    "jit",
    "autovacuum",
    "max_wal_size",
];

pub(crate) struct Server {
    _temp: Option<TempServer>,
    /// Connection URL (no TLS); never printed (it may hold a password).
    pub(crate) url: String,
    pub(crate) psql: PathBuf,
    pub(crate) pgbench: PathBuf,
    /// `name = value` of the settings in [`REPORTED`], as the server shows them.
    pub(crate) settings: Vec<(String, String)>,
    /// Whether this is a TempServer started by the suite.
    pub(crate) temporary: bool,
}

impl Server {
    pub(crate) fn start() -> Result<Server, BoxError> {
        let (temp, url, binaries) = match std::env::var("BENCH_DATABASE_URL") {
            Ok(url) if !url.is_empty() => (None, url, ServerBinaries::locate()?),
            _ => {
                let mut builder = TempServer::builder().tls(false);
                for (name, value) in SETTINGS {
                    builder = builder.setting(*name, *value);
                }
                let server = builder.start()?;
                let url = server.url();
                let binaries = server.binaries().clone();
                (Some(server), url, binaries)
            }
        };
        let mut server = Server {
            temporary: temp.is_some(),
            _temp: temp,
            url,
            psql: binaries.program("psql")?,
            pgbench: binaries.program("pgbench")?,
            settings: Vec::new(),
        };
        for name in REPORTED {
            let value = server.psql(&format!("SHOW {name}"))?;
            server
                .settings
                .push(((*name).to_owned(), value.trim().to_owned()));
        }
        Ok(server)
    }

    pub(crate) fn setting(&self, name: &str) -> &str {
        self.settings
            .iter()
            .find(|(n, _)| n == name)
            .map_or("?", |(_, v)| v.as_str())
    }

    /// Runs SQL with psql and returns its unaligned, tuples-only output.
    pub(crate) fn psql(&self, sql: &str) -> Result<String, BoxError> {
        let output = self
            .psql_command()
            .args(["-A", "-t", "-c", sql])
            .stderr(Stdio::piped())
            .output()?;
        if !output.status.success() {
            return Err(format!(
                "psql failed on {sql:?}: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            )
            .into());
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// Runs a script of several statements with psql.
    pub(crate) fn psql_script(&self, script: &str) -> Result<(), BoxError> {
        use std::io::Write;
        let mut child = self
            .psql_command()
            .args(["-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(script.as_bytes())?;
        }
        let output = child.wait_with_output()?;
        if !output.status.success() {
            return Err(format!(
                "psql script failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            )
            .into());
        }
        Ok(())
    }

    /// `psql -X -q -v ON_ERROR_STOP=1 -d URL`, ready for more arguments.
    pub(crate) fn psql_command(&self) -> Command {
        let mut c = Command::new(&self.psql);
        c.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", &self.url]);
        c
    }

    /// `pgbench -i -s 10` and the bench tables.
    pub(crate) fn load(&self, w4_rows: u64, w7_rows: u64) -> Result<(), BoxError> {
        let start = Instant::now();
        if !self.temporary {
            // A server of one's own keeps the data between runs: load only what is missing.
            let present = self.psql(&format!(
                "SELECT (SELECT count(*) FROM pgbench_accounts) = {} \
                 AND (SELECT count(*) FROM bench_w4) = {w4_rows} \
                 AND (SELECT count(*) FROM bench_w7) = {w7_rows} \
                 AND to_regclass('bench_w5') IS NOT NULL AND to_regclass('bench_w6') IS NOT NULL",
                crate::fixtures::ACCOUNTS
            ));
            if present.is_ok_and(|t| t.trim() == "t") {
                eprintln!("loading: the data is already there");
                return Ok(());
            }
        }
        eprintln!("loading: pgbench -i -s 10 ...");
        let output = Command::new(&self.pgbench)
            .args(["-i", "-q", "-s", "10"])
            .arg(&self.url)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()?;
        if !output.status.success() {
            return Err(format!(
                "pgbench -i failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            )
            .into());
        }
        eprintln!("loading: {w4_rows} rows for W4, {w7_rows} rows for W7 ...");
        self.psql_script(&crate::fixtures::setup_sql(w4_rows, w7_rows))?;
        self.psql("CHECKPOINT")?;
        eprintln!("loading: done in {:.1} s", start.elapsed().as_secs_f64());
        Ok(())
    }

    /// Creates the bench tables (nearly empty) if a run without the runtime workloads
    /// needs them (W8 describes queries over them).
    pub(crate) fn ensure_schema(&self) -> Result<(), BoxError> {
        let missing =
            self.psql("SELECT to_regclass('bench_w4') IS NULL OR to_regclass('bench_w6') IS NULL")?;
        if missing.trim() == "t" {
            self.psql_script(&crate::fixtures::setup_sql(1_000, 1_000))?;
        }
        Ok(())
    }
}
