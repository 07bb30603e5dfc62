//! Holding a cart's units before checkout: each line is reserved on the inventory record of
//! the offer's SKU, trying the seller's locations with the most available first. If a line
//! cannot be held anywhere, the lines already held are released (the compensation), so a
//! failed attempt holds nothing.
//!
//! Invariants: a line is held at one location (no split shipments yet); reservation ids derive
//! from the cart, the ASIN, the seller and the hold's generation, so retrying holds nothing
//! twice (inventory reserve is idempotent by id). Every hold of a cart is recorded (seller,
//! SKU and generation, a [`HoldRecord`] on the cart itself, the entity the route has just
//! read) before it is placed, and its record is forgotten only once it is released or
//! replaced by the next generation's (in the same decision), so a release finds exactly what
//! is held even when the buy box is gone or moved since. A cart created before holds were
//! recorded on carts may have records in its `cart-holds` worklist (`keys::cart_holds`): its
//! first reservation or release reads them, moves them onto the cart and forgets them there.
//! An id whose hold was released or expired is spent (an inventory never holds it again): the
//! line moves to the next generation, so a cart can always hold again. Placing, finding and
//! settling one hold is `hold.rs`.

use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, HashMap};

use bazaar_engine::{Ack, EngineError};

use super::{Catalog, Item};
use bazaar_actors::cart::{Cart, CartCommand, CartLine, CartView, HoldRecord, OfferChoice};
use bazaar_actors::ids::{Asin, ReservationId, SellerId, Sku};
use bazaar_actors::inventory::{
    Held, Inventory, InventoryCommand, InventoryId, InventoryRejection,
};
use bazaar_actors::keys;
use bazaar_actors::limits::HOLD_GENERATIONS_MAX;
use bazaar_actors::quantity::Quantity;
use bazaar_actors::worklist::{Worklist, WorklistCommand};

