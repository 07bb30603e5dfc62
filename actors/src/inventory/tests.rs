//! Inventory rules, one at a time: given events, when a command, then events or a rejection.

use super::*;
use crate::limits::{QUANTITY_MAX, RESERVATION_TTL_MS_MAX, RESERVATIONS_SETTLED_MAX};
use crate::testing::Harness;

const KEY: &str = "SKU1@FRA1";

fn rid(text: &str) -> ReservationId {
    ReservationId::parse(text).unwrap()
}

fn qty(units: u32) -> Quantity {
    Quantity::new(units).unwrap()
}

fn on_hand(quantity: u32) -> InventoryEvent {
    InventoryEvent::OnHandSet { quantity, feed_seq: 1 }
}

fn reserved(id: &str, units: u32, expires_at_ms: u64) -> InventoryEvent {
    InventoryEvent::Reserved { reservation_id: rid(id), quantity: qty(units), expires_at_ms }
}

fn reserve(id: &str, units: u32, ttl_ms: u64) -> InventoryCommand {
    InventoryCommand::Reserve { reservation_id: rid(id), quantity: qty(units), ttl_ms }
}

fn events(harness: &Harness<Inventory>, command: InventoryCommand) -> Vec<InventoryEvent> {
    harness.decide(command).unwrap().0
}

fn rejection(harness: &Harness<Inventory>, command: InventoryCommand) -> InventoryRejection {
    harness.decide(command).unwrap_err()
}

#[test]
fn feeds_apply_in_sequence_and_stale_ones_are_refused() {
    let fresh = Harness::<Inventory>::new(KEY);
    let first = InventoryCommand::SetOnHand { quantity: 7, feed_seq: 0 };
    assert_eq!(events(&fresh, first), [InventoryEvent::OnHandSet { quantity: 7, feed_seq: 0 }]);

    let fed =
        Harness::<Inventory>::given(KEY, [InventoryEvent::OnHandSet { quantity: 7, feed_seq: 5 }]);
    for stale in [0, 4, 5] {
        assert_eq!(
            rejection(&fed, InventoryCommand::SetOnHand { quantity: 9, feed_seq: stale }),
            InventoryRejection::StaleFeed { last_applied: 5 }
        );
    }
    let (events, reply) =
        fed.decide(InventoryCommand::SetOnHand { quantity: 9, feed_seq: 6 }).unwrap();
    assert_eq!(events, [InventoryEvent::OnHandSet { quantity: 9, feed_seq: 6 }]);
    assert_eq!((reply.stock.on_hand, reply.stock.last_feed_seq), (9, Some(6)));
}

#[test]
fn feeds_never_go_below_reserved_or_above_the_limit() {
    let held = Harness::<Inventory>::given(KEY, [on_hand(10), reserved("r1", 4, 100)]);
    assert_eq!(
        rejection(&held, InventoryCommand::SetOnHand { quantity: 3, feed_seq: 2 }),
        InventoryRejection::BelowReserved { reserved: 4 }
    );
    assert_eq!(
        rejection(&held, InventoryCommand::SetOnHand { quantity: u32::MAX, feed_seq: 2 }),
        InventoryRejection::QuantityTooLarge { max: QUANTITY_MAX }
    );
    assert_eq!(events(&held, InventoryCommand::SetOnHand { quantity: 4, feed_seq: 2 }).len(), 1);
}

#[test]
fn adjustments_move_on_hand_within_bounds() {
    let held = Harness::<Inventory>::given(KEY, [on_hand(10), reserved("r1", 4, 100)]);
    assert_eq!(
        events(&held, InventoryCommand::Adjust { delta: -6 }),
        [InventoryEvent::Adjusted { delta: -6, on_hand: 4 }]
    );
    assert_eq!(
        events(&held, InventoryCommand::Adjust { delta: 5 }),
        [InventoryEvent::Adjusted { delta: 5, on_hand: 15 }]
    );
    for (delta, refused) in [
        (-7, InventoryRejection::BelowReserved { reserved: 4 }),
        (i64::MIN, InventoryRejection::BelowReserved { reserved: 4 }),
        (i64::MAX, InventoryRejection::QuantityTooLarge { max: QUANTITY_MAX }),
        (0, InventoryRejection::ZeroAdjustment),
    ] {
        assert_eq!(rejection(&held, InventoryCommand::Adjust { delta }), refused, "{delta}");
    }
}

