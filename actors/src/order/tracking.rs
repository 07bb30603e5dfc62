//! Labels and tracking: a shipment shipped with a carrier's label (its service level kept
//! beside the carrier and tracking number the shipment records), and the carrier's tracking
//! events applied to it.
//!
//! Invariants:
//! - A tracking event names the shipment by its carrier and tracking number (the carrier
//!   knows no other id), so a carrier reports only on the parcels it carries; it is applied
//!   once: its id is remembered, so a carrier's retry or duplicate changes
//!   nothing. At most [`TRACKING_EVENTS_MAX`] events a shipment.
//! - `delivered` delivers the shipment (as the seller's delivery would), once; `exception` is
//!   told and changes nothing else. Events are kept in the order they arrived, whatever their
//!   carrier times say.
//! - The shapes of [`ShipmentTracking`] and [`TrackingEvent`] are fixed (they sit in a list in
//!   the order's snapshot).

use serde::{Deserialize, Serialize};

use super::decide::{Decided, answer, deliver, ship};
use super::validate::text;
use super::{Order, OrderEvent, OrderRejection, OrderView};
use crate::ids::SellerId;
use crate::limits::TRACKING_EVENTS_MAX;

/// Where a shipment is, as its carrier says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TrackingStatus {
    PickedUp,
    InTransit,
    OutForDelivery,
    Delivered,
    Exception,
}

impl TrackingStatus {
    pub const ALL: [TrackingStatus; 5] = [
        TrackingStatus::PickedUp,
        TrackingStatus::InTransit,
        TrackingStatus::OutForDelivery,
        TrackingStatus::Delivered,
        TrackingStatus::Exception,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TrackingStatus::PickedUp => "picked_up",
            TrackingStatus::InTransit => "in_transit",
            TrackingStatus::OutForDelivery => "out_for_delivery",
            TrackingStatus::Delivered => "delivered",
            TrackingStatus::Exception => "exception",
        }
    }

    pub fn parse(text: &str) -> Option<TrackingStatus> {
        TrackingStatus::ALL.into_iter().find(|status| status.as_str() == text)
    }
}

/// One event a carrier reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackingEvent {
    /// The carrier's id of the event: what makes it apply once.
    pub id: String,
    pub status: TrackingStatus,
    /// When it happened, by the carrier's clock.
    pub at_ms: u64,
    pub location: String,
}

/// A labelled shipment's tracking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShipmentTracking {
    pub shipment: u16,
    pub service_level: String,
    /// In the order they arrived.
    pub events: Vec<TrackingEvent>,
}

/// A carrier's label, as the order records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Label {
    pub carrier: String,
    pub tracking: String,
    pub service_level: String,
}

impl OrderView {
    /// The tracking of shipment `number`, if it was shipped with a label.
    pub fn tracking_of(&self, number: u16) -> Option<&ShipmentTracking> {
        self.tracking.iter().find(|tracking| tracking.shipment == number)
    }
}

/// `ShipLabelled`: ships shipment `number` with `label` (as `Ship` would) and keeps its
/// service level; the same label again changes nothing.
pub(super) fn ship_labelled(
    state: &Order,
    view: &OrderView,
    (number, seller): (u16, &SellerId),
    label: Label,
    now_ms: u64,
) -> Decided {
    text("service_level", &label.service_level, 1)?;
    let (mut events, _) =
        ship(state, view, (number, seller), label.carrier, label.tracking, now_ms)?;
    if view.tracking_of(number).is_none() {
        let service_level = label.service_level;
        events.push(OrderEvent::Labelled { shipment: number, service_level });
    }
    answer(state, events)
}

/// `RecordTracking`: `carrier`'s `event` about the shipment it carries under `tracking`.
pub(super) fn record(
    state: &Order,
    view: &OrderView,
    (carrier, tracking): (&str, &str),
    event: TrackingEvent,
    now_ms: u64,
) -> Decided {
    let carries =
        |shipped: &super::Shipped| shipped.carrier == carrier && shipped.tracking == tracking;
    let shipment = view
        .shipments
        .iter()
        .find(|s| s.shipped.as_ref().is_some_and(carries))
        .ok_or(OrderRejection::UnknownShipment)?;
    let number = shipment.number;
    let known = view.tracking_of(number).map(|t| t.events.as_slice()).unwrap_or_default();
    if known.iter().any(|seen| seen.id == event.id) {
        return answer(state, Vec::new());
    }
    text("tracking event id", &event.id, 1)?;
    text("tracking location", &event.location, 0)?;
    if known.len() >= TRACKING_EVENTS_MAX {
        return Err(OrderRejection::TooManyTrackingEvents { max: TRACKING_EVENTS_MAX as u32 });
    }
    let delivered = event.status == TrackingStatus::Delivered;
    let mut events = vec![OrderEvent::TrackingRecorded { shipment: number, event }];
    if delivered {
        events.extend(deliver(state, view, number, now_ms)?.0);
    }
    answer(state, events)
}

/// Folds a labelling or a tracking event into the view.
pub(super) fn apply(view: &mut OrderView, event: &OrderEvent) {
    match event {
        OrderEvent::Labelled { shipment, service_level }
            if view.tracking_of(*shipment).is_none() =>
        {
            view.tracking.push(ShipmentTracking {
                shipment: *shipment,
                service_level: service_level.clone(),
                events: Vec::new(),
            });
        }
        OrderEvent::TrackingRecorded { shipment, event } => {
            match view.tracking.iter_mut().find(|t| t.shipment == *shipment) {
                Some(tracking) => tracking.events.push(event.clone()),
                // Shipped without a label (the seller's own carrier): tracked all the same.
                None => view.tracking.push(ShipmentTracking {
                    shipment: *shipment,
                    service_level: String::new(),
                    events: vec![event.clone()],
                }),
            }
        }
        _ => {}
    }
}
