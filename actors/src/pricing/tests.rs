//! Pricing rules one at a time, and one stacked cart computed by hand to the minor unit.

use std::collections::BTreeSet;

use super::*;
use crate::limits::{BPS_MAX, CART_LINES_MAX, PRICE_MINOR_MAX};
use crate::promotion::{Benefit, PromotionDefinition, RedemptionLimits, Scope, Window};

pub(super) fn eur(minor: i64) -> Money {
    Money::new(minor, Currency::EUR)
}

pub(super) fn asin(text: &str) -> Asin {
    Asin::parse(text).unwrap()
}

pub(super) fn seller(text: &str) -> SellerId {
    SellerId::parse(text).unwrap()
}

pub(super) fn code(text: &str) -> CouponCode {
    CouponCode::parse(text).unwrap()
}

pub(super) fn de() -> CountryCode {
    CountryCode::parse("DE").unwrap()
}

pub(super) fn vat_table() -> VatTable {
    VatTable::from_rates([
        (de(), TaxClass::Standard, 1900),
        (de(), TaxClass::Reduced, 700),
        (de(), TaxClass::SuperReduced, 550),
    ])
    .unwrap()
}

fn line(asin_text: &str, seller_id: &str, unit: i64, shipping: i64, units: u32) -> PricingLine {
    PricingLine {
        asin: asin(asin_text),
        seller: seller(seller_id),
        unit_price: eur(unit),
        shipping: eur(shipping),
        quantity: Quantity::new(units).unwrap(),
        tax_class: TaxClass::Standard,
    }
}

/// A stackable, marketplace-wide promotion without coupon, valid on `[0, 1000)`.
fn promotion(id: &str, benefit: Benefit) -> CandidatePromotion {
    CandidatePromotion {
        id: PromotionId::parse(id).unwrap(),
        definition: PromotionDefinition {
            benefit,
            window: Window { starts_ms: 0, ends_ms: 1_000 },
            coupon: None,
            scope: Scope::Marketplace,
            stackable: true,
            priority: 0,
            minimum: None,
            limits: RedemptionLimits { total: 100, per_customer: 1 },
        },
    }
}

fn with(
    mut promotion: CandidatePromotion,
    change: impl FnOnce(&mut PromotionDefinition),
) -> CandidatePromotion {
    change(&mut promotion.definition);
    promotion
}

fn percent(bps: u16) -> Benefit {
    Benefit::PercentOff { bps }
}

fn price_at(
    now_ms: u64,
    lines: &[PricingLine],
    promotions: &[CandidatePromotion],
    coupons: &[CouponCode],
) -> Result<PricedCart, PricingError> {
    let vat = vat_table();
    let context = PricingContext { destination: de(), promotions, coupons, vat: &vat, now_ms };
    price(&PricingInput { currency: Currency::EUR, lines, context })
}

fn priced(lines: &[PricingLine], promotions: &[CandidatePromotion]) -> PricedCart {
    price_at(500, lines, promotions, &[]).unwrap()
}

fn declined(id: &str, reason: DeclineReason) -> Declined {
    Declined::Promotion { id: PromotionId::parse(id).unwrap(), reason }
}

fn applied(cart: &PricedCart) -> Vec<(&str, i64)> {
    cart.applied.iter().map(|a| (a.id.as_str(), a.amount.minor)).collect()
}

fn line_discounts(cart: &PricedCart) -> Vec<i64> {
    cart.lines.iter().map(|line| line.discount.minor).collect()
}

