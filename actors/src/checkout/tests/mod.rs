//! The checkout saga's rules without tokio: step order, what each step is given, repeats,
//! compensation, fraud verdicts.

use bazaar_entity::{Ctx, Entity, EntityKey};

use super::*;
use crate::fraud::{FraudDecision, FraudReason};
use crate::money::Money;
use crate::pricing::PricedLine;
use crate::promotion::PromotionId;

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
    run(checkout, CheckoutCommand::Record(vec![outcome]))
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

/// The index row of the saga [`begun`] while it runs.
fn saga_row() -> crate::index::Row {
    crate::index::saga_row(ID, 1_000)
}

fn begun() -> Checkout {
    let mut checkout = Checkout::default();
    let reply = run(&mut checkout, CheckoutCommand::Begin(Box::new(request(1)))).unwrap();
    assert!(reply.began);
    checkout
}

/// Begun, priced, `held` reserved and the fraud score accepted: next, the authorization.
fn accepted(held: Vec<Held>) -> Checkout {
    let mut checkout = begun();
    for outcome in [priced(), Outcome::Reserved { held }, scored(FraudDecision::Accept)] {
        record(&mut checkout, outcome).unwrap();
    }
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
    assert_eq!(Checkout::default().index_rows(ID), [], "nothing to resume before Begin");
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
        (Step::Plan, Outcome::Planned),
        (Step::Commit, Outcome::Committed),
    ];
    for (step, outcome) in outcomes {
        assert_eq!(checkout.next_step(), step);
        assert!(!checkout.at_rest(), "running");
        assert_eq!(checkout.index_rows(ID), [saga_row()], "listed for a start to resume");
        let reply = record(&mut checkout, outcome).unwrap();
        assert!(!reply.began);
    }
    assert_eq!(checkout.next_step(), Step::Done);
    assert!(checkout.at_rest(), "completed");
    assert_eq!(checkout.index_rows(ID), [], "finished: nothing to resume");
    let view = checkout.view().unwrap();
    assert_eq!(view.status, CheckoutStatus::Completed);
    assert_eq!(view.finished_at_ms, Some(1_000));
    assert_eq!(view.totals.unwrap().total, Money::new(1_190, eur()));
}

#[test]
fn a_placement_with_its_plan_leaves_no_plan_step() {
    let mut checkout = accepted(Vec::new());
    record(&mut checkout, authorized()).unwrap();
    assert_eq!(checkout.next_step(), Step::Place);
    record(&mut checkout, Outcome::PlacedAndPlanned).unwrap();
    assert_eq!(checkout.next_step(), Step::Commit, "planned with the placement");
    let repeat = record(&mut checkout, Outcome::PlacedAndPlanned).unwrap();
    assert_eq!(repeat.checkout.status, CheckoutStatus::Running { step: Step::Commit });
    record(&mut checkout, Outcome::Committed).unwrap();
    assert_eq!(checkout.view().unwrap().status, CheckoutStatus::Completed);
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
    let mut checkout = accepted(vec![held()]);
    record(&mut checkout, authorized()).unwrap();
    record(&mut checkout, Outcome::Placed).unwrap();
    record(&mut checkout, Outcome::Planned).unwrap();
    record(&mut checkout, failure(Step::Commit, FailureCode::ReservationExpired)).unwrap();
    let compensations = [
        (Step::CancelOrder, Outcome::OrderCancelled),
        (Step::Void, Outcome::Voided),
        (Step::Release, Outcome::Released),
    ];
    for (step, outcome) in compensations {
        assert_eq!(checkout.next_step(), step);
        assert!(matches!(checkout.view().unwrap().status, CheckoutStatus::Running { .. }));
        assert!(!checkout.at_rest(), "compensating");
        assert_eq!(checkout.index_rows(ID), [saga_row()], "listed for a start to resume");
        record(&mut checkout, outcome).unwrap();
    }
    assert_eq!(checkout.next_step(), Step::Done, "nothing was redeemed: no unredeem");
    assert!(checkout.at_rest(), "failed and compensated");
    assert_eq!(checkout.index_rows(ID), [], "finished: nothing to resume");
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
    let mut checkout = accepted(vec![held()]);
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
    let mut checkout = accepted(vec![held()]);
    record(&mut checkout, failure(Step::Authorize, FailureCode::PaymentUnavailable)).unwrap();
    record(&mut checkout, Outcome::VoidDeferred).unwrap();
    assert_eq!(checkout.next_step(), Step::Release, "an outage never holds stock hostage");
    record(&mut checkout, Outcome::Released).unwrap();
    assert_eq!(checkout.next_step(), Step::Done);
    assert!(matches!(checkout.view().unwrap().status, CheckoutStatus::Failed(_)));
}

