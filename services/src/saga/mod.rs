//! Runs checkout sagas: performs each step the checkout entity names, with the facts it
//! gives (a [`NextStep`], read from the saga's state its replies carry), and records the
//! outcomes there (`Reserved` with `Scored`, in one ask; the others as they come). The
//! entity (`bazaar_actors::checkout`) orders the steps; this module only performs them.
//!
//! Where things are: `runner.rs` drives sagas (begin, wait, resume, retries, recording);
//! `recording.rs` says when each outcome is recorded; `challenge.rs` waits for a customer's
//! 3-D Secure answer;
//! one file per step group performs the steps (`price.rs`, `reserve.rs` with `sourcing.rs`
//! (where each line ships from), `fraud.rs`,
//! `pay.rs`, `place.rs` with commit and plan, `compensate.rs`); `payment_job.rs` settles
//! placed orders' payments. This file holds the configuration, the metrics and what every
//! step shares (`Run`, `Retry`).
//!
//! Invariants:
//! - A step returns a business outcome (recorded, it may fail the saga) or a passing failure
//!   (`Retry`, tried again with capped backoff); nothing else.
//! - Every effect a step has outside the saga carries an id derived from the saga's key (the
//!   order id, reservation ids, the providers' idempotency key), so a repeated step acts once.
//! - A step reads the saga only through the request and the [`NextStep`] it is given, which
//!   carries every fact that step needs: a fact the saga lacks cannot be asked for, so no step
//!   waits or retries on one.
//!
//! [`NextStep`]: bazaar_actors::checkout::NextStep

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use bazaar_engine::{Engine, EngineError};
use dashmap::DashMap;
use serde::Deserialize;
use tokio::sync::watch;

use crate::catalog::Catalog;
use crate::orders::OrderBook;
use crate::payments::Payments;
use bazaar_actors::checkout::{CheckoutRequest, CheckoutView, Failure, FailureCode, Outcome, Step};
use bazaar_actors::fraud::FraudPolicy;
use bazaar_actors::fulfilment::Zones;
use bazaar_actors::order::OrderId;
use bazaar_actors::order::promise::DeliveryTerms;
use bazaar_actors::pricing::{CountryCode, VatTable};

mod challenge;
mod compensate;
mod fraud;
mod pay;
mod payment_job;
mod place;
mod price;
mod recording;
mod reserve;
mod runner;
mod sourcing;

pub use payment_job::{PaymentJob, VOID_QUEUE};
pub use runner::{BeginError, Sagas};

/// Describes the sagas' and the payment job's metrics (once, at start).
pub fn describe_metrics() {
    use metrics::{Unit, describe_counter, describe_histogram};
    describe_counter!(
        "checkout_sagas_total",
        "checkout sagas finished, by outcome and failure code"
    );
    describe_histogram!(
        "checkout_saga_seconds",
        Unit::Seconds,
        "checkout saga duration, begin to end"
    );
    describe_counter!("checkout_step_retries_total", "saga steps retried after a passing failure");
    describe_counter!(
        "payment_job_actions_total",
        "payments captured, refunded or voided, and cancelled orders restocked, by the payment job"
    );
}

/// How a node runs checkouts (`[checkout]` in the cluster configuration).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SagasConfig {
    /// How long a checkout's reservations last: long enough for any saga to finish.
    pub hold_ttl_ms: u64,
    /// The marketplace's commission on each line's net, in basis points.
    pub commission_bps: u16,
    /// Business days a parcel travels, after the offer's handling days, for the promise
    /// (`bazaar_actors::order::promise`); per destination country in
    /// `[checkout.transit_days_by_country]`, this for the others.
    pub transit_days: u8,
    pub transit_days_by_country: std::collections::BTreeMap<String, u8>,
    /// The locations' daily cut-off (UTC hour, 0 to 24; 24: none): an order placed after it
    /// is handled from the next business day; per location in
    /// `[checkout.cutoff_hour_by_location]`, this for the others.
    pub cutoff_hour_utc: u8,
    pub cutoff_hour_by_location: std::collections::BTreeMap<String, u8>,
    /// How long a checkout waits for the customer to complete a 3-D Secure challenge before
    /// it fails `challenge_abandoned` (voiding the payment, releasing the holds). At most half
    /// of `hold_ttl_ms`, so the holds outlive the wait.
    pub challenge_timeout_ms: u64,
    /// Longest pause between two attempts of a step that failed for a passing reason.
    pub retry_max_ms: u64,
    /// Sagas running at once in this process: a new checkout past it is refused with
    /// `checkouts_busy` (a retry of one begun is answered), and a start resumes unfinished
    /// ones no faster than they make room.
    pub running_max: usize,
    /// Fraud thresholds and points (`[checkout.fraud]`).
    pub fraud: FraudPolicy,
    /// Where locations and destinations are, and the transit days between their zones
    /// (`[checkout.zones]`): lines ship from the nearest location with stock, and each
    /// shipment is promised by its own transit. Without zones every location is as near.
    pub zones: Zones,
}

