//! Customer service over real HTTP: a support agent finds a customer's orders, reads one with
//! support's notes, writes notes, and cancels an order before it ships (refunded and
//! restocked by the payment job, as a customer's own cancellation is); every change is in the
//! agent's audit trail; other roles cannot use the routes, and unknown orders are 404.

use crate::support::checkout::{A, SETTLES, SKU_A, Shop, Shopper, captured_once, minor};
use crate::support::{Auth, OPERATOR, SELLER_1, eventually_within};
use reqwest::Method;
use serde_json::json;

const AGENT: Auth<'static> = Auth::As("support-1");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn support_finds_notes_and_cancels_a_customers_order_and_is_audited() {
    let shopper = Shopper::new(1);
    let shop = Shop::open(std::slice::from_ref(&shopper), 10, 10).await;
    let (m, me) = (&shop.m, shopper.auth());
    let cart = m.cart_with(me, &[(A, "seller-1", 2)]).await;
    let view = m.checkout_completes(me, "cs-1", shopper.body(&cart)).await;
    let (order_id, total) = (view["order_id"].as_str().unwrap().to_string(), minor(&view["total"]));
    captured_once(&shop, &order_id, total).await;

    // The customer's orders, and one of them with no notes yet.
    let listed = m.read(AGENT, &format!("/v1/support/customers/{}/orders", shopper.id)).await;
    assert_eq!(listed[0]["id"], order_id.as_str(), "{listed}");
    assert_eq!(m.read(AGENT, "/v1/support/customers/nobody/orders").await, json!([]));
    let path = format!("/v1/support/orders/{order_id}");
    let read = m.read(AGENT, &path).await;
    assert_eq!((&read["order"]["id"], &read["notes"]), (&json!(order_id), &json!([])));

    // Notes: the agent's name and the text, oldest first; bad ones refused and not kept.
    let notes_path = format!("{path}/notes");
    let noted =
        m.write(201, Method::POST, &notes_path, AGENT, json!({"text": "  asked to cancel "})).await;
    assert_eq!((&noted["by"], &noted["text"]), (&json!("support-1"), &json!("asked to cancel")));
    let bad = m.post(AGENT, &notes_path, json!({"text": "a\u{7}b"})).await;
    assert_eq!(
        (bad.status, bad.json["code"].as_str()),
        (422, Some("note_invalid")),
        "{}",
        bad.text
    );
    // A retried note with its Idempotency-Key is written once, and answered the same.
    let keyed = async || {
        let body = crate::support::Body::Json(json!({"text": "refund promised"}));
        let key = [("idempotency-key", "note-2")];
        m.call_with_headers(Method::POST, &notes_path, AGENT, &key, body).await
    };
    let (first, again) = (keyed().await, keyed().await);
    assert_eq!((first.status, again.status), (201, 201), "{}", again.text);
    assert_eq!(again.json, first.json);
    assert!(again.headers.contains_key("idempotent-replayed"), "{:?}", again.headers);
    let texts: Vec<_> = m.read(AGENT, &path).await["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|note| note["text"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(texts, ["asked to cancel", "refund promised"]);

    // Support cancels before shipping: refunded and restocked like the customer's own.
    let cancelled = m
        .write(
            200,
            Method::POST,
            &format!("{path}/cancellation"),
            AGENT,
            json!({"reason": "customer called"}),
        )
        .await;
    assert_eq!(cancelled["status"], "cancelled", "{cancelled}");
    eventually_within(SETTLES, "the cancelled order is refunded and restocked", async || {
        let order = m.order(me, &order_id).await;
        let level = m.stock_level(SELLER_1, SKU_A).await;
        match (minor(&order["payment"]["refunded"]) == total, level) {
            (true, (10, 0, 10)) => Ok(()),
            _ => Err(format!("{} {level:?}", order["payment"])),
        }
    })
    .await;

    // Others: a customer may not use the routes; an unknown order or customer id is 404.
    assert_eq!(m.get(me, &path).await.status, 403);
    assert_eq!(m.post(me, &notes_path, json!({"text": "mine"})).await.status, 403);
    assert_eq!(m.get(AGENT, "/v1/support/orders/o-doesnotexist").await.status, 404);
    let unknown = format!("/v1/support/orders/o-{}", "0".repeat(32));
    assert_eq!(m.get(AGENT, &unknown).await.status, 404, "a well-formed id of no order");
    let note = json!({"text": "lost"});
    assert_eq!(m.post(AGENT, &format!("{unknown}/notes"), note).await.status, 404);
    assert_eq!(m.get(AGENT, "/v1/support/customers/bad%20id/orders").await.status, 404);

    // Every change the agent asked for is in its trail (reads are not), refused ones too.
    let trail = m.read(OPERATOR, "/admin/audit/support/support-1").await;
    let changes: Vec<(u64, String)> = trail["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["status"].as_u64().unwrap(), r["path"].as_str().unwrap().to_string()))
        .collect();
    let cancellation = format!("{path}/cancellation");
    assert_eq!(
        changes,
        [
            (404, format!("{unknown}/notes")),
            (200, cancellation),
            (201, notes_path.clone()), // the replay, answered from the key
            (201, notes_path.clone()),
            (422, notes_path.clone()),
            (201, notes_path)
        ],
        "newest first: {trail}"
    );
    shop.m.shut_down();
}
