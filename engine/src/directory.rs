//! The directory: which entities of this node have a live actor, and the bounded active set.
//!
//! Invariants:
//! - At most one live actor per key: activation happens under the directory's entry lock, and
//!   a stopping actor keeps its slot (marked retiring) until its last write is durable, so a
//!   new incarnation never reads the journal before the old one's writes are in it.
//! - The active set stays near `active_entities_max`: when an activation crosses it, the least
//!   recently used slots are retired until `EVICT_TO_PERCENT` of the bound remains. The pass is
//!   O(n), so it runs once per `max - EVICT_TO_PERCENT% of max` activations, off the ask path.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use dashmap::DashMap;
use dashmap::mapref::entry::Entry;
use ractor::{ActorCell, ActorId};

use crate::entity::EntityKey;
use crate::limits::EVICT_TO_PERCENT;

/// One active entity.
pub(crate) struct Slot {
    pub cell: ActorCell,
    /// Milliseconds since the directory's epoch at the last ask: the LRU order and idleness.
    pub touched_ms: AtomicU64,
    /// Set once the actor has been told to stop; asks wait for the slot to go.
    pub retiring: AtomicBool,
}

pub(crate) struct Directory {
    slots: DashMap<EntityKey, Slot>,
    active: AtomicUsize,
    /// Slots marked retiring and not yet removed (their actors are writing a snapshot).
    retiring: AtomicUsize,
    active_max: usize,
    epoch: Instant,
    evicting: AtomicBool,
}

/// What an ask found for its key.
pub(crate) enum Found {
    Live(ActorCell),
    Retiring,
}

impl Directory {
    pub fn new(active_max: usize) -> Directory {
        Directory {
            slots: DashMap::new(),
            active: AtomicUsize::new(0),
            retiring: AtomicUsize::new(0),
            active_max,
            epoch: Instant::now(),
            evicting: AtomicBool::new(false),
        }
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// The live actor of `key`, activating one with `spawn` if there is none. The second value
    /// says whether this call activated it.
    pub fn find_or_activate(
        &self,
        key: &EntityKey,
        spawn: impl FnOnce() -> Result<ActorCell, crate::EngineError>,
    ) -> Result<(Found, bool), crate::EngineError> {
        let now = self.now_ms();
        if let Some(slot) = self.slots.get(key) {
            return Ok((found(&slot, now), false));
        }
        match self.slots.entry(key.clone()) {
            Entry::Occupied(slot) => Ok((found(slot.get(), now), false)),
            Entry::Vacant(vacant) => {
                let cell = spawn()?;
                vacant.insert(Slot {
                    cell: cell.clone(),
                    touched_ms: AtomicU64::new(now),
                    retiring: AtomicBool::new(false),
                });
                let active = self.active.fetch_add(1, Ordering::AcqRel) + 1;
                metrics::gauge!("engine_active_entities").set(active as f64);
                Ok((Found::Live(cell), true))
            }
        }
    }

    /// Forgets the slot of `key` if it still belongs to actor `id` (a newer one stays).
    pub fn remove(&self, key: &EntityKey, id: ActorId) {
        self.remove_where(key, |slot| slot.cell.get_id() == id);
    }

    /// Forgets the slot of an actor that died without stopping (a panic skips `post_stop`);
    /// a retiring slot stays until its actor's last write is in the journal.
    pub fn remove_dead(&self, key: &EntityKey, id: ActorId) {
        self.remove_where(key, |slot| {
            slot.cell.get_id() == id && !slot.retiring.load(Ordering::Acquire)
        });
    }

    /// Marks the slot of actor `id` retiring, without stopping it: asks wait for it to go.
    pub fn mark_retiring(&self, key: &EntityKey, id: ActorId) {
        if let Some(slot) = self.slots.get(key).filter(|slot| slot.cell.get_id() == id) {
            self.set_retiring(&slot);
        }
    }

    /// Marks a slot retiring; false if it was already.
    fn set_retiring(&self, slot: &Slot) -> bool {
        if slot.retiring.swap(true, Ordering::AcqRel) {
            return false;
        }
        self.retiring.fetch_add(1, Ordering::AcqRel);
        true
    }

    fn remove_where(&self, key: &EntityKey, condition: impl FnOnce(&Slot) -> bool) {
        if let Some((_, slot)) = self.slots.remove_if(key, |_, slot| condition(slot)) {
            if slot.retiring.load(Ordering::Acquire) {
                self.retiring.fetch_sub(1, Ordering::AcqRel);
            }
            let active = self.active.fetch_sub(1, Ordering::AcqRel) - 1;
            metrics::gauge!("engine_active_entities").set(active as f64);
        }
    }

    /// Entities with a live (or stopping) actor.
    pub fn active(&self) -> usize {
        self.active.load(Ordering::Acquire)
    }

    /// Entities with a live actor that is not stopping: what `active_entities_max` bounds.
    /// (Retiring ones hold memory a little longer, until their last write is durable.)
    pub fn live(&self) -> usize {
        self.active().saturating_sub(self.retiring.load(Ordering::Acquire))
    }

    /// Claims the one eviction pass allowed at a time, if the live set is over its bound.
    pub fn begin_eviction(&self) -> bool {
        self.live() > self.active_max && !self.evicting.swap(true, Ordering::AcqRel)
    }

    /// Retires the least recently used live slots down to `EVICT_TO_PERCENT` of the bound,
    /// then releases the claim of [`begin_eviction`](Directory::begin_eviction). Returns how
    /// many it retired. One pass reads every slot's touch time once and clones no key.
    pub fn evict_least_recently_used(&self) -> usize {
        let target = self.active_max * EVICT_TO_PERCENT / 100;
        let mut touched: Vec<u64> = self
            .slots
            .iter()
            .filter(|slot| !slot.retiring.load(Ordering::Acquire))
            .map(|slot| slot.touched_ms.load(Ordering::Relaxed))
            .collect();
        let mut excess = touched.len().saturating_sub(target);
        let mut retired = 0;
        if excess > 0 {
            let cutoff = *touched.select_nth_unstable(excess - 1).1;
            for slot in self.slots.iter() {
                if excess == 0 {
                    break;
                }
                if slot.touched_ms.load(Ordering::Relaxed) <= cutoff && self.retire_slot(&slot) {
                    excess -= 1;
                    retired += 1;
                }
            }
        }
        self.evicting.store(false, Ordering::Release);
        retired
    }

    /// Retires every slot untouched for `idle_ms`.
    pub fn retire_idle(&self, idle_ms: u64) -> usize {
        let cutoff = self.now_ms().saturating_sub(idle_ms);
        self.slots
            .iter()
            .filter(|slot| {
                slot.touched_ms.load(Ordering::Relaxed) < cutoff && self.retire_slot(slot)
            })
            .count()
    }

    /// Retires every slot (shutdown).
    pub fn retire_all(&self) -> usize {
        self.slots.iter().filter(|slot| self.retire_slot(slot)).count()
    }

    /// Marks a slot retiring and stops its actor, which writes what it must and then leaves
    /// the directory. False if it was retiring already.
    fn retire_slot(&self, slot: &Slot) -> bool {
        if !self.set_retiring(slot) {
            return false;
        }
        slot.cell.stop(Some("passivate".into()));
        true
    }
}

fn found(slot: &Slot, now_ms: u64) -> Found {
    if slot.retiring.load(Ordering::Acquire) {
        return Found::Retiring;
    }
    slot.touched_ms.store(now_ms, Ordering::Relaxed);
    Found::Live(slot.cell.clone())
}
