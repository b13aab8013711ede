//! The connection keywords: names, environment variables, and how each value is checked
//! and stored. Every source (URI, keyword string, service file, environment) goes
//! through [`apply`], so a value means the same thing wherever it came from.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::ConnectOptions;
use super::host::Host;
use super::modes::{ProtocolVersion, SslRootCert, TlsVersion, invalid_value};
use super::secret::{PasswordSource, Secret};
use crate::Error;

/// A keyword Quarry understands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Keyword {
    Host,
    HostAddr,
    Port,
    DbName,
    User,
    Password,
    PassFile,
    Service,
    ServiceFile,
    Options,
    ApplicationName,
    FallbackApplicationName,
    ConnectTimeout,
    ClientEncoding,
    Keepalives,
    KeepalivesIdle,
    KeepalivesInterval,
    KeepalivesCount,
    TcpUserTimeout,
    SslMode,
    SslNegotiation,
    SslRootCert,
    SslCrl,
    SslCrlDir,
    SslCert,
    SslKey,
    SslPassword,
    SslSni,
    SslMinProtocolVersion,
    SslMaxProtocolVersion,
    SslCompression,
    ChannelBinding,
    RequireAuth,
    TargetSessionAttrs,
    LoadBalanceHosts,
    Replication,
    MinProtocolVersion,
    MaxProtocolVersion,
    GssEncMode,
    StatementCacheCapacity,
    MaxCacheableStatementLen,
    CommandTimeout,
    SlowQueryThreshold,
    ScramMaxIterations,
    MaxMessageLen,
}

/// (keyword, name, environment variable). libpq's keywords and variables first, then
/// Quarry's extras (which have no environment variable).
pub(crate) const KEYWORDS: &[(Keyword, &str, Option<&str>)] = &[
    (Keyword::Host, "host", Some("PGHOST")),
    (Keyword::HostAddr, "hostaddr", Some("PGHOSTADDR")),
    (Keyword::Port, "port", Some("PGPORT")),
    (Keyword::DbName, "dbname", Some("PGDATABASE")),
    (Keyword::User, "user", Some("PGUSER")),
    (Keyword::Password, "password", Some("PGPASSWORD")),
    (Keyword::PassFile, "passfile", Some("PGPASSFILE")),
    (Keyword::Service, "service", Some("PGSERVICE")),
    (Keyword::ServiceFile, "servicefile", Some("PGSERVICEFILE")),
    (Keyword::Options, "options", Some("PGOPTIONS")),
    (
        Keyword::ApplicationName,
        "application_name",
        Some("PGAPPNAME"),
    ),
    (
        Keyword::FallbackApplicationName,
        "fallback_application_name",
        None,
    ),
    (
        Keyword::ConnectTimeout,
        "connect_timeout",
        Some("PGCONNECT_TIMEOUT"),
    ),
    // PGCLIENTENCODING is deliberately not read: the driver always uses UTF8, and a
    // variable set for psql in a non-UTF8 terminal must not break every program.
    (Keyword::ClientEncoding, "client_encoding", None),
    (Keyword::Keepalives, "keepalives", None),
    (Keyword::KeepalivesIdle, "keepalives_idle", None),
    (Keyword::KeepalivesInterval, "keepalives_interval", None),
    (Keyword::KeepalivesCount, "keepalives_count", None),
    (Keyword::TcpUserTimeout, "tcp_user_timeout", None),
    (Keyword::SslMode, "sslmode", Some("PGSSLMODE")),
    (
        Keyword::SslNegotiation,
        "sslnegotiation",
        Some("PGSSLNEGOTIATION"),
    ),
    (Keyword::SslRootCert, "sslrootcert", Some("PGSSLROOTCERT")),
    (Keyword::SslCrl, "sslcrl", Some("PGSSLCRL")),
    (Keyword::SslCrlDir, "sslcrldir", Some("PGSSLCRLDIR")),
    (Keyword::SslCert, "sslcert", Some("PGSSLCERT")),
    (Keyword::SslKey, "sslkey", Some("PGSSLKEY")),
    (Keyword::SslPassword, "sslpassword", None),
    (Keyword::SslSni, "sslsni", Some("PGSSLSNI")),
    (
        Keyword::SslMinProtocolVersion,
        "ssl_min_protocol_version",
        Some("PGSSLMINPROTOCOLVERSION"),
    ),
    (
        Keyword::SslMaxProtocolVersion,
        "ssl_max_protocol_version",
        Some("PGSSLMAXPROTOCOLVERSION"),
    ),
    (
        Keyword::SslCompression,
        "sslcompression",
        Some("PGSSLCOMPRESSION"),
    ),
    (
        Keyword::ChannelBinding,
        "channel_binding",
        Some("PGCHANNELBINDING"),
    ),
    (Keyword::RequireAuth, "require_auth", Some("PGREQUIREAUTH")),
    (
        Keyword::TargetSessionAttrs,
        "target_session_attrs",
        Some("PGTARGETSESSIONATTRS"),
    ),
    (
        Keyword::LoadBalanceHosts,
        "load_balance_hosts",
        Some("PGLOADBALANCEHOSTS"),
    ),
    (Keyword::Replication, "replication", None),
    (
        Keyword::MinProtocolVersion,
        "min_protocol_version",
        Some("PGMINPROTOCOLVERSION"),
    ),
    (
        Keyword::MaxProtocolVersion,
        "max_protocol_version",
        Some("PGMAXPROTOCOLVERSION"),
    ),
    (Keyword::GssEncMode, "gssencmode", Some("PGGSSENCMODE")),
    (
        Keyword::StatementCacheCapacity,
        "statement_cache_capacity",
        None,
    ),
    (
        Keyword::MaxCacheableStatementLen,
        "max_cacheable_statement_len",
        None,
    ),
    (Keyword::CommandTimeout, "command_timeout", None),
    (Keyword::SlowQueryThreshold, "slow_query_threshold", None),
    (Keyword::ScramMaxIterations, "scram_max_iterations", None),
    (Keyword::MaxMessageLen, "max_message_len", None),
];

