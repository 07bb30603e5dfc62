//! The selling side survives the codec: promotion, the priced cart and the order, with the
//! variants of their events, rejections, statuses and errors pinned to their positions.

use bazaar_actors::fraud::FraudAssessment;
use bazaar_actors::order::appeasements::Appeasement;
use bazaar_actors::order::promise::{DeliveryPlan, DeliveryTerms};
use bazaar_actors::order::returns::{
    LineShares, RequestedReturn, ReturnLabel, ReturnLine, ReturnReason, ReturnRequest, ReturnedLine,
};
use bazaar_actors::order::{
    CapturePolicy, NewOrder, Order, OrderCommand, OrderEvent, OrderId, OrderLine, OrderRejection,
    OrderStatus, PlacedOrder, PlannedShipment, entity_id,
};
use bazaar_actors::payment::{Authorization, Capture, Refund};
use bazaar_actors::pricing::{
    CartTotals, DeclineReason, Declined, PricingContext, PricingError, PricingInput, PricingLine,
    VatTable, price,
};
use bazaar_actors::product::TaxClass;
use bazaar_actors::promotion::{
    self, Benefit, CandidatePromotion, CouponCode, Promotion, PromotionCommand,
    PromotionDefinition, PromotionEvent, PromotionId, PromotionRejection, RedemptionLimits,
    RedemptionStatus, Scope, Window,
};
use bazaar_actors::{
    Asin, CountryCode, Currency, CustomerId, LocationCode, Rejection, SellerId, Sku, kinds,
};
use bazaar_entity::Entity;
use bazaar_persistence::codec;

use crate::support::{eur, pin_positions, pin_rejections, qty, round_trip, run, ship_to};

fn promotion_definition() -> PromotionDefinition {
    PromotionDefinition {
        benefit: Benefit::AmountOff { amount: eur(500) },
        window: Window { starts_ms: 0, ends_ms: 1_000_000 },
        coupon: Some(CouponCode::parse("FIVE").unwrap()),
        scope: Scope::Asins([Asin::parse("B000000001").unwrap()].into()),
        stackable: true,
        priority: 3,
        minimum: Some(eur(5_000)),
        limits: RedemptionLimits { total: 10, per_customer: 2 },
    }
}

#[test]
fn promotion_survives_the_codec() {
    let customer = CustomerId::parse("c1").unwrap();
    // The promotion's own order id, which is not the order aggregate's.
    let order = promotion::OrderId::parse("o1").unwrap();
    let commands = vec![
        PromotionCommand::Create { definition: promotion_definition() },
        PromotionCommand::Update { definition: promotion_definition() },
        PromotionCommand::Redeem { customer: customer.clone(), order_id: order.clone() },
        PromotionCommand::Unredeem { order_id: order.clone() },
        PromotionCommand::Unredeem { order_id: promotion::OrderId::parse("o2").unwrap() },
        PromotionCommand::Get,
        PromotionCommand::End,
    ];
    let (state, _) = run::<Promotion>("five", commands);
    round_trip(&state.candidate().unwrap());

    let events = [
        PromotionEvent::Created {
            id: PromotionId::parse("five").unwrap(),
            definition: promotion_definition(),
            at_ms: 1,
        },
        PromotionEvent::Updated { definition: promotion_definition(), at_ms: 1 },
        PromotionEvent::Ended { at_ms: 1 },
        PromotionEvent::Redeemed { order_id: order.clone(), customer: customer.clone(), at_ms: 1 },
        PromotionEvent::Unredeemed { order_id: order, customer: Some(customer), at_ms: 1 },
    ];
    let rejections = [
        PromotionRejection::UnknownPromotion,
        PromotionRejection::IdInvalid,
        PromotionRejection::AlreadyCreated,
        PromotionRejection::WindowInvalid,
        PromotionRejection::PercentInvalid { max_bps: 1 },
        PromotionRejection::AmountInvalid { max_minor: 1 },
        PromotionRejection::BuyGetInvalid { max: 1 },
        PromotionRejection::ScopeInvalid { asins_max: 1 },
        PromotionRejection::LimitsInvalid { total_max: 1 },
        PromotionRejection::CurrencyMismatch,
        PromotionRejection::Ended,
        PromotionRejection::NotStarted,
        PromotionRejection::Expired,
        PromotionRejection::TotalLimitReached { limit: 1 },
        PromotionRejection::CustomerLimitReached { limit: 1 },
        PromotionRejection::OrderConflict,
        PromotionRejection::RedemptionReversed,
        PromotionRejection::LimitBelowRedemptions { redeemed: 1 },
        PromotionRejection::TooManyOrders { max: 1 },
    ];
    pin_positions(&events);
    pin_rejections(&rejections);
    pin_positions(&[
        Benefit::PercentOff { bps: 1 },
        Benefit::AmountOff { amount: eur(1) },
        Benefit::BuyXGetY { buy: qty(1), get: qty(1) },
        Benefit::FreeShipping { threshold: eur(1) },
    ]);
    pin_positions(&[
        Scope::Marketplace,
        Scope::Seller(SellerId::parse("s1").unwrap()),
        Scope::Asins(Default::default()),
    ]);
    pin_positions(&[RedemptionStatus::Redeemed, RedemptionStatus::Reversed]);
    assert_eq!(Promotion::KIND, kinds::PROMOTION);
}

