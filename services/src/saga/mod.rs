//! Runs checkout sagas: performs each step the [`Checkout`] entity names and records its
//! outcome there before the next one starts.
//!
//! Invariants:
//! - A saga is listed on the `checkout` worklist before it begins and leaves it only once
//!   finished, so [`Sagas::resume`] finds every unfinished saga after a crash.
//! - At most one runner per saga in this process (`running`); a second one elsewhere would be
//!   harmless, since every outcome is recorded in step order and every effect is idempotent
//!   by an id derived from the saga's key.
//! - A step that fails for a reason outside the business (the engine overloaded, a time-out)
//!   is retried with capped backoff; only business outcomes (out of stock, declined...) end
//!   a saga. Compensations never give up.
//! - Some forward outcomes are recorded in order but not waited on for durability
//!   ([`Engine::ask_appended`]), so the next step starts one journal sync sooner: `Priced`
//!   and `Reserved` (covered by the durable `Scored`) and `Placed` (covered by the durable
//!   `Committed`). The journal keeps the saga's events in order and fails every write after
//!   a failed one, so a durable record makes the earlier ones durable too. A crash can
//!   therefore lose only outcomes whose redo is safe: pricing and holds (same ids; a repeated
//!   Reserve first gives back what it held elsewhere) before the provider is asked anything,
//!   and placing (the order answers from its durable state) once the authorization is
//!   durable. The authorization is never redone once the order may exist. `Committed` is
//!   durable: a redone commit would be answered from the inventory's bounded memory of
//!   settlements, which may have forgotten it. Failures and compensations are durable.
//! - Waiters (the `POST` answer, a status read, a 202 body) see only views from durable
//!   records, so no answer shows a total, score or step a crash could take back.
//! - No lock is held across an `.await`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bazaar_engine::{Ack, Engine, EngineError};
use dashmap::DashMap;
use dashmap::mapref::entry::Entry;
use serde::Deserialize;
use tokio::sync::watch;

use crate::catalog::{Catalog, Item, ReserveFailure};
use crate::fraud::address_fingerprint;
use crate::orders::OrderBook;
use crate::payments::{AuthorizeRequest, PaymentError, Payments};
use bazaar_actors::cart::{
    Cart, CartCommand, CartOwner, CartRejection, LineFlag, OfferChoice, priced_view,
};
use bazaar_actors::checkout::{
    Checkout, CheckoutCommand, CheckoutRejection, CheckoutReply, CheckoutRequest, CheckoutStatus,
    CheckoutView, Failure, FailureCode, Outcome, Priced, PricedItem, Step,
};
use bazaar_actors::fraud::{self, FraudDecision, FraudInput, FraudPolicy, SellerRisk};
use bazaar_actors::inventory::Held;
use bazaar_actors::inventory::InventoryCommand;
use bazaar_actors::keys;
use bazaar_actors::order::{
    CapturePolicy, NewOrder, Order, OrderCommand, OrderLine, OrderRejection,
};
use bazaar_actors::pricing::{PricingContext, VatTable};
use bazaar_actors::promotion::{self, Promotion, PromotionCommand};
use bazaar_actors::worklist::{self, Worklist, WorklistCommand};

mod payment_job;

pub use payment_job::{PaymentJob, VOID_QUEUE};

/// Describes the sagas' and the payment job's metrics (once, at start).
pub fn describe_metrics() {
    use metrics::{Unit, describe_counter, describe_histogram};
    describe_counter!(
        "checkout_sagas_total",
        "checkout sagas finished, by outcome and failure code"
    );
    describe_histogram!(
        "checkout_saga_seconds",
        Unit::Seconds,
        "checkout saga duration, begin to end"
    );
    describe_counter!("checkout_step_retries_total", "saga steps retried after a passing failure");
    describe_counter!(
        "payment_job_actions_total",
        "payments captured, refunded or voided, and cancelled orders restocked, by the payment job"
    );
}

/// The worklist of unfinished sagas.
pub const CHECKOUT_QUEUE: &str = "checkout";

/// How a node runs checkouts (`[checkout]` in the cluster configuration).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SagasConfig {
    /// How long a checkout's reservations last: long enough for any saga to finish.
    pub hold_ttl_ms: u64,
    /// The marketplace's commission on each line's net, in basis points.
    pub commission_bps: u16,
    /// Days a parcel travels, added to the offer's handling days for the promise.
    pub transit_days: u8,
    /// Longest pause between two attempts of a step that failed for a passing reason.
    pub retry_max_ms: u64,
    /// Fraud thresholds and points (`[checkout.fraud]`).
    pub fraud: FraudPolicy,
}

