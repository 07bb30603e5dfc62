//! What the HTTP gateway costs, against bare axum handlers served by the same process, in one
//! run: `cargo bench --bench gateway [-- --quick]`.
//!
//! The process holds a whole node, wired as `bazaar serve` wires it: a sled journal under the
//! target directory (a real disk), the engine with every commerce kind, the catalog's read
//! models and search index, credentials made on first start, rate limits too high to throttle,
//! the Prometheus recorder, and `bazaar_gateway::app` behind `axum::serve` on loopback. A bare
//! axum app on another port is the baseline. Clients are hyper HTTP/1.1 keep-alive
//! connections on the same runtime, so client and server share the two cores: every rate
//! includes the client's cost, and only the ratios compare like with like.
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

#[path = "support/mod.rs"]
mod support;

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use bazaar_actors::cart::{Cart, CartCommand, CartOwner, OfferChoice};
use bazaar_actors::inventory::{Inventory, InventoryCommand, InventoryId};
use bazaar_actors::keys;
use bazaar_actors::product::{
    CatalogDocument, Condition, Fulfilment, OfferTerms, Product, ProductCommand, TaxClass,
};
use bazaar_actors::seller::{Seller, SellerCommand, SellerScore};
use bazaar_actors::{Asin, Currency, CustomerId, LocationCode, Money, Quantity, SellerId, Sku};
use bazaar_engine::{Engine, EngineConfig, EngineParts, Entity, NodeId, ShardTable, SystemClock};
use bazaar_gateway::auth::Credentials;
use bazaar_gateway::config::PricingConfig;
use bazaar_gateway::rate_limit::RateLimits;
use bazaar_gateway::state::OrderSide;
use bazaar_gateway::{AppState, GatewayConfig, OpsState, Readiness};
use bazaar_persistence::{JournalConfig, SledJournal};
use bazaar_services::catalog::Catalog;
use bazaar_services::search::{SearchDoc, SearchQuery, Sort, bench_catalog, bench_queries};
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request, StatusCode, header};
use hyper_util::rt::TokioIo;
use support::Report;

/// Connections (and client tasks) of every phase.
const CONNECTIONS: usize = 64;

/// Tasks asking the engine at once while the bench sets up.
const SETUP_TASKS: usize = 64;

const TENANT: &str = "default";
const CUSTOMER: &str = "customer-1";
const SEED: u64 = 42;

/// The open-loop search rate.
const SEARCH_PER_S: u32 = 200;

/// Every cart hold asks for 15 minutes (nothing expires during a run); the hello POST parses
/// the same bytes.
const HOLD_BODY: &str = r#"{"ttl_s":900}"#;

/// Sellers the catalog's offers are spread over, per fulfilment channel.
const CATALOG_SELLERS: usize = 20;

const HOT_ASIN: &str = "BHOTSKU001";
const HOT_SELLER: &str = "seller-hot";
const HOT_SKU: &str = "HOT-SKU-1";
const HOT_LOCATION: &str = "FRA1";
const HOT_PRICE_MINOR: i64 = 1_999;
/// `QUANTITY_MAX`: the hot SKU never runs out.
const HOT_ON_HAND: u32 = 1_000_000_000;

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
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    let scratch = scratch_dir()?;
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
    let node = Node::start(dir, sizes).await?;
    let hello = serve(hello_app()).await?;

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
    node.catalog.settle().await;
    let index = node.catalog.search(TENANT)?;
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
async fn search(report: &mut Report, node: &Node, sizes: &Sizes) -> anyhow::Result<()> {
    let queries = search_paths(SEARCH_PER_S as usize * sizes.run.as_secs() as usize);
    let latency = open_loop(node.api, &node.token, queries, sizes.run).await?;
    report.record("search_p50_ms", support::quantile_ms(&latency, 0.50));
    report.record("search_p99_ms", support::quantile_ms(&latency, 0.99));
    Ok(())
}

