//! The middleware every request passes, in one layer: a request id (always made by the
//! server, echoed in the response and in every log line of the request, and the audit's; a
//! client's own `x-request-id` is kept beside it, echoed as `x-client-request-id` when it is
//! 1 to 128 visible ASCII characters), a trace span (503 and 504 logged as warnings, other
//! failures as errors), a body-size limit, a time limit (answered 503 problem+json),
//! problem+json for unknown routes, the refusal of URLs that are too long or not in normal
//! form, and the net under all of them.
//!
//! Invariants:
//! - Every answer with an error status is `application/problem+json` with a stable `code`:
//!   [`as_problem`] turns any other (axum's own 405, a limit's bare status) into a problem whose
//!   code follows from the status ([`Problem::of_status`]), keeping its headers (`Allow`,
//!   `Retry-After`). Extractors and handlers answer precise problems themselves; the net is
//!   for what no handler sees.
//! - A path with a dot segment (`.` or `..`, in any spelling: `%2e`, `.%2E`...) is refused 400
//!   `dot_segment` before routing: no id is `.` or `..`, and a client or proxy that
//!   normalises the path would send another request than the one meant.
//! - A URL longer than [`URI_BYTES_MAX`] is refused 414 `uri_too_long` before routing.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Request, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Instrument;

use crate::limits::CLIENT_REQUEST_ID_BYTES_MAX;
use crate::limits::{BODY_BYTES_MAX, URI_BYTES_MAX};
use crate::problem::{Problem, ProblemKind, RETRY_AFTER_S, bad_request};
use crate::routes::seller::RouteLimits;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const CLIENT_REQUEST_ID: HeaderName = HeaderName::from_static("x-client-request-id");

static NEXT_REQUEST: AtomicU64 = AtomicU64::new(1);

/// The whole stack, in one layer (each layer of its own cost a boxed future and a clone of
/// the service under it on every request): the request id, the span, the URL's checks, the
/// time limit, the problem net and the failure log, around the body limit and the routes.
pub fn layered(router: Router) -> Router {
    let mut seed = [0u8; 4];
    let _ = getrandom::fill(&mut seed);
    let prefix = u32::from_le_bytes(seed);
    router
        .fallback(unknown_route)
        .layer(DefaultBodyLimit::max(BODY_BYTES_MAX))
        .layer(axum::middleware::from_fn(move |request, next| edge(prefix, request, next)))
}

/// The request's id: a client's `x-request-id` is taken off the request and the server's put
/// in its place (a random prefix per process and a counter, so ids are unique and cheap), for
/// the span and the audit to read; the answer carries it (unless a handler set its own), and
/// the client's id beside it when that is short visible ASCII. Everything else runs inside
/// the request's span.
async fn edge(prefix: u32, mut request: Request<Body>, next: Next) -> Response {
    let started = Instant::now();
    let client = request.headers_mut().remove(REQUEST_ID).filter(|id| {
        (1..=CLIENT_REQUEST_ID_BYTES_MAX).contains(&id.len())
            && id.as_bytes().iter().all(u8::is_ascii_graphic)
    });
    let n = NEXT_REQUEST.fetch_add(1, Ordering::Relaxed);
    let text = format!("{prefix:08x}-{n:x}");
    let (method, path) = (request.method(), request.uri().path());
    let span = tracing::info_span!("request", %method, %path, request_id = %text);
    // Hex digits and a dash: always a valid header value.
    let id = HeaderValue::try_from(text).unwrap_or(HeaderValue::from_static("-"));
    request.headers_mut().insert(REQUEST_ID, id.clone());
    let mut response = answer(request, next).instrument(span.clone()).await;
    span.in_scope(|| log_answer(response.status(), started.elapsed()));
    response.headers_mut().entry(REQUEST_ID).or_insert(id);
    if let Some(id) = client {
        response.headers_mut().insert(CLIENT_REQUEST_ID, id);
    }
    response
}

/// Refuses a URL that is too long, or whose path has a dot segment; runs the route within its
/// time limit (`RouteLimits`: past it, 503 `request_timeout`; the handler is dropped, but an
/// audited change, a seller's, support's or operator's, runs apart from it (`audit.rs`) and
/// may still finish: a client retries it with the same `Idempotency-Key`); then makes any
/// error answer a problem ([`as_problem`]; see the module's invariants).
async fn answer(request: Request<Body>, next: Next) -> Response {
    let uri = request.uri();
    let length = uri.path_and_query().map_or(0, |target| target.as_str().len());
    if length > URI_BYTES_MAX {
        let detail = format!("a URL is at most {URI_BYTES_MAX} bytes");
        return Problem::of(ProblemKind::UriTooLong, "uri_too_long", "URI too long", detail)
            .into_response();
    }
    if uri.path().split('/').any(is_dot_segment) {
        let detail = "a path segment may not be '.' or '..' (however escaped): no id is";
        return bad_request("dot_segment", detail).into_response();
    }
    let limit = RouteLimits::of(uri.path()).time_ms;
    let response = match tokio::time::timeout(Duration::from_millis(limit), next.run(request)).await
    {
        Ok(response) => response,
        Err(_) => Problem::of(
            ProblemKind::Unavailable,
            "request_timeout",
            "Timed out",
            "the request took too long",
        )
        .retry_after(RETRY_AFTER_S)
        .into_response(),
    };
    as_problem(response).await
}

