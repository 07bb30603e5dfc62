//! Stock that comes back, over real HTTP against a real `bazaar serve`: a hold whose time is
//! up releases its units within a bound (also when the node restarted meanwhile), a released
//! hold gives back exactly what it held (even when the buy box is gone or moved to another
//! seller), and a feed applies one inventory entity's lines in file order.

use std::time::Duration;

use crate::support::{
    Auth, Body, CUSTOMER, Market, SELLER_1, SELLER_2, document, eventually, eventually_within,
    offer, offer_with,
};
use reqwest::Method;
use serde_json::{Value, json};

/// How long after its time is up a hold may still hold its units: the issue asks for about
/// a second; the rest is room for a loaded CI machine.
const EXPIRY_BOUND: Duration = Duration::from_secs(4);

/// Lists `asin` by `seller` (registered as `name`) with `stock` units of `sku` at FRA1 and
/// waits until the stock reached the buy box.
async fn list(m: &Market, seller: Auth<'_>, asin: &str, sku: &str, price: i64, stock: u32) {
    m.create_product(seller, asin, document(&format!("Item {asin}"), "Acme", &["Home"])).await;
    m.put_offer(seller, asin, offer(sku, price, 0, "seller", 1)).await;
    m.set_stock(seller, sku, "FRA1", stock, 1).await;
    buy_box_available(m, asin, Some(stock)).await;
}

/// Waits until the buy box of `asin` offers `available` units (`None`: no buy box).
async fn buy_box_available(m: &Market, asin: &str, available: Option<u32>) -> Value {
    eventually(&format!("the buy box of {asin} offers {available:?}"), async || {
        let product = m.product(asin).await;
        let now = product["buy_box"]["available"].as_u64().map(|n| n as u32);
        if now == available { Ok(product) } else { Err(product["buy_box"].to_string()) }
    })
    .await
}

/// A cart of customer-1 with one unit of `asin`.
async fn cart_of_one(m: &Market, asin: &str) -> String {
    let cart = m.write(201, Method::POST, "/v1/carts", CUSTOMER, json!({"currency": "EUR"})).await;
    let id = cart["id"].as_str().unwrap().to_string();
    let item = json!({"asin": asin, "quantity": 1});
    m.write(200, Method::POST, &format!("/v1/carts/{id}/items"), CUSTOMER, item).await;
    id
}

async fn hold(m: &Market, cart: &str, ttl_s: Option<u64>) -> crate::support::Reply {
    let path = format!("/v1/carts/{cart}/reservation");
    let body = match ttl_s {
        Some(ttl_s) => Body::Json(json!({ "ttl_s": ttl_s })),
        None => Body::None,
    };
    m.call(Method::POST, &path, CUSTOMER, body).await
}

/// Polls until `cart` holds its unit, within `limit`.
async fn held_within(m: &Market, cart: &str, limit: Duration) {
    eventually_within(limit, &format!("cart {cart} gets the unit back"), async || {
        let reply = hold(m, cart, None).await;
        match reply.status {
            201 => Ok(()),
            409 => Err(reply.text),
            other => panic!("unexpected {other}: {}", reply.text),
        }
    })
    .await;
}

// postmortem: nothing sent the inventory's `ExpireDue`, so a hold expired only when another
// reservation reached its inventory entity, which never happens once the buy box is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_hold_comes_back_within_a_bound_also_across_a_restart() {
    let mut m = Market::open(&[]);
    const ASIN: &str = "B0EXPIRE01";
    m.register(SELLER_1, "Acme").await;
    list(&m, SELLER_1, ASIN, "SKU-EXPIRE", 1000, 1).await;
    let mut carts = Vec::new();
    for _ in 0..4 {
        carts.push(cart_of_one(&m, ASIN).await);
    }
    let [a, b, c, d] = &carts[..] else { unreachable!() };

    let reply = hold(&m, a, Some(1)).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    assert_eq!(hold(&m, b, None).await.status, 409, "the one unit is held by cart A");
    // The TTL is one second: cart B gets the unit within the bound after it.
    held_within(&m, b, Duration::from_secs(1) + EXPIRY_BOUND).await;
    assert_eq!(m.stock_level(SELLER_1, "SKU-EXPIRE").await, (1, 1, 0), "held by cart B now");

    // Again, with the node stopped while the hold runs out: the next start expires it.
    let released = m.delete(CUSTOMER, &format!("/v1/carts/{b}/reservation")).await;
    assert_eq!(released.status, 204, "{}", released.text);
    buy_box_available(&m, ASIN, Some(1)).await;
    let reply = hold(&m, d, Some(1)).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    m.restart();
    held_within(&m, c, Duration::from_secs(1) + EXPIRY_BOUND).await;
    assert_eq!(m.stock_level(SELLER_1, "SKU-EXPIRE").await, (1, 1, 0), "held by cart C now");
    m.shut_down();
}

