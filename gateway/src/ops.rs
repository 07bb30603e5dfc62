//! Operational endpoints: liveness, readiness and Prometheus metrics.
//!
//! `/healthz` answers as soon as the process serves HTTP; `/readyz` only once recovery has
//! finished (and no longer once shutdown has begun), so a load balancer sends no traffic to a
//! node that cannot answer yet.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::PrometheusHandle;

use crate::problem::Problem;

/// Whether this node takes traffic: set once recovery is done, cleared when shutdown begins.
#[derive(Debug, Clone, Default)]
pub struct Readiness(Arc<AtomicBool>);

impl Readiness {
    pub fn set(&self, ready: bool) {
        self.0.store(ready, Ordering::Release);
    }

    pub fn is_ready(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

#[derive(Clone)]
pub struct OpsState {
    pub readiness: Readiness,
    pub metrics: PrometheusHandle,
}

pub fn router(state: OpsState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(state)
        // Served before the rest of the API is (and beside it): the same net under its answers.
        .layer(axum::middleware::map_response(crate::stack::as_problem))
}

/// Liveness: the process serves HTTP.
#[utoipa::path(get, path = "/healthz", tag = "ops", responses((status = 200, description = "ok", body = String)))]
pub(crate) async fn healthz() -> &'static str {
    "ok\n"
}

/// Readiness: recovery is done and shutdown has not begun.
#[utoipa::path(get, path = "/readyz", tag = "ops",
    responses((status = 200, description = "ready", body = String), (status = 503, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn readyz(State(state): State<OpsState>) -> Response {
    if state.readiness.is_ready() {
        "ready\n".into_response()
    } else {
        Problem::not_ready("recovering or shutting down").into_response()
    }
}

/// Metrics in the Prometheus text format.
#[utoipa::path(get, path = "/metrics", tag = "ops", responses((status = 200, description = "Prometheus text", body = String, content_type = "text/plain")))]
pub(crate) async fn metrics(State(state): State<OpsState>) -> Response {
    let mut response = state.metrics.render().into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4"));
    response
}
