//! Random command sequences against one order; the invariants of the module doc are checked
//! after every event. Tiny id, amount and shipment spaces, so retries, conflicts and limits
//! happen often.

use proptest::prelude::*;

use super::fixtures::{capture, key, order, refund, seller};
use super::*;
use crate::testing::Harness;

fn command() -> impl Strategy<Value = OrderCommand> {
    let amount = prop_oneof![Just(1i64), Just(500), Just(1_755), Just(3_510), Just(4_000)];
    let id = (0u8..4).prop_map(|n| format!("p{n}"));
    let by = prop_oneof![Just("s1"), Just("s2"), Just("s3")];
    // The fixture plans shipment 1 of s1, 2 of s2 and 3 of s1.
    let planned = prop_oneof![Just((1u16, "s1")), Just((2, "s2")), Just((3, "s1"))];
    prop_oneof![
        2 => (any::<bool>(), any::<bool>()).prop_map(|(other, later)| {
            let mut new = order();
            if other {
                new.checkout = "eu/c1/other".into();
            }
            if later {
                new.capture = CapturePolicy::AtShipment;
            }
            OrderCommand::Place { order: Box::new(new), plan: None }
        }),
        2 => (0u8..3).prop_map(|days| OrderCommand::PlanShipments { plan: fixtures::terms(days) }),
        4 => (id.clone(), amount.clone()).prop_map(|(id, minor)| {
            OrderCommand::RecordCapture { capture: capture(&id, minor) }
        }),
        5 => (prop_oneof![3 => planned, 1 => (0u16..5, by)], 0u8..2).prop_map(
            |((shipment, by), t)| OrderCommand::Ship {
                shipment,
                seller: seller(by),
                carrier: "dhl".into(),
                tracking: format!("t{t}"),
            }
        ),
        3 => (0u16..5).prop_map(|shipment| OrderCommand::Deliver { shipment }),
        1 => Just(OrderCommand::Cancel { reason: "test".into() }),
        1 => Just(OrderCommand::RecordVoid),
        3 => (id, amount).prop_map(|(id, minor)| {
            OrderCommand::RecordRefund { refund: refund(&id, minor) }
        }),
        1 => Just(OrderCommand::Get),
        1 => Just(OrderCommand::RecordRestock),
        1 => (0u16..3).prop_map(|line| OrderCommand::RecordLineRestocked { line }),
    ]
}

fn check(view: &OrderView) {
    let authorized = view.authorization.amount.minor;
    assert!(0 <= view.refunded.minor, "refunded is not negative");
    assert!(view.refunded.minor <= view.captured.minor, "refunded <= captured");
    assert!(view.captured.minor <= authorized, "captured <= authorized");
    let captured: i64 = view.captures.iter().map(|c| c.amount.minor).sum();
    let refunded: i64 = view.refunds.iter().map(|r| r.amount.minor).sum();
    assert_eq!((captured, refunded), (view.captured.minor, view.refunded.minor));
    for ids in [
        view.captures.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
        view.refunds.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
    ] {
        let mut unique = ids.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), ids.len(), "payment ids are unique");
    }
    for shipment in &view.shipments {
        assert!(shipment.delivered_at_ms.is_none() || shipment.shipped.is_some());
        assert!(
            shipment.lines.iter().all(|&n| view.lines[usize::from(n)].seller == shipment.seller)
        );
    }
    let lines: usize = view.shipments.iter().map(|s| s.lines.len()).sum();
    assert!(view.shipments.is_empty() || lines == view.lines.len(), "every line ships once");
    if view.cancellation.is_some() {
        assert!(view.shipments.iter().all(|s| s.shipped.is_none()), "cancelled before shipping");
    }
    if view.voided {
        assert!(view.cancellation.is_some() && view.captured.is_zero());
    }
    if view.restocked || view.restock_due() {
        assert!(view.cancellation.is_some(), "only a cancelled order's units come back");
    }
    assert!(
        view.captures.len() <= crate::limits::ORDER_CAPTURES_MAX
            && view.refunds.len() <= crate::limits::ORDER_REFUNDS_MAX
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn status_only_moves_forward_and_money_stays_within_bounds(
        commands in prop::collection::vec(command(), 1..80),
    ) {
        let mut harness = Harness::<Order>::new(&key());
        let mut journal = Vec::new();
        let mut rank = 0;
        for command in commands {
            harness.now_ms += 1_000;
            let Ok((events, reply)) = harness.decide(command) else { continue };
            for event in &events {
                harness.state.apply(event);
                let view = harness.state.view().expect("placed by the first event");
                prop_assert!(view.status.rank() >= rank, "{:?} went back", view.status);
                rank = view.status.rank();
                check(view);
                journal.push(event.clone());
            }
            prop_assert_eq!(Some(&reply.order), harness.state.view(), "the reply is the state");
            let revision = harness.state.view().map_or(0, |view| view.revision);
            prop_assert_eq!(revision, journal.len() as u64, "one revision per event");
        }
        let replayed = Harness::<Order>::given(&key(), journal);
        prop_assert_eq!(replayed.state, harness.state, "replay yields the same state");
    }
}
