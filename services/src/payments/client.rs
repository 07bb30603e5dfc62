//! [`Payments`]: the HTTP client of the payment providers, with preference order, failover,
//! per-provider retries and breakers, background voids and the auth-only switch.
//!
//! One call to one provider (attempts, backoff, breaker, reading the answer) is `call.rs`;
//! this file decides which providers to call and what their answers mean.
//!
//! No lock is held across an `.await`: breakers and the deferral rule sit behind std mutexes
//! taken for a few instructions.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::breaker::{Breaker, BreakerState};
use super::call::CallError;
use super::deferral::Deferral;
use super::wire::{self, AuthorizationStatus};
use super::{
    Authorization, AuthorizeRequest, Capture, PaymentError, PaymentsConfig, PaymentsMode,
    PaymentsStatus, ProviderStatus, Refund,
};
use crate::limits::BACKGROUND_VOID_ROUNDS_MAX;
use bazaar_actors::limits::{CHALLENGE_ID_BYTES_MAX, CHALLENGE_URL_BYTES_MAX};
use bazaar_actors::money::Money;

/// The payments client. Cheap to clone: everything is behind one `Arc`.
#[derive(Clone)]
pub struct Payments {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub(super) config: PaymentsConfig,
    pub(super) http: super::call::HttpClient,
    /// In configuration order; indices into this are how providers are named internally.
    pub(super) providers: Vec<Provider>,
    /// The index of the provider tried first.
    pub(super) preferred: AtomicUsize,
    pub(super) deferral: Mutex<Deferral>,
    /// The breakers' clock starts here.
    pub(super) epoch: Instant,
    /// SplitMix64 state for backoff jitter.
    pub(super) random: AtomicU64,
}

pub(super) struct Provider {
    pub(super) name: String,
    /// The configured URL without a trailing slash.
    pub(super) base: String,
    pub(super) breaker: Mutex<Breaker>,
    pub(super) calls: AtomicU64,
    pub(super) failures: AtomicU64,
}

pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The guarded values stay consistent at every instruction: a panic elsewhere leaves them
    // usable.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Payments {
    pub fn new(config: PaymentsConfig) -> Payments {
        let timeout = Duration::from_millis(config.call_timeout_ms.max(1));
        // Providers are called directly: their URLs are configuration, not the environment's.
        let http = super::call::http_client(timeout);
        let providers = config
            .providers
            .iter()
            .map(|provider| Provider {
                name: provider.name.clone(),
                base: provider.url.trim_end_matches('/').to_string(),
                breaker: Mutex::new(Breaker::new(config.breaker_failures, config.breaker_open_ms)),
                calls: AtomicU64::new(0),
                failures: AtomicU64::new(0),
            })
            .collect::<Vec<_>>();
        let deferral = Mutex::new(Deferral::new(providers.len()));
        let inner = Inner {
            config,
            http,
            providers,
            preferred: AtomicUsize::new(0),
            deferral,
            epoch: Instant::now(),
            random: AtomicU64::new(RandomState::new().hash_one(0u64)),
        };
        Payments { inner: Arc::new(inner) }
    }

    /// Tries providers in preference order, skipping those whose breaker is open; per provider
    /// retries with the same key and capped exponential backoff (with jitter) on timeout, 5xx
    /// or connection errors; a decline is final (no failover). After an answer at a provider,
    /// spawns a best-effort void of `request.key` at every provider tried before whose
    /// outcome is unknown, so at most one provider keeps an authorization.
    ///
    /// A provider answering that the key is voided there is passed over: a retry after a
    /// failover meets the background void at the first provider and must still find the
    /// authorization the next one holds. When every provider answered and none holds it, the
    /// answer is `Refused` (the key was voided, a compensation ran); when some provider did not
    /// answer, `Unavailable`.
    pub async fn authorize(
        &self,
        request: &AuthorizeRequest,
    ) -> Result<Authorization, PaymentError> {
        let body = wire::AuthorizeBody {
            key: request.key.clone(),
            reference: request.reference.clone(),
            amount_minor: request.amount.minor,
            currency: request.amount.currency,
            card: request.card.clone(),
        };
        let mut unknown = Vec::new();
        let mut failures = Vec::new();
        let mut voided = Vec::new();
        let mut order = self.order();
        if let Some(at) = request
            .prefer
            .as_ref()
            .and_then(|name| order.iter().position(|&i| self.inner.providers[i].name == *name))
        {
            let first = order.remove(at);
            order.insert(0, first);
        }
        for provider in order {
            let result = self.call(provider, wire::AUTHORIZATIONS_PATH, Some(&body)).await;
            let reply: wire::AuthorizationReply = match result {
                Ok(reply) => reply,
                Err(CallError::Unavailable { detail, unknown: maybe_acted }) => {
                    if maybe_acted {
                        unknown.push(provider);
                    }
                    failures.push(detail);
                    continue;
                }
                Err(CallError::Refused(detail)) => {
                    self.void_in_background(&unknown, &request.key);
                    return Err(PaymentError::Refused { detail });
                }
            };
            if reply.status == AuthorizationStatus::Voided {
                voided.push(self.inner.providers[provider].name.as_str());
                continue;
            }
            self.void_in_background(&unknown, &request.key);
            return self.authorization(provider, request, reply);
        }
        let voided_detail =
            || format!("authorization key {:?} is voided at {}", request.key, voided.join(", "));
        if failures.is_empty() && voided.is_empty() {
            let detail = "no payment provider is configured".to_string();
            return Err(PaymentError::Unavailable { detail });
        }
        if failures.is_empty() {
            return Err(PaymentError::Refused { detail: voided_detail() });
        }
        if !voided.is_empty() {
            failures.push(voided_detail());
        }
        Err(PaymentError::Unavailable { detail: failures.join("; ") })
    }

    /// The outcome of an answered authorization at `provider`.
    fn authorization(
        &self,
        provider: usize,
        request: &AuthorizeRequest,
        reply: wire::AuthorizationReply,
    ) -> Result<Authorization, PaymentError> {
        let psp = &self.inner.providers[provider].name;
        let answered = Money::new(reply.amount_minor, reply.currency);
        if reply.key != request.key || answered != request.amount {
            return Err(PaymentError::Refused {
                detail: format!("{psp} answered key {:?} for {answered}", reply.key),
            });
        }
        match reply.status {
            AuthorizationStatus::Authorized => Ok(Authorization {
                psp: psp.clone(),
                id: reply.id,
                key: reply.key,
                amount: request.amount,
            }),
            AuthorizationStatus::Declined => Err(PaymentError::Declined {
                reason: reply.decline_reason.unwrap_or_else(|| "declined".to_string()),
            }),
            AuthorizationStatus::Voided => Err(PaymentError::Refused {
                detail: format!("authorization key {:?} was voided at {psp}", request.key),
            }),
            AuthorizationStatus::ChallengeRequired => {
                let named = reply.challenge.filter(|challenge| {
                    (1..=CHALLENGE_ID_BYTES_MAX).contains(&challenge.id.len())
                        && (1..=CHALLENGE_URL_BYTES_MAX - self.inner.providers[provider].base.len())
                            .contains(&challenge.url.len())
                });
                let Some(challenge) = named else {
                    let detail = format!("{psp} asked for a challenge without a usable one");
                    return Err(PaymentError::Refused { detail });
                };
                // The issuer's page, as the provider named it (relative to the provider).
                let url = match challenge.url.starts_with('/') {
                    true => format!("{}{}", self.inner.providers[provider].base, challenge.url),
                    false => challenge.url,
                };
                Err(PaymentError::ChallengeRequired { psp: psp.clone(), id: challenge.id, url })
            }
        }
    }

    /// At `authorization.psp` only (captures happen where the money is held), retried like
    /// [`Payments::authorize`]. Its outcome feeds the automatic auth-only rule.
    pub async fn capture(
        &self,
        authorization: &Authorization,
        key: &str,
        amount: Money,
    ) -> Result<Capture, PaymentError> {
        let provider = self.holder(authorization, amount)?;
        let body = wire::CaptureBody {
            key: key.to_string(),
            authorization_key: authorization.key.clone(),
            amount_minor: amount.minor,
        };
        let result = self.call::<wire::CaptureReply>(provider, wire::CAPTURES_PATH, Some(&body));
        let result = result.await;
        let answered = !matches!(result, Err(CallError::Unavailable { .. }));
        let auto_before = self.auto_deferred();
        lock(&self.inner.deferral).record_capture(provider, answered);
        let auto_after = self.auto_deferred();
        if auto_before != auto_after {
            tracing::warn!(auth_only = auto_after, "automatic capture deferral changed");
        }
        let reply = result.map_err(CallError::into_payment_error)?;
        Ok(Capture { psp: authorization.psp.clone(), id: reply.id, key: reply.key, amount })
    }

    /// Voids the authorization made under `authorization_key` at every provider (tombstoning
    /// where none exists), so a compensation is right even when it is unknown which provider
    /// authorized. Ok when every provider answered. While some provider is unavailable the
    /// answer is `Unavailable` (retry the void: it is idempotent), even if another refused;
    /// once all answered, a refusal (the authorization was captured) is `Refused`.
    pub async fn void(&self, authorization_key: &str) -> Result<(), PaymentError> {
        self.void_at(authorization_key, None).await
    }

    /// [`Payments::void`] at every provider but `holder` (which holds the authorization the
    /// order keeps): what an earlier attempt may have left elsewhere.
    pub async fn void_except(
        &self,
        authorization_key: &str,
        holder: &str,
    ) -> Result<(), PaymentError> {
        self.void_at(authorization_key, Some(holder)).await
    }

    async fn void_at(
        &self,
        authorization_key: &str,
        holder: Option<&str>,
    ) -> Result<(), PaymentError> {
        let mut tasks = tokio::task::JoinSet::new();
        for provider in 0..self.inner.providers.len() {
            if holder.is_some_and(|holder| self.inner.providers[provider].name == holder) {
                continue;
            }
            let this = self.clone();
            let body = wire::VoidBody { authorization_key: authorization_key.to_string() };
            tasks.spawn(async move {
                this.call::<wire::VoidReply>(provider, wire::VOIDS_PATH, Some(&body)).await
            });
        }
        let (mut unavailable, mut refused) = (Vec::new(), Vec::new());
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok(Ok(_)) => {}
                Ok(Err(CallError::Refused(detail))) => refused.push(detail),
                Ok(Err(CallError::Unavailable { detail, .. })) => unavailable.push(detail),
                Err(error) => unavailable.push(format!("void task failed: {error}")),
            }
        }
        if !unavailable.is_empty() {
            return Err(PaymentError::Unavailable { detail: unavailable.join("; ") });
        }
        if !refused.is_empty() {
            return Err(PaymentError::Refused { detail: refused.join("; ") });
        }
        Ok(())
    }

    /// Gives back `amount` of what was captured, at `authorization.psp` only.
    pub async fn refund(
        &self,
        authorization: &Authorization,
        key: &str,
        amount: Money,
    ) -> Result<Refund, PaymentError> {
        let provider = self.holder(authorization, amount)?;
        let body = wire::RefundBody {
            key: key.to_string(),
            authorization_key: authorization.key.clone(),
            amount_minor: amount.minor,
        };
        let reply = self
            .call::<wire::RefundReply>(provider, wire::REFUNDS_PATH, Some(&body))
            .await
            .map_err(CallError::into_payment_error)?;
        Ok(Refund { psp: authorization.psp.clone(), id: reply.id, key: reply.key, amount })
    }

    /// Whether captures are deferred to shipment now: the operator switched auth-only mode
    /// on, or it engaged by itself because every provider's breaker is open or its last
    /// capture was unavailable (and disengages when a capture is answered again).
    pub fn capture_deferred(&self) -> bool {
        lock(&self.inner.deferral).deferred(&self.breakers_open())
    }

    pub fn set_auth_only(&self, on: bool) {
        lock(&self.inner.deferral).set_manual(on);
        tracing::info!(auth_only = on, "auth-only mode switched by the operator");
    }

    /// Operator failover: put the named provider first. Err if unknown.
    pub fn prefer(&self, name: &str) -> Result<(), PaymentError> {
        let index = self.index(name)?;
        self.inner.preferred.store(index, Ordering::Relaxed);
        tracing::info!(psp = name, "preferred payment provider switched by the operator");
        Ok(())
    }

    pub fn status(&self) -> PaymentsStatus {
        let now = self.now_ms();
        let (manual, auto) = {
            let deferral = lock(&self.inner.deferral);
            (deferral.manual(), deferral.auto(&self.breakers_open()))
        };
        let preferred = self.order().first().map(|&i| self.inner.providers[i].name.clone());
        let providers = self
            .inner
            .providers
            .iter()
            .map(|provider| {
                let breaker = lock(&provider.breaker);
                ProviderStatus {
                    name: provider.name.clone(),
                    url: provider.base.clone(),
                    breaker: breaker.state(now),
                    consecutive_failures: breaker.consecutive_failures(),
                    calls: provider.calls.load(Ordering::Relaxed),
                    failures: provider.failures.load(Ordering::Relaxed),
                }
            })
            .collect();
        PaymentsStatus {
            mode: if manual || auto { PaymentsMode::AuthOnly } else { PaymentsMode::Normal },
            auth_only_manual: manual,
            auth_only_auto: auto,
            preferred: preferred.unwrap_or_default(),
            providers,
        }
    }

    /// Every provider's settlement report, in configuration order (for reconciliation).
    /// Err naming the provider that did not answer.
    pub async fn settlement(&self) -> Result<Vec<wire::SettlementReport>, PaymentError> {
        let mut reports = Vec::with_capacity(self.inner.providers.len());
        for provider in 0..self.inner.providers.len() {
            let report = self
                .call::<wire::SettlementReport>(provider, wire::SETTLEMENT_PATH, None::<&()>)
                .await
                .map_err(CallError::into_payment_error)?;
            reports.push(report);
        }
        Ok(reports)
    }

    /// Every provider's disputes, with its name; a provider that does not answer is skipped
    /// (asked again at the next poll).
    pub async fn disputes(&self) -> Vec<(String, wire::Dispute)> {
        let mut all = Vec::new();
        for (at, provider) in self.inner.providers.iter().enumerate() {
            match self.call::<Vec<wire::Dispute>>(at, wire::DISPUTES_PATH, None::<&()>).await {
                Ok(disputes) => {
                    all.extend(disputes.into_iter().map(|d| (provider.name.clone(), d)))
                }
                Err(error) => {
                    let error = error.into_payment_error();
                    tracing::warn!(psp = provider.name, %error, "disputes not listed");
                }
            }
        }
        all
    }

    /// How often to ask for disputes.
    pub fn dispute_poll(&self) -> Duration {
        Duration::from_millis(self.inner.config.dispute_poll_ms.max(100))
    }

    /// Provider indices, the preferred one first, then the others in configuration order.
    /// The name of the provider tried first, if any is configured.
    pub fn preferred(&self) -> Option<&str> {
        let first = self.inner.preferred.load(Ordering::Relaxed);
        self.inner.providers.get(first).map(|provider| provider.name.as_str())
    }

    fn order(&self) -> Vec<usize> {
        let count = self.inner.providers.len();
        let first = self.inner.preferred.load(Ordering::Relaxed);
        std::iter::once(first)
            .chain((0..count).filter(|&i| i != first))
            .filter(|&i| i < count)
            .collect()
    }

    fn index(&self, name: &str) -> Result<usize, PaymentError> {
        self.inner.providers.iter().position(|provider| provider.name == name).ok_or_else(|| {
            PaymentError::Refused { detail: format!("unknown payment provider {name:?}") }
        })
    }

    /// The provider holding `authorization`, refusing an amount in another currency.
    fn holder(&self, authorization: &Authorization, amount: Money) -> Result<usize, PaymentError> {
        if amount.currency != authorization.amount.currency {
            return Err(PaymentError::Refused {
                detail: format!("{amount} is not in the authorization's currency"),
            });
        }
        self.index(&authorization.psp)
    }

    pub(super) fn now_ms(&self) -> u64 {
        u64::try_from(self.inner.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn breakers_open(&self) -> Vec<bool> {
        let now = self.now_ms();
        let open = |provider: &Provider| lock(&provider.breaker).state(now) == BreakerState::Open;
        self.inner.providers.iter().map(open).collect()
    }

    fn auto_deferred(&self) -> bool {
        lock(&self.inner.deferral).auto(&self.breakers_open())
    }

    /// Voids `key` at each of `providers` in the background, a few rounds at most.
    fn void_in_background(&self, providers: &[usize], key: &str) {
        for &provider in providers {
            let this = self.clone();
            let body = wire::VoidBody { authorization_key: key.to_string() };
            tokio::spawn(async move { this.void_until_answered(provider, body).await });
        }
    }

    async fn void_until_answered(self, provider: usize, body: wire::VoidBody) {
        let config = &self.inner.config;
        let pause = Duration::from_millis(config.breaker_open_ms.max(config.backoff_max_ms));
        let psp = &self.inner.providers[provider].name;
        for round in 1..=BACKGROUND_VOID_ROUNDS_MAX {
            match self.call::<wire::VoidReply>(provider, wire::VOIDS_PATH, Some(&body)).await {
                Ok(reply) => {
                    tracing::info!(psp, key = body.authorization_key, status = ?reply.status, "voided where the outcome was unknown");
                    return;
                }
                Err(CallError::Refused(detail)) => {
                    tracing::warn!(
                        psp,
                        key = body.authorization_key,
                        detail,
                        "background void refused"
                    );
                    return;
                }
                Err(CallError::Unavailable { detail, .. })
                    if round < BACKGROUND_VOID_ROUNDS_MAX =>
                {
                    tracing::debug!(psp, detail, round, "background void unavailable, will retry");
                    tokio::time::sleep(pause).await;
                }
                Err(CallError::Unavailable { detail, .. }) => {
                    tracing::warn!(
                        psp,
                        key = body.authorization_key,
                        detail,
                        "background void gave up; reconcile this key"
                    );
                }
            }
        }
    }
}
