//! What a notice looks like outside: the webhook's JSON body (and the customer's timeline
//! entry), and the signature a delivery carries.
//!
//! A body is `{"id", "type", "occurred_at_ms", "tenant", "order_id", "customer",
//! "order_status", "data"}`; `id` is `{order id}:{notice number}`, the same on every
//! delivery of the notice. The signature header is `t={unix ms},v1={hex}`, the hex being
//! HMAC-SHA256 with the subscription's secret over `{t}.{body}`.

use bazaar_actors::Money;
use bazaar_actors::order::OrderView;
use bazaar_actors::order::timeline::{Happened, Notice};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

/// The header that carries a delivery's signature.
pub const SIGNATURE_HEADER: &str = "bazaar-signature";
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

/// The signature header's value for `body` sent at `at_ms`.
pub fn signature(secret: &str, at_ms: u64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(format!("{at_ms}.").as_bytes());
    mac.update(body);
    format!("t={at_ms},v1={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_over_the_time_and_the_body() {
        // RFC 4231 test case 2, with the time prefix folded into the message.
        let mut mac = Hmac::<Sha256>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        let expected = hex::encode(mac.finalize().into_bytes());
        assert_eq!(expected, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
        let signed = signature("Jefe", 12, b"body");
        let mut mac = Hmac::<Sha256>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"12.body");
        assert_eq!(signed, format!("t=12,v1={}", hex::encode(mac.finalize().into_bytes())));
        assert_ne!(signed, signature("Jefe", 13, b"body"));
    }
}
