//! What every handler can reach.

use bazaar_services::notify::{Notifier, NotifyConfig};
use std::ops::Deref;
use std::sync::Arc;

use axum::extract::FromRef;
use bazaar_engine::Engine;
use bazaar_services::cache::{BoundedCache, TextPair, Weigh};
use bazaar_services::catalog::Catalog;
use bazaar_services::ledger::Ledger;
use bazaar_services::orders::OrderBook;
use bazaar_services::saga::Sagas;

use tokio_util::task::TaskTracker;

use crate::auth::Credentials;
use crate::config::PricingConfig;
use crate::ops::OpsState;
use crate::rate_limit::RateLimits;

/// What every handler can reach, behind one `Arc`: the middlewares and extractors clone the
/// state on every request, and one reference count is all such a clone touches.
#[derive(Clone)]
pub struct AppState(Arc<Parts>);

impl AppState {
    pub fn new(parts: Parts) -> AppState {
        AppState(Arc::new(parts))
    }
}

impl Deref for AppState {
    type Target = Parts;

    fn deref(&self) -> &Parts {
        &self.0
    }
}

/// The parts of [`AppState`].
pub struct Parts {
    pub engine: Engine,
    pub catalog: Catalog,
    pub credentials: Arc<Credentials>,
    pub limits: Arc<RateLimits>,
    pub pricing: Arc<PricingConfig>,
    pub ops: OpsState,
    /// Checkout sagas, the payment client and the payment job.
    pub sagas: Sagas,
    /// Orders by customer and by seller.
    pub orders: OrderBook,
    /// Ledger balances and the PSP movements to reconcile.
    pub ledger: Ledger,
    /// Each product's JSON as last served, by revision: the hottest read is encoded once per
    /// change, not once per request.
    pub rendered: Arc<RenderedProducts>,
    /// How a seller's standing follows its score (`[sellers]`).
    pub sellers: bazaar_actors::seller::StandingRules,
    /// Return windows, automatic approval and the labels' carrier (`[returns]`).
    pub returns: bazaar_actors::order::returns::ReturnRules,
    /// New listings per seller this minute (the listing-burst signal).
    pub listing_bursts: crate::routes::cases::ListingBursts,
    /// The carriers labels are bought from (`[shipping]`).
    pub carriers: bazaar_services::carriers::Carriers,
    /// Delivers the orders' notices to the tenants' webhooks (and counts how that went).
    pub notifier: Notifier,
    /// Seals customers' personal data and erases it (`DIR/pii`).
    pub vault: Arc<bazaar_services::pii::Vault>,
    /// Cancelled when the node's stop is about to run out of time for requests: long changes
    /// (feeds) end early then, so they still end, with their audit records, before the
    /// engine stops taking asks.
    pub stopping: tokio_util::sync::CancellationToken,
    /// Requests that go on apart from their connection (audited changes): a stopping node
    /// waits for them before its engine stops, so a change it began ends with its record.
    pub requests: TaskTracker,
}

/// The order side of a node: orders and the ledger rebuilt from the journal, and the
/// checkout sagas with their payment client. Folds the journal, so it blocks: call it from
/// `spawn_blocking` (inside a tokio runtime, which the payment job needs).
pub struct OrderSide {
    pub sagas: Sagas,
    pub orders: OrderBook,
    pub ledger: Ledger,
    /// Delivers the orders' notices to the tenants' webhooks.
    pub notifier: Notifier,
}

impl OrderSide {
    pub fn start(
        engine: &Engine,
        catalog: &Catalog,
        payments: bazaar_services::payments::PaymentsConfig,
        vat: Arc<bazaar_actors::pricing::VatTable>,
        checkout: bazaar_services::saga::SagasConfig,
        (vault, notifications): (Arc<bazaar_services::pii::Vault>, NotifyConfig),
    ) -> Result<OrderSide, bazaar_engine::EngineError> {
        // Its projections are registered before the order book's fold activates any order.
        let notifier = Notifier::start(engine, notifications);
        let (orders, ledger) = bazaar_services::ledger::start_with_orders(engine)?;
        let payments = bazaar_services::payments::Payments::new(payments);
        let sagas = Sagas::new(
            engine.clone(),
            catalog.clone(),
            payments,
            orders.clone(),
            vat,
            checkout,
            vault,
        );
        Ok(OrderSide { sagas, orders, ledger, notifier })
    }
}

