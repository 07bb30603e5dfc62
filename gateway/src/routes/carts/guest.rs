//! A visitor's cart: created without an account, opened with its guest token, merged into
//! the customer's cart at sign-in (`merge_cart`).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use bazaar_actors::cart::{Cart, CartCommand, CartOwner, GuestToken};
use bazaar_actors::keys;
use utoipa_axum::router::OpenApiRouter;

use super::dto::{CartWritten, GuestCartCreated, NewCart, NewItem, PriceParams, PricedCartDto};
use super::{Holder, add, answer, priced};
use crate::extract::{Path, Query};
use crate::json::{Body, reply};
use crate::openapi::routes;
use crate::problem::{Problem, invalid, not_found, unauthenticated};
use crate::state::AppState;

/// A visitor without an account: the tenant it shops in (`x-tenant`, a tenant the node knows)
/// and, for an existing guest cart, the cart's token (`x-guest-token`).
pub(crate) struct Guest {
    tenant: Arc<str>,
    token: Option<GuestToken>,
}

impl axum::extract::FromRequestParts<AppState> for Guest {
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Guest, Problem> {
        let header =
            |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        let tenant =
            header("x-tenant").filter(|t| state.credentials.knows_tenant(t)).ok_or_else(|| {
                unauthenticated(
                    "unknown_tenant",
                    "send x-tenant naming a tenant of this marketplace",
                )
            })?;
        let tenant: Arc<str> = tenant.into();
        state.limits.tenant(&tenant)?;
        let token = header("x-guest-token")
            .map(|t| GuestToken::parse(&t).map_err(|_| not_found("cart")))
            .transpose()?;
        Ok(Guest { tenant, token })
    }
}

impl Guest {
    fn holder(&self) -> Result<Holder, Problem> {
        let token = self.token.clone().ok_or_else(|| not_found("cart"))?;
        Ok(Holder { tenant: self.tenant.clone(), owner: CartOwner::Guest(token) })
    }
}

pub fn guest_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_guest_cart))
        .routes(routes!(get_guest_cart))
        .routes(routes!(add_guest_item))
}

/// Creates a cart for a visitor without an account (no bearer token; `x-tenant` names the
/// marketplace).
#[utoipa::path(post, path = "/v1/guest/carts", tag = "carts", request_body = NewCart,
    params(("x-tenant" = String, Header)),
    responses((status = 201, body = GuestCartCreated), (status = 401, body = Problem, content_type = "application/problem+json")))]
async fn create_guest_cart(
    State(state): State<AppState>,
    guest: Guest,
    Body(new): Body<NewCart>,
) -> Result<Response, Problem> {
    let currency = crate::dto::currency(&new.currency)?;
    let token = GuestToken::parse(&crate::auth::new_token()[4..])
        .map_err(|e| invalid(e.code(), e.to_string()))?;
    let id = keys::new_cart_id(crate::auth::random());
    let command = CartCommand::Create { owner: CartOwner::Guest(token.clone()), currency };
    answer(state.engine.ask::<Cart>(&keys::cart(&guest.tenant, &id), command).await)?;
    Ok(reply(StatusCode::CREATED, &GuestCartCreated { id, guest_token: token.to_string() }))
}

/// A guest cart, priced now.
#[utoipa::path(get, path = "/v1/guest/carts/{id}", tag = "carts",
    params(("id" = String, Path), ("x-tenant" = String, Header), ("x-guest-token" = String, Header), PriceParams),
    responses((status = 200, body = PricedCartDto), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn get_guest_cart(
    State(state): State<AppState>,
    guest: Guest,
    Path(id): Path<String>,
    Query(params): Query<PriceParams>,
) -> Result<Json<PricedCartDto>, Problem> {
    priced(&state, &guest.holder()?, &id, params).await
}

/// Adds units of a product to a guest cart.
#[utoipa::path(post, path = "/v1/guest/carts/{id}/items", tag = "carts", request_body = NewItem,
    params(("id" = String, Path), ("x-tenant" = String, Header), ("x-guest-token" = String, Header)),
    responses((status = 200, body = CartWritten), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`no_offer`: no such offer on this product", body = Problem, content_type = "application/problem+json")))]
async fn add_guest_item(
    State(state): State<AppState>,
    guest: Guest,
    Path(id): Path<String>,
    Body(item): Body<NewItem>,
) -> Result<Json<CartWritten>, Problem> {
    add(&state, &guest.holder()?, &id, item).await
}
