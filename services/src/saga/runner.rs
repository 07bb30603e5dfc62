//! The runner: begins checkouts, drives each saga through the steps its [`Checkout`] entity
//! names, records the outcomes there, lets requests wait for the end, and resumes unfinished
//! sagas at start.
//!
//! Invariants:
//! - A begun saga has a row in the journal's index until the write that finishes it
//!   (`bazaar_actors::index::saga_row`, written with its events), so [`Sagas::resume`]
//!   finds every unfinished saga after a crash. (Before index version 4 sagas were listed on
//!   a `checkout` worklist instead; a start that builds the index gives every unfinished one
//!   its row, and the worklist is read no more.)
//! - At most one runner per saga in this process (`running`); a second one elsewhere would be
//!   harmless, since every outcome is recorded in step order and every effect is idempotent
//!   by an id derived from the saga's key.
//! - A step that fails for a reason outside the business (the engine overloaded, a time-out)
//!   is retried with capped backoff; only business outcomes (out of stock, declined...) end
//!   a saga. Compensations never give up. What cannot happen is never retried: a step's
//!   facts come with the step ([`NextStep`]); a checkout gone after it answered, or an id
//!   without a tenant, stops its runner with an error log (the saga keeps its row).
//! - A checkout waits for the journal twice on its way forward: `Scored` is durable before
//!   the payment provider is asked anything, `Committed` (the last step) once it has
//!   answered. Everything else, the saga's own records and the other entities' writes
//!   (`Begin`, promotions, holds, the order, its plan, the cart, the commit), is
//!   asked with [`Ack::Appended`]: answered once the journal has it. `Reserved` is not
//!   even asked for alone: the runner folds it into its replica of the saga and records it
//!   in the ask of `Scored`, since the fraud score between acts on nothing outside the saga
//!   (see `recording.rs` for why no other outcome may wait). The journal is one log
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

use super::recording::{Recording, ack_of, recording};
use super::{Attempt, Inner, PaymentJob, Retry, Run, SagasConfig, StepResult};
use crate::catalog::Catalog;
use crate::limits::SAGA_PAGE_ROWS;

/// How long a start's resumption waits for room among the running sagas before it looks again.
const RESUME_WAIT: Duration = Duration::from_millis(20);

use crate::orders::OrderBook;
use crate::payments::Payments;
use crate::pii::Vault;
use bazaar_actors::checkout::{
    Checkout, CheckoutCommand, CheckoutRejection, CheckoutReply, CheckoutRequest, CheckoutStatus,
    CheckoutView, NextStep, Outcome, Step,
};
use bazaar_actors::order::promise::DeliveryTerms;
use bazaar_actors::pricing::{CountryCode, VatTable};
use bazaar_actors::{index, keys};

