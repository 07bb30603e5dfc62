//! Seller: a profile (display name), a standing, and the inputs of the seller score (rating,
//! order defect rate). Keyed by [`SellerId`](crate::ids::SellerId).
//!
//! Invariants:
//! - Every command but `Register` is refused with `NotRegistered` until the seller registers;
//!   a seller registers once (registering again with the same name is answered from state,
//!   with another name it is `AlreadyRegistered`).
//! - The rating is in hundredths of a star, `0..=RATING_MAX` (500 = 5.00 stars); the order
//!   defect rate in basis points, `0..=DEFECT_BPS_MAX` (10,000 = 100 %). Out of range values
//!   are refused, never clamped. A new seller has rating 0, defect rate 0, standing Good.
//! - `score_version` grows by one with every change of standing or score, and only then. It
//!   travels in every [`SellerScore`] handed to products, which keep the newest they were
//!   told, so a late, stale snapshot never overwrites a newer one.
//! - The standing changes by `SetStanding` (an operator) or by the marketplace's
//!   [`StandingRules`], which every `UpdateScore` carries: past a defect rate a seller in
//!   good standing is put at risk (it keeps selling, off the buy box), past a higher one it
//!   is suspended, in the same decision as the score (`StandingRuled`). A rule only ever
//!   lowers a standing; an operator restores it.

use bazaar_entity::{Ctx, Decision, Entity, Kind};
use serde::{Deserialize, Serialize};

use crate::kinds;
use crate::limits::{DEFECT_BPS_MAX, RATING_MAX, SELLER_NAME_BYTES_MAX};
use crate::rejection::{Rejection, RejectionKind};

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
}

/// The marketplace's rules for a seller's standing from its score (`[sellers]` in the
/// configuration), in basis points of order defect rate: at `at_risk_defect_bps` or more a
/// seller in good standing is put at risk, at `suspend_defect_bps` or more suspended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StandingRules {
    pub at_risk_defect_bps: u16,
    pub suspend_defect_bps: u16,
}

impl Default for StandingRules {
    /// At risk from 1 % of orders with a defect, suspended from 2 %.
    fn default() -> StandingRules {
        StandingRules { at_risk_defect_bps: 100, suspend_defect_bps: 200 }
    }
}

impl StandingRules {
    /// Checks what serde cannot.
    pub fn validate(&self) -> Result<(), String> {
        let (at_risk, suspend) = (self.at_risk_defect_bps, self.suspend_defect_bps);
        if at_risk > suspend || suspend > DEFECT_BPS_MAX {
            return Err(format!(
                "sellers: at_risk_defect_bps ({at_risk}) must not exceed suspend_defect_bps \
                 ({suspend}), nor that {DEFECT_BPS_MAX}"
            ));
        }
        Ok(())
    }

    /// The standing a seller at `current` should have with `defect_rate`: never higher.
    pub fn standing_for(&self, current: Standing, defect_rate: DefectRate) -> Standing {
        match current {
            _ if defect_rate.bps() >= self.suspend_defect_bps => Standing::Suspended,
            Standing::Good if defect_rate.bps() >= self.at_risk_defect_bps => Standing::AtRisk,
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

/// What callers ask of a seller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SellerCommand {
    Register {
        name: String,
    },
    UpdateProfile {
        name: String,
    },
    /// New score inputs: rating in hundredths of a star, defect rate in basis points; the
    /// standing follows `rules`.
    UpdateScore {
        rating_hundredths: u16,
        defect_bps: u16,
        rules: StandingRules,
    },
    SetStanding {
        standing: Standing,
    },
    Get,
}

/// What happened to a seller. Variants are append-only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SellerEvent {
    Registered {
        name: String,
        at_ms: u64,
    },
    ProfileUpdated {
        name: String,
    },
    ScoreUpdated {
        rating: Rating,
        defect_rate: DefectRate,
    },
    StandingChanged {
        from: Standing,
        to: Standing,
    },
    /// The [`StandingRules`] lowered the standing for this defect rate.
    StandingRuled {
        from: Standing,
        to: Standing,
        defect_rate: DefectRate,
    },
}

impl SellerEvent {
    /// Whether it changes what products are told of the seller (its [`SellerScore`]).
    pub fn changes_score(&self) -> bool {
        match self {
            SellerEvent::ScoreUpdated { .. }
            | SellerEvent::StandingChanged { .. }
            | SellerEvent::StandingRuled { .. } => true,
            SellerEvent::Registered { .. } | SellerEvent::ProfileUpdated { .. } => false,
        }
    }
}

/// Why a seller command was refused. Variants are append-only; see [`Rejection`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum SellerRejection {
    #[error("the seller is not registered")]
    NotRegistered,
    #[error("the seller is already registered under another name")]
    AlreadyRegistered,
    #[error("a name must be 1 to {bytes_max} bytes of text without control characters")]
    NameInvalid { bytes_max: u32 },
    #[error("a rating must be between 0 and {max} hundredths of a star")]
    RatingOutOfRange { max: u16 },
    #[error("a defect rate must be between 0 and {max} basis points")]
    DefectRateOutOfRange { max: u16 },
}

