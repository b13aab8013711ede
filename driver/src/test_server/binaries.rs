//! Finding the PostgreSQL server programs (`initdb`, `postgres`, `pg_ctl`) on the machine.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use crate::failure::{Error, Result};

/// The environment variable naming the directory that holds `initdb`, `postgres` and `pg_ctl`.
pub const BINDIR_VAR: &str = "QUARRY_PG_BINDIR";

/// The programs a directory must hold to run a server.
const SERVER_PROGRAMS: [&str; 3] = ["initdb", "postgres", "pg_ctl"];

/// A server version as `postgres --version` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServerVersion {
    /// The major version, for example `15`.
    pub major: u32,
    /// The minor version, for example `18` in 15.18 (`0` for a beta or release candidate).
    pub minor: u32,
}

impl ServerVersion {
    /// Parses the output of `postgres --version`, for example
    /// `postgres (PostgreSQL) 15.18 (Debian 15.18-1.pgdg120+1)` or `postgres (PostgreSQL) 18beta1`.
    pub fn parse(text: &str) -> Option<ServerVersion> {
        let rest = text.split("(PostgreSQL)").nth(1)?.trim_start();
        let (major, rest) = leading_number(rest)?;
        let minor = match rest.strip_prefix('.') {
            Some(rest) => leading_number(rest).map_or(0, |(minor, _)| minor),
            None => 0,
        };
        Some(ServerVersion { major, minor })
    }
}

impl fmt::Display for ServerVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

fn leading_number(s: &str) -> Option<(u32, &str)> {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let number = s.get(..end)?.parse().ok()?;
    Some((number, s.get(end..)?))
}

/// Where [`ServerBinaries::locate_with`] looks, so the search can be tested without touching
/// the process environment.
///
/// Only two variables are read: [`BINDIR_VAR`] and `PATH`.
#[derive(Clone, Debug, Default)]
pub struct SearchEnv {
    vars: BTreeMap<String, OsString>,
    /// Directories holding one `<version>/bin` per installed version (Debian's layout).
    versioned_roots: Vec<PathBuf>,
    /// Fixed directories tried last.
    fallback_dirs: Vec<PathBuf>,
    /// The directory a relative [`BINDIR_VAR`] is resolved against (then its ancestors).
    cwd: Option<PathBuf>,
}

impl SearchEnv {
    /// The real environment: [`BINDIR_VAR`] and `PATH` of this process, then
    /// `pg_config --bindir`, `/usr/lib/postgresql/<newest>/bin` and `/usr/local/pgsql/bin`.
    pub fn from_process() -> SearchEnv {
        let mut env = SearchEnv::empty()
            .versioned_root("/usr/lib/postgresql")
            .fallback_dir("/usr/local/pgsql/bin");
        for name in [BINDIR_VAR, "PATH"] {
            if let Some(value) = std::env::var_os(name) {
                env = env.var(name, value);
            }
        }
        env.cwd = std::env::current_dir().ok();
        env
    }

    /// No variables and no fallback directories: add what a test needs.
    pub fn empty() -> SearchEnv {
        SearchEnv::default()
    }

    /// Sets a variable as the search sees it.
    #[must_use]
    pub fn var(mut self, name: impl Into<String>, value: impl Into<OsString>) -> SearchEnv {
        self.vars.insert(name.into(), value.into());
        self
    }

    /// Adds a directory that holds one `<version>/bin` per version; the newest is used.
    #[must_use]
    pub fn versioned_root(mut self, dir: impl Into<PathBuf>) -> SearchEnv {
        self.versioned_roots.push(dir.into());
        self
    }

    /// Adds a directory tried after everything else.
    #[must_use]
    pub fn fallback_dir(mut self, dir: impl Into<PathBuf>) -> SearchEnv {
        self.fallback_dirs.push(dir.into());
        self
    }

    /// A variable's value; an empty one counts as unset.
    fn get(&self, name: &str) -> Option<&OsStr> {
        self.vars
            .get(name)
            .map(OsString::as_os_str)
            .filter(|value| !value.is_empty())
    }

