//! Checkout sagas across a crash, with real processes and the payment simulators' records as
//! the judge of what happened to the money.
//!
//! 200 concurrent checkouts of one unit each compete for 150 units (two sellers' offers of
//! one product) while both simulators answer with latency (and decline a tenth of the
//! payments), so sagas are in flight; the server is SIGKILLed after the first answers and
//! restarted on the same data directory, with the same simulators. Once every saga has
//! finished:
//! - every checkout answered before the crash ends as answered (a 201 keeps its order);
//! - every completed checkout has its order, and one live authorization for its total,
//!   captured in full; no provider holds money for anything else;
//! - every failed checkout is compensated: no order, no hold, its authorization voided;
//! - no unit is sold twice: on hand is the stock minus the units sold, nothing held;
//! - the ledger balances and reconciles with the providers.
//!
//! And a crash in the middle of a failover (the backup authorizing after the primary failed,
//! then the primary back when the saga resumes) leaves one live authorization, not two.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::support::checkout::{
    Listing, SETTLES, Shopper, assert_trial_balance_zero, authorizations, balance, balance_of_kind,
    customer_tokens, minor, psp_args,
};
use crate::support::psp::Psp;
use crate::support::{Auth, Body, Market, OPERATOR, Reply, SELLER_1, SELLER_2, eventually_within};
use reqwest::Method;
use serde_json::{Value, json};

const ASIN: &str = "B0000CRASH";
/// The two offers of the product: seller, SKU and units on hand.
const OFFERS: [(&str, &str, u32); 2] = [("seller-1", "s1-hot", 80), ("seller-2", "s2-hot", 70)];
const CUSTOMERS: u32 = 70;
/// Checkouts of one unit each, alternating between the offers; at most 3 per customer, so
/// fraud velocity never refuses one.
const CHECKOUTS: usize = 200;
/// Answers to wait for before the kill.
const ANSWERS_BEFORE_CRASH: usize = 40;
/// Simulator flags: latency, so that sagas are in flight at the kill, and a tenth of the
/// authorization keys declined (chosen by a hash of the key, so the same in every run), so
/// that some sagas fail after holding stock and calling a provider.
const PSP_FLAGS: [&str; 6] =
    ["--latency-p50-ms", "20", "--latency-p99-ms", "60", "--decline-rate", "0.1"];

/// How long the backup takes to answer in the failover test: long enough for a kill while
/// it authorizes, shorter than the client's `call_timeout_ms` (2 s in cluster.toml).
const BACKUP_LATENCY: Duration = Duration::from_millis(1_500);

/// Checkout `i`: its customer, the seller it buys from, its key.
fn plan(i: usize) -> (Shopper, usize, String) {
    (Shopper::new(i as u32 % CUSTOMERS), i % OFFERS.len(), format!("crash-{i}"))
}

fn seller_auth(offer: usize) -> Auth<'static> {
    [SELLER_1, SELLER_2][offer]
}

