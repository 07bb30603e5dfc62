//! The schedule: repeatable by seed, shaped by the profile, the flash ASIN left to the sale.

use super::*;
use crate::sim::scenario::Scenario;

const SIZES: Sizes = Sizes { products: 300, sellers: 6, customers: 300, offers: 2, flash: Some(1) };

fn scenario(extra: &str) -> Scenario {
    let text = format!("{}{extra}", crate::sim::scenario::DEFAULT_TOML);
    Scenario::parse(&text, "test", "test").unwrap()
}

#[test]
fn the_same_seed_gives_the_same_plan_and_another_seed_another() {
    let s = scenario("");
    let a = plan(&s, 7, 20.0, SIZES).unwrap();
    assert_eq!(a, plan(&s, 7, 20.0, SIZES).unwrap());
    assert_ne!(a.requests, plan(&s, 8, 20.0, SIZES).unwrap().requests);
}

#[test]
fn requests_are_sorted_within_the_run_at_about_the_rate() {
    let s = scenario("");
    let p = plan(&s, 1, 60.0, SIZES).unwrap();
    assert!(p.requests.windows(2).all(|w| w[0].at_us <= w[1].at_us));
    assert!(p.requests.iter().all(|r| r.at_us < 60_000_000));
    let base = p.requests.len() as f64;
    // 80/s for 60 s, plus 20/s storm for 10 s and 15/s flash for 10 s: 5,150 expected.
    assert!((4_800.0..5_500.0).contains(&base), "{base}");
}

#[test]
fn a_spike_multiplies_the_rate_in_its_window_only() {
    let s = scenario("").clone();
    let mut s = s;
    s.arrival.profile = Profile::Spike;
    s.arrival.peak_factor = 20.0;
    s.arrival.spike_at_s = 10.0;
    s.arrival.spike_for_s = 5.0;
    s.price_storm = None;
    s.flash_sale = None;
    let p = plan(&s, 3, 30.0, Sizes { flash: None, ..SIZES }).unwrap();
    let in_window = |from: u64, until: u64| {
        p.requests.iter().filter(|r| (from..until).contains(&r.at_us)).count() as f64
    };
    let before = in_window(0, 5_000_000) / 5.0;
    let spike = in_window(10_000_000, 15_000_000) / 5.0;
    assert!((60.0..100.0).contains(&before), "{before}");
    assert!((1_400.0..1_800.0).contains(&spike), "{spike}");
}

#[test]
fn only_the_flash_sale_buys_the_flash_asin_and_only_in_its_window() {
    let p = plan(&scenario(""), 5, 60.0, SIZES).unwrap();
    let flash: Vec<&Planned> = p
        .requests
        .iter()
        .filter(|r| {
            matches!(r.op, Op::Checkout { product: 1, .. } | Op::CartChange { product: 1, .. })
        })
        .collect();
    assert!(flash.len() > 100, "{}", flash.len());
    assert!(flash.iter().all(|r| (35_000_000..45_000_000).contains(&r.at_us)));
    let storm = p.requests.iter().filter(|r| matches!(r.op, Op::PriceUpdate { product: 0, .. }));
    assert!(storm.count() > 150);
}

#[test]
fn drills_become_start_and_end_events_and_a_feed_spike_adds_feeds() {
    let drills = "\n[[drills]]\nkind = \"psp_outage\"\npsp = 0\nat_s = 5\nfor_s = 5\n\
        [[drills]]\nkind = \"feed_spike\"\nat_s = 20\nfor_s = 5\nrate_per_s = 40\n";
    let with = plan(&scenario(drills), 1, 60.0, SIZES).unwrap();
    let names: Vec<&str> = with.drills.iter().map(|d| d.action.name()).collect();
    assert_eq!(names, ["psp_outage", "psp_restored", "feed_spike", "feed_spike_end"]);
    assert_eq!(with.drills[0].at_us, 5_000_000);
    let feeds = |p: &Plan| {
        let in_spike = |r: &&Planned| (20_000_000..25_000_000).contains(&r.at_us);
        let feed = |r: &&Planned| matches!(r.op, Op::InventoryFeed { .. });
        p.requests.iter().filter(in_spike).filter(feed).count()
    };
    let without = plan(&scenario(""), 1, 60.0, SIZES).unwrap();
    assert!(feeds(&with) > feeds(&without) + 150, "{} {}", feeds(&with), feeds(&without));
}
