//! One entry of the write-ahead log on disk, and reading a segment of them back.
//!
//! ```text
//! +-------------+---------------+---------+-------------+--------------+-----------+
//! | len (u32 LE)| crc32 (u32 LE)| version | term (u64 LE)| index (u64 LE)| payload   |
//! | payload len | see below     | 1 byte  |              |              | len bytes |
//! +-------------+---------------+---------+-------------+--------------+-----------+
//! ```
//!
//! The checksum covers `payload ‖ version ‖ term ‖ index`: a caller hashes its payload on its
//! own thread ([`Payload::new`]), and the writer finishes the sum once it has given the entry
//! its index, without reading the payload again.
//!
//! Invariants of a segment as read back ([`scan`]):
//! - Entries are consecutive: each index is one more than the one before, starting at the
//!   index the segment's name gives.
//! - Zeros after the last entry are the end (a segment is extended with zeros ahead of its
//!   appends). An entry that fails its checksum (or runs past the end of the file) with no
//!   valid entry after it is a torn write, the tail of an append the power cut:
//!   [`Scan::torn_at`]. One followed by a valid entry is corruption in the middle: an error
//!   naming its offset.

/// The frame format this build writes and reads.
pub const FRAME_VERSION: u8 = 1;

/// Bytes before the payload.
pub const HEADER_BYTES: usize = 4 + 4 + 1 + 8 + 8;

/// A payload on its way into the log, with its checksum begun.
pub struct Payload {
    bytes: Vec<u8>,
    crc: crc32fast::Hasher,
}

impl Payload {
    /// Hashes `bytes`: the costly part of framing, done on the caller's thread.
    pub fn new(bytes: Vec<u8>) -> Payload {
        let mut crc = crc32fast::Hasher::new();
        crc.update(&bytes);
        Payload { bytes, crc }
    }

    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

/// Appends the frame of entry `index` to `buf`.
pub fn push(buf: &mut Vec<u8>, term: u64, index: u64, payload: &Payload) {
    let len = u32::try_from(payload.bytes.len()).expect("a log entry is smaller than 4 GiB");
    let mut crc = payload.crc.clone();
    crc.update(&trailer(term, index));
    buf.reserve(HEADER_BYTES + payload.bytes.len());
    buf.extend_from_slice(&len.to_le_bytes());
    buf.extend_from_slice(&crc.finalize().to_le_bytes());
    buf.push(FRAME_VERSION);
    buf.extend_from_slice(&term.to_le_bytes());
    buf.extend_from_slice(&index.to_le_bytes());
    buf.extend_from_slice(&payload.bytes);
}

/// What the checksum covers after the payload.
fn trailer(term: u64, index: u64) -> [u8; 17] {
    let mut bytes = [0; 17];
    bytes[0] = FRAME_VERSION;
    bytes[1..9].copy_from_slice(&term.to_le_bytes());
    bytes[9..].copy_from_slice(&index.to_le_bytes());
    bytes
}

/// An entry as read back, its payload borrowed from the segment's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    pub term: u64,
    pub index: u64,
    pub payload: &'a [u8],
}

/// Parses the frame at the start of `bytes`, with its length on disk; `None` if no valid
/// frame starts there (too short, unknown version, or a checksum that does not match).
pub fn parse(bytes: &[u8]) -> Option<(Frame<'_>, usize)> {
    let header = bytes.get(..HEADER_BYTES)?;
    let u64_at = |at: usize| u64::from_le_bytes(header[at..at + 8].try_into().expect("8 bytes"));
    let len = u32::from_le_bytes(header[..4].try_into().expect("4 bytes")) as usize;
    let stored = u32::from_le_bytes(header[4..8].try_into().expect("4 bytes"));
    if header[8] != FRAME_VERSION {
        return None;
    }
    let (term, index) = (u64_at(9), u64_at(17));
    let payload = bytes.get(HEADER_BYTES..HEADER_BYTES.checked_add(len)?)?;
    let mut crc = crc32fast::Hasher::new();
    crc.update(payload);
    crc.update(&trailer(term, index));
    (crc.finalize() == stored).then_some((Frame { term, index, payload }, HEADER_BYTES + len))
}

/// A segment as read back.
#[derive(Debug)]
pub struct Scan<'a> {
    /// Its valid entries, in order.
    pub frames: Vec<Frame<'a>>,
    /// Where a torn entry begins, if the segment ends with one.
    pub torn_at: Option<usize>,
}

