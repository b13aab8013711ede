//! TempServer against the real PostgreSQL programs of this machine (or `QUARRY_PG_BINDIR`).
//!
//! Clients here are the machine's `psql`, on purpose: these tests check the test server,
//! not Quarry's own connection code.

#![cfg(all(feature = "temp-server", unix))]

use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use quarry_driver::ErrorKind;
use quarry_driver::TempServer;
use quarry_driver::temp_server::{BINDIR_VAR, SearchEnv, ServerBinaries, roles};

/// Set in the environment of the child process the reaper tests start.
const CHILD_ENV: &str = "QUARRY_TEMP_SERVER_TEST_CHILD";

/// Whether process `pid` runs (a zombie counts as gone: nobody may reap an orphan here).
fn alive(pid: u32) -> bool {
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let state = stat[stat.rfind(')').unwrap() + 1..]
        .split_whitespace()
        .next();
    !matches!(state, Some("Z" | "X"))
}

fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if done() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs `sql` with psql over `conninfo`; `password` goes in `PGPASSWORD`.
fn psql(server: &TempServer, conninfo: &str, password: Option<&str>, sql: &str) -> Output {
    let mut command = Command::new(server.psql_path().unwrap());
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("PG") {
            command.env_remove(name);
        }
    }
    if let Some(password) = password {
        command.env("PGPASSWORD", password);
    }
    command
        .env("PGCONNECT_TIMEOUT", "10")
        .args([
            "-X",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            sql,
            conninfo,
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "psql failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

fn stderr(output: &Output) -> String {
    assert!(!output.status.success(), "psql unexpectedly succeeded");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn tcp(server: &TempServer, user: &str, sslmode: &str) -> String {
    format!(
        "host=127.0.0.1 port={} dbname=postgres user={user} sslmode={sslmode}",
        server.port()
    )
}

fn query(server: &TempServer, sql: &str) -> String {
    server.run_sql(sql).unwrap().trim().to_owned()
}

#[test]
fn two_servers_run_at_once() {
    let a = TempServer::start().unwrap();
    let b = TempServer::start().unwrap();
    assert_ne!(a.port(), b.port());
    assert_ne!(a.data_dir(), b.data_dir());
    assert_eq!(query(&a, "SELECT 1"), "1");
    assert_eq!(query(&b, "SELECT 1"), "1");
    // They are separate clusters.
    a.run_sql("CREATE TABLE only_in_a (x int)").unwrap();
    assert_eq!(query(&b, "SELECT to_regclass('only_in_a') IS NULL"), "t");

    let num: u32 = query(&a, "SHOW server_version_num").parse().unwrap();
    assert_eq!(
        (num / 10000, num % 100),
        (a.version().major, a.version().minor)
    );
    assert_eq!(query(&a, "SHOW port"), a.port().to_string());
    assert_eq!(query(&a, "SHOW max_connections"), "200");
    assert_eq!(query(&a, "SHOW max_prepared_transactions"), "10");
    assert_eq!(query(&a, "SHOW fsync"), "off");
    assert_eq!(query(&a, "SHOW server_encoding"), "UTF8");
    assert_eq!(query(&a, "SHOW TimeZone"), "UTC");
    assert!(
        a.socket_dir()
            .join(format!(".s.PGSQL.{}", a.port()))
            .exists()
    );
    assert_eq!(
        a.url(),
        format!(
            "postgres://postgres@127.0.0.1:{}/postgres?sslmode=disable",
            a.port()
        )
    );
    assert_eq!(
        a.url_for("quarry_scram", "p@ss word"),
        format!(
            "postgres://quarry_scram:p%40ss%20word@127.0.0.1:{}/postgres?sslmode=disable",
            a.port()
        )
    );
}

#[test]
fn drop_stops_the_server_and_removes_its_files() {
    let server = TempServer::start().unwrap();
    let pid = server.postmaster_pid().unwrap();
    let reaper = server.reaper_pid().unwrap();
    let root = server.root_dir().to_path_buf();
    assert!(alive(pid) && alive(reaper) && root.is_dir());
    assert!(server.data_dir().starts_with(&root) && server.socket_dir().starts_with(&root));
    drop(server);
    assert!(!alive(pid), "the postmaster {pid} outlived its TempServer");
    assert!(
        !alive(reaper),
        "the reaper {reaper} outlived its TempServer"
    );
    assert!(!root.exists(), "{} outlived its TempServer", root.display());
}

/// Not a test of its own: the body of the child process that the reaper tests start.
#[test]
fn reaper_child() {
    let Some(mode) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let server = TempServer::start().unwrap();
    println!("ROOT={}", server.root_dir().display());
    println!("PID={}", server.postmaster_pid().unwrap());
    println!("REAPER={}", server.reaper_pid().unwrap());
    if mode == "exit" {
        // As a `static` would be: never dropped.
        std::process::exit(0);
    }
    std::thread::sleep(Duration::from_secs(300));
}

/// Starts this test binary as a child that starts a server and then exits without dropping
/// it (`exit`) or is killed with SIGKILL (`kill`); the server must disappear anyway.
fn reaper_cleans_up(mode: &str) {
    /// Kills the child if an assertion fails before it ended (it would sleep for minutes).
    struct Reap(std::process::Child);
    impl Drop for Reap {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["reaper_child", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, mode)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut child = Reap(child);
    let (mut root, mut pid, mut reaper) = (None, None, None);
    // libtest prints "test reaper_child ... " before the child's own output.
    let lines = BufReader::new(stdout).lines();
    for line in lines {
        let line = line.unwrap();
        let value = |key: &str| line.find(key).map(|at| line[at + key.len()..].to_owned());
        if let Some(value) = value("ROOT=") {
            root = Some(PathBuf::from(value));
        } else if let Some(value) = value("PID=") {
            pid = Some(value.parse::<u32>().unwrap());
        } else if let Some(value) = value("REAPER=") {
            reaper = Some(value.parse::<u32>().unwrap());
            break;
        }
    }
    let (Some(root), Some(pid), Some(reaper)) = (root, pid, reaper) else {
        panic!("the child did not report its server (see its output above)");
    };
    assert!(alive(pid) && root.is_dir());
    if mode == "kill" {
        child.0.kill().unwrap();
    }
    child.0.wait().unwrap();
    assert!(
        wait_until(Duration::from_secs(30), || !alive(pid)
            && !root.exists()
            && !alive(reaper)),
        "after the child ended ({mode}): postmaster alive {}, {} exists {}, reaper alive {}",
        alive(pid),
        root.display(),
        root.exists(),
        alive(reaper)
    );
}

#[test]
fn reaper_cleans_up_when_the_process_exits_without_dropping() {
    reaper_cleans_up("exit");
}

#[test]
fn reaper_cleans_up_when_the_process_is_killed() {
    reaper_cleans_up("kill");
}

#[test]
fn missing_binaries_error_names_every_place_searched() {
    let env = SearchEnv::empty()
        .var("PATH", "/nonexistent/quarry-a:/nonexistent/quarry-b")
        .versioned_root("/nonexistent/quarry-debian")
        .fallback_dir("/nonexistent/quarry-pgsql/bin");
    let err = ServerBinaries::locate_with(&env).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    let message = err.to_string();
    for expected in [
        "initdb, postgres, pg_ctl",
        "QUARRY_PG_BINDIR (not set)",
        "/nonexistent/quarry-a",
        "/nonexistent/quarry-b",
        "pg_config --bindir (no pg_config on PATH)",
        "/nonexistent/quarry-debian/<version>/bin",
        "/nonexistent/quarry-pgsql/bin",
        "apt-get install postgresql",
        "set QUARRY_PG_BINDIR",
    ] {
        assert!(message.contains(expected), "{expected:?} not in: {message}");
    }

    // A QUARRY_PG_BINDIR that holds nothing is an error, not a reason to look elsewhere.
    let real = ServerBinaries::locate().unwrap();
    let empty = std::env::temp_dir();
    let env = SearchEnv::empty()
        .var(BINDIR_VAR, empty.as_os_str())
        .var("PATH", real.bindir().as_os_str());
    let err = ServerBinaries::locate_with(&env).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    let message = err.to_string();
    assert!(
        message.contains("QUARRY_PG_BINDIR=")
            && message.contains("missing: initdb, postgres, pg_ctl"),
        "{message}"
    );
}

#[test]
fn search_follows_path_links_and_picks_the_newest_version() {
    let real = ServerBinaries::locate().unwrap();
    let scratch = std::env::temp_dir().join(format!("quarry-search-test-{}", std::process::id()));
    let _ = fs::remove_dir_all(&scratch);

    // A PATH directory of symbolic links (like /usr/local/bin) resolves to the real directory.
    let links = scratch.join("links");
    fs::create_dir_all(&links).unwrap();
    for name in ["initdb", "postgres", "pg_ctl"] {
        std::os::unix::fs::symlink(real.bindir().join(name), links.join(name)).unwrap();
    }
    let path = std::env::join_paths([scratch.join("nothing-here"), links.clone()]).unwrap();
    let found = ServerBinaries::locate_with(&SearchEnv::empty().var("PATH", path)).unwrap();
    assert_eq!(found.bindir(), real.bindir());
    assert_eq!(found.version(), real.version());

    // Debian's layout: the newest <version>/bin that holds the programs wins; 100 is empty.
    let debian = scratch.join("debian");
    fs::create_dir_all(debian.join("100").join("bin")).unwrap();
    fs::create_dir_all(debian.join("9")).unwrap();
    std::os::unix::fs::symlink(&links, debian.join("9").join("bin")).unwrap();
    let env = SearchEnv::empty().versioned_root(&debian);
    assert_eq!(
        ServerBinaries::locate_with(&env).unwrap().bindir(),
        real.bindir()
    );

    // An empty QUARRY_PG_BINDIR counts as unset.
    let env = SearchEnv::empty()
        .var(BINDIR_VAR, "")
        .var("PATH", links.as_os_str());
    assert_eq!(
        ServerBinaries::locate_with(&env).unwrap().bindir(),
        real.bindir()
    );

    // QUARRY_PG_BINDIR comes first.
    let env = SearchEnv::empty()
        .var(BINDIR_VAR, links.as_os_str())
        .var("PATH", "/nonexistent");
    assert_eq!(
        ServerBinaries::locate_with(&env).unwrap().bindir(),
        real.bindir()
    );
    fs::remove_dir_all(&scratch).unwrap();
}

#[test]
fn every_role_authenticates_with_its_method() {
    let server = TempServer::builder()
        .setting("log_connections", "on")
        .start()
        .unwrap();
    // PostgreSQL 14 and later log the method that authenticated a session.
    let logs_method = server.version().major >= 14;
    let check_logged = |role: &str, method: &str| {
        if logs_method {
            let wanted = format!("identity=\"{role}\" method={method}");
            assert!(
                wait_until(Duration::from_secs(10), || server
                    .log_tail(200)
                    .contains(&wanted)),
                "{wanted} not in the log:\n{}",
                server.log_tail(30)
            );
        }
    };

    for role in [roles::SUPERUSER, roles::TRUST] {
        let out = psql(
            &server,
            &tcp(&server, role.name, "disable"),
            None,
            "SELECT current_user",
        );
        assert_eq!(stdout(&out), role.name);
        let socket = format!(
            "host={} port={} dbname=postgres user={}",
            server.socket_dir().display(),
            server.port(),
            role.name
        );
        assert_eq!(
            stdout(&psql(&server, &socket, None, "SELECT current_user")),
            role.name
        );
    }

    for role in [roles::PASSWORD, roles::MD5, roles::SCRAM, roles::NOSSL] {
        let password = role.password.unwrap();
        let conninfo = tcp(&server, role.name, "disable");
        let out = psql(&server, &conninfo, Some(password), "SELECT current_user");
        assert_eq!(stdout(&out), role.name);
        check_logged(role.name, role.method);
        let out = psql(&server, &conninfo, Some("wrong"), "SELECT 1");
        assert!(
            stderr(&out).contains("password authentication failed"),
            "{}: {}",
            role.name,
            stderr(&out)
        );
        let out = psql(&server, &conninfo, None, "SELECT 1");
        assert!(
            stderr(&out).contains("no password supplied"),
            "{}",
            stderr(&out)
        );
    }

    // How the passwords are stored decides which methods can use them.
    let stored = query(
        &server,
        "SELECT rolname || '=' || left(rolpassword, 14) FROM pg_authid \
         WHERE rolname IN ('quarry_md5', 'quarry_scram') ORDER BY rolname",
    );
    let mut stored = stored.lines();
    assert!(stored.next().unwrap().starts_with("quarry_md5=md5"));
    assert_eq!(stored.next().unwrap(), "quarry_scram=SCRAM-SHA-256$");
    assert_eq!(
        query(
            &server,
            "SELECT count(*) FROM pg_roles WHERE rolname LIKE 'quarry\\_%' AND rolcanlogin AND rolcreatedb"
        ),
        roles::ALL.len().to_string()
    );

    // Over the Unix socket SCRAM applies too.
    let socket = format!(
        "host={} port={} dbname=postgres user={}",
        server.socket_dir().display(),
        server.port(),
        roles::SCRAM.name
    );
    assert_eq!(
        stdout(&psql(
            &server,
            &socket,
            roles::SCRAM.password,
            "SELECT current_user"
        )),
        roles::SCRAM.name
    );
    assert!(
        stderr(&psql(&server, &socket, Some("wrong"), "SELECT 1"))
            .contains("password authentication failed")
    );

    // quarry_ssl_only: rejected in plaintext, accepted over TLS with its password.
    let plain = tcp(&server, roles::SSL_ONLY.name, "disable");
    let out = psql(&server, &plain, roles::SSL_ONLY.password, "SELECT 1");
    assert!(
        stderr(&out).contains("rejects connection"),
        "{}",
        stderr(&out)
    );
    let tls = tcp(&server, roles::SSL_ONLY.name, "require");
    let out = psql(
        &server,
        &tls,
        roles::SSL_ONLY.password,
        "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
    );
    assert_eq!(stdout(&out), "t");
    check_logged(roles::SSL_ONLY.name, "scram-sha-256");
    assert!(
        stderr(&psql(&server, &tls, Some("wrong"), "SELECT 1"))
            .contains("password authentication failed")
    );

    // quarry_nossl: rejected over TLS.
    let tls = tcp(&server, roles::NOSSL.name, "require");
    let out = psql(&server, &tls, roles::NOSSL.password, "SELECT 1");
    assert!(
        stderr(&out).contains("rejects connection"),
        "{}",
        stderr(&out)
    );

    // quarry_cert: the client certificate logs in; without it, or without TLS, it fails.
    let cert = format!(
        "hostaddr=127.0.0.1 host=localhost port={} dbname=postgres user={} sslmode=verify-full \
         sslrootcert={} sslcert={} sslkey={}",
        server.port(),
        roles::CERT.name,
        server.ca_cert_path().display(),
        server.client_cert_path().display(),
        server.client_key_path().display()
    );
    assert_eq!(
        stdout(&psql(&server, &cert, None, "SELECT current_user")),
        roles::CERT.name
    );
    check_logged("CN=quarry_cert", "cert");
    let no_cert = format!(
        "hostaddr=127.0.0.1 host=localhost port={} dbname=postgres user={} sslmode=verify-full \
         sslrootcert={} sslcert=/nonexistent sslkey=/nonexistent",
        server.port(),
        roles::CERT.name,
        server.ca_cert_path().display()
    );
    let out = psql(&server, &no_cert, None, "SELECT 1");
    assert!(stderr(&out).contains("certificate"), "{}", stderr(&out));
    let out = psql(
        &server,
        &tcp(&server, roles::CERT.name, "disable"),
        None,
        "SELECT 1",
    );
    assert!(
        stderr(&out).contains("rejects connection"),
        "{}",
        stderr(&out)
    );

    let mode = fs::metadata(server.client_key_path())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let mode = fs::metadata(server.data_dir().join("server.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn tls_verifies_the_server_and_rejects_an_untrusted_ca_and_a_wrong_host() {
    let server = TempServer::builder()
        .also_listen_on("127.0.0.2")
        .start()
        .unwrap();
    assert!(server.tls_enabled());
    let verify = |hostaddr: &str, host: &str, mode: &str, root: &Path| {
        let conninfo = format!(
            "hostaddr={hostaddr} host={host} port={} dbname=postgres user=postgres \
             sslmode={mode} sslrootcert={}",
            server.port(),
            root.display()
        );
        psql(
            &server,
            &conninfo,
            None,
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
        )
    };
    let ca = server.ca_cert_path();
    assert_eq!(
        stdout(&verify("127.0.0.1", "localhost", "verify-full", &ca)),
        "t"
    );
    assert_eq!(
        stdout(&verify("127.0.0.1", "127.0.0.1", "verify-full", &ca)),
        "t"
    );

    let out = verify(
        "127.0.0.1",
        "localhost",
        "verify-full",
        &server.untrusted_ca_path(),
    );
    assert!(
        stderr(&out).contains("certificate verify failed"),
        "{}",
        stderr(&out)
    );

    // 127.0.0.2 reaches the server but is not in its certificate.
    assert_eq!(
        stdout(&verify("127.0.0.2", "127.0.0.2", "verify-ca", &ca)),
        "t"
    );
    let out = verify("127.0.0.2", "127.0.0.2", "verify-full", &ca);
    assert!(
        stderr(&out).contains("does not match host name"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn tls_can_be_turned_off() {
    let server = TempServer::builder().tls(false).start().unwrap();
    assert!(!server.tls_enabled());
    assert_eq!(query(&server, "SHOW ssl"), "off");
    let out = psql(
        &server,
        &tcp(&server, "postgres", "require"),
        None,
        "SELECT 1",
    );
    assert!(
        stderr(&out).contains("does not support SSL"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        stdout(&psql(
            &server,
            &tcp(&server, "postgres", "disable"),
            None,
            "SELECT 1"
        )),
        "1"
    );
    // The certificate files exist all the same.
    assert!(server.ca_cert_path().is_file() && server.client_key_path().is_file());
}

#[test]
fn standby_replicates_and_can_be_promoted() {
    let primary = TempServer::builder().replication(true).start().unwrap();
    primary
        .run_sql("CREATE TABLE replicated (x int); INSERT INTO replicated VALUES (1)")
        .unwrap();
    let standby = primary.start_standby().unwrap();
    assert_ne!(standby.port(), primary.port());
    assert!(standby.is_standby() && !primary.is_standby());
    assert_eq!(query(&standby, "SELECT pg_is_in_recovery()"), "t");
    assert_eq!(query(&primary, "SELECT pg_is_in_recovery()"), "f");

    primary
        .run_sql("INSERT INTO replicated VALUES (2)")
        .unwrap();
    assert!(
        wait_until(Duration::from_secs(30), || {
            query(
                &standby,
                "SELECT string_agg(x::text, ',' ORDER BY x) FROM replicated",
            ) == "1,2"
        }),
        "the row did not reach the standby"
    );
    let err = standby
        .run_sql("INSERT INTO replicated VALUES (3)")
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Database);
    assert!(err.to_string().contains("read-only transaction"), "{err}");

    standby.promote().unwrap();
    assert!(!standby.is_standby());
    assert_eq!(query(&standby, "SELECT pg_is_in_recovery()"), "f");
    standby
        .run_sql("INSERT INTO replicated VALUES (3)")
        .unwrap();
    assert_eq!(query(&standby, "SELECT count(*) FROM replicated"), "3");

    let plain = TempServer::start().unwrap();
    assert_eq!(plain.start_standby().unwrap_err().kind(), ErrorKind::Config);
}

#[test]
fn restarts_keep_data_and_reload_applies_settings() {
    let server = TempServer::start().unwrap();
    let port = server.port();
    server
        .run_sql("CREATE TABLE kept (x int); INSERT INTO kept VALUES (1)")
        .unwrap();

    let first = server.postmaster_pid().unwrap();
    server.restart_fast().unwrap();
    let second = server.postmaster_pid().unwrap();
    assert_ne!(first, second);
    assert!(!alive(first));
    server.run_sql("INSERT INTO kept VALUES (2)").unwrap();

    // Committed rows survive a crash (immediate shutdown, then recovery).
    server.restart_immediate().unwrap();
    assert!(!alive(second));
    assert_eq!(query(&server, "SELECT count(*) FROM kept"), "2");

    server.stop().unwrap();
    assert_eq!(server.postmaster_pid(), None);
    assert_eq!(
        server.run_sql("SELECT 1").unwrap_err().kind(),
        ErrorKind::Io
    );
    server.stop().unwrap();
    server.start_again().unwrap();
    assert_eq!(server.port(), port);
    assert_eq!(query(&server, "SELECT count(*) FROM kept"), "2");

    assert_eq!(query(&server, "SHOW work_mem"), "4MB");
    server.run_sql("ALTER SYSTEM SET work_mem = '7MB'").unwrap();
    assert_eq!(query(&server, "SHOW work_mem"), "4MB");
    server.reload().unwrap();
    assert_eq!(query(&server, "SHOW work_mem"), "7MB");
}

#[test]
fn builder_settings_and_hba_lines_apply() {
    let server = TempServer::builder()
        .setting("work_mem", "12MB")
        .setting("application_name", "it's quoted")
        .hba_line("host all quarry_scram 127.0.0.1/32 trust")
        .start()
        .unwrap();
    assert_eq!(query(&server, "SHOW work_mem"), "12MB");
    // The added line comes before the built-in SCRAM rule.
    let out = psql(
        &server,
        &tcp(&server, roles::SCRAM.name, "disable"),
        None,
        "SELECT current_user",
    );
    assert_eq!(stdout(&out), roles::SCRAM.name);

    let err = TempServer::builder()
        .setting("work mem", "1MB")
        .start()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    let err = TempServer::builder()
        .hba_line("local all all trust\nx")
        .start()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
}

#[test]
fn a_server_that_cannot_start_reports_its_log() {
    let err = TempServer::builder()
        .setting("work_mem", "lots")
        .start()
        .unwrap_err();
    let message = err.to_string();
    assert!(message.contains("work_mem"), "{message}");
    assert!(message.contains("Last lines of"), "{message}");
    assert!(message.contains("TempServer::builder()"), "{message}");
}

#[test]
fn run_sql_reports_failed_statements_as_database_errors() {
    let server = TempServer::start().unwrap();
    assert_eq!(
        query(&server, "SELECT 'a', 2 UNION ALL SELECT 'b', 3"),
        "a|2\nb|3"
    );
    let err = server.run_sql("SELECT 1/0").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Database);
    assert!(err.to_string().contains("division by zero"), "{err}");
    assert!(
        server
            .pg_bin("pg_ctl")
            .unwrap()
            .starts_with(server.bindir())
    );
    assert!(server.log_path().is_file());
}

#[test]
fn a_server_in_a_static_is_shared_by_threads() {
    // The usual pattern of a test binary; the reaper removes the server after the process.
    static SHARED: std::sync::OnceLock<TempServer> = std::sync::OnceLock::new();
    let server = SHARED.get_or_init(|| TempServer::start().unwrap());
    std::thread::scope(|scope| {
        let queries: Vec<_> = (0..4)
            .map(|i| scope.spawn(move || query(server, &format!("SELECT {i} * 10"))))
            .collect();
        for (i, query) in queries.into_iter().enumerate() {
            assert_eq!(query.join().unwrap(), (i * 10).to_string());
        }
    });
    std::thread::spawn(|| server.restart_fast().unwrap())
        .join()
        .unwrap();
    assert_eq!(query(server, "SELECT 42"), "42");
}
