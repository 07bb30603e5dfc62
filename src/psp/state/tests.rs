//! The ledger's rules without HTTP: idempotency, declines, tombstones, the money bounds.

use bazaar_actors::Currency;

use super::*;

fn authorize_body(key: &str, amount_minor: i64, card: &str) -> AuthorizeBody {
    AuthorizeBody {
        key: key.to_string(),
        reference: format!("order-{key}"),
        amount_minor,
        currency: Currency::EUR,
        card: card.to_string(),
    }
}

fn capture_body(key: &str, authorization_key: &str, amount_minor: i64) -> CaptureBody {
    CaptureBody { key: key.into(), authorization_key: authorization_key.into(), amount_minor }
}

fn refund_body(key: &str, authorization_key: &str, amount_minor: i64) -> RefundBody {
    RefundBody { key: key.into(), authorization_key: authorization_key.into(), amount_minor }
}

fn code<T: std::fmt::Debug>(result: Result<T, Refusal>) -> (u16, &'static str) {
    let refusal = result.expect_err("a refusal");
    (refusal.status, refusal.code)
}

#[test]
fn an_authorization_key_answers_its_first_answer_forever() {
    let mut ledger = Ledger::default();
    let first =
        ledger.authorize(&authorize_body("a", 500, "tok_ok"), Odds::decline(0.0), 1).unwrap();
    assert_eq!(first.status, AuthorizationStatus::Authorized);
    assert_eq!(
        ledger.authorize(&authorize_body("a", 500, "tok_ok"), Odds::decline(1.0), 2),
        Ok(first.clone())
    );
    assert_eq!(
        code(ledger.authorize(&authorize_body("a", 501, "tok_ok"), Odds::decline(0.0), 3)),
        (409, "key_reused")
    );
    let mut other_reference = authorize_body("a", 500, "tok_ok");
    other_reference.reference = "elsewhere".into();
    assert_eq!(
        code(ledger.authorize(&other_reference, Odds::decline(0.0), 3)),
        (409, "key_reused")
    );
    assert_eq!(ledger.settlement("p").authorizations.len(), 1);
}

#[test]
fn declines_follow_the_card_then_the_key_hash_and_are_kept() {
    let mut ledger = Ledger::default();
    let declined =
        ledger.authorize(&authorize_body("d", 500, "tok_decline"), Odds::decline(0.0), 1).unwrap();
    assert_eq!(declined.status, AuthorizationStatus::Declined);
    assert_eq!(declined.decline_reason.as_deref(), Some("card_declined"));
    let poor = ledger
        .authorize(&authorize_body("p", 500, "tok_insufficient"), Odds::decline(0.0), 1)
        .unwrap();
    assert_eq!(poor.decline_reason.as_deref(), Some("insufficient_funds"));
    assert_eq!(
        ledger.authorize(&authorize_body("d", 500, "tok_ok"), Odds::decline(0.0), 2),
        Ok(declined)
    );
    let all = ledger.authorize(&authorize_body("x", 500, "tok_ok"), Odds::decline(1.0), 1).unwrap();
    assert_eq!(all.decline_reason.as_deref(), Some("do_not_honor"));
    // About half the keys at a rate of one half, and the same ones every time.
    let declined: Vec<bool> =
        (0..1_000).map(|n| decline_reason(&format!("k{n}"), "tok_ok", 0.5).is_some()).collect();
    let count = declined.iter().filter(|d| **d).count();
    assert!((400..600).contains(&count), "{count}");
    let again: Vec<bool> =
        (0..1_000).map(|n| decline_reason(&format!("k{n}"), "tok_ok", 0.5).is_some()).collect();
    assert_eq!(declined, again);
    assert_eq!(decline_reason("k1", "tok_ok", 0.0), None);
}

#[test]
fn captures_stay_within_the_authorization() {
    let mut ledger = Ledger::default();
    ledger.authorize(&authorize_body("a", 500, "tok_ok"), Odds::decline(0.0), 1).unwrap();
    let first = ledger.capture(&capture_body("c1", "a", 300)).unwrap();
    assert_eq!(ledger.capture(&capture_body("c1", "a", 300)), Ok(first));
    assert_eq!(code(ledger.capture(&capture_body("c1", "a", 200))), (409, "key_reused"));
    assert_eq!(code(ledger.capture(&capture_body("c2", "a", 201))), (409, "over_capture"));
    ledger.capture(&capture_body("c2", "a", 200)).unwrap();
    assert_eq!(
        code(ledger.capture(&capture_body("c3", "nope", 1))),
        (404, "authorization_not_found")
    );
    assert_eq!(code(ledger.capture(&capture_body("c3", "a", 0))), (422, "invalid"));
    assert_eq!(code(ledger.capture(&capture_body("c3", "a", i64::MAX))), (409, "over_capture"));
    ledger.authorize(&authorize_body("d", 500, "tok_decline"), Odds::decline(0.0), 1).unwrap();
    assert_eq!(code(ledger.capture(&capture_body("c4", "d", 1))), (409, "authorization_declined"));
    let report = ledger.settlement("p");
    let a = report.authorizations.iter().find(|a| a.key == "a").unwrap();
    assert_eq!((a.captured_minor, a.captures.len()), (500, 2));
}

