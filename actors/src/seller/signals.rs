//! Seller signals: pure rules that tell when something a seller did should be looked at by
//! support (a case, see [`super::cases`]). The marketplace's thresholds are in
//! [`StandingRules`] (`[sellers]`); a rule whose threshold is absent is off.
//!
//! - **Price drop**: an offer repriced to at most `100 − price_drop_case_pct` % of its
//!   previous price, or a new or repriced offer at most that share of the median of the
//!   product's other offers (at least two of them, so one cheap rival is not a "range").
//! - **Listing burst**: more than `listing_burst_case_per_min` new offers listed by one
//!   seller within a minute (signalled once a minute, by the listing past the threshold). A
//!   node counts what it serves (minutes back to back, from a seller's first listing); an
//!   offer withdrawn and listed again counts as new.
//! - **Defect rate**: a new order defect rate at or past `at_risk_defect_bps`.
//! - **Cancellation rate**: a seller that cancelled at least `cancellation_case_bps` of its
//!   recent orders (once it has `cancellation_orders_min` of them); at
//!   `suspend_cancellation_bps` the rules suspend it as well.

use super::cases::{CaseKind, Signal};
use super::{DefectRate, StandingRules};
use crate::ids::SellerId;
use crate::limits::CANCELLATION_ORDERS_MIN;
use crate::money::Money;

/// The price-drop signal of `seller`'s offer on `asin` priced `new` (was `previous`; the
/// other sellers' offers on the product are priced `others`).
pub fn price_drop(
    rules: &StandingRules,
    (seller, asin): (&SellerId, &str),
    previous: Option<Money>,
    new: Money,
    others: &[Money],
) -> Option<Signal> {
    let pct = rules.price_drop_case_pct?;
    // Only a new offer or a cut can drop a price (a stock or terms update keeps it).
    if previous.is_some_and(|before| before.currency == new.currency && new.minor >= before.minor) {
        return None;
    }
    // `new` at most (100 − pct) % of `reference`.
    let far_below = |reference: i64| {
        i128::from(new.minor) * 100 <= i128::from(reference) * i128::from(100 - pct.min(100))
    };
    let detail = match previous {
        Some(before) if before.currency == new.currency && far_below(before.minor) => {
            format!("price fell from {before} to {new}")
        }
        _ => {
            let mut rivals: Vec<i64> =
                others.iter().filter(|o| o.currency == new.currency).map(|o| o.minor).collect();
            if rivals.len() < 2 {
                return None;
            }
            rivals.sort_unstable();
            let median = rivals[rivals.len() / 2];
            if !far_below(median) {
                return None;
            }
            format!(
                "price {new} against a median of {} for the other offers",
                Money::new(median, new.currency)
            )
        }
    };
    let (kind, seller, subject) = (CaseKind::PriceDrop, seller.clone(), asin.to_owned());
    Some(Signal { kind, seller, subject, detail })
}

/// The listing-burst signal of `seller`, which has listed `new_this_minute` new offers in the
/// current minute (this one included).
pub fn listing_burst(
    rules: &StandingRules,
    seller: &SellerId,
    new_this_minute: u32,
) -> Option<Signal> {
    let threshold = rules.listing_burst_case_per_min?;
    if new_this_minute != threshold.saturating_add(1) {
        return None;
    }
    let detail = format!("more than {threshold} new listings within a minute");
    Some(Signal {
        kind: CaseKind::ListingBurst,
        seller: seller.clone(),
        subject: String::new(),
        detail,
    })
}

/// The defect-rate signal of `seller`, whose rate is now `defect_rate` (was `previous`).
pub fn defect_rate(
    rules: &StandingRules,
    seller: &SellerId,
    previous: DefectRate,
    defect_rate: DefectRate,
) -> Option<Signal> {
    let threshold = rules.at_risk_defect_bps?;
    if defect_rate == previous || defect_rate.bps() < threshold {
        return None;
    }
    let detail = format!("order defect rate {} bps (threshold {threshold})", defect_rate.bps());
    Some(Signal {
        kind: CaseKind::DefectRate,
        seller: seller.clone(),
        subject: String::new(),
        detail,
    })
}

