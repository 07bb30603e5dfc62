//! Request bodies, swept over the whole HTTP surface as `/openapi.json` lists it (through
//! `input`'s reading of the document): JSON routes take JSON only and the feed NDJSON only; a
//! JSON array is never taken for an object; a feed needs lines; a large inventory feed behind
//! an `Idempotency-Key` is answered, stored and replayed.

use reqwest::Method;
use serde_json::{Value, json};

use crate::input::{document_of, operations, resolve, right_principal, send};
use crate::support::{
    Auth, Body, CUSTOMER, Market, OPERATOR, SELLER_1, assert_problem_of, document, offer,
};

/// A value of `schema`'s shape (not necessarily one the route accepts): objects with every
/// property, strings `x`, numbers 1, arrays empty.
fn sample(doc: &Value, schema: &Value) -> Value {
    let schema = resolve(doc, schema);
    for combinator in ["oneOf", "anyOf", "allOf"] {
        if let Some(first) = schema[combinator]
            .as_array()
            .and_then(|all| all.iter().find(|s| s["type"] != "null").or(all.first()).cloned())
        {
            return sample(doc, &first);
        }
    }
    let kind = match &schema["type"] {
        Value::Array(kinds) => kinds.iter().find(|k| *k != "null").cloned().unwrap_or(Value::Null),
        kind => kind.clone(),
    };
    if let Some(values) = schema["enum"].as_array() {
        return values[0].clone();
    }
    match kind.as_str() {
        Some("object") => {
            let properties = schema["properties"].as_object().cloned().unwrap_or_default();
            properties
                .iter()
                .map(|(name, property)| (name.clone(), sample(doc, property)))
                .collect()
        }
        Some("array") => json!([]),
        Some("integer" | "number") => json!(1),
        Some("boolean") => json!(true),
        _ => json!("x"),
    }
}

/// Every object inside `value` (itself included) turned into an array of its values, one
/// at a time: where serde's derive would also take a sequence for a struct.
fn as_arrays(value: &Value) -> Vec<(String, Value)> {
    let mut found = Vec::new();
    if let Value::Object(fields) = value {
        found.push(("the body".to_string(), Value::Array(fields.values().cloned().collect())));
        for (name, field) in fields {
            for (inner, replaced) in as_arrays(field) {
                let mut copy = value.clone();
                copy[name] = replaced;
                let at = if inner == "the body" { name.clone() } else { format!("{name}.{inner}") };
                found.push((at, copy));
            }
        }
    }
    found
}

