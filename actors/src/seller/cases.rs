//! Support cases: what the seller signals ([`super::signals`]) raise for support to look at
//! (a sudden price drop, a burst of new listings, a defect rate over the marketplace's
//! threshold). One aggregate per
//! tenant (kind [`kinds::SUPPORT_CASES`], id [`entity_id`]): cases are rare, and support
//! reads them all at once.
//!
//! Invariants:
//! - One open case per (kind, seller, subject): a signal that meets an open case is counted
//!   on it (`Recurred`: occurrences, latest detail and time), never a second case.
//! - Cases are numbered from 1 in the order raised; a number is never reused.
//! - At most [`CASES_OPEN_MAX`] open (then `TooManyOpenCases`: support must close some); of
//!   the closed, the [`CASES_CLOSED_KEPT`] closed last are kept (the one just closed among
//!   them), the others forgotten.
//! - Closing is by a support agent, with a note; closing again answers from state.

use bazaar_entity::{Ctx, Decision, Entity, Kind};
use serde::{Deserialize, Serialize};

use crate::ids::SellerId;
use crate::kinds;
use crate::limits::{
    CASE_TEXT_BYTES_MAX, CASES_CLOSED_KEPT, CASES_OPEN_MAX, NOTE_AUTHOR_BYTES_MAX,
};
use crate::rejection::{Rejection, RejectionKind};

/// The tenant's cases entity id.
pub fn entity_id(tenant: &str) -> String {
    format!("{tenant}/cases")
}

/// What raised a case. Variants are append-only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CaseKind {
    /// An offer's price fell far, or far below the product's other offers.
    PriceDrop,
    /// The seller's order defect rate reached the marketplace's at-risk threshold.
    DefectRate,
    /// The seller listed more new offers in a minute than the marketplace's threshold.
    ListingBurst,
    /// The seller cancelled a share of its recent orders at or over the marketplace's
    /// threshold.
    CancellationRate,
}

impl CaseKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CaseKind::PriceDrop => "price_drop",
            CaseKind::DefectRate => "defect_rate",
            CaseKind::ListingBurst => "listing_burst",
            CaseKind::CancellationRate => "cancellation_rate",
        }
    }
}

/// A signal about a seller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signal {
    pub kind: CaseKind,
    pub seller: SellerId,
    /// What it is about within the seller (an ASIN), or empty.
    pub subject: String,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Closure {
    pub by: String,
    pub note: String,
    pub at_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Case {
    pub number: u32,
    pub signal: Signal,
    pub opened_at_ms: u64,
    /// How many signals it has had (the first included), and when the latest came.
    pub occurrences: u32,
    pub last_at_ms: u64,
    pub closed: Option<Closure>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CasesCommand {
    Raise(Signal),
    Close { number: u32, by: String, note: String },
    List,
}

/// Variants are append-only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CasesEvent {
    Raised { number: u32, signal: Signal, at_ms: u64 },
    Recurred { number: u32, detail: String, at_ms: u64 },
    Closed { number: u32, closure: Closure },
}

/// Variants are append-only; see [`Rejection`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum CasesRejection {
    #[error("no such case")]
    UnknownCase,
    #[error("at most {max} cases are open at once: close some first")]
    TooManyOpenCases { max: u32 },
    #[error("a text is at most {bytes_max} bytes without control characters, an author 1 to 64")]
    TextInvalid { bytes_max: u32 },
}

impl Rejection for CasesRejection {
    fn code(&self) -> &'static str {
        match self {
            CasesRejection::UnknownCase => "unknown_case",
            CasesRejection::TooManyOpenCases { .. } => "too_many_open_cases",
            CasesRejection::TextInvalid { .. } => "text_invalid",
        }
    }

    fn kind(&self) -> RejectionKind {
        match self {
            CasesRejection::UnknownCase => RejectionKind::NotFound,
            CasesRejection::TooManyOpenCases { .. } => RejectionKind::Conflict,
            CasesRejection::TextInvalid { .. } => RejectionKind::Invalid,
        }
    }
}

/// A tenant's cases, in the order raised.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupportCases {
    cases: Vec<Case>,
    last_number: u32,
}

