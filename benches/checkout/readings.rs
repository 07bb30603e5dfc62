//! The checkout bench's readings at the window's edges: CPU time of each process and of the
//! machine, the load average, and the node's `/metrics`, from which the breakdown of engine
//! asks and journal syncs per checkout is printed.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::support::node::{metrics, process_cpu};
use anyhow::{Context, ensure};
use bazaar::testkit::{Server, SimulatorProcess};

pub struct Sample {
    pub node_cpu: Duration,
    pub own_cpu: Duration,
    pub psp_cpu: Duration,
    /// Busy and total jiffies of the machine.
    pub machine: (u64, u64),
    pub loadavg: String,
    /// The node's `/metrics`, by series (name and labels).
    pub metrics: BTreeMap<String, f64>,
}

impl Sample {
    pub async fn take(
        node: &Server,
        primary: &SimulatorProcess,
        backup: &SimulatorProcess,
    ) -> anyhow::Result<Sample> {
        let sample = Sample {
            node_cpu: process_cpu(node.pid())?,
            own_cpu: process_cpu(std::process::id())?,
            psp_cpu: process_cpu(primary.pid())? + process_cpu(backup.pid())?,
            machine: machine_jiffies()?,
            loadavg: std::fs::read_to_string("/proc/loadavg")?
                .split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" "),
            metrics: BTreeMap::new(),
        };
        Ok(Sample { metrics: metrics(node.address()).await?, ..sample })
    }
}

/// The machine's busy and total CPU jiffies so far (`/proc/stat`, idle and iowait as idle).
pub fn machine_jiffies() -> anyhow::Result<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat")?;
    let line = stat.lines().next().context("a cpu line")?;
    let values: Vec<u64> = line.split_whitespace().skip(1).filter_map(|v| v.parse().ok()).collect();
    ensure!(values.len() >= 5, "unexpected /proc/stat line {line:?}");
    // user nice system idle iowait irq softirq steal (guest time is inside user).
    let total: u64 = values.iter().take(8).sum();
    Ok((total - values[3] - values[4], total))
}

/// Per checkout over the window: engine asks and activations of every kind, journal events
/// and journal syncs.
pub struct Breakdown {
    pub asks: f64,
    /// Entity actors started (from snapshot and journal), of every kind.
    pub activations: f64,
    pub events: f64,
    pub syncs: f64,
}

/// Engine asks per checkout by kind, with their mean and p99 time, and the journal's group
/// commits, over the window; answers the totals per checkout.
pub fn print_breakdown(
    before: &BTreeMap<String, f64>,
    after: &BTreeMap<String, f64>,
    checkouts: u64,
) -> Breakdown {
    let delta =
        |series: &str| after.get(series).unwrap_or(&0.0) - before.get(series).unwrap_or(&0.0);
    let per = checkouts.max(1) as f64;
    eprintln!(
        "  engine asks over the window (from /metrics; p99 over the exporter's recent window):"
    );
    eprintln!(
        "    {:<16} {:>12} {:>10} {:>10} {:>12}",
        "kind", "per checkout", "mean ms", "p99 ms", "activations"
    );
    let (mut asks, mut activations) = (0.0, 0.0);
    for series in after.keys() {
        let Some(labels) = series.strip_prefix("engine_ask_seconds_count") else { continue };
        let count = delta(series);
        if count <= 0.0 {
            continue;
        }
        asks += count;
        let sum = delta(&format!("engine_ask_seconds_sum{labels}"));
        let p99_series = format!("engine_ask_seconds{}", with_label(labels, "quantile=\"0.99\""));
        let p99 = after.get(&p99_series).map_or(f64::NAN, |s| s * 1000.0);
        let kind = labels.trim_start_matches("{kind=\"").trim_end_matches("\"}");
        let started = delta(&format!("engine_activations_total{labels}"));
        activations += started;
        eprintln!(
            "    {kind:<16} {:>12.2} {:>10.2} {:>10.2} {:>12.2}",
            count / per,
            sum / count * 1000.0,
            p99,
            started / per
        );
    }
    let flushes = delta("journal_flush_seconds_count");
    if flushes > 0.0 {
        eprintln!(
            "  journal: {:.1} events per checkout; {:.2} syncs per checkout, {:.2} ms each on \
             average; {:.1} events per write batch",
            delta("journal_events_total") / per,
            flushes / per,
            delta("journal_flush_seconds_sum") / flushes * 1000.0,
            delta("journal_batch_events_sum") / delta("journal_batch_events_count").max(1.0)
        );
    }
    Breakdown {
        asks: asks / per,
        activations: activations / per,
        events: delta("journal_events_total") / per,
        syncs: flushes / per,
    }
}

/// `{a="b"}` with `label` added.
fn with_label(labels: &str, label: &str) -> String {
    match labels.strip_suffix('}') {
        Some(open) if open.len() > 1 => format!("{open},{label}}}"),
        _ => format!("{{{label}}}"),
    }
}