impl Rejection for SellerRejection {
    fn code(&self) -> &'static str {
        match self {
            SellerRejection::NotRegistered => "seller_not_registered",
            SellerRejection::AlreadyRegistered => "seller_already_registered",
            SellerRejection::NameInvalid { .. } => "seller_name_invalid",
            SellerRejection::RatingOutOfRange { .. } => "rating_out_of_range",
            SellerRejection::DefectRateOutOfRange { .. } => "defect_rate_out_of_range",
        }
    }

    fn kind(&self) -> RejectionKind {
        match self {
            SellerRejection::NotRegistered => RejectionKind::NotFound,
            SellerRejection::AlreadyRegistered => RejectionKind::Conflict,
            SellerRejection::NameInvalid { .. }
            | SellerRejection::RatingOutOfRange { .. }
            | SellerRejection::DefectRateOutOfRange { .. } => RejectionKind::Invalid,
        }
    }
}

/// A registered seller, as replies show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SellerView {
    pub name: String,
    pub registered_at_ms: u64,
    /// Standing, score inputs and their version: what products should be told.
    pub score: SellerScore,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Profile {
    name: String,
    registered_at_ms: u64,
}

/// A seller. The default is a seller not yet registered.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seller {
    profile: Option<Profile>,
    score: SellerScore,
}

impl Seller {
    pub fn view(&self) -> Option<SellerView> {
        self.profile.as_ref().map(|profile| SellerView {
            name: profile.name.clone(),
            registered_at_ms: profile.registered_at_ms,
            score: self.score,
        })
    }

    fn registered(&self) -> Result<&Profile, SellerRejection> {
        self.profile.as_ref().ok_or(SellerRejection::NotRegistered)
    }

    /// The reply once `events` are applied (a seller is small; folding a copy is cheap).
    fn answer(&self, events: Vec<SellerEvent>) -> Result<Decision<Self>, SellerRejection> {
        let mut after = self.clone();
        events.iter().for_each(|event| after.apply(event));
        let view = after.view().ok_or(SellerRejection::NotRegistered)?;
        Ok((events, view))
    }
}

fn valid_name(name: &str) -> Result<(), SellerRejection> {
    let ok = !name.trim().is_empty()
        && name.len() <= SELLER_NAME_BYTES_MAX
        && !name.chars().any(char::is_control);
    let bytes_max = SELLER_NAME_BYTES_MAX as u32;
    if ok { Ok(()) } else { Err(SellerRejection::NameInvalid { bytes_max }) }
}

impl Entity for Seller {
    const KIND: Kind = kinds::SELLER;
    type Command = SellerCommand;
    type Event = SellerEvent;
    type Reply = SellerView;
    type Rejection = SellerRejection;

