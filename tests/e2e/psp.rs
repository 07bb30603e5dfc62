//! The payment provider simulator (`bazaar psp`) over real HTTP, and the payments client
//! (`bazaar_services::payments`) against two simulator processes: idempotency, declines, the
//! money rules and their 409s, tombstones, fault knobs, failover, breakers, auth-only.

use std::time::{Duration, Instant};

use crate::support::psp::Psp;
use bazaar_actors::{Currency, Money};
use bazaar_services::payments::{
    AuthorizeRequest, BreakerState, PaymentError, Payments, PaymentsConfig, PaymentsMode,
};
use serde_json::{Value, json};

fn eur(minor: i64) -> Money {
    Money::new(minor, Currency::EUR)
}

fn authorization(key: &str, amount_minor: i64, card: &str) -> Value {
    json!({"key": key, "reference": format!("order-{key}"), "amount_minor": amount_minor,
           "currency": "EUR", "card": card})
}

fn request(key: &str, amount_minor: i64, card: &str) -> AuthorizeRequest {
    AuthorizeRequest {
        key: key.to_string(),
        reference: format!("order-{key}"),
        amount: eur(amount_minor),
        card: card.to_string(),
        prefer: None,
    }
}

/// A client of `providers` in this order, with quick retries for a test.
fn client(providers: &[&Psp], tune: impl FnOnce(&mut PaymentsConfig)) -> Payments {
    let mut config = PaymentsConfig {
        providers: providers.iter().map(|psp| psp.provider()).collect(),
        call_timeout_ms: 1_000,
        attempts_per_provider: 2,
        backoff_base_ms: 1,
        backoff_max_ms: 5,
        breaker_failures: 2,
        breaker_open_ms: 60_000,
        ..PaymentsConfig::default()
    };
    tune(&mut config);
    assert_eq!(config.validate(), Ok(()));
    Payments::new(config)
}

/// Polls `probe` until it is true, failing past two seconds.
async fn eventually(what: &str, mut probe: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(2);
    while !probe().await {
        assert!(Instant::now() < deadline, "{what}: not within 2 s");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn authorize_is_idempotent_even_under_twenty_concurrent_copies() {
    let psp = std::sync::Arc::new(Psp::start("primary", &[]));
    let mut copies = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let psp = psp.clone();
        copies.spawn(async move {
            psp.post("/v1/authorizations", authorization("k1", 1_000, "tok_ok")).await
        });
    }
    let mut ids = Vec::new();
    while let Some(answer) = copies.join_next().await {
        let (status, body) = answer.unwrap();
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["status"], "authorized");
        ids.push(body["id"].as_str().unwrap().to_string());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "one authorization, answered twenty times: {ids:?}");
    let (status, reused) = psp.post("/v1/authorizations", authorization("k1", 999, "tok_ok")).await;
    assert_eq!((status, reused["code"].as_str()), (409, Some("key_reused")));
    let (status, _) = psp.post("/v1/authorizations", authorization("k2", 0, "tok_ok")).await;
    assert_eq!(status, 422);
    let mut bad_currency = authorization("k3", 1, "tok_ok");
    bad_currency["currency"] = json!("EURO");
    assert_eq!(psp.post("/v1/authorizations", bad_currency).await.0, 422);
    let records = psp.authorizations().await;
    assert_eq!(records.len(), 1);
    assert_eq!(
        (records[0]["key"].as_str(), records[0]["id"].as_str()),
        (Some("k1"), Some(&*ids[0]))
    );
    assert_eq!(psp.get("/healthz").await.0, 200);
}

#[tokio::test]
async fn declines_follow_the_card_and_the_rate_and_are_kept() {
    let psp = Psp::start("primary", &[]);
    for (card, reason) in
        [("tok_decline", "card_declined"), ("tok_insufficient", "insufficient_funds")]
    {
        let (status, body) = psp.post("/v1/authorizations", authorization(card, 100, card)).await;
        assert_eq!(status, 200);
        assert_eq!(
            (body["status"].as_str(), body["decline_reason"].as_str()),
            (Some("declined"), Some(reason))
        );
    }
    psp.knobs(json!({"decline_rate": 1.0})).await;
    let (_, body) = psp.post("/v1/authorizations", authorization("rated", 100, "tok_ok")).await;
    assert_eq!(body["status"], "declined");
    psp.knobs(json!({"decline_rate": 0.0})).await;
    let (_, again) = psp.post("/v1/authorizations", authorization("rated", 100, "tok_ok")).await;
    assert_eq!(again, body, "a declined key stays declined");
    let (_, fresh) = psp.post("/v1/authorizations", authorization("fresh", 100, "tok_ok")).await;
    assert_eq!(fresh["status"], "authorized");
    assert_eq!(psp.authorizations().await.len(), 4, "declines are recorded too");
}

