//! The benches' HTTP/1.1 client: hyper's connection, the part of what reqwest wraps that a
//! bench needs, so the client's share of the two cores stays small. [`connect`], [`request`]
//! and [`exchange`] serve loads that send prepared requests; [`Connection`] serves JSON calls,
//! drives its connection inside each call (no task of its own, so an answer wakes one task,
//! not two) and opens it again after a failure.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

use anyhow::{Context, ensure};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request, StatusCode, header};
use hyper_util::rt::TokioIo;
use serde_json::Value;

/// One keep-alive HTTP/1.1 connection's sending half.
pub type Sender = SendRequest<Full<Bytes>>;

/// One keep-alive HTTP/1.1 connection's driver: it moves the bytes while it is polled.
type Driver = hyper::client::conn::http1::Connection<TokioIo<tokio::net::TcpStream>, Full<Bytes>>;

/// Opens a connection to `address` (no Nagle delay); its driver runs in a task of its own.
pub async fn connect(address: SocketAddr) -> anyhow::Result<Sender> {
    let (sender, driver) = open(address).await?;
    tokio::spawn(driver);
    Ok(sender)
}

/// Opens a connection to `address` (no Nagle delay): its sending half and its driver.
async fn open(address: SocketAddr) -> anyhow::Result<(Sender, Driver)> {
    let stream = tokio::net::TcpStream::connect(address).await?;
    stream.set_nodelay(true)?;
    Ok(hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?)
}

/// A request to loopback: by bearer `token` if any, with `headers`, and a `body` unless it is
/// empty, typed JSON unless `headers` name its type.
pub fn request(
    method: Method,
    path: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: Bytes,
) -> Request<Full<Bytes>> {
    let mut builder = Request::builder().method(method).uri(path).header(header::HOST, "127.0.0.1");
    if let Some(token) = token {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let typed = headers.iter().any(|(name, _)| name.eq_ignore_ascii_case("content-type"));
    if !body.is_empty() && !typed {
        builder = builder.header(header::CONTENT_TYPE, "application/json");
    }
    builder.body(Full::new(body)).expect("a valid request")
}

/// Sends one request and reads the whole answer; fails unless its status is `expect`.
pub async fn exchange(
    sender: &mut Sender,
    request: Request<Full<Bytes>>,
    expect: StatusCode,
) -> anyhow::Result<()> {
    let target = request.uri().to_string();
    let reply = send(sender, request).await?;
    ensure!(
        reply.status == expect,
        "{target}: {}, not {expect}: {}",
        reply.status,
        String::from_utf8_lossy(&reply.body)
    );
    Ok(())
}

/// An HTTP answer, read whole.
pub struct Reply {
    pub status: StatusCode,
    pub body: Bytes,
}

async fn send(sender: &mut Sender, request: Request<Full<Bytes>>) -> anyhow::Result<Reply> {
    sender.ready().await?;
    let response = sender.send_request(request).await?;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    Ok(Reply { status, body })
}

/// One HTTP/1.1 keep-alive connection, opened again after a failure.
pub struct Connection {
    address: SocketAddr,
    /// The sending half and the driver, `None` after a failure.
    open: Option<(Sender, Pin<Box<Driver>>)>,
}

impl Connection {
    pub async fn open(address: SocketAddr) -> anyhow::Result<Connection> {
        let (sender, driver) = open(address).await?;
        Ok(Connection { address, open: Some((sender, Box::pin(driver))) })
    }

    /// Sends a request (JSON body if any) and reads the whole answer.
    pub async fn call(
        &mut self,
        method: Method,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> anyhow::Result<Reply> {
        let body = match body {
            Some(body) => Bytes::from(serde_json::to_vec(body)?),
            None => Bytes::new(),
        };
        self.call_encoded(method, path, token, headers, body).await
    }

    /// [`Connection::call`] with the JSON body already encoded (empty: none), for a load
    /// that encodes what does not change once.
    pub async fn call_encoded(
        &mut self,
        method: Method,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> anyhow::Result<Reply> {
        let request = request(method, path, token, headers, body);
        if self.open.is_none() {
            let (sender, driver) = open(self.address).await?;
            self.open = Some((sender, Box::pin(driver)));
        }
        let (sender, driver) = self.open.as_mut().context("a connection")?;
        let reply = driven(driver.as_mut(), send(sender, request)).await;
        if reply.is_err() {
            self.open = None;
        }
        reply
    }

    /// After a failed exchange: a pause when there was no answer at all, so a dead node does
    /// not spin the client.
    pub async fn recover(&mut self, answer: &anyhow::Result<Reply>) {
        if answer.is_err() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A request (by `token`, if any) that must answer `status`.
    pub async fn expect(
        &mut self,
        status: StatusCode,
        method: Method,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: &Value,
    ) -> anyhow::Result<Reply> {
        let reply = self.call(method.clone(), path, token, headers, Some(body)).await?;
        ensure!(
            reply.status == status,
            "{method} {path} {body}: {}, not {status}: {}",
            reply.status,
            String::from_utf8_lossy(&reply.body)
        );
        Ok(reply)
    }
}

/// Polls `exchange` to its end, polling the connection's `driver` beside it until the driver
/// ends (the connection closed or failed: the exchange then fails by itself).
async fn driven<T>(
    mut driver: Pin<&mut Driver>,
    exchange: impl Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    let mut exchange = std::pin::pin!(exchange);
    let mut driving = true;
    std::future::poll_fn(|cx| {
        if driving && driver.as_mut().poll(cx).is_ready() {
            driving = false;
        }
        exchange.as_mut().poll(cx)
    })
    .await
}
