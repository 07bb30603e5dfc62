//! The journal's three threads: the writer acknowledges, the applier materializes, the
//! checkpointer makes sled durable and lets the log go.
//!
//! ```text
//! callers ─(payloads)─► writer ─────────────► done(Ok)         log append + fdatasync
//!                         └─(durable group)─► applier           sled apply_batch, no flush
//!                                               └─(progress)──► checkpointer
//!                                                                sled flush + fsync, record
//!                                                                the position, purge the log
//! ```
//!
//! - The writer drains whatever is queued (bounded by `batch_events_max`, `batch_bytes_max`)
//!   into one append and one `fdatasync`: a lone appender pays one sync, many share one.
//!   Callers encoded and hashed their payloads on their own threads; the writer numbers them.
//! - Only a durable group goes on to the applier, so sled never holds what the log may lose,
//!   and a read that waits for the applier ([`Progress::wait_stream`]) sees every
//!   acknowledged write and nothing that is not. A read of one stream waits only for the
//!   writes to its slot of streams, so an activation does not queue behind everyone's writes.
//! - The checkpointer runs every `checkpoint_interval_ms`, or sooner once the applier has
//!   written `checkpoint_bytes` since the last one, and at shutdown. It takes the applied
//!   position *before* it flushes, so the flush covers everything up to it (sled's flush
//!   makes durable all it was given before the call, and applies may go on meanwhile).
//! - After any failure the journal is failed for good (`Shared::fail`); the threads drain
//!   their queues, completing every callback with the error.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};

use super::ops::{self, Ops};
use super::{JournalConfig, Shared, Write};
use crate::journal::{Done, JournalError};
use crate::limits;
use crate::wal::{self, Purger, Wal, frame};

/// A durable group on its way to the applier: its first index and its payloads.
struct Group {
    first: u64,
    payloads: Vec<Vec<u8>>,
}

/// How far the log and sled have come, and who waits for them.
pub(super) struct Progress {
    /// The last entry acknowledged durable; set before its callbacks run.
    durable: AtomicU64,
    /// Per slot of streams (a stream's slot is a hash of its key), the last entry
    /// acknowledged for any stream of the slot: what a read of one stream waits for, so that
    /// activating an entity does not wait for writes to all the others.
    streams: Box<[AtomicU64]>,
    /// The last entry applied to sled.
    applied: AtomicU64,
    state: Mutex<ProgressState>,
    /// Wakes readers waiting for the applier.
    applied_changed: Condvar,
    /// Wakes the checkpointer.
    checkpoint_due: Condvar,
}

#[derive(Default)]
struct ProgressState {
    readers_waiting: usize,
    /// Bytes applied since the last checkpoint began.
    unchecked_bytes: u64,
    applier_gone: bool,
}

impl Default for Progress {
    fn default() -> Progress {
        Progress {
            durable: AtomicU64::new(0),
            streams: (0..limits::STREAM_SLOTS).map(|_| AtomicU64::new(0)).collect(),
            applied: AtomicU64::new(0),
            state: Mutex::default(),
            applied_changed: Condvar::new(),
            checkpoint_due: Condvar::new(),
        }
    }
}

/// The slot of the stream whose keys begin with `prefix`.
pub(super) fn stream_slot(prefix: &[u8]) -> usize {
    use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
    BuildHasherDefault::<DefaultHasher>::default().hash_one(prefix) as usize % limits::STREAM_SLOTS
}

impl Progress {
    /// Log and sled both at `index`: what recovery leaves, before any thread starts.
    pub fn start_at(&self, index: u64) {
        self.durable.store(index, Ordering::Release);
        self.applied.store(index, Ordering::Release);
    }

    /// Waits until sled holds every write to the stream in `slot` acknowledged before this
    /// call.
    pub fn wait_stream(&self, shared: &Shared, slot: usize) -> Result<(), JournalError> {
        self.wait_for(shared, self.streams[slot].load(Ordering::Acquire))
    }

    fn lock(&self) -> MutexGuard<'_, ProgressState> {
        // Every critical section only sets fields.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits until sled holds every write acknowledged before this call.
    pub fn wait_applied(&self, shared: &Shared) -> Result<(), JournalError> {
        self.wait_for(shared, self.durable.load(Ordering::Acquire))
    }

