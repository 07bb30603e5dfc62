//! The catalogue over a journal it did not load: after a restart it serves every product,
//! SKU, stock count and seller's listing from the journal's index and the products' durable
//! state, having read no product at start; a journal written before the index existed is
//! indexed once (an unfinished checkout's saga row too); and the start's reconciliation tells a product the stock total a crash kept
//! from it, which a start after a clean stop, with every flow settled, need not look for.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bazaar_actors::checkout::{Checkout, CheckoutCommand, CheckoutRequest};
use bazaar_actors::ids::CustomerId;
use bazaar_actors::order::ShipTo;
use bazaar_actors::{Asin, CountryCode, SellerId, Sku, index};
use bazaar_engine::testkit::single_node;
use bazaar_engine::{Engine, EngineConfig};
use bazaar_persistence::memory::FlushPolicy;
use bazaar_persistence::{Journal, MemJournal};
use bazaar_services::catalog::{Catalog, Rebuilt};
use common::TENANT;

const PRODUCTS: usize = 3;

fn item(n: usize) -> (Asin, Sku) {
    (Asin::parse(&format!("B{n:09}")).unwrap(), Sku::parse(&format!("K{n}")).unwrap())
}

fn seller() -> SellerId {
    SellerId::parse("s1").unwrap()
}

fn engine_over(journal: &Arc<MemJournal>) -> Engine {
    let engine = single_node(journal.clone(), EngineConfig::default());
    bazaar_services::register(&engine);
    engine
}

/// A catalogue over `engine` with its search indexes in `dir`, readied as a node's start
/// readies it (the journal's index built first), and the index rows that start built.
async fn start(engine: &Engine, dir: &Path) -> (Catalog, Rebuilt, u64) {
    let catalog = Catalog::new(engine.clone(), Some(dir.to_path_buf()));
    let (journal, ready) = (engine.journal().clone(), catalog.clone());
    let (rebuilt, indexed_rows) = tokio::task::spawn_blocking(move || {
        let indexed_rows = bazaar_services::build_index(&journal).expect("the index is built");
        (ready.rebuild().expect("the catalogue starts"), indexed_rows)
    })
    .await
    .unwrap();
    (catalog, rebuilt, indexed_rows)
}

async fn settle(catalog: &Catalog) {
    tokio::time::timeout(Duration::from_secs(30), catalog.settle()).await.expect("flows settle");
}

/// `PRODUCTS` products listed by one seller, product `n` with `n + 5` units on hand; the
/// node stopped cleanly (its search indexes closed).
async fn stocked_catalogue(journal: &Arc<MemJournal>, dir: &Path) {
    let engine = engine_over(journal);
    let (catalog, ..) = start(&engine, dir).await;
    common::register(&engine, &seller()).await;
    for n in 0..PRODUCTS {
        let (asin, sku) = item(n);
        common::list(&engine, &asin, &seller(), &sku).await;
        common::set_on_hand(&engine, &seller(), &sku, n as u32 + 5, 1).await;
    }
    settle(&catalog).await;
    engine.shutdown(Duration::from_secs(5)).await.unwrap();
    catalog.close();
}