    fn path_dirs(&self) -> Vec<PathBuf> {
        self.get("PATH")
            .map(|path| std::env::split_paths(path).collect())
            .unwrap_or_default()
    }
}

/// A directory of PostgreSQL server programs and the version they are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerBinaries {
    bindir: PathBuf,
    version: ServerVersion,
    version_text: String,
    search: Vec<PathBuf>,
}

impl ServerBinaries {
    /// Finds the server programs the way [`TempServer::start`](super::TempServer::start) does
    /// (see [`SearchEnv::from_process`]). The answer is remembered for the process.
    pub fn locate() -> Result<ServerBinaries> {
        static FOUND: Mutex<Option<Arc<ServerBinaries>>> = Mutex::new(None);
        let mut found = FOUND
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(binaries) = &*found {
            return Ok(ServerBinaries::clone(binaries));
        }
        let binaries = ServerBinaries::locate_with(&SearchEnv::from_process())?;
        *found = Some(Arc::new(binaries.clone()));
        Ok(binaries)
    }

    /// Finds the server programs in `env`: [`BINDIR_VAR`] if set (an error if it does not
    /// hold them), then each `PATH` directory, then `pg_config --bindir` (with `pg_config`
    /// from `PATH`), then the newest `<root>/<version>/bin`, then the fallback directories.
    ///
    /// Fails with [`ErrorKind::Config`](crate::ErrorKind::Config) naming every place searched
    /// when none holds `initdb`, `postgres` and `pg_ctl`.
    pub fn locate_with(env: &SearchEnv) -> Result<ServerBinaries> {
        let mut searched: Vec<String> = Vec::new();
        let search_dirs = client_search_dirs(env);

        if let Some(value) = env.get(BINDIR_VAR) {
            let dir = resolve_relative(Path::new(value), env.cwd.as_deref());
            return match server_dir(&dir) {
                Ok(bindir) => ServerBinaries::from_bindir_with(bindir, search_dirs),
                Err(missing) => Err(Error::config(format!(
                    "{BINDIR_VAR}={} does not hold the PostgreSQL server programs \
                     (missing: {missing}); point it at the directory that holds initdb, \
                     postgres and pg_ctl, or unset it to search PATH and the usual places",
                    dir.display()
                ))),
            };
        }
        searched.push(format!("{BINDIR_VAR} (not set)"));

        let path_dirs = env.path_dirs();
        for dir in &path_dirs {
            if let Ok(bindir) = server_dir(dir) {
                return ServerBinaries::from_bindir_with(bindir, search_dirs);
            }
        }
        searched.push(format!("PATH ({})", display_list(&path_dirs)));

        match path_dirs
            .iter()
            .map(|d| d.join("pg_config"))
            .find(|p| is_executable(p))
        {
            Some(pg_config) => {
                let bindir = Command::new(&pg_config)
                    .arg("--bindir")
                    .output()
                    .ok()
                    .filter(|out| out.status.success())
                    .and_then(|out| String::from_utf8(out.stdout).ok())
                    .map(|s| PathBuf::from(s.trim()));
                match bindir {
                    Some(dir) => {
                        if let Ok(bindir) = server_dir(&dir) {
                            return ServerBinaries::from_bindir_with(bindir, search_dirs);
                        }
                        searched.push(format!(
                            "{} --bindir ({})",
                            pg_config.display(),
                            dir.display()
                        ));
                    }
                    None => searched.push(format!("{} --bindir (failed)", pg_config.display())),
                }
            }
            None => searched.push("pg_config --bindir (no pg_config on PATH)".to_owned()),
        }

        for root in &env.versioned_roots {
            let versions = versioned_bindirs(root);
            for dir in &versions {
                if let Ok(bindir) = server_dir(dir) {
                    return ServerBinaries::from_bindir_with(bindir, search_dirs);
                }
            }
            if versions.is_empty() {
                searched.push(format!("{}/<version>/bin (none)", root.display()));
            } else {
                searched.push(display_list(&versions));
            }
        }

        for dir in &env.fallback_dirs {
            if let Ok(bindir) = server_dir(dir) {
                return ServerBinaries::from_bindir_with(bindir, search_dirs);
            }
            searched.push(dir.display().to_string());
        }

        Err(Error::config(format!(
            "the PostgreSQL server programs (initdb, postgres, pg_ctl) were not found. \
             Searched: {}. Install PostgreSQL (Debian/Ubuntu: `apt-get install postgresql`; \
             or `scripts/pg-version 18` in the Quarry repository), or set {BINDIR_VAR} to the \
             directory that holds initdb, postgres and pg_ctl",
            searched.join("; ")
        )))
    }

