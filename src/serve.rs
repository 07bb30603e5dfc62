//! `bazaar serve`: lock the data directory, recover, serve, and on SIGTERM or Ctrl-C stop
//! taking requests, finish those in flight, snapshot every active entity, sync, exit 0.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use axum::response::IntoResponse;
use bazaar_engine::{Engine, EngineConfig, EngineError, EngineParts, NodeId, SystemClock};
use bazaar_gateway::auth::Credentials;
use bazaar_gateway::rate_limit::RateLimits;
use bazaar_gateway::state::OrderSide;
use bazaar_gateway::{AppState, OpsState, Problem, Readiness};
use bazaar_persistence::SledJournal;
use bazaar_services::catalog::Catalog;

use crate::ServeArgs;
use crate::config::ClusterFile;

/// Longest shutdown waits for entities to write their snapshots.
const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(30);
/// Longest shutdown lets the catalogue's queued flows run before leaving the rest to the
/// next start.
const FLOWS_GRACE: Duration = Duration::from_secs(2);

pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    let file = ClusterFile::read(&args.config)?;
    let node = file.node(args.node)?.clone();
    // Taken before anything in the directory is touched, so a second `serve` changes nothing.
    let _lock = lock_data_dir(&args.data_dir)?;
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .context("cannot install the metrics recorder")?;
    bazaar_engine::telemetry::describe();
    bazaar_services::saga::describe_metrics();
    let upkeep = metrics.clone();
    let listen = args.listen.unwrap_or(node.http);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        // Installed first, so that a signal during recovery still ends in a clean stop.
        let stop_requested = crate::shutdown_signal()?;
        let readiness = Readiness::default();
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        let address = listener.local_addr()?;
        let ops = OpsState { readiness: readiness.clone(), metrics };
        // Health answers while recovery runs; the API and readiness only after.
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let full_app: Arc<std::sync::OnceLock<axum::Router>> = Arc::default();
        let early = bazaar_gateway::ops::router(ops.clone());
        let server = tokio::spawn(serve_http(listener, early, full_app.clone(), stop_rx));
        println!("bazaar node {} listening on http://{address}", node.id);

        let journal_path = args.data_dir.join("journal");
        let journal_config = file.journal_config(journal_path);
        let journal = tokio::task::spawn_blocking(move || SledJournal::open(journal_config))
            .await?
            .context("cannot open the journal")?;
        let journal = Arc::new(journal);
        let engine = Engine::start(EngineParts {
            config: EngineConfig { node: NodeId(node.id), ..file.engine.clone() },
            journal: journal.clone(),
            clock: Arc::new(SystemClock),
            table: file.shard_table(),
            transport: None,
        })?;
        let (credentials, new_tokens) =
            Credentials::load_or_init(&args.data_dir).map_err(anyhow::Error::msg)?;
        if let Some(path) = new_tokens {
            println!("first start: one bearer token per role written to {} (mode 0600)", path.display());
        }
        bazaar_services::register(&engine);
        engine.register::<bazaar_gateway::idempotency::IdempotencyKey>();
        let catalog = Catalog::new(engine.clone(), Some(args.data_dir.join("search")));
        let rebuilt = {
            let catalog = catalog.clone();
            tokio::task::spawn_blocking(move || catalog.rebuild()).await??
        };
        tracing::info!(products = rebuilt.products, sellers = rebuilt.sellers, search_rebuilt = ?rebuilt.search_rebuilt, "read models rebuilt");
        // Without upkeep the recorder keeps every histogram sample until a scrape.
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(5)).await;
                upkeep.run_upkeep();
            }
        });
        let mut payments = file.payments.clone();
        if !args.psp.is_empty() {
            payments.providers = args.psp.clone();
        }
        let OrderSide { sagas, orders, ledger } = {
            let (engine, catalog) = (engine.clone(), catalog.clone());
            let (vat, checkout) = (Arc::new(file.pricing.vat.clone()), file.checkout.clone());
            tokio::task::spawn_blocking(move || {
                OrderSide::start(&engine, &catalog, payments, vat, checkout)
            })
            .await??
        };
        let limits = Arc::new(RateLimits::new(&file.gateway));
        spawn_rate_limit_janitor(limits.clone());
        let state = AppState {
            engine: engine.clone(),
            catalog: catalog.clone(),
            credentials: Arc::new(credentials),
            limits,
            pricing: Arc::new(file.pricing.clone()),
            ops,
            sagas: sagas.clone(),
            orders,
            ledger,
            rendered: Default::default(),
        };
        // In place before anyone hears "ready": no request after it meets "not ready".
        let _ = full_app.set(bazaar_gateway::app(state));
        readiness.set(true);
        tracing::info!(node = node.id, data_dir = %args.data_dir.display(), "recovered; ready");
        println!("bazaar node {} ready", node.id);
        // Sagas a crash interrupted finish (or compensate) now; new ones run alongside.
        let stopping_sagas = sagas.clone();
        tokio::spawn(async move {
            match sagas.resume().await {
                Ok(resumed) => tracing::info!(resumed, "unfinished checkouts resumed"),
                Err(EngineError::ShuttingDown) => {}
                Err(error) => tracing::error!(error = %error, "cannot list unfinished checkouts"),
            }
        });

        stop_requested.await;
        tracing::info!("shutting down: no new requests, finishing those in flight");
        readiness.set(false);
        let _ = stop_tx.send(true);
        server.await??;
        // Unfinished sagas stay listed; the next start resumes them.
        stopping_sagas.stop();
        // Flows and hold expiry stop before the engine does, in bounded time; what they had
        // queued is derived from the journal, so the next start queues it again.
        catalog.stop(FLOWS_GRACE).await;
        engine.shutdown(SHUTDOWN_DEADLINE).await?;
        catalog.close();
        drop(catalog);
        drop(engine);
        // Other holders (idle actors' runtime) may outlive this scope; closing through the
        // shared handle drains the queue, syncs and stops the journal's threads.
        tokio::task::spawn_blocking(move || journal.close()).await??;
        tracing::info!("stopped cleanly");
        anyhow::Ok(())
    })
}

/// Holds `DIR/LOCK` for as long as the returned file lives.
fn lock_data_dir(dir: &Path) -> anyhow::Result<File> {
    bazaar_persistence::fsync::create_dir_all(dir)
        .with_context(|| format!("cannot create data directory {}", dir.display()))?;
    let path = dir.join("LOCK");
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let holder = std::fs::read_to_string(&path).unwrap_or_default();
            bail!(
                "data directory {} is in use by another bazaar process ({}); stop it or choose another --data-dir",
                dir.display(),
                holder.trim()
            );
        }
        Err(TryLockError::Error(error)) => {
            return Err(error).context("cannot lock the data directory");
        }
    }
    file.set_len(0)?;
    write!(file, "pid {}", std::process::id())?;
    file.sync_data()?;
    Ok(file)
}

async fn wait_for(mut stop: tokio::sync::watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

/// Serves health and readiness at once and the whole API once `full` is set (until then an
/// API request is answered 503 not_ready), on one listener, until `stop`.
async fn serve_http(
    listener: tokio::net::TcpListener,
    early: axum::Router,
    full: Arc<std::sync::OnceLock<axum::Router>>,
    stop: tokio::sync::watch::Receiver<bool>,
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

/// Forgets idle rate-limit keys every minute, so the limiter's memory stays bounded.
fn spawn_rate_limit_janitor(limits: Arc<RateLimits>) {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(60)).await;
            limits.forget_idle();
        }
    });
}
