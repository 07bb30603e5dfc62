//! A node, assembled in one place: `bazaar serve`, the benches and the tests all start a node
//! through [`Node`], so each of them runs the node `serve` runs.
//!
//! Start: [`Node::listen`] binds the gateway's address and serves health at once (every other
//! request is answered 503 `not_ready` while recovering); [`Starting::recover`] opens the
//! journal, starts the engine, loads the credentials (a first start writes one token per
//! role), opens the personal-data vault, registers every entity kind, rebuilds the read
//! models, starts the order side (orders, ledger, checkout sagas, payment job, notifier) and
//! the rate limits, puts the whole API in place, and only then says ready; unfinished
//! checkouts and undelivered notices resume in the background.
//! [`Node::start`] does both.
//!
//! Invariants:
//! - No request meets the API before it is wholly in place, and no request after readiness
//!   meets "not ready": the full router is set before readiness turns true.
//! - [`Node::stop`] stops in this order, in bounded time whatever is queued: readiness false;
//!   the HTTP server stops taking connections and drains those in flight; changes going on
//!   apart from a connection get [`REQUESTS_GRACE`], the last [`REQUESTS_WIND_DOWN`] of it
//!   with long changes told to end early (a feed refuses its lines not begun), so each ends
//!   with its audit record; sagas stop after their current step (the unfinished keep their
//!   saga rows) and the notifier sends nothing new (the outboxes keep what is undelivered); the catalogue's flows get
//!   [`FLOWS_GRACE`], then what is still queued is dropped and hold expiry stops (all derived
//!   from the journal: the next start reconciles it); the engine snapshots its entities and
//!   stops; the search indexes close (and, if every flow settled, the catalogue records it);
//!   last, a journal the node opened drains, syncs and closes.
//! - The node's log lines keep the target `bazaar::serve` they had when `serve` assembled
//!   the node itself, so that the filters naming it (operators', the tests' `LOG_FILTER`)
//!   still show them.

use bazaar_services::notify::Notifier;
use bazaar_services::pii::Vault;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio_util::task::TaskTracker;

use anyhow::Context;
use axum::response::IntoResponse;
use bazaar_engine::{Engine, EngineConfig, EngineError, EngineParts, ShardTable, SystemClock};
use bazaar_gateway::auth::Credentials;
use bazaar_gateway::config::PricingConfig;
use bazaar_gateway::rate_limit::RateLimits;
use bazaar_gateway::state::{OrderSide, RenderedProducts};
use bazaar_gateway::{AppState, GatewayConfig, OpsState, Problem, Readiness};
use bazaar_persistence::{Journal, JournalConfig, SledJournal};
use bazaar_services::catalog::{Catalog, CatalogConfig};
use bazaar_services::payments::PaymentsConfig;
use bazaar_services::saga::{Sagas, SagasConfig};
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Longest shutdown waits for entities to write their snapshots.
pub const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(30);
/// Longest shutdown lets the catalogue's queued flows run before leaving the rest to the
/// next start.
pub const FLOWS_GRACE: Duration = Duration::from_secs(2);
/// Longest shutdown waits for requests in flight, from when it stops taking new ones: their
/// connections' answers, then what goes on apart from a connection (an audited change and
/// its record, whose writes retry for up to `AUDIT_RETRY_MS_MAX` themselves). A feed's own
/// time limit (`FEED_TIMEOUT_MS`, 120 s) is longer: a stop does not wait it out.
pub const REQUESTS_GRACE: Duration = Duration::from_secs(30);
/// The end of [`REQUESTS_GRACE`] kept for changes to end early (a feed refuses its lines not
/// begun) and write their audit records, when they did not end before.
pub const REQUESTS_WIND_DOWN: Duration = Duration::from_secs(5);
/// How often the metrics recorder drains its histograms: without upkeep it keeps every
/// sample until a scrape.
const METRICS_UPKEEP_EVERY: Duration = Duration::from_secs(5);
/// How often idle rate-limit keys are forgotten, so the limiter's memory stays bounded.
const RATE_LIMITS_FORGET_EVERY: Duration = Duration::from_secs(60);
/// The target of the node's log lines (see the module doc).
const LOG_TARGET: &str = "bazaar::serve";

