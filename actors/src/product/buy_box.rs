//! The buy box: eligibility and the order among eligible offers, as written in the module
//! doc of [`product`](super). Pure functions of offers, no state.
//!
//! Invariant: [`compare`] is a total order on offers of distinct sellers (the seller id is
//! the last key), so [`choose`] has exactly one answer whatever order it meets the offers in.

use std::cmp::{Ordering, Reverse};

use serde::{Deserialize, Serialize};

use super::offer::{Condition, Fulfilment, Offer, OfferTerms};
use crate::ids::{SellerId, Sku};
use crate::limits::{PRICE_OUTLIER_FACTOR, PRICE_RANGE_OFFERS_MIN};
use crate::money::Money;
use crate::seller::Standing;

/// The winning offer, as the read model and shoppers see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuyBox {
    pub seller: SellerId,
    pub sku: Sku,
    pub price: Money,
    pub shipping: Money,
    /// `price + shipping`.
    pub landed: Money,
    pub condition: Condition,
    pub fulfilment: Fulfilment,
    /// Days until dispatch, as the buy box counts them (see [`delivery_days`]).
    pub delivery_days: u16,
    pub available: u32,
}

impl BuyBox {
    pub fn of(offer: &Offer) -> BuyBox {
        let terms = &offer.terms;
        BuyBox {
            seller: offer.seller.clone(),
            sku: terms.sku.clone(),
            price: terms.price,
            shipping: terms.shipping,
            landed: super::landed_price(terms),
            condition: terms.condition,
            fulfilment: terms.fulfilment,
            delivery_days: delivery_days(terms),
            available: terms.available,
        }
    }
}

/// The going price of a product: the median item price of its offers in stock, once at
/// least [`PRICE_RANGE_OFFERS_MIN`] are (fewer say nothing about a range). An offer priced
/// more than [`PRICE_OUTLIER_FACTOR`] times above it, or below it divided by that, is
/// outside the product's range: a likely pricing error, kept off the buy box until fixed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PriceRange {
    median_minor: Option<i64>,
}

impl PriceRange {
    pub fn of<'a>(offers: impl IntoIterator<Item = &'a Offer>) -> PriceRange {
        let mut prices: Vec<i64> = offers
            .into_iter()
            .filter(|offer| offer.terms.available > 0)
            .map(|offer| offer.terms.price.minor)
            .collect();
        if prices.len() < PRICE_RANGE_OFFERS_MIN {
            return PriceRange::default();
        }
        prices.sort_unstable();
        PriceRange { median_minor: Some(prices[prices.len() / 2]) }
    }

    /// Whether `price` (minor units) lies outside the range.
    pub fn excludes(self, price: i64) -> bool {
        let Some(median) = self.median_minor else { return false };
        let factor = i128::from(PRICE_OUTLIER_FACTOR);
        let (price, median) = (i128::from(price), i128::from(median));
        price > median * factor || price * factor < median
    }
}

/// What a product says of every offer on it: its going price, and whether its document has
/// every attribute its category requires (a product without one is unbuyable until its owner
/// adds it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProductTerms {
    pub range: PriceRange,
    pub complete: bool,
}

impl ProductTerms {
    /// The terms of a product with these `offers`, missing `missing` attributes.
    pub fn of<'a>(offers: impl IntoIterator<Item = &'a Offer>, missing: &[String]) -> Self {
        ProductTerms { range: PriceRange::of(offers), complete: missing.is_empty() }
    }
}

/// In stock, seller in good standing, condition new, priced within the product's range, on a
/// product whose document is complete.
pub fn is_eligible(offer: &Offer, terms: ProductTerms) -> bool {
    terms.complete
        && offer.terms.available > 0
        && offer.score.standing == Standing::Good
        && offer.terms.condition == Condition::New
        && !terms.range.excludes(offer.terms.price.minor)
}

/// Why an offer is kept off the buy box (a suppressed listing): one reason per rule of
/// [`is_eligible`] it breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Suppression {
    OutOfStock,
    SellerAtRisk,
    SellerSuspended,
    SellerNotVerified,
    NotNew,
    PriceOutsideRange,
    MissingAttributes,
}

impl Suppression {
    /// A stable snake_case code.
    pub fn code(self) -> &'static str {
        match self {
            Suppression::OutOfStock => "out_of_stock",
            Suppression::SellerAtRisk => "seller_at_risk",
            Suppression::SellerSuspended => "seller_suspended",
            Suppression::SellerNotVerified => "seller_not_verified",
            Suppression::NotNew => "condition_not_new",
            Suppression::PriceOutsideRange => "price_outside_range",
            Suppression::MissingAttributes => "missing_attributes",
        }
    }
}

/// Every reason `offer` is suppressed; none for an eligible offer (the property test checks
/// they agree with [`is_eligible`]).
pub fn suppressions(offer: &Offer, terms: ProductTerms) -> Vec<Suppression> {
    let mut reasons = Vec::new();
    if offer.terms.available == 0 {
        reasons.push(Suppression::OutOfStock);
    }
    match offer.score.standing {
        Standing::Good => {}
        Standing::AtRisk => reasons.push(Suppression::SellerAtRisk),
        Standing::Suspended => reasons.push(Suppression::SellerSuspended),
        Standing::Applied => reasons.push(Suppression::SellerNotVerified),
    }
    if offer.terms.condition != Condition::New {
        reasons.push(Suppression::NotNew);
    }
    if terms.range.excludes(offer.terms.price.minor) {
        reasons.push(Suppression::PriceOutsideRange);
    }
    if !terms.complete {
        reasons.push(Suppression::MissingAttributes);
    }
    reasons
}

/// 0 when the marketplace fulfils (the seller's handling days do not apply), otherwise the
/// offer's handling days.
pub fn delivery_days(terms: &OfferTerms) -> u16 {
    match terms.fulfilment {
        Fulfilment::Marketplace => 0,
        Fulfilment::Seller => terms.handling_days,
    }
}

/// The sort key: smaller is better.
fn rank(offer: &Offer) -> (i64, u16, Reverse<u16>, u16, &str) {
    let terms = &offer.terms;
    (
        terms.price.minor.saturating_add(terms.shipping.minor),
        delivery_days(terms),
        Reverse(offer.score.rating.hundredths()),
        offer.score.defect_rate.bps(),
        offer.seller.as_str(),
    )
}

/// The buy box order: `Less` when `a` beats `b`. Meaningful among eligible offers.
pub fn compare(a: &Offer, b: &Offer) -> Ordering {
    rank(a).cmp(&rank(b))
}

/// The winner among `offers` of a product missing `missing` attributes, if any is eligible
/// (their own [`ProductTerms`] applied).
pub(super) fn choose<'a>(
    offers: impl IntoIterator<Item = &'a Offer> + Clone,
    missing: &[String],
) -> Option<&'a Offer> {
    let terms = ProductTerms::of(offers.clone(), missing);
    offers.into_iter().filter(|offer| is_eligible(offer, terms)).min_by(|a, b| compare(a, b))
}
