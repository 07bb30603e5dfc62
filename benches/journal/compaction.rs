//! What compaction saves on disk: `streams` entities each written `events` events of
//! `EVENT_BYTES`, with a snapshot of `STATE_BYTES` every `SNAPSHOT_EVERY` events, once keeping
//! the whole history and once compacting (the engine's default). Each journal is then
//! checkpointed, closed and reopened, and measured (`size_on_disk`: sled's files and the log).

use std::path::Path;

use bazaar_persistence::{JournalConfig, JournalExt, Record, SledJournal, Stream};

use super::support::Report;
use super::{EVENT_BYTES, KIND, fresh_dir};

/// Events between two snapshots of one entity (the engine's default).
const SNAPSHOT_EVERY: u64 = 1_000;
/// Bytes of a snapshot's state.
const STATE_BYTES: usize = 2_048;

pub fn compaction(report: &mut Report, base: &Path) {
    let streams = report.size(100, 400);
    let events = 5 * SNAPSHOT_EVERY;
    let event = Record::from_payload(&[7u8; EVENT_BYTES]);
    let state = Record::from_payload(&[9u8; STATE_BYTES]);
    let ids: Vec<String> = (0..streams).map(|i| format!("entity-{i}")).collect();
    for (name, compact) in [("history", false), ("compacted", true)] {
        let dir = fresh_dir(base);
        let journal = SledJournal::open(JournalConfig::new(dir.path())).expect("open journal");
        for seq in 1..=events {
            let receipts: Vec<_> = ids
                .iter()
                .map(|id| journal.append_receipt(Stream::new(KIND, id), seq, vec![event.clone()]))
                .collect();
            receipts.into_iter().for_each(|r| r.wait().expect("append"));
            if seq % SNAPSHOT_EVERY == 0 {
                let receipts: Vec<_> = ids
                    .iter()
                    .map(|id| {
                        journal.snapshot_receipt(Stream::new(KIND, id), seq, state.clone(), compact)
                    })
                    .collect();
                receipts.into_iter().for_each(|r| r.wait().expect("snapshot"));
            }
        }
        journal.close().expect("close");
        drop(journal);
        let reopened = SledJournal::open(JournalConfig::new(dir.path())).expect("reopen");
        let bytes = reopened.size_on_disk().expect("size on disk");
        report.record(format!("{name}_disk_per_entity_bytes"), bytes as f64 / streams as f64);
    }
    report.ratio(
        "compacted_vs_history_disk_ratio",
        "compacted_disk_per_entity_bytes",
        "history_disk_per_entity_bytes",
    );
}
