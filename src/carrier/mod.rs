//! `bazaar carrier`: a parcel carrier simulator, a real HTTP server that tests and load
//! runs use as a carrier. It sells labels (`POST /v1/labels`, the API of
//! `bazaar_services::carriers::wire`) and then walks each parcel through its journey on a
//! schedule, posting each tracking event to the label's callback URL, signed with the shared
//! secret (`bazaar_services::signing`): picked up, in transit, out for delivery, delivered,
//! one every `--step-ms`.
//!
//! Faults, set by flags: `--exception-rate` adds an `exception` (a failed delivery attempt)
//! before the parcel goes out for delivery again; `--duplicate-rate` posts an event twice (a
//! receiver must apply it once). A callback that fails is retried with a doubling backoff,
//! up to [`CALLBACK_ATTEMPTS`] times, so a receiver that restarts misses nothing.
//!
//! Like `bazaar psp`, it takes no token and keeps everything in memory: it belongs on
//! loopback or a test network. Nothing a request sends can panic it: bad input is a problem
//! answer.

pub mod limits;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bazaar_services::carriers::wire::{self, Label, LabelRequest, TrackingEvent};
use bazaar_services::signing::{SIGNATURE_HEADER, signature};
use serde_json::json;

use self::limits::{CALLBACK_ATTEMPTS, CALLBACK_RETRY_MS, LABEL_TEXT_BYTES_MAX};
use crate::psp::latency::Rng;
use crate::psp::unix_ms;

#[derive(Debug, clap::Args)]
pub struct CarrierArgs {
    /// Where to listen (port 0 picks a free one, printed at start).
    #[arg(long)]
    listen: SocketAddr,
    /// The carrier's name, on its labels.
    #[arg(long, default_value = "sim-post")]
    name: String,
    /// The secret its tracking events are signed with (the marketplace's `[shipping]` has it).
    #[arg(long, env = "BAZAAR_CARRIER_SECRET")]
    secret: String,
    /// Time between a parcel's tracking events, in ms.
    #[arg(long, default_value_t = 500)]
    step_ms: u64,
    /// Fraction of parcels with a failed delivery attempt (an `exception`), 0 to 1.
    #[arg(long, default_value_t = 0.0)]
    exception_rate: f64,
    /// Fraction of tracking events posted twice, 0 to 1.
    #[arg(long, default_value_t = 0.0)]
    duplicate_rate: f64,
}

struct Carrier {
    name: String,
    secret: String,
    step: Duration,
    exception_rate: f64,
    duplicate_rate: f64,
    /// Labels by reference, and the statuses each parcel's receiver acknowledged.
    parcels: Mutex<HashMap<String, Parcel>>,
    sold: Mutex<u64>,
    http: reqwest::Client,
    rng: Rng,
}

struct Parcel {
    label: Label,
    acknowledged: Vec<String>,
}

pub fn run(args: CarrierArgs) -> anyhow::Result<()> {
    let rates =
        [("--exception-rate", args.exception_rate), ("--duplicate-rate", args.duplicate_rate)];
    for (flag, rate) in rates {
        if !(0.0..=1.0).contains(&rate) {
            anyhow::bail!("{flag} is a fraction from 0 to 1, not {rate}");
        }
    }
    if args.secret.len() < 16 {
        anyhow::bail!("--secret must be at least 16 bytes");
    }
    let name = args.name;
    let carrier = Arc::new(Carrier {
        name: name.clone(),
        secret: args.secret,
        step: Duration::from_millis(args.step_ms),
        exception_rate: args.exception_rate,
        duplicate_rate: args.duplicate_rate,
        parcels: Mutex::new(HashMap::new()),
        sold: Mutex::new(0),
        http: reqwest::Client::builder().timeout(Duration::from_secs(5)).build()?,
        rng: Rng::from_entropy(),
    });
    let app = Router::new()
        .route(wire::LABELS_PATH, post(buy_label))
        .route("/v1/labels/{tracking}", get(get_label))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(carrier);
    crate::simulator::serve("carrier", &name, args.listen, app, Duration::from_secs(1))
}

fn problem(status: StatusCode, code: &str, detail: &str) -> Response {
    let body = json!({"status": status.as_u16(), "code": code, "detail": detail});
    (status, [("content-type", "application/problem+json")], body.to_string()).into_response()
}

