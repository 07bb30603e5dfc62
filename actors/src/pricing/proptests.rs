//! Random carts, promotions and coupons against the invariants of the module doc: no
//! negative amount, discounts within what they discount, VAT non-negative, every total the
//! sum of its lines, the applied promotions adding up to the discounts, and the same price
//! whatever the order of the lines or of the promotions. Tiny ASIN, seller, id and code
//! spaces, so scopes overlap, buy-X-get-Y groups form and non-stackables compete.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use super::tests::{asin, code, de, eur, seller, vat_table};
use super::*;
use crate::limits::{BPS_MAX, CART_LINE_QUANTITY_MAX, PRICE_MINOR_MAX};
use crate::promotion::{Benefit, PromotionDefinition, RedemptionLimits, Scope, Window};

const NOW_MS: u64 = 1_000;

fn asin_text() -> impl Strategy<Value = String> {
    (0u8..3).prop_map(|n| format!("B00000000{n}"))
}

fn seller_text() -> impl Strategy<Value = String> {
    (0u8..3).prop_map(|n| format!("s{n}"))
}

fn tax_class() -> impl Strategy<Value = TaxClass> {
    prop::sample::select(vec![
        TaxClass::Standard,
        TaxClass::Reduced,
        TaxClass::SuperReduced,
        TaxClass::Zero,
        TaxClass::Exempt,
    ])
}

fn pricing_line() -> impl Strategy<Value = PricingLine> {
    let unit = prop_oneof![8 => 0i64..=3_000, 1 => Just(1i64), 1 => Just(PRICE_MINOR_MAX)];
    let units = prop_oneof![8 => 1u32..=5, 1 => Just(CART_LINE_QUANTITY_MAX)];
    (asin_text(), seller_text(), unit, 0i64..=600, units, tax_class()).prop_map(
        |(asin_text, seller_text, unit, shipping, units, tax_class)| PricingLine {
            asin: asin(&asin_text),
            seller: seller(&seller_text),
            unit_price: eur(unit),
            shipping: eur(shipping),
            quantity: Quantity::new(units).unwrap(),
            tax_class,
        },
    )
}

fn benefit() -> impl Strategy<Value = Benefit> {
    let bps = prop_oneof![1u16..=BPS_MAX, Just(1), Just(3_333), Just(5_000), Just(BPS_MAX)];
    prop_oneof![
        bps.prop_map(|bps| Benefit::PercentOff { bps }),
        (1i64..=5_000).prop_map(|minor| Benefit::AmountOff { amount: eur(minor) }),
        (1u32..=3, 1u32..=2).prop_map(|(buy, get)| Benefit::BuyXGetY {
            buy: Quantity::new(buy).unwrap(),
            get: Quantity::new(get).unwrap(),
        }),
        (0i64..=6_000).prop_map(|minor| Benefit::FreeShipping { threshold: eur(minor) }),
    ]
}

fn scope() -> impl Strategy<Value = Scope> {
    prop_oneof![
        2 => Just(Scope::Marketplace),
        1 => seller_text().prop_map(|text| Scope::Seller(seller(&text))),
        1 => prop::collection::btree_set(asin_text(), 1..3)
            .prop_map(|texts| Scope::Asins(texts.iter().map(|text| asin(text)).collect())),
    ]
}

fn definition() -> impl Strategy<Value = PromotionDefinition> {
    let window = prop_oneof![
        6 => Just(Window { starts_ms: 0, ends_ms: 2 * NOW_MS }),
        1 => Just(Window { starts_ms: NOW_MS + 1, ends_ms: 2 * NOW_MS }),
        1 => Just(Window { starts_ms: 0, ends_ms: NOW_MS }),
    ];
    let coupon =
        prop_oneof![3 => Just(None), 1 => Just(Some(code("C1"))), 1 => Just(Some(code("C2")))];
    let minimum = prop_oneof![3 => Just(None), 1 => (1i64..=8_000).prop_map(|m| Some(eur(m)))];
    (benefit(), window, coupon, scope(), any::<bool>(), 0u16..3, minimum).prop_map(
        |(benefit, window, coupon, scope, stackable, priority, minimum)| PromotionDefinition {
            benefit,
            window,
            coupon,
            scope,
            stackable,
            priority,
            minimum,
            limits: RedemptionLimits { total: 10, per_customer: 1 },
        },
    )
}

/// Promotions with distinct ids.
fn promotions() -> impl Strategy<Value = Vec<CandidatePromotion>> {
    prop::collection::vec((0u8..8, definition()), 0..7).prop_map(|pairs| {
        let unique: BTreeMap<u8, PromotionDefinition> = pairs.into_iter().collect();
        unique
            .into_iter()
            .map(|(n, definition)| CandidatePromotion {
                id: PromotionId::parse(&format!("p{n}")).unwrap(),
                definition,
            })
            .collect()
    })
}

fn coupons() -> impl Strategy<Value = Vec<CouponCode>> {
    prop::collection::vec(prop::sample::select(vec!["C1", "C2", "C3"]), 0..3)
        .prop_map(|texts| texts.into_iter().map(code).collect())
}

