//! A scripted fake server, for what a real PostgreSQL will not do: malformed,
//! hostile or out-of-order messages.
//!
//! It listens on a free port of 127.0.0.1, accepts one connection, runs its
//! script (read the startup packet, send these bytes, read up to a Sync, ...),
//! then records everything else the client sends until the client hangs up.
//! The [`Transcript`] lets a test check what the client sent, for example that
//! no password message followed a refused SCRAM challenge.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The code of an SSLRequest packet.
pub const SSL_REQUEST_CODE: i32 = 80_877_103;

/// Makes the bytes to send from the body of the message the client sent.
pub type Responder = Box<dyn FnOnce(&[u8]) -> Vec<u8> + Send>;

/// A step of a script.
pub enum Step {
    /// Read one untagged packet (StartupMessage or SSLRequest) and record it.
    ReadUntagged,
    /// Send these bytes.
    Send(Vec<u8>),
    /// Read frontend messages up to and including one with this tag.
    ReadUntil(u8),
    /// Read one tagged frontend message and send what the function makes of its body.
    Respond(Responder),
    /// Close the connection now.
    Close,
}

/// One message the client sent: its tag (`None` for startup-phase packets) and body.
#[derive(Clone, Debug)]
pub struct Sent {
    pub tag: Option<u8>,
    pub body: Vec<u8>,
}

/// What the client sent.
#[derive(Debug, Default)]
pub struct Transcript {
    /// Whole messages, in order.
    pub messages: Vec<Sent>,
    /// Bytes after the last whole message (a partial message, or TLS records).
    pub trailing: Vec<u8>,
    /// How the script ended, if not as planned (the client hung up early, ...).
    pub script_error: Option<String>,
}

impl Transcript {
    /// The tags of the tagged messages, as a string (`"PDBES"`).
    pub fn tags(&self) -> String {
        self.messages
            .iter()
            .filter_map(|m| m.tag.map(char::from))
            .collect()
    }

    /// How many messages with this tag the client sent.
    pub fn count(&self, tag: u8) -> usize {
        self.messages.iter().filter(|m| m.tag == Some(tag)).count()
    }
}

/// A fake server accepting one connection.
pub struct FakeServer {
    pub addr: SocketAddr,
    task: JoinHandle<Transcript>,
}

impl FakeServer {
    /// Starts listening and runs `script` on the first connection.
    pub async fn start(script: Vec<Step>) -> FakeServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let task = tokio::spawn(async move {
            let (socket, _) = listener.accept().await.expect("accept");
            run(socket, script).await
        });
        FakeServer { addr, task }
    }

    /// Options for connecting to it: no TLS, user `u`, database `d`.
    pub fn options(&self) -> quarry::ConnectOptions {
        quarry::ConnectOptions::new()
            .host("127.0.0.1")
            .port(self.addr.port())
            .user("u")
            .dbname("d")
            .ssl_mode(quarry::config::SslMode::Disable)
            .connect_timeout(Duration::from_secs(10))
    }

    /// Waits (at most 10 s) for the client to hang up and returns what it sent.
    pub async fn transcript(self) -> Transcript {
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("the client did not hang up within 10 s")
            .expect("fake server task")
    }
}

async fn run(mut socket: TcpStream, script: Vec<Step>) -> Transcript {
    let mut t = Transcript::default();
    let mut buf: Vec<u8> = Vec::new();
    for step in script {
        let r = match step {
            Step::ReadUntagged => read_untagged(&mut socket, &mut buf, &mut t).await,
            Step::Send(bytes) => socket.write_all(&bytes).await.map_err(|e| e.to_string()),
            Step::ReadUntil(tag) => loop {
                match read_tagged(&mut socket, &mut buf, &mut t).await {
                    Ok(got) if got == tag => break Ok(()),
                    Ok(_) => {}
                    Err(e) => break Err(e),
                }
            },
            Step::Respond(f) => match read_tagged(&mut socket, &mut buf, &mut t).await {
                Ok(_) => {
                    let body = t
                        .messages
                        .last()
                        .map(|m| m.body.clone())
                        .unwrap_or_default();
                    socket.write_all(&f(&body)).await.map_err(|e| e.to_string())
                }
                Err(e) => Err(e),
            },
            Step::Close => {
                let _ = socket.shutdown().await;
                return t;
            }
        };
        if let Err(e) = r {
            t.script_error = Some(e);
            break;
        }
    }
    // Record the rest until the client hangs up (bounded, so a stuck client fails the test).
    let rest = tokio::time::timeout(Duration::from_secs(10), async {
        while read_tagged(&mut socket, &mut buf, &mut t).await.is_ok() {}
    })
    .await;
    if rest.is_err() {
        t.script_error = Some("the client kept the connection open for 10 s".into());
    }
    t.trailing = buf;
    t
}

async fn fill(socket: &mut TcpStream, buf: &mut Vec<u8>, n: usize) -> Result<(), String> {
    while buf.len() < n {
        let mut chunk = [0u8; 4096];
        let got = socket.read(&mut chunk).await.map_err(|e| e.to_string())?;
        if got == 0 {
            return Err("the client closed the connection".into());
        }
        buf.extend_from_slice(&chunk[..got]);
    }
    Ok(())
}

fn len_at(buf: &[u8], at: usize) -> Result<usize, String> {
    let b: [u8; 4] = buf[at..at + 4].try_into().expect("4 bytes");
    let len = i32::from_be_bytes(b);
    usize::try_from(len)
        .ok()
        .filter(|&l| (4..=1 << 26).contains(&l))
        .ok_or_else(|| format!("the client sent a message length {len}"))
}

