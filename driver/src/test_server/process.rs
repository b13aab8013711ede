//! Running the PostgreSQL programs as an unprivileged user, and the file-system chores
//! (private directories, copying a cluster, ownership).
//!
//! PostgreSQL refuses to run as root. When this process is root, every server program runs
//! as the `postgres` system user (or `nobody`) through `CommandExt::uid`/`gid`, and the
//! files the server reads are handed to that user with `chown`.

use std::ffi::OsStr;
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::failure::{Error, ErrorKind, Result};

/// Who the server programs run as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct RunAs {
    /// `(uid, gid)` to switch to, or `None` to run as this process.
    ids: Option<(u32, u32)>,
    /// The user's name, for messages.
    name: &'static str,
    /// This process's effective uid.
    euid: u32,
}

impl RunAs {
    /// This process's user, or the unprivileged `postgres`/`nobody` user when it is root.
    pub(super) fn detect() -> Result<RunAs> {
        static RUN_AS: OnceLock<std::result::Result<RunAs, String>> = OnceLock::new();
        RUN_AS
            .get_or_init(|| {
                let euid = effective_uid()
                    .map_err(|e| format!("could not tell which user this process runs as: {e}"))?;
                if euid != 0 {
                    return Ok(RunAs {
                        ids: None,
                        name: "the current user",
                        euid,
                    });
                }
                for name in ["postgres", "nobody"] {
                    if let Some((uid, gid)) = user_ids(name)
                        && uid != 0
                    {
                        return Ok(RunAs {
                            ids: Some((uid, gid)),
                            name,
                            euid,
                        });
                    }
                }
                Err(
                    "this process runs as root, which PostgreSQL refuses, and neither a \
                     `postgres` nor a `nobody` user exists to run the server as; create one \
                     (`useradd --system postgres`) or run the tests as an ordinary user"
                        .to_owned(),
                )
            })
            .clone()
            .map_err(Error::config)
    }

    /// The user's name, for messages.
    pub(super) fn name(&self) -> &'static str {
        self.name
    }

    /// Who made (and so owns) files this process creates, and who runs the server: part of
    /// the template cache key, since a template made as root cannot be read by another user.
    pub(super) fn key(&self) -> String {
        match self.ids {
            Some((uid, gid)) => format!("{} as {uid}:{gid}", self.euid),
            None => self.euid.to_string(),
        }
    }

    /// A command for `program` run as this user, with a clean `PG*` environment.
    pub(super) fn command(&self, program: impl AsRef<OsStr>, cwd: &Path) -> Command {
        let mut command = Command::new(program);
        if let Some((uid, gid)) = self.ids {
            command.uid(uid).gid(gid);
        }
        command.current_dir(cwd).env("LC_ALL", "C");
        clear_pg_env(&mut command);
        command
    }

    /// Makes `path` belong to this user (nothing to do when running as ourselves).
    pub(super) fn chown(&self, path: &Path) -> Result<()> {
        if let Some((uid, gid)) = self.ids {
            std::os::unix::fs::lchown(path, Some(uid), Some(gid)).map_err(|e| {
                Error::io(
                    format!("could not give {} to user {}", path.display(), self.name),
                    e,
                )
            })?;
        }
        Ok(())
    }

    /// Creates directory `path` with `mode`, owned by this user.
    pub(super) fn create_dir(&self, path: &Path, mode: u32) -> Result<()> {
        create_dir(path, mode)?;
        self.chown(path)
    }

    /// Writes `contents` to `path` with `mode`, owned by this user.
    pub(super) fn write_file(&self, path: &Path, contents: &[u8], mode: u32) -> Result<()> {
        write_file(path, contents, mode)?;
        self.chown(path)
    }

    /// Copies the tree at `from` to the new directory `to` (modes kept), owned by this user.
    pub(super) fn copy_tree(&self, from: &Path, to: &Path) -> Result<()> {
        copy_tree(from, to, &|path| self.chown(path))
    }
}

