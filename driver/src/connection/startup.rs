//! Opening a session: hosts, sockets, TLS negotiation, the startup packet,
//! authentication, and `target_session_attrs`.
//!
//! The flow follows the "Message Flow / Start-up" section of the PostgreSQL
//! protocol documentation; the choices (which host, which TLS mode, what to do
//! when the server says no) follow libpq.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::cancel::{CancelToken, ServerAddr};
use super::stream::{Framed, Socket};
use super::tls::{self, Roots, TlsParams, TlsSettings, Verify};
use super::{Connection, Settings};
use crate::auth::{
    self, AuthMethod, ChannelBinding, RequireAuth, ScramClient, ScramLimits, Transport,
};
use crate::conninfo::{
    ConnectOptions, Endpoint, Host, LoadBalanceHosts, PasswordSource, ProtocolVersion, SslMode,
    SslNegotiation, SslRootCert, TargetSessionAttrs,
};
use crate::failure::{Error, ErrorKind, Result};
use crate::protocol::backend::{Authentication, Limits, Message, tag};
use crate::protocol::frontend;

impl Connection {
    /// Opens a connection from a URL (`postgres://user:pass@host/db?sslmode=verify-full`)
    /// or a libpq keyword string (`host=... user=...`). The environment (`PGHOST`, ...)
    /// fills in what the string leaves out, as in libpq.
    pub async fn connect(url: &str) -> Result<Connection> {
        let options = ConnectOptions::parse(url)?;
        Connection::connect_with(&options).await
    }

    /// Opens a connection with these options (borrowed or owned), trying each host in turn.
    pub async fn connect_with(
        options: impl std::borrow::Borrow<ConnectOptions>,
    ) -> Result<Connection> {
        let options = options.borrow();
        connect(options).await
    }
}

/// One resolved address to try.
#[derive(Clone, Debug)]
enum Addr {
    Tcp(SocketAddr),
    #[cfg(unix)]
    Unix(std::path::PathBuf),
}

impl std::fmt::Display for Addr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Addr::Tcp(a) => write!(f, "{a}"),
            #[cfg(unix)]
            Addr::Unix(p) => write!(f, "{}", p.display()),
        }
    }
}

/// A random permutation without a `rand` dependency: `RandomState` is seeded from the OS.
fn shuffle<T>(items: &mut [T]) {
    use std::hash::{BuildHasher, Hasher};
    let state = std::collections::hash_map::RandomState::new();
    for i in (1..items.len()).rev() {
        let mut h = state.build_hasher();
        h.write_usize(i);
        let r = h.finish();
        let j = usize::try_from(r % u64::try_from(i + 1).unwrap_or(u64::MAX)).unwrap_or(0);
        items.swap(i, j);
    }
}

async fn resolve(ep: &Endpoint, random: bool) -> Result<Vec<Addr>> {
    if let Some(ip) = ep.hostaddr {
        return Ok(vec![Addr::Tcp(SocketAddr::new(ip, ep.port))]);
    }
    match &ep.host {
        #[cfg(unix)]
        Host::Unix(_) => {
            let path = ep
                .unix_socket_path()
                .ok_or_else(|| Error::config("no Unix socket path for this host"))?;
            if path.to_string_lossy().starts_with('@') {
                return Err(Error::unsupported(
                    "abstract Unix sockets (host=@name) are not supported; use a socket directory",
                ));
            }
            Ok(vec![Addr::Unix(path)])
        }
        #[cfg(not(unix))]
        Host::Unix(_) => Err(Error::unsupported(
            "Unix sockets are not available on this platform",
        )),
        Host::Tcp(name) => {
            let mut addrs: Vec<Addr> = tokio::net::lookup_host((name.as_str(), ep.port))
                .await
                .map_err(|e| Error::io(format!("could not resolve host \"{name}\""), e))?
                .map(Addr::Tcp)
                .collect();
            if addrs.is_empty() {
                return Err(Error::config(format!("host \"{name}\" has no addresses")));
            }
            if random {
                shuffle(&mut addrs);
            }
            Ok(addrs)
        }
    }
}

