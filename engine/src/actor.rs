//! The actor that runs one entity: activate from the journal, then decide, append, apply,
//! reply once durable.
//!
//! A hot entity is not limited by disk latency: it applies a command's events to memory as
//! soon as it has handed them to the journal and goes on to the next command; the reply waits
//! in the journal's callback until the batch holding those events is durable (or, for an
//! [`Ack::Appended`] ask, goes out as soon as the journal holds them; its projections still
//! wait). A command that
//! produced no events (a read, a rejection) is answered only once every earlier write of the
//! entity is durable, so no caller ever sees state that might still be lost.
//!
//! The write that brings an entity [at rest](Entity::at_rest) stops its actor once that write
//! is durable: finished work leaves memory at once instead of when it idles out. A passivation
//! snapshots the state only when many events are new since the last snapshot
//! ([`PASSIVATION_SNAPSHOT_EVENTS_MIN`]); a short stream is replayed instead.
//!
//! If a write fails, the entity is poisoned: it answers nothing more from memory, stops, and
//! its next activation reads the journal again, so what was never acknowledged is never seen.

use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use bazaar_persistence::{JournalError, JournalExt, Record, Seq, codec};
use ractor::{Actor, ActorProcessingErr, ActorRef};
use tokio::sync::oneshot;

use crate::EngineError;
use crate::entity::{Ack, Answer, Ctx, Entity, EntityKey};
use crate::limits::PASSIVATION_SNAPSHOT_EVENTS_MIN;
use crate::projection::{Projections, Publish};
use crate::runtime::Runtime;

/// Messages an entity actor takes.
pub(crate) enum EntityMsg<E: Entity> {
    Ask {
        command: E::Command,
        ack: Ack,
        reply: oneshot::Sender<Answer<E>>,
    },
    /// A write of this entity failed: stop, so the next activation re-reads the journal.
    JournalFailed,
}

/// Bytes of encoded state a periodic snapshot may cost per event it covers: a large state (a
/// hot SKU's many holds) is encoded, on its actor, after proportionally more events than
/// `snapshot_every_events`, so the encoding's cost per event, and how often it stalls the
/// entity's asks, stay bounded. A state under 256 KiB keeps the configured interval.
const SNAPSHOT_STATE_BYTES_PER_EVENT: u64 = 256;

/// The seq at which the next periodic snapshot of a state last encoded at `bytes`, covering
/// `seq`, is due.
fn next_snapshot(seq: Seq, every: u64, bytes: usize) -> Seq {
    seq.saturating_add(every.max(bytes as u64 / SNAPSHOT_STATE_BYTES_PER_EVENT))
}

pub(crate) struct EntityActor<E>(PhantomData<fn() -> E>);

impl<E> EntityActor<E> {
    pub fn new() -> Self {
        EntityActor(PhantomData)
    }
}

pub(crate) struct Args {
    pub key: EntityKey,
    pub rt: Arc<Runtime>,
}

pub(crate) struct Incarnation<E: Entity> {
    key: EntityKey,
    rt: Arc<Runtime>,
    projections: Projections<E>,
    body: Result<Live<E>, EngineError>,
}

struct Live<E> {
    entity: E,
    /// The seq the next event gets.
    next_seq: Seq,
    /// The seq the last snapshot covers.
    snapshot_seq: Seq,
    /// The seq at which the next periodic snapshot is due ([`next_snapshot`]).
    snapshot_due: Seq,
    /// Appends handed to the journal and not yet durable.
    unsynced: Arc<AtomicUsize>,
    /// Set by a failed write; the actor is stopping.
    poisoned: Arc<AtomicBool>,
    /// The index rows of the state as written (`Entity::index_rows`).
    rows: BTreeMap<Vec<u8>, Vec<u8>>,
}

fn send<E: Entity>(reply: oneshot::Sender<Answer<E>>, answer: Answer<E>) {
    // The asker may have timed out and gone; its answer is then dropped.
    let _ = reply.send(answer);
}

