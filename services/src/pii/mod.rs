//! The vault: seals customers' personal data before it reaches any command or event, opens it
//! for the routes that show it, and erases a customer by destroying its data key (GDPR
//! crypto-shredding), which makes every sealed copy unreadable at once: journal, snapshots and
//! backups alike, while the journal stays append-only.
//!
//! Invariants:
//! - Each customer has one data key, created on its first seal and durable before that seal
//!   returns (see [`store`]); keys are wrapped by the master key at rest and kept unwrapped only
//!   in a bounded cache.
//! - After [`Vault::erase`] returns, nothing seals for that customer again ([`VaultError::Erased`])
//!   and everything sealed for it opens as [`Opened::Erased`].
//! - File work runs off the async workers; a cached key costs no I/O.

mod seal;
mod store;

use std::path::Path;
use std::sync::{Arc, Mutex};

use bazaar_actors::pii::Pii;
use quick_cache::sync::Cache;

pub use seal::Key;
use store::{KeyStore, Stored};

use crate::limits::PII_KEYS_CACHED_MAX;

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// The customer was erased: nothing personal is kept for it again.
    #[error("the customer's personal data was erased")]
    Erased { at_ms: u64 },
    #[error("the key store failed: {0}")]
    Io(String),
}

impl From<std::io::Error> for VaultError {
    fn from(e: std::io::Error) -> VaultError {
        VaultError::Io(e.to_string())
    }
}

/// What a customer's key is, as the cache remembers it.
#[derive(Clone)]
enum KeyState {
    Absent,
    Live(Key),
    Erased { at_ms: u64 },
}

pub struct Vault {
    master: Key,
    store: KeyStore,
    cache: Cache<[u8; 32], KeyState>,
    /// One is held while a customer's key is loaded, created or erased (the customer's, by
    /// its file id), so the cache cannot go back to an older state; other customers' file
    /// work goes on beside it.
    stripes: Vec<Mutex<()>>,
}

/// How many customers' key work may run at once.
const STRIPES: usize = 64;

/// Seals values for one customer.
pub struct Sealer {
    key: Key,
    scope: Vec<u8>,
}

impl Sealer {
    /// `text` sealed as the customer's `field` (the field's name binds it).
    pub fn seal(&self, field: &str, text: &str) -> Pii {
        seal::seal(&self.key, &self.scope, field, text)
    }

    /// A digest of `bytes` under the customer's key (a request's fingerprint, which may be
    /// of personal data): erasing the customer leaves it unlinkable to anything.
    pub fn digest(&self, bytes: &[u8]) -> [u8; 32] {
        self.key.digest(&self.scope, bytes)
    }
}

/// Opens values of one customer.
pub struct Reader {
    state: KeyState,
    scope: Vec<u8>,
}

/// A piece of personal data as a reader sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opened {
    Text(String),
    /// Its key was destroyed, or it does not open (then a warning is logged).
    Erased,
}

impl Opened {
    pub fn text(self) -> Option<String> {
        match self {
            Opened::Text(text) => Some(text),
            Opened::Erased => None,
        }
    }
}

impl Reader {
    pub fn open(&self, field: &str, value: &Pii) -> Opened {
        match (&self.state, value) {
            // An erased customer's data reads as erased, even what an old journal kept clear.
            (KeyState::Erased { .. }, _) => Opened::Erased,
            (_, Pii::Clear(text)) => Opened::Text(text.clone()),
            (KeyState::Live(key), Pii::Sealed(sealed)) => self.open_sealed(key, field, sealed),
            (KeyState::Absent, Pii::Sealed(_)) => Opened::Erased,
        }
    }

    fn open_sealed(&self, key: &Key, field: &str, sealed: &[u8]) -> Opened {
        let opened = key.open(&seal::field_aad(&self.scope, field), sealed);
        match opened.map(String::from_utf8) {
            Some(Ok(text)) => Opened::Text(text),
            _ => {
                tracing::warn!(field, "a sealed value does not open with its customer's key");
                Opened::Erased
            }
        }
    }

    /// When the customer was erased, if it was.
    pub fn erased_at_ms(&self) -> Option<u64> {
        match self.state {
            KeyState::Erased { at_ms } => Some(at_ms),
            _ => None,
        }
    }
}