async fn connect(options: &ConnectOptions) -> Result<Connection> {
    options.validate()?;
    let mut endpoints = options.endpoints()?;
    let random = options.get_load_balance_hosts() == LoadBalanceHosts::Random;
    if random {
        shuffle(&mut endpoints);
    }
    let wanted = options.get_target_session_attrs();
    // prefer-standby: look for a standby first, then take anything (libpq's two passes).
    let passes: &[TargetSessionAttrs] = match wanted {
        TargetSessionAttrs::PreferStandby => {
            &[TargetSessionAttrs::Standby, TargetSessionAttrs::Any]
        }
        _ => std::slice::from_ref(&wanted),
    };
    let mut failures: Vec<(String, Error)> = Vec::new();
    for &want in passes {
        for ep in &endpoints {
            let addrs = match resolve(ep, random).await {
                Ok(addrs) => addrs,
                Err(e) => {
                    failures.push((ep.host.to_string(), e));
                    continue;
                }
            };
            for addr in addrs {
                let label = format!("{} ({addr})", ep.host);
                let span = connect_span(options, ep, &addr);
                let attempt =
                    tracing::Instrument::instrument(connect_addr(options, ep, &addr), span.clone());
                let result = match options.get_connect_timeout() {
                    Some(d) => tokio::time::timeout(d, attempt).await.unwrap_or_else(|_| {
                        Err(Error::timeout(format!("connecting timed out after {d:?}")))
                    }),
                    None => attempt.await,
                };
                if let Err(e) = &result {
                    span.record("outcome", "failed");
                    super::record_error(&span, e);
                }
                match result {
                    Ok(mut conn) => {
                        match tracing::Instrument::instrument(conn.matches(want), span.clone())
                            .await
                        {
                            Ok(None) => {
                                span.record("outcome", "connected");
                                return Ok(conn);
                            }
                            Ok(Some(mismatch)) => {
                                span.record("outcome", "wrong_role");
                                let _ = conn.close().await;
                                failures.push((
                                    label,
                                    Error::new(
                                        ErrorKind::ServerRole,
                                        format!("{mismatch} (target_session_attrs={want})"),
                                    ),
                                ));
                            }
                            Err(e) => {
                                span.record("outcome", "failed");
                                super::record_error(&span, &e);
                                failures.push((label, e));
                                return Err(combine(failures));
                            }
                        }
                    }
                    Err(e) => {
                        let next = moves_on(&e);
                        failures.push((label, e));
                        if !next {
                            // libpq: the server answered and refused (a wrong password, a
                            // missing database, a certificate it would not accept): the
                            // other hosts would say the same, and trying them would send
                            // the same password to each (account lockouts).
                            return Err(combine(failures));
                        }
                    }
                }
            }
        }
    }
    Err(combine(failures))
}

/// The span of one attempt at one address of one host (target `quarry_driver::connect`):
/// where it went, and (recorded when it ends) its outcome: `connected`, `wrong_role` (up,
/// but not what `target_session_attrs` asks for) or `failed`, with the error's type.
fn connect_span(options: &ConnectOptions, ep: &Endpoint, addr: &Addr) -> tracing::Span {
    tracing::debug_span!(
        target: "quarry_driver::connect",
        "connect",
        otel.kind = "client",
        db.system.name = "postgresql",
        db.namespace = options.get_dbname().unwrap_or_default(),
        server.address = tracing::field::display(&ep.host),
        server.port = ep.port,
        network.peer.address = tracing::field::display(addr),
        outcome = tracing::field::Empty,
        db.response.status_code = tracing::field::Empty,
        error.type = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
        otel.status_description = tracing::field::Empty,
    )
}

/// Whether a failed attempt lets the next address or host be tried, as in libpq 18:
/// when the server could not be reached or did not answer in time, or said it cannot
/// accept connections now (57P03: starting up, shutting down, a standby not yet
/// consistent). Any other answer from the server ends the attempt.
fn moves_on(e: &Error) -> bool {
    use std::io::ErrorKind as Io;
    match e.kind() {
        ErrorKind::Timeout => true,
        ErrorKind::Io => std::error::Error::source(e)
            .and_then(|s| s.downcast_ref::<std::io::Error>())
            .is_some_and(|io| {
                matches!(
                    io.kind(),
                    Io::ConnectionRefused
                        | Io::HostUnreachable
                        | Io::NetworkUnreachable
                        | Io::AddrNotAvailable
                        | Io::TimedOut
                        | Io::NotFound
                        | Io::PermissionDenied
                )
            }),
        _ => cannot_connect_now(e),
    }
}

/// 57P03: the server is up but not accepting connections yet (or any more).
fn cannot_connect_now(e: &Error) -> bool {
    e.code().is_some_and(|c| c.code() == "57P03")
}

