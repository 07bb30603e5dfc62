//! The payment job: drives each order's payment to its end — captured when the order's
//! capture policy says so (at placement, or at the first shipment in auth-only mode), voided
//! when it is cancelled before any capture, refunded when it is cancelled after one — and
//! puts a cancelled order's units back on hand (they were committed, that is sold, when the
//! order was placed).
//!
//! Invariants:
//! - The job works through the order book's unsettled orders (every order whose
//!   [`OrderView::payment_action`] is not `Done`, or whose [`OrderView::restock_due`]); the
//!   order book is a projection of the orders' durable events, rebuilt at start, so captures
//!   and restocks survive restarts without an index of their own. A placement, a shipment or
//!   a cancellation kicks its order at once; a sweep every few seconds retries the rest.
//! - Every call to the provider carries a key derived from the order id
//!   (`{order}.capture`, `{order}.refund`; a void names the authorization's own key), so a
//!   retry after a crash or a time-out acts once; the outcome is recorded on the order.
//! - A restock asks the inventory of each line to `Restock` the reservation the checkout
//!   committed for it (`{order}.{line index}`), records `RecordLineRestocked` on the order
//!   before the next line, and finally `RecordRestock`. A line recorded is never asked
//!   again: the inventory's own memory of the restock is bounded, so only the order's record
//!   keeps a retry (after a failure on a later line) from giving a line back twice; the
//!   record is retried at once until it lands, so only a crash between a line's restock and
//!   its record, followed by 4,096 settlements of that SKU before the retry, could. A
//!   reservation released or expired was never sold: nothing comes back. One the inventory
//!   no longer remembers comes back only if the checkout's journal says the saga committed
//!   its holds. One still held (the saga has not settled it yet) waits for a later sweep,
//!   since it may still be committed. A restock failing does not hold up the payment.
//! - A void a saga could not finish (no provider answered) is listed on the `void` worklist
//!   and retried until every provider has answered; a void that arrives before a late
//!   authorization still wins (the providers tombstone the key).
//! - An appeasement is refunded under the key `{order}.appeasement-{n}` (before any return,
//!   which then gets what is left) and recorded with `RecordAppeasementRefund`.
//! - A received return is refunded under the key `{order}.return-{n}` and recorded with
//!   `RecordReturnRefund` (a return worth nothing is settled without the provider); its
//!   sellable units go back on hand line by line by `Restock` of the id `{order}.r{n}.{line}`
//!   (never held: the inventory takes the return's word for the units), each line recorded
//!   with `RecordReturnLineRestocked` before the next, as a cancellation's are and for the
//!   same reason; then `RecordReturnRestocked`. See `returns.rs`.
//! - The providers' disputes are polled and recorded on their orders as chargebacks (see
//!   `disputes.rs`); a disputed order's payment needs nothing more.
//! - One settlement per order (or void per key) at a time in this process (`busy`).

mod disputes;
mod returns;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bazaar_engine::{Engine, EngineError};
use dashmap::DashSet;
use tokio::sync::mpsc;

use crate::orders::OrderBook;
use crate::payments::{PaymentError, Payments};
use bazaar_actors::checkout::{Checkout, CheckoutCommand};
use bazaar_actors::inventory::{Inventory, InventoryCommand, InventoryId, InventoryRejection};
use bazaar_actors::keys;
use bazaar_actors::order::{Order, OrderCommand, OrderView, PaymentAction, parse_entity_id};
use bazaar_actors::worklist::{self, Worklist, WorklistCommand, WorklistRejection};

/// The worklist of authorization keys to void at every provider (sagas that failed while
/// the providers were unreachable).
pub const VOID_QUEUE: &str = "void";
/// In a `void` worklist item `{key}!{holder}`: void at every provider but the holder's,
/// which keeps the order's authorization (leftovers of an earlier attempt).
const HOLDER_MARK: char = '!';

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
    /// A poll of the providers' disputes is running.
    polling: AtomicBool,
    /// Disputes recorded on their orders since this process started.
    disputes_recorded: DashSet<String>,
}

