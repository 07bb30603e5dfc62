//! A seller's statement: its sales, the marketplace's commission, VAT, refunds and what it is
//! owed over a period, from its orders' movements (see `bazaar_actors::ledger::statement`).

use crate::openapi::routes;
use axum::Json;
use axum::extract::State;
use bazaar_actors::Money;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

use crate::auth::Principal;
use crate::dto::MoneyDto;
use crate::extract::Query;
use crate::problem::Problem;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_statement))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct Period {
    /// From this time (ms since the Unix epoch, included); the beginning when left out.
    #[serde(default, deserialize_with = "crate::fields::epoch_ms::deserialize_option")]
    #[param(schema_with = crate::fields::epoch_ms::schema)]
    from_ms: Option<u64>,
    /// Until this time (excluded); now when left out.
    #[serde(default, deserialize_with = "crate::fields::epoch_ms::deserialize_option")]
    #[param(schema_with = crate::fields::epoch_ms::schema)]
    to_ms: Option<u64>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StatementAnswer {
    pub seller: String,
    pub from_ms: Option<u64>,
    pub to_ms: Option<u64>,
    /// One per currency the seller sold in during the period.
    pub statements: Vec<StatementDto>,
    /// False once the node keeps only the seller's newest 10,000 orders: a movement of an
    /// older one is then missing here (the ledger, `GET /admin/ledger`, has every one).
    pub complete: bool,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StatementDto {
    /// Orders placed in the period with the seller's lines.
    pub orders: u64,
    /// The seller's lines placed in the period: VAT exclusive, shipping included.
    pub sales: MoneyDto,
    /// The marketplace's commission on them.
    pub commission: MoneyDto,
    /// VAT collected on them (owed to the tax authority, not the seller).
    pub vat: MoneyDto,
    /// Sales reversed in the period (returns refunded, orders cancelled), VAT exclusive.
    pub refunded: MoneyDto,
    /// The commission the marketplace gave back with those refunds.
    pub commission_refunded: MoneyDto,
    pub vat_refunded: MoneyDto,
    /// What the marketplace owes the seller for the period: sales − commission −
    /// (refunded − commission_refunded).
    pub net_payable: MoneyDto,
}

/// The calling seller's statement for a period: every movement of its orders dated in it (a
/// sale of an earlier period refunded in this one counts in this one); see `complete`.
#[utoipa::path(get, path = "/v1/seller/statement", tag = "seller", params(Period),
    responses((status = 200, body = StatementAnswer)),
    security(("bearer" = [])))]
async fn get_statement(
    State(state): State<AppState>,
    principal: Principal,
    Query(period): Query<Period>,
) -> Result<Json<StatementAnswer>, Problem> {
    let seller = principal.seller()?;
    // An empty period (`to_ms` not after `from_ms`) has nothing in it.
    let (from, to) = (period.from_ms.unwrap_or(0), period.to_ms.unwrap_or(u64::MAX));
    let (statements, complete) =
        state.orders.seller_statement(&principal.tenant, &seller, (from, to));
    let statements = statements
        .into_iter()
        .map(|(currency, s)| {
            let money = |minor: i64| MoneyDto::from(Money::new(minor, currency));
            StatementDto {
                orders: s.orders,
                sales: money(s.sales),
                commission: money(s.commission),
                vat: money(s.vat),
                refunded: money(s.refunded),
                commission_refunded: money(s.commission_refunded),
                vat_refunded: money(s.vat_refunded),
                net_payable: money(s.net_payable),
            }
        })
        .collect();
    Ok(Json(StatementAnswer {
        seller: seller.to_string(),
        from_ms: period.from_ms,
        to_ms: period.to_ms,
        statements,
        complete,
    }))
}
