//! What a test may ask of the disk journal beyond the `Journal` contract (feature `testkit`).

use super::{SledJournal, store};
use crate::journal::JournalError;
use crate::keys::{self, Seq, Stream};

impl SledJournal {
    /// The sequence numbers of the events the journal holds of `stream`, those a snapshot
    /// covers included (which no read of the contract shows): what a compaction left, in
    /// sled and in the tail.
    pub fn stored_seqs(&self, stream: Stream<'_>) -> Result<Vec<Seq>, JournalError> {
        self.shared.check()?;
        let prefix = keys::stream_prefix(stream);
        let _stripe = self.shared.stripes.read(&prefix);
        let tail = self.shared.tails.read(&prefix);
        let stored = store::read_stream(&self.shared.trees.events, &prefix, 0)?;
        Ok(tail.over(stored).into_iter().map(|(seq, _)| seq).collect())
    }
}
