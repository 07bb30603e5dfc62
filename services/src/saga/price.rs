//! The price step: the cart's priced view as the shopper would see it now, its promotions
//! redeemed for the order.
//!
//! Invariants:
//! - Every redemption names the order (derived from the saga's key), so a repeated price
//!   step redeems once.
//! - A price step that fails after redeeming gives its redemptions back at once: the saga's
//!   own `Unredeem` step only knows what `Priced` recorded.
//! - A line the cart view flags fails the saga with a code the shopper can act on: out of
//!   stock (still offered), line unavailable (no longer offered), price changed.

use bazaar_engine::EngineError;

use super::{Run, StepResult, failed};
use crate::catalog::PriceTerms;
use bazaar_actors::cart::{Cart, CartCommand, CartOwner, LineFlag, OfferChoice};
use bazaar_actors::checkout::{FailureCode, Outcome, Priced, PricedItem, Step};
use bazaar_actors::keys;
use bazaar_actors::promotion::{Promotion, PromotionCommand};

impl Run<'_> {
    /// The cart's priced view as the shopper would see it now; promotions whose limits are
    /// reached are left out (pricing runs again without them), the others are redeemed for
    /// the order.
    /// Prices the cart and redeems its promotions; a failure after some were redeemed gives
    /// them back at once (the saga's own Unredeem step only knows what `Priced` recorded).
    pub(super) async fn price(&self) -> StepResult {
        let mut redeemed = Vec::new();
        let outcome = self.price_and_redeem(&mut redeemed).await?;
        if matches!(outcome, Outcome::Failed(_))
            && !redeemed.is_empty()
            && let Err(error) = self.unredeem_all(redeemed.iter()).await
        {
            tracing::warn!(order = %self.order, error = %error, "redemptions not given back");
        }
        Ok(outcome)
    }

    async fn price_and_redeem(
        &self,
        redeemed: &mut Vec<bazaar_actors::promotion::PromotionId>,
    ) -> StepResult {
        let cart_key = keys::cart(self.tenant, &self.request.cart);
        let cart = match self.engine().ask::<Cart>(&cart_key, CartCommand::Get).await {
            Ok(Ok(reply)) => reply.cart,
            // `Get` is refused only for a cart never created; an id no cart can have (the
            // gateway checks its shape) is not found either, never retried.
            Ok(Err(_)) | Err(EngineError::InvalidId { .. }) => {
                return Ok(failed(Step::Price, FailureCode::CartNotFound, "no such cart"));
            }
            Err(error) => return Err(error.into()),
        };
        if cart.owner != CartOwner::Customer(self.request.customer.clone()) {
            return Ok(failed(Step::Price, FailureCode::CartNotFound, "no such cart"));
        }
        if cart.lines.is_empty() {
            return Ok(failed(Step::Price, FailureCode::CartEmpty, "the cart is empty"));
        }
        let mut pricing = self.inner.catalog.pricing(self.tenant, &cart);
        let redemption = self.order.redemption();
        let terms = PriceTerms {
            destination: self.request.ship_to.country,
            coupons: &self.request.coupons,
            vat: &self.inner.vat,
            now_ms: self.engine().clock().now_ms(),
        };
        loop {
            let view = match pricing.price(&cart, terms) {
                Ok(view) => view,
                Err(error) => {
                    return Ok(failed(Step::Price, FailureCode::PricingRefused, error.to_string()));
                }
            };
            for line in &view.lines {
                let asin = &line.line.asin;
                if line.flags.contains(&LineFlag::NoLongerAvailable) {
                    // Still offered, just not in stock: the shopper hears "out of stock",
                    // as when the last unit goes while reserving.
                    let offered =
                        pricing.facts.products.get(asin).is_some_and(|product| {
                            match &line.line.offer {
                                OfferChoice::BuyBox => !product.offers.is_empty(),
                                OfferChoice::Seller(seller) => product.offers.contains_key(seller),
                            }
                        });
                    let (code, detail) = match offered {
                        true => (FailureCode::OutOfStock, format!("{asin} is out of stock")),
                        false => {
                            (FailureCode::LineUnavailable, format!("{asin} is no longer offered"))
                        }
                    };
                    return Ok(failed(Step::Price, code, detail));
                }
                if let Some(LineFlag::PriceChanged { was, now }) = line.flags.first() {
                    let detail = format!(
                        "{asin} now costs {} minor units, not {}: add it to the cart again to confirm",
                        now.minor, was.minor
                    );
                    return Ok(failed(Step::Price, FailureCode::PriceChanged, detail));
                }
            }
            let mut refused = None;
            for applied in &view.applied {
                if redeemed.contains(&applied.id) {
                    continue;
                }
                let key = keys::promotion(self.tenant, &applied.id);
                let redeem = PromotionCommand::Redeem {
                    customer: self.request.customer.clone(),
                    order_id: redemption.clone(),
                };
                // Covered by the durable `Scored`, like the rest of pricing.
                match self.engine().ask_appended::<Promotion>(&key, redeem).await? {
                    Ok(_) => redeemed.push(applied.id.clone()),
                    Err(_) => {
                        refused = Some(applied.id.clone());
                        break;
                    }
                }
            }
            if let Some(refused) = refused {
                // A limit was reached: price again without it.
                pricing.without(&refused);
                continue;
            }
            let items = view
                .lines
                .iter()
                .filter_map(|line| line.priced.clone())
                .map(|line| {
                    let offer =
                        self.inner.catalog.product(self.tenant, &line.asin).and_then(|product| {
                            product.offers.iter().find(|offer| offer.seller == line.seller).cloned()
                        });
                    let (sku, handling_days) = match offer {
                        // The days the offer takes to leave (none when the marketplace
                        // fulfils), as the buy box counts them.
                        Some(offer) => {
                            let days = bazaar_actors::product::delivery_days(&offer.terms);
                            (offer.terms.sku, days)
                        }
                        None => return Err(line.asin.clone()),
                    };
                    let handling_days = u8::try_from(handling_days).unwrap_or(u8::MAX);
                    Ok(PricedItem { line, sku, handling_days })
                })
                .collect::<Result<Vec<_>, _>>();
            let items = match items {
                Ok(items) => items,
                Err(asin) => {
                    let detail = format!("{asin} can no longer be bought");
                    return Ok(failed(Step::Price, FailureCode::LineUnavailable, detail));
                }
            };
            let applied: Vec<_> = view.applied.iter().map(|applied| applied.id.clone()).collect();
            // Redeemed on an earlier round but no longer applied: given back at once.
            for stale in redeemed.iter().filter(|id| !applied.contains(id)) {
                let key = keys::promotion(self.tenant, stale);
                let unredeem = PromotionCommand::Unredeem { order_id: redemption.clone() };
                self.engine().ask::<Promotion>(&key, unredeem).await?.ok();
            }
            redeemed.retain(|id| applied.contains(id));
            return Ok(Outcome::Priced(Box::new(Priced {
                currency: view.currency,
                items,
                totals: view.totals,
                promotions: view.applied,
                redeemed: redeemed.clone(),
            })));
        }
    }
}
