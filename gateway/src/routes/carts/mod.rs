//! Shopping carts: a customer's own (another's answers 404), priced on every read with the
//! current offers, promotions and VAT, and held (reserved) before checkout (`hold.rs`); a
//! visitor's cart before sign-in (`guest.rs`). The shapes on the wire are in `dto.rs`.

mod dto;
mod guest;
mod hold;

pub use dto::*;
use dto::{priced_dto, written};
pub use guest::guest_router;

use std::sync::Arc;

use crate::openapi::routes;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use bazaar_actors::cart::{
    Cart, CartCommand, CartOwner, CartRejection, CartReply, CartView, GuestToken, OfferChoice,
    ProductFacts,
};
use bazaar_actors::keys;
use bazaar_actors::promotion::CouponCode;
use bazaar_actors::{Asin, CountryCode, Money, Quantity, SellerId};
use utoipa_axum::router::OpenApiRouter;

use super::{answer, found};
use crate::auth::Principal;
use crate::extract::{Path, Query};
use crate::json::{Body, reply};
use crate::problem::{Problem, conflict, invalid, not_found};
use crate::state::AppState;
use bazaar_services::catalog::PriceTerms;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_cart))
        .routes(routes!(get_cart))
        .routes(routes!(add_item))
        .routes(routes!(change_item, remove_item))
        .routes(routes!(merge_cart))
        .merge(hold::router())
}

/// Who may use a cart, as the request proves it: a customer (bearer token) or a guest (the
/// cart's guest token).
pub(crate) struct Holder {
    tenant: Arc<str>,
    owner: CartOwner,
}

impl Holder {
    fn customer(principal: &Principal) -> Result<Holder, Problem> {
        Ok(Holder {
            tenant: principal.tenant.clone(),
            owner: CartOwner::Customer(principal.customer()?),
        })
    }
}

/// The cart, if `holder` owns it; anyone else's (or none) is not found.
async fn held_cart(
    state: &AppState,
    holder: &Holder,
    id: &str,
) -> Result<(String, CartView), Problem> {
    let key = cart_key(&holder.tenant, id)?;
    let reply: CartReply = found(state.engine.ask::<Cart>(&key, CartCommand::Get).await, "cart")?;
    if reply.cart.owner == holder.owner { Ok((key, reply.cart)) } else { Err(not_found("cart")) }
}

/// The entity id of cart `id`; an id that is not a cart id is not found.
fn cart_key(tenant: &str, id: &str) -> Result<String, Problem> {
    if !keys::is_cart_id(id) {
        return Err(not_found("cart"));
    }
    Ok(keys::cart(tenant, id))
}

/// The cart, if it is the principal's own.
async fn own_cart(
    state: &AppState,
    principal: &Principal,
    id: &str,
) -> Result<(String, CartView), Problem> {
    held_cart(state, &Holder::customer(principal)?, id).await
}

