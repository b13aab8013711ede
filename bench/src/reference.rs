//! The references: what the server does for a client written in C (pgbench, psql) or
//! with no client at all (server-side COPY FROM a file), and asyncpg for W6.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::BoxError;
use crate::fixtures::{W4_SELECT, W7_SELECT, w5_reference_source};
use crate::server::Server;
use crate::workload::{Flavor, Workload};

/// Seconds of each pgbench run.
const PGBENCH_SECONDS: u32 = 5;

/// The file (in the server's data directory) that holds W5's rows in binary COPY
/// format, written by the server itself.
const W5_FILE: &str = "quarry_bench_w5.bin";

/// One reference measurement.
pub(crate) struct RefSample {
    pub(crate) name: &'static str,
    pub(crate) ops: u64,
    pub(crate) secs: f64,
}

/// Scratch files the references need (pgbench script, asyncpg script).
pub(crate) struct References {
    dir: PathBuf,
    asyncpg: bool,
    /// Absolute path of [`W5_FILE`] on the server (COPY takes no relative path).
    w5_file: String,
}

impl References {
    pub(crate) fn prepare(server: &Server, w5_rows: u64) -> Result<References, BoxError> {
        let dir = std::env::temp_dir().join(format!("quarry-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join("w3_pipeline.sql"), w3_script())?;
        std::fs::write(dir.join("w2_pipeline.sql"), pipeline_script(W2_PIPELINE))?;
        std::fs::write(dir.join("w6_asyncpg.py"), ASYNCPG_W6)?;
        let data_dir = server.psql("SHOW data_directory")?;
        let w5_file = format!("{}/{W5_FILE}", data_dir.trim()).replace('\'', "''");
        server.psql(&format!(
            "COPY ({}) TO '{w5_file}' (FORMAT binary)",
            w5_reference_source(w5_rows)
        ))?;
        let asyncpg = Command::new("python3")
            .args(["-c", "import asyncpg"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !asyncpg {
            eprintln!("note: python3 cannot import asyncpg; W6 runs without the asyncpg reference");
        }
        Ok(References {
            dir,
            asyncpg,
            w5_file,
        })
    }

    /// Removes the scratch files and empties the server-side file.
    pub(crate) fn cleanup(&self, server: &Server) {
        let _ = std::fs::remove_dir_all(&self.dir);
        let _ = server.psql(&format!(
            "COPY (SELECT 1 WHERE false) TO '{}'",
            self.w5_file
        ));
    }

    /// Measures the references of `w` once each (most workloads have one, W2 two, W9
    /// none); the first is the one the table's ratio is taken against.
    pub(crate) fn measure(
        &self,
        server: &Server,
        w: Workload,
        count: u64,
        flavor: Flavor,
    ) -> Vec<Result<RefSample, BoxError>> {
        let threads = match flavor {
            Flavor::CurrentThread => "1",
            Flavor::MultiThread => "2",
        };
        match w {
            Workload::W2 => {
                let script = self.dir.join("w2_pipeline.sql");
                let Some(script) = script.to_str() else {
                    return vec![Err("scratch path is not UTF-8".into())];
                };
                vec![
                    pgbench(
                        server,
                        "pgbench -S -M prepared -c 8",
                        &["-S", "-c", "8", "-j", threads],
                        1,
                    ),
                    // The server's limit: each client keeps 8 point selects in flight.
                    pgbench(
                        server,
                        "pgbench -c 8, pipelines of 8 point selects",
                        &["-c", "8", "-j", threads, "-f", script],
                        W2_PIPELINE as u64,
                    ),
                ]
            }
            _ => match self.measure_one(server, w, count) {
                Ok(Some(r)) => vec![Ok(r)],
                Ok(None) => Vec::new(),
                Err(e) => vec![Err(e)],
            },
        }
    }

    /// The single reference of a workload other than W2, if it has one.
    fn measure_one(
        &self,
        server: &Server,
        w: Workload,
        count: u64,
    ) -> Result<Option<RefSample>, BoxError> {
        Ok(Some(match w {
            Workload::W1 => pgbench(
                server,
                "pgbench -S -M prepared -c 1",
                &["-S", "-c", "1", "-j", "1"],
                1,
            )?,
            Workload::W3 => {
                let script = self.dir.join("w3_pipeline.sql");
                let script = script.to_str().ok_or("scratch path is not UTF-8")?;
                pgbench(
                    server,
                    "pgbench pipeline of 100",
                    &["-c", "1", "-j", "1", "-f", script],
                    100,
                )?
            }
            Workload::W4 => {
                let sql = W4_SELECT.replace("$1", &count.to_string());
                copy_out(server, "COPY TO STDOUT (binary), psql", &sql, count)?
            }
            Workload::W5 => {
                let secs = psql_timed(
                    server,
                    &format!("COPY bench_w5 FROM '{}' (FORMAT binary)", self.w5_file),
                    false,
                )?;
                RefSample {
                    name: "server COPY FROM file (binary)",
                    ops: count,
                    secs,
                }
            }
            Workload::W6 if self.asyncpg => self.asyncpg_w6(server, count)?,
            Workload::W7 => {
                let sql = W7_SELECT.replace("$1", &count.to_string());
                copy_out(server, "COPY TO STDOUT (binary), psql", &sql, count)?
            }
            Workload::W2 | Workload::W2h | Workload::W6 | Workload::W8 | Workload::W9 => {
                return Ok(None);
            }
        }))
    }

    fn asyncpg_w6(&self, server: &Server, count: u64) -> Result<RefSample, BoxError> {
        let output = Command::new("python3")
            .arg(self.dir.join("w6_asyncpg.py"))
            .arg(&server.url)
            .arg(count.to_string())
            .stderr(Stdio::piped())
            .output()?;
        if !output.status.success() {
            return Err(format!(
                "asyncpg W6 failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            )
            .into());
        }
        let secs: f64 = String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse()
            .map_err(|_| "asyncpg W6 printed no time")?;
        Ok(RefSample {
            name: "asyncpg executemany",
            ops: count,
            secs,
        })
    }
}

/// Point selects per pipeline in W2's pipelined pgbench reference.
const W2_PIPELINE: usize = 8;

/// The pgbench script for W3: 100 point selects in one pipeline.
fn w3_script() -> String {
    pipeline_script(crate::peers::W3_DEPTH)
}

/// A pgbench script of `n` point selects (random keys) in one pipeline.
fn pipeline_script(n: usize) -> String {
    let mut s = String::new();
    for i in 0..n {
        s.push_str(&format!(
            "\\set aid{i} random(1, {})\n",
            crate::fixtures::ACCOUNTS
        ));
    }
    s.push_str("\\startpipeline\n");
    for i in 0..n {
        s.push_str(&format!(
            "SELECT abalance FROM pgbench_accounts WHERE aid = :aid{i};\n"
        ));
    }
    s.push_str("\\endpipeline\n");
    s
}

/// Runs pgbench for [`PGBENCH_SECONDS`] and returns transactions x `per_transaction`.
fn pgbench(
    server: &Server,
    name: &'static str,
    args: &[&str],
    per_transaction: u64,
) -> Result<RefSample, BoxError> {
    let seconds = PGBENCH_SECONDS.to_string();
    let mut all = vec!["-n", "-M", "prepared", "-T", &seconds];
    all.extend_from_slice(args);
    let text = run_pgbench(server, name, &all)?;
    let field = |prefix: &str| -> Option<f64> {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(prefix))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|v| v.split('/').next())
            .and_then(|v| v.parse().ok())
    };
    let transactions = field("number of transactions actually processed:")
        .ok_or_else(|| format!("{name}: no transaction count in its output:\n{text}"))?;
    let tps = field("tps =").ok_or_else(|| format!("{name}: no tps in its output:\n{text}"))?;
    if tps <= 0.0 {
        return Err(format!("{name}: tps is {tps}").into());
    }
    // Transactions are counted exactly; pgbench's own tps excludes connection time.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let ops = transactions as u64 * per_transaction;
    Ok(RefSample {
        name,
        ops,
        secs: transactions / tps,
    })
}

/// Runs pgbench with `args` against the server; its standard output, or an error with
/// its standard error.
pub(crate) fn run_pgbench(server: &Server, name: &str, args: &[&str]) -> Result<String, BoxError> {
    let output = Command::new(&server.pgbench)
        .args(args)
        .arg(&server.url)
        .stderr(Stdio::piped())
        .output()?;
    if !output.status.success() {
        return Err(format!(
            "{name} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )
        .into());
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// `COPY (sql) TO STDOUT (FORMAT binary)` through psql into /dev/null, timed by psql.
fn copy_out(
    server: &Server,
    name: &'static str,
    sql: &str,
    rows: u64,
) -> Result<RefSample, BoxError> {
    let secs = psql_timed(
        server,
        &format!("COPY ({sql}) TO STDOUT (FORMAT binary)"),
        true,
    )?;
    Ok(RefSample {
        name,
        ops: rows,
        secs,
    })
}

/// Runs one statement in psql with `\timing on` and returns psql's time for it.
/// With `discard`, the statement's output (COPY TO STDOUT data) goes to /dev/null.
fn psql_timed(server: &Server, sql: &str, discard: bool) -> Result<f64, BoxError> {
    let mut command = server.psql_command();
    if discard {
        command.args(["-o", "/dev/null"]);
    }
    let output = command
        .args(["-c", "\\timing on", "-c", sql])
        .stderr(Stdio::piped())
        .output()?;
    if !output.status.success() {
        return Err(format!(
            "psql failed on {sql:?}: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )
        .into());
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let ms: f64 = text
        .lines()
        .filter_map(|l| l.strip_prefix("Time: "))
        .next_back()
        .and_then(|t| t.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("psql printed no timing for {sql:?}: {text}"))?;
    Ok(ms / 1000.0)
}

/// asyncpg's executemany on W6's table and rows, timed around the call itself.
const ASYNCPG_W6: &str = r#"
import asyncio, sys, time
import asyncpg

try:
    import uvloop
    uvloop.install()
except ImportError:
    pass

SQL = "INSERT INTO bench_w6 (a, b, c, d, e, f, g) VALUES ($1, $2, $3, $4, $5, $6, $7)"

def rows(n):
    return [(i, 11, 10, "TESTTESTTEST", 10.333, 12341234, "123412341234") for i in range(n)]

async def main(url, n):
    conn = await asyncpg.connect(url)
    await conn.executemany(SQL, rows(100))
    data = rows(n)
    start = time.perf_counter()
    await conn.executemany(SQL, data)
    elapsed = time.perf_counter() - start
    await conn.close()
    print(elapsed)

asyncio.run(main(sys.argv[1], int(sys.argv[2])))
"#;
