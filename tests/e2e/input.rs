//! Input and errors, swept over the whole HTTP surface as `/openapi.json` lists it: every route
//! checks the token and its role before anything about the request (403 before 415 or 422);
//! every answer, from every extractor and limit, is `application/problem+json` with a stable
//! code; an id that path normalisation would change is refused.
//!
//! The sweep's reading of the document (its operations, the role each route is for, a sender
//! with a fresh `Idempotency-Key`) is here; `bodies` sweeps request bodies with it.

use std::sync::atomic::{AtomicU64, Ordering};

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{
    Auth, Body, CUSTOMER, Market, OPERATOR, Reply, SELLER_1, assert_problem_of, document, offer,
};

/// Every principal of [`Market::open`]'s initial tokens, one per role.
const PRINCIPALS: [(&str, &str); 4] = [
    ("customer", "customer-1"),
    ("seller", "seller-1"),
    ("support", "support-1"),
    ("operator", "operator-1"),
];

/// The role a route is for, by its path: the test's own table, so a route the document lists
/// and this table does not know fails the test instead of going unchecked. `None`: any role.
fn role_of(path: &str) -> Option<&'static str> {
    let any = ["/v1/products/", "/v1/search"];
    let by_prefix = [
        ("/admin/", "operator"),
        ("/v1/seller/", "seller"),
        ("/v1/carts", "customer"),
        ("/v1/checkouts", "customer"),
        ("/v1/customers", "customer"),
        ("/v1/orders", "customer"),
        ("/v1/support/", "support"),
    ];
    if any.iter().any(|prefix| path.starts_with(prefix)) {
        return None;
    }
    let found = by_prefix.iter().find(|(prefix, _)| path.starts_with(prefix));
    Some(found.unwrap_or_else(|| panic!("{path}: which role is it for?")).1)
}

/// A principal the route is for.
pub(crate) fn right_principal(path: &str) -> &'static str {
    let role = role_of(path).unwrap_or("customer");
    PRINCIPALS.iter().find(|(r, _)| *r == role).unwrap().1
}

/// One operation of the OpenAPI document.
#[derive(Debug, Clone)]
pub(crate) struct Operation {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) secured: bool,
    /// The documented roles of its bearer requirement.
    pub(crate) roles: Vec<String>,
    /// Path parameter names, in order.
    pub(crate) path_params: Vec<String>,
    /// Query parameters with their (resolved) schemas.
    pub(crate) query: Vec<(String, Value)>,
    /// The request body's media type and (resolved) schema.
    pub(crate) body: Option<(String, Value)>,
}

impl Operation {
    pub(crate) fn what(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// The path with each parameter replaced by `value`.
    pub(crate) fn path_with(&self, value: &str) -> String {
        self.path_params
            .iter()
            .fold(self.path.clone(), |path, name| path.replace(&format!("{{{name}}}"), value))
    }

    /// The path with parameter `index` replaced by `value` and the others by `x`.
    pub(crate) fn path_with_one(&self, index: usize, value: &str) -> String {
        self.path_params.iter().enumerate().fold(self.path.clone(), |path, (i, name)| {
            path.replace(&format!("{{{name}}}"), if i == index { value } else { "x" })
        })
    }
}

/// Resolves a `$ref` (to `#/components/schemas/...`) against the document, once.
pub(crate) fn resolve(doc: &Value, schema: &Value) -> Value {
    match schema["$ref"].as_str() {
        Some(reference) => {
            let name = reference.rsplit('/').next().unwrap();
            doc["components"]["schemas"][name].clone()
        }
        None => schema.clone(),
    }
}

pub(crate) fn operations(doc: &Value) -> Vec<Operation> {
    let mut found = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let security = operation["security"].as_array().cloned().unwrap_or_default();
            let roles = security
                .iter()
                .filter_map(|requirement| requirement["bearer"].as_array())
                .flatten()
                .map(|role| role.as_str().unwrap().to_string())
                .collect();
            let params = operation["parameters"].as_array().cloned().unwrap_or_default();
            let named = |place: &str| {
                params
                    .iter()
                    .filter(|p| p["in"] == place)
                    .map(|p| (p["name"].as_str().unwrap().to_string(), resolve(doc, &p["schema"])))
                    .collect::<Vec<_>>()
            };
            let body = operation["requestBody"]["content"].as_object().map(|content| {
                let (media, body) = content.iter().next().unwrap();
                (media.clone(), resolve(doc, &body["schema"]))
            });
            found.push(Operation {
                method,
                path: path.clone(),
                secured: !security.is_empty(),
                roles,
                path_params: named("path").into_iter().map(|(name, _)| name).collect(),
                query: named("query"),
                body,
            });
        }
    }
    assert!(found.len() > 30, "the document lists every route: {}", found.len());
    found
}