/// A cart, its promotions and codes, and the same with lines and promotions reordered.
type Case = (Vec<PricingLine>, Vec<CandidatePromotion>, Vec<CouponCode>);

fn cases() -> impl Strategy<Value = (Case, Vec<PricingLine>, Vec<CandidatePromotion>)> {
    (prop::collection::vec(pricing_line(), 0..8), promotions(), coupons()).prop_flat_map(
        |(lines, promotions, coupons)| {
            let shuffled_lines = Just(lines.clone()).prop_shuffle();
            let shuffled_promotions = Just(promotions.clone()).prop_shuffle();
            (Just((lines, promotions, coupons)), shuffled_lines, shuffled_promotions)
        },
    )
}

fn run(
    lines: &[PricingLine],
    promotions: &[CandidatePromotion],
    coupons: &[CouponCode],
) -> PricedCart {
    let vat = vat_table();
    let context =
        PricingContext { destination: de(), promotions, coupons, vat: &vat, now_ms: NOW_MS };
    price(&PricingInput { currency: Currency::EUR, lines, context }).expect("a valid cart prices")
}

fn check_invariants(cart: &PricedCart) {
    let sum = |field: fn(&PricedLine) -> Money| -> i64 {
        cart.lines.iter().map(|line| field(line).minor).sum()
    };
    for line in &cart.lines {
        for amount in [line.subtotal, line.discount, line.shipping, line.shipping_discount] {
            assert!(!amount.is_negative(), "{line:?}");
        }
        assert!(!line.net.is_negative() && !line.vat.is_negative() && !line.total.is_negative());
        assert!(line.discount.minor <= line.subtotal.minor, "discount within the subtotal");
        assert!(line.discounts.iter().all(|d| d.amount.is_positive()));
        assert_eq!(line.discount.minor, line.discounts.iter().map(|d| d.amount.minor).sum::<i64>());
        assert!(line.shipping_discount == eur(0) || line.shipping_discount == line.shipping);
        assert_eq!(
            line.net.minor,
            line.subtotal.minor - line.discount.minor + line.shipping.minor
                - line.shipping_discount.minor
        );
        assert_eq!(line.total.minor, line.net.minor + line.vat.minor);
        assert!(line.vat.minor <= line.net.minor, "vat is at most 100 %");
    }
    let totals = &cart.totals;
    assert_eq!(totals.subtotal.minor, sum(|line| line.subtotal));
    assert_eq!(totals.discount.minor, sum(|line| line.discount));
    assert_eq!(totals.shipping.minor, sum(|line| line.shipping));
    assert_eq!(totals.shipping_discount.minor, sum(|line| line.shipping_discount));
    assert_eq!(totals.net.minor, sum(|line| line.net));
    assert_eq!(totals.vat.minor, sum(|line| line.vat));
    assert_eq!(totals.total.minor, sum(|line| line.total));
    assert!(totals.discount.minor <= totals.subtotal.minor);
    let applied: i64 = cart.applied.iter().map(|a| a.amount.minor).sum();
    assert_eq!(applied, totals.discount.minor + totals.shipping_discount.minor);
    assert!(cart.applied.iter().all(|a| a.amount.is_positive()));
    let applied_ids: BTreeSet<&PromotionId> = cart.applied.iter().map(|a| &a.id).collect();
    for declined in &cart.declined {
        if let Declined::Promotion { id, .. } = declined {
            assert!(!applied_ids.contains(id), "{id} both applied and declined");
        }
    }
}

/// Lines in a canonical order, to compare two pricings line by line whatever the input order.
fn sorted_lines(cart: &PricedCart) -> Vec<String> {
    let mut lines: Vec<String> = cart.lines.iter().map(|line| format!("{line:?}")).collect();
    lines.sort();
    lines
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1_024))]

    #[test]
    fn pricing_keeps_its_invariants_and_ignores_order(
        ((lines, promotions, coupons), shuffled_lines, shuffled_promotions) in cases()
    ) {
        let cart = run(&lines, &promotions, &coupons);
        check_invariants(&cart);
        prop_assert_eq!(cart.lines.len(), lines.len());
        let offered: BTreeSet<&PromotionId> = promotions.iter().map(|p| &p.id).collect();
        let accounted = cart.applied.len()
            + cart.declined.iter().filter(|d| matches!(d, Declined::Promotion { .. })).count();
        prop_assert_eq!(accounted, offered.len(), "each promotion is applied or declined");
        prop_assert_eq!(&run(&lines, &promotions, &coupons), &cart, "deterministic");

        let reordered = run(&shuffled_lines, &promotions, &coupons);
        prop_assert_eq!(&reordered.totals, &cart.totals);
        prop_assert_eq!(&reordered.applied, &cart.applied);
        prop_assert_eq!(&reordered.declined, &cart.declined);
        prop_assert_eq!(sorted_lines(&reordered), sorted_lines(&cart));
        let promotions_reordered = run(&lines, &shuffled_promotions, &coupons);
        prop_assert_eq!(&promotions_reordered, &cart);
    }
}