    fn decide(
        &self,
        command: SellerCommand,
        ctx: &Ctx<'_>,
    ) -> Result<Decision<Self>, SellerRejection> {
        match command {
            SellerCommand::Register { name } => {
                valid_name(&name)?;
                match &self.profile {
                    Some(profile) if profile.name == name => self.answer(Vec::new()),
                    Some(_) => Err(SellerRejection::AlreadyRegistered),
                    None => self.answer(vec![SellerEvent::Registered { name, at_ms: ctx.now_ms }]),
                }
            }
            SellerCommand::UpdateProfile { name } => {
                valid_name(&name)?;
                if self.registered()?.name == name {
                    return self.answer(Vec::new());
                }
                self.answer(vec![SellerEvent::ProfileUpdated { name }])
            }
            SellerCommand::UpdateScore { rating_hundredths, defect_bps, rules } => {
                self.registered()?;
                let rating = Rating::try_from(rating_hundredths)?;
                let defect_rate = DefectRate::try_from(defect_bps)?;
                let mut events = Vec::new();
                if (rating, defect_rate) != (self.score.rating, self.score.defect_rate) {
                    events.push(SellerEvent::ScoreUpdated { rating, defect_rate });
                }
                let from = self.score.standing;
                let to = rules.standing_for(from, defect_rate);
                if to != from {
                    events.push(SellerEvent::StandingRuled { from, to, defect_rate });
                }
                self.answer(events)
            }
            SellerCommand::SetStanding { standing } => {
                self.registered()?;
                if standing == self.score.standing {
                    return self.answer(Vec::new());
                }
                self.answer(vec![SellerEvent::StandingChanged {
                    from: self.score.standing,
                    to: standing,
                }])
            }
            SellerCommand::Get => self.answer(Vec::new()),
        }
    }

