//! The rows aggregates keep in the journal's index (`Entity::index_rows`): the secondary
//! indexes the catalogue's read models look things up in, on disk, so that neither memory nor
//! a start grows with the catalogue. The engine writes a row change in the same journal entry
//! as the events that cause it, so a row is exactly as durable as its aggregate's state.
//!
//! ```text
//! offer/{tenant}/{seller}/{SKU}/{ASIN}      units (u32 LE) and seller's score      product
//!                                           version (u64 LE) the offer has
//! search/{tenant}/{ASIN}                    its search document's fingerprint (u64 LE)
//! stock/{tenant}/{seller}/{SKU}/{LOCATION}  units available (u32 LE)               inventory
//! hold/{inventory entity id}                when its earliest hold falls due (u64 LE, ms)
//! saga/{checkout entity id}                 when the unfinished saga began (u64 LE, ms)   checkout
//! outbox/{order entity id}                  when its oldest undelivered notice happened    order
//!                                           (u64 LE, ms)
//! ```
//!
//! Every part is composed by [`keys::compose`] (escaped), so a key is injective in its parts
//! and a prefix ending in the separator holds exactly the rows of its parts; the last part
//! of a row read back is a validated id (no separator), parsed as itself.
//!
//! Invariants: the rows are a function of the aggregate's state and id alone, and no two
//! aggregates (of any kind) write the same key (every key holds its aggregate's id); a change
//! of what they hold needs [`INDEX_VERSION`] raised, so that a start rebuilds them.

use crate::ids::{Asin, LocationCode, SellerId, Sku};
use crate::inventory::InventoryId;
use crate::keys::{self, SEPARATOR};

/// The version of the rows' layout; a journal whose index was built by another is indexed
/// again at start. Version 4 added the saga rows alone and version 5 the outbox rows alone, so
/// a start on version 3 or 4 only adds those (`bazaar_services::build_index`).
pub const INDEX_VERSION: u32 = 5;

/// The row that records which [`INDEX_VERSION`] built the index.
pub const VERSION_ROW: &[u8] = b"meta/index-version";

/// Present when the node stopped with every flow between aggregates settled (nothing a
/// start must reconcile); a start removes it.
pub const FLOWS_SETTLED_ROW: &[u8] = b"meta/flows-settled";

/// A row of the index: key and value.
pub type Row = (Vec<u8>, Vec<u8>);

fn key(namespace: &str, parts: &[&str]) -> Vec<u8> {
    format!("{namespace}/{}", keys::compose(parts)).into_bytes()
}

fn prefix(namespace: &str, parts: &[&str]) -> Vec<u8> {
    let mut prefix = key(namespace, parts);
    prefix.push(SEPARATOR as u8);
    prefix
}

/// The last part of a row's key under `prefix`.
fn last_part<'a>(prefix: &[u8], key: &'a [u8]) -> Option<&'a str> {
    std::str::from_utf8(key.strip_prefix(prefix)?).ok()
}

fn u32_of(bytes: &[u8]) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.try_into().ok()?))
}

fn u64_of(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_le_bytes(bytes.try_into().ok()?))
}

/// What the index keeps of an offer: its SKU, the product it is on, and what it was last
/// told. A seller may offer one SKU on several products: each offer has its own row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferRow {
    pub sku: Sku,
    pub asin: Asin,
    /// Units of its SKU the offer has.
    pub units: u32,
    /// The seller's score version the offer has.
    pub score_version: u64,
}

/// The row of a seller's offer of `sku` on `asin`.
pub fn offer_key(tenant: &str, seller: &SellerId, sku: &Sku, asin: &Asin) -> Vec<u8> {
    key("offer", &[tenant, seller.as_str(), sku.as_str(), asin.as_str()])
}

/// The rows of every offer of a seller.
pub fn offer_prefix(tenant: &str, seller: &SellerId) -> Vec<u8> {
    prefix("offer", &[tenant, seller.as_str()])
}