// postmortem: the release looked the seller and SKU up through the current buy box, which is
// gone once a hold took the last units, so `DELETE` answered 204 and released nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn releasing_a_hold_that_took_the_last_units_gives_them_back() {
    let m = Market::open(&[]);
    const ASIN: &str = "B0RELEASE1";
    m.register(SELLER_1, "Acme").await;
    list(&m, SELLER_1, ASIN, "SKU-LAST", 1000, 2).await;
    let (a, b) = (cart_of_one(&m, ASIN).await, cart_of_one(&m, ASIN).await);
    let change = json!({"quantity": 2});
    m.write(200, Method::PUT, &format!("/v1/carts/{a}/items/{ASIN}"), CUSTOMER, change).await;
    assert_eq!(hold(&m, &a, None).await.status, 201);
    buy_box_available(&m, ASIN, None).await;

    let released = m.delete(CUSTOMER, &format!("/v1/carts/{a}/reservation")).await;
    assert_eq!(released.status, 204, "{}", released.text);
    assert_eq!(m.stock_level(SELLER_1, "SKU-LAST").await, (2, 0, 2), "both units are back");
    buy_box_available(&m, ASIN, Some(2)).await;
    held_within(&m, &b, Duration::from_secs(5)).await;
    m.shut_down();
}

// postmortem: the same lookup missed a hold whose buy box had moved to another seller.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn releasing_a_hold_after_the_buy_box_moved_to_another_seller_gives_it_back() {
    let m = Market::open(&[("seller", "seller-2")]);
    const ASIN: &str = "B0RELEASE2";
    m.register(SELLER_1, "Acme").await;
    m.register(SELLER_2, "Other").await;
    list(&m, SELLER_1, ASIN, "SKU-ONE", 1000, 5).await;
    m.put_offer(SELLER_2, ASIN, offer("SKU-TWO", 1500, 0, "seller", 1)).await;
    m.set_stock(SELLER_2, "SKU-TWO", "FRA1", 5, 1).await;
    let a = cart_of_one(&m, ASIN).await;
    let reply = hold(&m, &a, None).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    assert_eq!(reply.json["lines"][0]["seller"], "seller-1", "{}", reply.text);
    assert_eq!(m.stock_level(SELLER_1, "SKU-ONE").await, (5, 1, 4));

    // Seller 1 raises its price: the buy box moves to seller 2.
    m.put_offer(SELLER_1, ASIN, offer_with("SKU-ONE", 2000, 0, "seller", 1, 4)).await;
    m.buy_box_settles(ASIN, Some(("seller-2", 1500))).await;

    let released = m.delete(CUSTOMER, &format!("/v1/carts/{a}/reservation")).await;
    assert_eq!(released.status, 204, "{}", released.text);
    assert_eq!(m.stock_level(SELLER_1, "SKU-ONE").await, (5, 0, 5), "seller 1's unit is back");
    assert_eq!(m.stock_level(SELLER_2, "SKU-TWO").await, (5, 0, 5), "seller 2's never held");
    m.shut_down();
}

/// The answer of an NDJSON feed of `lines` sent by `seller`.
async fn feed(m: &Market, seller: Auth<'_>, lines: &[Value]) -> Value {
    let body: String = lines.iter().map(|line| format!("{line}\n")).collect();
    let body = Body::Raw(Some("application/x-ndjson"), body.into_bytes());
    let reply = m.call(Method::POST, "/v1/seller/inventory:feed", seller, body).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.json
}

// postmortem: a feed's lines ran concurrently, so of two lines for one SKU and location the
// winner varied between runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_applies_the_lines_of_one_sku_and_location_in_file_order() {
    let m = Market::open(&[]);
    m.register(SELLER_1, "Acme").await;
    m.create_product(SELLER_1, "B0FEEDORD1", document("Feed order", "Acme", &["Home"])).await;
    m.put_offer(SELLER_1, "B0FEEDORD1", offer("SKU-ORDER", 1000, 0, "seller", 1)).await;
    // Interleaved in the file: FRA1 repeats one sequence (the first line wins, the others are
    // stale), BER1 counts up (every line applies, the last one stands).
    const REPEATS: usize = 200;
    let mut lines = Vec::new();
    for i in 0..REPEATS {
        lines.push(
            json!({"sku": "SKU-ORDER", "location": "FRA1", "quantity": i + 1, "feed_seq": 7}),
        );
        lines.push(
            json!({"sku": "SKU-ORDER", "location": "BER1", "quantity": i + 1, "feed_seq": i + 1}),
        );
    }
    let answer = feed(&m, SELLER_1, &lines).await;
    // Every BER1 line and the first FRA1 line apply; each later FRA1 line (3, 5, 7, ...) is
    // stale.
    assert_eq!(
        (&answer["accepted"], &answer["refused"]),
        (&json!(REPEATS + 1), &json!(REPEATS - 1))
    );
    let refused: Vec<(u64, u64)> = answer["refused_lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|result| (result["line"].as_u64().unwrap(), result["status"].as_u64().unwrap()))
        .collect();
    let stale: Vec<(u64, u64)> = (1..REPEATS as u64).map(|k| (2 * k + 1, 409)).collect();
    assert_eq!(refused, stale, "{answer}");
    let fra1 = m.read(SELLER_1, "/v1/seller/inventory/SKU-ORDER/FRA1").await;
    assert_eq!((&fra1["on_hand"], &fra1["last_feed_seq"]), (&json!(1), &json!(7)));
    let ber1 = m.read(SELLER_1, "/v1/seller/inventory/SKU-ORDER/BER1").await;
    assert_eq!((&ber1["on_hand"], &ber1["last_feed_seq"]), (&json!(REPEATS), &json!(REPEATS)));
    m.shut_down();
}

