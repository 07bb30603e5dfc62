//! Every command, event, reply, rejection and state of the domain survives the journal's own
//! codec (bincode through serde, which refuses self-describing tricks), and the position of
//! each event and rejection variant, which is what the codec records, is pinned: reordering a
//! variant breaks this test before it breaks a journal.

use std::fmt::Debug;

use bazaar_actors::inventory::{
    Inventory, InventoryCommand, InventoryEvent, InventoryRejection, ReservationStatus,
};
use bazaar_actors::product::{
    CatalogDocument, Condition, Fulfilment, Offer, OfferTerms, Product, ProductCommand,
    ProductEvent, ProductRejection, TaxClass,
};
use bazaar_actors::seller::{
    DefectRate, Rating, Seller, SellerCommand, SellerEvent, SellerRejection, SellerScore, Standing,
};
use bazaar_actors::{Currency, Money, Quantity, ReservationId, SellerId, Sku, kinds};
use bazaar_entity::{Ctx, Entity, EntityKey};
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
        InventoryCommand::Restock { reservation_id: rid("a"), sold: Some(qty(2)) },
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
    pin_positions(&rejections);
    pin_positions(&[
        ReservationStatus::Active,
        ReservationStatus::Committed,
        ReservationStatus::Released,
        ReservationStatus::Expired,
        ReservationStatus::Restocked,
    ]);
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
        ProductCommand::CreateOrUpdateDocument {
            document: document(),
            currency: Currency::EUR,
            by: s1.clone(),
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
        ProductEvent::BuyBoxChanged { winner: Some(s1.clone()) },
        ProductEvent::OwnerRecorded { owner: s1 },
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
    pin_positions(&rejections);
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
    assert_eq!(payload.last(), Some(&0), "the last field is the owner, none");
    let old: Product = codec::decode_payload(&payload[..payload.len() - 1]).expect("decodes");
    assert_eq!(old, legacy);
    assert!(codec::decode_payload::<Product>(&payload[..payload.len() - 2]).is_err());
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

#[test]
fn cart_survives_the_codec() {
    use bazaar_actors::Asin;
    use bazaar_actors::cart::{
        Cart, CartCommand, CartEvent, CartLine, CartOwner, CartRejection, CustomerId, GuestToken,
        OfferChoice,
    };

    let asin = Asin::parse("B000000001").unwrap();
    let s1 = SellerId::parse("s1").unwrap();
    let eur = |minor| Money::new(minor, Currency::EUR);
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
    ];
    commands.iter().for_each(round_trip);
    let (state, replies) = run::<Cart>("cart-1", commands);
    round_trip(&state);
    replies.iter().for_each(round_trip);

    let events = [
        CartEvent::Created { owner: guest.clone(), currency: Currency::EUR, at_ms: 1 },
        CartEvent::LineAdded { line: line.clone() },
        CartEvent::LineChanged { line },
        CartEvent::LineRemoved { asin, offer: OfferChoice::Seller(s1.clone()) },
        CartEvent::Cleared,
        CartEvent::MergedFrom { from: "eu/c-guest".into(), revision: 4 },
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
    ];
    pin_positions(&events);
    pin_positions(&rejections);
    pin_positions(&[customer, guest]);
    pin_positions(&[OfferChoice::BuyBox, OfferChoice::Seller(s1)]);
    assert_eq!(Cart::KIND, kinds::CART);
}

/// A cart snapshot written before merges were remembered (it ends before `merged`) still
/// decodes, remembering none.
#[test]
fn a_cart_snapshot_from_before_merges_were_remembered_decodes() {
    use bazaar_actors::cart::{Cart, CartEvent, CartOwner, CustomerId};
    let owner = CartOwner::Customer(CustomerId::parse("c1").unwrap());
    let mut legacy = Cart::default();
    legacy.apply(&CartEvent::Created { owner, currency: Currency::EUR, at_ms: 1 });
    let record = codec::encode(&legacy).expect("encodes");
    let payload = record.payload();
    assert_eq!(payload.last(), Some(&0), "the last field is the merged sources, none");
    let old: Cart = codec::decode_payload(&payload[..payload.len() - 1]).expect("decodes");
    assert_eq!(old, legacy);
    assert!(codec::decode_payload::<Cart>(&payload[..payload.len() - 2]).is_err());
}

