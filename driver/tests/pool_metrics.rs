//! The `metrics` feature against a real server: a pool under load publishes its gauges,
//! counters and acquire-wait histogram to the installed recorder (a small one written
//! here, installed with `metrics::with_local_recorder`), and they agree with
//! `Pool::status()`.
#![cfg(all(feature = "temp-server", feature = "metrics", unix))]

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use metrics::{
    Counter, CounterFn, Gauge, GaugeFn, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder,
    SharedString, Unit,
};
use quarry_driver::{ErrorKind, PoolOptions, TempServer, query};

static SERVER: OnceLock<TempServer> = OnceLock::new();

fn server() -> &'static TempServer {
    SERVER.get_or_init(|| TempServer::start().expect("starting the test server"))
}

// --- A recorder that keeps every value --------------------------------------------------

#[derive(Default)]
struct Value(AtomicU64);

impl CounterFn for Value {
    fn increment(&self, value: u64) {
        self.0.fetch_add(value, Ordering::Relaxed);
    }
    fn absolute(&self, value: u64) {
        self.0.fetch_max(value, Ordering::Relaxed);
    }
}

impl GaugeFn for Value {
    fn increment(&self, value: f64) {
        let old = f64::from_bits(self.0.load(Ordering::Relaxed));
        self.0.store((old + value).to_bits(), Ordering::Relaxed);
    }
    fn decrement(&self, value: f64) {
        let old = f64::from_bits(self.0.load(Ordering::Relaxed));
        self.0.store((old - value).to_bits(), Ordering::Relaxed);
    }
    fn set(&self, value: f64) {
        self.0.store(value.to_bits(), Ordering::Relaxed);
    }
}

#[derive(Default)]
struct Samples(Mutex<Vec<f64>>);

impl HistogramFn for Samples {
    fn record(&self, value: f64) {
        self.0.lock().unwrap().push(value);
    }
}

#[derive(Default)]
struct Collect {
    counters: Mutex<HashMap<String, Arc<Value>>>,
    gauges: Mutex<HashMap<String, Arc<Value>>>,
    histograms: Mutex<HashMap<String, Arc<Samples>>>,
    units: Mutex<BTreeMap<String, Option<Unit>>>,
}

/// `name{label=value,...}` with the labels sorted.
fn render(key: &Key) -> String {
    let mut labels: Vec<String> = key
        .labels()
        .map(|l| format!("{}={}", l.key(), l.value()))
        .collect();
    labels.sort();
    format!("{}{{{}}}", key.name(), labels.join(","))
}

impl Recorder for Collect {
    fn describe_counter(&self, key: KeyName, unit: Option<Unit>, _: SharedString) {
        self.units
            .lock()
            .unwrap()
            .insert(key.as_str().to_owned(), unit);
    }
    fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, _: SharedString) {
        self.units
            .lock()
            .unwrap()
            .insert(key.as_str().to_owned(), unit);
    }
    fn describe_histogram(&self, key: KeyName, unit: Option<Unit>, _: SharedString) {
        self.units
            .lock()
            .unwrap()
            .insert(key.as_str().to_owned(), unit);
    }
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        let v = self
            .counters
            .lock()
            .unwrap()
            .entry(render(key))
            .or_default()
            .clone();
        Counter::from_arc(v)
    }
    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        let v = self
            .gauges
            .lock()
            .unwrap()
            .entry(render(key))
            .or_default()
            .clone();
        Gauge::from_arc(v)
    }
    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        let v = self
            .histograms
            .lock()
            .unwrap()
            .entry(render(key))
            .or_default()
            .clone();
        Histogram::from_arc(v)
    }
}

impl Collect {
    fn counter(&self, key: &str) -> u64 {
        let map = self.counters.lock().unwrap();
        let v = map
            .get(key)
            .unwrap_or_else(|| panic!("no counter {key}: {:?}", map.keys()));
        v.0.load(Ordering::Relaxed)
    }
    fn gauge(&self, key: &str) -> f64 {
        let map = self.gauges.lock().unwrap();
        let v = map
            .get(key)
            .unwrap_or_else(|| panic!("no gauge {key}: {:?}", map.keys()));
        f64::from_bits(v.0.load(Ordering::Relaxed))
    }
    fn histogram(&self, key: &str) -> Vec<f64> {
        let map = self.histograms.lock().unwrap();
        let v = map
            .get(key)
            .unwrap_or_else(|| panic!("no histogram {key}: {:?}", map.keys()));
        v.0.lock().unwrap().clone()
    }
}

// --- The test -------------------------------------------------------------------------

