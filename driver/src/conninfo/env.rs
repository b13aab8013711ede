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

/// The user database's entry (name, home) of the effective user, asked once per process
/// (only when `USER`/`HOME` are unset). The system's lookup (`getpwuid_r`), so users
/// from NSS (LDAP, SSSD) and macOS directory services are found as libpq finds them.
fn passwd_entry() -> Option<(String, PathBuf)> {
    static ENTRY: std::sync::OnceLock<Option<(String, PathBuf)>> = std::sync::OnceLock::new();
    ENTRY.get_or_init(effective_user).clone()
}

#[cfg(unix)]
fn effective_user() -> Option<(String, PathBuf)> {
    let user = nix::unistd::User::from_uid(nix::unistd::Uid::effective()).ok()??;
    (!user.name.is_empty()).then_some((user.name, user.dir))
}

#[cfg(not(unix))]
fn effective_user() -> Option<(String, PathBuf)> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The entry is the system's: what `id` (which asks NSS too) says.
    #[cfg(unix)]
    #[test]
    fn the_user_database_entry_is_the_systems() {
        let id = std::process::Command::new("id")
            .arg("-un")
            .output()
            .unwrap();
        assert!(id.status.success());
        let name = String::from_utf8(id.stdout).unwrap().trim().to_owned();
        assert_eq!(os_user(&|_| None), Some(name.clone()));
        let getent = std::process::Command::new("getent")
            .args(["passwd", &name])
            .output()
            .unwrap();
        if getent.status.success() {
            let line = String::from_utf8(getent.stdout).unwrap();
            let home = line.trim_end().split(':').nth(5).unwrap().to_owned();
            assert_eq!(home_dir(&|_| None), Some(PathBuf::from(home)));
        }
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