impl<E: Entity> Live<E> {
    /// Rebuilds the entity from its snapshot and the events after it.
    fn recover(key: &EntityKey, rt: &Runtime) -> Result<Live<E>, EngineError> {
        let stored = crate::replay::load_entity::<E>(&*rt.journal, key)?;
        // The rows the index holds for it: none for an entity never written, whatever rows
        // its default state would have (its first write puts them).
        let rows = match stored.last_seq {
            0 => BTreeMap::new(),
            _ => stored.entity.index_rows(&key.id).into_iter().collect(),
        };
        Ok(Live {
            entity: stored.entity,
            next_seq: stored.last_seq + 1,
            snapshot_seq: stored.snapshot_seq,
            snapshot_due: next_snapshot(
                stored.snapshot_seq,
                rt.config.snapshot_every_events,
                stored.snapshot_bytes,
            ),
            rows,
            unsynced: Arc::new(AtomicUsize::new(0)),
            poisoned: Arc::new(AtomicBool::new(false)),
        })
    }

    /// The index rows that change with the state as it is now, and the rows kept for the
    /// next write.
    fn index_changes(&mut self, id: &str) -> Vec<bazaar_persistence::IndexWrite> {
        let rows: BTreeMap<Vec<u8>, Vec<u8>> = self.entity.index_rows(id).into_iter().collect();
        if rows.is_empty() && self.rows.is_empty() {
            return Vec::new();
        }
        let mut changes: Vec<_> = self
            .rows
            .keys()
            .filter(|key| !rows.contains_key(*key))
            .map(|key| (key.clone(), None))
            .collect();
        changes.extend(
            rows.iter()
                .filter(|(key, value)| self.rows.get(*key) != Some(*value))
                .map(|(key, value)| (key.clone(), Some(value.clone()))),
        );
        self.rows = rows;
        changes
    }
}

impl<E: Entity> Incarnation<E> {
    fn ask(
        &mut self,
        myself: &ActorRef<EntityMsg<E>>,
        command: E::Command,
        ack: Ack,
        reply: oneshot::Sender<Answer<E>>,
    ) {
        let live = match &mut self.body {
            Ok(live) => live,
            Err(error) => return send::<E>(reply, Err(error.clone())),
        };
        if live.poisoned.load(Ordering::Acquire) {
            return send::<E>(
                reply,
                Err(JournalError::Failed("an earlier write failed".into()).into()),
            );
        }
        let ctx = Ctx { now_ms: self.rt.clock.now_ms(), key: &self.key };
        let (events, answer) = match live.entity.decide(command, &ctx) {
            Ok(decision) => decision,
            Err(rejection) => {
                metrics::counter!("engine_rejections_total", "kind" => E::KIND.name).increment(1);
                return self.answer_when_synced(Ok(Err(rejection)), reply);
            }
        };
        if events.is_empty() {
            return self.answer_when_synced(Ok(Ok(answer)), reply);
        }
        let records = match events.iter().map(codec::encode).collect::<Result<Vec<Record>, _>>() {
            Ok(records) => records,
            Err(source) => {
                let key = self.key.to_string();
                return send::<E>(reply, Err(EngineError::Codec { key, source }));
            }
        };
        let first_seq = live.next_seq;
        live.next_seq += events.len() as Seq;
        let was_at_rest = live.entity.at_rest();
        events.iter().for_each(|event| live.entity.apply(event));
        let comes_to_rest = !was_at_rest && live.entity.at_rest();
        let index = live.index_changes(&self.key.id);
        let publications: Vec<Publish> = self
            .projections
            .iter()
            .filter_map(|p| p.prepare(&self.key, &live.entity, &events))
            .collect();
        live.unsynced.fetch_add(1, Ordering::AcqRel);
        let (when_durable, when_appended) = match ack {
            Ack::Durable => (Some((reply, answer)), None),
            Ack::Appended => (None, Some((reply, answer))),
        };
        let done = on_durable(live, myself, true, move |result| {
            if result.is_ok() {
                publications.into_iter().for_each(|publish| publish());
            }
            if let Some((reply, answer)) = when_durable {
                send::<E>(reply, result.map(|()| Ok(answer)).map_err(EngineError::from));
            }
        });
        let poisoned = live.poisoned.clone();
        let stream = crate::entity::stream(&self.key);
        self.rt.journal.append_indexed(stream, first_seq, records, index, done);
        // A write the journal refused at once (failed already, a record too large) has
        // poisoned the entity by now: nothing of its state may be answered or snapshotted.
        let refused = poisoned.load(Ordering::Acquire);
        if let Some((reply, answer)) = when_appended {
            // Answered only now that the journal holds the write, so every write submitted
            // after this answer (of any entity) is behind it.
            if refused {
                let refused = JournalError::Failed("the journal refused the write".into());
                send::<E>(reply, Err(refused.into()));
            } else {
                send::<E>(reply, Ok(Ok(answer)));
            }
        }
        if refused {
            return;
        }
        if comes_to_rest {
            // Stops after this message; `post_stop` waits for the write before it leaves.
            self.rt.directory.mark_retiring(&self.key, myself.get_id());
            myself.stop(Some("at rest".into()));
        } else {
            self.snapshot_if_due(myself);
        }
    }

