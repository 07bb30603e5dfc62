//! Helpers shared by the black-box tests: a real `bazaar serve` process ([`server`]),
//! polling with a deadline, and [`Market`], a server driven over real HTTP with a token
//! per principal and problem+json assertions (its [`Client`] moves into tasks and outlives a
//! killed server); the calls and readings the catalog tests share (sellers, offers, stock,
//! standing, the buy box, search hits); payment simulators ([`psp`]); and checkouts, orders
//! and the ledger ([`checkout`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod catalog;
pub mod checkout;
pub mod lazyfs;
pub mod psp;
mod raw;
mod server;

pub use catalog::*;
use reqwest::Method;
use serde_json::Value;
pub use server::*;

/// How long an eventually consistent change may take before a test fails. Flows between
/// aggregates run in milliseconds and search refreshes every 500 ms; this leaves room for a
/// loaded CI machine.
pub const EVENTUALLY: Duration = Duration::from_secs(5);

/// The log filter of a [`Market`]'s server: warnings, and the start-up report.
pub const LOG_FILTER: &str = "warn,bazaar::serve=info";

/// Polls `probe` until it answers `Ok`, failing the test with the last `Err` past
/// [`EVENTUALLY`].
pub async fn eventually<T>(what: &str, probe: impl AsyncFnMut() -> Result<T, String>) -> T {
    eventually_within(EVENTUALLY, what, probe).await
}

