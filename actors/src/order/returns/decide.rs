//! The rules of returns, as the module doc of [`super`] states them, and their `apply`.

use super::{
    ReceivedReturn, RequestedReturn, ReturnDecision, ReturnLabel, ReturnRequest, ReturnStatus,
    ReturnView, ReturnedLine, line_shares,
};
use crate::ids::{LocationCode, SellerId};
use crate::limits::{ORDER_LINES_MAX, ORDER_RETURNS_MAX};
use crate::money::Money;
use crate::order::decide::{Decided, answer, live, refund_rules};
use crate::order::validate::text;
use crate::order::{DAY_MS, Order, OrderEvent, OrderRejection, OrderView};
use crate::payment::Refund;

pub(in crate::order) fn request(
    state: &Order,
    view: &OrderView,
    request: ReturnRequest,
    now: u64,
) -> Decided {
    if let Some(id) = &request.request_id {
        // Support's retry (a time-out, a double click) meets the return it made.
        text("request_id", id, 1)?;
        if view.returns.iter().any(|r| r.request.request_id.as_ref() == Some(id)) {
            return answer(state, Vec::new());
        }
    }
    live(view)?;
    if view.returns.iter().any(|r| r.decision.is_none()) {
        return Err(OrderRejection::ReturnPending);
    }
    if view.returns.len() >= ORDER_RETURNS_MAX {
        return Err(OrderRejection::TooManyReturns { max: ORDER_RETURNS_MAX as u32 });
    }
    text("comment", &request.comment, 0)?;
    text("carrier", &request.carrier, 1)?;
    if request.lines.is_empty() || request.lines.len() > ORDER_LINES_MAX {
        return Err(OrderRejection::ReturnLinesInvalid);
    }
    let mut shipment_of_return = None;
    let mut lines = Vec::with_capacity(request.lines.len());
    for asked in &request.lines {
        let line = view
            .lines
            .get(usize::from(asked.line))
            .ok_or(OrderRejection::LineInvalid { line: asked.line })?;
        if lines.iter().any(|l: &ReturnedLine| l.line == asked.line) {
            return Err(OrderRejection::ReturnLinesInvalid);
        }
        let not_delivered = || match request.returnless {
            true => OrderRejection::NotShipped,
            false => OrderRejection::NotDelivered { line: asked.line },
        };
        let shipment = view
            .shipments
            .iter()
            .find(|s| s.lines.contains(&asked.line))
            .ok_or_else(not_delivered)?;
        if request.returnless {
            // Support's refund of units that need not come back: shipped is enough.
            shipment.shipped.as_ref().ok_or(OrderRejection::NotShipped)?;
        } else {
            let delivered = shipment.delivered_at_ms.ok_or_else(not_delivered)?;
            let days = u64::from(asked.window_days);
            if now > delivered.saturating_add(days.saturating_mul(DAY_MS)) {
                return Err(OrderRejection::ReturnWindowClosed { line: asked.line });
            }
        }
        if *shipment_of_return.get_or_insert(shipment) != shipment {
            return Err(OrderRejection::ReturnSpansShipments);
        }
        let after = view.returned_units(asked.line);
        let returnable = line.quantity.get().saturating_sub(after);
        if asked.quantity.get() > returnable {
            return Err(OrderRejection::ReturnExceedsLine { line: asked.line, returnable });
        }
        let quantity = asked.quantity.get();
        let shares = line_shares(line, view.commission_bps, after, quantity);
        lines.push(ReturnedLine { line: asked.line, quantity, after, shares });
    }
    let shipment = shipment_of_return.ok_or(OrderRejection::ReturnLinesInvalid)?;
    let amount = lines.iter().map(|l| l.shares.total()).fold(0i64, i64::saturating_add);
    let amount = Money::new(amount, view.currency);
    let number = u16::try_from(view.returns.len() + 1).unwrap_or(u16::MAX);
    let approve = request.auto_approve_up_to.is_some_and(|max| amount.minor <= max.minor);
    let requested = RequestedReturn {
        number,
        shipment: shipment.number,
        seller: shipment.seller.clone(),
        lines,
        reason: request.reason,
        comment: request.comment,
        amount,
        returnless: request.returnless,
        request_id: request.request_id.clone(),
        at_ms: now,
    };
    let to = shipment.location.clone();
    let units = requested.lines.len();
    let mut events = vec![OrderEvent::ReturnRequested(Box::new(requested))];
    if request.returnless {
        // Nothing travels: approved, and settled as received with nothing sellable.
        events.push(OrderEvent::ReturnApproved { number, label: None, by_rule: false, at_ms: now });
        let sellable = vec![0; units];
        events.push(OrderEvent::ReturnReceived { number, sellable, at_ms: now });
    } else if approve {
        let label = Some(label_of(view, number, request.carrier, to));
        events.push(OrderEvent::ReturnApproved { number, label, by_rule: true, at_ms: now });
    }
    answer(state, events)
}

