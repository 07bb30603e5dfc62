//! The tail: acknowledged writes that no checkpoint has put into sled yet, by stream.
//!
//! The writer adds each durable group here before it acknowledges the group, so a read that
//! begins after an acknowledgement finds the write here or, once a checkpoint has taken the
//! tail, in sled. A checkpoint freezes the tail (a new empty one takes its place), writes the
//! frozen one into sled ([`super::store::write_tail`]) and drops it only once sled holds it.
//!
//! Invariants of one [`Tail`]:
//! - A stream's events are kept in sequence order, one record per sequence number (a record
//!   written again for the same number replaces the earlier one, as a sled put would).
//! - A compaction up to `seq` drops the stream's events at or below `seq` here and is kept
//!   (`compacted_to`) so the checkpoint removes those sled holds.
//! - `last_index` is the log index of the last entry added: what a checkpoint of this tail
//!   covers.
//! - `index` holds each index row's last write (`None`: removed), which a checkpoint applies
//!   over what sled holds, as a newer tail's rows apply over an older's.

use std::collections::{BTreeMap, HashMap};

use super::ops::Ops;
use crate::journal::JournalError;
use crate::keys::{self, Seq};

/// One stream's unapplied writes.
#[derive(Debug, Default)]
pub(super) struct StreamTail {
    /// `(seq, record)` in sequence order.
    pub events: Vec<(Seq, Vec<u8>)>,
    /// The latest snapshot record written, if any.
    pub snapshot: Option<Vec<u8>>,
    /// Events at or below this are covered by a compacting snapshot (0: none).
    pub compacted_to: Seq,
}

impl StreamTail {
    fn put_event(&mut self, seq: Seq, record: &[u8]) {
        match self.events.last() {
            Some((last, _)) if *last >= seq => {
                match self.events.binary_search_by_key(&seq, |(s, _)| *s) {
                    Ok(at) => self.events[at].1 = record.to_vec(),
                    Err(at) => self.events.insert(at, (seq, record.to_vec())),
                }
            }
            _ => self.events.push((seq, record.to_vec())),
        }
    }

    /// Adds this (newer) tail's writes to what `into` holds of an older one.
    fn read_into(&self, into: &mut TailRead) {
        overlay(&mut into.events, self.compacted_to, self.events.iter().cloned());
        if self.snapshot.is_some() {
            into.snapshot.clone_from(&self.snapshot);
        }
        into.compacted_to = into.compacted_to.max(self.compacted_to);
    }

    fn compact(&mut self, upto: Seq) {
        self.events.retain(|(seq, _)| *seq > upto);
        self.compacted_to = self.compacted_to.max(upto);
    }
}

/// Unapplied writes of every stream, keyed by the stream's key prefix.
#[derive(Debug, Default)]
pub(super) struct Tail {
    pub streams: HashMap<Vec<u8>, StreamTail>,
    /// The last write of each index row touched (`None`: removed).
    pub index: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    /// Record bytes added (an estimate of the memory held, not reduced by compactions).
    pub bytes: u64,
    pub last_index: u64,
}

/// What the tail holds of one stream, copied out for a read.
#[derive(Debug, Default)]
pub(super) struct TailRead {
    pub events: Vec<(Seq, Vec<u8>)>,
    /// The newest snapshot record written.
    pub snapshot: Option<Vec<u8>>,
    /// Older events at or below this are covered by a compaction in the tail.
    pub compacted_to: Seq,
}

impl TailRead {
    /// The stream's events: `stored` (what sled holds, in order) with the tail's over them.
    pub fn over(self, mut stored: Vec<(Seq, Vec<u8>)>) -> Vec<(Seq, Vec<u8>)> {
        overlay(&mut stored, self.compacted_to, self.events);
        stored
    }
}

/// Lays `newer` events (in order) over `older` ones (in order), the one rule for a newer tail
/// over an older one and for the tail over sled: `older`'s events a compaction up to
/// `compacted_to` covers go, and `newer`'s events from their first on replace `older`'s from
/// there, as a checkpoint's do in sled (`store::write_tail`).
fn overlay(
    older: &mut Vec<(Seq, Vec<u8>)>,
    compacted_to: Seq,
    newer: impl IntoIterator<Item = (Seq, Vec<u8>)>,
) {
    let mut newer = newer.into_iter().peekable();
    let first = newer.peek().map_or(Seq::MAX, |(seq, _)| *seq);
    older.retain(|(seq, _)| *seq > compacted_to && *seq < first);
    older.extend(newer);
}

impl Tail {
    /// Whether no entry was added (an entry may have no effect: an append of no events).
    pub fn is_empty(&self) -> bool {
        self.last_index == 0
    }

    /// Adds log entry `index`: events, then snapshots, then its compaction, as written.
    pub fn add(&mut self, index: u64, ops: &Ops<'_>) -> Result<(), JournalError> {
        for (key, record) in &ops.events {
            let (prefix, seq) = split_key(key)?;
            self.stream(prefix).put_event(seq, record);
            self.bytes += record.len() as u64;
        }
        for (prefix, record) in &ops.snapshots {
            self.stream(prefix).snapshot = Some(record.to_vec());
            self.bytes += record.len() as u64;
        }
        if let Some((_, to)) = ops.compact {
            let (prefix, seq) = split_key(to)?;
            self.stream(prefix).compact(seq);
        }
        for (key, value) in &ops.index {
            self.bytes += (key.len() + value.map_or(0, <[u8]>::len)) as u64;
            self.index.insert(key.to_vec(), value.map(<[u8]>::to_vec));
        }
        self.last_index = index;
        Ok(())
    }

