//! Orders: a customer's own (history, one order with its tracking, cancellation before
//! shipping) and a seller's lines (its orders, shipping and delivering its shipments).
//! Another principal's order answers 404.

use crate::idempotency::PersonalData;
use crate::openapi::routes;
use axum::extract::State;
use axum::{Extension, Json};
use bazaar_actors::SellerId;
use bazaar_actors::order::tracking::{ShipmentTracking, TrackingEvent};
use bazaar_actors::order::{
    Order, OrderCommand, OrderId, OrderLine, OrderView, ShipmentView, entity_id, ship_to,
};
use bazaar_services::orders::{OrderSummary, SellerOrderLines};
use bazaar_services::pii::Reader;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

use super::{answer, found};
use crate::auth::Principal;
use crate::dto::{self, MoneyDto};
use crate::extract::Path;
use crate::json::{Body, Optional};
use crate::problem::{Problem, not_found};
use crate::state::AppState;
use bazaar_actors::limits::DISPATCH_TEXT_BYTES_MAX;

/// A customer's own orders.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_orders))
        .routes(routes!(get_order))
        .routes(routes!(cancel_order))
}

/// A seller's order lines and shipments.
pub fn seller_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_seller_orders))
        .routes(routes!(ship))
        .routes(routes!(deliver))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OrderSummaryDto {
    pub id: String,
    pub status: String,
    pub placed_at_ms: u64,
    pub total: MoneyDto,
    pub lines: u16,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OrderDto {
    pub id: String,
    /// `placed`, `partly_shipped`, `shipped`, `delivered`, `cancelled`, `refunded`.
    pub status: String,
    pub placed_at_ms: u64,
    pub lines: Vec<OrderLineDto>,
    pub subtotal: MoneyDto,
    pub discount: MoneyDto,
    pub shipping: MoneyDto,
    pub vat: MoneyDto,
    pub total: MoneyDto,
    pub payment: OrderPaymentDto,
    /// Fraud verdict and the reasons that scored.
    pub fraud: FraudDto,
    pub shipments: Vec<ShipmentDto>,
    /// A cancelled order's units are back on hand.
    pub restocked: bool,
    /// In the order requested.
    pub returns: Vec<super::returns::ReturnDto>,
    /// Goodwill support gave back, in the order granted.
    pub appeasements: Vec<super::support::AppeasementDto>,
    /// Where it goes. An answer that shows it is never stored under an `Idempotency-Key`
    /// (personal data is not stored in clear): a retried change runs again.
    pub ship_to: ShipToDto,
}

/// A delivery address, opened with its customer's key; after the customer's erasure only the
/// country is left.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ShipToDto {
    pub country: String,
    pub name: Option<String>,
    pub line1: Option<String>,
    pub city: Option<String>,
    pub postal_code: Option<String>,
    /// The customer's personal data was erased: the other fields are `null`.
    pub erased: bool,
}

/// `order` as its customer and support see it, its delivery address opened.
pub(crate) async fn read_dto(
    state: &AppState,
    tenant: &str,
    order: &OrderView,
) -> Result<OrderDto, Problem> {
    let reader = state.vault.reader(tenant, order.customer.as_str()).await?;
    Ok(order_dto(order, &reader))
}

