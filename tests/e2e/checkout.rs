//! Checkout as a saga, end to end over real HTTP: a real `bazaar serve` and two real `bazaar
//! psp` simulators (primary and backup), whose settlement reports judge what happened to
//! the money. Each test has its own marketplace and simulators:
//! - a placed order matches the cart, is captured, posted to the ledger, reconciled, shipped
//!   and delivered;
//! - twenty concurrent copies of one checkout place one order, authorized once;
//! - declines, stock-outs and bad requests leave no order, no hold and no live authorization.
//!
//! How a checkout pays when a provider is down, or when capture waits for shipment, is in
//! `checkout_payments`.

use std::collections::BTreeSet;

use crate::support::checkout::{
    A, B, SKU_A, SKU_B, Shop, Shopper, assert_trial_balance_zero, authorizations,
    authorizations_for, balance, captured_once, commission, minor, seller_auth, settled_view,
    shipments,
};
use crate::support::{Auth, Body, CUSTOMER, SELLER_1, SELLER_2, assert_problem, eventually};
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkout_places_the_carts_order_captures_it_and_ships_it_to_delivery() {
    let shopper = Shopper::new(1);
    let shop = Shop::open(std::slice::from_ref(&shopper), 10, 10).await;
    let (m, me) = (&shop.m, shopper.auth());
    let cart = m.cart_with(me, &[(A, "seller-1", 2), (B, "seller-2", 1)]).await;
    let priced = m.read(me, &format!("/v1/carts/{cart}?country=DE")).await;
    let totals = &priced["totals"];
    let total = minor(&totals["total"]);
    assert!(total > 0, "{priced}");

    let view = m.checkout_completes(me, "happy-1", shopper.body(&cart)).await;
    let order_id = view["order_id"].as_str().expect("an order id").to_string();
    assert!(order_id.starts_with("o-"), "{view}");
    assert_eq!(
        view,
        json!({"key": "happy-1", "status": "completed", "step": null, "order_id": order_id,
            "order_url": format!("/v1/orders/{order_id}"), "status_url": "/v1/checkouts/happy-1",
            "total": totals["total"], "fraud": "accept", "capture": "at_placement",
            "failure": null, "next_action": null}),
    );
    assert_eq!(m.checkout_status(me, "happy-1").await.json, view, "the status URL agrees");

    // The order is the cart as priced, with one shipment per seller.
    let order = m.order(me, &order_id).await;
    assert_eq!((&order["id"], &order["status"]), (&json!(order_id), &json!("placed")));
    for field in ["subtotal", "discount", "vat", "total"] {
        assert_eq!(order[field], totals[field], "{field}: order {order}, cart {priced}");
    }
    let shipping = minor(&totals["shipping"]) - minor(&totals["shipping_discount"]);
    assert_eq!(minor(&order["shipping"]), shipping, "{order}");
    let cart_lines = priced["lines"].as_array().unwrap();
    let order_lines = order["lines"].as_array().unwrap();
    assert_eq!(order_lines.len(), 2, "{order}");
    for cart_line in cart_lines {
        let asin = &cart_line["asin"];
        let line = order_lines.iter().find(|l| l["asin"] == *asin).expect("the cart's line");
        for field in
            ["seller", "quantity", "unit_price", "discount", "vat_rate_bps", "vat", "total"]
        {
            assert_eq!(line[field], cart_line[field], "{field} of {asin}: {line} vs {cart_line}");
        }
        assert_eq!(line["location"], "FRA1");
    }
    let payment = &order["payment"];
    assert_eq!(
        (&payment["provider"], &payment["authorized"], &payment["capture"], &payment["voided"]),
        (&json!("primary"), &totals["total"], &json!("at_placement"), &json!(false)),
        "{order}"
    );
    assert_eq!(order["fraud"]["decision"], "accept", "{order}");
    let sellers: BTreeSet<String> = shipments(&order).into_iter().map(|(_, s)| s).collect();
    assert_eq!(sellers, BTreeSet::from(["seller-1".into(), "seller-2".into()]), "{order}");
    for shipment in order["shipments"].as_array().unwrap() {
        assert_eq!(shipment["location"], "FRA1");
        for index in shipment["lines"].as_array().unwrap() {
            let line = &order_lines[index.as_u64().unwrap() as usize];
            assert_eq!(line["seller"], shipment["seller"], "{order}");
        }
    }
    let summaries = m.orders_are(me, &[&order_id]).await;
    assert_eq!(
        (&summaries[0]["total"], &summaries[0]["lines"]),
        (&totals["total"], &json!(2)),
        "{summaries:?}"
    );
    assert_eq!(m.get(CUSTOMER, &format!("/v1/orders/{order_id}")).await.status, 404);

    // The cart is emptied, the units are sold.
    let emptied = m.read(me, &format!("/v1/carts/{cart}")).await;
    assert_eq!(emptied["lines"].as_array().map(Vec::len), Some(0), "{emptied}");
    assert_eq!(m.stock_level(SELLER_1, SKU_A).await, (8, 0, 8));
    assert_eq!(m.stock_level(SELLER_2, SKU_B).await, (9, 0, 9));

    // The payment: one authorization at the primary, under the order id, captured in full.
    let (psp, _) = captured_once(&shop, &order_id, total).await;
    assert_eq!(psp, "primary");
    assert_eq!(authorizations(&shop.psps()).await.len(), 1, "nothing else at the providers");
    let order = m.order_captured(me, &order_id).await;

    // The ledger, by its rules: placed and fully captured.
    let vat = minor(&totals["vat"]);
    let net_of = |asin: &str| {
        let line = cart_lines.iter().find(|l| l["asin"] == asin).unwrap();
        minor(&line["net"])
    };
    let (net_a, net_b) = (net_of(A), net_of(B));
    assert_eq!(net_a + net_b + vat, total, "{priced}");
    let ledger =
        m.ledger_once("the capture reaches the ledger", "psp_clearing:primary", total).await;
    assert_trial_balance_zero(&ledger);
    let expected = [
        ("customer:cust-1", 0),
        ("psp_clearing:primary", total),
        ("vat_payable", -vat),
        ("commission", -(commission(net_a) + commission(net_b))),
        ("seller_payable:seller-1", -(net_a - commission(net_a))),
        ("seller_payable:seller-2", -(net_b - commission(net_b))),
        ("refunds", 0),
    ];
    for (account, minor) in expected {
        assert_eq!(balance(&ledger, account), minor, "{account}: {ledger}");
    }
    let reconciliation = m.reconciled().await;
    assert_eq!(reconciliation["providers"], json!(["primary", "backup"]), "{reconciliation}");
    assert!(reconciliation["compared"].as_u64() >= Some(1), "{reconciliation}");

    // Each seller sees its own lines; another seller's shipment is not found.
    for (seller, asin) in [(SELLER_1, A), (SELLER_2, B)] {
        let mine = eventually("the seller sees its lines", async || {
            let listed = m.read(seller, "/v1/seller/orders").await;
            let found = listed.as_array().unwrap().iter().find(|o| o["id"] == order_id).cloned();
            found.ok_or_else(|| listed.to_string())
        })
        .await;
        let asins: Vec<&Value> =
            mine["lines"].as_array().unwrap().iter().map(|l| &l["asin"]).collect();
        assert_eq!(asins, [&json!(asin)], "{mine}");
        assert_eq!(mine["shipments"].as_array().map(Vec::len), Some(1), "{mine}");
    }
    let (theirs, _) = shipments(&order).into_iter().find(|(_, s)| s == "seller-1").unwrap();
    let path = format!("/v1/seller/orders/{order_id}/shipments/{theirs}/dispatch");
    let reply = m.post(SELLER_2, &path, json!({"carrier": "DHL", "tracking": "X"})).await;
    assert_eq!(reply.status, 404, "another seller's shipment: {}", reply.text);
    for number in ["abc", "70000"] {
        let path = format!("/v1/seller/orders/{order_id}/shipments/{number}/dispatch");
        let reply = m.post(SELLER_1, &path, json!({"carrier": "DHL", "tracking": "X"})).await;
        crate::support::assert_problem_of(&path, &reply, 404, "not_found");
    }

    // Dispatch and delivery move the order to delivered.
    let mut moved = Vec::new();
    for (number, seller) in shipments(&order) {
        let path = format!("/v1/seller/orders/{order_id}/shipments/{number}/dispatch");
        let body = json!({"carrier": "DHL", "tracking": format!("TRACK-{number}")});
        m.write(200, Method::POST, &path, seller_auth(&seller), body).await;
        moved.push(m.order(me, &order_id).await["status"].clone());
    }
    for (number, seller) in shipments(&order) {
        let path = format!("/v1/seller/orders/{order_id}/shipments/{number}/delivery");
        let reply = m.call(Method::POST, &path, seller_auth(&seller), Body::None).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.text);
    }
    let delivered = m.order(me, &order_id).await;
    moved.push(delivered["status"].clone());
    assert_eq!(moved, [json!("partly_shipped"), json!("shipped"), json!("delivered")]);
    for shipment in delivered["shipments"].as_array().unwrap() {
        assert!(shipment["shipped_at_ms"].is_u64() && shipment["delivered_at_ms"].is_u64());
        assert_eq!(shipment["carrier"], "DHL", "{delivered}");
    }
    m.reconciled().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_concurrent_copies_of_a_checkout_place_one_order_authorized_once() {
    let (shopper, other) = (Shopper::new(1), Shopper::new(2));
    let shop = Shop::open(&[shopper.clone(), other.clone()], 10, 10).await;
    let (m, me) = (&shop.m, shopper.auth());
    let cart = m.cart_with(me, &[(A, "seller-1", 1)]).await;
    let body = shopper.body(&cart);
    let mut copies = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let (client, body, id) = (m.client(), body.clone(), shopper.id.clone());
        copies.spawn(async move {
            let headers = [("idempotency-key", "same-key-1")];
            let sent = client
                .try_call(Method::POST, "/v1/checkouts", Auth::As(&id), &headers, Body::Json(body))
                .await;
            sent.expect("an answer")
        });
    }
    let mut views = Vec::new();
    while let Some(reply) = copies.join_next().await {
        let reply = reply.unwrap();
        views.push(settled_view(m, me, "same-key-1", &reply).await);
    }
    let first = views[0].clone();
    assert!(views.iter().all(|view| *view == first), "one checkout, one answer: {views:?}");
    let order_id = first["order_id"].as_str().unwrap().to_string();
    m.orders_are(me, &[&order_id]).await;
    captured_once(&shop, &order_id, minor(&first["total"])).await;
    assert_eq!(authorizations(&shop.psps()).await.len(), 1, "one authorization in all");
    assert_eq!(m.stock_level(SELLER_1, SKU_A).await, (9, 0, 9));

    // The same request again answers the same; the key with another request is refused.
    let again = m.checkout(me, "same-key-1", body.clone()).await;
    assert_eq!((again.status, &again.json), (201, &first), "{}", again.text);
    let reused = m.checkout(me, "same-key-1", shopper.body_with_card(&cart, "tok_visa_x")).await;
    assert_problem(&reused, 422, "idempotency_key_reused");
    // Keys belong to their customer: another one's checkout under the same key is its own.
    let theirs = m.cart_with(other.auth(), &[(A, "seller-1", 1)]).await;
    let view = m.checkout_completes(other.auth(), "same-key-1", other.body(&theirs)).await;
    assert_ne!(view["order_id"], first["order_id"]);
    m.orders_are(me, &[&order_id]).await;
    assert_eq!(m.stock_level(SELLER_1, SKU_A).await, (8, 0, 8));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declines_stock_outs_and_bad_requests_leave_nothing_behind() {
    let shoppers: Vec<Shopper> = (1..=3).map(Shopper::new).collect();
    let (declined, short, careless) = (&shoppers[0], &shoppers[1], &shoppers[2]);
    let shop = Shop::open(&shoppers, 5, 3).await;
    let m = &shop.m;

    // A declined card: 402 at authorize, the hold released, the cart kept, no order.
    let cart = m.cart_with(declined.auth(), &[(A, "seller-1", 2)]).await;
    let body = declined.body_with_card(&cart, "tok_decline");
    let reply = m.checkout(declined.auth(), "declined-1", body).await;
    assert_problem(&reply, 402, "payment_declined");
    assert_eq!(reply.json["step"], "authorize", "{}", reply.text);
    let view = m.checkout_status(declined.auth(), "declined-1").await.json;
    assert_eq!(
        (&view["status"], &view["failure"]["step"], &view["failure"]["code"]),
        (&json!("failed"), &json!("authorize"), &json!("payment_declined")),
        "{view}"
    );
    let declined_order = view["order_id"].as_str().unwrap().to_string();
    let records = shop.assert_nothing_held(&declined_order).await;
    assert_eq!(records.len(), 1, "declined at the primary, not failed over: {records:?}");
    assert_eq!((records[0].0.as_str(), &records[0].1["status"]), ("primary", &json!("declined")));
    assert_eq!(m.stock_level(SELLER_1, SKU_A).await, (5, 0, 5));

    // Out of stock on the second line: 409 at reserve, the first line's hold released.
    let short_cart = m.cart_with(short.auth(), &[(A, "seller-1", 1), (B, "seller-2", 4)]).await;
    let reply = m.checkout(short.auth(), "short-1", short.body(&short_cart)).await;
    assert_problem(&reply, 409, "out_of_stock");
    assert_eq!(reply.json["step"], "reserve", "{}", reply.text);
    let view = m.checkout_status(short.auth(), "short-1").await.json;
    assert_eq!(
        (&view["status"], &view["failure"]["code"]),
        (&json!("failed"), &json!("out_of_stock"))
    );
    assert!(authorizations_for(&shop.psps(), view["order_id"].as_str().unwrap()).await.is_empty());
    assert_eq!(m.stock_level(SELLER_1, SKU_A).await, (5, 0, 5));
    assert_eq!(m.stock_level(SELLER_2, SKU_B).await, (3, 0, 3));

    // Carts that cannot be checked out.
    let empty = m.cart_with(careless.auth(), &[]).await;
    let reply = m.checkout(careless.auth(), "empty-1", careless.body(&empty)).await;
    assert_problem(&reply, 422, "cart_empty");
    for (key, cart) in [("nocart-1", "c-doesnotexist"), ("nocart-2", cart.as_str())] {
        let reply = m.checkout(careless.auth(), key, careless.body(cart)).await;
        assert_problem(&reply, 404, "cart_not_found");
    }

    // Bad requests: refused before any checkout begins.
    let good_cart = m.cart_with(careless.auth(), &[(A, "seller-1", 1)]).await;
    let good = careless.body(&good_cart);
    let with = |path: &[&str], value: Value| {
        let mut body = good.clone();
        let (last, parents) = path.split_last().unwrap();
        let mut target = &mut body;
        for parent in parents {
            target = &mut target[*parent];
        }
        target[*last] = value;
        body
    };
    let mut without_payment = good.clone();
    without_payment.as_object_mut().unwrap().remove("payment");
    let long_key = "k".repeat(65);
    let cases: Vec<(Option<&str>, Body, u16, &str)> = vec![
        (None, Body::Json(good.clone()), 400, "idempotency_key_required"),
        (Some("has space"), Body::Json(good.clone()), 400, "invalid_idempotency_key"),
        (Some(long_key.as_str()), Body::Json(good.clone()), 400, "invalid_idempotency_key"),
        (Some("bad-1"), Body::Json(with(&["gift"], json!(true))), 422, "invalid_body"),
        (Some("bad-2"), Body::Json(with(&["ship_to", "floor"], json!(3))), 422, "invalid_body"),
        (Some("bad-3"), Body::Json(without_payment), 422, "invalid_body"),
        (
            Some("bad-4"),
            Body::Raw(Some("application/json"), b"{\"cart_id\":".to_vec()),
            400,
            "malformed_json",
        ),
        (Some("bad-5"), Body::Json(with(&["ship_to", "country"], json!("ZZ"))), 422, "invalid_id"),
        (
            Some("bad-6"),
            Body::Json(with(&["payment", "billing_country"], json!("DEU"))),
            422,
            "invalid_id",
        ),
        (Some("bad-7"), Body::Json(with(&["ship_to", "name"], json!(" "))), 422, "address_invalid"),
        (Some("bad-8"), Body::Json(with(&["payment", "card"], json!(""))), 422, "card_invalid"),
        // No cart can have such an id (and no saga may retry it forever).
        (
            Some("bad-9"),
            Body::Json(with(&["cart_id"], json!("c-".repeat(300)))),
            404,
            "cart_not_found",
        ),
        (Some("bad-10"), Body::Json(with(&["cart_id"], json!("c-a/b"))), 404, "cart_not_found"),
    ];
    for (key, body, status, code) in cases {
        let headers: Vec<(&str, &str)> =
            key.map(|key| ("idempotency-key", key)).into_iter().collect();
        let reply = m
            .call_with_headers(Method::POST, "/v1/checkouts", careless.auth(), &headers, body)
            .await;
        crate::support::assert_problem_of(&format!("key {key:?}"), &reply, status, code);
        if let Some(key) = key.filter(|key| key.len() <= 64 && !key.contains(' ')) {
            let status = m.checkout_status(careless.auth(), key).await;
            assert_eq!(status.status, 404, "no checkout began under {key}: {}", status.text);
        }
    }
    let headers = [("idempotency-key", "anon-1")];
    let anonymous = m
        .call_with_headers(
            Method::POST,
            "/v1/checkouts",
            Auth::None,
            &headers,
            Body::Json(good.clone()),
        )
        .await;
    assert_eq!(anonymous.status, 401, "{}", anonymous.text);
    let as_seller = m
        .call_with_headers(
            Method::POST,
            "/v1/checkouts",
            SELLER_1,
            &headers,
            Body::Json(good.clone()),
        )
        .await;
    assert_problem(&as_seller, 403, "wrong_role");

    // Nothing changed: no order, no hold, nothing at the providers but the decline.
    for shopper in &shoppers {
        assert!(m.orders(shopper.auth()).await.is_empty(), "{} has no order", shopper.id);
    }
    assert_eq!(m.stock_level(SELLER_1, SKU_A).await, (5, 0, 5));
    assert_eq!(m.stock_level(SELLER_2, SKU_B).await, (3, 0, 3));
    assert_eq!(authorizations(&shop.psps()).await.len(), 1, "only the decline");

    // And the kept carts still check out: the declined one with another card.
    let view = m.checkout_completes(careless.auth(), "good-1", good).await;
    captured_once(&shop, view["order_id"].as_str().unwrap(), minor(&view["total"])).await;
    let view = m.checkout_completes(declined.auth(), "declined-2", declined.body(&cart)).await;
    captured_once(&shop, view["order_id"].as_str().unwrap(), minor(&view["total"])).await;
    assert_eq!(m.stock_level(SELLER_1, SKU_A).await, (2, 0, 2));
}
