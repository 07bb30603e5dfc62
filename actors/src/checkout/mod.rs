//! Checkout: the saga that turns a cart into an order, as an entity keyed
//! `{tenant}/{customer}/{idempotency key}` (kind [`kinds::CHECKOUT`]), so a retried request, or
//! twenty concurrent copies of it, meet the same saga and get the same answer.
//!
//! The entity is the saga's durable memory and decides its order; `bazaar_services::saga`
//! performs each step (asks other entities, calls the payment provider) and records the
//! outcomes here. [`Checkout::next`] is the one place that says what comes next, as a
//! [`NextStep`] holding what that step reads, so the runner performs the step it is told with
//! the facts it is given. Every reply carries the saga's state: the runner keeps it as its
//! replica, folds into it ([`Checkout::advance`], by the same rules as `Record`) the outcomes
//! it need not record yet, and records them with the next one.
//!
//! Forward steps, in order: `Price` (the cart's priced view; promotions redeemed for the
//! order) → `Reserve` (every line, with expiry) → `Score` (fraud) → `Authorize` (payment; a
//! provider that asks for a 3-D Secure challenge makes the saga wait for the customer's
//! `AnswerChallenge`, then authorize again, or fail `challenge_abandoned` past the
//! challenge's deadline, which the first challenge sets) →
//! `Place` (the order with its shipments' promises, in one ask; sagas begun before that
//! recorded `Placed` and then took a `Plan` step for the promises) → `Commit` (the
//! reservations become sales, then the cart is emptied; last, so that its durable record is
//! the one journal wait after the payment provider answers). A failed step records
//! `Failed { step, code }`; compensations then run in reverse: `CancelOrder` (if placed), `Void` (if authorization was attempted;
//! handed to the payment job when no provider answers, so that stock is never held hostage by
//! an outage), `Release` (the holds), `Unredeem` (the promotions), and the saga ends failed.
//!
//! Invariants:
//! - Outcomes are recorded in step order: an outcome for any step but the next one is
//!   refused (`OutOfOrder`), except a repeat of one already recorded, which answers from
//!   state (two runners after a restart cannot interleave wrongly).
//! - Every effect a step has elsewhere carries an id derived from this entity's key (the
//!   order id, reservation ids, the payment's idempotency key), so repeating a step after a
//!   crash acts once.
//! - Once `Failed` is recorded no forward step runs again; once the saga is finished its
//!   state never changes.
//! - The request is fixed by `Begin`: the same key with another request is `KeyReused`.

mod decide;
mod next;
#[cfg(test)]
mod tests;

use bazaar_entity::{Ctx, Decision, Entity, Kind};
use serde::{Deserialize, Serialize};

use crate::CountryCode;
use crate::fraud::FraudAssessment;
use crate::ids::CustomerId;
use crate::ids::Sku;
use crate::inventory::Held;
use crate::kinds;
use crate::money::Currency;
use crate::order::{CapturePolicy, OrderId, ShipTo};
use crate::payment::Authorization;
use crate::pricing::{AppliedPromotion, CartTotals, PricedLine};
use crate::promotion::{CouponCode, PromotionId};
use crate::rejection::{Rejection, RejectionKind};

pub use next::{NextStep, Placement};

/// A request's fingerprint (SHA-256 of what the client sent), to tell a retry from a reuse.
pub type Fingerprint = [u8; 32];

/// What the shopper asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckoutRequest {
    pub customer: CustomerId,
    /// The cart id (`c-...`).
    pub cart: String,
    pub ship_to: ShipTo,
    pub bill_country: CountryCode,
    /// The payment method, as the provider tokenized it.
    pub card: String,
    pub coupons: Vec<CouponCode>,
    pub fingerprint: Fingerprint,
}

/// One priced line and what fulfilment needs of its offer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PricedItem {
    pub line: PricedLine,
    pub sku: Sku,
    pub handling_days: u8,
}

/// The cart as it is bought.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Priced {
    pub currency: Currency,
    pub items: Vec<PricedItem>,
    pub totals: CartTotals,
    pub promotions: Vec<AppliedPromotion>,
    /// The promotions redeemed for the order (to give back if the checkout fails).
    pub redeemed: Vec<PromotionId>,
}

/// A step of the saga. Variants are append-only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Step {
    Price,
    Reserve,
    Score,
    Authorize,
    Place,
    Commit,
    Plan,
    CancelOrder,
    Void,
    Release,
    Unredeem,
    /// Nothing left to do.
    Done,
}

impl Step {
    pub fn name(self) -> &'static str {
        match self {
            Step::Price => "price",
            Step::Reserve => "reserve",
            Step::Score => "fraud",
            Step::Authorize => "authorize",
            Step::Place => "place",
            Step::Commit => "commit",
            Step::Plan => "plan",
            Step::CancelOrder => "cancel_order",
            Step::Void => "void",
            Step::Release => "release",
            Step::Unredeem => "unredeem",
            Step::Done => "done",
        }
    }
}

