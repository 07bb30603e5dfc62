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

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::CONTENT_TYPE;
use hyper::{Request, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
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
        let request = match http_request(&target.base, path, body) {
            Ok(request) => request,
            // Nothing was sent.
            Err(detail) => return Attempt::Failed { detail, unknown: false },
        };
        let exchange = async {
            let response = self.inner.http.request(request).await.map_err(|error| {
                // Only a connection never made proves the provider did nothing.
                Attempt::Failed { detail: error_chain(&error), unknown: !error.is_connect() }
            })?;
            let status = response.status();
            match response.into_body().collect().await {
                Ok(body) => Ok((status, body.to_bytes())),
                Err(error) => Err(Attempt::Failed { detail: error_chain(&error), unknown: true }),
            }
        };
        let timeout = Duration::from_millis(self.inner.config.call_timeout_ms.max(1));
        let (status, body) = match tokio::time::timeout(timeout, exchange).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(failed)) => return failed,
            Err(_) => return Attempt::Failed { detail: "timed out".to_string(), unknown: true },
        };
        if status.is_success() {
            return match serde_json::from_slice::<T>(&body) {
                Ok(value) => Attempt::Reply(value),
                Err(error) => {
                    Attempt::Failed { detail: format!("unreadable answer: {error}"), unknown: true }
                }
            };
        }
        let text = String::from_utf8_lossy(&body);
        let detail = match serde_json::from_str::<wire::Problem>(&text) {
            Ok(problem) => format!("{} {}: {}", status.as_u16(), problem.code, problem.detail),
            Err(_) => format!("{} {}", status.as_u16(), text.chars().take(200).collect::<String>()),
        };
        let retryable = status.is_server_error()
            || status == StatusCode::REQUEST_TIMEOUT
            || status == StatusCode::TOO_MANY_REQUESTS;
        if retryable { Attempt::Failed { detail, unknown: true } } else { Attempt::Refused(detail) }
    }
}

/// The providers' HTTP client: hyper's pooled HTTP/1.1 client (keep-alive connections,
/// `TCP_NODELAY`), the part of a general client a call to a configured URL needs: no URL
/// parsing beyond the URI, no redirects, no proxy from the environment.
pub(super) type HttpClient = Client<HttpConnector, Full<Bytes>>;

pub(super) fn http_client(connect_timeout: Duration) -> HttpClient {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    connector.set_connect_timeout(Some(connect_timeout));
    Client::builder(TokioExecutor::new()).build(connector)
}

/// `POST` of `body` as JSON, or `GET` without one, to `base` + `path`.
fn http_request(
    base: &str,
    path: &str,
    body: Option<&impl Serialize>,
) -> Result<Request<Full<Bytes>>, String> {
    let uri = format!("{base}{path}");
    let request = match body {
        Some(body) => {
            let json = serde_json::to_vec(body).map_err(|error| format!("unwritable: {error}"))?;
            Request::post(uri).header(CONTENT_TYPE, "application/json").body(Full::from(json))
        }
        None => Request::get(uri).body(Full::default()),
    };
    request.map_err(|error| format!("bad request to {base}: {error}"))
}

/// An error with its causes, which hold what happened (`client error (Connect)` alone does not).
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
