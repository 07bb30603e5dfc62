//! "Bought together" and "also bought": what the order book learns from each placed order,
//! for `GET /v1/products/{asin}/recommendations`.
//!
//! - **Bought together**: two products in one order. Each order counts once (the order book
//!   hands an order over the first time it sees it, from the journal's fold at start or from
//!   its projection), each pair of distinct products in it once; of a large order, its first
//!   [`ORDER_PRODUCTS_LEARNT_MAX`] products.
//! - **Also bought**: two products one customer bought in different orders, once per customer:
//!   only the products new to the customer pair with those of their earlier orders (the newest
//!   [`CUSTOMER_PRODUCTS_MAX`] remembered), so buying the same thing again counts nothing.
//! - Each list keeps at most [`RECOMMENDATION_CANDIDATES_MAX`] candidates, counted with the
//!   space-saving algorithm (a new candidate past the bound takes the place of the least
//!   counted, and its count plus one), so the products most often bought together stay while
//!   the tail churns. Each candidate remembers the count it inherited: what it shows is how
//!   often it was seen at least, never more than the truth.
//! - Memory is bounded by bytes: the lists and the customers' products are [`BoundedCache`]s
//!   (`recommendations_*` in `/metrics`) of [`RECOMMENDATIONS_BYTES`] in all; a product or a
//!   customer evicted starts again from nothing. Counts are estimates: besides eviction, two
//!   learners at once (the fold at start beside the projection) may lose a count.
//! - Every order counts, whatever became of it later (a cancelled order still says what a
//!   shopper wanted together). Rebuilt with the order book at start.
//! - Learning runs on the journal's callback thread, so it is bounded per order: at most
//!   `ORDER_PRODUCTS_LEARNT_MAX` products, each paired with at most that many and with
//!   `CUSTOMER_PRODUCTS_MAX` earlier ones, each pairing a scan of at most
//!   `RECOMMENDATION_CANDIDATES_MAX` candidates.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::cache::{BoundedCache, TextPair, Weigh};
use crate::limits::{
    CUSTOMER_PRODUCTS_MAX, ORDER_PRODUCTS_LEARNT_MAX, RECOMMENDATION_CANDIDATES_MAX,
    RECOMMENDATIONS_BYTES,
};
use bazaar_actors::Asin;
use bazaar_actors::cart::CustomerId;
use bazaar_actors::order::OrderView;

type Tenant = Arc<str>;

/// One candidate: its count, and how much of it was inherited from the candidate it
/// replaced (so it was seen at least `count - inherited` times).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Candidate {
    asin: Asin,
    count: u32,
    inherited: u32,
}

/// Candidates for one product with how often each was bought with it, bounded by
/// [`RECOMMENDATION_CANDIDATES_MAX`].
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct TopCounts {
    candidates: Vec<Candidate>,
}

impl TopCounts {
    /// Counts `asin` once more; past the bound it replaces the least counted candidate.
    fn bump(&mut self, asin: &Asin) {
        let candidates = &mut self.candidates;
        if let Some(known) = candidates.iter_mut().find(|known| known.asin == *asin) {
            known.count = known.count.saturating_add(1);
        } else if candidates.len() < RECOMMENDATION_CANDIDATES_MAX {
            candidates.push(Candidate { asin: asin.clone(), count: 1, inherited: 0 });
        } else if let Some(least) = candidates.iter_mut().min_by_key(|known| known.count) {
            let inherited = least.count;
            *least =
                Candidate { asin: asin.clone(), count: inherited.saturating_add(1), inherited };
        }
    }

    /// The candidates, most counted first (then by ASIN), each with how often it was seen
    /// at least: never more than the truth, so a bound on it (`RECOMMENDATION_SUPPORT_MIN`)
    /// holds for the truth too.
    fn ranked(&self) -> Vec<(Asin, u32)> {
        let mut ranked = self.candidates.clone();
        ranked.sort_by(|x, y| y.count.cmp(&x.count).then_with(|| x.asin.cmp(&y.asin)));
        ranked.into_iter().map(|c| (c.asin, c.count - c.inherited)).collect()
    }
}

impl Weigh for TopCounts {
    fn weigh(&self) -> u64 {
        let each = std::mem::size_of::<Candidate>() as u64;
        let heap = |c: &Candidate| each + c.asin.as_str().len() as u64;
        24 + self.candidates.iter().map(heap).sum::<u64>()
    }
}

/// A customer's newest products, newest last.
#[derive(Debug, Default, Clone)]
pub(super) struct Bought(VecDeque<Asin>);

impl Weigh for Bought {
    fn weigh(&self) -> u64 {
        32 + self.0.iter().map(Weigh::weigh).sum::<u64>()
    }
}

