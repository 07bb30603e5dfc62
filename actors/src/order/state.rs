//! The order's state and `apply`: folding events, no rules.
//!
//! Invariants of the representation (kept by `apply`, relied on by `decide`):
//! - `captured` and `refunded` are the sums of `captures` and `refunds` (saturating, which
//!   `decide` makes unreachable).
//! - `revision` counts the events applied.
//! - The status is only ever replaced by one of a higher rank.

use serde::{Deserialize, Serialize};

use super::{
    Cancellation, OrderEvent, OrderStatus, OrderView, PlacedOrder, PlannedShipment, ShipmentView,
    Shipped,
};
use crate::money::Money;

/// An order; the default is an order not placed yet.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub(super) view: Option<OrderView>,
}

impl Order {
    /// The order, once placed.
    pub fn view(&self) -> Option<&OrderView> {
        self.view.as_ref()
    }

    pub(super) fn apply_event(&mut self, event: &OrderEvent) {
        if let OrderEvent::Placed(placed) = event {
            // `decide` places an order once; a second placement would change nothing.
            if self.view.is_none() {
                let mut view = placed_view(placed);
                super::timeline::record(&mut view, event);
                self.view = Some(view);
            }
            return;
        }
        let Some(view) = self.view.as_mut() else { return };
        view.revision = view.revision.saturating_add(1);
        match event {
            OrderEvent::Placed(_) => {}
            OrderEvent::ShipmentsPlanned { shipments } => {
                view.shipments = shipments.iter().map(planned_view).collect();
            }
            OrderEvent::PaymentCaptured { capture, .. } => {
                view.captured = add(view.captured, capture.amount);
                view.captures.push(capture.clone());
            }
            OrderEvent::ShipmentShipped { shipment, carrier, tracking, at_ms } => {
                if let Some(shipment) = view.shipments.iter_mut().find(|s| s.number == *shipment) {
                    let (carrier, tracking) = (carrier.clone(), tracking.clone());
                    shipment.shipped = Some(Shipped { carrier, tracking, at_ms: *at_ms });
                }
            }
            OrderEvent::ShipmentDelivered { shipment, at_ms } => {
                if let Some(shipment) = view.shipments.iter_mut().find(|s| s.number == *shipment) {
                    shipment.delivered_at_ms = Some(*at_ms);
                }
            }
            OrderEvent::Cancelled { reason, at_ms } => {
                view.cancellation = Some(Cancellation {
                    reason: reason.clone(),
                    at_ms: *at_ms,
                    captures_before: count(view.captures.len()),
                    refunds_before: count(view.refunds.len()),
                });
            }
            OrderEvent::CancelledBySeller { seller } => {
                view.cancelled_by_seller = Some(seller.clone());
            }
            OrderEvent::PaymentVoided { .. } => view.voided = true,
            OrderEvent::PaymentRefunded { refund, .. } => {
                view.refunded = add(view.refunded, refund.amount);
                view.refunds.push(refund.clone());
            }
            OrderEvent::Restocked { .. } => view.restocked = true,
            OrderEvent::LineRestocked { line, .. } => {
                if let Err(at) = view.restocked_lines.binary_search(line) {
                    view.restocked_lines.insert(at, *line);
                }
            }
            OrderEvent::ReturnRequested(_)
            | OrderEvent::ReturnApproved { .. }
            | OrderEvent::ReturnRejected { .. }
            | OrderEvent::ReturnReceived { .. }
            | OrderEvent::ReturnRefunded { .. }
            | OrderEvent::ReturnRestocked { .. }
            | OrderEvent::ReturnLineRestocked { .. }
            | OrderEvent::ReturnSettled { .. } => super::returns::apply(view, event),
            OrderEvent::Appeased(_) | OrderEvent::AppeasementRefunded { .. } => {
                super::appeasements::apply(view, event)
            }
            OrderEvent::Published { through } => view.published = view.published.max(*through),
            OrderEvent::Labelled { .. } | OrderEvent::TrackingRecorded { .. } => {
                super::tracking::apply(view, event)
            }
            OrderEvent::ChargedBack(chargeback) => {
                view.chargeback.get_or_insert_with(|| (**chargeback).clone());
            }
        }
        super::timeline::record(view, event);
        let status = status_of(view);
        if status.rank() > view.status.rank() {
            view.status = status;
        }
    }
}

/// The status the order's facts call for.
pub(super) fn status_of(view: &OrderView) -> OrderStatus {
    let captured = view.captured.minor;
    // Goodwill no return has counted yet refunds nothing sold: alone, it settles nothing
    // (a cancellation gives everything back, goodwill included).
    let goodwill = if view.cancellation.is_some() { 0 } else { view.goodwill_outstanding() };
    let settled = captured > 0 && view.refunded.minor.saturating_sub(goodwill) >= captured;
    let no_more_captures = captured >= view.totals.total.minor || view.cancellation.is_some();
    if settled && no_more_captures {
        return OrderStatus::Refunded;
    }
    if view.cancellation.is_some() {
        return OrderStatus::Cancelled;
    }
    let shipped = view.shipments.iter().filter(|s| s.shipped.is_some()).count();
    let delivered = view.shipments.iter().filter(|s| s.delivered_at_ms.is_some()).count();
    let all = view.shipments.len();
    match () {
        _ if all > 0 && delivered == all => OrderStatus::Delivered,
        _ if all > 0 && shipped == all => OrderStatus::Shipped,
        _ if shipped > 0 => OrderStatus::PartlyShipped,
        _ => OrderStatus::Placed,
    }
}

fn placed_view(placed: &PlacedOrder) -> OrderView {
    let order = &placed.order;
    OrderView {
        id: placed.id.clone(),
        customer: order.customer.clone(),
        checkout: order.checkout.clone(),
        currency: order.currency,
        status: OrderStatus::Placed,
        placed_at_ms: placed.at_ms,
        lines: order.lines.clone(),
        totals: order.totals.clone(),
        promotions: order.promotions.clone(),
        authorization: order.authorization.clone(),
        capture: order.capture,
        commission_bps: order.commission_bps,
        captured: Money::zero(order.currency),
        captures: Vec::new(),
        voided: false,
        refunded: Money::zero(order.currency),
        refunds: Vec::new(),
        fraud: order.fraud.clone(),
        ship_to: order.ship_to.clone(),
        shipments: Vec::new(),
        cancellation: None,
        revision: 1,
        restocked: false,
        restocked_lines: Vec::new(),
        returns: Vec::new(),
        appeasements: Vec::new(),
        timeline: Vec::new(),
        published: 0,
        tracking: Vec::new(),
        chargeback: None,
        cancelled_by_seller: None,
    }
}

fn planned_view(planned: &PlannedShipment) -> ShipmentView {
    ShipmentView {
        number: planned.number,
        seller: planned.seller.clone(),
        location: planned.location.clone(),
        lines: planned.lines.clone(),
        promised_by_ms: planned.promised_by_ms,
        shipped: None,
        delivered_at_ms: None,
    }
}

fn add(sum: Money, amount: Money) -> Money {
    Money::new(sum.minor.saturating_add(amount.minor), sum.currency)
}

fn count(len: usize) -> u16 {
    u16::try_from(len).unwrap_or(u16::MAX)
}
