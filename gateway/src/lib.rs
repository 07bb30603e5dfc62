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
pub mod extract;
pub mod fields;
pub mod idempotency;
pub mod json;
pub mod limits;
pub mod listener;
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

use auth::Role;
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
        (name = "catalog", description = "Products and search, for every principal of a tenant. \
A product read shows every acknowledged change of the product itself. Two parts follow other \
entities and may lag: a product's available units and buy box follow its SKUs' inventory \
(a stock change reaches them in tens of milliseconds; under a 100,000-line feed the p99 \
stays under a second), and search \
follows products (refreshed at least every 500 ms, after that lag for stock)."),
        (name = "carts", description = "A customer's carts, priced and held"),
        (name = "checkout", description = "Checking out a cart, once per Idempotency-Key"),
        (name = "orders", description = "A customer's orders, with payment and tracking"),
        (name = "customers", description = "A customer's own profile and the erasure of its \
personal data (GDPR). Personal data is sealed with the customer's key before it is stored; \
erasure destroys the key"),
        (name = "seller", description = "A seller's profile, offers, inventory and orders"),
        (name = "support", description = "Customer service: a customer and its orders, notes on \
an order, cancelling one before it ships, refunds and goodwill, erasure on a customer's request"),
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

/// The routes, each group for one role (`None`: any authenticated role), and whether the
/// shared `Idempotency-Key` middleware answers their retried mutations. Checkouts are keyed
/// by the `Idempotency-Key` themselves: a checkout is an entity per key, so a retry, or
/// concurrent copies, meet it and answer alike (the middleware would answer 409).
fn route_groups() -> Vec<(Option<Role>, bool, OpenApiRouter<AppState>)> {
    use routes::*;
    vec![
        (None, true, catalog::router()),
        (Some(Role::Customer), true, carts::router()),
        (Some(Role::Customer), true, orders::router()),
        (Some(Role::Customer), true, webhooks::timeline_router()),
        (Some(Role::Customer), true, returns::router()),
        (Some(Role::Customer), false, checkouts::router()),
        (Some(Role::Customer), true, checkouts::challenge_router()),
        (Some(Role::Customer), true, customers::router()),
        (Some(Role::Seller), true, seller::router()),
        (Some(Role::Seller), true, orders::seller_router()),
        (Some(Role::Seller), true, cancellations::seller_router()),
        (Some(Role::Seller), true, shipping::seller_router()),
        (Some(Role::Seller), true, returns::seller_router()),
        (Some(Role::Seller), true, promotions::seller_router()),
        (Some(Role::Support), true, support::router()),
        (Some(Role::Support), true, returns::support_router()),
        (Some(Role::Support), true, cases::router()),
        (Some(Role::Support), true, customers::support_router()),
        (Some(Role::Operator), true, admin::router()),
        (Some(Role::Operator), true, payments::router()),
        (Some(Role::Operator), true, webhooks::admin_router()),
        (Some(Role::Operator), true, promotions::admin_router()),
    ]
}

/// Who a group of routes is for: guests (no token: the route decides), or one role (`None`:
/// any authenticated role).
#[derive(Clone, Copy)]
enum Audience {
    Guests,
    Role(Option<Role>),
}

/// A group of routes behind its guard: the audit trail's record ([`audit::audited`]) around
/// the rest, then [`auth::admit`] (for a role), then the refusal of
/// a query string the operation does not declare ([`undeclared_query`]), then (if `keyed`) the
/// idempotency middleware, then the route's extractors ([`document`] names the role as the
/// scope of each operation's bearer requirement). One layer, not three: a layer clones the
/// route under it on every request.
fn guarded(
    state: &AppState,
    audience: Audience,
    keyed: bool,
    group: OpenApiRouter<AppState>,
) -> OpenApiRouter<AppState> {
    let plain = Arc::new(plain_operations(&group));
    let state = state.clone();
    group.route_layer(axum::middleware::from_fn(
        move |request: axum::extract::Request, next: axum::middleware::Next| {
            let (state, plain) = (state.clone(), plain.clone());
            async move {
                let audit_state = state.clone();
                audit::audited(&audit_state, request, move |request| async move {
                    let request = match audience {
                        Audience::Role(role) => match auth::admit(&state, role, request).await {
                            Ok(request) => request,
                            Err(refusal) => return refusal,
                        },
                        Audience::Guests => request,
                    };
                    if let Some(refusal) = undeclared_query(&plain, &request) {
                        return refusal;
                    }
                    if keyed {
                        idempotency::layer(axum::extract::State(state), request, next).await
                    } else {
                        next.run(request).await
                    }
                })
                .await
            }
        },
    ))
}

