//! Bad input over real HTTP: every malformed, invalid, unauthorised or out-of-bounds request
//! answers its status, `application/problem+json` and stable `code`, and a read-back of the
//! product, the offer and its stock shows nothing changed; an NDJSON inventory feed answers
//! line by line and applies only its good lines.

use crate::support::{
    Auth, Body, CUSTOMER, Market, OPERATOR, SELLER_1, SELLER_2, assert_problem, assert_problem_of,
    document, eventually, offer, offer_with, offers_line, refused_lines,
};
use reqwest::Method;
use serde_json::{Value, json};

const BAD_ASIN: &str = "B0BADIN001";
const BAD_OFFER: &str = "/v1/seller/offers/B0BADIN001";
const BAD_STOCK: &str = "/v1/seller/inventory/BAD-1/FRA1";

/// What the bad-input test reads back after every refused request: the product (its revision
/// grows with any change), seller-1's offer and its stock at FRA1.
async fn bad_input_state(m: &Market) -> Value {
    json!({
        "product": m.product(BAD_ASIN).await,
        "offer": m.read(SELLER_1, BAD_OFFER).await,
        "stock": m.read(SELLER_1, BAD_STOCK).await,
    })
}

/// A product with seller-1's offer (SKU `BAD-1`, 10.00 EUR) and 5 units at FRA1, applied with
/// feed sequence 10; seller-2 has a token but has not registered. Answers the read-back.
async fn bad_input_market() -> (Market, Value) {
    let m = Market::open(&[("seller", "seller-2")]);
    m.register(SELLER_1, "First").await;
    m.create_product(SELLER_1, BAD_ASIN, document("Cast iron pan", "Acme", &["Home", "Kitchen"]))
        .await;
    m.put_offer(SELLER_1, BAD_ASIN, offer("BAD-1", 1000, 0, "seller", 1)).await;
    m.set_stock(SELLER_1, "BAD-1", "FRA1", 5, 10).await;
    m.buy_box_settles(BAD_ASIN, Some(("seller-1", 1000))).await;
    let before = bad_input_state(&m).await;
    assert_eq!(before["product"]["buy_box"]["available"], 5);
    (m, before)
}

