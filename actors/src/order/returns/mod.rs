//! Returns: a customer sends delivered units back within their return window, the return is
//! approved (by the marketplace's rule, or by support) with a label to the location they
//! shipped from, received there, its sellable units restocked and its amount refunded.
//!
//! Rules (the order's `decide` calls these):
//! - `RequestReturn` names lines of one shipment (one parcel goes back to one location), each
//!   line once, with at least one unit; every line's shipment was delivered, no longer ago
//!   than the line's window (`window_days`, the category's, from the rules); a line's units in
//!   returns not rejected never exceed its quantity. At most one return awaits a decision at
//!   a time, and an order has at most `ORDER_RETURNS_MAX`. Not on a cancelled or refunded
//!   order. With `auto_approve_up_to` (the reason is one the rules approve) and an amount
//!   within it, the return is approved in the same decision. A `returnless` one (support's
//!   refund of units that need not come back) needs its lines shipped, not delivered, has
//!   no window, and is approved and received (nothing sellable) in the same decision.
//! - `DecideReturn` approves (with a label) or rejects a return awaiting a decision; the
//!   same decision again answers from state, the other is `ReturnAlreadyDecided`.
//! - `ReceiveReturn`, by the seller of the shipment, records which units arrived sellable;
//!   the same receipt again answers from state, another is `ReturnAlreadyReceived`.
//! - `RecordReturnRefund` records the refund of a received return: its exact amount, at the
//!   authorization's provider, within what was captured and not refunded; idempotent by the
//!   refund's id. `RecordReturnRestocked` records that its sellable units are back on hand.
//!
//! What a return refunds: each returned line's share of the line's components (its VAT, the
//! marketplace's commission on it, and the seller's payable), for the units `after..after +
//! quantity` of the line, where `after` counts the line's units in earlier returns not
//! rejected. The share of component `c` for units `a..b` of `q` is `⌊c·b/q⌋ − ⌊c·a/q⌋`:
//! never negative, and the shares of every unit of a line add up to exactly the line's
//! components, so returns never refund more than was paid for a line (the property test
//! checks it), the ledger debits the seller whose item came back, and a fully returned
//! order leaves every account at zero. Since a return is rejected only before any later one
//! is requested (one awaits a decision at a time), the `after` of later returns stays right.

mod decide;
mod rules;

use serde::{Deserialize, Serialize};

use super::{OrderLine, OrderView};
use crate::ids::{LocationCode, SellerId};
use crate::ledger::commission;
use crate::money::Money;
use crate::quantity::Quantity;

pub(super) use decide::{
    apply, decide_return, receive, record_line_restocked, record_refund, record_restocked, request,
    settle,
};
pub use rules::ReturnRules;

/// Why a customer sends units back. Variants are append-only (journaled by position).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReturnReason {
    Damaged,
    Defective,
    WrongItem,
    NotAsDescribed,
    NoLongerNeeded,
    ArrivedLate,
    /// The parcel never arrived (support's refund without a return).
    LostInTransit,
}

impl ReturnReason {
    pub const ALL: [ReturnReason; 7] = [
        ReturnReason::Damaged,
        ReturnReason::Defective,
        ReturnReason::WrongItem,
        ReturnReason::NotAsDescribed,
        ReturnReason::NoLongerNeeded,
        ReturnReason::ArrivedLate,
        ReturnReason::LostInTransit,
    ];

    /// A stable snake_case code.
    pub fn as_str(self) -> &'static str {
        match self {
            ReturnReason::Damaged => "damaged",
            ReturnReason::Defective => "defective",
            ReturnReason::WrongItem => "wrong_item",
            ReturnReason::NotAsDescribed => "not_as_described",
            ReturnReason::NoLongerNeeded => "no_longer_needed",
            ReturnReason::ArrivedLate => "arrived_late",
            ReturnReason::LostInTransit => "lost_in_transit",
        }
    }

    pub fn parse(code: &str) -> Option<ReturnReason> {
        ReturnReason::ALL.into_iter().find(|reason| reason.as_str() == code)
    }
}

/// One line of a return request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnLine {
    /// Index into the order's lines, from 0.
    pub line: u16,
    pub quantity: Quantity,
    /// The line's return window in days (its category's, from the marketplace's rules).
    pub window_days: u16,
}

/// What a customer asks to send back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnRequest {
    pub lines: Vec<ReturnLine>,
    pub reason: ReturnReason,
    pub comment: String,
    /// The asker's request id (its `Idempotency-Key`, scoped by the asker): the same id
    /// again answers the return it made.
    pub request_id: Option<String>,
    /// Approve at once if the amount is at most this (the reason is one the rules approve).
    pub auto_approve_up_to: Option<Money>,
    /// The carrier of the return label.
    pub carrier: String,
    /// Support refunds units that need not come back (a parcel lost, an item not worth
    /// sending back): no window, shipped is enough, approved and received (nothing
    /// sellable) in the same decision, so the seller bears it as a return.
    pub returnless: bool,
}

/// A returned line, as recorded: which units of the order's line, and what they refund.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnedLine {
    pub line: u16,
    pub quantity: u32,
    /// The line's units in earlier returns not rejected.
    pub after: u32,
    /// VAT, commission and seller's payable of these units (see the module doc).
    pub shares: LineShares,
}

/// A returned line's share of each of the line's components.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineShares {
    pub vat: i64,
    pub commission: i64,
    pub payable: i64,
}

