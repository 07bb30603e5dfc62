//! The journal contract: what every journal (a write-ahead log with sled behind it on disk,
//! or in memory for simulation) promises the engine.
//!
//! Invariants every implementation keeps:
//! - **Order.** Writes become durable in the order they were submitted; a write's `done`
//!   runs only after every earlier write is durable too.
//! - **Acknowledged means durable.** `done(Ok(()))` runs only once the write survives a crash
//!   (on disk: the write-ahead log's `fdatasync` of the entry returned).
//! - **Sticky failure.** Once a write fails, that write and every later one fail, and reads
//!   fail too: nothing that was never acknowledged can be read back by this process.
//! - **Prefix recovery.** After a crash, each stream reads back a gap-free prefix of what was
//!   submitted, which includes everything acknowledged.
//! - **Indexed with its events.** The index rows a write carries become durable with its
//!   events, in the same entry, or not at all: an index never runs ahead of, nor falls behind,
//!   the streams it is derived from.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::Arc;

use crate::codec::{CodecError, Record};
use crate::keys::{Seq, Stream};

/// Runs once a write is durable, or once the journal has failed. It runs on the journal's own
/// thread, so it must be quick: send on a channel, wake a task.
pub type Done = Box<dyn FnOnce(Result<(), JournalError>) + Send>;

/// The journal's failures. Rejections of commerce commands never appear here.
#[derive(Debug, Clone, thiserror::Error)]
pub enum JournalError {
    #[error("journal i/o failed: {0}")]
    Io(Arc<str>),
    #[error("journal has failed earlier and accepts nothing more: {0}")]
    Failed(Arc<str>),
    #[error("corrupt record in the middle of {stream} at seq {seq}: {source}")]
    Corrupt { stream: String, seq: Seq, source: CodecError },
    #[error("journal of {stream} has a gap: expected seq {expected}, found {found}")]
    Gap { stream: String, expected: Seq, found: Seq },
    #[error("corrupt snapshot of {stream}: {source}")]
    CorruptSnapshot { stream: String, source: CodecError },
    #[error("journal schema version {found} is not the {expected} this build reads")]
    Schema { found: u32, expected: u32 },
    #[error("journal is shut down")]
    Closed,
    #[error("record of {bytes} bytes is larger than the {max} a record may be")]
    RecordTooLarge { bytes: usize, max: usize },
    #[error("invalid journal configuration: {0}")]
    Config(String),
}

impl From<sled::Error> for JournalError {
    fn from(e: sled::Error) -> Self {
        JournalError::Io(e.to_string().into())
    }
}

impl From<std::io::Error> for JournalError {
    fn from(e: std::io::Error) -> Self {
        JournalError::Io(e.to_string().into())
    }
}

/// One event as read back: its sequence number and its verified payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub seq: Seq,
    pub payload: Vec<u8>,
}

/// One item of a kind's replay ([`Journal::replay_kind`]): a stream's latest snapshot, or an
/// event after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replayed<'a> {
    /// The state as of `seq` (a verified payload); the stream's events up to `seq` are not
    /// visited.
    Snapshot { seq: Seq, state: &'a [u8] },
    /// An event's verified payload.
    Event { seq: Seq, payload: &'a [u8] },
}

/// A stream as recovered: the latest snapshot, then the events after it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Loaded {
    /// The snapshot's sequence number and verified payload.
    pub snapshot: Option<(Seq, Vec<u8>)>,
    /// Events after the snapshot, gap-free and in order.
    pub events: Vec<StoredEvent>,
}

impl Loaded {
    /// The sequence number of the last event the stream holds (0 for a new stream).
    pub fn last_seq(&self) -> Seq {
        match (self.events.last(), &self.snapshot) {
            (Some(event), _) => event.seq,
            (None, Some((seq, _))) => *seq,
            (None, None) => 0,
        }
    }
}

