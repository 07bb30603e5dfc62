//! What every handler can reach.

use std::sync::Arc;

use axum::extract::FromRef;
use bazaar_actors::catalog::Catalog;
use bazaar_engine::Engine;

use crate::auth::Credentials;
use crate::config::PricingConfig;
use crate::ops::OpsState;
use crate::rate_limit::RateLimits;

#[derive(Clone)]
pub struct AppState {
    pub engine: Engine,
    pub catalog: Catalog,
    pub credentials: Arc<Credentials>,
    pub limits: Arc<RateLimits>,
    pub pricing: Arc<PricingConfig>,
    pub ops: OpsState,
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
