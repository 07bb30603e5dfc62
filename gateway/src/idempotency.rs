//! `Idempotency-Key`: a retried request replays the first answer instead of acting twice.
//!
//! Each key is an entity (kind `idempotency`), scoped by the principal (tenant, role and name)
//! and the route (method and route template), so that no two principals' keys ever meet, not
//! even a customer's and a seller's of the same name, holding the request's fingerprint and,
//! once finished, the stored answer. The same key with the same request replays the answer;
//! with another request it is 422; while the first is still running it is 409. A 5xx answer
//! is not stored (the client should retry), nor is an answer with personal data in clear
//! ([`PersonalData`]), nor a 401 or 403 (a refusal of who is asking:
//! the route's role check runs before this middleware, so this is a handler's own refusal,
//! which the same principal should meet afresh) or a 429, and a request that died mid-way (a crash)
//! releases its key after the lease, so the retry proceeds. Effects behind a key are
//! themselves idempotent (their ids derive from the key), so a crash between the effect and
//! the stored answer cannot act twice.
//!
//! Requests are compared by content: the fingerprint covers method, path and query, and the
//! body in canonical form when it is JSON ([`canonical_json`]: keys sorted, no spaces), so a
//! retry whose JSON a client re-serialized is the same request.
//!
//! Invariants: at most one request per key runs at a time; a completed key's answer never
//! changes; a stored answer is replayed only to the principal whose request passed its route's
//! role check (a principal's role is part of its scope, and refusals are not stored).

use std::time::Duration;

use axum::body::Body;
use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bazaar_engine::{Ctx, Decision, Engine, Entity, Kind};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::auth::Principal;
use crate::limits::{IDEMPOTENCY_KEY_BYTES_MAX, IDEMPOTENT_BODY_BYTES_MAX};
use crate::problem::{Problem, ProblemKind, internal};
use crate::routes::seller::RouteLimits;
use crate::state::AppState;

pub const KIND: Kind = bazaar_actors::kinds::IDEMPOTENCY;
pub const HEADER: &str = "idempotency-key";
pub const REPLAYED_HEADER: &str = "idempotent-replayed";

/// Marks an answer that carries personal data in clear (a response extension): it is never
/// stored under its key, which would put the data on disk, so a retry runs again. A route
/// that answers with it must be idempotent by itself.
#[derive(Debug, Clone, Copy)]
pub struct PersonalData;

/// Marks an answer that reports work a stopping node cut short (a feed whose lines not begun
/// were refused with `shutting_down`): not stored under its key, so a retry runs again and
/// applies those lines (feeds are idempotent).
#[derive(Debug, Clone, Copy)]
pub struct Unfinished;

/// A request's fingerprint: SHA-256 over method, path and body.
pub type Fingerprint = [u8; 32];

