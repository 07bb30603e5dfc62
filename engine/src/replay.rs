//! Rebuilding read models: every entity of a kind, folded from the journal.
//!
//! Invariant: this sees exactly the events the journal holds. With `compact_on_snapshot` on,
//! events a snapshot covers are gone and a fold from events alone would be wrong, so the
//! engine refuses to fold a kind then (projections are rebuilt from full history).

use bazaar_persistence::{Journal, codec};

use crate::entity::{Entity, EntityKey};
use crate::error::EngineError;

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
