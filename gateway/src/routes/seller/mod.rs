//! The seller API: profile, catalog documents and own offers here; own inventory
//! (`inventory.rs`), inventory feeds (`feed.rs`) and listings feeds (`listings.rs`). A seller sees and changes only its own:
//! another seller's offer or SKU answers 404.

mod feed;
mod inventory;
mod listings;
mod statement;

pub use feed::{FEED_PATH, FeedAnswer, FeedLine, FeedLineResult, RefusedLine};
pub use inventory::{OnHandDto, StockDto};
pub use listings::{LISTINGS_FEED_PATH, ListingLine};

/// What one request of a route may take: its body's bytes and its time. The bulk feeds get
/// their own; every other route the usual ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteLimits {
    pub body_bytes: usize,
    pub time_ms: u64,
}

impl RouteLimits {
    /// The limits of the route at `path` (a request's path or its route's template).
    pub fn of(path: &str) -> RouteLimits {
        use crate::limits::{
            BODY_BYTES_MAX, FEED_BODY_BYTES_MAX, FEED_TIMEOUT_MS, LISTINGS_FEED_BODY_BYTES_MAX,
            REQUEST_TIMEOUT_MS,
        };
        match path {
            FEED_PATH => RouteLimits { body_bytes: FEED_BODY_BYTES_MAX, time_ms: FEED_TIMEOUT_MS },
            LISTINGS_FEED_PATH => {
                RouteLimits { body_bytes: LISTINGS_FEED_BODY_BYTES_MAX, time_ms: FEED_TIMEOUT_MS }
            }
            _ => RouteLimits { body_bytes: BODY_BYTES_MAX, time_ms: REQUEST_TIMEOUT_MS },
        }
    }
}

use std::sync::Arc;

