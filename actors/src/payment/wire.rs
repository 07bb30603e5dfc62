//! The payment provider's HTTP API as JSON shapes, shared by the simulator (`bazaar psp`) and
//! the client ([`super::Payments`]) so the two cannot drift apart.
//!
//! Every amount is integer minor units; the currency travels beside it on authorizations and
//! is implied by the authorization on captures and refunds. A [`Currency`] only deserializes
//! from a circulating ISO 4217 code, so a bad code is refused at the edge.
//!
//! Endpoints (all `POST` bodies are JSON; failures are `application/problem+json` [`Problem`]):
//! - `POST /v1/authorizations` [`AuthorizeBody`] → [`AuthorizationReply`], idempotent by `key`.
//! - `POST /v1/captures` [`CaptureBody`] → [`CaptureReply`], idempotent by `key`.
//! - `POST /v1/voids` [`VoidBody`] → [`VoidReply`], idempotent by `authorization_key`.
//! - `POST /v1/refunds` [`RefundBody`] → [`RefundReply`], idempotent by `key`.
//! - `GET /v1/settlement` → [`SettlementReport`], the provider's own records.
//! - `POST /v1/challenges/{id}` [`ChallengeAnswer`] → [`AuthorizationReply`]: where the
//!   customer's authentication (3-D Secure) ends, at the issuer; an authorization answered
//!   `challenge_required` is answered again under its key once it is approved or denied.
//!
//! The simulator's operator knobs (`/admin/knobs`) are not part of a provider's API and live
//! with the simulator.

use serde::{Deserialize, Serialize};

use crate::money::Currency;

pub const AUTHORIZATIONS_PATH: &str = "/v1/authorizations";
pub const CAPTURES_PATH: &str = "/v1/captures";
pub const VOIDS_PATH: &str = "/v1/voids";
pub const REFUNDS_PATH: &str = "/v1/refunds";
pub const SETTLEMENT_PATH: &str = "/v1/settlement";
/// Where a challenge is answered: `{CHALLENGES_PATH}/{id}`.
pub const CHALLENGES_PATH: &str = "/v1/challenges";
/// Every dispute the provider settled against the merchant (`GET`), and the simulator's admin
/// call that raises one (`POST /admin/disputes`).
pub const DISPUTES_PATH: &str = "/v1/disputes";

/// Asks the provider to hold `amount_minor` of `currency` on `card`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizeBody {
    /// The idempotency key: the same key is answered the first answer forever.
    pub key: String,
    /// The merchant's reference (an order id), kept on the record for reconciliation.
    pub reference: String,
    pub amount_minor: i64,
    pub currency: Currency,
    /// A card token. The simulator knows `tok_decline`, `tok_insufficient` and `tok_3ds`
    /// (always challenged).
    pub card: String,
}

/// What became of an authorization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthorizationStatus {
    /// The amount is held; it may be captured.
    Authorized,
    /// The issuer refused; nothing is held. Final for this key.
    Declined,
    /// Released before capture, or its key was voided before it ever arrived.
    Voided,
    /// The customer must authenticate first (3-D Secure, at `challenge`'s URL): nothing is
    /// held yet. Asked again under the same key once answered, it is authorized or declined.
    ChallengeRequired,
}

impl AuthorizationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthorizationStatus::Authorized => "authorized",
            AuthorizationStatus::Declined => "declined",
            AuthorizationStatus::Voided => "voided",
            AuthorizationStatus::ChallengeRequired => "challenge_required",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationReply {
    /// The provider's id; empty when the key was voided before any authorization existed.
    pub id: String,
    pub key: String,
    pub reference: String,
    pub status: AuthorizationStatus,
    pub amount_minor: i64,
    pub currency: Currency,
    /// Why it was declined (`card_declined`, `insufficient_funds`, `do_not_honor`,
    /// `authentication_failed`).
    #[serde(default)]
    pub decline_reason: Option<String>,
    /// While `challenge_required`: where the customer authenticates.
    #[serde(default)]
    pub challenge: Option<ChallengeRef>,
}

/// A challenge the customer must complete: its id and the issuer's page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChallengeRef {
    pub id: String,
    pub url: String,
}

/// The customer's answer at the issuer: authenticated or not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChallengeAnswer {
    pub approve: bool,
}

/// Takes `amount_minor` of the authorization made under `authorization_key`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaptureBody {
    pub key: String,
    pub authorization_key: String,
    pub amount_minor: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaptureStatus {
    Captured,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaptureReply {
    pub id: String,
    pub key: String,
    pub authorization_id: String,
    pub amount_minor: i64,
    pub status: CaptureStatus,
}

/// Releases the authorization made under `authorization_key`, or forbids one from ever being
/// made under it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoidBody {
    pub authorization_key: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VoidStatus {
    /// The authorization existed and holds nothing now (or never held anything: declined).
    Voided,
    /// No authorization existed: the key is tombstoned, a later authorization under it is
    /// answered `voided`.
    NotFoundTombstoned,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoidReply {
    pub authorization_key: String,
    pub status: VoidStatus,
}

/// Gives back `amount_minor` of what was captured on the authorization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundBody {
    pub key: String,
    pub authorization_key: String,
    pub amount_minor: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundStatus {
    Refunded,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundReply {
    pub id: String,
    pub key: String,
    pub amount_minor: i64,
    pub status: RefundStatus,
}

/// A dispute the provider settled against the merchant: it took `amount_minor` of the
/// authorization's captured money back (a chargeback).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dispute {
    pub id: String,
    pub authorization_key: String,
    /// The authorization's reference (the order's entity id).
    pub reference: String,
    pub amount_minor: i64,
    pub currency: Currency,
    /// `fraudulent`, `product_not_received`, `not_as_described`, `duplicate` or `other`.
    pub reason: String,
    pub at_ms: u64,
}

/// Every record a provider holds, for reconciliation: the judge of what really happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettlementReport {
    /// The provider's name.
    pub psp: String,
    /// Sorted by id (ids grow with creation).
    pub authorizations: Vec<SettledAuthorization>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettledAuthorization {
    pub id: String,
    pub key: String,
    pub reference: String,
    pub amount_minor: i64,
    pub currency: Currency,
    pub status: AuthorizationStatus,
    pub captured_minor: i64,
    pub refunded_minor: i64,
    /// Taken back by a chargeback (a dispute the marketplace lost).
    #[serde(default)]
    pub disputed_minor: i64,
    /// Sorted by id.
    pub captures: Vec<SettledEntry>,
    /// Sorted by id.
    pub refunds: Vec<SettledEntry>,
    /// Milliseconds since the Unix epoch, by the provider's clock.
    pub created_at_ms: u64,
}

/// A capture or a refund of a [`SettledAuthorization`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettledEntry {
    pub id: String,
    pub key: String,
    pub amount_minor: i64,
}

/// An `application/problem+json` body: the status again, a stable `code`, a human `detail`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    pub status: u16,
    pub code: String,
    pub title: String,
    pub detail: String,
}
