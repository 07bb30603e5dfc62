//! How streams are stored: runs, replays over a checkpoint cut short, torn records.

use super::*;
use crate::codec::Record;
use crate::keys::{Stream, stream_prefix};

fn record(len: usize, seq: Seq) -> Vec<u8> {
    Record::from_payload(&vec![seq as u8; len]).into_bytes()
}

fn stored(entries: &[(Vec<u8>, Vec<u8>)]) -> Vec<(Seq, Vec<u8>)> {
    let mut events = Vec::new();
    let values = entries
        .iter()
        .map(|(k, v)| (sled::IVec::from(k.as_slice()), sled::IVec::from(v.as_slice())));
    for entry in chunks::records(values.map(Ok)) {
        let (key, value) = entry.unwrap();
        expand(first_seq(&key).unwrap(), &value, &mut events);
    }
    events
}

#[test]
fn runs_of_every_size_read_back_whole_and_stay_under_a_value() {
    let prefix = stream_prefix(Stream::new(1, "a"));
    let sizes = [10, 200, 0, VALUE_BYTES_MAX - 20, VALUE_BYTES_MAX * 3, 5, 5, 1_000];
    let events: Vec<_> =
        sizes.iter().enumerate().map(|(i, &len)| (i as Seq + 1, record(len, i as Seq))).collect();
    let entries = runs(&prefix, &events);
    assert!(entries.iter().all(|(_, value)| value.len() <= VALUE_BYTES_MAX));
    let heads = entries.iter().filter(|(key, _)| key.len() == prefix.len() + 8).count();
    assert_eq!(heads, 4, "small neighbours share a value, large records stand alone");
    assert_eq!(stored(&entries), events);
}

fn tail_of(prefix: &[u8], events: Vec<(Seq, Vec<u8>)>, compacted_to: Seq) -> Tail {
    let mut tail = Tail::default();
    let stream = StreamTail { events, snapshot: None, compacted_to };
    tail.streams.insert(prefix.to_vec(), stream);
    tail
}

#[test]
fn a_tail_written_over_a_cut_short_checkpoint_replaces_what_it_overlaps() {
    let db = sled::Config::new().temporary(true).open().unwrap();
    let trees = Trees::open(&db).unwrap();
    let (prefix, stripes) = (stream_prefix(Stream::new(1, "a")), Stripes::default());
    let first: Vec<_> = (1..=6).map(|seq| (seq, record(5, seq))).collect();
    write_tail(&trees, &tail_of(&prefix, first.clone(), 0), &stripes).unwrap();
    let again: Vec<_> = (4..=5).map(|seq| (seq, record(9, seq))).collect();
    write_tail(&trees, &tail_of(&prefix, again.clone(), 0), &stripes).unwrap();
    let expected: Vec<_> = first[..3].iter().chain(&again).cloned().collect();
    assert_eq!(read_stream(&trees, &prefix, 0).unwrap(), expected);
    assert_eq!(read_stream(&trees, &prefix, 4).unwrap(), expected[4..]);

    write_tail(&trees, &tail_of(&prefix, Vec::new(), 2), &stripes).unwrap();
    assert_eq!(read_stream(&trees, &prefix, 0).unwrap(), expected[2..]);
}

/// A checkpoint writes a chunked record key by key, so a crash can leave its head
/// without its chunks (or chunks without a head). The log's replay rewrites and compacts
/// that stream; it must not trip over the torn record while it does.
#[test]
fn a_replay_compacts_over_a_record_a_crash_tore() {
    let db = sled::Config::new().temporary(true).open().unwrap();
    let trees = Trees::open(&db).unwrap();
    let (prefix, stripes) = (stream_prefix(Stream::new(1, "a")), Stripes::default());
    let large = record(VALUE_BYTES_MAX * 2, 2);
    let events = vec![(1, record(5, 1)), (2, large), (3, record(5, 3)), (4, record(5, 4))];
    // As the cut-short checkpoint wrote them: the stream's head first, then its events.
    let mut head = Writes::default();
    trees.heads.raise(&prefix, 4, &mut head).unwrap();
    head.apply(trees.heads.tree()).unwrap();
    for (key, value) in runs(&prefix, &events) {
        trees.events.insert(key, value).unwrap();
    }
    // The crash kept the head of event 2 and lost its last chunk.
    trees.events.remove(chunks::chunk_key(&keys::event_key(&prefix, 2), 1)).unwrap();
    let mut tail = tail_of(&prefix, vec![(5, record(5, 5))], 3);
    tail.streams.get_mut(&prefix).unwrap().snapshot = Some(record(7, 3));
    write_tail(&trees, &tail, &stripes).unwrap();
    let expected = vec![(4, record(5, 4)), (5, record(5, 5))];
    assert_eq!(read_stream(&trees, &prefix, 0).unwrap(), expected);
    let left: Vec<_> = trees.events.iter().keys().map(|key| key.unwrap()).collect();
    assert_eq!(left.len(), 2, "every key of the torn record went: {left:?}");
}

