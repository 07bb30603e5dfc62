//! Notifications: the notices of every order's timeline delivered to its tenant's webhook
//! subscriptions, at least once, signed, with retries and backoff.
//!
//! Invariants:
//! - The outbox is the order itself: its undelivered notices are the timeline after
//!   `published`, and its `outbox/` index row lives exactly as long as any is (see
//!   `bazaar_actors::order::timeline`). A start kicks every order with a row; a change of an
//!   order with undelivered notices kicks it at once (a projection, so only once durable).
//! - An order's notices go out in order: notice `n` reaches every subscription that wants it
//!   (or is given up on for one after `max_attempts`) before `n + 1` is sent to any. Only
//!   then does `MarkPublished` record them, so a crash re-sends, never skips: at least once,
//!   and receivers deduplicate on the notice's stable id.
//! - A failed attempt is retried after a backoff (doubling from `retry_base_ms` up to
//!   `retry_max_ms`) without holding a worker: an order waits out its backoff (a kick meanwhile
//!   only makes sure one retry is scheduled), and each round tries every subscription still
//!   owed the notice, so a dead receiver delays the others by one backoff, never by its
//!   whole run of attempts. One order is worked on at a time here.

mod payload;
mod stats;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bazaar_actors::keys;
use bazaar_actors::order::timeline::Notice;
use bazaar_actors::order::{Order, OrderCommand, OrderView};
use bazaar_actors::webhooks::{Subscription, Webhooks, WebhooksCommand};
use bazaar_engine::{Engine, EngineError, EntityKey, Projection, Publish};
use dashmap::{DashMap, DashSet};
use serde::Deserialize;
use tokio::sync::{Semaphore, mpsc};

use crate::signing::{SIGNATURE_HEADER, signature};
pub use payload::{EVENT_ID_HEADER, body, data, event_id};
pub use stats::{Attempt, DeliveryStats};

/// `[notifications]`: how deliveries are attempted.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotifyConfig {
    /// Attempts at one notice for one subscription before it is given up on.
    pub max_attempts: u32,
    pub retry_base_ms: u64,
    pub retry_max_ms: u64,
    /// How long a receiver has to answer.
    pub timeout_ms: u64,
    /// Orders delivered at once.
    pub concurrency: usize,
    /// How long a changed order waits before its notices go out, so the changes that follow
    /// at once (a placement, then its capture) are published together, in ms.
    pub coalesce_ms: u64,
}

impl Default for NotifyConfig {
    fn default() -> NotifyConfig {
        NotifyConfig {
            max_attempts: 20,
            retry_base_ms: 500,
            retry_max_ms: 60_000,
            timeout_ms: 5_000,
            concurrency: 32,
            coalesce_ms: 100,
        }
    }
}

type Tenant = Arc<str>;

/// Delivers orders' notices in the background.
#[derive(Clone)]
pub struct Notifier {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    http: reqwest::Client,
    config: NotifyConfig,
    kicks: mpsc::UnboundedSender<Kick>,
    /// The furthest notice of each order kicked by a change and not worked on yet.
    hints: DashMap<String, u32>,
    /// Orders being worked on, and those kicked meanwhile (worked on again after).
    busy: DashSet<String>,
    again: DashSet<String>,
    /// Orders waiting out a backoff: not attempted before this time.
    retry_at: DashMap<String, tokio::time::Instant>,
    /// Orders with a retry timer running (at most one each).
    scheduled: DashSet<String>,
    /// Each tenant's subscriptions, kept by a projection (loaded on first use).
    subscriptions: DashMap<Tenant, Arc<Vec<Subscription>>>,
    /// Per order and notice number: the subscriptions done with it, and attempts so far.
    progress: DashMap<(String, u32), HashMap<u32, Progress>>,
    stats: DashMap<(Tenant, u32), DeliveryStats>,
    permits: Arc<Semaphore>,
    stopping: AtomicBool,
}

#[derive(Debug, Clone, Copy, Default)]
struct Progress {
    attempts: u32,
    done: bool,
}

/// An order to work on, and how far its timeline went when it was kicked.
struct Kick {
    order: String,
    through: u32,
    /// Straight from a change: worked on after `coalesce_ms`, with the changes after it.
    fresh: bool,
}

