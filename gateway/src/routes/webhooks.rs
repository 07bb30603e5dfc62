//! Webhooks: an operator subscribes the tenant's receivers to its orders' notices (placed,
//! paid, shipped, delivered, cancelled, refunded, returns, goodwill) and sees how their
//! deliveries went; a customer reads its order's timeline, the same notices.
//!
//! A delivery is a signed POST (`bazaar_services::notify`): the body's `id` is stable across
//! retries, restarts and crashes, so a receiver deduplicates on it; `bazaar-signature` is
//! `t={unix ms},v1={hex HMAC-SHA256(secret, "{t}.{body}")}`. The secret is shown once, when
//! the subscription is made.

use crate::openapi::routes;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use bazaar_actors::webhooks::{Subscription, Webhooks, WebhooksCommand};
use bazaar_services::notify::{self, Attempt, DeliveryStats};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

use super::{answer, found};
use crate::auth::Principal;
use crate::extract::Path;
use crate::json::Body;
use crate::problem::{Problem, not_found};
use crate::state::AppState;

/// The operator's subscriptions.
pub fn admin_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(subscribe, list))
        .routes(routes!(unsubscribe))
        .routes(routes!(deliveries))
}

/// A customer's order timeline.
pub fn timeline_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(timeline))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    /// `http://` or `https://`, at most 512 bytes, no spaces.
    #[schema(schema_with = crate::fields::webhook_url)]
    pub url: String,
    /// The event types to receive; none or empty: every type.
    #[serde(default)]
    #[schema(schema_with = crate::fields::event_types)]
    pub events: Vec<String>,
}

/// How a subscription's deliveries went since this node started.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DeliveryDto {
    pub delivered: u64,
    /// Attempts that failed; each is retried, with a backoff, up to the attempts allowed.
    pub failed_attempts: u64,
    /// Notices given up on.
    pub dead_lettered: u64,
    pub last_delivered_at_ms: Option<u64>,
    pub last_error: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WebhookDto {
    pub id: u32,
    pub url: String,
    /// Empty: every type.
    pub events: Vec<String>,
    pub created_at_ms: u64,
    pub delivery: DeliveryDto,
    /// What deliveries are signed with: only in the answer that made the subscription.
    pub secret: Option<String>,
}

/// One attempt at delivering one notice.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AttemptDto {
    pub event_id: String,
    pub event_type: String,
    pub attempt: u32,
    pub at_ms: u64,
    /// The receiver's status, if it answered.
    pub status: Option<u16>,
    /// `delivered`, `failed` (retried) or `dead_lettered`.
    pub outcome: String,
}

/// One entry of an order's timeline: a notice as its webhook body carries it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TimelineEntryDto {
    /// `{order id}:{number}`: the id webhook deliveries of it carry.
    pub id: String,
    /// One of the event types (`order.placed`, `shipment.shipped`, ...).
    #[serde(rename = "type")]
    pub event_type: String,
    pub occurred_at_ms: u64,
    /// What it tells beyond its type (an amount, a shipment and its tracking, a return).
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

fn webhook_dto(subscription: &Subscription, stats: DeliveryStats, secret: bool) -> WebhookDto {
    WebhookDto {
        id: subscription.id,
        url: subscription.url.clone(),
        events: subscription.events.clone(),
        created_at_ms: subscription.created_at_ms,
        delivery: DeliveryDto {
            delivered: stats.delivered,
            failed_attempts: stats.failed_attempts,
            dead_lettered: stats.dead_lettered,
            last_delivered_at_ms: stats.last_delivered_at_ms,
            last_error: stats.last_error,
        },
        secret: secret.then(|| subscription.secret.clone()),
    }
}

fn attempt_dto(attempt: &Attempt) -> AttemptDto {
    AttemptDto {
        event_id: attempt.event_id.clone(),
        event_type: attempt.event_type.to_owned(),
        attempt: attempt.attempt,
        at_ms: attempt.at_ms,
        status: attempt.status,
        outcome: attempt.outcome.to_owned(),
    }
}

