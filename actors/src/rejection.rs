//! What every entity's rejection enum tells the gateway: a stable code and a kind.
//!
//! Invariants:
//! - Each entity has one flat rejection enum. Its variants are append-only: never reordered,
//!   renamed or removed, because the journal codec and the cluster wire encode a variant by
//!   its position, and clients read its code.
//! - `code()` is a stable snake_case string, unique within its enum, fit for a problem+json
//!   `code`; `kind()` is one of a small closed set the gateway maps to a status once.

/// The class of a rejection, for the gateway's one exhaustive mapping to HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectionKind {
    /// The command breaks a rule whatever the state (a bad value, a bound exceeded): 422.
    Invalid,
    /// The command names something the entity does not have: 404.
    NotFound,
    /// The command is well formed but clashes with the current state (out of stock, a stale
    /// feed, an id reused for something else): 409.
    Conflict,
    /// The command is well formed, but the asking principal may not do it to this entity (a
    /// seller changing another seller's catalog document): 403.
    Forbidden,
}

/// Implemented by every entity's rejection enum.
pub trait Rejection: std::error::Error {
    /// A stable snake_case code, never reused within the enum.
    fn code(&self) -> &'static str;
    fn kind(&self) -> RejectionKind;
}
