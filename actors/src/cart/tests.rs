//! Cart rules one at a time: given events, when a command, then events or a rejection; and
//! the priced view's flags.

use super::*;
use crate::limits::{
    CART_HOLDS_MAX, CART_LINE_QUANTITY_MAX, CART_LINES_MAX, CART_MERGES_REMEMBERED_MAX,
    PRICE_MINOR_MAX,
};
use crate::pricing::{CountryCode, PricingContext, VatTable};
use crate::product::{
    CatalogDocument, Condition, Fulfilment, OfferTerms, Product, ProductCommand, TaxClass,
};
use crate::seller::{SellerScore, Standing};
use crate::testing::Harness;

pub(super) const KEY: &str = "cart-1";

pub(super) fn customer(text: &str) -> CartOwner {
    CartOwner::Customer(CustomerId::parse(text).unwrap())
}

pub(super) fn eur(minor: i64) -> Money {
    Money::new(minor, Currency::EUR)
}

pub(super) fn asin(n: u32) -> Asin {
    Asin::parse(&format!("B{n:09}")).unwrap()
}

pub(super) fn qty(units: u32) -> Quantity {
    Quantity::new(units).unwrap()
}

pub(super) fn seller_offer(text: &str) -> OfferChoice {
    OfferChoice::Seller(SellerId::parse(text).unwrap())
}

pub(super) fn created() -> Harness<Cart> {
    let event = CartEvent::Created { owner: customer("c1"), currency: Currency::EUR, at_ms: 1 };
    Harness::given(KEY, [event])
}

/// Merges `lines`, read from cart `from` at its `revision`.
pub(super) fn merge_from(from: &str, revision: u64, lines: Vec<CartLine>) -> CartCommand {
    CartCommand::MergeFrom { from: from.to_string(), revision, lines }
}

pub(super) fn add(n: u32, offer: OfferChoice, units: u32, price: i64) -> CartCommand {
    CartCommand::AddLine {
        asin: asin(n),
        offer,
        quantity: qty(units),
        seen_unit_price: eur(price),
        seen_available: true,
    }
}

pub(super) fn cart_line(n: u32, offer: OfferChoice, units: u32, price: i64, at: u64) -> CartLine {
    CartLine {
        asin: asin(n),
        offer,
        quantity: qty(units),
        seen_unit_price: eur(price),
        seen_available: true,
        seen_at_ms: at,
    }
}

fn quantities(harness: &Harness<Cart>) -> Vec<(u32, u32)> {
    let number = |a: &Asin| a.as_str()[1..].parse::<u32>().unwrap();
    harness.state.lines().map(|line| (number(&line.asin), line.quantity.get())).collect()
}

#[test]
fn create_once_and_answer_retries_from_state() {
    let fresh = Harness::<Cart>::new(KEY);
    for command in [CartCommand::Get, CartCommand::Clear, add(1, OfferChoice::BuyBox, 1, 100)] {
        assert_eq!(fresh.decide(command), Err(CartRejection::UnknownCart));
    }
    let mut cart = created();
    let create = |owner| CartCommand::Create { owner, currency: Currency::EUR };
    assert!(cart.run(create(customer("c1"))).unwrap().0.is_empty());
    assert_eq!(cart.decide(create(customer("c2"))), Err(CartRejection::AlreadyCreated));
    let guest = CartOwner::Guest(GuestToken::parse("guest-token-0123456789").unwrap());
    assert_eq!(cart.decide(create(guest)), Err(CartRejection::AlreadyCreated));
    let in_dollars = CartCommand::Create { owner: customer("c1"), currency: Currency::USD };
    assert_eq!(cart.decide(in_dollars), Err(CartRejection::AlreadyCreated));
}

