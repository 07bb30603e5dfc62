//! The pure pieces of the payments client: a circuit breaker per provider and the retry
//! backoff. Time and randomness are arguments, so both are tested without a runtime.
//!
//! Breaker invariants:
//! - Closed: every call goes through; `failures_max` consecutive failures open it.
//! - Open: no call goes through until `open_ms` have passed since it opened.
//! - Half-open (open and `open_ms` passed): one call at a time probes. Its success closes the
//!   breaker, its failure opens it again for `open_ms`. A probe whose outcome is never
//!   reported (its caller gave up) stops blocking others after `open_ms`, so the breaker cannot
//!   stick half-open.
//! - A success in any state resets the consecutive failure count.

use serde::{Deserialize, Serialize};

/// What a breaker lets through now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

/// A consecutive-failure circuit breaker. `now_ms` is any monotonic millisecond clock.
#[derive(Debug, Clone)]
pub struct Breaker {
    failures_max: u32,
    open_ms: u64,
    consecutive_failures: u32,
    /// When it last opened; `None` while closed.
    opened_at_ms: Option<u64>,
    /// When the half-open probe in flight started, if one is.
    probe_started_ms: Option<u64>,
}

impl Breaker {
    /// `failures_max` of 0 is taken as 1: a breaker that opens without a failure is useless.
    pub fn new(failures_max: u32, open_ms: u64) -> Breaker {
        Breaker {
            failures_max: failures_max.max(1),
            open_ms,
            consecutive_failures: 0,
            opened_at_ms: None,
            probe_started_ms: None,
        }
    }

    pub fn state(&self, now_ms: u64) -> BreakerState {
        match self.opened_at_ms {
            None => BreakerState::Closed,
            Some(opened) if now_ms.saturating_sub(opened) < self.open_ms => BreakerState::Open,
            Some(_) => BreakerState::HalfOpen,
        }
    }

    pub fn consecutive_failures(&self) -> u32 {
        self.consecutive_failures
    }

    /// Whether a call may go out now; in half-open, taking the one probe slot.
    pub fn try_acquire(&mut self, now_ms: u64) -> bool {
        match self.state(now_ms) {
            BreakerState::Closed => true,
            BreakerState::Open => false,
            BreakerState::HalfOpen => {
                let free = self
                    .probe_started_ms
                    .is_none_or(|started| now_ms.saturating_sub(started) >= self.open_ms);
                if free {
                    self.probe_started_ms = Some(now_ms);
                }
                free
            }
        }
    }

    /// The provider answered (any answer but a 5xx): closes the breaker.
    pub fn record_success(&mut self) {
        self.consecutive_failures = 0;
        self.opened_at_ms = None;
        self.probe_started_ms = None;
    }

    /// A timeout, a connection failure or a 5xx.
    pub fn record_failure(&mut self, now_ms: u64) {
        self.consecutive_failures = self.consecutive_failures.saturating_add(1);
        let reopen = match self.state(now_ms) {
            BreakerState::Closed => self.consecutive_failures >= self.failures_max,
            // A failure that started before the breaker opened changes nothing.
            BreakerState::Open => false,
            BreakerState::HalfOpen => true,
        };
        if reopen {
            self.opened_at_ms = Some(now_ms);
            self.probe_started_ms = None;
        }
    }
}