/// Why a cart could not be held.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ReserveFailure {
    #[error("{asin} has no offer to buy from")]
    NoOffer { asin: Asin },
    #[error("{asin} has only {available} units available to hold")]
    OutOfStock { asin: Asin, available: u32 },
    #[error("inventory refused {asin}: {rejection}")]
    Refused { asin: Asin, rejection: InventoryRejection },
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl Catalog {
    /// Holds every line of `cart` (cart `cart_id` as just read) for `ttl_ms`, or nothing.
    /// What each line is about to hold (seller, SKU) is recorded on the cart before it is
    /// held, and holds of an earlier reservation that this one no longer makes (the buy box
    /// moved) are given back first, so [`Catalog::release_cart`] always finds what is held.
    pub async fn reserve_cart(
        &self,
        tenant: &str,
        cart_id: &str,
        cart: &CartView,
        ttl_ms: u64,
    ) -> Result<Vec<Held>, ReserveFailure> {
        let mut plan: Vec<Item> = Vec::with_capacity(cart.lines.len());
        for line in &cart.lines {
            let item = self.plan_line(tenant, line)?;
            // Two lines buying from the same seller's SKU (the buy-box line and that seller's
            // own line) are one hold of both quantities: a hold is per line it buys from.
            match plan.iter_mut().find(|planned| hold_line(planned) == hold_line(&item)) {
                Some(planned) => planned.quantity = planned.quantity.saturating_add(item.quantity),
                None => plan.push(item),
            }
        }
        let cart_key = keys::cart(tenant, cart_id);
        let planned: BTreeSet<String> = plan.iter().map(hold_line).collect();
        // Each planned line's newest recorded generation. A record of a line no longer
        // planned (the buy box moved), or of an older generation of a line (left by a crash),
        // is released and forgotten.
        let (mut recorded, legacy) = self.recorded_holds(tenant, cart_id, cart).await?;
        recorded.sort_by_key(|record| std::cmp::Reverse(record.generation));
        let mut generations: HashMap<String, u32> = HashMap::new();
        let (mut add, mut forget) = (Vec::new(), Vec::new());
        for record in recorded {
            match generations.entry(hold_line(&item_of(&record))) {
                Entry::Vacant(newest) if planned.contains(newest.key()) => {
                    newest.insert(record.generation);
                    // One kept from the cart's worklist moves onto the cart.
                    if !cart.holds.contains(&record) {
                        add.push(record);
                    }
                }
                _ => {
                    let id =
                        reservation_id(cart_id, &record.asin, &record.seller, record.generation);
                    self.release_everywhere(tenant, &record.seller, &record.sku, &id).await?;
                    forget.push(record);
                }
            }
        }
        for item in &plan {
            if let Entry::Vacant(unrecorded) = generations.entry(hold_line(item)) {
                add.push(hold_record(item, 0));
                unrecorded.insert(0);
            }
        }
        if !add.is_empty() || !forget.is_empty() || !cart.holds_on_cart {
            self.record_holds(&cart_key, add, forget).await?;
        }
        self.forget_worklist(tenant, cart_id, legacy).await?;
        let mut held = Vec::with_capacity(plan.len());
        for item in plan {
            let mut generation = generations[&hold_line(&item)];
            let outcome = loop {
                let id = reservation_id(cart_id, &item.asin, &item.seller, generation);
                match self.hold(tenant, item.clone(), id, ttl_ms, Ack::Durable).await {
                    // This generation's id is spent (its hold was released or expired, or a
                    // new quantity replaced it): the line is held anew under the next one,
                    // recorded first like any hold (in place of the spent one).
                    Err(ReserveFailure::Refused { rejection, .. })
                        if spent(&rejection) && generation < HOLD_GENERATIONS_MAX =>
                    {
                        let (spent, next) =
                            (hold_record(&item, generation), hold_record(&item, generation + 1));
                        self.record_holds(&cart_key, vec![next], vec![spent]).await?;
                        generation += 1;
                    }
                    outcome => break outcome,
                }
            };
            match outcome {
                Ok(line) => held.push(line),
                Err(failure) => {
                    if let Err(error) = self.release_held(tenant, &held).await {
                        // The holds expire on their own at their deadline.
                        tracing::warn!(error = %error, cart = cart_id, "compensation failed");
                    }
                    return Err(failure);
                }
            }
        }
        Ok(held)
    }

    /// Releases what `cart` (cart `cart_id` as just read) holds, as its records say (whatever
    /// the buy box says now), then forgets the records; the number of holds given back.
    pub async fn release_cart(
        &self,
        tenant: &str,
        cart_id: &str,
        cart: &CartView,
    ) -> Result<usize, EngineError> {
        let (recorded, legacy) = self.recorded_holds(tenant, cart_id, cart).await?;
        let mut released = 0;
        for record in &recorded {
            let id = reservation_id(cart_id, &record.asin, &record.seller, record.generation);
            released += self.release_everywhere(tenant, &record.seller, &record.sku, &id).await?;
        }
        let forget: Vec<HoldRecord> =
            recorded.into_iter().filter(|record| cart.holds.contains(record)).collect();
        if !forget.is_empty() || !cart.holds_on_cart {
            let command = CartCommand::RecordHolds { add: Vec::new(), forget };
            match self.engine().ask::<Cart>(&keys::cart(tenant, cart_id), command).await? {
                Ok(_) => {}
                // Released all the same; the records are forgotten at the next release.
                Err(rejection) => tracing::warn!(?rejection, cart = cart_id, "holds not forgotten"),
            }
        }
        self.forget_worklist(tenant, cart_id, legacy).await?;
        Ok(released)
    }

    /// Records holds on the cart and forgets others, in one decision. Answered once the
    /// journal holds it ([`bazaar_engine::Engine::ask_appended`]): every write submitted after
    /// that answer, of any entity, is durable only after it, so the hold placed next (whose
    /// answer waits until it is durable) never outlives its record; a record whose hold was
    /// never placed releases nothing.
    async fn record_holds(
        &self,
        cart_key: &str,
        add: Vec<HoldRecord>,
        forget: Vec<HoldRecord>,
    ) -> Result<(), ReserveFailure> {
        let command = CartCommand::RecordHolds { add, forget };
        if let Err(rejection) = self.engine().ask_appended::<Cart>(cart_key, command).await? {
            // A cart's records are at most its lines and a crash's leftovers; a full cart is a
            // defect.
            tracing::error!(key = cart_key, ?rejection, "cart holds not recorded");
            return Err(ReserveFailure::Engine(EngineError::Recovery {
                key: cart_key.to_owned(),
                reason: rejection.to_string(),
            }));
        }
        Ok(())
    }

    /// The holds recorded for `cart`: on the cart, and for a cart created before holds were
    /// recorded on carts, in its `cart-holds` worklist too (with that worklist's items, to
    /// forget once the cart records them).
    async fn recorded_holds(
        &self,
        tenant: &str,
        cart_id: &str,
        cart: &CartView,
    ) -> Result<(Vec<HoldRecord>, Vec<String>), EngineError> {
        let mut records = cart.holds.clone();
        if cart.holds_on_cart {
            return Ok((records, Vec::new()));
        }
        let key = keys::cart_holds(tenant, cart_id);
        let reply = self.engine().ask::<Worklist>(&key, WorklistCommand::List).await?;
        let items = reply.map(|reply| reply.items).unwrap_or_default();
        for item in &items {
            match parse_hold_record(item) {
                Some(record) if !records.contains(&record) => records.push(record),
                Some(_) => {}
                None => tracing::warn!(item, "unreadable cart hold record"),
            }
        }
        Ok((records, items))
    }

    /// Forgets the items of a cart's `cart-holds` worklist, once the cart records its holds.
    async fn forget_worklist(
        &self,
        tenant: &str,
        cart_id: &str,
        items: Vec<String>,
    ) -> Result<(), EngineError> {
        let key = keys::cart_holds(tenant, cart_id);
        for item in items {
            let _ = self.engine().ask::<Worklist>(&key, WorklistCommand::Remove { item }).await?;
        }
        Ok(())
    }

    /// Releases `reservation_id` at every location of the seller's SKU (wherever an earlier
    /// attempt may have held it); the number of holds given back. Holds already settled, or
    /// never placed, are left as they are.
    pub async fn release_everywhere(
        &self,
        tenant: &str,
        seller: &SellerId,
        sku: &Sku,
        reservation_id: &ReservationId,
    ) -> Result<usize, EngineError> {
        let mut released = 0;
        for (location, _) in self.stock_of(tenant, seller, sku) {
            let key = keys::inventory(tenant, seller, &InventoryId::new(sku.clone(), location));
            let command = InventoryCommand::Release { reservation_id: reservation_id.clone() };
            if let Ok(reply) = self.engine().ask::<Inventory>(&key, command).await? {
                released += usize::from(reply.reservation.is_some());
            }
        }
        Ok(released)
    }

    /// The seller and SKU a cart line buys from now: the chosen offer, or the buy box.
    fn offer_of(&self, tenant: &str, line: &CartLine) -> Option<(SellerId, Sku)> {
        let view = self.product(tenant, &line.asin)?;
        match &line.offer {
            OfferChoice::BuyBox => view.buy_box.as_ref().map(|b| (b.seller.clone(), b.sku.clone())),
            OfferChoice::Seller(seller) => view
                .offers
                .iter()
                .find(|o| &o.seller == seller)
                .map(|o| (o.seller.clone(), o.terms.sku.clone())),
        }
    }

    /// What `line` is to hold now: the buy box's (or the chosen seller's) SKU.
    fn plan_line(&self, tenant: &str, line: &CartLine) -> Result<Item, ReserveFailure> {
        let Some((seller, sku)) = self.offer_of(tenant, line) else {
            // A product whose buy box is gone has nothing in stock to sell.
            return Err(match self.product(tenant, &line.asin) {
                Some(_) => ReserveFailure::OutOfStock { asin: line.asin.clone(), available: 0 },
                None => ReserveFailure::NoOffer { asin: line.asin.clone() },
            });
        };
        Ok(Item { asin: line.asin.clone(), seller, sku, quantity: line.quantity })
    }
}

