//! Chargebacks over real HTTP with the real provider simulators: a customer disputes a
//! captured payment (the simulator's admin call, and its `dispute_rate` knob); Bazaar learns
//! it from the provider, records it on the order, and the ledger books it by rule: the
//! sellers bear a dispute that blames their goods or delivery, the marketplace a fraudulent
//! one. The ledger still balances and reconciles with the providers; the disputed order's
//! money is final (no cancellation, no refund).

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::checkout::{
    Shop, Shopper, assert_trial_balance_zero, balance, captured_once, minor,
};
use crate::support::{assert_problem, eventually_within};

/// The provider's key of the authorization of order `id`.
async fn authorization_key(shop: &Shop, id: &str) -> String {
    let reference = format!("default/{id}");
    let all = shop.primary.authorizations().await;
    let found =
        all.iter().find(|a| a["reference"] == reference.as_str()).expect("its authorization");
    found["key"].as_str().unwrap().to_string()
}

/// Order `id` once its chargeback is recorded.
async fn charged_back(shop: &Shop, who: crate::support::Auth<'_>, id: &str) -> Value {
    eventually_within(Duration::from_secs(10), "the chargeback is recorded", async || {
        let order = shop.m.order(who, id).await;
        if order["payment"]["chargeback"].is_object() { Ok(order) } else { Err(order.to_string()) }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chargeback_is_recorded_and_booked_to_whoever_the_rule_says_bears_it() {
    let shoppers = [Shopper::new(1), Shopper::new(2), Shopper::new(3)];
    let poll = [("dispute_poll_ms", "200".to_string())];
    let shop = Shop::open_configured(&shoppers, 10, 10, &poll).await;
    let m = &shop.m;
    let mut orders = Vec::new();
    for (n, (shopper, (asin, seller))) in
        shoppers.iter().zip([("B0000CHKA1", "seller-1"), ("B0000CHKB1", "seller-2")]).enumerate()
    {
        let cart = m.cart_with(shopper.auth(), &[(asin, seller, 1)]).await;
        let view =
            m.checkout_completes(shopper.auth(), &format!("cb-{n}"), shopper.body(&cart)).await;
        let id = view["order_id"].as_str().unwrap().to_string();
        captured_once(&shop, &id, minor(&view["total"])).await;
        orders.push((id, minor(&view["total"])));
    }
    let (goods, fraud) = (&orders[0], &orders[1]);
    let held = goods.1 + fraud.1;
    let before =
        m.ledger_once("both captures are in the ledger", "psp_clearing:primary", held).await;
    for ((id, _), reason) in [(goods, "product_not_received"), (fraud, "fraudulent")] {
        let key = authorization_key(&shop, id).await;
        let (status, dispute) = shop
            .primary
            .post("/admin/disputes", json!({"authorization_key": key, "reason": reason}))
            .await;
        assert_eq!(status, 200, "{dispute}");
    }

    let order = charged_back(&shop, shoppers[0].auth(), &goods.0).await;
    let chargeback = &order["payment"]["chargeback"];
    assert_eq!(
        (&chargeback["reason"], &chargeback["borne_by"]),
        (&json!("product_not_received"), &json!("sellers"))
    );
    assert_eq!(minor(&chargeback["amount"]), goods.1);
    let order = charged_back(&shop, shoppers[1].auth(), &fraud.0).await;
    assert_eq!(order["payment"]["chargeback"]["borne_by"], "marketplace");

    // The marketplace books the fraudulent one as its expense; the sellers' payables lose the
    // other's share; the providers' clearing accounts gave both back.
    let ledger = m.ledger().await;
    assert_trial_balance_zero(&ledger);
    assert_eq!(balance(&ledger, "chargebacks"), fraud.1);
    assert!(
        balance(&ledger, "seller_payable:seller-1") > balance(&before, "seller_payable:seller-1")
    );
    assert_eq!(
        balance(&ledger, "psp_clearing:primary"),
        balance(&before, "psp_clearing:primary") - goods.1 - fraud.1
    );
    let reconciliation = m.reconciled().await;
    assert_eq!(reconciliation["mismatches"], json!([]));

    // The money is final: no cancellation, and the customer's timeline says what happened.
    let cancel = m
        .post(shoppers[0].auth(), &format!("/v1/orders/{}/cancellation", goods.0), json!({}))
        .await;
    assert_problem(&cancel, 409, "payment_disputed");
    let timeline = m.read(shoppers[0].auth(), &format!("/v1/orders/{}/timeline", goods.0)).await;
    let disputed = timeline.as_array().unwrap().iter().find(|e| e["type"] == "payment.disputed");
    assert_eq!(disputed.map(|e| minor(&e["data"]["amount"])), Some(goods.1), "{timeline}");

    // The knob: every captured payment disputed as fraudulent at once.
    shop.primary.knobs(json!({"dispute_rate": 1.0})).await;
    let third = &shoppers[2];
    let cart = m.cart_with(third.auth(), &[("B0000CHKA1", "seller-1", 1)]).await;
    let view = m.checkout_completes(third.auth(), "cb-knob", third.body(&cart)).await;
    let id = view["order_id"].as_str().unwrap().to_string();
    let order = charged_back(&shop, third.auth(), &id).await;
    assert_eq!(order["payment"]["chargeback"]["reason"], "fraudulent");
    assert_trial_balance_zero(&m.ledger().await);
    m.reconciled().await;
}