/// Subscribes a receiver to the tenant's order notices from now on; answers its secret once.
#[utoipa::path(post, path = "/admin/webhooks", tag = "admin", request_body = NewWebhook,
    responses((status = 201, body = WebhookDto),
        (status = 409, description = "`too_many_webhooks` (16 a tenant)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`webhook_url_invalid`, `unknown_event_type`, `event_type_repeated`", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn subscribe(
    State(state): State<AppState>,
    principal: Principal,
    Body(new): Body<NewWebhook>,
) -> Result<(StatusCode, Json<WebhookDto>), Problem> {
    let secret = format!("whsec_{}", hex::encode(crate::auth::random::<32>()));
    let command = WebhooksCommand::Subscribe { url: new.url, events: new.events, secret };
    let reply = answer(state.engine.ask::<Webhooks>(&principal.tenant, command).await)?;
    let made = reply.made.ok_or_else(|| crate::problem::internal("no subscription made"))?;
    Ok((StatusCode::CREATED, Json(webhook_dto(&made, DeliveryStats::default(), true))))
}

/// The tenant's subscriptions, with how their deliveries went since this node started.
#[utoipa::path(get, path = "/admin/webhooks", tag = "admin",
    responses((status = 200, body = Vec<WebhookDto>)), security(("bearer" = [])))]
async fn list(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Vec<WebhookDto>>, Problem> {
    let get = state.engine.ask::<Webhooks>(&principal.tenant, WebhooksCommand::Get).await;
    let reply = answer(get)?;
    let stats = |s: &Subscription| state.notifier.stats(&principal.tenant, s.id);
    Ok(Json(reply.subscriptions.iter().map(|s| webhook_dto(s, stats(s), false)).collect()))
}

/// Ends a subscription: nothing more is sent to it.
#[utoipa::path(delete, path = "/admin/webhooks/{id}", tag = "admin", params(("id" = u32, Path)),
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn unsubscribe(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    let id: u32 = id.parse().map_err(|_| not_found("webhook"))?;
    let command = WebhooksCommand::Unsubscribe { id };
    found(state.engine.ask::<Webhooks>(&principal.tenant, command).await, "webhook")?;
    state.notifier.forget(&principal.tenant, id);
    Ok(StatusCode::NO_CONTENT)
}

/// A subscription's last 50 delivery attempts, oldest first.
#[utoipa::path(get, path = "/admin/webhooks/{id}/deliveries", tag = "admin", params(("id" = u32, Path)),
    responses((status = 200, body = Vec<AttemptDto>), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn deliveries(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<Vec<AttemptDto>>, Problem> {
    let id: u32 = id.parse().map_err(|_| not_found("webhook"))?;
    let get = state.engine.ask::<Webhooks>(&principal.tenant, WebhooksCommand::Get).await;
    if !answer(get)?.subscriptions.iter().any(|s| s.id == id) {
        return Err(not_found("webhook"));
    }
    let stats = state.notifier.stats(&principal.tenant, id);
    Ok(Json(stats.recent.iter().map(attempt_dto).collect()))
}

/// What happened to one of the calling customer's orders, oldest first.
#[utoipa::path(get, path = "/v1/orders/{id}/timeline", tag = "orders", params(("id" = String, Path)),
    responses((status = 200, body = Vec<TimelineEntryDto>), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn timeline(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<Vec<TimelineEntryDto>>, Problem> {
    let (_, order) = super::orders::own_order(&state, &principal, &id).await?;
    let entries = order.timeline.iter().map(|notice| TimelineEntryDto {
        id: notify::event_id(&order, notice),
        event_type: notice.what.event_type().to_owned(),
        occurred_at_ms: notice.at_ms,
        data: notify::data(&notice.what),
    });
    Ok(Json(entries.collect()))
}
