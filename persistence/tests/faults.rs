//! Faults of the disk journal: failed syncs and checkpoints (failpoints) leave it failed for good;
//! a torn last record is dropped while a corrupt middle one is an error naming stream and seq;
//! a second open of a directory in use fails at once; a foreign schema version is refused.
//!
//! Failpoints are process-global and every `SledJournal` passes through them, so every test
//! here runs inside a `fail::FailScenario`, whose global lock runs them one at a time.

use std::sync::Mutex;
use std::sync::mpsc;
use std::time::Duration;

use bazaar_persistence::keys::{event_key, stream_prefix};
use bazaar_persistence::sled_journal::SCHEMA_VERSION;
use bazaar_persistence::{
    Journal, JournalConfig, JournalError, JournalExt, Loaded, Record, Replayed, Seq, SledJournal,
    Stream,
};
use fail::FailScenario;

const STREAM: Stream<'static> = Stream { kind: 1, id: "a" };
const OTHER: Stream<'static> = Stream { kind: 1, id: "b" };

fn open(dir: &tempfile::TempDir) -> SledJournal {
    SledJournal::open(JournalConfig::new(dir.path())).expect("open journal")
}

fn event(seq: Seq) -> Record {
    Record::from_payload(format!("event {seq}").as_bytes())
}

/// Appends events `from..=to` and waits until they are durable.
fn append(journal: &SledJournal, stream: Stream<'_>, from: Seq, to: Seq) {
    let events = (from..=to).map(event).collect();
    journal.append_receipt(stream, from, events).wait().expect("append");
}

fn seqs(loaded: &Loaded) -> Vec<Seq> {
    loaded.events.iter().map(|e| e.seq).collect()
}

fn replay(journal: &SledJournal, kind: u16) -> Result<Vec<(String, Seq)>, JournalError> {
    let mut visited = Vec::new();
    journal.replay_kind(kind, &mut |id, item| {
        if let Replayed::Event { seq, .. } = item {
            visited.push((id.to_string(), seq));
        }
    })?;
    Ok(visited)
}

/// Holds the next checkpoint inside its write into sled: the first receiver hears when it is
/// held, a send on the sender lets it go on.
fn hold_next_apply() -> (mpsc::Receiver<()>, mpsc::Sender<()>) {
    let (entered_tx, entered_rx) = mpsc::channel::<()>();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let hold = Mutex::new(Some((entered_tx, release_rx)));
    fail::cfg_callback("journal-apply", move || {
        if let Some((entered, release)) = hold.lock().expect("hold lock").take() {
            entered.send(()).expect("signal entered");
            release.recv().expect("wait for release");
        }
    })
    .expect("cfg failpoint");
    (entered_rx, release_tx)
}

fn assert_failed<T: std::fmt::Debug>(result: Result<T, JournalError>, what: &str, reason: &str) {
    match result {
        Err(JournalError::Failed(why)) => assert!(why.contains(reason), "{what}: {why}"),
        other => panic!("{what}: expected JournalError::Failed, got {other:?}"),
    }
}

/// Checks that the journal refuses every write and read, naming the first failure.
fn assert_sticky(journal: &SledJournal, next_seq: Seq, reason: &str) {
    let receipt = journal.append_receipt(STREAM, next_seq, vec![event(next_seq)]);
    assert_failed(receipt.wait(), "append after the failure", reason);
    let receipt = journal.append_receipt(OTHER, 1, vec![event(1)]);
    assert_failed(receipt.wait(), "append to another stream", reason);
    assert_failed(journal.barrier_receipt().wait(), "barrier", reason);
    assert_failed(journal.load(STREAM), "load", reason);
    assert_failed(journal.load(OTHER), "load of another stream", reason);
    assert_failed(replay(journal, STREAM.kind), "replay_kind", reason);
}