/// One error out of the failures of every host tried: the last one, with its kind, its
/// SQLSTATE and its cause, after a line for each host tried before it.
fn combine(mut failures: Vec<(String, Error)>) -> Error {
    let Some((label, last)) = failures.pop() else {
        return Error::config("no hosts to connect to");
    };
    if failures.is_empty() {
        return last.context(format!("connection to {label} failed"));
    }
    // Several causes cannot all be `source()`: each earlier host's chain goes in the text.
    let mut message = String::from("could not connect to any host:");
    for (label, e) in &failures {
        message.push_str(&format!("\n  {label}: {}", e.display_chain()));
    }
    message.push_str(&format!("\n  {label}"));
    last.context(message)
}

/// The trusted roots for this connection: the configured file, `system`, or libpq's
/// default `~/.postgresql/root.crt` when it exists.
fn roots(options: &ConnectOptions) -> Roots {
    match options.get_ssl_root_cert() {
        Some(SslRootCert::System) => Roots::System,
        Some(SslRootCert::File(path)) => Roots::File(path.clone()),
        None => match home_file("root.crt") {
            Some(path) => Roots::File(path),
            None => Roots::None,
        },
    }
}

fn home_file(name: &str) -> Option<std::path::PathBuf> {
    let home = std::env::var_os("HOME")?;
    let path = std::path::Path::new(&home).join(".postgresql").join(name);
    path.exists().then_some(path)
}

fn tls_params(options: &ConnectOptions, ep: &Endpoint) -> Result<TlsParams> {
    let mode = options.get_ssl_mode();
    let roots = roots(options);
    let verify = match mode {
        SslMode::VerifyFull => Verify::Full,
        SslMode::VerifyCa => Verify::Chain,
        // libpq: with a root certificate file present, require behaves like verify-ca.
        _ if roots != Roots::None => Verify::Chain,
        _ => Verify::Nothing,
    };
    let client_cert = match (options.get_ssl_cert(), options.get_ssl_key()) {
        (Some(c), Some(k)) => Some((c.to_path_buf(), k.to_path_buf())),
        (Some(c), None) => Some((c.to_path_buf(), c.with_extension("key"))),
        (None, _) => match (home_file("postgresql.crt"), home_file("postgresql.key")) {
            (Some(c), Some(k)) => Some((c, k)),
            _ => None,
        },
    };
    if options.get_ssl_password().is_some() && client_cert.is_some() {
        return Err(Error::unsupported(
            "sslpassword was given, but encrypted client keys are not supported; \
             decrypt the key (`openssl pkey -in key.pem -out key-plain.pem`) and protect the \
             file instead",
        ));
    }
    let config = tls::client_config(&TlsSettings {
        verify,
        roots,
        client_cert,
        min_version: options.get_ssl_min_protocol_version(),
        max_version: options.get_ssl_max_protocol_version(),
        sni: options.get_ssl_sni(),
        crls: tls::Crls {
            file: options.get_ssl_crl().map(Path::to_path_buf),
            dir: options.get_ssl_crl_dir().map(Path::to_path_buf),
            default_file: home_file("root.crl"),
        },
    })?;
    let name = match &ep.host {
        Host::Tcp(name) => name.clone(),
        Host::Unix(_) => "localhost".to_owned(),
    };
    Ok(TlsParams {
        config: Arc::new(config),
        server_name: tls::server_name(&name)?,
    })
}

async fn tcp_connect(options: &ConnectOptions, addr: SocketAddr) -> Result<TcpStream> {
    let tcp = TcpStream::connect(addr)
        .await
        .map_err(|e| Error::io(format!("could not connect to {addr}"), e))?;
    let _ = tcp.set_nodelay(true);
    if options.get_keepalives() {
        let mut ka = socket2::TcpKeepalive::new();
        if let Some(idle) = options.get_keepalives_idle() {
            ka = ka.with_time(idle);
        }
        #[cfg(any(target_os = "linux", target_os = "macos", target_os = "freebsd"))]
        {
            if let Some(interval) = options.get_keepalives_interval() {
                ka = ka.with_interval(interval);
            }
            if let Some(count) = options.get_keepalives_count() {
                ka = ka.with_retries(count);
            }
        }
        let sock = socket2::SockRef::from(&tcp);
        let _ = sock.set_tcp_keepalive(&ka);
        #[cfg(target_os = "linux")]
        if let Some(t) = options.get_tcp_user_timeout() {
            let _ = sock.set_tcp_user_timeout(Some(t));
        }
    }
    Ok(tcp)
}

/// How TLS turned out for an attempt.
enum Negotiated {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>, TlsParams),
}

/// Opens TCP without asking for TLS.
async fn plain(options: &ConnectOptions, ep: &Endpoint, sa: SocketAddr) -> Result<TcpStream> {
    match negotiate(options, ep, sa, false).await? {
        Negotiated::Plain(tcp) => Ok(tcp),
        Negotiated::Tls(..) => Err(Error::tls(
            "a TLS session was set up though none was asked for",
        )),
    }
}

