//! What a notice looks like outside: the webhook's JSON body (and the customer's timeline
//! entry), and the signature a delivery carries.
//!
//! A body is `{"id", "type", "occurred_at_ms", "tenant", "order_id", "customer",
//! "order_status", "data"}`; `id` is `{order id}:{notice number}`, the same on every
//! delivery of the notice. Deliveries are signed as [`crate::signing`] says, with the
//! subscription's secret.

use bazaar_actors::Money;
use bazaar_actors::order::OrderView;
use bazaar_actors::order::timeline::{Happened, Notice};
use serde_json::{Value, json};

/// The header that carries the notice's stable id.
pub const EVENT_ID_HEADER: &str = "bazaar-event-id";

fn money(amount: Money) -> Value {
    json!({"minor": amount.minor, "currency": amount.currency.to_string()})
}

/// What the notice tells, beyond its type.
pub fn data(what: &Happened) -> Value {
    match what {
        Happened::Placed { total } => json!({"total": money(*total)}),
        Happened::PaymentCaptured { amount } | Happened::Refunded { amount } => {
            json!({"amount": money(*amount)})
        }
        Happened::PaymentVoided => json!({}),
        Happened::Cancelled { reason } => json!({"reason": reason}),
        Happened::ShipmentShipped { shipment, carrier, tracking } => {
            json!({"shipment": shipment, "carrier": carrier, "tracking": tracking})
        }
        Happened::ShipmentDelivered { shipment } => json!({"shipment": shipment}),
        Happened::ReturnRequested { number }
        | Happened::ReturnApproved { number }
        | Happened::ReturnRejected { number }
        | Happened::ReturnReceived { number } => json!({"return": number}),
        Happened::Appeased { number, amount } => {
            json!({"appeasement": number, "amount": money(*amount)})
        }
        Happened::Disputed { amount, reason } => {
            json!({"amount": money(*amount), "reason": reason})
        }
        Happened::Tracked { shipment, status, location } => {
            json!({"shipment": shipment, "status": status.as_str(), "location": location})
        }
    }
}

/// The stable id of a notice.
pub fn event_id(order: &OrderView, notice: &Notice) -> String {
    format!("{}:{}", order.id, notice.number)
}

/// The webhook body of `notice` of `order`.
pub fn body(tenant: &str, order: &OrderView, notice: &Notice) -> Value {
    json!({
        "id": event_id(order, notice),
        "type": notice.what.event_type(),
        "occurred_at_ms": notice.at_ms,
        "tenant": tenant,
        "order_id": order.id.to_string(),
        "customer": order.customer.as_str(),
        "order_status": order.status.as_str(),
        "data": data(&notice.what),
    })
}
