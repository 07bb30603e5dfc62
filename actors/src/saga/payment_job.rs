//! The payment job: drives each order's payment to its end — captured when the order's
//! capture policy says so (at placement, or at the first shipment in auth-only mode), voided
//! when it is cancelled before any capture, refunded when it is cancelled after one.
//!
//! Invariants:
//! - The job works through the order book's unsettled orders (every order whose
//!   [`OrderView::payment_action`] is not `Done`); the order book is a projection of the
//!   orders' durable events, rebuilt at start, so captures survive restarts without an index
//!   of their own. A placement, a shipment or a cancellation kicks its order at once; a
//!   sweep every few seconds retries the rest.
//! - Every call to the provider carries a key derived from the order id
//!   (`{order}.capture`, `{order}.refund`; a void names the authorization's own key), so a
//!   retry after a crash or a time-out acts once; the outcome is recorded on the order.
//! - A void a saga could not finish (no provider answered) is listed on the `void` worklist
//!   and retried until every provider has answered; a void that arrives before a late
//!   authorization still wins (the providers tombstone the key).
//! - One settlement per order (or void per key) at a time in this process (`busy`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bazaar_engine::{Engine, EngineError};
use dashmap::DashSet;
use tokio::sync::mpsc;

use crate::order::history::OrderBook;
use crate::order::{Order, OrderCommand, PaymentAction};
use crate::payments::Payments;
use crate::worklist::{self, Worklist, WorklistCommand, WorklistRejection};

/// The worklist of authorization keys to void at every provider (sagas that failed while
/// the providers were unreachable).
pub const VOID_QUEUE: &str = "void";

/// How often every listed order is looked at again (kicks settle one at once).
const SWEEP_EVERY: Duration = Duration::from_secs(10);

/// Settles orders' payments in the background.
#[derive(Clone)]
pub struct PaymentJob {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    payments: Payments,
    orders: OrderBook,
    kicks: mpsc::UnboundedSender<Kick>,
    /// Orders being settled now.
    busy: DashSet<String>,
    /// Set once the node stops: nothing new starts (what is listed waits for the next start).
    stopping: AtomicBool,
}

enum Kick {
    Order(String),
    Void(String),
    Sweep,
    Stop,
}

impl PaymentJob {
    /// Starts the job on the current tokio runtime.
    pub fn start(engine: Engine, payments: Payments, orders: OrderBook) -> PaymentJob {
        let (kicks, mut incoming) = mpsc::unbounded_channel();
        let inner = Arc::new(Inner {
            engine,
            payments,
            orders,
            kicks,
            busy: DashSet::new(),
            stopping: AtomicBool::new(false),
        });
        let job = PaymentJob { inner: inner.clone() };
        let weak = Arc::downgrade(&inner);
        drop(inner);
        tokio::spawn(async move {
            let mut sweep = tokio::time::interval(SWEEP_EVERY);
            loop {
                let kick = tokio::select! {
                    kick = incoming.recv() => match kick { Some(kick) => kick, None => return },
                    _ = sweep.tick() => Kick::Sweep,
                };
                let Some(inner) = weak.upgrade() else { return };
                if inner.stopping.load(Ordering::Relaxed) {
                    return;
                }
                let job = PaymentJob { inner };
                match kick {
                    Kick::Stop => return,
                    Kick::Order(order) => job.spawn_settle(order),
                    Kick::Void(key) => job.spawn_void(key),
                    Kick::Sweep => {
                        if let Err(error) = job.sweep().await {
                            tracing::warn!(error = %error, "payment sweep failed");
                        }
                    }
                }
            }
        });
        job
    }

    /// Starts nothing new from now on: the node is stopping (what is listed is settled after
    /// the next start).
    pub fn stop(&self) {
        self.inner.stopping.store(true, Ordering::Relaxed);
        let _ = self.inner.kicks.send(Kick::Stop);
    }

    /// Lists the authorization `key` to be voided at every provider, and tries soon.
    pub async fn defer_void(
        &self,
        key: &str,
    ) -> Result<Result<(), WorklistRejection>, EngineError> {
        let bucket = worklist::bucket_of(VOID_QUEUE, key);
        let add = WorklistCommand::Add { item: key.to_owned() };
        let listed = self.inner.engine.ask::<Worklist>(&bucket, add).await?.map(|_| ());
        if listed.is_ok() {
            let _ = self.inner.kicks.send(Kick::Void(key.to_owned()));
        }
        Ok(listed)
    }

