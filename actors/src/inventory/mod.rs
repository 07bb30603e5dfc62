//! Inventory: the stock of one SKU at one location (entity id `SKU@LOCATION`, e.g.
//! `SKU123@FRA1`), and the reservations (holds) the checkout places on it.
//!
//! Invariants, checked by the property test after every step:
//! - `reserved <= on_hand`, where `reserved` is the sum of the active holds; so
//!   `available = on_hand - reserved` is never negative. Every command that could break this
//!   (`SetOnHand`, `Adjust`, `Reserve`) is refused instead.
//! - A reservation is settled at most once: committed, released or expired, never two of
//!   these and never twice. Retries of a settled one answer from its memory. A committed one
//!   may be restocked once (its units come back on hand), never a hold in any other state.
//! - `on_hand` changes only through `OnHandSet`, `Adjusted`, `Committed` and `Restocked`.
//! - `on_hand <= QUANTITY_MAX`, and the last applied feed sequence only grows.
//!
//! Rules:
//! - `SetOnHand` carries the warehouse feed's sequence; a sequence at or below the last
//!   applied one is `StaleFeed` (a rejected line does not consume its sequence).
//! - `Reserve` is idempotent by reservation id: the same id and quantity answer as the first
//!   time (the stock figures are today's), another quantity is `ReservationConflict`.
//! - A hold is good until `expires_at_ms` (exclusive). From then on it can no longer be
//!   committed; `ExpireDue` (sent by a timer at `StockLevel::next_expiry_ms`) turns due holds
//!   into `Expired` events. `SetOnHand`, `Adjust` and `Reserve` expire due holds first, in the
//!   same batch, so stock freed by time is usable without waiting for the timer.
//! - `Commit` twice is fine (the second answers from memory); committing a released,
//!   expired or restocked hold is refused. `Release` twice is fine; releasing a committed or
//!   restocked hold is refused.
//! - `Restock` returns a committed reservation's units to on hand (an order cancelled after
//!   its units were sold): `Restocked`, after which the reservation's outcome is restocked,
//!   so a second `Restock` answers from memory. An active hold is `ReservationActive` (or
//!   `ReservationExpired` once due: it can never be committed then), a released or expired
//!   one `ReservationReleased` or `ReservationExpired`. An unknown id is `UnknownReservation`
//!   (nothing was sold, so nothing comes back) unless the caller vouches for a sale with
//!   `sold`: the record may have forgotten it, so those units come back and the id is
//!   remembered as restocked. On hand stays within `QUANTITY_MAX` (`QuantityTooLarge`).
//! - Settled reservations are remembered up to `RESERVATIONS_SETTLED_MAX`, newest kept; an id
//!   older than that is unknown again, so callers must not reuse reservation ids (the
//!   checkout derives them from its own unique key).

mod decide;
mod held;
#[cfg(test)]
mod proptests;
mod state;
#[cfg(test)]
mod tests;

use std::fmt;

use bazaar_entity::{Ctx, Decision, Entity, Kind};
use serde::{Deserialize, Serialize};

use crate::ids::{IdError, LocationCode, ReservationId, Sku};
use crate::kinds;
use crate::quantity::Quantity;
use crate::rejection::{Rejection, RejectionKind};

pub use held::Held;
pub use state::Inventory;

/// The id of an inventory entity: a SKU at a location, written `SKU@LOCATION`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct InventoryId {
    pub sku: Sku,
    pub location: LocationCode,
}

impl InventoryId {
    pub fn new(sku: Sku, location: LocationCode) -> InventoryId {
        InventoryId { sku, location }
    }

    /// Parses `SKU@LOCATION`.
    pub fn parse(text: &str) -> Result<InventoryId, IdError> {
        let Some((sku, location)) = text.split_once('@') else {
            return Err(IdError::BadCharacter {
                what: "inventory id",
                allowed: "a sku and a location joined by '@'",
            });
        };
        Ok(InventoryId { sku: Sku::parse(sku)?, location: LocationCode::parse(location)? })
    }
}