fn promotion_definition() -> bazaar_actors::promotion::PromotionDefinition {
    use bazaar_actors::promotion::{
        Benefit, CouponCode, PromotionDefinition, RedemptionLimits, Scope, Window,
    };
    PromotionDefinition {
        benefit: Benefit::AmountOff { amount: Money::new(500, Currency::EUR) },
        window: Window { starts_ms: 0, ends_ms: 1_000_000 },
        coupon: Some(CouponCode::parse("FIVE").unwrap()),
        scope: Scope::Asins([bazaar_actors::Asin::parse("B000000001").unwrap()].into()),
        stackable: true,
        priority: 3,
        minimum: Some(Money::new(5_000, Currency::EUR)),
        limits: RedemptionLimits { total: 10, per_customer: 2 },
    }
}

#[test]
fn promotion_survives_the_codec() {
    use bazaar_actors::CustomerId;
    use bazaar_actors::promotion::{
        Benefit, OrderId, Promotion, PromotionCommand, PromotionEvent, PromotionId,
        PromotionRejection, RedemptionStatus, Scope,
    };

    let customer = CustomerId::parse("c1").unwrap();
    let order = OrderId::parse("o1").unwrap();
    let commands = vec![
        PromotionCommand::Create { definition: promotion_definition() },
        PromotionCommand::Update { definition: promotion_definition() },
        PromotionCommand::Redeem { customer: customer.clone(), order_id: order.clone() },
        PromotionCommand::Unredeem { order_id: order.clone() },
        PromotionCommand::Unredeem { order_id: OrderId::parse("o2").unwrap() },
        PromotionCommand::Get,
        PromotionCommand::End,
    ];
    commands.iter().for_each(round_trip);
    let (state, replies) = run::<Promotion>("five", commands);
    round_trip(&state);
    round_trip(&state.candidate().unwrap());
    replies.iter().for_each(round_trip);

    let events = [
        PromotionEvent::Created {
            id: PromotionId::parse("five").unwrap(),
            definition: promotion_definition(),
            at_ms: 1,
        },
        PromotionEvent::Updated { definition: promotion_definition(), at_ms: 1 },
        PromotionEvent::Ended { at_ms: 1 },
        PromotionEvent::Redeemed { order_id: order.clone(), customer: customer.clone(), at_ms: 1 },
        PromotionEvent::Unredeemed { order_id: order, customer: Some(customer), at_ms: 1 },
    ];
    let rejections = [
        PromotionRejection::UnknownPromotion,
        PromotionRejection::IdInvalid,
        PromotionRejection::AlreadyCreated,
        PromotionRejection::WindowInvalid,
        PromotionRejection::PercentInvalid { max_bps: 1 },
        PromotionRejection::AmountInvalid { max_minor: 1 },
        PromotionRejection::BuyGetInvalid { max: 1 },
        PromotionRejection::ScopeInvalid { asins_max: 1 },
        PromotionRejection::LimitsInvalid { total_max: 1 },
        PromotionRejection::CurrencyMismatch,
        PromotionRejection::Ended,
        PromotionRejection::NotStarted,
        PromotionRejection::Expired,
        PromotionRejection::TotalLimitReached { limit: 1 },
        PromotionRejection::CustomerLimitReached { limit: 1 },
        PromotionRejection::OrderConflict,
        PromotionRejection::RedemptionReversed,
        PromotionRejection::LimitBelowRedemptions { redeemed: 1 },
        PromotionRejection::TooManyOrders { max: 1 },
    ];
    pin_positions(&events);
    pin_positions(&rejections);
    let eur = Money::new(1, Currency::EUR);
    pin_positions(&[
        Benefit::PercentOff { bps: 1 },
        Benefit::AmountOff { amount: eur },
        Benefit::BuyXGetY { buy: qty(1), get: qty(1) },
        Benefit::FreeShipping { threshold: eur },
    ]);
    pin_positions(&[
        Scope::Marketplace,
        Scope::Seller(SellerId::parse("s1").unwrap()),
        Scope::Asins(Default::default()),
    ]);
    pin_positions(&[RedemptionStatus::Redeemed, RedemptionStatus::Reversed]);
    assert_eq!(Promotion::KIND, kinds::PROMOTION);
}