#[test]
fn a_pool_under_load_publishes_what_its_status_says() {
    let rec = Collect::default();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let url = server().url();
    let (status, calls, held) = metrics::with_local_recorder(&rec, || {
        rt.block_on(async {
            let pool = PoolOptions::new()
                .name("load")
                .max_connections(4)
                .acquire_timeout(Duration::from_millis(300))
                .connect_lazy(&url)
                .unwrap();
            // 32 tasks of 5 queries each over 4 connections: most acquires wait.
            let mut tasks = Vec::new();
            for _ in 0..32 {
                let pool = pool.clone();
                tasks.push(tokio::spawn(async move {
                    for _ in 0..5 {
                        query("SELECT pg_sleep(0.002)").execute(&pool).await?;
                    }
                    Ok::<(), quarry_driver::Error>(())
                }));
            }
            for t in tasks {
                t.await.unwrap().unwrap();
            }
            // Every connection held: one more acquire times out.
            let mut held = Vec::new();
            for _ in 0..4 {
                held.push(pool.acquire().await.unwrap());
            }
            let e = pool.acquire().await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::PoolTimedOut);
            // Two returned, two still in use.
            held.truncate(2);
            // A returned connection goes back to the idle set once its cleanup ran.
            for _ in 0..500 {
                if pool.status().idle == 2 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            // Kept until the gauges are read.
            (pool.status(), 32 * 5 + 4 + 1, held)
        })
    });

    let load = "pool=load";
    assert_eq!(status.acquired, 32 * 5 + 4, "{status:?}");
    assert_eq!((status.idle, status.in_use), (2, 2), "{status:?}");
    assert_eq!(
        rec.counter(&format!("quarry_pool_acquires_total{{{load}}}")),
        status.acquired
    );
    assert_eq!(
        rec.counter(&format!("quarry_pool_acquire_timeouts_total{{{load}}}")),
        1
    );
    assert_eq!(
        rec.counter(&format!("quarry_pool_connects_total{{{load}}}")),
        status.opened
    );
    assert_eq!(status.opened, 4, "{status:?}");
    assert_eq!(
        rec.counter(&format!("quarry_pool_connect_failures_total{{{load}}}")),
        0
    );
    assert_eq!(
        rec.counter(&format!("quarry_pool_connections_closed_total{{{load}}}")),
        status.closed
    );
    assert_eq!(
        rec.gauge(&format!("quarry_pool_connections{{{load},state=in_use}}")),
        2.0
    );
    assert_eq!(
        rec.gauge(&format!("quarry_pool_connections{{{load},state=idle}}")),
        2.0
    );
    assert_eq!(
        rec.gauge(&format!("quarry_pool_connections{{{load},state=opening}}")),
        0.0
    );
    assert_eq!(rec.gauge(&format!("quarry_pool_waiters{{{load}}}")), 0.0);
    assert_eq!(
        rec.gauge(&format!("quarry_pool_max_connections{{{load}}}")),
        4.0
    );

    // One sample per acquire, in seconds; their sum is the status's total wait.
    let waits = rec.histogram(&format!("quarry_pool_acquire_seconds{{{load}}}"));
    assert_eq!(waits.len(), calls, "one sample per Pool::acquire");
    let timed_out = waits.iter().cloned().fold(0.0, f64::max);
    assert!(
        timed_out >= 0.25,
        "the timed-out acquire waited {timed_out} s"
    );
    let sum: f64 = waits.iter().sum();
    let total = status.acquire_wait.as_secs_f64();
    assert!(
        (sum - total).abs() < 0.001,
        "histogram sum {sum} s, status acquire_wait {total} s"
    );

    let units = rec.units.lock().unwrap();
    assert_eq!(
        units.get("quarry_pool_acquire_seconds"),
        Some(&Some(Unit::Seconds))
    );
    assert_eq!(
        units.get("quarry_pool_connections"),
        Some(&Some(Unit::Count))
    );
    drop(units);
    rt.block_on(async move { drop(held) });
}

#[test]
fn unnamed_pools_get_distinct_series() {
    let rec = Collect::default();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let url = server().url();
    metrics::with_local_recorder(&rec, || {
        rt.block_on(async {
            let a = PoolOptions::new().connect_lazy(&url).unwrap();
            let b = PoolOptions::new().connect_lazy(&url).unwrap();
            query("SELECT 1").execute(&a).await.unwrap();
            query("SELECT 1").execute(&b).await.unwrap();
            query("SELECT 1").execute(&b).await.unwrap();
        })
    });
    let counters = rec.counters.lock().unwrap();
    let acquires: Vec<(&String, u64)> = counters
        .iter()
        .filter(|(k, _)| k.starts_with("quarry_pool_acquires_total{pool=pool-"))
        .map(|(k, v)| (k, v.0.load(Ordering::Relaxed)))
        .collect();
    assert_eq!(acquires.len(), 2, "{acquires:?}");
    let mut counts: Vec<u64> = acquires.iter().map(|(_, n)| *n).collect();
    counts.sort();
    assert_eq!(counts, [1, 2], "{acquires:?}");
}
