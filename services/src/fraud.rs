//! Velocity signals: how many checkouts each customer, card and shipping address attempted in
//! the last hour. Not pure (shared, concurrent memory), but no runtime and no clock: the
//! caller passes `now_ms`.
//!
//! In memory only: the counts reset when the process restarts (an attacker gains at most one
//! window), and each node counts only the checkouts it runs.
//!
//! Invariants:
//! - A key remembers at most [`FRAUD_ATTEMPTS_PER_KEY_MAX`] timestamps (its newest), so a count
//!   saturates there; timestamps older than the window are pruned whenever the key is seen.
//! - At most [`FRAUD_KEYS_MAX`] keys are tracked. At the bound, keys with nothing in the window are
//!   dropped, then if need be the least recently seen ones, down to 90 % of the bound.
//! - The card is a fingerprint or token from the payment provider and the address a
//!   fingerprint ([`address_fingerprint`]): no card number or address text is ever kept here.

use std::collections::VecDeque;
use std::sync::Arc;

use dashmap::DashMap;

use crate::limits::FRAUD_ATTEMPTS_PER_KEY_MAX;
use crate::limits::FRAUD_KEYS_MAX;
use bazaar_actors::CustomerId;
use bazaar_actors::fraud::Velocity;

/// The sliding window the counts cover: one hour.
pub const WINDOW_MS: u64 = 60 * 60 * 1000;

/// Keys kept after evicting the least recently seen ones.
const KEYS_AFTER_EVICTION: usize = FRAUD_KEYS_MAX / 10 * 9;

const _: () = assert!(KEYS_AFTER_EVICTION < FRAUD_KEYS_MAX);

/// A shipping address as velocity counts it: a 128-bit hash of its country, postal code and
/// first line, each trimmed, lowercased and with runs of whitespace made one space, so the
/// same address typed twice counts once and its text is never kept.
pub fn address_fingerprint(country: &str, postal_code: &str, line1: &str) -> String {
    let mut text = String::new();
    for part in [country, postal_code, line1] {
        for word in part.split_whitespace() {
            text.push_str(&word.to_lowercase());
            text.push(' ');
        }
        text.push('|');
    }
    format!("{:032x}", xxhash_rust::xxh3::xxh3_128(text.as_bytes()))
}

/// What a key counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Signal {
    Customer,
    Card,
    Address,
}

type Key = (Arc<str>, Signal, String);

/// Checkout attempts per key in a sliding hour; cheap to clone.
#[derive(Clone, Default)]
pub struct FraudSignals {
    attempts: Arc<DashMap<Key, VecDeque<u64>>>,
}

impl FraudSignals {
    pub fn new() -> FraudSignals {
        FraudSignals::default()
    }

    /// Records one checkout attempt at `now_ms` and returns the counts in the hour up to it,
    /// this attempt included.
    pub fn record(
        &self,
        tenant: &str,
        customer: &CustomerId,
        card: &str,
        address_fingerprint: &str,
        now_ms: u64,
    ) -> Velocity {
        let tenant = Arc::<str>::from(tenant);
        let count = |signal: Signal, value: &str| {
            self.count((tenant.clone(), signal, value.to_string()), now_ms)
        };
        Velocity {
            customer: count(Signal::Customer, customer.as_str()),
            card: count(Signal::Card, card),
            address: count(Signal::Address, address_fingerprint),
        }
    }

    /// How many keys are tracked.
    pub fn keys(&self) -> usize {
        self.attempts.len()
    }

    fn count(&self, key: Key, now_ms: u64) -> u32 {
        if !self.attempts.contains_key(&key) && self.attempts.len() >= FRAUD_KEYS_MAX {
            self.make_room(now_ms);
        }
        let mut times = self.attempts.entry(key).or_default();
        prune(&mut times, now_ms);
        times.push_back(now_ms);
        while times.len() > FRAUD_ATTEMPTS_PER_KEY_MAX {
            times.pop_front();
        }
        u32::try_from(times.len()).unwrap_or(u32::MAX)
    }

