//! Reconciliation: the money the ledger says moved on each payment authorization, against
//! the payment providers' settlement reports, which are the judges of what really happened.
//!
//! Rules (one [`Mismatch`] at most per authorization, sorted by provider then key):
//! - Only providers that sent a report are judged; the ledger's authorizations at other
//!   providers are left alone (their report may simply not be in yet).
//! - `missing_from_ledger`: the provider captured or refunded money on an authorization the
//!   ledger does not know. One that moved nothing and holds nothing (declined, voided) is not
//!   a mismatch; one that holds money is `unclaimed_authorization` (below).
//! - `unknown_to_psp`: the ledger holds an authorization its provider has no record of.
//! - `captured_differs`: both know it, the captured sums differ (whatever the refunds).
//! - `refunded_differs`: both know it, the captured sums agree, the refunded sums differ.
//! - `disputed_differs`: both know it, captures and refunds agree, the sums a chargeback
//!   took back differ.
//! - `unclaimed_authorization`: the provider holds a live authorization (authorized, nothing
//!   captured) for a key no order of the ledger carries: money held for nothing, to void.
//!   (A checkout still running shows here for a moment; reconcile settled data.)
//!
//! Amounts are compared in minor units; a key listed twice in one report counts the sum.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::payment::wire::{AuthorizationStatus, SettlementReport};

/// Money moved on one authorization, in its minor units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Movement {
    pub captured: i64,
    pub refunded: i64,
    /// Taken back by a chargeback.
    pub disputed: i64,
}

/// What disagrees. Variants are append-only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum MismatchKind {
    MissingFromLedger,
    UnknownToPsp,
    CapturedDiffers,
    RefundedDiffers,
    UnclaimedAuthorization,
    DisputedDiffers,
}

impl MismatchKind {
    /// A stable snake_case code.
    pub fn code(self) -> &'static str {
        match self {
            MismatchKind::MissingFromLedger => "missing_from_ledger",
            MismatchKind::UnknownToPsp => "unknown_to_psp",
            MismatchKind::CapturedDiffers => "captured_differs",
            MismatchKind::RefundedDiffers => "refunded_differs",
            MismatchKind::UnclaimedAuthorization => "unclaimed_authorization",
            MismatchKind::DisputedDiffers => "disputed_differs",
        }
    }
}

/// One authorization on which the ledger and its provider disagree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mismatch {
    pub psp: String,
    pub authorization_key: String,
    pub kind: MismatchKind,
    /// What the ledger says moved (zero if it does not know the authorization).
    pub ledger: Movement,
    /// What the provider reported (zero if it has no record of it).
    pub reported: Movement,
}

/// The part of `reports` that is `tenant`'s: the providers report every tenant's
/// authorizations, and a checkout gives each its order's entity id (`{tenant}/{order}`) as
/// the reference.
pub fn of_tenant(tenant: &str, mut reports: Vec<SettlementReport>) -> Vec<SettlementReport> {
    let prefix = format!("{tenant}/");
    for report in &mut reports {
        report.authorizations.retain(|authorization| authorization.reference.starts_with(&prefix));
    }
    reports
}

/// Compares the ledger's movements per (provider, authorization key) with `reports`.
pub fn reconcile(
    ledger: &BTreeMap<(String, String), Movement>,
    reports: &[SettlementReport],
) -> Vec<Mismatch> {
    let mut reported: BTreeMap<(String, String), Movement> = BTreeMap::new();
    let mut live = std::collections::BTreeSet::new();
    for report in reports {
        for authorization in &report.authorizations {
            let key = (report.psp.clone(), authorization.key.clone());
            if authorization.status == AuthorizationStatus::Authorized {
                live.insert(key.clone());
            }
            let movement = reported.entry(key).or_default();
            movement.captured = movement.captured.saturating_add(authorization.captured_minor);
            movement.refunded = movement.refunded.saturating_add(authorization.refunded_minor);
            movement.disputed = movement.disputed.saturating_add(authorization.disputed_minor);
        }
    }
    let judged = |psp: &str| reports.iter().any(|report| report.psp == psp);
    let mut mismatches = Vec::new();
    for (key, theirs) in &reported {
        let kind = match ledger.get(key) {
            None if theirs.captured == 0 && theirs.refunded == 0 => {
                live.contains(key).then_some(MismatchKind::UnclaimedAuthorization)
            }
            None => Some(MismatchKind::MissingFromLedger),
            Some(ours) if ours.captured != theirs.captured => Some(MismatchKind::CapturedDiffers),
            Some(ours) if ours.refunded != theirs.refunded => Some(MismatchKind::RefundedDiffers),
            Some(ours) if ours.disputed != theirs.disputed => Some(MismatchKind::DisputedDiffers),
            Some(_) => None,
        };
        if let Some(kind) = kind {
            let ours = ledger.get(key).copied().unwrap_or_default();
            mismatches.push(mismatch(key, kind, ours, *theirs));
        }
    }
    for (key, ours) in ledger {
        if judged(&key.0) && !reported.contains_key(key) {
            mismatches.push(mismatch(key, MismatchKind::UnknownToPsp, *ours, Movement::default()));
        }
    }
    mismatches.sort_by(|a, b| (&a.psp, &a.authorization_key).cmp(&(&b.psp, &b.authorization_key)));
    mismatches
}

