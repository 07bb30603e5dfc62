//! Records far larger than a sled value (events of 12 KB, a snapshot of 350 KB, as a busy
//! inventory record's could be) go through the disk journal whole, survive a reopen, compact
//! away completely, and never become one of sled's blob files, which sled does not sync.

use bazaar_persistence::{
    Journal, JournalConfig, JournalExt, Record, Replayed, SledJournal, Stream,
};

fn payload(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(31) ^ seed).collect()
}

fn blob_files(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir.join("blobs")).map(|entries| entries.count()).unwrap_or(0)
}

#[test]
fn large_records_are_whole_after_a_reopen_and_never_sled_blobs() {
    let dir = tempfile::tempdir().unwrap();
    let stream = Stream::new(3, "hot-sku@FRA1");
    let events: Vec<Vec<u8>> = (0..40).map(|i| payload(12_000 + i, i as u8)).collect();
    let state = payload(350_000, 7);
    {
        let journal = SledJournal::open(JournalConfig::new(dir.path())).unwrap();
        for (i, event) in events.iter().enumerate() {
            let record = vec![Record::from_payload(event)];
            journal.append_receipt(stream, i as u64 + 1, record).wait().unwrap();
        }
        let snapshot = Record::from_payload(&state);
        journal.snapshot_receipt(stream, 30, snapshot, false).wait().unwrap();
    }
    assert_eq!(blob_files(dir.path()), 0, "sled wrote a blob file");

    let journal = SledJournal::open(JournalConfig::new(dir.path())).unwrap();
    let loaded = journal.load(stream).unwrap();
    assert_eq!(loaded.snapshot, Some((30, state.clone())));
    let tail: Vec<&Vec<u8>> = loaded.events.iter().map(|event| &event.payload).collect();
    assert_eq!(tail, events[30..].iter().collect::<Vec<_>>());
    let (mut replayed, mut snapshot) = (Vec::<(u64, Vec<u8>)>::new(), None);
    journal
        .replay_kind(3, &mut |_, item| match item {
            Replayed::Snapshot { seq, state } => snapshot = Some((seq, state.to_vec())),
            Replayed::Event { seq, payload } => replayed.push((seq, payload.to_vec())),
        })
        .unwrap();
    assert_eq!(snapshot, Some((30, state.clone())), "the chunked snapshot comes first");
    assert_eq!(replayed.len(), 10, "then the events after it");
    assert!(replayed.iter().zip(&events[30..]).all(|((_, read), written)| read == written));

    // A smaller snapshot replaces the chunked one, and a compaction removes every event with
    // its chunks: replay then visits the snapshot alone, which a stray chunk would break.
    let small = Record::from_payload(b"small");
    journal.snapshot_receipt(stream, 40, small, true).wait().unwrap();
    let loaded = journal.load(stream).unwrap();
    assert_eq!((loaded.snapshot, loaded.events.len()), (Some((40, b"small".to_vec())), 0));
    let mut snapshots = 0;
    let events = journal
        .replay_kind(3, &mut |_, item| {
            snapshots += matches!(item, Replayed::Snapshot { .. }) as u32
        })
        .unwrap();
    assert_eq!((snapshots, events), (1, 0));
    drop(journal);
    assert_eq!(blob_files(dir.path()), 0, "sled wrote a blob file");
}
