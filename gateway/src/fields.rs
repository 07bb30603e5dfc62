//! The rules of request fields, each written once: a rule both checks what a request carries
//! and writes the OpenAPI schema that says so, so the document cannot promise what the server
//! refuses, nor the server take what the document forbids.
//!
//! - Integers: [`bounded!`] makes a module per kind of number (`feed_seq`, `cart_quantity`...)
//!   with `MIN`, `MAX`, the serde `deserialize` (and `deserialize_option`) a request field
//!   names in `#[serde(deserialize_with = ...)]`, and the `schema` (`schema_option`) its
//!   `#[schema(schema_with = ...)]` names. `MIN` and `MAX` are the domain's limits, which the
//!   domain enforces with its own stable codes (`handling_days_invalid`, `price_invalid`...);
//!   the read itself takes any integer the field's type holds, and never one past `int64`
//!   (422 `invalid_body`): an unsigned `u64` such as `feed_seq` is thereby bounded to
//!   `i64::MAX`, which is also its `MAX`. The format is `int32` when the bounds fit in one,
//!   `int64` otherwise: never a width the bounds do not fit. An exact float (`3.0`) is read as
//!   the integer it is, as JSON Schema counts it.
//! - Strings: one function per kind of id or text, its pattern and lengths built from the
//!   domain's limits; the ids' patterns are checked against the parsers they describe by
//!   property tests below, so a changed id rule fails a test until its pattern follows.
//!
//! Free text is bounded in UTF-8 bytes by the domain; JSON Schema counts characters, so a
//! text's `maxLength` is its byte limit (exact for ASCII) and its description says bytes.

use serde::Deserializer;
use serde::de::{self, Visitor};
use utoipa::openapi::schema::{
    Array, ArrayBuilder, KnownFormat, Object, ObjectBuilder, Schema, SchemaFormat, SchemaType, Type,
};

use bazaar_actors::limits::{
    ASIN_BYTES, ATTRIBUTE_KEY_BYTES_MAX, ATTRIBUTE_VALUE_BYTES_MAX, ATTRIBUTES_MAX,
    BRAND_BYTES_MAX, BUY_GET_UNITS_MAX, CART_LINE_QUANTITY_MAX, CATEGORY_DEPTH_MAX,
    CATEGORY_NAME_BYTES_MAX, COUPON_CODE_BYTES_MAX, DEFECT_BPS_MAX, DESCRIPTION_BYTES_MAX,
    HANDLING_DAYS_MAX, ID_BYTES_MAX, IMAGE_URL_BYTES_MAX, IMAGES_MAX, LOCATION_BYTES_MAX,
    PRICE_MINOR_MAX, PROMOTION_ID_BYTES_MAX, PROMOTION_REDEMPTIONS_MAX, QUANTITY_MAX, RATING_MAX,
    SELLER_NAME_BYTES_MAX, TITLE_BYTES_MAX,
};

/// An integer schema for `min..=max`, `nullable` when the field may be `null`.
pub fn integer(min: i64, max: i64, nullable: bool) -> Object {
    let fits_int32 = i32::try_from(min).is_ok() && i32::try_from(max).is_ok();
    let format = if fits_int32 { KnownFormat::Int32 } else { KnownFormat::Int64 };
    ObjectBuilder::new()
        .schema_type(kind(Type::Integer, nullable))
        .format(Some(SchemaFormat::KnownFormat(format)))
        .minimum(Some(min as f64))
        .maximum(Some(max as f64))
        .build()
}

fn kind(base: Type, nullable: bool) -> SchemaType {
    if nullable { SchemaType::from_iter([base, Type::Null]) } else { SchemaType::new(base) }
}

/// An integer in `MIN..=MAX`, read from any JSON integer; anything else is a serde error.
struct Within<const MIN: i64, const MAX: i64>(i64);

