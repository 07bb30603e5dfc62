//! Order rules, one at a time: given events, when a command, then events or a rejection.

use super::fixtures::{self, capture, eur, key, order, refund, seller};
use super::*;
use crate::fraud::FraudDecision;
use crate::testing::Harness;

fn placed() -> Harness<Order> {
    let mut harness = Harness::<Order>::new(&key());
    harness.now_ms = 1_000;
    harness.run(OrderCommand::Place { order: Box::new(order()), plan: None }).unwrap();
    harness
}

fn planned() -> Harness<Order> {
    let mut harness = placed();
    harness.run(OrderCommand::PlanShipments { plan: fixtures::terms(2) }).unwrap();
    harness
}

fn ship(number: u16, by: &str, tracking: &str) -> OrderCommand {
    OrderCommand::Ship {
        shipment: number,
        seller: seller(by),
        carrier: "dhl".into(),
        tracking: tracking.into(),
    }
}

fn refused(harness: &Harness<Order>, command: OrderCommand) -> OrderRejection {
    harness.decide(command).unwrap_err()
}

fn quiet(harness: &Harness<Order>, command: OrderCommand) -> OrderView {
    let (events, reply) = harness.decide(command).unwrap();
    assert!(events.is_empty(), "answered from state: {events:?}");
    reply.order
}

fn place_with(change: impl FnOnce(&mut NewOrder)) -> OrderRejection {
    let mut new = order();
    change(&mut new);
    refused(
        &Harness::<Order>::new(&key()),
        OrderCommand::Place { order: Box::new(new), plan: None },
    )
}

#[test]
fn placing_records_the_order() {
    let harness = placed();
    let view = harness.state.view().unwrap();
    assert_eq!(view.id, OrderId::for_checkout(fixtures::CHECKOUT));
    assert_eq!((view.status, view.placed_at_ms, view.revision), (OrderStatus::Placed, 1_000, 1));
    assert_eq!((view.captured, view.refunded), (eur(0), eur(0)));
    assert_eq!(view.totals.total, eur(3_510));
    assert!(view.shipments.is_empty() && view.cancellation.is_none() && !view.voided);
}

#[test]
fn placing_again_answers_from_state_and_another_checkout_is_refused() {
    let harness = placed();
    let view = quiet(&harness, OrderCommand::Place { order: Box::new(order()), plan: None });
    assert_eq!(Some(&view), harness.state.view());
    let mut other = order();
    other.checkout = "eu/c1/key-2".into();
    assert_eq!(
        refused(&harness, OrderCommand::Place { order: Box::new(other), plan: None }),
        OrderRejection::AlreadyPlaced
    );
}

#[test]
fn an_order_lives_under_an_order_key() {
    let harness = Harness::<Order>::new("eu/not-an-order");
    assert_eq!(
        refused(&harness, OrderCommand::Place { order: Box::new(order()), plan: None }),
        OrderRejection::InvalidOrderId
    );
}

#[test]
fn commands_before_placement_name_no_order() {
    let harness = Harness::<Order>::new(&key());
    for command in [
        OrderCommand::Get,
        OrderCommand::PlanShipments { plan: fixtures::terms(1) },
        OrderCommand::RecordCapture { capture: capture("c1", 1) },
        OrderCommand::Cancel { reason: String::new() },
        OrderCommand::RecordVoid,
        OrderCommand::RecordRestock,
        ship(1, "s1", "t"),
    ] {
        assert_eq!(refused(&harness, command), OrderRejection::UnknownOrder);
    }
}

