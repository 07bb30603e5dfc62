//! The order's rules: every command is validated here and either refused or turned into
//! events. Nothing here mutates; the reply is the order after the events.

use super::promise::{DeliveryPlan, promised_by};
use super::state::Order;
use super::validate::{self, text};
use super::{
    NewOrder, OrderCommand, OrderEvent, OrderRejection, OrderReply, OrderStatus, OrderView,
    PlacedOrder, PlannedShipment, parse_entity_id,
};
use super::{appeasements, returns};
use crate::ids::SellerId;
use crate::limits::{ORDER_CAPTURES_MAX, ORDER_REFUNDS_MAX};
use crate::payment::{Capture, Refund};

pub(super) type Decided = Result<(Vec<OrderEvent>, OrderReply), OrderRejection>;

pub(super) fn decide(state: &Order, command: OrderCommand, key: &str, now_ms: u64) -> Decided {
    if let OrderCommand::Place { order, plan } = command {
        return place(state, *order, plan, key, now_ms);
    }
    let view = state.view.as_ref().ok_or(OrderRejection::UnknownOrder)?;
    match command {
        OrderCommand::Place { .. } | OrderCommand::Get => answer(state, Vec::new()),
        OrderCommand::PlanShipments { plan } => plan_shipments(state, view, &plan, now_ms),
        OrderCommand::RecordCapture { capture } => record_capture(state, view, capture, now_ms),
        OrderCommand::Ship { shipment, seller, carrier, tracking } => {
            ship(state, view, (shipment, &seller), carrier, tracking, now_ms)
        }
        OrderCommand::Deliver { shipment } => deliver(state, view, shipment, now_ms),
        OrderCommand::Cancel { reason } => cancel(state, view, reason, now_ms),
        OrderCommand::RecordVoid => record_void(state, view, now_ms),
        OrderCommand::RecordRefund { refund } => record_refund(state, view, refund, now_ms),
        OrderCommand::RecordRestock => record_restock(state, view, now_ms),
        OrderCommand::RecordLineRestocked { line } => {
            record_line_restocked(state, view, line, now_ms)
        }
        OrderCommand::RequestReturn { request } => returns::request(state, view, *request, now_ms),
        OrderCommand::DecideReturn { number, approve, note } => {
            returns::decide_return(state, view, number, approve, note, now_ms)
        }
        OrderCommand::ReceiveReturn { number, seller, sellable } => {
            returns::receive(state, view, (number, &seller), sellable, now_ms)
        }
        OrderCommand::RecordReturnRefund { number, refund } => {
            returns::record_refund(state, view, number, refund, now_ms)
        }
        OrderCommand::RecordReturnRestocked { number } => {
            returns::record_restocked(state, view, number, now_ms)
        }
        OrderCommand::RecordReturnLineRestocked { number, line } => {
            returns::record_line_restocked(state, view, (number, line), now_ms)
        }
        OrderCommand::Appease { amount, reason, by, request_id } => {
            appeasements::appease(state, view, (amount, reason, by, request_id), now_ms)
        }
        OrderCommand::RecordAppeasementRefund { number, refund } => {
            appeasements::record_refund(state, view, number, refund, now_ms)
        }
        OrderCommand::SettleReturn { number } => returns::settle(state, view, number, now_ms),
        OrderCommand::ShipLabelled { shipment, seller, label } => {
            super::tracking::ship_labelled(state, view, (shipment, &seller), label, now_ms)
        }
        OrderCommand::RecordTracking { carrier, tracking, event } => {
            super::tracking::record(state, view, (&carrier, &tracking), event, now_ms)
        }
        OrderCommand::RecordChargeback { psp, id, amount, reason } => {
            super::chargebacks::record(state, view, (psp, id, amount, reason), now_ms)
        }
        OrderCommand::CancelBySeller { seller, reason } => {
            cancel_by_seller(state, view, seller, reason, now_ms)
        }
        OrderCommand::MarkPublished { through } => {
            let events = super::timeline::mark_published(view, through)
                .map_err(|known| OrderRejection::UnknownNotice { known })?;
            answer(state, events)
        }
    }
}