/// The label of return `number`: its tracking number names the order and the return.
fn label_of(view: &OrderView, number: u16, carrier: String, to: LocationCode) -> ReturnLabel {
    ReturnLabel { carrier, tracking: format!("RMA-{}-{number}", view.id), to }
}

/// Support's decision on return `number`: `Some(carrier)` approves it, `None` rejects it.
pub(in crate::order) fn decide_return(
    state: &Order,
    view: &OrderView,
    number: u16,
    approve: Option<String>,
    note: String,
    now: u64,
) -> Decided {
    let known = view.return_of(number).ok_or(OrderRejection::UnknownReturn)?;
    text("note", &note, 0)?;
    match (&known.decision, &approve) {
        (None, _) => {}
        (Some(ReturnDecision::Approved { .. }), Some(_))
        | (Some(ReturnDecision::Rejected { .. }), None) => return answer(state, Vec::new()),
        (Some(_), _) => return Err(OrderRejection::ReturnAlreadyDecided),
    }
    let event = match approve {
        Some(carrier) => {
            text("carrier", &carrier, 1)?;
            let to = view
                .shipment(known.request.shipment)
                .map(|s| s.location.clone())
                .ok_or(OrderRejection::UnknownShipment)?;
            let label = Some(label_of(view, number, carrier, to));
            OrderEvent::ReturnApproved { number, label, by_rule: false, at_ms: now }
        }
        None => OrderEvent::ReturnRejected { number, note, at_ms: now },
    };
    answer(state, vec![event])
}

/// `seller` received return `number`; `sellable` per returned line.
pub(in crate::order) fn receive(
    state: &Order,
    view: &OrderView,
    (number, seller): (u16, &SellerId),
    sellable: Vec<u32>,
    now: u64,
) -> Decided {
    let known = view
        .return_of(number)
        .filter(|r| r.request.seller == *seller)
        .ok_or(OrderRejection::UnknownReturn)?;
    if let Some(received) = &known.received {
        if received.sellable == sellable {
            return answer(state, Vec::new());
        }
        return Err(OrderRejection::ReturnAlreadyReceived);
    }
    if known.status() != ReturnStatus::Approved {
        return Err(OrderRejection::ReturnNotApproved);
    }
    let lines = &known.request.lines;
    if sellable.len() != lines.len() || sellable.iter().zip(lines).any(|(s, l)| *s > l.quantity) {
        return Err(OrderRejection::ReturnLinesInvalid);
    }
    answer(state, vec![OrderEvent::ReturnReceived { number, sellable, at_ms: now }])
}

pub(in crate::order) fn record_refund(
    state: &Order,
    view: &OrderView,
    number: u16,
    refund: Refund,
    now: u64,
) -> Decided {
    let known = view.return_of(number).ok_or(OrderRejection::UnknownReturn)?;
    if known.received.is_none() {
        return Err(OrderRejection::ReturnNotReceived);
    }
    if refund_rules(view, known.refund.as_deref(), &refund)? {
        return answer(state, Vec::new());
    }
    match view.return_refund(known) {
        Some(expected) if expected == refund.amount => {}
        Some(_) => return Err(OrderRejection::AmountInvalid),
        None => {
            return Err(OrderRejection::RefundExceedsCaptured { refundable: view.refundable() });
        }
    }
    answer(state, vec![OrderEvent::ReturnRefunded { number, refund, at_ms: now }])
}

