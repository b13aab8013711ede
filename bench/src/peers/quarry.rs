//! Quarry, through its public API only (what a user would write).

use std::hint::black_box;
use std::time::Instant;

use futures_util::TryStreamExt;
use quarry_driver::CopyRow;
use quarry_driver::copy::RowEncoder;
use quarry_driver::types::{EncodeError, Type, TypeInfo, TypeRef};
use quarry_driver::{
    Connection, FromRecord, Pool, PoolOptions, Row, query, query_as, query_scalar,
};

use super::{
    LATENCY_WARMUP, Step, W2_POOL, W2_TASKS, W3_DEPTH, WARMUP_QUERIES, in_tasks, share, usize_of,
    w2h_is_slow,
};
use crate::BoxError;
use crate::cli::WorkerArgs;
use crate::fixtures::{
    Aids, POINT_SELECT, W2H_SLOW, W4_SELECT, W4Row, W5_COPY, W5Row, W6_INSERT, W7_SELECT, W7Row,
    W9_INSERT, W9_RANGE, W9_RANGE_ROWS, W9_UPDATE, W9Keys, W9Row, w5_rows, w6_rows,
};
use crate::stats::{Latency, micros};
use crate::worker::Outcome;
use crate::workload::Workload;

impl<'r> FromRecord<'r> for W4Row {
    fn from_record(row: &'r Row) -> quarry_driver::Result<Self> {
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

impl<'r> FromRecord<'r> for W9Row {
    fn from_record(row: &'r Row) -> quarry_driver::Result<Self> {
        Ok(W9Row {
            aid: row.try_get(0)?,
            bid: row.try_get(1)?,
            abalance: row.try_get(2)?,
            filler: row.try_get(3)?,
        })
    }
}

impl<'r> FromRecord<'r> for W7Row {
    fn from_record(row: &'r Row) -> quarry_driver::Result<Self> {
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

async fn connect(args: &WorkerArgs) -> Result<Connection, BoxError> {
    Ok(Connection::connect(&args.url).await?)
}

async fn point_select(conn: &mut Connection, aid: i32) -> Result<i32, BoxError> {
    Ok(query_scalar::<i32>(POINT_SELECT)
        .bind(aid)
        .fetch_one(&mut *conn)
        .await?)
}

async fn w1(args: &WorkerArgs) -> Result<Outcome, BoxError> {
    let mut conn = connect(args).await?;
    let mut sum = 0i64;
    for aid in Aids::new(99).take(usize_of(WARMUP_QUERIES)) {
        sum += i64::from(point_select(&mut conn, aid).await?);
    }
    let start = Instant::now();
    for aid in Aids::new(1).take(usize_of(args.count)) {
        sum += i64::from(point_select(&mut conn, aid).await?);
    }
    let elapsed = start.elapsed();
    black_box(sum);
    Ok(Outcome::Done {
        ops: args.count,
        elapsed,
        method: Some("query_scalar(..).bind(aid).fetch_one (statement cache)"),
    })
}

async fn w2(args: &WorkerArgs) -> Result<Outcome, BoxError> {
    let pool: Pool = pool(args).await?;
    let round = |total: u64, seed: u64| {
        let tasks: Vec<_> = (0..W2_TASKS)
            .map(|t| {
                let pool = pool.clone();
                let n = share(total, W2_TASKS, t);
                tokio::spawn(async move {
                    let mut sum = 0i64;
                    for aid in Aids::new(seed + t).take(usize_of(n)) {
                        let v: i32 = query_scalar(POINT_SELECT)
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
        method: Some("Pool (8 connections, share_connections), query_scalar(..).fetch_one(&pool)"),
    })
}

/// The pool of W2h and W9: W2's, a plain `&pool` user.
/// The pool of W2, W2h and W9: queries on `&pool` share its connections, pipelined
/// (issue 18; `QUARRY_BENCH_SHARE=0` measures the checkout pool instead).
async fn pool(args: &WorkerArgs) -> Result<Pool, BoxError> {
    let share = std::env::var("QUARRY_BENCH_SHARE").map_or(true, |v| v != "0");
    Ok(PoolOptions::new()
        .max_connections(W2_POOL)
        .min_connections(W2_POOL)
        .share_connections(share)
        .connect(&args.url)
        .await?)
}

/// W2h's query `k`: the slow one, or a point select timed from the call to its row.
async fn w2h_query(pool: Pool, task: u64, k: u64, aid: i32) -> Step {
    if w2h_is_slow(task, k) {
        let v: String = query_scalar(W2H_SLOW).fetch_one(&pool).await?;
        return Ok((i64::try_from(v.len())?, None));
    }
    let start = Instant::now();
    let v: i32 = query_scalar(POINT_SELECT)
        .bind(aid)
        .fetch_one(&pool)
        .await?;
    Ok((i64::from(v), Some(micros(start.elapsed()))))
}

async fn w2h(args: &WorkerArgs) -> Result<Outcome, BoxError> {
    let pool = pool(args).await?;
    let (mut sum, _) = in_tasks(LATENCY_WARMUP, 1000, &pool, w2h_query).await?;
    let start = Instant::now();
    let (s, latencies) = in_tasks(args.count, 1, &pool, w2h_query).await?;
    let elapsed = start.elapsed();
    sum = sum.wrapping_add(s);
    black_box(sum);
    Ok(Outcome::Timed {
        ops: args.count,
        elapsed,
        method: "Pool (8 connections), query_scalar(..).fetch_one(&pool); the slow one too",
        latency: Latency::of("fast point selects", latencies),
    })
}

/// One W9 iteration: a point select, 20 rows into structs, and a timed transaction.
async fn w9_iteration(pool: Pool, _task: u64, _k: u64, aid: i32) -> Step {
    let keys = W9Keys::new(aid);
    let v: i32 = query_scalar(POINT_SELECT)
        .bind(keys.aid)
        .fetch_one(&pool)
        .await?;
    let rows = query_as::<W9Row>(W9_RANGE)
        .bind(keys.range_start)
        .fetch_all(&pool)
        .await?;
    if rows.len() != W9_RANGE_ROWS {
        return Err(format!("W9's range select returned {} rows", rows.len()).into());
    }
    let start = Instant::now();
    let mut tx = pool.begin().await?;
    query(W9_UPDATE)
        .bind(keys.delta)
        .bind(keys.aid)
        .execute(&mut tx)
        .await?;
    query(W9_INSERT)
        .bind(keys.tid)
        .bind(keys.bid)
        .bind(keys.aid)
        .bind(keys.delta)
        .execute(&mut tx)
        .await?;
    tx.commit().await?;
    let latency = micros(start.elapsed());
    let sum = rows.iter().map(W9Row::checksum).sum::<i64>() + i64::from(v);
    Ok((sum, Some(latency)))
}

async fn w9(args: &WorkerArgs) -> Result<Outcome, BoxError> {
    let pool = pool(args).await?;
    let (mut sum, _) = in_tasks(LATENCY_WARMUP, 1000, &pool, w9_iteration).await?;
    let start = Instant::now();
    let (s, latencies) = in_tasks(args.count, 1, &pool, w9_iteration).await?;
    let elapsed = start.elapsed();
    sum = sum.wrapping_add(s);
    black_box(sum);
    Ok(Outcome::Timed {
        ops: args.count,
        elapsed,
        method: "Pool (8 connections): query_scalar / query_as::<W9Row>(..).fetch_all(&pool), \
                 pool.begin() + 2 execute(&mut tx) + commit",
        latency: Latency::of("transactions", latencies),
    })
}

/// Runs `count` point selects as pipelines of [`W3_DEPTH`].
async fn pipelined(conn: &mut Connection, aids: &mut Aids, count: u64) -> Result<i64, BoxError> {
    let mut sum = 0i64;
    let mut left = count;
    while left > 0 {
        let n = left.min(W3_DEPTH as u64);
        let mut p = conn.pipeline();
        for aid in aids.by_ref().take(usize_of(n)) {
            p.push(query(POINT_SELECT).bind(aid));
        }
        for result in p.run().await? {
            let row = result
                .rows
                .first()
                .ok_or("a point select returned no row")?;
            sum += i64::from(row.try_get::<i32, _>(0)?);
        }
        left -= n;
    }
    Ok(sum)
}

async fn w3(args: &WorkerArgs) -> Result<Outcome, BoxError> {
    let mut conn = connect(args).await?;
    let mut sum = pipelined(&mut conn, &mut Aids::new(99), WARMUP_QUERIES).await?;
    let start = Instant::now();
    sum += pipelined(&mut conn, &mut Aids::new(1), args.count).await?;
    let elapsed = start.elapsed();
    black_box(sum);
    Ok(Outcome::Done {
        ops: args.count,
        elapsed,
        method: Some("conn.pipeline(): 100 queries per run(), one Sync"),
    })
}

async fn w4(args: &WorkerArgs) -> Result<Outcome, BoxError> {
    let mut conn = connect(args).await?;
    let limit = i64::try_from(args.count)?;
    let warm = query_as::<W4Row>(W4_SELECT)
        .bind(10i64)
        .fetch_all(&mut conn)
        .await?;
    black_box(warm);
    let start = Instant::now();
    let rows = query_as::<W4Row>(W4_SELECT)
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
        method: Some("query_as::<W4Row>(..).fetch_all (FromRecord by position)"),
    })
}

/// W5's row for the typed COPY writer, written by hand (what the derive would generate).
impl CopyRow for W5Row {
    const COLUMNS: usize = 3;
    fn column_types() -> Vec<TypeRef> {
        vec![i64::type_ref(), String::type_ref(), f64::type_ref()]
    }
    fn compatible(column: usize, ty: &TypeInfo) -> bool {
        match column {
            0 => i64::compatible(ty),
            1 => String::compatible(ty),
            2 => f64::compatible(ty),
            _ => false,
        }
    }
    fn encode_row(&self, row: &mut RowEncoder<'_>) -> Result<(), EncodeError> {
        row.field(&self.a)?;
        row.field(&self.b)?;
        row.field(&self.c)
    }
}

async fn copy_w5(conn: &mut Connection, rows: &[W5Row]) -> Result<u64, BoxError> {
    let mut writer = conn.copy_in::<W5Row>(W5_COPY).await?;
    writer.write_all(rows).await?;
    Ok(writer.finish().await?)
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
        method: Some("copy_in::<W5Row> typed writer, write_all"),
    })
}

async fn w6(args: &WorkerArgs) -> Result<Outcome, BoxError> {
    let mut conn = connect(args).await?;
    let warm = w6_rows(100);
    conn.execute_many(W6_INSERT, warm.iter().map(row_args))
        .await?;
    let rows = w6_rows(args.count);
    let start = Instant::now();
    let n = conn
        .execute_many(W6_INSERT, rows.iter().map(row_args))
        .await?;
    let elapsed = start.elapsed();
    if n != args.count {
        return Err(format!("W6 inserted {n} rows, expected {}", args.count).into());
    }
    Ok(Outcome::Done {
        ops: args.count,
        elapsed,
        method: Some("conn.execute_many: rows streamed 32 KB at a time, one Sync"),
    })
}

type W6Args<'a> = (i32, i32, i32, &'a str, f64, i32, &'a str);

fn row_args(r: &crate::fixtures::W6Row) -> W6Args<'_> {
    (r.a, r.b, r.c, &r.d, r.e, r.f, &r.g)
}

async fn w7(args: &WorkerArgs) -> Result<Outcome, BoxError> {
    let mut conn = connect(args).await?;
    let limit = i64::try_from(args.count)?;
    let warm = query_as::<W7Row>(W7_SELECT)
        .bind(10i64)
        .fetch_all(&mut conn)
        .await?;
    black_box(warm);
    let start = Instant::now();
    let mut n = 0u64;
    let mut sum = 0u64;
    {
        let mut rows = query_as::<W7Row>(W7_SELECT).bind(limit).fetch(&mut conn);
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
        method: Some("query_as::<W7Row>(..).fetch (RowStream)"),
    })
}