/// libpq keywords Quarry refuses, with the reason. Refusing is safer than ignoring:
/// each of these asks for a check or a mechanism that would silently not happen.
/// Their environment variables are refused too where ignoring them would weaken security.
pub(crate) const UNSUPPORTED: &[(&str, Option<&str>, &str)] = &[
    (
        "sslcertmode",
        Some("PGSSLCERTMODE"),
        "it is not supported; the client certificate is sent when sslcert is set and the server asks for one",
    ),
    (
        "requirepeer",
        Some("PGREQUIREPEER"),
        "checking the server process's user over a Unix socket is not supported",
    ),
    ("sslkeylogfile", None, "TLS key logging is not supported"),
    (
        "krbsrvname",
        None,
        "GSSAPI/Kerberos authentication is not supported",
    ),
    (
        "gsslib",
        None,
        "GSSAPI/Kerberos authentication is not supported",
    ),
    (
        "gssdelegation",
        None,
        "GSSAPI/Kerberos authentication is not supported",
    ),
    (
        "oauth_issuer",
        None,
        "OAuth authentication is not supported (a password callback can supply a token)",
    ),
    (
        "oauth_client_id",
        None,
        "OAuth authentication is not supported (a password callback can supply a token)",
    ),
    (
        "oauth_client_secret",
        None,
        "OAuth authentication is not supported (a password callback can supply a token)",
    ),
    (
        "oauth_scope",
        None,
        "OAuth authentication is not supported (a password callback can supply a token)",
    ),
    (
        "scram_client_key",
        None,
        "passing SCRAM keys instead of a password is not supported",
    ),
    (
        "scram_server_key",
        None,
        "passing SCRAM keys instead of a password is not supported",
    ),
];

