//! The journal's write path: a writer thread that applies queued writes to sled in batches,
//! and a syncer thread that makes applied batches durable and then runs their callbacks.
//!
//! - Callers build keys and frame records on their own threads; the writer only moves bytes.
//! - The writer drains whatever is queued (bounded by `batch_events_max`, `batch_bytes_max`)
//!   into one `apply_batch` per tree, then hands the batch's callbacks to the syncer and goes
//!   on applying the next batch while the syncer makes the previous ones durable.
//! - The syncer takes every applied batch waiting for it, syncs once (what a sync makes
//!   durable is in the parent module) and only then runs the callbacks. A lone writer pays one
//!   sync; many writers share one.
//! - Before a sync, the syncer also waits for the batch the writer is applying at that moment
//!   (at most `limits::APPLY_WAIT_MS_MAX`) and takes it along. Otherwise, under steady load, the
//!   appenders split into two cohorts taking turns, each sync carrying half of them. The wait
//!   costs little: `apply_batch` holds sled's process-wide concurrency lock for writing and
//!   `flush()` takes it for reading, so a flush begun during an apply waits for it anyway.
//! - When the writer has applied a batch, nothing else is queued and the syncer is idle with
//!   nothing waiting, the writer syncs that batch itself: a lone appender then pays two thread
//!   hand-offs (caller to writer, writer back to caller) instead of three. Writes queued
//!   meanwhile wait for the writer, as they would wait for the next sync anyway.
//!
//! The writer and the syncer meet in `Handoff`: one mutex, held only for a few field updates,
//! and one condition variable that only the syncer waits on. So the writer never waits for the
//! syncer, and the syncer, once it has a batch to sync, waits at most
//! `limits::APPLY_WAIT_MS_MAX` for the writer. A panicking callback is logged and skipped, so
//! it cannot stop either thread.

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;

use super::{JournalConfig, Shared, Write};
use crate::chunks;
use crate::journal::{Done, JournalError};
use crate::limits;

/// Starts the syncer, then the writer, which applies what arrives on `queue` until every
/// sender is gone. Returns both threads, the writer first: joined in that order, the writer
/// has applied and handed on everything queued before the syncer is waited for.
pub(super) fn start(
    shared: &Arc<Shared>,
    config: &JournalConfig,
    queue: Receiver<Write>,
) -> Result<Vec<JoinHandle<()>>, JournalError> {
    let handoff = Arc::new(Handoff::default());
    // The syncer starts first: if the writer cannot be spawned, dropping `handoff`'s
    // writer side (`WriterExit`) still lets the syncer end.
    let syncer = {
        let (shared, handoff) = (shared.clone(), handoff.clone());
        std::thread::Builder::new()
            .name("journal-syncer".into())
            .spawn(move || run_syncer(&shared, &handoff))?
    };
    let writer = {
        let shared = shared.clone();
        let config = config.clone();
        let exit = WriterExit(handoff);
        std::thread::Builder::new()
            .name("journal-writer".into())
            .spawn(move || run_writer(&shared, &config, &queue, &exit.0))?
    };
    Ok(vec![writer, syncer])
}

/// Where the writer hands applied batches to the syncer.
#[derive(Default)]
struct Handoff {
    state: Mutex<HandoffState>,
    /// Wakes the syncer, the only thread that waits on it, when what it waits for changes.
    wake: Condvar,
}

#[derive(Default)]
struct HandoffState {
    /// Callbacks of applied batches no sync has taken yet, oldest first.
    applied: Vec<Done>,
    /// The writer has taken a batch from the queue and not yet added it to `applied`.
    applying: bool,
    /// Batches the writer has added to `applied` so far.
    batches_applied: u64,
    /// A sync (by the syncer, or by the writer for a lone batch) is running or completing
    /// its callbacks; at most one at a time.
    syncing: bool,
    /// The syncer waits on `wake`: only then does the writer notify it, since a notification
    /// costs a system call, and waking it for nothing costs a context switch.
    syncer_waiting: bool,
    /// The writer has stopped: once `applied` is empty, the syncer stops too.
    writer_gone: bool,
}

