//! A catalogue at scale, end to end over HTTP against a real node process: `cargo bench
//! --bench scale [-- --quick]` (issue 13).
//!
//! The node is `bazaar serve` on the repository's `cluster.toml`, with the tenant's request
//! limit and the seller's price-update and listing limits raised so that they throttle
//! nothing; its data directory lives under the target directory (a real disk), its log
//! (warnings, and each start's report with timestamps) in `target/bench/scale-serve.log`. One
//! seller lists the whole catalogue; one customer reads it. The client runs on one thread of
//! this process, on the node's two cores.
//!
//! The phases, in order, and their figures:
//! - **Load**: every product and its offer listed through listings feeds of at most 100,000
//!   lines, one after the other: `load_products_per_s`, `load_node_cpu_per_product_ms`,
//!   `rss_after_load_bytes`.
//! - **Stock**: every SKU stocked through inventory feeds of at most 100,000 lines (the
//!   gateway's limit), one after the other. After each feed's answer, a random sample of its
//!   products is read until each buy box offers the feed's quantity:
//!   `stock_to_buy_box_p50_ms`, `_p99_ms` and `_max_ms` (from the feed's answer to the first
//!   read that shows the stock), `stock_feed_answer_ms` (the slowest feed's answer), and
//!   `stock_lines_per_s` (lines over the whole phase, from the first feed sent to the last
//!   sampled product stocked). `load_product_activations_ratio`: product actors started
//!   during load and stock (`/metrics`), per product; 1 means none was evicted and activated
//!   again for its stock (the default `active_entities_max` is 200,000).
//! - **Clean restart**: SIGTERM, then `serve` again: `restart_ready_ms` (spawn to ready),
//!   `rss_after_restart_bytes` and `rss_per_product_bytes` (that RSS over the catalogue).
//! - **Reads**, each for a few seconds over [`READ_CONNECTIONS`] connections in a closed loop:
//!   product pages picked uniformly over the whole catalogue (`product_get_uniform_p99_ms`,
//!   `_per_s`) and by a Zipf law of exponent 1 (`product_get_zipf_p99_ms`, `_per_s`), then
//!   searches for one title word (`search_p99_ms`, `search_per_s`); `rss_after_reads_bytes`.
//! - **Crash restart**: SIGKILL, then `serve` again: `crash_restart_ready_ms`; a product read
//!   afterwards must still show its stock.
//! - `disk_per_product_bytes`: the data directory's size over the catalogue.
//!
//! Quick: 100,000 products; full: 1,000,000.

#[path = "../support/mod.rs"]
mod support;

mod catalogue;
mod reads;

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use bazaar::testkit::{Bazaar, Server, initial_tokens};
use hyper::{Method, StatusCode};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::Value;
use support::Report;
use support::http::Connection;
use support::node::{self, log_tail, process_cpu, process_rss, start_serve, terminate};

/// Connections of each read load.
const READ_CONNECTIONS: usize = 32;
/// What the raised limits are set to.
const UNLIMITED: i64 = 1_000_000_000;

struct Sizes {
    products: usize,
    reads: Duration,
}

fn main() -> anyhow::Result<()> {
    let report = Report::new("scale");
    let sizes = Sizes {
        products: report.size(100_000, 1_000_000),
        reads: report.size(Duration::from_secs(5), Duration::from_secs(10)),
    };
    support::run_on_client_thread(report, async move |mut report, dir| {
        run(&mut report, &dir, &sizes).await?;
        Ok(report)
    })
}

async fn run(report: &mut Report, dir: &Path, sizes: &Sizes) -> anyhow::Result<()> {
    let unlimited = toml::Value::Integer(UNLIMITED);
    let gateway: &[&str] = &["gateway"];
    let config = node::write_config(
        dir,
        &[
            (gateway, "tenant_requests_per_s", unlimited.clone()),
            (gateway, "tenant_burst", unlimited.clone()),
            (gateway, "seller_price_updates_per_s", unlimited.clone()),
            (gateway, "seller_price_updates_burst", unlimited.clone()),
            (gateway, "seller_listing_lines_per_s", unlimited.clone()),
            (gateway, "seller_listing_lines_burst", unlimited),
        ],
    )?;
    let data = dir.join("data");
    let log = node::log_path("scale")?;
    let bazaar = Bazaar::at(env!("CARGO_BIN_EXE_bazaar"));
    terminate(start_serve(&bazaar, &config, &data, &[], (&log, node::LOG_START_UP))?)?;
    let seller = initial_tokens(&data).get("seller-1").context("no initial seller token")?.clone();
    let customer = bazaar.mint_token(&data, "customer", "cust-scale");
    let phases = Phases { report, bazaar: &bazaar, config: &config, data: &data, log: &log };
    let outcome = phases.run(&seller, &customer, sizes).await;
    if outcome.is_err() {
        eprintln!("--- last lines of {} ---\n{}", log.display(), log_tail(&log, 40));
    }
    outcome
}

struct Phases<'a> {
    report: &'a mut Report,
    bazaar: &'a Bazaar,
    config: &'a Path,
    data: &'a Path,
    log: &'a Path,
}

