//! Helpers shared by the black-box tests: a real `bazaar serve` process on a free loopback
//! port, polling with a deadline, and [`Market`], a server driven over real HTTP with a token
//! per principal and problem+json assertions (its [`Client`] moves into tasks and outlives a
//! killed server); the calls and readings the catalog tests share (sellers, offers, stock,
//! standing, the buy box, search hits); payment simulators ([`psp`]); and checkouts, orders
//! and the ledger ([`checkout`]).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod catalog;
pub mod checkout;
pub mod psp;

pub use catalog::*;
use reqwest::Method;
use serde_json::Value;

/// The repository root (where `cluster.toml` lives).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A running `bazaar serve`, killed when dropped.
pub struct Server {
    pub child: Child,
    pub base: String,
}

impl Server {
    /// Starts `bazaar serve` on `data_dir` and waits until it has recovered: its first line
    /// says where it listens, a later one that it is ready.
    pub fn start(data_dir: &Path) -> Server {
        Server::start_with(data_dir, &[])
    }

    /// [`Server::start`] with more `serve` arguments (for instance `--psp NAME=URL`).
    pub fn start_with(data_dir: &Path, args: &[String]) -> Server {
        let child = serve_command_with(data_dir, args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        Server::until_ready(child)
    }

    /// Like [`Server::start`], with `RUST_LOG=filter` and the child's stderr kept in the
    /// returned [`ServerLog`] (without colours) instead of passed through.
    pub fn start_logging(data_dir: &Path, filter: &str) -> (Server, ServerLog) {
        Server::start_logging_with(data_dir, filter, &[])
    }

    /// [`Server::start_logging`] with more `serve` arguments.
    pub fn start_logging_with(
        data_dir: &Path,
        filter: &str,
        args: &[String],
    ) -> (Server, ServerLog) {
        let mut child = serve_command_with(data_dir, args)
            .env("RUST_LOG", filter)
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = ServerLog::default();
        let stderr = BufReader::new(child.stderr.take().unwrap());
        let lines = log.lines.clone();
        std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                lines.lock().unwrap().push(strip_ansi(&line));
            }
        });
        (Server::until_ready(child), log)
    }

    /// Waits until a spawned `serve` (stdout piped) has recovered.
    fn until_ready(mut child: Child) -> Server {
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let line = lines.next().expect("serve printed nothing").unwrap();
        let base = line.split_whitespace().last().expect("an address").to_string();
        assert!(base.starts_with("http://127.0.0.1:"), "unexpected first line {line:?}");
        loop {
            let line = lines.next().expect("serve stopped before it was ready").unwrap();
            if line.ends_with(" ready") {
                break;
            }
        }
        // Keep draining stdout so the child never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Server { child, base }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        signal(&self.child, libc::SIGTERM);
        let status = wait_exit(&mut self.child, Duration::from_secs(30));
        std::mem::forget(self);
        status
    }

    /// Sends SIGKILL (no shutdown at all) and waits for the process to be gone.
    pub fn kill(mut self) -> std::process::ExitStatus {
        signal(&self.child, libc::SIGKILL);
        let status = wait_exit(&mut self.child, Duration::from_secs(30));
        std::mem::forget(self);
        status
    }
}

/// The stderr lines of a server started with [`Server::start_logging`], as they arrive.
#[derive(Clone, Default)]
pub struct ServerLog {
    lines: Arc<Mutex<Vec<String>>>,
}

