//! One hold at a time: placing an item's hold at one of its seller's locations (the ones with
//! the most available first), finding it again, and settling it (commit or release). Cart
//! holds (`reserve.rs`) and the checkout saga's reserve, commit and release steps stand on
//! these.
//!
//! Invariant: a hold is placed, found and settled by its reservation id, so retrying any of
//! them with the same id does nothing twice (inventory commands are idempotent by id).

use bazaar_engine::{Ack, EngineError};

use super::{Catalog, ReserveFailure};
use bazaar_actors::ids::{Asin, LocationCode, ReservationId, SellerId, Sku};
use bazaar_actors::inventory::{
    Held, Inventory, InventoryCommand, InventoryId, InventoryRejection, ReservationStatus,
};
use bazaar_actors::keys;
use bazaar_actors::quantity::Quantity;

/// What one line buys: `quantity` of `seller`'s SKU for `asin`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub asin: Asin,
    pub seller: SellerId,
    pub sku: Sku,
    pub quantity: Quantity,
}

/// Where and how one hold is placed.
#[derive(Debug, Clone)]
pub struct HoldAt {
    pub location: LocationCode,
    pub reservation_id: ReservationId,
    pub ttl_ms: u64,
    pub ack: Ack,
}

impl Catalog {
    /// Holds `item` under `reservation_id` for `ttl_ms` at one of its seller's locations, the
    /// ones with the most available first. Retrying with the same id holds nothing twice.
    /// With [`Ack::Appended`], the hold is answered once the journal has it: for a caller that
    /// makes it durable with a later durable write before it tells anyone.
    pub async fn hold(
        &self,
        tenant: &str,
        item: Item,
        reservation_id: ReservationId,
        ttl_ms: u64,
        ack: Ack,
    ) -> Result<Held, ReserveFailure> {
        let mut best = 0;
        for (location, _) in self.stock_of(tenant, &item.seller, &item.sku) {
            let at = HoldAt { location, reservation_id: reservation_id.clone(), ttl_ms, ack };
            match self.hold_at(tenant, &item, at).await? {
                Ok(held) => return Ok(held),
                Err(InventoryRejection::OutOfStock { available }) => best = best.max(available),
                Err(rejection) => {
                    return Err(ReserveFailure::Refused { asin: item.asin, rejection });
                }
            }
        }
        Err(ReserveFailure::OutOfStock { asin: item.asin, available: best })
    }

    /// Holds `item` at one location, as [`Catalog::hold`] does at each it tries: the
    /// inventory's refusal (`OutOfStock` with what it has) is the answer's inner error.
    pub async fn hold_at(
        &self,
        tenant: &str,
        item: &Item,
        at: HoldAt,
    ) -> Result<Result<Held, InventoryRejection>, EngineError> {
        let HoldAt { location, reservation_id, ttl_ms, ack } = at;
        let id = InventoryId::new(item.sku.clone(), location.clone());
        let key = keys::inventory(tenant, &item.seller, &id);
        let quantity = item.quantity;
        let reserve =
            InventoryCommand::Reserve { reservation_id: reservation_id.clone(), quantity, ttl_ms };
        let engine = self.engine();
        let mut outcome = engine.ask_with::<Inventory>(&key, reserve.clone(), ack).await?;
        if let Err(InventoryRejection::ReservationConflict { .. }) = outcome {
            // Held before with another quantity: give it back and hold the new one.
            let release = InventoryCommand::Release { reservation_id: reservation_id.clone() };
            let _ = engine.ask_with::<Inventory>(&key, release, ack).await?;
            outcome = engine.ask_with::<Inventory>(&key, reserve, ack).await?;
        }
        Ok(outcome.map(|reply| Held {
            asin: item.asin.clone(),
            seller: item.seller.clone(),
            sku: item.sku.clone(),
            location,
            quantity,
            reservation_id,
            expires_at_ms: reply.reservation.map_or(0, |r| r.expires_at_ms),
        }))
    }

    /// Where `reservation_id` holds `item` now, at any of its seller's locations: a step
    /// repeated after a crash adopts the hold its earlier attempt placed, rather than placing
    /// a second one (or giving it back and meeting a spent id).
    pub async fn find_hold(
        &self,
        tenant: &str,
        item: &Item,
        reservation_id: &ReservationId,
    ) -> Result<Option<Held>, EngineError> {
        for (location, _) in self.stock_of(tenant, &item.seller, &item.sku) {
            let id = InventoryId::new(item.sku.clone(), location.clone());
            let key = keys::inventory(tenant, &item.seller, &id);
            let lookup = InventoryCommand::Lookup { reservation_id: reservation_id.clone() };
            let Ok(reply) = self.engine().ask::<Inventory>(&key, lookup).await? else { continue };
            if let Some(view) =
                reply.reservation.filter(|view| view.status == ReservationStatus::Active)
            {
                return Ok(Some(Held {
                    asin: item.asin.clone(),
                    seller: item.seller.clone(),
                    sku: item.sku.clone(),
                    location,
                    quantity: view.quantity,
                    reservation_id: reservation_id.clone(),
                    expires_at_ms: view.expires_at_ms,
                }));
            }
        }
        Ok(None)
    }

    /// Gives back every hold of `held`; one already settled (committed, expired) is refused
    /// by its inventory and left as it is.
    pub async fn release_held(&self, tenant: &str, held: &[Held]) -> Result<(), EngineError> {
        for line in held {
            let release = InventoryCommand::Release { reservation_id: line.reservation_id.clone() };
            let _ = self.settle_hold(tenant, line, release, Ack::Durable).await?;
        }
        Ok(())
    }

    /// Settles one hold: `Commit` turns it into a sale, `Release` gives it back. `ack` as for
    /// [`Catalog::hold`].
    pub async fn settle_hold(
        &self,
        tenant: &str,
        held: &Held,
        command: InventoryCommand,
        ack: Ack,
    ) -> Result<Result<(), InventoryRejection>, EngineError> {
        let id = InventoryId::new(held.sku.clone(), held.location.clone());
        let key = keys::inventory(tenant, &held.seller, &id);
        Ok(self.engine().ask_with::<Inventory>(&key, command, ack).await?.map(|_| ()))
    }
}
