//! The operator API: seller standing and score inputs (what the marketplace decides about a
//! seller, never the seller itself).

use crate::openapi::routes;
use axum::Json;
use axum::extract::State;
use bazaar_actors::SellerId;
use bazaar_actors::audit::{AuditCommand, AuditTrail};
use bazaar_actors::keys;
use bazaar_actors::seller::{DefectRate, Seller, SellerCommand, Standing, signals};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

use super::answer;
use super::seller::SellerDto;
use crate::auth::{Principal, Role};
use crate::extract::{Path, Query};
use crate::json::Body;
use crate::problem::{Problem, not_found};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(put_standing))
        .routes(routes!(put_score))
        .routes(routes!(get_audit))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Newest first, at most 200 (default 50).
    #[serde(default, deserialize_with = "crate::fields::audit_limit::deserialize_option")]
    #[param(schema_with = crate::fields::audit_limit::schema)]
    limit: Option<u32>,
}

#[derive(Debug, serde::Serialize, ToSchema)]
pub struct AuditAnswer {
    /// Every record ever made for the principal.
    pub total: u64,
    pub records: Vec<AuditRecordDto>,
}

#[derive(Debug, serde::Serialize, ToSchema)]
pub struct AuditRecordDto {
    pub at_ms: u64,
    pub method: String,
    pub path: String,
    pub status: u16,
    pub request_id: String,
    pub remote: String,
}

/// A principal's most recent audited requests (operators).
#[utoipa::path(get, path = "/admin/audit/{role}/{principal}", tag = "admin",
    params(("role" = String, Path, description = "seller, support or operator"), ("principal" = String, Path), AuditParams),
    responses((status = 200, body = AuditAnswer), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn get_audit(
    State(state): State<AppState>,
    principal: Principal,
    Path((role, who)): Path<(String, String)>,
    Query(params): Query<AuditParams>,
) -> Result<Json<AuditAnswer>, Problem> {
    let role = Role::ALL
        .into_iter()
        .find(|r| r.as_str() == role)
        .ok_or_else(|| not_found("audit trail"))?;
    if !crate::auth::is_principal(&who) {
        return Err(not_found("audit trail"));
    }
    let limit = params.limit.unwrap_or(50).min(bazaar_actors::limits::AUDIT_RECENT_MAX as u32);
    let key = crate::audit::trail_key(&principal.tenant, role, &who);
    let reply = answer(state.engine.ask::<AuditTrail>(&key, AuditCommand::Recent { limit }).await)?;
    let records = reply
        .records
        .into_iter()
        .map(|r| AuditRecordDto {
            at_ms: r.at_ms,
            method: r.method,
            path: r.path,
            status: r.status,
            request_id: r.request_id,
            remote: r.remote,
        })
        .collect();
    Ok(Json(AuditAnswer { total: reply.total, records }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum StandingDto {
    /// Active (and verified): eligible for the buy box.
    Good,
    AtRisk,
    Suspended,
    /// Back to awaiting verification.
    Applied,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StandingChange {
    pub standing: StandingDto,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScoreChange {
    /// Rating in hundredths of a star, 0 to 500.
    #[serde(deserialize_with = "crate::fields::rating_hundredths::deserialize")]
    #[schema(schema_with = crate::fields::rating_hundredths::schema)]
    pub rating_hundredths: u16,
    /// Order defect rate in basis points, 0 to 10000.
    #[serde(deserialize_with = "crate::fields::defect_bps::deserialize")]
    #[schema(schema_with = crate::fields::defect_bps::schema)]
    pub defect_bps: u16,
}

fn seller_key(principal: &Principal, seller: &str) -> Result<String, Problem> {
    let seller = SellerId::parse(seller).map_err(|_| not_found("seller"))?;
    Ok(keys::seller(&principal.tenant, &seller))
}

async fn ask(
    state: &AppState,
    key: &str,
    seller: &str,
    command: SellerCommand,
) -> Result<Json<SellerDto>, Problem> {
    let view = answer(state.engine.ask::<Seller>(key, command).await)?;
    Ok(Json(SellerDto::of(&seller, view)))
}

/// Sets a seller's standing; products it offers follow (the buy box needs `good`).
#[utoipa::path(put, path = "/admin/sellers/{seller}/standing", tag = "admin", request_body = StandingChange,
    params(("seller" = String, Path)),
    responses((status = 200, body = SellerDto), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn put_standing(
    State(state): State<AppState>,
    principal: Principal,
    Path(seller): Path<String>,
    Body(change): Body<StandingChange>,
) -> Result<Json<SellerDto>, Problem> {
    let key = seller_key(&principal, &seller)?;
    let standing = match change.standing {
        StandingDto::Good => Standing::Good,
        StandingDto::AtRisk => Standing::AtRisk,
        StandingDto::Suspended => Standing::Suspended,
        StandingDto::Applied => Standing::Applied,
    };
    ask(&state, &key, &seller, SellerCommand::SetStanding { standing }).await
}

/// Sets a seller's score inputs. The standing follows the marketplace's rules (`[sellers]`):
/// a new defect rate at `at_risk_defect_bps` or more puts a seller in good standing at risk
/// (off the buy box), at `suspend_defect_bps` or more suspends it; a rule never restores a
/// standing (`PUT .../standing` does, and it holds until the rate changes again).
#[utoipa::path(put, path = "/admin/sellers/{seller}/score", tag = "admin", request_body = ScoreChange,
    params(("seller" = String, Path)),
    responses((status = 200, body = SellerDto), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn put_score(
    State(state): State<AppState>,
    principal: Principal,
    Path(seller): Path<String>,
    Body(change): Body<ScoreChange>,
) -> Result<Json<SellerDto>, Problem> {
    let key = seller_key(&principal, &seller)?;
    let command = SellerCommand::UpdateScore {
        rating_hundredths: change.rating_hundredths,
        defect_bps: change.defect_bps,
        rules: state.sellers.defect_rules(),
    };
    let before = SellerId::parse(&seller)
        .ok()
        .and_then(|id| state.catalog.seller(&principal.tenant, &id).map(|view| (id, view)));
    let answered = ask(&state, &key, &seller, command).await?;
    if let Some((id, view)) = before
        && let Ok(rate) = DefectRate::try_from(change.defect_bps)
        && let Some(signal) =
            signals::defect_rate(&state.sellers, &id, view.score.defect_rate, rate)
    {
        super::cases::raise(&state, &principal.tenant, signal);
    }
    Ok(answered)
}
