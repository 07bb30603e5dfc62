//! An order's timeline: what happened to it that its customer and the tenant's webhook
//! subscribers hear about (placing, payment, shipping, cancellation, refunds, returns,
//! goodwill), one notice per event that tells something, numbered from 1 in order.
//!
//! The timeline is also the order's outbox: the notices after `published` are still to be
//! delivered to the tenant's subscribers. While any is, the order keeps an index row
//! (`outbox/{order}`), written in the same journal entry as the event that added the notice,
//! so a crash between an event and its delivery loses nothing: a start finds the row.
//!
//! Invariants:
//! - A notice's number and content never change, so `{order}:{number}` is a stable id a
//!   receiver can deduplicate on; `published` only grows, up to the timeline's length.
//! - The shapes of [`Notice`] and [`Happened`]'s variants are fixed (they sit in a list in the
//!   order's snapshot); new kinds of notice are new variants at the end.

use serde::{Deserialize, Serialize};

use super::tracking::TrackingStatus;
use super::{OrderEvent, OrderView};
use crate::money::Money;

/// One thing that happened to an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    /// From 1, in order.
    pub number: u32,
    pub at_ms: u64,
    pub what: Happened,
}

/// Variants are append-only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Happened {
    Placed {
        total: Money,
    },
    PaymentCaptured {
        amount: Money,
    },
    PaymentVoided,
    Cancelled {
        reason: String,
    },
    /// Money went back to the customer (a cancellation's, a return's or goodwill).
    Refunded {
        amount: Money,
    },
    ShipmentShipped {
        shipment: u16,
        carrier: String,
        tracking: String,
    },
    ShipmentDelivered {
        shipment: u16,
    },
    ReturnRequested {
        number: u16,
    },
    ReturnApproved {
        number: u16,
    },
    ReturnRejected {
        number: u16,
    },
    ReturnReceived {
        number: u16,
    },
    Appeased {
        number: u16,
        amount: Money,
    },
    /// The carrier's word on a shipment.
    Tracked {
        shipment: u16,
        status: TrackingStatus,
        location: String,
    },
    /// The customer disputed the payment, and the provider took it back.
    Disputed {
        amount: Money,
        reason: String,
    },
}

impl Happened {
    /// The webhook event type, stable: subscribers filter on it.
    pub fn event_type(&self) -> &'static str {
        match self {
            Happened::Placed { .. } => "order.placed",
            Happened::PaymentCaptured { .. } => "payment.captured",
            Happened::PaymentVoided => "payment.voided",
            Happened::Cancelled { .. } => "order.cancelled",
            Happened::Refunded { .. } => "refund.issued",
            Happened::ShipmentShipped { .. } => "shipment.shipped",
            Happened::ShipmentDelivered { .. } => "shipment.delivered",
            Happened::ReturnRequested { .. } => "return.requested",
            Happened::ReturnApproved { .. } => "return.approved",
            Happened::ReturnRejected { .. } => "return.rejected",
            Happened::ReturnReceived { .. } => "return.received",
            Happened::Appeased { .. } => "appeasement.granted",
            Happened::Tracked { .. } => "shipment.tracking",
            Happened::Disputed { .. } => "payment.disputed",
        }
    }
}

/// Every event type a notice can have (what a subscription may filter on).
pub const EVENT_TYPES: [&str; 14] = [
    "order.placed",
    "payment.captured",
    "payment.voided",
    "order.cancelled",
    "refund.issued",
    "shipment.shipped",
    "shipment.delivered",
    "return.requested",
    "return.approved",
    "return.rejected",
    "return.received",
    "appeasement.granted",
    "shipment.tracking",
    "payment.disputed",
];

