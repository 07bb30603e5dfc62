//! The timeline and its outbox: one numbered notice per event that tells something, and the
//! `outbox/` row while any notice is undelivered.

use super::super::timeline::Happened;
use super::*;
use crate::index;

fn outbox(harness: &Harness<Order>) -> Vec<index::Row> {
    harness.state.index_rows(&key())
}

fn kinds(view: &OrderView) -> Vec<&'static str> {
    view.timeline.iter().map(|notice| notice.what.event_type()).collect()
}

#[test]
fn each_event_that_tells_something_adds_one_numbered_notice() {
    let mut harness = planned();
    harness.now_ms = 2_000;
    harness.run(OrderCommand::RecordCapture { capture: capture("c1", 3_510) }).unwrap();
    harness.now_ms = 3_000;
    harness.run(ship(1, "s1", "t1")).unwrap();
    quiet(&harness, ship(1, "s1", "t1"));
    harness.run(OrderCommand::Deliver { shipment: 1 }).unwrap();
    let view = harness.state.view().unwrap().clone();
    // Planning tells nothing; a repeated command adds nothing.
    let expected = ["order.placed", "payment.captured", "shipment.shipped", "shipment.delivered"];
    assert_eq!(kinds(&view), expected);
    let numbers: Vec<u32> = view.timeline.iter().map(|notice| notice.number).collect();
    assert_eq!(numbers, [1, 2, 3, 4]);
    assert_eq!(view.timeline[0].what, Happened::Placed { total: eur(3_510) });
    assert_eq!(view.timeline[0].at_ms, 1_000);
    let shipped =
        Happened::ShipmentShipped { shipment: 1, carrier: "dhl".into(), tracking: "t1".into() };
    assert_eq!((view.timeline[2].at_ms, &view.timeline[2].what), (3_000, &shipped));
}

#[test]
fn the_outbox_row_stays_until_every_notice_is_published() {
    let mut harness = planned();
    assert_eq!(outbox(&harness), [index::outbox_row(&key(), 1_000)]);
    harness.now_ms = 2_000;
    harness.run(OrderCommand::RecordCapture { capture: capture("c1", 3_510) }).unwrap();
    let (events, reply) = harness.run(OrderCommand::MarkPublished { through: 1 }).unwrap();
    assert_eq!(events, [OrderEvent::Published { through: 1 }]);
    assert_eq!(reply.order.unpublished().len(), 1);
    assert_eq!(outbox(&harness), [index::outbox_row(&key(), 2_000)], "the oldest left");
    quiet(&harness, OrderCommand::MarkPublished { through: 1 });
    assert_eq!(
        refused(&harness, OrderCommand::MarkPublished { through: 3 }),
        OrderRejection::UnknownNotice { known: 2 }
    );
    harness.run(OrderCommand::MarkPublished { through: 2 }).unwrap();
    assert!(outbox(&harness).is_empty());
    assert_eq!(harness.state.view().unwrap().timeline.len(), 2, "publishing adds no notice");
    let row = index::parse_outbox(&index::outbox_row(&key(), 2_000));
    assert_eq!(row, Some((key(), 2_000)));
}

#[test]
fn cancellation_void_and_refund_are_told() {
    let mut harness = planned();
    harness.run(OrderCommand::Cancel { reason: "changed my mind".into() }).unwrap();
    harness.run(OrderCommand::RecordVoid).unwrap();
    let view = harness.state.view().unwrap();
    assert_eq!(kinds(view), ["order.placed", "order.cancelled", "payment.voided"]);
    let mut paid = planned();
    paid.run(OrderCommand::RecordCapture { capture: capture("c1", 3_510) }).unwrap();
    paid.run(OrderCommand::Cancel { reason: "late".into() }).unwrap();
    paid.run(OrderCommand::RecordRefund { refund: refund("r1", 3_510) }).unwrap();
    let view = paid.state.view().unwrap();
    assert_eq!(view.timeline.last().unwrap().what, Happened::Refunded { amount: eur(3_510) });
}
