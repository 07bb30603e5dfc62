//! The simulator's records: authorizations, captures, refunds and void tombstones, in memory,
//! as a pure state machine (no clock, no I/O: time and the decline rate are arguments).
//!
//! Invariants, each kept by the one method that could break it:
//! - Idempotency: an authorization, capture or refund key is answered its first answer
//!   forever; the same key with a different body is refused (409 `key_reused`). Declines are
//!   stored like successes, so a declined key stays declined.
//! - Declines are deterministic per key: card `tok_decline` (`card_declined`), card
//!   `tok_insufficient` (`insufficient_funds`), else `xxh3(key) / u64::MAX < decline_rate`
//!   (`do_not_honor`), with the rate in force at the key's first call.
//! - Challenges (3-D Secure) are deterministic per key too: card `tok_3ds`, else
//!   `xxh3(key:challenge) / u64::MAX < challenge_rate`; a challenged authorization holds
//!   nothing until its challenge is approved (then `authorized`) or denied (`declined`,
//!   `authentication_failed`), once; a void cancels it.
//! - A void of a key with no authorization leaves a tombstone; an authorization under a
//!   tombstoned key is answered `voided` and creates nothing (a void that overtook a slow
//!   authorization wins). A captured authorization cannot be voided.
//! - Money never appears from nowhere: captured <= authorized, refunded <= captured, only an
//!   `authorized` authorization is captured.
//! - A dispute takes back all that is captured and not refunded, once; a disputed
//!   authorization is neither captured nor refunded again (`disputed`).
//! - Ids grow with creation and are zero-padded, so sorting by id is sorting by age.
//! - Every collection is bounded ([`RECORDS_MAX`], [`ENTRIES_PER_AUTHORIZATION_MAX`]); past a
//!   bound a call is refused (507), never a panic.

use std::collections::{HashMap, HashSet};

use crate::psp::limits::ENTRIES_PER_AUTHORIZATION_MAX;
use crate::psp::limits::RECORDS_MAX;
use crate::psp::limits::TEXT_BYTES_MAX;
use bazaar_actors::order::chargebacks::REASONS as DISPUTE_REASONS;
use bazaar_actors::payment::wire::{
    AuthorizationReply, AuthorizationStatus, AuthorizeBody, CHALLENGES_PATH, CaptureBody,
    CaptureReply, CaptureStatus, ChallengeRef, Dispute, RefundBody, RefundReply, RefundStatus,
    SettledAuthorization, SettledEntry, SettlementReport, VoidReply, VoidStatus,
};

/// Why a call is refused: the HTTP status, a stable code and a detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: u16,
    pub code: &'static str,
    pub detail: String,
}

fn refuse<T>(status: u16, code: &'static str, detail: impl Into<String>) -> Result<T, Refusal> {
    Err(Refusal { status, code, detail: detail.into() })
}

struct Record {
    reply: AuthorizationReply,
    captured_minor: i64,
    refunded_minor: i64,
    captures: Vec<SettledEntry>,
    refunds: Vec<SettledEntry>,
    created_at_ms: u64,
    dispute: Option<Dispute>,
}

/// Every record of one simulated provider.
#[derive(Default)]
pub struct Ledger {
    last_id: u64,
    /// By authorization key.
    authorizations: HashMap<String, Record>,
    /// Keys voided before any authorization existed.
    tombstones: HashSet<String>,
    /// By capture key: the authorization key and the answer.
    captures: HashMap<String, (String, CaptureReply)>,
    /// By refund key: the authorization key and the answer.
    refunds: HashMap<String, (String, RefundReply)>,
    /// By challenge id: the authorization key.
    challenges: HashMap<String, String>,
}

/// How often an authorization is declined, and how often challenged, 0 to 1 each.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Odds {
    pub decline: f64,
    pub challenge: f64,
}

impl Odds {
    /// Declined at `rate`, never challenged (but for `tok_3ds`).
    #[cfg(test)]
    pub fn decline(rate: f64) -> Odds {
        Odds { decline: rate, challenge: 0.0 }
    }
}

/// Why `key` on `card` is declined at `decline_rate`, if it is.
pub fn decline_reason(key: &str, card: &str, decline_rate: f64) -> Option<&'static str> {
    match card {
        "tok_decline" => Some("card_declined"),
        "tok_insufficient" => Some("insufficient_funds"),
        _ => {
            let position = xxhash_rust::xxh3::xxh3_64(key.as_bytes()) as f64 / u64::MAX as f64;
            (position < decline_rate).then_some("do_not_honor")
        }
    }
}

