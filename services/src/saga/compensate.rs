//! The compensations, run in reverse once a step failed: cancel the order, void the
//! authorization, release the holds, give back the promotions.
//!
//! Invariants:
//! - Compensations never fail the saga: each ends in an outcome or a passing failure, which
//!   the runner retries.
//! - A void no provider answers is handed to the payment job (the `void` worklist), so an
//!   outage never holds stock hostage: the saga releases and answers now.

use super::{Retry, Run, StepResult};
use crate::payments::PaymentError;
use bazaar_actors::checkout::Outcome;
use bazaar_actors::inventory::Held;
use bazaar_actors::keys;
use bazaar_actors::order::{Order, OrderCommand};
use bazaar_actors::promotion::{Promotion, PromotionCommand};

impl Run<'_> {
    pub(super) async fn cancel_order(&self) -> StepResult {
        let reason = self.saga.failure().map_or("checkout failed", |f| f.code.code()).to_owned();
        // Refused only when it was cancelled already.
        self.engine().ask::<Order>(&self.order_key, OrderCommand::Cancel { reason }).await?.ok();
        // Its units go back on hand (and its payment is settled) by the payment job.
        self.inner.payment_job.kick(&self.order_key);
        Ok(Outcome::OrderCancelled)
    }

    /// Voids the authorization at every provider (the one that holds it may not be known
    /// after a time-out), then tells the order. When a provider does not answer, the void is
    /// handed to the payment job, which retries until every provider has answered.
    pub(super) async fn void(&self) -> StepResult {
        match self.inner.payments.void(self.order.as_str()).await {
            Ok(()) => {
                if self.saga.authorization().is_some() {
                    let void = OrderCommand::RecordVoid;
                    self.engine().ask::<Order>(&self.order_key, void).await?.ok();
                }
                Ok(Outcome::Voided)
            }
            Err(PaymentError::Unavailable { detail }) => {
                tracing::warn!(order = %self.order, detail, "void deferred to the payment job");
                match self.inner.payment_job.defer_void(self.order.as_str()).await? {
                    Ok(()) => Ok(Outcome::VoidDeferred),
                    Err(full) => Err(Retry::Refused(full.to_string())),
                }
            }
            // Refused for good (captured already: the cancelled order's payment job refunds
            // it); nothing a retry would change.
            Err(refused) => {
                tracing::warn!(order = %self.order, error = %refused, "void refused");
                Ok(Outcome::Voided)
            }
        }
    }

    pub(super) async fn release(&self) -> StepResult {
        let held: Vec<Held> = self.saga.holds().cloned().collect();
        self.inner.catalog.release_held(self.tenant, &held).await?;
        Ok(Outcome::Released)
    }

    pub(super) async fn unredeem(&self) -> StepResult {
        self.unredeem_all(self.saga.redeemed()).await?;
        Ok(Outcome::Unredeemed)
    }

    pub(super) async fn unredeem_all(
        &self,
        promotions: impl Iterator<Item = &bazaar_actors::promotion::PromotionId>,
    ) -> Result<(), Retry> {
        let redemption = self.order.redemption();
        for id in promotions {
            let key = keys::promotion(self.tenant, id);
            let unredeem = PromotionCommand::Unredeem { order_id: redemption.clone() };
            self.engine().ask::<Promotion>(&key, unredeem).await?.ok();
        }
        Ok(())
    }
}
