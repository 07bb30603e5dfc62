//! What every handler can reach.

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

/// Product JSON by tenant and ASIN, with the revision it was rendered from. Holds at most one
/// entry per product of the read model.
#[derive(Default)]
pub struct RenderedProducts {
    by_product: dashmap::DashMap<(Arc<str>, bazaar_actors::Asin), (u64, axum::body::Bytes)>,
}

impl RenderedProducts {
    /// The JSON of `view` at its revision, rendered by `render` if not cached yet.
    pub fn get_or_render(
        &self,
        tenant: &Arc<str>,
        asin: &bazaar_actors::Asin,
        revision: u64,
        render: impl FnOnce() -> axum::body::Bytes,
    ) -> axum::body::Bytes {
        let key = (tenant.clone(), asin.clone());
        if let Some(entry) = self.by_product.get(&key).filter(|entry| entry.0 == revision) {
            return entry.1.clone();
        }
        let bytes = render();
        self.by_product.insert(key, (revision, bytes.clone()));
        bytes
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
