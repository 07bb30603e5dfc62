//! The `bazaar` executable's processes for tests and benches (the `testkit` feature; never on
//! in the shipped binary): `bazaar serve` started on a free loopback port and waited for
//! until ready ([`Server`]), its stderr optionally kept ([`ServerLog`]); `bazaar psp`
//! simulators ([`SimulatorProcess`]); `bazaar token add` and the initial tokens a first start
//! writes.
//!
//! A test kit: every failure panics, saying what went wrong, as a test's assertion would.
//! Every child is killed and reaped when its handle is dropped, so a failing test leaves no
//! process behind. Each child's stdout is read until the line a caller waits for, then
//! drained in the background, so a child never blocks on a full pipe.
//!
//! Only an integration test or a bench knows where cargo built the executable
//! (`env!("CARGO_BIN_EXE_bazaar")`), so [`Bazaar::at`] is given its path.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a `Server` is given to stop after SIGTERM by [`Server::terminate`]: `serve` gives
/// its entities 30 s to write their snapshots.
pub const TERMINATE_WAIT: Duration = Duration::from_secs(30);

/// The `bazaar` executable under test.
#[derive(Clone, Debug)]
pub struct Bazaar {
    exe: PathBuf,
}

impl Bazaar {
    /// The executable at `exe`: `Bazaar::at(env!("CARGO_BIN_EXE_bazaar"))`.
    pub fn at(exe: impl Into<PathBuf>) -> Bazaar {
        Bazaar { exe: exe.into() }
    }

    /// The executable, with no arguments yet.
    pub fn command(&self) -> Command {
        Command::new(&self.exe)
    }

    /// `bazaar serve --config CONFIG --data-dir DATA_DIR --listen 127.0.0.1:0 ARGS...`, logging
    /// at `RUST_LOG=warn` unless the caller sets another filter.
    pub fn serve(&self, config: &Path, data_dir: &Path, args: &[String]) -> Command {
        let mut command = self.command();
        command
            .arg("serve")
            .arg("--config")
            .arg(config)
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--listen")
            .arg("127.0.0.1:0")
            .args(args)
            .env("RUST_LOG", "warn");
        command
    }

    /// Starts `bazaar psp --listen 127.0.0.1:0 --name NAME ARGS...` (its log at `warn`, on
    /// this process's stderr) and waits for the line saying where it listens.
    /// `bazaar carrier --listen 127.0.0.1:0 --name NAME ARGS...`, once it listens.
    pub fn carrier(&self, name: &str, args: &[&str]) -> SimulatorProcess {
        let (child, base) = crate::process::spawn_simulator(&self.exe, "carrier", name, args)
            .unwrap_or_else(|error| panic!("bazaar carrier {name}: {error:#}"));
        SimulatorProcess { child, name: name.to_string(), base }
    }

    pub fn psp(&self, name: &str, args: &[&str]) -> SimulatorProcess {
        let (child, base) = crate::process::spawn_psp(&self.exe, name, args)
            .unwrap_or_else(|error| panic!("bazaar psp {name}: {error:#}"));
        assert!(base.starts_with("http://127.0.0.1:") && !base.ends_with(":0"), "{base:?}");
        SimulatorProcess { child, name: name.to_string(), base }
    }

    /// `bazaar token add`: mints a token of the default tenant for `principal` and returns it.
    /// A running `serve` reads credentials only at start, so mint before starting it; and a
    /// first start generates the initial tokens only when no credential exists yet.
    pub fn mint_token(&self, data_dir: &Path, role: &str, principal: &str) -> String {
        let output = self
            .command()
            .args(["token", "add", "--role", role, "--principal", principal, "--data-dir"])
            .arg(data_dir)
            .output()
            .expect("bazaar token add runs");
        assert!(output.status.success(), "token add: {}", String::from_utf8_lossy(&output.stderr));
        let token = String::from_utf8(output.stdout).expect("utf-8").trim().to_string();
        assert!(token.starts_with("bzr_"), "token add printed {token:?}");
        token
    }
}

/// A running `bazaar serve`, killed when dropped.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    base: String,
}

