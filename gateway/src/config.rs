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
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            tenant_requests_per_s: 20_000,
            tenant_burst: 40_000,
            seller_price_updates_per_s: 100,
            seller_price_updates_burst: 500,
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
        ] {
            if value == 0 {
                return Err(format!("gateway.{name} must be at least 1"));
            }
        }
        Ok(())
    }
}
