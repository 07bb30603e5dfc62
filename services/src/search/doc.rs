//! The document the search index holds: one per product (ASIN), independent of the product
//! aggregate's types. The gateway maps a product and its buy box to a [`SearchDoc`].

use super::error::SearchError;
use super::limits::{
    ASIN_BYTES_MAX, CATEGORY_DEPTH_MAX, CATEGORY_NAME_BYTES_MAX, DOC_TEXT_BYTES_MAX,
    FULFILMENTS_MAX, KEYWORD_BYTES_MAX,
};

/// One product as search sees it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SearchDoc {
    /// The product key; an upsert replaces the document with the same ASIN.
    pub asin: String,
    pub title: String,
    /// Matched exactly by the brand filter and counted by the brand facet; also full text.
    pub brand: String,
    pub description: String,
    /// Root first: `["Electronics", "Audio", "Headphones"]`. Names are trimmed; a name may not
    /// contain `>` (the separator of [`CATEGORY_SEPARATOR`](super::CATEGORY_SEPARATOR)) or
    /// control characters.
    pub category_path: Vec<String>,
    /// The buy box's landed price in minor units; `None` when no offer holds the buy box.
    /// Such a product is left out of price filters and price buckets and sorts last by price.
    pub price_minor: Option<i64>,
    pub currency: String,
    pub in_stock: bool,
    /// Fulfilment channels of the product's offers, e.g. `marketplace`, `seller`.
    pub fulfilment: Vec<String>,
    /// When the product was listed, for newest-first sorting.
    pub created_ms: u64,
}

impl SearchDoc {
    /// A stable hash of every field (xxh3 over the derived `Hash`), kept with the document in
    /// the index: after a crash, a document whose fingerprint matches the read model's is
    /// current and is not indexed again.
    pub(crate) fn fingerprint(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut hasher = xxhash_rust::xxh3::Xxh3::new();
        self.hash(&mut hasher);
        hasher.finish()
    }

    /// Checks every bound and trims category names; a bad document is rejected whole.
    pub(crate) fn normalize(mut self) -> Result<SearchDoc, SearchError> {
        check_keyword("asin", &self.asin, ASIN_BYTES_MAX)?;
        if self.asin.is_empty() {
            return Err(SearchError::invalid("asin", "is empty"));
        }
        if self.brand.len() > KEYWORD_BYTES_MAX {
            return Err(SearchError::invalid("brand", "is too long"));
        }
        let text_bytes = self.title.len() + self.brand.len() + self.description.len();
        if text_bytes > DOC_TEXT_BYTES_MAX {
            return Err(SearchError::invalid("document", "title, brand and description too long"));
        }
        self.category_path = normalize_category(&self.category_path)?;
        if self.price_minor.is_some_and(|price| price < 0) {
            return Err(SearchError::invalid("price_minor", "is negative"));
        }
        check_keyword("currency", &self.currency, KEYWORD_BYTES_MAX)?;
        if self.fulfilment.len() > FULFILMENTS_MAX {
            return Err(SearchError::invalid("fulfilment", "has too many channels"));
        }
        for channel in &self.fulfilment {
            check_keyword("fulfilment", channel, KEYWORD_BYTES_MAX)?;
        }
        Ok(self)
    }
}

/// A keyword (exact-match value): bounded, no control characters.
pub(crate) fn check_keyword(
    field: &'static str,
    value: &str,
    bytes_max: usize,
) -> Result<(), SearchError> {
    if value.len() > bytes_max {
        return Err(SearchError::invalid(field, "is too long"));
    }
    if value.chars().any(char::is_control) {
        return Err(SearchError::invalid(field, "holds control characters"));
    }
    Ok(())
}

/// Trims each name and checks depth, length and characters.
pub(crate) fn normalize_category<S: AsRef<str>>(path: &[S]) -> Result<Vec<String>, SearchError> {
    if path.len() > CATEGORY_DEPTH_MAX {
        return Err(SearchError::invalid("category", "is too deep"));
    }
    path.iter()
        .map(|name| {
            let name = name.as_ref().trim();
            if name.is_empty() {
                return Err(SearchError::invalid("category", "has an empty name"));
            }
            if name.contains('>') {
                return Err(SearchError::invalid("category", "has a name containing '>'"));
            }
            check_keyword("category", name, CATEGORY_NAME_BYTES_MAX)?;
            Ok(name.to_owned())
        })
        .collect()
}
