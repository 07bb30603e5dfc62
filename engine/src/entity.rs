//! What the engine adds to the entity contract (`bazaar-entity`, re-exported here): the
//! answer of an ask, when a write is acknowledged, and the journal stream of an entity.

pub use bazaar_entity::{Ctx, Decision, Entity, EntityKey, Kind};

/// The answer of an ask: the engine's failure outside, the entity's own verdict inside.
pub type Answer<E> =
    Result<Result<<E as Entity>::Reply, <E as Entity>::Rejection>, crate::EngineError>;

/// When an ask that writes events is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ack {
    /// Once its events are durable: what is acknowledged is never lost. Every ask but
    /// [`Engine::ask_appended`](crate::Engine::ask_appended) is answered so.
    Durable,
    /// As soon as its events are decided, applied and handed to the journal, before they are
    /// durable. The journal keeps its writes in one order and a failed write fails every
    /// later one, so any `Durable` answer to a write submitted later (from this entity or
    /// another of the node) covers these events too. Reads of the entity still wait until
    /// they are durable.
    Appended,
}

/// The journal stream of the entity at `key`.
pub fn stream(key: &EntityKey) -> bazaar_persistence::Stream<'_> {
    bazaar_persistence::Stream::new(key.kind.code, &key.id)
}
