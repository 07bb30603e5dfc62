//! The journal on disk: a write-ahead log acknowledges, sled materializes at checkpoints.
//!
//! ```text
//! callers ──(payloads)──► writer ──► log append + fdatasync ──► tail ──► done(Ok)
//!                                                                 └──► checkpointer: sled write
//!                                                                      of the tail as runs,
//!                                                                      flush + fsync, position,
//!                                                                      purge
//! ```
//!
//! This module is the handle: it opens sled, replays the log's tail into it, holds what the
//! handle and the threads share (`Shared`: the trees, the files a checkpoint makes durable,
//! the tail of writes sled does not hold yet, the failure that sticks), queues writes and
//! reads streams back from the tail and sled. The threads are in `pipeline`; a write's
//! payload is in `ops`, the tail in `tail`, the layout of sled's trees in `store`; the log
//! itself is [`crate::wal`].
//!
//! sled keeps what it is good at: the per-entity streams (`kind | id | seq`, many events to a
//! value) and snapshots, the keys recovery and activation read. It is written only by
//! checkpoints, so sled's own work (its tree, its log, its IO threads) is paid once per
//! stream and checkpoint, not once per event. Its own flush is never on the
//! acknowledgement path: a checkpoint (`Shared::make_durable`) first fsyncs every other file
//! sled wrote (`conf`, its snapshot files, and any blob file: a record over 128 KiB that sled
//! keeps apart and never syncs) and the directories whose names changed ([`fsync::DirSync`]),
//! then calls sled's `flush()` and fsyncs sled's data file through its own handle: sled's
//! flush uses `sync_file_range` on Linux, which does not survive a power loss (sled#1452). No
//! blob is written in the first place: values are at most `limits::VALUE_BYTES_MAX`
//! ([`chunks`]).
//!
//! Invariants:
//! - A callback runs `Ok` only after its entry, and every entry before it, is in the log and
//!   `fdatasync` returned, and the entry is in the tail.
//! - A read sees every write acknowledged before it began (in the tail, or in sled once a
//!   checkpoint moved it there) and nothing that was not acknowledged (only durable groups
//!   reach the tail).
//! - Opening replays every entry after the checkpoint into sled, then checkpoints, before
//!   anything is read or written: the log is the truth, sled a copy of it made durable.
//! - After any failure the journal is failed for good: every later write and read errors.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use crossbeam_channel::Sender;

use crate::chunks;
use crate::codec::Record;
use crate::fsync::{self, DirSync};
use crate::journal::{Done, IndexRow, IndexWrite, Journal, JournalError, Loaded, Replayed};
use crate::keys::{self, Seq, Stream};
use crate::limits;
use crate::recovery;
use crate::wal::{Payload, Wal};

mod apply;
mod index;
#[cfg(feature = "testkit")]
mod inspect;
mod ops;
mod pipeline;
mod store;
mod tail;

use apply::Stripes;
use ops::{Ops, OpsWriter};
use pipeline::Tails;
use tail::Tail;

/// The journal schema this build writes, kept in the `meta` tree. Version 2 stores runs of
/// events under one key (`store.rs`), which a build of version 1 would misread as torn
/// records; a journal of version 1 (one event per key) reads as runs of one. Version 3 keeps
/// the index (rows written with the events): a build of version 2 would write events without
/// their rows, leaving the index stale. Version 4 compacts by default, so a stream may begin
/// with a snapshot and no event before it: a build of version 3 folds a kind from its events
/// alone (`replay_kind` visited no snapshot) and would build its read models from the middle
/// of such streams. Version 5 holds what the domain records since issue 12's fewer asks:
/// unfinished checkouts as index rows (no longer on a worklist) and a saga outcome a build of
/// version 4 cannot decode, so such a build would leave those checkouts unresumed. Opening an
/// older journal stamps it 5, and an older build then refuses it.
pub const SCHEMA_VERSION: u32 = 5;

/// Older schemas this build reads as they are.
const SCHEMA_VERSIONS_READ: [u32; 4] = [1, 2, 3, 4];

const SCHEMA_KEY: &[u8] = b"schema_version";

/// The write-ahead log's directory, inside the journal's.
const WAL_DIR: &str = "wal";