impl Default for SagasConfig {
    fn default() -> SagasConfig {
        SagasConfig {
            hold_ttl_ms: 30 * 60 * 1000,
            commission_bps: 1500,
            transit_days: 2,
            retry_max_ms: 5000,
            fraud: FraudPolicy::default(),
        }
    }
}

impl SagasConfig {
    /// Checks what serde cannot.
    pub fn validate(&self) -> Result<(), String> {
        let ttl_max = bazaar_actors::limits::RESERVATION_TTL_MS_MAX;
        if self.hold_ttl_ms < 60_000 || self.hold_ttl_ms > ttl_max {
            return Err(format!("checkout.hold_ttl_ms must be 60000 to {ttl_max}"));
        }
        if self.commission_bps > 10_000 {
            return Err("checkout.commission_bps is at most 10000 (100 %)".into());
        }
        if self.retry_max_ms == 0 {
            return Err("checkout.retry_max_ms must be > 0".into());
        }
        if self.fraud.review_at > self.fraud.reject_at {
            return Err("checkout.fraud.review_at must not exceed reject_at".into());
        }
        Ok(())
    }
}

/// What a step could not do for a passing reason: the step is tried again.
#[derive(Debug, thiserror::Error)]
enum Retry {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("{0}")]
    Refused(String),
}

type StepResult = Result<Outcome, Retry>;

/// Runs sagas and lets requests wait for their outcome.
#[derive(Clone)]
pub struct Sagas {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    catalog: Catalog,
    payments: Payments,
    orders: OrderBook,
    signals: crate::fraud::FraudSignals,
    vat: Arc<VatTable>,
    config: SagasConfig,
    /// The sagas running here, and the latest view of each for those waiting on it.
    running: DashMap<String, watch::Sender<CheckoutView>>,
    payment_job: PaymentJob,
    /// Set once the node stops: runners leave their sagas listed for the next start.
    stopping: AtomicBool,
}

/// Why a checkout could not even begin.
#[derive(Debug, thiserror::Error)]
pub enum BeginError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Rejected(#[from] CheckoutRejection),
    #[error("too many unfinished checkouts")]
    Busy,
}

impl Sagas {
    pub fn new(
        engine: Engine,
        catalog: Catalog,
        payments: Payments,
        orders: OrderBook,
        vat: Arc<VatTable>,
        config: SagasConfig,
    ) -> Sagas {
        let payment_job = PaymentJob::start(engine.clone(), payments.clone(), orders.clone());
        let inner = Inner {
            engine,
            catalog,
            payments,
            orders,
            signals: crate::fraud::FraudSignals::default(),
            vat,
            config,
            running: DashMap::new(),
            payment_job,
            stopping: AtomicBool::new(false),
        };
        Sagas { inner: Arc::new(inner) }
    }

    pub fn payments(&self) -> &Payments {
        &self.inner.payments
    }

    pub fn payment_job(&self) -> &PaymentJob {
        &self.inner.payment_job
    }

    /// Stops driving sagas and settling payments (the node is stopping): each runner ends
    /// after its current step, leaving its saga listed for the next start to resume.
    pub fn stop(&self) {
        self.inner.stopping.store(true, Ordering::Relaxed);
        self.inner.payment_job.stop();
    }

    /// Begins the checkout `id` (`{tenant}/{customer}/{key}`), or meets the one already
    /// begun with the same request, and waits up to `wait` for it to finish. The view may
    /// still be running when the wait is over.
    pub async fn checkout(
        &self,
        id: &str,
        request: CheckoutRequest,
        wait: Duration,
    ) -> Result<CheckoutView, BeginError> {
        let engine = &self.inner.engine;
        let listed = WorklistCommand::Add { item: id.to_owned() };
        let bucket = worklist::bucket_of(CHECKOUT_QUEUE, id);
        let begin = CheckoutCommand::Begin(Box::new(request));
        // Side by side: `Begin` has no effect outside the saga, and no step runs before both
        // are durable. If only `Begin` survives a crash, the saga is unlisted but has done
        // nothing; the client's retry (or a status read) meets it and runs it.
        let (listed, begun) = tokio::join!(
            engine.ask::<Worklist>(&bucket, listed),
            engine.ask::<Checkout>(id, begin),
        );
        listed?.map_err(|_| BeginError::Busy)?;
        let reply = begun??;
        Ok(self.wait(id, reply, wait, Listed::Yes).await)
    }

