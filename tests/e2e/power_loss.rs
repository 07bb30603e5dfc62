//! Power losses during checkouts, on LazyFS: whatever the node acknowledged survives, and the
//! node starts again every time.
//!
//! The data directory lives on a LazyFS mount, which drops every write that was never synced
//! when told to (a power loss; a SIGKILL alone loses nothing the kernel holds). Three times,
//! 40 checkouts run at once while a seller moves the price and stock of another product; after
//! the first answers the server is SIGKILLed, the power is cut, and the server restarted on
//! what the disk kept. Then:
//! - the node starts (sled's blob files and every file the node relies on were synced);
//! - every checkout answered 201 is still completed, with its order;
//! - the seller's last acknowledged price and stock (or a later one it sent) are there;
//! - the tokens written at the first start still work.
//!
//! The journal checkpoints every 100 ms over 64 KiB log segments, so cuts land during
//! checkpoints (sled flushing, the position being recorded, segments being deleted) as well
//! as between them.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::checkout::{Listing, SETTLES, Shopper, customer_tokens, minor, psp_args};
use crate::support::lazyfs::LazyFs;
use crate::support::psp::Psp;
use crate::support::{Auth, Body, Client, Market, Reply, SELLER_1, config_with, offers};

const HOT: &str = "B0000POWER";
const HOT_SKU: &str = "pw-hot";
/// The product whose price and stock the seller moves during the checkouts.
const MOVED: &str = "B0000MOVED";
const MOVED_SKU: &str = "pw-moved";
const CUTS: usize = 3;
const CHECKOUTS: usize = 40;
/// Answers to wait for before the power cut.
const ANSWERS_BEFORE_CUT: usize = 15;

/// A catalog document as large as the limits allow (about 140 KB: 100 attributes of 1,000
/// bytes, a 16,000-byte description, 20 long image URLs), titled by `n`. Records this large are
/// what sled 0.34 writes as separate blob files.
fn large_document(n: u64) -> Value {
    let attributes: serde_json::Map<String, Value> = (0..100)
        .map(|i| (format!("attribute-{i:03}"), json!(format!("{n}-{}", "v".repeat(990)))))
        .collect();
    let images: Vec<String> =
        (0..20).map(|i| format!("https://img.example/{i}/{}", "p".repeat(990))).collect();
    json!({"title": format!("Moved {n}"), "brand": "Acme", "category_path": ["Home"],
        "attributes": attributes, "images": images, "description": "d".repeat(16_000)})
}

/// What the seller had acknowledged when the power went: the last document, price and feed
/// sequence, each numbered by the step that sent it.
#[derive(Default)]
struct SellerAcks {
    document: AtomicU64,
    price: AtomicU64,
    feed_seq: AtomicU64,
}

/// Moves `MOVED`'s price and stock up, one acknowledged change after another, until `stop`.
async fn move_price_and_stock(client: Client, acks: Arc<SellerAcks>, stop: Arc<AtomicBool>) {
    let mut n = acks.feed_seq.load(Ordering::SeqCst);
    while !stop.load(Ordering::SeqCst) {
        n += 1;
        let product = json!({"asin": MOVED, "currency": "EUR", "document": large_document(n)});
        let sent = client
            .try_call(Method::POST, "/v1/seller/products", SELLER_1, &[], Body::Json(product))
            .await;
        match sent {
            Ok(reply) if reply.status / 100 == 2 => acks.document.store(n, Ordering::SeqCst),
            Ok(reply) => panic!("the large document was refused: {} {}", reply.status, reply.text),
            Err(_) => return,
        }
        let offer = crate::support::offer(MOVED_SKU, n as i64, 0, "seller", 1);
        let path = format!("/v1/seller/offers/{MOVED}");
        let sent = client.try_call(Method::PUT, &path, SELLER_1, &[], Body::Json(offer)).await;
        match sent {
            Ok(reply) if reply.status == 200 => acks.price.store(n, Ordering::SeqCst),
            _ => return,
        }
        let stock = Body::Json(json!({"quantity": n, "feed_seq": n}));
        let path = format!("/v1/seller/inventory/{MOVED_SKU}/FRA1");
        match client.try_call(Method::PUT, &path, SELLER_1, &[], stock).await {
            Ok(reply) if reply.status == 200 => acks.feed_seq.store(n, Ordering::SeqCst),
            _ => return,
        }
    }
}

