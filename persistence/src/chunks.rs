//! How a record larger than a sled value is stored as several keys, so that sled never
//! writes a blob file.
//!
//! sled 0.34.7 writes any page fragment over a quarter of its segment (128 KiB by default) to a
//! file of its own under `blobs/`, and neither syncs that file nor orders its removal after the
//! write that replaces it (its flush is a `sync_file_range`): after a power loss the log can
//! point at a blob that never reached the disk, and sled then loses the page or will not open.
//! A leaf holds at most 17 entries before it splits, so keeping every value at or under
//! [`VALUE_BYTES_MAX`] keeps every page fragment far under the blob threshold, whatever the
//! size of a record.
//!
//! ```text
//! small record:  key                   -> record
//! large record:  key                   -> CHUNKED (u8) | record length (u32 BE) | chunks (u32 BE)
//!                key | 0u32 BE         -> record bytes [0, VALUE_BYTES_MAX)
//!                key | 1u32 BE         -> record bytes [VALUE_BYTES_MAX, 2 * VALUE_BYTES_MAX)
//!                ...
//! ```
//!
//! Invariants:
//! - A record's first byte is its codec version, never [`CHUNKED`], so a head is never
//!   mistaken for a record.
//! - A chunk key is its record's key plus four bytes, so it sorts right after its head and
//!   before the next record's key of the same stream (event keys of one stream all have the
//!   same length); a range over records is a range over their chunks too.
//! - A checkpoint writes a head and its chunks key by key (no sled batch: see
//!   `sled_journal/apply.rs`), so the checkpoint a crash cuts short may leave one without
//!   the others. Only there: that checkpoint was not recorded, so the next open replays its
//!   whole tail, and the replay's rewrites and compactions read raw keys, never joining a
//!   record (`sled_journal/store.rs`). Anywhere else, a head whose chunks do not follow it is
//!   corruption.

use crate::journal::JournalError;
use crate::limits::VALUE_BYTES_MAX;

/// First byte of a head: the record is stored in chunks.
pub const CHUNKED: u8 = 0xFF;

const _: () = assert!(crate::codec::FORMAT_VERSION != CHUNKED);
const HEAD_BYTES: usize = 9;

/// The key of chunk `index` of the record at `key`.
pub fn chunk_key(key: &[u8], index: u32) -> Vec<u8> {
    let mut chunk = Vec::with_capacity(key.len() + 4);
    chunk.extend_from_slice(key);
    chunk.extend_from_slice(&index.to_be_bytes());
    chunk
}

/// The last key a record at `key` may occupy: a range ending here holds all its chunks.
pub fn last_key(key: &[u8]) -> Vec<u8> {
    chunk_key(key, u32::MAX)
}

/// The sled entries that store `record` at `key`: itself, or a head and its chunks.
pub fn split(key: Vec<u8>, record: Vec<u8>) -> Vec<(Vec<u8>, Vec<u8>)> {
    if record.len() <= VALUE_BYTES_MAX {
        return vec![(key, record)];
    }
    let pieces = record.chunks(VALUE_BYTES_MAX);
    let mut head = Vec::with_capacity(HEAD_BYTES);
    head.push(CHUNKED);
    head.extend_from_slice(&(record.len() as u32).to_be_bytes());
    head.extend_from_slice(&(pieces.len() as u32).to_be_bytes());
    let mut entries = Vec::with_capacity(pieces.len() + 1);
    entries
        .extend(pieces.enumerate().map(|(i, piece)| (chunk_key(&key, i as u32), piece.to_vec())));
    entries.insert(0, (key, head));
    entries
}

/// `(record length, chunks)` when `value` is a head, `None` when it is a whole record.
pub fn head(value: &[u8]) -> Option<(usize, u32)> {
    if value.len() != HEAD_BYTES || value[0] != CHUNKED {
        return None;
    }
    let len = u32::from_be_bytes(value[1..5].try_into().expect("4 bytes")) as usize;
    let chunks = u32::from_be_bytes(value[5..9].try_into().expect("4 bytes"));
    Some((len, chunks))
}