    /// Drops keys with nothing in the window; if still at the bound, the least recently
    /// seen keys down to 90 % of it. Rare: it runs only when a new key meets the bound.
    fn make_room(&self, now_ms: u64) {
        self.attempts.retain(|_, times| {
            prune(times, now_ms);
            !times.is_empty()
        });
        let excess = self.attempts.len().saturating_sub(KEYS_AFTER_EVICTION);
        if self.attempts.len() < FRAUD_KEYS_MAX || excess == 0 {
            return;
        }
        let mut last_seen: Vec<u64> = self
            .attempts
            .iter()
            .map(|entry| entry.value().iter().copied().max().unwrap_or(0))
            .collect();
        let (_, cutoff, _) = last_seen.select_nth_unstable(excess - 1);
        let cutoff = *cutoff;
        let mut evicted = 0;
        self.attempts.retain(|_, times| {
            let seen = times.iter().copied().max().unwrap_or(0);
            let keep = seen > cutoff || evicted >= excess;
            if !keep {
                evicted += 1;
            }
            keep
        });
    }
}

/// Forgets the timestamps that have left the window ending at `now_ms`. Timestamps arrive
/// nearly in order from concurrent checkouts, so every one is checked, not just the front.
fn prune(times: &mut VecDeque<u64>, now_ms: u64) {
    times.retain(|at| at.saturating_add(WINDOW_MS) > now_ms);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn customer(name: &str) -> CustomerId {
        CustomerId::parse(name).unwrap()
    }

    #[test]
    fn counts_each_signal_in_a_sliding_hour() {
        let signals = FraudSignals::new();
        let c1 = customer("c1");
        assert_eq!(
            signals.record("t", &c1, "card-a", "addr-a", 0),
            Velocity { customer: 1, card: 1, address: 1 }
        );
        assert_eq!(
            signals.record("t", &c1, "card-b", "addr-a", 1_000),
            Velocity { customer: 2, card: 1, address: 2 }
        );
        let other = signals.record("t", &customer("c2"), "card-a", "addr-b", 2_000);
        assert_eq!(other, Velocity { customer: 1, card: 2, address: 1 });
        // The first attempt leaves the window an hour after it was made.
        let later = signals.record("t", &c1, "card-a", "addr-a", WINDOW_MS);
        assert_eq!(later, Velocity { customer: 2, card: 2, address: 2 });
        let much_later = signals.record("t", &c1, "card-a", "addr-a", 10 * WINDOW_MS);
        assert_eq!(much_later, Velocity { customer: 1, card: 1, address: 1 });
    }

    #[test]
    fn an_address_counts_by_fingerprint_however_it_is_typed() {
        let typed = address_fingerprint("DE", "10115", "Invalidenstrasse 117");
        let retyped = address_fingerprint("de", " 10115 ", "invalidenstrasse   117 ");
        assert_eq!(typed, retyped);
        assert_eq!(typed.len(), 32);
        assert!(!typed.contains("10115") && !typed.to_lowercase().contains("invalid"));
        // Parts do not run into each other.
        assert_ne!(
            address_fingerprint("DE", "1", "0115 x"),
            address_fingerprint("DE", "10", "115 x")
        );
        assert_ne!(typed, address_fingerprint("DE", "10115", "Invalidenstrasse 118"));
    }

    #[test]
    fn tenants_are_counted_apart() {
        let signals = FraudSignals::new();
        let c1 = customer("c1");
        signals.record("t1", &c1, "card", "addr", 0);
        assert_eq!(signals.record("t2", &c1, "card", "addr", 0).customer, 1);
        assert_eq!(signals.record("t1", &c1, "card", "addr", 0).customer, 2);
    }

    #[test]
    fn a_key_saturates_at_its_bound() {
        let signals = FraudSignals::new();
        let c1 = customer("c1");
        let mut last = Velocity::default();
        for n in 0..(FRAUD_ATTEMPTS_PER_KEY_MAX as u64 + 10) {
            last = signals.record("t", &c1, "card", "addr", n);
        }
        assert_eq!(last.customer as usize, FRAUD_ATTEMPTS_PER_KEY_MAX);
    }

    #[test]
    fn keys_stay_bounded() {
        let signals = FraudSignals::new();
        let c1 = customer("c1");
        // Three keys per record: customer (shared), card and address (fresh each time).
        for n in 0..(FRAUD_KEYS_MAX as u64 / 2 + 10) {
            let card = format!("card-{n}");
            signals.record("t", &c1, &card, &card, n);
        }
        assert!(signals.keys() <= FRAUD_KEYS_MAX, "{}", signals.keys());
        // The newest attempts survive eviction.
        let n = FRAUD_KEYS_MAX as u64 / 2 + 9;
        let card = format!("card-{n}");
        assert_eq!(signals.record("t", &c1, &card, &card, n).card, 2);
    }
}
