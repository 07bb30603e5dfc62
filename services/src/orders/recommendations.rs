//! "Bought together" and "also bought": what the order book learns from each placed order,
//! for `GET /v1/products/{asin}/recommendations`.
//!
//! - **Bought together**: two products in one order. Each order counts once (the order book
//!   hands an order over the first time it sees it, from the journal's fold at start or from
//!   its projection), each pair of distinct products in it once.
//! - **Also bought**: two products one customer bought in different orders. A new order's
//!   products pair with those of the customer's earlier orders (the newest
//!   [`CUSTOMER_PRODUCTS_MAX`] remembered).
//! - Memory is bounded per product: at most [`RECOMMENDATION_CANDIDATES_MAX`] candidates in
//!   each list, counted with the space-saving algorithm (a new candidate past the bound takes
//!   the place of the least counted, and its count plus one), so the products most often
//!   bought together stay while the tail churns, and no count is below the truth. A customer
//!   who ordered keeps the list of their newest products.
//! - Every order counts, whatever became of it later (a cancelled order still says what a
//!   shopper wanted together). Rebuilt with the order book at start.
//!
//! Locks: one map entry at a time, never two.

use std::collections::VecDeque;
use std::sync::Arc;

use dashmap::DashMap;

use crate::limits::{CUSTOMER_PRODUCTS_MAX, RECOMMENDATION_CANDIDATES_MAX};
use bazaar_actors::Asin;
use bazaar_actors::cart::CustomerId;
use bazaar_actors::order::OrderView;

type Tenant = Arc<str>;

/// Candidates for one product with how often each was bought with it, bounded by
/// [`RECOMMENDATION_CANDIDATES_MAX`].
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct TopCounts {
    counts: Vec<(Asin, u32)>,
}

impl TopCounts {
    /// Counts `asin` once more; past the bound it replaces the least counted candidate.
    fn bump(&mut self, asin: &Asin) {
        if let Some((_, count)) = self.counts.iter_mut().find(|(known, _)| known == asin) {
            *count = count.saturating_add(1);
        } else if self.counts.len() < RECOMMENDATION_CANDIDATES_MAX {
            self.counts.push((asin.clone(), 1));
        } else if let Some(least) = self.counts.iter_mut().min_by_key(|(_, count)| *count) {
            *least = (asin.clone(), least.1.saturating_add(1));
        }
    }

    /// The candidates, most counted first (then by ASIN), each with its count.
    fn ranked(&self) -> Vec<(Asin, u32)> {
        let mut ranked = self.counts.clone();
        ranked.sort_by(|(a, x), (b, y)| y.cmp(x).then_with(|| a.cmp(b)));
        ranked
    }
}

/// A product's candidates, most counted first: ASIN and how many orders (or customers) had
/// both, an estimate never below the truth.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Recommended {
    pub bought_together: Vec<(Asin, u32)>,
    pub also_bought: Vec<(Asin, u32)>,
}

/// What the orders say about which products go together, per tenant.
#[derive(Default)]
pub(super) struct Recommendations {
    together: DashMap<(Tenant, Asin), TopCounts>,
    also: DashMap<(Tenant, Asin), TopCounts>,
    /// Each customer's newest products, newest last.
    customers: DashMap<(Tenant, CustomerId), VecDeque<Asin>>,
}

impl Recommendations {
    /// Learns from an order placed in `tenant`: call once per order.
    pub(super) fn learn(&self, tenant: &Tenant, order: &OrderView) {
        let mut products: Vec<Asin> = order.lines.iter().map(|line| line.asin.clone()).collect();
        products.sort();
        products.dedup();
        for asin in &products {
            let mut counts = self.together.entry((tenant.clone(), asin.clone())).or_default();
            products.iter().filter(|other| *other != asin).for_each(|other| counts.bump(other));
        }
        let earlier: Vec<Asin> = {
            let key = (tenant.clone(), order.customer.clone());
            let mut bought = self.customers.entry(key).or_default();
            let earlier = bought.iter().filter(|asin| !products.contains(asin)).cloned().collect();
            for asin in &products {
                bought.retain(|known| known != asin);
                bought.push_back(asin.clone());
            }
            while bought.len() > CUSTOMER_PRODUCTS_MAX {
                bought.pop_front();
            }
            earlier
        };
        for (asin, others) in [(&products, &earlier), (&earlier, &products)] {
            for one in asin {
                let mut counts = self.also.entry((tenant.clone(), one.clone())).or_default();
                others.iter().for_each(|other| counts.bump(other));
            }
        }
    }

    /// What goes with `asin` in `tenant`, most counted first.
    pub(super) fn of(&self, tenant: &str, asin: &Asin) -> Recommended {
        let key = (Tenant::from(tenant), asin.clone());
        let ranked = |map: &DashMap<(Tenant, Asin), TopCounts>| {
            map.get(&key).map(|counts| counts.ranked()).unwrap_or_default()
        };
        Recommended { bought_together: ranked(&self.together), also_bought: ranked(&self.also) }
    }
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
    }

    proptest::proptest! {
        /// Space-saving: within the bound every count is exact; past it the most counted
        /// candidate is never displaced by ones counted less, and no count is below the
        /// truth.
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
            for (asin, count) in &ranked {
                let n: u32 = asin.as_str()[1..].parse().unwrap();
                proptest::prop_assert!(*count >= truth[&n], "{n}: {count} < {}", truth[&n]);
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
