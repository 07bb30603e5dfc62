//! The seller API: profile, catalog documents, own offers, own inventory and feeds. A seller
//! sees and changes only its own: another seller's offer or SKU answers 404.

use std::collections::HashMap;
use std::sync::Arc;

use crate::openapi::routes;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bazaar_actors::inventory::{Inventory, InventoryCommand, InventoryId, StockLevel};
use bazaar_actors::keys;
use bazaar_actors::product::{Product, ProductCommand, ProductReply};
use bazaar_actors::seller::{Seller, SellerCommand, SellerRejection};
use bazaar_actors::{Asin, LocationCode, SellerId, Sku};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

use super::answer;
use crate::auth::Principal;
use crate::dto::{self, BuyBoxView, NewProductDto, OfferDto, OfferView};
use crate::extract::{Ndjson, Path};
use crate::json::{Body, reply};
use crate::limits::FEED_CONCURRENCY_MAX;
use crate::limits::{
    FEED_BODY_BYTES_MAX, FEED_DETAIL_BYTES_MAX, FEED_LINES_MAX, FEED_REFUSALS_BYTES_MAX,
};
use crate::problem::{Problem, ProblemKind, bad_request, conflict, internal, invalid, not_found};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(put_profile, get_profile))
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
    let command = ProductCommand::CreateOrUpdateDocument { document, currency, by };
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
            conflict("seller_not_registered", "register with PUT /v1/seller/profile first")
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
    Problem::of(
        ProblemKind::NotFound,
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
#[derive(Debug)]
pub struct FeedLineResult {
    /// From 1.
    pub line: usize,
    /// The HTTP status the line would have had on its own.
    pub status: u16,
    pub code: Option<String>,
    pub detail: Option<String>,
}

/// A feed's answer: how many lines were applied and refused, and which were refused (each
/// line stands on its own: a refused line does not stop the others). The answer's size is
/// bounded whatever the feed's length, so it can be stored under an `Idempotency-Key` and
/// replayed as it was: accepted lines are counted, not listed (read their stock back with
/// `GET /v1/seller/inventory/{sku}/{location}`), and refused lines are listed in file order
/// until the answer reaches its bound, the rest counted in `refused_lines_omitted`.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeedAnswer {
    /// Lines applied.
    pub accepted: usize,
    /// Lines refused.
    pub refused: usize,
    /// The first refused lines, in file order.
    pub refused_lines: Vec<RefusedLine>,
    /// Refused lines past the last one listed: fix the listed ones and send the feed again
    /// (lines already applied are then stale, and refused as such).
    pub refused_lines_omitted: usize,
}

/// One refused line of a feed.
#[derive(Debug, Serialize, ToSchema)]
pub struct RefusedLine {
    /// From 1, counting blank lines.
    pub line: usize,
    /// The HTTP status the line would have had on its own.
    pub status: u16,
    /// The problem code the line would have had on its own.
    pub code: String,
    /// Why, cut to at most 200 bytes.
    pub detail: String,
}

/// The answer to a feed whose lines ended as `results` (in any order).
fn feed_answer(mut results: Vec<FeedLineResult>) -> FeedAnswer {
    results.sort_by_key(|result| result.line);
    let accepted = results.iter().filter(|r| r.status == 200).count();
    let mut answer = FeedAnswer {
        accepted,
        refused: results.len() - accepted,
        refused_lines: Vec::new(),
        refused_lines_omitted: 0,
    };
    let mut bytes = 0;
    for result in results.into_iter().filter(|r| r.status != 200) {
        let refused = RefusedLine {
            line: result.line,
            status: result.status,
            code: result.code.unwrap_or_default(),
            detail: cut(result.detail.unwrap_or_default(), FEED_DETAIL_BYTES_MAX),
        };
        let size = serde_json::to_vec(&refused).map_or(usize::MAX, |json| json.len() + 1);
        if answer.refused_lines_omitted == 0 && bytes + size <= FEED_REFUSALS_BYTES_MAX {
            bytes += size;
            answer.refused_lines.push(refused);
        } else {
            answer.refused_lines_omitted += 1;
        }
    }
    answer
}

