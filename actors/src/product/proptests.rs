//! The buy box against a reference written apart from it: the winner is eligible, is the
//! minimum of the documented order, does not depend on the order offers arrived in, and
//! `BuyBoxChanged` is emitted exactly when the winner changes. Small price and seller spaces,
//! so ties on every criterion are common.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::tests::{ASIN, document, eur, seller};
use super::*;
use crate::ids::Sku;
use crate::limits::RATING_MAX;
use crate::seller::{DefectRate, Rating, Standing};
use crate::testing::Harness;

fn seller_id() -> impl Strategy<Value = SellerId> {
    (0u8..8).prop_map(|n| seller(&format!("s{n}")))
}

fn score() -> impl Strategy<Value = SellerScore> {
    let standing = prop_oneof![6 => Just(Standing::Good), 1 => Just(Standing::AtRisk),
        1 => Just(Standing::Suspended), 1 => Just(Standing::Applied)];
    (
        standing,
        prop::sample::select(vec![450u16, 480, 500]),
        prop::sample::select(vec![0u16, 50]),
        0u64..4,
    )
        .prop_map(|(standing, rating, defect, version)| SellerScore {
            standing,
            rating: Rating::new(rating).unwrap(),
            defect_rate: DefectRate::new(defect).unwrap(),
            version,
        })
}

fn terms() -> impl Strategy<Value = OfferTerms> {
    let condition = prop_oneof![6 => Just(Condition::New), 1 => Just(Condition::Used),
        1 => Just(Condition::Refurbished)];
    let fulfilment = prop_oneof![Just(Fulfilment::Marketplace), Just(Fulfilment::Seller)];
    (
        // Now and then an offer far above the others: outside the product's range.
        prop_oneof![9 => 1i64..=4, 1 => Just(15i64)],
        0i64..=2,
        condition,
        fulfilment,
        0u16..=3,
        prop_oneof![1 => Just(0u32), 4 => 1u32..=3],
    )
        .prop_map(|(price, shipping, condition, fulfilment, handling_days, available)| {
            OfferTerms {
                sku: Sku::parse("SKU-1").unwrap(),
                price: eur(price * 100),
                shipping: eur(shipping * 100),
                condition,
                fulfilment,
                handling_days,
                available,
            }
        })
}

fn offer() -> impl Strategy<Value = Offer> {
    (seller_id(), terms(), score()).prop_map(|(seller, terms, score)| Offer {
        seller,
        terms,
        score,
    })
}

/// The documented rule, written again without the production code.
fn reference_winner<'a>(offers: impl IntoIterator<Item = &'a Offer>) -> Option<SellerId> {
    let offers: Vec<&Offer> = offers.into_iter().collect();
    // The going price: the median of the prices in stock, from three offers on.
    let mut prices: Vec<i64> =
        offers.iter().filter(|o| o.terms.available > 0).map(|o| o.terms.price.minor).collect();
    prices.sort_unstable();
    let median = (prices.len() >= 3).then(|| prices[prices.len() / 2]);
    let in_range = |o: &Offer| {
        median.is_none_or(|m| o.terms.price.minor <= 3 * m && 3 * o.terms.price.minor >= m)
    };
    let mut eligible: Vec<&Offer> = offers
        .into_iter()
        .filter(|o| o.terms.available > 0)
        .filter(|o| o.score.standing == Standing::Good && o.terms.condition == Condition::New)
        .filter(|o| in_range(o))
        .collect();
    eligible.sort_by_key(|o| {
        let days =
            if o.terms.fulfilment == Fulfilment::Marketplace { 0 } else { o.terms.handling_days };
        (
            o.terms.price.minor + o.terms.shipping.minor,
            days,
            RATING_MAX - o.score.rating.hundredths(),
            o.score.defect_rate.bps(),
            o.seller.to_string(),
        )
    });
    eligible.first().map(|o| o.seller.clone())
}

fn created() -> Harness<Product> {
    let event =
        ProductEvent::DocumentCreated { document: document(), currency: Currency::EUR, at_ms: 0 };
    Harness::given(ASIN, [event])
}

fn listed(offers: &[Offer]) -> Harness<Product> {
    let mut product = created();
    for offer in offers {
        let command = ProductCommand::PutOffer {
            seller: offer.seller.clone(),
            terms: offer.terms.clone(),
            score: offer.score,
        };
        product.run(command).unwrap();
    }
    product
}

/// Offers of distinct sellers, and the same offers in another order.
fn offers_twice() -> impl Strategy<Value = (Vec<Offer>, Vec<Offer>)> {
    prop::collection::vec(offer(), 0..12).prop_flat_map(|offers| {
        let unique: BTreeMap<SellerId, Offer> =
            offers.into_iter().map(|offer| (offer.seller.clone(), offer)).collect();
        let unique: Vec<Offer> = unique.into_values().collect();
        (Just(unique.clone()), Just(unique).prop_shuffle())
    })
}

