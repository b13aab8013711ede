//! The on-disk cluster: the cached template, a server's directories, and its configuration.
//!
//! `initdb` takes a second or more, so it runs once per server build: the initialised data
//! directory, with the test roles already created, is cached under the cargo `target/`
//! directory and each server copies it. The cache key covers everything that changes what
//! `initdb` and the role setup produce, so a different PostgreSQL gets its own template.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use crate::failure::{Error, ErrorKind, Result};

use super::binaries::ServerBinaries;
use super::certs::TlsMaterial;
use super::process::{self, RunAs};
use super::roles;

/// Bump when the template's contents change in a way the key does not already cover.
const TEMPLATE_FORMAT: &str = "quarry-template-1";

/// Written last into a finished template, so a half-copied one is never used.
const TEMPLATE_MARKER: &str = "quarry-template-ready";

/// The per-server settings file that the template's `postgresql.conf` includes last.
const SETTINGS_FILE: &str = "quarry.conf";

/// The directories of one server. Everything lives under `root`, which is removed on drop.
#[derive(Clone, Debug)]
pub(super) struct Layout {
    /// Owned by this process (0755), so the server user can enter it.
    pub(super) root: PathBuf,
    /// The data directory, owned by the server user (0700).
    pub(super) data: PathBuf,
    /// The Unix-socket directory, which also holds the log; owned by the server user.
    pub(super) run: PathBuf,
    /// The server log (`pg_ctl -l`).
    pub(super) log: PathBuf,
    /// Certificates and keys for clients, owned by this process (0700).
    pub(super) client: PathBuf,
}

impl Layout {
    /// Creates the directories in a fresh directory of the system temp dir. The data
    /// directory is left for the caller (a template copy or `pg_basebackup` creates it).
    pub(super) fn create(run_as: &RunAs) -> Result<Layout> {
        let root = process::fresh_dir(&std::env::temp_dir(), "quarry-pg")?;
        let layout = Layout {
            data: root.join("data"),
            run: root.join("run"),
            log: root.join("run").join("postgres.log"),
            client: root.join("client"),
            root,
        };
        // The server creates `.s.PGSQL.<port>` here; Unix socket paths are limited to 107 bytes.
        let socket_len = layout.run.as_os_str().len() + "/.s.PGSQL.65535.lock".len();
        if socket_len > 100 {
            let _ = process::remove_tree(&layout.root);
            return Err(Error::config(format!(
                "the temp directory path {} is too long for a Unix socket path; set TMPDIR to \
                 a shorter directory such as /tmp",
                std::env::temp_dir().display()
            )));
        }
        let made = run_as
            .create_dir(&layout.run, 0o755)
            .and_then(|()| process::create_dir(&layout.client, 0o700));
        if let Err(e) = made {
            let _ = process::remove_tree(&layout.root);
            return Err(e);
        }
        Ok(layout)
    }

    /// The client-side certificate files.
    pub(super) fn ca_cert(&self) -> PathBuf {
        self.client.join("ca.crt")
    }

    pub(super) fn untrusted_ca_cert(&self) -> PathBuf {
        self.client.join("untrusted-ca.crt")
    }

    pub(super) fn client_cert(&self) -> PathBuf {
        self.client.join("client.crt")
    }

    /// `crl/revoked.crl`, `crl/empty.crl`, `crl/expired.crl` (see `certs::Crls`).
    pub(super) fn crl(&self, name: &str) -> PathBuf {
        self.client.join("crl").join(format!("{name}.crl"))
    }

    pub(super) fn client_key(&self) -> PathBuf {
        self.client.join("client.key")
    }
}

/// What goes into a server's `quarry.conf` and `pg_hba.conf`.
#[derive(Clone, Debug)]
pub(super) struct ServerConfig {
    pub(super) port: u16,
    pub(super) listen: Vec<String>,
    pub(super) tls: bool,
    pub(super) replication: bool,
    pub(super) settings: Vec<(String, String)>,
    pub(super) hba_lines: Vec<String>,
    /// Whether the server certificate is expired (valid in 2000 only).
    pub(super) expired_certificate: bool,
    pub(super) certificates: super::CertificateStyle,
}

