//! What comes next: the one place that orders the saga's steps ([`Checkout::next`]), and the
//! step as the runner receives it ([`NextStep`]), carrying everything that step reads.
//!
//! Invariants:
//! - A step is due only once the facts it reads are recorded, and it carries them: `Reserve`
//!   the priced items, `Score` the priced cart, `Authorize` the total and the fraud decision,
//!   `Place` the priced cart, the holds, the authorization and the score, and so on. The
//!   runner cannot ask for a fact the saga lacks: there is no such question to ask.
//! - [`Checkout::next`] and [`Checkout::next_step`] read the one order (`due`, the step with
//!   its facts borrowed), so the view, `decide` and the runner can never disagree on it, and
//!   naming the step clones nothing.
//! - `NextStep` is computed from the saga's state (the entity's, or the runner's replica of
//!   it, which replies carry) and never journaled, so its shape may change between releases.

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

/// [`NextStep`] borrowing its facts from the saga: what [`Checkout::next_step`] and the view
/// read, without cloning the priced cart or the holds.
enum Due<'a> {
    Price,
    Reserve(&'a Priced),
    Score(&'a Priced),
    Authorize {
        total: Money,
        fraud: FraudDecision,
        prefer: Option<&'a str>,
    },
    AwaitChallenge(&'a Challenge),
    Place {
        priced: &'a Priced,
        held: &'a [Held],
        authorization: &'a Authorization,
        capture: CapturePolicy,
        fraud: &'a FraudAssessment,
    },
    Commit(&'a [Held]),
    Plan(&'a [Held]),
    CancelOrder(FailureCode),
    Void {
        authorized: bool,
    },
    Release(&'a [Held]),
    Unredeem(&'a [PromotionId]),
}

impl Due<'_> {
    fn step(&self) -> Step {
        match self {
            Due::Price => Step::Price,
            Due::Reserve(_) => Step::Reserve,
            Due::Score(_) => Step::Score,
            Due::Authorize { .. } | Due::AwaitChallenge(_) => Step::Authorize,
            Due::Place { .. } => Step::Place,
            Due::Commit(_) => Step::Commit,
            Due::Plan(_) => Step::Plan,
            Due::CancelOrder(_) => Step::CancelOrder,
            Due::Void { .. } => Step::Void,
            Due::Release(_) => Step::Release,
            Due::Unredeem(_) => Step::Unredeem,
        }
    }

    fn to_owned(&self) -> NextStep {
        match *self {
            Due::Price => NextStep::Price,
            Due::Reserve(priced) => NextStep::Reserve { items: priced.items.clone() },
            Due::Score(priced) => NextStep::Score { priced: Box::new(priced.clone()) },
            Due::Authorize { total, fraud, prefer } => {
                NextStep::Authorize { total, fraud, prefer: prefer.map(str::to_owned) }
            }
            Due::AwaitChallenge(challenge) => {
                NextStep::AwaitChallenge { challenge: challenge.clone() }
            }
            Due::Place { priced, held, authorization, capture, fraud } => {
                NextStep::Place(Box::new(Placement {
                    priced: priced.clone(),
                    held: held.to_vec(),
                    authorization: authorization.clone(),
                    capture,
                    fraud: fraud.clone(),
                }))
            }
            Due::Commit(held) => NextStep::Commit { held: held.to_vec() },
            Due::Plan(held) => NextStep::Plan { held: held.to_vec() },
            Due::CancelOrder(reason) => NextStep::CancelOrder { reason },
            Due::Void { authorized } => NextStep::Void { authorized },
            Due::Release(held) => NextStep::Release { held: held.to_vec() },
            Due::Unredeem(promotions) => NextStep::Unredeem { promotions: promotions.to_vec() },
        }
    }
}

impl Checkout {
    /// What the runner must do next (see the module doc of `checkout` for the order), or
    /// `None` once nothing is left: before `Begin`, and once the saga has finished.
    pub fn next(&self) -> Option<NextStep> {
        self.due().map(|due| due.to_owned())
    }

    /// The next step's name: [`Step::Done`] where [`Checkout::next`] is `None`.
    pub fn next_step(&self) -> Step {
        self.due().map_or(Step::Done, |due| due.step())
    }

    fn due(&self) -> Option<Due<'_>> {
        if self.request.is_none() || self.finished_at_ms.is_some() {
            return None;
        }
        match &self.failure {
            None => self.forward(),
            Some(failure) => self.compensation(failure),
        }
    }

    fn forward(&self) -> Option<Due<'_>> {
        let Some(priced) = self.priced.as_deref() else {
            return Some(Due::Price);
        };
        let Some(held) = &self.held else {
            return Some(Due::Reserve(priced));
        };
        let Some(fraud) = &self.fraud else {
            return Some(Due::Score(priced));
        };
        // Both recorded by the one `Authorized` outcome.
        let (Some(authorization), Some(capture)) = (&self.authorization, self.capture) else {
            if let Some(challenge) = self.awaited_challenge() {
                return Some(Due::AwaitChallenge(challenge));
            }
            let prefer = self.challenge.as_ref().map(|(challenge, _)| challenge.psp.as_str());
            let (total, fraud) = (priced.totals.total, fraud.decision);
            return Some(Due::Authorize { total, fraud, prefer });
        };
        if !self.placed {
            return Some(Due::Place { priced, held, authorization, capture, fraud });
        }
        // Planned before committed: the commit is the last step, so its durable record is
        // the one write a checkout waits for after the payment provider answered.
        if !self.planned {
            return Some(Due::Plan(held));
        }
        (!self.committed).then_some(Due::Commit(held))
    }

    /// Compensations run in reverse order of the steps they undo.
    fn compensation(&self, failure: &Failure) -> Option<Due<'_>> {
        if self.placed && !self.order_cancelled {
            return Some(Due::CancelOrder(failure.code));
        }
        if self.authorization_attempted(failure) && !self.voided && !self.void_deferred {
            return Some(Due::Void { authorized: self.authorization.is_some() });
        }
        if let Some(held) = self.held.as_ref().filter(|held| !held.is_empty())
            && !self.released
        {
            return Some(Due::Release(held));
        }
        if let Some(priced) = self.priced.as_ref().filter(|priced| !priced.redeemed.is_empty())
            && !self.unredeemed
        {
            return Some(Due::Unredeem(&priced.redeemed));
        }
        None
    }

    /// Whether a payment provider may hold an authorization for this saga (a time-out leaves
    /// it unknown, so a failure at the authorize step counts).
    fn authorization_attempted(&self, failure: &Failure) -> bool {
        self.authorization.is_some() || failure.step == Step::Authorize
    }
}
