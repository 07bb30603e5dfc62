//! The catalog's read side and its flows between aggregates.
//!
//! Read models (CQRS projections, fed by the engine once events are durable, rebuilt from the
//! journal at start): every product's view (document, offers, buy box) for hot reads that
//! never touch a mailbox; every seller's score; each seller SKU's stock by location; the
//! search index of each tenant.
//!
//! Flows: stock and seller scores live in their own aggregates, and the buy box must follow
//! them. When a SKU's stock changes, the product offering it is told the new total
//! (`SetOfferStock`); when a seller's score changes, every product it offers is told
//! (`SetSellerScore`). Each flow is keyed and coalesced: a key is queued at most once, and its
//! worker reads the latest value when it runs, so a storm of changes costs one ask per key
//! and the last value always lands. After a crash the start-up reconciliation re-sends any
//! total a product does not have yet.
//!
//! Hold expiry (`expiry.rs`): every inventory with holds is sent `ExpireDue` when its earliest
//! hold falls due, scheduled from each durable change and from the start-up rebuild, so units
//! of an abandoned hold come back (and reach the buy box through the stock flow) without
//! anyone touching the entity, across passivation and restarts.
//!
//! Invariants:
//! - Read models only ever show durable state (they are fed by engine projections).
//! - A flow never sends a value the product already has (no event loops).

mod expiry;
mod flows;
mod hold;
mod pricing;
mod projections;
mod rebuild;
mod reserve;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use bazaar_engine::Engine;
use dashmap::DashMap;

use crate::search::{SearchError, SearchIndex};
use bazaar_actors::cart::{CurrentFacts, ProductFacts};
use bazaar_actors::ids::{Asin, LocationCode, SellerId, Sku};
use bazaar_actors::product::ProductView;
use bazaar_actors::promotion::{CandidatePromotion, PromotionId};
use bazaar_actors::seller::SellerView;

pub use flows::FlowStats;
pub use hold::Item;
pub use pricing::{CartPricing, PriceTerms};
pub use reserve::ReserveFailure;

type Tenant = Arc<str>;

/// The catalog's read models and flows; cheap to clone.
#[derive(Clone)]
pub struct Catalog {
    shared: Arc<Shared>,
}

struct Shared {
    engine: Engine,
    products: DashMap<(Tenant, Asin), Arc<ProductView>>,
    sellers: DashMap<(Tenant, SellerId), SellerView>,
    /// Which products each seller offers.
    offers_of_seller: DashMap<(Tenant, SellerId), BTreeSet<Asin>>,
    /// Which product a seller's SKU is offered on.
    product_of_sku: DashMap<(Tenant, SellerId, Sku), Asin>,
    /// Available units of a seller's SKU at each location.
    stock: DashMap<(Tenant, SellerId, Sku), BTreeMap<LocationCode, u32>>,
    search: DashMap<Tenant, Arc<SearchIndex>>,
    /// Every promotion of each tenant, as pricing takes it.
    promotions: DashMap<Tenant, BTreeMap<PromotionId, CandidatePromotion>>,
    /// Where tenants' search indexes live; `None` keeps them in memory.
    search_dir: Option<PathBuf>,
    flows: flows::Flows,
    /// When each inventory entity with holds is next sent `ExpireDue`.
    expiry: Arc<expiry::Expiry>,
}

impl Catalog {
    /// A catalog over `engine`; registers its projections, so call it before the first ask.
    pub fn new(engine: Engine, search_dir: Option<PathBuf>) -> Catalog {
        let shared = Arc::new(Shared {
            engine: engine.clone(),
            products: DashMap::new(),
            sellers: DashMap::new(),
            offers_of_seller: DashMap::new(),
            product_of_sku: DashMap::new(),
            stock: DashMap::new(),
            search: DashMap::new(),
            promotions: DashMap::new(),
            search_dir,
            flows: flows::Flows::start(engine.clone()),
            expiry: Arc::default(),
        });
        shared.flows.spawn_dispatcher(Arc::downgrade(&shared));
        expiry::spawn_driver(Arc::downgrade(&shared), shared.expiry.clone());
        let catalog = Catalog { shared };
        projections::register(&catalog, &engine);
        catalog
    }

    /// A product's current view, from memory.
    pub fn product(&self, tenant: &str, asin: &Asin) -> Option<Arc<ProductView>> {
        self.shared.products.get(&(Tenant::from(tenant), asin.clone())).map(|view| view.clone())
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

    /// The products `seller` offers.
    pub fn offers_of(&self, tenant: &str, seller: &SellerId) -> Vec<Asin> {
        let key = (Tenant::from(tenant), seller.clone());
        self.shared
            .offers_of_seller
            .get(&key)
            .map(|asins| asins.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// The product a seller's SKU is offered on.
    pub fn product_of_sku(&self, tenant: &str, seller: &SellerId, sku: &Sku) -> Option<Asin> {
        let key = (Tenant::from(tenant), seller.clone(), sku.clone());
        self.shared.product_of_sku.get(&key).map(|asin| asin.clone())
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
        let key = (Tenant::from(tenant), seller.clone(), sku.clone());
        let mut locations: Vec<(LocationCode, u32)> = self
            .shared
            .stock
            .get(&key)
            .map(|by_location| by_location.clone().into_iter().collect())
            .unwrap_or_default();
        locations.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        locations
    }

    /// Units of a seller's SKU available over all its locations, if any inventory exists.
    pub fn stock_total(&self, tenant: &str, seller: &SellerId, sku: &Sku) -> Option<u32> {
        let key = (Tenant::from(tenant), seller.clone(), sku.clone());
        let total: u64 = self.shared.stock.get(&key)?.values().map(|&n| u64::from(n)).sum();
        Some(total.min(u64::from(bazaar_actors::limits::QUANTITY_MAX)) as u32)
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

    /// Waits until every queued flow has run (tests, shutdown).
    pub async fn settle(&self) {
        self.shared.flows.settle().await;
    }

    /// The node is stopping: lets the queued flows run for up to `grace`, then drops what is
    /// still queued and stops driving hold expiry, so a stop takes bounded time whatever is
    /// queued. Nothing is lost: both are derived from the journal, and the next start's
    /// [`Catalog::rebuild`] queues every stock total and seller score again and schedules
    /// every hold. Call before the engine shuts down.
    pub async fn stop(&self, grace: std::time::Duration) {
        if tokio::time::timeout(grace, self.shared.flows.settle()).await.is_err() {
            tracing::info!(
                queued = self.shared.flows.outstanding(),
                "flows left for the next start"
            );
        }
        self.shared.flows.stop();
        self.shared.expiry.stop();
        self.shared.flows.settle().await;
    }

    /// Commits and closes every search index, marking its files clean (a later start then
    /// needs no rebuild). Call after the engine has stopped.
    pub fn close(&self) {
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

    /// Fills every read model from the journal, brings search indexes whose files were
    /// missing or not closed cleanly up to the product read model (only what differs), and
    /// queues a reconciliation of every stock total and seller score.
    pub fn rebuild(&self) -> Result<rebuild::Rebuilt, bazaar_engine::EngineError> {
        rebuild::rebuild(self)
    }
}

impl Shared {
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
