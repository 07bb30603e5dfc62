//! Validated identifiers: an id that exists is well formed, so no command can carry an empty,
//! oversized or oddly spelled one.
//!
//! Invariants:
//! - Each id type is built only by `parse` (or `TryFrom<String>`, which serde uses), and both
//!   check the rules below; a journal holding an invalid id does not decode.
//! - No id contains `@` or `/`: `@` joins a SKU and a location into an inventory id, `/`
//!   separates path segments in URLs and entity keys in logs.
//! - No id is `.` or `..` ([`refuse_dot_segment`], for every id type whose alphabet has `.`):
//!   a URL naming it would be normalised into another URL by clients and proxies.
//!
//! Rules:
//! - [`Asin`]: exactly 10 ASCII capitals or digits (`B000000001`).
//! - [`SellerId`], [`Sku`]: 1 to 64 bytes of ASCII letters, digits, `-`, `_`, `.`.
//! - [`LocationCode`]: 1 to 16 bytes of ASCII capitals, digits, `-`, `_` (`FRA1`).
//! - [`ReservationId`]: 1 to 128 bytes of visible ASCII other than `@` and `/`.
//! - [`CustomerId`]: 1 to 64 bytes of ASCII letters, digits, `-`, `_`, `.`: the owner of
//!   carts and orders, the subject of per-customer limits.

use crate::limits::{
    ASIN_BYTES, CUSTOMER_ID_BYTES_MAX, ID_BYTES_MAX, LOCATION_BYTES_MAX, RESERVATION_ID_BYTES_MAX,
};

