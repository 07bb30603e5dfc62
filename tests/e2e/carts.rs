//! Carts over real HTTP against a real `bazaar serve`: holds that never oversell (also across a
//! restart), a cart priced with stacked promotions and VAT to the cent, customers isolated from
//! each other's carts, and `Idempotency-Key` replays.

use std::sync::Arc;

use crate::support::{Auth, Body, Market, eventually};
use reqwest::Method;
use serde_json::{Value, json};

const SELLER: Auth<'static> = Auth::As("seller-1");
const CUSTOMER: Auth<'static> = Auth::As("customer-1");
const OTHER_CUSTOMER: Auth<'static> = Auth::As("customer-2");
const OPERATOR: Auth<'static> = Auth::As("operator-1");

/// A product offered by seller-1 at `price` (+ `shipping` a unit) with `stock` units at FRA1.
struct Listing<'a> {
    asin: &'a str,
    price: i64,
    shipping: i64,
    stock: u32,
    tax_class: &'a str,
}

/// A marketplace with the initial tokens and a second customer's, and `listings` listed.
async fn market_with(listings: &[Listing<'_>]) -> Market {
    let m = Market::open(&[("customer", "customer-2")]);
    for listing in listings {
        list(&m, listing).await;
    }
    m
}

/// Registers seller-1, creates the product, offers it, stocks it, and waits until the stock
/// has reached the buy box.
async fn list(m: &Market, listing: &Listing<'_>) {
    let &Listing { asin, price, shipping, stock, tax_class: class } = listing;
    m.write(200, Method::PUT, "/v1/seller/profile", SELLER, json!({"name": "Acme"})).await;
    let document = json!({"title": format!("Item {asin}"), "brand": "Acme", "category_path": ["Home"], "tax_class": class});
    let product = json!({"asin": asin, "currency": "EUR", "document": document});
    let created = m.post(SELLER, "/v1/seller/products", product).await;
    assert!((200..300).contains(&created.status), "{} {}", created.status, created.text);
    let sku = format!("SKU-{asin}");
    let offer = json!({"sku": sku, "price": {"minor": price, "currency": "EUR"}, "shipping": {"minor": shipping, "currency": "EUR"},
        "condition": "new", "fulfilment": "seller", "handling_days": 1});
    m.write(200, Method::PUT, &format!("/v1/seller/offers/{asin}"), SELLER, offer).await;
    let stock = json!({"quantity": stock, "feed_seq": 1});
    m.write(200, Method::PUT, &format!("/v1/seller/inventory/{sku}/FRA1"), SELLER, stock).await;
    // Stock reaches the offer (and so the buy box) through a flow: wait for it.
    eventually(&format!("the stock of {asin} reaches its buy box"), async || {
        let product = m.get(SELLER, &format!("/v1/products/{asin}")).await.json;
        if product["buy_box"]["available"] == json!(stock_of(&product)) {
            Ok(())
        } else {
            Err(product.to_string())
        }
    })
    .await;
}

fn stock_of(product: &Value) -> u64 {
    product["offers"][0]["available"].as_u64().unwrap_or(0)
}

/// A cart of `customer` in EUR with `items` (ASIN, quantity) added; answers its id.
async fn new_cart(m: &Market, customer: Auth<'_>, items: &[(&str, u32)]) -> String {
    let cart = m.write(201, Method::POST, "/v1/carts", customer, json!({"currency": "EUR"})).await;
    let id = cart["id"].as_str().unwrap().to_string();
    for (asin, quantity) in items {
        let item = json!({"asin": asin, "quantity": quantity});
        m.write(200, Method::POST, &format!("/v1/carts/{id}/items"), customer, item).await;
    }
    id
}

/// The stock level of `SKU-{asin}` at FRA1, as seller-1 sees it.
async fn stock(m: &Market, asin: &str) -> Value {
    m.read(SELLER, &format!("/v1/seller/inventory/SKU-{asin}/FRA1")).await
}

/// The cart `id` as `who` sees it, whatever the status.
async fn cart_of(m: &Market, who: Auth<'_>, id: &str) -> Value {
    m.get(who, &format!("/v1/carts/{id}")).await.json
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_holds_on_ten_units_never_oversell_even_after_a_restart() {
    let hot =
        Listing { asin: "B00000HOT1", price: 1999, shipping: 0, stock: 10, tax_class: "standard" };
    let m = market_with(&[hot]).await;
    let mut carts = Vec::new();
    for _ in 0..200 {
        carts.push(new_cart(&m, CUSTOMER, &[("B00000HOT1", 1)]).await);
    }
    // Shared with the 200 tasks; back to one owner once they have all finished.
    let m = Arc::new(m);
    let holds = carts.iter().map(|id| {
        let (m, path) = (m.clone(), format!("/v1/carts/{id}/reservation"));
        tokio::spawn(async move { m.call(Method::POST, &path, CUSTOMER, Body::None).await })
    });
    let mut held = 0;
    for hold in holds.collect::<Vec<_>>() {
        let reply = hold.await.unwrap();
        match reply.status {
            201 => held += 1,
            409 => assert_eq!(reply.json["code"], "out_of_stock", "{}", reply.text),
            other => panic!("unexpected {other}: {}", reply.text),
        }
    }
    let mut m = Arc::into_inner(m).expect("every hold has finished");
    assert_eq!(held, 10, "exactly the 10 units on hand are held");
    let level = stock(&m, "B00000HOT1").await;
    assert_eq!(
        (level["on_hand"].as_u64(), level["reserved"].as_u64(), level["available"].as_u64()),
        (Some(10), Some(10), Some(0))
    );

    m.restart();
    let level = stock(&m, "B00000HOT1").await;
    assert_eq!(
        (level["reserved"].as_u64(), level["available"].as_u64()),
        (Some(10), Some(0)),
        "the same after a restart"
    );
    let path = format!("/v1/carts/{}/reservation", carts[199]);
    let reply = m.call(Method::POST, &path, CUSTOMER, Body::None).await;
    assert!(reply.status == 409 || reply.status == 201, "{} {}", reply.status, reply.text);
    let level = stock(&m, "B00000HOT1").await;
    assert_eq!(level["reserved"].as_u64(), Some(10), "still no oversell: {level}");
    m.shut_down();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cart_with_stacked_promotions_and_vat_matches_the_hand_computed_total() {
    // A: 20.00 standard rate, shipping 3.00 a unit; B: 10.00 reduced rate, free shipping.
    let a = Listing {
        asin: "B0000000AA",
        price: 2000,
        shipping: 300,
        stock: 50,
        tax_class: "standard",
    };
    let b =
        Listing { asin: "B0000000BB", price: 1000, shipping: 0, stock: 50, tax_class: "reduced" };
    let m = market_with(&[a, b]).await;
    let forever = json!({"starts_ms": 0, "ends_ms": 4_000_000_000_000u64});
    let ten_percent = json!({"id": "ten", "benefit": {"type": "percent_off", "bps": 1000}, "starts_ms": forever["starts_ms"],
        "ends_ms": forever["ends_ms"], "total_redemptions": 1000, "redemptions_per_customer": 5});
    let five_off = json!({"id": "five", "benefit": {"type": "amount_off", "amount": {"minor": 500, "currency": "EUR"}},
        "coupon": "SAVE5", "stackable": true, "starts_ms": forever["starts_ms"], "ends_ms": forever["ends_ms"],
        "asins": ["B0000000AA"], "total_redemptions": 1000, "redemptions_per_customer": 5});
    for promotion in [ten_percent, five_off] {
        m.write(201, Method::POST, "/admin/promotions", OPERATOR, promotion).await;
    }
    let cart = new_cart(&m, CUSTOMER, &[("B0000000AA", 2), ("B0000000BB", 3)]).await;
    let priced = m.read(CUSTOMER, &format!("/v1/carts/{cart}?country=DE&coupons=save5")).await;
    // Line A: 2 x 20.00 = 40.00; 10% off = 4.00 -> 36.00; coupon 5.00 (stackable, A only) -> 31.00;
    //         shipping 2 x 3.00 = 6.00; net 37.00; VAT 19% = 7.03; total 44.03.
    // Line B: 3 x 10.00 = 30.00; 10% off = 3.00 -> 27.00; no shipping; net 27.00;
    //         VAT 7% = 1.89; total 28.89.
    // Cart: subtotal 70.00, discount 12.00, shipping 6.00, net 64.00, VAT 8.92, total 72.92.
    let totals = &priced["totals"];
    let minor = |v: &Value| v["minor"].as_i64().unwrap();
    assert_eq!(
        [
            minor(&totals["subtotal"]),
            minor(&totals["discount"]),
            minor(&totals["shipping"]),
            minor(&totals["net"]),
            minor(&totals["vat"]),
            minor(&totals["total"])
        ],
        [7000, 1200, 600, 6400, 892, 7292],
        "{priced}"
    );
    let rates: Vec<u64> = priced["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["vat_rate_bps"].as_u64().unwrap())
        .collect();
    assert_eq!(rates, vec![1900, 700]);
    // Without the coupon the 5.00 is declined, and the rest stays.
    let plain = cart_of(&m, CUSTOMER, &cart).await;
    assert_eq!(minor(&plain["totals"]["discount"]), 700, "{plain}");
    m.shut_down();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customers_only_touch_their_own_carts_and_keys_replay() {
    let cc =
        Listing { asin: "B0000000CC", price: 500, shipping: 0, stock: 5, tax_class: "standard" };
    let m = market_with(&[cc]).await;
    let cart = new_cart(&m, CUSTOMER, &[("B0000000CC", 1)]).await;

    for (method, path, body) in [
        (Method::GET, format!("/v1/carts/{cart}"), Body::None),
        (
            Method::POST,
            format!("/v1/carts/{cart}/items"),
            Body::Json(json!({"asin": "B0000000CC", "quantity": 1})),
        ),
        (
            Method::PUT,
            format!("/v1/carts/{cart}/items/B0000000CC"),
            Body::Json(json!({"quantity": 2})),
        ),
        (Method::DELETE, format!("/v1/carts/{cart}/items/B0000000CC"), Body::None),
        (Method::POST, format!("/v1/carts/{cart}/reservation"), Body::None),
        (Method::GET, "/v1/carts/c-doesnotexist".to_string(), Body::None),
        (
            Method::POST,
            "/v1/carts/c-doesnotexist/items".to_string(),
            Body::Json(json!({"asin": "B0000000CC", "quantity": 1})),
        ),
    ] {
        let reply = m.call(method, &path, OTHER_CUSTOMER, body).await;
        assert_eq!(
            (reply.status, reply.json["code"].as_str()),
            (404, Some("not_found")),
            "{path}: {}",
            reply.text
        );
    }
    let mine = cart_of(&m, CUSTOMER, &cart).await;
    assert_eq!(mine["lines"][0]["quantity"], 1, "the other customer changed nothing: {mine}");

    // Idempotency-Key: the same request replays, another request with the key is refused.
    let items = format!("/v1/carts/{cart}/items");
    let add = async |key: &str, quantity: u32| {
        let body = Body::Json(json!({"asin": "B0000000CC", "quantity": quantity}));
        m.call_with_headers(Method::POST, &items, CUSTOMER, &[("idempotency-key", key)], body).await
    };
    let first = add("add-1", 2).await;
    assert_eq!(first.status, 200);
    let again = add("add-1", 2).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    let reused = add("add-1", 3).await;
    assert_eq!(reused.status, 422);
    let mine = cart_of(&m, CUSTOMER, &cart).await;
    assert_eq!(mine["lines"][0]["quantity"], 3, "1 + 2, added once: {mine}");
    m.shut_down();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_cart_merges_into_the_customers_cart_after_sign_in() {
    let listing =
        |asin| Listing { asin, price: 700, shipping: 0, stock: 20, tax_class: "standard" };
    let m = market_with(&[listing("B0000000GG"), listing("B0000000HH")]).await;

    // A visitor without an account: no bearer token, the tenant by header.
    let eur = || Body::Json(json!({"currency": "EUR"}));
    let tenant = [("x-tenant", "default")];
    let created =
        m.call_with_headers(Method::POST, "/v1/guest/carts", Auth::None, &tenant, eur()).await;
    let (guest_cart, guest_token) = (
        created.json["id"].as_str().unwrap().to_string(),
        created.json["guest_token"].as_str().unwrap().to_string(),
    );
    let guest = [("x-tenant", "default"), ("x-guest-token", guest_token.as_str())];
    let guest_path = format!("/v1/guest/carts/{guest_cart}");
    for (asin, quantity) in [("B0000000GG", 2), ("B0000000HH", 1)] {
        let item = Body::Json(json!({"asin": asin, "quantity": quantity}));
        let path = format!("{guest_path}/items");
        let added = m.call_with_headers(Method::POST, &path, Auth::None, &guest, item).await;
        assert_eq!(added.status, 200);
    }
    let wrong_token = [("x-tenant", "default"), ("x-guest-token", "not-the-token-0123456789")];
    let wrong =
        m.call_with_headers(Method::GET, &guest_path, Auth::None, &wrong_token, Body::None).await;
    assert_eq!(wrong.status, 404, "another token does not open the cart");
    let nope = [("x-tenant", "nope")];
    let unknown_tenant =
        m.call_with_headers(Method::POST, "/v1/guest/carts", Auth::None, &nope, eur()).await;
    assert_eq!(unknown_tenant.status, 401);

    // After sign-in the visitor's lines join the customer's cart, quantities adding up.
    let customer_cart = new_cart(&m, CUSTOMER, &[("B0000000GG", 1)]).await;
    let merge = json!({"from": guest_cart, "guest_token": guest_token});
    m.write(200, Method::POST, &format!("/v1/carts/{customer_cart}/merge"), CUSTOMER, merge).await;
    let merged = cart_of(&m, CUSTOMER, &customer_cart).await;
    let quantities: Vec<(String, u64)> = merged["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| {
            (line["asin"].as_str().unwrap().to_string(), line["quantity"].as_u64().unwrap())
        })
        .collect();
    assert_eq!(
        quantities,
        vec![("B0000000GG".to_string(), 3), ("B0000000HH".to_string(), 1)],
        "{merged}"
    );
    let emptied =
        m.call_with_headers(Method::GET, &guest_path, Auth::None, &guest, Body::None).await.json;
    assert_eq!(
        emptied["lines"].as_array().map(Vec::len),
        Some(0),
        "the guest cart is emptied: {emptied}"
    );
    // Sent again (a client that lost the answer), the merge adds nothing twice.
    let merge = json!({"from": guest_cart, "guest_token": guest_token});
    m.write(200, Method::POST, &format!("/v1/carts/{customer_cart}/merge"), CUSTOMER, merge).await;
    let again = cart_of(&m, CUSTOMER, &customer_cart).await;
    assert_eq!(again["lines"], merged["lines"], "{again}");
    let itself = json!({"from": customer_cart});
    let path = format!("/v1/carts/{customer_cart}/merge");
    let reply = m.call(Method::POST, &path, CUSTOMER, Body::Json(itself)).await;
    assert_eq!(
        (reply.status, &reply.json["code"]),
        (422, &json!("merge_into_itself")),
        "{}",
        reply.text
    );
    m.shut_down();
}
