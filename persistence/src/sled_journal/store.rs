//! How streams sit in sled's trees, and how a checkpoint writes a tail there.
//!
//! ```text
//! journal   key: kind | id length | id | first seq (keys.rs)
//!           value: one record, the head of a chunked one (chunks.rs), or a run of records:
//!                  RUN (u8) | count (u32 BE) | { length (u32 BE) | record }*
//! snapshots key: kind | id length | id          value: the latest snapshot record
//! index     key: as the writer chose it         value: as written (one sled value)
//! ```
//!
//! A checkpoint writes each stream's new events as runs of consecutive records of at most
//! `VALUE_BYTES_MAX` bytes, so sled stores (and copies into its own log, and splits its
//! leaves over) one key for many events; a record too large for a run is stored alone, in
//! chunks when it must be. Writing one event per key cost a checkout about a third of the
//! node's CPU in sled.
//!
//! Invariants:
//! - A value's first byte tells its shape: a record's codec version, [`RUN`] or
//!   [`chunks::CHUNKED`], never confused. A key names its value's first sequence number; the
//!   values of one stream hold consecutive sequence numbers without overlap.
//! - After a compaction up to `seq`, sled holds none of the stream's events at or below `seq`
//!   (a run that straddles `seq` is written again from `seq + 1`).
//! - Writing a tail again, or a tail that sled holds in part (a checkpoint cut short by a
//!   crash, replayed from the log), leaves the trees as writing it once: each stream's
//!   values from its first event in the tail on are removed (or shortened) before its runs
//!   are written, so runs cut differently the first time leave nothing behind.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;

use super::apply::{STRIPES, Stripes, Writes};
use super::tail::{StreamTail, Tail, TailRead};
use crate::chunks;
use crate::codec;
use crate::journal::{JournalError, Replayed};
use crate::keys::{self, Seq};
use crate::limits::VALUE_BYTES_MAX;
use crate::recovery::KindStream;

/// First byte of a run of records.
pub const RUN: u8 = 0xFE;

const _: () = assert!(codec::FORMAT_VERSION != RUN && chunks::CHUNKED != RUN);
const RUN_HEADER_BYTES: usize = 5;

/// The sled entries holding consecutive `events` of the stream at `prefix`.
pub fn runs(prefix: &[u8], events: &[(Seq, Vec<u8>)]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut entries = Vec::new();
    let mut run: Option<(Seq, Seq, Vec<u8>)> = None;
    let close = |run: Option<(Seq, Seq, Vec<u8>)>, entries: &mut Vec<(Vec<u8>, Vec<u8>)>| {
        if let Some((first, count, mut value)) = run {
            value[1..RUN_HEADER_BYTES].copy_from_slice(&(count as u32).to_be_bytes());
            entries.push((keys::event_key(prefix, first), value));
        }
    };
    for (seq, record) in events {
        let framed = 4 + record.len();
        if RUN_HEADER_BYTES + framed > VALUE_BYTES_MAX {
            close(run.take(), &mut entries);
            entries.extend(chunks::split(keys::event_key(prefix, *seq), record.clone()));
            continue;
        }
        let fits = run.as_ref().is_some_and(|(first, count, value)| {
            first + count == *seq && value.len() + framed <= VALUE_BYTES_MAX
        });
        if !fits {
            close(run.take(), &mut entries);
            let mut value = Vec::with_capacity(VALUE_BYTES_MAX.min(256 + framed));
            value.extend_from_slice(&[RUN, 0, 0, 0, 0]);
            run = Some((*seq, 0, value));
        }
        let (_, count, value) = run.as_mut().expect("opened above");
        value.extend_from_slice(&(record.len() as u32).to_be_bytes());
        value.extend_from_slice(record);
        *count += 1;
    }
    close(run, &mut entries);
    entries
}

/// The records of one stored value whose key names `first`, with their sequence numbers. A
/// run whose framing breaks off yields what is left as one record, which then fails its
/// checksum: a torn record, handled as any other (`recovery::StreamReader`).
pub fn expand(first: Seq, value: &[u8], out: &mut Vec<(Seq, Vec<u8>)>) {
    if value.first() != Some(&RUN) {
        return out.push((first, value.to_vec()));
    }
    let count = value
        .get(1..RUN_HEADER_BYTES)
        .map_or(0, |b| u32::from_be_bytes(b.try_into().expect("4 bytes")) as u64);
    let mut rest = value.get(RUN_HEADER_BYTES..).unwrap_or_default();
    for i in 0..count {
        // A corrupt key near the end of the sequence numbers ends the run.
        let Some(seq) = first.checked_add(i) else { return };
        let len = rest.get(..4).map(|b| u32::from_be_bytes(b.try_into().expect("4 bytes")));
        match len.and_then(|len| rest.get(4..4 + len as usize)) {
            Some(record) => {
                out.push((seq, record.to_vec()));
                rest = &rest[4 + record.len()..];
            }
            None => return out.push((seq, rest.to_vec())),
        }
    }
}