    /// Settles `order` soon (after a placement, a shipment, a cancellation).
    pub fn kick(&self, order: &str) {
        let _ = self.inner.kicks.send(Kick::Order(order.to_owned()));
    }

    /// Looks at every listed order soon (after a restart).
    pub fn sweep_soon(&self) {
        let _ = self.inner.kicks.send(Kick::Sweep);
    }

    async fn sweep(&self) -> Result<(), EngineError> {
        for order in self.inner.orders.unsettled() {
            self.spawn_settle(order);
        }
        for bucket in worklist::buckets(VOID_QUEUE) {
            let listed = self.inner.engine.ask::<Worklist>(&bucket, WorklistCommand::List).await?;
            for key in listed.map(|reply| reply.items).unwrap_or_default() {
                self.spawn_void(key);
            }
        }
        Ok(())
    }

    fn spawn_void(&self, key: String) {
        let busy = format!("{VOID_QUEUE}:{key}");
        if self.inner.stopping.load(Ordering::Relaxed) || !self.inner.busy.insert(busy.clone()) {
            return;
        }
        let job = self.clone();
        tokio::spawn(async move {
            match job.inner.payments.void(&key).await {
                Ok(()) => {
                    metrics::counter!("payment_job_actions_total", "action" => "void").increment(1);
                    let bucket = worklist::bucket_of(VOID_QUEUE, &key);
                    let remove = WorklistCommand::Remove { item: key.clone() };
                    if let Err(error) = job.inner.engine.ask::<Worklist>(&bucket, remove).await {
                        tracing::warn!(key = %key, error = %error, "voided, still listed");
                    }
                }
                Err(error) => {
                    tracing::warn!(key = %key, error = %error, "void not done yet; retried by the next sweep");
                }
            }
            job.inner.busy.remove(&busy);
        });
    }

    fn spawn_settle(&self, order: String) {
        if self.inner.stopping.load(Ordering::Relaxed) || !self.inner.busy.insert(order.clone()) {
            return;
        }
        let job = self.clone();
        tokio::spawn(async move {
            if let Err(error) = job.settle(&order).await {
                tracing::warn!(order = %order, error = %error, "payment not settled yet; retried by the next sweep");
            }
            job.inner.busy.remove(&order);
        });
    }

    /// Takes `order`'s payment one action further, until it is done or must wait.
    async fn settle(&self, order: &str) -> Result<(), String> {
        let engine = &self.inner.engine;
        let payments = &self.inner.payments;
        loop {
            let view = match engine.ask::<Order>(order, OrderCommand::Get).await {
                Ok(Ok(reply)) => reply.order,
                // Not placed (kicked by a saga that failed before): nothing to settle.
                Ok(Err(_)) => return Ok(()),
                Err(error) => return Err(error.to_string()),
            };
            let authorization = &view.authorization;
            let command = match view.payment_action() {
                PaymentAction::Wait | PaymentAction::Done => return Ok(()),
                PaymentAction::Capture(amount) => {
                    let key = format!("{}.capture", view.id);
                    let capture = payments.capture(authorization, &key, amount).await;
                    OrderCommand::RecordCapture { capture: capture.map_err(|e| e.to_string())? }
                }
                PaymentAction::Refund(amount) => {
                    let key = format!("{}.refund", view.id);
                    let refund = payments.refund(authorization, &key, amount).await;
                    OrderCommand::RecordRefund { refund: refund.map_err(|e| e.to_string())? }
                }
                PaymentAction::Void => {
                    payments.void(&authorization.key).await.map_err(|e| e.to_string())?;
                    OrderCommand::RecordVoid
                }
            };
            let action = match &command {
                OrderCommand::RecordCapture { .. } => "capture",
                OrderCommand::RecordRefund { .. } => "refund",
                _ => "void",
            };
            metrics::counter!("payment_job_actions_total", "action" => action).increment(1);
            match engine.ask::<Order>(order, command).await {
                Ok(Ok(_)) => continue,
                Ok(Err(rejection)) => return Err(rejection.to_string()),
                Err(error) => return Err(error.to_string()),
            }
        }
    }
}