/// `text` cut to at most `max` bytes, at a character boundary.
fn cut(mut text: String, max: usize) -> String {
    if text.len() > max {
        let end = (0..=max).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
        text.truncate(end);
    }
    text
}

/// The feed's route (the `utoipa::path` below spells it again: attributes take literals only;
/// a test checks they agree).
pub const FEED_PATH: &str = "/v1/seller/inventory:feed";

/// Applies an NDJSON warehouse feed, one `{"sku","location","quantity","feed_seq"}` per line.
/// Every line is answered on its own; a bad line does not sink the others. Lines for the same
/// SKU and location are applied in file order.
#[utoipa::path(post, path = "/v1/seller/inventory:feed", tag = "seller",
    request_body(content = Vec<FeedLine>, content_type = "application/x-ndjson",
        description = "NDJSON: one `FeedLine` object per line (the schema shows the lines as an array)"),
    responses((status = 200, body = FeedAnswer), (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "feed_empty, feed_too_long", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn inventory_feed(
    State(state): State<AppState>,
    principal: Principal,
    Ndjson(body): Ndjson,
) -> Result<Response, Problem> {
    principal.seller()?;
    let text = std::str::from_utf8(&body)
        .map_err(|_| bad_request("malformed_ndjson", "the feed is not UTF-8"))?;
    let lines: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty())
        .collect();
    if lines.is_empty() {
        return Err(invalid("feed_empty", "a feed has at least one line"));
    }
    if lines.len() > FEED_LINES_MAX {
        return Err(invalid("feed_too_long", format!("a feed has at most {FEED_LINES_MAX} lines")));
    }
    // Lines for one inventory entity run in file order, one after the other (of two with the
    // same sequence the first wins, deterministically); different entities run concurrently.
    let mut groups: Vec<Vec<(usize, Result<FeedLine, Problem>)>> = Vec::new();
    let mut group_of: HashMap<(String, String), usize> = HashMap::new();
    for (number, line) in lines {
        let parsed = crate::json::from_slice::<FeedLine>(line.as_bytes());
        let group = match &parsed {
            Ok(line) => {
                *group_of.entry((line.sku.clone(), line.location.clone())).or_insert_with(|| {
                    groups.push(Vec::new());
                    groups.len() - 1
                })
            }
            Err(_) => {
                groups.push(Vec::new());
                groups.len() - 1
            }
        };
        groups[group].push((number, parsed));
    }
    let gate = Arc::new(tokio::sync::Semaphore::new(FEED_CONCURRENCY_MAX));
    let mut tasks = tokio::task::JoinSet::new();
    for group in groups {
        let (state, principal, gate) = (state.clone(), principal.clone(), gate.clone());
        tasks.spawn(async move {
            let _permit = gate.acquire_owned().await;
            let mut results = Vec::with_capacity(group.len());
            for (number, parsed) in group {
                results.push(feed_line(&state, &principal, number, parsed).await);
            }
            results
        });
    }
    let answer = feed_answer(tasks.join_all().await.into_iter().flatten().collect());
    Ok(reply(StatusCode::OK, &answer).into_response())
}

/// Applies one feed line and answers its outcome.
async fn feed_line(
    state: &AppState,
    principal: &Principal,
    number: usize,
    parsed: Result<FeedLine, Problem>,
) -> FeedLineResult {
    let outcome = match parsed {
        Err(problem) => {
            Err(Problem::of(ProblemKind::Invalid, "invalid_line", "Invalid line", problem.detail))
        }
        Ok(line) => {
            let on_hand = OnHandDto { quantity: line.quantity, feed_seq: line.feed_seq };
            set_on_hand(state, principal, &line.sku, &line.location, on_hand).await
        }
    };
    match outcome {
        Ok(_) => FeedLineResult { line: number, status: 200, code: None, detail: None },
        Err(problem) => FeedLineResult {
            line: number,
            status: problem.status(),
            code: Some(problem.code.into()),
            detail: Some(problem.detail),
        },
    }
}
