//! What the services' integration tests share: asks that must be answered, and a product
//! listed by a registered seller with one offer and its stock, through the engine as the
//! gateway lists them.

#![allow(dead_code)] // each test uses a different part

use bazaar_actors::inventory::{Inventory, InventoryCommand, InventoryId};
use bazaar_actors::keys;
use bazaar_actors::product::{
    CatalogDocument, Condition, Fulfilment, OfferTerms, Product, ProductCommand,
};
use bazaar_actors::seller::{Seller, SellerCommand, SellerScore};
use bazaar_actors::{Asin, Currency, LocationCode, Money, SellerId, Sku};
use bazaar_engine::{Engine, Entity};

pub const TENANT: &str = "default";

/// Asks `command` of entity `id`; panics unless it is accepted.
pub async fn ask<E: Entity>(engine: &Engine, id: &str, command: E::Command) -> E::Reply {
    match engine.ask::<E>(id, command).await {
        Ok(Ok(reply)) => reply,
        Ok(Err(rejection)) => panic!("{id}: refused {rejection:?}"),
        Err(error) => panic!("{id}: {error}"),
    }
}

/// Registers `seller`.
pub async fn register(engine: &Engine, seller: &SellerId) {
    let register = SellerCommand::Register { name: seller.to_string() };
    ask::<Seller>(engine, &keys::seller(TENANT, seller), register).await;
}

/// Creates product `asin` (a lamp) and lists `seller`'s offer of `sku` on it at 10.00 EUR.
pub async fn list(engine: &Engine, asin: &Asin, seller: &SellerId, sku: &Sku) {
    let eur = Currency::EUR;
    let product = keys::product(TENANT, asin);
    let document = CatalogDocument {
        title: "A lamp".into(),
        brand: "Lumo".into(),
        category_path: vec!["Home".into()],
        ..CatalogDocument::default()
    };
    let create = ProductCommand::CreateOrUpdateDocument {
        document,
        currency: eur,
        by: seller.clone(),
        required: Vec::new(),
    };
    ask::<Product>(engine, &product, create).await;
    let terms = OfferTerms {
        sku: sku.clone(),
        price: Money::new(1_000, eur),
        shipping: Money::zero(eur),
        condition: Condition::New,
        fulfilment: Fulfilment::Marketplace,
        handling_days: 2,
        available: 10,
    };
    let offer =
        ProductCommand::PutOffer { seller: seller.clone(), terms, score: SellerScore::default() };
    ask::<Product>(engine, &product, offer).await;
}

/// Sets `seller`'s units of `sku` on hand at FRA1, as feed line `feed_seq`.
pub async fn set_on_hand(
    engine: &Engine,
    seller: &SellerId,
    sku: &Sku,
    quantity: u32,
    feed_seq: u64,
) {
    let location = LocationCode::parse("FRA1").expect("a location");
    let inventory = keys::inventory(TENANT, seller, &InventoryId::new(sku.clone(), location));
    let stock = InventoryCommand::SetOnHand { quantity, feed_seq };
    ask::<Inventory>(engine, &inventory, stock).await;
}