#[test]
fn reserve_holds_stock_until_it_runs_out() {
    let mut inventory = Harness::<Inventory>::given(KEY, [on_hand(5)]);
    inventory.now_ms = 1_000;
    let (events, reply) = inventory.run(reserve("r1", 3, 500)).unwrap();
    assert_eq!(events, [reserved("r1", 3, 1_500)]);
    assert_eq!((reply.stock.reserved, reply.stock.available), (3, 2));
    assert_eq!(reply.stock.next_expiry_ms, Some(1_500));
    assert_eq!(reply.reservation.unwrap().status, ReservationStatus::Active);
    assert_eq!(
        rejection(&inventory, reserve("r2", 3, 500)),
        InventoryRejection::OutOfStock { available: 2 }
    );
}

#[test]
fn reserve_is_idempotent_by_reservation_id() {
    let mut inventory = Harness::<Inventory>::given(KEY, [on_hand(5), reserved("r1", 3, 1_500)]);
    inventory.now_ms = 1_200;
    let (events, reply) = inventory.decide(reserve("r1", 3, 999)).unwrap();
    assert!(events.is_empty());
    let view = reply.reservation.unwrap();
    assert_eq!((view.quantity, view.expires_at_ms), (qty(3), 1_500), "the first answer");
    assert_eq!(
        rejection(&inventory, reserve("r1", 2, 500)),
        InventoryRejection::ReservationConflict { quantity: qty(3) }
    );
    inventory.now_ms = 1_500;
    assert_eq!(
        rejection(&inventory, reserve("r1", 3, 500)),
        InventoryRejection::ReservationExpired
    );
}

#[test]
fn reserve_refuses_absurd_requests() {
    let inventory = Harness::<Inventory>::given(KEY, [on_hand(5)]);
    let invalid_ttl = InventoryRejection::InvalidTtl { max_ms: RESERVATION_TTL_MS_MAX };
    assert_eq!(rejection(&inventory, reserve("r1", 1, 0)), invalid_ttl);
    assert_eq!(rejection(&inventory, reserve("r1", 1, u64::MAX)), invalid_ttl);
    assert_eq!(
        rejection(&inventory, reserve("r1", u32::MAX, 10)),
        InventoryRejection::QuantityTooLarge { max: QUANTITY_MAX }
    );
}

#[test]
fn commit_takes_units_off_hand_once() {
    let mut inventory = Harness::<Inventory>::given(KEY, [on_hand(5), reserved("r1", 3, 1_500)]);
    let commit = || InventoryCommand::Commit { reservation_id: rid("r1") };
    let (events, reply) = inventory.run(commit()).unwrap();
    assert_eq!(events, [InventoryEvent::Committed { reservation_id: rid("r1"), quantity: qty(3) }]);
    assert_eq!((reply.stock.on_hand, reply.stock.reserved, reply.stock.available), (2, 0, 2));
    assert_eq!(reply.reservation.unwrap().status, ReservationStatus::Committed);
    inventory.now_ms = 10_000;
    let (events, reply) = inventory.run(commit()).unwrap();
    assert!(events.is_empty(), "committing twice is answered from memory");
    assert_eq!(reply.stock.on_hand, 2);
    assert_eq!(
        rejection(&inventory, InventoryCommand::Release { reservation_id: rid("r1") }),
        InventoryRejection::ReservationCommitted
    );
    let (events, reply) = inventory.decide(reserve("r1", 3, 10)).unwrap();
    assert!(events.is_empty(), "a retried reserve of a committed hold answers from memory");
    assert_eq!(reply.reservation.unwrap().status, ReservationStatus::Committed);
}

