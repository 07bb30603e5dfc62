//! The listings feed over real HTTP: products and offers listed in bulk, every line answered
//! on its own, a refused line (even half good) changing nothing, and the feed counted against
//! the seller's listing limit, not the price-update limit.

use crate::support::{
    Auth, Body, CUSTOMER, Market, Reply, SELLER_1, assert_problem, config_with, document,
    eventually, offer, refused_lines,
};
use reqwest::Method;
use serde_json::{Value, json};

const FEED: &str = "/v1/seller/listings:feed";
/// The listing burst of this test's configuration: the longest feed, and what two feeds of
/// [`LINES`] lines exceed together.
const BURST: usize = 12;
const LINES: usize = 9;

/// The shipped configuration with a seller's listing limit at 1 line a second, [`BURST`] at
/// once.
fn small_listing_limit(dir: &std::path::Path) -> std::path::PathBuf {
    let knobs = [
        ("seller_listing_lines_per_s", "1".to_string()),
        ("seller_listing_lines_burst", BURST.to_string()),
    ];
    config_with(dir, &knobs)
}

async fn feed(m: &Market, auth: Auth<'_>, lines: &[String]) -> Reply {
    let body = Body::Raw(Some("application/x-ndjson"), lines.join("\n").into_bytes());
    m.call(Method::POST, FEED, auth, body).await
}

fn line(value: Value) -> String {
    value.to_string()
}

fn offer_in(currency: &str, sku: &str, price: i64) -> Value {
    let mut offer = offer(sku, price, 0, "seller", 1);
    offer["price"]["currency"] = json!(currency);
    offer["shipping"]["currency"] = json!(currency);
    offer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listings_feed_lists_line_by_line_and_a_refused_line_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let m = Market::open_configured(
        data,
        small_listing_limit(dir.path()),
        &[("seller", "seller-2")],
        &[],
    );
    m.register(SELLER_1, "First").await;
    let lamp = document("Brass lamp", "Lumo", &["Home"]);
    m.create_product(SELLER_1, "B0LIST0001", lamp.clone()).await;
    m.put_offer(SELLER_1, "B0LIST0001", offer("L-1", 1_000, 0, "seller", 1)).await;

    // Good (a product and its offer); malformed; a document without its currency; nothing to
    // list; good (an offer alone, repriced); a new product whose offer is in the wrong
    // currency (so its document is not written either); a bad ASIN; an offer on a product
    // nobody created; an unknown field.
    let lines = [
        line(json!({"asin": "B0LIST0002", "currency": "EUR",
            "document": document("Oak desk", "Woodo", &["Office"]), "offer": offer_in("EUR", "L-2", 25_000)})),
        r#"{"asin":"B0LIST0003","#.to_string(),
        line(json!({"asin": "B0LIST0004", "document": lamp})),
        line(json!({"asin": "B0LIST0005"})),
        line(json!({"asin": "B0LIST0001", "offer": offer_in("EUR", "L-1", 900)})),
        line(json!({"asin": "B0LIST0006", "currency": "EUR",
            "document": document("Steel kettle", "Boilo", &["Kitchen"]), "offer": offer_in("USD", "L-6", 3_000)})),
        line(json!({"asin": "not-an-asin", "offer": offer_in("EUR", "L-7", 100)})),
        line(json!({"asin": "B0LIST0008", "offer": offer_in("EUR", "L-8", 100)})),
        line(json!({"asin": "B0LIST0009", "colour": "red"})),
    ];
    assert_eq!(lines.len(), LINES);
    assert_problem(&feed(&m, CUSTOMER, &lines).await, 403, "wrong_role");

    let reply = feed(&m, SELLER_1, &lines).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(
        refused_lines(&reply),
        [
            (2, 422, json!("invalid_line")),
            (3, 422, json!("currency_missing")),
            (4, 422, json!("listing_empty")),
            (6, 422, json!("currency_mismatch")),
            (7, 422, json!("invalid_id")),
            (8, 404, json!("unknown_product")),
            (9, 422, json!("invalid_line")),
        ],
        "{}",
        reply.text
    );
    assert_eq!((&reply.json["accepted"], &reply.json["refused"]), (&json!(2), &json!(7)));
    eventually("the new product shows its offer, the old one its new price", async || {
        let (desk, lamp) = (m.product("B0LIST0002").await, m.product("B0LIST0001").await);
        let prices = (&desk["offers"][0]["price"]["minor"], &lamp["offers"][0]["price"]["minor"]);
        if prices == (&json!(25_000), &json!(900)) { Ok(()) } else { Err(format!("{prices:?}")) }
    })
    .await;
    assert_eq!(m.get(CUSTOMER, "/v1/products/B0LIST0006").await.status, 404, "all or nothing");
    assert_eq!(m.get(CUSTOMER, "/v1/products/B0LIST0004").await.status, 404);

    // The same feed again: past the burst (9 + 9 > 12), refused whole, nothing changed.
    let again = feed(&m, SELLER_1, &lines).await;
    assert_problem(&again, 429, "listing_rate_limited");
    assert!(again.header("retry-after").is_some());
    let too_long: Vec<String> = (0..=BURST).map(|_| lines[4].clone()).collect();
    assert_problem(&feed(&m, SELLER_1, &too_long).await, 422, "feed_too_long");
    // Another seller's limit is its own; unregistered, its offer is refused line by line.
    let other = feed(&m, Auth::As("seller-2"), &lines[4..5]).await;
    assert_eq!(other.json["refused_lines"][0]["code"], "seller_not_registered", "{}", other.text);
}
