//! Listings feeds: a seller's catalogue in bulk. NDJSON, one product per line (its document,
//! the seller's offer on it, or both), each line written whole or not at all and answered on
//! its own, like an inventory feed. A feed counts against the seller's listing limit, one
//! cell per line, not against the price-update limit of single offers: a seller lists a
//! million SKUs in minutes, and a storm of single price updates is still held back.

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use bazaar_actors::product::{Product, ProductCommand};
use bazaar_actors::{Asin, SellerId, keys};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

use super::feed::{FeedAnswer, apply_lines, lines_of};
use super::{changed, offer_terms};
use crate::auth::Principal;
use crate::dto::{self, DocumentDto, OfferDto};
use crate::extract::Ndjson;
use crate::limits::LISTINGS_FEED_BODY_BYTES_MAX;
use crate::openapi::routes;
use crate::problem::{Problem, invalid};
use crate::routes::answer;
use crate::state::AppState;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(listings_feed))
        .layer(axum::extract::DefaultBodyLimit::max(LISTINGS_FEED_BODY_BYTES_MAX))
}

/// The listings feed's route (spelt again in the `utoipa::path` below; a test checks they
/// agree).
pub const LISTINGS_FEED_PATH: &str = "/v1/seller/listings:feed";

/// One line of a listings feed: a product's catalog document, the seller's offer on it, or
/// both. The document creates the product or replaces its document (its owner only, as
/// `POST /v1/seller/products`); the offer lists or revises the seller's own offer (as
/// `PUT /v1/seller/offers/{asin}`). A line is written whole or not at all.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListingLine {
    /// Ten capitals or digits.
    #[schema(example = "B000000001")]
    pub asin: String,
    /// The marketplace currency of the product's offers (ISO 4217); required with
    /// `document`, fixed by the product's first document.
    #[schema(example = "EUR")]
    pub currency: Option<String>,
    pub document: Option<DocumentDto>,
    pub offer: Option<OfferDto>,
}

/// Lists products and offers in bulk: NDJSON, one `ListingLine` per line. Every line is
/// answered on its own; a bad line does not sink the others and changes nothing. Lines for
/// the same ASIN are applied in file order. The whole feed counts against the seller's
/// listing limit (`seller_listing_lines_per_s`, at most `seller_listing_lines_burst` lines
/// at once: a longer feed is `feed_too_long`).
#[utoipa::path(post, path = "/v1/seller/listings:feed", tag = "seller",
    request_body(content = Vec<ListingLine>, content_type = "application/x-ndjson",
        description = "NDJSON: one `ListingLine` object per line (the schema shows the lines as an array)"),
    responses((status = 200, body = FeedAnswer), (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "feed_empty, feed_too_long", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "listing_rate_limited", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
async fn listings_feed(
    State(state): State<AppState>,
    principal: Principal,
    Ndjson(body): Ndjson,
) -> Result<Response, Problem> {
    let seller = principal.seller()?;
    let lines = lines_of(&body)?;
    state.limits.seller_listings(&principal.tenant, &Arc::from(seller.as_str()), lines.len())?;
    let stopping = state.stopping.clone();
    let answer = apply_lines(&stopping, lines, |line: &ListingLine| line.asin.clone(), {
        move |line: ListingLine| {
            let (state, principal, seller) = (state.clone(), principal.clone(), seller.clone());
            async move { list(&state, &principal, &seller, line).await }
        }
    })
    .await;
    Ok(super::feed::answered(&stopping, &answer))
}

/// Writes one line: everything is checked first, then one command writes the document and
/// the offer together.
async fn list(
    state: &AppState,
    principal: &Principal,
    seller: &SellerId,
    line: ListingLine,
) -> Result<(), Problem> {
    let asin = dto::id(Asin::parse(&line.asin))?;
    let document = match (line.document, line.currency) {
        (Some(document), Some(currency)) => Some((document.into(), dto::currency(&currency)?)),
        (Some(_), None) => {
            return Err(invalid("currency_missing", "a line with a document names its currency"));
        }
        (None, _) => None,
    };
    let offer = match line.offer {
        Some(offer) => Some(offer_terms(state, &principal.tenant, seller, offer)?),
        None => None,
    };
    if document.is_none() && offer.is_none() {
        return Err(invalid("listing_empty", "a line lists a document, an offer or both"));
    }
    let required = match &document {
        Some((document, _)) => state.catalog.required_attributes(document),
        None => Vec::new(),
    };
    let command = ProductCommand::List { by: seller.clone(), document, offer, required };
    let key = keys::product(&principal.tenant, &asin);
    let change = changed(answer(state.engine.ask::<Product>(&key, command).await)?)?;
    if change.offer_added {
        crate::routes::cases::listed(state, &principal.tenant, seller);
    }
    Ok(())
}