/// One change to the journal's index: a row put (`Some(value)`) or removed (`None`).
///
/// The index is a sorted key-value table beside the streams, written in the same entry as
/// the events it derives from (or by [`Journal::write_index`], for rows written apart from
/// events): the secondary indexes of read models that must not live in memory.
pub type IndexWrite = (Vec<u8>, Option<Vec<u8>>);

/// One index row as read: its key and value.
pub type IndexRow = (Vec<u8>, Vec<u8>);

/// An append-only, durable store of entity event streams and snapshots.
pub trait Journal: Send + Sync + 'static {
    /// Queues events `first_seq, first_seq + 1, ...` of a stream; `done` runs once durable.
    fn append(&self, stream: Stream<'_>, first_seq: Seq, events: Vec<Record>, done: Done) {
        self.append_indexed(stream, first_seq, events, Vec::new(), done)
    }

    /// Queues events as [`Journal::append`] does, with the index rows they change: both are
    /// durable at once, or neither is.
    fn append_indexed(
        &self,
        stream: Stream<'_>,
        first_seq: Seq,
        events: Vec<Record>,
        index: Vec<IndexWrite>,
        done: Done,
    );

    /// Queues index rows alone, apart from any event: an entity kind's rows built from its
    /// streams (which its entities then keep up to date), markers of the index's own state;
    /// `done` runs once durable.
    fn write_index(&self, index: Vec<IndexWrite>, done: Done) {
        // An append of no events writes no stream: only the rows.
        self.append_indexed(Stream::new(0, ""), 1, Vec::new(), index, done)
    }

    /// The value of an index row, as of every write acknowledged before this call.
    fn index_get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, JournalError>;

    /// Up to `limit` index rows whose keys begin with `prefix`, in key order, after `after`
    /// (from the first, for `None`): a page of a prefix scan. A page of fewer than `limit`
    /// rows is the last.
    fn index_scan(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<IndexRow>, JournalError>;

    /// Queues a snapshot of a stream's state as of `seq`; with `compact`, the events up to
    /// `seq` are removed in the same batch. `done` runs once durable.
    fn save_snapshot(&self, stream: Stream<'_>, seq: Seq, state: Record, compact: bool, done: Done);

    /// `done` runs once every write submitted before it is durable.
    fn barrier(&self, done: Done);

    /// Reads a stream: its latest snapshot and the events after it. A corrupt record at the
    /// tail is dropped with a warning; one followed by valid records is an error.
    fn load(&self, stream: Stream<'_>) -> Result<Loaded, JournalError>;

    /// Visits every stream of one kind as [`load`](Journal::load) reads it, stream by stream
    /// in key order: its latest snapshot, if any, then the events after it in sequence order
    /// (a compacted stream may be a snapshot alone). The read path that rebuilds read models
    /// and indexes. Returns how many events were visited. `visit` must not call back into
    /// the journal (a journal may hold its checkpoints back while it reads).
    fn replay_kind(
        &self,
        kind: u16,
        visit: &mut dyn FnMut(&str, Replayed<'_>),
    ) -> Result<u64, JournalError>;

    /// Waits until everything submitted so far is durable (used at shutdown).
    fn flush(&self) -> Result<(), JournalError> {
        barrier_receipt(self).wait()
    }
}

/// Refuses a write holding a record over [`RECORD_BYTES_MAX`](crate::limits::RECORD_BYTES_MAX).
pub fn check_record_sizes<'a>(
    records: impl IntoIterator<Item = &'a Record>,
) -> Result<(), JournalError> {
    let max = crate::limits::RECORD_BYTES_MAX;
    match records.into_iter().find(|record| record.len() > max) {
        Some(record) => Err(JournalError::RecordTooLarge { bytes: record.len(), max }),
        None => Ok(()),
    }
}

/// Where a page of a scan of `prefix` after `after` begins; `None` when no row under the
/// prefix is after `after` (an `after` before the prefix begins at the prefix).
pub(crate) fn scan_start<'a>(
    prefix: &'a [u8],
    after: Option<&'a [u8]>,
) -> Option<std::ops::Bound<&'a [u8]>> {
    use std::ops::Bound;
    match after {
        Some(after) if after.starts_with(prefix) => Some(Bound::Excluded(after)),
        Some(after) if after > prefix => None,
        _ => Some(Bound::Included(prefix)),
    }
}