impl<'de, const MIN: i64, const MAX: i64> serde::Deserialize<'de> for Within<MIN, MAX> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Checked<const MIN: i64, const MAX: i64>;
        impl<const MIN: i64, const MAX: i64> Visitor<'_> for Checked<MIN, MAX> {
            type Value = i64;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "an integer from {MIN} to {MAX}")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<i64, E> {
                if (MIN..=MAX).contains(&v) {
                    Ok(v)
                } else {
                    Err(E::custom(format_args!("{v} is not an integer from {MIN} to {MAX}")))
                }
            }
            /// JSON Schema counts `3.0` as an integer; so does the server, when it is exact.
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<i64, E> {
                // The cast saturates; the round trip checks it was exact.
                let whole = v as i64;
                if v.fract() == 0.0 && whole as f64 == v && whole != i64::MAX {
                    self.visit_i64(whole)
                } else {
                    Err(E::custom(format_args!("{v} is not an integer from {MIN} to {MAX}")))
                }
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<i64, E> {
                match i64::try_from(v) {
                    Ok(v) => self.visit_i64(v),
                    Err(_) => {
                        Err(E::custom(format_args!("{v} is not an integer from {MIN} to {MAX}")))
                    }
                }
            }
        }
        // serde_json reads any number this way (a float reaches `visit_f64`); a query string
        // parses its text as an integer.
        deserializer.deserialize_i64(Checked::<MIN, MAX>).map(Within)
    }
}

/// Reads an integer in `MIN..=MAX` as `T` (which the bounds fit: [`bounded!`] checks it).
pub fn within<'de, D, T, const MIN: i64, const MAX: i64>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<i64>,
{
    let Within(v) = <Within<MIN, MAX> as serde::Deserialize>::deserialize(deserializer)?;
    T::try_from(v).map_err(|_| de::Error::custom(format_args!("{v} does not fit")))
}

/// [`within`] for an optional field (absent or `null` is `None`).
pub fn within_option<'de, D, T, const MIN: i64, const MAX: i64>(
    deserializer: D,
) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<i64>,
{
    match <Option<Within<MIN, MAX>> as serde::Deserialize>::deserialize(deserializer)? {
        None => Ok(None),
        Some(Within(v)) => T::try_from(v)
            .map(Some)
            .map_err(|_| de::Error::custom(format_args!("{v} does not fit"))),
    }
}

