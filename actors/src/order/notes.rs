//! Support's notes on an order: an aggregate of its own (kind [`kinds::ORDER_NOTES`]), keyed
//! by the order's entity id, so the order's state and its snapshots stay as they are.
//!
//! Invariants:
//! - Notes are only ever added, each with who wrote it and when; at most [`ORDER_NOTES_MAX`]
//!   per order (then `TooManyNotes`).
//! - A note is 1 to [`ORDER_NOTE_BYTES_MAX`] bytes of text without control characters,
//!   after trimming; its author is the principal's name, 1 to [`NOTE_AUTHOR_BYTES_MAX`] bytes.
//! - The entity does not know whether the order exists: the caller asks the order first.

use bazaar_entity::{Ctx, Decision, Entity, Kind};
use serde::{Deserialize, Serialize};

use crate::kinds;
use crate::limits::{NOTE_AUTHOR_BYTES_MAX, ORDER_NOTE_BYTES_MAX, ORDER_NOTES_MAX};
use crate::rejection::{Rejection, RejectionKind};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    /// The support agent who wrote it.
    pub by: String,
    pub text: String,
    pub at_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum OrderNotesCommand {
    Add { by: String, text: String },
    Get,
}

/// Variants are append-only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum OrderNotesEvent {
    Added(Note),
}

/// Variants are append-only; see [`Rejection`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum OrderNotesRejection {
    #[error("a note is 1 to {bytes_max} bytes of text, and its author 1 to 64")]
    NoteInvalid { bytes_max: u32 },
    #[error("an order keeps at most {max} notes")]
    TooManyNotes { max: u32 },
}

impl Rejection for OrderNotesRejection {
    fn code(&self) -> &'static str {
        match self {
            OrderNotesRejection::NoteInvalid { .. } => "note_invalid",
            OrderNotesRejection::TooManyNotes { .. } => "too_many_notes",
        }
    }

    fn kind(&self) -> RejectionKind {
        match self {
            OrderNotesRejection::NoteInvalid { .. } => RejectionKind::Invalid,
            OrderNotesRejection::TooManyNotes { .. } => RejectionKind::Conflict,
        }
    }
}

/// An order's notes, oldest first.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderNotes {
    notes: Vec<Note>,
}

impl OrderNotes {
    pub fn notes(&self) -> &[Note] {
        &self.notes
    }
}

fn valid(by: &str, text: &str) -> bool {
    (1..=NOTE_AUTHOR_BYTES_MAX).contains(&by.len())
        && !by.chars().any(char::is_control)
        && (1..=ORDER_NOTE_BYTES_MAX).contains(&text.len())
        && !text.chars().any(char::is_control)
}

impl Entity for OrderNotes {
    const KIND: Kind = kinds::ORDER_NOTES;
    type Command = OrderNotesCommand;
    type Event = OrderNotesEvent;
    /// Every note, oldest first.
    type Reply = Vec<Note>;
    type Rejection = OrderNotesRejection;

    fn decide(
        &self,
        command: OrderNotesCommand,
        ctx: &Ctx<'_>,
    ) -> Result<Decision<Self>, OrderNotesRejection> {
        match command {
            OrderNotesCommand::Get => Ok((Vec::new(), self.notes.clone())),
            OrderNotesCommand::Add { by, text } => {
                let text = text.trim().to_owned();
                if !valid(&by, &text) {
                    let bytes_max = ORDER_NOTE_BYTES_MAX as u32;
                    return Err(OrderNotesRejection::NoteInvalid { bytes_max });
                }
                if self.notes.len() >= ORDER_NOTES_MAX {
                    return Err(OrderNotesRejection::TooManyNotes { max: ORDER_NOTES_MAX as u32 });
                }
                let note = Note { by, text, at_ms: ctx.now_ms };
                let mut notes = self.notes.clone();
                notes.push(note.clone());
                Ok((vec![OrderNotesEvent::Added(note)], notes))
            }
        }
    }

    fn apply(&mut self, event: &OrderNotesEvent) {
        match event {
            OrderNotesEvent::Added(note) => self.notes.push(note.clone()),
        }
    }

    /// Written and read now and then: nothing to keep in memory.
    fn at_rest(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Harness;

    fn add(text: &str) -> OrderNotesCommand {
        OrderNotesCommand::Add { by: "agent-7".into(), text: text.into() }
    }

    #[test]
    fn notes_are_added_in_order_with_author_and_time() {
        let mut notes = Harness::<OrderNotes>::new("t/o-1");
        notes.now_ms = 42;
        let (events, reply) = notes.run(add("  called the customer: refund agreed  ")).unwrap();
        let note = Note {
            by: "agent-7".into(),
            text: "called the customer: refund agreed".into(),
            at_ms: 42,
        };
        assert_eq!(events, [OrderNotesEvent::Added(note.clone())]);
        assert_eq!(reply, std::slice::from_ref(&note));
        let (_, reply) = notes.run(add("second")).unwrap();
        assert_eq!(reply.len(), 2);
        assert_eq!(notes.run(OrderNotesCommand::Get).unwrap().1[0], note);
    }

    #[test]
    fn bad_notes_and_too_many_are_refused() {
        let mut notes = Harness::<OrderNotes>::new("t/o-1");
        let invalid = OrderNotesRejection::NoteInvalid { bytes_max: ORDER_NOTE_BYTES_MAX as u32 };
        for text in ["", "   ", "a\u{0}b", "two\nlines", &"n".repeat(ORDER_NOTE_BYTES_MAX + 1)] {
            assert_eq!(notes.decide(add(text)), Err(invalid.clone()), "{text:?}");
        }
        let nobody = OrderNotesCommand::Add { by: String::new(), text: "x".into() };
        assert_eq!(notes.decide(nobody), Err(invalid));
        for n in 0..ORDER_NOTES_MAX {
            notes.run(add(&format!("note {n}"))).unwrap();
        }
        assert_eq!(
            notes.decide(add("one more")),
            Err(OrderNotesRejection::TooManyNotes { max: ORDER_NOTES_MAX as u32 })
        );
    }
}