    /// The checkout `id` as it stands. A running saga nobody drives here (its node restarted
    /// and has not resumed it yet) gets a runner.
    pub async fn status(&self, id: &str) -> Result<Option<CheckoutView>, EngineError> {
        match self.inner.engine.ask::<Checkout>(id, CheckoutCommand::Get).await? {
            Ok(reply) => Ok(Some(self.wait(id, reply, Duration::ZERO, Listed::Unknown).await)),
            Err(_) => Ok(None),
        }
    }

    /// Runs every saga left unfinished by the last run of this node; the number resumed. A
    /// passing failure (an overloaded shard at start) is retried with capped backoff until
    /// the node stops: no listed saga may be left without a runner.
    pub async fn resume(&self) -> Result<usize, EngineError> {
        let mut pause = Duration::from_millis(100);
        loop {
            match self.resume_once().await {
                Err(error) if !matches!(error, EngineError::ShuttingDown) => {
                    tracing::warn!(error = %error, "resuming checkouts; trying again");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(5));
                }
                done => return done,
            }
        }
    }

    async fn resume_once(&self) -> Result<usize, EngineError> {
        let mut resumed = 0;
        for bucket in worklist::buckets(CHECKOUT_QUEUE) {
            let reply = self.inner.engine.ask::<Worklist>(&bucket, WorklistCommand::List).await?;
            for id in reply.map(|reply| reply.items).unwrap_or_default() {
                match self.inner.engine.ask::<Checkout>(&id, CheckoutCommand::Get).await? {
                    Ok(reply) => {
                        self.wait(&id, reply, Duration::ZERO, Listed::Yes).await;
                    }
                    Err(_) => self.unlist(&id).await?,
                }
                resumed += 1;
            }
        }
        self.inner.payment_job.sweep_soon();
        Ok(resumed)
    }

    /// Makes sure a runner drives `id`, then waits up to `wait` for its end.
    async fn wait(
        &self,
        id: &str,
        reply: CheckoutReply,
        wait: Duration,
        listed: Listed,
    ) -> CheckoutView {
        let view = reply.checkout;
        if !matches!(view.status, CheckoutStatus::Running { .. }) {
            if listed == Listed::Yes {
                // Finished (maybe just before a crash, or a retry listed it again): it leaves
                // the worklist now. A plain status read writes nothing.
                let _ = self.unlist(id).await;
            }
            return view;
        }
        let mut watching = match self.inner.running.entry(id.to_owned()) {
            Entry::Occupied(running) => running.get().subscribe(),
            Entry::Vacant(vacant) => {
                let (tell, watching) = watch::channel(view.clone());
                vacant.insert(tell);
                let sagas = self.clone();
                let (id, saga, fresh) = (id.to_owned(), reply.saga, reply.began);
                tokio::spawn(async move { sagas.drive(id, *saga, fresh).await });
                watching
            }
        };
        let finished = |view: &CheckoutView| !matches!(view.status, CheckoutStatus::Running { .. });
        if let Ok(Ok(view)) = tokio::time::timeout(wait, watching.wait_for(finished)).await {
            return view.clone();
        }
        watching.borrow().clone()
    }

    /// Drives the saga `id` to its end. `fresh`: this process began it, so no earlier
    /// attempt of any step can have happened elsewhere.
    async fn drive(&self, id: String, mut saga: Checkout, fresh: bool) {
        let mut pause_ms = 10;
        // The steps this runner has attempted: a step attempted before (here, or by an earlier
        // process when the saga is not fresh) may have left effects behind.
        let mut tried: Vec<Step> = Vec::new();
        loop {
            if self.inner.stopping.load(Ordering::Relaxed) {
                // Still listed: the next start resumes it.
                self.inner.running.remove(&id);
                return;
            }
            let step = saga.next_step();
            if step == Step::Done {
                break;
            }
            let attempt = Attempt { repeated: !fresh || tried.contains(&step) };
            if !tried.contains(&step) {
                tried.push(step);
            }
            let (recorded, ack) = match self.perform(&id, &saga, step, attempt).await {
                Ok(outcome) => {
                    let ack = ack_of(&outcome);
                    (self.record(&id, outcome, ack).await, ack)
                }
                Err(retry) => (Err(retry), Ack::Durable),
            };
            match recorded {
                Ok(reply) => {
                    pause_ms = 10;
                    if let (Ack::Durable, Some(running)) = (ack, self.inner.running.get(&id)) {
                        running.send_replace(reply.checkout.clone());
                    }
                    saga = *reply.saga;
                }
                Err(Retry::Engine(EngineError::ShuttingDown)) => {
                    // Never passes; still listed: the next start resumes it.
                    self.inner.running.remove(&id);
                    return;
                }
                Err(retry) => {
                    metrics::counter!("checkout_step_retries_total", "step" => step.name())
                        .increment(1);
                    tracing::warn!(checkout = %id, step = step.name(), error = %retry, "checkout step will be retried");
                    tokio::time::sleep(Duration::from_millis(pause_ms)).await;
                    pause_ms = (pause_ms * 2).min(self.inner.config.retry_max_ms.max(10));
                    if let Ok(Ok(reply)) =
                        self.inner.engine.ask::<Checkout>(&id, CheckoutCommand::Get).await
                    {
                        saga = *reply.saga;
                    }
                }
            }
        }
        if let Some(view) = saga.view() {
            let (outcome, code) = match &view.failure {
                None => ("completed", "none"),
                Some(failure) => ("failed", failure.code.code()),
            };
            metrics::counter!("checkout_sagas_total", "outcome" => outcome, "code" => code)
                .increment(1);
            let took_ms = view
                .finished_at_ms
                .unwrap_or(view.started_at_ms)
                .saturating_sub(view.started_at_ms);
            metrics::histogram!("checkout_saga_seconds").record(took_ms as f64 / 1000.0);
        }
        if let Err(error) = self.unlist(&id).await {
            // Still listed: the next start resumes it and finds nothing to do.
            tracing::warn!(checkout = %id, error = %error, "finished checkout not unlisted");
        }
        if let (Some(view), Some((_, running))) = (saga.view(), self.inner.running.remove(&id)) {
            running.send_replace(view);
        }
    }

    async fn record(&self, id: &str, outcome: Outcome, ack: Ack) -> Result<CheckoutReply, Retry> {
        let (engine, command) = (&self.inner.engine, CheckoutCommand::Record(outcome));
        let answer = match ack {
            Ack::Appended => engine.ask_appended::<Checkout>(id, command).await?,
            Ack::Durable => engine.ask::<Checkout>(id, command).await?,
        };
        answer.map_err(|rejection| Retry::Refused(rejection.to_string()))
    }

    async fn unlist(&self, id: &str) -> Result<(), EngineError> {
        let bucket = worklist::bucket_of(CHECKOUT_QUEUE, id);
        let remove = WorklistCommand::Remove { item: id.to_owned() };
        self.inner.engine.ask::<Worklist>(&bucket, remove).await?.ok();
        Ok(())
    }

    async fn perform(&self, id: &str, saga: &Checkout, step: Step, attempt: Attempt) -> StepResult {
        let (Some(request), Some(order)) = (saga.request(), saga.order()) else {
            return Err(Retry::Refused("the checkout has not begun".into()));
        };
        let tenant = keys::split_tenant(id).map(|(tenant, _)| tenant).unwrap_or_default();
        let order_key = bazaar_actors::order::entity_id(tenant, order);
        let run = Run { inner: &self.inner, id, tenant, saga, request, order, order_key };
        match step {
            Step::Price => run.price().await,
            Step::Reserve => run.reserve(attempt).await,
            Step::Score => Ok(run.score()),
            Step::Authorize => run.authorize(attempt).await,
            Step::Place => run.place().await,
            Step::Commit => run.commit().await,
            Step::Plan => run.plan().await,
            Step::CancelOrder => run.cancel_order().await,
            Step::Void => run.void().await,
            Step::Release => run.release().await,
            Step::Unredeem => run.unredeem().await,
            Step::Done => Err(Retry::Refused("nothing left to do".into())),
        }
    }
}

