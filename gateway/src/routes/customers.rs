//! Customers' personal data: a customer's own profile (name, e-mail, phone), support's view of
//! a customer, and erasure (GDPR), by the customer itself or by support.
//!
//! Every field is sealed by the vault with the customer's data key before the customer entity
//! sees it, so no event or snapshot holds it in clear. Erasure destroys that key first, then
//! records the erasure on the entity: from then on the profile and every delivery address the
//! customer gave answer as erased, and nothing personal is accepted for it again
//! (`customer_erased`). Orders and the ledger keep their amounts.
//!
//! An answer with personal data in clear is never stored under an `Idempotency-Key`
//! ([`PersonalData`]): a stored answer would put it on disk. A retry runs again instead, which
//! is safe: setting a profile twice, or erasing twice, leaves the same state.

use crate::openapi::routes;
use axum::extract::State;
use axum::{Extension, Json};
use bazaar_actors::customer::{Customer, CustomerCommand, Profile, field};
use bazaar_actors::{CustomerId, keys};
use bazaar_services::pii::Reader;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

use super::answer;
use crate::auth::Principal;
use crate::extract::Path;
use crate::idempotency::PersonalData;
use crate::json::Body;
use crate::problem::{Problem, invalid, not_found};
use crate::state::AppState;
use crate::{dto, fields};
use bazaar_actors::limits::CUSTOMER_FIELD_BYTES_MAX;

/// The calling customer's own profile and erasure.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_profile, set_profile)).routes(routes!(erase_self))
}

/// Support's view of a customer, and erasure on the customer's request.
pub fn support_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_customer)).routes(routes!(erase_customer))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerProfileDto {
    /// 1 to 128 bytes of UTF-8 once trimmed, no control characters.
    #[schema(schema_with = crate::fields::customer_name)]
    pub name: String,
    /// At most 128 bytes: one `@` between two non-empty parts, no spaces.
    #[schema(schema_with = crate::fields::email)]
    pub email: String,
    /// An optional `+`, then 4 to 20 digits.
    #[serde(default)]
    #[schema(schema_with = crate::fields::phone_option)]
    pub phone: Option<String>,
}

/// A customer's personal data, opened for the customer or support.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CustomerDto {
    pub id: String,
    /// `null` before a profile is set, and after erasure.
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// When the customer's personal data was erased; `null` if it was not.
    pub erased_at_ms: Option<u64>,
}

/// The profile in clear, checked.
fn checked(profile: CustomerProfileDto) -> Result<(String, String, Option<String>), Problem> {
    let name = dto::text("profile_invalid", "name", &profile.name, CUSTOMER_FIELD_BYTES_MAX)?;
    if !fields::is_email(&profile.email) {
        let detail = "email is one @ between two non-empty parts, at most 128 bytes, no spaces";
        return Err(invalid("profile_invalid", detail));
    }
    if profile.phone.as_deref().is_some_and(|phone| !fields::is_phone(phone)) {
        return Err(invalid("profile_invalid", "phone is an optional + and 4 to 20 digits"));
    }
    Ok((name, profile.email, profile.phone))
}

async fn view(
    state: &AppState,
    tenant: &str,
    customer: &CustomerId,
) -> Result<CustomerDto, Problem> {
    let key = keys::customer(tenant, customer);
    let found = answer(state.engine.ask::<Customer>(&key, CustomerCommand::Get).await)?;
    let reader = state.vault.reader(tenant, customer.as_str()).await?;
    Ok(customer_dto(customer, &found, &reader))
}

fn customer_dto(id: &CustomerId, customer: &Customer, reader: &Reader) -> CustomerDto {
    let profile = customer.profile.as_ref();
    let open = |name, value| reader.open(name, value).text();
    CustomerDto {
        id: id.to_string(),
        name: profile.and_then(|p| open(field::NAME, &p.name)),
        email: profile.and_then(|p| open(field::EMAIL, &p.email)),
        phone: profile.and_then(|p| p.phone.as_ref()).and_then(|p| open(field::PHONE, p)),
        erased_at_ms: customer.erased_at_ms.or(reader.erased_at_ms()),
    }
}