fn scope(tenant: &str, customer: &str) -> Vec<u8> {
    [tenant.as_bytes(), b"\0", customer.as_bytes()].concat()
}

impl Vault {
    /// Opens the vault under `dir` (the node's `DIR/pii`), with the master key `given` or the
    /// one generated there on the first start.
    pub fn open(dir: &Path, given: Option<Key>) -> Result<Vault, String> {
        let master = store::master_key(dir, given)?;
        let store =
            KeyStore::open(dir).map_err(|e| format!("cannot open {}: {e}", dir.display()))?;
        let cache = Cache::new(PII_KEYS_CACHED_MAX);
        let stripes = (0..STRIPES).map(|_| Mutex::new(())).collect();
        Ok(Vault { master, store, cache, stripes })
    }

    /// The sealer of a customer, creating its key on first use.
    pub async fn sealer(
        self: &Arc<Self>,
        tenant: &str,
        customer: &str,
    ) -> Result<Sealer, VaultError> {
        let scope = scope(tenant, customer);
        let state = self.state(&scope, true).await?;
        match state {
            KeyState::Live(key) => Ok(Sealer { key, scope }),
            KeyState::Erased { at_ms } => Err(VaultError::Erased { at_ms }),
            KeyState::Absent => Err(VaultError::Io("the customer's key was not created".into())),
        }
    }

    /// A digest of `bytes` under the master key, for a customer who has no key to take
    /// (erased): as the customer's, it cannot be tested against guesses without the key.
    pub fn digest(&self, bytes: &[u8]) -> [u8; 32] {
        self.master.digest(b"node", bytes)
    }

    /// The reader of a customer (who may have no key yet, or an erased one).
    pub async fn reader(
        self: &Arc<Self>,
        tenant: &str,
        customer: &str,
    ) -> Result<Reader, VaultError> {
        let scope = scope(tenant, customer);
        let state = self.state(&scope, false).await?;
        Ok(Reader { state, scope })
    }

    /// Destroys the customer's data key; returns when it was erased (the first time).
    pub async fn erase(
        self: &Arc<Self>,
        tenant: &str,
        customer: &str,
        at_ms: u64,
    ) -> Result<u64, VaultError> {
        let id = KeyStore::id(&scope(tenant, customer));
        let vault = self.clone();
        blocking(move || {
            let _changing = vault.lock(&id);
            let at_ms = vault.store.erase(&id, at_ms)?;
            vault.cache.insert(id, KeyState::Erased { at_ms });
            Ok(at_ms)
        })
        .await
    }

    fn lock(&self, id: &[u8; 32]) -> std::sync::MutexGuard<'_, ()> {
        let stripe = &self.stripes[usize::from(id[0]) % STRIPES];
        stripe.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    async fn state(self: &Arc<Self>, scope: &[u8], create: bool) -> Result<KeyState, VaultError> {
        let id = KeyStore::id(scope);
        match self.cache.get(&id) {
            Some(KeyState::Absent) if create => {}
            Some(state) => return Ok(state),
            None => {}
        }
        let (vault, owner) = (self.clone(), scope.to_vec());
        blocking(move || {
            let _changing = vault.lock(&id);
            let stored = match vault.store.load(&id)? {
                None if create => {
                    let wrapped = vault.master.wrap(&owner, &Key::random());
                    Some(vault.store.create(&id, wrapped)?)
                }
                stored => stored,
            };
            let state = match stored {
                None => KeyState::Absent,
                Some(Stored::Erased { at_ms }) => KeyState::Erased { at_ms },
                Some(Stored::Live(wrapped)) => {
                    let key = vault.master.unwrap_key(&owner, &wrapped).ok_or_else(|| {
                        VaultError::Io("a data key does not unwrap with the master key".into())
                    })?;
                    KeyState::Live(key)
                }
            };
            vault.cache.insert(id, state.clone());
            Ok(state)
        })
        .await
    }
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, VaultError> + Send + 'static,
) -> Result<T, VaultError> {
    tokio::task::spawn_blocking(work).await.map_err(|e| VaultError::Io(e.to_string()))?
}

#[cfg(test)]
mod tests;
