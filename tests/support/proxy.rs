//! A fault-injecting TCP proxy to put in front of a real server (a `TempServer`): what a
//! network does to a healthy server. Modes (see [`Fault`]): pass, delay, split into
//! 1-byte writes, cut after N bytes in one direction (FIN or RST), black hole; and
//! [`Proxy::reset_all`] kills every connection with an RST.
//!
//! The mode is shared by every connection through the proxy and can be changed at any
//! time; a cut counts the bytes forwarded since it was set. Each direction of each
//! connection is its own task, so neither side's writes can block the other's.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A direction of the traffic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    /// From the client (the driver) to the server.
    ToServer,
    /// From the server to the client.
    ToClient,
}

/// What the proxy does to the bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Forward as they come.
    Pass,
    /// Wait this long before forwarding each chunk read.
    Delay(Duration),
    /// Forward one byte per write.
    OneByte,
    /// Forward nothing in either direction and close nothing: a peer that stops
    /// answering (the sockets stay open; what the client sends is swallowed).
    BlackHole,
    /// Forward `after` more bytes in `dir`, then close both sides of the connection:
    /// with an RST if `reset`, else with a FIN. Bytes in the other direction pass.
    Cut { dir: Dir, after: u64, reset: bool },
}

/// Chunks read, each with the direction it went.
type Chunks = Vec<(Dir, Vec<u8>)>;

struct Shared {
    /// The mode and its epoch (bumped by every change, so a cut counts from its start).
    mode: Mutex<(u64, Fault)>,
    /// One kill switch per connection opened so far.
    kills: Mutex<Vec<watch::Sender<Kill>>>,
    accepted: AtomicU64,
    cuts: AtomicU64,
    forwarded: [AtomicU64; 2],
    /// Every chunk read, in the order the proxy read them, while recording.
    recording: Mutex<Option<Chunks>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kill {
    Alive,
    Fin,
    Reset,
}

/// The proxy: listens on a free port of 127.0.0.1 and forwards to `target`.
pub struct Proxy {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    accept: JoinHandle<()>,
}

impl Proxy {
    /// Starts forwarding to `target` (every accepted connection opens one to it).
    pub async fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy");
        let addr = listener.local_addr().expect("proxy address");
        let shared = Arc::new(Shared {
            mode: Mutex::new((0, Fault::Pass)),
            kills: Mutex::new(Vec::new()),
            accepted: AtomicU64::new(0),
            cuts: AtomicU64::new(0),
            forwarded: [AtomicU64::new(0), AtomicU64::new(0)],
            recording: Mutex::new(None),
        });
        let s = shared.clone();
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(target).await else {
                    continue;
                };
                s.accepted.fetch_add(1, Ordering::Relaxed);
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                let (kill_tx, kill_rx) = watch::channel(Kill::Alive);
                let kill_tx = Arc::new(kill_tx);
                s.kills.lock().unwrap().push((*kill_tx).clone());
                let (cr, cw) = client.into_split();
                let (sr, sw) = server.into_split();
                tokio::spawn(pump(
                    Dir::ToServer,
                    cr,
                    sw,
                    s.clone(),
                    kill_tx.clone(),
                    kill_rx.clone(),
                ));
                tokio::spawn(pump(Dir::ToClient, sr, cw, s.clone(), kill_tx, kill_rx));
            }
        });
        Proxy {
            addr,
            shared,
            accept,
        }
    }

    /// Changes what the proxy does, for every connection, from now on.
    pub fn set(&self, fault: Fault) {
        let mut mode = self.shared.mode.lock().unwrap();
        *mode = (mode.0 + 1, fault);
    }

    /// Closes every connection opened so far with an RST.
    pub fn reset_all(&self) {
        for k in self.shared.kills.lock().unwrap().iter() {
            let _ = k.send(Kill::Reset);
        }
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> u64 {
        self.shared.accepted.load(Ordering::Relaxed)
    }

    /// Connections cut by a [`Fault::Cut`] so far.
    pub fn cuts(&self) -> u64 {
        self.shared.cuts.load(Ordering::Relaxed)
    }

    /// Starts keeping every chunk read from either side, in the order read (a chunk is
    /// recorded before it is forwarded, so an answer always follows what it answers).
    pub fn record(&self) {
        *self.shared.recording.lock().unwrap() = Some(Vec::new());
    }

    /// Stops recording and returns the chunks.
    pub fn recorded(&self) -> Chunks {
        self.shared
            .recording
            .lock()
            .unwrap()
            .take()
            .unwrap_or_default()
    }

    /// Bytes forwarded in `dir` so far.
    pub fn forwarded(&self, dir: Dir) -> u64 {
        self.shared.forwarded[dir as usize].load(Ordering::Relaxed)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        for k in self.shared.kills.lock().unwrap().iter() {
            let _ = k.send(Kill::Fin);
        }
    }
}

