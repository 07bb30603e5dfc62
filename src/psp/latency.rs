//! The simulator's randomness: a seeded SplitMix64 generator shared without a lock, and the
//! latency model, a log-normal fitted to a median and a 99th percentile.
//!
//! The fit: if ln X ~ N(mu, sigma^2), the median of X is e^mu and its 99th percentile is
//! e^(mu + z99 * sigma), with z99 = 2.3263478740 (the standard normal's 99th percentile), so
//!
//! ```text
//! mu    = ln(p50)
//! sigma = (ln(p99) - ln(p50)) / z99
//! ```
//!
//! A sample is e^(mu + sigma * z), z standard normal by Box-Muller from two uniforms:
//! z = sqrt(-2 ln u1) * cos(2 pi u2), u1 in (0, 1]. A p50 of 0 means no latency; p99 = p50
//! means a constant one. Samples are capped at [`LATENCY_MS_MAX`] so a far tail cannot stall a
//! call for minutes.

use crate::psp::limits::LATENCY_MS_MAX;
use std::sync::atomic::{AtomicU64, Ordering};

/// The standard normal distribution's 99th percentile.
const Z_99: f64 = 2.326_347_874_040_841;

/// SplitMix64 (Steele, Lea, Flood 2014): one atomic add and a mix per number, so concurrent
/// requests share it without a lock. Not for secrets; enough for jitter and fault rolls.
pub struct Rng {
    state: AtomicU64,
}

impl Rng {
    const GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

    pub fn seeded(seed: u64) -> Rng {
        Rng { state: AtomicU64::new(seed) }
    }

    /// Seeded from the process's random hasher keys (which std draws from the OS), so two
    /// simulators do not fail in lockstep.
    pub fn from_entropy() -> Rng {
        use std::hash::BuildHasher;
        Rng::seeded(std::collections::hash_map::RandomState::new().hash_one(0x5053_5000u64))
    }

    pub fn next_u64(&self) -> u64 {
        let mut z = self.state.fetch_add(Self::GAMMA, Ordering::Relaxed).wrapping_add(Self::GAMMA);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1), from the top 53 bits.
    pub fn unit(&self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A log-normal latency distribution, or none.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Latency {
    Zero,
    LogNormal { mu: f64, sigma: f64 },
}

impl Latency {
    /// The distribution with median `p50_ms` and 99th percentile `p99_ms` (taken as `p50_ms`
    /// when below it).
    pub fn fit(p50_ms: u64, p99_ms: u64) -> Latency {
        if p50_ms == 0 {
            return Latency::Zero;
        }
        let p50 = p50_ms as f64;
        let p99 = p99_ms.max(p50_ms) as f64;
        Latency::LogNormal { mu: p50.ln(), sigma: (p99.ln() - p50.ln()) / Z_99 }
    }

    pub fn sample_ms(&self, rng: &Rng) -> u64 {
        match *self {
            Latency::Zero => 0,
            Latency::LogNormal { mu, sigma } => {
                // 1 - unit() is in (0, 1], so the logarithm is finite.
                let (u1, u2) = (1.0 - rng.unit(), rng.unit());
                let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
                let ms = (mu + sigma * z).exp().round();
                if ms.is_finite() { (ms as u64).min(LATENCY_MS_MAX) } else { LATENCY_MS_MAX }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quantiles(latency: Latency, n: usize) -> (u64, u64) {
        let rng = Rng::seeded(42);
        let mut samples: Vec<u64> = (0..n).map(|_| latency.sample_ms(&rng)).collect();
        samples.sort_unstable();
        (samples[n / 2], samples[n * 99 / 100])
    }

    #[test]
    fn the_fit_hits_both_quantiles() {
        for (p50, p99) in [(20, 200), (5, 10), (100, 1_000), (50, 55)] {
            let (median, tail) = quantiles(Latency::fit(p50, p99), 40_000);
            let near = |seen: u64, want: u64| seen.abs_diff(want) * 100 <= want * 10 + 100;
            assert!(near(median, p50), "p50 {p50}: sampled median {median}");
            assert!(near(tail, p99), "p99 {p99}: sampled 99th percentile {tail}");
        }
    }

    #[test]
    fn degenerate_knobs() {
        assert_eq!(Latency::fit(0, 500), Latency::Zero);
        assert_eq!(quantiles(Latency::fit(0, 500), 100), (0, 0));
        assert_eq!(quantiles(Latency::fit(30, 30), 1_000), (30, 30));
        assert_eq!(quantiles(Latency::fit(30, 10), 1_000), (30, 30), "p99 below p50");
        let huge = Latency::fit(LATENCY_MS_MAX, LATENCY_MS_MAX * 1_000);
        assert!(quantiles(huge, 1_000).1 <= LATENCY_MS_MAX);
    }

    #[test]
    fn the_generator_is_seeded_and_uniform_enough() {
        let (a, b) = (Rng::seeded(7), Rng::seeded(7));
        assert_eq!(a.next_u64(), b.next_u64());
        let rng = Rng::seeded(1);
        let below_tenth = (0..10_000).filter(|_| rng.unit() < 0.1).count();
        assert!((900..1_100).contains(&below_tenth), "{below_tenth}");
        assert!((0..10_000).all(|_| (0.0..1.0).contains(&rng.unit())));
    }
}