fn place(
    state: &Order,
    order: NewOrder,
    plan: Option<DeliveryPlan>,
    key: &str,
    now_ms: u64,
) -> Decided {
    let mut events = Vec::new();
    let placed = match &state.view {
        Some(view) if view.checkout == order.checkout => view.clone(),
        Some(_) => return Err(OrderRejection::AlreadyPlaced),
        None => {
            let (_, id) = parse_entity_id(key).ok_or(OrderRejection::InvalidOrderId)?;
            validate::new_order(&order)?;
            let placed = OrderEvent::Placed(Box::new(PlacedOrder { id, order, at_ms: now_ms }));
            let mut after = state.clone();
            after.apply_event(&placed);
            events.push(placed);
            after.view.ok_or(OrderRejection::UnknownOrder)?
        }
    };
    // Planned with the placement; a repeat plans an order placed without a plan, and
    // answers one cancelled since as it stands.
    if let Some(plan) = plan
        && live(&placed).is_ok()
    {
        events.extend(planned(&placed, &plan, now_ms)?);
    }
    answer(state, events)
}

fn plan_shipments(state: &Order, view: &OrderView, plan: &DeliveryPlan, now_ms: u64) -> Decided {
    answer(state, planned(view, plan, now_ms)?)
}

/// The event that plans `view`'s shipments; none once they are planned (a plan is made
/// once), and refused for an order cancelled or refunded.
fn planned(
    view: &OrderView,
    plan: &DeliveryPlan,
    now_ms: u64,
) -> Result<Vec<OrderEvent>, OrderRejection> {
    if !view.shipments.is_empty() {
        return Ok(Vec::new());
    }
    live(view)?;
    let shipments = shipments_of(view, plan, now_ms)?;
    Ok(vec![OrderEvent::ShipmentsPlanned { shipments }])
}

/// The order's lines grouped into shipments by (seller, location), numbered from 1 in the
/// order of their first line, each promised for its largest handling days and its
/// location's transit days ([`promised_by`]).
fn shipments_of(
    view: &OrderView,
    plan: &DeliveryPlan,
    now_ms: u64,
) -> Result<Vec<PlannedShipment>, OrderRejection> {
    let mut shipments: Vec<PlannedShipment> = Vec::new();
    let mut handling: Vec<u8> = Vec::new();
    for (n, line) in view.lines.iter().enumerate() {
        let n = u16::try_from(n).map_err(|_| OrderRejection::AmountInvalid)?;
        let group =
            shipments.iter().position(|s| s.seller == line.seller && s.location == line.location);
        match group {
            Some(at) => {
                shipments[at].lines.push(n);
                handling[at] = handling[at].max(line.handling_days);
            }
            None => {
                let number = u16::try_from(shipments.len() + 1).unwrap_or(u16::MAX);
                shipments.push(PlannedShipment {
                    number,
                    seller: line.seller.clone(),
                    location: line.location.clone(),
                    lines: vec![n],
                    promised_by_ms: 0,
                });
                handling.push(line.handling_days);
            }
        }
    }
    for (shipment, days) in shipments.iter_mut().zip(handling) {
        shipment.promised_by_ms = promised_by(now_ms, days, plan.terms(&shipment.location));
    }
    Ok(shipments)
}

/// Refuses commands that need an order neither cancelled nor refunded.
pub(super) fn live(view: &OrderView) -> Result<(), OrderRejection> {
    if view.disputed() {
        return Err(OrderRejection::PaymentDisputed);
    }
    match view.status {
        OrderStatus::Refunded => Err(OrderRejection::OrderRefunded),
        _ if view.cancellation.is_some() => Err(OrderRejection::OrderCancelled),
        _ => Ok(()),
    }
}

