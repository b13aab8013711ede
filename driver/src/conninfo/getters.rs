//! Reading options back. Getters return the value in effect: the configured one, or
//! the default described in the module documentation.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use super::{
    ChannelBinding, ConnectOptions, Host, LoadBalanceHosts, PasswordSource, ProtocolVersion,
    Replication, Secret, SslMode, SslNegotiation, SslRootCert, TargetSessionAttrs, TlsVersion, env,
    keyword,
};
use crate::Error;

/// The OS user of this process, looked up once (for options built without parsing).
fn process_user() -> Option<&'static str> {
    static USER: OnceLock<Option<String>> = OnceLock::new();
    USER.get_or_init(|| env::os_user(&env::real_env)).as_deref()
}

impl ConnectOptions {
    /// The configured hosts (empty elements mean the default host). Most callers want
    /// [`endpoints`](Self::endpoints).
    pub fn get_hosts(&self) -> &[Option<Host>] {
        &self.hosts
    }

    /// The configured `hostaddr` values.
    pub fn get_hostaddrs(&self) -> &[Option<IpAddr>] {
        &self.hostaddrs
    }

    /// The configured ports (empty elements mean 5432).
    pub fn get_ports(&self) -> &[Option<u16>] {
        &self.ports
    }

    /// The user name: the configured one, else the OS user.
    pub fn get_user(&self) -> Option<&str> {
        self.user
            .as_deref()
            .or(self.default_user.as_deref())
            .or_else(|| process_user())
    }

    /// The database name: the configured one, else the user name.
    pub fn get_dbname(&self) -> Option<&str> {
        self.dbname.as_deref().or_else(|| self.get_user())
    }

    /// The configured password or password callback. When `None`, the password file
    /// is used ([`passfile_password`](Self::passfile_password)).
    pub fn get_password(&self) -> Option<&PasswordSource> {
        self.password.as_ref()
    }

    /// The password file: the configured one, else `~/.pgpass`.
    pub fn get_passfile(&self) -> Option<PathBuf> {
        self.passfile
            .clone()
            .or_else(|| self.default_passfile.clone())
            .or_else(|| env::home_dir(&env::real_env).map(|home| home.join(".pgpass")))
    }

    /// The service name the options were read from, if any.
    pub fn get_service(&self) -> Option<&str> {
        self.service.as_deref()
    }

    /// libpq's `options` string as written.
    pub fn get_options(&self) -> Option<&str> {
        self.options.as_deref()
    }

    /// The settings in the `options` string as `(name, value)` pairs, unescaped.
    pub fn option_settings(&self) -> Result<Vec<(String, String)>, Error> {
        self.options
            .as_deref()
            .map_or(Ok(Vec::new()), keyword::parse_options)
    }

    /// The server settings given with [`server_setting`](Self::server_setting).
    pub fn get_server_settings(&self) -> &[(String, String)] {
        &self.server_settings
    }

    /// The application name sent: `application_name`, else the fallback.
    pub fn get_application_name(&self) -> Option<&str> {
        self.application_name
            .as_deref()
            .or(self.fallback_application_name.as_deref())
    }

    /// The per-host connect timeout; `None` waits forever.
    pub fn get_connect_timeout(&self) -> Option<Duration> {
        self.connect_timeout
    }

    /// Whether TCP keepalives are enabled.
    pub fn get_keepalives(&self) -> bool {
        self.keepalives
    }

    /// Idle time before the first keepalive probe; `None` is the OS default.
    pub fn get_keepalives_idle(&self) -> Option<Duration> {
        self.keepalives_idle
    }

    /// Time between keepalive probes; `None` is the OS default.
    pub fn get_keepalives_interval(&self) -> Option<Duration> {
        self.keepalives_interval
    }

    /// Lost probes before the connection is dropped; `None` is the OS default.
    pub fn get_keepalives_count(&self) -> Option<u32> {
        self.keepalives_count
    }

    /// `TCP_USER_TIMEOUT`; `None` is the OS default.
    pub fn get_tcp_user_timeout(&self) -> Option<Duration> {
        self.tcp_user_timeout
    }

    /// The TLS mode in effect. When none was configured this is libpq's default:
    /// `verify-full` if `sslrootcert=system`, else the weak `prefer` (see
    /// [`ssl_mode_is_explicit`](Self::ssl_mode_is_explicit)).
    pub fn get_ssl_mode(&self) -> SslMode {
        match (self.ssl_mode, &self.ssl_root_cert) {
            (Some(mode), _) => mode,
            (None, Some(SslRootCert::System)) => SslMode::VerifyFull,
            (None, _) => SslMode::Prefer,
        }
    }

