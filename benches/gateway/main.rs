//! What the HTTP gateway costs, against bare axum handlers served by the same process, in one
//! run: `cargo bench --bench gateway [-- --quick]`.
//!
//! The process holds a whole node, started through `bazaar::node::Node`, the assembly `bazaar
//! serve` runs (`node.rs`), on the allocator `bazaar serve` runs on (mimalloc): a sled
//! journal under the target directory (a real disk), the engine with every commerce kind,
//! the catalog's read models and search index, credentials made on first start, rate limits
//! too high to throttle, the Prometheus recorder, and the node's own HTTP server on loopback.
//! A bare axum app on another port is the baseline (`load.rs`, with the clients). Clients
//! are hyper HTTP/1.1 keep-alive connections on the same runtime, so client and server
//! share the two cores: every rate includes the client's cost, and only the ratios compare
//! like with like.
//!
//! Closed-loop loads run 64 connections, each sending its next request when the last one is
//! answered, for a fixed time (quick 3 s, full 10 s), in turns with their baseline (quick 3
//! slices of 1 s each, full 5 of 2 s), so that the rest of the machine's load falls on both:
//! - `product_get_per_s`, `product_get_p99_ms`: `GET /v1/products/{asin}`, a random product
//!   with a buy box; `hello_get_per_s`: `GET /hello`, a small JSON. Goal: ratio >= 0.7.
//! - `hot_sku_reserve_per_s`, `hot_sku_reserve_p99_ms`: `POST /v1/carts/{id}/reservation` of
//!   carts that each hold 1 unit of the same product (one seller, one SKU, one location), every
//!   cart held once, so every answer is a new durable hold (reservation ids derive from the
//!   cart); `hello_post_per_s`: `POST /hello` parsing the same body. Goals: ratio >= 0.25, p99
//!   <= 10 ms. Holds last 15 minutes, so they pile up on the one inventory record, whose
//!   snapshot grows with them: the carts are bounded (see [`CARTS`]) and the load and its
//!   baseline stop after the turn in which they are all held (`hot_sku_reserve_count`).
//!
//! Each ratio has a `_cpu_ratio` twin: requests per CPU second of the whole process
//! (`getrusage`) against the baseline's. On a shared machine the process gets two cores in one
//! slice and one in the next; CPU per request hardly moves with that, so the twin is the
//! steadier figure (and the two agree when the load is bound by CPU, not by waiting).
//!
//! Open loop: `search_p50_ms`, `search_p99_ms`: `GET /v1/search` with the `bench_queries` mix,
//! 200 a second on a fixed schedule, each latency taken from the query's scheduled start (no
//! coordinated omission), over `search_catalog_count` products (quick 20,000, full 100,000)
//! from `bench_catalog`, loaded through the engine (a document and one or two offers each)
//! and indexed by the catalog's projection. Goal: p99 <= 20 ms.

#[path = "../support/mod.rs"]
mod support;

mod load;
mod node;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::ensure;
use bazaar_actors::Asin;
use bazaar_services::search::{SearchQuery, Sort, bench_catalog, bench_queries};
use hyper::StatusCode;
use load::{Load, alternate, get, open_loop, pick, post};
use node::{BenchNode, cart_id};
use support::Report;

/// As in `src/main.rs`: the node measured allocates as the shipped binary does (the baseline
/// shares it). With glibc's malloc, allocation took about a tenth of the hot-SKU phase.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Connections (and client tasks) of every phase.
const CONNECTIONS: usize = 64;

const TENANT: &str = "default";
const CUSTOMER: &str = "customer-1";
const SEED: u64 = 42;

/// The open-loop search rate.
const SEARCH_PER_S: u32 = 200;

/// Every cart hold asks for 15 minutes (nothing expires during a run); the hello POST parses
/// the same bytes.
const HOLD_BODY: &str = r#"{"ttl_s":900}"#;

