//! Helpers shared by the black-box tests: a real `bazaar serve` process on a free loopback
//! port, and polling with a deadline.

#![allow(dead_code)] // each test binary uses a part

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
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
        let mut child = serve_command(data_dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
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
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `bazaar serve` on `data_dir`, port 0, the repository's cluster.toml.
pub fn serve_command(data_dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_bazaar"));
    command
        .arg("serve")
        .arg("--config")
        .arg(root().join("cluster.toml"))
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--listen")
        .arg("127.0.0.1:0")
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
