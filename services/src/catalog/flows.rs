//! Keyed, coalesced flows from stock and seller scores to the products they affect.
//!
//! A job names a key (for a score, the offer's seller, SKU and product), never the value to
//! send: its run reads the latest value from the read models when it starts. A key part
//! that can change (an offer's SKU) is queued again where it changes: the product
//! projection queues both jobs of every offer listed or revised, so a job left with a stale
//! key never leaves an offer behind. A key already queued is not queued again. Many jobs run at once (up to
//! `FLOW_IN_FLIGHT_MAX`), so a large feed's stock reaches the buy boxes in about the time the
//! journal takes to make their writes durable together, not one durable write after another.
//! One key never runs twice at once: a key queued again while it runs is run once more after
//! it (however often it was queued meanwhile), so the last value always lands and one key's
//! writes reach the product in order. A job whose ask fails for a passing reason (overload,
//! time-out, unavailable) is retried with capped backoff; `ShuttingDown` never passes, so it
//! ends the job at once.
//!
//! Stopping: once [`Flows::stop`] is called, queued jobs are dropped without running and a
//! running one ends at its next failure; both are counted (`FlowStats::dropped`). Nothing is
//! lost: a job's value lives in the journal, and a start after a stop that dropped any (or
//! after a crash) reconciles every stock total and seller score a product does not have.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use bazaar_engine::{Engine, EngineError};
use dashmap::mapref::entry::Entry;
use dashmap::{DashMap, DashSet};
use tokio::sync::{Semaphore, mpsc};

use super::{Shared, Tenant};
use crate::limits::{FLOW_ATTEMPTS_MAX, FLOW_BACKOFF_MS_MAX, FLOW_IN_FLIGHT_MAX};
use bazaar_actors::ids::{Asin, SellerId, Sku};
use bazaar_actors::keys;
use bazaar_actors::product::{Product, ProductCommand};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum Job {
    /// Tell every product offering this SKU its total stock.
    Stock { tenant: Tenant, seller: SellerId, sku: Sku },
    /// Tell the product this offer (the seller's SKU on it) is on the seller's latest score.
    Score { tenant: Tenant, seller: SellerId, sku: Sku, asin: Asin },
    /// The seller's score changed: queue `Score` for each of its offers (a scan of its
    /// offers, kept off the journal's thread that publishes the change).
    Seller { tenant: Tenant, seller: SellerId },
}

/// Counts of what the flows did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FlowStats {
    pub asked: u64,
    pub skipped: u64,
    /// Jobs that ended without running because the node was stopping.
    pub dropped: u64,
    pub failed: u64,
    /// Runs that began while another run of the same key was going: always 0 (the module
    /// doc's "one key never runs twice at once"), counted so that a test can see it hold.
    pub overlapped: u64,
}

pub(super) struct Flows {
    engine: Engine,
    sender: mpsc::UnboundedSender<Job>,
    receiver: Mutex<Option<mpsc::UnboundedReceiver<Job>>>,
    /// Jobs queued and not yet taken; bounds the queue by the number of distinct keys.
    queued: DashSet<Job>,
    /// Jobs running, each with how many times it was taken again meanwhile (run once more).
    running: DashMap<Job, usize>,
    /// Runs going now, by key: how many (never more than one).
    in_flight: DashMap<Job, usize>,
    /// Jobs queued or running.
    outstanding: AtomicUsize,
    asked: AtomicU64,
    skipped: AtomicU64,
    dropped: AtomicU64,
    failed: AtomicU64,
    overlapped: AtomicU64,
    /// Set once the node stops: queued jobs are dropped, retries end.
    stopping: AtomicBool,
}

impl Flows {
    pub fn start(engine: Engine) -> Flows {
        let (sender, receiver) = mpsc::unbounded_channel();
        Flows {
            engine,
            sender,
            receiver: Mutex::new(Some(receiver)),
            queued: DashSet::new(),
            running: DashMap::new(),
            in_flight: DashMap::new(),
            outstanding: AtomicUsize::new(0),
            asked: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            overlapped: AtomicU64::new(0),
            stopping: AtomicBool::new(false),
        }
    }

    /// Starts the dispatcher; it stops when the catalog is dropped.
    pub fn spawn_dispatcher(&self, shared: Weak<Shared>) {
        let Some(mut receiver) = self.receiver.lock().expect("flows lock").take() else { return };
        let gate = Arc::new(Semaphore::new(FLOW_IN_FLIGHT_MAX));
        tokio::spawn(async move {
            while let Some(job) = receiver.recv().await {
                let Some(flows) = shared.upgrade() else { return };
                let flows = &flows.flows;
                flows.queued.remove(&job);
                if flows.stopping.load(Ordering::Acquire) {
                    flows.dropped.fetch_add(1, Ordering::Relaxed);
                    flows.outstanding.fetch_sub(1, Ordering::AcqRel);
                    continue;
                }
                match flows.running.entry(job.clone()) {
                    Entry::Occupied(mut again) => {
                        *again.get_mut() += 1;
                        continue;
                    }
                    Entry::Vacant(vacant) => {
                        vacant.insert(0);
                    }
                }
                let Ok(permit) = gate.clone().acquire_owned().await else { return };
                let shared = shared.clone();
                tokio::spawn(async move {
                    if let Some(shared) = shared.upgrade() {
                        shared.run_until_current(job).await;
                    }
                    drop(permit);
                });
            }
        });
    }

    /// Queues a job unless the same one is already waiting. Safe on any thread.
    pub fn queue(&self, job: Job) {
        if !self.queued.insert(job.clone()) {
            return;
        }
        self.outstanding.fetch_add(1, Ordering::AcqRel);
        if self.sender.send(job).is_err() {
            self.outstanding.fetch_sub(1, Ordering::AcqRel);
        }
    }