/// Logs a request's answer: a 500 (any 5xx but these two) is an error an operator must look
/// at; 503 and 504 are expected states the answer already reports (a provider down, an open
/// breaker, overload, a time-out), so they are warnings; the rest is debug.
fn log_answer(status: StatusCode, latency: Duration) {
    let latency_ms = latency.as_millis() as u64;
    if status == StatusCode::SERVICE_UNAVAILABLE || status == StatusCode::GATEWAY_TIMEOUT {
        tracing::warn!(status = status.as_u16(), latency_ms, "request answered {status}");
    } else if status.is_server_error() {
        tracing::error!(status = status.as_u16(), latency_ms, "request failed with {status}");
    } else {
        tracing::debug!(status = status.as_u16(), latency_ms, "request answered");
    }
}

/// Whether a raw path segment means `.` or `..` once its escapes are decoded: one or two
/// dots, each `.` or `%2e` in either case. Every request's every segment passes here, so it
/// reads the bytes without allocating.
pub(crate) fn is_dot_segment(segment: &str) -> bool {
    let mut rest = segment.as_bytes();
    let mut dots = 0;
    while !rest.is_empty() {
        rest = match rest {
            [b'.', tail @ ..] => tail,
            [b'%', b'2', e, tail @ ..] if e.eq_ignore_ascii_case(&b'e') => tail,
            _ => return false,
        };
        dots += 1;
        if dots > 2 {
            return false;
        }
    }
    dots > 0
}

/// The net: an error answer that is not a problem becomes one (see the module's invariants).
pub async fn as_problem(response: Response) -> Response {
    let status = response.status();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/problem+json"));
    if !(status.is_client_error() || status.is_server_error()) || is_problem {
        return response;
    }
    tracing::debug!(status = status.as_u16(), "an error answer made a problem");
    let (mut parts, _) = response.into_parts();
    let detail = status.canonical_reason().unwrap_or("the request failed").to_ascii_lowercase();
    let problem = Problem::of_status(status, detail).into_response();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts
        .headers
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
    Response::from_parts(parts, problem.into_body())
}

async fn unknown_route() -> impl IntoResponse {
    Problem::of(ProblemKind::NotFound, "no_route", "Not found", "no such route")
}

#[cfg(test)]
mod tests {
    use super::is_dot_segment;
    use proptest::prelude::*;

    /// The rule as written first: lower-case the segment, decode `%2e`, compare.
    fn decoded_is_dot(segment: &str) -> bool {
        let decoded = segment.to_ascii_lowercase().replace("%2e", ".");
        decoded == "." || decoded == ".."
    }

    #[test]
    fn dot_segments_in_every_spelling() {
        for dot in [".", "..", "%2e", "%2E", ".%2e", "%2E.", "%2e%2E"] {
            assert!(is_dot_segment(dot), "{dot:?}");
        }
        for other in ["", "...", "a", ".a", "%2e%2e%2e", "%2", "%2f", "%%2e", "%2%2ee", "v1"] {
            assert!(!is_dot_segment(other), "{other:?}");
        }
    }

    proptest! {
        #[test]
        fn reading_the_bytes_agrees_with_decoding(segment in "([.%2eEa]|%2[eE]){0,5}") {
            prop_assert_eq!(is_dot_segment(&segment), decoded_is_dot(&segment));
        }
    }

    /// A request running past the usual limit is answered 503 `request_timeout`; a bulk feed
    /// may run longer (its lines are applied one by one), up to its own limit.
    #[tokio::test(start_paused = true)]
    async fn each_route_runs_within_its_own_time_limit() {
        use crate::limits::{FEED_TIMEOUT_MS, REQUEST_TIMEOUT_MS};
        use crate::routes::seller::FEED_PATH;
        use axum::body::Body;
        use axum::http::{Request, StatusCode};
        use tower::ServiceExt;

        let past_the_usual = std::time::Duration::from_millis(REQUEST_TIMEOUT_MS + 1_000);
        let slow = move || async move {
            tokio::time::sleep(past_the_usual).await;
            "done"
        };
        let router = super::layered(
            axum::Router::new()
                .route("/v1/slow", axum::routing::post(slow))
                .route(FEED_PATH, axum::routing::post(slow)),
        );
        let status = |path: &str| {
            let request = Request::post(path).body(Body::empty()).unwrap();
            let router = router.clone();
            async move { router.oneshot(request).await.unwrap().status() }
        };
        assert_eq!(status("/v1/slow").await, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(status(FEED_PATH).await, StatusCode::OK);
        assert!(past_the_usual.as_millis() < u128::from(FEED_TIMEOUT_MS));
    }
}
