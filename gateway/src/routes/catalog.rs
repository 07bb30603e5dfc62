//! What every principal of a tenant may read: products (from memory, never through an
//! entity's mailbox), what was bought with them (the order book's recommendations) and
//! search.

use crate::openapi::routes;
use axum::Json;
use axum::extract::State;

use bazaar_actors::Asin;
use bazaar_services::search::{SearchQuery, Sort};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;

use crate::auth::Principal;
use crate::dto::{MoneyDto, ProductDto};
use crate::extract::{Path, Query};
use crate::limits::{RECOMMENDATIONS_DEFAULT, RECOMMENDATIONS_MAX};
use crate::problem::{Problem, bad_request, internal, not_found};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_product))
        .routes(routes!(recommendations))
        .routes(routes!(search))
}

/// A product with its buy box and offers.
#[utoipa::path(
    get,
    path = "/v1/products/{asin}",
    tag = "catalog",
    params(("asin" = String, Path, description = "The product's ASIN")),
    responses(
        (status = 200, body = ProductDto),
        (status = 404, description = "No such product", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn get_product(
    State(state): State<AppState>,
    principal: Principal,
    Path(asin): Path<String>,
) -> Result<axum::response::Response, Problem> {
    let asin = Asin::parse(&asin).map_err(|_| not_found("product"))?;
    let view =
        state.catalog.product(&principal.tenant, &asin).ok_or_else(|| not_found("product"))?;
    let body = state.rendered.get_or_render(&principal.tenant, &asin, view.revision, || {
        serde_json::to_vec(&ProductDto::new(asin.as_str(), &view)).unwrap_or_default().into()
    });
    let content_type = [(axum::http::header::CONTENT_TYPE, "application/json")];
    Ok(axum::response::IntoResponse::into_response((content_type, body)))
}

/// Recommendation parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RecommendationParams {
    /// Products in each list, from 1 to 20 (default 5).
    #[serde(
        default,
        deserialize_with = "crate::fields::recommendations_limit::deserialize_option"
    )]
    #[param(schema_with = crate::fields::recommendations_limit::schema)]
    limit: Option<u32>,
}

/// What shoppers bought with a product, most often first.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecommendationsDto {
    pub asin: String,
    /// Products bought in the same order.
    pub bought_together: Vec<RecommendedDto>,
    /// Products the same customers bought in their other orders.
    pub also_bought: Vec<RecommendedDto>,
}

/// A recommended product: one with a buy box, at its landed price.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecommendedDto {
    pub asin: String,
    pub title: String,
    pub price: MoneyDto,
}