#[test]
fn a_stacked_cart_matches_the_hand_computation() {
    // Lines (VAT exclusive, EUR cents), destination DE (standard 19 %, reduced 7 %):
    //   L1 B0000000A1 from s1, 1 x 49.99, shipping 4.99, standard: subtotal 4999
    //   L2 B0000000B2 from s2, 3 x 19.99, free shipping, reduced:  subtotal 5997
    // Non-stackable, on subtotals:
    //   summer10 (10 %, coupon SUMMER10): L1 499.9 -> 500, L2 599.7 -> 600 (half to even)
    //   books15 (15 %, B0000000B2 only):  L2 899.55 -> 900
    //   L1 takes summer10 (500), L2 takes books15 (900 > 600). Left: 4499 and 5097.
    // Stackable: fiveoff (5.00 off, minimum 50.00 met by 109.96), split 4499 : 5097 of 9596:
    //   L1 2249500 / 9596 = 234 rem 4036, L2 2548500 / 9596 = 265 rem 5560; the unit left
    //   goes to L2 (larger remainder): 234 and 266. Left: 4265 and 4831, together 9096.
    // Free shipping over 90.00 after discounts: 9096 >= 9000, L1's 499 is waived.
    // VAT half up: L1 4265 x 19 % = 810.35 -> 810; L2 4831 x 7 % = 338.17 -> 338.
    // Totals: L1 5075, L2 5169; grand total 10244 = 10996 - 1900 + 499 - 499 + 1148.
    let mut books = line("B0000000B2", "s2", 1_999, 0, 3);
    books.tax_class = TaxClass::Reduced;
    let lines = [line("B0000000A1", "s1", 4_999, 499, 1), books];
    let promotions = [
        with(promotion("summer10", percent(1_000)), |d| {
            d.stackable = false;
            d.coupon = Some(code("SUMMER10"));
        }),
        with(promotion("books15", percent(1_500)), |d| {
            d.stackable = false;
            d.scope = Scope::Asins(BTreeSet::from([asin("B0000000B2")]));
        }),
        with(promotion("fiveoff", Benefit::AmountOff { amount: eur(500) }), |d| {
            d.priority = 10;
            d.minimum = Some(eur(5_000));
        }),
        promotion("freeship", Benefit::FreeShipping { threshold: eur(9_000) }),
        with(promotion("expired1", percent(5_000)), |d| d.window.ends_ms = 400),
        with(promotion("vip20", percent(2_000)), |d| d.coupon = Some(code("VIP20"))),
    ];
    let cart = price_at(500, &lines, &promotions, &[code("SUMMER10"), code("BOGUS")]).unwrap();

    let [l1, l2] = [&cart.lines[0], &cart.lines[1]];
    type Amounts<'a> = (i64, Vec<(&'a str, i64)>, i64, i64, i64);
    fn amounts(l: &PricedLine) -> Amounts<'_> {
        let discounts: Vec<(&str, i64)> =
            l.discounts.iter().map(|d| (d.promotion.as_str(), d.amount.minor)).collect();
        (l.subtotal.minor, discounts, l.shipping.minor, l.shipping_discount.minor, l.net.minor)
    }
    assert_eq!(amounts(l1), (4_999, vec![("summer10", 500), ("fiveoff", 234)], 499, 499, 4_265));
    assert_eq!(amounts(l2), (5_997, vec![("books15", 900), ("fiveoff", 266)], 0, 0, 4_831));
    assert_eq!((l1.vat_rate_bps, l1.vat.minor, l1.total.minor), (1_900, 810, 5_075));
    assert_eq!((l2.vat_rate_bps, l2.vat.minor, l2.total.minor), (700, 338, 5_169));
    assert_eq!(l1.shipping_waiver.as_ref().map(|w| w.promotion.as_str()), Some("freeship"));
    assert_eq!(
        cart.totals,
        CartTotals {
            subtotal: eur(10_996),
            discount: eur(1_900),
            shipping: eur(499),
            shipping_discount: eur(499),
            net: eur(9_096),
            vat: eur(1_148),
            total: eur(10_244),
        }
    );
    assert_eq!(
        applied(&cart),
        [("books15", 900), ("fiveoff", 500), ("freeship", 499), ("summer10", 500)]
    );
    assert_eq!(
        cart.declined,
        [
            declined("expired1", DeclineReason::Expired),
            declined("vip20", DeclineReason::CouponRequired),
            Declined::CodeUnknown { code: code("BOGUS") },
        ]
    );
}