#[test]
fn voids_release_tombstone_and_refuse_after_capture() {
    let mut ledger = Ledger::default();
    ledger.authorize(&authorize_body("a", 500, "tok_ok"), Odds::decline(0.0), 1).unwrap();
    assert_eq!(ledger.void("a").map(|v| v.status), Ok(VoidStatus::Voided));
    assert_eq!(ledger.void("a").map(|v| v.status), Ok(VoidStatus::Voided));
    assert_eq!(code(ledger.capture(&capture_body("c", "a", 1))), (409, "authorization_voided"));
    // A void that overtook its authorization wins, and creates no record.
    assert_eq!(ledger.void("late").map(|v| v.status), Ok(VoidStatus::NotFoundTombstoned));
    assert_eq!(ledger.void("late").map(|v| v.status), Ok(VoidStatus::NotFoundTombstoned));
    let late =
        ledger.authorize(&authorize_body("late", 500, "tok_ok"), Odds::decline(0.0), 2).unwrap();
    assert_eq!((late.status, late.id.as_str()), (AuthorizationStatus::Voided, ""));
    assert_eq!(code(ledger.capture(&capture_body("c", "late", 1))), (409, "authorization_voided"));
    ledger.authorize(&authorize_body("b", 500, "tok_ok"), Odds::decline(0.0), 1).unwrap();
    ledger.capture(&capture_body("cb", "b", 1)).unwrap();
    assert_eq!(code(ledger.void("b")), (409, "authorization_captured"));
    let keys: Vec<String> =
        ledger.settlement("p").authorizations.into_iter().map(|a| a.key).collect();
    assert_eq!(keys, ["a", "b"]);
}

#[test]
fn refunds_stay_within_what_was_captured() {
    let mut ledger = Ledger::default();
    ledger.authorize(&authorize_body("a", 500, "tok_ok"), Odds::decline(0.0), 1).unwrap();
    assert_eq!(code(ledger.refund(&refund_body("r1", "a", 1))), (409, "over_refund"));
    ledger.capture(&capture_body("c", "a", 400)).unwrap();
    let first = ledger.refund(&refund_body("r1", "a", 300)).unwrap();
    assert_eq!(ledger.refund(&refund_body("r1", "a", 300)), Ok(first));
    assert_eq!(code(ledger.refund(&refund_body("r1", "a", 100))), (409, "key_reused"));
    assert_eq!(code(ledger.refund(&refund_body("r2", "a", 101))), (409, "over_refund"));
    ledger.refund(&refund_body("r2", "a", 100)).unwrap();
    assert_eq!(code(ledger.refund(&refund_body("r3", "x", 1))), (404, "authorization_not_found"));
    let report = ledger.settlement("p");
    assert_eq!(report.authorizations[0].refunded_minor, 400);
    assert_eq!(report.authorizations[0].refunds.len(), 2);
}

#[test]
fn settlement_is_sorted_by_id_which_is_by_age() {
    let mut ledger = Ledger::default();
    for n in 0..30 {
        ledger
            .authorize(&authorize_body(&format!("k{n}"), 100, "tok_ok"), Odds::decline(0.0), n)
            .unwrap();
    }
    let report = ledger.settlement("primary");
    assert_eq!(report.psp, "primary");
    let ages: Vec<u64> = report.authorizations.iter().map(|a| a.created_at_ms).collect();
    assert_eq!(ages, (0..30).collect::<Vec<u64>>());
}

#[test]
fn bad_input_is_refused_not_panicked_on() {
    let mut ledger = Ledger::default();
    for body in [
        authorize_body("", 1, "tok_ok"),
        authorize_body("k", 0, "tok_ok"),
        authorize_body("k", -5, "tok_ok"),
        authorize_body("k", 1, ""),
        authorize_body(&"k".repeat(TEXT_BYTES_MAX + 1), 1, "tok_ok"),
    ] {
        assert_eq!(code(ledger.authorize(&body, Odds::decline(0.0), 1)), (422, "invalid"));
    }
    assert_eq!(code(ledger.void("")), (422, "invalid"));
    assert!(ledger.settlement("p").authorizations.is_empty());
}

