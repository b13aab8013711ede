//! Builder methods: each sets one option and returns the options, replacing any
//! parsed value. Combinations are checked by [`ConnectOptions::validate`].

use std::future::Future;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::{
    ChannelBinding, ConnectOptions, Host, LoadBalanceHosts, PasswordCallback, PasswordSource,
    ProtocolVersion, Replication, Secret, SslMode, SslNegotiation, SslRootCert, TargetSessionAttrs,
    TlsVersion,
};
use crate::Error;

fn non_empty(s: impl Into<String>) -> Option<String> {
    Some(s.into()).filter(|s| !s.is_empty())
}

impl ConnectOptions {
    /// Connects to this one host (replacing any list): a name, an IP address, or an
    /// absolute path to a Unix socket directory. Commas are not list separators here;
    /// use [`hosts`](Self::hosts) for several.
    #[must_use]
    pub fn host(self, host: impl AsRef<str>) -> Self {
        self.hosts([host])
    }

    /// Connects to these hosts, tried in order (see
    /// [`load_balance_hosts`](Self::load_balance_hosts)). An empty string means the
    /// default host.
    #[must_use]
    pub fn hosts(mut self, hosts: impl IntoIterator<Item = impl AsRef<str>>) -> Self {
        self.hosts = hosts
            .into_iter()
            .map(|h| Some(h.as_ref()).filter(|h| !h.is_empty()).map(Host::parse))
            .collect();
        self
    }

    /// Connects to this address without resolving the host name (replacing any list).
    #[must_use]
    pub fn hostaddr(self, addr: IpAddr) -> Self {
        self.hostaddrs([addr])
    }

    /// One address per host, used instead of resolving the host names.
    #[must_use]
    pub fn hostaddrs(mut self, addrs: impl IntoIterator<Item = IpAddr>) -> Self {
        self.hostaddrs = addrs.into_iter().map(Some).collect();
        self
    }

    /// The port for every host (replacing any list).
    #[must_use]
    pub fn port(self, port: u16) -> Self {
        self.ports([port])
    }

    /// One port per host (or a single port for all).
    #[must_use]
    pub fn ports(mut self, ports: impl IntoIterator<Item = u16>) -> Self {
        self.ports = ports.into_iter().map(Some).collect();
        self
    }

    /// The role to log in as.
    #[must_use]
    pub fn user(mut self, user: impl Into<String>) -> Self {
        self.user = non_empty(user);
        self
    }

    /// A fixed password. An empty string means none (the password file is consulted).
    #[must_use]
    pub fn password(mut self, password: impl Into<String>) -> Self {
        self.password = non_empty(password).map(|p| PasswordSource::Value(Secret::new(p)));
        self
    }

    /// A callback asked for a password on every connection attempt, for rotating
    /// credentials such as cloud IAM tokens:
    ///
    /// ```
    /// # use quarry_driver::ConnectOptions;
    /// let opts = ConnectOptions::new().password_callback(|| async {
    ///     Ok("token-from-the-identity-service".to_owned())
    /// });
    /// ```
    #[must_use]
    pub fn password_callback<F, Fut>(mut self, callback: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<String, Error>> + Send + 'static,
    {
        self.password = Some(PasswordSource::Callback(PasswordCallback::new(callback)));
        self
    }

    /// The password file to use instead of `~/.pgpass`.
    #[must_use]
    pub fn passfile(mut self, path: impl Into<PathBuf>) -> Self {
        self.passfile = Some(path.into());
        self
    }

    /// The database (default: the user name).
    #[must_use]
    pub fn dbname(mut self, dbname: impl Into<String>) -> Self {
        self.dbname = non_empty(dbname);
        self
    }

    /// libpq's `options` string: run-time settings as `-c name=value` or
    /// `--name=value`, separated by spaces, with `\` before a space or backslash that is
    /// part of a value. Checked by [`validate`](Self::validate).
    #[must_use]
    pub fn options(mut self, options: impl Into<String>) -> Self {
        self.options = non_empty(options);
        self
    }

    /// A run-time setting sent at startup (asyncpg's `server_settings`), such as
    /// `("search_path", "app")` or `("statement_timeout", "5s")`. Setting a name again
    /// replaces its value.
    #[must_use]
    pub fn server_setting(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let (name, value) = (name.into(), value.into());
        match self
            .server_settings
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(&name))
        {
            Some(existing) => existing.1 = value,
            None => self.server_settings.push((name, value)),
        }
        self
    }

