//! The OpenAPI document (`/openapi.json`): the handlers' annotations say what is particular to
//! a route (its body, its parameters, its own outcomes); what every route of a kind answers is
//! added here, from one place, by what the route is:
//!
//! - every route behind the engine: 503 (overloaded, unavailable, the request time limit);
//! - secured (a bearer token): 401 `unauthenticated`, 403 `wrong_role`, 429 `tenant_rate_limited`;
//! - a guest's (`x-tenant`): 401 `unknown_tenant`, 429;
//! - a JSON body: 400 `malformed_json`, 413 `body_too_large`, 415 `unsupported_media_type`,
//!   422 `invalid_body` (and the domain's codes);
//! - an NDJSON body: 400 `malformed_ndjson`, 413, 415;
//! - query parameters: 400 `invalid_query`;
//! - path parameters: 404 (an id that does not parse names nothing);
//! - mutations under the shared `Idempotency-Key` middleware: the header (with its form), 400
//!   `invalid_idempotency_key`, 409 `idempotency_key_in_progress`, 422 `idempotency_key_reused`.
//!
//! Schema names are unique: [`routes!`] (used by every router instead of utoipa-axum's) checks
//! that no two distinct schemas share a name, which utoipa would otherwise merge silently (one
//! type's shape documented under another's name).

use std::cell::RefCell;
use std::collections::BTreeMap;

use utoipa::openapi::path::{Operation, Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::Schema;
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, Required, ResponseBuilder};

/// utoipa-axum's `routes!`, checking that the schemas it brings share no name with a different
/// schema met before on this thread (routers are built on one thread, at start).
macro_rules! routes {
    ($($handler:path),+ $(,)?) => {{
        let routes = utoipa_axum::routes!($($handler),+);
        $crate::openapi::register(&routes.0);
        routes
    }};
}
pub(crate) use routes;

/// The header as the document spells it (HTTP header names are case-insensitive).
const IDEMPOTENCY_KEY: &str = "Idempotency-Key";

thread_local! {
    static SCHEMAS: RefCell<BTreeMap<String, String>> = const { RefCell::new(BTreeMap::new()) };
}

/// Records `schemas`; a name already recorded with another shape is a bug (two types share a
/// schema name, and the document would describe one of them wrongly): it panics at start.
pub fn register(schemas: &[(String, RefOr<Schema>)]) {
    SCHEMAS.with(|seen| {
        if let Err(clash) = check_unique(schemas, &mut seen.borrow_mut()) {
            panic!("{clash}");
        }
    });
}

/// The schema names [`register`] has seen on this thread.
#[cfg(test)]
pub(crate) fn registered() -> std::collections::BTreeSet<String> {
    SCHEMAS.with(|seen| seen.borrow().keys().cloned().collect())
}

/// Adds `schemas` to `seen` (name to its JSON), or says which name two shapes share.
pub fn check_unique(
    schemas: &[(String, RefOr<Schema>)],
    seen: &mut BTreeMap<String, String>,
) -> Result<(), String> {
    for (name, schema) in schemas {
        let json = serde_json::to_string(schema).unwrap_or_default();
        match seen.get(name) {
            Some(known) if *known != json => {
                return Err(format!(
                    "two types share the OpenAPI schema name {name:?}: give one of them another \
                     name\n first: {known}\n other: {json}"
                ));
            }
            Some(_) => {}
            None => {
                seen.insert(name.clone(), json);
            }
        }
    }
    Ok(())
}

/// What a route is, as far as the answers it shares with others go.
struct Traits {
    secured: bool,
    guest: bool,
    json_body: bool,
    ndjson_body: bool,
    query: bool,
    path: bool,
}

