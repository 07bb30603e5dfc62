//! The journal on disk: sled 0.34 trees written by a two-stage group-commit pipeline.
//!
//! ```text
//! callers ──(encoded records)──► writer thread ──(applied batch)──► syncer thread ──► done()
//!                                 sled apply_batch                   flush() + fsync(db file)
//! ```
//!
//! This module is the handle: it opens sled and checks the schema, holds what the handle and
//! both threads share (`Shared`: the trees, the files a sync makes durable, the failure that
//! sticks), queues writes and reads streams back. The writer and the syncer, and how they
//! batch and hand over, are in `pipeline`.
//!
//! A sync (`Shared::sync`) makes everything sled has written so far durable. First it fsyncs
//! every other file sled wrote (`conf`, its snapshot files, and any blob file: a record over
//! 128 KiB that sled keeps apart and never syncs) and the directories whose names changed
//! ([`fsync::DirSync`]), so nothing the data file points at can be lost with the power. Then
//! it calls sled's `flush()` and fsyncs sled's data file through its own handle: sled's flush
//! uses `sync_file_range` on Linux, which does not survive a power loss (sled#1452). No blob
//! is written in the first place: records are stored in chunks of at most
//! `limits::VALUE_BYTES_MAX` ([`chunks`]).
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
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use crossbeam_channel::Sender;

use crate::chunks;
use crate::codec::Record;
use crate::fsync::{self, DirSync};
use crate::journal::{Done, Journal, JournalError, Loaded};
use crate::keys::{self, Seq, Stream};
use crate::limits;
use crate::recovery;

mod pipeline;

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
        let threads = pipeline::start(&shared, &config, queue_rx)?;
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
