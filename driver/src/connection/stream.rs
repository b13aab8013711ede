//! The socket and its two buffers.
//!
//! [`Framed`] is the only code that reads or writes the socket. It is
//! cancel-safe: reads append to `read_buf` and frames are consumed only once
//! complete; writes advance `written` after every partial write. A future
//! dropped at any await leaves the buffers describing exactly what was and was
//! not exchanged, which is what lets the connection resynchronise.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
#[cfg(unix)]
use tokio::net::UnixStream;

use crate::failure::{Error, Result};
use crate::protocol::backend::{Header, Limits};

/// A connected socket: TCP, Unix-domain, or TLS over TCP.
pub(crate) enum Socket {
    Tcp(TcpStream),
    #[cfg(unix)]
    Unix(UnixStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl Socket {
    pub(crate) fn is_tls(&self) -> bool {
        matches!(self, Socket::Tls(_))
    }
}

impl AsyncRead for Socket {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Socket::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            #[cfg(unix)]
            Socket::Unix(s) => Pin::new(s).poll_read(cx, buf),
            Socket::Tls(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Socket {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Socket::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            #[cfg(unix)]
            Socket::Unix(s) => Pin::new(s).poll_write(cx, buf),
            Socket::Tls(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Socket::Tcp(s) => Pin::new(s).poll_flush(cx),
            #[cfg(unix)]
            Socket::Unix(s) => Pin::new(s).poll_flush(cx),
            Socket::Tls(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Socket::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            #[cfg(unix)]
            Socket::Unix(s) => Pin::new(s).poll_shutdown(cx),
            Socket::Tls(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

/// How much to ask the kernel for at a time when reading.
const READ_CHUNK: usize = 64 * 1024;

/// The socket with a read buffer of whole-or-partial frames and a write buffer of whole messages.
pub(crate) struct Framed {
    pub(crate) socket: Socket,
    read_buf: BytesMut,
    /// Encoded messages not yet (fully) sent.
    pub(crate) write_buf: Vec<u8>,
    /// How many bytes at the front of `write_buf` the socket has taken.
    pub(crate) written: usize,
    pub(crate) limits: Limits,
}

impl Framed {
    pub(crate) fn new(socket: Socket, limits: Limits) -> Framed {
        Framed {
            socket,
            read_buf: BytesMut::with_capacity(READ_CHUNK),
            write_buf: Vec::with_capacity(8 * 1024),
            written: 0,
            limits,
        }
    }

    /// Sends everything in `write_buf`.
    pub(crate) async fn flush(&mut self) -> Result<()> {
        while self.written < self.write_buf.len() {
            let n = self
                .socket
                .write(&self.write_buf[self.written..])
                .await
                .map_err(|e| Error::io("writing to the server failed", e))?;
            if n == 0 {
                return Err(Error::closed(
                    "the server closed the connection while we were writing",
                ));
            }
            self.written += n;
        }
        self.write_buf.clear();
        self.written = 0;
        self.socket
            .flush()
            .await
            .map_err(|e| Error::io("writing to the server failed", e))
    }

    /// Whether the read buffer holds a complete frame already (no socket read needed).
    pub(crate) fn has_frame(&self) -> Result<Option<Header>> {
        match Header::parse(&self.read_buf, &self.limits)? {
            Some(h) if self.read_buf.len() >= h.frame_len() => Ok(Some(h)),
            _ => Ok(None),
        }
    }

    /// Waits until a whole frame is at the front of the read buffer and returns its header.
    pub(crate) async fn fill_frame(&mut self) -> Result<Header> {
        loop {
            let need = match Header::parse(&self.read_buf, &self.limits)? {
                Some(h) if self.read_buf.len() >= h.frame_len() => return Ok(h),
                Some(h) => h.frame_len() - self.read_buf.len(),
                None => Header::LEN - self.read_buf.len(),
            };
            self.read_more(need).await?;
        }
    }

    /// Authentication succeeded: the startup caps on claimed lengths end.
    pub(crate) fn authenticated(&mut self) {
        self.limits.authenticating = false;
    }

    /// Reads at least one byte more into the buffer, reserving room for up to `need` bytes.
    ///
    /// Memory follows the bytes that arrived, never a peer's claim: the room reserved is
    /// at most what the buffer already holds (or one chunk), so a frame claiming 1 GiB
    /// costs 64 KiB until its bytes come, and a large frame that does come is buffered
    /// with a doubling number of reallocations. Small frames, the common case, take one
    /// chunk as before.
    async fn read_more(&mut self, need: usize) -> Result<()> {
        let room = need.clamp(READ_CHUNK, self.read_buf.len().max(READ_CHUNK));
        self.read_buf.reserve(room);
        let n = self
            .socket
            .read_buf(&mut self.read_buf)
            .await
            .map_err(|e| Error::io("reading from the server failed", e))?;
        if n == 0 {
            return Err(Error::closed("the server closed the connection"));
        }
        Ok(())
    }

    /// Polls for more bytes without waiting (used while writing a large pipeline).
    pub(crate) fn poll_read_some(&mut self, cx: &mut Context<'_>) -> Poll<Result<usize>> {
        self.read_buf.reserve(READ_CHUNK);
        let n = ready!(tokio_util::io::poll_read_buf(
            Pin::new(&mut self.socket),
            cx,
            &mut self.read_buf
        ))
        .map_err(|e| Error::io("reading from the server failed", e))?;
        if n == 0 {
            return Poll::Ready(Err(Error::closed("the server closed the connection")));
        }
        Poll::Ready(Ok(n))
    }

    /// Polls to send more of `write_buf`; `Ready(Ok(()))` once all is sent.
    pub(crate) fn poll_flush_some(&mut self, cx: &mut Context<'_>) -> Poll<Result<()>> {
        while self.written < self.write_buf.len() {
            let n =
                ready!(Pin::new(&mut self.socket).poll_write(cx, &self.write_buf[self.written..]))
                    .map_err(|e| Error::io("writing to the server failed", e))?;
            if n == 0 {
                return Poll::Ready(Err(Error::closed(
                    "the server closed the connection while we were writing",
                )));
            }
            self.written += n;
        }
        ready!(Pin::new(&mut self.socket).poll_flush(cx))
            .map_err(|e| Error::io("writing to the server failed", e))?;
        self.write_buf.clear();
        self.written = 0;
        Poll::Ready(Ok(()))
    }

    /// The body of the frame `h` at the front of the buffer.
    pub(crate) fn body(&self, h: Header) -> &[u8] {
        &self.read_buf[Header::LEN..h.frame_len()]
    }

    /// Drops the frame `h` from the front of the buffer.
    pub(crate) fn consume(&mut self, h: Header) {
        self.read_buf.advance(h.frame_len());
    }

    /// Takes the body of frame `h` out of the buffer without copying.
    pub(crate) fn take_body(&mut self, h: Header) -> Bytes {
        let mut frame = self.read_buf.split_to(h.frame_len());
        frame.advance(Header::LEN);
        frame.freeze()
    }

    /// Shuts the socket down (best effort).
    pub(crate) async fn shutdown(&mut self) {
        let _ = self.socket.shutdown().await;
    }
}