#[test]
fn failed_sync_fails_the_journal_for_good() {
    let scenario = FailScenario::setup();
    let dir = tempfile::tempdir().expect("tempdir");
    let journal = open(&dir);
    append(&journal, STREAM, 1, 2);

    fail::cfg("journal-sync", "return").expect("cfg failpoint");
    let result = journal.append_receipt(STREAM, 3, vec![event(3)]).wait();
    assert_failed(result, "append whose sync fails", "journal-sync");
    fail::remove("journal-sync");
    assert_sticky(&journal, 4, "journal-sync");

    // A restart recovers a prefix that holds everything acknowledged; the write whose sync
    // failed may or may not have reached the log's file.
    drop(journal);
    let journal = open(&dir);
    let recovered = seqs(&journal.load(STREAM).expect("load after restart"));
    assert!(recovered == [1, 2] || recovered == [1, 2, 3], "recovered {recovered:?}");
    assert_eq!(seqs(&journal.load(OTHER).expect("load after restart")), Vec::<Seq>::new());
    scenario.teardown();
}

#[test]
fn failed_apply_fails_the_journal_for_good_and_the_log_keeps_what_was_acknowledged() {
    let scenario = FailScenario::setup();
    let dir = tempfile::tempdir().expect("tempdir");
    let journal = open(&dir);
    append(&journal, STREAM, 1, 2);
    // In sled, so the failpoint meets only the next checkpoint.
    journal.checkpoint().expect("checkpoint");

    // Acknowledged once in the log; writing it into sled comes after, and fails.
    fail::cfg("journal-apply", "return").expect("cfg failpoint");
    journal.append_receipt(STREAM, 3, vec![event(3)]).wait().expect("acknowledged by the log");
    assert_failed(journal.checkpoint(), "checkpoint after a failed apply", "journal-apply");
    fail::remove("journal-apply");
    assert_sticky(&journal, 4, "journal-apply");

    // The restart replays the log into sled: everything acknowledged is there.
    drop(journal);
    let journal = open(&dir);
    assert_eq!(seqs(&journal.load(STREAM).expect("load after restart")), [1, 2, 3]);
    scenario.teardown();
}

// postmortem: the writer collected a compaction's keys from the tree before applying the batch,
// so events appended earlier in the same batch escaped the compaction and were replayed although
// a snapshot covered them (MemJournal removes them). Events and their compacting snapshot now
// meet in one tail, which a checkpoint writes at once.
#[test]
fn regression_01_compaction_removes_events_of_its_own_batch() {
    let scenario = FailScenario::setup();
    let dir = tempfile::tempdir().expect("tempdir");
    let journal = open(&dir);
    append(&journal, OTHER, 1, 1);
    append(&journal, STREAM, 1, 3);
    let snapshot = journal.snapshot_receipt(STREAM, 3, Record::from_payload(b"state"), true);
    snapshot.wait().expect("snapshot");

    for when in ["in the tail", "checkpointed", "after a restart"] {
        let loaded = journal.load(STREAM).expect("load");
        assert_eq!(loaded.snapshot, Some((3, b"state".to_vec())), "{when}");
        assert_eq!(seqs(&loaded), Vec::<Seq>::new(), "{when}");
        // Not only hidden by the snapshot: gone.
        assert_eq!(journal.stored_seqs(STREAM).expect("stored"), Vec::<Seq>::new(), "{when}");
        journal.checkpoint().expect("checkpoint");
    }
    // Only the other stream's event is left to replay.
    assert_eq!(replay(&journal, STREAM.kind).expect("replay"), [(OTHER.id.to_string(), 1)]);
    scenario.teardown();
}

