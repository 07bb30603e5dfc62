//! What every handler can reach.

use std::hash::RandomState;
use std::ops::Deref;
use std::sync::Arc;

use axum::extract::FromRef;
use bazaar_engine::Engine;
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
}

impl OrderSide {
    pub fn start(
        engine: &Engine,
        catalog: &Catalog,
        payments: bazaar_services::payments::PaymentsConfig,
        vat: Arc<bazaar_actors::pricing::VatTable>,
        checkout: bazaar_services::saga::SagasConfig,
    ) -> Result<OrderSide, bazaar_engine::EngineError> {
        let (orders, ledger) = bazaar_services::ledger::start_with_orders(engine)?;
        let payments = bazaar_services::payments::Payments::new(payments);
        let sagas =
            Sagas::new(engine.clone(), catalog.clone(), payments, orders.clone(), vat, checkout);
        Ok(OrderSide { sagas, orders, ledger })
    }
}

/// Product JSON by tenant and ASIN, with the revision it was rendered from, bounded by bytes
/// (`[gateway] product_page_cache_bytes`): a size-bounded cache whose eviction (CLOCK-Pro,
/// from `quick_cache`) keeps the products read often over those read once, so a scan of a
/// large catalogue does not push out the hot pages. A page not cached is rendered from the
/// read model. `/metrics` shows its bytes, hits, misses and evictions.
pub struct RenderedProducts {
    pages: quick_cache::sync::Cache<PageKey, Page, PageWeight, RandomState, CountEvictions>,
    /// Metric handles, registered once: a read costs an atomic add, not a registry lookup.
    hits: metrics::Counter,
    misses: metrics::Counter,
    bytes: metrics::Gauge,
}

type PageKey = (Arc<str>, bazaar_actors::Asin);
/// A page's revision and its JSON.
type Page = (u64, axum::body::Bytes);

/// What one cached page costs beyond its JSON: its key, its revision and the cache's entry.
const PAGE_OVERHEAD_BYTES: usize = 128;

/// A page's weight: its bytes in memory.
#[derive(Clone)]
struct PageWeight;

impl quick_cache::Weighter<PageKey, Page> for PageWeight {
    fn weight(&self, (tenant, asin): &PageKey, (_, json): &Page) -> u64 {
        (PAGE_OVERHEAD_BYTES + tenant.len() + asin.as_str().len() + json.len()) as u64
    }
}

/// Counts the pages evicted to make room.
#[derive(Clone)]
struct CountEvictions(metrics::Counter);

impl quick_cache::Lifecycle<PageKey, Page> for CountEvictions {
    type RequestState = ();

    fn begin_request(&self) {}

    fn on_evict(&self, _: &mut (), _: PageKey, _: Page) {
        self.0.increment(1);
    }
}

/// Pages of an average size: how many entries the cache sizes its table for.
const PAGE_BYTES_TYPICAL: u64 = 1_500;

impl RenderedProducts {
    /// A cache of at most `bytes` of pages.
    pub fn new(bytes: u64) -> RenderedProducts {
        let evictions = CountEvictions(metrics::counter!("product_page_cache_evictions_total"));
        let items = usize::try_from(bytes / PAGE_BYTES_TYPICAL).unwrap_or(usize::MAX).max(16);
        let pages = quick_cache::sync::Cache::with(
            items,
            bytes,
            PageWeight,
            RandomState::default(),
            evictions,
        );
        RenderedProducts {
            pages,
            hits: metrics::counter!("product_page_cache_hits_total"),
            misses: metrics::counter!("product_page_cache_misses_total"),
            bytes: metrics::gauge!("product_page_cache_bytes"),
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
        let key = (tenant.clone(), asin.clone());
        if let Some((cached, json)) = self.pages.get(&key)
            && cached == revision
        {
            self.hits.increment(1);
            return json;
        }
        self.misses.increment(1);
        let json = render();
        self.pages.insert(key, (revision, json.clone()));
        self.bytes.set(self.pages.weight() as f64);
        json
    }

    /// Bytes of pages cached.
    pub fn bytes(&self) -> u64 {
        self.pages.weight()
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
