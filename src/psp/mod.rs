//! `bazaar psp`: a payment provider simulator, a real HTTP server that tests, `bazaar sim`
//! and benches use as a PSP. It speaks the API in `bazaar_actors::payment::wire`; its
//! records live in memory ([`state`]) and are gone when the process stops.
//!
//! Fault injection, set at start by flags or at run time by `PUT /admin/knobs` ([`knobs`]),
//! applies to the money-moving calls (`POST /v1/...`), in this order:
//! 1. `outage`: answer 503 at once, like a dead upstream behind a load balancer.
//! 2. latency: sleep a sample of the log-normal fitted to p50 and p99 ([`latency`]).
//! 3. `error_rate`: that fraction of calls answer 500 without doing anything, so a retry
//!    with the same key may succeed.
//!
//! Each money call runs to its end even if the client hangs up (a timed-out call may still
//! take effect, as at a real provider).
//!
//! `GET /v1/settlement` (the judge of what really happened), `POST /v1/challenges/{id}` (the
//! customer at the issuer), `/admin/knobs` and `/healthz` are never delayed or failed.
//!
//! No endpoint takes a token, `PUT /admin/knobs` included: the simulator is a test tool that
//! moves no real money, and a load tester wants to flip its knobs from a script without
//! handling secrets. Whoever reaches its port can change its behaviour, so it belongs on
//! loopback or a test network (`bazaar psp --help` says so).
//!
//! Cost: the simulator shares its machine with the node and the load that it serves, so a call
//! should take it as little CPU as a bare handler. It runs on one thread (a current-thread
//! runtime): its calls are a few microseconds of work each, and a second worker would add a
//! futex wake-up and a thread switch to most of them for nothing. Connections are HTTP/1.1
//! keep-alive without Nagle's delay; nothing is logged per call.
//!
//! Invariants: the ledger sits behind one std mutex taken only inside a handler's
//! synchronous part (never across an `.await`), so each call is atomic and twenty concurrent
//! authorizations with one key create exactly one record. Nothing a request sends can panic
//! the server: bad JSON and bad values are problem+json answers.

mod knobs;
pub(crate) mod latency;
pub mod limits;
mod state;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bazaar_actors::payment::wire;
use serde::Serialize;
use serde::de::DeserializeOwned;

use self::knobs::{Knobs, KnobsUpdate};
use self::latency::{Latency, Rng};
use self::state::{Ledger, Odds, Refusal};
use crate::psp::limits::BODY_BYTES_MAX;

/// How long a stopping simulator lets calls in flight (sleeping a latency) finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

#[derive(Debug, clap::Args)]
pub struct PspArgs {
    /// Where to listen (port 0 picks a free one, printed at start).
    #[arg(long)]
    listen: SocketAddr,
    /// The provider's name, reported in its settlement.
    #[arg(long, default_value = "psp")]
    name: String,
    /// Median latency added to each money call, in ms (0: none).
    #[arg(long, default_value_t = 0)]
    latency_p50_ms: u64,
    /// 99th percentile of that latency, in ms [default: the median].
    #[arg(long)]
    latency_p99_ms: Option<u64>,
    /// Fraction of authorization keys declined, 0 to 1.
    #[arg(long, default_value_t = 0.0)]
    decline_rate: f64,
    /// Fraction of money calls answered 500 without doing anything, 0 to 1.
    #[arg(long, default_value_t = 0.0)]
    error_rate: f64,
    /// Start in an outage: every money call answers 503.
    #[arg(long)]
    outage: bool,
    /// Fraction of captured payments disputed as fraudulent at once, 0 to 1.
    #[arg(long, default_value_t = 0.0)]
    dispute_rate: f64,
    /// Fraction of authorizations that ask for a 3-D Secure challenge, 0 to 1 (card
    /// `tok_3ds` always does). The customer answers at `POST /v1/challenges/{id}`.
    #[arg(long, default_value_t = 0.0)]
    challenge_rate: f64,
}