/// A kind of bounded integer field: `name: rust type = min ..= max`.
macro_rules! bounded {
    ($($(#[$doc:meta])* $name:ident: $ty:ty = $min:expr, $max:expr;)*) => {$(
        $(#[$doc])*
        pub mod $name {
            #[allow(unused_imports)]
            use super::*;

            /// The documented bounds (the domain's).
            pub const MIN: i64 = $min as i64;
            pub const MAX: i64 = $max as i64;
            /// What the read takes: the type's range, within `int64`.
            const READ_MIN: i64 = if (<$ty>::MIN as i128) < i64::MIN as i128 {
                i64::MIN
            } else {
                <$ty>::MIN as i64
            };
            const READ_MAX: i64 = if (<$ty>::MAX as i128) > i64::MAX as i128 {
                i64::MAX
            } else {
                <$ty>::MAX as i64
            };
            const _: () = assert!(READ_MIN <= MIN && MIN <= MAX && MAX <= READ_MAX);

            pub fn schema() -> Object {
                super::integer(MIN, MAX, false)
            }

            pub fn schema_option() -> Object {
                super::integer(MIN, MAX, true)
            }

            pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<$ty, D::Error> {
                super::within::<D, $ty, READ_MIN, READ_MAX>(d)
            }

            pub fn deserialize_option<'de, D: Deserializer<'de>>(
                d: D,
            ) -> Result<Option<$ty>, D::Error> {
                super::within_option::<D, $ty, READ_MIN, READ_MAX>(d)
            }
        }
    )*};
}

bounded! {
    /// A warehouse feed's sequence number: any an `int64` client can send, and no more (a
    /// larger one would make every later sequence number stale).
    feed_seq: u64 = 0, i64::MAX;
    /// Units on hand, or offered, at a location.
    stock_quantity: u32 = 0, QUANTITY_MAX;
    /// Units of one cart line.
    cart_quantity: u32 = 1, CART_LINE_QUANTITY_MAX;
    /// Days a seller takes to hand an order to the carrier.
    handling_days: u16 = 0, HANDLING_DAYS_MAX;
    /// Seconds a cart hold lasts.
    hold_ttl_s: u64 = 1, bazaar_actors::limits::CART_HOLD_TTL_S_MAX;
    /// A time in milliseconds since the Unix epoch.
    epoch_ms: u64 = 0, i64::MAX;
    /// Percent off, in basis points (10,000 = 100 %).
    percent_bps: u16 = 1, bazaar_actors::limits::BPS_MAX;
    /// Units bought, or given, by a buy-X-get-Y promotion.
    buy_get_units: u32 = 1, BUY_GET_UNITS_MAX;
    /// How often a promotion may be redeemed (in all, or per customer).
    redemptions: u32 = 1, PROMOTION_REDEMPTIONS_MAX;
    /// A promotion's priority: the higher applies first.
    priority: u16 = 0, u16::MAX;
    /// A seller's rating in hundredths of a star.
    rating_hundredths: u16 = 0, RATING_MAX;
    /// A seller's order defect rate in basis points.
    defect_bps: u16 = 0, DEFECT_BPS_MAX;
    /// A price in minor units: at least one.
    price_minor: i64 = 1, PRICE_MINOR_MAX;
    /// An amount in minor units that may be zero (shipping, a free-shipping threshold).
    amount_minor: i64 = 0, PRICE_MINOR_MAX;
    /// A search's bound on the buy box's landed price, in minor units.
    search_price_minor: i64 = i64::MIN, i64::MAX;
    /// A search's page, from 1.
    search_page: u32 = 1, bazaar_services::search::limits::RESULT_WINDOW_MAX;
    /// A search's page size.
    search_page_size: u32 = 1, bazaar_services::search::limits::PAGE_SIZE_MAX;
    /// How many products each list of a product's recommendations shows.
    recommendations_limit: u32 = 1, crate::limits::RECOMMENDATIONS_MAX;
    /// How many audit records to list (more than the trail keeps lists all it keeps).
    audit_limit: u32 = 0, u32::MAX;
    /// A shipment's number within its order.
    shipment_number: u16 = 0, u16::MAX;
    /// A support case's number.
    case_number: u32 = 1, u32::MAX;
    /// A webhook subscription's id.
    webhook_id: u32 = 1, u32::MAX;
    /// An order line's index, from 0.
    line_index: u16 = 0, u16::MAX;
    /// Units of a returned line that arrived sellable.
    sellable_units: u32 = 0, bazaar_actors::limits::CART_LINE_QUANTITY_MAX;
}

/// A string schema: `pattern`, and lengths in characters.
fn string(pattern: &str, min: usize, max: usize, nullable: bool) -> Object {
    ObjectBuilder::new()
        .schema_type(kind(Type::String, nullable))
        .pattern(Some(pattern))
        .min_length(Some(min))
        .max_length(Some(max))
        .build()
}

/// One of a closed list of codes.
pub(crate) fn one_of(codes: &[&str], nullable: bool) -> Object {
    let mut values: Vec<serde_json::Value> = codes.iter().map(|c| (*c).into()).collect();
    if nullable {
        values.push(serde_json::Value::Null);
    }
    ObjectBuilder::new().schema_type(kind(Type::String, nullable)).enum_values(Some(values)).build()
}

/// The alphabet of seller ids, SKUs and promotion ids, as a regex class.
const NAME_CLASS: &str = "[A-Za-z0-9._-]";
/// C0, DEL and C1: the characters `char::is_control` names.
const CONTROL: &str = r"\x00-\x1f\x7f-\x9f";

pub fn asin_pattern() -> String {
    format!("^[A-Z0-9]{{{ASIN_BYTES}}}$")
}

/// A name of the id alphabet, but never `.` or `..` (a URL path cannot carry them as they
/// are): one character that is not a dot, two that are not both dots, or three and more.
pub fn name_pattern(max: usize) -> String {
    not_dots("[A-Za-z0-9_-]", NAME_CLASS, max)
}

/// 1 to `max` characters of `class` (which holds `.`), but never `.` or `..`: one character
/// of `no_dot` (the class without `.`), two that are not both dots, or three and more.
fn not_dots(no_dot: &str, class: &str, max: usize) -> String {
    assert!(max >= 3, "a name of at most {max} characters");
    format!(r"^(?:{no_dot}|{no_dot}{class}|\.{no_dot}|{class}{{3,{max}}})$")
}

pub fn location_pattern() -> String {
    format!("^[A-Z0-9_-]{{1,{LOCATION_BYTES_MAX}}}$")
}

/// A coupon as typed: trimmed and upper-cased before it is read.
pub fn coupon_pattern() -> String {
    format!(r"^\s*[A-Za-z0-9_-]{{1,{COUPON_CODE_BYTES_MAX}}}\s*$")
}

/// Printable text with something besides whitespace in it.
pub fn text_pattern() -> String {
    format!(r"^[^{CONTROL}]*[^\s{CONTROL}][^{CONTROL}]*$")
}

/// Text the gateway trims before reading it: whitespace around it may be anything (line
/// breaks too), what is inside is printable and not empty.
pub fn trimmed_text_pattern() -> String {
    format!(r"^\s*[^\s{CONTROL}](?:[^{CONTROL}]*[^\s{CONTROL}])?\s*$")
}

/// A product's ASIN: ten capitals or digits.
pub fn asin() -> Object {
    string(&asin_pattern(), ASIN_BYTES, ASIN_BYTES, false)
}

/// A customer id.
pub fn customer_id() -> Object {
    let max = bazaar_actors::limits::CUSTOMER_ID_BYTES_MAX;
    string(&name_pattern(max), 1, max, false)
}

/// A seller id.
pub fn seller_id() -> Object {
    string(&name_pattern(ID_BYTES_MAX), 1, ID_BYTES_MAX, false)
}

pub fn seller_id_option() -> Object {
    string(&name_pattern(ID_BYTES_MAX), 1, ID_BYTES_MAX, true)
}

/// A seller's SKU.
pub fn sku() -> Object {
    string(&name_pattern(ID_BYTES_MAX), 1, ID_BYTES_MAX, false)
}

/// A warehouse: capitals, digits, `-` and `_`.
pub fn location() -> Object {
    string(&location_pattern(), 1, LOCATION_BYTES_MAX, false)
}

/// A promotion's id as a client names it (a seller's is answered as `{seller}:{id}`).
pub fn promotion_id() -> Object {
    string(&name_pattern(PROMOTION_ID_BYTES_MAX), 1, PROMOTION_ID_BYTES_MAX, false)
}

pub fn coupon() -> Object {
    // The bound counts what is left once trimmed; the schema bounds the whole (narrower).
    string(&coupon_pattern(), 1, COUPON_CODE_BYTES_MAX, false)
}

pub fn coupon_option() -> Object {
    string(&coupon_pattern(), 1, COUPON_CODE_BYTES_MAX, true)
}

/// Coupons as a query parameter: comma-separated, blank entries skipped.
pub fn coupon_list_pattern() -> String {
    let item = format!(r"\s*(?:[A-Za-z0-9_-]{{1,{COUPON_CODE_BYTES_MAX}}}\s*)?");
    let more = bazaar_actors::limits::COUPONS_PER_PRICING_MAX - 1;
    format!("^{item}(?:,{item}){{0,{more}}}$")
}

pub fn coupon_list() -> Object {
    ObjectBuilder::new().schema_type(Type::String).pattern(Some(coupon_list_pattern())).build()
}

pub fn coupons() -> Array {
    array(coupon(), 0, bazaar_actors::limits::COUPONS_PER_PRICING_MAX)
}

/// An ISO 4217 currency code in circulation.
pub fn currency() -> Object {
    one_of(bazaar_actors::money::ISO_4217_CODES, false)
}

/// An assigned ISO 3166-1 alpha-2 country code.
pub fn country() -> Object {
    one_of(bazaar_actors::pricing::ISO_3166_ALPHA_2, false)
}

pub fn country_option() -> Object {
    one_of(bazaar_actors::pricing::ISO_3166_ALPHA_2, true)
}

/// A cart id: `c-` and lowercase letters or digits, 64 bytes at most.
pub fn cart_id() -> Object {
    string("^c-[a-z0-9]{1,62}$", 3, 64, false)
}

/// An order id: `o-` and 32 lowercase hex digits.
pub fn order_id() -> Object {
    string("^o-[0-9a-f]{32}$", 34, 34, false)
}

/// A role, as the audit trail names it.
pub fn role() -> Object {
    let roles: Vec<&str> = crate::auth::Role::ALL.iter().map(|role| role.as_str()).collect();
    one_of(&roles, false)
}

/// A principal's name, as the audit trail keys it.
pub fn principal() -> Object {
    string("^[^/]{1,64}$", 1, 64, false)
}

/// A search's order.
pub fn search_sort() -> Object {
    one_of(&["relevance", "price_asc", "price_desc", "newest"], false)
}

/// Free text of 1 to `bytes_max` bytes, no control characters.
pub fn text(bytes_max: usize) -> Object {
    string(&text_pattern(), 1, bytes_max, false)
}

/// Text read by [`crate::dto::text`]: trimmed, then 1 to `bytes_max` bytes of printable text.
pub fn trimmed_text(bytes_max: usize) -> Object {
    // The bound counts what is left once trimmed; the schema bounds the whole (narrower).
    string(&trimmed_text_pattern(), 1, bytes_max, false)
}

pub fn order_text() -> Object {
    trimmed_text(bazaar_actors::limits::DISPATCH_TEXT_BYTES_MAX)
}

/// Support's note on an order.
pub fn note_text() -> Object {
    trimmed_text(bazaar_actors::limits::ORDER_NOTE_BYTES_MAX)
}

pub fn order_text_option() -> Object {
    let mut schema = order_text();
    schema.schema_type = kind(Type::String, true);
    schema
}

pub fn seller_name() -> Object {
    text(SELLER_NAME_BYTES_MAX)
}

pub fn title() -> Object {
    text(TITLE_BYTES_MAX)
}

pub fn brand() -> Object {
    text(BRAND_BYTES_MAX)
}

pub fn category_path() -> Array {
    array(text(CATEGORY_NAME_BYTES_MAX), 1, CATEGORY_DEPTH_MAX)
}

pub fn attributes() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .property_names(Some(text(ATTRIBUTE_KEY_BYTES_MAX)))
        .additional_properties(Some(Schema::Object(text(ATTRIBUTE_VALUE_BYTES_MAX))))
        .max_properties(Some(ATTRIBUTES_MAX))
        .build()
}

pub fn images() -> Array {
    let url = string(&format!(r"^https://[^\s{CONTROL}]+$"), 9, IMAGE_URL_BYTES_MAX, false);
    array(url, 0, IMAGES_MAX)
}

/// Text that may hold line breaks and tabs, but no other control character.
pub fn description() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"))
        .max_length(Some(DESCRIPTION_BYTES_MAX))
        .build()
}

/// A payment provider's card token: visible ASCII.
pub fn card() -> Object {
    string("^[!-~]{1,64}$", 1, 64, false)
}

/// An `Idempotency-Key` header on the routes the shared middleware keys.
pub fn idempotency_key() -> Object {
    let max = crate::limits::IDEMPOTENCY_KEY_BYTES_MAX;
    string(&format!("^[!-~]{{1,{max}}}$"), 1, max, false)
}

/// The checkout's `Idempotency-Key`: it names the checkout, so it is narrower.
pub fn checkout_key() -> Object {
    let max = bazaar_actors::limits::CHECKOUT_KEY_BYTES_MAX;
    // As a name with `:` too (never `.` or `..`: the key is in its status URL's path).
    string(&not_dots("[A-Za-z0-9_:-]", "[A-Za-z0-9._:-]", max), 1, max, false)
}

pub(crate) fn array(items: Object, min: usize, max: usize) -> Array {
    ArrayBuilder::new().items(items).min_items(Some(min)).max_items(Some(max)).build()
}

mod paths;
mod personal;
mod shipping;
mod webhooks;
pub use paths::*;
pub use personal::*;
pub use shipping::*;
pub use webhooks::*;

#[cfg(test)]
mod tests;
