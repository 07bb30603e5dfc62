//! What comes next: the one place that orders the saga's steps ([`Checkout::next`]), and the
//! step as the runner receives it ([`NextStep`]), carrying everything that step reads.
//!
//! Invariants:
//! - A step is due only once the facts it reads are recorded, and it carries them: `Reserve`
//!   the priced items, `Score` the priced cart, `Authorize` the total and the fraud decision,
//!   `Place` the priced cart, the holds, the authorization and the score, and so on. The
//!   runner cannot ask for a fact the saga lacks: there is no such question to ask.
//! - [`Checkout::next_step`] is `next` without the data, so the view, `decide` and the runner
//!   can never disagree on the order.
//! - `NextStep` travels in replies only (in memory, or over the engine's transport); it is
//!   never journaled, so its shape may change between releases.

use serde::{Deserialize, Serialize};

use super::{Challenge, Checkout, Failure, FailureCode, Priced, PricedItem, Step};
use crate::fraud::{FraudAssessment, FraudDecision};
use crate::inventory::Held;
use crate::money::Money;
use crate::order::CapturePolicy;
use crate::payment::Authorization;
use crate::promotion::PromotionId;

/// The step the runner must perform next, with what it reads besides the request. `None`
/// in its place (see [`Checkout::next`]) means nothing is left to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum NextStep {
    /// Price the cart the request names and redeem its promotions.
    Price,
    /// Hold every priced item, nearest the destination first; hold `j` under the order's
    /// reservation id for `j` (it becomes the order's line `j`).
    Reserve { items: Vec<PricedItem> },
    /// Score the priced cart for fraud.
    Score { priced: Box<Priced> },
    /// Authorize the total. A `Review` decision defers the capture to the first shipment.
    /// `prefer`: the provider whose challenge the customer answered, asked first.
    Authorize { total: Money, fraud: FraudDecision, prefer: Option<String> },
    /// Wait for the customer to complete `challenge` (`AnswerChallenge`), then authorize
    /// again; past its deadline, fail `challenge_abandoned`.
    AwaitChallenge { challenge: Challenge },
    /// Place the order.
    Place(Box<Placement>),
    /// Turn the holds into sales.
    Commit { held: Vec<Held> },
    /// Plan the shipments (from where `held` ships) and empty the cart.
    Plan { held: Vec<Held> },
    /// Cancel the placed order, for the failure's reason.
    CancelOrder { reason: FailureCode },
    /// Void the authorization (by its key) at every provider. `authorized`: one was recorded,
    /// so the order, if placed, is told of the void.
    Void { authorized: bool },
    /// Release the holds.
    Release { held: Vec<Held> },
    /// Give back the promotions redeemed for the order.
    Unredeem { promotions: Vec<PromotionId> },
}

/// What the order is placed from: the saga's facts once it is authorized.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placement {
    pub priced: Priced,
    /// The holds, in the items' order, each item's adding up to its quantity (one, or its
    /// parts when no single location could serve it): the order's lines, one per hold.
    pub held: Vec<Held>,
    pub authorization: Authorization,
    pub capture: CapturePolicy,
    pub fraud: FraudAssessment,
}

impl NextStep {
    pub fn step(&self) -> Step {
        match self {
            NextStep::Price => Step::Price,
            NextStep::Reserve { .. } => Step::Reserve,
            NextStep::Score { .. } => Step::Score,
            NextStep::Authorize { .. } | NextStep::AwaitChallenge { .. } => Step::Authorize,
            NextStep::Place(_) => Step::Place,
            NextStep::Commit { .. } => Step::Commit,
            NextStep::Plan { .. } => Step::Plan,
            NextStep::CancelOrder { .. } => Step::CancelOrder,
            NextStep::Void { .. } => Step::Void,
            NextStep::Release { .. } => Step::Release,
            NextStep::Unredeem { .. } => Step::Unredeem,
        }
    }
}

impl Checkout {
    /// What the runner must do next (see the module doc of `checkout` for the order), or
    /// `None` once nothing is left: before `Begin`, and once the saga has finished.
    pub fn next(&self) -> Option<NextStep> {
        if self.request.is_none() || self.finished_at_ms.is_some() {
            return None;
        }
        match &self.failure {
            None => self.forward(),
            Some(failure) => self.compensation(failure),
        }
    }

    /// The next step's name: [`Step::Done`] where [`Checkout::next`] is `None`.
    pub fn next_step(&self) -> Step {
        self.next().map_or(Step::Done, |next| next.step())
    }

    fn forward(&self) -> Option<NextStep> {
        let Some(priced) = &self.priced else {
            return Some(NextStep::Price);
        };
        let Some(held) = &self.held else {
            return Some(NextStep::Reserve { items: priced.items.clone() });
        };
        let Some(fraud) = &self.fraud else {
            return Some(NextStep::Score { priced: priced.clone() });
        };
        // Both recorded by the one `Authorized` outcome.
        let (Some(authorization), Some(capture)) = (&self.authorization, self.capture) else {
            if let Some(challenge) = self.awaited_challenge() {
                return Some(NextStep::AwaitChallenge { challenge: challenge.clone() });
            }
            let prefer = self.challenge.as_ref().map(|(challenge, _)| challenge.psp.clone());
            let (total, fraud) = (priced.totals.total, fraud.decision);
            return Some(NextStep::Authorize { total, fraud, prefer });
        };
        if !self.placed {
            return Some(NextStep::Place(Box::new(Placement {
                priced: Priced::clone(priced),
                held: held.clone(),
                authorization: authorization.clone(),
                capture,
                fraud: fraud.clone(),
            })));
        }
        // Planned before committed: the commit is the last step, so its durable record is
        // the one write a checkout waits for after the payment provider answered.
        if !self.planned {
            return Some(NextStep::Plan { held: held.clone() });
        }
        (!self.committed).then_some(NextStep::Commit { held: held.clone() })
    }

    /// Compensations run in reverse order of the steps they undo.
    fn compensation(&self, failure: &Failure) -> Option<NextStep> {
        if self.placed && !self.order_cancelled {
            return Some(NextStep::CancelOrder { reason: failure.code });
        }
        if self.authorization_attempted(failure) && !self.voided && !self.void_deferred {
            return Some(NextStep::Void { authorized: self.authorization.is_some() });
        }
        if let Some(held) = self.held.as_ref().filter(|held| !held.is_empty())
            && !self.released
        {
            return Some(NextStep::Release { held: held.clone() });
        }
        if let Some(priced) = self.priced.as_ref().filter(|priced| !priced.redeemed.is_empty())
            && !self.unredeemed
        {
            return Some(NextStep::Unredeem { promotions: priced.redeemed.clone() });
        }
        None
    }

    /// Whether a payment provider may hold an authorization for this saga (a time-out leaves
    /// it unknown, so a failure at the authorize step counts).
    fn authorization_attempted(&self, failure: &Failure) -> bool {
        self.authorization.is_some() || failure.step == Step::Authorize
    }
}
