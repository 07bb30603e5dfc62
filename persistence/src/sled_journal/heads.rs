//! Each stream's head: the highest sequence number sled may hold of it, so that a read or a
//! checkpoint that would find nothing there does not look. A sled range costs a copy of the
//! leaf it starts in (keys and values), which made the scans that found nothing (a new
//! entity's activation, a cold product read after its snapshot, a checkpoint's look for a
//! stream's last value) the journal's largest read cost.
//!
//! ```text
//! heads  key: kind | id length | id (a stream's prefix)   value: seq (u64 BE)
//! meta   key: "heads"                                     value: [1]: every stream has one
//! ```
//!
//! Invariants:
//! - A head is at least the highest sequence number sled holds of its stream. A checkpoint
//!   raises it in the same stripe's writes as the events it covers, before them (sled
//!   recovers a prefix of its own log), and never lowers it; nothing removes a stream's
//!   last events without removing those below.
//! - With the `heads` mark in `meta`, a stream without a head holds no event in sled. The
//!   mark is written when the journal's events tree is empty (a new journal), so it never
//!   claims a stream written before heads existed; such a journal keeps scanning the
//!   streams that have no head, as it did before.

use super::apply::Writes;
use crate::journal::JournalError;
use crate::keys::Seq;

const COMPLETE_KEY: &[u8] = b"heads";

/// The heads tree, and whether every stream with events in sled has its head.
pub struct Heads {
    tree: sled::Tree,
    complete: bool,
}

impl Heads {
    /// Opens the heads of the journal whose events tree is `events`.
    pub fn open(db: &sled::Db, events: &sled::Tree) -> Result<Heads, JournalError> {
        let meta = db.open_tree("meta")?;
        let mut complete = meta.get(COMPLETE_KEY)?.is_some();
        if !complete && events.is_empty() {
            meta.insert(COMPLETE_KEY, &[1])?;
            complete = true;
        }
        Ok(Heads { tree: db.open_tree("heads")?, complete })
    }

    /// The highest sequence number sled may hold of the stream at `prefix`: 0 when it holds
    /// none, `None` when that is not known (a journal written before heads were kept).
    pub fn last(&self, prefix: &[u8]) -> Result<Option<Seq>, JournalError> {
        match self.tree.get(prefix)? {
            Some(value) => Ok(Some(Seq::from_be_bytes(
                value
                    .as_ref()
                    .try_into()
                    .map_err(|_| JournalError::Io("a stream's head is not 8 bytes".into()))?,
            ))),
            None => Ok(self.complete.then_some(0)),
        }
    }

    /// Whether sled holds nothing of the stream at `prefix` after `seq`.
    pub fn nothing_after(&self, prefix: &[u8], seq: Seq) -> Result<bool, JournalError> {
        Ok(self.last(prefix)?.is_some_and(|last| last <= seq))
    }

    /// Raises the head of the stream at `prefix` to `seq` (in `writes`), unless it is higher.
    pub fn raise(&self, prefix: &[u8], seq: Seq, writes: &mut Writes) -> Result<(), JournalError> {
        if self.tree.get(prefix)?.is_none_or(|value| value.as_ref() < &seq.to_be_bytes()[..]) {
            writes.insert(prefix, &seq.to_be_bytes()[..]);
        }
        Ok(())
    }

    pub fn tree(&self) -> &sled::Tree {
        &self.tree
    }
}
