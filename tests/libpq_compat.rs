//! Connecting as libpq does at the edges: X.509 v1 and CN-only server certificates,
//! when `prefer` falls back to plaintext, which failures move on to the next host,
//! `connect_timeout`, and the texts of the errors.
//!
//! Each test names the libpq 18 behaviour it checks; `scripts/libpq-diff.py` records
//! those behaviours from libpq itself.

mod support;

use std::sync::OnceLock;
use std::time::Duration;

use quarry::config::SslMode;
use quarry::temp_server::CertificateStyle;
use quarry::temp_server::roles::{self, Role};
use quarry::{ConnectOptions, Connection, ErrorKind, TempServer, query_scalar};
use support::options_for;

/// A server whose certificates are X.509 v1 (`openssl x509 -req` without `-extfile`).
fn v1_server() -> &'static TempServer {
    static SERVER: OnceLock<TempServer> = OnceLock::new();
    SERVER.get_or_init(|| {
        TempServer::builder()
            .certificates(CertificateStyle::V1)
            .start()
            .expect("start the server with v1 certificates")
    })
}

/// A server whose certificate names `localhost` only in its CN (no subjectAltName).
fn cn_only_server() -> &'static TempServer {
    static SERVER: OnceLock<TempServer> = OnceLock::new();
    SERVER.get_or_init(|| {
        TempServer::builder()
            .certificates(CertificateStyle::V3CommonNameOnly)
            .start()
            .expect("start the server with a CN-only certificate")
    })
}

/// Whether the server sees this session as encrypted.
async fn server_sees_tls(conn: &mut Connection) -> bool {
    query_scalar::<bool>("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .fetch_one(conn)
        .await
        .expect("read pg_stat_ssl")
}

/// Connects and reports whether TLS is in use, checking that both ends agree.
async fn connect_tls(opts: &ConnectOptions) -> quarry::Result<bool> {
    let mut conn = Connection::connect_with(opts).await?;
    let tls = conn.is_tls();
    assert_eq!(
        tls,
        server_sees_tls(&mut conn).await,
        "is_tls() disagrees with the server"
    );
    conn.close().await?;
    Ok(tls)
}

fn role_opts(s: &TempServer, role: Role, mode: SslMode) -> ConnectOptions {
    options_for(s, role, mode)
}

// --- Certificates ----------------------------------------------------------------------

/// libpq: a v1 server certificate is fine wherever nothing is verified, and `prefer`
/// gets TLS (Quarry used to fail `require` and silently fall back to plaintext under
/// `prefer`).
#[tokio::test]
async fn v1_server_certificate_gives_tls_where_nothing_is_verified() {
    let s = v1_server();
    for mode in [SslMode::Require, SslMode::Prefer] {
        for role in [roles::TRUST, roles::SCRAM, roles::MD5] {
            let opts = role_opts(s, role, mode);
            let tls = connect_tls(&opts)
                .await
                .unwrap_or_else(|e| panic!("{mode} {}: {e:#}", role.name));
            assert!(tls, "{mode} {}: fell back to plaintext", role.name);
        }
    }
    // allow starts in plaintext and goes to TLS only when refused: hostssl-only role.
    let opts = role_opts(s, roles::SSL_ONLY, SslMode::Allow);
    assert!(connect_tls(&opts).await.unwrap());
}

/// libpq (OpenSSL) accepts a v1 certificate signed by the root under verify-ca and
/// verify-full (by its CN); webpki refuses every v1 certificate, so Quarry checks these
/// itself (it used to refuse them, and `prefer` with a root fell back to plaintext).
#[tokio::test]
async fn v1_server_certificate_is_verified_as_libpq_does() {
    let s = v1_server();
    for (mode, host) in [
        (SslMode::VerifyCa, "127.0.0.1"),
        (SslMode::VerifyFull, "localhost"),
        (SslMode::Require, "127.0.0.1"),
        (SslMode::Prefer, "127.0.0.1"),
    ] {
        let opts = role_opts(s, roles::SCRAM, mode)
            .host(host)
            .ssl_root_cert(s.ca_cert_path());
        let tls = connect_tls(&opts)
            .await
            .unwrap_or_else(|e| panic!("{mode}: {e:#}"));
        assert!(tls, "{mode}: no TLS");
    }
    // The CN names localhost, not 127.0.0.1.
    let opts = role_opts(s, roles::TRUST, SslMode::VerifyFull).ssl_root_cert(s.ca_cert_path());
    let text = Connection::connect_with(&opts)
        .await
        .unwrap_err()
        .display_chain()
        .to_string();
    assert!(
        text.contains("not valid for host name \"127.0.0.1\""),
        "{text}"
    );
    // A root that did not sign it.
    let opts = role_opts(s, roles::TRUST, SslMode::VerifyCa).ssl_root_cert(s.untrusted_ca_path());
    let err = Connection::connect_with(&opts).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Tls, "{err:#}");
    let text = err.display_chain().to_string();
    assert!(
        text.contains("not signed directly by a root in sslrootcert"),
        "{text}"
    );
    assert!(!text.contains("peer certificate"), "{text}");
}

