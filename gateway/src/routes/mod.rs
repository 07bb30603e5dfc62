//! The API's routers, one file per audience. Every handler: authenticate (the `Principal`
//! extractor), check the shape of the request, ask, map the answer.

pub mod admin;
pub mod cancellations;
pub mod carts;
pub mod cases;
pub mod catalog;
pub mod checkouts;
pub mod customers;
pub mod orders;
pub mod payments;
pub mod promotions;
pub mod returns;
pub mod seller;
pub mod shipping;
pub mod support;
pub mod webhooks;

use bazaar_actors::{Rejection, RejectionKind};
use bazaar_engine::{EngineError, ErrorKind};

use crate::problem::{Problem, not_found, rejection};

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

/// A lookup's answer as a handler result: the entity's "no such ..." (and an id too long for
/// any entity to have) is 404 `not_found` for `what` (ids do not leak); the engine's failures
/// keep their own status (an overloaded or timed-out engine is 503 or 504, never 404), and any
/// other rejection its own.
pub(crate) fn found<R, J: Rejection>(
    result: Result<Result<R, J>, EngineError>,
    what: &str,
) -> Result<R, Problem> {
    match result {
        Ok(Err(refused)) if refused.kind() == RejectionKind::NotFound => Err(not_found(what)),
        Err(error) if error.kind() == ErrorKind::InvalidInput => Err(not_found(what)),
        other => answer(other),
    }
}
