//! `TempServer`: a throwaway cluster for tests and examples. The guide, and the public home
//! of its builder, roles and binaries, is the public `temp_server` module.

mod binaries;
mod certs;
mod cluster;
mod process;
mod proxy;
mod reaper;
pub mod roles;

use std::fmt;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::failure::{Error, ErrorKind, Result};

pub use binaries::{BINDIR_VAR, SearchEnv, ServerBinaries, ServerVersion};

pub use certs::CertificateStyle;
use certs::TlsMaterial;
#[cfg(test)]
pub(crate) use certs::v1_server_certificate;
use cluster::{Layout, ServerConfig};
use process::RunAs;
use reaper::Reaper;

/// The address every server listens on.
const HOST: &str = "127.0.0.1";

/// How long `pg_ctl` may wait for a start, stop or promotion.
const PG_CTL_TIMEOUT: &str = "60";

/// Options for a [`TempServer`], from [`TempServer::builder`].
#[derive(Clone, Debug)]
#[must_use]
pub struct Builder {
    settings: Vec<(String, String)>,
    hba_lines: Vec<String>,
    tls: bool,
    also_listen: Vec<String>,
    replication: bool,
    binaries: Option<ServerBinaries>,
    expired_certificate: bool,
    certificates: CertificateStyle,
}

impl Builder {
    /// Adds a `postgresql.conf` setting, for example `.setting("wal_level", "logical")`.
    /// Later settings win over earlier ones and over TempServer's defaults. The value is
    /// written as a quoted string, which PostgreSQL accepts for every setting.
    pub fn setting(mut self, name: impl Into<String>, value: impl Into<String>) -> Builder {
        self.settings.push((name.into(), value.into()));
        self
    }

    /// Adds a `pg_hba.conf` line. Added lines come before the built-in rules of [`roles`]
    /// (the first matching line wins).
    pub fn hba_line(mut self, line: impl Into<String>) -> Builder {
        self.hba_lines.push(line.into());
        self
    }

    /// Whether the server offers TLS (default `true`). The certificate files are written
    /// either way.
    pub fn tls(mut self, on: bool) -> Builder {
        self.tls = on;
        self
    }

    /// Which kind of server and client certificates to make (default: X.509 v3 with
    /// subjectAltNames).
    pub fn certificates(mut self, style: CertificateStyle) -> Builder {
        self.certificates = style;
        self
    }

    /// Also listens on `address` (for example `127.0.0.2`, which Linux routes to the loopback
    /// interface and which the server certificate does not name: for wrong-hostname tests).
    pub fn also_listen_on(mut self, address: impl Into<String>) -> Builder {
        self.also_listen.push(address.into());
        self
    }

    /// Prepares the server to be a primary: `wal_level=replica`, WAL senders, `hot_standby`,
    /// and trusted `replication` connections over TCP and the socket. Needed for
    /// [`TempServer::start_standby`].
    pub fn replication(mut self, on: bool) -> Builder {
        self.replication = on;
        self
    }

    /// Gives the server a certificate that expired long ago (valid in the year 2000
    /// only), signed by the usual CA: for expired-certificate tests. Default `false`.
    pub fn expired_server_certificate(mut self, on: bool) -> Builder {
        self.expired_certificate = on;
        self
    }

    /// Uses these server programs instead of searching for them.
    pub fn binaries(mut self, binaries: ServerBinaries) -> Builder {
        self.binaries = Some(binaries);
        self
    }

    /// Creates the cluster and starts the server.
    pub fn start(self) -> Result<TempServer> {
        for (name, value) in &self.settings {
            if value.contains(['\n', '\r']) {
                return Err(Error::config(format!(
                    "TempServer setting {name} has a line break in its value"
                )));
            }
            if name.is_empty()
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
            {
                return Err(Error::config(format!(
                    "TempServer setting name {name:?} is not a PostgreSQL setting name"
                )));
            }
        }
        if let Some(line) = self.hba_lines.iter().find(|l| l.contains(['\n', '\r'])) {
            return Err(Error::config(format!(
                "TempServer pg_hba.conf line {line:?} holds a line break; add one line per call"
            )));
        }
        if let Some(address) = self.also_listen.iter().find(|a| {
            a.is_empty() || a.contains(|c: char| c == ',' || c == '\'' || c.is_whitespace())
        }) {
            return Err(Error::config(format!(
                "TempServer listen address {address:?} is not a single host or address"
            )));
        }
        let binaries = match self.binaries {
            Some(binaries) => binaries,
            None => ServerBinaries::locate()?,
        };
        let run_as = RunAs::detect()?;
        let mut listen = vec![HOST.to_owned()];
        listen.extend(self.also_listen);
        let config = ServerConfig {
            port: 0,
            listen,
            tls: self.tls,
            replication: self.replication,
            settings: self.settings,
            hba_lines: self.hba_lines,
            expired_certificate: self.expired_certificate,
            certificates: self.certificates,
        };
        TempServer::create(binaries, run_as, config, None)
    }
}

