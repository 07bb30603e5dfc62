//! The document the search index holds: one per product (ASIN). [`SearchDoc`] is the
//! domain's (`bazaar_actors::product`), which derives it from a product's view and keeps its
//! fingerprint in the journal's index; the index checks and normalizes it here.

use super::error::SearchError;
use super::limits::{
    ASIN_BYTES_MAX, CATEGORY_DEPTH_MAX, CATEGORY_NAME_BYTES_MAX, DOC_TEXT_BYTES_MAX,
    FULFILMENTS_MAX, KEYWORD_BYTES_MAX,
};

pub use bazaar_actors::product::SearchDoc;

/// Checks every bound and trims category names; a bad document is rejected whole.
pub(crate) fn normalize(mut doc: SearchDoc) -> Result<SearchDoc, SearchError> {
    check_keyword("asin", &doc.asin, ASIN_BYTES_MAX)?;
    if doc.asin.is_empty() {
        return Err(SearchError::invalid("asin", "is empty"));
    }
    if doc.brand.len() > KEYWORD_BYTES_MAX {
        return Err(SearchError::invalid("brand", "is too long"));
    }
    let text_bytes = doc.title.len() + doc.brand.len() + doc.description.len();
    if text_bytes > DOC_TEXT_BYTES_MAX {
        return Err(SearchError::invalid("document", "title, brand and description too long"));
    }
    doc.category_path = normalize_category(&doc.category_path)?;
    if doc.price_minor.is_some_and(|price| price < 0) {
        return Err(SearchError::invalid("price_minor", "is negative"));
    }
    check_keyword("currency", &doc.currency, KEYWORD_BYTES_MAX)?;
    if doc.fulfilment.len() > FULFILMENTS_MAX {
        return Err(SearchError::invalid("fulfilment", "has too many channels"));
    }
    for channel in &doc.fulfilment {
        check_keyword("fulfilment", channel, KEYWORD_BYTES_MAX)?;
    }
    Ok(doc)
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
