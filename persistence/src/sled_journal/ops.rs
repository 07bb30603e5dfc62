//! A journal write as a log entry's payload.
//!
//! ```text
//! payload: events (u32 LE) | { key | record }*  snapshots (u32 LE) | { key | record }*
//!          compact (u8: 0 or 1) | [ from key | to key ]
//!          index rows (u32 LE) | { key | put (u8: 0 or 1) | [ value ] }*
//! key, record, from, to, value: length (u32 LE) | bytes
//! ```
//!
//! The writer and recovery read entries back through the same [`Ops::parse`] into the tail
//! (`tail.rs`), so the path a recovery takes is the one every write takes. Within an entry,
//! events come first, then snapshots, then the compaction, then the index rows, the order
//! they take effect in. An entry written before the index existed ends after the compaction
//! and parses with no index rows.

use crate::journal::{IndexWrite, JournalError};

/// Builds the payload of one write on the caller's thread.
#[derive(Default)]
pub(super) struct OpsWriter {
    bytes: Vec<u8>,
}

impl OpsWriter {
    /// A payload of `events`, then `snapshots`, then an optional compaction range, then
    /// index rows.
    pub fn encode<'a>(
        events: impl ExactSizeIterator<Item = (Vec<u8>, &'a [u8])>,
        snapshots: &[(Vec<u8>, Vec<u8>)],
        compact: Option<&(Vec<u8>, Vec<u8>)>,
        index: &[IndexWrite],
        record_bytes: usize,
    ) -> Vec<u8> {
        let mut writer = OpsWriter { bytes: Vec::with_capacity(record_bytes + 64) };
        writer.count(events.len());
        for (key, record) in events {
            writer.field(&key);
            writer.field(record);
        }
        writer.count(snapshots.len());
        for (key, record) in snapshots {
            writer.field(key);
            writer.field(record);
        }
        match compact {
            None => writer.bytes.push(0),
            Some((from, to)) => {
                writer.bytes.push(1);
                writer.field(from);
                writer.field(to);
            }
        }
        writer.count(index.len());
        for (key, value) in index {
            writer.field(key);
            match value {
                None => writer.bytes.push(0),
                Some(value) => {
                    writer.bytes.push(1);
                    writer.field(value);
                }
            }
        }
        writer.bytes
    }

    fn count(&mut self, n: usize) {
        let n = u32::try_from(n).expect("fewer than 4 billion records in one write");
        self.bytes.extend_from_slice(&n.to_le_bytes());
    }

    fn field(&mut self, bytes: &[u8]) {
        self.count(bytes.len());
        self.bytes.extend_from_slice(bytes);
    }
}

/// One entry's effects, borrowed from its payload.
pub(super) struct Ops<'a> {
    pub events: Vec<(&'a [u8], &'a [u8])>,
    pub snapshots: Vec<(&'a [u8], &'a [u8])>,
    pub compact: Option<(&'a [u8], &'a [u8])>,
    /// Index rows put (`Some`) or removed (`None`), in the order written.
    pub index: Vec<(&'a [u8], Option<&'a [u8]>)>,
}

impl<'a> Ops<'a> {
    /// Reads a payload written by [`OpsWriter::encode`].
    pub fn parse(payload: &'a [u8]) -> Result<Ops<'a>, JournalError> {
        let mut reader = Reader { bytes: payload };
        let bad = || JournalError::Io("a write-ahead log entry does not parse".into());
        let pairs = |reader: &mut Reader<'a>| -> Option<Vec<(&'a [u8], &'a [u8])>> {
            let n = reader.count()?;
            (0..n).map(|_| Some((reader.field()?, reader.field()?))).collect()
        };
        let events = pairs(&mut reader).ok_or_else(bad)?;
        let snapshots = pairs(&mut reader).ok_or_else(bad)?;
        let compact = match reader.take(1).ok_or_else(bad)? {
            [0] => None,
            [1] => Some((reader.field().ok_or_else(bad)?, reader.field().ok_or_else(bad)?)),
            _ => return Err(bad()),
        };
        let index = if reader.bytes.is_empty() {
            Vec::new()
        } else {
            let n = reader.count().ok_or_else(bad)?;
            let row = |reader: &mut Reader<'a>| -> Option<(&'a [u8], Option<&'a [u8]>)> {
                let key = reader.field()?;
                match reader.take(1)? {
                    [0] => Some((key, None)),
                    [1] => Some((key, Some(reader.field()?))),
                    _ => None,
                }
            };
            (0..n).map(|_| row(&mut reader)).collect::<Option<Vec<_>>>().ok_or_else(bad)?
        };
        if !reader.bytes.is_empty() {
            return Err(bad());
        }
        Ok(Ops { events, snapshots, compact, index })
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (taken, rest) = self.bytes.split_at_checked(n)?;
        self.bytes = rest;
        Some(taken)
    }

    fn count(&mut self) -> Option<usize> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?) as usize)
    }

    fn field(&mut self) -> Option<&'a [u8]> {
        let n = self.count()?;
        self.take(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payload_parses_back_to_what_was_encoded() {
        let events = [(b"k1".to_vec(), &b"r1"[..]), (b"k2".to_vec(), &b""[..])];
        let snapshots = [(b"s".to_vec(), b"state".to_vec())];
        let compact = (b"from".to_vec(), b"to".to_vec());
        let index = [(b"i1".to_vec(), Some(b"v".to_vec())), (b"i2".to_vec(), None)];
        let payload = OpsWriter::encode(events.into_iter(), &snapshots, Some(&compact), &index, 0);
        let ops = Ops::parse(&payload).unwrap();
        assert_eq!(ops.events, [(&b"k1"[..], &b"r1"[..]), (&b"k2"[..], &b""[..])]);
        assert_eq!(ops.snapshots, [(&b"s"[..], &b"state"[..])]);
        assert_eq!(ops.compact, Some((&b"from"[..], &b"to"[..])));
        assert_eq!(ops.index, [(&b"i1"[..], Some(&b"v"[..])), (&b"i2"[..], None)]);
        let empty = OpsWriter::encode(std::iter::empty(), &[], None, &[], 0);
        assert!(Ops::parse(&empty).unwrap().events.is_empty());
    }

    #[test]
    fn an_entry_written_before_the_index_existed_parses_with_no_rows() {
        let payload =
            OpsWriter::encode([(b"k".to_vec(), &b"r"[..])].into_iter(), &[], None, &[], 0);
        let before_the_index = &payload[..payload.len() - 4];
        let ops = Ops::parse(before_the_index).unwrap();
        assert_eq!(ops.events.len(), 1);
        assert!(ops.index.is_empty());
    }

    #[test]
    fn a_short_or_padded_payload_is_refused() {
        let index = [(b"i".to_vec(), Some(b"v".to_vec()))];
        let payload =
            OpsWriter::encode([(b"k".to_vec(), &b"r"[..])].into_iter(), &[], None, &index, 0);
        // Cut right after the compaction is an entry of the older format, which parses.
        let older_format_end = payload.len() - (4 + 4 + 1 + 1 + 4 + 1);
        for cut in (0..payload.len()).filter(|&cut| cut != older_format_end) {
            assert!(Ops::parse(&payload[..cut]).is_err(), "cut at {cut}");
        }
        let mut padded = payload.clone();
        padded.push(0);
        assert!(Ops::parse(&padded).is_err());
    }
}