/// What makes a segment unreadable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScanError {
    #[error("corrupt entry at byte {offset}, followed by valid entries")]
    Corrupt { offset: usize },
    #[error("entry at byte {offset} has index {found}, expected {expected}")]
    OutOfOrder { offset: usize, expected: u64, found: u64 },
}

/// Reads the entries of a segment whose first entry is `first_index`.
pub fn scan(bytes: &[u8], first_index: u64) -> Result<Scan<'_>, ScanError> {
    let (mut frames, mut offset, mut expected) = (Vec::new(), 0, first_index);
    while offset < bytes.len() {
        match parse(&bytes[offset..]) {
            Some((frame, len)) if frame.index == expected => {
                frames.push(frame);
                offset += len;
                expected += 1;
            }
            Some((frame, _)) => {
                return Err(ScanError::OutOfOrder { offset, expected, found: frame.index });
            }
            None if valid_frame_after(bytes, offset, expected) => {
                return Err(ScanError::Corrupt { offset });
            }
            // The zeros a segment is extended with ahead of its appends: the end.
            None if bytes[offset..].iter().all(|&byte| byte == 0) => break,
            None => return Ok(Scan { frames, torn_at: Some(offset) }),
        }
    }
    Ok(Scan { frames, torn_at: None })
}

/// Whether any valid entry at or after index `from` starts past `offset`: a bad entry with
/// one behind it is not the torn tail of the last append.
fn valid_frame_after(bytes: &[u8], offset: usize, from: u64) -> bool {
    (offset + 1..bytes.len().saturating_sub(HEADER_BYTES - 1))
        .any(|at| parse(&bytes[at..]).is_some_and(|(frame, _)| frame.index >= from))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(first: u64, payloads: &[&[u8]]) -> Vec<u8> {
        let mut buf = Vec::new();
        for (index, payload) in (first..).zip(payloads) {
            push(&mut buf, 3, index, &Payload::new(payload.to_vec()));
        }
        buf
    }

    #[test]
    fn frames_come_back_with_their_term_index_and_payload() {
        let bytes = segment(7, &[b"one", b"", b"three"]);
        let scan = scan(&bytes, 7).unwrap();
        assert_eq!(scan.torn_at, None);
        let read: Vec<_> = scan.frames.iter().map(|f| (f.term, f.index, f.payload)).collect();
        assert_eq!(read, [(3, 7, &b"one"[..]), (3, 8, &b""[..]), (3, 9, &b"three"[..])]);
    }

    #[test]
    fn every_cut_of_the_last_frame_is_a_torn_tail() {
        let whole = segment(1, &[b"first", b"second entry"]);
        let first_len = HEADER_BYTES + 5;
        for cut in first_len + 1..whole.len() {
            let scan = scan(&whole[..cut], 1).unwrap();
            assert_eq!(scan.frames.len(), 1, "cut at {cut}");
            assert_eq!(scan.torn_at, Some(first_len), "cut at {cut}");
        }
    }

    #[test]
    fn a_flipped_bit_in_the_last_frame_is_a_torn_tail_but_in_the_middle_an_error() {
        let whole = segment(1, &[b"first", b"second", b"third"]);
        let second = HEADER_BYTES + 5;
        let third = second + HEADER_BYTES + 6;
        let mut last = whole.clone();
        last[third + HEADER_BYTES] ^= 1;
        assert_eq!(scan(&last, 1).unwrap().torn_at, Some(third));
        for at in [second, second + 4, second + 9, second + 17, second + HEADER_BYTES + 2] {
            let mut middle = whole.clone();
            middle[at] ^= 0x10;
            assert_eq!(scan(&middle, 1).unwrap_err(), ScanError::Corrupt { offset: second });
        }
    }

    #[test]
    fn zeros_after_the_last_frame_are_the_end_and_a_cut_frame_before_them_is_torn() {
        let mut bytes = segment(1, &[b"only"]);
        let end = bytes.len();
        bytes.resize(end + 4096, 0);
        let read = scan(&bytes, 1).unwrap();
        assert_eq!((read.frames.len(), read.torn_at), (1, None));
        let mut torn = segment(1, &[b"only", b"cut short"]);
        torn.truncate(torn.len() - 3);
        torn.resize(torn.len() + 4096, 0);
        assert_eq!(scan(&torn, 1).unwrap().torn_at, Some(end));
    }

    #[test]
    fn an_index_out_of_order_is_an_error() {
        let bytes = segment(5, &[b"a", b"b"]);
        assert_eq!(
            scan(&bytes, 4).unwrap_err(),
            ScanError::OutOfOrder { offset: 0, expected: 4, found: 5 }
        );
    }
}
