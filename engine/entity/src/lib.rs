//! What a domain aggregate is to the engine: a pure `decide` and an infallible `apply`. This
//! crate is the whole contract between Bazaar's domain and its engine, and depends on serde
//! alone, so the domain builds without the runtime, the actor system or the store.
//!
//! Invariants the engine keeps for every entity:
//! - `decide` never mutates; every state change is an event, journaled before anyone hears "ok".
//! - `apply` never fails and never does I/O; replaying the same events yields the same state.
//! - Time and identity reach the domain only through [`Ctx`], so tests control both.

use std::fmt;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

pub mod limits;

/// A kind of entity: a stable numeric code (part of every journal key, never reused) and a
/// name for logs and metrics.
#[derive(Debug, Clone, Copy)]
pub struct Kind {
    pub code: u16,
    pub name: &'static str,
}

impl Kind {
    pub const fn new(code: u16, name: &'static str) -> Kind {
        Kind { code, name }
    }
}

impl PartialEq for Kind {
    fn eq(&self, other: &Kind) -> bool {
        self.code == other.code
    }
}

impl Eq for Kind {}

impl std::hash::Hash for Kind {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.code.hash(state);
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

/// The address of one entity: its kind and its id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EntityKey {
    pub kind: Kind,
    pub id: Arc<str>,
}

impl EntityKey {
    pub fn new(kind: Kind, id: impl Into<Arc<str>>) -> EntityKey {
        EntityKey { kind, id: id.into() }
    }
}

impl fmt::Display for EntityKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.kind.name, self.id)
    }
}

/// What a command may know besides the entity's own state.
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    /// Milliseconds since the Unix epoch, from the engine's injected clock.
    pub now_ms: u64,
    /// Which entity is deciding.
    pub key: &'a EntityKey,
}

/// The outcome of `decide`: events to journal and the reply to give once they are durable.
pub type Decision<E> = (Vec<<E as Entity>::Event>, <E as Entity>::Reply);

/// A domain aggregate run by the engine. State is a plain value: the default is a new
/// entity, and the state is serialized whole for snapshots.
pub trait Entity: Default + Serialize + DeserializeOwned + Send + 'static {
    const KIND: Kind;
    /// Whether the journal keeps every event of this kind for good: an audit trail, whose
    /// events are the record. Other kinds' events are removed once a durable snapshot covers
    /// them (with the engine's `compact_on_snapshot`, on by default), so their journal
    /// follows the live state, not the history. The default: the history goes.
    const KEEPS_HISTORY: bool = false;
    /// What callers ask (imperative).
    type Command: Clone + Serialize + DeserializeOwned + Send + 'static;
    /// What happened (past tense); the journal holds these.
    type Event: Serialize + DeserializeOwned + Send + 'static;
    /// The answer to an accepted command.
    type Reply: Serialize + DeserializeOwned + Send + 'static;
    /// An expected refusal (out of stock, stale feed...), given back to the caller; never a
    /// failure of the engine.
    type Rejection: Serialize + DeserializeOwned + Send + fmt::Debug + 'static;

    /// Decides what happens; never mutates. Validation lives here.
    fn decide(
        &self,
        command: Self::Command,
        ctx: &Ctx<'_>,
    ) -> Result<Decision<Self>, Self::Rejection>;

    /// Folds one event into the state; never fails, never does I/O.
    fn apply(&mut self, event: &Self::Event);

    /// Whether nothing is expected of the entity soon: a finished saga, an emptied cart, an
    /// order waiting for its shipment. The write that brings an entity to rest passivates it
    /// once that write is durable, so finished work does not hold memory until it idles out;
    /// a later ask activates it again from its journal. The default: never at rest.
    fn at_rest(&self) -> bool {
        false
    }

    /// The rows this state puts in the journal's index, as `(key, value)`: the secondary
    /// indexes of read models too large for memory (which product offers a SKU, a SKU's
    /// stock by location). The engine writes what changed since the rows before each write in
    /// the same journal entry as its events, so the index is never behind nor ahead of them.
    /// A function of the state and `id` alone; keys are the domain's to namespace, and no two
    /// entities (of any kind) may write the same key: each key must hold its entity's id, or
    /// one entity's removal would erase another's row. The default: none.
    fn index_rows(&self, id: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
        let _ = id;
        Vec::new()
    }
}
