//! Product: one catalog item, keyed by [`Asin`](crate::ids::Asin): the catalog document, the
//! offers of every seller, and the buy box.
//!
//! Invariants:
//! - Offers exist only on a product with a document; the first document fixes the product's
//!   marketplace currency for good, and every offer's price and shipping are in it.
//! - One offer per seller. Price is `1..=PRICE_MINOR_MAX` minor units, shipping
//!   `0..=PRICE_MINOR_MAX`, handling `0..=HANDLING_DAYS_MAX` days, available stock
//!   `0..=QUANTITY_MAX`, at most `OFFERS_PER_PRODUCT_MAX` offers.
//! - The buy box is a function of the offers alone: `apply` recomputes it after every event
//!   that touches an offer (listed, revised, withdrawn, stock set, seller score recorded), so it
//!   is the same whatever order the offers arrived in, and the same after a replay.
//! - `decide` emits `BuyBoxChanged { winner }` after those events exactly when the winning
//!   seller differs from the one before, so a projection can push the change.
//! - A seller score snapshot is kept only if its `version` is not older than the one held.
//! - The catalog document has one owner, the seller who created it; only the owner replaces
//!   it (any other seller is refused `NotDocumentOwner` and may only offer on the product).
//!   A product created before owners were recorded has none; the first seller to write its
//!   document then becomes its owner.
//!
//! # The buy box
//!
//! An offer is *eligible* when all hold: `available > 0`, the seller's standing (as last told)
//! is `Good`, the condition is `New`, and its price lies within the product's range (at most
//! three times above or below the median price of the offers in stock, once three are:
//! [`buy_box::PriceRange`]; a likely pricing error stays off the buy box until fixed), on a
//! product whose document has every attribute its category requires (the marketplace's
//! `required_attributes`, judged when the document is written and recorded as
//! `AttributesMissing`, so replay never depends on configuration).
//!
//! Among eligible offers the winner is the smallest under this order, compared field by field
//! (see [`buy_box::compare`]):
//! 1. landed price, `price.minor + shipping.minor`, lower first;
//! 2. delivery days, lower first: `0` when fulfilled by the marketplace (the item already sits
//!    in the marketplace's warehouse, so the seller's handling days are ignored), otherwise the
//!    offer's `handling_days`;
//! 3. seller rating, higher first;
//! 4. order defect rate, lower first;
//! 5. seller id, byte-wise ascending: the final tie-break, so the order is total and the
//!    winner unique.
//!
//! No eligible offer means no buy box. The price is the first criterion on purpose: a
//! shopper pays the landed price; speed and seller quality only decide between equal prices.

mod buy_box;
mod decide;
mod document;
mod offer;
#[cfg(test)]
mod proptests;
mod search;
mod state;
#[cfg(test)]
mod tests;

use bazaar_entity::{Ctx, Decision, Entity, Kind};
use serde::{Deserialize, Serialize};

use crate::ids::SellerId;
use crate::kinds;
use crate::money::{Currency, Money};
use crate::rejection::{Rejection, RejectionKind};
use crate::seller::SellerScore;

pub use buy_box::{
    BuyBox, PriceRange, ProductTerms, Suppression, compare, delivery_days, is_eligible,
    suppressions,
};
pub use document::{CatalogDocument, TaxClass};
pub use offer::{Condition, Fulfilment, Offer, OfferTerms};
pub use search::SearchDoc;
pub use state::Product;

/// What callers ask of a product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProductCommand {
    /// Creates the product, or replaces its document. `currency` is the marketplace's; it is
    /// fixed by the first document. `by` is the seller asking: the creator owns the document,
    /// and only its owner may replace it (see the module doc).
    CreateOrUpdateDocument {
        document: CatalogDocument,
        currency: Currency,
        by: SellerId,
        /// The attributes the marketplace requires of the document's category (`[catalog]
        /// required_attributes`): without one, no offer on the product is eligible.
        required: Vec<String>,
    },
    /// Lists or revises `seller`'s offer. `score` is the seller's snapshot, fetched from the
    /// seller entity by the caller.
    PutOffer {
        seller: SellerId,
        terms: OfferTerms,
        score: SellerScore,
    },
    WithdrawOffer {
        seller: SellerId,
    },
    /// A listings feed's line by `by`: the document (`CreateOrUpdateDocument`) then the
    /// seller's offer (`PutOffer`), decided together: both are written, or neither.
    List {
        by: SellerId,
        document: Option<(CatalogDocument, Currency)>,
        offer: Option<(OfferTerms, SellerScore)>,
        /// As for `CreateOrUpdateDocument`, when the line has a document.
        required: Vec<String>,
    },
    /// Sets the units `seller` can ship for this product.
    SetOfferStock {
        seller: SellerId,
        available: u32,
    },
    /// Tells the product of a seller's new standing or score.
    SetSellerScore {
        seller: SellerId,
        score: SellerScore,
    },
    Get,
}