/// The rows of every offer of a seller's SKU (one per product offering it).
pub fn sku_prefix(tenant: &str, seller: &SellerId, sku: &Sku) -> Vec<u8> {
    prefix("offer", &[tenant, seller.as_str(), sku.as_str()])
}

pub fn offer_row(tenant: &str, seller: &SellerId, offer: &OfferRow) -> Row {
    let mut value = offer.units.to_le_bytes().to_vec();
    value.extend_from_slice(&offer.score_version.to_le_bytes());
    (offer_key(tenant, seller, &offer.sku, &offer.asin), value)
}

/// An offer row's value: the units and the score version the offer has.
pub fn parse_offer_value(value: &[u8]) -> Option<(u32, u64)> {
    let (units, version) = value.split_at_checked(4)?;
    Some((u32_of(units)?, u64_of(version)?))
}

/// An offer row under `offer_prefix` or `sku_prefix` of the same seller.
pub fn parse_offer(seller_prefix: &[u8], (key, value): &Row) -> Option<OfferRow> {
    let rest = std::str::from_utf8(key.strip_prefix(seller_prefix)?).ok()?;
    let (sku, asin) = rest.split_once(SEPARATOR)?;
    let (units, score_version) = parse_offer_value(value)?;
    Some(OfferRow {
        sku: Sku::parse(sku).ok()?,
        asin: Asin::parse(asin).ok()?,
        units,
        score_version,
    })
}

/// Every search row (all tenants).
pub const SEARCH_NAMESPACE: &[u8] = b"search/";

/// The rows of every product of a tenant that search should hold.
pub fn search_prefix(tenant: &str) -> Vec<u8> {
    prefix("search", &[tenant])
}

pub fn search_row(tenant: &str, asin: &Asin, fingerprint: u64) -> Row {
    (key("search", &[tenant, asin.as_str()]), fingerprint.to_le_bytes().to_vec())
}

/// The tenant of any search row (all tenants), if it names a valid one.
pub fn parse_search_tenant(key: &[u8]) -> Option<&str> {
    let rest = std::str::from_utf8(key.strip_prefix(SEARCH_NAMESPACE)?).ok()?;
    let tenant = rest.split(SEPARATOR).next()?;
    keys::is_tenant(tenant).then_some(tenant)
}

/// A search row: the product, and its search document's fingerprint.
pub fn parse_search(prefix: &[u8], (key, value): &Row) -> Option<(Asin, u64)> {
    Some((Asin::parse(last_part(prefix, key)?).ok()?, u64_of(value)?))
}

/// Every stock row (all tenants): what the start-up reconciliation walks.
pub const STOCK_NAMESPACE: &[u8] = b"stock/";

/// The rows of a seller's SKU at each location.
pub fn stock_prefix(tenant: &str, seller: &SellerId, sku: &Sku) -> Vec<u8> {
    prefix("stock", &[tenant, seller.as_str(), sku.as_str()])
}

pub fn stock_row(tenant: &str, seller: &SellerId, id: &InventoryId, available: u32) -> Row {
    let key = key("stock", &[tenant, seller.as_str(), id.sku.as_str(), id.location.as_str()]);
    (key, available.to_le_bytes().to_vec())
}

/// A stock row under `stock_prefix`: the location and its available units.
pub fn parse_stock(prefix: &[u8], (key, value): &Row) -> Option<(LocationCode, u32)> {
    Some((LocationCode::parse(last_part(prefix, key)?).ok()?, u32_of(value)?))
}

