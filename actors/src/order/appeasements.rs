//! Appeasements: goodwill money support gives back on a live order (a late parcel, a
//! scratch the customer keeps), which the marketplace bears, not the seller.
//!
//! Rules:
//! - `Appease` names a positive amount in the order's currency, a reason and the agent; the
//!   order is neither cancelled nor refunded; the amount is at most what was captured and
//!   is neither refunded nor owed to a received return or another appeasement yet
//!   (`RefundExceedsCaptured` otherwise). At most `ORDER_APPEASEMENTS_MAX` an order.
//! - `RecordAppeasementRefund` records its refund: its exact amount, at the authorization's
//!   provider, within what is refundable; idempotent by the refund's id.
//!
//! In the ledger (`crate::ledger`): its refund is Dr `Appeasements`, Cr `PspClearing`. A
//! return refunded later gets at most what is left to refund; what it falls short of its
//! lines' shares was paid ahead by the appeasement, so it is credited back to
//! `Appeasements`. A cancellation credits back every appeasement refunded before it (the
//! cancellation gives everything back anyway).

use serde::{Deserialize, Serialize};

use super::decide::{Decided, answer, live, refund_rules};
use super::validate::{self, text};
use super::{Order, OrderEvent, OrderRejection, OrderView};
use crate::limits::ORDER_APPEASEMENTS_MAX;
use crate::money::Money;
use crate::payment::Refund;

/// An appeasement as granted, and its refund once made. Its shape is fixed once journaled
/// (it sits in a list in the order's snapshot), as a return's is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Appeasement {
    /// From 1, in the order granted.
    pub number: u16,
    pub amount: Money,
    pub reason: String,
    /// The support agent who granted it.
    pub by: String,
    /// The agent's request id (its `Idempotency-Key`): the same id again answers this one.
    pub request_id: String,
    pub at_ms: u64,
    /// The refund's id at the provider, once refunded.
    pub refund: Option<String>,
    pub refunded_at_ms: Option<u64>,
}

impl OrderView {
    /// What a refund may still be asked for: captured, not refunded, and not owed to a
    /// received return or an appeasement not refunded yet.
    pub fn refund_room(&self) -> i64 {
        let owed_returns = self
            .returns
            .iter()
            .filter(|r| r.status() == super::returns::ReturnStatus::Received)
            .map(|r| r.request.amount.minor);
        let owed_appeasements =
            self.appeasements.iter().filter(|a| a.refund.is_none()).map(|a| a.amount.minor);
        let owed: i64 = owed_returns.chain(owed_appeasements).sum();
        self.refundable().minor.saturating_sub(owed)
    }

    /// Goodwill refunded that no return has counted yet: what a return may fall short by
    /// (its shares less its refund), since the customer had it ahead.
    pub fn goodwill_outstanding(&self) -> i64 {
        let refunded = |id: &Option<String>| {
            let id = id.as_deref();
            self.refunds.iter().find(|r| Some(r.id.as_str()) == id).map_or(0, |r| r.amount.minor)
        };
        let given: i64 = self.appeasements.iter().map(|a| refunded(&a.refund)).sum();
        // A return refunded short, or settled with nothing refunded, counted the difference.
        let counted: i64 = self
            .returns
            .iter()
            .filter(|r| r.refund.is_some() || r.settled_by_goodwill)
            .map(|r| r.request.amount.minor - refunded(&r.refund))
            .sum();
        given - counted
    }

    /// The first appeasement not refunded yet.
    pub fn appeasement_refund_due(&self) -> Option<&Appeasement> {
        self.appeasements.iter().find(|a| a.refund.is_none())
    }
}

pub(super) fn appease(
    state: &Order,
    view: &OrderView,
    (amount, reason, by, request_id): (Money, String, String, String),
    now: u64,
) -> Decided {
    text("request_id", &request_id, 1)?;
    if let Some(known) = view.appeasements.iter().find(|a| a.request_id == request_id) {
        // A retry (a time-out, a crash): answered, never granted twice.
        if known.amount == amount && known.reason == reason {
            return answer(state, Vec::new());
        }
        return Err(OrderRejection::AppeasementConflict);
    }
    live(view)?;
    text("reason", &reason, 1)?;
    text("by", &by, 1)?;
    validate::amount(view.currency, amount)?;
    if !amount.is_positive() {
        return Err(OrderRejection::AmountInvalid);
    }
    let room = view.refund_room().max(0);
    if amount.minor > room {
        let refundable = Money::new(room, view.currency);
        return Err(OrderRejection::RefundExceedsCaptured { refundable });
    }
    if view.appeasements.len() >= ORDER_APPEASEMENTS_MAX {
        return Err(OrderRejection::TooManyAppeasements { max: ORDER_APPEASEMENTS_MAX as u32 });
    }
    let number = u16::try_from(view.appeasements.len() + 1).unwrap_or(u16::MAX);
    let granted = Appeasement {
        number,
        amount,
        reason,
        by,
        request_id,
        at_ms: now,
        refund: None,
        refunded_at_ms: None,
    };
    answer(state, vec![OrderEvent::Appeased(Box::new(granted))])
}

pub(super) fn record_refund(
    state: &Order,
    view: &OrderView,
    number: u16,
    refund: Refund,
    now: u64,
) -> Decided {
    let known = view
        .appeasements
        .iter()
        .find(|a| a.number == number)
        .ok_or(OrderRejection::UnknownAppeasement)?;
    if refund_rules(view, known.refund.as_deref(), &refund)? {
        return answer(state, Vec::new());
    }
    if refund.amount != known.amount {
        return Err(OrderRejection::AmountInvalid);
    }
    answer(state, vec![OrderEvent::AppeasementRefunded { number, refund, at_ms: now }])
}

/// Folds an appeasement event into the view (`apply`).
pub(super) fn apply(view: &mut OrderView, event: &OrderEvent) {
    match event {
        OrderEvent::Appeased(granted) => view.appeasements.push((**granted).clone()),
        OrderEvent::AppeasementRefunded { number, refund, at_ms } => {
            if let Some(known) = view.appeasements.iter_mut().find(|a| a.number == *number) {
                known.refund = Some(refund.id.clone());
                known.refunded_at_ms = Some(*at_ms);
            }
            let refunded = view.refunded.minor.saturating_add(refund.amount.minor);
            view.refunded = Money::new(refunded, view.currency);
            view.refunds.push(refund.clone());
        }
        _ => {}
    }
}