#[test]
fn a_priced_cart_survives_the_codec() {
    let de = CountryCode::parse("DE").unwrap();
    let vat = VatTable::from_rates([(de, TaxClass::Standard, 1_900)]).unwrap();
    round_trip(&vat);
    round_trip(&de);
    let lines = [PricingLine {
        asin: Asin::parse("B000000001").unwrap(),
        seller: SellerId::parse("s1").unwrap(),
        unit_price: eur(6_000),
        shipping: eur(100),
        quantity: qty(1),
        tax_class: TaxClass::Standard,
    }];
    round_trip(&lines[0]);
    let promotions = [CandidatePromotion {
        id: PromotionId::parse("five").unwrap(),
        definition: promotion_definition(),
    }];
    let coupons = [CouponCode::parse("FIVE").unwrap(), CouponCode::parse("NOPE").unwrap()];
    let context = PricingContext {
        destination: de,
        promotions: &promotions,
        coupons: &coupons,
        vat: &vat,
        now_ms: 5,
    };
    let priced = price(&PricingInput { currency: Currency::EUR, lines: &lines, context }).unwrap();
    assert_eq!(priced.totals.total, eur(6_664), "(6000 - 500 + 100) x 1.19");
    round_trip(&priced);

    let id = PromotionId::parse("p").unwrap();
    let reasons = [
        DeclineReason::NotStarted,
        DeclineReason::Expired,
        DeclineReason::CouponRequired,
        DeclineReason::CurrencyMismatch,
        DeclineReason::OutOfScope,
        DeclineReason::MinimumNotMet,
        DeclineReason::NotStackable,
        DeclineReason::NothingToDiscount,
    ];
    pin_positions(&reasons);
    pin_positions(&[
        Declined::Promotion { id: id.clone(), reason: DeclineReason::Expired },
        Declined::CodeUnknown { code: CouponCode::parse("X").unwrap() },
    ]);
    let errors = [
        PricingError::CurrencyMismatch { expected: Currency::EUR, found: Currency::USD },
        PricingError::AmountInvalid { max_minor: 1 },
        PricingError::QuantityTooLarge { max: 1 },
        PricingError::TooManyLines { max: 1 },
        PricingError::TooManyPromotions { max: 1 },
        PricingError::TooManyCoupons { max: 1 },
        PricingError::DuplicatePromotion { id: id.clone() },
        PricingError::PromotionInvalid { id },
        PricingError::NoVatRate { country: de, tax_class: TaxClass::Reduced },
        PricingError::Overflow,
    ];
    pin_positions(&errors);
}

