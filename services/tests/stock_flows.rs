//! The stock flow under a storm: many SKUs' stock changing at once, faster than the journal
//! syncs, while the flow runs many jobs at once. However the changes interleave, every
//! product ends with its SKU's last total, and one SKU's flow never runs twice at once. And
//! the score flow: an offer ends with its seller's latest score.

mod common;

use std::sync::Arc;
use std::time::Duration;

use bazaar_actors::keys;
use bazaar_actors::product::{Product, ProductCommand};
use bazaar_actors::seller::{Seller, SellerCommand};
use bazaar_actors::{Asin, SellerId, Sku};
use bazaar_engine::EngineConfig;
use bazaar_engine::testkit::single_node;
use bazaar_persistence::MemJournal;
use bazaar_persistence::memory::FlushPolicy;
use bazaar_services::catalog::Catalog;
use common::TENANT;

const PRODUCTS: usize = 24;
const ROUNDS: u64 = 40;

/// The on-hand quantity of product `n` after feed line `round`: up and down, never repeating
/// the previous value, and ending on a value no earlier round set.
fn quantity(n: usize, round: u64) -> u32 {
    (round as u32 * 7 + n as u32 * 3) % 50 + if round == ROUNDS { 100 } else { 0 }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storm_of_stock_changes_lands_each_skus_last_total_on_its_product() {
    // A slow disk: writes wait a few milliseconds for their sync, so flows overlap changes.
    let journal = Arc::new(MemJournal::new(FlushPolicy::Every(Duration::from_millis(3))));
    let engine = single_node(journal, EngineConfig::default());
    bazaar_services::register(&engine);
    let catalog = Catalog::new(engine.clone(), None);
    let seller = SellerId::parse("s1").unwrap();
    common::register(&engine, &seller).await;
    let item = |n: usize| {
        (Asin::parse(&format!("B{n:09}")).unwrap(), Sku::parse(&format!("K{n}")).unwrap())
    };
    for n in 0..PRODUCTS {
        let (asin, sku) = item(n);
        common::list(&engine, &asin, &seller, &sku).await;
    }
    let mut storms = tokio::task::JoinSet::new();
    for n in 0..PRODUCTS {
        let (engine, seller, (_, sku)) = (engine.clone(), seller.clone(), item(n));
        storms.spawn(async move {
            for round in 1..=ROUNDS {
                common::set_on_hand(&engine, &seller, &sku, quantity(n, round), round).await;
            }
        });
    }
    storms.join_all().await;
    let settled = tokio::time::timeout(Duration::from_secs(30), catalog.settle()).await;
    settled.expect("every queued flow ran");
    for n in 0..PRODUCTS {
        let (asin, _) = item(n);
        let view = catalog.product(TENANT, &asin).expect("listed");
        let available = view.offers.iter().find(|offer| offer.seller == seller).unwrap();
        assert_eq!(available.terms.available, quantity(n, ROUNDS), "product {n}");
    }
    let stats = catalog.flow_stats();
    assert_eq!((stats.failed, stats.overlapped), (0, 0), "{stats:?}");
    assert!(
        stats.asked < (PRODUCTS as u64) * ROUNDS,
        "changes queued while a job waits coalesce: {stats:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_sku_offered_on_two_products_reaches_both_and_outlives_one_withdrawal() {
    let journal = Arc::new(MemJournal::default());
    let engine = single_node(journal, EngineConfig::default());
    bazaar_services::register(&engine);
    let catalog = Catalog::new(engine.clone(), None);
    let (seller, sku) = (SellerId::parse("s1").unwrap(), Sku::parse("SHARED").unwrap());
    let (a, b) = (Asin::parse("B00000000A").unwrap(), Asin::parse("B00000000B").unwrap());
    common::register(&engine, &seller).await;
    common::list(&engine, &a, &seller, &sku).await;
    common::list(&engine, &b, &seller, &sku).await;
    let available = |asin: &Asin| {
        let view = catalog.product(TENANT, asin).expect("listed");
        view.offers.iter().find(|offer| offer.seller == seller).map(|offer| offer.terms.available)
    };
    let settle = || tokio::time::timeout(Duration::from_secs(30), catalog.settle());

    common::set_on_hand(&engine, &seller, &sku, 9, 1).await;
    settle().await.expect("flows settle");
    assert_eq!((available(&a), available(&b)), (Some(9), Some(9)), "both offers told");

    let withdraw = ProductCommand::WithdrawOffer { seller: seller.clone() };
    common::ask::<Product>(&engine, &keys::product(TENANT, &a), withdraw).await;
    assert_eq!(catalog.product_of_sku(TENANT, &seller, &sku), Some(b.clone()), "B still offers it");
    common::set_on_hand(&engine, &seller, &sku, 4, 2).await;
    settle().await.expect("flows settle");
    assert_eq!((available(&a), available(&b)), (None, Some(4)));
}

/// An offer listed with a score older than its seller's (the seller was rescored before the
/// offer had a row, so the rescore could not find it) is told the latest score.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offer_listed_with_a_stale_score_is_told_its_sellers_latest() {
    let journal = Arc::new(MemJournal::default());
    let engine = single_node(journal, EngineConfig::default());
    bazaar_services::register(&engine);
    let catalog = Catalog::new(engine.clone(), None);
    let (seller, sku) = (SellerId::parse("s1").unwrap(), Sku::parse("K1").unwrap());
    let asin = Asin::parse("B00000000A").unwrap();
    common::register(&engine, &seller).await;
    let rules = bazaar_actors::seller::StandingRules::MARKETPLACE.defect_rules();
    let rescore = SellerCommand::UpdateScore { rating_hundredths: 450, defect_bps: 20, rules };
    common::ask::<Seller>(&engine, &keys::seller(TENANT, &seller), rescore).await;
    let settle = || tokio::time::timeout(Duration::from_secs(30), catalog.settle());
    settle().await.expect("flows settle");
    let latest = catalog.seller(TENANT, &seller).expect("registered").score.version;
    assert!(latest > 0);

    // Listed with the default score (version 0), as a request that read the seller before
    // its rescore would list it.
    common::list(&engine, &asin, &seller, &sku).await;
    settle().await.expect("flows settle");
    let view = catalog.product(TENANT, &asin).expect("listed");
    let offer = view.offers.iter().find(|offer| offer.seller == seller).expect("offered");
    assert_eq!(offer.score.version, latest);
}