#[test]
fn a_priced_cart_survives_the_codec() {
    use bazaar_actors::pricing::{
        DeclineReason, Declined, PricingContext, PricingError, PricingInput, PricingLine, VatTable,
        price,
    };
    use bazaar_actors::promotion::{CandidatePromotion, CouponCode, PromotionId};
    use bazaar_actors::{Asin, CountryCode};

    let de = CountryCode::parse("DE").unwrap();
    let vat = VatTable::from_rates([(de, TaxClass::Standard, 1_900)]).unwrap();
    round_trip(&vat);
    round_trip(&de);
    let lines = [PricingLine {
        asin: Asin::parse("B000000001").unwrap(),
        seller: SellerId::parse("s1").unwrap(),
        unit_price: Money::new(6_000, Currency::EUR),
        shipping: Money::new(100, Currency::EUR),
        quantity: qty(1),
        tax_class: TaxClass::Standard,
    }];
    round_trip(&lines[0]);
    let promotions = [CandidatePromotion {
        id: PromotionId::parse("five").unwrap(),
        definition: promotion_definition(),
    }];
    let coupons = [CouponCode::parse("FIVE").unwrap(), CouponCode::parse("NOPE").unwrap()];
    let context = PricingContext {
        destination: de,
        promotions: &promotions,
        coupons: &coupons,
        vat: &vat,
        now_ms: 5,
    };
    let priced = price(&PricingInput { currency: Currency::EUR, lines: &lines, context }).unwrap();
    assert_eq!(priced.totals.total, Money::new(6_664, Currency::EUR), "(6000 - 500 + 100) x 1.19");
    round_trip(&priced);

    let id = PromotionId::parse("p").unwrap();
    let reasons = [
        DeclineReason::NotStarted,
        DeclineReason::Expired,
        DeclineReason::CouponRequired,
        DeclineReason::CurrencyMismatch,
        DeclineReason::OutOfScope,
        DeclineReason::MinimumNotMet,
        DeclineReason::NotStackable,
        DeclineReason::NothingToDiscount,
    ];
    pin_positions(&reasons);
    pin_positions(&[
        Declined::Promotion { id: id.clone(), reason: DeclineReason::Expired },
        Declined::CodeUnknown { code: CouponCode::parse("X").unwrap() },
    ]);
    let errors = [
        PricingError::CurrencyMismatch { expected: Currency::EUR, found: Currency::USD },
        PricingError::AmountInvalid { max_minor: 1 },
        PricingError::QuantityTooLarge { max: 1 },
        PricingError::TooManyLines { max: 1 },
        PricingError::TooManyPromotions { max: 1 },
        PricingError::TooManyCoupons { max: 1 },
        PricingError::DuplicatePromotion { id: id.clone() },
        PricingError::PromotionInvalid { id },
        PricingError::NoVatRate { country: de, tax_class: TaxClass::Reduced },
        PricingError::Overflow,
    ];
    pin_positions(&errors);
}

