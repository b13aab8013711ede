//! Connect options: the libpq keywords, connection strings and URLs, the environment,
//! service and password files. The guide, and the public home of the option enums, is the
//! public `config` module.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use crate::Error;

mod builder;
mod display;
mod env;
mod getters;
mod host;
mod keyword;
mod modes;
mod parse;
mod pgpass;
mod secret;
mod service;
#[cfg(test)]
mod tests;

pub use host::{DEFAULT_PORT, DEFAULT_SOCKET_DIRS, Endpoint, Host};
pub use modes::{
    ChannelBinding, LoadBalanceHosts, ProtocolVersion, Replication, SslMode, SslNegotiation,
    SslRootCert, TargetSessionAttrs, TlsVersion,
};
pub use secret::{PasswordCallback, PasswordFuture, PasswordSource, Secret};

use keyword::Keyword;

/// The connect timeout used when none is configured. libpq waits forever, which turns
/// a black-holed host into a hung program.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// Prepared statements kept per connection by default.
pub const DEFAULT_STATEMENT_CACHE_CAPACITY: usize = 100;
/// SQL texts longer than this (bytes) are not cached by default, as in asyncpg.
pub const DEFAULT_MAX_CACHEABLE_STATEMENT_LEN: usize = 15 * 1024;
/// The highest SCRAM iteration count accepted by default.
pub const DEFAULT_SCRAM_MAX_ITERATIONS: u32 = 100_000;
/// The longest server message accepted by default (1 GiB, PostgreSQL's limit for one value).
pub const DEFAULT_MAX_MESSAGE_LEN: usize = 1 << 30;

/// Everything needed to open a connection: where, as whom, how securely, and the
/// driver's own limits. See the [module documentation](crate::config) for the keywords,
/// sources and defaults.
///
/// Build it from a connection string ([`parse`](Self::parse), [`FromStr`]), from the
/// environment ([`from_env`](Self::from_env)), or with the builder methods, which can
/// also override parsed values. Read values back with the `get_*` methods (the plain
/// names are the builder's). `Debug` and `Display` never show passwords.
#[derive(Clone)]
pub struct ConnectOptions {
    hosts: Vec<Option<Host>>,
    hostaddrs: Vec<Option<std::net::IpAddr>>,
    ports: Vec<Option<u16>>,
    user: Option<String>,
    /// The OS user found while parsing (through the injected environment).
    default_user: Option<String>,
    dbname: Option<String>,
    password: Option<PasswordSource>,
    passfile: Option<PathBuf>,
    /// `~/.pgpass` found while parsing.
    default_passfile: Option<PathBuf>,
    service: Option<String>,
    service_file: Option<PathBuf>,
    options: Option<String>,
    server_settings: Vec<(String, String)>,
    application_name: Option<String>,
    fallback_application_name: Option<String>,
    connect_timeout: Option<Duration>,
    keepalives: bool,
    keepalives_idle: Option<Duration>,
    keepalives_interval: Option<Duration>,
    keepalives_count: Option<u32>,
    tcp_user_timeout: Option<Duration>,
    ssl_mode: Option<SslMode>,
    ssl_mode_explicit: bool,
    ssl_negotiation: SslNegotiation,
    ssl_root_cert: Option<SslRootCert>,
    ssl_crl: Option<PathBuf>,
    ssl_crl_dir: Option<PathBuf>,
    ssl_cert: Option<PathBuf>,
    ssl_key: Option<PathBuf>,
    ssl_password: Option<Secret>,
    ssl_sni: bool,
    ssl_min_protocol_version: TlsVersion,
    ssl_max_protocol_version: Option<TlsVersion>,
    channel_binding: ChannelBinding,
    require_auth: Option<String>,
    target_session_attrs: TargetSessionAttrs,
    load_balance_hosts: LoadBalanceHosts,
    replication: Replication,
    min_protocol_version: ProtocolVersion,
    max_protocol_version: Option<ProtocolVersion>,
    statement_cache_capacity: usize,
    max_cacheable_statement_len: usize,
    command_timeout: Option<Duration>,
    slow_query_threshold: Option<Duration>,
    scram_max_iterations: u32,
    max_message_len: usize,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self::new()
    }
}