fn item() -> PricedItem {
    let euros = |minor| Money::new(minor, eur());
    let line = PricedLine {
        asin: crate::Asin::parse("B000000001").unwrap(),
        seller: crate::SellerId::parse("acme").unwrap(),
        tax_class: crate::product::TaxClass::Standard,
        unit_price: euros(1_000),
        quantity: crate::Quantity::new(1).unwrap(),
        subtotal: euros(1_000),
        discounts: Vec::new(),
        discount: euros(0),
        shipping: euros(0),
        shipping_waiver: None,
        shipping_discount: euros(0),
        net: euros(1_000),
        vat_rate_bps: 1_900,
        vat: euros(190),
        total: euros(1_190),
    };
    PricedItem { line, sku: crate::Sku::parse("SKU-1").unwrap(), handling_days: 1 }
}

/// A priced cart of one item, with one promotion redeemed for the order.
fn priced_with_item() -> Priced {
    let Outcome::Priced(priced) = priced() else { unreachable!("priced() prices") };
    let redeemed = vec![PromotionId::parse("summer").unwrap()];
    Priced { items: vec![item()], redeemed, ..*priced }
}

/// Records `outcome` and checks the reply carries what the saga now says comes next.
fn next_after(checkout: &mut Checkout, outcome: Outcome) -> Option<NextStep> {
    let reply = record(checkout, outcome).unwrap();
    assert_eq!(*reply.saga, *checkout, "every reply carries the saga as recorded");
    assert_eq!(reply.saga.request(), Some(&request(1)));
    reply.saga.next()
}

#[test]
fn each_forward_step_carries_what_it_reads() {
    let mut checkout = begun();
    assert_eq!(checkout.next(), Some(NextStep::Price));
    let priced = priced_with_item();
    let next = next_after(&mut checkout, Outcome::Priced(Box::new(priced.clone())));
    assert_eq!(next, Some(NextStep::Reserve { items: vec![item()] }));
    let next = next_after(&mut checkout, Outcome::Reserved { held: vec![held()] });
    assert_eq!(next, Some(NextStep::Score { priced: Box::new(priced.clone()) }));
    let next = next_after(&mut checkout, scored(FraudDecision::Review));
    let total = Money::new(1_190, eur());
    let prefer = None;
    assert_eq!(next, Some(NextStep::Authorize { total, fraud: FraudDecision::Review, prefer }));
    let Some(NextStep::Place(placement)) = next_after(&mut checkout, authorized()) else {
        panic!("place is next");
    };
    let Outcome::Authorized { authorization, capture } = authorized() else { unreachable!() };
    let Outcome::Scored { assessment } = scored(FraudDecision::Review) else { unreachable!() };
    let expected =
        Placement { priced, held: vec![held()], authorization, capture, fraud: assessment };
    assert_eq!(*placement, expected);
    assert_eq!(
        next_after(&mut checkout, Outcome::Placed),
        Some(NextStep::Plan { held: vec![held()] })
    );
    let next = next_after(&mut checkout, Outcome::Planned);
    assert_eq!(next, Some(NextStep::Commit { held: vec![held()] }));
    assert!(!checkout.view().unwrap().committed);
    assert_eq!(next_after(&mut checkout, Outcome::Committed), None);
    assert!(checkout.view().unwrap().committed, "the holds are sold");
    assert_eq!(checkout.next_step(), Step::Done);
}

#[test]
fn each_compensation_carries_what_it_undoes() {
    let mut checkout = begun();
    record(&mut checkout, Outcome::Priced(Box::new(priced_with_item()))).unwrap();
    record(&mut checkout, Outcome::Reserved { held: vec![held()] }).unwrap();
    record(&mut checkout, scored(FraudDecision::Accept)).unwrap();
    record(&mut checkout, authorized()).unwrap();
    record(&mut checkout, Outcome::Placed).unwrap();
    record(&mut checkout, Outcome::Planned).unwrap();
    let expired = failure(Step::Commit, FailureCode::ReservationExpired);
    let next = next_after(&mut checkout, expired);
    assert_eq!(next, Some(NextStep::CancelOrder { reason: FailureCode::ReservationExpired }));
    let next = next_after(&mut checkout, Outcome::OrderCancelled);
    assert_eq!(next, Some(NextStep::Void { authorized: true }), "the order records the void");
    let next = next_after(&mut checkout, Outcome::Voided);
    assert_eq!(next, Some(NextStep::Release { held: vec![held()] }));
    let next = next_after(&mut checkout, Outcome::Released);
    let promotions = vec![PromotionId::parse("summer").unwrap()];
    assert_eq!(next, Some(NextStep::Unredeem { promotions }));
    assert_eq!(next_after(&mut checkout, Outcome::Unredeemed), None);
    assert!(matches!(checkout.view().unwrap().status, CheckoutStatus::Failed(_)));
}

