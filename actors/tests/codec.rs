//! Every command, event, reply, rejection and state of the domain survives the journal's own
//! codec (bincode through serde, which refuses self-describing tricks), and the position of
//! each event and rejection variant, which is what the codec records, is pinned: reordering a
//! variant breaks this test before it breaks a journal.

use std::fmt::Debug;

use bazaar_actors::inventory::{Inventory, InventoryCommand, InventoryEvent, InventoryRejection};
use bazaar_actors::product::{
    CatalogDocument, Condition, Fulfilment, Offer, OfferTerms, Product, ProductCommand,
    ProductEvent, ProductRejection, TaxClass,
};
use bazaar_actors::seller::{
    DefectRate, Rating, Seller, SellerCommand, SellerEvent, SellerRejection, SellerScore, Standing,
};
use bazaar_actors::{Currency, Money, Quantity, ReservationId, SellerId, Sku, kinds};
use bazaar_engine::{Ctx, Entity, EntityKey};
use bazaar_persistence::codec;
use serde::Serialize;
use serde::de::DeserializeOwned;

fn round_trip<T: Serialize + DeserializeOwned + PartialEq + Debug>(value: &T) {
    let record = codec::encode(value).expect("encodes");
    let back: T = codec::decode(record.as_bytes()).expect("decodes");
    assert_eq!(&back, value);
}

/// The variant position the codec wrote (one byte while positions stay below 251).
fn variant_index<T: Serialize>(value: &T) -> u8 {
    codec::encode(value).expect("encodes").payload()[0]
}

fn run<E: Entity>(id: &str, commands: Vec<E::Command>) -> (E, Vec<E::Reply>) {
    let key = EntityKey::new(E::KIND, id);
    let mut state = E::default();
    let mut replies = Vec::new();
    for (n, command) in commands.into_iter().enumerate() {
        let ctx = Ctx { now_ms: 1_000 + n as u64, key: &key };
        let (events, reply) = state.decide(command, &ctx).unwrap_or_else(|r| panic!("{r:?}"));
        events.iter().for_each(|event| state.apply(event));
        replies.push(reply);
    }
    (state, replies)
}

fn rid(text: &str) -> ReservationId {
    ReservationId::parse(text).unwrap()
}

fn qty(units: u32) -> Quantity {
    Quantity::new(units).unwrap()
}

#[test]
fn inventory_survives_the_codec() {
    let commands = vec![
        InventoryCommand::SetOnHand { quantity: 10, feed_seq: 1 },
        InventoryCommand::Adjust { delta: -2 },
        InventoryCommand::Reserve { reservation_id: rid("a"), quantity: qty(2), ttl_ms: 10 },
        InventoryCommand::Reserve { reservation_id: rid("b"), quantity: qty(1), ttl_ms: 60_000 },
        InventoryCommand::Commit { reservation_id: rid("a") },
        InventoryCommand::Release { reservation_id: rid("b") },
        InventoryCommand::ExpireDue,
        InventoryCommand::Get,
    ];
    commands.iter().for_each(round_trip);
    let (state, replies) = run::<Inventory>("SKU1@FRA1", commands);
    round_trip(&state);
    replies.iter().for_each(round_trip);

    let events = [
        InventoryEvent::OnHandSet { quantity: 1, feed_seq: 1 },
        InventoryEvent::Adjusted { delta: -1, on_hand: 0 },
        InventoryEvent::Reserved { reservation_id: rid("a"), quantity: qty(1), expires_at_ms: 9 },
        InventoryEvent::Committed { reservation_id: rid("a"), quantity: qty(1) },
        InventoryEvent::Released { reservation_id: rid("a"), quantity: qty(1) },
        InventoryEvent::Expired { reservation_id: rid("a"), quantity: qty(1) },
    ];
    let rejections = [
        InventoryRejection::QuantityTooLarge { max: 1 },
        InventoryRejection::StaleFeed { last_applied: 1 },
        InventoryRejection::BelowReserved { reserved: 1 },
        InventoryRejection::ZeroAdjustment,
        InventoryRejection::InvalidTtl { max_ms: 1 },
        InventoryRejection::OutOfStock { available: 1 },
        InventoryRejection::ReservationConflict { quantity: qty(1) },
        InventoryRejection::UnknownReservation,
        InventoryRejection::ReservationReleased,
        InventoryRejection::ReservationExpired,
        InventoryRejection::ReservationCommitted,
        InventoryRejection::TooManyReservations { max: 1 },
    ];
    pin_positions(&events);
    pin_positions(&rejections);
}

fn pin_positions<T: Serialize + DeserializeOwned + PartialEq + Debug>(variants: &[T]) {
    for (position, variant) in variants.iter().enumerate() {
        round_trip(variant);
        assert_eq!(usize::from(variant_index(variant)), position, "{variant:?} moved");
    }
}

fn document() -> CatalogDocument {
    CatalogDocument {
        title: "Title".into(),
        brand: "Brand".into(),
        category_path: vec!["Books".into()],
        attributes: [("k".to_string(), "v".to_string())].into(),
        images: vec!["https://img.example/1.jpg".into()],
        description: String::new(),
        tax_class: TaxClass::Zero,
    }
}

fn score() -> SellerScore {
    SellerScore {
        standing: Standing::Good,
        rating: Rating::new(480).unwrap(),
        defect_rate: DefectRate::new(20).unwrap(),
        version: 3,
    }
}