/// The repository's `cluster.toml`, written to `dir` with a journal that checkpoints every
/// 100 ms over 64 KiB log segments.
fn busy_checkpoints(dir: &std::path::Path) -> std::path::PathBuf {
    let knobs = [
        ("segment_bytes", "65536".to_string()),
        ("checkpoint_bytes", "262144".to_string()),
        ("checkpoint_interval_ms", "100".to_string()),
    ];
    config_with(dir, &knobs)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn power_cuts_during_checkouts_lose_nothing_acknowledged() {
    let Some(bin) = LazyFs::binary() else { return };
    let mut fs = LazyFs::mount(&bin);
    let primary = Psp::start("primary", &["--latency-p50-ms", "5", "--latency-p99-ms", "20"]);
    let backup = Psp::start("backup", &[]);
    let shoppers: Vec<Shopper> = (0..CHECKOUTS as u32).map(Shopper::new).collect();
    let principals = customer_tokens(&shoppers);
    let data = fs.path().join("data");
    let config = tempfile::tempdir().unwrap();
    let config = busy_checkpoints(config.path());
    let mut m = Market::open_configured(data, config, &principals, &psp_args(&[&primary, &backup]));
    m.register(SELLER_1, "First").await;
    for (asin, sku, stock) in [(HOT, HOT_SKU, 10_000), (MOVED, MOVED_SKU, 1)] {
        let listing = Listing {
            seller: SELLER_1,
            seller_id: "seller-1",
            asin,
            sku,
            price: 1500,
            shipping: 0,
            tax_class: "standard",
            stock,
            create: true,
        };
        m.list(&listing).await;
    }
    let acks = Arc::new(SellerAcks::default());
    acks.price.store(1, Ordering::SeqCst);
    acks.feed_seq.store(1, Ordering::SeqCst);
    let mut placed: BTreeMap<String, (Shopper, Value)> = BTreeMap::new();

    for cut in 0..CUTS {
        let client = m.client();
        let mut carts = tokio::task::JoinSet::new();
        for shopper in &shoppers {
            let (client, shopper) = (client.clone(), shopper.clone());
            carts.spawn(async move {
                let cart = client.cart_of_one(&shopper.id, HOT, "seller-1").await;
                (shopper, cart)
            });
        }
        let carts = carts.join_all().await;
        let stop = Arc::new(AtomicBool::new(false));
        let seller = tokio::spawn(move_price_and_stock(client.clone(), acks.clone(), stop.clone()));
        let (answered, mut answers) = tokio::sync::mpsc::unbounded_channel();
        for (shopper, cart) in carts {
            let (client, answered) = (client.clone(), answered.clone());
            let key = format!("power-{cut}-{}", shopper.n);
            tokio::spawn(async move {
                let headers = [("idempotency-key", key.as_str())];
                let body = Body::Json(shopper.body(&cart));
                let who = Auth::As(&shopper.id);
                let sent = client.try_call(Method::POST, "/v1/checkouts", who, &headers, body);
                let _ = answered.send((key.clone(), shopper.clone(), sent.await));
            });
        }
        drop(answered);
        let mut before: Vec<(String, Shopper, Result<Reply, String>)> = Vec::new();
        while before.len() < ANSWERS_BEFORE_CUT {
            before.push(answers.recv().await.expect("checkouts in flight"));
        }
        tokio::task::block_in_place(|| m.kill_then_restart(|| fs.power_cut()));
        stop.store(true, Ordering::SeqCst);
        seller.await.unwrap();
        while let Some(answer) = answers.recv().await {
            before.push(answer);
        }
        let ok =
            before.iter().filter(|(_, _, answer)| answer.as_ref().is_ok_and(|r| r.status == 201));
        for (key, shopper, answer) in ok {
            placed.insert(key.clone(), (shopper.clone(), answer.as_ref().unwrap().json.clone()));
        }
        assert!(!placed.is_empty(), "cut {cut}: no checkout was answered 201 before the cut");

        // Every acknowledged checkout of this cut and the earlier ones is still there.
        for (key, (shopper, answered)) in &placed {
            let view = m.checkout_settles(shopper.auth(), key, SETTLES).await;
            assert_eq!(&view, answered, "cut {cut}: checkout {key} changed after its 201");
            let id = answered["order_id"].as_str().expect("an order id");
            let order = m.order(shopper.auth(), id).await;
            assert_eq!(minor(&order["total"]), minor(&answered["total"]), "{order}");
        }
        // The seller's acknowledged price and stock, or later ones it sent.
        let product = m.product(MOVED).await;
        let title = product["document"]["title"].as_str().expect("a title");
        let shown: u64 = title.trim_start_matches("Moved ").parse().expect("a numbered title");
        let acked = acks.document.load(Ordering::SeqCst);
        assert!(shown >= acked, "cut {cut}: document {title:?} after {acked} was acknowledged");
        let price = offers(&product)
            .into_iter()
            .find(|(seller, ..)| seller == "seller-1")
            .map(|(_, price, ..)| price)
            .expect("seller-1's offer");
        let acked = acks.price.load(Ordering::SeqCst);
        assert!(price as u64 >= acked, "cut {cut}: price {price} after {acked} was acknowledged");
        let path = format!("/v1/seller/inventory/{MOVED_SKU}/FRA1");
        let level = m.read(SELLER_1, &path).await;
        let seq = level["last_feed_seq"].as_u64().expect("last_feed_seq");
        let acked = acks.feed_seq.load(Ordering::SeqCst);
        assert!(seq >= acked, "cut {cut}: feed_seq {seq} after {acked} was acknowledged");
        eprintln!(
            "cut {cut}: {} checkouts placed so far, price {price}, feed_seq {seq}",
            placed.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    m.shut_down();
}
