//! The seller's rules one at a time: registration, score inputs, standing and its rules.

use super::*;
use crate::testing::Harness;

fn update(rating_hundredths: u16, defect_bps: u16) -> SellerCommand {
    let rules = StandingRules::default();
    SellerCommand::UpdateScore { rating_hundredths, defect_bps, rules }
}

#[test]
fn a_defect_rate_past_the_rules_lowers_the_standing_and_never_raises_it() {
    let mut seller = registered();
    let (events, view) = seller.run(update(450, 150)).unwrap();
    let at = |bps| DefectRate::new(bps).unwrap();
    assert_eq!(
        events[1..],
        [SellerEvent::StandingRuled {
            from: Standing::Good,
            to: Standing::AtRisk,
            defect_rate: at(150)
        }]
    );
    assert_eq!((view.score.standing, view.score.version), (Standing::AtRisk, 2));
    let (events, view) = seller.run(update(450, 20)).unwrap();
    assert_eq!(events.len(), 1, "a better score restores nothing: {events:?}");
    assert_eq!(view.score.standing, Standing::AtRisk);
    let (events, view) = seller.run(update(450, 250)).unwrap();
    assert_eq!(
        events[1..],
        [SellerEvent::StandingRuled {
            from: Standing::AtRisk,
            to: Standing::Suspended,
            defect_rate: at(250)
        }]
    );
    assert_eq!(view.score.standing, Standing::Suspended);
    let (events, _) = seller.run(update(450, 250)).unwrap();
    assert!(events.is_empty(), "the same score again: {events:?}");
    seller.run(SellerCommand::SetStanding { standing: Standing::Good }).unwrap();
    let strict = StandingRules { at_risk_defect_bps: 10, suspend_defect_bps: 5_000 };
    let rescore =
        SellerCommand::UpdateScore { rating_hundredths: 450, defect_bps: 250, rules: strict };
    let (events, view) = seller.run(rescore).unwrap();
    assert_eq!(
        view.score.standing,
        Standing::AtRisk,
        "the same score under other rules: {events:?}"
    );
    assert!(StandingRules { at_risk_defect_bps: 300, suspend_defect_bps: 200 }.validate().is_err());
    assert!(
        StandingRules { at_risk_defect_bps: 0, suspend_defect_bps: 10_001 }.validate().is_err()
    );
    assert!(StandingRules::default().validate().is_ok());
}

fn registered() -> Harness<Seller> {
    let event = SellerEvent::Registered { name: "Acme Books".into(), at_ms: 5 };
    Harness::given("acme", [event])
}

#[test]
fn register_once_and_answer_retries_from_state() {
    let mut seller = Harness::<Seller>::new("acme");
    seller.now_ms = 5;
    let (events, view) = seller.run(SellerCommand::Register { name: "Acme Books".into() }).unwrap();
    assert_eq!(events, [SellerEvent::Registered { name: "Acme Books".into(), at_ms: 5 }]);
    assert_eq!(view.score, SellerScore::default());
    let (events, _) = seller.run(SellerCommand::Register { name: "Acme Books".into() }).unwrap();
    assert!(events.is_empty());
    assert_eq!(
        seller.decide(SellerCommand::Register { name: "Other".into() }),
        Err(SellerRejection::AlreadyRegistered)
    );
}

#[test]
fn commands_before_registration_are_refused() {
    let seller = Harness::<Seller>::new("acme");
    for command in [
        SellerCommand::Get,
        SellerCommand::UpdateProfile { name: "x".into() },
        update(400, 10),
        SellerCommand::SetStanding { standing: Standing::Suspended },
    ] {
        assert_eq!(seller.decide(command), Err(SellerRejection::NotRegistered));
    }
}

#[test]
fn invalid_names_and_scores_are_refused() {
    let seller = registered();
    for name in ["", "   ", "a\u{0}b", &"n".repeat(SELLER_NAME_BYTES_MAX + 1)] {
        assert_eq!(
            seller.decide(SellerCommand::UpdateProfile { name: name.into() }),
            Err(SellerRejection::NameInvalid { bytes_max: SELLER_NAME_BYTES_MAX as u32 })
        );
    }
    assert_eq!(seller.decide(update(501, 0)), Err(SellerRejection::RatingOutOfRange { max: 500 }));
    assert_eq!(
        seller.decide(update(0, 10_001)),
        Err(SellerRejection::DefectRateOutOfRange { max: 10_000 })
    );
}

#[test]
fn score_and_standing_changes_bump_the_version_once_each() {
    let mut seller = registered();
    let (events, view) = seller.run(update(480, 35)).unwrap();
    assert_eq!(
        events,
        [SellerEvent::ScoreUpdated {
            rating: Rating::new(480).unwrap(),
            defect_rate: DefectRate::new(35).unwrap(),
        }]
    );
    assert_eq!(view.score.version, 1);
    let (events, view) =
        seller.run(SellerCommand::SetStanding { standing: Standing::AtRisk }).unwrap();
    assert_eq!(
        events,
        [SellerEvent::StandingChanged { from: Standing::Good, to: Standing::AtRisk }]
    );
    assert_eq!((view.score.standing, view.score.version), (Standing::AtRisk, 2));
    let (events, view) =
        seller.run(SellerCommand::SetStanding { standing: Standing::AtRisk }).unwrap();
    assert!(events.is_empty());
    assert_eq!(view.score.version, 2);
    let (events, _) = seller.run(SellerCommand::UpdateProfile { name: "Acme".into() }).unwrap();
    assert_eq!(events, [SellerEvent::ProfileUpdated { name: "Acme".into() }]);
    assert_eq!(seller.state.view().unwrap().score.version, 2, "a rename is not a score change");
}

#[test]
fn score_types_refuse_out_of_range_values() {
    assert_eq!(Rating::new(500).map(Rating::hundredths), Some(500));
    assert_eq!(Rating::new(501), None);
    assert_eq!(DefectRate::new(10_000).map(DefectRate::bps), Some(10_000));
    assert_eq!(DefectRate::new(10_001), None);
}

#[test]
fn products_hear_of_every_change_of_standing_or_score_and_nothing_else() {
    let (good, at_risk) = (Standing::Good, Standing::AtRisk);
    let defect_rate = DefectRate::new(150).unwrap();
    let told = [
        SellerEvent::ScoreUpdated { rating: Rating::MAX, defect_rate },
        SellerEvent::StandingChanged { from: good, to: at_risk },
        SellerEvent::StandingRuled { from: good, to: at_risk, defect_rate },
    ];
    assert!(told.iter().all(SellerEvent::changes_score));
    let untold = [
        SellerEvent::Registered { name: "Acme".into(), at_ms: 1 },
        SellerEvent::ProfileUpdated { name: "Acme".into() },
    ];
    assert!(!untold.iter().any(SellerEvent::changes_score));
}
