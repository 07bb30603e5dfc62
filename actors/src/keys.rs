//! Entity ids: how each aggregate of a tenant is addressed. One home for the formats, so that
//! the gateway, the read models and the flows always agree.
//!
//! ```text
//! product    {tenant}/{ASIN}
//! seller     {tenant}/{seller}
//! inventory  {tenant}/{seller}/{SKU}@{LOCATION}
//! cart       {tenant}/{cart id}
//! promotion  {tenant}/{promotion id}      (a seller's: {tenant}/{seller}:{name})
//! order      {tenant}/{order id}          (crate::order::entity_id)
//! checkout   {tenant}/{customer}/{idempotency key}
//! ```
//!
//! Every composed key is made by [`compose`]: its parts joined by `/`, each part escaped so
//! that it cannot hold the separator (`%` becomes `%25`, `/` becomes `%2F`). So a key is
//! injective in its parts whatever they hold (a tenant, principal or client key of any text
//! included), and a part with neither character (every validated id: none may contain `/` or
//! `%`) is written as itself, so keys made before the escaping was added are unchanged.
//! Keys of different kinds never meet: the journal keys a stream by kind and id.
//!
//! Invariant: distinct parts (of the same count) give distinct keys; the property test checks
//! it for every format above and the gateway's keys (idempotency scopes, audit trails).
//!
//! Other composed ids, injective by their parts' alphabets rather than by escaping: a cart
//! hold's reservation `{cart}.{ASIN}.{seller}` (a cart id is `c-` and `[a-z0-9]`, no `.`; an
//! ASIN is 10 characters without `.`), a checkout's reservations `{order}.{line}` and payment
//! keys `{order}.capture`, `{order}.refund` (an order id is `o-` and 32 hex digits), and the
//! `void` worklist's `{order}!{provider}` (no order id holds `!`).

use crate::ids::{Asin, SellerId};
use crate::inventory::InventoryId;
use crate::limits::CART_ID_BYTES_MAX;
use crate::limits::TENANT_BYTES_MAX;

/// Whether `tenant` is a valid tenant name: 1 to 32 of `a-z 0-9 - _`.
pub fn is_tenant(tenant: &str) -> bool {
    !tenant.is_empty()
        && tenant.len() <= TENANT_BYTES_MAX
        && tenant
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// The separator of a composed key's parts.
pub const SEPARATOR: char = '/';

/// Joins `parts` with [`SEPARATOR`], each escaped (`%` to `%25`, `/` to `%2F`), so that
/// distinct parts always give distinct keys; a part with neither character is itself.
pub fn compose(parts: &[&str]) -> String {
    let mut key = String::with_capacity(parts.iter().map(|part| part.len() + 1).sum());
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            key.push(SEPARATOR);
        }
        if part.contains(['%', SEPARATOR]) {
            for c in part.chars() {
                match c {
                    '%' => key.push_str("%25"),
                    SEPARATOR => key.push_str("%2F"),
                    c => key.push(c),
                }
            }
        } else {
            key.push_str(part);
        }
    }
    key
}

pub fn product(tenant: &str, asin: &Asin) -> String {
    compose(&[tenant, asin.as_str()])
}

pub fn customer(tenant: &str, customer: &crate::CustomerId) -> String {
    compose(&[tenant, customer.as_str()])
}

pub fn seller(tenant: &str, seller: &SellerId) -> String {
    compose(&[tenant, seller.as_str()])
}

pub fn inventory(tenant: &str, seller: &SellerId, id: &InventoryId) -> String {
    compose(&[tenant, seller.as_str(), &id.to_string()])
}

pub fn cart(tenant: &str, cart: &str) -> String {
    compose(&[tenant, cart])
}