/// What happened to a product. Variants are append-only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProductEvent {
    DocumentCreated {
        document: CatalogDocument,
        currency: Currency,
        at_ms: u64,
    },
    DocumentUpdated {
        document: CatalogDocument,
        at_ms: u64,
    },
    OfferListed {
        offer: Offer,
    },
    OfferRevised {
        offer: Offer,
    },
    OfferWithdrawn {
        seller: SellerId,
    },
    OfferStockSet {
        seller: SellerId,
        available: u32,
    },
    SellerScoreRecorded {
        seller: SellerId,
        score: SellerScore,
    },
    /// The buy box winner after the events before it in the same batch, when it differs.
    BuyBoxChanged {
        winner: Option<SellerId>,
    },
    /// `owner` owns the catalog document from now on: its creator, or the first seller to
    /// write the document of a product created before owners were recorded.
    OwnerRecorded {
        owner: SellerId,
    },
    /// The document lacks these required attributes (none: it has them all again).
    AttributesMissing {
        missing: Vec<String>,
    },
}

/// Why a product command was refused. Variants are append-only; see [`Rejection`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum ProductRejection {
    #[error("no such product")]
    UnknownProduct,
    #[error("a title must be 1 to {bytes_max} bytes of text without control characters")]
    TitleInvalid { bytes_max: u32 },
    #[error("a brand must be 1 to {bytes_max} bytes of text without control characters")]
    BrandInvalid { bytes_max: u32 },
    #[error("a category path must have 1 to {depth_max} names of 1 to {bytes_max} bytes")]
    CategoryPathInvalid { depth_max: u32, bytes_max: u32 },
    #[error(
        "at most {count_max} attributes, names of 1 to {key_bytes_max} bytes, values of 1 to \
         {value_bytes_max} bytes, without control characters"
    )]
    AttributesInvalid { count_max: u32, key_bytes_max: u32, value_bytes_max: u32 },
    #[error("at most {count_max} images, each an https url of at most {url_bytes_max} bytes")]
    ImagesInvalid { count_max: u32, url_bytes_max: u32 },
    #[error("a description must be at most {bytes_max} bytes")]
    DescriptionInvalid { bytes_max: u32 },
    #[error("the product is sold in {currency}; its currency cannot change")]
    CurrencyChanged { currency: Currency },
    #[error("amounts must be in {expected}")]
    CurrencyMismatch { expected: Currency },
    #[error("a price must be between 1 and {max_minor} minor units")]
    PriceInvalid { max_minor: i64 },
    #[error("a shipping charge must be between 0 and {max_minor} minor units")]
    ShippingInvalid { max_minor: i64 },
    #[error("handling takes at most {max} days")]
    HandlingDaysInvalid { max: u16 },
    #[error("quantity exceeds the limit of {max}")]
    QuantityTooLarge { max: u32 },
    #[error("this seller has no offer on the product")]
    UnknownOffer,
    #[error("the product has the most offers allowed, {max}")]
    TooManyOffers { max: u32 },
    #[error("a newer seller score, version {version}, is already recorded")]
    StaleSellerScore { version: u64 },
    #[error(
        "the catalog document belongs to the seller who created it; offer on the product instead"
    )]
    NotDocumentOwner,
}