impl fmt::Display for InventoryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.sku, self.location)
    }
}

/// What callers ask of an inventory record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum InventoryCommand {
    /// Sets the units on hand from a warehouse feed whose lines carry increasing `feed_seq`.
    SetOnHand { quantity: u32, feed_seq: u64 },
    /// Adds (or with a negative `delta`, removes) units on hand: a count correction.
    Adjust { delta: i64 },
    /// Holds `quantity` units for `ttl_ms` under the caller's `reservation_id`.
    Reserve { reservation_id: ReservationId, quantity: Quantity, ttl_ms: u64 },
    /// Turns a hold into a sale: the units leave on hand.
    Commit { reservation_id: ReservationId },
    /// Gives a hold back.
    Release { reservation_id: ReservationId },
    /// Expires the holds that are due at `ctx.now_ms`.
    ExpireDue,
    /// Reads the stock level.
    Get,
    /// Returns a committed reservation's units to on hand: the sale was undone (the order was
    /// cancelled before it shipped). `sold` is the quantity the caller knows was committed
    /// under this id (the checkout recorded the commit); it is used only when this record has
    /// forgotten the reservation, so a restock long after the sale still gives the units back.
    Restock { reservation_id: ReservationId, sold: Option<Quantity> },
    /// Reads a reservation: the reply's `reservation` is it (active or settled), or none when
    /// this record never held it (or has forgotten it).
    Lookup { reservation_id: ReservationId },
}

/// What happened to an inventory record. Variants are append-only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum InventoryEvent {
    OnHandSet {
        quantity: u32,
        feed_seq: u64,
    },
    /// `on_hand` is the level after the adjustment.
    Adjusted {
        delta: i64,
        on_hand: u32,
    },
    Reserved {
        reservation_id: ReservationId,
        quantity: Quantity,
        expires_at_ms: u64,
    },
    Committed {
        reservation_id: ReservationId,
        quantity: Quantity,
    },
    Released {
        reservation_id: ReservationId,
        quantity: Quantity,
    },
    Expired {
        reservation_id: ReservationId,
        quantity: Quantity,
    },
    /// A committed reservation's `quantity` came back on hand.
    Restocked {
        reservation_id: ReservationId,
        quantity: Quantity,
    },
}

/// Why an inventory command was refused. Variants are append-only; see [`Rejection`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum InventoryRejection {
    #[error("quantity exceeds the limit of {max}")]
    QuantityTooLarge { max: u32 },
    #[error("feed sequence is not after the last applied one, {last_applied}")]
    StaleFeed { last_applied: u64 },
    #[error("on hand would fall below the {reserved} units reserved")]
    BelowReserved { reserved: u32 },
    #[error("an adjustment of zero units changes nothing")]
    ZeroAdjustment,
    #[error("time to live must be between 1 and {max_ms} ms")]
    InvalidTtl { max_ms: u64 },
    #[error("only {available} units are available")]
    OutOfStock { available: u32 },
    #[error("this reservation id already holds {quantity} units")]
    ReservationConflict { quantity: Quantity },
    #[error("no such reservation")]
    UnknownReservation,
    #[error("the reservation was released")]
    ReservationReleased,
    #[error("the reservation has expired")]
    ReservationExpired,
    #[error("the reservation was committed")]
    ReservationCommitted,
    #[error("too many reservations held at once, the limit is {max}")]
    TooManyReservations { max: u32 },
    #[error("the reservation is still held, not committed")]
    ReservationActive,
    #[error("the reservation's units were restocked")]
    ReservationRestocked,
}

