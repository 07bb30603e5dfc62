//! Personal data (a name, an address line, an e-mail) as commands, events and snapshots carry
//! it: sealed by the services' vault (`bazaar_services::pii`) with the customer's data key
//! before it reaches any command, so the journal, its snapshots and every copy of them hold
//! only ciphertext. Destroying the key (a GDPR erasure) makes every copy unreadable at once.
//!
//! Invariants:
//! - A [`Pii`] is encoded exactly as a `String` was (a length, then the bytes), so the fields
//!   that held clear text before this type existed read as [`Pii::Clear`] from an old journal,
//!   and a sealed value starts with [`SEALED_TAG`], a byte no UTF-8 text starts with.
//! - The domain never opens a sealed value: it checks only its size. Its `Debug` prints
//!   neither clear text nor ciphertext, so no log line carries personal data.

use std::fmt;

use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The first byte of a sealed value: `0xFF` never begins (or appears in) UTF-8 text.
pub const SEALED_TAG: u8 = 0xFF;

/// A piece of personal data.
#[derive(Clone, PartialEq, Eq)]
pub enum Pii {
    /// Written before personal data was sealed (an old journal), or by a domain test.
    Clear(String),
    /// `SEALED_TAG`, then the vault's format: what the domain never looks into.
    Sealed(Vec<u8>),
}

impl Pii {
    pub fn clear(text: impl Into<String>) -> Pii {
        Pii::Clear(text.into())
    }

    /// How many bytes it takes in an event (what the domain bounds).
    pub fn encoded_len(&self) -> usize {
        match self {
            Pii::Clear(text) => text.len(),
            Pii::Sealed(bytes) => bytes.len(),
        }
    }

    pub fn is_sealed(&self) -> bool {
        matches!(self, Pii::Sealed(_))
    }
}

impl From<&str> for Pii {
    fn from(text: &str) -> Pii {
        Pii::clear(text)
    }
}

impl From<String> for Pii {
    fn from(text: String) -> Pii {
        Pii::Clear(text)
    }
}

impl fmt::Debug for Pii {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pii::Clear(text) => write!(f, "Pii::Clear({} bytes)", text.len()),
            Pii::Sealed(bytes) => write!(f, "Pii::Sealed({} bytes)", bytes.len()),
        }
    }
}

impl Serialize for Pii {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Pii::Clear(text) => serializer.serialize_bytes(text.as_bytes()),
            Pii::Sealed(bytes) => serializer.serialize_bytes(bytes),
        }
    }
}

impl<'de> Deserialize<'de> for Pii {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Pii, D::Error> {
        deserializer.deserialize_bytes(PiiVisitor)
    }
}

struct PiiVisitor;

impl PiiVisitor {
    fn read<E: de::Error>(bytes: Vec<u8>) -> Result<Pii, E> {
        if bytes.first() == Some(&SEALED_TAG) {
            return Ok(Pii::Sealed(bytes));
        }
        String::from_utf8(bytes)
            .map(Pii::Clear)
            .map_err(|_| E::custom("personal data is neither UTF-8 text nor sealed"))
    }
}

impl<'de> Visitor<'de> for PiiVisitor {
    type Value = Pii;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("personal data: UTF-8 text or a sealed value")
    }

    fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<Pii, E> {
        Self::read(bytes.to_vec())
    }

    fn visit_byte_buf<E: de::Error>(self, bytes: Vec<u8>) -> Result<Pii, E> {
        Self::read(bytes)
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Pii, E> {
        Ok(Pii::Clear(text.to_owned()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Pii, A::Error> {
        let mut bytes = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(byte) = seq.next_element()? {
            bytes.push(byte);
        }
        Self::read(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Before {
        name: String,
        city: String,
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct After {
        name: Pii,
        city: Pii,
    }

    fn bincode<T: Serialize>(value: &T) -> Vec<u8> {
        bazaar_persistence::codec::encode(value).unwrap().into_bytes()
    }

    #[test]
    fn a_field_written_as_a_string_reads_as_clear_personal_data() {
        let before = Before { name: "Ada Lovelace".into(), city: "London".into() };
        let after: After = bazaar_persistence::codec::decode(&bincode(&before)).unwrap();
        assert_eq!(after, After { name: Pii::clear("Ada Lovelace"), city: Pii::clear("London") });
        assert_eq!(bincode(&after), bincode(&before), "the encoding is a string's");
    }

    #[test]
    fn sealed_values_round_trip_and_are_told_from_text_by_their_tag() {
        let sealed = After { name: Pii::Sealed(vec![SEALED_TAG, 1, 0, 200]), city: Pii::clear("") };
        let read: After = bazaar_persistence::codec::decode(&bincode(&sealed)).unwrap();
        assert_eq!(read, sealed);
        let json: After = serde_json::from_str(&serde_json::to_string(&sealed).unwrap()).unwrap();
        assert_eq!(json, sealed);
    }

    #[test]
    fn bytes_that_are_neither_text_nor_sealed_are_refused() {
        // Written as `Sealed` to put raw bytes in the field: invalid UTF-8 without the tag.
        let corrupt = After { name: Pii::Sealed(vec![0xC3, 0x28]), city: Pii::clear("") };
        assert!(bazaar_persistence::codec::decode::<After>(&bincode(&corrupt)).is_err());
    }

    #[test]
    fn debug_prints_no_personal_data() {
        let shown = format!("{:?}", Pii::clear("Ada Lovelace"));
        assert!(!shown.contains("Ada"), "{shown}");
    }
}