/// Line `line` of return `number` is back on hand.
pub(in crate::order) fn record_line_restocked(
    state: &Order,
    view: &OrderView,
    (number, line): (u16, u16),
    now: u64,
) -> Decided {
    let known = view.return_of(number).ok_or(OrderRejection::UnknownReturn)?;
    if known.received.is_none() {
        return Err(OrderRejection::ReturnNotReceived);
    }
    if !known.request.lines.iter().any(|returned| returned.line == line) {
        return Err(OrderRejection::LineInvalid { line });
    }
    if known.restocked || known.restocked_lines.binary_search(&line).is_ok() {
        return answer(state, Vec::new());
    }
    answer(state, vec![OrderEvent::ReturnLineRestocked { number, line, at_ms: now }])
}

/// Return `number`, received, with nothing left to refund and the goodwill refunded ahead
/// covering all of it: settled without the provider.
pub(in crate::order) fn settle(state: &Order, view: &OrderView, number: u16, now: u64) -> Decided {
    let known = view.return_of(number).ok_or(OrderRejection::UnknownReturn)?;
    if known.status() == ReturnStatus::Refunded {
        return answer(state, Vec::new());
    }
    if known.received.is_none() {
        return Err(OrderRejection::ReturnNotReceived);
    }
    if !view.return_settles_by_goodwill(known) {
        return Err(OrderRejection::RefundExceedsCaptured { refundable: view.refundable() });
    }
    answer(state, vec![OrderEvent::ReturnSettled { number, at_ms: now }])
}

pub(in crate::order) fn record_restocked(
    state: &Order,
    view: &OrderView,
    number: u16,
    now: u64,
) -> Decided {
    let known = view.return_of(number).ok_or(OrderRejection::UnknownReturn)?;
    if known.restocked {
        return answer(state, Vec::new());
    }
    if known.received.is_none() {
        return Err(OrderRejection::ReturnNotReceived);
    }
    answer(state, vec![OrderEvent::ReturnRestocked { number, at_ms: now }])
}

/// Folds a return event into the view (`apply`).
pub(in crate::order) fn apply(view: &mut OrderView, event: &OrderEvent) {
    let find = |view: &mut OrderView, number: u16| {
        view.returns.iter_mut().position(|r| r.request.number == number)
    };
    match event {
        OrderEvent::ReturnRequested(requested) => view.returns.push(ReturnView {
            request: (**requested).clone(),
            decision: None,
            received: None,
            refund: None,
            refunded_at_ms: None,
            restocked_lines: Vec::new(),
            settled_by_goodwill: false,
            restocked: false,
        }),
        OrderEvent::ReturnApproved { number, label, by_rule, at_ms } => {
            if let Some(at) = find(view, *number) {
                let (label, by_rule, at_ms) = (label.clone(), *by_rule, *at_ms);
                view.returns[at].decision =
                    Some(ReturnDecision::Approved { label, by_rule, at_ms });
            }
        }
        OrderEvent::ReturnRejected { number, note, at_ms } => {
            if let Some(at) = find(view, *number) {
                let note = note.clone();
                view.returns[at].decision = Some(ReturnDecision::Rejected { note, at_ms: *at_ms });
            }
        }
        OrderEvent::ReturnReceived { number, sellable, at_ms } => {
            if let Some(at) = find(view, *number) {
                let sellable = sellable.clone();
                view.returns[at].received = Some(ReceivedReturn { sellable, at_ms: *at_ms });
            }
        }
        OrderEvent::ReturnRefunded { number, refund, at_ms } => {
            if let Some(at) = find(view, *number) {
                view.returns[at].refund = Some(refund.id.clone());
                view.returns[at].refunded_at_ms = Some(*at_ms);
            }
            view.refunded =
                Money::new(view.refunded.minor.saturating_add(refund.amount.minor), view.currency);
            view.refunds.push(refund.clone());
        }
        OrderEvent::ReturnLineRestocked { number, line, .. } => {
            if let Some(at) = find(view, *number) {
                let restocked = &mut view.returns[at].restocked_lines;
                if let Err(place) = restocked.binary_search(line) {
                    restocked.insert(place, *line);
                }
            }
        }
        OrderEvent::ReturnSettled { number, at_ms } => {
            if let Some(at) = find(view, *number) {
                view.returns[at].settled_by_goodwill = true;
                view.returns[at].refunded_at_ms = Some(*at_ms);
            }
        }
        OrderEvent::ReturnRestocked { number, .. } => {
            if let Some(at) = find(view, *number) {
                view.returns[at].restocked = true;
            }
        }
        _ => {}
    }
}
