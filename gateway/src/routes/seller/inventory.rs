//! A seller's own stock: one SKU at one location, set with a feed sequence number so a
//! late or repeated update is stale, never applied twice.

use axum::Json;
use axum::extract::State;
use bazaar_actors::inventory::{Inventory, InventoryCommand, InventoryId, StockLevel};
use bazaar_actors::keys;
use bazaar_actors::{LocationCode, SellerId, Sku};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

use crate::auth::Principal;
use crate::dto;
use crate::extract::Path;
use crate::json::Body;
use crate::openapi::routes;
use crate::problem::{Problem, ProblemKind};
use crate::routes::answer;
use crate::state::AppState;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(put_inventory, get_inventory))
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

pub(super) async fn set_on_hand(
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
