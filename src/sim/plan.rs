//! The schedule of a run: every request's intended start and what it does, and the drills'
//! instants, all drawn from the seed before the load starts.
//!
//! Invariants: pure and deterministic: the same scenario, seed, duration and catalogue sizes
//! give the same plan, request for request. Requests are sorted by intended start and all lie
//! in `[0, duration)`. Arrivals are a Poisson process at the profile's rate (the base stream)
//! plus constant-rate Poisson streams in windows (price storm, flash sale, feed spikes), each
//! stream from its own generator so adding one does not move the others. The base stream never
//! buys or carts the flash ASIN: only the sale does, so its stock is the sale's alone.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::limits::PLANNED_REQUESTS_MAX;
use super::scenario::{Drill, Profile, Scenario};

/// The sizes of the catalogue the plan chooses from.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    pub products: u32,
    pub sellers: u32,
    pub customers: u32,
    /// Offers of each product are at most this many; a price update picks one below it,
    /// modulo the product's real count.
    pub offers: u32,
    pub flash: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Planned {
    /// Microseconds from the start of the load.
    pub at_us: u64,
    pub op: Op,
}

/// What a request does; indices are into the catalogue.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Op {
    ProductRead {
        product: u32,
    },
    Search {
        word: u32,
        facet: Facet,
        page: u32,
    },
    CartChange {
        customer: u32,
        product: u32,
    },
    Checkout {
        customer: u32,
        product: u32,
    },
    /// Cancels the `pick`-th order placed so far (modulo their count); nothing yet, no request.
    Cancellation {
        pick: u32,
    },
    PriceUpdate {
        product: u32,
        offer: u32,
        price_change_bps: i32,
    },
    /// `choice` seeds which of the seller's SKUs, what quantities and which lines are stale.
    InventoryFeed {
        seller: u32,
        choice: u64,
    },
}

