//! Cancellation before shipping, end to end over real HTTP (a real `bazaar serve` and two
//! real `bazaar psp` simulators, whose settlement reports judge the money):
//! - a captured order cancelled by its customer is refunded and its units go back on hand;
//!   cancelling again answers the same; the ledger balances and reconciles;
//! - in auth-only mode a cancelled order is voided and its units go back on hand;
//! - a shipped order cannot be cancelled, and its units stay sold.

use crate::support::checkout::{
    A, B, SETTLES, SKU_A, SKU_B, Shop, Shopper, assert_trial_balance_zero, authorizations_for,
    captured_once, dispatch_all, minor,
};
use crate::support::{
    Auth, Market, OPERATOR, SELLER_1, SELLER_2, assert_problem, eventually_within,
};
use reqwest::Method;
use serde_json::{Value, json};

/// `POST /v1/orders/{id}/cancellation`, which must answer 200; answers the order.
async fn cancel(m: &Market, who: Auth<'_>, order_id: &str) -> Value {
    let path = format!("/v1/orders/{order_id}/cancellation");
    m.write(200, Method::POST, &path, who, json!({"reason": "changed my mind"})).await
}

/// Waits until `sku` at FRA1 shows `(on_hand, reserved, available)` to its seller.
async fn stock_is(m: &Market, seller: Auth<'_>, sku: &str, wanted: (u64, u64, u64)) {
    eventually_within(SETTLES, &format!("{sku} is back to {wanted:?}"), async || {
        let level = m.stock_level(seller, sku).await;
        if level == wanted { Ok(()) } else { Err(format!("{level:?}")) }
    })
    .await;
}

/// Waits until the order's payment satisfies `settled`; answers the order.
async fn order_settles(
    m: &Market,
    who: Auth<'_>,
    order_id: &str,
    settled: impl Fn(&Value) -> bool,
) -> Value {
    eventually_within(SETTLES, &format!("order {order_id} settles"), async || {
        let order = m.order(who, order_id).await;
        if settled(&order) { Ok(order) } else { Err(order.to_string()) }
    })
    .await
}

/// The one record the simulators hold under `key`, once `settled` holds for it.
async fn psp_record(shop: &Shop, key: &str, settled: impl Fn(&Value) -> bool) -> Value {
    eventually_within(SETTLES, &format!("{key} settles at the provider"), async || {
        let records = authorizations_for(&shop.psps(), key).await;
        match records.as_slice() {
            [(_, record)] if settled(record) => Ok(record.clone()),
            _ => Err(format!("{records:?}")),
        }
    })
    .await
}

