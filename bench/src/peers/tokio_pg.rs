//! tokio-postgres 0.7 (and deadpool-postgres 0.14 for the pool), used the way its docs
//! recommend for speed: explicit `prepare` (or deadpool's `prepare_cached`), pipelining
//! by polling futures concurrently, `query_raw` to stream, `BinaryCopyInWriter`.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use futures_util::{StreamExt, TryStreamExt, pin_mut};
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, NoTls, Row, Statement};

use super::{
    LATENCY_WARMUP, Step, W2_POOL, W2_TASKS, W3_DEPTH, WARMUP_QUERIES, in_tasks, share, usize_of,
    w2h_is_slow,
};
use crate::BoxError;
use crate::cli::WorkerArgs;
use crate::fixtures::{
    Aids, POINT_SELECT, W2H_SLOW, W4_SELECT, W4Row, W5_COPY, W6_INSERT, W7_SELECT, W7Row,
    W9_INSERT, W9_RANGE, W9_RANGE_ROWS, W9_UPDATE, W9Keys, W9Row, w5_rows, w6_rows,
};
use crate::stats::{Latency, micros};
use crate::worker::Outcome;
use crate::workload::Workload;

fn w4_row(row: &Row) -> Result<W4Row, tokio_postgres::Error> {
    Ok(W4Row {
        a: row.try_get(0)?,
        b: row.try_get(1)?,
        c: row.try_get(2)?,
        d: row.try_get(3)?,
        e: row.try_get(4)?,
        f: row.try_get(5)?,
    })
}

fn w9_row(row: &Row) -> Result<W9Row, tokio_postgres::Error> {
    Ok(W9Row {
        aid: row.try_get(0)?,
        bid: row.try_get(1)?,
        abalance: row.try_get(2)?,
        filler: row.try_get(3)?,
    })
}

fn w7_row(row: &Row) -> Result<W7Row, tokio_postgres::Error> {
    Ok(W7Row {
        a: row.try_get(0)?,
        b: row.try_get(1)?,
    })
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

/// tokio-postgres with 8 clients shared by the 64 tasks, no pool (W2 and W2h only).
pub(crate) async fn run_shared(args: &WorkerArgs) -> Result<Outcome, BoxError> {
    match args.workload {
        Workload::W2 => w2_shared(args).await,
        Workload::W2h => w2h_shared(args).await,
        w => Err(format!("{w} has no shared-clients variant").into()),
    }
}

async fn connect(args: &WorkerArgs) -> Result<Client, BoxError> {
    let (client, connection) = tokio_postgres::connect(&args.url, NoTls).await?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            eprintln!("tokio-postgres connection: {e}");
        }
    });
    Ok(client)
}

async fn w1(args: &WorkerArgs) -> Result<Outcome, BoxError> {
    let client = connect(args).await?;
    let stmt = client.prepare(POINT_SELECT).await?;
    let mut sum = 0i64;
    for aid in Aids::new(99).take(usize_of(WARMUP_QUERIES)) {
        sum += i64::from(
            client
                .query_one(&stmt, &[&aid])
                .await?
                .try_get::<_, i32>(0)?,
        );
    }
    let start = Instant::now();
    for aid in Aids::new(1).take(usize_of(args.count)) {
        sum += i64::from(
            client
                .query_one(&stmt, &[&aid])
                .await?
                .try_get::<_, i32>(0)?,
        );
    }
    let elapsed = start.elapsed();
    black_box(sum);
    Ok(Outcome::Done {
        ops: args.count,
        elapsed,
        method: Some("prepare once, query_one(&stmt)"),
    })
}

