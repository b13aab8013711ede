//! The password file (`~/.pgpass`), libpq format:
//! `hostname:port:database:username:password`, one entry per line.
//!
//! - Each of the first four fields may be `*`, which matches anything.
//! - `\` escapes the next character, so `\:` is a colon and `\\` a backslash.
//! - Lines starting with `#` are comments; the first matching line wins.
//! - On Unix the file is ignored, with a warning, if its group or others have any
//!   access (as libpq does); it must be `chmod 0600` or stricter.
//! - For a Unix-socket connection to the default socket directory the host name
//!   `localhost` is used, as in libpq.

use std::path::Path;

use super::host::{DEFAULT_SOCKET_DIRS, Endpoint, Host};
use super::secret::Secret;

/// A parsed password file.
#[derive(Debug, Default)]
pub(crate) struct PassFile {
    entries: Vec<Entry>,
}

#[derive(Debug)]
struct Entry {
    host: Field,
    port: Field,
    dbname: Field,
    user: Field,
    password: Secret,
}

#[derive(Debug)]
enum Field {
    Any,
    Exact(String),
}

impl Field {
    fn matches(&self, value: &str) -> bool {
        match self {
            Field::Any => true,
            Field::Exact(s) => s == value,
        }
    }
}

impl PassFile {
    /// Reads the file at `path`. A missing or unreadable file gives `None` silently;
    /// a file that is not a plain file or that others can access gives `None` and a
    /// warning (which never includes the file's contents).
    pub(crate) fn load(path: &Path) -> Option<PassFile> {
        let meta = match std::fs::metadata(path) {
            Ok(meta) => meta,
            Err(e) => {
                tracing::debug!(path = %path.display(), error = %e, "no password file");
                return None;
            }
        };
        if !meta.is_file() {
            tracing::warn!(path = %path.display(), "password file is not a plain file; ignoring it");
            return None;
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = meta.permissions().mode();
            if mode & 0o077 != 0 {
                tracing::warn!(
                    path = %path.display(),
                    mode = format_args!("{:o}", mode & 0o777),
                    "password file has group or world access; permissions should be u=rw (0600) \
                     or less; ignoring it"
                );
                return None;
            }
        }
        match std::fs::read(path) {
            Ok(bytes) => Some(PassFile::parse(&bytes)),
            Err(e) => {
                tracing::debug!(path = %path.display(), error = %e, "could not read password file");
                None
            }
        }
    }

    /// Parses the file's contents. Lines with fewer than five fields or that are not
    /// UTF-8 never match (libpq skips what it cannot match, too).
    pub(crate) fn parse(bytes: &[u8]) -> PassFile {
        let entries = bytes
            .split(|b| *b == b'\n')
            .filter_map(|line| std::str::from_utf8(line).ok())
            .map(|line| line.strip_suffix('\r').unwrap_or(line))
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .filter_map(parse_line)
            .collect();
        PassFile { entries }
    }

    /// The password of the first entry matching all four values. An empty password
    /// on the matching line means no password, as in libpq.
    pub(crate) fn password_for(
        &self,
        host: &str,
        port: u16,
        dbname: &str,
        user: &str,
    ) -> Option<&Secret> {
        let port = port.to_string();
        self.entries
            .iter()
            .find(|e| {
                e.host.matches(host)
                    && e.port.matches(&port)
                    && e.dbname.matches(dbname)
                    && e.user.matches(user)
            })
            .map(|e| &e.password)
            .filter(|p| !p.is_empty())
    }
}

/// The host name an endpoint is looked up under.
pub(crate) fn lookup_host(endpoint: &Endpoint) -> String {
    match &endpoint.host {
        Host::Tcp(name) => name.clone(),
        Host::Unix(dir) if DEFAULT_SOCKET_DIRS.iter().any(|d| Path::new(d) == dir) => {
            "localhost".to_owned()
        }
        Host::Unix(dir) => dir.to_string_lossy().into_owned(),
    }
}

