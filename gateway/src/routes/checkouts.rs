//! Checkout: `POST /v1/checkouts` runs the checkout saga for a customer's cart, once per
//! `Idempotency-Key` (the saga is keyed by customer and key, so retries and concurrent
//! copies meet the same saga and get the same answer). The answer waits for the saga up to
//! [`CHECKOUT_WAIT_MS`]: 201 with the order, a problem naming the failed step, or past the
//! bound 202 with the status URL to poll. When the payment provider asks the customer to
//! authenticate (3-D Secure), the answer is 202 `challenge_required` with a `next_action`:
//! the customer completes it at its URL, then `POST /v1/checkouts/{key}/challenge` resumes
//! the saga and answers as the checkout does. A challenge left unanswered past its
//! `expires_at_ms` fails the checkout `challenge_abandoned` (payment voided, stock released).

use std::time::Duration;

use crate::openapi::routes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use bazaar_actors::checkout::{
    CheckoutRejection, CheckoutRequest, CheckoutStatus, CheckoutView, Failure, FailureCode, Step,
};
use bazaar_actors::fraud::FraudDecision;
use bazaar_actors::keys;
use bazaar_actors::order::{CapturePolicy, ShipTo, ship_to};
use bazaar_actors::pii::Pii;
use bazaar_actors::promotion::CouponCode;
use bazaar_actors::{CountryCode, CustomerId};
use bazaar_services::pii::Sealer;
use bazaar_services::saga::BeginError;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

use crate::auth::Principal;
use crate::dto::{self, MoneyDto};
use crate::extract::Path;
use crate::json::{Raw, reply};
use crate::problem::{Problem, ProblemKind, bad_request, invalid, not_found};
use crate::state::AppState;
use bazaar_actors::limits::{
    ADDRESS_FIELD_BYTES_MAX, CARD_TOKEN_BYTES_MAX, CHECKOUT_KEY_BYTES_MAX, COUPONS_PER_PRICING_MAX,
};

/// How long a checkout request waits for its saga before answering 202.
pub const CHECKOUT_WAIT_MS: u64 = 2_000;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_checkout)).routes(routes!(get_checkout))
}

/// The customer's answer to a payment challenge, under the shared `Idempotency-Key`
/// middleware (its key is optional: answering twice answers the same).
pub fn challenge_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(answer_challenge))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCheckout {
    #[schema(schema_with = crate::fields::cart_id)]
    pub cart_id: String,
    pub ship_to: AddressDto,
    pub payment: CheckoutPaymentDto,
    /// Coupon codes as typed (trimmed and upper-cased before they are read).
    #[serde(default)]
    #[schema(schema_with = crate::fields::coupons)]
    pub coupons: Vec<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressDto {
    #[schema(schema_with = crate::fields::address_line)]
    pub name: String,
    #[schema(schema_with = crate::fields::address_line)]
    pub line1: String,
    #[schema(schema_with = crate::fields::address_line)]
    pub city: String,
    #[schema(schema_with = crate::fields::address_line)]
    pub postal_code: String,
    /// ISO 3166 alpha-2.
    #[schema(schema_with = crate::fields::country)]
    pub country: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckoutPaymentDto {
    /// The card as the payment provider tokenized it.
    #[schema(schema_with = crate::fields::card)]
    pub card: String,
    /// ISO 3166 alpha-2 of the billing address.
    #[schema(schema_with = crate::fields::country)]
    pub billing_country: String,
}

/// Where a checkout stands.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CheckoutDto {
    /// The idempotency key it runs under.
    pub key: String,
    /// `completed`, `pending`, `challenge_required` (see `next_action`) or `failed`.
    pub status: String,
    /// While pending: the step running now.
    pub step: Option<String>,
    pub order_id: String,
    /// Once completed: where the order is.
    pub order_url: Option<String>,
    /// Where to poll this checkout.
    pub status_url: String,
    pub total: Option<MoneyDto>,
    /// `accept` or `review` (a reviewed order is captured at shipment).
    pub fraud: Option<String>,
    /// `at_placement` or `at_shipment` (auth-only mode or a fraud review).
    pub capture: Option<String>,
    /// Once failed: why.
    pub failure: Option<FailureDto>,
    /// While `challenge_required`: what the customer must do before the checkout goes on.
    pub next_action: Option<NextActionDto>,
}

/// A step only the customer can take.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NextActionDto {
    /// `three_d_secure`: authenticate at `url` (the card issuer's page), then `POST
    /// {status_url}/challenge`.
    #[serde(rename = "type")]
    pub kind: String,
    pub url: String,
    /// After this, the checkout fails `challenge_abandoned` and releases what it held.
    pub expires_at_ms: u64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FailureDto {
    pub step: String,
    pub code: String,
    pub detail: String,
}

/// The checkout key: 1 to 64 of `A-Z a-z 0-9 - _ . :` (a UUID fits).
fn checkout_key(headers: &HeaderMap) -> Result<String, Problem> {
    let Some(key) = crate::idempotency::key_of(headers)? else {
        return Err(bad_request(
            "idempotency_key_required",
            "a checkout needs an Idempotency-Key header, so that a retry cannot buy twice",
        ));
    };
    let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':');
    let dots = key == "." || key == "..";
    if key.len() > CHECKOUT_KEY_BYTES_MAX || !key.bytes().all(allowed) || dots {
        return Err(bad_request(
            "invalid_idempotency_key",
            format!(
                "a checkout's Idempotency-Key is 1 to {CHECKOUT_KEY_BYTES_MAX} of A-Z a-z 0-9 - _ . :, not '.' or '..'"
            ),
        ));
    }
    Ok(key)
}

