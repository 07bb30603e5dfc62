//! The operations of a load, each as a user does it over the API, counted under its report
//! key: a product read, a search, a cart change (a new browsing cart when the customer has
//! none or a full one, then a line), a checkout (its own cart and line, counted as cart
//! changes, then `POST /v1/checkouts` with a new `Idempotency-Key`; one in
//! [`RESEND_EVERY`] is sent again with the same key), a cancellation of an order placed
//! earlier, a seller's price update (then a buy-box probe), an inventory feed in NDJSON with
//! stale sequence numbers mixed in.
//!
//! Invariants: a request's latency runs from the operation's intended start for its first
//! request, and from its send for the ones that follow (the checkout after its cart), so a
//! stall of the node is never hidden and each operation's own time is its own. Every checkout
//! key is recorded before it is sent; every order is recorded when acknowledged. Refusals the
//! scenario provokes (out of stock, a stale feed line, a rate limit) count as errors of their
//! code but not against availability; only 5xx and missing answers do.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use reqwest::Method;
use serde_json::{Value, json};

use super::catalog::{BRANDS, Catalogue, LOCATION};
use super::http::{Body, classify};
use super::limits::{BROWSING_CART_LINES_MAX, BUY_BOX_WAIT_MS_MAX};
use super::plan::{Facet, Op};
use super::world::{Acknowledged, SentKey, World, lock};

/// One checkout in this many is sent a second time with the same key.
pub const RESEND_EVERY: u64 = 20;

pub async fn execute(world: &World, op: Op, intended: Instant) {
    match op {
        Op::ProductRead { product } => {
            let path = format!("/v1/products/{}", world.catalogue.products[product as usize].asin);
            let token = customer_token(world, product);
            let result = world.api.get(&path, Some(token)).await;
            world.record("product_read", intended, intended, &result, &[200]);
        }
        Op::Search { word, facet, page } => search(world, word, facet, page, intended).await,
        Op::CartChange { customer, product } => {
            cart_change(world, customer, product, intended).await
        }
        Op::Checkout { customer, product } => checkout(world, customer, product, intended).await,
        Op::Cancellation { pick } => cancellation(world, pick, intended).await,
        Op::PriceUpdate { product, offer, price_change_bps } => {
            price_update(world, product, offer, price_change_bps, intended).await
        }
        Op::InventoryFeed { seller, choice } => feed(world, seller, choice, intended).await,
    }
}

fn customer_token(world: &World, n: u32) -> &str {
    let customers = &world.tokens.customers;
    &customers[n as usize % customers.len()]
}

async fn search(world: &World, word: u32, facet: Facet, page: u32, intended: Instant) {
    let words = Catalogue::vocabulary();
    let mut query = vec![("q", words[word as usize % words.len()].to_string())];
    match facet {
        Facet::None => {}
        Facet::Brand(n) => query.push(("brand", BRANDS[n as usize % BRANDS.len()].to_string())),
        Facet::Category(n) => {
            let categories = Catalogue::categories();
            query.push(("category", categories[n as usize % categories.len()].to_string()));
        }
    }
    query.push(("page", page.to_string()));
    let encoded: Vec<String> =
        query.iter().map(|(k, v)| format!("{k}={}", v.replace(' ', "%20"))).collect();
    let path = format!("/v1/search?{}", encoded.join("&"));
    let result = world.api.get(&path, Some(customer_token(world, word))).await;
    world.record("search", intended, intended, &result, &[200]);
}

/// A new cart for `customer`, counted as a cart change from `from`; its id.
async fn new_cart(
    world: &World,
    customer: u32,
    intended: Instant,
    from: Instant,
) -> Option<String> {
    let token = customer_token(world, customer);
    let body = Body::Json(json!({"currency": "EUR"}));
    let result = world.api.send(Method::POST, "/v1/carts", Some(token), &[], body).await;
    world.record("cart_change", intended, from, &result, &[201]);
    world.business.carts_created.fetch_add(1, Ordering::Relaxed);
    let answer = result.ok().filter(|a| a.status == 201)?;
    answer.json["id"].as_str().map(str::to_string)
}

/// Adds one unit of `product` (its first offer) to `cart`, counted from `from`.
async fn add_line(
    world: &World,
    customer: u32,
    cart: &str,
    product: u32,
    intended: Instant,
    from: Instant,
) -> bool {
    let product = &world.catalogue.products[product as usize];
    let seller = &world.catalogue.sellers[product.offers[0].seller as usize];
    let item = json!({"asin": product.asin, "seller": seller, "quantity": 1});
    let path = format!("/v1/carts/{cart}/items");
    let token = customer_token(world, customer);
    let result = world.api.send(Method::POST, &path, Some(token), &[], Body::Json(item)).await;
    world.record("cart_change", intended, from, &result, &[200]);
    classify(&result, &[200]).is_none()
}

