//! A process killed at each step of a checkpoint loses nothing acknowledged, and the journal
//! opens again: after sled's flush but before the position is recorded, after recording it
//! but before any log segment is deleted, and between two deletions.
//!
//! The child is this same test binary, re-run with `CHILD_DIR` and `CHILD_FAILPOINT` set: it
//! appends to a few streams and prints every acknowledged event, and its failpoint aborts the
//! process (a crash, not an error path) the third time a checkpoint reaches it. The parent
//! then opens the journal and checks each stream: a gap-free prefix holding every
//! acknowledged event.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use bazaar_persistence::{Journal, JournalConfig, JournalExt, Record, SledJournal, Stream};

const CHILD_DIR: &str = "BAZAAR_CHECKPOINT_CRASH_DIR";
const CHILD_FAILPOINT: &str = "BAZAAR_CHECKPOINT_CRASH_FAILPOINT";
const TEST_NAME: &str = "a_crash_at_every_step_of_a_checkpoint_loses_nothing_acknowledged";
const STREAMS: u64 = 4;
const KIND: u16 = 9;

/// Tiny segments and a checkpoint every few appends: each checkpoint deletes several segments.
fn config(dir: &Path) -> JournalConfig {
    JournalConfig {
        segment_bytes: 2 * 1024,
        checkpoint_bytes: 16 * 1024,
        checkpoint_interval_ms: 20,
        ..JournalConfig::new(dir)
    }
}

#[test]
fn a_crash_at_every_step_of_a_checkpoint_loses_nothing_acknowledged() {
    if let (Ok(dir), Ok(failpoint)) = (std::env::var(CHILD_DIR), std::env::var(CHILD_FAILPOINT)) {
        run_child(Path::new(&dir), &failpoint);
    }
    for failpoint in
        ["checkpoint-after-flush", "checkpoint-after-record", "wal-purge-between-deletions"]
    {
        let dir = tempfile::tempdir().unwrap();
        let mut acked: BTreeMap<u64, u64> = BTreeMap::new();
        // Twice on the same directory: the second run starts from what the first crash left.
        for _ in 0..2 {
            let child = Command::new(std::env::current_exe().unwrap())
                .args(["--exact", TEST_NAME, "--nocapture", "--test-threads=1"])
                .env(CHILD_DIR, dir.path())
                .env(CHILD_FAILPOINT, failpoint)
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let output = child.wait_with_output().unwrap();
            assert!(!output.status.success(), "{failpoint}: the child was not aborted");
            for line in BufReader::new(&output.stdout[..]).lines() {
                let line = line.unwrap();
                let mut words = line.split_whitespace();
                if let (Some("acked"), Some(stream), Some(seq)) =
                    (words.next(), words.next(), words.next())
                {
                    let best = acked.entry(stream.parse().unwrap()).or_default();
                    *best = (*best).max(seq.parse().unwrap());
                }
            }
            verify(dir.path(), &acked, failpoint);
        }
        assert!(acked.values().all(|&seq| seq > 0), "{failpoint}: nothing was acknowledged");
    }
}

/// Appends to every stream in turn until the failpoint aborts the process.
fn run_child(dir: &Path, failpoint: &str) -> ! {
    let _scenario = fail::FailScenario::setup();
    let hits = AtomicUsize::new(0);
    fail::cfg_callback(failpoint, move || {
        if hits.fetch_add(1, Ordering::SeqCst) == 2 {
            std::process::abort();
        }
    })
    .unwrap();
    let journal = SledJournal::open(config(dir)).unwrap();
    let ids: Vec<String> = (0..STREAMS).map(|s| s.to_string()).collect();
    let mut next: Vec<u64> =
        ids.iter().map(|id| journal.load(Stream::new(KIND, id)).unwrap().last_seq() + 1).collect();
    let mut stdout = std::io::stdout().lock();
    for round in 0.. {
        let stream = round % STREAMS as usize;
        let seq = next[stream];
        let event = Record::from_payload(&[seq as u8; 300]);
        journal.append_receipt(Stream::new(KIND, &ids[stream]), seq, vec![event]).wait().unwrap();
        writeln!(stdout, "acked {stream} {seq}").unwrap();
        stdout.flush().unwrap();
        next[stream] += 1;
    }
    unreachable!("the failpoint aborts the process")
}

fn verify(dir: &Path, acked: &BTreeMap<u64, u64>, failpoint: &str) {
    let journal = SledJournal::open(config(dir)).unwrap_or_else(|error| {
        panic!("{failpoint}: the journal does not open after the crash: {error}")
    });
    for stream in 0..STREAMS {
        let id = stream.to_string();
        let loaded = journal.load(Stream::new(KIND, &id)).unwrap();
        let seqs: Vec<u64> = loaded.events.iter().map(|event| event.seq).collect();
        let first = loaded.snapshot.as_ref().map_or(1, |(seq, _)| seq + 1);
        assert!(
            seqs.iter().copied().eq(first..first + seqs.len() as u64),
            "{failpoint}: stream {stream} is not a gap-free prefix: {seqs:?}"
        );
        let acked = acked.get(&stream).copied().unwrap_or(0);
        assert!(
            loaded.last_seq() >= acked,
            "{failpoint}: stream {stream} lost acknowledged events: has {}, acked {acked}",
            loaded.last_seq()
        );
    }
}
