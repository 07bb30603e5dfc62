//! How a checkpoint's writes meet the reads of streams in sled: stripe locks, so that a read
//! never sees a stream half written, and writes applied key by key, so that a read never
//! waits for sled's own process-wide lock.

use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::journal::JournalError;

/// How many stripes of streams [`Stripes`] locks.
pub const STRIPES: usize = 64;

/// Read-write locks over stripes of streams (by a hash of the stream's prefix). A checkpoint
/// writes a stream's keys one at a time, so a read of a stream it is writing could see a run
/// removed and its replacement not yet written, or a chunked record's head without its
/// chunks. A checkpoint writes a stripe's streams holding its lock for
/// writing; a read holds its stream's stripe for reading, from its copy of the tail to the end
/// of its sled reads.
pub struct Stripes(Box<[RwLock<()>]>);

impl Default for Stripes {
    fn default() -> Stripes {
        Stripes((0..STRIPES).map(|_| RwLock::new(())).collect())
    }
}

impl Stripes {
    pub fn of(prefix: &[u8]) -> usize {
        use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
        BuildHasherDefault::<DefaultHasher>::default().hash_one(prefix) as usize % STRIPES
    }

    /// Holds the stripe of the stream at `prefix` against checkpoints.
    pub fn read(&self, prefix: &[u8]) -> RwLockReadGuard<'_, ()> {
        self.0[Self::of(prefix)].read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Holds stripe `stripe` for a checkpoint's writing.
    pub fn write(&self, stripe: usize) -> RwLockWriteGuard<'_, ()> {
        self.0[stripe].write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Holds every stripe against checkpoints (a read of a whole kind).
    pub fn read_all(&self) -> Vec<RwLockReadGuard<'_, ()>> {
        self.0.iter().map(|lock| lock.read().unwrap_or_else(PoisonError::into_inner)).collect()
    }
}

/// Writes to one tree, applied one key at a time, in order. Never a `sled::Batch`: the first
/// batch (or transaction) a process applies switches sled 0.34 to a process-wide read-write
/// lock (`concurrency_control`) that every later read and write of every tree takes, and each
/// batch holds it for writing. A checkpoint's batches then stalled activations, and the tokio
/// workers they run on, at every checkpoint (the checkout's p99 doubled). Key by key, sled
/// never takes that lock. Nothing here needs a batch's atomicity: the stripes keep reads from
/// seeing a stream half written, sled recovers a prefix of its own log, and a checkpoint cut
/// short is replayed whole.
#[derive(Default)]
pub struct Writes(Vec<(sled::IVec, Option<sled::IVec>)>);

impl Writes {
    pub fn insert(&mut self, key: impl Into<sled::IVec>, value: impl Into<sled::IVec>) {
        self.0.push((key.into(), Some(value.into())));
    }

    pub fn remove(&mut self, key: impl Into<sled::IVec>) {
        self.0.push((key.into(), None));
    }

    /// Applies the writes to `tree`, in the order they were made.
    pub fn apply(self, tree: &sled::Tree) -> Result<(), JournalError> {
        for (key, value) in self.0 {
            match value {
                Some(value) => tree.insert(key, value)?,
                None => tree.remove(key)?,
            };
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_keep_their_order() {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let tree = db.open_tree("t").unwrap();
        let mut writes = Writes::default();
        for n in 0..100u32 {
            writes.insert(n.to_be_bytes().to_vec(), b"first".to_vec());
        }
        for n in (0..100u32).step_by(2) {
            writes.remove(n.to_be_bytes().to_vec());
        }
        writes.insert(4u32.to_be_bytes().to_vec(), b"again".to_vec());
        writes.apply(&tree).unwrap();
        for n in 0..100u32 {
            let want: Option<&[u8]> = match n {
                4 => Some(b"again"),
                n if n % 2 == 0 => None,
                _ => Some(b"first"),
            };
            assert_eq!(tree.get(n.to_be_bytes()).unwrap().as_deref(), want, "key {n}");
        }
    }
}