/// Creates an empty cart for the calling customer.
#[utoipa::path(post, path = "/v1/carts", tag = "carts", request_body = NewCart,
    responses((status = 201, body = CartCreated), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn create_cart(
    State(state): State<AppState>,
    principal: Principal,
    Body(new): Body<NewCart>,
) -> Result<Response, Problem> {
    let customer = principal.customer()?;
    let currency = crate::dto::currency(&new.currency)?;
    let id = keys::new_cart_id(crate::auth::random());
    let command = CartCommand::Create { owner: CartOwner::Customer(customer), currency };
    answer(state.engine.ask::<Cart>(&keys::cart(&principal.tenant, &id), command).await)?;
    Ok(reply(StatusCode::CREATED, &CartCreated { id }))
}

/// The cart priced now: current offers (flagging changed prices and lines no longer
/// available), the tenant's promotions, entered coupons and the destination's VAT.
#[utoipa::path(get, path = "/v1/carts/{id}", tag = "carts", params(("id" = String, Path), PriceParams),
    responses((status = 200, body = PricedCartDto), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn get_cart(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    Query(params): Query<PriceParams>,
) -> Result<Json<PricedCartDto>, Problem> {
    priced(&state, &Holder::customer(&principal)?, &id, params).await
}

/// A cart priced now for its holder.
async fn priced(
    state: &AppState,
    holder: &Holder,
    id: &str,
    params: PriceParams,
) -> Result<Json<PricedCartDto>, Problem> {
    let (_, cart) = held_cart(state, holder, id).await?;
    let country = match &params.country {
        Some(code) => crate::dto::id(CountryCode::parse(code))?,
        None => state.pricing.default_country,
    };
    let coupons = params
        .coupons
        .iter()
        .flat_map(|list| list.split(','))
        .filter(|code| !code.trim().is_empty())
        .map(|code| crate::dto::id(CouponCode::normalize(code)))
        .collect::<Result<Vec<_>, _>>()?;
    let now_ms = state.engine.clock().now_ms();
    let terms =
        PriceTerms { destination: country, coupons: &coupons, vat: &state.pricing.vat, now_ms };
    let view = state
        .catalog
        .pricing(&holder.tenant, &cart)
        .price(&cart, terms)
        .map_err(|rejection| crate::problem::rejection(&rejection))?;
    let delivery = state.sagas.quoted_terms(country);
    Ok(Json(priced_dto(id, &cart, (country, now_ms, delivery), view)))
}

/// What the line's offer costs and whether it is available, as the shopper sees it now.
fn seen(
    state: &AppState,
    tenant: &str,
    asin: &Asin,
    offer: &OfferChoice,
) -> Result<(Money, bool), Problem> {
    let view = state.catalog.product(tenant, asin).ok_or_else(|| not_found("product"))?;
    let facts = ProductFacts::of(&view);
    let offer = match offer {
        OfferChoice::BuyBox => facts.buy_box.as_ref(),
        OfferChoice::Seller(seller) => facts.offers.get(seller),
    }
    .ok_or_else(|| conflict("no_offer", "no such offer on this product"))?;
    Ok((offer.unit_price, offer.available))
}

fn line_of(
    asin: &str,
    seller: Option<&str>,
    quantity: u32,
) -> Result<(Asin, OfferChoice, Quantity), Problem> {
    let asin = Asin::parse(asin).map_err(|_| not_found("product"))?;
    let offer = match seller {
        None => OfferChoice::BuyBox,
        Some(seller) => OfferChoice::Seller(crate::dto::id(SellerId::parse(seller))?),
    };
    let quantity = Quantity::new(quantity)
        .ok_or_else(|| invalid("quantity_invalid", "quantity must be at least 1"))?;
    Ok((asin, offer, quantity))
}

/// Runs `command` on cart `id` if it is `holder`'s, in one ask (`CartCommand::AsOwner`):
/// another's cart is not found, as no cart is.
async fn write(
    state: &AppState,
    holder: &Holder,
    id: &str,
    command: CartCommand,
) -> Result<Json<CartWritten>, Problem> {
    let key = cart_key(&holder.tenant, id)?;
    let command = CartCommand::AsOwner { owner: holder.owner.clone(), command: Box::new(command) };
    let reply = match state.engine.ask::<Cart>(&key, command).await {
        Ok(Err(CartRejection::UnknownCart)) => return Err(not_found("cart")),
        other => answer(other)?,
    };
    Ok(Json(written(id, &reply)))
}

/// Adds units of a product to the cart (to an existing line of the same offer, if any).
#[utoipa::path(post, path = "/v1/carts/{id}/items", tag = "carts", request_body = NewItem, params(("id" = String, Path)),
    responses((status = 200, body = CartWritten), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`no_offer`: no such offer on this product", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn add_item(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    Body(item): Body<NewItem>,
) -> Result<Json<CartWritten>, Problem> {
    add(&state, &Holder::customer(&principal)?, &id, item).await
}

/// Adds a line to a cart of `holder`.
async fn add(
    state: &AppState,
    holder: &Holder,
    id: &str,
    item: NewItem,
) -> Result<Json<CartWritten>, Problem> {
    let (asin, offer, quantity) = line_of(&item.asin, item.seller.as_deref(), item.quantity)?;
    let (seen_unit_price, seen_available) = seen(state, &holder.tenant, &asin, &offer)?;
    write(
        state,
        holder,
        id,
        CartCommand::AddLine { asin, offer, quantity, seen_unit_price, seen_available },
    )
    .await
}

/// Sets the quantity of a line.
#[utoipa::path(put, path = "/v1/carts/{id}/items/{asin}", tag = "carts", request_body = ItemChange,
    params(("id" = String, Path), ("asin" = String, Path)),
    responses((status = 200, body = CartWritten), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`no_offer`: no such offer on this product", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn change_item(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, asin)): Path<(String, String)>,
    Body(change): Body<ItemChange>,
) -> Result<Json<CartWritten>, Problem> {
    let (asin, offer, quantity) = line_of(&asin, change.seller.as_deref(), change.quantity)?;
    let (seen_unit_price, seen_available) = seen(&state, &principal.tenant, &asin, &offer)?;
    write(
        &state,
        &Holder::customer(&principal)?,
        &id,
        CartCommand::ChangeQuantity { asin, offer, quantity, seen_unit_price, seen_available },
    )
    .await
}

/// Removes a line.
#[utoipa::path(delete, path = "/v1/carts/{id}/items/{asin}", tag = "carts",
    params(("id" = String, Path), ("asin" = String, Path), LineParams),
    responses((status = 200, body = CartWritten), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn remove_item(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, asin)): Path<(String, String)>,
    Query(params): Query<LineParams>,
) -> Result<Json<CartWritten>, Problem> {
    let (asin, offer, _) = line_of(&asin, params.seller.as_deref(), 1)?;
    let remove = CartCommand::RemoveLine { asin, offer };
    write(&state, &Holder::customer(&principal)?, &id, remove).await
}

/// Merges another cart into this one (quantities add up, capped at the line limit), then
/// empties the other: one of the customer's own, or a guest cart with its token.
#[utoipa::path(post, path = "/v1/carts/{id}/merge", tag = "carts", request_body = MergeDto, params(("id" = String, Path)),
    responses((status = 200, body = CartWritten), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn merge_cart(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    Body(merge): Body<MergeDto>,
) -> Result<Json<CartWritten>, Problem> {
    let (key, _) = own_cart(&state, &principal, &id).await?;
    let from_holder = match &merge.guest_token {
        None => Holder::customer(&principal)?,
        Some(token) => Holder {
            tenant: principal.tenant.clone(),
            owner: CartOwner::Guest(GuestToken::parse(token).map_err(|_| not_found("cart"))?),
        },
    };
    let (from_key, from) = held_cart(&state, &from_holder, &merge.from).await?;
    let reply = answer(bazaar_services::carts::merge(&state.engine, &key, &from_key, from).await)?;
    Ok(Json(written(&id, &reply)))
}
