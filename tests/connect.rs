//! Connecting to a real server: every authentication method with every `sslmode`,
//! each refusal as a typed error, certificates, channel binding, `require_auth`,
//! several hosts and `target_session_attrs`, Unix sockets, session information,
//! cancellation, notices, password sources, and secrets kept out of messages.
//!
//! The servers come from `TempServer` (roles and `pg_hba.conf` rules are in
//! `quarry::temp_server::roles`): one with TLS that also listens on 127.0.0.2 (not
//! named by its certificate), one without TLS, and a primary with a streaming
//! standby for `target_session_attrs`.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use quarry::config::{
    ChannelBinding, LoadBalanceHosts, ProtocolVersion, SslMode, SslNegotiation, TargetSessionAttrs,
};
use quarry::temp_server::roles::{self, Role};
use quarry::{
    ConnectOptions, Connection, Error, ErrorKind, SqlState, TempServer, TransactionStatus, query,
    query_scalar,
};
use support::{Capture, options_for, server, unique};

/// A server without TLS.
fn plain_server() -> &'static TempServer {
    static SERVER: OnceLock<TempServer> = OnceLock::new();
    SERVER.get_or_init(|| {
        TempServer::builder()
            .tls(false)
            .start()
            .expect("start the server without TLS")
    })
}

/// A primary with a hot standby streaming from it.
fn primary_and_standby() -> &'static (TempServer, TempServer) {
    static SERVERS: OnceLock<(TempServer, TempServer)> = OnceLock::new();
    SERVERS.get_or_init(|| {
        let primary = TempServer::builder()
            .replication(true)
            .start()
            .expect("start the primary");
        let standby = primary.start_standby().expect("start the standby");
        (primary, standby)
    })
}

const ALL_MODES: [SslMode; 6] = [
    SslMode::Disable,
    SslMode::Allow,
    SslMode::Prefer,
    SslMode::Require,
    SslMode::VerifyCa,
    SslMode::VerifyFull,
];

/// What a connection attempt should give.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    /// Connected, with TLS in use or not (as the server sees it in `pg_stat_ssl`).
    Connected { tls: bool },
    /// Refused with this kind of error.
    Refused(ErrorKind),
}

use Outcome::{Connected, Refused};