impl Traits {
    fn of(operation: &Operation) -> Traits {
        let parameters: Vec<&Parameter> = operation
            .parameters
            .iter()
            .flatten()
            .filter_map(|p| match p {
                RefOr::T(p) => Some(p),
                RefOr::Ref(_) => None,
            })
            .collect();
        let located = |at: ParameterIn| parameters.iter().any(|p| p.parameter_in == at);
        let body = |media: &str| match &operation.request_body {
            Some(RefOr::T(body)) => body.content.contains_key(media),
            _ => false,
        };
        Traits {
            secured: operation.security.as_ref().is_some_and(|s| !s.is_empty()),
            guest: parameters.iter().any(|p| p.name == "x-tenant"),
            json_body: body("application/json"),
            ndjson_body: body("application/x-ndjson"),
            query: located(ParameterIn::Query),
            path: located(ParameterIn::Path),
        }
    }
}

/// An NDJSON body, shown as the array of its lines, holds 1 to `FEED_LINES_MAX` of them (an
/// empty feed is `feed_empty`, a longer one `feed_too_long`).
fn lines_bounded(operation: &mut Operation) {
    let Some(RefOr::T(body)) = &mut operation.request_body else { return };
    let Some(RefOr::T(content)) = body.content.get_mut("application/x-ndjson") else { return };
    if let Some(RefOr::T(Schema::Array(lines))) = &mut content.schema {
        lines.min_items = Some(1);
        lines.max_items = Some(crate::limits::FEED_LINES_MAX);
    }
}

/// Adds a problem answer with `status` naming `codes`; an answer the handler documents keeps
/// its description, with the shared codes added.
fn problem(operation: &mut Operation, status: u16, codes: &str) {
    let responses = &mut operation.responses.responses;
    let key = status.to_string();
    match responses.get_mut(&key) {
        Some(RefOr::T(response)) => {
            if !response.description.contains(codes) {
                response.description = if response.description.is_empty() {
                    codes.to_owned()
                } else {
                    format!("{}; also {codes}", response.description)
                };
            }
            if response.content.is_empty() {
                response
                    .content
                    .insert("application/problem+json".into(), RefOr::T(problem_content()));
            }
        }
        Some(RefOr::Ref(_)) => {}
        None => {
            let response = ResponseBuilder::new()
                .description(codes)
                .content("application/problem+json", problem_content())
                .build();
            responses.insert(key, RefOr::T(response));
        }
    }
}

fn problem_content() -> utoipa::openapi::Content {
    ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build()
}

/// Completes every operation under `/v1`, `/admin` and `/callbacks` with the answers its kind
/// shares.
pub fn complete(openapi: &mut OpenApi) {
    for (path, item) in openapi.paths.paths.iter_mut() {
        let served = ["/v1/", "/admin/", "/callbacks/"].iter().any(|p| path.starts_with(p));
        if !served {
            operations(item).for_each(described);
            continue;
        }
        for operation in operations(item) {
            path_parameters(path, operation);
            let traits = Traits::of(operation);
            problem(
                operation,
                503,
                "`overloaded`, `unavailable`, `request_timeout`: retry after `Retry-After`",
            );
            if traits.secured {
                problem(operation, 401, "`unauthenticated`: no, or an unknown, bearer token");
                problem(operation, 403, "`wrong_role`: the token's role may not use this route");
            }
            if traits.guest {
                problem(operation, 401, "`unknown_tenant`: `x-tenant` names no tenant");
            }
            if traits.secured || traits.guest {
                let spent = "`tenant_rate_limited`: the tenant's request rate is spent";
                problem(operation, 429, spent);
            }
            if traits.json_body {
                problem(operation, 400, "`malformed_json`: the body is not JSON");
                problem(operation, 413, "`body_too_large`");
                problem(operation, 415, "`unsupported_media_type`: send `application/json`");
                problem(operation, 422, "`invalid_body`: JSON of another shape than the schema");
            }
            if traits.ndjson_body {
                lines_bounded(operation);
                problem(operation, 400, "`malformed_ndjson`: the body is not UTF-8");
                problem(operation, 413, "`body_too_large`");
                problem(operation, 415, "`unsupported_media_type`: send `application/x-ndjson`");
            }
            if traits.query {
                problem(operation, 400, "`invalid_query`: a parameter outside its schema");
            }
            if traits.path {
                problem(operation, 404, "`not_found`: nothing of the caller's has this id");
            }
            described(operation);
        }
    }
}

