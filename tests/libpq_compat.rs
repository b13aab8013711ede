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
    assert_eq!(tls, server_sees_tls(&mut conn).await, "is_tls() disagrees with the server");
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
/// verify-full; rustls's webpki cannot verify one, so Quarry refuses it and says why
/// and how to make a v3 one (a deliberate difference, in driver/docs/connecting.md).
#[tokio::test]
async fn v1_server_certificate_under_verification_is_refused_with_a_recipe() {
    let s = v1_server();
    for mode in [SslMode::VerifyCa, SslMode::VerifyFull] {
        let opts = role_opts(s, roles::TRUST, mode).host("localhost");
        let err = Connection::connect_with(&opts).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Tls, "{err:#}");
        let text = err.display_chain().to_string();
        for needle in ["X.509 v1", "libpq would accept it", "openssl x509", "-extfile"] {
            assert!(text.contains(needle), "{mode}: no {needle:?} in {text}");
        }
        assert!(!text.contains("peer certificate"), "{text}");
    }
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
    assert!(text.contains("does not belong to the client certificate"), "{text}");
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
    assert!(text.contains("not signed by a root in sslrootcert"), "{text}");
    assert_eq!(text.matches("sslrootcert").count(), 1, "{text}");
    assert!(!text.contains("UnknownIssuer"), "{text}");
}