/// A compaction reaches into sled: events a checkpoint stored before the snapshot go, and a
/// stored run of events that straddles the snapshot keeps only what follows it.
#[test]
fn a_compaction_removes_what_earlier_checkpoints_stored() {
    let scenario = FailScenario::setup();
    let dir = tempfile::tempdir().expect("tempdir");
    let journal = open(&dir);
    append(&journal, STREAM, 1, 2);
    journal.checkpoint().expect("checkpoint");
    append(&journal, STREAM, 3, 6);
    journal.checkpoint().expect("checkpoint");
    let snapshot = journal.snapshot_receipt(STREAM, 4, Record::from_payload(b"state"), true);
    snapshot.wait().expect("snapshot");
    journal.checkpoint().expect("checkpoint");
    drop(journal);

    let journal = open(&dir);
    let loaded = journal.load(STREAM).expect("load");
    assert_eq!(loaded.snapshot, Some((4, b"state".to_vec())));
    assert_eq!(seqs(&loaded), [5, 6]);
    assert_eq!(loaded.events[0].payload, event(5).payload());
    let visited = replay(&journal, STREAM.kind).expect("replay");
    assert_eq!(visited, [(STREAM.id.to_string(), 5), (STREAM.id.to_string(), 6)]);
    assert_eq!(journal.stored_seqs(STREAM).expect("stored"), [5, 6], "1 to 4 are gone");
    scenario.teardown();
}

/// A read sees acknowledged writes while a checkpoint is writing them into sled: from the
/// frozen tail, and from the tail that took its place for the writes after it.
#[test]
fn a_load_sees_acknowledged_writes_while_a_checkpoint_runs() {
    let scenario = FailScenario::setup();
    let dir = tempfile::tempdir().expect("tempdir");
    let journal = std::sync::Arc::new(open(&dir));
    append(&journal, STREAM, 1, 1);
    let (entered_rx, release_tx) = hold_next_apply();
    let checkpointing = journal.clone();
    let checkpoint = std::thread::spawn(move || checkpointing.checkpoint());
    entered_rx.recv().expect("the checkpoint holds the first write");

    append(&journal, STREAM, 2, 2);
    assert_eq!(seqs(&journal.load(STREAM).expect("load during the checkpoint")), [1, 2]);
    let untouched = Stream { kind: 2, id: "untouched" };
    assert_eq!(seqs(&journal.load(untouched).expect("load of another stream")), Vec::<Seq>::new());

    release_tx.send(()).expect("release the checkpoint");
    checkpoint.join().expect("checkpoint thread").expect("checkpoint");
    fail::remove("journal-apply");
    assert_eq!(seqs(&journal.load(STREAM).expect("load after the checkpoint")), [1, 2]);
    drop(std::sync::Arc::into_inner(journal).expect("last handle"));
    let journal = open(&dir);
    assert_eq!(seqs(&journal.load(STREAM).expect("load after a restart")), [1, 2]);
    scenario.teardown();
}

/// While a checkpoint runs, the writer stops once the tail holds `TAIL_CHECKPOINTS_MAX` times
/// `checkpoint_bytes`: the write that crossed the bound is acknowledged, the next one waits
/// until a checkpoint has taken the tail. So the tail's memory, and how far the log runs ahead
/// of sled, stay bounded however slow sled is.
#[test]
fn the_writer_waits_while_the_tail_is_full_and_a_checkpoint_runs() {
    let scenario = FailScenario::setup();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = JournalConfig {
        checkpoint_bytes: 1024,
        checkpoint_interval_ms: 3_600_000,
        ..JournalConfig::new(dir.path())
    };
    let journal = std::sync::Arc::new(SledJournal::open(config).expect("open journal"));
    append(&journal, OTHER, 1, 1);
    let (entered_rx, release_tx) = hold_next_apply();
    let checkpointing = journal.clone();
    let checkpoint = std::thread::spawn(move || checkpointing.checkpoint());
    entered_rx.recv().expect("the checkpoint is held in its sled write");

    let bound = 1024 * bazaar_persistence::limits::TAIL_CHECKPOINTS_MAX as usize;
    let record = Record::from_payload(&[7; 600]);
    let crossing = bound.div_ceil(record.len()) as Seq;
    for seq in 1..=crossing {
        let receipt = journal.append_receipt(STREAM, seq, vec![record.clone()]);
        receipt.wait().expect("acknowledged while the tail is under its bound");
    }
    let (acked_tx, acked_rx) = mpsc::channel();
    let receipt = journal.append_receipt(STREAM, crossing + 1, vec![record.clone()]);
    std::thread::spawn(move || acked_tx.send(receipt.wait()));
    assert!(
        acked_rx.recv_timeout(Duration::from_millis(300)).is_err(),
        "a write past the tail's bound was acknowledged while the checkpoint was held"
    );

    release_tx.send(()).expect("release the checkpoint");
    let acked = acked_rx.recv_timeout(Duration::from_secs(10)).expect("acknowledged once released");
    acked.expect("append");
    checkpoint.join().expect("checkpoint thread").expect("checkpoint");
    fail::remove("journal-apply");
    let loaded = journal.load(STREAM).expect("load");
    assert_eq!(loaded.last_seq(), crossing + 1);
    scenario.teardown();
}

