//! Every bound of the persistence crate, in one place.
//!
//! A configured value is checked against its `_max` here when a journal opens, so a typo in
//! `cluster.toml` cannot make a batch or a queue unbounded.

/// Most events the writer folds into one log append (one `fdatasync`).
pub const BATCH_EVENTS_MAX: usize = 4_096;

/// Most bytes of records the writer folds into one log append.
pub const BATCH_BYTES_MAX: usize = 16 * 1024 * 1024;

/// Most writes waiting for the writer thread; a full queue makes `append` wait (back-pressure).
pub const QUEUE_WRITES_MAX: usize = 65_536;

/// Largest single record (an event or a snapshot), header included; a larger one is refused
/// (`RecordTooLarge`) without failing the journal.
pub const RECORD_BYTES_MAX: usize = 4 * 1024 * 1024;

/// Largest value written to sled; a larger record is stored in chunks of this size
/// (`chunks.rs`). sled writes a page fragment over 128 KiB (a quarter of its 512 KiB segment) as
/// a blob file it never syncs, and a leaf holds at most 17 entries: 17 values of 4 KiB with
/// their keys stay far under that.
pub const VALUE_BYTES_MAX: usize = 4 * 1024;

/// Largest index row (key and value together); a write carrying a larger one is refused
/// (`RecordTooLarge`) without failing the journal. An index row is a pointer or a count,
/// never a document: it is stored as one sled value.
pub const INDEX_ROW_BYTES_MAX: usize = 1_024;

/// Longest entity id, in bytes (it is part of every key).
pub const ID_BYTES_MAX: usize = 1_024;

// A batch closes once it holds `batch_bytes_max`; any one record fits in a batch.
const _: () = assert!(RECORD_BYTES_MAX <= BATCH_BYTES_MAX);
const _: () = assert!(ID_BYTES_MAX <= u16::MAX as usize);
// A leaf of 17 largest values with their largest keys (and chunk suffixes) is no blob.
const _: () = assert!(17 * (VALUE_BYTES_MAX + 4 + ID_BYTES_MAX + 12) < 128 * 1024 * 3 / 4);
const _: () = assert!(QUEUE_WRITES_MAX >= BATCH_EVENTS_MAX);
const _: () = assert!(INDEX_ROW_BYTES_MAX <= VALUE_BYTES_MAX);

/// Most bytes a log segment is configured to hold before the next begins.
pub const SEGMENT_BYTES_MAX: u64 = 1024 * 1024 * 1024;

/// Most bytes of records the tail may gather before a checkpoint is due: bounds what a
/// recovery replays.
pub const CHECKPOINT_BYTES_MAX: u64 = 1024 * 1024 * 1024;

/// Longest configurable time between checkpoints.
pub const CHECKPOINT_INTERVAL_MS_MAX: u64 = 60 * 60 * 1000;

/// The tail may hold this many times `checkpoint_bytes` while a checkpoint runs; past it the
/// writer waits, so the log runs at most this far ahead of sled (and the tail's memory is
/// bounded).
pub const TAIL_CHECKPOINTS_MAX: u64 = 2;

/// Longest an open waits for the directory's lock that a journal closed in this process may
/// still hold for a moment (see `SledJournal::open`).
pub const LOCK_WAIT_MS_MAX: u64 = 500;