fn text(value: &str, min: usize, max: usize) -> Result<(), CasesRejection> {
    if (min..=max).contains(&value.len()) && !value.chars().any(char::is_control) {
        return Ok(());
    }
    Err(CasesRejection::TextInvalid { bytes_max: CASE_TEXT_BYTES_MAX as u32 })
}

impl SupportCases {
    pub fn cases(&self) -> &[Case] {
        &self.cases
    }

    fn open_of(&self, signal: &Signal) -> Option<&Case> {
        self.cases.iter().find(|case| {
            case.closed.is_none()
                && (case.signal.kind, &case.signal.seller, &case.signal.subject)
                    == (signal.kind, &signal.seller, &signal.subject)
        })
    }

    fn answer(&self, events: Vec<CasesEvent>) -> Decision<Self> {
        let mut after = self.clone();
        events.iter().for_each(|event| after.apply(event));
        (events, after.cases)
    }
}

impl Entity for SupportCases {
    const KIND: Kind = kinds::SUPPORT_CASES;
    type Command = CasesCommand;
    type Event = CasesEvent;
    /// Every case kept, oldest first.
    type Reply = Vec<Case>;
    type Rejection = CasesRejection;

    fn decide(
        &self,
        command: CasesCommand,
        ctx: &Ctx<'_>,
    ) -> Result<Decision<Self>, CasesRejection> {
        let at_ms = ctx.now_ms;
        match command {
            CasesCommand::List => Ok(self.answer(Vec::new())),
            CasesCommand::Raise(signal) => {
                text(&signal.subject, 0, CASE_TEXT_BYTES_MAX)?;
                text(&signal.detail, 0, CASE_TEXT_BYTES_MAX)?;
                if let Some(open) = self.open_of(&signal) {
                    let (number, detail) = (open.number, signal.detail);
                    return Ok(self.answer(vec![CasesEvent::Recurred { number, detail, at_ms }]));
                }
                if self.cases.iter().filter(|case| case.closed.is_none()).count() >= CASES_OPEN_MAX
                {
                    return Err(CasesRejection::TooManyOpenCases { max: CASES_OPEN_MAX as u32 });
                }
                let number = self.last_number.saturating_add(1);
                Ok(self.answer(vec![CasesEvent::Raised { number, signal, at_ms }]))
            }
            CasesCommand::Close { number, by, note } => {
                let case = self
                    .cases
                    .iter()
                    .find(|case| case.number == number)
                    .ok_or(CasesRejection::UnknownCase)?;
                if case.closed.is_some() {
                    return Ok(self.answer(Vec::new()));
                }
                text(&by, 1, NOTE_AUTHOR_BYTES_MAX)?;
                text(&note, 0, CASE_TEXT_BYTES_MAX)?;
                let closure = Closure { by, note, at_ms };
                Ok(self.answer(vec![CasesEvent::Closed { number, closure }]))
            }
        }
    }

    fn apply(&mut self, event: &CasesEvent) {
        match event {
            CasesEvent::Raised { number, signal, at_ms } => {
                self.last_number = self.last_number.max(*number);
                self.cases.push(Case {
                    number: *number,
                    signal: signal.clone(),
                    opened_at_ms: *at_ms,
                    occurrences: 1,
                    last_at_ms: *at_ms,
                    closed: None,
                });
            }
            CasesEvent::Recurred { number, detail, at_ms } => {
                if let Some(case) = self.cases.iter_mut().find(|case| case.number == *number) {
                    case.occurrences = case.occurrences.saturating_add(1);
                    case.signal.detail = detail.clone();
                    case.last_at_ms = *at_ms;
                }
            }
            CasesEvent::Closed { number, closure } => {
                if let Some(case) = self.cases.iter_mut().find(|case| case.number == *number) {
                    case.closed = Some(closure.clone());
                }
                // Forget the cases closed longest ago past the bound, never this one.
                let mut closed: Vec<(u64, u32)> = self
                    .cases
                    .iter()
                    .filter_map(|case| case.closed.as_ref().map(|c| (c.at_ms, case.number)))
                    .filter(|(_, closed)| closed != number)
                    .collect();
                let extra = (closed.len() + 1).saturating_sub(CASES_CLOSED_KEPT);
                closed.sort_unstable();
                let forget: Vec<u32> = closed.iter().take(extra).map(|(_, n)| *n).collect();
                self.cases.retain(|case| !forget.contains(&case.number));
            }
        }
    }

