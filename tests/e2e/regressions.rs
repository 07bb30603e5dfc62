//! Regressions over real HTTP: each bug the black-box commerce tests found, one numbered test
//! each, with a `// postmortem:` saying what went wrong.

use crate::support::{Body, CUSTOMER, Market, SELLER_1, assert_problem_of, document, offer};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn regression_1_a_price_revision_keeps_the_stock_the_inventory_set() {
    // postmortem: PUT /v1/seller/offers/{asin} replaced the offer's terms wholesale, including
    // `available` (0 when the body leaves it out), although the seller's inventory records
    // held stock; the stock flow only ran for a newly listed SKU or a change of inventory, so
    // the offer stayed out of stock and lost the buy box until the next feed line or restart.
    const ASIN: &str = "B0REGRES01";
    let m = Market::open(&[]);
    m.register(SELLER_1, "First").await;
    m.create_product(SELLER_1, ASIN, document("Enamel mug", "Acme", &["Home", "Kitchen"])).await;
    m.put_offer(SELLER_1, ASIN, offer("MUG-1", 900, 0, "seller", 1)).await;
    m.set_stock(SELLER_1, "MUG-1", "FRA1", 10, 1).await;
    m.buy_box_settles(ASIN, Some(("seller-1", 900))).await;

    // A price change, with stock left to the inventory feed.
    m.put_offer(SELLER_1, ASIN, offer("MUG-1", 850, 0, "seller", 1)).await;
    let product = m.buy_box_settles(ASIN, Some(("seller-1", 850))).await;
    assert_eq!(product["buy_box"]["available"], 10);
}

#[tokio::test]
async fn regression_2_an_inventory_feed_over_1_mib_is_taken_up_to_its_own_limit() {
    // postmortem: the gateway's 1 MiB body limit (stack.rs) also applied to
    // POST /v1/seller/inventory:feed, whose own limit is FEED_BODY_BYTES_MAX (16 MiB): a feed
    // of a few thousand lines past 1 MiB was refused 413 with a text/plain body.
    const ASIN: &str = "B0REGRES02";
    let m = Market::open(&[]);
    m.register(SELLER_1, "First").await;
    m.create_product(SELLER_1, ASIN, document("Enamel jug", "Acme", &["Home", "Kitchen"])).await;
    m.put_offer(SELLER_1, ASIN, offer("JUG-1", 1900, 0, "seller", 1)).await;
    let mut lines =
        vec![r#"{"sku":"JUG-1","location":"FRA1","quantity":6,"feed_seq":1}"#.to_string()];
    for n in 0..16_000 {
        lines.push(format!(
            r#"{{"sku":"RETIRED-{n:05}","location":"FRA1","quantity":0,"feed_seq":1}}"#
        ));
    }
    let feed = lines.join("\n").into_bytes();
    assert!(feed.len() > 1024 * 1024 && feed.len() < 16 * 1024 * 1024, "{}", feed.len());
    let body = Body::Raw(Some("application/x-ndjson"), feed);
    let reply = m.call(Method::POST, "/v1/seller/inventory:feed", SELLER_1, body).await;
    assert_eq!(
        (reply.status, reply.content_type.as_str()),
        (200, "application/json"),
        "{}",
        &reply.text[..reply.text.len().min(300)]
    );
    assert_eq!((&reply.json["accepted"], &reply.json["refused"]), (&json!(1), &json!(16_000)));
    m.buy_box_settles(ASIN, Some(("seller-1", 1900))).await;
}

#[tokio::test]
async fn regression_3_the_api_answers_as_soon_as_serve_says_ready() {
    // postmortem: `serve` handed the API router to the HTTP server through a oneshot awaited
    // by a separately spawned task, then set readiness and printed `ready` without waiting for
    // that task: a request right after `ready` (with /readyz already 200) could be answered
    // 503 not_ready "recovering". Timing-dependent: seen on a few starts in a hundred.
    let mut m = Market::open(&[]);
    for start in 0..6 {
        if start > 0 {
            m.restart();
        }
        let reply = m.get(CUSTOMER, "/v1/products/B000000000").await;
        assert_problem_of(&format!("start {start}"), &reply, 404, "not_found");
    }
}
