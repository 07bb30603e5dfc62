//! Product rules, one at a time: given events, when a command, then events or a rejection;
//! and one test per buy box tie-break.

use super::*;
use crate::ids::Sku;
use crate::limits::{HANDLING_DAYS_MAX, PRICE_MINOR_MAX, QUANTITY_MAX};
use crate::seller::{DefectRate, Rating, Standing};
use crate::testing::Harness;

pub(super) const ASIN: &str = "B000000001";

pub(super) fn document() -> CatalogDocument {
    CatalogDocument {
        title: "The Rust Programming Language".into(),
        brand: "No Starch".into(),
        category_path: vec!["Books".into(), "Computing".into()],
        attributes: [("pages".to_string(), "560".to_string())].into(),
        images: vec!["https://img.example/rust.jpg".into()],
        description: "The book.\nSecond edition.".into(),
        tax_class: TaxClass::Reduced,
    }
}

pub(super) fn seller(id: &str) -> SellerId {
    SellerId::parse(id).unwrap()
}

pub(super) fn eur(minor: i64) -> Money {
    Money::new(minor, Currency::EUR)
}

pub(super) fn score(rating: u16, defect_bps: u16) -> SellerScore {
    SellerScore {
        standing: Standing::Good,
        rating: Rating::new(rating).unwrap(),
        defect_rate: DefectRate::new(defect_bps).unwrap(),
        version: 1,
    }
}

pub(super) fn terms(price: i64, shipping: i64) -> OfferTerms {
    OfferTerms {
        sku: Sku::parse("SKU-1").unwrap(),
        price: eur(price),
        shipping: eur(shipping),
        condition: Condition::New,
        fulfilment: Fulfilment::Seller,
        handling_days: 2,
        available: 5,
    }
}

fn put(id: &str, terms: OfferTerms, score: SellerScore) -> ProductCommand {
    ProductCommand::PutOffer { seller: seller(id), terms, score }
}

fn created() -> Harness<Product> {
    let event =
        ProductEvent::DocumentCreated { document: document(), currency: Currency::EUR, at_ms: 1 };
    Harness::given(ASIN, [event])
}

/// A product holding these offers, listed in this order.
fn with_offers(offers: &[(&str, OfferTerms, SellerScore)]) -> Harness<Product> {
    let mut product = created();
    for (id, terms, score) in offers {
        product.run(put(id, terms.clone(), *score)).unwrap();
    }
    product
}

fn winner(product: &Harness<Product>) -> Option<&str> {
    product.state.buy_box_winner().map(SellerId::as_str)
}

fn changed(reply: ProductReply) -> ProductChange {
    match reply {
        ProductReply::Changed(change) => change,
        ProductReply::Product(_) => panic!("expected a change"),
    }
}

#[test]
fn the_first_document_creates_the_product_and_fixes_its_currency() {
    let mut product = Harness::<Product>::new(ASIN);
    product.now_ms = 7;
    let create = ProductCommand::CreateOrUpdateDocument {
        document: document(),
        currency: Currency::EUR,
        by: seller("s1"),
        required: Vec::new(),
    };
    let (events, _) = product.run(create.clone()).unwrap();
    assert_eq!(
        events,
        [
            ProductEvent::DocumentCreated {
                document: document(),
                currency: Currency::EUR,
                at_ms: 7
            },
            ProductEvent::OwnerRecorded { owner: seller("s1") },
        ]
    );
    assert_eq!(product.state.owner(), Some(&seller("s1")));
    assert!(product.decide(create).unwrap().0.is_empty(), "the same document changes nothing");
    let mut retitled = document();
    retitled.title = "The Book".into();
    let update = ProductCommand::CreateOrUpdateDocument {
        document: retitled.clone(),
        currency: Currency::EUR,
        by: seller("s1"),
        required: Vec::new(),
    };
    assert_eq!(
        product.decide(update).unwrap().0,
        [ProductEvent::DocumentUpdated { document: retitled.clone(), at_ms: 7 }]
    );
    let in_dollars = ProductCommand::CreateOrUpdateDocument {
        document: retitled,
        currency: Currency::USD,
        by: seller("s1"),
        required: Vec::new(),
    };
    assert_eq!(
        product.decide(in_dollars).unwrap_err(),
        ProductRejection::CurrencyChanged { currency: Currency::EUR }
    );
}