impl Phases<'_> {
    async fn run(mut self, seller: &str, customer: &str, sizes: &Sizes) -> anyhow::Result<()> {
        let count = sizes.products;
        let node = self.start()?;
        eprintln!("  node {} (pid {}), {count} products", node.base(), node.pid());

        let (began, cpu) = (Instant::now(), process_cpu(node.pid())?);
        catalogue::list(node.address(), seller, count).await?;
        let (took, cpu) = (began.elapsed(), process_cpu(node.pid())? - cpu);
        eprintln!("  listed in {:.1} s", took.as_secs_f64());
        self.report.record("load_products_per_s", count as f64 / took.as_secs_f64());
        let cpu_ms = cpu.as_secs_f64() * 1000.0 / count as f64;
        self.report.record("load_node_cpu_per_product_ms", cpu_ms);
        self.report.record("rss_after_load_bytes", process_rss(node.pid())? as f64);

        let mut rng = ChaCha8Rng::seed_from_u64(13);
        let stocked = catalogue::stock(node.address(), seller, customer, count, &mut rng).await?;
        eprintln!("  stocked in {:.1} s", stocked.total.as_secs_f64());
        // Admission measured: products activated while listed and stocked, against one each.
        let activations = node::metrics(node.address()).await?;
        let series = r#"engine_activations_total{kind="product"}"#;
        let products = activations.get(series).with_context(|| format!("no {series}"))?;
        let per_product = products / count as f64;
        self.report.record("load_product_activations_ratio", per_product);
        let lag = |q| support::quantile_ms(&stocked.lag_us, q);
        self.report.record("stock_to_buy_box_p50_ms", lag(0.50));
        self.report.record("stock_to_buy_box_p99_ms", lag(0.99));
        self.report.record("stock_to_buy_box_max_ms", stocked.lag_us.max() as f64 / 1000.0);
        let slowest = stocked.feed_ms.iter().copied().fold(0.0, f64::max);
        self.report.record("stock_feed_answer_ms", slowest);
        self.report.record("stock_lines_per_s", count as f64 / stocked.total.as_secs_f64());

        terminate(node)?;
        let began = Instant::now();
        let node = self.start()?;
        self.report.record("restart_ready_ms", began.elapsed().as_secs_f64() * 1000.0);
        let rss = process_rss(node.pid())?;
        self.report.record("rss_after_restart_bytes", rss as f64);
        self.report.record("rss_per_product_bytes", rss as f64 / count as f64);

        let address = node.address();
        let uniform = reads::products(
            address,
            customer,
            reads::Mix::Uniform(count),
            READ_CONNECTIONS,
            sizes.reads,
        )
        .await?;
        self.record_reads("product_get_uniform", &uniform);
        let zipf = reads::Mix::zipf(count, 1.0);
        let skewed =
            reads::products(address, customer, zipf, READ_CONNECTIONS, sizes.reads).await?;
        self.record_reads("product_get_zipf", &skewed);
        let searches = reads::searches(address, customer, READ_CONNECTIONS, sizes.reads).await?;
        self.record_reads("search", &searches);
        self.report.record("rss_after_reads_bytes", process_rss(node.pid())? as f64);

        node.kill();
        let began = Instant::now();
        let node = self.start()?;
        self.report.record("crash_restart_ready_ms", began.elapsed().as_secs_f64() * 1000.0);
        still_stocked(&node, customer, count - 1).await?;
        terminate(node)?;
        self.report.record("disk_per_product_bytes", dir_bytes(self.data)? as f64 / count as f64);
        Ok(())
    }

    fn start(&self) -> anyhow::Result<Server> {
        start_serve(self.bazaar, self.config, self.data, &[], (self.log, node::LOG_START_UP))
    }

    fn record_reads(&mut self, name: &str, latencies: &reads::Latencies) {
        self.report.record(format!("{name}_p50_ms"), support::quantile_ms(&latencies.us, 0.50));
        self.report.record(format!("{name}_p99_ms"), support::quantile_ms(&latencies.us, 0.99));
        self.report.record(format!("{name}_per_s"), latencies.per_s);
    }
}

/// After the crash, product `n` still shows its stock in the buy box.
async fn still_stocked(node: &Server, customer: &str, n: usize) -> anyhow::Result<()> {
    let mut http = Connection::open(node.address()).await?;
    let path = format!("/v1/products/{}", catalogue::asin(n));
    let reply = http.call(Method::GET, &path, Some(customer), &[], None).await?;
    let product: Value = serde_json::from_slice(&reply.body).unwrap_or(Value::Null);
    ensure!(
        reply.status == StatusCode::OK
            && product["buy_box"]["available"].as_u64() == Some(u64::from(catalogue::STOCK)),
        "{path} after the crash restart: {} {product}",
        reply.status
    );
    Ok(())
}

/// Bytes of the files under `dir`, recursively.
fn dir_bytes(dir: &Path) -> anyhow::Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        total += if meta.is_dir() { dir_bytes(&entry.path())? } else { meta.len() };
    }
    Ok(total)
}
