//! `Debug` and the redacted URI `Display`: both safe to log.

use std::fmt;
use std::time::Duration;

use super::{
    ChannelBinding, ConnectOptions, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_CACHEABLE_STATEMENT_LEN,
    DEFAULT_MAX_MESSAGE_LEN, DEFAULT_SCRAM_MAX_ITERATIONS, DEFAULT_STATEMENT_CACHE_CAPACITY, Host,
    LoadBalanceHosts, PasswordSource, ProtocolVersion, Replication, SslNegotiation, SslRootCert,
    TargetSessionAttrs, TlsVersion,
};

/// Marks a secret in printed options.
const REDACTED: &str = "<redacted>";

impl fmt::Debug for ConnectOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `PasswordSource` and `Secret` print "<redacted>" themselves.
        f.debug_struct("ConnectOptions")
            .field("hosts", &self.hosts)
            .field("hostaddrs", &self.hostaddrs)
            .field("ports", &self.ports)
            .field("user", &self.get_user())
            .field("dbname", &self.get_dbname())
            .field("password", &self.password)
            .field("passfile", &self.passfile)
            .field("service", &self.service)
            .field("service_file", &self.service_file)
            .field("options", &self.options)
            .field("server_settings", &self.server_settings)
            .field("application_name", &self.application_name)
            .field("fallback_application_name", &self.fallback_application_name)
            .field("connect_timeout", &self.connect_timeout)
            .field("keepalives", &self.keepalives)
            .field("keepalives_idle", &self.keepalives_idle)
            .field("keepalives_interval", &self.keepalives_interval)
            .field("keepalives_count", &self.keepalives_count)
            .field("tcp_user_timeout", &self.tcp_user_timeout)
            .field("ssl_mode", &self.get_ssl_mode())
            .field("ssl_mode_explicit", &self.ssl_mode_explicit)
            .field("ssl_negotiation", &self.ssl_negotiation)
            .field("ssl_root_cert", &self.ssl_root_cert)
            .field("ssl_crl", &self.ssl_crl)
            .field("ssl_crl_dir", &self.ssl_crl_dir)
            .field("ssl_cert", &self.ssl_cert)
            .field("ssl_key", &self.ssl_key)
            .field("ssl_password", &self.ssl_password)
            .field("ssl_sni", &self.ssl_sni)
            .field("ssl_min_protocol_version", &self.ssl_min_protocol_version)
            .field("ssl_max_protocol_version", &self.ssl_max_protocol_version)
            .field("channel_binding", &self.channel_binding)
            .field("require_auth", &self.require_auth)
            .field("target_session_attrs", &self.target_session_attrs)
            .field("replication", &self.replication)
            .field("load_balance_hosts", &self.load_balance_hosts)
            .field("min_protocol_version", &self.min_protocol_version)
            .field("max_protocol_version", &self.get_max_protocol_version())
            .field("statement_cache_capacity", &self.statement_cache_capacity)
            .field(
                "max_cacheable_statement_len",
                &self.max_cacheable_statement_len,
            )
            .field("command_timeout", &self.command_timeout)
            .field("slow_query_threshold", &self.slow_query_threshold)
            .field("scram_max_iterations", &self.scram_max_iterations)
            .field("max_message_len", &self.max_message_len)
            .finish()
    }
}

/// Prints the options as a `postgres://` URI with the password and `sslpassword`
/// replaced by `<redacted>`; options at their defaults are left out. Server settings
/// given with [`ConnectOptions::server_setting`] have no URI form and are not shown.
impl fmt::Display for ConnectOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_url_redacted())
    }
}

impl ConnectOptions {
    /// The options as a `postgres://` URI for logs, with secrets replaced by
    /// `<redacted>` (the same text as `Display`).
    pub fn to_url_redacted(&self) -> String {
        let mut out = String::from("postgres://");
        let password = matches!(self.password, Some(PasswordSource::Value(_)));
        if self.user.is_some() || password {
            out.push_str(&encode(self.user.as_deref().unwrap_or_default(), b""));
            if password {
                out.push(':');
                out.push_str(REDACTED);
            }
            out.push('@');
        }

        let (hosts, ports) = (&self.hosts, &self.ports);
        let ports_in_authority = ports.is_empty()
            || ports.len() == hosts.len()
            || (hosts.len() <= 1 && ports.len() == 1);
        let count = if ports_in_authority {
            hosts.len().max(ports.len())
        } else {
            hosts.len()
        };
        let authority: Vec<String> = (0..count)
            .map(|i| {
                let mut entry = hosts
                    .get(i)
                    .cloned()
                    .flatten()
                    .map_or(String::new(), host_text);
                if let (true, Some(Some(port))) = (ports_in_authority, ports.get(i)) {
                    entry.push_str(&format!(":{port}"));
                }
                entry
            })
            .collect();
        out.push_str(&authority.join(","));
        if let Some(dbname) = &self.dbname {
            out.push('/');
            out.push_str(&encode(dbname, b""));
        }

        let query = self.query_params(!ports_in_authority);
        for (i, (name, value)) in query.iter().enumerate() {
            out.push(if i == 0 { '?' } else { '&' });
            out.push_str(name);
            out.push('=');
            out.push_str(value);
        }
        out
    }

