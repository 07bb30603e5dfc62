//! Where the customers' data keys live: one small file each, outside the journal, so that
//! erasing a key removes its bytes from the data directory (an append-only journal would keep
//! them), and the master key that wraps them.
//!
//! Layout under `DIR/pii/`: `keys/XX/<id>.key` per customer (`<id>` is a SHA-256 of tenant and
//! customer, so the file names carry no customer id), `master.key` (64 hex digits, mode 0600)
//! when the master key is the generated one, and `master.check` (a constant sealed by the
//! master key) so a start with the wrong master key is refused instead of finding every
//! customer erased.
//!
//! Invariants:
//! - A key file is made durable (file and directory synced) before any value sealed with its
//!   key can reach the journal, and is created at most once (a hard link that fails when the
//!   name exists), so two sealers of one new customer agree on its key.
//! - Erasure replaces the file with a tombstone by rename (then syncs the directory): the key's
//!   bytes are in no file of the directory afterwards, and the customer stays erased.

use std::io;
use std::path::{Path, PathBuf};

use bazaar_persistence::fsync;
use sha2::{Digest, Sha256};

use super::seal::{KEY_BYTES, Key, WRAPPED_BYTES};

const LIVE: &[u8; 4] = b"BZK1";
const ERASED: &[u8; 4] = b"BZE1";
const CHECK: &[u8] = b"bazaar master key check";

/// What the store holds for one customer.
pub(super) enum Stored {
    Live([u8; WRAPPED_BYTES]),
    Erased { at_ms: u64 },
}

pub(super) struct KeyStore {
    keys: PathBuf,
}

impl KeyStore {
    pub(super) fn open(dir: &Path) -> io::Result<KeyStore> {
        let keys = dir.join("keys");
        fsync::create_dir_all(&keys)?;
        sweep_staged(&keys)?;
        Ok(KeyStore { keys })
    }

    /// The file id of a customer: what names its key file.
    pub(super) fn id(scope: &[u8]) -> [u8; 32] {
        Sha256::new_with_prefix(b"bazaar-pii-key\0").chain_update(scope).finalize().into()
    }

    fn path(&self, id: &[u8; 32]) -> PathBuf {
        let name = hex::encode(id);
        self.keys.join(&name[..2]).join(format!("{name}.key"))
    }

    pub(super) fn load(&self, id: &[u8; 32]) -> io::Result<Option<Stored>> {
        let bytes = match std::fs::read(self.path(id)) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let corrupt = || io::Error::new(io::ErrorKind::InvalidData, "a corrupt key file");
        let (magic, rest) = bytes.split_at_checked(4).ok_or_else(corrupt)?;
        match magic {
            m if m == LIVE => Ok(Some(Stored::Live(rest.try_into().map_err(|_| corrupt())?))),
            m if m == ERASED => {
                let at: [u8; 8] = rest.try_into().map_err(|_| corrupt())?;
                Ok(Some(Stored::Erased { at_ms: u64::from_be_bytes(at) }))
            }
            _ => Err(corrupt()),
        }
    }

    /// Creates the customer's key file unless one exists; returns what is stored after.
    pub(super) fn create(&self, id: &[u8; 32], wrapped: [u8; WRAPPED_BYTES]) -> io::Result<Stored> {
        let path = self.path(id);
        let dir = path.parent().expect("a key file has a directory");
        fsync::create_dir_all(dir)?;
        let staged = staged(&path);
        fsync::write(&staged, &[&LIVE[..], &wrapped].concat(), 0o600, false)?;
        let linked = std::fs::hard_link(&staged, &path);
        std::fs::remove_file(&staged)?;
        fsync::sync_dir(dir)?;
        match linked {
            Ok(()) => Ok(Stored::Live(wrapped)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                self.load(id)?.ok_or_else(|| io::Error::other("a key file vanished"))
            }
            Err(e) => Err(e),
        }
    }

    /// Replaces the customer's key (if any) with a tombstone; an erased customer stays so.
    pub(super) fn erase(&self, id: &[u8; 32], at_ms: u64) -> io::Result<u64> {
        if let Some(Stored::Erased { at_ms }) = self.load(id)? {
            return Ok(at_ms);
        }
        let path = self.path(id);
        let dir = path.parent().expect("a key file has a directory");
        fsync::create_dir_all(dir)?;
        let staged = staged(&path);
        fsync::write(&staged, &[&ERASED[..], &at_ms.to_be_bytes()].concat(), 0o600, false)?;
        std::fs::rename(&staged, &path)?;
        fsync::sync_dir(dir)?;
        Ok(at_ms)
    }
}

/// Removes the staged files a crash left behind: one may hold a wrapped key that a later
/// erasure must not leave on disk.
fn sweep_staged(keys: &Path) -> io::Result<()> {
    for shard in std::fs::read_dir(keys)? {
        let shard = shard?.path();
        if !shard.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(&shard)? {
            let file = file?.path();
            if file.extension().is_some_and(|ext| ext == "tmp") {
                std::fs::remove_file(&file)?;
                fsync::sync_dir(&shard)?;
            }
        }
    }
    Ok(())
}

fn staged(path: &Path) -> PathBuf {
    let mut nonce = [0u8; 8];
    getrandom::fill(&mut nonce).expect("the operating system's random source");
    path.with_extension(format!("{}.tmp", hex::encode(nonce)))
}

/// The master key: `given` (from the environment or the config), else `DIR/master.key`,
/// generated on the first start. A directory whose keys were wrapped by another master key is
/// refused.
pub(super) fn master_key(dir: &Path, given: Option<Key>) -> Result<Key, String> {
    fsync::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let file = dir.join("master.key");
    let check = dir.join("master.check");
    let master = match given {
        Some(key) => key,
        None if file.exists() => {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            Key::from_hex(&text)
                .ok_or_else(|| format!("{} is not 64 hex digits", file.display()))?
        }
        None if check.exists() => {
            return Err(format!(
                "{} is missing: the personal data here was sealed with a master key that must \
                 be given (BAZAAR_MASTER_KEY or [pii] master_key_file)",
                file.display()
            ));
        }
        None => {
            let key = Key::random();
            fsync::write(&file, format!("{}\n", key.to_hex()).as_bytes(), 0o600, false)
                .map_err(|e| format!("cannot write {}: {e}", file.display()))?;
            tracing::info!(
                file = %file.display(),
                "first start: a master key was generated; keep a copy apart from the data \
                 directory (without it no personal data here can be read)"
            );
            key
        }
    };
    match std::fs::read(&check) {
        Ok(sealed) if master.unwrap_key(CHECK, &sealed).is_some() => Ok(master),
        Ok(_) => Err(format!(
            "the master key does not open {}: it is not the key this data was sealed with",
            check.display()
        )),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let sealed = master.wrap(CHECK, &Key::from_bytes([0; KEY_BYTES]));
            fsync::write(&check, &sealed, 0o600, false)
                .map_err(|e| format!("cannot write {}: {e}", check.display()))?;
            Ok(master)
        }
        Err(e) => Err(format!("cannot read {}: {e}", check.display())),
    }
}
