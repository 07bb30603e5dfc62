//! The checkout saga's rules without tokio: step order, repeats, compensation, fraud verdicts.

use bazaar_entity::{Ctx, Entity, EntityKey};

use super::*;
use crate::fraud::{FraudDecision, FraudReason};
use crate::money::Money;

fn eur() -> crate::Currency {
    crate::Currency::parse("EUR").unwrap()
}

const ID: &str = "t/alice/key-1";

fn key() -> EntityKey {
    EntityKey::new(kinds::CHECKOUT, ID)
}

fn request(fingerprint: u8) -> CheckoutRequest {
    CheckoutRequest {
        customer: CustomerId::parse("alice").unwrap(),
        cart: "c-1".into(),
        ship_to: ShipTo {
            country: CountryCode::parse("DE").unwrap(),
            postal_code: "10115".into(),
            city: "Berlin".into(),
            line1: "Invalidenstr. 1".into(),
            name: "Alice".into(),
        },
        bill_country: CountryCode::parse("DE").unwrap(),
        card: "tok_visa".into(),
        coupons: Vec::new(),
        fingerprint: [fingerprint; 32],
    }
}

fn run(
    checkout: &mut Checkout,
    command: CheckoutCommand,
) -> Result<CheckoutReply, CheckoutRejection> {
    let key = key();
    let (events, reply) = checkout.decide(command, &Ctx { now_ms: 1_000, key: &key })?;
    events.iter().for_each(|event| checkout.apply(event));
    Ok(reply)
}

fn record(checkout: &mut Checkout, outcome: Outcome) -> Result<CheckoutReply, CheckoutRejection> {
    run(checkout, CheckoutCommand::Record(outcome))
}

fn priced() -> Outcome {
    Outcome::Priced(Box::new(Priced {
        currency: eur(),
        items: Vec::new(),
        totals: crate::pricing::CartTotals {
            subtotal: Money::new(1_000, eur()),
            discount: Money::new(0, eur()),
            shipping: Money::new(0, eur()),
            shipping_discount: Money::new(0, eur()),
            net: Money::new(1_000, eur()),
            vat: Money::new(190, eur()),
            total: Money::new(1_190, eur()),
        },
        promotions: Vec::new(),
        redeemed: Vec::new(),
    }))
}

fn scored(decision: FraudDecision) -> Outcome {
    let reasons = vec![FraudReason { code: "velocity_customer".into(), points: 90 }];
    Outcome::Scored { assessment: FraudAssessment { score: 90, decision, reasons } }
}

fn authorized() -> Outcome {
    let authorization = Authorization {
        psp: "primary".into(),
        id: "auth_1".into(),
        key: "o-1".into(),
        amount: Money::new(1_190, eur()),
    };
    Outcome::Authorized { authorization, capture: CapturePolicy::AtPlacement }
}

fn failure(step: Step, code: FailureCode) -> Outcome {
    Outcome::Failed(Failure { step, code, detail: String::new() })
}

fn begun() -> Checkout {
    let mut checkout = Checkout::default();
    let reply = run(&mut checkout, CheckoutCommand::Begin(Box::new(request(1)))).unwrap();
    assert!(reply.began);
    checkout
}

#[test]
fn the_same_key_meets_the_same_saga_and_another_request_is_refused() {
    let mut checkout = begun();
    let again = run(&mut checkout, CheckoutCommand::Begin(Box::new(request(1)))).unwrap();
    assert!(!again.began);
    assert_eq!(
        again.checkout.order,
        OrderId::for_checkout(ID),
        "the order id derives from the key"
    );
    let other = run(&mut checkout, CheckoutCommand::Begin(Box::new(request(2))));
    assert_eq!(other.unwrap_err(), CheckoutRejection::KeyReused);
    assert_eq!(Checkout::default().next_step(), Step::Done, "nothing to run before Begin");
}

#[test]
fn forward_steps_run_in_order_and_complete() {
    let mut checkout = begun();
    let outcomes = [
        (Step::Price, priced()),
        (Step::Reserve, Outcome::Reserved { held: Vec::new() }),
        (Step::Score, scored(FraudDecision::Accept)),
        (Step::Authorize, authorized()),
        (Step::Place, Outcome::Placed),
        (Step::Commit, Outcome::Committed),
        (Step::Plan, Outcome::Planned),
    ];
    for (step, outcome) in outcomes {
        assert_eq!(checkout.next_step(), step);
        let reply = record(&mut checkout, outcome).unwrap();
        assert!(!reply.began);
    }
    assert_eq!(checkout.next_step(), Step::Done);
    let view = checkout.view().unwrap();
    assert_eq!(view.status, CheckoutStatus::Completed);
    assert_eq!(view.finished_at_ms, Some(1_000));
    assert_eq!(view.totals.unwrap().total, Money::new(1_190, eur()));
}

