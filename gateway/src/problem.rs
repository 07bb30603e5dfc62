//! Every error the gateway answers: `application/problem+json` (RFC 9457) with a stable `code`.
//!
//! Invariants:
//! - This module is the one place a failure becomes an HTTP status. Every problem names a
//!   [`ProblemKind`] (one closed list), and [`ProblemKind::status`] is the one exhaustive match from a kind
//!   to a status (no `_` arm). A [`Problem`] cannot be built elsewhere (its status is
//!   private), and `tests/tidy.rs` refuses an error `StatusCode::` outside this file.
//! - Each failure type the gateway meets maps to kinds here and only here, by exhaustive
//!   matches: the engine's [`ErrorKind`], a rejection's [`RejectionKind`], the search index's
//!   [`SearchErrorKind`], a cart hold's [`ReserveFailure`], a checkout's [`FailureCode`].
//!   So an overloaded or timed-out engine is 503 or 504 wherever it is met, never 404.
//! - Routes choose a kind, a stable code and a detail; a status a lower layer already chose
//!   (axum's own 405, the HTTP parser's 431) becomes a problem through [`Problem::of_status`].

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bazaar_actors::RejectionKind;
use bazaar_actors::checkout::{Failure, FailureCode};
use bazaar_engine::{EngineError, ErrorKind};
use bazaar_services::catalog::ReserveFailure;
use bazaar_services::pii::VaultError;
use bazaar_services::search::{SearchError, SearchErrorKind};
use serde::Serialize;

/// Seconds a client should wait before retrying an overloaded or unavailable request.
pub const RETRY_AFTER_S: u64 = 1;

/// What kind of failure a problem reports: the closed list of every error the gateway sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    /// The request's shape is wrong (a header, a path, a query, malformed JSON): 400.
    BadRequest,
    /// No or an unknown credential: 401.
    Unauthenticated,
    /// The payment was declined: 402.
    PaymentDeclined,
    /// The principal may not do this: 403.
    Forbidden,
    /// No such resource, or another principal's (ids do not leak): 404.
    NotFound,
    /// Well formed, but clashes with the current state: 409.
    Conflict,
    /// The body is over its limit: 413.
    BodyTooLarge,
    /// The URL is over its limit: 414.
    UriTooLong,
    /// The body is not in a media type the route takes: 415.
    UnsupportedMediaType,
    /// A value the request carried is not acceptable: 422.
    Invalid,
    /// Over a rate limit: 429.
    TooManyRequests,
    /// A bug: 500.
    Internal,
    /// Overloaded, shutting down, not ready, a dependency down: 503.
    Unavailable,
    /// No answer in time: 504.
    Timeout,
}

impl ProblemKind {
    /// The one match from a kind to an HTTP status.
    pub fn status(self) -> StatusCode {
        match self {
            ProblemKind::BadRequest => StatusCode::BAD_REQUEST,
            ProblemKind::Unauthenticated => StatusCode::UNAUTHORIZED,
            ProblemKind::PaymentDeclined => StatusCode::PAYMENT_REQUIRED,
            ProblemKind::Forbidden => StatusCode::FORBIDDEN,
            ProblemKind::NotFound => StatusCode::NOT_FOUND,
            ProblemKind::Conflict => StatusCode::CONFLICT,
            ProblemKind::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ProblemKind::UriTooLong => StatusCode::URI_TOO_LONG,
            ProblemKind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ProblemKind::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
            ProblemKind::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            ProblemKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ProblemKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ProblemKind::Timeout => StatusCode::GATEWAY_TIMEOUT,
        }
    }
}

/// A problem document (RFC 9457).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI naming the problem type: `/problems/{code}`.
    #[serde(rename = "type")]
    #[schema(rename = "type")]
    pub kind: String,
    pub title: &'static str,
    /// Private: a problem's status comes from its [`ProblemKind`], chosen in this module only.
    status: u16,
    /// A stable, machine-readable code; never reused for another meaning.
    pub code: &'static str,
    pub detail: String,
    /// For a failed checkout: the saga step that failed (`reserve`, `fraud`, `authorize`...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<&'static str>,
    #[serde(skip)]
    #[schema(ignore)]
    pub retry_after_s: Option<u64>,
}

