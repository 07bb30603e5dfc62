//! Random command sequences against one inventory record, with time moving on; the invariants
//! of the module doc are checked after every step. Tiny id and quantity spaces, so retries,
//! conflicts, stock-outs, expiries and restocks happen often.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use super::*;
use crate::limits::QUANTITY_MAX;
use crate::testing::Harness;

#[derive(Debug, Clone)]
enum Step {
    Command(InventoryCommand),
    Advance { ms: u64 },
}

fn reservation_id() -> impl Strategy<Value = ReservationId> {
    (0u8..6).prop_map(|n| ReservationId::parse(&format!("r{n}")).unwrap())
}

fn quantity() -> impl Strategy<Value = Quantity> {
    prop_oneof![
        20 => 1u32..=6,
        1 => Just(QUANTITY_MAX),
        1 => Just(QUANTITY_MAX + 1),
        1 => Just(u32::MAX),
    ]
    .prop_map(|units| Quantity::new(units).unwrap())
}

fn step() -> impl Strategy<Value = Step> {
    let on_hand =
        prop_oneof![10 => 0u32..=20, 1 => Just(QUANTITY_MAX), 1 => Just(QUANTITY_MAX + 1)];
    let delta = prop_oneof![10 => -8i64..=8, 1 => Just(i64::MIN), 1 => Just(i64::MAX)];
    let ttl = prop_oneof![10 => 1u64..=60, 1 => Just(0u64), 1 => Just(u64::MAX)];
    prop_oneof![
        3 => (on_hand, 0u64..12).prop_map(|(quantity, feed_seq)| {
            Step::Command(InventoryCommand::SetOnHand { quantity, feed_seq })
        }),
        2 => delta.prop_map(|delta| Step::Command(InventoryCommand::Adjust { delta })),
        6 => (reservation_id(), quantity(), ttl).prop_map(|(reservation_id, quantity, ttl_ms)| {
            Step::Command(InventoryCommand::Reserve { reservation_id, quantity, ttl_ms })
        }),
        3 => reservation_id().prop_map(|reservation_id| {
            Step::Command(InventoryCommand::Commit { reservation_id })
        }),
        2 => reservation_id().prop_map(|reservation_id| {
            Step::Command(InventoryCommand::Release { reservation_id })
        }),
        2 => reservation_id().prop_map(|reservation_id| {
            Step::Command(InventoryCommand::Restock { reservation_id, sold: None })
        }),
        1 => Just(Step::Command(InventoryCommand::ExpireDue)),
        1 => Just(Step::Command(InventoryCommand::Get)),
        3 => (1u64..=40).prop_map(|ms| Step::Advance { ms }),
    ]
}

/// What the test keeps beside the entity to judge it.
#[derive(Default)]
struct Witness {
    /// Settlements seen per reservation id: committed, released or expired.
    settlements: BTreeMap<ReservationId, u32>,
    /// Reservation ids committed.
    committed: BTreeSet<ReservationId>,
    /// Restocks seen per reservation id.
    restocks: BTreeMap<ReservationId, u32>,
    /// Every event, to rebuild the state at the end.
    journal: Vec<InventoryEvent>,
}

fn check_state(inventory: &Inventory) {
    let sum: u64 = inventory.active.values().map(|hold| u64::from(hold.quantity.get())).sum();
    assert_eq!(u64::from(inventory.reserved()), sum, "reserved is the sum of the holds");
    assert!(inventory.reserved() <= inventory.on_hand(), "reserved never exceeds on hand");
    assert!(inventory.on_hand() <= QUANTITY_MAX);
    let stock = inventory.stock();
    assert_eq!(i64::from(stock.available), i64::from(stock.on_hand) - i64::from(stock.reserved));
    assert_eq!(inventory.by_expiry.len(), inventory.active.len());
    assert!(inventory.active.keys().all(|id| !inventory.settled.contains_key(id)));
}

/// Units available at `now_ms` once due holds are expired.
fn available_at(inventory: &Inventory, now_ms: u64) -> u32 {
    let live: u32 = inventory
        .active
        .values()
        .filter(|hold| hold.expires_at_ms > now_ms)
        .map(|hold| hold.quantity.get())
        .sum();
    inventory.on_hand() - live
}

