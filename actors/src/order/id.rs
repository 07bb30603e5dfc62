//! The order id, and the order entity's id `{tenant}/{order id}`.
//!
//! Rules:
//! - An [`OrderId`] is `o-` followed by 32 lowercase hex digits. The checkout derives it from
//!   its own entity id ([`OrderId::for_checkout`], the xxh3-128 of that id), so a saga that
//!   retries after a crash meets the same order rather than placing a second one.
//! - The ids the checkout derives from an order id are made here only, so they cannot fail
//!   to parse: line `i`'s reservation id ([`OrderId::line_reservation`], `{order}.{i}`, the
//!   id the checkout holds and commits the line under and the payment job restocks), the id
//!   a return's line is restocked under ([`OrderId::return_reservation`], `{order}.r{n}.{i}`,
//!   never held: the inventory takes the order's word for its units), and the
//!   order a promotion's redemption names ([`OrderId::redemption`]). Their bounds are checked
//!   at compile time; their alphabets (`o`, `-`, hex and decimal digits, `.`) are visible
//!   ASCII without `@` or `/`, which every reservation and redemption id may hold.

use std::fmt;

use serde::{Deserialize, Serialize, Serializer};

use crate::ids::{IdError, ReservationId};
use crate::limits::{ORDER_ID_BYTES_MAX, RESERVATION_ID_BYTES_MAX};

const PREFIX: &str = "o-";
const HEX_DIGITS: usize = 32;
// A line's reservation id fits: an order id, `.` and a line index (a `usize` has at most 20
// decimal digits).
const _: () = assert!(PREFIX.len() + HEX_DIGITS + 1 + 20 <= RESERVATION_ID_BYTES_MAX);
// A returned line's: an order id, `.r`, a return number (a `u16`: 5 digits), `.`, a line index.
const _: () = assert!(PREFIX.len() + HEX_DIGITS + 2 + 5 + 1 + 20 <= RESERVATION_ID_BYTES_MAX);
const _: () = assert!(PREFIX.len() + HEX_DIGITS <= ORDER_ID_BYTES_MAX);

/// An order's id: `o-` and 32 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct OrderId(String);

impl OrderId {
    /// The id of the order placed by the checkout whose entity id is `checkout_entity_id`.
    pub fn for_checkout(checkout_entity_id: &str) -> OrderId {
        let hash = xxhash_rust::xxh3::xxh3_128(checkout_entity_id.as_bytes());
        OrderId(format!("{PREFIX}{hash:032x}"))
    }

    pub fn parse(text: &str) -> Result<OrderId, IdError> {
        check(text)?;
        Ok(OrderId(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The reservation id line `index` of this order is held, committed and restocked under:
    /// `{order}.{index}` (see the module doc for why it always parses).
    pub fn line_reservation(&self, index: usize) -> ReservationId {
        ReservationId::parse(&format!("{}.{index}", self.0))
            .expect("an order id, '.' and a decimal index form a reservation id")
    }

    /// The id line `index` of return `number` is restocked under: `{order}.r{number}.{index}`
    /// (see the module doc for why it always parses).
    pub fn return_reservation(&self, number: u16, index: u16) -> ReservationId {
        ReservationId::parse(&format!("{}.r{number}.{index}", self.0))
            .expect("an order id, '.r', a number, '.' and an index form a reservation id")
    }

    /// This order as a promotion's redemption names it (one redemption per order and
    /// promotion; see the module doc for why it always parses).
    pub fn redemption(&self) -> crate::promotion::OrderId {
        crate::promotion::OrderId::parse(&self.0).expect("an order id is a redemption's order id")
    }
}

fn check(text: &str) -> Result<(), IdError> {
    let what = "order id";
    let expected = PREFIX.len() + HEX_DIGITS;
    if text.is_empty() {
        return Err(IdError::Empty { what });
    }
    if text.len() != expected {
        return Err(IdError::WrongLength { what, len: text.len(), expected });
    }
    let hex = |b: &u8| b.is_ascii_digit() || (b'a'..=b'f').contains(b);
    if !text.starts_with(PREFIX) || !text.as_bytes()[PREFIX.len()..].iter().all(hex) {
        return Err(IdError::BadCharacter { what, allowed: "'o-' and 32 lowercase hex digits" });
    }
    Ok(())
}

impl TryFrom<String> for OrderId {
    type Error = IdError;
    fn try_from(text: String) -> Result<OrderId, IdError> {
        check(&text)?;
        Ok(OrderId(text))
    }
}

impl fmt::Display for OrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for OrderId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// The order entity's id: `{tenant}/{order id}`, composed as every entity id is.
pub fn entity_id(tenant: &str, order: &OrderId) -> String {
    crate::keys::compose(&[tenant, order.as_str()])
}

/// Splits an order entity id back into its tenant and order id.
pub fn parse_entity_id(id: &str) -> Option<(&str, OrderId)> {
    let (tenant, order) = id.split_once('/')?;
    Some((tenant, OrderId::parse(order).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_derive_from_the_checkout_and_parse_back() {
        let id = OrderId::for_checkout("eu/c1/key-1");
        assert_eq!(id, OrderId::for_checkout("eu/c1/key-1"), "a retry meets the same order");
        assert_ne!(id, OrderId::for_checkout("eu/c1/key-2"));
        assert_eq!(id.as_str().len(), 34);
        assert_eq!(OrderId::parse(id.as_str()), Ok(id.clone()));
        assert_eq!(parse_entity_id(&entity_id("eu", &id)), Some(("eu", id)));
    }

    #[test]
    fn the_ids_derived_from_an_order_always_parse() {
        let id = OrderId::for_checkout("eu/c1/key-1");
        assert_eq!(id.line_reservation(0).as_str(), format!("{id}.0"));
        let last = id.line_reservation(usize::MAX);
        assert_eq!(last.as_str().len(), PREFIX.len() + HEX_DIGITS + 1 + 20, "the longest one");
        assert_ne!(id.line_reservation(1), id.line_reservation(10));
        let longest = id.return_reservation(u16::MAX, u16::MAX);
        assert_eq!(longest.as_str(), format!("{id}.r65535.65535"));
        assert_ne!(id.return_reservation(1, 12), id.return_reservation(11, 2));
        assert_eq!(id.redemption().as_str(), id.as_str());
    }

    #[test]
    fn only_the_canonical_spelling_parses() {
        let good = format!("o-{}", "0123456789abcdef".repeat(2));
        assert!(OrderId::parse(&good).is_ok());
        for bad in [
            String::new(),
            "o-1".to_string(),
            good.to_uppercase(),
            good.replacen("o-", "x-", 1),
            format!("{good}0"),
            good.replacen('a', "g", 1),
        ] {
            assert!(OrderId::parse(&bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse_entity_id("no-slash"), None);
        assert_eq!(parse_entity_id("eu/o-1"), None);
    }
}
