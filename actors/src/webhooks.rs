//! A tenant's webhook subscriptions (kind [`kinds::WEBHOOKS`], keyed by the tenant): where
//! the notices of its orders' timelines are delivered (`bazaar_services::notify`), which
//! types each wants, and the secret their deliveries are signed with.
//!
//! Invariants:
//! - At most [`WEBHOOKS_PER_TENANT_MAX`] subscriptions; ids are never reused.
//! - A URL is one [`is_webhook_url`] takes; every type filtered on is one of [`EVENT_TYPES`] (none: all).
//! - A subscription receives the notices that happened from its creation on, never earlier.

use bazaar_entity::{Ctx, Decision, Entity, Kind};
use serde::{Deserialize, Serialize};

use crate::kinds;
use crate::limits::{WEBHOOK_SECRET_BYTES_MAX, WEBHOOK_URL_BYTES_MAX, WEBHOOKS_PER_TENANT_MAX};
use crate::order::timeline::EVENT_TYPES;
use crate::rejection::{Rejection, RejectionKind};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    pub id: u32,
    pub url: String,
    /// The event types it wants; empty: every type.
    pub events: Vec<String>,
    /// What its deliveries are signed with (HMAC-SHA256).
    pub secret: String,
    pub created_at_ms: u64,
}

impl Subscription {
    /// Whether a notice of `event_type` that happened at `at_ms` is for this subscription.
    pub fn wants(&self, event_type: &str, at_ms: u64) -> bool {
        at_ms >= self.created_at_ms
            && (self.events.is_empty() || self.events.iter().any(|e| e == event_type))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum WebhooksCommand {
    Subscribe { url: String, events: Vec<String>, secret: String },
    Unsubscribe { id: u32 },
    Get,
}

/// Variants are append-only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum WebhooksEvent {
    Subscribed(Subscription),
    Unsubscribed { id: u32 },
}

/// Variants are append-only; see [`Rejection`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum WebhooksRejection {
    #[error("a webhook URL is http:// or https://, at most {max_bytes} bytes, no spaces")]
    UrlInvalid { max_bytes: u32 },
    #[error("no such event type: {event_type}")]
    UnknownEventType { event_type: String },
    #[error("a tenant has at most {max} webhook subscriptions")]
    TooManySubscriptions { max: u32 },
    #[error("no such webhook subscription")]
    UnknownSubscription,
    #[error("a webhook secret is 16 to {max_bytes} bytes")]
    SecretInvalid { max_bytes: u32 },
    #[error("an event type is listed twice: {event_type}")]
    EventTypeRepeated { event_type: String },
}

impl Rejection for WebhooksRejection {
    fn code(&self) -> &'static str {
        match self {
            WebhooksRejection::UrlInvalid { .. } => "webhook_url_invalid",
            WebhooksRejection::UnknownEventType { .. } => "unknown_event_type",
            WebhooksRejection::TooManySubscriptions { .. } => "too_many_webhooks",
            WebhooksRejection::UnknownSubscription => "not_found",
            WebhooksRejection::SecretInvalid { .. } => "webhook_secret_invalid",
            WebhooksRejection::EventTypeRepeated { .. } => "event_type_repeated",
        }
    }

    fn kind(&self) -> RejectionKind {
        match self {
            WebhooksRejection::UrlInvalid { .. }
            | WebhooksRejection::UnknownEventType { .. }
            | WebhooksRejection::SecretInvalid { .. }
            | WebhooksRejection::EventTypeRepeated { .. } => RejectionKind::Invalid,
            WebhooksRejection::TooManySubscriptions { .. } => RejectionKind::Conflict,
            WebhooksRejection::UnknownSubscription => RejectionKind::NotFound,
        }
    }
}

/// What the entity answers: the subscriptions after the command, and the one it made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhooksReply {
    pub subscriptions: Vec<Subscription>,
    pub made: Option<Subscription>,
}

#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Webhooks {
    subscriptions: Vec<Subscription>,
    next_id: u32,
}

impl Webhooks {
    pub fn subscriptions(&self) -> &[Subscription] {
        &self.subscriptions
    }
}