/// Reads the record at `key` of `tree`: the value itself, or its chunks put back together.
pub fn get(tree: &sled::Tree, key: &[u8]) -> Result<Option<sled::IVec>, JournalError> {
    let Some(value) = tree.get(key)? else { return Ok(None) };
    let Some((len, chunks)) = head(&value) else { return Ok(Some(value)) };
    let mut entries = tree.range(chunk_key(key, 0)..=last_key(key));
    join(key, len, chunks, &mut entries).map(Some)
}

/// Puts the chunks of the record at `key` back together from the entries that follow its head.
fn join(
    key: &[u8],
    len: usize,
    chunks: u32,
    entries: &mut dyn Iterator<Item = sled::Result<(sled::IVec, sled::IVec)>>,
) -> Result<sled::IVec, JournalError> {
    let mut record = Vec::with_capacity(len);
    for index in 0..chunks {
        let missing = || JournalError::Io(format!("chunk {index} of a record is missing").into());
        let (chunk_key_found, piece) = entries.next().ok_or_else(missing)??;
        if chunk_key_found.as_ref() != chunk_key(key, index).as_slice() {
            return Err(missing());
        }
        record.extend_from_slice(&piece);
    }
    if record.len() != len {
        return Err(JournalError::Io(
            format!("a chunked record holds {} bytes, its head says {len}", record.len()).into(),
        ));
    }
    Ok(record.into())
}

/// The records of a sled range: each head is replaced by its record put back together, and
/// its chunks are consumed.
pub fn records<I>(entries: I) -> Records<I>
where
    I: Iterator<Item = sled::Result<(sled::IVec, sled::IVec)>>,
{
    Records { entries }
}

pub struct Records<I> {
    entries: I,
}

impl<I> Iterator for Records<I>
where
    I: Iterator<Item = sled::Result<(sled::IVec, sled::IVec)>>,
{
    type Item = Result<(sled::IVec, sled::IVec), JournalError>;

    fn next(&mut self) -> Option<Self::Item> {
        let (key, value) = match self.entries.next()? {
            Ok(entry) => entry,
            Err(error) => return Some(Err(error.into())),
        };
        match head(&value) {
            None => Some(Ok((key, value))),
            Some((len, chunks)) => {
                Some(join(&key, len, chunks, &mut self.entries).map(|record| (key, record)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> sled::Tree {
        let db = sled::Config::new().temporary(true).open().unwrap();
        db.open_tree("t").unwrap()
    }

    fn store(tree: &sled::Tree, key: &[u8], record: &[u8]) {
        for (k, v) in split(key.to_vec(), record.to_vec()) {
            assert!(v.len() <= VALUE_BYTES_MAX);
            tree.insert(k, v).unwrap();
        }
    }

    #[test]
    fn records_of_every_size_come_back_whole_and_in_order() {
        let tree = tree();
        let sizes = [0, 1, VALUE_BYTES_MAX - 1, VALUE_BYTES_MAX, VALUE_BYTES_MAX + 1, 350_000];
        let written: Vec<Vec<u8>> = sizes
            .iter()
            .enumerate()
            .map(|(i, &len)| (0..len).map(|b| (b * 7 + i) as u8 | 1).collect())
            .collect();
        for (i, record) in written.iter().enumerate() {
            store(&tree, &[b'k', i as u8], record);
        }
        for (i, record) in written.iter().enumerate() {
            assert_eq!(get(&tree, &[b'k', i as u8]).unwrap().unwrap().as_ref(), record.as_slice());
        }
        let read: Vec<Vec<u8>> =
            records(tree.iter()).map(|entry| entry.unwrap().1.to_vec()).collect();
        assert_eq!(read, written);
    }

    #[test]
    fn a_missing_chunk_is_an_error() {
        let tree = tree();
        store(&tree, b"k", &vec![1u8; VALUE_BYTES_MAX * 3]);
        tree.remove(chunk_key(b"k", 1)).unwrap();
        assert!(get(&tree, b"k").is_err());
        assert!(records(tree.iter()).any(|entry| entry.is_err()));
    }

    #[test]
    fn a_head_is_never_a_record() {
        // Every record starts with its codec version byte.
        let record = crate::codec::Record::from_payload(&[0xFF; 4]).into_bytes();
        assert_eq!(record.len(), HEAD_BYTES);
        assert_eq!(head(&record), None);
    }
}