    fn stream(&mut self, prefix: &[u8]) -> &mut StreamTail {
        if !self.streams.contains_key(prefix) {
            self.streams.insert(prefix.to_vec(), StreamTail::default());
        }
        self.streams.get_mut(prefix).expect("inserted above")
    }

    /// Copies out what this tail holds of the stream at `prefix`, after what `into` holds
    /// already (an older tail's).
    pub fn read_into(&self, prefix: &[u8], into: &mut TailRead) {
        if let Some(stream) = self.streams.get(prefix) {
            stream.read_into(into);
        }
    }

    /// Copies out what this tail holds of every stream of `kind`, after what `into` holds.
    pub fn read_kind_into(&self, kind: u16, into: &mut BTreeMap<Vec<u8>, TailRead>) {
        let kind = keys::kind_prefix(kind);
        for (prefix, stream) in self.streams.iter().filter(|(p, _)| p.starts_with(&kind)) {
            stream.read_into(into.entry(prefix.clone()).or_default());
        }
    }
}

/// What tails hold of the index rows in a range: each row's last write, newest tail last.
pub(super) type IndexRead = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

impl Tail {
    /// Adds this (newer) tail's writes of the index rows in `range` over what `into` holds.
    pub fn read_index_into(
        &self,
        range: (std::ops::Bound<&[u8]>, std::ops::Bound<&[u8]>),
        into: &mut IndexRead,
    ) {
        for (key, value) in self.index.range::<[u8], _>(range) {
            into.insert(key.clone(), value.clone());
        }
    }
}

/// A journal key's stream prefix and sequence number.
fn split_key(key: &[u8]) -> Result<(&[u8], Seq), JournalError> {
    match keys::parse_event_key(key) {
        Some((_, _, seq)) => Ok((&key[..key.len() - 8], seq)),
        None => Err(JournalError::Io("a write-ahead log entry holds an unparsable key".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{Stream, event_key, stream_prefix};

    fn ops_of<'a>(events: &'a [(Vec<u8>, Vec<u8>)]) -> Ops<'a> {
        Ops {
            events: events.iter().map(|(k, r)| (k.as_slice(), r.as_slice())).collect(),
            snapshots: Vec::new(),
            compact: None,
            index: Vec::new(),
        }
    }

    #[test]
    fn events_stay_in_order_and_a_rewrite_replaces() {
        let prefix = stream_prefix(Stream::new(1, "a"));
        let written: Vec<_> =
            [3, 1, 2, 2].iter().map(|s| (event_key(&prefix, *s), vec![*s as u8])).collect();
        let mut tail = Tail::default();
        tail.add(7, &ops_of(&written)).unwrap();
        let seqs: Vec<Seq> = tail.streams[&prefix].events.iter().map(|(s, _)| *s).collect();
        assert_eq!(seqs, [1, 2, 3]);
        assert_eq!(tail.last_index, 7);
    }

    #[test]
    fn a_compaction_drops_what_it_covers_here_and_in_an_older_tail_read() {
        let prefix = stream_prefix(Stream::new(1, "a"));
        let written: Vec<_> = (1..=4).map(|s| (event_key(&prefix, s), vec![s as u8])).collect();
        let mut older = Tail::default();
        older.add(1, &ops_of(&written[..2])).unwrap();
        let mut newer = Tail::default();
        newer.add(2, &ops_of(&written[2..])).unwrap();
        let compact = (event_key(&prefix, 1), event_key(&prefix, 3));
        let snapshot = [(prefix.as_slice(), &b"state"[..])];
        let ops = Ops {
            events: Vec::new(),
            snapshots: snapshot.to_vec(),
            compact: Some((&compact.0, &compact.1)),
            index: Vec::new(),
        };
        newer.add(3, &ops).unwrap();
        let mut read = TailRead::default();
        older.read_into(&prefix, &mut read);
        newer.read_into(&prefix, &mut read);
        assert_eq!(read.events, [(4, vec![4])]);
        assert_eq!(read.snapshot, Some(b"state".to_vec()));
    }

    #[test]
    fn a_newer_tail_replaces_an_older_ones_events_from_its_first_on() {
        let prefix = stream_prefix(Stream::new(1, "a"));
        let older: Vec<_> = (1..=3).map(|s| (event_key(&prefix, s), vec![s as u8])).collect();
        let newer = vec![(event_key(&prefix, 2), vec![20])];
        let (mut old_tail, mut new_tail) = (Tail::default(), Tail::default());
        old_tail.add(1, &ops_of(&older)).unwrap();
        new_tail.add(2, &ops_of(&newer)).unwrap();
        let mut read = TailRead::default();
        old_tail.read_into(&prefix, &mut read);
        new_tail.read_into(&prefix, &mut read);
        assert_eq!(read.events, [(1, vec![1]), (2, vec![20])]);
    }
}
