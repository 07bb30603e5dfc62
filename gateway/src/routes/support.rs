//! Customer service: a support agent finds a customer's orders, reads any order of the
//! tenant with support's notes on it, cancels one before it ships (the payment job voids or
//! refunds it, and puts its units back), and writes notes on it. Every change is audited
//! under the agent's name (`audit::audited`, as for sellers and operators). An order of
//! another tenant, or none, answers 404.

use crate::idempotency::PersonalData;
use crate::openapi::routes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::{Extension, Json};
use bazaar_actors::CustomerId;
use bazaar_actors::Money;
use bazaar_actors::order::appeasements::Appeasement;
use bazaar_actors::order::notes::{Note, OrderNotes, OrderNotesCommand};
use bazaar_actors::order::{Order, OrderCommand};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

use super::answer;
use super::orders::{OrderDto, OrderSummaryDto, cancel, order_of, read_dto, summary_dto, text};
use crate::auth::Principal;
use crate::dto::MoneyDto;
use crate::extract::Path;
use crate::json::{Body, reply};
use crate::problem::{Problem, internal, not_found};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(customer_orders))
        .routes(routes!(get_order))
        .routes(routes!(cancel_order))
        .routes(routes!(add_note))
        .routes(routes!(appease))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NoteDto {
    /// The support agent who wrote it.
    pub by: String,
    pub text: String,
    pub at_ms: u64,
}