fn parse_line(line: &str) -> Option<Entry> {
    let mut rest = line;
    let mut fields = Vec::with_capacity(4);
    for _ in 0..4 {
        let (raw, value, after) = take_field(rest)?;
        fields.push(if raw == "*" {
            Field::Any
        } else {
            Field::Exact(value)
        });
        rest = after;
    }
    // The password runs to the end of the line or to an unescaped ':'.
    let password = match take_field(rest) {
        Some((_, value, _)) => value,
        None => unescape(rest),
    };
    let mut fields = fields.into_iter();
    Some(Entry {
        host: fields.next()?,
        port: fields.next()?,
        dbname: fields.next()?,
        user: fields.next()?,
        password: Secret::new(password),
    })
}

/// Splits off one field ending at an unescaped ':'; returns (raw text, unescaped
/// value, rest after the ':'), or `None` when there is no such ':'.
fn take_field(s: &str) -> Option<(&str, String, &str)> {
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == ':' {
            return Some((&s[..i], unescape(&s[..i]), &s[i + 1..]));
        }
    }
    None
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            // A trailing lone backslash is kept, as in libpq.
            out.push(chars.next().unwrap_or('\\'));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(file: &str, host: &str, port: u16, db: &str, user: &str) -> Option<String> {
        PassFile::parse(file.as_bytes())
            .password_for(host, port, db, user)
            .map(|s| s.expose().to_owned())
    }

    #[test]
    fn first_matching_line_wins_and_wildcards_match() {
        let file = "\
# comment line
db.example:5432:app:alice:first
*:*:*:alice:second
*:*:*:*:fallback
";
        assert_eq!(
            lookup(file, "db.example", 5432, "app", "alice").unwrap(),
            "first"
        );
        assert_eq!(
            lookup(file, "db.example", 5433, "app", "alice").unwrap(),
            "second"
        );
        assert_eq!(lookup(file, "other", 1, "x", "bob").unwrap(), "fallback");
    }

    #[test]
    fn escapes_in_fields_and_password() {
        let file = r"my\:host:5432:d\\b:u:pa\:ss\\word";
        assert_eq!(
            lookup(file, "my:host", 5432, r"d\b", "u").unwrap(),
            r"pa:ss\word"
        );
        assert_eq!(lookup(file, "my", 5432, r"d\b", "u"), None);
    }

    #[test]
    fn escaped_star_is_literal() {
        let file = r"\*:5432:db:u:literal";
        assert_eq!(lookup(file, "*", 5432, "db", "u").unwrap(), "literal");
        assert_eq!(lookup(file, "host", 5432, "db", "u"), None);
    }

    #[test]
    fn unescaped_colon_ends_the_password_and_crlf_is_stripped() {
        assert_eq!(
            lookup("h:1:d:u:pw:extra\r\n", "h", 1, "d", "u").unwrap(),
            "pw"
        );
        assert_eq!(lookup("h:1:d:u:pw\r\n", "h", 1, "d", "u").unwrap(), "pw");
    }

    #[test]
    fn short_lines_and_empty_passwords() {
        assert_eq!(
            lookup("h:1:d:u\n*:*:*:*:late", "h", 1, "d", "u").unwrap(),
            "late"
        );
        // libpq stops at the first match; an empty password there means none.
        assert_eq!(lookup("h:1:d:u:\n*:*:*:*:late", "h", 1, "d", "u"), None);
    }

    #[test]
    fn port_matches_as_text() {
        assert_eq!(lookup("h:05432:d:u:pw", "h", 5432, "d", "u"), None);
    }

    #[test]
    fn default_socket_dir_is_localhost() {
        let ep = |host| Endpoint {
            host,
            hostaddr: None,
            port: 5432,
        };
        assert_eq!(
            lookup_host(&ep(Host::Unix("/var/run/postgresql".into()))),
            "localhost"
        );
        assert_eq!(lookup_host(&ep(Host::Unix("/tmp".into()))), "localhost");
        assert_eq!(lookup_host(&ep(Host::Unix("/srv/pg".into()))), "/srv/pg");
        assert_eq!(lookup_host(&ep(Host::Tcp("db".into()))), "db");
    }
}