fn new_order() -> NewOrder {
    let line = OrderLine {
        asin: Asin::parse("B000000001").unwrap(),
        seller: SellerId::parse("s1").unwrap(),
        sku: Sku::parse("SKU-1").unwrap(),
        location: LocationCode::parse("FRA1").unwrap(),
        quantity: qty(2),
        unit_price: eur(1_000),
        discount: eur(100),
        shipping: eur(0),
        net: eur(1_900),
        vat_rate_bps: 1_900,
        vat: eur(361),
        total: eur(2_261),
        handling_days: 2,
    };
    NewOrder {
        customer: CustomerId::parse("c1").unwrap(),
        checkout: "eu/c1/key-1".into(),
        currency: Currency::EUR,
        lines: vec![line],
        totals: CartTotals {
            subtotal: eur(2_000),
            discount: eur(100),
            shipping: eur(300),
            shipping_discount: eur(300),
            net: eur(1_900),
            vat: eur(361),
            total: eur(2_261),
        },
        promotions: Vec::new(),
        authorization: Authorization {
            psp: "psp-a".into(),
            id: "auth-1".into(),
            key: "o-key".into(),
            amount: eur(2_261),
        },
        capture: CapturePolicy::AtPlacement,
        commission_bps: 1_200,
        fraud: FraudAssessment::clean(),
        ship_to: ship_to(),
    }
}