/// The ledger, once its trial balance is zero and the providers agree with it.
async fn ledger_balances(m: &Market) {
    let ledger = m.ledger().await;
    assert_trial_balance_zero(&ledger);
    m.reconciled().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_captured_order_cancelled_before_shipping_is_refunded_and_restocked() {
    let shopper = Shopper::new(1);
    let shop = Shop::open(std::slice::from_ref(&shopper), 10, 10).await;
    let (m, me) = (&shop.m, shopper.auth());
    let cart = m.cart_with(me, &[(A, "seller-1", 2), (B, "seller-2", 1)]).await;
    let view = m.checkout_completes(me, "cancel-1", shopper.body(&cart)).await;
    let (order_id, total) = (view["order_id"].as_str().unwrap().to_string(), minor(&view["total"]));
    assert_eq!(view["capture"], "at_placement", "{view}");
    assert_eq!(m.stock_level(SELLER_1, SKU_A).await, (8, 0, 8), "sold");
    assert_eq!(m.stock_level(SELLER_2, SKU_B).await, (9, 0, 9), "sold");
    // Captured first, so the cancellation must give money back rather than void.
    captured_once(&shop, &order_id, total).await;
    m.order_captured(me, &order_id).await;

    let cancelled = cancel(m, me, &order_id).await;
    assert_eq!(cancelled["status"], "cancelled", "{cancelled}");

    // The units come back; nothing stays reserved.
    stock_is(m, SELLER_1, SKU_A, (10, 0, 10)).await;
    stock_is(m, SELLER_2, SKU_B, (10, 0, 10)).await;
    // The money comes back: refunded in full at the provider that captured it. Everything
    // captured was refunded, so the cancelled order's status is `refunded`.
    let record = psp_record(&shop, &order_id, |r| r["refunded_minor"] == total).await;
    assert_eq!(record["captured_minor"], total, "{record}");
    let order =
        order_settles(m, me, &order_id, |o| minor(&o["payment"]["refunded"]) == total).await;
    assert_eq!(order["status"], "refunded", "{order}");
    assert_eq!(minor(&order["payment"]["captured"]), total, "{order}");
    assert_eq!(order["payment"]["voided"], false, "{order}");
    ledger_balances(m).await;

    // Cancelling again answers the order as it stands, and returns nothing twice.
    let again = cancel(m, me, &order_id).await;
    assert_eq!(again, m.order(me, &order_id).await);
    assert_eq!(m.stock_level(SELLER_1, SKU_A).await, (10, 0, 10));
    assert_eq!(m.stock_level(SELLER_2, SKU_B).await, (10, 0, 10));
    let record = psp_record(&shop, &order_id, |_| true).await;
    assert_eq!(record["refunded_minor"], total, "refunded once: {record}");

    // The restocked units sell again.
    let cart = m.cart_with(me, &[(A, "seller-1", 10)]).await;
    let view = m.checkout_completes(me, "cancel-2", shopper.body(&cart)).await;
    captured_once(&shop, view["order_id"].as_str().unwrap(), minor(&view["total"])).await;
    assert_eq!(m.stock_level(SELLER_1, SKU_A).await, (0, 0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_authorized_only_is_voided_and_restocked_and_a_shipped_one_stays_sold() {
    let shopper = Shopper::new(1);
    let shop = Shop::open(std::slice::from_ref(&shopper), 10, 10).await;
    let (m, me) = (&shop.m, shopper.auth());
    m.write(200, Method::PUT, "/admin/psp", OPERATOR, json!({"auth_only": true})).await;

    // Cancelled before shipping, nothing captured: voided, units back.
    let cart = m.cart_with(me, &[(A, "seller-1", 2)]).await;
    let view = m.checkout_completes(me, "void-1", shopper.body(&cart)).await;
    let order_id = view["order_id"].as_str().unwrap().to_string();
    assert_eq!(view["capture"], "at_shipment", "{view}");
    assert_eq!(m.stock_level(SELLER_1, SKU_A).await, (8, 0, 8), "sold");
    let cancelled = cancel(m, me, &order_id).await;
    assert_eq!(cancelled["status"], "cancelled", "{cancelled}");
    stock_is(m, SELLER_1, SKU_A, (10, 0, 10)).await;
    let record = psp_record(&shop, &order_id, |r| r["status"] == "voided").await;
    assert_eq!(record["captured_minor"], 0, "{record}");
    let order = order_settles(m, me, &order_id, |o| o["payment"]["voided"] == true).await;
    assert_eq!(order["status"], "cancelled", "{order}");
    assert_eq!(minor(&order["payment"]["captured"]), 0, "{order}");
    let again = cancel(m, me, &order_id).await;
    assert_eq!(again, m.order(me, &order_id).await);

    // Shipped: too late to cancel; the units stay sold and the payment is captured.
    let cart = m.cart_with(me, &[(B, "seller-2", 3)]).await;
    let view = m.checkout_completes(me, "shipped-1", shopper.body(&cart)).await;
    let (shipped_id, total) =
        (view["order_id"].as_str().unwrap().to_string(), minor(&view["total"]));
    let order = m.order(me, &shipped_id).await;
    dispatch_all(m, &order).await;
    let path = format!("/v1/orders/{shipped_id}/cancellation");
    let refused = m.post(me, &path, json!({})).await;
    assert_problem(&refused, 409, "too_late_to_cancel");
    captured_once(&shop, &shipped_id, total).await;
    let order = m.order_captured(me, &shipped_id).await;
    assert_eq!(order["status"], "shipped", "{order}");
    assert_eq!(m.stock_level(SELLER_2, SKU_B).await, (7, 0, 7));
    assert_eq!(m.stock_level(SELLER_1, SKU_A).await, (10, 0, 10));
    ledger_balances(m).await;
}
