//! The catalogue's knobs: `[catalog]` in the cluster configuration.

use serde::Deserialize;

use crate::limits::{PRODUCT_VIEW_CACHE_BYTES, PRODUCT_VIEW_CACHE_BYTES_MAX};

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CatalogConfig {
    /// Bytes of product views kept in memory; the others are read from the products' journal
    /// when asked for (0: every read is). `/metrics` shows `product_view_cache_{bytes,
    /// hits_total,misses_total,evictions_total}`.
    pub product_view_cache_bytes: u64,
}

impl Default for CatalogConfig {
    fn default() -> CatalogConfig {
        CatalogConfig { product_view_cache_bytes: PRODUCT_VIEW_CACHE_BYTES }
    }
}

impl CatalogConfig {
    /// Checks what serde cannot.
    pub fn validate(&self) -> Result<(), String> {
        let (bytes, max) = (self.product_view_cache_bytes, PRODUCT_VIEW_CACHE_BYTES_MAX);
        if bytes > max {
            return Err(format!("catalog.product_view_cache_bytes = {bytes}, at most {max}"));
        }
        Ok(())
    }
}
