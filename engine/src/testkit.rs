//! A counter entity and helpers, for the engine's own tests and the benchmarks. Compiled only
//! with the `testkit` feature; never part of the shipped binary.

use std::sync::Arc;

use bazaar_persistence::Journal;
use serde::{Deserialize, Serialize};

use crate::{
    Ctx, Decision, Engine, EngineConfig, EngineParts, Entity, Kind, ManualClock, NodeId, ShardTable,
};

/// A counter with an optional ceiling; each accepted `Add` is one event.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counter {
    pub value: i64,
    /// Events applied, to check replay.
    pub applied: u64,
    /// Text kept by `Keep`, so a test can grow the state past what a snapshot may hold
    /// (a string, which the codec copies whole: fast to encode even when large).
    pub kept: String,
    /// Set by `Close`: the counter is then at rest.
    pub closed: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum CounterCommand {
    /// Add `amount`; `padding` only makes the event as large as a real one.
    Add {
        amount: i64,
        padding: Vec<u8>,
    },
    /// Add `amount` unless the value would exceed `ceiling`.
    AddAtMost {
        amount: i64,
        ceiling: i64,
    },
    Get,
    /// Append `text` to the state (the reply is the value, unchanged).
    Keep {
        text: String,
    },
    /// Bring the counter to rest (the reply is the value).
    Close,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum CounterEvent {
    Added { amount: i64, padding: Vec<u8> },
    Kept { text: String },
    Closed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CounterRejection {
    WouldExceed { value: i64, ceiling: i64 },
}

impl Entity for Counter {
    const KIND: Kind = Kind::new(0xFFF0, "counter");
    type Command = CounterCommand;
    type Event = CounterEvent;
    type Reply = i64;
    type Rejection = CounterRejection;

    fn decide(
        &self,
        command: CounterCommand,
        _ctx: &Ctx<'_>,
    ) -> Result<Decision<Self>, CounterRejection> {
        match command {
            CounterCommand::Add { amount, padding } => {
                Ok((vec![CounterEvent::Added { amount, padding }], self.value + amount))
            }
            CounterCommand::AddAtMost { amount, ceiling } if self.value + amount > ceiling => {
                Err(CounterRejection::WouldExceed { value: self.value, ceiling })
            }
            CounterCommand::AddAtMost { amount, .. } => {
                Ok((vec![CounterEvent::Added { amount, padding: Vec::new() }], self.value + amount))
            }
            CounterCommand::Get => Ok((Vec::new(), self.value)),
            CounterCommand::Keep { text } => Ok((vec![CounterEvent::Kept { text }], self.value)),
            CounterCommand::Close => Ok((vec![CounterEvent::Closed], self.value)),
        }
    }

    fn apply(&mut self, event: &CounterEvent) {
        match event {
            CounterEvent::Added { amount, .. } => self.value += amount,
            CounterEvent::Kept { text } => self.kept.push_str(text),
            CounterEvent::Closed => self.closed = true,
        }
        self.applied += 1;
    }

    fn at_rest(&self) -> bool {
        self.closed
    }

    /// A counter whose id begins with [`INDEXED`] keeps one row, `counter/{id}` with its
    /// value (little-endian), while its value is not zero, and always if the id begins with
    /// [`INDEXED_ALWAYS`] (its default state has a row); others keep none (so the benches'
    /// counters pay nothing for the index).
    fn index_rows(&self, id: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
        let kept = id.starts_with(INDEXED_ALWAYS) || (id.starts_with(INDEXED) && self.value != 0);
        if !kept {
            return Vec::new();
        }
        vec![(counter_row(id), self.value.to_le_bytes().to_vec())]
    }
}

/// The id prefix of counters that keep an index row while their value is not zero.
pub const INDEXED: &str = "indexed-";

/// The id prefix of counters that always keep an index row, at zero too.
pub const INDEXED_ALWAYS: &str = "always-indexed-";

/// The index key of counter `id`'s row.
pub fn counter_row(id: &str) -> Vec<u8> {
    [b"counter/", id.as_bytes()].concat()
}

/// `Add` of `amount` with no padding.
pub fn add(amount: i64) -> CounterCommand {
    CounterCommand::Add { amount, padding: Vec::new() }
}

/// A single-node engine over `journal` with a manual clock at 0.
pub fn single_node(journal: Arc<dyn Journal>, config: EngineConfig) -> Engine {
    let table = ShardTable::round_robin(16, &[NodeId(1)]);
    Engine::start(EngineParts {
        config: EngineConfig { node: NodeId(1), ..config },
        journal,
        clock: Arc::new(ManualClock::new(0)),
        table,
        transport: None,
    })
    .expect("engine starts")
}
