//! A principal's audit trail: every mutating request of a seller, support agent or operator,
//! recorded before the request is answered. Keyed `{tenant}/{role}/{principal}`.
//!
//! Invariants: records are only ever appended (the journal keeps them all); the entity's state
//! keeps the most recent [`AUDIT_RECENT_MAX`] for quick reads and counts the rest.

use std::collections::VecDeque;

use bazaar_entity::{Ctx, Decision, Entity, Kind};
use serde::{Deserialize, Serialize};

use crate::kinds;
use crate::limits::AUDIT_FIELD_BYTES_MAX;
use crate::limits::AUDIT_RECENT_MAX;
use crate::rejection::{Rejection, RejectionKind};

/// `text` cut to at most [`AUDIT_FIELD_BYTES_MAX`] bytes, marked where it is cut: the kept
/// prefix (on a character boundary), `…` and how long the text was (`…(4096 bytes)`). A
/// record is written whatever a request holds; an over-long field is bounded, never a reason
/// to leave the request unrecorded.
pub fn bounded(text: &str) -> String {
    if text.len() <= AUDIT_FIELD_BYTES_MAX {
        return text.to_owned();
    }
    let mark = format!("…({} bytes)", text.len());
    format!("{}{mark}", crate::text::prefix(text, AUDIT_FIELD_BYTES_MAX - mark.len()))
}

/// Who did what, when, from where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Set from the engine's clock when recorded.
    pub at_ms: u64,
    pub method: String,
    pub path: String,
    pub status: u16,
    pub request_id: String,
    /// The client's address, if known.
    pub remote: String,
}

#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditTrail {
    recent: VecDeque<AuditRecord>,
    total: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuditCommand {
    /// Records one request (`at_ms` is taken from the clock).
    Record { record: AuditRecord },
    /// The most recent records, newest first.
    Recent { limit: u32 },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuditEvent {
    Recorded { record: AuditRecord },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditReply {
    pub total: u64,
    pub records: Vec<AuditRecord>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AuditRejection {
    #[error("an audit field is longer than {max} bytes")]
    FieldTooLong { max: u32 },
}

impl Rejection for AuditRejection {
    fn code(&self) -> &'static str {
        match self {
            AuditRejection::FieldTooLong { .. } => "audit_field_too_long",
        }
    }

    fn kind(&self) -> RejectionKind {
        match self {
            AuditRejection::FieldTooLong { .. } => RejectionKind::Invalid,
        }
    }
}

impl Entity for AuditTrail {
    const KIND: Kind = kinds::AUDIT;
    const KEEPS_HISTORY: bool = true;
    type Command = AuditCommand;
    type Event = AuditEvent;
    type Reply = AuditReply;
    type Rejection = AuditRejection;

    fn decide(
        &self,
        command: AuditCommand,
        ctx: &Ctx<'_>,
    ) -> Result<Decision<Self>, AuditRejection> {
        match command {
            AuditCommand::Record { mut record } => {
                let fields = [&record.method, &record.path, &record.request_id, &record.remote];
                if fields.iter().any(|field| field.len() > AUDIT_FIELD_BYTES_MAX) {
                    return Err(AuditRejection::FieldTooLong { max: AUDIT_FIELD_BYTES_MAX as u32 });
                }
                record.at_ms = ctx.now_ms;
                let reply = AuditReply { total: self.total + 1, records: Vec::new() };
                Ok((vec![AuditEvent::Recorded { record }], reply))
            }
            AuditCommand::Recent { limit } => {
                let records = self.recent.iter().rev().take(limit as usize).cloned().collect();
                Ok((Vec::new(), AuditReply { total: self.total, records }))
            }
        }
    }

    fn apply(&mut self, event: &AuditEvent) {
        let AuditEvent::Recorded { record } = event;
        if self.recent.len() == AUDIT_RECENT_MAX {
            self.recent.pop_front();
        }
        self.recent.push_back(record.clone());
        self.total += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bazaar_entity::EntityKey;

    fn record(path: &str) -> AuditRecord {
        AuditRecord {
            at_ms: 0,
            method: "PUT".into(),
            path: path.into(),
            status: 200,
            request_id: "r".into(),
            remote: "127.0.0.1".into(),
        }
    }

    #[test]
    fn records_are_stamped_kept_newest_first_and_bounded() {
        let key = EntityKey::new(kinds::AUDIT, "t/seller/s1");
        let mut trail = AuditTrail::default();
        for i in 0..(AUDIT_RECENT_MAX as u64 + 5) {
            let ctx = Ctx { now_ms: 1_000 + i, key: &key };
            let (events, reply) = trail
                .decide(AuditCommand::Record { record: record(&format!("/p/{i}")) }, &ctx)
                .unwrap();
            assert_eq!(reply.total, i + 1);
            events.iter().for_each(|e| trail.apply(e));
        }
        let ctx = Ctx { now_ms: 0, key: &key };
        let (events, reply) = trail.decide(AuditCommand::Recent { limit: 3 }, &ctx).unwrap();
        assert!(events.is_empty());
        assert_eq!(reply.total, AUDIT_RECENT_MAX as u64 + 5);
        let paths: Vec<&str> = reply.records.iter().map(|r| r.path.as_str()).collect();
        assert_eq!(paths, ["/p/204", "/p/203", "/p/202"]);
        assert_eq!(reply.records[0].at_ms, 1_204, "stamped by the clock, not the caller");
    }

    #[test]
    fn bounded_fields_fit_and_say_where_they_were_cut() {
        assert_eq!(bounded("/v1/x"), "/v1/x");
        let exact = "x".repeat(AUDIT_FIELD_BYTES_MAX);
        assert_eq!(bounded(&exact), exact);
        for text in ["y".repeat(AUDIT_FIELD_BYTES_MAX + 1), "é".repeat(5_000)] {
            let cut = bounded(&text);
            assert!(cut.len() <= AUDIT_FIELD_BYTES_MAX, "{}", cut.len());
            let (kept, mark) = cut.split_once('…').unwrap();
            assert!(text.starts_with(kept) && !kept.is_empty());
            assert_eq!(mark, format!("({} bytes)", text.len()));
        }
    }

    #[test]
    fn an_oversized_field_is_refused() {
        let key = EntityKey::new(kinds::AUDIT, "t/seller/s1");
        let ctx = Ctx { now_ms: 0, key: &key };
        let long = "x".repeat(AUDIT_FIELD_BYTES_MAX + 1);
        let refused =
            AuditTrail::default().decide(AuditCommand::Record { record: record(&long) }, &ctx);
        assert_eq!(
            refused,
            Err(AuditRejection::FieldTooLong { max: AUDIT_FIELD_BYTES_MAX as u32 })
        );
    }
}
