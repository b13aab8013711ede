//! sqlx 0.9 (Postgres, tokio), used the way its docs recommend for speed: the
//! per-connection statement cache (queries are prepared and kept by default), statement
//! logging off, `PgPool` for the pool, `fetch` to stream, `copy_in_raw` for COPY.
//! sqlx has no pipelining and no typed COPY writer; where that matters the method says so.

use std::hint::black_box;
use std::str::FromStr;
use std::time::Instant;

use futures_util::TryStreamExt;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPoolOptions, PgRow};
use sqlx::{ConnectOptions, Connection, FromRow, Row};

use super::{
    LATENCY_WARMUP, Step, W2_POOL, W2_TASKS, WARMUP_QUERIES, in_tasks, share, usize_of, w2h_is_slow,
};
use crate::BoxError;
use crate::cli::WorkerArgs;
use crate::fixtures::{
    Aids, POINT_SELECT, W2H_SLOW, W4_SELECT, W4Row, W5_COPY, W5Row, W6_INSERT, W6Row, W7_SELECT,
    W7Row, W9_INSERT, W9_RANGE, W9_RANGE_ROWS, W9_UPDATE, W9Keys, W9Row, w5_rows, w6_rows,
};
use crate::stats::{Latency, micros};
use crate::worker::Outcome;
use crate::workload::Workload;

impl<'r> FromRow<'r, PgRow> for W4Row {
    fn from_row(row: &'r PgRow) -> Result<Self, sqlx::Error> {
        Ok(W4Row {
            a: row.try_get(0)?,
            b: row.try_get(1)?,
            c: row.try_get(2)?,
            d: row.try_get(3)?,
            e: row.try_get(4)?,
            f: row.try_get(5)?,
        })
    }
}

impl<'r> FromRow<'r, PgRow> for W9Row {
    fn from_row(row: &'r PgRow) -> Result<Self, sqlx::Error> {
        Ok(W9Row {
            aid: row.try_get(0)?,
            bid: row.try_get(1)?,
            abalance: row.try_get(2)?,
            filler: row.try_get(3)?,
        })
    }
}

impl<'r> FromRow<'r, PgRow> for W7Row {
    fn from_row(row: &'r PgRow) -> Result<Self, sqlx::Error> {
        Ok(W7Row {
            a: row.try_get(0)?,
            b: row.try_get(1)?,
        })
    }
}

pub(crate) async fn run(args: &WorkerArgs) -> Result<Outcome, BoxError> {
    match args.workload {
        Workload::W1 => w1(args).await,
        Workload::W2 => w2(args).await,
        Workload::W2h => w2h(args).await,
        Workload::W3 => w3(args).await,
        Workload::W4 => w4(args).await,
        Workload::W5 => w5(args).await,
        Workload::W6 => w6(args).await,
        Workload::W7 => w7(args).await,
        Workload::W8 => Err("W8 is measured by builds, not by a worker".into()),
        Workload::W9 => w9(args).await,
    }
}

fn options(args: &WorkerArgs) -> Result<PgConnectOptions, BoxError> {
    Ok(PgConnectOptions::from_str(&args.url)?.disable_statement_logging())
}

async fn connect(args: &WorkerArgs) -> Result<PgConnection, BoxError> {
    Ok(options(args)?.connect().await?)
}

async fn point_selects(conn: &mut PgConnection, seed: u64, count: u64) -> Result<i64, BoxError> {
    let mut sum = 0i64;
    for aid in Aids::new(seed).take(usize_of(count)) {
        let v: i32 = sqlx::query_scalar(POINT_SELECT)
            .bind(aid)
            .fetch_one(&mut *conn)
            .await?;
        sum += i64::from(v);
    }
    Ok(sum)
}

