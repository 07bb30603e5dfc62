//! Security regressions of issue 9, over real HTTP: what one principal's input can do to
//! another's answers, records and resources.
//! - postmortem 3: idempotency keys crossed roles (a seller replayed a customer's stored
//!   answer); a stored answer is now replayed only to the same principal on the same route.
//! - postmortem 4: an over-long `x-request-id` or path skipped the audit record; every
//!   audited request is now recorded whatever its input, under the server's request id.
//! - postmortem 5: any seller could rewrite any catalog document; only its creator may.
//! - postmortem 6: seller promotion ids `{seller}.{id}` collided across sellers.
//! - postmortem 7: another seller's order answered differently from an unknown one, and a
//!   seller's order list indexed into the whole order.
//! - postmortem 8: `authorization: bearer` (lower case) was refused.
//! - A retried request whose JSON was re-serialized answered 422 `idempotency_key_reused`.
//! - There was no `GET /v1/seller/profile`.

use crate::support::checkout::{A, B, Shop, Shopper};
use crate::support::{
    Auth, Body, Market, Reply, SELLER_1, SELLER_2, assert_problem, document, eventually,
    initial_tokens, mint_token,
};
use reqwest::Method;
use serde_json::{Value, json};

const AUDIT_FIELD_BYTES_MAX: usize = 512;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stored_answer_is_replayed_only_to_its_principal_on_its_route() {
    let mut m = Market::open(&[("customer", "dup")]);
    // A seller of the same name as the customer (and the same tenant).
    let seller_token = format!("Bearer {}", mint_token(m.data_dir(), "seller", "dup"));
    m.restart();
    let (customer, seller) = (Auth::As("dup"), Auth::Header(&seller_token));
    let key = [("idempotency-key", "shared-key-1")];
    let new_cart = || Body::Json(json!({"currency": "EUR"}));

    let first = m.call_with_headers(Method::POST, "/v1/carts", customer, &key, new_cart()).await;
    assert_eq!(first.status, 201, "{}", first.text);
    let again = m.call_with_headers(Method::POST, "/v1/carts", customer, &key, new_cart()).await;
    assert_eq!((again.status, &again.json), (201, &first.json), "the customer's retry replays");
    assert_eq!(again.header("idempotent-replayed"), Some("true"));

    // The seller of the same name gets its own answer: 403 on a customer route, and its own
    // request carried out on its own route, never the customer's stored answer or a 422.
    let stolen = m.call_with_headers(Method::POST, "/v1/carts", seller, &key, new_cart()).await;
    assert_problem(&stolen, 403, "wrong_role");
    let profile = Body::Json(json!({"name": "Dup"}));
    let own = m.call_with_headers(Method::PUT, "/v1/seller/profile", seller, &key, profile).await;
    assert_eq!(own.status, 200, "{}", own.text);
    assert_eq!(own.json["seller"], "dup", "{}", own.text);
    assert_eq!(own.header("idempotent-replayed"), None);

    // The same principal's key on another route is another key.
    let cart = first.json["id"].as_str().unwrap();
    let path = format!("/v1/carts/{cart}/items");
    let item = Body::Json(json!({"asin": "B000000001", "quantity": 1}));
    let other = m.call_with_headers(Method::POST, &path, customer, &key, item).await;
    assert_ne!(other.status, 422, "{}", other.text);
    assert_eq!(other.header("idempotent-replayed"), None, "{}", other.text);
    m.shut_down();
}

