//! The API's routers, one file per audience. Every handler: authenticate (the `Principal`
//! extractor), check the shape of the request, ask, map the answer.

pub mod admin;
pub mod carts;
pub mod catalog;
pub mod checkouts;
pub mod orders;
pub mod payments;
pub mod promotions;
pub mod seller;

use axum::http::StatusCode;
use bazaar_actors::Rejection;
use bazaar_actors::search::{SearchError, SearchErrorKind};
use bazaar_engine::EngineError;

use crate::problem::{Problem, rejection};

/// An entity's answer as a handler result: the engine's failures and the entity's rejections
/// both become problems.
pub(crate) fn answer<R, J: Rejection>(
    result: Result<Result<R, J>, EngineError>,
) -> Result<R, Problem> {
    match result {
        Ok(Ok(reply)) => Ok(reply),
        Ok(Err(refused)) => Err(rejection(&refused)),
        Err(error) => Err(Problem::from(error)),
    }
}

pub(crate) fn search_problem(error: &SearchError) -> Problem {
    match error.kind() {
        SearchErrorKind::BadInput => {
            Problem::new(StatusCode::BAD_REQUEST, error.code(), "Invalid search", error.to_string())
        }
        SearchErrorKind::Internal => {
            tracing::error!(error = %error, "search failed");
            Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                error.code(),
                "Search unavailable",
                error.to_string(),
            )
            .retry_after(1)
        }
    }
}
