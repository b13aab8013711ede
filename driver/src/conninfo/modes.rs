//! The small enums behind keyword values: TLS modes, session targets, protocol versions.
//!
//! Each parses from and prints as libpq's spelling (`verify-full`, `read-write`, ...).

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use crate::Error;

/// Defines an enum whose variants parse from and print as fixed keyword strings.
macro_rules! keyword_enum {
    (
        $(#[$meta:meta])*
        $name:ident, $keyword:literal {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every accepted spelling, in libpq's order.
            pub const VALUES: &'static [&'static str] = &[$($text),+];

            /// The keyword value, as libpq spells it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $text, )+
                }
            }
        }

        impl FromStr for $name {
            type Err = Error;

            fn from_str(s: &str) -> Result<Self, Error> {
                match s {
                    $( $text => Ok($name::$variant), )+
                    _ => Err(invalid_value($keyword, s, Self::VALUES)),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// The error for a keyword value outside its allowed set.
pub(crate) fn invalid_value(keyword: &str, value: &str, allowed: &[&str]) -> Error {
    Error::config(format!(
        "invalid {keyword} value: \"{value}\" (expected one of: {})",
        allowed.join(", ")
    ))
}

keyword_enum! {
    /// Whether and how to use TLS (`sslmode`), with libpq's meaning.
    ///
    /// | mode | TLS | protects against eavesdropping | against a man in the middle |
    /// |---|---|---|---|
    /// | `disable` | never | no | no |
    /// | `allow` | only if the server insists | maybe | no |
    /// | `prefer` | if the server offers it | maybe | no |
    /// | `require` | always | yes | no (but see below) |
    /// | `verify-ca` | always, chain checked | yes | if the CA issues only to your servers |
    /// | `verify-full` | always, chain and host name checked | yes | yes |
    ///
    /// As in libpq, `require` behaves like `verify-ca` when a root certificate file is
    /// configured. The default when nothing is said is libpq's weak `prefer` (or
    /// `verify-full` when `sslrootcert=system`); use `verify-full` in production.
    SslMode, "sslmode" {
        /// Plain TCP only.
        Disable = "disable",
        /// Plain first; TLS only if the server refuses plain connections.
        Allow = "allow",
        /// TLS first; plain if the server does not offer TLS. Open to downgrade attacks.
        Prefer = "prefer",
        /// TLS only, certificate not verified (unless a root certificate is configured).
        Require = "require",
        /// TLS only; the server certificate must chain to a trusted root.
        VerifyCa = "verify-ca",
        /// TLS only; the chain is verified and the host name must match the certificate.
        VerifyFull = "verify-full",
    }
}

impl SslMode {
    /// Whether a connection without TLS is refused (`require` and stronger).
    pub fn requires_tls(self) -> bool {
        matches!(
            self,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull
        )
    }

    /// Whether the server certificate chain is checked against trusted roots.
    pub fn verifies_certificate(self) -> bool {
        matches!(self, SslMode::VerifyCa | SslMode::VerifyFull)
    }

    /// Whether the host name is checked against the certificate.
    pub fn verifies_host_name(self) -> bool {
        self == SslMode::VerifyFull
    }
}

keyword_enum! {
    /// How TLS is started (`sslnegotiation`, PostgreSQL 17).
    SslNegotiation, "sslnegotiation" {
        /// Send an SSLRequest and start TLS when the server answers `S` (all servers).
        Postgres = "postgres",
        /// Start the TLS handshake immediately, with ALPN `postgresql` (PostgreSQL 17+).
        /// Only allowed with `sslmode=require` or stronger, as in libpq.
        Direct = "direct",
    }
}

/// Whether SCRAM channel binding (`SCRAM-SHA-256-PLUS`) is used (`channel_binding`).
///
/// The same type the authentication layer checks against.
pub use crate::auth::ChannelBinding;

keyword_enum! {
    /// Which kind of server a connection must reach (`target_session_attrs`).
    ///
    /// With several hosts, hosts that do not match are skipped. PostgreSQL 14+ reports
    /// `in_hot_standby` and `default_transaction_read_only` at startup, so no extra
    /// round trip is needed there.
    TargetSessionAttrs, "target_session_attrs" {
        /// Any server (the default).
        Any = "any",
        /// Not a hot standby, and `default_transaction_read_only` is off.
        ReadWrite = "read-write",
        /// A hot standby, or `default_transaction_read_only` is on.
        ReadOnly = "read-only",
        /// Not a hot standby.
        Primary = "primary",
        /// A hot standby.
        Standby = "standby",
        /// A standby if one is reachable, else any server.
        PreferStandby = "prefer-standby",
    }
}

/// Whether the session is a replication connection (`replication`), with libpq's
/// spellings.
///
/// A replication session speaks the replication commands (`IDENTIFY_SYSTEM`,
/// `CREATE_REPLICATION_SLOT`, `START_REPLICATION`, ...) through the simple query protocol
/// only; the [replication guide](crate::replication) builds on it. The user needs the
/// `REPLICATION` attribute and a `replication` line in `pg_hba.conf` (for `Physical`;
/// `Database` is matched against the database name like any connection).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Replication {
    /// An ordinary session (`false`, `off`, `no`, `0`; the default).
    #[default]
    Off,
    /// A physical replication session (`true`, `on`, `yes`, `1`): WAL of the whole cluster.
    Physical,
    /// A logical replication session connected to the database (`database`): replication
    /// commands and SQL (simple protocol only).
    Database,
}

impl Replication {
    /// Every accepted spelling.
    pub const VALUES: &'static [&'static str] = &[
        "database", "true", "on", "yes", "1", "false", "off", "no", "0",
    ];

    /// The value sent in the `replication` startup parameter (`None` for an ordinary
    /// session, which sends none).
    pub fn as_str(self) -> &'static str {
        match self {
            Replication::Off => "false",
            Replication::Physical => "true",
            Replication::Database => "database",
        }
    }
}

