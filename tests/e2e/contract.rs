//! The contract is the document: `/openapi.json` says what the server does. Numbers past what
//! the document allows are refused (item 12), the document names each shape once and says
//! what every route answers and enforces (item 16), and schemathesis, a property-based tester
//! driven by the document alone, finds no undocumented answer, no valid request refused and no
//! invalid one accepted, with the token of every role.

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::checkout::psp_args;
use crate::support::psp::Psp;
use crate::support::{
    Body, Market, OPERATOR, SELLER_1, assert_problem_of, document, initial_tokens, offer, root,
};

/// 2^63: one past what an `int64` client can send.
const PAST_INT64: &str = "9223372036854775808";

async fn served_document(m: &Market) -> Value {
    m.read(crate::support::Auth::None, "/openapi.json").await
}

#[tokio::test]
async fn a_feed_seq_past_int64_is_refused_and_the_sku_stays_usable() {
    // postmortem: feed_seq was read as a u64 although the document said int64; 2^63 was taken,
    // and every feed_seq an int64 client can send was stale from then on: the SKU was stuck.
    const ASIN: &str = "B0CONTRA01";
    let m = Market::open(&[]);
    m.register(SELLER_1, "First").await;
    m.create_product(SELLER_1, ASIN, document("Tin cup", "Acme", &["Home", "Kitchen"])).await;
    m.put_offer(SELLER_1, ASIN, offer("CUP-1", 500, 0, "seller", 1)).await;
    m.set_stock(SELLER_1, "CUP-1", "FRA1", 5, 1).await;

    let path = "/v1/seller/inventory/CUP-1/FRA1";
    let body = format!(r#"{{"quantity":7,"feed_seq":{PAST_INT64}}}"#).into_bytes();
    let reply =
        m.call(Method::PUT, path, SELLER_1, Body::Raw(Some("application/json"), body)).await;
    assert_problem_of("feed_seq 2^63", &reply, 422, "invalid_body");
    let feed =
        format!(r#"{{"sku":"CUP-1","location":"FRA1","quantity":8,"feed_seq":{PAST_INT64}}}"#);
    let body = Body::Raw(Some("application/x-ndjson"), feed.into_bytes());
    let reply = m.call(Method::POST, "/v1/seller/inventory:feed", SELLER_1, body).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(
        (&reply.json["accepted"], &reply.json["refused_lines"][0]["status"]),
        (&json!(0), &json!(422))
    );

    // The largest an int64 client can send still moves the stock.
    m.set_stock(SELLER_1, "CUP-1", "FRA1", 9, i64::MAX as u64).await;
    let doc = served_document(&m).await;
    let feed_seq = &doc["components"]["schemas"]["OnHandDto"]["properties"]["feed_seq"];
    assert_eq!((&feed_seq["format"], &feed_seq["maximum"]), (&json!("int64"), &json!(i64::MAX)));
}

#[tokio::test]
async fn promotion_times_past_int64_are_refused() {
    // postmortem: starts_ms and ends_ms were u64: an `ends_ms` of 2^63 was stored, a time no
    // int64 client can write back or compare with.
    let m = Market::open(&[]);
    m.register(SELLER_1, "First").await;
    for (who, path) in [(OPERATOR, "/admin/promotions"), (SELLER_1, "/v1/seller/promotions")] {
        let promotion = |id: &str, ends: &str| {
            format!(
                r#"{{"id":"{id}","benefit":{{"type":"percent_off","bps":1000}},"starts_ms":0,
                "ends_ms":{ends},"total_redemptions":10,"redemptions_per_customer":1}}"#
            )
            .into_bytes()
        };
        let body = Body::Raw(Some("application/json"), promotion("far", PAST_INT64));
        let reply = m.call(Method::POST, path, who, body).await;
        assert_problem_of(&format!("{path} ends_ms 2^63"), &reply, 422, "invalid_body");
        let body = Body::Raw(Some("application/json"), promotion("near", &i64::MAX.to_string()));
        let reply = m.call(Method::POST, path, who, body).await;
        assert_eq!(reply.status, 201, "{path} ends_ms i64::MAX: {}", reply.text);
    }
}

