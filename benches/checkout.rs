//! Checkouts end to end over HTTP, against real processes: `cargo bench --bench checkout
//! [-- --quick]`.
//!
//! The bench starts two payment provider simulators (`bazaar psp`, `primary` and `backup`, each
//! adding 20 ms to every money call: `--latency-p50-ms 20 --latency-p99-ms 20`) and a node
//! (`bazaar serve`) wired to them with `--psp`. The node's configuration is the repository's
//! `cluster.toml` with one change: the fraud velocity maxima of `[checkout.fraud]` are set to
//! 10^9, since every customer here checks out hundreds of times an hour with one card and one
//! address. Its journal lives under the target directory (a real disk). The first start writes
//! the initial tokens; the bench stops it (SIGTERM), mints a token for each of [`CLIENTS`]
//! customers and the other sellers with `bazaar token add`, and starts it again.
//!
//! Setup over HTTP: [`SELLERS`] sellers list [`CLIENTS`] products between them (one SKU each,
//! stocked with 10^6 units at one location), and the bench waits until every product shows a
//! buy box with stock.
//!
//! The load: [`CLIENTS`] clients, each a customer with a product, a card (`tok_visa_N`) and an
//! address of its own, on its own HTTP/1.1 keep-alive connection, in a closed loop: `POST
//! /v1/carts`, `POST /v1/carts/{id}/items` (1 unit), then the measured request, `POST
//! /v1/checkouts` with a new `Idempotency-Key`. Warm-up first (quick 5 s, full 10 s), then the
//! measured window (quick 20 s, full 60 s). A checkout counts if its answer arrives inside the
//! window:
//! - `checkout_per_s`: checkouts answered 201 in the window, per second.
//! - `checkout_p50_ms`, `checkout_p99_ms`: latency of the checkout request alone, 201 and 202
//!   answers (a 202 is a saga still running after the gateway's 2 s wait).
//! - `checkout_slow_count` (202s), `checkout_errors_count` (any other answer, or no answer; over
//!   the warm-up too), `checkout_review_count` (201s whose fraud decision is `review`).
//! - `psp_authorize_p50_ms`, `psp_authorize_p99_ms`: one more client calls the primary
//!   simulator's `POST /v1/authorizations` directly, one call at a time, during the window: the
//!   provider's own latency under the same machine load. `psp_authorize_idle_*` is the same
//!   before the load starts.
//! - `checkout_overhead_p99_ms` = `checkout_p99_ms` − `psp_authorize_p99_ms`. Goal: <= 30 ms.
//!   The seed's own SLO is a checkout p99 of 400 ms.
//! - `cart_create_p99_ms`, `cart_add_p99_ms`, `cart_errors_count`: the two unmeasured requests
//!   of each round.
//! - CPU per checkout (`/proc/PID/stat`) of the node, of this process (the clients), and of
//!   both simulators, and the share of the machine's CPU time that was busy
//!   (`machine_cpu_busy_ratio`, `/proc/stat`), all over the window. A checkout's share covers
//!   its whole round: both cart requests too, and the background work it causes.
//! - `psp_authorizations_count`, `psp_backup_authorizations_count`: what the simulators
//!   recorded (the probe's aside), checked against the 201 answers.
//!
//! Every 5 s the bench prints the rate and the node's CPU per checkout. At the end it prints the
//! node's engine asks per checkout by entity kind, with their mean time (from `/metrics` before
//! and after the window), and the journal's events and syncs per checkout: a breakdown of where
//! a checkout's time goes besides the provider.
//!
//! The client is hyper's HTTP/1.1 connection (as in `benches/gateway.rs`), not reqwest: the
//! clients share the two cores with the node, so they should take as little as possible.
//! The node's stderr (`RUST_LOG=warn`) goes to `target/bench/checkout-serve.log`.

#[path = "support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request, StatusCode, header};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use support::Report;