enum Kick {
    Order(String),
    Void(String),
    Sweep,
    Disputes,
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
            polling: AtomicBool::new(false),
            disputes_recorded: DashSet::new(),
        });
        let job = PaymentJob { inner: inner.clone() };
        let weak = Arc::downgrade(&inner);
        drop(inner);
        tokio::spawn(async move {
            let mut sweep = tokio::time::interval(SWEEP_EVERY);
            let poll = weak.upgrade().map(|inner| inner.payments.dispute_poll());
            let mut disputes = tokio::time::interval(poll.unwrap_or(SWEEP_EVERY));
            loop {
                let kick = tokio::select! {
                    kick = incoming.recv() => match kick { Some(kick) => kick, None => return },
                    _ = sweep.tick() => Kick::Sweep,
                    _ = disputes.tick() => Kick::Disputes,
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
                    Kick::Disputes => job.spawn_disputes(),
                    Kick::Sweep => match job.sweep().await {
                        Ok(()) | Err(EngineError::ShuttingDown) => {}
                        Err(error) => tracing::warn!(error = %error, "payment sweep failed"),
                    },
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
        self.list_void(key.to_owned()).await
    }

    /// Lists the authorization `key` to be voided at every provider but `holder`, and tries
    /// soon: what an earlier attempt (a crash or a failover in mid-authorization) may have
    /// left elsewhere, kept listed until every other provider has answered.
    pub async fn defer_void_except(
        &self,
        key: &str,
        holder: &str,
    ) -> Result<Result<(), WorklistRejection>, EngineError> {
        self.list_void(format!("{key}{HOLDER_MARK}{holder}")).await
    }

    async fn list_void(&self, item: String) -> Result<Result<(), WorklistRejection>, EngineError> {
        let bucket = worklist::bucket_of(VOID_QUEUE, &item);
        let add = WorklistCommand::Add { item: item.clone() };
        let listed = self.inner.engine.ask::<Worklist>(&bucket, add).await?.map(|_| ());
        if listed.is_ok() {
            let _ = self.inner.kicks.send(Kick::Void(item));
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
            let voided = match key.split_once(HOLDER_MARK) {
                Some((authorization, holder)) => {
                    job.inner.payments.void_except(authorization, holder).await
                }
                None => job.inner.payments.void(&key).await,
            };
            match voided {
                Ok(()) => {
                    metrics::counter!("payment_job_actions_total", "action" => "void").increment(1);
                    job.unlist_void(&key).await;
                }
                Err(PaymentError::Unavailable { detail }) => {
                    tracing::warn!(key = %key, detail, "void not done yet; retried by the next sweep");
                }
                Err(refused) => {
                    // Final (a provider holds it captured: its order's refund takes it back).
                    tracing::warn!(key = %key, error = %refused, "void refused; dropped");
                    job.unlist_void(&key).await;
                }
            }
            job.inner.busy.remove(&busy);
        });
    }

    async fn unlist_void(&self, key: &str) {
        let bucket = worklist::bucket_of(VOID_QUEUE, key);
        let remove = WorklistCommand::Remove { item: key.to_owned() };
        if let Err(error) = self.inner.engine.ask::<Worklist>(&bucket, remove).await {
            tracing::warn!(key, error = %error, "void settled, still listed (tried again later)");
        }
    }

    fn spawn_settle(&self, order: String) {
        if self.inner.stopping.load(Ordering::Relaxed) || !self.inner.busy.insert(order.clone()) {
            return;
        }
        let job = self.clone();
        tokio::spawn(async move {
            if let Err(error) = job.settle(&order).await {
                tracing::warn!(order = %order, error = %error, "order not settled yet; retried by the next sweep");
            }
            job.inner.busy.remove(&order);
        });
    }

    /// Restocks `order`'s units if that is due, and takes its payment one action further,
    /// until it is done or must wait. A restock that cannot finish yet is reported once the
    /// payment is as far as it goes.
    async fn settle(&self, order: &str) -> Result<(), String> {
        let engine = &self.inner.engine;
        let payments = &self.inner.payments;
        let mut restock: Option<Result<(), String>> = None;
        // A return restock that failed: the rest of the settlement goes on, the error is
        // reported at the end (the next sweep tries again).
        let mut returns_restock: Option<Result<(), String>> = None;
        let read = || async {
            match engine.ask::<Order>(order, OrderCommand::Get).await {
                Ok(Ok(reply)) => Ok(Some(reply.order)),
                // Not placed (kicked by a saga that failed before): nothing to settle.
                Ok(Err(_)) => Ok(None),
                Err(error) => Err(error.to_string()),
            }
        };
        let Some(mut view) = read().await? else { return Ok(()) };
        loop {
            if view.restock_due() && restock.is_none() {
                let restocked = self.restock(order, &view).await;
                let again = restocked.is_ok();
                restock = Some(restocked);
                if again {
                    // Read the order again: recorded as restocked.
                    let Some(restocked) = read().await? else { return Ok(()) };
                    view = restocked;
                    continue;
                }
            }
            if returns_restock.is_none()
                && let Some(due) = view.return_restock_due()
            {
                let number = due.request.number;
                match self.restock_return(order, &view, number).await {
                    Ok(restocked) => view = restocked,
                    Err(error) => returns_restock = Some(Err(error)),
                }
                continue;
            }
            let authorization = &view.authorization;
            let command = match view.payment_action() {
                PaymentAction::Wait | PaymentAction::Done => {
                    return restock.or(returns_restock).unwrap_or(Ok(()));
                }
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
                PaymentAction::RefundReturn { number, amount } => {
                    let key = format!("{}.return-{number}", view.id);
                    let refund = payments.refund(authorization, &key, amount).await;
                    let refund = refund.map_err(|e| e.to_string())?;
                    OrderCommand::RecordReturnRefund { number, refund }
                }
                PaymentAction::SettleReturn { number } => OrderCommand::SettleReturn { number },
                PaymentAction::RefundAppeasement { number, amount } => {
                    let key = format!("{}.appeasement-{number}", view.id);
                    let refund = payments.refund(authorization, &key, amount).await;
                    let refund = refund.map_err(|e| e.to_string())?;
                    OrderCommand::RecordAppeasementRefund { number, refund }
                }
                PaymentAction::Void => match payments.void(&authorization.key).await {
                    Ok(()) => OrderCommand::RecordVoid,
                    // The provider refuses to void a captured authorization: a capture reached
                    // it whose answer was lost. Replaying it under its key learns it; once
                    // recorded, the cancelled order is refunded.
                    Err(PaymentError::Refused { .. }) => {
                        let key = format!("{}.capture", view.id);
                        let amount = view.capturable();
                        let capture = payments.capture(authorization, &key, amount).await;
                        OrderCommand::RecordCapture { capture: capture.map_err(|e| e.to_string())? }
                    }
                    Err(error) => return Err(error.to_string()),
                },
            };
            let action = match &command {
                OrderCommand::RecordCapture { .. } => "capture",
                OrderCommand::RecordRefund { .. } => "refund",
                OrderCommand::RecordReturnRefund { .. } => "return_refund",
                OrderCommand::RecordAppeasementRefund { .. } => "appeasement_refund",
                OrderCommand::SettleReturn { .. } => "return_settled",
                _ => "void",
            };
            metrics::counter!("payment_job_actions_total", "action" => action).increment(1);
            // The answer is the order after the action: the next turn needs no read.
            match engine.ask::<Order>(order, command).await {
                Ok(Ok(reply)) => view = reply.order,
                Ok(Err(rejection)) => return Err(rejection.to_string()),
                Err(error) => return Err(error.to_string()),
            }
        }
    }

    /// Puts the units of the cancelled `order` back on hand, line by line, then records it on
    /// the order. Every step is idempotent, so a retry after a failure or a crash returns
    /// nothing twice.
    ///
    /// An inventory record remembers only its latest settlements, so on a busy SKU it may
    /// have forgotten the sale by the time the order is cancelled. Then the checkout, whose
    /// journal says whether the saga committed the holds, vouches for the units sold.
    async fn restock(&self, order: &str, view: &OrderView) -> Result<(), String> {
        let tenant = parse_entity_id(order).map(|(tenant, _)| tenant).ok_or("not an order id")?;
        let mut committed: Option<bool> = None;
        // A line that cannot be restocked yet does not hold up the others.
        let mut first_error = None;
        for index in 0..view.lines.len() {
            let line_no = u16::try_from(index).map_err(|_| "too many lines")?;
            if view.restocked_lines.binary_search(&line_no).is_ok() {
                continue;
            }
            let restocked = match self.restock_line(tenant, view, index, &mut committed).await {
                Ok(()) => {
                    let record = || OrderCommand::RecordLineRestocked { line: line_no };
                    self.record_restocked_line(order, line_no, record).await
                }
                Err(error) => Err(error),
            };
            if let Err(error) = restocked {
                first_error.get_or_insert(error);
            }
        }
        if let Some(error) = first_error {
            return Err(error);
        }
        match self.inner.engine.ask::<Order>(order, OrderCommand::RecordRestock).await {
            Ok(Ok(_)) => {
                metrics::counter!("payment_job_actions_total", "action" => "restock").increment(1);
                Ok(())
            }
            Ok(Err(rejection)) => Err(rejection.to_string()),
            Err(error) => Err(error.to_string()),
        }
    }

    /// Gives line `index` of the cancelled order back to its inventory, if it was sold.
    /// `committed` caches whether the checkout saga committed its holds (asked at most once).
    async fn restock_line(
        &self,
        tenant: &str,
        view: &OrderView,
        index: usize,
        committed: &mut Option<bool>,
    ) -> Result<(), String> {
        let line = &view.lines[index];
        // The reservation id the checkout saga held and committed line `index` under.
        let reservation_id = view.id.line_reservation(index);
        let id = InventoryId::new(line.sku.clone(), line.location.clone());
        let key = keys::inventory(tenant, &line.seller, &id);
        let mut sold = None;
        let answer = loop {
            let command =
                InventoryCommand::Restock { reservation_id: reservation_id.clone(), sold };
            let engine = &self.inner.engine;
            match engine.ask::<Inventory>(&key, command).await.map_err(|e| e.to_string())? {
                Err(InventoryRejection::UnknownReservation) if sold.is_none() => {
                    let committed = match *committed {
                        Some(known) => known,
                        None => *committed.insert(self.saga_committed(&view.checkout).await?),
                    };
                    if !committed {
                        break Err(InventoryRejection::UnknownReservation);
                    }
                    sold = Some(line.quantity);
                }
                answer => break answer,
            }
        };
        match answer {
            // Restocked now, or before (answered from memory).
            Ok(_) => Ok(()),
            Err(
                InventoryRejection::ReservationReleased
                | InventoryRejection::ReservationExpired
                | InventoryRejection::UnknownReservation,
            ) => {
                tracing::debug!(order = %view.id, reservation = %reservation_id, inventory = %key, "never committed: nothing to restock");
                Ok(())
            }
            Err(rejection) => Err(format!("restock of {reservation_id} at {key}: {rejection}")),
        }
    }

    /// Records that line `line` went back on hand. Retried here until it lands (or the node
    /// stops): the inventory's memory of the restock is bounded, so the sooner the order
    /// knows, the smaller the window in which a later attempt could vouch for it again.
    async fn record_restocked_line(
        &self,
        order: &str,
        line: u16,
        record: impl Fn() -> OrderCommand,
    ) -> Result<(), String> {
        let mut pause = Duration::from_millis(10);
        loop {
            match self.inner.engine.ask::<Order>(order, record()).await {
                Ok(Ok(_)) => return Ok(()),
                Ok(Err(rejection)) => return Err(rejection.to_string()),
                Err(error)
                    if self.inner.stopping.load(Ordering::Relaxed)
                        || matches!(error, EngineError::ShuttingDown) =>
                {
                    return Err(error.to_string());
                }
                Err(error) => {
                    tracing::warn!(order = %order, line, error = %error, "restock of a line not recorded yet; retrying");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(1));
                }
            }
        }
    }

    /// Whether the checkout saga `checkout` committed its holds (turned them into sales). A
    /// saga still running towards its commit is an error, so the restock is retried once it
    /// has settled either way.
    async fn saga_committed(&self, checkout: &str) -> Result<bool, String> {
        let reply = match self.inner.engine.ask::<Checkout>(checkout, CheckoutCommand::Get).await {
            Ok(Ok(reply)) => reply,
            // No saga under that id: nothing it could have committed.
            Ok(Err(_)) => return Ok(false),
            Err(error) => return Err(error.to_string()),
        };
        if reply.checkout.committed {
            Ok(true)
        } else if reply.checkout.failure.is_some() || reply.checkout.finished_at_ms.is_some() {
            // Failed (it releases its holds) or finished without a commit.
            Ok(false)
        } else {
            Err(format!("checkout {checkout} has not committed or failed yet"))
        }
    }
}
