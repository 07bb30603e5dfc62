//! A cache bounded by bytes, for read models too large to hold whole: eviction by CLOCK-Pro
//! (`quick_cache`), which keeps entries read often over entries read once, so a scan of a
//! large catalogue does not push out the hot set. `/metrics` shows each cache's bytes, hits,
//! misses and evictions under its name (`{name}_bytes`, `{name}_hits_total`, ...).
//!
//! Invariant: the entries' weights (their bytes in memory, as [`Weigh`] estimates them, plus
//! [`ENTRY_OVERHEAD_BYTES`]) never sum to more than the bound.

use std::borrow::Borrow;
use std::hash::{Hash, RandomState};

use quick_cache::Equivalent;

/// What an entry costs beyond its key and value: the cache's slot and bookkeeping.
pub const ENTRY_OVERHEAD_BYTES: u64 = 96;

/// Bytes a key or a value holds in memory (an estimate: its heap data and its size).
pub trait Weigh {
    fn weigh(&self) -> u64;
}

/// A cache of at most a configured number of bytes; see the module doc.
pub struct BoundedCache<K, V> {
    entries: quick_cache::sync::Cache<K, V, ByWeight, RandomState, CountEvictions>,
    hits: metrics::Counter,
    misses: metrics::Counter,
    bytes: metrics::Gauge,
}

#[derive(Clone)]
pub struct ByWeight;

impl<K: Weigh, V: Weigh> quick_cache::Weighter<K, V> for ByWeight {
    fn weight(&self, key: &K, value: &V) -> u64 {
        ENTRY_OVERHEAD_BYTES + key.weigh() + value.weigh()
    }
}

/// Counts the entries evicted to make room.
#[derive(Clone)]
pub struct CountEvictions(metrics::Counter);

impl<K, V> quick_cache::Lifecycle<K, V> for CountEvictions {
    type RequestState = ();

    fn begin_request(&self) {}

    fn on_evict(&self, _: &mut (), _: K, _: V) {
        self.0.increment(1);
    }
}

impl<K, V> BoundedCache<K, V>
where
    K: Weigh + Eq + Hash + Clone,
    V: Weigh + Clone,
{
    /// A cache of at most `bytes`, sized for entries of about `typical_entry_bytes`, whose
    /// metrics are named after `name`.
    pub fn new(name: &str, bytes: u64, typical_entry_bytes: u64) -> BoundedCache<K, V> {
        let items = usize::try_from(bytes / typical_entry_bytes.max(1)).unwrap_or(usize::MAX);
        let evictions = CountEvictions(metrics::counter!(format!("{name}_evictions_total")));
        BoundedCache {
            entries: quick_cache::sync::Cache::with(
                items.max(16),
                bytes,
                ByWeight,
                RandomState::default(),
                evictions,
            ),
            hits: metrics::counter!(format!("{name}_hits_total")),
            misses: metrics::counter!(format!("{name}_misses_total")),
            bytes: metrics::gauge!(format!("{name}_bytes")),
        }
    }

    /// The entry of `key` (an owned key, or a borrowed one such as [`TextPair`]), if cached
    /// and `fresh`; counted as a hit or a miss.
    pub fn get_if<Q>(&self, key: &Q, fresh: impl FnOnce(&V) -> bool) -> Option<V>
    where
        Q: Hash + Equivalent<K> + ?Sized,
    {
        match self.entries.get(key) {
            Some(value) if fresh(&value) => {
                self.hits.increment(1);
                Some(value)
            }
            _ => {
                self.misses.increment(1);
                None
            }
        }
    }

    /// The entry of `key`, if cached, without counting a hit or a miss.
    pub fn peek<Q>(&self, key: &Q) -> Option<V>
    where
        Q: Hash + Equivalent<K> + ?Sized,
    {
        self.entries.get(key)
    }

    pub fn insert(&self, key: K, value: V) {
        self.entries.insert(key, value);
        self.bytes.set(self.entries.weight() as f64);
    }

    /// Bytes cached.
    pub fn bytes(&self) -> u64 {
        self.entries.weight()
    }

    /// Entries cached.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl Weigh for str {
    fn weigh(&self) -> u64 {
        self.len() as u64
    }
}

impl<T: Weigh + ?Sized> Weigh for std::sync::Arc<T> {
    fn weigh(&self) -> u64 {
        16 + (**self).weigh()
    }
}

impl Weigh for bazaar_actors::Asin {
    fn weigh(&self) -> u64 {
        std::mem::size_of::<Self>() as u64 + self.as_str().len() as u64
    }
}

impl Weigh for bazaar_actors::CustomerId {
    fn weigh(&self) -> u64 {
        std::mem::size_of::<Self>() as u64 + self.as_str().len() as u64
    }
}

impl<A: Weigh, B: Weigh> Weigh for (A, B) {
    fn weigh(&self) -> u64 {
        self.0.weigh() + self.1.weigh()
    }
}

impl Weigh for u64 {
    fn weigh(&self) -> u64 {
        8
    }
}

/// A borrowed `(tenant, id)` key, for a lookup in a cache keyed by an owned pair of texts
/// (`(Arc<str>, Asin)` and the like) without building one: it hashes as the owned pair does
/// (each part as its `str`), and equals it part by part.
#[derive(Debug, Hash)]
pub struct TextPair<'a>(pub &'a str, pub &'a str);

impl<A: Borrow<str>, B: Borrow<str>> Equivalent<(A, B)> for TextPair<'_> {
    fn equivalent(&self, key: &(A, B)) -> bool {
        self.0 == key.0.borrow() && self.1 == key.1.borrow()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bazaar_actors::Asin;

    use super::*;

    #[test]
    fn a_borrowed_pair_finds_what_the_owned_pair_keys() {
        let cache: BoundedCache<(Arc<str>, Asin), u64> =
            BoundedCache::new("test_pairs", 1 << 20, 64);
        for n in 0..100 {
            let asin = Asin::parse(&format!("B{n:09}")).unwrap();
            cache.insert((Arc::from("tenant-a"), asin), n);
        }
        for n in 0..100 {
            let asin = format!("B{n:09}");
            assert_eq!(cache.peek(&TextPair("tenant-a", &asin)), Some(n));
            assert_eq!(cache.get_if(&TextPair("tenant-a", &asin), |_| true), Some(n));
            assert_eq!(cache.peek(&TextPair("tenant-b", &asin)), None);
        }
    }
}