    fn apply(&mut self, event: &SellerEvent) {
        match event {
            SellerEvent::Registered { name, at_ms } => {
                self.profile = Some(Profile { name: name.clone(), registered_at_ms: *at_ms });
            }
            SellerEvent::ProfileUpdated { name } => {
                if let Some(profile) = &mut self.profile {
                    profile.name = name.clone();
                }
            }
            SellerEvent::ScoreUpdated { rating, defect_rate } => {
                self.score.rating = *rating;
                self.score.defect_rate = *defect_rate;
                self.score.version += 1;
            }
            SellerEvent::StandingChanged { to, .. } | SellerEvent::StandingRuled { to, .. } => {
                self.score.standing = *to;
                self.score.version += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Harness;

    fn update(rating_hundredths: u16, defect_bps: u16) -> SellerCommand {
        let rules = StandingRules::default();
        SellerCommand::UpdateScore { rating_hundredths, defect_bps, rules }
    }

    #[test]
    fn a_defect_rate_past_the_rules_lowers_the_standing_and_never_raises_it() {
        let mut seller = registered();
        let (events, view) = seller.run(update(450, 150)).unwrap();
        let at = |bps| DefectRate::new(bps).unwrap();
        assert_eq!(
            events[1..],
            [SellerEvent::StandingRuled {
                from: Standing::Good,
                to: Standing::AtRisk,
                defect_rate: at(150)
            }]
        );
        assert_eq!((view.score.standing, view.score.version), (Standing::AtRisk, 2));
        let (events, view) = seller.run(update(450, 20)).unwrap();
        assert_eq!(events.len(), 1, "a better score restores nothing: {events:?}");
        assert_eq!(view.score.standing, Standing::AtRisk);
        let (events, view) = seller.run(update(450, 250)).unwrap();
        assert_eq!(
            events[1..],
            [SellerEvent::StandingRuled {
                from: Standing::AtRisk,
                to: Standing::Suspended,
                defect_rate: at(250)
            }]
        );
        assert_eq!(view.score.standing, Standing::Suspended);
        let (events, _) = seller.run(update(450, 250)).unwrap();
        assert!(events.is_empty(), "the same score again: {events:?}");
        seller.run(SellerCommand::SetStanding { standing: Standing::Good }).unwrap();
        let strict = StandingRules { at_risk_defect_bps: 10, suspend_defect_bps: 5_000 };
        let rescore =
            SellerCommand::UpdateScore { rating_hundredths: 450, defect_bps: 250, rules: strict };
        let (events, view) = seller.run(rescore).unwrap();
        assert_eq!(
            view.score.standing,
            Standing::AtRisk,
            "the same score under other rules: {events:?}"
        );
        assert!(
            StandingRules { at_risk_defect_bps: 300, suspend_defect_bps: 200 }.validate().is_err()
        );
        assert!(
            StandingRules { at_risk_defect_bps: 0, suspend_defect_bps: 10_001 }.validate().is_err()
        );
        assert!(StandingRules::default().validate().is_ok());
    }

    fn registered() -> Harness<Seller> {
        let event = SellerEvent::Registered { name: "Acme Books".into(), at_ms: 5 };
        Harness::given("acme", [event])
    }

    #[test]
    fn register_once_and_answer_retries_from_state() {
        let mut seller = Harness::<Seller>::new("acme");
        seller.now_ms = 5;
        let (events, view) =
            seller.run(SellerCommand::Register { name: "Acme Books".into() }).unwrap();
        assert_eq!(events, [SellerEvent::Registered { name: "Acme Books".into(), at_ms: 5 }]);
        assert_eq!(view.score, SellerScore::default());
        let (events, _) =
            seller.run(SellerCommand::Register { name: "Acme Books".into() }).unwrap();
        assert!(events.is_empty());
        assert_eq!(
            seller.decide(SellerCommand::Register { name: "Other".into() }),
            Err(SellerRejection::AlreadyRegistered)
        );
    }

    #[test]
    fn commands_before_registration_are_refused() {
        let seller = Harness::<Seller>::new("acme");
        for command in [
            SellerCommand::Get,
            SellerCommand::UpdateProfile { name: "x".into() },
            update(400, 10),
            SellerCommand::SetStanding { standing: Standing::Suspended },
        ] {
            assert_eq!(seller.decide(command), Err(SellerRejection::NotRegistered));
        }
    }

    #[test]
    fn invalid_names_and_scores_are_refused() {
        let seller = registered();
        for name in ["", "   ", "a\u{0}b", &"n".repeat(SELLER_NAME_BYTES_MAX + 1)] {
            assert_eq!(
                seller.decide(SellerCommand::UpdateProfile { name: name.into() }),
                Err(SellerRejection::NameInvalid { bytes_max: SELLER_NAME_BYTES_MAX as u32 })
            );
        }
        assert_eq!(
            seller.decide(update(501, 0)),
            Err(SellerRejection::RatingOutOfRange { max: 500 })
        );
        assert_eq!(
            seller.decide(update(0, 10_001)),
            Err(SellerRejection::DefectRateOutOfRange { max: 10_000 })
        );
    }

    #[test]
    fn score_and_standing_changes_bump_the_version_once_each() {
        let mut seller = registered();
        let (events, view) = seller.run(update(480, 35)).unwrap();
        assert_eq!(
            events,
            [SellerEvent::ScoreUpdated {
                rating: Rating::new(480).unwrap(),
                defect_rate: DefectRate::new(35).unwrap(),
            }]
        );
        assert_eq!(view.score.version, 1);
        let (events, view) =
            seller.run(SellerCommand::SetStanding { standing: Standing::AtRisk }).unwrap();
        assert_eq!(
            events,
            [SellerEvent::StandingChanged { from: Standing::Good, to: Standing::AtRisk }]
        );
        assert_eq!((view.score.standing, view.score.version), (Standing::AtRisk, 2));
        let (events, view) =
            seller.run(SellerCommand::SetStanding { standing: Standing::AtRisk }).unwrap();
        assert!(events.is_empty());
        assert_eq!(view.score.version, 2);
        let (events, _) = seller.run(SellerCommand::UpdateProfile { name: "Acme".into() }).unwrap();
        assert_eq!(events, [SellerEvent::ProfileUpdated { name: "Acme".into() }]);
        assert_eq!(seller.state.view().unwrap().score.version, 2, "a rename is not a score change");
    }

    #[test]
    fn score_types_refuse_out_of_range_values() {
        assert_eq!(Rating::new(500).map(Rating::hundredths), Some(500));
        assert_eq!(Rating::new(501), None);
        assert_eq!(DefectRate::new(10_000).map(DefectRate::bps), Some(10_000));
        assert_eq!(DefectRate::new(10_001), None);
    }
}
