//! Bazaar's persistence: bytes, keys, sequence numbers, files and fsync. No commerce, no HTTP.
//!
//! - [`journal`]: the contract every journal keeps (order, acknowledged means durable, sticky
//!   failure, prefix recovery).
//! - [`SledJournal`]: the journal on disk: the write-ahead log ([`wal`]) acknowledges in
//!   group commits, an in-memory tail serves reads of what sled does not hold yet, and
//!   checkpoints write the tail into sled 0.34 (runs of events under one key) and make it
//!   durable.
//! - [`MemJournal`]: the same contract in memory, with simulated latency, crashes and faults,
//!   for deterministic tests of what stands on the journal.
//! - [`codec`]: the one place values become record bytes (versioned, checksummed).
//! - [`chunks`]: records larger than a sled value, stored as several keys (never a blob file).
//! - [`fsync`]: files and directories made durable through a power loss.
//!
//! Architecture invariant: durable means the log's group-commit `fdatasync` returned, through
//! a power loss: every file the journal relies on, and the directories naming them, were
//! synced (sled's, by the checkpoint that lets the log go).

pub mod chunks;
pub mod codec;
pub mod fsync;
pub mod journal;
pub mod keys;
pub mod limits;
pub mod memory;
pub mod recovery;
pub mod sled_journal;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod wal;

pub use codec::{CodecError, Record};
pub use journal::{
    Done, IndexRow, IndexWrite, Journal, JournalError, JournalExt, Loaded, Receipt, Replayed,
    StoredEvent, index_pages,
};
pub use keys::{Seq, Stream};
pub use memory::MemJournal;
pub use sled_journal::{JournalConfig, SledJournal};
