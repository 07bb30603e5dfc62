//! A scenario: what `bazaar sim` does, read from TOML (`examples/scenarios/*.toml`) or the
//! built-in default (`examples/scenarios/default.toml`, compiled in).
//!
//! Invariants: every table refuses unknown fields, so a misspelt knob is an error naming the
//! field and the file, never silently ignored; a [`Scenario`] that [`Scenario::validate`]
//! accepted has positive sizes and rates within `limits.rs`, mix weights of which at least one
//! is positive, windows inside the run, and drills in time order. Pure: no I/O but
//! [`Scenario::load`], which only reads the file.

use std::path::Path;

use serde::Deserialize;

use super::limits::{
    CUSTOMERS_MAX, DRILLS_MAX, DURATION_S_MAX, FEED_LINES_MAX, OFFERS_PER_PRODUCT_MAX,
    PRODUCTS_MAX, RATE_PER_S_MAX, SEARCH_PAGES_MAX, SELLERS_MAX,
};

/// The default scenario, as shipped in `examples/scenarios/default.toml`.
pub const DEFAULT_TOML: &str = include_str!("../../examples/scenarios/default.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Shown in the report; the file's stem when absent.
    #[serde(default)]
    pub name: Option<String>,
    /// How long the load runs, in seconds (`--duration` overrides it).
    pub duration_s: f64,
    /// The seed when `--seed` is not given.
    #[serde(default = "default_seed")]
    pub seed: u64,
    pub catalogue: Catalogue,
    pub arrival: Arrival,
    pub mix: Mix,
    #[serde(default)]
    pub search: SearchShape,
    #[serde(default)]
    pub feeds: Feeds,
    #[serde(default)]
    pub price_storm: Option<Burst>,
    #[serde(default)]
    pub flash_sale: Option<FlashSale>,
    #[serde(default)]
    pub drills: Vec<Drill>,
    #[serde(default)]
    pub slo: Slo,
}

fn default_seed() -> u64 {
    1
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalogue {
    pub products: u32,
    pub sellers: u32,
    pub customers: u32,
    /// Sellers offering each product, 1 to this many (the first creates it).
    #[serde(default = "default_offers")]
    pub offers_per_product: u32,
    /// Units on hand of every SKU at the start.
    #[serde(default = "default_stock")]
    pub stock_per_sku: u32,
}

fn default_offers() -> u32 {
    2
}

fn default_stock() -> u32 {
    10_000
}

/// The base stream's shape: requests per second over the run.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Arrival {
    pub profile: Profile,
    /// The base rate, requests per second.
    pub rate_per_s: f64,
    /// `ramp`: the rate at the end, as a multiple of the base; `spike`: the rate of the spike.
    #[serde(default = "default_peak")]
    pub peak_factor: f64,
    /// `spike`: when the spike starts and how long it lasts, in seconds.
    #[serde(default)]
    pub spike_at_s: f64,
    #[serde(default)]
    pub spike_for_s: f64,
}

fn default_peak() -> f64 {
    1.0
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Profile {
    Constant,
    /// From the base rate to `peak_factor` times it, linearly over the run.
    Ramp,
    /// The base rate, and `peak_factor` times it from `spike_at_s` for `spike_for_s`.
    Spike,
}

/// Relative weights of the operations in the base stream.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Mix {
    pub product_read: u32,
    pub search: u32,
    pub cart_change: u32,
    pub checkout: u32,
    pub cancellation: u32,
    pub price_update: u32,
    pub inventory_feed: u32,
}

