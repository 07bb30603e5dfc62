//! The sealed format of a piece of personal data and of a wrapped data key.
//!
//! A sealed value is `SEALED_TAG | VERSION | nonce (24) | XChaCha20-Poly1305(text) (+16)`,
//! its associated data the tenant, the customer and the field's name, so a value moved to
//! another customer or field does not open. A data key is wrapped the same way by the master
//! key, bound to its customer.

use bazaar_actors::limits::PII_SEAL_OVERHEAD_BYTES;
use bazaar_actors::pii::{Pii, SEALED_TAG};
use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};

/// The format's version, after the tag.
const VERSION: u8 = 1;
const NONCE_BYTES: usize = 24;
const HEADER_BYTES: usize = 2 + NONCE_BYTES;
/// A key's bytes.
pub(super) const KEY_BYTES: usize = 32;
/// A wrapped key: nonce, then the key and its tag.
pub(super) const WRAPPED_BYTES: usize = NONCE_BYTES + KEY_BYTES + 16;

const _: () = assert!(HEADER_BYTES + 16 == PII_SEAL_OVERHEAD_BYTES);

/// A 256-bit key (a customer's data key, or the master key).
#[derive(Clone)]
pub struct Key([u8; KEY_BYTES]);

impl Key {
    /// A keyed digest of `bytes` within `scope`: HMAC-SHA256 under a key derived from this
    /// one for digests alone (never the sealing key itself), so a digest of low-entropy
    /// personal data cannot be tested against guesses without the key, and dies with it.
    pub(super) fn digest(&self, scope: &[u8], bytes: &[u8]) -> [u8; 32] {
        use hmac::{Hmac, Mac};
        type HmacSha256 = Hmac<sha2::Sha256>;
        let mac = |key: &[u8], parts: &[&[u8]]| {
            let mut mac =
                <HmacSha256 as Mac>::new_from_slice(key).expect("hmac takes any key length");
            parts.iter().for_each(|part| mac.update(part));
            <[u8; 32]>::from(mac.finalize().into_bytes())
        };
        let derived = mac(&self.0, &[b"bazaar digest v1"]);
        mac(&derived, &[scope, b"\0", bytes])
    }

    pub fn random() -> Key {
        Key(random())
    }

    pub fn from_bytes(bytes: [u8; KEY_BYTES]) -> Key {
        Key(bytes)
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// 64 hex digits.
    pub fn from_hex(text: &str) -> Option<Key> {
        let bytes: [u8; KEY_BYTES] = hex::decode(text.trim()).ok()?.try_into().ok()?;
        Some(Key(bytes))
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new((&self.0).into())
    }

    /// Seals `text` bound to `aad`.
    pub(super) fn seal(&self, aad: &[u8], text: &[u8]) -> Vec<u8> {
        let nonce: [u8; NONCE_BYTES] = random();
        let sealed = self
            .cipher()
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: text, aad })
            .expect("XChaCha20-Poly1305 seals any message under 256 GiB");
        let mut out = Vec::with_capacity(HEADER_BYTES + sealed.len());
        out.extend_from_slice(&[SEALED_TAG, VERSION]);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    /// Opens what [`Key::seal`] sealed under the same `aad`; `None` if it does not open.
    pub(super) fn open(&self, aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < HEADER_BYTES || sealed[..2] != [SEALED_TAG, VERSION] {
            return None;
        }
        let nonce = XNonce::from_slice(&sealed[2..HEADER_BYTES]);
        self.cipher().decrypt(nonce, Payload { msg: &sealed[HEADER_BYTES..], aad }).ok()
    }

    /// `key` wrapped by this (master) key for `owner`.
    pub(super) fn wrap(&self, owner: &[u8], key: &Key) -> [u8; WRAPPED_BYTES] {
        let sealed = self.seal(owner, &key.0);
        sealed[2..].try_into().expect("a wrapped key's size")
    }

    pub(super) fn unwrap_key(&self, owner: &[u8], wrapped: &[u8]) -> Option<Key> {
        let mut sealed = vec![SEALED_TAG, VERSION];
        sealed.extend_from_slice(wrapped);
        let bytes: [u8; KEY_BYTES] = self.open(owner, &sealed)?.try_into().ok()?;
        Some(Key(bytes))
    }
}

fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0; N];
    getrandom::fill(&mut bytes).expect("the operating system's random source");
    bytes
}

/// The associated data of one field of one customer.
pub(super) fn field_aad(scope: &[u8], field: &str) -> Vec<u8> {
    let mut aad = scope.to_vec();
    aad.push(0);
    aad.extend_from_slice(field.as_bytes());
    aad
}

/// `text` sealed as a [`Pii`].
pub(super) fn seal(key: &Key, scope: &[u8], field: &str, text: &str) -> Pii {
    Pii::Sealed(key.seal(&field_aad(scope, field), text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_only_with_its_key_customer_and_field() {
        let key = Key::random();
        let Pii::Sealed(bytes) = seal(&key, b"t\0c-1", "name", "Ada Lovelace") else {
            panic!("sealed");
        };
        assert_eq!(bytes.len(), "Ada Lovelace".len() + PII_SEAL_OVERHEAD_BYTES);
        assert!(!bytes.windows(3).any(|w| w == b"Ada"));
        let open = |k: &Key, scope: &[u8], field| k.open(&field_aad(scope, field), &bytes);
        assert_eq!(open(&key, b"t\0c-1", "name").as_deref(), Some(&b"Ada Lovelace"[..]));
        assert_eq!(open(&key, b"t\0c-2", "name"), None);
        assert_eq!(open(&key, b"t\0c-1", "city"), None);
        assert_eq!(open(&Key::random(), b"t\0c-1", "name"), None);
    }

    #[test]
    fn a_digest_is_the_keys_and_the_scopes_and_never_the_plain_hash() {
        let key = Key::random();
        let digest = key.digest(b"t\0c-1", b"ada@example.test");
        assert_eq!(digest, key.digest(b"t\0c-1", b"ada@example.test"), "deterministic");
        assert_ne!(digest, key.digest(b"t\0c-2", b"ada@example.test"));
        assert_ne!(digest, Key::random().digest(b"t\0c-1", b"ada@example.test"));
        let plain: [u8; 32] = <sha2::Sha256 as sha2::Digest>::digest(b"ada@example.test").into();
        assert_ne!(digest, plain);
    }

    #[test]
    fn a_wrapped_key_unwraps_only_with_its_master_and_owner() {
        let (master, data) = (Key::random(), Key::random());
        let wrapped = master.wrap(b"owner", &data);
        assert_eq!(master.unwrap_key(b"owner", &wrapped).map(|k| k.0), Some(data.0));
        assert!(master.unwrap_key(b"other", &wrapped).is_none());
        assert!(Key::random().unwrap_key(b"owner", &wrapped).is_none());
        let hex = master.to_hex();
        assert_eq!(Key::from_hex(&hex).map(|k| k.0), Some(master.0));
        assert!(Key::from_hex("abc").is_none());
    }
}