/// The pause before retry number `retry` (1 for the first retry): `base_ms * 2^(retry-1)`
/// capped at `max_ms`, then "equal jitter": half of it fixed, the other half scaled by
/// `random` (any u64), so retries of many callers spread out but never come back at once.
pub fn backoff_ms(retry: u32, base_ms: u64, max_ms: u64, random: u64) -> u64 {
    let shift = retry.saturating_sub(1).min(32);
    let capped = base_ms.saturating_mul(1u64 << shift).min(max_ms);
    let half = capped / 2;
    half + random % (capped - half + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_consecutive_failures_only() {
        let mut breaker = Breaker::new(3, 1_000);
        breaker.record_failure(0);
        breaker.record_failure(1);
        breaker.record_success();
        breaker.record_failure(2);
        breaker.record_failure(3);
        assert_eq!(breaker.state(3), BreakerState::Closed);
        assert!(breaker.try_acquire(3));
        breaker.record_failure(4);
        assert_eq!(breaker.state(4), BreakerState::Open);
        assert_eq!(breaker.consecutive_failures(), 3);
        assert!(!breaker.try_acquire(5));
        assert!(!breaker.try_acquire(1_003));
    }

    #[test]
    fn half_open_lets_one_probe_and_closes_on_success() {
        let mut breaker = Breaker::new(1, 1_000);
        breaker.record_failure(100);
        assert_eq!(breaker.state(1_099), BreakerState::Open);
        assert_eq!(breaker.state(1_100), BreakerState::HalfOpen);
        assert!(breaker.try_acquire(1_100));
        assert!(!breaker.try_acquire(1_101), "a second probe while the first is out");
        breaker.record_success();
        assert_eq!(breaker.state(1_102), BreakerState::Closed);
        assert_eq!(breaker.consecutive_failures(), 0);
        assert!(breaker.try_acquire(1_102));
        assert!(breaker.try_acquire(1_102));
    }

    #[test]
    fn a_failed_probe_opens_it_again() {
        let mut breaker = Breaker::new(2, 1_000);
        breaker.record_failure(0);
        breaker.record_failure(0);
        assert!(breaker.try_acquire(1_000));
        breaker.record_failure(1_050);
        assert_eq!(breaker.state(1_051), BreakerState::Open);
        assert!(!breaker.try_acquire(2_049));
        assert_eq!(breaker.state(2_050), BreakerState::HalfOpen);
        assert!(breaker.try_acquire(2_050));
    }

    #[test]
    fn a_late_failure_does_not_extend_an_open_breaker() {
        let mut breaker = Breaker::new(1, 1_000);
        breaker.record_failure(0);
        breaker.record_failure(900);
        assert_eq!(breaker.state(1_000), BreakerState::HalfOpen);
    }

    #[test]
    fn an_abandoned_probe_expires() {
        let mut breaker = Breaker::new(1, 1_000);
        breaker.record_failure(0);
        assert!(breaker.try_acquire(1_000));
        assert!(!breaker.try_acquire(1_999));
        assert!(breaker.try_acquire(2_000), "the probe's caller never reported");
    }

    #[test]
    fn zero_failures_max_means_one() {
        let mut breaker = Breaker::new(0, 10);
        assert_eq!(breaker.state(0), BreakerState::Closed);
        breaker.record_failure(0);
        assert_eq!(breaker.state(0), BreakerState::Open);
    }

    #[test]
    fn backoff_doubles_is_capped_and_jitters_within_half() {
        assert_eq!(backoff_ms(1, 50, 500, 0), 25);
        assert_eq!(backoff_ms(1, 50, 500, u64::MAX), 25 + u64::MAX % 26);
        assert_eq!(backoff_ms(2, 50, 500, 0), 50);
        assert_eq!(backoff_ms(3, 50, 500, 0), 100);
        assert_eq!(backoff_ms(5, 50, 500, 0), 250);
        assert_eq!(backoff_ms(40, 50, 500, 0), 250);
        for random in [0, 1, 7, 250, 251, 1 << 40, u64::MAX] {
            for retry in 1..70 {
                let pause = backoff_ms(retry, 50, 500, random);
                let capped = (50u64 << (retry - 1).min(32)).min(500);
                assert!(pause >= capped / 2 && pause <= capped, "{retry} {random} {pause}");
            }
        }
        assert_eq!(backoff_ms(3, 0, 500, 99), 0);
        assert_eq!(backoff_ms(3, u64::MAX, u64::MAX, 0), u64::MAX / 2);
    }
}
