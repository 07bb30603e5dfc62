//! The gateway's knobs: `cluster.toml`'s `[gateway]` table.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GatewayConfig {
    /// Requests a second per tenant, sustained.
    pub tenant_requests_per_s: u32,
    /// Requests a tenant may send at once above the sustained rate.
    pub tenant_burst: u32,
    /// Offer price updates a second per seller, sustained (price-update storms).
    pub seller_price_updates_per_s: u32,
    pub seller_price_updates_burst: u32,
    /// Lines of listings feeds (products and offers) a second per seller, sustained: a bulk
    /// listing's own limit, apart from the price-update limit of single offers.
    pub seller_listing_lines_per_s: u32,
    /// Lines a seller may send at once above the sustained rate; also the longest listings
    /// feed the seller may send.
    pub seller_listing_lines_burst: u32,
    /// Bytes of rendered product pages kept for hot reads; a page not kept is rendered again
    /// from the catalog's read model.
    pub product_page_cache_bytes: u64,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            tenant_requests_per_s: 20_000,
            tenant_burst: 40_000,
            seller_price_updates_per_s: 100,
            seller_price_updates_burst: 500,
            seller_listing_lines_per_s: 20_000,
            seller_listing_lines_burst: 100_000,
            product_page_cache_bytes: 64 * 1024 * 1024,
        }
    }
}

impl GatewayConfig {
    pub fn validate(&self) -> Result<(), String> {
        for (name, value) in [
            ("tenant_requests_per_s", self.tenant_requests_per_s),
            ("tenant_burst", self.tenant_burst),
            ("seller_price_updates_per_s", self.seller_price_updates_per_s),
            ("seller_price_updates_burst", self.seller_price_updates_burst),
            ("seller_listing_lines_per_s", self.seller_listing_lines_per_s),
            ("seller_listing_lines_burst", self.seller_listing_lines_burst),
        ] {
            if value == 0 {
                return Err(format!("gateway.{name} must be at least 1"));
            }
        }
        let cache = self.product_page_cache_bytes;
        if cache > crate::limits::PRODUCT_PAGE_CACHE_BYTES_MAX {
            let max = crate::limits::PRODUCT_PAGE_CACHE_BYTES_MAX;
            return Err(format!("gateway.product_page_cache_bytes = {cache}, at most {max}"));
        }
        Ok(())
    }
}

/// How carts are priced: `cluster.toml`'s `[pricing]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PricingConfig {
    /// Where a cart ships when the request names no country.
    pub default_country: bazaar_actors::CountryCode,
    /// VAT in basis points by destination country and tax class:
    /// `[pricing.vat.DE] standard = 1900, reduced = 700`.
    pub vat: bazaar_actors::pricing::VatTable,
}

impl Default for PricingConfig {
    fn default() -> Self {
        let rates: &[(&str, u16, u16)] =
            &[("DE", 1900, 700), ("FR", 2000, 550), ("NL", 2100, 900), ("GB", 2000, 500)];
        let rows = rates.iter().flat_map(|&(country, standard, reduced)| {
            let country = bazaar_actors::CountryCode::parse(country).expect("a valid country");
            [
                (country, bazaar_actors::product::TaxClass::Standard, standard),
                (country, bazaar_actors::product::TaxClass::Reduced, reduced),
            ]
        });
        PricingConfig {
            default_country: bazaar_actors::CountryCode::parse("DE").expect("a valid country"),
            vat: bazaar_actors::pricing::VatTable::from_rates(rows).expect("valid default rates"),
        }
    }
}