/// An order as support sees it: the order, and support's notes on it, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct SupportOrderDto {
    pub order: OrderDto,
    pub notes: Vec<NoteDto>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SupportCancellation {
    /// Why support cancels it, recorded on the order: 1 to 128 bytes of UTF-8 once trimmed,
    /// no control characters.
    #[schema(schema_with = crate::fields::order_text)]
    pub reason: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewNote {
    /// 1 to 2,000 bytes of UTF-8 once trimmed, no control characters (so no line breaks).
    #[schema(schema_with = crate::fields::note_text)]
    pub text: String,
}

fn note_dto(note: &Note) -> NoteDto {
    NoteDto { by: note.by.clone(), text: note.text.clone(), at_ms: note.at_ms }
}

/// A customer's orders, newest first (none for a customer who never ordered).
#[utoipa::path(get, path = "/v1/support/customers/{customer}/orders", tag = "support",
    params(("customer" = String, Path)),
    responses((status = 200, body = Vec<OrderSummaryDto>), (status = 404, description = "Not a customer id", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn customer_orders(
    State(state): State<AppState>,
    principal: Principal,
    Path(customer): Path<String>,
) -> Result<Json<Vec<OrderSummaryDto>>, Problem> {
    let customer = CustomerId::parse(&customer).map_err(|_| not_found("customer"))?;
    let orders = state.orders.customer_orders(&principal.tenant, &customer);
    Ok(Json(orders.iter().map(summary_dto).collect()))
}

/// Any order of the tenant, with support's notes.
#[utoipa::path(get, path = "/v1/support/orders/{id}", tag = "support", params(("id" = String, Path)),
    responses((status = 200, body = SupportOrderDto), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn get_order(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<SupportOrderDto>, Problem> {
    let (key, order) = order_of(&state, &principal, &id).await?;
    let notes = answer(state.engine.ask::<OrderNotes>(&key, OrderNotesCommand::Get).await)?;
    let notes = notes.iter().map(note_dto).collect();
    let order = read_dto(&state, &principal.tenant, &order).await?;
    Ok(Json(SupportOrderDto { order, notes }))
}

/// Cancels an order before anything shipped, with a reason; the payment job voids the
/// payment (or refunds it, if captured) and puts the units back on hand.
#[utoipa::path(post, path = "/v1/support/orders/{id}/cancellation", tag = "support", params(("id" = String, Path)),
    request_body = SupportCancellation,
    responses((status = 200, body = OrderDto), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Something shipped already", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn cancel_order(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    Body(cancellation): Body<SupportCancellation>,
) -> Result<(Extension<PersonalData>, Json<OrderDto>), Problem> {
    let (key, _) = order_of(&state, &principal, &id).await?;
    let reason = text("reason", &cancellation.reason)?;
    cancel(&state, &key, &principal.tenant, reason).await
}

/// Writes a note on an order (at most 200 an order); answers the note.
#[utoipa::path(post, path = "/v1/support/orders/{id}/notes", tag = "support", params(("id" = String, Path)),
    request_body = NewNote,
    responses((status = 201, body = NoteDto), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`too_many_notes`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`note_invalid`", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn add_note(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    Body(note): Body<NewNote>,
) -> Result<Response, Problem> {
    let (key, _) = order_of(&state, &principal, &id).await?;
    let add = OrderNotesCommand::Add { by: principal.id.to_string(), text: note.text };
    let notes = answer(state.engine.ask::<OrderNotes>(&key, add).await)?;
    // The last is the one written (notes are only ever added, one an ask).
    let written = notes.last().ok_or_else(|| internal("no note after a note"))?;
    Ok(reply(StatusCode::CREATED, &note_dto(written)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAppeasement {
    /// Minor units of the order's currency, at most what was captured and is not refunded
    /// or owed to a return yet.
    #[serde(deserialize_with = "crate::fields::price_minor::deserialize")]
    #[schema(schema_with = crate::fields::price_minor::schema)]
    pub amount_minor: i64,
    /// Why, recorded on the order.
    #[schema(schema_with = crate::fields::order_text)]
    pub reason: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AppeasementDto {
    pub number: u16,
    pub amount: MoneyDto,
    pub reason: String,
    /// The agent who granted it.
    pub by: String,
    pub at_ms: u64,
    /// Once the payment provider gave it back.
    pub refunded_at_ms: Option<u64>,
}

pub(crate) fn appeasement_dto(granted: &Appeasement) -> AppeasementDto {
    AppeasementDto {
        number: granted.number,
        amount: granted.amount.into(),
        reason: granted.reason.clone(),
        by: granted.by.clone(),
        at_ms: granted.at_ms,
        refunded_at_ms: granted.refunded_at_ms,
    }
}

/// Gives money back as goodwill (a late parcel, a scratch the customer keeps), which the
/// marketplace bears; the payment job refunds it at once. A return refunded later gets what
/// is left. Needs an `Idempotency-Key`: a retry meets the first.
#[utoipa::path(post, path = "/v1/support/orders/{id}/appeasements", tag = "support",
    params(("id" = String, Path), ("Idempotency-Key" = String, Header, description = "Required: money moves, so a retry (a double click, a time-out) must meet the first request")),
    request_body = NewAppeasement,
    responses((status = 201, body = AppeasementDto), (status = 400, description = "`idempotency_key_required`", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`refund_exceeds_captured`, `too_many_appeasements`, `appeasement_conflict`, `order_cancelled`, `order_refunded`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`amount_invalid`, `text_invalid`", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn appease(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
    Body(asked): Body<NewAppeasement>,
) -> Result<Response, Problem> {
    let request_id = format!("{}:{}", principal.id, crate::idempotency::required(&headers)?);
    let (key, order) = order_of(&state, &principal, &id).await?;
    let reason = text("reason", &asked.reason)?;
    let amount = Money::new(asked.amount_minor, order.currency);
    let by = principal.id.to_string();
    let command = OrderCommand::Appease { amount, reason, by, request_id: request_id.clone() };
    let order = answer(state.engine.ask::<Order>(&key, command).await)?.order;
    state.sagas.payment_job().kick(&key);
    let granted = order.appeasements.iter().find(|a| a.request_id == request_id);
    let granted = granted.ok_or_else(|| internal("no appeasement after one"))?;
    Ok(reply(StatusCode::CREATED, &appeasement_dto(granted)))
}