#[test]
fn placement_checks_lines_and_amounts() {
    use crate::money::Currency;
    assert_eq!(place_with(|o| o.lines.clear()), OrderRejection::NoLines);
    assert_eq!(
        place_with(|o| o.lines = vec![o.lines[1].clone(); crate::limits::ORDER_LINES_MAX + 1]),
        OrderRejection::TooManyLines { max: 400 }
    );
    assert_eq!(
        place_with(|o| o.lines[1].vat = Money::new(95, Currency::USD)),
        OrderRejection::CurrencyMismatch { expected: Currency::EUR }
    );
    assert_eq!(place_with(|o| o.lines[1].discount = eur(-1)), OrderRejection::AmountInvalid);
    assert_eq!(
        place_with(|o| o.lines[1].unit_price = eur(i64::MAX)),
        OrderRejection::AmountInvalid
    );
    assert_eq!(place_with(|o| o.lines[2].net = eur(334)), OrderRejection::LineMismatch { line: 2 });
    assert_eq!(place_with(|o| o.lines[0].total = eur(1)), OrderRejection::LineMismatch { line: 0 });
    assert_eq!(
        place_with(|o| o.lines[0].vat_rate_bps = 10_001),
        OrderRejection::LineInvalid { line: 0 }
    );
    assert_eq!(
        place_with(|o| o.lines[1].handling_days = 31),
        OrderRejection::LineInvalid { line: 1 }
    );
    assert_eq!(place_with(|o| o.totals.vat = eur(1)), OrderRejection::TotalsMismatch);
    assert_eq!(place_with(|o| o.totals.shipping_discount = eur(5)), OrderRejection::TotalsMismatch);
    assert_eq!(
        place_with(|o| o.authorization.amount = eur(3_509)),
        OrderRejection::AuthorizationMismatch
    );
    assert_eq!(
        place_with(|o| o.commission_bps = 10_001),
        OrderRejection::CommissionInvalid { max_bps: 10_000 }
    );
}

#[test]
fn placement_checks_texts_promotions_and_fraud() {
    let text = |field: &str, min| OrderRejection::TextInvalid {
        field: field.into(),
        min_bytes: min,
        max_bytes: crate::limits::ORDER_TEXT_BYTES_MAX as u32,
    };
    assert_eq!(place_with(|o| o.checkout.clear()), text("checkout", 1));
    assert_eq!(place_with(|o| o.authorization.psp.clear()), text("authorization.psp", 1));
    assert_eq!(place_with(|o| o.ship_to.city = "x".repeat(257).into()), text("ship_to.city", 0));
    let promotion = crate::pricing::AppliedPromotion {
        id: crate::promotion::PromotionId::parse("p").unwrap(),
        amount: eur(1),
    };
    assert_eq!(
        place_with(|o| o.promotions = vec![promotion; 33]),
        OrderRejection::TooManyPromotions { max: 32 }
    );
    assert_eq!(
        place_with(|o| o.fraud.decision = FraudDecision::Reject),
        OrderRejection::FraudRejected
    );
}

#[test]
fn captures_are_idempotent_and_bounded_by_the_authorization() {
    let mut harness = placed();
    let (events, reply) =
        harness.run(OrderCommand::RecordCapture { capture: capture("c1", 3_000) }).unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(reply.order.captured, eur(3_000));
    quiet(&harness, OrderCommand::RecordCapture { capture: capture("c1", 3_000) });
    assert_eq!(
        refused(&harness, OrderCommand::RecordCapture { capture: capture("c1", 2_000) }),
        OrderRejection::CaptureConflict
    );
    assert_eq!(
        refused(&harness, OrderCommand::RecordCapture { capture: capture("c2", 511) }),
        OrderRejection::CaptureExceedsAuthorization { capturable: eur(510) }
    );
    let mut elsewhere = capture("c2", 10);
    elsewhere.psp = "psp-b".into();
    assert_eq!(
        refused(&harness, OrderCommand::RecordCapture { capture: elsewhere }),
        OrderRejection::PspMismatch
    );
    for minor in [0, -5] {
        assert_eq!(
            refused(&harness, OrderCommand::RecordCapture { capture: capture("c2", minor) }),
            OrderRejection::AmountInvalid
        );
    }
    let (_, reply) =
        harness.run(OrderCommand::RecordCapture { capture: capture("c2", 510) }).unwrap();
    assert_eq!(reply.order.captured, eur(3_510));
    assert!(!reply.order.capture_due());
}

#[test]
fn a_seller_ships_only_its_own_planned_shipments_once() {
    assert_eq!(refused(&placed(), ship(1, "s1", "t1")), OrderRejection::ShipmentsNotPlanned);
    let mut harness = planned();
    assert_eq!(refused(&harness, ship(2, "s1", "t1")), OrderRejection::UnknownShipment);
    assert_eq!(refused(&harness, ship(9, "s1", "t1")), OrderRejection::UnknownShipment);
    assert!(matches!(refused(&harness, ship(1, "s1", "")), OrderRejection::TextInvalid { .. }));
    harness.now_ms = 7_000;
    let (_, reply) = harness.run(ship(1, "s1", "t1")).unwrap();
    assert_eq!(reply.order.status, OrderStatus::PartlyShipped);
    let shipped = reply.order.shipments[0].shipped.clone().unwrap();
    assert_eq!((shipped.tracking.as_str(), shipped.at_ms), ("t1", 7_000));
    quiet(&harness, ship(1, "s1", "t1"));
    assert_eq!(refused(&harness, ship(1, "s1", "t2")), OrderRejection::AlreadyShipped);
    harness.run(ship(2, "s2", "t2")).unwrap();
    let (_, reply) = harness.run(ship(3, "s1", "t3")).unwrap();
    assert_eq!(reply.order.status, OrderStatus::Shipped);
}

