//! The engine's failures: I/O, overload, time-outs, routing. An entity's rejections are never
//! here; they travel inside the answer.

use bazaar_persistence::{CodecError, JournalError};

use crate::shard::{NodeId, ShardId};

/// A small closed set the gateway maps to HTTP status once, exhaustively.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Too much in flight: retry later (503 with Retry-After).
    Overloaded,
    /// No answer in time; the command may or may not have happened (504).
    Timeout,
    /// Storage failed or the node is stopping (503).
    Unavailable,
    /// The caller's input cannot be addressed (400).
    InvalidInput,
    /// A defect or corruption: an operator must look (500).
    Internal,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum EngineError {
    #[error("shard {shard} has {in_flight_max} asks in flight already")]
    Overloaded { shard: ShardId, in_flight_max: usize },
    #[error("no answer from {key} within {timeout_ms} ms")]
    Timeout { key: String, timeout_ms: u64 },
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error("cannot encode or decode for {key}: {source}")]
    Codec { key: String, source: CodecError },
    #[error("entity {key} could not be recovered: {reason}")]
    Recovery { key: String, reason: String },
    #[error("entity {key} stopped {attempts} times while being asked")]
    Unstable { key: String, attempts: u32 },
    #[error("shard {shard} is owned by node {owner}, which this node cannot reach")]
    NotOwner { shard: ShardId, owner: NodeId },
    #[error("entity id of {len} bytes is empty or longer than {max}")]
    InvalidId { len: usize, max: usize },
    #[error("the engine is shutting down")]
    ShuttingDown,
    #[error("node {node} answered: {message}")]
    Remote { node: NodeId, kind: ErrorKind, message: String },
}

impl EngineError {
    /// Whether the same ask may pass if it is tried again: overload, a time-out or storage
    /// that is briefly unavailable may; `ShuttingDown` never does (the engine it was sent to
    /// is gone for good), nor does bad input or a defect. Every retry loop asks this.
    pub fn may_pass(&self) -> bool {
        if matches!(self, EngineError::ShuttingDown) {
            return false;
        }
        match self.kind() {
            ErrorKind::Overloaded | ErrorKind::Timeout | ErrorKind::Unavailable => true,
            ErrorKind::InvalidInput | ErrorKind::Internal => false,
        }
    }

    pub fn kind(&self) -> ErrorKind {
        match self {
            EngineError::Overloaded { .. } => ErrorKind::Overloaded,
            EngineError::Timeout { .. } => ErrorKind::Timeout,
            EngineError::Journal(JournalError::Corrupt { .. })
            | EngineError::Journal(JournalError::CorruptSnapshot { .. })
            | EngineError::Journal(JournalError::Gap { .. })
            | EngineError::Journal(JournalError::Schema { .. })
            | EngineError::Journal(JournalError::Config(_))
            | EngineError::Journal(JournalError::RecordTooLarge { .. })
            | EngineError::Codec { .. }
            | EngineError::Recovery { .. } => ErrorKind::Internal,
            EngineError::Journal(JournalError::Io(_))
            | EngineError::Journal(JournalError::Failed(_))
            | EngineError::Journal(JournalError::Closed)
            | EngineError::Unstable { .. }
            | EngineError::NotOwner { .. }
            | EngineError::ShuttingDown => ErrorKind::Unavailable,
            EngineError::InvalidId { .. } => ErrorKind::InvalidInput,
            EngineError::Remote { kind, .. } => *kind,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shutting_down_never_passes_while_overload_does() {
        assert!(!EngineError::ShuttingDown.may_pass());
        assert!(EngineError::Overloaded { shard: ShardId(0), in_flight_max: 1 }.may_pass());
        assert!(EngineError::Timeout { key: "k".into(), timeout_ms: 1 }.may_pass());
        assert!(!EngineError::InvalidId { len: 2, max: 1 }.may_pass());
    }
}
