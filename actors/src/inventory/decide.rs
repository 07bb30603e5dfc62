//! The inventory record's rules: every command is validated here and either refused or turned
//! into events. Nothing here mutates; the reply describes the state after the events.

use std::collections::BTreeSet;

use super::state::{Hold, Inventory, Outcome};
use super::{
    InventoryCommand, InventoryEvent, InventoryRejection, InventoryReply, ReservationStatus,
    ReservationView, StockLevel,
};
use crate::ids::ReservationId;
use crate::limits::{
    EXPIRIES_PER_COMMAND_MAX, QUANTITY_MAX, RESERVATION_TTL_MS_MAX, RESERVATIONS_ACTIVE_MAX,
};
use crate::quantity::Quantity;

type Decided = Result<(Vec<InventoryEvent>, InventoryReply), InventoryRejection>;

pub(super) fn decide(state: &Inventory, command: InventoryCommand, now_ms: u64) -> Decided {
    match command {
        InventoryCommand::SetOnHand { quantity, feed_seq } => {
            set_on_hand(state, quantity, feed_seq, now_ms)
        }
        InventoryCommand::Adjust { delta } => adjust(state, delta, now_ms),
        InventoryCommand::Reserve { reservation_id, quantity, ttl_ms } => {
            reserve(state, reservation_id, quantity, ttl_ms, now_ms)
        }
        InventoryCommand::Commit { reservation_id } => commit(state, reservation_id, now_ms),
        InventoryCommand::Release { reservation_id } => release(state, reservation_id),
        InventoryCommand::ExpireDue => {
            let (events, _) = expire_due(state, now_ms);
            Ok(answer(state, events, None))
        }
        InventoryCommand::Get => Ok(answer(state, Vec::new(), None)),
        InventoryCommand::Lookup { reservation_id } => {
            Ok(answer(state, Vec::new(), state.reservation(&reservation_id)))
        }
        InventoryCommand::Restock { reservation_id, sold } => {
            restock(state, reservation_id, sold, now_ms)
        }
    }
}

/// `Expired` events for the holds due at `now_ms`, and the units they free.
fn expire_due(state: &Inventory, now_ms: u64) -> (Vec<InventoryEvent>, u32) {
    let mut freed: u32 = 0;
    let events = state
        .due(now_ms, EXPIRIES_PER_COMMAND_MAX)
        .map(|(id, hold)| {
            freed = freed.saturating_add(hold.quantity.get());
            InventoryEvent::Expired { reservation_id: id.clone(), quantity: hold.quantity }
        })
        .collect();
    (events, freed)
}

fn set_on_hand(state: &Inventory, quantity: u32, feed_seq: u64, now_ms: u64) -> Decided {
    if quantity > QUANTITY_MAX {
        return Err(InventoryRejection::QuantityTooLarge { max: QUANTITY_MAX });
    }
    if let Some(last_applied) = state.last_feed_seq.filter(|last| feed_seq <= *last) {
        return Err(InventoryRejection::StaleFeed { last_applied });
    }
    let (mut events, freed) = expire_due(state, now_ms);
    let reserved = state.reserved.saturating_sub(freed);
    if quantity < reserved {
        return Err(InventoryRejection::BelowReserved { reserved });
    }
    events.push(InventoryEvent::OnHandSet { quantity, feed_seq });
    Ok(answer(state, events, None))
}

fn adjust(state: &Inventory, delta: i64, now_ms: u64) -> Decided {
    if delta == 0 {
        return Err(InventoryRejection::ZeroAdjustment);
    }
    let on_hand = i64::from(state.on_hand).saturating_add(delta);
    if on_hand > i64::from(QUANTITY_MAX) {
        return Err(InventoryRejection::QuantityTooLarge { max: QUANTITY_MAX });
    }
    let (mut events, freed) = expire_due(state, now_ms);
    let reserved = state.reserved.saturating_sub(freed);
    // `on_hand` is at most QUANTITY_MAX here, so the conversion below is exact when it is
    // not negative.
    let on_hand = match u32::try_from(on_hand) {
        Ok(on_hand) if on_hand >= reserved => on_hand,
        _ => return Err(InventoryRejection::BelowReserved { reserved }),
    };
    events.push(InventoryEvent::Adjusted { delta, on_hand });
    Ok(answer(state, events, None))
}

