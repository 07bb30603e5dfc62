//! The audit trail of the HTTP surface: every mutating request (POST, PUT, PATCH, DELETE) of a
//! seller, support agent or operator is recorded (who, what, when, from where, the request
//! id and the answer's status) in the principal's `AuditTrail` before the answer leaves, so
//! an answered change always has its record.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bazaar_actors::audit::{AuditCommand, AuditRecord, AuditTrail};

use crate::auth::{Principal, Role};
use crate::state::AppState;

/// The audit trail's entity id of a principal.
pub fn trail_key(tenant: &str, role: Role, principal: &str) -> String {
    format!("{tenant}/{}/{principal}", role.as_str())
}

/// Middleware: records audited requests once they are answered.
pub async fn layer(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let mutating =
        matches!(*request.method(), Method::POST | Method::PUT | Method::PATCH | Method::DELETE);
    // Without a bearer token there is no principal to audit (a guest); the route decides.
    if !mutating || !request.headers().contains_key(axum::http::header::AUTHORIZATION) {
        return next.run(request).await;
    }
    let (mut parts, body) = request.into_parts();
    let principal = match Principal::from_request_parts(&mut parts, &state).await {
        Ok(principal) => principal,
        Err(problem) => return problem.into_response(),
    };
    parts.extensions.insert(principal.clone());
    if !matches!(principal.role, Role::Seller | Role::Support | Role::Operator) {
        return next.run(Request::from_parts(parts, body)).await;
    }
    let method = parts.method.to_string();
    let path = parts.uri.path().to_string();
    let request_id =
        parts.headers.get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-").to_string();
    let remote = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "-".to_string(), |info| info.0.to_string());
    let response = next.run(Request::from_parts(parts, body)).await;
    let record = AuditRecord {
        at_ms: 0,
        method,
        path,
        status: response.status().as_u16(),
        request_id,
        remote,
    };
    let key = trail_key(&principal.tenant, principal.role, &principal.id);
    match state.engine.ask::<AuditTrail>(&key, AuditCommand::Record { record }).await {
        Ok(Ok(_)) => {}
        Ok(Err(rejection)) => tracing::error!(?rejection, "audit record refused"),
        // The change happened; its record did not. Loud, because compliance depends on it.
        Err(error) => tracing::error!(error = %error, "audit record not written"),
    }
    response
}