/// A v1 client certificate works for `cert` authentication (PostgreSQL accepts it);
/// Quarry used to refuse it, calling it the "peer certificate".
#[tokio::test]
async fn v1_client_certificate_logs_in() {
    let s = v1_server();
    let opts = role_opts(s, roles::CERT, SslMode::Require)
        .ssl_cert(s.client_cert_path())
        .ssl_key(s.client_key_path());
    assert!(connect_tls(&opts).await.unwrap());
}

/// A key that does not belong to the client certificate: a clear error about the
/// user's own files.
#[tokio::test]
async fn a_client_key_that_does_not_match_is_named() {
    let s = v1_server();
    let other = cn_only_server();
    let opts = role_opts(s, roles::CERT, SslMode::Require)
        .ssl_cert(s.client_cert_path())
        .ssl_key(other.client_key_path());
    let err = Connection::connect_with(&opts).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Tls, "{err:#}");
    let text = err.display_chain().to_string();
    assert!(
        text.contains("does not belong to the client certificate"),
        "{text}"
    );
    assert!(!text.contains("peer"), "{text}");
}

/// libpq: with no subjectAltName, verify-full compares the host with the CN.
#[tokio::test]
async fn verify_full_falls_back_to_the_common_name() {
    let s = cn_only_server();
    let opts = role_opts(s, roles::TRUST, SslMode::VerifyFull).host("localhost");
    assert!(connect_tls(&opts).await.unwrap());
    // The CN says localhost; 127.0.0.1 is not it.
    let opts = role_opts(s, roles::TRUST, SslMode::VerifyFull);
    let err = Connection::connect_with(&opts).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Tls, "{err:#}");
    let text = err.display_chain().to_string();
    assert!(
        text.contains("not valid for host name \"127.0.0.1\"") && text.contains("CN=localhost"),
        "{text}"
    );
    // verify-ca does not look at names.
    let opts = role_opts(s, roles::TRUST, SslMode::VerifyCa);
    assert!(connect_tls(&opts).await.unwrap());
}

/// rustls's errors used to repeat (`invalid peer certificate: UnknownIssuer: invalid
/// peer certificate: UnknownIssuer`): one sentence now.
#[tokio::test]
async fn an_untrusted_certificate_is_reported_once() {
    let s = cn_only_server();
    let opts = role_opts(s, roles::TRUST, SslMode::VerifyCa).ssl_root_cert(s.untrusted_ca_path());
    let err = Connection::connect_with(&opts).await.unwrap_err();
    let text = err.display_chain().to_string();
    assert!(
        text.contains("not signed by a root in sslrootcert"),
        "{text}"
    );
    assert_eq!(text.matches("sslrootcert").count(), 1, "{text}");
    assert!(!text.contains("UnknownIssuer"), "{text}");
}

// --- Several hosts ---------------------------------------------------------------------

/// How many times the server logged a failed password for `role`.
fn failed_logins(s: &TempServer, role: Role) -> usize {
    let needle = format!("password authentication failed for user \"{}\"", role.name);
    s.log_tail(100_000).matches(&needle).count()
}

/// libpq 18: a wrong password ends the attempt; the other hosts never see it. And
/// `prefer` does not send it again in plaintext after TLS carried it (libpq does).
#[tokio::test]
async fn a_wrong_password_is_sent_to_one_server_once() {
    let (first, second) = (v1_server(), cn_only_server());
    for mode in [SslMode::Disable, SslMode::Prefer] {
        let before = (
            failed_logins(first, roles::MD5),
            failed_logins(second, roles::MD5),
        );
        let opts = role_opts(first, roles::MD5, mode)
            .password("wrong")
            .hosts(["127.0.0.1", "127.0.0.1"])
            .ports([first.port(), second.port()]);
        let err = Connection::connect_with(&opts).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Authentication, "{mode}: {err:#}");
        let text = err.display_chain().to_string();
        assert!(text.contains(&first.port().to_string()), "{text}");
        assert!(!text.contains(&second.port().to_string()), "{mode}: {text}");
        // The server writes its log asynchronously: wait (bounded) for the line.
        let mut after = (0, 0);
        for _ in 0..50 {
            after = (
                failed_logins(first, roles::MD5),
                failed_logins(second, roles::MD5),
            );
            if after.0 > before.0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(
            after.0 - before.0,
            1,
            "{mode}: password attempts on the first server"
        );
        assert_eq!(
            after.1, before.1,
            "{mode}: the second server saw the password"
        );
    }
}

