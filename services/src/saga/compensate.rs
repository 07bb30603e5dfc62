//! The compensations, run in reverse once a step failed: cancel the order, void the
//! authorization, release the holds, give back the promotions.
//!
//! Invariants:
//! - Compensations never fail the saga: each ends in an outcome or a passing failure, which
//!   the runner retries.
//! - A void no provider answers is handed to the payment job (the `void` worklist), so an
//!   outage never holds stock hostage: the saga releases and answers now.

use bazaar_engine::EngineError;

use super::{Retry, Run, StepResult};
use crate::payments::PaymentError;
use bazaar_actors::checkout::{FailureCode, Outcome};
use bazaar_actors::inventory::Held;
use bazaar_actors::keys;
use bazaar_actors::order::{Order, OrderCommand};
use bazaar_actors::promotion::{Promotion, PromotionCommand, PromotionId};

impl Run<'_> {
    /// Cancels the placed order, naming the failure's code as the reason.
    pub(super) async fn cancel_order(&self, reason: FailureCode) -> StepResult {
        let reason = reason.code().to_owned();
        // Refused only when it was cancelled already.
        self.engine().ask::<Order>(&self.order_key, OrderCommand::Cancel { reason }).await?.ok();
        // Its units go back on hand (and its payment is settled) by the payment job.
        self.inner.payment_job.kick(&self.order_key);
        Ok(Outcome::OrderCancelled)
    }

    /// Voids the authorization at every provider (the one that holds it may not be known
    /// after a time-out), then tells the order. When a provider does not answer, the void is
    /// handed to the payment job, which retries until every provider has answered.
    /// `authorized`: the saga recorded an authorization, so an order may know of it.
    pub(super) async fn void(&self, authorized: bool) -> StepResult {
        match self.inner.payments.void(self.order.as_str()).await {
            Ok(()) => {
                if authorized {
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

    pub(super) async fn release(&self, held: &[Held]) -> StepResult {
        self.inner.catalog.release_held(self.tenant, held).await?;
        Ok(Outcome::Released)
    }

    pub(super) async fn unredeem(&self, promotions: &[PromotionId]) -> StepResult {
        self.unredeem_all(promotions.iter()).await?;
        Ok(Outcome::Unredeemed)
    }

    /// Gives back the order's redemption of each of `promotions` (one already given back is
    /// refused, and that is fine).
    pub(super) async fn unredeem_all(
        &self,
        promotions: impl Iterator<Item = &PromotionId>,
    ) -> Result<(), EngineError> {
        let redemption = self.order.redemption();
        for id in promotions {
            let key = keys::promotion(self.tenant, id);
            let unredeem = PromotionCommand::Unredeem { order_id: redemption.clone() };
            self.engine().ask::<Promotion>(&key, unredeem).await?.ok();
        }
        Ok(())
    }
}
