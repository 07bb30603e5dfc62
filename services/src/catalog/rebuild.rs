//! Start-up: the read models folded from the journal, search indexes brought up to them where
//! their files were missing or not closed cleanly (only the documents that differ), every flow
//! reconciled, and every inventory with holds scheduled for expiry.

use std::collections::BTreeSet;
use std::sync::Arc;

use bazaar_engine::EngineError;
use bazaar_engine::replay::fold_kind;

use super::flows::Job;
use super::{Catalog, Tenant};
use bazaar_actors::inventory::Inventory;
use bazaar_actors::keys;
use bazaar_actors::product::Product;
use bazaar_actors::promotion::Promotion;
use bazaar_actors::seller::Seller;

/// What a rebuild read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rebuilt {
    pub sellers: usize,
    pub products: usize,
    pub stock_records: usize,
    /// Tenants whose search index was not closed cleanly (or was missing) and was brought up
    /// to the read model.
    pub search_caught_up: Vec<String>,
    /// Documents those catch-ups indexed again or removed: only what changed since the
    /// index's last commit (everything, for an index that was missing).
    pub search_reindexed: usize,
}

pub(super) fn rebuild(catalog: &Catalog) -> Result<Rebuilt, EngineError> {
    let shared = &catalog.shared;
    let journal = shared.engine.journal().clone();
    let compacting = shared.engine.config().compact_on_snapshot;
    let mut rebuilt = Rebuilt::default();

    fold_kind::<Seller>(&*journal, compacting, |id, state| {
        if let (Some((tenant, seller)), Some(view)) = (keys::parse_seller(id), state.view()) {
            shared.sellers.insert((Tenant::from(tenant), seller), view);
            rebuilt.sellers += 1;
        }
    })?;

    let mut tenants = BTreeSet::new();
    fold_kind::<Product>(&*journal, compacting, |id, state| {
        if let (Some((tenant, asin)), Some(view)) = (keys::parse_product(id), state.view()) {
            tenants.insert(tenant.to_string());
            shared.store_product(Tenant::from(tenant), asin, Arc::new(view));
            rebuilt.products += 1;
        }
    })?;

    fold_kind::<Promotion>(&*journal, compacting, |id, state| {
        if let (Some((tenant, _)), Some(candidate)) = (keys::split_tenant(id), state.candidate()) {
            shared.publish_promotion(Tenant::from(tenant), candidate);
        }
    })?;

    let mut stock_keys = BTreeSet::new();
    fold_kind::<Inventory>(&*journal, compacting, |id, state| {
        if let Some((tenant, seller, inventory)) = keys::parse_inventory(id) {
            let key = (Tenant::from(tenant), seller, inventory.sku.clone());
            shared
                .stock
                .entry(key.clone())
                .or_default()
                .insert(inventory.location, state.available());
            stock_keys.insert(key);
            // Holds whose time ran out while the node was down expire at once.
            shared.expiry.set(id, state.stock().next_expiry_ms);
            rebuilt.stock_records += 1;
        }
    })?;

    for tenant in tenants {
        let index = shared.search_index(&tenant).map_err(|e| search_failure(&tenant, &e))?;
        if !index.needs_rebuild() {
            continue;
        }
        let mut indexed = index.indexed().map_err(|e| search_failure(&tenant, &e))?;
        for entry in shared.products.iter().filter(|entry| *entry.key().0 == *tenant) {
            let (_, asin) = entry.key();
            let doc = super::projections::search_doc(asin, entry.value());
            match index.upsert_unless_current(doc, indexed.remove(asin.as_str())) {
                Ok(staged) => rebuilt.search_reindexed += usize::from(staged),
                Err(error) => {
                    tracing::warn!(%asin, error = %error, "product not indexed for search")
                }
            }
        }
        // Indexed, but no product of the read model: gone from the journal's view.
        for asin in indexed.into_keys() {
            index.remove(&asin).map_err(|e| search_failure(&tenant, &e))?;
            rebuilt.search_reindexed += 1;
        }
        index.refresh_now().map_err(|e| search_failure(&tenant, &e))?;
        rebuilt.search_caught_up.push(tenant);
    }

    // A crash may have come between a durable change and the flow that follows it.
    for (tenant, seller, sku) in stock_keys {
        shared.flows.queue(Job::Stock { tenant, seller, sku });
    }
    let sellers: Vec<_> = shared.sellers.iter().map(|entry| entry.key().clone()).collect();
    for (tenant, seller) in sellers {
        shared.queue_scores(&tenant, &seller);
    }
    Ok(rebuilt)
}

fn search_failure(tenant: &str, error: &crate::search::SearchError) -> EngineError {
    EngineError::Recovery { key: format!("search/{tenant}"), reason: error.to_string() }
}