use crate::openapi::routes;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use bazaar_actors::keys;
use bazaar_actors::product::OfferTerms;
use bazaar_actors::product::{Product, ProductCommand, ProductReply};
use bazaar_actors::seller::SellerScore;
use bazaar_actors::seller::{Seller, SellerCommand, SellerRejection, SellerView};
use bazaar_actors::{Asin, SellerId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

use super::answer;
use crate::auth::Principal;
use crate::dto::{self, BuyBoxView, NewProductDto, OfferDto, OfferView};
use crate::extract::Path;
use crate::json::{Body, reply};
use crate::problem::{Problem, conflict, internal, not_found};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(put_profile, get_profile))
        .routes(routes!(put_product))
        .routes(routes!(put_offer, get_offer, delete_offer))
        .merge(inventory::router())
        .merge(feed::router())
        .merge(listings::router())
        .merge(statement::router())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileDto {
    /// Printable text, at most 128 bytes of UTF-8.
    #[schema(schema_with = crate::fields::seller_name)]
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SellerDto {
    pub seller: String,
    pub name: String,
    /// `good`, `at_risk` or `suspended`; set by the marketplace.
    pub standing: String,
}

impl SellerDto {
    pub(crate) fn of(seller: &impl std::fmt::Display, view: SellerView) -> SellerDto {
        SellerDto {
            seller: seller.to_string(),
            name: view.name,
            standing: standing_name(view.score.standing).into(),
        }
    }
}

/// Registers the seller, or renames it.
#[utoipa::path(put, path = "/v1/seller/profile", tag = "seller", request_body = ProfileDto,
    responses((status = 200, body = SellerDto), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn put_profile(
    State(state): State<AppState>,
    principal: Principal,
    Body(profile): Body<ProfileDto>,
) -> Result<Json<SellerDto>, Problem> {
    let seller = principal.seller()?;
    let id = keys::seller(&principal.tenant, &seller);
    let name = profile.name.clone();
    let register = match state.sellers.verification_required {
        true => SellerCommand::Apply { name },
        false => SellerCommand::Register { name },
    };
    let view = match state.engine.ask::<Seller>(&id, register).await {
        Ok(Err(SellerRejection::AlreadyRegistered)) => answer(
            state
                .engine
                .ask::<Seller>(&id, SellerCommand::UpdateProfile { name: profile.name })
                .await,
        )?,
        other => answer(other)?,
    };
    Ok(Json(SellerDto::of(&seller, view)))
}

/// The seller's own profile, as `PUT /v1/seller/profile` wrote it.
#[utoipa::path(get, path = "/v1/seller/profile", tag = "seller",
    responses((status = 200, body = SellerDto),
        (status = 404, description = "seller_not_registered", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn get_profile(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<SellerDto>, Problem> {
    let seller = principal.seller()?;
    let id = keys::seller(&principal.tenant, &seller);
    let view = answer(state.engine.ask::<Seller>(&id, SellerCommand::Get).await)?;
    Ok(Json(SellerDto::of(&seller, view)))
}

fn standing_name(standing: bazaar_actors::seller::Standing) -> &'static str {
    use bazaar_actors::seller::Standing;
    match standing {
        Standing::Good => "good",
        Standing::AtRisk => "at_risk",
        Standing::Suspended => "suspended",
        Standing::Applied => "applied",
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProductWritten {
    pub asin: String,
    pub revision: u64,
}

/// Creates a product in the catalog, or updates its document. The seller who creates a
/// product owns its catalog document: only that seller may change it; any other seller may
/// only offer on the product (`PUT /v1/seller/offers/{asin}`) and is refused 403
/// `not_product_owner`.
#[utoipa::path(post, path = "/v1/seller/products", tag = "seller", request_body = NewProductDto,
    responses((status = 201, body = ProductWritten), (status = 200, body = ProductWritten),
        (status = 403, description = "not_product_owner: the document is another seller's", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn put_product(
    State(state): State<AppState>,
    principal: Principal,
    Body(product): Body<NewProductDto>,
) -> Result<Response, Problem> {
    let by = principal.seller()?;
    let asin = dto::id(Asin::parse(&product.asin))?;
    let currency = dto::currency(&product.currency)?;
    let existed = state.catalog.product(&principal.tenant, &asin).is_some();
    let document = product.document.into();
    let required = state.catalog.required_attributes(&document);
    let command = ProductCommand::CreateOrUpdateDocument { document, currency, by, required };
    let changed = changed(answer(
        state.engine.ask::<Product>(&keys::product(&principal.tenant, &asin), command).await,
    )?)?;
    let status = if existed { StatusCode::OK } else { StatusCode::CREATED };
    Ok(reply(status, &ProductWritten { asin: asin.to_string(), revision: changed.revision }))
}

fn changed(reply: ProductReply) -> Result<bazaar_actors::product::ProductChange, Problem> {
    match reply {
        ProductReply::Changed(change) => Ok(change),
        ProductReply::Product(_) => Err(internal("unexpected product reply")),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OfferWritten {
    pub asin: String,
    pub revision: u64,
    /// The buy box after the change.
    pub buy_box: Option<BuyBoxView>,
}

/// Lists or revises the seller's own offer on a product.
#[utoipa::path(put, path = "/v1/seller/offers/{asin}", tag = "seller", request_body = OfferDto,
    params(("asin" = String, Path)),
    responses((status = 200, body = OfferWritten), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn put_offer(
    State(state): State<AppState>,
    principal: Principal,
    Path(asin): Path<String>,
    Body(offer): Body<OfferDto>,
) -> Result<Json<OfferWritten>, Problem> {
    let seller = principal.seller()?;
    let asin = Asin::parse(&asin).map_err(|_| not_found("product"))?;
    let (terms, score) = offer_terms(&state, &principal.tenant, &seller, offer)?;
    state.limits.seller_price(&principal.tenant, &Arc::from(seller.as_str()))?;
    let signal = price_signal(&state, &principal.tenant, (&seller, &asin), terms.price);
    let seller_id = seller.clone();
    let command = ProductCommand::PutOffer { seller, terms, score };
    let change = changed(answer(
        state.engine.ask::<Product>(&keys::product(&principal.tenant, &asin), command).await,
    )?)?;
    if let Some(signal) = signal {
        super::cases::raise(&state, &principal.tenant, signal);
    }
    if change.offer_added {
        super::cases::listed(&state, &principal.tenant, &seller_id);
    }
    Ok(Json(OfferWritten {
        asin: asin.to_string(),
        revision: change.revision,
        buy_box: change.buy_box.as_ref().map(BuyBoxView::from),
    }))
}

/// The price-drop signal of `seller` pricing its offer on `asin` at `price`, against the
/// product as last read (its offer's previous price, the other offers' prices).
fn price_signal(
    state: &AppState,
    tenant: &str,
    (seller, asin): (&SellerId, &Asin),
    price: bazaar_actors::Money,
) -> Option<bazaar_actors::seller::cases::Signal> {
    let product = state.catalog.product(tenant, asin);
    let offers = product.as_ref().map(|product| product.offers.as_slice()).unwrap_or_default();
    let previous = offers.iter().find(|o| o.seller == *seller).map(|o| o.terms.price);
    let others: Vec<_> =
        offers.iter().filter(|o| o.seller != *seller).map(|o| o.terms.price).collect();
    let subject = (seller, asin.as_str());
    bazaar_actors::seller::signals::price_drop(&state.sellers, subject, previous, price, &others)
}

/// The terms of `seller`'s offer as `offer` asks, with its units from inventory when the
/// request leaves them out, and the seller's current score; the seller must be registered.
fn offer_terms(
    state: &AppState,
    tenant: &str,
    seller: &SellerId,
    offer: OfferDto,
) -> Result<(OfferTerms, SellerScore), Problem> {
    let mut terms = offer.into_terms()?;
    if terms.available_unset {
        // Stock comes from inventory: a price change keeps the units the seller has.
        terms.terms.available =
            state.catalog.stock_total(tenant, seller, &terms.terms.sku).unwrap_or(0);
    }
    let score = state
        .catalog
        .seller(tenant, seller)
        .ok_or_else(|| {
            conflict("seller_not_registered", "register with PUT /v1/seller/profile first")
        })?
        .score;
    Ok((terms.terms, score))
}

/// The seller's own offer on a product, as shoppers see it, with the listing's status.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListingView {
    #[serde(flatten)]
    pub offer: OfferView,
    /// `active` (it may win the buy box) or `suppressed`.
    pub status: String,
    /// Why it is suppressed: `out_of_stock`, `seller_at_risk`, `seller_suspended`,
    /// `seller_not_verified`, `condition_not_new`, `price_outside_range` (more than three
    /// times above or below the median price of the product's offers in stock, once three
    /// are: a likely pricing error), `missing_attributes` (the product's document lacks
    /// what its category requires: `missing_attributes` names them).
    pub suppressed_because: Vec<String>,
    /// The attributes the product's category requires that its document lacks.
    pub missing_attributes: Vec<String>,
}

/// The seller's own offer on a product, and whether it is active or suppressed (and why).
#[utoipa::path(get, path = "/v1/seller/offers/{asin}", tag = "seller", params(("asin" = String, Path)),
    responses((status = 200, body = ListingView), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn get_offer(
    State(state): State<AppState>,
    principal: Principal,
    Path(asin): Path<String>,
) -> Result<Json<ListingView>, Problem> {
    let seller = principal.seller()?;
    let asin = Asin::parse(&asin).map_err(|_| not_found("offer"))?;
    let view = state.catalog.product(&principal.tenant, &asin).ok_or_else(|| not_found("offer"))?;
    let offer = view
        .offers
        .iter()
        .find(|offer| offer.seller == seller)
        .ok_or_else(|| not_found("offer"))?;
    let terms = view.terms();
    let reasons = bazaar_actors::product::suppressions(offer, terms);
    Ok(Json(ListingView {
        missing_attributes: view.missing_attributes.clone(),
        offer: OfferView::of(offer, terms),
        status: if reasons.is_empty() { "active" } else { "suppressed" }.to_owned(),
        suppressed_because: reasons.iter().map(|r| r.code().to_owned()).collect(),
    }))
}

/// Withdraws the seller's own offer.
#[utoipa::path(delete, path = "/v1/seller/offers/{asin}", tag = "seller", params(("asin" = String, Path)),
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn delete_offer(
    State(state): State<AppState>,
    principal: Principal,
    Path(asin): Path<String>,
) -> Result<StatusCode, Problem> {
    let seller = principal.seller()?;
    let asin = Asin::parse(&asin).map_err(|_| not_found("offer"))?;
    if state
        .catalog
        .product(&principal.tenant, &asin)
        .is_none_or(|view| view.offers.iter().all(|o| o.seller != seller))
    {
        return Err(not_found("offer"));
    }
    let command = ProductCommand::WithdrawOffer { seller };
    answer(state.engine.ask::<Product>(&keys::product(&principal.tenant, &asin), command).await)?;
    Ok(StatusCode::NO_CONTENT)
}
