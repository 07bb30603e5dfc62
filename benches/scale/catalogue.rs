//! The bench's catalogue and how it is loaded: every product and its offer listed through
//! listings feeds, then its stock through inventory feeds, with the time each product's buy
//! box takes to show the stock its feed set.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use hyper::body::Bytes;
use hyper::{Method, StatusCode};
use rand::seq::index;
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

use crate::support::http::Connection;

/// Words product titles are made of: search queries pick one.
pub const NOUNS: [&str; 24] = [
    "lamp",
    "kettle",
    "chair",
    "desk",
    "blender",
    "toaster",
    "speaker",
    "headphones",
    "backpack",
    "jacket",
    "boots",
    "tent",
    "drill",
    "router",
    "monitor",
    "keyboard",
    "mouse",
    "camera",
    "watch",
    "mug",
    "pan",
    "pillow",
    "rug",
    "mirror",
];
const ADJECTIVES: [&str; 16] = [
    "compact",
    "classic",
    "wireless",
    "portable",
    "steel",
    "wooden",
    "smart",
    "vintage",
    "modern",
    "ergonomic",
    "foldable",
    "waterproof",
    "silent",
    "premium",
    "mini",
    "heavy-duty",
];
const BRANDS: [&str; 8] =
    ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Tyrell"];
const CATEGORIES: [&str; 6] = ["Home", "Kitchen", "Outdoor", "Electronics", "Office", "Fashion"];
/// The stock each feed sets: every product shows it once its feed has reached the buy box.
pub const STOCK: u32 = 25;
/// The feeds' sequence numbers (one per SKU and location, any value the first time).
const FEED_SEQ: u64 = 1;
const LOCATION: &str = "FRA1";
/// Lines of one inventory feed, at most (the gateway's `FEED_LINES_MAX`).
const FEED_LINES: usize = 100_000;
/// Products of each feed whose buy box is watched.
const SAMPLE: usize = 1_000;
/// Connections that read the sampled products after a feed.
const WATCH_CONNECTIONS: usize = 16;
/// Longest a sampled product may take to show its stock.
const STOCK_WAIT: Duration = Duration::from_secs(300);

pub fn asin(n: usize) -> String {
    format!("BS{n:08}")
}

fn sku(n: usize) -> String {
    format!("SKU-S-{n}")
}

/// Listings feed line `n`: a product (a title of two words and a number, a brand, a
/// category) and the seller's offer of SKU `n` on it.
fn listing(n: usize) -> Value {
    let (adjective, noun) = (ADJECTIVES[n % ADJECTIVES.len()], NOUNS[(n / 7) % NOUNS.len()]);
    json!({
        "asin": asin(n),
        "currency": "EUR",
        "document": {
            "title": format!("{adjective} {noun} {n}"),
            "brand": BRANDS[n % BRANDS.len()],
            "category_path": [CATEGORIES[n % CATEGORIES.len()]],
            "description": format!("Model {n}, made for the scale bench."),
        },
        "offer": {
            "sku": sku(n),
            "price": { "minor": 999 + (n % 5_000) as i64, "currency": "EUR" },
            "shipping": { "minor": 499, "currency": "EUR" },
            "condition": "new",
            "fulfilment": "seller",
            "handling_days": 1,
        },
    })
}

/// Registers the seller, then lists products `0..count` through listings feeds of at most
/// [`FEED_LINES`] lines, one after the other; every line must be accepted.
pub async fn list(node: SocketAddr, seller: &str, count: usize) -> anyhow::Result<()> {
    let profile = json!({ "name": "Scale bench seller" });
    let mut http = Connection::open(node).await?;
    http.expect(StatusCode::OK, Method::PUT, "/v1/seller/profile", Some(seller), &[], &profile)
        .await?;
    let lines = |n: usize| listing(n).to_string();
    for first in (0..count).step_by(FEED_LINES) {
        let last = (first + FEED_LINES).min(count);
        send_feed(&mut http, seller, "/v1/seller/listings:feed", (first..last).map(lines)).await?;
    }
    Ok(())
}

