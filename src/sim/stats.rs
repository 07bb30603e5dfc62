//! What the load measured: HDR histograms of latency per operation over the run and per
//! second, errors by code, how late the simulator sent, and the reduction of all that into the
//! report's summaries.
//!
//! Invariants: latencies are recorded in microseconds, saturating at [`LATENCY_US_HIGHEST`]
//! (a request slower than that is recorded at it, never dropped), so counts always add up:
//! an operation's `count` is the sum of its seconds' counts, and [`Stats::merge`] of two parts
//! equals the stats of their samples recorded into one. A sample's second is that of its
//! intended start. Pure: no clock, no I/O.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;

use super::report::{OPERATIONS, OperationSummary, ScheduleKeeping, Second, SecondSummary};

/// The highest latency a histogram tracks, in microseconds (a minute).
pub const LATENCY_US_HIGHEST: u64 = 60_000_000;
/// A request is late when it left more than this after its intended start, in microseconds:
/// tokio's timer wakes up to a millisecond after the instant asked for, so a request within
/// two is on time.
pub const LATE_US: u64 = 2_000;

/// One answered (or failed) request.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Index into [`OPERATIONS`].
    pub op: usize,
    /// Seconds from the start of the load to the intended start.
    pub second: u64,
    pub latency_us: u64,
    /// `None` when it succeeded; else the problem code, `http_STATUS`, `timeout` or `connect`.
    pub error: Option<String>,
    /// The node failed it (5xx, no answer): it counts against availability.
    pub failed: bool,
}

#[derive(Debug, Clone)]
struct Cell {
    latency: Histogram<u64>,
    errors: BTreeMap<String, u64>,
}

impl Cell {
    fn new(significant: u8) -> Cell {
        let latency = Histogram::new_with_bounds(1, LATENCY_US_HIGHEST, significant)
            .expect("valid histogram bounds");
        Cell { latency, errors: BTreeMap::new() }
    }

    fn merge(&mut self, other: &Cell) {
        self.latency.add(&other.latency).expect("histograms of the same bounds");
        for (code, count) in &other.errors {
            *self.errors.entry(code.clone()).or_default() += count;
        }
    }

    fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }
}

/// Everything the load measured.
#[derive(Debug, Clone)]
pub struct Stats {
    run: Vec<Cell>,
    /// Per second, per operation (coarser histograms: two significant digits).
    seconds: Vec<Vec<Cell>>,
    lag: Histogram<u64>,
    late: u64,
    /// Requests the node failed (5xx, timeout, connection).
    pub failed: u64,
    pub total: u64,
}

impl Default for Stats {
    fn default() -> Stats {
        Stats {
            run: (0..OPERATIONS.len()).map(|_| Cell::new(3)).collect(),
            seconds: Vec::new(),
            lag: Histogram::new_with_bounds(1, LATENCY_US_HIGHEST, 2).expect("valid bounds"),
            late: 0,
            failed: 0,
            total: 0,
        }
    }
}

impl Stats {
    pub fn record(&mut self, sample: &Sample) {
        let latency = sample.latency_us.clamp(1, LATENCY_US_HIGHEST);
        let second = usize::try_from(sample.second).unwrap_or(usize::MAX).min(1 << 20);
        while self.seconds.len() <= second {
            self.seconds.push((0..OPERATIONS.len()).map(|_| Cell::new(2)).collect());
        }
        for cell in [&mut self.run[sample.op], &mut self.seconds[second][sample.op]] {
            cell.latency.saturating_record(latency);
            if let Some(code) = &sample.error {
                *cell.errors.entry(code.clone()).or_default() += 1;
            }
        }
        self.failed += u64::from(sample.failed);
        self.total += 1;
    }

    /// How late a planned request left its scheduler (once per planned request: the
    /// requests an operation sends after its first follow their predecessor, not a schedule).
    pub fn record_lag(&mut self, lag_us: u64) {
        self.lag.saturating_record(lag_us.clamp(1, LATENCY_US_HIGHEST));
        self.late += u64::from(lag_us > LATE_US);
    }

    /// Adds `other`'s samples to these.
    pub fn merge(&mut self, other: &Stats) {
        for (mine, theirs) in self.run.iter_mut().zip(&other.run) {
            mine.merge(theirs);
        }
        while self.seconds.len() < other.seconds.len() {
            self.seconds.push((0..OPERATIONS.len()).map(|_| Cell::new(2)).collect());
        }
        for (mine, theirs) in self.seconds.iter_mut().zip(&other.seconds) {
            for (cell, other) in mine.iter_mut().zip(theirs) {
                cell.merge(other);
            }
        }
        self.lag.add(&other.lag).expect("histograms of the same bounds");
        self.late += other.late;
        self.failed += other.failed;
        self.total += other.total;
    }

    /// Requests so far, errors so far, and the p99 of every operation together, in ms.
    pub fn so_far(&self) -> (u64, u64, f64) {
        let mut all = Cell::new(2);
        for cell in &self.run {
            all.merge(cell);
        }
        (all.latency.len(), all.error_count(), ms(all.latency.value_at_quantile(0.99)))
    }

    /// The latency histogram of operation `op` over the run (for SLIs over several).
    pub fn latency(&self, op: usize) -> &Histogram<u64> {
        &self.run[op].latency
    }

    /// Share of requests the node did not fail; 1 when none was sent.
    pub fn availability(&self) -> f64 {
        if self.total == 0 { 1.0 } else { 1.0 - self.failed as f64 / self.total as f64 }
    }

