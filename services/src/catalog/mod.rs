//! The catalog's read side and its flows between aggregates.
//!
//! Read models (CQRS projections, fed by the engine once events are durable), none of them
//! growing memory with the catalogue:
//! - product views: a cache bounded by bytes in front of the products' journal (`views.rs`);
//! - which product offers a seller's SKU, a SKU's stock by location, the products a seller
//!   offers on, and what search should hold: rows of the journal's index
//!   ([`bazaar_actors::index`]), written by the engine with the events they derive from, so
//!   they are on disk, never stale, and built from the streams only when their layout
//!   changes;
//! - every seller's score and every promotion (one per seller or promotion, not per product),
//!   and the search index of each tenant, in memory and folded at start.
//!
//! Flows: stock and seller scores live in their own aggregates, and the buy box must follow
//! them. When a SKU's stock changes, every product offering it is told the new total
//! (`SetOfferStock`); when a seller's score changes, every product it offers is told
//! (`SetSellerScore`), and so is an offer listed or moved to another SKU. Each flow is keyed and coalesced: a key is queued at most once, and its
//! worker reads the latest value when it runs, so a storm of changes costs one ask per key
//! and the last value always lands. After a start that follows a crash (or a stop that left
//! flows), a reconciliation in the background walks the index and re-sends any total or
//! score a product does not have yet.
//!
//! Hold expiry (`expiry.rs`): every inventory with holds is sent `ExpireDue` when its earliest
//! hold falls due, scheduled from each durable change and, at start, from the index's hold
//! rows, so units of an abandoned hold come back (and reach the buy box through the stock
//! flow) without anyone touching the entity, across passivation and restarts.
//!
//! Invariants:
//! - Read models only ever show durable state (they are fed by engine projections, or read
//!   from the journal, which holds only what is durable).
//! - A flow never sends a value the product already has (no event loops).

mod config;
mod expiry;
mod flows;
mod hold;
mod pricing;
mod projections;
mod rebuild;
mod reserve;
mod views;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bazaar_engine::{Engine, EngineError};
use bazaar_persistence::IndexRow;
use dashmap::DashMap;

use crate::limits::INDEX_PAGE_ROWS;
use crate::search::{SearchError, SearchIndex};
use bazaar_actors::cart::{CurrentFacts, ProductFacts};
use bazaar_actors::ids::{Asin, LocationCode, SellerId, Sku};
use bazaar_actors::index;
use bazaar_actors::product::{CatalogDocument, ProductView};
use bazaar_actors::promotion::{CandidatePromotion, PromotionId};
use bazaar_actors::seller::SellerView;

pub use config::CatalogConfig;
pub use flows::FlowStats;
pub use hold::{HoldAt, Item};
pub use pricing::{CartPricing, PriceTerms};
pub use rebuild::Rebuilt;
pub use reserve::ReserveFailure;

type Tenant = Arc<str>;

/// The catalog's read models and flows; cheap to clone.
#[derive(Clone)]
pub struct Catalog {
    shared: Arc<Shared>,
}

struct Shared {
    engine: Engine,
    views: views::Views,
    sellers: DashMap<(Tenant, SellerId), SellerView>,
    search: DashMap<Tenant, Arc<SearchIndex>>,
    /// Every promotion of each tenant, as pricing takes it.
    promotions: DashMap<Tenant, BTreeMap<PromotionId, CandidatePromotion>>,
    /// Where tenants' search indexes live; `None` keeps them in memory.
    search_dir: Option<PathBuf>,
    flows: flows::Flows,
    /// When each inventory entity with holds is next sent `ExpireDue`.
    expiry: Arc<expiry::Expiry>,
    /// False while the start's reconciliation is still queueing flows.
    reconciled: tokio::sync::watch::Sender<bool>,
    /// False once a start's reconciliation began, until it ended having queued all it found.
    reconciliation_ok: AtomicBool,
    /// Whether `stop` found every flow settled within its grace.
    settled_at_stop: AtomicBool,
    /// `[catalog] required_attributes`.
    required_attributes: BTreeMap<String, Vec<String>>,
}

