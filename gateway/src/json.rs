//! JSON in and out, with every failure of a request body as problem+json and a precise code:
//! `malformed_json` (not JSON), `invalid_body` (JSON of the wrong shape, including unknown
//! fields: every request DTO denies them), `unsupported_media_type`, `body_too_large`.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::problem::Problem;

/// A JSON request body; its rejection is a [`Problem`].
pub struct Body<T>(pub T);

impl<S, T> FromRequest<S> for Body<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request(request: Request, state: &S) -> Result<Body<T>, Problem> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(Body(value)),
            Err(rejection) => Err(json_problem(&rejection)),
        }
    }
}

pub fn json_problem(rejection: &JsonRejection) -> Problem {
    let detail = rejection.body_text();
    match rejection {
        JsonRejection::JsonSyntaxError(_) => {
            Problem::new(StatusCode::BAD_REQUEST, "malformed_json", "Malformed JSON", detail)
        }
        JsonRejection::JsonDataError(_) => {
            Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body", "Invalid body", detail)
        }
        JsonRejection::MissingJsonContentType(_) => Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Unsupported media type",
            "send Content-Type: application/json",
        ),
        JsonRejection::BytesRejection(_) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            Problem::new(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large", "Body too large", detail)
        }
        _ => Problem::new(StatusCode::BAD_REQUEST, "unreadable_body", "Unreadable body", detail),
    }
}

/// Parses a JSON body already read as bytes, with the same problems as [`Body`].
pub fn from_slice<T: DeserializeOwned>(body: &[u8]) -> Result<T, Problem> {
    serde_json::from_slice(body).map_err(|error| {
        if error.is_syntax() || error.is_eof() {
            Problem::new(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                "Malformed JSON",
                error.to_string(),
            )
        } else {
            Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_body",
                "Invalid body",
                error.to_string(),
            )
        }
    })
}

/// A JSON answer with a status.
pub fn reply<T: Serialize>(status: StatusCode, value: &T) -> Response {
    (status, axum::Json(value)).into_response()
}