impl Rejection for InventoryRejection {
    fn code(&self) -> &'static str {
        match self {
            InventoryRejection::QuantityTooLarge { .. } => "quantity_too_large",
            InventoryRejection::StaleFeed { .. } => "stale_feed",
            InventoryRejection::BelowReserved { .. } => "below_reserved",
            InventoryRejection::ZeroAdjustment => "zero_adjustment",
            InventoryRejection::InvalidTtl { .. } => "invalid_ttl",
            InventoryRejection::OutOfStock { .. } => "out_of_stock",
            InventoryRejection::ReservationConflict { .. } => "reservation_conflict",
            InventoryRejection::UnknownReservation => "unknown_reservation",
            InventoryRejection::ReservationReleased => "reservation_released",
            InventoryRejection::ReservationExpired => "reservation_expired",
            InventoryRejection::ReservationCommitted => "reservation_committed",
            InventoryRejection::TooManyReservations { .. } => "too_many_reservations",
            InventoryRejection::ReservationActive => "reservation_active",
            InventoryRejection::ReservationRestocked => "reservation_restocked",
        }
    }

    fn kind(&self) -> RejectionKind {
        match self {
            InventoryRejection::QuantityTooLarge { .. }
            | InventoryRejection::ZeroAdjustment
            | InventoryRejection::InvalidTtl { .. } => RejectionKind::Invalid,
            InventoryRejection::UnknownReservation => RejectionKind::NotFound,
            InventoryRejection::StaleFeed { .. }
            | InventoryRejection::BelowReserved { .. }
            | InventoryRejection::OutOfStock { .. }
            | InventoryRejection::ReservationConflict { .. }
            | InventoryRejection::ReservationReleased
            | InventoryRejection::ReservationExpired
            | InventoryRejection::ReservationCommitted
            | InventoryRejection::TooManyReservations { .. }
            | InventoryRejection::ReservationActive
            | InventoryRejection::ReservationRestocked => RejectionKind::Conflict,
        }
    }
}

/// The stock figures after a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockLevel {
    pub on_hand: u32,
    /// Units held by active reservations (due ones included until they are expired).
    pub reserved: u32,
    /// `on_hand - reserved`.
    pub available: u32,
    /// The last warehouse feed sequence applied, if any.
    pub last_feed_seq: Option<u64>,
    /// When the earliest active hold falls due: when to send `ExpireDue` next. At or before
    /// now, more holds are due than one command expires (`EXPIRIES_PER_COMMAND_MAX`).
    pub next_expiry_ms: Option<u64>,
}

/// Where a reservation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReservationStatus {
    Active,
    Committed,
    Released,
    Expired,
    /// Committed, then its units came back on hand.
    Restocked,
}

/// One reservation, as a reply shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReservationView {
    pub reservation_id: ReservationId,
    pub quantity: Quantity,
    pub expires_at_ms: u64,
    pub status: ReservationStatus,
}

/// The answer to every inventory command: the stock level after it, and for `Reserve`,
/// `Commit`, `Release` and `Restock` the reservation concerned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryReply {
    pub stock: StockLevel,
    pub reservation: Option<ReservationView>,
}

impl Entity for Inventory {
    const KIND: Kind = kinds::INVENTORY;
    type Command = InventoryCommand;
    type Event = InventoryEvent;
    type Reply = InventoryReply;
    type Rejection = InventoryRejection;

    fn decide(
        &self,
        command: InventoryCommand,
        ctx: &Ctx<'_>,
    ) -> Result<Decision<Self>, InventoryRejection> {
        decide::decide(self, command, ctx.now_ms)
    }

    fn apply(&mut self, event: &InventoryEvent) {
        self.apply_event(event);
    }

    /// Its available units (`crate::index::stock_row`), and when its first hold falls due
    /// while it has one (`crate::index::hold_row`).
    fn index_rows(&self, id: &str) -> Vec<crate::index::Row> {
        let Some((tenant, seller, inventory)) = crate::keys::parse_inventory(id) else {
            return Vec::new();
        };
        let mut rows = vec![crate::index::stock_row(tenant, &seller, &inventory, self.available())];
        if let Some(due_ms) = self.stock().next_expiry_ms {
            rows.push(crate::index::hold_row(id, due_ms));
        }
        rows
    }
}