impl Catalog {
    /// A catalog over `engine` with the default knobs; registers its projections, so call it
    /// before the first ask.
    pub fn new(engine: Engine, search_dir: Option<PathBuf>) -> Catalog {
        Catalog::configured(engine, search_dir, &CatalogConfig::default())
    }

    /// A catalogue as [`Catalog::new`] makes it, with the `[catalog]` knobs of `config`.
    pub fn configured(
        engine: Engine,
        search_dir: Option<PathBuf>,
        config: &CatalogConfig,
    ) -> Catalog {
        let shared = Arc::new(Shared {
            engine: engine.clone(),
            views: views::Views::new(config.product_view_cache_bytes),
            sellers: DashMap::new(),
            search: DashMap::new(),
            promotions: DashMap::new(),
            search_dir,
            flows: flows::Flows::start(engine.clone()),
            expiry: Arc::default(),
            reconciled: tokio::sync::watch::Sender::new(true),
            reconciliation_ok: AtomicBool::new(true),
            settled_at_stop: AtomicBool::new(false),
            required_attributes: config.required_attributes.clone(),
        });
        shared.flows.spawn_dispatcher(Arc::downgrade(&shared));
        expiry::spawn_driver(Arc::downgrade(&shared), shared.expiry.clone());
        let catalog = Catalog { shared };
        projections::register(&catalog, &engine);
        catalog
    }

    /// A product's current view: from the cache of recent views, or read from its durable
    /// state in the journal.
    pub fn product(&self, tenant: &str, asin: &Asin) -> Option<Arc<ProductView>> {
        self.shared.views.get(&self.shared.engine, tenant, asin).unwrap_or_else(|error| {
            tracing::error!(%tenant, %asin, error = %error, "product view unreadable");
            None
        })
    }

    /// A seller's current profile and score, from memory.
    pub fn seller(&self, tenant: &str, seller: &SellerId) -> Option<SellerView> {
        self.shared.sellers.get(&(Tenant::from(tenant), seller.clone())).map(|view| view.clone())
    }

    /// The current facts (offers, buy box, tax class) of the products `lines` name, as the
    /// cart's priced view and the checkout read them.
    pub fn facts_of(&self, tenant: &str, lines: &[bazaar_actors::cart::CartLine]) -> CurrentFacts {
        let mut facts = CurrentFacts::default();
        for line in lines {
            if let Some(view) = self.product(tenant, &line.asin) {
                facts.products.insert(line.asin.clone(), ProductFacts::of(&view));
            }
        }
        facts
    }

    /// The products `seller` offers on.
    pub fn offers_of(&self, tenant: &str, seller: &SellerId) -> Vec<Asin> {
        let mut asins: Vec<Asin> =
            self.shared.offers_of(tenant, seller).into_iter().map(|offer| offer.asin).collect();
        asins.sort();
        asins.dedup();
        asins
    }

    /// A product a seller's SKU is offered on (the first by ASIN, if several are).
    pub fn product_of_sku(&self, tenant: &str, seller: &SellerId, sku: &Sku) -> Option<Asin> {
        let offers = self.shared.offers_of_sku(tenant, seller, sku);
        offers.into_iter().next().map(|offer| offer.asin)
    }

