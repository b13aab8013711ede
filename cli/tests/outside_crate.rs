//! `tests/outside-crate/`, a crate that uses `quarry` as a user does, prepared and built
//! by `cargo pgprepare` and cargo in a scratch copy:
//!
//! - `quarry.toml` maps `public.order_status` to `crate::OrderStatus`, a type of the
//!   library; its integration test uses that column too, and `cargo pgprepare` (which
//!   checks `--all-targets`) must prepare it (issue 20, item 1);
//! - editing only `quarry.toml` must re-expand the queries (item 2);
//! - building Quarry's crates prints no warning into the user's build (item 7);
//! - a production build has no test server, and `#[quarry::test]` without the
//!   `temp-server` feature is one clear error (item 6).
#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// Copies the crate's sources (not `target/` nor `.pgprepare/`) to `to`, with its path
/// dependency on `quarry` made absolute and the workspace's lock file (the same versions,
/// nothing new to fetch).
fn copy_crate(from: &Path, to: &Path) {
    let _ = std::fs::remove_dir_all(to);
    for dir in ["src", "tests", "migrations"] {
        std::fs::create_dir_all(to.join(dir)).unwrap();
        for entry in std::fs::read_dir(from.join(dir)).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), to.join(dir).join(entry.file_name())).unwrap();
        }
    }
    std::fs::copy(from.join("quarry.toml"), to.join("quarry.toml")).unwrap();
    let manifest = std::fs::read_to_string(from.join("Cargo.toml")).unwrap();
    let root = repository();
    let manifest = manifest.replace("path = \"../..\"", &format!("path = {:?}", root));
    std::fs::write(to.join("Cargo.toml"), manifest).unwrap();
    std::fs::copy(root.join("Cargo.lock"), to.join("Cargo.lock")).unwrap();
}

fn cargo(dir: &Path, target: &Path, args: &[&str]) -> Output {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target)
        .env_remove("DATABASE_URL")
        .env_remove("PGPREPARE_WRITE")
        .env_remove("PGPREPARE_RUN")
        .output()
        .expect("running cargo")
}

#[test]
fn quarry_toml_types_work_in_every_target_and_an_edit_rebuilds() {
    let scratch = Path::new(env!("CARGO_TARGET_TMPDIR")).join("outside-crate");
    let dir = scratch.join("crate");
    let target = scratch.join("target");
    copy_crate(&repository().join("tests/outside-crate"), &dir);

    // Item 1: prepare against a throwaway server; this runs `cargo check --all-targets`,
    // so the integration test's queries (with `crate::OrderStatus` columns) must compile.
    let o = Command::new(env!("CARGO_BIN_EXE_cargo-pgprepare"))
        .args(["pgprepare", "--temp-server", "--migrations", "migrations"])
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("DATABASE_URL")
        .output()
        .expect("running cargo-pgprepare");
    assert!(o.status.success(), "{}", text(&o));
    let prepared = std::fs::read_dir(dir.join(".pgprepare")).unwrap().count();
    assert_eq!(
        prepared,
        3,
        "one file per query (lib: 1, tests: 2)\n{}",
        text(&o)
    );

    // Offline, every target builds, and Quarry's crates print no warning into the
    // user's build (item 7). Cargo replays a path dependency's warnings on a fresh
    // build too, so this holds whether or not they were compiled just now.
    let o = cargo(&dir, &target, &["build", "--all-targets"]);
    assert!(o.status.success(), "{}", text(&o));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!stderr.contains("warning"), "{stderr}");

    // Item 6: a production build (`quarry` with its default features) carries no test
    // server nor its certificate generator; `#[quarry::test]` there is one error that
    // names the feature.
    let o = cargo(
        &dir,
        &target,
        &["tree", "--edges", "normal", "--prefix", "none"],
    );
    assert!(o.status.success(), "{}", text(&o));
    let tree = String::from_utf8_lossy(&o.stdout);
    assert!(tree.contains("quarry-driver"), "{tree}");
    assert!(!tree.contains("rcgen"), "{tree}");
    std::fs::create_dir_all(dir.join("src/bin")).unwrap();
    std::fs::write(
        dir.join("src/bin/needs_feature.rs"),
        "#[quarry::test]\nasync fn t() {}\n\nfn main() {}\n",
    )
    .unwrap();
    let o = cargo(&dir, &target, &["build", "--bin", "needs_feature"]);
    assert!(!o.status.success(), "{}", text(&o));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("#[quarry::test] needs quarry's `temp-server` feature"),
        "{stderr}"
    );
    let errors = stderr.lines().filter(|l| l.starts_with("error")).count();
    assert_eq!(errors, 2, "one error, then cargo's summary: {stderr}");
    std::fs::remove_file(dir.join("src/bin/needs_feature.rs")).unwrap();

    // Item 2: only quarry.toml changes; the queries must be expanded again and see it.
    std::fs::write(
        dir.join("quarry.toml"),
        "[types]\n\"public.order_status\" = \"crate::NoSuchType\"\n",
    )
    .unwrap();
    let o = cargo(&dir, &target, &["check", "--all-targets", "--quiet"]);
    assert!(!o.status.success(), "a stale build:\n{}", text(&o));
    assert!(text(&o).contains("NoSuchType"), "{}", text(&o));
}
