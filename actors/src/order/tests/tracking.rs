//! Labels and tracking: a labelled shipment keeps its service level, and each carrier event
//! applies once; `delivered` delivers the shipment.

use super::super::tracking::{Label, TrackingEvent, TrackingStatus};
use super::*;

fn label(tracking: &str) -> Label {
    Label { carrier: "sim-post".into(), tracking: tracking.into(), service_level: "express".into() }
}

fn ship_labelled(number: u16, by: &str, tracking: &str) -> OrderCommand {
    OrderCommand::ShipLabelled { shipment: number, seller: seller(by), label: label(tracking) }
}

fn tracked(tracking: &str, id: &str, status: TrackingStatus) -> OrderCommand {
    tracked_by("sim-post", tracking, id, status)
}

fn tracked_by(carrier: &str, tracking: &str, id: &str, status: TrackingStatus) -> OrderCommand {
    let event = TrackingEvent { id: id.into(), status, at_ms: 5, location: "Leipzig hub".into() };
    OrderCommand::RecordTracking { carrier: carrier.into(), tracking: tracking.into(), event }
}

#[test]
fn a_labelled_shipment_ships_once_and_keeps_its_service_level() {
    let mut harness = planned();
    let (events, reply) = harness.run(ship_labelled(1, "s1", "SP-1")).unwrap();
    assert_eq!(events.len(), 2, "{events:?}");
    let shipped = reply.order.shipments[0].shipped.clone().unwrap();
    assert_eq!((shipped.carrier.as_str(), shipped.tracking.as_str()), ("sim-post", "SP-1"));
    assert_eq!(reply.order.tracking_of(1).unwrap().service_level, "express");
    quiet(&harness, ship_labelled(1, "s1", "SP-1"));
    assert_eq!(refused(&harness, ship_labelled(1, "s1", "SP-2")), OrderRejection::AlreadyShipped);
    assert_eq!(refused(&harness, ship_labelled(2, "s1", "SP-3")), OrderRejection::UnknownShipment);
}

#[test]
fn each_tracking_event_applies_once_and_delivered_delivers() {
    let mut harness = planned();
    assert_eq!(
        refused(&harness, tracked("SP-1", "e1", TrackingStatus::PickedUp)),
        OrderRejection::UnknownShipment
    );
    harness.run(ship_labelled(1, "s1", "SP-1")).unwrap();
    // Another carrier knows nothing of this parcel.
    assert_eq!(
        refused(&harness, tracked_by("other-post", "SP-1", "e1", TrackingStatus::Delivered)),
        OrderRejection::UnknownShipment
    );
    harness.run(tracked("SP-1", "e1", TrackingStatus::PickedUp)).unwrap();
    quiet(&harness, tracked("SP-1", "e1", TrackingStatus::PickedUp));
    harness.run(tracked("SP-1", "e2", TrackingStatus::Exception)).unwrap();
    harness.now_ms = 9_000;
    let (events, reply) = harness.run(tracked("SP-1", "e3", TrackingStatus::Delivered)).unwrap();
    assert_eq!(events.last(), Some(&OrderEvent::ShipmentDelivered { shipment: 1, at_ms: 9_000 }));
    assert_eq!(reply.order.shipments[0].delivered_at_ms, Some(9_000));
    let seen: Vec<&str> =
        reply.order.tracking_of(1).unwrap().events.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(seen, ["e1", "e2", "e3"]);
    let told: Vec<&str> = reply.order.timeline.iter().map(|n| n.what.event_type()).collect();
    assert_eq!(told.iter().filter(|t| **t == "shipment.tracking").count(), 3);
    assert_eq!(told.last(), Some(&"shipment.delivered"));
    // A late duplicate of the delivery changes nothing; a second delivery event is kept only.
    quiet(&harness, tracked("SP-1", "e3", TrackingStatus::Delivered));
    let (events, _) = harness.run(tracked("SP-1", "e4", TrackingStatus::Delivered)).unwrap();
    assert_eq!(events.len(), 1, "already delivered: {events:?}");
}

#[test]
fn a_shipment_keeps_a_bounded_number_of_tracking_events() {
    let mut harness = planned();
    harness.run(ship(1, "s1", "OWN-1")).unwrap();
    let own = |id: &str| tracked_by("dhl", "OWN-1", id, TrackingStatus::InTransit);
    for n in 0..crate::limits::TRACKING_EVENTS_MAX {
        harness.run(own(&format!("e{n}"))).unwrap();
    }
    let max = crate::limits::TRACKING_EVENTS_MAX as u32;
    assert_eq!(refused(&harness, own("late")), OrderRejection::TooManyTrackingEvents { max });
    let view = harness.state.view().unwrap();
    assert_eq!(view.tracking_of(1).unwrap().service_level, "", "shipped without a label");
}
