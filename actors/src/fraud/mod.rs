//! Fraud scoring: a pure, deterministic function ([`assess`]) of what the checkout knows about
//! a purchase, under a [`FraudPolicy`]. No clock, no lookup, no floating point: the checkout
//! gathers the facts (the customer's order history from `order::history`, the velocity counts
//! from `bazaar_services::fraud::FraudSignals`, the sellers' standing from the catalog) and passes them in.
//!
//! # Rules and their points (the [`FraudPolicy::default`] values)
//!
//! Each rule that fires adds its points to the score and one [`FraudReason`] with its stable
//! code; a rule fires at most once per assessment.
//!
//! - `velocity_customer`, `velocity_card`, `velocity_address`: the customer's, the card's or
//!   the shipping address's checkouts in the last hour exceed 3, 3 or 5: 20 points, plus 10
//!   for each checkout beyond the first one over, at most 60 per rule.
//! - `above_average`: a returning customer spends more than 5 × their average order: 25.
//! - `large_first_order`: a customer with no prior order spends more than 50 000 minor
//!   units: 25.
//! - `new_customer`: the customer has no prior order: 10.
//! - `young_account`: the customer's first order is less than a day old: 10.
//! - `country_mismatch`: shipping and billing countries differ: 15.
//! - `seller_suspended`: a seller of the order is suspended: 40.
//! - `seller_at_risk`: a seller of the order is at risk (on probation): 15.
//! - `seller_defects`: a seller's order defect rate exceeds 200 bps (2 %): 10.
//! - `seller_unrated`: a seller has no rating yet: 5.
//!
//! Velocity counts include the checkout being assessed. Amount thresholds are in minor units
//! of the order's currency: a tenant selling in a currency of another scale sets its own
//! policy. The decision: a score at or above `reject_at` (80) is [`FraudDecision::Reject`],
//! else at or above `review_at` (40) [`FraudDecision::Review`], else
//! [`FraudDecision::Accept`]; `reject_at` wins if a policy sets it below `review_at`.
//!
//! Invariants (checked by the property test):
//! - The score is the saturating sum of the reasons' points, and reason codes are unique.
//! - The score never decreases when any velocity count grows, all else equal.
//! - The decision follows from the score and the policy's thresholds alone.
//! - Only integer arithmetic, widened to `i128` where amounts multiply, so nothing overflows.

#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

use crate::money::Money;
use crate::pricing::CountryCode;
use crate::seller::{SellerScore, Standing};

/// What the customer's order history says, as of the checkout.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerFacts {
    /// Orders placed before this one.
    pub orders: u32,
    /// Their average total, in minor units of this order's currency; `None` if unknown.
    pub average_minor: Option<i64>,
    pub first_order_at_ms: Option<u64>,
}

/// Checkouts in the last hour, this one included, per customer, card and shipping address.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Velocity {
    pub customer: u32,
    pub card: u32,
    pub address: u32,
}

/// What is known of one seller of the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SellerRisk {
    pub standing: Standing,
    /// Order defect rate in basis points.
    pub defect_bps: u16,
    /// Hundredths of a star; 0 means not rated yet.
    pub rating: u16,
}

impl SellerRisk {
    /// The facts a product or the catalog holds about a seller.
    pub fn from_score(score: &SellerScore) -> SellerRisk {
        SellerRisk {
            standing: score.standing,
            defect_bps: score.defect_rate.bps(),
            rating: score.rating.hundredths(),
        }
    }
}

/// Everything [`assess`] looks at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FraudInput {
    /// The order's grand total.
    pub amount: Money,
    pub now_ms: u64,
    pub customer: CustomerFacts,
    pub velocity: Velocity,
    pub ship_country: CountryCode,
    pub bill_country: CountryCode,
    /// One entry per seller of the order (duplicates are harmless: each rule fires once).
    pub sellers: Vec<SellerRisk>,
}

/// Thresholds and points; see the module doc for what each rule does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FraudPolicy {
    pub review_at: u16,
    pub reject_at: u16,
    pub customer_velocity_max: u32,
    pub card_velocity_max: u32,
    pub address_velocity_max: u32,
    /// Points when a velocity count first exceeds its maximum.
    pub velocity_points: u16,
    /// Points for each checkout beyond the first one over the maximum.
    pub velocity_step_points: u16,
    /// Most points one velocity rule gives.
    pub velocity_points_max: u16,
    /// A returning customer's order above this multiple of their average is unusual.
    pub average_multiple_max: u16,
    pub above_average_points: u16,
    /// A first order above this many minor units is unusual.
    pub first_order_minor_max: i64,
    pub large_first_order_points: u16,
    pub new_customer_points: u16,
    /// An account whose first order is younger than this is young.
    pub young_account_ms: u64,
    pub young_account_points: u16,
    pub country_mismatch_points: u16,
    pub seller_suspended_points: u16,
    pub seller_at_risk_points: u16,
    pub seller_defect_bps_max: u16,
    pub seller_defects_points: u16,
    pub seller_unrated_points: u16,
}