impl Problem {
    /// A problem of `kind`, with its stable `code`.
    pub fn of(
        kind: ProblemKind,
        code: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Problem {
        Problem::with_status(kind.status(), code, title, detail)
    }

    fn with_status(
        status: StatusCode,
        code: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Problem {
        Problem {
            kind: format!("/problems/{code}"),
            title,
            status: status.as_u16(),
            code,
            detail: detail.into(),
            step: None,
            retry_after_s: None,
        }
    }

    /// The net: an error answer whose status a lower layer chose (axum's own 405, a limit's
    /// bare status, the HTTP parser's refusals), as a problem whose code follows from it.
    pub fn of_status(status: StatusCode, detail: impl Into<String>) -> Problem {
        let (code, title) = code_of(status);
        Problem::with_status(status, code, title, detail)
    }

    /// The HTTP status this problem answers with.
    pub fn status(&self) -> u16 {
        self.status
    }

    pub fn retry_after(mut self, seconds: u64) -> Problem {
        self.retry_after_s = Some(seconds);
        self
    }

    pub fn not_ready(detail: impl Into<String>) -> Problem {
        Problem::of(ProblemKind::Unavailable, "not_ready", "Not ready", detail)
            .retry_after(RETRY_AFTER_S)
    }
}

impl From<EngineError> for Problem {
    fn from(error: EngineError) -> Problem {
        let detail = error.to_string();
        match error.kind() {
            ErrorKind::Overloaded => {
                Problem::of(ProblemKind::Unavailable, "overloaded", "Overloaded", detail)
                    .retry_after(RETRY_AFTER_S)
            }
            ErrorKind::Timeout => Problem::of(ProblemKind::Timeout, "timeout", "Timed out", detail),
            ErrorKind::Unavailable => {
                Problem::of(ProblemKind::Unavailable, "unavailable", "Unavailable", detail)
                    .retry_after(RETRY_AFTER_S)
            }
            ErrorKind::InvalidInput => {
                Problem::of(ProblemKind::BadRequest, "invalid_input", "Invalid input", detail)
            }
            ErrorKind::Internal => {
                tracing::error!(error = %detail, "internal error");
                Problem::of(ProblemKind::Internal, "internal", "Internal error", detail)
            }
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if let Some(seconds) = self.retry_after_s {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// A domain rejection: 422 for a bad value, 404 for something missing, 409 for a clash with
/// the current state, 403 for what the principal may not do; the rejection's own stable code.
pub fn rejection<R: bazaar_actors::Rejection>(rejection: &R) -> Problem {
    let detail = rejection.to_string();
    let (kind, title) = match rejection.kind() {
        RejectionKind::Invalid => (ProblemKind::Invalid, "Invalid request"),
        RejectionKind::NotFound => (ProblemKind::NotFound, "Not found"),
        RejectionKind::Conflict => (ProblemKind::Conflict, "Conflict"),
        RejectionKind::Forbidden => (ProblemKind::Forbidden, "Forbidden"),
    };
    Problem::of(kind, rejection.code(), title, detail)
}

/// The search index's failures: a query it cannot run is the client's (400), anything else
/// is the index's own trouble (503, retry).
impl From<VaultError> for Problem {
    fn from(error: VaultError) -> Problem {
        match error {
            VaultError::Erased { .. } => conflict("customer_erased", error.to_string()),
            VaultError::Io(_) => {
                tracing::error!(%error, "the personal data vault failed");
                Problem::of(
                    ProblemKind::Unavailable,
                    "vault_unavailable",
                    "Unavailable",
                    error.to_string(),
                )
                .retry_after(RETRY_AFTER_S)
            }
        }
    }
}

impl From<&SearchError> for Problem {
    fn from(error: &SearchError) -> Problem {
        match error.kind() {
            SearchErrorKind::BadInput => Problem::of(
                ProblemKind::BadRequest,
                error.code(),
                "Invalid search",
                error.to_string(),
            ),
            SearchErrorKind::Internal => {
                tracing::error!(error = %error, "search failed");
                Problem::of(
                    ProblemKind::Unavailable,
                    error.code(),
                    "Search unavailable",
                    error.to_string(),
                )
                .retry_after(RETRY_AFTER_S)
            }
        }
    }
}

/// A cart hold that did not happen (nothing is held): the units or the offer are missing
/// (409), an inventory refused (its rejection), or the engine failed (its own status).
impl From<ReserveFailure> for Problem {
    fn from(failure: ReserveFailure) -> Problem {
        match failure {
            ReserveFailure::OutOfStock { asin, available } => Problem::of(
                ProblemKind::Conflict,
                "out_of_stock",
                "Out of stock",
                format!("{asin}: only {available} available; nothing is held"),
            ),
            ReserveFailure::NoOffer { asin } => Problem::of(
                ProblemKind::Conflict,
                "no_offer",
                "Conflict",
                format!("{asin} has no offer to buy from; nothing is held"),
            ),
            ReserveFailure::Refused { rejection: refused, .. } => rejection(&refused),
            ReserveFailure::Engine(error) => error.into(),
        }
    }
}

/// A failed checkout: the failure's stable code, a status that tells the client what to do,
/// and the step.
impl From<&Failure> for Problem {
    fn from(failure: &Failure) -> Problem {
        let (kind, title) = match failure.code {
            FailureCode::CartNotFound => (ProblemKind::NotFound, "Not found"),
            FailureCode::CartEmpty | FailureCode::PricingRefused => {
                (ProblemKind::Invalid, "Cannot check out")
            }
            FailureCode::LineUnavailable
            | FailureCode::PriceChanged
            | FailureCode::OutOfStock
            | FailureCode::ReservationExpired => (ProblemKind::Conflict, "Cannot check out"),
            FailureCode::FraudRejected => (ProblemKind::Forbidden, "Checkout refused"),
            FailureCode::PaymentDeclined => (ProblemKind::PaymentDeclined, "Payment declined"),
            FailureCode::ChallengeAbandoned => {
                (ProblemKind::PaymentDeclined, "Payment not authenticated")
            }
            FailureCode::PaymentUnavailable => (ProblemKind::Unavailable, "Payment unavailable"),
            FailureCode::OrderRefused => (ProblemKind::Internal, "Internal error"),
        };
        // A failed checkout stays failed under its key: say so where a client might retry.
        let detail = match failure.code {
            FailureCode::PaymentUnavailable => format!(
                "{}; this checkout has failed for good: check out again with a new Idempotency-Key",
                failure.detail
            ),
            _ => failure.detail.clone(),
        };
        let mut problem = Problem::of(kind, failure.code.code(), title, detail);
        problem.step = Some(failure.step.name());
        problem
    }
}

/// 404 for a resource that does not exist or belongs to someone else (ids do not leak).
pub fn not_found(what: &str) -> Problem {
    Problem::of(ProblemKind::NotFound, "not_found", "Not found", format!("no such {what}"))
}

/// 422 for a value the request carried that is not acceptable.
pub fn invalid(code: &'static str, detail: impl Into<String>) -> Problem {
    Problem::of(ProblemKind::Invalid, code, "Invalid request", detail)
}

/// 400 for a request whose shape is wrong.
pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Problem {
    Problem::of(ProblemKind::BadRequest, code, "Bad request", detail)
}

/// 409 for a request that clashes with the current state.
pub fn conflict(code: &'static str, detail: impl Into<String>) -> Problem {
    Problem::of(ProblemKind::Conflict, code, "Conflict", detail)
}

/// 401 for a request without a credential this node knows.
pub fn unauthenticated(code: &'static str, detail: impl Into<String>) -> Problem {
    Problem::of(ProblemKind::Unauthenticated, code, "Unauthenticated", detail)
}

/// 500 `internal`: a bug (the detail says where).
pub fn internal(detail: impl Into<String>) -> Problem {
    Problem::of(ProblemKind::Internal, "internal", "Internal error", detail)
}

/// The stable code and title of an error status no handler gave a code of its own.
fn code_of(status: StatusCode) -> (&'static str, &'static str) {
    match status {
        StatusCode::BAD_REQUEST => ("bad_request", "Bad request"),
        StatusCode::UNAUTHORIZED => ("unauthenticated", "Unauthenticated"),
        StatusCode::FORBIDDEN => ("forbidden", "Forbidden"),
        StatusCode::NOT_FOUND => ("no_route", "Not found"),
        StatusCode::METHOD_NOT_ALLOWED => ("method_not_allowed", "Method not allowed"),
        StatusCode::NOT_ACCEPTABLE => ("not_acceptable", "Not acceptable"),
        StatusCode::REQUEST_TIMEOUT => ("request_timeout", "Timed out"),
        StatusCode::CONFLICT => ("conflict", "Conflict"),
        StatusCode::LENGTH_REQUIRED => ("length_required", "Length required"),
        StatusCode::PAYLOAD_TOO_LARGE => ("body_too_large", "Body too large"),
        StatusCode::URI_TOO_LONG => ("uri_too_long", "URI too long"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ("unsupported_media_type", "Unsupported media type"),
        StatusCode::EXPECTATION_FAILED => ("expectation_failed", "Expectation failed"),
        StatusCode::UNPROCESSABLE_ENTITY => ("invalid_body", "Invalid body"),
        StatusCode::TOO_MANY_REQUESTS => ("too_many_requests", "Too many requests"),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => {
            ("headers_too_large", "Request headers too large")
        }
        StatusCode::NOT_IMPLEMENTED => ("not_implemented", "Not implemented"),
        StatusCode::SERVICE_UNAVAILABLE => ("unavailable", "Unavailable"),
        StatusCode::GATEWAY_TIMEOUT => ("timeout", "Timed out"),
        StatusCode::HTTP_VERSION_NOT_SUPPORTED => {
            ("http_version_not_supported", "HTTP version not supported")
        }
        status if status.is_server_error() => ("internal", "Internal error"),
        _ => ("bad_request", "Bad request"),
    }
}
