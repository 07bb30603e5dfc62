//! The report of one `bazaar sim` run: the model written whole to `report.json`, read by the
//! terminal table, the HTML page and the comparison benchmark.
//!
//! Invariants:
//! - The model is plain data: every figure is computed before it is stored here (latencies in
//!   milliseconds as `f64`, counts as `u64`), so a reader never needs a histogram.
//! - Operation names are the stable keys of [`OPERATIONS`]; a reader may rely on them, and on
//!   these field names (the HTML renderer and the comparison script do).
//! - `ok` of an [`SloVerdict`] or a [`Check`] says what the exit status says: any `false`
//!   makes `bazaar sim` exit 1.

pub mod html;
mod plot;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The operations of a scenario, by their stable report keys.
pub const OPERATIONS: [&str; 7] = [
    "product_read",
    "search",
    "cart_change",
    "checkout",
    "cancellation",
    "price_update",
    "inventory_feed",
];

/// One run, whole.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    /// The scenario's name (its file stem, or `default`).
    pub scenario: String,
    pub seed: u64,
    pub mode: Mode,
    /// The node's base URL (`http://127.0.0.1:PORT`), embedded or `--target`.
    pub target: String,
    pub started_at_unix_ms: u64,
    /// How long the load ran, in seconds.
    pub duration_s: f64,
    /// By operation name ([`OPERATIONS`]); an operation the scenario never ran is absent.
    pub operations: BTreeMap<String, OperationSummary>,
    /// One entry per second of the run, in order, from `at_s` 0.
    pub timeline: Vec<Second>,
    /// The drills that happened, in time order.
    pub drills: Vec<DrillMark>,
    pub slis: Slis,
    pub slos: Vec<SloVerdict>,
    pub audit: Audit,
    pub schedule: ScheduleKeeping,
    /// The simulator process's own CPU time (user + system) divided by the requests it sent,
    /// in microseconds.
    pub sim_cpu_us_per_request: f64,
}

/// How arrivals were paced.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Mode {
    /// Requests start on a schedule at the scenario's base rate (before the profile's shape),
    /// whatever earlier ones do.
    Open { rate_per_s: f64 },
    /// `clients` clients, each sending its next request when its last one was answered.
    Closed { clients: u32 },
}

/// One operation over the whole run. Latencies are from the intended start (open loop) or the
/// send (closed loop) to the complete answer, errors included.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct OperationSummary {
    pub count: u64,
    /// Failed requests by problem `code` (or `http_STATUS` when the answer was not a
    /// problem), `timeout` or `connect`.
    pub errors: BTreeMap<String, u64>,
    /// Completed requests per second of the run.
    pub per_s: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
}

/// One second of the run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Second {
    /// Seconds since the load started (the second `[at_s, at_s + 1)`, by intended start).
    pub at_s: u64,
    pub operations: BTreeMap<String, SecondSummary>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SecondSummary {
    pub count: u64,
    pub errors: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// A drill of the scenario, as it happened.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DrillMark {
    /// Seconds since the load started.
    pub at_s: f64,
    /// `psp_outage`, `psp_restored`, `auth_only_on`, `auth_only_off`, `feed_spike`.
    pub name: String,
    pub detail: String,
}

/// The business service level indicators. A figure the run could not measure (no checkout
/// was sent, say) is `None`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Slis {
    pub checkout_p95_ms: Option<f64>,
    pub checkout_p99_ms: Option<f64>,
    /// Product reads and searches together.
    pub browse_p95_ms: Option<f64>,
    pub browse_p99_ms: Option<f64>,
    /// Checkouts answered with an order, over carts the simulator filled.
    pub conversion_rate: Option<f64>,
    /// Checkouts answered with an order, over checkouts the node accepted to pay for.
    pub payment_success_rate: Option<f64>,
    /// From a price update's answer to the first product read showing the new buy-box
    /// winner, over the probes sent.
    pub buy_box_p50_ms: Option<f64>,
    pub buy_box_p99_ms: Option<f64>,
    /// SKUs whose stock as the seller reads it at the end equals what the simulator expects
    /// from its own feeds and the orders it saw, over the SKUs checked.
    pub inventory_accuracy: Option<f64>,
    /// Requests answered without a server-side failure (not 5xx, not a timeout or a
    /// connection error), over all requests.
    pub availability: f64,
}

/// One service level objective, judged.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SloVerdict {
    /// `checkout_p99`, `search_p99`, `availability`.
    pub name: String,
    /// As a person reads it: `<= 400 ms`, `>= 99.99%`.
    pub target: String,
    pub actual: String,
    pub ok: bool,
}

/// The correctness audit after the load, through the API only.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Audit {
    /// Every check passed.
    pub ok: bool,
    pub checks: Vec<Check>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Check {
    /// `no_oversell`, `orders_readable`, `idempotency`, `authorized_once`, `ledger_balanced`,
    /// `reconciled`.
    pub name: String,
    pub ok: bool,
    /// What was checked, or the first failures found.
    pub detail: String,
}

/// How well the simulator kept its own schedule (open loop): a request is late when it left
/// more than 2 ms after its intended start (`stats::LATE_US`; the timer's resolution is 1 ms).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ScheduleKeeping {
    pub late_requests: u64,
    pub lag_p99_ms: f64,
    pub lag_max_ms: f64,
}
