//! Returns: a customer asks to send delivered units back, support approves or rejects what
//! the marketplace's rules (`[returns]`) did not approve at once, and the shipment's seller
//! records the parcel's receipt; the payment job then refunds it and puts its sellable units
//! back on hand. Each answers the return as it stands; an order or return of someone else
//! answers 404.

use crate::openapi::routes;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use bazaar_actors::limits::{CART_LINE_QUANTITY_MAX, ORDER_LINES_MAX};
use bazaar_actors::order::returns::{ReturnDecision, ReturnLine, ReturnReason, ReturnView};
use bazaar_actors::order::{Order, OrderCommand, OrderView};
use bazaar_actors::quantity::Quantity;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

use super::answer;
use super::orders::{own_order, seller_order, text};
use crate::auth::Principal;
use crate::dto::MoneyDto;
use crate::extract::Path;
use crate::json::{Body, Optional, reply};
use crate::problem::{Problem, invalid, not_found};
use crate::state::AppState;

/// The customer's side.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(request_return))
}

/// Support's side.
pub fn support_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(decide_return)).routes(routes!(refund_lines))
}

/// The seller's side.
pub fn seller_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(receive_return))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReturnDto {
    /// From 1, in the order requested.
    pub number: u16,
    /// `requested` (awaits support), `approved` (send it with the label), `rejected`,
    /// `received`, `refunded`.
    pub status: String,
    pub reason: String,
    pub comment: String,
    /// The shipment the units came in.
    pub shipment: u16,
    /// Refunded by support without the units coming back (no label, nothing received).
    pub returnless: bool,
    pub lines: Vec<ReturnedLineDto>,
    /// What the returned units are worth (the sum of its lines'): what the return refunds,
    /// less any goodwill support paid ahead on the order (then less, or nothing, goes
    /// back; the order's payment shows what was refunded).
    pub amount: MoneyDto,
    pub requested_at_ms: u64,
    pub label: Option<ReturnLabelDto>,
    /// `rule` (approved at once by the marketplace's rules) or `support`; none until decided.
    pub decided_by: Option<String>,
    /// Support's note on a rejection.
    pub rejection: Option<String>,
    pub received_at_ms: Option<u64>,
    pub restocked: bool,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReturnedLineDto {
    /// Index into the order's lines (into the seller's own lines, for a seller).
    pub line: u16,
    pub quantity: u32,
    /// What these units refund: their share of the line's total.
    pub refund: MoneyDto,
    /// Units that arrived sellable; none until received.
    pub sellable: Option<u32>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReturnLabelDto {
    pub carrier: String,
    pub tracking: String,
    /// The location to send the parcel to.
    pub to: String,
}

pub(crate) fn return_dto(returned: &ReturnView) -> ReturnDto {
    let request = &returned.request;
    let currency = request.amount.currency;
    let sellable = returned.received.as_ref().map(|received| &received.sellable);
    let (decided_by, rejection) = match &returned.decision {
        None => (None, None),
        Some(ReturnDecision::Approved { by_rule, .. }) => {
            (Some(if *by_rule { "rule" } else { "support" }), None)
        }
        Some(ReturnDecision::Rejected { note, .. }) => (Some("support"), Some(note.clone())),
    };
    ReturnDto {
        number: request.number,
        status: returned.status().as_str().to_owned(),
        reason: request.reason.as_str().to_owned(),
        comment: request.comment.clone(),
        shipment: request.shipment,
        returnless: request.returnless,
        lines: request
            .lines
            .iter()
            .enumerate()
            .map(|(n, line)| ReturnedLineDto {
                line: line.line,
                quantity: line.quantity,
                refund: bazaar_actors::Money::new(line.shares.total(), currency).into(),
                sellable: sellable.and_then(|units| units.get(n).copied()),
            })
            .collect(),
        amount: request.amount.into(),
        requested_at_ms: request.at_ms,
        label: returned.label().map(|label| ReturnLabelDto {
            carrier: label.carrier.clone(),
            tracking: label.tracking.clone(),
            to: label.to.to_string(),
        }),
        decided_by: decided_by.map(str::to_owned),
        rejection,
        received_at_ms: returned.received.as_ref().map(|received| received.at_ms),
        restocked: returned.restocked,
    }
}

/// Return `number` of `order` as its DTO (it exists: the command that answered named it).
fn answered(order: &OrderView, number: u16) -> Result<ReturnDto, Problem> {
    let returned = order.return_of(number).ok_or_else(|| not_found("return"))?;
    Ok(return_dto(returned))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewReturn {
    /// Lines of one shipment, each once.
    pub lines: Vec<NewReturnLine>,
    #[schema(schema_with = return_reason)]
    pub reason: String,
    #[schema(schema_with = crate::fields::order_text_option)]
    pub comment: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewReturnLine {
    /// Index into the order's lines, from 0.
    #[serde(deserialize_with = "crate::fields::line_index::deserialize")]
    #[schema(schema_with = crate::fields::line_index::schema)]
    pub line: u16,
    #[serde(deserialize_with = "crate::fields::cart_quantity::deserialize")]
    #[schema(schema_with = crate::fields::cart_quantity::schema)]
    pub quantity: u32,
}

/// Asks to return delivered units of one shipment within their window (by category, from
/// the marketplace's rules). Approved at once, with a label, for the reasons and up to the
/// amount the rules say; otherwise support decides.
#[utoipa::path(post, path = "/v1/orders/{id}/returns", tag = "orders", params(("id" = String, Path)),
    request_body = NewReturn,
    responses((status = 201, body = ReturnDto), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`not_delivered`, `return_window_closed`, `return_exceeds_line`, `return_pending`, `too_many_returns`, `order_cancelled`, `order_refunded`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_reason`, `invalid_quantity`, `return_lines_invalid`, `return_spans_shipments`, `line_invalid`, `text_invalid`", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn request_return(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
    Body(asked): Body<NewReturn>,
) -> Result<Response, Problem> {
    // With an Idempotency-Key, a retry the layer could not answer (a 5xx, a crash after the
    // write) meets the return it made, as support's refunds do.
    let request_id = crate::idempotency::key_of(&headers)?.map(|k| format!("{}:{k}", principal.id));
    let (key, order) = own_order(&state, &principal, &id).await?;
    let (lines, reason, comment) = asked.read(&state, &principal, &order)?;
    let mut request = state.returns.request(lines, reason, comment, order.currency);
    request.request_id = request_id;
    requested(&state, &key, request).await
}

/// Asks the order `key` for `request`; answers 201 with the return.
async fn requested(
    state: &AppState,
    key: &str,
    request: bazaar_actors::order::returns::ReturnRequest,
) -> Result<Response, Problem> {
    let request_id = request.request_id.clone();
    let command = OrderCommand::RequestReturn { request: Box::new(request) };
    let order = answer(state.engine.ask::<Order>(key, command).await)?.order;
    // Settled at once when nothing travels: the payment job refunds it.
    state.sagas.payment_job().kick(key);
    // The one of its request id (a retry answers the first); without one, the last (one an
    // ask).
    let made = match &request_id {
        Some(id) => order.returns.iter().find(|r| r.request.request_id.as_ref() == Some(id)),
        None => order.returns.last(),
    };
    let number = made.map_or(0, |returned| returned.request.number);
    Ok(reply(StatusCode::CREATED, &answered(&order, number)?))
}

impl NewReturn {
    /// The lines (each with its window, from the product's category), reason and comment.
    fn read(
        self,
        state: &AppState,
        principal: &Principal,
        order: &OrderView,
    ) -> Result<(Vec<ReturnLine>, ReturnReason, String), Problem> {
        let reason = ReturnReason::parse(&self.reason)
            .ok_or_else(|| invalid("invalid_reason", "reason is not a return reason code"))?;
        let comment = match self.comment {
            Some(comment) => text("comment", &comment)?,
            None => String::new(),
        };
        let mut lines = Vec::with_capacity(self.lines.len());
        for line in self.lines {
            let quantity = Quantity::new(line.quantity)
                .filter(|q| q.get() <= CART_LINE_QUANTITY_MAX)
                .ok_or_else(|| {
                    let detail = format!("quantity must be 1 to {CART_LINE_QUANTITY_MAX}");
                    invalid("invalid_quantity", detail)
                })?;
            let window_days = match order.lines.get(usize::from(line.line)) {
                Some(ordered) => state
                    .catalog
                    .product(&principal.tenant, &ordered.asin)
                    .map_or(state.returns.window_days, |product| {
                        state.returns.window_days(&product.document.category_path)
                    }),
                // The order refuses it (`line_invalid`).
                None => state.returns.window_days,
            };
            lines.push(ReturnLine { line: line.line, quantity, window_days });
        }
        Ok((lines, reason, comment))
    }
}

/// Refunds units of one shipment that need not come back (a parcel lost in transit, an item
/// not worth returning): shipped is enough, no window applies, and the seller bears it as a
/// return. The payment job refunds it at once; `comment` says why.
#[utoipa::path(post, path = "/v1/support/orders/{id}/refunds", tag = "support",
    params(("id" = String, Path), ("Idempotency-Key" = String, Header, description = "Required: money moves, so a retry (a double click, a time-out) must meet the first request")),
    request_body = NewReturn,
    responses((status = 201, body = ReturnDto), (status = 400, description = "`idempotency_key_required`", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`not_shipped`, `return_exceeds_line`, `return_pending`, `too_many_returns`, `order_cancelled`, `order_refunded`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_reason`, `invalid_quantity`, `return_lines_invalid`, `return_spans_shipments`, `line_invalid`, `text_invalid`", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn refund_lines(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
    Body(asked): Body<NewReturn>,
) -> Result<Response, Problem> {
    let request_id = format!("{}:{}", principal.id, crate::idempotency::required(&headers)?);
    let (key, order) = super::orders::order_of(&state, &principal, &id).await?;
    let (lines, reason, comment) = asked.read(&state, &principal, &order)?;
    let request = state.returns.refund_without_return(lines, (reason, comment), request_id);
    requested(&state, &key, request).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnDecisionDto {
    /// `true` approves the return (with a label); `false` rejects it.
    pub approve: bool,
    /// Support's note, shown to the customer on a rejection.
    #[schema(schema_with = crate::fields::order_text_option)]
    pub note: Option<String>,
}

/// Approves or rejects a return awaiting a decision; the same decision again answers the
/// return as it stands.
#[utoipa::path(post, path = "/v1/support/orders/{id}/returns/{number}/decision", tag = "support",
    params(("id" = String, Path), ("number" = u16, Path)), request_body = ReturnDecisionDto,
    responses((status = 200, body = ReturnDto), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`return_already_decided`", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn decide_return(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, number)): Path<(String, String)>,
    Body(decision): Body<ReturnDecisionDto>,
) -> Result<Json<ReturnDto>, Problem> {
    let (key, _) = super::orders::order_of(&state, &principal, &id).await?;
    let number = return_number(&number)?;
    let note = match decision.note {
        Some(note) => text("note", &note)?,
        None => String::new(),
    };
    let approve = decision.approve.then(|| state.returns.carrier.clone());
    let command = OrderCommand::DecideReturn { number, approve, note };
    let reply = answer(state.engine.ask::<Order>(&key, command).await)?;
    Ok(Json(answered(&reply.order, number)?))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnReceipt {
    /// Per returned line, in the return's order, the units that arrived sellable; all of
    /// them when left out.
    #[schema(schema_with = sellable_list)]
    pub sellable: Option<Vec<Units>>,
}

/// A count of units, read as the fields' rules read every integer (an exact float too).
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(transparent)]
pub struct Units(#[serde(deserialize_with = "crate::fields::sellable_units::deserialize")] u32);

/// Records that a return of one of the calling seller's shipments arrived; the payment job
/// then refunds it and puts its sellable units back on hand at the return's location.
#[utoipa::path(post, path = "/v1/seller/orders/{id}/returns/{number}/receipt", tag = "seller",
    params(("id" = String, Path), ("number" = u16, Path)), request_body = ReturnReceipt,
    responses((status = 200, body = ReturnDto), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`return_not_approved`, `return_already_received`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`return_lines_invalid`", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn receive_return(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, number)): Path<(String, String)>,
    Optional(receipt): Optional<ReturnReceipt>,
) -> Result<Json<ReturnDto>, Problem> {
    let seller = principal.seller()?;
    let (key, order) = seller_order(&state, &principal, &seller, &id).await?;
    let number = return_number(&number)?;
    let returned = order
        .return_of(number)
        .filter(|returned| returned.request.seller == seller)
        .ok_or_else(|| not_found("return"))?;
    let all = || returned.request.lines.iter().map(|line| line.quantity).collect();
    let given = receipt.and_then(|receipt| receipt.sellable);
    let sellable = given.map_or_else(all, |units| units.iter().map(|u| u.0).collect());
    let command = OrderCommand::ReceiveReturn { number, seller: seller.clone(), sellable };
    let reply = answer(state.engine.ask::<Order>(&key, command).await)?;
    state.sagas.payment_job().kick(&key);
    let local = bazaar_services::orders::SellerOrderLines::of(&reply.order, &seller);
    let returned = local.returns.iter().find(|r| r.request.number == number);
    returned.map(|r| Json(return_dto(r))).ok_or_else(|| not_found("return"))
}

/// Why a customer returns units: one of the reasons' codes.
fn return_reason() -> utoipa::openapi::schema::Object {
    let codes = ReturnReason::ALL.map(|reason| reason.as_str());
    crate::fields::one_of(&codes, false)
}

/// Per returned line, the units that arrived sellable.
fn sellable_list() -> utoipa::openapi::schema::Array {
    let (units, lines) = (crate::fields::sellable_units::schema(), ORDER_LINES_MAX);
    crate::fields::array(units, 1, lines)
}

/// A return number from a path; anything else names no return.
fn return_number(text: &str) -> Result<u16, Problem> {
    text.parse().map_err(|_| not_found("return"))
}
