//! The catalogue side survives the codec: inventory, product, seller and cart, their events
//! and rejections pinned to their positions, their snapshots from before a field was added
//! still decoding, and values that cannot exist refused on read.

use bazaar_actors::cart::{
    Cart, CartCommand, CartEvent, CartLine, CartOwner, CartRejection, CustomerId, GuestToken,
    HoldRecord, OfferChoice,
};
use bazaar_actors::inventory::{
    Inventory, InventoryCommand, InventoryEvent, InventoryRejection, ReservationStatus,
};
use bazaar_actors::product::{
    CatalogDocument, Condition, Fulfilment, Offer, OfferTerms, Product, ProductCommand,
    ProductEvent, ProductRejection, TaxClass,
};
use bazaar_actors::seller::{
    DefectRate, Rating, Seller, SellerCommand, SellerEvent, SellerRejection, SellerScore, Standing,
    StandingRules,
};
use bazaar_actors::{Asin, Currency, Quantity, SellerId, Sku, kinds};
use bazaar_entity::Entity;
use bazaar_persistence::codec;

use crate::support::{eur, pin_positions, pin_rejections, qty, rid, run};

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
        InventoryCommand::Restock { reservation_id: rid("a"), sold: Some(qty(2)) },
        InventoryCommand::Lookup { reservation_id: rid("b") },
    ];
    run::<Inventory>("SKU1@FRA1", commands);

    let events = [
        InventoryEvent::OnHandSet { quantity: 1, feed_seq: 1 },
        InventoryEvent::Adjusted { delta: -1, on_hand: 0 },
        InventoryEvent::Reserved { reservation_id: rid("a"), quantity: qty(1), expires_at_ms: 9 },
        InventoryEvent::Committed { reservation_id: rid("a"), quantity: qty(1) },
        InventoryEvent::Released { reservation_id: rid("a"), quantity: qty(1) },
        InventoryEvent::Expired { reservation_id: rid("a"), quantity: qty(1) },
        InventoryEvent::Restocked { reservation_id: rid("a"), quantity: qty(1) },
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
        InventoryRejection::ReservationActive,
        InventoryRejection::ReservationRestocked,
    ];
    pin_positions(&events);
    pin_rejections(&rejections);
    pin_positions(&[
        ReservationStatus::Active,
        ReservationStatus::Committed,
        ReservationStatus::Released,
        ReservationStatus::Expired,
        ReservationStatus::Restocked,
    ]);
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
        price: eur(1_999),
        shipping: eur(0),
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
        ProductCommand::CreateOrUpdateDocument {
            document: document(),
            currency: Currency::EUR,
            by: s1.clone(),
            required: vec!["isbn".into()],
        },
        ProductCommand::PutOffer { seller: s1.clone(), terms: terms(), score: score() },
        ProductCommand::SetOfferStock { seller: s1.clone(), available: 2 },
        ProductCommand::SetSellerScore {
            seller: s1.clone(),
            score: SellerScore { version: 4, ..score() },
        },
        ProductCommand::Get,
        ProductCommand::WithdrawOffer { seller: s1.clone() },
    ];
    run::<Product>("B000000001", commands);

    let offer = Offer { seller: s1.clone(), terms: terms(), score: score() };
    let events = [
        ProductEvent::DocumentCreated { document: document(), currency: Currency::EUR, at_ms: 1 },
        ProductEvent::DocumentUpdated { document: document(), at_ms: 1 },
        ProductEvent::OfferListed { offer: offer.clone() },
        ProductEvent::OfferRevised { offer },
        ProductEvent::OfferWithdrawn { seller: s1.clone() },
        ProductEvent::OfferStockSet { seller: s1.clone(), available: 1 },
        ProductEvent::SellerScoreRecorded { seller: s1.clone(), score: score() },
        ProductEvent::BuyBoxChanged { winner: Some(s1.clone()) },
        ProductEvent::OwnerRecorded { owner: s1 },
        ProductEvent::AttributesMissing { missing: vec!["isbn".into()] },
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
        ProductRejection::NotDocumentOwner,
    ];
    pin_positions(&events);
    pin_rejections(&rejections);
}

/// A product snapshot written before owners were recorded (it ends before `owner`) still
/// decodes, with no owner.
#[test]
fn a_product_snapshot_from_before_owners_decodes_without_one() {
    let s1 = SellerId::parse("s1").unwrap();
    let mut legacy = Product::default();
    let created =
        ProductEvent::DocumentCreated { document: document(), currency: Currency::EUR, at_ms: 1 };
    let offer = Offer { seller: s1, terms: terms(), score: score() };
    for event in [created, ProductEvent::OfferListed { offer }] {
        legacy.apply(&event);
    }
    assert_eq!(legacy.owner(), None);
    let record = codec::encode(&legacy).expect("encodes");
    let payload = record.payload();
    assert!(payload.ends_with(&[0, 0]), "the last fields: the owner (none), nothing missing");
    for older in 1..=2 {
        let old: Product =
            codec::decode_payload(&payload[..payload.len() - older]).expect("decodes");
        assert_eq!(old, legacy);
    }
    assert!(codec::decode_payload::<Product>(&payload[..payload.len() - 3]).is_err());
}

