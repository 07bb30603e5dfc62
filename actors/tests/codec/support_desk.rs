//! Support's own aggregates survive the codec: an order's notes and a tenant's cases, with
//! their events and rejections pinned to their positions.

use bazaar_actors::{SellerId, kinds};
use bazaar_entity::Entity;

use crate::support::{pin_positions, pin_rejections, run};

#[test]
fn order_notes_survive_the_codec() {
    use bazaar_actors::order::notes::{
        Note, OrderNotes, OrderNotesCommand, OrderNotesEvent, OrderNotesRejection,
    };
    let add = OrderNotesCommand::Add { by: "agent-7".into(), text: "called back".into() };
    let (notes, _) = run::<OrderNotes>("eu/o-1", vec![add, OrderNotesCommand::Get]);
    assert_eq!(notes.notes().len(), 1);
    let note = Note { by: "agent-7".into(), text: "x".into(), at_ms: 1 };
    pin_positions(&[OrderNotesEvent::Added(note)]);
    pin_rejections(&[
        OrderNotesRejection::NoteInvalid { bytes_max: 1 },
        OrderNotesRejection::TooManyNotes { max: 1 },
    ]);
    assert_eq!(OrderNotes::KIND, kinds::ORDER_NOTES);
}

#[test]
fn support_cases_survive_the_codec() {
    use bazaar_actors::seller::cases::{
        CaseKind, CasesCommand, CasesEvent, CasesRejection, Closure, Signal, SupportCases,
    };
    let signal = Signal {
        kind: CaseKind::PriceDrop,
        seller: SellerId::parse("s1").unwrap(),
        subject: "B000000001".into(),
        detail: "halved".into(),
    };
    let commands = vec![
        CasesCommand::Raise(signal.clone()),
        CasesCommand::Raise(signal.clone()),
        CasesCommand::Close { number: 1, by: "agent".into(), note: "fine".into() },
        CasesCommand::List,
    ];
    let (_, replies) = run::<SupportCases>("eu/cases", commands);
    assert_eq!(replies.last().unwrap()[0].occurrences, 2);
    let closure = Closure { by: "agent".into(), note: "n".into(), at_ms: 1 };
    pin_positions(&[
        CasesEvent::Raised { number: 1, signal, at_ms: 1 },
        CasesEvent::Recurred { number: 1, detail: "d".into(), at_ms: 2 },
        CasesEvent::Closed { number: 1, closure },
    ]);
    pin_positions(&[CaseKind::PriceDrop, CaseKind::DefectRate, CaseKind::ListingBurst]);
    pin_rejections(&[
        CasesRejection::UnknownCase,
        CasesRejection::TooManyOpenCases { max: 1 },
        CasesRejection::TextInvalid { bytes_max: 1 },
    ]);
    assert_eq!(SupportCases::KIND, kinds::SUPPORT_CASES);
}