impl Keyword {
    /// The keyword's name in connection strings.
    pub(crate) fn name(self) -> &'static str {
        KEYWORDS
            .iter()
            .find(|(k, _, _)| *k == self)
            .map_or("?", |(_, name, _)| name)
    }

    /// Whether the value is a secret that must never be echoed.
    pub(crate) fn is_secret(self) -> bool {
        matches!(self, Keyword::Password | Keyword::SslPassword)
    }

    /// Looks up a keyword by name: unknown names are an error listing the valid ones,
    /// known libpq keywords that Quarry does not support an `Unsupported` error.
    pub(crate) fn from_name(name: &str) -> Result<Keyword, Error> {
        if let Some((kw, _, _)) = KEYWORDS.iter().find(|(_, n, _)| *n == name) {
            return Ok(*kw);
        }
        if let Some((_, _, why)) = UNSUPPORTED.iter().find(|(n, _, _)| *n == name) {
            return Err(Error::unsupported(format!(
                "connection option \"{name}\" is refused: {why}"
            )));
        }
        Err(unknown_keyword(name))
    }
}

fn unknown_keyword(name: &str) -> Error {
    let hint = match name {
        "database" | "db" => Some("dbname"),
        "username" => Some("user"),
        "ssl" | "ssl_mode" => Some("sslmode"),
        "timeout" => Some("connect_timeout"),
        _ => KEYWORDS
            .iter()
            .map(|(_, n, _)| *n)
            .find(|n| edit_distance(n, name) <= 2),
    };
    let hint = hint.map_or(String::new(), |h| format!(" (did you mean \"{h}\"?)"));
    let valid: Vec<&str> = KEYWORDS.iter().map(|(_, n, _)| *n).collect();
    Error::config(format!(
        "invalid connection option \"{name}\"{hint}; valid options are: {}",
        valid.join(", ")
    ))
}

