//! The validated identifiers of promotions: the promotion's own id, the coupon code a customer
//! types, and the order a redemption is for. Same rules and shape as [`crate::ids`]: built only
//! by `parse` (or `TryFrom<String>`, which serde uses), so a journal holding an invalid one
//! does not decode.
//!
//! Rules:
//! - [`PromotionId`]: a name, 1 to 64 bytes of ASCII letters, digits, `-`, `_`, `.` (a
//!   marketplace promotion's id), or `{seller}:{name}` (a seller's promotion: neither a seller
//!   id nor a name contains `:`, so the form is injective and never equals a marketplace id).
//! - [`CouponCode`]: 1 to 32 bytes of ASCII capitals, digits, `-`, `_`. Customers type codes
//!   in any case: [`CouponCode::normalize`] trims and upper-cases before parsing.
//! - [`OrderId`]: 1 to 128 bytes of visible ASCII other than `@` and `/`.

use crate::ids::{IdError, check_text, text_id};
use crate::limits::{COUPON_CODE_BYTES_MAX, ORDER_ID_BYTES_MAX, PROMOTION_ID_BYTES_MAX};

/// Joins a seller's id and its own promotion name in a seller promotion's id.
pub const SELLER_PROMOTION_SEPARATOR: char = ':';

fn check_promotion(text: &str) -> Result<(), IdError> {
    match text.split_once(SELLER_PROMOTION_SEPARATOR) {
        None => check_promotion_name(text),
        Some((seller, name)) => {
            crate::ids::SellerId::parse(seller)?;
            check_promotion_name(name)
        }
    }
}

fn check_promotion_name(text: &str) -> Result<(), IdError> {
    check_text(
        "promotion id",
        text,
        1..=PROMOTION_ID_BYTES_MAX,
        "ascii letters, digits, '-', '_' and '.'",
        |b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'),
    )
}

fn check_coupon(text: &str) -> Result<(), IdError> {
    check_text(
        "coupon code",
        text,
        1..=COUPON_CODE_BYTES_MAX,
        "ascii capitals, digits, '-' and '_'",
        |b| b.is_ascii_uppercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_'),
    )
}

fn check_order(text: &str) -> Result<(), IdError> {
    check_text(
        "order id",
        text,
        1..=ORDER_ID_BYTES_MAX,
        "visible ascii other than '@' and '/'",
        |b| b.is_ascii_graphic() && b != b'@' && b != b'/',
    )
}

text_id!(
    /// A promotion: the key of a promotion entity.
    PromotionId,
    check_promotion
);
text_id!(
    /// A code a customer enters to unlock a promotion, e.g. `SUMMER10`.
    CouponCode,
    check_coupon
);
text_id!(
    /// The order a redemption is for: one redemption per order and promotion.
    OrderId,
    check_order
);

impl PromotionId {
    /// A promotion name as a client gives it: the whole id of a marketplace promotion, the
    /// seller's own part of a seller's.
    pub fn name(text: &str) -> Result<PromotionId, IdError> {
        check_promotion_name(text)?;
        Ok(PromotionId(text.to_owned()))
    }

    /// The id of `seller`'s promotion `name`: `{seller}:{name}`.
    pub fn of_seller(seller: &crate::ids::SellerId, name: &PromotionId) -> PromotionId {
        // Checked by the compiler's types: a name holds no separator, a seller id neither.
        debug_assert!(!name.0.contains(SELLER_PROMOTION_SEPARATOR));
        PromotionId(format!("{seller}{SELLER_PROMOTION_SEPARATOR}{name}"))
    }
}

impl CouponCode {
    /// The code as a customer may type it: surrounding blanks dropped, letters upper-cased.
    pub fn normalize(typed: &str) -> Result<CouponCode, IdError> {
        CouponCode::parse(&typed.trim().to_ascii_uppercase())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_their_rules() {
        assert!(PromotionId::parse("summer-2025.eu_1").is_ok());
        assert!(PromotionId::parse("").is_err());
        assert!(PromotionId::parse("a b").is_err());
        assert!(PromotionId::parse(&"p".repeat(PROMOTION_ID_BYTES_MAX + 1)).is_err());
        assert!(PromotionId::name("a:b").is_err(), "a client's name never holds ':'");
        let seller = crate::ids::SellerId::parse("seller-a.x").unwrap();
        let own = PromotionId::of_seller(&seller, &PromotionId::name("exists").unwrap());
        assert_eq!(own.as_str(), "seller-a.x:exists");
        assert_eq!(PromotionId::parse(own.as_str()), Ok(own), "read back from a journal");
        assert!(PromotionId::parse("a:b:c").is_err());
        assert!(PromotionId::parse(":b").is_err());
        assert!(CouponCode::parse("SUMMER10").is_ok());
        assert!(CouponCode::parse("summer10").is_err());
        assert_eq!(CouponCode::normalize("  summer10 "), CouponCode::parse("SUMMER10"));
        assert!(CouponCode::normalize("sum mer").is_err());
        assert!(CouponCode::parse(&"C".repeat(COUPON_CODE_BYTES_MAX + 1)).is_err());
        assert!(OrderId::parse("order:c1:7#2").is_ok());
        assert!(OrderId::parse("o/1").is_err());
        assert_eq!(
            OrderId::parse(""),
            Err(IdError::Empty { what: "order id" }),
            "empty ids are refused"
        );
    }
}