/// How a journal is opened. The knobs are `cluster.toml`'s `[journal]` section (the path is
/// not: the node derives it from its data directory).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JournalConfig {
    #[serde(skip)]
    pub path: PathBuf,
    /// Most events folded into one log append (one `fdatasync`).
    pub batch_events_max: usize,
    /// Most bytes of records folded into one log append.
    pub batch_bytes_max: usize,
    /// sled's page cache, in bytes.
    pub cache_bytes: u64,
    /// A log segment is closed, and the next begun, once it holds this many bytes.
    pub segment_bytes: u64,
    /// A checkpoint begins once the tail holds this many bytes of records.
    pub checkpoint_bytes: u64,
    /// ... or once this long has passed since the last.
    pub checkpoint_interval_ms: u64,
}

impl Default for JournalConfig {
    fn default() -> JournalConfig {
        JournalConfig::new(PathBuf::new())
    }
}

impl JournalConfig {
    pub fn new(path: impl Into<PathBuf>) -> JournalConfig {
        JournalConfig {
            path: path.into(),
            batch_events_max: 1_024,
            batch_bytes_max: 4 * 1024 * 1024,
            cache_bytes: 512 * 1024 * 1024,
            segment_bytes: 32 * 1024 * 1024,
            checkpoint_bytes: 32 * 1024 * 1024,
            checkpoint_interval_ms: 2_000,
        }
    }

    fn validate(&self) -> Result<(), JournalError> {
        let check = |name: &str, value: u64, max: u64| {
            if value == 0 || value > max {
                Err(JournalError::Config(format!("{name} = {value}, must be in 1..={max}")))
            } else {
                Ok(())
            }
        };
        let events = (self.batch_events_max as u64, limits::BATCH_EVENTS_MAX as u64);
        check("batch_events_max", events.0, events.1)?;
        let bytes = (self.batch_bytes_max as u64, limits::BATCH_BYTES_MAX as u64);
        check("batch_bytes_max", bytes.0, bytes.1)?;
        check("segment_bytes", self.segment_bytes, limits::SEGMENT_BYTES_MAX)?;
        check("checkpoint_bytes", self.checkpoint_bytes, limits::CHECKPOINT_BYTES_MAX)?;
        check(
            "checkpoint_interval_ms",
            self.checkpoint_interval_ms,
            limits::CHECKPOINT_INTERVAL_MS_MAX,
        )
    }
}

/// One queued write: its log payload (none for a barrier), how many events it holds, and its
/// callback.
struct Write {
    payload: Option<Payload>,
    events: usize,
    done: Done,
}

impl Write {
    fn bytes(&self) -> usize {
        self.payload.as_ref().map_or(0, Payload::len)
    }
}

/// State shared by the handle and the threads.
struct Shared {
    db: sled::Db,
    trees: store::Trees,
    /// sled's data file, opened again so that we can fsync it ourselves.
    data_file: File,
    /// Every other file sled writes, and the directories that name them.
    beside: Mutex<DirSync>,
    wal_dir: PathBuf,
    tails: Tails,
    stripes: Stripes,
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

    /// Everything sled has written so far, durable: the files beside the data file first
    /// (a blob must be on disk before the record that points at it), then the data file.
    fn make_durable(&self) -> Result<(), JournalError> {
        self.beside.lock().unwrap_or_else(PoisonError::into_inner).sync()?;
        self.db.flush()?;
        self.data_file.sync_data()?;
        Ok(())
    }
}

/// The durable journal: a write-ahead log in front of sled. Cheap to share behind an `Arc`;
/// dropping the last handle drains the queue, checkpoints and joins the threads.
pub struct SledJournal {
    shared: Arc<Shared>,
    queue: Mutex<Option<Sender<Write>>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    path: PathBuf,
}