impl Default for SagasConfig {
    fn default() -> SagasConfig {
        SagasConfig {
            hold_ttl_ms: 30 * 60 * 1000,
            commission_bps: 1500,
            transit_days: 2,
            transit_days_by_country: std::collections::BTreeMap::new(),
            cutoff_hour_utc: 14,
            cutoff_hour_by_location: std::collections::BTreeMap::new(),
            challenge_timeout_ms: 10 * 60 * 1000,
            retry_max_ms: 5000,
            running_max: crate::limits::SAGAS_RUNNING_MAX,
            fraud: FraudPolicy::default(),
            zones: Zones::default(),
        }
    }
}

impl SagasConfig {
    /// Checks what serde cannot.
    pub fn validate(&self) -> Result<(), String> {
        let ttl_max = bazaar_actors::limits::RESERVATION_TTL_MS_MAX;
        if self.hold_ttl_ms < 60_000 || self.hold_ttl_ms > ttl_max {
            return Err(format!("checkout.hold_ttl_ms must be 60000 to {ttl_max}"));
        }
        if self.commission_bps > 10_000 {
            return Err("checkout.commission_bps is at most 10000 (100 %)".into());
        }
        if self.cutoff_hour_utc > 24 {
            return Err("checkout.cutoff_hour_utc must be 0 to 24".into());
        }
        let location = |code: &String| bazaar_actors::ids::LocationCode::parse(code).is_ok();
        if let Some((code, hour)) =
            self.cutoff_hour_by_location.iter().find(|(code, hour)| !location(code) || **hour > 24)
        {
            return Err(format!(
                "checkout.cutoff_hour_by_location: {code:?} = {hour} (a location code, 0 to 24)"
            ));
        }
        if let Some(code) = self
            .transit_days_by_country
            .keys()
            .find(|code| bazaar_actors::pricing::CountryCode::parse(code).is_err())
        {
            return Err(format!("checkout.transit_days_by_country: {code} is not a country code"));
        }
        if self.challenge_timeout_ms < 1_000 || self.challenge_timeout_ms > self.hold_ttl_ms / 2 {
            return Err("checkout.challenge_timeout_ms must be 1000 to half of hold_ttl_ms".into());
        }
        if self.retry_max_ms == 0 {
            return Err("checkout.retry_max_ms must be > 0".into());
        }
        let running_max = crate::limits::SAGAS_RUNNING_MAX;
        if self.running_max == 0 || self.running_max > running_max {
            return Err(format!("checkout.running_max must be 1 to {running_max}"));
        }
        if self.fraud.review_at > self.fraud.reject_at {
            return Err("checkout.fraud.review_at must not exceed reject_at".into());
        }
        self.zones.validate()
    }
}

impl SagasConfig {
    /// Business days from `location` to a destination in `country` whose zone is `zone`:
    /// the zones' figure, else the country's default.
    pub fn transit_days(&self, location: &str, country: CountryCode, zone: Option<&str>) -> u8 {
        let default = || {
            let by_country = self.transit_days_by_country.get(country.as_str()).copied();
            by_country.unwrap_or(self.transit_days)
        };
        self.zones.transit_days(location, zone).unwrap_or_else(default)
    }

    /// The daily cut-off of `location` (UTC hour; 24: none).
    pub fn cutoff_hour(&self, location: &str) -> u8 {
        self.cutoff_hour_by_location.get(location).copied().unwrap_or(self.cutoff_hour_utc)
    }