/// The line a hold is for, whatever its generation: `{asin} {seller} {sku}` (no part may
/// contain a space, so it is unambiguous). The quantity is not part of it: a line holds one
/// reservation whatever its quantity.
fn hold_line(item: &Item) -> String {
    format!("{} {} {}", item.asin, item.seller, item.sku)
}

/// The record of `item`'s hold in its `generation`.
fn hold_record(item: &Item, generation: u32) -> HoldRecord {
    HoldRecord {
        asin: item.asin.clone(),
        seller: item.seller.clone(),
        sku: item.sku.clone(),
        generation,
    }
}

/// The line a record holds (its quantity aside).
fn item_of(record: &HoldRecord) -> Item {
    Item {
        asin: record.asin.clone(),
        seller: record.seller.clone(),
        sku: record.sku.clone(),
        quantity: Quantity::ONE,
    }
}

/// A hold as a `cart-holds` worklist recorded it, before holds were recorded on carts:
/// `{asin} {seller} {sku} {generation}`, or without the generation (written before holds had
/// generations) for generation 0.
fn parse_hold_record(record: &str) -> Option<HoldRecord> {
    let mut parts = record.split(' ');
    let (asin, seller, sku) = (parts.next()?, parts.next()?, parts.next()?);
    let generation = match parts.next() {
        None => 0,
        Some(generation) => generation.parse().ok()?,
    };
    if parts.next().is_some() {
        return None;
    }
    Some(HoldRecord {
        asin: Asin::parse(asin).ok()?,
        seller: SellerId::parse(seller).ok()?,
        sku: Sku::parse(sku).ok()?,
        generation,
    })
}