/// Why an order's delivery stopped before it was published.
enum Stop {
    /// A receiver failed: try again after the backoff.
    Later(Duration),
    Engine(EngineError),
}

impl From<EngineError> for Stop {
    fn from(error: EngineError) -> Stop {
        Stop::Engine(error)
    }
}

impl Notifier {
    /// Starts delivering on the current tokio runtime; registers the projections that kick
    /// changed orders and keep the subscriptions (call before any order is activated).
    pub fn start(engine: &Engine, config: NotifyConfig) -> Notifier {
        let (kicks, mut incoming) = mpsc::unbounded_channel::<Kick>();
        let timeout = Duration::from_millis(config.timeout_ms);
        let http = reqwest::Client::builder().timeout(timeout).build().expect("an HTTP client");
        let inner = Arc::new(Inner {
            engine: engine.clone(),
            http,
            permits: Arc::new(Semaphore::new(config.concurrency.max(1))),
            config,
            kicks,
            busy: DashSet::new(),
            again: DashSet::new(),
            retry_at: DashMap::new(),
            scheduled: DashSet::new(),
            hints: DashMap::new(),
            subscriptions: DashMap::new(),
            progress: DashMap::new(),
            stats: DashMap::new(),
            stopping: AtomicBool::new(false),
        });
        engine.project::<Order>(Arc::new(Outbox(inner.kicks.clone())));
        engine.project::<Webhooks>(Arc::new(Subscriptions(Arc::downgrade(&inner))));
        let weak = Arc::downgrade(&inner);
        tokio::spawn(async move {
            while let Some(kick) = incoming.recv().await {
                let Some(inner) = weak.upgrade() else { return };
                if inner.stopping.load(Ordering::Relaxed) {
                    return;
                }
                Notifier { inner }.spawn(kick);
            }
        });
        Notifier { inner }
    }

    /// Kicks every order whose outbox row says it has undelivered notices (after a start).
    /// Blocks on the index: run it off the async workers.
    pub fn resume(&self) -> Result<usize, EngineError> {
        let journal = self.inner.engine.journal().clone();
        let mut kicked = 0;
        let namespace = bazaar_actors::index::OUTBOX_NAMESPACE;
        for row in
            bazaar_persistence::index_pages(journal, namespace, crate::limits::OUTBOX_PAGE_ROWS)
        {
            if let Some((order, _)) = bazaar_actors::index::parse_outbox(&row?) {
                let _ = self.inner.kicks.send(Kick { order, through: u32::MAX, fresh: false });
                kicked += 1;
            }
        }
        Ok(kicked)
    }

    /// Starts nothing new: what is undelivered waits in the outboxes for the next start.
    pub fn stop(&self) {
        self.inner.stopping.store(true, Ordering::Relaxed);
    }

    /// How each subscription of `tenant` delivered since this node started.
    pub fn stats(&self, tenant: &str, subscription: u32) -> DeliveryStats {
        let key = (Tenant::from(tenant), subscription);
        self.inner.stats.get(&key).map(|stats| stats.clone()).unwrap_or_default()
    }

    /// Forgets the delivery counts of a subscription that was ended.
    pub fn forget(&self, tenant: &str, subscription: u32) {
        self.inner.stats.remove(&(Tenant::from(tenant), subscription));
    }

    /// Kicks `order` again in `after` (once: a timer already running for it is enough).
    fn retry_later(&self, order: String, after: Duration) {
        self.inner.retry_at.insert(order.clone(), tokio::time::Instant::now() + after);
        self.schedule(order, after);
    }