    /// The promotions of `tenant` (ended and future ones included: pricing checks windows).
    pub fn promotions(&self, tenant: &str) -> Vec<CandidatePromotion> {
        self.shared
            .promotions
            .get(tenant)
            .map(|all| all.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Available units of a seller's SKU at each location, most first.
    pub fn stock_of(&self, tenant: &str, seller: &SellerId, sku: &Sku) -> Vec<(LocationCode, u32)> {
        let mut locations = self.shared.stock_of(tenant, seller, sku);
        locations.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        locations
    }

    /// The attributes `document`'s category requires (`[catalog] required_attributes`, by
    /// every name on its category path), for the product command that writes it.
    pub fn required_attributes(&self, document: &CatalogDocument) -> Vec<String> {
        let by_category = &self.shared.required_attributes;
        let mut required: Vec<String> = document
            .category_path
            .iter()
            .filter_map(|name| by_category.get(name))
            .flatten()
            .cloned()
            .collect();
        required.sort_unstable();
        required.dedup();
        required
    }

    /// Units of a seller's SKU available over all its locations, if any inventory exists.
    pub fn stock_total(&self, tenant: &str, seller: &SellerId, sku: &Sku) -> Option<u32> {
        self.shared.stock_total(tenant, seller, sku)
    }

    /// The engine the catalog reads from.
    pub fn engine(&self) -> &Engine {
        &self.shared.engine
    }

    /// The search index of `tenant`, opened (or created) on first use.
    pub fn search(&self, tenant: &str) -> Result<Arc<SearchIndex>, SearchError> {
        self.shared.search_index(tenant)
    }

    /// How the flows between aggregates are doing.
    pub fn flow_stats(&self) -> FlowStats {
        self.shared.flows.stats()
    }

    /// Waits until the start's reconciliation has queued what it found and every queued flow
    /// has run (tests, shutdown).
    pub async fn settle(&self) {
        let mut reconciled = self.shared.reconciled.subscribe();
        let _ = reconciled.wait_for(|done| *done).await;
        self.shared.flows.settle().await;
    }

    /// Product views held in memory now (bounded: `[catalog] product_view_cache_bytes`).
    pub fn views_cached(&self) -> usize {
        self.shared.views.cached()
    }

    /// The node is stopping: lets the queued flows run for up to `grace`, then drops what is
    /// still queued and stops driving hold expiry, so a stop takes bounded time whatever is
    /// queued. Nothing is lost: both are derived from the journal; the next start's
    /// [`Catalog::rebuild`] schedules every hold again and, unless every flow settled here
    /// (see [`close`](Catalog::close)), reconciles every stock total and seller score. Call
    /// before the engine shuts down.
    pub async fn stop(&self, grace: std::time::Duration) {
        let settled = tokio::time::timeout(grace, self.settle()).await.is_ok();
        if !settled {
            tracing::info!(
                queued = self.shared.flows.outstanding(),
                "flows left for the next start"
            );
        }
        let reconciled = self.shared.reconciliation_ok.load(Ordering::Acquire);
        self.shared.settled_at_stop.store(settled && reconciled, Ordering::Release);
        self.shared.flows.stop();
        self.shared.expiry.stop();
        self.shared.flows.settle().await;
    }

    /// Commits and closes every search index, marking its files clean (a later start then
    /// needs no rebuild). Call after the engine has stopped.
    ///
    /// When [`stop`](Catalog::stop) found every flow settled (the start's reconciliation
    /// included) and no flow was dropped or failed while the node ran, the journal's index
    /// records it, so the next start has nothing to reconcile (`rebuild.rs`). Only now, with
    /// the engine stopped, can no later write leave a flow behind.
    pub fn close(&self) {
        let stats = self.shared.flows.stats();
        if self.shared.settled_at_stop.load(Ordering::Acquire)
            && stats.dropped == 0
            && stats.failed == 0
        {
            // Durable before the journal closes (it drains every write), or lost with
            // everything after it: either way the row never claims more than was settled.
            let row = (index::FLOWS_SETTLED_ROW.to_vec(), Some(Vec::new()));
            self.shared.engine.journal().write_index(vec![row], Box::new(|_| {}));
        }
        let tenants: Vec<Tenant> =
            self.shared.search.iter().map(|entry| entry.key().clone()).collect();
        for tenant in tenants {
            let Some((_, index)) = self.shared.search.remove(&tenant) else { continue };
            match Arc::try_unwrap(index) {
                Ok(index) => {
                    if let Err(error) = index.close() {
                        tracing::error!(%tenant, error = %error, "search index not closed cleanly");
                    }
                }
                Err(_) => {
                    tracing::warn!(%tenant, "search index still in use at close; closed when dropped")
                }
            }
        }
    }

    /// Makes the read models ready at start, once the journal's index is built
    /// (`crate::build_index`, the step before): folds sellers and promotions, schedules every hold, brings search
    /// indexes not closed cleanly up to the index (only what differs), and, unless the last
    /// stop settled every flow, starts the reconciliation of stock totals and seller scores
    /// in the background. Reads no product.
    pub fn rebuild(&self) -> Result<Rebuilt, bazaar_engine::EngineError> {
        rebuild::rebuild(self)
    }
}

impl Shared {
    /// The index rows under `prefix`, read a page at a time; a failure ends the rows.
    fn pages<'a>(
        &self,
        prefix: &'a [u8],
    ) -> impl Iterator<Item = Result<IndexRow, EngineError>> + 'a {
        let journal = self.engine.journal().clone();
        bazaar_persistence::index_pages(journal, prefix, INDEX_PAGE_ROWS)
            .map(|row| row.map_err(EngineError::from))
    }

