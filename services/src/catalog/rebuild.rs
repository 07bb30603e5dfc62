//! Start-up: what the read models need before the node is ready, reading no product.
//!
//! The journal's index is built first (`crate::build_index`).
//!
//! 1. Sellers and promotions are folded from the journal (one per seller or promotion).
//! 2. Every inventory with a hold is scheduled for expiry, from the index's hold rows.
//! 3. A search index whose files were missing or not closed cleanly is brought up to the
//!    index's search rows: only the products whose fingerprint differs are read and indexed
//!    again, and documents of products the index no longer has are removed.
//! 4. Unless the node stopped with its flows settled (`FLOWS_SETTLED_ROW`, written by
//!    [`Catalog::close`](super::Catalog::close)), a reconciliation starts in the background:
//!    it walks the stock rows and the sellers' offer rows and queues the flow of every total
//!    or score a product does not have yet. [`Catalog::settle`](super::Catalog::settle)
//!    waits for it.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use bazaar_engine::EngineError;
use bazaar_engine::replay::fold_kind;

use super::flows::Job;
use super::{Catalog, Shared, Tenant};
use crate::search::SearchError;
use bazaar_actors::index;
use bazaar_actors::keys;
use bazaar_actors::product::SearchDoc;
use bazaar_actors::promotion::Promotion;
use bazaar_actors::seller::Seller;

/// What a start did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rebuilt {
    pub sellers: usize,
    /// Inventories with holds, scheduled for expiry.
    pub holds: usize,
    /// Tenants whose search index was not closed cleanly (or was missing) and was brought up
    /// to the journal's index.
    pub search_caught_up: Vec<String>,
    /// Documents those catch-ups indexed again or removed: only what changed since the
    /// index's last commit (everything, for an index that was missing).
    pub search_reindexed: usize,
    /// Whether the node stopped with its flows settled, so nothing was reconciled.
    pub flows_settled: bool,
}

pub(super) fn rebuild(catalog: &Catalog) -> Result<Rebuilt, EngineError> {
    let shared = &catalog.shared;
    let journal = shared.engine.journal().clone();
    let mut rebuilt = Rebuilt::default();

    fold_kind::<Seller>(&*journal, |id, state| {
        if let (Some((tenant, seller)), Some(view)) = (keys::parse_seller(id), state.view()) {
            shared.sellers.insert((Tenant::from(tenant), seller), view);
            rebuilt.sellers += 1;
        }
    })?;
    fold_kind::<Promotion>(&*journal, |id, state| {
        if let (Some((tenant, _)), Some(candidate)) = (keys::split_tenant(id), state.candidate()) {
            shared.publish_promotion(Tenant::from(tenant), candidate);
        }
    })?;

    // Holds whose time ran out while the node was down expire at once.
    for row in shared.pages(index::HOLD_NAMESPACE) {
        let (entity, due_ms) = index::parse_hold(&row?).ok_or_else(|| bad_row("hold"))?;
        shared.expiry.set(&entity, Some(due_ms));
        rebuilt.holds += 1;
    }

    for tenant in tenants(shared)? {
        let index = shared.search_index(&tenant).map_err(|e| search_failure(&tenant, &e))?;
        if !index.needs_rebuild() {
            continue;
        }
        let mut indexed = index.indexed().map_err(|e| search_failure(&tenant, &e))?;
        let prefix = index::search_prefix(&tenant);
        for row in shared.pages(&prefix) {
            let (asin, fingerprint) =
                index::parse_search(&prefix, &row?).ok_or_else(|| bad_row("search"))?;
            if indexed.remove(asin.as_str()) == Some(fingerprint) {
                continue;
            }
            let Some(view) = shared.views.get(&shared.engine, &tenant, &asin)? else { continue };
            match index.upsert(SearchDoc::of(&asin, &view)) {
                Ok(()) => rebuilt.search_reindexed += 1,
                Err(error) => {
                    tracing::warn!(%asin, error = %error, "product not indexed for search")
                }
            }
        }
        // Indexed, but no product the journal's index has.
        for asin in indexed.into_keys() {
            index.remove(&asin).map_err(|e| search_failure(&tenant, &e))?;
            rebuilt.search_reindexed += 1;
        }
        index.refresh_now().map_err(|e| search_failure(&tenant, &e))?;
        rebuilt.search_caught_up.push(tenant);
    }

    rebuilt.flows_settled = journal.index_get(index::FLOWS_SETTLED_ROW)?.is_some();
    if rebuilt.flows_settled {
        // Not waited for: a crash that loses the removal loses every later write with it,
        // and the row stays true of what is left.
        let removal = (index::FLOWS_SETTLED_ROW.to_vec(), None);
        journal.write_index(vec![removal], Box::new(|_| {}));
    } else {
        start_reconciliation(shared.clone());
    }
    Ok(rebuilt)
}