/// libpq 18: 57P03 (`cannot_connect_now`) moves on to the next host; another FATAL
/// does not.
#[tokio::test]
async fn cannot_connect_now_moves_on_and_other_refusals_stop() {
    use support::fake::{FakeServer, Step, error_response};
    let real = cn_only_server();
    for (code, moves_on) in [("57P03", true), ("28000", false), ("3D000", false)] {
        let fake = FakeServer::start(vec![
            Step::ReadUntagged,
            Step::Send(error_response(&[
                (b'S', "FATAL"),
                (b'C', code),
                (b'M', "the database system is starting up"),
            ])),
            Step::Close,
        ])
        .await;
        let opts = role_opts(real, roles::TRUST, SslMode::Disable)
            .hosts(["127.0.0.1", "127.0.0.1"])
            .ports([
                fake.options().get_ports()[0].expect("the fake server's port"),
                real.port(),
            ]);
        let result = Connection::connect_with(&opts).await;
        assert_eq!(result.is_ok(), moves_on, "{code}: {:?}", result.err());
        if let Err(e) = result {
            assert_eq!(e.code().map(|c| c.code()), Some(code), "{e:#}");
        }
        drop(fake.transcript().await);
    }
}

/// libpq 18 waits exactly `connect_timeout` seconds per host (1 is no longer 2), then
/// moves on.
#[tokio::test]
async fn connect_timeout_is_per_host_and_one_second_is_one_second() {
    let opts = ConnectOptions::parse("connect_timeout=1").unwrap();
    assert_eq!(opts.get_connect_timeout(), Some(Duration::from_secs(1)));
    // A listener that never answers: the first host times out, the second connects.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let real = cn_only_server();
    let opts = role_opts(real, roles::TRUST, SslMode::Disable)
        .hosts(["127.0.0.1", "127.0.0.1"])
        .ports([silent.local_addr().unwrap().port(), real.port()])
        .connect_timeout(Duration::from_secs(1));
    let conn = tokio::time::timeout(Duration::from_secs(30), Connection::connect_with(&opts))
        .await
        .expect("bounded")
        .unwrap();
    conn.close().await.unwrap();
}

/// libpq: `server is in hot standby mode`, not a configuration error without a reason.
#[tokio::test]
async fn a_target_session_attrs_mismatch_says_what_the_server_is() {
    let s = cn_only_server();
    let opts = role_opts(s, roles::TRUST, SslMode::Disable)
        .target_session_attrs(quarry::config::TargetSessionAttrs::Standby);
    let err = Connection::connect_with(&opts).await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("server is not in hot standby mode"), "{text}");
    let opts = opts.target_session_attrs(quarry::config::TargetSessionAttrs::ReadOnly);
    let text = Connection::connect_with(&opts)
        .await
        .unwrap_err()
        .to_string();
    assert!(text.contains("session is not read-only"), "{text}");
}

// --- prefer and its errors -------------------------------------------------------------

/// When `prefer` falls back and the plaintext attempt fails too, the error says why
/// TLS failed first (libpq: `SSL error: certificate verify failed` then the FATAL).
#[tokio::test]
async fn prefer_reports_both_attempts() {
    let s = cn_only_server();
    // A root that did not sign the certificate makes prefer verify and fail; the
    // plaintext retry then meets the hostssl-only rule.
    let opts = role_opts(s, roles::SSL_ONLY, SslMode::Prefer).ssl_root_cert(s.untrusted_ca_path());
    let err = Connection::connect_with(&opts).await.unwrap_err();
    let text = err.display_chain().to_string();
    assert!(text.contains("with TLS: "), "{text}");
    assert!(
        text.contains("not signed by a root in sslrootcert"),
        "{text}"
    );
    assert!(text.contains("then without TLS"), "{text}");
    assert!(text.contains("no encryption"), "{text}");
    assert!(err.as_db_error().is_some(), "{err:#}");
    // A TLS session refused by the server (hostnossl), then a wrong password in
    // plaintext: no "after the TLS session was refused (...)".
    let opts = role_opts(s, roles::NOSSL, SslMode::Prefer).password("wrong");
    let text = Connection::connect_with(&opts)
        .await
        .unwrap_err()
        .display_chain()
        .to_string();
    assert!(
        !text.contains("after the TLS session was refused"),
        "{text}"
    );
    assert!(text.contains("password authentication failed"), "{text}");
}

/// `require_auth` is quoted as written.
#[tokio::test]
async fn require_auth_is_quoted_as_written() {
    let s = cn_only_server();
    let opts = role_opts(s, roles::MD5, SslMode::Disable).require_auth("!md5");
    let text = Connection::connect_with(&opts)
        .await
        .unwrap_err()
        .to_string();
    assert!(text.contains("require_auth=!md5 "), "{text}");
}

/// A server that hangs up during the handshake: one sentence, not rustls's
/// `tls handshake eof: tls handshake eof`.
#[tokio::test]
async fn a_hang_up_during_the_tls_handshake_is_reported_once() {
    let s = cn_only_server();
    if s.version().major >= 17 {
        return; // Direct TLS works there; PostgreSQL 15 hangs up on a ClientHello.
    }
    let opts = role_opts(s, roles::TRUST, SslMode::Require)
        .ssl_negotiation(quarry::config::SslNegotiation::Direct);
    let err = Connection::connect_with(&opts).await.unwrap_err();
    let text = err.display_chain().to_string();
    assert!(
        text.contains("the server closed the connection during the TLS handshake"),
        "{text}"
    );
    assert!(!text.contains("tls handshake eof"), "{text}");
}
