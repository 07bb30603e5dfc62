//! The request extractors other than JSON bodies ([`crate::json`]), each refusing with a
//! problem and a precise code instead of axum's text answers: [`Path`] (`invalid_path`, 400:
//! an id that is not UTF-8 once its escapes are decoded), [`Query`] (`invalid_query`, 400: a
//! value of the wrong type or sign, an unknown parameter) and [`Ndjson`] (an inventory feed:
//! `unsupported_media_type`, `body_too_large`).
//!
//! Invariant: handlers take paths, queries and raw bodies only through these (and JSON bodies
//! through `json`), so no extractor of a route answers anything but problem+json.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};

use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::problem::{Problem, bad_request, internal};

/// Path parameters; a rejection is a [`Problem`].
pub struct Path<T>(pub T);

impl<S, T> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Path<T>, Problem> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Path(value)),
            Err(rejection) if rejection.status().is_server_error() => {
                tracing::error!(error = %rejection.body_text(), "path parameters");
                Err(internal("the route's path parameters"))
            }
            Err(rejection) => Err(bad_request("invalid_path", rejection.body_text())),
        }
    }
}

/// Query parameters; a rejection is a [`Problem`].
pub struct Query<T>(pub T);

impl<S, T> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Query<T>, Problem> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| Query(value))
            .map_err(|rejection| bad_request("invalid_query", rejection.body_text()))
    }
}

/// The media types an NDJSON body may be sent as (parameters such as `charset=utf-8` aside):
/// the long-standing `application/x-ndjson` and the unprefixed `application/ndjson`.
pub const NDJSON_MEDIA_TYPES: [&str; 2] = ["application/x-ndjson", "application/ndjson"];

/// An NDJSON body (an inventory feed), its media type checked and its size bounded by the
/// route's `DefaultBodyLimit`.
pub struct Ndjson(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for Ndjson {
    type Rejection = Problem;

    async fn from_request(request: Request, state: &S) -> Result<Ndjson, Problem> {
        let media = crate::json::media_type(request.headers());
        if !media.is_some_and(|media| NDJSON_MEDIA_TYPES.contains(&media.as_str())) {
            return Err(crate::json::unsupported_media_type(
                "send Content-Type: application/x-ndjson (or application/ndjson)",
            ));
        }
        Ok(Ndjson(crate::json::bytes(request, state).await?))
    }
}