async fn cart_change(world: &World, customer: u32, product: u32, intended: Instant) {
    let open = lock(&world.learnt).carts.get(&customer).cloned();
    let (cart, from) = match open {
        Some((cart, lines)) if lines < BROWSING_CART_LINES_MAX => (cart, intended),
        _ => match new_cart(world, customer, intended, intended).await {
            Some(cart) => (cart, Instant::now()),
            None => return,
        },
    };
    if add_line(world, customer, &cart, product, intended, from).await {
        let mut learnt = lock(&world.learnt);
        let entry = learnt.carts.entry(customer).or_insert((cart.clone(), 0));
        if entry.0 == cart {
            entry.1 += 1;
        } else {
            *entry = (cart, 1);
        }
    }
}

async fn checkout(world: &World, customer: u32, product: u32, intended: Instant) {
    let Some(cart) = new_cart(world, customer, intended, intended).await else { return };
    if !add_line(world, customer, &cart, product, intended, Instant::now()).await {
        return;
    }
    let n = world.next();
    let key = format!("sim-{}-{n}", world.catalogue.tag);
    let body = json!({
        "cart_id": cart,
        "ship_to": {
            "name": format!("Sim Customer {customer}"),
            "line1": format!("Simstrasse {n}"),
            "city": "Berlin",
            "postal_code": format!("{:05}", 10_000 + n % 89_999),
            "country": "DE",
        },
        "payment": {"card": format!("tok_visa_{}_{n}", world.catalogue.tag), "billing_country": "DE"},
        "coupons": [],
    });
    let index = {
        let mut learnt = lock(&world.learnt);
        learnt.keys.push(SentKey { customer, key: key.clone(), answered: Vec::new() });
        learnt.keys.len() - 1
    };
    let token = customer_token(world, customer);
    let headers = [("idempotency-key", key.as_str())];
    let sent = Instant::now();
    let result = world
        .api
        .send(Method::POST, "/v1/checkouts", Some(token), &headers, Body::Json(body.clone()))
        .await;
    world.record("checkout", intended, sent, &result, &[201, 202]);
    let code = classify(&result, &[201, 202]).map(|(code, _)| code);
    if !matches!(
        code.as_deref(),
        Some("out_of_stock" | "fraud_rejected" | "invalid" | "cart_empty")
    ) {
        world.business.payment_attempts.fetch_add(1, Ordering::Relaxed);
    }
    let Ok(answer) = result else { return };
    let order = match answer.status {
        201 => answer.json["order_id"].as_str().map(str::to_string),
        202 => settled(world, token, &key).await,
        _ => None,
    };
    let Some(order) = order else { return };
    {
        let mut learnt = lock(&world.learnt);
        learnt.keys[index].answered.push(order.clone());
        let asin = world.catalogue.products[product as usize].asin.clone();
        learnt.acknowledged.push(Acknowledged { order: order.clone(), customer, asin });
    }
    world.business.orders.fetch_add(1, Ordering::Relaxed);
    if n.is_multiple_of(RESEND_EVERY) {
        let again = world
            .api
            .send(Method::POST, "/v1/checkouts", Some(token), &headers, Body::Json(body))
            .await;
        if let Ok(answer) = again
            && let Some(order) = answer.json["order_id"].as_str()
        {
            lock(&world.learnt).keys[index].answered.push(order.to_string());
        }
    }
}

/// Polls a pending checkout until it settles; the order when it completed.
async fn settled(world: &World, token: &str, key: &str) -> Option<String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let answer = world.api.get(&format!("/v1/checkouts/{key}"), Some(token)).await.ok()?;
        match answer.json["status"].as_str() {
            Some("completed") => return answer.json["order_id"].as_str().map(str::to_string),
            Some("pending") => tokio::time::sleep(Duration::from_millis(100)).await,
            _ => return None,
        }
    }
    None
}

async fn cancellation(world: &World, pick: u32, intended: Instant) {
    let chosen = {
        let learnt = lock(&world.learnt);
        let count = learnt.acknowledged.len();
        (count > 0).then(|| learnt.acknowledged[pick as usize % count].clone())
    };
    let Some(order) = chosen else { return };
    let path = format!("/v1/orders/{}/cancellation", order.order);
    let token = customer_token(world, order.customer);
    let body = Body::Json(json!({"reason": "changed my mind"}));
    let result = world.api.send(Method::POST, &path, Some(token), &[], body).await;
    world.record("cancellation", intended, intended, &result, &[200, 202]);
}