/// Destroys the customer's data key, then records the erasure on the customer.
async fn erase(
    state: &AppState,
    tenant: &str,
    customer: &CustomerId,
) -> Result<CustomerDto, Problem> {
    let now_ms = state.engine.clock().now_ms();
    state.vault.erase(tenant, customer.as_str(), now_ms).await?;
    let key = keys::customer(tenant, customer);
    answer(state.engine.ask::<Customer>(&key, CustomerCommand::Erase).await)?;
    view(state, tenant, customer).await
}

/// The calling customer's profile.
#[utoipa::path(get, path = "/v1/customers/me", tag = "customers",
    responses((status = 200, body = CustomerDto)), security(("bearer" = [])))]
async fn get_profile(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<CustomerDto>, Problem> {
    let customer = principal.customer()?;
    Ok(Json(view(&state, &principal.tenant, &customer).await?))
}

/// Sets the calling customer's profile; every field is sealed before it is stored.
#[utoipa::path(put, path = "/v1/customers/me", tag = "customers", request_body = CustomerProfileDto,
    responses((status = 200, body = CustomerDto),
        (status = 409, description = "`customer_erased`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`profile_invalid`", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn set_profile(
    State(state): State<AppState>,
    principal: Principal,
    Body(profile): Body<CustomerProfileDto>,
) -> Result<(Extension<PersonalData>, Json<CustomerDto>), Problem> {
    let customer = principal.customer()?;
    let (name, email, phone) = checked(profile)?;
    let sealer = state.vault.sealer(&principal.tenant, customer.as_str()).await?;
    let profile = Profile {
        name: sealer.seal(field::NAME, &name),
        email: sealer.seal(field::EMAIL, &email),
        phone: phone.map(|phone| sealer.seal(field::PHONE, &phone)),
    };
    let key = keys::customer(&principal.tenant, &customer);
    answer(state.engine.ask::<Customer>(&key, CustomerCommand::SetProfile(profile)).await)?;
    Ok((Extension(PersonalData), Json(view(&state, &principal.tenant, &customer).await?)))
}

/// Erases the calling customer's personal data (GDPR): its profile and every delivery address
/// it gave become unreadable at once, and none is accepted again. Orders keep their amounts.
#[utoipa::path(post, path = "/v1/customers/me/erasure", tag = "customers",
    responses((status = 200, body = CustomerDto)), security(("bearer" = [])))]
async fn erase_self(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<CustomerDto>, Problem> {
    let customer = principal.customer()?;
    Ok(Json(erase(&state, &principal.tenant, &customer).await?))
}

/// A customer of the tenant: its profile, or when it was erased.
#[utoipa::path(get, path = "/v1/support/customers/{customer}", tag = "support",
    params(("customer" = String, Path)),
    responses((status = 200, body = CustomerDto), (status = 404, description = "Not a customer id", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn get_customer(
    State(state): State<AppState>,
    principal: Principal,
    Path(customer): Path<String>,
) -> Result<Json<CustomerDto>, Problem> {
    let customer = CustomerId::parse(&customer).map_err(|_| not_found("customer"))?;
    Ok(Json(view(&state, &principal.tenant, &customer).await?))
}

/// Erases a customer's personal data on its request (GDPR); audited under the agent's name.
#[utoipa::path(post, path = "/v1/support/customers/{customer}/erasure", tag = "support",
    params(("customer" = String, Path)),
    responses((status = 200, body = CustomerDto), (status = 404, description = "Not a customer id", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn erase_customer(
    State(state): State<AppState>,
    principal: Principal,
    Path(customer): Path<String>,
) -> Result<Json<CustomerDto>, Problem> {
    let customer = CustomerId::parse(&customer).map_err(|_| not_found("customer"))?;
    Ok(Json(erase(&state, &principal.tenant, &customer).await?))
}
