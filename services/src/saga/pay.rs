//! The authorize step: the total authorized at the payment providers (preference order,
//! failover), and whether it is captured at placement or at the first shipment.
//!
//! Invariants:
//! - The provider's idempotency key is the order id, so a repeated step meets the same
//!   authorization at a provider that answered before.
//! - A provider that asks for a 3-D Secure challenge is answered with the challenge (the saga
//!   waits for the customer, then asks again under the same key).
//! - After a failover or a repeated attempt, the key is voided (durably, by the payment job)
//!   at every provider but the one holding the authorization, so one authorization stays.

use super::{Attempt, Retry, Run, StepResult, failed};
use crate::payments::{AuthorizeRequest, PaymentError};
use bazaar_actors::checkout::{Challenge, FailureCode, Outcome, Step};
use bazaar_actors::fraud::FraudDecision;
use bazaar_actors::money::Money;
use bazaar_actors::order::CapturePolicy;

impl Run<'_> {
    /// Authorizes the total (primary provider, then the backup). Captured at placement,
    /// unless auth-only mode is on or the order is held for fraud review (`fraud` is
    /// `Review`): then at shipment. When an earlier attempt may have authorized elsewhere (a
    /// crash in mid-failover), the key is voided at the other providers, so one
    /// authorization stays.
    pub(super) async fn authorize(
        &self,
        (total, fraud, prefer): (Money, FraudDecision, Option<String>),
        attempt: Attempt,
    ) -> StepResult {
        let request = AuthorizeRequest {
            key: self.order.to_string(),
            // The order's entity id: the tenant first, so reconciliation can tell tenants apart.
            reference: self.order_key.clone(),
            amount: total,
            card: self.request.card.clone(),
            prefer,
        };
        match self.inner.payments.authorize(&request).await {
            Ok(authorization) => {
                // An earlier attempt (before a crash, or at a provider that failed over) may
                // hold an authorization elsewhere: voided durably at every other provider.
                let first = request.prefer.as_deref().or(self.inner.payments.preferred());
                let failed_over = first.is_some_and(|first| first != authorization.psp);
                if attempt.repeated || failed_over {
                    let (key, holder) = (&authorization.key, &authorization.psp);
                    match self.inner.payment_job.defer_void_except(key, holder).await {
                        Ok(Ok(())) => {}
                        Ok(Err(full)) => return Err(Retry::Refused(full.to_string())),
                        Err(error) => return Err(error.into()),
                    }
                }
                let capture =
                    if fraud == FraudDecision::Review || self.inner.payments.capture_deferred() {
                        CapturePolicy::AtShipment
                    } else {
                        CapturePolicy::AtPlacement
                    };
                Ok(Outcome::Authorized { authorization, capture })
            }
            Err(PaymentError::Declined { reason }) => {
                Ok(failed(Step::Authorize, FailureCode::PaymentDeclined, reason))
            }
            Err(PaymentError::Refused { detail }) => {
                Ok(failed(Step::Authorize, FailureCode::PaymentDeclined, detail))
            }
            Err(PaymentError::Unavailable { detail }) => {
                Ok(failed(Step::Authorize, FailureCode::PaymentUnavailable, detail))
            }
            Err(PaymentError::ChallengeRequired { psp, id, url }) => {
                let now_ms = self.engine().clock().now_ms();
                let expires_at_ms = now_ms.saturating_add(self.inner.config.challenge_timeout_ms);
                let challenge = Challenge { psp, id, url, expires_at_ms };
                Ok(Outcome::ChallengeRequired { challenge })
            }
        }
    }
}