/// A product's candidates, most counted first: ASIN and how many orders (or customers) had
/// both at least (never more than the truth).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Recommended {
    pub bought_together: Vec<(Asin, u32)>,
    pub also_bought: Vec<(Asin, u32)>,
}

type Lists = BoundedCache<(Tenant, Asin), TopCounts>;

/// What the orders say about which products go together, per tenant.
pub(super) struct Recommendations {
    together: Lists,
    also: Lists,
    customers: BoundedCache<(Tenant, CustomerId), Bought>,
}

impl Default for Recommendations {
    fn default() -> Recommendations {
        // A third of the bytes each; entries sized for a list of a dozen candidates.
        let (third, typical) = (RECOMMENDATIONS_BYTES / 3, 512);
        Recommendations {
            together: BoundedCache::new("recommendations_together", third, typical),
            also: BoundedCache::new("recommendations_also_bought", third, typical),
            customers: BoundedCache::new("recommendations_customers", third, typical),
        }
    }
}

impl Recommendations {
    /// Learns from an order placed in `tenant`: call once per order.
    pub(super) fn learn(&self, tenant: &Tenant, order: &OrderView) {
        let mut products: Vec<Asin> = Vec::new();
        for line in &order.lines {
            if !products.contains(&line.asin) && products.len() < ORDER_PRODUCTS_LEARNT_MAX {
                products.push(line.asin.clone());
            }
        }
        for asin in &products {
            let others = products.iter().filter(|other| *other != asin);
            bump(&self.together, tenant, asin, others);
        }
        let key = (tenant.clone(), order.customer.clone());
        let Bought(mut bought) = self.customers.peek(&key).unwrap_or_default();
        let earlier: Vec<Asin> =
            bought.iter().filter(|asin| !products.contains(asin)).cloned().collect();
        let new: Vec<Asin> =
            products.iter().filter(|asin| !bought.contains(asin)).cloned().collect();
        for asin in &products {
            bought.retain(|known| known != asin);
            bought.push_back(asin.clone());
        }
        while bought.len() > CUSTOMER_PRODUCTS_MAX {
            bought.pop_front();
        }
        self.customers.insert(key, Bought(bought));
        for asin in &new {
            bump(&self.also, tenant, asin, earlier.iter());
        }
        for asin in &earlier {
            bump(&self.also, tenant, asin, new.iter());
        }
    }

    /// What goes with `asin` in `tenant`, most counted first.
    pub(super) fn of(&self, tenant: &str, asin: &Asin) -> Recommended {
        let key = TextPair(tenant, asin.as_str());
        let ranked = |lists: &Lists| lists.peek(&key).map(|counts| counts.ranked());
        Recommended {
            bought_together: ranked(&self.together).unwrap_or_default(),
            also_bought: ranked(&self.also).unwrap_or_default(),
        }
    }
}

