//! The checkout bench's load: the shoppers' closed loop (a cart, a line, a checkout) and what
//! they saw, the progress printed every few seconds, and direct calls to the primary
//! simulator that give the provider's own latency under the same machine load.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::{Context, ensure};
use hdrhistogram::Histogram;
use hyper::body::Bytes;
use hyper::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::readings::machine_jiffies;
use crate::support::http::{Connection, Reply};
use crate::support::node::process_cpu;
use crate::{FAILURES_SHOWN, PRICE_MINOR, PROGRESS_EVERY, asin, support};

/// The measured part of the load: answers that arrive from `from` to `until`.
#[derive(Clone, Copy)]
pub struct Window {
    pub from: Instant,
    pub until: Instant,
}

impl Window {
    fn holds(&self, at: Instant) -> bool {
        self.from <= at && at <= self.until
    }
}

/// What the clients saw.
pub struct Shopped {
    /// Microseconds per checkout request, 201 and 202 answers in the window.
    pub checkout: Histogram<u64>,
    pub cart_create: Histogram<u64>,
    pub cart_add: Histogram<u64>,
    /// 201s in the window.
    pub completed: u64,
    /// 201s over the whole load.
    pub answered_201: u64,
    /// 201s whose fraud decision is `review`, over the whole load.
    pub reviewed: u64,
    /// 202s in the window.
    pub slow: u64,
    /// Checkouts answered neither 201 nor 202, or not answered, over the whole load.
    pub errors: u64,
    /// Carts not made or not filled, over the whole load.
    pub cart_errors: u64,
    /// The first failed exchanges, in full.
    pub failures: Vec<String>,
}

impl Default for Shopped {
    fn default() -> Shopped {
        Shopped {
            checkout: support::histogram(),
            cart_create: support::histogram(),
            cart_add: support::histogram(),
            completed: 0,
            answered_201: 0,
            reviewed: 0,
            slow: 0,
            errors: 0,
            cart_errors: 0,
            failures: Vec::new(),
        }
    }
}

impl Shopped {
    pub fn add(&mut self, other: Shopped) -> anyhow::Result<()> {
        self.checkout.add(other.checkout)?;
        self.cart_create.add(other.cart_create)?;
        self.cart_add.add(other.cart_add)?;
        self.completed += other.completed;
        self.answered_201 += other.answered_201;
        self.reviewed += other.reviewed;
        self.slow += other.slow;
        self.errors += other.errors;
        self.cart_errors += other.cart_errors;
        let room = FAILURES_SHOWN.saturating_sub(self.failures.len());
        self.failures.extend(other.failures.into_iter().take(room));
        Ok(())
    }

    fn failed(&mut self, what: String) {
        if self.failures.len() < FAILURES_SHOWN {
            self.failures.push(what);
        }
    }
}

/// The fields of a created cart the load reads.
#[derive(Deserialize)]
struct CreatedCart {
    id: String,
}

/// The fields of an answered checkout the load reads.
#[derive(Deserialize)]
struct AnsweredCheckout {
    fraud: Option<String>,
}

