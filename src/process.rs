//! The `bazaar` executable's child processes, for whoever starts them: `bazaar sim` (its
//! embedded marketplace) and, behind the `testkit` feature, the tests and benches
//! (`crate::testkit`, which turns these errors into panics).
//!
//! Invariants: a child's stdout is read until the line the caller waits for, then drained in
//! the background, so a child never blocks on a full pipe; a child that stops before saying
//! what was waited for is an error naming what it printed last, never a hang on a closed pipe.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// Spawns `bazaar psp --listen 127.0.0.1:0 --name NAME ARGS...` with `exe` (stdout piped,
/// stderr inherited, logging at `warn`) and waits for the line saying where it listens.
/// Answers the child and its base URL `http://127.0.0.1:PORT`.
pub fn spawn_psp(exe: &Path, name: &str, args: &[&str]) -> anyhow::Result<(Child, String)> {
    spawn_simulator(exe, "psp", name, args)
}

/// Starts `bazaar TOOL --listen 127.0.0.1:0 --name NAME ARGS...` (a `psp` or a `carrier`) and
/// waits for the line saying where it listens; answers the child and its base URL.
pub fn spawn_simulator(
    exe: &Path,
    tool: &str,
    name: &str,
    args: &[&str],
) -> anyhow::Result<(Child, String)> {
    let mut child = Command::new(exe)
        .args([tool, "--listen", "127.0.0.1:0", "--name", name])
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("cannot start {} {tool}", exe.display()))?;
    let stdout = child.stdout.take().context("the simulator's stdout is not piped")?;
    let mut lines = BufReader::new(stdout).lines();
    let line = match lines.next() {
        Some(line) => line.context("the simulator printed no utf-8 line")?,
        None => {
            let _ = child.kill();
            let _ = child.wait();
            bail!("{tool} {name} stopped before printing where it listens");
        }
    };
    let prefix = format!("bazaar {tool} {name} listening on ");
    let Some(base) = line.strip_prefix(&prefix) else {
        let _ = child.kill();
        let _ = child.wait();
        bail!("{tool} {name} printed {line:?}, not where it listens");
    };
    let base = base.to_string();
    drain(lines);
    Ok((child, base))
}

/// Waits until a spawned `serve` (stdout piped) has recovered: its first line says where it
/// listens (`... http://127.0.0.1:PORT`), a later one that it is ready. Answers the base URL.
/// On an error the child is left running: the caller owns it.
pub fn serve_until_ready(child: &mut Child) -> anyhow::Result<String> {
    let stdout = child.stdout.take().context("serve stdout is not piped")?;
    let mut lines = BufReader::new(stdout).lines();
    let line = lines.next().context("serve printed nothing")?.context("a utf-8 line")?;
    let base = line.split_whitespace().last().unwrap_or_default().to_string();
    if !base.starts_with("http://") {
        bail!("unexpected first line of serve {line:?}");
    }
    loop {
        let line = lines.next().context("serve stopped before it was ready")?;
        if line.context("a utf-8 line")?.ends_with(" ready") {
            break;
        }
    }
    drain(lines);
    Ok(base)
}

/// The tokens a first start wrote to `DATA_DIR/initial-tokens.txt`, by principal
/// (`customer-1`, `seller-1`, `support-1`, `operator-1`).
pub fn read_initial_tokens(data_dir: &Path) -> anyhow::Result<BTreeMap<String, String>> {
    let path = data_dir.join("initial-tokens.txt");
    let listing = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let mut tokens = BTreeMap::new();
    for line in listing.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.len() != 4 {
            bail!("{}: expected tenant role principal token, got {line:?}", path.display());
        }
        tokens.insert(words[2].to_string(), words[3].to_string());
    }
    Ok(tokens)
}

/// Sends `signal` to `child`.
pub fn signal(child: &Child, signal: i32) -> std::io::Result<()> {
    let pid = i32::try_from(child.id()).map_err(std::io::Error::other)?;
    // SAFETY: kill(2) takes any pid and signal number; it touches no memory of ours.
    let rc = unsafe { libc::kill(pid, signal) };
    if rc == 0 { Ok(()) } else { Err(std::io::Error::last_os_error()) }
}

/// Waits for a child to exit; `None` past `limit` (the child is still running).
pub fn wait_exit_within(child: &mut Child, limit: Duration) -> std::io::Result<Option<ExitStatus>> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        if Instant::now() >= deadline {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Keeps reading `lines` in the background, so the child never blocks on a full pipe.
pub fn drain(lines: impl Iterator + Send + 'static) {
    std::thread::spawn(move || lines.for_each(drop));
}
