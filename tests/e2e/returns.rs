//! Returns over real HTTP, with the real payment provider simulators: a delivered order's
//! lines are returned (one approved at once by the marketplace's rules, one by support),
//! received by their sellers with some units damaged, refunded through the provider and
//! restocked; the ledger debits the seller whose units came back, balances and reconciles.
//! What may not be returned is refused with its code and changes nothing.

use crate::support::checkout::{
    A, B, SETTLES, SKU_A, SKU_B, Shop, Shopper, assert_trial_balance_zero, balance, captured_once,
    commission, dispatch_all, minor, seller_auth, shipments,
};
use crate::support::{Auth, Body, SELLER_1, SELLER_2, eventually_within};
use reqwest::Method;
use serde_json::{Value, json};

const AGENT: Auth<'static> = Auth::As("support-1");

/// The index of the order's line for `asin`.
fn line_of(order: &Value, asin: &str) -> u64 {
    let lines = order["lines"].as_array().expect("lines");
    lines.iter().position(|line| line["asin"] == asin).expect("a line of that product") as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn returned_lines_are_refunded_to_the_customer_restocked_and_charged_to_their_seller() {
    let shopper = Shopper::new(1);
    let shop = Shop::open(std::slice::from_ref(&shopper), 10, 10).await;
    let (m, me) = (&shop.m, shopper.auth());
    let cart = m.cart_with(me, &[(A, "seller-1", 2), (B, "seller-2", 1)]).await;
    // The priced cart promises each line as the order's shipments will be (end of a day).
    let priced = m.read(me, &format!("/v1/carts/{cart}")).await;
    let promise = |line: &Value| line["promised_by_ms"].as_u64().expect("a promise");
    let day_ms = 24 * 60 * 60 * 1000;
    let promised: Vec<u64> = priced["lines"].as_array().unwrap().iter().map(promise).collect();
    assert!(promised.iter().all(|p| p % day_ms == day_ms - 1), "{priced}");
    let view = m.checkout_completes(me, "ret-1", shopper.body(&cart)).await;
    let (id, total) = (view["order_id"].as_str().unwrap().to_string(), minor(&view["total"]));
    captured_once(&shop, &id, total).await;
    let order = m.order(me, &id).await;
    let (a, b) = (line_of(&order, A), line_of(&order, B));
    let shipped: Vec<u64> = order["shipments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["promised_by_ms"].as_u64().unwrap())
        .collect();
    // Placed moments later: the same promise, unless a cut-off or midnight fell between.
    assert!(
        shipped.iter().all(|p| promised.iter().any(|c| c.abs_diff(*p) <= 3 * day_ms)),
        "{order}"
    );
    let returns = format!("/v1/orders/{id}/returns");
    let ask = |line: u64, quantity: u32, reason: &str| json!({"lines": [{"line": line, "quantity": quantity}], "reason": reason});

    // Not delivered yet: nothing to return.
    let early = m.post(me, &returns, ask(a, 1, "damaged")).await;
    assert_eq!((early.status, early.json["code"].as_str()), (409, Some("not_delivered")));
    dispatch_all(m, &order).await;
    for (number, seller) in shipments(&order) {
        let path = format!("/v1/seller/orders/{id}/shipments/{number}/delivery");
        m.write(200, Method::POST, &path, seller_auth(&seller), json!({})).await;
    }

    // Bad requests change nothing.
    for (body, status, code) in [
        (ask(a, 1, "bored"), 422, "invalid_reason"),
        (ask(a, 0, "damaged"), 422, "invalid_quantity"),
        (ask(a, 3, "damaged"), 409, "return_exceeds_line"),
        (ask(9, 1, "damaged"), 422, "line_invalid"),
        (json!({"lines": [], "reason": "damaged"}), 422, "return_lines_invalid"),
        (
            json!({"lines": [{"line": a, "quantity": 1}, {"line": b, "quantity": 1}], "reason": "damaged"}),
            422,
            "return_spans_shipments",
        ),
    ] {
        let refused = m.post(me, &returns, body).await;
        assert_eq!(
            (refused.status, refused.json["code"].as_str()),
            (status, Some(code)),
            "{}",
            refused.text
        );
    }
    assert_eq!(m.order(me, &id).await["returns"], json!([]));

    // Damaged: approved at once by the rules, with a label to the location it left from.
    let first = m.write(201, Method::POST, &returns, me, ask(a, 2, "damaged")).await;
    let line_a_total = minor(&order["lines"][a as usize]["total"]);
    assert_eq!((first["number"].as_u64(), first["status"].as_str()), (Some(1), Some("approved")));
    assert_eq!(
        (first["decided_by"].as_str(), minor(&first["amount"])),
        (Some("rule"), line_a_total)
    );
    assert_eq!(first["label"]["to"], "FRA1", "{first}");
    assert_eq!(first["label"]["tracking"], format!("RMA-{id}-1"));

    // No longer needed: support decides. Not the customer, and not another seller.
    let second = m.write(201, Method::POST, &returns, me, ask(b, 1, "no_longer_needed")).await;
    assert_eq!((second["status"].as_str(), &second["label"]), (Some("requested"), &Value::Null));
    let pending = m.post(me, &returns, ask(a, 1, "damaged")).await;
    assert_eq!(pending.json["code"], "return_pending", "{}", pending.text);
    let decision = format!("/v1/support/orders/{id}/returns/2/decision");
    assert_eq!(m.post(me, &decision, json!({"approve": true})).await.status, 403);
    let approved = m.write(200, Method::POST, &decision, AGENT, json!({"approve": true})).await;
    assert_eq!(
        (approved["status"].as_str(), approved["decided_by"].as_str()),
        (Some("approved"), Some("support"))
    );
    let reject = m.post(AGENT, &decision, json!({"approve": false, "note": "late"})).await;
    assert_eq!(reject.json["code"], "return_already_decided", "{}", reject.text);

    // Received: one of seller-1's two units is damaged, seller-2's unit is fine.
    let receipt = |number: u32| format!("/v1/seller/orders/{id}/returns/{number}/receipt");
    assert_eq!(m.post(SELLER_2, &receipt(1), json!({})).await.status, 404, "not its return");
    let got = m.write(200, Method::POST, &receipt(1), SELLER_1, json!({"sellable": [1]})).await;
    assert_eq!(
        (got["status"].as_str(), &got["lines"][0]["sellable"]),
        (Some("received"), &json!(1))
    );
    m.write(200, Method::POST, &receipt(2), SELLER_2, json!({})).await;

    // Refunded through the provider and restocked; the order is refunded in full.
    eventually_within(SETTLES, "both returns refunded and restocked", async || {
        let order = m.order(me, &id).await;
        let levels = (m.stock_level(SELLER_1, SKU_A).await, m.stock_level(SELLER_2, SKU_B).await);
        let done = order["returns"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "refunded" && r["restocked"] == true);
        match (done, order["status"].as_str(), levels) {
            (true, Some("refunded"), ((9, 0, 9), (10, 0, 10))) => Ok(()),
            _ => Err(format!("{order} {levels:?}")),
        }
    })
    .await;
    let (_, record) = eventually_within(SETTLES, "the provider refunded it all", async || {
        let (psp, record) = captured_refunded(&shop, &id).await;
        if record["refunded_minor"] == total { Ok((psp, record)) } else { Err(record.to_string()) }
    })
    .await;
    assert_eq!(record["captured_minor"], total);

    // Each seller's payable went back to zero with its own return; the books balance.
    let ledger = m.ledger().await;
    for account in
        ["seller_payable:seller-1", "seller_payable:seller-2", "commission", "vat_payable"]
    {
        assert_eq!(balance(&ledger, account), 0, "{account}: {ledger}");
    }
    assert_trial_balance_zero(&ledger);
    m.reconciled().await;
    let after = m.post(me, &returns, ask(a, 1, "damaged")).await;
    assert_eq!(after.json["code"], "order_refunded", "{}", after.text);
    let theirs = m.read(SELLER_2, "/v1/seller/orders").await;
    assert_eq!(
        theirs[0]["returns"][0]["lines"][0]["line"], 0,
        "indexes the seller's lines: {theirs}"
    );

    // Seller-1's statement: the sale, then its refund; before the refund it was owed.
    let line = &order["lines"][a as usize];
    let net = minor(&line["total"]) - minor(&line["vat"]);
    let cut = commission(net);
    let all = m.read(SELLER_1, "/v1/seller/statement").await;
    let figures = |answer: &Value| {
        let s = &answer["statements"][0];
        let get = |name: &str| minor(&s[name]);
        let refunds = (get("refunded"), get("commission_refunded"));
        (s["orders"].as_u64(), get("sales"), get("commission"), refunds, get("net_payable"))
    };
    assert_eq!(figures(&all), (Some(1), net, cut, (net, cut), 0), "{all}");
    let received_at = m.order(me, &id).await["returns"][0]["received_at_ms"].as_u64().unwrap();
    let before = m.read(SELLER_1, &format!("/v1/seller/statement?to_ms={received_at}")).await;
    assert_eq!(figures(&before), (Some(1), net, cut, (0, 0), net - cut), "{before}");
    let later = m.read(SELLER_1, &format!("/v1/seller/statement?from_ms={}", u64::MAX >> 2)).await;
    assert_eq!(later["statements"], json!([]));
    let empty = m.read(SELLER_1, "/v1/seller/statement?from_ms=5&to_ms=5").await;
    assert_eq!(empty["statements"], json!([]), "an empty period");
    shop.m.shut_down();
}

/// The provider's record of `order`'s authorization.
async fn captured_refunded(shop: &Shop, order: &str) -> (String, Value) {
    let records = crate::support::checkout::authorizations_for(&shop.psps(), order).await;
    let live: Vec<_> = records.into_iter().filter(|(_, r)| r["status"] != "voided").collect();
    live.into_iter().next().expect("an authorization")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn support_refunds_a_lost_parcel_without_a_return_and_its_seller_bears_it() {
    let shopper = Shopper::new(1);
    let shop = Shop::open(std::slice::from_ref(&shopper), 10, 10).await;
    let (m, me) = (&shop.m, shopper.auth());
    let cart = m.cart_with(me, &[(A, "seller-1", 1), (B, "seller-2", 1)]).await;
    let view = m.checkout_completes(me, "lost-1", shopper.body(&cart)).await;
    let (id, total) = (view["order_id"].as_str().unwrap().to_string(), minor(&view["total"]));
    captured_once(&shop, &id, total).await;
    let order = m.order(me, &id).await;
    let b = line_of(&order, B);
    let refunds = format!("/v1/support/orders/{id}/refunds");
    let lost = json!({"lines": [{"line": b, "quantity": 1}], "reason": "lost_in_transit",
        "comment": "carrier lost it"});
    let keyed = async |key: &str| {
        let (headers, body) = ([("idempotency-key", key)], Body::Json(lost.clone()));
        m.call_with_headers(Method::POST, &refunds, AGENT, &headers, body).await
    };
    let early = keyed("lost-0").await;
    assert_eq!(early.json["code"], "not_shipped", "{}", early.text);
    dispatch_all(m, &order).await;
    assert_eq!(m.post(me, &refunds, lost.clone()).await.status, 403, "support's route");
    let unkeyed = m.post(AGENT, &refunds, lost.clone()).await;
    assert_eq!(
        (unkeyed.status, unkeyed.json["code"].as_str()),
        (400, Some("idempotency_key_required"))
    );
    // A retry (a double click) meets the first: one refund.
    let (first, again) = (keyed("lost-1").await, keyed("lost-1").await);
    assert_eq!(
        (first.status, again.status, &again.json),
        (201, 201, &first.json),
        "{}",
        again.text
    );
    let refunded = first.json;
    assert_eq!((refunded["returnless"].as_bool(), &refunded["label"]), (Some(true), &Value::Null));
    assert_eq!(refunded["lines"][0]["sellable"], 0, "{refunded}");
    let line_b_total = minor(&order["lines"][b as usize]["total"]);

    eventually_within(SETTLES, "the lost line refunded", async || {
        let order = m.order(me, &id).await;
        let refunded = minor(&order["payment"]["refunded"]);
        let returned = &order["returns"][0];
        match (refunded, returned["status"].as_str(), returned["restocked"].as_bool()) {
            (r, Some("refunded"), Some(true)) if r == line_b_total => Ok(()),
            _ => Err(order.to_string()),
        }
    })
    .await;
    assert_eq!(m.order(me, &id).await["returns"].as_array().map(Vec::len), Some(1));
    // Nothing came back: seller-2's stock is as sold, and seller-2 alone bears the refund.
    assert_eq!(m.stock_level(SELLER_2, SKU_B).await, (9, 0, 9));
    let ledger = m.ledger().await;
    assert_eq!(balance(&ledger, "seller_payable:seller-2"), 0, "{ledger}");
    assert!(balance(&ledger, "seller_payable:seller-1") < 0, "seller-1 is still owed: {ledger}");
    assert_trial_balance_zero(&ledger);
    m.reconciled().await;
    shop.m.shut_down();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn support_appeases_with_goodwill_the_marketplace_bears() {
    let shopper = Shopper::new(1);
    let shop = Shop::open(std::slice::from_ref(&shopper), 10, 10).await;
    let (m, me) = (&shop.m, shopper.auth());
    let cart = m.cart_with(me, &[(A, "seller-1", 1)]).await;
    let view = m.checkout_completes(me, "goodwill-1", shopper.body(&cart)).await;
    let (id, total) = (view["order_id"].as_str().unwrap().to_string(), minor(&view["total"]));
    captured_once(&shop, &id, total).await;
    let path = format!("/v1/support/orders/{id}/appeasements");
    let body = json!({"amount_minor": 300, "reason": "parcel two days late"});
    let keyed = async |key: &str, body: &Value| {
        let (headers, body) = ([("idempotency-key", key)], Body::Json(body.clone()));
        m.call_with_headers(Method::POST, &path, AGENT, &headers, body).await
    };
    let unkeyed = m.post(AGENT, &path, body.clone()).await;
    assert_eq!(unkeyed.json["code"], "idempotency_key_required", "{}", unkeyed.text);
    let too_much = keyed("g-0", &json!({"amount_minor": total + 1, "reason": "x"})).await;
    assert_eq!(
        (too_much.status, too_much.json["code"].as_str()),
        (409, Some("refund_exceeds_captured"))
    );
    let (first, again) = (keyed("g-1", &body).await, keyed("g-1", &body).await);
    assert_eq!(
        (first.status, again.status, &again.json),
        (201, 201, &first.json),
        "{}",
        again.text
    );
    assert_eq!((minor(&first.json["amount"]), first.json["by"].as_str()), (300, Some("support-1")));

    // Refunded at once through the provider; the marketplace bears it, not the seller.
    eventually_within(SETTLES, "the goodwill refunded", async || {
        let order = m.order(me, &id).await;
        let done = order["appeasements"][0]["refunded_at_ms"].is_u64();
        if done && minor(&order["payment"]["refunded"]) == 300 {
            Ok(())
        } else {
            Err(order.to_string())
        }
    })
    .await;
    let ledger = m.ledger().await;
    assert_eq!(balance(&ledger, "appeasements"), 300, "{ledger}");
    let line = &m.order(me, &id).await["lines"][0];
    let net = minor(&line["total"]) - minor(&line["vat"]);
    assert_eq!(balance(&ledger, "seller_payable:seller-1"), -(net - commission(net)), "untouched");
    assert_trial_balance_zero(&ledger);
    m.reconciled().await;
    shop.m.shut_down();
}