#[test]
fn settled_reservations_cannot_be_committed() {
    let given = [
        on_hand(5),
        reserved("released", 1, 1_500),
        reserved("expired", 1, 1_500),
        reserved("overdue", 1, 1_000),
        InventoryEvent::Released { reservation_id: rid("released"), quantity: qty(1) },
        InventoryEvent::Expired { reservation_id: rid("expired"), quantity: qty(1) },
    ];
    let mut inventory = Harness::<Inventory>::given(KEY, given);
    inventory.now_ms = 1_000;
    let commit = |id: &str| InventoryCommand::Commit { reservation_id: rid(id) };
    assert_eq!(rejection(&inventory, commit("released")), InventoryRejection::ReservationReleased);
    assert_eq!(rejection(&inventory, commit("expired")), InventoryRejection::ReservationExpired);
    assert_eq!(rejection(&inventory, commit("overdue")), InventoryRejection::ReservationExpired);
    assert_eq!(rejection(&inventory, commit("nobody")), InventoryRejection::UnknownReservation);
    assert_eq!(
        rejection(&inventory, reserve("released", 1, 10)),
        InventoryRejection::ReservationReleased
    );
    assert_eq!(
        rejection(&inventory, reserve("expired", 2, 10)),
        InventoryRejection::ReservationConflict { quantity: qty(1) }
    );
}

#[test]
fn release_gives_units_back_once() {
    let mut inventory = Harness::<Inventory>::given(KEY, [on_hand(5), reserved("r1", 3, 1_500)]);
    let release = |id: &str| InventoryCommand::Release { reservation_id: rid(id) };
    let (events, reply) = inventory.run(release("r1")).unwrap();
    assert_eq!(events, [InventoryEvent::Released { reservation_id: rid("r1"), quantity: qty(3) }]);
    assert_eq!((reply.stock.on_hand, reply.stock.available), (5, 5));
    let (events, reply) = inventory.run(release("r1")).unwrap();
    assert!(events.is_empty());
    assert_eq!(reply.reservation.unwrap().status, ReservationStatus::Released);
    assert_eq!(rejection(&inventory, release("nobody")), InventoryRejection::UnknownReservation);
}

// postmortem: a checkout's reserve step repeated after a crash gave back the hold its first
// attempt had placed and then asked for it again under the same (now spent) id: the checkout
// failed "the reservation was released". A repeated step now looks the hold up first.
#[test]
fn a_lookup_reads_a_reservation_and_changes_nothing() {
    let mut inventory = Harness::<Inventory>::given(KEY, [on_hand(5), reserved("r1", 3, 1_500)]);
    let lookup = |id: &str| InventoryCommand::Lookup { reservation_id: rid(id) };
    let (found, reply) = inventory.run(lookup("r1")).unwrap();
    assert!(found.is_empty());
    let view = reply.reservation.unwrap();
    assert_eq!(
        (view.status, view.quantity, view.expires_at_ms),
        (ReservationStatus::Active, qty(3), 1_500)
    );
    assert_eq!(inventory.run(lookup("nobody")).unwrap().1.reservation, None);
    inventory.run(InventoryCommand::Release { reservation_id: rid("r1") }).unwrap();
    let (_, reply) = inventory.run(lookup("r1")).unwrap();
    assert_eq!(reply.reservation.unwrap().status, ReservationStatus::Released, "spent");
    assert_eq!(
        rejection(&inventory, reserve("r1", 3, 1_000)),
        InventoryRejection::ReservationReleased
    );
}

fn committed(id: &str, units: u32) -> InventoryEvent {
    InventoryEvent::Committed { reservation_id: rid(id), quantity: qty(units) }
}

fn restock(id: &str) -> InventoryCommand {
    InventoryCommand::Restock { reservation_id: rid(id), sold: None }
}