/// One simulated provider.
struct Simulator {
    name: String,
    ledger: Mutex<Ledger>,
    knobs: Mutex<Knobs>,
    rng: Rng,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Ledger and knobs are consistent at every instruction; a panic cannot leave half a write.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Simulator {
    fn knobs(&self) -> Knobs {
        *lock(&self.knobs)
    }
}

pub fn run(args: PspArgs) -> anyhow::Result<()> {
    let name = args.name;
    let max = bazaar_services::limits::PROVIDER_NAME_BYTES_MAX;
    if name.is_empty() || name.len() > max || name.contains(char::is_whitespace) {
        anyhow::bail!("--name {name:?} must be 1 to {max} characters without spaces");
    }
    let knobs = Knobs {
        latency_p50_ms: args.latency_p50_ms,
        latency_p99_ms: args.latency_p99_ms.unwrap_or(args.latency_p50_ms),
        decline_rate: args.decline_rate,
        error_rate: args.error_rate,
        outage: args.outage,
        dispute_rate: args.dispute_rate,
        challenge_rate: args.challenge_rate,
    };
    knobs.validate().map_err(anyhow::Error::msg)?;
    let simulator = Arc::new(Simulator {
        name: name.clone(),
        ledger: Mutex::new(Ledger::default()),
        knobs: Mutex::new(knobs),
        rng: Rng::from_entropy(),
    });
    tracing::info!(psp = name, ?knobs, "payment provider simulator starting");
    crate::simulator::serve("psp", &name, args.listen, router(simulator), SHUTDOWN_GRACE)
}

fn router(simulator: Arc<Simulator>) -> Router {
    Router::new()
        .route(wire::AUTHORIZATIONS_PATH, post(authorize))
        .route(wire::CAPTURES_PATH, post(capture))
        .route(wire::VOIDS_PATH, post(void))
        .route(wire::REFUNDS_PATH, post(refund))
        .route(wire::SETTLEMENT_PATH, get(settlement))
        .route(wire::DISPUTES_PATH, get(disputes))
        .route("/admin/disputes", post(raise_dispute))
        .route(&format!("{}/{{id}}", wire::CHALLENGES_PATH), post(answer_challenge))
        .route("/admin/knobs", get(get_knobs).put(put_knobs))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(simulator)
}

/// What a money call does to the ledger once the knobs' faults let it through.
type Act<B> = fn(&Simulator, B) -> Response;

async fn authorize(State(simulator): State<Arc<Simulator>>, request: Request) -> Response {
    money(simulator, request, |simulator, body: wire::AuthorizeBody| {
        let knobs = simulator.knobs();
        let odds = Odds { decline: knobs.decline_rate, challenge: knobs.challenge_rate };
        answer(lock(&simulator.ledger).authorize(&body, odds, unix_ms()))
    })
    .await
}

async fn capture(State(simulator): State<Arc<Simulator>>, request: Request) -> Response {
    money(simulator, request, |simulator, body: wire::CaptureBody| {
        let dispute_rate = simulator.knobs().dispute_rate;
        let mut ledger = lock(&simulator.ledger);
        let captured = ledger.capture(&body);
        let key = &body.authorization_key;
        if captured.is_ok() && state::disputed_at(key, dispute_rate) {
            // Nothing captured may be left (a refund raced it): then nothing is disputed.
            let _ = ledger.dispute(key, "fraudulent", unix_ms());
        }
        answer(captured)
    })
    .await
}

async fn disputes(State(simulator): State<Arc<Simulator>>) -> Json<Vec<wire::Dispute>> {
    Json(lock(&simulator.ledger).disputes())
}

/// What `POST /admin/disputes` takes: the authorization disputed and why.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RaiseDispute {
    authorization_key: String,
    reason: String,
}

/// Raises a dispute on a captured payment (a test's or a load run's), as a card issuer would.
async fn raise_dispute(
    State(simulator): State<Arc<Simulator>>,
    body: Result<Json<RaiseDispute>, JsonRejection>,
) -> Response {
    let Json(body) = match body {
        Ok(body) => body,
        Err(rejection) => return bad_json(rejection),
    };
    answer(lock(&simulator.ledger).dispute(&body.authorization_key, &body.reason, unix_ms()))
}

/// The customer's answer to a challenge, at the issuer's page (never delayed or failed: it
/// is the customer's browser talking to the issuer, not the merchant's call).
async fn answer_challenge(
    State(simulator): State<Arc<Simulator>>,
    axum::extract::Path(id): axum::extract::Path<String>,
    body: Result<Json<wire::ChallengeAnswer>, JsonRejection>,
) -> Response {
    let Json(body) = match body {
        Ok(body) => body,
        Err(rejection) => return bad_json(rejection),
    };
    answer(lock(&simulator.ledger).answer_challenge(&id, body.approve))
}

async fn void(State(simulator): State<Arc<Simulator>>, request: Request) -> Response {
    money(simulator, request, |simulator, body: wire::VoidBody| {
        answer(lock(&simulator.ledger).void(&body.authorization_key))
    })
    .await
}

