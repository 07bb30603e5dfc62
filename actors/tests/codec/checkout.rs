//! The checkout saga and the worklists survive the journal's codec, and the positions of
//! their variants (what the codec records) are pinned: a saga journaled by one release must
//! resume under the next. Replies (the view and the [`NextStep`]) are never journaled, so
//! their positions are not pinned; they must only survive the codec, which the engine's
//! transport uses between nodes.

use bazaar_actors::checkout::{
    Challenge, Checkout, CheckoutCommand, CheckoutRejection, CheckoutRequest, Failure, FailureCode,
    NextStep, Outcome, Placement, Priced, Step,
};
use bazaar_actors::fraud::{FraudAssessment, FraudDecision};
use bazaar_actors::inventory::Held;
use bazaar_actors::order::CapturePolicy;
use bazaar_actors::payment::Authorization;
use bazaar_actors::pricing::CartTotals;
use bazaar_actors::promotion::PromotionId;
use bazaar_actors::worklist::{Worklist, WorklistCommand, WorklistEvent, WorklistRejection};
use bazaar_actors::{Asin, CountryCode, Currency, CustomerId, LocationCode, SellerId, Sku, kinds};
use bazaar_entity::Entity;
use bazaar_persistence::codec;

use crate::support::{eur, pin_positions, qty, rid, round_trip, run, ship_to};

fn request() -> CheckoutRequest {
    CheckoutRequest {
        customer: CustomerId::parse("c1").unwrap(),
        cart: "c-1".into(),
        ship_to: ship_to(),
        bill_country: CountryCode::parse("FR").unwrap(),
        card: "tok_visa".into(),
        coupons: Vec::new(),
        fingerprint: [7; 32],
    }
}

fn priced() -> Priced {
    Priced {
        currency: Currency::EUR,
        items: Vec::new(),
        totals: CartTotals {
            subtotal: eur(1_000),
            discount: eur(0),
            shipping: eur(0),
            shipping_discount: eur(0),
            net: eur(1_000),
            vat: eur(190),
            total: eur(1_190),
        },
        promotions: Vec::new(),
        redeemed: Vec::new(),
    }
}

fn held() -> Held {
    Held {
        asin: Asin::parse("B000000001").unwrap(),
        seller: SellerId::parse("s1").unwrap(),
        sku: Sku::parse("SKU-1").unwrap(),
        location: LocationCode::parse("FRA1").unwrap(),
        quantity: qty(1),
        reservation_id: rid("o-1.0"),
        expires_at_ms: 9_000,
    }
}

fn authorization() -> Authorization {
    Authorization {
        psp: "primary".into(),
        id: "auth_1".into(),
        key: "o-1".into(),
        amount: eur(1_190),
    }
}

#[test]
fn a_whole_saga_survives_the_codec() {
    let record = |outcome| CheckoutCommand::Record(vec![outcome]);
    let (saga, _) = run::<Checkout>(
        "eu/c1/key-1",
        vec![
            CheckoutCommand::Begin(Box::new(request())),
            record(Outcome::Priced(Box::new(priced()))),
            record(Outcome::Reserved { held: vec![held()] }),
            record(Outcome::Scored { assessment: FraudAssessment::clean() }),
            record(Outcome::Authorized {
                authorization: authorization(),
                capture: CapturePolicy::AtShipment,
            }),
            record(Outcome::Placed),
            record(Outcome::Planned),
            record(Outcome::Failed(Failure {
                step: Step::Commit,
                code: FailureCode::ReservationExpired,
                detail: "late".into(),
            })),
            record(Outcome::OrderCancelled),
            record(Outcome::VoidDeferred),
            record(Outcome::Released),
            CheckoutCommand::Get,
        ],
    );
    assert_eq!(saga.next_step(), Step::Done);
    assert_eq!(Checkout::KIND, kinds::CHECKOUT);
}

fn challenge() -> Challenge {
    let url = "http://psp/v1/challenges/chl_1".to_string();
    Challenge { psp: "psp-a".into(), id: "chl_1".into(), url, expires_at_ms: 9_000 }
}

