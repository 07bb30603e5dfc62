//! Promotion: one promotion's definition, as [`pricing`](crate::pricing) applies it, and its
//! redemption counters. Keyed by [`PromotionId`]; kind [`kinds::PROMOTION`].
//!
//! Pricing only reads definitions (handed over as [`CandidatePromotion`]s by the caller);
//! this entity counts redemptions. The checkout redeems each promotion a priced cart applied,
//! for the order it places, and unredeems it if the checkout fails later (a compensation).
//! A redeem refused for a limit means the caller prices again without the promotion.
//!
//! Invariants, checked by the property test after every step:
//! - The definition is valid (see [`definition`]) from `Create` on; `Update` keeps it valid
//!   and never lowers a limit below what is already redeemed.
//! - `redeemed` (active redemptions) never exceeds `limits.total`, and no customer's active
//!   redemptions exceed `limits.per_customer`; `redeemed` is the sum of the per-customer
//!   counts and the number of orders whose status is `Redeemed`.
//! - One redemption per order id. `Redeem` is idempotent by order id: a retry with the same
//!   customer answers the first result, without events; another customer is `OrderConflict`.
//! - `Unredeem` is idempotent and always accepted (a compensation must never fail): it
//!   reverses an active redemption, answers a reversed one from memory, and for an order
//!   never redeemed records the reversal first, so a `Redeem` arriving late (after the
//!   checkout gave up) is refused with `RedemptionReversed` instead of leaking a redemption.
//!   A reversed order is never redeemed again.
//! - After `End`, nothing is redeemed and the definition no longer changes; `Unredeem` and
//!   `Get` still work. The candidate handed to pricing has its window cut at the end.
//! - Orders are remembered up to `PROMOTION_ORDERS_MAX`; beyond, a new order id is refused
//!   (`TooManyOrders`) rather than forgetting one, since forgetting would break idempotency.

mod decide;
pub mod definition;
mod ids;
#[cfg(test)]
mod proptests;
mod state;
#[cfg(test)]
mod tests;

use bazaar_entity::{Ctx, Decision, Entity, Kind};
use serde::{Deserialize, Serialize};

use crate::ids::CustomerId;
use crate::kinds;
use crate::rejection::{Rejection, RejectionKind};

pub use definition::{
    Benefit, CandidatePromotion, PromotionDefinition, RedemptionLimits, Scope, Window,
};
pub use ids::{CouponCode, OrderId, PromotionId};
pub use state::Promotion;

/// What callers ask of a promotion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PromotionCommand {
    /// Creates the promotion under the entity's key; retried with the same definition it
    /// answers from state.
    Create {
        definition: PromotionDefinition,
    },
    /// Replaces the definition (not after `End`).
    Update {
        definition: PromotionDefinition,
    },
    /// Ends the promotion now, for good.
    End,
    /// Counts one use by `customer` for `order_id`.
    Redeem {
        customer: CustomerId,
        order_id: OrderId,
    },
    /// Gives back the use counted for `order_id` (a checkout compensation).
    Unredeem {
        order_id: OrderId,
    },
    Get,
}

/// What happened to a promotion. Variants are append-only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PromotionEvent {
    Created {
        id: PromotionId,
        definition: PromotionDefinition,
        at_ms: u64,
    },
    Updated {
        definition: PromotionDefinition,
        at_ms: u64,
    },
    Ended {
        at_ms: u64,
    },
    Redeemed {
        order_id: OrderId,
        customer: CustomerId,
        at_ms: u64,
    },
    /// `customer` is `None` when the order had not been redeemed: the reversal is recorded
    /// so that a late redeem is refused.
    Unredeemed {
        order_id: OrderId,
        customer: Option<CustomerId>,
        at_ms: u64,
    },
}

/// Why a promotion command was refused. Variants are append-only; see [`Rejection`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum PromotionRejection {
    #[error("no such promotion")]
    UnknownPromotion,
    #[error("the entity key is not a valid promotion id")]
    IdInvalid,
    #[error("the promotion already exists with another definition")]
    AlreadyCreated,
    #[error("the validity window must start before it ends")]
    WindowInvalid,
    #[error("a percentage must be between 1 and {max_bps} basis points")]
    PercentInvalid { max_bps: u16 },
    #[error("an amount must be between 1 and {max_minor} minor units (a threshold from 0)")]
    AmountInvalid { max_minor: i64 },
    #[error("buy x get y must name 1 to {max} units on each side")]
    BuyGetInvalid { max: u32 },
    #[error("an asin scope must name 1 to {asins_max} asins")]
    ScopeInvalid { asins_max: u32 },
    #[error("limits: total 1 to {total_max}, per customer 1 to the total")]
    LimitsInvalid { total_max: u32 },
    #[error("every amount of a promotion must be in one currency")]
    CurrencyMismatch,
    #[error("the promotion has ended")]
    Ended,
    #[error("the promotion has not started")]
    NotStarted,
    #[error("the promotion has expired")]
    Expired,
    #[error("the promotion has been redeemed {limit} times, its limit")]
    TotalLimitReached { limit: u32 },
    #[error("the customer has redeemed the promotion {limit} times, the limit per customer")]
    CustomerLimitReached { limit: u32 },
    #[error("this order id was redeemed by another customer")]
    OrderConflict,
    #[error("the redemption for this order was reversed")]
    RedemptionReversed,
    #[error("a limit cannot go below the {redeemed} redemptions already counted")]
    LimitBelowRedemptions { redeemed: u32 },
    #[error("the promotion remembers the most orders allowed, {max}")]
    TooManyOrders { max: u32 },
}

