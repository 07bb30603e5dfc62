//! Entity ids: how each aggregate of a tenant is addressed. One home for the formats, so that
//! the gateway, the read models and the flows always agree.
//!
//! ```text
//! product    {tenant}/{ASIN}
//! seller     {tenant}/{seller}
//! inventory  {tenant}/{seller}/{SKU}@{LOCATION}
//! cart       {tenant}/{cart id}
//! promotion  {tenant}/{promotion id}
//! order      {tenant}/{order id}        (crate::order::entity_id)
//! checkout   {tenant}/{customer}/{idempotency key}
//! ```
//!
//! Invariant: a tenant never contains `/`, and no id part does either (ids are validated
//! newtypes), so an entity id splits back unambiguously.

use crate::ids::{Asin, SellerId};
use crate::inventory::InventoryId;

/// Longest tenant name, in bytes.
pub const TENANT_BYTES_MAX: usize = 32;

/// Whether `tenant` is a valid tenant name: 1 to 32 of `a-z 0-9 - _`.
pub fn is_tenant(tenant: &str) -> bool {
    !tenant.is_empty()
        && tenant.len() <= TENANT_BYTES_MAX
        && tenant
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

pub fn product(tenant: &str, asin: &Asin) -> String {
    format!("{tenant}/{asin}")
}

pub fn seller(tenant: &str, seller: &SellerId) -> String {
    format!("{tenant}/{seller}")
}

pub fn inventory(tenant: &str, seller: &SellerId, id: &InventoryId) -> String {
    format!("{tenant}/{seller}/{id}")
}

pub fn cart(tenant: &str, cart: &str) -> String {
    format!("{tenant}/{cart}")
}

/// The holds a cart placed (a worklist of its own, unbucketed: a cart holds a few lines).
pub fn cart_holds(tenant: &str, cart: &str) -> String {
    format!("cart-holds/{tenant}/{cart}")
}

pub fn promotion(tenant: &str, promotion: &crate::promotion::PromotionId) -> String {
    format!("{tenant}/{promotion}")
}

/// A checkout saga: one per customer and idempotency key (the gateway validates the key's
/// alphabet, which excludes `/`).
pub fn checkout(tenant: &str, customer: &crate::CustomerId, key: &str) -> String {
    format!("{tenant}/{customer}/{key}")
}

/// Splits `{tenant}/{rest}`.
pub fn split_tenant(id: &str) -> Option<(&str, &str)> {
    id.split_once('/')
}

/// Parses a product entity id back.
pub fn parse_product(id: &str) -> Option<(&str, Asin)> {
    let (tenant, asin) = split_tenant(id)?;
    Some((tenant, Asin::parse(asin).ok()?))
}

/// Parses a seller entity id back.
pub fn parse_seller(id: &str) -> Option<(&str, SellerId)> {
    let (tenant, seller) = split_tenant(id)?;
    Some((tenant, SellerId::parse(seller).ok()?))
}

/// Parses an inventory entity id back.
pub fn parse_inventory(id: &str) -> Option<(&str, SellerId, InventoryId)> {
    let (tenant, rest) = split_tenant(id)?;
    let (seller, inventory) = rest.split_once('/')?;
    Some((tenant, SellerId::parse(seller).ok()?, InventoryId::parse(inventory).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip() {
        let asin = Asin::parse("B000000001").unwrap();
        assert_eq!(parse_product(&product("eu", &asin)), Some(("eu", asin)));
        let seller_id = SellerId::parse("acme").unwrap();
        let stock = InventoryId::parse("SKU-1@FRA1").unwrap();
        let id = inventory("eu", &seller_id, &stock);
        assert_eq!(id, "eu/acme/SKU-1@FRA1");
        assert_eq!(parse_inventory(&id), Some(("eu", seller_id.clone(), stock)));
        assert_eq!(parse_seller(&seller("eu", &seller_id)), Some(("eu", seller_id)));
    }

    #[test]
    fn tenants_are_plain_names() {
        assert!(is_tenant("default"));
        assert!(!is_tenant(""));
        assert!(!is_tenant("a/b"));
        assert!(!is_tenant(&"x".repeat(33)));
    }
}
