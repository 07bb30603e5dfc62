//! Setup before the load, through the API: each seller's profile, each product created by its
//! first seller, every offer, every SKU's stock, then a wait until the node shows them.
//!
//! Invariants: setup either completes or fails the run with the first refused request named
//! (a load over a half-seeded catalogue would measure the wrong thing); it sends at most
//! [`SETUP_CONCURRENCY_MAX`] requests at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use reqwest::Method;
use serde_json::json;

use super::catalog::LOCATION;
use super::http::{Answer, Body, Failure, describe};
use super::limits::{SETTLE_WAIT_MS_MAX, SETUP_CONCURRENCY_MAX};
use super::world::World;

/// The `feed_seq` of the stock setup writes; the load's feeds continue from it.
pub const FEED_SEQ_SEEDED: u64 = 1_000;

/// One setup request: method, path, the seller index it is sent as, and its body.
struct Step {
    method: Method,
    path: String,
    seller: usize,
    body: serde_json::Value,
    ok: &'static [u16],
}

pub async fn seed(world: &Arc<World>) -> anyhow::Result<()> {
    let catalogue = &world.catalogue;
    let profiles: Vec<Step> = (0..catalogue.sellers.len())
        .map(|n| Step {
            method: Method::PUT,
            path: "/v1/seller/profile".to_string(),
            seller: n,
            body: json!({"name": format!("Sim Seller {}", n + 1)}),
            ok: &[200],
        })
        .collect();
    run_steps(world, profiles).await.context("registering the sellers")?;
    let products = catalogue
        .products
        .iter()
        .map(|p| Step {
            method: Method::POST,
            path: "/v1/seller/products".to_string(),
            seller: p.offers[0].seller as usize,
            body: json!({"asin": p.asin, "currency": "EUR", "document": {
                "title": p.title, "brand": p.brand, "category_path": p.category}}),
            ok: &[201],
        })
        .collect();
    run_steps(world, products).await.context("creating the products")?;
    let mut offers = Vec::new();
    let mut stock = Vec::new();
    for product in &catalogue.products {
        for offer in &product.offers {
            offers.push(Step {
                method: Method::PUT,
                path: format!("/v1/seller/offers/{}", product.asin),
                seller: offer.seller as usize,
                body: json!({
                    "sku": offer.sku,
                    "price": {"minor": offer.price_minor, "currency": "EUR"},
                    "shipping": {"minor": offer.shipping_minor, "currency": "EUR"},
                    "condition": "new",
                    "fulfilment": "seller",
                    "handling_days": 1,
                }),
                ok: &[200],
            });
            stock.push(Step {
                method: Method::PUT,
                path: format!("/v1/seller/inventory/{}/{LOCATION}", offer.sku),
                seller: offer.seller as usize,
                body: json!({"quantity": offer.stock, "feed_seq": FEED_SEQ_SEEDED}),
                ok: &[200],
            });
        }
    }
    run_steps(world, offers).await.context("listing the offers")?;
    run_steps(world, stock).await.context("stocking the SKUs")?;
    settle(world).await
}

/// Sends `steps` with [`SETUP_CONCURRENCY_MAX`] workers; the first failure ends setup.
async fn run_steps(world: &Arc<World>, steps: Vec<Step>) -> anyhow::Result<()> {
    let steps = Arc::new(steps);
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..SETUP_CONCURRENCY_MAX {
        let (world, steps, next) = (world.clone(), steps.clone(), next.clone());
        workers.spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                let Some(step) = steps.get(n) else { return Ok(()) };
                let token = &world.tokens.sellers[step.seller];
                let body = Body::Json(step.body.clone());
                let result =
                    world.api.send(step.method.clone(), &step.path, Some(token), &[], body).await;
                if !matches!(&result, Ok(answer) if step.ok.contains(&answer.status)) {
                    bail!("{} {}: {}", step.method, step.path, describe(&result));
                }
            }
        });
    }
    while let Some(joined) = workers.join_next().await {
        joined??;
    }
    Ok(())
}

/// Waits until the last product shows its stock and search finds it by its title.
async fn settle(world: &World) -> anyhow::Result<()> {
    let last = world.catalogue.products.last().context("an empty catalogue")?;
    let token = &world.tokens.customers[0];
    let deadline = Instant::now() + Duration::from_millis(SETTLE_WAIT_MS_MAX);
    let noun = last.title.rsplit(' ').next().unwrap_or_default();
    loop {
        let product = world.api.get(&format!("/v1/products/{}", last.asin), Some(token)).await;
        let stocked = matches!(&product, Ok(a) if a.json["offers"].as_array().is_some_and(|offers|
            offers.iter().any(|o| o["available"].as_u64().unwrap_or(0) > 0)));
        let (indexed, found) = search_finds(world, token, noun, &last.brand, &last.asin).await;
        if stocked && indexed {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!(
                "the catalogue did not show within {SETTLE_WAIT_MS_MAX} ms: product {}, search {}",
                describe(&product),
                describe(&found)
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Whether a search for `noun` within `brand` finds `asin` on any page (many products share
/// a noun and a brand, and tie on score, so the product may be on any page of the hits),
/// with the last answer read.
async fn search_finds(
    world: &World,
    token: &str,
    noun: &str,
    brand: &str,
    asin: &str,
) -> (bool, Result<Answer, Failure>) {
    const PAGE_SIZE: u64 = 100;
    let mut page = 1;
    loop {
        let search = format!("/v1/search?q={noun}&brand={brand}&page_size={PAGE_SIZE}&page={page}");
        let found = world.api.get(&search, Some(token)).await;
        let (hit, total) = match &found {
            Ok(answer) => (
                answer.json["hits"]
                    .as_array()
                    .is_some_and(|hits| hits.iter().any(|h| h["asin"] == asin)),
                answer.json["total"].as_u64().unwrap_or(0),
            ),
            Err(_) => (false, 0),
        };
        if hit || page * PAGE_SIZE >= total {
            return (hit, found);
        }
        page += 1;
    }
}