/// Removes `PGHOST`, `PGPORT`, `PGDATA`, `PGPASSWORD`... inherited from the caller, so the
/// programs use only the arguments we give them.
pub(super) fn clear_pg_env(command: &mut Command) {
    for (name, _) in std::env::vars_os() {
        if name.as_encoded_bytes().starts_with(b"PG") {
            command.env_remove(name);
        }
    }
}

/// The effective user id.
fn effective_uid() -> io::Result<u32> {
    Ok(nix::unistd::Uid::effective().as_raw())
}

/// `(uid, gid)` of the user `name`, from the system's user database (`getpwnam_r`: NSS
/// too, not only `/etc/passwd`).
fn user_ids(name: &str) -> Option<(u32, u32)> {
    let user = nix::unistd::User::from_name(name).ok()??;
    Some((user.uid.as_raw(), user.gid.as_raw()))
}

/// A number unique within this process.
pub(super) fn unique() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Creates a fresh directory `<parent>/<prefix>-<pid>-<n>-<nanos>` (mode 0755), with symbolic
/// links in `parent` resolved so the path matches what the server reports.
pub(super) fn fresh_dir(parent: &Path, prefix: &str) -> Result<PathBuf> {
    let parent = fs::canonicalize(parent)
        .map_err(|e| Error::io(format!("could not open {}", parent.display()), e))?;
    loop {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = parent.join(format!(
            "{prefix}-{}-{}-{nanos:08x}",
            std::process::id(),
            unique()
        ));
        match fs::DirBuilder::new().mode(0o755).create(&dir) {
            Ok(()) => {
                // The umask may have taken bits away; the server user must be able to enter.
                set_mode(&dir, 0o755)?;
                return Ok(dir);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(Error::io(
                    format!("could not create a directory in {}", parent.display()),
                    e,
                ));
            }
        }
    }
}

pub(super) fn create_dir(path: &Path, mode: u32) -> Result<()> {
    fs::DirBuilder::new()
        .mode(mode)
        .create(path)
        .map_err(|e| Error::io(format!("could not create {}", path.display()), e))?;
    set_mode(path, mode)
}

pub(super) fn write_file(path: &Path, contents: &[u8], mode: u32) -> Result<()> {
    let result = (|| {
        let mut file = fs::File::create(path)?;
        file.set_permissions(fs::Permissions::from_mode(mode))?;
        file.write_all(contents)
    })();
    result.map_err(|e| Error::io(format!("could not write {}", path.display()), e))
}

fn set_mode(path: &Path, mode: u32) -> Result<()> {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .map_err(|e| Error::io(format!("could not set the mode of {}", path.display()), e))
}

/// Copies the tree at `from` into the new directory `to`: directories and files keep their
/// modes, symbolic links are recreated; `own` is called on every path created.
pub(super) fn copy_tree(from: &Path, to: &Path, own: &dyn Fn(&Path) -> Result<()>) -> Result<()> {
    let io_err = |what: &str, path: &Path, e| Error::io(format!("{what} {}", path.display()), e);
    let meta = fs::symlink_metadata(from).map_err(|e| io_err("could not read", from, e))?;
    create_dir(to, meta.permissions().mode() & 0o7777)?;
    own(to)?;
    let entries = fs::read_dir(from).map_err(|e| io_err("could not read", from, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| io_err("could not read", from, e))?;
        let source = entry.path();
        let target = to.join(entry.file_name());
        let kind = entry
            .file_type()
            .map_err(|e| io_err("could not read", &source, e))?;
        if kind.is_dir() {
            copy_tree(&source, &target, own)?;
        } else if kind.is_symlink() {
            let link = fs::read_link(&source).map_err(|e| io_err("could not read", &source, e))?;
            std::os::unix::fs::symlink(link, &target)
                .map_err(|e| io_err("could not create", &target, e))?;
            own(&target)?;
        } else {
            fs::copy(&source, &target).map_err(|e| io_err("could not copy to", &target, e))?;
            own(&target)?;
        }
    }
    Ok(())
}

