//! The catalog document of a product and its validation.
//!
//! Invariant: a document stored in a product passed [`validate`]: title and brand non-blank,
//! every text within its bound in `limits` and free of control characters (the description may
//! hold line breaks and tabs), every image an `https://` URL without whitespace.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::ProductRejection;
use crate::limits::{
    ATTRIBUTE_KEY_BYTES_MAX, ATTRIBUTE_VALUE_BYTES_MAX, ATTRIBUTES_MAX, BRAND_BYTES_MAX,
    CATEGORY_DEPTH_MAX, CATEGORY_NAME_BYTES_MAX, DESCRIPTION_BYTES_MAX, IMAGE_URL_BYTES_MAX,
    IMAGES_MAX, TITLE_BYTES_MAX,
};

/// The class a VAT rate table is keyed by. Variants are append-only.
#[derive(
    Debug, Default, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub enum TaxClass {
    #[default]
    Standard,
    Reduced,
    SuperReduced,
    Zero,
    Exempt,
}

/// What a shopper reads about a product, whoever sells it.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogDocument {
    pub title: String,
    pub brand: String,
    /// From the root down, e.g. `["Books", "Fiction", "Crime"]`.
    pub category_path: Vec<String>,
    pub attributes: BTreeMap<String, String>,
    /// Image URLs, the main image first.
    pub images: Vec<String>,
    pub description: String,
    pub tax_class: TaxClass,
}

fn is_text(text: &str, bytes_max: usize) -> bool {
    !text.trim().is_empty() && text.len() <= bytes_max && !text.chars().any(char::is_control)
}

fn is_image_url(url: &str) -> bool {
    url.len() <= IMAGE_URL_BYTES_MAX
        && url.len() > "https://".len()
        && url.starts_with("https://")
        && !url.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn is_description(text: &str) -> bool {
    text.len() <= DESCRIPTION_BYTES_MAX
        && !text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
}

fn bound(limit: usize) -> u32 {
    u32::try_from(limit).unwrap_or(u32::MAX)
}

/// Checks every field; the first failing one names the rejection.
/// The attributes of `required` that `document` lacks (absent, or blank), sorted, each once.
pub fn missing(document: &CatalogDocument, required: &[String]) -> Vec<String> {
    let lacks = |name: &&String| {
        document.attributes.get(name.as_str()).is_none_or(|value| value.trim().is_empty())
    };
    let mut missing: Vec<String> = required.iter().filter(lacks).cloned().collect();
    missing.sort_unstable();
    missing.dedup();
    missing
}

pub(super) fn validate(document: &CatalogDocument) -> Result<(), ProductRejection> {
    if !is_text(&document.title, TITLE_BYTES_MAX) {
        return Err(ProductRejection::TitleInvalid { bytes_max: bound(TITLE_BYTES_MAX) });
    }
    if !is_text(&document.brand, BRAND_BYTES_MAX) {
        return Err(ProductRejection::BrandInvalid { bytes_max: bound(BRAND_BYTES_MAX) });
    }
    let path = &document.category_path;
    if path.is_empty()
        || path.len() > CATEGORY_DEPTH_MAX
        || !path.iter().all(|name| is_text(name, CATEGORY_NAME_BYTES_MAX))
    {
        return Err(ProductRejection::CategoryPathInvalid {
            depth_max: bound(CATEGORY_DEPTH_MAX),
            bytes_max: bound(CATEGORY_NAME_BYTES_MAX),
        });
    }
    let attributes = &document.attributes;
    if attributes.len() > ATTRIBUTES_MAX
        || !attributes.iter().all(|(key, value)| {
            is_text(key, ATTRIBUTE_KEY_BYTES_MAX) && is_text(value, ATTRIBUTE_VALUE_BYTES_MAX)
        })
    {
        return Err(ProductRejection::AttributesInvalid {
            count_max: bound(ATTRIBUTES_MAX),
            key_bytes_max: bound(ATTRIBUTE_KEY_BYTES_MAX),
            value_bytes_max: bound(ATTRIBUTE_VALUE_BYTES_MAX),
        });
    }
    if document.images.len() > IMAGES_MAX || !document.images.iter().all(|u| is_image_url(u)) {
        return Err(ProductRejection::ImagesInvalid {
            count_max: bound(IMAGES_MAX),
            url_bytes_max: bound(IMAGE_URL_BYTES_MAX),
        });
    }
    if !is_description(&document.description) {
        return Err(ProductRejection::DescriptionInvalid {
            bytes_max: bound(DESCRIPTION_BYTES_MAX),
        });
    }
    Ok(())
}
