//! Journal benchmark: durable appends per second of `SledJournal` against raw sled doing one
//! insert and one flush per event (`baseline_`), and one insert, flush and fsync per event
//! (`baseline_fsync_`, as durable as the journal), at 1, 8, 64 and 256 writer threads; then
//! recovery speed, `replay_kind` with decoding against a plain scan of the same events in sled
//! (one key per event), and
//! the speed of replaying the write-ahead log into sled when opening after a crash; last, the
//! journal's size on disk with compaction against the whole history (`compaction.rs`).
//!
//! `okaywal_` is okaywal 0.3, a write-ahead log crate with group commit, measured as the
//! candidate for the journal's log that we did not take (BENCHMARKS.md says why).
//!
//! The three contenders of a thread count take turns in slices of `SLICE` (quick 3 rounds,
//! full 15), each round in a rotated order, and each figure sums its contender's slices: the
//! machine may be shared, and a ratio of two runs made one after the other would measure the
//! neighbours' load as much as the journal.
//!
//! Figure names put the thread count before the unit (`journal_c64_appends_per_s`), since
//! `support::Report` wants every key to end in its unit.
//!
//! Every figure runs on a fresh directory under `target/bench/tmp` (a real disk: /tmp may be
//! tmpfs, where fsync costs nothing). `cargo bench --bench journal -- --quick` for a short run.

#[path = "journal/compaction.rs"]
mod compaction;
#[path = "support/mod.rs"]
mod support;

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Barrier, OnceLock};
use std::time::{Duration, Instant};

use bazaar_persistence::codec::{self, HEADER_BYTES};
use bazaar_persistence::keys::{event_key, stream_prefix};
use bazaar_persistence::{
    Journal, JournalConfig, JournalExt, Record, Replayed, SledJournal, Stream,
};
use hdrhistogram::Histogram;
use support::Report;

/// Payload bytes of every event.
const EVENT_BYTES: usize = 200;

/// Writer threads, each on its own stream.
const THREADS: [usize; 4] = [1, 8, 64, 256];

const KIND: u16 = 1;

/// Streams the recovery data is spread over.
const RECOVERY_STREAMS: usize = 1_000;

/// Events per append call while writing the recovery data.
const SETUP_EVENTS_PER_APPEND: usize = 100;

/// How long one contender runs before the next takes its turn.
const SLICE: Duration = Duration::from_millis(500);

fn main() {
    let mut report = Report::new("journal");
    let base = bench_dir();
    let rounds = report.size(3, 15);
    for threads in THREADS {
        let dirs = [fresh_dir(&base), fresh_dir(&base), fresh_dir(&base), fresh_dir(&base)];
        let contenders = [
            Contender::journal(&dirs[0], threads),
            Contender::baseline(&dirs[1], threads, false),
            Contender::baseline(&dirs[2], threads, true),
            Contender::okaywal(&dirs[3], threads),
        ];
        let [journal, baseline, baseline_fsync, okaywal] = take_turns(&contenders, threads, rounds);
        report.record(format!("journal_c{threads}_appends_per_s"), journal.per_s());
        report.record(format!("baseline_c{threads}_appends_per_s"), baseline.per_s());
        report.record(format!("baseline_fsync_c{threads}_appends_per_s"), baseline_fsync.per_s());
        report.record(format!("okaywal_c{threads}_appends_per_s"), okaywal.per_s());
        if threads == 64 {
            report.record("journal_c64_p99_ms", support::quantile_ms(&journal.latency, 0.99));
            report.record("baseline_c64_p99_ms", support::quantile_ms(&baseline.latency, 0.99));
        }
    }
    for threads in THREADS {
        for baseline in ["baseline", "baseline_fsync", "okaywal"] {
            report.ratio(
                &format!("journal_vs_{baseline}_c{threads}_ratio"),
                &format!("journal_c{threads}_appends_per_s"),
                &format!("{baseline}_c{threads}_appends_per_s"),
            );
        }
    }
    recovery(&mut report, &fresh_dir(&base));
    report.ratio("recovery_vs_scan_ratio", "recovery_events_per_s", "baseline_scan_per_s");
    compaction::compaction(&mut report, &base);
    report.finish();
}

fn bench_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    let dir = target.join("bench").join("tmp");
    std::fs::create_dir_all(&dir).expect("create bench tmp dir");
    eprintln!("  data under {}", dir.display());
    dir
}

