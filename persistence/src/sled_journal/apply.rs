//! How a checkpoint's writes meet the reads of streams in sled: stripe locks, so that a read
//! never sees a stream half written, and small ordered batches, so that a read never waits
//! long for sled's own lock.

use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::journal::JournalError;
use crate::limits::{CHECKPOINT_BATCH_BYTES_MAX, CHECKPOINT_BATCH_OPS_MAX};

/// How many stripes of streams [`Stripes`] locks.
pub const STRIPES: usize = 64;

/// Read-write locks over stripes of streams (by a hash of the stream's prefix). sled's
/// iterators see a batch's keys one at a time, so a read of a stream that a checkpoint is
/// writing could see a run removed and its replacement not yet written, or a chunked record's
/// head without its chunks. A checkpoint writes a stripe's streams holding its lock for
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

/// Writes to one tree, in order, as sled batches of at most [`CHECKPOINT_BATCH_OPS_MAX`]
/// writes or [`CHECKPOINT_BATCH_BYTES_MAX`] bytes. sled 0.34 applies a batch under a
/// process-wide write lock that every read of every tree waits for (`concurrency_control`):
/// one batch of a whole stripe stalled activations, and the tokio workers they run on, for
/// milliseconds at each checkpoint. Small batches keep that wait short; applied in order,
/// they keep the order of the writes (sled recovers a prefix of them, and a checkpoint cut
/// short is replayed whole).
#[derive(Default)]
pub struct Writes {
    full: Vec<sled::Batch>,
    open: sled::Batch,
    ops: usize,
    bytes: usize,
}

impl Writes {
    pub fn insert(&mut self, key: impl Into<sled::IVec>, value: impl Into<sled::IVec>) {
        let (key, value) = (key.into(), value.into());
        self.count(key.len() + value.len());
        self.open.insert(key, value);
    }

    pub fn remove(&mut self, key: impl Into<sled::IVec>) {
        let key = key.into();
        self.count(key.len());
        self.open.remove(key);
    }

    fn count(&mut self, bytes: usize) {
        if self.ops > 0
            && (self.ops >= CHECKPOINT_BATCH_OPS_MAX
                || self.bytes + bytes > CHECKPOINT_BATCH_BYTES_MAX)
        {
            self.full.push(std::mem::take(&mut self.open));
            (self.ops, self.bytes) = (0, 0);
        }
        self.ops += 1;
        self.bytes += bytes;
    }

    /// Applies the writes to `tree`, batch after batch.
    pub fn apply(self, tree: &sled::Tree) -> Result<(), JournalError> {
        let open = (self.ops > 0).then_some(self.open);
        for batch in self.full.into_iter().chain(open) {
            tree.apply_batch(batch)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_go_in_small_batches_and_keep_their_order() {
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
        // A write larger than a batch's bytes goes alone.
        writes.insert(b"large".to_vec(), vec![7u8; CHECKPOINT_BATCH_BYTES_MAX + 1]);
        assert!(
            writes.full.len() >= 150 / CHECKPOINT_BATCH_OPS_MAX,
            "{} batches",
            writes.full.len()
        );
        writes.apply(&tree).unwrap();
        for n in 0..100u32 {
            let want: Option<&[u8]> = match n {
                4 => Some(b"again"),
                n if n % 2 == 0 => None,
                _ => Some(b"first"),
            };
            assert_eq!(tree.get(n.to_be_bytes()).unwrap().as_deref(), want, "key {n}");
        }
        assert_eq!(
            tree.get(b"large").unwrap().map(|v| v.len()),
            Some(CHECKPOINT_BATCH_BYTES_MAX + 1)
        );
    }
}