/// What a node is made of: `serve` reads it from `cluster.toml` and its command line; a bench
/// or a test writes it.
pub struct NodeConfig {
    /// Where the gateway listens; port 0 picks a free one ([`Starting::address`]).
    pub listen: SocketAddr,
    /// The credentials (`credentials.toml`, `initial-tokens.txt`) and the search indexes
    /// (`search/`); `serve` keeps its journal here too (`journal/`).
    pub data_dir: PathBuf,
    pub journal: NodeJournal,
    /// The engine's knobs; `engine.node` is this node's id.
    pub engine: EngineConfig,
    pub table: ShardTable,
    pub gateway: GatewayConfig,
    pub pricing: PricingConfig,
    /// The payment providers and the client's time-outs.
    pub payments: PaymentsConfig,
    pub checkout: SagasConfig,
    pub catalog: CatalogConfig,
    /// How a seller's standing follows its score.
    pub sellers: bazaar_actors::seller::StandingRules,
    /// Return windows, automatic approval, labels.
    pub returns: bazaar_actors::order::returns::ReturnRules,
    /// The carriers labels are bought from (`[shipping]`).
    pub shipping: bazaar_services::carriers::ShippingConfig,
    /// How orders' notices are delivered to webhooks (`[notifications]`).
    pub notifications: bazaar_services::notify::NotifyConfig,
    /// The master key that wraps customers' data keys; `None`: `DIR/pii/master.key`, which
    /// the first start generates.
    pub master_key: Option<bazaar_services::pii::Key>,
    /// What `/metrics` renders: the process's installed recorder ([`install_metrics`]), or a
    /// recorder of the node's own (a test's).
    pub metrics: PrometheusHandle,
}

/// The journal of a node.
pub enum NodeJournal {
    /// A sled journal the node opens at start and closes last at stop.
    Sled(JournalConfig),
    /// A journal the caller made and keeps (a test's in-memory journal); the node never
    /// flushes or closes it.
    Given(Arc<dyn Journal>),
}

/// Installs the process's Prometheus recorder and describes every metric of the engine and
/// the sagas. The recorder is process-global: call this once per process.
pub fn install_metrics() -> anyhow::Result<PrometheusHandle> {
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .context("cannot install the metrics recorder")?;
    bazaar_engine::telemetry::describe();
    bazaar_services::saga::describe_metrics();
    Ok(metrics)
}

/// A node whose address is bound and whose health answers, recovering nothing yet.
pub struct Starting {
    config: NodeConfig,
    address: SocketAddr,
    ops: OpsState,
    http: Http,
}

/// The HTTP server of a node: health at once, the whole API once `full` is set.
struct Http {
    full: Arc<OnceLock<axum::Router>>,
    stop: watch::Sender<bool>,
    server: JoinHandle<std::io::Result<()>>,
}

/// A running node: recovered, ready, serving the whole API on [`Node::address`].
pub struct Node {
    address: SocketAddr,
    engine: Engine,
    catalog: Catalog,
    sagas: Sagas,
    notifier: Notifier,
    readiness: Readiness,
    http: Http,
    /// Requests going on apart from their connection (audited changes), waited for at stop.
    requests: TaskTracker,
    /// Tells long changes to end early when the stop runs short of time.
    stopping: tokio_util::sync::CancellationToken,
    /// The journal the node opened, closed last at stop.
    journal: Option<Arc<SledJournal>>,
}

impl Node {
    /// Starts a node and waits until it is ready: [`Node::listen`] then
    /// [`Starting::recover`].
    pub async fn start(config: NodeConfig) -> anyhow::Result<Node> {
        Node::listen(config).await?.recover().await
    }

    /// Binds `config.listen` and serves health and readiness (not ready yet) at once; any
    /// other request is answered 503 `not_ready` until [`Starting::recover`] is done.
    pub async fn listen(config: NodeConfig) -> anyhow::Result<Starting> {
        let listen = config.listen;
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        let address = listener.local_addr()?;
        let ops = OpsState { readiness: Readiness::default(), metrics: config.metrics.clone() };
        let (stop, stopped) = watch::channel(false);
        let full: Arc<OnceLock<axum::Router>> = Arc::default();
        let early = bazaar_gateway::ops::router(ops.clone());
        let server = tokio::spawn(serve_http(listener, early, full.clone(), stopped));
        Ok(Starting { config, address, ops, http: Http { full, stop, server } })
    }

