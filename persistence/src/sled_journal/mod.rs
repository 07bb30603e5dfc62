//! The journal on disk: sled 0.34 trees written by a two-stage group-commit pipeline.
//!
//! ```text
//! callers ──(encoded records)──► writer thread ──(applied batch)──► syncer thread ──► done()
//!                                 sled apply_batch                   flush() + fsync(db file)
//! ```
//!
//! - Callers build keys and frame records on their own threads; the writer only moves bytes.
//! - The writer drains whatever is queued (bounded by `batch_events_max`, `batch_bytes_max`)
//!   into one `apply_batch` per tree, then hands the batch's callbacks to the syncer and goes
//!   on applying the next batch while the syncer makes the previous ones durable.
//! - The syncer takes every applied batch waiting for it, calls sled's `flush()` once and then
//!   fsyncs sled's data file through its own handle: sled's flush uses `sync_file_range` on
//!   Linux, which does not survive a power loss (sled#1452). Only then does it run the
//!   callbacks. A lone writer pays one flush; many writers share one.
//! - Before the flush, the sync also fsyncs every other file sled wrote (`conf`, its snapshot
//!   files, and any blob file: a record over 128 KiB that sled keeps apart and never syncs)
//!   and the directories whose names changed ([`fsync::DirSync`]), so nothing the data file
//!   points at can be lost with the power. No blob is written in the first place: records are
//!   stored in chunks of at most `limits::VALUE_BYTES_MAX` ([`chunks`]).
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
//! syncer, and the syncer, once it has a batch to sync, waits at most `limits::APPLY_WAIT_MS_MAX` for
//! the writer. A panicking callback is logged and skipped, so it cannot stop either thread.
//!
//! Invariants:
//! - A callback runs `Ok` only after a flush and an fsync that began after its write was
//!   applied, so acknowledged means durable: callbacks enter `Handoff::applied` only once
//!   their batch is applied, and a sync begins only after it has taken them from there.
//! - Batches are applied and synced in submission order, and acknowledged in that order: one
//!   thread applies, at most one sync runs at a time (`syncing`, held until its callbacks have
//!   run), and each sync takes every applied batch the previous one left. Within a batch,
//!   events go first, then snapshots, then compactions, so a crash (sled recovers a prefix of
//!   its log) never keeps a snapshot without the events it covers, nor a compaction without
//!   its snapshot.
//! - After any failure the journal is failed for good: every later write and read errors. A
//!   batch whose apply failed is recorded as a failure first and then handed on like any other,
//!   so a sync (which checks for failure before it flushes) completes it with the error.

use std::fs::File;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};

use crate::chunks;
use crate::codec::Record;
use crate::fsync::{self, DirSync};
use crate::journal::{Done, Journal, JournalError, Loaded};
use crate::keys::{self, Seq, Stream};
use crate::limits;
use crate::recovery;

/// The journal schema this build writes and reads, kept in the `meta` tree.
pub const SCHEMA_VERSION: u32 = 1;

const SCHEMA_KEY: &[u8] = b"schema_version";

/// How a journal is opened.
#[derive(Debug, Clone)]
pub struct JournalConfig {
    pub path: PathBuf,
    /// Most events folded into one flush.
    pub batch_events_max: usize,
    /// Most bytes of records folded into one flush.
    pub batch_bytes_max: usize,
    /// sled's page cache, in bytes.
    pub cache_bytes: u64,
}

impl JournalConfig {
    pub fn new(path: impl Into<PathBuf>) -> JournalConfig {
        JournalConfig {
            path: path.into(),
            batch_events_max: 1_024,
            batch_bytes_max: 4 * 1024 * 1024,
            cache_bytes: 512 * 1024 * 1024,
        }
    }

    fn validate(&self) -> Result<(), JournalError> {
        let check = |name: &str, value: usize, max: usize| {
            if value == 0 || value > max {
                Err(JournalError::Config(format!("{name} = {value}, must be in 1..={max}")))
            } else {
                Ok(())
            }
        };
        check("batch_events_max", self.batch_events_max, limits::BATCH_EVENTS_MAX)?;
        check("batch_bytes_max", self.batch_bytes_max, limits::BATCH_BYTES_MAX)
    }
}

