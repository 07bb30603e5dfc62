//! A node as a process, for the benches that load one over HTTP: its configuration (the
//! repository's `cluster.toml` with a bench's changes), its start with its log in
//! `target/bench`, its stop, its CPU time and its `/metrics`.

use std::collections::BTreeMap;
use std::fs::File;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use bazaar::testkit::{Bazaar, Server};

/// Writes the repository's `cluster.toml` into `dir` with each `(table path, key, value)` of
/// `changes` set (tables created as needed), and returns its path.
pub fn write_config(
    dir: &Path,
    changes: &[(&[&str], &str, toml::Value)],
) -> anyhow::Result<PathBuf> {
    let source = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("cluster.toml");
    let text = std::fs::read_to_string(&source).context("read cluster.toml")?;
    let mut config: toml::Table = text.parse().context("parse cluster.toml")?;
    for (tables, key, value) in changes {
        let mut table = &mut config;
        for name in *tables {
            table = table
                .entry(name.to_string())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()))
                .as_table_mut()
                .with_context(|| format!("[{name}] is a table"))?;
        }
        table.insert(key.to_string(), value.clone());
    }
    let path = dir.join("cluster.toml");
    std::fs::write(&path, toml::to_string(&config)?).context("write the bench's cluster.toml")?;
    Ok(path)
}

/// What a bench's node logs: warnings only, or also its start-up report (with timestamps:
/// how long each step of a restart took).
pub const LOG_WARNINGS: &str = "warn";
pub const LOG_START_UP: &str = "warn,bazaar::serve=info";

/// Starts `serve` logging at `filter` (`RUST_LOG`), its stderr appended to `log`, and waits
/// until it is ready.
pub fn start_serve(
    bazaar: &Bazaar,
    config: &Path,
    data: &Path,
    args: &[String],
    (log, filter): (&Path, &str),
) -> anyhow::Result<Server> {
    let log = File::options().create(true).append(true).open(log)?;
    let mut serve = bazaar.serve(config, data, args);
    serve.env("NO_COLOR", "1").env("RUST_LOG", filter);
    Ok(Server::start(serve.stderr(log)))
}

/// SIGTERM, which must end in exit 0. `serve` gives its entities 30 s to stop, so this waits
/// a little longer, and says so when stopping took more than a few seconds.
pub fn terminate(server: Server) -> anyhow::Result<()> {
    let began = Instant::now();
    let status = server.terminate_within(Duration::from_secs(60));
    ensure!(status.success(), "serve ended with {status} after SIGTERM");
    let took = began.elapsed();
    if took > Duration::from_secs(5) {
        eprintln!("  WARNING: serve took {:.1} s to stop after SIGTERM", took.as_secs_f64());
    }
    Ok(())
}

/// The last `n` lines of a file.
pub fn log_tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// `target/bench/NAME-serve.log`, emptied: where a bench's node logs (beside the figures).
pub fn log_path(name: &str) -> anyhow::Result<PathBuf> {
    let dir = super::target_dir().join("bench");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("{name}-serve.log"));
    let _ = std::fs::remove_file(&path);
    Ok(path)
}

/// User and system CPU time of process `pid` so far.
pub fn process_cpu(pid: u32) -> anyhow::Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // After the command's name in parentheses: state is field 3; utime and stime are 14, 15.
    let fields: Vec<&str> =
        stat.rsplit_once(')').context("a stat line")?.1.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>()? + fields[12].parse::<u64>()?;
    let per_s = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Ok(Duration::from_micros(ticks * 1_000_000 / per_s))
}

/// Resident set size of process `pid`, in bytes.
pub fn process_rss(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).context("no VmRSS")?;
    let kib: u64 = line.split_whitespace().nth(1).context("a VmRSS value")?.parse()?;
    Ok(kib * 1024)
}

/// The node's `/metrics` at `address`, by series (name and labels; comments skipped).
pub async fn metrics(address: SocketAddr) -> anyhow::Result<BTreeMap<String, f64>> {
    let mut http = super::http::Connection::open(address).await?;
    let reply = http.call(hyper::Method::GET, "/metrics", None, &[], None).await?;
    ensure!(reply.status == hyper::StatusCode::OK, "GET /metrics: {}", reply.status);
    Ok(bazaar::testkit::parse_metrics(&String::from_utf8_lossy(&reply.body)))
}
