//! Shipping and tracking over real HTTP with the real processes: an order placed in auth-only
//! mode is shipped with a label bought from a `bazaar carrier` simulator (which is when its
//! payment is captured), and the carrier's signed tracking events, each posted twice, with a
//! failed delivery attempt on the way, carry it to delivered: each applied once, shown on the
//! order and its timeline. A forged or unsigned event is refused and changes nothing.

use std::time::Duration;

use bazaar_services::signing::signature;
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::checkout::{Shop, Shopper, minor, seller_auth, shipments};
use crate::support::{OPERATOR, SELLER_1, bazaar, eventually_within};

const SECRET: &str = "carrier-shared-secret-for-tests";

fn statuses(shipment: &Value) -> Vec<String> {
    let events = shipment["tracking_events"].as_array().expect("tracking events");
    events.iter().map(|e| e["status"].as_str().unwrap().to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_is_shipped_with_a_label_and_tracked_to_delivery_by_the_carrier() {
    let args =
        ["--secret", SECRET, "--step-ms", "150", "--duplicate-rate", "1", "--exception-rate", "1"];
    let carrier = bazaar().carrier("sim-post", &args);
    let carriers =
        format!(r#"[{{ name = "sim-post", url = "{}", secret = "{SECRET}" }}]"#, carrier.base);
    let shopper = Shopper::new(1);
    let shop =
        Shop::open_configured(std::slice::from_ref(&shopper), 10, 10, &[("carriers", carriers)])
            .await;
    let m = &shop.m;
    m.write(200, Method::PUT, "/admin/psp", OPERATOR, json!({"auth_only": true})).await;
    let me = shopper.auth();
    let cart = m.cart_with(me, &[("B0000CHKA1", "seller-1", 1)]).await;
    let view = m.checkout_completes(me, "track-1", shopper.body(&cart)).await;
    let id = view["order_id"].as_str().unwrap().to_string();
    let order = m.order(me, &id).await;
    assert_eq!(minor(&order["payment"]["captured"]), 0, "auth-only: nothing captured yet");
    let (number, seller) = shipments(&order).remove(0);
    assert_eq!(seller, "seller-1");

    let label = format!("/v1/seller/orders/{id}/shipments/{number}/label");
    let bad = m.post(SELLER_1, &label, json!({"service_level": "teleport"})).await;
    assert_eq!(
        (bad.status, bad.json["code"].as_str()),
        (422, Some("service_level_invalid")),
        "{}",
        bad.text
    );
    let bought = m
        .write(200, Method::POST, &label, seller_auth(&seller), json!({"service_level": "express"}))
        .await;
    let shipment = &bought["shipments"][0];
    assert_eq!(
        (&shipment["carrier"], &shipment["service_level"]),
        (&json!("sim-post"), &json!("express"))
    );
    let tracking = shipment["tracking"].as_str().expect("a tracking number").to_string();
    assert!(tracking.starts_with("SIMP"), "{tracking}");
    // Buying again answers the same label.
    let again =
        m.write(200, Method::POST, &label, SELLER_1, json!({"service_level": "express"})).await;
    assert_eq!(again["shipments"][0]["tracking"], tracking.as_str());

    let total = minor(&view["total"]);
    let delivered =
        eventually_within(Duration::from_secs(20), "the carrier delivers it", async || {
            let order = m.order(me, &id).await;
            let captured = minor(&order["payment"]["captured"]);
            if order["status"] == "delivered" && captured == total {
                Ok(order)
            } else {
                Err(order.to_string())
            }
        })
        .await;
    let shipment = &delivered["shipments"][0];
    // Every event was posted twice and applied once, in order, the failed attempt included.
    let expected = [
        "picked_up",
        "in_transit",
        "out_for_delivery",
        "exception",
        "out_for_delivery",
        "delivered",
    ];
    assert_eq!(statuses(shipment), expected, "{shipment}");
    assert!(shipment["delivered_at_ms"].is_u64());
    let timeline = m.read(me, &format!("/v1/orders/{id}/timeline")).await;
    let told =
        timeline.as_array().unwrap().iter().filter(|e| e["type"] == "shipment.tracking").count();
    assert_eq!(told, expected.len(), "{timeline}");

    // An event without the carrier's signature, or with a wrong one, changes nothing.
    let callback = m.url("/callbacks/carriers/sim-post/events");
    let forged = json!({"event_id": "forged-1", "reference": format!("default/{id}/{number}"),
        "tracking_number": tracking, "status": "exception", "at_ms": 1, "location": "nowhere"});
    let body = serde_json::to_vec(&forged).unwrap();
    let http = reqwest::Client::new();
    let now_ms =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis()
            as u64;
    for signed in [
        None,
        Some(signature("not-the-secret-at-all", now_ms, &body)),
        Some(signature(SECRET, 1, &body)),
    ] {
        let mut request =
            http.post(&callback).header("content-type", "application/json").body(body.clone());
        if let Some(signed) = signed {
            request = request.header("bazaar-signature", signed);
        }
        let answer = request.send().await.unwrap();
        assert_eq!(answer.status().as_u16(), 401);
        let problem: Value = answer.json().await.unwrap();
        assert_eq!(problem["code"], "signature_invalid");
    }
    let after = m.order(me, &id).await;
    assert_eq!(statuses(&after["shipments"][0]), expected);
    // Signed right, the same carrier event id again is a no-op.
    let resent = json!({"event_id": format!("{tracking}-1"), "reference": format!("default/{id}/{number}"),
        "tracking_number": tracking, "status": "picked_up", "at_ms": 1, "location": "origin depot"});
    let body = serde_json::to_vec(&resent).unwrap();
    let answer = http
        .post(&callback)
        .header("content-type", "application/json")
        .header("bazaar-signature", signature(SECRET, now_ms, &body))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 204);
    assert_eq!(statuses(&m.order(me, &id).await["shipments"][0]), expected);

    // No label is bought for a shipment that cannot ship with it: one its seller dispatched
    // with its own carrier is refused before the carrier is asked.
    let cart = m.cart_with(me, &[("B0000CHKA1", "seller-1", 1)]).await;
    let other = m.checkout_completes(me, "track-2", shopper.body(&cart)).await;
    let other = other["order_id"].as_str().unwrap().to_string();
    let own = format!("/v1/seller/orders/{other}/shipments/1/dispatch");
    m.write(200, Method::POST, &own, SELLER_1, json!({"carrier": "DHL", "tracking": "OWN-1"}))
        .await;
    let refused =
        m.post(SELLER_1, &format!("/v1/seller/orders/{other}/shipments/1/label"), json!({})).await;
    assert_eq!((refused.status, refused.json["code"].as_str()), (409, Some("already_shipped")));
    let second = reqwest::get(format!("{}/v1/labels/SIMP0000000002", carrier.base)).await;
    assert_eq!(second.unwrap().status().as_u16(), 404, "no second label was sold");
}
