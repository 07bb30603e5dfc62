//! The simulator's fault-injection knobs (`/admin/knobs`, and the `bazaar psp` flags): how
//! slow, how often declined, how often failing, and whether down altogether.
//!
//! Invariant: a [`Knobs`] in use always passed [`Knobs::validate`]: rates are finite and in
//! [0, 1], and 0 <= p50 <= p99 <= [`LATENCY_MS_MAX`]. A rejected update changes nothing.

use serde::{Deserialize, Serialize};

use super::limits::LATENCY_MS_MAX;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Knobs {
    /// Median of the latency added before each /v1 call (0: none).
    pub latency_p50_ms: u64,
    /// 99th percentile of that latency.
    pub latency_p99_ms: u64,
    /// Fraction of authorization keys declined (chosen by a hash of the key, so the same key
    /// always gets the same answer).
    pub decline_rate: f64,
    /// Fraction of /v1 money calls answered 500 without doing anything.
    pub error_rate: f64,
    /// Every /v1 money call answers 503 at once.
    pub outage: bool,
    /// Fraction of captured payments the customer disputes as `fraudulent` (chosen by a hash
    /// of the authorization key): the provider takes the money back at once.
    #[serde(default)]
    pub dispute_rate: f64,
    /// Fraction of authorization keys that ask the customer for a 3-D Secure challenge
    /// (chosen by a hash of the key; card `tok_3ds` always does).
    #[serde(default)]
    pub challenge_rate: f64,
}

/// A partial update: absent fields keep their value.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnobsUpdate {
    pub latency_p50_ms: Option<u64>,
    pub latency_p99_ms: Option<u64>,
    pub decline_rate: Option<f64>,
    pub error_rate: Option<f64>,
    pub outage: Option<bool>,
    pub dispute_rate: Option<f64>,
    pub challenge_rate: Option<f64>,
}

impl Knobs {
    pub fn validate(&self) -> Result<(), String> {
        let rates = [
            ("decline_rate", self.decline_rate),
            ("error_rate", self.error_rate),
            ("dispute_rate", self.dispute_rate),
            ("challenge_rate", self.challenge_rate),
        ];
        for (name, rate) in rates {
            if !(0.0..=1.0).contains(&rate) {
                return Err(format!("{name} must be within 0 and 1, got {rate}"));
            }
        }
        if self.latency_p50_ms > self.latency_p99_ms || self.latency_p99_ms > LATENCY_MS_MAX {
            return Err(format!(
                "latency must satisfy p50 <= p99 <= {LATENCY_MS_MAX} ms, got p50 {} p99 {}",
                self.latency_p50_ms, self.latency_p99_ms
            ));
        }
        Ok(())
    }

    /// These knobs with `update` applied, if the result is valid.
    pub fn updated(self, update: &KnobsUpdate) -> Result<Knobs, String> {
        let knobs = Knobs {
            latency_p50_ms: update.latency_p50_ms.unwrap_or(self.latency_p50_ms),
            latency_p99_ms: update.latency_p99_ms.unwrap_or(self.latency_p99_ms),
            decline_rate: update.decline_rate.unwrap_or(self.decline_rate),
            error_rate: update.error_rate.unwrap_or(self.error_rate),
            outage: update.outage.unwrap_or(self.outage),
            dispute_rate: update.dispute_rate.unwrap_or(self.dispute_rate),
            challenge_rate: update.challenge_rate.unwrap_or(self.challenge_rate),
        };
        knobs.validate()?;
        Ok(knobs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CALM: Knobs = Knobs {
        latency_p50_ms: 0,
        latency_p99_ms: 0,
        decline_rate: 0.0,
        error_rate: 0.0,
        outage: false,
        dispute_rate: 0.0,
        challenge_rate: 0.0,
    };

    #[test]
    fn partial_updates_keep_the_rest_and_bad_ones_change_nothing() {
        let update = KnobsUpdate { outage: Some(true), ..KnobsUpdate::default() };
        assert_eq!(CALM.updated(&update), Ok(Knobs { outage: true, ..CALM }));
        let slow = KnobsUpdate {
            latency_p50_ms: Some(10),
            latency_p99_ms: Some(100),
            ..KnobsUpdate::default()
        };
        assert_eq!(CALM.updated(&slow).map(|k| k.latency_p99_ms), Ok(100));
        for bad in [
            KnobsUpdate { decline_rate: Some(1.5), ..KnobsUpdate::default() },
            KnobsUpdate { error_rate: Some(-0.1), ..KnobsUpdate::default() },
            KnobsUpdate { error_rate: Some(f64::NAN), ..KnobsUpdate::default() },
            KnobsUpdate { dispute_rate: Some(2.0), ..KnobsUpdate::default() },
            KnobsUpdate { challenge_rate: Some(1.1), ..KnobsUpdate::default() },
            KnobsUpdate { latency_p50_ms: Some(10), ..KnobsUpdate::default() },
            KnobsUpdate { latency_p99_ms: Some(LATENCY_MS_MAX + 1), ..KnobsUpdate::default() },
        ] {
            assert!(CALM.updated(&bad).is_err(), "{bad:?}");
        }
    }
}
