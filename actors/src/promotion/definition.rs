//! What a promotion gives, to whom and when: the definition the promotion entity keeps and
//! [`pricing`](crate::pricing) applies. How pricing combines promotions (scope, stacking,
//! rounding) is written in the pricing module doc; this file holds the values and their
//! validation.
//!
//! Invariants of a valid definition (checked by `validate` on `Create` and `Update`, and but
//! for the window by pricing, for every candidate it is handed):
//! - The window `[starts_ms, ends_ms)` is not empty.
//! - A percentage is `1..=BPS_MAX` basis points; an amount off and a minimum are
//!   `1..=PRICE_MINOR_MAX` minor units; a free shipping threshold `0..=PRICE_MINOR_MAX`;
//!   buy X get Y names `1..=BUY_GET_UNITS_MAX` units on each side.
//! - Every amount of one definition is in one currency.
//! - An ASIN scope names `1..=PROMOTION_ASINS_MAX` ASINs.
//! - Redemption limits: `total` is `1..=PROMOTION_REDEMPTIONS_MAX`, `per_customer` is
//!   `1..=total`.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::PromotionRejection;
use super::ids::{CouponCode, PromotionId};
use crate::ids::{Asin, SellerId};
use crate::limits::{
    BPS_MAX, BUY_GET_UNITS_MAX, PRICE_MINOR_MAX, PROMOTION_ASINS_MAX, PROMOTION_REDEMPTIONS_MAX,
};
use crate::money::{Currency, Money};
use crate::quantity::Quantity;

/// When a promotion is valid: from `starts_ms` (inclusive) to `ends_ms` (exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub starts_ms: u64,
    pub ends_ms: u64,
}

impl Window {
    pub fn contains(&self, now_ms: u64) -> bool {
        self.starts_ms <= now_ms && now_ms < self.ends_ms
    }
}

/// What a promotion takes off. Variants are append-only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Benefit {
    /// A percentage of the item price, in basis points (1000 = 10 %).
    PercentOff { bps: u16 },
    /// An amount off the items in scope, together (split over the lines).
    AmountOff { amount: Money },
    /// For every `buy + get` units of one ASIN in scope, the `get` cheapest are free.
    BuyXGetY { buy: Quantity, get: Quantity },
    /// No shipping charge on the lines in scope once their items, after discounts, reach
    /// `threshold`.
    FreeShipping { threshold: Money },
}

impl Benefit {
    /// Whether it discounts items (`false`: it waives shipping).
    pub fn is_item_discount(&self) -> bool {
        !matches!(self, Benefit::FreeShipping { .. })
    }
}

/// Which cart lines a promotion may touch. Variants are append-only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Scope {
    /// Every line.
    Marketplace,
    /// The lines bought from this seller.
    Seller(SellerId),
    /// The lines of these ASINs, whoever sells them.
    Asins(BTreeSet<Asin>),
}

impl Scope {
    pub fn covers(&self, asin: &Asin, seller: &SellerId) -> bool {
        match self {
            Scope::Marketplace => true,
            Scope::Seller(only) => only == seller,
            Scope::Asins(asins) => asins.contains(asin),
        }
    }
}

/// How often a promotion may be redeemed: in total and by one customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedemptionLimits {
    pub total: u32,
    pub per_customer: u32,
}

/// One promotion's rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromotionDefinition {
    pub benefit: Benefit,
    pub window: Window,
    /// The code the customer must enter; `None` applies without one.
    pub coupon: Option<CouponCode>,
    pub scope: Scope,
    /// Whether it combines with other promotions on a line (see the pricing module doc).
    pub stackable: bool,
    /// Stackable promotions apply highest priority first.
    pub priority: u16,
    /// The least the lines in scope must cost, before any discount, for it to apply.
    pub minimum: Option<Money>,
    pub limits: RedemptionLimits,
}

impl PromotionDefinition {
    /// The currency of its amounts; `None` when it names none (a percentage, buy X get Y).
    pub fn currency(&self) -> Option<Currency> {
        let amount = match &self.benefit {
            Benefit::AmountOff { amount } => Some(*amount),
            Benefit::FreeShipping { threshold } => Some(*threshold),
            Benefit::PercentOff { .. } | Benefit::BuyXGetY { .. } => None,
        };
        amount.or(self.minimum).map(|money| money.currency)
    }
}

/// A promotion as pricing is handed it: its id and its definition (for an ended promotion,
/// the window is cut at the end, so pricing finds it expired).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CandidatePromotion {
    pub id: PromotionId,
    pub definition: PromotionDefinition,
}

/// Checks every rule of the module doc; the first failing one names the rejection.
pub(crate) fn validate(definition: &PromotionDefinition) -> Result<(), PromotionRejection> {
    let window = definition.window;
    if window.starts_ms >= window.ends_ms {
        return Err(PromotionRejection::WindowInvalid);
    }
    validate_terms(definition)
}

/// Every rule but the window's: what pricing checks of a candidate, whose window may have
/// been cut to nothing by an early `End` (pricing then finds it expired).
pub(crate) fn validate_terms(definition: &PromotionDefinition) -> Result<(), PromotionRejection> {
    let amount_invalid = PromotionRejection::AmountInvalid { max_minor: PRICE_MINOR_MAX };
    match &definition.benefit {
        Benefit::PercentOff { bps } => {
            if !(1..=BPS_MAX).contains(bps) {
                return Err(PromotionRejection::PercentInvalid { max_bps: BPS_MAX });
            }
        }
        Benefit::AmountOff { amount } => {
            if !(1..=PRICE_MINOR_MAX).contains(&amount.minor) {
                return Err(amount_invalid);
            }
        }
        Benefit::BuyXGetY { buy, get } => {
            if buy.get() > BUY_GET_UNITS_MAX || get.get() > BUY_GET_UNITS_MAX {
                return Err(PromotionRejection::BuyGetInvalid { max: BUY_GET_UNITS_MAX });
            }
        }
        Benefit::FreeShipping { threshold } => {
            if !(0..=PRICE_MINOR_MAX).contains(&threshold.minor) {
                return Err(amount_invalid);
            }
        }
    }
    if let Some(minimum) = definition.minimum {
        if !(1..=PRICE_MINOR_MAX).contains(&minimum.minor) {
            return Err(amount_invalid);
        }
        if definition.currency().is_some_and(|currency| currency != minimum.currency) {
            return Err(PromotionRejection::CurrencyMismatch);
        }
    }
    if let Scope::Asins(asins) = &definition.scope
        && (asins.is_empty() || asins.len() > PROMOTION_ASINS_MAX)
    {
        let asins_max = u32::try_from(PROMOTION_ASINS_MAX).unwrap_or(u32::MAX);
        return Err(PromotionRejection::ScopeInvalid { asins_max });
    }
    let limits = definition.limits;
    if !(1..=PROMOTION_REDEMPTIONS_MAX).contains(&limits.total)
        || !(1..=limits.total).contains(&limits.per_customer)
    {
        return Err(PromotionRejection::LimitsInvalid { total_max: PROMOTION_REDEMPTIONS_MAX });
    }
    Ok(())
}