static KEYS: AtomicU64 = AtomicU64::new(1);

/// A fresh `Idempotency-Key`, so that no request of a sweep meets another's.
fn fresh_key() -> String {
    format!("sweep-{}", KEYS.fetch_add(1, Ordering::Relaxed))
}

/// Sends a request with `x-tenant` (for the guest routes) and a fresh `Idempotency-Key`.
pub(crate) async fn send(
    m: &Market,
    method: Method,
    path: &str,
    auth: Auth<'_>,
    body: Body,
) -> Reply {
    let key = fresh_key();
    let headers = [("x-tenant", "default"), ("idempotency-key", key.as_str())];
    m.call_with_headers(method, path, auth, &headers, body).await
}

pub(crate) async fn document_of(m: &Market) -> Value {
    m.read(Auth::None, "/openapi.json").await
}

#[tokio::test]
async fn every_route_checks_the_token_and_the_role_before_anything_about_the_request() {
    let m = Market::open(&[]);
    let doc = document_of(&m).await;
    let mut checked = 0;
    for op in operations(&doc).into_iter().filter(|op| op.secured) {
        let allowed = role_of(&op.path);
        // A bad path id, a bad query and a bad body, all at once.
        let path = format!("{}?limit=abc&no_such_parameter=1", op.path_with("%FF"));
        let bad = || Body::Raw(Some("text/plain"), b"[{\"x\":".to_vec());
        for (role, principal) in PRINCIPALS {
            if allowed.is_none_or(|allowed| allowed == role) {
                continue;
            }
            let reply = send(&m, op.method.clone(), &path, Auth::As(principal), bad()).await;
            assert_problem_of(&format!("{} as {principal}", op.what()), &reply, 403, "wrong_role");
            checked += 1;
        }
        for auth in [Auth::None, Auth::Header("Bearer bzr_unknown"), Auth::Header("Basic eDp5")] {
            let reply = send(&m, op.method.clone(), &path, auth, bad()).await;
            assert_problem_of(&op.what(), &reply, 401, "unauthenticated");
        }
        // The document says which role a route is for.
        let documented: Vec<&str> = op.roles.iter().map(String::as_str).collect();
        let expected: Vec<&str> = allowed.into_iter().collect();
        assert_eq!(documented, expected, "{}: the documented roles", op.what());
    }
    assert!(checked > 60, "every secured route with every wrong role: {checked}");
}

