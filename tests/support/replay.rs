//! A recorded session replayed by a scripted server: the server's bytes of a real
//! session (recorded through [`super::proxy::Proxy::record`]), sent back in the same
//! order, each after the client message it followed in the recording; optionally cut
//! after N bytes in either direction with a FIN or an RST.
//!
//! The fixture is text (`tests/fixtures/*.session`): `#` comments, `C <tag> <length>`
//! for a message the client sent (`-` for an untagged startup packet; the length is for
//! the reader, only the tag is checked), `S <hex>` for bytes the server sent.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use super::proxy::Dir;

/// One step of a recorded session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// The client sent a message with this tag (`None`: an untagged startup packet).
    Client { tag: Option<u8>, len: usize },
    /// The server sent these bytes.
    Server(Vec<u8>),
}

/// A recorded session.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recording {
    pub events: Vec<Event>,
}

/// The protocol codes of the untagged packets that come before the StartupMessage.
const SSL_REQUEST: u32 = 80_877_103;
const GSSENC_REQUEST: u32 = 80_877_104;

impl Recording {
    /// Frames the client's bytes into messages and places each server chunk after the
    /// client messages whole before it.
    pub fn from_chunks(chunks: &[(Dir, Vec<u8>)]) -> Recording {
        let mut events = Vec::new();
        let mut pending: Vec<u8> = Vec::new();
        let mut started = false;
        for (dir, bytes) in chunks {
            match dir {
                Dir::ToClient => match events.last_mut() {
                    Some(Event::Server(b)) => b.extend_from_slice(bytes),
                    _ => events.push(Event::Server(bytes.clone())),
                },
                Dir::ToServer => {
                    pending.extend_from_slice(bytes);
                    loop {
                        let (tag, at) = if started {
                            (pending.first().copied(), 1)
                        } else {
                            (None, 0)
                        };
                        if started && tag.is_none() {
                            break;
                        }
                        let Some(len) = pending.get(at..at + 4) else {
                            break;
                        };
                        let len = u32::from_be_bytes(len.try_into().unwrap()) as usize;
                        if pending.len() < at + len {
                            break;
                        }
                        if !started {
                            let code = pending
                                .get(4..8)
                                .map(|c| u32::from_be_bytes(c.try_into().unwrap()));
                            started = !matches!(code, Some(SSL_REQUEST | GSSENC_REQUEST));
                        }
                        events.push(Event::Client { tag, len: at + len });
                        pending.drain(..at + len);
                    }
                }
            }
        }
        assert!(pending.is_empty(), "a partial client message at the end");
        Recording { events }
    }

    /// The fixture text, after `header` (comment lines).
    pub fn to_text(&self, header: &str) -> String {
        let mut out = String::new();
        for line in header.lines() {
            out.push_str("# ");
            out.push_str(line);
            out.push('\n');
        }
        for e in &self.events {
            match e {
                Event::Client { tag, len } => {
                    let tag = tag.map_or('-', char::from);
                    out.push_str(&format!("C {tag} {len}\n"));
                }
                Event::Server(bytes) => {
                    // 64 bytes a line, so that a diff of a re-recording stays readable.
                    for piece in bytes.chunks(64) {
                        out.push_str("S ");
                        for b in piece {
                            out.push_str(&format!("{b:02x}"));
                        }
                        out.push('\n');
                    }
                }
            }
        }
        out
    }

    /// Reads a fixture written by [`to_text`](Self::to_text).
    pub fn parse(text: &str) -> Recording {
        let mut events: Vec<Event> = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let bad = || -> ! { panic!("session fixture, line {}: {line:?}", n + 1) };
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            match line.split_once(' ') {
                Some(("C", rest)) => {
                    let (tag, len) = rest.split_once(' ').unwrap_or_else(|| bad());
                    let tag = match tag.as_bytes() {
                        [b'-'] => None,
                        [t] => Some(*t),
                        _ => bad(),
                    };
                    let len = len.parse().unwrap_or_else(|_| bad());
                    events.push(Event::Client { tag, len });
                }
                Some(("S", hex)) => {
                    if hex.len() % 2 != 0 {
                        bad();
                    }
                    let bytes: Vec<u8> = (0..hex.len())
                        .step_by(2)
                        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap_or_else(|_| bad()))
                        .collect();
                    match events.last_mut() {
                        Some(Event::Server(b)) => b.extend(bytes),
                        _ => events.push(Event::Server(bytes)),
                    }
                }
                _ => bad(),
            }
        }
        Recording { events }
    }

    /// Bytes the server sends in the whole session.
    pub fn server_bytes(&self) -> usize {
        self.events
            .iter()
            .map(|e| match e {
                Event::Server(b) => b.len(),
                Event::Client { .. } => 0,
            })
            .sum()
    }

    /// Bytes the client sent in the recording.
    pub fn client_bytes(&self) -> usize {
        self.events
            .iter()
            .map(|e| match e {
                Event::Client { len, .. } => *len,
                Event::Server(_) => 0,
            })
            .sum()
    }

    /// The client's message tags in order (`-` for an untagged packet).
    pub fn client_tags(&self) -> String {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Client { tag, .. } => Some(tag.map_or('-', char::from)),
                Event::Server(_) => None,
            })
            .collect()
    }
}

/// Where a replay stops: after `after` bytes in `dir`, then a FIN, or an RST if `reset`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cut {
    pub dir: Dir,
    pub after: usize,
    pub reset: bool,
}