/// Writes `quarry.conf` (port, sockets, speed settings, TLS, the caller's settings).
pub(super) fn write_settings(layout: &Layout, config: &ServerConfig, run_as: &RunAs) -> Result<()> {
    let mut conf = String::from("# Written by quarry's TempServer for this server only.\n");
    let mut set = |name: &str, value: &str| {
        let _ = writeln!(conf, "{name} = '{}'", value.replace('\'', "''"));
    };
    set("listen_addresses", &config.listen.join(","));
    set("port", &config.port.to_string());
    set("unix_socket_directories", &path_str(&layout.run)?);
    // Speed over durability: the cluster is thrown away. `synchronous_commit` stays on:
    // with `fsync=off` a commit then costs one write(2), and a commit survives
    // `restart_immediate()` (a crash), which crash and 2PC tests rely on.
    set("fsync", "off");
    set("synchronous_commit", "on");
    set("full_page_writes", "off");
    set("shared_buffers", "32MB");
    // Connection tests and pool tests open many sessions; 2PC tests prepare transactions.
    set("max_connections", "200");
    set("max_prepared_transactions", "10");
    set("log_min_messages", "warning");
    set("lc_messages", "C");
    set("timezone", "UTC");
    set("log_timezone", "UTC");
    set("ssl", if config.tls { "on" } else { "off" });
    set("ssl_cert_file", "server.crt");
    set("ssl_key_file", "server.key");
    set("ssl_ca_file", "root.crt");
    if config.replication {
        set("wal_level", "replica");
        set("max_wal_senders", "10");
        set("hot_standby", "on");
    }
    for (name, value) in &config.settings {
        set(name, value);
    }
    run_as.write_file(&layout.data.join(SETTINGS_FILE), conf.as_bytes(), 0o600)?;

    let mut hba = String::from("# Written by quarry's TempServer. First match wins.\n");
    for line in &config.hba_lines {
        hba.push_str(line);
        hba.push('\n');
    }
    hba.push_str(&roles::hba_rules(config.tls, config.replication));
    run_as.write_file(&layout.data.join("pg_hba.conf"), hba.as_bytes(), 0o600)
}

/// Writes the server's certificate files into the data directory (owned by the server user,
/// keys 0600 as the server demands) and the client's into `layout.client`.
pub(super) fn write_tls(layout: &Layout, tls: &TlsMaterial, run_as: &RunAs) -> Result<()> {
    run_as.write_file(
        &layout.data.join("server.crt"),
        tls.server_cert.as_bytes(),
        0o644,
    )?;
    run_as.write_file(
        &layout.data.join("server.key"),
        tls.server_key.as_bytes(),
        0o600,
    )?;
    run_as.write_file(&layout.data.join("root.crt"), tls.ca_cert.as_bytes(), 0o644)?;
    process::write_file(&layout.ca_cert(), tls.ca_cert.as_bytes(), 0o644)?;
    process::write_file(
        &layout.untrusted_ca_cert(),
        tls.untrusted_ca_cert.as_bytes(),
        0o644,
    )?;
    process::write_file(&layout.client_cert(), tls.client_cert.as_bytes(), 0o644)?;
    let crl_dir = layout.crl("x");
    if let Some(dir) = crl_dir.parent() {
        fs::create_dir_all(dir)
            .map_err(|e| Error::io(format!("could not create {}", dir.display()), e))?;
    }
    for (name, pem) in [
        ("revoked", &tls.crls.revoking_server),
        ("empty", &tls.crls.empty),
        ("expired", &tls.crls.expired),
    ] {
        process::write_file(&layout.crl(name), pem.as_bytes(), 0o644)?;
    }
    process::write_file(&layout.client_key(), tls.client_key.as_bytes(), 0o600)
}

/// Copies the cached template (made first if needed) into `layout.data`.
pub(super) fn copy_template(
    binaries: &ServerBinaries,
    run_as: &RunAs,
    layout: &Layout,
) -> Result<()> {
    let template = template(binaries, run_as)?;
    run_as.copy_tree(&template, &layout.data)?;
    // The marker is ours, not the server's.
    let _ = fs::remove_file(layout.data.join(TEMPLATE_MARKER));
    Ok(())
}

