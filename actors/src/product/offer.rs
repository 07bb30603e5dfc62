//! A seller's offer on a product and the validation of its terms.
//!
//! Invariant: an offer stored in a product passed [`validate_terms`] against the product's
//! currency: price `1..=PRICE_MINOR_MAX`, shipping `0..=PRICE_MINOR_MAX`, both in the
//! product's currency, handling `0..=HANDLING_DAYS_MAX` days, available `0..=QUANTITY_MAX`.
//! So a landed price (price + shipping) never overflows.

use serde::{Deserialize, Serialize};

use super::ProductRejection;
use crate::ids::{SellerId, Sku};
use crate::limits::{HANDLING_DAYS_MAX, PRICE_MINOR_MAX, QUANTITY_MAX};
use crate::money::{Currency, Money};
use crate::seller::SellerScore;

/// The state of the item offered. Variants are append-only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Condition {
    New,
    Used,
    Refurbished,
}

/// Who stores and ships the item. Variants are append-only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Fulfilment {
    /// The marketplace's warehouses: ships at once.
    Marketplace,
    /// The seller ships, after `handling_days`.
    Seller,
}

/// What a seller says about their offer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferTerms {
    pub sku: Sku,
    pub price: Money,
    pub shipping: Money,
    pub condition: Condition,
    pub fulfilment: Fulfilment,
    /// Days between the order and the dispatch, when the seller ships.
    pub handling_days: u16,
    /// Units the seller can ship now.
    pub available: u32,
}

/// A seller's offer, with the seller's score snapshot as the product was last told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offer {
    pub seller: SellerId,
    pub terms: OfferTerms,
    pub score: SellerScore,
}

/// Checks the terms against the product's currency and the limits.
pub(super) fn validate_terms(
    terms: &OfferTerms,
    currency: Currency,
) -> Result<(), ProductRejection> {
    if terms.price.currency != currency || terms.shipping.currency != currency {
        return Err(ProductRejection::CurrencyMismatch { expected: currency });
    }
    if !(1..=PRICE_MINOR_MAX).contains(&terms.price.minor) {
        return Err(ProductRejection::PriceInvalid { max_minor: PRICE_MINOR_MAX });
    }
    if !(0..=PRICE_MINOR_MAX).contains(&terms.shipping.minor) {
        return Err(ProductRejection::ShippingInvalid { max_minor: PRICE_MINOR_MAX });
    }
    if terms.handling_days > HANDLING_DAYS_MAX {
        return Err(ProductRejection::HandlingDaysInvalid { max: HANDLING_DAYS_MAX });
    }
    validate_available(terms.available)
}

pub(super) fn validate_available(available: u32) -> Result<(), ProductRejection> {
    if available > QUANTITY_MAX {
        return Err(ProductRejection::QuantityTooLarge { max: QUANTITY_MAX });
    }
    Ok(())
}
