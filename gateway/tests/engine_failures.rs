//! An engine that cannot answer is not a missing resource: the lookup routes (a cart, a guest
//! cart, an order) answer an overloaded engine 503 with `Retry-After` and a timed-out one 503
//! or 504, never 404 "no such cart" (issue 10's bug: a shopper under load was told their cart
//! did not exist).
//!
//! The node is wired as `serve` wires it, over an in-memory journal that never flushes
//! (`FlushPolicy::Manual`): a write is never durable, so its ask times out, and a read of the
//! same entity waits for that write and times out too; with one shard whose gate takes one
//! ask, a hanging write makes every other ask `Overloaded`.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use bazaar_actors::Currency;
use bazaar_actors::CustomerId;
use bazaar_actors::cart::{Cart, CartCommand, CartOwner, GuestToken};
use bazaar_actors::keys;
use bazaar_engine::{
    Engine, EngineConfig, EngineError, EngineParts, NodeId, ShardTable, SystemClock,
};
use bazaar_gateway::auth::{Credentials, Role};
use bazaar_gateway::config::PricingConfig;
use bazaar_gateway::rate_limit::RateLimits;
use bazaar_gateway::state::OrderSide;
use bazaar_gateway::{AppState, GatewayConfig, OpsState, Readiness};
use bazaar_persistence::memory::{FlushPolicy, MemJournal};
use bazaar_services::catalog::Catalog;
use tower::ServiceExt;

const TENANT: &str = "default";
const GUEST_TOKEN: &str = "guest-token-0123456789";

struct Node {
    engine: Engine,
    app: axum::Router,
    token: String,
    _dir: tempfile::TempDir,
}

/// A node whose journal never makes a write durable; `config` bounds its asks.
async fn node(config: EngineConfig) -> Node {
    let engine = Engine::start(EngineParts {
        config,
        journal: Arc::new(MemJournal::new(FlushPolicy::Manual)),
        clock: Arc::new(SystemClock),
        table: ShardTable::round_robin(1, &[NodeId(1)]),
        transport: None,
    })
    .expect("engine starts");
    bazaar_services::register(&engine);
    engine.register::<bazaar_gateway::idempotency::IdempotencyKey>();
    let dir = tempfile::tempdir().unwrap();
    Credentials::load_or_init(dir.path()).unwrap();
    let token =
        bazaar_gateway::auth::mint(dir.path(), TENANT, Role::Customer, "customer-1").unwrap();
    let credentials =
        Credentials::load(&dir.path().join(bazaar_gateway::auth::CREDENTIALS_FILE)).unwrap();
    let catalog = Catalog::new(engine.clone(), None);
    let OrderSide { sagas, orders, ledger } = {
        let (engine, catalog) = (engine.clone(), catalog.clone());
        let vat = Arc::new(PricingConfig::default().vat);
        tokio::task::spawn_blocking(move || {
            OrderSide::start(&engine, &catalog, Default::default(), vat, Default::default())
        })
        .await
        .unwrap()
        .unwrap()
    };
    let readiness = Readiness::default();
    readiness.set(true);
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder().handle();
    let state = AppState {
        engine: engine.clone(),
        catalog,
        credentials: Arc::new(credentials),
        limits: Arc::new(RateLimits::new(&GatewayConfig::default())),
        pricing: Arc::new(PricingConfig::default()),
        ops: OpsState { readiness, metrics },
        sagas,
        orders,
        ledger,
        rendered: Default::default(),
    };
    Node { engine, app: bazaar_gateway::app(state), token, _dir: dir }
}

impl Node {
    /// Writes a cart; the write is never durable, so the ask itself times out.
    async fn create_cart(&self, id: &str, owner: CartOwner) -> Result<(), EngineError> {
        let command = CartCommand::Create { owner, currency: Currency::EUR };
        self.engine.ask::<Cart>(&keys::cart(TENANT, id), command).await.map(|_| ())
    }

    /// `GET path` as customer-1 (or as the guest, for a guest route): status, problem code
    /// and whether `Retry-After` was sent.
    async fn get(&self, path: &str) -> (StatusCode, String, bool) {
        let request = Request::get(path)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token))
            .header("x-tenant", TENANT)
            .header("x-guest-token", GUEST_TOKEN)
            .body(Body::empty())
            .unwrap();
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let retry_after = response.headers().contains_key(header::RETRY_AFTER);
        let body = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
        let problem: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        (status, problem["code"].as_str().unwrap_or_default().to_owned(), retry_after)
    }
}

fn customer() -> CartOwner {
    CartOwner::Customer(CustomerId::parse("customer-1").unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cart_read_that_times_out_is_not_a_missing_cart() {
    let node = node(EngineConfig { ask_timeout_ms: 300, ..EngineConfig::default() }).await;
    let written = node.create_cart("c-mine", customer()).await;
    assert!(matches!(written, Err(EngineError::Timeout { .. })), "{written:?}");
    let written = node
        .create_cart("c-guest", CartOwner::Guest(GuestToken::parse(GUEST_TOKEN).unwrap()))
        .await;
    assert!(matches!(written, Err(EngineError::Timeout { .. })), "{written:?}");
    for path in ["/v1/carts/c-mine", "/v1/guest/carts/c-guest"] {
        let (status, code, _) = node.get(path).await;
        assert!(
            status == StatusCode::GATEWAY_TIMEOUT || status == StatusCode::SERVICE_UNAVAILABLE,
            "{path}: a timed-out read answered {status} {code}"
        );
        assert_ne!(code, "not_found", "{path}");
    }
    // A cart nobody wrote is still simply not found.
    assert_eq!(node.get("/v1/carts/c-nobody").await.0, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookups_on_an_overloaded_engine_answer_503_with_retry_after() {
    let config = EngineConfig {
        ask_timeout_ms: 5_000,
        shard_asks_in_flight_max: 1,
        ..EngineConfig::default()
    };
    let node = Arc::new(node(config).await);
    // The only shard's only slot, held by a write that is never durable.
    let hanging = {
        let node = node.clone();
        tokio::spawn(async move { node.create_cart("c-hanging", customer()).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let order = "/v1/orders/o-0123456789abcdef0123456789abcdef";
    for path in ["/v1/carts/c-mine", "/v1/guest/carts/c-guest", order] {
        let (status, code, retry_after) = node.get(path).await;
        assert_eq!(
            (status, code.as_str(), retry_after),
            (StatusCode::SERVICE_UNAVAILABLE, "overloaded", true),
            "{path}"
        );
    }
    hanging.abort();
}