/// The `initdb` arguments after `-D <dir>`. Part of the template key.
fn initdb_args() -> [&'static str; 6] {
    [
        "--username=postgres",
        "--encoding=UTF8",
        "--no-locale",
        "--auth=trust",
        "--no-sync",
        // 1 MB WAL segments instead of 16 MB: a smaller template to copy.
        "--wal-segsize=1",
    ]
}

/// The path of the cached template for these binaries, creating it when missing.
fn template(binaries: &ServerBinaries, run_as: &RunAs) -> Result<PathBuf> {
    let mut key = Fnv64::new();
    key.add(TEMPLATE_FORMAT);
    key.add(&binaries.bindir().to_string_lossy());
    key.add(binaries.version_text());
    key.add(&run_as.key());
    for arg in initdb_args() {
        key.add(arg);
    }
    key.add(&roles::setup_sql());
    let cache = cache_dir();
    let name = format!("pg{}-{:016x}", binaries.version().major, key.finish());
    let path = cache.join(&name);
    if path.join(TEMPLATE_MARKER).is_file() {
        return Ok(path);
    }
    // Tests of one binary start servers from several threads at once: one builds, the others
    // wait for it instead of running initdb too.
    static BUILDING: Mutex<()> = Mutex::new(());
    let _building = BUILDING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if path.join(TEMPLATE_MARKER).is_file() {
        return Ok(path);
    }
    fs::create_dir_all(&cache)
        .map_err(|e| Error::io(format!("could not create {}", cache.display()), e))?;
    remove_stale_staging(&cache);

    // initdb runs as the server user, which may not be able to enter `target/`; it runs in
    // the temp dir and the result is copied into the cache under a private name, then
    // renamed into place: a rename is atomic, so parallel test binaries never see half a
    // template, and the loser of a race just uses the winner's.
    let scratch = process::fresh_dir(&std::env::temp_dir(), "quarry-pg-initdb")?;
    let staging = cache.join(format!(
        ".{name}-{}-{}",
        std::process::id(),
        process::unique()
    ));
    let result = build_template(binaries, run_as, &scratch.join("data")).and_then(|()| {
        process::copy_tree(&scratch.join("data"), &staging, &|_| Ok(()))?;
        process::write_file(&staging.join(TEMPLATE_MARKER), b"", 0o600)
    });
    let _ = process::remove_tree(&scratch);
    if let Err(e) = result {
        let _ = process::remove_tree(&staging);
        return Err(e);
    }
    match fs::rename(&staging, &path) {
        Ok(()) => Ok(path),
        Err(_) if path.join(TEMPLATE_MARKER).is_file() => {
            let _ = process::remove_tree(&staging);
            Ok(path)
        }
        Err(e) => {
            let _ = process::remove_tree(&staging);
            Err(Error::io(
                format!("could not move the template to {}", path.display()),
                e,
            ))
        }
    }
}

/// Removes staging directories (`.<name>-<pid>-<n>`) left by processes killed while they
/// built a template; an hour is far longer than any build.
fn remove_stale_staging(cache: &Path) {
    let Ok(entries) = fs::read_dir(cache) else {
        return;
    };
    for entry in entries.flatten() {
        let stale = entry.file_name().as_encoded_bytes().starts_with(b".")
            && entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|modified| modified.elapsed().ok())
                .is_some_and(|age| age > Duration::from_secs(3600));
        if stale {
            let _ = process::remove_tree(&entry.path());
        }
    }
}