fn available(catalog: &Catalog, asin: &Asin) -> u32 {
    let view = catalog.product(TENANT, asin).expect("listed");
    view.offers.iter().find(|offer| offer.seller == seller()).unwrap().terms.available
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_catalogue_reads_every_product_without_loading_any() {
    let (journal, dir) = (Arc::new(MemJournal::default()), tempfile::tempdir().unwrap());
    stocked_catalogue(&journal, dir.path()).await;

    let engine = engine_over(&journal);
    let (catalog, _, indexed_rows) = start(&engine, dir.path()).await;
    assert_eq!(indexed_rows, 0, "the index is kept, not built again");
    assert_eq!(catalog.views_cached(), 0, "a start reads no product");
    let mut listed = Vec::new();
    for n in 0..PRODUCTS {
        let (asin, sku) = item(n);
        assert_eq!(available(&catalog, &asin), n as u32 + 5);
        assert_eq!(catalog.stock_total(TENANT, &seller(), &sku), Some(n as u32 + 5));
        assert_eq!(catalog.product_of_sku(TENANT, &seller(), &sku), Some(asin.clone()));
        listed.push(asin);
    }
    assert_eq!(catalog.offers_of(TENANT, &seller()), listed);
    assert_eq!(catalog.views_cached(), PRODUCTS, "read once, then cached");
    assert_eq!(catalog.stock_total(TENANT, &seller(), &Sku::parse("NONE").unwrap()), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_journal_without_an_index_is_indexed_once() {
    let (journal, dir) = (Arc::new(MemJournal::default()), tempfile::tempdir().unwrap());
    stocked_catalogue(&journal, dir.path()).await;
    let checkout = format!("{TENANT}/alice/key-1");
    let began = begin_checkout(&engine_over(&journal), &checkout).await;
    // What a journal written before the index existed holds: no row at all.
    let rows = journal.index_scan(b"", None, usize::MAX).unwrap();
    assert!(rows.len() > PRODUCTS, "products and inventories keep rows");
    let removals = rows.into_iter().map(|(key, _)| (key, None)).collect();
    bazaar_persistence::JournalExt::write_index_receipt(&*journal, removals).await.unwrap();

    let (catalog, _, indexed_rows) = start(&engine_over(&journal), dir.path()).await;
    assert!(indexed_rows > PRODUCTS as u64, "{indexed_rows}");
    let (asin, sku) = item(1);
    assert_eq!(catalog.product_of_sku(TENANT, &seller(), &sku), Some(asin));
    assert_eq!(catalog.stock_total(TENANT, &seller(), &sku), Some(6));
    let sagas = journal.index_scan(index::SAGA_NAMESPACE, None, usize::MAX).unwrap();
    assert_eq!(sagas, [index::saga_row(&checkout, began)], "the unfinished saga, to resume");
    catalog.close();

    let (.., indexed_rows) = start(&engine_over(&journal), dir.path()).await;
    assert_eq!(indexed_rows, 0, "built once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_index_of_version_3_gains_the_saga_rows_and_keeps_the_rest() {
    let (journal, dir) = (Arc::new(MemJournal::default()), tempfile::tempdir().unwrap());
    stocked_catalogue(&journal, dir.path()).await;
    let checkout = format!("{TENANT}/alice/key-1");
    let began = begin_checkout(&engine_over(&journal), &checkout).await;
    // What version 3 wrote: the same rows but the saga's.
    let version_3 = (index::VERSION_ROW.to_vec(), Some(3u32.to_le_bytes().to_vec()));
    let saga = (index::saga_row(&checkout, began).0, None);
    bazaar_persistence::JournalExt::write_index_receipt(&*journal, vec![version_3, saga])
        .await
        .unwrap();

    let (catalog, _, indexed_rows) = start(&engine_over(&journal), dir.path()).await;
    assert_eq!(indexed_rows, 1, "the saga row alone, no product read");
    let sagas = journal.index_scan(index::SAGA_NAMESPACE, None, usize::MAX).unwrap();
    assert_eq!(sagas, [index::saga_row(&checkout, began)]);
    let (asin, sku) = item(2);
    assert_eq!(catalog.product_of_sku(TENANT, &seller(), &sku), Some(asin));
    catalog.close();
}

/// Begins checkout `id` (no runner performs its steps); when it began.
async fn begin_checkout(engine: &Engine, id: &str) -> u64 {
    let country = CountryCode::parse("DE").unwrap();
    let request = CheckoutRequest {
        customer: CustomerId::parse("alice").unwrap(),
        cart: "c-1".into(),
        ship_to: ShipTo {
            country,
            postal_code: "10115".into(),
            city: "Berlin".into(),
            line1: "Invalidenstr. 1".into(),
            name: "Alice".into(),
        },
        bill_country: country,
        card: "tok_visa".into(),
        coupons: Vec::new(),
        fingerprint: [1; 32],
    };
    let begin = CheckoutCommand::Begin(Box::new(request));
    let began = common::ask::<Checkout>(engine, id, begin).await.checkout.started_at_ms;
    engine.shutdown(Duration::from_secs(5)).await.unwrap();
    began
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_start_tells_a_product_the_stock_a_crash_kept_from_it() {
    let (journal, dir) = (Arc::new(MemJournal::default()), tempfile::tempdir().unwrap());
    stocked_catalogue(&journal, dir.path()).await;
    // Stock changed with no catalogue running: as if the node died between the durable
    // change and its flow.
    let engine = engine_over(&journal);
    let (asin, sku) = item(2);
    common::set_on_hand(&engine, &seller(), &sku, 40, 2).await;
    engine.shutdown(Duration::from_secs(5)).await.unwrap();

    let (catalog, ..) = start(&engine_over(&journal), dir.path()).await;
    settle(&catalog).await;
    assert_eq!(available(&catalog, &asin), 40);
    assert_eq!(available(&catalog, &item(0).0), 5, "a product that had its total is left");
    assert_eq!(catalog.flow_stats().asked, 1, "only the product that lacked its total is told");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_after_a_clean_stop_has_nothing_to_reconcile() {
    let (journal, dir) = (Arc::new(MemJournal::default()), tempfile::tempdir().unwrap());
    stocked_catalogue(&journal, dir.path()).await;
    let (catalog, rebuilt, _) = start(&engine_over(&journal), dir.path()).await;
    assert!(!rebuilt.flows_settled, "stopped without `Catalog::stop`: reconciled");
    settle(&catalog).await;
    catalog.close();

    let engine = engine_over(&journal);
    let (catalog, ..) = start(&engine, dir.path()).await;
    catalog.stop(Duration::from_secs(5)).await;
    engine.shutdown(Duration::from_secs(5)).await.unwrap();
    catalog.close();
    let (catalog, rebuilt, _) = start(&engine_over(&journal), dir.path()).await;
    assert!(rebuilt.flows_settled, "{rebuilt:?}");
    catalog.close();

    // The row is spent: a start after one that ended without a clean stop reconciles again.
    let (_, rebuilt, _) = start(&engine_over(&journal), dir.path()).await;
    assert!(!rebuilt.flows_settled);
}

/// A stop that left flows queued claims nothing: the next start reconciles.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_that_left_flows_behind_claims_nothing() {
    // A slow disk: every product write waits for a sync, so the flows are still queued.
    let journal = Arc::new(MemJournal::new(FlushPolicy::Every(Duration::from_millis(20))));
    let dir = tempfile::tempdir().unwrap();
    let engine = engine_over(&journal);
    let (catalog, ..) = start(&engine, dir.path()).await;
    settle(&catalog).await;
    common::register(&engine, &seller()).await;
    for n in 0..PRODUCTS {
        let (asin, sku) = item(n);
        common::list(&engine, &asin, &seller(), &sku).await;
    }
    for n in 0..PRODUCTS {
        common::set_on_hand(&engine, &seller(), &item(n).1, 7, 1).await;
    }
    catalog.stop(Duration::ZERO).await;
    let stats = catalog.flow_stats();
    engine.shutdown(Duration::from_secs(5)).await.unwrap();
    catalog.close();
    let (_, rebuilt, _) = start(&engine_over(&journal), dir.path()).await;
    assert!(!rebuilt.flows_settled, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_search_index_whose_files_are_gone_is_built_from_the_index_rows() {
    let (journal, dir) = (Arc::new(MemJournal::default()), tempfile::tempdir().unwrap());
    // Products whose seller never registered: a tenant known only by its products.
    let engine = engine_over(&journal);
    let (catalog, ..) = start(&engine, dir.path()).await;
    for n in 0..PRODUCTS {
        let (asin, sku) = item(n);
        common::list(&engine, &asin, &seller(), &sku).await;
    }
    settle(&catalog).await;
    engine.shutdown(Duration::from_secs(5)).await.unwrap();
    catalog.close();
    std::fs::remove_dir_all(dir.path().join(TENANT)).unwrap();

    let (catalog, rebuilt, _) = start(&engine_over(&journal), dir.path()).await;
    assert_eq!(rebuilt.search_caught_up, [TENANT.to_string()]);
    assert_eq!(rebuilt.search_reindexed, PRODUCTS);
    catalog.close();
}