/// [`eventually`] with another deadline, for work that takes longer than a flow (a saga
/// resumed after a crash, a background job).
pub async fn eventually_within<T>(
    limit: Duration,
    what: &str,
    mut probe: impl AsyncFnMut() -> Result<T, String>,
) -> T {
    let deadline = Instant::now() + limit;
    loop {
        match probe().await {
            Ok(value) => return value,
            Err(last) => {
                assert!(Instant::now() < deadline, "{what}: not within {limit:?}; last: {last}");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    /// Every response header (`content-type` too).
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
    /// The body as JSON; `Null` when it is not JSON.
    pub json: Value,
}

impl Reply {
    /// The value of response header `name`, if present and text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }
}

/// A request body.
pub enum Body {
    None,
    Json(Value),
    /// Bytes with an optional `Content-Type`.
    Raw(Option<&'static str>, Vec<u8>),
}

/// Who sends a request.
#[derive(Clone, Copy)]
pub enum Auth<'a> {
    /// The token minted for this principal (`customer-1`, `seller-2`, `operator-1`, ...).
    As(&'a str),
    None,
    /// An `Authorization` header sent as is.
    Header(&'a str),
}

/// A marketplace under test over real HTTP: a data directory, the `serve` running on it, an
/// HTTP client, and a token for every principal. Dumps the server's log if the test panics.
pub struct Market {
    /// Declared before `dir`, so the server is killed before its directory is deleted.
    server: Option<Server>,
    /// The stderr of the running server.
    log: ServerLog,
    /// The data directory, and the temporary directory that holds it when the test gave none.
    data: PathBuf,
    _dir: Option<tempfile::TempDir>,
    http: reqwest::Client,
    tokens: Arc<BTreeMap<String, String>>,
    /// More `serve` arguments, given to every start.
    serve_args: Vec<String>,
    /// The cluster configuration every start runs with.
    config: PathBuf,
}

impl Market {
    /// A fresh marketplace. The first start writes the initial tokens (`customer-1`,
    /// `seller-1`, `support-1`, `operator-1`); each `(role, principal)` of `more` gets a token
    /// from `bazaar token add` before the second start, since `serve` reads credentials when
    /// it starts.
    pub fn open(more: &[(&str, &str)]) -> Market {
        Market::open_with(more, &[])
    }

    /// [`Market::open`] with more `serve` arguments (for instance `--psp NAME=URL`), given to
    /// every start of this marketplace, restarts included.
    pub fn open_with(more: &[(&str, &str)], serve_args: &[String]) -> Market {
        let dir = tempfile::tempdir().unwrap();
        let mut market = Market::open_in(dir.path().to_path_buf(), more, serve_args);
        market._dir = Some(dir);
        market
    }

    /// [`Market::open_with`] on the data directory `data` (created if missing), which the
    /// test owns.
    pub fn open_in(data: PathBuf, more: &[(&str, &str)], serve_args: &[String]) -> Market {
        Market::open_configured(data, shipped_config(), more, serve_args)
    }

    /// [`Market::open_in`] with the cluster configuration `config` (every start runs with it).
    pub fn open_configured(
        data: PathBuf,
        config: PathBuf,
        more: &[(&str, &str)],
        serve_args: &[String],
    ) -> Market {
        let serve_command = |data: &Path| bazaar().serve(&config, data, serve_args);
        let first = Server::start(&mut serve_command(&data));
        let mut tokens = initial_tokens(&data);
        for principal in ["customer-1", "seller-1", "support-1", "operator-1"] {
            assert!(tokens.contains_key(principal), "initial tokens lack {principal}: {tokens:?}");
        }
        let status = first.terminate();
        assert!(status.success(), "SIGTERM must end in exit 0, got {status}");
        for (role, principal) in more {
            tokens.insert(principal.to_string(), mint_token(&data, role, principal));
        }
        let mut serve = serve_command(&data);
        let (server, log) = Server::start_logging(serve.env("RUST_LOG", LOG_FILTER));
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        let (tokens, serve_args) = (Arc::new(tokens), serve_args.to_vec());
        Market { server: Some(server), log, data, _dir: None, http, tokens, serve_args, config }
    }

    pub fn data_dir(&self) -> &Path {
        &self.data
    }

    pub fn url(&self, path: &str) -> String {
        self.server.as_ref().expect("a running server").url(path)
    }

    /// SIGTERM (which must end in exit 0), then a new `serve` on the same data directory.
    pub fn restart(&mut self) {
        self.terminate();
        self.start();
    }

    /// SIGTERM, which must end in exit 0 within `limit`, then a new `serve` on the same data
    /// directory.
    pub fn restart_within(&mut self, limit: Duration) {
        let status = self.server.take().expect("a running server").terminate_within(limit);
        assert!(status.success(), "SIGTERM must end in exit 0, got {status}");
        self.start();
    }

    /// The server's log lines so far (its stderr, at [`LOG_FILTER`]).
    pub fn log_lines(&self) -> Vec<String> {
        self.log.lines()
    }

    /// SIGTERM, which must end in exit 0; the marketplace is done.
    pub fn shut_down(mut self) {
        self.terminate();
    }

    fn terminate(&mut self) {
        let status = self.server.take().expect("a running server").terminate();
        assert!(status.success(), "SIGTERM must end in exit 0, got {status}");
    }

    /// SIGKILL, then a new `serve` on the same data directory.
    pub fn crash_and_restart(&mut self) {
        self.kill_then_restart(|| {});
    }

    /// SIGKILL, then `between` (a power cut of the data directory's file system, say), then a
    /// new `serve` on the same data directory.
    pub fn kill_then_restart(&mut self, between: impl FnOnce()) {
        let status = self.server.take().expect("a running server").kill();
        assert!(!status.success(), "SIGKILL ends a process with a signal, got {status}");
        between();
        self.start();
    }

    fn start(&mut self) {
        let mut serve = bazaar().serve(&self.config, self.data_dir(), &self.serve_args);
        let (server, log) = Server::start_logging(serve.env("RUST_LOG", LOG_FILTER));
        self.server = Some(server);
        self.log = log;
    }

    /// The start-up report of the running server: which tenants' search indexes were caught
    /// up (not closed cleanly, or missing), and how many documents that indexed again.
    pub fn search_caught_up(&self) -> (String, usize) {
        let line = self.log.wait_for("read models rebuilt", EVENTUALLY);
        let (_, report) = line.split_once("search_caught_up=").expect("search_caught_up field");
        let (tenants, reindexed) =
            report.split_once(" search_reindexed=").expect("search_reindexed field");
        let reindexed = reindexed.split_whitespace().next().expect("a count");
        (tenants.trim().to_string(), reindexed.parse().expect("a count"))
    }

    pub async fn call(&self, method: Method, path: &str, auth: Auth<'_>, body: Body) -> Reply {
        self.call_with_headers(method, path, auth, &[], body).await
    }

    /// [`Market::call`] with more request headers, `(name, value)`, sent as given (for
    /// instance `x-tenant` and `x-guest-token` with [`Auth::None`], or `idempotency-key`).
    pub async fn call_with_headers(
        &self,
        method: Method,
        path: &str,
        auth: Auth<'_>,
        headers: &[(&str, &str)],
        body: Body,
    ) -> Reply {
        let sent = self.client().try_call(method.clone(), path, auth, headers, body).await;
        sent.unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    /// A client of the running server that can be moved into tasks, and that lives on when
    /// the server is killed (its calls then fail).
    pub fn client(&self) -> Client {
        let base = self.server.as_ref().expect("a running server").base().to_string();
        Client { http: self.http.clone(), base, tokens: self.tokens.clone() }
    }

    pub async fn get(&self, auth: Auth<'_>, path: &str) -> Reply {
        self.call(Method::GET, path, auth, Body::None).await
    }

    pub async fn put(&self, auth: Auth<'_>, path: &str, body: Value) -> Reply {
        self.call(Method::PUT, path, auth, Body::Json(body)).await
    }

    pub async fn post(&self, auth: Auth<'_>, path: &str, body: Value) -> Reply {
        self.call(Method::POST, path, auth, Body::Json(body)).await
    }

    pub async fn delete(&self, auth: Auth<'_>, path: &str) -> Reply {
        self.call(Method::DELETE, path, auth, Body::None).await
    }

    /// A GET that must answer 200 with JSON.
    pub async fn read(&self, auth: Auth<'_>, path: &str) -> Value {
        let reply = self.get(auth, path).await;
        assert_eq!(reply.status, 200, "GET {path}: {}", reply.text);
        reply.json
    }

    /// A JSON request that must answer `status`.
    pub async fn write(
        &self,
        status: u16,
        method: Method,
        path: &str,
        auth: Auth<'_>,
        body: Value,
    ) -> Value {
        let reply = self.call(method.clone(), path, auth, Body::Json(body)).await;
        assert_eq!(reply.status, status, "{method} {path}: {}", reply.text);
        reply.json
    }
}

impl Drop for Market {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- server log ---\n{}\n---", self.log.lines().join("\n"));
        }
    }
}

/// The HTTP side of a [`Market`], bound to one run of its server: cheap to clone, `Send`, and
/// its calls answer `Err` instead of panicking when the server is gone (a crash test's
/// requests in flight).
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    tokens: Arc<BTreeMap<String, String>>,
}

impl Client {
    /// A new EUR cart of `customer` with one unit of `asin` from `seller`; answers its id.
    pub async fn cart_of_one(&self, customer: &str, asin: &str, seller: &str) -> String {
        let who = Auth::As(customer);
        let body = Body::Json(serde_json::json!({"currency": "EUR"}));
        let created = self.try_call(Method::POST, "/v1/carts", who, &[], body).await.unwrap();
        assert_eq!(created.status, 201, "{}", created.text);
        let id = created.json["id"].as_str().unwrap().to_string();
        let item = serde_json::json!({"asin": asin, "seller": seller, "quantity": 1});
        let path = format!("/v1/carts/{id}/items");
        let added = self.try_call(Method::POST, &path, who, &[], Body::Json(item)).await.unwrap();
        assert_eq!(added.status, 200, "{}", added.text);
        id
    }

    /// Sends a request; `Err` when no complete answer arrived (connection refused or reset).
    pub async fn try_call(
        &self,
        method: Method,
        path: &str,
        auth: Auth<'_>,
        headers: &[(&str, &str)],
        body: Body,
    ) -> Result<Reply, String> {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        match auth {
            Auth::As(principal) => {
                let token = self.tokens.get(principal).expect("a token for the principal");
                request = request.bearer_auth(token);
            }
            Auth::None => {}
            Auth::Header(value) => request = request.header("authorization", value),
        }
        request = match body {
            Body::None => request,
            Body::Json(value) => request.json(&value),
            Body::Raw(content_type, bytes) => {
                let request = match content_type {
                    Some(content_type) => request.header("content-type", content_type),
                    None => request,
                };
                request.body(bytes)
            }
        };
        let response = request.send().await.map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let content_type = match headers.get("content-type") {
            Some(value) => value.to_str().unwrap().to_string(),
            None => String::new(),
        };
        let text = response.text().await.map_err(|e| e.to_string())?;
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Ok(Reply { status, content_type, headers, text, json })
    }
}

/// Asserts a problem answer: status, content type and stable code.
#[track_caller]
pub fn assert_problem(reply: &Reply, status: u16, code: &str) {
    assert_problem_of("the request", reply, status, code);
}

#[track_caller]
pub fn assert_problem_of(what: &str, reply: &Reply, status: u16, code: &str) {
    assert_eq!(
        (reply.status, reply.content_type.as_str(), reply.json["code"].as_str()),
        (status, "application/problem+json", Some(code)),
        "{what}: {}",
        reply.text
    );
    assert_eq!(reply.json["status"], status, "{what}: {}", reply.text);
}