impl ServerLog {
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// The first line containing `needle`, waiting up to `limit` for it (stderr and stdout
    /// are separate pipes, so a line logged before `ready` may be read after it).
    pub fn wait_for(&self, needle: &str, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(line) = self.lines().into_iter().find(|line| line.contains(needle)) {
                return line;
            }
            assert!(
                Instant::now() < deadline,
                "no log line with {needle:?} within {limit:?}:\n{}",
                self.lines().join("\n")
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// `text` without ANSI escape sequences (`ESC [ ... letter`).
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `bazaar token add`: mints a token of the default tenant for `principal` and returns it.
/// A running `serve` reads credentials only at start, so mint before starting it; and a
/// first start generates the initial tokens only when no credential exists yet.
pub fn mint_token(data_dir: &Path, role: &str, principal: &str) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_bazaar"))
        .args(["token", "add", "--role", role, "--principal", principal, "--data-dir"])
        .arg(data_dir)
        .output()
        .unwrap();
    assert!(output.status.success(), "token add: {}", String::from_utf8_lossy(&output.stderr));
    let token = String::from_utf8(output.stdout).unwrap().trim().to_string();
    assert!(token.starts_with("bzr_"), "token add printed {token:?}");
    token
}

/// The tokens a first start wrote to `DATA_DIR/initial-tokens.txt`, by principal
/// (`customer-1`, `seller-1`, `support-1`, `operator-1`).
pub fn initial_tokens(data_dir: &Path) -> BTreeMap<String, String> {
    let listing = std::fs::read_to_string(data_dir.join("initial-tokens.txt")).unwrap();
    listing
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(words.len(), 4, "tenant role principal token: {line:?}");
            (words[2].to_string(), words[3].to_string())
        })
        .collect()
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `bazaar serve` on `data_dir`, port 0, the repository's cluster.toml.
pub fn serve_command(data_dir: &Path) -> Command {
    serve_command_with(data_dir, &[])
}

/// [`serve_command`] with more arguments after the usual ones.
pub fn serve_command_with(data_dir: &Path, args: &[String]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_bazaar"));
    command
        .arg("serve")
        .arg("--config")
        .arg(root().join("cluster.toml"))
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--listen")
        .arg("127.0.0.1:0")
        .args(args)
        .env("RUST_LOG", "warn");
    command
}

pub fn signal(child: &Child, signal: i32) {
    let rc = unsafe { libc::kill(child.id() as i32, signal) };
    assert_eq!(rc, 0, "kill({}, {signal})", child.id());
}

/// Waits for a child to exit, failing the test past `limit`.
pub fn wait_exit(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "process {} did not exit within {limit:?}", child.id());
        std::thread::sleep(Duration::from_millis(10));
    }
}

// ---------------------------------------------------------------------------------------------
// A marketplace over HTTP

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
    dir: tempfile::TempDir,
    http: reqwest::Client,
    tokens: Arc<BTreeMap<String, String>>,
    /// More `serve` arguments, given to every start.
    serve_args: Vec<String>,
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
        let first = Server::start_with(dir.path(), serve_args);
        let mut tokens = initial_tokens(dir.path());
        for principal in ["customer-1", "seller-1", "support-1", "operator-1"] {
            assert!(tokens.contains_key(principal), "initial tokens lack {principal}: {tokens:?}");
        }
        let status = first.terminate();
        assert!(status.success(), "SIGTERM must end in exit 0, got {status}");
        for (role, principal) in more {
            tokens.insert(principal.to_string(), mint_token(dir.path(), role, principal));
        }
        let (server, log) = Server::start_logging_with(dir.path(), LOG_FILTER, serve_args);
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        let (tokens, serve_args) = (Arc::new(tokens), serve_args.to_vec());
        Market { server: Some(server), log, dir, http, tokens, serve_args }
    }

    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn url(&self, path: &str) -> String {
        self.server.as_ref().expect("a running server").url(path)
    }

    /// SIGTERM (which must end in exit 0), then a new `serve` on the same data directory.
    pub fn restart(&mut self) {
        self.terminate();
        self.start();
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
        let status = self.server.take().expect("a running server").kill();
        assert!(!status.success(), "SIGKILL ends a process with a signal, got {status}");
        self.start();
    }

    fn start(&mut self) {
        let (server, log) =
            Server::start_logging_with(self.data_dir(), LOG_FILTER, &self.serve_args);
        self.server = Some(server);
        self.log = log;
    }

    /// The start-up report of the running server: which tenants' search indexes were rebuilt.
    pub fn search_rebuilt(&self) -> String {
        let line = self.log.wait_for("read models rebuilt", EVENTUALLY);
        let (_, rebuilt) = line.split_once("search_rebuilt=").expect("search_rebuilt field");
        rebuilt.trim().to_string()
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
        let base = self.server.as_ref().expect("a running server").base.clone();
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
