//! An engine that cannot answer is not a missing resource: the lookup routes (a cart, a guest
//! cart, an order) answer an overloaded engine 503 with `Retry-After` and a timed-out one 503
//! or 504, never 404 "no such cart" (issue 10's bug: a shopper under load was told their cart
//! did not exist).
//!
//! The node is the one `serve` runs (`bazaar::node::Node`), in this process, over an
//! in-memory journal that never flushes (`FlushPolicy::Manual`): a write is never durable, so
//! its ask times out, and a read of the same entity waits for that write and times out too;
//! with one shard whose gate takes one ask, a hanging write makes every other ask
//! `Overloaded`. Requests go over real HTTP to the node's own server.
//!
//! (Moved from `gateway/tests/`: the gateway cannot depend on the package that assembles a
//! node.)

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bazaar::node::{Node, NodeConfig, NodeJournal};
use bazaar_actors::Currency;
use bazaar_actors::CustomerId;
use bazaar_actors::cart::{Cart, CartCommand, CartOwner, GuestToken};
use bazaar_actors::keys;
use bazaar_engine::{EngineConfig, EngineError, NodeId, ShardTable};
use bazaar_persistence::memory::{FlushPolicy, MemJournal};
use reqwest::{StatusCode, header};

const TENANT: &str = "default";
const GUEST_TOKEN: &str = "guest-token-0123456789";

struct TestNode {
    node: Node,
    http: reqwest::Client,
    token: String,
    _dir: tempfile::TempDir,
}

/// A node whose journal never makes a write durable; `config` bounds its asks.
async fn node(config: EngineConfig) -> TestNode {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(NodeConfig {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        data_dir: dir.path().to_path_buf(),
        journal: NodeJournal::Given(Arc::new(MemJournal::new(FlushPolicy::Manual))),
        engine: config,
        table: ShardTable::round_robin(1, &[NodeId(1)]),
        gateway: Default::default(),
        pricing: Default::default(),
        payments: Default::default(),
        checkout: Default::default(),
        catalog: Default::default(),
        sellers: Default::default(),
        returns: Default::default(),
        notifications: Default::default(),
        shipping: Default::default(),
        master_key: None,
        metrics: metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder().handle(),
    })
    .await
    .expect("the node starts");
    let token = bazaar::testkit::initial_tokens(dir.path())["customer-1"].clone();
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    TestNode { node, http, token, _dir: dir }
}

impl TestNode {
    /// Writes a cart; the write is never durable, so the ask itself times out.
    async fn create_cart(&self, id: &str, owner: CartOwner) -> Result<(), EngineError> {
        let command = CartCommand::Create { owner, currency: Currency::EUR };
        self.node.engine().ask::<Cart>(&keys::cart(TENANT, id), command).await.map(|_| ())
    }

    /// `GET path` as customer-1 (or as the guest, for a guest route): status, problem code
    /// and whether `Retry-After` was sent.
    async fn get(&self, path: &str) -> (StatusCode, String, bool) {
        let response = self
            .http
            .get(format!("http://{}{path}", self.node.address()))
            .bearer_auth(&self.token)
            .header("x-tenant", TENANT)
            .header("x-guest-token", GUEST_TOKEN)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let retry_after = response.headers().contains_key(header::RETRY_AFTER);
        let problem: serde_json::Value = response.json().await.unwrap_or_default();
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
    // The only shard's only slot, held by a write that is never durable. The node's own
    // background work at start (resuming checkouts, the payment job's first sweep) may hold
    // the slot for a moment: a write it turned away is sent again.
    let hanging = loop {
        let writer = node.clone();
        let write = tokio::spawn(async move { writer.create_cart("c-hanging", customer()).await });
        tokio::time::sleep(Duration::from_millis(200)).await;
        if !write.is_finished() {
            break write;
        }
        let refused = write.await.unwrap();
        assert!(matches!(refused, Err(EngineError::Overloaded { .. })), "{refused:?}");
    };
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