/// A server replaying a recording to every connection it accepts, with the cut set at
/// the time of the accept.
pub struct Replayer {
    pub addr: SocketAddr,
    cut: Arc<Mutex<Option<Cut>>>,
    /// Replays that went off the recording (the client sent another message than the
    /// recorded one): the driver's messages changed, re-record the fixture.
    problems: Arc<Mutex<Vec<String>>>,
    accept: JoinHandle<()>,
}

impl Replayer {
    pub async fn start(recording: Recording) -> Replayer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let recording = Arc::new(recording);
        let cut = Arc::new(Mutex::new(None));
        let problems = Arc::new(Mutex::new(Vec::new()));
        let (c, p) = (cut.clone(), problems.clone());
        let accept = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let _ = socket.set_nodelay(true);
                let cut = *c.lock().unwrap();
                let (r, p) = (recording.clone(), p.clone());
                tokio::spawn(async move {
                    if let Err(problem) = replay(socket, &r, cut).await {
                        p.lock().unwrap().push(problem);
                    }
                });
            }
        });
        Replayer {
            addr,
            cut,
            problems,
            accept,
        }
    }

    /// The cut for the connections accepted from now on.
    pub fn set(&self, cut: Option<Cut>) {
        *self.cut.lock().unwrap() = cut;
    }

    /// Replays that went off the recording so far.
    pub fn problems(&self) -> Vec<String> {
        self.problems.lock().unwrap().clone()
    }
}

impl Drop for Replayer {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// Why a replay stopped early.
enum Stop {
    /// The cut was reached.
    Cut,
    /// The client hung up (after a cut on its side it may not read further).
    ClientGone,
}

/// Replays `r` on `socket`. Errors are departures from the recording; a cut or the client
/// hanging up is not one.
async fn replay(mut socket: TcpStream, r: &Recording, cut: Option<Cut>) -> Result<(), String> {
    let budget = |dir| match cut {
        Some(c) if c.dir == dir => c.after,
        _ => usize::MAX,
    };
    let (mut read_left, mut write_left) = (budget(Dir::ToServer), budget(Dir::ToClient));
    let mut outcome = Ok(());
    let mut stop = None;
    for (i, e) in r.events.iter().enumerate() {
        match e {
            Event::Client { tag, .. } => {
                match read_message(&mut socket, tag.is_some(), &mut read_left).await {
                    Ok(got) if got == *tag => {}
                    Ok(got) => {
                        outcome = Err(format!(
                            "event {i}: the client sent {:?} where the recording has {:?} \
                             (re-record the fixture: QUARRY_RECORD_SESSION=1)",
                            got.map(char::from),
                            tag.map(char::from)
                        ));
                        break;
                    }
                    Err(s) => {
                        stop = Some(s);
                        break;
                    }
                }
            }
            Event::Server(bytes) => {
                let n = bytes.len().min(write_left);
                if socket.write_all(&bytes[..n]).await.is_err() {
                    stop = Some(Stop::ClientGone);
                    break;
                }
                write_left -= n;
                if n < bytes.len() || (write_left == 0 && cut.is_some()) {
                    stop = Some(Stop::Cut);
                    break;
                }
            }
        }
    }
    match stop {
        Some(Stop::Cut) => {
            if cut.is_some_and(|c| c.reset) {
                // No FIN first: a zero linger makes the close send an RST.
                #[allow(deprecated)]
                let _ = socket.set_linger(Some(Duration::ZERO));
                drop(socket);
            } else {
                let _ = socket.shutdown().await;
                // Keep reading until the client hangs up, so that the close stays a FIN.
                let mut sink = [0u8; 1024];
                let _ = tokio::time::timeout(Duration::from_secs(10), async {
                    while matches!(socket.read(&mut sink).await, Ok(n) if n > 0) {}
                })
                .await;
            }
        }
        Some(Stop::ClientGone) => {}
        None => {
            // The recording ends with the client's Terminate: wait for the hang-up.
            let mut sink = [0u8; 1024];
            let _ = tokio::time::timeout(Duration::from_secs(10), async {
                while matches!(socket.read(&mut sink).await, Ok(n) if n > 0) {}
            })
            .await;
        }
    }
    outcome
}

/// Reads one client message (tagged or not) within `left` bytes; returns its tag.
async fn read_message(
    socket: &mut TcpStream,
    tagged: bool,
    left: &mut usize,
) -> Result<Option<u8>, Stop> {
    let head = if tagged { 5 } else { 4 };
    let mut header = [0u8; 5];
    read_within(socket, &mut header[..head], left).await?;
    let at = head - 4;
    let len = u32::from_be_bytes(header[at..head].try_into().unwrap()) as usize;
    let mut body = vec![0u8; len.saturating_sub(4)];
    read_within(socket, &mut body, left).await?;
    Ok(tagged.then_some(header[0]))
}

/// Fills `buf`, reading at most `left` bytes in all; `Stop::Cut` when that runs out.
async fn read_within(socket: &mut TcpStream, buf: &mut [u8], left: &mut usize) -> Result<(), Stop> {
    let n = buf.len().min(*left);
    if socket.read_exact(&mut buf[..n]).await.is_err() {
        return Err(Stop::ClientGone);
    }
    *left -= n;
    if n < buf.len() || *left == 0 {
        return Err(Stop::Cut);
    }
    Ok(())
}