/// Runs `initdb` into `data`, then creates the test roles in single-user mode.
fn build_template(binaries: &ServerBinaries, run_as: &RunAs, data: &Path) -> Result<()> {
    let cwd = data.parent().unwrap_or(data);
    run_as.create_dir(data, 0o700)?;
    let mut initdb = run_as.command(binaries.bindir().join("initdb"), cwd);
    initdb.arg("-D").arg(data).args(initdb_args());
    process::run(&mut initdb, "initdb").map_err(|e| {
        e.context(format!(
            "creating the template cluster as user {} (is {} readable and executable by it?)",
            run_as.name(),
            binaries.bindir().display()
        ))
    })?;

    let mut single = run_as.command(binaries.bindir().join("postgres"), cwd);
    single
        .arg("--single")
        .arg("-D")
        .arg(data)
        .args(["-c", "log_min_messages=warning", "postgres"]);
    let sql = roles::setup_sql();
    let output =
        process::run_with_input(&mut single, "creating the test roles", Some(sql.as_bytes()))?;
    let text = process::output_text(&output);
    if text.contains("ERROR:") || text.contains("FATAL:") {
        return Err(Error::new(
            ErrorKind::Io,
            format!("creating the test roles in single-user mode failed: {text}"),
        ));
    }

    let conf = data.join("postgresql.conf");
    let mut text = fs::read_to_string(&conf)
        .map_err(|e| Error::io(format!("could not read {}", conf.display()), e))?;
    text.push_str(&format!(
        "\n# Added by quarry's TempServer: each server's own settings.\n\
         include_if_exists = '{SETTINGS_FILE}'\n"
    ));
    fs::write(&conf, text).map_err(|e| Error::io(format!("could not write {}", conf.display()), e))
}

/// Where templates are cached: `<target>/quarry-pg/templates`, with `<target>` from
/// `CARGO_TARGET_DIR` or the `target` directory above this executable; else the temp dir.
fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from)
        && dir.is_absolute()
        && dir.is_dir()
    {
        return dir.join("quarry-pg").join("templates");
    }
    if let Ok(exe) = std::env::current_exe() {
        let target = exe.ancestors().skip(1).find(|dir| {
            dir.file_name().is_some_and(|name| name == "target")
                || dir.join("CACHEDIR.TAG").is_file()
        });
        if let Some(target) = target {
            return target.join("quarry-pg").join("templates");
        }
    }
    std::env::temp_dir().join("quarry-pg-templates")
}

/// A path as UTF-8, for a configuration file.
pub(super) fn path_str(path: &Path) -> Result<String> {
    path.to_str().map(str::to_owned).ok_or_else(|| {
        Error::config(format!(
            "the path {} is not UTF-8; set TMPDIR to a plain directory such as /tmp",
            path.display()
        ))
    })
}

/// The first line of `postmaster.pid`: the postmaster's process id, while it runs.
pub(super) fn postmaster_pid(data: &Path) -> Option<u32> {
    let text = fs::read_to_string(data.join("postmaster.pid")).ok()?;
    text.lines().next()?.trim().parse().ok()
}

/// The status line of `postmaster.pid` (`starting`, `ready`, `standby`, `stopping`) when
/// the file belongs to postmaster `pid`.
pub(super) fn postmaster_status(data: &Path, pid: u32) -> Option<String> {
    let text = fs::read_to_string(data.join("postmaster.pid")).ok()?;
    let mut lines = text.lines();
    if lines.next()?.trim().parse::<u32>().ok()? != pid {
        return None;
    }
    // Line 8: LOCK_FILE_LINE_PM_STATUS.
    Some(lines.nth(6)?.trim().to_owned())
}

/// FNV-1a, 64 bits: a stable hash for cache keys (std's hasher may change between releases).
struct Fnv64(u64);

impl Fnv64 {
    fn new() -> Fnv64 {
        Fnv64(0xcbf2_9ce4_8422_2325)
    }

    fn add(&mut self, part: &str) {
        for byte in part.bytes().chain([0]) {
            self.0 ^= u64::from(byte);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_is_stable_and_separates_parts() {
        let hash = |parts: &[&str]| {
            let mut h = Fnv64::new();
            parts.iter().for_each(|p| h.add(p));
            h.finish()
        };
        assert_eq!(hash(&[]), 0xcbf2_9ce4_8422_2325);
        assert_ne!(hash(&["ab", "c"]), hash(&["a", "bc"]));
        assert_eq!(hash(&["x"]), hash(&["x"]));
    }
}