#[test]
fn adding_an_existing_line_adds_to_it_and_records_what_was_seen() {
    let mut cart = created();
    cart.now_ms = 10;
    let (events, _) = cart.run(add(1, OfferChoice::BuyBox, 2, 1_999)).unwrap();
    assert_eq!(
        events,
        [CartEvent::LineAdded { line: cart_line(1, OfferChoice::BuyBox, 2, 1_999, 10) }]
    );
    cart.now_ms = 20;
    let (events, reply) = cart.run(add(1, OfferChoice::BuyBox, 3, 1_899)).unwrap();
    assert_eq!(
        events,
        [CartEvent::LineChanged { line: cart_line(1, OfferChoice::BuyBox, 5, 1_899, 20) }]
    );
    assert_eq!(reply.cart.lines.len(), 1);
    let (events, reply) = cart.run(add(1, seller_offer("s1"), 1, 2_100)).unwrap();
    assert!(matches!(events[..], [CartEvent::LineAdded { .. }]), "another offer, another line");
    assert_eq!(reply.cart.lines.len(), 2);
    assert_eq!(reply.cart.revision, 4);
}

#[test]
fn limits_and_bad_prices_are_refused_not_clamped() {
    let mut cart = created();
    cart.run(add(1, OfferChoice::BuyBox, CART_LINE_QUANTITY_MAX - 1, 100)).unwrap();
    let too_many = CartRejection::LineQuantityTooLarge { max: CART_LINE_QUANTITY_MAX };
    assert_eq!(cart.decide(add(1, OfferChoice::BuyBox, 2, 100)), Err(too_many.clone()));
    assert_eq!(
        cart.decide(add(2, OfferChoice::BuyBox, CART_LINE_QUANTITY_MAX + 1, 100)),
        Err(too_many)
    );
    let mut dollars = add(2, OfferChoice::BuyBox, 1, 100);
    if let CartCommand::AddLine { seen_unit_price, .. } = &mut dollars {
        *seen_unit_price = Money::new(100, Currency::USD);
    }
    assert_eq!(
        cart.decide(dollars),
        Err(CartRejection::CurrencyMismatch { expected: Currency::EUR })
    );
    for price in [0, -1, PRICE_MINOR_MAX + 1] {
        assert_eq!(
            cart.decide(add(2, OfferChoice::BuyBox, 1, price)),
            Err(CartRejection::PriceInvalid { max_minor: PRICE_MINOR_MAX })
        );
    }
    for n in 2..=CART_LINES_MAX as u32 {
        cart.run(add(n, OfferChoice::BuyBox, 1, 100)).unwrap();
    }
    assert_eq!(
        cart.decide(add(0, OfferChoice::BuyBox, 1, 100)),
        Err(CartRejection::TooManyLines { max: CART_LINES_MAX as u32 })
    );
    assert!(cart.decide(add(5, OfferChoice::BuyBox, 1, 100)).is_ok(), "existing lines still grow");
}

#[test]
fn a_command_as_its_owner_runs_only_on_the_owners_cart() {
    let as_owner = |owner, command| CartCommand::AsOwner { owner, command: Box::new(command) };
    let fresh = Harness::<Cart>::new(KEY);
    let add_one = || add(1, OfferChoice::BuyBox, 1, 100);
    assert_eq!(fresh.decide(as_owner(customer("c1"), add_one())), Err(CartRejection::UnknownCart));
    let mut cart = created();
    for stranger in
        [customer("c2"), CartOwner::Guest(GuestToken::parse("guest-token-0123456789").unwrap())]
    {
        assert_eq!(
            cart.decide(as_owner(stranger, add_one())),
            Err(CartRejection::UnknownCart),
            "another's cart reads as none"
        );
    }
    let (events, reply) = cart.run(as_owner(customer("c1"), add_one())).unwrap();
    assert_eq!(
        events,
        [CartEvent::LineAdded { line: cart_line(1, OfferChoice::BuyBox, 1, 100, 0) }]
    );
    assert_eq!(reply.cart.lines.len(), 1);
    let remove = CartCommand::RemoveLine { asin: asin(2), offer: OfferChoice::BuyBox };
    assert_eq!(
        cart.decide(as_owner(customer("c1"), remove)),
        Err(CartRejection::UnknownLine),
        "the owner's command is decided as itself"
    );
}

