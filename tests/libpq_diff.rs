//! Quarry against libpq 18, case by case: every case of
//! `tests/fixtures/libpq18_outcomes.txt` (connection strings, authentication methods ×
//! `sslmode`, certificates of both X.509 versions, several hosts, the environment, the
//! service file and `.pgpass`) must end as libpq 18 ended it, or as the case's recorded
//! deliberate difference says.
//!
//! The table is recorded from libpq itself by `scripts/libpq-diff.py`, which runs this
//! binary's `serve_for_the_reference_script` to get the same servers (see the script).

mod support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use quarry::temp_server::CertificateStyle;
use quarry::{ConnectOptions, Connection, Error, ErrorKind, TempServer, query_scalar};

const TABLE: &str = include_str!("fixtures/libpq18_outcomes.txt");

/// The servers the cases name, and the files they use.
struct Servers {
    tls: &'static TempServer,
    v1: TempServer,
    cn: TempServer,
    plain: TempServer,
    primary: TempServer,
    standby: TempServer,
    /// PgBouncer (md5, TLS offered with the `tls` server's certificate) in front of `tls`.
    bouncer: support::pgbouncer::PgBouncer,
    /// Ports nothing listens on, and one that accepts and never answers.
    dead: u16,
    dead2: u16,
    silent: std::net::TcpListener,
    dir: PathBuf,
}

fn servers() -> &'static Servers {
    static SERVERS: OnceLock<Servers> = OnceLock::new();
    SERVERS.get_or_init(|| {
        let start = |b: quarry::temp_server::Builder, what: &str| {
            b.start()
                .unwrap_or_else(|e| panic!("start the {what} server: {e:#}"))
        };
        let primary = start(TempServer::builder().replication(true), "primary");
        let standby = primary.start_standby().expect("start the standby");
        let dead = || {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let tls = support::server();
        let data = tls.data_dir();
        let bouncer = support::pgbouncer::PgBouncer::start_with(
            tls,
            "",
            "\"quarry_md5\" \"quarry-md5-pw\"\n\"quarry_scram\" \"quarry-scram-pw\"\n",
            &format!(
                "auth_type = md5\npool_mode = session\nclient_tls_sslmode = allow\n\
                 client_tls_cert_file = {}\nclient_tls_key_file = {}\n",
                data.join("server.crt").display(),
                data.join("server.key").display()
            ),
        );
        let dir = std::env::temp_dir().join(format!("quarry-libpq-diff-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Servers {
            tls,
            bouncer,
            v1: start(
                TempServer::builder().certificates(CertificateStyle::V1),
                "v1",
            ),
            cn: start(
                TempServer::builder().certificates(CertificateStyle::V3CommonNameOnly),
                "CN-only",
            ),
            plain: start(TempServer::builder().tls(false), "plaintext"),
            primary,
            standby,
            dead: dead(),
            dead2: dead(),
            silent: std::net::TcpListener::bind("127.0.0.1:0").unwrap(),
            dir,
        }
    })
}

impl Servers {
    fn named(&self) -> [(&'static str, &TempServer); 6] {
        [
            ("tls", self.tls),
            ("v1", &self.v1),
            ("cn", &self.cn),
            ("plain", &self.plain),
            ("primary", &self.primary),
            ("standby", &self.standby),
        ]
    }

    /// `{name}` → value for the connection strings, writing the files they name.
    fn placeholders(&self) -> HashMap<String, String> {
        let mut map = HashMap::new();
        let path = |p: PathBuf| p.display().to_string();
        for (name, s) in self.named() {
            map.insert(name.to_owned(), s.port().to_string());
            map.insert(format!("{name}.ca"), path(s.ca_cert_path()));
            map.insert(format!("{name}.untrusted"), path(s.untrusted_ca_path()));
            map.insert(format!("{name}.client_cert"), path(s.client_cert_path()));
            map.insert(format!("{name}.client_key"), path(s.client_key_path()));
        }
        map.insert("bouncer".into(), self.bouncer.port.to_string());
        map.insert("dead".into(), self.dead.to_string());
        map.insert("dead2".into(), self.dead2.to_string());
        let silent = self.silent.local_addr().unwrap().port();
        map.insert("silent".into(), silent.to_string());
        let tls = self.tls.port();
        let pgpass = self.dir.join("pgpass");
        write_private(
            &pgpass,
            &format!(
                "# exact line, then wildcards\n127.0.0.1:{tls}:postgres:quarry_md5:quarry-md5-pw\n\
                 *:*:*:quarry_scram:quarry-scram-pw\n"
            ),
        );
        map.insert("pgpass".into(), path(pgpass));
        let service = self.dir.join("pg_service.conf");
        write_private(
            &service,
            &format!(
                "[diff]\nhost=127.0.0.1\nport={tls}\nuser=quarry_scram\n\
                 password=quarry-scram-pw\ndbname=postgres\nsslmode=require\n"
            ),
        );
        map.insert("servicefile".into(), path(service));
        map.insert("home".into(), path(self.dir.clone()));
        map
    }

    fn name_of_port(&self, port: u16) -> String {
        if port == self.dead {
            return "dead".into();
        }
        if port == self.dead2 {
            return "dead2".into();
        }
        if port == self.silent.local_addr().unwrap().port() {
            return "silent".into();
        }
        if port == self.bouncer.port {
            return "bouncer".into();
        }
        self.named()
            .iter()
            .find(|(_, s)| s.port() == port)
            .map_or_else(|| format!("port {port}"), |(n, _)| (*n).to_owned())
    }
}

fn write_private(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

fn fill(template: &str, values: &HashMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}').expect("unclosed {") + open;
        let key = &rest[open + 1..close];
        out.push_str(
            values
                .get(key)
                .unwrap_or_else(|| panic!("unknown placeholder {{{key}}}")),
        );
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

/// One line of the table.
struct Case<'a> {
    name: &'a str,
    env: &'a str,
    conninfo: &'a str,
    libpq: &'a str,
    quarry: Option<&'a str>,
}

fn cases() -> Vec<Case<'static>> {
    TABLE
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let f: Vec<&str> = l.split(" | ").map(str::trim).collect();
            assert_eq!(f.len(), 5, "a table line needs 5 fields: {l}");
            Case {
                name: f[0],
                env: f[1],
                conninfo: f[2],
                libpq: f[3],
                quarry: (f[4] != "-").then_some(f[4]),
            }
        })
        .collect()
}

