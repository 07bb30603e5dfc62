//! The catalogue's knobs: `[catalog]` in the cluster configuration.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::limits::{
    PRODUCT_VIEW_CACHE_BYTES, PRODUCT_VIEW_CACHE_BYTES_MAX, REQUIRED_ATTRIBUTE_ENTRIES_MAX,
};
use bazaar_actors::limits::ATTRIBUTE_KEY_BYTES_MAX;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CatalogConfig {
    /// Bytes of product views kept in memory; the others are read from the products' journal
    /// when asked for (0: every read is). `/metrics` shows `product_view_cache_{bytes,
    /// hits_total,misses_total,evictions_total}`.
    pub product_view_cache_bytes: u64,
    /// The attributes a product's document must have, by category name (every name on its
    /// category path counts): a product without one keeps all its offers off the buy box
    /// (their listings say `missing_attributes`) until its owner adds it. Judged when the
    /// document is written.
    pub required_attributes: BTreeMap<String, Vec<String>>,
}

impl Default for CatalogConfig {
    fn default() -> CatalogConfig {
        CatalogConfig {
            product_view_cache_bytes: PRODUCT_VIEW_CACHE_BYTES,
            required_attributes: BTreeMap::new(),
        }
    }
}

impl CatalogConfig {
    /// Checks what serde cannot.
    pub fn validate(&self) -> Result<(), String> {
        let (bytes, max) = (self.product_view_cache_bytes, PRODUCT_VIEW_CACHE_BYTES_MAX);
        if bytes > max {
            return Err(format!("catalog.product_view_cache_bytes = {bytes}, at most {max}"));
        }
        let (names, key_max) =
            (self.required_attributes.values().flatten(), ATTRIBUTE_KEY_BYTES_MAX);
        if let Some(name) = names.clone().find(|name| name.is_empty() || name.len() > key_max) {
            return Err(format!(
                "catalog.required_attributes: {name:?} is not an attribute name of 1 to {key_max} bytes"
            ));
        }
        let entries = self.required_attributes.len() + names.count();
        if entries > REQUIRED_ATTRIBUTE_ENTRIES_MAX {
            let max = REQUIRED_ATTRIBUTE_ENTRIES_MAX;
            return Err(format!("catalog.required_attributes has more than {max} entries"));
        }
        Ok(())
    }
}