#[test]
fn change_remove_and_clear() {
    let mut cart = created();
    cart.run(add(1, OfferChoice::BuyBox, 2, 500)).unwrap();
    cart.run(add(2, OfferChoice::BuyBox, 1, 700)).unwrap();
    let change = |n, units, price| CartCommand::ChangeQuantity {
        asin: asin(n),
        offer: OfferChoice::BuyBox,
        quantity: qty(units),
        seen_unit_price: eur(price),
        seen_available: true,
    };
    assert_eq!(cart.run(change(1, 7, 500)).unwrap().0.len(), 1);
    assert!(cart.run(change(1, 7, 500)).unwrap().0.is_empty(), "nothing changed");
    assert_eq!(cart.decide(change(3, 1, 500)), Err(CartRejection::UnknownLine));
    assert_eq!(
        cart.decide(change(1, CART_LINE_QUANTITY_MAX + 1, 500)),
        Err(CartRejection::LineQuantityTooLarge { max: CART_LINE_QUANTITY_MAX })
    );
    assert_eq!(quantities(&cart), [(1, 7), (2, 1)]);
    let remove = |n| CartCommand::RemoveLine { asin: asin(n), offer: OfferChoice::BuyBox };
    let (events, _) = cart.run(remove(2)).unwrap();
    assert_eq!(events, [CartEvent::LineRemoved { asin: asin(2), offer: OfferChoice::BuyBox }]);
    assert_eq!(cart.decide(remove(2)), Err(CartRejection::UnknownLine));
    assert_eq!(cart.run(CartCommand::Clear).unwrap().0, [CartEvent::Cleared]);
    assert!(cart.run(CartCommand::Clear).unwrap().0.is_empty());
    assert!(cart.state.view().unwrap().lines.is_empty());
}

#[test]
fn merge_adds_up_caps_and_reports() {
    let mut cart = created();
    cart.now_ms = 50;
    cart.run(add(1, OfferChoice::BuyBox, 990, 500)).unwrap();
    cart.run(add(2, OfferChoice::BuyBox, 1, 700)).unwrap();
    let guest = vec![
        cart_line(1, OfferChoice::BuyBox, 5, 450, 40),
        cart_line(1, OfferChoice::BuyBox, 6, 440, 60),
        cart_line(2, OfferChoice::BuyBox, 2, 650, 10),
        cart_line(3, OfferChoice::BuyBox, 4, 300, 10),
    ];
    let (events, reply) = cart.run(merge_from("eu/c-guest", 1, guest)).unwrap();
    assert_eq!(quantities(&cart), [(1, CART_LINE_QUANTITY_MAX), (2, 3), (3, 4)]);
    let report = reply.merge.unwrap();
    assert_eq!(
        report.capped,
        [CappedLine {
            asin: asin(1),
            offer: OfferChoice::BuyBox,
            requested: 1_001,
            kept: qty(CART_LINE_QUANTITY_MAX)
        }]
    );
    assert!(report.dropped.is_empty());
    assert_eq!(events.len(), 4, "one event per line touched, then the merge's record");
    assert_eq!(events[3], CartEvent::MergedFrom { from: "eu/c-guest".into(), revision: 1 });
    let held = |n| cart.state.line(&LineKey { asin: asin(n), offer: OfferChoice::BuyBox }).unwrap();
    assert_eq!((held(1).seen_unit_price, held(1).seen_at_ms), (eur(440), 60), "newer seen facts");
    assert_eq!(
        (held(2).seen_unit_price, held(2).seen_at_ms),
        (eur(700), 50),
        "the cart's are newer"
    );
}

