//! The runner: begins checkouts, drives each saga through the steps its [`Checkout`] entity
//! names, records every outcome there before the next step starts, lets requests wait for
//! the end, and resumes unfinished sagas at start.
//!
//! Invariants:
//! - A saga is listed on the `checkout` worklist before it begins and leaves it only once
//!   finished, so [`Sagas::resume`] finds every unfinished saga after a crash.
//! - At most one runner per saga in this process (`running`); a second one elsewhere would be
//!   harmless, since every outcome is recorded in step order and every effect is idempotent
//!   by an id derived from the saga's key.
//! - A step that fails for a reason outside the business (the engine overloaded, a time-out)
//!   is retried with capped backoff; only business outcomes (out of stock, declined...) end
//!   a saga. Compensations never give up. What cannot happen is never retried: a step's
//!   facts come with the step ([`NextStep`]); a checkout gone after it answered, or an id
//!   without a tenant, stops its runner with an error log (the saga stays listed).
//! - A checkout waits for the journal twice on its way forward: `Scored` is durable before
//!   the payment provider is asked anything, `Committed` (the last step) once it has
//!   answered. Everything else, the saga's own records and the other entities' writes
//!   (listing, `Begin`, promotions, holds, the order, its plan, the cart, the commit), is
//!   asked with [`Ack::Appended`]: answered once the journal has it. The journal is one log
//!   kept in order, failing every write after a failed one, so a durable write makes every
//!   write submitted before it durable too, and each of these was submitted before the
//!   durable record that covers it. A crash can therefore lose only a suffix whose redo is
//!   safe: before `Scored`, pricing and holds (same ids; a repeated Reserve adopts its own
//!   holds); after it, the authorization (the provider answers a repeated one by its
//!   idempotency key), the order (answered from its state), its plan and the commit (a
//!   commit lost with the crash is lost from the inventory too, and made again).
//!   `Committed` is durable: a redone commit would be answered from the inventory's bounded
//!   memory of settlements, which may have forgotten it. Failures and compensations are
//!   durable. Another entity's reader never sees an appended write before it is durable
//!   (the engine answers reads of an entity after its earlier writes are durable), so the
//!   payment job captures only a durable order.
//! - Waiters (the `POST` answer, a status read, a 202 body) see only views from durable
//!   records, so no answer shows a total, score or step a crash could take back; a `POST`
//!   answered before the saga ends waits for its `Begin` to be durable first.
//! - No lock is held across an `.await`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bazaar_engine::{Ack, Engine, EngineError};
use dashmap::DashMap;
use dashmap::mapref::entry::Entry;
use tokio::sync::watch;

use super::{Attempt, CHECKOUT_QUEUE, Inner, PaymentJob, Retry, Run, SagasConfig, StepResult};
use crate::catalog::Catalog;
use crate::orders::OrderBook;
use crate::payments::Payments;
use bazaar_actors::checkout::{
    Checkout, CheckoutCommand, CheckoutRejection, CheckoutReply, CheckoutRequest, CheckoutStatus,
    CheckoutView, NextStep, Outcome, Step,
};
use bazaar_actors::keys;
use bazaar_actors::pricing::VatTable;
use bazaar_actors::worklist::{self, Worklist, WorklistCommand};

