//! Hosts, ports and the endpoints built from them with libpq's pairing rules.

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use crate::Error;

/// libpq's default port.
pub const DEFAULT_PORT: u16 = 5432;

/// Directories searched for a server socket when no host is given, in order.
/// `/var/run/postgresql` is the Debian/Ubuntu/RHEL packages' directory, `/tmp` the
/// source build's.
pub const DEFAULT_SOCKET_DIRS: &[&str] = &["/var/run/postgresql", "/tmp"];

/// Where a server listens.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Host {
    /// A host name or IP address literal (IPv6 without brackets), reached over TCP.
    Tcp(String),
    /// A directory holding the server's Unix socket `.s.PGSQL.<port>`. A path that
    /// starts with `@` names a socket in Linux's abstract namespace, as in libpq.
    Unix(PathBuf),
}

impl Host {
    /// Classifies a `host` value as libpq does: an absolute path or an `@name` is a
    /// Unix socket directory, anything else a TCP host.
    pub fn parse(s: &str) -> Host {
        if s.starts_with('/') || s.starts_with('@') {
            Host::Unix(PathBuf::from(s))
        } else {
            Host::Tcp(s.to_owned())
        }
    }

    /// The host as written in a connection string.
    pub(crate) fn to_text(&self) -> String {
        match self {
            Host::Tcp(name) => name.clone(),
            Host::Unix(dir) => dir.to_string_lossy().into_owned(),
        }
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Tcp(name) => f.write_str(name),
            Host::Unix(dir) => write!(f, "{}", dir.display()),
        }
    }
}

/// One server to try: a host, an optional address that skips name resolution, and a port.
///
/// [`ConnectOptions::endpoints`](super::ConnectOptions::endpoints) lists them in the
/// order libpq would try them (before `load_balance_hosts=random` shuffles).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Endpoint {
    /// The host. It names the server for TLS host-name checks and `.pgpass` lookups.
    /// When only `hostaddr` was given it is that address as text.
    pub host: Host,
    /// When set, connect over TCP to this address and do not resolve `host`.
    pub hostaddr: Option<IpAddr>,
    /// The TCP port, or the Unix socket's file-name suffix.
    pub port: u16,
}

impl Endpoint {
    /// The Unix socket file (`<dir>/.s.PGSQL.<port>`) when this endpoint is reached
    /// through a Unix socket.
    pub fn unix_socket_path(&self) -> Option<PathBuf> {
        match (&self.host, self.hostaddr) {
            (Host::Unix(dir), None) => Some(socket_file(dir, self.port)),
            _ => None,
        }
    }
}

fn socket_file(dir: &Path, port: u16) -> PathBuf {
    dir.join(format!(".s.PGSQL.{port}"))
}

/// The host used when none is given: the first default directory holding a socket
/// for `port`, else `localhost`. `exists` is injectable for tests.
pub(crate) fn default_host(port: u16, exists: &dyn Fn(&Path) -> bool) -> Host {
    DEFAULT_SOCKET_DIRS
        .iter()
        .map(Path::new)
        .find(|dir| exists(&socket_file(dir, port)))
        .map_or_else(
            || Host::Tcp("localhost".to_owned()),
            |dir| Host::Unix(dir.to_path_buf()),
        )
}

/// A host, hostaddr and port triple after pairing, before defaults are filled in.
pub(crate) struct Paired {
    pub(crate) host: Option<Host>,
    pub(crate) hostaddr: Option<IpAddr>,
    pub(crate) port: u16,
}