async fn refund(State(simulator): State<Arc<Simulator>>, request: Request) -> Response {
    money(simulator, request, |simulator, body: wire::RefundBody| {
        answer(lock(&simulator.ledger).refund(&body))
    })
    .await
}

/// A money call behind the knobs' faults (see the module doc for the order). A delayed call
/// runs in a task of its own, so a client that times out and hangs up does not cancel it: as
/// at a real provider, the outcome of a timed-out call is unknown, not "nothing". An
/// undelayed one has no await point after its body is read, so it runs to its end where it is.
async fn money<B: DeserializeOwned + 'static>(
    simulator: Arc<Simulator>,
    request: Request,
    act: Act<B>,
) -> Response {
    let knobs = simulator.knobs();
    if knobs.outage {
        return problem(503, "outage", "the provider is down (simulated outage)");
    }
    // Read now, while the connection is there: the call may outlive it.
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, BODY_BYTES_MAX).await {
        Ok(bytes) => bytes,
        Err(error) => return problem(400, "bad_request", &format!("unreadable body: {error}")),
    };
    let json = is_json(&parts.headers);
    let delay_ms =
        Latency::fit(knobs.latency_p50_ms, knobs.latency_p99_ms).sample_ms(&simulator.rng);
    if delay_ms == 0 {
        return settle(&simulator, json, &body, act);
    }
    let call = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        settle(&simulator, json, &body, act)
    });
    match call.await {
        Ok(response) => response,
        Err(error) => problem(500, "internal_error", &format!("the call failed: {error}")),
    }
}

/// The end of a money call: the simulated error roll, then the body read as axum's `Json`
/// reads it (415 without a JSON content type, 400 for bad syntax, 422 for bad values), then
/// the ledger.
fn settle<B: DeserializeOwned>(
    simulator: &Simulator,
    json: bool,
    body: &[u8],
    act: Act<B>,
) -> Response {
    if simulator.rng.unit() < simulator.knobs().error_rate {
        return problem(500, "simulated_error", "simulated failure, nothing was done");
    }
    if !json {
        let detail = "Expected request with `Content-Type: application/json`";
        return problem(415, "invalid_json", detail);
    }
    match Json::<B>::from_bytes(body) {
        Ok(Json(body)) => act(simulator, body),
        Err(rejection) => bad_json(rejection),
    }
}

/// Whether the request says its body is JSON (`application/json` or `application/*+json`),
/// as axum's `Json` requires.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence == "application/json"
        || essence.strip_prefix("application/").is_some_and(|sub| sub.ends_with("+json"))
}

async fn settlement(State(simulator): State<Arc<Simulator>>) -> Json<wire::SettlementReport> {
    Json(lock(&simulator.ledger).settlement(&simulator.name))
}

async fn get_knobs(State(simulator): State<Arc<Simulator>>) -> Json<Knobs> {
    Json(simulator.knobs())
}

async fn put_knobs(
    State(simulator): State<Arc<Simulator>>,
    update: Result<Json<KnobsUpdate>, JsonRejection>,
) -> Response {
    let Json(update) = match update {
        Ok(update) => update,
        Err(rejection) => return bad_json(rejection),
    };
    let mut knobs = lock(&simulator.knobs);
    match knobs.updated(&update) {
        Ok(updated) => {
            *knobs = updated;
            drop(knobs);
            tracing::info!(psp = simulator.name, knobs = ?updated, "knobs changed");
            Json(updated).into_response()
        }
        Err(detail) => problem(422, "invalid", &detail),
    }
}

fn answer<T: Serialize>(result: Result<T, Refusal>) -> Response {
    match result {
        Ok(value) => Json(value).into_response(),
        Err(refusal) => problem(refusal.status, refusal.code, &refusal.detail),
    }
}

fn bad_json(rejection: JsonRejection) -> Response {
    problem(rejection.status().as_u16(), "invalid_json", &rejection.body_text())
}

fn problem(status: u16, code: &str, detail: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = wire::Problem {
        status: status.as_u16(),
        code: code.to_string(),
        title: status.canonical_reason().unwrap_or("error").to_lowercase(),
        detail: detail.to_string(),
    };
    (status, [(header::CONTENT_TYPE, "application/problem+json")], Json(body)).into_response()
}

pub(crate) fn unix_ms() -> u64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    since.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)).unwrap_or_default()
}