#[tokio::test]
async fn captures_voids_and_refunds_keep_the_money_rules() {
    let psp = Psp::start("primary", &[]);
    psp.post("/v1/authorizations", authorization("a", 1_000, "tok_ok")).await;
    let capture = |key: &str, on: &str, amount: i64| json!({"key": key, "authorization_key": on, "amount_minor": amount});
    let (status, first) = psp.post("/v1/captures", capture("c1", "a", 600)).await;
    assert_eq!((status, first["status"].as_str()), (200, Some("captured")));
    assert_eq!(psp.post("/v1/captures", capture("c1", "a", 600)).await, (200, first));
    let refusals = [
        ("/v1/captures", capture("c2", "a", 401), 409, "over_capture"),
        ("/v1/captures", capture("c1", "a", 1), 409, "key_reused"),
        ("/v1/captures", capture("c3", "nope", 1), 404, "authorization_not_found"),
        ("/v1/voids", json!({"authorization_key": "a"}), 409, "authorization_captured"),
        ("/v1/refunds", capture("r1", "a", 601), 409, "over_refund"),
    ];
    for (path, body, status, code) in refusals {
        let (seen, problem) = psp.post(path, body.clone()).await;
        assert_eq!((seen, problem["code"].as_str()), (status, Some(code)), "{path} {body}");
    }
    let (status, refund) = psp.post("/v1/refunds", capture("r1", "a", 600)).await;
    assert_eq!((status, refund["status"].as_str()), (200, Some("refunded")));
    assert_eq!(psp.post("/v1/refunds", capture("r1", "a", 600)).await, (200, refund));
    // Voided and declined authorizations take no capture.
    psp.post("/v1/authorizations", authorization("b", 500, "tok_ok")).await;
    let (status, void) = psp.post("/v1/voids", json!({"authorization_key": "b"})).await;
    assert_eq!((status, void["status"].as_str()), (200, Some("voided")));
    assert_eq!(psp.post("/v1/voids", json!({"authorization_key": "b"})).await.0, 200);
    psp.post("/v1/authorizations", authorization("d", 500, "tok_decline")).await;
    for (on, code) in [("b", "authorization_voided"), ("d", "authorization_declined")] {
        let (status, problem) = psp.post("/v1/captures", capture("c9", on, 1)).await;
        assert_eq!((status, problem["code"].as_str()), (409, Some(code)));
    }
    let records = psp.authorizations().await;
    let a = &records[0];
    assert_eq!(
        (a["captured_minor"].as_i64(), a["refunded_minor"].as_i64()),
        (Some(600), Some(600))
    );
    assert_eq!(records[1]["status"], "voided");
}

#[tokio::test]
async fn a_void_that_overtakes_its_authorization_wins() {
    let psp = Psp::start("primary", &[]);
    let (status, void) = psp.post("/v1/voids", json!({"authorization_key": "slow"})).await;
    assert_eq!((status, void["status"].as_str()), (200, Some("not_found_tombstoned")));
    let (status, late) = psp.post("/v1/authorizations", authorization("slow", 100, "tok_ok")).await;
    assert_eq!((status, late["status"].as_str()), (200, Some("voided")));
    assert!(psp.authorizations().await.is_empty(), "the late authorization created nothing");
}

