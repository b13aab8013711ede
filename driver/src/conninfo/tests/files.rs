//! The password file and service files, read from real temporary files.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::{Arc, Mutex};

use super::{TempDir, env_of};
use crate::ErrorKind;
use crate::conninfo::{ConnectOptions, Host};

fn no_socket(_: &Path) -> bool {
    false
}

/// The password file's password for the first endpoint.
fn pgpass_password(opts: &ConnectOptions) -> Option<String> {
    let endpoint = opts.endpoints_with(&no_socket).unwrap().remove(0);
    opts.passfile_password(&endpoint)
        .map(|s| s.expose().to_owned())
}

const PGPASS: &str = "\
# host:port:database:user:password
db.example:5433:app:alice:tcp-secret
localhost:5432:app:alice:socket-secret
/srv/pg:5432:app:alice:srv-secret
127.0.0.1:*:*:*:addr-secret
*:*:*:bob:bob-secret
";

#[test]
fn pgpass_lookup_per_host() {
    let dir = TempDir::new();
    let file = dir.write("pgpass", PGPASS, 0o600);
    let env = [("PGPASSFILE", file.to_str().unwrap())];
    let opts = |s: &str| ConnectOptions::parse_with_env(s, env_of(&env)).unwrap();

    let tcp = opts("host=db.example port=5433 user=alice dbname=app");
    assert_eq!(pgpass_password(&tcp).as_deref(), Some("tcp-secret"));
    // The default socket directory is looked up as "localhost".
    let socket = opts("host=/var/run/postgresql user=alice dbname=app");
    assert_eq!(pgpass_password(&socket).as_deref(), Some("socket-secret"));
    // Other socket directories are looked up by path.
    let srv = opts("host=/srv/pg user=alice dbname=app");
    assert_eq!(pgpass_password(&srv).as_deref(), Some("srv-secret"));
    // With only hostaddr, the address is the host name.
    let addr = opts("hostaddr=127.0.0.1 user=carol");
    assert_eq!(pgpass_password(&addr).as_deref(), Some("addr-secret"));
    // dbname defaults to the user name before matching.
    let bob = opts("host=elsewhere user=bob");
    assert_eq!(pgpass_password(&bob).as_deref(), Some("bob-secret"));
    let nobody = opts("host=elsewhere user=nobody");
    assert_eq!(pgpass_password(&nobody), None);

    // Each host of a list is looked up on its own.
    let multi = opts("host=db.example,/var/run/postgresql port=5433,5432 user=alice dbname=app");
    let found: Vec<Option<String>> = multi
        .endpoints_with(&no_socket)
        .unwrap()
        .iter()
        .map(|e| multi.passfile_password(e).map(|s| s.expose().to_owned()))
        .collect();
    assert_eq!(
        found,
        [Some("tcp-secret".into()), Some("socket-secret".into())]
    );
}

#[test]
fn pgpass_from_passfile_keyword_and_home() {
    let dir = TempDir::new();
    let file = dir.write(".pgpass", "*:*:*:*:from-home\n", 0o600);
    let home = [("HOME", dir.path().to_str().unwrap())];
    let opts = ConnectOptions::parse_with_env("host=h", env_of(&home)).unwrap();
    assert_eq!(opts.get_passfile().unwrap(), file);
    assert_eq!(pgpass_password(&opts).as_deref(), Some("from-home"));

    let other = dir.write("other", "*:*:*:*:from-keyword\n", 0o600);
    let s = format!("host=h passfile='{}'", other.display());
    let opts = ConnectOptions::parse_with_env(&s, env_of(&home)).unwrap();
    assert_eq!(pgpass_password(&opts).as_deref(), Some("from-keyword"));

    let opts = ConnectOptions::new().host("h").user("u").passfile(&other);
    assert_eq!(pgpass_password(&opts).as_deref(), Some("from-keyword"));
}

#[test]
fn pgpass_missing_or_not_a_file_gives_no_password() {
    let dir = TempDir::new();
    let missing = dir.path().join("missing");
    let opts = ConnectOptions::new().host("h").user("u").passfile(&missing);
    assert_eq!(pgpass_password(&opts), None);
    let opts = ConnectOptions::new()
        .host("h")
        .user("u")
        .passfile(dir.path());
    let (password, events) = capture(|| pgpass_password(&opts));
    assert_eq!(password, None);
    assert!(
        events.iter().any(|e| e.contains("not a plain file")),
        "{events:?}"
    );
}

#[cfg(unix)]
#[test]
fn pgpass_readable_by_others_is_refused_with_a_warning() {
    let dir = TempDir::new();
    for mode in [0o644, 0o640, 0o604, 0o610] {
        let file = dir.write("pgpass", "*:*:*:*:Leaky-Sentinel-9\n", mode);
        let opts = ConnectOptions::new().host("h").user("u").passfile(&file);
        let (password, events) = capture(|| pgpass_password(&opts));
        assert_eq!(password, None, "mode {mode:o}");
        let warning = events
            .iter()
            .find(|e| e.starts_with("WARN") && e.contains("group or world access"))
            .unwrap_or_else(|| panic!("no warning for mode {mode:o}: {events:?}"));
        assert!(!warning.contains("Leaky-Sentinel-9"), "{warning}");
    }
    let file = dir.write("pgpass", "*:*:*:*:Leaky-Sentinel-9\n", 0o400);
    let opts = ConnectOptions::new().host("h").user("u").passfile(&file);
    assert_eq!(pgpass_password(&opts).as_deref(), Some("Leaky-Sentinel-9"));
}