/// Why a text is not an id of some type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("{what} is empty")]
    Empty { what: &'static str },
    #[error("{what} is {len} bytes long, the limit is {max}")]
    TooLong { what: &'static str, len: usize, max: usize },
    #[error("{what} must be exactly {expected} characters, not {len}")]
    WrongLength { what: &'static str, len: usize, expected: usize },
    #[error("{what} may only contain {allowed}")]
    BadCharacter { what: &'static str, allowed: &'static str },
    #[error("{what} may not be '.' or '..': a path naming it would be normalised away")]
    DotSegment { what: &'static str },
}

/// Refuses `.` and `..`, which a URL path cannot carry as they are.
pub(crate) fn refuse_dot_segment(what: &'static str, text: &str) -> Result<(), IdError> {
    if text == "." || text == ".." { Err(IdError::DotSegment { what }) } else { Ok(()) }
}

impl IdError {
    /// A stable code for problem documents.
    pub fn code(&self) -> &'static str {
        "invalid_id"
    }
}

/// Checks `text` against a length range (in bytes) and an alphabet, and refuses a dot
/// segment.
pub(crate) fn check_text(
    what: &'static str,
    text: &str,
    bytes: std::ops::RangeInclusive<usize>,
    allowed: &'static str,
    is_allowed: fn(u8) -> bool,
) -> Result<(), IdError> {
    if text.is_empty() {
        return Err(IdError::Empty { what });
    }
    if text.len() > *bytes.end() {
        return Err(IdError::TooLong { what, len: text.len(), max: *bytes.end() });
    }
    // `IdError` has no "too short" case: `allowed` of a type with a minimum says it.
    if text.len() < *bytes.start() || !text.bytes().all(is_allowed) {
        return Err(IdError::BadCharacter { what, allowed });
    }
    refuse_dot_segment(what, text)
}

fn check_asin(text: &str) -> Result<(), IdError> {
    if text.len() != ASIN_BYTES {
        return Err(IdError::WrongLength { what: "asin", len: text.len(), expected: ASIN_BYTES });
    }
    check_text("asin", text, 1..=ASIN_BYTES, "ascii capitals and digits", |b| {
        b.is_ascii_uppercase() || b.is_ascii_digit()
    })
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')
}

const NAME_BYTES: &str = "ascii letters, digits, '-', '_' and '.'";

fn check_seller(text: &str) -> Result<(), IdError> {
    check_text("seller id", text, 1..=ID_BYTES_MAX, NAME_BYTES, is_name_byte)
}

fn check_sku(text: &str) -> Result<(), IdError> {
    check_text("sku", text, 1..=ID_BYTES_MAX, NAME_BYTES, is_name_byte)
}

fn check_location(text: &str) -> Result<(), IdError> {
    check_text(
        "location",
        text,
        1..=LOCATION_BYTES_MAX,
        "ascii capitals, digits, '-' and '_'",
        |b| b.is_ascii_uppercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_'),
    )
}

fn check_reservation(text: &str) -> Result<(), IdError> {
    check_text(
        "reservation id",
        text,
        1..=RESERVATION_ID_BYTES_MAX,
        "visible ascii other than '@' and '/'",
        |b| b.is_ascii_graphic() && b != b'@' && b != b'/',
    )
}

/// A string id type checked by `$check`, serialized as its text. The one way the domain
/// makes an id type.
macro_rules! text_id {
    ($(#[$doc:meta])* $name:ident, $check:path) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Deserialize)]
        #[serde(try_from = "String")]
        pub struct $name(String);

        impl $name {
            pub fn parse(text: &str) -> Result<$name, $crate::ids::IdError> {
                $check(text)?;
                Ok($name(text.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = $crate::ids::IdError;
            fn try_from(text: String) -> Result<$name, $crate::ids::IdError> {
                $check(&text)?;
                Ok($name(text))
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }
    };
}

pub(crate) use text_id;

text_id!(
    /// A product's Amazon Standard Identification Number: the key of a product entity.
    Asin,
    check_asin
);
text_id!(
    /// A seller: the key of a seller entity and the owner of offers and inventory.
    SellerId,
    check_seller
);
text_id!(
    /// A seller's stock keeping unit.
    Sku,
    check_sku
);
text_id!(
    /// A warehouse or fulfilment centre.
    LocationCode,
    check_location
);
text_id!(
    /// A hold on inventory, chosen by the caller (the checkout) so a retried reserve meets
    /// the hold it already made.
    ReservationId,
    check_reservation
);

fn check_customer(text: &str) -> Result<(), IdError> {
    check_text(
        "customer id",
        text,
        1..=CUSTOMER_ID_BYTES_MAX,
        "ascii letters, digits, '-', '_' and '.'",
        |b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'),
    )
}

text_id!(
    /// A customer: the owner of carts and orders, the subject of per-customer limits.
    CustomerId,
    check_customer
);

#[cfg(test)]
mod tests {
    use std::borrow::Borrow;

    use super::*;

    #[test]
    fn ids_follow_their_rules() {
        assert!(Asin::parse("B000000001").is_ok());
        assert_eq!(
            Asin::parse("B00000001"),
            Err(IdError::WrongLength { what: "asin", len: 9, expected: 10 })
        );
        assert!(Asin::parse("b000000001").is_err());
        assert!(Asin::parse("B00000000é").is_err());
        assert_eq!(SellerId::parse(""), Err(IdError::Empty { what: "seller id" }));
        assert!(SellerId::parse("acme-books_1.eu").is_ok());
        assert!(SellerId::parse(&"s".repeat(65)).is_err());
        assert!(Sku::parse("SKU 1").is_err());
        assert!(Sku::parse("SKU@FRA1").is_err());
        assert!(Sku::parse("SKU/1").is_err());
        assert!(LocationCode::parse("FRA1").is_ok());
        assert!(LocationCode::parse("fra1").is_err());
        assert!(ReservationId::parse("chk:c1:key-7#2").is_ok());
        assert!(ReservationId::parse("a b").is_err());
        assert!(ReservationId::parse("a@b").is_err());
    }

    #[test]
    fn no_id_is_a_dot_segment() {
        type Parse = fn(&str) -> Result<(), IdError>;
        let every: [(&str, Parse); 7] = [
            ("seller", |t| SellerId::parse(t).map(drop)),
            ("sku", |t| Sku::parse(t).map(drop)),
            ("reservation", |t| ReservationId::parse(t).map(drop)),
            ("promotion", |t| crate::promotion::PromotionId::parse(t).map(drop)),
            ("redemption order", |t| crate::promotion::OrderId::parse(t).map(drop)),
            ("customer", |t| CustomerId::parse(t).map(drop)),
            ("location", |t| LocationCode::parse(t).map(drop)),
        ];
        for (what, parse) in every {
            for dots in [".", ".."] {
                assert!(parse(dots).is_err(), "{what} {dots:?}");
            }
            assert!(parse("A...B").is_ok() || what == "location", "{what}: dots inside are fine");
        }
    }

    #[test]
    fn ids_are_ordered_as_their_text() {
        let a = SellerId::parse("a").unwrap();
        let b = SellerId::parse("b").unwrap();
        assert!(a < b);
        assert_eq!(Borrow::<str>::borrow(&a), "a");
        assert_eq!(String::from(b), "b");
    }
}