#[test]
fn only_the_owner_replaces_the_document_and_a_product_without_one_is_claimed() {
    let mut product = Harness::<Product>::new(ASIN);
    let write_document = |by: &str, title: &str| {
        let mut document = document();
        document.title = title.into();
        ProductCommand::CreateOrUpdateDocument {
            document,
            currency: Currency::EUR,
            by: seller(by),
            required: Vec::new(),
        }
    };
    product.run(write_document("s1", "Mine")).unwrap();
    for attempt in [write_document("s2", "HIJACKED"), write_document("s2", "Mine")] {
        assert_eq!(product.decide(attempt).unwrap_err(), ProductRejection::NotDocumentOwner);
    }
    assert_eq!(product.decide(write_document("s2", "x")).unwrap_err().code(), "not_product_owner");
    // Offering on it stays open to every seller.
    product.run(put("s2", terms(1_000, 0), score(450, 10))).unwrap();

    // A product created before owners were recorded: the first writer claims it.
    let mut legacy = Harness::<Product>::new(ASIN);
    legacy.state.apply(&ProductEvent::DocumentCreated {
        document: document(),
        currency: Currency::EUR,
        at_ms: 0,
    });
    let (events, _) = legacy.run(write_document("s2", "Claimed")).unwrap();
    let claimed = matches!(events.last(), Some(ProductEvent::OwnerRecorded { owner }) if *owner == seller("s2"));
    assert!(claimed, "{events:?}");
    assert_eq!(
        legacy.decide(write_document("s1", "Back")).unwrap_err(),
        ProductRejection::NotDocumentOwner
    );
}

#[test]
fn invalid_documents_are_refused_field_by_field() {
    let product = Harness::<Product>::new(ASIN);
    type Spoil = fn(&mut CatalogDocument);
    let cases: Vec<(Spoil, &str)> = vec![
        (|d| d.title = "  ".into(), "title_invalid"),
        (|d| d.title = "x".repeat(501), "title_invalid"),
        (|d| d.brand = "a\u{7}b".into(), "brand_invalid"),
        (|d| d.category_path.clear(), "category_path_invalid"),
        (|d| d.category_path = vec!["c".into(); 9], "category_path_invalid"),
        (|d| d.category_path.push(String::new()), "category_path_invalid"),
        (|d| _ = d.attributes.insert(String::new(), "v".into()), "attributes_invalid"),
        (|d| _ = d.attributes.insert("k".into(), "v".repeat(1001)), "attributes_invalid"),
        (|d| d.images.push("http://img.example/a.jpg".into()), "images_invalid"),
        (|d| d.images.push("https://img.example/a b.jpg".into()), "images_invalid"),
        (|d| d.images = vec!["https://i.example/a".into(); 21], "images_invalid"),
        (|d| d.description = "\u{0}".into(), "description_invalid"),
        (|d| d.description = "d".repeat(16_001), "description_invalid"),
    ];
    for (spoil, code) in cases {
        let mut document = document();
        spoil(&mut document);
        let command = ProductCommand::CreateOrUpdateDocument {
            document,
            currency: Currency::EUR,
            by: seller("s1"),
            required: Vec::new(),
        };
        assert_eq!(product.decide(command).unwrap_err().code(), code);
    }
}

#[test]
fn nothing_but_a_document_exists_before_creation() {
    let product = Harness::<Product>::new(ASIN);
    for command in [
        put("s1", terms(100, 0), score(400, 10)),
        ProductCommand::WithdrawOffer { seller: seller("s1") },
        ProductCommand::SetOfferStock { seller: seller("s1"), available: 1 },
        ProductCommand::SetSellerScore { seller: seller("s1"), score: score(400, 10) },
        ProductCommand::Get,
    ] {
        assert_eq!(product.decide(command).unwrap_err(), ProductRejection::UnknownProduct);
    }
}