fn terms() -> OfferTerms {
    OfferTerms {
        sku: Sku::parse("SKU-1").unwrap(),
        price: Money::new(1_999, Currency::EUR),
        shipping: Money::new(0, Currency::EUR),
        condition: Condition::New,
        fulfilment: Fulfilment::Marketplace,
        handling_days: 1,
        available: 4,
    }
}

#[test]
fn product_survives_the_codec() {
    let s1 = SellerId::parse("s1").unwrap();
    let commands = vec![
        ProductCommand::CreateOrUpdateDocument { document: document(), currency: Currency::EUR },
        ProductCommand::PutOffer { seller: s1.clone(), terms: terms(), score: score() },
        ProductCommand::SetOfferStock { seller: s1.clone(), available: 2 },
        ProductCommand::SetSellerScore {
            seller: s1.clone(),
            score: SellerScore { version: 4, ..score() },
        },
        ProductCommand::Get,
        ProductCommand::WithdrawOffer { seller: s1.clone() },
    ];
    commands.iter().for_each(round_trip);
    let (state, replies) = run::<Product>("B000000001", commands);
    round_trip(&state);
    replies.iter().for_each(round_trip);

    let offer = Offer { seller: s1.clone(), terms: terms(), score: score() };
    let events = [
        ProductEvent::DocumentCreated { document: document(), currency: Currency::EUR, at_ms: 1 },
        ProductEvent::DocumentUpdated { document: document(), at_ms: 1 },
        ProductEvent::OfferListed { offer: offer.clone() },
        ProductEvent::OfferRevised { offer },
        ProductEvent::OfferWithdrawn { seller: s1.clone() },
        ProductEvent::OfferStockSet { seller: s1.clone(), available: 1 },
        ProductEvent::SellerScoreRecorded { seller: s1.clone(), score: score() },
        ProductEvent::BuyBoxChanged { winner: Some(s1) },
    ];
    let rejections = [
        ProductRejection::UnknownProduct,
        ProductRejection::TitleInvalid { bytes_max: 1 },
        ProductRejection::BrandInvalid { bytes_max: 1 },
        ProductRejection::CategoryPathInvalid { depth_max: 1, bytes_max: 1 },
        ProductRejection::AttributesInvalid { count_max: 1, key_bytes_max: 1, value_bytes_max: 1 },
        ProductRejection::ImagesInvalid { count_max: 1, url_bytes_max: 1 },
        ProductRejection::DescriptionInvalid { bytes_max: 1 },
        ProductRejection::CurrencyChanged { currency: Currency::EUR },
        ProductRejection::CurrencyMismatch { expected: Currency::USD },
        ProductRejection::PriceInvalid { max_minor: 1 },
        ProductRejection::ShippingInvalid { max_minor: 1 },
        ProductRejection::HandlingDaysInvalid { max: 1 },
        ProductRejection::QuantityTooLarge { max: 1 },
        ProductRejection::UnknownOffer,
        ProductRejection::TooManyOffers { max: 1 },
        ProductRejection::StaleSellerScore { version: 1 },
    ];
    pin_positions(&events);
    pin_positions(&rejections);
}

#[test]
fn seller_survives_the_codec() {
    let commands = vec![
        SellerCommand::Register { name: "Acme".into() },
        SellerCommand::UpdateProfile { name: "Acme Books".into() },
        SellerCommand::UpdateScore { rating_hundredths: 470, defect_bps: 12 },
        SellerCommand::SetStanding { standing: Standing::AtRisk },
        SellerCommand::Get,
    ];
    commands.iter().for_each(round_trip);
    let (state, replies) = run::<Seller>("acme", commands);
    round_trip(&state);
    replies.iter().for_each(round_trip);

    let events = [
        SellerEvent::Registered { name: "Acme".into(), at_ms: 1 },
        SellerEvent::ProfileUpdated { name: "Acme".into() },
        SellerEvent::ScoreUpdated { rating: Rating::MAX, defect_rate: DefectRate::new(0).unwrap() },
        SellerEvent::StandingChanged { from: Standing::Good, to: Standing::Suspended },
    ];
    let rejections = [
        SellerRejection::NotRegistered,
        SellerRejection::AlreadyRegistered,
        SellerRejection::NameInvalid { bytes_max: 1 },
        SellerRejection::RatingOutOfRange { max: 1 },
        SellerRejection::DefectRateOutOfRange { max: 1 },
    ];
    pin_positions(&events);
    pin_positions(&rejections);
    let standings = [Standing::Good, Standing::AtRisk, Standing::Suspended];
    pin_positions(&standings);
}

#[test]
fn invalid_values_do_not_decode() {
    // A rating of 501 or an empty seller id written by some other encoder is refused on read.
    let rating = codec::encode(&501u16).unwrap();
    assert!(codec::decode::<Rating>(rating.as_bytes()).is_err());
    let empty = codec::encode("").unwrap();
    assert!(codec::decode::<SellerId>(empty.as_bytes()).is_err());
    let currency = codec::encode("XXX").unwrap();
    assert!(codec::decode::<Currency>(currency.as_bytes()).is_err());
    let zero = codec::encode(&0u32).unwrap();
    assert!(codec::decode::<Quantity>(zero.as_bytes()).is_err());
}

#[test]
fn entities_use_their_kind_codes() {
    assert_eq!(Inventory::KIND, kinds::INVENTORY);
    assert_eq!(Product::KIND, kinds::PRODUCT);
    assert_eq!(Seller::KIND, kinds::SELLER);
}