    /// Every option that differs from its default, as URI query parameters
    /// (values already encoded).
    fn query_params(&self, ports: bool) -> Vec<(&'static str, String)> {
        let mut q: Vec<(&'static str, String)> = Vec::new();
        let mut put = |name, value: &str| q.push((name, encode(value, b"/:,@")));
        let list = |items: Vec<String>| items.join(",");

        if !self.hostaddrs.is_empty() {
            let addrs = self
                .hostaddrs
                .iter()
                .map(|a| a.map_or(String::new(), |a| a.to_string()));
            put("hostaddr", &list(addrs.collect()));
        }
        if ports {
            let ports = self
                .ports
                .iter()
                .map(|p| p.map_or(String::new(), |p| p.to_string()));
            put("port", &list(ports.collect()));
        }
        if let Some(path) = &self.passfile {
            put("passfile", &path.to_string_lossy());
        }
        if let Some(v) = &self.options {
            put("options", v);
        }
        if let Some(v) = &self.application_name {
            put("application_name", v);
        }
        if let Some(v) = &self.fallback_application_name {
            put("fallback_application_name", v);
        }
        if self.connect_timeout != Some(DEFAULT_CONNECT_TIMEOUT) {
            put(
                "connect_timeout",
                &self.connect_timeout.map_or(0, ceil_secs).to_string(),
            );
        }
        if !self.keepalives {
            put("keepalives", "0");
        }
        if let Some(d) = self.keepalives_idle {
            put("keepalives_idle", &ceil_secs(d).to_string());
        }
        if let Some(d) = self.keepalives_interval {
            put("keepalives_interval", &ceil_secs(d).to_string());
        }
        if let Some(n) = self.keepalives_count {
            put("keepalives_count", &n.to_string());
        }
        if let Some(d) = self.tcp_user_timeout {
            put("tcp_user_timeout", &d.as_millis().to_string());
        }
        if self.ssl_mode_explicit {
            put("sslmode", self.get_ssl_mode().as_str());
        }
        if self.ssl_negotiation != SslNegotiation::Postgres {
            put("sslnegotiation", self.ssl_negotiation.as_str());
        }
        match &self.ssl_root_cert {
            Some(SslRootCert::System) => put("sslrootcert", "system"),
            Some(SslRootCert::File(path)) => put("sslrootcert", &path.to_string_lossy()),
            None => {}
        }
        if let Some(path) = &self.ssl_crl {
            put("sslcrl", &path.to_string_lossy());
        }
        if let Some(path) = &self.ssl_crl_dir {
            put("sslcrldir", &path.to_string_lossy());
        }
        if let Some(path) = &self.ssl_cert {
            put("sslcert", &path.to_string_lossy());
        }
        if let Some(path) = &self.ssl_key {
            put("sslkey", &path.to_string_lossy());
        }
        if !self.ssl_sni {
            put("sslsni", "0");
        }
        if self.ssl_min_protocol_version != TlsVersion::Tls1_2 {
            put(
                "ssl_min_protocol_version",
                self.ssl_min_protocol_version.as_str(),
            );
        }
        if let Some(v) = self.ssl_max_protocol_version {
            put("ssl_max_protocol_version", v.as_str());
        }
        if self.channel_binding != ChannelBinding::Prefer {
            put("channel_binding", self.channel_binding.as_str());
        }
        if let Some(v) = &self.require_auth {
            put("require_auth", v);
        }
        if self.target_session_attrs != TargetSessionAttrs::Any {
            put("target_session_attrs", self.target_session_attrs.as_str());
        }
        if self.replication != Replication::Off {
            put("replication", self.replication.as_str());
        }
        if self.load_balance_hosts != LoadBalanceHosts::Disable {
            put("load_balance_hosts", self.load_balance_hosts.as_str());
        }
        if self.min_protocol_version != ProtocolVersion::V3_0 {
            put("min_protocol_version", self.min_protocol_version.as_str());
        }
        if let Some(v) = self.max_protocol_version {
            put("max_protocol_version", v.as_str());
        }
        if self.statement_cache_capacity != DEFAULT_STATEMENT_CACHE_CAPACITY {
            put(
                "statement_cache_capacity",
                &self.statement_cache_capacity.to_string(),
            );
        }
        if self.max_cacheable_statement_len != DEFAULT_MAX_CACHEABLE_STATEMENT_LEN {
            put(
                "max_cacheable_statement_len",
                &self.max_cacheable_statement_len.to_string(),
            );
        }
        if let Some(d) = self.slow_query_threshold {
            put("slow_query_threshold", &d.as_secs_f64().to_string());
        }
        if let Some(d) = self.command_timeout {
            put("command_timeout", &d.as_secs_f64().to_string());
        }
        if self.scram_max_iterations != DEFAULT_SCRAM_MAX_ITERATIONS {
            put(
                "scram_max_iterations",
                &self.scram_max_iterations.to_string(),
            );
        }
        if self.max_message_len != DEFAULT_MAX_MESSAGE_LEN {
            put("max_message_len", &self.max_message_len.to_string());
        }
        if self.ssl_password.is_some() {
            q.push(("sslpassword", REDACTED.to_owned()));
        }
        q
    }
}

fn host_text(host: Host) -> String {
    match host {
        Host::Tcp(name) if name.contains(':') => format!("[{}]", encode(&name, b":")),
        Host::Tcp(name) => encode(&name, b""),
        Host::Unix(dir) => encode(&dir.to_string_lossy(), b""),
    }
}

fn ceil_secs(d: Duration) -> u64 {
    d.as_secs().saturating_add(u64::from(d.subsec_nanos() > 0))
}

/// Percent-encodes all but unreserved characters and those in `keep`.
fn encode(s: &str, keep: &[u8]) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) || keep.contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
