//! Model-based test of the journal contract: random sequences of appends (with index rows),
//! index writes, snapshots (with and without compaction), restarts, loads and replays over a
//! tiny key space (2 kinds x 3 ids, 5 index rows) run against `SledJournal` on disk and
//! against `MemJournal`, and compared after every step with an in-memory model of what each
//! stream must read back, what `replay_kind` must visit, and what every index row and every
//! paged prefix scan of the index must read.
//!
//! The disk journal runs with its default settings, with a busy log (tiny segments, a
//! checkpoint after every write: the log rolls and is purged all the time), and with lazy
//! checkpoints; it restarts cleanly, or (lazy checkpoints) from a copy of its directory taken
//! while it runs (what a killed process leaves: the write-ahead log holds what sled had not
//! flushed).
//!
//! Every op waits for its writes before the next op begins, so each write is acknowledged,
//! hence durable, and must survive every later `Restart` unchanged. `AppendAndSnapshot`
//! submits two writes before waiting, so that they can share one batch of the disk journal's
//! writer (the case behind regression 01 in `faults.rs`).

use std::collections::BTreeMap;
use std::path::Path;

use bazaar_persistence::keys::stream_prefix;
use bazaar_persistence::limits::VALUE_BYTES_MAX;
use bazaar_persistence::memory::FlushPolicy;
use bazaar_persistence::testkit::lazy_checkpoints;
use bazaar_persistence::{
    Journal, JournalConfig, JournalExt, Loaded, MemJournal, Receipt, Record, Replayed, Seq,
    SledJournal, StoredEvent, Stream,
};
use proptest::collection::vec;
use proptest::prelude::*;

const KINDS: [u16; 2] = [1, 2];

/// Ids of different lengths, so that the key order (length before id) differs from the
/// lexicographic order of the ids.
const IDS: [&str; 3] = ["b", "aa", "c"];

const STREAMS: usize = KINDS.len() * IDS.len();

/// Index rows whose keys share prefixes, and one key a prefix of another.
const INDEX_KEYS: [&[u8]; 5] = [b"p/a", b"p/b", b"p/bb", b"q/a", b"pa"];

/// Prefixes scanned after every step.
const INDEX_PREFIXES: [&[u8]; 4] = [b"", b"p", b"p/b", b"q/"];

/// Index rows written: a key of `INDEX_KEYS`, and its new value (`None`: removed).
type Rows = Vec<(usize, Option<Vec<u8>>)>;

fn rows() -> impl Strategy<Value = Rows> {
    vec((0..INDEX_KEYS.len(), proptest::option::weighted(0.8, vec(any::<u8>(), 0..6))), 0..3)
}

fn index_writes(rows: &Rows) -> Vec<bazaar_persistence::IndexWrite> {
    rows.iter().map(|(key, value)| (INDEX_KEYS[*key].to_vec(), value.clone())).collect()
}

fn stream(index: usize) -> Stream<'static> {
    Stream::new(KINDS[index / IDS.len()], IDS[index % IDS.len()])
}

#[derive(Debug, Clone)]
enum Op {
    /// Appends these payloads after the stream's last seq, with these index rows.
    Append {
        stream: usize,
        events: Vec<Vec<u8>>,
        rows: Rows,
    },
    /// Writes index rows alone.
    WriteIndex {
        rows: Rows,
    },
    /// Snapshots `state` at the stream's last seq.
    Snapshot {
        stream: usize,
        state: Vec<u8>,
        compact: bool,
    },
    /// Submits an append and a snapshot at its last event without waiting in between, so that
    /// the disk journal may fold both into one writer batch.
    AppendAndSnapshot {
        stream: usize,
        events: Vec<Vec<u8>>,
        state: Vec<u8>,
        compact: bool,
    },
    Restart,
    Load {
        stream: usize,
    },
    ReplayKind {
        kind: usize,
    },
}