/// Concurrent clients of the load, each a customer with a product of its own.
const CLIENTS: usize = 64;
/// Sellers the products are spread over (`seller-1` has an initial token, the others are
/// minted).
const SELLERS: usize = 8;
/// Latency each simulator adds to every money call, p50 and p99 alike.
const PSP_LATENCY_MS: u64 = 20;
/// Units on hand of every SKU: no run comes near selling them.
const STOCK: u32 = 1_000_000;
const PRICE_MINOR: i64 = 2_499;
const SHIPPING_MINOR: i64 = 499;
/// The fraud velocity maxima of the bench's configuration (checkouts an hour).
const VELOCITY_MAX: i64 = 1_000_000_000;
/// Failed exchanges printed in full, at most.
const FAILURES_SHOWN: usize = 5;
/// Longest the read models may take to show what setup wrote.
const SETTLE_MAX: Duration = Duration::from_secs(60);
/// How often the load's progress is printed.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// The times of one run, quick or full.
struct Sizes {
    warm_up: Duration,
    window: Duration,
    /// Direct calls to the idle simulator before the load.
    idle_probes: usize,
}

fn main() -> anyhow::Result<()> {
    let mut report = Report::new("checkout");
    let sizes = Sizes {
        warm_up: report.size(Duration::from_secs(5), Duration::from_secs(10)),
        window: report.size(Duration::from_secs(20), Duration::from_secs(60)),
        idle_probes: report.size(100, 300),
    };
    let scratch = scratch_dir()?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let outcome = runtime.block_on(run(&mut report, scratch.path(), &sizes));
    runtime.shutdown_timeout(Duration::from_secs(5));
    outcome?;
    report.finish();
    drop(scratch);
    Ok(())
}