#[test]
fn percent_off_rounds_half_to_even_per_line() {
    let lines = [line("B000000001", "s1", 1, 0, 1), line("B000000002", "s1", 150, 0, 1)];
    let half = priced(&lines, &[promotion("p", percent(5_000))]);
    assert_eq!(line_discounts(&half), [0, 75], "half of 1 cent is 0 (even), of 150 is 75");
    let third = priced(&lines, &[promotion("p", percent(3_333))]);
    assert_eq!(line_discounts(&third), [0, 50], "33.33 % of 150 is 49.995");
    let lone = priced(&lines[..1], &[promotion("p", percent(3_333))]);
    assert_eq!(lone.declined, [declined("p", DeclineReason::NothingToDiscount)]);
    let full = priced(&lines, &[promotion("p", percent(BPS_MAX))]);
    assert_eq!(line_discounts(&full), [1, 150]);
    assert_eq!(full.totals.total, eur(0));
}

#[test]
fn vat_rounds_half_up_per_line_and_lines_add_up() {
    // 50 cents at 19 % is 9.5 cents: 10. Three such lines: 30, not round(28.5) = 29.
    let lines = [
        line("B000000001", "s1", 50, 0, 1),
        line("B000000002", "s1", 50, 0, 1),
        line("B000000003", "s1", 50, 0, 1),
    ];
    let cart = priced(&lines, &[]);
    assert!(cart.lines.iter().all(|line| line.vat == eur(10)));
    assert_eq!((cart.totals.vat, cart.totals.total), (eur(30), eur(180)));
    let tiny = priced(&[line("B000000001", "s1", 1, 0, 1)], &[]);
    assert_eq!(tiny.totals.vat, eur(0), "19 % of 1 cent is 0.19");
}

#[test]
fn vat_covers_shipping_and_zero_rated_goods_carry_none() {
    let mut food = line("B000000001", "s1", 1_000, 100, 2);
    let cart = priced(std::slice::from_ref(&food), &[]);
    assert_eq!((cart.lines[0].net, cart.lines[0].vat), (eur(2_200), eur(418)));
    for class in [TaxClass::Zero, TaxClass::Exempt] {
        food.tax_class = class;
        let cart = priced(std::slice::from_ref(&food), &[]);
        assert_eq!((cart.lines[0].vat_rate_bps, cart.totals.vat), (0, eur(0)));
    }
}

#[test]
fn amount_off_is_split_and_never_takes_a_line_below_zero() {
    let lines = [line("B000000001", "s1", 300, 0, 1), line("B000000002", "s1", 100, 0, 1)];
    let cart = priced(&lines, &[promotion("p", Benefit::AmountOff { amount: eur(100) })]);
    assert_eq!(line_discounts(&cart), [75, 25]);
    let cart = priced(&lines, &[promotion("p", Benefit::AmountOff { amount: eur(10_000) })]);
    assert_eq!(line_discounts(&cart), [300, 100], "the excess is forfeited");
    assert_eq!(applied(&cart), [("p", 400)]);
    assert_eq!(cart.totals.total, eur(0));
}

#[test]
fn buy_x_get_y_frees_the_cheapest_units_per_asin() {
    let b2g1 =
        promotion("b2g1", Benefit::BuyXGetY { buy: Quantity::new(2).unwrap(), get: Quantity::ONE });
    // Three units of one ASIN from two sellers: the 8.00 unit is free.
    let lines = [line("B000000001", "s1", 1_000, 0, 2), line("B000000001", "s2", 800, 0, 1)];
    assert_eq!(line_discounts(&priced(&lines, std::slice::from_ref(&b2g1))), [0, 800]);
    // Five units: still one free; six: two, the cheapest first.
    let five = [line("B000000001", "s1", 1_000, 0, 4), line("B000000001", "s2", 800, 0, 1)];
    assert_eq!(line_discounts(&priced(&five, std::slice::from_ref(&b2g1))), [0, 800]);
    let six = [line("B000000001", "s1", 1_000, 0, 5), line("B000000001", "s2", 800, 0, 1)];
    assert_eq!(line_discounts(&priced(&six, std::slice::from_ref(&b2g1))), [1_000, 800]);
    // Units of different ASINs do not make a group.
    let mixed = [line("B000000001", "s1", 1_000, 0, 2), line("B000000002", "s1", 800, 0, 1)];
    let cart = priced(&mixed, std::slice::from_ref(&b2g1));
    assert_eq!(cart.declined, [declined("b2g1", DeclineReason::MinimumNotMet)]);
}