#[test]
fn restock_returns_committed_units_once() {
    let given = [on_hand(5), reserved("r1", 3, 1_500), committed("r1", 3)];
    let mut inventory = Harness::<Inventory>::given(KEY, given);
    assert_eq!(inventory.state.on_hand(), 2);
    let (events, reply) = inventory.run(restock("r1")).unwrap();
    assert_eq!(events, [InventoryEvent::Restocked { reservation_id: rid("r1"), quantity: qty(3) }]);
    assert_eq!((reply.stock.on_hand, reply.stock.reserved, reply.stock.available), (5, 0, 5));
    let view = reply.reservation.unwrap();
    assert_eq!(
        (view.status, view.quantity, view.expires_at_ms),
        (ReservationStatus::Restocked, qty(3), 1_500)
    );
    assert_eq!(reply.stock, inventory.state.stock());

    inventory.now_ms = 10_000;
    let (events, reply) = inventory.run(restock("r1")).unwrap();
    assert!(events.is_empty(), "restocking twice is answered from memory");
    assert_eq!(reply.stock.on_hand, 5, "the units came back once");
    assert_eq!(reply.reservation.unwrap().status, ReservationStatus::Restocked);

    let restocked = InventoryRejection::ReservationRestocked;
    assert_eq!(
        rejection(&inventory, InventoryCommand::Commit { reservation_id: rid("r1") }),
        restocked
    );
    assert_eq!(
        rejection(&inventory, InventoryCommand::Release { reservation_id: rid("r1") }),
        restocked
    );
    assert_eq!(rejection(&inventory, reserve("r1", 3, 10)), restocked);
}

#[test]
fn restock_refuses_what_was_never_sold() {
    let given = [
        on_hand(9),
        reserved("active", 1, 1_500),
        reserved("overdue", 1, 1_000),
        reserved("released", 1, 1_500),
        reserved("expired", 1, 1_500),
        InventoryEvent::Released { reservation_id: rid("released"), quantity: qty(1) },
        InventoryEvent::Expired { reservation_id: rid("expired"), quantity: qty(1) },
    ];
    let mut inventory = Harness::<Inventory>::given(KEY, given);
    inventory.now_ms = 1_000;
    assert_eq!(rejection(&inventory, restock("active")), InventoryRejection::ReservationActive);
    assert_eq!(
        rejection(&inventory, restock("overdue")),
        InventoryRejection::ReservationExpired,
        "a due hold can never be committed"
    );
    assert_eq!(rejection(&inventory, restock("released")), InventoryRejection::ReservationReleased);
    assert_eq!(rejection(&inventory, restock("expired")), InventoryRejection::ReservationExpired);
    assert_eq!(rejection(&inventory, restock("nobody")), InventoryRejection::UnknownReservation);
    assert_eq!(InventoryRejection::ReservationActive.kind(), RejectionKind::Conflict);
}

#[test]
fn restock_keeps_on_hand_within_the_limit() {
    let sold = [on_hand(5), reserved("r1", 3, 1_500), committed("r1", 3)];
    let mut full = Harness::<Inventory>::given(KEY, sold.clone());
    full.run(InventoryCommand::SetOnHand { quantity: QUANTITY_MAX - 2, feed_seq: 2 }).unwrap();
    assert_eq!(
        rejection(&full, restock("r1")),
        InventoryRejection::QuantityTooLarge { max: QUANTITY_MAX }
    );
    let mut room = Harness::<Inventory>::given(KEY, sold);
    room.run(InventoryCommand::SetOnHand { quantity: QUANTITY_MAX - 3, feed_seq: 2 }).unwrap();
    let (_, reply) = room.run(restock("r1")).unwrap();
    assert_eq!(reply.stock.on_hand, QUANTITY_MAX);
}

#[test]
fn expire_due_releases_only_due_holds() {
    let given = [on_hand(9), reserved("a", 1, 100), reserved("b", 2, 200), reserved("c", 3, 300)];
    let mut inventory = Harness::<Inventory>::given(KEY, given);
    inventory.now_ms = 99;
    assert_eq!(events(&inventory, InventoryCommand::ExpireDue), []);
    inventory.now_ms = 200;
    let (events, reply) = inventory.run(InventoryCommand::ExpireDue).unwrap();
    assert_eq!(
        events,
        [
            InventoryEvent::Expired { reservation_id: rid("a"), quantity: qty(1) },
            InventoryEvent::Expired { reservation_id: rid("b"), quantity: qty(2) },
        ]
    );
    assert_eq!((reply.stock.reserved, reply.stock.next_expiry_ms), (3, Some(300)));
    assert_eq!(reply.stock, inventory.state.stock());
}

