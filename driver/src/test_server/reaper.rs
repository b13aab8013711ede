//! Cleanup that survives the test process.
//!
//! Test binaries often keep a `TempServer` in a `static`, and statics are never dropped; a
//! test process may also be killed. So each server gets a tiny `sh` "reaper" whose standard
//! input is a pipe that only the `TempServer` holds (Rust opens it close-on-exec, so no
//! other child inherits it). When the pipe closes (the `TempServer` is dropped, the process
//! exits, or it is killed, even with SIGKILL), the reaper stops the postmaster with SIGQUIT
//! (immediate shutdown) and removes the server's directory. It runs in its own process
//! group so a Ctrl-C aimed at the tests does not kill it first.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};

use crate::failure::{Error, Result};

use super::process;

/// `$1` is the server's root directory, `$2` its data directory.
///
/// The postmaster's pid is read only after the pipe closes (a restart changes it), and it is
/// signalled only while `/proc/<pid>/cwd` is the data directory (the postmaster `chdir`s
/// there), so a recycled pid is never hit.
const SCRIPT: &str = r#"
root=$1
data=$2
while read -r _; do :; done
pid=$(sed -n 1p "$data/postmaster.pid" 2>/dev/null) || pid=
case $pid in '' | *[!0-9]*) pid= ;; esac
ours() { [ "$(readlink "/proc/$pid/cwd" 2>/dev/null)" = "$data" ]; }
if [ -n "$pid" ] && ours; then
    kill -QUIT "$pid" 2>/dev/null
    i=0
    while ours && [ "$i" -lt 300 ]; do
        sleep 0.05 2>/dev/null || sleep 1
        i=$((i + 1))
    done
    if ours; then kill -KILL "$pid" 2>/dev/null; fi
fi
rm -rf "$root"
"#;

/// The reaper process and the write end of its pipe.
#[derive(Debug)]
pub(super) struct Reaper {
    child: Child,
    pipe: Option<ChildStdin>,
}

impl Reaper {
    /// Starts a reaper for the server in `root` with data directory `data`.
    pub(super) fn spawn(root: &Path, data: &Path) -> Result<Reaper> {
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(SCRIPT)
            .arg("quarry-temp-server-reaper")
            .arg(root)
            .arg(data)
            .current_dir("/")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0);
        process::clear_pg_env(&mut command);
        let mut child = command
            .spawn()
            .map_err(|e| Error::io("could not start the TempServer cleanup process (sh)", e))?;
        let pipe = child.stdin.take();
        Ok(Reaper { child, pipe })
    }

    /// The reaper's process id.
    pub(super) fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Reaper {
    /// Closes the pipe (the reaper then cleans whatever is left) and waits for the reaper.
    fn drop(&mut self) {
        drop(self.pipe.take());
        let _ = self.child.wait();
    }
}