impl SledJournal {
    /// Opens (or creates) a journal and replays its log. Fails if another process holds the
    /// directory.
    pub fn open(config: JournalConfig) -> Result<SledJournal, JournalError> {
        config.validate()?;
        // The journal's directory is durable in its parent before anything is written in it.
        fsync::create_dir_all(&config.path)?;
        let db = open_sled(&config)?;
        check_schema(&db)?;
        let shared = Arc::new(Shared {
            trees: store::Trees::open(&db)?,
            data_file: File::open(data_file_path(&config.path))?,
            beside: Mutex::new(DirSync::new(
                &[config.path.clone(), config.path.join("blobs")],
                &[data_file_path(&config.path)],
            )),
            wal_dir: config.path.join(WAL_DIR),
            db,
            tails: Tails::default(),
            stripes: Stripes::default(),
            failed: AtomicBool::new(false),
            failure: Mutex::new(None),
        });
        // What sled wrote while opening (its `conf`, the schema) is durable before any write.
        shared.make_durable()?;
        let wal = recover(&shared, &config)?;
        let (queue_tx, queue_rx) = crossbeam_channel::bounded(limits::QUEUE_WRITES_MAX);
        let threads = pipeline::start(&shared, &config, wal, queue_rx)?;
        Ok(SledJournal {
            shared,
            queue: Mutex::new(Some(queue_tx)),
            threads: Mutex::new(threads),
            path: config.path,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes sled and the log use on disk.
    pub fn size_on_disk(&self) -> Result<u64, JournalError> {
        let wal = std::fs::read_dir(&self.shared.wal_dir)?
            .filter_map(|entry| entry.ok()?.metadata().ok())
            .map(|metadata| metadata.len())
            .sum::<u64>();
        Ok(self.shared.db.size_on_disk()? + wal)
    }

    /// Waits until sled holds, durably, every write acknowledged before this call (the log no
    /// longer needs them).
    pub fn checkpoint(&self) -> Result<(), JournalError> {
        self.shared.check()?;
        self.shared.tails.wait_checkpoint(&self.shared)
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

    /// Stops the threads after everything queued is durable, applied and checkpointed.
    pub fn close(&self) -> Result<(), JournalError> {
        drop(self.queue.lock().expect("queue lock").take());
        for thread in self.threads.lock().expect("threads lock").drain(..) {
            let _ = thread.join();
        }
        if self.shared.check().is_err() {
            // No last checkpoint ran: sled's IO threads may still be writing what it buffered
            // (only acknowledged writes, which the log holds anyway). Waiting for them lets the
            // directory's lock go with the last handle, so the journal can be opened again.
            let _ = self.shared.db.flush();
        }
        self.shared.check()
    }
}

impl Drop for SledJournal {
    fn drop(&mut self) {
        if let Err(error) = self.close() {
            tracing::warn!(error = %error, "journal closed with an error");
        }
    }
}

/// Opens sled. A journal closed in this process a moment ago may still hold the directory's
/// lock (sled's IO threads let go of it after their last write, not before `close` returns),
/// so a lock refused is tried again for up to `limits::LOCK_WAIT_MS_MAX`; another process
/// holding it is refused then.
fn open_sled(config: &JournalConfig) -> Result<sled::Db, JournalError> {
    let deadline =
        std::time::Instant::now() + std::time::Duration::from_millis(limits::LOCK_WAIT_MS_MAX);
    loop {
        let opened = sled::Config::new()
            .path(&config.path)
            .cache_capacity(config.cache_bytes)
            .mode(sled::Mode::HighThroughput)
            .flush_every_ms(None)
            .open();
        match opened {
            // sled names the lock in the message only (its error kind is `Other`).
            Err(sled::Error::Io(error))
                if error.to_string().contains("could not acquire lock")
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            other => return Ok(other?),
        }
    }
}

fn data_file_path(dir: &Path) -> PathBuf {
    dir.join("db")
}

/// Refuses a journal written by a schema this build does not read; stamps a new one, and an
/// older one it reads, with [`SCHEMA_VERSION`] (made durable before any write).
fn check_schema(db: &sled::Db) -> Result<(), JournalError> {
    let meta = db.open_tree("meta")?;
    match meta.get(SCHEMA_KEY)? {
        Some(bytes) => {
            let found =
                u32::from_be_bytes(bytes.as_ref().try_into().map_err(|_| {
                    JournalError::Config("meta schema_version is not 4 bytes".into())
                })?);
            if SCHEMA_VERSIONS_READ.contains(&found) {
                meta.insert(SCHEMA_KEY, &SCHEMA_VERSION.to_be_bytes())?;
            } else if found != SCHEMA_VERSION {
                return Err(JournalError::Schema { found, expected: SCHEMA_VERSION });
            }
        }
        None => {
            meta.insert(SCHEMA_KEY, &SCHEMA_VERSION.to_be_bytes())?;
        }
    }
    Ok(())
}

/// Replays the log after its checkpoint into a tail, writing it into sled whenever it holds
/// `checkpoint_bytes`, then checkpoints what it replayed, so the log starts over from the
/// position reached.
fn recover(shared: &Shared, config: &JournalConfig) -> Result<Wal, JournalError> {
    let mut tail = Tail::default();
    let (wal, opened) = Wal::open(&shared.wal_dir, config.segment_bytes, &mut |frame| {
        tail.add(frame.index, &Ops::parse(frame.payload)?)?;
        if tail.bytes >= config.checkpoint_bytes {
            let replayed = std::mem::take(&mut tail);
            store::write_tail(&shared.trees, &replayed, &shared.stripes)?;
        }
        Ok(())
    })?;
    if opened.last_index > opened.checkpoint {
        tracing::info!(
            entries = opened.last_index - opened.checkpoint,
            "replayed the write-ahead log into sled"
        );
    }
    tail.last_index = opened.last_index;
    pipeline::checkpoint(shared, &wal.purger(), &tail)?;
    shared.tails.start_at(opened.last_index);
    Ok(wal)
}

impl Journal for SledJournal {
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
        metrics::counter!("journal_events_total").increment(events.len() as u64);
        let bytes = events.iter().map(Record::len).sum();
        let count = events.len();
        let keyed = events
            .iter()
            .enumerate()
            .map(|(i, record)| (keys::event_key(&prefix, first_seq + i as Seq), record.as_bytes()));
        let payload = OpsWriter::encode(keyed, &[], None, &index, bytes);
        self.submit(Write { payload: Some(Payload::new(payload)), events: count, done });
    }

    fn index_get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, JournalError> {
        index::get(&self.shared, key)
    }

    fn index_scan(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<IndexRow>, JournalError> {
        index::scan(&self.shared, prefix, after, limit)
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
                let snapshots = [(write.key, write.record)];
                let payload = OpsWriter::encode(
                    std::iter::empty(),
                    &snapshots,
                    write.compact.as_ref(),
                    &[],
                    bytes,
                );
                self.submit(Write { payload: Some(Payload::new(payload)), events: 0, done });
            }
            Err(error) => done(Err(error)),
        }
    }

    fn barrier(&self, done: Done) {
        self.submit(Write { payload: None, events: 0, done });
    }

    fn load(&self, stream: Stream<'_>) -> Result<Loaded, JournalError> {
        self.shared.check()?;
        let prefix = keys::stream_prefix(stream);
        // Held from the copy of the tail to the end of the sled reads, so no checkpoint writes
        // this stream meanwhile: what the tail holds is newer than what sled holds.
        let _stripe = self.shared.stripes.read(&prefix);
        let mut tail = self.shared.tails.read(&prefix);
        let snapshot = match tail.snapshot.take() {
            Some(record) => Some(recovery::read_snapshot(stream, &record)?),
            None => match chunks::get(&self.shared.trees.snapshots, &prefix)? {
                Some(record) => Some(recovery::read_snapshot(stream, &record)?),
                None => None,
            },
        };
        let after = snapshot.as_ref().map_or(0, |(seq, _)| *seq);
        let events = tail.over(store::read_stream(&self.shared.trees.events, &prefix, after)?);
        recovery::load_stream(
            stream,
            snapshot,
            events
                .iter()
                .filter(|(seq, _)| *seq > after)
                .map(|(seq, record)| Ok((*seq, record.as_slice()))),
        )
    }

    fn replay_kind(
        &self,
        kind: u16,
        visit: &mut dyn FnMut(&str, Replayed<'_>),
    ) -> Result<u64, JournalError> {
        self.shared.check()?;
        // Every stripe is held against checkpoints for the whole read, so `visit` must not
        // call back into the journal (the trait says so): a rebuild, not a live path.
        let _stripes = self.shared.stripes.read_all();
        store::replay_kind(&self.shared.trees, kind, self.shared.tails.read_kind(kind), visit)
    }
}