impl Op {
    /// The operation's report key (`report::OPERATIONS`).
    pub fn name(&self) -> &'static str {
        match self {
            Op::ProductRead { .. } => "product_read",
            Op::Search { .. } => "search",
            Op::CartChange { .. } => "cart_change",
            Op::Checkout { .. } => "checkout",
            Op::Cancellation { .. } => "cancellation",
            Op::PriceUpdate { .. } => "price_update",
            Op::InventoryFeed { .. } => "inventory_feed",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Facet {
    None,
    /// Index into `catalog::BRANDS`.
    Brand(u32),
    /// Index into `Catalogue::categories()`.
    Category(u32),
}

/// A drill's start or end.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DrillEvent {
    pub at_us: u64,
    pub action: DrillAction,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DrillAction {
    PspOutage { psp: usize, on: bool },
    AuthOnly { on: bool },
    FeedSpike { on: bool },
}

impl DrillAction {
    /// The name of its mark in the report.
    pub fn name(&self) -> &'static str {
        match self {
            DrillAction::PspOutage { on: true, .. } => "psp_outage",
            DrillAction::PspOutage { on: false, .. } => "psp_restored",
            DrillAction::AuthOnly { on: true } => "auth_only_on",
            DrillAction::AuthOnly { on: false } => "auth_only_off",
            DrillAction::FeedSpike { on: true } => "feed_spike",
            DrillAction::FeedSpike { on: false } => "feed_spike_end",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub requests: Vec<Planned>,
    pub drills: Vec<DrillEvent>,
}

/// The plan of `scenario` over `duration_s` with `seed`.
pub fn plan(scenario: &Scenario, seed: u64, duration_s: f64, sizes: Sizes) -> Result<Plan, String> {
    let end_us = (duration_s * 1e6) as u64;
    let mut requests = Vec::new();
    let arrival = &scenario.arrival;
    let base = |t_s: f64| match arrival.profile {
        Profile::Constant => arrival.rate_per_s,
        Profile::Ramp => {
            arrival.rate_per_s * (1.0 + (arrival.peak_factor - 1.0) * t_s / duration_s)
        }
        Profile::Spike => {
            let spiking =
                t_s >= arrival.spike_at_s && t_s < arrival.spike_at_s + arrival.spike_for_s;
            arrival.rate_per_s * if spiking { arrival.peak_factor } else { 1.0 }
        }
    };
    let weights = scenario.mix.weights();
    let total: u32 = weights.iter().sum();
    let mut rng = stream(seed, 0);
    stream_arrivals(&mut stream(seed, 1), end_us, base, &mut requests, |at_us| {
        let mut roll = rng.random_range(0..total);
        let kind = weights.iter().position(|w| {
            let hit = roll < *w;
            roll = roll.saturating_sub(*w);
            hit
        });
        Planned { at_us, op: base_op(&mut rng, kind.unwrap_or(0), scenario, sizes) }
    })?;
    if let Some(storm) = &scenario.price_storm {
        let mut rng = stream(seed, 2);
        let window = (storm.from_s, storm.from_s + storm.for_s);
        let rate = windowed(storm.rate_per_s, window);
        stream_arrivals(&mut stream(seed, 3), end_us, rate, &mut requests, |at_us| {
            let offer = rng.random_range(0..sizes.offers.max(1));
            let price_change_bps = rng.random_range(-2_000..=2_000);
            Planned { at_us, op: Op::PriceUpdate { product: 0, offer, price_change_bps } }
        })?;
    }
    if let (Some(sale), Some(flash)) = (&scenario.flash_sale, sizes.flash) {
        let mut rng = stream(seed, 4);
        let rate = windowed(sale.rate_per_s, (sale.from_s, sale.from_s + sale.for_s));
        stream_arrivals(&mut stream(seed, 5), end_us, rate, &mut requests, |at_us| {
            let customer = rng.random_range(0..sizes.customers);
            Planned { at_us, op: Op::Checkout { customer, product: flash } }
        })?;
    }
    let mut drills = Vec::new();
    for (n, drill) in scenario.drills.iter().enumerate() {
        let (from_us, until_us) = (us(drill.at_s()), us(drill.at_s() + drill.for_s()).min(end_us));
        if from_us >= end_us {
            continue; // A drill after a shortened run's end does not happen.
        }
        let (on, off) = match drill {
            Drill::PspOutage { psp, .. } => (
                DrillAction::PspOutage { psp: *psp, on: true },
                DrillAction::PspOutage { psp: *psp, on: false },
            ),
            Drill::AuthOnly { .. } => {
                (DrillAction::AuthOnly { on: true }, DrillAction::AuthOnly { on: false })
            }
            Drill::FeedSpike { rate_per_s, at_s, for_s } => {
                let mut rng = stream(seed, 100 + 2 * n as u64);
                let rate = windowed(*rate_per_s, (*at_s, at_s + for_s));
                let mut arrivals = stream(seed, 101 + 2 * n as u64);
                stream_arrivals(&mut arrivals, end_us, rate, &mut requests, |at_us| {
                    let seller = rng.random_range(0..sizes.sellers);
                    Planned { at_us, op: Op::InventoryFeed { seller, choice: rng.random() } }
                })?;
                (DrillAction::FeedSpike { on: true }, DrillAction::FeedSpike { on: false })
            }
        };
        drills.push(DrillEvent { at_us: from_us, action: on });
        drills.push(DrillEvent { at_us: until_us, action: off });
    }
    requests.sort_by_key(|planned| planned.at_us);
    drills.sort_by_key(|drill| drill.at_us);
    Ok(Plan { requests, drills })
}

fn base_op(rng: &mut ChaCha8Rng, kind: usize, scenario: &Scenario, sizes: Sizes) -> Op {
    let product = popular(rng, sizes);
    let customer = rng.random_range(0..sizes.customers);
    match kind {
        0 => Op::ProductRead { product },
        1 => {
            let word = rng.random_range(0..super::catalog::Catalogue::vocabulary().len() as u32);
            let facet = if rng.random_bool(scenario.search.facet_share) {
                if rng.random_bool(0.5) {
                    Facet::Brand(rng.random_range(0..super::catalog::BRANDS.len() as u32))
                } else {
                    Facet::Category(
                        rng.random_range(0..super::catalog::Catalogue::categories().len() as u32),
                    )
                }
            } else {
                Facet::None
            };
            Op::Search { word, facet, page: rng.random_range(1..=scenario.search.pages) }
        }
        2 => Op::CartChange { customer, product },
        3 => Op::Checkout { customer, product },
        4 => Op::Cancellation { pick: rng.random() },
        5 => Op::PriceUpdate {
            product,
            offer: rng.random_range(0..sizes.offers.max(1)),
            price_change_bps: rng.random_range(-1_000..=1_000),
        },
        _ => Op::InventoryFeed { seller: rng.random_range(0..sizes.sellers), choice: rng.random() },
    }
}

/// A product, the first ones more often (a quarter of the catalogue gets about half the
/// traffic), never the flash ASIN.
fn popular(rng: &mut ChaCha8Rng, sizes: Sizes) -> u32 {
    let u: f64 = rng.random();
    let n = ((u * u) * f64::from(sizes.products)) as u32 % sizes.products;
    match sizes.flash {
        Some(flash) if flash == n && sizes.products > 1 => (n + 1) % sizes.products,
        _ => n,
    }
}

/// Poisson arrivals at `rate(t)` (per second) over `[0, end_us)`, each made by `make`.
fn stream_arrivals(
    rng: &mut ChaCha8Rng,
    end_us: u64,
    rate: impl Fn(f64) -> f64,
    out: &mut Vec<Planned>,
    mut make: impl FnMut(u64) -> Planned,
) -> Result<(), String> {
    let mut t_s = 0.0;
    let end_s = end_us as f64 / 1e6;
    loop {
        let r = rate(t_s);
        if r <= 0.0 {
            // Outside a window: jump to the next tenth of a second and look again (counted in
            // whole tenths: adding 0.1 to a float may not move it past the next tenth).
            t_s = ((t_s * 10.0).floor() as u64 + 1) as f64 / 10.0;
        } else {
            let u: f64 = rng.random();
            t_s += -(1.0 - u).ln() / r;
            if t_s < end_s && rate(t_s) > 0.0 {
                out.push(make(us(t_s)));
            }
        }
        if t_s >= end_s {
            return Ok(());
        }
        if out.len() > PLANNED_REQUESTS_MAX {
            return Err(format!("the scenario plans more than {PLANNED_REQUESTS_MAX} requests"));
        }
    }
}

fn windowed(rate: f64, (from_s, until_s): (f64, f64)) -> impl Fn(f64) -> f64 {
    move |t_s| if t_s >= from_s && t_s < until_s { rate } else { 0.0 }
}

fn stream(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

fn us(seconds: f64) -> u64 {
    (seconds.max(0.0) * 1e6) as u64
}

#[cfg(test)]
mod tests;