/// One queued write: key-value pairs for each tree, plus its callback.
struct Write {
    snapshots: Vec<(Vec<u8>, Vec<u8>)>,
    events: Vec<(Vec<u8>, Vec<u8>)>,
    /// Inclusive key range of events to remove (compaction).
    compact: Option<(Vec<u8>, Vec<u8>)>,
    bytes: usize,
    done: Done,
}

/// State shared by the handle, the writer and the syncer.
struct Shared {
    db: sled::Db,
    events: sled::Tree,
    snapshots: sled::Tree,
    /// sled's data file, opened again so that we can fsync it ourselves.
    data_file: File,
    /// Every other file sled writes, and the directories that name them.
    beside: Mutex<DirSync>,
    failed: AtomicBool,
    failure: Mutex<Option<Arc<str>>>,
}

impl Shared {
    fn fail(&self, error: &JournalError) -> JournalError {
        let mut failure = self.failure.lock().expect("failure lock");
        let reason = failure.get_or_insert_with(|| error.to_string().into()).clone();
        self.failed.store(true, Ordering::Release);
        metrics::counter!("journal_failures_total").increment(1);
        tracing::error!(error = %error, "journal failed; every later write and read will error");
        JournalError::Failed(reason)
    }

    fn check(&self) -> Result<(), JournalError> {
        if self.failed.load(Ordering::Acquire) {
            let reason = self.failure.lock().expect("failure lock").clone();
            return Err(JournalError::Failed(reason.unwrap_or_else(|| "unknown".into())));
        }
        Ok(())
    }

    fn sync(&self) -> Result<(), JournalError> {
        fail::fail_point!("journal-sync", |_| Err(JournalError::Io(
            "failpoint journal-sync".into()
        )));
        self.make_durable()
    }