/// Counts each of `others` once more in `asin`'s list.
fn bump<'a>(lists: &Lists, tenant: &Tenant, asin: &Asin, others: impl Iterator<Item = &'a Asin>) {
    let mut others = others.peekable();
    if others.peek().is_none() {
        return;
    }
    let key = (tenant.clone(), asin.clone());
    let mut counts = lists.peek(&key).unwrap_or_default();
    others.for_each(|other| counts.bump(other));
    lists.insert(key, counts);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::orders::tests::order_of;

    fn asin(n: u32) -> Asin {
        Asin::parse(&format!("B{n:09}")).unwrap()
    }

    fn asins(ranked: &[(Asin, u32)]) -> Vec<(u32, u32)> {
        ranked.iter().map(|(asin, count)| (asin.as_str()[1..].parse().unwrap(), *count)).collect()
    }

    #[test]
    fn products_of_one_order_are_bought_together_and_counted_per_order() {
        let model = Recommendations::default();
        let tenant = Tenant::from("t");
        model.learn(&tenant, &order_of("alice", &[1, 2, 2, 3]));
        model.learn(&tenant, &order_of("bob", &[1, 3]));
        let of_1 = model.of("t", &asin(1));
        assert_eq!(asins(&of_1.bought_together), [(3, 2), (2, 1)], "a line twice counts once");
        assert_eq!(asins(&model.of("t", &asin(2)).bought_together), [(1, 1), (3, 1)]);
        assert!(of_1.also_bought.is_empty(), "nobody ordered twice");
        assert_eq!(model.of("other", &asin(1)), Recommended::default(), "per tenant");
    }

    #[test]
    fn a_candidate_past_the_bound_shows_only_what_it_was_seen() {
        let mut counts = TopCounts::default();
        for n in 0..=RECOMMENDATION_CANDIDATES_MAX as u32 {
            counts.bump(&asin(n));
        }
        let ranked = counts.ranked();
        let newest = ranked.iter().find(|(a, _)| *a == asin(RECOMMENDATION_CANDIDATES_MAX as u32));
        assert_eq!(newest, Some(&(asin(RECOMMENDATION_CANDIDATES_MAX as u32), 1)), "{ranked:?}");
        assert!(ranked.iter().all(|(_, seen)| *seen == 1), "each seen once: {ranked:?}");
    }

    #[test]
    fn of_a_large_order_only_its_first_products_are_learnt() {
        let model = Recommendations::default();
        let many: Vec<u32> = (0..ORDER_PRODUCTS_LEARNT_MAX as u32 + 4).collect();
        model.learn(&Tenant::from("t"), &order_of("alice", &many));
        let with_first = model.of("t", &asin(0)).bought_together;
        assert_eq!(with_first.len(), ORDER_PRODUCTS_LEARNT_MAX - 1);
        assert_eq!(model.of("t", &asin(many[many.len() - 1])), Recommended::default());
    }

    #[test]
    fn a_customers_later_order_pairs_with_their_earlier_products_both_ways() {
        let model = Recommendations::default();
        let tenant = Tenant::from("t");
        model.learn(&tenant, &order_of("alice", &[1]));
        model.learn(&tenant, &order_of("alice", &[2, 1]));
        model.learn(&tenant, &order_of("bob", &[3]));
        assert_eq!(asins(&model.of("t", &asin(1)).also_bought), [], "1 again is no new pair");
        assert_eq!(asins(&model.of("t", &asin(2)).also_bought), []);
        model.learn(&tenant, &order_of("alice", &[4]));
        assert_eq!(asins(&model.of("t", &asin(4)).also_bought), [(1, 1), (2, 1)]);
        assert_eq!(asins(&model.of("t", &asin(1)).also_bought), [(4, 1)]);
        assert!(model.of("t", &asin(3)).also_bought.is_empty(), "bob's alone");
        model.learn(&tenant, &order_of("alice", &[4]));
        model.learn(&tenant, &order_of("alice", &[1, 4]));
        assert_eq!(
            asins(&model.of("t", &asin(4)).also_bought),
            [(1, 1), (2, 1)],
            "once per customer: buying again counts nothing"
        );
    }

    #[test]
    fn a_customer_remembers_their_newest_products_only() {
        let model = Recommendations::default();
        let tenant = Tenant::from("t");
        let newest = CUSTOMER_PRODUCTS_MAX as u32;
        for n in 0..=newest {
            model.learn(&tenant, &order_of("alice", &[n]));
        }
        model.learn(&tenant, &order_of("alice", &[1_000]));
        let also = model.of("t", &asin(1_000)).also_bought;
        assert_eq!(also.len(), CUSTOMER_PRODUCTS_MAX);
        assert!(!also.iter().any(|(asin, _)| *asin == self::asin(0)), "the oldest is forgotten");
        let oldest = model.of("t", &asin(0)).also_bought;
        assert!(!oldest.iter().any(|(asin, _)| *asin == self::asin(1_000)), "{oldest:?}");
    }

    proptest::proptest! {
        /// Space-saving: within the bound every count is exact; past it the most counted
        /// candidate is never displaced by ones counted less; every kept count is at least
        /// the truth, and every count shown (less what was inherited) at most the truth.
        #[test]
        fn top_counts_keep_the_most_counted(bumps in proptest::collection::vec(0u32..60, 1..400)) {
            let mut counts = TopCounts::default();
            let mut truth = std::collections::BTreeMap::<u32, u32>::new();
            for n in &bumps {
                counts.bump(&asin(*n));
                *truth.entry(*n).or_default() += 1;
            }
            let ranked = counts.ranked();
            proptest::prop_assert!(ranked.len() <= RECOMMENDATION_CANDIDATES_MAX);
            for candidate in &counts.candidates {
                let n: u32 = candidate.asin.as_str()[1..].parse().unwrap();
                let (count, seen) = (candidate.count, truth[&n]);
                proptest::prop_assert!(count >= seen, "{n}: {count} < {seen}");
                proptest::prop_assert!(count - candidate.inherited <= seen, "{n}: more than seen");
            }
            let (top, top_count) = truth.iter().max_by_key(|(n, c)| (**c, std::cmp::Reverse(**n))).unwrap();
            let kept = ranked.iter().any(|(a, _)| *a == asin(*top));
            // The true leader can be missing only if the bound was hit and it is no more
            // frequent than the evictions could account for.
            let total: u32 = bumps.len() as u32;
            if truth.len() <= RECOMMENDATION_CANDIDATES_MAX {
                proptest::prop_assert!(kept);
                let exact: Vec<(u32, u32)> = asins(&ranked);
                for (n, count) in exact {
                    proptest::prop_assert_eq!(count, truth[&n]);
                }
            } else if *top_count as usize * RECOMMENDATION_CANDIDATES_MAX > total as usize {
                proptest::prop_assert!(kept, "a candidate above total / bound always stays");
            }
        }
    }
}