#[test]
fn an_outcome_out_of_order_is_refused_and_a_repeat_answers_from_state() {
    let mut checkout = begun();
    let refused = record(&mut checkout, Outcome::Placed).unwrap_err();
    assert_eq!(refused, CheckoutRejection::OutOfOrder { expected: Step::Price, got: Step::Place });
    record(&mut checkout, priced()).unwrap();
    let before = checkout.clone();
    record(&mut checkout, priced()).unwrap();
    assert_eq!(checkout, before, "a second runner's repeat changes nothing");
}

#[test]
fn a_failure_compensates_in_reverse_and_ends_failed() {
    let mut checkout = begun();
    record(&mut checkout, priced()).unwrap();
    record(&mut checkout, Outcome::Reserved { held: vec![held()] }).unwrap();
    record(&mut checkout, scored(FraudDecision::Accept)).unwrap();
    record(&mut checkout, authorized()).unwrap();
    record(&mut checkout, Outcome::Placed).unwrap();
    record(&mut checkout, failure(Step::Commit, FailureCode::ReservationExpired)).unwrap();
    let compensations = [
        (Step::CancelOrder, Outcome::OrderCancelled),
        (Step::Void, Outcome::Voided),
        (Step::Release, Outcome::Released),
    ];
    for (step, outcome) in compensations {
        assert_eq!(checkout.next_step(), step);
        assert!(matches!(checkout.view().unwrap().status, CheckoutStatus::Running { .. }));
        record(&mut checkout, outcome).unwrap();
    }
    assert_eq!(checkout.next_step(), Step::Done, "nothing was redeemed: no unredeem");
    let CheckoutStatus::Failed(failure) = checkout.view().unwrap().status else {
        panic!("failed");
    };
    assert_eq!((failure.step, failure.code.code()), (Step::Commit, "reservation_expired"));
    let refused = record(&mut checkout, Outcome::Committed).unwrap_err();
    assert!(
        matches!(refused, CheckoutRejection::OutOfOrder { .. }),
        "no forward step after a failure"
    );
}

#[test]
fn a_declined_payment_voids_by_key_and_releases() {
    let mut checkout = begun();
    record(&mut checkout, priced()).unwrap();
    record(&mut checkout, Outcome::Reserved { held: vec![held()] }).unwrap();
    record(&mut checkout, scored(FraudDecision::Accept)).unwrap();
    record(&mut checkout, failure(Step::Authorize, FailureCode::PaymentUnavailable)).unwrap();
    assert_eq!(checkout.next_step(), Step::Void, "a provider may hold it after a time-out");
    record(&mut checkout, Outcome::Voided).unwrap();
    assert_eq!(checkout.next_step(), Step::Release);
}

#[test]
fn a_rejecting_fraud_score_fails_the_saga_in_the_same_batch() {
    let mut checkout = begun();
    record(&mut checkout, priced()).unwrap();
    record(&mut checkout, Outcome::Reserved { held: vec![held()] }).unwrap();
    let reply = record(&mut checkout, scored(FraudDecision::Reject)).unwrap();
    let failure = reply.checkout.failure.unwrap();
    assert_eq!((failure.step, failure.code), (Step::Score, FailureCode::FraudRejected));
    assert!(failure.detail.contains("velocity_customer"), "{}", failure.detail);
    assert_eq!(checkout.next_step(), Step::Release, "no payment was attempted");
}

#[test]
fn a_review_score_goes_on() {
    let mut checkout = begun();
    record(&mut checkout, priced()).unwrap();
    record(&mut checkout, Outcome::Reserved { held: Vec::new() }).unwrap();
    record(&mut checkout, scored(FraudDecision::Review)).unwrap();
    assert_eq!(checkout.next_step(), Step::Authorize);
}

fn held() -> Held {
    Held {
        asin: crate::Asin::parse("B000000001").unwrap(),
        seller: crate::SellerId::parse("acme").unwrap(),
        sku: crate::Sku::parse("SKU-1").unwrap(),
        location: crate::LocationCode::parse("FRA1").unwrap(),
        quantity: crate::Quantity::new(1).unwrap(),
        reservation_id: crate::ReservationId::parse("o-1.0").unwrap(),
        expires_at_ms: 2_000,
    }
}

#[test]
fn a_void_no_provider_answers_is_deferred_and_the_stock_still_released() {
    let mut checkout = begun();
    record(&mut checkout, priced()).unwrap();
    record(&mut checkout, Outcome::Reserved { held: vec![held()] }).unwrap();
    record(&mut checkout, scored(FraudDecision::Accept)).unwrap();
    record(&mut checkout, failure(Step::Authorize, FailureCode::PaymentUnavailable)).unwrap();
    record(&mut checkout, Outcome::VoidDeferred).unwrap();
    assert_eq!(checkout.next_step(), Step::Release, "an outage never holds stock hostage");
    record(&mut checkout, Outcome::Released).unwrap();
    assert_eq!(checkout.next_step(), Step::Done);
    assert!(matches!(checkout.view().unwrap().status, CheckoutStatus::Failed(_)));
}
