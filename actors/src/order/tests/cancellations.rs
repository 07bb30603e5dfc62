//! A seller cancels its own order before shipment: only an order of its lines alone, once.

use super::*;
use crate::order::fixtures::{LineSpec, order_of, terms};

fn single_seller() -> Harness<Order> {
    let specs = [LineSpec::new("s1", "FRA1", 1_000), LineSpec::new("s1", "BER1", 500)];
    let mut harness = Harness::<Order>::new(&key());
    let place = OrderCommand::Place { order: Box::new(order_of(&specs, 0)), plan: Some(terms(1)) };
    harness.run(place).unwrap();
    harness
}

fn by(name: &str) -> OrderCommand {
    OrderCommand::CancelBySeller { seller: seller(name), reason: "cannot source it".into() }
}

#[test]
fn a_seller_cancels_its_own_order_before_shipment() {
    let mut harness = single_seller();
    assert_eq!(refused(&harness, by("s2")), OrderRejection::UnknownOrder, "not its order");
    let (events, reply) = harness.run(by("s1")).unwrap();
    assert!(
        matches!(
            events.as_slice(),
            [OrderEvent::Cancelled { .. }, OrderEvent::CancelledBySeller { .. }]
        ),
        "{events:?}"
    );
    assert_eq!(reply.order.cancelled_by_seller, Some(seller("s1")));
    assert_eq!(
        reply.order.cancellation.as_ref().map(|c| c.reason.as_str()),
        Some("cannot source it")
    );
    // Again: answered from state.
    assert_eq!(quiet(&harness, by("s1")).cancelled_by_seller, Some(seller("s1")));
}

#[test]
fn an_order_shared_or_shipped_is_not_the_sellers_to_cancel() {
    let mut shared = placed();
    shared.run(OrderCommand::PlanShipments { plan: fixtures::terms(1) }).unwrap();
    assert_eq!(refused(&shared, by("s1")), OrderRejection::SharedWithOtherSellers);
    let mut shipped = single_seller();
    shipped.run(ship(1, "s1", "t-1")).unwrap();
    assert_eq!(refused(&shipped, by("s1")), OrderRejection::TooLateToCancel);
    // The customer cancels: not the seller's cancellation, and the seller cannot claim it.
    let mut customer = single_seller();
    let (_, reply) =
        customer.run(OrderCommand::Cancel { reason: "changed my mind".into() }).unwrap();
    assert_eq!(reply.order.cancelled_by_seller, None);
    assert_eq!(refused(&customer, by("s1")), OrderRejection::OrderCancelled);
}
