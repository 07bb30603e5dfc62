//! Pricing a cart as it stands now: the one way both the cart page and the checkout price a
//! cart, so a shopper is charged by the rules the cart showed.
//!
//! The facts (each line's current offers, from the product read models) and the tenant's
//! live promotions are read from the catalogue once, into [`CartPricing`]; the pricing itself
//! is the domain's pure [`priced_view`]. A checkout that finds a promotion's redemption limit
//! reached prices again without it ([`CartPricing::without`]) on the same facts.

use bazaar_actors::cart::{CartView, CurrentFacts, PricedCartView, priced_view};
use bazaar_actors::pricing::{CountryCode, PricingContext, PricingError, VatTable};
use bazaar_actors::promotion::{CandidatePromotion, CouponCode, PromotionId};

use super::Catalog;

/// Where a cart ships, what the customer entered, the tax rules and the time it is priced at.
#[derive(Debug, Clone, Copy)]
pub struct PriceTerms<'a> {
    pub destination: CountryCode,
    pub coupons: &'a [CouponCode],
    pub vat: &'a VatTable,
    pub now_ms: u64,
}

/// A cart's lines' current facts and the promotions on offer, read once.
#[derive(Debug, Clone)]
pub struct CartPricing {
    pub facts: CurrentFacts,
    promotions: Vec<CandidatePromotion>,
}

impl Catalog {
    /// What `cart` is priced on now, in `tenant`.
    pub fn pricing(&self, tenant: &str, cart: &CartView) -> CartPricing {
        CartPricing {
            facts: self.facts_of(tenant, &cart.lines),
            promotions: self.promotions(tenant),
        }
    }
}

impl CartPricing {
    /// `cart` priced on these facts and promotions under `terms`.
    pub fn price(
        &self,
        cart: &CartView,
        terms: PriceTerms<'_>,
    ) -> Result<PricedCartView, PricingError> {
        let context = PricingContext {
            destination: terms.destination,
            promotions: &self.promotions,
            coupons: terms.coupons,
            vat: terms.vat,
            now_ms: terms.now_ms,
        };
        priced_view(cart, &self.facts, context)
    }

    /// Leaves promotion `id` out of every later price (its redemption limit was reached).
    pub fn without(&mut self, id: &PromotionId) {
        self.promotions.retain(|candidate| &candidate.id != id);
    }
}
