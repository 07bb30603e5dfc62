//! The middleware every request passes: a request id (always made by the server, echoed in
//! the response and in every log line of the request, and the audit's; a client's own
//! `x-request-id` is kept beside it, echoed as `x-client-request-id` when it is 1 to 128
//! visible ASCII characters), a trace span, a body-size limit, a time limit (answered 503
//! problem+json), and problem+json for unknown routes.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request, StatusCode};
use axum::response::IntoResponse;
use tower::ServiceBuilder;
use tower_http::classify::ServerErrorsFailureClass;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::TraceLayer;

use crate::limits::{BODY_BYTES_MAX, REQUEST_TIMEOUT_MS};
use crate::problem::Problem;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const CLIENT_REQUEST_ID: HeaderName = HeaderName::from_static("x-client-request-id");
/// Longest client request id echoed back.
const CLIENT_REQUEST_ID_BYTES_MAX: usize = 128;

/// Takes a client's `x-request-id` off the request, so the server makes the request's id,
/// and echoes it beside the server's when it is short visible ASCII.
async fn client_request_id(
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let client = request.headers_mut().remove(REQUEST_ID).filter(|id| {
        (1..=CLIENT_REQUEST_ID_BYTES_MAX).contains(&id.len())
            && id.as_bytes().iter().all(u8::is_ascii_graphic)
    });
    let mut response = next.run(request).await;
    if let Some(id) = client {
        response.headers_mut().insert(CLIENT_REQUEST_ID, id);
    }
    response
}

/// Request ids: a random prefix per process and a counter, so they are unique and cheap.
#[derive(Clone)]
struct RequestIds {
    prefix: u32,
}

static NEXT_REQUEST: AtomicU64 = AtomicU64::new(1);

impl MakeRequestId for RequestIds {
    fn make_request_id<B>(&mut self, _request: &Request<B>) -> Option<RequestId> {
        let n = NEXT_REQUEST.fetch_add(1, Ordering::Relaxed);
        format!("{:08x}-{n:x}", self.prefix).parse().ok().map(RequestId::new)
    }
}

pub fn layered(router: Router) -> Router {
    let mut seed = [0u8; 4];
    let _ = getrandom::fill(&mut seed);
    let ids = RequestIds { prefix: u32::from_le_bytes(seed) };
    let trace = TraceLayer::new_for_http()
        .make_span_with(|request: &Request<_>| {
            let id =
                request.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id = %id)
        })
        .on_failure(log_failure);
    router.fallback(unknown_route).layer(
        ServiceBuilder::new()
            .layer(axum::middleware::from_fn(client_request_id))
            .layer(SetRequestIdLayer::new(REQUEST_ID, ids))
            .layer(PropagateRequestIdLayer::new(REQUEST_ID))
            .layer(trace)
            .layer(HandleErrorLayer::new(|_: tower::BoxError| async {
                Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "request_timeout",
                    "Timed out",
                    "the request took too long",
                )
                .retry_after(1)
            }))
            .timeout(Duration::from_millis(REQUEST_TIMEOUT_MS))
            .layer(DefaultBodyLimit::max(BODY_BYTES_MAX)),
    )
}

/// Logs a failed request: a 500 (or a failure with no answer) is an error an operator must
/// look at; 503 and 504 are expected states the answer already reports (a provider down, an
/// open breaker, overload, a time-out), so they are warnings.
fn log_failure(class: ServerErrorsFailureClass, latency: Duration, _span: &tracing::Span) {
    let latency_ms = latency.as_millis() as u64;
    match class {
        ServerErrorsFailureClass::StatusCode(status)
            if status == StatusCode::SERVICE_UNAVAILABLE
                || status == StatusCode::GATEWAY_TIMEOUT =>
        {
            tracing::warn!(status = status.as_u16(), latency_ms, "request answered {status}");
        }
        ServerErrorsFailureClass::StatusCode(status) => {
            tracing::error!(status = status.as_u16(), latency_ms, "request failed with {status}");
        }
        ServerErrorsFailureClass::Error(error) => {
            tracing::error!(error = %error, latency_ms, "request failed");
        }
    }
}

async fn unknown_route() -> impl IntoResponse {
    Problem::new(StatusCode::NOT_FOUND, "no_route", "Not found", "no such route")
}