/// The first sequence number a stored key names.
fn first_seq(key: &[u8]) -> Result<Seq, JournalError> {
    keys::parse_event_key(key)
        .map(|(_, _, seq)| seq)
        .ok_or_else(|| JournalError::Io("unparsable journal key".into()))
}

/// Every key the stream at `prefix` may hold, chunks included.
fn stream_range(prefix: &[u8], from: Seq) -> RangeInclusive<Vec<u8>> {
    keys::event_key(prefix, from)..=chunks::last_key(&keys::event_key(prefix, Seq::MAX))
}

/// The events sled holds of the stream at `prefix` after `after`, in order.
pub fn read_stream(
    tree: &sled::Tree,
    prefix: &[u8],
    after: Seq,
) -> Result<Vec<(Seq, Vec<u8>)>, JournalError> {
    let from = keys::event_key(prefix, after + 1);
    // The run holding `after + 1` may begin before it (a record stored alone may not). From
    // the stream's start (no snapshot), a forward scan finds it: sled's reverse iteration
    // costs several times a forward step, and most activations have no snapshot.
    let start = if after == 0 {
        0
    } else {
        match tree.range(prefix.to_vec()..=from.clone()).next_back().transpose()? {
            Some((key, value)) if key.len() == from.len() && value.first() == Some(&RUN) => {
                first_seq(&key)?
            }
            _ => after + 1,
        }
    };
    let mut events = Vec::new();
    for entry in chunks::records(tree.range(stream_range(prefix, start))) {
        let (key, value) = entry?;
        expand(first_seq(&key)?, &value, &mut events);
    }
    events.retain(|(seq, _)| *seq > after);
    Ok(events)
}

/// Every event of one kind as `(its key, record)`, in key order: runs taken apart.
pub fn kind_events(
    tree: &sled::Tree,
    kind: u16,
) -> impl Iterator<Item = Result<(Vec<u8>, Vec<u8>), JournalError>> {
    chunks::records(tree.scan_prefix(keys::kind_prefix(kind))).flat_map(|entry| {
        let expanded = entry.and_then(|(key, value)| {
            let mut events = Vec::new();
            expand(first_seq(&key)?, &value, &mut events);
            let prefix = key[..key.len() - 8].to_vec();
            Ok(events.into_iter().map(move |(seq, record)| (keys::event_key(&prefix, seq), record)))
        });
        let (events, error) = match expanded {
            Ok(events) => (Some(events.map(Ok)), None),
            Err(error) => (None, Some(Err(error))),
        };
        events.into_iter().flatten().chain(error)
    })
}

