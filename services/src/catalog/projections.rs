//! The engine projections that feed the catalog's read models and start its flows.

use std::sync::{Arc, Weak};

use bazaar_engine::{Engine, EntityKey, Projection, Publish};

use super::flows::Job;
use super::{Catalog, Shared, Tenant};
use bazaar_actors::inventory::{Inventory, InventoryEvent};
use bazaar_actors::keys;
use bazaar_actors::product::{Product, ProductEvent, ProductView, SearchDoc};
use bazaar_actors::promotion::{CandidatePromotion, Promotion, PromotionEvent};
use bazaar_actors::seller::{Seller, SellerEvent};

pub(super) fn register(catalog: &Catalog, engine: &Engine) {
    // Weak: the catalog holds the engine, so the engine's projections must not hold the catalog.
    let shared = Arc::downgrade(&catalog.shared);
    engine.project::<Product>(Arc::new(Products(shared.clone())));
    engine.project::<Seller>(Arc::new(Sellers(shared.clone())));
    engine.project::<Inventory>(Arc::new(Stock(shared.clone())));
    engine.project::<Promotion>(Arc::new(Promotions(shared)));
}

struct Promotions(Weak<Shared>);

impl Projection<Promotion> for Promotions {
    fn prepare(
        &self,
        key: &EntityKey,
        state: &Promotion,
        _events: &[PromotionEvent],
    ) -> Option<Publish> {
        let (tenant, _) = keys::split_tenant(&key.id)?;
        let candidate = state.candidate()?;
        let (shared, tenant) = (self.0.upgrade()?, Tenant::from(tenant));
        Some(Box::new(move || shared.publish_promotion(tenant, candidate)))
    }
}

struct Products(Weak<Shared>);
struct Sellers(Weak<Shared>);
struct Stock(Weak<Shared>);

impl Projection<Product> for Products {
    fn prepare(
        &self,
        key: &EntityKey,
        state: &Product,
        events: &[ProductEvent],
    ) -> Option<Publish> {
        let (tenant, asin) = keys::parse_product(&key.id)?;
        let view = Arc::new(state.view()?);
        let (shared, tenant) = (self.0.upgrade()?, Tenant::from(tenant));
        // An offer listed, or revised (perhaps to another SKU), is told its SKU's stock and
        // its seller's latest score: the score it was listed with may be older than one whose
        // rescore scanned the seller's offers before this one had its row (or under its old
        // SKU, whose row is gone).
        let listed: Vec<Job> = events
            .iter()
            .filter_map(|event| match event {
                ProductEvent::OfferListed { offer } | ProductEvent::OfferRevised { offer } => {
                    Some(offer)
                }
                _ => None,
            })
            .flat_map(|offer| {
                let (seller, sku) = (offer.seller.clone(), offer.terms.sku.clone());
                let score = Job::Score { tenant: tenant.clone(), seller, sku, asin: asin.clone() };
                let (seller, sku) = (offer.seller.clone(), offer.terms.sku.clone());
                [Job::Stock { tenant: tenant.clone(), seller, sku }, score]
            })
            .collect();
        Some(Box::new(move || {
            shared.publish_product(tenant, asin, view);
            listed.into_iter().for_each(|job| shared.flows.queue(job));
        }))
    }
}

impl Projection<Seller> for Sellers {
    fn prepare(&self, key: &EntityKey, state: &Seller, events: &[SellerEvent]) -> Option<Publish> {
        let (tenant, seller) = keys::parse_seller(&key.id)?;
        let view = state.view()?;
        let rescored = events.iter().any(SellerEvent::changes_score);
        let (shared, tenant) = (self.0.upgrade()?, Tenant::from(tenant));
        Some(Box::new(move || {
            shared.sellers.insert((tenant.clone(), seller.clone()), view);
            if rescored {
                shared.flows.queue(Job::Seller { tenant, seller });
            }
        }))
    }
}

impl Projection<Inventory> for Stock {
    fn prepare(
        &self,
        key: &EntityKey,
        state: &Inventory,
        _events: &[InventoryEvent],
    ) -> Option<Publish> {
        let (tenant, seller, id) = keys::parse_inventory(&key.id)?;
        let next_expiry_ms = state.stock().next_expiry_ms;
        let (shared, tenant, entity) = (self.0.upgrade()?, Tenant::from(tenant), key.id.clone());
        Some(Box::new(move || {
            shared.expiry.set(&entity, next_expiry_ms);
            shared.publish_stock(tenant, seller, id);
        }))
    }
}

impl Shared {
    pub(super) fn publish_product(
        &self,
        tenant: Tenant,
        asin: bazaar_actors::ids::Asin,
        view: Arc<ProductView>,
    ) {
        let fingerprint = SearchDoc::fingerprint_of(&asin, &view);
        // Most changes (a stock count, a hold) leave what search sees as it was: indexing the
        // same document again would cost a tantivy write for nothing.
        if !self.views.publish(tenant.clone(), asin.clone(), view.clone(), fingerprint) {
            return;
        }
        match self.search_index(&tenant) {
            Ok(index) => {
                if let Err(error) = index.upsert(SearchDoc::of(&asin, &view)) {
                    tracing::warn!(%asin, error = %error, "product not indexed for search");
                }
            }
            Err(error) => tracing::error!(%tenant, error = %error, "search index unavailable"),
        }
    }

    pub(super) fn publish_stock(
        &self,
        tenant: Tenant,
        seller: bazaar_actors::ids::SellerId,
        id: bazaar_actors::inventory::InventoryId,
    ) {
        self.flows.queue(Job::Stock { tenant, seller, sku: id.sku });
    }

    pub(super) fn publish_promotion(&self, tenant: Tenant, candidate: CandidatePromotion) {
        self.promotions.entry(tenant).or_default().insert(candidate.id.clone(), candidate);
    }

    /// Queues the score flow of every offer of `seller` whose score is older than the
    /// seller's latest; returns how many. It scans the seller's offers a page at a time, so
    /// call it on a flow worker or the start's reconciliation, never on the journal's thread.
    /// It ends early once the flows stop (the next start reconciles).
    pub(super) fn queue_scores(
        &self,
        tenant: &Tenant,
        seller: &bazaar_actors::ids::SellerId,
    ) -> Result<usize, bazaar_engine::EngineError> {
        let key = (tenant.clone(), seller.clone());
        let Some(version) = self.sellers.get(&key).map(|view| view.score.version) else {
            return Ok(0);
        };
        let prefix = bazaar_actors::index::offer_prefix(tenant, seller);
        let mut queued = 0;
        for row in self.pages(&prefix) {
            if self.flows.stopping() {
                break;
            }
            let offer = bazaar_actors::index::parse_offer(&prefix, &row?)
                .ok_or_else(|| super::rebuild::bad_row("offer"))?;
            if offer.score_version < version {
                let (seller, sku, asin) = (seller.clone(), offer.sku, offer.asin);
                self.flows.queue(Job::Score { tenant: tenant.clone(), seller, sku, asin });
                queued += 1;
            }
        }
        Ok(queued)
    }
}
