//! Fraud rules, one at a time, and the property test of the score.

use proptest::prelude::*;

use super::*;
use crate::money::Currency;

const DAY_MS: u64 = 24 * 60 * 60 * 1000;

fn country(code: &str) -> CountryCode {
    CountryCode::parse(code).unwrap()
}

fn good_seller() -> SellerRisk {
    SellerRisk { standing: Standing::Good, defect_bps: 50, rating: 470 }
}

/// A returning customer of a month, an ordinary amount, one attempt: nothing fires.
fn quiet() -> FraudInput {
    FraudInput {
        amount: Money::new(5_000, Currency::EUR),
        now_ms: 100 * DAY_MS,
        customer: CustomerFacts {
            orders: 4,
            average_minor: Some(4_000),
            first_order_at_ms: Some(70 * DAY_MS),
        },
        velocity: Velocity { customer: 1, card: 1, address: 1 },
        ship_country: country("DE"),
        bill_country: country("DE"),
        sellers: vec![good_seller()],
    }
}

fn codes(input: &FraudInput) -> Vec<(String, u16)> {
    assess(input, &FraudPolicy::default())
        .reasons
        .into_iter()
        .map(|reason| (reason.code, reason.points))
        .collect()
}

fn fired(code: &str, points: u16) -> Vec<(String, u16)> {
    vec![(code.to_string(), points)]
}

#[test]
fn a_quiet_order_is_accepted_with_no_reason() {
    let assessment = assess(&quiet(), &FraudPolicy::default());
    assert_eq!(assessment, FraudAssessment::clean());
}

#[test]
fn velocity_rules_escalate_per_attempt_and_cap() {
    let at = |velocity: Velocity| codes(&FraudInput { velocity, ..quiet() });
    let one = Velocity { customer: 1, card: 1, address: 1 };
    assert_eq!(at(Velocity { customer: 3, ..one }), []);
    assert_eq!(at(Velocity { customer: 4, ..one }), fired("velocity_customer", 20));
    assert_eq!(at(Velocity { customer: 5, ..one }), fired("velocity_customer", 30));
    assert_eq!(at(Velocity { customer: 1_000, ..one }), fired("velocity_customer", 60));
    assert_eq!(at(Velocity { card: 4, ..one }), fired("velocity_card", 20));
    assert_eq!(at(Velocity { address: 5, ..one }), []);
    assert_eq!(at(Velocity { address: 6, ..one }), fired("velocity_address", 20));
    assert_eq!(at(Velocity { customer: u32::MAX, ..one }), fired("velocity_customer", 60));
}

#[test]
fn an_amount_far_above_the_average_is_flagged() {
    let amount = |minor| codes(&FraudInput { amount: Money::new(minor, Currency::EUR), ..quiet() });
    assert_eq!(amount(20_000), [], "exactly 5 x the average");
    assert_eq!(amount(20_001), fired("above_average", 25));
    assert_eq!(amount(i64::MAX), fired("above_average", 25), "no overflow");
    let unknown = CustomerFacts { average_minor: None, ..quiet().customer };
    let input =
        FraudInput { customer: unknown, amount: Money::new(1 << 40, Currency::EUR), ..quiet() };
    assert_eq!(codes(&input), [], "no average, no comparison");
}

#[test]
fn a_first_order_is_new_and_large_ones_are_flagged() {
    let first = |minor| {
        codes(&FraudInput {
            amount: Money::new(minor, Currency::EUR),
            customer: CustomerFacts::default(),
            ..quiet()
        })
    };
    assert_eq!(first(50_000), fired("new_customer", 10));
    assert_eq!(
        first(50_001),
        vec![("large_first_order".to_string(), 25), ("new_customer".to_string(), 10)]
    );
}

#[test]
fn a_young_account_is_flagged_for_a_day() {
    let since = |first| {
        let customer = CustomerFacts { first_order_at_ms: Some(first), ..quiet().customer };
        codes(&FraudInput { customer, ..quiet() })
    };
    let now = quiet().now_ms;
    assert_eq!(since(now - DAY_MS + 1), fired("young_account", 10));
    assert_eq!(since(now - DAY_MS), []);
    assert_eq!(since(now + 5), fired("young_account", 10), "a clock ahead is young");
}

#[test]
fn shipping_elsewhere_than_billing_is_flagged() {
    let input = FraudInput { bill_country: country("FR"), ..quiet() };
    assert_eq!(codes(&input), fired("country_mismatch", 15));
}

