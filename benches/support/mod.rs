//! What every benchmark shares: `--quick`, the printed table, and `target/bench/NAME.json`, a
//! flat JSON object whose keys end in their unit (`_per_s`, `_ms`, `_bytes`, `_ratio`);
//! scratch directories on a real disk; and the HTTP client of the benches that load a node
//! ([`http`]). The node itself is started through `bazaar::node` (in process) or
//! `bazaar::testkit` (as processes), as the tests start it.

#![allow(dead_code)] // each bench uses a different part

pub mod http;
pub mod node;

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;

use anyhow::Context;

pub struct Report {
    name: &'static str,
    quick: bool,
    figures: BTreeMap<String, f64>,
}

impl Report {
    /// Reads `--quick` from the command line (`cargo bench --bench NAME -- --quick`).
    pub fn new(name: &'static str) -> Report {
        let quick = std::env::args().any(|arg| arg == "--quick");
        eprintln!("bench {name}: {} run", if quick { "quick" } else { "full" });
        Report { name, quick, figures: BTreeMap::new() }
    }

    pub fn quick(&self) -> bool {
        self.quick
    }

    /// Picks the quick or the full size of a parameter.
    pub fn size<T>(&self, quick: T, full: T) -> T {
        if self.quick { quick } else { full }
    }

    /// Records one figure; `key` must end in its unit.
    pub fn record(&mut self, key: impl Into<String>, value: f64) {
        let key = key.into();
        assert!(
            ["_per_s", "_ms", "_bytes", "_ratio", "_count"].iter().any(|unit| key.ends_with(unit)),
            "figure {key} does not end in a unit"
        );
        eprintln!("  {key:<40} {value:>16.2}");
        self.figures.insert(key, value);
    }

    /// Records `numerator / denominator` as `key` (a `_ratio`).
    pub fn ratio(&mut self, key: &str, numerator: &str, denominator: &str) {
        let value = self.figures[numerator] / self.figures[denominator];
        self.record(key, value);
    }

    /// Prints the table and writes the JSON file.
    pub fn finish(self) {
        println!("\n{:<44} {:>16}", format!("{} figure", self.name), "value");
        println!("{}", "-".repeat(61));
        for (key, value) in &self.figures {
            println!("{key:<44} {value:>16.2}");
        }
        let dir = target_dir().join("bench");
        std::fs::create_dir_all(&dir).expect("create target/bench");
        let path = dir.join(format!("{}.json", self.name));
        let body = self
            .figures
            .iter()
            .map(|(key, value)| format!("  \"{key}\": {}", json_number(*value)))
            .collect::<Vec<_>>()
            .join(",\n");
        std::fs::write(&path, format!("{{\n{body}\n}}\n")).expect("write bench json");
        println!("\nwrote {}", path.display());
    }
}

fn json_number(value: f64) -> String {
    if value.is_finite() { format!("{value:.3}") } else { "null".into() }
}

pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"))
}

/// A fresh directory `bench-NAME-*` under the target directory, removed when dropped: a real
/// disk (`/tmp` may be tmpfs, where an fsync costs nothing).
pub fn scratch_dir(name: &str) -> anyhow::Result<tempfile::TempDir> {
    let target = target_dir();
    std::fs::create_dir_all(&target).context("create the target directory")?;
    tempfile::Builder::new()
        .prefix(&format!("bench-{name}-"))
        .tempdir_in(&target)
        .context("create a scratch directory under the target directory")
}

/// Resident set size of this process, in bytes.
pub fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    pages * 4096
}

/// A latency histogram in microseconds, 1 µs to 60 s.
pub fn histogram() -> hdrhistogram::Histogram<u64> {
    hdrhistogram::Histogram::new_with_bounds(1, 60_000_000, 3).expect("histogram bounds")
}

/// The `q` quantile of a microsecond histogram, in milliseconds.
pub fn quantile_ms(histogram: &hdrhistogram::Histogram<u64>, q: f64) -> f64 {
    histogram.value_at_quantile(q) as f64 / 1000.0
}

/// Runs a bench's `run` on one client thread in a fresh scratch directory (`bench-NAME-*`
/// under the target directory), then writes its report. One thread for the clients: a load
/// is a few microseconds of work per request, and a second worker would add a futex wake-up
/// and a thread switch to many of them, on the cores the node under test shares.
pub fn run_on_client_thread<F>(
    report: Report,
    run: impl FnOnce(Report, std::path::PathBuf) -> F,
) -> anyhow::Result<()>
where
    F: Future<Output = anyhow::Result<Report>>,
{
    let scratch = scratch_dir(report.name)?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let outcome = runtime.block_on(run(report, scratch.path().to_path_buf()));
    runtime.shutdown_timeout(std::time::Duration::from_secs(5));
    outcome?.finish();
    drop(scratch);
    Ok(())
}
