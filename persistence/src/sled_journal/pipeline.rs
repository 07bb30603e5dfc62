//! The journal's two threads: the writer acknowledges, the checkpointer puts the tail into
//! sled, makes it durable and lets the log go.
//!
//! ```text
//! callers ─(payloads)─► writer ──► log append + fdatasync ──► tail ──► done(Ok)
//!                                                               │
//!                        checkpointer ◄──(freeze the tail)──────┘
//!                          sled write of the frozen tail, flush + fsync,
//!                          record the position, purge the log, drop the frozen tail
//! ```
//!
//! - The writer drains whatever is queued (bounded by `batch_events_max`, `batch_bytes_max`)
//!   into one append and one `fdatasync`: a lone appender pays one sync, many share one.
//!   Callers encoded their payloads on their own threads; the writer numbers them, and adds
//!   the durable group to the tail before any of its callbacks runs, so a read that begins
//!   after an acknowledgement finds the write ([`Tails::read`]) and nothing that is not
//!   durable.
//! - The checkpointer runs every `checkpoint_interval_ms`, sooner once the tail holds
//!   `checkpoint_bytes` or a caller asks ([`Tails::wait_checkpoint`]), and at shutdown. It
//!   freezes the tail (a new one takes the writer's next groups), writes it into sled, makes
//!   sled durable, records the frozen tail's last index and purges the log up to it. Readers
//!   see the frozen tail until sled holds it durably.
//! - The writer waits while the tail holds `TAIL_CHECKPOINTS_MAX` times `checkpoint_bytes`
//!   and a checkpoint is running: sled's pace bounds the memory the log may run ahead by.
//! - After any failure the journal is failed for good (`Shared::fail`); the writer completes
//!   every later callback with the error.

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;

use super::ops::Ops;
use super::store;
use super::tail::{Tail, TailRead};
use super::{JournalConfig, Shared, Write};
use crate::journal::{Done, JournalError};
use crate::limits;
use crate::wal::{self, Purger, Wal, frame};

/// The tail of acknowledged writes sled does not hold yet, and how far checkpoints have come.
#[derive(Default)]
pub(super) struct Tails {
    state: Mutex<TailsState>,
    /// Wakes the checkpointer.
    due: Condvar,
    /// Wakes whoever waits for a checkpoint to end: callers, and the writer held back.
    ended: Condvar,
}

#[derive(Default)]
struct TailsState {
    active: Tail,
    /// The tail a running checkpoint is writing into sled.
    frozen: Option<Arc<Tail>>,
    /// The last entry acknowledged durable.
    durable: u64,
    /// The last entry a completed checkpoint covers.
    checkpointed: u64,
    /// The last entry a caller waits to see checkpointed.
    requested: u64,
    writer_gone: bool,
    checkpointer_gone: bool,
}

impl TailsState {
    /// Sets the gauge of the bytes sled does not hold yet: the active tail's and the frozen's.
    fn report_bytes(&self) {
        let frozen = self.frozen.as_ref().map_or(0, |frozen| frozen.bytes);
        metrics::gauge!("journal_tail_bytes").set((self.active.bytes + frozen) as f64);
    }
}

impl Tails {
    fn lock(&self) -> MutexGuard<'_, TailsState> {
        // Every critical section only moves values: a panic leaves no half-made state.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Log, tail and sled all at `index`: what recovery leaves, before any thread starts.
    pub fn start_at(&self, index: u64) {
        let mut state = self.lock();
        state.durable = index;
        state.checkpointed = index;
    }

    /// What the tail holds of the stream at `prefix`: the frozen tail's, then the active's.
    pub fn read(&self, prefix: &[u8]) -> TailRead {
        self.read_with(|tail, read| tail.read_into(prefix, read))
    }

    /// What the tail holds of every stream of `kind`, by stream prefix.
    pub fn read_kind(&self, kind: u16) -> BTreeMap<Vec<u8>, TailRead> {
        self.read_with(|tail, read| tail.read_kind_into(kind, read))
    }

    /// What the tail holds of the index rows in `range`, and the last entry checkpointed
    /// when it was copied (it changes exactly when a frozen tail, now in sled, is dropped).
    pub fn read_index(
        &self,
        range: (std::ops::Bound<&[u8]>, std::ops::Bound<&[u8]>),
    ) -> (super::tail::IndexRead, u64) {
        let state = self.lock();
        let mut read = super::tail::IndexRead::default();
        if let Some(frozen) = &state.frozen {
            frozen.read_index_into(range, &mut read);
        }
        state.active.read_index_into(range, &mut read);
        (read, state.checkpointed)
    }