    /// Whether the TLS mode was chosen by the user (connection string, service file,
    /// `PGSSLMODE` or the builder) rather than defaulted. The connection warns when it
    /// falls back to plain text under a defaulted `prefer`.
    pub fn ssl_mode_is_explicit(&self) -> bool {
        self.ssl_mode_explicit
    }

    /// How TLS is started.
    pub fn get_ssl_negotiation(&self) -> SslNegotiation {
        self.ssl_negotiation
    }

    /// The trusted roots, if configured.
    pub fn get_ssl_root_cert(&self) -> Option<&SslRootCert> {
        self.ssl_root_cert.as_ref()
    }

    /// The certificate revocation list file (`sslcrl`), if set.
    pub fn get_ssl_crl(&self) -> Option<&Path> {
        self.ssl_crl.as_deref()
    }

    /// The certificate revocation list directory (`sslcrldir`), if set.
    pub fn get_ssl_crl_dir(&self) -> Option<&Path> {
        self.ssl_crl_dir.as_deref()
    }

    /// The client certificate file.
    pub fn get_ssl_cert(&self) -> Option<&Path> {
        self.ssl_cert.as_deref()
    }

    /// The client key file.
    pub fn get_ssl_key(&self) -> Option<&Path> {
        self.ssl_key.as_deref()
    }

    /// The client key's password.
    pub fn get_ssl_password(&self) -> Option<&Secret> {
        self.ssl_password.as_ref()
    }

    /// Whether the host name is sent in TLS SNI.
    pub fn get_ssl_sni(&self) -> bool {
        self.ssl_sni
    }

    /// The oldest TLS version accepted.
    pub fn get_ssl_min_protocol_version(&self) -> TlsVersion {
        self.ssl_min_protocol_version
    }

    /// The newest TLS version offered; `None` is the newest supported.
    pub fn get_ssl_max_protocol_version(&self) -> Option<TlsVersion> {
        self.ssl_max_protocol_version
    }

    /// The channel binding mode.
    pub fn get_channel_binding(&self) -> ChannelBinding {
        self.channel_binding
    }

    /// libpq's `require_auth` value, unparsed (the authentication layer parses it).
    pub fn get_require_auth(&self) -> Option<&str> {
        self.require_auth.as_deref()
    }

    /// Which kind of server is accepted.
    pub fn get_target_session_attrs(&self) -> TargetSessionAttrs {
        self.target_session_attrs
    }

    /// Whether the session is a replication connection.
    pub fn get_replication(&self) -> Replication {
        self.replication
    }

    /// Whether hosts are shuffled.
    pub fn get_load_balance_hosts(&self) -> LoadBalanceHosts {
        self.load_balance_hosts
    }

    /// The oldest protocol version accepted.
    pub fn get_min_protocol_version(&self) -> ProtocolVersion {
        self.min_protocol_version
    }

    /// The protocol version to request: the configured one, else 3.0, or the latest
    /// when the minimum is above 3.0 (as in libpq 18).
    pub fn get_max_protocol_version(&self) -> ProtocolVersion {
        self.max_protocol_version
            .unwrap_or(if self.min_protocol_version > ProtocolVersion::V3_0 {
                ProtocolVersion::LATEST
            } else {
                ProtocolVersion::V3_0
            })
    }

    /// Prepared statements kept per connection (0: unnamed statements only).
    pub fn get_statement_cache_capacity(&self) -> usize {
        self.statement_cache_capacity
    }

    /// SQL texts longer than this are not cached.
    pub fn get_max_cacheable_statement_len(&self) -> usize {
        self.max_cacheable_statement_len
    }

    /// How long a statement may run; `None` is no limit.
    pub fn get_command_timeout(&self) -> Option<Duration> {
        self.command_timeout
    }

    /// Queries slower than this are logged as a `tracing` warning (`slow_query_threshold`).
    pub fn get_slow_query_threshold(&self) -> Option<Duration> {
        self.slow_query_threshold
    }

    /// The highest SCRAM iteration count accepted.
    pub fn get_scram_max_iterations(&self) -> u32 {
        self.scram_max_iterations
    }

    /// The longest server message accepted, in bytes.
    pub fn get_max_message_len(&self) -> usize {
        self.max_message_len
    }
}