    /// The terms a cart quotes to `country` before any location is chosen: the slowest
    /// transit a shipment there can have and the earliest cut-off, so the order never
    /// promises later than the cart.
    pub fn quoted_terms(&self, country: CountryCode) -> DeliveryTerms {
        let by_country = self.transit_days_by_country.get(country.as_str()).copied();
        let default = by_country.unwrap_or(self.transit_days);
        let zoned = self.zones.slowest_into(country).unwrap_or(0);
        let earliest = self.cutoff_hour_by_location.values().copied().min();
        let cutoff_hour_utc =
            earliest.map_or(self.cutoff_hour_utc, |h| h.min(self.cutoff_hour_utc));
        DeliveryTerms { transit_days: default.max(zoned), cutoff_hour_utc }
    }
}

/// What a step could not do for a passing reason: the step is tried again.
#[derive(Debug, thiserror::Error)]
enum Retry {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("{0}")]
    Refused(String),
}

type StepResult = Result<Outcome, Retry>;

/// What the runner and every step share.
struct Inner {
    engine: Engine,
    catalog: Catalog,
    payments: Payments,
    orders: OrderBook,
    signals: crate::fraud::FraudSignals,
    vat: Arc<VatTable>,
    config: SagasConfig,
    /// Opens the delivery address for the fraud rules.
    vault: Arc<crate::pii::Vault>,
    /// The sagas running here, and the latest view of each for those waiting on it.
    running: DashMap<String, watch::Sender<CheckoutView>>,
    payment_job: PaymentJob,
    /// Set once the node stops: runners leave their sagas in the index for the next start.
    stopping: AtomicBool,
}

/// What a runner knows of earlier attempts of a step.
#[derive(Debug, Clone, Copy)]
struct Attempt {
    /// The step may have run before (by an earlier process, or an earlier attempt here): an
    /// authorization possibly at another provider, a hold possibly at another location.
    repeated: bool,
}

/// One step of one saga, with what every step reads.
struct Run<'a> {
    inner: &'a Inner,
    /// The checkout's entity id.
    id: &'a str,
    tenant: &'a str,
    request: &'a CheckoutRequest,
    order: &'a OrderId,
    /// The order's entity id.
    order_key: String,
}

fn failed(step: Step, code: FailureCode, detail: impl Into<String>) -> Outcome {
    Outcome::Failed(Failure { step, code, detail: detail.into() })
}

impl Run<'_> {
    fn engine(&self) -> &Engine {
        &self.inner.engine
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn de() -> CountryCode {
        CountryCode::parse("DE").unwrap()
    }

    #[test]
    fn a_cart_quotes_the_slowest_transit_and_the_earliest_cut_off() {
        let mut config = SagasConfig::default();
        config.transit_days_by_country.insert("DE".into(), 1);
        config.cutoff_hour_by_location.insert("HAM1".into(), 11);
        config.cutoff_hour_by_location.insert("FRA1".into(), 18);
        config.zones.locations.insert("HAM1".into(), "north".into());
        config.zones.destinations.insert("DE".into(), "south".into());
        config.zones.transit.entry("north".into()).or_default().insert("south".into(), 3);
        assert_eq!(config.validate(), Ok(()));
        assert_eq!(
            config.quoted_terms(de()),
            DeliveryTerms { transit_days: 3, cutoff_hour_utc: 11 }
        );
        assert_eq!(config.cutoff_hour("FRA1"), 18);
        assert_eq!(config.cutoff_hour("MUC1"), 14, "the marketplace's");
        assert_eq!(config.transit_days("HAM1", de(), Some("south")), 3);
        assert_eq!(config.transit_days("MUC1", de(), Some("south")), 1, "the country's");
    }

    #[test]
    fn bad_cut_offs_and_challenge_time_outs_are_refused() {
        let mut late = SagasConfig::default();
        late.cutoff_hour_by_location.insert("FRA1".into(), 25);
        assert!(late.validate().unwrap_err().contains("cutoff_hour_by_location"));
        let mut nowhere = SagasConfig::default();
        nowhere.cutoff_hour_by_location.insert("fra 1".into(), 10);
        assert!(nowhere.validate().is_err());
        let forever =
            SagasConfig { challenge_timeout_ms: 30 * 60 * 1000, ..SagasConfig::default() };
        assert!(
            forever.validate().unwrap_err().contains("challenge_timeout_ms"),
            "past half the hold"
        );
    }
}