/// Random products with a buy box, against the bare `GET /hello`.
async fn product_get(
    report: &mut Report,
    node: &Node,
    hello: SocketAddr,
    with_buy_box: &[Asin],
    sizes: &Sizes,
) -> anyhow::Result<()> {
    let hello = Load::new("hello_get", hello, StatusCode::OK, |_| Some(get("/hello", None)));
    let paths: Vec<String> =
        with_buy_box.iter().map(|asin| format!("/v1/products/{asin}")).collect();
    let token = node.token.clone();
    let product = Load::new("product_get", node.api, StatusCode::OK, move |i| {
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
    node: &Node,
    hello: SocketAddr,
    sizes: &Sizes,
) -> anyhow::Result<()> {
    let hello = Load::new("hello_post", hello, StatusCode::CREATED, |_| {
        Some(post("/hello", None, HOLD_BODY))
    });
    let token = node.token.clone();
    let reserve = Load::new("hot_sku_reserve", node.api, StatusCode::CREATED, move |cart| {
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

/// The node under test and what the bench needs of it.
struct Node {
    engine: Engine,
    catalog: Catalog,
    /// Where `bazaar_gateway::app` listens.
    api: SocketAddr,
    /// The bearer token of `customer-1`, the principal of every request.
    token: String,
}

impl Node {
    /// Wires a node as `serve` does, with limits that neither throttle nor shed the bench.
    async fn start(dir: &Path, sizes: &Sizes) -> anyhow::Result<Node> {
        let journal = Arc::new(SledJournal::open(JournalConfig::new(dir.join("journal")))?);
        let engine = Engine::start(EngineParts {
            config: EngineConfig {
                node: NodeId(1),
                active_entities_max: 2 * (sizes.catalog + CARTS) + 10_000,
                shard_asks_in_flight_max: 1 << 16,
                ..EngineConfig::default()
            },
            journal,
            clock: Arc::new(SystemClock),
            table: ShardTable::round_robin(256, &[NodeId(1)]),
            transport: None,
        })?;
        let (credentials, _) = Credentials::load_or_init(dir).map_err(anyhow::Error::msg)?;
        let token = initial_token(dir, CUSTOMER)?;
        bazaar_services::register(&engine);
        engine.register::<bazaar_gateway::idempotency::IdempotencyKey>();
        let catalog = Catalog::new(engine.clone(), Some(dir.join("search")));
        {
            let catalog = catalog.clone();
            tokio::task::spawn_blocking(move || catalog.rebuild()).await??;
        }
        let metrics = metrics_exporter_prometheus::PrometheusBuilder::new().install_recorder()?;
        spawn_metrics_upkeep(metrics.clone());
        let unthrottled = GatewayConfig {
            tenant_requests_per_s: 100_000_000,
            tenant_burst: 100_000_000,
            ..GatewayConfig::default()
        };
        let readiness = Readiness::default();
        readiness.set(true);
        let OrderSide { sagas, orders, ledger } = {
            let (engine, catalog) = (engine.clone(), catalog.clone());
            let vat = Arc::new(PricingConfig::default().vat);
            tokio::task::spawn_blocking(move || {
                OrderSide::start(&engine, &catalog, Default::default(), vat, Default::default())
            })
            .await??
        };
        let state = AppState {
            engine: engine.clone(),
            catalog: catalog.clone(),
            credentials: Arc::new(credentials),
            limits: Arc::new(RateLimits::new(&unthrottled)),
            pricing: Arc::new(PricingConfig::default()),
            ops: OpsState { readiness, metrics },
            sagas,
            orders,
            ledger,
            rendered: Default::default(),
        };
        let api = serve(bazaar_gateway::app(state)).await?;
        Ok(Node { engine, catalog, api, token })
    }

    /// Creates every product of `docs` with its offers, and answers the ASINs that have a buy
    /// box once the read models show every product.
    async fn load_catalog(&self, docs: Arc<Vec<SearchDoc>>) -> anyhow::Result<Vec<Asin>> {
        for n in 0..CATALOG_SELLERS {
            for prefix in ["seller-m", "seller-s"] {
                self.register_seller(&format!("{prefix}{n}")).await?;
            }
        }
        let engine = self.engine.clone();
        let loading = docs.clone();
        concurrently(docs.len(), move |i| {
            let (engine, docs) = (engine.clone(), loading.clone());
            async move { load_product(&engine, &docs[i], i).await }
        })
        .await?;
        let asins: Vec<Asin> =
            docs.iter().map(|doc| Asin::parse(&doc.asin)).collect::<Result<_, _>>()?;
        let deadline = Instant::now() + SETTLE_MAX;
        loop {
            let shown = asins.iter().filter(|a| self.catalog.product(TENANT, a).is_some()).count();
            if shown == asins.len() {
                break;
            }
            ensure!(Instant::now() < deadline, "{shown} of {} products shown", asins.len());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let with_buy_box: Vec<Asin> = asins
            .into_iter()
            .filter(|asin| self.catalog.product(TENANT, asin).is_some_and(|v| v.buy_box.is_some()))
            .collect();
        ensure!(!with_buy_box.is_empty(), "no product has a buy box");
        Ok(with_buy_box)
    }

    async fn register_seller(&self, seller: &str) -> anyhow::Result<()> {
        let key = keys::seller(TENANT, &SellerId::parse(seller)?);
        let command = SellerCommand::Register { name: seller.to_string() };
        ask::<Seller>(&self.engine, &key, command).await?;
        Ok(())
    }

    /// The hot product (one seller's offer on one SKU stocked at one location) and [`CARTS`]
    /// carts of `customer-1`, each with 1 unit of it, once the read models show the buy box
    /// and the stock a reservation reads.
    async fn hot_sku_carts(&self) -> anyhow::Result<()> {
        let (asin, seller, sku) =
            (Asin::parse(HOT_ASIN)?, SellerId::parse(HOT_SELLER)?, Sku::parse(HOT_SKU)?);
        self.register_seller(HOT_SELLER).await?;
        let product = keys::product(TENANT, &asin);
        let document = CatalogDocument {
            title: "Hot deal wireless headphones".into(),
            brand: "Zenkor".into(),
            category_path: vec!["Electronics".into(), "Audio".into()],
            description: "The one everybody wants today".into(),
            ..CatalogDocument::default()
        };
        let by = seller.clone();
        let create = ProductCommand::CreateOrUpdateDocument { document, currency: eur(), by };
        ask::<Product>(&self.engine, &product, create).await?;
        let terms = offer_terms(sku.clone(), HOT_PRICE_MINOR, Fulfilment::Marketplace, HOT_ON_HAND);
        let offer = ProductCommand::PutOffer {
            seller: seller.clone(),
            terms,
            score: SellerScore::default(),
        };
        ask::<Product>(&self.engine, &product, offer).await?;
        let location = InventoryId::new(sku.clone(), LocationCode::parse(HOT_LOCATION)?);
        let stock = InventoryCommand::SetOnHand { quantity: HOT_ON_HAND, feed_seq: 1 };
        ask::<Inventory>(&self.engine, &keys::inventory(TENANT, &seller, &location), stock).await?;
        let deadline = Instant::now() + SETTLE_MAX;
        while self.catalog.stock_of(TENANT, &seller, &sku).is_empty()
            || self.catalog.product(TENANT, &asin).is_none_or(|view| view.buy_box.is_none())
        {
            ensure!(Instant::now() < deadline, "the hot SKU never reached the read models");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let engine = self.engine.clone();
        concurrently(CARTS, move |i| {
            let (engine, asin) = (engine.clone(), asin.clone());
            async move {
                let key = keys::cart(TENANT, &cart_id(i));
                let owner = CartOwner::Customer(CustomerId::parse(CUSTOMER)?);
                ask::<Cart>(&engine, &key, CartCommand::Create { owner, currency: eur() }).await?;
                let line = CartCommand::AddLine {
                    asin,
                    offer: OfferChoice::BuyBox,
                    quantity: Quantity::new(1).context("one unit")?,
                    seen_unit_price: Money::new(HOT_PRICE_MINOR, eur()),
                    seen_available: true,
                };
                ask::<Cart>(&engine, &key, line).await?;
                Ok(())
            }
        })
        .await
    }

    /// Every answered hold is a unit reserved on the hot SKU, none more.
    async fn check_hot_sku(&self, held: u64) -> anyhow::Result<()> {
        let seller = SellerId::parse(HOT_SELLER)?;
        let location = InventoryId::new(Sku::parse(HOT_SKU)?, LocationCode::parse(HOT_LOCATION)?);
        let key = keys::inventory(TENANT, &seller, &location);
        let reply = ask::<Inventory>(&self.engine, &key, InventoryCommand::Get).await?;
        ensure!(
            u64::from(reply.stock.reserved) == held,
            "{held} holds answered, {} units reserved",
            reply.stock.reserved
        );
        Ok(())
    }
}

/// One product of the synthetic catalog: its document, then an offer per fulfilment channel
/// when it has a price (the second a little dearer), in stock or not as the catalog says.
async fn load_product(engine: &Engine, doc: &SearchDoc, i: usize) -> anyhow::Result<()> {
    let key = keys::product(TENANT, &Asin::parse(&doc.asin)?);
    let document = CatalogDocument {
        title: doc.title.clone(),
        brand: doc.brand.clone(),
        category_path: doc.category_path.clone(),
        images: vec![format!("https://img.example.com/{}.jpg", doc.asin)],
        description: doc.description.clone(),
        tax_class: TaxClass::Standard,
        ..CatalogDocument::default()
    };
    let by = SellerId::parse("seller-catalog")?;
    let create = ProductCommand::CreateOrUpdateDocument { document, currency: eur(), by };
    ask::<Product>(engine, &key, create).await?;
    let Some(price_minor) = doc.price_minor else { return Ok(()) };
    for (n, channel) in doc.fulfilment.iter().enumerate() {
        let (fulfilment, prefix) = match channel.as_str() {
            "marketplace" => (Fulfilment::Marketplace, "seller-m"),
            _ => (Fulfilment::Seller, "seller-s"),
        };
        let seller = SellerId::parse(&format!("{prefix}{}", i % CATALOG_SELLERS))?;
        let sku = Sku::parse(&format!("{}-{n}", doc.asin))?;
        let available = if doc.in_stock { 100 } else { 0 };
        let terms = offer_terms(sku, price_minor + 100 * n as i64, fulfilment, available);
        let offer = ProductCommand::PutOffer { seller, terms, score: SellerScore::default() };
        ask::<Product>(engine, &key, offer).await?;
    }
    Ok(())
}

fn offer_terms(sku: Sku, price_minor: i64, fulfilment: Fulfilment, available: u32) -> OfferTerms {
    OfferTerms {
        sku,
        price: Money::new(price_minor, eur()),
        shipping: Money::zero(eur()),
        condition: Condition::New,
        fulfilment,
        handling_days: 2,
        available,
    }
}

fn eur() -> Currency {
    Currency::parse("EUR").expect("EUR is a currency")
}

fn cart_id(n: usize) -> String {
    format!("c-hot{n}")
}

/// An ask that must be accepted.
async fn ask<E: Entity>(
    engine: &Engine,
    id: &str,
    command: E::Command,
) -> anyhow::Result<E::Reply> {
    match engine.ask::<E>(id, command).await {
        Ok(Ok(reply)) => Ok(reply),
        Ok(Err(rejection)) => bail!("{} {id} refused: {rejection:?}", E::KIND.name),
        Err(error) => Err(error).with_context(|| format!("{} {id}", E::KIND.name)),
    }
}

/// Runs `work(i)` for every `i` below `n`, `SETUP_TASKS` at a time.
async fn concurrently<F, Fut>(n: usize, work: F) -> anyhow::Result<()>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send,
{
    let (next, work) = (Arc::new(AtomicUsize::new(0)), Arc::new(work));
    let tasks: Vec<_> = (0..SETUP_TASKS)
        .map(|_| {
            let (next, work) = (next.clone(), work.clone());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        return anyhow::Ok(());
                    }
                    work(i).await?;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    Ok(())
}

/// The token `initial-tokens.txt` lists for `principal`.
fn initial_token(dir: &Path, principal: &str) -> anyhow::Result<String> {
    let listing = std::fs::read_to_string(dir.join("initial-tokens.txt"))?;
    listing
        .lines()
        .filter(|line| !line.starts_with('#'))
        .map(|line| line.split_whitespace().collect::<Vec<_>>())
        .find(|words| words.len() == 4 && words[2] == principal)
        .map(|words| words[3].to_string())
        .with_context(|| format!("no initial token for {principal}"))
}

/// Drains the recorder's histograms now and then, as a scrape of `/metrics` would; without
/// it they would grow for the whole run.
fn spawn_metrics_upkeep(handle: metrics_exporter_prometheus::PrometheusHandle) {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(5)).await;
            handle.run_upkeep();
        }
    });
}

/// Serves `app` on a free loopback port, as `serve` does (with the peer's address, which the
/// audit middleware reads).
async fn serve(app: axum::Router) -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let service = app.into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, service).await });
    Ok(address)
}