/// Any stock row: its tenant, seller, SKU, location and available units.
pub fn parse_any_stock((key, value): &Row) -> Option<(String, SellerId, Sku, LocationCode, u32)> {
    let rest = std::str::from_utf8(key.strip_prefix(STOCK_NAMESPACE)?).ok()?;
    let mut parts = rest.split(SEPARATOR);
    let tenant = parts.next()?.to_string();
    let seller = SellerId::parse(parts.next()?).ok()?;
    let sku = Sku::parse(parts.next()?).ok()?;
    let location = LocationCode::parse(parts.next()?).ok()?;
    if parts.next().is_some() || !keys::is_tenant(&tenant) {
        return None;
    }
    Some((tenant, seller, sku, location, u32_of(value)?))
}

/// A row keyed by an entity's whole id under `namespace`, holding a time in ms.
fn timed_row(namespace: &[u8], entity: &str, at_ms: u64) -> Row {
    ([namespace, entity.as_bytes()].concat(), at_ms.to_le_bytes().to_vec())
}

/// A [`timed_row`] of `namespace`: the entity's id and the time.
fn parse_timed(namespace: &[u8], (key, value): &Row) -> Option<(String, u64)> {
    let id = std::str::from_utf8(key.strip_prefix(namespace)?).ok()?;
    Some((id.to_string(), u64_of(value)?))
}

/// Every hold row: inventories with holds, and when the first falls due.
pub const HOLD_NAMESPACE: &[u8] = b"hold/";

pub fn hold_row(inventory_entity: &str, due_ms: u64) -> Row {
    timed_row(HOLD_NAMESPACE, inventory_entity, due_ms)
}

/// A hold row: the inventory's entity id and when its first hold falls due.
pub fn parse_hold(row: &Row) -> Option<(String, u64)> {
    parse_timed(HOLD_NAMESPACE, row)
}

/// Every saga row: checkouts not finished yet, which a start resumes.
pub const SAGA_NAMESPACE: &[u8] = b"saga/";

pub fn saga_row(checkout_entity: &str, started_at_ms: u64) -> Row {
    timed_row(SAGA_NAMESPACE, checkout_entity, started_at_ms)
}

/// A saga row: the checkout's entity id and when it began.
pub fn parse_saga(row: &Row) -> Option<(String, u64)> {
    parse_timed(SAGA_NAMESPACE, row)
}

/// Every outbox row: orders whose timeline has notices the tenant's webhooks lack.
pub const OUTBOX_NAMESPACE: &[u8] = b"outbox/";

pub fn outbox_row(order_entity: &str, oldest_at_ms: u64) -> Row {
    timed_row(OUTBOX_NAMESPACE, order_entity, oldest_at_ms)
}