/// Runs sagas and lets requests wait for their outcome.
#[derive(Clone)]
pub struct Sagas {
    pub(super) inner: Arc<Inner>,
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
        vault: Arc<Vault>,
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
            vault,
            running: DashMap::new(),
            payment_job,
            stopping: AtomicBool::new(false),
        };
        Sagas { inner: Arc::new(inner) }
    }

    pub fn payments(&self) -> &Payments {
        &self.inner.payments
    }

    /// The terms a cart quotes to `country` (see [`SagasConfig::quoted_terms`]).
    pub fn quoted_terms(&self, country: CountryCode) -> DeliveryTerms {
        self.inner.config.quoted_terms(country)
    }

    pub fn payment_job(&self) -> &PaymentJob {
        &self.inner.payment_job
    }

    /// Stops driving sagas and settling payments (the node is stopping): each runner ends
    /// after its current step, leaving its saga in the index for the next start to resume.
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
        let (running, engine) = (&self.inner.running, &self.inner.engine);
        if running.len() >= self.inner.config.running_max && !running.contains_key(id) {
            // At capacity: a checkout begun before (a retry with its key) is answered; only a
            // new one waits.
            return match engine.ask::<Checkout>(id, CheckoutCommand::Get).await? {
                Ok(reply)
                    if reply
                        .saga
                        .request()
                        .is_some_and(|begun| begun.fingerprint != request.fingerprint) =>
                {
                    Err(CheckoutRejection::KeyReused.into())
                }
                Ok(reply) => Ok(self.wait(id, reply, wait).await),
                Err(_) => Err(BeginError::Busy),
            };
        }
        let begin = CheckoutCommand::Begin(Box::new(request));
        // Only appended, with its saga row: every later write of the saga (the first durable
        // one is `Scored`) makes it durable.
        let reply = engine.ask_appended::<Checkout>(id, begin).await??;
        let view = self.wait(id, reply, wait).await;
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
            Ok(reply) => Ok(Some(self.wait(id, reply, Duration::ZERO).await)),
            Err(_) => Ok(None),
        }
    }

    /// Runs every saga left unfinished by the last run of this node; the number resumed. A
    /// passing failure (an overloaded shard at start) is retried with capped backoff until
    /// the node stops: no unfinished saga may be left without a runner.
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
        let journal = self.inner.engine.journal().clone();
        let mut resumed = 0;
        for row in bazaar_persistence::index_pages(journal, index::SAGA_NAMESPACE, SAGA_PAGE_ROWS) {
            let row = row?;
            let Some((id, _began_at_ms)) = index::parse_saga(&row) else {
                // Rows are written by `Checkout::index_rows` alone: a bug, not input.
                tracing::error!(key = %String::from_utf8_lossy(&row.0), "unreadable saga row");
                continue;
            };
            // No faster than the sagas already running make room.
            while self.inner.running.len() >= self.inner.config.running_max {
                if self.inner.stopping.load(Ordering::Relaxed) {
                    return Err(EngineError::ShuttingDown);
                }
                tokio::time::sleep(RESUME_WAIT).await;
            }
            if let Ok(reply) = self.inner.engine.ask::<Checkout>(&id, CheckoutCommand::Get).await? {
                self.wait(&id, reply, Duration::ZERO).await;
                resumed += 1;
            }
        }
        self.inner.payment_job.sweep_soon();
        Ok(resumed)
    }

    /// Makes sure a runner drives `id`, then waits up to `wait` for its end.
    pub(super) async fn wait(
        &self,
        id: &str,
        reply: CheckoutReply,
        wait: Duration,
    ) -> CheckoutView {
        if reply.checkout.finished_at_ms.is_some() {
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
    ///
    /// The runner keeps a replica of the saga: it folds an outcome that may wait
    /// ([`recording`]: `Reserved`) into the replica, goes on to the step the replica names,
    /// and records the outcome with the next one, in one ask. The entity stays the
    /// truth: every record's reply replaces the replica, and a refused record or a step to
    /// retry with nothing unrecorded starts again from the entity's state.
    async fn drive(&self, id: String, reply: CheckoutReply) {
        let CheckoutReply { checkout: mut view, began: fresh, saga } = reply;
        let mut saga = *saga;
        let (Some(request), Some((tenant, _))) = (saga.request().cloned(), keys::split_tenant(&id))
        else {
            // A reply's saga is begun, and every checkout id is composed `{tenant}/...`
            // (`keys::checkout`): a bug, not input.
            tracing::error!(checkout = %id, "checkout without a request or a tenant; its runner stops");
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
        // Outcomes folded into the replica and not recorded yet, in step order.
        let mut unrecorded: Vec<Outcome> = Vec::new();
        loop {
            if self.inner.stopping.load(Ordering::Relaxed) {
                // Still in the index: the next start resumes it, after what is recorded now.
                self.record_unrecorded(&id, &mut unrecorded).await;
                self.inner.running.remove(&id);
                return;
            }
            let Some(due) = saga.next() else {
                break;
            };
            if let NextStep::AwaitChallenge { challenge } = &due {
                // The challenge's record was durable: nothing is left unrecorded here.
                match self.await_challenge(&id, challenge).await {
                    Some(reply) => (view, saga) = (reply.checkout, *reply.saga),
                    // Stopping: still in the index, the next start waits on.
                    None => {
                        self.inner.running.remove(&id);
                        return;
                    }
                }
                continue;
            }
            let step = due.step();
            let attempt = Attempt { repeated: !fresh || tried.contains(&step) };
            if !tried.contains(&step) {
                tried.push(step);
            }
            // Whether the saga refused the outcomes (another runner got ahead): its state,
            // not this replica's, is where to go on from.
            let mut refused = false;
            let (recorded, ack) = match run.perform(&due, attempt).await {
                Ok(outcome) if recording(&outcome) == Recording::Deferred => {
                    let now_ms = self.inner.engine.clock().now_ms();
                    match saga.advance(outcome.clone(), now_ms) {
                        Ok(()) => {
                            unrecorded.push(outcome);
                            continue;
                        }
                        // The replica named this step: cannot happen.
                        Err(rejection) => {
                            refused = true;
                            (Err(Retry::Refused(rejection.to_string())), Ack::Durable)
                        }
                    }
                }
                Ok(outcome) => {
                    let ack = ack_of(&outcome);
                    let mut outcomes = unrecorded.clone();
                    outcomes.push(outcome);
                    let answer = self.record(&id, outcomes, ack).await;
                    refused = matches!(answer, Err(Retry::Refused(_)));
                    (answer, ack)
                }
                Err(retry) => (Err(retry), Ack::Durable),
            };
            match recorded {
                Ok(reply) => {
                    pause_ms = 10;
                    unrecorded.clear();
                    if let (Ack::Durable, Some(running)) = (ack, self.inner.running.get(&id)) {
                        running.send_replace(reply.checkout.clone());
                    }
                    (view, saga) = (reply.checkout, *reply.saga);
                }
                Err(Retry::Engine(EngineError::ShuttingDown)) => {
                    // Never passes; still in the index: the next start resumes it.
                    self.inner.running.remove(&id);
                    return;
                }
                Err(retry) => {
                    metrics::counter!("checkout_step_retries_total", "step" => step.name())
                        .increment(1);
                    tracing::warn!(checkout = %id, step = step.name(), error = %retry, "checkout step will be retried");
                    tokio::time::sleep(Duration::from_millis(pause_ms)).await;
                    pause_ms = (pause_ms * 2).min(self.inner.config.retry_max_ms.max(10));
                    if refused {
                        unrecorded.clear();
                    }
                    if !unrecorded.is_empty() {
                        // The step is tried again on the replica; its record carries them.
                        continue;
                    }
                    match self.inner.engine.ask::<Checkout>(&id, CheckoutCommand::Get).await {
                        Ok(Ok(reply)) => (view, saga) = (reply.checkout, *reply.saga),
                        // It answered this runner before, and a journal never forgets a
                        // durable `Begin`: no retry can bring it back.
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
        self.finish(&id, view);
    }

    /// Counts the finished saga and tells its waiters (its saga row left the index with the
    /// write that finished it).
    fn finish(&self, id: &str, view: CheckoutView) {
        let (outcome, code) = match &view.failure {
            None => ("completed", "none"),
            Some(failure) => ("failed", failure.code.code()),
        };
        metrics::counter!("checkout_sagas_total", "outcome" => outcome, "code" => code)
            .increment(1);
        let took_ms =
            view.finished_at_ms.unwrap_or(view.started_at_ms).saturating_sub(view.started_at_ms);
        metrics::histogram!("checkout_saga_seconds").record(took_ms as f64 / 1000.0);
        if let Some((_, running)) = self.inner.running.remove(id) {
            running.send_replace(view);
        }
    }

    /// Records outcomes in one ask, acknowledged as `ack` says (the last one's: an outcome
    /// that waited rides with it, see [`Sagas::drive`]). The only refusal a runner can meet
    /// is `OutOfOrder` (another runner, after a restart or on another node, got ahead):
    /// passing, since the re-read that follows a retry gives the step the saga expects.
    async fn record(
        &self,
        id: &str,
        outcomes: Vec<Outcome>,
        ack: Ack,
    ) -> Result<CheckoutReply, Retry> {
        let command = CheckoutCommand::Record(outcomes);
        let answer = self.inner.engine.ask_with::<Checkout>(id, command, ack).await?;
        answer.map_err(|rejection| Retry::Refused(rejection.to_string()))
    }

    /// Records, appended, the outcomes a stopping runner holds, so the next start goes on
    /// from them instead of taking their steps again (which is safe, but costs a provider's
    /// call or a hold's round trip).
    async fn record_unrecorded(&self, id: &str, unrecorded: &mut Vec<Outcome>) {
        if unrecorded.is_empty() {
            return;
        }
        let command = CheckoutCommand::Record(std::mem::take(unrecorded));
        match self.inner.engine.ask_appended::<Checkout>(id, command).await {
            Ok(Ok(_)) => {}
            Ok(Err(refused)) => {
                tracing::warn!(checkout = %id, error = %refused, "unrecorded outcomes refused")
            }
            Err(error) => {
                tracing::warn!(checkout = %id, %error, "unrecorded outcomes lost; the next start takes their steps again")
            }
        }
    }
}

impl Run<'_> {
    /// Performs the step the saga named, with the facts it gave.
    async fn perform(&self, next: &NextStep, attempt: Attempt) -> StepResult {
        match next {
            NextStep::Price => self.price().await,
            NextStep::Reserve { items } => self.reserve(items, attempt).await,
            NextStep::Score { priced } => Ok(self.score(priced).await),
            NextStep::Authorize { total, fraud, prefer } => {
                self.authorize((*total, *fraud, prefer.clone()), attempt).await
            }
            NextStep::Place(placement) => self.place(placement).await,
            NextStep::Commit { held } => self.commit(held).await,
            NextStep::Plan { held } => self.plan(held).await,
            NextStep::CancelOrder { reason } => self.cancel_order(*reason).await,
            NextStep::Void { authorized } => self.void(*authorized).await,
            NextStep::Release { held } => self.release(held).await,
            NextStep::Unredeem { promotions } => self.unredeem(promotions).await,
            // Waited for by the runner itself (`await_challenge`), never performed.
            NextStep::AwaitChallenge { .. } => {
                Err(Retry::Refused("waiting for the customer".into()))
            }
        }
    }
}
