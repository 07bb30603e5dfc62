//! What products are told of a seller (its [`SellerScore`]: standing, rating, defect rate),
//! the bounded score types, and the rules that lower a standing from the defect rate.

use serde::{Deserialize, Serialize};

use super::SellerRejection;
use crate::limits::{DEFECT_BPS_MAX, RATING_MAX};

/// A seller's rating in hundredths of a star, `0..=500`.
#[derive(
    Debug, Default, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(try_from = "u16", into = "u16")]
pub struct Rating(u16);

impl Rating {
    pub const MAX: Rating = Rating(RATING_MAX);

    pub fn new(hundredths: u16) -> Option<Rating> {
        (hundredths <= RATING_MAX).then_some(Rating(hundredths))
    }

    pub fn hundredths(self) -> u16 {
        self.0
    }
}

impl TryFrom<u16> for Rating {
    type Error = SellerRejection;
    fn try_from(hundredths: u16) -> Result<Rating, SellerRejection> {
        Rating::new(hundredths).ok_or(SellerRejection::RatingOutOfRange { max: RATING_MAX })
    }
}

impl From<Rating> for u16 {
    fn from(rating: Rating) -> u16 {
        rating.0
    }
}

/// An order defect rate in basis points, `0..=10_000`.
#[derive(
    Debug, Default, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(try_from = "u16", into = "u16")]
pub struct DefectRate(u16);

impl DefectRate {
    pub fn new(bps: u16) -> Option<DefectRate> {
        (bps <= DEFECT_BPS_MAX).then_some(DefectRate(bps))
    }

    pub fn bps(self) -> u16 {
        self.0
    }
}

impl TryFrom<u16> for DefectRate {
    type Error = SellerRejection;
    fn try_from(bps: u16) -> Result<DefectRate, SellerRejection> {
        DefectRate::new(bps).ok_or(SellerRejection::DefectRateOutOfRange { max: DEFECT_BPS_MAX })
    }
}

impl From<DefectRate> for u16 {
    fn from(rate: DefectRate) -> u16 {
        rate.0
    }
}

/// Whether a seller may sell, and win the buy box. Variants are append-only.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Standing {
    /// Selling normally; eligible for the buy box.
    #[default]
    Good,
    /// Warned: still selling, not eligible for the buy box.
    AtRisk,
    /// Not selling.
    Suspended,
    /// Applied, not verified yet (onboarding, when the marketplace requires verification):
    /// may list offers, never on the buy box, until an operator verifies it (`Good`). No
    /// rule but suspension changes it.
    Applied,
}

/// The marketplace's rules for a seller's standing from its score (`[sellers]` in the
/// configuration), in basis points of order defect rate: at `at_risk_defect_bps` or more a
/// seller in good standing is put at risk, at `suspend_defect_bps` or more suspended. Each
/// rule is off when absent (the default: operators alone set standings).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StandingRules {
    pub at_risk_defect_bps: Option<u16>,
    pub suspend_defect_bps: Option<u16>,
    /// A new seller starts `Applied` and sells on the buy box only once an operator has
    /// verified it (`PUT /admin/sellers/{seller}/standing` to `good`).
    pub verification_required: bool,
    /// A price-drop case for support when an offer falls to at most `100 − this` % of its
    /// previous price or of the other offers' median (see `signals`); off when absent.
    pub price_drop_case_pct: Option<u8>,
    /// A listing-burst case for support when a seller lists more new offers than this
    /// within one minute (see `signals`); off when absent.
    pub listing_burst_case_per_min: Option<u32>,
    /// A cancellation-rate case for support when a seller has cancelled this share (basis
    /// points) of its recent orders or more; off when absent.
    pub cancellation_case_bps: Option<u16>,
    /// Suspension when a seller has cancelled this share of its recent orders or more; off
    /// when absent.
    pub suspend_cancellation_bps: Option<u16>,
    /// Recent orders a seller needs before its cancellation rate is judged (default 20).
    pub cancellation_orders_min: Option<u32>,
}

impl StandingRules {
    /// The repository's `cluster.toml`: at risk from 1 % of orders with a defect, suspended
    /// from 2 %, a case for a price halved or more than 1,000 new listings in a minute.
    pub const MARKETPLACE: StandingRules = StandingRules {
        at_risk_defect_bps: Some(100),
        suspend_defect_bps: Some(200),
        verification_required: false,
        price_drop_case_pct: Some(50),
        listing_burst_case_per_min: Some(1_000),
        cancellation_case_bps: Some(250),
        suspend_cancellation_bps: Some(1_000),
        cancellation_orders_min: Some(20),
    };

    /// Checks what serde cannot.
    pub fn validate(&self) -> Result<(), String> {
        for (name, bps) in [
            ("at_risk_defect_bps", self.at_risk_defect_bps),
            ("suspend_defect_bps", self.suspend_defect_bps),
            ("cancellation_case_bps", self.cancellation_case_bps),
            ("suspend_cancellation_bps", self.suspend_cancellation_bps),
        ] {
            if bps.is_some_and(|bps| bps == 0 || bps > DEFECT_BPS_MAX) {
                return Err(format!("sellers.{name} must be 1 to {DEFECT_BPS_MAX}"));
            }
        }
        if self.listing_burst_case_per_min.is_some_and(|n| n == 0 || n == u32::MAX) {
            return Err("sellers.listing_burst_case_per_min must be 1 to 4294967294".into());
        }
        if self.cancellation_orders_min == Some(0) {
            return Err("sellers.cancellation_orders_min must be at least 1".into());
        }
        if self.price_drop_case_pct.is_some_and(|pct| pct == 0 || pct > 100) {
            return Err("sellers.price_drop_case_pct must be 1 to 100".into());
        }
        if let (Some(at_risk), Some(suspend)) = (self.at_risk_defect_bps, self.suspend_defect_bps)
            && at_risk > suspend
        {
            return Err("sellers.at_risk_defect_bps must not exceed suspend_defect_bps".into());
        }
        Ok(())
    }

    /// The thresholds an `UpdateScore` judges by: all it needs, so the command stays as it
    /// was when the other rules came (commands cross nodes by position).
    pub fn defect_rules(&self) -> DefectRules {
        DefectRules {
            at_risk_defect_bps: self.at_risk_defect_bps,
            suspend_defect_bps: self.suspend_defect_bps,
        }
    }
}

/// The defect-rate thresholds of [`StandingRules`], as a score update carries them.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DefectRules {
    pub at_risk_defect_bps: Option<u16>,
    pub suspend_defect_bps: Option<u16>,
}

impl DefectRules {
    /// The standing a seller at `current` should have with `defect_rate`: never higher.
    pub fn standing_for(&self, current: Standing, defect_rate: DefectRate) -> Standing {
        let past = |threshold: Option<u16>| threshold.is_some_and(|bps| defect_rate.bps() >= bps);
        match current {
            Standing::Good | Standing::AtRisk | Standing::Applied
                if past(self.suspend_defect_bps) =>
            {
                Standing::Suspended
            }
            Standing::Good if past(self.at_risk_defect_bps) => Standing::AtRisk,
            current => current,
        }
    }
}

/// What a product knows of a seller: a snapshot, as last told, ordered by `version`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SellerScore {
    pub standing: Standing,
    pub rating: Rating,
    pub defect_rate: DefectRate,
    /// The seller's `score_version` when the snapshot was taken.
    pub version: u64,
}
