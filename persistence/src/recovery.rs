//! Reading a stream back: the rules for snapshots, gaps and corrupt records, shared by every
//! journal so that each recovers the same way.
//!
//! Invariants:
//! - Events after the snapshot must run `snapshot + 1, snapshot + 2, ...` with no gap.
//! - A corrupt record that is the last of its stream is a torn write: dropped with a warning.
//! - A corrupt record followed by a valid one is a hard error naming kind, id and seq; it is
//!   never silently skipped.

use crate::codec::{self, CodecError};
use crate::journal::{JournalError, Loaded, Replayed, StoredEvent};
use crate::keys::{self, Seq, Stream};

/// Decodes a snapshot record: its payload is `seq (u64 BE) | state`.
pub fn read_snapshot(stream: Stream<'_>, record: &[u8]) -> Result<(Seq, Vec<u8>), JournalError> {
    let corrupt = |source| JournalError::CorruptSnapshot { stream: stream.to_string(), source };
    let payload = codec::verify(record).map_err(corrupt)?;
    let seq_bytes =
        payload.get(..8).ok_or(corrupt(CodecError::Truncated { len: payload.len() }))?;
    let seq = u64::from_be_bytes(seq_bytes.try_into().expect("8 bytes"));
    Ok((seq, payload[8..].to_vec()))
}

/// The payload of a snapshot record, before framing: `seq (u64 BE) | state`.
pub fn snapshot_payload(seq: Seq, state: &[u8]) -> Vec<u8> {
    let mut payload = Vec::with_capacity(8 + state.len());
    payload.extend_from_slice(&seq.to_be_bytes());
    payload.extend_from_slice(state);
    payload
}

/// A snapshot as every journal writes it: its key in the snapshots tree, the framed record,
/// and the inclusive range of event keys a compaction removes (none at seq 0).
pub struct SnapshotWrite {
    pub key: Vec<u8>,
    pub record: Vec<u8>,
    pub compact: Option<(Vec<u8>, Vec<u8>)>,
}

/// Prepares a snapshot write, refusing a state over the record size limit.
pub fn snapshot_write(
    stream: Stream<'_>,
    seq: Seq,
    state: &crate::codec::Record,
    compact: bool,
) -> Result<SnapshotWrite, JournalError> {
    crate::journal::check_record_sizes([state])?;
    let key = keys::stream_prefix(stream);
    let record =
        crate::codec::Record::from_payload(&snapshot_payload(seq, state.payload())).into_bytes();
    let compact =
        (compact && seq > 0).then(|| (keys::event_key(&key, 1), keys::event_key(&key, seq)));
    Ok(SnapshotWrite { key, record, compact })
}

/// Checks one stream's records in order and hands each valid payload on.
pub struct StreamReader {
    stream: String,
    expected: Seq,
    torn: Option<(Seq, CodecError)>,
}

impl StreamReader {
    /// A reader for the events after `after` (the snapshot's seq, or 0).
    pub fn new(stream: Stream<'_>, after: Seq) -> StreamReader {
        StreamReader { stream: stream.to_string(), expected: after + 1, torn: None }
    }

    /// Checks the next record; returns its payload, or `None` for a possibly torn one.
    pub fn next<'r>(
        &mut self,
        seq: Seq,
        record: &'r [u8],
    ) -> Result<Option<&'r [u8]>, JournalError> {
        if let Some((bad_seq, source)) = self.torn.take() {
            return Err(JournalError::Corrupt {
                stream: self.stream.clone(),
                seq: bad_seq,
                source,
            });
        }
        if seq != self.expected {
            return Err(JournalError::Gap {
                stream: self.stream.clone(),
                expected: self.expected,
                found: seq,
            });
        }
        self.expected += 1;
        match codec::verify(record) {
            Ok(payload) => Ok(Some(payload)),
            Err(source) => {
                self.torn = Some((seq, source));
                Ok(None)
            }
        }
    }

    /// Ends the stream: a corrupt last record is dropped with a warning.
    pub fn finish(self) {
        if let Some((seq, source)) = self.torn {
            tracing::warn!(stream = %self.stream, seq, error = %source, "dropping torn record at the tail");
        }
    }
}