    /// Every index row under `prefix`; a journal failure reads as none (the journal has
    /// failed for good, and the node with it).
    fn scan(&self, prefix: &[u8]) -> Vec<IndexRow> {
        self.pages(prefix)
            .map_while(|row| {
                row.inspect_err(|error| tracing::error!(error = %error, "journal index unreadable"))
                    .ok()
            })
            .collect()
    }

    /// Every offer of `seller`, as the index keeps it.
    fn offers_of(&self, tenant: &str, seller: &SellerId) -> Vec<index::OfferRow> {
        self.offers_under(&index::offer_prefix(tenant, seller), tenant, seller)
    }

    /// Every offer of a seller's SKU (one per product offering it), as the index keeps it.
    fn offers_of_sku(&self, tenant: &str, seller: &SellerId, sku: &Sku) -> Vec<index::OfferRow> {
        self.offers_under(&index::sku_prefix(tenant, seller, sku), tenant, seller)
    }

    fn offers_under(&self, prefix: &[u8], tenant: &str, seller: &SellerId) -> Vec<index::OfferRow> {
        let seller_prefix = index::offer_prefix(tenant, seller);
        let rows = self.scan(prefix);
        rows.iter().filter_map(|row| index::parse_offer(&seller_prefix, row)).collect()
    }

    fn stock_of(&self, tenant: &str, seller: &SellerId, sku: &Sku) -> Vec<(LocationCode, u32)> {
        let prefix = index::stock_prefix(tenant, seller, sku);
        let rows = self.scan(&prefix);
        rows.iter().filter_map(|row| index::parse_stock(&prefix, row)).collect()
    }

    fn stock_total(&self, tenant: &str, seller: &SellerId, sku: &Sku) -> Option<u32> {
        let locations = self.stock_of(tenant, seller, sku);
        if locations.is_empty() {
            return None;
        }
        let total: u64 = locations.iter().map(|(_, units)| u64::from(*units)).sum();
        Some(total.min(u64::from(bazaar_actors::limits::QUANTITY_MAX)) as u32)
    }

    fn search_index(&self, tenant: &str) -> Result<Arc<SearchIndex>, SearchError> {
        if let Some(index) = self.search.get(tenant) {
            return Ok(index.clone());
        }
        // Opened under the entry's lock: tantivy allows one writer per directory.
        let entry = self.search.entry(Tenant::from(tenant)).or_try_insert_with(|| {
            let index = match &self.search_dir {
                Some(dir) => SearchIndex::open(&dir.join(tenant))?,
                None => SearchIndex::in_memory()?,
            };
            Ok::<_, SearchError>(Arc::new(index))
        })?;
        Ok(entry.clone())
    }
}
