//! Webhook subscriptions' fields: the receiver's URL (what
//! [`bazaar_actors::webhooks::is_webhook_url`] takes) and the event types to filter on.

use utoipa::openapi::schema::{Array, Object};

use super::{CONTROL, array, one_of, string};

/// A webhook's URL ([`bazaar_actors::webhooks::is_webhook_url`]).
pub fn webhook_url() -> Object {
    let max = bazaar_actors::limits::WEBHOOK_URL_BYTES_MAX;
    string(&format!(r"^https?://[^\s/{CONTROL}][^\s{CONTROL}]{{3,}}$"), 11, max, false)
}

/// Event types a webhook subscription filters on, each at most once.
pub fn event_types() -> Array {
    let types = bazaar_actors::order::timeline::EVENT_TYPES;
    let mut listed = array(one_of(&types, false), 0, types.len());
    listed.unique_items = true;
    listed
}