impl FromStr for Replication {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        match s.to_ascii_lowercase().as_str() {
            "database" => Ok(Replication::Database),
            "true" | "on" | "yes" | "1" => Ok(Replication::Physical),
            "false" | "off" | "no" | "0" => Ok(Replication::Off),
            _ => Err(invalid_value("replication", s, Self::VALUES)),
        }
    }
}

impl fmt::Display for Replication {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

keyword_enum! {
    /// The order in which hosts are tried (`load_balance_hosts`).
    LoadBalanceHosts, "load_balance_hosts" {
        /// In the order given (the default).
        Disable = "disable",
        /// Hosts shuffled, then each host's resolved addresses shuffled.
        Random = "random",
    }
}

/// A frontend/backend protocol version (`min_protocol_version`, `max_protocol_version`).
///
/// Accepted spellings: `3.0`, `3.2`, and `latest` (currently 3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ProtocolVersion {
    /// Protocol 3.0 (PostgreSQL 7.4 and later).
    V3_0,
    /// Protocol 3.2 (PostgreSQL 18: 256-bit cancel keys).
    V3_2,
}

impl ProtocolVersion {
    /// The newest version this driver speaks.
    pub const LATEST: ProtocolVersion = ProtocolVersion::V3_2;

    /// The version number sent in the StartupMessage (major << 16 | minor).
    pub fn code(self) -> i32 {
        match self {
            ProtocolVersion::V3_0 => 196_608,
            ProtocolVersion::V3_2 => 196_610,
        }
    }

    /// The spelling used in connection strings.
    pub fn as_str(self) -> &'static str {
        match self {
            ProtocolVersion::V3_0 => "3.0",
            ProtocolVersion::V3_2 => "3.2",
        }
    }

    pub(crate) fn parse(keyword: &str, s: &str) -> Result<Self, Error> {
        match s {
            "3.0" => Ok(ProtocolVersion::V3_0),
            "3.2" | "latest" => Ok(ProtocolVersion::V3_2),
            _ => Err(invalid_value(keyword, s, &["3.0", "3.2", "latest"])),
        }
    }
}

impl fmt::Display for ProtocolVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A TLS protocol version (`ssl_min_protocol_version`, `ssl_max_protocol_version`).
///
/// TLS 1.0 and 1.1 are refused: they are broken and PostgreSQL 13+ servers refuse them too.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TlsVersion {
    /// TLS 1.2 (the default minimum, as in libpq).
    Tls1_2,
    /// TLS 1.3.
    Tls1_3,
}

impl TlsVersion {
    /// The spelling used in connection strings (`TLSv1.2`).
    pub fn as_str(self) -> &'static str {
        match self {
            TlsVersion::Tls1_2 => "TLSv1.2",
            TlsVersion::Tls1_3 => "TLSv1.3",
        }
    }

    pub(crate) fn parse(keyword: &str, s: &str) -> Result<Self, Error> {
        if s.eq_ignore_ascii_case("TLSv1.2") {
            Ok(TlsVersion::Tls1_2)
        } else if s.eq_ignore_ascii_case("TLSv1.3") {
            Ok(TlsVersion::Tls1_3)
        } else if s.eq_ignore_ascii_case("TLSv1") || s.eq_ignore_ascii_case("TLSv1.1") {
            Err(Error::unsupported(format!(
                "{keyword}={s} is not supported: TLS 1.0 and 1.1 are insecure; use TLSv1.2 or TLSv1.3"
            )))
        } else {
            Err(invalid_value(keyword, s, &["TLSv1.2", "TLSv1.3"]))
        }
    }
}

impl fmt::Display for TlsVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where trusted root certificates come from (`sslrootcert`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SslRootCert {
    /// A PEM file of trusted roots.
    File(PathBuf),
    /// The operating system's trust store (`sslrootcert=system`). As in libpq this makes
    /// the default `sslmode` `verify-full`, and any weaker explicit mode an error.
    System,
}

impl SslRootCert {
    pub(crate) fn parse(s: &str) -> Self {
        if s == "system" {
            SslRootCert::System
        } else {
            SslRootCert::File(PathBuf::from(s))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyword_enums_round_trip_and_reject_unknown_spellings() {
        for v in SslMode::VALUES {
            assert_eq!(v.parse::<SslMode>().unwrap().as_str(), *v);
        }
        for v in TargetSessionAttrs::VALUES {
            assert_eq!(v.parse::<TargetSessionAttrs>().unwrap().as_str(), *v);
        }
        let err = "verify_full".parse::<SslMode>().unwrap_err();
        assert!(err.to_string().contains("verify-full"), "{err}");
        assert!(
            "Require".parse::<SslMode>().is_err(),
            "libpq matches case-sensitively"
        );
    }

    #[test]
    fn protocol_versions() {
        assert_eq!(
            ProtocolVersion::parse("m", "latest").unwrap(),
            ProtocolVersion::V3_2
        );
        assert_eq!(ProtocolVersion::V3_0.code(), 3 << 16);
        assert_eq!(ProtocolVersion::V3_2.code(), (3 << 16) | 2);
        assert!(ProtocolVersion::parse("m", "3.1").is_err());
        assert!(ProtocolVersion::V3_0 < ProtocolVersion::V3_2);
    }

    #[test]
    fn tls_versions() {
        assert_eq!(
            TlsVersion::parse("k", "tlsv1.3").unwrap(),
            TlsVersion::Tls1_3
        );
        let err = TlsVersion::parse("k", "TLSv1.1").unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Unsupported);
    }
}