fn fresh_dir(base: &Path) -> tempfile::TempDir {
    tempfile::tempdir_in(base).expect("bench tempdir")
}

/// Operations done by all threads, how long it took, and each operation's latency.
struct Run {
    operations: u64,
    elapsed: Duration,
    latency: Histogram<u64>,
}

impl Run {
    fn per_s(&self) -> f64 {
        self.operations as f64 / self.elapsed.as_secs_f64()
    }

    /// Two runs of the same contender as one.
    fn add(mut self, other: Run) -> Run {
        self.operations += other.operations;
        self.elapsed += other.elapsed;
        self.latency.add(other.latency).expect("histograms share bounds");
        self
    }
}

/// Runs `threads` OS threads, each repeating its operation until `duration` has passed.
/// `operation(thread)` builds thread `thread`'s operation.
fn run_threads<F: FnMut()>(
    threads: usize,
    duration: Duration,
    operation: impl Fn(usize) -> F + Sync,
) -> Run {
    let start_line = Barrier::new(threads + 1);
    let deadline = OnceLock::new();
    let (operations, latency, elapsed) = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|thread| {
                let (start_line, deadline, operation) = (&start_line, &deadline, &operation);
                scope.spawn(move || {
                    let mut operation = operation(thread);
                    let mut latency = support::histogram();
                    start_line.wait();
                    let deadline: Instant = *deadline.get().expect("deadline set before start");
                    let mut operations = 0u64;
                    while Instant::now() < deadline {
                        let started = Instant::now();
                        operation();
                        latency.saturating_record(started.elapsed().as_micros() as u64);
                        operations += 1;
                    }
                    (operations, latency)
                })
            })
            .collect();
        let started = Instant::now();
        deadline.set(started + duration).expect("deadline set once");
        start_line.wait();
        let mut operations = 0;
        let mut latency = support::histogram();
        for worker in workers {
            let (done, histogram) = worker.join().expect("bench thread");
            operations += done;
            latency.add(histogram).expect("histograms share bounds");
        }
        (operations, latency, started.elapsed())
    });
    Run { operations, elapsed, latency }
}

/// Runs each contender for `rounds` slices, in turns; returns each one's slices summed.
fn take_turns<const N: usize>(
    contenders: &[Contender; N],
    threads: usize,
    rounds: usize,
) -> [Run; N] {
    let mut runs: [Option<Run>; N] = std::array::from_fn(|_| None);
    for round in 0..rounds {
        for turn in 0..contenders.len() {
            let which = (round + turn) % contenders.len();
            let slice = contenders[which].slice(threads);
            runs[which] = Some(match runs[which].take() {
                Some(sum) => sum.add(slice),
                None => slice,
            });
        }
    }
    runs.map(|run| run.expect("at least one round"))
}

/// One way of appending, opened once per thread count and then run slice after slice. Each
/// thread appends to its own stream; `next_seq[thread]` carries on from slice to slice.
struct Contender {
    kind: ContenderKind,
    next_seq: Vec<AtomicU64>,
}

enum ContenderKind {
    /// Each append waits until the journal says it is durable.
    Journal(SledJournal),
    /// One insert into raw sled and one flush per event, as a journal without group commit.
    /// With `fsync`, sled's data file is also fsynced, as the journal does: sled's flush alone
    /// uses `sync_file_range`, which does not survive a power loss (sled#1452).
    Baseline { db: sled::Db, tree: sled::Tree, data_file: std::fs::File, fsync: bool },
    /// okaywal, a write-ahead log crate with group commit, considered for the journal's log:
    /// each append is one entry of one chunk, committed (durable) before the next.
    Okaywal(okaywal::WriteAheadLog),
}

impl Contender {
    fn journal(dir: &tempfile::TempDir, threads: usize) -> Contender {
        let journal = SledJournal::open(JournalConfig::new(dir.path())).expect("open journal");
        Contender::new(ContenderKind::Journal(journal), threads)
    }

    fn baseline(dir: &tempfile::TempDir, threads: usize, fsync: bool) -> Contender {
        let db = sled::Config::new().path(dir.path()).flush_every_ms(None).open().expect("sled");
        let tree = db.open_tree("journal").expect("journal tree");
        let data_file = std::fs::File::open(dir.path().join("db")).expect("sled's data file");
        Contender::new(ContenderKind::Baseline { db, tree, data_file, fsync }, threads)
    }

