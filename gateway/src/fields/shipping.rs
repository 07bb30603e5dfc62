//! Shipping's fields: a carrier's name and a label's service level.

use utoipa::openapi::schema::Object;

use super::{ID_BYTES_MAX, name_pattern, one_of, string};

/// A carrier's name (`[shipping] carriers`).
pub fn carrier_name() -> Object {
    string(&name_pattern(ID_BYTES_MAX), 1, ID_BYTES_MAX, false)
}

/// A label's service level.
pub fn service_level_option() -> Object {
    one_of(&bazaar_services::carriers::wire::SERVICE_LEVELS, true)
}
