//! The one codec: how a value becomes the bytes of a journal record, and back.
//!
//! On-disk record format (every event and every snapshot):
//!
//! ```text
//! +---------+----------------+---------------------------+
//! | version | crc32 (LE u32) | payload (bincode 2.0.1,    |
//! | 1 byte  | of the payload | serde, standard config)    |
//! +---------+----------------+---------------------------+
//! ```
//!
//! Invariants:
//! - The version byte is the first byte of every record, so a later codec can read (and
//!   upcast) records written by this one; an unknown version is an error that names it.
//! - The checksum covers the payload; a record that fails it is corrupt, never decoded.
//! - bincode is pinned to `=2.0.1` (3.0.0 is a tombstone that does not compile) and is used
//!   nowhere else in the workspace: everything goes through [`encode`] and [`decode`].

use serde::Serialize;
use serde::de::DeserializeOwned;

/// The format version this build writes.
pub const FORMAT_VERSION: u8 = 1;

/// Bytes before the payload: the version and the checksum.
pub const HEADER_BYTES: usize = 5;

fn config() -> bincode::config::Configuration {
    bincode::config::standard()
}

/// What can be wrong with a record's bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    #[error("record of {len} bytes is shorter than its header")]
    Truncated { len: usize },
    #[error("record format version {found} is unknown (this build reads {FORMAT_VERSION})")]
    UnknownVersion { found: u8 },
    #[error("record checksum mismatch (stored {stored:#010x}, computed {computed:#010x})")]
    Checksum { stored: u32, computed: u32 },
    #[error("record payload does not decode: {0}")]
    Decode(String),
    #[error("value does not encode: {0}")]
    Encode(String),
}

/// A framed record: header and payload, ready to be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record(Vec<u8>);

impl Record {
    /// Frames already-encoded payload bytes.
    pub fn from_payload(payload: &[u8]) -> Record {
        let mut bytes = Vec::with_capacity(HEADER_BYTES + payload.len());
        bytes.push(FORMAT_VERSION);
        bytes.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
        bytes.extend_from_slice(payload);
        Record(bytes)
    }

    /// The payload, after the header.
    pub fn payload(&self) -> &[u8] {
        &self.0[HEADER_BYTES..]
    }

    /// The whole record as written to disk.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Encodes a value into a framed record, on the caller's thread (never the writer's).
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Record, CodecError> {
    let mut bytes = vec![FORMAT_VERSION, 0, 0, 0, 0];
    bincode::serde::encode_into_std_write(value, &mut bytes, config())
        .map_err(|e| CodecError::Encode(e.to_string()))?;
    let crc = crc32fast::hash(&bytes[HEADER_BYTES..]);
    bytes[1..HEADER_BYTES].copy_from_slice(&crc.to_le_bytes());
    Ok(Record(bytes))
}

/// Checks a record's version and checksum and returns its payload.
pub fn verify(record: &[u8]) -> Result<&[u8], CodecError> {
    if record.len() < HEADER_BYTES {
        return Err(CodecError::Truncated { len: record.len() });
    }
    if record[0] != FORMAT_VERSION {
        return Err(CodecError::UnknownVersion { found: record[0] });
    }
    let stored = u32::from_le_bytes(record[1..HEADER_BYTES].try_into().expect("4 bytes"));
    let payload = &record[HEADER_BYTES..];
    let computed = crc32fast::hash(payload);
    if stored != computed {
        return Err(CodecError::Checksum { stored, computed });
    }
    Ok(payload)
}

/// Decodes a payload returned by [`verify`] (or by the journal's reads).
pub fn decode_payload<T: DeserializeOwned>(payload: &[u8]) -> Result<T, CodecError> {
    let (value, read) = bincode::serde::decode_from_slice(payload, config())
        .map_err(|e| CodecError::Decode(e.to_string()))?;
    if read != payload.len() {
        return Err(CodecError::Decode(format!(
            "{} trailing bytes after the value",
            payload.len() - read
        )));
    }
    Ok(value)
}

/// Verifies and decodes a whole record.
pub fn decode<T: DeserializeOwned>(record: &[u8]) -> Result<T, CodecError> {
    decode_payload(verify(record)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Sample {
        name: String,
        quantity: u32,
        cents: i64,
    }

    fn sample() -> Sample {
        Sample { name: "widget".into(), quantity: 3, cents: -1250 }
    }

    #[test]
    fn round_trip() {
        let record = encode(&sample()).unwrap();
        assert_eq!(record.as_bytes()[0], FORMAT_VERSION);
        assert_eq!(decode::<Sample>(record.as_bytes()).unwrap(), sample());
    }

    #[test]
    fn flipped_bit_is_a_checksum_error() {
        let mut bytes = encode(&sample()).unwrap().into_bytes();
        let last = bytes.len() - 1;
        bytes[last] ^= 0x10;
        assert!(matches!(decode::<Sample>(&bytes), Err(CodecError::Checksum { .. })));
    }

    #[test]
    fn unknown_version_is_named() {
        let mut bytes = encode(&sample()).unwrap().into_bytes();
        bytes[0] = 9;
        let err = decode::<Sample>(&bytes).unwrap_err();
        assert_eq!(err, CodecError::UnknownVersion { found: 9 });
        assert!(err.to_string().contains('9'));
    }

    #[test]
    fn short_record_is_truncated() {
        assert_eq!(verify(&[1, 2]), Err(CodecError::Truncated { len: 2 }));
    }

    #[test]
    fn framing_raw_payload_matches_encode() {
        let encoded = encode(&sample()).unwrap();
        let payload = verify(encoded.as_bytes()).unwrap();
        assert_eq!(Record::from_payload(payload), encoded);
    }
}