/// Levenshtein distance, for "did you mean" hints on short keyword names.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Stores one keyword's value in `opts`, checking it first.
///
/// Empty values follow libpq: for names and paths empty means "not set"; for
/// enumerations and numbers it is an invalid value.
pub(crate) fn apply(opts: &mut ConnectOptions, kw: Keyword, value: &str) -> Result<(), Error> {
    let name = kw.name();
    let text = || (!value.is_empty()).then(|| value.to_owned());
    let path = || (!value.is_empty()).then(|| PathBuf::from(value));
    match kw {
        Keyword::Host => opts.hosts = split_list(value, |s| Ok(Host::parse(s)))?,
        Keyword::HostAddr => opts.hostaddrs = split_list(value, parse_hostaddr)?,
        Keyword::Port => opts.ports = split_list(value, parse_port)?,
        Keyword::DbName => opts.dbname = text(),
        Keyword::User => opts.user = text(),
        Keyword::Password => {
            opts.password = text().map(|p| PasswordSource::Value(Secret::new(p)));
        }
        Keyword::PassFile => opts.passfile = path(),
        Keyword::Service => opts.service = text(),
        Keyword::ServiceFile => opts.service_file = path(),
        Keyword::Options => {
            parse_options(value)?;
            opts.options = text();
        }
        Keyword::ApplicationName => opts.application_name = text(),
        Keyword::FallbackApplicationName => opts.fallback_application_name = text(),
        Keyword::ConnectTimeout => {
            // libpq: zero or negative waits forever. libpq 18 waits exactly this long
            // (up to 17 it turned 1 into 2, which its microsecond timer made unneeded).
            let secs = parse_int(name, value)?;
            opts.connect_timeout = u64::try_from(secs)
                .ok()
                .filter(|s| *s > 0)
                .map(Duration::from_secs);
        }
        Keyword::ClientEncoding => check_client_encoding(value)?,
        Keyword::Keepalives => opts.keepalives = parse_int(name, value)? != 0,
        Keyword::KeepalivesIdle => opts.keepalives_idle = Some(parse_secs(name, value)?),
        Keyword::KeepalivesInterval => {
            opts.keepalives_interval = Some(parse_secs(name, value)?);
        }
        Keyword::KeepalivesCount => opts.keepalives_count = Some(parse_unsigned(name, value)?),
        Keyword::TcpUserTimeout => {
            let ms = parse_unsigned(name, value)?;
            opts.tcp_user_timeout = (ms > 0).then(|| Duration::from_millis(ms));
        }
        Keyword::SslMode => opts.ssl_mode = Some(value.parse()?),
        Keyword::SslNegotiation => opts.ssl_negotiation = value.parse()?,
        Keyword::SslRootCert => {
            opts.ssl_root_cert = (!value.is_empty()).then(|| SslRootCert::parse(value));
        }
        Keyword::SslCrl => opts.ssl_crl = path(),
        Keyword::SslCrlDir => opts.ssl_crl_dir = path(),
        Keyword::SslCert => opts.ssl_cert = path(),
        Keyword::SslKey => opts.ssl_key = path(),
        Keyword::SslPassword => opts.ssl_password = text().map(Secret::new),
        Keyword::SslSni => opts.ssl_sni = parse_flag(name, value)?,
        Keyword::SslMinProtocolVersion => {
            opts.ssl_min_protocol_version = TlsVersion::parse(name, value)?;
        }
        Keyword::SslMaxProtocolVersion => {
            opts.ssl_max_protocol_version = if value.is_empty() {
                None
            } else {
                Some(TlsVersion::parse(name, value)?)
            };
        }
        // Accepted and ignored, as libpq does since TLS compression was removed.
        Keyword::SslCompression => {
            parse_flag(name, value)?;
        }
        Keyword::ChannelBinding => opts.channel_binding = value.parse()?,
        // Parsed by the authentication layer, which knows the method names.
        Keyword::RequireAuth => opts.require_auth = text(),
        Keyword::TargetSessionAttrs => opts.target_session_attrs = value.parse()?,
        Keyword::LoadBalanceHosts => opts.load_balance_hosts = value.parse()?,
        Keyword::Replication => opts.replication = value.parse()?,
        Keyword::MinProtocolVersion => {
            opts.min_protocol_version = ProtocolVersion::parse(name, value)?;
        }
        Keyword::MaxProtocolVersion => {
            opts.max_protocol_version = Some(ProtocolVersion::parse(name, value)?);
        }
        Keyword::GssEncMode => match value {
            // Without GSSAPI support `prefer` means plain TCP or TLS, as in a libpq
            // built without GSSAPI.
            "disable" | "prefer" => {}
            "require" => {
                return Err(Error::unsupported(
                    "gssencmode=require cannot be met: GSSAPI encryption is not supported \
                     (use sslmode=verify-full for an encrypted connection)",
                ));
            }
            _ => {
                return Err(invalid_value(
                    name,
                    value,
                    &["disable", "prefer", "require"],
                ));
            }
        },
        Keyword::StatementCacheCapacity => {
            opts.statement_cache_capacity = parse_unsigned(name, value)?;
        }
        Keyword::MaxCacheableStatementLen => {
            opts.max_cacheable_statement_len = parse_unsigned(name, value)?;
        }
        Keyword::SlowQueryThreshold => {
            opts.slow_query_threshold = parse_decimal_secs(name, value)?.filter(|d| !d.is_zero());
        }
        Keyword::CommandTimeout => {
            opts.command_timeout = parse_decimal_secs(name, value)?.filter(|d| !d.is_zero());
        }
        Keyword::ScramMaxIterations => opts.scram_max_iterations = parse_unsigned(name, value)?,
        Keyword::MaxMessageLen => opts.max_message_len = parse_unsigned(name, value)?,
    }
    if kw == Keyword::SslMode {
        opts.ssl_mode_explicit = true;
    }
    Ok(())
}

/// Splits a comma-separated list; empty elements (after trimming) are `None`.
fn split_list<T>(
    value: &str,
    parse: impl Fn(&str) -> Result<T, Error>,
) -> Result<Vec<Option<T>>, Error> {
    if value.is_empty() {
        return Ok(Vec::new());
    }
    value
        .split(',')
        .map(str::trim)
        .map(|s| {
            if s.is_empty() {
                Ok(None)
            } else {
                parse(s).map(Some)
            }
        })
        .collect()
}