#[test]
fn stock_changes_expire_due_holds_first() {
    let mut inventory = Harness::<Inventory>::given(KEY, [on_hand(4), reserved("old", 4, 100)]);
    inventory.now_ms = 100;
    let (events, reply) = inventory.run(reserve("new", 4, 50)).unwrap();
    assert_eq!(
        events,
        [
            InventoryEvent::Expired { reservation_id: rid("old"), quantity: qty(4) },
            reserved("new", 4, 150),
        ]
    );
    assert_eq!(reply.stock.available, 0);
    inventory.now_ms = 150;
    let (events, _) =
        inventory.run(InventoryCommand::SetOnHand { quantity: 0, feed_seq: 2 }).unwrap();
    assert_eq!(events.len(), 2, "the due hold expires, then the feed applies");
}

#[test]
fn settled_memory_is_bounded_and_forgets_the_oldest() {
    let mut given = vec![on_hand(1)];
    for n in 0..=RESERVATIONS_SETTLED_MAX {
        let id = format!("r{n}");
        given.push(reserved(&id, 1, 10));
        given.push(InventoryEvent::Released { reservation_id: rid(&id), quantity: qty(1) });
    }
    let inventory = Harness::<Inventory>::given(KEY, given);
    assert_eq!(inventory.state.settled.len(), RESERVATIONS_SETTLED_MAX);
    assert_eq!(inventory.state.settled_order.len(), RESERVATIONS_SETTLED_MAX);
    let commit = |id: &str| InventoryCommand::Commit { reservation_id: rid(id) };
    assert_eq!(rejection(&inventory, commit("r0")), InventoryRejection::UnknownReservation);
    assert_eq!(rejection(&inventory, commit("r1")), InventoryRejection::ReservationReleased);
}

#[test]
fn a_sale_forgotten_since_comes_back_only_on_the_callers_word() {
    // "sold" was committed, then pushed out of the settled memory by later settlements.
    let mut given = vec![on_hand(10), reserved("sold", 3, 10), committed("sold", 3)];
    for n in 0..RESERVATIONS_SETTLED_MAX {
        let id = format!("r{n}");
        given.push(reserved(&id, 1, 10));
        given.push(InventoryEvent::Released { reservation_id: rid(&id), quantity: qty(1) });
    }
    let mut inventory = Harness::<Inventory>::given(KEY, given);
    assert_eq!(inventory.state.on_hand(), 7);
    assert_eq!(rejection(&inventory, restock("sold")), InventoryRejection::UnknownReservation);

    let vouched = InventoryCommand::Restock { reservation_id: rid("sold"), sold: Some(qty(3)) };
    let (events, reply) = inventory.run(vouched.clone()).unwrap();
    assert_eq!(
        events,
        [InventoryEvent::Restocked { reservation_id: rid("sold"), quantity: qty(3) }]
    );
    assert_eq!(reply.stock.on_hand, 10);
    assert_eq!(reply.reservation.unwrap().status, ReservationStatus::Restocked);
    assert_eq!(reply.stock, inventory.state.stock());
    assert_eq!(inventory.state.settled_order.len(), RESERVATIONS_SETTLED_MAX, "still bounded");

    // Remembered as restocked: a retry, vouched or not, gives nothing back twice.
    let (events, reply) = inventory.run(vouched).unwrap();
    assert!(events.is_empty());
    assert_eq!(reply.stock.on_hand, 10);
    let (events, _) = inventory.run(restock("sold")).unwrap();
    assert!(events.is_empty());

    // The caller's word never overrides what the record remembers.
    let released = InventoryCommand::Restock {
        reservation_id: rid(&format!("r{}", RESERVATIONS_SETTLED_MAX - 1)),
        sold: Some(qty(1)),
    };
    assert_eq!(rejection(&inventory, released), InventoryRejection::ReservationReleased);
}

#[test]
fn inventory_ids_join_sku_and_location() {
    let id = InventoryId::parse("SKU123@FRA1").unwrap();
    assert_eq!((id.sku.as_str(), id.location.as_str()), ("SKU123", "FRA1"));
    assert_eq!(id.to_string(), "SKU123@FRA1");
    for bad in ["SKU123", "@FRA1", "SKU123@", "SKU@FRA1@X", "SKU 1@FRA1"] {
        assert!(InventoryId::parse(bad).is_err(), "{bad}");
    }
}