/// Builds a [`Loaded`] from a snapshot (as [`read_snapshot`] returns it: the caller needed
/// its seq to know which events to read) and the event records after it.
pub fn load_stream<'r>(
    stream: Stream<'_>,
    snapshot: Option<(Seq, Vec<u8>)>,
    events: impl Iterator<Item = Result<(Seq, &'r [u8]), JournalError>>,
) -> Result<Loaded, JournalError> {
    let after = snapshot.as_ref().map_or(0, |(seq, _)| *seq);
    let mut reader = StreamReader::new(stream, after);
    let mut loaded = Loaded { snapshot, events: Vec::new() };
    for event in events {
        let (seq, record) = event?;
        if let Some(payload) = reader.next(seq, record)? {
            loaded.events.push(StoredEvent { seq, payload: payload.to_vec() });
        }
    }
    reader.finish();
    Ok(loaded)
}

/// One stream of a kind as a journal holds it, for [`replay_stream`]: its key prefix, its
/// latest snapshot record, and its event records in order (the snapshot may cover the first
/// of them; a compaction may have removed them).
#[derive(Debug, Default)]
pub struct KindStream {
    pub prefix: Vec<u8>,
    pub snapshot: Option<Vec<u8>>,
    pub events: Vec<(Seq, Vec<u8>)>,
}

/// Visits one stream of `kind` as [`load_stream`] reads it: its snapshot, if any, then the
/// events after it, checked the same way. Returns how many events were visited.
pub fn replay_stream(
    kind: u16,
    stored: &KindStream,
    visit: &mut dyn FnMut(&str, Replayed<'_>),
) -> Result<u64, JournalError> {
    let (_, id) = keys::parse_stream_prefix(&stored.prefix)
        .ok_or_else(|| JournalError::Io(format!("unparsable journal key of kind {kind}").into()))?;
    let stream = Stream::new(kind, id);
    let after = match &stored.snapshot {
        Some(record) => {
            let (seq, state) = read_snapshot(stream, record)?;
            visit(id, Replayed::Snapshot { seq, state: &state });
            seq
        }
        None => 0,
    };
    let mut reader = StreamReader::new(stream, after);
    let mut visited = 0;
    for (seq, record) in stored.events.iter().filter(|(seq, _)| *seq > after) {
        if let Some(payload) = reader.next(*seq, record)? {
            visit(id, Replayed::Event { seq: *seq, payload });
            visited += 1;
        }
    }
    reader.finish();
    Ok(visited)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::Record;

    fn rec(n: u8) -> Vec<u8> {
        Record::from_payload(&[n]).into_bytes()
    }

    fn load(snapshot: Option<Vec<u8>>, events: &[(Seq, Vec<u8>)]) -> Result<Loaded, JournalError> {
        let stream = Stream::new(1, "a");
        let snapshot = snapshot.map(|record| read_snapshot(stream, &record)).transpose()?;
        load_stream(stream, snapshot, events.iter().map(|(s, r)| Ok((*s, r.as_slice()))))
    }

    #[test]
    fn torn_tail_is_dropped() {
        let mut torn = rec(3);
        torn.truncate(3);
        let loaded = load(None, &[(1, rec(1)), (2, rec(2)), (3, torn)]).unwrap();
        assert_eq!(loaded.events.len(), 2);
        assert_eq!(loaded.last_seq(), 2);
    }

    #[test]
    fn corrupt_middle_is_a_hard_error_naming_the_seq() {
        let mut bad = rec(2);
        bad[5] ^= 1;
        let err = load(None, &[(1, rec(1)), (2, bad), (3, rec(3))]).unwrap_err();
        assert!(matches!(err, JournalError::Corrupt { seq: 2, .. }), "{err}");
        assert!(err.to_string().contains("1/a"));
    }

    #[test]
    fn gap_is_an_error() {
        let err = load(None, &[(1, rec(1)), (3, rec(3))]).unwrap_err();
        assert!(matches!(err, JournalError::Gap { expected: 2, found: 3, .. }));
    }

    #[test]
    fn events_resume_after_the_snapshot() {
        let snap = Record::from_payload(&snapshot_payload(2, b"state")).into_bytes();
        let loaded = load(Some(snap), &[(3, rec(3))]).unwrap();
        assert_eq!(loaded.snapshot, Some((2, b"state".to_vec())));
        assert_eq!(loaded.last_seq(), 3);
    }
}
