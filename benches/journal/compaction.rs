//! Whether the journal's size follows the live state or the history: `streams` entities
//! each written `SNAPSHOTS` x `SNAPSHOT_EVERY` events of `EVENT_BYTES`, with a snapshot of
//! `STATE_BYTES` every `SNAPSHOT_EVERY` events, then as many again; once keeping the whole
//! history and once compacting (the engine's default). The size on disk (sled's files and the
//! log, after a checkpoint) is taken after each half: a journal that follows the live state
//! stops growing (`compacted_disk_growth_ratio` near 1), one that keeps the history doubles.
//! Each journal is then opened twice (`*_reopen_first_ms`, `*_reopen_second_ms`): sled 0.34
//! replays its own log from its last open at each open, so the first open pays for all that
//! was written since and the second for nothing.

use std::path::Path;
use std::time::Instant;

use bazaar_persistence::{JournalConfig, JournalExt, Record, SledJournal, Stream};

use super::support::Report;
use super::{EVENT_BYTES, KIND, fresh_dir};

/// Events between two snapshots of one entity (the engine's default).
const SNAPSHOT_EVERY: u64 = 1_000;
/// Snapshots of each entity in each half.
const SNAPSHOTS: u64 = 3;
/// Events of one entity in one append.
const APPEND_EVENTS: u64 = 10;
/// Bytes of a snapshot's state.
const STATE_BYTES: usize = 2_048;

pub fn compaction(report: &mut Report, base: &Path) {
    let streams = report.size(100, 400);
    let ids: Vec<String> = (0..streams).map(|i| format!("entity-{i}")).collect();
    for (name, compact) in [("history", false), ("compacted", true)] {
        let dir = fresh_dir(base);
        let journal = SledJournal::open(JournalConfig::new(dir.path())).expect("open journal");
        let half = SNAPSHOTS * SNAPSHOT_EVERY;
        write(&journal, &ids, 1, half, compact);
        let first = journal.size_on_disk().expect("size on disk");
        write(&journal, &ids, half + 1, 2 * half, compact);
        let second = journal.size_on_disk().expect("size on disk");
        report.record(format!("{name}_disk_per_entity_bytes"), second as f64 / streams as f64);
        report.record(format!("{name}_disk_growth_ratio"), second as f64 / first as f64);
        journal.close().expect("close");
        drop(journal);
        // sled 0.34 writes its page table's snapshot only when it opens: an open replays
        // sled's own log from the last open on, however much was written since.
        for open in ["first", "second"] {
            let began = Instant::now();
            let reopened = SledJournal::open(JournalConfig::new(dir.path())).expect("reopen");
            let ms = began.elapsed().as_secs_f64() * 1000.0;
            report.record(format!("{name}_reopen_{open}_ms"), ms);
            reopened.close().expect("close");
        }
    }
    report.ratio(
        "compacted_vs_history_disk_ratio",
        "compacted_disk_per_entity_bytes",
        "history_disk_per_entity_bytes",
    );
}

/// Writes events `from..=to` of every stream, a snapshot at each multiple of
/// `SNAPSHOT_EVERY`, then checkpoints.
fn write(journal: &SledJournal, ids: &[String], from: u64, to: u64, compact: bool) {
    let event = Record::from_payload(&[7u8; EVENT_BYTES]);
    let state = Record::from_payload(&[9u8; STATE_BYTES]);
    for first in (from..=to).step_by(APPEND_EVENTS as usize) {
        let last = first + APPEND_EVENTS - 1;
        let receipts: Vec<_> = ids
            .iter()
            .map(|id| {
                let events = vec![event.clone(); APPEND_EVENTS as usize];
                journal.append_receipt(Stream::new(KIND, id), first, events)
            })
            .collect();
        receipts.into_iter().for_each(|r| r.wait().expect("append"));
        if last.is_multiple_of(SNAPSHOT_EVERY) {
            let snapshot =
                |id| journal.snapshot_receipt(Stream::new(KIND, id), last, state.clone(), compact);
            let receipts: Vec<_> = ids.iter().map(|id| snapshot(id.as_str())).collect();
            receipts.into_iter().for_each(|r| r.wait().expect("snapshot"));
        }
    }
    journal.checkpoint().expect("checkpoint");
}