/// The operations (method, path template) of `group` whose document declares no query
/// parameter; the others refuse unknown parameters in their `Query` extractor (every query
/// DTO denies unknown fields).
fn plain_operations(
    group: &OpenApiRouter<AppState>,
) -> std::collections::HashSet<(axum::http::Method, String)> {
    use utoipa::openapi::RefOr;
    use utoipa::openapi::path::{Operation, ParameterIn};
    let takes_query = |operation: &Operation| {
        operation.parameters.iter().flatten().any(|parameter| match parameter {
            RefOr::T(parameter) => parameter.parameter_in == ParameterIn::Query,
            // A shared parameter, perhaps of the query: leave it to the route.
            RefOr::Ref(_) => true,
        })
    };
    let mut plain = std::collections::HashSet::new();
    for (path, item) in &group.get_openapi().paths.paths {
        let operations = [
            (axum::http::Method::GET, &item.get),
            (axum::http::Method::PUT, &item.put),
            (axum::http::Method::POST, &item.post),
            (axum::http::Method::DELETE, &item.delete),
            (axum::http::Method::PATCH, &item.patch),
        ];
        for (method, operation) in operations {
            if operation.as_ref().is_some_and(|operation| !takes_query(operation)) {
                plain.insert((method, path.clone()));
            }
        }
    }
    plain
}

/// 400 `invalid_query` for a query string on an operation of `plain`. A request without a
/// query string (nearly every one) is passed without a look at its route.
fn undeclared_query(
    plain: &std::collections::HashSet<(axum::http::Method, String)>,
    request: &axum::extract::Request,
) -> Option<axum::response::Response> {
    if request.uri().query().is_none_or(str::is_empty) {
        return None;
    }
    let matched = request.extensions().get::<axum::extract::MatchedPath>()?;
    if !plain.contains(&(request.method().clone(), matched.as_str().to_owned())) {
        return None;
    }
    let detail = "this route takes no query parameters";
    Some(axum::response::IntoResponse::into_response(problem::bad_request("invalid_query", detail)))
}

/// Sets every operation's security requirement to a bearer token of `role` (OpenAPI 3.1
/// lets a non-OAuth requirement list the roles it needs; none means any role).
fn document_role(openapi: &mut utoipa::openapi::OpenApi, role: Option<Role>) {
    use utoipa::openapi::security::SecurityRequirement;
    let scopes: Vec<&str> = role.map(Role::as_str).into_iter().collect();
    for item in openapi.paths.paths.values_mut() {
        for operation in openapi::operations(item) {
            operation.security = Some(vec![SecurityRequirement::new("bearer", scopes.clone())]);
        }
    }
}

/// Each group's part of the document: its role as the bearer scope, and the key it is
/// retried with (the shared `Idempotency-Key` middleware's, or the checkout's own).
fn document_group(role: Option<Role>, keyed: bool, group: &mut OpenApiRouter<AppState>) {
    let openapi = group.get_openapi_mut();
    document_role(openapi, role);
    if keyed { openapi::keyed(openapi) } else { openapi::checkout_key(openapi) }
}

/// The OpenAPI document `/openapi.json` serves: the annotations of every group, completed by
/// [`openapi`] with what every route of a kind answers.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut guests = routes::carts::guest_router();
    openapi::keyed(guests.get_openapi_mut());
    let mut document = ApiDoc::openapi();
    document.merge(guests.split_for_parts().1);
    // Signed by the caller, not authenticated by a token: no security requirement.
    document.merge(routes::shipping::callback_router().split_for_parts().1);
    for (role, keyed, mut group) in route_groups() {
        document_group(role, keyed, &mut group);
        document.merge(group.split_for_parts().1);
    }
    openapi::complete(&mut document);
    document
}

/// The whole HTTP surface of a node.
pub fn app(state: AppState) -> Router {
    let guests = guarded(&state, Audience::Guests, true, routes::carts::guest_router());
    let callbacks = routes::shipping::callback_router().split_for_parts().0;
    let routes = route_groups().into_iter().fold(guests.split_for_parts().0, |all, group| {
        let (role, keyed, group) = group;
        all.merge(guarded(&state, Audience::Role(role), keyed, group).split_for_parts().0)
    });
    let openapi = document();
    let openapi = Arc::new(openapi);
    let ops = ops::router(state.ops.clone());
    let router = routes
        .merge(callbacks)
        .route("/openapi.json", get(openapi_json).layer(axum::Extension(openapi)))
        .with_state(state)
        .merge(ops);
    stack::layered(router)
}
