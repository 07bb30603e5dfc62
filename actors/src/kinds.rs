//! The stable kind codes of the commerce entities.
//!
//! Invariants:
//! - A code is part of every journal key (`kind | id | seq`), so a code, once given, is never
//!   changed and never reused, even after its aggregate is retired. New kinds take the next
//!   unused number.
//! - Codes are unique; a compile-time check below refuses a duplicate.
//! - The engine's test counter uses `0xFFF0`; domain codes stay far below it.

use crate::limits::DOMAIN_KIND_CODE_MAX;
use bazaar_entity::Kind;

/// A catalog item keyed by ASIN: the document, every seller's offer, the buy box.
pub const PRODUCT: Kind = Kind::new(1, "product");
/// Stock of one SKU at one location, keyed `SKU@LOCATION`.
pub const INVENTORY: Kind = Kind::new(2, "inventory");
/// A shopper's cart.
pub const CART: Kind = Kind::new(3, "cart");
/// A placed order.
pub const ORDER: Kind = Kind::new(4, "order");
/// The checkout saga, keyed by customer and idempotency key.
pub const CHECKOUT: Kind = Kind::new(5, "checkout");
/// A seller: profile, standing, score inputs.
pub const SELLER: Kind = Kind::new(6, "seller");
/// A customer: profile and encrypted personal data.
pub const CUSTOMER: Kind = Kind::new(7, "customer");
/// A payment: authorization, capture, refunds.
pub const PAYMENT: Kind = Kind::new(8, "payment");
/// A shipment and its tracking.
pub const SHIPMENT: Kind = Kind::new(9, "shipment");
/// A return of ordered items.
pub const RETURN: Kind = Kind::new(10, "return");
/// A promotion: its definition (as pricing reads it) and its redemption counters.
pub const PROMOTION: Kind = Kind::new(11, "promotion");
/// An `Idempotency-Key` of a tenant's principal: the request's fingerprint and its answer
/// (the entity lives in the gateway; its code is registered here, with every other).
pub const IDEMPOTENCY: Kind = Kind::new(12, "idempotency");
/// A principal's audit trail: who changed what, when, from where.
pub const AUDIT: Kind = Kind::new(13, "audit");
/// One bucket of a worklist: unfinished work to resume after a restart.
pub const WORKLIST: Kind = Kind::new(14, "worklist");

/// Support's notes on an order, keyed as the order is.
pub const ORDER_NOTES: Kind = Kind::new(15, "order-notes");

/// A tenant's support cases, raised by seller signals.
pub const SUPPORT_CASES: Kind = Kind::new(16, "support-cases");

/// A tenant's webhook subscriptions.
pub const WEBHOOKS: Kind = Kind::new(17, "webhooks");

/// Every kind of the domain, in code order.
pub const ALL: [Kind; 17] = [
    PRODUCT,
    INVENTORY,
    CART,
    ORDER,
    CHECKOUT,
    SELLER,
    CUSTOMER,
    PAYMENT,
    SHIPMENT,
    RETURN,
    PROMOTION,
    IDEMPOTENCY,
    AUDIT,
    WORKLIST,
    ORDER_NOTES,
    SUPPORT_CASES,
    WEBHOOKS,
];

const fn codes_are_unique_and_in_range(kinds: &[Kind]) -> bool {
    let mut i = 0;
    while i < kinds.len() {
        if kinds[i].code == 0 || kinds[i].code > DOMAIN_KIND_CODE_MAX {
            return false;
        }
        let mut j = i + 1;
        while j < kinds.len() {
            if kinds[i].code == kinds[j].code {
                return false;
            }
            j += 1;
        }
        i += 1;
    }
    true
}

const _: () = assert!(codes_are_unique_and_in_range(&ALL));

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_pinned() {
        let pinned: Vec<(u16, &str)> = ALL.iter().map(|kind| (kind.code, kind.name)).collect();
        assert_eq!(
            pinned,
            [
                (1, "product"),
                (2, "inventory"),
                (3, "cart"),
                (4, "order"),
                (5, "checkout"),
                (6, "seller"),
                (7, "customer"),
                (8, "payment"),
                (9, "shipment"),
                (10, "return"),
                (11, "promotion"),
                (12, "idempotency"),
                (13, "audit"),
                (14, "worklist"),
                (15, "order-notes"),
                (16, "support-cases"),
                (17, "webhooks"),
            ]
        );
    }
}