#[test]
fn merge_drops_what_does_not_fit_and_refuses_bad_input() {
    let mut cart = created();
    for n in 0..CART_LINES_MAX as u32 {
        cart.run(add(n, OfferChoice::BuyBox, 1, 100)).unwrap();
    }
    let guest = vec![
        cart_line(500, OfferChoice::BuyBox, 1, 100, 0),
        cart_line(0, OfferChoice::BuyBox, 1, 100, 0),
        cart_line(500, OfferChoice::BuyBox, 1, 100, 0),
    ];
    let (_, reply) = cart.run(merge_from("eu/c-guest", 1, guest)).unwrap();
    let report = reply.merge.unwrap();
    assert_eq!(report.dropped, [LineKey { asin: asin(500), offer: OfferChoice::BuyBox }]);
    assert_eq!(reply.cart.lines.len(), CART_LINES_MAX);
    let too_long = vec![cart_line(1, OfferChoice::BuyBox, 1, 100, 0); CART_LINES_MAX + 1];
    assert_eq!(
        cart.decide(merge_from("eu/c-guest", 2, too_long)),
        Err(CartRejection::MergeTooLarge { max: CART_LINES_MAX as u32 })
    );
    let mut dollars = cart_line(1, OfferChoice::BuyBox, 1, 100, 0);
    dollars.seen_unit_price = Money::new(100, Currency::USD);
    assert_eq!(
        cart.decide(merge_from("eu/c-guest", 2, vec![dollars])),
        Err(CartRejection::CurrencyMismatch { expected: Currency::EUR })
    );
}

#[test]
fn a_merge_happens_once_per_source_revision_and_never_from_itself() {
    let mut cart = created();
    let guest = vec![cart_line(1, OfferChoice::BuyBox, 2, 100, 0)];
    let (events, _) = cart.run(merge_from("eu/c-guest", 3, guest.clone())).unwrap();
    assert_eq!(
        events.last(),
        Some(&CartEvent::MergedFrom { from: "eu/c-guest".into(), revision: 3 }),
        "recorded with its lines, in one decision"
    );
    // The caller failed before emptying the source and tries again: nothing is added twice.
    for revision in [3, 2] {
        let (events, reply) = cart.run(merge_from("eu/c-guest", revision, guest.clone())).unwrap();
        assert!(events.is_empty(), "revision {revision}");
        assert_eq!(reply.merge, Some(MergeReport::default()));
    }
    assert_eq!(quantities(&cart), [(1, 2)]);
    // The guest cart changed since (a newer revision): its lines join again.
    cart.run(merge_from("eu/c-guest", 5, guest.clone())).unwrap();
    assert_eq!(quantities(&cart), [(1, 4)]);
    assert_eq!(cart.decide(merge_from(KEY, 9, guest)), Err(CartRejection::MergeIntoItself));
}

#[test]
fn a_cart_remembers_its_newest_sources_only() {
    let mut cart = created();
    let line = || vec![cart_line(1, OfferChoice::BuyBox, 1, 100, 0)];
    for n in 0..=CART_MERGES_REMEMBERED_MAX {
        cart.run(merge_from(&format!("eu/c-{n}"), 1, line())).unwrap();
    }
    assert_eq!(cart.state.merged.len(), CART_MERGES_REMEMBERED_MAX);
    let newest = format!("eu/c-{CART_MERGES_REMEMBERED_MAX}");
    assert!(cart.run(merge_from(&newest, 1, line())).unwrap().0.is_empty(), "remembered");
    assert!(!cart.run(merge_from("eu/c-0", 1, line())).unwrap().0.is_empty(), "forgotten");
}

fn product_view(offers: &[(&str, i64, i64, u32, Standing)]) -> crate::product::ProductView {
    let mut product = Harness::<Product>::new("B000000001");
    let document = CatalogDocument {
        title: "Tea".into(),
        brand: "Leaf".into(),
        category_path: vec!["Food".into()],
        tax_class: TaxClass::Reduced,
        ..CatalogDocument::default()
    };
    product
        .run(ProductCommand::CreateOrUpdateDocument {
            document,
            currency: Currency::EUR,
            by: crate::ids::SellerId::parse("s1").unwrap(),
            required: Vec::new(),
        })
        .unwrap();
    for (seller, price, shipping, available, standing) in offers {
        let terms = OfferTerms {
            sku: crate::ids::Sku::parse("TEA-1").unwrap(),
            price: eur(*price),
            shipping: eur(*shipping),
            condition: Condition::New,
            fulfilment: Fulfilment::Marketplace,
            handling_days: 0,
            available: *available,
        };
        let score = SellerScore { standing: *standing, ..SellerScore::default() };
        let seller = SellerId::parse(seller).unwrap();
        product.run(ProductCommand::PutOffer { seller, terms, score }).unwrap();
    }
    product.state.view().unwrap()
}

