//! The data and SQL every driver uses, so that all of them do the same work.

use chrono::{DateTime, Utc};

/// Rows in `pgbench_accounts` at `pgbench -i -s 10`.
pub(crate) const ACCOUNTS: u32 = 1_000_000;

/// W1-W3: pgbench's own `-S` query.
pub(crate) const POINT_SELECT: &str = "SELECT abalance FROM pgbench_accounts WHERE aid = $1";

/// W2h: the slow query, one in every [`W2H_SLOW_EVERY`] (50 ms on the server).
pub(crate) const W2H_SLOW: &str = "SELECT pg_sleep(0.05)::text";

/// W2h: one query in this many is the slow one.
pub(crate) const W2H_SLOW_EVERY: u64 = 100;

/// W9: 20 consecutive accounts, into [`W9Row`].
pub(crate) const W9_RANGE: &str =
    "SELECT aid, bid, abalance, filler FROM pgbench_accounts WHERE aid BETWEEN $1 AND $1 + 19";

/// W9's transaction: pgbench's TPC-B-like account update and history insert.
pub(crate) const W9_UPDATE: &str =
    "UPDATE pgbench_accounts SET abalance = abalance + $1 WHERE aid = $2";
pub(crate) const W9_INSERT: &str = "INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) \
     VALUES ($1, $2, $3, $4, CURRENT_TIMESTAMP)";

/// The rows W9's range select returns.
pub(crate) const W9_RANGE_ROWS: usize = 20;

/// W9's keys for one iteration, all derived from one point-select key.
#[derive(Clone, Copy, Debug)]
pub(crate) struct W9Keys {
    pub(crate) aid: i32,
    pub(crate) range_start: i32,
    pub(crate) delta: i32,
    pub(crate) bid: i32,
    pub(crate) tid: i32,
}

impl W9Keys {
    pub(crate) fn new(aid: i32) -> W9Keys {
        // pgbench -s 10: 100,000 accounts and 10 tellers per branch.
        W9Keys {
            aid,
            range_start: (aid.wrapping_mul(7).rem_euclid(ACCOUNTS_I32 - 20)) + 1,
            delta: aid % 1000 - 500,
            bid: (aid - 1) / 100_000 + 1,
            tid: (aid - 1) / 10_000 + 1,
        }
    }
}

const ACCOUNTS_I32: i32 = 1_000_000;

/// W9's range-select row, decoded by position like W4's.
#[derive(Debug, Clone)]
pub(crate) struct W9Row {
    pub(crate) aid: i32,
    pub(crate) bid: i32,
    pub(crate) abalance: i32,
    pub(crate) filler: String,
}

impl W9Row {
    /// Something that depends on every field.
    pub(crate) fn checksum(&self) -> i64 {
        i64::from(self.aid)
            + i64::from(self.bid)
            + i64::from(self.abalance)
            + i64::try_from(self.filler.len()).unwrap_or(0)
    }
}

/// W4: six columns of common types. `LIMIT $1` lets the warm-up prepare the very
/// statement that is timed.
pub(crate) const W4_SELECT: &str = "SELECT a, b, c, d, e, f FROM bench_w4 LIMIT $1";

/// W5: binary COPY into this table.
pub(crate) const W5_COPY: &str = "COPY bench_w5 (a, b, c) FROM STDIN (FORMAT binary)";

/// W6: asyncpg's `6-batch` row, one INSERT per row.
pub(crate) const W6_INSERT: &str =
    "INSERT INTO bench_w6 (a, b, c, d, e, f, g) VALUES ($1, $2, $3, $4, $5, $6, $7)";

/// W7: two columns, ten million rows.
pub(crate) const W7_SELECT: &str = "SELECT a, b FROM bench_w7 LIMIT $1";