    /// The name shown in `pg_stat_activity` and the server log.
    #[must_use]
    pub fn application_name(mut self, name: impl Into<String>) -> Self {
        self.application_name = non_empty(name);
        self
    }

    /// The application name used when none is set (a library's own name).
    #[must_use]
    pub fn fallback_application_name(mut self, name: impl Into<String>) -> Self {
        self.fallback_application_name = non_empty(name);
        self
    }

    /// How long to wait for each host to connect and authenticate (default 30 s);
    /// `Duration::ZERO` waits forever.
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout).filter(|t| !t.is_zero());
        self
    }

    /// Whether TCP keepalives are enabled (default true).
    #[must_use]
    pub fn keepalives(mut self, enabled: bool) -> Self {
        self.keepalives = enabled;
        self
    }

    /// Idle time before the first keepalive probe.
    #[must_use]
    pub fn keepalives_idle(mut self, idle: Duration) -> Self {
        self.keepalives_idle = Some(idle);
        self
    }

    /// Time between keepalive probes.
    #[must_use]
    pub fn keepalives_interval(mut self, interval: Duration) -> Self {
        self.keepalives_interval = Some(interval);
        self
    }

    /// Unanswered keepalive probes before the connection is considered dead.
    #[must_use]
    pub fn keepalives_count(mut self, count: u32) -> Self {
        self.keepalives_count = Some(count);
        self
    }

    /// How long sent data may remain unacknowledged before the connection is
    /// dropped (`TCP_USER_TIMEOUT`, Linux); `Duration::ZERO` is the OS default.
    #[must_use]
    pub fn tcp_user_timeout(mut self, timeout: Duration) -> Self {
        self.tcp_user_timeout = Some(timeout).filter(|t| !t.is_zero());
        self
    }

    /// The TLS mode. Use [`SslMode::VerifyFull`] unless you have a reason not to.
    #[must_use]
    pub fn ssl_mode(mut self, mode: SslMode) -> Self {
        self.ssl_mode = Some(mode);
        self.ssl_mode_explicit = true;
        self
    }

    /// How TLS is started (asyncpg's `direct_tls=True` is [`SslNegotiation::Direct`]).
    #[must_use]
    pub fn ssl_negotiation(mut self, negotiation: SslNegotiation) -> Self {
        self.ssl_negotiation = negotiation;
        self
    }

    /// A PEM file of trusted root certificates.
    #[must_use]
    pub fn ssl_root_cert(mut self, path: impl Into<PathBuf>) -> Self {
        self.ssl_root_cert = Some(SslRootCert::File(path.into()));
        self
    }

    /// Trust the operating system's root certificates (`sslrootcert=system`). Unless an
    /// sslmode is set this makes it `verify-full`; a weaker explicit mode is an error.
    #[must_use]
    pub fn ssl_root_cert_system(mut self) -> Self {
        self.ssl_root_cert = Some(SslRootCert::System);
        self
    }

    /// A PEM file of certificate revocation lists (`sslcrl`). When the server's
    /// certificate is verified, every certificate of its chain must be covered by a CRL
    /// of its issuer and not be revoked. Unlike libpq, a file that cannot be read is an
    /// error, not a check silently skipped.
    #[must_use]
    pub fn ssl_crl(mut self, path: impl Into<PathBuf>) -> Self {
        self.ssl_crl = Some(path.into());
        self
    }

    /// A directory of PEM certificate revocation lists (`sslcrldir`): every file in it
    /// holding a CRL is used (libpq reads only files named by OpenSSL's subject hash).
    #[must_use]
    pub fn ssl_crl_dir(mut self, path: impl Into<PathBuf>) -> Self {
        self.ssl_crl_dir = Some(path.into());
        self
    }

    /// The client certificate (PEM) for certificate authentication.
    #[must_use]
    pub fn ssl_cert(mut self, path: impl Into<PathBuf>) -> Self {
        self.ssl_cert = Some(path.into());
        self
    }

    /// The client certificate's private key (PEM).
    #[must_use]
    pub fn ssl_key(mut self, path: impl Into<PathBuf>) -> Self {
        self.ssl_key = Some(path.into());
        self
    }

    /// The password of an encrypted client key.
    ///
    /// Encrypted client keys are not supported: with a client certificate configured,
    /// setting this makes connecting fail with an error that says to decrypt the key
    /// (`openssl pkey`), rather than silently trying the key without it.
    #[must_use]
    pub fn ssl_password(mut self, password: impl Into<String>) -> Self {
        self.ssl_password = non_empty(password).map(Secret::new);
        self
    }

    /// Whether to send the host name in TLS SNI (default true).
    ///
    /// SNI is only ever sent for host names, never for IP addresses.
    #[must_use]
    pub fn ssl_sni(mut self, enabled: bool) -> Self {
        self.ssl_sni = enabled;
        self
    }

    /// The oldest TLS version accepted (default TLS 1.2; TLS 1.0 and 1.1 are never used).
    #[must_use]
    pub fn ssl_min_protocol_version(mut self, version: TlsVersion) -> Self {
        self.ssl_min_protocol_version = version;
        self
    }

    /// The newest TLS version offered (default: the newest supported, TLS 1.3).
    #[must_use]
    pub fn ssl_max_protocol_version(mut self, version: TlsVersion) -> Self {
        self.ssl_max_protocol_version = Some(version);
        self
    }

    /// Whether SCRAM channel binding is used.
    #[must_use]
    pub fn channel_binding(mut self, binding: ChannelBinding) -> Self {
        self.channel_binding = binding;
        self
    }

    /// libpq's `require_auth` list (for example `scram-sha-256` or `!password`):
    /// the authentication methods the server may ask for. Checked by the
    /// authentication layer.
    #[must_use]
    pub fn require_auth(mut self, methods: impl Into<String>) -> Self {
        self.require_auth = non_empty(methods);
        self
    }

    /// Which kind of server to accept.
    #[must_use]
    pub fn target_session_attrs(mut self, attrs: TargetSessionAttrs) -> Self {
        self.target_session_attrs = attrs;
        self
    }

    /// Whether the session is a replication connection (`replication=database` for
    /// logical replication; see the [replication guide](crate::replication)).
    #[must_use]
    pub fn replication(mut self, mode: Replication) -> Self {
        self.replication = mode;
        self
    }

    /// Whether hosts are tried in order or shuffled.
    #[must_use]
    pub fn load_balance_hosts(mut self, mode: LoadBalanceHosts) -> Self {
        self.load_balance_hosts = mode;
        self
    }

    /// The oldest protocol version accepted.
    #[must_use]
    pub fn min_protocol_version(mut self, version: ProtocolVersion) -> Self {
        self.min_protocol_version = version;
        self
    }

    /// The protocol version requested.
    #[must_use]
    pub fn max_protocol_version(mut self, version: ProtocolVersion) -> Self {
        self.max_protocol_version = Some(version);
        self
    }

    /// Prepared statements kept per connection; 0 uses only unnamed statements
    /// (needed behind PgBouncer in transaction mode).
    #[must_use]
    pub fn statement_cache_capacity(mut self, capacity: usize) -> Self {
        self.statement_cache_capacity = capacity;
        self
    }

    /// SQL texts longer than this many bytes are not cached.
    #[must_use]
    pub fn max_cacheable_statement_len(mut self, len: usize) -> Self {
        self.max_cacheable_statement_len = len;
        self
    }

    /// How long a statement may run before it is cancelled; `Duration::ZERO` is no limit.
    ///
    /// Bounds `execute`, `fetch_all`, `fetch_one`, `fetch_optional`, `batch_execute` and
    /// `simple_query` (a query's own [`Query::timeout`](crate::Query::timeout) wins); not
    /// streams, pipelines, `prepare`, COPY or cursors.
    #[must_use]
    pub fn command_timeout(mut self, timeout: Duration) -> Self {
        self.command_timeout = Some(timeout).filter(|t| !t.is_zero());
        self
    }

    /// Logs queries that take longer than `threshold` as a `tracing` warning with their
    /// SQL text and duration (never their bound values). Zero turns it off.
    pub fn slow_query_threshold(mut self, threshold: Duration) -> Self {
        self.slow_query_threshold = Some(threshold).filter(|t| !t.is_zero());
        self
    }

    /// The highest SCRAM iteration count accepted from a server (at least 4096).
    #[must_use]
    pub fn scram_max_iterations(mut self, iterations: u32) -> Self {
        self.scram_max_iterations = iterations;
        self
    }

    /// The longest server message accepted, in bytes (at least 8192).
    #[must_use]
    pub fn max_message_len(mut self, len: usize) -> Self {
        self.max_message_len = len;
        self
    }
}