    /// The summary of every operation that ran, by name, over a load of `duration_s`.
    pub fn operations(&self, duration_s: f64) -> BTreeMap<String, OperationSummary> {
        let mut out = BTreeMap::new();
        for (n, cell) in self.run.iter().enumerate() {
            let h = &cell.latency;
            if h.is_empty() {
                continue;
            }
            let summary = OperationSummary {
                count: h.len(),
                errors: cell.errors.clone(),
                per_s: h.len() as f64 / duration_s.max(1e-9),
                p50_ms: ms(h.value_at_quantile(0.50)),
                p90_ms: ms(h.value_at_quantile(0.90)),
                p99_ms: ms(h.value_at_quantile(0.99)),
                p999_ms: ms(h.value_at_quantile(0.999)),
                max_ms: ms(h.max()),
            };
            out.insert(OPERATIONS[n].to_string(), summary);
        }
        out
    }

    /// One entry per second, every second up to the last sample's (operations that did not
    /// run in a second are absent from it).
    pub fn timeline(&self) -> Vec<Second> {
        let second = |(at, cells): (usize, &Vec<Cell>)| Second {
            at_s: at as u64,
            operations: cells
                .iter()
                .enumerate()
                .filter(|(_, cell)| !cell.latency.is_empty())
                .map(|(n, cell)| {
                    let summary = SecondSummary {
                        count: cell.latency.len(),
                        errors: cell.error_count(),
                        p50_ms: ms(cell.latency.value_at_quantile(0.50)),
                        p99_ms: ms(cell.latency.value_at_quantile(0.99)),
                    };
                    (OPERATIONS[n].to_string(), summary)
                })
                .collect(),
        };
        self.seconds.iter().enumerate().map(second).collect()
    }

    pub fn schedule(&self) -> ScheduleKeeping {
        let empty = self.lag.is_empty();
        ScheduleKeeping {
            late_requests: self.late,
            lag_p99_ms: if empty { 0.0 } else { ms(self.lag.value_at_quantile(0.99)) },
            lag_max_ms: if empty { 0.0 } else { ms(self.lag.max()) },
        }
    }
}

/// Microseconds as milliseconds.
pub fn ms(us: u64) -> f64 {
    us as f64 / 1_000.0
}

/// A histogram of latencies in microseconds, as [`Stats`] keeps them.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, LATENCY_US_HIGHEST, 3).expect("valid histogram bounds")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(op: usize, second: u64, latency_ms: u64, error: Option<&str>) -> Sample {
        Sample {
            op,
            second,
            latency_us: latency_ms * 1_000,
            error: error.map(str::to_string),
            failed: error.is_some_and(|e| e == "timeout"),
        }
    }

    fn samples() -> Vec<Sample> {
        let mut all = Vec::new();
        for n in 0..1_000u64 {
            let error = match n % 100 {
                0 => Some("timeout"),
                1 => Some("out_of_stock"),
                _ => None,
            };
            all.push(sample((n % 3) as usize, n / 250, 1 + n % 200, error));
        }
        all
    }

    #[test]
    fn merged_parts_equal_the_whole() {
        let all = samples();
        let mut whole = Stats::default();
        for (n, s) in all.iter().enumerate() {
            whole.record(s);
            whole.record_lag(n as u64 * 10);
        }
        let (mut a, mut b) = (Stats::default(), Stats::default());
        for (n, s) in all.iter().enumerate() {
            let part = if n % 2 == 0 { &mut a } else { &mut b };
            part.record(s);
            part.record_lag(n as u64 * 10);
        }
        // The later half first: merging adds seconds the receiver has not seen.
        b.merge(&a);
        let json = |s: &Stats| {
            serde_json::to_string(&(s.operations(4.0), s.timeline(), s.schedule())).unwrap()
        };
        assert_eq!(json(&b), json(&whole));
        assert_eq!((b.total, b.failed), (1_000, 10));
    }

    #[test]
    fn counts_add_up_and_quantiles_are_ordered() {
        let mut stats = Stats::default();
        for (n, s) in samples().iter().enumerate() {
            stats.record(s);
            stats.record_lag(if n % 2 == 0 { 5_000 } else { 10 });
        }
        let ops = stats.operations(4.0);
        assert_eq!(ops.keys().collect::<Vec<_>>(), ["cart_change", "product_read", "search"]);
        let total: u64 = ops.values().map(|o| o.count).sum();
        assert_eq!(total, 1_000);
        let timeline = stats.timeline();
        assert_eq!(timeline.len(), 4);
        let by_seconds: u64 =
            timeline.iter().flat_map(|s| s.operations.values()).map(|o| o.count).sum();
        assert_eq!(by_seconds, 1_000);
        let read = &ops["product_read"];
        assert!(read.p50_ms <= read.p90_ms && read.p90_ms <= read.p99_ms);
        assert!(read.p99_ms <= read.p999_ms && read.p999_ms <= read.max_ms);
        assert!((read.max_ms - 200.0).abs() < 1.0, "{}", read.max_ms);
        let timeouts: u64 = ops.values().filter_map(|o| o.errors.get("timeout")).sum();
        assert_eq!(timeouts, 10);
        assert!((stats.availability() - 0.99).abs() < 1e-9);
        assert_eq!(stats.schedule().late_requests, 500);
    }

    #[test]
    fn a_latency_past_the_highest_is_kept_at_the_highest() {
        let mut stats = Stats::default();
        stats.record(&Sample { latency_us: u64::MAX, ..sample(0, 0, 1, None) });
        let read = &stats.operations(1.0)["product_read"];
        assert_eq!(read.count, 1);
        assert!(read.max_ms >= 59_000.0, "{}", read.max_ms);
    }
}