impl LineShares {
    /// What these units refund.
    pub fn total(&self) -> i64 {
        self.vat.saturating_add(self.commission).saturating_add(self.payable)
    }
}

/// Where and how a return travels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnLabel {
    pub carrier: String,
    pub tracking: String,
    /// The location the shipment left from, where the return is received.
    pub to: LocationCode,
}

/// A return as recorded on its order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestedReturn {
    /// From 1, in the order requested.
    pub number: u16,
    /// The shipment the lines came in.
    pub shipment: u16,
    pub seller: SellerId,
    pub lines: Vec<ReturnedLine>,
    pub reason: ReturnReason,
    pub comment: String,
    /// The sum of the lines' shares: what the return refunds.
    pub amount: Money,
    /// Nothing travels (see [`ReturnRequest::returnless`]).
    pub returnless: bool,
    /// See [`ReturnRequest::request_id`].
    pub request_id: Option<String>,
    pub at_ms: u64,
}

/// A return and what happened to it since. Its shape is fixed once journaled (it sits in a
/// list inside the order's snapshot, where a grown field cannot be told from the next
/// element): what a later version adds goes to a new field of `OrderView`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnView {
    pub request: RequestedReturn,
    pub decision: Option<ReturnDecision>,
    /// Per returned line, the units that arrived sellable.
    pub received: Option<ReceivedReturn>,
    /// The refund's id at the provider, once refunded.
    pub refund: Option<String>,
    pub refunded_at_ms: Option<u64>,
    pub restocked: bool,
    /// The returned lines (order line indexes) whose sellable units are back on hand so
    /// far, ascending; recorded one by one, so a retry never gives a line back twice.
    pub restocked_lines: Vec<u16>,
    /// Settled with nothing left to refund: the goodwill refunded ahead paid it all (see
    /// `appeasements`); `refunded_at_ms` is when.
    pub settled_by_goodwill: bool,
}

/// How a return was decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReturnDecision {
    /// `label` is none for a return nothing travels with.
    Approved {
        label: Option<ReturnLabel>,
        by_rule: bool,
        at_ms: u64,
    },
    Rejected {
        note: String,
        at_ms: u64,
    },
}

/// A return's receipt at its location.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceivedReturn {
    /// Per returned line, in the request's order.
    pub sellable: Vec<u32>,
    pub at_ms: u64,
}

/// Where a return stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReturnStatus {
    Requested,
    Rejected,
    Approved,
    Received,
    Refunded,
}

impl ReturnStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ReturnStatus::Requested => "requested",
            ReturnStatus::Rejected => "rejected",
            ReturnStatus::Approved => "approved",
            ReturnStatus::Received => "received",
            ReturnStatus::Refunded => "refunded",
        }
    }
}

impl ReturnView {
    pub fn status(&self) -> ReturnStatus {
        match (&self.decision, &self.received, &self.refund) {
            (None, _, _) => ReturnStatus::Requested,
            (Some(ReturnDecision::Rejected { .. }), _, _) => ReturnStatus::Rejected,
            (Some(_), None, _) => ReturnStatus::Approved,
            // A return worth nothing (its lines were free) has nothing to refund.
            (Some(_), Some(_), None)
                if self.request.amount.is_zero() || self.settled_by_goodwill =>
            {
                ReturnStatus::Refunded
            }
            (Some(_), Some(_), None) => ReturnStatus::Received,
            (Some(_), Some(_), Some(_)) => ReturnStatus::Refunded,
        }
    }

    pub fn label(&self) -> Option<&ReturnLabel> {
        match &self.decision {
            Some(ReturnDecision::Approved { label, .. }) => label.as_ref(),
            _ => None,
        }
    }

    fn rejected(&self) -> bool {
        matches!(self.decision, Some(ReturnDecision::Rejected { .. }))
    }
}

impl OrderView {
    /// The return numbered `number`.
    pub fn return_of(&self, number: u16) -> Option<&ReturnView> {
        self.returns.iter().find(|r| r.request.number == number)
    }

    /// The first received return not refunded yet.
    pub fn return_refund_due(&self) -> Option<&ReturnView> {
        self.returns.iter().find(|r| r.status() == ReturnStatus::Received)
    }

    /// The first received return whose sellable units are not back on hand yet.
    pub fn return_restock_due(&self) -> Option<&ReturnView> {
        self.returns.iter().find(|r| r.received.is_some() && !r.restocked)
    }

    /// Units of line `line` in returns not rejected.
    pub fn returned_units(&self, line: u16) -> u32 {
        let lines = self.returns.iter().filter(|r| !r.rejected()).flat_map(|r| &r.request.lines);
        lines.filter(|l| l.line == line).map(|l| l.quantity).sum()
    }
}

/// Line `line`'s share of its components for units `after..after + quantity` (module doc).
pub fn line_shares(line: &OrderLine, commission_bps: u16, after: u32, quantity: u32) -> LineShares {
    let q = i128::from(line.quantity.get().max(1));
    let (a, b) = (i128::from(after), i128::from(after.saturating_add(quantity)).min(q));
    let share = |c: i64| {
        let c = i128::from(c.max(0));
        i64::try_from(c * b / q - c * a / q).unwrap_or(0)
    };
    let cut = commission(line.net.minor, commission_bps);
    LineShares {
        vat: share(line.vat.minor),
        commission: share(cut),
        payable: share(line.net.minor.saturating_sub(cut)),
    }
}