/// Removes a tree; a missing one is not an error.
pub(super) fn remove_tree(path: &Path) -> io::Result<()> {
    match fs::remove_dir_all(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Runs `command` to completion (stdin closed) and fails, quoting its output, unless it
/// exits with success. `what` names the step for the message.
pub(super) fn run(command: &mut Command, what: &str) -> Result<Output> {
    run_with_input(command, what, None)
}

/// [`run`] with `input` written to the program's standard input.
pub(super) fn run_with_input(
    command: &mut Command,
    what: &str,
    input: Option<&[u8]>,
) -> Result<Output> {
    let program = command.get_program().to_string_lossy().into_owned();
    command
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command
        .spawn()
        .map_err(|e| Error::io(format!("{what}: could not run {program}"), e))?;
    if let (Some(input), Some(mut stdin)) = (input, child.stdin.take()) {
        // A program that exits early closes the pipe; its exit status tells what happened.
        let _ = stdin.write_all(input);
    }
    let output = child
        .wait_with_output()
        .map_err(|e| Error::io(format!("{what}: {program} did not finish"), e))?;
    if output.status.success() {
        return Ok(output);
    }
    Err(Error::new(
        ErrorKind::Io,
        format!(
            "{what}: {program} failed ({}): {}",
            output.status,
            output_text(&output)
        ),
    ))
}

/// The program's standard error and output, trimmed, for a message.
pub(super) fn output_text(output: &Output) -> String {
    let mut text = String::from_utf8_lossy(&output.stderr).trim().to_owned();
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !stdout.trim().is_empty() {
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(stdout.trim());
    }
    if text.is_empty() {
        text.push_str("(no output)");
    }
    text
}

/// Whether process `pid` is alive (a zombie counts as gone). Reads `/proc`; without it the
/// answer is "gone".
pub(super) fn process_alive(pid: u32) -> bool {
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // The state follows the parenthesised command name, which may itself hold parentheses.
    let state = stat
        .rfind(')')
        .and_then(|end| stat.get(end + 1..))
        .and_then(|rest| rest.split_whitespace().next());
    !matches!(state, Some("Z" | "X" | "x") | None)
}

/// Waits until process `pid` is gone, for at most `limit`.
pub(super) fn wait_gone(pid: u32, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while process_alive(pid) {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}

/// The last `lines` lines of a text file (empty when it cannot be read).
pub(super) fn tail(path: &Path, lines: usize) -> String {
    let text = fs::read(path).unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::MetadataExt;

    use super::*;

    #[test]
    fn finds_users_in_the_system_database() {
        assert_eq!(user_ids("root"), Some((0, 0)));
        assert_eq!(user_ids("no-such-user-quarry"), None);
    }

    #[test]
    fn this_process_is_alive_and_a_finished_child_is_not() {
        assert!(process_alive(std::process::id()));
        let mut child = Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert!(!process_alive(pid));
    }

    #[test]
    fn effective_uid_matches_a_new_file_owner() {
        let dir = fresh_dir(&std::env::temp_dir(), "quarry-uid-test").unwrap();
        let file = dir.join("f");
        fs::write(&file, b"x").unwrap();
        let owner = fs::metadata(&file).unwrap().uid();
        remove_tree(&dir).unwrap();
        assert_eq!(effective_uid().unwrap(), owner);
    }

    #[test]
    fn tail_keeps_the_last_lines() {
        let dir = fresh_dir(&std::env::temp_dir(), "quarry-tail-test").unwrap();
        let file = dir.join("log");
        fs::write(&file, "a\nb\nc\n").unwrap();
        assert_eq!(tail(&file, 2), "b\nc");
        assert_eq!(tail(&file, 10), "a\nb\nc");
        assert_eq!(tail(&dir.join("missing"), 3), "");
        remove_tree(&dir).unwrap();
    }
}
