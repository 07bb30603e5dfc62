//! Why a listing is suppressed beyond its own offer: the product's price range and its
//! document's required attributes.

use super::*;

#[test]
fn a_price_far_outside_the_products_range_is_suppressed() {
    let offers = [
        ("a", terms(1_000, 0), score(400, 0)),
        ("b", terms(1_100, 0), score(400, 0)),
        ("c", terms(900, 0), score(400, 0)),
        ("typo", terms(90, 0), score(500, 0)),
        ("greedy", terms(5_000, 0), score(500, 0)),
    ];
    let product = with_offers(&offers);
    // The median in stock is 1000: 90 and 5000 lie beyond a factor of three.
    assert_eq!(winner(&product), Some("c"));
    let terms = product.state.terms();
    let reasons = |name: &str| {
        let offer = product.state.offer(&seller(name)).unwrap();
        suppressions(offer, terms).iter().map(|r| r.code()).collect::<Vec<_>>()
    };
    assert_eq!(reasons("typo"), ["price_outside_range"]);
    assert_eq!(reasons("greedy"), ["price_outside_range"]);
    assert!(reasons("a").is_empty());
    // Two offers in stock say nothing about a range: the cheap one wins.
    let pair = with_offers(&[offers[0].clone(), offers[3].clone()]);
    assert_eq!(winner(&pair), Some("typo"));
}

#[test]
fn a_document_without_a_required_attribute_keeps_every_offer_off_the_buy_box() {
    let mut product = with_offers(&[("s1", terms(1_000, 0), score(400, 0))]);
    assert_eq!(winner(&product), Some("s1"));
    let write = |attributes: &[(&str, &str)]| {
        let mut document = document();
        document.attributes =
            attributes.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        ProductCommand::CreateOrUpdateDocument {
            document,
            currency: Currency::EUR,
            by: seller("s1"),
            required: vec!["model".into(), "isbn".into(), "model".into()],
        }
    };
    let (events, reply) = product.run(write(&[("isbn", "978")])).unwrap();
    assert!(events.contains(&ProductEvent::AttributesMissing { missing: vec!["model".into()] }));
    assert_eq!(events.last(), Some(&ProductEvent::BuyBoxChanged { winner: None }));
    assert!(changed(reply).buy_box_changed);
    assert_eq!(winner(&product), None);
    let offer = product.state.offer(&seller("s1")).unwrap();
    let reasons: Vec<_> =
        suppressions(offer, product.state.terms()).iter().map(|r| r.code()).collect();
    assert_eq!(reasons, ["missing_attributes"]);
    // The same document again changes nothing; the attribute added restores the buy box.
    assert!(product.decide(write(&[("isbn", "978")])).unwrap().0.is_empty());
    let (events, _) = product.run(write(&[("isbn", "978"), ("model", "X1")])).unwrap();
    assert!(events.contains(&ProductEvent::AttributesMissing { missing: Vec::new() }));
    assert_eq!(winner(&product), Some("s1"));
    assert!(product.state.view().unwrap().missing_attributes.is_empty());
}