    fn schedule(&self, order: String, after: Duration) {
        if !self.inner.scheduled.insert(order.clone()) {
            return;
        }
        let inner = self.inner.clone();
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            inner.scheduled.remove(&order);
            let through = inner.hints.remove(&order).map_or(u32::MAX, |(_, through)| through);
            let _ = inner.kicks.send(Kick { order, through, fresh: false });
        });
    }

    fn spawn(self, kick: Kick) {
        if kick.fresh {
            // A placement and its capture come moments apart: one round publishes both.
            let mut hint = self.inner.hints.entry(kick.order.clone()).or_insert(kick.through);
            *hint = (*hint).max(kick.through);
            drop(hint);
            let coalesce = Duration::from_millis(self.inner.config.coalesce_ms);
            self.schedule(kick.order, coalesce);
            return;
        }
        let waiting = self.inner.retry_at.get(&kick.order).map(|at| *at);
        if let Some(at) = waiting.filter(|at| *at > tokio::time::Instant::now()) {
            // Backing off: the attempt waits for its time (a timer kicks it then).
            self.schedule(kick.order, at - tokio::time::Instant::now());
            return;
        }
        if !self.inner.busy.insert(kick.order.clone()) {
            self.inner.again.insert(kick.order);
            return;
        }
        tokio::spawn(async move {
            let Ok(_permit) = self.inner.permits.clone().acquire_owned().await else { return };
            let order = kick.order.clone();
            let outcome = self.publish(&kick).await;
            self.inner.busy.remove(&order);
            match outcome {
                Ok(()) => {
                    self.inner.retry_at.remove(&order);
                }
                Err(Stop::Later(after)) => self.retry_later(order.clone(), after),
                Err(Stop::Engine(EngineError::ShuttingDown)) => return,
                Err(Stop::Engine(error)) => {
                    tracing::warn!(%error, order, "notices not published; retried");
                    self.retry_later(order.clone(), self.backoff(1));
                }
            }
            if self.inner.again.remove(&order).is_some() {
                let _ = self.inner.kicks.send(Kick { order, through: u32::MAX, fresh: false });
            }
        });
    }

    /// Delivers the order's undelivered notices, then records them published.
    async fn publish(&self, kick: &Kick) -> Result<(), Stop> {
        let Some((tenant, _)) = keys::split_tenant(&kick.order) else { return Ok(()) };
        let subscriptions = self.subscriptions(tenant).await?;
        let engine = &self.inner.engine;
        if subscriptions.is_empty() && kick.through != u32::MAX {
            // Nobody to tell: the notices are published as they are.
            let through = OrderCommand::MarkPublished { through: kick.through };
            let _ = engine.ask_appended::<Order>(&kick.order, through).await?;
            for number in 1..=kick.through {
                self.inner.progress.remove(&(kick.order.clone(), number));
            }
            return Ok(());
        }
        let order = match engine.ask::<Order>(&kick.order, OrderCommand::Get).await? {
            Ok(reply) => reply.order,
            Err(_) => return Ok(()),
        };
        let pending = order.unpublished();
        let Some(last) = pending.last() else { return Ok(()) };
        for notice in pending {
            self.deliver(tenant, &kick.order, &order, notice, &subscriptions).await?;
        }
        let through = OrderCommand::MarkPublished { through: last.number };
        let _ = engine.ask_appended::<Order>(&kick.order, through).await?;
        for notice in pending {
            self.inner.progress.remove(&(kick.order.clone(), notice.number));
        }
        Ok(())
    }

    /// Sends `notice` to every subscription that wants it and has not had it yet.
    async fn deliver(
        &self,
        tenant: &str,
        key: &str,
        order: &OrderView,
        notice: &Notice,
        subscriptions: &[Subscription],
    ) -> Result<(), Stop> {
        let event_type = notice.what.event_type();
        let wanted = subscriptions.iter().filter(|s| s.wants(event_type, notice.at_ms));
        let body = serde_json::to_vec(&body(tenant, order, notice)).expect("JSON of a notice");
        let progress_key = (key.to_owned(), notice.number);
        let mut retry: Option<Duration> = None;
        for subscription in wanted {
            let progress = self
                .inner
                .progress
                .get(&progress_key)
                .and_then(|done| done.get(&subscription.id).copied())
                .unwrap_or_default();
            if progress.done {
                continue;
            }
            let attempt = progress.attempts + 1;
            let now_ms = self.inner.engine.clock().now_ms();
            let sent = self.send(subscription, event_id(order, notice), &body, now_ms).await;
            let given_up = sent.is_err() && attempt >= self.inner.config.max_attempts;
            let outcome = match (&sent, given_up) {
                (Ok(_), _) => "delivered",
                (Err(_), true) => "dead_lettered",
                (Err(_), false) => "failed",
            };
            let status = match &sent {
                Ok(status) => Some(*status),
                Err((status, _)) => *status,
            };
            let record = Attempt {
                event_id: event_id(order, notice),
                event_type,
                attempt,
                at_ms: now_ms,
                status,
                outcome,
            };
            let error = sent.as_ref().err().map(|(_, error)| error.clone());
            if given_up {
                tracing::warn!(
                    event = record.event_id,
                    url = subscription.url,
                    "a notice was given up on"
                );
            }
            self.inner
                .stats
                .entry((Tenant::from(tenant), subscription.id))
                .or_default()
                .record(record, error);
            let done = sent.is_ok() || given_up;
            self.inner
                .progress
                .entry(progress_key.clone())
                .or_default()
                .insert(subscription.id, Progress { attempts: attempt, done });
            if !done {
                let after = self.backoff(attempt);
                retry = Some(retry.map_or(after, |sooner| sooner.min(after)));
            }
        }
        match retry {
            Some(after) => Err(Stop::Later(after)),
            None => Ok(()),
        }
    }

    /// One signed POST; the receiver's 2xx status, or what went wrong.
    async fn send(
        &self,
        subscription: &Subscription,
        event_id: String,
        body: &[u8],
        now_ms: u64,
    ) -> Result<u16, (Option<u16>, String)> {
        let sent = self
            .inner
            .http
            .post(&subscription.url)
            .header("content-type", "application/json")
            .header(EVENT_ID_HEADER, event_id)
            .header(SIGNATURE_HEADER, signature(&subscription.secret, now_ms, body))
            .body(body.to_vec())
            .send()
            .await;
        match sent {
            Ok(response) if response.status().is_success() => Ok(response.status().as_u16()),
            Ok(response) => {
                let status = response.status().as_u16();
                Err((Some(status), format!("the receiver answered {status}")))
            }
            Err(error) => Err((None, format!("no answer: {error}"))),
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let config = &self.inner.config;
        let doubled = config.retry_base_ms.saturating_mul(1 << attempt.saturating_sub(1).min(20));
        Duration::from_millis(doubled.min(config.retry_max_ms))
    }

    async fn subscriptions(&self, tenant: &str) -> Result<Arc<Vec<Subscription>>, EngineError> {
        if let Some(known) = self.inner.subscriptions.get(tenant) {
            return Ok(known.clone());
        }
        let reply = self.inner.engine.ask::<Webhooks>(tenant, WebhooksCommand::Get).await?;
        let listed = Arc::new(reply.map(|reply| reply.subscriptions).unwrap_or_default());
        // A projection's newer list, if one came meanwhile, wins.
        Ok(self.inner.subscriptions.entry(Tenant::from(tenant)).or_insert(listed).clone())
    }
}