fn record_capture(state: &Order, view: &OrderView, capture: Capture, now_ms: u64) -> Decided {
    if let Some(known) = view.captures.iter().find(|known| known.id == capture.id) {
        if *known == capture {
            return answer(state, Vec::new());
        }
        return Err(OrderRejection::CaptureConflict);
    }
    payment_text("capture", &capture.id, &capture.key)?;
    if capture.psp != view.authorization.psp {
        return Err(OrderRejection::PspMismatch);
    }
    validate::amount(view.currency, capture.amount)?;
    if !capture.amount.is_positive() {
        return Err(OrderRejection::AmountInvalid);
    }
    if view.voided {
        return Err(OrderRejection::AuthorizationVoided);
    }
    if view.status == OrderStatus::Refunded {
        return Err(OrderRejection::OrderRefunded);
    }
    if capture.amount.minor > view.capturable().minor {
        return Err(OrderRejection::CaptureExceedsAuthorization { capturable: view.capturable() });
    }
    if view.captures.len() >= ORDER_CAPTURES_MAX {
        return Err(OrderRejection::TooManyCaptures { max: ORDER_CAPTURES_MAX as u32 });
    }
    answer(state, vec![OrderEvent::PaymentCaptured { capture, at_ms: now_ms }])
}

pub(super) fn ship(
    state: &Order,
    view: &OrderView,
    (number, seller): (u16, &SellerId),
    carrier: String,
    tracking: String,
    now_ms: u64,
) -> Decided {
    if view.shipments.is_empty() {
        live(view)?;
        return Err(OrderRejection::ShipmentsNotPlanned);
    }
    let shipment = view
        .shipment(number)
        .filter(|shipment| shipment.seller == *seller)
        .ok_or(OrderRejection::UnknownShipment)?;
    if let Some(shipped) = &shipment.shipped {
        if shipped.carrier == carrier && shipped.tracking == tracking {
            return answer(state, Vec::new());
        }
        return Err(OrderRejection::AlreadyShipped);
    }
    live(view)?;
    text("carrier", &carrier, 1)?;
    text("tracking", &tracking, 1)?;
    let event = OrderEvent::ShipmentShipped { shipment: number, carrier, tracking, at_ms: now_ms };
    answer(state, vec![event])
}

pub(super) fn deliver(state: &Order, view: &OrderView, number: u16, now_ms: u64) -> Decided {
    let shipment = view.shipment(number).ok_or(OrderRejection::UnknownShipment)?;
    if shipment.delivered_at_ms.is_some() {
        return answer(state, Vec::new());
    }
    if shipment.shipped.is_none() {
        return Err(OrderRejection::NotShipped);
    }
    let event = OrderEvent::ShipmentDelivered { shipment: number, at_ms: now_ms };
    answer(state, vec![event])
}

fn cancel(state: &Order, view: &OrderView, reason: String, now_ms: u64) -> Decided {
    if view.cancellation.is_some() {
        return answer(state, Vec::new());
    }
    live(view)?;
    if view.shipments.iter().any(|shipment| shipment.shipped.is_some()) {
        return Err(OrderRejection::TooLateToCancel);
    }
    text("reason", &reason, 0)?;
    answer(state, vec![OrderEvent::Cancelled { reason, at_ms: now_ms }])
}

/// `cancel` by the order's only seller: another seller's order is unknown to it, and an
/// order shared with other sellers is refused.
fn cancel_by_seller(
    state: &Order,
    view: &OrderView,
    seller: SellerId,
    reason: String,
    now_ms: u64,
) -> Decided {
    if !view.lines.iter().any(|line| line.seller == seller) {
        return Err(OrderRejection::UnknownOrder);
    }
    if view.lines.iter().any(|line| line.seller != seller) {
        return Err(OrderRejection::SharedWithOtherSellers);
    }
    if view.cancellation.is_some() {
        // Its own cancellation again is answered; one by the customer or support is not the
        // seller's (and must not count on its rate).
        return match view.cancelled_by_seller.as_ref() == Some(&seller) {
            true => answer(state, Vec::new()),
            false => Err(OrderRejection::OrderCancelled),
        };
    }
    let (mut events, _) = cancel(state, view, reason, now_ms)?;
    events.push(OrderEvent::CancelledBySeller { seller });
    answer(state, events)
}