/// A running PostgreSQL cluster that is removed when dropped. See the [module
/// docs](crate::temp_server).
///
/// Control methods take `&self` so a server kept in a `static` can be restarted by the tests
/// sharing it; they are serialised internally.
pub struct TempServer {
    binaries: ServerBinaries,
    run_as: RunAs,
    layout: Layout,
    config: ServerConfig,
    state: Mutex<State>,
    reaper: Option<Reaper>,
    /// `QUARRY_TEST_PROXY=one-byte`: the proxy [`port`](Self::port) leads to.
    proxy: Option<proxy::OneByteProxy>,
}

#[derive(Debug)]
struct State {
    running: bool,
    standby: bool,
}

impl TempServer {
    /// Starts a server with the default options.
    pub fn start() -> Result<TempServer> {
        TempServer::builder().start()
    }

    /// Options for a server: settings, `pg_hba.conf` lines, TLS, replication.
    pub fn builder() -> Builder {
        Builder {
            settings: Vec::new(),
            hba_lines: Vec::new(),
            tls: true,
            also_listen: Vec::new(),
            replication: false,
            binaries: None,
            expired_certificate: false,
            certificates: CertificateStyle::V3,
        }
    }

    /// Makes the directories and the data directory (a template copy, or a base backup of
    /// `primary`), writes the configuration and starts the server. On failure everything
    /// made so far is removed by `Drop`.
    fn create(
        binaries: ServerBinaries,
        run_as: RunAs,
        config: ServerConfig,
        primary: Option<&TempServer>,
    ) -> Result<TempServer> {
        let layout = Layout::create(&run_as)?;
        let reaper = match Reaper::spawn(&layout.root, &layout.data) {
            Ok(reaper) => reaper,
            Err(e) => {
                let _ = process::remove_tree(&layout.root);
                return Err(e);
            }
        };
        let mut server = TempServer {
            binaries,
            run_as,
            layout,
            config,
            state: Mutex::new(State {
                running: false,
                standby: primary.is_some(),
            }),
            reaper: Some(reaper),
            proxy: None,
        };
        match primary {
            None => {
                cluster::copy_template(&server.binaries, &server.run_as, &server.layout)?;
                let tls = TlsMaterial::generate(
                    server.config.certificates,
                    server.config.expired_certificate,
                )?;
                cluster::write_tls(&server.layout, &tls, &server.run_as)?;
            }
            Some(primary) => server.base_backup_of(primary)?,
        }
        server.start_on_free_port()?;
        if proxy::wanted()? {
            server.proxy = Some(proxy::OneByteProxy::start(
                &server.config.listen,
                &server.layout.run,
                server.config.port,
            )?);
        }
        Ok(server)
    }

