//! Fulfilment planning over real HTTP: a seller stocks one SKU in two zones; each shopper's
//! line ships from the location nearest their postal code, and a line no single location can
//! serve is split over both, as two shipments with their own promises, the money shared so
//! the order's totals, the holds and the ledger still add up.

use serde_json::{Value, json};

use crate::support::checkout::{A, SKU_A, Shop, Shopper, minor};
use crate::support::{SELLER_1, assert_problem};

const DAY_MS: u64 = 24 * 60 * 60 * 1000;

/// FRA1 in the south, HAM1 in the north; German postal codes from 2 are northern.
fn zones() -> Vec<(&'static str, String)> {
    vec![
        ("locations", r#"{ FRA1 = "south", HAM1 = "north" }"#.to_string()),
        ("destinations", r#"{ DE = "south", "DE:2" = "north" }"#.to_string()),
        (
            "transit",
            "{ south = { south = 1, north = 3 }, north = { north = 1, south = 3 } }".to_string(),
        ),
    ]
}

/// A checkout body shipping to `postal_code`.
fn to(shopper: &Shopper, cart: &str, postal_code: &str) -> Value {
    let mut body = shopper.body(cart);
    body["ship_to"]["postal_code"] = json!(postal_code);
    body
}

fn line_sources(order: &Value) -> Vec<(String, u64)> {
    let lines = order["lines"].as_array().expect("lines");
    lines
        .iter()
        .map(|l| (l["location"].as_str().unwrap().to_string(), l["quantity"].as_u64().unwrap()))
        .collect()
}

async fn stock(shop: &Shop, location: &str) -> (u64, u64) {
    let path = format!("/v1/seller/inventory/{SKU_A}/{location}");
    let view = shop.m.read(SELLER_1, &path).await;
    (view["on_hand"].as_u64().unwrap(), view["available"].as_u64().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lines_ship_from_the_nearest_stock_and_split_when_none_has_enough() {
    let (north, south) = (Shopper::new(1), Shopper::new(2));
    let knobs = zones();
    let shop = Shop::open_configured(&[north.clone(), south.clone()], 6, 5, &knobs).await;
    let m = &shop.m;
    m.set_stock(SELLER_1, SKU_A, "HAM1", 3, 1).await;

    // A northern shopper's unit ships from Hamburg, a southern one's from Frankfurt.
    let cart = m.cart_with(north.auth(), &[(A, "seller-1", 1)]).await;
    let quoted = m.read(north.auth(), &format!("/v1/carts/{cart}")).await;
    let quoted = quoted["lines"][0]["promised_by_ms"].as_u64().expect("a quoted promise");
    let view = m.checkout_completes(north.auth(), "ful-n", to(&north, &cart, "20095")).await;
    let near = m.order(north.auth(), view["order_id"].as_str().unwrap()).await;
    assert_eq!(line_sources(&near), [("HAM1".to_string(), 1)], "{near}");
    let promised = near["shipments"][0]["promised_by_ms"].as_u64().unwrap();
    assert!(promised <= quoted + DAY_MS, "the cart quotes the slowest: {promised} {quoted}");

    let cart = m.cart_with(south.auth(), &[(A, "seller-1", 1)]).await;
    let view = m.checkout_completes(south.auth(), "ful-s", to(&south, &cart, "80331")).await;
    let far = m.order(south.auth(), view["order_id"].as_str().unwrap()).await;
    assert_eq!(line_sources(&far), [("FRA1".to_string(), 1)], "{far}");

    // Eight units are more than both have: refused whole, nothing left held.
    let cart = m.cart_with(north.auth(), &[(A, "seller-1", 8)]).await;
    let reply = m.checkout(north.auth(), "ful-short", to(&north, &cart, "22767")).await;
    assert_problem(&reply, 409, "out_of_stock");
    assert_eq!((stock(&shop, "HAM1").await, stock(&shop, "FRA1").await), ((2, 2), (5, 5)));

    // Seven units: Hamburg has 2 left and Frankfurt 5, so the line is split, nearest first.
    let cart = m.cart_with(north.auth(), &[(A, "seller-1", 7)]).await;
    let view = m.checkout_completes(north.auth(), "ful-split", to(&north, &cart, "22767")).await;
    let id = view["order_id"].as_str().unwrap();
    let split = m.order(north.auth(), id).await;
    assert_eq!(line_sources(&split), [("HAM1".to_string(), 2), ("FRA1".to_string(), 5)], "{split}");
    let lines = split["lines"].as_array().unwrap();
    let sum = |field: &str| lines.iter().map(|l| minor(&l[field])).sum::<i64>();
    assert_eq!(sum("total"), minor(&split["total"]), "{split}");
    assert_eq!(sum("total"), minor(&view["total"]));
    let shipments = split["shipments"].as_array().unwrap();
    let by_location = |code: &str| {
        let shipment = shipments.iter().find(|s| s["location"] == code).expect("a shipment");
        shipment["promised_by_ms"].as_u64().unwrap()
    };
    assert_eq!(shipments.len(), 2, "{split}");
    assert!(by_location("HAM1") < by_location("FRA1"), "Hamburg is nearer: {split}");

    // Everything sold from both, nothing oversold, and the ledger still reconciles.
    assert_eq!((stock(&shop, "HAM1").await, stock(&shop, "FRA1").await), ((0, 0), (0, 0)));
    m.reconciled().await;
}