    /// Answers once every earlier write of this entity is durable.
    fn answer_when_synced(&self, answer: Answer<E>, reply: oneshot::Sender<Answer<E>>) {
        let (unsynced, poisoned) = self.body.as_ref().map_or((0, false), |live| {
            (live.unsynced.load(Ordering::Acquire), live.poisoned.load(Ordering::Acquire))
        });
        // A write that failed since `decide` poisons before it stops counting as unsynced,
        // so a zero here with no poison means every earlier write is durable.
        if poisoned {
            let failed = JournalError::Failed("an earlier write failed".into());
            return send::<E>(reply, Err(failed.into()));
        }
        if unsynced == 0 {
            return send::<E>(reply, answer);
        }
        self.rt.journal.barrier(Box::new(move |result| {
            send::<E>(reply, result.map_err(EngineError::from).and(answer))
        }));
    }

    fn snapshot_if_due(&mut self, myself: &ActorRef<EntityMsg<E>>) {
        let every = self.rt.config.snapshot_every_events;
        let Ok(live) = &mut self.body else { return };
        if every == 0 || live.next_seq - 1 < live.snapshot_due {
            return;
        }
        let encoded = codec::encode(&live.entity);
        let bytes = encoded.as_ref().map_or(0, |state| state.len());
        live.snapshot_due = next_snapshot(live.next_seq - 1, every, bytes);
        let state = match encoded {
            Ok(state) if state.len() <= bazaar_persistence::limits::RECORD_BYTES_MAX => state,
            // Never a reason to poison the entity: its events are all journaled, and recovery
            // replays them from the last snapshot that fitted.
            Ok(state) => {
                tracing::error!(key = %self.key, bytes = state.len(), "entity state too large to snapshot; snapshot skipped");
                return;
            }
            Err(error) => {
                tracing::error!(key = %self.key, error = %error, "entity state does not encode; snapshot skipped");
                return;
            }
        };
        live.snapshot_seq = live.next_seq - 1;
        let compact = self.rt.config.compacts::<E>();
        let done = on_durable(live, myself, false, |_| ());
        self.rt.journal.save_snapshot(
            crate::entity::stream(&self.key),
            live.snapshot_seq,
            state,
            compact,
            done,
        );
    }
}

/// Wraps what follows a write in the bookkeeping every write of an entity needs: count it
/// synced (`counted` appends only), and on failure poison the entity and tell its actor to stop.
fn on_durable<E: Entity>(
    live: &Live<E>,
    myself: &ActorRef<EntityMsg<E>>,
    counted: bool,
    then: impl FnOnce(Result<(), JournalError>) + Send + 'static,
) -> bazaar_persistence::Done {
    let (unsynced, poisoned, myself) =
        (live.unsynced.clone(), live.poisoned.clone(), myself.clone());
    Box::new(move |result: Result<(), JournalError>| {
        // Poisoned before the write stops counting as unsynced: a read that then finds nothing
        // unsynced also finds the poison, and never answers from the failed write's state.
        if result.is_err() && !poisoned.swap(true, Ordering::AcqRel) {
            // The actor may be gone already; then there is nothing left to stop.
            let _ = myself.send_message(EntityMsg::JournalFailed);
        }
        if counted {
            unsynced.fetch_sub(1, Ordering::AcqRel);
        }
        then(result)
    })
}