    /// Copies `primary` into this server's data directory and makes the copy its standby,
    /// with the primary's client certificate files (the server's come with the data).
    fn base_backup_of(&self, primary: &TempServer) -> Result<()> {
        match self.binaries.program_for_server("pg_basebackup") {
            Ok(pg_basebackup) => {
                self.run_as.create_dir(&self.layout.data, 0o700)?;
                let mut command = self.run_as.command(&pg_basebackup, &self.layout.root);
                command
                    .arg("-h")
                    .arg(&primary.layout.run)
                    .args([
                        "-p",
                        &primary.config.port.to_string(),
                        "-U",
                        "postgres",
                        "-D",
                    ])
                    .arg(&self.layout.data)
                    .args(["-X", "stream", "-c", "fast", "--no-sync"]);
                process::run(&mut command, "making the standby's base backup")?;
            }
            Err(_) => self.cold_copy_of(primary)?,
        }
        // What `pg_basebackup -R` writes, but by us: a newer pg_basebackup writes connection
        // options an older server's libpq rejects (`sslsni` on PostgreSQL 13).
        self.run_as
            .write_file(&self.layout.data.join("standby.signal"), b"", 0o600)?;
        let auto_conf = self.layout.data.join("postgresql.auto.conf");
        let mut text = std::fs::read_to_string(&auto_conf).unwrap_or_default();
        text.push_str(&format!(
            "primary_conninfo = 'host={HOST} port={} user=postgres sslmode=disable'\n",
            primary.config.port
        ));
        self.run_as.write_file(&auto_conf, text.as_bytes(), 0o600)?;
        for (from, to) in [
            (primary.layout.ca_cert(), self.layout.ca_cert()),
            (
                primary.layout.untrusted_ca_cert(),
                self.layout.untrusted_ca_cert(),
            ),
            (primary.layout.client_cert(), self.layout.client_cert()),
            (primary.layout.client_key(), self.layout.client_key()),
            (primary.layout.crl("revoked"), self.layout.crl("revoked")),
            (primary.layout.crl("empty"), self.layout.crl("empty")),
            (primary.layout.crl("expired"), self.layout.crl("expired")),
        ] {
            if let Some(dir) = to.parent() {
                std::fs::create_dir_all(dir)
                    .map_err(|e| Error::io(format!("could not create {}", dir.display()), e))?;
            }
            std::fs::copy(&from, &to)
                .map_err(|e| Error::io(format!("could not copy {}", from.display()), e))?;
        }
        Ok(())
    }

    /// Without a `pg_basebackup` that accepts the server (the npm builds ship none): stop the
    /// primary cleanly, copy its data directory, and start it again.
    fn cold_copy_of(&self, primary: &TempServer) -> Result<()> {
        let mut state = primary.lock();
        primary.stop_locked(&mut state, "fast")?;
        let copied = self
            .run_as
            .copy_tree(&primary.layout.data, &self.layout.data);
        primary.start_postmaster(&mut state)?;
        copied
    }