#[test]
fn a_challenged_saga_survives_the_codec_and_older_snapshots_decode() {
    let record = |outcome| CheckoutCommand::Record(vec![outcome]);
    let (saga, _) = run::<Checkout>(
        "eu/c1/key-2",
        vec![
            CheckoutCommand::Begin(Box::new(request())),
            record(Outcome::Priced(Box::new(priced()))),
            record(Outcome::Reserved { held: vec![held()] }),
            record(Outcome::Scored { assessment: FraudAssessment::clean() }),
            record(Outcome::ChallengeRequired { challenge: challenge() }),
            CheckoutCommand::AnswerChallenge,
            CheckoutCommand::Get,
        ],
    );
    assert_eq!(saga.next_step(), Step::Authorize);
    // A snapshot written before challenges existed ends before the challenge (none).
    let (legacy, _) = run::<Checkout>(
        "eu/c1/key-3",
        vec![CheckoutCommand::Begin(Box::new(request())), CheckoutCommand::Get],
    );
    let record = codec::encode(&legacy).expect("encodes");
    let payload = record.payload();
    assert!(payload.ends_with(&[0]), "the last field is the challenge (none)");
    let old: Checkout = codec::decode_payload(&payload[..payload.len() - 1]).expect("decodes");
    assert_eq!(old, legacy);
}

#[test]
fn every_next_step_crosses_the_transport() {
    let placement = Placement {
        priced: priced(),
        held: vec![held()],
        authorization: authorization(),
        capture: CapturePolicy::AtPlacement,
        fraud: FraudAssessment::clean(),
    };
    let steps = [
        NextStep::Price,
        NextStep::Reserve { items: priced().items },
        NextStep::Score { priced: Box::new(priced()) },
        NextStep::Authorize {
            total: eur(1_190),
            fraud: FraudDecision::Review,
            prefer: Some("psp-a".into()),
        },
        NextStep::Place(Box::new(placement)),
        NextStep::Commit { held: vec![held()] },
        NextStep::Plan { held: vec![held()] },
        NextStep::CancelOrder { reason: FailureCode::ReservationExpired },
        NextStep::Void { authorized: true },
        NextStep::Release { held: vec![held()] },
        NextStep::Unredeem { promotions: vec![PromotionId::parse("summer").unwrap()] },
        NextStep::AwaitChallenge { challenge: challenge() },
    ];
    for step in &steps {
        round_trip(step);
    }
    round_trip(&None::<NextStep>);
}

#[test]
fn checkout_variants_keep_their_positions() {
    let failure =
        Failure { step: Step::Price, code: FailureCode::CartEmpty, detail: String::new() };
    pin_positions(&[
        Outcome::Priced(Box::new(priced())),
        Outcome::Reserved { held: Vec::new() },
        Outcome::Scored { assessment: FraudAssessment::clean() },
        Outcome::Authorized { authorization: authorization(), capture: CapturePolicy::AtPlacement },
        Outcome::Placed,
        Outcome::Committed,
        Outcome::Planned,
        Outcome::Failed(failure),
        Outcome::OrderCancelled,
        Outcome::Voided,
        Outcome::Released,
        Outcome::Unredeemed,
        Outcome::VoidDeferred,
        Outcome::PlacedAndPlanned,
        Outcome::ChallengeRequired { challenge: challenge() },
        Outcome::ChallengeAnswered,
    ]);
    pin_positions(&[
        Step::Price,
        Step::Reserve,
        Step::Score,
        Step::Authorize,
        Step::Place,
        Step::Commit,
        Step::Plan,
        Step::CancelOrder,
        Step::Void,
        Step::Release,
        Step::Unredeem,
        Step::Done,
    ]);
    pin_positions(&[
        FailureCode::CartNotFound,
        FailureCode::CartEmpty,
        FailureCode::LineUnavailable,
        FailureCode::PriceChanged,
        FailureCode::PricingRefused,
        FailureCode::OutOfStock,
        FailureCode::FraudRejected,
        FailureCode::PaymentDeclined,
        FailureCode::PaymentUnavailable,
        FailureCode::ReservationExpired,
        FailureCode::OrderRefused,
        FailureCode::ChallengeAbandoned,
    ]);
    pin_positions(&[
        CheckoutRejection::UnknownCheckout,
        CheckoutRejection::KeyReused,
        CheckoutRejection::OutOfOrder { expected: Step::Price, got: Step::Place },
        CheckoutRejection::NoChallenge,
    ]);
}

#[test]
fn worklists_survive_the_codec() {
    run::<Worklist>(
        "checkout/03",
        vec![
            WorklistCommand::Add { item: "eu/c1/key-1".into() },
            WorklistCommand::Add { item: "eu/c2/key-9".into() },
            WorklistCommand::Remove { item: "eu/c1/key-1".into() },
            WorklistCommand::List,
        ],
    );
    pin_positions(&[
        WorklistEvent::Added { item: "a".into() },
        WorklistEvent::Removed { item: "a".into() },
    ]);
    pin_positions(&[WorklistRejection::Full { max: 1 }, WorklistRejection::ItemInvalid { max: 1 }]);
    assert_eq!(Worklist::KIND, kinds::WORKLIST);
}
