//! The form of every path parameter, by its name (and, where names repeat, its path).

use utoipa::openapi::schema::Object;

use super::*;

/// The schema of a path parameter, by the route and the parameter's name; `None` for one this
/// table does not know (a test fails until it does).
pub fn path_parameter(path: &str, name: &str) -> Option<Object> {
    Some(match name {
        "asin" => asin(),
        "sku" => sku(),
        "location" => location(),
        "seller" => seller_id(),
        "key" => checkout_key(),
        "number" if path.starts_with("/v1/support/cases/") => case_number::schema(),
        "number" => shipment_number::schema(),
        "role" => role(),
        "principal" => principal(),
        "customer" => customer_id(),
        "carrier" => carrier_name(),
        "id" if path.starts_with("/v1/carts/") || path.starts_with("/v1/guest/carts/") => cart_id(),
        "id" if ["/v1/orders/", "/v1/seller/orders/", "/v1/support/orders/"]
            .iter()
            .any(|prefix| path.starts_with(prefix)) =>
        {
            order_id()
        }
        "id" if path.starts_with("/admin/promotions/") => promotion_id(),
        "id" if path.starts_with("/admin/webhooks/") => webhook_id::schema(),
        _ => return None,
    })
}
