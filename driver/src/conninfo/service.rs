//! Connection service files (`pg_service.conf`), libpq format.
//!
//! ```ini
//! # comment
//! [mydb]
//! host=db.example.com
//! dbname=app
//! sslmode=verify-full
//! ```
//!
//! The service named by `service=` (or `PGSERVICE`) is looked up first in the user's
//! file (`servicefile=`, `PGSERVICEFILE`, or `~/.pg_service.conf`), then in
//! `pg_service.conf` in `PGSYSCONFDIR` (default `/etc/postgresql-common`, Debian's
//! libpq default). The first file that defines the service is used. Its values are
//! defaults: options given in the connection string win over them, and they win over
//! the environment. Unknown keywords inside the service's section are an error.

use std::io::ErrorKind as IoErrorKind;
use std::path::{Path, PathBuf};

use super::keyword::Keyword;
use crate::Error;

/// Where to look for a service definition.
pub(crate) struct Search {
    /// `servicefile=` or `PGSERVICEFILE`: must exist when given.
    pub(crate) user_file: Option<PathBuf>,
    /// The home directory, for `~/.pg_service.conf` when no file is named.
    pub(crate) home: Option<PathBuf>,
    /// `PGSYSCONFDIR` or the compiled default.
    pub(crate) sysconfdir: PathBuf,
}

/// The keyword values of service `name`, in file order.
pub(crate) fn lookup(name: &str, search: &Search) -> Result<Vec<(Keyword, String)>, Error> {
    let mut searched = Vec::new();
    let user_file = match &search.user_file {
        Some(file) => {
            // A file the user named must exist (libpq 18: `service file "…" not found`).
            if !file.exists() {
                return Err(Error::config(format!(
                    "service file \"{}\" not found",
                    file.display()
                )));
            }
            Some(file.clone())
        }
        None => search.home.as_ref().map(|h| h.join(".pg_service.conf")),
    };
    let system_file = search.sysconfdir.join("pg_service.conf");
    for file in user_file.iter().chain(std::iter::once(&system_file)) {
        searched.push(file.display().to_string());
        let text = match std::fs::read(file) {
            Ok(bytes) => String::from_utf8(bytes).map_err(|_| {
                Error::config(format!(
                    "service file \"{}\" is not valid UTF-8",
                    file.display()
                ))
            })?,
            Err(e) if e.kind() == IoErrorKind::NotFound => continue,
            Err(e) => {
                return Err(Error::config(format!(
                    "could not read service file \"{}\"",
                    file.display()
                ))
                .with_source(e));
            }
        };
        if let Some(values) = parse_section(&text, name, file)? {
            return Ok(values);
        }
    }
    Err(Error::config(format!(
        "definition of service \"{name}\" not found (looked in {})",
        searched.join(", ")
    )))
}

/// The values in section `[name]` of a service file, or `None` when it has no such
/// section. Only that section's lines are checked, as in libpq, so a file shared with
/// other tools may hold sections with keywords we refuse.
pub(crate) fn parse_section(
    text: &str,
    name: &str,
    file: &Path,
) -> Result<Option<Vec<(Keyword, String)>>, Error> {
    let mut values: Option<Vec<(Keyword, String)>> = None;
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = || format!("service file \"{}\", line {}", file.display(), index + 1);
        if let Some(header) = line.strip_prefix('[') {
            if values.is_some() {
                break;
            }
            if header
                .strip_prefix(name)
                .is_some_and(|r| r.starts_with(']'))
            {
                values = Some(Vec::new());
            }
            continue;
        }
        let Some(section) = values.as_mut() else {
            continue;
        };
        if line.starts_with("ldap") {
            return Err(
                Error::unsupported("LDAP lookup in service files is not supported").context(at()),
            );
        }
        // Never echo the line: it may hold a password.
        let Some((key, value)) = line.split_once('=') else {
            return Err(Error::config(format!(
                "syntax error in {} (expected keyword=value)",
                at()
            )));
        };
        let keyword = Keyword::from_name(key.trim()).map_err(|e| e.context(at()))?;
        if matches!(keyword, Keyword::Service | Keyword::ServiceFile) {
            return Err(Error::config(format!(
                "nested service specifications are not supported in {}",
                at()
            )));
        }
        section.push((keyword, value.trim().to_owned()));
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "\
# shared file
[other]
krbsrvname=postgres

  [mydb]
  host = db.example.com
port=5433
# comment inside
dbname=app
host=ignored-second-value

[after]
bogus=1
";

    #[test]
    fn reads_only_the_named_section() {
        let got = parse_section(FILE, "mydb", Path::new("f"))
            .unwrap()
            .unwrap();
        assert_eq!(
            got,
            [
                (Keyword::Host, "db.example.com".to_owned()),
                (Keyword::Port, "5433".to_owned()),
                (Keyword::DbName, "app".to_owned()),
                (Keyword::Host, "ignored-second-value".to_owned()),
            ]
        );
        assert!(
            parse_section(FILE, "missing", Path::new("f"))
                .unwrap()
                .is_none()
        );
        assert!(
            parse_section(FILE, "mydbx", Path::new("f"))
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn unknown_keyword_in_section_is_an_error_with_line() {
        let err =
            parse_section("[s]\nhost=a\nsslmdoe=require\n", "s", Path::new("/f")).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("line 3"), "{msg}");
        assert!(msg.contains("sslmdoe"), "{msg}");
    }

    #[test]
    fn syntax_error_does_not_echo_the_line() {
        let err = parse_section("[s]\nsecret-sentinel\n", "s", Path::new("/f")).unwrap_err();
        assert!(!err.to_string().contains("secret-sentinel"), "{err}");
        assert!(err.to_string().contains("line 2"), "{err}");
    }

    #[test]
    fn nested_service_is_an_error() {
        assert!(parse_section("[s]\nservice=t\n", "s", Path::new("f")).is_err());
    }
}