/// The body of a cart hold, as the bare handler parses it.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Hold {
    ttl_s: Option<u64>,
}

#[derive(serde::Serialize)]
struct Hello {
    hello: &'static str,
    ttl_s: Option<u64>,
}

/// The baseline: `GET /hello` answers a small JSON; `POST /hello` parses a hold's body.
fn hello_app() -> axum::Router {
    use axum::Json;
    axum::Router::new().route(
        "/hello",
        axum::routing::get(|| async { Json(Hello { hello: "world", ttl_s: None }) }).post(
            |Json(hold): Json<Hold>| async move {
                (StatusCode::CREATED, Json(Hello { hello: "world", ttl_s: hold.ttl_s }))
            },
        ),
    )
}

fn get(path: &str, token: Option<&str>) -> Request<Full<Bytes>> {
    request(Method::GET, path, token, Bytes::new())
}

fn post(path: &str, token: Option<&str>, body: &'static str) -> Request<Full<Bytes>> {
    request(Method::POST, path, token, Bytes::from_static(body.as_bytes()))
}

fn request(method: Method, path: &str, token: Option<&str>, body: Bytes) -> Request<Full<Bytes>> {
    let mut builder = Request::builder().method(method).uri(path).header(header::HOST, "127.0.0.1");
    if let Some(token) = token {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    if !body.is_empty() {
        builder = builder.header(header::CONTENT_TYPE, "application/json");
    }
    builder.body(Full::new(body)).expect("a valid request")
}

type Connection = SendRequest<Full<Bytes>>;

async fn connect(address: SocketAddr) -> anyhow::Result<Connection> {
    let stream = tokio::net::TcpStream::connect(address).await?;
    stream.set_nodelay(true)?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    Ok(sender)
}

/// Sends one request and reads the whole answer; fails unless its status is `expect`.
async fn exchange(
    connection: &mut Connection,
    request: Request<Full<Bytes>>,
    expect: StatusCode,
) -> anyhow::Result<()> {
    let target = request.uri().to_string();
    connection.ready().await?;
    let response = connection.send_request(request).await?;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    ensure!(
        status == expect,
        "{target}: {status}, not {expect}: {}",
        String::from_utf8_lossy(&body)
    );
    Ok(())
}

/// A closed-loop load: `make(i)` is the `i`th request sent to `address` (counted over every
/// slice), `None` once there is nothing left to send.
struct Load {
    name: &'static str,
    address: SocketAddr,
    expect: StatusCode,
    make: Arc<dyn Fn(usize) -> Option<Request<Full<Bytes>>> + Send + Sync>,
    next: Arc<AtomicUsize>,
}

impl Load {
    fn new(
        name: &'static str,
        address: SocketAddr,
        expect: StatusCode,
        make: impl Fn(usize) -> Option<Request<Full<Bytes>>> + Send + Sync + 'static,
    ) -> Load {
        Load { name, address, expect, make: Arc::new(make), next: Arc::default() }
    }
}

/// What a closed-loop load measured, over all its slices.
struct Measured {
    elapsed: Duration,
    /// CPU time of the whole process (client, server, background threads) meanwhile.
    cpu: Duration,
    /// Microseconds per request.
    latency: Histogram<u64>,
}

impl Measured {
    fn per_s(&self) -> f64 {
        self.latency.len() as f64 / self.elapsed.as_secs_f64()
    }

    /// Requests per CPU second: what `per_s` would be if the process had the machine alone
    /// and were bound by CPU only.
    fn per_cpu_s(&self) -> f64 {
        self.latency.len() as f64 / self.cpu.as_secs_f64()
    }
}

/// Runs `baseline` and `subject` in turns (quick 3 rounds of 1 s each, full 5 of 2 s), so a
/// change in the machine's other load falls on both alike.
async fn alternate(
    baseline: &Load,
    subject: &Load,
    sizes: &Sizes,
) -> anyhow::Result<(Measured, Measured)> {
    let turn = sizes.run / sizes.rounds;
    let mut measured = [baseline, subject].map(|_| Measured {
        elapsed: Duration::ZERO,
        cpu: Duration::ZERO,
        latency: support::histogram(),
    });
    for _ in 0..sizes.rounds {
        let mut exhausted = false;
        for (load, measured) in [baseline, subject].into_iter().zip(&mut measured) {
            let cpu = process_cpu();
            let slice = closed_loop(load, turn).await?;
            let cpu = process_cpu() - cpu;
            let requests = slice.latency.len() as f64;
            eprintln!(
                "    {:<16} {:>8.0} per s {:>8.0} per CPU s",
                load.name,
                requests / slice.elapsed.as_secs_f64(),
                requests / cpu.as_secs_f64()
            );
            measured.elapsed += slice.elapsed;
            measured.cpu += cpu;
            measured.latency.add(slice.latency)?;
            exhausted = slice.exhausted;
        }
        // The subject has nothing left to send: both have had the same turns.
        if exhausted {
            break;
        }
    }
    let [baseline, subject] = measured;
    Ok((baseline, subject))
}

/// One slice of a closed-loop load.
struct Slice {
    elapsed: Duration,
    /// Microseconds per request.
    latency: Histogram<u64>,
    /// The load had nothing left to send before the time was up.
    exhausted: bool,
}

/// `CONNECTIONS` connections each send the load's next request as soon as the last one is
/// answered, until `run` has passed or the load has nothing left.
async fn closed_loop(load: &Load, run: Duration) -> anyhow::Result<Slice> {
    let mut connections = Vec::with_capacity(CONNECTIONS);
    for _ in 0..CONNECTIONS {
        connections.push(connect(load.address).await?);
    }
    let started = Instant::now();
    let until = started + run;
    let tasks: Vec<_> = connections
        .into_iter()
        .map(|mut connection| {
            let (make, next, expect) = (load.make.clone(), load.next.clone(), load.expect);
            tokio::spawn(async move {
                let mut latency = support::histogram();
                while Instant::now() < until {
                    let Some(request) = make(next.fetch_add(1, Ordering::Relaxed)) else {
                        return anyhow::Ok((latency, true));
                    };
                    let began = Instant::now();
                    exchange(&mut connection, request, expect).await?;
                    latency.saturating_record(began.elapsed().as_micros() as u64);
                }
                anyhow::Ok((latency, false))
            })
        })
        .collect();
    let (mut latency, mut exhausted) = (support::histogram(), false);
    for task in tasks {
        let (task_latency, task_exhausted) = task.await??;
        latency.add(task_latency)?;
        exhausted |= task_exhausted;
    }
    Ok(Slice { elapsed: started.elapsed(), latency, exhausted })
}

/// Sends `paths` round-robin at `SEARCH_PER_S` for `run` over `CONNECTIONS` connections; the
/// latency of each request counts from when the schedule says it should have been sent.
async fn open_loop(
    address: SocketAddr,
    token: &str,
    paths: Vec<String>,
    run: Duration,
) -> anyhow::Result<Histogram<u64>> {
    let (sender, receiver) = tokio::sync::mpsc::unbounded_channel::<(Instant, usize)>();
    let receiver = Arc::new(tokio::sync::Mutex::new(receiver));
    let (paths, token) = (Arc::new(paths), Arc::new(token.to_string()));
    let mut workers = Vec::with_capacity(CONNECTIONS);
    for _ in 0..CONNECTIONS {
        let mut connection = connect(address).await?;
        let (receiver, paths, token) = (receiver.clone(), paths.clone(), token.clone());
        workers.push(tokio::spawn(async move {
            let mut latency = support::histogram();
            loop {
                let next = receiver.lock().await.recv().await;
                let Some((scheduled, i)) = next else { return anyhow::Ok(latency) };
                exchange(&mut connection, get(&paths[i], Some(&token)), StatusCode::OK).await?;
                latency.saturating_record(scheduled.elapsed().as_micros() as u64);
            }
        }));
    }
    let interval = Duration::from_secs(1) / SEARCH_PER_S;
    let count = (run.as_secs_f64() * f64::from(SEARCH_PER_S)) as u32;
    let start = Instant::now() + Duration::from_millis(10);
    for k in 0..count {
        let scheduled = start + interval * k;
        tokio::time::sleep_until(scheduled.into()).await;
        sender.send((scheduled, k as usize % paths.len()))?;
    }
    drop(sender);
    let mut latency = support::histogram();
    for worker in workers {
        latency.add(worker.await??)?;
    }
    Ok(latency)
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

/// CPU time this process has used, user and system, all threads.
fn process_cpu() -> Duration {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage writes a whole rusage into the pointer it is given, which is valid.
    let usage = unsafe {
        libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr());
        usage.assume_init()
    };
    let micros = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    Duration::from_micros(micros(usage.ru_utime) + micros(usage.ru_stime))
}

/// A random index below `len` for the `i`th request, the same in every run (splitmix64).
fn pick(i: usize, len: usize) -> usize {
    let mut x = (i as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    ((x ^ (x >> 31)) % len as u64) as usize
}

/// A fresh directory under the target directory (a real disk: /tmp may be tmpfs, where an
/// fsync costs nothing), removed when dropped.
fn scratch_dir() -> anyhow::Result<tempfile::TempDir> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    std::fs::create_dir_all(&target).context("create the target directory")?;
    tempfile::Builder::new()
        .prefix("bench-gateway-")
        .tempdir_in(&target)
        .context("create a scratch directory under the target directory")
}