#[test]
fn risky_sellers_are_flagged_once_per_rule() {
    let with = |seller: SellerRisk| {
        codes(&FraudInput { sellers: vec![good_seller(), seller, seller], ..quiet() })
    };
    let at_risk = SellerRisk { standing: Standing::AtRisk, ..good_seller() };
    assert_eq!(with(at_risk), fired("seller_at_risk", 15));
    let suspended = SellerRisk { standing: Standing::Suspended, ..good_seller() };
    assert_eq!(with(suspended), fired("seller_suspended", 40));
    assert_eq!(with(SellerRisk { defect_bps: 200, ..good_seller() }), []);
    assert_eq!(with(SellerRisk { defect_bps: 201, ..good_seller() }), fired("seller_defects", 10));
    assert_eq!(with(SellerRisk { rating: 0, ..good_seller() }), fired("seller_unrated", 5));
}

#[test]
fn decisions_follow_the_thresholds() {
    let policy = FraudPolicy::default();
    assert_eq!(decide(39, &policy), FraudDecision::Accept);
    assert_eq!(decide(40, &policy), FraudDecision::Review);
    assert_eq!(decide(79, &policy), FraudDecision::Review);
    assert_eq!(decide(80, &policy), FraudDecision::Reject);
    let inverted = FraudPolicy { review_at: 50, reject_at: 30, ..policy };
    assert_eq!(decide(40, &inverted), FraudDecision::Reject, "reject wins");

    // A young account shipping abroad from a suspended seller, on a stolen card's spree.
    let input = FraudInput {
        velocity: Velocity { customer: 1, card: 9, address: 1 },
        bill_country: country("US"),
        sellers: vec![SellerRisk { standing: Standing::Suspended, ..good_seller() }],
        ..quiet()
    };
    let assessment = assess(&input, &policy);
    assert_eq!(assessment.score, 60 + 15 + 40);
    assert_eq!(assessment.decision, FraudDecision::Reject);
}

#[test]
fn seller_facts_come_from_a_score() {
    use crate::seller::{DefectRate, Rating};
    let score = SellerScore {
        standing: Standing::AtRisk,
        rating: Rating::new(310).unwrap(),
        defect_rate: DefectRate::new(90).unwrap(),
        version: 2,
    };
    let risk = SellerRisk::from_score(&score);
    assert_eq!(risk, SellerRisk { standing: Standing::AtRisk, defect_bps: 90, rating: 310 });
}

fn standing() -> impl Strategy<Value = Standing> {
    prop_oneof![Just(Standing::Good), Just(Standing::AtRisk), Just(Standing::Suspended)]
}

fn input() -> impl Strategy<Value = FraudInput> {
    let seller = (standing(), 0u16..400, prop_oneof![Just(0u16), 1u16..=500])
        .prop_map(|(standing, defect_bps, rating)| SellerRisk { standing, defect_bps, rating });
    let customer =
        (0u32..5, prop::option::of(-10i64..100_000), prop::option::of(0u64..10 * DAY_MS)).prop_map(
            |(orders, average_minor, first_order_at_ms)| CustomerFacts {
                orders,
                average_minor,
                first_order_at_ms,
            },
        );
    let countries = prop_oneof![Just("DE"), Just("FR"), Just("US")];
    (
        prop_oneof![-5i64..200_000, Just(i64::MAX), Just(i64::MIN)],
        0u64..20 * DAY_MS,
        customer,
        (0u32..12, 0u32..12, 0u32..12),
        (countries.clone(), countries),
        prop::collection::vec(seller, 0..4),
    )
        .prop_map(|(minor, now_ms, customer, (c, k, a), (ship, bill), sellers)| FraudInput {
            amount: Money::new(minor, Currency::EUR),
            now_ms,
            customer,
            velocity: Velocity { customer: c, card: k, address: a },
            ship_country: country(ship),
            bill_country: country(bill),
            sellers,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn score_is_monotone_in_velocity_and_decisions_follow_it(
        input in input(),
        more in (0u32..50, 0u32..50, 0u32..50),
        review_at in 0u16..150,
        reject_at in 0u16..200,
    ) {
        let policy = FraudPolicy { review_at, reject_at, ..FraudPolicy::default() };
        let base = assess(&input, &policy);
        let sum = base.reasons.iter().fold(0u16, |s, r| s.saturating_add(r.points));
        prop_assert_eq!(base.score, sum);
        let mut seen: Vec<&str> = base.reasons.iter().map(|r| r.code.as_str()).collect();
        seen.sort_unstable();
        seen.dedup();
        prop_assert_eq!(seen.len(), base.reasons.len(), "codes are unique");
        let expected = if base.score >= reject_at {
            FraudDecision::Reject
        } else if base.score >= review_at {
            FraudDecision::Review
        } else {
            FraudDecision::Accept
        };
        prop_assert_eq!(base.decision, expected);

        let velocity = Velocity {
            customer: input.velocity.customer + more.0,
            card: input.velocity.card + more.1,
            address: input.velocity.address + more.2,
        };
        let faster = assess(&FraudInput { velocity, ..input.clone() }, &policy);
        prop_assert!(faster.score >= base.score, "{} < {}", faster.score, base.score);
        prop_assert_eq!(assess(&input, &policy), base, "deterministic");
    }
}