/// Rewrites one stored event record with plain sled, the journal being closed.
fn rewrite_event(dir: &tempfile::TempDir, seq: Seq, rewrite: impl FnOnce(&mut Vec<u8>)) {
    let db = sled::open(dir.path()).expect("open sled");
    let tree = db.open_tree("journal").expect("journal tree");
    let key = event_key(&stream_prefix(STREAM), seq);
    let mut value = tree.get(&key).expect("get").expect("event is stored").to_vec();
    rewrite(&mut value);
    tree.insert(key, value).expect("insert");
    db.flush().expect("flush");
}

#[test]
fn torn_tail_is_dropped_and_corrupt_middle_is_named() {
    let scenario = FailScenario::setup();
    let dir = tempfile::tempdir().expect("tempdir");
    let journal = open(&dir);
    // One checkpoint per event: each stored as a record of its own, which the rewrite finds.
    for seq in 1..=5 {
        append(&journal, STREAM, seq, seq);
        journal.checkpoint().expect("checkpoint");
    }
    append(&journal, OTHER, 1, 2);
    drop(journal);

    // A write torn in the middle of the last record: half of it reached the disk.
    rewrite_event(&dir, 5, |record| record.truncate(record.len() / 2));
    let journal = open(&dir);
    assert_eq!(seqs(&journal.load(STREAM).expect("load")), [1, 2, 3, 4]);
    let visited = replay(&journal, STREAM.kind).expect("replay");
    let expected: Vec<(String, Seq)> = [("a", 1), ("a", 2), ("a", 3), ("a", 4), ("b", 1), ("b", 2)]
        .iter()
        .map(|(id, seq)| (id.to_string(), *seq))
        .collect();
    assert_eq!(visited, expected);

    // The stream goes on from the recovered prefix, over the torn record.
    append(&journal, STREAM, 5, 6);
    let loaded = journal.load(STREAM).expect("load");
    assert_eq!(seqs(&loaded), [1, 2, 3, 4, 5, 6]);
    assert_eq!(loaded.events[4].payload, event(5).payload());
    drop(journal);

    // One flipped bit in a record followed by valid ones is corruption, never skipped.
    rewrite_event(&dir, 3, |record| *record.last_mut().expect("non-empty") ^= 0x04);
    let journal = open(&dir);
    for (what, result) in [
        ("load", journal.load(STREAM).map(|_| ())),
        ("replay_kind", replay(&journal, STREAM.kind).map(|_| ())),
    ] {
        match result {
            Err(error @ JournalError::Corrupt { seq: 3, .. }) => {
                assert!(error.to_string().contains("1/a"), "{what}: {error}");
            }
            other => panic!("{what}: expected Corrupt at seq 3 of 1/a, got {other:?}"),
        }
    }
    assert_eq!(seqs(&journal.load(OTHER).expect("other stream loads")), [1, 2]);
    scenario.teardown();
}

