//! The engine projections that feed the catalog's read models and start its flows.

use std::collections::BTreeSet;
use std::sync::{Arc, Weak};

use bazaar_engine::{Engine, EntityKey, Projection, Publish};

use super::flows::Job;
use super::{Catalog, Shared, Tenant};
use crate::search::SearchDoc;
use bazaar_actors::inventory::{Inventory, InventoryEvent};
use bazaar_actors::keys;
use bazaar_actors::product::{Fulfilment, Product, ProductEvent, ProductView};
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
        _events: &[ProductEvent],
    ) -> Option<Publish> {
        let (tenant, asin) = keys::parse_product(&key.id)?;
        let view = Arc::new(state.view()?);
        let (shared, tenant) = (self.0.upgrade()?, Tenant::from(tenant));
        Some(Box::new(move || shared.publish_product(tenant, asin, view)))
    }
}

impl Projection<Seller> for Sellers {
    fn prepare(&self, key: &EntityKey, state: &Seller, events: &[SellerEvent]) -> Option<Publish> {
        let (tenant, seller) = keys::parse_seller(&key.id)?;
        let view = state.view()?;
        let rescored = events.iter().any(|e| {
            matches!(e, SellerEvent::ScoreUpdated { .. } | SellerEvent::StandingChanged { .. })
        });
        let (shared, tenant) = (self.0.upgrade()?, Tenant::from(tenant));
        Some(Box::new(move || {
            shared.sellers.insert((tenant.clone(), seller.clone()), view);
            if rescored {
                shared.queue_scores(&tenant, &seller);
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
        let available = state.available();
        let next_expiry_ms = state.stock().next_expiry_ms;
        let (shared, tenant, entity) = (self.0.upgrade()?, Tenant::from(tenant), key.id.clone());
        Some(Box::new(move || {
            shared.expiry.set(&entity, next_expiry_ms);
            shared.publish_stock(tenant, seller, id, available);
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
        let doc = search_doc(&asin, &view);
        // Most changes (a stock count, a hold) leave what search sees as it was: indexing the
        // same document again would cost a tantivy write for nothing.
        let unchanged = self
            .products
            .get(&(tenant.clone(), asin.clone()))
            .is_some_and(|before| search_doc(&asin, &before) == doc);
        self.store_product(tenant.clone(), asin.clone(), view);
        if unchanged {
            return;
        }
        match self.search_index(&tenant) {
            Ok(index) => {
                if let Err(error) = index.upsert(doc) {
                    tracing::warn!(%asin, error = %error, "product not indexed for search");
                }
            }
            Err(error) => tracing::error!(%tenant, error = %error, "search index unavailable"),
        }
    }

    /// Keeps a product's view and the offer indexes it implies.
    pub(super) fn store_product(
        &self,
        tenant: Tenant,
        asin: bazaar_actors::ids::Asin,
        view: Arc<ProductView>,
    ) {
        let sellers_now: BTreeSet<_> =
            view.offers.iter().map(|offer| offer.seller.clone()).collect();
        let previous = self.products.insert((tenant.clone(), asin.clone()), view.clone());
        let sellers_before: BTreeSet<_> = previous
            .iter()
            .flat_map(|old| old.offers.iter().map(|offer| offer.seller.clone()))
            .collect();
        for gone in sellers_before.difference(&sellers_now) {
            if let Some(mut asins) = self.offers_of_seller.get_mut(&(tenant.clone(), gone.clone()))
            {
                asins.remove(&asin);
            }
        }
        for offer in &view.offers {
            let seller_key = (tenant.clone(), offer.seller.clone());
            self.offers_of_seller.entry(seller_key).or_default().insert(asin.clone());
            let sku_key = (tenant.clone(), offer.seller.clone(), offer.terms.sku.clone());
            let newly_listed =
                self.product_of_sku.insert(sku_key.clone(), asin.clone()).as_ref() != Some(&asin);
            if newly_listed && self.stock.contains_key(&sku_key) {
                self.flows.queue(Job::Stock {
                    tenant: tenant.clone(),
                    seller: offer.seller.clone(),
                    sku: offer.terms.sku.clone(),
                });
            }
        }
    }

    pub(super) fn publish_stock(
        &self,
        tenant: Tenant,
        seller: bazaar_actors::ids::SellerId,
        id: bazaar_actors::inventory::InventoryId,
        available: u32,
    ) {
        let key = (tenant.clone(), seller.clone(), id.sku.clone());
        self.stock.entry(key).or_default().insert(id.location, available);
        self.flows.queue(Job::Stock { tenant, seller, sku: id.sku });
    }

    pub(super) fn publish_promotion(&self, tenant: Tenant, candidate: CandidatePromotion) {
        self.promotions.entry(tenant).or_default().insert(candidate.id.clone(), candidate);
    }

    pub(super) fn queue_scores(&self, tenant: &Tenant, seller: &bazaar_actors::ids::SellerId) {
        let asins = self
            .offers_of_seller
            .get(&(tenant.clone(), seller.clone()))
            .map(|a| a.clone())
            .unwrap_or_default();
        for asin in asins {
            self.flows.queue(Job::Score { tenant: tenant.clone(), seller: seller.clone(), asin });
        }
    }
}

/// A product as search sees it: the buy box's landed price, whether any offer has stock, and
/// the fulfilment channels of the offers that do.
pub fn search_doc(asin: &bazaar_actors::ids::Asin, view: &ProductView) -> SearchDoc {
    let stocked = || view.offers.iter().filter(|offer| offer.terms.available > 0);
    let mut fulfilment: Vec<String> = stocked()
        .map(|offer| match offer.terms.fulfilment {
            Fulfilment::Marketplace => "marketplace".to_string(),
            Fulfilment::Seller => "seller".to_string(),
        })
        .collect();
    fulfilment.sort();
    fulfilment.dedup();
    SearchDoc {
        asin: asin.to_string(),
        title: view.document.title.clone(),
        brand: view.document.brand.clone(),
        description: view.document.description.clone(),
        category_path: view.document.category_path.clone(),
        price_minor: view.buy_box.as_ref().map(|buy_box| buy_box.landed.minor),
        currency: view.currency.to_string(),
        in_stock: stocked().next().is_some(),
        fulfilment,
        created_ms: view.created_at_ms,
    }
}