/// What shoppers bought with this product: in the same order ("bought together") and in
/// their other orders ("also bought"), most often first, each seen in two orders (or of two
/// customers) at least, so that no answer tells what one shopper bought. Only products with a buy box now
/// (an eligible offer with units) are shown. Learnt from every placed order as soon as it is durable, and rebuilt from the
/// journal at start.
#[utoipa::path(
    get,
    path = "/v1/products/{asin}/recommendations",
    tag = "catalog",
    params(("asin" = String, Path, description = "The product's ASIN"), RecommendationParams),
    responses(
        (status = 200, body = RecommendationsDto),
        (status = 400, description = "`invalid_limit`, or an unknown parameter", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such product", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn recommendations(
    State(state): State<AppState>,
    principal: Principal,
    Path(asin): Path<String>,
    Query(params): Query<RecommendationParams>,
) -> Result<Json<RecommendationsDto>, Problem> {
    let asin = Asin::parse(&asin).map_err(|_| not_found("product"))?;
    let tenant = &principal.tenant;
    state.catalog.product(tenant, &asin).ok_or_else(|| not_found("product"))?;
    let limit = params.limit.unwrap_or(RECOMMENDATIONS_DEFAULT);
    if !(1..=RECOMMENDATIONS_MAX).contains(&limit) {
        let detail = format!("limit must be 1 to {RECOMMENDATIONS_MAX}");
        return Err(bad_request("invalid_limit", detail));
    }
    let found = state.orders.recommendations(tenant, &asin);
    let in_stock = |candidates: Vec<(Asin, u32)>| -> Vec<RecommendedDto> {
        candidates
            .into_iter()
            .filter_map(|(asin, _)| {
                let view = state.catalog.product(tenant, &asin)?;
                // Only offers with units available compete for the buy box: none, no stock.
                let buy_box = view.buy_box.as_ref()?;
                let title = view.document.title.clone();
                Some(RecommendedDto { asin: asin.to_string(), title, price: buy_box.landed.into() })
            })
            .take(limit as usize)
            .collect()
    };
    Ok(Json(RecommendationsDto {
        asin: asin.to_string(),
        bought_together: in_stock(found.bought_together),
        also_bought: in_stock(found.also_bought),
    }))
}

/// Search parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// Words looked up in title, brand and description.
    q: Option<String>,
    /// A category path from the root, names joined by ` > `.
    category: Option<String>,
    brand: Option<String>,
    /// Lowest buy-box landed price, minor units, inclusive.
    #[param(schema_with = crate::fields::search_price_minor::schema)]
    price_min: Option<i64>,
    /// Highest buy-box landed price, minor units, inclusive (not below `price_min`).
    #[param(schema_with = crate::fields::search_price_minor::schema)]
    price_max: Option<i64>,
    in_stock: Option<bool>,
    /// `marketplace` or `seller`.
    fulfilment: Option<String>,
    /// `relevance` (default), `price_asc`, `price_desc` or `newest`.
    #[param(schema_with = crate::fields::search_sort)]
    sort: Option<String>,
    /// From 1; `page * page_size` at most 10,000.
    #[serde(default, deserialize_with = "crate::fields::search_page::deserialize_option")]
    #[param(schema_with = crate::fields::search_page::schema)]
    page: Option<u32>,
    /// From 1 to 100.
    #[serde(default, deserialize_with = "crate::fields::search_page_size::deserialize_option")]
    #[param(schema_with = crate::fields::search_page_size::schema)]
    page_size: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SearchAnswer {
    pub total: u64,
    pub page: u32,
    pub page_size: u32,
    pub hits: Vec<SearchHit>,
    pub facets: FacetsDto,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SearchHit {
    pub asin: String,
    pub title: String,
    pub brand: String,
    /// The buy box's landed price, if any offer holds the buy box.
    pub price: Option<MoneyDto>,
    pub score: f32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FacetsDto {
    pub brand: Vec<FacetCount>,
    /// Top-level categories, or the children of the filtered category, as full paths.
    pub category: Vec<FacetCount>,
    /// Landed-price buckets in minor units (`0-1000`, ..., `100000+`).
    pub price: Vec<FacetCount>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FacetCount {
    pub value: String,
    pub count: u64,
}

fn counts(list: Vec<(String, u64)>) -> Vec<FacetCount> {
    list.into_iter().map(|(value, count)| FacetCount { value, count }).collect()
}

/// Full-text search with filters, facet counts, sorts and pages.
#[utoipa::path(
    get,
    path = "/v1/search",
    tag = "catalog",
    params(SearchParams),
    responses(
        (status = 200, body = SearchAnswer),
        (status = 400, description = "Invalid parameters", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn search(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<SearchParams>,
) -> Result<Json<SearchAnswer>, Problem> {
    let sort = match params.sort.as_deref() {
        None | Some("relevance") => Sort::Relevance,
        Some("price_asc") => Sort::PriceAsc,
        Some("price_desc") => Sort::PriceDesc,
        Some("newest") => Sort::Newest,
        Some(other) => return Err(bad_request("invalid_sort", format!("unknown sort {other:?}"))),
    };
    let query = SearchQuery {
        text: params.q,
        category: params.category,
        brand: params.brand,
        price_min_minor: params.price_min,
        price_max_minor: params.price_max,
        in_stock: params.in_stock,
        fulfilment: params.fulfilment,
        sort,
        page: params.page.unwrap_or(1),
        page_size: params.page_size.unwrap_or(20),
    };
    let index = state.catalog.search(&principal.tenant).map_err(|e| Problem::from(&e))?;
    let (page, page_size) = (query.page, query.page_size);
    // tantivy searches on the caller's thread: keep it off the async workers.
    let found = tokio::task::spawn_blocking(move || index.search(&query))
        .await
        .map_err(|_| internal("search task failed"))?
        .map_err(|e| Problem::from(&e))?;
    let hits = found
        .hits
        .into_iter()
        .map(|hit| {
            let view = Asin::parse(&hit.asin)
                .ok()
                .and_then(|asin| state.catalog.product(&principal.tenant, &asin));
            SearchHit {
                title: view.as_ref().map(|v| v.document.title.clone()).unwrap_or_default(),
                brand: view.as_ref().map(|v| v.document.brand.clone()).unwrap_or_default(),
                price: view.as_ref().and_then(|v| v.buy_box.as_ref()).map(|b| b.landed.into()),
                asin: hit.asin,
                score: hit.score,
            }
        })
        .collect();
    Ok(Json(SearchAnswer {
        total: found.total,
        page,
        page_size,
        hits,
        facets: FacetsDto {
            brand: counts(found.facets.brand),
            category: counts(found.facets.category),
            price: counts(found.facets.price_buckets),
        },
    }))
}
