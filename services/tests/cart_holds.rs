//! A cart created before carts recorded their own holds kept them in a `cart-holds` worklist:
//! its first reservation moves those records onto the cart (and empties the worklist), and a
//! release then gives back every hold, the one held before included.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bazaar_actors::cart::{
    Cart, CartCommand, CartEvent, CartLine, CartOwner, CartView, CustomerId, HoldRecord,
    OfferChoice,
};
use bazaar_actors::keys;
use bazaar_actors::worklist::{Worklist, WorklistCommand};
use bazaar_actors::{Asin, Currency, Money, Quantity, ReservationId, SellerId, Sku};
use bazaar_engine::testkit::single_node;
use bazaar_engine::{Ack, Engine, EngineConfig, Entity, EntityKey};
use bazaar_persistence::memory::FlushPolicy;
use bazaar_persistence::{JournalExt, MemJournal, codec};
use bazaar_services::catalog::{Catalog, Item};

mod common;

use common::{TENANT, ask};

const CART: &str = "c-legacy1";

async fn cart(engine: &Engine) -> CartView {
    ask::<Cart>(engine, &keys::cart(TENANT, CART), CartCommand::Get).await.cart
}

async fn worklist(engine: &Engine) -> Vec<String> {
    ask::<Worklist>(engine, &keys::cart_holds(TENANT, CART), WorklistCommand::List).await.items
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cart_from_before_moves_its_worklist_onto_itself_and_releases_all() {
    let journal = Arc::new(MemJournal::new(FlushPolicy::Immediate));
    let engine = single_node(journal.clone(), EngineConfig::default());
    bazaar_services::register(&engine);
    let catalog = Catalog::new(engine.clone(), None);
    let eur = Currency::EUR;
    let (asin, seller, sku) = (
        Asin::parse("B000000001").unwrap(),
        SellerId::parse("s1").unwrap(),
        Sku::parse("K1").unwrap(),
    );
    common::register(&engine, &seller).await;
    common::list(&engine, &asin, &seller, &sku).await;
    common::set_on_hand(&engine, &seller, &sku, 10, 1).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while catalog.stock_of(TENANT, &seller, &sku).is_empty()
        || catalog.product(TENANT, &asin).is_none_or(|view| view.buy_box.is_none())
    {
        assert!(Instant::now() < deadline, "the read models never showed the offer");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // The cart as a node before this change journaled it: created and one line, no
    // `HoldsOnCart`; its hold recorded in its worklist, then placed.
    let line = CartLine {
        asin: asin.clone(),
        offer: OfferChoice::BuyBox,
        quantity: Quantity::ONE,
        seen_unit_price: Money::new(1_000, eur),
        seen_available: true,
        seen_at_ms: 0,
    };
    let owner = CartOwner::Customer(CustomerId::parse("customer-1").unwrap());
    let events =
        [CartEvent::Created { owner, currency: eur, at_ms: 0 }, CartEvent::LineAdded { line }];
    let records = events.iter().map(|event| codec::encode(event).unwrap()).collect();
    let cart_key = EntityKey::new(Cart::KIND, keys::cart(TENANT, CART));
    let stream = bazaar_persistence::Stream::new(cart_key.kind.code, &cart_key.id);
    journal.append_receipt(stream, 1, records).await.unwrap();
    let add = WorklistCommand::Add { item: format!("{asin} {seller} {sku} 0") };
    ask::<Worklist>(&engine, &keys::cart_holds(TENANT, CART), add).await;
    let id = ReservationId::parse(&format!("{CART}.{asin}.{seller}")).unwrap();
    let item = Item {
        asin: asin.clone(),
        seller: seller.clone(),
        sku: sku.clone(),
        quantity: Quantity::ONE,
    };
    catalog.hold(TENANT, item, id, 60_000, Ack::Durable).await.unwrap();
    assert!(!cart(&engine).await.holds_on_cart);

    // Reserving again holds the same line once, and moves the record onto the cart.
    let held = catalog.reserve_cart(TENANT, CART, &cart(&engine).await, 60_000).await.unwrap();
    assert_eq!(held.len(), 1);
    let view = cart(&engine).await;
    let record = HoldRecord { asin, seller: seller.clone(), sku: sku.clone(), generation: 0 };
    assert_eq!((view.holds, view.holds_on_cart, view.revision), (vec![record], true, 2));
    assert!(worklist(&engine).await.is_empty(), "the worklist is emptied once moved");

    // A release finds the hold on the cart and gives it back; nothing is recorded after.
    assert_eq!(catalog.release_cart(TENANT, CART, &cart(&engine).await).await.unwrap(), 1);
    assert!(cart(&engine).await.holds.is_empty());
    assert_eq!(catalog.release_cart(TENANT, CART, &cart(&engine).await).await.unwrap(), 0);
}