async fn price_update(world: &World, product: u32, offer: u32, change_bps: i32, intended: Instant) {
    let item = &world.catalogue.products[product as usize];
    let terms = &item.offers[offer as usize % item.offers.len()];
    let price = (terms.price_minor * (10_000 + i64::from(change_bps)) / 10_000).max(100);
    let body = json!({
        "sku": terms.sku,
        "price": {"minor": price, "currency": "EUR"},
        "shipping": {"minor": terms.shipping_minor, "currency": "EUR"},
        "condition": "new",
        "fulfilment": "seller",
        "handling_days": 1,
    });
    let token = &world.tokens.sellers[terms.seller as usize];
    let path = format!("/v1/seller/offers/{}", item.asin);
    let result = world.api.send(Method::PUT, &path, Some(token), &[], Body::Json(body)).await;
    world.record("price_update", intended, intended, &result, &[200]);
    let Ok(answer) = result.clone() else { return };
    if answer.status != 200 {
        return;
    }
    let answered = Instant::now();
    let generation = {
        let mut learnt = lock(&world.learnt);
        let generation = learnt.price_generation.entry(product).or_default();
        *generation += 1;
        *generation
    };
    let Ok(_permit) = world.probes.try_acquire() else { return };
    let wanted = winner(&answer.json["buy_box"]);
    let deadline = answered + Duration::from_millis(BUY_BOX_WAIT_MS_MAX);
    let reader = customer_token(world, product);
    while Instant::now() < deadline {
        if lock(&world.learnt).price_generation.get(&product) != Some(&generation) {
            return; // Superseded: another update's probe judges the buy box now.
        }
        let read = world.api.get(&format!("/v1/products/{}", item.asin), Some(reader)).await;
        if let Ok(read) = read
            && winner(&read.json["buy_box"]) == wanted
        {
            let us = u64::try_from(answered.elapsed().as_micros()).unwrap_or(u64::MAX);
            lock(&world.buy_box).saturating_record(us.max(1));
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    world.business.buy_box_missed.fetch_add(1, Ordering::Relaxed);
}

/// The buy box's seller and landed price.
fn winner(buy_box: &Value) -> (Option<String>, Option<i64>) {
    (buy_box["seller"].as_str().map(str::to_string), buy_box["landed"]["minor"].as_i64())
}

async fn feed(world: &World, seller: u32, choice: u64, intended: Instant) {
    let seller = seller as usize % world.catalogue.sellers.len();
    let flash =
        world.catalogue.flash.map(|n| world.catalogue.products[n as usize].offers[0].sku.clone());
    let skus: Vec<&str> = world
        .catalogue
        .skus()
        .filter(|(_, _, offer)| {
            offer.seller as usize == seller && Some(&offer.sku) != flash.as_ref()
        })
        .map(|(_, _, offer)| offer.sku.as_str())
        .collect();
    if skus.is_empty() {
        return;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(choice);
    let stock = world.scenario.catalogue.stock_per_sku;
    let mut lines = Vec::new();
    {
        let mut learnt = lock(&world.learnt);
        let super::world::Learnt { feed_seq, fed, .. } = &mut *learnt;
        for _ in 0..world.scenario.feeds.lines.min(skus.len() as u32) {
            let sku = skus[rng.random_range(0..skus.len())];
            let next = feed_seq.entry(sku.to_string()).or_insert(super::seed::FEED_SEQ_SEEDED + 1);
            let seq = if rng.random_bool(world.scenario.feeds.stale_share) {
                next.saturating_sub(rng.random_range(2..10)).max(1)
            } else {
                *next += 1;
                fed.insert(sku.to_string());
                *next - 1
            };
            let quantity = rng.random_range(stock / 2..=stock.saturating_mul(3) / 2);
            let line =
                json!({"sku": sku, "location": LOCATION, "quantity": quantity, "feed_seq": seq});
            lines.push(line.to_string());
        }
    }
    let token = &world.tokens.sellers[seller];
    let body = Body::Ndjson(lines.join("\n") + "\n");
    let result =
        world.api.send(Method::POST, "/v1/seller/inventory:feed", Some(token), &[], body).await;
    world.record("inventory_feed", intended, intended, &result, &[200]);
}