fn address(field: &str, value: &str) -> Result<String, Problem> {
    dto::text("address_invalid", field, value, ADDRESS_FIELD_BYTES_MAX)
}

impl NewCheckout {
    /// The request, its delivery address sealed by `sealer` (the customer's).
    fn into_request(
        self,
        customer: CustomerId,
        sealer: &Sealer,
        body: &[u8],
    ) -> Result<CheckoutRequest, Problem> {
        if !bazaar_actors::keys::is_cart_id(&self.cart_id) {
            let code = FailureCode::CartNotFound;
            let failure = Failure { step: Step::Price, code, detail: "no such cart".into() };
            return Err(Problem::from(&failure));
        }
        let seal = |name: &str, field: &str, value: &str| -> Result<Pii, Problem> {
            Ok(sealer.seal(field, &address(name, value)?))
        };
        let ship_to = ShipTo {
            country: dto::id(CountryCode::parse(&self.ship_to.country))?,
            postal_code: seal("postal_code", ship_to::POSTAL_CODE, &self.ship_to.postal_code)?,
            city: seal("city", ship_to::CITY, &self.ship_to.city)?,
            line1: seal("line1", ship_to::LINE1, &self.ship_to.line1)?,
            name: seal("name", ship_to::NAME, &self.ship_to.name)?,
        };
        if self.coupons.len() > COUPONS_PER_PRICING_MAX {
            return Err(invalid(
                "too_many_coupons",
                format!("at most {COUPONS_PER_PRICING_MAX} coupons"),
            ));
        }
        let coupons = self
            .coupons
            .iter()
            .map(|code| dto::id(CouponCode::normalize(code)))
            .collect::<Result<Vec<_>, _>>()?;
        let card = self.payment.card;
        if card.is_empty()
            || card.len() > CARD_TOKEN_BYTES_MAX
            || !card.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(invalid(
                "card_invalid",
                format!("card is a provider token of 1 to {CARD_TOKEN_BYTES_MAX} characters"),
            ));
        }
        Ok(CheckoutRequest {
            customer,
            cart: self.cart_id,
            ship_to,
            bill_country: dto::id(CountryCode::parse(&self.payment.billing_country))?,
            card,
            coupons,
            // By content: a retry whose JSON was re-serialized is the same request. Under the
            // customer's key: the body holds the address, which erasure must leave unlinkable.
            fingerprint: sealer.digest(&Sha256::digest(
                crate::idempotency::canonical_json(body).as_deref().unwrap_or(body),
            )),
        })
    }
}

