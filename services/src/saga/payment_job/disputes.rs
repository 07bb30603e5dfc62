//! Chargebacks: the providers' disputes, polled every `dispute_poll_ms`, each recorded on
//! its order (`RecordChargeback`, which the dispute's reference names). Recording is
//! idempotent by the dispute's id, so a poll after a restart records nothing twice; one the
//! order refuses now (a refund it has not recorded yet makes the amounts differ) is asked
//! again at the next poll; one it refuses for good is not.

use std::sync::atomic::Ordering;

use bazaar_actors::money::Money;
use bazaar_actors::order::{Order, OrderCommand, OrderRejection};

use super::PaymentJob;

impl PaymentJob {
    /// Records the providers' new disputes in the background (one poll at a time).
    pub(super) fn spawn_disputes(&self) {
        if self.inner.polling.swap(true, Ordering::AcqRel) {
            return;
        }
        let job = self.clone();
        tokio::spawn(async move {
            job.record_disputes().await;
            job.inner.polling.store(false, Ordering::Release);
        });
    }

    async fn record_disputes(&self) {
        for (psp, dispute) in self.inner.payments.disputes().await {
            if self.inner.disputes_recorded.contains(&dispute.id) {
                continue;
            }
            let amount = Money::new(dispute.amount_minor, dispute.currency);
            let (id, reason) = (dispute.id.clone(), dispute.reason.clone());
            let record = OrderCommand::RecordChargeback { psp, id, amount, reason };
            match self.inner.engine.ask::<Order>(&dispute.reference, record).await {
                Ok(Ok(_)) => {
                    self.inner.disputes_recorded.insert(dispute.id);
                }
                // The amounts differ while a refund the order has not recorded is in flight:
                // asked again at the next poll.
                Ok(Err(refused @ OrderRejection::ChargebackInvalid)) => {
                    tracing::debug!(dispute = dispute.id, %refused, "a chargeback not recorded yet");
                }
                // Refused for good (another dispute settled the order, no such order): never
                // asked again.
                Ok(Err(refused)) => {
                    tracing::warn!(dispute = dispute.id, %refused, "a dispute no order takes");
                    self.inner.disputes_recorded.insert(dispute.id);
                }
                Err(error) => {
                    tracing::warn!(dispute = dispute.id, %error, "a chargeback not recorded")
                }
            }
        }
    }
}