/// The last `127.0.0.x:PORT` an error names: the last server tried.
fn last_port(text: &str) -> Option<u16> {
    let mut found = None;
    let mut rest = text;
    while let Some(i) = rest.find("127.0.0.") {
        rest = &rest[i + 8..];
        if let Some(colon) = rest.find(':') {
            let digits: String = rest[colon + 1..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            if colon <= 3 && !digits.is_empty() {
                found = digits.parse().ok();
            }
        }
    }
    found
}

fn class_of(e: &Error) -> String {
    if let Some(code) = e.code() {
        return code.code().to_owned();
    }
    match e.kind() {
        ErrorKind::Tls => "tls",
        ErrorKind::Io => "io",
        ErrorKind::Timeout => "timeout",
        ErrorKind::Authentication => "auth",
        ErrorKind::ServerRole => "tsa",
        ErrorKind::Config => "config",
        other => return format!("{other:?}"),
    }
    .to_owned()
}

async fn quarry_outcome(s: &Servers, case: &Case<'_>, values: &HashMap<String, String>) -> String {
    let mut env: HashMap<String, String> = HashMap::new();
    env.insert("HOME".into(), values["home"].clone());
    if case.env != "-" {
        for pair in case.env.split_whitespace() {
            let (k, v) = pair.split_once('=').expect("NAME=value");
            env.insert(k.to_owned(), fill(v, values));
        }
    }
    let conninfo = fill(case.conninfo, values);
    let opts = match ConnectOptions::parse_with_env(&conninfo, |k| env.get(k).cloned()) {
        Ok(o) => o,
        Err(e) => return format!("err {}", class_of(&e)),
    };
    let opts = if opts.get_connect_timeout() == Some(Duration::from_secs(30)) {
        opts.connect_timeout(Duration::from_secs(10))
    } else {
        opts
    };
    match Connection::connect_with(&opts).await {
        Ok(mut conn) => {
            let port: i32 = query_scalar("SELECT inet_server_port()")
                .fetch_one(&mut conn)
                .await
                .expect("inet_server_port");
            let tls = if conn.is_tls() { "tls" } else { "plain" };
            let _ = conn.close().await;
            format!("ok {tls} @{}", s.name_of_port(u16::try_from(port).unwrap()))
        }
        Err(e) => {
            let text = e.display_chain().to_string();
            match last_port(&text) {
                Some(port) => format!("err {} @{}", class_of(&e), s.name_of_port(port)),
                None => format!("err {}", class_of(&e)),
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quarry_ends_every_case_as_libpq_18_does() {
    let s = servers();
    let values = s.placeholders();
    let cases = cases();
    assert!(cases.len() >= 100, "the table lost cases: {}", cases.len());
    let mut mismatches = Vec::new();
    for case in &cases {
        assert_ne!(
            case.libpq, "?",
            "{}: not recorded yet: run scripts/libpq-diff.py",
            case.name
        );
        let want = case.quarry.unwrap_or(case.libpq);
        let got = quarry_outcome(s, case, &values).await;
        if got != want {
            mismatches.push(format!(
                "{}: libpq 18 `{}`, expected `{want}`, Quarry `{got}`",
                case.name, case.libpq
            ));
        }
    }
    // The pgpass and service files (the servers go with the process).
    let _ = std::fs::remove_dir_all(&s.dir);
    assert!(
        mismatches.is_empty(),
        "{} of {} cases differ:\n{}",
        mismatches.len(),
        cases.len(),
        mismatches.join("\n")
    );
}

/// For `scripts/libpq-diff.py` only: with `QUARRY_LIBPQ_SERVE=<file>`, starts the
/// servers, writes the placeholders to `<file>` (`name<TAB>value` lines, then `ready`), and keeps
/// the servers up until the script removes the file (at most 30 minutes). Without the
/// variable it checks that the placeholders cover every case.
#[test]
fn serve_for_the_reference_script() {
    let Some(file) = std::env::var_os("QUARRY_LIBPQ_SERVE") else {
        let keys: Vec<String> = cases()
            .iter()
            .flat_map(|c| [c.conninfo, c.env])
            .flat_map(|t| {
                t.split('{')
                    .skip(1)
                    .map(|p| p.split('}').next().unwrap_or("").to_owned())
            })
            .collect();
        assert!(keys.iter().all(|k| !k.is_empty()), "an empty placeholder");
        return;
    };
    let s = servers();
    let values = s.placeholders();
    let mut text: String = values.iter().map(|(k, v)| format!("{k}\t{v}\n")).collect();
    text.push_str("ready\t1\n");
    let file = PathBuf::from(file);
    std::fs::write(&file, text).unwrap();
    for _ in 0..1800 {
        if !file.exists() {
            break;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    let _ = std::fs::remove_dir_all(&s.dir);
}