/// Where a keyword's value came from, for error messages.
enum Source {
    ConnString,
    Service,
    Env(&'static str),
}

impl ConnectOptions {
    /// Options with every value at its default, ignoring the `PG*` environment
    /// variables. The user defaults to the OS user and the password file to
    /// `~/.pgpass` (looked up when first needed), the host to the local socket or
    /// `localhost` (looked up by [`endpoints`](Self::endpoints)).
    pub fn new() -> Self {
        ConnectOptions {
            hosts: Vec::new(),
            hostaddrs: Vec::new(),
            ports: Vec::new(),
            user: None,
            default_user: None,
            dbname: None,
            password: None,
            passfile: None,
            default_passfile: None,
            service: None,
            service_file: None,
            options: None,
            server_settings: Vec::new(),
            application_name: None,
            fallback_application_name: None,
            connect_timeout: Some(DEFAULT_CONNECT_TIMEOUT),
            keepalives: true,
            keepalives_idle: None,
            keepalives_interval: None,
            keepalives_count: None,
            tcp_user_timeout: None,
            ssl_mode: None,
            ssl_mode_explicit: false,
            ssl_negotiation: SslNegotiation::Postgres,
            ssl_root_cert: None,
            ssl_crl: None,
            ssl_crl_dir: None,
            ssl_cert: None,
            ssl_key: None,
            ssl_password: None,
            ssl_sni: true,
            ssl_min_protocol_version: TlsVersion::Tls1_2,
            ssl_max_protocol_version: None,
            channel_binding: ChannelBinding::Prefer,
            require_auth: None,
            target_session_attrs: TargetSessionAttrs::Any,
            load_balance_hosts: LoadBalanceHosts::Disable,
            replication: Replication::Off,
            min_protocol_version: ProtocolVersion::V3_0,
            max_protocol_version: None,
            statement_cache_capacity: DEFAULT_STATEMENT_CACHE_CAPACITY,
            max_cacheable_statement_len: DEFAULT_MAX_CACHEABLE_STATEMENT_LEN,
            command_timeout: None,
            slow_query_threshold: None,
            scram_max_iterations: DEFAULT_SCRAM_MAX_ITERATIONS,
            max_message_len: DEFAULT_MAX_MESSAGE_LEN,
        }
    }

    /// Parses a `postgres://` URI or a `keyword=value` string, then fills unset options
    /// from the service file and the process environment, as libpq does.
    ///
    /// The result is [validated](Self::validate). Errors never contain the password.
    pub fn parse(s: &str) -> Result<Self, Error> {
        Self::parse_with_env(s, env::real_env)
    }

    /// Options from the environment alone (`PGHOST`, `PGUSER`, `PGSERVICE`, ...):
    /// the same as `parse("")`.
    pub fn from_env() -> Result<Self, Error> {
        Self::parse_with_env("", env::real_env)
    }

    /// [`parse`](Self::parse) with `env` standing in for the process environment.
    /// It is asked for the `PG*` variables and for `USER`, `LOGNAME`, `HOME` and
    /// `PGSYSCONFDIR`; `|_| None` parses the string alone. The OS user and home
    /// directory still fall back to the system's user database.
    pub fn parse_with_env(s: &str, env: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let pairs = parse::parse(s)?;
        Self::resolve(pairs, &env)
    }

