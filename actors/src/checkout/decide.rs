//! The saga's rules: which outcomes are accepted, how they fold, what replies show (what comes
//! next is `next.rs`).

use bazaar_entity::{Ctx, Decision};

use super::{
    Challenge, Checkout, CheckoutCommand, CheckoutEvent, CheckoutRejection, CheckoutReply,
    CheckoutRequest, CheckoutStatus, CheckoutView, Failure, FailureCode, Outcome, Step,
};
use crate::fraud::FraudDecision;
use crate::order::OrderId;

impl Checkout {
    /// Whether this outcome is already folded in (a repeat by a second runner).
    fn has_recorded(&self, outcome: &Outcome) -> bool {
        match outcome {
            Outcome::Priced(_) => self.priced.is_some(),
            Outcome::Reserved { .. } => self.held.is_some(),
            Outcome::Scored { .. } => self.fraud.is_some(),
            Outcome::Authorized { .. } => self.authorization.is_some(),
            Outcome::Placed => self.placed,
            Outcome::Committed => self.committed,
            Outcome::Planned => self.planned,
            Outcome::Failed(_) => self.failure.is_some(),
            Outcome::OrderCancelled => self.order_cancelled,
            Outcome::Voided => self.voided,
            Outcome::Released => self.released,
            Outcome::Unredeemed => self.unredeemed,
            Outcome::VoidDeferred => self.void_deferred,
            Outcome::PlacedAndPlanned => self.placed,
            // Recorded while it waits (a repeat by a second runner); once answered, the same
            // challenge again is news (the provider still wants it: the customer waits again).
            Outcome::ChallengeRequired { challenge } => {
                self.authorization.is_some()
                    || self.challenge.as_ref().is_some_and(|(known, answered)| {
                        !answered && known.id == challenge.id && known.psp == challenge.psp
                    })
            }
            Outcome::ChallengeAnswered => {
                self.challenge.as_ref().is_none_or(|(_, answered)| *answered)
            }
        }
    }

    /// The challenge the saga waits for the customer to complete, if any.
    pub(super) fn awaited_challenge(&self) -> Option<&Challenge> {
        let (challenge, answered) = self.challenge.as_ref()?;
        let waiting = !answered && self.authorization.is_none() && self.failure.is_none();
        waiting.then_some(challenge)
    }

    pub fn view(&self) -> Option<CheckoutView> {
        self.view_at(self.next_step())
    }

    /// The view when `next` is the next step.
    fn view_at(&self, next: Step) -> Option<CheckoutView> {
        let request = self.request.as_ref()?;
        let status = match (next, &self.failure) {
            (Step::Done, None) => CheckoutStatus::Completed,
            (Step::Done, Some(failure)) => CheckoutStatus::Failed(failure.clone()),
            (Step::Authorize, None) if let Some(challenge) = self.awaited_challenge() => {
                CheckoutStatus::ChallengeRequired(challenge.clone())
            }
            (step, _) => CheckoutStatus::Running { step },
        };
        Some(CheckoutView {
            status,
            order: self.order.clone()?,
            customer: request.customer.clone(),
            cart: request.cart.clone(),
            started_at_ms: self.started_at_ms,
            finished_at_ms: self.finished_at_ms,
            currency: self.priced.as_ref().map(|priced| priced.currency),
            totals: self.priced.as_ref().map(|priced| priced.totals.clone()),
            fraud: self.fraud.clone(),
            capture: self.capture,
            failure: self.failure.clone(),
            committed: self.committed,
        })
    }

    /// The request as begun: what the steps read of the shopper's order (`None` before
    /// `Begin`).
    pub fn request(&self) -> Option<&CheckoutRequest> {
        self.request.as_deref()
    }

    /// The reply that shows this state.
    fn into_reply(self, began: bool) -> Result<CheckoutReply, CheckoutRejection> {
        let checkout = self.view().ok_or(CheckoutRejection::UnknownCheckout)?;
        Ok(CheckoutReply { checkout, began, saga: Box::new(self) })
    }

    /// Folds `outcome` as `Record` does at `at_ms`: the runner's replica of the saga takes
    /// each outcome it has not recorded yet (see [`CheckoutCommand::Record`]), so it reads
    /// the next step from the same rules the entity follows.
    pub fn advance(&mut self, outcome: Outcome, at_ms: u64) -> Result<(), CheckoutRejection> {
        self.record(outcome, at_ms, &mut Vec::new())
    }

    /// Folds `outcome` in, pushing the events that record it: none for one already recorded
    /// (a repeat by a second runner); two for a fraud score that rejects (the failure
    /// follows it).
    fn record(
        &mut self,
        outcome: Outcome,
        at_ms: u64,
        events: &mut Vec<CheckoutEvent>,
    ) -> Result<(), CheckoutRejection> {
        if self.request.is_none() {
            return Err(CheckoutRejection::UnknownCheckout);
        }
        if self.has_recorded(&outcome) {
            return Ok(());
        }
        let (expected, got) = (self.next_step(), outcome.step());
        if got != expected {
            return Err(CheckoutRejection::OutOfOrder { expected, got });
        }
        let rejected = fraud_rejection(&outcome);
        for outcome in std::iter::once(outcome).chain(rejected) {
            let event = CheckoutEvent::Recorded { outcome, at_ms };
            self.apply_event(&event);
            events.push(event);
        }
        Ok(())
    }