/// Kicks an order whose timeline has undelivered notices, once its events are durable.
struct Outbox(mpsc::UnboundedSender<Kick>);

impl Projection<Order> for Outbox {
    fn prepare(
        &self,
        key: &EntityKey,
        state: &Order,
        _: &[<Order as bazaar_engine::Entity>::Event],
    ) -> Option<Publish> {
        let view = state.view()?;
        let through = view.unpublished().last()?.number;
        let (kicks, order) = (self.0.clone(), key.id.to_string());
        Some(Box::new(move || {
            let _ = kicks.send(Kick { order, through, fresh: true });
        }))
    }
}

/// Keeps each tenant's subscriptions.
struct Subscriptions(std::sync::Weak<Inner>);

impl Projection<Webhooks> for Subscriptions {
    fn prepare(
        &self,
        key: &EntityKey,
        state: &Webhooks,
        _: &[<Webhooks as bazaar_engine::Entity>::Event],
    ) -> Option<Publish> {
        let (inner, tenant) = (self.0.clone(), Tenant::from(&*key.id));
        let listed = Arc::new(state.subscriptions().to_vec());
        Some(Box::new(move || {
            if let Some(inner) = inner.upgrade() {
                inner.subscriptions.insert(tenant, listed);
            }
        }))
    }
}
