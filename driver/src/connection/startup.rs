//! Opening a session: sockets, TLS negotiation, the startup packet, authentication.

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::error::{Error, Result};
use crate::protocol::frontend;

/// Sends SSLRequest on a fresh TCP connection and returns it if the server agreed.
///
/// Reads exactly one byte for the answer: anything the server (or a man in the
/// middle) sent after the `S` stays in the socket and is fed to the TLS
/// handshake, which rejects it (CVE-2021-23222).
pub(crate) async fn request_tls(mut tcp: TcpStream) -> Result<TcpStream> {
    use tokio::io::AsyncReadExt;
    let mut buf = Vec::with_capacity(8);
    frontend::ssl_request(&mut buf);
    tcp.write_all(&buf)
        .await
        .map_err(|e| Error::io("sending SSLRequest failed", e))?;
    let mut answer = [0u8; 1];
    tcp.read_exact(&mut answer)
        .await
        .map_err(|e| Error::io("reading the answer to SSLRequest failed", e))?;
    match answer[0] {
        b'S' => Ok(tcp),
        b'N' => Err(Error::tls("the server does not accept TLS connections")),
        other => Err(Error::protocol(format!(
            "the server answered SSLRequest with {}; expected 'S' or 'N'",
            crate::protocol::backend::show_tag(other)
        ))),
    }
}