// ---------------------------------------------------------------------------------------
// Service files

const SERVICES: &str = "\
# services for tests
[mydb]
host=svc-host
port=7000
dbname=svc-db
sslmode=verify-full

[other]
host=other-host

[broken]
host=x
sslmdoe=require
";

#[test]
fn service_values_sit_between_explicit_values_and_the_environment() {
    let dir = TempDir::new();
    let file = dir.write("services.conf", SERVICES, 0o644);
    let sysconf = dir.path_str("nothing-here");
    let env = [
        ("PGSERVICEFILE", file.to_str().unwrap()),
        ("PGSYSCONFDIR", sysconf.as_str()),
        ("PGPORT", "6000"),
        ("PGUSER", "envuser"),
    ];
    let opts = ConnectOptions::parse_with_env("service=mydb host=explicit", env_of(&env)).unwrap();
    let endpoints = opts.endpoints_with(&no_socket).unwrap();
    assert_eq!(
        endpoints[0].host,
        Host::Tcp("explicit".into()),
        "explicit wins"
    );
    assert_eq!(endpoints[0].port, 7000, "the service wins over PGPORT");
    assert_eq!(opts.get_dbname(), Some("svc-db"));
    assert_eq!(
        opts.get_user(),
        Some("envuser"),
        "the environment fills the rest"
    );
    assert_eq!(opts.get_ssl_mode(), crate::conninfo::SslMode::VerifyFull);
    assert!(opts.ssl_mode_is_explicit());
    assert_eq!(opts.get_service(), Some("mydb"));

    // The same through PGSERVICE and through a URI.
    let mut with_env = env.to_vec();
    with_env.push(("PGSERVICE", "other"));
    let opts = ConnectOptions::parse_with_env("", env_of(&with_env)).unwrap();
    assert_eq!(opts.get_hosts(), &[Some(Host::Tcp("other-host".into()))]);
    let opts = ConnectOptions::parse_with_env("postgres://?service=mydb", env_of(&env)).unwrap();
    assert_eq!(opts.get_dbname(), Some("svc-db"));
}

#[test]
fn service_errors() {
    let dir = TempDir::new();
    let file = dir.write("services.conf", SERVICES, 0o644);
    let sysconf = dir.path_str("nothing-here");
    let env = [
        ("PGSERVICEFILE", file.to_str().unwrap()),
        ("PGSYSCONFDIR", sysconf.as_str()),
    ];
    let parse = |s: &str| ConnectOptions::parse_with_env(s, env_of(&env));

    let err = parse("service=undefined-service").unwrap_err();
    assert!(
        err.to_string()
            .contains("definition of service \"undefined-service\" not found"),
        "{err}"
    );
    let err = parse("service=broken").unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("sslmdoe") && msg.contains("line 13"), "{msg}");

    let missing = dir.path_str("pg_service_missing.conf");
    let err = ConnectOptions::parse_with_env(
        "service=mydb",
        env_of(&[("PGSERVICEFILE", &missing), ("PGSYSCONFDIR", &sysconf)]),
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("pg_service_missing.conf\" not found"),
        "{err}"
    );
    assert_eq!(err.kind(), ErrorKind::Config);

    let bad_value = dir.write("bad.conf", "[s]\nsslmode=sometimes\n", 0o644);
    let err = ConnectOptions::parse_with_env(
        &format!("service=s servicefile='{}'", bad_value.display()),
        env_of(&[("PGSYSCONFDIR", &sysconf)]),
    )
    .unwrap_err();
    assert!(err.to_string().contains("service \"s\""), "{err}");
}

#[test]
fn system_service_file_is_searched_after_the_user_file() {
    let dir = TempDir::new();
    let sysconf = TempDir::new();
    sysconf.write(
        "pg_service.conf",
        "[sys]\nhost=sys-host\n[both]\nhost=sys-both\n",
        0o644,
    );
    // The user's default file in HOME.
    dir.write(".pg_service.conf", "[both]\nhost=user-both\n", 0o644);
    let env = [
        ("HOME", dir.path().to_str().unwrap()),
        ("PGSYSCONFDIR", sysconf.path().to_str().unwrap()),
    ];
    let host = |service: &str| {
        ConnectOptions::parse_with_env(&format!("service={service}"), env_of(&env))
            .unwrap()
            .get_hosts()
            .to_vec()
    };
    assert_eq!(host("sys"), [Some(Host::Tcp("sys-host".into()))]);
    assert_eq!(
        host("both"),
        [Some(Host::Tcp("user-both".into()))],
        "the user file wins"
    );

    // Without a user file the system file is still searched.
    let env = [("PGSYSCONFDIR", sysconf.path().to_str().unwrap())];
    let opts = ConnectOptions::parse_with_env("service=sys", env_of(&env)).unwrap();
    assert_eq!(opts.get_hosts(), &[Some(Host::Tcp("sys-host".into()))]);
}

// ---------------------------------------------------------------------------------------
// Capturing `tracing` events without a subscriber crate.

/// Runs `f` with a subscriber that records each event as "LEVEL field=value ...".
fn capture<T>(f: impl FnOnce() -> T) -> (T, Vec<String>) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let result = tracing::subscriber::with_default(Capture(events.clone()), f);
    let events = events.lock().unwrap().clone();
    (result, events)
}

struct Capture(Arc<Mutex<Vec<String>>>);

struct Fields(String);

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={:?}", field.name(), value);
    }
}

impl tracing::Subscriber for Capture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut fields = Fields(event.metadata().level().to_string());
        event.record(&mut fields);
        self.0.lock().unwrap().push(fields.0);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}
