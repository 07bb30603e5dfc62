//! How a checkout pays, end to end over real HTTP, when the providers fail or capture waits:
//! a real `bazaar serve` and two real `bazaar psp` simulators (primary and backup), whose
//! records judge what happened to the money. Each test has its own marketplace and simulators:
//! - the backup authorizes while the primary is down, whose breaker opens;
//! - with both down the checkout fails at `authorize` and holds nothing, and once they are
//!   back the deferred void gets through and the unit sells;
//! - in auth-only mode the payment is captured at shipment, not before;
//! - past `[checkout] running_max` sagas a new checkout is busy, while a retry of one begun is
//!   answered.

use std::time::Duration;

use crate::support::checkout::{
    A, B, SKU_A, Shop, Shopper, assert_trial_balance_zero, authorizations_for, balance,
    captured_once, dispatch_all, minor,
};
use crate::support::{OPERATOR, SELLER_1, assert_problem, eventually, eventually_within};
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_primary_down_the_backup_authorizes_and_the_primarys_breaker_opens() {
    let shoppers: Vec<Shopper> = (1..=3).map(Shopper::new).collect();
    let shop = Shop::open(&shoppers, 10, 10).await;
    let m = &shop.m;
    shop.primary.knobs(json!({"outage": true})).await;
    let mut placed = Vec::new();
    let mut breaker = Value::Null;
    for shopper in &shoppers {
        let cart = m.cart_with(shopper.auth(), &[(A, "seller-1", 1)]).await;
        let key = format!("failover-{}", shopper.n);
        let view = m.checkout_completes(shopper.auth(), &key, shopper.body(&cart)).await;
        let order_id = view["order_id"].as_str().unwrap().to_string();
        let order = m.order(shopper.auth(), &order_id).await;
        assert_eq!(order["payment"]["provider"], "backup", "{order}");
        placed.push((shopper, order_id, minor(&view["total"])));
        let status = m.psp_status().await;
        assert_eq!(status["providers"][0]["name"], "primary", "{status}");
        breaker = status["providers"][0]["breaker"].clone();
        if breaker == "open" {
            assert_eq!(status["providers"][1]["breaker"], "closed", "{status}");
            break;
        }
    }
    assert_eq!(
        breaker,
        "open",
        "the primary's breaker after {} failed-over checkouts",
        placed.len()
    );
    for (shopper, order_id, total) in &placed {
        let (psp, _) = captured_once(&shop, order_id, *total).await;
        assert_eq!(psp, "backup", "captured where it was authorized");
        let at_primary = authorizations_for(&[&shop.primary], order_id).await;
        assert!(
            at_primary.iter().all(|(_, r)| r["status"] == "voided"),
            "the primary holds nothing for {order_id}: {at_primary:?}"
        );
        m.order_captured(shopper.auth(), order_id).await;
    }
    let units = placed.len() as u64;
    assert_eq!(m.stock_level(SELLER_1, SKU_A).await, (10 - units, 0, 10 - units));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_both_providers_down_a_checkout_fails_at_authorize_and_holds_nothing() {
    let (first, second) = (Shopper::new(1), Shopper::new(2));
    let shop = Shop::open(&[first.clone(), second.clone()], 1, 1).await;
    let m = &shop.m;
    for psp in shop.psps() {
        psp.knobs(json!({"outage": true})).await;
    }
    let cart = m.cart_with(first.auth(), &[(A, "seller-1", 1)]).await;
    let reply = m.checkout(first.auth(), "down-1", first.body(&cart)).await;
    assert_problem(&reply, 503, "payment_unavailable");
    assert_eq!(reply.json["step"], "authorize", "{}", reply.text);
    let view = m.checkout_status(first.auth(), "down-1").await.json;
    assert_eq!(
        (&view["status"], &view["failure"]["step"], &view["failure"]["code"]),
        (&json!("failed"), &json!("authorize"), &json!("payment_unavailable")),
        "{view}"
    );
    let order_id = view["order_id"].as_str().unwrap().to_string();
    assert_eq!(m.stock_level(SELLER_1, SKU_A).await, (1, 0, 1), "the hold is released");
    assert!(m.orders(first.auth()).await.is_empty());
    assert_eq!(m.get(first.auth(), &format!("/v1/orders/{order_id}")).await.status, 404);
    shop.assert_nothing_held(&order_id).await;
    let cart_now = m.read(first.auth(), &format!("/v1/carts/{cart}")).await;
    assert_eq!(cart_now["lines"].as_array().map(Vec::len), Some(1), "the cart is kept: {cart_now}");

    // Back up: the background void (the compensation deferred while both were down) gets
    // through, which closes both breakers; then another cart buys the same unit. Waiting for
    // "closed" rather than "half_open" keeps the checkout from meeting a breaker whose one
    // probe call is taken by that void.
    for psp in shop.psps() {
        psp.knobs(json!({"outage": false})).await;
    }
    eventually_within(Duration::from_secs(30), "both breakers close again", async || {
        let status = m.psp_status().await;
        let providers = status["providers"].as_array().unwrap();
        if providers.iter().all(|p| p["breaker"] == "closed") {
            Ok(())
        } else {
            Err(status.to_string())
        }
    })
    .await;
    let other = m.cart_with(second.auth(), &[(A, "seller-1", 1)]).await;
    let view = m.checkout_completes(second.auth(), "up-1", second.body(&other)).await;
    let bought = view["order_id"].as_str().unwrap();
    captured_once(&shop, bought, minor(&view["total"])).await;
    assert_eq!(m.stock_level(SELLER_1, SKU_A).await, (0, 0, 0));
    shop.assert_nothing_held(&order_id).await;
    assert!(m.orders(first.auth()).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_auth_only_mode_the_payment_is_captured_when_the_order_ships() {
    let shopper = Shopper::new(1);
    let shop = Shop::open(std::slice::from_ref(&shopper), 10, 10).await;
    let (m, me) = (&shop.m, shopper.auth());
    let status =
        m.write(200, Method::PUT, "/admin/psp", OPERATOR, json!({"auth_only": true})).await;
    assert_eq!((&status["mode"], &status["auth_only_manual"]), (&json!("auth_only"), &json!(true)));
    assert_eq!(m.psp_status().await["mode"], "auth_only");

    let cart = m.cart_with(me, &[(A, "seller-1", 1), (B, "seller-2", 2)]).await;
    let view = m.checkout_completes(me, "auth-only-1", shopper.body(&cart)).await;
    assert_eq!(view["capture"], "at_shipment", "{view}");
    let (order_id, total) = (view["order_id"].as_str().unwrap().to_string(), minor(&view["total"]));
    let order = m.order(me, &order_id).await;
    assert_eq!(order["payment"]["capture"], "at_shipment", "{order}");
    let held = eventually("the authorization at the primary", async || {
        let records = authorizations_for(&shop.psps(), &order_id).await;
        match records.as_slice() {
            [(psp, record)] if psp == "primary" => Ok(record.clone()),
            _ => Err(format!("{records:?}")),
        }
    })
    .await;
    assert_eq!(
        (&held["status"], held["amount_minor"].as_i64(), held["captured_minor"].as_i64()),
        (&json!("authorized"), Some(total), Some(0)),
        "{held}"
    );
    // Not a wait for something to happen: time for a wrong capture to show, if there is one.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let records = authorizations_for(&shop.psps(), &order_id).await;
    assert_eq!(records[0].1["captured_minor"], 0, "captured before shipment: {records:?}");
    assert_eq!(minor(&m.order(me, &order_id).await["payment"]["captured"]), 0);
    let ledger = m.ledger_once("the placement reaches the ledger", "customer:cust-1", total).await;
    assert_eq!(balance(&ledger, "psp_clearing:primary"), 0, "placed, not captured: {ledger}");

    dispatch_all(m, &order).await;
    captured_once(&shop, &order_id, total).await;
    m.order_captured(me, &order_id).await;
    let ledger =
        m.ledger_once("the capture reaches the ledger", "psp_clearing:primary", total).await;
    assert_trial_balance_zero(&ledger);
    assert_eq!(balance(&ledger, "customer:cust-1"), 0, "{ledger}");
    m.reconciled().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_running_bound_a_new_checkout_is_busy_and_a_retry_is_answered() {
    let shoppers: Vec<Shopper> = (1..=3).map(Shopper::new).collect();
    let knobs = [("running_max", "1".to_string())];
    let shop = Shop::open_configured(&shoppers, 10, 10, &knobs).await;
    let m = &shop.m;
    // A slow provider keeps a saga running while other requests arrive.
    let slow = json!({"latency_p50_ms": 1500, "latency_p99_ms": 1500});
    for psp in shop.psps() {
        psp.knobs(slow.clone()).await;
    }
    let checkout = async |shopper: &Shopper, key: &str| {
        let cart = m.cart_with(shopper.auth(), &[(A, "seller-1", 1)]).await;
        (m.checkout(shopper.auth(), key, shopper.body(&cart)).await, shopper.body(&cart))
    };
    let (done, done_body) = checkout(&shoppers[0], "busy-1").await;
    assert_eq!(done.status, 201, "{}", done.text);

    // The one slot taken by a running saga: a new checkout is busy; retries of the finished
    // saga and of the running one are answered.
    let running = checkout(&shoppers[1], "busy-2");
    let others = async {
        // Once busy-2 has begun (it holds the slot while the provider takes 1.5 s).
        eventually("busy-2 runs", async || {
            let status = m.checkout_status(shoppers[1].auth(), "busy-2").await;
            match status.json["status"].as_str() {
                Some("pending") => Ok(()),
                _ => Err(status.text),
            }
        })
        .await;
        let (busy, body) = checkout(&shoppers[2], "busy-3").await;
        let finished = m.checkout(shoppers[0].auth(), "busy-1", done_body.clone()).await;
        (busy, body, finished)
    };
    let ((answered, body_2), (busy, body_3, finished)) = tokio::join!(running, others);
    assert_problem(&busy, 503, "checkouts_busy");
    assert_eq!(busy.headers["retry-after"], "1");
    assert_eq!((finished.status, &finished.json), (201, &done.json), "{}", finished.text);
    assert_eq!(answered.status, 201, "{}", answered.text);
    let again = m.checkout(shoppers[1].auth(), "busy-2", body_2).await;
    assert_eq!(again.json["order_id"], answered.json["order_id"]);
    // Room again: the refused checkout goes through with its key.
    m.checkout_completes(shoppers[2].auth(), "busy-3", body_3).await;
}