#[test]
fn offer_terms_are_validated() {
    let product = created();
    let refused = |spoil: fn(&mut OfferTerms)| {
        let mut terms = terms(1_000, 100);
        spoil(&mut terms);
        product.decide(put("s1", terms, score(400, 10))).unwrap_err()
    };
    let mismatch = ProductRejection::CurrencyMismatch { expected: Currency::EUR };
    assert_eq!(refused(|t| t.price.currency = Currency::USD), mismatch);
    assert_eq!(refused(|t| t.shipping.currency = Currency::GBP), mismatch);
    let price = ProductRejection::PriceInvalid { max_minor: PRICE_MINOR_MAX };
    assert_eq!(refused(|t| t.price.minor = 0), price);
    assert_eq!(refused(|t| t.price.minor = -1), price);
    assert_eq!(refused(|t| t.price.minor = i64::MAX), price);
    let shipping = ProductRejection::ShippingInvalid { max_minor: PRICE_MINOR_MAX };
    assert_eq!(refused(|t| t.shipping.minor = -1), shipping);
    assert_eq!(refused(|t| t.shipping.minor = i64::MIN), shipping);
    assert_eq!(
        refused(|t| t.handling_days = u16::MAX),
        ProductRejection::HandlingDaysInvalid { max: HANDLING_DAYS_MAX }
    );
    assert_eq!(
        refused(|t| t.available = u32::MAX),
        ProductRejection::QuantityTooLarge { max: QUANTITY_MAX }
    );
    let with_offer = with_offers(&[("s1", terms(1_000, 0), score(400, 10))]);
    assert_eq!(
        with_offer
            .decide(ProductCommand::SetOfferStock { seller: seller("s1"), available: u32::MAX }),
        Err(ProductRejection::QuantityTooLarge { max: QUANTITY_MAX })
    );
    assert_eq!(
        with_offer.decide(ProductCommand::WithdrawOffer { seller: seller("s2") }),
        Err(ProductRejection::UnknownOffer)
    );
}

#[test]
fn tie_break_1_lower_landed_price_wins_over_a_lower_price() {
    // s1: 10.00 + 5.00 shipping = 15.00; s2: 12.00 + free shipping = 12.00.
    let product = with_offers(&[
        ("s1", terms(1_000, 500), score(500, 0)),
        ("s2", terms(1_200, 0), score(300, 900)),
    ]);
    assert_eq!(winner(&product), Some("s2"));
}

#[test]
fn tie_break_2_faster_delivery_wins_at_equal_landed_price() {
    let mut by_marketplace = terms(1_000, 0);
    by_marketplace.fulfilment = Fulfilment::Marketplace;
    by_marketplace.handling_days = 5; // ignored: the marketplace ships at once
    let mut one_day = terms(1_000, 0);
    one_day.handling_days = 1;
    let product = with_offers(&[
        ("s1", one_day.clone(), score(500, 0)),
        ("s2", by_marketplace, score(400, 50)),
    ]);
    assert_eq!(winner(&product), Some("s2"));
    let mut two_days = one_day.clone();
    two_days.handling_days = 2;
    let product = with_offers(&[("s1", two_days, score(500, 0)), ("s2", one_day, score(400, 50))]);
    assert_eq!(winner(&product), Some("s2"));
}

#[test]
fn tie_break_3_higher_rating_wins_at_equal_price_and_delivery() {
    let product = with_offers(&[
        ("s1", terms(1_000, 0), score(450, 0)),
        ("s2", terms(1_000, 0), score(480, 900)),
    ]);
    assert_eq!(winner(&product), Some("s2"));
}

#[test]
fn tie_break_4_lower_defect_rate_wins_at_equal_rating() {
    let product = with_offers(&[
        ("s1", terms(1_000, 0), score(480, 120)),
        ("s2", terms(1_000, 0), score(480, 80)),
    ]);
    assert_eq!(winner(&product), Some("s2"));
}