impl Rejection for ProductRejection {
    fn code(&self) -> &'static str {
        match self {
            ProductRejection::UnknownProduct => "unknown_product",
            ProductRejection::TitleInvalid { .. } => "title_invalid",
            ProductRejection::BrandInvalid { .. } => "brand_invalid",
            ProductRejection::CategoryPathInvalid { .. } => "category_path_invalid",
            ProductRejection::AttributesInvalid { .. } => "attributes_invalid",
            ProductRejection::ImagesInvalid { .. } => "images_invalid",
            ProductRejection::DescriptionInvalid { .. } => "description_invalid",
            ProductRejection::CurrencyChanged { .. } => "currency_changed",
            ProductRejection::CurrencyMismatch { .. } => "currency_mismatch",
            ProductRejection::PriceInvalid { .. } => "price_invalid",
            ProductRejection::ShippingInvalid { .. } => "shipping_invalid",
            ProductRejection::HandlingDaysInvalid { .. } => "handling_days_invalid",
            ProductRejection::QuantityTooLarge { .. } => "quantity_too_large",
            ProductRejection::UnknownOffer => "unknown_offer",
            ProductRejection::TooManyOffers { .. } => "too_many_offers",
            ProductRejection::StaleSellerScore { .. } => "stale_seller_score",
            ProductRejection::NotDocumentOwner => "not_product_owner",
        }
    }

    fn kind(&self) -> RejectionKind {
        match self {
            ProductRejection::UnknownProduct | ProductRejection::UnknownOffer => {
                RejectionKind::NotFound
            }
            ProductRejection::TitleInvalid { .. }
            | ProductRejection::BrandInvalid { .. }
            | ProductRejection::CategoryPathInvalid { .. }
            | ProductRejection::AttributesInvalid { .. }
            | ProductRejection::ImagesInvalid { .. }
            | ProductRejection::DescriptionInvalid { .. }
            | ProductRejection::CurrencyMismatch { .. }
            | ProductRejection::PriceInvalid { .. }
            | ProductRejection::ShippingInvalid { .. }
            | ProductRejection::HandlingDaysInvalid { .. }
            | ProductRejection::QuantityTooLarge { .. } => RejectionKind::Invalid,
            ProductRejection::CurrencyChanged { .. }
            | ProductRejection::TooManyOffers { .. }
            | ProductRejection::StaleSellerScore { .. } => RejectionKind::Conflict,
            ProductRejection::NotDocumentOwner => RejectionKind::Forbidden,
        }
    }
}

/// The whole product, as `Get` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductView {
    pub document: CatalogDocument,
    pub currency: Currency,
    pub created_at_ms: u64,
    /// Events applied so far: grows with every change, fit for an ETag.
    pub revision: u64,
    pub buy_box: Option<BuyBox>,
    /// Every offer: the eligible ones in buy box order (the winner first), then the others
    /// by seller id.
    pub offers: Vec<Offer>,
    /// The attributes its category requires that its document lacks: none may win while any
    /// does.
    pub missing_attributes: Vec<String>,
}

impl ProductView {
    /// What the product says of every offer on it.
    pub fn terms(&self) -> ProductTerms {
        ProductTerms::of(&self.offers, &self.missing_attributes)
    }
}

/// The outcome of a change: small, so a storm of price updates does not copy every offer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductChange {
    /// The revision once the events are applied (unchanged when there were none).
    pub revision: u64,
    pub buy_box: Option<BuyBox>,
    /// Whether the winning seller differs from the one before the command.
    pub buy_box_changed: bool,
    /// Whether the command listed an offer of a seller that had none here (a new listing).
    pub offer_added: bool,
}

/// The answer to a product command: `Get` answers `Product`, every other command `Changed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProductReply {
    Changed(ProductChange),
    Product(Box<ProductView>),
}

/// The landed price of an offer, for summaries: price plus shipping.
pub fn landed_price(terms: &OfferTerms) -> Money {
    Money::new(terms.price.minor.saturating_add(terms.shipping.minor), terms.price.currency)
}

impl Entity for Product {
    const KIND: Kind = kinds::PRODUCT;
    type Command = ProductCommand;
    type Event = ProductEvent;
    type Reply = ProductReply;
    type Rejection = ProductRejection;

    fn decide(
        &self,
        command: ProductCommand,
        ctx: &Ctx<'_>,
    ) -> Result<Decision<Self>, ProductRejection> {
        decide::decide(self, command, ctx.now_ms)
    }

    fn apply(&mut self, event: &ProductEvent) {
        self.apply_event(event);
    }

    /// For each offer, which product its SKU is on with the units and the seller's score
    /// version it has (`crate::index::offer_row`); once created, its search fingerprint.
    fn index_rows(&self, id: &str) -> Vec<crate::index::Row> {
        use crate::index::{OfferRow, offer_row, search_row};
        let Some((tenant, asin)) = crate::keys::parse_product(id) else { return Vec::new() };
        let mut rows = Vec::with_capacity(self.offers.len() + 1);
        for offer in self.offers.values() {
            let (units, score_version) = (offer.terms.available, offer.score.version);
            let sku = offer.terms.sku.clone();
            let kept = OfferRow { sku, asin: asin.clone(), units, score_version };
            rows.push(offer_row(tenant, &offer.seller, &kept));
        }
        if let Some(fingerprint) = SearchDoc::fingerprint_of_product(&asin, self) {
            rows.push(search_row(tenant, &asin, fingerprint));
        }
        rows
    }
}