/// Written through checkpoints only, a stream's head is never below what sled holds of it,
/// so the reads and checkpoints that skip sled where the head says it holds nothing miss
/// nothing: after appends, a rewrite over a cut-short checkpoint, a compaction of all but the
/// last event, and a compaction of everything.
#[test]
fn a_head_covers_every_stored_event_and_spares_the_scans_that_would_find_nothing() {
    let db = sled::Config::new().temporary(true).open().unwrap();
    let trees = Trees::open(&db).unwrap();
    let (prefix, stripes) = (stream_prefix(Stream::new(1, "a")), Stripes::default());
    let head = |trees: &Trees| trees.heads.last(&prefix).unwrap();
    assert_eq!(head(&trees), Some(0), "a new journal knows every stream's head");
    assert!(read_stream(&trees, &prefix, 0).unwrap().is_empty());
    let events: Vec<_> = (1..=6).map(|seq| (seq, record(5, seq))).collect();
    write_tail(&trees, &tail_of(&prefix, events[..4].to_vec(), 0), &stripes).unwrap();
    assert_eq!(head(&trees), Some(4));
    write_tail(&trees, &tail_of(&prefix, events[2..].to_vec(), 0), &stripes).unwrap();
    assert_eq!(head(&trees), Some(6));
    assert_eq!(read_stream(&trees, &prefix, 0).unwrap(), events);
    assert_eq!(read_stream(&trees, &prefix, 5).unwrap(), events[5..]);
    assert!(read_stream(&trees, &prefix, 6).unwrap().is_empty());
    write_tail(&trees, &tail_of(&prefix, Vec::new(), 5), &stripes).unwrap();
    assert_eq!(read_stream(&trees, &prefix, 0).unwrap(), events[5..]);
    write_tail(&trees, &tail_of(&prefix, Vec::new(), 6), &stripes).unwrap();
    assert!(read_stream(&trees, &prefix, 0).unwrap().is_empty());
    assert_eq!(head(&trees), Some(6), "a head never goes down");
    drop(trees);
    let reopened = Trees::open(&db).unwrap();
    assert_eq!(reopened.heads.last(&prefix).unwrap(), Some(6));
    assert_eq!(reopened.heads.last(&stream_prefix(Stream::new(1, "b"))).unwrap(), Some(0));
}

/// A journal written before heads existed holds streams without one: those are scanned as
/// before, never taken for empty.
#[test]
fn a_journal_older_than_heads_scans_the_streams_without_one() {
    let db = sled::Config::new().temporary(true).open().unwrap();
    let prefix = stream_prefix(Stream::new(1, "a"));
    let events: Vec<_> = (1..=3).map(|seq| (seq, record(5, seq))).collect();
    let old = db.open_tree("journal").unwrap();
    for (key, value) in runs(&prefix, &events) {
        old.insert(key, value).unwrap();
    }
    let trees = Trees::open(&db).unwrap();
    assert_eq!(trees.heads.last(&prefix).unwrap(), None, "not known");
    assert_eq!(read_stream(&trees, &prefix, 1).unwrap(), events[1..]);
    let more = vec![(4, record(5, 4))];
    write_tail(&trees, &tail_of(&prefix, more.clone(), 0), &Stripes::default()).unwrap();
    assert_eq!(trees.heads.last(&prefix).unwrap(), Some(4));
    let all: Vec<_> = events.iter().chain(&more).cloned().collect();
    assert_eq!(read_stream(&trees, &prefix, 0).unwrap(), all);
}

#[test]
fn a_gap_in_the_sequence_starts_a_new_value() {
    let prefix = stream_prefix(Stream::new(1, "a"));
    let events = vec![(1, record(5, 1)), (2, record(5, 2)), (5, record(5, 5))];
    let entries = runs(&prefix, &events);
    assert_eq!(entries.len(), 2);
    assert_eq!(stored(&entries), events);
}

#[test]
fn a_run_cut_short_yields_its_rest_as_one_torn_record() {
    let prefix = stream_prefix(Stream::new(1, "a"));
    let events = vec![(1, record(5, 1)), (2, record(5, 2))];
    let (key, mut value) = runs(&prefix, &events).remove(0);
    value.truncate(value.len() - 3);
    let read = stored(&[(key, value)]);
    assert_eq!(read[0], events[0]);
    assert_eq!(read.len(), 2);
    assert!(codec::verify(&read[1].1).is_err());
}