    /// Where the gateway listens.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// Stops the node in the order the module doc gives, in bounded time.
    pub async fn stop(self) -> anyhow::Result<()> {
        tracing::info!(
            target: LOG_TARGET,
            "shutting down: no new requests, finishing those in flight"
        );
        self.readiness.set(false);
        let _ = self.http.stop.send(true);
        let deadline = tokio::time::Instant::now() + REQUESTS_GRACE;
        let mut server = self.http.server;
        match tokio::time::timeout_at(deadline, &mut server).await {
            Ok(served) => served??,
            Err(_) => {
                tracing::warn!(target: LOG_TARGET, "connections still open at shutdown; closing them");
                server.abort();
            }
        }
        // A change whose client went away (or that outlived the time limit) still runs: it
        // ends, with its audit record, before the engine stops taking asks.
        self.requests.close();
        let wind_down = deadline - REQUESTS_WIND_DOWN;
        if tokio::time::timeout_at(wind_down, self.requests.wait()).await.is_err() {
            tracing::warn!(
                target: LOG_TARGET,
                running = self.requests.len(),
                "requests still running at shutdown; ending long changes early"
            );
            self.stopping.cancel();
        }
        if tokio::time::timeout_at(deadline, self.requests.wait()).await.is_err() {
            tracing::warn!(
                target: LOG_TARGET,
                running = self.requests.len(),
                "requests still running at shutdown; stopping without them"
            );
        }
        // Unfinished sagas keep their rows in the index; the next start resumes them.
        self.sagas.stop();
        self.notifier.stop();
        // Flows and hold expiry stop before the engine does, in bounded time; what they had
        // queued is derived from the journal, so the next start reconciles it.
        self.catalog.stop(FLOWS_GRACE).await;
        self.engine.shutdown(SHUTDOWN_DEADLINE).await?;
        self.catalog.close();
        drop(self.catalog);
        drop(self.engine);
        if let Some(journal) = self.journal {
            // Other holders (idle actors' runtime) may outlive this scope; closing through the
            // shared handle drains the queue, syncs and stops the journal's threads.
            tokio::task::spawn_blocking(move || journal.close()).await??;
        }
        tracing::info!(target: LOG_TARGET, "stopped cleanly");
        Ok(())
    }
}

impl Starting {
    /// Where the gateway listens.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Recovers from the journal, puts the whole API in place, says ready, and resumes
    /// unfinished checkouts in the background.
    pub async fn recover(self) -> anyhow::Result<Node> {
        self.recover_with(|_| {}).await
    }

    /// [`Starting::recover`], calling `first_start` with the path of the initial tokens file
    /// as soon as a first start has written it (one token per role), before the read models
    /// are rebuilt.
    pub async fn recover_with(
        self,
        first_start: impl FnOnce(&Path) + Send,
    ) -> anyhow::Result<Node> {
        let Starting { config, address, ops, http } = self;
        let node_id = config.engine.node.0;
        let began = std::time::Instant::now();
        let (journal, opened) = open_journal(config.journal).await?;
        let journal_ms = began.elapsed().as_millis() as u64;
        let engine = Engine::start(EngineParts {
            config: config.engine,
            journal,
            clock: Arc::new(SystemClock),
            table: config.table,
            transport: None,
        })?;
        let (credentials, new_tokens) =
            Credentials::load_or_init(&config.data_dir).map_err(anyhow::Error::msg)?;
        // Opened before the first start is told, so that a master key it generated is there.
        let vault = Arc::new(
            Vault::open(&config.data_dir.join("pii"), config.master_key)
                .map_err(anyhow::Error::msg)?,
        );
        if let Some(path) = new_tokens {
            first_start(&path);
        }
        bazaar_services::register(&engine);
        engine.register::<bazaar_gateway::idempotency::IdempotencyKey>();
        let search_dir = Some(config.data_dir.join("search"));
        let catalog = Catalog::configured(engine.clone(), search_dir, &config.catalog);
        let folding = std::time::Instant::now();
        let (indexed_rows, rebuilt) = {
            let (catalog, journal) = (catalog.clone(), engine.journal().clone());
            tokio::task::spawn_blocking(move || {
                let indexed_rows = bazaar_services::build_index(&journal)?;
                anyhow::Ok((indexed_rows, catalog.rebuild()?))
            })
            .await??
        };
        // How long each step of a start took: the journal's recovery, then the read models.
        tracing::info!(
            target: LOG_TARGET,
            journal_ms,
            read_models_ms = folding.elapsed().as_millis() as u64,
            sellers = rebuilt.sellers,
            holds = rebuilt.holds,
            indexed_rows,
            search_caught_up = ?rebuilt.search_caught_up,
            search_reindexed = rebuilt.search_reindexed,
            flows_settled = rebuilt.flows_settled,
            "read models rebuilt"
        );
        spawn_metrics_upkeep(ops.metrics.clone());
        let OrderSide { sagas, orders, ledger, notifier } = {
            let (engine, catalog) = (engine.clone(), catalog.clone());
            let (payments, checkout) = (config.payments, config.checkout);
            let vat = Arc::new(config.pricing.vat.clone());
            let private = (vault.clone(), config.notifications);
            tokio::task::spawn_blocking(move || {
                OrderSide::start(&engine, &catalog, payments, vat, checkout, private)
            })
            .await??
        };
        let limits = Arc::new(RateLimits::new(&config.gateway));
        let requests = TaskTracker::new();
        let stopping = tokio_util::sync::CancellationToken::new();
        spawn_rate_limit_janitor(limits.clone());
        let readiness = ops.readiness.clone();
        let state = AppState::new(bazaar_gateway::state::Parts {
            engine: engine.clone(),
            catalog: catalog.clone(),
            credentials: Arc::new(credentials),
            limits,
            pricing: Arc::new(config.pricing),
            ops,
            sagas: sagas.clone(),
            orders,
            ledger,
            rendered: Arc::new(RenderedProducts::new(config.gateway.product_page_cache_bytes)),
            sellers: config.sellers,
            returns: config.returns,
            listing_bursts: Default::default(),
            vault,
            stopping: stopping.clone(),
            carriers: bazaar_services::carriers::Carriers::new(config.shipping, address),
            notifier: notifier.clone(),
            requests: requests.clone(),
        });
        // In place before anyone hears "ready": no request after it meets "not ready".
        let _ = http.full.set(bazaar_gateway::app(state));
        readiness.set(true);
        let shown = config.data_dir.display();
        tracing::info!(target: LOG_TARGET, node = node_id, data_dir = %shown, "recovered; ready");
        spawn_resume(sagas.clone());
        spawn_notify(notifier.clone());
        let journal = opened;
        Ok(Node {
            address,
            engine,
            catalog,
            sagas,
            notifier,
            readiness,
            http,
            requests,
            stopping,
            journal,
        })
    }
}

