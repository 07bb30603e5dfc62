//! The seller API: profile, catalog documents, own offers, own inventory and feeds. A seller
//! sees and changes only its own: another seller's offer or SKU answers 404.

use std::sync::Arc;

use crate::openapi::routes;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bazaar_actors::catalog::keys;
use bazaar_actors::inventory::{Inventory, InventoryCommand, InventoryId, StockLevel};
use bazaar_actors::product::{Product, ProductCommand, ProductReply};
use bazaar_actors::seller::{Seller, SellerCommand, SellerRejection};
use bazaar_actors::{Asin, LocationCode, SellerId, Sku};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

use super::answer;
use crate::auth::Principal;
use crate::dto::{self, BuyBoxView, NewProductDto, OfferDto, OfferView};
use crate::json::{Body, reply};
use crate::limits::{FEED_BODY_BYTES_MAX, FEED_LINES_MAX};
use crate::problem::{Problem, bad_request, invalid, not_found};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(put_profile))
        .routes(routes!(put_product))
        .routes(routes!(put_offer, get_offer, delete_offer))
        .routes(routes!(put_inventory, get_inventory))
        .merge(
            // A feed may be larger than any other body.
            OpenApiRouter::new()
                .routes(routes!(inventory_feed))
                .layer(axum::extract::DefaultBodyLimit::max(FEED_BODY_BYTES_MAX)),
        )
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
    let register = SellerCommand::Register { name: profile.name.clone() };
    let view = match state.engine.ask::<Seller>(&id, register).await {
        Ok(Err(SellerRejection::AlreadyRegistered)) => answer(
            state
                .engine
                .ask::<Seller>(&id, SellerCommand::UpdateProfile { name: profile.name })
                .await,
        )?,
        other => answer(other)?,
    };
    Ok(Json(SellerDto {
        seller: seller.to_string(),
        name: view.name,
        standing: standing_name(view.score.standing).into(),
    }))
}

