//! Key layout of the journal's sled trees.
//!
//! ```text
//! journal   key: kind (u16 BE) | id length (u16 BE) | id bytes | seq (u64 BE)   value: record
//! snapshots key: kind (u16 BE) | id length (u16 BE) | id bytes                  value: record
//! ```
//!
//! Invariant: all of one entity's events share the prefix `kind | len | id` and sort by
//! sequence number, so an entity's history is one contiguous range, read in order. The id's
//! length comes before the id so that no id is a prefix of another entity's range.

use crate::limits::ID_BYTES_MAX;

/// A position in one entity's event stream; the first event is 1.
pub type Seq = u64;

/// Which entity a stream belongs to: its kind and its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Stream<'a> {
    pub kind: u16,
    pub id: &'a str,
}

impl<'a> Stream<'a> {
    pub fn new(kind: u16, id: &'a str) -> Stream<'a> {
        Stream { kind, id }
    }
}

impl std::fmt::Display for Stream<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.kind, self.id)
    }
}

/// The prefix shared by every key of one stream (also its snapshot key).
pub fn stream_prefix(stream: Stream<'_>) -> Vec<u8> {
    let id = stream.id.as_bytes();
    assert!(id.len() <= ID_BYTES_MAX, "entity id longer than ID_BYTES_MAX");
    let mut key = Vec::with_capacity(4 + id.len() + 8);
    key.extend_from_slice(&stream.kind.to_be_bytes());
    key.extend_from_slice(&(id.len() as u16).to_be_bytes());
    key.extend_from_slice(id);
    key
}

/// The prefix of every key of one kind.
pub fn kind_prefix(kind: u16) -> [u8; 2] {
    kind.to_be_bytes()
}

/// The journal key of one event.
pub fn event_key(prefix: &[u8], seq: Seq) -> Vec<u8> {
    let mut key = Vec::with_capacity(prefix.len() + 8);
    key.extend_from_slice(prefix);
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

/// Splits a journal key back into its kind, id and sequence number.
pub fn parse_event_key(key: &[u8]) -> Option<(u16, &str, Seq)> {
    let (kind, id, rest) = split_prefix(key)?;
    let seq = u64::from_be_bytes(rest.try_into().ok()?);
    Some((kind, id, seq))
}

/// Splits a stream's prefix (also its snapshot key) back into its kind and id.
pub fn parse_stream_prefix(prefix: &[u8]) -> Option<(u16, &str)> {
    match split_prefix(prefix)? {
        (kind, id, []) => Some((kind, id)),
        _ => None,
    }
}

/// A key's kind, id, and the bytes after its stream prefix.
fn split_prefix(key: &[u8]) -> Option<(u16, &str, &[u8])> {
    let kind = u16::from_be_bytes(key.get(0..2)?.try_into().ok()?);
    let len = u16::from_be_bytes(key.get(2..4)?.try_into().ok()?) as usize;
    let id = std::str::from_utf8(key.get(4..4 + len)?).ok()?;
    Some((kind, id, key.get(4 + len..)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_keys_round_trip_and_sort_by_seq() {
        let prefix = stream_prefix(Stream::new(7, "sku-1@fra"));
        let a = event_key(&prefix, 2);
        let b = event_key(&prefix, 10);
        assert!(a < b);
        assert_eq!(parse_event_key(&b), Some((7, "sku-1@fra", 10)));
        assert_eq!(parse_stream_prefix(&prefix), Some((7, "sku-1@fra")));
        assert_eq!(parse_stream_prefix(&b), None);
    }

    #[test]
    fn no_id_is_a_prefix_of_another_stream() {
        let short = stream_prefix(Stream::new(1, "ab"));
        let long = event_key(&stream_prefix(Stream::new(1, "abc")), 1);
        assert!(!long.starts_with(&short));
    }
}
