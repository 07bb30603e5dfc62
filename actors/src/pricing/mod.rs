//! Pricing: what a cart costs, as a pure function ([`price`]) of its lines, the promotions
//! offered, the coupon codes entered, the destination's VAT rates and the time. No entity, no
//! state, no clock: the caller (the cart's priced view, the checkout) gathers the facts.
//!
//! # Prices are VAT exclusive
//!
//! Unit prices, shipping charges, promotion amounts, minimums and thresholds are all net of
//! VAT. Pricing computes VAT and adds it; a storefront that displays gross prices (EU B2C)
//! shows each line's `total`. Amounts are integer minor units of the cart's one currency.
//!
//! # The computation, in order
//!
//! 1. Per line: `subtotal = unit price × quantity`, `shipping = unit shipping × quantity`.
//! 2. Each promotion is screened; the first failing check declines it with its reason:
//!    the window `[starts_ms, ends_ms)` holds now (else `Expired`, or `NotStarted`); its
//!    coupon, if it has one, was entered (`CouponRequired`); its amounts are in the cart's
//!    currency (`CurrencyMismatch`); a line is in its scope (`OutOfScope`); the lines in scope
//!    reach its `minimum` before any discount (`MinimumNotMet`); for buy X get Y, some ASIN
//!    has at least X + Y units in scope (`MinimumNotMet`). Entered codes that no promotion
//!    carries are declined as `CodeUnknown`. Redemption limits are not pricing's business:
//!    the checkout redeems, and prices again without a promotion whose limit is reached.
//! 3. Item discounts. A line's discounts never take it below zero.
//!    - Non-stackable promotions: each one's discount on each line in its scope is computed
//!      on the line subtotal alone; a line takes the largest (ties: the smallest promotion
//!      id), so at most one non-stackable promotion per line, the best for the customer. One
//!      that wins no line is declined `NotStackable`.
//!    - Stackable promotions then all apply, highest `priority` first (ties: smallest id),
//!      each on what is left of the line after the discounts before it.
//! 4. Free shipping, highest `priority` first (ties: smallest id): when the lines in its scope
//!    reach the threshold with their items after discounts, it waives the whole shipping of
//!    each of those lines not waived yet. Free shipping is not an item discount and does not
//!    take a line's non-stackable place; a shipping charge is waived at most once.
//! 5. Per line: `net = subtotal - discounts + shipping - waived shipping`; VAT is charged on
//!    the net, shipping included (it follows the goods' rate, as EU VAT does for ancillary
//!    costs), at the rate of the destination and the line's tax class; `total = net + VAT`.
//! 6. Cart totals are the sums of the line amounts, so the lines always add up to the total.
//!
//! A promotion that passes the screen but takes nothing off (a line already at zero, shipping
//! already free) is declined `NothingToDiscount`; the applied ones are listed with what they
//! took off, items and shipping together.
//!
//! # How each promotion computes its discount on a base (subtotal, or what is left)
//!
//! - Percent off: `base × bps / 10 000`, per line.
//! - Amount off: the amount is split over the lines in scope in proportion to their bases
//!   (largest remainder, see below); if the bases add up to less than the amount, each line
//!   loses its whole base and the rest is forfeited. A non-stackable amount off is split over
//!   the subtotals of all the lines in scope, and a line that prefers another promotion
//!   forfeits its share.
//! - Buy X get Y: per ASIN, over the lines in scope (any seller), `floor(units / (X + Y)) × Y`
//!   units are free, the cheapest ones (ties: the line first in canonical order); a line's
//!   discount is its free units × its unit price, capped at its base.
//!
//! # Rounding (minor units; edge cases tested in `rounding.rs`)
//!
//! - Percentage discounts: per line, on the line's base, to the nearest minor unit, **a half
//!   to the even neighbour** (banker's rounding, so halves do not bias discounts either way):
//!   50 % of 1 cent is 0, of 3 cents 2, of 5 cents 2; 33.33 % of 150 is 49.995, so 50.
//! - VAT: per line, on the line's net, to the nearest minor unit, **a half up**: 19 % of 50
//!   is 9.5, so 10; 19 % of 1 is 0.19, so 0.
//! - Amount-off splits: each line gets the floor of its exact share; the minor units left go
//!   one each to the largest remainders, equal remainders to the line first in canonical
//!   order (ASIN, seller, unit price, shipping, quantity, tax class), so the split does not
//!   depend on the order of the cart.
//! - Nothing else rounds: totals are sums of rounded line amounts.
//!
//! # Invariants (checked by the property test)
//!
//! Every amount is non-negative; each line's discounts are at most its subtotal and its
//! waived shipping at most its shipping; VAT is non-negative; each total is the sum of the
//! lines' amounts; the applied promotions add up to the discounts plus the waived shipping;
//! the same input prices the same, and reordering the lines changes no total.