#[test]
fn order_survives_the_codec() {
    let s1 = SellerId::parse("s1").unwrap();
    let capture =
        Capture { psp: "psp-a".into(), id: "cap-1".into(), key: "k".into(), amount: eur(2_261) };
    let refund =
        Refund { psp: "psp-a".into(), id: "ref-1".into(), key: "k".into(), amount: eur(261) };
    let commands = vec![
        OrderCommand::Place { order: Box::new(new_order()), plan: None },
        OrderCommand::PlanShipments {
            plan: DeliveryPlan {
                cutoff_hour_utc: 14,
                transit_days: 2,
                by_location: vec![(
                    LocationCode::parse("FRA1").unwrap(),
                    DeliveryTerms { transit_days: 1, cutoff_hour_utc: 16 },
                )],
            },
        },
        OrderCommand::RecordCapture { capture: capture.clone() },
        OrderCommand::Ship {
            shipment: 1,
            seller: s1.clone(),
            carrier: "dhl".into(),
            tracking: "t-1".into(),
        },
        OrderCommand::Deliver { shipment: 1 },
        OrderCommand::RecordRefund { refund: refund.clone() },
        OrderCommand::Get,
    ];
    round_trip(&OrderCommand::Cancel { reason: "r".into() });
    round_trip(&OrderCommand::RecordVoid);
    round_trip(&OrderCommand::RecordRestock);
    round_trip(&OrderCommand::RecordLineRestocked { line: 3 });
    let request = ReturnRequest {
        lines: vec![ReturnLine { line: 0, quantity: qty(1), window_days: 30 }],
        reason: ReturnReason::Defective,
        comment: "c".into(),
        auto_approve_up_to: Some(eur(1)),
        carrier: "returns-post".into(),
        returnless: true,
        request_id: Some("k-1".into()),
    };
    round_trip(&OrderCommand::RequestReturn { request: Box::new(request) });
    round_trip(&OrderCommand::DecideReturn { number: 1, approve: None, note: "n".into() });
    let sellable = vec![0];
    round_trip(&OrderCommand::ReceiveReturn { number: 1, seller: s1.clone(), sellable });
    round_trip(&OrderCommand::RecordReturnRefund { number: 1, refund: refund_of() });
    round_trip(&OrderCommand::RecordReturnRestocked { number: 1 });
    round_trip(&OrderCommand::RecordReturnLineRestocked { number: 1, line: 0 });
    let (amount, reason, by) = (eur(100), "late".to_string(), "agent".to_string());
    round_trip(&OrderCommand::Appease { amount, reason, by, request_id: "k-2".into() });
    round_trip(&OrderCommand::SettleReturn { number: 1 });
    round_trip(&OrderCommand::RecordAppeasementRefund { number: 1, refund: refund_of() });
    pin_positions(&ReturnReason::ALL);
    let id = OrderId::for_checkout("eu/c1/key-1");
    let (_, replies) = run::<Order>(&entity_id("eu", &id), commands);
    assert_eq!(replies.last().unwrap().order.status, OrderStatus::Delivered);

    let events = [
        OrderEvent::Placed(Box::new(PlacedOrder { id: id.clone(), order: new_order(), at_ms: 1 })),
        OrderEvent::ShipmentsPlanned {
            shipments: vec![PlannedShipment {
                number: 1,
                seller: s1.clone(),
                location: LocationCode::parse("FRA1").unwrap(),
                lines: vec![0],
                promised_by_ms: 9,
            }],
        },
        OrderEvent::PaymentCaptured { capture, at_ms: 1 },
        OrderEvent::ShipmentShipped {
            shipment: 1,
            carrier: "dhl".into(),
            tracking: "t".into(),
            at_ms: 1,
        },
        OrderEvent::ShipmentDelivered { shipment: 1, at_ms: 1 },
        OrderEvent::Cancelled { reason: "r".into(), at_ms: 1 },
        OrderEvent::PaymentVoided { at_ms: 1 },
        OrderEvent::PaymentRefunded { refund, at_ms: 1 },
        OrderEvent::Restocked { at_ms: 1 },
        OrderEvent::LineRestocked { line: 0, at_ms: 1 },
        OrderEvent::ReturnRequested(Box::new(requested_return())),
        OrderEvent::ReturnApproved {
            number: 1,
            label: Some(ReturnLabel {
                carrier: "returns-post".into(),
                tracking: "RMA-1".into(),
                to: LocationCode::parse("FRA1").unwrap(),
            }),
            by_rule: true,
            at_ms: 1,
        },
        OrderEvent::ReturnRejected { number: 1, note: "n".into(), at_ms: 1 },
        OrderEvent::ReturnReceived { number: 1, sellable: vec![1], at_ms: 1 },
        OrderEvent::ReturnRefunded { number: 1, refund: refund_of(), at_ms: 1 },
        OrderEvent::ReturnRestocked { number: 1, at_ms: 1 },
        OrderEvent::ReturnLineRestocked { number: 1, line: 0, at_ms: 1 },
        OrderEvent::Appeased(Box::new(appeasement())),
        OrderEvent::AppeasementRefunded { number: 1, refund: refund_of(), at_ms: 1 },
        OrderEvent::ReturnSettled { number: 1, at_ms: 1 },
    ];
    let rejections = [
        OrderRejection::UnknownOrder,
        OrderRejection::InvalidOrderId,
        OrderRejection::AlreadyPlaced,
        OrderRejection::NoLines,
        OrderRejection::TooManyLines { max: 1 },
        OrderRejection::CurrencyMismatch { expected: Currency::EUR },
        OrderRejection::AmountInvalid,
        OrderRejection::LineMismatch { line: 1 },
        OrderRejection::TotalsMismatch,
        OrderRejection::AuthorizationMismatch,
        OrderRejection::CommissionInvalid { max_bps: 1 },
        OrderRejection::LineInvalid { line: 1 },
        OrderRejection::TextInvalid { field: "f".into(), min_bytes: 0, max_bytes: 1 },
        OrderRejection::TooManyPromotions { max: 1 },
        OrderRejection::FraudRejected,
        OrderRejection::OrderCancelled,
        OrderRejection::OrderRefunded,
        OrderRejection::ShipmentsNotPlanned,
        OrderRejection::UnknownShipment,
        OrderRejection::AlreadyShipped,
        OrderRejection::NotShipped,
        OrderRejection::TooLateToCancel,
        OrderRejection::NotCancelled,
        OrderRejection::AlreadyCaptured,
        OrderRejection::AuthorizationVoided,
        OrderRejection::CaptureExceedsAuthorization { capturable: eur(1) },
        OrderRejection::CaptureConflict,
        OrderRejection::RefundExceedsCaptured { refundable: eur(1) },
        OrderRejection::RefundConflict,
        OrderRejection::PspMismatch,
        OrderRejection::TooManyCaptures { max: 1 },
        OrderRejection::TooManyRefunds { max: 1 },
        OrderRejection::UnknownReturn,
        OrderRejection::ReturnPending,
        OrderRejection::TooManyReturns { max: 1 },
        OrderRejection::ReturnLinesInvalid,
        OrderRejection::NotDelivered { line: 1 },
        OrderRejection::ReturnWindowClosed { line: 1 },
        OrderRejection::ReturnSpansShipments,
        OrderRejection::ReturnExceedsLine { line: 1, returnable: 1 },
        OrderRejection::ReturnAlreadyDecided,
        OrderRejection::ReturnNotApproved,
        OrderRejection::ReturnAlreadyReceived,
        OrderRejection::ReturnNotReceived,
        OrderRejection::UnknownAppeasement,
        OrderRejection::TooManyAppeasements { max: 1 },
        OrderRejection::AppeasementConflict,
    ];
    pin_positions(&events);
    pin_rejections(&rejections);
    let mut codes: Vec<&str> = rejections.iter().map(|rejection| rejection.code()).collect();
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), rejections.len(), "every order rejection has its own code");
    pin_positions(&[
        OrderStatus::Placed,
        OrderStatus::PartlyShipped,
        OrderStatus::Shipped,
        OrderStatus::Delivered,
        OrderStatus::Cancelled,
        OrderStatus::Refunded,
    ]);
    pin_positions(&[CapturePolicy::AtPlacement, CapturePolicy::AtShipment]);
    assert_eq!(Order::KIND, kinds::ORDER);
    // An order id is only ever the canonical spelling.
    let bad = codec::encode("o-1").unwrap();
    assert!(codec::decode::<OrderId>(bad.as_bytes()).is_err());
}