/// Whether the authorization under `key` on `card` asks for a challenge at `challenge_rate`.
pub fn challenged(key: &str, card: &str, challenge_rate: f64) -> bool {
    let seed = format!("{key}:challenge");
    card == "tok_3ds"
        || (xxhash_rust::xxh3::xxh3_64(seed.as_bytes()) as f64 / u64::MAX as f64) < challenge_rate
}

/// Whether the payment under `authorization_key` is disputed at `dispute_rate` (a hash of the
/// key, as declines are).
pub fn disputed_at(authorization_key: &str, dispute_rate: f64) -> bool {
    let seed = format!("{authorization_key}:dispute");
    (xxhash_rust::xxh3::xxh3_64(seed.as_bytes()) as f64 / u64::MAX as f64) < dispute_rate
}

fn check_text(field: &str, text: &str, may_be_empty: bool) -> Result<(), Refusal> {
    if (text.is_empty() && !may_be_empty) || text.len() > TEXT_BYTES_MAX {
        let range = if may_be_empty { 0 } else { 1 };
        return refuse(
            422,
            "invalid",
            format!("{field} must be {range} to {TEXT_BYTES_MAX} bytes"),
        );
    }
    Ok(())
}

fn check_amount(amount_minor: i64) -> Result<(), Refusal> {
    if amount_minor <= 0 {
        return refuse(
            422,
            "invalid",
            format!("amount_minor must be positive, got {amount_minor}"),
        );
    }
    Ok(())
}

impl Ledger {
    fn next_id(&mut self, prefix: &str) -> String {
        self.last_id += 1;
        format!("{prefix}_{:012}", self.last_id)
    }

    fn check_room(&self) -> Result<(), Refusal> {
        if self.authorizations.len() + self.tombstones.len() >= RECORDS_MAX {
            return refuse(507, "simulator_full", format!("{RECORDS_MAX} records kept already"));
        }
        Ok(())
    }

    pub fn authorize(
        &mut self,
        body: &AuthorizeBody,
        odds: Odds,
        now_ms: u64,
    ) -> Result<AuthorizationReply, Refusal> {
        check_text("key", &body.key, false)?;
        check_text("reference", &body.reference, true)?;
        check_text("card", &body.card, false)?;
        check_amount(body.amount_minor)?;
        if let Some(record) = self.authorizations.get(&body.key) {
            let first = &record.reply;
            let same = first.amount_minor == body.amount_minor
                && first.currency == body.currency
                && first.reference == body.reference;
            if !same {
                return refuse(409, "key_reused", "the key was used for another authorization");
            }
            return Ok(first.clone());
        }
        let mut reply = AuthorizationReply {
            id: String::new(),
            key: body.key.clone(),
            reference: body.reference.clone(),
            status: AuthorizationStatus::Voided,
            amount_minor: body.amount_minor,
            currency: body.currency,
            decline_reason: None,
            challenge: None,
        };
        if self.tombstones.contains(&body.key) {
            return Ok(reply);
        }
        self.check_room()?;
        let reason = decline_reason(&body.key, &body.card, odds.decline);
        reply.id = self.next_id("auth");
        reply.status = match reason {
            Some(_) => AuthorizationStatus::Declined,
            None if challenged(&body.key, &body.card, odds.challenge) => {
                let id = self.next_id("chl");
                let url = format!("{CHALLENGES_PATH}/{id}");
                self.challenges.insert(id.clone(), body.key.clone());
                reply.challenge = Some(ChallengeRef { id, url });
                AuthorizationStatus::ChallengeRequired
            }
            None => AuthorizationStatus::Authorized,
        };
        reply.decline_reason = reason.map(str::to_string);
        let record = Record {
            reply: reply.clone(),
            captured_minor: 0,
            refunded_minor: 0,
            captures: Vec::new(),
            refunds: Vec::new(),
            created_at_ms: now_ms,
            dispute: None,
        };
        self.authorizations.insert(body.key.clone(), record);
        Ok(reply)
    }