/// Opens TCP and negotiates TLS as `sslmode` says. `Ok(None)` from a `prefer` whose
/// TLS handshake failed means "try again in plaintext on a new socket".
async fn negotiate(
    options: &ConnectOptions,
    ep: &Endpoint,
    addr: SocketAddr,
    try_tls: bool,
) -> Result<Negotiated> {
    let mode = options.get_ssl_mode();
    let tcp = tcp_connect(options, addr).await?;
    if !try_tls {
        return Ok(Negotiated::Plain(tcp));
    }
    let params = tls_params(options, ep)?;
    if options.get_ssl_negotiation() == SslNegotiation::Direct {
        let stream = tls::handshake(tcp, &params).await.map_err(|e| {
            // Older servers read the ClientHello as a startup packet and hang up.
            e.context("sslnegotiation=direct (needs PostgreSQL 17 or later)")
        })?;
        return Ok(Negotiated::Tls(Box::new(stream), params));
    }
    let (tcp, accepted) = ssl_request(tcp).await?;
    match accepted {
        true => {
            let stream = tls::handshake(tcp, &params).await?;
            Ok(Negotiated::Tls(Box::new(stream), params))
        }
        false if mode.requires_tls() => Err(Error::tls(format!(
            "the server does not support TLS, but sslmode={mode} requires it"
        ))),
        false => {
            tracing::warn!(
                host = %ep.host,
                "the server does not support TLS; continuing without encryption (sslmode={mode}). \
                 Use sslmode=verify-full to refuse unencrypted connections"
            );
            Ok(Negotiated::Plain(tcp))
        }
    }
}
async fn connect_addr(options: &ConnectOptions, ep: &Endpoint, addr: &Addr) -> Result<Connection> {
    match addr {
        #[cfg(unix)]
        Addr::Unix(path) => {
            // As in libpq, TLS is not used over Unix-domain sockets.
            let s = tokio::net::UnixStream::connect(path)
                .await
                .map_err(|e| Error::io(format!("could not connect to {}", path.display()), e))?;
            let cancel = ServerAddr::Unix(path.clone());
            establish(options, ep, Socket::Unix(s), None, None, cancel).await
        }
        Addr::Tcp(sa) => {
            let sa = *sa;
            let mode = options.get_ssl_mode();
            let cancel = ServerAddr::Tcp(sa);
            match mode {
                SslMode::Disable => {
                    let tcp = plain(options, ep, sa).await?;
                    establish(options, ep, Socket::Tcp(tcp), None, None, cancel).await
                }
                SslMode::Allow => {
                    let tcp = plain(options, ep, sa).await?;
                    match establish(options, ep, Socket::Tcp(tcp), None, None, cancel.clone()).await
                    {
                        Ok(conn) => Ok(conn),
                        // The server refused the plaintext session: try again with TLS.
                        Err(e)
                            if (e.kind() == ErrorKind::Authentication
                                || e.as_db_error().is_some())
                                && !cannot_connect_now(&e) =>
                        {
                            tracing::debug!(
                                "plaintext refused ({}); retrying with TLS (sslmode=allow)",
                                e.display_chain()
                            );
                            // The plaintext refusal says why; keep it when TLS fails too.
                            with_tls(options, ep, sa, cancel).await.map_err(|tls| {
                                e.context(format_args!(
                                    "then retrying with TLS failed ({})",
                                    tls.display_chain()
                                ))
                            })
                        }
                        Err(e) => Err(e),
                    }
                }
                SslMode::Prefer => match negotiate(options, ep, sa, true).await {
                    Ok(Negotiated::Plain(tcp)) => {
                        establish(options, ep, Socket::Tcp(tcp), None, None, cancel).await
                    }
                    Ok(Negotiated::Tls(stream, params)) => {
                        let cert = tls::peer_certificate(&stream);
                        match establish(
                            options,
                            ep,
                            Socket::Tls(stream),
                            Some(params),
                            cert,
                            cancel.clone(),
                        )
                        .await
                        {
                            Ok(conn) => Ok(conn),
                            // As libpq: a server that refuses the TLS session with an
                            // ErrorResponse (a `hostnossl` rule) gets one plaintext attempt.
                            // Not after a rejected password (28P01): that would send it
                            // again, unencrypted (libpq does; see connecting.md).
                            Err(e)
                                if e.as_db_error().is_some() && !plaintext_retry_forbidden(&e) =>
                            {
                                tracing::warn!(
                                    host = %ep.host,
                                    "the server refused the TLS session ({}); retrying without \
                                     encryption (sslmode=prefer). Use sslmode=verify-full to \
                                     refuse unencrypted connections",
                                    e.display_chain()
                                );
                                plaintext_after(options, ep, sa, cancel, e).await
                            }
                            Err(e) => Err(e),
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::Tls => {
                        tracing::warn!(
                            host = %ep.host,
                            "TLS failed ({}); retrying without encryption (sslmode=prefer)",
                            e.display_chain()
                        );
                        plaintext_after(options, ep, sa, cancel, e).await
                    }
                    Err(e) => Err(e),
                },
                SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => {
                    with_tls(options, ep, sa, cancel).await
                }
            }
        }
    }
}

/// Whether a refusal of the TLS session forbids `prefer`'s plaintext retry: a rejected
/// password (it would be sent again, in the clear) and "cannot connect now" (the next
/// host is the one to try).
fn plaintext_retry_forbidden(e: &Error) -> bool {
    e.code().is_some_and(|c| c.code() == "28P01") || cannot_connect_now(e)
}

/// `prefer`'s second attempt, in plaintext on a new socket; when it fails too, the
/// error says why TLS did not work first.
async fn plaintext_after(
    options: &ConnectOptions,
    ep: &Endpoint,
    sa: SocketAddr,
    cancel: ServerAddr,
    tls_failure: Error,
) -> Result<Connection> {
    let attempt = async {
        let tcp = plain(options, ep, sa).await?;
        establish(options, ep, Socket::Tcp(tcp), None, None, cancel).await
    };
    attempt.await.map_err(|plain| {
        plain.context(format_args!(
            "with TLS: {}; then without TLS",
            tls_failure.display_chain()
        ))
    })
}

async fn with_tls(
    options: &ConnectOptions,
    ep: &Endpoint,
    sa: SocketAddr,
    cancel: ServerAddr,
) -> Result<Connection> {
    match negotiate(options, ep, sa, true).await? {
        Negotiated::Tls(stream, params) => {
            let cert = tls::peer_certificate(&stream);
            establish(options, ep, Socket::Tls(stream), Some(params), cert, cancel).await
        }
        Negotiated::Plain(_) => Err(Error::tls("the server did not agree to TLS")),
    }
}

/// Startup parameters that keep text-format values in the forms our decoders read,
/// unless the user chose otherwise.
///
/// Only parameters PgBouncer accepts in a startup packet: it refuses any other
/// (`unsupported startup parameter`) unless told to ignore it. `extra_float_digits` is
/// not needed: since PostgreSQL 12 its default (1) already prints floats as the
/// shortest text that reads back exactly.
/// (`IntervalStyle` is not one of them, so the interval text decoder reads every style
/// but the ambiguous `sql_standard`.)
const SESSION_DEFAULTS: &[(&str, &str)] = &[("DateStyle", "ISO, MDY")];

async fn password(options: &ConnectOptions, ep: &Endpoint) -> Result<Option<String>> {
    match options.get_password() {
        Some(PasswordSource::Value(secret)) => Ok(Some(secret.expose().to_owned())),
        Some(PasswordSource::Callback(cb)) => cb.call().await.map(Some),
        None => Ok(options.passfile_password(ep).map(|s| s.expose().to_owned())),
    }
}

fn missing_password(user: &str, method: AuthMethod) -> Error {
    Error::auth(format!(
        "the server asks for a password ({method}) for user \"{user}\", but none was given: \
         set password (or PGPASSWORD), or add a .pgpass entry"
    ))
}

/// Runs startup and authentication on a connected socket.
async fn establish(
    options: &ConnectOptions,
    ep: &Endpoint,
    socket: Socket,
    tls: Option<TlsParams>,
    server_certificate: Option<Vec<u8>>,
    cancel_addr: ServerAddr,
) -> Result<Connection> {
    let settings = Arc::new(Settings {
        statement_cache_capacity: options.get_statement_cache_capacity(),
        max_cacheable_statement_len: options.get_max_cacheable_statement_len(),
        command_timeout: options.get_command_timeout(),
        slow_query_threshold: options.get_slow_query_threshold(),
        endpoint: format!(
            "{}:{}/{}/{}",
            ep.host,
            ep.port,
            options.get_dbname().unwrap_or_default(),
            options.get_user().unwrap_or_default()
        )
        .into_boxed_str(),
        server_address: ep.host.to_string().into_boxed_str(),
        server_port: ep.port,
        database: Box::from(options.get_dbname().unwrap_or_default()),
    });
    let is_tls = socket.is_tls();
    let limits = Limits {
        max_message_len: options.get_max_message_len(),
        // libpq's startup caps until AuthenticationOk (see `protocol::backend`).
        authenticating: true,
    };
    let mut conn = Connection::from_framed(Framed::new(socket, limits), settings);

    let mut params = options.startup_params()?;
    for (name, value) in SESSION_DEFAULTS {
        if !params.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
            params.push(((*name).to_owned(), (*value).to_owned()));
        }
    }
    let user = params
        .iter()
        .find(|(n, _)| n == "user")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let max_version = options.get_max_protocol_version();
    let min_version = options.get_min_protocol_version();
    frontend::startup(
        &mut conn.io.write_buf,
        max_version.code(),
        params.iter().map(|(n, v)| (n.as_str(), v.as_str())),
    )?;
    conn.queue_request(1);
    conn.flush().await?;
    // What we asked for, until a NegotiateProtocolVersion (before or after
    // authentication) says the server speaks less.
    conn.session.protocol_minor = match max_version {
        ProtocolVersion::V3_0 => 0,
        ProtocolVersion::V3_2 => 2,
    };

    let r = authenticate(
        &mut conn,
        options,
        ep,
        &user,
        is_tls,
        server_certificate.as_deref(),
    )
    .await;
    let r = match r {
        Ok(()) => {
            conn.io.authenticated();
            finish_startup(&mut conn, min_version).await
        }
        Err(e) => Err(e),
    };
    conn.note_no_request(r)?;
    conn.cancel = Some(CancelToken {
        addr: cancel_addr,
        tls,
        process_id: conn.session.process_id,
        secret_key: conn.session.secret_key.clone(),
        connect_timeout: options.get_connect_timeout(),
    });
    Ok(conn)
}

/// An error the server sent during startup: authentication errors keep their kind.
fn startup_error(conn: &mut Connection, h: crate::protocol::backend::Header) -> Result<Error> {
    let err = conn.frame_db_error(h)?;
    let auth_failure = err.code().is_some_and(|c| c.code().starts_with("28"));
    Ok(if auth_failure {
        err.with_kind(ErrorKind::Authentication)
    } else {
        err
    })
}

async fn authenticate(
    conn: &mut Connection,
    options: &ConnectOptions,
    ep: &Endpoint,
    user: &str,
    is_tls: bool,
    server_certificate: Option<&[u8]>,
) -> Result<()> {
    let written = options.get_require_auth().unwrap_or_default();
    let require_auth = match options.get_require_auth() {
        Some(s) => s.parse::<RequireAuth>()?,
        None => RequireAuth::default(),
    };
    let check = |m: AuthMethod| require_auth.check_as_written(m, &written);
    let binding: ChannelBinding = options.get_channel_binding();
    let mut method: Option<AuthMethod> = None;
    let mut scram: Option<ScramClient> = None;
    loop {
        let h = conn.recv_frame().await?;
        match h.tag {
            tag::AUTHENTICATION => {}
            tag::ERROR_RESPONSE => return Err(startup_error(conn, h)?),
            tag::NEGOTIATE_PROTOCOL_VERSION => {
                // Handled after authentication too; here it may come first.
                handle_negotiate(conn, h, options.get_min_protocol_version())?;
                continue;
            }
            _ => return Err(conn.unexpected_frame(h, "an authentication request")),
        }
        let Message::Authentication(request) = Message::parse(h.tag, conn.io.body(h))? else {
            return Err(conn.unexpected_frame(h, "an authentication request"));
        };
        // Copy what we need out of the borrowed message before touching the connection.
        let request = OwnedAuth::from(request);
        conn.io.consume(h);
        match request {
            OwnedAuth::Ok => {
                let used = method.unwrap_or(AuthMethod::None);
                if method.is_none() {
                    check(AuthMethod::None)?;
                }
                binding.check(used)?;
                if let Some(client) = &scram
                    && !client.is_finished()
                {
                    return Err(Error::auth(
                        "the server ended SCRAM authentication without proving it knows the \
                         password (no server signature)",
                    ));
                }
                return Ok(());
            }
            OwnedAuth::Cleartext => {
                let m = AuthMethod::Cleartext;
                check(m)?;
                binding.check(m)?;
                method = Some(m);
                let pw = password(options, ep)
                    .await?
                    .ok_or_else(|| missing_password(user, m))?;
                frontend::password(
                    &mut conn.io.write_buf,
                    auth::cleartext_password(pw.as_bytes())?,
                )?;
                conn.io.flush().await?;
            }
            OwnedAuth::Md5(salt) => {
                let m = AuthMethod::Md5;
                check(m)?;
                binding.check(m)?;
                method = Some(m);
                let pw = password(options, ep)
                    .await?
                    .ok_or_else(|| missing_password(user, m))?;
                let hashed = auth::md5_password(user, pw.as_bytes(), salt);
                frontend::password(&mut conn.io.write_buf, hashed.as_bytes())?;
                conn.io.flush().await?;
            }
            OwnedAuth::Sasl(mechanisms) => {
                let transport = if is_tls {
                    Transport::Tls { server_certificate }
                } else {
                    Transport::Plain
                };
                let scram_binding = auth::select_mechanism(&mechanisms, binding, transport)?;
                let m = AuthMethod::from(scram_binding.mechanism());
                check(m)?;
                binding.check(m)?;
                method = Some(m);
                let pw = password(options, ep)
                    .await?
                    .ok_or_else(|| missing_password(user, m))?;
                let limits = ScramLimits::new(1, options.get_scram_max_iterations())?;
                let (client, first) = ScramClient::new(pw.as_bytes(), scram_binding, limits)?;
                frontend::sasl_initial_response(
                    &mut conn.io.write_buf,
                    client.mechanism().name(),
                    &first,
                )?;
                scram = Some(client);
                conn.io.flush().await?;
            }
            OwnedAuth::SaslContinue(data) => {
                let client = scram.as_mut().ok_or_else(|| {
                    Error::auth("the server sent a SASL challenge before SASL started")
                })?;
                let reply = client.server_first(&data)?;
                frontend::sasl_response(&mut conn.io.write_buf, &reply)?;
                conn.io.flush().await?;
            }
            OwnedAuth::SaslFinal(data) => {
                let client = scram.as_mut().ok_or_else(|| {
                    Error::auth("the server sent a SASL outcome before SASL started")
                })?;
                client.server_final(&data)?;
            }
            OwnedAuth::Unsupported(m) => {
                check(m)?;
                m.ensure_supported()?;
                return Err(Error::unsupported(format!(
                    "the server asked for {m} authentication, which is not supported"
                )));
            }
        }
    }
}

/// The parts of an authentication request we keep after consuming the message.
enum OwnedAuth {
    Ok,
    Cleartext,
    Md5([u8; 4]),
    Sasl(Vec<String>),
    SaslContinue(Vec<u8>),
    SaslFinal(Vec<u8>),
    Unsupported(AuthMethod),
}

impl From<Authentication<'_>> for OwnedAuth {
    fn from(a: Authentication<'_>) -> Self {
        match a {
            Authentication::Ok => OwnedAuth::Ok,
            Authentication::CleartextPassword => OwnedAuth::Cleartext,
            Authentication::Md5Password { salt } => OwnedAuth::Md5(salt),
            Authentication::Sasl { mechanisms } => {
                OwnedAuth::Sasl(mechanisms.into_iter().map(str::to_owned).collect())
            }
            Authentication::SaslContinue { data } => OwnedAuth::SaslContinue(data.to_vec()),
            Authentication::SaslFinal { data } => OwnedAuth::SaslFinal(data.to_vec()),
            Authentication::Gss
            | Authentication::GssContinue { .. }
            | Authentication::KerberosV5 => OwnedAuth::Unsupported(AuthMethod::Gss),
            Authentication::Sspi => OwnedAuth::Unsupported(AuthMethod::Sspi),
        }
    }
}

