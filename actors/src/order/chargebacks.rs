//! Chargebacks: a customer disputed the order's payment with its card issuer, and the
//! payment provider took the disputed money back from the marketplace.
//!
//! Invariants:
//! - A dispute takes what was captured and not refunded, all of it, once: the order records
//!   one chargeback (a provider's retry, same id, changes nothing; another is refused). From
//!   then on the order is frozen: the dispute settles its money, so it is not shipped,
//!   cancelled, returned, appeased or refunded any more (`payment_disputed`), and its payment
//!   needs nothing more.
//! - Who bears it is the rule of its reason ([`Bearer::of`]): the seller for what its goods
//!   or delivery are blamed for (`product_not_received`, `not_as_described`), the marketplace
//!   for the rest (`fraudulent`, `duplicate`, `other`: its checkout let the payment through).
//!   The ledger posts it accordingly (`crate::ledger`).
//! - The shapes of [`Chargeback`] and [`Bearer`] are fixed (they sit in the order's snapshot).

use serde::{Deserialize, Serialize};

use super::decide::{Decided, answer};
use super::validate::text;
use super::{Order, OrderEvent, OrderRejection, OrderView};
use crate::money::Money;

/// The reasons a provider reports, in the order [`Bearer::of`] reads them.
pub const REASONS: [&str; 5] =
    ["fraudulent", "product_not_received", "not_as_described", "duplicate", "other"];

/// Who pays for a chargeback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Bearer {
    /// The order's sellers, in proportion to what each still holds of it.
    Sellers,
    Marketplace,
}

impl Bearer {
    /// The rule: sellers bear what their goods or delivery are blamed for.
    pub fn of(reason: &str) -> Bearer {
        match reason {
            "product_not_received" | "not_as_described" => Bearer::Sellers,
            _ => Bearer::Marketplace,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Bearer::Sellers => "sellers",
            Bearer::Marketplace => "marketplace",
        }
    }
}

/// A dispute the provider settled against the marketplace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chargeback {
    pub psp: String,
    /// The provider's id of the dispute.
    pub id: String,
    pub amount: Money,
    /// One of [`REASONS`].
    pub reason: String,
    pub bearer: Bearer,
    pub at_ms: u64,
}

impl OrderView {
    /// Whether a chargeback settled this order's payment.
    pub fn disputed(&self) -> bool {
        self.chargeback.is_some()
    }
}

/// `RecordChargeback`: the provider's dispute `id` took `amount` back for `reason`.
pub(super) fn record(
    state: &Order,
    view: &OrderView,
    (psp, id, amount, reason): (String, String, Money, String),
    now_ms: u64,
) -> Decided {
    if let Some(known) = &view.chargeback {
        if known.id == id && known.amount == amount {
            return answer(state, Vec::new());
        }
        return Err(OrderRejection::PaymentDisputed);
    }
    text("chargeback id", &id, 1)?;
    if psp != view.authorization.psp {
        return Err(OrderRejection::PspMismatch);
    }
    if !REASONS.contains(&reason.as_str()) {
        return Err(OrderRejection::ChargebackInvalid);
    }
    if amount.currency != view.currency || !amount.is_positive() || amount != view.refundable() {
        // The provider takes exactly what it holds of the payment.
        return Err(OrderRejection::ChargebackInvalid);
    }
    let bearer = Bearer::of(&reason);
    let chargeback = Chargeback { psp, id, amount, reason, bearer, at_ms: now_ms };
    answer(state, vec![OrderEvent::ChargedBack(Box::new(chargeback))])
}