/// Refuses a write holding a record or an index row over its bound.
pub fn check_write(records: &[Record], index: &[IndexWrite]) -> Result<(), JournalError> {
    check_record_sizes(records).and_then(|()| check_index_rows(index))
}

/// Refuses a write holding an index row over
/// [`INDEX_ROW_BYTES_MAX`](crate::limits::INDEX_ROW_BYTES_MAX).
fn check_index_rows(rows: &[IndexWrite]) -> Result<(), JournalError> {
    let max = crate::limits::INDEX_ROW_BYTES_MAX;
    let size = |(key, value): &IndexWrite| key.len() + value.as_ref().map_or(0, Vec::len);
    match rows.iter().map(size).find(|&bytes| bytes > max) {
        Some(bytes) => Err(JournalError::RecordTooLarge { bytes, max }),
        None => Ok(()),
    }
}

/// Waits for a write to become durable: `.await` it in async code, `.wait()` elsewhere.
#[must_use = "a receipt that is not waited on says nothing about durability"]
pub struct Receipt(tokio::sync::oneshot::Receiver<Result<(), JournalError>>);

impl Receipt {
    /// A `Done` callback and the receipt it completes.
    pub fn pair() -> (Done, Receipt) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let done: Done = Box::new(move |result| {
            let _ = tx.send(result);
        });
        (done, Receipt(rx))
    }

    /// Blocks the current thread until the write is durable. Never call it on an async task.
    pub fn wait(self) -> Result<(), JournalError> {
        self.0.blocking_recv().unwrap_or(Err(JournalError::Closed))
    }
}

impl IntoFuture for Receipt {
    type Output = Result<(), JournalError>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move { self.0.await.unwrap_or(Err(JournalError::Closed)) })
    }
}

fn barrier_receipt<J: Journal + ?Sized>(journal: &J) -> Receipt {
    let (done, receipt) = Receipt::pair();
    journal.barrier(done);
    receipt
}

/// Receipt-returning forms of the journal's writes.
pub trait JournalExt: Journal {
    fn append_receipt(&self, stream: Stream<'_>, first_seq: Seq, events: Vec<Record>) -> Receipt {
        let (done, receipt) = Receipt::pair();
        self.append(stream, first_seq, events, done);
        receipt
    }

    fn snapshot_receipt(
        &self,
        stream: Stream<'_>,
        seq: Seq,
        state: Record,
        compact: bool,
    ) -> Receipt {
        let (done, receipt) = Receipt::pair();
        self.save_snapshot(stream, seq, state, compact, done);
        receipt
    }

    fn barrier_receipt(&self) -> Receipt {
        barrier_receipt(self)
    }

    fn write_index_receipt(&self, index: Vec<IndexWrite>) -> Receipt {
        let (done, receipt) = Receipt::pair();
        self.write_index(index, done);
        receipt
    }
}

impl<J: Journal + ?Sized> JournalExt for J {}

/// Every index row under `prefix`, in key order, read `page_rows` at a time: each page is a
/// scan after the last key read, so rows written meanwhile after it are met too. A failure
/// is the last item.
pub fn index_pages(
    journal: Arc<dyn Journal>,
    prefix: &[u8],
    page_rows: usize,
) -> impl Iterator<Item = Result<IndexRow, JournalError>> + '_ {
    let (mut after, mut done) = (None::<Vec<u8>>, false);
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        let page = journal.index_scan(prefix, after.as_deref(), page_rows);
        // A page shorter than asked for is the last.
        done = page.as_ref().map_or(true, |rows| rows.len() < page_rows);
        match page {
            Ok(rows) if rows.is_empty() => None,
            Ok(rows) => {
                after = rows.last().map(|(key, _)| key.clone());
                Some(rows.into_iter().map(Ok).collect::<Vec<_>>())
            }
            Err(error) => Some(vec![Err(error)]),
        }
    })
    .flatten()
}
