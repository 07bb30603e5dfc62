//! Keyed, coalesced flows from stock and seller scores to the products they affect.
//!
//! A job names a key, never a value: its worker reads the latest value from the read models
//! when it runs. A key already queued is not queued again. Jobs are spread over workers by
//! key, so one key's jobs run in order. A job whose ask fails for a passing reason (overload,
//! time-out, unavailable) is retried with capped backoff; `ShuttingDown` never passes, so it
//! ends the job at once.
//!
//! Stopping: once [`Flows::stop`] is called, queued jobs are dropped without running and a
//! running one ends at its next failure. Nothing is lost: a job's value lives in the journal,
//! and the next start's rebuild queues every stock total and seller score again.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, Weak};
use std::time::Duration;

use bazaar_engine::{Engine, EngineError};
use dashmap::DashSet;
use tokio::sync::mpsc;

use super::{Shared, Tenant};
use crate::limits::FLOW_ATTEMPTS_MAX;
use crate::limits::FLOW_BACKOFF_MS_MAX;
use bazaar_actors::ids::{Asin, SellerId, Sku};
use bazaar_actors::keys;
use bazaar_actors::limits::QUANTITY_MAX;
use bazaar_actors::product::{Product, ProductCommand};

/// Workers running flows; a key always goes to the same one.
const WORKERS: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum Job {
    /// Tell the product offering this SKU its total stock.
    Stock { tenant: Tenant, seller: SellerId, sku: Sku },
    /// Tell this product the seller's latest score.
    Score { tenant: Tenant, seller: SellerId, asin: Asin },
}

/// Counts of what the flows did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FlowStats {
    pub asked: u64,
    pub skipped: u64,
    pub failed: u64,
}

pub(super) struct Flows {
    engine: Engine,
    senders: Vec<mpsc::UnboundedSender<Job>>,
    receivers: Mutex<Option<Vec<mpsc::UnboundedReceiver<Job>>>>,
    /// Jobs queued and not yet started; bounds the queues by the number of distinct keys.
    queued: DashSet<Job>,
    /// Jobs queued or running.
    outstanding: AtomicUsize,
    asked: AtomicU64,
    skipped: AtomicU64,
    failed: AtomicU64,
    /// Set once the node stops: queued jobs are dropped, retries end.
    stopping: AtomicBool,
}

impl Flows {
    pub fn start(engine: Engine) -> Flows {
        let (senders, receivers) = (0..WORKERS).map(|_| mpsc::unbounded_channel()).unzip();
        Flows {
            engine,
            senders,
            receivers: Mutex::new(Some(receivers)),
            queued: DashSet::new(),
            outstanding: AtomicUsize::new(0),
            asked: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            stopping: AtomicBool::new(false),
        }
    }

    /// Starts the workers; they stop when the catalog is dropped.
    pub fn spawn_workers(&self, shared: Weak<Shared>) {
        let Some(receivers) = self.receivers.lock().expect("flows lock").take() else { return };
        for mut receiver in receivers {
            let shared = shared.clone();
            tokio::spawn(async move {
                while let Some(job) = receiver.recv().await {
                    let Some(shared) = shared.upgrade() else { return };
                    shared.flows.queued.remove(&job);
                    if !shared.flows.stopping.load(Ordering::Acquire) {
                        shared.run(&job).await;
                    }
                    shared.flows.outstanding.fetch_sub(1, Ordering::AcqRel);
                }
            });
        }
    }

    /// Queues a job unless the same one is already waiting. Safe on any thread.
    pub fn queue(&self, job: Job) {
        if !self.queued.insert(job.clone()) {
            return;
        }
        self.outstanding.fetch_add(1, Ordering::AcqRel);
        let mut hasher = DefaultHasher::new();
        match &job {
            Job::Stock { tenant, seller, sku } => {
                (0u8, tenant, seller, sku.as_str()).hash(&mut hasher)
            }
            Job::Score { tenant, seller, asin } => {
                (1u8, tenant, seller, asin.as_str()).hash(&mut hasher)
            }
        }
        let worker = (hasher.finish() % WORKERS as u64) as usize;
        if self.senders[worker].send(job).is_err() {
            self.outstanding.fetch_sub(1, Ordering::AcqRel);
        }
    }

    pub fn stats(&self) -> FlowStats {
        FlowStats {
            asked: self.asked.load(Ordering::Relaxed),
            skipped: self.skipped.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
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

    pub async fn settle(&self) {
        while self.outstanding.load(Ordering::Acquire) > 0 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
}

impl Shared {
    async fn run(&self, job: &Job) {
        let mut backoff_ms = 10;
        for attempt in 1..=FLOW_ATTEMPTS_MAX {
            let Some(command) = self.next_command(job) else {
                self.flows.skipped.fetch_add(1, Ordering::Relaxed);
                return;
            };
            let (tenant, asin) = match job {
                Job::Stock { tenant, .. } => (tenant, self.product_of_sku_of(job)),
                Job::Score { tenant, asin, .. } => (tenant, Some(asin.clone())),
            };
            let Some(asin) = asin else { return };
            match self.flows.engine.ask::<Product>(&keys::product(tenant, &asin), command).await {
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
                    // The next start queues it again (see the module doc).
                    tracing::debug!(?job, "flow left for the next start");
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

    fn product_of_sku_of(&self, job: &Job) -> Option<Asin> {
        let Job::Stock { tenant, seller, sku } = job else { return None };
        self.product_of_sku.get(&(tenant.clone(), seller.clone(), sku.clone())).map(|a| a.clone())
    }

    /// What the product must be told now, or `None` when it already knows.
    fn next_command(&self, job: &Job) -> Option<ProductCommand> {
        match job {
            Job::Stock { tenant, seller, sku } => {
                let asin = self.product_of_sku_of(job)?;
                let key = (tenant.clone(), seller.clone(), sku.clone());
                let total: u64 = self.stock.get(&key)?.values().map(|&n| u64::from(n)).sum();
                let available = total.min(u64::from(QUANTITY_MAX)) as u32;
                let view = self.products.get(&(tenant.clone(), asin))?.clone();
                let offer = view.offers.iter().find(|offer| &offer.seller == seller)?;
                (offer.terms.sku == *sku && offer.terms.available != available)
                    .then(|| ProductCommand::SetOfferStock { seller: seller.clone(), available })
            }
            Job::Score { tenant, seller, asin } => {
                let score = self.sellers.get(&(tenant.clone(), seller.clone()))?.score;
                let view = self.products.get(&(tenant.clone(), asin.clone()))?.clone();
                let offer = view.offers.iter().find(|offer| &offer.seller == seller)?;
                (offer.score.version < score.version)
                    .then(|| ProductCommand::SetSellerScore { seller: seller.clone(), score })
            }
        }
    }
}