async fn w2(args: &WorkerArgs) -> Result<Outcome, BoxError> {
    let config: tokio_postgres::Config = args.url.parse()?;
    let manager = deadpool_postgres::Manager::from_config(
        config,
        NoTls,
        deadpool_postgres::ManagerConfig {
            recycling_method: deadpool_postgres::RecyclingMethod::Fast,
        },
    );
    let pool = deadpool_postgres::Pool::builder(manager)
        .max_size(W2_POOL)
        .build()?;
    let round = |total: u64, seed: u64| {
        let tasks: Vec<_> = (0..W2_TASKS)
            .map(|t| {
                let pool = pool.clone();
                let n = share(total, W2_TASKS, t);
                tokio::spawn(async move {
                    let mut sum = 0i64;
                    for aid in Aids::new(seed + t).take(usize_of(n)) {
                        let client = pool.get().await?;
                        let stmt = client.prepare_cached(POINT_SELECT).await?;
                        sum += i64::from(
                            client
                                .query_one(&stmt, &[&aid])
                                .await?
                                .try_get::<_, i32>(0)?,
                        );
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
            "deadpool-postgres (Fast recycling), get() + prepare_cached + query_one per query",
        ),
    })
}

/// deadpool-postgres as W2 has it.
fn deadpool(args: &WorkerArgs) -> Result<deadpool_postgres::Pool, BoxError> {
    let config: tokio_postgres::Config = args.url.parse()?;
    let manager = deadpool_postgres::Manager::from_config(
        config,
        NoTls,
        deadpool_postgres::ManagerConfig {
            recycling_method: deadpool_postgres::RecyclingMethod::Fast,
        },
    );
    Ok(deadpool_postgres::Pool::builder(manager)
        .max_size(W2_POOL)
        .build()?)
}

async fn w2h_query(pool: deadpool_postgres::Pool, task: u64, k: u64, aid: i32) -> Step {
    if w2h_is_slow(task, k) {
        let client = pool.get().await?;
        let stmt = client.prepare_cached(W2H_SLOW).await?;
        let v: String = client.query_one(&stmt, &[]).await?.try_get(0)?;
        return Ok((i64::try_from(v.len())?, None));
    }
    let start = Instant::now();
    let client = pool.get().await?;
    let stmt = client.prepare_cached(POINT_SELECT).await?;
    let v: i32 = client.query_one(&stmt, &[&aid]).await?.try_get(0)?;
    drop(client);
    Ok((i64::from(v), Some(micros(start.elapsed()))))
}

async fn w2h(args: &WorkerArgs) -> Result<Outcome, BoxError> {
    let pool = deadpool(args)?;
    let (mut sum, _) = in_tasks(LATENCY_WARMUP, 1000, &pool, w2h_query).await?;
    let start = Instant::now();
    let (s, latencies) = in_tasks(args.count, 1, &pool, w2h_query).await?;
    let elapsed = start.elapsed();
    sum = sum.wrapping_add(s);
    black_box(sum);
    Ok(Outcome::Timed {
        ops: args.count,
        elapsed,
        method: "deadpool-postgres (Fast recycling), get() + prepare_cached + query_one per query",
        latency: Latency::of("fast point selects", latencies),
    })
}

async fn w9_iteration(pool: deadpool_postgres::Pool, _task: u64, _k: u64, aid: i32) -> Step {
    let keys = W9Keys::new(aid);
    let v: i32 = {
        let client = pool.get().await?;
        let stmt = client.prepare_cached(POINT_SELECT).await?;
        client.query_one(&stmt, &[&keys.aid]).await?.try_get(0)?
    };
    let rows = {
        let client = pool.get().await?;
        let stmt = client.prepare_cached(W9_RANGE).await?;
        let params: [&(dyn ToSql + Sync); 1] = [&keys.range_start];
        let stream = client.query_raw(&stmt, params).await?;
        pin_mut!(stream);
        let mut rows = Vec::new();
        while let Some(row) = stream.try_next().await? {
            rows.push(w9_row(&row)?);
        }
        rows
    };
    if rows.len() != W9_RANGE_ROWS {
        return Err(format!("W9's range select returned {} rows", rows.len()).into());
    }
    let start = Instant::now();
    {
        let mut client = pool.get().await?;
        let tx = client.transaction().await?;
        let update = tx.prepare_cached(W9_UPDATE).await?;
        tx.execute(&update, &[&keys.delta, &keys.aid]).await?;
        let insert = tx.prepare_cached(W9_INSERT).await?;
        tx.execute(&insert, &[&keys.tid, &keys.bid, &keys.aid, &keys.delta])
            .await?;
        tx.commit().await?;
    }
    let latency = micros(start.elapsed());
    let sum = rows.iter().map(W9Row::checksum).sum::<i64>() + i64::from(v);
    Ok((sum, Some(latency)))
}

async fn w9(args: &WorkerArgs) -> Result<Outcome, BoxError> {
    let pool = deadpool(args)?;
    let (mut sum, _) = in_tasks(LATENCY_WARMUP, 1000, &pool, w9_iteration).await?;
    let start = Instant::now();
    let (s, latencies) = in_tasks(args.count, 1, &pool, w9_iteration).await?;
    let elapsed = start.elapsed();
    sum = sum.wrapping_add(s);
    black_box(sum);
    Ok(Outcome::Timed {
        ops: args.count,
        elapsed,
        method: "deadpool-postgres (Fast recycling): a get() per statement with prepare_cached, \
                 query_one / query_raw into Vec<W9Row>; get() + transaction() + 2 execute + commit",
        latency: Latency::of("transactions", latencies),
    })
}

/// [`W2_POOL`] clients, each with the point select (and W2h's slow query) prepared.
async fn shared_clients(
    args: &WorkerArgs,
) -> Result<Arc<Vec<(Client, Statement, Statement)>>, BoxError> {
    let mut clients = Vec::with_capacity(W2_POOL);
    for _ in 0..W2_POOL {
        let client = connect(args).await?;
        let point = client.prepare(POINT_SELECT).await?;
        let slow = client.prepare(W2H_SLOW).await?;
        clients.push((client, point, slow));
    }
    Ok(Arc::new(clients))
}

/// The client task `t` uses: tasks are dealt round the clients.
fn client_of(
    clients: &[(Client, Statement, Statement)],
    t: u64,
) -> &(Client, Statement, Statement) {
    &clients[usize_of(t) % clients.len()]
}

async fn w2_shared(args: &WorkerArgs) -> Result<Outcome, BoxError> {
    let clients = shared_clients(args).await?;
    let round = |total: u64, seed: u64| {
        let tasks: Vec<_> = (0..W2_TASKS)
            .map(|t| {
                let clients = clients.clone();
                let n = share(total, W2_TASKS, t);
                tokio::spawn(async move {
                    let (client, stmt, _) = client_of(&clients, t);
                    let mut sum = 0i64;
                    for aid in Aids::new(seed + t).take(usize_of(n)) {
                        sum += i64::from(
                            client
                                .query_one(stmt, &[&aid])
                                .await?
                                .try_get::<_, i32>(0)?,
                        );
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
            "8 tokio-postgres clients shared by the 64 tasks (task t uses client t % 8), \
             no pool: each client pipelines its tasks' query_one calls",
        ),
    })
}

async fn w2h_shared_query(
    clients: Arc<Vec<(Client, Statement, Statement)>>,
    task: u64,
    k: u64,
    aid: i32,
) -> Step {
    let (client, point, slow) = client_of(&clients, task);
    if w2h_is_slow(task, k) {
        let v: String = client.query_one(slow, &[]).await?.try_get(0)?;
        return Ok((i64::try_from(v.len())?, None));
    }
    let start = Instant::now();
    let v: i32 = client.query_one(point, &[&aid]).await?.try_get(0)?;
    Ok((i64::from(v), Some(micros(start.elapsed()))))
}

async fn w2h_shared(args: &WorkerArgs) -> Result<Outcome, BoxError> {
    let clients = shared_clients(args).await?;
    let (mut sum, _) = in_tasks(LATENCY_WARMUP, 1000, &clients, w2h_shared_query).await?;
    let start = Instant::now();
    let (s, latencies) = in_tasks(args.count, 1, &clients, w2h_shared_query).await?;
    let elapsed = start.elapsed();
    sum = sum.wrapping_add(s);
    black_box(sum);
    Ok(Outcome::Timed {
        ops: args.count,
        elapsed,
        method: "8 tokio-postgres clients shared by the 64 tasks (task t uses client t % 8), \
                 no pool",
        latency: Latency::of("fast point selects", latencies),
    })
}

async fn pipelined(
    client: &Client,
    stmt: &Statement,
    seed: u64,
    count: u64,
) -> Result<i64, BoxError> {
    let results = futures_util::stream::iter(Aids::new(seed).take(usize_of(count)))
        .map(|aid| async move { client.query_one(stmt, &[&aid]).await })
        .buffered(W3_DEPTH);
    pin_mut!(results);
    let mut sum = 0i64;
    while let Some(row) = results.try_next().await? {
        sum += i64::from(row.try_get::<_, i32>(0)?);
    }
    Ok(sum)
}

async fn w3(args: &WorkerArgs) -> Result<Outcome, BoxError> {
    let client = connect(args).await?;
    let stmt = client.prepare(POINT_SELECT).await?;
    let mut sum = pipelined(&client, &stmt, 99, WARMUP_QUERIES).await?;
    let start = Instant::now();
    sum += pipelined(&client, &stmt, 1, args.count).await?;
    let elapsed = start.elapsed();
    black_box(sum);
    Ok(Outcome::Done {
        ops: args.count,
        elapsed,
        method: Some("query_one futures polled concurrently, buffered(100): 100 always in flight"),
    })
}

async fn fetch_w4(client: &Client, stmt: &Statement, limit: i64) -> Result<Vec<W4Row>, BoxError> {
    let params: [&(dyn ToSql + Sync); 1] = [&limit];
    let rows = client.query_raw(stmt, params).await?;
    pin_mut!(rows);
    let mut out = Vec::new();
    while let Some(row) = rows.try_next().await? {
        out.push(w4_row(&row)?);
    }
    Ok(out)
}

async fn w4(args: &WorkerArgs) -> Result<Outcome, BoxError> {
    let client = connect(args).await?;
    let stmt = client.prepare(W4_SELECT).await?;
    black_box(fetch_w4(&client, &stmt, 10).await?);
    let start = Instant::now();
    let rows = fetch_w4(&client, &stmt, i64::try_from(args.count)?).await?;
    let elapsed = start.elapsed();
    let sum = rows.iter().fold(0u64, |s, r| s.wrapping_add(r.checksum()));
    black_box(sum);
    if rows.len() as u64 != args.count {
        return Err(format!("W4 fetched {} rows, expected {}", rows.len(), args.count).into());
    }
    Ok(Outcome::Done {
        ops: args.count,
        elapsed,
        method: Some("query_raw stream mapped into Vec<W4Row> (cheaper than query() + map)"),
    })
}

async fn copy_w5(client: &Client, rows: &[crate::fixtures::W5Row]) -> Result<u64, BoxError> {
    let sink = client.copy_in(W5_COPY).await?;
    let writer = BinaryCopyInWriter::new(sink, &[Type::INT8, Type::TEXT, Type::FLOAT8]);
    pin_mut!(writer);
    for r in rows {
        writer.as_mut().write(&[&r.a, &r.b, &r.c]).await?;
    }
    Ok(writer.finish().await?)
}

async fn w5(args: &WorkerArgs) -> Result<Outcome, BoxError> {
    let client = connect(args).await?;
    copy_w5(&client, &w5_rows(1_000)).await?;
    let rows = w5_rows(args.count);
    let start = Instant::now();
    let n = copy_w5(&client, &rows).await?;
    let elapsed = start.elapsed();
    if n != args.count {
        return Err(format!("W5 copied {n} rows, expected {}", args.count).into());
    }
    Ok(Outcome::Done {
        ops: args.count,
        elapsed,
        method: Some("copy_in + BinaryCopyInWriter::write"),
    })
}

async fn insert_w6(
    client: &Client,
    stmt: &Statement,
    rows: &[crate::fixtures::W6Row],
) -> Result<u64, BoxError> {
    client.batch_execute("BEGIN").await?;
    let inserts = rows.iter().map(|r| async move {
        client
            .execute(stmt, &[&r.a, &r.b, &r.c, &r.d, &r.e, &r.f, &r.g])
            .await
    });
    let counts = futures_util::future::try_join_all(inserts).await?;
    client.batch_execute("COMMIT").await?;
    Ok(counts.iter().sum())
}

async fn w6(args: &WorkerArgs) -> Result<Outcome, BoxError> {
    let client = connect(args).await?;
    let stmt = client.prepare(W6_INSERT).await?;
    insert_w6(&client, &stmt, &w6_rows(100)).await?;
    let rows = w6_rows(args.count);
    let start = Instant::now();
    let n = insert_w6(&client, &stmt, &rows).await?;
    let elapsed = start.elapsed();
    if n != args.count {
        return Err(format!("W6 inserted {n} rows, expected {}", args.count).into());
    }
    Ok(Outcome::Done {
        ops: args.count,
        elapsed,
        method: Some("BEGIN; prepared INSERT futures all polled at once (try_join_all); COMMIT"),
    })
}

async fn w7(args: &WorkerArgs) -> Result<Outcome, BoxError> {
    let client = connect(args).await?;
    let stmt = client.prepare(W7_SELECT).await?;
    let warm: [&(dyn ToSql + Sync); 1] = [&10i64];
    let rows = client.query_raw(&stmt, warm).await?;
    black_box(rows.try_collect::<Vec<_>>().await?);
    let limit = i64::try_from(args.count)?;
    let start = Instant::now();
    let params: [&(dyn ToSql + Sync); 1] = [&limit];
    let rows = client.query_raw(&stmt, params).await?;
    pin_mut!(rows);
    let mut n = 0u64;
    let mut sum = 0u64;
    while let Some(row) = rows.try_next().await? {
        let row = w7_row(&row)?;
        sum = sum
            .wrapping_add(row.a.unsigned_abs())
            .wrapping_add(row.b.len() as u64);
        n += 1;
    }
    let elapsed = start.elapsed();
    black_box(sum);
    if n != args.count {
        return Err(format!("W7 streamed {n} rows, expected {}", args.count).into());
    }
    Ok(Outcome::Done {
        ops: n,
        elapsed,
        method: Some("query_raw RowStream"),
    })
}