#[tokio::test]
async fn knobs_change_at_run_time_and_at_start() {
    let psp = Psp::start("primary", &["--decline-rate", "0.25", "--latency-p50-ms", "1"]);
    let (_, knobs) = psp.get("/admin/knobs").await;
    assert_eq!(knobs["decline_rate"], 0.25);
    assert_eq!(
        (knobs["latency_p50_ms"].as_u64(), knobs["latency_p99_ms"].as_u64()),
        (Some(1), Some(1))
    );
    psp.knobs(
        json!({"decline_rate": 0.0, "latency_p50_ms": 0, "latency_p99_ms": 0, "outage": true}),
    )
    .await;
    let (status, problem) = psp.post("/v1/authorizations", authorization("o", 1, "tok_ok")).await;
    assert_eq!((status, problem["code"].as_str()), (503, Some("outage")));
    assert_eq!(psp.get("/healthz").await.0, 200, "health is never failed by knobs");
    let knobs = psp.knobs(json!({"outage": false, "error_rate": 1.0})).await;
    assert_eq!((knobs["outage"].as_bool(), knobs["error_rate"].as_f64()), (Some(false), Some(1.0)));
    let (status, _) = psp.post("/v1/authorizations", authorization("e", 1, "tok_ok")).await;
    assert_eq!(status, 500);
    assert!(psp.authorizations().await.is_empty(), "a 500 did nothing");
    psp.knobs(json!({"error_rate": 0.0, "latency_p50_ms": 150, "latency_p99_ms": 150})).await;
    let started = Instant::now();
    let (status, _) = psp.post("/v1/authorizations", authorization("e", 1, "tok_ok")).await;
    assert_eq!(status, 200, "the retry with the same key succeeds");
    assert!(started.elapsed() >= Duration::from_millis(140), "{:?}", started.elapsed());
    let response = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .put(psp.url("/admin/knobs"))
        .json(&json!({"decline_rate": 2}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 422);
    assert_eq!(
        psp.get("/admin/knobs").await.1["decline_rate"],
        0.0,
        "a bad update changes nothing"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_backup_authorizes_while_the_primary_is_down_and_its_breaker_opens() {
    let primary = Psp::start("primary", &["--outage"]);
    let backup = Psp::start("backup", &[]);
    let payments = client(&[&primary, &backup], |_| {});
    let held = payments.authorize(&request("o1", 1_500, "tok_ok")).await.unwrap();
    assert_eq!((held.psp.as_str(), held.key.as_str(), held.amount), ("backup", "o1", eur(1_500)));
    let status = payments.status();
    assert_eq!(status.providers[0].breaker, BreakerState::Open);
    assert_eq!(status.providers[0].calls, 2);
    assert_eq!(status.providers[1].breaker, BreakerState::Closed);
    let again = payments.authorize(&request("o2", 700, "tok_ok")).await.unwrap();
    assert_eq!(again.psp, "backup");
    assert_eq!(payments.status().providers[0].calls, 2, "an open breaker keeps calls away");
    assert_eq!(backup.authorizations().await.len(), 2);
    assert!(primary.authorizations().await.is_empty());
    // Both down: unavailable, naming both.
    backup.knobs(json!({"outage": true})).await;
    let error = payments.authorize(&request("o3", 700, "tok_ok")).await.unwrap_err();
    let PaymentError::Unavailable { detail } = error else { panic!("{error:?}") };
    assert!(detail.contains("primary") && detail.contains("backup"), "{detail}");
    assert!(payments.capture_deferred(), "every breaker open defers captures");
    assert!(payments.status().auth_only_auto);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_decline_is_final_and_not_failed_over() {
    let primary = Psp::start("primary", &[]);
    let backup = Psp::start("backup", &[]);
    let payments = client(&[&primary, &backup], |_| {});
    let error = payments.authorize(&request("o1", 100, "tok_decline")).await.unwrap_err();
    assert_eq!(error, PaymentError::Declined { reason: "card_declined".into() });
    assert_eq!(primary.authorizations().await.len(), 1);
    assert!(backup.authorizations().await.is_empty());
    let reports = payments.settlement().await.unwrap();
    let names: Vec<&str> = reports.iter().map(|report| report.psp.as_str()).collect();
    assert_eq!(names, ["primary", "backup"]);
    assert_eq!(reports[0].authorizations[0].key, "o1");
    drop(backup);
    let error = payments.settlement().await.unwrap_err();
    let PaymentError::Unavailable { detail } = error else { panic!("{error:?}") };
    assert!(detail.starts_with("backup"), "{detail}");
}

#[tokio::test(flavor = "multi_thread")]
async fn captures_and_refunds_go_where_the_money_is_held_and_voids_go_everywhere() {
    let primary = Psp::start("primary", &[]);
    let backup = Psp::start("backup", &[]);
    let payments = client(&[&primary, &backup], |_| {});
    payments.prefer("backup").unwrap();
    assert_eq!(payments.status().preferred, "backup");
    let held = payments.authorize(&request("o1", 900, "tok_ok")).await.unwrap();
    assert_eq!(held.psp, "backup");
    payments.prefer("primary").unwrap();
    assert!(matches!(payments.prefer("nobody"), Err(PaymentError::Refused { .. })));
    let capture = payments.capture(&held, "o1-capture", eur(900)).await.unwrap();
    assert_eq!((capture.psp.as_str(), capture.amount), ("backup", eur(900)));
    let refund = payments.refund(&held, "o1-refund", eur(400)).await.unwrap();
    assert_eq!(refund.psp, "backup");
    let over = payments.capture(&held, "o1-more", eur(1)).await.unwrap_err();
    assert!(matches!(over, PaymentError::Refused { .. }), "{over:?}");
    let captured = payments.void("o1").await.unwrap_err();
    assert!(matches!(captured, PaymentError::Refused { .. }), "{captured:?}");
    let records = backup.authorizations().await;
    assert_eq!(
        (records[0]["captured_minor"].as_i64(), records[0]["refunded_minor"].as_i64()),
        (Some(900), Some(400))
    );
    assert!(primary.authorizations().await.is_empty());
    // A compensation before any authorization tombstones the key at every provider.
    payments.void("o2").await.unwrap();
    let late = payments.authorize(&request("o2", 100, "tok_ok")).await.unwrap_err();
    assert!(matches!(late, PaymentError::Refused { .. }), "{late:?}");
    assert_eq!(primary.authorizations().await.len() + backup.authorizations().await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_timed_out_authorization_is_voided_where_it_may_have_landed() {
    let primary = Psp::start("primary", &["--latency-p50-ms", "300"]);
    let backup = Psp::start("backup", &[]);
    let payments = client(&[&primary, &backup], |config| {
        config.call_timeout_ms = 100;
        config.attempts_per_provider = 1;
        config.breaker_open_ms = 50;
    });
    let held = payments.authorize(&request("o1", 100, "tok_ok")).await.unwrap();
    assert_eq!(held.psp, "backup");
    // The slow primary authorized after the client gave up; the background void releases it.
    eventually("the primary's late authorization is voided", async || {
        let records = primary.authorizations().await;
        records.len() == 1 && records[0]["status"] == "voided"
    })
    .await;
    assert_eq!(backup.authorizations().await[0]["status"], "authorized");
    // A saga recovering in a new process retries the same authorization: it passes over the
    // voided primary and finds what the backup holds.
    primary.knobs(json!({"latency_p50_ms": 0, "latency_p99_ms": 0})).await;
    let recovered = client(&[&primary, &backup], |_| {});
    let again = recovered.authorize(&request("o1", 100, "tok_ok")).await.unwrap();
    assert_eq!(again, held);
    assert_eq!(recovered.status().providers[0].calls, 1, "the primary was asked first");
    assert_eq!(primary.authorizations().await.len() + backup.authorizations().await.len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn auth_only_is_switched_by_the_operator_or_by_failing_captures() {
    let primary = Psp::start("primary", &[]);
    let payments = client(&[&primary], |config| config.breaker_failures = 100);
    assert!(!payments.capture_deferred());
    payments.set_auth_only(true);
    assert!(payments.capture_deferred());
    let status = payments.status();
    assert_eq!((status.mode, status.auth_only_manual), (PaymentsMode::AuthOnly, true));
    payments.set_auth_only(false);
    assert_eq!(payments.status().mode, PaymentsMode::Normal);
    let held = payments.authorize(&request("o1", 500, "tok_ok")).await.unwrap();
    primary.knobs(json!({"outage": true})).await;
    let error = payments.capture(&held, "o1-capture", eur(500)).await.unwrap_err();
    assert!(matches!(error, PaymentError::Unavailable { .. }), "{error:?}");
    assert!(payments.capture_deferred(), "captures fail at every provider");
    assert!(payments.status().auth_only_auto && !payments.status().auth_only_manual);
    primary.knobs(json!({"outage": false})).await;
    payments.capture(&held, "o1-capture", eur(500)).await.unwrap();
    assert!(!payments.capture_deferred(), "a capture succeeded again");
}

#[tokio::test]
async fn no_provider_is_unavailable_not_a_panic() {
    let payments = Payments::new(PaymentsConfig::default());
    let error = payments.authorize(&request("o1", 100, "tok_ok")).await.unwrap_err();
    assert!(matches!(error, PaymentError::Unavailable { .. }), "{error:?}");
    assert_eq!(payments.void("o1").await, Ok(()));
    assert_eq!(payments.settlement().await, Ok(Vec::new()));
    assert!(!payments.capture_deferred());
}
