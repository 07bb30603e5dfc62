//! A real `bazaar serve` process: started on a free loopback port with the repository's
//! `cluster.toml`, waited for until ready, its stderr optionally kept ([`ServerLog`]),
//! stopped by signal; and the `bazaar token` commands run beside it.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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
    pub fn until_ready(mut child: Child) -> Server {
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
    pub fn terminate(self) -> std::process::ExitStatus {
        self.terminate_within(Duration::from_secs(30))
    }

    /// Sends SIGTERM and waits for the exit status, failing the test past `limit`.
    pub fn terminate_within(mut self, limit: Duration) -> std::process::ExitStatus {
        signal(&self.child, libc::SIGTERM);
        let status = wait_exit(&mut self.child, limit);
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