mod country;
mod price;
#[cfg(test)]
mod proptests;
mod rounding;
mod screen;
#[cfg(test)]
mod tests;
mod vat;

use serde::{Deserialize, Serialize};

use crate::ids::{Asin, SellerId};
use crate::money::{Currency, Money};
use crate::product::TaxClass;
use crate::promotion::{CandidatePromotion, CouponCode, PromotionId};
use crate::quantity::Quantity;
use crate::rejection::{Rejection, RejectionKind};

pub use country::{CountryCode, ISO_3166_ALPHA_2};
pub use price::price;
pub use vat::{RatedClass, VatRates, VatTable, VatTableError};

/// One line to price: the offer being bought, resolved by the caller (the chosen seller or
/// the buy box winner), and the product's tax class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PricingLine {
    pub asin: Asin,
    pub seller: SellerId,
    /// VAT exclusive, `0..=PRICE_MINOR_MAX`.
    pub unit_price: Money,
    /// Per unit, VAT exclusive, `0..=PRICE_MINOR_MAX`.
    pub shipping: Money,
    /// At most `CART_LINE_QUANTITY_MAX`.
    pub quantity: Quantity,
    pub tax_class: TaxClass,
}

/// Everything but the lines: where the cart goes, what may discount it, and when.
#[derive(Debug, Clone, Copy)]
pub struct PricingContext<'a> {
    pub destination: CountryCode,
    /// The promotions the caller offers (active ones and those behind the coupons entered).
    pub promotions: &'a [CandidatePromotion],
    /// The codes the customer entered.
    pub coupons: &'a [CouponCode],
    pub vat: &'a VatTable,
    pub now_ms: u64,
}

/// What [`price`] takes.
#[derive(Debug, Clone, Copy)]
pub struct PricingInput<'a> {
    /// The cart's currency; every line must be in it (an empty cart prices to zero in it).
    pub currency: Currency,
    pub lines: &'a [PricingLine],
    pub context: PricingContext<'a>,
}

/// One promotion's discount on one line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineDiscount {
    pub promotion: PromotionId,
    pub amount: Money,
}

/// A priced line, in the order of the input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PricedLine {
    pub asin: Asin,
    pub seller: SellerId,
    pub tax_class: TaxClass,
    pub unit_price: Money,
    pub quantity: Quantity,
    /// `unit_price × quantity`.
    pub subtotal: Money,
    /// Item discounts, in the order applied.
    pub discounts: Vec<LineDiscount>,
    /// Their sum, at most `subtotal`.
    pub discount: Money,
    /// Unit shipping × quantity, before any waiver.
    pub shipping: Money,
    /// The free shipping promotion that waived it, if any.
    pub shipping_waiver: Option<LineDiscount>,
    /// The shipping waived: 0 or `shipping`.
    pub shipping_discount: Money,
    /// `subtotal - discount + shipping - shipping_discount`: what VAT is charged on.
    pub net: Money,
    pub vat_rate_bps: u16,
    pub vat: Money,
    /// `net + vat`.
    pub total: Money,
}

/// The sums of the lines' amounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartTotals {
    pub subtotal: Money,
    pub discount: Money,
    pub shipping: Money,
    pub shipping_discount: Money,
    pub net: Money,
    pub vat: Money,
    /// The grand total.
    pub total: Money,
}