/// Checks out a cart: prices it, reserves every line, scores fraud, authorizes the payment,
/// places the order, commits the reservations and plans the shipments — once per
/// `Idempotency-Key`, which is required.
#[utoipa::path(post, path = "/v1/checkouts", tag = "checkout", request_body = NewCheckout,
    params(("Idempotency-Key" = String, Header, description = "Required: the same key meets the same checkout")),
    responses(
        (status = 201, description = "Completed: the order is placed", body = CheckoutDto),
        (status = 202, description = "Still running: poll `status_url`", body = CheckoutDto),
        (status = 402, description = "payment_declined", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No or an unknown bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "fraud_rejected, or a principal who is not a customer", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "cart_not_found", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "out_of_stock, line_unavailable, price_changed; customer_erased (the customer's personal data was erased)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad request body, or the key reused for another request", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "payment_unavailable (final for this key: check out again with a new one); checkouts_busy or overloaded (retry with the same key)", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn create_checkout(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Raw(body): Raw,
) -> Result<Response, Problem> {
    let customer = principal.customer()?;
    let key = checkout_key(&headers)?;
    let new: NewCheckout = crate::json::from_slice(&body)?;
    let sealer = state.vault.sealer(&principal.tenant, customer.as_str()).await?;
    let request = new.into_request(customer.clone(), &sealer, &body)?;
    let id = keys::checkout(&principal.tenant, &customer, &key);
    let wait = Duration::from_millis(CHECKOUT_WAIT_MS);
    let view = state.sagas.checkout(&id, request, wait).await.map_err(saga_problem)?;
    answered(&key, &view)
}

/// What a checkout or a challenge's answer could not do, as a problem.
fn saga_problem(error: BeginError) -> Problem {
    match error {
        BeginError::Engine(error) => error.into(),
        BeginError::Rejected(CheckoutRejection::KeyReused) => {
            crate::idempotency::key_reused(CheckoutRejection::KeyReused.to_string())
        }
        BeginError::Rejected(CheckoutRejection::UnknownCheckout) => not_found("checkout"),
        BeginError::Rejected(rejection) => crate::problem::rejection(&rejection),
        BeginError::Busy => Problem::of(
            ProblemKind::Unavailable,
            "checkouts_busy",
            "Too many checkouts",
            "too many checkouts are unfinished; retry with the same key",
        )
        .retry_after(1),
    }
}

/// A checkout's answer: 201 completed, a problem once failed, else 202 (with `Location` to
/// poll, and `Retry-After` unless it waits for the customer), never stored under an
/// idempotency key (it changes).
fn answered(key: &str, view: &CheckoutView) -> Result<Response, Problem> {
    let dto = checkout_dto(key, view);
    match &view.status {
        CheckoutStatus::Completed => Ok(reply(StatusCode::CREATED, &dto)),
        CheckoutStatus::Failed(failure) => Err(failure.into()),
        CheckoutStatus::Running { .. } | CheckoutStatus::ChallengeRequired(_) => {
            let mut response = reply(StatusCode::ACCEPTED, &dto);
            if let Ok(location) = HeaderValue::from_str(&dto.status_url) {
                response.headers_mut().insert(header::LOCATION, location);
            }
            if matches!(view.status, CheckoutStatus::Running { .. }) {
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(1));
            }
            response.extensions_mut().insert(crate::idempotency::Unfinished);
            Ok(response)
        }
    }
}

/// Resumes a checkout that waits for the customer's payment challenge, once they completed
/// it at the issuer: the payment is authorized again and the checkout goes on, answered as
/// `POST /v1/checkouts` answers (a challenge still not completed is answered again).
#[utoipa::path(post, path = "/v1/checkouts/{key}/challenge", tag = "checkout", params(("key" = String, Path)),
    responses(
        (status = 201, description = "Completed: the order is placed", body = CheckoutDto),
        (status = 202, description = "Still running, or the challenge is still to be completed", body = CheckoutDto),
        (status = 402, description = "payment_declined (authentication failed), challenge_abandoned (too late)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No checkout of the caller's has this key", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`challenge_not_pending`: the checkout waits for no challenge; out_of_stock and the other failures of a checkout", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "payment_unavailable", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn answer_challenge(
    State(state): State<AppState>,
    principal: Principal,
    Path(key): Path<String>,
) -> Result<Response, Problem> {
    let id = checkout_id(&principal, &key)?;
    let wait = Duration::from_millis(CHECKOUT_WAIT_MS);
    let view = state.sagas.answer_challenge(&id, wait).await.map_err(saga_problem)?;
    answered(&key, &view)
}

/// A checkout of the calling customer, as it stands (failed ones included, with why).
#[utoipa::path(get, path = "/v1/checkouts/{key}", tag = "checkout", params(("key" = String, Path)),
    responses((status = 200, body = CheckoutDto), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn get_checkout(
    State(state): State<AppState>,
    principal: Principal,
    Path(key): Path<String>,
) -> Result<Response, Problem> {
    let id = checkout_id(&principal, &key)?;
    let view = state.sagas.status(&id).await?.ok_or_else(|| not_found("checkout"))?;
    Ok(reply(StatusCode::OK, &checkout_dto(&key, &view)))
}

/// The entity id of the calling customer's checkout `key` from a path; a key no checkout
/// can have names none.
fn checkout_id(principal: &Principal, key: &str) -> Result<String, Problem> {
    let customer = principal.customer()?;
    if key.is_empty() || key.len() > CHECKOUT_KEY_BYTES_MAX || key.contains('/') {
        return Err(not_found("checkout"));
    }
    Ok(keys::checkout(&principal.tenant, &customer, key))
}

fn checkout_dto(key: &str, view: &CheckoutView) -> CheckoutDto {
    let (status, step) = match &view.status {
        CheckoutStatus::Completed => ("completed", None),
        CheckoutStatus::Failed(_) => ("failed", None),
        CheckoutStatus::Running { step } => ("pending", Some(step.name().to_owned())),
        CheckoutStatus::ChallengeRequired(_) => {
            ("challenge_required", Some(Step::Authorize.name().to_owned()))
        }
    };
    let next_action = match &view.status {
        CheckoutStatus::ChallengeRequired(challenge) => Some(NextActionDto {
            kind: "three_d_secure".to_owned(),
            url: challenge.url.clone(),
            expires_at_ms: challenge.expires_at_ms,
        }),
        _ => None,
    };
    let completed = matches!(view.status, CheckoutStatus::Completed);
    CheckoutDto {
        key: key.to_owned(),
        status: status.to_owned(),
        step,
        order_id: view.order.to_string(),
        order_url: completed.then(|| format!("/v1/orders/{}", view.order)),
        status_url: format!("/v1/checkouts/{key}"),
        total: view.totals.as_ref().map(|totals| totals.total.into()),
        fraud: view.fraud.as_ref().map(|fraud| fraud_name(fraud.decision).to_owned()),
        capture: view.capture.map(|capture| capture_name(capture).to_owned()),
        failure: view.failure.as_ref().map(|failure| FailureDto {
            step: failure.step.name().to_owned(),
            code: failure.code.code().to_owned(),
            detail: failure.detail.clone(),
        }),
        next_action,
    }
}

pub(crate) fn fraud_name(decision: FraudDecision) -> &'static str {
    match decision {
        FraudDecision::Accept => "accept",
        FraudDecision::Review => "review",
        FraudDecision::Reject => "reject",
    }
}

pub(crate) fn capture_name(capture: CapturePolicy) -> &'static str {
    match capture {
        CapturePolicy::AtPlacement => "at_placement",
        CapturePolicy::AtShipment => "at_shipment",
    }
}
