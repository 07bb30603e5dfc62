//! The priced view of a cart: each line resolved against the current offer facts, flagged
//! where the price or the availability differ from what the shopper saw, and the buyable
//! lines priced by [`pricing::price`](crate::pricing::price). Pure: the caller reads the facts
//! (the buy box read model, the product entities) and the promotions first.
//!
//! Rules:
//! - A `BuyBox` line buys from the current buy box winner; a `Seller(id)` line from that
//!   seller's offer. No product, no such offer, no buy box, or an offer that cannot ship
//!   (no stock, or its seller is suspended) flags the line `NoLongerAvailable`; it is shown
//!   but not priced.
//! - A buyable line whose current unit price differs from the seen one is flagged
//!   `PriceChanged { was, now }` and priced at the current price.
//! - Flags never change the cart: the shopper confirms by adding or changing the line again,
//!   which records the new seen facts.

use crate::order::promise::{DeliveryTerms, promised_by};
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{CartLine, CartView, OfferChoice};
use crate::ids::{Asin, SellerId};
use crate::money::{Currency, Money};
use crate::pricing::{
    AppliedPromotion, CartTotals, Declined, PricedLine, PricingContext, PricingError, PricingInput,
    PricingLine, price,
};
use crate::product::{ProductView, TaxClass};
use crate::seller::Standing;

/// What a shopper would buy from one offer now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferFacts {
    pub seller: SellerId,
    pub unit_price: Money,
    /// Per unit.
    pub shipping: Money,
    /// Whether it can ship: in stock and its seller not suspended.
    pub available: bool,
    /// Days until it leaves (none when the marketplace fulfils), as the buy box counts them
    /// and the order's plan promises with them.
    pub handling_days: u8,
}

/// The current facts of one product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductFacts {
    pub tax_class: TaxClass,
    pub buy_box: Option<OfferFacts>,
    pub offers: BTreeMap<SellerId, OfferFacts>,
}

impl ProductFacts {
    /// The facts as a product's view tells them. An offer can be bought when it is in stock
    /// and its seller not suspended, on a complete product, priced within its range (a
    /// likely pricing error is no more bought than it wins the buy box).
    pub fn of(view: &ProductView) -> ProductFacts {
        let terms = view.terms();
        let offers: BTreeMap<SellerId, OfferFacts> = view
            .offers
            .iter()
            .map(|offer| {
                let facts = OfferFacts {
                    seller: offer.seller.clone(),
                    unit_price: offer.terms.price,
                    shipping: offer.terms.shipping,
                    available: offer.terms.available > 0
                        && offer.score.standing != Standing::Suspended
                        && terms.complete
                        && !terms.range.excludes(offer.terms.price.minor),
                    handling_days: handling(crate::product::delivery_days(&offer.terms)),
                };
                (offer.seller.clone(), facts)
            })
            .collect();
        let buy_box = view.buy_box.as_ref().map(|winner| OfferFacts {
            seller: winner.seller.clone(),
            unit_price: winner.price,
            shipping: winner.shipping,
            available: winner.available > 0,
            handling_days: offers.get(&winner.seller).map_or(0, |offer| offer.handling_days),
        });
        ProductFacts { tax_class: view.document.tax_class, buy_box, offers }
    }
}

/// Handling days as an order line keeps them.
fn handling(days: u16) -> u8 {
    u8::try_from(days).unwrap_or(u8::MAX)
}

/// The current facts of the products in a cart, by ASIN.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentFacts {
    pub products: BTreeMap<Asin, ProductFacts>,
}

/// What changed since the shopper saw a line. Variants are append-only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum LineFlag {
    PriceChanged { was: Money, now: Money },
    NoLongerAvailable,
}

/// One cart line in the priced view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewLine {
    pub line: CartLine,
    /// The seller it would be bought from now, if it can be bought.
    pub seller: Option<SellerId>,
    pub flags: Vec<LineFlag>,
    /// `None` when the line cannot be bought.
    pub priced: Option<PricedLine>,
    /// The offer's handling days, when it can be bought (for the delivery promise).
    pub handling_days: Option<u8>,
}

/// A cart as the shopper sees it at checkout time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PricedCartView {
    pub currency: Currency,
    /// In cart order.
    pub lines: Vec<ViewLine>,
    /// Of the buyable lines.
    pub totals: CartTotals,
    pub applied: Vec<AppliedPromotion>,
    pub declined: Vec<Declined>,
}

/// Resolves, flags and prices `cart` (see the module doc).
pub fn priced_view(
    cart: &CartView,
    facts: &CurrentFacts,
    context: PricingContext<'_>,
) -> Result<PricedCartView, PricingError> {
    let mut lines = Vec::with_capacity(cart.lines.len());
    let mut pricing_lines = Vec::new();
    for line in &cart.lines {
        let product = facts.products.get(&line.asin);
        let offer = product.and_then(|product| match &line.offer {
            OfferChoice::BuyBox => product.buy_box.as_ref(),
            OfferChoice::Seller(seller) => product.offers.get(seller),
        });
        let (Some(product), Some(offer)) = (product, offer.filter(|offer| offer.available)) else {
            let flags = vec![LineFlag::NoLongerAvailable];
            let (seller, priced, handling_days) = (None, None, None);
            lines.push(ViewLine { line: line.clone(), seller, flags, priced, handling_days });
            continue;
        };
        let mut flags = Vec::new();
        if offer.unit_price != line.seen_unit_price {
            flags.push(LineFlag::PriceChanged { was: line.seen_unit_price, now: offer.unit_price });
        }
        pricing_lines.push(PricingLine {
            asin: line.asin.clone(),
            seller: offer.seller.clone(),
            unit_price: offer.unit_price,
            shipping: offer.shipping,
            quantity: line.quantity,
            tax_class: product.tax_class,
        });
        let (seller, handling_days) = (Some(offer.seller.clone()), Some(offer.handling_days));
        lines.push(ViewLine { line: line.clone(), seller, flags, priced: None, handling_days });
    }
    let input = PricingInput { currency: cart.currency, lines: &pricing_lines, context };
    let priced = price(&input)?;
    let mut priced_lines = priced.lines.into_iter();
    for line in lines.iter_mut().filter(|line| line.seller.is_some()) {
        line.priced = priced_lines.next();
    }
    Ok(PricedCartView {
        currency: cart.currency,
        lines,
        totals: priced.totals,
        applied: priced.applied,
        declined: priced.declined,
    })
}

impl PricedCartView {
    /// When each line would arrive if ordered at `now_ms` under `terms`, in cart order (none
    /// for a line that cannot be bought). The order ships a seller's lines together and
    /// promises the shipment by its slowest line, so each line is promised by its seller's
    /// slowest buyable line (the location is not known before the hold): never earlier
    /// than the order will promise it.
    pub fn promises(&self, now_ms: u64, terms: DeliveryTerms) -> Vec<Option<u64>> {
        let mut slowest: BTreeMap<&SellerId, u8> = BTreeMap::new();
        for line in &self.lines {
            if let (Some(seller), Some(days)) = (&line.seller, line.handling_days) {
                let entry = slowest.entry(seller).or_insert(days);
                *entry = (*entry).max(days);
            }
        }
        let promise = |line: &ViewLine| {
            let days = line.seller.as_ref().and_then(|seller| slowest.get(seller))?;
            Some(promised_by(now_ms, *days, terms))
        };
        self.lines.iter().map(promise).collect()
    }
}