    /// Picks a free port, writes the configuration and starts; retries with another port
    /// when another process took the port in between.
    fn start_on_free_port(&mut self) -> Result<()> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.config.port = free_port()?;
            cluster::write_settings(&self.layout, &self.config, &self.run_as)?;
            let log_start = log_len(&self.layout.log);
            let mut state = self.lock();
            match self.start_postmaster(&mut state) {
                Ok(()) => return Ok(()),
                Err(e) => {
                    let log = std::fs::read(&self.layout.log).unwrap_or_default();
                    let new = String::from_utf8_lossy(log.get(log_start..).unwrap_or_default());
                    let port_taken = new.contains("could not bind")
                        || new.contains("Address already in use")
                        || new.contains("could not create any TCP/IP sockets");
                    if !(port_taken && attempt < 5) {
                        return Err(e);
                    }
                }
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A `pg_ctl <action> -D <data>` command run as the server user.
    fn pg_ctl(&self, action: &str) -> Command {
        let mut command = self
            .run_as
            .command(self.binaries.bindir().join("pg_ctl"), &self.layout.root);
        command
            .arg(action)
            .arg("-D")
            .arg(&self.layout.data)
            .arg("-s");
        command
    }

    /// Starts the postmaster the way `pg_ctl start` does (in the background, detached, output
    /// to the log), but polls `postmaster.pid` for readiness every few milliseconds instead of
    /// `pg_ctl -w`'s 100 ms, which is most of a start from the template.
    fn start_postmaster(&self, state: &mut State) -> Result<()> {
        let mut command = self.run_as.command("sh", &self.layout.root);
        command
            .arg("-c")
            .arg(r#"exec "$0" -D "$1" >>"$2" 2>&1 </dev/null & echo "$!""#)
            .arg(self.binaries.bindir().join("postgres"))
            .arg(&self.layout.data)
            .arg(&self.layout.log)
            .process_group(0);
        let started = process::run(&mut command, "starting the server")
            .map_err(|e| self.startup_error(e.message()))?;
        let pid: u32 = String::from_utf8_lossy(&started.stdout)
            .trim()
            .parse()
            .map_err(|_| self.startup_error("the postmaster's process id was not reported"))?;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if cluster::postmaster_status(&self.layout.data, pid)
                .is_some_and(|status| status == "ready" || status == "standby")
            {
                state.running = true;
                return Ok(());
            }
            if !process::process_alive(pid) {
                state.running = false;
                return Err(self.startup_error("the postmaster exited during startup"));
            }
            if Instant::now() >= deadline {
                state.running = true;
                return Err(self.startup_error("the server was not ready within 60 s"));
            }
            std::thread::sleep(Duration::from_millis(3));
        }
    }

    /// Runs a `pg_ctl` command that leaves the server running; a failure quotes the log.
    fn run_pg_ctl(&self, mut command: Command, what: &str, state: &mut State) -> Result<()> {
        let result = process::run(&mut command, what);
        state.running = cluster::postmaster_pid(&self.layout.data).is_some();
        result
            .map(drop)
            .map_err(|e| self.startup_error(e.message()))
    }

    /// A failed start: what happened, the end of the log, and what to check.
    fn startup_error(&self, what: &str) -> Error {
        Error::new(
            ErrorKind::Io,
            format!(
                "PostgreSQL {} ({}) did not start: {what}\nLast lines of {}:\n{}\n\
                 Check the settings given to TempServer::builder(), free disk space and memory; \
                 the data directory is {}",
                self.binaries.version(),
                self.binaries.bindir().display(),
                self.layout.log.display(),
                self.log_tail(20),
                self.layout.data.display()
            ),
        )
    }

    /// The superuser's URL over TCP without TLS:
    /// `postgres://postgres@127.0.0.1:<port>/postgres?sslmode=disable`.
    pub fn url(&self) -> String {
        format!(
            "postgres://postgres@{HOST}:{}/postgres?sslmode=disable",
            self.port()
        )
    }

    /// A URL for `role` with `password` over TCP without TLS (both percent-encoded).
    /// Use an empty password for roles that need none.
    pub fn url_for(&self, role: &str, password: &str) -> String {
        let credentials = if password.is_empty() {
            percent_encode(role)
        } else {
            format!("{}:{}", percent_encode(role), percent_encode(password))
        };
        format!(
            "postgres://{credentials}@{HOST}:{}/postgres?sslmode=disable",
            self.port()
        )
    }

    /// The TCP host: `127.0.0.1`.
    pub fn host(&self) -> &str {
        HOST
    }

    /// The TCP port (and the number of the Unix socket in [`socket_dir`](Self::socket_dir)).
    /// With `QUARRY_TEST_PROXY=one-byte` in the environment, the port of a proxy in front of
    /// the server that forwards one byte per write (for running a suite through it).
    pub fn port(&self) -> u16 {
        self.proxy
            .as_ref()
            .map_or(self.config.port, proxy::OneByteProxy::port)
    }

    /// The directory of the server's Unix socket (`.s.PGSQL.<port>`).
    pub fn socket_dir(&self) -> &Path {
        &self.layout.run
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.layout.data
    }

    /// The directory that holds everything of this server; removed on drop.
    pub fn root_dir(&self) -> &Path {
        &self.layout.root
    }

    /// The server version.
    pub fn version(&self) -> ServerVersion {
        self.binaries.version()
    }

    /// The directory of the server programs in use.
    pub fn bindir(&self) -> &Path {
        self.binaries.bindir()
    }

    /// The server programs in use.
    pub fn binaries(&self) -> &ServerBinaries {
        &self.binaries
    }

    /// The server log.
    pub fn log_path(&self) -> &Path {
        &self.layout.log
    }

    /// The last `lines` lines of the server log.
    pub fn log_tail(&self, lines: usize) -> String {
        process::tail(&self.layout.log, lines)
    }

    /// The postmaster's process id while the server runs.
    pub fn postmaster_pid(&self) -> Option<u32> {
        cluster::postmaster_pid(&self.layout.data)
    }

    /// The process id of the cleanup process that removes the server when this process ends.
    pub fn reaper_pid(&self) -> Option<u32> {
        self.reaper.as_ref().map(Reaper::pid)
    }

    /// Whether the server offers TLS.
    pub fn tls_enabled(&self) -> bool {
        self.config.tls
    }

    /// Whether this is a standby that has not been promoted.
    pub fn is_standby(&self) -> bool {
        self.lock().standby
    }

    /// The CA certificate (PEM) that signed the server and client certificates.
    pub fn ca_cert_path(&self) -> PathBuf {
        self.layout.ca_cert()
    }

    /// A certificate revocation list (PEM) of the CA in [`TempServer::ca_cert_path`]:
    /// `"revoked"` revokes the server certificate, `"empty"` revokes nothing, `"expired"`
    /// revokes nothing but was due for renewal in 2001. Each is alone in its directory's
    /// file, so `sslcrldir` can be tested with a copy.
    pub fn crl_path(&self, which: &str) -> PathBuf {
        self.layout.crl(which)
    }

    /// A CA certificate (PEM) that signed nothing here: trusting only it must fail.
    pub fn untrusted_ca_path(&self) -> PathBuf {
        self.layout.untrusted_ca_cert()
    }

    /// The client certificate (PEM) for the [`roles::CERT`] role.
    pub fn client_cert_path(&self) -> PathBuf {
        self.layout.client_cert()
    }

    /// The client certificate's private key (PEM, PKCS#8, mode 0600).
    pub fn client_key_path(&self) -> PathBuf {
        self.layout.client_key()
    }

    /// Stops the server (`pg_ctl stop -m fast`) and waits until the postmaster is gone.
    /// Stopping a stopped server does nothing.
    pub fn stop(&self) -> Result<()> {
        let mut state = self.lock();
        self.stop_locked(&mut state, "fast")
    }

    /// Stops the server like a crash (`pg_ctl stop -m immediate`: no shutdown checkpoint,
    /// sessions cut without a goodbye) and waits until the postmaster is gone. A standby
    /// has only what it had received by then.
    pub fn stop_immediate(&self) -> Result<()> {
        let mut state = self.lock();
        self.stop_locked(&mut state, "immediate")
    }

    fn stop_locked(&self, state: &mut State, mode: &str) -> Result<()> {
        let Some(pid) = self.postmaster_pid() else {
            state.running = false;
            return Ok(());
        };
        let mut command = self.pg_ctl("stop");
        command.args(["-m", mode, "-w", "-t", PG_CTL_TIMEOUT]);
        process::run(&mut command, "stopping the server")?;
        state.running = false;
        if !process::wait_gone(pid, Duration::from_secs(30)) {
            return Err(Error::new(
                ErrorKind::Timeout,
                format!("the postmaster (pid {pid}) did not exit within 30 s of pg_ctl stop"),
            ));
        }
        Ok(())
    }

    /// Starts a stopped server again, on the same data directory and port.
    pub fn start_again(&self) -> Result<()> {
        let mut state = self.lock();
        if state.running && self.postmaster_pid().is_some() {
            return Ok(());
        }
        self.start_postmaster(&mut state)
    }

    /// `pg_ctl restart -m fast`: sessions are disconnected, the server shuts down cleanly and
    /// starts again on the same port.
    pub fn restart_fast(&self) -> Result<()> {
        self.restart("fast")
    }

    /// `pg_ctl restart -m immediate`: the server dies without a shutdown checkpoint and
    /// recovers from its WAL when it starts again.
    pub fn restart_immediate(&self) -> Result<()> {
        self.restart("immediate")
    }

    fn restart(&self, mode: &str) -> Result<()> {
        let mut state = self.lock();
        let old = self.postmaster_pid();
        let mut command = self.pg_ctl("restart");
        command
            .args(["-m", mode, "-w", "-t", PG_CTL_TIMEOUT, "-l"])
            .arg(&self.layout.log);
        self.run_pg_ctl(command, "restarting the server", &mut state)?;
        if let Some(old) = old {
            process::wait_gone(old, Duration::from_secs(30));
        }
        Ok(())
    }

    /// Makes the server re-read `postgresql.conf` and `pg_hba.conf`, and waits until new
    /// sessions see the reload (so a test can connect right after).
    pub fn reload(&self) -> Result<()> {
        let _state = self.lock();
        let query = "SELECT pg_conf_load_time()";
        let before = self.run_sql(query)?;
        process::run(&mut self.pg_ctl("reload"), "reloading the configuration")?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.run_sql(query)? == before {
            if Instant::now() >= deadline {
                return Err(Error::timeout(
                    "the server did not reload its configuration within 10 s",
                ));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(())
    }

    /// Starts a hot standby of this server: `pg_basebackup -X stream` into a new data
    /// directory, with `standby.signal` and `primary_conninfo`, started on a new port (`pg_is_in_recovery()` is true there). The primary
    /// must be built with [`Builder::replication`]. The standby shares the primary's
    /// certificates and is removed when dropped, like any `TempServer`.
    ///
    /// When no `pg_basebackup` of the server's major version or newer is installed (the
    /// server-only builds of `scripts/pg-version` ship none), the standby is made from a copy
    /// of the primary's data directory taken while the primary is stopped for a moment
    /// (`pg_ctl stop -m fast`, then started again on the same port): sessions to the primary
    /// are cut.
    pub fn start_standby(&self) -> Result<TempServer> {
        if !self.config.replication {
            return Err(Error::config(
                "start_standby needs a primary built with TempServer::builder().replication(true)",
            ));
        }
        let mut config = self.config.clone();
        config.port = 0;
        TempServer::create(self.binaries.clone(), self.run_as, config, Some(self))
    }

    /// Promotes a standby to a primary (`pg_ctl promote`, waiting until it accepts writes).
    pub fn promote(&self) -> Result<()> {
        let mut state = self.lock();
        let mut command = self.pg_ctl("promote");
        command.args(["-w", "-t", PG_CTL_TIMEOUT]);
        process::run(&mut command, "promoting the standby")?;
        state.standby = false;
        Ok(())
    }

    /// The path of `psql` (from the server's directory, else the machine's: some builds ship
    /// only the server).
    pub fn psql_path(&self) -> Result<PathBuf> {
        self.binaries.program("psql")
    }

    /// The path of a PostgreSQL program, found like [`psql_path`](Self::psql_path).
    pub fn pg_bin(&self, name: &str) -> Result<PathBuf> {
        self.binaries.program(name)
    }

    /// Runs `sql` with the machine's `psql` as the superuser over the Unix socket and returns
    /// what it printed: unaligned, tuples only, columns separated by `|`, one line per row.
    ///
    /// For tests and setup only: it does not use Quarry's own connection code, so a test of
    /// that code can prepare and check the server independently. Fails with
    /// [`ErrorKind::Database`] when a statement fails (the message quotes psql), and with
    /// [`ErrorKind::Io`] when psql cannot run or connect.
    pub fn run_sql(&self, sql: &str) -> Result<String> {
        let psql = self.psql_path()?;
        let mut command = Command::new(&psql);
        process::clear_pg_env(&mut command);
        command
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h"])
            .arg(&self.layout.run)
            .args([
                "-p",
                &self.config.port.to_string(),
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-f",
                "-",
            ]);
        match process::run_with_input(&mut command, "run_sql", Some(sql.as_bytes())) {
            Ok(output) => Ok(String::from_utf8_lossy(&output.stdout).into_owned()),
            // psql exits with 3 when a statement failed under ON_ERROR_STOP.
            Err(e) if e.message().contains("exit status: 3") => {
                Err(Error::new(ErrorKind::Database, e.message().to_owned()))
            }
            Err(e) => Err(e),
        }
    }
}

impl fmt::Debug for TempServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TempServer")
            .field("version", &self.binaries.version())
            .field("port", &self.config.port)
            .field("data_dir", &self.layout.data)
            .finish_non_exhaustive()
    }
}

impl Drop for TempServer {
    /// Stops the server at once (immediate shutdown), waits for the postmaster to exit and
    /// removes the server's directory; then the reaper exits with nothing to do.
    fn drop(&mut self) {
        drop(self.proxy.take());
        if let Some(pid) = self.postmaster_pid() {
            // SIGQUIT is what `pg_ctl stop -m immediate` sends; sending it ourselves saves
            // pg_ctl's 100 ms polling.
            let _ = Command::new("sh")
                .args(["-c", "kill -QUIT \"$1\"", "sh", &pid.to_string()])
                .output();
            if !process::wait_gone(pid, Duration::from_secs(30)) {
                let mut command = self.pg_ctl("stop");
                command.args(["-m", "immediate", "-w", "-t", "30"]);
                let _ = process::run(&mut command, "stopping the server");
            }
        }
        let _ = process::remove_tree(&self.layout.root);
        drop(self.reaper.take());
    }
}

/// A port that was free on `127.0.0.1` a moment ago.
fn free_port() -> Result<u16> {
    let listener = TcpListener::bind((HOST, 0))
        .map_err(|e| Error::io("could not find a free TCP port on 127.0.0.1", e))?;
    let port = listener
        .local_addr()
        .map_err(|e| Error::io("could not find a free TCP port on 127.0.0.1", e))?
        .port();
    Ok(port)
}

fn log_len(path: &Path) -> usize {
    std::fs::metadata(path)
        .ok()
        .and_then(|m| usize::try_from(m.len()).ok())
        .unwrap_or(0)
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for byte in s.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_encodes_reserved_characters() {
        assert_eq!(percent_encode("quarry_scram"), "quarry_scram");
        assert_eq!(percent_encode("a b@c:d/é"), "a%20b%40c%3Ad%2F%C3%A9");
    }
}
