//! Where a checkout's lines ship from: the destination's zone (its postal code opened only
//! when the zones need it), the holds that source one line, and the delivery plan of the
//! locations chosen.
//!
//! Invariants:
//! - A line is held whole at the nearest location that has enough, else split over the
//!   nearest ([`bazaar_actors::fulfilment::plan`]), from the stock index's figures corrected
//!   by what each inventory answers; the inventory's own check is what prevents oversell.
//! - Hold `j` of the checkout is held under `{order}.{j}`, in the items' order, and becomes
//!   the order's line `j`. A repeated step adopts, in that numbering, the holds an earlier
//!   attempt placed before it places any, so no unit is held twice.

use std::collections::BTreeMap;

use bazaar_engine::Ack;

use super::{Attempt, Retry, Run};
use crate::catalog::{HoldAt, Item, ReserveFailure};
use crate::limits::SOURCING_ROUNDS_MAX;
use bazaar_actors::fulfilment::{Source, plan, rank};
use bazaar_actors::ids::LocationCode;
use bazaar_actors::inventory::{Held, InventoryRejection};
use bazaar_actors::limits::LINE_SOURCES_MAX;
use bazaar_actors::order::promise::{DeliveryPlan, DeliveryTerms};
use bazaar_actors::order::ship_to;
use bazaar_actors::quantity::Quantity;

impl Run<'_> {
    /// The zone of the order's destination, if the zones name one.
    pub(super) async fn destination_zone(&self) -> Option<String> {
        let zones = &self.inner.config.zones;
        let ship_to = &self.request.ship_to;
        if zones.destinations.is_empty() {
            return None;
        }
        let postal_code = match zones.reads_postal_codes() {
            true => self.open_address(&[ship_to::POSTAL_CODE]).await.pop().unwrap_or_default(),
            false => String::new(),
        };
        zones.destination(ship_to.country, &postal_code).map(str::to_owned)
    }

    /// The delivery address's `fields` (of `bazaar_actors::order::ship_to`) in clear, each
    /// empty if it cannot be opened (the customer erased, the key store unreadable).
    pub(super) async fn open_address(&self, fields: &[&str]) -> Vec<String> {
        let ship_to = &self.request.ship_to;
        let vault = &self.inner.vault;
        match vault.reader(self.tenant, self.request.customer.as_str()).await {
            Ok(reader) => fields
                .iter()
                .map(|field| {
                    let value = match *field {
                        ship_to::POSTAL_CODE => &ship_to.postal_code,
                        ship_to::CITY => &ship_to.city,
                        ship_to::NAME => &ship_to.name,
                        _ => &ship_to.line1,
                    };
                    reader.open(field, value).text().unwrap_or_default()
                })
                .collect(),
            Err(error) => {
                tracing::warn!(%error, "the delivery address cannot be opened");
                vec![String::new(); fields.len()]
            }
        }
    }

    /// The plan the order's shipments are promised by, from the `locations` they ship from.
    pub(super) async fn delivery_plan<'l>(
        &self,
        locations: impl Iterator<Item = &'l LocationCode>,
    ) -> DeliveryPlan {
        let zone = self.destination_zone().await;
        let config = &self.inner.config;
        let country = self.request.ship_to.country;
        let mut by_location: Vec<(LocationCode, DeliveryTerms)> = Vec::new();
        for location in locations {
            if !by_location.iter().any(|(known, _)| known == location) {
                let terms = DeliveryTerms {
                    transit_days: config.transit_days(location.as_str(), country, zone.as_deref()),
                    cutoff_hour_utc: config.cutoff_hour(location.as_str()),
                };
                by_location.push((location.clone(), terms));
            }
        }
        let default = config.transit_days("", country, None);
        DeliveryPlan { cutoff_hour_utc: config.cutoff_hour_utc, transit_days: default, by_location }
    }

    /// Holds `item` for the order, appending its holds to `held` (see the module doc); on a
    /// failure, the holds of this item placed so far are in `held` too, for the caller to
    /// give back.
    pub(super) async fn source(
        &self,
        item: &Item,
        zone: Option<&str>,
        held: &mut Vec<Held>,
        attempt: Attempt,
    ) -> Result<Result<(), ReserveFailure>, Retry> {
        let catalog = &self.inner.catalog;
        let first = held.len();
        let mut left = item.quantity.get();
        if attempt.repeated {
            while left > 0 && held.len() - first < LINE_SOURCES_MAX {
                let id = self.order.line_reservation(held.len());
                match catalog.find_hold(self.tenant, item, &id).await? {
                    Some(earlier) if earlier.quantity.get() <= left => {
                        left -= earlier.quantity.get();
                        held.push(earlier);
                    }
                    _ => break,
                }
            }
        }
        let country = self.request.ship_to.country;
        // What each location has, as its inventory answered (the index may lag).
        let mut told: BTreeMap<LocationCode, u32> = BTreeMap::new();
        let mut everywhere = 0;
        for _ in 0..SOURCING_ROUNDS_MAX {
            if left == 0 {
                return Ok(Ok(()));
            }
            let used = &held[first..];
            let mut sources: Vec<Source> = catalog
                .stock_of(self.tenant, &item.seller, &item.sku)
                .into_iter()
                .filter(|(location, _)| !used.iter().any(|hold| &hold.location == location))
                .map(|(location, indexed)| Source {
                    available: told.get(&location).copied().unwrap_or(indexed),
                    transit_days: self.inner.config.transit_days(location.as_str(), country, zone),
                    location,
                })
                .collect();
            rank(&mut sources);
            let parts = match plan(left, &sources, LINE_SOURCES_MAX - used.len()) {
                Ok(parts) => parts,
                Err(all) => {
                    everywhere = all;
                    // Ask the nearest location no inventory has answered for yet.
                    match sources.iter().find(|source| !told.contains_key(&source.location)) {
                        Some(unasked) => vec![(unasked.location.clone(), left)],
                        None => break,
                    }
                }
            };
            for (location, units) in parts {
                let part = Item {
                    quantity: Quantity::new(units).unwrap_or(Quantity::ONE),
                    ..item.clone()
                };
                let at = HoldAt {
                    location: location.clone(),
                    reservation_id: self.order.line_reservation(held.len()),
                    ttl_ms: self.inner.config.hold_ttl_ms,
                    // Covered by the durable `Scored`, before the provider is asked anything.
                    ack: Ack::Appended,
                };
                match catalog.hold_at(self.tenant, &part, at).await? {
                    Ok(hold) => {
                        left -= hold.quantity.get();
                        held.push(hold);
                    }
                    Err(InventoryRejection::OutOfStock { available }) => {
                        told.insert(location, available);
                        break;
                    }
                    Err(rejection) => {
                        let asin = item.asin.clone();
                        return Ok(Err(ReserveFailure::Refused { asin, rejection }));
                    }
                }
            }
        }
        if left == 0 {
            return Ok(Ok(()));
        }
        let holding: u32 = held[first..].iter().map(|hold| hold.quantity.get()).sum();
        let available = everywhere.saturating_add(holding);
        Ok(Err(ReserveFailure::OutOfStock { asin: item.asin.clone(), available }))
    }
}