/// What `event` tells the timeline, and when, if anything.
pub(super) fn happened(event: &OrderEvent) -> Option<(u64, Happened)> {
    Some(match event {
        OrderEvent::Placed(placed) => {
            (placed.at_ms, Happened::Placed { total: placed.order.totals.total })
        }
        OrderEvent::PaymentCaptured { capture, at_ms } => {
            (*at_ms, Happened::PaymentCaptured { amount: capture.amount })
        }
        OrderEvent::PaymentVoided { at_ms } => (*at_ms, Happened::PaymentVoided),
        OrderEvent::Cancelled { reason, at_ms } => {
            (*at_ms, Happened::Cancelled { reason: reason.clone() })
        }
        OrderEvent::PaymentRefunded { refund, at_ms }
        | OrderEvent::ReturnRefunded { refund, at_ms, .. }
        | OrderEvent::AppeasementRefunded { refund, at_ms, .. } => {
            (*at_ms, Happened::Refunded { amount: refund.amount })
        }
        OrderEvent::ShipmentShipped { shipment, carrier, tracking, at_ms } => {
            let (carrier, tracking) = (carrier.clone(), tracking.clone());
            (*at_ms, Happened::ShipmentShipped { shipment: *shipment, carrier, tracking })
        }
        OrderEvent::ShipmentDelivered { shipment, at_ms } => {
            (*at_ms, Happened::ShipmentDelivered { shipment: *shipment })
        }
        OrderEvent::ReturnRequested(requested) => {
            (requested.at_ms, Happened::ReturnRequested { number: requested.number })
        }
        OrderEvent::ReturnApproved { number, at_ms, .. } => {
            (*at_ms, Happened::ReturnApproved { number: *number })
        }
        OrderEvent::ReturnRejected { number, at_ms, .. } => {
            (*at_ms, Happened::ReturnRejected { number: *number })
        }
        OrderEvent::ReturnReceived { number, at_ms, .. } => {
            (*at_ms, Happened::ReturnReceived { number: *number })
        }
        OrderEvent::Appeased(appeasement) => (
            appeasement.at_ms,
            Happened::Appeased { number: appeasement.number, amount: appeasement.amount },
        ),
        OrderEvent::TrackingRecorded { shipment, event } => {
            let (status, location) = (event.status, event.location.clone());
            (event.at_ms, Happened::Tracked { shipment: *shipment, status, location })
        }
        OrderEvent::ChargedBack(chargeback) => {
            let (amount, reason) = (chargeback.amount, chargeback.reason.clone());
            (chargeback.at_ms, Happened::Disputed { amount, reason })
        }
        OrderEvent::ShipmentsPlanned { .. }
        | OrderEvent::Labelled { .. }
        | OrderEvent::Restocked { .. }
        | OrderEvent::LineRestocked { .. }
        | OrderEvent::ReturnRestocked { .. }
        | OrderEvent::ReturnLineRestocked { .. }
        | OrderEvent::ReturnSettled { .. }
        | OrderEvent::CancelledBySeller { .. }
        | OrderEvent::Published { .. } => return None,
    })
}

/// Adds what `event` tells to the view's timeline.
pub(super) fn record(view: &mut OrderView, event: &OrderEvent) {
    if let Some((at_ms, what)) = happened(event) {
        let number = u32::try_from(view.timeline.len()).unwrap_or(u32::MAX).saturating_add(1);
        view.timeline.push(Notice { number, at_ms, what });
    }
}

impl OrderView {
    /// The notices not yet delivered to the tenant's subscribers.
    pub fn unpublished(&self) -> &[Notice] {
        self.timeline.get(self.published as usize..).unwrap_or_default()
    }
}

/// `MarkPublished`: the tenant's subscribers have every notice up to `through`.
pub(super) fn mark_published(view: &OrderView, through: u32) -> Result<Vec<OrderEvent>, u32> {
    let known = u32::try_from(view.timeline.len()).unwrap_or(u32::MAX);
    if through > known {
        return Err(known);
    }
    if through <= view.published {
        return Ok(Vec::new());
    }
    Ok(vec![OrderEvent::Published { through }])
}