/// Whether the caller of [`Sagas::wait`] may have left a finished saga on the worklist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Listed {
    Yes,
    Unknown,
}

/// How the outcome is recorded: see the module doc for which may be appended and why.
fn ack_of(outcome: &Outcome) -> Ack {
    match outcome {
        Outcome::Priced(_) | Outcome::Reserved { .. } | Outcome::Placed => Ack::Appended,
        Outcome::Committed
        | Outcome::Scored { .. }
        | Outcome::Authorized { .. }
        | Outcome::Planned
        | Outcome::Failed(_)
        | Outcome::OrderCancelled
        | Outcome::Voided
        | Outcome::Released
        | Outcome::Unredeemed
        | Outcome::VoidDeferred => Ack::Durable,
    }
}

/// What a runner knows of earlier attempts of a step.
#[derive(Debug, Clone, Copy)]
struct Attempt {
    /// The step may have run before (by an earlier process, or an earlier attempt here): an
    /// authorization possibly at another provider, a hold possibly at another location.
    repeated: bool,
}

/// One step of one saga, with what every step reads.
struct Run<'a> {
    inner: &'a Inner,
    /// The checkout's entity id.
    id: &'a str,
    tenant: &'a str,
    saga: &'a Checkout,
    request: &'a CheckoutRequest,
    order: &'a bazaar_actors::order::OrderId,
    order_key: String,
}