pub(crate) fn standing_name(standing: bazaar_actors::seller::Standing) -> &'static str {
    use bazaar_actors::seller::Standing;
    match standing {
        Standing::Good => "good",
        Standing::AtRisk => "at_risk",
        Standing::Suspended => "suspended",
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProductWritten {
    pub asin: String,
    pub revision: u64,
}

/// Creates a product in the catalog, or updates its document.
#[utoipa::path(post, path = "/v1/seller/products", tag = "seller", request_body = NewProductDto,
    responses((status = 201, body = ProductWritten), (status = 200, body = ProductWritten),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn put_product(
    State(state): State<AppState>,
    principal: Principal,
    Body(product): Body<NewProductDto>,
) -> Result<Response, Problem> {
    principal.seller()?;
    let asin = dto::id(Asin::parse(&product.asin))?;
    let currency = dto::currency(&product.currency)?;
    let existed = state.catalog.product(&principal.tenant, &asin).is_some();
    let command =
        ProductCommand::CreateOrUpdateDocument { document: product.document.into(), currency };
    let changed = changed(answer(
        state.engine.ask::<Product>(&keys::product(&principal.tenant, &asin), command).await,
    )?)?;
    let status = if existed { StatusCode::OK } else { StatusCode::CREATED };
    Ok(reply(status, &ProductWritten { asin: asin.to_string(), revision: changed.revision }))
}

fn changed(reply: ProductReply) -> Result<bazaar_actors::product::ProductChange, Problem> {
    match reply {
        ProductReply::Changed(change) => Ok(change),
        ProductReply::Product(_) => Err(Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            "unexpected product reply",
        )),
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
    let mut terms = offer.into_terms()?;
    if terms.available_unset {
        // Stock comes from inventory: a price change keeps the units the seller has.
        terms.terms.available =
            state.catalog.stock_total(&principal.tenant, &seller, &terms.terms.sku).unwrap_or(0);
    }
    let terms = terms.terms;
    let score = state
        .catalog
        .seller(&principal.tenant, &seller)
        .ok_or_else(|| {
            Problem::new(
                StatusCode::CONFLICT,
                "seller_not_registered",
                "Conflict",
                "register with PUT /v1/seller/profile first",
            )
        })?
        .score;
    state.limits.seller_price(&principal.tenant, &Arc::from(seller.as_str()))?;
    let command = ProductCommand::PutOffer { seller, terms, score };
    let change = changed(answer(
        state.engine.ask::<Product>(&keys::product(&principal.tenant, &asin), command).await,
    )?)?;
    Ok(Json(OfferWritten {
        asin: asin.to_string(),
        revision: change.revision,
        buy_box: change.buy_box.as_ref().map(BuyBoxView::from),
    }))
}

/// The seller's own offer on a product.
#[utoipa::path(get, path = "/v1/seller/offers/{asin}", tag = "seller", params(("asin" = String, Path)),
    responses((status = 200, body = OfferView), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn get_offer(
    State(state): State<AppState>,
    principal: Principal,
    Path(asin): Path<String>,
) -> Result<Json<OfferView>, Problem> {
    let seller = principal.seller()?;
    let asin = Asin::parse(&asin).map_err(|_| not_found("offer"))?;
    let view = state.catalog.product(&principal.tenant, &asin).ok_or_else(|| not_found("offer"))?;
    let offer = view
        .offers
        .iter()
        .find(|offer| offer.seller == seller)
        .ok_or_else(|| not_found("offer"))?;
    Ok(Json(OfferView::from(offer)))
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

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OnHandDto {
    /// Units on hand at the location.
    #[serde(deserialize_with = "crate::fields::stock_quantity::deserialize")]
    #[schema(schema_with = crate::fields::stock_quantity::schema)]
    pub quantity: u32,
    /// The warehouse feed's sequence number; a stale one (not above the last applied) is refused.
    #[serde(deserialize_with = "crate::fields::feed_seq::deserialize")]
    #[schema(schema_with = crate::fields::feed_seq::schema)]
    pub feed_seq: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StockDto {
    pub sku: String,
    pub location: String,
    pub on_hand: u32,
    pub reserved: u32,
    pub available: u32,
    pub last_feed_seq: Option<u64>,
}

impl StockDto {
    fn new(id: &InventoryId, stock: &StockLevel) -> StockDto {
        StockDto {
            sku: id.sku.to_string(),
            location: id.location.to_string(),
            on_hand: stock.on_hand,
            reserved: stock.reserved,
            available: stock.available,
            last_feed_seq: stock.last_feed_seq,
        }
    }
}

/// The inventory record of one of the seller's own SKUs (one listed on an offer).
fn own_inventory(
    state: &AppState,
    principal: &Principal,
    sku: &str,
    location: &str,
) -> Result<(SellerId, InventoryId), Problem> {
    let seller = principal.seller()?;
    let sku = Sku::parse(sku).map_err(|_| unknown_sku())?;
    let location = dto::id(LocationCode::parse(location))?;
    if state.catalog.product_of_sku(&principal.tenant, &seller, &sku).is_none() {
        return Err(unknown_sku());
    }
    Ok((seller, InventoryId::new(sku, location)))
}

fn unknown_sku() -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        "unknown_sku",
        "Not found",
        "no offer of yours lists this SKU",
    )
}

async fn set_on_hand(
    state: &AppState,
    principal: &Principal,
    sku: &str,
    location: &str,
    on_hand: OnHandDto,
) -> Result<StockDto, Problem> {
    let (seller, id) = own_inventory(state, principal, sku, location)?;
    let command =
        InventoryCommand::SetOnHand { quantity: on_hand.quantity, feed_seq: on_hand.feed_seq };
    let reply = answer(
        state
            .engine
            .ask::<Inventory>(&keys::inventory(&principal.tenant, &seller, &id), command)
            .await,
    )?;
    Ok(StockDto::new(&id, &reply.stock))
}

/// Sets the units on hand of one of the seller's SKUs at a location.
#[utoipa::path(put, path = "/v1/seller/inventory/{sku}/{location}", tag = "seller", request_body = OnHandDto,
    params(("sku" = String, Path), ("location" = String, Path)),
    responses((status = 200, body = StockDto), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Stale feed_seq", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_id`: the location is not a location code", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn put_inventory(
    State(state): State<AppState>,
    principal: Principal,
    Path((sku, location)): Path<(String, String)>,
    Body(on_hand): Body<OnHandDto>,
) -> Result<Json<StockDto>, Problem> {
    Ok(Json(set_on_hand(&state, &principal, &sku, &location, on_hand).await?))
}

/// The stock of one of the seller's SKUs at a location.
#[utoipa::path(get, path = "/v1/seller/inventory/{sku}/{location}", tag = "seller",
    params(("sku" = String, Path), ("location" = String, Path)),
    responses((status = 200, body = StockDto), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_id`: the location is not a location code", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn get_inventory(
    State(state): State<AppState>,
    principal: Principal,
    Path((sku, location)): Path<(String, String)>,
) -> Result<Json<StockDto>, Problem> {
    let (seller, id) = own_inventory(&state, &principal, &sku, &location)?;
    let reply = answer(
        state
            .engine
            .ask::<Inventory>(
                &keys::inventory(&principal.tenant, &seller, &id),
                InventoryCommand::Get,
            )
            .await,
    )?;
    Ok(Json(StockDto::new(&id, &reply.stock)))
}

/// One line of an inventory feed.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeedLine {
    #[schema(schema_with = crate::fields::sku)]
    pub sku: String,
    #[schema(schema_with = crate::fields::location)]
    pub location: String,
    #[serde(deserialize_with = "crate::fields::stock_quantity::deserialize")]
    #[schema(schema_with = crate::fields::stock_quantity::schema)]
    pub quantity: u32,
    #[serde(deserialize_with = "crate::fields::feed_seq::deserialize")]
    #[schema(schema_with = crate::fields::feed_seq::schema)]
    pub feed_seq: u64,
}

/// The outcome of one feed line.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeedLineResult {
    /// From 1.
    pub line: usize,
    /// The HTTP status the line would have had on its own.
    pub status: u16,
    pub code: Option<String>,
    pub detail: Option<String>,
    pub stock: Option<StockDto>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FeedAnswer {
    pub accepted: usize,
    pub refused: usize,
    pub lines: Vec<FeedLineResult>,
}

/// Lines of one feed applied at once, at most.
const FEED_CONCURRENCY_MAX: usize = 64;

/// Applies an NDJSON warehouse feed, one `{"sku","location","quantity","feed_seq"}` per line.
/// Every line is answered on its own; a bad line does not sink the others.
#[utoipa::path(post, path = "/v1/seller/inventory:feed", tag = "seller",
    request_body(content = Vec<FeedLine>, content_type = "application/x-ndjson",
        description = "NDJSON: one `FeedLine` object per line (the schema shows the lines as an array)"),
    responses((status = 200, body = FeedAnswer), (status = 413, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn inventory_feed(
    State(state): State<AppState>,
    principal: Principal,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, Problem> {
    principal.seller()?;
    let body = body.map_err(|rejection| {
        let detail =
            format!("a feed is at most {FEED_BODY_BYTES_MAX} bytes: {}", rejection.body_text());
        Problem::new(rejection.status(), "body_too_large", "Body too large", detail)
    })?;
    let text = std::str::from_utf8(&body)
        .map_err(|_| bad_request("malformed_ndjson", "the feed is not UTF-8"))?;
    let lines: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty())
        .collect();
    if lines.len() > FEED_LINES_MAX {
        return Err(invalid("feed_too_long", format!("a feed has at most {FEED_LINES_MAX} lines")));
    }
    let gate = Arc::new(tokio::sync::Semaphore::new(FEED_CONCURRENCY_MAX));
    let mut tasks = tokio::task::JoinSet::new();
    for (number, line) in lines {
        let parsed: Result<FeedLine, _> = serde_json::from_str(line);
        let (state, principal, gate) = (state.clone(), principal.clone(), gate.clone());
        tasks.spawn(async move {
            let _permit = gate.acquire_owned().await;
            let outcome = match parsed {
                Err(error) => Err(Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_line",
                    "Invalid line",
                    error.to_string(),
                )),
                Ok(line) => {
                    let on_hand = OnHandDto { quantity: line.quantity, feed_seq: line.feed_seq };
                    set_on_hand(&state, &principal, &line.sku, &line.location, on_hand).await
                }
            };
            match outcome {
                Ok(stock) => FeedLineResult {
                    line: number,
                    status: 200,
                    code: None,
                    detail: None,
                    stock: Some(stock),
                },
                Err(problem) => FeedLineResult {
                    line: number,
                    status: problem.status,
                    code: Some(problem.code.into()),
                    detail: Some(problem.detail),
                    stock: None,
                },
            }
        });
    }
    let mut results = tasks.join_all().await;
    results.sort_by_key(|result| result.line);
    let accepted = results.iter().filter(|r| r.status == 200).count();
    let answer = FeedAnswer { accepted, refused: results.len() - accepted, lines: results };
    Ok(reply(StatusCode::OK, &answer).into_response())
}
