//! The UI tests of the query macros (trybuild).
//!
//! - `ui/pass`, `ui/fail`: offline, from the checked-in `tests/.pgprepare/`
//!   (written from `tests/schema.sql`); `ui/missing`: offline, a query with no
//!   file.
//! - `ui/online`: against a `TempServer` with `tests/schema.sql` (server errors:
//!   syntax, unknown column, unknown table; and a pass case).
//!
//! `QUARRY_UI_PREPARE=1 cargo test -p quarry-macros --test ui` first writes
//! `tests/.pgprepare/` again from the schema (then runs everything).
//!
//! Each run is a child process of this one with its own environment
//! (`DATABASE_URL`, `PGPREPARE_*`), so nothing here changes the environment of
//! a running process.

use std::path::{Path, PathBuf};
use std::process::Command;

const ROLE: &str = "QUARRY_UI_ROLE";

fn main() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests");
    match std::env::var(ROLE).as_deref() {
        Ok("offline") => {
            let t = trybuild::TestCases::new();
            t.pass("tests/ui/pass/*.rs");
            t.compile_fail("tests/ui/fail/*.rs");
            t.compile_fail("tests/ui/missing/*.rs");
        }
        Ok("prepare") => {
            let t = trybuild::TestCases::new();
            t.pass("tests/ui/pass/*.rs");
            t.compile_fail("tests/ui/fail/*.rs");
        }
        Ok("online") => {
            let t = trybuild::TestCases::new();
            t.pass("tests/ui/online/pass/*.rs");
            t.compile_fail("tests/ui/online/fail/*.rs");
        }
        _ => parent(&dir),
    }
}

fn parent(dir: &Path) {
    let cache = dir.join(".pgprepare");
    stage_project_files(dir);
    let server = quarry::TempServer::start().expect("start a TempServer");
    server
        .run_sql(include_str!("schema.sql"))
        .expect("apply tests/schema.sql");
    let mut failed = Vec::new();
    let mut total = 3;
    if std::env::var_os("QUARRY_UI_PREPARE").is_none() {
        // The checked-in cache must say what the schema says now.
        total += 1;
        let scratch = std::env::temp_dir().join(format!("quarry-ui-{}", std::process::id()));
        let mut child = child("prepare");
        child
            .env("DATABASE_URL", server.url())
            .env("PGPREPARE_WRITE", &scratch);
        run(child, "describe", &mut failed);
        let drift = compare(&scratch, &cache);
        let _ = std::fs::remove_dir_all(&scratch);
        if !drift.is_empty() {
            eprintln!(
                "tests/.pgprepare differs from tests/schema.sql:\n  {}\n\
                 Run `QUARRY_UI_PREPARE=1 cargo test -p quarry-macros --test ui` and commit it.",
                drift.join("\n  ")
            );
            failed.push("cache".to_owned());
        }
    } else {
        if let Ok(entries) = std::fs::read_dir(&cache) {
            for e in entries.flatten() {
                let name = e.file_name();
                if name.to_string_lossy().starts_with("query-") {
                    std::fs::remove_file(e.path()).expect("clear tests/.pgprepare");
                }
            }
        }
        let mut child = child("prepare");
        child
            .env("DATABASE_URL", server.url())
            .env("PGPREPARE_WRITE", &cache);
        run(child, "prepare", &mut failed);
    }
    let mut offline = child("offline");
    offline
        .env("PGPREPARE_OFFLINE", "true")
        .env("PGPREPARE_OFFLINE_DIR", &cache)
        .env_remove("DATABASE_URL");
    run(offline, "offline", &mut failed);
    let mut online = child("online");
    online.env("DATABASE_URL", server.url());
    run(online, "online", &mut failed);
    println!(
        "ui: {} passed, {} failed",
        total - failed.len(),
        failed.len()
    );
    if !failed.is_empty() {
        eprintln!("failed UI runs: {}", failed.join(", "));
        std::process::exit(1);
    }
}

fn child(role: &str) -> Command {
    let mut cmd = Command::new(std::env::current_exe().expect("the test binary's path"));
    cmd.env(ROLE, role)
        .env_remove("PGPREPARE_OFFLINE")
        .env_remove("PGPREPARE_OFFLINE_DIR")
        .env_remove("PGPREPARE_WRITE");
    cmd
}

fn run(mut cmd: Command, name: &str, failed: &mut Vec<String>) {
    let status = cmd.status().expect("run the UI test child");
    if !status.success() {
        failed.push(name.to_owned());
    }
}

/// The test crates trybuild builds have its project directory as their
/// `CARGO_MANIFEST_DIR` (`<target>/tests/trybuild/quarry-macros`): put
/// `quarry.toml` and `queries/` there.
fn stage_project_files(dir: &Path) {
    let exe = std::env::current_exe().expect("the test binary's path");
    // <target>/<profile>/deps/ui-<hash>
    let target = exe
        .ancestors()
        .nth(3)
        .expect("the test binary lives in <target>/<profile>/deps");
    let project = target.join("tests").join("trybuild").join("quarry-macros");
    std::fs::create_dir_all(project.join("queries")).expect("create trybuild's project dir");
    std::fs::copy(dir.join("quarry.toml"), project.join("quarry.toml")).expect("copy quarry.toml");
    for e in std::fs::read_dir(dir.join("queries"))
        .expect("read tests/queries")
        .flatten()
    {
        std::fs::copy(e.path(), project.join("queries").join(e.file_name()))
            .expect("copy a query file");
    }
}

/// The differences between fresh descriptions and the cache, ignoring the OIDs
/// of user objects (they differ between databases).
fn compare(fresh: &Path, cache: &Path) -> Vec<String> {
    fn files(dir: &Path) -> std::collections::BTreeMap<String, serde_json::Value> {
        let mut out = std::collections::BTreeMap::new();
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with("query-") && name.ends_with(".json") {
                let text = std::fs::read_to_string(e.path()).unwrap_or_default();
                let mut v = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
                normalize(&mut v);
                out.insert(name, v);
            }
        }
        out
    }
    fn normalize(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(map) => {
                for (k, v) in map.iter_mut() {
                    if matches!(k.as_str(), "oid" | "table_oid")
                        && v.as_u64().is_some_and(|o| o >= 16384)
                    {
                        *v = serde_json::Value::from(0);
                    } else {
                        normalize(v);
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(normalize),
            _ => {}
        }
    }
    let (fresh, cache) = (files(fresh), files(cache));
    let mut out = Vec::new();
    for (name, v) in &fresh {
        match cache.get(name) {
            None => out.push(format!("missing {name}")),
            Some(old) if old != v => out.push(format!("stale {name}")),
            Some(_) => {}
        }
    }
    for name in cache.keys().filter(|k| !fresh.contains_key(*k)) {
        out.push(format!("extra {name}"));
    }
    out
}