fn failed(step: Step, code: FailureCode, detail: impl Into<String>) -> Outcome {
    Outcome::Failed(Failure { step, code, detail: detail.into() })
}

impl Run<'_> {
    fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    fn priced(&self) -> Result<&Priced, Retry> {
        self.saga.priced().ok_or_else(|| Retry::Refused("not priced yet".into()))
    }

    /// The cart's priced view as the shopper would see it now; promotions whose limits are
    /// reached are left out (pricing runs again without them), the others are redeemed for
    /// the order.
    /// Prices the cart and redeems its promotions; a failure after some were redeemed gives
    /// them back at once (the saga's own Unredeem step only knows what `Priced` recorded).
    async fn price(&self) -> StepResult {
        let mut redeemed = Vec::new();
        let outcome = self.price_and_redeem(&mut redeemed).await?;
        if matches!(outcome, Outcome::Failed(_))
            && !redeemed.is_empty()
            && let Err(error) = self.unredeem_all(redeemed.iter()).await
        {
            tracing::warn!(order = %self.order, error = %error, "redemptions not given back");
        }
        Ok(outcome)
    }

    async fn price_and_redeem(
        &self,
        redeemed: &mut Vec<bazaar_actors::promotion::PromotionId>,
    ) -> StepResult {
        let cart_key = keys::cart(self.tenant, &self.request.cart);
        let cart = match self.engine().ask::<Cart>(&cart_key, CartCommand::Get).await {
            Ok(Ok(reply)) => reply.cart,
            // An id no cart can have (the gateway checks its shape; this never retries it).
            Ok(Err(CartRejection::UnknownCart)) | Err(EngineError::InvalidId { .. }) => {
                return Ok(failed(Step::Price, FailureCode::CartNotFound, "no such cart"));
            }
            Ok(Err(other)) => return Err(Retry::Refused(other.to_string())),
            Err(error) => return Err(error.into()),
        };
        if cart.owner != CartOwner::Customer(self.request.customer.clone()) {
            return Ok(failed(Step::Price, FailureCode::CartNotFound, "no such cart"));
        }
        if cart.lines.is_empty() {
            return Ok(failed(Step::Price, FailureCode::CartEmpty, "the cart is empty"));
        }
        let facts = self.inner.catalog.facts_of(self.tenant, &cart.lines);
        let mut promotions = self.inner.catalog.promotions(self.tenant);
        let redemption = promotion::OrderId::parse(self.order.as_str())
            .map_err(|error| Retry::Refused(error.to_string()))?;
        let now_ms = self.engine().clock().now_ms();
        loop {
            let context = PricingContext {
                destination: self.request.ship_to.country,
                promotions: &promotions,
                coupons: &self.request.coupons,
                vat: &self.inner.vat,
                now_ms,
            };
            let view = match priced_view(&cart, &facts, context) {
                Ok(view) => view,
                Err(error) => {
                    return Ok(failed(Step::Price, FailureCode::PricingRefused, error.to_string()));
                }
            };
            for line in &view.lines {
                let asin = &line.line.asin;
                if line.flags.contains(&LineFlag::NoLongerAvailable) {
                    // Still offered, just not in stock: the shopper hears "out of stock",
                    // as when the last unit goes while reserving.
                    let offered =
                        facts.products.get(asin).is_some_and(|product| match &line.line.offer {
                            OfferChoice::BuyBox => !product.offers.is_empty(),
                            OfferChoice::Seller(seller) => product.offers.contains_key(seller),
                        });
                    let (code, detail) = match offered {
                        true => (FailureCode::OutOfStock, format!("{asin} is out of stock")),
                        false => {
                            (FailureCode::LineUnavailable, format!("{asin} is no longer offered"))
                        }
                    };
                    return Ok(failed(Step::Price, code, detail));
                }
                if let Some(LineFlag::PriceChanged { was, now }) = line.flags.first() {
                    let detail = format!(
                        "{asin} now costs {} minor units, not {}: add it to the cart again to confirm",
                        now.minor, was.minor
                    );
                    return Ok(failed(Step::Price, FailureCode::PriceChanged, detail));
                }
            }
            let mut refused = None;
            for applied in &view.applied {
                if redeemed.contains(&applied.id) {
                    continue;
                }
                let key = keys::promotion(self.tenant, &applied.id);
                let redeem = PromotionCommand::Redeem {
                    customer: self.request.customer.clone(),
                    order_id: redemption.clone(),
                };
                match self.engine().ask::<Promotion>(&key, redeem).await? {
                    Ok(_) => redeemed.push(applied.id.clone()),
                    Err(_) => {
                        refused = Some(applied.id.clone());
                        break;
                    }
                }
            }
            if let Some(refused) = refused {
                // A limit was reached: price again without it.
                promotions.retain(|candidate| candidate.id != refused);
                continue;
            }
            let items = view
                .lines
                .iter()
                .filter_map(|line| line.priced.clone())
                .map(|line| {
                    let offer =
                        self.inner.catalog.product(self.tenant, &line.asin).and_then(|product| {
                            product.offers.iter().find(|offer| offer.seller == line.seller).cloned()
                        });
                    let (sku, handling_days) = match offer {
                        Some(offer) => (offer.terms.sku, offer.terms.handling_days),
                        None => return Err(line.asin.clone()),
                    };
                    let handling_days = u8::try_from(handling_days).unwrap_or(u8::MAX);
                    Ok(PricedItem { line, sku, handling_days })
                })
                .collect::<Result<Vec<_>, _>>();
            let items = match items {
                Ok(items) => items,
                Err(asin) => {
                    let detail = format!("{asin} can no longer be bought");
                    return Ok(failed(Step::Price, FailureCode::LineUnavailable, detail));
                }
            };
            let applied: Vec<_> = view.applied.iter().map(|applied| applied.id.clone()).collect();
            // Redeemed on an earlier round but no longer applied: given back at once.
            for stale in redeemed.iter().filter(|id| !applied.contains(id)) {
                let key = keys::promotion(self.tenant, stale);
                let unredeem = PromotionCommand::Unredeem { order_id: redemption.clone() };
                self.engine().ask::<Promotion>(&key, unredeem).await?.ok();
            }
            redeemed.retain(|id| applied.contains(id));
            return Ok(Outcome::Priced(Box::new(Priced {
                currency: view.currency,
                items,
                totals: view.totals,
                promotions: view.applied,
                redeemed: redeemed.clone(),
            })));
        }
    }

    /// Holds every line at one of its seller's locations, or nothing.
    async fn reserve(&self, attempt: Attempt) -> StepResult {
        let priced = self.priced()?;
        let mut held: Vec<Held> = Vec::with_capacity(priced.items.len());
        for (index, item) in priced.items.iter().enumerate() {
            let wanted = Item {
                asin: item.line.asin.clone(),
                seller: item.line.seller.clone(),
                sku: item.sku.clone(),
                quantity: item.line.quantity,
            };
            let reservation_id =
                bazaar_actors::ReservationId::parse(&format!("{}.{index}", self.order))
                    .map_err(|error| Retry::Refused(error.to_string()))?;
            let ttl_ms = self.inner.config.hold_ttl_ms;
            if attempt.repeated {
                // An earlier attempt may hold this line at a location that had more stock
                // then; it is given back, so the line is held once.
                let (seller, sku) = (&wanted.seller, &wanted.sku);
                self.inner
                    .catalog
                    .release_everywhere(self.tenant, seller, sku, &reservation_id)
                    .await?;
            }
            match self.inner.catalog.hold(self.tenant, wanted, reservation_id, ttl_ms).await {
                Ok(line) => held.push(line),
                Err(ReserveFailure::Engine(error)) => return Err(error.into()),
                Err(failure) => {
                    self.inner.catalog.release_held(self.tenant, &held).await?;
                    let code = match failure {
                        ReserveFailure::OutOfStock { .. } => FailureCode::OutOfStock,
                        _ => FailureCode::LineUnavailable,
                    };
                    return Ok(failed(Step::Reserve, code, failure.to_string()));
                }
            }
        }
        Ok(Outcome::Reserved { held })
    }

    /// The fraud score, from this checkout's velocity, the customer's history and the risk
    /// of the order's sellers.
    fn score(&self) -> Outcome {
        let Ok(priced) = self.priced() else {
            return failed(Step::Score, FailureCode::FraudRejected, "not priced");
        };
        let now_ms = self.engine().clock().now_ms();
        let ship_to = &self.request.ship_to;
        let country = ship_to.country.to_string();
        let address = address_fingerprint(&country, &ship_to.postal_code, &ship_to.line1);
        let velocity = self.inner.signals.record(
            self.tenant,
            &self.request.customer,
            &self.request.card,
            &address,
            now_ms,
        );
        let customer =
            self.inner.orders.customer_facts(self.tenant, &self.request.customer, priced.currency);
        let sellers = priced
            .items
            .iter()
            .filter_map(|item| self.inner.catalog.seller(self.tenant, &item.line.seller))
            .map(|seller| SellerRisk::from_score(&seller.score))
            .collect();
        let input = FraudInput {
            amount: priced.totals.total,
            now_ms,
            customer,
            velocity,
            ship_country: ship_to.country,
            bill_country: self.request.bill_country,
            sellers,
        };
        Outcome::Scored { assessment: fraud::assess(&input, &self.inner.config.fraud) }
    }

    /// Authorizes the total (primary provider, then the backup). Captured at placement,
    /// unless auth-only mode is on or the order is held for fraud review: then at shipment.
    /// When an earlier attempt may have authorized elsewhere (a crash in mid-failover), the
    /// key is voided at the other providers, so one authorization stays.
    async fn authorize(&self, attempt: Attempt) -> StepResult {
        let Ok(priced) = self.priced() else {
            return Err(Retry::Refused("not priced yet".into()));
        };
        let request = AuthorizeRequest {
            key: self.order.to_string(),
            // The order's entity id: the tenant first, so reconciliation can tell tenants apart.
            reference: self.order_key.clone(),
            amount: priced.totals.total,
            card: self.request.card.clone(),
        };
        match self.inner.payments.authorize(&request).await {
            Ok(authorization) => {
                // An earlier attempt (before a crash, or at a provider that failed over) may
                // hold an authorization elsewhere: voided durably at every other provider.
                let failed_over =
                    self.inner.payments.preferred().is_some_and(|first| first != authorization.psp);
                if attempt.repeated || failed_over {
                    let (key, holder) = (&authorization.key, &authorization.psp);
                    match self.inner.payment_job.defer_void_except(key, holder).await {
                        Ok(Ok(())) => {}
                        Ok(Err(full)) => return Err(Retry::Refused(full.to_string())),
                        Err(error) => return Err(error.into()),
                    }
                }
                let review = self.saga.fraud().is_some_and(|f| f.decision == FraudDecision::Review);
                let capture = if review || self.inner.payments.capture_deferred() {
                    CapturePolicy::AtShipment
                } else {
                    CapturePolicy::AtPlacement
                };
                Ok(Outcome::Authorized { authorization, capture })
            }
            Err(PaymentError::Declined { reason }) => {
                Ok(failed(Step::Authorize, FailureCode::PaymentDeclined, reason))
            }
            Err(PaymentError::Refused { detail }) => {
                Ok(failed(Step::Authorize, FailureCode::PaymentDeclined, detail))
            }
            Err(PaymentError::Unavailable { detail }) => {
                Ok(failed(Step::Authorize, FailureCode::PaymentUnavailable, detail))
            }
        }
    }

    /// Places the order; the payment job finds it unsettled in the order book and captures
    /// (or, if it is cancelled later, voids or refunds).
    async fn place(&self) -> StepResult {
        let (priced, authorization) = match (self.saga.priced(), self.saga.authorization()) {
            (Some(priced), Some(authorization)) => (priced, authorization.clone()),
            _ => return Err(Retry::Refused("not authorized yet".into())),
        };
        let held: Vec<&Held> = self.saga.holds().collect();
        let lines = priced
            .items
            .iter()
            .zip(&held)
            .map(|(item, held)| {
                let line = &item.line;
                OrderLine {
                    asin: line.asin.clone(),
                    seller: line.seller.clone(),
                    sku: item.sku.clone(),
                    location: held.location.clone(),
                    quantity: line.quantity,
                    unit_price: line.unit_price,
                    discount: line.discount,
                    // Pricing never waives more than the charge, so this cannot underflow.
                    shipping: line
                        .shipping
                        .checked_sub(line.shipping_discount)
                        .unwrap_or(line.shipping),
                    net: line.net,
                    vat_rate_bps: line.vat_rate_bps,
                    vat: line.vat,
                    total: line.total,
                    handling_days: item.handling_days,
                }
            })
            .collect();
        let new = NewOrder {
            customer: self.request.customer.clone(),
            checkout: self.id.to_owned(),
            currency: priced.currency,
            lines,
            totals: priced.totals.clone(),
            promotions: priced.promotions.clone(),
            authorization,
            capture: self.saga.capture().unwrap_or(CapturePolicy::AtShipment),
            commission_bps: self.inner.config.commission_bps,
            fraud: self.saga.fraud().cloned().ok_or_else(|| Retry::Refused("not scored".into()))?,
            ship_to: self.request.ship_to.clone(),
        };
        match self
            .engine()
            .ask::<Order>(&self.order_key, OrderCommand::Place(Box::new(new)))
            .await?
        {
            Ok(_) => {
                // Captured (when due) while the saga commits and plans.
                self.inner.payment_job.kick(&self.order_key);
                Ok(Outcome::Placed)
            }
            Err(rejection) => {
                Ok(failed(Step::Place, FailureCode::OrderRefused, rejection.to_string()))
            }
        }
    }

    /// Turns every hold into a sale.
    async fn commit(&self) -> StepResult {
        for held in self.saga.holds() {
            let commit = InventoryCommand::Commit { reservation_id: held.reservation_id.clone() };
            if let Err(rejection) =
                self.inner.catalog.settle_hold(self.tenant, held, commit).await?
            {
                let detail = format!("{}: {rejection}", held.reservation_id);
                return Ok(failed(Step::Commit, FailureCode::ReservationExpired, detail));
            }
        }
        Ok(Outcome::Committed)
    }

    /// Plans the shipments (promised-by dates) and, alongside, empties the cart (a cart
    /// already empty, or gone, is fine: the order has its lines). The last forward step.
    async fn plan(&self) -> StepResult {
        let plan = OrderCommand::PlanShipments { transit_days: self.inner.config.transit_days };
        let cart_key = keys::cart(self.tenant, &self.request.cart);
        let (planned, cleared) = tokio::join!(
            self.engine().ask::<Order>(&self.order_key, plan),
            self.engine().ask::<Cart>(&cart_key, CartCommand::Clear),
        );
        cleared?.ok();
        match planned? {
            // Cancelled by the customer since it was placed (and maybe refunded already):
            // nothing left to plan; the order's own lifecycle (void or refund, restock) takes
            // it from here.
            Ok(_) | Err(OrderRejection::OrderCancelled | OrderRejection::OrderRefunded) => {
                Ok(Outcome::Planned)
            }
            Err(rejection) => Err(Retry::Refused(rejection.to_string())),
        }
    }

    async fn cancel_order(&self) -> StepResult {
        let reason = self.saga.failure().map_or("checkout failed", |f| f.code.code()).to_owned();
        // Refused only when it was cancelled already.
        self.engine().ask::<Order>(&self.order_key, OrderCommand::Cancel { reason }).await?.ok();
        // Its units go back on hand (and its payment is settled) by the payment job.
        self.inner.payment_job.kick(&self.order_key);
        Ok(Outcome::OrderCancelled)
    }

    /// Voids the authorization at every provider (the one that holds it may not be known
    /// after a time-out), then tells the order. When a provider does not answer, the void is
    /// handed to the payment job, which retries until every provider has answered.
    async fn void(&self) -> StepResult {
        match self.inner.payments.void(self.order.as_str()).await {
            Ok(()) => {
                if self.saga.authorization().is_some() {
                    let void = OrderCommand::RecordVoid;
                    self.engine().ask::<Order>(&self.order_key, void).await?.ok();
                }
                Ok(Outcome::Voided)
            }
            Err(PaymentError::Unavailable { detail }) => {
                tracing::warn!(order = %self.order, detail, "void deferred to the payment job");
                match self.inner.payment_job.defer_void(self.order.as_str()).await? {
                    Ok(()) => Ok(Outcome::VoidDeferred),
                    Err(full) => Err(Retry::Refused(full.to_string())),
                }
            }
            // Refused for good (captured already: the cancelled order's payment job refunds
            // it); nothing a retry would change.
            Err(refused) => {
                tracing::warn!(order = %self.order, error = %refused, "void refused");
                Ok(Outcome::Voided)
            }
        }
    }

    async fn release(&self) -> StepResult {
        let held: Vec<Held> = self.saga.holds().cloned().collect();
        self.inner.catalog.release_held(self.tenant, &held).await?;
        Ok(Outcome::Released)
    }

    async fn unredeem(&self) -> StepResult {
        self.unredeem_all(self.saga.redeemed()).await?;
        Ok(Outcome::Unredeemed)
    }

    async fn unredeem_all(
        &self,
        promotions: impl Iterator<Item = &bazaar_actors::promotion::PromotionId>,
    ) -> Result<(), Retry> {
        let redemption = promotion::OrderId::parse(self.order.as_str())
            .map_err(|error| Retry::Refused(error.to_string()))?;
        for id in promotions {
            let key = keys::promotion(self.tenant, id);
            let unredeem = PromotionCommand::Unredeem { order_id: redemption.clone() };
            self.engine().ask::<Promotion>(&key, unredeem).await?.ok();
        }
        Ok(())
    }
}
