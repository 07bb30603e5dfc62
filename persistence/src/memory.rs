//! The journal in memory, for deterministic tests and simulation of what stands on it.
//!
//! It keeps the [`Journal`](crate::Journal) contract with knobs the disk cannot offer:
//! writes stay pending until flushed (at once, every `latency`, or by hand), a flush can be
//! made to fail, and [`MemJournal::crash`] throws away every write not yet flushed, as a
//! power loss would.
//!
//! Invariants: reads see every applied write (as sled's do); `done(Ok)` runs only for writes a
//! flush made durable; a failed flush fails the journal until the next `crash` (a restart).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::codec::Record;
use crate::journal::{Done, IndexRow, IndexWrite, Journal, JournalError, Loaded, Replayed};
use crate::keys::{self, Seq, Stream};
use crate::recovery;

#[derive(Clone, Default)]
struct Store {
    events: BTreeMap<Vec<u8>, Vec<u8>>,
    snapshots: BTreeMap<Vec<u8>, Vec<u8>>,
    index: BTreeMap<Vec<u8>, Vec<u8>>,
}

enum Op {
    Events(Vec<(Vec<u8>, Vec<u8>)>, Vec<IndexWrite>),
    Snapshot { key: Vec<u8>, record: Vec<u8>, compact: Option<(Vec<u8>, Vec<u8>)> },
    Barrier,
}

impl Store {
    fn apply(&mut self, op: &Op) {
        match op {
            Op::Events(events, index) => {
                self.events.extend(events.iter().cloned());
                self.write_index(index);
            }
            Op::Snapshot { key, record, compact } => {
                self.snapshots.insert(key.clone(), record.clone());
                if let Some((from, to)) = compact {
                    let doomed: Vec<_> = self
                        .events
                        .range(from.clone()..=to.clone())
                        .map(|(k, _)| k.clone())
                        .collect();
                    doomed.iter().for_each(|k| drop(self.events.remove(k)));
                }
            }
            Op::Barrier => {}
        }
    }

    fn write_index(&mut self, rows: &[IndexWrite]) {
        for (key, value) in rows {
            match value {
                Some(value) => self.index.insert(key.clone(), value.clone()),
                None => self.index.remove(key),
            };
        }
    }
}

#[derive(Default)]
struct State {
    applied: Store,
    durable: Store,
    pending: Vec<(Op, Done)>,
    failed: Option<Arc<str>>,
    fail_next_flush: bool,
    flushes: u64,
}

/// When pending writes become durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlushPolicy {
    /// Every write is durable before `append` returns.
    Immediate,
    /// A background thread flushes every so often (a slow disk).
    Every(Duration),
    /// Only [`MemJournal::flush_pending`] flushes.
    Manual,
}

/// An in-memory journal; see the module doc.
pub struct MemJournal {
    state: Arc<Mutex<State>>,
    policy: FlushPolicy,
    stop: Arc<AtomicBool>,
    flusher: Option<JoinHandle<()>>,
}

impl Default for MemJournal {
    fn default() -> Self {
        MemJournal::new(FlushPolicy::Immediate)
    }
}

impl MemJournal {
    pub fn new(policy: FlushPolicy) -> MemJournal {
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let flusher = match policy {
            FlushPolicy::Every(latency) => {
                let (state, stop) = (state.clone(), stop.clone());
                Some(std::thread::spawn(move || {
                    while !stop.load(Ordering::Acquire) {
                        std::thread::sleep(latency);
                        flush(&state);
                    }
                }))
            }
            FlushPolicy::Immediate | FlushPolicy::Manual => None,
        };
        MemJournal { state, policy, stop, flusher }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().expect("mem journal lock")
    }

    /// The state, for a read: refused once the journal has failed.
    fn readable(&self) -> Result<MutexGuard<'_, State>, JournalError> {
        let state = self.lock();
        match &state.failed {
            Some(reason) => Err(JournalError::Failed(reason.clone())),
            None => Ok(state),
        }
    }

    /// Makes every pending write durable (or fails them all, if a fault was armed).
    pub fn flush_pending(&self) {
        flush(&self.state);
    }

    /// Arms a fault: the next flush fails, and the journal stays failed until `crash`.
    pub fn fail_next_flush(&self) {
        self.lock().fail_next_flush = true;
    }

    /// Simulates a crash and restart: pending writes are lost (their callers hear `Closed`),
    /// reads see only what was durable, and a failed journal works again.
    pub fn crash(&self) {
        let pending = {
            let mut state = self.lock();
            state.applied = state.durable.clone();
            state.failed = None;
            state.fail_next_flush = false;
            std::mem::take(&mut state.pending)
        };
        pending.into_iter().for_each(|(_, done)| done(Err(JournalError::Closed)));
    }

    /// Writes waiting for a flush.
    pub fn pending_writes(&self) -> usize {
        self.lock().pending.len()
    }

    /// Flushes done so far.
    pub fn flushes(&self) -> u64 {
        self.lock().flushes
    }

    /// The sequence numbers of the events the journal holds of `stream` (written ones, durable
    /// or not), those a snapshot covers included: what a compaction left, for tests of what
    /// removes events.
    pub fn stored_seqs(&self, stream: Stream<'_>) -> Vec<Seq> {
        let prefix = keys::stream_prefix(stream);
        let range = keys::event_key(&prefix, 0)..=keys::event_key(&prefix, Seq::MAX);
        let state = self.lock();
        let events =
            state.applied.events.range(range).filter_map(|(key, _)| keys::parse_event_key(key));
        events.map(|(_, _, seq)| seq).collect()
    }

    fn submit(&self, op: Op, done: Done) {
        {
            let mut state = self.lock();
            if let Some(reason) = &state.failed {
                let error = JournalError::Failed(reason.clone());
                drop(state);
                return done(Err(error));
            }
            state.applied.apply(&op);
            state.pending.push((op, done));
        }
        if self.policy == FlushPolicy::Immediate {
            self.flush_pending();
        }
    }
}