/// Mostly small payloads, and now and then one that the disk journal stores in chunks (around
/// and well over `VALUE_BYTES_MAX`).
fn payload() -> impl Strategy<Value = Vec<u8>> {
    let chunked = VALUE_BYTES_MAX - 16..3 * VALUE_BYTES_MAX;
    prop_oneof![
        8 => vec(any::<u8>(), 0..12),
        1 => (chunked, any::<u8>())
            .prop_map(|(len, seed)| (0..len).map(|i| (i as u8).wrapping_mul(31) ^ seed).collect()),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..STREAMS, vec(payload(), 0..4), rows())
            .prop_map(|(stream, events, rows)| Op::Append { stream, events, rows }),
        1 => rows().prop_map(|rows| Op::WriteIndex { rows }),
        2 => (0..STREAMS, payload(), any::<bool>())
            .prop_map(|(stream, state, compact)| Op::Snapshot { stream, state, compact }),
        2 => (0..STREAMS, vec(payload(), 1..4), payload(), any::<bool>()).prop_map(
            |(stream, events, state, compact)| {
                Op::AppendAndSnapshot { stream, events, state, compact }
            }
        ),
        1 => Just(Op::Restart),
        1 => (0..STREAMS).prop_map(|stream| Op::Load { stream }),
        1 => (0..KINDS.len()).prop_map(|kind| Op::ReplayKind { kind }),
    ]
}

/// What one stream holds.
#[derive(Debug, Clone, Default)]
struct StreamModel {
    snapshot: Option<(Seq, Vec<u8>)>,
    /// Every stored event: compaction removes those up to the snapshot, nothing else does.
    events: BTreeMap<Seq, Vec<u8>>,
    last_seq: Seq,
}

impl StreamModel {
    fn loaded(&self) -> Loaded {
        let after = self.snapshot.as_ref().map_or(0, |(seq, _)| *seq);
        let events = self
            .events
            .range(after + 1..)
            .map(|(seq, payload)| StoredEvent { seq: *seq, payload: payload.clone() })
            .collect();
        Loaded { snapshot: self.snapshot.clone(), events }
    }
}

#[derive(Debug, Default)]
struct Model {
    streams: [StreamModel; STREAMS],
    index: BTreeMap<Vec<u8>, Vec<u8>>,
}

/// One item as `replay_kind` visits it: a snapshot (`true`) or an event, its seq and bytes.
type Visited = (String, bool, Seq, Vec<u8>);

impl Model {
    fn append(&mut self, index: usize, events: &[Vec<u8>]) {
        let model = &mut self.streams[index];
        for payload in events {
            model.last_seq += 1;
            model.events.insert(model.last_seq, payload.clone());
        }
    }

    fn write_index(&mut self, rows: &Rows) {
        for (key, value) in index_writes(rows) {
            match value {
                Some(value) => self.index.insert(key, value),
                None => self.index.remove(&key),
            };
        }
    }

    fn snapshot(&mut self, index: usize, state: &[u8], compact: bool) {
        let model = &mut self.streams[index];
        model.snapshot = Some((model.last_seq, state.to_vec()));
        if compact {
            model.events = model.events.split_off(&(model.last_seq + 1));
        }
    }

    /// Every stream of one kind as `load` reads it, in key order (stream prefix, then seq).
    fn replay(&self, kind: u16) -> Vec<Visited> {
        let mut indices: Vec<usize> = (0..STREAMS).filter(|i| stream(*i).kind == kind).collect();
        indices.sort_by_key(|i| stream_prefix(stream(*i)));
        indices
            .into_iter()
            .flat_map(|i| {
                let id = stream(i).id.to_string();
                let loaded = self.streams[i].loaded();
                let snapshot = loaded.snapshot.map(|(seq, state)| (id.clone(), true, seq, state));
                let events =
                    loaded.events.into_iter().map(move |e| (id.clone(), false, e.seq, e.payload));
                snapshot.into_iter().chain(events)
            })
            .collect()
    }
}