/// Why a checkout failed: the step, a stable code for clients, and a sentence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub step: Step,
    pub code: FailureCode,
    pub detail: String,
}

/// The stable failure codes a client sees. Variants are append-only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FailureCode {
    CartNotFound,
    CartEmpty,
    LineUnavailable,
    PriceChanged,
    PricingRefused,
    OutOfStock,
    FraudRejected,
    PaymentDeclined,
    PaymentUnavailable,
    ReservationExpired,
    OrderRefused,
    /// The customer did not complete the payment's 3-D Secure challenge in time.
    ChallengeAbandoned,
}

impl FailureCode {
    pub fn code(self) -> &'static str {
        match self {
            FailureCode::CartNotFound => "cart_not_found",
            FailureCode::CartEmpty => "cart_empty",
            FailureCode::LineUnavailable => "line_unavailable",
            FailureCode::PriceChanged => "price_changed",
            FailureCode::PricingRefused => "pricing_refused",
            FailureCode::OutOfStock => "out_of_stock",
            FailureCode::FraudRejected => "fraud_rejected",
            FailureCode::PaymentDeclined => "payment_declined",
            FailureCode::PaymentUnavailable => "payment_unavailable",
            FailureCode::ReservationExpired => "reservation_expired",
            FailureCode::OrderRefused => "order_refused",
            FailureCode::ChallengeAbandoned => "challenge_abandoned",
        }
    }
}

/// What a step did. Variants are append-only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    Priced(Box<Priced>),
    Reserved {
        held: Vec<Held>,
    },
    /// A `Reject` decision fails the saga at this step, in the same batch.
    Scored {
        assessment: FraudAssessment,
    },
    Authorized {
        authorization: Authorization,
        capture: CapturePolicy,
    },
    Placed,
    Committed,
    Planned,
    Failed(Failure),
    OrderCancelled,
    Voided,
    Released,
    Unredeemed,
    /// The providers could not be reached to void: the payment job voids later, so the
    /// saga can release the stock and answer now.
    VoidDeferred,
    /// The order was placed with its shipments planned: the `Place` step of sagas begun since
    /// both were one ask, which leaves no `Plan` step. (`Placed` alone, recorded by sagas
    /// begun before, is followed by `Plan`.)
    PlacedAndPlanned,
    /// The provider asks the customer to authenticate (3-D Secure) before it authorizes: the
    /// saga waits for them, until `expires_at_ms`.
    ChallengeRequired {
        challenge: Challenge,
    },
    /// The customer says they completed the challenge: authorize again.
    ChallengeAnswered,
}

/// A 3-D Secure challenge: where the customer authenticates, at which provider, and until
/// when the saga waits for them (then it fails `challenge_abandoned` and compensates).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Challenge {
    pub psp: String,
    pub id: String,
    pub url: String,
    pub expires_at_ms: u64,
}

impl Outcome {
    /// The step this outcome finishes (`Failed` finishes the step it names).
    pub fn step(&self) -> Step {
        match self {
            Outcome::Priced(_) => Step::Price,
            Outcome::Reserved { .. } => Step::Reserve,
            Outcome::Scored { .. } => Step::Score,
            Outcome::Authorized { .. } => Step::Authorize,
            Outcome::Placed => Step::Place,
            Outcome::Committed => Step::Commit,
            Outcome::Planned => Step::Plan,
            Outcome::Failed(failure) => failure.step,
            Outcome::OrderCancelled => Step::CancelOrder,
            Outcome::Voided => Step::Void,
            Outcome::Released => Step::Release,
            Outcome::Unredeemed => Step::Unredeem,
            Outcome::VoidDeferred => Step::Void,
            Outcome::PlacedAndPlanned => Step::Place,
            Outcome::ChallengeRequired { .. } | Outcome::ChallengeAnswered => Step::Authorize,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CheckoutCommand {
    /// Starts the saga, or (same request) answers its state.
    Begin(Box<CheckoutRequest>),
    /// Records what the next steps did, in step order: the runner gathers the outcomes it
    /// need not wait for and records them with the next one it must (see
    /// `bazaar_services::saga`). All or none: an outcome out of order refuses the command.
    Record(Vec<Outcome>),
    Get,
    /// The customer completed the pending challenge (refused when none is pending; past its
    /// deadline, the checkout fails `challenge_abandoned` instead).
    AnswerChallenge,
    /// The runner's deadline: fails the checkout `challenge_abandoned` if the challenge is
    /// still unanswered at its deadline; otherwise answers the checkout as it stands.
    ExpireChallenge,
}

/// Variants are append-only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CheckoutEvent {
    Began { request: Box<CheckoutRequest>, order: OrderId, at_ms: u64 },
    Recorded { outcome: Outcome, at_ms: u64 },
}

/// Variants are append-only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum CheckoutRejection {
    #[error("no such checkout")]
    UnknownCheckout,
    #[error("this idempotency key was used for another checkout request")]
    KeyReused,
    #[error("the saga expects {expected:?} next, not {got:?}")]
    OutOfOrder { expected: Step, got: Step },
    #[error("this checkout is not waiting for a payment challenge")]
    NoChallenge,
}

impl Rejection for CheckoutRejection {
    fn code(&self) -> &'static str {
        match self {
            CheckoutRejection::UnknownCheckout => "unknown_checkout",
            CheckoutRejection::KeyReused => "idempotency_key_reused",
            CheckoutRejection::OutOfOrder { .. } => "checkout_step_out_of_order",
            CheckoutRejection::NoChallenge => "challenge_not_pending",
        }
    }