#[test]
fn second_open_of_a_directory_in_use_fails() {
    let scenario = FailScenario::setup();
    let dir = tempfile::tempdir().expect("tempdir");
    let journal = open(&dir);
    append(&journal, STREAM, 1, 1);

    // Open on another thread: if sled blocked on its lock, this test fails instead of hanging.
    let (tx, rx) = mpsc::channel();
    let path = dir.path().to_path_buf();
    std::thread::spawn(move || {
        let result = SledJournal::open(JournalConfig::new(path)).map(|_| ());
        let _ = tx.send(result);
    });
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(Err(JournalError::Io(reason))) => assert!(reason.contains("lock"), "{reason}"),
        Ok(other) => panic!("second open: expected an i/o error on sled's lock, got {other:?}"),
        Err(_) => panic!("second open of a directory in use hangs"),
    }

    // The first journal is untouched by the attempt.
    append(&journal, STREAM, 2, 2);
    assert_eq!(seqs(&journal.load(STREAM).expect("load")), [1, 2]);
    scenario.teardown();
}

fn write_schema_version(dir: &tempfile::TempDir, version: u32) {
    let db = sled::open(dir.path()).expect("open sled");
    let meta = db.open_tree("meta").expect("meta tree");
    meta.insert(b"schema_version", &version.to_be_bytes()).expect("insert");
    db.flush().expect("flush");
}

/// A journal of any older schema (1: one event per key; 2: no index; 3: no compaction by
/// default) reads as it is, and opening it stamps it with this build's schema, so an older
/// build refuses what this one writes (runs, rows, streams that begin with a snapshot).
#[test]
fn a_journal_of_an_older_schema_opens_and_is_stamped_with_this_schema() {
    let scenario = FailScenario::setup();
    let dir = tempfile::tempdir().expect("tempdir");
    let journal = open(&dir);
    append(&journal, STREAM, 1, 2);
    drop(journal);

    for older in 1..SCHEMA_VERSION {
        write_schema_version(&dir, older);
        let journal = open(&dir);
        assert_eq!(seqs(&journal.load(STREAM).expect("load")), [1, 2], "schema {older}");
        drop(journal);
        let db = sled::open(dir.path()).expect("open sled");
        let stamped = db.open_tree("meta").expect("meta").get(b"schema_version").expect("get");
        assert_eq!(stamped.as_deref(), Some(&SCHEMA_VERSION.to_be_bytes()[..]), "{older}");
    }
    scenario.teardown();
}

#[test]
fn foreign_schema_version_is_refused() {
    let scenario = FailScenario::setup();
    let dir = tempfile::tempdir().expect("tempdir");
    let journal = open(&dir);
    append(&journal, STREAM, 1, 2);
    drop(journal);

    write_schema_version(&dir, SCHEMA_VERSION + 1);
    match SledJournal::open(JournalConfig::new(dir.path())).err() {
        Some(JournalError::Schema { found, expected }) => {
            assert_eq!((found, expected), (SCHEMA_VERSION + 1, SCHEMA_VERSION));
        }
        other => panic!("expected JournalError::Schema, got {other:?}"),
    }

    // The refused open released the directory, and left the data as it was.
    write_schema_version(&dir, SCHEMA_VERSION);
    let journal = open(&dir);
    assert_eq!(seqs(&journal.load(STREAM).expect("load")), [1, 2]);
    scenario.teardown();
}

#[test]
fn an_oversized_record_is_refused_without_failing_the_journal() {
    let scenario = FailScenario::setup();
    let dir = tempfile::tempdir().unwrap();
    let journal = open(&dir);
    let stream = Stream::new(1, "big");
    let huge = Record::from_payload(&vec![7u8; bazaar_persistence::limits::RECORD_BYTES_MAX]);
    let refused = journal.append_receipt(stream, 1, vec![huge]).wait();
    assert!(matches!(refused, Err(JournalError::RecordTooLarge { .. })), "{refused:?}");
    append(&journal, stream, 1, 1);
    assert_eq!(seqs(&journal.load(stream).unwrap()), vec![1], "the journal still works");
    drop(journal);
    scenario.teardown();
}
