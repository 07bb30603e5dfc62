//! Carriers: shipping labels bought from a carrier's API, and the tracking events the carrier
//! posts back, signed ([`crate::signing`]) with the secret the carrier and the marketplace
//! share (`[shipping] carriers` in `cluster.toml`; `bazaar carrier` is a simulator of one).
//!
//! Invariants:
//! - A label is asked for under a reference `{tenant}/{order id}/{shipment}` that the carrier
//!   keeps: asking again with it answers the same label, so a retry after a time-out never
//!   buys two. Tracking events name the same reference and the label's tracking number.
//! - A tracking event is taken only with a valid signature of its carrier's secret
//!   ([`Carriers::verify`]).

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The carrier API's shapes, shared with `bazaar carrier`.
pub mod wire {
    use serde::{Deserialize, Serialize};

    pub const LABELS_PATH: &str = "/v1/labels";
    /// The service levels a label may have.
    pub const SERVICE_LEVELS: [&str; 2] = ["standard", "express"];

    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct LabelRequest {
        /// `{tenant}/{order id}/{shipment}`: the same again answers the same label.
        pub reference: String,
        pub service_level: String,
        pub destination_country: String,
        /// Where the carrier posts this parcel's tracking events.
        pub callback_url: String,
    }

    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Label {
        pub label_id: String,
        pub carrier: String,
        pub tracking_number: String,
        pub service_level: String,
    }

    /// One tracking event, as the carrier posts it.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct TrackingEvent {
        /// The carrier's id of the event: the same event posted twice has the same id.
        pub event_id: String,
        pub reference: String,
        pub tracking_number: String,
        /// `picked_up`, `in_transit`, `out_for_delivery`, `delivered` or `exception`.
        pub status: String,
        pub at_ms: u64,
        pub location: String,
    }
}

/// One carrier the marketplace ships with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CarrierConfig {
    pub name: String,
    /// `http://host:port` of its API.
    pub url: String,
    /// What its tracking events are signed with.
    pub secret: String,
}

/// `[shipping]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ShippingConfig {
    /// The first is the one labels are bought from.
    pub carriers: Vec<CarrierConfig>,
    /// The base URL carriers reach this node at (its callback route is under it); unset: the
    /// node's own listening address, over `http` (right for a carrier on its network only).
    pub callback_base_url: Option<String>,
    /// How long a carrier has to answer a label request, in ms.
    pub timeout_ms: u64,
}

impl Default for ShippingConfig {
    fn default() -> ShippingConfig {
        ShippingConfig { carriers: Vec::new(), callback_base_url: None, timeout_ms: 5_000 }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CarrierError {
    #[error("no carrier is configured ([shipping] carriers)")]
    NoCarrier,
    #[error("the carrier did not answer: {0}")]
    Unavailable(String),
    #[error("the carrier refused the label: {0}")]
    Refused(String),
}

/// The carriers' client.
#[derive(Clone)]
pub struct Carriers {
    config: ShippingConfig,
    /// Where carriers call back: the configured base, or the node's own address.
    callback_base: String,
    http: reqwest::Client,
}

impl Carriers {
    /// The client of `config`'s carriers, for a node listening at `listening`.
    pub fn new(config: ShippingConfig, listening: std::net::SocketAddr) -> Carriers {
        let callback_base = match &config.callback_base_url {
            Some(base) => base.trim_end_matches('/').to_owned(),
            None => format!("http://{listening}"),
        };
        let timeout = Duration::from_millis(config.timeout_ms.max(1));
        let http = reqwest::Client::builder().timeout(timeout).build().expect("an HTTP client");
        Carriers { config, callback_base, http }
    }

    /// The carrier labels are bought from.
    pub fn default_name(&self) -> Option<&str> {
        self.config.carriers.first().map(|carrier| carrier.name.as_str())
    }

    /// Where carrier `name` posts its tracking events.
    pub fn callback_url(&self, name: &str) -> String {
        format!("{}/callbacks/carriers/{name}/events", self.callback_base)
    }

    /// The carrier named `name`.
    pub fn named(&self, name: &str) -> Option<&CarrierConfig> {
        self.config.carriers.iter().find(|carrier| carrier.name == name)
    }

    /// Buys (or finds again, by its reference) a label from the first carrier.
    pub async fn buy_label(
        &self,
        request: &wire::LabelRequest,
    ) -> Result<wire::Label, CarrierError> {
        let carrier = self.config.carriers.first().ok_or(CarrierError::NoCarrier)?;
        let url = format!("{}{}", carrier.url.trim_end_matches('/'), wire::LABELS_PATH);
        let sent = self.http.post(url).json(request).send().await;
        let response = sent.map_err(|e| CarrierError::Unavailable(e.to_string()))?;
        let status = response.status();
        if status.is_server_error() {
            return Err(CarrierError::Unavailable(format!("it answered {status}")));
        }
        if !status.is_success() {
            let text = response.text().await.unwrap_or_default();
            return Err(CarrierError::Refused(format!("{status}: {text}")));
        }
        response.json().await.map_err(|e| CarrierError::Unavailable(e.to_string()))
    }

    /// Whether `signature` signs `body` as carrier `name` would, now.
    pub fn verify(&self, name: &str, signature: &str, body: &[u8], now_ms: u64) -> bool {
        self.named(name)
            .is_some_and(|carrier| crate::signing::verify(&carrier.secret, signature, body, now_ms))
    }
}
