//! Cancelling a running query: a CancelRequest on a new connection.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::stream::Socket;
use super::tls::{self, TlsParams};
use crate::failure::{Error, Result};
use crate::protocol::frontend;

/// Where the session's server is, resolved, as the cancel connection must reach the same one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ServerAddr {
    Tcp(SocketAddr),
    #[cfg(unix)]
    Unix(PathBuf),
}

/// Cancels the query running on a connection, from any task.
///
/// It opens a new connection to the same server with the same TLS settings and
/// sends a CancelRequest (protocol 3.2's longer keys included). The server
/// gives no answer; success only means the request was delivered.
#[derive(Clone)]
pub struct CancelToken {
    pub(crate) addr: ServerAddr,
    pub(crate) tls: Option<TlsParams>,
    pub(crate) process_id: i32,
    pub(crate) secret_key: Vec<u8>,
    pub(crate) connect_timeout: Option<Duration>,
}

impl fmt::Debug for CancelToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The secret key is a credential: never print it.
        f.debug_struct("CancelToken")
            .field("addr", &self.addr)
            .field("tls", &self.tls.is_some())
            .field("process_id", &self.process_id)
            .finish_non_exhaustive()
    }
}

impl CancelToken {
    /// Asks the server to cancel whatever query the session is running.
    ///
    /// Returns once the server has received the request and closed the cancel
    /// connection, so a following query cannot be hit by this request.
    pub async fn cancel_query(&self) -> Result<()> {
        let connect = self.connect();
        let mut socket = match self.connect_timeout {
            Some(d) => tokio::time::timeout(d, connect)
                .await
                .map_err(|_| Error::timeout("connecting to send a cancel request timed out"))??,
            None => connect.await?,
        };
        let mut buf = Vec::new();
        frontend::cancel_request(&mut buf, self.process_id, &self.secret_key)?;
        socket
            .write_all(&buf)
            .await
            .map_err(|e| Error::io("sending the cancel request failed", e))?;
        socket
            .flush()
            .await
            .map_err(|e| Error::io("sending the cancel request failed", e))?;
        // The server closes the connection once it has processed the request.
        let mut sink = [0u8; 64];
        loop {
            match socket.read(&mut sink).await {
                Ok(0) | Err(_) => return Ok(()),
                Ok(_) => {}
            }
        }
    }

    async fn connect(&self) -> Result<Socket> {
        match &self.addr {
            ServerAddr::Tcp(addr) => {
                let tcp = TcpStream::connect(addr)
                    .await
                    .map_err(|e| Error::io(format!("connecting to {addr} to cancel failed"), e))?;
                let _ = tcp.set_nodelay(true);
                match &self.tls {
                    None => Ok(Socket::Tcp(tcp)),
                    Some(params) => {
                        let (tcp, accepted) = super::startup::ssl_request(tcp).await?;
                        if !accepted {
                            return Err(Error::tls(
                                "the server refused TLS for the cancel request",
                            ));
                        }
                        Ok(Socket::Tls(Box::new(tls::handshake(tcp, params).await?)))
                    }
                }
            }
            #[cfg(unix)]
            ServerAddr::Unix(path) => {
                let s = tokio::net::UnixStream::connect(path).await.map_err(|e| {
                    Error::io(
                        format!("connecting to {} to cancel failed", path.display()),
                        e,
                    )
                })?;
                Ok(Socket::Unix(s))
            }
        }
    }
}