/// The fingerprint of a request; a JSON body counts by its content ([`canonical_json`]).
pub fn fingerprint(method: &str, path: &str, body: &[u8]) -> Fingerprint {
    let canonical = canonical_json(body);
    let body = canonical.as_deref().unwrap_or(body);
    let mut hasher = Sha256::new();
    for part in [method.as_bytes(), b"\n", path.as_bytes(), b"\n", body] {
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// `body` in canonical JSON (object keys sorted, no insignificant space, strings with one
/// escaping), or `None` when it is not one JSON value. Two bodies with the same content have
/// the same canonical form, whatever their key order or spacing.
pub fn canonical_json(body: &[u8]) -> Option<Vec<u8>> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let mut out = Vec::with_capacity(body.len());
    write_canonical(&value, &mut out);
    Some(out)
}

fn write_canonical(value: &serde_json::Value, out: &mut Vec<u8>) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut fields: Vec<_> = map.iter().collect();
            fields.sort_unstable_by(|a, b| a.0.cmp(b.0));
            out.push(b'{');
            for (i, (name, field)) in fields.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(&Value::String(name.clone()), out);
                out.push(b':');
                write_canonical(field, out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        // Writing to a Vec cannot fail, nor can a scalar fail to serialize.
        scalar => out.extend_from_slice(scalar.to_string().as_bytes()),
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum IdempotencyKey {
    #[default]
    Unused,
    Running {
        fingerprint: Fingerprint,
        lease_until_ms: u64,
    },
    Completed {
        fingerprint: Fingerprint,
        answer: StoredAnswer,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredAnswer {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum IdempotencyCommand {
    Begin {
        fingerprint: Fingerprint,
        lease_ms: u64,
    },
    Complete {
        fingerprint: Fingerprint,
        answer: StoredAnswer,
    },
    Release {
        fingerprint: Fingerprint,
    },
    /// The running request is still running: its lease lasts `lease_ms` from now.
    Renew {
        fingerprint: Fingerprint,
        lease_ms: u64,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum IdempotencyEvent {
    Began { fingerprint: Fingerprint, lease_until_ms: u64 },
    Completed { fingerprint: Fingerprint, answer: StoredAnswer },
    Released,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Begun {
    Proceed,
    Replay(StoredAnswer),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum IdempotencyRejection {
    /// The key was used for a different request.
    Mismatch,
    /// The first request with this key is still running.
    InProgress,
    /// Complete or Release by a request that does not hold the key.
    NotHeld,
}

impl Entity for IdempotencyKey {
    const KIND: Kind = KIND;
    type Command = IdempotencyCommand;
    type Event = IdempotencyEvent;
    type Reply = Begun;
    type Rejection = IdempotencyRejection;

    fn decide(
        &self,
        command: IdempotencyCommand,
        ctx: &Ctx<'_>,
    ) -> Result<Decision<Self>, IdempotencyRejection> {
        use IdempotencyKey::*;
        match (command, self) {
            (
                IdempotencyCommand::Begin { fingerprint, .. },
                Completed { fingerprint: first, answer },
            ) => {
                if fingerprint == *first {
                    Ok((vec![], Begun::Replay(answer.clone())))
                } else {
                    Err(IdempotencyRejection::Mismatch)
                }
            }
            (
                IdempotencyCommand::Begin { fingerprint, .. },
                Running { fingerprint: first, lease_until_ms },
            ) if ctx.now_ms < *lease_until_ms => Err(if fingerprint == *first {
                IdempotencyRejection::InProgress
            } else {
                IdempotencyRejection::Mismatch
            }),
            (IdempotencyCommand::Begin { fingerprint, lease_ms }, Unused | Running { .. }) => {
                let lease_until_ms = ctx.now_ms.saturating_add(lease_ms);
                Ok((vec![IdempotencyEvent::Began { fingerprint, lease_until_ms }], Begun::Proceed))
            }
            (
                IdempotencyCommand::Complete { fingerprint, answer },
                Running { fingerprint: held, .. },
            ) if fingerprint == *held => {
                Ok((vec![IdempotencyEvent::Completed { fingerprint, answer }], Begun::Proceed))
            }
            (IdempotencyCommand::Release { fingerprint }, Running { fingerprint: held, .. })
                if fingerprint == *held =>
            {
                Ok((vec![IdempotencyEvent::Released], Begun::Proceed))
            }
            (
                IdempotencyCommand::Renew { fingerprint, lease_ms },
                Running { fingerprint: held, .. },
            ) if fingerprint == *held => {
                let lease_until_ms = ctx.now_ms.saturating_add(lease_ms);
                Ok((vec![IdempotencyEvent::Began { fingerprint, lease_until_ms }], Begun::Proceed))
            }
            (
                IdempotencyCommand::Complete { .. }
                | IdempotencyCommand::Release { .. }
                | IdempotencyCommand::Renew { .. },
                _,
            ) => Err(IdempotencyRejection::NotHeld),
        }
    }

    fn apply(&mut self, event: &IdempotencyEvent) {
        *self = match event {
            IdempotencyEvent::Began { fingerprint, lease_until_ms } => IdempotencyKey::Running {
                fingerprint: *fingerprint,
                lease_until_ms: *lease_until_ms,
            },
            IdempotencyEvent::Completed { fingerprint, answer } => {
                IdempotencyKey::Completed { fingerprint: *fingerprint, answer: answer.clone() }
            }
            IdempotencyEvent::Released => IdempotencyKey::Unused,
        };
    }
}

/// The entity id of a key: the principal (tenant, role, name), the route (method and route
/// template) and the client's key, composed injectively.
fn entity_id(principal: &Principal, route: (&str, &str), key: &str) -> String {
    let (method, template) = route;
    bazaar_actors::keys::compose(&[
        &principal.tenant,
        principal.role.as_str(),
        &principal.id,
        method,
        template,
        key,
    ])
}

/// 422 for a key reused with another request (here and for checkouts, one title).
pub fn key_reused(detail: impl Into<String>) -> Problem {
    Problem::of(ProblemKind::Invalid, "idempotency_key_reused", "Idempotency-Key reused", detail)
}

/// Refuses a request without a key on a route that moves money at once (400
/// `idempotency_key_required`): the layer answers a retry with its key; without one, nothing
/// could tell a retry from a second request.
/// Answers the key, to name the request in the domain too (a retry that outlives the layer's
/// memory, or meets a first attempt that failed after its write, is answered from state).
pub fn required(headers: &HeaderMap) -> Result<String, Problem> {
    if let Some(key) = key_of(headers)? {
        return Ok(key);
    }
    let detail = "this request moves money: it needs an Idempotency-Key header, so that a retry cannot act twice";
    Err(crate::problem::bad_request("idempotency_key_required", detail))
}

/// The client's key, if it sent one; a malformed key is a 400.
pub fn key_of(headers: &HeaderMap) -> Result<Option<String>, Problem> {
    let Some(value) = headers.get(HEADER) else { return Ok(None) };
    let key =
        value.to_str().map_err(|_| bad_key("the Idempotency-Key header must be visible ASCII"))?;
    if key.is_empty()
        || key.len() > IDEMPOTENCY_KEY_BYTES_MAX
        || !key.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(bad_key(&format!(
            "the Idempotency-Key must be 1 to {IDEMPOTENCY_KEY_BYTES_MAX} visible ASCII characters"
        )));
    }
    Ok(Some(key.to_string()))
}

fn bad_key(detail: &str) -> Problem {
    Problem::of(
        ProblemKind::BadRequest,
        "invalid_idempotency_key",
        "Invalid Idempotency-Key",
        detail,
    )
}

/// Runs `run` at most once per key: replays a stored answer, refuses a mismatched or running
/// key, stores the answer of a finished request (unless it is a 5xx).
pub async fn once<F>(
    engine: &Engine,
    principal: &Principal,
    (route, key): ((&str, &str), String),
    fingerprint: Fingerprint,
    lease_ms: u64,
    run: F,
) -> Response
where
    F: Future<Output = Response>,
{
    let id = entity_id(principal, route, &key);
    let begin = IdempotencyCommand::Begin { fingerprint, lease_ms };
    match engine.ask::<IdempotencyKey>(&id, begin).await {
        Err(error) => return Problem::from(error).into_response(),
        Ok(Err(IdempotencyRejection::Mismatch)) => {
            return key_reused("this Idempotency-Key was used for a different request")
                .into_response();
        }
        Ok(Err(IdempotencyRejection::InProgress | IdempotencyRejection::NotHeld)) => {
            return Problem::of(
                ProblemKind::Conflict,
                "idempotency_key_in_progress",
                "Request in progress",
                "a request with this Idempotency-Key is still running; retry later",
            )
            .retry_after(1)
            .into_response();
        }
        Ok(Ok(Begun::Replay(answer))) => return replay(answer),
        Ok(Ok(Begun::Proceed)) => {}
    }
    // The lease lasts as long as the request runs (an audited change goes on past the time
    // limit's answer): renewed while it runs, so a retry meets 409 until it ends. A request
    // that died with its process stops renewing, and its key is free once the lease ends.
    let renew = async {
        loop {
            tokio::time::sleep(Duration::from_millis(lease_ms / 3)).await;
            let renew = IdempotencyCommand::Renew { fingerprint, lease_ms };
            if let Ok(Err(rejection)) = engine.ask::<IdempotencyKey>(&id, renew).await {
                tracing::warn!(?rejection, "idempotency lease not renewed");
            }
        }
    };
    let response = tokio::select! {
        response = run => response,
        () = renew => unreachable!("the renewal loop never ends"),
    };
    let (parts, body) = response.into_parts();
    // Handlers answer whole bodies, so reading one cannot fail; say so if it does.
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => bytes,
        Err(error) => {
            tracing::error!(error = %error, "an answer could not be read");
            let _ = engine
                .ask::<IdempotencyKey>(&id, IdempotencyCommand::Release { fingerprint })
                .await;
            return internal("the answer could not be read").into_response();
        }
    };
    if bytes.len() > IDEMPOTENT_BODY_BYTES_MAX {
        // Every route bounds its answer below this (a feed's lists only what fits), so this
        // is a bug; but the effect stands, so its answer is given, never a 5xx. The key is
        // released: a retry runs again, and effects behind a key are idempotent.
        tracing::error!(bytes = bytes.len(), "an answer too large to store under its key");
        let _ =
            engine.ask::<IdempotencyKey>(&id, IdempotencyCommand::Release { fingerprint }).await;
        return Response::from_parts(parts, Body::from(bytes));
    }
    // A refusal of who is asking is not an answer to replay: nothing passed the role check;
    // nor is a rate limit's, which the same request passes later.
    let refused = matches!(
        parts.status,
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::TOO_MANY_REQUESTS
    );
    let personal = parts.extensions.get::<PersonalData>().is_some()
        || parts.extensions.get::<Unfinished>().is_some();
    let command = if parts.status.is_server_error() || refused || personal {
        IdempotencyCommand::Release { fingerprint }
    } else {
        let content_type = parts
            .headers
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/json")
            .to_string();
        IdempotencyCommand::Complete {
            fingerprint,
            answer: StoredAnswer {
                status: parts.status.as_u16(),
                content_type,
                body: bytes.to_vec(),
            },
        }
    };
    if let Err(error) = engine.ask::<IdempotencyKey>(&id, command).await {
        // The effect happened; the answer is not stored. A retry re-runs an idempotent effect.
        tracing::warn!(error = %error, "idempotency answer not stored");
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// Middleware: every POST, PUT, PATCH or DELETE that carries an `Idempotency-Key` runs at
/// most once per key (see [`once`]); other requests pass straight through. The caller's
/// principal is read here (on role routes `auth::admit` has checked it already; guests pass
/// through unkeyed), since keys are scoped by principal and route (the matched route
/// template: routing has happened, since this runs as a layer of the router's routes).
pub async fn layer(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let mutating =
        matches!(*request.method(), Method::POST | Method::PUT | Method::PATCH | Method::DELETE);
    // Keys are scoped by principal: a request without a bearer token (a guest's) is not
    // deduplicated, and its route decides whether it may run at all.
    let authenticated = request.headers().contains_key(axum::http::header::AUTHORIZATION);
    let key = match key_of(request.headers()) {
        Ok(Some(key)) if mutating && authenticated => key,
        Ok(_) => return next.run(request).await,
        Err(problem) => return problem.into_response(),
    };
    let (mut parts, body) = request.into_parts();
    let principal = match Principal::from_request_parts(&mut parts, &state).await {
        Ok(principal) => principal,
        Err(problem) => return problem.into_response(),
    };
    let template = parts
        .extensions
        .get::<MatchedPath>()
        .map_or_else(|| parts.uri.path().to_string(), |matched| matched.as_str().to_string());
    // The route's own limits: each feed's for the feeds, the usual ones for every other route.
    let limits = RouteLimits::of(&template);
    let limit = limits.body_bytes;
    let Ok(bytes) = axum::body::to_bytes(body, limit).await else {
        let detail = format!("a body is at most {limit} bytes");
        return Problem::of(ProblemKind::BodyTooLarge, "body_too_large", "Body too large", detail)
            .into_response();
    };
    let target = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path().to_string(), |pq| pq.as_str().to_string());
    let print =
        keyed(&state, &principal, fingerprint(parts.method.as_str(), &target, &bytes)).await;
    let method = parts.method.clone();
    parts.extensions.insert(principal.clone());
    let request = Request::from_parts(parts, Body::from(bytes));
    let scope = ((method.as_str(), template.as_str()), key);
    once(&state.engine, &principal, scope, print, limits.time_ms, next.run(request)).await
}

/// A customer's fingerprint under its own key (its bodies may hold its personal data, whose
/// digest erasure must leave unlinkable; an erased customer's under the master key); the
/// others' as they are.
async fn keyed(state: &AppState, principal: &Principal, print: Fingerprint) -> Fingerprint {
    let Ok(customer) = principal.customer() else { return print };
    match state.vault.sealer(&principal.tenant, customer.as_str()).await {
        Ok(sealer) => sealer.digest(&print),
        Err(_) => state.vault.digest(&print),
    }
}

fn replay(answer: StoredAnswer) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    let mut response = (status, answer.body).into_response();
    let headers = response.headers_mut();
    if let Ok(content_type) = HeaderValue::from_str(&answer.content_type) {
        headers.insert(axum::http::header::CONTENT_TYPE, content_type);
    }
    headers.insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
    response
}

#[cfg(test)]
mod tests;
