//! Fulfilment: which of a seller's locations ship a line (nearest the destination first), and
//! how a line shipped from several locations shares its money.
//!
//! Invariants:
//! - Distance is transit days, from a location's zone to the destination's zone ([`Zones`],
//!   from the configuration). A location or destination in no zone, or a pair of zones with
//!   no figure, travels the default days of the destination's country.
//! - [`plan`] ships a line from one location whenever one has enough (the nearest of those),
//!   and otherwise splits it over as few as [`LINE_SOURCES_MAX`] locations, nearest first
//!   (or, when the nearest cannot make it up within that bound, the fullest first). It never
//!   takes more from a location than it has, and its parts add up to the quantity.
//! - [`split_line`]: the parts of a line add up to it, money and all, and each part is a valid
//!   line (net = unit price × quantity − discount + shipping, total = net + VAT).
//! - [`order_lines`]: the order's line `j` is the checkout's hold `j` (so it is restocked by
//!   the id it was held under).

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::checkout::PricedItem;
use crate::ids::LocationCode;
use crate::inventory::Held;
use crate::limits::{
    LINE_SOURCES_MAX, POSTAL_PREFIX_BYTES_MAX, TRANSIT_DAYS_MAX, ZONE_ENTRIES_MAX,
};
use crate::money::{Money, apportion};
use crate::order::OrderLine;
use crate::pricing::CountryCode;
use crate::quantity::Quantity;

/// Where locations and destinations are, and how long parcels travel between them
/// (`[checkout.zones]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Zones {
    /// Each location's zone, by location code.
    pub locations: BTreeMap<String, String>,
    /// The zone of a destination: `CC` (its country) or `CC:PREFIX` (its country and the
    /// first characters of its postal code, spaces removed); the longest match wins.
    pub destinations: BTreeMap<String, String>,
    /// Business days in transit from a location's zone (the outer key) to a destination's.
    pub transit: BTreeMap<String, BTreeMap<String, u8>>,
}

impl Zones {
    /// Checks what serde cannot: codes that parse, days and sizes within bounds.
    pub fn validate(&self) -> Result<(), String> {
        let entries = self.locations.len()
            + self.destinations.len()
            + self.transit.values().map(BTreeMap::len).sum::<usize>();
        if entries > ZONE_ENTRIES_MAX {
            return Err(format!("checkout.zones has more than {ZONE_ENTRIES_MAX} entries"));
        }
        if let Some(code) = self.locations.keys().find(|code| LocationCode::parse(code).is_err()) {
            return Err(format!("checkout.zones.locations: {code:?} is not a location code"));
        }
        for key in self.destinations.keys() {
            let (country, prefix) = key.split_once(':').unwrap_or((key, ""));
            let prefix_ok = key.len() == country.len()
                || (1..=POSTAL_PREFIX_BYTES_MAX).contains(&prefix.len())
                    && prefix.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
            if CountryCode::parse(country).is_err() || !prefix_ok {
                return Err(format!(
                    "checkout.zones.destinations: {key:?} is not CC or CC:PREFIX (capitals and digits, at most {POSTAL_PREFIX_BYTES_MAX})"
                ));
            }
        }
        let too_long = self
            .transit
            .values()
            .flat_map(BTreeMap::values)
            .any(|days| u16::from(*days) > TRANSIT_DAYS_MAX);
        if too_long {
            return Err(format!("checkout.zones.transit: at most {TRANSIT_DAYS_MAX} days"));
        }
        Ok(())
    }

    /// Whether a destination's zone depends on its postal code (so it must be opened).
    pub fn reads_postal_codes(&self) -> bool {
        self.destinations.keys().any(|key| key.contains(':'))
    }

    /// The zone of a destination in `country` with `postal_code`, if any.
    pub fn destination(&self, country: CountryCode, postal_code: &str) -> Option<&str> {
        let postal: String = postal_code
            .chars()
            .filter(|c| !c.is_whitespace())
            .flat_map(char::to_uppercase)
            .take(POSTAL_PREFIX_BYTES_MAX)
            .collect();
        let country = country.as_str();
        let longest = (1..=postal.len()).rev().find_map(|len| {
            let prefix = postal.get(..len)?;
            self.destinations.get(&format!("{country}:{prefix}"))
        });
        longest.or_else(|| self.destinations.get(country)).map(String::as_str)
    }

    /// Business days from `location` to a destination in `zone`, if the zones say.
    pub fn transit_days(&self, location: &str, zone: Option<&str>) -> Option<u8> {
        let from = self.locations.get(location)?;
        self.transit.get(from)?.get(zone?).copied()
    }

    /// The longest transit the zones name into any destination of `country`: what a promise
    /// made before the location is chosen must allow for.
    pub fn slowest_into(&self, country: CountryCode) -> Option<u8> {
        let country = country.as_str();
        let zones: Vec<&String> = self
            .destinations
            .iter()
            .filter(|(key, _)| key.split(':').next() == Some(country))
            .map(|(_, zone)| zone)
            .collect();
        let into = |to: &BTreeMap<String, u8>| -> Option<u8> {
            zones.iter().filter_map(|zone| to.get(zone.as_str()).copied()).max()
        };
        self.transit.values().filter_map(into).max()
    }
}