impl Mix {
    /// The weights in the order of `report::OPERATIONS`.
    pub fn weights(&self) -> [u32; 7] {
        [
            self.product_read,
            self.search,
            self.cart_change,
            self.checkout,
            self.cancellation,
            self.price_update,
            self.inventory_feed,
        ]
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SearchShape {
    /// Share of searches that also filter by a facet (brand or category), 0 to 1.
    pub facet_share: f64,
    /// Searches ask for a page from 1 to this.
    pub pages: u32,
}

impl Default for SearchShape {
    fn default() -> SearchShape {
        SearchShape { facet_share: 0.3, pages: 3 }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Feeds {
    /// Lines of one inventory feed.
    pub lines: u32,
    /// Share of lines sent with a stale `feed_seq` (below the last one sent), 0 to 1.
    pub stale_share: f64,
}

impl Default for Feeds {
    fn default() -> Feeds {
        Feeds { lines: 10, stale_share: 0.1 }
    }
}

/// An extra stream at a constant rate in a window: the price storm on one ASIN.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Burst {
    pub rate_per_s: f64,
    pub from_s: f64,
    pub for_s: f64,
}

/// Every buyer wants one ASIN with little stock: checkouts of it at `rate_per_s` in the
/// window, on top of the base stream.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlashSale {
    pub stock: u32,
    pub rate_per_s: f64,
    pub from_s: f64,
    pub for_s: f64,
}

/// A timed event of the run.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Drill {
    /// One simulator (by position: 0 is the node's first provider) answers 503 to every money
    /// call for `for_s` seconds (its `outage` knob).
    PspOutage { at_s: f64, for_s: f64, psp: usize },
    /// The operator switches auth-only mode on for `for_s` seconds (`PUT /admin/psp`).
    AuthOnly { at_s: f64, for_s: f64 },
    /// Inventory feeds arrive at `rate_per_s` more for `for_s` seconds.
    FeedSpike { at_s: f64, for_s: f64, rate_per_s: f64 },
}

impl Drill {
    pub fn at_s(&self) -> f64 {
        match self {
            Drill::PspOutage { at_s, .. }
            | Drill::AuthOnly { at_s, .. }
            | Drill::FeedSpike { at_s, .. } => *at_s,
        }
    }

    pub fn for_s(&self) -> f64 {
        match self {
            Drill::PspOutage { for_s, .. }
            | Drill::AuthOnly { for_s, .. }
            | Drill::FeedSpike { for_s, .. } => *for_s,
        }
    }
}

/// The service level objectives the verdict judges.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Slo {
    pub checkout_p99_ms: f64,
    pub search_p99_ms: f64,
    /// Share of requests without a server-side failure, 0 to 1.
    pub availability: f64,
}

impl Default for Slo {
    fn default() -> Slo {
        Slo { checkout_p99_ms: 400.0, search_p99_ms: 300.0, availability: 0.9999 }
    }
}

/// A scenario that cannot be used: the file and what is wrong with it.
#[derive(Debug)]
pub struct ScenarioError {
    pub origin: String,
    pub reason: String,
}

impl std::fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "scenario {}: {}", self.origin, self.reason)
    }
}

impl std::error::Error for ScenarioError {}