#[test]
fn tie_break_5_seller_id_decides_a_dead_heat() {
    let product = with_offers(&[
        ("s2", terms(1_000, 0), score(480, 80)),
        ("s1", terms(1_000, 0), score(480, 80)),
    ]);
    assert_eq!(winner(&product), Some("s1"));
}

#[test]
fn only_new_in_stock_offers_of_good_sellers_are_eligible() {
    let mut used = terms(100, 0);
    used.condition = Condition::Used;
    let mut refurbished = terms(100, 0);
    refurbished.condition = Condition::Refurbished;
    let mut sold_out = terms(100, 0);
    sold_out.available = 0;
    let at_risk = SellerScore { standing: Standing::AtRisk, ..score(500, 0) };
    let suspended = SellerScore { standing: Standing::Suspended, ..score(500, 0) };
    let product = with_offers(&[
        ("used", used, score(500, 0)),
        ("refurb", refurbished, score(500, 0)),
        ("soldout", sold_out, score(500, 0)),
        ("atrisk", terms(100, 0), at_risk),
        ("suspended", terms(100, 0), suspended),
    ]);
    assert_eq!(winner(&product), None);
    let mut product = product;
    let (events, reply) = product.run(put("fair", terms(250, 999), score(0, 10_000))).unwrap();
    assert_eq!(events.last(), Some(&ProductEvent::BuyBoxChanged { winner: Some(seller("fair")) }));
    let change = changed(reply);
    assert!(change.buy_box_changed);
    assert_eq!(change.buy_box.map(|b| b.landed), Some(eur(1_249)));
}

#[test]
fn the_buy_box_follows_price_stock_and_standing() {
    let mut product = with_offers(&[
        ("s1", terms(1_000, 0), score(480, 10)),
        ("s2", terms(1_100, 0), score(480, 10)),
        ("s3", terms(1_200, 0), score(480, 10)),
    ]);
    assert_eq!(winner(&product), Some("s1"));

    // A loser's price change that does not make it win moves nothing.
    let (events, reply) = product.run(put("s3", terms(1_150, 0), score(480, 10))).unwrap();
    assert_eq!(
        events,
        [ProductEvent::OfferRevised { offer: product.state.offer(&seller("s3")).unwrap().clone() }]
    );
    assert!(!changed(reply).buy_box_changed);

    // A price drop wins.
    let (events, _) = product.run(put("s2", terms(900, 0), score(480, 10))).unwrap();
    assert_eq!(events.last(), Some(&ProductEvent::BuyBoxChanged { winner: Some(seller("s2")) }));

    // A stock-out loses.
    let stock_out = ProductCommand::SetOfferStock { seller: seller("s2"), available: 0 };
    let (events, _) = product.run(stock_out).unwrap();
    assert_eq!(events.last(), Some(&ProductEvent::BuyBoxChanged { winner: Some(seller("s1")) }));

    // Falling out of good standing loses.
    let at_risk = SellerScore { standing: Standing::AtRisk, version: 2, ..score(480, 10) };
    let demote = ProductCommand::SetSellerScore { seller: seller("s1"), score: at_risk };
    let (events, _) = product.run(demote).unwrap();
    assert_eq!(events.last(), Some(&ProductEvent::BuyBoxChanged { winner: Some(seller("s3")) }));

    // Withdrawing the last eligible offer empties the buy box.
    let (events, reply) =
        product.run(ProductCommand::WithdrawOffer { seller: seller("s3") }).unwrap();
    assert_eq!(events.last(), Some(&ProductEvent::BuyBoxChanged { winner: None }));
    assert_eq!(changed(reply).buy_box, None);
}

#[test]
fn repeating_an_offer_changes_nothing() {
    let mut product = with_offers(&[("s1", terms(1_000, 0), score(480, 10))]);
    let revision = product.state.revision();
    let (events, reply) = product.run(put("s1", terms(1_000, 0), score(480, 10))).unwrap();
    assert!(events.is_empty());
    assert_eq!(changed(reply).revision, revision);
}