    /// Uses the programs in `bindir` (which must hold `initdb`, `postgres` and `pg_ctl`).
    pub fn from_bindir(bindir: impl AsRef<Path>) -> Result<ServerBinaries> {
        let dir = bindir.as_ref();
        let bindir = server_dir(dir).map_err(|missing| {
            Error::config(format!(
                "{} does not hold the PostgreSQL server programs (missing: {missing})",
                dir.display()
            ))
        })?;
        ServerBinaries::from_bindir_with(bindir, client_search_dirs(&SearchEnv::from_process()))
    }

    fn from_bindir_with(bindir: PathBuf, search: Vec<PathBuf>) -> Result<ServerBinaries> {
        let postgres = bindir.join("postgres");
        let out = Command::new(&postgres)
            .arg("--version")
            .output()
            .map_err(|e| Error::io(format!("could not run {}", postgres.display()), e))?;
        let version_text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        let version = ServerVersion::parse(&version_text)
            .filter(|_| out.status.success())
            .ok_or_else(|| {
                Error::config(format!(
                    "`{} --version` did not report a version ({}; {}); the binaries may be \
                     missing libraries (try `ldd {}`)",
                    postgres.display(),
                    out.status,
                    String::from_utf8_lossy(&out.stderr).trim(),
                    postgres.display()
                ))
            })?;
        Ok(ServerBinaries {
            bindir,
            version,
            version_text,
            search,
        })
    }

    /// The directory holding the server programs (symbolic links resolved).
    pub fn bindir(&self) -> &Path {
        &self.bindir
    }

    /// The server version.
    pub fn version(&self) -> ServerVersion {
        self.version
    }

    /// The full `postgres --version` line.
    pub fn version_text(&self) -> &str {
        &self.version_text
    }

    /// The path of a PostgreSQL program: from [`bindir`](Self::bindir) when it is there, else
    /// from `PATH`, `pg_config --bindir` or the newest `/usr/lib/postgresql/<version>/bin`
    /// (some builds ship only the server, without `psql` or `pg_basebackup`).
    pub fn program(&self, name: &str) -> Result<PathBuf> {
        let own = self.bindir.join(name);
        if is_executable(&own) {
            return Ok(own);
        }
        self.search
            .iter()
            .map(|dir| dir.join(name))
            .find(|path| is_executable(path))
            .ok_or_else(|| {
                Error::config(format!(
                    "`{name}` was not found in {} nor in {}; install the PostgreSQL client \
                     programs (Debian/Ubuntu: `apt-get install postgresql-client`)",
                    self.bindir.display(),
                    display_list(&self.search)
                ))
            })
    }
}

impl ServerBinaries {
    /// Like [`program`](Self::program), but only a program of the server's major version or
    /// newer (`pg_basebackup` refuses newer servers).
    pub(super) fn program_for_server(&self, name: &str) -> Result<PathBuf> {
        std::iter::once(&self.bindir)
            .chain(&self.search)
            .map(|dir| dir.join(name))
            .filter(|path| is_executable(path))
            .find(|path| {
                Command::new(path)
                    .arg("--version")
                    .output()
                    .ok()
                    .and_then(|out| ServerVersion::parse(&String::from_utf8_lossy(&out.stdout)))
                    .is_some_and(|v| v.major >= self.version.major)
            })
            .ok_or_else(|| {
                Error::config(format!(
                    "no `{name}` of PostgreSQL {} or newer was found in {} nor in {}",
                    self.version.major,
                    self.bindir.display(),
                    display_list(&self.search)
                ))
            })
    }
}

