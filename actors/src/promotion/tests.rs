//! Promotion rules one at a time: given events, when a command, then events or a rejection.

use std::collections::BTreeSet;

use super::*;
use crate::ids::Asin;
use crate::limits::{BPS_MAX, BUY_GET_UNITS_MAX, PRICE_MINOR_MAX, PROMOTION_REDEMPTIONS_MAX};
use crate::money::{Currency, Money};
use crate::quantity::Quantity;
use crate::testing::Harness;

pub(super) const KEY: &str = "summer10";

pub(super) fn definition(total: u32, per_customer: u32) -> PromotionDefinition {
    PromotionDefinition {
        benefit: Benefit::PercentOff { bps: 1_000 },
        window: Window { starts_ms: 100, ends_ms: 1_000 },
        coupon: Some(CouponCode::parse("SUMMER10").unwrap()),
        scope: Scope::Marketplace,
        stackable: false,
        priority: 0,
        minimum: None,
        limits: RedemptionLimits { total, per_customer },
    }
}

pub(super) fn customer(text: &str) -> CustomerId {
    CustomerId::parse(text).unwrap()
}

pub(super) fn order(text: &str) -> OrderId {
    OrderId::parse(text).unwrap()
}

pub(super) fn created(total: u32, per_customer: u32) -> Harness<Promotion> {
    let event = PromotionEvent::Created {
        id: PromotionId::parse(KEY).unwrap(),
        definition: definition(total, per_customer),
        at_ms: 50,
    };
    let mut harness = Harness::given(KEY, [event]);
    harness.now_ms = 500;
    harness
}

fn redeem(who: &str, order_id: &str) -> PromotionCommand {
    PromotionCommand::Redeem { customer: customer(who), order_id: order(order_id) }
}

fn unredeem(order_id: &str) -> PromotionCommand {
    PromotionCommand::Unredeem { order_id: order(order_id) }
}

#[test]
fn create_validates_and_answers_retries_from_state() {
    let mut promotion = Harness::<Promotion>::new(KEY);
    assert_eq!(promotion.decide(PromotionCommand::Get), Err(PromotionRejection::UnknownPromotion));
    let create = |definition| PromotionCommand::Create { definition };
    let (events, reply) = promotion.run(create(definition(10, 2))).unwrap();
    assert!(matches!(events[..], [PromotionEvent::Created { .. }]));
    assert_eq!((reply.promotion.id.as_str(), reply.promotion.revision), (KEY, 1));
    assert!(promotion.run(create(definition(10, 2))).unwrap().0.is_empty());
    assert_eq!(
        promotion.decide(create(definition(10, 3))),
        Err(PromotionRejection::AlreadyCreated)
    );
    let bad_key = Harness::<Promotion>::new("not a promotion id");
    assert_eq!(bad_key.decide(create(definition(10, 2))), Err(PromotionRejection::IdInvalid));
}

#[test]
fn invalid_definitions_are_refused() {
    let promotion = Harness::<Promotion>::new(KEY);
    let refused = |change: &dyn Fn(&mut PromotionDefinition)| {
        let mut bad = definition(10, 2);
        change(&mut bad);
        promotion.decide(PromotionCommand::Create { definition: bad }).unwrap_err()
    };
    let amount = PromotionRejection::AmountInvalid { max_minor: PRICE_MINOR_MAX };
    let eur = |minor| Money::new(minor, Currency::EUR);
    assert_eq!(refused(&|d| d.window.ends_ms = 100), PromotionRejection::WindowInvalid);
    for bps in [0, BPS_MAX + 1] {
        assert_eq!(
            refused(&|d| d.benefit = Benefit::PercentOff { bps }),
            PromotionRejection::PercentInvalid { max_bps: BPS_MAX }
        );
    }
    assert_eq!(refused(&|d| d.benefit = Benefit::AmountOff { amount: eur(0) }), amount);
    assert_eq!(refused(&|d| d.benefit = Benefit::FreeShipping { threshold: eur(-1) }), amount);
    assert_eq!(refused(&|d| d.minimum = Some(eur(0))), amount);
    assert_eq!(
        refused(&|d| {
            d.benefit = Benefit::AmountOff { amount: eur(500) };
            d.minimum = Some(Money::new(5_000, Currency::USD));
        }),
        PromotionRejection::CurrencyMismatch
    );
    let units = Quantity::new(BUY_GET_UNITS_MAX + 1).unwrap();
    assert_eq!(
        refused(&|d| d.benefit = Benefit::BuyXGetY { buy: units, get: Quantity::ONE }),
        PromotionRejection::BuyGetInvalid { max: BUY_GET_UNITS_MAX }
    );
    assert_eq!(
        refused(&|d| d.scope = Scope::Asins(BTreeSet::<Asin>::new())),
        PromotionRejection::ScopeInvalid { asins_max: 1_000 }
    );
    let limits = PromotionRejection::LimitsInvalid { total_max: PROMOTION_REDEMPTIONS_MAX };
    assert_eq!(refused(&|d| d.limits = RedemptionLimits { total: 0, per_customer: 0 }), limits);
    assert_eq!(refused(&|d| d.limits = RedemptionLimits { total: 2, per_customer: 3 }), limits);
    let over = PROMOTION_REDEMPTIONS_MAX + 1;
    assert_eq!(refused(&|d| d.limits = RedemptionLimits { total: over, per_customer: 1 }), limits);
}

