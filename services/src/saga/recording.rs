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

#[cfg(test)]
mod tests {
    use super::*;
    use bazaar_actors::checkout::{Failure, FailureCode, Priced, Step};
    use bazaar_actors::fraud::FraudAssessment;
    use bazaar_actors::money::{Currency, Money};
    use bazaar_actors::order::CapturePolicy;
    use bazaar_actors::payment::Authorization;
    use bazaar_actors::pricing::CartTotals;

    /// The forward steps in order, and whether each acts on something outside the saga.
    const FORWARD: [(Step, bool); 6] = [
        (Step::Price, true),
        (Step::Reserve, true),
        (Step::Score, false),
        (Step::Authorize, true),
        (Step::Place, true),
        (Step::Commit, true),
    ];

    fn every_forward_outcome() -> Vec<Outcome> {
        let euros = || Money::new(0, Currency::parse("EUR").unwrap());
        let totals = CartTotals {
            subtotal: euros(),
            discount: euros(),
            shipping: euros(),
            shipping_discount: euros(),
            net: euros(),
            vat: euros(),
            total: euros(),
        };
        let priced = Priced {
            currency: Currency::parse("EUR").unwrap(),
            items: Vec::new(),
            totals,
            promotions: Vec::new(),
            redeemed: Vec::new(),
        };
        let authorization =
            Authorization { psp: "p".into(), id: "a".into(), key: "k".into(), amount: euros() };
        vec![
            Outcome::Priced(Box::new(priced)),
            Outcome::Reserved { held: Vec::new() },
            Outcome::Scored { assessment: FraudAssessment::clean() },
            Outcome::Authorized { authorization, capture: CapturePolicy::AtPlacement },
            Outcome::PlacedAndPlanned,
            Outcome::Placed,
            Outcome::Committed,
        ]
    }

    /// The crash test found the rule's breach (a deferred `Priced`, then holds a redo forgot);
    /// this names it for any outcome, whatever the crash's timing.
    #[test]
    fn an_outcome_waits_only_when_the_next_step_acts_on_nothing_outside_the_saga() {
        for outcome in every_forward_outcome() {
            let after = FORWARD.iter().skip_while(|(step, _)| *step != outcome.step()).nth(1);
            let next_acts_outside = after.is_none_or(|(_, acts)| *acts);
            if recording(&outcome) == Recording::Deferred {
                assert!(!next_acts_outside, "{:?} may not wait", outcome.step());
            }
        }
        assert_eq!(recording(&every_forward_outcome()[1]), Recording::Deferred, "Reserved");
        let failed = Outcome::Failed(Failure {
            step: Step::Reserve,
            code: FailureCode::OutOfStock,
            detail: String::new(),
        });
        for durable in [&every_forward_outcome()[2], &every_forward_outcome()[6], &failed] {
            assert_eq!(recording(durable), Recording::Now(Ack::Durable), "{durable:?}");
        }
    }
}