#[test]
fn delivery_follows_shipping_and_completes_the_order() {
    let mut harness = planned();
    assert_eq!(
        refused(&harness, OrderCommand::Deliver { shipment: 1 }),
        OrderRejection::NotShipped
    );
    assert_eq!(
        refused(&harness, OrderCommand::Deliver { shipment: 7 }),
        OrderRejection::UnknownShipment
    );
    for (n, by) in [(1, "s1"), (2, "s2"), (3, "s1")] {
        harness.run(ship(n, by, "t")).unwrap();
    }
    harness.run(OrderCommand::Deliver { shipment: 1 }).unwrap();
    quiet(&harness, OrderCommand::Deliver { shipment: 1 });
    harness.run(OrderCommand::Deliver { shipment: 2 }).unwrap();
    assert_eq!(harness.state.view().unwrap().status, OrderStatus::Shipped);
    let (_, reply) = harness.run(OrderCommand::Deliver { shipment: 3 }).unwrap();
    assert_eq!(reply.order.status, OrderStatus::Delivered);
}

#[test]
fn an_order_is_cancelled_only_before_anything_ships() {
    let mut harness = planned();
    let cancel = || OrderCommand::Cancel { reason: "customer".into() };
    let (_, reply) = harness.run(cancel()).unwrap();
    assert_eq!(reply.order.status, OrderStatus::Cancelled);
    quiet(&harness, cancel());
    assert_eq!(refused(&harness, ship(1, "s1", "t")), OrderRejection::OrderCancelled);

    let mut shipped = planned();
    shipped.run(ship(1, "s1", "t")).unwrap();
    assert_eq!(refused(&shipped, cancel()), OrderRejection::TooLateToCancel);

    let mut unplanned = placed();
    unplanned.run(cancel()).unwrap();
    assert_eq!(
        refused(&unplanned, OrderCommand::PlanShipments { plan: fixtures::terms(1) }),
        OrderRejection::OrderCancelled
    );
}

#[test]
fn a_void_follows_a_cancellation_without_capture() {
    let mut harness = placed();
    assert_eq!(refused(&harness, OrderCommand::RecordVoid), OrderRejection::NotCancelled);
    harness.run(OrderCommand::Cancel { reason: String::new() }).unwrap();
    let (_, reply) = harness.run(OrderCommand::RecordVoid).unwrap();
    assert!(reply.order.voided);
    quiet(&harness, OrderCommand::RecordVoid);
    assert_eq!(
        refused(&harness, OrderCommand::RecordCapture { capture: capture("c1", 1) }),
        OrderRejection::AuthorizationVoided
    );

    let mut captured = placed();
    captured.run(OrderCommand::RecordCapture { capture: capture("c1", 1) }).unwrap();
    captured.run(OrderCommand::Cancel { reason: String::new() }).unwrap();
    assert_eq!(refused(&captured, OrderCommand::RecordVoid), OrderRejection::AlreadyCaptured);
}

#[test]
fn refunds_stay_within_the_captured_sum() {
    let mut harness = placed();
    assert_eq!(
        refused(&harness, OrderCommand::RecordRefund { refund: refund("r1", 1) }),
        OrderRejection::RefundExceedsCaptured { refundable: eur(0) }
    );
    harness.run(OrderCommand::RecordCapture { capture: capture("c1", 3_510) }).unwrap();
    let (_, reply) =
        harness.run(OrderCommand::RecordRefund { refund: refund("r1", 1_000) }).unwrap();
    assert_eq!((reply.order.refunded, reply.order.status), (eur(1_000), OrderStatus::Placed));
    quiet(&harness, OrderCommand::RecordRefund { refund: refund("r1", 1_000) });
    assert_eq!(
        refused(&harness, OrderCommand::RecordRefund { refund: refund("r1", 9) }),
        OrderRejection::RefundConflict
    );
    assert_eq!(
        refused(&harness, OrderCommand::RecordRefund { refund: refund("r2", 2_511) }),
        OrderRejection::RefundExceedsCaptured { refundable: eur(2_510) }
    );
    let (_, reply) =
        harness.run(OrderCommand::RecordRefund { refund: refund("r2", 2_510) }).unwrap();
    assert_eq!(reply.order.status, OrderStatus::Refunded);
    assert_eq!(
        refused(&harness, OrderCommand::Cancel { reason: String::new() }),
        OrderRejection::OrderRefunded
    );
}

