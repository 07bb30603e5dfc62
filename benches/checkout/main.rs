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
//! The load: [`CLIENTS`] clients (or fewer, `-- --clients N`; `clients_count`), each a
//! customer with a product, a card (`tok_visa_N`) and an address of its own, on its own
//! HTTP/1.1 keep-alive connection, in a closed loop: `POST
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
//! node's engine asks and activations per checkout by entity kind, with the asks' mean time
//! (from `/metrics` before and after the window), and the journal's events and syncs per
//! checkout: a breakdown of where a checkout's time goes besides the provider. Its totals are
//! figures too: `engine_asks_per_checkout_count`, `engine_activations_per_checkout_count`,
//! `journal_events_per_checkout_count`, `journal_syncs_per_checkout_count`.
//!
//! The client is hyper's HTTP/1.1 connection (`support/http.rs`, as in the gateway bench),
//! not reqwest, on one thread (a current-thread runtime), with each round's unchanging JSON
//! encoded once and only the answers' fields it reads decoded: the clients share the two cores
//! with the node, so they should take as little as possible (`client_cpu_per_checkout_ms`). The processes are started by `bazaar::testkit`, as the e2e tests start them.
//! The node's stderr (`RUST_LOG=warn`) goes to `target/bench/checkout-serve.log`. The load is
//! in `load.rs`, the readings at the window's edges in `readings.rs`.

#[path = "../support/mod.rs"]
mod support;

mod load;
mod readings;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use bazaar::testkit::{Bazaar, Server, SimulatorProcess, initial_tokens};
use hyper::{Method, StatusCode};
use load::{
    Shopped, Window, authorizations, print_failures, probe_during, probe_idle, progress, shopper,
};
use readings::{Sample, print_breakdown};
use serde_json::{Value, json};
use support::Report;
use support::http::Connection;
use support::node::{self, log_tail, start_serve, terminate};

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
    /// Clients of the load: [`CLIENTS`], or fewer with `-- --clients N` (to see the node's
    /// cost and latency below saturation).
    clients: usize,
}

fn main() -> anyhow::Result<()> {
    let report = Report::new("checkout");
    let sizes = Sizes {
        warm_up: report.size(Duration::from_secs(5), Duration::from_secs(10)),
        window: report.size(Duration::from_secs(20), Duration::from_secs(60)),
        idle_probes: report.size(100, 300),
        clients: clients_arg()?,
    };
    support::run_on_client_thread(report, async move |mut report, dir| {
        run(&mut report, &dir, &sizes).await?;
        Ok(report)
    })
}

/// `--clients N` (1 to [`CLIENTS`]), or [`CLIENTS`].
fn clients_arg() -> anyhow::Result<usize> {
    let args: Vec<String> = std::env::args().collect();
    let Some(at) = args.iter().position(|arg| arg == "--clients") else { return Ok(CLIENTS) };
    let clients: usize = args.get(at + 1).context("--clients N")?.parse()?;
    ensure!((1..=CLIENTS).contains(&clients), "--clients takes 1 to {CLIENTS}");
    Ok(clients)
}

async fn run(report: &mut Report, dir: &Path, sizes: &Sizes) -> anyhow::Result<()> {
    let latency = PSP_LATENCY_MS.to_string();
    let psp_args = ["--latency-p50-ms", &latency, "--latency-p99-ms", &latency];
    let bazaar = Bazaar::at(env!("CARGO_BIN_EXE_bazaar"));
    let primary = bazaar.psp("primary", &psp_args);
    let backup = bazaar.psp("backup", &psp_args);
    let velocity = toml::Value::Integer(VELOCITY_MAX);
    let fraud: &[&str] = &["checkout", "fraud"];
    let config = node::write_config(
        dir,
        &[
            (fraud, "customer_velocity_max", velocity.clone()),
            (fraud, "card_velocity_max", velocity.clone()),
            (fraud, "address_velocity_max", velocity),
        ],
    )?;
    let data = dir.join("data");
    let serve_args = vec![
        "--psp".to_string(),
        format!("primary={}", primary.base),
        "--psp".to_string(),
        format!("backup={}", backup.base),
    ];
    let log_path = node::log_path("checkout")?;

    // First start: the initial tokens. Then a token per customer and seller, read at the next
    // start.
    let first = start_serve(&bazaar, &config, &data, &serve_args, (&log_path, node::LOG_WARNINGS))?;
    terminate(first)?;
    let initial = initial_tokens(&data);
    let mut sellers = vec![initial.get("seller-1").context("no initial seller token")?.clone()];
    for n in 2..=SELLERS {
        sellers.push(bazaar.mint_token(&data, "seller", &format!("seller-{n}")));
    }
    let customers: Vec<String> =
        (0..CLIENTS).map(|n| bazaar.mint_token(&data, "customer", &customer_id(n))).collect();
    let node = start_serve(&bazaar, &config, &data, &serve_args, (&log_path, node::LOG_WARNINGS))?;
    eprintln!(
        "  node {} (pid {}), psps {} and {}",
        node.base(),
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
    node: &Server,
    primary: &SimulatorProcess,
    backup: &SimulatorProcess,
    sellers: &[String],
    customers: &[String],
    sizes: &Sizes,
) -> anyhow::Result<()> {
    let started = Instant::now();
    list_products(node.address(), sellers, &customers[0]).await?;
    eprintln!("  listed {CLIENTS} products in {:.1} s", started.elapsed().as_secs_f64());

    let idle = probe_idle(primary.address(), sizes.idle_probes).await?;
    report.record("psp_authorize_idle_p50_ms", support::quantile_ms(&idle, 0.50));
    report.record("psp_authorize_idle_p99_ms", support::quantile_ms(&idle, 0.99));

    let start = Instant::now() + Duration::from_millis(100);
    let window =
        Window { from: start + sizes.warm_up, until: start + sizes.warm_up + sizes.window };
    let mut clients = Vec::with_capacity(sizes.clients);
    let answered = Arc::new(AtomicU64::new(0));
    report.record("clients_count", sizes.clients as f64);
    for (n, token) in customers.iter().enumerate().take(sizes.clients) {
        let connection = Connection::open(node.address()).await?;
        let (token, answered) = (token.clone(), answered.clone());
        clients.push(tokio::spawn(shopper(n, connection, token, answered, start, window)));
    }
    let probe = tokio::spawn(probe_during(primary.address(), window));
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
    let breakdown = print_breakdown(&before.metrics, &after.metrics, total.completed);
    report.record("engine_asks_per_checkout_count", breakdown.asks);
    report.record("engine_activations_per_checkout_count", breakdown.activations);
    report.record("journal_events_per_checkout_count", breakdown.events);
    report.record("journal_syncs_per_checkout_count", breakdown.syncs);

    // Every answered checkout authorized its payment at a provider (the probe's keys aside).
    let authorized =
        authorizations(primary.address()).await? + authorizations(backup.address()).await?;
    let backup_only = authorizations(backup.address()).await?;
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
