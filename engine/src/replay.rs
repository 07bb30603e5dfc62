//! Entities read from the journal without an actor: one (a read model's cold read, an
//! activation), or every entity of a kind (rebuilding a read model or an index).
//!
//! Invariant: an entity read here is the state its actor would activate with: its latest
//! snapshot with the events after it applied, so a compacted journal (the events a snapshot
//! covers removed) folds to the same states as a full one.

use bazaar_persistence::{CodecError, IndexWrite, Journal, JournalExt, Replayed, Seq, codec};

use crate::entity::{Entity, EntityKey};
use crate::error::EngineError;

/// An entity's durable state as its journal holds it.
pub struct Stored<E> {
    pub entity: E,
    /// The seq of its last event (0: no event was ever written).
    pub last_seq: Seq,
    /// The seq its latest snapshot covers, and that snapshot's size.
    pub snapshot_seq: Seq,
    pub snapshot_bytes: usize,
}

/// The durable state of the entity at `key`: its latest snapshot and the events after it
/// (every write acknowledged before this call, nothing that is not durable).
pub fn load_entity<E: Entity>(
    journal: &dyn Journal,
    key: &EntityKey,
) -> Result<Stored<E>, EngineError> {
    let codec_error = |source| EngineError::Codec { key: key.to_string(), source };
    let loaded = journal.load(crate::entity::stream(key))?;
    let mut entity = E::default();
    let (snapshot_seq, snapshot_bytes) = match &loaded.snapshot {
        Some((seq, state)) => {
            fold(&mut entity, Replayed::Snapshot { seq: *seq, state }).map_err(codec_error)?;
            (*seq, state.len())
        }
        None => (0, 0),
    };
    for stored in &loaded.events {
        let event = Replayed::Event { seq: stored.seq, payload: &stored.payload };
        fold(&mut entity, event).map_err(codec_error)?;
    }
    Ok(Stored { entity, last_seq: loaded.last_seq(), snapshot_seq, snapshot_bytes })
}

/// Folds one item of a stream into `state`: a snapshot replaces it, an event is applied.
fn fold<E: Entity>(state: &mut E, item: Replayed<'_>) -> Result<(), CodecError> {
    match item {
        Replayed::Snapshot { state: snapshot, .. } => *state = codec::decode_payload(snapshot)?,
        Replayed::Event { payload, .. } => state.apply(&codec::decode_payload(payload)?),
    }
    Ok(())
}

/// Writes the index rows (`Entity::index_rows`) of every stored entity of kind `E`: builds
/// the index of a journal written before the kind had rows. Returns how many rows, once they
/// are durable (readable), so it blocks: never call it on an async task.
pub fn index_kind<E: Entity>(journal: &dyn Journal) -> Result<u64, EngineError> {
    // Gathered first: `fold_kind`'s visitor may not call back into the journal.
    let mut rows = Vec::<IndexWrite>::new();
    fold_kind::<E>(journal, |id, state| {
        rows.extend(state.index_rows(id).into_iter().map(|(key, value)| (key, Some(value))));
    })?;
    let written = rows.len() as u64;
    let mut receipts = Vec::new();
    while !rows.is_empty() {
        let rest = rows.split_off(rows.len().min(crate::limits::INDEX_BUILD_BATCH_ROWS));
        receipts.push(journal.write_index_receipt(std::mem::replace(&mut rows, rest)));
    }
    for receipt in receipts {
        receipt.wait()?;
    }
    Ok(written)
}

/// Folds every stored entity of kind `E` (its snapshot, then the events after it) and hands
/// each final state to `visit` with the entity's id. Returns how many events were read.
pub fn fold_kind<E: Entity>(
    journal: &dyn Journal,
    mut visit: impl FnMut(&str, &E),
) -> Result<u64, EngineError> {
    let mut current: Option<(String, E)> = None;
    let mut failure = None;
    let read = journal.replay_kind(E::KIND.code, &mut |id, item| {
        if failure.is_some() {
            return;
        }
        if current.as_ref().is_none_or(|(current_id, _)| current_id != id) {
            if let Some((done_id, state)) = current.take() {
                visit(&done_id, &state);
            }
            current = Some((id.to_string(), E::default()));
        }
        if let Err(source) = fold(&mut current.as_mut().expect("set above").1, item) {
            failure =
                Some(EngineError::Codec { key: EntityKey::new(E::KIND, id).to_string(), source });
        }
    })?;
    if let Some(error) = failure {
        return Err(error);
    }
    if let Some((id, state)) = current {
        visit(&id, &state);
    }
    Ok(read)
}
