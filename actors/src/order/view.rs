//! An order as replies, read models and the ledger see it.

use serde::{Deserialize, Serialize};

use super::appeasements::Appeasement;
use super::returns::ReturnView;
use super::{CapturePolicy, OrderId, OrderLine, ShipTo};
use crate::fraud::FraudAssessment;
use crate::ids::CustomerId;
use crate::ids::{LocationCode, SellerId};
use crate::money::{Currency, Money};
use crate::payment::{Authorization, Capture, Refund};
use crate::pricing::{AppliedPromotion, CartTotals};

/// Where an order stands. Variants are append-only; the status only moves to a higher
/// [`rank`](OrderStatus::rank).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OrderStatus {
    Placed,
    /// Some shipments shipped, not all.
    PartlyShipped,
    Shipped,
    Delivered,
    Cancelled,
    /// Everything captured was given back, and nothing more will be captured.
    Refunded,
}

impl OrderStatus {
    /// Position in the lifecycle: a status never gives way to one of a lower rank.
    pub fn rank(self) -> u8 {
        match self {
            OrderStatus::Placed => 0,
            OrderStatus::PartlyShipped => 1,
            OrderStatus::Shipped => 2,
            OrderStatus::Delivered => 3,
            OrderStatus::Cancelled => 4,
            OrderStatus::Refunded => 5,
        }
    }

    /// A stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Placed => "placed",
            OrderStatus::PartlyShipped => "partly_shipped",
            OrderStatus::Shipped => "shipped",
            OrderStatus::Delivered => "delivered",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::Refunded => "refunded",
        }
    }
}

/// How a shipment left.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shipped {
    pub carrier: String,
    pub tracking: String,
    pub at_ms: u64,
}

/// One seller's parcel from one location.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShipmentView {
    /// From 1, in the order of the lines.
    pub number: u16,
    pub seller: SellerId,
    pub location: LocationCode,
    /// Indexes into the order's lines, from 0.
    pub lines: Vec<u16>,
    pub promised_by_ms: u64,
    pub shipped: Option<Shipped>,
    pub delivered_at_ms: Option<u64>,
}

/// Why and when an order was cancelled, and how much of its payment had happened by then
/// (the ledger tells the captures and refunds before the cancellation from those after).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cancellation {
    pub reason: String,
    pub at_ms: u64,
    /// How many of `captures` came before the cancellation.
    pub captures_before: u16,
    /// How many of `refunds` came before the cancellation.
    pub refunds_before: u16,
}

/// A placed order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderView {
    pub id: OrderId,
    pub customer: CustomerId,
    pub checkout: String,
    pub currency: Currency,
    pub status: OrderStatus,
    pub placed_at_ms: u64,
    pub lines: Vec<OrderLine>,
    pub totals: CartTotals,
    pub promotions: Vec<AppliedPromotion>,
    pub authorization: Authorization,
    pub capture: CapturePolicy,
    pub commission_bps: u16,
    /// The sum of `captures`.
    pub captured: Money,
    /// In the order recorded.
    pub captures: Vec<Capture>,
    pub voided: bool,
    /// The sum of `refunds`.
    pub refunded: Money,
    /// In the order recorded.
    pub refunds: Vec<Refund>,
    pub fraud: FraudAssessment,
    pub ship_to: ShipTo,
    /// Empty until planned.
    pub shipments: Vec<ShipmentView>,
    pub cancellation: Option<Cancellation>,
    /// How many events made this order: grows by one with each.
    pub revision: u64,
    /// Whether the units of this cancelled order went back on hand.
    pub restocked: bool,
    /// The lines whose units went back on hand so far, ascending.
    pub restocked_lines: Vec<u16>,
    /// In the order requested.
    pub returns: Vec<ReturnView>,
    /// In the order granted.
    pub appeasements: Vec<Appeasement>,
    /// What happened to it, in order (see [`super::timeline`]).
    pub timeline: Vec<super::timeline::Notice>,
    /// How many of `timeline`'s notices the tenant's webhook subscribers have.
    pub published: u32,
    /// The labelled or tracked shipments' tracking, in the order they were labelled.
    pub tracking: Vec<super::tracking::ShipmentTracking>,
    /// The dispute that settled its payment, if any.
    pub chargeback: Option<super::chargebacks::Chargeback>,
    /// The seller who cancelled it, if its seller did.
    pub cancelled_by_seller: Option<SellerId>,
}

// Snapshots written before returns existed end after `restocked_lines`, and those written
// before the timeline after `appeasements`.
crate::snapshot::grown_state!(OrderView {
    id, customer, checkout, currency, status, placed_at_ms, lines, totals, promotions,
    authorization, capture, commission_bps, captured, captures, voided, refunded, refunds,
    fraud, ship_to, shipments, cancellation, revision, restocked, restocked_lines,
} added { returns, appeasements, timeline, published, tracking, chargeback, cancelled_by_seller });

/// What an order's payment needs next (the payment job carries it out).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentAction {
    Capture(Money),
    Void,
    Refund(Money),
    /// Refund return `number` (received) of its `amount`.
    RefundReturn {
        number: u16,
        amount: Money,
    },
    /// Refund appeasement `number` of its `amount`.
    RefundAppeasement {
        number: u16,
        amount: Money,
    },
    /// Settle return `number` without the provider (`SettleReturn`).
    SettleReturn {
        number: u16,
    },
    /// Nothing yet (an order captured at shipment that has not shipped).
    Wait,
    /// Settled for good.
    Done,
}