    fn kind(&self) -> RejectionKind {
        match self {
            CheckoutRejection::UnknownCheckout => RejectionKind::NotFound,
            CheckoutRejection::KeyReused => RejectionKind::Invalid,
            CheckoutRejection::OutOfOrder { .. } | CheckoutRejection::NoChallenge => {
                RejectionKind::Conflict
            }
        }
    }
}

/// The saga's durable memory.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Checkout {
    request: Option<Box<CheckoutRequest>>,
    order: Option<OrderId>,
    started_at_ms: u64,
    priced: Option<Box<Priced>>,
    held: Option<Vec<Held>>,
    fraud: Option<FraudAssessment>,
    authorization: Option<Authorization>,
    capture: Option<CapturePolicy>,
    placed: bool,
    committed: bool,
    planned: bool,
    failure: Option<Failure>,
    order_cancelled: bool,
    voided: bool,
    released: bool,
    unredeemed: bool,
    void_deferred: bool,
    finished_at_ms: Option<u64>,
    /// The provider's last challenge, and whether the customer answered it.
    challenge: Option<(Challenge, bool)>,
}

crate::snapshot::grown_state!(Checkout {
    request, order, started_at_ms, priced, held, fraud, authorization, capture, placed,
    committed, planned, failure, order_cancelled, voided, released, unredeemed, void_deferred,
    finished_at_ms,
} added { challenge });

/// Where a saga stands, as callers see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CheckoutStatus {
    /// Still working on `step` (forward or compensating).
    Running {
        step: Step,
    },
    Completed,
    /// Failed and fully compensated.
    Failed(Failure),
    /// Waiting for the customer to complete the payment's challenge.
    ChallengeRequired(Challenge),
}

/// The saga as replies show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckoutView {
    pub status: CheckoutStatus,
    pub order: OrderId,
    pub customer: CustomerId,
    pub cart: String,
    pub started_at_ms: u64,
    pub finished_at_ms: Option<u64>,
    /// Once priced.
    pub currency: Option<Currency>,
    pub totals: Option<CartTotals>,
    pub fraud: Option<FraudAssessment>,
    pub capture: Option<CapturePolicy>,
    /// The failure being compensated, while compensations run.
    pub failure: Option<Failure>,
    /// Whether the holds were turned into sales (a cancelled order's restock asks).
    pub committed: bool,
}

/// The answer to every checkout command. Replies are never journaled (only events and
/// snapshots are), so this shape may change between releases.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckoutReply {
    pub checkout: CheckoutView,
    /// `Begin` only: whether this call started the saga.
    pub began: bool,
    /// The saga as the command left it: the runner's replica, from which it reads the
    /// request ([`Checkout::request`]) and what comes next ([`Checkout::next`]), and on which
    /// it folds the outcomes it has not recorded yet ([`Checkout::advance`]).
    pub saga: Box<Checkout>,
}

impl Entity for Checkout {
    const KIND: Kind = kinds::CHECKOUT;
    type Command = CheckoutCommand;
    type Event = CheckoutEvent;
    type Reply = CheckoutReply;
    type Rejection = CheckoutRejection;

    fn decide(
        &self,
        command: CheckoutCommand,
        ctx: &Ctx<'_>,
    ) -> Result<Decision<Self>, CheckoutRejection> {
        decide::decide(self, command, ctx)
    }

    fn apply(&mut self, event: &CheckoutEvent) {
        self.apply_event(event);
    }

    /// A finished saga (completed, or failed and compensated) takes no more steps.
    fn at_rest(&self) -> bool {
        self.finished_at_ms.is_some()
    }

    /// A begun saga not finished yet has its row (`crate::index::saga_row`): a start resumes
    /// every saga the index lists, and a saga leaves it with the write that finishes it.
    fn index_rows(&self, id: &str) -> Vec<crate::index::Row> {
        match (&self.request, self.finished_at_ms) {
            (Some(_), None) => vec![crate::index::saga_row(id, self.started_at_ms)],
            _ => Vec::new(),
        }
    }
}