    fn wait_for(&self, shared: &Shared, target: u64) -> Result<(), JournalError> {
        if self.applied.load(Ordering::Acquire) >= target {
            return Ok(());
        }
        let mut state = self.lock();
        state.readers_waiting += 1;
        while self.applied.load(Ordering::Acquire) < target && !state.applier_gone {
            shared.check()?;
            state = self
                .applied_changed
                .wait_timeout(state, Duration::from_millis(10))
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        state.readers_waiting -= 1;
        drop(state);
        shared.check()?;
        match self.applied.load(Ordering::Acquire) >= target {
            true => Ok(()),
            false => Err(JournalError::Closed),
        }
    }
}

/// Starts the checkpointer, the applier and the writer, which appends what arrives on
/// `queue` until every sender is gone. Returned in the order to join them.
pub(super) fn start(
    shared: &Arc<Shared>,
    config: &JournalConfig,
    wal: Wal,
    queue: Receiver<Write>,
) -> Result<Vec<JoinHandle<()>>, JournalError> {
    let (to_applier, applier_queue) = crossbeam_channel::bounded(limits::APPLY_QUEUE_GROUPS_MAX);
    let checkpointer = {
        let (shared, config, purger) = (shared.clone(), config.clone(), wal.purger());
        spawn("journal-checkpointer", move || run_checkpointer(&shared, &config, &purger))?
    };
    let applier = {
        let (shared, config) = (shared.clone(), config.clone());
        let exit = ApplierExit(shared.clone());
        spawn("journal-applier", move || {
            run_applier(&shared, &config, &applier_queue);
            drop(exit);
        })?
    };
    let writer = {
        let (shared, config) = (shared.clone(), config.clone());
        spawn("journal-writer", move || run_writer(&shared, &config, wal, &queue, to_applier))?
    };
    Ok(vec![writer, applier, checkpointer])
}

fn spawn(name: &str, run: impl FnOnce() + Send + 'static) -> Result<JoinHandle<()>, JournalError> {
    Ok(std::thread::Builder::new().name(name.into()).spawn(run)?)
}

/// Owned by the applier thread; however it ends, dropping this tells readers and the
/// checkpointer (which then takes its last checkpoint and stops).
struct ApplierExit(Arc<Shared>);

impl Drop for ApplierExit {
    fn drop(&mut self) {
        let progress = &self.0.progress;
        progress.lock().applier_gone = true;
        progress.applied_changed.notify_all();
        progress.checkpoint_due.notify_one();
    }
}

fn run_writer(
    shared: &Shared,
    config: &JournalConfig,
    mut wal: Wal,
    queue: &Receiver<Write>,
    to_applier: Sender<Group>,
) {
    let mut frames = Vec::new();
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        let (mut events, mut bytes) = (batch[0].events, batch[0].bytes());
        while events < config.batch_events_max && bytes < config.batch_bytes_max {
            match queue.try_recv() {
                Ok(write) => {
                    events += write.events;
                    bytes += write.bytes();
                    batch.push(write);
                }
                Err(_) => break,
            }
        }
        metrics::histogram!("journal_batch_events").record(events as f64);
        frames.clear();
        let (first_index, term) = (wal.next_index(), wal.term());
        let mut payloads = Vec::with_capacity(batch.len());
        let mut dones = Vec::with_capacity(batch.len());
        let mut slots = Vec::with_capacity(batch.len());
        for write in batch {
            if let Some(payload) = write.payload {
                let index = first_index + payloads.len() as u64;
                frame::push(&mut frames, term, index, &payload);
                payloads.push(payload.into_bytes());
                slots.extend(write.slot.map(|slot| (slot, index)));
            }
            dones.push(write.done);
        }
        let result = append(shared, &mut wal, &frames, payloads.len() as u64);
        if result.is_ok() && !payloads.is_empty() {
            let last = wal.next_index() - 1;
            for (slot, index) in slots {
                shared.progress.streams[slot].fetch_max(index, Ordering::Release);
            }
            shared.progress.durable.store(last, Ordering::Release);
            // Blocks while the applier is `APPLY_QUEUE_GROUPS_MAX` groups behind: sled's
            // pace bounds the memory the log may run ahead by.
            if to_applier.send(Group { first: first_index, payloads }).is_err() {
                shared.fail(&JournalError::Io("the journal's applier has stopped".into()));
            }
        }
        complete(dones, result);
    }
}