    pub fn stats(&self) -> FlowStats {
        FlowStats {
            asked: self.asked.load(Ordering::Relaxed),
            skipped: self.skipped.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            overlapped: self.overlapped.load(Ordering::Relaxed),
        }
    }

    /// Jobs queued or running.
    pub fn outstanding(&self) -> usize {
        self.outstanding.load(Ordering::Acquire)
    }

    /// Drops the queued jobs and ends retries: the node is stopping.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::Release);
    }

    /// Whether the node is stopping (nothing more should be queued).
    pub fn stopping(&self) -> bool {
        self.stopping.load(Ordering::Acquire)
    }

    pub async fn settle(&self) {
        while self.outstanding.load(Ordering::Acquire) > 0 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
}

impl Shared {
    /// Runs `job`, then again as long as it was taken again while running, so the value its
    /// last run read is the latest.
    async fn run_until_current(&self, job: Job) {
        let mut covers = 1;
        loop {
            if self.flows.stopping.load(Ordering::Acquire) {
                self.flows.dropped.fetch_add(1, Ordering::Relaxed);
            } else {
                self.run_counted(&job).await;
            }
            let again = match self.flows.running.entry(job.clone()) {
                Entry::Occupied(mut entry) if *entry.get() > 0 => std::mem::take(entry.get_mut()),
                Entry::Occupied(entry) => {
                    entry.remove();
                    0
                }
                Entry::Vacant(_) => 0,
            };
            self.flows.outstanding.fetch_sub(covers, Ordering::AcqRel);
            if again == 0 {
                return;
            }
            covers = again;
        }
    }

    /// [`Shared::run`], counted in `in_flight` (and in `overlapped` if its key was running).
    async fn run_counted(&self, job: &Job) {
        let runs = {
            let mut runs = self.flows.in_flight.entry(job.clone()).or_insert(0);
            *runs += 1;
            *runs
        };
        if runs > 1 {
            self.flows.overlapped.fetch_add(1, Ordering::Relaxed);
        }
        self.run(job).await;
        self.flows.in_flight.remove_if_mut(job, |_, runs| {
            *runs -= 1;
            *runs == 0
        });
    }

    async fn run(&self, job: &Job) {
        if let Job::Seller { tenant, seller } = job {
            if let Err(error) = self.queue_scores(tenant, seller) {
                tracing::error!(?job, error = %error, "a seller's offers unreadable");
                self.flows.failed.fetch_add(1, Ordering::Relaxed);
            }
            return;
        }
        let commands = self.next_commands(job);
        if commands.is_empty() {
            self.flows.skipped.fetch_add(1, Ordering::Relaxed);
        }
        for (asin, command) in commands {
            self.tell(job, &asin, command).await;
        }
    }

    /// Asks the product `asin` of `job`'s tenant `command`, retrying what may pass.
    async fn tell(&self, job: &Job, asin: &Asin, command: ProductCommand) {
        let (Job::Stock { tenant, .. } | Job::Score { tenant, .. } | Job::Seller { tenant, .. }) =
            job;
        let mut backoff_ms = 10;
        for attempt in 1..=FLOW_ATTEMPTS_MAX {
            let id = keys::product(tenant, asin);
            match self.flows.engine.ask::<Product>(&id, command.clone()).await {
                Ok(Ok(_)) => {
                    self.flows.asked.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                Ok(Err(rejection)) => {
                    tracing::warn!(?job, ?rejection, "flow refused by the product");
                    self.flows.failed.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                Err(error)
                    if error.may_pass()
                        && attempt < FLOW_ATTEMPTS_MAX
                        && !self.flows.stopping.load(Ordering::Acquire) =>
                {
                    tokio::time::sleep(Duration::from_millis(backoff_ms)).await;
                    backoff_ms = (backoff_ms * 4).min(FLOW_BACKOFF_MS_MAX);
                }
                Err(EngineError::ShuttingDown) => {
                    // The next start reconciles it (see the module doc).
                    tracing::debug!(?job, "flow left for the next start");
                    self.flows.dropped.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                Err(error) => {
                    tracing::error!(?job, error = %error, "flow failed");
                    self.flows.failed.fetch_add(1, Ordering::Relaxed);
                    return;
                }
            }
        }
    }

    /// The products to tell, and what each must be told now; none when they already know.
    /// Reads the index (what each offer has, what the stock is) and the seller's score, not
    /// the products themselves.
    fn next_commands(&self, job: &Job) -> Vec<(Asin, ProductCommand)> {
        match job {
            Job::Stock { tenant, seller, sku } => {
                let Some(available) = self.stock_total(tenant, seller, sku) else {
                    return Vec::new();
                };
                let command = ProductCommand::SetOfferStock { seller: seller.clone(), available };
                self.offers_of_sku(tenant, seller, sku)
                    .into_iter()
                    .filter(|offer| offer.units != available)
                    .map(|offer| (offer.asin, command.clone()))
                    .collect()
            }
            Job::Score { tenant, seller, sku, asin } => {
                let Some(score) =
                    self.sellers.get(&(tenant.clone(), seller.clone())).map(|s| s.score)
                else {
                    return Vec::new();
                };
                let key = bazaar_actors::index::offer_key(tenant, seller, sku, asin);
                let has = self.engine.journal().index_get(&key).ok().flatten();
                let behind = has
                    .and_then(|value| bazaar_actors::index::parse_offer_value(&value))
                    .is_some_and(|(_, version)| version < score.version);
                let command = ProductCommand::SetSellerScore { seller: seller.clone(), score };
                if behind { vec![(asin.clone(), command)] } else { Vec::new() }
            }
            Job::Seller { .. } => Vec::new(),
        }
    }
}