    fn okaywal(dir: &tempfile::TempDir, threads: usize) -> Contender {
        let log = okaywal::WriteAheadLog::recover(dir.path(), okaywal::LogVoid).expect("okaywal");
        Contender::new(ContenderKind::Okaywal(log), threads)
    }

    fn new(kind: ContenderKind, threads: usize) -> Contender {
        Contender { kind, next_seq: (0..threads).map(|_| AtomicU64::new(1)).collect() }
    }

    /// Appends from `threads` threads for one `SLICE`.
    fn slice(&self, threads: usize) -> Run {
        let record = Record::from_payload(&[7; EVENT_BYTES]);
        run_threads(threads, SLICE, |thread| {
            let (kind, next_seq, record) = (&self.kind, &self.next_seq[thread], record.clone());
            let id = format!("s{thread}");
            let prefix = stream_prefix(Stream::new(KIND, &id));
            move || {
                let seq = next_seq.fetch_add(1, Ordering::Relaxed);
                match kind {
                    ContenderKind::Journal(journal) => {
                        let events = vec![record.clone()];
                        let receipt = journal.append_receipt(Stream::new(KIND, &id), seq, events);
                        receipt.wait().expect("append");
                    }
                    ContenderKind::Baseline { db, tree, data_file, fsync } => {
                        tree.insert(event_key(&prefix, seq), &[7; EVENT_BYTES][..])
                            .expect("insert");
                        db.flush().expect("flush");
                        if *fsync {
                            data_file.sync_data().expect("fsync");
                        }
                    }
                    ContenderKind::Okaywal(log) => {
                        let mut entry = log.begin_entry().expect("begin entry");
                        entry.write_chunk(record.as_bytes()).expect("write chunk");
                        entry.commit().expect("commit");
                    }
                }
            }
        })
    }
}

/// Writes the recovery data, then times `replay_kind` on a reopened journal and a plain scan
/// of the same events in sled (one key per event) on a reopened sled, both decoding every
/// payload. The first read after the
/// writes is slower (sled pulls in and merges page fragments), so the two alternate which goes
/// first, and each keeps its best round.
fn recovery(report: &mut Report, dir: &tempfile::TempDir) {
    let events_total = report.size(200_000, 1_000_000);
    let started = Instant::now();
    let written = write_recovery_data(dir.path(), events_total);
    report.record("recovery_setup_appends_per_s", written as f64 / started.elapsed().as_secs_f64());
    let (mut replay_best, mut scan_best) = (0.0f64, 0.0f64);
    for round in 0..report.size(2, 3) {
        let replay_first = round % 2 == 0;
        if !replay_first {
            scan_best = scan_best.max(time_scan(dir.path(), written));
        }
        replay_best = replay_best.max(time_replay(dir.path(), written));
        if replay_first {
            scan_best = scan_best.max(time_scan(dir.path(), written));
        }
    }
    report.record("recovery_events_per_s", replay_best);
    report.record("baseline_scan_per_s", scan_best);
    log_replay(report, dir.path(), events_total / 4);
}

/// Opening after a crash replays the log's tail into sled: events per second of the whole
/// open (log replay and the checkpoint after it), on a copy of a directory taken while the
/// journal runs with no checkpoint since its start (a killed process's leftovers).
fn log_replay(report: &mut Report, dir: &Path, events_total: usize) {
    let lazy = bazaar_persistence::testkit::lazy_checkpoints;
    let live = dir.join("live");
    let journal = SledJournal::open(lazy(&live)).expect("open journal");
    let record = codec::encode(&vec![7u8; EVENT_BYTES]).expect("encode event");
    let ids: Vec<String> = (0..RECOVERY_STREAMS).map(|i| format!("log-{i:04}")).collect();
    let per_stream = events_total / RECOVERY_STREAMS;
    let receipts: Vec<_> = (1..=per_stream as u64)
        .flat_map(|seq| ids.iter().map(move |id| (id, seq)))
        .map(|(id, seq)| journal.append_receipt(Stream::new(KIND, id), seq, vec![record.clone()]))
        .collect();
    receipts.into_iter().for_each(|r| r.wait().expect("append"));
    // Every write acknowledged (in the log), none checkpointed into sled: the crash image.
    let image = dir.join("image");
    bazaar_persistence::testkit::copy_dir(&live, &image).expect("copy the crash image");
    drop(journal);
    let started = Instant::now();
    let reopened = SledJournal::open(lazy(&image)).expect("reopen after the crash");
    let elapsed = started.elapsed();
    let visited = reopened.replay_kind(KIND, &mut |_, _| {}).expect("replay");
    assert_eq!(visited, (per_stream * RECOVERY_STREAMS) as u64, "every event is back");
    report.record("log_replay_events_per_s", visited as f64 / elapsed.as_secs_f64());
}