#[tokio::test]
async fn every_answer_from_every_extractor_and_limit_is_a_problem() {
    let m = Market::open(&[]);
    let doc = document_of(&m).await;
    let ops = operations(&doc);
    for op in &ops {
        let who = if op.secured { Auth::As(right_principal(&op.path)) } else { Auth::None };
        if !op.path_params.is_empty() {
            // An id that is not UTF-8 once decoded.
            for index in 0..op.path_params.len() {
                let path = op.path_with_one(index, "%FF");
                let reply = send(&m, op.method.clone(), &path, who, Body::None).await;
                assert_problem_of(&format!("{} {path}", op.method), &reply, 400, "invalid_path");
            }
        }
        if !op.path.starts_with("/v1/") && !op.path.starts_with("/admin/") {
            // The node's own routes (health, metrics, this document) take any query.
        } else if op.query.is_empty() {
            let path = format!("{}?no_such_parameter=1", op.path_with("x"));
            let reply = send(&m, op.method.clone(), &path, who, Body::None).await;
            assert_problem_of(&format!("{} {path}", op.method), &reply, 400, "invalid_query");
        } else {
            let mut queries = vec!["no_such_parameter=1".to_string()];
            for (name, schema) in &op.query {
                let kind = schema["type"].to_string();
                if kind.contains("integer") || kind.contains("boolean") {
                    queries.push(format!("{name}=abc"));
                }
                if kind.contains("integer") && schema["minimum"].as_i64() == Some(0) {
                    queries.push(format!("{name}=-1"));
                }
            }
            for query in queries {
                let path = format!("{}?{query}", op.path_with("x"));
                let reply = send(&m, op.method.clone(), &path, who, Body::None).await;
                assert_problem_of(&format!("{} {path}", op.method), &reply, 400, "invalid_query");
            }
        }
        if let Some((media, _)) = &op.body {
            // One byte past the route's limit.
            use bazaar_gateway::limits::{
                BODY_BYTES_MAX, FEED_BODY_BYTES_MAX, LISTINGS_FEED_BODY_BYTES_MAX,
            };
            let limit = match op.path.as_str() {
                bazaar_gateway::routes::seller::LISTINGS_FEED_PATH => LISTINGS_FEED_BODY_BYTES_MAX,
                _ if media.contains("ndjson") => FEED_BODY_BYTES_MAX,
                _ => BODY_BYTES_MAX,
            };
            let mut bytes = b"{\"x\":\"".to_vec();
            bytes.resize(limit + 1, b'x');
            let media =
                if media.contains("ndjson") { "application/x-ndjson" } else { "application/json" };
            let body = Body::Raw(Some(media), bytes);
            let reply = send(&m, op.method.clone(), &op.path_with("x"), who, body).await;
            assert_problem_of(&format!("{} too large", op.what()), &reply, 413, "body_too_large");
        }
    }
    // Every method a path does not take.
    let mut paths: Vec<&str> = ops.iter().map(|op| op.path.as_str()).collect();
    paths.dedup();
    for path in paths {
        let on_path: Vec<&Operation> = ops.iter().filter(|op| op.path == path).collect();
        let taken: Vec<&Method> = on_path.iter().map(|op| &op.method).collect();
        let secured = on_path.iter().any(|op| op.secured);
        let who = if secured { Auth::As(right_principal(path)) } else { Auth::None };
        for method in [Method::GET, Method::PUT, Method::POST, Method::DELETE, Method::PATCH] {
            if taken.contains(&&method) || (method == Method::GET && path == "/metrics") {
                continue;
            }
            let concrete = path.replace(['{', '}'], "");
            let reply = send(&m, method.clone(), &concrete, who, Body::None).await;
            let what = format!("{method} {path}");
            assert_problem_of(&what, &reply, 405, "method_not_allowed");
            assert!(reply.header("allow").is_some(), "{what}: 405 says what is allowed");
        }
    }
    // Unknown routes, and a URL of 100 KB.
    for path in ["/v1/no/such/route", "/admin", "/v1/seller/offers/x/y"] {
        let reply = send(&m, Method::GET, path, CUSTOMER, Body::None).await;
        assert_problem_of(path, &reply, 404, "no_route");
    }
    // Past the server's own bound, and past the HTTP parser's (which no client library
    // sends: written byte for byte).
    let long = format!("/v1/products/{}", "A".repeat(20 * 1024));
    let reply = send(&m, Method::GET, &long, CUSTOMER, Body::None).await;
    assert_problem_of("a 20 KB URL", &reply, 414, "uri_too_long");
    let longer = format!("/v1/products/{}", "A".repeat(100 * 1024));
    let reply = m.raw("GET", &longer, Some("customer-1")).await;
    assert_problem_of("a 100 KB URL", &reply, 414, "uri_too_long");
}

#[tokio::test]
async fn ids_that_path_normalisation_would_change_are_refused() {
    let m = Market::open(&[]);
    let doc = document_of(&m).await;
    let mut checked = 0;
    for op in operations(&doc).into_iter().filter(|op| !op.path_params.is_empty()) {
        let principal = op.secured.then(|| right_principal(&op.path));
        for index in 0..op.path_params.len() {
            for dots in [".", "..", "%2e", "%2E%2e", ".%2E", "%2e."] {
                let path = op.path_with_one(index, dots);
                let reply = m.raw(op.method.as_str(), &path, principal).await;
                assert_problem_of(&format!("{} {path}", op.method), &reply, 400, "dot_segment");
                checked += 1;
            }
        }
    }
    assert!(checked > 100, "every id of every path: {checked}");

    // Ids in bodies that a path could not name: refused when they are made.
    m.register(SELLER_1, "First").await;
    m.create_product(SELLER_1, "B0INPUT002", document("Mug", "Acme", &["Home"])).await;
    for id in [".", ".."] {
        let promotion = json!({
            "id": id, "benefit": { "type": "percent_off", "bps": 1000 }, "starts_ms": 0,
            "ends_ms": 4_000_000_000_000_u64, "total_redemptions": 10,
            "redemptions_per_customer": 1,
        });
        let reply = m.post(OPERATOR, "/admin/promotions", promotion).await;
        assert_problem_of(&format!("promotion {id:?}"), &reply, 422, "invalid_id");
        let reply = m.put(SELLER_1, "/v1/seller/offers/B0INPUT002", offer(id, 900, 0, "seller", 1));
        assert_problem_of(&format!("sku {id:?}"), &reply.await, 422, "invalid_id");
        let headers = [("idempotency-key", id)];
        let body = Body::Json(json!({}));
        let reply = m.call_with_headers(Method::POST, "/v1/checkouts", CUSTOMER, &headers, body);
        assert_problem_of(
            &format!("checkout key {id:?}"),
            &reply.await,
            400,
            "invalid_idempotency_key",
        );
    }
}