fn ship_to_dto(order: &OrderView, reader: &Reader) -> ShipToDto {
    let address = &order.ship_to;
    let open = |field, value| reader.open(field, value).text();
    let (name, line1) = (open(ship_to::NAME, &address.name), open(ship_to::LINE1, &address.line1));
    let (city, postal_code) =
        (open(ship_to::CITY, &address.city), open(ship_to::POSTAL_CODE, &address.postal_code));
    let erased = [&name, &line1, &city, &postal_code].iter().all(|field| field.is_none());
    ShipToDto { country: address.country.to_string(), name, line1, city, postal_code, erased }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OrderLineDto {
    pub asin: String,
    pub seller: String,
    pub location: String,
    pub quantity: u32,
    pub unit_price: MoneyDto,
    pub discount: MoneyDto,
    pub shipping: MoneyDto,
    pub vat_rate_bps: u16,
    pub vat: MoneyDto,
    pub total: MoneyDto,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OrderPaymentDto {
    pub provider: String,
    pub authorized: MoneyDto,
    pub captured: MoneyDto,
    pub refunded: MoneyDto,
    pub voided: bool,
    /// `at_placement`, or `at_shipment` (auth-only mode or a fraud review).
    pub capture: String,
    /// The customer's dispute that the provider settled with a chargeback: the order's
    /// payment is then final (nothing more is shipped, cancelled, returned or refunded).
    pub chargeback: Option<ChargebackDto>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ChargebackDto {
    /// The provider's id of the dispute.
    pub id: String,
    pub amount: MoneyDto,
    /// `fraudulent`, `product_not_received`, `not_as_described`, `duplicate` or `other`.
    pub reason: String,
    /// `sellers` (for what their goods or delivery are blamed for) or `marketplace`.
    pub borne_by: String,
    pub at_ms: u64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FraudDto {
    pub score: u16,
    pub decision: String,
    pub reasons: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ShipmentDto {
    pub number: u16,
    pub seller: String,
    pub location: String,
    /// Indexes into the order's lines.
    pub lines: Vec<u16>,
    pub promised_by_ms: u64,
    pub carrier: Option<String>,
    pub tracking: Option<String>,
    pub shipped_at_ms: Option<u64>,
    pub delivered_at_ms: Option<u64>,
    /// With a label bought through the marketplace: `standard` or `express`.
    pub service_level: Option<String>,
    /// What its carrier reported, in the order it arrived.
    pub tracking_events: Vec<TrackingEventDto>,
}

/// One event a carrier reported about a shipment.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TrackingEventDto {
    /// `picked_up`, `in_transit`, `out_for_delivery`, `delivered` or `exception`.
    pub status: String,
    /// By the carrier's clock.
    pub at_ms: u64,
    pub location: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SellerOrderDto {
    pub id: String,
    pub status: String,
    pub placed_at_ms: u64,
    /// This seller's lines only.
    pub lines: Vec<OrderLineDto>,
    /// This seller's shipments only (numbered as in the order; their `lines` index this
    /// seller's `lines`).
    pub shipments: Vec<ShipmentDto>,
    /// The returns of this seller's shipments (their `lines` index this seller's `lines`).
    pub returns: Vec<super::returns::ReturnDto>,
}

fn line_dto(line: &OrderLine) -> OrderLineDto {
    OrderLineDto {
        asin: line.asin.to_string(),
        seller: line.seller.to_string(),
        location: line.location.to_string(),
        quantity: line.quantity.get(),
        unit_price: line.unit_price.into(),
        discount: line.discount.into(),
        shipping: line.shipping.into(),
        vat_rate_bps: line.vat_rate_bps,
        vat: line.vat.into(),
        total: line.total.into(),
    }
}

fn shipment_dto(shipment: &ShipmentView, tracking: &[ShipmentTracking]) -> ShipmentDto {
    let shipped = shipment.shipped.as_ref();
    let tracking = tracking.iter().find(|tracking| tracking.shipment == shipment.number);
    let event = |event: &TrackingEvent| TrackingEventDto {
        status: event.status.as_str().to_owned(),
        at_ms: event.at_ms,
        location: event.location.clone(),
    };
    ShipmentDto {
        number: shipment.number,
        seller: shipment.seller.to_string(),
        location: shipment.location.to_string(),
        lines: shipment.lines.clone(),
        promised_by_ms: shipment.promised_by_ms,
        carrier: shipped.map(|s| s.carrier.clone()),
        tracking: shipped.map(|s| s.tracking.clone()),
        shipped_at_ms: shipped.map(|s| s.at_ms),
        delivered_at_ms: shipment.delivered_at_ms,
        service_level: tracking.map(|t| t.service_level.clone()).filter(|level| !level.is_empty()),
        tracking_events: tracking.into_iter().flat_map(|t| t.events.iter().map(event)).collect(),
    }
}

fn order_dto(order: &OrderView, reader: &Reader) -> OrderDto {
    let totals = &order.totals;
    OrderDto {
        id: order.id.to_string(),
        status: order.status.as_str().to_owned(),
        placed_at_ms: order.placed_at_ms,
        lines: order.lines.iter().map(line_dto).collect(),
        subtotal: totals.subtotal.into(),
        discount: totals.discount.into(),
        shipping: totals
            .shipping
            .checked_sub(totals.shipping_discount)
            .unwrap_or(totals.shipping)
            .into(),
        vat: totals.vat.into(),
        total: totals.total.into(),
        payment: OrderPaymentDto {
            provider: order.authorization.psp.clone(),
            authorized: order.authorization.amount.into(),
            captured: order.captured.into(),
            refunded: order.refunded.into(),
            voided: order.voided,
            capture: super::checkouts::capture_name(order.capture).to_owned(),
            chargeback: order.chargeback.as_ref().map(|chargeback| ChargebackDto {
                id: chargeback.id.clone(),
                amount: chargeback.amount.into(),
                reason: chargeback.reason.clone(),
                borne_by: chargeback.bearer.as_str().to_owned(),
                at_ms: chargeback.at_ms,
            }),
        },
        fraud: FraudDto {
            score: order.fraud.score,
            decision: super::checkouts::fraud_name(order.fraud.decision).to_owned(),
            reasons: order.fraud.reasons.iter().map(|reason| reason.code.clone()).collect(),
        },
        shipments: order.shipments.iter().map(|s| shipment_dto(s, &order.tracking)).collect(),
        restocked: order.restocked,
        returns: order.returns.iter().map(super::returns::return_dto).collect(),
        appeasements: order.appeasements.iter().map(super::support::appeasement_dto).collect(),
        ship_to: ship_to_dto(order, reader),
    }
}

pub(crate) fn summary_dto(summary: &OrderSummary) -> OrderSummaryDto {
    OrderSummaryDto {
        id: summary.id.to_string(),
        status: summary.status.as_str().to_owned(),
        placed_at_ms: summary.placed_at_ms,
        total: summary.total.into(),
        lines: summary.lines,
    }
}

fn seller_order_dto(order: &SellerOrderLines) -> SellerOrderDto {
    SellerOrderDto {
        id: order.id.to_string(),
        status: order.status.as_str().to_owned(),
        placed_at_ms: order.placed_at_ms,
        lines: order.lines.iter().map(line_dto).collect(),
        shipments: order.shipments.iter().map(|s| shipment_dto(s, &order.tracking)).collect(),
        returns: order.returns.iter().map(super::returns::return_dto).collect(),
    }
}

/// The order `id` of the tenant; an id that does not parse is simply not found.
pub(super) async fn order_of(
    state: &AppState,
    principal: &Principal,
    id: &str,
) -> Result<(String, OrderView), Problem> {
    let order = OrderId::parse(id).map_err(|_| not_found("order"))?;
    let key = entity_id(&principal.tenant, &order);
    let reply = found(state.engine.ask::<Order>(&key, OrderCommand::Get).await, "order")?;
    Ok((key, reply.order))
}

/// The customer's own order, or not found.
pub(super) async fn own_order(
    state: &AppState,
    principal: &Principal,
    id: &str,
) -> Result<(String, OrderView), Problem> {
    let customer = principal.customer()?;
    let (key, order) = order_of(state, principal, id).await?;
    if order.customer == customer { Ok((key, order)) } else { Err(not_found("order")) }
}

pub(super) fn text(field: &str, value: &str) -> Result<String, Problem> {
    dto::text("text_invalid", field, value, DISPATCH_TEXT_BYTES_MAX)
}

/// The calling customer's orders, newest first.
#[utoipa::path(get, path = "/v1/orders", tag = "orders",
    responses((status = 200, body = Vec<OrderSummaryDto>)), security(("bearer" = [])))]
async fn list_orders(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Vec<OrderSummaryDto>>, Problem> {
    let customer = principal.customer()?;
    let orders = state.orders.customer_orders(&principal.tenant, &customer);
    Ok(Json(orders.iter().map(summary_dto).collect()))
}

/// One of the calling customer's orders, with its payment and tracking.
#[utoipa::path(get, path = "/v1/orders/{id}", tag = "orders", params(("id" = String, Path)),
    responses((status = 200, body = OrderDto), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn get_order(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<OrderDto>, Problem> {
    let (_, order) = own_order(&state, &principal, &id).await?;
    Ok(Json(read_dto(&state, &principal.tenant, &order).await?))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancellationDto {
    #[schema(schema_with = crate::fields::order_text_option)]
    pub reason: Option<String>,
}

/// Cancels one of the calling customer's orders before anything shipped; the payment is
/// voided (or refunded, if captured) by the payment job.
#[utoipa::path(post, path = "/v1/orders/{id}/cancellation", tag = "orders", params(("id" = String, Path)),
    request_body = CancellationDto,
    responses((status = 200, body = OrderDto), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Something shipped already", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn cancel_order(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    Optional(cancellation): Optional<CancellationDto>,
) -> Result<(Extension<PersonalData>, Json<OrderDto>), Problem> {
    let (key, _) = own_order(&state, &principal, &id).await?;
    let cancellation = cancellation.unwrap_or_default();
    let reason = match cancellation.reason {
        Some(reason) => text("reason", &reason)?,
        None => "cancelled by the customer".to_owned(),
    };
    cancel(&state, &key, &principal.tenant, reason).await
}

/// Cancels the order `key` and tells the payment job at once (it voids or refunds the
/// payment and puts the units back): every route that cancels an order goes through here.
pub(super) async fn cancel(
    state: &AppState,
    key: &str,
    tenant: &str,
    reason: String,
) -> Result<(Extension<PersonalData>, Json<OrderDto>), Problem> {
    let reply = answer(state.engine.ask::<Order>(key, OrderCommand::Cancel { reason }).await)?;
    state.sagas.payment_job().kick(key);
    Ok((Extension(PersonalData), Json(read_dto(state, tenant, &reply.order).await?)))
}

/// The calling seller's order lines, newest first.
#[utoipa::path(get, path = "/v1/seller/orders", tag = "seller",
    responses((status = 200, body = Vec<SellerOrderDto>)), security(("bearer" = [])))]
async fn list_seller_orders(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Vec<SellerOrderDto>>, Problem> {
    let seller = principal.seller()?;
    let orders = state.orders.seller_orders(&principal.tenant, &seller);
    Ok(Json(orders.iter().map(seller_order_dto).collect()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShipmentDispatch {
    #[schema(schema_with = crate::fields::order_text)]
    pub carrier: String,
    #[schema(schema_with = crate::fields::order_text)]
    pub tracking: String,
}

/// Marks one of the calling seller's shipments shipped (in auth-only mode, this is when the
/// payment is captured).
#[utoipa::path(post, path = "/v1/seller/orders/{id}/shipments/{number}/dispatch", tag = "seller",
    params(("id" = String, Path), ("number" = u16, Path)), request_body = ShipmentDispatch,
    responses((status = 200, body = SellerOrderDto), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn ship(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, number)): Path<(String, String)>,
    Body(dispatch): Body<ShipmentDispatch>,
) -> Result<Json<SellerOrderDto>, Problem> {
    let seller = principal.seller()?;
    let (key, _) = seller_order(&state, &principal, &seller, &id).await?;
    let number = shipment_number(&number)?;
    let command = OrderCommand::Ship {
        shipment: number,
        seller: seller.clone(),
        carrier: text("carrier", &dispatch.carrier)?,
        tracking: text("tracking", &dispatch.tracking)?,
    };
    let reply = answer(state.engine.ask::<Order>(&key, command).await)?;
    state.sagas.payment_job().kick(&key);
    Ok(Json(seller_view(&reply.order, &seller)))
}

/// Marks one of the calling seller's shipped shipments delivered.
#[utoipa::path(post, path = "/v1/seller/orders/{id}/shipments/{number}/delivery", tag = "seller",
    params(("id" = String, Path), ("number" = u16, Path)),
    responses((status = 200, body = SellerOrderDto), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn deliver(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, number)): Path<(String, String)>,
) -> Result<Json<SellerOrderDto>, Problem> {
    let seller = principal.seller()?;
    let (key, order) = seller_order(&state, &principal, &seller, &id).await?;
    let number = shipment_number(&number)?;
    if order.shipment(number).is_none_or(|shipment| shipment.seller != seller) {
        return Err(not_found("shipment"));
    }
    let reply =
        answer(state.engine.ask::<Order>(&key, OrderCommand::Deliver { shipment: number }).await)?;
    Ok(Json(seller_view(&reply.order, &seller)))
}

/// The order `id` if `seller` has lines in it; an order of other sellers only answers
/// exactly as an unknown one does (ids do not leak). Every seller order route starts here.
pub(super) async fn seller_order(
    state: &AppState,
    principal: &Principal,
    seller: &SellerId,
    id: &str,
) -> Result<(String, OrderView), Problem> {
    let (key, order) = order_of(state, principal, id).await?;
    if order.lines.iter().any(|line| line.seller == *seller) {
        Ok((key, order))
    } else {
        Err(not_found("order"))
    }
}

/// A shipment number from a path; anything else names no shipment.
pub(super) fn shipment_number(text: &str) -> Result<u16, Problem> {
    text.parse().map_err(|_| not_found("shipment"))
}

/// An order as one of its sellers may see it: its own lines and shipments.
pub(super) fn seller_view(order: &OrderView, seller: &SellerId) -> SellerOrderDto {
    seller_order_dto(&SellerOrderLines::of(order, seller))
}
