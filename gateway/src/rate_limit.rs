//! Per-tenant request limits, per-seller price-update limits and per-seller listing limits
//! (GCRA, from `governor`).
//!
//! Invariant: a request over its limit is answered 429 with `Retry-After` and changes nothing;
//! the limiter's memory is bounded by forgetting keys idle for a full burst period.

use std::num::NonZeroU32;
use std::sync::Arc;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::GatewayConfig;
use crate::problem::{Problem, ProblemKind};

pub struct RateLimits {
    tenants: DefaultKeyedRateLimiter<Arc<str>>,
    seller_prices: DefaultKeyedRateLimiter<(Arc<str>, Arc<str>)>,
    seller_listings: DefaultKeyedRateLimiter<(Arc<str>, Arc<str>)>,
    /// The most listing lines a seller may send at once.
    listing_lines_burst: u32,
    clock: DefaultClock,
}

fn quota(per_s: u32, burst: u32) -> Quota {
    let nonzero = |n: u32| NonZeroU32::new(n.max(1)).expect("at least 1");
    Quota::per_second(nonzero(per_s)).allow_burst(nonzero(burst))
}

impl RateLimits {
    pub fn new(config: &GatewayConfig) -> RateLimits {
        RateLimits {
            tenants: RateLimiter::keyed(quota(config.tenant_requests_per_s, config.tenant_burst)),
            seller_prices: RateLimiter::keyed(quota(
                config.seller_price_updates_per_s,
                config.seller_price_updates_burst,
            )),
            seller_listings: RateLimiter::keyed(quota(
                config.seller_listing_lines_per_s,
                config.seller_listing_lines_burst,
            )),
            listing_lines_burst: config.seller_listing_lines_burst,
            clock: DefaultClock::default(),
        }
    }

    /// One request of `tenant`.
    pub fn tenant(&self, tenant: &Arc<str>) -> Result<(), Problem> {
        self.tenants.check_key(tenant).map_err(|not_until| {
            too_many(
                "tenant_rate_limited",
                "the tenant's request rate limit",
                &not_until,
                &self.clock,
            )
        })
    }

    /// One price update by `seller` of `tenant`.
    pub fn seller_price(&self, tenant: &Arc<str>, seller: &Arc<str>) -> Result<(), Problem> {
        self.seller_prices.check_key(&(tenant.clone(), seller.clone())).map_err(|not_until| {
            too_many(
                "price_update_rate_limited",
                "the seller's price-update rate limit",
                &not_until,
                &self.clock,
            )
        })
    }

    /// A listings feed of `lines` lines by `seller` of `tenant`: all of them count at once. A
    /// feed longer than the burst could never pass, so it is refused as too long.
    pub fn seller_listings(
        &self,
        tenant: &Arc<str>,
        seller: &Arc<str>,
        lines: usize,
    ) -> Result<(), Problem> {
        let Some(cells) = u32::try_from(lines).ok().and_then(NonZeroU32::new) else {
            return Ok(());
        };
        match self.seller_listings.check_key_n(&(tenant.clone(), seller.clone()), cells) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(not_until)) => Err(too_many(
                "listing_rate_limited",
                "the seller's listing rate limit",
                &not_until,
                &self.clock,
            )),
            Err(_) => Err(crate::problem::invalid(
                "feed_too_long",
                format!("a listings feed has at most {} lines", self.listing_lines_burst),
            )),
        }
    }

    /// Forgets keys that have been idle long enough to be full again.
    pub fn forget_idle(&self) {
        self.tenants.retain_recent();
        self.seller_prices.retain_recent();
        self.seller_listings.retain_recent();
    }
}

fn too_many(
    code: &'static str,
    what: &str,
    not_until: &governor::NotUntil<<DefaultClock as Clock>::Instant>,
    clock: &DefaultClock,
) -> Problem {
    let wait = not_until.wait_time_from(clock.now());
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    Problem::of(
        ProblemKind::TooManyRequests,
        code,
        "Too many requests",
        format!("over {what}; retry later"),
    )
    .retry_after(seconds.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_past_the_limit_is_429_with_retry_after() {
        let limits = RateLimits::new(&GatewayConfig {
            tenant_requests_per_s: 1,
            tenant_burst: 3,
            ..GatewayConfig::default()
        });
        let tenant: Arc<str> = "t".into();
        for _ in 0..3 {
            limits.tenant(&tenant).unwrap();
        }
        let problem = limits.tenant(&tenant).unwrap_err();
        assert_eq!((problem.status(), problem.code), (429, "tenant_rate_limited"));
        assert!(problem.retry_after_s.is_some_and(|s| s >= 1));
        limits.tenant(&"other".into()).expect("tenants are limited separately");
    }

    #[test]
    fn a_listings_feed_counts_each_line_and_one_past_the_burst_is_too_long() {
        let limits = RateLimits::new(&GatewayConfig {
            seller_listing_lines_per_s: 1,
            seller_listing_lines_burst: 100,
            ..GatewayConfig::default()
        });
        let (tenant, seller): (Arc<str>, Arc<str>) = ("t".into(), "s".into());
        let too_long = limits.seller_listings(&tenant, &seller, 101).unwrap_err();
        assert_eq!((too_long.status(), too_long.code), (422, "feed_too_long"));
        limits.seller_listings(&tenant, &seller, 60).unwrap();
        let limited = limits.seller_listings(&tenant, &seller, 60).unwrap_err();
        assert_eq!((limited.status(), limited.code), (429, "listing_rate_limited"));
        assert!(limited.retry_after_s.is_some_and(|s| s >= 20), "{limited:?}");
        limits.seller_listings(&tenant, &"other".into(), 100).expect("sellers apart");
        limits.seller_price(&tenant, &seller).expect("price updates are limited apart");
    }
}