async fn w1(args: &WorkerArgs) -> Result<Outcome, BoxError> {
    let mut conn = connect(args).await?;
    let mut sum = point_selects(&mut conn, 99, WARMUP_QUERIES).await?;
    let start = Instant::now();
    sum += point_selects(&mut conn, 1, args.count).await?;
    let elapsed = start.elapsed();
    black_box(sum);
    Ok(Outcome::Done {
        ops: args.count,
        elapsed,
        method: Some("query_scalar(..).bind(aid).fetch_one (statement cache)"),
    })
}

async fn w2(args: &WorkerArgs) -> Result<Outcome, BoxError> {
    let pool_size = u32::try_from(W2_POOL)?;
    let pool = PgPoolOptions::new()
        .max_connections(pool_size)
        .min_connections(pool_size)
        // Off, like Quarry's default: no ping before each checkout (sqlx's default is on).
        .test_before_acquire(false)
        .connect_with(options(args)?)
        .await?;
    let round = |total: u64, seed: u64| {
        let tasks: Vec<_> = (0..W2_TASKS)
            .map(|t| {
                let pool = pool.clone();
                let n = share(total, W2_TASKS, t);
                tokio::spawn(async move {
                    let mut sum = 0i64;
                    for aid in Aids::new(seed + t).take(usize_of(n)) {
                        let v: i32 = sqlx::query_scalar(POINT_SELECT)
                            .bind(aid)
                            .fetch_one(&pool)
                            .await?;
                        sum += i64::from(v);
                    }
                    Ok::<i64, BoxError>(sum)
                })
            })
            .collect();
        async move {
            let mut sum = 0i64;
            for t in tasks {
                sum += t.await??;
            }
            Ok::<i64, BoxError>(sum)
        }
    };
    let mut sum = round(W2_TASKS * 20, 1000).await?;
    let start = Instant::now();
    sum += round(args.count, 1).await?;
    let elapsed = start.elapsed();
    black_box(sum);
    Ok(Outcome::Done {
        ops: args.count,
        elapsed,
        method: Some(
            "PgPool (8 connections, test_before_acquire off), query_scalar(..).fetch_one(&pool)",
        ),
    })
}

/// `PgPool` as W2 has it.
async fn pg_pool(args: &WorkerArgs) -> Result<sqlx::PgPool, BoxError> {
    let pool_size = u32::try_from(W2_POOL)?;
    Ok(PgPoolOptions::new()
        .max_connections(pool_size)
        .min_connections(pool_size)
        .test_before_acquire(false)
        .connect_with(options(args)?)
        .await?)
}

async fn w2h_query(pool: sqlx::PgPool, task: u64, k: u64, aid: i32) -> Step {
    if w2h_is_slow(task, k) {
        let v: String = sqlx::query_scalar(W2H_SLOW).fetch_one(&pool).await?;
        return Ok((i64::try_from(v.len())?, None));
    }
    let start = Instant::now();
    let v: i32 = sqlx::query_scalar(POINT_SELECT)
        .bind(aid)
        .fetch_one(&pool)
        .await?;
    Ok((i64::from(v), Some(micros(start.elapsed()))))
}

async fn w2h(args: &WorkerArgs) -> Result<Outcome, BoxError> {
    let pool = pg_pool(args).await?;
    let (mut sum, _) = in_tasks(LATENCY_WARMUP, 1000, &pool, w2h_query).await?;
    let start = Instant::now();
    let (s, latencies) = in_tasks(args.count, 1, &pool, w2h_query).await?;
    let elapsed = start.elapsed();
    sum = sum.wrapping_add(s);
    black_box(sum);
    Ok(Outcome::Timed {
        ops: args.count,
        elapsed,
        method: "PgPool (8 connections, test_before_acquire off), query_scalar(..).fetch_one(&pool)",
        latency: Latency::of("fast point selects", latencies),
    })
}

