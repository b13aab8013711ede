//! The process environment, the OS user and the home directory, read through an
//! injectable lookup so that tests never touch the real environment.

use std::path::PathBuf;

use super::keyword::{KEYWORDS, Keyword, UNSUPPORTED};
use crate::Error;

/// Reads an environment variable. Values that are not UTF-8 are converted lossily
/// rather than dropped, so that a broken `PGSSLMODE` is reported as invalid instead of
/// silently falling back to the default.
pub(crate) fn real_env(name: &str) -> Option<String> {
    std::env::var_os(name).map(|v| v.to_string_lossy().into_owned())
}

/// libpq's compiled-in system configuration directory on Debian and Ubuntu, where
/// `pg_service.conf` lives unless `PGSYSCONFDIR` says otherwise.
pub(crate) const DEFAULT_SYSCONFDIR: &str = "/etc/postgresql-common";

/// The keyword values the environment supplies, with the variable each came from.
/// Set but empty variables count as set, as in libpq.
pub(crate) fn settings(
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<(Keyword, String, &'static str)>, Error> {
    for (keyword, var, why) in UNSUPPORTED {
        if let Some(var) = var.filter(|v| env(v).is_some()) {
            return Err(Error::unsupported(format!(
                "environment variable {var} is set, but {keyword} is refused: {why}"
            )));
        }
    }
    Ok(KEYWORDS
        .iter()
        .filter_map(|(kw, _, var)| {
            let var = (*var)?;
            env(var).map(|value| (*kw, value, var))
        })
        .collect())
}

/// The OS user name: `USER`, then `LOGNAME`, then the password database entry for
/// the effective user id.
pub(crate) fn os_user(env: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    env("USER")
        .filter(|u| !u.is_empty())
        .or_else(|| env("LOGNAME").filter(|u| !u.is_empty()))
        .or_else(|| passwd_entry().map(|(name, _)| name))
}

/// The home directory: `HOME`, else the password database entry (libpq 16+ order).
pub(crate) fn home_dir(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    env("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .or_else(|| passwd_entry().map(|(_, home)| home))
}

/// The `/etc/passwd` entry (name, home) of the effective user, read once per process
/// (only when `USER`/`HOME` are unset; every connect would otherwise read the file).
fn passwd_entry() -> Option<(String, PathBuf)> {
    static ENTRY: std::sync::OnceLock<Option<(String, PathBuf)>> = std::sync::OnceLock::new();
    ENTRY
        .get_or_init(|| {
            let uid = effective_uid()?;
            let text = std::fs::read_to_string("/etc/passwd").ok()?;
            passwd_lookup(&text, uid)
        })
        .clone()
}

/// The effective user id, without `unsafe`: `/proc/self` belongs to it.
#[cfg(unix)]
fn effective_uid() -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").ok().map(|m| m.uid())
}

#[cfg(not(unix))]
fn effective_uid() -> Option<u32> {
    None
}

/// Finds `uid` in `/etc/passwd` text (`name:password:uid:gid:gecos:home:shell`).
pub(crate) fn passwd_lookup(text: &str, uid: u32) -> Option<(String, PathBuf)> {
    text.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        match fields.as_slice() {
            [name, _, id, _, _, home, ..] if id.parse() == Ok(uid) && !name.is_empty() => {
                Some(((*name).to_owned(), PathBuf::from(home)))
            }
            _ => None,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwd_lookup_by_uid() {
        let text = "root:x:0:0:root:/root:/bin/bash\n# comment\nbad line\nalice:x:1000:1000:Alice:/home/alice:/bin/sh\n";
        assert_eq!(
            passwd_lookup(text, 1000),
            Some(("alice".to_owned(), PathBuf::from("/home/alice")))
        );
        assert_eq!(passwd_lookup(text, 0).unwrap().0, "root");
        assert_eq!(passwd_lookup(text, 7), None);
    }

    #[test]
    fn user_comes_from_user_then_logname() {
        let env = |k: &str| match k {
            "USER" => Some(String::new()),
            "LOGNAME" => Some("carol".to_owned()),
            _ => None,
        };
        assert_eq!(os_user(&env).as_deref(), Some("carol"));
    }

    #[test]
    fn unsupported_variables_are_refused() {
        let env = |k: &str| (k == "PGSSLCERTMODE").then(|| "require".to_owned());
        let err = settings(&env).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Unsupported);
        assert!(err.to_string().contains("PGSSLCERTMODE"), "{err}");
    }

    #[test]
    fn empty_variables_count_as_set() {
        let env = |k: &str| (k == "PGHOST").then(String::new);
        let got = settings(&env).unwrap();
        assert_eq!(got, [(Keyword::Host, String::new(), "PGHOST")]);
    }
}
