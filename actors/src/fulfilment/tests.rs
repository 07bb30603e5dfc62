//! The zones' lookups, the plan's choices and the split's arithmetic.

use proptest::prelude::*;

use super::*;
use crate::order::fixtures::LineSpec;

fn zones() -> Zones {
    let map = |pairs: &[(&str, &str)]| {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<BTreeMap<_, _>>()
    };
    let transit = [
        ("west", [("west", 1u8), ("east", 4), ("mid", 2)]),
        ("east", [("west", 4), ("east", 1), ("mid", 2)]),
    ];
    Zones {
        locations: map(&[("SEA1", "west"), ("NYC1", "east")]),
        destinations: map(&[("US", "mid"), ("US:0", "east"), ("US:98", "west"), ("US:9", "mid")]),
        transit: transit
            .iter()
            .map(|(from, to)| {
                let to = to.iter().map(|(zone, days)| (zone.to_string(), *days)).collect();
                (from.to_string(), to)
            })
            .collect(),
    }
}

fn us() -> CountryCode {
    CountryCode::parse("US").unwrap()
}

fn source(location: &str, available: u32, transit_days: u8) -> Source {
    Source { location: LocationCode::parse(location).unwrap(), available, transit_days }
}

fn parts(plan: &[(LocationCode, u32)]) -> Vec<(&str, u32)> {
    plan.iter().map(|(location, units)| (location.as_str(), *units)).collect()
}

#[test]
fn a_destination_takes_the_zone_of_its_longest_postal_prefix() {
    let zones = zones();
    assert_eq!(zones.destination(us(), "98101"), Some("west"));
    assert_eq!(zones.destination(us(), " 9 8 1 "), Some("west"));
    assert_eq!(zones.destination(us(), "94105"), Some("mid"));
    assert_eq!(zones.destination(us(), "02139"), Some("east"));
    assert_eq!(zones.destination(us(), "60601"), Some("mid"));
    assert_eq!(zones.destination(us(), ""), Some("mid"));
    assert_eq!(zones.destination(CountryCode::parse("DE").unwrap(), "10115"), None);
    assert!(zones.reads_postal_codes());
}

#[test]
fn transit_needs_both_zones_and_a_figure() {
    let zones = zones();
    assert_eq!(zones.transit_days("SEA1", Some("west")), Some(1));
    assert_eq!(zones.transit_days("NYC1", Some("west")), Some(4));
    assert_eq!(zones.transit_days("FRA1", Some("west")), None);
    assert_eq!(zones.transit_days("SEA1", None), None);
    assert_eq!(zones.transit_days("SEA1", Some("moon")), None);
    assert_eq!(zones.slowest_into(us()), Some(4));
    assert_eq!(zones.slowest_into(CountryCode::parse("DE").unwrap()), None);
}

#[test]
fn bad_zones_are_refused() {
    assert_eq!(zones().validate(), Ok(()));
    let mut bad = zones();
    bad.locations.insert("fra 1".into(), "west".into());
    assert!(bad.validate().unwrap_err().contains("location code"));
    for key in ["XX", "US:", "US:ab", "US:12345678901", "USA"] {
        let mut bad = zones();
        bad.destinations.insert(key.into(), "west".into());
        assert!(bad.validate().unwrap_err().contains("destinations"), "{key}");
    }
    let mut bad = zones();
    bad.transit.get_mut("west").unwrap().insert("far".into(), 31);
    assert!(bad.validate().unwrap_err().contains("transit"));
}

#[test]
fn the_nearest_location_with_enough_ships_the_whole_line() {
    let mut sources = vec![source("NYC1", 10, 4), source("SEA1", 3, 1), source("CHI1", 5, 2)];
    rank(&mut sources);
    let order: Vec<&str> = sources.iter().map(|s| s.location.as_str()).collect();
    assert_eq!(order, ["SEA1", "CHI1", "NYC1"]);
    assert_eq!(parts(&plan(3, &sources, LINE_SOURCES_MAX).unwrap()), [("SEA1", 3)]);
    assert_eq!(parts(&plan(4, &sources, LINE_SOURCES_MAX).unwrap()), [("CHI1", 4)]);
    // One parcel from afar beats two from nearer.
    assert_eq!(parts(&plan(9, &sources, LINE_SOURCES_MAX).unwrap()), [("NYC1", 9)]);
}

#[test]
fn a_line_no_location_can_serve_alone_is_split_nearest_first() {
    let mut sources = vec![source("NYC1", 4, 4), source("SEA1", 3, 1), source("CHI1", 0, 2)];
    rank(&mut sources);
    assert_eq!(parts(&plan(6, &sources, LINE_SOURCES_MAX).unwrap()), [("SEA1", 3), ("NYC1", 3)]);
    assert_eq!(plan(8, &sources, LINE_SOURCES_MAX), Err(7));
    // Equal distance: the fuller first.
    let mut even = vec![source("A1", 2, 1), source("B1", 5, 1)];
    rank(&mut even);
    assert_eq!(parts(&plan(6, &even, LINE_SOURCES_MAX).unwrap()), [("B1", 5), ("A1", 1)]);
}

