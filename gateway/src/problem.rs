//! Every error the gateway answers: `application/problem+json` (RFC 9457) with a stable `code`.
//!
//! Invariant: an engine failure is mapped to HTTP here and only here, by one exhaustive match
//! on [`ErrorKind`] (no `_` arm), so a new kind cannot slip through as a 500 by accident.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bazaar_engine::{EngineError, ErrorKind};
use serde::Serialize;

/// Seconds a client should wait before retrying an overloaded or unavailable request.
const RETRY_AFTER_S: u64 = 1;

/// A problem document (RFC 9457).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI naming the problem type: `/problems/{code}`.
    #[serde(rename = "type")]
    #[schema(rename = "type")]
    pub kind: String,
    pub title: &'static str,
    pub status: u16,
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
    pub fn new(
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

    pub fn retry_after(mut self, seconds: u64) -> Problem {
        self.retry_after_s = Some(seconds);
        self
    }

    pub fn not_ready(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::SERVICE_UNAVAILABLE, "not_ready", "Not ready", detail)
            .retry_after(RETRY_AFTER_S)
    }
}

impl From<EngineError> for Problem {
    fn from(error: EngineError) -> Problem {
        let detail = error.to_string();
        match error.kind() {
            ErrorKind::Overloaded => {
                Problem::new(StatusCode::SERVICE_UNAVAILABLE, "overloaded", "Overloaded", detail)
                    .retry_after(RETRY_AFTER_S)
            }
            ErrorKind::Timeout => {
                Problem::new(StatusCode::GATEWAY_TIMEOUT, "timeout", "Timed out", detail)
            }
            ErrorKind::Unavailable => {
                Problem::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "Unavailable", detail)
                    .retry_after(RETRY_AFTER_S)
            }
            ErrorKind::InvalidInput => {
                Problem::new(StatusCode::BAD_REQUEST, "invalid_input", "Invalid input", detail)
            }
            ErrorKind::Internal => {
                tracing::error!(error = %detail, "internal error");
                Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "Internal error",
                    detail,
                )
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
    use bazaar_actors::RejectionKind;
    let detail = rejection.to_string();
    match rejection.kind() {
        RejectionKind::Invalid => Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            rejection.code(),
            "Invalid request",
            detail,
        ),
        RejectionKind::NotFound => {
            Problem::new(StatusCode::NOT_FOUND, rejection.code(), "Not found", detail)
        }
        RejectionKind::Conflict => {
            Problem::new(StatusCode::CONFLICT, rejection.code(), "Conflict", detail)
        }
        RejectionKind::Forbidden => {
            Problem::new(StatusCode::FORBIDDEN, rejection.code(), "Forbidden", detail)
        }
    }
}

/// 404 for a resource that does not exist or belongs to someone else (ids do not leak).
pub fn not_found(what: &str) -> Problem {
    Problem::new(StatusCode::NOT_FOUND, "not_found", "Not found", format!("no such {what}"))
}

/// 422 for a value the request carried that is not acceptable.
pub fn invalid(code: &'static str, detail: impl Into<String>) -> Problem {
    Problem::new(StatusCode::UNPROCESSABLE_ENTITY, code, "Invalid request", detail)
}

/// 400 for a request whose shape is wrong.
pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Problem {
    Problem::new(StatusCode::BAD_REQUEST, code, "Bad request", detail)
}