/// The tenants that have products (a row under `search/{tenant}/`: found by skipping from
/// one tenant's rows to the next, one read each), and those with a search index on disk.
fn tenants(shared: &Shared) -> Result<std::collections::BTreeSet<String>, EngineError> {
    let mut tenants = std::collections::BTreeSet::new();
    let mut after: Option<Vec<u8>> = None;
    while let Some((key, _)) =
        shared.engine.journal().index_scan(index::SEARCH_NAMESPACE, after.as_deref(), 1)?.pop()
    {
        let tenant = index::parse_search_tenant(&key).ok_or_else(|| bad_row("search"))?;
        // Past every row of this tenant: its rows are `search/{tenant}/{ASIN}`, ASCII.
        after = Some([index::search_prefix(tenant).as_slice(), b"\xff"].concat());
        tenants.insert(tenant.to_string());
    }
    if let Some(dir) = &shared.search_dir
        && let Ok(entries) = std::fs::read_dir(dir)
    {
        let names = entries.filter_map(|entry| entry.ok()?.file_name().into_string().ok());
        tenants.extend(names.filter(|name| keys::is_tenant(name)));
    }
    Ok(tenants)
}

/// A crash may have come between a durable change and the flow that follows it: queues the
/// stock flow of every SKU whose offer does not have its total, and the score flow of every
/// product whose offer has an older score than its seller, from a thread of its own.
fn start_reconciliation(shared: Arc<Shared>) {
    shared.reconciliation_ok.store(false, Ordering::Release);
    shared.reconciled.send_replace(false);
    /// Says the reconciliation ended however it ended (a panic included), so `settle`
    /// never waits for it forever; only a success sets `reconciliation_ok`.
    struct Ended(Arc<Shared>);
    impl Drop for Ended {
        fn drop(&mut self) {
            self.0.reconciled.send_replace(true);
        }
    }
    let ended = Ended(shared);
    let spawned = std::thread::Builder::new().name("reconcile".into()).spawn(move || {
        let shared = &ended.0;
        let started = std::time::Instant::now();
        match reconcile(shared) {
            Ok(queued) if !shared.flows.stopping() => {
                shared.reconciliation_ok.store(true, Ordering::Release);
                let ms = started.elapsed().as_millis() as u64;
                tracing::info!(queued, ms, "stock and scores reconciled");
            }
            Ok(_) => tracing::info!("reconciliation left for the next start"),
            Err(error) => tracing::error!(error = %error, "reconciliation stopped"),
        }
    });
    if let Err(error) = spawned {
        tracing::error!(error = %error, "reconciliation not started");
    }
}

fn reconcile(shared: &Shared) -> Result<usize, EngineError> {
    let mut queued = 0;
    // Stock rows of one SKU are adjacent (their keys share the SKU's prefix).
    let mut sku: Option<(String, bazaar_actors::ids::SellerId, bazaar_actors::ids::Sku)> = None;
    let mut total = 0u64;
    let mut check = |sku: Option<(String, _, _)>, total: u64| {
        let Some((tenant, seller, sku)) = sku else { return };
        let total = total.min(u64::from(bazaar_actors::limits::QUANTITY_MAX)) as u32;
        if shared.offers_of_sku(&tenant, &seller, &sku).iter().any(|offer| offer.units != total) {
            shared.flows.queue(Job::Stock { tenant: Tenant::from(tenant), seller, sku });
            queued += 1;
        }
    };
    for row in shared.pages(index::STOCK_NAMESPACE) {
        if shared.flows.stopping() {
            return Ok(queued);
        }
        let (tenant, seller, row_sku, _, units) =
            index::parse_any_stock(&row?).ok_or_else(|| bad_row("stock"))?;
        let this = (tenant, seller, row_sku);
        if sku.as_ref() != Some(&this) {
            check(sku.replace(this), std::mem::take(&mut total));
        }
        total += u64::from(units);
    }
    check(sku, total);

    let sellers: Vec<_> = shared.sellers.iter().map(|entry| entry.key().clone()).collect();
    for (tenant, seller) in sellers {
        queued += shared.queue_scores(&tenant, &seller)?;
    }
    Ok(queued)
}

pub(super) fn bad_row(namespace: &str) -> EngineError {
    EngineError::Recovery {
        key: format!("index/{namespace}"),
        reason: "a row of the journal's index does not parse".into(),
    }
}

fn search_failure(tenant: &str, error: &SearchError) -> EngineError {
    EngineError::Recovery { key: format!("search/{tenant}"), reason: error.to_string() }
}