#[test]
fn redeem_enforces_both_limits() {
    let mut promotion = created(3, 2);
    promotion.run(redeem("alice", "o1")).unwrap();
    promotion.run(redeem("alice", "o2")).unwrap();
    assert_eq!(
        promotion.decide(redeem("alice", "o3")),
        Err(PromotionRejection::CustomerLimitReached { limit: 2 })
    );
    let (_, reply) = promotion.run(redeem("bob", "o4")).unwrap();
    assert_eq!(reply.promotion.redeemed, 3);
    assert_eq!(
        promotion.decide(redeem("carol", "o5")),
        Err(PromotionRejection::TotalLimitReached { limit: 3 })
    );
    promotion.run(unredeem("o1")).unwrap();
    assert_eq!(promotion.state.redeemed_by(&customer("alice")), 1);
    assert!(promotion.run(redeem("carol", "o5")).is_ok(), "the unredeemed use is free again");
}

#[test]
fn redeem_is_idempotent_by_order() {
    let mut promotion = created(3, 2);
    let (events, first) = promotion.run(redeem("alice", "o1")).unwrap();
    assert_eq!(
        events,
        [PromotionEvent::Redeemed {
            order_id: order("o1"),
            customer: customer("alice"),
            at_ms: 500
        }]
    );
    promotion.now_ms = 600;
    let (events, again) = promotion.run(redeem("alice", "o1")).unwrap();
    assert!(events.is_empty());
    assert_eq!(again.redemption, first.redemption, "the first result");
    assert_eq!(promotion.decide(redeem("bob", "o1")), Err(PromotionRejection::OrderConflict));
    promotion.run(PromotionCommand::End).unwrap();
    assert_eq!(promotion.run(redeem("alice", "o1")).unwrap().1.redemption, first.redemption);
}

#[test]
fn unredeem_is_idempotent_and_refuses_a_late_redeem() {
    let mut promotion = created(3, 2);
    promotion.run(redeem("alice", "o1")).unwrap();
    let (events, reply) = promotion.run(unredeem("o1")).unwrap();
    assert_eq!(
        events,
        [PromotionEvent::Unredeemed {
            order_id: order("o1"),
            customer: Some(customer("alice")),
            at_ms: 500
        }]
    );
    assert_eq!(reply.promotion.redeemed, 0);
    let (events, again) = promotion.run(unredeem("o1")).unwrap();
    assert!(events.is_empty());
    assert_eq!(again.redemption, reply.redemption);
    assert_eq!(
        promotion.decide(redeem("alice", "o1")),
        Err(PromotionRejection::RedemptionReversed)
    );
    // Reversed before it was redeemed: the late redeem is refused, nothing is counted.
    let (events, _) = promotion.run(unredeem("o2")).unwrap();
    assert_eq!(
        events,
        [PromotionEvent::Unredeemed { order_id: order("o2"), customer: None, at_ms: 500 }]
    );
    assert_eq!(
        promotion.decide(redeem("alice", "o2")),
        Err(PromotionRejection::RedemptionReversed)
    );
    assert_eq!(promotion.state.redeemed(), 0);
}

#[test]
fn windows_end_and_updates() {
    let mut promotion = created(3, 2);
    promotion.now_ms = 99;
    assert_eq!(promotion.decide(redeem("alice", "o1")), Err(PromotionRejection::NotStarted));
    promotion.now_ms = 1_000;
    assert_eq!(promotion.decide(redeem("alice", "o1")), Err(PromotionRejection::Expired));
    promotion.now_ms = 500;
    promotion.run(redeem("alice", "o1")).unwrap();
    promotion.run(redeem("alice", "o2")).unwrap();
    let update = |definition| PromotionCommand::Update { definition };
    assert_eq!(
        promotion.decide(update(definition(3, 1))),
        Err(PromotionRejection::LimitBelowRedemptions { redeemed: 2 })
    );
    assert_eq!(
        promotion.decide(update(definition(1, 1))),
        Err(PromotionRejection::LimitBelowRedemptions { redeemed: 2 })
    );
    let (events, reply) = promotion.run(update(definition(5, 2))).unwrap();
    assert!(matches!(events[..], [PromotionEvent::Updated { .. }]));
    assert_eq!(reply.promotion.definition.limits.total, 5);
    promotion.now_ms = 700;
    let (events, reply) = promotion.run(PromotionCommand::End).unwrap();
    assert_eq!(events, [PromotionEvent::Ended { at_ms: 700 }]);
    assert_eq!(reply.promotion.ended_at_ms, Some(700));
    assert!(promotion.run(PromotionCommand::End).unwrap().0.is_empty());
    assert_eq!(promotion.decide(update(definition(5, 2))), Err(PromotionRejection::Ended));
    assert_eq!(promotion.decide(redeem("bob", "o3")), Err(PromotionRejection::Ended));
    assert!(promotion.run(unredeem("o2")).is_ok(), "compensations still work");
    let candidate = promotion.state.candidate().unwrap();
    assert_eq!(candidate.definition.window, Window { starts_ms: 100, ends_ms: 700 });
}

#[test]
fn an_early_end_leaves_a_candidate_pricing_finds_expired() {
    let mut promotion = created(3, 2);
    promotion.now_ms = 20;
    promotion.run(PromotionCommand::End).unwrap();
    let candidate = promotion.state.candidate().unwrap();
    assert_eq!(candidate.definition.window, Window { starts_ms: 20, ends_ms: 20 });
    assert!(definition::validate_terms(&candidate.definition).is_ok());
}