async fn run(report: &mut Report, dir: &Path, sizes: &Sizes) -> anyhow::Result<()> {
    let latency = PSP_LATENCY_MS.to_string();
    let psp_args = ["--latency-p50-ms", &latency, "--latency-p99-ms", &latency];
    let primary = Psp::start("primary", &psp_args)?;
    let backup = Psp::start("backup", &psp_args)?;
    let config = write_config(dir)?;
    let data = dir.join("data");
    let serve_args = vec![
        "--psp".to_string(),
        format!("primary={}", primary.base),
        "--psp".to_string(),
        format!("backup={}", backup.base),
    ];
    let log_path = support_dir()?.join("checkout-serve.log");
    let _ = std::fs::remove_file(&log_path);

    // First start: the initial tokens. Then a token per customer and seller, read at the next
    // start.
    let first = Serve::start(&config, &data, &serve_args, &log_path)?;
    first.terminate()?;
    let initial = initial_tokens(&data)?;
    let mut sellers = vec![initial.get("seller-1").context("no initial seller token")?.clone()];
    for n in 2..=SELLERS {
        sellers.push(mint_token(&data, "seller", &format!("seller-{n}"))?);
    }
    let customers = (0..CLIENTS)
        .map(|n| mint_token(&data, "customer", &customer_id(n)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let node = Serve::start(&config, &data, &serve_args, &log_path)?;
    eprintln!(
        "  node {} (pid {}), psps {} and {}",
        node.base,
        node.pid(),
        primary.base,
        backup.base
    );

    let outcome = measure(report, &node, &primary, &backup, &sellers, &customers, sizes).await;
    if outcome.is_err() {
        eprintln!("--- last lines of {} ---\n{}", log_path.display(), log_tail(&log_path, 40));
    }
    let warnings = log_tail(&log_path, usize::MAX).lines().count();
    if warnings > 0 {
        eprintln!(
            "  the node logged {warnings} lines at warn or above ({}); the last ones:\n{}",
            log_path.display(),
            log_tail(&log_path, 10)
        );
    }
    outcome
}

async fn measure(
    report: &mut Report,
    node: &Serve,
    primary: &Psp,
    backup: &Psp,
    sellers: &[String],
    customers: &[String],
    sizes: &Sizes,
) -> anyhow::Result<()> {
    let started = Instant::now();
    list_products(node.address, sellers, &customers[0]).await?;
    eprintln!("  listed {CLIENTS} products in {:.1} s", started.elapsed().as_secs_f64());

    let idle = probe_idle(primary.address, sizes.idle_probes).await?;
    report.record("psp_authorize_idle_p50_ms", support::quantile_ms(&idle, 0.50));
    report.record("psp_authorize_idle_p99_ms", support::quantile_ms(&idle, 0.99));

    let start = Instant::now() + Duration::from_millis(100);
    let window =
        Window { from: start + sizes.warm_up, until: start + sizes.warm_up + sizes.window };
    let mut clients = Vec::with_capacity(CLIENTS);
    let answered = Arc::new(AtomicU64::new(0));
    for (n, token) in customers.iter().enumerate() {
        let connection = Connection::open(node.address).await?;
        let (token, answered) = (token.clone(), answered.clone());
        clients.push(tokio::spawn(shopper(n, connection, token, answered, start, window)));
    }
    let probe = tokio::spawn(probe_during(primary.address, window));
    let progress = tokio::spawn(progress(node.pid(), answered, start, window));

    tokio::time::sleep_until(window.from.into()).await;
    let before = Sample::take(node, primary, backup).await?;
    tokio::time::sleep_until(window.until.into()).await;
    let after = Sample::take(node, primary, backup).await?;

    let mut total = Shopped::default();
    for client in clients {
        total.add(client.await??)?;
    }
    let probed = probe.await??;
    progress.await??;

    let seconds = sizes.window.as_secs_f64();
    let done = total.completed as f64;
    report.record("checkout_per_s", done / seconds);
    report.record("checkout_count", done);
    report.record("checkout_p50_ms", support::quantile_ms(&total.checkout, 0.50));
    report.record("checkout_p99_ms", support::quantile_ms(&total.checkout, 0.99));
    report.record("checkout_max_ms", total.checkout.max() as f64 / 1000.0);
    report.record("checkout_slow_count", total.slow as f64);
    report.record("checkout_errors_count", total.errors as f64);
    report.record("checkout_review_count", total.reviewed as f64);
    report.record("cart_create_p99_ms", support::quantile_ms(&total.cart_create, 0.99));
    report.record("cart_add_p99_ms", support::quantile_ms(&total.cart_add, 0.99));
    report.record("cart_errors_count", total.cart_errors as f64);
    report.record("psp_authorize_p50_ms", support::quantile_ms(&probed, 0.50));
    report.record("psp_authorize_p99_ms", support::quantile_ms(&probed, 0.99));
    let overhead = |q| support::quantile_ms(&total.checkout, q) - support::quantile_ms(&probed, q);
    report.record("checkout_overhead_p50_ms", overhead(0.50));
    report.record("checkout_overhead_p99_ms", overhead(0.99));

    let per_checkout = |cpu: Duration| cpu.as_secs_f64() * 1000.0 / done.max(1.0);
    report.record("server_cpu_per_checkout_ms", per_checkout(after.node_cpu - before.node_cpu));
    report.record("client_cpu_per_checkout_ms", per_checkout(after.own_cpu - before.own_cpu));
    report.record("psp_cpu_per_checkout_ms", per_checkout(after.psp_cpu - before.psp_cpu));
    let (busy, all) = (after.machine.0 - before.machine.0, after.machine.1 - before.machine.1);
    report.record("machine_cpu_busy_ratio", busy as f64 / all.max(1) as f64);
    eprintln!(
        "  load average {} at the window's start, {} at its end",
        before.loadavg, after.loadavg
    );

    print_failures(&total.failures);
    print_breakdown(&before.metrics, &after.metrics, total.completed);

    // Every answered checkout authorized its payment at a provider (the probe's keys aside).
    let authorized =
        authorizations(primary.address).await? + authorizations(backup.address).await?;
    let backup_only = authorizations(backup.address).await?;
    report.record("psp_authorizations_count", authorized as f64);
    report.record("psp_backup_authorizations_count", backup_only as f64);
    if authorized < total.answered_201 {
        eprintln!(
            "  WARNING: {} checkouts answered 201 but the providers hold {authorized} authorizations",
            total.answered_201
        );
    }
    ensure!(total.completed > 0, "no checkout completed in the window");
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Setup

/// Writes the repository's `cluster.toml` with the fraud velocity maxima raised.
fn write_config(dir: &Path) -> anyhow::Result<PathBuf> {
    let source = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("cluster.toml");
    let text = std::fs::read_to_string(&source).context("read cluster.toml")?;
    let mut config: toml::Table = text.parse().context("parse cluster.toml")?;
    let checkout = config
        .entry("checkout")
        .or_insert_with(|| toml::Value::Table(toml::Table::new()))
        .as_table_mut()
        .context("[checkout] is a table")?;
    let fraud = checkout
        .entry("fraud")
        .or_insert_with(|| toml::Value::Table(toml::Table::new()))
        .as_table_mut()
        .context("[checkout.fraud] is a table")?;
    for rule in ["customer_velocity_max", "card_velocity_max", "address_velocity_max"] {
        fraud.insert(rule.to_string(), toml::Value::Integer(VELOCITY_MAX));
    }
    let path = dir.join("cluster.toml");
    std::fs::write(&path, toml::to_string(&config)?).context("write the bench's cluster.toml")?;
    Ok(path)
}

/// Each seller registers and lists its share of the products, then every product must show a
/// buy box with stock.
async fn list_products(node: SocketAddr, sellers: &[String], customer: &str) -> anyhow::Result<()> {
    let mut http = Connection::open(node).await?;
    for (s, token) in sellers.iter().enumerate() {
        let profile = json!({ "name": format!("Bench seller {}", s + 1) });
        http.expect(StatusCode::OK, Method::PUT, "/v1/seller/profile", Some(token), &[], &profile)
            .await?;
    }
    for n in 0..CLIENTS {
        let (token, asin, sku) = (&sellers[n % SELLERS], asin(n), sku(n));
        let document = json!({
            "title": format!("Bench item {n}"),
            "brand": "Benchmark",
            "category_path": ["Home"],
        });
        let product = json!({ "asin": asin, "currency": "EUR", "document": document });
        http.expect(
            StatusCode::CREATED,
            Method::POST,
            "/v1/seller/products",
            Some(token),
            &[],
            &product,
        )
        .await?;
        let offer = json!({
            "sku": sku,
            "price": { "minor": PRICE_MINOR, "currency": "EUR" },
            "shipping": { "minor": SHIPPING_MINOR, "currency": "EUR" },
            "condition": "new",
            "fulfilment": "seller",
            "handling_days": 1,
        });
        let path = format!("/v1/seller/offers/{asin}");
        http.expect(StatusCode::OK, Method::PUT, &path, Some(token), &[], &offer).await?;
        let stock = json!({ "quantity": STOCK, "feed_seq": 1 });
        let path = format!("/v1/seller/inventory/{sku}/FRA1");
        http.expect(StatusCode::OK, Method::PUT, &path, Some(token), &[], &stock).await?;
    }
    let deadline = Instant::now() + SETTLE_MAX;
    for n in 0..CLIENTS {
        let path = format!("/v1/products/{}", asin(n));
        loop {
            let reply = http.call(Method::GET, &path, Some(customer), &[], None).await?;
            let product: Value = serde_json::from_slice(&reply.body).unwrap_or(Value::Null);
            if reply.status == StatusCode::OK && product["buy_box"]["available"].as_u64() > Some(0)
            {
                break;
            }
            ensure!(
                Instant::now() < deadline,
                "GET {path}: no buy box with stock within {SETTLE_MAX:?}: {} {}",
                reply.status,
                String::from_utf8_lossy(&reply.body)
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    Ok(())
}

fn asin(n: usize) -> String {
    format!("BCHK{n:06}")
}

fn sku(n: usize) -> String {
    format!("SKU-CHK-{n}")
}

fn customer_id(n: usize) -> String {
    format!("cust-{}", n + 1)
}

// ---------------------------------------------------------------------------------------------
// The load

/// The measured part of the load: answers that arrive from `from` to `until`.
#[derive(Clone, Copy)]
struct Window {
    from: Instant,
    until: Instant,
}

impl Window {
    fn holds(&self, at: Instant) -> bool {
        self.from <= at && at <= self.until
    }
}

/// What the clients saw.
struct Shopped {
    /// Microseconds per checkout request, 201 and 202 answers in the window.
    checkout: Histogram<u64>,
    cart_create: Histogram<u64>,
    cart_add: Histogram<u64>,
    /// 201s in the window.
    completed: u64,
    /// 201s over the whole load.
    answered_201: u64,
    /// 201s whose fraud decision is `review`, over the whole load.
    reviewed: u64,
    /// 202s in the window.
    slow: u64,
    /// Checkouts answered neither 201 nor 202, or not answered, over the whole load.
    errors: u64,
    /// Carts not made or not filled, over the whole load.
    cart_errors: u64,
    /// The first failed exchanges, in full.
    failures: Vec<String>,
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
    fn add(&mut self, other: Shopped) -> anyhow::Result<()> {
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

/// One customer in a closed loop from `start` until the window ends: a cart, a line, a
/// checkout.
async fn shopper(
    n: usize,
    mut http: Connection,
    token: String,
    completions: Arc<AtomicU64>,
    start: Instant,
    window: Window,
) -> anyhow::Result<Shopped> {
    let mut seen = Shopped::default();
    let item = json!({ "asin": asin(n), "quantity": 1 });
    let new_cart = json!({ "currency": "EUR" });
    let address = json!({
        "name": format!("Customer {n}"),
        "line1": format!("Hauptstrasse {}", n + 1),
        "city": "Berlin",
        "postal_code": format!("{:05}", 10_000 + n),
        "country": "DE",
    });
    let payment = json!({ "card": format!("tok_visa_{n}"), "billing_country": "DE" });
    tokio::time::sleep_until(start.into()).await;
    let mut iteration = 0u64;
    while Instant::now() < window.until {
        iteration += 1;
        let began = Instant::now();
        let cart = http.call(Method::POST, "/v1/carts", Some(&token), &[], Some(&new_cart)).await;
        let cart_id = match &cart {
            Ok(reply) if reply.status == StatusCode::CREATED => {
                let body: Value = serde_json::from_slice(&reply.body).unwrap_or(Value::Null);
                body["id"].as_str().map(str::to_string)
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
        let added = http.call(Method::POST, &path, Some(&token), &[], Some(&item)).await;
        if !matches!(&added, Ok(reply) if reply.status == StatusCode::OK) {
            seen.cart_errors += 1;
            seen.failed(exchange_text(&format!("POST {path}"), &item, &added));
            http.recover(&added).await;
            continue;
        }
        record_in(&mut seen.cart_add, window, began);

        let key = format!("bench-{n}-{iteration}");
        let body = json!({ "cart_id": cart_id, "ship_to": address, "payment": payment });
        let headers = [("idempotency-key", key.as_str())];
        let began = Instant::now();
        let answer =
            http.call(Method::POST, "/v1/checkouts", Some(&token), &headers, Some(&body)).await;
        let answered = Instant::now();
        let micros = (answered - began).as_micros() as u64;
        match &answer {
            Ok(reply) if reply.status == StatusCode::CREATED => {
                seen.answered_201 += 1;
                completions.fetch_add(1, Ordering::Relaxed);
                let view: Value = serde_json::from_slice(&reply.body).unwrap_or(Value::Null);
                if view["fraud"] == "review" {
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
async fn progress(
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

fn exchange_text(request: &str, body: &Value, answer: &anyhow::Result<Reply>) -> String {
    let answer = match answer {
        Ok(reply) => format!("{} {}", reply.status, String::from_utf8_lossy(&reply.body)),
        Err(error) => format!("no answer: {error:#}"),
    };
    format!("{request} {body}\n    -> {answer}")
}

fn print_failures(failures: &[String]) {
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
async fn probe_idle(psp: SocketAddr, count: usize) -> anyhow::Result<Histogram<u64>> {
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
async fn probe_during(psp: SocketAddr, window: Window) -> anyhow::Result<Histogram<u64>> {
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
async fn authorizations(psp: SocketAddr) -> anyhow::Result<u64> {
    let mut http = Connection::open(psp).await?;
    let reply = http.call(Method::GET, "/v1/settlement", None, &[], None).await?;
    ensure!(reply.status == StatusCode::OK, "GET /v1/settlement: {}", reply.status);
    let report: Value = serde_json::from_slice(&reply.body)?;
    let records = report["authorizations"].as_array().context("settlement authorizations")?;
    let probe = |record: &Value| record["key"].as_str().is_some_and(|k| k.starts_with("probe-"));
    Ok(records.iter().filter(|record| !probe(record)).count() as u64)
}

// ---------------------------------------------------------------------------------------------
// Readings at the window's edges

struct Sample {
    node_cpu: Duration,
    own_cpu: Duration,
    psp_cpu: Duration,
    /// Busy and total jiffies of the machine.
    machine: (u64, u64),
    loadavg: String,
    /// The node's `/metrics`, by series (name and labels).
    metrics: BTreeMap<String, f64>,
}

impl Sample {
    async fn take(node: &Serve, primary: &Psp, backup: &Psp) -> anyhow::Result<Sample> {
        let sample = Sample {
            node_cpu: process_cpu(node.pid())?,
            own_cpu: process_cpu(std::process::id())?,
            psp_cpu: process_cpu(primary.pid())? + process_cpu(backup.pid())?,
            machine: machine_jiffies()?,
            loadavg: std::fs::read_to_string("/proc/loadavg")?
                .split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" "),
            metrics: BTreeMap::new(),
        };
        let mut http = Connection::open(node.address).await?;
        let reply = http.call(Method::GET, "/metrics", None, &[], None).await?;
        ensure!(reply.status == StatusCode::OK, "GET /metrics: {}", reply.status);
        let metrics = parse_metrics(&String::from_utf8_lossy(&reply.body));
        Ok(Sample { metrics, ..sample })
    }
}

/// User and system CPU time of process `pid` so far.
fn process_cpu(pid: u32) -> anyhow::Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // After the command's name in parentheses: state is field 3; utime and stime are 14, 15.
    let fields: Vec<&str> =
        stat.rsplit_once(')').context("a stat line")?.1.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>()? + fields[12].parse::<u64>()?;
    let per_s = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Ok(Duration::from_micros(ticks * 1_000_000 / per_s))
}

/// The machine's busy and total CPU jiffies so far (`/proc/stat`, idle and iowait as idle).
fn machine_jiffies() -> anyhow::Result<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat")?;
    let line = stat.lines().next().context("a cpu line")?;
    let values: Vec<u64> = line.split_whitespace().skip(1).filter_map(|v| v.parse().ok()).collect();
    ensure!(values.len() >= 5, "unexpected /proc/stat line {line:?}");
    // user nice system idle iowait irq softirq steal (guest time is inside user).
    let total: u64 = values.iter().take(8).sum();
    Ok((total - values[3] - values[4], total))
}

/// Prometheus text as `series -> value` (comments skipped).
fn parse_metrics(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            Some((series.to_string(), value.parse().ok()?))
        })
        .collect()
}

/// Engine asks per checkout by kind, with their mean and p99 time, and the journal's group
/// commits, over the window.
fn print_breakdown(before: &BTreeMap<String, f64>, after: &BTreeMap<String, f64>, checkouts: u64) {
    let delta =
        |series: &str| after.get(series).unwrap_or(&0.0) - before.get(series).unwrap_or(&0.0);
    let per = checkouts.max(1) as f64;
    eprintln!(
        "  engine asks over the window (from /metrics; p99 over the exporter's recent window):"
    );
    eprintln!("    {:<16} {:>12} {:>10} {:>10}", "kind", "per checkout", "mean ms", "p99 ms");
    for series in after.keys() {
        let Some(labels) = series.strip_prefix("engine_ask_seconds_count") else { continue };
        let count = delta(series);
        if count <= 0.0 {
            continue;
        }
        let sum = delta(&format!("engine_ask_seconds_sum{labels}"));
        let p99_series = format!("engine_ask_seconds{}", with_label(labels, "quantile=\"0.99\""));
        let p99 = after.get(&p99_series).map_or(f64::NAN, |s| s * 1000.0);
        let kind = labels.trim_start_matches("{kind=\"").trim_end_matches("\"}");
        eprintln!(
            "    {kind:<16} {:>12.2} {:>10.2} {:>10.2}",
            count / per,
            sum / count * 1000.0,
            p99
        );
    }
    let flushes = delta("journal_flush_seconds_count");
    if flushes > 0.0 {
        eprintln!(
            "  journal: {:.1} events per checkout; {:.2} syncs per checkout, {:.2} ms each on \
             average; {:.1} events per write batch",
            delta("journal_events_total") / per,
            flushes / per,
            delta("journal_flush_seconds_sum") / flushes * 1000.0,
            delta("journal_batch_events_sum") / delta("journal_batch_events_count").max(1.0)
        );
    }
}

/// `{a="b"}` with `label` added.
fn with_label(labels: &str, label: &str) -> String {
    match labels.strip_suffix('}') {
        Some(open) if open.len() > 1 => format!("{open},{label}}}"),
        _ => format!("{{{label}}}"),
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP

struct Reply {
    status: StatusCode,
    body: Bytes,
}

/// One HTTP/1.1 keep-alive connection, opened again after a failure.
struct Connection {
    address: SocketAddr,
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl Connection {
    async fn open(address: SocketAddr) -> anyhow::Result<Connection> {
        let mut connection = Connection { address, sender: None };
        connection.sender = Some(connection.connect().await?);
        Ok(connection)
    }

    async fn connect(&self) -> anyhow::Result<SendRequest<Full<Bytes>>> {
        let stream = tokio::net::TcpStream::connect(self.address).await?;
        stream.set_nodelay(true)?;
        let (sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        Ok(sender)
    }

    /// Sends a request (JSON body if any) and reads the whole answer.
    async fn call(
        &mut self,
        method: Method,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> anyhow::Result<Reply> {
        let mut builder =
            Request::builder().method(method).uri(path).header(header::HOST, "127.0.0.1");
        if let Some(token) = token {
            builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let body = match body {
            Some(body) => {
                builder = builder.header(header::CONTENT_TYPE, "application/json");
                Bytes::from(serde_json::to_vec(body)?)
            }
            None => Bytes::new(),
        };
        let request = builder.body(Full::new(body))?;
        if self.sender.is_none() {
            self.sender = Some(self.connect().await?);
        }
        let sender = self.sender.as_mut().context("a connection")?;
        let sent = async {
            sender.ready().await?;
            let response = sender.send_request(request).await?;
            let status = response.status();
            let body = response.into_body().collect().await?.to_bytes();
            anyhow::Ok(Reply { status, body })
        };
        let reply = sent.await;
        if reply.is_err() {
            self.sender = None;
        }
        reply
    }

    /// After a failed exchange: a pause when there was no answer at all, so a dead node does
    /// not spin the client.
    async fn recover(&mut self, answer: &anyhow::Result<Reply>) {
        if answer.is_err() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A request (by `token`, if any) that must answer `status`.
    async fn expect(
        &mut self,
        status: StatusCode,
        method: Method,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: &Value,
    ) -> anyhow::Result<Reply> {
        let reply = self.call(method.clone(), path, token, headers, Some(body)).await?;
        ensure!(
            reply.status == status,
            "{method} {path} {body}: {}, not {status}: {}",
            reply.status,
            String::from_utf8_lossy(&reply.body)
        );
        Ok(reply)
    }
}

// ---------------------------------------------------------------------------------------------
// Processes

fn bazaar() -> Command {
    Command::new(env!("CARGO_BIN_EXE_bazaar"))
}

/// A child process, killed and reaped when dropped.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The first line of a child's stdout; the rest is drained in the background so the child
/// never blocks on a full pipe, and `until` returns once a line ends with it.
fn read_lines(stdout: ChildStdout, until: Option<&str>) -> anyhow::Result<String> {
    let mut lines = BufReader::new(stdout).lines();
    let first = lines.next().context("the process printed nothing")??;
    if let Some(until) = until {
        loop {
            let line = lines.next().context("the process stopped before it was ready")??;
            if line.ends_with(until) {
                break;
            }
        }
    }
    std::thread::spawn(move || lines.for_each(drop));
    Ok(first)
}

/// A `bazaar psp` simulator.
struct Psp {
    process: Process,
    base: String,
    address: SocketAddr,
}

impl Psp {
    fn start(name: &str, args: &[&str]) -> anyhow::Result<Psp> {
        let mut child = bazaar()
            .args(["psp", "--listen", "127.0.0.1:0", "--name", name])
            .args(args)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("start bazaar psp")?;
        let stdout = child.stdout.take().context("piped stdout")?;
        let process = Process(child);
        let line = read_lines(stdout, None)?;
        let prefix = format!("bazaar psp {name} listening on ");
        let base = line.strip_prefix(&prefix).with_context(|| format!("psp printed {line:?}"))?;
        let address = base.trim_start_matches("http://").parse()?;
        Ok(Psp { process, base: base.to_string(), address })
    }

    fn pid(&self) -> u32 {
        self.process.0.id()
    }
}

/// A `bazaar serve` node, its stderr appended to a log file.
struct Serve {
    process: Process,
    base: String,
    address: SocketAddr,
}

impl Serve {
    fn start(config: &Path, data: &Path, args: &[String], log: &Path) -> anyhow::Result<Serve> {
        let log = File::options().create(true).append(true).open(log)?;
        let mut child = bazaar()
            .arg("serve")
            .arg("--config")
            .arg(config)
            .arg("--data-dir")
            .arg(data)
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .env("RUST_LOG", "warn")
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .context("start bazaar serve")?;
        let stdout = child.stdout.take().context("piped stdout")?;
        let process = Process(child);
        let line = read_lines(stdout, Some(" ready"))?;
        let base = line.split_whitespace().last().context("an address")?;
        ensure!(base.starts_with("http://127.0.0.1:"), "serve printed {line:?}");
        let address = base.trim_start_matches("http://").parse()?;
        Ok(Serve { process, base: base.to_string(), address })
    }

    fn pid(&self) -> u32 {
        self.process.0.id()
    }

    /// SIGTERM, which must end in exit 0. `serve` gives its entities 30 s to stop, so this
    /// waits a little longer, and says so when stopping took more than a few seconds.
    fn terminate(mut self) -> anyhow::Result<()> {
        let pid = self.pid() as i32;
        ensure!(unsafe { libc::kill(pid, libc::SIGTERM) } == 0, "kill({pid}, SIGTERM)");
        let began = Instant::now();
        loop {
            if let Some(status) = self.process.0.try_wait()? {
                ensure!(status.success(), "serve ended with {status} after SIGTERM");
                let took = began.elapsed();
                if took > Duration::from_secs(5) {
                    eprintln!(
                        "  WARNING: serve took {:.1} s to stop after SIGTERM",
                        took.as_secs_f64()
                    );
                }
                return Ok(());
            }
            if began.elapsed() > Duration::from_secs(60) {
                bail!("serve did not stop within 60 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// `bazaar token add`: a token of the default tenant for `principal`.
fn mint_token(data: &Path, role: &str, principal: &str) -> anyhow::Result<String> {
    let output = bazaar()
        .args(["token", "add", "--role", role, "--principal", principal, "--data-dir"])
        .arg(data)
        .output()?;
    ensure!(output.status.success(), "token add: {}", String::from_utf8_lossy(&output.stderr));
    let token = String::from_utf8(output.stdout)?.trim().to_string();
    ensure!(token.starts_with("bzr_"), "token add printed {token:?}");
    Ok(token)
}

/// The tokens a first start wrote to `DATA_DIR/initial-tokens.txt`, by principal.
fn initial_tokens(data: &Path) -> anyhow::Result<BTreeMap<String, String>> {
    let listing = std::fs::read_to_string(data.join("initial-tokens.txt"))?;
    Ok(listing
        .lines()
        .filter(|line| !line.starts_with('#'))
        .map(|line| line.split_whitespace().collect::<Vec<_>>())
        .filter(|words| words.len() == 4)
        .map(|words| (words[2].to_string(), words[3].to_string()))
        .collect())
}

/// The last `n` lines of a file.
fn log_tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"))
}

/// `target/bench`, where the node's log goes (beside the figures).
fn support_dir() -> anyhow::Result<PathBuf> {
    let dir = target_dir().join("bench");
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// A directory under the target directory (a real disk: `/tmp` may be tmpfs).
fn scratch_dir() -> anyhow::Result<tempfile::TempDir> {
    let target = target_dir();
    std::fs::create_dir_all(&target).context("create the target directory")?;
    tempfile::Builder::new()
        .prefix("bench-checkout-")
        .tempdir_in(&target)
        .context("create a scratch directory under the target directory")
}
