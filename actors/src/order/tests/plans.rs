//! Shipment plans: lines grouped by seller and location, promised-by dates, planned once,
//! and planned with the placement.

use super::*;

#[test]
fn shipments_group_lines_by_seller_and_location() {
    let mut harness = placed();
    harness.now_ms = 5_000;
    let (events, reply) =
        harness.run(OrderCommand::PlanShipments { plan: fixtures::terms(2) }).unwrap();
    assert_eq!(events.len(), 1);
    let plan: Vec<_> = reply
        .order
        .shipments
        .iter()
        .map(|s| (s.number, s.seller.as_str(), s.location.as_str(), s.lines.clone()))
        .collect();
    assert_eq!(
        plan,
        [(1, "s1", "FRA1", vec![0]), (2, "s2", "FRA1", vec![1]), (3, "s1", "BER1", vec![2])]
    );
    let promised: Vec<u64> = reply.order.shipments.iter().map(|s| s.promised_by_ms).collect();
    // Thursday 1970-01-01: one day's handling leaves on Friday, two days' transit arrive on
    // Tuesday (day 5) by its end; three days' handling leave on Tuesday and arrive on
    // Thursday (day 7). Weekends count for neither.
    assert_eq!(promised, [6 * DAY_MS - 1, 6 * DAY_MS - 1, 8 * DAY_MS - 1]);
    // Planned once: the second call answers the first plan.
    let again = quiet(&harness, OrderCommand::PlanShipments { plan: fixtures::terms(9) });
    assert_eq!(again.shipments, reply.order.shipments);
}

#[test]
fn placing_with_delivery_terms_plans_the_shipments_in_the_same_decision() {
    let place = |days: Option<u8>| OrderCommand::Place {
        order: Box::new(order()),
        plan: days.map(fixtures::terms),
    };
    let mut harness = Harness::<Order>::new(&key());
    harness.now_ms = 5_000;
    let (events, reply) = harness.run(place(Some(2))).unwrap();
    assert!(
        matches!(events.as_slice(), [OrderEvent::Placed(_), OrderEvent::ShipmentsPlanned { .. }]),
        "{events:?}"
    );
    let mut separately = placed();
    separately.now_ms = 5_000;
    let (_, planned) =
        separately.run(OrderCommand::PlanShipments { plan: fixtures::terms(2) }).unwrap();
    assert_eq!(reply.order.shipments, planned.order.shipments, "as PlanShipments plans");
    assert_eq!(quiet(&harness, place(Some(9))).shipments, reply.order.shipments, "planned once");

    // A repeat plans an order placed without a plan, unless it was cancelled since.
    let mut unplanned = placed();
    let (events, _) = unplanned.run(place(Some(2))).unwrap();
    assert!(matches!(events.as_slice(), [OrderEvent::ShipmentsPlanned { .. }]), "{events:?}");
    let mut cancelled = placed();
    cancelled.run(OrderCommand::Cancel { reason: "customer".into() }).unwrap();
    assert!(quiet(&cancelled, place(Some(2))).shipments.is_empty());
}

#[test]
fn lines_of_one_seller_at_one_location_share_a_shipment() {
    use super::fixtures::{LineSpec, order_of};
    let specs = [
        LineSpec::new("s1", "FRA1", 100),
        LineSpec::new("s2", "FRA1", 100),
        LineSpec { handling_days: 4, ..LineSpec::new("s1", "FRA1", 100) },
    ];
    let mut harness = Harness::<Order>::new(&key());
    harness.run(OrderCommand::Place { order: Box::new(order_of(&specs, 0)), plan: None }).unwrap();
    let (_, reply) = harness.run(OrderCommand::PlanShipments { plan: fixtures::terms(0) }).unwrap();
    let first = &reply.order.shipments[0];
    // The slowest line's four days' handling from Thursday: out on Wednesday (day 6).
    assert_eq!((first.lines.clone(), first.promised_by_ms), (vec![0, 2], 7 * DAY_MS - 1));
    assert_eq!(reply.order.shipments.len(), 2);
}

#[test]
fn a_line_split_over_locations_ships_from_each_with_its_own_transit() {
    use super::fixtures::{LineSpec, order_of};
    use crate::fulfilment::split_line;
    use crate::ids::LocationCode;
    use crate::order::promise::{DeliveryPlan, DeliveryTerms};
    let specs =
        [LineSpec { quantity: 5, discount: 7, shipping: 300, ..LineSpec::new("s1", "SEA1", 999) }];
    let mut new = order_of(&specs, 0);
    let at =
        |code: &str, units| (LocationCode::parse(code).unwrap(), Quantity::new(units).unwrap());
    new.lines = split_line(&new.lines[0], &[at("SEA1", 3), at("NYC1", 2)]);
    let plan = DeliveryPlan {
        cutoff_hour_utc: 24,
        transit_days: 9,
        by_location: vec![
            (
                LocationCode::parse("SEA1").unwrap(),
                DeliveryTerms { transit_days: 1, cutoff_hour_utc: 24 },
            ),
            // Its cut-off at midnight: an order is handled from the next business day.
            (
                LocationCode::parse("NYC1").unwrap(),
                DeliveryTerms { transit_days: 4, cutoff_hour_utc: 0 },
            ),
        ],
    };
    let mut harness = Harness::<Order>::new(&key());
    let (_, reply) =
        harness.run(OrderCommand::Place { order: Box::new(new), plan: Some(plan) }).unwrap();
    let shipments: Vec<_> = reply
        .order
        .shipments
        .iter()
        .map(|s| (s.location.as_str(), s.lines.clone(), s.promised_by_ms / DAY_MS))
        .collect();
    // Thursday: one day's handling leaves Friday; SEA1 arrives Monday (day 4). NYC1 handles
    // it from Friday, so it leaves Monday and arrives four business days later, Friday (day 8).
    assert_eq!(shipments, [("SEA1", vec![0], 4), ("NYC1", vec![1], 8)]);
    assert_eq!(reply.order.totals.total, specs[0].line(0).total);
}