#[test]
fn seller_survives_the_codec() {
    let commands = vec![
        SellerCommand::Register { name: "Acme".into() },
        SellerCommand::UpdateProfile { name: "Acme Books".into() },
        SellerCommand::UpdateScore {
            rating_hundredths: 470,
            defect_bps: 150,
            rules: StandingRules::MARKETPLACE.defect_rules(),
        },
        SellerCommand::SetStanding { standing: Standing::AtRisk },
        SellerCommand::Get,
    ];
    run::<Seller>("acme", commands);
    run::<Seller>("new", vec![SellerCommand::Apply { name: "New".into() }]);
    // A score update carries the two thresholds alone, as it did before the other rules
    // came: nodes of either version read each other's.
    let thresholds = codec::encode(&StandingRules::MARKETPLACE.defect_rules()).unwrap();
    let before = codec::encode(&(Some(100u16), Some(200u16))).unwrap();
    assert_eq!(thresholds.payload(), before.payload());

    let events = [
        SellerEvent::Registered { name: "Acme".into(), at_ms: 1 },
        SellerEvent::ProfileUpdated { name: "Acme".into() },
        SellerEvent::ScoreUpdated { rating: Rating::MAX, defect_rate: DefectRate::new(0).unwrap() },
        SellerEvent::StandingChanged { from: Standing::Good, to: Standing::Suspended },
        SellerEvent::StandingRuled {
            from: Standing::Good,
            to: Standing::AtRisk,
            defect_rate: DefectRate::new(150).unwrap(),
        },
    ];
    let rejections = [
        SellerRejection::NotRegistered,
        SellerRejection::AlreadyRegistered,
        SellerRejection::NameInvalid { bytes_max: 1 },
        SellerRejection::RatingOutOfRange { max: 1 },
        SellerRejection::DefectRateOutOfRange { max: 1 },
    ];
    pin_positions(&events);
    pin_rejections(&rejections);
    let standings = [Standing::Good, Standing::AtRisk, Standing::Suspended, Standing::Applied];
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

#[test]
fn cart_survives_the_codec() {
    let asin = Asin::parse("B000000001").unwrap();
    let s1 = SellerId::parse("s1").unwrap();
    let customer = CartOwner::Customer(CustomerId::parse("c1").unwrap());
    let guest = CartOwner::Guest(GuestToken::parse("guest-token-0123456789").unwrap());
    let line = CartLine {
        asin: asin.clone(),
        offer: OfferChoice::Seller(s1.clone()),
        quantity: qty(2),
        seen_unit_price: eur(1_999),
        seen_available: true,
        seen_at_ms: 7,
    };
    let hold = HoldRecord {
        asin: asin.clone(),
        seller: s1.clone(),
        sku: Sku::parse("sku-1").unwrap(),
        generation: 2,
    };
    let commands = vec![
        CartCommand::Create { owner: customer.clone(), currency: Currency::EUR },
        CartCommand::AddLine {
            asin: asin.clone(),
            offer: OfferChoice::BuyBox,
            quantity: qty(1),
            seen_unit_price: eur(500),
            seen_available: true,
        },
        CartCommand::ChangeQuantity {
            asin: asin.clone(),
            offer: OfferChoice::BuyBox,
            quantity: qty(3),
            seen_unit_price: eur(450),
            seen_available: false,
        },
        CartCommand::MergeFrom {
            from: "eu/c-guest".into(),
            revision: 4,
            lines: vec![line.clone()],
        },
        CartCommand::Get,
        CartCommand::RemoveLine { asin: asin.clone(), offer: OfferChoice::BuyBox },
        CartCommand::Clear,
        CartCommand::RecordHolds { add: vec![hold.clone()], forget: vec![] },
        CartCommand::RecordHolds { add: vec![], forget: vec![hold.clone()] },
    ];
    run::<Cart>("cart-1", commands);

    let events = [
        CartEvent::Created { owner: guest.clone(), currency: Currency::EUR, at_ms: 1 },
        CartEvent::LineAdded { line: line.clone() },
        CartEvent::LineChanged { line },
        CartEvent::LineRemoved { asin, offer: OfferChoice::Seller(s1.clone()) },
        CartEvent::Cleared,
        CartEvent::MergedFrom { from: "eu/c-guest".into(), revision: 4 },
        CartEvent::HoldRecorded { hold: hold.clone() },
        CartEvent::HoldForgotten { hold },
        CartEvent::HoldsOnCart,
    ];
    let rejections = [
        CartRejection::UnknownCart,
        CartRejection::AlreadyCreated,
        CartRejection::CurrencyMismatch { expected: Currency::EUR },
        CartRejection::PriceInvalid { max_minor: 1 },
        CartRejection::LineQuantityTooLarge { max: 1 },
        CartRejection::TooManyLines { max: 1 },
        CartRejection::UnknownLine,
        CartRejection::MergeTooLarge { max: 1 },
        CartRejection::MergeIntoItself,
        CartRejection::TooManyHolds { max: 1 },
    ];
    pin_positions(&events);
    pin_rejections(&rejections);
    pin_positions(&[customer, guest]);
    pin_positions(&[OfferChoice::BuyBox, OfferChoice::Seller(s1)]);
    assert_eq!(Cart::KIND, kinds::CART);
}

/// A cart snapshot written before merges were remembered (it ends before `merged`), or before
/// holds were recorded on carts (it ends before `holds` or `holds_on_cart`), still decodes,
/// remembering none and with its holds not said to be all on the cart.
#[test]
fn a_cart_snapshot_from_before_merges_or_holds_decodes() {
    let owner = CartOwner::Customer(CustomerId::parse("c1").unwrap());
    let mut legacy = Cart::default();
    legacy.apply(&CartEvent::Created { owner, currency: Currency::EUR, at_ms: 1 });
    let record = codec::encode(&legacy).expect("encodes");
    let payload = record.payload();
    assert!(
        payload.ends_with(&[0, 0, 0]),
        "the last fields are the merged sources (none), the holds (none) and false"
    );
    for older in 1..=3 {
        let old: Cart = codec::decode_payload(&payload[..payload.len() - older]).expect("decodes");
        assert_eq!(old, legacy);
    }
    assert!(codec::decode_payload::<Cart>(&payload[..payload.len() - 4]).is_err());
}
