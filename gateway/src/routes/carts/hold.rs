//! Holding a cart's units before checkout (all lines or none) and giving them back.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use bazaar_actors::limits::{CART_HOLD_TTL_S_DEFAULT, CART_HOLD_TTL_S_MAX};
use utoipa_axum::router::OpenApiRouter;

use super::dto::{HeldLine, HoldAnswer, HoldDto};
use super::own_cart;
use crate::auth::Principal;
use crate::extract::Path;
use crate::json::{Optional, reply};
use crate::openapi::routes;
use crate::problem::{Problem, invalid};
use crate::state::AppState;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(reserve_cart, release_cart))
}

/// Holds every line's units for a while (all or nothing), as checkout's first step.
#[utoipa::path(post, path = "/v1/carts/{id}/reservation", tag = "carts", request_body = HoldDto, params(("id" = String, Path)),
    responses((status = 201, body = HoldAnswer), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Out of stock: nothing is held", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn reserve_cart(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    Optional(hold): Optional<HoldDto>,
) -> Result<Response, Problem> {
    let (_, cart) = own_cart(&state, &principal, &id).await?;
    let hold = hold.unwrap_or_default();
    let ttl_s = hold.ttl_s.unwrap_or(CART_HOLD_TTL_S_DEFAULT);
    if ttl_s == 0 || ttl_s > CART_HOLD_TTL_S_MAX {
        return Err(invalid(
            "hold_ttl_invalid",
            format!("ttl_s must be 1 to {CART_HOLD_TTL_S_MAX}"),
        ));
    }
    if cart.lines.is_empty() {
        return Err(invalid("cart_empty", "an empty cart holds nothing"));
    }
    match state.catalog.reserve_cart(&principal.tenant, &id, &cart, ttl_s * 1000).await {
        Ok(held) => Ok(reply(
            StatusCode::CREATED,
            &HoldAnswer { cart: id, lines: held.into_iter().map(HeldLine::from).collect() },
        )),
        Err(failure) => Err(failure.into()),
    }
}

/// Gives back what the cart holds.
#[utoipa::path(delete, path = "/v1/carts/{id}/reservation", tag = "carts", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn release_cart(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    let (_, cart) = own_cart(&state, &principal, &id).await?;
    state.catalog.release_cart(&principal.tenant, &id, &cart).await?;
    Ok(StatusCode::NO_CONTENT)
}