#[test]
fn free_shipping_needs_the_threshold_after_item_discounts() {
    let lines = [line("B000000001", "s1", 5_000, 300, 1)];
    let ten = promotion("ten", percent(1_000));
    let ship = |threshold| promotion("ship", Benefit::FreeShipping { threshold: eur(threshold) });
    let short = priced(&lines, &[ten.clone(), ship(5_000)]);
    assert_eq!(short.declined, [declined("ship", DeclineReason::MinimumNotMet)]);
    assert_eq!(short.totals.shipping_discount, eur(0));
    let met = priced(&lines, &[ten, ship(4_500)]);
    assert_eq!(met.totals.shipping_discount, eur(300));
    assert_eq!(met.lines[0].net, eur(4_500));
    let nothing = priced(&[line("B000000001", "s1", 5_000, 0, 1)], &[ship(0)]);
    assert_eq!(nothing.declined, [declined("ship", DeclineReason::NothingToDiscount)]);
}

#[test]
fn windows_are_half_open() {
    let lines = [line("B000000001", "s1", 1_000, 0, 1)];
    let p = with(promotion("p", percent(1_000)), |d| {
        d.window = Window { starts_ms: 100, ends_ms: 200 }
    });
    let at = |now| price_at(now, &lines, std::slice::from_ref(&p), &[]).unwrap();
    assert_eq!(at(99).declined, [declined("p", DeclineReason::NotStarted)]);
    assert_eq!(applied(&at(100)), [("p", 100)]);
    assert_eq!(applied(&at(199)), [("p", 100)]);
    assert_eq!(at(200).declined, [declined("p", DeclineReason::Expired)]);
}

#[test]
fn a_coupon_promotion_needs_its_code() {
    let lines = [line("B000000001", "s1", 1_000, 0, 1)];
    let p = with(promotion("p", percent(1_000)), |d| d.coupon = Some(code("SAVE10")));
    let without = price_at(500, &lines, std::slice::from_ref(&p), &[]).unwrap();
    assert_eq!(without.declined, [declined("p", DeclineReason::CouponRequired)]);
    let typed = CouponCode::normalize(" save10 ").unwrap();
    let with_code = price_at(500, &lines, std::slice::from_ref(&p), &[typed.clone(), typed]);
    let with_code = with_code.unwrap();
    assert_eq!(applied(&with_code), [("p", 100)]);
    assert_eq!(with_code.declined, [], "a code entered twice counts once");
    let other = price_at(500, &lines, std::slice::from_ref(&p), &[code("SAVE20")]).unwrap();
    assert_eq!(
        other.declined,
        [
            declined("p", DeclineReason::CouponRequired),
            Declined::CodeUnknown { code: code("SAVE20") }
        ]
    );
}

#[test]
fn one_non_stackable_per_line_the_best_then_the_smallest_id() {
    let lines = [line("B000000001", "s1", 1_000, 0, 1)];
    let exclusive = |id, bps| with(promotion(id, percent(bps)), |d| d.stackable = false);
    let cart = priced(&lines, &[exclusive("a", 1_000), exclusive("b", 2_000)]);
    assert_eq!(applied(&cart), [("b", 200)]);
    assert_eq!(cart.declined, [declined("a", DeclineReason::NotStackable)]);
    let tie = priced(&lines, &[exclusive("z", 1_000), exclusive("y", 1_000)]);
    assert_eq!(applied(&tie), [("y", 100)]);
    assert_eq!(tie.declined, [declined("z", DeclineReason::NotStackable)]);
}

