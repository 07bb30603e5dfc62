//! Driving hold expiry: every inventory entity with active holds is scheduled at the time its
//! earliest hold falls due, and sent `ExpireDue` then, so units held by an abandoned cart come
//! back on their own (and the stock flow carries them to the buy box).
//!
//! The schedule is memory; its durable source is the inventories themselves: the stock
//! projection schedules each entity from its state after every durable change, and the
//! start-up rebuild schedules every inventory that still has holds (also those whose time ran
//! out while the node was down). So a hold expires whether its entity is active, passivated
//! or was never activated since the start.
//!
//! Invariants:
//! - An entity with active holds is scheduled at or before its earliest hold's due time:
//!   publishing sets the exact time; an answer to `ExpireDue` only ever moves it earlier (a
//!   too-early `ExpireDue` expires nothing and answers the right time).
//! - One entry per entity, so the schedule is bounded by the entities holding units.
//! - A failed `ExpireDue` is tried again after [`EXPIRY_RETRY_MS`]; `ShuttingDown` ends the
//!   driver (the next start schedules from the journal).

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use bazaar_engine::EngineError;
use tokio::sync::Notify;

use super::Shared;
use crate::limits::EXPIRY_ASKS_MAX;
use crate::limits::EXPIRY_SLEEP_MS_MAX;
use bazaar_actors::inventory::{Inventory, InventoryCommand};

/// How long after a failed `ExpireDue` (overload, time-out) it is sent again.
const EXPIRY_RETRY_MS: u64 = 200;

#[derive(Default)]
struct Schedule {
    by_key: HashMap<String, u64>,
    by_due: BTreeSet<(u64, String)>,
}

/// The expiry schedule of a catalogue.
#[derive(Default)]
pub(super) struct Expiry {
    schedule: Mutex<Schedule>,
    wake: Notify,
    stopped: AtomicBool,
}

impl Expiry {
    /// Schedules the inventory entity `key` at `due_ms` (its earliest hold's due time), or
    /// forgets it when it holds nothing (`None`).
    pub fn set(&self, key: &str, due_ms: Option<u64>) {
        let mut schedule = self.schedule.lock().expect("expiry lock");
        let before = match due_ms {
            Some(at) => schedule.by_key.insert(key.to_owned(), at),
            None => schedule.by_key.remove(key),
        };
        if let Some(before) = before {
            schedule.by_due.remove(&(before, key.to_owned()));
        }
        if let Some(at) = due_ms {
            schedule.by_due.insert((at, key.to_owned()));
            if schedule.by_due.first().is_some_and(|(first, _)| *first == at) {
                self.wake.notify_one();
            }
        }
    }

    /// Schedules `key` at `due_ms` unless it is already scheduled earlier.
    fn set_at_most(&self, key: &str, due_ms: u64) {
        let scheduled = self.schedule.lock().expect("expiry lock").by_key.get(key).copied();
        if scheduled.is_none_or(|at| due_ms < at) {
            self.set(key, Some(due_ms));
        }
    }

    /// Takes the entities due at `now_ms` off the schedule (at most `limit`), and says when
    /// the next one falls due.
    fn take_due(&self, now_ms: u64, limit: usize) -> (Vec<String>, Option<u64>) {
        let mut schedule = self.schedule.lock().expect("expiry lock");
        let mut due = Vec::new();
        while due.len() < limit {
            match schedule.by_due.first() {
                Some((at, _)) if *at <= now_ms => {}
                _ => break,
            }
            let (_, key) = schedule.by_due.pop_first().expect("a first entry");
            schedule.by_key.remove(&key);
            due.push(key);
        }
        let next = schedule.by_due.first().map(|(at, _)| *at);
        (due, next)
    }

    /// Stops the driver (the node is stopping: the next start schedules from the journal).
    pub fn stop(&self) {
        self.stopped.store(true, Ordering::Release);
        self.wake.notify_one();
    }
}

/// Starts the driver; it stops when told to, when the catalogue is dropped or when the engine
/// shuts down.
pub(super) fn spawn_driver(shared: Weak<Shared>, expiry: Arc<Expiry>) {
    tokio::spawn(async move {
        loop {
            if expiry.stopped.load(Ordering::Acquire) {
                return;
            }
            let Some(strong) = shared.upgrade() else { return };
            let engine = strong.engine.clone();
            drop(strong);
            let now_ms = engine.clock().now_ms();
            let (due, next) = expiry.take_due(now_ms, EXPIRY_ASKS_MAX);
            if due.is_empty() {
                let wait_ms = next
                    .map_or(EXPIRY_SLEEP_MS_MAX, |at| at.saturating_sub(now_ms))
                    .min(EXPIRY_SLEEP_MS_MAX);
                tokio::select! {
                    _ = expiry.wake.notified() => {}
                    _ = tokio::time::sleep(Duration::from_millis(wait_ms)) => {}
                }
                continue;
            }
            let mut asks = tokio::task::JoinSet::new();
            for key in due {
                let engine = engine.clone();
                asks.spawn(async move {
                    let answer = engine.ask::<Inventory>(&key, InventoryCommand::ExpireDue).await;
                    (key, answer)
                });
            }
            let mut stopping = false;
            while let Some(joined) = asks.join_next().await {
                let Ok((key, answer)) = joined else { continue };
                match answer {
                    // Events (if any) reach the projection, which schedules the exact time;
                    // this covers an `ExpireDue` that found nothing due yet.
                    Ok(Ok(reply)) => {
                        if let Some(at) = reply.stock.next_expiry_ms {
                            expiry.set_at_most(&key, at);
                        }
                    }
                    Ok(Err(rejection)) => {
                        tracing::warn!(inventory = %key, ?rejection, "expiry refused");
                        expiry.set_at_most(&key, now_ms + EXPIRY_RETRY_MS);
                    }
                    Err(EngineError::ShuttingDown) => stopping = true,
                    Err(error) => {
                        tracing::warn!(inventory = %key, error = %error, "expiry not sent; retrying");
                        expiry.set_at_most(&key, now_ms + EXPIRY_RETRY_MS);
                    }
                }
            }
            if stopping {
                return;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_entities_come_out_earliest_first_and_leave_the_schedule() {
        let expiry = Expiry::default();
        expiry.set("b", Some(20));
        expiry.set("a", Some(10));
        expiry.set("c", Some(30));
        assert_eq!(expiry.take_due(5, 8), (vec![], Some(10)));
        assert_eq!(expiry.take_due(20, 8), (vec!["a".to_string(), "b".to_string()], Some(30)));
        assert_eq!(expiry.take_due(100, 8), (vec!["c".to_string()], None));
    }

    #[test]
    fn publishing_sets_the_exact_time_and_an_answer_only_moves_it_earlier() {
        let expiry = Expiry::default();
        expiry.set("a", Some(10));
        expiry.set("a", Some(50));
        assert_eq!(expiry.take_due(20, 8), (vec![], Some(50)), "the later publish stands");
        expiry.set_at_most("a", 70);
        assert_eq!(expiry.take_due(60, 8), (vec!["a".to_string()], None), "not moved later");
        expiry.set("a", Some(10));
        expiry.set("a", None);
        assert_eq!(expiry.take_due(100, 8), (vec![], None), "no holds: forgotten");
    }

    #[test]
    fn at_most_the_limit_comes_out_at_once() {
        let expiry = Expiry::default();
        for i in 0..5 {
            expiry.set(&format!("k{i}"), Some(i));
        }
        let (due, next) = expiry.take_due(10, 3);
        assert_eq!((due.len(), next), (3, Some(3)));
    }
}