/// Holds placed on the hot SKU, at most. Each active hold adds about 85 bytes (its id twice)
/// to the inventory record's snapshot, which the journal refuses past `RECORD_BYTES_MAX`
/// (4 MiB, about 49,000 of these holds) even though `RESERVATIONS_ACTIVE_MAX` allows 65,536;
/// a refused snapshot poisons the entity. 40,000 keeps the snapshot near 3.4 MB.
const CARTS: usize = 40_000;

/// Longest the read models may take to show what setup wrote.
const SETTLE_MAX: Duration = Duration::from_secs(60);

/// The sizes of one run, quick or full.
struct Sizes {
    /// Each closed-loop load's time, in `rounds` slices; the open-loop search's time.
    run: Duration,
    rounds: u32,
    catalog: usize,
}

fn main() -> anyhow::Result<()> {
    let mut report = Report::new("gateway");
    let sizes = Sizes {
        run: report.size(Duration::from_secs(3), Duration::from_secs(10)),
        rounds: report.size(3, 5),
        catalog: report.size(20_000, 100_000),
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // As `bazaar serve` logs: colour only on a terminal (ANSI codes cost every request's span).
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colour)
        .init();
    let scratch = support::scratch_dir("gateway")?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(run(&mut report, scratch.path(), &sizes))?;
    report.ratio("product_get_vs_hello_ratio", "product_get_per_s", "hello_get_per_s");
    report.ratio(
        "hot_sku_reserve_vs_hello_post_ratio",
        "hot_sku_reserve_per_s",
        "hello_post_per_s",
    );
    report.finish();
    // Entities are not passivated (100,000 snapshots would outlast the run): the journal's
    // directory goes with the process.
    runtime.shutdown_timeout(Duration::from_secs(5));
    drop(scratch);
    Ok(())
}

/// Sets the node up, then measures search, product reads and hot-SKU holds, in that order.
async fn run(report: &mut Report, dir: &Path, sizes: &Sizes) -> anyhow::Result<()> {
    let node = BenchNode::start(dir, sizes).await?;
    let hello = load::serve_baseline().await?;

    let started = Instant::now();
    let docs = Arc::new(bench_catalog(sizes.catalog, SEED));
    let with_buy_box = node.load_catalog(docs.clone()).await?;
    eprintln!(
        "  loaded {} products ({} with a buy box) in {:.1} s",
        docs.len(),
        with_buy_box.len(),
        started.elapsed().as_secs_f64()
    );
    report.record("search_catalog_count", docs.len() as f64);

    let started = Instant::now();
    node.hot_sku_carts().await?;
    eprintln!("  made {CARTS} carts in {:.1} s", started.elapsed().as_secs_f64());
    node.catalog().settle().await;
    let index = node.catalog().search(TENANT)?;
    let stats =
        tokio::task::spawn_blocking(move || index.refresh_now().map(|()| index.stats())).await??;
    ensure!(
        stats.docs_searchable == docs.len() as u64 + 1,
        "{} of {} products searchable",
        stats.docs_searchable,
        docs.len() + 1
    );

    search(report, &node, sizes).await?;
    product_get(report, &node, hello, &with_buy_box, sizes).await?;
    hot_sku_reserve(report, &node, hello, sizes).await
}

/// The shoppers' query mix at a fixed rate.
async fn search(report: &mut Report, node: &BenchNode, sizes: &Sizes) -> anyhow::Result<()> {
    let queries = search_paths(SEARCH_PER_S as usize * sizes.run.as_secs() as usize);
    let latency = open_loop(node.address(), node.token(), queries, sizes.run).await?;
    report.record("search_p50_ms", support::quantile_ms(&latency, 0.50));
    report.record("search_p99_ms", support::quantile_ms(&latency, 0.99));
    Ok(())
}