async fn buy_label(State(carrier): State<Arc<Carrier>>, body: axum::body::Bytes) -> Response {
    let Ok(request) = serde_json::from_slice::<LabelRequest>(&body) else {
        return problem(StatusCode::BAD_REQUEST, "bad_request", "not a label request");
    };
    let text_ok = |t: &str| !t.is_empty() && t.len() <= LABEL_TEXT_BYTES_MAX;
    if !text_ok(&request.reference)
        || !text_ok(&request.callback_url)
        || !request.callback_url.starts_with("http")
        || !wire::SERVICE_LEVELS.contains(&request.service_level.as_str())
    {
        return problem(StatusCode::UNPROCESSABLE_ENTITY, "label_invalid", "a bad label request");
    }
    let label = {
        let mut parcels = carrier.parcels.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(parcel) = parcels.get(&request.reference) {
            return (StatusCode::OK, Json(parcel.label.clone())).into_response();
        }
        let mut sold = carrier.sold.lock().unwrap_or_else(PoisonError::into_inner);
        *sold += 1;
        let prefix: String =
            carrier.name.chars().filter(char::is_ascii_alphanumeric).take(4).collect();
        let label = Label {
            label_id: format!("lbl-{}", *sold),
            carrier: carrier.name.clone(),
            tracking_number: format!("{}{:010}", prefix.to_uppercase(), *sold),
            service_level: request.service_level.clone(),
        };
        let parcel = Parcel { label: label.clone(), acknowledged: Vec::new() };
        parcels.insert(request.reference.clone(), parcel);
        label
    };
    tokio::spawn(journey(carrier, request, label.clone()));
    (StatusCode::CREATED, Json(label)).into_response()
}

async fn get_label(State(carrier): State<Arc<Carrier>>, Path(tracking): Path<String>) -> Response {
    let parcels = carrier.parcels.lock().unwrap_or_else(PoisonError::into_inner);
    match parcels.values().find(|parcel| parcel.label.tracking_number == tracking) {
        Some(parcel) => Json(json!({"label": parcel.label, "acknowledged": parcel.acknowledged}))
            .into_response(),
        None => problem(StatusCode::NOT_FOUND, "not_found", "no such label"),
    }
}

/// Walks one parcel through its journey, posting each event to its callback.
async fn journey(carrier: Arc<Carrier>, request: LabelRequest, label: Label) {
    let mut statuses = vec![("picked_up", "origin depot"), ("in_transit", "sorting hub")];
    if carrier.rng.unit() < carrier.exception_rate {
        statuses.push(("out_for_delivery", "delivery van"));
        statuses.push(("exception", "recipient not at home"));
    }
    statuses.extend([("out_for_delivery", "delivery van"), ("delivered", "front door")]);
    for (n, (status, location)) in statuses.into_iter().enumerate() {
        tokio::time::sleep(carrier.step).await;
        let event = TrackingEvent {
            event_id: format!("{}-{}", label.tracking_number, n + 1),
            reference: request.reference.clone(),
            tracking_number: label.tracking_number.clone(),
            status: status.to_owned(),
            at_ms: unix_ms(),
            location: location.to_owned(),
        };
        let copies = if carrier.rng.unit() < carrier.duplicate_rate { 2 } else { 1 };
        for _ in 0..copies {
            if !send(&carrier, &request.callback_url, &event).await {
                tracing::warn!(event = event.event_id, "a tracking event was given up on");
                continue;
            }
            let mut parcels = carrier.parcels.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(parcel) = parcels.get_mut(&request.reference) {
                parcel.acknowledged.push(status.to_owned());
            }
        }
    }
}

/// Posts `event`, signed, retrying failures; whether the receiver took it.
async fn send(carrier: &Carrier, url: &str, event: &TrackingEvent) -> bool {
    let body = serde_json::to_vec(event).expect("JSON of an event");
    let mut wait = Duration::from_millis(CALLBACK_RETRY_MS);
    for _ in 0..CALLBACK_ATTEMPTS {
        let signed = signature(&carrier.secret, unix_ms(), &body);
        let sent = carrier
            .http
            .post(url)
            .header("content-type", "application/json")
            .header(SIGNATURE_HEADER, signed)
            .body(body.clone())
            .send()
            .await;
        if sent.is_ok_and(|response| response.status().is_success()) {
            return true;
        }
        tokio::time::sleep(wait).await;
        wait *= 2;
    }
    false
}