/// Writes `events_total` events over `RECOVERY_STREAMS` streams; returns how many it wrote.
fn write_recovery_data(dir: &Path, events_total: usize) -> u64 {
    let per_stream = events_total / RECOVERY_STREAMS;
    let record = codec::encode(&vec![7u8; EVENT_BYTES]).expect("encode event");
    let ids: Vec<String> = (0..RECOVERY_STREAMS).map(|i| format!("stream-{i:04}")).collect();
    let journal = SledJournal::open(JournalConfig::new(dir)).expect("open journal");
    let mut receipts = Vec::new();
    for first in (1..=per_stream).step_by(SETUP_EVENTS_PER_APPEND) {
        let count = SETUP_EVENTS_PER_APPEND.min(per_stream + 1 - first);
        for id in &ids {
            let events = vec![record.clone(); count];
            receipts.push(journal.append_receipt(Stream::new(KIND, id), first as u64, events));
        }
    }
    receipts.into_iter().for_each(|r| r.wait().expect("append"));
    write_baseline_tree(&dir.join(BASELINE_DIR), &ids, per_stream as u64, &record);
    (per_stream * RECOVERY_STREAMS) as u64
}

/// Where the recovery baseline keeps the same events in plain sled, one key per event.
const BASELINE_DIR: &str = "baseline";

/// The same events as the journal's, in plain sled under the same keys, one key per event:
/// what a store that hands each event to sled as it comes leaves (the journal stores runs of
/// events under one key).
fn write_baseline_tree(dir: &Path, ids: &[String], per_stream: u64, record: &Record) {
    let db = sled::Config::new().path(dir).flush_every_ms(None).open().expect("open sled");
    let tree = db.open_tree("journal").expect("journal tree");
    for id in ids {
        let prefix = stream_prefix(Stream::new(KIND, id));
        // Key by key, as the journal writes sled: a batch would switch this process's sled
        // to its global lock (`sled_journal/apply.rs`).
        for seq in 1..=per_stream {
            tree.insert(event_key(&prefix, seq), record.as_bytes()).expect("baseline insert");
        }
    }
    db.flush().expect("flush the baseline");
}

/// Events per second of `replay_kind` on a freshly opened journal, decoding every payload.
fn time_replay(dir: &Path, written: u64) -> f64 {
    let journal = SledJournal::open(JournalConfig::new(dir)).expect("reopen journal");
    let mut bytes = 0usize;
    let started = Instant::now();
    let visited = journal
        .replay_kind(KIND, &mut |_, item| {
            if let Replayed::Event { payload, .. } = item {
                bytes += codec::decode_payload::<Vec<u8>>(payload).expect("decode").len();
            }
        })
        .expect("replay");
    let elapsed = started.elapsed();
    black_box(bytes);
    assert_eq!(visited, written, "replay visits every event");
    visited as f64 / elapsed.as_secs_f64()
}

/// Events per second of a plain scan of the baseline tree on a freshly opened sled, decoding
/// every payload after its header (no checksum).
fn time_scan(dir: &Path, written: u64) -> f64 {
    let dir = dir.join(BASELINE_DIR);
    let db = sled::Config::new().path(dir).flush_every_ms(None).open().expect("open sled");
    let tree = db.open_tree("journal").expect("journal tree");
    let mut scanned = 0u64;
    let mut bytes = 0usize;
    let started = Instant::now();
    for entry in tree.iter() {
        let (_, value) = entry.expect("scan");
        bytes += codec::decode_payload::<Vec<u8>>(&value[HEADER_BYTES..]).expect("decode").len();
        scanned += 1;
    }
    let elapsed = started.elapsed();
    black_box(bytes);
    assert_eq!(scanned, written, "scan visits every event");
    scanned as f64 / elapsed.as_secs_f64()
}