/// Sends one NDJSON feed of `lines`; every line must be accepted.
async fn send_feed(
    http: &mut Connection,
    seller: &str,
    path: &str,
    lines: impl ExactSizeIterator<Item = String>,
) -> anyhow::Result<()> {
    let count = lines.len();
    let mut feed = String::with_capacity(count * 400);
    for line in lines {
        feed.push_str(&line);
        feed.push('\n');
    }
    let ndjson = [("content-type", "application/x-ndjson")];
    let reply =
        http.call_encoded(Method::POST, path, Some(seller), &ndjson, Bytes::from(feed)).await?;
    ensure_status(&reply, StatusCode::OK, path)?;
    let answer: Value = serde_json::from_slice(&reply.body)?;
    ensure!(
        answer["accepted"].as_u64() == Some(count as u64),
        "{path}: not every line accepted: {answer}"
    );
    Ok(())
}

fn ensure_status(
    reply: &crate::support::http::Reply,
    status: StatusCode,
    what: &str,
) -> anyhow::Result<()> {
    ensure!(
        reply.status == status,
        "{what}: {}, not {status}: {}",
        reply.status,
        String::from_utf8_lossy(&reply.body)
    );
    Ok(())
}

/// How long the buy boxes took to show a feed's stock, from the feed's answer.
pub struct Stocked {
    /// Per sampled product, microseconds from its feed's answer to the first read showing the
    /// stock.
    pub lag_us: hdrhistogram::Histogram<u64>,
    /// Milliseconds each feed took to answer.
    pub feed_ms: Vec<f64>,
    /// From the first feed sent to the last product seen stocked.
    pub total: Duration,
}

/// Stocks products `0..count` through feeds of at most [`FEED_LINES`] lines, one after the
/// other; after each answer, reads a random sample of [`SAMPLE`] of its products, over
/// [`WATCH_CONNECTIONS`] connections, until each shows its stock in the buy box (at most
/// [`STOCK_WAIT`]).
pub async fn stock(
    node: SocketAddr,
    seller: &str,
    customer: &str,
    count: usize,
    rng: &mut ChaCha8Rng,
) -> anyhow::Result<Stocked> {
    let mut http = Connection::open(node).await?;
    let mut stocked =
        Stocked { lag_us: crate::support::histogram(), feed_ms: Vec::new(), total: Duration::ZERO };
    let began = Instant::now();
    for first in (0..count).step_by(FEED_LINES) {
        let last = (first + FEED_LINES).min(count);
        let line = |n: usize| {
            json!({"sku": sku(n), "location": LOCATION, "quantity": STOCK, "feed_seq": FEED_SEQ})
                .to_string()
        };
        let sent = Instant::now();
        send_feed(&mut http, seller, "/v1/seller/inventory:feed", (first..last).map(line)).await?;
        let answered = Instant::now();
        stocked.feed_ms.push((answered - sent).as_secs_f64() * 1000.0);
        let picked = index::sample(rng, last - first, SAMPLE.min(last - first));
        let products: VecDeque<usize> = picked.into_iter().map(|i| first + i).collect();
        let seen = watch(node, customer, products, answered)
            .await
            .with_context(|| format!("the feed of products {first}..{last}"))?;
        for lag in seen {
            stocked.lag_us.record(lag.as_micros().max(1) as u64)?;
        }
    }
    stocked.total = began.elapsed();
    Ok(stocked)
}

/// Reads each product of `products` in turn, over [`WATCH_CONNECTIONS`] connections, until its buy box
/// offers [`STOCK`] units; the time from `since` to that read, per product.
async fn watch(
    node: SocketAddr,
    customer: &str,
    products: VecDeque<usize>,
    since: Instant,
) -> anyhow::Result<Vec<Duration>> {
    let pending = Arc::new(std::sync::Mutex::new(products));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..WATCH_CONNECTIONS {
        let (pending, customer) = (pending.clone(), customer.to_string());
        tasks.spawn(async move {
            let mut http = Connection::open(node).await?;
            let mut seen = Vec::new();
            loop {
                let Some(n) = pending.lock().expect("pending").pop_front() else {
                    return anyhow::Ok(seen);
                };
                let path = format!("/v1/products/{}", asin(n));
                let reply = http.call(Method::GET, &path, Some(&customer), &[], None).await?;
                let product: Value = serde_json::from_slice(&reply.body).unwrap_or(Value::Null);
                if product["buy_box"]["available"].as_u64() == Some(u64::from(STOCK)) {
                    seen.push(since.elapsed());
                } else if since.elapsed() > STOCK_WAIT {
                    bail!(
                        "{path} shows no stock {STOCK_WAIT:?} after its feed's answer: {product}"
                    );
                } else {
                    pending.lock().expect("pending").push_back(n);
                }
            }
        });
    }
    let mut seen = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        seen.extend(joined??);
    }
    Ok(seen)
}