impl Handoff {
    /// Every critical section only sets fields, so a thread that panicked elsewhere cannot
    /// have left the state half updated: a poisoned lock is taken as it is.
    fn lock(&self) -> MutexGuard<'_, HandoffState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Owned by the writer thread; however it ends, dropping this tells the syncer.
struct WriterExit(Arc<Handoff>);

impl Drop for WriterExit {
    fn drop(&mut self) {
        self.0.lock().writer_gone = true;
        self.0.wake.notify_one();
    }
}

fn run_writer(shared: &Shared, config: &JournalConfig, queue: &Receiver<Write>, handoff: &Handoff) {
    while let Ok(first) = queue.recv() {
        handoff.lock().applying = true;
        let mut batch = vec![first];
        let (mut events, mut bytes) = (batch[0].events.len(), batch[0].bytes);
        while events < config.batch_events_max && bytes < config.batch_bytes_max {
            match queue.try_recv() {
                Ok(write) => {
                    events += write.events.len();
                    bytes += write.bytes;
                    batch.push(write);
                }
                Err(_) => break,
            }
        }
        metrics::histogram!("journal_batch_events").record(events as f64);
        if let Err(error) = apply(shared, &mut batch) {
            // Recorded before the batch is handed on, so no sync can complete it `Ok`.
            shared.fail(&error);
        }
        let writes = batch.len();
        let mut state = handoff.lock();
        state.applying = false;
        state.batches_applied += 1;
        state.applied.extend(batch.into_iter().map(|write| write.done));
        // Alone: nobody else is queued, nothing older waits, and no sync is running. The
        // syncer is not told: with `applied` left empty, nothing it waits for has changed.
        if !state.syncing && state.applied.len() == writes && queue.is_empty() {
            let dones = std::mem::take(&mut state.applied);
            state.syncing = true;
            drop(state);
            sync_and_complete(shared, dones);
            handoff.lock().syncing = false;
        } else {
            let waiting = state.syncer_waiting;
            drop(state);
            if waiting {
                handoff.wake.notify_one();
            }
        }
    }
}

/// Writes one batch into sled's trees (not yet durable), in an order whose every prefix is a
/// consistent journal (sled recovers a prefix of its log): first the events, then the
/// snapshots that may cover them, then the removals of what those snapshots compact.
fn apply(shared: &Shared, batch: &mut [Write]) -> Result<(), JournalError> {
    shared.check()?;
    fail::fail_point!("journal-apply", |_| Err(JournalError::Io("failpoint journal-apply".into())));
    let (mut events, mut snapshots, mut removals) = Default::default();
    let (mut any_snapshot, mut any_removal) = (false, false);
    for i in 0..batch.len() {
        if let Some((from, to)) = batch[i].compact.take() {
            // The last event's chunks sort after its key: the range ends past them.
            let range = from..=chunks::last_key(&to);
            // Events queued earlier in this batch are not in the tree yet.
            let queued = batch[..i].iter().flat_map(|write| &write.events);
            for (key, record) in queued.filter(|(key, _)| range.contains(key)) {
                for key in chunks::keys(key, record.len()) {
                    sled::Batch::remove(&mut removals, key);
                }
                any_removal = true;
            }
            for key in shared.events.range(range).keys() {
                sled::Batch::remove(&mut removals, key?);
                any_removal = true;
            }
        }
    }
    for write in batch.iter_mut() {
        for (key, record) in write.events.drain(..) {
            for (key, value) in chunks::split(key, record) {
                sled::Batch::insert(&mut events, key, value);
            }
        }
        for (key, record) in write.snapshots.drain(..) {
            // The chunks of the snapshot this one replaces go, but for those it rewrites.
            let old_chunks = chunks::chunk_key(&key, 0)..=chunks::last_key(&key);
            for old in shared.snapshots.range(old_chunks).keys() {
                sled::Batch::remove(&mut snapshots, old?);
            }
            for (key, value) in chunks::split(key, record) {
                sled::Batch::insert(&mut snapshots, key, value);
            }
            any_snapshot = true;
        }
    }
    shared.events.apply_batch(events)?;
    if any_snapshot {
        shared.snapshots.apply_batch(snapshots)?;
    }
    if any_removal {
        shared.events.apply_batch(removals)?;
    }
    Ok(())
}

fn run_syncer(shared: &Shared, handoff: &Handoff) {
    loop {
        let mut state = handoff.lock();
        state.syncer_waiting = true;
        state = handoff
            .wake
            .wait_while(state, |s| s.applied.is_empty() && !s.writer_gone)
            .unwrap_or_else(PoisonError::into_inner);
        if state.applied.is_empty() {
            return;
        }
        if state.applying {
            let apply_wait_max = Duration::from_millis(limits::APPLY_WAIT_MS_MAX);
            let target = state.batches_applied + 1;
            state = handoff
                .wake
                .wait_timeout_while(state, apply_wait_max, |s| s.batches_applied < target)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        state.syncer_waiting = false;
        // The writer syncs only what it has just applied, with `applied` empty before, and
        // applies nothing meanwhile: `applied` cannot fill up while it syncs.
        assert!(!state.syncing, "the syncer found applied batches during the writer's sync");
        let dones = std::mem::take(&mut state.applied);
        state.syncing = true;
        drop(state);
        sync_and_complete(shared, dones);
        handoff.lock().syncing = false;
    }
}

/// Makes everything applied so far durable, then runs `dones` with the outcome.
fn sync_and_complete(shared: &Shared, dones: Vec<Done>) {
    let started = Instant::now();
    let result = shared.check().and_then(|()| shared.sync()).map_err(|e| match e {
        JournalError::Failed(_) => e,
        other => shared.fail(&other),
    });
    metrics::histogram!("journal_flush_seconds").record(started.elapsed().as_secs_f64());
    metrics::counter!("journal_flushes_total").increment(1);
    for done in dones {
        let result = result.clone();
        // A callback is the caller's code. Should it panic, this thread must go on: every
        // write behind it would otherwise wait forever.
        if std::panic::catch_unwind(AssertUnwindSafe(move || done(result))).is_err() {
            tracing::error!("a journal callback panicked");
        }
    }
}