    /// The tail's last write of the index row at `key` (`Some(None)`: removed), the active
    /// tail's over the frozen one's; `None` when no tail wrote it.
    pub fn index_row(&self, key: &[u8]) -> Option<Option<Vec<u8>>> {
        let state = self.lock();
        let newest = state.active.index.get(key);
        newest.or_else(|| state.frozen.as_ref()?.index.get(key)).cloned()
    }

    /// The last entry a completed checkpoint covers.
    pub fn checkpointed(&self) -> u64 {
        self.lock().checkpointed
    }

    /// Copies out of the frozen tail, then the active one, with `read_into`.
    fn read_with<T: Default>(&self, read_into: impl Fn(&Tail, &mut T)) -> T {
        let state = self.lock();
        let mut read = T::default();
        if let Some(frozen) = &state.frozen {
            read_into(frozen, &mut read);
        }
        read_into(&state.active, &mut read);
        read
    }

    /// Waits until a checkpoint covers every write acknowledged before this call: sled then
    /// holds them durably.
    pub fn wait_checkpoint(&self, shared: &Shared) -> Result<(), JournalError> {
        let mut state = self.lock();
        let target = state.durable;
        if state.checkpointed >= target {
            return Ok(());
        }
        state.requested = state.requested.max(target);
        self.due.notify_one();
        while state.checkpointed < target && !state.checkpointer_gone {
            shared.check()?;
            state = self.wait_ended(state);
        }
        drop(state);
        shared.check()?;
        match self.lock().checkpointed >= target {
            true => Ok(()),
            false => Err(JournalError::Closed),
        }
    }

    fn wait_ended<'a>(&self, state: MutexGuard<'a, TailsState>) -> MutexGuard<'a, TailsState> {
        self.ended
            .wait_timeout(state, Duration::from_millis(10))
            .unwrap_or_else(PoisonError::into_inner)
            .0
    }
}

/// Starts the checkpointer and the writer, which appends what arrives on `queue` until every
/// sender is gone. Returned in the order to join them.
pub(super) fn start(
    shared: &Arc<Shared>,
    config: &JournalConfig,
    wal: Wal,
    queue: Receiver<Write>,
) -> Result<Vec<JoinHandle<()>>, JournalError> {
    let checkpointer = {
        let (shared, config, purger) = (shared.clone(), config.clone(), wal.purger());
        let exit = CheckpointerExit(shared.clone());
        spawn("journal-checkpointer", move || {
            run_checkpointer(&shared, &config, &purger);
            drop(exit);
        })?
    };
    let writer = {
        let (shared, config) = (shared.clone(), config.clone());
        let exit = WriterExit(shared.clone());
        spawn("journal-writer", move || {
            run_writer(&shared, &config, wal, &queue);
            drop(exit);
        })?
    };
    Ok(vec![writer, checkpointer])
}

fn spawn(name: &str, run: impl FnOnce() + Send + 'static) -> Result<JoinHandle<()>, JournalError> {
    Ok(std::thread::Builder::new().name(name.into()).spawn(run)?)
}

/// Owned by the writer thread; however it ends, dropping this tells the checkpointer, which
/// then takes its last checkpoint and stops.
struct WriterExit(Arc<Shared>);

impl Drop for WriterExit {
    fn drop(&mut self) {
        let tails = &self.0.tails;
        tails.lock().writer_gone = true;
        tails.due.notify_one();
    }
}

/// Owned by the checkpointer thread; however it ends, dropping this tells whoever waits for
/// a checkpoint (callers, the writer held back). A panic fails the journal: nothing would
/// checkpoint again, so the tail would only grow.
struct CheckpointerExit(Arc<Shared>);

impl Drop for CheckpointerExit {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.fail(&JournalError::Io("the journal's checkpointer panicked".into()));
        }
        let tails = &self.0.tails;
        tails.lock().checkpointer_gone = true;
        tails.ended.notify_all();
    }
}

fn run_writer(shared: &Shared, config: &JournalConfig, mut wal: Wal, queue: &Receiver<Write>) {
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
        for write in batch {
            if let Some(payload) = write.payload {
                let index = first_index + payloads.len() as u64;
                frame::push(&mut frames, term, index, &payload);
                payloads.push(payload.into_bytes());
            }
            dones.push(write.done);
        }
        let result = shared.check().and_then(|()| {
            append(&mut wal, &frames, payloads.len() as u64)
                .and_then(|()| add_to_tail(shared, config, first_index, &payloads))
                .map_err(|error| shared.fail(&error))
        });
        complete(dones, result);
        hold_back(shared, config);
    }
}