// postmortem (review of issue 9): a cart's reservation id was `{cart}.{asin}.{seller}` for
// good, and an inventory refuses an id whose hold was released or expired, so once its hold
// had expired (now within a second of its time) or been given back, the same cart could never
// hold that product again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cart_holds_again_after_its_hold_expired_or_was_given_back() {
    let m = Market::open(&[]);
    m.register(SELLER_1, "Acme").await;
    list(&m, SELLER_1, "B0REHOLD01", "SKU-REHOLD", 1000, 1).await;
    let cart = cart_of_one(&m, "B0REHOLD01").await;

    let first = hold(&m, &cart, Some(1)).await;
    assert_eq!(first.status, 201, "{}", first.text);
    eventually_within(Duration::from_secs(1) + EXPIRY_BOUND, "the hold expires", async || match m
        .stock_level(SELLER_1, "SKU-REHOLD")
        .await
    {
        (1, 0, 1) => Ok(()),
        other => Err(format!("{other:?}")),
    })
    .await;
    // The units come back to the buy box through the stock flow, a moment after the
    // inventory: a shopper holds what the product page offers.
    buy_box_available(&m, "B0REHOLD01", Some(1)).await;
    let again = hold(&m, &cart, None).await;
    assert_eq!(again.status, 201, "held again after it expired: {}", again.text);
    assert_eq!(m.stock_level(SELLER_1, "SKU-REHOLD").await, (1, 1, 0));

    let path = format!("/v1/carts/{cart}/reservation");
    let released = m.delete(CUSTOMER, &path).await;
    assert_eq!(released.status, 204, "{}", released.text);
    assert_eq!(m.stock_level(SELLER_1, "SKU-REHOLD").await, (1, 0, 1));
    buy_box_available(&m, "B0REHOLD01", Some(1)).await;
    let third = hold(&m, &cart, None).await;
    assert_eq!(third.status, 201, "held again after it was given back: {}", third.text);
    assert_eq!(m.stock_level(SELLER_1, "SKU-REHOLD").await, (1, 1, 0));
    // And a release still finds the newest hold.
    let released = m.delete(CUSTOMER, &path).await;
    assert_eq!(released.status, 204, "{}", released.text);
    assert_eq!(m.stock_level(SELLER_1, "SKU-REHOLD").await, (1, 0, 1));
    m.shut_down();
}

// postmortem (review of issue 9): a cart's buy-box line and its line for the seller who holds
// the buy box buy from the same SKU, and their holds shared one reservation id, so the second
// line's hold met the first's with another quantity: the whole hold was refused 409
// `reservation_conflict`, and the cart could not be held at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_lines_buying_from_one_sku_hold_both_quantities() {
    let m = Market::open(&[]);
    m.register(SELLER_1, "Acme").await;
    list(&m, SELLER_1, "B0TWOLINE1", "SKU-TWOLINE", 1000, 10).await;
    let cart = cart_of_one(&m, "B0TWOLINE1").await;
    let path = format!("/v1/carts/{cart}/items");
    let own_line = json!({"asin": "B0TWOLINE1", "seller": "seller-1", "quantity": 4});
    m.write(200, Method::POST, &path, CUSTOMER, own_line).await;

    let held = hold(&m, &cart, None).await;
    assert_eq!(held.status, 201, "{}", held.text);
    assert_eq!(m.stock_level(SELLER_1, "SKU-TWOLINE").await, (10, 5, 5), "1 + 4 held");
    let released = m.delete(CUSTOMER, &format!("/v1/carts/{cart}/reservation")).await;
    assert_eq!(released.status, 204, "{}", released.text);
    assert_eq!(m.stock_level(SELLER_1, "SKU-TWOLINE").await, (10, 0, 10));
    m.shut_down();
}