impl Rejection for PromotionRejection {
    fn code(&self) -> &'static str {
        match self {
            PromotionRejection::UnknownPromotion => "unknown_promotion",
            PromotionRejection::IdInvalid => "promotion_id_invalid",
            PromotionRejection::AlreadyCreated => "promotion_already_created",
            PromotionRejection::WindowInvalid => "window_invalid",
            PromotionRejection::PercentInvalid { .. } => "percent_invalid",
            PromotionRejection::AmountInvalid { .. } => "amount_invalid",
            PromotionRejection::BuyGetInvalid { .. } => "buy_get_invalid",
            PromotionRejection::ScopeInvalid { .. } => "scope_invalid",
            PromotionRejection::LimitsInvalid { .. } => "limits_invalid",
            PromotionRejection::CurrencyMismatch => "currency_mismatch",
            PromotionRejection::Ended => "promotion_ended",
            PromotionRejection::NotStarted => "promotion_not_started",
            PromotionRejection::Expired => "promotion_expired",
            PromotionRejection::TotalLimitReached { .. } => "total_limit_reached",
            PromotionRejection::CustomerLimitReached { .. } => "customer_limit_reached",
            PromotionRejection::OrderConflict => "order_conflict",
            PromotionRejection::RedemptionReversed => "redemption_reversed",
            PromotionRejection::LimitBelowRedemptions { .. } => "limit_below_redemptions",
            PromotionRejection::TooManyOrders { .. } => "too_many_orders",
        }
    }

    fn kind(&self) -> RejectionKind {
        match self {
            PromotionRejection::UnknownPromotion => RejectionKind::NotFound,
            PromotionRejection::IdInvalid
            | PromotionRejection::WindowInvalid
            | PromotionRejection::PercentInvalid { .. }
            | PromotionRejection::AmountInvalid { .. }
            | PromotionRejection::BuyGetInvalid { .. }
            | PromotionRejection::ScopeInvalid { .. }
            | PromotionRejection::LimitsInvalid { .. }
            | PromotionRejection::CurrencyMismatch => RejectionKind::Invalid,
            PromotionRejection::AlreadyCreated
            | PromotionRejection::Ended
            | PromotionRejection::NotStarted
            | PromotionRejection::Expired
            | PromotionRejection::TotalLimitReached { .. }
            | PromotionRejection::CustomerLimitReached { .. }
            | PromotionRejection::OrderConflict
            | PromotionRejection::RedemptionReversed
            | PromotionRejection::LimitBelowRedemptions { .. }
            | PromotionRejection::TooManyOrders { .. } => RejectionKind::Conflict,
        }
    }
}

/// Where one order's redemption stands. Variants are append-only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RedemptionStatus {
    Redeemed,
    Reversed,
}

/// One order's redemption, as replies show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedemptionView {
    pub order_id: OrderId,
    /// `None` for an order reversed before it was ever redeemed.
    pub customer: Option<CustomerId>,
    pub status: RedemptionStatus,
    pub redeemed_at_ms: Option<u64>,
    pub reversed_at_ms: Option<u64>,
}

/// The promotion, as replies show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromotionView {
    pub id: PromotionId,
    pub definition: PromotionDefinition,
    pub created_at_ms: u64,
    pub ended_at_ms: Option<u64>,
    /// Active redemptions.
    pub redeemed: u32,
    /// Events applied so far.
    pub revision: u64,
}

/// The answer to every promotion command: the promotion after it, and for `Redeem` and
/// `Unredeem` the order's redemption.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromotionReply {
    pub promotion: PromotionView,
    pub redemption: Option<RedemptionView>,
}

impl Entity for Promotion {
    const KIND: Kind = kinds::PROMOTION;
    type Command = PromotionCommand;
    type Event = PromotionEvent;
    type Reply = PromotionReply;
    type Rejection = PromotionRejection;

    fn decide(
        &self,
        command: PromotionCommand,
        ctx: &Ctx<'_>,
    ) -> Result<Decision<Self>, PromotionRejection> {
        decide::decide(self, command, &ctx.key.id, ctx.now_ms)
    }

    fn apply(&mut self, event: &PromotionEvent) {
        self.apply_event(event);
    }
}