/// Whether the server sees this session as encrypted.
async fn tls_in_use(conn: &mut Connection) -> bool {
    query_scalar::<bool>("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .fetch_one(conn)
        .await
        .expect("read pg_stat_ssl")
}

async fn attempt(opts: &ConnectOptions) -> Result<Outcome, Error> {
    match Connection::connect_with(opts).await {
        Ok(mut conn) => {
            let tls = tls_in_use(&mut conn).await;
            let user: String = query_scalar("SELECT current_user::text")
                .fetch_one(&mut conn)
                .await?;
            assert_eq!(Some(user.as_str()), opts.get_user());
            conn.close().await?;
            Ok(Connected { tls })
        }
        Err(e) => Err(e),
    }
}

/// Runs every case; reports all mismatches at once.
async fn check_matrix(cases: Vec<(String, ConnectOptions, Outcome)>) {
    let mut failures = Vec::new();
    for (label, opts, want) in &cases {
        let got = attempt(opts).await;
        let ok = match (&got, want) {
            (Ok(got), want) => got == want,
            (Err(e), Refused(kind)) => e.kind() == *kind && !e.message().is_empty(),
            (Err(_), Connected { .. }) => false,
        };
        if !ok {
            failures.push(format!("{label}: want {want:?}, got {got:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

fn with_client_cert(server: &TempServer, opts: ConnectOptions) -> ConnectOptions {
    opts.ssl_cert(server.client_cert_path())
        .ssl_key(server.client_key_path())
}

// --- Authentication methods x sslmode ------------------------------------------------

#[tokio::test]
async fn every_auth_method_with_every_sslmode_against_a_tls_server() {
    let s = server();
    let mut cases = Vec::new();
    for mode in ALL_MODES {
        let tls_if_offered = mode != SslMode::Disable && mode != SslMode::Allow;
        for role in [roles::TRUST, roles::PASSWORD, roles::MD5, roles::SCRAM] {
            cases.push((
                format!("{} sslmode={mode}", role.name),
                options_for(s, role, mode),
                Connected {
                    tls: tls_if_offered,
                },
            ));
        }
        // hostssl only: allow retries with TLS after the plaintext refusal.
        cases.push((
            format!("ssl_only sslmode={mode}"),
            options_for(s, roles::SSL_ONLY, mode),
            match mode {
                SslMode::Disable => Refused(ErrorKind::Authentication),
                _ => Connected { tls: true },
            },
        ));
        // hostnossl only: prefer falls back to plaintext after the TLS refusal (libpq).
        cases.push((
            format!("nossl sslmode={mode}"),
            options_for(s, roles::NOSSL, mode),
            match mode {
                SslMode::Disable | SslMode::Allow | SslMode::Prefer => Connected { tls: false },
                _ => Refused(ErrorKind::Authentication),
            },
        ));
        // Client certificate: hostssl cert.
        cases.push((
            format!("cert sslmode={mode}"),
            with_client_cert(s, options_for(s, roles::CERT, mode)),
            match mode {
                SslMode::Disable => Refused(ErrorKind::Authentication),
                _ => Connected { tls: true },
            },
        ));
    }
    check_matrix(cases).await;
}

#[tokio::test]
async fn every_auth_method_with_every_sslmode_against_a_server_without_tls() {
    let s = plain_server();
    let mut cases = Vec::new();
    for mode in ALL_MODES {
        for role in [
            roles::TRUST,
            roles::PASSWORD,
            roles::MD5,
            roles::SCRAM,
            roles::NOSSL,
        ] {
            cases.push((
                format!("{} sslmode={mode}", role.name),
                options_for(s, role, mode),
                if mode.requires_tls() {
                    Refused(ErrorKind::Tls)
                } else {
                    Connected { tls: false }
                },
            ));
        }
        // Rejected by pg_hba.conf; allow then finds no TLS to retry with, and reports the
        // rejection.
        for role in [roles::SSL_ONLY, roles::CERT] {
            cases.push((
                format!("{} sslmode={mode}", role.name),
                options_for(s, role, mode),
                if mode.requires_tls() {
                    Refused(ErrorKind::Tls)
                } else {
                    Refused(ErrorKind::Authentication)
                },
            ));
        }
    }
    check_matrix(cases).await;
}

#[tokio::test]
async fn client_certificate_is_required_for_the_cert_role() {
    let s = server();
    let err = attempt(&options_for(s, roles::CERT, SslMode::Require))
        .await
        .expect_err("cert auth without a certificate");
    assert_eq!(err.kind(), ErrorKind::Authentication, "{err}");
    assert_eq!(
        err.code(),
        Some(&SqlState::InvalidAuthorizationSpecification),
        "{err}"
    );
}

// --- Certificate verification ---------------------------------------------------------

#[tokio::test]
async fn verify_full_checks_the_host_name_and_verify_ca_does_not() {
    let s = server();
    let to = |host: &str, mode| options_for(s, roles::TRUST, mode).host(host);
    // The certificate names 127.0.0.1.
    assert_eq!(
        attempt(&to("127.0.0.1", SslMode::VerifyFull))
            .await
            .unwrap(),
        Connected { tls: true }
    );
    let err = attempt(&to("127.0.0.2", SslMode::VerifyFull))
        .await
        .expect_err("127.0.0.2 is not in the certificate");
    assert_eq!(err.kind(), ErrorKind::Tls, "{err}");
    assert_certificate_refused(&err);
    assert_eq!(
        attempt(&to("127.0.0.2", SslMode::VerifyCa)).await.unwrap(),
        Connected { tls: true }
    );
}

#[tokio::test]
async fn an_untrusted_ca_is_refused() {
    let s = server();
    for mode in [SslMode::VerifyCa, SslMode::VerifyFull, SslMode::Require] {
        // With a root certificate configured, require verifies the chain (libpq).
        let opts = options_for(s, roles::TRUST, mode).ssl_root_cert(s.untrusted_ca_path());
        let err = attempt(&opts)
            .await
            .expect_err("the CA signed nothing here");
        assert_eq!(err.kind(), ErrorKind::Tls, "sslmode={mode}: {err}");
        assert_certificate_refused(&err);
    }
}

/// The error says the handshake failed and why, in words, once: rustls's own text
/// (`invalid peer certificate: UnknownIssuer`) used to appear twice in the chain.
fn assert_certificate_refused(err: &Error) {
    let shown = err.to_string();
    assert!(shown.contains("TLS handshake failed"), "{shown}");
    assert!(shown.contains("server certificate"), "{shown}");
    let chain = support::chain(err);
    assert_eq!(chain.matches("TLS handshake failed").count(), 1, "{chain}");
    assert!(!chain.contains("invalid peer certificate"), "{chain}");
}

#[tokio::test]
async fn verification_without_a_root_certificate_is_a_clear_error() {
    let s = server();
    for mode in [SslMode::VerifyCa, SslMode::VerifyFull] {
        let opts = ConnectOptions::new()
            .host(s.host())
            .port(s.port())
            .user("quarry_trust")
            .ssl_mode(mode);
        let err = attempt(&opts).await.expect_err("nothing to verify against");
        assert!(
            matches!(err.kind(), ErrorKind::Tls | ErrorKind::Config),
            "sslmode={mode}: {err}"
        );
        assert!(err.to_string().contains("root"), "sslmode={mode}: {err}");
    }
}

// --- Channel binding and require_auth -------------------------------------------------

#[tokio::test]
async fn channel_binding_require_needs_scram_plus_over_tls() {
    let s = server();
    let cb = |role: Role, mode| options_for(s, role, mode).channel_binding(ChannelBinding::Require);
    // SCRAM over TLS: the server offers SCRAM-SHA-256-PLUS.
    assert_eq!(
        attempt(&cb(roles::SCRAM, SslMode::Require)).await.unwrap(),
        Connected { tls: true }
    );
    assert_eq!(
        attempt(&cb(roles::SCRAM, SslMode::VerifyFull))
            .await
            .unwrap(),
        Connected { tls: true }
    );
    // No TLS, no PLUS: refused before connecting.
    let err = attempt(&cb(roles::SCRAM, SslMode::Disable))
        .await
        .expect_err("channel binding without TLS");
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert!(err.to_string().contains("channel_binding"), "{err}");
    for (role, mode) in [
        (roles::MD5, SslMode::Require),
        (roles::PASSWORD, SslMode::Require),
        (roles::TRUST, SslMode::Require), // AuthenticationOk without SASL
        (roles::CERT, SslMode::Require),
    ] {
        let opts = if role == roles::CERT {
            with_client_cert(s, cb(role, mode))
        } else {
            cb(role, mode)
        };
        let err = attempt(&opts).await.expect_err("no channel binding");
        assert_eq!(
            err.kind(),
            ErrorKind::Authentication,
            "{} sslmode={mode}: {err}",
            role.name
        );
        assert!(
            err.to_string().contains("channel binding")
                || err.to_string().contains("channel_binding"),
            "{} sslmode={mode}: {err}",
            role.name
        );
    }
    // disable still authenticates with plain SCRAM over TLS.
    let opts =
        options_for(s, roles::SCRAM, SslMode::Require).channel_binding(ChannelBinding::Disable);
    assert_eq!(attempt(&opts).await.unwrap(), Connected { tls: true });
}

#[tokio::test]
async fn require_auth_refuses_other_methods() {
    let s = server();
    let ra = |role: Role, methods: &str| {
        options_for(s, role, SslMode::Disable).require_auth(methods.to_owned())
    };
    for (role, methods) in [
        (roles::SCRAM, "scram-sha-256"),
        (roles::MD5, "md5"),
        (roles::PASSWORD, "password"),
        (roles::TRUST, "none"),
        (roles::SCRAM, "md5,scram-sha-256"),
        (roles::SCRAM, "!password"),
        (roles::MD5, "!password,!none"),
    ] {
        assert_eq!(
            attempt(&ra(role, methods)).await.map_err(|e| e.to_string()),
            Ok(Connected { tls: false }),
            "{} require_auth={methods}",
            role.name
        );
    }
    for (role, methods) in [
        (roles::MD5, "scram-sha-256"),
        (roles::PASSWORD, "scram-sha-256"),
        (roles::TRUST, "scram-sha-256"),
        (roles::SCRAM, "md5"),
        (roles::PASSWORD, "!password"),
        (roles::TRUST, "!none"),
        (roles::SCRAM, "none"),
    ] {
        let err = attempt(&ra(role, methods))
            .await
            .expect_err("method not allowed");
        assert_eq!(
            err.kind(),
            ErrorKind::Authentication,
            "{} require_auth={methods}: {err}",
            role.name
        );
    }
}

// --- Passwords ------------------------------------------------------------------------

#[tokio::test]
async fn wrong_and_missing_passwords_are_authentication_errors() {
    let s = server();
    for role in [roles::PASSWORD, roles::MD5, roles::SCRAM] {
        for mode in [SslMode::Disable, SslMode::Require] {
            let opts = options_for(s, role, mode).password("not-the-password");
            let err = attempt(&opts).await.expect_err("wrong password");
            assert_eq!(
                err.kind(),
                ErrorKind::Authentication,
                "{}: {err}",
                role.name
            );
            assert_eq!(
                err.code(),
                Some(&SqlState::InvalidPassword),
                "{}: {err}",
                role.name
            );
            let opts = ConnectOptions::new()
                .host(s.host())
                .port(s.port())
                .user(role.name)
                .dbname("postgres")
                .ssl_mode(mode);
            let err = attempt(&opts).await.expect_err("no password");
            assert_eq!(
                err.kind(),
                ErrorKind::Authentication,
                "{}: {err}",
                role.name
            );
            assert!(err.to_string().contains("password"), "{err}");
        }
    }
}

#[tokio::test]
async fn password_callback_is_asked_once_per_connection() {
    let s = server();
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let opts = options_for(s, roles::SCRAM, SslMode::Disable).password_callback(move || {
        let counter = counter.clone();
        async move {
            tokio::task::yield_now().await;
            counter.fetch_add(1, Ordering::SeqCst);
            Ok(roles::SCRAM.password.unwrap().to_owned())
        }
    });
    for n in 1..=3 {
        let mut conn = Connection::connect_with(&opts).await.unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), n);
        let one: i32 = query_scalar("SELECT 1").fetch_one(&mut conn).await.unwrap();
        assert_eq!(one, 1);
    }
    // A trust login never asks.
    let before = calls.load(Ordering::SeqCst);
    let trust = options_for(s, roles::TRUST, SslMode::Disable).password_callback({
        let counter = calls.clone();
        move || {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                Ok(String::new())
            }
        }
    });
    Connection::connect_with(&trust).await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), before);
    // The callback's error is the connection's error.
    let failing = options_for(s, roles::SCRAM, SslMode::Disable)
        .password_callback(|| async { Err(Error::new(ErrorKind::Config, "the vault is sealed")) });
    let err = Connection::connect_with(&failing).await.unwrap_err();
    assert!(err.to_string().contains("the vault is sealed"), "{err}");
}

#[tokio::test]
async fn pgpass_file_supplies_the_password() {
    use std::os::unix::fs::PermissionsExt;
    let s = server();
    let dir = std::env::temp_dir().join(unique("quarry_pgpass"));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("pgpass");
    std::fs::write(
        &path,
        format!(
            "# comment\n127.0.0.1:{}:*:quarry_md5:wrong-entry-for-other-db-does-not-match\n\
             other-host:*:*:*:nope\n\
             127.0.0.1:{}:postgres:quarry_scram:{}\n\
             *:*:*:quarry_md5:{}\n",
            s.port() + 1,
            s.port(),
            roles::SCRAM.password.unwrap(),
            roles::MD5.password.unwrap()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    for role in [roles::SCRAM, roles::MD5] {
        let url = format!(
            "postgres://{}@127.0.0.1:{}/postgres?sslmode=disable&passfile={}",
            role.name,
            s.port(),
            path.display()
        );
        let mut conn = Connection::connect(&url)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", role.name));
        let user: String = query_scalar("SELECT current_user::text")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(user, role.name);
    }
    // A file others can read is ignored, as in libpq: the password is then missing.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let opts = ConnectOptions::new()
        .host(s.host())
        .port(s.port())
        .user("quarry_scram")
        .dbname("postgres")
        .ssl_mode(SslMode::Disable)
        .passfile(&path);
    let err = Connection::connect_with(&opts).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Authentication, "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn secrets_never_appear_in_errors_or_options() {
    let s = server();
    const SENTINEL: &str = "Sentinel-Secret-7f3a9c";
    let mut texts = Vec::new();
    for role in [roles::PASSWORD, roles::MD5, roles::SCRAM] {
        for mode in [SslMode::Disable, SslMode::Require] {
            let opts = options_for(s, role, mode).password(SENTINEL);
            texts.push(format!("{opts:?}"));
            texts.push(opts.to_string());
            texts.push(opts.to_url_redacted());
            let err = Connection::connect_with(&opts)
                .await
                .expect_err("the sentinel is not the password");
            assert_eq!(err.kind(), ErrorKind::Authentication);
            texts.push(format!("{err}"));
            texts.push(format!("{err:?}"));
        }
    }
    // A URL with the password, parsed, then used for a failing connection.
    let url = format!(
        "postgres://quarry_scram:{SENTINEL}@127.0.0.1:{}/postgres?sslmode=disable&application_name=x",
        s.port()
    );
    let opts = ConnectOptions::parse(&url).unwrap();
    texts.push(format!("{opts:?}"));
    texts.push(opts.to_string());
    let err = Connection::connect(&url).await.unwrap_err();
    texts.push(format!("{err} {err:?}"));
    // A URL that fails to parse after the password.
    let bad = format!(
        "postgres://u:{SENTINEL}@127.0.0.1:{}/db?sslmode=bogus",
        s.port()
    );
    let err = ConnectOptions::parse(&bad).unwrap_err();
    texts.push(format!("{err} {err:?}"));
    let bad = format!("host=127.0.0.1 password={SENTINEL} port=notaport");
    let err = ConnectOptions::parse(&bad).unwrap_err();
    texts.push(format!("{err} {err:?}"));
    // A password callback's value.
    let cb = options_for(s, roles::SCRAM, SslMode::Disable)
        .password_callback(|| async { Ok(SENTINEL.to_owned()) });
    texts.push(format!("{cb:?}"));
    let err = Connection::connect_with(&cb).await.unwrap_err();
    texts.push(format!("{err} {err:?}"));
    // A connection's Debug.
    let conn = Connection::connect_with(&options_for(s, roles::SCRAM, SslMode::Require))
        .await
        .unwrap();
    texts.push(format!("{conn:?} {:?}", conn.cancel_token()));

    for t in &texts {
        assert!(!t.contains(SENTINEL), "the password leaked: {t}");
        assert!(
            !t.contains(roles::SCRAM.password.unwrap()),
            "the password leaked: {t}"
        );
    }
}

// --- TLS negotiation details ------------------------------------------------------------

#[tokio::test]
async fn prefer_warns_when_it_falls_back_to_plaintext() {
    let capture = Capture::default();
    let _guard = capture.install();
    // The server offers no TLS.
    let opts = options_for(plain_server(), roles::TRUST, SslMode::Prefer);
    assert_eq!(attempt(&opts).await.unwrap(), Connected { tls: false });
    let warned = |capture: &Capture| {
        capture
            .events()
            .into_iter()
            .filter(|e| e.level == tracing::Level::WARN)
            .map(|e| e.text)
            .collect::<Vec<_>>()
    };
    let warnings = warned(&capture);
    assert!(
        warnings.iter().any(|w| w.contains("without encryption")),
        "no warning about the plaintext fallback: {warnings:?}"
    );
    // TLS is offered but refused for this role (hostnossl): plaintext retry, with a warning.
    let capture = Capture::default();
    let _guard = capture.install();
    let opts = options_for(server(), roles::NOSSL, SslMode::Prefer);
    assert_eq!(attempt(&opts).await.unwrap(), Connected { tls: false });
    let warnings = warned(&capture);
    assert!(
        warnings.iter().any(|w| w.contains("without encryption")),
        "no warning about the plaintext retry: {warnings:?}"
    );
    // TLS in use: no warning.
    let capture = Capture::default();
    let _guard = capture.install();
    let opts = options_for(server(), roles::TRUST, SslMode::Prefer);
    assert_eq!(attempt(&opts).await.unwrap(), Connected { tls: true });
    assert_eq!(warned(&capture), Vec::<String>::new());
}

#[tokio::test]
async fn direct_tls_negotiation_fails_cleanly_before_postgresql_17() {
    let s = server();
    if s.version().major >= 17 {
        let opts =
            options_for(s, roles::TRUST, SslMode::Require).ssl_negotiation(SslNegotiation::Direct);
        assert_eq!(attempt(&opts).await.unwrap(), Connected { tls: true });
        return;
    }
    let opts = options_for(s, roles::TRUST, SslMode::Require)
        .ssl_negotiation(SslNegotiation::Direct)
        .connect_timeout(Duration::from_secs(20));
    let err = tokio::time::timeout(Duration::from_secs(30), attempt(&opts))
        .await
        .expect("direct negotiation must not hang")
        .expect_err("PostgreSQL 15 does not speak direct TLS");
    assert_eq!(err.kind(), ErrorKind::Tls, "{err:?}");
    assert!(err.to_string().contains("PostgreSQL 17"), "{err}");
    // Refused with weak modes, as in libpq (no silent plaintext fallback).
    let err = ConnectOptions::parse(&format!(
        "host=127.0.0.1 port={} sslmode=prefer sslnegotiation=direct",
        s.port()
    ))
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
}

// --- Several hosts ---------------------------------------------------------------------

/// A port nothing listens on (bound a moment ago, then released).
fn dead_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

async fn server_port(conn: &mut Connection) -> u16 {
    let port: i32 = query_scalar("SELECT inet_server_port()")
        .fetch_one(conn)
        .await
        .unwrap();
    u16::try_from(port).unwrap()
}

#[tokio::test]
async fn a_dead_first_host_is_skipped() {
    let s = server();
    let dead = dead_port();
    let opts = options_for(s, roles::SCRAM, SslMode::Prefer)
        .hosts(["127.0.0.1", "127.0.0.1"])
        .ports([dead, s.port()]);
    let mut conn = Connection::connect_with(&opts).await.unwrap();
    assert_eq!(server_port(&mut conn).await, s.port());
    // Every host dead: one error naming each.
    let other = dead_port();
    let opts = opts.ports([dead, other]);
    let err = Connection::connect_with(&opts).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io, "{err}");
    let text = err.to_string();
    assert!(
        text.contains(&dead.to_string()) && text.contains(&other.to_string()),
        "{text}"
    );
}

#[tokio::test]
async fn target_session_attrs_picks_the_right_server_in_either_order() {
    let (primary, standby) = primary_and_standby();
    use TargetSessionAttrs as T;
    let cases = [
        (T::Any, None),
        (T::ReadWrite, Some(primary.port())),
        (T::ReadOnly, Some(standby.port())),
        (T::Primary, Some(primary.port())),
        (T::Standby, Some(standby.port())),
        (T::PreferStandby, Some(standby.port())),
    ];
    let mut failures = Vec::new();
    for order in [[primary, standby], [standby, primary]] {
        for (attrs, want) in cases {
            let opts = options_for(order[0], roles::TRUST, SslMode::Disable)
                .hosts(["127.0.0.1", "127.0.0.1"])
                .ports([order[0].port(), order[1].port()])
                .target_session_attrs(attrs);
            let want = want.unwrap_or(order[0].port());
            match Connection::connect_with(&opts).await {
                Ok(mut conn) => {
                    let got = server_port(&mut conn).await;
                    let in_recovery: bool = query_scalar("SELECT pg_is_in_recovery()")
                        .fetch_one(&mut conn)
                        .await
                        .unwrap();
                    assert_eq!(in_recovery, got == standby.port());
                    if got != want {
                        failures.push(format!(
                            "{attrs} first={}: got port {got}, want {want}",
                            order[0].port()
                        ));
                    }
                }
                Err(e) => failures.push(format!("{attrs} first={}: {e}", order[0].port())),
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    // With only one kind of server listed, the other kinds fail clearly.
    for (only, attrs) in [
        (primary, T::Standby),
        (primary, T::ReadOnly),
        (standby, T::Primary),
        (standby, T::ReadWrite),
    ] {
        let opts = options_for(only, roles::TRUST, SslMode::Disable).target_session_attrs(attrs);
        let err = Connection::connect_with(&opts).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ServerRole, "{attrs}: {err}");
        assert!(err.to_string().contains("target_session_attrs"), "{err}");
    }
    // prefer-standby takes the primary when no standby is listed.
    let opts =
        options_for(primary, roles::TRUST, SslMode::Disable).target_session_attrs(T::PreferStandby);
    let mut conn = Connection::connect_with(&opts).await.unwrap();
    assert_eq!(server_port(&mut conn).await, primary.port());
}

#[tokio::test]
async fn load_balance_hosts_random_uses_every_host() {
    let s = server();
    let opts = options_for(s, roles::TRUST, SslMode::Disable)
        .hosts(["127.0.0.1", "127.0.0.2"])
        .load_balance_hosts(LoadBalanceHosts::Random);
    let mut seen = std::collections::BTreeMap::<String, usize>::new();
    for _ in 0..40 {
        let mut conn = Connection::connect_with(&opts).await.unwrap();
        let addr: String = query_scalar("SELECT host(inet_server_addr())")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        *seen.entry(addr).or_default() += 1;
    }
    // The chance that 40 random picks all land on one host is 2^-39.
    assert_eq!(seen.len(), 2, "{seen:?}");
    // Without it, the first host always wins.
    let opts = opts.load_balance_hosts(LoadBalanceHosts::Disable);
    for _ in 0..5 {
        let mut conn = Connection::connect_with(&opts).await.unwrap();
        let addr: String = query_scalar("SELECT host(inet_server_addr())")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(addr, "127.0.0.1");
    }
}

// --- Unix sockets ------------------------------------------------------------------------

fn socket_options(s: &TempServer, role: Role) -> ConnectOptions {
    let mut opts = ConnectOptions::new()
        .host(s.socket_dir().to_str().unwrap())
        .port(s.port())
        .user(role.name)
        .dbname("postgres");
    if let Some(pw) = role.password {
        opts = opts.password(pw);
    }
    opts
}

#[tokio::test]
async fn unix_socket_connections() {
    let s = server();
    for role in [
        roles::SUPERUSER,
        roles::TRUST,
        roles::MD5,
        roles::SCRAM,
        roles::NOSSL,
    ] {
        let mut conn = Connection::connect_with(&socket_options(s, role))
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", role.name));
        let local: bool = query_scalar("SELECT inet_server_addr() IS NULL")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert!(local, "{} did not use the socket", role.name);
        assert!(!tls_in_use(&mut conn).await);
    }
    // Rejected over the socket by pg_hba.conf.
    let err = Connection::connect_with(&socket_options(s, roles::SSL_ONLY))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Authentication, "{err}");
    // A URL with the socket directory as host, percent-encoded.
    let url = format!(
        "postgres://postgres@{}:{}/postgres",
        s.socket_dir().display().to_string().replace('/', "%2F"),
        s.port()
    );
    let mut conn = Connection::connect(&url).await.unwrap();
    let one: i32 = query_scalar("SELECT 1").fetch_one(&mut conn).await.unwrap();
    assert_eq!(one, 1);
}

// --- Session information ------------------------------------------------------------------

#[tokio::test]
async fn session_information() {
    let s = server();
    let opts = options_for(s, roles::TRUST, SslMode::Require).application_name("quarry-test-app");
    let mut conn = Connection::connect_with(&opts).await.unwrap();
    let version: String = query_scalar("SHOW server_version_num")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let version_num: u32 = version.parse().unwrap();
    assert_eq!(conn.server_version().major(), version_num / 10000);
    assert_eq!(conn.server_version().major(), s.version().major);
    assert_eq!(conn.server_version().minor(), version_num % 10000);

    let pid: i32 = query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(conn.backend_pid(), pid);

    assert_eq!(
        conn.parameter_status("application_name"),
        Some("quarry-test-app")
    );
    conn.batch_execute("SET application_name = 'renamed'")
        .await
        .unwrap();
    assert_eq!(conn.parameter_status("application_name"), Some("renamed"));
    query("SELECT set_config('application_name', 'via-function', false)")
        .execute(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        conn.parameter_status("application_name"),
        Some("via-function")
    );
    assert_eq!(conn.parameter_status("client_encoding"), Some("UTF8"));

    assert_eq!(conn.transaction_status(), TransactionStatus::Idle);
    conn.batch_execute("BEGIN").await.unwrap();
    assert_eq!(conn.transaction_status(), TransactionStatus::InTransaction);
    let err = query("SELECT 1/0").execute(&mut conn).await.unwrap_err();
    assert_eq!(err.code(), Some(&SqlState::DivisionByZero));
    assert_eq!(
        conn.transaction_status(),
        TransactionStatus::InFailedTransaction
    );
    let err = query("SELECT 1").execute(&mut conn).await.unwrap_err();
    assert_eq!(err.code(), Some(&SqlState::InFailedSqlTransaction));
    conn.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(conn.transaction_status(), TransactionStatus::Idle);
    assert!(!conn.is_closed());
    assert!(conn.is_idle());

    // close(): the server session ends.
    let mut observer = support::connect(s).await;
    conn.close().await.unwrap();
    wait_until_gone(&mut observer, pid).await;
}

async fn wait_until_gone(observer: &mut Connection, pid: i32) {
    for _ in 0..500 {
        let n: i64 = query_scalar("SELECT count(*) FROM pg_stat_activity WHERE pid = $1")
            .bind(pid)
            .fetch_one(&mut *observer)
            .await
            .unwrap();
        if n == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("backend {pid} still exists 5 s after close");
}

#[tokio::test]
async fn a_terminated_backend_closes_the_connection() {
    let s = server();
    let mut victim = support::connect(s).await;
    let mut killer = support::connect(s).await;
    let pid = victim.backend_pid();
    let killed: bool = query_scalar("SELECT pg_terminate_backend($1)")
        .bind(pid)
        .fetch_one(&mut killer)
        .await
        .unwrap();
    assert!(killed);
    wait_until_gone(&mut killer, pid).await;
    let err = query_scalar::<i32>("SELECT 1")
        .fetch_one(&mut victim)
        .await
        .unwrap_err();
    // The server's reason, not just the hang-up that follows it.
    assert_eq!(err.code(), Some(&SqlState::AdminShutdown), "{err:?}");
    assert!(err.is_connection_fatal(), "{err:?}");
    assert!(victim.is_closed());
    // Refused from now on, without touching the socket, saying why.
    let err = query_scalar::<i32>("SELECT 1")
        .fetch_one(&mut victim)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Closed, "{err}");
    assert!(err.to_string().contains("administrator"), "{err}");
    // The same through the simple protocol.
    let mut victim = support::connect(s).await;
    let pid = victim.backend_pid();
    query("SELECT pg_terminate_backend($1)")
        .bind(pid)
        .execute(&mut killer)
        .await
        .unwrap();
    wait_until_gone(&mut killer, pid).await;
    let err = victim.simple_query("SELECT 1").await.unwrap_err();
    assert_eq!(err.code(), Some(&SqlState::AdminShutdown), "{err:?}");
    assert!(victim.is_closed());
    // And a new connection works.
    let mut fresh = support::connect(s).await;
    let one: i32 = query_scalar("SELECT 1")
        .fetch_one(&mut fresh)
        .await
        .unwrap();
    assert_eq!(one, 1);
}

// --- Cancellation -----------------------------------------------------------------------

/// Runs `pg_sleep(60)` on `conn` and cancels it once the server shows it running.
async fn cancel_a_sleep(mut conn: Connection, observer: &mut Connection) -> Connection {
    let token = conn.cancel_token().expect("a cancel token");
    let pid = conn.backend_pid();
    let sleeper = query("SELECT pg_sleep(60)").execute(&mut conn);
    let canceller = async {
        loop {
            let running: i64 = query_scalar(
                "SELECT count(*) FROM pg_stat_activity \
                 WHERE pid = $1 AND state = 'active' AND query LIKE '%pg_sleep(60)%'",
            )
            .bind(pid)
            .fetch_one(&mut *observer)
            .await
            .unwrap();
            if running == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        token.cancel_query().await.unwrap();
    };
    let (r, ()) = tokio::time::timeout(Duration::from_secs(30), async {
        tokio::join!(sleeper, canceller)
    })
    .await
    .expect("the cancel did not stop pg_sleep(60)");
    let err = r.unwrap_err();
    assert_eq!(err.code(), Some(&SqlState::QueryCanceled), "{err}");
    assert!(err.is_query_canceled());
    // Usable afterwards.
    let one: i32 = query_scalar("SELECT 1").fetch_one(&mut conn).await.unwrap();
    assert_eq!(one, 1);
    conn
}

#[tokio::test]
async fn cancel_token_over_tls_and_over_a_unix_socket() {
    let s = server();
    let mut observer = support::connect(s).await;
    let conn = Connection::connect_with(&options_for(s, roles::SCRAM, SslMode::VerifyFull))
        .await
        .unwrap();
    let mut conn = cancel_a_sleep(conn, &mut observer).await;
    assert!(tls_in_use(&mut conn).await);
    let conn = Connection::connect_with(&socket_options(s, roles::SCRAM))
        .await
        .unwrap();
    cancel_a_sleep(conn, &mut observer).await;
}

// --- Protocol versions -------------------------------------------------------------------

/// PostgreSQL 18's server programs: `QUARRY_PG_BINDIR` when it points at 18, else what
/// `scripts/pg-version 18` fetched into `target/pg/18`.
fn pg18() -> Option<quarry::temp_server::ServerBinaries> {
    use quarry::temp_server::ServerBinaries;
    if let Ok(b) = ServerBinaries::locate()
        && b.version().major == 18
    {
        return Some(b);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    ServerBinaries::from_bindir(target.join("pg/18/native/bin")).ok()
}

#[tokio::test]
async fn protocol_3_2_with_postgresql_18() {
    let Some(binaries) = pg18() else {
        eprintln!(
            "protocol_3_2_with_postgresql_18: NOT RUN: no PostgreSQL 18 found \
             (run scripts/pg-version 18, or set QUARRY_PG_BINDIR to a PostgreSQL 18 bindir)"
        );
        return;
    };
    let s = TempServer::builder().binaries(binaries).start().unwrap();
    let latest =
        options_for(&s, roles::SCRAM, SslMode::Require).max_protocol_version(ProtocolVersion::V3_2);
    let conn = Connection::connect_with(&latest).await.unwrap();
    assert_eq!(conn.protocol_version(), (3, 2));
    assert_eq!(conn.server_version().major(), 18);
    let mut observer = support::connect(&s).await;
    let conn = cancel_a_sleep(conn, &mut observer).await;
    drop(conn);
    // The default is still 3.0 (as in libpq 18).
    let mut conn = Connection::connect_with(&options_for(&s, roles::SCRAM, SslMode::Disable))
        .await
        .unwrap();
    assert_eq!(conn.protocol_version(), (3, 0));
    let one: i32 = query_scalar("SELECT 1").fetch_one(&mut conn).await.unwrap();
    assert_eq!(one, 1);
}

#[tokio::test]
async fn protocol_3_2_is_negotiated_down_or_refused_by_older_servers() {
    let s = server();
    if s.version().major >= 18 {
        return; // covered by protocol_3_2_with_postgresql_18
    }
    let opts =
        options_for(s, roles::TRUST, SslMode::Disable).max_protocol_version(ProtocolVersion::V3_2);
    let mut conn = Connection::connect_with(&opts).await.unwrap();
    assert_eq!(conn.protocol_version(), (3, 0));
    let one: i32 = query_scalar("SELECT 1").fetch_one(&mut conn).await.unwrap();
    assert_eq!(one, 1);
    let opts = opts.min_protocol_version(ProtocolVersion::V3_2);
    let err = Connection::connect_with(&opts).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert!(err.to_string().contains("min_protocol_version"), "{err}");
}

// --- Notices ----------------------------------------------------------------------------

#[tokio::test]
async fn notices_go_to_the_handler_without_disturbing_results() {
    let s = server();
    let mut conn = support::connect(s).await;
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = seen.clone();
    conn.set_notice_handler(move |n| sink.lock().unwrap().push(n.message().to_owned()));
    conn.batch_execute("DO $$ BEGIN RAISE NOTICE 'hello %', 42; END $$")
        .await
        .unwrap();
    assert_eq!(*seen.lock().unwrap(), ["hello 42"]);
    let f = unique("notice_fn");
    conn.batch_execute(&format!(
        "CREATE FUNCTION {f}(n int) RETURNS SETOF int LANGUAGE plpgsql AS $$ \
         BEGIN FOR i IN 1..n LOOP RAISE NOTICE 'row %', i; RETURN NEXT i; END LOOP; END $$"
    ))
    .await
    .unwrap();
    let values: Vec<i32> = query_scalar(quarry::AssertSqlSafe(format!("SELECT * FROM {f}($1)")))
        .bind(3i32)
        .fetch_all(&mut conn)
        .await
        .unwrap();
    assert_eq!(values, [1, 2, 3]);
    assert_eq!(
        *seen.lock().unwrap(),
        ["hello 42", "row 1", "row 2", "row 3"]
    );
    // Warnings from a simple query with rows.
    let rows = conn
        .simple_query("DO $$ BEGIN RAISE WARNING 'careful'; END $$; SELECT 5")
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(seen.lock().unwrap().last().unwrap(), "careful");
}

/// `ssl_min_protocol_version`/`ssl_max_protocol_version` choose the TLS version the
/// session uses (as the server sees it in `pg_stat_ssl`), and an empty range is refused.
#[tokio::test]
async fn tls_protocol_versions_are_applied() {
    use quarry::config::TlsVersion;
    let base = options_for(server(), roles::TRUST, SslMode::VerifyFull).host("localhost");
    for (max, want) in [
        (TlsVersion::Tls1_2, "TLSv1.2"),
        (TlsVersion::Tls1_3, "TLSv1.3"),
    ] {
        let options = base.clone().ssl_max_protocol_version(max);
        let mut conn = quarry::Connection::connect_with(&options).await.unwrap();
        let version: String =
            quarry::query_scalar("SELECT version FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
                .fetch_one(&mut conn)
                .await
                .unwrap();
        assert_eq!(version, want);
    }
    let options = base
        .ssl_min_protocol_version(TlsVersion::Tls1_3)
        .ssl_max_protocol_version(TlsVersion::Tls1_2);
    let err = quarry::Connection::connect_with(&options)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert!(
        err.to_string().contains("ssl_min_protocol_version"),
        "{err}"
    );
}
