//! Shopping carts: a customer's own (another's answers 404), priced on every read with the
//! current offers, promotions and VAT, and held (reserved) before checkout.

use std::sync::Arc;

use crate::openapi::routes;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use bazaar_actors::cart::{
    Cart, CartCommand, CartLine, CartOwner, CartReply, CartView, GuestToken, LineFlag, OfferChoice,
    PricedCartView, ProductFacts,
};
use bazaar_actors::inventory::Held;
use bazaar_actors::keys;
use bazaar_actors::pricing::Declined;
use bazaar_actors::promotion::CouponCode;
use bazaar_actors::{Asin, CountryCode, Money, Quantity, SellerId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;

use super::{answer, found};
use crate::auth::Principal;
use crate::dto::{self, MoneyDto};
use crate::extract::{Path, Query};
use crate::json::{Body, Optional, reply};
use crate::problem::{Problem, conflict, invalid, not_found, unauthenticated};
use crate::state::AppState;
use bazaar_actors::limits::{CART_HOLD_TTL_S_DEFAULT, CART_HOLD_TTL_S_MAX};
use bazaar_services::catalog::PriceTerms;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_cart))
        .routes(routes!(get_cart))
        .routes(routes!(add_item))
        .routes(routes!(change_item, remove_item))
        .routes(routes!(merge_cart))
        .routes(routes!(reserve_cart, release_cart))
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

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCart {
    #[schema(schema_with = crate::fields::currency)]
    pub currency: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CartCreated {
    pub id: String,
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
    let currency = dto::currency(&new.currency)?;
    let id = keys::new_cart_id(crate::auth::random());
    let command = CartCommand::Create { owner: CartOwner::Customer(customer), currency };
    answer(state.engine.ask::<Cart>(&keys::cart(&principal.tenant, &id), command).await)?;
    Ok(reply(StatusCode::CREATED, &CartCreated { id }))
}

/// Where the cart ships and which coupons the customer entered.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PriceParams {
    /// ISO 3166 alpha-2 destination; the marketplace default if absent.
    #[param(schema_with = crate::fields::country)]
    country: Option<String>,
    /// Coupon codes, comma-separated.
    #[param(schema_with = crate::fields::coupon_list)]
    coupons: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PricedCartDto {
    pub id: String,
    pub currency: String,
    pub revision: u64,
    pub country: String,
    pub lines: Vec<CartLineDto>,
    pub totals: TotalsDto,
    pub promotions_applied: Vec<AppliedDto>,
    pub promotions_declined: Vec<DeclinedDto>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CartLineDto {
    pub asin: String,
    /// The seller chosen when the line was added; absent means "the buy box".
    pub chosen_seller: Option<String>,
    /// The seller the line buys from now (absent when it is no longer available).
    pub seller: Option<String>,
    pub quantity: u32,
    /// `price_changed` (with `was` and `now`) or `no_longer_available`.
    pub flags: Vec<FlagDto>,
    pub unit_price: Option<MoneyDto>,
    pub subtotal: Option<MoneyDto>,
    pub discount: Option<MoneyDto>,
    pub shipping: Option<MoneyDto>,
    pub net: Option<MoneyDto>,
    pub vat_rate_bps: Option<u16>,
    pub vat: Option<MoneyDto>,
    pub total: Option<MoneyDto>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FlagDto {
    pub flag: String,
    pub was: Option<MoneyDto>,
    pub now: Option<MoneyDto>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TotalsDto {
    pub subtotal: MoneyDto,
    pub discount: MoneyDto,
    pub shipping: MoneyDto,
    pub shipping_discount: MoneyDto,
    pub net: MoneyDto,
    pub vat: MoneyDto,
    pub total: MoneyDto,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AppliedDto {
    pub promotion: String,
    pub amount: MoneyDto,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeclinedDto {
    pub promotion: Option<String>,
    pub coupon: Option<String>,
    pub reason: String,
}

fn money(m: Money) -> MoneyDto {
    m.into()
}

fn priced_dto(
    id: &str,
    cart: &CartView,
    country: CountryCode,
    view: PricedCartView,
) -> PricedCartDto {
    let lines = view
        .lines
        .into_iter()
        .map(|line| {
            let flags = line
                .flags
                .iter()
                .map(|flag| match flag {
                    LineFlag::PriceChanged { was, now } => FlagDto {
                        flag: "price_changed".into(),
                        was: Some(money(*was)),
                        now: Some(money(*now)),
                    },
                    LineFlag::NoLongerAvailable => {
                        FlagDto { flag: "no_longer_available".into(), was: None, now: None }
                    }
                })
                .collect();
            let priced = line.priced.as_ref();
            CartLineDto {
                asin: line.line.asin.to_string(),
                chosen_seller: match &line.line.offer {
                    OfferChoice::BuyBox => None,
                    OfferChoice::Seller(seller) => Some(seller.to_string()),
                },
                seller: line.seller.map(|s| s.to_string()),
                quantity: line.line.quantity.get(),
                flags,
                unit_price: priced.map(|p| money(p.unit_price)),
                subtotal: priced.map(|p| money(p.subtotal)),
                discount: priced.map(|p| money(p.discount)),
                shipping: priced.map(|p| {
                    money(p.shipping.checked_sub(p.shipping_discount).unwrap_or(p.shipping))
                }),
                net: priced.map(|p| money(p.net)),
                vat_rate_bps: priced.map(|p| p.vat_rate_bps),
                vat: priced.map(|p| money(p.vat)),
                total: priced.map(|p| money(p.total)),
            }
        })
        .collect();
    let t = view.totals;
    PricedCartDto {
        id: id.to_string(),
        currency: cart.currency.to_string(),
        revision: cart.revision,
        country: country.as_str().to_string(),
        lines,
        totals: TotalsDto {
            subtotal: money(t.subtotal),
            discount: money(t.discount),
            shipping: money(t.shipping),
            shipping_discount: money(t.shipping_discount),
            net: money(t.net),
            vat: money(t.vat),
            total: money(t.total),
        },
        promotions_applied: view
            .applied
            .into_iter()
            .map(|a| AppliedDto { promotion: a.id.to_string(), amount: money(a.amount) })
            .collect(),
        promotions_declined: view
            .declined
            .into_iter()
            .map(|d| match d {
                Declined::Promotion { id, reason } => DeclinedDto {
                    promotion: Some(id.to_string()),
                    coupon: None,
                    reason: format!("{reason:?}"),
                },
                Declined::CodeUnknown { code } => DeclinedDto {
                    promotion: None,
                    coupon: Some(code.to_string()),
                    reason: "CodeUnknown".into(),
                },
            })
            .collect(),
    }
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
        Some(code) => dto::id(CountryCode::parse(code))?,
        None => state.pricing.default_country,
    };
    let coupons = params
        .coupons
        .iter()
        .flat_map(|list| list.split(','))
        .filter(|code| !code.trim().is_empty())
        .map(|code| dto::id(CouponCode::normalize(code)))
        .collect::<Result<Vec<_>, _>>()?;
    let terms = PriceTerms {
        destination: country,
        coupons: &coupons,
        vat: &state.pricing.vat,
        now_ms: state.engine.clock().now_ms(),
    };
    let view = state
        .catalog
        .pricing(&holder.tenant, &cart)
        .price(&cart, terms)
        .map_err(|rejection| crate::problem::rejection(&rejection))?;
    Ok(Json(priced_dto(id, &cart, country, view)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewItem {
    #[schema(schema_with = crate::fields::asin)]
    pub asin: String,
    /// Buy from this seller; absent means "whoever holds the buy box".
    #[schema(schema_with = crate::fields::seller_id_option)]
    pub seller: Option<String>,
    #[serde(deserialize_with = "crate::fields::cart_quantity::deserialize")]
    #[schema(schema_with = crate::fields::cart_quantity::schema)]
    pub quantity: u32,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemChange {
    #[schema(schema_with = crate::fields::seller_id_option)]
    pub seller: Option<String>,
    #[serde(deserialize_with = "crate::fields::cart_quantity::deserialize")]
    #[schema(schema_with = crate::fields::cart_quantity::schema)]
    pub quantity: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CartWritten {
    pub id: String,
    pub revision: u64,
    pub lines: usize,
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
        Some(seller) => OfferChoice::Seller(dto::id(SellerId::parse(seller))?),
    };
    let quantity = Quantity::new(quantity)
        .ok_or_else(|| invalid("quantity_invalid", "quantity must be at least 1"))?;
    Ok((asin, offer, quantity))
}

async fn write(
    state: &AppState,
    key: &str,
    id: &str,
    command: CartCommand,
) -> Result<Json<CartWritten>, Problem> {
    let reply = answer(state.engine.ask::<Cart>(key, command).await)?;
    Ok(Json(written(id, &reply)))
}

/// What a write answers: the cart's id, revision and number of lines after it.
fn written(id: &str, reply: &CartReply) -> CartWritten {
    CartWritten { id: id.to_string(), revision: reply.cart.revision, lines: reply.cart.lines.len() }
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
    let (key, _) = held_cart(state, holder, id).await?;
    let (asin, offer, quantity) = line_of(&item.asin, item.seller.as_deref(), item.quantity)?;
    let (seen_unit_price, seen_available) = seen(state, &holder.tenant, &asin, &offer)?;
    write(
        state,
        &key,
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
    let (key, _) = own_cart(&state, &principal, &id).await?;
    let (asin, offer, quantity) = line_of(&asin, change.seller.as_deref(), change.quantity)?;
    let (seen_unit_price, seen_available) = seen(&state, &principal.tenant, &asin, &offer)?;
    write(
        &state,
        &key,
        &id,
        CartCommand::ChangeQuantity { asin, offer, quantity, seen_unit_price, seen_available },
    )
    .await
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LineParams {
    /// The seller of the line; absent means the buy-box line.
    #[param(schema_with = crate::fields::seller_id)]
    seller: Option<String>,
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
    let (key, _) = own_cart(&state, &principal, &id).await?;
    let (asin, offer, _) = line_of(&asin, params.seller.as_deref(), 1)?;
    write(&state, &key, &id, CartCommand::RemoveLine { asin, offer }).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeDto {
    /// Another cart whose lines join this one (it is then emptied): one of the customer's
    /// own, or a guest cart together with its `guest_token` (a visitor who signs in).
    #[schema(schema_with = crate::fields::cart_id)]
    pub from: String,
    pub guest_token: Option<String>,
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

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HoldDto {
    /// How long to hold the units, in seconds (default 900, at most 3600).
    #[serde(default, deserialize_with = "crate::fields::hold_ttl_s::deserialize_option")]
    #[schema(schema_with = crate::fields::hold_ttl_s::schema_option)]
    pub ttl_s: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HoldAnswer {
    pub cart: String,
    pub lines: Vec<HeldLine>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HeldLine {
    pub asin: String,
    pub seller: String,
    pub sku: String,
    pub location: String,
    pub quantity: u32,
    pub expires_at_ms: u64,
}

impl From<Held> for HeldLine {
    fn from(held: Held) -> HeldLine {
        HeldLine {
            asin: held.asin.to_string(),
            seller: held.seller.to_string(),
            sku: held.sku.to_string(),
            location: held.location.to_string(),
            quantity: held.quantity.get(),
            expires_at_ms: held.expires_at_ms,
        }
    }
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
    let lines: Vec<CartLine> = cart.lines.clone();
    match state.catalog.reserve_cart(&principal.tenant, &id, &lines, ttl_s * 1000).await {
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
    own_cart(&state, &principal, &id).await?;
    state.catalog.release_cart(&principal.tenant, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

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

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct GuestCartCreated {
    pub id: String,
    /// Proves the cart is the visitor's: send it as `x-guest-token`, and as `guest_token`
    /// when merging the cart into a customer's after sign-in.
    pub guest_token: String,
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
    let currency = dto::currency(&new.currency)?;
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