/// An outbox row: the order's entity id and when its oldest undelivered notice happened.
pub fn parse_outbox(row: &Row) -> Option<(String, u64)> {
    parse_timed(OUTBOX_NAMESPACE, row)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> (SellerId, Sku, Asin, InventoryId) {
        let sku = Sku::parse("SKU-1").unwrap();
        let location = LocationCode::parse("FRA1").unwrap();
        let seller = SellerId::parse("acme").unwrap();
        (seller, sku.clone(), Asin::parse("B000000001").unwrap(), InventoryId::new(sku, location))
    }

    #[test]
    fn rows_read_back_as_written() {
        let (seller, sku, asin, inventory) = ids();
        let offer = OfferRow { sku: sku.clone(), asin: asin.clone(), units: 7, score_version: 3 };
        let row = offer_row("t1", &seller, &offer);
        assert!(row.0.starts_with(&sku_prefix("t1", &seller, &sku)));
        assert_eq!(parse_offer(&offer_prefix("t1", &seller), &row), Some(offer));

        let prefix = search_prefix("t1");
        let row = search_row("t1", &asin, u64::MAX);
        assert_eq!(parse_search(&prefix, &row), Some((asin, u64::MAX)));
        assert_eq!(parse_search_tenant(&row.0), Some("t1"));

        let prefix = stock_prefix("t1", &seller, &sku);
        let row = stock_row("t1", &seller, &inventory, 5);
        assert_eq!(parse_stock(&prefix, &row), Some((inventory.location.clone(), 5)));
        let any = parse_any_stock(&row).unwrap();
        assert_eq!(
            (any.0.as_str(), any.1, any.2, any.3, any.4),
            ("t1", seller, sku, inventory.location, 5)
        );

        assert_eq!(
            parse_hold(&hold_row("t1/acme/SKU-1@FRA1", 9)),
            Some(("t1/acme/SKU-1@FRA1".into(), 9))
        );
        assert_eq!(parse_saga(&saga_row("t1/c1/k-1", 7)), Some(("t1/c1/k-1".into(), 7)));
    }

    proptest::proptest! {
        /// `Entity::index_rows`'s rule, for every kind of row: keys of different entities (a
        /// product's offers and search row, an inventory's stock and hold rows, a checkout's
        /// saga row) never meet.
        #[test]
        fn rows_of_different_entities_have_different_keys(
            a in ("[ab]{1,2}", "[ab]{1,2}", "[AB1-]{1,3}", "B00000000[0-2]", "[AB]{2}[0-2]"),
            b in ("[ab]{1,2}", "[ab]{1,2}", "[AB1-]{1,3}", "B00000000[0-2]", "[AB]{2}[0-2]"),
        ) {
            let (Some(x), Some(y)) = (entities(&a), entities(&b)) else { return Ok(()) };
            for (owner_x, key_x) in keys_of(&x) {
                for (owner_y, key_y) in keys_of(&y) {
                    if key_x == key_y {
                        proptest::prop_assert_eq!(&owner_x, &owner_y, "a key of two entities");
                    }
                }
            }
        }
    }

    type Parts = (String, SellerId, Sku, Asin, LocationCode);

    fn entities(
        (tenant, seller, sku, asin, location): &(String, String, String, String, String),
    ) -> Option<Parts> {
        let (seller, sku) = (SellerId::parse(seller).ok()?, Sku::parse(sku).ok()?);
        let (asin, location) = (Asin::parse(asin).ok()?, LocationCode::parse(location).ok()?);
        Some((tenant.clone(), seller, sku, asin, location))
    }

    /// Every row key a product and an inventory of these parts write, with its owner.
    fn keys_of((tenant, seller, sku, asin, location): &Parts) -> [(String, Vec<u8>); 5] {
        let offer = OfferRow { sku: sku.clone(), asin: asin.clone(), units: 1, score_version: 1 };
        let inventory = InventoryId::new(sku.clone(), location.clone());
        let (product, stock) =
            (keys::product(tenant, asin), keys::inventory(tenant, seller, &inventory));
        // A checkout of a customer named as the seller, keyed by the SKU's text.
        let customer = crate::CustomerId::parse(seller.as_str()).expect("the same alphabet");
        let checkout = keys::checkout(tenant, &customer, sku.as_str());
        [
            (product.clone(), offer_row(tenant, seller, &offer).0),
            (product, search_row(tenant, asin, 1).0),
            (stock.clone(), stock_row(tenant, seller, &inventory, 1).0),
            (stock.clone(), hold_row(&stock, 1).0),
            (checkout.clone(), saga_row(&checkout, 1).0),
        ]
    }

    #[test]
    fn a_prefix_holds_the_rows_of_its_parts_only() {
        let (seller, _, _, inventory) = ids();
        let sku = |text: &str| Sku::parse(text).unwrap();
        let prefix = stock_prefix("t1", &seller, &sku("SKU"));
        let longer = InventoryId::new(sku("SKU-1"), inventory.location.clone());
        assert!(!stock_row("t1", &seller, &longer, 1).0.starts_with(&prefix));
        let same = InventoryId::new(sku("SKU"), inventory.location);
        assert!(stock_row("t1", &seller, &same, 1).0.starts_with(&prefix));
        assert!(!search_row("t10", &ids().2, 1).0.starts_with(&search_prefix("t1")));
    }
}