#[test]
fn a_dispute_takes_back_what_is_left_once_and_freezes_the_payment() {
    let mut ledger = Ledger::default();
    ledger.authorize(&authorize_body("a", 500, "tok_ok"), Odds::decline(0.0), 1).unwrap();
    assert_eq!(code(ledger.dispute("a", "fraudulent", 2)), (409, "nothing_to_dispute"));
    assert_eq!(code(ledger.dispute("nope", "fraudulent", 2)), (404, "authorization_not_found"));
    ledger.capture(&capture_body("c", "a", 500)).unwrap();
    ledger.refund(&refund_body("r", "a", 100)).unwrap();
    assert_eq!(code(ledger.dispute("a", "bored", 3)), (422, "invalid"));
    let dispute = ledger.dispute("a", "not_as_described", 3).unwrap();
    assert_eq!((dispute.amount_minor, dispute.reference.as_str()), (400, "order-a"));
    assert_eq!(ledger.dispute("a", "fraudulent", 4), Ok(dispute.clone()), "once");
    assert_eq!(code(ledger.refund(&refund_body("r2", "a", 1))), (409, "disputed"));
    assert_eq!(ledger.disputes(), vec![dispute]);
    let report = ledger.settlement("p");
    assert_eq!(report.authorizations[0].disputed_minor, 400);
    assert!(disputed_at("a", 1.0) && !disputed_at("a", 0.0));
}

#[test]
fn a_challenged_authorization_holds_nothing_until_it_is_answered() {
    let mut ledger = Ledger::default();
    let pending =
        ledger.authorize(&authorize_body("c", 500, "tok_3ds"), Odds::decline(0.0), 1).unwrap();
    assert_eq!(pending.status, AuthorizationStatus::ChallengeRequired);
    let challenge = pending.challenge.clone().expect("a challenge");
    assert_eq!(challenge.url, format!("{CHALLENGES_PATH}/{}", challenge.id));
    // Asked again under its key: still pending; nothing can be captured.
    assert_eq!(
        ledger.authorize(&authorize_body("c", 500, "tok_3ds"), Odds::decline(0.0), 2),
        Ok(pending)
    );
    assert_eq!(
        code(ledger.capture(&capture_body("cap", "c", 500))),
        (409, "authorization_pending")
    );
    let approved = ledger.answer_challenge(&challenge.id, true).unwrap();
    assert_eq!(
        (approved.status, approved.challenge.clone()),
        (AuthorizationStatus::Authorized, None)
    );
    assert_eq!(ledger.answer_challenge(&challenge.id, true), Ok(approved.clone()));
    assert_eq!(code(ledger.answer_challenge(&challenge.id, false)), (409, "challenge_answered"));
    assert_eq!(
        ledger.authorize(&authorize_body("c", 500, "tok_3ds"), Odds::decline(0.0), 3),
        Ok(approved)
    );
    assert!(ledger.capture(&capture_body("cap", "c", 500)).is_ok());

    // Denied: declined for good. Abandoned: a void calls it off.
    let denied =
        ledger.authorize(&authorize_body("d", 500, "tok_3ds"), Odds::decline(0.0), 1).unwrap();
    let id = denied.challenge.unwrap().id;
    let answer = ledger.answer_challenge(&id, false).unwrap();
    assert_eq!(
        (answer.status, answer.decline_reason.as_deref()),
        (AuthorizationStatus::Declined, Some("authentication_failed"))
    );
    let abandoned =
        ledger.authorize(&authorize_body("v", 500, "tok_3ds"), Odds::decline(0.0), 1).unwrap();
    ledger.void("v").unwrap();
    let id = abandoned.challenge.unwrap().id;
    assert_eq!(code(ledger.answer_challenge(&id, true)), (409, "authorization_voided"));
    assert_eq!(code(ledger.answer_challenge("chl_nope", true)), (404, "challenge_not_found"));

    // The rate challenges by key, deterministically.
    let odds = Odds { decline: 0.0, challenge: 1.0 };
    let all = ledger.authorize(&authorize_body("r", 500, "tok_ok"), odds, 1).unwrap();
    assert_eq!(all.status, AuthorizationStatus::ChallengeRequired);
    assert!(!challenged("r", "tok_ok", 0.0) && challenged("r", "tok_3ds", 0.0));
}