/// A request with a bearer token and an `x-request-id` of any bytes (the test's own client,
/// since the support's headers are text).
async fn raw_call(
    m: &Market,
    token: &str,
    (method, path): (Method, &str),
    request_id: &[u8],
    body: Value,
) -> Reply {
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let response = http
        .request(method, m.url(path))
        .bearer_auth(token)
        .header("x-request-id", reqwest::header::HeaderValue::from_bytes(request_id).unwrap())
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let content_type =
        headers.get("content-type").map_or_else(String::new, |v| v.to_str().unwrap().to_string());
    let text = response.text().await.unwrap();
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    Reply { status, content_type, headers, text, json }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_input_lets_an_audited_request_go_unrecorded() {
    let m = Market::open(&[]);
    let token = initial_tokens(m.data_dir())["seller-1"].clone();
    let long = |n: usize| vec![b'r'; n];
    let sku = "S".repeat(600);
    let zeros = format!("{}1", "0".repeat(600));
    let order = format!("o-{}", "0".repeat(32));
    let profile = "/v1/seller/profile".to_string();
    let cases: Vec<(Method, String, Vec<u8>, Value)> = vec![
        (Method::PUT, profile.clone(), long(AUDIT_FIELD_BYTES_MAX + 1), json!({"name": "Long"})),
        (Method::PUT, profile.clone(), long(16 * 1024), json!({"name": "Longer"})),
        (Method::PUT, profile.clone(), b"\xff\xfe not utf-8".to_vec(), json!({"name": "Bytes"})),
        (Method::PUT, profile.clone(), b"client-7".to_vec(), json!({"name": "Client id"})),
        (Method::PUT, format!("/v1/seller/inventory/{sku}/FRA1"), b"p".to_vec(), json!({})),
        (
            Method::POST,
            format!("/v1/seller/orders/{order}/shipments/{zeros}/dispatch"),
            b"q".to_vec(),
            json!({"carrier": "DHL", "tracking": "T"}),
        ),
    ];
    let trail = async || m.read(Auth::As("operator-1"), "/admin/audit/seller/seller-1").await;
    for (method, path, request_id, body) in cases {
        let before = trail().await["total"].as_u64().unwrap();
        let name = body["name"].clone();
        let reply = raw_call(&m, &token, (method, &path), &request_id, body).await;
        let what = format!(
            "{}.. with a {}-byte request id",
            &path[..path.len().min(24)],
            request_id.len()
        );
        if name.is_string() {
            assert_eq!(reply.status, 200, "{what}: {}", reply.text);
            assert_eq!(reply.json["name"], name, "{what}: the change stands");
        }
        let after = trail().await;
        assert_eq!(after["total"].as_u64(), Some(before + 1), "{what}: recorded");
        let server_id = reply.header("x-request-id").expect("an x-request-id").to_string();
        assert!(server_id.as_bytes() != request_id, "{what}: the id is the server's");
        let record = &after["records"][0];
        assert_eq!(record["request_id"], server_id.as_str(), "{what}: {record}");
        assert_eq!(record["status"], reply.status, "{what}: {record}");
        let recorded = record["path"].as_str().unwrap();
        assert!(recorded.len() <= AUDIT_FIELD_BYTES_MAX, "{what}: {recorded}");
        if path.len() > AUDIT_FIELD_BYTES_MAX {
            let (kept, mark) = recorded.split_once("…").expect("a mark where the path is cut");
            assert!(path.starts_with(kept) && mark.contains("bytes"), "{what}: {recorded}");
        } else {
            assert_eq!(recorded, path, "{what}");
        }
    }
    m.shut_down();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_its_creator_changes_a_catalog_document_others_offer_on_it() {
    const ASIN: &str = "B0OWNED001";
    let m = Market::open(&[("seller", "seller-2")]);
    m.register(SELLER_1, "First").await;
    m.register(SELLER_2, "Second").await;
    m.create_product(SELLER_1, ASIN, document("Wool scarf", "Acme", &["Fashion"])).await;
    let before = m.product(ASIN).await;

    let hijack = json!({"asin": ASIN, "currency": "EUR",
        "document": document("HIJACKED scarf", "Other", &["Fashion"])});
    let refused = m.post(SELLER_2, "/v1/seller/products", hijack).await;
    assert_problem(&refused, 403, "not_product_owner");
    assert_eq!(m.product(ASIN).await["document"], before["document"], "the document stands");

    // Its creator still changes it; the other seller still offers on it.
    let update = json!({"asin": ASIN, "currency": "EUR",
        "document": document("Wool scarf, red", "Acme", &["Fashion"])});
    m.write(200, Method::POST, "/v1/seller/products", SELLER_1, update).await;
    let offer = crate::support::offer("SCARF-2", 2900, 0, "seller", 1);
    m.put_offer(SELLER_2, ASIN, offer).await;
    eventually("the creator's update shows", async || {
        let product = m.product(ASIN).await;
        if product["document"]["title"] == "Wool scarf, red" {
            Ok(())
        } else {
            Err(product.to_string())
        }
    })
    .await;
    m.shut_down();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seller_promotion_ids_never_collide_across_sellers() {
    let m = Market::open(&[("seller", "seller-a"), ("seller", "seller-a.x")]);
    let promotion = |id: &str| {
        json!({"id": id, "benefit": {"type": "percent_off", "bps": 1000}, "starts_ms": 0,
            "ends_ms": 4_000_000_000_000u64, "total_redemptions": 10,
            "redemptions_per_customer": 1})
    };
    let (a, ax) = (Auth::As("seller-a"), Auth::As("seller-a.x"));
    let first = m.post(a, "/v1/seller/promotions", promotion("x.exists")).await;
    assert_eq!(first.status, 201, "{}", first.text);
    // seller-a.x learns nothing of seller-a's ids, and cannot take one of them.
    let second = m.post(ax, "/v1/seller/promotions", promotion("exists")).await;
    assert_eq!(second.status, 201, "{}", second.text);
    let third = m.post(ax, "/v1/seller/promotions", promotion("y")).await;
    assert_eq!(third.status, 201, "{}", third.text);
    let fourth = m.post(a, "/v1/seller/promotions", promotion("x.y")).await;
    assert_eq!(fourth.status, 201, "{}", fourth.text);
    let ids: std::collections::BTreeSet<&str> =
        [&first, &second, &third, &fourth].iter().map(|r| r.json["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 4, "{ids:?}");
    m.shut_down();
}

/// `(status, code, title, detail)` of a problem answer.
fn problem(reply: &Reply) -> (u16, Value, Value, Value) {
    let json = &reply.json;
    (reply.status, json["code"].clone(), json["title"].clone(), json["detail"].clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_sellers_order_is_as_unknown_as_no_order_and_lists_show_own_lines_only() {
    let shopper = Shopper::new(1);
    let shop = Shop::open(std::slice::from_ref(&shopper), 10, 10).await;
    let m = &shop.m;
    let me = shopper.auth();
    // An order of seller-1 only, and one of both sellers, seller-2's line second.
    let cart = m.cart_with(me, &[(A, "seller-1", 1)]).await;
    let only_1 = m.checkout_completes(me, "oracle-1", shopper.body(&cart)).await;
    let only_1 = only_1["order_id"].as_str().unwrap().to_string();
    let cart = m.cart_with(me, &[(A, "seller-1", 1), (B, "seller-2", 1)]).await;
    let both = m.checkout_completes(me, "oracle-2", shopper.body(&cart)).await;
    let both = both["order_id"].as_str().unwrap().to_string();

    let unknown = format!("o-{}", "f".repeat(32));
    for action in ["dispatch", "delivery"] {
        let call = async |id: &str, number: &str| {
            let path = format!("/v1/seller/orders/{id}/shipments/{number}/{action}");
            let body = json!({"carrier": "DHL", "tracking": "T-1"});
            m.post(SELLER_2, &path, body).await
        };
        let expected = problem(&call(&unknown, "1").await);
        assert_eq!(expected.0, 404, "{expected:?}");
        for (id, number) in [(&only_1, "1"), (&only_1, "2"), (&unknown, "2"), (&only_1, "x")] {
            let answer = problem(&call(id, number).await);
            assert_eq!(answer, expected, "{action} of shipment {number} of {id}");
        }
    }

    // seller-2's lines of the mixed order, indexed among its own lines only.
    let mine = eventually("seller-2 sees its order", async || {
        let listed = m.read(SELLER_2, "/v1/seller/orders").await;
        let found = listed.as_array().unwrap().iter().find(|o| o["id"] == both.as_str()).cloned();
        found.ok_or_else(|| listed.to_string())
    })
    .await;
    let lines = mine["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 1, "{mine}");
    assert_eq!(lines[0]["asin"], B, "{mine}");
    let indexes: Vec<&Value> = mine["shipments"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["lines"].as_array().unwrap())
        .collect();
    assert_eq!(indexes, [&json!(0)], "only its own lines, indexed among them: {mine}");
    let listed = m.read(SELLER_2, "/v1/seller/orders").await;
    assert!(
        listed.as_array().unwrap().iter().all(|o| o["id"] != only_1.as_str()),
        "an order without seller-2's lines is not listed: {listed}"
    );
    shop.m.shut_down();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bearer_scheme_is_case_insensitive() {
    let m = Market::open(&[]);
    let token = initial_tokens(m.data_dir())["customer-1"].clone();
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let header = format!("{scheme} {token}");
        let reply = m.get(Auth::Header(&header), "/v1/orders").await;
        assert_eq!(reply.status, 200, "{scheme}: {}", reply.text);
    }
    for header in [format!("Basic {token}"), format!("Bearer{token}"), "bearer".to_string()] {
        let reply = m.get(Auth::Header(&header), "/v1/orders").await;
        assert_problem(&reply, 401, "unauthenticated");
    }
    m.shut_down();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_with_reserialized_json_is_the_same_request() {
    let shopper = Shopper::new(1);
    let shop = Shop::open(std::slice::from_ref(&shopper), 10, 10).await;
    let m = &shop.m;
    let me = shopper.auth();
    let cart = m.cart_with(me, &[(A, "seller-1", 1)]).await;
    let body = shopper.body(&cart);
    let first = m.checkout_completes(me, "reserialized-1", body.clone()).await;

    // The same content, keys in another order and other spacing.
    let respaced = reordered(&body);
    assert_ne!(respaced, serde_json::to_string(&body).unwrap());
    let headers = [("idempotency-key", "reserialized-1")];
    let raw = Body::Raw(Some("application/json"), respaced.into_bytes());
    let retry = m.call_with_headers(Method::POST, "/v1/checkouts", me, &headers, raw).await;
    assert!(matches!(retry.status, 201 | 202), "{}", retry.text);
    assert_eq!(retry.json["order_id"], first["order_id"], "{}", retry.text);

    // Other content is another request: 422, titled as everywhere else.
    let mut other = body.clone();
    other["ship_to"]["city"] = json!("Hamburg");
    let reused = m.checkout(me, "reserialized-1", other).await;
    assert_problem(&reused, 422, "idempotency_key_reused");
    let key = [("idempotency-key", "cart-key-1")];
    let cart = Body::Json(json!({"currency": "EUR"}));
    let first = m.call_with_headers(Method::POST, "/v1/carts", me, &key, cart).await;
    assert_eq!(first.status, 201, "{}", first.text);
    let raw = Body::Raw(Some("application/json"), b"{ \"currency\" :\n \"EUR\" }".to_vec());
    let again = m.call_with_headers(Method::POST, "/v1/carts", me, &key, raw).await;
    assert_eq!((again.status, &again.json), (201, &first.json), "{}", again.text);
    let raw = Body::Raw(Some("application/json"), b"{\"currency\":\"USD\"}".to_vec());
    let mismatch = m.call_with_headers(Method::POST, "/v1/carts", me, &key, raw).await;
    assert_problem(&mismatch, 422, "idempotency_key_reused");
    assert_eq!(mismatch.json["title"], reused.json["title"], "one title for one code");
    shop.m.shut_down();
}

/// `value` as JSON text with every object's keys reversed and spaces around the punctuation.
fn reordered(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let mut fields: Vec<String> =
                map.iter().map(|(k, v)| format!("{} : {}", json!(k), reordered(v))).collect();
            fields.reverse();
            format!("{{ {} }}", fields.join(" , "))
        }
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(reordered).collect();
            format!("[ {} ]", items.join(" , "))
        }
        other => other.to_string(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seller_reads_back_its_profile() {
    let m = Market::open(&[]);
    assert_problem(&m.get(SELLER_1, "/v1/seller/profile").await, 404, "seller_not_registered");
    let written =
        m.write(200, Method::PUT, "/v1/seller/profile", SELLER_1, json!({"name": "Acme"})).await;
    assert_eq!(m.read(SELLER_1, "/v1/seller/profile").await, written);
    let customer = m.get(Auth::As("customer-1"), "/v1/seller/profile").await;
    assert_problem(&customer, 403, "wrong_role");
    let spec = m.read(Auth::None, "/openapi.json").await;
    let get = &spec["paths"]["/v1/seller/profile"]["get"];
    assert!(get["responses"]["200"].is_object(), "documented: {get}");
    m.shut_down();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_whose_client_went_away_is_recorded_all_the_same() {
    const ASIN: &str = "B0GONE0001";
    const LINES: u64 = 5_000;
    let m = Market::open(&[]);
    let token = initial_tokens(m.data_dir())["seller-1"].clone();
    m.register(SELLER_1, "First").await;
    m.create_product(SELLER_1, ASIN, document("Lamp", "Acme", &["Home"])).await;
    m.put_offer(SELLER_1, ASIN, crate::support::offer("SKU-GONE", 1000, 0, "seller", 1)).await;
    let trail = async || m.read(Auth::As("operator-1"), "/admin/audit/seller/seller-1").await;
    let before = trail().await["total"].as_u64().unwrap();

    // A long feed, and a client that gives up long before it is applied.
    let feed: String = (1..=LINES)
        .map(|n| {
            format!(r#"{{"sku":"SKU-GONE","location":"FRA1","quantity":{n},"feed_seq":{n}}}"#)
                + "\n"
        })
        .collect();
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(std::time::Duration::from_millis(50))
        .build()
        .unwrap();
    let sent = http
        .post(m.url("/v1/seller/inventory:feed"))
        .bearer_auth(&token)
        .header("content-type", "application/x-ndjson")
        .body(feed)
        .send()
        .await;
    assert!(sent.is_err(), "the client gave up before the answer: {sent:?}");

    // The feed goes on, and its request is recorded when it is done.
    let limit = std::time::Duration::from_secs(60);
    let path = "/v1/seller/inventory/SKU-GONE/FRA1";
    let record = crate::support::eventually_within(limit, "the feed's record", async || {
        let after = trail().await;
        let stock = m.get(SELLER_1, path).await;
        match after["total"].as_u64() {
            Some(total) if total == before + 1 => Ok((after["records"][0].clone(), stock.json)),
            _ => Err(format!("{after}; stock {}", stock.text)),
        }
    })
    .await;
    let (record, stock) = record;
    assert_eq!(record["path"], "/v1/seller/inventory:feed", "{record}");
    if record["status"] == 200 {
        assert!(stock["on_hand"].as_u64() > Some(0), "the feed ran: {stock}");
    }
    m.shut_down();
}
