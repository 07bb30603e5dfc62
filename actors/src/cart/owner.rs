//! Who a cart belongs to: a signed-in customer or a guest holding a token.
//!
//! Rules:
//! - [`CustomerId`] (in `ids`): a signed-in customer.
//! - [`GuestToken`]: 16 to 128 bytes of ASCII letters, digits, `-`, `_` (a random token the
//!   gateway hands a guest in a cookie, long enough not to be guessed).

use serde::{Deserialize, Serialize};

pub use crate::ids::CustomerId;
use crate::ids::{IdError, check_text, text_id};
use crate::limits::{GUEST_TOKEN_BYTES_MAX, GUEST_TOKEN_BYTES_MIN};

fn check_guest(text: &str) -> Result<(), IdError> {
    check_text(
        "guest token",
        text,
        GUEST_TOKEN_BYTES_MIN..=GUEST_TOKEN_BYTES_MAX,
        "16 to 128 ascii letters, digits, '-' and '_'",
        |b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'),
    )
}

const _: () = assert!(GUEST_TOKEN_BYTES_MIN == 16 && GUEST_TOKEN_BYTES_MAX == 128);

text_id!(
    /// A guest shopper's token.
    GuestToken,
    check_guest
);

/// Who may change a cart (the gateway checks; the cart records it). Variants are
/// append-only.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CartOwner {
    Customer(CustomerId),
    Guest(GuestToken),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::CUSTOMER_ID_BYTES_MAX;

    #[test]
    fn owner_ids_follow_their_rules() {
        assert!(CustomerId::parse("c-1.eu_2").is_ok());
        assert!(CustomerId::parse("").is_err());
        assert!(CustomerId::parse("c 1").is_err());
        assert!(CustomerId::parse(&"c".repeat(CUSTOMER_ID_BYTES_MAX + 1)).is_err());
        assert!(GuestToken::parse("g7Hk2-_q9ZpL0xYw").is_ok());
        assert_eq!(
            GuestToken::parse("short"),
            Err(IdError::BadCharacter {
                what: "guest token",
                allowed: "16 to 128 ascii letters, digits, '-' and '_'"
            })
        );
        assert!(GuestToken::parse("g7Hk2-_q9ZpL0xY.").is_err());
    }
}