/// Appends and syncs a group's frames.
fn append(wal: &mut Wal, frames: &[u8], count: u64) -> Result<(), JournalError> {
    if count == 0 {
        return Ok(());
    }
    let started = Instant::now();
    let result = append_frames(wal, frames, count);
    metrics::histogram!("journal_flush_seconds").record(started.elapsed().as_secs_f64());
    metrics::counter!("journal_flushes_total").increment(1);
    result
}

fn append_frames(wal: &mut Wal, frames: &[u8], count: u64) -> Result<(), JournalError> {
    fail::fail_point!("journal-sync", |_| Err(JournalError::Io("failpoint journal-sync".into())));
    wal.append(frames, count)
}

/// Adds a durable group, whose first entry is `first`, to the tail.
fn add_to_tail(
    shared: &Shared,
    config: &JournalConfig,
    first: u64,
    payloads: &[Vec<u8>],
) -> Result<(), JournalError> {
    if payloads.is_empty() {
        return Ok(());
    }
    let parsed =
        payloads.iter().map(|payload| Ops::parse(payload)).collect::<Result<Vec<_>, _>>()?;
    let tails = &shared.tails;
    let mut state = tails.lock();
    for (i, ops) in parsed.iter().enumerate() {
        state.active.add(first + i as u64, ops)?;
    }
    state.durable = first + payloads.len() as u64 - 1;
    let due = state.active.bytes >= config.checkpoint_bytes;
    state.report_bytes();
    drop(state);
    if due {
        tails.due.notify_one();
    }
    Ok(())
}

/// Waits while the tail is over its bound and a checkpoint runs that would relieve it.
fn hold_back(shared: &Shared, config: &JournalConfig) {
    let tails = &shared.tails;
    let bound = config.checkpoint_bytes.saturating_mul(limits::TAIL_CHECKPOINTS_MAX);
    let mut state = tails.lock();
    while state.active.bytes >= bound && !state.checkpointer_gone && shared.check().is_ok() {
        tails.due.notify_one();
        state = tails.wait_ended(state);
    }
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

fn run_checkpointer(shared: &Shared, config: &JournalConfig, purger: &Purger) {
    let tails = &shared.tails;
    let interval = Duration::from_millis(config.checkpoint_interval_ms);
    loop {
        let mut state = tails.lock();
        state = tails
            .due
            .wait_timeout_while(state, interval, |s| {
                let wanted =
                    s.active.bytes >= config.checkpoint_bytes || s.requested > s.checkpointed;
                !s.writer_gone && (!wanted || shared.check().is_err())
            })
            .unwrap_or_else(PoisonError::into_inner)
            .0;
        let last = state.writer_gone;
        let frozen = (!state.active.is_empty() && shared.check().is_ok()).then(|| {
            let frozen = Arc::new(std::mem::take(&mut state.active));
            state.frozen = Some(frozen.clone());
            frozen
        });
        drop(state);
        if let Some(frozen) = frozen {
            match checkpoint(shared, purger, &frozen) {
                Ok(()) => {
                    let mut state = tails.lock();
                    state.frozen = None;
                    state.checkpointed = frozen.last_index;
                    state.report_bytes();
                }
                Err(error) => {
                    shared.fail(&error);
                }
            }
        }
        tails.ended.notify_all();
        if last {
            return;
        }
    }
}

/// Writes `tail` into sled, makes sled durable, records the tail's last index as the
/// checkpoint and deletes the log segments it covers.
pub(super) fn checkpoint(
    shared: &Shared,
    purger: &Purger,
    tail: &Tail,
) -> Result<(), JournalError> {
    let started = Instant::now();
    store::write_tail(&shared.trees, tail, &shared.stripes)?;
    shared.make_durable()?;
    fail::fail_point!("checkpoint-after-flush", |_| Err(JournalError::Io(
        "failpoint checkpoint-after-flush".into()
    )));
    wal::save_checkpoint(&shared.wal_dir, tail.last_index)?;
    fail::fail_point!("checkpoint-after-record", |_| Err(JournalError::Io(
        "failpoint checkpoint-after-record".into()
    )));
    purger.purge(tail.last_index)?;
    metrics::histogram!("journal_checkpoint_seconds").record(started.elapsed().as_secs_f64());
    Ok(())
}
