//! The inventory record's state and `apply`: folding events, no rules.
//!
//! Invariants of the representation (kept by `apply`, relied on by `decide`):
//! - `reserved` equals the sum of `active` quantities.
//! - `by_expiry` holds exactly one `(expires_at_ms, id)` entry per active hold.
//! - `settled_order` lists exactly the keys of `settled`, oldest first, and never holds more
//!   than `RESERVATIONS_SETTLED_MAX`.
//! - An id is never both active and settled.
//! - Only a settled reservation whose outcome was `Committed` becomes `Restocked`, keeping its
//!   place in `settled_order`; or an id remembered nowhere (a sale forgotten since), which is
//!   remembered as `Restocked` from then on.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde::{Deserialize, Serialize};

use super::{InventoryEvent, ReservationStatus, ReservationView, StockLevel};
use crate::ids::ReservationId;
use crate::limits::RESERVATIONS_SETTLED_MAX;
use crate::quantity::Quantity;

/// An active hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Hold {
    pub quantity: Quantity,
    pub expires_at_ms: u64,
}

/// How a reservation ended. Variants are append-only (the state is snapshotted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(super) enum Outcome {
    Committed,
    Released,
    Expired,
    /// Committed, then the units came back on hand.
    Restocked,
}

/// A settled reservation, remembered to answer retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Settled {
    pub quantity: Quantity,
    pub expires_at_ms: u64,
    pub outcome: Outcome,
}

/// The stock of one SKU at one location.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inventory {
    pub(super) on_hand: u32,
    pub(super) reserved: u32,
    pub(super) last_feed_seq: Option<u64>,
    pub(super) active: BTreeMap<ReservationId, Hold>,
    /// Active holds by due time, so expiry never scans every hold.
    pub(super) by_expiry: BTreeSet<(u64, ReservationId)>,
    pub(super) settled: BTreeMap<ReservationId, Settled>,
    pub(super) settled_order: VecDeque<ReservationId>,
}

impl Inventory {
    pub fn on_hand(&self) -> u32 {
        self.on_hand
    }

    pub fn reserved(&self) -> u32 {
        self.reserved
    }

    pub fn available(&self) -> u32 {
        self.on_hand.saturating_sub(self.reserved)
    }

    pub fn stock(&self) -> StockLevel {
        StockLevel {
            on_hand: self.on_hand,
            reserved: self.reserved,
            available: self.available(),
            last_feed_seq: self.last_feed_seq,
            next_expiry_ms: self.by_expiry.first().map(|(at, _)| *at),
        }
    }

    /// A reservation, active or remembered.
    pub fn reservation(&self, id: &ReservationId) -> Option<ReservationView> {
        if let Some(hold) = self.active.get(id) {
            return Some(ReservationView {
                reservation_id: id.clone(),
                quantity: hold.quantity,
                expires_at_ms: hold.expires_at_ms,
                status: ReservationStatus::Active,
            });
        }
        self.settled.get(id).map(|settled| ReservationView {
            reservation_id: id.clone(),
            quantity: settled.quantity,
            expires_at_ms: settled.expires_at_ms,
            status: match settled.outcome {
                Outcome::Committed => ReservationStatus::Committed,
                Outcome::Released => ReservationStatus::Released,
                Outcome::Expired => ReservationStatus::Expired,
                Outcome::Restocked => ReservationStatus::Restocked,
            },
        })
    }

    /// The active reservations, by id.
    pub fn active_reservations(&self) -> impl Iterator<Item = ReservationView> + '_ {
        self.active.keys().filter_map(|id| self.reservation(id))
    }

    /// Active holds due at `now_ms`, earliest first, at most `limit` of them.
    pub(super) fn due(
        &self,
        now_ms: u64,
        limit: usize,
    ) -> impl Iterator<Item = (&ReservationId, Hold)> + '_ {
        self.by_expiry
            .iter()
            .take_while(move |(at, _)| *at <= now_ms)
            .take(limit)
            .filter_map(|(_, id)| self.active.get_key_value(id).map(|(id, hold)| (id, *hold)))
    }

    pub(super) fn apply_event(&mut self, event: &InventoryEvent) {
        match event {
            InventoryEvent::OnHandSet { quantity, feed_seq } => {
                self.on_hand = *quantity;
                self.last_feed_seq = Some(*feed_seq);
            }
            InventoryEvent::Adjusted { on_hand, .. } => self.on_hand = *on_hand,
            InventoryEvent::Reserved { reservation_id, quantity, expires_at_ms } => {
                let hold = Hold { quantity: *quantity, expires_at_ms: *expires_at_ms };
                if let Some(old) = self.active.insert(reservation_id.clone(), hold) {
                    self.reserved = self.reserved.saturating_sub(old.quantity.get());
                    self.by_expiry.remove(&(old.expires_at_ms, reservation_id.clone()));
                }
                self.reserved = self.reserved.saturating_add(quantity.get());
                self.by_expiry.insert((*expires_at_ms, reservation_id.clone()));
            }
            InventoryEvent::Committed { reservation_id, .. } => {
                if let Some(hold) = self.settle(reservation_id, Outcome::Committed) {
                    self.on_hand = self.on_hand.saturating_sub(hold.quantity.get());
                }
            }
            InventoryEvent::Released { reservation_id, .. } => {
                self.settle(reservation_id, Outcome::Released);
            }
            InventoryEvent::Expired { reservation_id, .. } => {
                self.settle(reservation_id, Outcome::Expired);
            }
            InventoryEvent::Restocked { reservation_id, quantity } => {
                match self.settled.get_mut(reservation_id) {
                    Some(settled) if settled.outcome == Outcome::Committed => {
                        settled.outcome = Outcome::Restocked;
                    }
                    Some(_) => return,
                    None if self.active.contains_key(reservation_id) => return,
                    None => {
                        let outcome = Outcome::Restocked;
                        let forgotten = Settled { quantity: *quantity, expires_at_ms: 0, outcome };
                        self.remember(reservation_id.clone(), forgotten);
                    }
                }
                self.on_hand = self.on_hand.saturating_add(quantity.get());
            }
        }
    }

    /// Moves an active hold to the settled memory; `None` if it was not active.
    fn settle(&mut self, id: &ReservationId, outcome: Outcome) -> Option<Hold> {
        let hold = self.active.remove(id)?;
        self.reserved = self.reserved.saturating_sub(hold.quantity.get());
        self.by_expiry.remove(&(hold.expires_at_ms, id.clone()));
        let settled =
            Settled { quantity: hold.quantity, expires_at_ms: hold.expires_at_ms, outcome };
        self.remember(id.clone(), settled);
        Some(hold)
    }

    /// Remembers a settled reservation as the newest, forgetting the oldest past the bound.
    fn remember(&mut self, id: ReservationId, settled: Settled) {
        if self.settled.insert(id.clone(), settled).is_none() {
            self.settled_order.push_back(id);
        }
        while self.settled_order.len() > RESERVATIONS_SETTLED_MAX {
            if let Some(oldest) = self.settled_order.pop_front() {
                self.settled.remove(&oldest);
            }
        }
    }
}
