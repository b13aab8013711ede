//! The proxy `QUARRY_TEST_PROXY=one-byte` puts in front of every [`TempServer`]: it
//! forwards both directions one byte per write (with `TCP_NODELAY`, so one byte per
//! segment), on the TCP addresses the server listens on and on a Unix socket in the
//! server's socket directory, all under the port [`TempServer::port`] then reports. Run a
//! test suite with it to check that nothing in the driver depends on how the stream is
//! cut into reads: the results must be the same.
//!
//! Threads, not tasks: a `TempServer` is used from synchronous code too. Two threads per
//! connection; a connection ends when either side closes, and the listeners when the
//! server is dropped.
//!
//! [`TempServer`]: super::TempServer
//! [`TempServer::port`]: super::TempServer::port

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use crate::failure::{Error, Result};

/// The environment variable that turns the proxy on, and its one value.
pub(super) const PROXY_VAR: &str = "QUARRY_TEST_PROXY";
const ONE_BYTE: &str = "one-byte";

/// Whether `QUARRY_TEST_PROXY` asks for the proxy; an unknown value is an error.
pub(super) fn wanted() -> Result<bool> {
    match std::env::var(PROXY_VAR) {
        Err(_) => Ok(false),
        Ok(v) if v.is_empty() => Ok(false),
        Ok(v) if v == ONE_BYTE => Ok(true),
        Ok(v) => Err(Error::config(format!(
            "{PROXY_VAR}={v:?}: the only proxy is \"{ONE_BYTE}\" (or leave it unset)"
        ))),
    }
}

/// A running proxy; stops listening when dropped.
#[derive(Debug)]
pub(super) struct OneByteProxy {
    port: u16,
    socket: PathBuf,
    stop: Arc<AtomicBool>,
    tcp: Vec<SocketAddr>,
}

impl OneByteProxy {
    /// Listens on each of `hosts` (TCP) and on `<socket_dir>/.s.PGSQL.<port>` under one
    /// free port, forwarding to `server_port` on the same host and to the server's socket.
    pub(super) fn start(hosts: &[String], socket_dir: &Path, server_port: u16) -> Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let mut last_error = None;
        for _ in 0..20 {
            match bind_all(hosts) {
                Ok(listeners) => {
                    let port = listeners[0].local_addr().map_err(io_error)?.port();
                    let socket = socket_dir.join(format!(".s.PGSQL.{port}"));
                    let unix = UnixListener::bind(&socket).map_err(|e| {
                        Error::io(format!("could not listen on {}", socket.display()), e)
                    })?;
                    let upstream_socket = socket_dir.join(format!(".s.PGSQL.{server_port}"));
                    let mut tcp = Vec::new();
                    for listener in listeners {
                        let addr = listener.local_addr().map_err(io_error)?;
                        tcp.push(addr);
                        let upstream = SocketAddr::new(addr.ip(), server_port);
                        let stop = stop.clone();
                        thread::spawn(move || accept_tcp(&listener, upstream, &stop));
                    }
                    let stop2 = stop.clone();
                    thread::spawn(move || accept_unix(&unix, &upstream_socket, &stop2));
                    return Ok(OneByteProxy {
                        port,
                        socket,
                        stop,
                        tcp,
                    });
                }
                Err(e) => last_error = Some(e),
            }
        }
        Err(Error::io(
            "could not find a port free on every address of the server for the one-byte proxy",
            last_error.unwrap_or_else(|| io::Error::other("no attempt")),
        ))
    }

    /// The port clients connect to.
    pub(super) fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for OneByteProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake each accepting thread so that it sees the flag.
        for addr in &self.tcp {
            let _ = TcpStream::connect_timeout(addr, Duration::from_secs(1));
        }
        let _ = UnixStream::connect(&self.socket);
        let _ = std::fs::remove_file(&self.socket);
    }
}

fn io_error(e: io::Error) -> Error {
    Error::io("the one-byte proxy could not read its own address", e)
}

/// One listener per host, all on the first one's port.
fn bind_all(hosts: &[String]) -> io::Result<Vec<TcpListener>> {
    let first = TcpListener::bind((hosts[0].as_str(), 0))?;
    let port = first.local_addr()?.port();
    let mut all = vec![first];
    for host in &hosts[1..] {
        all.push(TcpListener::bind((host.as_str(), port))?);
    }
    Ok(all)
}

fn accept_tcp(listener: &TcpListener, upstream: SocketAddr, stop: &AtomicBool) {
    for client in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(client) = client else { continue };
        thread::spawn(move || {
            match TcpStream::connect_timeout(&upstream, Duration::from_secs(10)) {
                Ok(server) => {
                    let _ = (client.set_nodelay(true), server.set_nodelay(true));
                    join(Box::new(client), Box::new(server));
                }
                // The server is down: close at once, as near to a refused connection as
                // an accepted one gets.
                Err(_) => drop(client),
            }
        });
    }
}

fn accept_unix(listener: &UnixListener, upstream: &Path, stop: &AtomicBool) {
    for client in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(client) = client else { continue };
        let upstream = upstream.to_owned();
        thread::spawn(move || match UnixStream::connect(&upstream) {
            Ok(server) => join(Box::new(client), Box::new(server)),
            Err(_) => drop(client),
        });
    }
}

/// A stream the proxy forwards: TCP or Unix.
trait Stream: Read + Write + Send {
    fn clone_stream(&self) -> io::Result<Box<dyn Stream>>;
    fn shut(&self, how: Shutdown);
}

impl Stream for TcpStream {
    fn clone_stream(&self) -> io::Result<Box<dyn Stream>> {
        Ok(Box::new(self.try_clone()?))
    }
    fn shut(&self, how: Shutdown) {
        let _ = self.shutdown(how);
    }
}

impl Stream for UnixStream {
    fn clone_stream(&self) -> io::Result<Box<dyn Stream>> {
        Ok(Box::new(self.try_clone()?))
    }
    fn shut(&self, how: Shutdown) {
        let _ = self.shutdown(how);
    }
}

/// Forwards both ways until both sides have closed.
fn join(client: Box<dyn Stream>, server: Box<dyn Stream>) {
    let (Ok(client2), Ok(server2)) = (client.clone_stream(), server.clone_stream()) else {
        return;
    };
    let up = thread::spawn(move || pump(client, server2));
    pump(server, client2);
    let _ = up.join();
}

/// Copies `from` to `to` one byte per write; at the end of `from` closes `to`'s writing
/// side, after an error both sides.
fn pump(mut from: Box<dyn Stream>, mut to: Box<dyn Stream>) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) => {
                to.shut(Shutdown::Write);
                return;
            }
            Ok(n) => {
                for b in &buf[..n] {
                    if to.write_all(std::slice::from_ref(b)).is_err() {
                        from.shut(Shutdown::Both);
                        return;
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => {
                to.shut(Shutdown::Both);
                from.shut(Shutdown::Both);
                return;
            }
        }
    }
}