fn reserve(
    state: &Inventory,
    id: ReservationId,
    quantity: Quantity,
    ttl_ms: u64,
    now_ms: u64,
) -> Decided {
    if quantity.get() > QUANTITY_MAX {
        return Err(InventoryRejection::QuantityTooLarge { max: QUANTITY_MAX });
    }
    if ttl_ms == 0 || ttl_ms > RESERVATION_TTL_MS_MAX {
        return Err(InventoryRejection::InvalidTtl { max_ms: RESERVATION_TTL_MS_MAX });
    }
    if let Some(hold) = state.active.get(&id) {
        return replay_active(state, &id, *hold, quantity, now_ms);
    }
    if let Some(settled) = state.settled.get(&id) {
        if settled.quantity != quantity {
            return Err(InventoryRejection::ReservationConflict { quantity: settled.quantity });
        }
        return match settled.outcome {
            Outcome::Committed => Ok(answer(state, Vec::new(), state.reservation(&id))),
            Outcome::Released => Err(InventoryRejection::ReservationReleased),
            Outcome::Expired => Err(InventoryRejection::ReservationExpired),
            Outcome::Restocked => Err(InventoryRejection::ReservationRestocked),
        };
    }
    let (mut events, freed) = expire_due(state, now_ms);
    let available = state.available().saturating_add(freed);
    if quantity.get() > available {
        return Err(InventoryRejection::OutOfStock { available });
    }
    if state.active.len() - events.len() >= RESERVATIONS_ACTIVE_MAX {
        let max = u32::try_from(RESERVATIONS_ACTIVE_MAX).unwrap_or(u32::MAX);
        return Err(InventoryRejection::TooManyReservations { max });
    }
    let hold = Hold { quantity, expires_at_ms: now_ms.saturating_add(ttl_ms) };
    events.push(InventoryEvent::Reserved {
        reservation_id: id.clone(),
        quantity,
        expires_at_ms: hold.expires_at_ms,
    });
    Ok(answer(state, events, Some(view(id, hold, ReservationStatus::Active))))
}

/// A reserve retried for a hold that is still active.
fn replay_active(
    state: &Inventory,
    id: &ReservationId,
    hold: Hold,
    quantity: Quantity,
    now_ms: u64,
) -> Decided {
    if hold.quantity != quantity {
        return Err(InventoryRejection::ReservationConflict { quantity: hold.quantity });
    }
    if hold.expires_at_ms <= now_ms {
        return Err(InventoryRejection::ReservationExpired);
    }
    Ok(answer(state, Vec::new(), Some(view(id.clone(), hold, ReservationStatus::Active))))
}

fn commit(state: &Inventory, id: ReservationId, now_ms: u64) -> Decided {
    if let Some(hold) = state.active.get(&id) {
        if hold.expires_at_ms <= now_ms {
            return Err(InventoryRejection::ReservationExpired);
        }
        let event =
            InventoryEvent::Committed { reservation_id: id.clone(), quantity: hold.quantity };
        return Ok(answer(state, vec![event], Some(view(id, *hold, ReservationStatus::Committed))));
    }
    match state.settled.get(&id).map(|settled| settled.outcome) {
        Some(Outcome::Committed) => Ok(answer(state, Vec::new(), state.reservation(&id))),
        Some(Outcome::Released) => Err(InventoryRejection::ReservationReleased),
        Some(Outcome::Expired) => Err(InventoryRejection::ReservationExpired),
        Some(Outcome::Restocked) => Err(InventoryRejection::ReservationRestocked),
        None => Err(InventoryRejection::UnknownReservation),
    }
}

fn release(state: &Inventory, id: ReservationId) -> Decided {
    if let Some(hold) = state.active.get(&id) {
        let event =
            InventoryEvent::Released { reservation_id: id.clone(), quantity: hold.quantity };
        return Ok(answer(state, vec![event], Some(view(id, *hold, ReservationStatus::Released))));
    }
    match state.settled.get(&id).map(|settled| settled.outcome) {
        Some(Outcome::Released | Outcome::Expired) => {
            Ok(answer(state, Vec::new(), state.reservation(&id)))
        }
        Some(Outcome::Committed) => Err(InventoryRejection::ReservationCommitted),
        Some(Outcome::Restocked) => Err(InventoryRejection::ReservationRestocked),
        None => Err(InventoryRejection::UnknownReservation),
    }
}