/// Product JSON by tenant and ASIN, with the revision it was rendered from, bounded by bytes
/// (`[gateway] product_page_cache_bytes`; a [`BoundedCache`] named `product_page_cache` in
/// `/metrics`). A page not cached, or rendered from an older revision, is rendered from the
/// read model.
pub struct RenderedProducts {
    pages: BoundedCache<PageKey, Page>,
}

type PageKey = (Arc<str>, bazaar_actors::Asin);

/// A page: the revision it was rendered from, and its JSON.
#[derive(Clone)]
struct Page {
    revision: u64,
    json: axum::body::Bytes,
}

impl Weigh for Page {
    fn weigh(&self) -> u64 {
        (std::mem::size_of::<Page>() + self.json.len()) as u64
    }
}

/// Pages of an average size: how many entries the cache sizes its table for.
const PAGE_BYTES_TYPICAL: u64 = 1_500;

impl RenderedProducts {
    /// A cache of at most `bytes` of pages.
    pub fn new(bytes: u64) -> RenderedProducts {
        RenderedProducts {
            pages: BoundedCache::new("product_page_cache", bytes, PAGE_BYTES_TYPICAL),
        }
    }

    /// The JSON of `view` at its revision, rendered by `render` if not cached yet.
    pub fn get_or_render(
        &self,
        tenant: &Arc<str>,
        asin: &bazaar_actors::Asin,
        revision: u64,
        render: impl FnOnce() -> axum::body::Bytes,
    ) -> axum::body::Bytes {
        let found =
            self.pages.get_if(&TextPair(tenant, asin.as_str()), |page| page.revision == revision);
        if let Some(page) = found {
            return page.json;
        }
        let json = render();
        self.pages.insert((tenant.clone(), asin.clone()), Page { revision, json: json.clone() });
        json
    }

    /// Bytes of pages cached.
    pub fn bytes(&self) -> u64 {
        self.pages.bytes()
    }
}

impl FromRef<AppState> for Arc<Credentials> {
    fn from_ref(state: &AppState) -> Arc<Credentials> {
        state.credentials.clone()
    }
}

impl FromRef<AppState> for Arc<RateLimits> {
    fn from_ref(state: &AppState) -> Arc<RateLimits> {
        state.limits.clone()
    }
}

impl FromRef<AppState> for OpsState {
    fn from_ref(state: &AppState) -> OpsState {
        state.ops.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_stays_within_its_bytes_and_a_new_revision_renders_again() {
        let cache = RenderedProducts::new(64 * 1024);
        let tenant: Arc<str> = "t".into();
        let page = axum::body::Bytes::from(vec![b'x'; 1_000]);
        for n in 0..1_000 {
            let asin = bazaar_actors::Asin::parse(&format!("B{n:09}")).unwrap();
            cache.get_or_render(&tenant, &asin, 1, || page.clone());
        }
        let bytes = cache.bytes();
        assert!(bytes <= 64 * 1024 && bytes > 32 * 1024, "{bytes} bytes cached");
        let asin = bazaar_actors::Asin::parse("B000000001").unwrap();
        let first = cache.get_or_render(&tenant, &asin, 2, || "two".into());
        let again = cache.get_or_render(&tenant, &asin, 2, || panic!("cached"));
        assert_eq!((first, again), ("two".into(), "two".into()));
        let newer = cache.get_or_render(&tenant, &asin, 3, || "three".into());
        assert_eq!(newer, "three");
    }
}