impl Scenario {
    /// Reads, parses and validates the scenario at `path`; its name defaults to the stem.
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| ScenarioError { origin: origin.clone(), reason: e.to_string() })?;
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
        Scenario::parse(&text, &origin, stem.as_deref().unwrap_or("scenario"))
    }

    /// The built-in default scenario.
    pub fn default_scenario() -> Scenario {
        Scenario::parse(DEFAULT_TOML, "(built-in default)", "default")
            .expect("the built-in default scenario is valid")
    }

    /// Parses and validates `text`; `origin` names it in errors, `stem` is the default name.
    pub fn parse(text: &str, origin: &str, stem: &str) -> Result<Scenario, ScenarioError> {
        let error = |reason: String| ScenarioError { origin: origin.to_string(), reason };
        let mut scenario: Scenario = toml::from_str(text).map_err(|e| error(e.to_string()))?;
        scenario.name.get_or_insert_with(|| stem.to_string());
        scenario.validate().map_err(error)?;
        Ok(scenario)
    }

    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or("scenario")
    }

    /// Checks what the types cannot say; the error names the field.
    pub fn validate(&self) -> Result<(), String> {
        let duration = self.duration_s;
        if !(duration > 0.0 && duration <= DURATION_S_MAX as f64) {
            return Err(format!("duration_s must be within 0 and {DURATION_S_MAX}, got {duration}"));
        }
        let c = &self.catalogue;
        within("catalogue.products", c.products, 1, PRODUCTS_MAX)?;
        within("catalogue.sellers", c.sellers, 1, SELLERS_MAX)?;
        within("catalogue.customers", c.customers, 1, CUSTOMERS_MAX)?;
        within("catalogue.offers_per_product", c.offers_per_product, 1, OFFERS_PER_PRODUCT_MAX)?;
        within("catalogue.stock_per_sku", c.stock_per_sku, 1, 1_000_000)?;
        let a = &self.arrival;
        rate("arrival.rate_per_s", a.rate_per_s)?;
        rate("arrival.rate_per_s * arrival.peak_factor", a.rate_per_s * a.peak_factor)?;
        if a.peak_factor < 0.0 || !a.peak_factor.is_finite() {
            return Err(format!("arrival.peak_factor must be 0 or more, got {}", a.peak_factor));
        }
        if a.profile == Profile::Spike {
            window("arrival.spike_at_s", a.spike_at_s, a.spike_for_s, duration)?;
        }
        if self.mix.weights().iter().all(|w| *w == 0) {
            return Err("mix: at least one weight must be positive".to_string());
        }
        share("search.facet_share", self.search.facet_share)?;
        within("search.pages", self.search.pages, 1, SEARCH_PAGES_MAX)?;
        within("feeds.lines", self.feeds.lines, 1, FEED_LINES_MAX)?;
        share("feeds.stale_share", self.feeds.stale_share)?;
        if let Some(storm) = &self.price_storm {
            rate("price_storm.rate_per_s", storm.rate_per_s)?;
            window("price_storm.from_s", storm.from_s, storm.for_s, duration)?;
        }
        if let Some(flash) = &self.flash_sale {
            within("flash_sale.stock", flash.stock, 1, 1_000_000)?;
            rate("flash_sale.rate_per_s", flash.rate_per_s)?;
            window("flash_sale.from_s", flash.from_s, flash.for_s, duration)?;
        }
        self.validate_drills()?;
        share("slo.availability", self.slo.availability)?;
        for (name, ms) in [
            ("slo.checkout_p99_ms", self.slo.checkout_p99_ms),
            ("slo.search_p99_ms", self.slo.search_p99_ms),
        ] {
            if !(ms > 0.0 && ms.is_finite()) {
                return Err(format!("{name} must be positive, got {ms}"));
            }
        }
        Ok(())
    }

    fn validate_drills(&self) -> Result<(), String> {
        if self.drills.len() > DRILLS_MAX {
            return Err(format!("drills: at most {DRILLS_MAX}, got {}", self.drills.len()));
        }
        let mut last = 0.0;
        for (n, drill) in self.drills.iter().enumerate() {
            let field = format!("drills[{n}].at_s");
            window(&field, drill.at_s(), drill.for_s(), self.duration_s)?;
            if drill.at_s() < last {
                return Err(format!("{field}: drills must be in time order"));
            }
            last = drill.at_s();
            match drill {
                Drill::PspOutage { psp, .. } if *psp > 1 => {
                    return Err(format!("drills[{n}].psp must be 0 or 1, got {psp}"));
                }
                Drill::FeedSpike { rate_per_s, .. } => {
                    rate(&format!("drills[{n}].rate_per_s"), *rate_per_s)?;
                }
                _ => {}
            }
        }
        Ok(())
    }
}

fn within(name: &str, value: u32, min: u32, max: u32) -> Result<(), String> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(format!("{name} must be within {min} and {max}, got {value}"))
    }
}

fn rate(name: &str, value: f64) -> Result<(), String> {
    if value > 0.0 && value <= RATE_PER_S_MAX {
        Ok(())
    } else {
        Err(format!("{name} must be within 0 (excluded) and {RATE_PER_S_MAX}, got {value}"))
    }
}

fn share(name: &str, value: f64) -> Result<(), String> {
    if (0.0..=1.0).contains(&value) {
        Ok(())
    } else {
        Err(format!("{name} must be within 0 and 1, got {value}"))
    }
}

/// A window `[from, from + length)` that starts within the run and has a positive length.
fn window(name: &str, from: f64, length: f64, duration: f64) -> Result<(), String> {
    if from >= 0.0 && from < duration && length > 0.0 && length.is_finite() {
        Ok(())
    } else {
        Err(format!("{name}: a window must start within the run (0 to {duration} s) and last > 0 s"))
    }
}

#[cfg(test)]
mod tests;