#[test]
fn the_priced_view_flags_changes_and_prices_what_can_be_bought() {
    let mut cart = created();
    cart.run(add(1, OfferChoice::BuyBox, 2, 500)).unwrap();
    cart.run(add(1, seller_offer("s2"), 1, 480)).unwrap();
    cart.run(add(1, seller_offer("s3"), 1, 470)).unwrap();
    cart.run(add(1, seller_offer("s4"), 1, 460)).unwrap();
    cart.run(add(2, OfferChoice::BuyBox, 1, 900)).unwrap();
    let view = product_view(&[
        ("s1", 450, 50, 5, Standing::Good),
        ("s2", 480, 0, 5, Standing::AtRisk),
        ("s3", 470, 0, 0, Standing::Good),
        ("s4", 460, 0, 5, Standing::Suspended),
    ]);
    let facts = CurrentFacts { products: [(asin(1), ProductFacts::of(&view))].into() };
    let de = CountryCode::parse("DE").unwrap();
    let vat = VatTable::from_rates([(de, TaxClass::Reduced, 700)]).unwrap();
    let context =
        PricingContext { destination: de, promotions: &[], coupons: &[], vat: &vat, now_ms: 0 };
    let priced = priced_view(&cart.state.view().unwrap(), &facts, context).unwrap();
    type Summary = (String, Option<String>, Vec<LineFlag>, Option<i64>);
    let summary: Vec<Summary> = priced
        .lines
        .iter()
        .map(|l| {
            let offer = match &l.line.offer {
                OfferChoice::BuyBox => format!("{}/buy-box", l.line.asin),
                OfferChoice::Seller(s) => format!("{}/{s}", l.line.asin),
            };
            let seller = l.seller.as_ref().map(|s| s.to_string());
            (offer, seller, l.flags.clone(), l.priced.as_ref().map(|p| p.total.minor))
        })
        .collect();
    let changed = |was, now| vec![LineFlag::PriceChanged { was: eur(was), now: eur(now) }];
    assert_eq!(
        summary,
        [
            // Buy box s1: 2 x 4.50 + 2 x 0.50 shipping = 10.00, 7 % VAT = 0.70.
            ("B000000001/buy-box".into(), Some("s1".into()), changed(500, 450), Some(1_070)),
            ("B000000001/s2".into(), Some("s2".into()), vec![], Some(514)),
            ("B000000001/s3".into(), None, vec![LineFlag::NoLongerAvailable], None),
            ("B000000001/s4".into(), None, vec![LineFlag::NoLongerAvailable], None),
            ("B000000002/buy-box".into(), None, vec![LineFlag::NoLongerAvailable], None),
        ]
    );
    assert_eq!(priced.totals.total, eur(1_584));

    // Promises: a line is promised by its seller's slowest buyable line (Thursday 1970-01-01,
    // no cut-off, a day's transit); a line that cannot be bought has none.
    let mut priced = priced;
    priced.lines[0].handling_days = Some(3);
    priced.lines[1].handling_days = Some(0);
    let terms = crate::order::promise::DeliveryTerms { transit_days: 1, cutoff_hour_utc: 24 };
    let day = crate::order::DAY_MS;
    let end_of = |day_n: u64| Some((day_n + 1) * day - 1);
    // s1, three days: out on Tuesday (day 5), in on Wednesday (6); s2, none: in on Friday.
    assert_eq!(priced.promises(0, terms), [end_of(6), end_of(1), None, None, None]);
    priced.lines[1].seller = priced.lines[0].seller.clone();
    assert_eq!(priced.promises(0, terms)[..2], [end_of(6), end_of(6)], "the slowest of s1's");
}

