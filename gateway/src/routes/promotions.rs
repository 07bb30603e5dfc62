//! Promotions: operators create marketplace-wide ones (any scope); sellers create ones on
//! their own offers only. Carts are priced with every promotion of the tenant; the pricing
//! function decides which apply (window, coupon, scope, minimum, stacking).

use std::collections::BTreeSet;

use crate::openapi::routes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use bazaar_actors::keys;
use bazaar_actors::promotion::{
    Benefit, CouponCode, Promotion, PromotionCommand, PromotionDefinition, PromotionId,
    RedemptionLimits, Scope, Window,
};
use bazaar_actors::{Asin, Quantity, SellerId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

use super::answer;
use crate::auth::Principal;
use crate::dto::{self, AmountDto, PriceDto};
use crate::extract::Path;
use crate::json::{Body, reply};
use crate::problem::{Problem, invalid, not_found};
use crate::state::AppState;

pub fn admin_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_marketplace_promotion))
        .routes(routes!(end_marketplace_promotion))
}

pub fn seller_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_seller_promotion))
}

/// What the promotion takes off.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, tag = "type", rename_all = "snake_case")]
pub enum BenefitDto {
    /// Percent off each covered line, in basis points (1000 = 10%).
    PercentOff {
        #[serde(deserialize_with = "crate::fields::percent_bps::deserialize")]
        #[schema(schema_with = crate::fields::percent_bps::schema)]
        bps: u16,
    },
    /// An amount off, split over the covered lines.
    AmountOff {
        #[serde(deserialize_with = "crate::json::object")]
        amount: PriceDto,
    },
    /// Buy `buy` units of one product, get `get` more free (the cheapest).
    BuyXGetY {
        #[serde(deserialize_with = "crate::fields::buy_get_units::deserialize")]
        #[schema(schema_with = crate::fields::buy_get_units::schema)]
        buy: u32,
        #[serde(deserialize_with = "crate::fields::buy_get_units::deserialize")]
        #[schema(schema_with = crate::fields::buy_get_units::schema)]
        get: u32,
    },
    /// Free shipping on covered lines once they reach `threshold` after discounts.
    FreeShipping {
        #[serde(deserialize_with = "crate::json::object")]
        threshold: AmountDto,
    },
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PromotionDto {
    /// 1 to 64 of letters, digits, `-`, `_`, `.`. A seller's promotion is answered as
    /// `{seller}:{id}`.
    #[schema(schema_with = crate::fields::promotion_id)]
    pub id: String,
    /// Internally tagged, so parsed through `json::object` (see `json`).
    #[serde(deserialize_with = "crate::json::object")]
    pub benefit: BenefitDto,
    /// Milliseconds since the Unix epoch; before `ends_ms`.
    #[serde(deserialize_with = "crate::fields::epoch_ms::deserialize")]
    #[schema(schema_with = crate::fields::epoch_ms::schema)]
    pub starts_ms: u64,
    #[serde(deserialize_with = "crate::fields::epoch_ms::deserialize")]
    #[schema(schema_with = crate::fields::epoch_ms::schema)]
    pub ends_ms: u64,
    /// A code the customer must enter; none means automatic.
    #[schema(schema_with = crate::fields::coupon_option)]
    pub coupon: Option<String>,
    /// Limit to these products (operators only may also name a seller or nothing: the whole
    /// marketplace).
    #[serde(default)]
    pub asins: Vec<String>,
    /// Operators only: limit to one seller's offers.
    #[schema(schema_with = crate::fields::seller_id_option)]
    pub seller: Option<String>,
    #[serde(default)]
    pub stackable: bool,
    #[serde(default, deserialize_with = "crate::fields::priority::deserialize")]
    #[schema(schema_with = crate::fields::priority::schema)]
    pub priority: u16,
    /// Least spend on covered lines, before discounts.
    pub minimum: Option<PriceDto>,
    #[serde(deserialize_with = "crate::fields::redemptions::deserialize")]
    #[schema(schema_with = crate::fields::redemptions::schema)]
    pub total_redemptions: u32,
    /// At most `total_redemptions`.
    #[serde(deserialize_with = "crate::fields::redemptions::deserialize")]
    #[schema(schema_with = crate::fields::redemptions::schema)]
    pub redemptions_per_customer: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PromotionCreated {
    pub id: String,
}

fn definition(
    dto: PromotionDto,
    scope: Scope,
) -> Result<(PromotionId, PromotionDefinition), Problem> {
    let id = dto::id(PromotionId::name(&dto.id))?;
    let units = |n: u32| {
        Quantity::new(n)
            .ok_or_else(|| invalid("quantity_invalid", "buy and get must be at least 1"))
    };
    let benefit = match dto.benefit {
        BenefitDto::PercentOff { bps } => Benefit::PercentOff { bps },
        BenefitDto::AmountOff { amount } => Benefit::AmountOff { amount: amount.into_money()? },
        BenefitDto::BuyXGetY { buy, get } => {
            Benefit::BuyXGetY { buy: units(buy)?, get: units(get)? }
        }
        BenefitDto::FreeShipping { threshold } => {
            Benefit::FreeShipping { threshold: threshold.into_money()? }
        }
    };
    let coupon =
        dto.coupon.as_deref().map(|code| dto::id(CouponCode::normalize(code))).transpose()?;
    let minimum = dto.minimum.map(PriceDto::into_money).transpose()?;
    let definition = PromotionDefinition {
        benefit,
        window: Window { starts_ms: dto.starts_ms, ends_ms: dto.ends_ms },
        coupon,
        scope,
        stackable: dto.stackable,
        priority: dto.priority,
        minimum,
        limits: RedemptionLimits {
            total: dto.total_redemptions,
            per_customer: dto.redemptions_per_customer,
        },
    };
    Ok((id, definition))
}

fn asins(list: &[String]) -> Result<BTreeSet<Asin>, Problem> {
    list.iter().map(|asin| dto::id(Asin::parse(asin))).collect()
}

async fn create(
    state: &AppState,
    principal: &Principal,
    id: PromotionId,
    definition: PromotionDefinition,
) -> Result<Response, Problem> {
    let key = keys::promotion(&principal.tenant, &id);
    answer(state.engine.ask::<Promotion>(&key, PromotionCommand::Create { definition }).await)?;
    Ok(reply(StatusCode::CREATED, &PromotionCreated { id: id.to_string() }))
}

/// Creates a marketplace promotion (operators).
#[utoipa::path(post, path = "/admin/promotions", tag = "admin", request_body = PromotionDto,
    responses((status = 201, body = PromotionCreated), (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn create_marketplace_promotion(
    State(state): State<AppState>,
    principal: Principal,
    Body(dto): Body<PromotionDto>,
) -> Result<Response, Problem> {
    let scope = match (&dto.seller, dto.asins.is_empty()) {
        (Some(_), false) => {
            return Err(invalid("scope_invalid", "name a seller or products, not both"));
        }
        (Some(seller), true) => Scope::Seller(dto::id(SellerId::parse(seller))?),
        (None, false) => Scope::Asins(asins(&dto.asins)?),
        (None, true) => Scope::Marketplace,
    };
    let (id, definition) = definition(dto, scope)?;
    create(&state, &principal, id, definition).await
}

/// Ends a promotion now, for good (operators).
#[utoipa::path(delete, path = "/admin/promotions/{id}", tag = "admin", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn end_marketplace_promotion(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    let id = PromotionId::parse(&id).map_err(|_| not_found("promotion"))?;
    answer(
        state
            .engine
            .ask::<Promotion>(&keys::promotion(&principal.tenant, &id), PromotionCommand::End)
            .await,
    )?;
    Ok(StatusCode::NO_CONTENT)
}

/// Creates a promotion on the seller's own offers (all of them, or the products named).
#[utoipa::path(post, path = "/v1/seller/promotions", tag = "seller", request_body = PromotionDto,
    responses((status = 201, body = PromotionCreated), (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn create_seller_promotion(
    State(state): State<AppState>,
    principal: Principal,
    Body(dto): Body<PromotionDto>,
) -> Result<Response, Problem> {
    let seller = dto::id(SellerId::parse(&principal.id))?;
    if dto.seller.is_some() {
        return Err(invalid("scope_invalid", "a seller's promotion always covers its own offers"));
    }
    if !dto.asins.is_empty() {
        // Asins scope would cover other sellers' offers of those products: refuse it.
        return Err(invalid(
            "scope_invalid",
            "a seller's promotion covers all its offers; per-product seller promotions are not supported yet",
        ));
    }
    // Promotion ids are per tenant: a seller's are `{seller}:{name}` (see `PromotionId`), so
    // sellers can neither collide with nor overwrite one another's, nor the marketplace's.
    let seller_id = seller.clone();
    let (name, definition) = definition(dto, Scope::Seller(seller))?;
    let id = PromotionId::of_seller(&seller_id, &name);
    create(&state, &principal, id, definition).await
}