/// One customer in a closed loop from `start` until the window ends: a cart, a line, a
/// checkout. What does not change between rounds is encoded to JSON once: the client shares
/// the two cores with the node.
pub async fn shopper(
    n: usize,
    mut http: Connection,
    token: String,
    completions: Arc<AtomicU64>,
    start: Instant,
    window: Window,
) -> anyhow::Result<Shopped> {
    let mut seen = Shopped::default();
    let item = Bytes::from(json!({ "asin": asin(n), "quantity": 1 }).to_string());
    let new_cart = Bytes::from(json!({ "currency": "EUR" }).to_string());
    let address = json!({
        "name": format!("Customer {n}"),
        "line1": format!("Hauptstrasse {}", n + 1),
        "city": "Berlin",
        "postal_code": format!("{:05}", 10_000 + n),
        "country": "DE",
    });
    let payment = json!({ "card": format!("tok_visa_{n}"), "billing_country": "DE" });
    // The checkout's body after its cart id: `{"cart_id":ID` + this.
    let checkout_tail = format!(r#","ship_to":{address},"payment":{payment}}}"#);
    tokio::time::sleep_until(start.into()).await;
    let mut iteration = 0u64;
    while Instant::now() < window.until {
        iteration += 1;
        let began = Instant::now();
        let cart =
            http.call_encoded(Method::POST, "/v1/carts", Some(&token), &[], new_cart.clone()).await;
        let cart_id = match &cart {
            Ok(reply) if reply.status == StatusCode::CREATED => {
                serde_json::from_slice::<CreatedCart>(&reply.body).ok().map(|cart| cart.id)
            }
            _ => None,
        };
        let Some(cart_id) = cart_id else {
            seen.cart_errors += 1;
            seen.failed(exchange_text("POST /v1/carts", &new_cart, &cart));
            http.recover(&cart).await;
            continue;
        };
        record_in(&mut seen.cart_create, window, began);
        let began = Instant::now();
        let path = format!("/v1/carts/{cart_id}/items");
        let added = http.call_encoded(Method::POST, &path, Some(&token), &[], item.clone()).await;
        if !matches!(&added, Ok(reply) if reply.status == StatusCode::OK) {
            seen.cart_errors += 1;
            seen.failed(exchange_text(&format!("POST {path}"), &item, &added));
            http.recover(&added).await;
            continue;
        }
        record_in(&mut seen.cart_add, window, began);

        let key = format!("bench-{n}-{iteration}");
        let body = Bytes::from(format!(
            r#"{{"cart_id":{}{checkout_tail}"#,
            serde_json::to_string(&cart_id)?
        ));
        let headers = [("idempotency-key", key.as_str())];
        let began = Instant::now();
        let answer = http
            .call_encoded(Method::POST, "/v1/checkouts", Some(&token), &headers, body.clone())
            .await;
        let answered = Instant::now();
        let micros = (answered - began).as_micros() as u64;
        match &answer {
            Ok(reply) if reply.status == StatusCode::CREATED => {
                seen.answered_201 += 1;
                completions.fetch_add(1, Ordering::Relaxed);
                let view = serde_json::from_slice::<AnsweredCheckout>(&reply.body);
                if view.is_ok_and(|view| view.fraud.as_deref() == Some("review")) {
                    seen.reviewed += 1;
                }
                if window.holds(answered) {
                    seen.completed += 1;
                    seen.checkout.saturating_record(micros);
                }
            }
            Ok(reply) if reply.status == StatusCode::ACCEPTED => {
                if window.holds(answered) {
                    seen.slow += 1;
                    seen.checkout.saturating_record(micros);
                }
            }
            _ => {
                seen.errors += 1;
                let what = format!("POST /v1/checkouts (Idempotency-Key: {key})");
                seen.failed(exchange_text(&what, &body, &answer));
                http.recover(&answer).await;
            }
        }
    }
    Ok(seen)
}

/// Prints, every [`PROGRESS_EVERY`] of the load, its checkouts a second, the node's CPU per
/// checkout and how busy the machine was: whether the node slows down as its state grows, or
/// the machine's other load moved.
pub async fn progress(
    node: u32,
    answered: Arc<AtomicU64>,
    start: Instant,
    window: Window,
) -> anyhow::Result<()> {
    let mut at = start;
    let mut last = (0, process_cpu(node)?, machine_jiffies()?);
    while at < window.until {
        at = (at + PROGRESS_EVERY).min(window.until);
        tokio::time::sleep_until(at.into()).await;
        let now = (answered.load(Ordering::Relaxed), process_cpu(node)?, machine_jiffies()?);
        let done = (now.0 - last.0).max(1) as f64;
        let (busy, all) = (now.2.0 - last.2.0, now.2.1 - last.2.1);
        eprintln!(
            "  {:>5.1} s: {:>6.0} checkouts/s, node {:.2} ms CPU per checkout, machine {:.2} busy",
            (at - start).as_secs_f64(),
            done / PROGRESS_EVERY.as_secs_f64(),
            (now.1 - last.1).as_secs_f64() * 1000.0 / done,
            busy as f64 / all.max(1) as f64
        );
        last = now;
    }
    Ok(())
}

fn record_in(histogram: &mut Histogram<u64>, window: Window, began: Instant) {
    let now = Instant::now();
    if window.holds(now) {
        histogram.saturating_record((now - began).as_micros() as u64);
    }
}

fn exchange_text(request: &str, body: &[u8], answer: &anyhow::Result<Reply>) -> String {
    let answer = match answer {
        Ok(reply) => format!("{} {}", reply.status, String::from_utf8_lossy(&reply.body)),
        Err(error) => format!("no answer: {error:#}"),
    };
    format!("{request} {}\n    -> {answer}", String::from_utf8_lossy(body))
}

pub fn print_failures(failures: &[String]) {
    if failures.is_empty() {
        return;
    }
    eprintln!("  the first failed exchanges:");
    for failure in failures {
        eprintln!("    {failure}");
    }
}

// ---------------------------------------------------------------------------------------------
// The provider's own latency

fn authorize_body(key: &str) -> Value {
    json!({
        "key": key,
        "reference": key,
        "amount_minor": PRICE_MINOR,
        "currency": "EUR",
        "card": "tok_visa_probe",
    })
}

/// `count` direct authorizations, one at a time, before the load.
pub async fn probe_idle(psp: SocketAddr, count: usize) -> anyhow::Result<Histogram<u64>> {
    let mut http = Connection::open(psp).await?;
    let mut latency = support::histogram();
    for n in 0..count {
        let body = authorize_body(&format!("probe-idle-{n}"));
        let began = Instant::now();
        http.expect(StatusCode::OK, Method::POST, "/v1/authorizations", None, &[], &body).await?;
        latency.saturating_record(began.elapsed().as_micros() as u64);
    }
    Ok(latency)
}

/// Direct authorizations, one at a time, whose answers arrive in the window.
pub async fn probe_during(psp: SocketAddr, window: Window) -> anyhow::Result<Histogram<u64>> {
    let mut http = Connection::open(psp).await?;
    let mut latency = support::histogram();
    let mut n = 0u64;
    while Instant::now() < window.until {
        n += 1;
        let body = authorize_body(&format!("probe-load-{n}"));
        let began = Instant::now();
        http.expect(StatusCode::OK, Method::POST, "/v1/authorizations", None, &[], &body).await?;
        record_in(&mut latency, window, began);
    }
    Ok(latency)
}

/// Authorizations a simulator recorded, the probe's aside.
pub async fn authorizations(psp: SocketAddr) -> anyhow::Result<u64> {
    let mut http = Connection::open(psp).await?;
    let reply = http.call(Method::GET, "/v1/settlement", None, &[], None).await?;
    ensure!(reply.status == StatusCode::OK, "GET /v1/settlement: {}", reply.status);
    let report: Value = serde_json::from_slice(&reply.body)?;
    let records = report["authorizations"].as_array().context("settlement authorizations")?;
    let probe = |record: &Value| record["key"].as_str().is_some_and(|k| k.starts_with("probe-"));
    Ok(records.iter().filter(|record| !probe(record)).count() as u64)
}
