//! The document's own invariants, checked on the assembled document: one shape per schema
//! name, every number a request carries bounded within its format, every path parameter's
//! form declared, and the answers every route of a kind shares listed on each.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use utoipa::openapi::schema::{ObjectBuilder, Type};

use super::*;

fn document() -> Value {
    serde_json::to_value(crate::document()).unwrap()
}

fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let mut all = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            all.push((method.to_uppercase(), path.clone(), operation));
        }
    }
    all
}

#[test]
fn two_shapes_under_one_name_are_refused() {
    let object = |t: Type| RefOr::T(Schema::Object(ObjectBuilder::new().schema_type(t).build()));
    let mut seen = BTreeMap::new();
    let first = [("PaymentDto".to_owned(), object(Type::Object))];
    assert!(check_unique(&first, &mut seen).is_ok());
    assert!(check_unique(&first, &mut seen).is_ok(), "the same shape again is the same type");
    let other = [("PaymentDto".to_owned(), object(Type::String))];
    let clash = check_unique(&other, &mut seen).unwrap_err();
    assert!(clash.contains("\"PaymentDto\""), "{clash}");
}

/// Every schema of the document went through [`register`]: no router bypasses the check with
/// utoipa-axum's own `routes!`.
#[test]
fn every_schema_of_the_document_was_checked_for_its_name() {
    let doc = document();
    let checked = registered();
    for name in doc["components"]["schemas"].as_object().unwrap().keys() {
        assert!(checked.contains(name), "{name} reached the document unchecked");
    }
}

/// The checkout's request points at the request's payment shape, not the order's.
#[test]
fn the_checkout_request_documents_its_own_payment() {
    let doc = document();
    let schemas = &doc["components"]["schemas"];
    let payment = &schemas["NewCheckout"]["properties"]["payment"]["$ref"];
    let name = payment.as_str().unwrap().rsplit('/').next().unwrap();
    let properties: BTreeSet<&str> =
        schemas[name]["properties"].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(properties, BTreeSet::from(["card", "billing_country"]));
    let answer = &schemas["OrderDto"]["properties"]["payment"]["$ref"];
    assert_ne!(payment, answer);
}

