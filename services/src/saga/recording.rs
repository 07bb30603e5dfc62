//! When the runner records a step's outcome on the checkout: at once or with the next one,
//! appended or durable. `runner.rs`'s module doc says why each may be appended; this file
//! says which may wait.
//!
//! Invariants:
//! - A step's effects outside the saga follow, in the log, the record of the outcome before
//!   them (see [`recording`]), so a redo after a crash starts at the step that made them.
//! - `Scored` is durable before a payment provider is asked; `Committed` once it answered.

use bazaar_actors::checkout::Outcome;
use bazaar_engine::Ack;

/// When an outcome is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Recording {
    /// Folded into the runner's replica and recorded with the next outcome recorded.
    Deferred,
    /// Recorded at once, as `Ack` says.
    Now(Ack),
}

/// Only `Reserved` waits, for `Scored`: an outcome may wait only when the step after it acts
/// on nothing outside the saga (the fraud score). Every other step's effects elsewhere must
/// follow, in the log, the record of the outcome before it, so that a crash that keeps an
/// effect keeps that record too, and the redo starts at the step that made the effect (which
/// adopts it: the same holds, the same order) rather than at an earlier one, which could fail
/// without knowing of it. Deferring `Priced` past the holds did exactly that: a redone
/// pricing found the stock held by the holds its saga had forgotten, failed `out_of_stock`,
/// and left them held (the SIGKILL test of `tests/e2e/checkout_crash.rs`).
pub(super) fn recording(outcome: &Outcome) -> Recording {
    match outcome {
        Outcome::Reserved { .. } => Recording::Deferred,
        outcome => Recording::Now(ack_of(outcome)),
    }
}

/// How an outcome recorded at once is acknowledged.
pub(super) fn ack_of(outcome: &Outcome) -> Ack {
    match outcome {
        Outcome::Priced(_)
        | Outcome::Reserved { .. }
        | Outcome::Authorized { .. }
        | Outcome::Placed
        | Outcome::PlacedAndPlanned
        | Outcome::Planned => Ack::Appended,
        Outcome::Committed
        | Outcome::Scored { .. }
        | Outcome::Failed(_)
        | Outcome::OrderCancelled
        | Outcome::Voided
        | Outcome::Released
        | Outcome::Unredeemed
        | Outcome::VoidDeferred
        // The customer is told to authenticate: a crash must not forget it.
        | Outcome::ChallengeRequired { .. }
        | Outcome::ChallengeAnswered => Ack::Durable,
    }
}
