//! The seller's rules one at a time: registration, score inputs, standing and its rules.

use super::*;
use crate::testing::Harness;

fn update(rating_hundredths: u16, defect_bps: u16) -> SellerCommand {
    let rules = StandingRules::MARKETPLACE.defect_rules();
    SellerCommand::UpdateScore { rating_hundredths, defect_bps, rules }
}

#[test]
fn a_new_defect_rate_past_the_rules_lowers_the_standing_and_never_raises_it() {
    let mut seller = registered();
    let (events, view) = seller.run(update(450, 150)).unwrap();
    let at = |bps| DefectRate::new(bps).unwrap();
    let ruled = |from, to, bps| SellerEvent::StandingRuled { from, to, defect_rate: at(bps) };
    assert_eq!(events[1..], [ruled(Standing::Good, Standing::AtRisk, 150)]);
    assert_eq!((view.score.standing, view.score.version), (Standing::AtRisk, 2));
    let (events, view) = seller.run(update(450, 20)).unwrap();
    assert_eq!(events.len(), 1, "a better score restores nothing: {events:?}");
    assert_eq!(view.score.standing, Standing::AtRisk);
    let (events, view) = seller.run(update(450, 250)).unwrap();
    assert_eq!(events[1..], [ruled(Standing::AtRisk, Standing::Suspended, 250)]);
    assert_eq!(view.score.standing, Standing::Suspended);
    let (events, _) = seller.run(update(450, 250)).unwrap();
    assert!(events.is_empty(), "the same score again: {events:?}");

    // An operator restores it: the same rate again, or another rating, leaves it restored;
    // a new rate past the threshold is judged again.
    seller.run(SellerCommand::SetStanding { standing: Standing::Good }).unwrap();
    let (_, view) = seller.run(update(470, 250)).unwrap();
    assert_eq!(view.score.standing, Standing::Good, "restored by an operator");
    let (_, view) = seller.run(update(470, 300)).unwrap();
    assert_eq!(view.score.standing, Standing::Suspended);

    // No rules (the default): operators alone set standings.
    seller.run(SellerCommand::SetStanding { standing: Standing::Good }).unwrap();
    let rules = DefectRules::default();
    let rescore = SellerCommand::UpdateScore { rating_hundredths: 470, defect_bps: 9_000, rules };
    assert_eq!(seller.run(rescore).unwrap().1.score.standing, Standing::Good);
}

#[test]
fn standing_rules_are_checked() {
    let rules = |at_risk, suspend| StandingRules {
        at_risk_defect_bps: at_risk,
        suspend_defect_bps: suspend,
        verification_required: false,
        price_drop_case_pct: None,
        listing_burst_case_per_min: None,
        cancellation_case_bps: None,
        suspend_cancellation_bps: None,
        cancellation_orders_min: None,
    };
    assert!(rules(Some(300), Some(200)).validate().is_err(), "at risk past suspended");
    let never = StandingRules { cancellation_orders_min: Some(0), ..StandingRules::MARKETPLACE };
    assert!(never.validate().is_err(), "a rate of no orders");
    let all =
        StandingRules { suspend_cancellation_bps: Some(10_001), ..StandingRules::MARKETPLACE };
    assert!(all.validate().is_err());
    assert!(rules(Some(0), None).validate().is_err(), "0 would put every seller at risk");
    assert!(rules(None, Some(10_001)).validate().is_err());
    for fine in [StandingRules::MARKETPLACE, StandingRules::default(), rules(None, Some(500))] {
        assert!(fine.validate().is_ok(), "{fine:?}");
    }
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

#[test]
fn an_applicant_waits_for_verification_no_rule_verifies_it_and_suspension_applies() {
    let mut seller = Harness::<Seller>::new("eu/s-new");
    let (events, view) = seller.run(SellerCommand::Apply { name: "New".into() }).unwrap();
    assert_eq!(events.len(), 2, "registered, then applied: {events:?}");
    assert_eq!((view.score.standing, view.score.version), (Standing::Applied, 1));
    let (events, _) = seller.run(SellerCommand::Apply { name: "New".into() }).unwrap();
    assert!(events.is_empty(), "answered from state");
    let rescore = |defect_bps| SellerCommand::UpdateScore {
        rating_hundredths: 100,
        defect_bps,
        rules: StandingRules::MARKETPLACE.defect_rules(),
    };
    // Past at-risk, an applicant stays applied (off the buy box either way)...
    assert_eq!(seller.run(rescore(150)).unwrap().1.score.standing, Standing::Applied);
    let verify = SellerCommand::SetStanding { standing: Standing::Good };
    assert_eq!(seller.run(verify.clone()).unwrap().1.score.standing, Standing::Good);
    // ...but past suspension it is suspended, verified or not.
    seller.run(SellerCommand::SetStanding { standing: Standing::Applied }).unwrap();
    assert_eq!(seller.run(rescore(9_000)).unwrap().1.score.standing, Standing::Suspended);
}