/// A journal under test and how it restarts.
trait Subject {
    fn journal(&self) -> &dyn Journal;
    fn restart(&mut self);
    /// The events the journal holds of a stream, those its snapshot covers included.
    fn stored_seqs(&self, stream: Stream<'_>) -> Vec<Seq>;
}

/// The disk journal, its settings, and how a restart leaves the process.
struct OnDisk {
    dir: tempfile::TempDir,
    journal: Option<SledJournal>,
    settings: fn(&Path) -> JournalConfig,
    restart: Restart,
}

#[derive(Clone, Copy)]
enum Restart {
    /// Close (drain, checkpoint, join), then open again.
    Clean,
    /// Open a copy of the directory taken while the journal runs: what a killed process
    /// leaves (sled's unflushed writes are missing, the log has every acknowledged entry).
    /// Only with lazy checkpoints: a copy taken while a checkpoint deletes segments is no
    /// state a crash can leave (`checkpoint_crash.rs` and `tests/crash.rs` kill real
    /// processes during checkpoints).
    Crash,
}

impl OnDisk {
    fn new(settings: fn(&Path) -> JournalConfig, restart: Restart) -> OnDisk {
        let dir = tempfile::tempdir().expect("tempdir");
        let journal = SledJournal::open(settings(dir.path())).expect("open journal");
        OnDisk { dir, journal: Some(journal), settings, restart }
    }
}

/// Segments of a few entries, a checkpoint after every write: the log rolls and is purged all
/// the time.
fn busy_log(path: &Path) -> JournalConfig {
    JournalConfig {
        segment_bytes: 512,
        checkpoint_bytes: 1,
        checkpoint_interval_ms: 1,
        ..JournalConfig::new(path)
    }
}

impl Subject for OnDisk {
    fn journal(&self) -> &dyn Journal {
        self.journal.as_ref().expect("journal is open")
    }

    fn stored_seqs(&self, stream: Stream<'_>) -> Vec<Seq> {
        let journal = self.journal.as_ref().expect("journal is open");
        journal.stored_seqs(stream).expect("stored seqs")
    }

    fn restart(&mut self) {
        let dir = match self.restart {
            Restart::Clean => {
                // Drop closes the journal (drains, checkpoints, joins) and releases sled's
                // lock first.
                drop(self.journal.take());
                None
            }
            Restart::Crash => {
                // The copy is a crash image only if nothing writes while it is taken: only a
                // checkpoint writes sled, and none runs (lazy checkpoints); the log's writer
                // has acknowledged every write of the ops before.
                let image = tempfile::tempdir().expect("tempdir");
                bazaar_persistence::testkit::copy_dir(self.dir.path(), image.path()).expect("copy");
                drop(self.journal.take());
                Some(image)
            }
        };
        if let Some(dir) = dir {
            self.dir = dir;
        }
        // Large records go in chunks: sled never wrote a blob file (which it would not sync).
        let blobs = std::fs::read_dir(self.dir.path().join("blobs")).expect("sled's blobs dir");
        assert_eq!(blobs.count(), 0, "sled wrote a blob file");
        let journal = SledJournal::open((self.settings)(self.dir.path())).expect("reopen");
        self.journal = Some(journal);
    }
}

struct InMemory(MemJournal);

impl Subject for InMemory {
    fn journal(&self) -> &dyn Journal {
        &self.0
    }

    fn stored_seqs(&self, stream: Stream<'_>) -> Vec<Seq> {
        self.0.stored_seqs(stream)
    }