async fn read_untagged(
    socket: &mut TcpStream,
    buf: &mut Vec<u8>,
    t: &mut Transcript,
) -> Result<(), String> {
    fill(socket, buf, 4).await?;
    let len = len_at(buf, 0)?;
    fill(socket, buf, len).await?;
    let body = buf[4..len].to_vec();
    buf.drain(..len);
    t.messages.push(Sent { tag: None, body });
    Ok(())
}

async fn read_tagged(
    socket: &mut TcpStream,
    buf: &mut Vec<u8>,
    t: &mut Transcript,
) -> Result<u8, String> {
    fill(socket, buf, 5).await?;
    let tag = buf[0];
    let len = len_at(buf, 1)?;
    fill(socket, buf, 1 + len).await?;
    let body = buf[5..1 + len].to_vec();
    buf.drain(..1 + len);
    t.messages.push(Sent {
        tag: Some(tag),
        body,
    });
    Ok(tag)
}

// --- Backend messages ----------------------------------------------------------------

/// A message: tag, length (body + 4), body.
pub fn msg(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    out.extend_from_slice(&i32::try_from(body.len() + 4).unwrap().to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// A header with an arbitrary length field (for lying about lengths).
pub fn header(tag: u8, len: i32) -> Vec<u8> {
    let mut out = vec![tag];
    out.extend_from_slice(&len.to_be_bytes());
    out
}

fn cstr(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(s.as_bytes());
    out.push(0);
}

pub fn auth(code: i32, extra: &[u8]) -> Vec<u8> {
    let mut body = code.to_be_bytes().to_vec();
    body.extend_from_slice(extra);
    msg(b'R', &body)
}

pub fn auth_ok() -> Vec<u8> {
    auth(0, &[])
}

pub fn parameter_status(name: &str, value: &str) -> Vec<u8> {
    let mut body = Vec::new();
    cstr(&mut body, name);
    cstr(&mut body, value);
    msg(b'S', &body)
}

pub fn backend_key_data(pid: i32, key: i32) -> Vec<u8> {
    let mut body = pid.to_be_bytes().to_vec();
    body.extend_from_slice(&key.to_be_bytes());
    msg(b'K', &body)
}

pub fn ready(status: u8) -> Vec<u8> {
    msg(b'Z', &[status])
}

/// What a real server sends after AuthenticationOk, all at once.
pub fn after_auth_ok() -> Vec<u8> {
    [
        parameter_status("server_version", "15.0"),
        parameter_status("in_hot_standby", "off"),
        parameter_status("default_transaction_read_only", "off"),
        parameter_status("client_encoding", "UTF8"),
        backend_key_data(4242, 0x1234_5678),
        ready(b'I'),
    ]
    .concat()
}

/// AuthenticationOk and the rest of a successful startup.
pub fn startup_ok() -> Vec<u8> {
    [auth_ok(), after_auth_ok()].concat()
}

/// A RowDescription of `(name, type oid)` columns in binary format.
pub fn row_description(columns: &[(&str, u32)]) -> Vec<u8> {
    let mut body = i16::try_from(columns.len()).unwrap().to_be_bytes().to_vec();
    for (name, oid) in columns {
        cstr(&mut body, name);
        body.extend_from_slice(&0u32.to_be_bytes()); // table
        body.extend_from_slice(&0i16.to_be_bytes()); // column
        body.extend_from_slice(&oid.to_be_bytes());
        body.extend_from_slice(&(-1i16).to_be_bytes()); // size
        body.extend_from_slice(&(-1i32).to_be_bytes()); // modifier
        body.extend_from_slice(&0i16.to_be_bytes()); // format
    }
    msg(b'T', &body)
}

/// A DataRow with an explicit field count and `(length field, bytes)` values.
pub fn data_row_raw(count: i16, values: &[(i32, &[u8])]) -> Vec<u8> {
    let mut body = count.to_be_bytes().to_vec();
    for (len, bytes) in values {
        body.extend_from_slice(&len.to_be_bytes());
        body.extend_from_slice(bytes);
    }
    msg(b'D', &body)
}

/// A well-formed DataRow.
pub fn data_row(values: &[&[u8]]) -> Vec<u8> {
    let vals: Vec<(i32, &[u8])> = values
        .iter()
        .map(|v| (i32::try_from(v.len()).unwrap(), *v))
        .collect();
    data_row_raw(i16::try_from(values.len()).unwrap(), &vals)
}

pub fn command_complete(tag: &str) -> Vec<u8> {
    let mut body = Vec::new();
    cstr(&mut body, tag);
    msg(b'C', &body)
}

/// An ErrorResponse with these `(field type, value)` fields.
pub fn error_response(fields: &[(u8, &str)]) -> Vec<u8> {
    let mut body = Vec::new();
    for (ty, value) in fields {
        body.push(*ty);
        cstr(&mut body, value);
    }
    body.push(0);
    msg(b'E', &body)
}

/// The responses to Parse/Describe/Bind for a statement without parameters, returning
/// these columns.
pub fn described(columns: &[(&str, u32)]) -> Vec<u8> {
    [
        msg(b'1', &[]),
        msg(b't', &0i16.to_be_bytes()),
        row_description(columns),
        msg(b'2', &[]),
    ]
    .concat()
}

pub const INT4: u32 = 23;
pub const TEXT: u32 = 25;