fn handle_negotiate(
    conn: &mut Connection,
    h: crate::protocol::backend::Header,
    min: ProtocolVersion,
) -> Result<()> {
    let Message::NegotiateProtocolVersion {
        newest_minor,
        unrecognized,
    } = Message::parse(h.tag, conn.io.body(h))?
    else {
        return Err(conn.unexpected_frame(h, "NegotiateProtocolVersion"));
    };
    if !unrecognized.is_empty() {
        tracing::debug!(
            ?unrecognized,
            "the server did not recognise protocol options"
        );
    }
    conn.io.consume(h);
    // Servers send the whole version number (3 << 16 | minor), as libpq reads it; the
    // protocol documentation calls it the minor version, so a bare minor is accepted too.
    let minor = match newest_minor {
        0..=0xffff => newest_minor,
        v if v >> 16 == 3 => v & 0xffff,
        v => {
            return Err(Error::protocol(format!(
                "the server offered protocol {}.{}, which this driver does not speak",
                v >> 16,
                v & 0xffff
            )));
        }
    };
    if minor > conn.session.protocol_minor {
        return Err(Error::protocol(format!(
            "the server offered protocol 3.{minor}, newer than the 3.{} requested",
            conn.session.protocol_minor
        )));
    }
    let offered = match minor {
        0 => ProtocolVersion::V3_0,
        2 => ProtocolVersion::V3_2,
        _ => {
            return Err(Error::protocol(format!(
                "the server offered protocol 3.{minor}, which this driver does not speak"
            )));
        }
    };
    if offered < min {
        return Err(Error::config(format!(
            "the server supports protocol 3.{minor} only, below min_protocol_version={min}"
        )));
    }
    conn.session.protocol_minor = minor;
    Ok(())
}