    pub(super) fn apply_event(&mut self, event: &CheckoutEvent) {
        match event {
            CheckoutEvent::Began { request, order, at_ms } => {
                self.request = Some(request.clone());
                self.order = Some(order.clone());
                self.started_at_ms = *at_ms;
            }
            CheckoutEvent::Recorded { outcome, at_ms } => {
                self.fold(outcome);
                if self.next_step() == Step::Done && self.finished_at_ms.is_none() {
                    self.finished_at_ms = Some(*at_ms);
                }
            }
        }
    }

    fn fold(&mut self, outcome: &Outcome) {
        match outcome {
            Outcome::Priced(priced) => self.priced = Some(priced.clone()),
            Outcome::Reserved { held } => self.held = Some(held.clone()),
            Outcome::Scored { assessment } => self.fraud = Some(assessment.clone()),
            Outcome::Authorized { authorization, capture } => {
                self.authorization = Some(authorization.clone());
                self.capture = Some(*capture);
            }
            Outcome::Placed => self.placed = true,
            Outcome::Committed => self.committed = true,
            Outcome::Planned => self.planned = true,
            Outcome::Failed(failure) => self.failure = Some(failure.clone()),
            Outcome::OrderCancelled => self.order_cancelled = true,
            Outcome::Voided => self.voided = true,
            Outcome::Released => self.released = true,
            Outcome::Unredeemed => self.unredeemed = true,
            Outcome::VoidDeferred => self.void_deferred = true,
            Outcome::PlacedAndPlanned => (self.placed, self.planned) = (true, true),
            Outcome::ChallengeRequired { challenge } => {
                // The first challenge's deadline holds: answering without authenticating
                // cannot keep stock held for ever.
                let expires_at_ms = match &self.challenge {
                    Some((first, _)) => first.expires_at_ms.min(challenge.expires_at_ms),
                    None => challenge.expires_at_ms,
                };
                self.challenge = Some((Challenge { expires_at_ms, ..challenge.clone() }, false));
            }
            Outcome::ChallengeAnswered => {
                if let Some((_, answered)) = &mut self.challenge {
                    *answered = true;
                }
            }
        }
    }
}

pub(super) fn decide(
    checkout: &Checkout,
    command: CheckoutCommand,
    ctx: &Ctx<'_>,
) -> Result<Decision<Checkout>, CheckoutRejection> {
    match command {
        CheckoutCommand::Begin(request) => match &checkout.request {
            Some(existing) if existing.fingerprint == request.fingerprint => {
                Ok((Vec::new(), checkout.clone().into_reply(false)?))
            }
            Some(_) => Err(CheckoutRejection::KeyReused),
            None => {
                let order = OrderId::for_checkout(&ctx.key.id);
                let event = CheckoutEvent::Began { request, order, at_ms: ctx.now_ms };
                let mut after = checkout.clone();
                after.apply_event(&event);
                Ok((vec![event], after.into_reply(true)?))
            }
        },
        CheckoutCommand::Record(outcomes) => {
            let mut after = checkout.clone();
            let mut events = Vec::with_capacity(outcomes.len());
            for outcome in outcomes {
                after.record(outcome, ctx.now_ms, &mut events)?;
            }
            Ok((events, after.into_reply(false)?))
        }
        CheckoutCommand::Get => Ok((Vec::new(), checkout.clone().into_reply(false)?)),
        CheckoutCommand::AnswerChallenge | CheckoutCommand::ExpireChallenge => {
            if checkout.request.is_none() {
                return Err(CheckoutRejection::UnknownCheckout);
            }
            let answering = command == CheckoutCommand::AnswerChallenge;
            let outcome = match checkout.awaited_challenge() {
                // The deadline holds whoever comes first.
                Some(challenge) if ctx.now_ms >= challenge.expires_at_ms => {
                    Outcome::Failed(Failure {
                        step: Step::Authorize,
                        code: FailureCode::ChallengeAbandoned,
                        detail: format!(
                            "the payment challenge at {} was not completed in time",
                            challenge.psp
                        ),
                    })
                }
                Some(_) if answering => Outcome::ChallengeAnswered,
                // Answered, re-challenged, failed or done since: the checkout as it stands
                // (a retry of an answer; a deadline that passed nothing).
                _ if checkout.challenge.is_some() || !answering => {
                    return Ok((Vec::new(), checkout.clone().into_reply(false)?));
                }
                _ => return Err(CheckoutRejection::NoChallenge),
            };
            let event = CheckoutEvent::Recorded { outcome, at_ms: ctx.now_ms };
            let mut after = checkout.clone();
            after.apply_event(&event);
            Ok((vec![event], after.into_reply(false)?))
        }
    }
}

/// A fraud score that rejects fails the saga at the fraud step.
fn fraud_rejection(outcome: &Outcome) -> Option<Outcome> {
    let Outcome::Scored { assessment } = outcome else {
        return None;
    };
    (assessment.decision == FraudDecision::Reject).then(|| {
        let reasons: Vec<&str> =
            assessment.reasons.iter().map(|reason| reason.code.as_str()).collect();
        Outcome::Failed(Failure {
            step: Step::Score,
            code: FailureCode::FraudRejected,
            detail: format!("fraud score {} ({})", assessment.score, reasons.join(", ")),
        })
    })
}
