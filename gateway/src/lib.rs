//! Bazaar's HTTP gateway: the only crate that knows HTTP, JSON DTOs and problem+json.
//! Handlers turn requests into engine asks and read models; errors leave through
//! [`problem::Problem`]. The OpenAPI document (`/openapi.json`) is generated from the handlers'
//! annotations and the request fields' rules ([`fields`]), and completed by [`openapi`] with
//! what every route of a kind answers, so it cannot drift from the routes.
//!
//! Architecture invariant: no business rule lives here; a handler checks the shape of a
//! request and who sends it, asks, and maps the answer.

pub mod audit;
pub mod auth;
pub mod config;
pub mod dto;
pub mod fields;
pub mod idempotency;
pub mod json;
pub mod limits;
pub mod openapi;
pub mod ops;
pub mod problem;
pub mod rate_limit;
pub mod routes;
mod stack;
pub mod state;

use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

pub use config::GatewayConfig;
pub use ops::{OpsState, Readiness};
pub use problem::Problem;
pub use state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "Bazaar", description = "An actor-based, sharded, in-memory marketplace engine"),
    modifiers(&BearerAuth),
    paths(ops::healthz, ops::readyz, ops::metrics, openapi_json),
    components(schemas(Problem)),
    tags(
        (name = "catalog", description = "Products and search, for every principal of a tenant"),
        (name = "carts", description = "A customer's carts, priced and held"),
        (name = "checkout", description = "Checking out a cart, once per Idempotency-Key"),
        (name = "orders", description = "A customer's orders, with payment and tracking"),
        (name = "seller", description = "A seller's profile, offers, inventory and orders"),
        (name = "admin", description = "Operators"),
        (name = "ops", description = "Health, readiness, metrics and this document"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        let scheme = HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build();
        components.add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

/// This document: the API's contract, generated from the handlers.
#[utoipa::path(get, path = "/openapi.json", tag = "ops", responses((status = 200, description = "OpenAPI 3.1 document")))]
async fn openapi_json(
    axum::Extension(spec): axum::Extension<Arc<utoipa::openapi::OpenApi>>,
) -> axum::Json<utoipa::openapi::OpenApi> {
    axum::Json(spec.as_ref().clone())
}

/// The routes whose retried mutations the shared `Idempotency-Key` middleware answers.
fn keyed_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(routes::catalog::router())
        .merge(routes::carts::router())
        .merge(routes::carts::guest_router())
        .merge(routes::seller::router())
        .merge(routes::orders::router())
        .merge(routes::payments::router())
        .merge(routes::admin::router())
        .merge(routes::promotions::admin_router())
        .merge(routes::promotions::seller_router())
}

/// The routes keyed by the `Idempotency-Key` themselves: a checkout is an entity per key, so a
/// retry, or concurrent copies, meet it and answer alike (the middleware would answer 409).
fn self_keyed_routes() -> OpenApiRouter<AppState> {
    routes::checkouts::router()
}

/// The routes and the document that describes them: the annotations' parts, completed by
/// [`openapi`] with what every route of a kind answers.
fn parts() -> (Router<AppState>, Router<AppState>, utoipa::openapi::OpenApi) {
    let (keyed, mut openapi) =
        OpenApiRouter::with_openapi(ApiDoc::openapi()).merge(keyed_routes()).split_for_parts();
    openapi::keyed(&mut openapi);
    let (self_keyed, mut self_keyed_doc) = self_keyed_routes().split_for_parts();
    openapi::checkout_key(&mut self_keyed_doc);
    openapi.merge(self_keyed_doc);
    openapi::complete(&mut openapi);
    (keyed, self_keyed, openapi)
}

/// The OpenAPI document `/openapi.json` serves.
pub fn document() -> utoipa::openapi::OpenApi {
    parts().2
}

/// The whole HTTP surface of a node.
pub fn app(state: AppState) -> Router {
    let (keyed, self_keyed, openapi) = parts();
    let openapi = Arc::new(openapi);
    let ops = ops::router(state.ops.clone());
    let router = keyed
        .layer(axum::middleware::from_fn_with_state(state.clone(), idempotency::layer))
        .merge(self_keyed)
        .route("/openapi.json", get(openapi_json).layer(axum::Extension(openapi)))
        .layer(axum::middleware::from_fn_with_state(state.clone(), audit::layer))
        .with_state(state)
        .merge(ops);
    stack::layered(router)
}