/// A promotion that took something off: items and shipping together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedPromotion {
    pub id: PromotionId,
    pub amount: Money,
}

/// Why an offered promotion gave nothing. Variants are append-only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeclineReason {
    NotStarted,
    Expired,
    CouponRequired,
    CurrencyMismatch,
    OutOfScope,
    MinimumNotMet,
    /// It lost every line it could discount to a better non-stackable promotion.
    NotStackable,
    NothingToDiscount,
}

/// A promotion or a coupon code that gave nothing. Variants are append-only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Declined {
    Promotion {
        id: PromotionId,
        reason: DeclineReason,
    },
    /// An entered code that no offered promotion carries.
    CodeUnknown {
        code: CouponCode,
    },
}

/// What [`price`] answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PricedCart {
    pub currency: Currency,
    pub destination: CountryCode,
    pub lines: Vec<PricedLine>,
    pub totals: CartTotals,
    /// By promotion id.
    pub applied: Vec<AppliedPromotion>,
    /// Promotions by id, then unknown codes by code.
    pub declined: Vec<Declined>,
}

/// Why a cart cannot be priced at all. Variants are append-only; see [`Rejection`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum PricingError {
    #[error("amounts must be in {expected}, not {found}")]
    CurrencyMismatch { expected: Currency, found: Currency },
    #[error("a price or shipping charge must be between 0 and {max_minor} minor units")]
    AmountInvalid { max_minor: i64 },
    #[error("a line holds at most {max} units")]
    QuantityTooLarge { max: u32 },
    #[error("at most {max} lines are priced at once")]
    TooManyLines { max: u32 },
    #[error("at most {max} promotions are offered at once")]
    TooManyPromotions { max: u32 },
    #[error("at most {max} coupon codes are entered at once")]
    TooManyCoupons { max: u32 },
    #[error("promotion {id} is offered twice")]
    DuplicatePromotion { id: PromotionId },
    #[error("promotion {id} has an invalid definition")]
    PromotionInvalid { id: PromotionId },
    #[error("no vat rate for {tax_class:?} goods sent to {country}")]
    NoVatRate { country: CountryCode, tax_class: TaxClass },
    #[error("amount out of range")]
    Overflow,
}

impl Rejection for PricingError {
    fn code(&self) -> &'static str {
        match self {
            PricingError::CurrencyMismatch { .. } => "currency_mismatch",
            PricingError::AmountInvalid { .. } => "amount_invalid",
            PricingError::QuantityTooLarge { .. } => "quantity_too_large",
            PricingError::TooManyLines { .. } => "too_many_lines",
            PricingError::TooManyPromotions { .. } => "too_many_promotions",
            PricingError::TooManyCoupons { .. } => "too_many_coupons",
            PricingError::DuplicatePromotion { .. } => "duplicate_promotion",
            PricingError::PromotionInvalid { .. } => "promotion_invalid",
            PricingError::NoVatRate { .. } => "no_vat_rate",
            PricingError::Overflow => "amount_overflow",
        }
    }

    fn kind(&self) -> RejectionKind {
        match self {
            PricingError::CurrencyMismatch { .. }
            | PricingError::AmountInvalid { .. }
            | PricingError::QuantityTooLarge { .. }
            | PricingError::TooManyLines { .. }
            | PricingError::TooManyPromotions { .. }
            | PricingError::TooManyCoupons { .. }
            | PricingError::DuplicatePromotion { .. }
            | PricingError::PromotionInvalid { .. }
            | PricingError::NoVatRate { .. }
            | PricingError::Overflow => RejectionKind::Invalid,
        }
    }
}

impl From<crate::money::MoneyError> for PricingError {
    fn from(error: crate::money::MoneyError) -> PricingError {
        match error {
            crate::money::MoneyError::CurrencyMismatch { left, right } => {
                PricingError::CurrencyMismatch { expected: left, found: right }
            }
            crate::money::MoneyError::Overflow
            | crate::money::MoneyError::UnknownCurrency { .. } => PricingError::Overflow,
        }
    }
}