fn check_step(
    before: &Inventory,
    harness: &mut Harness<Inventory>,
    command: InventoryCommand,
    witness: &mut Witness,
) {
    let now_ms = harness.now_ms;
    let decided = harness.decide(command.clone());
    if let (
        InventoryCommand::Reserve { quantity, .. },
        Err(InventoryRejection::OutOfStock { available }),
    ) = (&command, &decided)
    {
        assert_eq!(*available, available_at(before, now_ms), "honest availability");
        assert!(quantity.get() > *available, "refused only when short");
    }
    if let InventoryCommand::Restock { reservation_id, .. } = &command {
        check_restock(before, reservation_id, &decided, now_ms);
    }
    let Ok((events, reply)) = decided else { return };
    if let InventoryCommand::Reserve { reservation_id, quantity, .. } = &command {
        let fresh = before.reservation(reservation_id).is_none();
        assert!(!fresh || quantity.get() <= available_at(before, now_ms), "never oversold");
    }
    for event in &events {
        let on_hand_before = harness.state.on_hand();
        harness.state.apply(event);
        match event {
            InventoryEvent::OnHandSet { .. } | InventoryEvent::Adjusted { .. } => {}
            InventoryEvent::Committed { reservation_id, quantity } => {
                assert_eq!(harness.state.on_hand() + quantity.get(), on_hand_before);
                *witness.settlements.entry(reservation_id.clone()).or_default() += 1;
                witness.committed.insert(reservation_id.clone());
            }
            InventoryEvent::Restocked { reservation_id, quantity } => {
                assert_eq!(harness.state.on_hand(), on_hand_before + quantity.get());
                assert!(witness.committed.contains(reservation_id), "only a sale comes back");
                *witness.restocks.entry(reservation_id.clone()).or_default() += 1;
            }
            InventoryEvent::Released { reservation_id, .. }
            | InventoryEvent::Expired { reservation_id, .. } => {
                assert_eq!(harness.state.on_hand(), on_hand_before);
                *witness.settlements.entry(reservation_id.clone()).or_default() += 1;
            }
            InventoryEvent::Reserved { .. } => {
                assert_eq!(harness.state.on_hand(), on_hand_before);
            }
        }
        check_state(&harness.state);
        witness.journal.push(event.clone());
    }
    assert!(witness.settlements.values().all(|count| *count <= 1), "settled at most once");
    assert!(witness.restocks.values().all(|count| *count <= 1), "restocked at most once");
    assert_eq!(reply.stock, harness.state.stock(), "the reply tells the state after the events");
    if let Some(view) = &reply.reservation {
        assert_eq!(Some(view), harness.state.reservation(&view.reservation_id).as_ref());
    }
}

/// A restock is refused exactly when nothing sold may come back, with the reason the
/// reservation's state gives.
fn check_restock(
    before: &Inventory,
    id: &ReservationId,
    decided: &Result<(Vec<InventoryEvent>, InventoryReply), InventoryRejection>,
    now_ms: u64,
) {
    let status = before.reservation(id).map(|view| (view.status, view.expires_at_ms));
    match (status, decided) {
        (Some((ReservationStatus::Committed, _)), Ok((events, _))) => assert_eq!(events.len(), 1),
        (
            Some((ReservationStatus::Committed, _)),
            Err(InventoryRejection::QuantityTooLarge { .. }),
        ) => {
            let quantity = before.settled[id].quantity.get();
            assert!(u64::from(before.on_hand()) + u64::from(quantity) > u64::from(QUANTITY_MAX));
        }
        (Some((ReservationStatus::Restocked, _)), Ok((events, _))) => assert!(events.is_empty()),
        (Some((ReservationStatus::Active, at)), Err(InventoryRejection::ReservationActive)) => {
            assert!(at > now_ms)
        }
        (Some((ReservationStatus::Active, at)), Err(InventoryRejection::ReservationExpired)) => {
            assert!(at <= now_ms)
        }
        (Some((ReservationStatus::Expired, _)), Err(InventoryRejection::ReservationExpired))
        | (Some((ReservationStatus::Released, _)), Err(InventoryRejection::ReservationReleased))
        | (None, Err(InventoryRejection::UnknownReservation)) => {}
        (status, decided) => panic!("restock of {status:?} answered {decided:?}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn invariants_hold_after_every_step(steps in prop::collection::vec(step(), 1..120)) {
        let mut harness = Harness::<Inventory>::new("SKU1@FRA1");
        let mut witness = Witness::default();
        for step in steps {
            match step {
                Step::Advance { ms } => harness.now_ms += ms,
                Step::Command(command) => {
                    let before = harness.state.clone();
                    check_step(&before, &mut harness, command, &mut witness);
                }
            }
            check_state(&harness.state);
        }
        let replayed = Harness::<Inventory>::given("SKU1@FRA1", witness.journal);
        prop_assert_eq!(replayed.state, harness.state, "replay yields the same state");
    }
}
