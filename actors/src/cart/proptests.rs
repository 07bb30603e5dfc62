//! Random command sequences against one cart, invariants checked after every step; and
//! merges of random carts, which must be associative in the quantities they produce. Key
//! spaces are small (12 ASINs x 10 offers = 120 lines, a little over the line limit) and
//! quantities reach the cap, so refusals, caps and drops happen often.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::tests::{KEY, asin, cart_line, created, customer, eur, qty};
use super::*;
use crate::limits::{CART_LINE_QUANTITY_MAX, CART_LINES_MAX};
use crate::testing::Harness;

fn offer() -> impl Strategy<Value = OfferChoice> {
    prop_oneof![
        1 => Just(OfferChoice::BuyBox),
        9 => (0u8..9).prop_map(|n| OfferChoice::Seller(SellerId::parse(&format!("s{n}")).unwrap())),
    ]
}

fn units() -> impl Strategy<Value = u32> {
    prop_oneof![8 => 1u32..=5, 2 => 400u32..=CART_LINE_QUANTITY_MAX, 1 => Just(u32::MAX)]
}

fn line() -> impl Strategy<Value = CartLine> {
    (0u32..12, offer(), units(), 1i64..=3, 0u64..5)
        .prop_map(|(n, offer, units, price, at)| cart_line(n, offer, units, price * 100, at))
}

fn command() -> impl Strategy<Value = CartCommand> {
    let seen = (1i64..=3, any::<bool>());
    prop_oneof![
        12 => (0u32..12, offer(), units(), seen.clone()).prop_map(|(n, offer, units, (p, a))| {
            CartCommand::AddLine {
                asin: asin(n),
                offer,
                quantity: qty(units),
                seen_unit_price: eur(p * 100),
                seen_available: a,
            }
        }),
        3 => (0u32..12, offer(), units(), seen).prop_map(|(n, offer, units, (p, a))| {
            CartCommand::ChangeQuantity {
                asin: asin(n),
                offer,
                quantity: qty(units),
                seen_unit_price: eur(p * 100),
                seen_available: a,
            }
        }),
        2 => (0u32..12, offer()).prop_map(|(n, offer)| CartCommand::RemoveLine { asin: asin(n), offer }),
        2 => (0u32..3, 0u64..4, prop::collection::vec(line(), 0..30)).prop_map(|(from, revision, lines)| {
            CartCommand::MergeFrom { from: format!("eu/c-{from}"), revision, lines }
        }),
        1 => Just(CartCommand::Clear),
        1 => Just(CartCommand::Get),
    ]
}

fn check_state(cart: &Cart) {
    assert!(cart.lines.len() <= CART_LINES_MAX, "at most {CART_LINES_MAX} lines");
    for (key, line) in &cart.lines {
        assert_eq!(*key, line.key());
        let units = line.quantity.get();
        assert!((1..=CART_LINE_QUANTITY_MAX).contains(&units), "{units} units kept");
    }
}

/// Quantities by line after merging `parts` in order into a fresh cart.
fn merged(parts: &[Vec<CartLine>]) -> BTreeMap<LineKey, u32> {
    let mut cart = created();
    for (n, lines) in parts.iter().enumerate() {
        let from = format!("eu/c-part{n}");
        cart.run(CartCommand::MergeFrom { from, revision: 1, lines: lines.clone() }).unwrap();
    }
    cart.state.lines().map(|line| (line.key(), line.quantity.get())).collect()
}

fn lines_of(quantities: &BTreeMap<LineKey, u32>) -> Vec<CartLine> {
    quantities
        .iter()
        .map(|(key, units)| CartLine {
            asin: key.asin.clone(),
            offer: key.offer.clone(),
            quantity: qty(*units),
            seen_unit_price: eur(100),
            seen_available: true,
            seen_at_ms: 0,
        })
        .collect()
}

/// Small carts: 4 ASINs x 3 offers, far below the line limit (caps apply, drops do not).
fn small_cart() -> impl Strategy<Value = Vec<CartLine>> {
    let offer = prop_oneof![
        Just(OfferChoice::BuyBox),
        Just(OfferChoice::Seller(SellerId::parse("s1").unwrap())),
        Just(OfferChoice::Seller(SellerId::parse("s2").unwrap())),
    ];
    let units = prop_oneof![3 => 1u32..=10, 1 => 300u32..=CART_LINE_QUANTITY_MAX];
    prop::collection::vec((0u32..4, offer, units), 0..10).prop_map(|lines| {
        lines.into_iter().map(|(n, offer, units)| cart_line(n, offer, units, 100, 0)).collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn invariants_hold_after_every_step(commands in prop::collection::vec(command(), 1..150)) {
        let mut cart = created();
        let mut journal = vec![CartEvent::Created {
            owner: customer("c1"),
            currency: Currency::EUR,
            at_ms: 1,
        }];
        for (step, command) in commands.into_iter().enumerate() {
            cart.now_ms = step as u64;
            let before = cart.state.clone();
            let Ok((events, reply)) = cart.run(command.clone()) else {
                continue;
            };
            check_state(&cart.state);
            prop_assert_eq!(Some(reply.cart.clone()), cart.state.view());
            if let CartCommand::MergeFrom { from, revision, lines } = &command {
                let report = reply.merge.as_ref().expect("a merge reports");
                let repeat = before.merged.iter().any(|(f, at)| f == from && at >= revision);
                if repeat {
                    prop_assert!(events.is_empty() && *report == MergeReport::default());
                    prop_assert_eq!(&before, &cart.state);
                    continue;
                }
                for capped in &report.capped {
                    prop_assert_eq!(capped.kept.get(), CART_LINE_QUANTITY_MAX);
                    prop_assert!(capped.requested > u64::from(CART_LINE_QUANTITY_MAX));
                }
                for key in &report.dropped {
                    prop_assert!(before.line(key).is_none() && cart.state.line(key).is_none());
                }
                for line in lines {
                    let kept = cart.state.line(&line.key()).is_some();
                    prop_assert!(kept || report.dropped.contains(&line.key()));
                }
            }
            journal.extend(events);
        }
        let replayed = Harness::<Cart>::given(KEY, journal);
        prop_assert_eq!(replayed.state, cart.state, "replay yields the same state");
    }

    #[test]
    fn merge_is_associative_in_quantities(a in small_cart(), b in small_cart(), c in small_cart()) {
        let ab = lines_of(&merged(&[a.clone(), b.clone()]));
        let bc = lines_of(&merged(&[b.clone(), c.clone()]));
        let left = merged(&[ab, c.clone()]);
        let right = merged(&[a.clone(), bc]);
        prop_assert_eq!(&left, &right);
        prop_assert_eq!(&left, &merged(&[a.clone(), b.clone(), c.clone()]));
        // And each line holds the capped sum of what the three carts held.
        let mut sums: BTreeMap<LineKey, u64> = BTreeMap::new();
        for line in a.iter().chain(&b).chain(&c) {
            *sums.entry(line.key()).or_default() += u64::from(line.quantity.get());
        }
        let expected: BTreeMap<LineKey, u32> = sums
            .into_iter()
            .map(|(key, units)| (key, units.min(u64::from(CART_LINE_QUANTITY_MAX)) as u32))
            .collect();
        prop_assert_eq!(left, expected);
    }
}