async fn w9_iteration(pool: sqlx::PgPool, _task: u64, _k: u64, aid: i32) -> Step {
    let keys = W9Keys::new(aid);
    let v: i32 = sqlx::query_scalar(POINT_SELECT)
        .bind(keys.aid)
        .fetch_one(&pool)
        .await?;
    let rows: Vec<W9Row> = sqlx::query_as(W9_RANGE)
        .bind(keys.range_start)
        .fetch_all(&pool)
        .await?;
    if rows.len() != W9_RANGE_ROWS {
        return Err(format!("W9's range select returned {} rows", rows.len()).into());
    }
    let start = Instant::now();
    let mut tx = pool.begin().await?;
    sqlx::query(W9_UPDATE)
        .bind(keys.delta)
        .bind(keys.aid)
        .execute(&mut *tx)
        .await?;
    sqlx::query(W9_INSERT)
        .bind(keys.tid)
        .bind(keys.bid)
        .bind(keys.aid)
        .bind(keys.delta)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    let latency = micros(start.elapsed());
    let sum = rows.iter().map(W9Row::checksum).sum::<i64>() + i64::from(v);
    Ok((sum, Some(latency)))
}

async fn w9(args: &WorkerArgs) -> Result<Outcome, BoxError> {
    let pool = pg_pool(args).await?;
    let (mut sum, _) = in_tasks(LATENCY_WARMUP, 1000, &pool, w9_iteration).await?;
    let start = Instant::now();
    let (s, latencies) = in_tasks(args.count, 1, &pool, w9_iteration).await?;
    let elapsed = start.elapsed();
    sum = sum.wrapping_add(s);
    black_box(sum);
    Ok(Outcome::Timed {
        ops: args.count,
        elapsed,
        method: "PgPool (8 connections, test_before_acquire off): query_scalar / \
                 query_as::<W9Row>(..).fetch_all(&pool), pool.begin() + 2 execute + commit",
        latency: Latency::of("transactions", latencies),
    })
}

async fn w3(args: &WorkerArgs) -> Result<Outcome, BoxError> {
    let mut conn = connect(args).await?;
    let mut sum = point_selects(&mut conn, 99, WARMUP_QUERIES).await?;
    let start = Instant::now();
    sum += point_selects(&mut conn, 1, args.count).await?;
    let elapsed = start.elapsed();
    black_box(sum);
    Ok(Outcome::Done {
        ops: args.count,
        elapsed,
        method: Some("sequential: sqlx has no pipelining (one query in flight)"),
    })
}

async fn w4(args: &WorkerArgs) -> Result<Outcome, BoxError> {
    let mut conn = connect(args).await?;
    let warm: Vec<W4Row> = sqlx::query_as(W4_SELECT)
        .bind(10i64)
        .fetch_all(&mut conn)
        .await?;
    black_box(warm);
    let limit = i64::try_from(args.count)?;
    let start = Instant::now();
    let rows: Vec<W4Row> = sqlx::query_as(W4_SELECT)
        .bind(limit)
        .fetch_all(&mut conn)
        .await?;
    let elapsed = start.elapsed();
    let sum = rows.iter().fold(0u64, |s, r| s.wrapping_add(r.checksum()));
    black_box(sum);
    if rows.len() as u64 != args.count {
        return Err(format!("W4 fetched {} rows, expected {}", rows.len(), args.count).into());
    }
    Ok(Outcome::Done {
        ops: args.count,
        elapsed,
        method: Some("query_as::<_, W4Row>(..).fetch_all (FromRow by position)"),
    })
}

/// PostgreSQL's binary COPY header: signature, flags, header extension length.
const COPY_HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";