/// What `seller`'s cancellations tell, now that it has cancelled `cancelled` of its recent
/// `orders`: a case for support, and whether the rules suspend it.
pub fn cancellation_rate(
    rules: &StandingRules,
    seller: &SellerId,
    cancelled: u32,
    orders: u32,
) -> (Option<Signal>, bool) {
    let judged = orders >= rules.cancellation_orders_min.unwrap_or(CANCELLATION_ORDERS_MIN);
    if !judged || orders == 0 {
        return (None, false);
    }
    let bps = u64::from(cancelled.min(orders)) * 10_000 / u64::from(orders);
    let reached = |threshold: Option<u16>| threshold.is_some_and(|t| bps >= u64::from(t));
    let suspend = reached(rules.suspend_cancellation_bps);
    let signal = reached(rules.cancellation_case_bps).then(|| Signal {
        kind: CaseKind::CancellationRate,
        seller: seller.clone(),
        subject: String::new(),
        detail: format!("cancelled {cancelled} of its last {orders} orders ({bps} bps)"),
    });
    (signal, suspend)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;

    fn eur(minor: i64) -> Money {
        Money::new(minor, Currency::EUR)
    }

    fn rules() -> StandingRules {
        StandingRules { price_drop_case_pct: Some(50), ..StandingRules::MARKETPLACE }
    }

    fn drop(previous: Option<i64>, new: i64, others: &[i64]) -> Option<String> {
        let seller = SellerId::parse("s1").unwrap();
        let others: Vec<Money> = others.iter().map(|&o| eur(o)).collect();
        price_drop(&rules(), (&seller, "B000000001"), previous.map(eur), eur(new), &others)
            .map(|signal| signal.detail)
    }

    #[test]
    fn a_price_halved_or_half_the_others_median_is_a_signal() {
        assert!(drop(Some(2_000), 1_000, &[]).is_some(), "halved");
        assert!(drop(Some(2_000), 1_001, &[]).is_none(), "just short of half");
        assert!(drop(None, 1_000, &[2_000, 2_100, 1_900]).is_some(), "half the median");
        assert!(drop(None, 1_000, &[2_000]).is_none(), "one rival is no range");
        assert!(drop(Some(1_100), 1_000, &[1_200, 1_300]).is_none(), "a small cut");
        assert!(drop(Some(500), 500, &[2_000, 2_100]).is_none(), "unchanged: no new signal");
        assert!(drop(Some(600), 500, &[2_000, 2_100]).is_some(), "cut, far below the others");
        let off = StandingRules { price_drop_case_pct: None, ..rules() };
        let seller = SellerId::parse("s1").unwrap();
        assert!(price_drop(&off, (&seller, "B1"), Some(eur(2_000)), eur(1), &[]).is_none());
    }

    #[test]
    fn the_listing_past_the_threshold_is_a_signal_once_a_minute() {
        let seller = SellerId::parse("s1").unwrap();
        let rules = StandingRules { listing_burst_case_per_min: Some(3), ..rules() };
        let fired: Vec<u32> =
            (1..=6).filter(|n| listing_burst(&rules, &seller, *n).is_some()).collect();
        assert_eq!(fired, [4]);
        let off = StandingRules { listing_burst_case_per_min: None, ..rules };
        assert!(listing_burst(&off, &seller, 4).is_none());
    }

    #[test]
    fn a_new_defect_rate_at_the_threshold_is_a_signal() {
        let seller = SellerId::parse("s1").unwrap();
        let rate = |bps| DefectRate::try_from(bps).unwrap();
        let rules = StandingRules::MARKETPLACE;
        assert!(defect_rate(&rules, &seller, rate(0), rate(100)).is_some());
        assert!(defect_rate(&rules, &seller, rate(0), rate(99)).is_none());
        assert!(defect_rate(&rules, &seller, rate(150), rate(150)).is_none(), "unchanged");
    }

    #[test]
    fn a_cancellation_rate_past_the_thresholds_raises_a_case_then_suspends() {
        let seller = SellerId::parse("s1").unwrap();
        let rules = rules();
        let judge = |cancelled, orders| {
            let (signal, suspend) = cancellation_rate(&rules, &seller, cancelled, orders);
            (signal.is_some(), suspend)
        };
        assert_eq!(judge(19, 19), (false, false), "too few orders to judge");
        assert_eq!(judge(0, 20), (false, false));
        assert_eq!(judge(4, 200), (false, false), "2 %");
        assert_eq!(judge(5, 200), (true, false), "2.5 %: a case");
        assert_eq!(judge(2, 20), (true, true), "10 %: suspended too");
        let off =
            StandingRules { cancellation_case_bps: None, suspend_cancellation_bps: None, ..rules };
        assert_eq!(cancellation_rate(&off, &seller, 20, 20).0, None);
        let few = StandingRules { cancellation_orders_min: Some(2), ..rules };
        assert!(cancellation_rate(&few, &seller, 1, 2).1, "1 of 2");
    }
}