/// Whether `id` is a cart id: `c-` and 1 to 62 lowercase letters or digits (so at most
/// `CART_ID_BYTES_MAX` bytes, and no `.`: see the reservation ids above).
pub fn is_cart_id(id: &str) -> bool {
    id.len() <= CART_ID_BYTES_MAX
        && id.strip_prefix("c-").is_some_and(|rest| {
            !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// A new cart's id, made of 16 random bytes the caller draws: `c-` and their 32 lowercase
/// hex digits (guessing another shopper's cart means guessing 128 bits).
pub fn new_cart_id(random: [u8; 16]) -> String {
    let mut id = String::with_capacity(2 + 32);
    id.push_str("c-");
    for byte in random {
        id.push(char::from_digit(u32::from(byte >> 4), 16).expect("a nibble"));
        id.push(char::from_digit(u32::from(byte & 0xF), 16).expect("a nibble"));
    }
    id
}

/// The holds a cart placed, as a worklist of its own recorded them before carts recorded
/// them (read only to move them onto the cart).
pub fn cart_holds(tenant: &str, cart: &str) -> String {
    compose(&["cart-holds", tenant, cart])
}

pub fn promotion(tenant: &str, promotion: &crate::promotion::PromotionId) -> String {
    compose(&[tenant, promotion.as_str()])
}

/// A checkout saga: one per customer and idempotency key.
pub fn checkout(tenant: &str, customer: &crate::CustomerId, key: &str) -> String {
    compose(&[tenant, customer.as_str(), key])
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
    fn a_new_cart_id_is_a_cart_id_of_its_random_bytes() {
        let id = new_cart_id([0xAB; 16]);
        assert_eq!(id, format!("c-{}", "ab".repeat(16)));
        assert!(is_cart_id(&id) && is_cart_id(&new_cart_id([0; 16])));
        for not_a_cart in ["", "c-", "c-A1", "x-1", "c-1.2", &format!("c-{}", "a".repeat(63))] {
            assert!(!is_cart_id(not_a_cart), "{not_a_cart:?}");
        }
        assert!(is_cart_id(&format!("c-{}", "a".repeat(62))));
    }

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
    fn keys_of_validated_ids_keep_their_old_form() {
        let seller_id = SellerId::parse("seller-a.x").unwrap();
        assert_eq!(seller("eu", &seller_id), "eu/seller-a.x");
        assert_eq!(compose(&["a/b", "c"]), "a%2Fb/c");
        assert_eq!(compose(&["a", "b/c"]), "a/b%2Fc");
        assert_eq!(compose(&["a%2Fb", "c"]), "a%252Fb/c");
    }

    proptest::proptest! {
        /// Distinct parts give distinct keys, whatever the parts hold: separators, escapes,
        /// empty parts. The alphabet is small so that collisions would be found.
        #[test]
        fn composed_keys_are_injective(
            a in proptest::collection::vec("[a/%2F.:@-]{0,4}", 1..5),
            b in proptest::collection::vec("[a/%2F.:@-]{0,4}", 1..5),
        ) {
            let (a, b): (Vec<&str>, Vec<&str>) =
                (a.iter().map(String::as_str).collect(), b.iter().map(String::as_str).collect());
            if a.len() == b.len() && a != b {
                proptest::prop_assert_ne!(compose(&a), compose(&b));
            }
        }

        /// Every entity id format of this module is injective in its parts.
        #[test]
        fn entity_ids_are_injective(
            tenants in proptest::array::uniform2("[a-c/%]{1,3}"),
            // Ids may hold '.', but are never '.' or '..'.
            names in proptest::array::uniform2("[a-c][a-c.]{0,2}"),
            keys in proptest::array::uniform2("[a-c./%:]{1,3}"),
        ) {
            let sellers = names.clone().map(|n| SellerId::parse(&n).unwrap());
            let customers = names.clone().map(|n| crate::CustomerId::parse(&n).unwrap());
            let promotions = names.clone().map(|n| {
                let name = crate::promotion::PromotionId::name(&n).unwrap();
                crate::promotion::PromotionId::of_seller(&sellers[0], &name)
            });
            let stock = InventoryId::parse("SKU@FRA1").unwrap();
            for i in 0..2 {
                for j in 0..2 {
                    let same_tenant = tenants[i] == tenants[j];
                    let same = same_tenant && names[i] == names[j];
                    let pairs = [
                        (seller(&tenants[i], &sellers[i]), seller(&tenants[j], &sellers[j])),
                        (
                            inventory(&tenants[i], &sellers[i], &stock),
                            inventory(&tenants[j], &sellers[j], &stock),
                        ),
                        (cart(&tenants[i], &names[i]), cart(&tenants[j], &names[j])),
                        (
                            promotion(&tenants[i], &promotions[i]),
                            promotion(&tenants[j], &promotions[j]),
                        ),
                    ];
                    for (x, y) in pairs {
                        proptest::prop_assert_eq!(x == y, same);
                    }
                    let same = same && keys[i] == keys[j];
                    let x = checkout(&tenants[i], &customers[i], &keys[i]);
                    let y = checkout(&tenants[j], &customers[j], &keys[j]);
                    proptest::prop_assert_eq!(x == y, same);
                }
            }
        }
    }

    #[test]
    fn tenants_are_plain_names() {
        assert!(is_tenant("default"));
        assert!(!is_tenant(""));
        assert!(!is_tenant("a/b"));
        assert!(!is_tenant(&"x".repeat(33)));
    }
}