/// The journal the engine writes to, and the same journal when the node opened it (and so
/// closes it at stop).
async fn open_journal(
    journal: NodeJournal,
) -> anyhow::Result<(Arc<dyn Journal>, Option<Arc<SledJournal>>)> {
    Ok(match journal {
        NodeJournal::Sled(config) => {
            let journal = tokio::task::spawn_blocking(move || SledJournal::open(config))
                .await?
                .context("cannot open the journal")?;
            let journal = Arc::new(journal);
            (journal.clone() as Arc<dyn Journal>, Some(journal))
        }
        NodeJournal::Given(journal) => (journal, None),
    })
}

/// Sagas a crash interrupted finish (or compensate) now; new ones run alongside.
/// Kicks every order whose notices are not delivered yet.
fn spawn_notify(notifier: Notifier) {
    tokio::task::spawn_blocking(move || match notifier.resume() {
        Ok(kicked) => tracing::info!(target: LOG_TARGET, kicked, "undelivered notices resumed"),
        Err(EngineError::ShuttingDown) => {}
        Err(error) => {
            tracing::error!(target: LOG_TARGET, error = %error, "cannot list undelivered notices")
        }
    });
}

fn spawn_resume(sagas: Sagas) {
    tokio::spawn(async move {
        match sagas.resume().await {
            Ok(resumed) => {
                tracing::info!(target: LOG_TARGET, resumed, "unfinished checkouts resumed");
            }
            Err(EngineError::ShuttingDown) => {}
            Err(error) => {
                tracing::error!(
                    target: LOG_TARGET,
                    error = %error,
                    "cannot list unfinished checkouts"
                );
            }
        }
    });
}

async fn wait_for(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

/// Serves health and readiness at once and the whole API once `full` is set (until then an
/// API request is answered 503 not_ready), on one listener, until `stop`.
async fn serve_http(
    listener: tokio::net::TcpListener,
    early: axum::Router,
    full: Arc<OnceLock<axum::Router>>,
    stop: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let rest = tower::service_fn(move |request: axum::extract::Request| {
        let app = full.get().cloned();
        async move {
            use tower::ServiceExt;
            Ok::<_, std::convert::Infallible>(match app {
                Some(app) => app.oneshot(request).await.into_response(),
                None => Problem::not_ready("recovering").into_response(),
            })
        }
    });
    use bazaar_gateway::listener::{ProblemListener, Remote, remote_addr};
    let router = early.fallback_service(rest).layer(axum::middleware::map_request(remote_addr));
    let service = router.into_make_service_with_connect_info::<Remote>();
    axum::serve(ProblemListener(listener), service).with_graceful_shutdown(wait_for(stop)).await
}

/// Runs the recorder's upkeep now and then, as a scrape of `/metrics` would.
fn spawn_metrics_upkeep(metrics: PrometheusHandle) {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(METRICS_UPKEEP_EVERY).await;
            metrics.run_upkeep();
        }
    });
}

/// Forgets idle rate-limit keys now and then, so the limiter's memory stays bounded.
fn spawn_rate_limit_janitor(limits: Arc<RateLimits>) {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(RATE_LIMITS_FORGET_EVERY).await;
            limits.forget_idle();
        }
    });
}
