//! Shipping with the marketplace's carrier: a seller buys a label for its shipment (which
//! ships it, so in auth-only mode this is when the payment is captured), and the carrier
//! posts the parcel's tracking events back to `/callbacks/carriers/{carrier}/events`.
//!
//! The callback takes no bearer token: the carrier signs each event with the secret it shares
//! with the marketplace (`bazaar-signature`, `bazaar_services::signing`), and an event without
//! a valid, recent signature is refused with 401 and changes nothing. Each event applies once
//! (its id), so a carrier's retries and duplicates are harmless.

use crate::openapi::routes;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use bazaar_actors::order::tracking::{Label, TrackingEvent, TrackingStatus};
use bazaar_actors::order::{Order, OrderCommand, OrderId, entity_id};
use bazaar_services::carriers::{CarrierError, wire};
use bazaar_services::signing::SIGNATURE_HEADER;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

use super::orders::{SellerOrderDto, seller_order, seller_view, shipment_number};
use super::{answer, found};
use crate::auth::Principal;
use crate::extract::Path;
use crate::json::{Optional, Raw};
use crate::problem::{Problem, ProblemKind, conflict, not_found, unauthenticated};
use crate::state::AppState;

/// The seller's label purchase.
pub fn seller_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(buy_label))
}

/// The carriers' callback (no bearer token: signed).
pub fn callback_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(carrier_event))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LabelOrder {
    /// `standard` (the default) or `express`.
    #[schema(schema_with = crate::fields::service_level_option)]
    pub service_level: Option<String>,
}

/// A carrier's tracking event (see `bazaar carrier`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CarrierEvent {
    /// The carrier's id of the event: the same event again changes nothing.
    pub event_id: String,
    /// The label's reference: `{tenant}/{order id}/{shipment}`.
    pub reference: String,
    pub tracking_number: String,
    /// `picked_up`, `in_transit`, `out_for_delivery`, `delivered` or `exception`.
    pub status: String,
    #[serde(deserialize_with = "crate::fields::epoch_ms::deserialize")]
    #[schema(schema_with = crate::fields::epoch_ms::schema)]
    pub at_ms: u64,
    pub location: String,
}

fn carrier_problem(error: CarrierError) -> Problem {
    let detail = error.to_string();
    match error {
        CarrierError::NoCarrier => conflict("no_carrier", detail),
        CarrierError::Unavailable(_) => {
            Problem::of(ProblemKind::Unavailable, "carrier_unavailable", "Unavailable", detail)
        }
        CarrierError::Refused(_) => conflict("carrier_refused", detail),
    }
}

/// Buys a label for one of the calling seller's shipments from the marketplace's carrier and
/// ships it with the label's tracking number; the carrier then reports the parcel's journey.
/// Buying again answers the same label.
#[utoipa::path(post, path = "/v1/seller/orders/{id}/shipments/{number}/label", tag = "seller",
    params(("id" = String, Path), ("number" = u16, Path)), request_body = LabelOrder,
    responses((status = 200, body = SellerOrderDto), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`no_carrier`, `carrier_refused`, `already_shipped` (with another carrier), `order_not_live` (cancelled or disputed)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`service_level_invalid`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`carrier_unavailable`: retry", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn buy_label(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, number)): Path<(String, String)>,
    Optional(order): Optional<LabelOrder>,
) -> Result<Json<SellerOrderDto>, Problem> {
    let seller = principal.seller()?;
    let (key, view) = seller_order(&state, &principal, &seller, &id).await?;
    let number = shipment_number(&number)?;
    let Some(shipment) = view.shipment(number).filter(|shipment| shipment.seller == seller) else {
        return Err(not_found("shipment"));
    };
    // Nothing is bought for a shipment that cannot ship with it: labelled already (answered
    // as it stands), shipped otherwise, or an order cancelled or disputed.
    if view.tracking_of(number).is_some_and(|t| !t.service_level.is_empty()) {
        return Ok(Json(seller_view(&view, &seller)));
    }
    if shipment.shipped.is_some() {
        return Err(conflict("already_shipped", "the shipment shipped with another carrier"));
    }
    if view.cancellation.is_some() || view.disputed() {
        return Err(conflict("order_not_live", "the order is cancelled or its payment disputed"));
    }
    let service_level = order.unwrap_or_default().service_level.unwrap_or("standard".into());
    if !wire::SERVICE_LEVELS.contains(&service_level.as_str()) {
        return Err(crate::problem::invalid("service_level_invalid", "standard or express"));
    }
    let carrier =
        state.carriers.default_name().ok_or_else(|| carrier_problem(CarrierError::NoCarrier))?;
    let request = wire::LabelRequest {
        reference: format!("{}/{}/{number}", principal.tenant, view.id),
        service_level,
        destination_country: view.ship_to.country.to_string(),
        callback_url: state.carriers.callback_url(carrier),
    };
    let label = state.carriers.buy_label(&request).await.map_err(carrier_problem)?;
    let label = Label {
        carrier: label.carrier,
        tracking: label.tracking_number,
        service_level: label.service_level,
    };
    let command = OrderCommand::ShipLabelled { shipment: number, seller: seller.clone(), label };
    let reply = answer(state.engine.ask::<Order>(&key, command).await)?;
    state.sagas.payment_job().kick(&key);
    Ok(Json(seller_view(&reply.order, &seller)))
}

/// A carrier's tracking event about a parcel it labelled, signed with its secret:
/// `bazaar-signature: t={unix ms},v1={hex HMAC-SHA256(secret, "{t}.{body}")}`, within five
/// minutes of this node's clock. `delivered` delivers the shipment.
#[utoipa::path(post, path = "/callbacks/carriers/{carrier}/events", tag = "ops",
    params(("carrier" = String, Path), ("bazaar-signature" = String, Header, description = "t={unix ms},v1={hex HMAC-SHA256}")),
    request_body = CarrierEvent,
    responses((status = 204, description = "Applied (or already applied)"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`signature_invalid`: no, a wrong or an old signature, or no such carrier", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such order or tracking number", body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn carrier_event(
    State(state): State<AppState>,
    Path(carrier): Path<String>,
    headers: HeaderMap,
    Raw(body): Raw,
) -> Result<StatusCode, Problem> {
    let signature = headers.get(SIGNATURE_HEADER).and_then(|value| value.to_str().ok());
    let now_ms = state.engine.clock().now_ms();
    if !signature.is_some_and(|s| state.carriers.verify(&carrier, s, &body, now_ms)) {
        let detail = "no valid, recent signature of this carrier";
        return Err(unauthenticated("signature_invalid", detail));
    }
    let event: CarrierEvent = crate::json::from_slice(&body)?;
    let status = TrackingStatus::parse(&event.status)
        .ok_or_else(|| crate::problem::invalid("status_invalid", "not a tracking status"))?;
    let mut parts = event.reference.splitn(3, '/');
    let (tenant, order) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
    let order = OrderId::parse(order).map_err(|_| not_found("order"))?;
    if !bazaar_actors::keys::is_tenant(tenant) {
        return Err(not_found("order"));
    }
    let tracked =
        TrackingEvent { id: event.event_id, status, at_ms: event.at_ms, location: event.location };
    let tracking = event.tracking_number;
    let command = OrderCommand::RecordTracking { carrier, tracking, event: tracked };
    found(state.engine.ask::<Order>(&entity_id(tenant, &order), command).await, "shipment")?;
    Ok(StatusCode::NO_CONTENT)
}
