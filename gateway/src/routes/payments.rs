//! The operator's payment controls: the providers' state, failover and auth-only mode
//! (`/admin/psp`), the ledger's balances (`/admin/ledger`) and the reconciliation of the
//! ledger against the providers' settlement reports (`/admin/reconciliation`).

use crate::openapi::routes;
use axum::Json;
use axum::extract::State;

use bazaar_actors::ledger::{of_tenant, reconcile};
use bazaar_services::payments::breaker::BreakerState;
use bazaar_services::payments::{PaymentError, PaymentsMode, PaymentsStatus};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

use crate::auth::Principal;
use crate::json::Body;
use crate::problem::{Problem, ProblemKind, invalid};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_psp, put_psp))
        .routes(routes!(get_ledger))
        .routes(routes!(get_reconciliation))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PspDto {
    /// `normal` or `auth_only` (captures deferred to shipment).
    pub mode: String,
    /// Switched on by an operator.
    pub auth_only_manual: bool,
    /// Engaged by itself: captures are failing at every provider.
    pub auth_only_auto: bool,
    /// The provider tried first.
    pub preferred: String,
    pub providers: Vec<ProviderDto>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ProviderDto {
    pub name: String,
    pub url: String,
    /// `closed`, `open` or `half_open`.
    pub breaker: String,
    pub consecutive_failures: u32,
    pub calls: u64,
    pub failures: u64,
}

impl From<PaymentsStatus> for PspDto {
    fn from(status: PaymentsStatus) -> PspDto {
        PspDto {
            mode: match status.mode {
                PaymentsMode::Normal => "normal",
                PaymentsMode::AuthOnly => "auth_only",
            }
            .to_owned(),
            auth_only_manual: status.auth_only_manual,
            auth_only_auto: status.auth_only_auto,
            preferred: status.preferred,
            providers: status
                .providers
                .into_iter()
                .map(|provider| ProviderDto {
                    breaker: match provider.breaker {
                        BreakerState::Closed => "closed",
                        BreakerState::Open => "open",
                        BreakerState::HalfOpen => "half_open",
                    }
                    .to_owned(),
                    name: provider.name,
                    url: provider.url,
                    consecutive_failures: provider.consecutive_failures,
                    calls: provider.calls,
                    failures: provider.failures,
                })
                .collect(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PspChange {
    /// Defer captures to shipment (on), or capture at checkout again (off).
    pub auth_only: Option<bool>,
    /// Fail over: try this provider first.
    pub prefer: Option<String>,
}

/// The payment providers: breakers, preference, auth-only mode (operators).
#[utoipa::path(get, path = "/admin/psp", tag = "admin",
    responses((status = 200, body = PspDto)), security(("bearer" = [])))]
async fn get_psp(State(state): State<AppState>) -> Result<Json<PspDto>, Problem> {
    Ok(Json(state.sagas.payments().status().into()))
}

/// Switches auth-only mode, or fails over to another provider (operators).
#[utoipa::path(put, path = "/admin/psp", tag = "admin", request_body = PspChange,
    responses((status = 200, body = PspDto), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn put_psp(
    State(state): State<AppState>,
    Body(change): Body<PspChange>,
) -> Result<Json<PspDto>, Problem> {
    let payments = state.sagas.payments();
    if let Some(name) = &change.prefer {
        payments.prefer(name).map_err(|error| invalid("unknown_provider", error.to_string()))?;
    }
    if let Some(on) = change.auth_only {
        payments.set_auth_only(on);
    }
    Ok(Json(payments.status().into()))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LedgerDto {
    /// Every account with postings: `customer:ID`, `psp_clearing:NAME`, `seller_payable:ID`,
    /// `commission`, `vat_payable`, `refunds`. Debits positive, credits negative.
    pub balances: Vec<BalanceDto>,
    /// The sum of all balances per currency: zero, always.
    pub trial_balance: Vec<BalanceDto>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BalanceDto {
    pub account: Option<String>,
    pub currency: String,
    pub minor: i64,
}

/// The tenant's ledger balances and its trial balance (operators).
#[utoipa::path(get, path = "/admin/ledger", tag = "admin",
    responses((status = 200, body = LedgerDto)), security(("bearer" = [])))]
async fn get_ledger(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<LedgerDto>, Problem> {
    let balances = state
        .ledger
        .balances(&principal.tenant)
        .into_iter()
        .map(|balance| BalanceDto {
            account: Some(balance.account.to_string()),
            currency: balance.currency.to_string(),
            minor: balance.amount,
        })
        .collect();
    let trial_balance = state
        .ledger
        .trial_balance(&principal.tenant)
        .into_iter()
        .map(|(currency, minor)| BalanceDto {
            account: None,
            currency: currency.to_string(),
            minor,
        })
        .collect();
    Ok(Json(LedgerDto { balances, trial_balance }))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReconciliationDto {
    /// The providers whose settlement reports were compared.
    pub providers: Vec<String>,
    /// Authorizations compared (in the reports or the ledger).
    pub compared: usize,
    /// Empty when the ledger and every provider agree.
    pub mismatches: Vec<MismatchDto>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MismatchDto {
    pub psp: String,
    pub authorization_key: String,
    /// A stable code: what disagrees.
    pub kind: String,
    pub ledger_captured_minor: i64,
    pub ledger_refunded_minor: i64,
    pub psp_captured_minor: i64,
    pub psp_refunded_minor: i64,
}

/// Compares every provider's settlement report with the ledger and lists each mismatch
/// (operators; `bazaar reconcile` prints the same).
#[utoipa::path(get, path = "/admin/reconciliation", tag = "admin",
    responses((status = 200, body = ReconciliationDto),
        (status = 503, description = "A provider's report could not be fetched", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn get_reconciliation(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<ReconciliationDto>, Problem> {
    let reports = state.sagas.payments().settlement().await.map_err(|error| {
        let detail = match error {
            PaymentError::Unavailable { detail } => detail,
            other => other.to_string(),
        };
        Problem::of(
            ProblemKind::Unavailable,
            "payment_unavailable",
            "Payment provider unavailable",
            detail,
        )
        .retry_after(1)
    })?;
    let reports = of_tenant(&principal.tenant, reports);
    let movements = state.ledger.psp_movements(&principal.tenant);
    let mismatches = reconcile(&movements, &reports);
    let compared = reports
        .iter()
        .map(|report| report.authorizations.len())
        .sum::<usize>()
        .max(movements.len());
    Ok(Json(ReconciliationDto {
        providers: reports.iter().map(|report| report.psp.clone()).collect(),
        compared,
        mismatches: mismatches
            .into_iter()
            .map(|mismatch| MismatchDto {
                psp: mismatch.psp,
                authorization_key: mismatch.authorization_key,
                kind: mismatch.kind.code().to_owned(),
                ledger_captured_minor: mismatch.ledger.captured,
                ledger_refunded_minor: mismatch.ledger.refunded,
                psp_captured_minor: mismatch.reported.captured,
                psp_refunded_minor: mismatch.reported.refunded,
            })
            .collect(),
    }))
}