/// Runs sagas and lets requests wait for their outcome.
#[derive(Clone)]
pub struct Sagas {
    inner: Arc<Inner>,
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
        // Listed before it begins, both only appended: every later write of the saga (the
        // first durable one is `Scored`) makes them durable, in this order.
        engine.ask_appended::<Worklist>(&bucket, listed).await?.map_err(|_| BeginError::Busy)?;
        let reply = engine.ask_appended::<Checkout>(id, begin).await??;
        let view = self.wait(id, reply, wait, Listed::Yes).await;
        if matches!(view.status, CheckoutStatus::Running { .. }) {
            // Answered before the end: the client learns of a checkout a crash must not
            // take back. A read is answered once the saga's earlier writes are durable.
            engine.ask::<Checkout>(id, CheckoutCommand::Get).await??;
        }
        Ok(view)
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
        if !matches!(reply.checkout.status, CheckoutStatus::Running { .. }) {
            if listed == Listed::Yes {
                // Finished (maybe just before a crash, or a retry listed it again): it leaves
                // the worklist now. A plain status read writes nothing.
                let _ = self.unlist(id).await;
            }
            return reply.checkout;
        }
        let mut watching = match self.inner.running.entry(id.to_owned()) {
            Entry::Occupied(running) => running.get().subscribe(),
            Entry::Vacant(vacant) => {
                let (tell, watching) = watch::channel(reply.checkout.clone());
                vacant.insert(tell);
                let (sagas, id) = (self.clone(), id.to_owned());
                tokio::spawn(async move { sagas.drive(id, reply).await });
                watching
            }
        };
        let finished = |view: &CheckoutView| !matches!(view.status, CheckoutStatus::Running { .. });
        if let Ok(Ok(view)) = tokio::time::timeout(wait, watching.wait_for(finished)).await {
            return view.clone();
        }
        watching.borrow().clone()
    }

    /// Drives the saga `id` to its end, from `reply` (the saga as this runner found it).
    /// `fresh` (`began`): this process began it, so no earlier attempt of any step can have
    /// happened elsewhere.
    async fn drive(&self, id: String, reply: CheckoutReply) {
        let CheckoutReply { checkout: mut view, began: fresh, request, mut next } = reply;
        let Some((tenant, _)) = keys::split_tenant(&id) else {
            // Every checkout id is composed `{tenant}/...` (`keys::checkout`): a bug, not input.
            tracing::error!(checkout = %id, "checkout id without a tenant; its runner stops");
            self.inner.running.remove(&id);
            return;
        };
        let order = view.order.clone();
        let order_key = bazaar_actors::order::entity_id(tenant, &order);
        let run = Run {
            inner: &self.inner,
            id: &id,
            tenant,
            request: &request,
            order: &order,
            order_key,
        };
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
            let Some(due) = &next else {
                break;
            };
            let step = due.step();
            let attempt = Attempt { repeated: !fresh || tried.contains(&step) };
            if !tried.contains(&step) {
                tried.push(step);
            }
            let (recorded, ack) = match run.perform(due, attempt).await {
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
                    (view, next) = (reply.checkout, reply.next);
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
                    match self.inner.engine.ask::<Checkout>(&id, CheckoutCommand::Get).await {
                        Ok(Ok(reply)) => (view, next) = (reply.checkout, reply.next),
                        // It answered this runner before, and a journal never forgets a
                        // durable `Begin`: no retry can bring it back. Still listed: the next
                        // start meets the same and unlists it.
                        Ok(Err(rejection)) => {
                            tracing::error!(checkout = %id, error = %rejection, "checkout no longer found; its runner stops");
                            self.inner.running.remove(&id);
                            return;
                        }
                        // Passing: the step is tried again on what this runner knows.
                        Err(_) => {}
                    }
                }
            }
        }
        self.finish(&id, view).await;
    }

    /// Counts the finished saga, takes it off the worklist and tells its waiters.
    async fn finish(&self, id: &str, view: CheckoutView) {
        let (outcome, code) = match &view.failure {
            None => ("completed", "none"),
            Some(failure) => ("failed", failure.code.code()),
        };
        metrics::counter!("checkout_sagas_total", "outcome" => outcome, "code" => code)
            .increment(1);
        let took_ms =
            view.finished_at_ms.unwrap_or(view.started_at_ms).saturating_sub(view.started_at_ms);
        metrics::histogram!("checkout_saga_seconds").record(took_ms as f64 / 1000.0);
        if let Err(error) = self.unlist(id).await {
            // Still listed: the next start resumes it and finds nothing to do.
            tracing::warn!(checkout = %id, error = %error, "finished checkout not unlisted");
        }
        if let Some((_, running)) = self.inner.running.remove(id) {
            running.send_replace(view);
        }
    }

    /// Records a step's outcome. The only refusal a runner can meet is `OutOfOrder` (another
    /// runner, after a restart or on another node, got ahead): passing, since the re-read
    /// that follows a retry gives the step the saga expects.
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
}

impl Run<'_> {
    /// Performs the step the saga named, with the facts it gave.
    async fn perform(&self, next: &NextStep, attempt: Attempt) -> StepResult {
        match next {
            NextStep::Price => self.price().await,
            NextStep::Reserve { items } => self.reserve(items, attempt).await,
            NextStep::Score { priced } => Ok(self.score(priced)),
            NextStep::Authorize { total, fraud } => self.authorize(*total, *fraud, attempt).await,
            NextStep::Place(placement) => self.place(placement).await,
            NextStep::Commit { held } => self.commit(held).await,
            NextStep::Plan => self.plan().await,
            NextStep::CancelOrder { reason } => self.cancel_order(*reason).await,
            NextStep::Void { authorized } => self.void(*authorized).await,
            NextStep::Release { held } => self.release(held).await,
            NextStep::Unredeem { promotions } => self.unredeem(promotions).await,
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
        Outcome::Priced(_)
        | Outcome::Reserved { .. }
        | Outcome::Authorized { .. }
        | Outcome::Placed
        | Outcome::Planned => Ack::Appended,
        Outcome::Committed
        | Outcome::Scored { .. }
        | Outcome::Failed(_)
        | Outcome::OrderCancelled
        | Outcome::Voided
        | Outcome::Released
        | Outcome::Unredeemed
        | Outcome::VoidDeferred => Ack::Durable,
    }
}