impl Default for FraudPolicy {
    fn default() -> FraudPolicy {
        FraudPolicy {
            review_at: 40,
            reject_at: 80,
            customer_velocity_max: 3,
            card_velocity_max: 3,
            address_velocity_max: 5,
            velocity_points: 20,
            velocity_step_points: 10,
            velocity_points_max: 60,
            average_multiple_max: 5,
            above_average_points: 25,
            first_order_minor_max: 50_000,
            large_first_order_points: 25,
            new_customer_points: 10,
            young_account_ms: 24 * 60 * 60 * 1000,
            young_account_points: 10,
            country_mismatch_points: 15,
            seller_suspended_points: 40,
            seller_at_risk_points: 15,
            seller_defect_bps_max: 200,
            seller_defects_points: 10,
            seller_unrated_points: 5,
        }
    }
}

/// What to do with the order. Variants are append-only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FraudDecision {
    Accept,
    /// Take the order, but a person should look at it before it ships.
    Review,
    Reject,
}

/// One rule that fired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FraudReason {
    /// Stable snake_case code from the table in the module doc.
    pub code: String,
    pub points: u16,
}

/// The verdict, kept on the order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FraudAssessment {
    pub score: u16,
    pub decision: FraudDecision,
    /// In the order of the rules in the module doc.
    pub reasons: Vec<FraudReason>,
}

impl FraudAssessment {
    /// An assessment with no reason: score 0, accepted (tests, trusted channels).
    pub fn clean() -> FraudAssessment {
        FraudAssessment { score: 0, decision: FraudDecision::Accept, reasons: Vec::new() }
    }
}

/// Scores `input` under `policy`.
pub fn assess(input: &FraudInput, policy: &FraudPolicy) -> FraudAssessment {
    let mut reasons = Vec::new();
    let mut add = |code: &str, points: u16| {
        reasons.push(FraudReason { code: code.to_string(), points });
    };
    let velocity = [
        ("velocity_customer", input.velocity.customer, policy.customer_velocity_max),
        ("velocity_card", input.velocity.card, policy.card_velocity_max),
        ("velocity_address", input.velocity.address, policy.address_velocity_max),
    ];
    for (code, count, max) in velocity {
        if count > max {
            add(code, velocity_points(count - max, policy));
        }
    }
    let amount = i128::from(input.amount.minor);
    let facts = &input.customer;
    if facts.orders > 0 {
        let multiple = i128::from(policy.average_multiple_max);
        if let Some(average) = facts.average_minor
            && amount > i128::from(average) * multiple
        {
            add("above_average", policy.above_average_points);
        }
    } else if amount > i128::from(policy.first_order_minor_max) {
        add("large_first_order", policy.large_first_order_points);
    }
    match facts.first_order_at_ms {
        _ if facts.orders == 0 => add("new_customer", policy.new_customer_points),
        Some(first) if input.now_ms.saturating_sub(first) < policy.young_account_ms => {
            add("young_account", policy.young_account_points)
        }
        _ => {}
    }
    if input.ship_country != input.bill_country {
        add("country_mismatch", policy.country_mismatch_points);
    }
    let any = |test: fn(&SellerRisk, &FraudPolicy) -> bool| {
        input.sellers.iter().any(|seller| test(seller, policy))
    };
    if any(|seller, _| seller.standing == Standing::Suspended) {
        add("seller_suspended", policy.seller_suspended_points);
    }
    // An unverified seller is as risky as one at risk.
    if any(|seller, _| matches!(seller.standing, Standing::AtRisk | Standing::Applied)) {
        add("seller_at_risk", policy.seller_at_risk_points);
    }
    if any(|seller, policy| seller.defect_bps > policy.seller_defect_bps_max) {
        add("seller_defects", policy.seller_defects_points);
    }
    if any(|seller, _| seller.rating == 0) {
        add("seller_unrated", policy.seller_unrated_points);
    }
    let score = reasons.iter().fold(0u16, |score, reason| score.saturating_add(reason.points));
    FraudAssessment { score, decision: decide(score, policy), reasons }
}

/// The points of a velocity rule `over` checkouts past its maximum (`over >= 1`).
fn velocity_points(over: u32, policy: &FraudPolicy) -> u16 {
    let steps = u64::from(over.saturating_sub(1));
    let points = u64::from(policy.velocity_points)
        .saturating_add(steps.saturating_mul(u64::from(policy.velocity_step_points)));
    let capped = points.min(u64::from(policy.velocity_points_max.max(policy.velocity_points)));
    u16::try_from(capped).unwrap_or(u16::MAX)
}

/// The decision for `score`: reject first, then review.
pub fn decide(score: u16, policy: &FraudPolicy) -> FraudDecision {
    if score >= policy.reject_at {
        FraudDecision::Reject
    } else if score >= policy.review_at {
        FraudDecision::Review
    } else {
        FraudDecision::Accept
    }
}