    /// Read now and then: nothing to keep in memory.
    fn at_rest(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Harness;

    fn signal(kind: CaseKind, seller: &str, subject: &str) -> Signal {
        let seller = SellerId::parse(seller).unwrap();
        Signal { kind, seller, subject: subject.into(), detail: format!("{subject} detail") }
    }

    #[test]
    fn a_signal_opens_one_case_and_recurs_on_it_until_closed() {
        let mut cases = Harness::<SupportCases>::new("eu/cases");
        cases.now_ms = 10;
        let drop = signal(CaseKind::PriceDrop, "s1", "B000000001");
        let (_, listed) = cases.run(CasesCommand::Raise(drop.clone())).unwrap();
        assert_eq!((listed.len(), listed[0].number, listed[0].occurrences), (1, 1, 1));
        cases.now_ms = 20;
        let (events, listed) = cases.run(CasesCommand::Raise(drop.clone())).unwrap();
        assert!(matches!(events[0], CasesEvent::Recurred { number: 1, .. }));
        assert_eq!((listed.len(), listed[0].occurrences, listed[0].last_at_ms), (1, 2, 20));
        let other = signal(CaseKind::PriceDrop, "s1", "B000000002");
        assert_eq!(cases.run(CasesCommand::Raise(other)).unwrap().1.len(), 2, "another subject");
        let close = CasesCommand::Close { number: 1, by: "agent".into(), note: "ok".into() };
        cases.run(close.clone()).unwrap();
        assert!(cases.run(close).unwrap().0.is_empty(), "closing again answers from state");
        let (_, listed) = cases.run(CasesCommand::Raise(drop)).unwrap();
        assert_eq!(listed.last().unwrap().number, 3, "a closed case is not reopened");
        let unknown = CasesCommand::Close { number: 9, by: "agent".into(), note: String::new() };
        assert_eq!(cases.decide(unknown), Err(CasesRejection::UnknownCase));
    }

    #[test]
    fn open_cases_are_bounded_and_old_closed_ones_forgotten() {
        let mut cases = Harness::<SupportCases>::new("eu/cases");
        for n in 0..CASES_OPEN_MAX {
            let raise = CasesCommand::Raise(signal(CaseKind::DefectRate, "s1", &format!("{n}")));
            cases.run(raise).unwrap();
        }
        let more = CasesCommand::Raise(signal(CaseKind::DefectRate, "s2", ""));
        let max = CASES_OPEN_MAX as u32;
        assert_eq!(cases.decide(more), Err(CasesRejection::TooManyOpenCases { max }));
        for number in 1..=(CASES_CLOSED_KEPT as u32 + 5) {
            let close = CasesCommand::Close { number, by: "agent".into(), note: String::new() };
            cases.run(close).unwrap();
        }
        let kept = cases.state.cases();
        assert_eq!(kept.iter().filter(|c| c.closed.is_some()).count(), CASES_CLOSED_KEPT);
        assert_eq!(kept[0].number, 6, "the oldest closed went first");
        // Closing a case raised long ago keeps it: the one closed longest ago goes.
        cases.now_ms += 1;
        let last = CASES_OPEN_MAX as u32;
        let (_, kept) = cases
            .run(CasesCommand::Close { number: last, by: "agent".into(), note: String::new() })
            .unwrap();
        assert!(kept.iter().any(|c| c.number == last && c.closed.is_some()));
        assert!(!kept.iter().any(|c| c.number == 6), "{:?}", kept.first().map(|c| c.number));
        cases.now_ms += 1;
        let early = CasesCommand::Close { number: 300, by: "agent".into(), note: String::new() };
        let (_, kept) = cases.run(early).unwrap();
        assert!(kept.iter().any(|c| c.number == 300 && c.closed.is_some()), "just closed, kept");
    }
}
