//! Entities read from the journal without an actor: one (a read model's cold read, an
//! activation), or every entity of a kind (rebuilding a read model or an index).
//!
//! Invariant: this sees exactly the events the journal holds. With `compact_on_snapshot` on,
//! events a snapshot covers are gone and a fold from events alone would be wrong, so the
//! engine refuses to fold a kind then (projections are rebuilt from full history).

use bazaar_persistence::{IndexWrite, Journal, JournalExt, Seq, codec};

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
    let (mut entity, snapshot_seq, snapshot_bytes) = match &loaded.snapshot {
        Some((seq, payload)) => {
            (codec::decode_payload::<E>(payload).map_err(codec_error)?, *seq, payload.len())
        }
        None => (E::default(), 0, 0),
    };
    for stored in &loaded.events {
        let event: E::Event = codec::decode_payload(&stored.payload).map_err(codec_error)?;
        entity.apply(&event);
    }
    Ok(Stored { entity, last_seq: loaded.last_seq(), snapshot_seq, snapshot_bytes })
}

/// Writes the index rows (`Entity::index_rows`) of every stored entity of kind `E`: builds
/// the index of a journal written before the kind had rows. Returns how many rows, once they
/// are durable (readable), so it blocks: never call it on an async task.
pub fn index_kind<E: Entity>(journal: &dyn Journal, compacting: bool) -> Result<u64, EngineError> {
    // Gathered first: `fold_kind`'s visitor may not call back into the journal.
    let mut rows = Vec::<IndexWrite>::new();
    fold_kind::<E>(journal, compacting, |id, state| {
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

/// Folds every stored entity of kind `E` from its events and hands each final state to
/// `visit` with the entity's id. Returns how many events were read.
pub fn fold_kind<E: Entity>(
    journal: &dyn Journal,
    compacting: bool,
    mut visit: impl FnMut(&str, &E),
) -> Result<u64, EngineError> {
    if compacting {
        return Err(EngineError::Recovery {
            key: E::KIND.name.to_string(),
            reason: "read models cannot be rebuilt from a compacted journal".into(),
        });
    }
    let mut current: Option<(String, E)> = None;
    let mut failure = None;
    let read = journal.replay_kind(E::KIND.code, &mut |id, _seq, payload| {
        if failure.is_some() {
            return;
        }
        if current.as_ref().is_none_or(|(current_id, _)| current_id != id) {
            if let Some((done_id, state)) = current.take() {
                visit(&done_id, &state);
            }
            current = Some((id.to_string(), E::default()));
        }
        match codec::decode_payload::<E::Event>(payload) {
            Ok(event) => current.as_mut().expect("set above").1.apply(&event),
            Err(source) => {
                let key = EntityKey::new(E::KIND, id).to_string();
                failure = Some(EngineError::Codec { key, source });
            }
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