#[tokio::test]
async fn bad_input_is_refused_with_a_precise_problem_and_changes_nothing() {
    let (m, before) = bad_input_market().await;
    let good = offer_with("BAD-1", 1000, 0, "seller", 1, 5);
    // The good offer with one field (`name` or `outer.inner`) replaced.
    let with = |field: &str, value: Value| {
        let mut body = good.clone();
        match field.split_once('.') {
            Some((outer, inner)) => body[outer][inner] = value,
            None => body[field] = value,
        }
        body
    };
    let json_bytes = |value: &Value| value.to_string().into_bytes();

    // (request, status, code), each followed by a read-back.
    #[rustfmt::skip]
    let cases: Vec<(&str, Method, &str, Auth, Body, u16, &str)> = vec![
        ("malformed JSON", Method::PUT, BAD_OFFER, SELLER_1,
            Body::Raw(Some("application/json"), br#"{"sku": "BAD-1", "price":"#.to_vec()),
            400, "malformed_json"),
        ("unknown field", Method::PUT, BAD_OFFER, SELLER_1,
            Body::Json(with("colour", json!("red"))), 422, "invalid_body"),
        ("a field of the wrong type", Method::PUT, BAD_OFFER, SELLER_1,
            Body::Json(with("price.minor", json!("900"))), 422, "invalid_body"),
        ("a fractional amount", Method::PUT, BAD_OFFER, SELLER_1,
            Body::Json(with("price.minor", json!(9.5))), 422, "invalid_body"),
        ("a missing field", Method::PUT, BAD_OFFER, SELLER_1,
            Body::Json(json!({ "sku": "BAD-1" })), 422, "invalid_body"),
        ("text/plain", Method::PUT, BAD_OFFER, SELLER_1,
            Body::Raw(Some("text/plain"), json_bytes(&with("price.minor", json!(900)))),
            415, "unsupported_media_type"),
        ("no content type", Method::PUT, BAD_OFFER, SELLER_1,
            Body::Raw(None, json_bytes(&with("price.minor", json!(900)))),
            415, "unsupported_media_type"),
        ("a negative price", Method::PUT, BAD_OFFER, SELLER_1,
            Body::Json(with("price.minor", json!(-100))), 422, "price_invalid"),
        ("a zero price", Method::PUT, BAD_OFFER, SELLER_1,
            Body::Json(with("price.minor", json!(0))), 422, "price_invalid"),
        ("an absurd price", Method::PUT, BAD_OFFER, SELLER_1,
            Body::Json(with("price.minor", json!(10_000_000_000_000_i64))), 422, "price_invalid"),
        ("a price past i64", Method::PUT, BAD_OFFER, SELLER_1,
            Body::Raw(Some("application/json"), good.to_string()
                .replace(r#""minor":1000"#, r#""minor":99999999999999999999"#).into_bytes()),
            422, "invalid_body"),
        ("a negative shipping charge", Method::PUT, BAD_OFFER, SELLER_1,
            Body::Json(with("shipping.minor", json!(-1))), 422, "shipping_invalid"),
        ("absurd handling days", Method::PUT, BAD_OFFER, SELLER_1,
            Body::Json(with("handling_days", json!(31))), 422, "handling_days_invalid"),
        ("an absurd quantity", Method::PUT, BAD_OFFER, SELLER_1,
            Body::Json(with("available", json!(1_000_000_001))), 422, "quantity_too_large"),
        ("a negative quantity", Method::PUT, BAD_OFFER, SELLER_1,
            Body::Json(with("available", json!(-1))), 422, "invalid_body"),
        ("a price in the wrong currency", Method::PUT, BAD_OFFER, SELLER_1,
            Body::Json(with("price.currency", json!("USD"))), 422, "currency_mismatch"),
        ("shipping in the wrong currency", Method::PUT, BAD_OFFER, SELLER_1,
            Body::Json(with("shipping.currency", json!("GBP"))), 422, "currency_mismatch"),
        ("an unknown currency", Method::PUT, BAD_OFFER, SELLER_1,
            Body::Json(with("price.currency", json!("EURO"))), 422, "invalid_currency"),
        ("the product's currency changed", Method::POST, "/v1/seller/products", SELLER_1,
            Body::Json(json!({ "asin": BAD_ASIN, "currency": "USD",
                "document": document("Cast iron pan", "Acme", &["Home", "Kitchen"]) })),
            409, "currency_changed"),
        ("an invalid SKU", Method::PUT, BAD_OFFER, SELLER_1,
            Body::Json(with("sku", json!("BAD 1"))), 422, "invalid_id"),
        ("an offer on an unknown ASIN", Method::PUT, "/v1/seller/offers/B0NOSUCH01", SELLER_1,
            Body::Json(good.clone()), 404, "unknown_product"),
        ("an unknown SKU", Method::PUT, "/v1/seller/inventory/NO-SUCH-SKU/FRA1", SELLER_1,
            Body::Json(json!({ "quantity": 1, "feed_seq": 11 })), 404, "unknown_sku"),
        ("a feed sequence equal to the last", Method::PUT, BAD_STOCK, SELLER_1,
            Body::Json(json!({ "quantity": 99, "feed_seq": 10 })), 409, "stale_feed"),
        ("a feed sequence below the last", Method::PUT, BAD_STOCK, SELLER_1,
            Body::Json(json!({ "quantity": 99, "feed_seq": 3 })), 409, "stale_feed"),
        ("an absurd stock", Method::PUT, BAD_STOCK, SELLER_1,
            Body::Json(json!({ "quantity": 1_000_000_001, "feed_seq": 11 })),
            422, "quantity_too_large"),
        ("a negative stock", Method::PUT, BAD_STOCK, SELLER_1,
            Body::Json(json!({ "quantity": -5, "feed_seq": 11 })), 422, "invalid_body"),
        ("an invalid location", Method::PUT, "/v1/seller/inventory/BAD-1/fra-1", SELLER_1,
            Body::Json(json!({ "quantity": 1, "feed_seq": 11 })), 422, "invalid_id"),
        ("a lower-case ASIN", Method::POST, "/v1/seller/products", SELLER_1,
            Body::Json(json!({ "asin": "b0badin001", "currency": "EUR",
                "document": document("Pan", "Acme", &["Home"]) })), 422, "invalid_id"),
        ("a short ASIN", Method::POST, "/v1/seller/products", SELLER_1,
            Body::Json(json!({ "asin": "B0SHORT", "currency": "EUR",
                "document": document("Pan", "Acme", &["Home"]) })), 422, "invalid_id"),
        ("an empty title", Method::POST, "/v1/seller/products", SELLER_1,
            Body::Json(json!({ "asin": BAD_ASIN, "currency": "EUR",
                "document": document("", "Acme", &["Home"]) })), 422, "title_invalid"),
        ("no token", Method::PUT, BAD_OFFER, Auth::None,
            Body::Json(with("price.minor", json!(900))), 401, "unauthenticated"),
        ("an unknown token", Method::PUT, BAD_OFFER, Auth::Header("Bearer bzr_0123456789abcdef"),
            Body::Json(with("price.minor", json!(900))), 401, "unauthenticated"),
        ("a token that is not a bearer", Method::PUT, BAD_OFFER, Auth::Header("Basic c2VsbGVyOjE="),
            Body::Json(with("price.minor", json!(900))), 401, "unauthenticated"),
        ("a customer on a seller route", Method::PUT, BAD_OFFER, CUSTOMER,
            Body::Json(with("price.minor", json!(900))), 403, "wrong_role"),
        ("a customer setting stock", Method::PUT, BAD_STOCK, CUSTOMER,
            Body::Json(json!({ "quantity": 0, "feed_seq": 11 })), 403, "wrong_role"),
        ("a seller on an operator route", Method::PUT, "/admin/sellers/seller-1/standing", SELLER_1,
            Body::Json(json!({ "standing": "suspended" })), 403, "wrong_role"),
        ("an operator on a seller route", Method::PUT, BAD_OFFER, OPERATOR,
            Body::Json(with("price.minor", json!(900))), 403, "wrong_role"),
        ("an unregistered seller's offer", Method::PUT, BAD_OFFER, SELLER_2,
            Body::Json(offer("OTHER-1", 500, 0, "seller", 1)), 409, "seller_not_registered"),
        ("an absurd rating", Method::PUT, "/admin/sellers/seller-1/score", OPERATOR,
            Body::Json(json!({ "rating_hundredths": 501, "defect_bps": 0 })),
            422, "rating_out_of_range"),
        ("an unknown standing", Method::PUT, "/admin/sellers/seller-1/standing", OPERATOR,
            Body::Json(json!({ "standing": "excellent" })), 422, "invalid_body"),
        ("an unknown route", Method::GET, "/v1/no/such/route", CUSTOMER, Body::None,
            404, "no_route"),
        ("an unknown route, unauthenticated", Method::POST, "/v1/seller/offer", Auth::None,
            Body::Json(good.clone()), 404, "no_route"),
    ];
    for (what, method, path, auth, body, status, code) in cases {
        let reply = m.call(method, path, auth, body).await;
        assert_problem_of(what, &reply, status, code);
        assert_eq!(bad_input_state(&m).await, before, "{what} changed something");
    }

    // A body over 1 MiB is refused before it is parsed, and creates nothing.
    let mut oversized = document("Pan", "Acme", &["Home"]);
    oversized["description"] = json!("x".repeat(1024 * 1024));
    let body = json!({ "asin": "B0BADIN002", "currency": "EUR", "document": oversized });
    let reply = m.post(SELLER_1, "/v1/seller/products", body).await;
    assert_problem(&reply, 413, "body_too_large");
    assert_problem(&m.get(CUSTOMER, "/v1/products/B0BADIN002").await, 404, "not_found");

    // Reads of what does not exist, or is not an ASIN at all.
    assert_problem(&m.get(CUSTOMER, "/v1/products/B0NOSUCH01").await, 404, "not_found");
    assert_problem(&m.get(CUSTOMER, "/v1/products/b0lower").await, 404, "not_found");
    assert_problem(&m.get(SELLER_1, "/v1/seller/offers/B0NOSUCH01").await, 404, "not_found");
    assert_problem(
        &m.get(SELLER_1, "/v1/seller/inventory/NO-SUCH-SKU/FRA1").await,
        404,
        "unknown_sku",
    );
    assert_problem(&m.get(Auth::None, "/v1/products/B0BADIN001").await, 401, "unauthenticated");
    let standing =
        m.put(OPERATOR, "/admin/sellers/seller-9/standing", json!({ "standing": "good" }));
    assert_problem(&standing.await, 404, "seller_not_registered");

    // Search parameters out of bounds.
    for (query, code) in [
        ("page_size=0", "search_page_size"),
        ("page_size=101", "search_page_size"),
        ("page=0", "search_page_zero"),
        ("page=200&page_size=100", "search_result_window"),
        ("sort=cheapest", "invalid_sort"),
        ("colour=red", "invalid_query"),
        ("price_min=abc", "invalid_query"),
        ("price_min=500&price_max=100", "search_price_range"),
    ] {
        let reply = m.get(CUSTOMER, &format!("/v1/search?{query}")).await;
        assert_problem(&reply, 400, code);
    }
    assert_eq!(bad_input_state(&m).await, before);
}

#[tokio::test]
async fn the_inventory_feed_answers_line_by_line_and_applies_only_the_good_lines() {
    let (m, before) = bad_input_market().await;
    // Good; malformed; unknown SKU; blank (skipped, still numbered); stale; good at a second
    // location; unknown field; invalid location; negative and absurd quantities.
    let feed = [
        r#"{"sku":"BAD-1","location":"FRA1","quantity":7,"feed_seq":11}"#,
        r#"{"sku":"BAD-1","location":"#,
        r#"{"sku":"NO-SUCH-SKU","location":"FRA1","quantity":1,"feed_seq":1}"#,
        "",
        r#"{"sku":"BAD-1","location":"FRA1","quantity":50,"feed_seq":4}"#,
        r#"{"sku":"BAD-1","location":"BER1","quantity":3,"feed_seq":1}"#,
        r#"{"sku":"BAD-1","location":"MAD1","quantity":3,"feed_seq":1,"colour":"red"}"#,
        r#"{"sku":"BAD-1","location":"mad-1","quantity":3,"feed_seq":1}"#,
        r#"{"sku":"BAD-1","location":"MAD1","quantity":-3,"feed_seq":1}"#,
        r#"{"sku":"BAD-1","location":"MAD1","quantity":1000000001,"feed_seq":1}"#,
    ]
    .join("\n");
    let body = Body::Raw(Some("application/x-ndjson"), feed.clone().into_bytes());
    let reply = m.call(Method::POST, "/v1/seller/inventory:feed", CUSTOMER, body).await;
    assert_problem(&reply, 403, "wrong_role");
    assert_eq!(bad_input_state(&m).await, before);
    let body = Body::Raw(Some("application/x-ndjson"), feed.into_bytes());
    let reply = m.call(Method::POST, "/v1/seller/inventory:feed", SELLER_1, body).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    // Refused lines are listed (accepted ones counted): line, status, code.
    assert_eq!(
        refused_lines(&reply),
        [
            (2, 422, json!("invalid_line")),
            (3, 404, json!("unknown_sku")),
            (5, 409, json!("stale_feed")),
            (7, 422, json!("invalid_line")),
            (8, 422, json!("invalid_id")),
            (9, 422, json!("invalid_line")),
            (10, 422, json!("quantity_too_large")),
        ],
        "{}",
        reply.text
    );
    assert_eq!(reply.json["refused_lines_omitted"], 0);
    assert_eq!((&reply.json["accepted"], &reply.json["refused"]), (&json!(2), &json!(7)));
    let fra1 = m.read(SELLER_1, BAD_STOCK).await;
    assert_eq!((&fra1["on_hand"], &fra1["last_feed_seq"]), (&json!(7), &json!(11)));
    let ber1 = m.read(SELLER_1, "/v1/seller/inventory/BAD-1/BER1");
    assert_eq!(ber1.await["on_hand"], 3);
    let mad1 = m.get(SELLER_1, "/v1/seller/inventory/BAD-1/MAD1").await;
    assert_eq!((mad1.status, &mad1.json["on_hand"]), (200, &json!(0)), "no line reached MAD1");
    // The offer's stock is the sum over locations.
    eventually("the offer holds 7 + 3 units", async || {
        let product = m.product(BAD_ASIN).await;
        if product["buy_box"]["available"] == 10 { Ok(()) } else { Err(offers_line(&product)) }
    })
    .await;
}
