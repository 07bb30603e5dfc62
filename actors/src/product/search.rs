//! A product as search sees it: the document search indexes, derived from the product's view.
//! Its fingerprint is kept in the journal's index beside the product (`crate::index`), and
//! with the document in the search index, so a search index that missed changes (a crash)
//! finds the products it must index again by comparing the two, without reading products.

use super::{Fulfilment, ProductView};
use crate::ids::Asin;

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

impl SearchDoc {
    /// The document of `asin` whose view is `view`: the buy box's landed price, whether any
    /// offer has stock, and the fulfilment channels of the offers that do.
    pub fn of(asin: &Asin, view: &ProductView) -> SearchDoc {
        let stocked = || view.offers.iter().filter(|offer| offer.terms.available > 0);
        let mut fulfilment: Vec<String> = stocked()
            .map(|offer| match offer.terms.fulfilment {
                Fulfilment::Marketplace => "marketplace".to_string(),
                Fulfilment::Seller => "seller".to_string(),
            })
            .collect();
        fulfilment.sort();
        fulfilment.dedup();
        SearchDoc {
            asin: asin.to_string(),
            title: view.document.title.clone(),
            brand: view.document.brand.clone(),
            description: view.document.description.clone(),
            category_path: view.document.category_path.clone(),
            price_minor: view.buy_box.as_ref().map(|buy_box| buy_box.landed.minor),
            currency: view.currency.to_string(),
            in_stock: stocked().next().is_some(),
            fulfilment,
            created_ms: view.created_at_ms,
        }
    }

    /// A stable hash of every field (xxh3 over the derived `Hash`): equal documents, equal
    /// fingerprints, in every process of this build.
    pub fn fingerprint(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut hasher = xxhash_rust::xxh3::Xxh3::new();
        self.hash(&mut hasher);
        hasher.finish()
    }
}
