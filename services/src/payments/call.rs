//! One call to one payment provider: attempts with the same body (so the same idempotency
//! key), a capped, jittered backoff between them, each attempt bounded by `call_timeout_ms`
//! and allowed only while the provider's breaker lets it through.
//!
//! How an attempt's answer is read: a 2xx is the answer; any other 4xx is a refusal no retry
//! fixes (it closes the breaker: the provider is alive); a timeout, a connection failure, a
//! 5xx, a 408 or a 429 is a failure that counts against the breaker and is retried. Whether a
//! failure leaves the outcome unknown (the provider may have acted) matters to `authorize`:
//! only a connection that was never made proves nothing happened.

use std::sync::atomic::Ordering;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::breaker::{BreakerState, backoff_ms};
use super::client::{Payments, Provider, lock};
use super::{PaymentError, wire};

/// How the attempts at one provider ended without a 2xx.
pub(super) enum CallError {
    /// A 4xx: the provider answered, and no retry changes the answer.
    Refused(String),
    /// No answer. `unknown`: some attempt may have been acted on (timeout, 5xx, a reply lost
    /// after the request was sent).
    Unavailable { detail: String, unknown: bool },
}

impl CallError {
    pub(super) fn into_payment_error(self) -> PaymentError {
        match self {
            CallError::Refused(detail) => PaymentError::Refused { detail },
            CallError::Unavailable { detail, .. } => PaymentError::Unavailable { detail },
        }
    }
}

/// How one HTTP attempt ended.
enum Attempt<T> {
    Reply(T),
    Refused(String),
    Failed { detail: String, unknown: bool },
}

impl Payments {
    /// A SplitMix64 output: statistically fine for jitter, shared without a lock.
    fn random(&self) -> u64 {
        const GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut z = self.inner.random.fetch_add(GAMMA, Ordering::Relaxed).wrapping_add(GAMMA);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// One call to `provider`: attempts with the same body and backoff, within its breaker.
    pub(super) async fn call<T: DeserializeOwned>(
        &self,
        provider: usize,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> Result<T, CallError> {
        let config = &self.inner.config;
        let target = &self.inner.providers[provider];
        let mut unknown = false;
        let mut last = "circuit breaker open".to_string();
        let mut attempted = false;
        for attempt in 1..=config.attempts_per_provider.max(1) {
            if attempt > 1 {
                if lock(&target.breaker).state(self.now_ms()) == BreakerState::Open {
                    break;
                }
                let random = self.random();
                let pause =
                    backoff_ms(attempt - 1, config.backoff_base_ms, config.backoff_max_ms, random);
                tokio::time::sleep(Duration::from_millis(pause)).await;
            }
            if !lock(&target.breaker).try_acquire(self.now_ms()) {
                break;
            }
            attempted = true;
            target.calls.fetch_add(1, Ordering::Relaxed);
            match self.attempt(target, path, body).await {
                Attempt::Reply(value) => {
                    lock(&target.breaker).record_success();
                    return Ok(value);
                }
                Attempt::Refused(detail) => {
                    lock(&target.breaker).record_success();
                    return Err(CallError::Refused(format!("{}: {detail}", target.name)));
                }
                Attempt::Failed { detail, unknown: maybe_acted } => {
                    target.failures.fetch_add(1, Ordering::Relaxed);
                    let now = self.now_ms();
                    let opened = {
                        let mut breaker = lock(&target.breaker);
                        let before = breaker.state(now);
                        breaker.record_failure(now);
                        before != BreakerState::Open && breaker.state(now) == BreakerState::Open
                    };
                    if opened {
                        tracing::warn!(
                            psp = target.name,
                            detail,
                            "payment provider breaker opened"
                        );
                    }
                    unknown |= maybe_acted;
                    last = detail;
                }
            }
        }
        if attempted {
            tracing::warn!(psp = target.name, path, detail = last, "payment provider unavailable");
        } else {
            tracing::debug!(psp = target.name, path, "payment provider skipped, breaker open");
        }
        Err(CallError::Unavailable { detail: format!("{}: {last}", target.name), unknown })
    }

    async fn attempt<T: DeserializeOwned>(
        &self,
        target: &Provider,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> Attempt<T> {
        let url = format!("{}{path}", target.base);
        let request = match body {
            Some(body) => self.inner.http.post(url).json(body),
            None => self.inner.http.get(url),
        };
        let timeout = Duration::from_millis(self.inner.config.call_timeout_ms.max(1));
        let response = match request.timeout(timeout).send().await {
            Ok(response) => response,
            Err(error) => {
                // Only a connection never made proves the provider did nothing.
                let unknown = !error.is_connect();
                let detail =
                    if error.is_timeout() { "timed out".to_string() } else { format!("{error}") };
                return Attempt::Failed { detail, unknown };
            }
        };
        let status = response.status();
        if status.is_success() {
            return match response.json::<T>().await {
                Ok(value) => Attempt::Reply(value),
                Err(error) => {
                    Attempt::Failed { detail: format!("unreadable answer: {error}"), unknown: true }
                }
            };
        }
        let text = response.text().await.unwrap_or_default();
        let detail = match serde_json::from_str::<wire::Problem>(&text) {
            Ok(problem) => format!("{} {}: {}", status.as_u16(), problem.code, problem.detail),
            Err(_) => format!("{} {}", status.as_u16(), text.chars().take(200).collect::<String>()),
        };
        let retryable = status.is_server_error()
            || status == reqwest::StatusCode::REQUEST_TIMEOUT
            || status == reqwest::StatusCode::TOO_MANY_REQUESTS;
        if retryable { Attempt::Failed { detail, unknown: true } } else { Attempt::Refused(detail) }
    }
}