#[test]
fn when_the_nearest_are_too_small_the_fullest_make_it_up() {
    let mut sources: Vec<Source> = (0..4)
        .map(|n| source(&format!("N{n}"), 1, 1))
        .chain([source("F1", 5, 3), source("F2", 5, 4)])
        .collect();
    rank(&mut sources);
    assert_eq!(parts(&plan(10, &sources, LINE_SOURCES_MAX).unwrap()), [("F1", 5), ("F2", 5)]);
    assert_eq!(plan(15, &sources, LINE_SOURCES_MAX), Err(14));
    assert_eq!(parts(&plan(2, &sources, 1).unwrap()), [("F1", 2)]);
    assert_eq!(plan(6, &sources, 1), Err(14));
    assert_eq!(plan(1, &sources, 0), Err(14));
}

#[test]
fn a_split_line_shares_its_money_by_units() {
    let spec = LineSpec {
        quantity: 5,
        discount: 101,
        shipping: 499,
        ..LineSpec::new("s1", "SEA1", 1_000)
    };
    let line = spec.line(0);
    let at = |code: &str, units: u32| {
        (LocationCode::parse(code).unwrap(), Quantity::new(units).unwrap())
    };
    let split = split_line(&line, &[at("SEA1", 3), at("NYC1", 2)]);
    assert_eq!(split.len(), 2);
    assert_eq!((split[0].quantity.get(), split[1].quantity.get()), (3, 2));
    assert_eq!((split[0].discount.minor, split[1].discount.minor), (61, 40));
    assert_eq!((split[0].shipping.minor, split[1].shipping.minor), (299, 200));
    assert_eq!(split[1].location.as_str(), "NYC1");
    assert_eq!(split[0].net.minor, 3_000 - 61 + 299);
}

fn sources_strategy() -> impl Strategy<Value = Vec<Source>> {
    prop::collection::vec((0u32..8, 0u8..4), 0..7).prop_map(|raw| {
        raw.into_iter()
            .enumerate()
            .map(|(n, (available, days))| source(&format!("L{n}"), available, days))
            .collect()
    })
}

proptest! {
    #[test]
    fn a_plan_takes_what_is_there_and_adds_up(quantity in 1u32..30, mut sources in sources_strategy()) {
        rank(&mut sources);
        let total: u32 = sources.iter().map(|s| s.available).sum();
        match plan(quantity, &sources, LINE_SOURCES_MAX) {
            Ok(parts) => {
                prop_assert!(!parts.is_empty() && parts.len() <= LINE_SOURCES_MAX);
                prop_assert_eq!(parts.iter().map(|(_, units)| units).sum::<u32>(), quantity);
                for (location, units) in &parts {
                    let source = sources.iter().find(|s| &s.location == location).unwrap();
                    prop_assert!(*units > 0 && *units <= source.available);
                    prop_assert_eq!(parts.iter().filter(|(l, _)| l == location).count(), 1);
                }
                if sources.iter().any(|s| s.available >= quantity) {
                    prop_assert_eq!(parts.len(), 1);
                }
            }
            Err(all) => {
                prop_assert_eq!(all, total);
                let mut largest: Vec<u32> = sources.iter().map(|s| s.available).collect();
                largest.sort_unstable_by(|a, b| b.cmp(a));
                prop_assert!(largest.iter().take(LINE_SOURCES_MAX).sum::<u32>() < quantity);
            }
        }
    }

    #[test]
    fn split_parts_add_up_and_each_is_a_line(
        quantity in 1u32..20,
        unit_price in 0i64..100_000,
        discount_share in 0u32..=100,
        shipping in 0i64..10_000,
        cuts in prop::collection::vec(1u32..20, 0..3),
    ) {
        let discount = unit_price * i64::from(quantity) * i64::from(discount_share) / 100;
        let spec = LineSpec { quantity, discount, shipping, ..LineSpec::new("s1", "A1", unit_price) };
        let line = spec.line(0);
        let mut left = quantity;
        let mut parts = Vec::new();
        for (n, cut) in cuts.iter().enumerate() {
            let take = (*cut).min(left.saturating_sub(1));
            if take > 0 {
                parts.push((LocationCode::parse(&format!("P{n}")).unwrap(), Quantity::new(take).unwrap()));
                left -= take;
            }
        }
        parts.push((LocationCode::parse("LAST").unwrap(), Quantity::new(left).unwrap()));
        let split = split_line(&line, &parts);
        let sum = |f: fn(&OrderLine) -> i64| split.iter().map(f).sum::<i64>();
        prop_assert_eq!(sum(|l| l.discount.minor), line.discount.minor);
        prop_assert_eq!(sum(|l| l.shipping.minor), line.shipping.minor);
        prop_assert_eq!(sum(|l| l.vat.minor), line.vat.minor);
        prop_assert_eq!(sum(|l| l.net.minor), line.net.minor);
        prop_assert_eq!(sum(|l| l.total.minor), line.total.minor);
        prop_assert_eq!(split.iter().map(|l| l.quantity.get()).sum::<u32>(), quantity);
        for part in &split {
            let subtotal = part.unit_price.minor * i64::from(part.quantity.get());
            prop_assert!(part.discount.minor >= 0 && part.discount.minor <= subtotal);
            prop_assert_eq!(part.net.minor, subtotal - part.discount.minor + part.shipping.minor);
            prop_assert_eq!(part.total.minor, part.net.minor + part.vat.minor);
            prop_assert_eq!(&part.asin, &line.asin);
        }
    }
}
