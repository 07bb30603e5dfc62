//! Carts over real HTTP against a real `bazaar serve`: holds that never oversell (also across a
//! restart), a cart priced with stacked promotions and VAT to the cent, customers isolated from
//! each other's carts, and `Idempotency-Key` replays.

mod support;

use std::path::Path;
use std::process::Command;

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use support::Server;

/// Tokens by role (and the second customer's), minted before the server starts.
struct Tokens {
    seller: String,
    customer: String,
    other_customer: String,
    operator: String,
}

fn tokens(dir: &Path) -> Tokens {
    // The first start writes the initial tokens; more are minted while no server runs.
    let server = Server::start(dir);
    assert!(server.terminate().success());
    let other_customer = mint(dir, "customer", "customer-2");
    let listing = std::fs::read_to_string(dir.join("initial-tokens.txt")).unwrap();
    let of = |role: &str| {
        listing.lines().find_map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            (words.len() == 4 && words[1] == role).then(|| words[3].to_string())
        })
    };
    Tokens {
        seller: of("seller").unwrap(),
        customer: of("customer").unwrap(),
        other_customer,
        operator: of("operator").unwrap(),
    }
}

fn mint(dir: &Path, role: &str, principal: &str) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_bazaar"))
        .args(["token", "add", "--role", role, "--principal", principal, "--data-dir"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

async fn send(
    client: &Client,
    method: reqwest::Method,
    url: String,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = client.request(method, url).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// A product offered by seller-1 at `price` (+ `shipping` a unit) with `stock` units at FRA1.
struct Listing<'a> {
    asin: &'a str,
    price: i64,
    shipping: i64,
    stock: u32,
    tax_class: &'a str,
}

async fn list(server: &Server, client: &Client, seller: &str, listing: Listing<'_>) {
    let Listing { asin, price, shipping, stock, tax_class: class } = listing;
    let (status, _) = send(
        client,
        reqwest::Method::PUT,
        server.url("/v1/seller/profile"),
        seller,
        Some(json!({"name": "Acme"})),
    )
    .await;
    assert_eq!(status, 200);
    let document = json!({"title": format!("Item {asin}"), "brand": "Acme", "category_path": ["Home"], "tax_class": class});
    let product = json!({"asin": asin, "currency": "EUR", "document": document});
    let (status, body) = send(
        client,
        reqwest::Method::POST,
        server.url("/v1/seller/products"),
        seller,
        Some(product),
    )
    .await;
    assert!(status.is_success(), "{status} {body}");
    let sku = format!("SKU-{asin}");
    let offer = json!({"sku": sku, "price": {"minor": price, "currency": "EUR"}, "shipping": {"minor": shipping, "currency": "EUR"},
        "condition": "new", "fulfilment": "seller", "handling_days": 1});
    let (status, body) = send(
        client,
        reqwest::Method::PUT,
        server.url(&format!("/v1/seller/offers/{asin}")),
        seller,
        Some(offer),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let stock = json!({"quantity": stock, "feed_seq": 1});
    let (status, body) = send(
        client,
        reqwest::Method::PUT,
        server.url(&format!("/v1/seller/inventory/{sku}/FRA1")),
        seller,
        Some(stock),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // Stock reaches the offer (and so the buy box) through a flow: wait for it.
    wait_until(|| async {
        let (_, product) = send(
            client,
            reqwest::Method::GET,
            server.url(&format!("/v1/products/{asin}")),
            seller,
            None,
        )
        .await;
        product["buy_box"]["available"] == json!(stock_of(&product))
    })
    .await;
}

fn stock_of(product: &Value) -> u64 {
    product["offers"][0]["available"].as_u64().unwrap_or(0)
}

async fn wait_until<F, Fut>(condition: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while !condition().await {
        assert!(tokio::time::Instant::now() < deadline, "condition not met within 10 s");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

async fn new_cart(
    server: &Server,
    client: &Client,
    customer: &str,
    items: &[(&str, u32)],
) -> String {
    let (status, body) = send(
        client,
        reqwest::Method::POST,
        server.url("/v1/carts"),
        customer,
        Some(json!({"currency": "EUR"})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_str().unwrap().to_string();
    for (asin, quantity) in items {
        let item = json!({"asin": asin, "quantity": quantity});
        let (status, body) = send(
            client,
            reqwest::Method::POST,
            server.url(&format!("/v1/carts/{id}/items")),
            customer,
            Some(item),
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }
    id
}

async fn stock(server: &Server, client: &Client, seller: &str, asin: &str) -> Value {
    let (status, body) = send(
        client,
        reqwest::Method::GET,
        server.url(&format!("/v1/seller/inventory/SKU-{asin}/FRA1")),
        seller,
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_holds_on_ten_units_never_oversell_even_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = tokens(dir.path());
    let client = Client::new();
    let server = Server::start(dir.path());
    list(
        &server,
        &client,
        &tokens.seller,
        Listing { asin: "B00000HOT1", price: 1999, shipping: 0, stock: 10, tax_class: "standard" },
    )
    .await;
    let mut carts = Vec::new();
    for _ in 0..200 {
        carts.push(new_cart(&server, &client, &tokens.customer, &[("B00000HOT1", 1)]).await);
    }
    let holds = carts.iter().map(|id| {
        let (client, url, token) = (
            client.clone(),
            server.url(&format!("/v1/carts/{id}/reservation")),
            tokens.customer.clone(),
        );
        tokio::spawn(async move { send(&client, reqwest::Method::POST, url, &token, None).await })
    });
    let mut held = 0;
    for hold in holds.collect::<Vec<_>>() {
        let (status, body) = hold.await.unwrap();
        match status {
            StatusCode::CREATED => held += 1,
            StatusCode::CONFLICT => assert_eq!(body["code"], "out_of_stock", "{body}"),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(held, 10, "exactly the 10 units on hand are held");
    let level = stock(&server, &client, &tokens.seller, "B00000HOT1").await;
    assert_eq!(
        (level["on_hand"].as_u64(), level["reserved"].as_u64(), level["available"].as_u64()),
        (Some(10), Some(10), Some(0))
    );

    assert!(server.terminate().success());
    let server = Server::start(dir.path());
    let level = stock(&server, &client, &tokens.seller, "B00000HOT1").await;
    assert_eq!(
        (level["reserved"].as_u64(), level["available"].as_u64()),
        (Some(10), Some(0)),
        "the same after a restart"
    );
    let (status, body) = send(
        &client,
        reqwest::Method::POST,
        server.url(&format!("/v1/carts/{}/reservation", carts[199])),
        &tokens.customer,
        None,
    )
    .await;
    assert!(status == StatusCode::CONFLICT || status == StatusCode::CREATED, "{status} {body}");
    let level = stock(&server, &client, &tokens.seller, "B00000HOT1").await;
    assert_eq!(level["reserved"].as_u64(), Some(10), "still no oversell: {level}");
    assert!(server.terminate().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cart_with_stacked_promotions_and_vat_matches_the_hand_computed_total() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = tokens(dir.path());
    let client = Client::new();
    let server = Server::start(dir.path());
    // A: 20.00 standard rate, shipping 3.00 a unit; B: 10.00 reduced rate, free shipping.
    list(
        &server,
        &client,
        &tokens.seller,
        Listing {
            asin: "B0000000AA",
            price: 2000,
            shipping: 300,
            stock: 50,
            tax_class: "standard",
        },
    )
    .await;
    list(
        &server,
        &client,
        &tokens.seller,
        Listing { asin: "B0000000BB", price: 1000, shipping: 0, stock: 50, tax_class: "reduced" },
    )
    .await;
    let forever = json!({"starts_ms": 0, "ends_ms": 4_000_000_000_000u64});
    let ten_percent = json!({"id": "ten", "benefit": {"type": "percent_off", "bps": 1000}, "starts_ms": forever["starts_ms"],
        "ends_ms": forever["ends_ms"], "total_redemptions": 1000, "redemptions_per_customer": 5});
    let five_off = json!({"id": "five", "benefit": {"type": "amount_off", "amount": {"minor": 500, "currency": "EUR"}},
        "coupon": "SAVE5", "stackable": true, "starts_ms": forever["starts_ms"], "ends_ms": forever["ends_ms"],
        "asins": ["B0000000AA"], "total_redemptions": 1000, "redemptions_per_customer": 5});
    for promotion in [ten_percent, five_off] {
        let (status, body) = send(
            &client,
            reqwest::Method::POST,
            server.url("/admin/promotions"),
            &tokens.operator,
            Some(promotion),
        )
        .await;
        assert_eq!(status, 201, "{body}");
    }
    let cart =
        new_cart(&server, &client, &tokens.customer, &[("B0000000AA", 2), ("B0000000BB", 3)]).await;
    let (status, priced) = send(
        &client,
        reqwest::Method::GET,
        server.url(&format!("/v1/carts/{cart}?country=DE&coupons=save5")),
        &tokens.customer,
        None,
    )
    .await;
    assert_eq!(status, 200, "{priced}");
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
    let (_, plain) = send(
        &client,
        reqwest::Method::GET,
        server.url(&format!("/v1/carts/{cart}")),
        &tokens.customer,
        None,
    )
    .await;
    assert_eq!(minor(&plain["totals"]["discount"]), 700, "{plain}");
    assert!(server.terminate().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customers_only_touch_their_own_carts_and_keys_replay() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = tokens(dir.path());
    let client = Client::new();
    let server = Server::start(dir.path());
    list(
        &server,
        &client,
        &tokens.seller,
        Listing { asin: "B0000000CC", price: 500, shipping: 0, stock: 5, tax_class: "standard" },
    )
    .await;
    let cart = new_cart(&server, &client, &tokens.customer, &[("B0000000CC", 1)]).await;

    let other = &tokens.other_customer;
    for (method, path, body) in [
        (reqwest::Method::GET, format!("/v1/carts/{cart}"), None),
        (
            reqwest::Method::POST,
            format!("/v1/carts/{cart}/items"),
            Some(json!({"asin": "B0000000CC", "quantity": 1})),
        ),
        (reqwest::Method::POST, format!("/v1/carts/{cart}/reservation"), None),
        (reqwest::Method::GET, "/v1/carts/c-doesnotexist".to_string(), None),
    ] {
        let (status, body) = send(&client, method, server.url(&path), other, body).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("not_found")),
            "{path}: {body}"
        );
    }
    let (_, mine) = send(
        &client,
        reqwest::Method::GET,
        server.url(&format!("/v1/carts/{cart}")),
        &tokens.customer,
        None,
    )
    .await;
    assert_eq!(mine["lines"][0]["quantity"], 1, "the other customer changed nothing: {mine}");

    // Idempotency-Key: the same request replays, another request with the key is refused.
    let post = |key: &str, body: Value| {
        client
            .post(server.url(&format!("/v1/carts/{cart}/items")))
            .bearer_auth(&tokens.customer)
            .header("idempotency-key", key)
            .json(&body)
    };
    let first = post("add-1", json!({"asin": "B0000000CC", "quantity": 2})).send().await.unwrap();
    assert_eq!(first.status(), 200);
    let again = post("add-1", json!({"asin": "B0000000CC", "quantity": 2})).send().await.unwrap();
    assert_eq!(again.status(), 200);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let reused = post("add-1", json!({"asin": "B0000000CC", "quantity": 3})).send().await.unwrap();
    assert_eq!(reused.status(), 422);
    let (_, mine) = send(
        &client,
        reqwest::Method::GET,
        server.url(&format!("/v1/carts/{cart}")),
        &tokens.customer,
        None,
    )
    .await;
    assert_eq!(mine["lines"][0]["quantity"], 3, "1 + 2, added once: {mine}");
    assert!(server.terminate().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_cart_merges_into_the_customers_cart_after_sign_in() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = tokens(dir.path());
    let client = Client::new();
    let server = Server::start(dir.path());
    let listing =
        |asin| Listing { asin, price: 700, shipping: 0, stock: 20, tax_class: "standard" };
    list(&server, &client, &tokens.seller, listing("B0000000GG")).await;
    list(&server, &client, &tokens.seller, listing("B0000000HH")).await;

    // A visitor without an account: no bearer token, the tenant by header.
    let created = client
        .post(server.url("/v1/guest/carts"))
        .header("x-tenant", "default")
        .json(&json!({"currency": "EUR"}));
    let created: Value = created.send().await.unwrap().json().await.unwrap();
    let (guest_cart, guest_token) = (
        created["id"].as_str().unwrap().to_string(),
        created["guest_token"].as_str().unwrap().to_string(),
    );
    let guest = |request: reqwest::RequestBuilder| {
        request.header("x-tenant", "default").header("x-guest-token", &guest_token)
    };
    for (asin, quantity) in [("B0000000GG", 2), ("B0000000HH", 1)] {
        let add = guest(client.post(server.url(&format!("/v1/guest/carts/{guest_cart}/items"))))
            .json(&json!({"asin": asin, "quantity": quantity}));
        assert_eq!(add.send().await.unwrap().status(), 200);
    }
    let wrong = client
        .get(server.url(&format!("/v1/guest/carts/{guest_cart}")))
        .header("x-tenant", "default")
        .header("x-guest-token", "not-the-token-0123456789");
    assert_eq!(wrong.send().await.unwrap().status(), 404, "another token does not open the cart");
    let unknown_tenant = client
        .post(server.url("/v1/guest/carts"))
        .header("x-tenant", "nope")
        .json(&json!({"currency": "EUR"}));
    assert_eq!(unknown_tenant.send().await.unwrap().status(), 401);

    // After sign-in the visitor's lines join the customer's cart, quantities adding up.
    let customer_cart = new_cart(&server, &client, &tokens.customer, &[("B0000000GG", 1)]).await;
    let merge = json!({"from": guest_cart, "guest_token": guest_token});
    let (status, body) = send(
        &client,
        reqwest::Method::POST,
        server.url(&format!("/v1/carts/{customer_cart}/merge")),
        &tokens.customer,
        Some(merge),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (_, merged) = send(
        &client,
        reqwest::Method::GET,
        server.url(&format!("/v1/carts/{customer_cart}")),
        &tokens.customer,
        None,
    )
    .await;
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
    let emptied: Value = guest(client.get(server.url(&format!("/v1/guest/carts/{guest_cart}"))))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        emptied["lines"].as_array().map(Vec::len),
        Some(0),
        "the guest cart is emptied: {emptied}"
    );
    assert!(server.terminate().success());
}