#[tokio::test]
async fn json_routes_take_json_only_and_the_feed_ndjson_only() {
    let m = Market::open(&[]);
    let doc = document_of(&m).await;
    let mut checked = 0;
    for op in operations(&doc) {
        let Some((media, schema)) = &op.body else { continue };
        let who = if op.secured { Auth::As(right_principal(&op.path)) } else { Auth::None };
        let path = op.path_with("x");
        let (bytes, wrong): (Vec<u8>, &[Option<&'static str>]) = if media == "application/json" {
            let wrong = &[Some("text/plain"), None, Some("application/x-www-form-urlencoded")];
            (sample(&doc, schema).to_string().into_bytes(), wrong)
        } else {
            assert_eq!(media, "application/x-ndjson", "{}", op.what());
            let line = br#"{"sku":"x","location":"FRA1","quantity":1,"feed_seq":1}"#;
            (line.to_vec(), &[Some("text/plain"), None, Some("application/json")])
        };
        for content_type in wrong {
            let body = Body::Raw(*content_type, bytes.clone());
            let reply = send(&m, op.method.clone(), &path, who, body).await;
            let what = format!("{} as {content_type:?}", op.what());
            assert_problem_of(&what, &reply, 415, "unsupported_media_type");
            checked += 1;
        }
    }
    assert!(checked > 40, "every route with a body: {checked}");

    // A checkout sent as text/plain places no order: no checkout runs under its key.
    m.register(SELLER_1, "First").await;
    m.create_product(SELLER_1, "B0INPUT001", document("Mug", "Acme", &["Home"])).await;
    m.put_offer(SELLER_1, "B0INPUT001", offer("MUG-1", 900, 0, "seller", 1)).await;
    m.set_stock(SELLER_1, "MUG-1", "FRA1", 5, 1).await;
    m.buy_box_settles("B0INPUT001", Some(("seller-1", 900))).await;
    let cart = m.post(CUSTOMER, "/v1/carts", json!({ "currency": "EUR" })).await;
    let cart = cart.json["id"].as_str().unwrap().to_string();
    let item = json!({ "asin": "B0INPUT001", "quantity": 1 });
    m.write(200, Method::POST, &format!("/v1/carts/{cart}/items"), CUSTOMER, item).await;
    let checkout = json!({
        "cart_id": cart,
        "ship_to": { "name": "A", "line1": "B 1", "city": "C", "postal_code": "1", "country": "DE" },
        "payment": { "card": "tok_visa", "billing_country": "DE" },
    });
    for content_type in [Some("text/plain"), None] {
        let body = Body::Raw(content_type, checkout.to_string().into_bytes());
        let headers = [("idempotency-key", "plain-1")];
        let reply = m.call_with_headers(Method::POST, "/v1/checkouts", CUSTOMER, &headers, body);
        assert_problem_of("a checkout as text/plain", &reply.await, 415, "unsupported_media_type");
    }
    let status = m.get(CUSTOMER, "/v1/checkouts/plain-1").await;
    assert_problem_of("the checkout's status", &status, 404, "not_found");
    let stock = m.read(SELLER_1, "/v1/seller/inventory/MUG-1/FRA1").await;
    assert_eq!(stock["reserved"], 0, "nothing is held: {stock}");
    let reservation = format!("/v1/carts/{cart}/reservation");
    let body = Body::Raw(Some("text/plain"), br#"{"ttl_s":60}"#.to_vec());
    let reply = m.call(Method::POST, &reservation, CUSTOMER, body).await;
    assert_problem_of("a hold as text/plain", &reply, 415, "unsupported_media_type");
    assert_eq!(m.read(SELLER_1, "/v1/seller/inventory/MUG-1/FRA1").await["reserved"], 0);
    // A hold with no body at all takes the defaults.
    let reply = m.call(Method::POST, &reservation, CUSTOMER, Body::None).await;
    assert_eq!(reply.status, 201, "{}", reply.text);

    // The feed takes NDJSON under both its names, with a charset or not.
    let feed = "/v1/seller/inventory:feed";
    for (n, media) in
        ["application/x-ndjson", "application/ndjson", "application/x-ndjson; charset=utf-8"]
            .into_iter()
            .enumerate()
    {
        let line =
            format!(r#"{{"sku":"MUG-1","location":"FRA1","quantity":9,"feed_seq":{}}}"#, n + 2);
        let reply = m.call(Method::POST, feed, SELLER_1, Body::Raw(Some(media), line.into())).await;
        assert_eq!(
            (reply.status, &reply.json["accepted"]),
            (200, &json!(1)),
            "{media}: {}",
            reply.text
        );
    }
}

#[tokio::test]
async fn a_json_array_is_never_taken_for_an_object_and_a_feed_needs_lines() {
    let m = Market::open(&[]);
    let doc = document_of(&m).await;
    let mut checked = 0;
    for op in operations(&doc) {
        let Some((media, schema)) = &op.body else { continue };
        // A carrier's callback checks its signature before its body, as a secured route
        // checks its token first (tests/e2e/tracking.rs signs its bodies).
        if media != "application/json" || op.path.starts_with("/callbacks/") {
            continue;
        }
        let who = if op.secured { Auth::As(right_principal(&op.path)) } else { Auth::None };
        let good = sample(&doc, schema);
        let path = op.path_with("x");
        for (at, body) in as_arrays(&good) {
            let reply = send(&m, op.method.clone(), &path, who, Body::Json(body.clone())).await;
            let what = format!("{} with {at} as an array: {body}", op.what());
            assert_problem_of(&what, &reply, 422, "invalid_body");
            checked += 1;
        }
    }
    assert!(checked >= 25, "every object of every request body: {checked}");
    // The two the issue names, with values that would otherwise pass.
    let reply = send(&m, Method::POST, "/v1/carts", CUSTOMER, Body::Json(json!(["EUR"]))).await;
    assert_problem_of("a cart from an array", &reply, 422, "invalid_body");
    let reply =
        send(&m, Method::PUT, "/admin/psp", OPERATOR, Body::Json(json!([null, null]))).await;
    assert_problem_of("a PSP change from an array", &reply, 422, "invalid_body");

    // A feed line is an object too.
    let line = br#"["MUG-1","FRA1",1,1]"#.to_vec();
    let body = Body::Raw(Some("application/x-ndjson"), line);
    let reply = m.call(Method::POST, "/v1/seller/inventory:feed", SELLER_1, body).await;
    assert_eq!(reply.json["refused_lines"][0]["code"], "invalid_line", "{}", reply.text);

    // A feed with no lines is refused, however it is empty.
    for bytes in [&b""[..], b"\n\n  \n"] {
        let body = Body::Raw(Some("application/x-ndjson"), bytes.to_vec());
        let reply = m.call(Method::POST, "/v1/seller/inventory:feed", SELLER_1, body).await;
        assert_problem_of(&format!("the feed {bytes:?}"), &reply, 422, "feed_empty");
    }
}

#[tokio::test]
async fn a_large_feed_behind_an_idempotency_key_is_answered_stored_and_replayed() {
    const LINES: usize = 3_000;
    let m = Market::open(&[]);
    m.register(SELLER_1, "First").await;
    m.create_product(SELLER_1, "B0INPUT003", document("Mug", "Acme", &["Home"])).await;
    m.put_offer(SELLER_1, "B0INPUT003", offer("FEED-1", 900, 0, "seller", 1)).await;
    let feed = "/v1/seller/inventory:feed";
    let send_feed = async |key: &str, lines: &str| {
        let headers = [("idempotency-key", key)];
        let body = Body::Raw(Some("application/x-ndjson"), lines.as_bytes().to_vec());
        m.call_with_headers(Method::POST, feed, SELLER_1, &headers, body).await
    };

    // Every line good: 3,000 locations.
    let good: String = (1..=LINES)
        .map(|n| {
            format!("{{\"sku\":\"FEED-1\",\"location\":\"L{n}\",\"quantity\":2,\"feed_seq\":1}}\n")
        })
        .collect();
    let first = send_feed("feed-good", &good).await;
    assert_eq!(first.status, 200, "{}", &first.text[..first.text.len().min(500)]);
    assert_eq!((&first.json["accepted"], &first.json["refused"]), (&json!(LINES), &json!(0)));
    let again = send_feed("feed-good", &good).await;
    assert_eq!((again.status, again.header("idempotent-replayed")), (200, Some("true")));
    assert_eq!(again.text, first.text, "the retry replays the first answer");
    let stock = m.read(SELLER_1, &format!("/v1/seller/inventory/FEED-1/L{LINES}")).await;
    assert_eq!(stock["on_hand"], 2);

    // Every line refused: the answer lists refused lines in file order, as many as it holds,
    // and counts the rest; the retry gets it again.
    let bad: String = (1..=LINES)
        .map(|n| format!("{{\"sku\":\"NO-SUCH-{n}\",\"location\":\"FRA1\",\"quantity\":1,\"feed_seq\":1,\"{}\":1}}\n", "z".repeat(300)))
        .collect();
    let first = send_feed("feed-bad", &bad).await;
    assert_eq!(first.status, 200, "{}", &first.text[..first.text.len().min(500)]);
    assert_eq!((&first.json["accepted"], &first.json["refused"]), (&json!(0), &json!(LINES)));
    let listed = first.json["refused_lines"].as_array().unwrap();
    let omitted = first.json["refused_lines_omitted"].as_u64().unwrap() as usize;
    assert!(!listed.is_empty() && listed.len() + omitted == LINES, "{listed:?} + {omitted}");
    let numbers: Vec<u64> = listed.iter().map(|line| line["line"].as_u64().unwrap()).collect();
    assert_eq!(numbers, (1..=listed.len() as u64).collect::<Vec<_>>());
    assert_eq!((&listed[0]["status"], &listed[0]["code"]), (&json!(422), &json!("invalid_line")));
    let again = send_feed("feed-bad", &bad).await;
    assert_eq!((again.status, again.header("idempotent-replayed")), (200, Some("true")));
    assert_eq!(again.text, first.text);
}