/// Random products with a buy box, against the bare `GET /hello`.
async fn product_get(
    report: &mut Report,
    node: &BenchNode,
    hello: SocketAddr,
    with_buy_box: &[Asin],
    sizes: &Sizes,
) -> anyhow::Result<()> {
    let hello = Load::new("hello_get", hello, StatusCode::OK, |_| Some(get("/hello", None)));
    let paths: Vec<String> =
        with_buy_box.iter().map(|asin| format!("/v1/products/{asin}")).collect();
    let token = node.token().to_string();
    let product = Load::new("product_get", node.address(), StatusCode::OK, move |i| {
        Some(get(&paths[pick(i, paths.len())], Some(&token)))
    });
    let (hello, product) = alternate(&hello, &product, sizes).await?;
    report.record("hello_get_per_s", hello.per_s());
    report.record("product_get_per_s", product.per_s());
    report.record("product_get_vs_hello_cpu_ratio", product.per_cpu_s() / hello.per_cpu_s());
    report.record("product_get_p50_ms", support::quantile_ms(&product.latency, 0.50));
    report.record("product_get_p99_ms", support::quantile_ms(&product.latency, 0.99));
    Ok(())
}

/// One new hold per cart on the hot SKU, against the bare `POST /hello` of the same body.
async fn hot_sku_reserve(
    report: &mut Report,
    node: &BenchNode,
    hello: SocketAddr,
    sizes: &Sizes,
) -> anyhow::Result<()> {
    let hello = Load::new("hello_post", hello, StatusCode::CREATED, |_| {
        Some(post("/hello", None, HOLD_BODY))
    });
    let token = node.token().to_string();
    let reserve = Load::new("hot_sku_reserve", node.address(), StatusCode::CREATED, move |cart| {
        let path = format!("/v1/carts/{}/reservation", cart_id(cart));
        (cart < CARTS).then(|| post(&path, Some(&token), HOLD_BODY))
    });
    let (hello, held) = alternate(&hello, &reserve, sizes).await?;
    if held.latency.len() as usize >= CARTS {
        eprintln!("  all {CARTS} carts were held before the load's time was up");
    }
    report.record("hello_post_per_s", hello.per_s());
    report.record("hot_sku_reserve_per_s", held.per_s());
    let cpu_ratio = held.per_cpu_s() / hello.per_cpu_s();
    report.record("hot_sku_reserve_vs_hello_post_cpu_ratio", cpu_ratio);
    report.record("hot_sku_reserve_p50_ms", support::quantile_ms(&held.latency, 0.50));
    report.record("hot_sku_reserve_p99_ms", support::quantile_ms(&held.latency, 0.99));
    report.record("hot_sku_reserve_count", held.latency.len() as f64);
    node.check_hot_sku(held.latency.len()).await
}

/// `GET /v1/search` paths of the shoppers' query mix.
fn search_paths(n: usize) -> Vec<String> {
    bench_queries(n, SEED).iter().map(search_path).collect()
}

fn search_path(query: &SearchQuery) -> String {
    let mut params: Vec<(&str, String)> = Vec::new();
    let texts = [("q", &query.text), ("category", &query.category), ("brand", &query.brand)];
    for (name, value) in texts {
        if let Some(value) = value {
            params.push((name, value.clone()));
        }
    }
    if let Some(price) = query.price_min_minor {
        params.push(("price_min", price.to_string()));
    }
    if let Some(price) = query.price_max_minor {
        params.push(("price_max", price.to_string()));
    }
    if let Some(in_stock) = query.in_stock {
        params.push(("in_stock", in_stock.to_string()));
    }
    if let Some(fulfilment) = &query.fulfilment {
        params.push(("fulfilment", fulfilment.clone()));
    }
    let sort = match query.sort {
        Sort::Relevance => "relevance",
        Sort::PriceAsc => "price_asc",
        Sort::PriceDesc => "price_desc",
        Sort::Newest => "newest",
    };
    params.push(("sort", sort.to_string()));
    params.push(("page", query.page.to_string()));
    params.push(("page_size", query.page_size.to_string()));
    let encoded: Vec<String> =
        params.iter().map(|(name, value)| format!("{name}={}", percent_encode(value))).collect();
    format!("/v1/search?{}", encoded.join("&"))
}

/// Every byte but the unreserved ones (RFC 3986) as `%XX`.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
