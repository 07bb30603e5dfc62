//! Support cases raised by seller signals (`bazaar_actors::seller::signals`): support lists
//! them and closes them with a note. Routes that see a signal raise it here ([`raise`]).

use crate::openapi::routes;
use axum::Json;
use axum::extract::State;
use std::sync::Arc;

use bazaar_actors::SellerId;
use bazaar_actors::seller::cases::{Case, CasesCommand, Signal, SupportCases, entity_id};
use bazaar_actors::seller::signals;
use dashmap::DashMap;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

use super::answer;
use crate::auth::Principal;
use crate::extract::Path;
use crate::json::Optional;
use crate::problem::{Problem, not_found};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_cases)).routes(routes!(close_case))
}

/// Raises `signal` as a case of `tenant` (or counts it on the open one), apart from the
/// request that saw it (a stopping node waits for it). A signal is advice: a failure to
/// record it is logged, never the answer of that request.
pub(crate) fn raise(state: &AppState, tenant: &str, signal: Signal) {
    let (engine, key) = (state.engine.clone(), entity_id(tenant));
    state.requests.spawn(async move {
        let (seller, kind) = (signal.seller.to_string(), signal.kind.as_str());
        match engine.ask::<SupportCases>(&key, CasesCommand::Raise(signal)).await {
            Ok(Ok(_)) => tracing::info!(key, seller, kind, "support case raised"),
            Ok(Err(refused)) => {
                tracing::warn!(key, seller, kind, error = %refused, "support case not raised")
            }
            Err(error) => {
                tracing::warn!(key, seller, kind, error = %error, "support case not raised")
            }
        }
    });
}

/// New listings per seller in its current minute (from its first listing after the last
/// minute ran out), for the listing-burst signal. One entry per seller that has listed
/// since the node started (a tenant's sellers are bounded).
#[derive(Default)]
pub struct ListingBursts {
    minutes: DashMap<(Arc<str>, SellerId), (u64, u32)>,
}

impl ListingBursts {
    /// Counts a new listing of `seller` at `now_ms`; the count in its minute, this one
    /// included.
    fn note(&self, tenant: &str, seller: &SellerId, now_ms: u64) -> u32 {
        let key = (Arc::from(tenant), seller.clone());
        let mut entry = self.minutes.entry(key).or_insert((now_ms, 0));
        // A minute runs from the first listing after the last one ran out.
        if now_ms.saturating_sub(entry.0) >= 60_000 {
            *entry = (now_ms, 0);
        }
        entry.1 = entry.1.saturating_add(1);
        entry.1
    }
}

/// `seller` listed a new offer: counted, and a burst past the rules' threshold raises its
/// case.
pub(crate) fn listed(state: &AppState, tenant: &str, seller: &SellerId) {
    let count = state.listing_bursts.note(tenant, seller, state.engine.clock().now_ms());
    if let Some(signal) = signals::listing_burst(&state.sellers, seller, count) {
        raise(state, tenant, signal);
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CaseDto {
    pub number: u32,
    /// `price_drop`, `listing_burst` or `defect_rate`.
    pub kind: String,
    pub seller: String,
    /// What it is about within the seller (an ASIN), or empty.
    pub subject: String,
    /// The latest signal's words.
    pub detail: String,
    pub opened_at_ms: u64,
    /// Signals it has had, the first included.
    pub occurrences: u32,
    pub last_at_ms: u64,
    /// `open` or `closed`.
    pub status: String,
    pub closed_by: Option<String>,
    pub closing_note: Option<String>,
}

fn case_dto(case: &Case) -> CaseDto {
    let closed = case.closed.as_ref();
    CaseDto {
        number: case.number,
        kind: case.signal.kind.as_str().to_owned(),
        seller: case.signal.seller.to_string(),
        subject: case.signal.subject.clone(),
        detail: case.signal.detail.clone(),
        opened_at_ms: case.opened_at_ms,
        occurrences: case.occurrences,
        last_at_ms: case.last_at_ms,
        status: if closed.is_some() { "closed" } else { "open" }.to_owned(),
        closed_by: closed.map(|c| c.by.clone()),
        closing_note: closed.map(|c| c.note.clone()),
    }
}

/// The tenant's cases, newest first: every open one, and the latest closed ones.
#[utoipa::path(get, path = "/v1/support/cases", tag = "support",
    responses((status = 200, body = Vec<CaseDto>)), security(("bearer" = [])))]
async fn list_cases(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Vec<CaseDto>>, Problem> {
    let key = entity_id(&principal.tenant);
    let cases = answer(state.engine.ask::<SupportCases>(&key, CasesCommand::List).await)?;
    Ok(Json(cases.iter().rev().map(case_dto).collect()))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaseClosure {
    /// What support found or did.
    #[schema(schema_with = crate::fields::order_text_option)]
    pub note: Option<String>,
}

/// Closes a case with a note (closing it again answers it as it stands); a later signal of
/// the same kind about the same seller and subject opens a new one.
#[utoipa::path(post, path = "/v1/support/cases/{number}/closure", tag = "support",
    params(("number" = u32, Path)), request_body = CaseClosure,
    responses((status = 200, body = CaseDto), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`text_invalid`", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn close_case(
    State(state): State<AppState>,
    principal: Principal,
    Path(number): Path<String>,
    Optional(closure): Optional<CaseClosure>,
) -> Result<Json<CaseDto>, Problem> {
    let number: u32 = number.parse().map_err(|_| not_found("case"))?;
    let note = match closure.and_then(|closure| closure.note) {
        Some(note) => super::orders::text("note", &note)?,
        None => String::new(),
    };
    let close = CasesCommand::Close { number, by: principal.id.to_string(), note };
    let key = entity_id(&principal.tenant);
    let cases = super::found(state.engine.ask::<SupportCases>(&key, close).await, "case")?;
    let case = cases.iter().find(|case| case.number == number).ok_or_else(|| not_found("case"))?;
    Ok(Json(case_dto(case)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sellers_minute_runs_from_its_first_listing_and_counts_per_seller() {
        let bursts = ListingBursts::default();
        let (s1, s2) = (SellerId::parse("s1").unwrap(), SellerId::parse("s2").unwrap());
        assert_eq!(bursts.note("eu", &s1, 30_000), 1);
        assert_eq!(bursts.note("eu", &s1, 89_999), 2, "within the minute from the first");
        assert_eq!(bursts.note("eu", &s2, 89_999), 1, "another seller");
        assert_eq!(bursts.note("us", &s1, 89_999), 1, "another tenant");
        assert_eq!(bursts.note("eu", &s1, 90_000), 1, "a new minute");
    }
}