/// Every schema a request reaches (bodies and parameters), `$ref`s followed.
fn request_schemas(doc: &Value) -> Vec<(String, Value)> {
    fn walk(
        doc: &Value,
        at: String,
        value: &Value,
        seen: &mut BTreeSet<String>,
        out: &mut Vec<(String, Value)>,
    ) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(target)) = map.get("$ref") {
                    let name = target.rsplit('/').next().unwrap().to_owned();
                    if seen.insert(name.clone()) {
                        let schema = &doc["components"]["schemas"][&name];
                        walk(doc, name.clone(), schema, seen, out);
                    }
                }
                out.push((at.clone(), value.clone()));
                for (key, inner) in map {
                    walk(doc, format!("{at}.{key}"), inner, seen, out);
                }
            }
            Value::Array(list) => list.iter().for_each(|v| walk(doc, at.clone(), v, seen, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for (method, path, operation) in operations(doc) {
        let at = format!("{method} {path}");
        walk(doc, format!("{at} body"), &operation["requestBody"], &mut seen, &mut out);
        walk(doc, format!("{at} parameters"), &operation["parameters"], &mut seen, &mut out);
    }
    out
}

fn is_integer(schema: &Value) -> bool {
    match &schema["type"] {
        Value::String(t) => t == "integer",
        Value::Array(types) => types.contains(&json!("integer")),
        _ => false,
    }
}

/// The class of item 12: every integer a request may carry says its width and both bounds,
/// and the bounds fit the width (so an `int64` client can send every value the server takes,
/// and the server takes no value such a client cannot send).
#[test]
fn every_integer_a_request_carries_is_bounded_within_its_format() {
    let doc = document();
    let mut integers = 0;
    for (at, schema) in request_schemas(&doc) {
        if !is_integer(&schema) {
            continue;
        }
        integers += 1;
        let (min, max) = (schema["minimum"].as_f64(), schema["maximum"].as_f64());
        let (Some(min), Some(max)) = (min, max) else {
            panic!("{at}: an integer without both bounds: {schema}");
        };
        let (low, high) = match schema["format"].as_str() {
            Some("int32") => (f64::from(i32::MIN), f64::from(i32::MAX)),
            Some("int64") => (i64::MIN as f64, i64::MAX as f64),
            other => panic!("{at}: an integer of format {other:?}: {schema}"),
        };
        assert!(low <= min && min <= max && max <= high, "{at}: bounds past the format: {schema}");
    }
    assert!(integers >= 20, "only {integers} integers found: the walk is broken");
}

#[test]
fn every_path_parameter_declares_its_form() {
    let doc = document();
    for (method, path, operation) in operations(&doc) {
        for parameter in operation["parameters"].as_array().into_iter().flatten() {
            if parameter["in"] != "path" {
                continue;
            }
            let schema = &parameter["schema"];
            let declared = schema.get("pattern").is_some()
                || schema.get("enum").is_some()
                || is_integer(schema);
            assert!(declared, "{method} {path}: path parameter {} has no form", parameter["name"]);
        }
    }
}

/// What every route of a kind answers is on each route of that kind.
#[test]
fn every_operation_lists_the_answers_of_its_kind() {
    let doc = document();
    for (method, path, operation) in operations(&doc) {
        let statuses: BTreeSet<&str> =
            operation["responses"].as_object().unwrap().keys().map(String::as_str).collect();
        let has = |status: &str| statuses.contains(status);
        let at = format!("{method} {path}");
        if operation.get("security").is_some() {
            for status in ["401", "403", "429", "503"] {
                assert!(has(status), "{at}: secured, without {status}");
            }
        }
        let body = &operation["requestBody"]["content"];
        if body.get("application/json").is_some() {
            for status in ["400", "413", "415", "422"] {
                assert!(has(status), "{at}: a JSON body, without {status}");
            }
        }
        let parameters = operation["parameters"].as_array().cloned().unwrap_or_default();
        if parameters.iter().any(|p| p["in"] == "query") {
            assert!(has("400"), "{at}: query parameters, without 400");
        }
        if parameters.iter().any(|p| p["in"] == "path") {
            assert!(has("404"), "{at}: path parameters, without 404");
        }
        if parameters.iter().any(|p| p["name"] == "x-tenant") {
            assert!(has("401") && has("429"), "{at}: a guest's, without 401 or 429");
        }
        for (status, response) in operation["responses"].as_object().unwrap() {
            assert!(response.get("description").is_some(), "{at}: {status} has no description");
        }
    }
}

/// Mutations under the shared middleware document the key and its answers; the checkout its
/// own, narrower key.
#[test]
fn idempotency_keys_are_documented_where_they_are_read() {
    let doc = document();
    for (method, path, operation) in operations(&doc) {
        let key = operation["parameters"].as_array().into_iter().flatten().find(|p| {
            p["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case("idempotency-key"))
        });
        let mutating = matches!(method.as_str(), "POST" | "PUT" | "PATCH" | "DELETE");
        let served = path.starts_with("/v1/") || path.starts_with("/admin/");
        assert_eq!(key.is_some(), mutating && served, "{method} {path}: Idempotency-Key");
        if let Some(key) = key {
            assert!(key["schema"]["pattern"].is_string(), "{method} {path}: key without a form");
        }
    }
    let checkout = &doc["paths"]["/v1/checkouts"]["post"]["parameters"];
    let key = checkout.as_array().unwrap().iter().find(|p| p["in"] == "header").unwrap();
    assert_eq!(key["required"], true);
    assert_eq!(key["schema"]["maxLength"], bazaar_actors::limits::CHECKOUT_KEY_BYTES_MAX);
}
