//! PgBouncer for the tests that need a pooler in front of a server: the binary from the
//! system (`apt-get install pgbouncer`), run as the `postgres` user when we are root.

use std::time::{Duration, Instant};

use super::unique;

/// PgBouncer in front of a `TempServer`, killed on drop.
pub struct PgBouncer {
    child: std::process::Child,
    pub port: u16,
    dir: std::path::PathBuf,
}

impl PgBouncer {
    /// In transaction mode, trusting every client, logging in to the server as `postgres`.
    pub fn start(backend: &quarry::TempServer) -> PgBouncer {
        PgBouncer::start_with(
            backend,
            "postgres",
            "\"postgres\" \"\"\n",
            "auth_type = trust\npool_mode = transaction\n",
        )
    }

    /// PgBouncer in front of `backend`, its database `postgres` logging in as `user`
    /// (empty: as the client), with this `userlist.txt` and these extra `[pgbouncer]`
    /// settings (`auth_type`, `pool_mode`, `client_tls_*`, ...).
    pub fn start_with(
        backend: &quarry::TempServer,
        user: &str,
        userlist: &str,
        settings: &str,
    ) -> PgBouncer {
        let program = ["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"]
            .into_iter()
            .map(std::path::PathBuf::from)
            .find(|p| p.exists())
            .or_else(|| {
                std::process::Command::new("sh")
                    .args(["-c", "command -v pgbouncer"])
                    .output()
                    .ok()
                    .filter(|o| o.status.success())
                    .map(|o| String::from_utf8_lossy(&o.stdout).trim().into())
            })
            .expect(
                "pgbouncer is not installed; this test needs it (Debian/Ubuntu: \
                 apt-get install -y pgbouncer)",
            );
        let dir = std::env::temp_dir().join(unique("quarry_pgbouncer"));
        std::fs::create_dir_all(&dir).unwrap();
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        std::fs::write(dir.join("userlist.txt"), userlist).unwrap();
        let user = if user.is_empty() {
            String::new()
        } else {
            format!(" user={user}")
        };
        std::fs::write(
            dir.join("pgbouncer.ini"),
            format!(
                "[databases]\n\
                 postgres = host=127.0.0.1 port={} dbname=postgres{user}\n\
                 [pgbouncer]\n\
                 listen_addr = 127.0.0.1\n\
                 listen_port = {port}\n\
                 unix_socket_dir =\n\
                 {settings}\
                 auth_file = {}\n\
                 default_pool_size = 4\n\
                 max_client_conn = 100\n\
                 logfile = {}\n\
                 pidfile =\n",
                backend.port(),
                dir.join("userlist.txt").display(),
                dir.join("pgbouncer.log").display(),
            ),
        )
        .unwrap();
        let mut command = std::process::Command::new(program);
        command
            .arg(dir.join("pgbouncer.ini"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        if is_root() {
            use std::os::unix::process::CommandExt;
            let (uid, gid) = postgres_ids();
            std::process::Command::new("chown")
                .arg("-R")
                .arg(format!("{uid}:{gid}"))
                .arg(&dir)
                .status()
                .unwrap();
            command.uid(uid).gid(gid);
        }
        let child = command.spawn().expect("start pgbouncer");
        let bouncer = PgBouncer { child, port, dir };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "pgbouncer did not listen within 10 s; its log:\n{}",
                bouncer.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        bouncer
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("pgbouncer.log")).unwrap_or_default()
    }
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn postgres_ids() -> (u32, u32) {
    let id = |flag: &str| -> u32 {
        let out = std::process::Command::new("id")
            .args([flag, "postgres"])
            .output()
            .expect("run id");
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .expect("a postgres system user (pgbouncer refuses to run as root)")
    };
    (id("-u"), id("-g"))
}
