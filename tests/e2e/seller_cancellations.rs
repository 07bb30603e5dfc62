//! A seller cancels its own orders over real HTTP: only an order of its lines alone, before
//! shipment; the customer's payment and stock come back; and a cancellation rate past the
//! marketplace's threshold raises a case for support and suspends the seller, whose offer
//! leaves the buy box at once for the next seller's.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::checkout::{A, B, Shop, Shopper, seller_auth};
use crate::support::{SELLER_1, SELLER_2, assert_problem, eventually, offer, offers_line, winner};

const AGENT: crate::support::Auth<'static> = crate::support::Auth::As("support-1");

fn knobs() -> Vec<(&'static str, String)> {
    vec![
        ("cancellation_orders_min", "2".into()),
        ("cancellation_case_bps", "2500".into()),
        ("suspend_cancellation_bps", "5000".into()),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seller_cancelling_too_often_is_suspended_and_the_buy_box_moves() {
    let shopper = Shopper::new(1);
    let shop = Shop::open_configured(std::slice::from_ref(&shopper), 10, 10, &knobs()).await;
    let (m, me) = (&shop.m, shopper.auth());
    // Seller 2 offers A too, dearer: seller 1 holds the buy box.
    m.put_offer(SELLER_2, A, offer("sku-a2", 2_999, 0, "seller", 1)).await;
    m.set_stock(SELLER_2, "sku-a2", "FRA1", 5, 1).await;
    let product = eventually("seller 2's offer stocked", async || {
        let product = m.product(A).await;
        let stocked = product["offers"].as_array().is_some_and(|o| o.len() == 2);
        if stocked && winner(&product).is_some() { Ok(product) } else { Err(offers_line(&product)) }
    })
    .await;
    assert_eq!(winner(&product).map(|w| w.0), Some("seller-1".into()), "{}", offers_line(&product));

    let mut orders = Vec::new();
    for n in 0..2 {
        let cart = m.cart_with(me, &[(A, "seller-1", 1)]).await;
        let view = m.checkout_completes(me, &format!("sc-{n}"), shopper.body(&cart)).await;
        orders.push(view["order_id"].as_str().unwrap().to_string());
    }
    let cart = m.cart_with(me, &[(A, "seller-1", 1), (B, "seller-2", 1)]).await;
    let shared = m.checkout_completes(me, "sc-shared", shopper.body(&cart)).await;
    let shared = shared["order_id"].as_str().unwrap().to_string();

    let cancel = |id: &str| format!("/v1/seller/orders/{id}/cancellation");
    let why = json!({ "reason": "cannot source it" });
    let theirs = m.post(SELLER_2, &cancel(&orders[0]), why.clone()).await;
    assert_problem(&theirs, 404, "not_found");
    let mixed = m.post(SELLER_1, &cancel(&shared), why.clone()).await;
    assert_problem(&mixed, 409, "order_has_other_sellers");

    // One of its three orders (the shared one is its order too): 33 %, past the case's 25 %,
    // short of suspension's 50 %.
    let cancelled = m.write(200, Method::POST, &cancel(&orders[0]), SELLER_1, why.clone()).await;
    assert_eq!(cancelled["status"], "cancelled", "{cancelled}");
    // Captured at placement: the payment job refunds it, so a read right after may already
    // say "refunded" (a cancelled order's next state); wait for that.
    let order = eventually("the cancelled order refunded", async || {
        let order = m.order(me, &orders[0]).await;
        if order["status"] == "refunded" { Ok(order) } else { Err(order.to_string()) }
    })
    .await;
    assert_eq!(order["payment"]["refunded"], order["total"], "{order}");
    assert_eq!(order["restocked"], true, "{order}");
    let cases = eventually("a cancellation-rate case", async || {
        let cases = m.read(AGENT, "/v1/support/cases").await;
        let found =
            cases.as_array().is_some_and(|c| c.iter().any(|c| c["kind"] == "cancellation_rate"));
        if found { Ok(cases) } else { Err(cases.to_string()) }
    })
    .await;
    let case = cases.as_array().unwrap().iter().find(|c| c["kind"] == "cancellation_rate").unwrap();
    assert_eq!(case["seller"], "seller-1", "{case}");
    let profile = m.read(SELLER_1, "/v1/seller/profile").await;
    assert_eq!(profile["standing"], "good", "33 % is short of suspension: {profile}");

    // A second: 2 of 3, suspended; its offer leaves the buy box at once.
    m.write(200, Method::POST, &cancel(&orders[1]), seller_auth("seller-1"), why).await;
    let profile = m.read(SELLER_1, "/v1/seller/profile").await;
    assert_eq!(profile["standing"], "suspended", "{profile}");
    let product: Value = eventually("the buy box moves to seller 2", async || {
        let product = m.product(A).await;
        match winner(&product) {
            Some((seller, _)) if seller == "seller-2" => Ok(product),
            _ => Err(offers_line(&product)),
        }
    })
    .await;
    assert_eq!(winner(&product).map(|w| w.1), Some(2_999));
    // The cancelled units come back to seller 1's stock: one of the shared order stays sold.
    eventually("the cancelled units restocked", async || {
        let stock = m.stock_level(SELLER_1, "sku-a").await;
        if stock.2 == 9 { Ok(()) } else { Err(format!("{stock:?}")) }
    })
    .await;
}