fn record_void(state: &Order, view: &OrderView, now_ms: u64) -> Decided {
    if view.voided {
        return answer(state, Vec::new());
    }
    if view.cancellation.is_none() {
        return Err(OrderRejection::NotCancelled);
    }
    if view.captured.is_positive() {
        return Err(OrderRejection::AlreadyCaptured);
    }
    answer(state, vec![OrderEvent::PaymentVoided { at_ms: now_ms }])
}

fn record_refund(state: &Order, view: &OrderView, refund: Refund, now_ms: u64) -> Decided {
    let recorded = view.refunds.iter().find(|known| known.id == refund.id);
    if refund_rules(view, recorded.map(|known| known.id.as_str()), &refund)? {
        return answer(state, Vec::new());
    }
    answer(state, vec![OrderEvent::PaymentRefunded { refund, at_ms: now_ms }])
}

/// The rules every recorded refund keeps, whatever it is for: `recorded` is the id of the
/// refund already recorded for the same purpose (the same refund again is answered from
/// state: `Ok(true)`; another is `RefundConflict`); otherwise its id is no other refund's,
/// its texts and provider are the authorization's, and it is positive, within what was
/// captured and not refunded, and within the bound on refunds.
pub(super) fn refund_rules(
    view: &OrderView,
    recorded: Option<&str>,
    refund: &Refund,
) -> Result<bool, OrderRejection> {
    if let Some(id) = recorded {
        let same = view.refunds.iter().any(|known| known.id == id && known == refund);
        return if same { Ok(true) } else { Err(OrderRejection::RefundConflict) };
    }
    if view.refunds.iter().any(|known| known.id == refund.id) {
        return Err(OrderRejection::RefundConflict);
    }
    if view.disputed() {
        return Err(OrderRejection::PaymentDisputed);
    }
    payment_text("refund", &refund.id, &refund.key)?;
    if refund.psp != view.authorization.psp {
        return Err(OrderRejection::PspMismatch);
    }
    validate::amount(view.currency, refund.amount)?;
    if !refund.amount.is_positive() {
        return Err(OrderRejection::AmountInvalid);
    }
    if refund.amount.minor > view.refundable().minor {
        return Err(OrderRejection::RefundExceedsCaptured { refundable: view.refundable() });
    }
    if view.refunds.len() >= ORDER_REFUNDS_MAX {
        return Err(OrderRejection::TooManyRefunds { max: ORDER_REFUNDS_MAX as u32 });
    }
    Ok(false)
}

fn record_restock(state: &Order, view: &OrderView, now_ms: u64) -> Decided {
    if view.restocked {
        return answer(state, Vec::new());
    }
    if view.cancellation.is_none() {
        return Err(OrderRejection::NotCancelled);
    }
    answer(state, vec![OrderEvent::Restocked { at_ms: now_ms }])
}

fn record_line_restocked(state: &Order, view: &OrderView, line: u16, now_ms: u64) -> Decided {
    if view.cancellation.is_none() {
        return Err(OrderRejection::NotCancelled);
    }
    if usize::from(line) >= view.lines.len() {
        return Err(OrderRejection::LineInvalid { line });
    }
    if view.restocked || view.restocked_lines.binary_search(&line).is_ok() {
        return answer(state, Vec::new());
    }
    answer(state, vec![OrderEvent::LineRestocked { line, at_ms: now_ms }])
}

fn payment_text(what: &str, id: &str, key: &str) -> Result<(), OrderRejection> {
    text(&format!("{what}.id"), id, 1)?;
    text(&format!("{what}.key"), key, 1)
}

/// The reply for `events`: the order once they are applied (an order is small: at most
/// `ORDER_LINES_MAX` lines and bounded payment lists, so a copy is cheap).
pub(super) fn answer(state: &Order, events: Vec<OrderEvent>) -> Decided {
    let order = if events.is_empty() {
        state.view.clone()
    } else {
        let mut next = state.clone();
        events.iter().for_each(|event| next.apply_event(event));
        next.view
    };
    // `decide` answers only for a placed order, or with a placement among the events.
    let order = order.ok_or(OrderRejection::UnknownOrder)?;
    Ok((events, OrderReply { order }))
}