/// Forwards `dir` of one connection until either side closes or the connection is killed.
async fn pump(
    dir: Dir,
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    shared: Arc<Shared>,
    kill_tx: Arc<watch::Sender<Kill>>,
    mut kill: watch::Receiver<Kill>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    let mut epoch = u64::MAX;
    let mut since = 0u64;
    let end = loop {
        let n = tokio::select! {
            r = from.read(&mut buf) => match r {
                Ok(0) | Err(_) => break Kill::Fin,
                Ok(n) => n,
            },
            _ = kill.changed() => break *kill.borrow(),
        };
        let (e, fault) = *shared.mode.lock().unwrap();
        if e != epoch {
            epoch = e;
            since = 0;
        }
        let chunk = &buf[..n];
        if let Some(r) = shared.recording.lock().unwrap().as_mut() {
            r.push((dir, chunk.to_vec()));
        }
        let sent = match fault {
            Fault::Pass => to.write_all(chunk).await.map(|()| n),
            Fault::Delay(d) => {
                tokio::time::sleep(d).await;
                to.write_all(chunk).await.map(|()| n)
            }
            Fault::OneByte => {
                let mut r = Ok(n);
                for b in chunk {
                    if let Err(e) = to.write_all(std::slice::from_ref(b)).await {
                        r = Err(e);
                        break;
                    }
                }
                r
            }
            Fault::BlackHole => Ok(0),
            Fault::Cut { dir: d, .. } if d != dir => to.write_all(chunk).await.map(|()| n),
            Fault::Cut { after, reset, .. } => {
                let allowed = usize::try_from(after.saturating_sub(since))
                    .unwrap_or(usize::MAX)
                    .min(n);
                let r = to.write_all(&chunk[..allowed]).await;
                since += allowed as u64;
                if r.is_ok() && since >= after {
                    shared.cuts.fetch_add(1, Ordering::Relaxed);
                    let how = if reset { Kill::Reset } else { Kill::Fin };
                    let _ = kill_tx.send(how);
                    break how;
                }
                r.map(|()| allowed)
            }
        };
        match sent {
            Ok(k) => {
                shared.forwarded[dir as usize].fetch_add(k as u64, Ordering::Relaxed);
            }
            Err(_) => break Kill::Fin,
        }
    };
    // Either side ending ends the connection: tell the other pump.
    let _ = kill_tx.send(if end == Kill::Reset {
        Kill::Reset
    } else {
        Kill::Fin
    });
    if end == Kill::Reset {
        // No FIN first (dropping a write half shuts it down): the last close sends the RST.
        // (`set_linger` is deprecated for blocking on drop with a non-zero linger; a zero
        // linger never blocks.)
        #[allow(deprecated)]
        let _ = from.as_ref().set_linger(Some(Duration::ZERO));
        #[allow(deprecated)]
        let _ = to.as_ref().set_linger(Some(Duration::ZERO));
        to.forget();
    } else {
        let _ = to.shutdown().await;
    }
}