/// Pairs the host, hostaddr and port lists as libpq's `connectOptions2` does.
///
/// The number of servers is the length of `hostaddrs` if given, else of `hosts`, else 1.
/// `hosts` must then have the same length (or be absent); `ports` must have one element
/// (used for all) or one per server. Empty elements mean the default.
pub(crate) fn pair(
    hosts: &[Option<Host>],
    hostaddrs: &[Option<IpAddr>],
    ports: &[Option<u16>],
) -> Result<Vec<Paired>, Error> {
    // A single empty element is the same as not setting the list at all.
    let hosts = if matches!(hosts, [None]) { &[] } else { hosts };
    let hostaddrs = if matches!(hostaddrs, [None]) {
        &[]
    } else {
        hostaddrs
    };
    let ports = if matches!(ports, [None]) { &[] } else { ports };

    let count = if !hostaddrs.is_empty() {
        if !hosts.is_empty() && hosts.len() != hostaddrs.len() {
            return Err(Error::config(format!(
                "could not match {} host names to {} hostaddr values",
                hosts.len(),
                hostaddrs.len()
            )));
        }
        hostaddrs.len()
    } else {
        hosts.len().max(1)
    };
    if ports.len() > 1 && ports.len() != count {
        return Err(Error::config(format!(
            "could not match {} port numbers to {} hosts",
            ports.len(),
            count
        )));
    }
    Ok((0..count)
        .map(|i| Paired {
            host: hosts.get(i).cloned().flatten(),
            hostaddr: hostaddrs.get(i).copied().flatten(),
            port: match ports {
                [one] => one.unwrap_or(DEFAULT_PORT),
                _ => ports.get(i).copied().flatten().unwrap_or(DEFAULT_PORT),
            },
        })
        .collect())
}

/// Turns paired values into endpoints, filling in libpq's defaults.
pub(crate) fn endpoints(paired: Vec<Paired>, exists: &dyn Fn(&Path) -> bool) -> Vec<Endpoint> {
    paired
        .into_iter()
        .map(|p| {
            let host = match (p.host, p.hostaddr) {
                (Some(host), _) => host,
                (None, Some(addr)) => Host::Tcp(addr.to_string()),
                (None, None) => default_host(p.port, exists),
            };
            Endpoint {
                host,
                hostaddr: p.hostaddr,
                port: p.port,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp(s: &str) -> Option<Host> {
        Some(Host::Tcp(s.to_owned()))
    }

    #[test]
    fn classifies_hosts_like_libpq() {
        assert_eq!(Host::parse("/tmp"), Host::Unix("/tmp".into()));
        assert_eq!(Host::parse("@abstract"), Host::Unix("@abstract".into()));
        assert_eq!(Host::parse("db.example"), Host::Tcp("db.example".into()));
        assert_eq!(Host::parse("::1"), Host::Tcp("::1".into()));
    }

    #[test]
    fn one_port_applies_to_every_host() {
        let p = pair(&[tcp("a"), tcp("b")], &[], &[Some(6000)]).unwrap();
        assert_eq!(p.iter().map(|p| p.port).collect::<Vec<_>>(), [6000, 6000]);
    }

    #[test]
    fn empty_port_elements_mean_the_default() {
        let p = pair(&[tcp("a"), tcp("b")], &[], &[None, Some(6000)]).unwrap();
        assert_eq!(p.iter().map(|p| p.port).collect::<Vec<_>>(), [5432, 6000]);
    }

    #[test]
    fn port_count_mismatch_is_an_error() {
        let err = pair(&[tcp("a"), tcp("b"), tcp("c")], &[], &[Some(1), Some(2)])
            .err()
            .unwrap();
        assert_eq!(err.message(), "could not match 2 port numbers to 3 hosts");
    }

    #[test]
    fn hostaddr_count_must_match_hosts() {
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let err = pair(&[tcp("a"), tcp("b")], &[Some(ip)], &[]).err().unwrap();
        assert_eq!(
            err.message(),
            "could not match 2 host names to 1 hostaddr values"
        );
        let p = pair(&[], &[Some(ip), Some(ip)], &[]).unwrap();
        assert_eq!(p.len(), 2);
    }

    #[test]
    fn default_host_prefers_an_existing_socket_then_localhost() {
        let eps = endpoints(pair(&[], &[], &[]).unwrap(), &|p| {
            p == Path::new("/tmp/.s.PGSQL.5432")
        });
        assert_eq!(eps[0].host, Host::Unix("/tmp".into()));
        assert_eq!(
            eps[0].unix_socket_path().unwrap(),
            Path::new("/tmp/.s.PGSQL.5432")
        );
        let eps = endpoints(pair(&[], &[], &[]).unwrap(), &|_| false);
        assert_eq!(eps[0].host, Host::Tcp("localhost".into()));
        assert_eq!(eps[0].unix_socket_path(), None);
    }

    #[test]
    fn hostaddr_alone_names_the_host_by_address() {
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let eps = endpoints(pair(&[], &[Some(ip)], &[]).unwrap(), &|_| true);
        assert_eq!(eps[0].host, Host::Tcp("127.0.0.1".into()));
        assert_eq!(eps[0].hostaddr, Some(ip));
    }
}