/// Puts a committed reservation's units back on hand, once; a forgotten one only with the
/// caller's word for what was `sold`.
fn restock(state: &Inventory, id: ReservationId, sold: Option<Quantity>, now_ms: u64) -> Decided {
    if let Some(hold) = state.active.get(&id) {
        // A due hold can no longer be committed: it will only ever expire.
        if hold.expires_at_ms <= now_ms {
            return Err(InventoryRejection::ReservationExpired);
        }
        return Err(InventoryRejection::ReservationActive);
    }
    let hold = match (state.settled.get(&id), sold) {
        (Some(settled), _) => match settled.outcome {
            Outcome::Committed => {
                Hold { quantity: settled.quantity, expires_at_ms: settled.expires_at_ms }
            }
            Outcome::Restocked => return Ok(answer(state, Vec::new(), state.reservation(&id))),
            Outcome::Released => return Err(InventoryRejection::ReservationReleased),
            Outcome::Expired => return Err(InventoryRejection::ReservationExpired),
        },
        (None, Some(quantity)) => Hold { quantity, expires_at_ms: 0 },
        (None, None) => return Err(InventoryRejection::UnknownReservation),
    };
    let quantity = hold.quantity;
    if u64::from(state.on_hand) + u64::from(quantity.get()) > u64::from(QUANTITY_MAX) {
        return Err(InventoryRejection::QuantityTooLarge { max: QUANTITY_MAX });
    }
    let event = InventoryEvent::Restocked { reservation_id: id.clone(), quantity };
    Ok(answer(state, vec![event], Some(view(id, hold, ReservationStatus::Restocked))))
}

/// The reply for `events`: the stock as it will be once they are applied, and the
/// reservation concerned. Computed from the events rather than by folding a copy of the
/// state, which on a hot SKU would copy every remembered reservation per command; the
/// property test checks it against `apply`.
fn answer(
    state: &Inventory,
    events: Vec<InventoryEvent>,
    reservation: Option<ReservationView>,
) -> (Vec<InventoryEvent>, InventoryReply) {
    let stock = stock_after(state, &events);
    (events, InventoryReply { stock, reservation })
}

fn stock_after(state: &Inventory, events: &[InventoryEvent]) -> StockLevel {
    let mut on_hand = state.on_hand;
    let mut reserved = state.reserved;
    let mut last_feed_seq = state.last_feed_seq;
    let mut settled: BTreeSet<&ReservationId> = BTreeSet::new();
    let mut new_expiry: Option<u64> = None;
    for event in events {
        match event {
            InventoryEvent::OnHandSet { quantity, feed_seq } => {
                on_hand = *quantity;
                last_feed_seq = Some(*feed_seq);
            }
            InventoryEvent::Adjusted { on_hand: after, .. } => on_hand = *after,
            InventoryEvent::Reserved { quantity, expires_at_ms, .. } => {
                reserved = reserved.saturating_add(quantity.get());
                new_expiry = Some(new_expiry.map_or(*expires_at_ms, |at| at.min(*expires_at_ms)));
            }
            InventoryEvent::Committed { reservation_id, quantity } => {
                reserved = reserved.saturating_sub(quantity.get());
                on_hand = on_hand.saturating_sub(quantity.get());
                settled.insert(reservation_id);
            }
            InventoryEvent::Released { reservation_id, quantity }
            | InventoryEvent::Expired { reservation_id, quantity } => {
                reserved = reserved.saturating_sub(quantity.get());
                settled.insert(reservation_id);
            }
            InventoryEvent::Restocked { quantity, .. } => {
                on_hand = on_hand.saturating_add(quantity.get());
            }
        }
    }
    let old_expiry =
        state.by_expiry.iter().find(|(_, id)| !settled.contains(id)).map(|(at, _)| *at);
    let next_expiry_ms = match (old_expiry, new_expiry) {
        (Some(old), Some(new)) => Some(old.min(new)),
        (old, new) => old.or(new),
    };
    StockLevel {
        on_hand,
        reserved,
        available: on_hand.saturating_sub(reserved),
        last_feed_seq,
        next_expiry_ms,
    }
}

fn view(id: ReservationId, hold: Hold, status: ReservationStatus) -> ReservationView {
    ReservationView {
        reservation_id: id,
        quantity: hold.quantity,
        expires_at_ms: hold.expires_at_ms,
        status,
    }
}