#[test]
fn a_void_after_a_lost_authorization_has_no_order_to_tell() {
    let mut checkout = accepted(Vec::new());
    let unavailable = failure(Step::Authorize, FailureCode::PaymentUnavailable);
    assert_eq!(next_after(&mut checkout, unavailable), Some(NextStep::Void { authorized: false }));
    assert_eq!(next_after(&mut checkout, Outcome::Voided), None, "nothing held, nothing redeemed");
}

#[test]
fn nothing_is_next_before_begin_nor_after_the_end() {
    assert_eq!(Checkout::default().next(), None);
    let mut checkout = begun();
    record(&mut checkout, failure(Step::Price, FailureCode::CartEmpty)).unwrap();
    assert_eq!(checkout.next(), None, "a failed price step left nothing to undo");
    let reply = run(&mut checkout, CheckoutCommand::Get).unwrap();
    assert_eq!(reply.saga.next(), None);
}

#[test]
fn a_plan_the_order_refuses_fails_the_saga_before_anything_is_sold() {
    let mut checkout = accepted(vec![held()]);
    record(&mut checkout, authorized()).unwrap();
    record(&mut checkout, Outcome::Placed).unwrap();
    let refused = failure(Step::Plan, FailureCode::OrderRefused);
    let next = next_after(&mut checkout, refused);
    assert_eq!(next, Some(NextStep::CancelOrder { reason: FailureCode::OrderRefused }));
    assert!(!checkout.view().unwrap().committed, "the cancelled order's restock sells nothing");
    assert_eq!(
        next_after(&mut checkout, Outcome::OrderCancelled),
        Some(NextStep::Void { authorized: true })
    );
    let next = next_after(&mut checkout, Outcome::Voided);
    assert_eq!(next, Some(NextStep::Release { held: vec![held()] }), "the holds go back");
}

mod challenges;

#[test]
fn outcomes_recorded_together_fold_as_recorded_one_by_one() {
    let outcomes =
        vec![priced(), Outcome::Reserved { held: vec![held()] }, scored(FraudDecision::Accept)];
    let (mut together, mut replica) = (begun(), begun());
    for outcome in &outcomes {
        replica.advance(outcome.clone(), 1_000).unwrap();
    }
    let reply = run(&mut together, CheckoutCommand::Record(outcomes.clone())).unwrap();
    assert_eq!(together, accepted(vec![held()]), "as three records");
    assert_eq!(replica, together, "the runner's replica reads the entity's rules");
    assert_eq!(*reply.saga, together);
    assert!(matches!(together.next(), Some(NextStep::Authorize { .. })));
    // A repeat of the whole batch (a second runner) answers from state.
    let key = key();
    let (events, _) = together
        .decide(CheckoutCommand::Record(outcomes), &Ctx { now_ms: 2_000, key: &key })
        .unwrap();
    assert!(events.is_empty());
}

#[test]
fn a_batch_with_an_outcome_out_of_order_records_none_of_it() {
    let mut checkout = begun();
    let skipping = vec![priced(), scored(FraudDecision::Accept)];
    assert_eq!(
        run(&mut checkout, CheckoutCommand::Record(skipping.clone())),
        Err(CheckoutRejection::OutOfOrder { expected: Step::Reserve, got: Step::Score })
    );
    assert_eq!(checkout, begun(), "the priced cart before it is not recorded either");
    let mut replica = begun();
    replica.advance(priced(), 1_000).unwrap();
    assert_eq!(
        replica.advance(scored(FraudDecision::Accept), 1_000),
        Err(CheckoutRejection::OutOfOrder { expected: Step::Reserve, got: Step::Score })
    );
}

#[test]
fn a_rejecting_score_in_a_batch_fails_the_saga_and_refuses_what_follows() {
    let mut checkout = begun();
    let rejected =
        vec![priced(), Outcome::Reserved { held: vec![held()] }, scored(FraudDecision::Reject)];
    let mut batch = rejected.clone();
    batch.push(authorized());
    assert!(matches!(
        run(&mut checkout, CheckoutCommand::Record(batch)),
        Err(CheckoutRejection::OutOfOrder { got: Step::Authorize, .. })
    ));
    let reply = run(&mut checkout, CheckoutCommand::Record(rejected)).unwrap();
    assert_eq!(reply.checkout.failure.map(|f| f.code), Some(FailureCode::FraudRejected));
    assert_eq!(checkout.next(), Some(NextStep::Release { held: vec![held()] }));
}