/// Documents the shared `Idempotency-Key` on every mutation of `openapi` (the routes the
/// middleware keys) and what it answers.
pub fn keyed(openapi: &mut OpenApi) {
    for item in openapi.paths.paths.values_mut() {
        let mutations = [&mut item.post, &mut item.put, &mut item.patch, &mut item.delete];
        for operation in mutations.into_iter().flatten() {
            // A route that requires the key declares it (required, with its own words); it
            // gets the key's form here.
            for parameter in operation.parameters.iter_mut().flatten() {
                if let RefOr::T(parameter) = parameter
                    && parameter.name.eq_ignore_ascii_case(IDEMPOTENCY_KEY)
                {
                    parameter.schema = Some(crate::fields::idempotency_key().into());
                }
            }
            let header = ParameterBuilder::new()
                .name(IDEMPOTENCY_KEY)
                .parameter_in(ParameterIn::Header)
                .required(Required::False)
                .description(Some(
                    "A retry with the same key and request replays the first answer \
                     (`idempotent-replayed: true`) instead of acting twice",
                ))
                .schema(Some(crate::fields::idempotency_key()))
                .build();
            add_parameter(operation, header);
            problem(operation, 400, "`invalid_idempotency_key`: not 1 to 128 visible ASCII");
            problem(operation, 409, "`idempotency_key_in_progress`: the first request still runs");
            problem(operation, 422, "`idempotency_key_reused`: the key served another request");
        }
    }
}

/// Gives the checkout's `Idempotency-Key` header its form.
pub fn checkout_key(openapi: &mut OpenApi) {
    for item in openapi.paths.paths.values_mut() {
        for operation in item.post.iter_mut() {
            for parameter in operation.parameters.iter_mut().flatten() {
                let RefOr::T(parameter) = parameter else { continue };
                if parameter.name.eq_ignore_ascii_case(IDEMPOTENCY_KEY) {
                    parameter.schema = Some(crate::fields::checkout_key().into());
                }
            }
            let codes = format!(
                "`idempotency_key_required`, `invalid_idempotency_key`: a checkout needs a key \
                 of 1 to {} of `A-Z a-z 0-9 - _ . :`",
                bazaar_actors::limits::CHECKOUT_KEY_BYTES_MAX
            );
            problem(operation, 400, &codes);
        }
    }
}

/// OpenAPI requires a description on every answer: a handler's own without one gets the
/// status's reason phrase.
fn described(operation: &mut Operation) {
    for (status, response) in operation.responses.responses.iter_mut() {
        let RefOr::T(response) = response else { continue };
        if response.description.is_empty() {
            let reason = status
                .parse::<u16>()
                .ok()
                .and_then(|code| axum::http::StatusCode::from_u16(code).ok())
                .and_then(|code| code.canonical_reason());
            response.description = reason.unwrap_or("Answer").to_owned();
        }
    }
}

/// Gives each path parameter the schema of what it names.
fn path_parameters(path: &str, operation: &mut Operation) {
    for parameter in operation.parameters.iter_mut().flatten() {
        let RefOr::T(parameter) = parameter else { continue };
        if parameter.parameter_in != ParameterIn::Path {
            continue;
        }
        if let Some(schema) = crate::fields::path_parameter(path, &parameter.name) {
            parameter.schema = Some(schema.into());
        }
    }
}

fn add_parameter(operation: &mut Operation, parameter: Parameter) {
    let parameters = operation.parameters.get_or_insert_with(Vec::new);
    let named = |p: &RefOr<Parameter>| match p {
        RefOr::T(p) => p.name.eq_ignore_ascii_case(&parameter.name),
        RefOr::Ref(_) => false,
    };
    if !parameters.iter().any(named) {
        parameters.push(RefOr::T(parameter));
    }
}

/// Every operation of a path.
pub(crate) fn operations(
    item: &mut utoipa::openapi::PathItem,
) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.patch,
        &mut item.head,
        &mut item.options,
        &mut item.trace,
    ]
    .into_iter()
    .flatten()
}

#[cfg(test)]
mod tests;