#[test]
fn stackables_apply_highest_priority_first_on_what_is_left() {
    let lines = [line("B000000001", "s1", 10_000, 0, 1)];
    let tenth = |priority| with(promotion("tenth", percent(1_000)), |d| d.priority = priority);
    let five = promotion("five", Benefit::AmountOff { amount: eur(500) });
    // 10 % of 100.00 then 5.00: 85.00; 5.00 then 10 % of 95.00: 85.50.
    let percent_first = priced(&lines, &[tenth(1), five.clone()]);
    assert_eq!(percent_first.lines[0].net, eur(8_500));
    let amount_first = priced(&lines, &[five, tenth(0)]);
    assert_eq!(amount_first.lines[0].net, eur(8_550), "equal priority: smaller id first");
    let exclusive = with(promotion("excl", percent(2_000)), |d| d.stackable = false);
    let both = priced(&lines, &[exclusive, tenth(0)]);
    assert_eq!(line_discounts(&both), [2_800], "20 % of 100.00, then 10 % of 80.00");
}

#[test]
fn scope_minimum_and_currency_screen_promotions() {
    let lines = [line("B000000001", "s1", 1_000, 0, 1), line("B000000002", "s2", 3_000, 0, 1)];
    let of_s2 =
        with(promotion("s2only", percent(1_000)), |d| d.scope = Scope::Seller(seller("s2")));
    assert_eq!(line_discounts(&priced(&lines, &[of_s2])), [0, 300]);
    let of_s3 =
        with(promotion("s3only", percent(1_000)), |d| d.scope = Scope::Seller(seller("s3")));
    assert_eq!(priced(&lines, &[of_s3]).declined, [declined("s3only", DeclineReason::OutOfScope)]);
    let minimum = |m| with(promotion("min", percent(1_000)), move |d| d.minimum = Some(eur(m)));
    assert_eq!(
        priced(&lines, &[minimum(4_001)]).declined,
        [declined("min", DeclineReason::MinimumNotMet)]
    );
    assert_eq!(applied(&priced(&lines, &[minimum(4_000)])), [("min", 400)]);
    let dollars = promotion("usd", Benefit::AmountOff { amount: Money::new(100, Currency::USD) });
    assert_eq!(
        priced(&lines, &[dollars]).declined,
        [declined("usd", DeclineReason::CurrencyMismatch)]
    );
}

#[test]
fn bad_inputs_are_pricing_errors() {
    let good = line("B000000001", "s1", 1_000, 0, 1);
    let mut dollars = good.clone();
    dollars.unit_price = Money::new(1_000, Currency::USD);
    assert_eq!(
        price_at(0, &[good.clone(), dollars], &[], &[]),
        Err(PricingError::CurrencyMismatch { expected: Currency::EUR, found: Currency::USD })
    );
    let mut negative = good.clone();
    negative.shipping = eur(-1);
    assert_eq!(
        price_at(0, &[negative], &[], &[]),
        Err(PricingError::AmountInvalid { max_minor: PRICE_MINOR_MAX })
    );
    let many = vec![good.clone(); CART_LINES_MAX + 1];
    assert!(matches!(price_at(0, &many, &[], &[]), Err(PricingError::TooManyLines { .. })));
    let twice = [promotion("p", percent(1)), promotion("p", percent(2))];
    assert_eq!(
        price_at(0, std::slice::from_ref(&good), &twice, &[]),
        Err(PricingError::DuplicatePromotion { id: PromotionId::parse("p").unwrap() })
    );
    let zero = [promotion("p", percent(0))];
    assert_eq!(
        price_at(0, std::slice::from_ref(&good), &zero, &[]),
        Err(PricingError::PromotionInvalid { id: PromotionId::parse("p").unwrap() })
    );
    let vat = VatTable::default();
    let context =
        PricingContext { destination: de(), promotions: &[], coupons: &[], vat: &vat, now_ms: 0 };
    let input =
        PricingInput { currency: Currency::EUR, lines: std::slice::from_ref(&good), context };
    assert_eq!(
        price(&input),
        Err(PricingError::NoVatRate { country: de(), tax_class: TaxClass::Standard })
    );
    let empty = price_at(0, &[], &[], &[]).unwrap();
    assert_eq!(empty.totals.total, eur(0));
}
