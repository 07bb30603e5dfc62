//! What a running load shares between its requests: the node's client, the catalogue, the
//! principals' tokens, what the simulator learnt from answers (carts, orders, checkout keys,
//! feed sequences) and what it measured.
//!
//! Invariants: every lock is a std mutex held for a few field updates, never across an
//! `.await`; the facts the audit needs (every checkout key sent, every order acknowledged,
//! every SKU fed) are recorded before the request that produced them is counted done.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use hdrhistogram::Histogram;

use super::catalog::Catalogue;
use super::http::{Answer, Api, Failure, classify};
use super::report::{DrillMark, OPERATIONS};
use super::scenario::Scenario;
use super::stats::{Sample, Stats, histogram};

/// The bearer tokens the simulator acts with.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub operator: String,
    /// In the order of `Catalogue::sellers`.
    pub sellers: Vec<String>,
    /// In the order of `Catalogue::customers`.
    pub customers: Vec<String>,
}

/// A checkout key the simulator sent.
#[derive(Debug, Clone)]
pub struct SentKey {
    pub customer: u32,
    pub key: String,
    /// Orders the answers under it named.
    pub answered: Vec<String>,
}

/// An order a checkout answered with.
#[derive(Debug, Clone)]
pub struct Acknowledged {
    pub order: String,
    pub customer: u32,
    pub asin: String,
}

/// What the simulator learnt from answers.
#[derive(Debug, Default)]
pub struct Learnt {
    /// Each customer's browsing cart and its lines.
    pub carts: HashMap<u32, (String, usize)>,
    pub acknowledged: Vec<Acknowledged>,
    pub keys: Vec<SentKey>,
    /// The next `feed_seq` of each SKU fed.
    pub feed_seq: HashMap<String, u64>,
    /// SKUs a current (not stale) feed line was sent for.
    pub fed: BTreeSet<String>,
    /// Price updates answered, per product: a buy-box probe stops when another one lands.
    pub price_generation: HashMap<u32, u64>,
}

/// The business counters.
#[derive(Debug, Default)]
pub struct Business {
    pub carts_created: AtomicU64,
    pub orders: AtomicU64,
    /// Checkouts that reached payment (not refused for stock, fraud or input).
    pub payment_attempts: AtomicU64,
    pub buy_box_missed: AtomicU64,
}

pub struct World {
    pub api: Api,
    pub scenario: Scenario,
    pub catalogue: Catalogue,
    pub tokens: Tokens,
    /// The node's payment providers (`/admin/psp`), for the outage drill and the audit.
    pub psps: Vec<(String, String)>,
    pub started: Instant,
    pub learnt: Mutex<Learnt>,
    pub stats: Mutex<Stats>,
    /// From a price update's answer to the product read showing its buy box, in µs.
    pub buy_box: Mutex<Histogram<u64>>,
    pub business: Business,
    pub drills: Mutex<Vec<DrillMark>>,
    /// Numbers checkout keys, cards and addresses.
    pub sequence: AtomicU64,
    pub probes: tokio::sync::Semaphore,
}

pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every critical section leaves its data whole; a panic elsewhere cannot tear it.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl World {
    pub fn new(
        api: Api,
        scenario: Scenario,
        catalogue: Catalogue,
        tokens: Tokens,
        psps: Vec<(String, String)>,
    ) -> World {
        World {
            api,
            scenario,
            catalogue,
            tokens,
            psps,
            started: Instant::now(),
            learnt: Mutex::new(Learnt::default()),
            stats: Mutex::new(Stats::default()),
            buy_box: Mutex::new(histogram()),
            business: Business::default(),
            drills: Mutex::new(Vec::new()),
            sequence: AtomicU64::new(0),
            probes: tokio::sync::Semaphore::new(super::limits::BUY_BOX_PROBES_MAX),
        }
    }

    pub fn next(&self) -> u64 {
        self.sequence.fetch_add(1, Ordering::Relaxed)
    }

    /// Seconds since the load started.
    pub fn elapsed_s(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// Counts a request of `op` whose latency runs from `from` (its intended start, or its
    /// send when it followed others of the same operation) to now.
    pub fn record(
        &self,
        op: &str,
        intended: Instant,
        from: Instant,
        result: &Result<Answer, Failure>,
        ok: &[u16],
    ) {
        let op = OPERATIONS.iter().position(|name| *name == op).expect("a known operation");
        let (error, failed) = match classify(result, ok) {
            Some((code, failed)) => (Some(code), failed),
            None => (None, false),
        };
        let sample = Sample {
            op,
            second: intended.saturating_duration_since(self.started).as_secs(),
            latency_us: u64::try_from(from.elapsed().as_micros()).unwrap_or(u64::MAX),
            error,
            failed,
        };
        lock(&self.stats).record(&sample);
    }

    /// Records how late a request left (once per planned request).
    pub fn record_lag(&self, lag_us: u64) {
        lock(&self.stats).record_lag(lag_us);
    }

    pub fn mark(&self, name: &str, detail: String) {
        let at_s = self.elapsed_s();
        lock(&self.drills).push(DrillMark { at_s, name: name.to_string(), detail });
    }

    /// Each customer's keys, for the audit.
    pub fn keys_by_customer(&self) -> BTreeMap<u32, Vec<SentKey>> {
        let mut out: BTreeMap<u32, Vec<SentKey>> = BTreeMap::new();
        for key in &lock(&self.learnt).keys {
            out.entry(key.customer).or_default().push(key.clone());
        }
        out
    }
}