impl Server {
    /// Spawns `serve` (a [`Bazaar::serve`] command) with its stdout piped, its stderr where
    /// the command says (this process's by default), and waits until it has recovered.
    pub fn start(serve: &mut Command) -> Server {
        Server::until_ready(serve.stdout(Stdio::piped()).spawn().expect("bazaar serve starts"))
    }

    /// [`Server::start`], with the child's stderr kept in the returned [`ServerLog`] (without
    /// colours) instead of passed through.
    pub fn start_logging(serve: &mut Command) -> (Server, ServerLog) {
        let mut child = serve
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("bazaar serve starts");
        let log = ServerLog::default();
        let stderr = BufReader::new(child.stderr.take().expect("piped stderr"));
        let lines = log.lines.clone();
        std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                lines.lock().expect("log lock").push(strip_ansi(&line));
            }
        });
        (Server::until_ready(child), log)
    }

    /// Waits until a spawned `serve` (stdout piped) has recovered: its first line says where
    /// it listens, a later one that it is ready.
    pub fn until_ready(mut child: Child) -> Server {
        let base = crate::process::serve_until_ready(&mut child)
            .unwrap_or_else(|error| panic!("bazaar serve: {error:#}"));
        assert!(base.starts_with("http://127.0.0.1:"), "unexpected address {base:?}");
        Server { child, base }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn address(&self) -> SocketAddr {
        address_of(&self.base)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM and waits up to [`TERMINATE_WAIT`] for the exit status.
    pub fn terminate(self) -> ExitStatus {
        self.terminate_within(TERMINATE_WAIT)
    }

    /// Sends SIGTERM and waits for the exit status, panicking past `limit`.
    pub fn terminate_within(mut self, limit: Duration) -> ExitStatus {
        signal(&self.child, libc::SIGTERM);
        let status = wait_exit(&mut self.child, limit);
        std::mem::forget(self);
        status
    }

    /// Sends SIGKILL (no shutdown at all) and waits for the process to be gone.
    pub fn kill(mut self) -> ExitStatus {
        signal(&self.child, libc::SIGKILL);
        let status = wait_exit(&mut self.child, Duration::from_secs(30));
        std::mem::forget(self);
        status
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The stderr lines of a server started with [`Server::start_logging`], as they arrive.
#[derive(Clone, Default)]
pub struct ServerLog {
    lines: Arc<Mutex<Vec<String>>>,
}

impl ServerLog {
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().expect("log lock").clone()
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

/// A running `bazaar psp` simulator ([`Bazaar::psp`]), killed when dropped.
pub struct SimulatorProcess {
    child: Child,
    pub name: String,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
}

impl SimulatorProcess {
    pub fn address(&self) -> SocketAddr {
        address_of(&self.base)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for SimulatorProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Prometheus text (`/metrics`) as `series -> value`, each series its name and labels as
/// written (`engine_activations_total{kind="product"}`); comments are skipped.
pub fn parse_metrics(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            Some((series.to_string(), value.parse().ok()?))
        })
        .collect()
}

/// The tokens a first start wrote to `DATA_DIR/initial-tokens.txt`, by principal
/// (`customer-1`, `seller-1`, `support-1`, `operator-1`).
pub fn initial_tokens(data_dir: &Path) -> BTreeMap<String, String> {
    crate::process::read_initial_tokens(data_dir).expect("initial-tokens.txt is readable")
}

pub fn signal(child: &Child, signal: i32) {
    crate::process::signal(child, signal)
        .unwrap_or_else(|error| panic!("kill({}, {signal}): {error}", child.id()));
}

/// Waits for a child to exit, panicking past `limit`.
pub fn wait_exit(child: &mut Child, limit: Duration) -> ExitStatus {
    let status = crate::process::wait_exit_within(child, limit).expect("the child's status");
    status.unwrap_or_else(|| panic!("process {} did not exit within {limit:?}", child.id()))
}

/// The address of `http://HOST:PORT`.
fn address_of(base: &str) -> SocketAddr {
    base.trim_start_matches("http://").parse().expect("an http://HOST:PORT base")
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
