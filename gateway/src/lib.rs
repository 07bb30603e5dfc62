//! Bazaar's HTTP gateway: the only crate that knows HTTP, JSON DTOs and problem+json.
//! Handlers turn requests into engine asks; errors leave through [`problem::Problem`].
//!
//! Architecture invariant: no business rule lives here; a handler validates the shape of a
//! request, asks, and maps the answer.

pub mod auth;
pub mod config;
pub mod idempotency;
pub mod limits;
pub mod ops;
pub mod problem;
pub mod rate_limit;

use axum::Router;

pub use ops::{OpsState, Readiness};
pub use problem::Problem;

/// The whole HTTP surface of a node.
pub fn app(ops: OpsState) -> Router {
    ops::router(ops)
}
