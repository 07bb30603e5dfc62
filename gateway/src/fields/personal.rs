//! Personal data's fields (a delivery address, a customer's profile): their schemas and, where
//! the schema's pattern is not a plain trimmed text, the parser it describes, side by side.

use utoipa::openapi::schema::Object;

use super::{CONTROL, string, trimmed_text};
use bazaar_actors::limits::{ADDRESS_FIELD_BYTES_MAX, CUSTOMER_FIELD_BYTES_MAX};

pub fn address_line() -> Object {
    trimmed_text(ADDRESS_FIELD_BYTES_MAX)
}

/// A customer's name on its profile.
pub fn customer_name() -> Object {
    trimmed_text(CUSTOMER_FIELD_BYTES_MAX)
}

/// An e-mail address: one `@` between two non-empty parts, no spaces or control characters
/// ([`is_email`]).
pub fn email() -> Object {
    string(&format!(r"^[^@\s{CONTROL}]+@[^@\s{CONTROL}]+$"), 3, CUSTOMER_FIELD_BYTES_MAX, false)
}

/// A phone number: an optional `+`, then 4 to 20 digits ([`is_phone`]).
pub fn phone_option() -> Object {
    string(r"^\+?[0-9]{4,20}$", 4, 21, true)
}

/// What [`email`] describes, at most [`CUSTOMER_FIELD_BYTES_MAX`] bytes.
pub fn is_email(value: &str) -> bool {
    let bad = |c: char| c.is_whitespace() || c.is_control();
    value.len() <= CUSTOMER_FIELD_BYTES_MAX
        && !value.chars().any(bad)
        && value
            .split_once('@')
            .is_some_and(|(user, host)| !user.is_empty() && !host.is_empty() && !host.contains('@'))
}

/// What [`phone_option`] describes.
pub fn is_phone(value: &str) -> bool {
    let digits = value.strip_prefix('+').unwrap_or(value);
    (4..=20).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
}