    pub fn capture(&mut self, body: &CaptureBody) -> Result<CaptureReply, Refusal> {
        check_text("key", &body.key, false)?;
        check_text("authorization_key", &body.authorization_key, false)?;
        check_amount(body.amount_minor)?;
        if let Some((authorization_key, first)) = self.captures.get(&body.key) {
            if *authorization_key != body.authorization_key
                || first.amount_minor != body.amount_minor
            {
                return refuse(409, "key_reused", "the key was used for another capture");
            }
            return Ok(first.clone());
        }
        let record = self.authorized(&body.authorization_key)?;
        if record.captures.len() >= ENTRIES_PER_AUTHORIZATION_MAX {
            return refuse(507, "simulator_full", "too many captures on one authorization");
        }
        let captured = record.captured_minor.checked_add(body.amount_minor);
        if captured.is_none_or(|captured| captured > record.reply.amount_minor) {
            return refuse(409, "over_capture", "captures would exceed the authorized amount");
        }
        let id = self.next_id("cap");
        let record = self.authorized(&body.authorization_key)?;
        record.captured_minor += body.amount_minor;
        let entry = SettledEntry { id, key: body.key.clone(), amount_minor: body.amount_minor };
        record.captures.push(entry.clone());
        let reply = CaptureReply {
            id: entry.id,
            key: entry.key,
            authorization_id: record.reply.id.clone(),
            amount_minor: entry.amount_minor,
            status: CaptureStatus::Captured,
        };
        self.captures.insert(body.key.clone(), (body.authorization_key.clone(), reply.clone()));
        Ok(reply)
    }

    /// The authorization under `key` if it may be captured.
    fn authorized(&mut self, key: &str) -> Result<&mut Record, Refusal> {
        if self.tombstones.contains(key) {
            return refuse(409, "authorization_voided", "the authorization was voided");
        }
        let Some(record) = self.authorizations.get_mut(key) else {
            return refuse(404, "authorization_not_found", "no authorization has this key");
        };
        if record.dispute.is_some() {
            return refuse(409, "disputed", "the payment is disputed");
        }
        match record.reply.status {
            AuthorizationStatus::Authorized => Ok(record),
            AuthorizationStatus::Declined => {
                refuse(409, "authorization_declined", "the authorization was declined")
            }
            AuthorizationStatus::Voided => {
                refuse(409, "authorization_voided", "the authorization was voided")
            }
            AuthorizationStatus::ChallengeRequired => {
                refuse(409, "authorization_pending", "the customer has not authenticated yet")
            }
        }
    }

    /// The customer's answer to challenge `id`, at the issuer: the authorization as it
    /// stands after it. Answered once; the same answer again is answered the same.
    pub fn answer_challenge(
        &mut self,
        id: &str,
        approve: bool,
    ) -> Result<AuthorizationReply, Refusal> {
        let Some(key) = self.challenges.get(id) else {
            return refuse(404, "challenge_not_found", "no challenge has this id");
        };
        let Some(record) = self.authorizations.get_mut(key) else {
            return refuse(404, "challenge_not_found", "no challenge has this id");
        };
        let reply = &mut record.reply;
        match (reply.status, approve) {
            (AuthorizationStatus::ChallengeRequired, true) => {
                reply.status = AuthorizationStatus::Authorized;
            }
            (AuthorizationStatus::ChallengeRequired, false) => {
                reply.status = AuthorizationStatus::Declined;
                reply.decline_reason = Some("authentication_failed".to_string());
            }
            (AuthorizationStatus::Authorized, true) | (AuthorizationStatus::Declined, false) => {}
            (AuthorizationStatus::Voided, _) => {
                return refuse(409, "authorization_voided", "the authorization was voided");
            }
            _ => return refuse(409, "challenge_answered", "the challenge was answered otherwise"),
        }
        reply.challenge = None;
        Ok(reply.clone())
    }

    pub fn void(&mut self, authorization_key: &str) -> Result<VoidReply, Refusal> {
        check_text("authorization_key", authorization_key, false)?;
        let answer =
            |status| VoidReply { authorization_key: authorization_key.to_string(), status };
        if self.tombstones.contains(authorization_key) {
            return Ok(answer(VoidStatus::NotFoundTombstoned));
        }
        let Some(record) = self.authorizations.get_mut(authorization_key) else {
            self.check_room()?;
            self.tombstones.insert(authorization_key.to_string());
            return Ok(answer(VoidStatus::NotFoundTombstoned));
        };
        if record.captured_minor > 0 {
            return refuse(409, "authorization_captured", "a captured authorization is refunded");
        }
        // A declined authorization holds nothing: voiding it changes nothing. A pending
        // challenge is called off.
        if matches!(
            record.reply.status,
            AuthorizationStatus::Authorized | AuthorizationStatus::ChallengeRequired
        ) {
            record.reply.status = AuthorizationStatus::Voided;
            record.reply.challenge = None;
        }
        Ok(answer(VoidStatus::Voided))
    }