/// What the POST of a checkout got before the crash: an answer, or none.
fn describe(answer: &Result<Reply, String>) -> String {
    match answer {
        Ok(reply) => format!("{} {}", reply.status, reply.text),
        Err(error) => format!("no answer ({error})"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_two_hundred_checkouts_loses_no_order_no_unit_and_no_money() {
    let primary = Psp::start("primary", &PSP_FLAGS);
    let backup = Psp::start("backup", &PSP_FLAGS);
    let psps = [&primary, &backup];
    let shoppers: Vec<Shopper> = (0..CUSTOMERS).map(Shopper::new).collect();
    let mut principals = customer_tokens(&shoppers);
    principals.push(("seller", "seller-2"));
    let mut m = Market::open_with(&principals, &psp_args(&psps));
    m.register(SELLER_1, "First").await;
    m.register(SELLER_2, "Second").await;
    for (offer, (seller, sku, stock)) in OFFERS.into_iter().enumerate() {
        let listing = Listing {
            seller: seller_auth(offer),
            seller_id: seller,
            asin: ASIN,
            sku,
            price: 1500,
            shipping: 300,
            tax_class: "standard",
            stock,
            create: offer == 0,
        };
        m.list(&listing).await;
    }

    // Carts first, then every checkout at once.
    let client = m.client();
    let mut carts = tokio::task::JoinSet::new();
    for i in 0..CHECKOUTS {
        let client = client.clone();
        carts.spawn(async move {
            let (shopper, offer, _) = plan(i);
            (i, client.cart_of_one(&shopper.id, ASIN, OFFERS[offer].0).await)
        });
    }
    let mut cart_of = BTreeMap::new();
    while let Some(joined) = carts.join_next().await {
        let (i, cart) = joined.unwrap();
        cart_of.insert(i, cart);
    }
    let (answered, mut answers) = tokio::sync::mpsc::unbounded_channel();
    for (&i, cart) in &cart_of {
        let (client, answered) = (client.clone(), answered.clone());
        let (shopper, _, key) = plan(i);
        let body = shopper.body(cart);
        tokio::spawn(async move {
            let headers = [("idempotency-key", key.as_str())];
            let who = Auth::As(&shopper.id);
            let sent =
                client.try_call(Method::POST, "/v1/checkouts", who, &headers, Body::Json(body));
            let _ = answered.send((i, sent.await));
        });
    }
    drop(answered);
    let mut before: BTreeMap<usize, Result<Reply, String>> = BTreeMap::new();
    while before.len() < ANSWERS_BEFORE_CRASH {
        let (i, answer) = answers.recv().await.expect("checkouts in flight");
        before.insert(i, answer);
    }
    tokio::task::block_in_place(|| m.crash_and_restart());
    while let Some((i, answer)) = answers.recv().await {
        before.insert(i, answer);
    }
    assert_eq!(before.len(), CHECKOUTS);
    let unanswered = before.values().filter(|answer| answer.is_err()).count();
    assert!(unanswered > 0, "the kill came after every checkout was answered: no saga in flight");
    for (i, answer) in &before {
        if let Ok(reply) = answer {
            let code = reply.json["code"].as_str();
            let expected = matches!(reply.status, 201 | 202)
                || (reply.status, code) == (409, Some("out_of_stock"))
                || (reply.status, code) == (402, Some("payment_declined"));
            assert!(expected, "checkout {i} before the crash: {}", describe(answer));
        }
    }

    // The start resumes every saga the crash interrupted, before any client reads one (a
    // read would drive it too): the units they held are all sold or given back. With the
    // providers' latency, sagas were holding units at the kill.
    for (offer, (seller, sku, _)) in OFFERS.into_iter().enumerate() {
        eventually_within(SETTLES, "the start resumes every interrupted saga", async || {
            let (_, held, _) = m.stock_level(seller_auth(offer), sku).await;
            if held == 0 { Ok(()) } else { Err(format!("{seller}'s {sku}: {held} units held")) }
        })
        .await;
    }

    // Every saga finishes after the restart; a key whose request never began is unknown.
    let mut completed: BTreeMap<usize, Value> = BTreeMap::new();
    let mut failed: BTreeMap<usize, Value> = BTreeMap::new();
    for i in 0..CHECKOUTS {
        let (shopper, _, key) = plan(i);
        let answer = &before[&i];
        let found = m.checkout_status(shopper.auth(), &key).await;
        if found.status == 404 {
            assert!(answer.is_err(), "checkout {i} answered, then lost: {}", describe(answer));
            continue;
        }
        let view = m.checkout_settles(shopper.auth(), &key, SETTLES).await;
        if let Ok(reply) = answer {
            match reply.status {
                201 => assert_eq!(&view, &reply.json, "checkout {i} changed after its 201"),
                402 | 409 => assert_eq!(
                    (&view["status"], &view["failure"]["code"]),
                    (&json!("failed"), &reply.json["code"]),
                    "checkout {i} after its {}: {view}",
                    reply.status
                ),
                _ => {}
            }
        }
        match view["status"].as_str() {
            Some("completed") => completed.insert(i, view),
            _ => failed.insert(i, view),
        };
    }
    // The only reasons to fail: no stock left (caught when the hold is refused, or earlier,
    // when pricing already sees no unit left), or a declined payment.
    for (i, view) in &failed {
        let failure = (view["failure"]["step"].as_str(), view["failure"]["code"].as_str());
        assert!(
            matches!(
                failure,
                (Some("reserve" | "price"), Some("out_of_stock"))
                    | (Some("authorize"), Some("payment_declined"))
            ),
            "checkout {i} failed for another reason than stock: {view}"
        );
    }

    // Each completed checkout has its order, for one unit of its seller's offer.
    let mut sold = [0_u64; 2];
    let mut orders_of: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (i, view) in &completed {
        let (shopper, offer, _) = plan(*i);
        let order_id = view["order_id"].as_str().unwrap();
        let order = m.order(shopper.auth(), order_id).await;
        assert_eq!((&order["status"], &order["total"]), (&json!("placed"), &view["total"]));
        let lines = order["lines"].as_array().unwrap();
        assert_eq!(lines.len(), 1, "{order}");
        assert_eq!(
            (&lines[0]["seller"], &lines[0]["quantity"]),
            (&json!(OFFERS[offer].0), &json!(1))
        );
        sold[offer] += 1;
        orders_of.entry(shopper.id.clone()).or_default().push(order_id.to_string());
    }
    for shopper in &shoppers {
        let ids: Vec<&str> = orders_of
            .get(&shopper.id)
            .map(|ids| ids.iter().map(String::as_str).collect())
            .unwrap_or_default();
        m.orders_are(shopper.auth(), &ids).await;
    }
    for (i, view) in &failed {
        let (shopper, _, _) = plan(*i);
        let path = format!("/v1/orders/{}", view["order_id"].as_str().unwrap());
        let reply = m.get(shopper.auth(), &path).await;
        let cancelled = reply.status == 200 && reply.json["status"] == "cancelled";
        assert!(reply.status == 404 || cancelled, "failed checkout {i}'s order: {}", reply.text);
    }

    // No unit sold twice, none held by a finished saga.
    for (offer, (seller, sku, stock)) in OFFERS.into_iter().enumerate() {
        let stock = u64::from(stock);
        assert!(sold[offer] <= stock, "{seller} sold {} of {stock}", sold[offer]);
        let left = stock - sold[offer];
        let level = m.stock_level(seller_auth(offer), sku).await;
        assert_eq!(level, (left, 0, left), "{seller}'s {sku} after selling {}", sold[offer]);
    }

    // The providers: one live authorization per order, captured in full; nothing else held
    // (a failed checkout's authorization is declined or voided). Captures and voids may be
    // left to the payment job, so this is polled until it holds.
    let totals: BTreeMap<String, i64> = completed
        .values()
        .map(|view| (view["order_id"].as_str().unwrap().to_string(), minor(&view["total"])))
        .collect();
    let declined: BTreeSet<&str> = failed
        .values()
        .filter(|view| view["failure"]["code"] == "payment_declined")
        .map(|view| view["order_id"].as_str().unwrap())
        .collect();
    eventually_within(SETTLES, "every order captured once, nothing else held", async || {
        let records = authorizations(&psps).await;
        let mut live: BTreeMap<&str, Vec<&Value>> = BTreeMap::new();
        for (psp, record) in &records {
            let key = record["key"].as_str().unwrap();
            match record["status"].as_str() {
                Some("voided") => {}
                Some("declined") if declined.contains(key) => {}
                Some("authorized") if totals.contains_key(key) => {
                    live.entry(key).or_default().push(record)
                }
                _ => return Err(format!("{psp} holds {record}, which is no completed checkout's")),
            }
        }
        for (order_id, total) in &totals {
            match live.get(order_id.as_str()).map(Vec::as_slice) {
                Some([record]) if record["amount_minor"] == *total => {
                    if record["captured_minor"] != *total {
                        return Err(format!("{order_id} not captured yet: {record}"));
                    }
                }
                other => {
                    return Err(format!("{order_id} (total {total}) is authorized as {other:?}"));
                }
            }
        }
        Ok(())
    })
    .await;

    // The ledger balances and agrees with the providers.
    let captured: i64 = totals.values().sum();
    let ledger = eventually_within(SETTLES, "every capture in the ledger", async || {
        let ledger = m.ledger().await;
        let clearing =
            balance(&ledger, "psp_clearing:primary") + balance(&ledger, "psp_clearing:backup");
        if clearing == captured {
            Ok(ledger)
        } else {
            Err(format!("{clearing} of {captured}: {ledger}"))
        }
    })
    .await;
    assert_trial_balance_zero(&ledger);
    for shopper in &shoppers {
        assert_eq!(balance(&ledger, &format!("customer:{}", shopper.id)), 0, "{ledger}");
    }
    assert_eq!(balance_of_kind(&ledger, "customer:"), 0, "{ledger}");
    assert_eq!(balance(&ledger, "refunds"), 0, "{ledger}");
    m.reconciled().await;
    eprintln!(
        "crash test: {} completed ({} + {} units), {} failed ({} declined), {} unknown keys, \
         {unanswered} unanswered at the kill",
        completed.len(),
        sold[0],
        sold[1],
        failed.len(),
        declined.len(),
        CHECKOUTS - completed.len() - failed.len(),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_while_failing_over_leaves_one_live_authorization() {
    // The primary is down; the backup takes 1.5 s to answer, so the kill can come while it
    // is authorizing (it finishes what it was sent, as a real provider would).
    let primary = Psp::start("primary", &["--outage"]);
    let latency = BACKUP_LATENCY.as_millis().to_string();
    let backup =
        Psp::start("backup", &["--latency-p50-ms", &latency, "--latency-p99-ms", &latency]);
    let psps = [&primary, &backup];
    let shopper = Shopper::new(1);
    let mut m =
        Market::open_with(&customer_tokens(std::slice::from_ref(&shopper)), &psp_args(&psps));
    m.register(SELLER_1, "First").await;
    let (asin, sku) = ("B0FAILOVER", "sku-failover");
    let listing = Listing {
        seller: SELLER_1,
        seller_id: "seller-1",
        asin,
        sku,
        price: 1000,
        shipping: 0,
        tax_class: "standard",
        stock: 5,
        create: true,
    };
    m.list(&listing).await;
    let cart = m.cart_with(shopper.auth(), &[(asin, "seller-1", 1)]).await;
    let (client, body, id) = (m.client(), shopper.body(&cart), shopper.id.clone());
    let checkout = tokio::spawn(async move {
        let headers = [("idempotency-key", "failover-1")];
        let who = Auth::As(&id);
        client.try_call(Method::POST, "/v1/checkouts", who, &headers, Body::Json(body)).await
    });
    // Every attempt at the primary has failed: the request to the backup leaves at once.
    let attempts = 3; // `attempts_per_provider` in cluster.toml
    eventually_within(SETTLES, "the primary's attempts fail", async || {
        let status = m.psp_status().await;
        let failures = status["providers"][0]["failures"].as_u64().unwrap_or(0);
        if failures >= attempts { Ok(()) } else { Err(status.to_string()) }
    })
    .await;
    // Well inside the backup's 1.5 s: it has the request and has not answered.
    tokio::time::sleep(Duration::from_millis(400)).await;
    primary.knobs(json!({"outage": false})).await;
    let killed = tokio::time::Instant::now();
    tokio::task::block_in_place(|| m.crash_and_restart());
    let answer = checkout.await.unwrap();
    assert!(answer.is_err(), "answered before the kill: {}", describe(&answer));

    let view = m.checkout_settles(shopper.auth(), "failover-1", SETTLES).await;
    assert_eq!(view["status"], "completed", "{view}");
    let order_id = view["order_id"].as_str().unwrap().to_string();
    let total = minor(&view["total"]);
    m.order_captured(shopper.auth(), &order_id).await;
    // The backup's authorization sent before the kill lands 1.5 s after it was sent: judge
    // only once it has (a precondition of the judgement, not an assertion on time).
    tokio::time::sleep_until(killed + BACKUP_LATENCY + Duration::from_secs(1)).await;
    eventually_within(SETTLES, "one live authorization for the order", async || {
        let records = authorizations(&psps).await;
        let live: Vec<_> = records
            .iter()
            .filter(|(_, r)| r["key"] == order_id.as_str() && r["status"] != "voided")
            .collect();
        match live.as_slice() {
            [(_, record)] if record["captured_minor"] == total => Ok(()),
            _ => Err(format!("live at the providers: {live:?}")),
        }
    })
    .await;
    let reconciliation = m.read(OPERATOR, "/admin/reconciliation").await;
    assert_eq!(reconciliation["mismatches"], json!([]), "{reconciliation}");
}