#[test]
fn a_cancelled_order_with_captured_money_is_refunded() {
    let mut harness = placed();
    harness.run(OrderCommand::RecordCapture { capture: capture("c1", 2_000) }).unwrap();
    harness.run(OrderCommand::Cancel { reason: "stock".into() }).unwrap();
    // A capture racing the cancellation is recorded, so it can be given back.
    harness.run(OrderCommand::RecordCapture { capture: capture("c2", 500) }).unwrap();
    let view = harness.state.view().unwrap();
    let cancellation = view.cancellation.clone().unwrap();
    assert_eq!((cancellation.captures_before, cancellation.refunds_before), (1, 0));
    assert!(!view.capture_due());
    let (_, reply) =
        harness.run(OrderCommand::RecordRefund { refund: refund("r1", 2_500) }).unwrap();
    assert_eq!(reply.order.status, OrderStatus::Refunded);
}

#[test]
fn a_cancelled_orders_restock_is_recorded_once() {
    let mut harness = planned();
    let due = |harness: &Harness<Order>| harness.state.view().unwrap().restock_due();
    assert!(!due(&harness), "a live order keeps its units sold");
    assert_eq!(refused(&harness, OrderCommand::RecordRestock), OrderRejection::NotCancelled);
    harness.run(OrderCommand::Cancel { reason: "customer".into() }).unwrap();
    assert!(due(&harness));
    harness.now_ms = 2_000;
    let (events, reply) = harness.run(OrderCommand::RecordRestock).unwrap();
    assert_eq!(events, [OrderEvent::Restocked { at_ms: 2_000 }]);
    assert!(reply.order.restocked && !reply.order.restock_due());
    assert_eq!((reply.order.status, reply.order.revision), (OrderStatus::Cancelled, 4));
    let again = quiet(&harness, OrderCommand::RecordRestock);
    assert_eq!(Some(&again), harness.state.view());
}

#[test]
fn a_cancelled_orders_lines_are_recorded_restocked_once_each() {
    let mut harness = planned();
    let line = |line: u16| OrderCommand::RecordLineRestocked { line };
    assert_eq!(refused(&harness, line(0)), OrderRejection::NotCancelled);
    harness.run(OrderCommand::Cancel { reason: "customer".into() }).unwrap();
    let lines = harness.state.view().unwrap().lines.len() as u16;
    assert_eq!(refused(&harness, line(lines)), OrderRejection::LineInvalid { line: lines });
    harness.now_ms = 2_000;
    let (events, reply) = harness.run(line(lines - 1)).unwrap();
    assert_eq!(events, [OrderEvent::LineRestocked { line: lines - 1, at_ms: 2_000 }]);
    assert_eq!(reply.order.restocked_lines, [lines - 1]);
    assert!(reply.order.restock_due(), "due until the whole is recorded");
    let again = quiet(&harness, line(lines - 1));
    assert_eq!(again.restocked_lines, [lines - 1], "a line is recorded once");
    harness.run(line(0)).unwrap();
    assert_eq!(harness.state.view().unwrap().restocked_lines.first(), Some(&0), "ascending");
}

#[test]
fn a_refunded_cancellation_still_restocks_and_a_shipped_order_never_does() {
    let total = order().totals.total.minor;
    let mut harness = placed();
    harness.run(OrderCommand::RecordCapture { capture: capture("c1", total) }).unwrap();
    harness.run(OrderCommand::Cancel { reason: "customer".into() }).unwrap();
    harness.run(OrderCommand::RecordRefund { refund: refund("r1", total) }).unwrap();
    let view = harness.state.view().unwrap();
    assert_eq!(view.status, OrderStatus::Refunded);
    assert!(view.restock_due(), "refunded after its cancellation: the units are still out");
    let (_, reply) = harness.run(OrderCommand::RecordRestock).unwrap();
    assert!(reply.order.restocked && !reply.order.restock_due());

    let mut delivered = planned();
    delivered.run(OrderCommand::RecordCapture { capture: capture("c1", total) }).unwrap();
    for (number, by) in [(1, "s1"), (2, "s2"), (3, "s1")] {
        delivered.run(ship(number, by, "t")).unwrap();
        delivered.run(OrderCommand::Deliver { shipment: number }).unwrap();
    }
    delivered.run(OrderCommand::RecordRefund { refund: refund("r1", total) }).unwrap();
    let view = delivered.state.view().unwrap();
    assert_eq!(view.status, OrderStatus::Refunded);
    assert!(!view.restock_due(), "shipped units are the customer's");
    assert_eq!(refused(&delivered, OrderCommand::RecordRestock), OrderRejection::NotCancelled);
}

