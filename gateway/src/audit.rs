//! The audit trail of the HTTP surface: every mutating request (POST, PUT, PATCH, DELETE) of a
//! seller, support agent or operator is recorded (who, what, when, from where, the request
//! id and the answer's status) in the principal's `AuditTrail` before the answer leaves, so
//! an answered change always has its record.
//!
//! Invariant: no input keeps a request out of the trail. The request id is the server's (the
//! stack replaces whatever a client sent), and every text field is bounded
//! ([`bazaar_actors::audit::bounded`]: cut and marked), so a record never fails for what the
//! request held.

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::{ConnectInfo, FromRequestParts, Request};
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use bazaar_actors::audit::{AuditCommand, AuditRecord, AuditTrail, bounded};

use crate::auth::{Principal, Role};
use crate::limits::AUDIT_RETRY_MS_MAX;
use crate::state::AppState;

/// The audit trail's entity id of a principal.
pub fn trail_key(tenant: &str, role: Role, principal: &str) -> String {
    bazaar_actors::keys::compose(&[tenant, role.as_str(), principal])
}

/// Runs `run` on `request`, and records it in the trail once answered when it is audited:
/// mutating, with a bearer token, of a seller, support agent or operator. The first step of
/// every group of routes (`guarded` in `lib.rs`), before its role is checked, so a refused
/// change is recorded too.
pub async fn audited<F, Fut>(state: &AppState, request: Request, run: F) -> Response
where
    F: FnOnce(Request) -> Fut + Send + 'static,
    Fut: Future<Output = Response> + Send + 'static,
{
    let mutating =
        matches!(*request.method(), Method::POST | Method::PUT | Method::PATCH | Method::DELETE);
    // Without a bearer token there is no principal to audit (a guest); the route decides.
    if !mutating || !request.headers().contains_key(axum::http::header::AUTHORIZATION) {
        return run(request).await;
    }
    let (mut parts, body) = request.into_parts();
    let principal = match Principal::from_request_parts(&mut parts, state).await {
        Ok(principal) => principal,
        Err(problem) => return problem.into_response(),
    };
    parts.extensions.insert(principal.clone());
    if !matches!(principal.role, Role::Seller | Role::Support | Role::Operator) {
        return run(Request::from_parts(parts, body)).await;
    }
    let method = bounded(parts.method.as_str());
    let path = bounded(parts.uri.path());
    // The server's id (see `stack`): a client's own id never stands in for it.
    let request_id =
        bounded(parts.headers.get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-"));
    let remote = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "-".to_string(), |info| info.0.to_string());
    let record = AuditRecord { at_ms: 0, method, path, status: 0, request_id, remote };
    let key = trail_key(&principal.tenant, principal.role, &principal.id);
    // The request runs, and is recorded, apart from this future: a client that goes away or
    // the time limit drops this future, and a change made must still get its record. A
    // stopping node waits for it (`AppState::requests`).
    let (engine, unanswered) = (state.engine.clone(), record.clone());
    let task = state.requests.spawn(async move {
        let response = run(Request::from_parts(parts, body)).await;
        let status = response.status().as_u16();
        write(&engine, &key, AuditRecord { status, ..record }).await;
        response
    });
    match task.await {
        Ok(response) => response,
        Err(error) => {
            // A handler that panicked: what it did is not known, so it is recorded as a 500.
            tracing::error!(error = %error, "audited request failed");
            let key = trail_key(&principal.tenant, principal.role, &principal.id);
            write(&state.engine, &key, AuditRecord { status: 500, ..unanswered }).await;
            crate::problem::internal("the request failed").into_response()
        }
    }
}

/// Records `record`, retrying while the ask may pass (`EngineError::may_pass`: the change it records
/// was made: its record must follow), for at most `AUDIT_RETRY_MS_MAX`. A time-out may have
/// recorded it already, so a retry after one can record it twice: a duplicate record is
/// better than a missing one.
async fn write(engine: &bazaar_engine::Engine, key: &str, record: AuditRecord) {
    let deadline = tokio::time::Instant::now() + Duration::from_millis(AUDIT_RETRY_MS_MAX);
    let mut backoff = Duration::from_millis(20);
    loop {
        let command = AuditCommand::Record { record: record.clone() };
        match engine.ask::<AuditTrail>(key, command).await {
            Ok(Ok(_)) => return,
            Ok(Err(rejection)) => return tracing::error!(?rejection, "audit record refused"),
            Err(error) if error.may_pass() && tokio::time::Instant::now() + backoff < deadline => {
                tracing::warn!(error = %error, "audit record not written yet; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
            }
            // The change happened; its record did not. Loud, because compliance depends on it.
            Err(error) => return tracing::error!(error = %error, "audit record not written"),
        }
    }
}