/// Visits every stream of one kind as sled and `tail` hold it ([`Journal::replay_kind`]).
///
/// [`Journal::replay_kind`]: crate::Journal::replay_kind
pub fn replay_kind(
    trees: &Trees,
    kind: u16,
    tail: BTreeMap<Vec<u8>, TailRead>,
    visit: &mut dyn FnMut(&str, Replayed<'_>),
) -> Result<u64, JournalError> {
    let events = kind_events(&trees.events, kind);
    let snapshots = chunks::records(trees.snapshots.scan_prefix(keys::kind_prefix(kind)));
    let mut visited = 0;
    for stream in kind_streams(events, snapshots, tail) {
        visited += crate::recovery::replay_stream(kind, &stream?, visit)?;
    }
    Ok(visited)
}

/// Every stream of one kind as sled and the tail hold it, in key order: the union of the
/// streams with events (`stored`, from [`kind_events`]), with a snapshot in sled
/// (`snapshots`) and with writes in the tail. Each stream's events are sled's with the
/// tail's laid over them ([`TailRead::over`]); its snapshot is the tail's newest, else
/// sled's.
fn kind_streams(
    stored: impl Iterator<Item = Result<(Vec<u8>, Vec<u8>), JournalError>>,
    snapshots: impl Iterator<Item = Result<(sled::IVec, sled::IVec), JournalError>>,
    tail: BTreeMap<Vec<u8>, TailRead>,
) -> impl Iterator<Item = Result<KindStream, JournalError>> {
    let mut stored = stored.peekable();
    let mut snapshots = snapshots.peekable();
    let mut tail = tail.into_iter().peekable();
    std::iter::from_fn(move || {
        let stored_prefix = match stored.peek() {
            Some(Ok((key, _))) => Some(key[..key.len() - 8].to_vec()),
            Some(Err(error)) => return Some(Err(error.clone())),
            None => None,
        };
        let snapshot_prefix = match snapshots.peek() {
            Some(Ok((key, _))) => Some(key.to_vec()),
            Some(Err(error)) => return Some(Err(error.clone())),
            None => None,
        };
        let tail_prefix = tail.peek().map(|(prefix, _)| prefix.clone());
        let prefix = [stored_prefix, snapshot_prefix, tail_prefix].into_iter().flatten().min()?;
        let mut read =
            tail.next_if(|(p, _)| *p == prefix).map_or_else(TailRead::default, |(_, r)| r);
        let stored_snapshot = match snapshots
            .next_if(|entry| matches!(entry, Ok((key, _)) if key.as_ref() == prefix.as_slice()))
        {
            Some(Ok((_, record))) => Some(record.to_vec()),
            _ => None,
        };
        let mut stored_events = Vec::new();
        while let Some(Ok((key, record))) = stored.next_if(|entry| {
            matches!(entry, Ok((key, _)) if key.len() == prefix.len() + 8 && key.starts_with(&prefix))
        }) {
            let seq = Seq::from_be_bytes(key[prefix.len()..].try_into().unwrap_or_default());
            stored_events.push((seq, record));
        }
        let snapshot = read.snapshot.take().or(stored_snapshot);
        Some(Ok(KindStream { prefix, snapshot, events: read.over(stored_events) }))
    })
}

/// The journal's trees in sled.
pub struct Trees {
    pub events: sled::Tree,
    pub snapshots: sled::Tree,
    pub index: sled::Tree,
}

impl Trees {
    pub fn open(db: &sled::Db) -> Result<Trees, JournalError> {
        Ok(Trees {
            events: db.open_tree("journal")?,
            snapshots: db.open_tree("snapshots")?,
            index: db.open_tree("index")?,
        })
    }
}

/// Writes a frozen tail into sled (not durable until the checkpoint flushes sled), one stripe
/// of streams at a time, then its index rows, key by key ([`Writes`]). A stripe's writes are
/// made before its lock is taken (this thread is sled's only writer, so what it reads there
/// cannot change meanwhile) and applied under it, so a read waits for the applying alone. A
/// crash part of the way leaves sled with part of the tail, which is harmless: the
/// checkpoint is not recorded, so opening replays the whole tail.
pub fn write_tail(trees: &Trees, tail: &Tail, stripes: &Stripes) -> Result<(), JournalError> {
    fail::fail_point!("journal-apply", |_| Err(JournalError::Io("failpoint journal-apply".into())));
    let mut by_stripe: Vec<Vec<(&Vec<u8>, &StreamTail)>> = vec![Vec::new(); STRIPES];
    for (prefix, stream) in &tail.streams {
        by_stripe[Stripes::of(prefix)].push((prefix, stream));
    }
    for (stripe, streams) in by_stripe.iter().enumerate().filter(|(_, s)| !s.is_empty()) {
        let writes = stream_writes(&trees.events, &trees.snapshots, streams)?;
        let _writing = stripes.write(stripe);
        writes.apply(&trees.events, &trees.snapshots)?;
    }
    // Index rows need no stripe: a read of one never waits for a checkpoint (`index.rs`).
    let mut rows = Writes::default();
    for (key, value) in &tail.index {
        match value {
            Some(value) => rows.insert(key.as_slice(), value.as_slice()),
            None => rows.remove(key.as_slice()),
        }
    }
    rows.apply(&trees.index)
}

/// Streams' events as runs, their snapshots, and their compactions.
struct StreamWrites {
    events: Writes,
    snapshots: Writes,
    removals: Writes,
}

impl StreamWrites {
    /// Applied in that order, so that sled, which recovers a prefix of its own log, never
    /// keeps a snapshot without the events before it nor a compaction without its snapshot.
    fn apply(self, events: &sled::Tree, snapshots: &sled::Tree) -> Result<(), JournalError> {
        self.events.apply(events)?;
        self.snapshots.apply(snapshots)?;
        self.removals.apply(events)?;
        Ok(())
    }
}

fn stream_writes(
    events_tree: &sled::Tree,
    snapshots_tree: &sled::Tree,
    streams: &[(&Vec<u8>, &StreamTail)],
) -> Result<StreamWrites, JournalError> {
    let (mut events, mut snapshots, mut removals) =
        (Writes::default(), Writes::default(), Writes::default());
    for &(prefix, stream) in streams {
        if let Some((first, _)) = stream.events.first() {
            clear_from(events_tree, prefix, *first, &mut events)?;
        }
        for (key, value) in runs(prefix, &stream.events) {
            events.insert(key, value);
        }
        if let Some(record) = &stream.snapshot {
            // The chunks of the snapshot this one replaces go, but for those it rewrites.
            let old_chunks = chunks::chunk_key(prefix, 0)..=chunks::last_key(prefix);
            for old in snapshots_tree.range(old_chunks).keys() {
                snapshots.remove(old?);
            }
            for (key, value) in chunks::split(prefix.clone(), record.clone()) {
                snapshots.insert(key, value);
            }
        }
        compact(events_tree, prefix, stream, &mut removals)?;
    }
    Ok(StreamWrites { events, snapshots, removals })
}

/// Removes what sled holds of the stream at `prefix` from `first` on, shortening a value that
/// begins before `first` and reaches it: the tail's events from `first` replace them. Only a
/// checkpoint cut short (its tail is replayed) or a torn record (the stream goes on over it)
/// leaves anything there; otherwise this reads the stream's last key and stops.
fn clear_from(
    tree: &sled::Tree,
    prefix: &[u8],
    first: Seq,
    writes: &mut Writes,
) -> Result<(), JournalError> {
    let head_len = prefix.len() + 8;
    for entry in tree.range(stream_range(prefix, 0)).rev() {
        let (key, value) = entry?;
        let start = first_seq(key.get(..head_len).unwrap_or_default())?;
        if start >= first {
            writes.remove(key);
            continue;
        }
        if key.len() == head_len && value.first() == Some(&RUN) {
            let mut held = Vec::new();
            expand(start, &value, &mut held);
            if held.last().is_some_and(|(seq, _)| *seq >= first) {
                held.retain(|(seq, _)| *seq < first);
                for (key, value) in runs(prefix, &held) {
                    writes.insert(key, value);
                }
            }
        }
        return Ok(());
    }
    Ok(())
}

/// Removes what sled holds of a stream at or below its compaction; a run that straddles it
/// is written again from the first event after it. It reads sled's keys as they are, never
/// joining a chunked record: a checkpoint writes key by key, so the one a crash cut short
/// may have left a head without its chunks, which the log's replay compacts over.
fn compact(
    tree: &sled::Tree,
    prefix: &[u8],
    stream: &StreamTail,
    removals: &mut Writes,
) -> Result<(), JournalError> {
    let upto = stream.compacted_to;
    if upto == 0 {
        return Ok(());
    }
    let covered = keys::event_key(prefix, 0)..=chunks::last_key(&keys::event_key(prefix, upto));
    let head_len = prefix.len() + 8;
    let mut held = Vec::new();
    for entry in tree.range(covered) {
        let (key, value) = entry?;
        removals.remove(key.clone());
        // A chunk, a chunked record's head or a record alone: one event, at or below `upto`.
        if key.len() != head_len || value.first() != Some(&RUN) {
            continue;
        }
        held.clear();
        expand(first_seq(&key)?, &value, &mut held);
        held.retain(|(seq, _)| *seq > upto);
        // Events the tail wrote again at the same keys are not rewritten from the old value.
        held.retain(|(seq, _)| stream.events.first().is_none_or(|(first, _)| seq < first));
        for (key, value) in runs(prefix, &held) {
            removals.insert(key, value);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
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
        let events: Vec<_> = sizes
            .iter()
            .enumerate()
            .map(|(i, &len)| (i as Seq + 1, record(len, i as Seq)))
            .collect();
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
        assert_eq!(read_stream(&trees.events, &prefix, 0).unwrap(), expected);
        assert_eq!(read_stream(&trees.events, &prefix, 4).unwrap(), expected[4..]);

        write_tail(&trees, &tail_of(&prefix, Vec::new(), 2), &stripes).unwrap();
        assert_eq!(read_stream(&trees.events, &prefix, 0).unwrap(), expected[2..]);
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
        for (key, value) in runs(&prefix, &events) {
            trees.events.insert(key, value).unwrap();
        }
        // The crash kept the head of event 2 and lost its last chunk.
        trees.events.remove(chunks::chunk_key(&keys::event_key(&prefix, 2), 1)).unwrap();
        let mut tail = tail_of(&prefix, vec![(5, record(5, 5))], 3);
        tail.streams.get_mut(&prefix).unwrap().snapshot = Some(record(7, 3));
        write_tail(&trees, &tail, &stripes).unwrap();
        let expected = vec![(4, record(5, 4)), (5, record(5, 5))];
        assert_eq!(read_stream(&trees.events, &prefix, 0).unwrap(), expected);
        let left: Vec<_> = trees.events.iter().keys().map(|key| key.unwrap()).collect();
        assert_eq!(left.len(), 2, "every key of the torn record went: {left:?}");
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
}