/// A location that might ship a line: what it has, and how far it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub location: LocationCode,
    pub available: u32,
    pub transit_days: u8,
}

/// Sorts `sources` nearest first: fewer transit days, then more available, then the code.
pub fn rank(sources: &mut [Source]) {
    sources.sort_by(|a, b| {
        (a.transit_days, std::cmp::Reverse(a.available), &a.location).cmp(&(
            b.transit_days,
            std::cmp::Reverse(b.available),
            &b.location,
        ))
    });
}

/// Where `quantity` units ship from, out of `sources` ranked by [`rank`], in at most
/// `max_parts` parts (see the module doc); `Err` with the units the sources have in all
/// when they cannot make it up.
pub fn plan(
    quantity: u32,
    sources: &[Source],
    max_parts: usize,
) -> Result<Vec<(LocationCode, u32)>, u32> {
    let max_parts = max_parts.min(LINE_SOURCES_MAX);
    if max_parts == 0 {
        return Err(sources.iter().map(|source| source.available).fold(0, u32::saturating_add));
    }
    if let Some(whole) = sources.iter().find(|source| source.available >= quantity) {
        return Ok(vec![(whole.location.clone(), quantity)]);
    }
    let greedy = |order: &mut dyn Iterator<Item = &Source>| {
        let mut parts = Vec::new();
        let mut left = quantity;
        for source in order.filter(|source| source.available > 0).take(max_parts) {
            let take = source.available.min(left);
            parts.push((source.location.clone(), take));
            left -= take;
            if left == 0 {
                return Some(parts);
            }
        }
        None
    };
    if let Some(parts) = greedy(&mut sources.iter()) {
        return Ok(parts);
    }
    let mut fullest: Vec<&Source> = sources.iter().collect();
    fullest.sort_by_key(|source| std::cmp::Reverse(source.available));
    greedy(&mut fullest.into_iter())
        .ok_or_else(|| sources.iter().map(|source| source.available).fold(0, u32::saturating_add))
}

/// `line` shipped in `parts` (location, units; adding up to its quantity): each part's
/// discount, shipping and VAT in proportion to its units (see [`apportion`]).
pub fn split_line(line: &OrderLine, parts: &[(LocationCode, Quantity)]) -> Vec<OrderLine> {
    let weights: Vec<i64> = parts.iter().map(|(_, units)| i64::from(units.get())).collect();
    let share = |money: Money| apportion(money.minor.max(0), &weights);
    let (discounts, shipping, vat) = (share(line.discount), share(line.shipping), share(line.vat));
    let currency = line.unit_price.currency;
    parts
        .iter()
        .enumerate()
        .map(|(at, (location, units))| {
            let subtotal = line.unit_price.minor.saturating_mul(i64::from(units.get()));
            let net = subtotal.saturating_sub(discounts[at]).saturating_add(shipping[at]);
            OrderLine {
                location: location.clone(),
                quantity: *units,
                discount: Money::new(discounts[at], currency),
                shipping: Money::new(shipping[at], currency),
                net: Money::new(net, currency),
                vat: Money::new(vat[at], currency),
                total: Money::new(net.saturating_add(vat[at]), currency),
                ..line.clone()
            }
        })
        .collect()
}

/// The order's lines: each priced item with the holds placed for it (in the items' order,
/// adding up to each item's quantity; see the reserve step), one line per hold, a split
/// item's money shared by [`split_line`]. `None` when the holds do not match the items.
pub fn order_lines(items: &[PricedItem], held: &[Held]) -> Option<Vec<OrderLine>> {
    let mut holds = held.iter().peekable();
    let mut lines = Vec::with_capacity(held.len());
    for item in items {
        let line = &item.line;
        let mut parts: Vec<(LocationCode, Quantity)> = Vec::new();
        let mut units: u32 = 0;
        while units < line.quantity.get() {
            let hold = holds.next_if(|hold| hold.seller == line.seller && hold.sku == item.sku)?;
            units = units.checked_add(hold.quantity.get())?;
            parts.push((hold.location.clone(), hold.quantity));
        }
        if units != line.quantity.get() || parts.len() > LINE_SOURCES_MAX {
            return None;
        }
        let whole = OrderLine {
            asin: line.asin.clone(),
            seller: line.seller.clone(),
            sku: item.sku.clone(),
            location: parts[0].0.clone(),
            quantity: line.quantity,
            unit_price: line.unit_price,
            discount: line.discount,
            // Pricing never waives more than the charge, so this cannot underflow.
            shipping: line.shipping.checked_sub(line.shipping_discount).unwrap_or(line.shipping),
            net: line.net,
            vat_rate_bps: line.vat_rate_bps,
            vat: line.vat,
            total: line.total,
            handling_days: item.handling_days,
        };
        match parts.len() {
            1 => lines.push(whole),
            _ => lines.extend(split_line(&whole, &parts)),
        }
    }
    holds.next().is_none().then_some(lines)
}

#[cfg(test)]
mod tests;
