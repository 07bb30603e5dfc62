//! A seller cancels one of its orders before shipment (one of its lines alone: an order
//! shared with other sellers is support's to cancel), and its cancellation rate is judged
//! at once: past `[sellers] cancellation_case_bps` of its recent orders a case is raised for
//! support, past `suspend_cancellation_bps` the seller is suspended (its offers leave the
//! buy box at once, as a suspension by an operator does).

use axum::Json;
use axum::extract::State;
use bazaar_actors::SellerId;
use bazaar_actors::keys;
use bazaar_actors::order::{Order, OrderCommand};
use bazaar_actors::seller::signals;
use bazaar_actors::seller::{Seller, SellerCommand, Standing};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

use super::answer;
use super::orders::{SellerOrderDto, seller_order, seller_view};
use crate::auth::Principal;
use crate::extract::Path;
use crate::json::Body;
use crate::openapi::routes;
use crate::problem::Problem;
use crate::state::AppState;

pub fn seller_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(cancel_by_seller))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SellerCancellation {
    /// Why (the customer sees it on the order).
    #[schema(schema_with = crate::fields::order_text)]
    pub reason: String,
}

/// Cancels one of the calling seller's orders before anything shipped; the payment is
/// voided (or refunded) and the units put back by the payment job. Only an order of the
/// seller's lines alone; it counts on the seller's cancellation rate.
#[utoipa::path(post, path = "/v1/seller/orders/{id}/cancellation", tag = "seller",
    params(("id" = String, Path)), request_body = SellerCancellation,
    responses((status = 200, body = SellerOrderDto), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`too_late_to_cancel` (something shipped), `order_has_other_sellers` (support cancels it)", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn cancel_by_seller(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    Body(cancellation): Body<SellerCancellation>,
) -> Result<Json<SellerOrderDto>, Problem> {
    let seller = principal.seller()?;
    let (key, order) = seller_order(&state, &principal, &seller, &id).await?;
    let reason = super::orders::text("reason", &cancellation.reason)?;
    let already = order.cancelled_by_seller.as_ref() == Some(&seller);
    let command = OrderCommand::CancelBySeller { seller: seller.clone(), reason };
    let reply = answer(state.engine.ask::<Order>(&key, command).await)?;
    state.sagas.payment_job().kick(&key);
    if !already {
        judge(&state, &principal.tenant, &seller, &reply.order.id).await;
    }
    Ok(Json(seller_view(&reply.order, &seller)))
}

/// The seller's cancellation rate after it cancelled `order`: a case, and a suspension, when
/// the rules say. Advice to support and a standing change: a failure is logged, never the
/// answer of the cancellation.
async fn judge(
    state: &AppState,
    tenant: &str,
    seller: &SellerId,
    order: &bazaar_actors::order::OrderId,
) {
    let (cancelled, orders) = state.orders.seller_cancellations(tenant, seller, order);
    let (signal, suspend) = signals::cancellation_rate(&state.sellers, seller, cancelled, orders);
    if let Some(signal) = signal {
        super::cases::raise(state, tenant, signal);
    }
    let standing = state.catalog.seller(tenant, seller).map(|view| view.score.standing);
    if suspend && standing != Some(Standing::Suspended) {
        let key = keys::seller(tenant, seller);
        let command = SellerCommand::SetStanding { standing: Standing::Suspended };
        match state.engine.ask::<Seller>(&key, command).await {
            Ok(Ok(_)) => {
                tracing::warn!(%seller, cancelled, orders, "seller suspended for its cancellation rate")
            }
            Ok(Err(refused)) => tracing::warn!(%seller, error = %refused, "seller not suspended"),
            Err(error) => tracing::warn!(%seller, %error, "seller not suspended"),
        }
    }
}