/// The schema and data, loaded once per run (pgbench's tables come from `pgbench -i`).
pub(crate) fn setup_sql(w4_rows: u64, w7_rows: u64) -> String {
    format!(
        "\
DROP TABLE IF EXISTS bench_w4, bench_w5, bench_w6, bench_w7;
CREATE TABLE bench_w4 (a int4 NOT NULL, b int8 NOT NULL, c text NOT NULL,
                       d float8 NOT NULL, e timestamptz NOT NULL, f bool NOT NULL);
INSERT INTO bench_w4
  SELECT i, i::int8 * 1000003, 'name-' || i || '-' || md5(i::text),
         i * 0.25, timestamptz '2024-01-01 00:00:00+00' + i * interval '1 second', i % 3 = 0
  FROM generate_series(1, {w4_rows}) AS i;
CREATE TABLE bench_w5 (a int8 NOT NULL, b text NOT NULL, c float8 NOT NULL);
CREATE TABLE bench_w6 (a int4, b int4, c int4, d text, e float8, f int4, g text);
CREATE TABLE bench_w7 (a int8 NOT NULL, b text NOT NULL);
INSERT INTO bench_w7 SELECT i, 'row-' || i FROM generate_series(1, {w7_rows}) AS i;
VACUUM ANALYZE bench_w4, bench_w5, bench_w6, bench_w7;
"
    )
}

/// The point-select keys: the same pseudo-random sequence for every driver.
pub(crate) struct Aids(u64);

impl Aids {
    pub(crate) fn new(seed: u64) -> Aids {
        Aids(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
}

impl Iterator for Aids {
    type Item = i32;
    fn next(&mut self) -> Option<i32> {
        // xorshift64*: cheap and the same everywhere.
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        let r = x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32;
        let aid = r % u64::from(ACCOUNTS) + 1;
        // aid <= 1,000,000 fits.
        Some(i32::try_from(aid).unwrap_or(1))
    }
}

/// W4's row, decoded the same way (by position, types checked) by every driver.
#[derive(Debug, Clone)]
pub(crate) struct W4Row {
    pub(crate) a: i32,
    pub(crate) b: i64,
    pub(crate) c: String,
    pub(crate) d: f64,
    pub(crate) e: DateTime<Utc>,
    pub(crate) f: bool,
}

impl W4Row {
    /// Something that depends on every field, so no decode can be optimised away.
    pub(crate) fn checksum(&self) -> u64 {
        let mut h = u64::from(self.a.unsigned_abs());
        h = h.wrapping_add(self.b.unsigned_abs());
        h = h.wrapping_add(self.c.len() as u64);
        h = h.wrapping_add(self.d.to_bits() >> 40);
        h = h.wrapping_add(self.e.timestamp().unsigned_abs());
        h.wrapping_add(u64::from(self.f))
    }
}

/// W7's row.
#[derive(Debug, Clone)]
pub(crate) struct W7Row {
    pub(crate) a: i64,
    pub(crate) b: String,
}

/// W5's rows, made before the clock starts (the same values the server-side reference
/// file holds: `i, 'row-' || i, i * 0.5`).
pub(crate) struct W5Row {
    pub(crate) a: i64,
    pub(crate) b: String,
    pub(crate) c: f64,
}

pub(crate) fn w5_rows(n: u64) -> Vec<W5Row> {
    (1..=n)
        .map(|i| {
            let a = i64::try_from(i).unwrap_or(i64::MAX);
            W5Row {
                a,
                b: format!("row-{i}"),
                c: a as f64 * 0.5,
            }
        })
        .collect()
}

/// The server-side query that writes W5's rows to a file for the `COPY FROM file` reference.
pub(crate) fn w5_reference_source(n: u64) -> String {
    format!("SELECT i::int8, 'row-' || i, i * 0.5::float8 FROM generate_series(1, {n}) AS i")
}

/// W6's rows: asyncpg's `6-batch` values with a changing first column.
pub(crate) struct W6Row {
    pub(crate) a: i32,
    pub(crate) b: i32,
    pub(crate) c: i32,
    pub(crate) d: String,
    pub(crate) e: f64,
    pub(crate) f: i32,
    pub(crate) g: String,
}

pub(crate) fn w6_rows(n: u64) -> Vec<W6Row> {
    (0..n)
        .map(|i| W6Row {
            a: i32::try_from(i).unwrap_or(i32::MAX),
            b: 11,
            c: 10,
            d: "TESTTESTTEST".to_owned(),
            e: 10.333,
            f: 12_341_234,
            g: "123412341234".to_owned(),
        })
        .collect()
}

/// Peak resident set size of this process (`VmHWM`), in KiB.
pub(crate) fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}