fn parse_hostaddr(s: &str) -> Result<IpAddr, Error> {
    s.parse().map_err(|_| {
        let hint = if s.contains('%') {
            " (IPv6 zone ids are not supported in hostaddr; put the address in host instead)"
        } else {
            ""
        };
        Error::config(format!(
            "invalid hostaddr \"{s}\": expected an IPv4 or IPv6 address{hint}"
        ))
    })
}

pub(crate) fn parse_port(s: &str) -> Result<u16, Error> {
    s.parse::<u16>()
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| Error::config(format!("invalid port number: \"{s}\"")))
}

fn parse_int(name: &str, value: &str) -> Result<i64, Error> {
    value.trim().parse().map_err(|_| {
        Error::config(format!(
            "invalid integer value \"{value}\" for connection option \"{name}\""
        ))
    })
}

fn parse_unsigned<T: TryFrom<i64>>(name: &str, value: &str) -> Result<T, Error> {
    T::try_from(parse_int(name, value)?).map_err(|_| {
        Error::config(format!(
            "value \"{value}\" for connection option \"{name}\" is out of range"
        ))
    })
}

fn parse_secs(name: &str, value: &str) -> Result<Duration, Error> {
    parse_unsigned(name, value).map(Duration::from_secs)
}

fn parse_flag(name: &str, value: &str) -> Result<bool, Error> {
    match value {
        "0" => Ok(false),
        "1" => Ok(true),
        _ => Err(invalid_value(name, value, &["0", "1"])),
    }
}

/// Seconds as an integer or decimal (`2.5`); `None` for zero.
fn parse_decimal_secs(name: &str, value: &str) -> Result<Option<Duration>, Error> {
    let secs: f64 = value.trim().parse().map_err(|_| {
        Error::config(format!(
            "invalid number of seconds \"{value}\" for connection option \"{name}\""
        ))
    })?;
    Duration::try_from_secs_f64(secs).map(Some).map_err(|_| {
        Error::config(format!(
            "value \"{value}\" for connection option \"{name}\" must be a non-negative number of seconds"
        ))
    })
}

/// Accepts the spellings PostgreSQL treats as UTF8 (it ignores case and punctuation).
pub(crate) fn check_client_encoding(value: &str) -> Result<(), Error> {
    let normalized: String = value
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if normalized == "utf8" || normalized == "unicode" {
        Ok(())
    } else {
        Err(Error::config(format!(
            "client_encoding \"{value}\" is not supported: the driver exchanges text as UTF-8 \
             and always sets client_encoding=UTF8 (the server converts from the database encoding)"
        )))
    }
}

/// Parses libpq's `options` value into `(name, value)` settings.
///
/// The server splits `options` on whitespace, with `\` escaping the next character
/// (so `\ ` is a space inside a value). Accepted forms are `-c name=value`,
/// `-cname=value` and `--name=value`; other server switches are refused so that
/// every setting is visible here.
pub(crate) fn parse_options(value: &str) -> Result<Vec<(String, String)>, Error> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c.is_ascii_whitespace() {
            if in_word {
                words.push(std::mem::take(&mut word));
                in_word = false;
            }
            continue;
        }
        in_word = true;
        if c == '\\' {
            if let Some(next) = chars.next() {
                word.push(next);
            }
        } else {
            word.push(c);
        }
    }
    if in_word {
        words.push(word);
    }

    let mut settings = Vec::new();
    let mut words = words.into_iter();
    while let Some(w) = words.next() {
        let setting = if w == "-c" {
            words.next().ok_or_else(|| {
                Error::config("invalid options: \"-c\" must be followed by name=value")
            })?
        } else if let Some(rest) = w.strip_prefix("--").or_else(|| w.strip_prefix("-c")) {
            rest.to_owned()
        } else {
            return Err(Error::config(format!(
                "invalid options: \"{w}\"; only \"-c name=value\" and \"--name=value\" are supported"
            )));
        };
        let Some((name, val)) = setting.split_once('=') else {
            return Err(Error::config(format!(
                "invalid options: \"{setting}\" is missing \"=value\""
            )));
        };
        if name.is_empty() {
            return Err(Error::config("invalid options: a setting name is empty"));
        }
        // The server turns '-' into '_' in names given on its command line.
        let name = name.replace('-', "_");
        check_setting(&name, val)?;
        settings.push((name, val.to_owned()));
    }
    Ok(settings)
}

