//! 3-D Secure over real HTTP with the real processes: the payment provider simulator asks for
//! a challenge; the checkout answers 202 `challenge_required` with the issuer's page, keeps
//! its holds across a SIGKILL of the node, and resumes once the customer completed the
//! challenge there; a denied challenge fails `payment_declined`, and one left unanswered
//! past its deadline fails `challenge_abandoned`, the authorization voided and the stock
//! released.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::checkout::{A, SKU_A, Shop, Shopper, authorizations_for, minor};
use crate::support::{SELLER_1, assert_problem, eventually_within};

/// Asserts a 202 `challenge_required` and gives its next action's URL.
fn challenged(reply: &crate::support::Reply) -> String {
    assert_eq!(
        (reply.status, reply.json["status"].as_str()),
        (202, Some("challenge_required")),
        "{}",
        reply.text
    );
    let action = &reply.json["next_action"];
    assert_eq!(action["type"], "three_d_secure", "{}", reply.text);
    assert!(action["expires_at_ms"].as_u64().is_some(), "{}", reply.text);
    action["url"].as_str().expect("the issuer's page").to_string()
}

/// The customer at the issuer's page.
async fn at_issuer(url: &str, approve: bool) -> Value {
    let reply =
        reqwest::Client::new().post(url).json(&json!({ "approve": approve })).send().await.unwrap();
    assert_eq!(reply.status(), 200);
    reply.json().await.unwrap()
}

fn resume(key: &str) -> String {
    format!("/v1/checkouts/{key}/challenge")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_challenged_payment_waits_for_the_customer_across_a_crash_then_completes() {
    let (passes, fails) = (Shopper::new(1), Shopper::new(2));
    let mut shop = Shop::open(&[passes.clone(), fails.clone()], 10, 10).await;
    let me = passes.auth();
    let cart = shop.m.cart_with(me, &[(A, "seller-1", 2)]).await;
    let reply = shop.m.checkout(me, "3ds-ok", passes.body_with_card(&cart, "tok_3ds")).await;
    let url = challenged(&reply);
    assert!(url.starts_with(&shop.primary.base), "the primary's issuer page: {url}");
    // Held while the customer authenticates; nothing authorized yet.
    assert_eq!(shop.m.stock_level(SELLER_1, SKU_A).await, (10, 2, 8));
    let order = reply.json["order_id"].as_str().unwrap().to_string();
    let pending = authorizations_for(&shop.psps(), &order).await;
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].1["status"], "challenge_required");

    // Resumed before authenticating: still waiting. No challenge is pending elsewhere.
    let early = shop.m.post(me, &resume("3ds-ok"), json!({})).await;
    assert_eq!(challenged(&early), url);
    let none = shop.m.post(fails.auth(), &resume("3ds-ok"), json!({})).await;
    assert_problem(&none, 404, "not_found");

    // The node dies while the customer authenticates; the wait survives it.
    shop.m.crash_and_restart();
    let again = shop.m.checkout_status(me, "3ds-ok").await;
    assert_eq!(again.json["status"], "challenge_required", "{}", again.text);
    at_issuer(&url, true).await;
    let done = shop.m.post(me, &resume("3ds-ok"), json!({})).await;
    let view = match done.status {
        201 => done.json.clone(),
        202 => shop.m.checkout_settles(me, "3ds-ok", Duration::from_secs(20)).await,
        _ => panic!("{}", done.text),
    };
    assert_eq!(view["status"], "completed", "{view}");
    let placed = shop.m.order_captured(me, &order).await;
    assert_eq!(minor(&placed["payment"]["captured"]), minor(&view["total"]));
    assert_eq!(shop.m.stock_level(SELLER_1, SKU_A).await, (8, 0, 8));
    let answered = shop.m.post(me, &resume("3ds-ok"), json!({})).await;
    assert_eq!(answered.status, 201, "answered again: the same: {}", answered.text);

    // Denied at the issuer: declined, the holds given back.
    let them = fails.auth();
    let cart = shop.m.cart_with(them, &[(A, "seller-1", 1)]).await;
    let reply = shop.m.checkout(them, "3ds-no", fails.body_with_card(&cart, "tok_3ds")).await;
    let url = challenged(&reply);
    at_issuer(&url, false).await;
    let denied = shop.m.post(them, &resume("3ds-no"), json!({})).await;
    assert_problem(&denied, 402, "payment_declined");
    let view = shop.m.checkout_status(them, "3ds-no").await.json;
    assert_eq!(view["failure"]["code"], "payment_declined", "{view}");
    assert_eq!(shop.m.stock_level(SELLER_1, SKU_A).await, (8, 0, 8));
    let again = shop.m.post(them, &resume("3ds-no"), json!({})).await;
    assert_problem(&again, 402, "payment_declined");
    shop.m.reconciled().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abandoned_challenge_voids_the_payment_and_releases_the_stock() {
    let shopper = Shopper::new(1);
    let knobs = [("challenge_timeout_ms", "3000".to_string())];
    let shop = Shop::open_configured(std::slice::from_ref(&shopper), 10, 10, &knobs).await;
    let (m, me) = (&shop.m, shopper.auth());
    // Any card, when the provider challenges every authorization.
    shop.primary.knobs(json!({ "challenge_rate": 1.0 })).await;
    let cart = m.cart_with(me, &[(A, "seller-1", 3)]).await;
    let reply = m.checkout(me, "3ds-gone", shopper.body(&cart)).await;
    let url = challenged(&reply);
    assert_eq!(m.stock_level(SELLER_1, SKU_A).await, (10, 3, 7));
    let view = eventually_within(Duration::from_secs(20), "the challenge expires", async || {
        let view = m.checkout_status(me, "3ds-gone").await.json;
        if view["status"] == "failed" { Ok(view) } else { Err(view.to_string()) }
    })
    .await;
    assert_eq!(view["failure"]["code"], "challenge_abandoned", "{view}");
    assert_eq!(m.stock_level(SELLER_1, SKU_A).await, (10, 0, 10));
    let order = view["order_id"].as_str().unwrap();
    shop.assert_nothing_held(order).await;
    // Too late at the issuer: the provider called it off.
    let late =
        reqwest::Client::new().post(&url).json(&json!({ "approve": true })).send().await.unwrap();
    assert_eq!(late.status(), 409);
    let gone = m.post(me, &resume("3ds-gone"), json!({})).await;
    assert_problem(&gone, 402, "challenge_abandoned");
}