#[test]
fn older_seller_scores_never_overwrite_newer_ones() {
    let newer = SellerScore { version: 5, ..score(480, 10) };
    let mut product = with_offers(&[("s1", terms(1_000, 0), newer)]);
    let older = SellerScore { standing: Standing::Suspended, version: 4, ..score(100, 10) };
    assert_eq!(
        product.decide(ProductCommand::SetSellerScore { seller: seller("s1"), score: older }),
        Err(ProductRejection::StaleSellerScore { version: 5 })
    );
    product.run(put("s1", terms(900, 0), older)).unwrap();
    assert_eq!(product.state.offer(&seller("s1")).unwrap().score, newer, "price taken, score kept");
    assert_eq!(winner(&product), Some("s1"));
}

#[test]
fn offers_per_product_are_bounded() {
    let mut product = created();
    for n in 0..crate::limits::OFFERS_PER_PRODUCT_MAX {
        let offer =
            Offer { seller: seller(&format!("s{n}")), terms: terms(1_000, 0), score: score(1, 1) };
        product.state.apply(&ProductEvent::OfferListed { offer });
    }
    assert_eq!(
        product.decide(put("late", terms(1, 0), score(500, 0))).unwrap_err(),
        ProductRejection::TooManyOffers { max: 1_000 }
    );
    assert!(product.decide(put("s7", terms(1, 0), score(500, 0))).is_ok(), "revising is fine");
}

#[test]
fn get_shows_the_winner_first_then_the_rest() {
    let mut sold_out = terms(500, 0);
    sold_out.available = 0;
    let product = with_offers(&[
        ("a", sold_out, score(480, 10)),
        ("b", terms(1_100, 0), score(480, 10)),
        ("c", terms(1_000, 0), score(480, 10)),
    ]);
    let Ok((events, ProductReply::Product(view))) = product.decide(ProductCommand::Get) else {
        panic!("a product");
    };
    assert!(events.is_empty());
    let order: Vec<&str> = view.offers.iter().map(|offer| offer.seller.as_str()).collect();
    assert_eq!(order, ["c", "b", "a"]);
    assert_eq!(view.buy_box.map(|b| b.seller), Some(seller("c")));
    assert_eq!((view.currency, view.created_at_ms), (Currency::EUR, 1));
}

#[test]
fn a_listing_writes_the_document_and_the_offer_together_or_neither() {
    let mut product = Harness::<Product>::new(ASIN);
    let list = |offer: Option<OfferTerms>| ProductCommand::List {
        by: seller("s1"),
        document: Some((document(), Currency::EUR)),
        offer: offer.map(|terms| (terms, score(450, 10))),
        required: Vec::new(),
    };
    let mut in_dollars = terms(1_000, 0);
    in_dollars.price = Money::new(1_000, Currency::USD);
    assert!(product.decide(list(Some(in_dollars))).is_err(), "a refused offer");
    assert_eq!(product.state, Product::default(), "writes no document either");
    let (events, reply) = product.run(list(Some(terms(1_000, 0)))).unwrap();
    assert!(matches!(
        events.as_slice(),
        [
            ProductEvent::DocumentCreated { .. },
            ProductEvent::OwnerRecorded { .. },
            ProductEvent::OfferListed { .. },
            ProductEvent::BuyBoxChanged { .. },
        ]
    ));
    assert_eq!(changed(reply).revision, 4);
    assert_eq!(winner(&product), Some("s1"));
    assert!(product.decide(list(Some(terms(1_000, 0)))).unwrap().0.is_empty(), "same again");
    let offer_only = ProductCommand::List {
        by: seller("s2"),
        document: None,
        offer: Some((terms(900, 0), score(450, 10))),
        required: Vec::new(),
    };
    assert_eq!(product.run(offer_only).unwrap().0.len(), 2, "listed, and wins the buy box");
    let not_owner = ProductCommand::List {
        by: seller("s2"),
        document: Some((document(), Currency::EUR)),
        offer: Some((terms(800, 0), score(450, 10))),
        required: Vec::new(),
    };
    assert_eq!(product.decide(not_owner).unwrap_err(), ProductRejection::NotDocumentOwner);
}

mod listings;