    /// Everything sled has written so far, durable: the files beside the data file first
    /// (a blob must be on disk before the record that points at it), then the data file.
    fn make_durable(&self) -> Result<(), JournalError> {
        self.beside.lock().unwrap_or_else(PoisonError::into_inner).sync()?;
        self.db.flush()?;
        self.data_file.sync_data()?;
        Ok(())
    }
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

/// The durable journal on sled. Cheap to share behind an `Arc`; dropping the last handle
/// drains the queue, syncs and joins the threads.
pub struct SledJournal {
    shared: Arc<Shared>,
    queue: Mutex<Option<Sender<Write>>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    path: PathBuf,
}

impl SledJournal {
    /// Opens (or creates) a journal. Fails if another process holds the directory.
    pub fn open(config: JournalConfig) -> Result<SledJournal, JournalError> {
        config.validate()?;
        // The journal's directory is durable in its parent before anything is written in it.
        fsync::create_dir_all(&config.path)?;
        let db = sled::Config::new()
            .path(&config.path)
            .cache_capacity(config.cache_bytes)
            .mode(sled::Mode::HighThroughput)
            .flush_every_ms(None)
            .open()?;
        let meta = db.open_tree("meta")?;
        match meta.get(SCHEMA_KEY)? {
            Some(bytes) => {
                let found = u32::from_be_bytes(bytes.as_ref().try_into().map_err(|_| {
                    JournalError::Config("meta schema_version is not 4 bytes".into())
                })?);
                if found != SCHEMA_VERSION {
                    return Err(JournalError::Schema { found, expected: SCHEMA_VERSION });
                }
            }
            None => {
                meta.insert(SCHEMA_KEY, &SCHEMA_VERSION.to_be_bytes())?;
            }
        }
        let shared = Arc::new(Shared {
            events: db.open_tree("journal")?,
            snapshots: db.open_tree("snapshots")?,
            data_file: File::open(data_file_path(&config.path))?,
            beside: Mutex::new(DirSync::new(
                &[config.path.clone(), config.path.join("blobs")],
                &[data_file_path(&config.path)],
            )),
            db,
            failed: AtomicBool::new(false),
            failure: Mutex::new(None),
        });
        // What sled wrote while opening (its `conf`, the schema) is durable before any write.
        shared.make_durable()?;
        let (queue_tx, queue_rx) = crossbeam_channel::bounded(limits::QUEUE_WRITES_MAX);
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
                .spawn(move || run_writer(&shared, &config, &queue_rx, &exit.0))?
        };
        Ok(SledJournal {
            shared,
            queue: Mutex::new(Some(queue_tx)),
            threads: Mutex::new(vec![writer, syncer]),
            path: config.path,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes sled uses on disk.
    pub fn size_on_disk(&self) -> Result<u64, JournalError> {
        Ok(self.shared.db.size_on_disk()?)
    }

    fn submit(&self, write: Write) {
        if let Err(error) = self.shared.check() {
            return (write.done)(Err(error));
        }
        let sender = self.queue.lock().expect("queue lock").clone();
        match sender {
            // A full queue blocks the caller: the last line of back-pressure behind the
            // engine's per-shard bound on in-flight asks.
            Some(sender) => {
                if let Err(crossbeam_channel::SendError(write)) = sender.send(write) {
                    (write.done)(Err(JournalError::Closed));
                }
            }
            None => (write.done)(Err(JournalError::Closed)),
        }
    }

    /// Stops the threads after they have made everything queued durable.
    pub fn close(&self) -> Result<(), JournalError> {
        drop(self.queue.lock().expect("queue lock").take());
        for thread in self.threads.lock().expect("threads lock").drain(..) {
            let _ = thread.join();
        }
        self.shared.check()?;
        self.shared.sync()
    }
}

impl Drop for SledJournal {
    fn drop(&mut self) {
        if let Err(error) = self.close() {
            tracing::warn!(error = %error, "journal closed with an error");
        }
    }
}

fn data_file_path(dir: &Path) -> PathBuf {
    dir.join("db")
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

impl Journal for SledJournal {
    fn append(&self, stream: Stream<'_>, first_seq: Seq, events: Vec<Record>, done: Done) {
        if let Err(error) = crate::journal::check_record_sizes(&events) {
            return done(Err(error));
        }
        let prefix = keys::stream_prefix(stream);
        metrics::counter!("journal_events_total").increment(events.len() as u64);
        let mut bytes = 0;
        let events = (first_seq..)
            .zip(events)
            .map(|(seq, record)| {
                bytes += record.len();
                (keys::event_key(&prefix, seq), record.into_bytes())
            })
            .collect();
        self.submit(Write { snapshots: Vec::new(), events, compact: None, bytes, done });
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
                let bytes = write.record.len();
                let snapshots = vec![(write.key, write.record)];
                self.submit(Write {
                    snapshots,
                    events: Vec::new(),
                    compact: write.compact,
                    bytes,
                    done,
                });
            }
            Err(error) => done(Err(error)),
        }
    }

    fn barrier(&self, done: Done) {
        self.submit(Write {
            snapshots: Vec::new(),
            events: Vec::new(),
            compact: None,
            bytes: 0,
            done,
        });
    }

    fn load(&self, stream: Stream<'_>) -> Result<Loaded, JournalError> {
        self.shared.check()?;
        let prefix = keys::stream_prefix(stream);
        let snapshot = chunks::get(&self.shared.snapshots, &prefix)?;
        let after = match &snapshot {
            Some(record) => recovery::read_snapshot(stream, record)?.0,
            None => 0,
        };
        let range = keys::event_key(&prefix, after + 1)..=keys::event_key(&prefix, Seq::MAX);
        let records: Vec<(Seq, sled::IVec)> = chunks::records(self.shared.events.range(range))
            .map(|entry| {
                let (key, value) = entry?;
                let seq = keys::parse_event_key(&key).map(|(_, _, seq)| seq).ok_or_else(|| {
                    JournalError::Io(format!("unparsable journal key in {stream}").into())
                })?;
                Ok((seq, value))
            })
            .collect::<Result<_, JournalError>>()?;
        recovery::load_stream(
            stream,
            snapshot.as_deref(),
            records.iter().map(|(seq, value)| Ok((*seq, value.as_ref()))),
        )
    }

    fn replay_kind(
        &self,
        kind: u16,
        visit: &mut dyn FnMut(&str, Seq, &[u8]),
    ) -> Result<u64, JournalError> {
        self.shared.check()?;
        let entries = chunks::records(self.shared.events.scan_prefix(keys::kind_prefix(kind)));
        recovery::replay(kind, entries, visit)
    }
}