    pub fn refund(&mut self, body: &RefundBody) -> Result<RefundReply, Refusal> {
        check_text("key", &body.key, false)?;
        check_text("authorization_key", &body.authorization_key, false)?;
        check_amount(body.amount_minor)?;
        if let Some((authorization_key, first)) = self.refunds.get(&body.key) {
            if *authorization_key != body.authorization_key
                || first.amount_minor != body.amount_minor
            {
                return refuse(409, "key_reused", "the key was used for another refund");
            }
            return Ok(first.clone());
        }
        let Some(record) = self.authorizations.get(&body.authorization_key) else {
            return refuse(404, "authorization_not_found", "no authorization has this key");
        };
        if record.refunds.len() >= ENTRIES_PER_AUTHORIZATION_MAX {
            return refuse(507, "simulator_full", "too many refunds on one authorization");
        }
        if record.dispute.is_some() {
            return refuse(409, "disputed", "the payment is disputed: its chargeback settles it");
        }
        let refunded = record.refunded_minor.checked_add(body.amount_minor);
        if refunded.is_none_or(|refunded| refunded > record.captured_minor) {
            return refuse(409, "over_refund", "refunds would exceed the captured amount");
        }
        let id = self.next_id("ref");
        let entry = SettledEntry { id, key: body.key.clone(), amount_minor: body.amount_minor };
        let Some(record) = self.authorizations.get_mut(&body.authorization_key) else {
            return refuse(404, "authorization_not_found", "no authorization has this key");
        };
        record.refunded_minor += body.amount_minor;
        record.refunds.push(entry.clone());
        let reply = RefundReply {
            id: entry.id,
            key: entry.key,
            amount_minor: entry.amount_minor,
            status: RefundStatus::Refunded,
        };
        self.refunds.insert(body.key.clone(), (body.authorization_key.clone(), reply.clone()));
        Ok(reply)
    }

    /// Disputes the payment under `authorization_key` for `reason`: takes back what is
    /// captured and not refunded. Disputing it again answers the first dispute.
    pub fn dispute(
        &mut self,
        authorization_key: &str,
        reason: &str,
        now_ms: u64,
    ) -> Result<Dispute, Refusal> {
        check_text("authorization_key", authorization_key, false)?;
        if !DISPUTE_REASONS.contains(&reason) {
            return refuse(422, "invalid", format!("reason is one of {DISPUTE_REASONS:?}"));
        }
        let Some(record) = self.authorizations.get(authorization_key) else {
            return refuse(404, "authorization_not_found", "no authorization has this key");
        };
        if let Some(dispute) = &record.dispute {
            return Ok(dispute.clone());
        }
        let amount_minor = record.captured_minor - record.refunded_minor;
        if amount_minor <= 0 {
            return refuse(409, "nothing_to_dispute", "nothing captured is left to dispute");
        }
        let id = self.next_id("dsp");
        let Some(record) = self.authorizations.get_mut(authorization_key) else {
            return refuse(404, "authorization_not_found", "no authorization has this key");
        };
        let dispute = Dispute {
            id,
            authorization_key: authorization_key.to_string(),
            reference: record.reply.reference.clone(),
            amount_minor,
            currency: record.reply.currency,
            reason: reason.to_string(),
            at_ms: now_ms,
        };
        record.dispute = Some(dispute.clone());
        Ok(dispute)
    }

    /// Every dispute, sorted by id.
    pub fn disputes(&self) -> Vec<Dispute> {
        let mut disputes: Vec<Dispute> =
            self.authorizations.values().filter_map(|record| record.dispute.clone()).collect();
        disputes.sort_by(|a, b| a.id.cmp(&b.id));
        disputes
    }

    /// Every authorization with its captures and refunds, sorted by id.
    pub fn settlement(&self, psp: &str) -> SettlementReport {
        let mut authorizations: Vec<SettledAuthorization> = self
            .authorizations
            .values()
            .map(|record| SettledAuthorization {
                id: record.reply.id.clone(),
                key: record.reply.key.clone(),
                reference: record.reply.reference.clone(),
                amount_minor: record.reply.amount_minor,
                currency: record.reply.currency,
                status: record.reply.status,
                captured_minor: record.captured_minor,
                refunded_minor: record.refunded_minor,
                disputed_minor: record.dispute.as_ref().map_or(0, |d| d.amount_minor),
                captures: record.captures.clone(),
                refunds: record.refunds.clone(),
                created_at_ms: record.created_at_ms,
            })
            .collect();
        authorizations.sort_by(|a, b| a.id.cmp(&b.id));
        SettlementReport { psp: psp.to_string(), authorizations }
    }
}

#[cfg(test)]
mod tests;