impl<E: Entity> Actor for EntityActor<E> {
    type Msg = EntityMsg<E>;
    type State = Incarnation<E>;
    type Arguments = Args;

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        Args { key, rt }: Args,
    ) -> Result<Self::State, ActorProcessingErr> {
        let body = Live::recover(&key, &rt);
        if let Err(error) = &body {
            tracing::error!(key = %key, error = %error, "entity failed to recover");
        }
        metrics::counter!("engine_activations_total", "kind" => E::KIND.name).increment(1);
        let projections = rt.projections.of::<E>();
        Ok(Incarnation { key, rt, projections, body })
    }

    async fn post_start(
        &self,
        myself: ActorRef<Self::Msg>,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        if state.body.is_err() {
            // Answer what is queued with the error, then leave, so that a later ask tries to
            // recover afresh (the fault may pass: a restarted journal, a repaired disk).
            state.rt.directory.mark_retiring(&state.key, myself.get_id());
            myself.drain()?;
        }
        Ok(())
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            EntityMsg::Ask { command, ack, reply } => state.ask(&myself, command, ack, reply),
            EntityMsg::JournalFailed => {
                tracing::warn!(key = %state.key, "write failed; entity stops and will re-read its journal");
                myself.stop(Some("journal write failed".into()));
            }
        }
        Ok(())
    }

    async fn post_stop(
        &self,
        myself: ActorRef<Self::Msg>,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        // The slot stays (retiring) until every write of this incarnation is in the journal,
        // so the next incarnation reads them all. A snapshot is written only when many events
        // are new since the last one; an entity with nothing unsynced leaves at once.
        let receipt = match &state.body {
            Ok(live) if live.poisoned.load(Ordering::Acquire) => {
                Some(state.rt.journal.barrier_receipt())
            }
            Ok(live) if live.next_seq > live.snapshot_seq + PASSIVATION_SNAPSHOT_EVENTS_MIN => {
                Some(match codec::encode(&live.entity) {
                    Ok(record) if record.len() <= bazaar_persistence::limits::RECORD_BYTES_MAX => {
                        let compact = state.rt.config.compacts::<E>();
                        state.rt.journal.snapshot_receipt(
                            crate::entity::stream(&state.key),
                            live.next_seq - 1,
                            record,
                            compact,
                        )
                    }
                    // Too large or not encodable: no snapshot, the events are all journaled.
                    Ok(record) => {
                        tracing::error!(key = %state.key, bytes = record.len(), "entity state too large to snapshot");
                        state.rt.journal.barrier_receipt()
                    }
                    Err(error) => {
                        tracing::error!(key = %state.key, error = %error, "entity state does not encode");
                        state.rt.journal.barrier_receipt()
                    }
                })
            }
            Ok(live) if live.unsynced.load(Ordering::Acquire) > 0 => {
                Some(state.rt.journal.barrier_receipt())
            }
            Ok(_) | Err(_) => None,
        };
        if let Some(receipt) = receipt
            && let Err(error) = receipt.await
        {
            tracing::warn!(key = %state.key, error = %error, "passivation write failed");
        }
        state.rt.directory.remove(&state.key, myself.get_id());
        metrics::counter!("engine_passivations_total", "kind" => E::KIND.name).increment(1);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::next_snapshot;

    #[test]
    fn a_large_state_is_snapshotted_after_proportionally_more_events() {
        assert_eq!(next_snapshot(10, 1_000, 0), 1_010);
        assert_eq!(next_snapshot(10, 1_000, 256 * 1_000), 1_010);
        // A hot SKU's 3 MB of holds: one snapshot per 12,288 events, not per 1,000.
        assert_eq!(next_snapshot(10, 1_000, 3 << 20), 10 + (3 << 20) / 256);
        assert_eq!(next_snapshot(u64::MAX - 1, 1_000, 0), u64::MAX);
    }
}