fn mismatch(
    (psp, key): &(String, String),
    kind: MismatchKind,
    ledger: Movement,
    reported: Movement,
) -> Mismatch {
    Mismatch { psp: psp.clone(), authorization_key: key.clone(), kind, ledger, reported }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;
    use crate::payment::wire::{AuthorizationStatus, SettledAuthorization, SettledEntry};

    fn settled(key: &str, captured: i64, refunded: i64) -> SettledAuthorization {
        let entry = |id: &str, amount_minor| SettledEntry {
            id: id.into(),
            key: format!("{key}-{id}"),
            amount_minor,
        };
        SettledAuthorization {
            id: format!("auth-{key}"),
            key: key.into(),
            reference: key.into(),
            amount_minor: 1_000,
            currency: Currency::EUR,
            status: AuthorizationStatus::Authorized,
            captured_minor: captured,
            refunded_minor: refunded,
            disputed_minor: 0,
            captures: if captured > 0 { vec![entry("c", captured)] } else { Vec::new() },
            refunds: if refunded > 0 { vec![entry("r", refunded)] } else { Vec::new() },
            created_at_ms: 1,
        }
    }

    fn moved(captured: i64, refunded: i64) -> Movement {
        Movement { captured, refunded, disputed: 0 }
    }

    fn ledger(entries: &[(&str, &str, Movement)]) -> BTreeMap<(String, String), Movement> {
        entries.iter().map(|(psp, key, m)| ((psp.to_string(), key.to_string()), *m)).collect()
    }

    fn kinds(mismatches: &[Mismatch]) -> Vec<(&str, &str, &str)> {
        mismatches
            .iter()
            .map(|m| (m.psp.as_str(), m.authorization_key.as_str(), m.kind.code()))
            .collect()
    }

    #[test]
    fn agreeing_books_have_no_mismatch() {
        let ours = ledger(&[("a", "k1", moved(1_000, 200)), ("a", "k2", moved(0, 0))]);
        let report = SettlementReport {
            psp: "a".into(),
            authorizations: vec![settled("k1", 1_000, 200), settled("k2", 0, 0)],
        };
        assert_eq!(reconcile(&ours, &[report]), []);
    }

    #[test]
    fn each_disagreement_is_named() {
        let ours = ledger(&[
            ("a", "captured", moved(1_000, 0)),
            ("a", "refunded", moved(1_000, 100)),
            ("a", "unknown", moved(500, 0)),
            ("b", "no-report", moved(700, 0)),
        ]);
        let report = SettlementReport {
            psp: "a".into(),
            authorizations: vec![
                settled("captured", 900, 0),
                settled("refunded", 1_000, 300),
                settled("stray", 400, 0),
                settled("held", 0, 0),
                SettledAuthorization {
                    status: AuthorizationStatus::Voided,
                    ..settled("voided", 0, 0)
                },
            ],
        };
        let mismatches = reconcile(&ours, &[report]);
        assert_eq!(
            kinds(&mismatches),
            [
                ("a", "captured", "captured_differs"),
                ("a", "held", "unclaimed_authorization"),
                ("a", "refunded", "refunded_differs"),
                ("a", "stray", "missing_from_ledger"),
                ("a", "unknown", "unknown_to_psp"),
            ],
            "a voided authorization no order carries holds nothing: no mismatch"
        );
        assert_eq!(
            (mismatches[0].ledger, mismatches[0].reported),
            (moved(1_000, 0), moved(900, 0))
        );
        assert_eq!(mismatches[3].ledger, Movement::default());
        assert_eq!(mismatches[4].reported, Movement::default());
    }

    #[test]
    fn codes_are_stable_and_unique() {
        let all = [
            MismatchKind::MissingFromLedger,
            MismatchKind::UnknownToPsp,
            MismatchKind::CapturedDiffers,
            MismatchKind::RefundedDiffers,
        ];
        let mut codes: Vec<&str> = all.iter().map(|kind| kind.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), all.len());
    }

    #[test]
    fn a_tenant_sees_only_its_own_authorizations() {
        let tagged = |key: &str, reference: &str| SettledAuthorization {
            reference: reference.into(),
            ..settled(key, 0, 0)
        };
        let report = SettlementReport {
            psp: "a".into(),
            authorizations: vec![
                tagged("k1", "eu/o-1"),
                tagged("k2", "us/o-2"),
                tagged("k3", "eu-west/o-3"),
            ],
        };
        let ours = of_tenant("eu", vec![report]);
        let keys: Vec<&str> = ours[0].authorizations.iter().map(|a| a.key.as_str()).collect();
        assert_eq!(keys, ["k1"], "not another tenant's, nor one whose name merely starts alike");
        assert_eq!(reconcile(&BTreeMap::new(), &ours).len(), 1, "k1 is held for no order of eu");
    }
}