/// Encodes W5's rows in binary COPY format and sends them in 64 KiB chunks: what a
/// sqlx user writes, since sqlx has no typed COPY writer.
async fn copy_w5(conn: &mut PgConnection, rows: &[W5Row]) -> Result<u64, BoxError> {
    let mut copy = conn.copy_in_raw(W5_COPY).await?;
    let mut buf: Vec<u8> = Vec::with_capacity(64 * 1024 + 256);
    buf.extend_from_slice(COPY_HEADER);
    for r in rows {
        buf.extend_from_slice(&3i16.to_be_bytes());
        buf.extend_from_slice(&8i32.to_be_bytes());
        buf.extend_from_slice(&r.a.to_be_bytes());
        buf.extend_from_slice(&i32::try_from(r.b.len())?.to_be_bytes());
        buf.extend_from_slice(r.b.as_bytes());
        buf.extend_from_slice(&8i32.to_be_bytes());
        buf.extend_from_slice(&r.c.to_be_bytes());
        if buf.len() >= 64 * 1024 {
            copy.send(buf.as_slice()).await?;
            buf.clear();
        }
    }
    buf.extend_from_slice(&(-1i16).to_be_bytes());
    copy.send(buf.as_slice()).await?;
    Ok(copy.finish().await?)
}

async fn w5(args: &WorkerArgs) -> Result<Outcome, BoxError> {
    let mut conn = connect(args).await?;
    copy_w5(&mut conn, &w5_rows(1_000)).await?;
    let rows = w5_rows(args.count);
    let start = Instant::now();
    let n = copy_w5(&mut conn, &rows).await?;
    let elapsed = start.elapsed();
    if n != args.count {
        return Err(format!("W5 copied {n} rows, expected {}", args.count).into());
    }
    Ok(Outcome::Done {
        ops: args.count,
        elapsed,
        method: Some("copy_in_raw, binary rows encoded by hand (no typed writer in sqlx)"),
    })
}

async fn insert_w6(conn: &mut PgConnection, rows: &[W6Row]) -> Result<u64, BoxError> {
    let mut tx = conn.begin().await?;
    let mut n = 0u64;
    for r in rows {
        n += sqlx::query(W6_INSERT)
            .bind(r.a)
            .bind(r.b)
            .bind(r.c)
            .bind(r.d.as_str())
            .bind(r.e)
            .bind(r.f)
            .bind(r.g.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected();
    }
    tx.commit().await?;
    Ok(n)
}

async fn w6(args: &WorkerArgs) -> Result<Outcome, BoxError> {
    let mut conn = connect(args).await?;
    insert_w6(&mut conn, &w6_rows(100)).await?;
    let rows = w6_rows(args.count);
    let start = Instant::now();
    let n = insert_w6(&mut conn, &rows).await?;
    let elapsed = start.elapsed();
    if n != args.count {
        return Err(format!("W6 inserted {n} rows, expected {}", args.count).into());
    }
    Ok(Outcome::Done {
        ops: args.count,
        elapsed,
        method: Some("transaction + loop of prepared INSERTs (no pipelining in sqlx)"),
    })
}

async fn w7(args: &WorkerArgs) -> Result<Outcome, BoxError> {
    let mut conn = connect(args).await?;
    let warm: Vec<W7Row> = sqlx::query_as(W7_SELECT)
        .bind(10i64)
        .fetch_all(&mut conn)
        .await?;
    black_box(warm);
    let limit = i64::try_from(args.count)?;
    let start = Instant::now();
    let mut n = 0u64;
    let mut sum = 0u64;
    {
        let mut rows = sqlx::query_as::<_, W7Row>(W7_SELECT)
            .bind(limit)
            .fetch(&mut conn);
        while let Some(row) = rows.try_next().await? {
            sum = sum
                .wrapping_add(row.a.unsigned_abs())
                .wrapping_add(row.b.len() as u64);
            n += 1;
        }
    }
    let elapsed = start.elapsed();
    black_box(sum);
    if n != args.count {
        return Err(format!("W7 streamed {n} rows, expected {}", args.count).into());
    }
    Ok(Outcome::Done {
        ops: n,
        elapsed,
        method: Some("query_as::<_, W7Row>(..).fetch (stream)"),
    })
}