/// Whether `url` is one a subscription may have: `http://` or `https://`, then a host (not
/// a `/`) and at least 4 characters in all, at most [`WEBHOOK_URL_BYTES_MAX`] bytes, without
/// spaces or control characters.
pub fn is_webhook_url(url: &str) -> bool {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    url.len() <= WEBHOOK_URL_BYTES_MAX
        && rest.is_some_and(|rest| rest.chars().count() >= 4 && !rest.starts_with('/'))
        && !url.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn subscribe(
    state: &Webhooks,
    (url, events, secret): (String, Vec<String>, String),
    now_ms: u64,
) -> Result<Subscription, WebhooksRejection> {
    if !is_webhook_url(&url) {
        return Err(WebhooksRejection::UrlInvalid { max_bytes: WEBHOOK_URL_BYTES_MAX as u32 });
    }
    if let Some(unknown) = events.iter().find(|e| !EVENT_TYPES.contains(&e.as_str())) {
        return Err(WebhooksRejection::UnknownEventType { event_type: unknown.clone() });
    }
    if !(16..=WEBHOOK_SECRET_BYTES_MAX).contains(&secret.len()) {
        return Err(WebhooksRejection::SecretInvalid {
            max_bytes: WEBHOOK_SECRET_BYTES_MAX as u32,
        });
    }
    if state.subscriptions.len() >= WEBHOOKS_PER_TENANT_MAX {
        return Err(WebhooksRejection::TooManySubscriptions {
            max: WEBHOOKS_PER_TENANT_MAX as u32,
        });
    }
    let mut sorted: Vec<&String> = events.iter().collect();
    sorted.sort();
    if let Some(pair) = sorted.windows(2).find(|pair| pair[0] == pair[1]) {
        return Err(WebhooksRejection::EventTypeRepeated { event_type: pair[0].clone() });
    }
    let id = state.next_id.saturating_add(1);
    Ok(Subscription { id, url, events, secret, created_at_ms: now_ms })
}

impl Entity for Webhooks {
    const KIND: Kind = kinds::WEBHOOKS;
    type Command = WebhooksCommand;
    type Event = WebhooksEvent;
    type Reply = WebhooksReply;
    type Rejection = WebhooksRejection;

    fn decide(
        &self,
        command: WebhooksCommand,
        ctx: &Ctx<'_>,
    ) -> Result<Decision<Self>, WebhooksRejection> {
        let (events, made) = match command {
            WebhooksCommand::Get => (Vec::new(), None),
            WebhooksCommand::Subscribe { url, events, secret } => {
                let made = subscribe(self, (url, events, secret), ctx.now_ms)?;
                (vec![WebhooksEvent::Subscribed(made.clone())], Some(made))
            }
            WebhooksCommand::Unsubscribe { id } => {
                if !self.subscriptions.iter().any(|s| s.id == id) {
                    return Err(WebhooksRejection::UnknownSubscription);
                }
                (vec![WebhooksEvent::Unsubscribed { id }], None)
            }
        };
        let mut after = self.clone();
        events.iter().for_each(|event| after.apply(event));
        Ok((events, WebhooksReply { subscriptions: after.subscriptions, made }))
    }

    fn apply(&mut self, event: &WebhooksEvent) {
        match event {
            WebhooksEvent::Subscribed(subscription) => {
                self.next_id = self.next_id.max(subscription.id);
                self.subscriptions.push(subscription.clone());
            }
            WebhooksEvent::Unsubscribed { id } => self.subscriptions.retain(|s| s.id != *id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Harness;

    const SECRET: &str = "0123456789abcdef0123";

    fn subscribe(url: &str, events: &[&str]) -> WebhooksCommand {
        let events = events.iter().map(|e| e.to_string()).collect();
        WebhooksCommand::Subscribe { url: url.into(), events, secret: SECRET.into() }
    }

    #[test]
    fn subscriptions_get_new_ids_and_want_what_they_filter_from_their_creation_on() {
        let mut hooks = Harness::<Webhooks>::new("t");
        hooks.now_ms = 1_000;
        let (_, reply) = hooks.run(subscribe("https://example.test/hook", &[])).unwrap();
        let first = reply.made.unwrap();
        assert_eq!((first.id, first.created_at_ms), (1, 1_000));
        assert!(first.wants("order.placed", 1_000) && !first.wants("order.placed", 999));
        let (_, reply) =
            hooks.run(subscribe("http://127.0.0.1:9/h", &["shipment.shipped"])).unwrap();
        let second = reply.made.unwrap();
        assert!(second.wants("shipment.shipped", 2_000) && !second.wants("order.placed", 2_000));
        hooks.run(WebhooksCommand::Unsubscribe { id: 1 }).unwrap();
        let (_, reply) = hooks.run(subscribe("https://example.test/again", &[])).unwrap();
        assert_eq!(reply.made.unwrap().id, 3, "ids are never reused");
        assert_eq!(reply.subscriptions.len(), 2);
        let gone = hooks.run(WebhooksCommand::Unsubscribe { id: 1 });
        assert_eq!(gone, Err(WebhooksRejection::UnknownSubscription));
    }

    #[test]
    fn bad_urls_types_secrets_and_one_too_many_are_refused() {
        let mut hooks = Harness::<Webhooks>::new("t");
        let url = WebhooksRejection::UrlInvalid { max_bytes: WEBHOOK_URL_BYTES_MAX as u32 };
        for bad in ["ftp://example.test/x", "https://", "https:///path", "https://a b.test/x"] {
            assert_eq!(hooks.run(subscribe(bad, &[])), Err(url.clone()), "{bad}");
        }
        let twice = hooks.run(subscribe("https://example.test/x", &["order.placed"; 2]));
        let event_type = "order.placed".to_string();
        assert_eq!(twice, Err(WebhooksRejection::EventTypeRepeated { event_type }));
        let unknown = hooks.run(subscribe("https://example.test/x", &["order.eaten"]));
        let event_type = "order.eaten".to_string();
        assert_eq!(unknown, Err(WebhooksRejection::UnknownEventType { event_type }));
        let short = WebhooksCommand::Subscribe {
            url: "https://example.test/x".into(),
            events: vec![],
            secret: "short".into(),
        };
        assert!(matches!(hooks.run(short), Err(WebhooksRejection::SecretInvalid { .. })));
        for _ in 0..WEBHOOKS_PER_TENANT_MAX {
            hooks.run(subscribe("https://example.test/x", &[])).unwrap();
        }
        let full = hooks.run(subscribe("https://example.test/x", &[]));
        let max = WEBHOOKS_PER_TENANT_MAX as u32;
        assert_eq!(full, Err(WebhooksRejection::TooManySubscriptions { max }));
    }
}
