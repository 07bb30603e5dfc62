//! A product as search sees it: the document search indexes, derived from the product's view.
//! Its fingerprint is kept in the journal's index beside the product (`crate::index`), and
//! with the document in the search index, so a search index that missed changes (a crash)
//! finds the products it must index again by comparing the two, without reading products.

use super::{CatalogDocument, Fulfilment, Offer, Product, ProductView};
use crate::ids::Asin;
use crate::money::Currency;

/// One product as search sees it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SearchDoc {
    /// The product key; an upsert replaces the document with the same ASIN.
    pub asin: String,
    pub title: String,
    /// Matched exactly by the brand filter and counted by the brand facet; also full text.
    pub brand: String,
    pub description: String,
    /// Root first: `["Electronics", "Audio", "Headphones"]`. Names are trimmed by the index;
    /// a name may not contain `>` or control characters.
    pub category_path: Vec<String>,
    /// The buy box's landed price in minor units; `None` when no offer holds the buy box.
    /// Such a product is left out of price filters and price buckets and sorts last by price.
    pub price_minor: Option<i64>,
    pub currency: String,
    pub in_stock: bool,
    /// Fulfilment channels of the product's offers that have stock, e.g. `marketplace`.
    pub fulfilment: Vec<String>,
    /// When the product was listed, for newest-first sorting.
    pub created_ms: u64,
}

/// A search document borrowed from the product: hashed field by field exactly as
/// [`SearchDoc`]'s derived `Hash` hashes its own (`&str` as `String`, `&[String]` and
/// `Vec<&str>` as `Vec<String>`), so a fingerprint needs no copy of the document.
#[derive(Hash)]
struct Borrowed<'a> {
    asin: &'a str,
    title: &'a str,
    brand: &'a str,
    description: &'a str,
    category_path: &'a [String],
    price_minor: Option<i64>,
    currency: &'a str,
    in_stock: bool,
    fulfilment: Vec<&'static str>,
    created_ms: u64,
}

impl<'a> Borrowed<'a> {
    /// The buy box's landed price, whether any offer has stock, and the fulfilment channels
    /// of the offers that do.
    fn of(
        asin: &'a Asin,
        document: &'a CatalogDocument,
        currency: &'a Currency,
        price_minor: Option<i64>,
        offers: impl Iterator<Item = &'a Offer>,
        created_ms: u64,
    ) -> Borrowed<'a> {
        let mut fulfilment: Vec<&'static str> = offers
            .filter(|offer| offer.terms.available > 0)
            .map(|offer| match offer.terms.fulfilment {
                Fulfilment::Marketplace => "marketplace",
                Fulfilment::Seller => "seller",
            })
            .collect();
        let in_stock = !fulfilment.is_empty();
        fulfilment.sort();
        fulfilment.dedup();
        Borrowed {
            asin: asin.as_str(),
            title: &document.title,
            brand: &document.brand,
            description: &document.description,
            category_path: &document.category_path,
            price_minor,
            currency: currency.as_str(),
            in_stock,
            fulfilment,
            created_ms,
        }
    }

    fn of_view(asin: &'a Asin, view: &'a ProductView) -> Borrowed<'a> {
        let price = view.buy_box.as_ref().map(|buy_box| buy_box.landed.minor);
        let created = view.created_at_ms;
        Borrowed::of(asin, &view.document, &view.currency, price, view.offers.iter(), created)
    }

    fn fingerprint(&self) -> u64 {
        fingerprint(self)
    }
}

fn fingerprint(fields: &impl std::hash::Hash) -> u64 {
    use std::hash::Hasher;
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    fields.hash(&mut hasher);
    hasher.finish()
}

impl SearchDoc {
    /// The document of `asin` whose view is `view`: the buy box's landed price, whether any
    /// offer has stock, and the fulfilment channels of the offers that do.
    pub fn of(asin: &Asin, view: &ProductView) -> SearchDoc {
        let fields = Borrowed::of_view(asin, view);
        SearchDoc {
            asin: fields.asin.to_string(),
            title: fields.title.to_string(),
            brand: fields.brand.to_string(),
            description: fields.description.to_string(),
            category_path: fields.category_path.to_vec(),
            price_minor: fields.price_minor,
            currency: fields.currency.to_string(),
            in_stock: fields.in_stock,
            fulfilment: fields.fulfilment.iter().map(|channel| channel.to_string()).collect(),
            created_ms: fields.created_ms,
        }
    }

    /// `SearchDoc::of(asin, view).fingerprint()`, without building the document.
    pub fn fingerprint_of(asin: &Asin, view: &ProductView) -> u64 {
        Borrowed::of_view(asin, view).fingerprint()
    }

    /// The fingerprint of the document of `asin` in state `product`, without building its
    /// view; `None` before the product is created.
    pub fn fingerprint_of_product(asin: &Asin, product: &Product) -> Option<u64> {
        let (document, currency) = (product.document.as_ref()?, product.currency.as_ref()?);
        let price = product.buy_box().map(|buy_box| buy_box.landed.minor);
        let offers = product.offers.values();
        Some(
            Borrowed::of(asin, document, currency, price, offers, product.created_at_ms)
                .fingerprint(),
        )
    }

    /// A stable hash of every field (xxh3 over the derived `Hash`): equal documents, equal
    /// fingerprints, in every process of this build.
    pub fn fingerprint(&self) -> u64 {
        fingerprint(self)
    }
}