fn new_order() -> bazaar_actors::order::NewOrder {
    use bazaar_actors::fraud::FraudAssessment;
    use bazaar_actors::order::{CapturePolicy, NewOrder, OrderLine, ShipTo};
    use bazaar_actors::payment::Authorization;
    use bazaar_actors::pricing::CartTotals;
    use bazaar_actors::{Asin, CountryCode, CustomerId, LocationCode};

    let eur = |minor| Money::new(minor, Currency::EUR);
    let line = OrderLine {
        asin: Asin::parse("B000000001").unwrap(),
        seller: SellerId::parse("s1").unwrap(),
        sku: Sku::parse("SKU-1").unwrap(),
        location: LocationCode::parse("FRA1").unwrap(),
        quantity: qty(2),
        unit_price: eur(1_000),
        discount: eur(100),
        shipping: eur(0),
        net: eur(1_900),
        vat_rate_bps: 1_900,
        vat: eur(361),
        total: eur(2_261),
        handling_days: 2,
    };
    NewOrder {
        customer: CustomerId::parse("c1").unwrap(),
        checkout: "eu/c1/key-1".into(),
        currency: Currency::EUR,
        lines: vec![line],
        totals: CartTotals {
            subtotal: eur(2_000),
            discount: eur(100),
            shipping: eur(300),
            shipping_discount: eur(300),
            net: eur(1_900),
            vat: eur(361),
            total: eur(2_261),
        },
        promotions: Vec::new(),
        authorization: Authorization {
            psp: "psp-a".into(),
            id: "auth-1".into(),
            key: "o-key".into(),
            amount: eur(2_261),
        },
        capture: CapturePolicy::AtPlacement,
        commission_bps: 1_200,
        fraud: FraudAssessment::clean(),
        ship_to: ShipTo {
            country: CountryCode::parse("DE").unwrap(),
            postal_code: "10115".into(),
            city: "Berlin".into(),
            line1: "Invalidenstr. 1".into(),
            name: "A. Customer".into(),
        },
    }
}

#[test]
fn order_survives_the_codec() {
    use bazaar_actors::LocationCode;
    use bazaar_actors::order::{
        CapturePolicy, Order, OrderCommand, OrderEvent, OrderId, OrderRejection, OrderStatus,
        PlacedOrder, PlannedShipment, entity_id,
    };
    use bazaar_actors::payment::{Capture, Refund};

    let eur = |minor| Money::new(minor, Currency::EUR);
    let s1 = SellerId::parse("s1").unwrap();
    let capture =
        Capture { psp: "psp-a".into(), id: "cap-1".into(), key: "k".into(), amount: eur(2_261) };
    let refund =
        Refund { psp: "psp-a".into(), id: "ref-1".into(), key: "k".into(), amount: eur(261) };
    let commands = vec![
        OrderCommand::Place(Box::new(new_order())),
        OrderCommand::PlanShipments { transit_days: 2 },
        OrderCommand::RecordCapture { capture: capture.clone() },
        OrderCommand::Ship {
            shipment: 1,
            seller: s1.clone(),
            carrier: "dhl".into(),
            tracking: "t-1".into(),
        },
        OrderCommand::Deliver { shipment: 1 },
        OrderCommand::RecordRefund { refund: refund.clone() },
        OrderCommand::Get,
    ];
    commands.iter().for_each(round_trip);
    round_trip(&OrderCommand::Cancel { reason: "r".into() });
    round_trip(&OrderCommand::RecordVoid);
    round_trip(&OrderCommand::RecordRestock);
    round_trip(&OrderCommand::RecordLineRestocked { line: 3 });
    let id = OrderId::for_checkout("eu/c1/key-1");
    let (state, replies) = run::<Order>(&entity_id("eu", &id), commands);
    round_trip(&state);
    replies.iter().for_each(round_trip);
    assert_eq!(replies.last().unwrap().order.status, OrderStatus::Delivered);

    let events = [
        OrderEvent::Placed(Box::new(PlacedOrder { id: id.clone(), order: new_order(), at_ms: 1 })),
        OrderEvent::ShipmentsPlanned {
            shipments: vec![PlannedShipment {
                number: 1,
                seller: s1.clone(),
                location: LocationCode::parse("FRA1").unwrap(),
                lines: vec![0],
                promised_by_ms: 9,
            }],
        },
        OrderEvent::PaymentCaptured { capture, at_ms: 1 },
        OrderEvent::ShipmentShipped {
            shipment: 1,
            carrier: "dhl".into(),
            tracking: "t".into(),
            at_ms: 1,
        },
        OrderEvent::ShipmentDelivered { shipment: 1, at_ms: 1 },
        OrderEvent::Cancelled { reason: "r".into(), at_ms: 1 },
        OrderEvent::PaymentVoided { at_ms: 1 },
        OrderEvent::PaymentRefunded { refund, at_ms: 1 },
        OrderEvent::Restocked { at_ms: 1 },
        OrderEvent::LineRestocked { line: 0, at_ms: 1 },
    ];
    let rejections = [
        OrderRejection::UnknownOrder,
        OrderRejection::InvalidOrderId,
        OrderRejection::AlreadyPlaced,
        OrderRejection::NoLines,
        OrderRejection::TooManyLines { max: 1 },
        OrderRejection::CurrencyMismatch { expected: Currency::EUR },
        OrderRejection::AmountInvalid,
        OrderRejection::LineMismatch { line: 1 },
        OrderRejection::TotalsMismatch,
        OrderRejection::AuthorizationMismatch,
        OrderRejection::CommissionInvalid { max_bps: 1 },
        OrderRejection::LineInvalid { line: 1 },
        OrderRejection::TextInvalid { field: "f".into(), min_bytes: 0, max_bytes: 1 },
        OrderRejection::TooManyPromotions { max: 1 },
        OrderRejection::FraudRejected,
        OrderRejection::OrderCancelled,
        OrderRejection::OrderRefunded,
        OrderRejection::ShipmentsNotPlanned,
        OrderRejection::UnknownShipment,
        OrderRejection::AlreadyShipped,
        OrderRejection::NotShipped,
        OrderRejection::TooLateToCancel,
        OrderRejection::NotCancelled,
        OrderRejection::AlreadyCaptured,
        OrderRejection::AuthorizationVoided,
        OrderRejection::CaptureExceedsAuthorization { capturable: eur(1) },
        OrderRejection::CaptureConflict,
        OrderRejection::RefundExceedsCaptured { refundable: eur(1) },
        OrderRejection::RefundConflict,
        OrderRejection::PspMismatch,
        OrderRejection::TooManyCaptures { max: 1 },
        OrderRejection::TooManyRefunds { max: 1 },
    ];
    pin_positions(&events);
    pin_positions(&rejections);
    use bazaar_actors::Rejection;
    let mut codes: Vec<&str> = rejections.iter().map(|rejection| rejection.code()).collect();
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), rejections.len(), "every order rejection has its own code");
    pin_positions(&[
        OrderStatus::Placed,
        OrderStatus::PartlyShipped,
        OrderStatus::Shipped,
        OrderStatus::Delivered,
        OrderStatus::Cancelled,
        OrderStatus::Refunded,
    ]);
    pin_positions(&[CapturePolicy::AtPlacement, CapturePolicy::AtShipment]);
    assert_eq!(Order::KIND, kinds::ORDER);
    // An order id is only ever the canonical spelling.
    let bad = codec::encode("o-1").unwrap();
    assert!(codec::decode::<OrderId>(bad.as_bytes()).is_err());
}

