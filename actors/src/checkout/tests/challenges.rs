//! 3-D Secure: the saga waits for the customer, authorizes again once answered (the
//! challenge's provider first), and fails `challenge_abandoned` at the deadline, whoever
//! reaches it first.

use super::*;

fn challenge(id: &str, expires_at_ms: u64) -> Challenge {
    let url = format!("http://psp/v1/challenges/{id}");
    Challenge { psp: "primary".into(), id: id.into(), url, expires_at_ms }
}

#[test]
fn a_challenge_waits_for_the_customer_then_authorizes_again() {
    let mut checkout = accepted(vec![held()]);
    assert_eq!(
        run(&mut checkout, CheckoutCommand::AnswerChallenge),
        Err(CheckoutRejection::NoChallenge)
    );
    let asked = Outcome::ChallengeRequired { challenge: challenge("c1", 9_000) };
    let reply = record(&mut checkout, asked.clone()).unwrap();
    assert_eq!(
        reply.saga.next(),
        Some(NextStep::AwaitChallenge { challenge: challenge("c1", 9_000) })
    );
    assert_eq!(reply.checkout.status, CheckoutStatus::ChallengeRequired(challenge("c1", 9_000)));
    // A second runner's repeat changes nothing.
    let key = key();
    let (events, _) = checkout
        .decide(CheckoutCommand::Record(vec![asked]), &Ctx { now_ms: 1, key: &key })
        .unwrap();
    assert!(events.is_empty());

    // Answered: authorize again. Challenged again (not authenticated yet): wait again, to
    // the first deadline.
    let reply = run(&mut checkout, CheckoutCommand::AnswerChallenge).unwrap();
    let prefer = Some("primary".to_string());
    assert!(
        matches!(&reply.saga.next(), Some(NextStep::Authorize { prefer: p, .. }) if *p == prefer),
        "the challenge's provider first: {:?}",
        reply.saga.next()
    );
    assert_eq!(reply.checkout.status, CheckoutStatus::Running { step: Step::Authorize });
    let again = Outcome::ChallengeRequired { challenge: challenge("c1", 20_000) };
    let reply = record(&mut checkout, again).unwrap();
    assert_eq!(
        reply.saga.next(),
        Some(NextStep::AwaitChallenge { challenge: challenge("c1", 9_000) })
    );
    run(&mut checkout, CheckoutCommand::AnswerChallenge).unwrap();
    let reply = run(&mut checkout, CheckoutCommand::AnswerChallenge).unwrap();
    assert!(matches!(reply.saga.next(), Some(NextStep::Authorize { .. })), "an answer's retry");
    let reply = record(&mut checkout, authorized()).unwrap();
    assert!(matches!(reply.saga.next(), Some(NextStep::Place(_))), "{:?}", reply.saga.next());
}

#[test]
fn an_abandoned_challenge_voids_by_key_and_releases() {
    let mut checkout = accepted(vec![held()]);
    record(&mut checkout, Outcome::ChallengeRequired { challenge: challenge("c1", 9_000) })
        .unwrap();
    let abandoned = failure(Step::Authorize, FailureCode::ChallengeAbandoned);
    let reply = record(&mut checkout, abandoned).unwrap();
    assert_eq!(reply.saga.next(), Some(NextStep::Void { authorized: false }));
    // Answered too late: the checkout as it stands, failing.
    let late = run(&mut checkout, CheckoutCommand::AnswerChallenge).unwrap();
    assert_eq!(late.checkout.failure.map(|f| f.code), Some(FailureCode::ChallengeAbandoned));
    let reply = record(&mut checkout, Outcome::Voided).unwrap();
    assert_eq!(reply.saga.next(), Some(NextStep::Release { held: vec![held()] }));
    let reply = record(&mut checkout, Outcome::Released).unwrap();
    assert!(
        matches!(reply.checkout.status, CheckoutStatus::Failed(ref f) if f.code == FailureCode::ChallengeAbandoned)
    );
}

fn run_at(
    checkout: &mut Checkout,
    command: CheckoutCommand,
    now_ms: u64,
) -> Result<Vec<CheckoutEvent>, CheckoutRejection> {
    let key = key();
    let (events, _) = checkout.decide(command, &Ctx { now_ms, key: &key })?;
    events.iter().for_each(|event| checkout.apply(event));
    Ok(events)
}

#[test]
fn the_deadline_holds_for_a_late_answer_and_the_expiry_spares_an_answered_one() {
    let challenged = || {
        let mut checkout = begun();
        let steps =
            [priced(), Outcome::Reserved { held: vec![held()] }, scored(FraudDecision::Accept)];
        for outcome in steps {
            record(&mut checkout, outcome).unwrap();
        }
        record(&mut checkout, Outcome::ChallengeRequired { challenge: challenge("c1", 9_000) })
            .unwrap();
        checkout
    };
    let abandoned = |events: &[CheckoutEvent]| matches!(events, [CheckoutEvent::Recorded { outcome: Outcome::Failed(f), .. }] if f.code == FailureCode::ChallengeAbandoned);
    // Before the deadline the expiry does nothing; at it, it fails the checkout.
    let mut waiting = challenged();
    assert!(run_at(&mut waiting, CheckoutCommand::ExpireChallenge, 8_999).unwrap().is_empty());
    assert!(abandoned(&run_at(&mut waiting, CheckoutCommand::ExpireChallenge, 9_000).unwrap()));
    assert_eq!(waiting.next_step(), Step::Void);
    // An answer past the deadline fails it too, and is then answered with the failure.
    let mut late = challenged();
    assert!(abandoned(&run_at(&mut late, CheckoutCommand::AnswerChallenge, 9_500).unwrap()));
    assert!(run_at(&mut late, CheckoutCommand::AnswerChallenge, 9_600).unwrap().is_empty());
    // Answered in time: the runner's expiry at the deadline leaves it be.
    let mut answered = challenged();
    run_at(&mut answered, CheckoutCommand::AnswerChallenge, 8_000).unwrap();
    assert!(run_at(&mut answered, CheckoutCommand::ExpireChallenge, 9_000).unwrap().is_empty());
    assert!(matches!(answered.next(), Some(NextStep::Authorize { .. })));
}
