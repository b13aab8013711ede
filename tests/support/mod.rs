//! Helpers shared by the integration tests: one server per test binary, unique
//! names, a tracing capture, and process memory readings.
//!
//! Each test binary includes this module with `mod support;`; not every binary
//! uses every helper.

#![allow(dead_code, unreachable_pub)]

pub mod fake;
pub mod pgbouncer;
pub mod proxy;
pub mod replay;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use quarry::temp_server::roles::{self, Role};
use quarry::{ConnectOptions, Connection, TempServer};

/// The TLS-enabled server of this test binary, started on first use. It also listens
/// on `127.0.0.2`, which its certificate does not name.
pub fn server() -> &'static TempServer {
    static SERVER: OnceLock<TempServer> = OnceLock::new();
    SERVER.get_or_init(|| {
        TempServer::builder()
            .also_listen_on("127.0.0.2")
            .start()
            .expect("start the test server (is PostgreSQL installed?)")
    })
}

mod chain;
// Not every test binary that includes this module walks error chains.
#[allow(unused_imports)]
pub use chain::chain;

/// A name no other test of this run uses: `<prefix>_<pid>_<n>`.
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "{prefix}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Options for `role` on `server` over TCP to 127.0.0.1 with `sslmode`, trusting the
/// server's CA; nothing comes from the environment.
pub fn options_for(
    server: &TempServer,
    role: Role,
    sslmode: quarry::config::SslMode,
) -> ConnectOptions {
    let mut opts = ConnectOptions::new()
        .host(server.host())
        .port(server.port())
        .user(role.name)
        .dbname("postgres")
        .ssl_mode(sslmode)
        .connect_timeout(std::time::Duration::from_secs(10));
    if let Some(pw) = role.password {
        opts = opts.password(pw);
    }
    if sslmode.verifies_certificate() {
        opts = opts.ssl_root_cert(server.ca_cert_path());
    }
    opts
}

/// A superuser connection over TCP without TLS.
pub async fn connect(server: &TempServer) -> Connection {
    Connection::connect_with(&options_for(
        server,
        roles::SUPERUSER,
        quarry::config::SslMode::Disable,
    ))
    .await
    .expect("connect as the superuser")
}

/// The tests of a binary that measure process memory run alone: they hold this lock
/// for writing ([`memory_exclusive`]), the binary's other tests for reading
/// ([`memory_shared`]), so their allocations do not show up in the measurement. An
/// async lock: each test holds it across its awaits, on its own runtime.
static MEMORY: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

/// Held by a test that allocates while a memory measurement must not see it.
pub async fn memory_shared() -> tokio::sync::RwLockReadGuard<'static, ()> {
    MEMORY.read().await
}

/// Held by a test that measures process memory.
pub async fn memory_exclusive() -> tokio::sync::RwLockWriteGuard<'static, ()> {
    MEMORY.write().await
}

/// Tests that assert on timing ratios (a share of operations served within a few
/// milliseconds) run alone among the tests of their binary that take [`timing_shared`]:
/// the other tests' CPU use would be what is measured.
static TIMING: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

/// Held by a test that must not overlap a timing-sensitive one.
pub async fn timing_shared() -> tokio::sync::RwLockReadGuard<'static, ()> {
    TIMING.read().await
}

/// Held by a timing-sensitive test.
pub async fn timing_exclusive() -> tokio::sync::RwLockWriteGuard<'static, ()> {
    TIMING.write().await
}

/// Resident memory of this process in KiB, from `/proc/self/status`.
pub fn rss_kib() -> u64 {
    status_field("VmRSS:")
}

/// A `kB` field of `/proc/self/status`.
pub fn status_field(name: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(name))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in /proc/self/status"))
}

/// A small pseudo-random generator (xorshift64*), seeded so a failure can be replayed.
pub struct Rng(u64);

impl Rng {
    /// Seeded from `QUARRY_TEST_SEED` if set, else from the clock; prints the seed.
    pub fn from_env(test: &str) -> Rng {
        let seed = std::env::var("QUARRY_TEST_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs().rotate_left(32) ^ u64::from(d.subsec_nanos()))
                    .unwrap_or(1)
            })
            | 1;
        eprintln!("{test}: QUARRY_TEST_SEED={seed}");
        Rng(seed)
    }

    /// Seeded with `seed` (a derived stream, for one of several tasks).
    pub fn seeded(seed: u64) -> Rng {
        Rng(seed | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

// --- Capturing tracing events ----------------------------------------------------------

/// One captured event: its level and its message with the other fields appended.
#[derive(Clone, Debug)]
pub struct Event {
    pub level: tracing::Level,
    pub text: String,
}

/// A tracing subscriber that records every event (all levels) and every span's name and
/// fields in memory.
#[derive(Clone, Default)]
pub struct Capture {
    events: Arc<Mutex<Vec<Event>>>,
    spans: Arc<Mutex<Vec<String>>>,
}

impl Capture {
    /// Everything recorded so far.
    pub fn events(&self) -> Vec<Event> {
        self.events.lock().unwrap().clone()
    }

    /// Every span opened so far: its name, then ` field=value` for each field recorded.
    #[allow(dead_code)] // used by some test binaries only
    pub fn spans(&self) -> Vec<String> {
        self.spans.lock().unwrap().clone()
    }

    /// Makes this the subscriber of the current thread until the guard is dropped.
    /// Use with a current-thread runtime (`#[tokio::test]`), whose tasks run on it.
    pub fn install(&self) -> tracing::subscriber::DefaultGuard {
        let guard = tracing::subscriber::set_default(self.clone());
        // Callsites first hit by tests running without a subscriber may have cached
        // "never"; recompute so this subscriber sees them.
        tracing::callsite::rebuild_interest_cache();
        guard
    }
}

struct Text(String);

impl tracing::field::Visit for Text {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        use std::fmt::Write;
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }
}

impl tracing::Subscriber for Capture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, attrs: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        let mut text = Text(attrs.metadata().name().to_owned());
        attrs.record(&mut text);
        let mut spans = self.spans.lock().unwrap();
        spans.push(text.0);
        tracing::span::Id::from_u64(u64::try_from(spans.len()).unwrap())
    }
    fn record(&self, id: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        let mut text = Text(String::new());
        values.record(&mut text);
        let mut spans = self.spans.lock().unwrap();
        if let Some(span) = usize::try_from(id.into_u64())
            .ok()
            .and_then(|i| i.checked_sub(1))
            .and_then(|i| spans.get_mut(i))
        {
            span.push_str(&text.0);
        }
    }
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut text = Text(String::new());
        event.record(&mut text);
        self.events.lock().unwrap().push(Event {
            level: *event.metadata().level(),
            text: text.0,
        });
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}
