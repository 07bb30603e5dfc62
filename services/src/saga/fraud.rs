//! The fraud step: the rule score of this checkout, from its velocity, the customer's history
//! and the risk of the order's sellers. A rejecting score fails the saga in the checkout
//! entity itself (in the same batch), so this step has no failure of its own.

use super::Run;
use crate::fraud::address_fingerprint;
use bazaar_actors::checkout::{Outcome, Priced};
use bazaar_actors::fraud::{self, FraudInput, SellerRisk};
use bazaar_actors::order::ship_to;

impl Run<'_> {
    /// The fraud score, from this checkout's velocity, the customer's history and the risk
    /// of the order's sellers.
    pub(super) async fn score(&self, priced: &Priced) -> Outcome {
        let now_ms = self.engine().clock().now_ms();
        let ship_to = &self.request.ship_to;
        let country = ship_to.country.to_string();
        let address = self.open_address(&[ship_to::POSTAL_CODE, ship_to::LINE1]).await;
        let [postal_code, line1] = <[String; 2]>::try_from(address).unwrap_or_default();
        let address = address_fingerprint(&country, &postal_code, &line1);
        let velocity = self.inner.signals.record(
            self.tenant,
            &self.request.customer,
            &self.request.card,
            &address,
            now_ms,
        );
        let customer =
            self.inner.orders.customer_facts(self.tenant, &self.request.customer, priced.currency);
        let sellers = priced
            .items
            .iter()
            .filter_map(|item| self.inner.catalog.seller(self.tenant, &item.line.seller))
            .map(|seller| SellerRisk::from_score(&seller.score))
            .collect();
        let input = FraudInput {
            amount: priced.totals.total,
            now_ms,
            customer,
            velocity,
            ship_country: ship_to.country,
            bill_country: self.request.bill_country,
            sellers,
        };
        Outcome::Scored { assessment: fraud::assess(&input, &self.inner.config.fraud) }
    }
}
