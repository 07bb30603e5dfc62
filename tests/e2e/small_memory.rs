//! A node whose memory bounds are far smaller than its catalogue serves every product right
//! (issue 13): product views and pages read through from the journal, entities activated on
//! demand, and every bounded cache within its bound, as `/metrics` shows.

use reqwest::Method;
use serde_json::json;

use crate::support::{
    Body, CUSTOMER, Market, SELLER_1, config_with, document, eventually, offer, offers, winner,
};

const PRODUCTS: usize = 1_200;
/// About 30 product views, and as many rendered pages: a fortieth of the catalogue.
const CACHE_BYTES: u64 = 64 * 1024;
const ACTIVE_MAX: u64 = 100;
const SELLER: &str = "seller-1";

fn asin(n: usize) -> String {
    format!("B0M{n:07}")
}

fn price(n: usize) -> i64 {
    1_000 + n as i64
}

fn units(n: usize) -> u64 {
    (n % 7) as u64 + 1
}

async fn feed(m: &Market, path: &str, lines: Vec<String>) {
    let body = Body::Raw(Some("application/x-ndjson"), lines.join("\n").into_bytes());
    let reply = m.call(Method::POST, path, SELLER_1, body).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json["accepted"], json!(PRODUCTS), "{}", reply.text);
}

/// Every product as listed and stocked: its title, its one offer and its buy box.
async fn check_every_product(m: &Market) {
    for n in 0..PRODUCTS {
        let product = m.product(&asin(n)).await;
        assert_eq!(product["document"]["title"], json!(format!("Item {n}")), "{product}");
        assert_eq!(offers(&product), [(SELLER.into(), price(n), units(n), true)]);
        assert_eq!(winner(&product), Some((SELLER.into(), price(n))));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_with_small_caches_serves_a_catalogue_many_times_larger() {
    let dir = tempfile::tempdir().unwrap();
    let knobs = [
        ("product_view_cache_bytes", CACHE_BYTES.to_string()),
        ("product_page_cache_bytes", CACHE_BYTES.to_string()),
        ("active_entities_max", ACTIVE_MAX.to_string()),
    ];
    let config = config_with(dir.path(), &knobs);
    let mut m = Market::open_configured(dir.path().join("data"), config, &[], &[]);
    m.register(SELLER_1, "First").await;

    let listings = (0..PRODUCTS).map(|n| {
        let document = document(&format!("Item {n}"), "Acme", &["Home"]);
        let offer = offer(&format!("SKU-{n}"), price(n), 0, "seller", 1);
        json!({"asin": asin(n), "currency": "EUR", "document": document, "offer": offer})
            .to_string()
    });
    feed(&m, "/v1/seller/listings:feed", listings.collect()).await;
    let stock = (0..PRODUCTS).map(|n| {
        json!({"sku": format!("SKU-{n}"), "location": "FRA1", "quantity": units(n), "feed_seq": 1})
            .to_string()
    });
    feed(&m, "/v1/seller/inventory:feed", stock.collect()).await;
    // The stock reaches the products through the flows, many at once and in no set order.
    eventually("every product shows its stock", async || {
        for n in 0..PRODUCTS {
            let product = m.product(&asin(n)).await;
            match offers(&product).first() {
                Some((_, _, available, _)) if *available == units(n) => {}
                _ => return Err(product.to_string()),
            }
        }
        Ok(())
    })
    .await;
    check_every_product(&m).await;
    // Loading 1,200 products went through a set of at most 100 active entities.
    let loaded = metrics(&m).await;
    let products = r#"engine_activations_total{kind="product"}"#;
    assert!(loaded(products) > ACTIVE_MAX as f64, "products were activated past the cap");
    assert!(loaded("engine_active_entities") <= ACTIVE_MAX as f64);

    // After a restart nothing is in memory: every read goes to the journal, and is right.
    m.restart();
    check_every_product(&m).await;
    check_every_product(&m).await;

    let metric = metrics(&m).await;
    for cache in ["product_view_cache", "product_page_cache"] {
        let bytes = metric(&format!("{cache}_bytes"));
        assert!(bytes > 0.0 && bytes <= CACHE_BYTES as f64, "{cache}: {bytes} bytes");
        assert!(metric(&format!("{cache}_evictions_total")) > 0.0, "{cache} never evicted");
        assert!(metric(&format!("{cache}_misses_total")) >= PRODUCTS as f64, "{cache} misses");
    }
}

/// The node's `/metrics`, as a lookup that fails the test on a missing series.
async fn metrics(m: &Market) -> impl Fn(&str) -> f64 + use<> {
    let text = m.get(CUSTOMER, "/metrics").await.text;
    let series = bazaar::testkit::parse_metrics(&text);
    move |name| *series.get(name).unwrap_or_else(|| panic!("{name} in {text}"))
}