/// After AuthenticationOk: parameters, the cancel key, and ReadyForQuery.
async fn finish_startup(conn: &mut Connection, min: ProtocolVersion) -> Result<()> {
    loop {
        let h = conn.recv_frame().await?;
        match h.tag {
            tag::BACKEND_KEY_DATA => {
                let Message::BackendKeyData {
                    process_id,
                    secret_key,
                } = Message::parse(h.tag, conn.io.body(h))?
                else {
                    return Err(conn.unexpected_frame(h, "BackendKeyData"));
                };
                conn.session.process_id = process_id;
                conn.session.secret_key = secret_key.to_vec();
                conn.io.consume(h);
            }
            tag::NEGOTIATE_PROTOCOL_VERSION => handle_negotiate(conn, h, min)?,
            tag::READY_FOR_QUERY => {
                conn.on_ready_for_query(h)?;
                return Ok(());
            }
            tag::ERROR_RESPONSE => return Err(startup_error(conn, h)?),
            _ => return Err(conn.unexpected_frame(h, "BackendKeyData or ReadyForQuery")),
        }
    }
}

impl Connection {
    /// `None` when this server is what `target_session_attrs` asks for, else what it is
    /// instead, in libpq's words.
    async fn matches(&mut self, want: TargetSessionAttrs) -> Result<Option<&'static str>> {
        use TargetSessionAttrs as T;
        if want == T::Any || want == T::PreferStandby {
            return Ok(None);
        }
        let standby = match self.parameter_status("in_hot_standby") {
            Some(v) => v == "on",
            None => {
                let rows = self
                    .simple_query("SELECT pg_catalog.pg_is_in_recovery()")
                    .await?;
                text_value(rows.first(), 0)? == "t"
            }
        };
        let read_only = match want {
            T::ReadWrite | T::ReadOnly if !(want == T::ReadOnly && standby) => {
                match self.parameter_status("default_transaction_read_only") {
                    Some(v) => v == "on",
                    None => {
                        let rows = self.simple_query("SHOW transaction_read_only").await?;
                        text_value(rows.first(), 0)? == "on"
                    }
                }
            }
            _ => false,
        };
        Ok(match want {
            T::Standby if !standby => Some("server is not in hot standby mode"),
            T::Primary if standby => Some("server is in hot standby mode"),
            T::ReadWrite if standby || read_only => Some("session is read-only"),
            T::ReadOnly if !(standby || read_only) => Some("session is not read-only"),
            _ => None,
        })
    }
}