impl OrderView {
    /// The next action for this order's payment: capture when due, void a cancelled order's
    /// authorization when nothing was captured, refund what a cancelled order had captured.
    pub fn payment_action(&self) -> PaymentAction {
        let authorized = self.authorization.amount;
        let captured = self.captured;
        match self.status {
            // The dispute settled the payment: nothing more to move.
            _ if self.disputed() => PaymentAction::Done,
            super::OrderStatus::Refunded => PaymentAction::Done,
            // Goodwill granted before the cancellation goes first, under its own key: the
            // provider may have made it already (an answer lost), and refunding the rest
            // under the cancellation's key would then ask more than was captured.
            super::OrderStatus::Cancelled
                if let Some(due) = self.appeasement_refund_due()
                    && due.amount.minor <= self.refundable().minor =>
            {
                PaymentAction::RefundAppeasement { number: due.number, amount: due.amount }
            }
            super::OrderStatus::Cancelled if captured.minor > self.refunded.minor => {
                PaymentAction::Refund(self.refundable())
            }
            super::OrderStatus::Cancelled if captured.minor == 0 && !self.voided => {
                PaymentAction::Void
            }
            super::OrderStatus::Cancelled => PaymentAction::Done,
            _ if self.capture_due() => PaymentAction::Capture(self.capturable()),
            _ if let Some(due) = self.appeasement_refund_due() => {
                let (number, amount) = (due.number, due.amount);
                if amount.minor <= self.refundable().minor {
                    PaymentAction::RefundAppeasement { number, amount }
                } else {
                    PaymentAction::Wait
                }
            }
            _ => match self.return_refund_due() {
                // A return is refunded what is left to refund, at most its amount (less
                // only when an appeasement paid part of it ahead; see `appeasements`).
                Some(due) => match self.return_refund(due) {
                    Some(amount) => {
                        PaymentAction::RefundReturn { number: due.request.number, amount }
                    }
                    None if self.return_settles_by_goodwill(due) => {
                        PaymentAction::SettleReturn { number: due.request.number }
                    }
                    None => PaymentAction::Wait,
                },
                None if captured.minor >= authorized.minor || self.voided => PaymentAction::Done,
                None => PaymentAction::Wait,
            },
        }
    }

    /// What return `due` refunds: its amount, or what is left to refund if less and the
    /// goodwill refunded ahead covers the difference (see `appeasements`); none while
    /// neither holds (a capture the provider has not answered yet).
    /// Whether return `due` has nothing left to refund and the goodwill refunded ahead covers
    /// all of it: it is settled without the provider.
    pub fn return_settles_by_goodwill(&self, due: &ReturnView) -> bool {
        self.refundable().minor == 0 && due.request.amount.minor <= self.goodwill_outstanding()
    }

    pub fn return_refund(&self, due: &ReturnView) -> Option<Money> {
        let amount = due.request.amount.minor;
        let refund = amount.min(self.refundable().minor);
        let covered = amount - refund <= self.goodwill_outstanding();
        (refund > 0 && covered).then(|| Money::new(refund, self.currency))
    }

    /// Nothing for the payment job to do now: no payment action and no units to restock.
    pub fn idle(&self) -> bool {
        matches!(self.payment_action(), PaymentAction::Done | PaymentAction::Wait)
            && !self.restock_due()
            && self.return_restock_due().is_none()
    }

    /// Whether the checkout should capture now: the order is live (not cancelled, voided or
    /// refunded), not fully captured, and under `AtShipment` some shipment has shipped.
    pub fn capture_due(&self) -> bool {
        let live = !self.voided
            && self.cancellation.is_none()
            && self.status != super::OrderStatus::Refunded
            && self.captured.minor < self.totals.total.minor;
        match self.capture {
            CapturePolicy::AtPlacement => live,
            CapturePolicy::AtShipment => {
                live && self.shipments.iter().any(|shipment| shipment.shipped.is_some())
            }
        }
    }

    /// Whether this order's units should go back on hand now: it was cancelled (its status
    /// may since have moved on to refunded), before anything shipped, and the restock is not
    /// recorded yet.
    pub fn restock_due(&self) -> bool {
        self.cancellation.is_some()
            && !self.restocked
            && self.shipments.iter().all(|shipment| shipment.shipped.is_none())
    }

    /// What may still be captured.
    pub fn capturable(&self) -> Money {
        Money::new(
            self.authorization.amount.minor.saturating_sub(self.captured.minor),
            self.currency,
        )
    }

    /// What may still be refunded.
    pub fn refundable(&self) -> Money {
        Money::new(self.captured.minor.saturating_sub(self.refunded.minor), self.currency)
    }

    /// The shipment numbered `number`.
    pub fn shipment(&self, number: u16) -> Option<&ShipmentView> {
        self.shipments.iter().find(|shipment| shipment.number == number)
    }

    /// The sellers of the order, each once, in the order of the lines.
    pub fn sellers(&self) -> Vec<&SellerId> {
        let mut sellers: Vec<&SellerId> = Vec::new();
        for line in &self.lines {
            if !sellers.contains(&&line.seller) {
                sellers.push(&line.seller);
            }
        }
        sellers
    }
}
