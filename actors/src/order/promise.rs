//! Delivery promises: the date by which a shipment should arrive, from the order's time (the
//! injected clock), the shipment's handling days, the location's daily cut-off and the
//! carrier's transit days to the destination. All in UTC; Saturdays and Sundays are neither
//! handling nor transit days.
//!
//! The rule: the order is handled from the first business day whose cut-off has not passed
//! (today, if it is a business day before the cut-off hour); it leaves `handling_days`
//! business days after that day and arrives `transit_days` business days after it leaves;
//! the promise is the end of that day (its last millisecond).

use serde::{Deserialize, Serialize};

use super::DAY_MS;
use crate::ids::LocationCode;

const HOUR_MS: u64 = 60 * 60 * 1000;

/// What a plan needs beyond the order: the carrier's transit days to the order's
/// destination and the locations' daily cut-off hour (UTC, `0..=23`; 24 means none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryTerms {
    pub transit_days: u8,
    pub cutoff_hour_utc: u8,
}

/// The terms of every shipment of one order: each location's cut-off and transit days to the
/// order's destination (`cutoff_hour_utc` and `transit_days` for a location not named: how
/// far a destination is without zones).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryPlan {
    pub cutoff_hour_utc: u8,
    pub transit_days: u8,
    pub by_location: Vec<(LocationCode, DeliveryTerms)>,
}

impl DeliveryPlan {
    /// The terms of a shipment from `location`.
    pub fn terms(&self, location: &LocationCode) -> DeliveryTerms {
        let named = self.by_location.iter().find(|(code, _)| code == location);
        let default = DeliveryTerms {
            transit_days: self.transit_days,
            cutoff_hour_utc: self.cutoff_hour_utc,
        };
        named.map_or(default, |(_, terms)| *terms)
    }
}

impl From<DeliveryTerms> for DeliveryPlan {
    /// The same terms from every location.
    fn from(terms: DeliveryTerms) -> DeliveryPlan {
        DeliveryPlan {
            cutoff_hour_utc: terms.cutoff_hour_utc,
            transit_days: terms.transit_days,
            by_location: Vec::new(),
        }
    }
}

/// Days since the Unix epoch that fall on a Saturday or a Sunday (1970-01-01 was a
/// Thursday).
fn weekend(day: u64) -> bool {
    (day + 3) % 7 >= 5
}

/// `count` business days after `day` (itself when `count` is 0).
fn business_days_after(mut day: u64, count: u8) -> u64 {
    for _ in 0..count {
        day += 1;
        while weekend(day) {
            day += 1;
        }
    }
    day
}

/// When a shipment handled in `handling_days`, for an order placed at `now_ms`, is
/// promised (see the module doc).
pub fn promised_by(now_ms: u64, handling_days: u8, terms: DeliveryTerms) -> u64 {
    let today = now_ms / DAY_MS;
    let past_cutoff = now_ms % DAY_MS >= u64::from(terms.cutoff_hour_utc) * HOUR_MS;
    let mut start = if past_cutoff { today + 1 } else { today };
    while weekend(start) {
        start += 1;
    }
    let leaves = business_days_after(start, handling_days);
    let arrives = business_days_after(leaves, terms.transit_days);
    arrives.saturating_mul(DAY_MS).saturating_add(DAY_MS - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-12-07 was a Monday.
    const MONDAY: u64 = 20_794;

    fn at(day: u64, hour: u64) -> u64 {
        day * DAY_MS + hour * HOUR_MS
    }

    fn day_of(promise: u64) -> u64 {
        assert_eq!(promise % DAY_MS, DAY_MS - 1, "the end of a day");
        promise / DAY_MS
    }

    const TERMS: DeliveryTerms = DeliveryTerms { transit_days: 2, cutoff_hour_utc: 14 };

    #[test]
    fn the_calendar_is_right() {
        assert!(!weekend(MONDAY) && !weekend(MONDAY + 4));
        assert!(weekend(MONDAY + 5) && weekend(MONDAY + 6) && !weekend(MONDAY + 7));
    }

    #[test]
    fn before_the_cutoff_today_counts_after_it_tomorrow_does() {
        // Monday 10:00, one day's handling: leaves Tuesday, arrives Thursday.
        assert_eq!(day_of(promised_by(at(MONDAY, 10), 1, TERMS)), MONDAY + 3);
        // Monday 15:00 (past 14:00): handled from Tuesday, leaves Wednesday, arrives Friday.
        assert_eq!(day_of(promised_by(at(MONDAY, 15), 1, TERMS)), MONDAY + 4);
        // Exactly at the cut-off is past it.
        assert_eq!(day_of(promised_by(at(MONDAY, 14), 0, TERMS)), MONDAY + 3);
        assert_eq!(day_of(promised_by(at(MONDAY, 13), 0, TERMS)), MONDAY + 2);
    }

    #[test]
    fn weekends_are_neither_handled_nor_travelled() {
        // Friday 15:00: handled from Monday; leaves Monday (0 days), arrives Wednesday.
        assert_eq!(day_of(promised_by(at(MONDAY + 4, 15), 0, TERMS)), MONDAY + 9);
        // Saturday morning: the same.
        assert_eq!(day_of(promised_by(at(MONDAY + 5, 9), 0, TERMS)), MONDAY + 9);
        // Thursday 9:00, two days' handling: leaves Monday, arrives Wednesday.
        assert_eq!(day_of(promised_by(at(MONDAY + 3, 9), 2, TERMS)), MONDAY + 9);
        // Friday 9:00, same-day dispatch, one day's transit: arrives Monday.
        let next_day = DeliveryTerms { transit_days: 1, ..TERMS };
        assert_eq!(day_of(promised_by(at(MONDAY + 4, 9), 0, next_day)), MONDAY + 7);
    }

    #[test]
    fn no_cutoff_means_any_time_today() {
        let none = DeliveryTerms { transit_days: 0, cutoff_hour_utc: 24 };
        assert_eq!(day_of(promised_by(at(MONDAY, 23), 0, none)), MONDAY);
    }
}