/// Whether the inventory refused a reservation id because it was used up: its hold was
/// released or expired (an id is never held twice, so retries cannot hold twice).
fn spent(rejection: &InventoryRejection) -> bool {
    matches!(
        rejection,
        InventoryRejection::ReservationReleased | InventoryRejection::ReservationExpired
    )
}

/// The reservation id of a cart's line in its `generation`: `{cart}.{asin}.{seller}`, then
/// `#{generation}` from the first new generation on ('#' is in no seller id).
fn reservation_id(cart_id: &str, asin: &Asin, seller: &SellerId, generation: u32) -> ReservationId {
    let id = match generation {
        0 => format!("{cart_id}.{asin}.{seller}"),
        generation => format!("{cart_id}.{asin}.{seller}#{generation}"),
    };
    ReservationId::parse(&id)
        .expect("cart ids, ASINs and seller ids are valid reservation id parts")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        // A hold record is read back as the seller and SKU it was written with, whatever the
        // ids hold ('.', '-', '_'; an id is never '.' or '..'): two different holds never
        // share a record.
        #[test]
        fn a_hold_record_reads_back_as_written(
            asin in "[A-Z0-9]{10}",
            seller in "[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}",
            sku in "[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}",
            generation in 0..=HOLD_GENERATIONS_MAX,
        ) {
            let item = Item {
                asin: Asin::parse(&asin).unwrap(),
                seller: SellerId::parse(&seller).unwrap(),
                sku: Sku::parse(&sku).unwrap(),
                quantity: Quantity::ONE,
            };
            // As a `cart-holds` worklist wrote it.
            let record = format!("{} {generation}", hold_line(&item));
            prop_assert!(record.len() <= bazaar_actors::limits::WORKLIST_ITEM_BYTES_MAX);
            prop_assert_eq!(parse_hold_record(&record), Some(hold_record(&item, generation)));
            // Each generation of a line has its own reservation id, the first the old form.
            let cart = "c-0123456789abcdef0123456789abcdef";
            let id = reservation_id(cart, &item.asin, &item.seller, generation);
            let first = reservation_id(cart, &item.asin, &item.seller, 0);
            prop_assert_eq!(id == first, generation == 0);
            prop_assert_eq!(first.as_str(), format!("{cart}.{asin}.{seller}"));
        }
    }

    #[test]
    fn a_record_with_more_or_fewer_parts_is_unreadable() {
        assert_eq!(parse_hold_record("B000000001 seller"), None);
        assert_eq!(parse_hold_record("B000000001 seller sku 1 extra"), None);
        assert_eq!(parse_hold_record("B000000001 seller sku one"), None);
    }

    #[test]
    fn a_record_without_a_generation_is_the_first() {
        let record = parse_hold_record("B000000001 seller sku").unwrap();
        assert_eq!((record.sku.as_str(), record.generation), ("sku", 0));
    }
}