/// Appends and syncs a group's frames; a failure fails the journal.
fn append(shared: &Shared, wal: &mut Wal, frames: &[u8], count: u64) -> Result<(), JournalError> {
    shared.check()?;
    if count == 0 {
        return Ok(());
    }
    let started = Instant::now();
    let result = append_frames(wal, frames, count);
    metrics::histogram!("journal_flush_seconds").record(started.elapsed().as_secs_f64());
    metrics::counter!("journal_flushes_total").increment(1);
    result.map_err(|error| shared.fail(&error))
}

fn append_frames(wal: &mut Wal, frames: &[u8], count: u64) -> Result<(), JournalError> {
    fail::fail_point!("journal-sync", |_| Err(JournalError::Io("failpoint journal-sync".into())));
    wal.append(frames, count)
}

/// Runs each callback with the group's outcome.
fn complete(dones: Vec<Done>, result: Result<(), JournalError>) {
    for done in dones {
        let result = result.clone();
        // A callback is the caller's code. Should it panic, this thread must go on: every
        // write behind it would otherwise wait forever.
        if std::panic::catch_unwind(AssertUnwindSafe(move || done(result))).is_err() {
            tracing::error!("a journal callback panicked");
        }
    }
}

fn run_applier(shared: &Shared, config: &JournalConfig, queue: &Receiver<Group>) {
    let progress = &shared.progress;
    while let Ok(first) = queue.recv() {
        let mut groups = vec![first];
        let mut events = 0;
        while events < config.batch_events_max {
            match queue.try_recv() {
                Ok(group) => {
                    events += group.payloads.len();
                    groups.push(group);
                }
                Err(_) => break,
            }
        }
        if shared.check().is_err() {
            continue;
        }
        let last = groups.last().map(|g| g.first + g.payloads.len() as u64 - 1).unwrap_or(0);
        let bytes: usize = groups.iter().flat_map(|g| &g.payloads).map(Vec::len).sum();
        let applied = groups
            .iter()
            .flat_map(|group| &group.payloads)
            .map(|payload| Ops::parse(payload))
            .collect::<Result<Vec<_>, _>>()
            .and_then(|group| ops::apply(shared, &group));
        if let Err(error) = applied {
            shared.fail(&error);
            continue;
        }
        progress.applied.store(last, Ordering::Release);
        let mut state = progress.lock();
        state.unchecked_bytes += bytes as u64;
        let (readers, due) =
            (state.readers_waiting > 0, state.unchecked_bytes >= config.checkpoint_bytes);
        drop(state);
        if readers {
            progress.applied_changed.notify_all();
        }
        if due {
            progress.checkpoint_due.notify_one();
        }
    }
}

fn run_checkpointer(shared: &Shared, config: &JournalConfig, purger: &Purger) {
    let progress = &shared.progress;
    let interval = Duration::from_millis(config.checkpoint_interval_ms);
    let mut checkpointed = progress.applied.load(Ordering::Acquire);
    loop {
        let mut state = progress.lock();
        state = progress
            .checkpoint_due
            .wait_timeout_while(state, interval, |s| {
                s.unchecked_bytes < config.checkpoint_bytes && !s.applier_gone
            })
            .unwrap_or_else(PoisonError::into_inner)
            .0;
        let last = state.applier_gone;
        state.unchecked_bytes = 0;
        drop(state);
        let upto = progress.applied.load(Ordering::Acquire);
        if upto > checkpointed && shared.check().is_ok() {
            match checkpoint(shared, purger, upto) {
                Ok(()) => checkpointed = upto,
                Err(error) => {
                    shared.fail(&error);
                }
            }
        }
        if last {
            return;
        }
    }
}

/// Makes sled durable up to log entry `upto` (which it holds), records that, and deletes the
/// log segments it covers.
pub(super) fn checkpoint(shared: &Shared, purger: &Purger, upto: u64) -> Result<(), JournalError> {
    let started = Instant::now();
    shared.make_durable()?;
    fail::fail_point!("checkpoint-after-flush", |_| Err(JournalError::Io(
        "failpoint checkpoint-after-flush".into()
    )));
    wal::save_checkpoint(&shared.wal_dir, upto)?;
    fail::fail_point!("checkpoint-after-record", |_| Err(JournalError::Io(
        "failpoint checkpoint-after-record".into()
    )));
    purger.purge(upto)?;
    metrics::histogram!("journal_checkpoint_seconds").record(started.elapsed().as_secs_f64());
    Ok(())
}