#[test]
fn capture_is_due_by_policy() {
    let harness = planned();
    assert!(harness.state.view().unwrap().capture_due(), "at placement");

    let mut new = order();
    new.capture = CapturePolicy::AtShipment;
    let mut later = Harness::<Order>::new(&key());
    later.run(OrderCommand::Place { order: Box::new(new), plan: None }).unwrap();
    later.run(OrderCommand::PlanShipments { plan: fixtures::terms(1) }).unwrap();
    assert!(!later.state.view().unwrap().capture_due(), "nothing shipped yet");
    later.run(ship(2, "s2", "t")).unwrap();
    assert!(later.state.view().unwrap().capture_due(), "a shipment left");
}

#[test]
fn the_payment_action_follows_the_order() {
    let total = order().totals.total;
    let mut at_placement = placed();
    let view = |harness: &Harness<Order>| harness.state.view().unwrap().clone();
    assert_eq!(view(&at_placement).payment_action(), PaymentAction::Capture(total));
    at_placement.run(OrderCommand::RecordCapture { capture: capture("c1", total.minor) }).unwrap();
    assert_eq!(view(&at_placement).payment_action(), PaymentAction::Done);
    at_placement.run(OrderCommand::Cancel { reason: "changed my mind".into() }).unwrap();
    assert_eq!(view(&at_placement).payment_action(), PaymentAction::Refund(total));
    at_placement.run(OrderCommand::RecordRefund { refund: refund("r1", total.minor) }).unwrap();
    assert_eq!(view(&at_placement).payment_action(), PaymentAction::Done);

    let mut at_shipment = Harness::<Order>::new(&key());
    let mut deferred = order();
    deferred.capture = CapturePolicy::AtShipment;
    at_shipment.run(OrderCommand::Place { order: Box::new(deferred), plan: None }).unwrap();
    at_shipment.run(OrderCommand::PlanShipments { plan: fixtures::terms(2) }).unwrap();
    assert_eq!(view(&at_shipment).payment_action(), PaymentAction::Wait, "auth-only: not shipped");
    let first = view(&at_shipment).shipments[0].clone();
    at_shipment.run(ship(first.number, first.seller.as_str(), "T-1")).unwrap();
    assert_eq!(view(&at_shipment).payment_action(), PaymentAction::Capture(total));

    let mut cancelled = placed();
    cancelled.run(OrderCommand::Cancel { reason: "fraud review".into() }).unwrap();
    assert_eq!(view(&cancelled).payment_action(), PaymentAction::Void);
    cancelled.run(OrderCommand::RecordVoid).unwrap();
    assert_eq!(view(&cancelled).payment_action(), PaymentAction::Done);
}

#[test]
fn an_order_comes_to_rest_once_planned_and_paid_for() {
    let mut harness = placed();
    assert!(!harness.state.at_rest(), "shipments to plan");
    harness.run(OrderCommand::PlanShipments { plan: fixtures::terms(2) }).unwrap();
    assert!(!harness.state.at_rest(), "captured at placement: the capture is due");
    harness.run(OrderCommand::RecordCapture { capture: capture("c1", 3_510) }).unwrap();
    assert!(!harness.state.at_rest(), "its notices are not published yet");
    let through = harness.state.view().unwrap().timeline.len() as u32;
    harness.run(OrderCommand::MarkPublished { through }).unwrap();
    assert!(harness.state.at_rest(), "waits for its shipment");
    harness.run(OrderCommand::Cancel { reason: "customer".into() }).unwrap();
    assert!(!harness.state.at_rest(), "a refund and a restock are due");
}

mod cancellations;
mod chargebacks;
mod plans;
mod returns;
mod timeline;
mod tracking;