    fn restart(&mut self) {
        // With `FlushPolicy::Immediate` every acknowledged write is durable: nothing is lost.
        self.0.crash();
    }
}

fn replay(journal: &dyn Journal, kind: u16) -> Result<Vec<Visited>, TestCaseError> {
    let mut visited = Vec::new();
    let count = journal
        .replay_kind(kind, &mut |id, item| {
            visited.push(match item {
                Replayed::Snapshot { seq, state } => (id.to_string(), true, seq, state.to_vec()),
                Replayed::Event { seq, payload } => (id.to_string(), false, seq, payload.to_vec()),
            });
        })
        .map_err(|e| TestCaseError::fail(format!("replay_kind({kind}): {e}")))?;
    let events = visited.iter().filter(|(_, snapshot, ..)| !snapshot).count();
    prop_assert_eq!(count, events as u64, "replay_kind({}) count", kind);
    Ok(visited)
}

fn check_stream(
    journal: &dyn Journal,
    model: &Model,
    index: usize,
    step: usize,
) -> Result<(), TestCaseError> {
    let loaded = journal
        .load(stream(index))
        .map_err(|e| TestCaseError::fail(format!("step {step}: load {}: {e}", stream(index))))?;
    prop_assert_eq!(loaded, model.streams[index].loaded(), "step {}: load {}", step, stream(index));
    Ok(())
}

fn check_kind(
    journal: &dyn Journal,
    model: &Model,
    kind: usize,
    step: usize,
) -> Result<(), TestCaseError> {
    let kind = KINDS[kind];
    prop_assert_eq!(replay(journal, kind)?, model.replay(kind), "step {}: replay {}", step, kind);
    Ok(())
}

/// Every index row read alone, every prefix scanned in pages of two, and scans after a key
/// outside the prefix (before it: from its first row; past it: nothing).
fn check_index(journal: &dyn Journal, model: &Model, step: usize) -> Result<(), TestCaseError> {
    let fail = |e| TestCaseError::fail(format!("step {step}: index: {e}"));
    for key in INDEX_KEYS {
        let read = journal.index_get(key).map_err(fail)?;
        prop_assert_eq!(read.as_ref(), model.index.get(key), "step {}: index_get", step);
    }
    for prefix in INDEX_PREFIXES {
        let (mut scanned, mut after) = (Vec::new(), None::<Vec<u8>>);
        loop {
            let page = journal.index_scan(prefix, after.as_deref(), 2).map_err(fail)?;
            prop_assert!(page.len() <= 2, "step {}: a page longer than its limit", step);
            let Some((last, _)) = page.last() else { break };
            after = Some(last.clone());
            let last_page = page.len() < 2;
            scanned.extend(page);
            if last_page {
                // A short page is the last: nothing may follow it.
                let next = journal.index_scan(prefix, after.as_deref(), 2).map_err(fail)?;
                prop_assert!(next.is_empty(), "step {}: rows after a short page", step);
                break;
            }
        }
        let expected: Vec<_> = model
            .index
            .iter()
            .filter(|(key, _)| key.starts_with(prefix))
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect();
        let before = journal.index_scan(prefix, Some(b"("), 10).map_err(fail)?;
        prop_assert_eq!(&before, &expected, "step {}: index_scan {:?} after (", step, prefix);
        let past = journal.index_scan(prefix, Some(b"\xff"), 10).map_err(fail)?;
        prop_assert!(past.is_empty() || prefix.is_empty(), "step {}: rows past {:?}", step, prefix);
        prop_assert_eq!(scanned, expected, "step {}: index_scan {:?}", step, prefix);
    }
    Ok(())
}

fn record(payload: &[u8]) -> Record {
    Record::from_payload(payload)
}

fn records(payloads: &[Vec<u8>]) -> Vec<Record> {
    payloads.iter().map(|p| record(p)).collect()
}

fn run(subject: &mut dyn Subject, ops: &[Op]) -> Result<(), TestCaseError> {
    let mut model = Model::default();
    for (step, op) in ops.iter().enumerate() {
        let journal = subject.journal();
        match op {
            Op::Append { stream: index, events, rows } => {
                let first_seq = model.streams[*index].last_seq + 1;
                let (done, receipt) = Receipt::pair();
                let writes = index_writes(rows);
                journal.append_indexed(stream(*index), first_seq, records(events), writes, done);
                let result = receipt.wait();
                prop_assert!(result.is_ok(), "step {}: {:?}: {:?}", step, op, result);
                model.append(*index, events);
                model.write_index(rows);
            }
            Op::WriteIndex { rows } => {
                let (done, receipt) = Receipt::pair();
                journal.write_index(index_writes(rows), done);
                let result = receipt.wait();
                prop_assert!(result.is_ok(), "step {}: {:?}: {:?}", step, op, result);
                model.write_index(rows);
            }
            Op::Snapshot { stream: index, state, compact } => {
                let seq = model.streams[*index].last_seq;
                let compact = *compact;
                let receipt = journal.snapshot_receipt(stream(*index), seq, record(state), compact);
                let result = receipt.wait();
                prop_assert!(result.is_ok(), "step {}: {:?}: {:?}", step, op, result);
                model.snapshot(*index, state, compact);
            }
            Op::AppendAndSnapshot { stream: index, events, state, compact } => {
                let first_seq = model.streams[*index].last_seq + 1;
                let seq = first_seq + events.len() as Seq - 1;
                let compact = *compact;
                let appended = journal.append_receipt(stream(*index), first_seq, records(events));
                let snapshot =
                    journal.snapshot_receipt(stream(*index), seq, record(state), compact);
                let results = (appended.wait(), snapshot.wait());
                prop_assert!(
                    results.0.is_ok() && results.1.is_ok(),
                    "step {}: {:?}",
                    step,
                    results
                );
                model.append(*index, events);
                model.snapshot(*index, state, compact);
            }
            Op::Restart => subject.restart(),
            Op::Load { stream: index } => check_stream(journal, &model, *index, step)?,
            Op::ReplayKind { kind } => check_kind(journal, &model, *kind, step)?,
        }
        let journal = subject.journal();
        for index in 0..STREAMS {
            check_stream(journal, &model, index, step)?;
            // Compaction removes exactly what the snapshot covers, which no read shows.
            let stored: Vec<Seq> = model.streams[index].events.keys().copied().collect();
            let held = subject.stored_seqs(stream(index));
            prop_assert_eq!(held, stored, "step {}: stored events of {}", step, stream(index));
        }
        for kind in 0..KINDS.len() {
            check_kind(journal, &model, kind, step)?;
        }
        check_index(journal, &model, step)?;
    }
    Ok(())
}

fn config() -> ProptestConfig {
    // No regression files: a failure found here becomes a numbered regression test instead.
    ProptestConfig { cases: 32, failure_persistence: None, ..ProptestConfig::default() }
}

/// Found by the model: rows a later tail removed filled sled's whole page, so the page came
/// back empty and the scan ended before a row the tail had put after them.
#[test]
fn regression_02_rows_the_tail_removed_do_not_end_a_scan_early() {
    let append = |rows: Rows| Op::Append { stream: 0, events: Vec::new(), rows };
    let ops = [
        append(vec![(0, Some(Vec::new()))]),
        append(vec![(1, Some(Vec::new()))]),
        Op::Restart,
        append(vec![(2, Some(Vec::new())), (0, None)]),
        append(vec![(1, None)]),
    ];
    let settings = |path: &Path| JournalConfig::new(path);
    run(&mut OnDisk::new(settings, Restart::Clean), &ops).unwrap();
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn sled_journal_matches_the_model(ops in vec(op(), 1..40)) {
        run(&mut OnDisk::new(|path| JournalConfig::new(path), Restart::Clean), &ops)?;
    }

    #[test]
    fn sled_journal_with_a_busy_log_matches_the_model(ops in vec(op(), 1..40)) {
        run(&mut OnDisk::new(busy_log, Restart::Clean), &ops)?;
    }

    #[test]
    fn sled_journal_recovers_from_its_log_after_a_crash(ops in vec(op(), 1..40)) {
        run(&mut OnDisk::new(lazy_checkpoints, Restart::Crash), &ops)?;
    }

    #[test]
    fn mem_journal_matches_the_model(ops in vec(op(), 1..40)) {
        run(&mut InMemory(MemJournal::new(FlushPolicy::Immediate)), &ops)?;
    }
}
