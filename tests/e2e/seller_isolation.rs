//! Isolation between sellers over real HTTP: a seller never sees, withdraws or restocks
//! another seller's offer or stock, not even through the inventory feed or under the same SKU
//! name, and withdrawing removes the caller's own offer only.

use crate::support::{
    Body, Market, SELLER_1, SELLER_2, assert_problem, document, offer, offers, winner,
};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn a_seller_never_sees_or_changes_another_sellers_offer_or_stock() {
    const ASIN: &str = "B0ISOLATE1";
    let m = Market::open(&[("seller", "seller-2")]);
    m.register(SELLER_1, "First").await;
    m.register(SELLER_2, "Second").await;
    m.create_product(SELLER_1, ASIN, document("Wool scarf", "Acme", &["Fashion"])).await;
    m.put_offer(SELLER_1, ASIN, offer("SCARF-1", 3000, 0, "seller", 1)).await;
    m.set_stock(SELLER_1, "SCARF-1", "FRA1", 8, 1).await;
    m.buy_box_settles(ASIN, Some(("seller-1", 3000))).await;
    let own = format!("/v1/seller/offers/{ASIN}");
    let seller_1_offer = m.read(SELLER_1, &own).await;
    assert_eq!(
        (&seller_1_offer["seller"], &seller_1_offer["available"]),
        (&json!("seller-1"), &json!(8))
    );
    let stock_path = "/v1/seller/inventory/SCARF-1/FRA1";
    let seller_1_stock = m.read(SELLER_1, stock_path).await;
    let before = m.product(ASIN).await;

    // seller-2 has no offer here: it sees none, cannot withdraw one, cannot touch the SKU.
    assert_problem(&m.get(SELLER_2, &own).await, 404, "not_found");
    assert_problem(&m.delete(SELLER_2, &own).await, 404, "not_found");
    let set = json!({ "quantity": 0, "feed_seq": 2 });
    assert_problem(&m.put(SELLER_2, stock_path, set).await, 404, "unknown_sku");
    assert_problem(&m.get(SELLER_2, stock_path).await, 404, "unknown_sku");
    let line = r#"{"sku":"SCARF-1","location":"FRA1","quantity":0,"feed_seq":3}"#;
    let body = Body::Raw(Some("application/x-ndjson"), line.as_bytes().to_vec());
    let reply = m.call(Method::POST, "/v1/seller/inventory:feed", SELLER_2, body).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json["refused_lines"][0]["code"], "unknown_sku", "{}", reply.text);
    assert_eq!(m.product(ASIN).await, before, "seller-2 changed seller-1's offer");
    assert_eq!(m.read(SELLER_1, stock_path).await, seller_1_stock);

    // seller-2 lists its own offer under the same SKU name: its own record, not seller-1's.
    m.put_offer(SELLER_2, ASIN, offer("SCARF-1", 2900, 0, "seller", 1)).await;
    m.set_stock(SELLER_2, "SCARF-1", "FRA1", 2, 1).await;
    m.buy_box_settles(ASIN, Some(("seller-2", 2900))).await;
    let seller_2_offer = m.read(SELLER_2, &own).await;
    assert_eq!(
        (&seller_2_offer["seller"], &seller_2_offer["available"]),
        (&json!("seller-2"), &json!(2))
    );
    assert_eq!(m.read(SELLER_1, &own).await, seller_1_offer);
    assert_eq!(m.read(SELLER_1, stock_path).await, seller_1_stock);

    // Withdrawing removes the caller's own offer only.
    let reply = m.delete(SELLER_2, &own).await;
    assert_eq!(reply.status, 204, "{}", reply.text);
    assert_problem(&m.get(SELLER_2, &own).await, 404, "not_found");
    assert_problem(&m.delete(SELLER_2, &own).await, 404, "not_found");
    let product = m.product(ASIN).await;
    assert_eq!(winner(&product), Some(("seller-1".into(), 3000)));
    assert_eq!(offers(&product), [("seller-1".into(), 3000, 8, true)]);
    assert_eq!(m.read(SELLER_1, &own).await, seller_1_offer);
}
