//! Chargebacks: recorded once for exactly what the provider held, borne by rule, and final.

use super::super::chargebacks::Bearer;
use super::*;

fn charge_back(id: &str, minor: i64, reason: &str) -> OrderCommand {
    OrderCommand::RecordChargeback {
        psp: fixtures::PSP.into(),
        id: id.into(),
        amount: eur(minor),
        reason: reason.into(),
    }
}

fn captured() -> Harness<Order> {
    let mut harness = planned();
    harness.run(OrderCommand::RecordCapture { capture: capture("c1", 3_510) }).unwrap();
    harness
}

#[test]
fn a_chargeback_takes_what_the_provider_held_once_and_is_borne_by_rule() {
    let mut harness = captured();
    harness.run(OrderCommand::RecordRefund { refund: refund("r1", 510) }).unwrap();
    for (bad, why) in [(3_510, "more than held"), (100, "less than held"), (0, "nothing")] {
        let refused = refused(&harness, charge_back("d1", bad, "fraudulent"));
        assert_eq!(refused, OrderRejection::ChargebackInvalid, "{why}");
    }
    let unknown = refused(&harness, charge_back("d1", 3_000, "bored"));
    assert_eq!(unknown, OrderRejection::ChargebackInvalid);
    harness.now_ms = 8_000;
    let (events, reply) = harness.run(charge_back("d1", 3_000, "not_as_described")).unwrap();
    assert_eq!(events.len(), 1);
    let chargeback = reply.order.chargeback.clone().unwrap();
    assert_eq!((chargeback.bearer, chargeback.at_ms), (Bearer::Sellers, 8_000));
    quiet(&harness, charge_back("d1", 3_000, "not_as_described"));
    assert_eq!(
        refused(&harness, charge_back("d2", 3_000, "fraudulent")),
        OrderRejection::PaymentDisputed
    );
    assert_eq!(reply.order.payment_action(), PaymentAction::Done);
    assert_eq!(Bearer::of("fraudulent"), Bearer::Marketplace);
    assert_eq!(Bearer::of("product_not_received"), Bearer::Sellers);
    assert_eq!(Bearer::of("duplicate"), Bearer::Marketplace);
}

#[test]
fn a_disputed_order_is_final() {
    let mut harness = captured();
    harness.run(charge_back("d1", 3_510, "fraudulent")).unwrap();
    let frozen = [
        OrderCommand::Cancel { reason: "too late".into() },
        OrderCommand::RecordRefund { refund: refund("r1", 10) },
        ship(1, "s1", "t1"),
        OrderCommand::Appease {
            amount: eur(10),
            reason: "late".into(),
            by: "agent".into(),
            request_id: "g1".into(),
        },
    ];
    for command in frozen {
        assert_eq!(refused(&harness, command), OrderRejection::PaymentDisputed);
    }
}
