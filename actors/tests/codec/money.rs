//! The fraud assessment and the ledger's postings survive the codec, with the variants of
//! their decisions, accounts, entries and mismatches pinned to their positions.

use bazaar_actors::fraud::{FraudAssessment, FraudDecision, FraudReason};
use bazaar_actors::ledger::{Account, EntryKind, MismatchKind, Posting, PostingSet};
use bazaar_actors::{Currency, CustomerId, SellerId};

use crate::support::{pin_positions, round_trip};

#[test]
fn fraud_and_ledger_values_survive_the_codec() {
    round_trip(&FraudAssessment {
        score: 45,
        decision: FraudDecision::Review,
        reasons: vec![FraudReason { code: "velocity_card".into(), points: 20 }],
    });
    pin_positions(&[FraudDecision::Accept, FraudDecision::Review, FraudDecision::Reject]);
    let accounts = [
        Account::Customer(CustomerId::parse("c1").unwrap()),
        Account::PspClearing("psp-a".into()),
        Account::SellerPayable(SellerId::parse("s1").unwrap()),
        Account::Commission,
        Account::VatPayable,
        Account::Refunds,
        Account::Appeasements,
    ];
    pin_positions(&accounts);
    pin_positions(&[
        EntryKind::Placed,
        EntryKind::Captured,
        EntryKind::Cancelled,
        EntryKind::Refunded,
    ]);
    pin_positions(&[
        MismatchKind::MissingFromLedger,
        MismatchKind::UnknownToPsp,
        MismatchKind::CapturedDiffers,
        MismatchKind::RefundedDiffers,
    ]);
    round_trip(&PostingSet {
        reference: "o-1".into(),
        entry: EntryKind::Captured,
        currency: Currency::EUR,
        postings: vec![
            Posting { account: Account::PspClearing("psp-a".into()), amount: 5 },
            Posting { account: Account::Customer(CustomerId::parse("c1").unwrap()), amount: -5 },
        ],
    });
}