/// Checks a run-time setting sent at startup (`options` or `server_settings`).
pub(crate) fn check_setting(name: &str, value: &str) -> Result<(), Error> {
    let lower = name.to_ascii_lowercase();
    if name.is_empty() || name.contains('\0') || value.contains('\0') {
        return Err(Error::config(
            "a server setting name is empty or a name or value contains a NUL byte",
        ));
    }
    if matches!(
        lower.as_str(),
        "user" | "database" | "options" | "replication"
    ) || lower.starts_with("_pq_.")
    {
        return Err(Error::config(format!(
            "\"{name}\" cannot be a server setting: it is a startup parameter of its own \
             (use the connection option of the same name)"
        )));
    }
    if lower == "client_encoding" {
        check_client_encoding(value)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_keyword_has_a_name_and_names_are_unique() {
        let mut names: Vec<&str> = KEYWORDS.iter().map(|(_, n, _)| *n).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), KEYWORDS.len());
        for (kw, name, _) in KEYWORDS {
            assert_eq!(Keyword::from_name(name).unwrap(), *kw);
            assert_eq!(kw.name(), *name);
        }
    }

    #[test]
    fn unknown_keyword_lists_valid_ones_and_suggests() {
        let err = Keyword::from_name("sslmdoe").unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Config);
        let msg = err.to_string();
        assert!(msg.contains("\"sslmdoe\""), "{msg}");
        assert!(msg.contains("did you mean \"sslmode\""), "{msg}");
        assert!(msg.contains("target_session_attrs"), "{msg}");
        let msg = Keyword::from_name("database").unwrap_err().to_string();
        assert!(msg.contains("did you mean \"dbname\""), "{msg}");
    }

    #[test]
    fn unsupported_libpq_keywords_are_refused() {
        let err = Keyword::from_name("sslcertmode").unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Unsupported);
        assert_eq!(
            Keyword::from_name("krbsrvname").unwrap_err().kind(),
            crate::ErrorKind::Unsupported
        );
    }

    #[test]
    fn options_forms_and_escapes() {
        let got = parse_options(r"-c search_path=a\ b --work-mem=4MB  -cgeqo=off").unwrap();
        assert_eq!(
            got,
            [
                ("search_path".to_owned(), "a b".to_owned()),
                ("work_mem".to_owned(), "4MB".to_owned()),
                ("geqo".to_owned(), "off".to_owned()),
            ]
        );
        assert_eq!(parse_options(r"-c x=a\\b").unwrap()[0].1, r"a\b");
        assert!(parse_options("").unwrap().is_empty());
        assert!(parse_options("-c").is_err());
        assert!(parse_options("-c work_mem").is_err());
        assert!(parse_options("-F").is_err());
        assert!(parse_options("-c client_encoding=LATIN1").is_err());
        assert!(parse_options("-c client_encoding=utf-8").is_ok());
        assert!(parse_options("--user=postgres").is_err());
    }

    #[test]
    fn client_encoding_only_utf8() {
        for ok in ["UTF8", "utf8", "UTF-8", "unicode"] {
            check_client_encoding(ok).unwrap();
        }
        let err = check_client_encoding("LATIN1").unwrap_err();
        assert!(err.to_string().contains("UTF8"), "{err}");
        assert!(check_client_encoding("auto").is_err());
    }

    #[test]
    fn ports() {
        assert_eq!(parse_port("5433").unwrap(), 5433);
        for bad in ["0", "65536", "-1", "abc", "54 32"] {
            assert!(parse_port(bad).is_err(), "{bad}");
        }
    }
}
