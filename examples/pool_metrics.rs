//! The pool's metrics through the `metrics` crate's facade (feature `metrics`).
//!
//! ```sh
//! cargo run --example pool_metrics --features metrics
//! ```
//!
//! A real application installs an exporter as the recorder
//! (`metrics_exporter_prometheus::PrometheusBuilder::new().install()?`, or an
//! OpenTelemetry bridge); the driver only talks to the facade. This example installs a
//! small recorder that keeps the last value of every series, loads a pool with more tasks
//! than connections, and prints every series (see the observability guide for the names).
//!
//! Uses `DATABASE_URL` when it is set; otherwise starts a throwaway PostgreSQL.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use metrics::{
    Counter, CounterFn, Gauge, GaugeFn, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder,
    SharedString, Unit,
};
use quarry::{PoolOptions, TempServer};

/// The value of one series: a counter's count, a gauge's value, or a histogram's samples
/// (count and sum).
#[derive(Default)]
struct Series {
    bits: AtomicU64,
    samples: Mutex<(u64, f64)>,
}

impl CounterFn for Series {
    fn increment(&self, v: u64) {
        self.bits.fetch_add(v, Ordering::Relaxed);
    }
    fn absolute(&self, v: u64) {
        self.bits.fetch_max(v, Ordering::Relaxed);
    }
}

impl GaugeFn for Series {
    fn increment(&self, v: f64) {
        self.set(f64::from_bits(self.bits.load(Ordering::Relaxed)) + v);
    }
    fn decrement(&self, v: f64) {
        self.set(f64::from_bits(self.bits.load(Ordering::Relaxed)) - v);
    }
    fn set(&self, v: f64) {
        self.bits.store(v.to_bits(), Ordering::Relaxed);
    }
}

impl HistogramFn for Series {
    fn record(&self, v: f64) {
        let mut s = self.samples.lock().unwrap();
        s.0 += 1;
        s.1 += v;
    }
}

#[derive(Default, Clone)]
struct Printer {
    series: Arc<Mutex<BTreeMap<(&'static str, String), Arc<Series>>>>,
}

impl Printer {
    fn get(&self, kind: &'static str, key: &Key) -> Arc<Series> {
        let labels: Vec<String> = key
            .labels()
            .map(|l| format!("{}=\"{}\"", l.key(), l.value()))
            .collect();
        let name = format!("{}{{{}}}", key.name(), labels.join(","));
        self.series
            .lock()
            .unwrap()
            .entry((kind, name))
            .or_default()
            .clone()
    }

    fn print(&self) {
        for ((kind, name), s) in self.series.lock().unwrap().iter() {
            match *kind {
                "counter" => println!("{name} {}", s.bits.load(Ordering::Relaxed)),
                "gauge" => println!("{name} {}", f64::from_bits(s.bits.load(Ordering::Relaxed))),
                _ => {
                    let (count, sum) = *s.samples.lock().unwrap();
                    println!("{name} count {count} sum {sum:.6} s");
                }
            }
        }
    }
}

impl Recorder for Printer {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(self.get("counter", key))
    }
    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(self.get("gauge", key))
    }
    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::from_arc(self.get("histogram", key))
    }
}

#[tokio::main]
async fn main() -> quarry::Result<()> {
    let printer = Printer::default();
    metrics::set_global_recorder(printer.clone()).expect("no recorder was installed yet");

    let (url, _server) = match std::env::var("DATABASE_URL") {
        Ok(url) => (url, None),
        Err(_) => {
            let server = TempServer::start()?;
            (server.url(), Some(server))
        }
    };
    let pool = PoolOptions::new()
        .name("app")
        .max_connections(4)
        .connect(&url)
        .await?;

    // 32 tasks, each holding a connection for a 10 ms query: 8 rounds over 4 connections.
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            quarry::query("SELECT pg_sleep(0.01)").execute(&pool).await
        }));
    }
    for t in tasks {
        t.await.expect("a query task")?;
    }

    printer.print();
    let st = pool.status();
    println!("Pool::status(): {st:?}");
    pool.close().await;
    Ok(())
}
