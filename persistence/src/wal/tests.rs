//! The log on a real directory: appends, reopening, segments, purge and truncate.

use super::*;

/// Opens the log in `dir`, collecting what it replays as `(index, payload)`.
fn open(dir: &Path, segment_bytes: u64) -> (Wal, Opened, Vec<(u64, Vec<u8>)>) {
    let mut replayed = Vec::new();
    let (wal, opened) = Wal::open(dir, segment_bytes, &mut |frame| {
        replayed.push((frame.index, frame.payload.to_vec()));
        Ok(())
    })
    .unwrap();
    (wal, opened, replayed)
}

fn append(wal: &mut Wal, payloads: &[&str]) {
    let mut buf = Vec::new();
    for (index, payload) in (wal.next_index()..).zip(payloads) {
        frame::push(&mut buf, wal.term(), index, &Payload::new(payload.as_bytes().to_vec()));
    }
    wal.append(&buf, payloads.len() as u64).unwrap();
}

fn entries(from: u64, payloads: &[&str]) -> Vec<(u64, Vec<u8>)> {
    (from..).zip(payloads.iter().map(|p| p.as_bytes().to_vec())).collect()
}

fn segment_count(dir: &Path) -> usize {
    list_segments(dir).unwrap().len()
}

#[test]
fn appended_entries_are_replayed_after_the_checkpoint_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let (mut wal, opened, replayed) = open(dir.path(), 1 << 20);
    assert_eq!((opened, replayed.len()), (Opened { checkpoint: 0, last_index: 0 }, 0));
    append(&mut wal, &["a", "b"]);
    append(&mut wal, &["c"]);
    drop(wal);
    let (wal, opened, replayed) = open(dir.path(), 1 << 20);
    assert_eq!(opened, Opened { checkpoint: 0, last_index: 3 });
    assert_eq!(replayed, entries(1, &["a", "b", "c"]));
    assert_eq!(wal.next_index(), 4);
    save_checkpoint(dir.path(), 2).unwrap();
    drop(wal);
    let (_, opened, replayed) = open(dir.path(), 1 << 20);
    assert_eq!((opened.checkpoint, replayed), (2, entries(3, &["c"])));
}

#[test]
fn full_segments_roll_and_a_purge_deletes_only_what_the_checkpoint_covers() {
    let dir = tempfile::tempdir().unwrap();
    // Every append fills a segment: each next append starts a new one.
    let (mut wal, _, _) = open(dir.path(), 1);
    for payload in ["1", "2", "3", "4"] {
        append(&mut wal, &[payload]);
    }
    assert_eq!(segment_count(dir.path()), 4);
    let purger = wal.purger();
    // Entry 3 is in the third segment, which also holds nothing else: the first two go.
    assert_eq!(purger.purge(2).unwrap(), 2);
    assert_eq!(purger.purge(2).unwrap(), 0);
    save_checkpoint(dir.path(), 2).unwrap();
    drop(wal);
    let (mut wal, opened, replayed) = open(dir.path(), 1);
    assert_eq!((opened.last_index, replayed), (4, entries(3, &["3", "4"])));
    let mut read = Vec::new();
    wal.read(1, 10, &mut |frame| read.push(frame.index)).unwrap();
    assert_eq!(read, [3, 4]);
    append(&mut wal, &["5"]);
    // The segment being appended to is never purged, whatever the checkpoint says.
    wal.purger().purge(u64::MAX - 1).unwrap();
    assert!(segment_count(dir.path()) >= 1);
}

#[test]
fn segments_left_below_the_checkpoint_are_skipped_even_with_a_gap() {
    let dir = tempfile::tempdir().unwrap();
    let (mut wal, _, _) = open(dir.path(), 1);
    for payload in ["1", "2", "3", "4"] {
        append(&mut wal, &[payload]);
    }
    drop(wal);
    // A purge cut short, its deletions reordered by a power loss: segment 2 went, 1 stayed.
    std::fs::remove_file(segment_path(dir.path(), 2)).unwrap();
    save_checkpoint(dir.path(), 3).unwrap();
    let (_, opened, replayed) = open(dir.path(), 1);
    assert_eq!((opened.last_index, replayed), (4, entries(4, &["4"])));
}

#[test]
fn a_missing_entry_after_the_checkpoint_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let (mut wal, _, _) = open(dir.path(), 1);
    for payload in ["1", "2", "3"] {
        append(&mut wal, &[payload]);
    }
    drop(wal);
    std::fs::remove_file(segment_path(dir.path(), 2)).unwrap();
    let error = Wal::open(dir.path(), 1, &mut |_| Ok(())).err().expect("a gap is an error");
    assert!(error.to_string().contains("gap"), "{error}");
}

#[test]
fn a_torn_tail_is_cut_off_and_the_log_goes_on_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let (mut wal, _, _) = open(dir.path(), 1 << 20);
    append(&mut wal, &["kept", "torn"]);
    drop(wal);
    // The second entry cut short (the zeros ahead of the appends go with it).
    let path = segment_path(dir.path(), 1);
    let end = 2 * (frame::HEADER_BYTES as u64 + 4);
    OpenOptions::new().write(true).open(&path).unwrap().set_len(end - 2).unwrap();
    let (mut wal, opened, replayed) = open(dir.path(), 1 << 20);
    assert_eq!((opened.last_index, replayed), (1, entries(1, &["kept"])));
    append(&mut wal, &["after"]);
    drop(wal);
    let (_, _, replayed) = open(dir.path(), 1 << 20);
    assert_eq!(replayed, entries(1, &["kept", "after"]));
}

#[test]
fn corruption_before_valid_entries_is_an_error_naming_the_segment() {
    let dir = tempfile::tempdir().unwrap();
    let (mut wal, _, _) = open(dir.path(), 1 << 20);
    append(&mut wal, &["first", "second"]);
    drop(wal);
    let path = segment_path(dir.path(), 1);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[frame::HEADER_BYTES] ^= 1;
    std::fs::write(&path, bytes).unwrap();
    let error = Wal::open(dir.path(), 1 << 20, &mut |_| Ok(())).err().expect("corrupt");
    assert!(error.to_string().contains("corrupt entry at byte 0"), "{error}");
}

#[test]
fn truncate_removes_a_suffix_across_segments() {
    let dir = tempfile::tempdir().unwrap();
    let (mut wal, _, _) = open(dir.path(), 64);
    for payloads in [&["1", "2"][..], &["3", "4"], &["5"]] {
        append(&mut wal, payloads);
    }
    wal.truncate(4).unwrap();
    assert_eq!(wal.next_index(), 4);
    wal.set_term(2);
    append(&mut wal, &["4b"]);
    drop(wal);
    let mut terms = Vec::new();
    let (_, opened) = Wal::open(dir.path(), 64, &mut |frame| {
        terms.push((frame.index, frame.term, frame.payload.to_vec()));
        Ok(())
    })
    .unwrap();
    assert_eq!(opened.last_index, 4);
    let expected: Vec<_> = [(1, 1, "1"), (2, 1, "2"), (3, 1, "3"), (4, 2, "4b")]
        .into_iter()
        .map(|(index, term, payload)| (index, term, payload.as_bytes().to_vec()))
        .collect();
    assert_eq!(terms, expected);
}