fn text_value(row: Option<&crate::row::Row>, i: usize) -> Result<String> {
    let row = row.ok_or_else(|| Error::protocol("a status query returned no row"))?;
    let raw = row.try_get_raw(i)?;
    let bytes = raw.bytes().unwrap_or_default();
    Ok(String::from_utf8_lossy(bytes).into_owned())
}

/// Sends SSLRequest and reads the answer: `true` for `S` (start TLS), `false` for `N`.
///
/// Reads exactly one byte: whatever follows an `S` must not be buffered as if it
/// had come over TLS (CVE-2021-23222); it stays in the socket, where the TLS
/// handshake rejects it.
pub(crate) async fn ssl_request(mut tcp: TcpStream) -> Result<(TcpStream, bool)> {
    let mut buf = Vec::with_capacity(8);
    frontend::ssl_request(&mut buf);
    tcp.write_all(&buf)
        .await
        .map_err(|e| Error::io("sending SSLRequest failed", e))?;
    let mut answer = [0u8; 1];
    tcp.read_exact(&mut answer)
        .await
        .map_err(|e| Error::io("reading the answer to SSLRequest failed", e))?;
    match answer[0] {
        b'S' => Ok((tcp, true)),
        b'N' => Ok((tcp, false)),
        b'E' => Err(Error::protocol(
            "the server answered SSLRequest with an error; it may be too old (before 7.2) \
             or not PostgreSQL",
        )),
        other => Err(Error::protocol(format!(
            "the server answered SSLRequest with {}; expected 'S' or 'N'",
            crate::protocol::backend::show_tag(other)
        ))),
    }
}
