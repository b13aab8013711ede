//! `cargo pgprepare migrate ...` end to end: the binary against a real server.
#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use quarry_driver::TempServer;

fn pgprepare(args: &[&str], database_url: Option<&str>) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cargo-pgprepare"));
    c.arg("pgprepare").args(args).env_remove("DATABASE_URL");
    if let Some(url) = database_url {
        c.env("DATABASE_URL", url);
    }
    c.output().expect("running cargo-pgprepare")
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn folder(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pgprepare-migrate-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    v.sort();
    v
}

#[test]
fn add_run_info_revert_end_to_end() {
    let server = TempServer::start().expect("starting the test server");
    let url = server.url();

    // add: a timestamp version in an empty folder, the next number in a numbered one.
    let fresh = folder("fresh");
    let o = pgprepare(
        &[
            "migrate",
            "add",
            "--source",
            fresh.to_str().unwrap(),
            "create users",
        ],
        None,
    );
    assert!(o.status.success(), "{}", text(&o));
    let created = names(&fresh);
    assert_eq!(created.len(), 1, "{created:?}");
    let (version, rest) = created[0].split_once('_').unwrap();
    assert!(
        version.len() == 14 && version.bytes().all(|b| b.is_ascii_digit()),
        "{created:?}"
    );
    assert_eq!(rest, "create_users.sql");

    let dir = folder("numbered");
    let src = dir.to_str().unwrap();
    std::fs::write(
        dir.join("0001_accounts.sql"),
        "CREATE TABLE accounts (id int8);\n",
    )
    .unwrap();
    let o = pgprepare(&["migrate", "add", "-r", "--source", src, "tags"], None);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        names(&dir),
        [
            "0001_accounts.sql",
            "0002_tags.down.sql",
            "0002_tags.up.sql"
        ]
    );
    std::fs::write(
        dir.join("0002_tags.up.sql"),
        "CREATE TABLE tags (name text);\n",
    )
    .unwrap();
    std::fs::write(dir.join("0002_tags.down.sql"), "DROP TABLE tags;\n").unwrap();

    // run (with --database-url), then info and revert (with DATABASE_URL).
    let o = pgprepare(
        &[
            "migrate",
            "run",
            "--dry-run",
            "--source",
            src,
            "--database-url",
            &url,
        ],
        None,
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("would apply 0001_accounts.sql"),
        "{}",
        text(&o)
    );
    let o = pgprepare(
        &["migrate", "run", "--source", src, "--database-url", &url],
        None,
    );
    assert!(o.status.success(), "{}", text(&o));
    let out = text(&o);
    assert!(out.contains("applied 0001_accounts.sql ("), "{out}");
    assert!(out.contains("applied 0002_tags.up.sql ("), "{out}");
    let o = pgprepare(&["migrate", "run", "--source", src], Some(&url));
    assert!(text(&o).contains("up to date"), "{}", text(&o));

    let o = pgprepare(&["migrate", "info", "--source", src], Some(&url));
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("applied  0002_tags.up.sql"),
        "{}",
        text(&o)
    );

    let o = pgprepare(&["migrate", "revert", "--source", src], Some(&url));
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("reverted 0002_tags.down.sql"),
        "{}",
        text(&o)
    );
    assert!(
        server
            .run_sql("SELECT to_regclass('tags') IS NULL")
            .unwrap()
            .contains('t')
    );
    let o = pgprepare(&["migrate", "info", "--source", src], Some(&url));
    assert!(
        text(&o).contains("pending  0002_tags.up.sql"),
        "{}",
        text(&o)
    );

    // An edited applied migration: refused, with the file named; exit status 2.
    std::fs::write(
        dir.join("0001_accounts.sql"),
        "CREATE TABLE accounts (id int4);\n",
    )
    .unwrap();
    let o = pgprepare(&["migrate", "run", "--source", src], Some(&url));
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("0001_accounts.sql was edited"),
        "{}",
        text(&o)
    );
    let o = pgprepare(&["migrate", "info", "--source", src], Some(&url));
    assert!(
        text(&o).contains("CHANGED  0001_accounts.sql"),
        "{}",
        text(&o)
    );

    // No database at all: a clear error.
    let o = pgprepare(&["migrate", "run", "--source", src], None);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("DATABASE_URL"), "{}", text(&o));
}

#[test]
fn temp_server_tries_the_migrations_and_reports_the_line() {
    let dir = folder("temp");
    let src = dir.to_str().unwrap();
    std::fs::write(dir.join("1_a.up.sql"), "CREATE TABLE a (x int);\n").unwrap();
    std::fs::write(dir.join("1_a.down.sql"), "DROP TABLE a;\n").unwrap();
    let o = pgprepare(
        &["migrate", "revert", "--temp-server", "--source", src],
        None,
    );
    assert!(o.status.success(), "{}", text(&o));
    let out = text(&o);
    assert!(
        out.contains("applied 1_a.up.sql") && out.contains("reverted 1_a.down.sql"),
        "{out}"
    );

    std::fs::write(
        dir.join("2_b.sql"),
        "CREATE TABLE b (x int);\nCREATE TABLE c (y nosuchtype);\n",
    )
    .unwrap();
    let o = pgprepare(&["migrate", "run", "--temp-server", "--source", src], None);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let out = text(&o);
    assert!(out.contains("migration 2_b.sql failed"), "{out}");
    assert!(
        out.contains("LINE 2: CREATE TABLE c (y nosuchtype);"),
        "{out}"
    );
}
