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
//! - Onboarding: `Register` makes an active seller (`Good`); `Apply` one that must be
//!   verified first (`Applied`: it may list, never on the buy box), which an operator's
//!   `SetStanding` to `Good` verifies. The gateway asks `Apply` when the marketplace's rules
//!   require verification.
//! - The standing changes by `SetStanding` (an operator) or by the marketplace's
//!   [`StandingRules`], whose thresholds every `UpdateScore` carries ([`DefectRules`]): a
//!   new defect rate past one threshold puts a seller in good standing at risk (it keeps
//!   selling, off the buy box), past the other suspends it, in the same decision as the
//!   score (`StandingRuled`). A rule
//!   only ever lowers a standing, and judges only a defect rate that changed, so a standing
//!   an operator restored holds until the rate changes again.

use bazaar_entity::{Ctx, Decision, Entity, Kind};
use serde::{Deserialize, Serialize};

use crate::kinds;
use crate::limits::SELLER_NAME_BYTES_MAX;
use crate::rejection::{Rejection, RejectionKind};

pub mod cases;
mod score;
pub mod signals;

pub use score::{DefectRate, DefectRules, Rating, SellerScore, Standing, StandingRules};

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
        rules: DefectRules,
    },
    SetStanding {
        standing: Standing,
    },
    Get,
    /// Registers a seller that must be verified before it wins the buy box (it starts
    /// `Applied`); again with the same name answers from state, as `Register` does.
    Apply {
        name: String,
    },
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

    /// Registers the seller (`applied`: to be verified first), or answers one registered
    /// under the same name from state.
    fn register(
        &self,
        name: String,
        at_ms: u64,
        applied: bool,
    ) -> Result<Decision<Self>, SellerRejection> {
        valid_name(&name)?;
        match &self.profile {
            Some(profile) if profile.name == name => self.answer(Vec::new()),
            Some(_) => Err(SellerRejection::AlreadyRegistered),
            None => {
                let mut events = vec![SellerEvent::Registered { name, at_ms }];
                if applied {
                    let (from, to) = (self.score.standing, Standing::Applied);
                    events.push(SellerEvent::StandingChanged { from, to });
                }
                self.answer(events)
            }
        }
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
            SellerCommand::Register { name } => self.register(name, ctx.now_ms, false),
            SellerCommand::Apply { name } => self.register(name, ctx.now_ms, true),
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
                // Only a new defect rate is judged: a standing an operator restored stays
                // until the rate changes again.
                let from = self.score.standing;
                let to = rules.standing_for(from, defect_rate);
                if defect_rate != self.score.defect_rate && to != from {
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
mod tests;
