//! Payments: Bazaar's client of its payment providers (PSPs), with failover, retries,
//! circuit breakers and the auth-only (capture deferral) mode. The checkout saga calls
//! [`Payments`]; the simulator a test or `bazaar sim` talks to is `bazaar psp`, speaking the
//! [`wire`] API.
//!
//! This module does I/O (HTTP over hyper, tokio timers and tasks). It is not part of the
//! pure domain; its pure pieces are [`breaker`] and [`deferral`].
//!
//! Invariants kept:
//! - Every call to a provider carries an idempotency key, and every retry of it reuses that
//!   key, so a retry never moves money twice; a provider answers a key's first answer forever.
//! - A decline is final: it is never retried nor failed over, so a card refused at one
//!   provider is not tried at another.
//! - At most one provider keeps an authorization for a key: after a success at one, a void of
//!   the key is sent (in the background) to every provider tried before whose outcome is
//!   unknown (timeout, 5xx). A void that overtakes a slow authorization tombstones the key at
//!   that provider, so the late authorization is answered `voided`. [`Payments::void`] voids
//!   at every provider, so a compensation is right even when it is unknown who authorized.
//! - Captures and refunds go only to the provider holding the authorization.
//! - Every call is bounded: `call_timeout_ms` per attempt, `attempts_per_provider` attempts
//!   with capped exponential backoff, and a provider whose breaker is open is not called.
//! - What a call returns ([`Authorization`], [`Capture`], [`Refund`], [`PaymentError`]) and
//!   the providers' wire API are domain types (`bazaar_actors::payment`): orders and
//!   checkouts journal them.

pub mod breaker;
mod call;
mod client;
pub mod deferral;

use serde::{Deserialize, Serialize};

pub use self::breaker::BreakerState;
pub use self::client::Payments;
use crate::limits::PROVIDER_NAME_BYTES_MAX;
use bazaar_actors::money::Money;
pub use bazaar_actors::payment::{Authorization, Capture, PaymentError, Refund, wire};

/// The `[payments]` section of `cluster.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PaymentsConfig {
    /// In preference order: the first is tried first.
    pub providers: Vec<ProviderConfig>,
    /// Longest one HTTP attempt may take, connection included.
    pub call_timeout_ms: u64,
    /// Attempts at one provider before failing over to the next (at least 1).
    pub attempts_per_provider: u32,
    /// The first retry's pause; each further retry doubles it, up to `backoff_max_ms`.
    pub backoff_base_ms: u64,
    pub backoff_max_ms: u64,
    /// Consecutive failures (timeouts, connection errors, 5xx) that open a provider's breaker.
    pub breaker_failures: u32,
    /// How long an open breaker keeps calls away before letting one probe through.
    pub breaker_open_ms: u64,
    /// How often the providers are asked for the disputes they settled (chargebacks).
    pub dispute_poll_ms: u64,
}

impl Default for PaymentsConfig {
    fn default() -> PaymentsConfig {
        PaymentsConfig {
            providers: Vec::new(),
            call_timeout_ms: 2_000,
            attempts_per_provider: 3,
            backoff_base_ms: 50,
            backoff_max_ms: 500,
            breaker_failures: 5,
            breaker_open_ms: 5_000,
            dispute_poll_ms: 5_000,
        }
    }
}

impl PaymentsConfig {
    /// Checks what serde cannot: unique non-empty names, plain `http://` URLs the client can
    /// call, non-zero bounds.
    pub fn validate(&self) -> Result<(), String> {
        for (i, provider) in self.providers.iter().enumerate() {
            if provider.name.is_empty() || provider.name.len() > PROVIDER_NAME_BYTES_MAX {
                return Err(format!(
                    "payments.providers[{i}].name must be 1 to {PROVIDER_NAME_BYTES_MAX} bytes"
                ));
            }
            if self.providers[..i].iter().any(|earlier| earlier.name == provider.name) {
                return Err(format!("payments provider {:?} is listed twice", provider.name));
            }
            // The client speaks plain HTTP/1.1 (`call.rs`: no TLS is built in, as the
            // simulators and a sidecar in front of a real provider need none): a URL it could
            // not call is refused here, at start, not at every checkout.
            let uri = provider.url.parse::<hyper::Uri>();
            if !uri.is_ok_and(|uri| uri.scheme_str() == Some("http") && uri.host().is_some()) {
                return Err(format!(
                    "payments provider {:?}: url must be http://host[:port][/path]",
                    provider.name
                ));
            }
        }
        if self.call_timeout_ms == 0 || self.attempts_per_provider == 0 {
            return Err("payments.call_timeout_ms and attempts_per_provider must be > 0".into());
        }
        if self.breaker_failures == 0 || self.backoff_base_ms > self.backoff_max_ms {
            return Err("payments.breaker_failures must be > 0, backoff_base_ms <= max".into());
        }
        Ok(())
    }
}

/// One payment provider: a name (recorded on authorizations) and its base URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    pub name: String,
    /// Without a trailing slash, e.g. `http://127.0.0.1:9100`.
    pub url: String,
}

/// What the checkout asks to hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizeRequest {
    /// The idempotency key; also the key [`Payments::void`] takes to compensate.
    pub key: String,
    /// The merchant reference (the order id), kept on the provider's record.
    pub reference: String,
    pub amount: Money,
    /// The card token.
    pub card: String,
    /// A provider to ask first (the one whose challenge the customer answered), if any.
    pub prefer: Option<String>,
}

/// Whether captures are taken at checkout or deferred to shipment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentsMode {
    Normal,
    AuthOnly,
}

/// What [`Payments::status`] reports, for the operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentsStatus {
    pub mode: PaymentsMode,
    pub auth_only_manual: bool,
    pub auth_only_auto: bool,
    /// The name of the provider tried first; empty when none is configured.
    pub preferred: String,
    /// In configuration order.
    pub providers: Vec<ProviderStatus>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderStatus {
    pub name: String,
    pub url: String,
    pub breaker: BreakerState,
    pub consecutive_failures: u32,
    /// HTTP attempts made since start.
    pub calls: u64,
    /// Attempts that failed (timeout, connection error, 5xx) since start.
    pub failures: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_defaults_and_validation() {
        let config: PaymentsConfig = serde_json::from_str(
            r#"{"providers": [{"name": "a", "url": "http://127.0.0.1:1"}],
                "attempts_per_provider": 2}"#,
        )
        .unwrap();
        assert_eq!(config.attempts_per_provider, 2);
        assert_eq!(config.call_timeout_ms, 2_000);
        assert_eq!(config.providers.len(), 1);
        assert_eq!(config.validate(), Ok(()));
        let mut twice = config.clone();
        twice.providers.push(twice.providers[0].clone());
        assert!(twice.validate().is_err());
        for url in ["127.0.0.1:1", "https://psp.example", "http://", "http://a b", "ftp://psp"] {
            let mut bad_url = config.clone();
            bad_url.providers[0].url = url.into();
            assert!(bad_url.validate().is_err(), "{url}");
        }
        assert!(PaymentsConfig::default().providers.is_empty());
        assert!(serde_json::from_str::<PaymentsConfig>(r#"{"retries": 1}"#).is_err());
    }
}
