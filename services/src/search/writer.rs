//! The write side: coalescing of changes per ASIN, bounded pending set, commits.
//!
//! A change (upsert or remove) is staged in the pending map under its ASIN, replacing any
//! change staged before it, so a storm of updates to one product costs one document write per
//! commit. A commit takes the whole map, applies each change as delete-by-ASIN then add, commits
//! with a payload saying whether the index was closed cleanly, and reloads the reader.
//!
//! Locks: `state` (the tantivy writer) is taken before `pending`, and `pending` is held only to
//! insert or to swap the map out, so staging never waits on a commit unless the pending map is
//! full. Commits are serialized by `state`, and each takes the map after the previous one
//! applied its own, so changes reach the index in staging order.

use std::collections::HashMap;
use std::mem;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use tantivy::{IndexReader, IndexWriter, TantivyDocument};

use super::error::SearchError;
use super::schema::{Fields, asin_term};

/// `None` stages a removal.
pub(crate) type Change = Option<TantivyDocument>;

pub(crate) struct Writer {
    fields: Fields,
    reader: IndexReader,
    pending_docs_max: usize,
    pending: Mutex<HashMap<String, Change>>,
    state: Mutex<State>,
    /// Set once a commit failed; checked without the lock on every write.
    failed: AtomicBool,
    pub upserts: AtomicU64,
    pub removes: AtomicU64,
    pub docs_written: AtomicU64,
    pub commits: AtomicU64,
}

struct State {
    /// `None` once closed.
    writer: Option<IndexWriter>,
    /// Why the first failed commit failed. Tantivy's writer state is undefined after a failed
    /// commit, so the index takes no more writes; its payload still says "open", so the next
    /// open reports `needs_rebuild`.
    failure: Option<String>,
}

impl Writer {
    pub fn new(
        fields: Fields,
        writer: IndexWriter,
        reader: IndexReader,
        pending_docs_max: usize,
    ) -> Writer {
        Writer {
            fields,
            reader,
            pending_docs_max,
            pending: Mutex::new(HashMap::new()),
            state: Mutex::new(State { writer: Some(writer), failure: None }),
            failed: AtomicBool::new(false),
            upserts: AtomicU64::new(0),
            removes: AtomicU64::new(0),
            docs_written: AtomicU64::new(0),
            commits: AtomicU64::new(0),
        }
    }

    /// Stages a change; commits on the caller's thread when the pending map is full.
    pub fn stage(&self, asin: String, change: Change, payload: &str) -> Result<(), SearchError> {
        if self.failed.load(Ordering::Acquire) {
            return Err(self.failure());
        }
        let counter = if change.is_some() { &self.upserts } else { &self.removes };
        counter.fetch_add(1, Ordering::Relaxed);
        let pending = {
            let mut pending = lock(&self.pending);
            pending.insert(asin, change);
            pending.len()
        };
        if pending >= self.pending_docs_max {
            // Back-pressure: the caller pays for the commit instead of the map growing.
            self.commit(payload, self.pending_docs_max)?;
        }
        Ok(())
    }

    pub fn pending(&self) -> usize {
        lock(&self.pending).len()
    }

    /// Commits the pending changes if there are at least `pending_min` of them (0 forces a
    /// commit, e.g. to record a payload, and a reader reload).
    pub fn commit(&self, payload: &str, pending_min: usize) -> Result<(), SearchError> {
        let mut state = lock(&self.state);
        if let Some(failure) = &state.failure {
            return Err(SearchError::Failed(failure.clone()));
        }
        let changes = {
            let mut pending = lock(&self.pending);
            if pending_min > 0 && pending.len() < pending_min {
                return Ok(());
            }
            mem::take(&mut *pending)
        };
        let Some(writer) = state.writer.as_mut() else {
            return Err(SearchError::Failed("the index is closed".to_owned()));
        };
        let written = changes.len() as u64;
        match apply(&self.fields, writer, changes, payload)
            .and_then(|()| self.reader.reload().map_err(SearchError::index("reload after commit")))
        {
            Ok(()) => {
                self.docs_written.fetch_add(written, Ordering::Relaxed);
                self.commits.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            Err(error) => {
                state.failure = Some(error.to_string());
                self.failed.store(true, Ordering::Release);
                Err(error)
            }
        }
    }

    /// Commits with `payload` (unless failed) and waits for merges; later writes fail.
    pub fn close(&self, payload: &str) -> Result<(), SearchError> {
        let result = self.commit(payload, 0);
        let writer = lock(&self.state).writer.take();
        if let Some(writer) = writer {
            writer.wait_merging_threads().map_err(SearchError::index("wait for merges"))?;
        }
        result
    }

    fn failure(&self) -> SearchError {
        let failure = lock(&self.state).failure.clone();
        SearchError::Failed(failure.unwrap_or_else(|| "the index is closed".to_owned()))
    }
}

fn apply(
    fields: &Fields,
    writer: &mut IndexWriter,
    changes: HashMap<String, Change>,
    payload: &str,
) -> Result<(), SearchError> {
    for (asin, change) in changes {
        // Delete first: tantivy applies a delete only to documents added before it, so the
        // document added next survives, and the ASIN is in the index at most once.
        writer.delete_term(asin_term(fields, &asin));
        if let Some(document) = change {
            writer.add_document(document).map_err(SearchError::index("add document"))?;
        }
    }
    let mut prepared = writer.prepare_commit().map_err(SearchError::index("prepare commit"))?;
    prepared.set_payload(payload);
    prepared.commit().map_err(SearchError::index("commit"))?;
    Ok(())
}

/// A poisoned lock means a thread panicked mid-change: a bug, so crash.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().expect("search index lock poisoned by a panic")
}