    /// Merges the connection string's values with the service file and the
    /// environment (the first to set a keyword wins), applies them, and validates.
    fn resolve(
        pairs: Vec<(Keyword, String)>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, Error> {
        let mut values: BTreeMap<Keyword, (String, Source)> = BTreeMap::new();
        for (keyword, value) in pairs {
            values.insert(keyword, (value, Source::ConnString));
        }
        let explicit = |values: &BTreeMap<Keyword, (String, Source)>, k| {
            values.get(&k).map(|(v, _): &(String, Source)| v.clone())
        };

        let service = explicit(&values, Keyword::Service)
            .or_else(|| env("PGSERVICE"))
            .filter(|s| !s.is_empty());
        if let Some(name) = &service {
            let search = service::Search {
                user_file: explicit(&values, Keyword::ServiceFile)
                    .or_else(|| env("PGSERVICEFILE"))
                    .filter(|s| !s.is_empty())
                    .map(PathBuf::from),
                home: env::home_dir(env),
                sysconfdir: env("PGSYSCONFDIR")
                    .filter(|s| !s.is_empty())
                    .map_or_else(|| PathBuf::from(env::DEFAULT_SYSCONFDIR), PathBuf::from),
            };
            for (keyword, value) in service::lookup(name, &search)? {
                values.entry(keyword).or_insert((value, Source::Service));
            }
        }
        for (keyword, value, var) in env::settings(env)? {
            values.entry(keyword).or_insert((value, Source::Env(var)));
        }

        let mut opts = ConnectOptions::new();
        for (keyword, (value, source)) in &values {
            keyword::apply(&mut opts, *keyword, value).map_err(|e| match source {
                Source::ConnString => e,
                Source::Service => e.context(format_args!(
                    "service \"{}\"",
                    service.as_deref().unwrap_or_default()
                )),
                Source::Env(var) => e.context(format_args!("environment variable {var}")),
            })?;
        }
        opts.default_user = env::os_user(env);
        opts.default_passfile = env::home_dir(env).map(|home| home.join(".pgpass"));
        opts.validate()?;
        Ok(opts)
    }

    /// Checks the combination of options: host/hostaddr/port pairing, TLS settings that
    /// libpq refuses together, protocol version range, startup settings, and NUL bytes.
    /// Parsing validates; call this after changing options with the builder (connecting
    /// does).
    pub fn validate(&self) -> Result<(), Error> {
        host::pair(&self.hosts, &self.hostaddrs, &self.ports)?;
        for host in self.hosts.iter().flatten() {
            if let Host::Unix(path) = host {
                let is_socket_file = path
                    .file_name()
                    .and_then(|name| name.to_str())
                    .is_some_and(|name| name.starts_with(".s.PGSQL."));
                if is_socket_file {
                    return Err(Error::config(format!(
                        "host \"{}\" is a socket file; give its directory as host and the \
                         number after .s.PGSQL. as port",
                        path.display()
                    )));
                }
            }
        }

        let mode = self.get_ssl_mode();
        if self.ssl_negotiation == SslNegotiation::Direct && !mode.requires_tls() {
            return Err(Error::config(format!(
                "weak sslmode \"{mode}\" may not be used with sslnegotiation=direct \
                 (use \"require\", \"verify-ca\", or \"verify-full\")"
            )));
        }
        if self.ssl_root_cert == Some(SslRootCert::System) && mode != SslMode::VerifyFull {
            return Err(Error::config(format!(
                "weak sslmode \"{mode}\" may not be used with sslrootcert=system (use \"verify-full\")"
            )));
        }
        if self.channel_binding == ChannelBinding::Require && mode == SslMode::Disable {
            return Err(Error::config(
                "channel_binding=require needs TLS, but sslmode is \"disable\"",
            ));
        }
        if let Some(max) = self.ssl_max_protocol_version
            && self.ssl_min_protocol_version > max
        {
            return Err(Error::config(
                "ssl_min_protocol_version is greater than ssl_max_protocol_version",
            ));
        }
        if self.min_protocol_version > self.get_max_protocol_version() {
            return Err(Error::config(
                "min_protocol_version is greater than max_protocol_version",
            ));
        }
        if let Some(options) = &self.options {
            keyword::parse_options(options)?;
        }
        for (name, value) in &self.server_settings {
            keyword::check_setting(name, value)?;
        }
        if self.scram_max_iterations < 4096 {
            return Err(Error::config(
                "scram_max_iterations must be at least 4096 (the SCRAM minimum and PostgreSQL's default)",
            ));
        }
        if self.max_message_len < 8192 {
            return Err(Error::config("max_message_len must be at least 8192 bytes"));
        }
        self.check_nul_bytes()
    }

    /// Values end up as C strings in the startup packet or the password message, where
    /// a NUL would truncate them.
    fn check_nul_bytes(&self) -> Result<(), Error> {
        let named = [
            ("user", self.user.as_deref()),
            ("dbname", self.dbname.as_deref()),
            ("application_name", self.application_name.as_deref()),
            (
                "fallback_application_name",
                self.fallback_application_name.as_deref(),
            ),
            ("options", self.options.as_deref()),
            ("require_auth", self.require_auth.as_deref()),
        ];
        for (name, value) in named {
            if value.is_some_and(|v| v.contains('\0')) {
                return Err(Error::config(format!("{name} contains a NUL byte")));
            }
        }
        if self
            .hosts
            .iter()
            .flatten()
            .any(|h| h.to_text().contains('\0'))
        {
            return Err(Error::config("host contains a NUL byte"));
        }
        if let Some(PasswordSource::Value(p)) = &self.password
            && p.expose().contains('\0')
        {
            return Err(Error::config("the password contains a NUL byte"));
        }
        Ok(())
    }

    /// The servers to try, in order (before `load_balance_hosts=random` shuffles them),
    /// with libpq's pairing of hosts, addresses and ports and its defaults filled in.
    ///
    /// With no host, the first of [`DEFAULT_SOCKET_DIRS`] that holds a socket for the
    /// port is used, else `localhost`; this looks at the file system.
    pub fn endpoints(&self) -> Result<Vec<Endpoint>, Error> {
        self.endpoints_with(&|path: &Path| path.exists())
    }

    pub(crate) fn endpoints_with(
        &self,
        exists: &dyn Fn(&Path) -> bool,
    ) -> Result<Vec<Endpoint>, Error> {
        let paired = host::pair(&self.hosts, &self.hostaddrs, &self.ports)?;
        Ok(host::endpoints(paired, exists))
    }

    /// The password for `endpoint` from the password file, when no password or
    /// callback is configured. This is libpq's per-host lookup: the connection calls
    /// it for each host it tries. It reads the file each time, so edits apply to new
    /// connections; a file others can read is ignored with a warning.
    pub fn passfile_password(&self, endpoint: &Endpoint) -> Option<Secret> {
        let path = self.get_passfile()?;
        let user = self.get_user()?;
        let dbname = self.get_dbname()?;
        let file = pgpass::PassFile::load(&path)?;
        file.password_for(&pgpass::lookup_host(endpoint), endpoint.port, dbname, user)
            .cloned()
    }

    /// The parameters of the StartupMessage, in order: `user`, `database`,
    /// `application_name` (or the fallback), `client_encoding=UTF8`, `options` as
    /// written, then the server settings (which win over `options`).
    ///
    /// Errors when no user name is known.
    pub fn startup_params(&self) -> Result<Vec<(String, String)>, Error> {
        let user = self.get_user().ok_or_else(|| {
            Error::config("no user name: set user (or PGUSER); the OS user name could not be found")
        })?;
        let mut params = vec![
            ("user".to_owned(), user.to_owned()),
            (
                "database".to_owned(),
                self.get_dbname().unwrap_or(user).to_owned(),
            ),
        ];
        if let Some(name) = self.get_application_name() {
            params.push(("application_name".to_owned(), name.to_owned()));
        }
        params.push(("client_encoding".to_owned(), "UTF8".to_owned()));
        if let Some(options) = &self.options {
            params.push(("options".to_owned(), options.clone()));
        }
        if self.replication != Replication::Off {
            params.push((
                "replication".to_owned(),
                self.replication.as_str().to_owned(),
            ));
        }
        for (name, value) in &self.server_settings {
            match params
                .iter_mut()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
            {
                Some(existing) => existing.1.clone_from(value),
                None => params.push((name.clone(), value.clone())),
            }
        }
        Ok(params)
    }
}

impl FromStr for ConnectOptions {
    type Err = Error;

    /// Same as [`ConnectOptions::parse`] (the environment is applied).
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::parse(s)
    }
}

/// The password file's parser and matcher, for the fuzz target `pgpass` (through
/// `internals`): the password of the first entry of `file` matching the four values.
#[cfg(feature = "__internals")]
pub(crate) fn pgpass_password(
    file: &[u8],
    host: &str,
    port: u16,
    dbname: &str,
    user: &str,
) -> Option<String> {
    pgpass::PassFile::parse(file)
        .password_for(host, port, dbname, user)
        .map(|p| p.expose().to_owned())
}

/// The service file's section reader, for the fuzz target `service_file` (through
/// `internals`): the keyword names and values of section `[name]`.
#[cfg(feature = "__internals")]
pub(crate) fn service_section(
    text: &str,
    name: &str,
) -> Result<Option<Vec<(&'static str, String)>>, Error> {
    let values = service::parse_section(text, name, Path::new("pg_service.conf"))?;
    Ok(values.map(|v| v.into_iter().map(|(k, s)| (k.name(), s)).collect()))
}