/// Where client programs missing from the server's directory are looked for.
fn client_search_dirs(env: &SearchEnv) -> Vec<PathBuf> {
    let mut dirs = env.path_dirs();
    for root in &env.versioned_roots {
        dirs.extend(versioned_bindirs(root));
    }
    dirs.extend(env.fallback_dirs.iter().cloned());
    dirs
}

/// `dir` resolved to the directory of the real `postgres` program, if `dir` holds all of
/// [`SERVER_PROGRAMS`]; else the names of those missing.
fn server_dir(dir: &Path) -> Result<PathBuf, String> {
    let missing: Vec<&str> = SERVER_PROGRAMS
        .iter()
        .copied()
        .filter(|name| !is_executable(&dir.join(name)))
        .collect();
    if !missing.is_empty() {
        return Err(missing.join(", "));
    }
    // `/usr/local/bin/postgres` may be a symbolic link into the real directory, which also
    // holds the client programs; use that one.
    let real = fs::canonicalize(dir.join("postgres"))
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .filter(|real| {
            SERVER_PROGRAMS
                .iter()
                .all(|name| is_executable(&real.join(name)))
        });
    Ok(real.unwrap_or_else(|| dir.to_path_buf()))
}

/// `<root>/<version>/bin` for each version directory, newest first.
fn versioned_bindirs(root: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(root) else {
        return Vec::new();
    };
    let mut versions: Vec<(Vec<u32>, PathBuf)> = entries
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let name = entry.file_name().into_string().ok()?;
            let key = name
                .split('.')
                .map(|part| part.parse::<u32>().ok())
                .collect::<Option<Vec<u32>>>()?;
            Some((key, entry.path().join("bin")))
        })
        .collect();
    versions.sort_by(|a, b| b.0.cmp(&a.0));
    versions.into_iter().map(|(_, dir)| dir).collect()
}

/// A relative path is tried against `cwd` and then each of its ancestors, so
/// `QUARRY_PG_BINDIR=target/pg/18/native/bin` works from a package directory of the workspace
/// (where `cargo test` runs test binaries) as well as from the workspace root.
fn resolve_relative(path: &Path, cwd: Option<&Path>) -> PathBuf {
    if path.is_absolute() {
        return path.to_path_buf();
    }
    let Some(cwd) = cwd else {
        return path.to_path_buf();
    };
    cwd.ancestors()
        .map(|dir| dir.join(path))
        .find(|candidate| candidate.is_dir())
        .unwrap_or_else(|| cwd.join(path))
}

fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn display_list(dirs: &[PathBuf]) -> String {
    if dirs.is_empty() {
        return "none".to_owned();
    }
    dirs.iter()
        .map(|d| d.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_versions() {
        let v = |s| ServerVersion::parse(s);
        assert_eq!(
            v("postgres (PostgreSQL) 15.18 (Debian 15.18-1.pgdg120+1)"),
            Some(ServerVersion {
                major: 15,
                minor: 18
            })
        );
        assert_eq!(
            v("postgres (PostgreSQL) 18.4\n"),
            Some(ServerVersion {
                major: 18,
                minor: 4
            })
        );
        assert_eq!(
            v("postgres (PostgreSQL) 18beta1"),
            Some(ServerVersion {
                major: 18,
                minor: 0
            })
        );
        assert_eq!(v("postgres 15.2"), None);
        assert_eq!(v("postgres (PostgreSQL) x"), None);
    }

    #[test]
    fn relative_bindir_is_found_in_an_ancestor() {
        let root = std::env::temp_dir().join(format!("quarry-relative-{}", std::process::id()));
        let cwd = root.join("a").join("b");
        fs::create_dir_all(&cwd).unwrap();
        fs::create_dir_all(root.join("x").join("bin")).unwrap();
        let rel = Path::new("x/bin");
        assert_eq!(resolve_relative(rel, Some(&cwd)), root.join("x/bin"));
        // Not found anywhere: relative to the working directory, as given.
        assert_eq!(resolve_relative(Path::new("y"), Some(&cwd)), cwd.join("y"));
        assert_eq!(
            resolve_relative(Path::new("/abs"), Some(&cwd)),
            Path::new("/abs")
        );
        fs::remove_dir_all(&root).unwrap();
    }
}