fn refund_of() -> Refund {
    Refund { psp: "psp-a".into(), id: "ref-2".into(), key: "k2".into(), amount: eur(100) }
}

fn appeasement() -> Appeasement {
    Appeasement {
        number: 1,
        amount: eur(100),
        reason: "late".into(),
        by: "agent".into(),
        request_id: "k-2".into(),
        at_ms: 1,
        refund: None,
        refunded_at_ms: None,
    }
}

fn requested_return() -> RequestedReturn {
    let shares = LineShares { vat: 16, commission: 10, payable: 74 };
    RequestedReturn {
        number: 1,
        shipment: 1,
        seller: SellerId::parse("s1").unwrap(),
        lines: vec![ReturnedLine { line: 0, quantity: 1, after: 0, shares }],
        reason: ReturnReason::Damaged,
        comment: String::new(),
        amount: eur(100),
        returnless: false,
        request_id: None,
        at_ms: 1,
    }
}

/// An order snapshot written before returns existed (it ends before `returns`), before
/// appeasements did, or before the timeline did, still decodes, with none.
#[test]
fn an_order_snapshot_from_before_returns_appeasements_or_the_timeline_decodes() {
    let id = OrderId::for_checkout("eu/c1/key-1");
    let mut placed = Order::default();
    placed.apply(&OrderEvent::Placed(Box::new(PlacedOrder { id, order: new_order(), at_ms: 1 })));
    let view = placed.view().expect("placed").clone();
    assert_eq!(view.timeline.len(), 1, "placing is the first notice");
    let record = codec::encode(&placed).expect("encodes");
    let payload = record.payload();
    // The fields added since the timeline end the snapshot (the timeline, `published`, the
    // tracking, the chargeback and the cancelling seller, none); before them, no
    // appeasements, no returns and no restocked lines.
    assert!(payload.ends_with(&[0]), "no seller cancelled it");
    let before_seller: Order =
        codec::decode_payload(&payload[..payload.len() - 1]).expect("decodes");
    assert_eq!(before_seller, placed, "a snapshot from before sellers cancelled");
    let since = (
        &view.timeline,
        view.published,
        &view.tracking,
        &view.chargeback,
        &view.cancelled_by_seller,
    );
    let since = codec::encode(&since).expect("encodes").payload().len();
    let before_timeline = &payload[..payload.len() - since];
    assert!(before_timeline.ends_with(&[0, 0, 0]), "restocked lines, returns, appeasements");
    let legacy = bazaar_actors::order::OrderView { timeline: Vec::new(), published: 0, ..view };
    // (A placed order has no tracking and no chargeback: the legacy view's defaults.)
    for older in 0..=2 {
        let shape = &before_timeline[..before_timeline.len() - older];
        let old: Order = codec::decode_payload(shape).expect("decodes");
        assert_eq!(old.view(), Some(&legacy));
    }
    let mut returned = placed.clone();
    returned.apply(&OrderEvent::ReturnRequested(Box::new(requested_return())));
    returned.apply(&OrderEvent::Appeased(Box::new(appeasement())));
    returned.apply(&OrderEvent::Published { through: 2 });
    round_trip(&returned);
    assert!(codec::decode_payload::<Order>(&before_timeline[..before_timeline.len() - 3]).is_err());
}