#[test]
fn fraud_and_ledger_values_survive_the_codec() {
    use bazaar_actors::CustomerId;
    use bazaar_actors::fraud::{FraudAssessment, FraudDecision, FraudReason};
    use bazaar_actors::ledger::{Account, EntryKind, MismatchKind, Posting, PostingSet};

    round_trip(&FraudAssessment {
        score: 45,
        decision: FraudDecision::Review,
        reasons: vec![FraudReason { code: "velocity_card".into(), points: 20 }],
    });
    pin_positions(&[FraudDecision::Accept, FraudDecision::Review, FraudDecision::Reject]);
    let accounts = [
        Account::Customer(CustomerId::parse("c1").unwrap()),
        Account::PspClearing("psp-a".into()),
        Account::SellerPayable(SellerId::parse("s1").unwrap()),
        Account::Commission,
        Account::VatPayable,
        Account::Refunds,
    ];
    pin_positions(&accounts);
    pin_positions(&[
        EntryKind::Placed,
        EntryKind::Captured,
        EntryKind::Cancelled,
        EntryKind::Refunded,
    ]);
    pin_positions(&[
        MismatchKind::MissingFromLedger,
        MismatchKind::UnknownToPsp,
        MismatchKind::CapturedDiffers,
        MismatchKind::RefundedDiffers,
    ]);
    round_trip(&PostingSet {
        reference: "o-1".into(),
        entry: EntryKind::Captured,
        currency: Currency::EUR,
        postings: vec![
            Posting { account: Account::PspClearing("psp-a".into()), amount: 5 },
            Posting { account: Account::Customer(CustomerId::parse("c1").unwrap()), amount: -5 },
        ],
    });
}