#[derive(Debug, Clone)]
enum Change {
    Put(Offer),
    Withdraw(SellerId),
    Stock(SellerId, u32),
    Score(SellerId, SellerScore),
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        4 => offer().prop_map(Change::Put),
        1 => seller_id().prop_map(Change::Withdraw),
        2 => (seller_id(), 0u32..=2).prop_map(|(seller, available)| Change::Stock(seller, available)),
        2 => (seller_id(), score()).prop_map(|(seller, score)| Change::Score(seller, score)),
    ]
}

fn command(change: Change) -> ProductCommand {
    match change {
        Change::Put(offer) => ProductCommand::PutOffer {
            seller: offer.seller,
            terms: offer.terms,
            score: offer.score,
        },
        Change::Withdraw(seller) => ProductCommand::WithdrawOffer { seller },
        Change::Stock(seller, available) => ProductCommand::SetOfferStock { seller, available },
        Change::Score(seller, score) => ProductCommand::SetSellerScore { seller, score },
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// A fingerprint taken from borrowed fields (the product's state, its view) is the one of
    /// the document built from them: the index's search row and the search index agree.
    #[test]
    fn a_borrowed_fingerprint_is_the_documents((offers, _) in offers_twice()) {
        let product = listed(&offers);
        let asin = crate::ids::Asin::parse(ASIN).unwrap();
        let view = product.state.view().unwrap();
        let built = SearchDoc::of(&asin, &view).fingerprint();
        prop_assert_eq!(SearchDoc::fingerprint_of(&asin, &view), built);
        prop_assert_eq!(SearchDoc::fingerprint_of_product(&asin, &product.state), Some(built));
    }

    #[test]
    fn the_winner_is_the_eligible_minimum_whatever_the_arrival_order(
        (offers, shuffled) in offers_twice()
    ) {
        let product = listed(&offers);
        let expected = reference_winner(&offers);
        let terms = product.state.terms();
        prop_assert_eq!(product.state.buy_box_winner(), expected.as_ref());
        if let Some(winner) = product.state.buy_box_winner() {
            let winner = product.state.offer(winner).unwrap();
            prop_assert!(is_eligible(winner, terms));
            for other in product.state.offers().filter(|offer| is_eligible(offer, terms)) {
                prop_assert_ne!(compare(winner, other), std::cmp::Ordering::Greater);
            }
        }
        for offer in product.state.offers() {
            // A listing is suppressed exactly when it may not win, and says why.
            prop_assert_eq!(suppressions(offer, terms).is_empty(), is_eligible(offer, terms));
            let outside = suppressions(offer, terms).contains(&Suppression::PriceOutsideRange);
            prop_assert_eq!(outside, terms.range.excludes(offer.terms.price.minor));
        }
        let reordered = listed(&shuffled);
        prop_assert_eq!(reordered.state.buy_box_winner(), product.state.buy_box_winner());
        prop_assert_eq!(reordered.state.buy_box(), product.state.buy_box());
    }

    #[test]
    fn buy_box_changed_is_emitted_exactly_when_the_winner_changes(
        changes in prop::collection::vec(change(), 1..60)
    ) {
        let mut product = created();
        let mut journal = Vec::new();
        for change in changes {
            let before = product.state.buy_box_winner().cloned();
            let revision = product.state.revision();
            let Ok((events, reply)) = product.run(command(change)) else { continue };
            let after = product.state.buy_box_winner().cloned();
            prop_assert_eq!(&after, &reference_winner(product.state.offers()));
            let announced: Vec<&ProductEvent> = events
                .iter()
                .filter(|event| matches!(event, ProductEvent::BuyBoxChanged { .. }))
                .collect();
            if before == after {
                prop_assert!(announced.is_empty());
            } else {
                prop_assert_eq!(announced, [&ProductEvent::BuyBoxChanged { winner: after.clone() }]);
                let last_announces = matches!(events.last(), Some(ProductEvent::BuyBoxChanged { .. }));
                prop_assert!(last_announces, "the change comes after the events causing it");
            }
            let ProductReply::Changed(change) = reply else { panic!("a change") };
            prop_assert_eq!(change.buy_box_changed, before != after);
            prop_assert_eq!(change.buy_box, product.state.buy_box());
            prop_assert_eq!(change.revision, revision + events.len() as u64);
            prop_assert_eq!(change.revision, product.state.revision());
            journal.extend(events);
        }
        let mut replayed = created();
        journal.iter().for_each(|event| replayed.state.apply(event));
        prop_assert_eq!(replayed.state, product.state);
    }
}
