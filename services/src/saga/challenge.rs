//! 3-D Secure challenges: a runner waits for the customer to authenticate (or for the
//! challenge's deadline), and the customer's answer wakes it.
//!
//! Invariants:
//! - The challenge's deadline holds whoever comes first: the entity refuses to expire an
//!   answered challenge and fails an answer past the deadline (`bazaar_actors::checkout`).
//! - A runner never waits longer than [`CHALLENGE_POLL`] without reading its saga, so an
//!   answer recorded while no runner watched (or on another node) is seen.
//! - No lock is held across an `.await`.

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::{BeginError, Sagas};
use bazaar_actors::checkout::{
    Challenge, Checkout, CheckoutCommand, CheckoutReply, CheckoutStatus, CheckoutView, NextStep,
};

/// Longest a runner waiting for a challenge's answer goes without reading its saga again
/// (an answer recorded while no runner watched, or on another node), and its longest pause
/// after a failed read.
const CHALLENGE_POLL: Duration = Duration::from_secs(5);

impl Sagas {
    /// Waits for the customer to answer `challenge`: woken through this runner's watch by
    /// the answer, and reading the saga at least every [`CHALLENGE_POLL`] (an answer recorded
    /// while it did not watch). At the deadline it sends `ExpireChallenge`, which the entity
    /// refuses to act on once the customer answered. The saga as it stands after, or `None`
    /// when the node stops.
    pub(super) async fn await_challenge(
        &self,
        id: &str,
        challenge: &Challenge,
    ) -> Option<CheckoutReply> {
        let engine = &self.inner.engine;
        let mut pause = Duration::from_millis(50);
        loop {
            if self.inner.stopping.load(Ordering::Relaxed) {
                return None;
            }
            // Watching before reading: an answer after the read wakes the wait below.
            let watching = self.inner.running.get(id).map(|running| running.subscribe());
            let now_ms = engine.clock().now_ms();
            let command = match now_ms >= challenge.expires_at_ms {
                true => CheckoutCommand::ExpireChallenge,
                false => CheckoutCommand::Get,
            };
            match engine.ask::<Checkout>(id, command).await {
                Ok(Ok(reply))
                    if !matches!(reply.saga.next(), Some(NextStep::AwaitChallenge { .. })) =>
                {
                    return Some(reply);
                }
                Ok(Ok(_)) => pause = Duration::from_millis(50),
                Ok(Err(_)) => return None,
                Err(error) => {
                    tracing::warn!(checkout = %id, %error, "reading a checkout that waits for its challenge");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(CHALLENGE_POLL);
                    continue;
                }
            }
            let left = Duration::from_millis(challenge.expires_at_ms.saturating_sub(now_ms));
            let wait = left.min(CHALLENGE_POLL);
            match watching {
                Some(mut watching) => {
                    let answered = |view: &CheckoutView| {
                        !matches!(view.status, CheckoutStatus::ChallengeRequired(_))
                    };
                    let _ = tokio::time::timeout(wait, watching.wait_for(answered)).await;
                }
                None => tokio::time::sleep(wait).await,
            }
        }
    }

    /// Records the customer's answer to the challenge checkout `id` waits for, wakes its
    /// runner (or starts one), and waits up to `wait` for the saga to go on from it, reading
    /// the checkout itself (a runner's watch may still show the challenge it answered): the
    /// view once it completed, failed or was challenged again, else as it stands.
    pub async fn answer_challenge(
        &self,
        id: &str,
        wait: Duration,
    ) -> Result<CheckoutView, BeginError> {
        let engine = &self.inner.engine;
        let reply = engine.ask::<Checkout>(id, CheckoutCommand::AnswerChallenge).await??;
        if let Some(running) = self.inner.running.get(id) {
            running.send_replace(reply.checkout.clone());
        }
        let mut view = reply.checkout.clone();
        self.wait(id, reply, Duration::ZERO).await;
        let deadline = tokio::time::Instant::now() + wait;
        let mut pause = Duration::from_millis(10);
        while matches!(view.status, CheckoutStatus::Running { .. }) {
            if tokio::time::Instant::now() + pause > deadline {
                break;
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(200));
            view = engine.ask::<Checkout>(id, CheckoutCommand::Get).await??.checkout;
        }
        Ok(view)
    }
}