fn flush(state: &Mutex<State>) {
    let (pending, result) = {
        let mut state = state.lock().expect("mem journal lock");
        let pending = std::mem::take(&mut state.pending);
        if pending.is_empty() {
            return;
        }
        state.flushes += 1;
        let result = if let Some(reason) = &state.failed {
            Err(JournalError::Failed(reason.clone()))
        } else if std::mem::take(&mut state.fail_next_flush) {
            let reason: Arc<str> = "injected flush failure".into();
            state.failed = Some(reason.clone());
            Err(JournalError::Failed(reason))
        } else {
            pending.iter().for_each(|(op, _)| state.durable.apply(op));
            Ok(())
        };
        (pending, result)
    };
    pending.into_iter().for_each(|(_, done)| done(result.clone()));
}

impl Drop for MemJournal {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(flusher) = self.flusher.take() {
            let _ = flusher.join();
        }
    }
}

impl Journal for MemJournal {
    fn append_indexed(
        &self,
        stream: Stream<'_>,
        first_seq: Seq,
        events: Vec<Record>,
        index: Vec<IndexWrite>,
        done: Done,
    ) {
        if let Err(error) = crate::journal::check_write(&events, &index) {
            return done(Err(error));
        }
        let prefix = keys::stream_prefix(stream);
        let events = (first_seq..)
            .zip(events)
            .map(|(seq, r)| (keys::event_key(&prefix, seq), r.into_bytes()));
        self.submit(Op::Events(events.collect(), index), done);
    }

    fn index_get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, JournalError> {
        let state = self.readable()?;
        Ok(state.applied.index.get(key).cloned())
    }

    fn index_scan(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<IndexRow>, JournalError> {
        let state = self.readable()?;
        let Some(from) = crate::journal::scan_start(prefix, after) else { return Ok(Vec::new()) };
        Ok(state
            .applied
            .index
            .range::<[u8], _>((from, std::ops::Bound::Unbounded))
            .take_while(|(key, _)| key.starts_with(prefix))
            .take(limit)
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect())
    }

    fn save_snapshot(
        &self,
        stream: Stream<'_>,
        seq: Seq,
        state: Record,
        compact: bool,
        done: Done,
    ) {
        match recovery::snapshot_write(stream, seq, &state, compact) {
            Ok(write) => {
                let recovery::SnapshotWrite { key, record, compact } = write;
                self.submit(Op::Snapshot { key, record, compact }, done);
            }
            Err(error) => done(Err(error)),
        }
    }

    fn barrier(&self, done: Done) {
        self.submit(Op::Barrier, done);
    }

    fn load(&self, stream: Stream<'_>) -> Result<Loaded, JournalError> {
        let state = self.readable()?;
        let prefix = keys::stream_prefix(stream);
        let snapshot = match state.applied.snapshots.get(&prefix) {
            Some(record) => Some(recovery::read_snapshot(stream, record)?),
            None => None,
        };
        let after = snapshot.as_ref().map_or(0, |(seq, _)| *seq);
        let range = keys::event_key(&prefix, after + 1)..=keys::event_key(&prefix, Seq::MAX);
        let events = state.applied.events.range(range).map(|(key, value)| {
            let (_, _, seq) = keys::parse_event_key(key).expect("keys are written by this module");
            Ok((seq, value.as_slice()))
        });
        recovery::load_stream(stream, snapshot, events)
    }

    fn replay_kind(
        &self,
        kind: u16,
        visit: &mut dyn FnMut(&str, Replayed<'_>),
    ) -> Result<u64, JournalError> {
        let state = self.readable()?;
        let prefix = keys::kind_prefix(kind).to_vec();
        let mut streams = BTreeMap::<Vec<u8>, recovery::KindStream>::new();
        let of_kind = |(key, _): &(&Vec<u8>, &Vec<u8>)| key.starts_with(&prefix);
        for (key, record) in state.applied.events.range(prefix.clone()..).take_while(of_kind) {
            let (_, _, seq) = keys::parse_event_key(key).expect("keys are written by this module");
            let stream = streams.entry(key[..key.len() - 8].to_vec()).or_default();
            stream.events.push((seq, record.clone()));
        }
        for (key, record) in state.applied.snapshots.range(prefix.clone()..).take_while(of_kind) {
            streams.entry(key.clone()).or_default().snapshot = Some(record.clone());
        }
        let mut visited = 0;
        for (prefix, mut stream) in streams {
            stream.prefix = prefix;
            visited += recovery::replay_stream(kind, &stream, visit)?;
        }
        Ok(visited)
    }
}