fn hold(n: u32, generation: u32) -> HoldRecord {
    HoldRecord {
        asin: asin(n),
        seller: SellerId::parse("s1").unwrap(),
        sku: crate::ids::Sku::parse("sku-1").unwrap(),
        generation,
    }
}

#[test]
fn holds_are_recorded_and_forgotten_without_moving_the_revision() {
    let record =
        |add: Vec<HoldRecord>, forget: Vec<HoldRecord>| CartCommand::RecordHolds { add, forget };
    assert_eq!(
        Harness::<Cart>::new(KEY).decide(record(vec![hold(1, 0)], vec![])),
        Err(CartRejection::UnknownCart)
    );
    // A cart created now has every hold on it; one created before says so at its first record.
    let mut fresh = Harness::<Cart>::new(KEY);
    fresh.run(CartCommand::Create { owner: customer("c1"), currency: Currency::EUR }).unwrap();
    assert!(fresh.state.view().unwrap().holds_on_cart);
    let mut cart = created();
    assert!(!cart.state.view().unwrap().holds_on_cart);
    let (events, reply) = cart.run(record(vec![hold(1, 0), hold(2, 0)], vec![])).unwrap();
    assert_eq!(
        events,
        [
            CartEvent::HoldRecorded { hold: hold(1, 0) },
            CartEvent::HoldRecorded { hold: hold(2, 0) },
            CartEvent::HoldsOnCart
        ]
    );
    assert_eq!(
        (reply.cart.holds.len(), reply.cart.holds_on_cart, reply.cart.revision),
        (2, true, 1)
    );
    // The next generation replaces the spent one in one decision; repeats change nothing.
    let (events, reply) = cart.run(record(vec![hold(1, 1)], vec![hold(1, 0)])).unwrap();
    assert_eq!(
        events,
        [
            CartEvent::HoldForgotten { hold: hold(1, 0) },
            CartEvent::HoldRecorded { hold: hold(1, 1) }
        ]
    );
    assert_eq!((reply.cart.holds, reply.cart.revision), (vec![hold(1, 1), hold(2, 0)], 1));
    assert!(cart.run(record(vec![hold(1, 1)], vec![hold(1, 0)])).unwrap().0.is_empty());
    let too_many = (0..=CART_HOLDS_MAX as u32).map(|generation| hold(3, generation)).collect();
    assert_eq!(
        cart.decide(record(too_many, vec![])),
        Err(CartRejection::TooManyHolds { max: CART_HOLDS_MAX as u32 })
    );
}

#[test]
fn a_cart_comes_to_rest_when_emptied_not_when_new() {
    let mut cart = created();
    assert!(!cart.state.at_rest(), "a new cart is about to be filled");
    cart.run(add(1, OfferChoice::BuyBox, 1, 100)).unwrap();
    assert!(!cart.state.at_rest());
    cart.run(CartCommand::Clear).unwrap();
    assert!(cart.state.at_rest(), "checked out");
}

#[test]
fn a_likely_pricing_error_cannot_be_bought_even_chosen_by_its_seller() {
    let view = product_view(&[
        ("s1", 1_000, 0, 5, Standing::Good),
        ("s2", 1_100, 0, 5, Standing::Good),
        ("s3", 900, 0, 5, Standing::Good),
        ("typo", 10, 0, 5, Standing::Good),
    ]);
    let facts = ProductFacts::of(&view);
    let available = |seller: &str| facts.offers[&SellerId::parse(seller).unwrap()].available;
    assert!(available("s1") && available("s3"));
    assert!(!available("typo"), "a tenth of a cent on the euro: outside the range");
    let incomplete =
        crate::product::ProductView { missing_attributes: vec!["origin".into()], ..view };
    assert!(!ProductFacts::of(&incomplete).offers.values().any(|offer| offer.available));
}
