//! The API's TCP listener, for the answers no service gives.
//!
//! hyper answers a request it cannot parse before any service sees it: a request line past
//! 64 KiB (414), a head past its buffer (431), a malformed one (400), each with an empty
//! body. Every connection's writes pass through [`Connection`], which replaces exactly such
//! an answer by a problem+json one with the status's code (`Problem::of_status`); every other byte
//! passes unchanged.
//!
//! Invariant: only a write that is a whole response head with a 4xx status, no
//! `content-type` and `content-length: 0`, and nothing after it, is replaced. The API never
//! writes one (every error answer it gives is a problem: `stack`), so only hyper's own are.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use axum::extract::ConnectInfo;
use axum::extract::connect_info::Connected;
use axum::http::StatusCode;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use crate::limits::SHORT_HEAD_BYTES_MAX;
use crate::problem::Problem;

/// A TCP listener whose connections are [`Connection`]s.
pub struct ProblemListener(pub TcpListener);

impl Listener for ProblemListener {
    type Io = Connection;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Connection, SocketAddr) {
        let (io, remote) = Listener::accept(&mut self.0).await;
        (Connection { io, pending: Vec::new() }, remote)
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }
}

/// The peer of a [`ProblemListener`]'s connection (axum's `ConnectInfo<SocketAddr>` is only
/// made for its own listener: [`remote_addr`] makes it from this).
#[derive(Debug, Clone, Copy)]
pub struct Remote(pub SocketAddr);

impl Connected<IncomingStream<'_, ProblemListener>> for Remote {
    fn connect_info(stream: IncomingStream<'_, ProblemListener>) -> Remote {
        Remote(*stream.remote_addr())
    }
}

/// Request mapper: `ConnectInfo<SocketAddr>` from a [`ProblemListener`]'s [`Remote`].
pub async fn remote_addr(mut request: axum::extract::Request) -> axum::extract::Request {
    if let Some(ConnectInfo(Remote(remote))) = request.extensions().get().copied() {
        request.extensions_mut().insert(ConnectInfo(remote));
    }
    request
}

/// A TCP connection whose parse-error answers become problems (see the module's doc).
pub struct Connection {
    io: TcpStream,
    /// The rest of a replacement answer, still to write.
    pending: Vec<u8>,
}

impl Connection {
    /// Writes what is pending; ready once nothing is.
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.pending.is_empty() {
            let written = ready!(Pin::new(&mut self.io).poll_write(cx, &self.pending))?;
            if written == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.pending.drain(..written);
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncRead for Connection {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl AsyncWrite for Connection {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_pending(cx))?;
        if let Some(answer) = replacement(buf) {
            this.pending = answer;
            // Taken whole: what is not written yet goes out on the next write or flush.
            if let Poll::Ready(Err(error)) = this.poll_pending(cx) {
                return Poll::Ready(Err(error));
            }
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut this.io).poll_write(cx, buf)
    }

    /// Vectored writes go straight through (hyper writes a head and a body in one call), but
    /// for a lone buffer, which may be one of hyper's own answers.
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let mut filled = bufs.iter().filter(|buf| !buf.is_empty());
        if let (Some(only), None) = (filled.next(), filled.next()) {
            return self.poll_write(cx, only);
        }
        let this = self.get_mut();
        ready!(this.poll_pending(cx))?;
        Pin::new(&mut this.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_pending(cx))?;
        Pin::new(&mut this.io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_pending(cx))?;
        Pin::new(&mut this.io).poll_shutdown(cx)
    }
}

/// The problem answer that replaces `written`, if it is one of hyper's own bodiless error
/// answers (see the module's invariant).
fn replacement(written: &[u8]) -> Option<Vec<u8>> {
    // Every write passes here: what cannot be a bodiless 4xx head leaves at a glance.
    let short_4xx_head = written.len() <= SHORT_HEAD_BYTES_MAX
        && (written.starts_with(b"HTTP/1.1 4") || written.starts_with(b"HTTP/1.0 4"))
        && written.ends_with(b"\r\n\r\n");
    if !short_4xx_head {
        return None;
    }
    let head = std::str::from_utf8(written).ok()?.strip_suffix("\r\n\r\n")?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?;
    let code = status_line.strip_prefix("HTTP/1.1 ").or(status_line.strip_prefix("HTTP/1.0 "))?;
    let status = StatusCode::from_bytes(code.get(..3)?.as_bytes()).ok()?;
    let mut empty = false;
    for line in lines {
        let (name, value) = line.split_once(':')?;
        let name = name.trim().to_ascii_lowercase();
        if name == "content-type" || name == "transfer-encoding" {
            return None;
        }
        empty |= name == "content-length" && value.trim() == "0";
    }
    if !status.is_client_error() || !empty {
        return None;
    }
    let detail = status.canonical_reason().unwrap_or("bad request").to_ascii_lowercase();
    let body = serde_json::to_vec(&Problem::of_status(status, detail)).ok()?;
    let mut answer = format!(
        "{status_line}\r\ncontent-type: application/problem+json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    answer.extend_from_slice(&body);
    Some(answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_bodiless_error_heads_are_replaced() {
        let canned = b"HTTP/1.1 414 URI Too Long\r\ncontent-length: 0\r\ndate: x\r\n\r\n";
        let answer = String::from_utf8(replacement(canned).unwrap()).unwrap();
        assert!(answer.starts_with("HTTP/1.1 414 URI Too Long\r\n"), "{answer}");
        assert!(answer.contains("content-type: application/problem+json"), "{answer}");
        assert!(answer.ends_with(r#""code":"uri_too_long","detail":"uri too long"}"#), "{answer}");
        for kept in [
            &b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"[..],
            b"HTTP/1.1 404 Not Found\r\ncontent-type: application/problem+json\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 2\r\n\r\n{}",
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\nHTTP/1.1 200 OK\r\n\r\n",
            b"{\"a\":1}",
        ] {
            assert_eq!(replacement(kept), None, "{}", String::from_utf8_lossy(kept));
        }
    }
}