/// The document a client is generated from can check out, and says what the server enforces.
#[tokio::test]
async fn the_document_says_what_the_server_takes() {
    // postmortem: the checkout's request and the order's answer had types both named
    // PaymentDto; utoipa kept one, so the checkout's body pointed at the order's payment and a
    // client generated from the document could never check out. Constraints the server
    // enforced (formats, lengths, ranges) and most answers it gave were not in the document.
    let m = Market::open(&[]);
    let doc = served_document(&m).await;
    let schemas = &doc["components"]["schemas"];
    let payment = schemas["NewCheckout"]["properties"]["payment"]["$ref"].as_str().unwrap();
    let payment = &schemas[payment.rsplit('/').next().unwrap()];
    let mut fields: Vec<&String> = payment["properties"].as_object().unwrap().keys().collect();
    fields.sort();
    assert_eq!(fields, ["billing_country", "card"]);
    assert!(payment["properties"]["billing_country"]["enum"].as_array().unwrap().len() > 200);

    let quantity = &schemas["NewItem"]["properties"]["quantity"];
    assert_eq!((&quantity["minimum"], &quantity["maximum"]), (&json!(1), &json!(999)));
    assert_eq!(schemas["OfferDto"]["properties"]["handling_days"]["maximum"], 30);
    assert!(schemas["NewCart"]["properties"]["currency"]["enum"].as_array().unwrap().len() > 100);
    let search = doc["paths"]["/v1/search"]["get"]["parameters"].as_array().unwrap();
    let page = search.iter().find(|p| p["name"] == "page").unwrap();
    assert_eq!(page["schema"]["minimum"], 1);

    let add = &doc["paths"]["/v1/carts/{id}/items"]["post"];
    let key = add["parameters"].as_array().unwrap().iter().find(|p| p["name"] == "Idempotency-Key");
    assert_eq!(key.unwrap()["schema"]["pattern"], "^[!-~]{1,128}$");
    for status in ["400", "401", "403", "404", "413", "415", "422", "429"] {
        assert!(add["responses"].get(status).is_some(), "POST /v1/carts/{{id}}/items: no {status}");
    }
    let guest = &doc["paths"]["/v1/guest/carts"]["post"]["responses"]["401"]["description"];
    assert!(guest.as_str().unwrap().contains("unknown_tenant"), "{guest}");
    // A no_offer answer (409) is listed where a line is added.
    let offerless = &doc["paths"]["/v1/carts/{id}/items"]["post"]["responses"]["409"];
    assert!(offerless["description"].as_str().unwrap().contains("no_offer"), "{offerless}");

    // What the document promises, the server keeps: a checkout body built to its schema is
    // read (the cart does not exist: 404, not a 422 about the body's shape).
    let body = json!({
        "cart_id": "c-0000",
        "ship_to": { "name": "A", "line1": "B", "city": "C", "postal_code": "1", "country": "DE" },
        "payment": { "card": "tok_visa", "billing_country": "DE" },
    });
    let reply = m
        .client()
        .try_call(
            Method::POST,
            "/v1/checkouts",
            crate::support::CUSTOMER,
            &[("idempotency-key", "contract-1")],
            Body::Json(body),
        )
        .await
        .unwrap();
    assert_problem_of("a checkout shaped by the document", &reply, 404, "cart_not_found");
}

/// Who runs which operations: each role the routes that are its own (every phase, stateful
/// included), and the support role, which has none, a quick pass over every route (what a
/// principal of another role is answered).
const RUNS: [(&str, &[&str]); 4] = [
    (
        "customer-1",
        &["--include-path-regex", "^/v1/(carts|orders|checkouts|products|search|guest)"],
    ),
    ("seller-1", &["--include-path-regex", "^/v1/seller/"]),
    ("operator-1", &["--include-path-regex", "^/admin/"]),
    ("support-1", &["--phases", "fuzzing", "--max-examples", "2"]),
];

/// Runs schemathesis against a real server with the token of each role. Bounded (a fixed
/// seed and number of examples) so that it stays under two minutes on two cores.
#[test]
fn schemathesis_finds_the_server_true_to_its_document() {
    let available = Command::new("schemathesis").arg("--version").output();
    if !available.is_ok_and(|output| output.status.success()) {
        assert!(
            std::env::var_os("CI").is_none(),
            "schemathesis is not installed, and CI is set: .ci/run installs it (pip install)"
        );
        // Straight to the process's stderr: the test harness captures `eprintln!` of a test
        // that passes, and a skip must be seen.
        let notice = concat!(
            "\n\n!!!!!!!! SKIPPED: contract::schemathesis_finds_the_server_true_to_its_document\n",
            "!!!!!!!! schemathesis is not installed: pip install schemathesis==4.32.5 ",
            "(the version .ci/run installs) to run the contract test\n\n",
        );
        let _ = std::io::Write::write_all(&mut std::io::stderr(), notice.as_bytes());
        return;
    }
    // Payment providers, so the operator's reconciliation has reports to read.
    let (primary, backup) = (Psp::start("primary", &[]), Psp::start("backup", &[]));
    let m = Market::open_with(&[], &psp_args(&[&primary, &backup]));
    let tokens = initial_tokens(m.data_dir());
    let spec = m.url("/openapi.json");
    let dir: PathBuf = root().join("tests/e2e/contract");
    let report = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let mut failed = Vec::new();
    for (principal, scope) in RUNS {
        // Run where nothing is kept: schemathesis and hypothesis write their files there.
        let output = Command::new("schemathesis")
            .current_dir(report.path())
            .env("SCHEMATHESIS_HOOKS", dir.join("hooks.py"))
            .env("BAZAAR_TOKEN", &tokens[principal])
            .env("NO_COLOR", "1")
            .arg("--config-file")
            .arg(dir.join("schemathesis.toml"))
            .args(["run", &spec])
            // Every check (schemathesis' default) but one: a 404 right after a POST created a
            // resource is taken for the resource being lost, and here it is about another id
            // the request names (an unknown product added to a cart just created).
            .args(["--exclude-checks", "ensure_resource_availability"])
            .args(["--max-examples", "10", "--seed", "1", "--workers", "1"])
            .args(["--no-shrink", "--max-failures", "100"])
            .args(scope)
            .arg("--report-dir")
            .arg(report.path())
            .output()
            .expect("schemathesis runs");
        if !output.status.success() {
            let stdout = String::from_utf8_lossy(&output.stdout);
            let stderr = String::from_utf8_lossy(&output.stderr);
            failed.push(format!("===== as {principal} =====\n{stdout}\n{stderr}"));
        }
    }
    eprintln!("schemathesis: every role in {:?}", started.elapsed());
    assert!(
        failed.is_empty(),
        "schemathesis found the server off its document:\n{}",
        failed.join("\n")
    );
}
