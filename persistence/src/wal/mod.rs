//! The write-ahead log: what "acknowledged" means. An entry is acknowledged once it is in a
//! segment file and `fdatasync` of that file returned.
//!
//! ```text
//! <dir>/00000000000000000001.wal   entries 1 ..          (segments, named by their first index)
//! <dir>/00000000000000052311.wal   entries 52311 ..      (the last one is appended to)
//! <dir>/checkpoint                 the index up to which the state machine is durable
//! <dir>/vote                       the persisted vote (for replication; opaque bytes here)
//! ```
//!
//! The log has the shape of a Raft log store, so that a shard's log can be replicated without
//! a second journal: entries carry a term and an index ([`frame`]), the vote is persisted
//! ([`save_vote`]), a conflicting suffix can be truncated ([`Wal::truncate`]) and a prefix
//! purged once the state machine holds it durably ([`Purger::purge`]).
//!
//! Invariants:
//! - Indexes are consecutive from the checkpoint on; older segments may be gone (purged).
//! - A new segment's name is durable in the directory before any entry in it is acknowledged;
//!   a segment is closed only after its last append was synced.
//! - A segment is deleted only when every entry in it is at or below a checkpoint that is
//!   itself durable, oldest first; recovery skips any segment wholly below the checkpoint, so
//!   a deletion cut short (or reordered by a power loss) leaves a readable log.
//! - Only the last segment may end with a torn entry; recovery drops it with a warning.

pub mod frame;
mod meta;

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

pub use frame::{Frame, Payload};
pub use meta::{read_checkpoint, read_vote, save_checkpoint, save_vote};

use crate::fsync;
use crate::journal::JournalError;

const SEGMENT_SUFFIX: &str = ".wal";

/// Zeros written ahead of the appends, so that most appends do not grow the file.
pub const ZEROS_AHEAD_BYTES: u64 = 1024 * 1024;

/// The log's writing end: one owner (the journal's writer thread) appends.
pub struct Wal {
    dir: PathBuf,
    term: u64,
    next_index: u64,
    active: File,
    active_len: u64,
    /// How far the active segment is written, appends and the zeros ahead of them.
    zeroed_len: u64,
    segment_bytes: u64,
    segments: Segments,
}

/// First indexes of the segments on disk, oldest first; the last one is being appended to.
type Segments = Arc<Mutex<Vec<u64>>>;

/// What opening the log found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Opened {
    /// The checkpoint: every entry up to it is in the state machine already.
    pub checkpoint: u64,
    /// The last entry in the log (the checkpoint if none follows it).
    pub last_index: u64,
}

impl Wal {
    /// Opens the log in `dir` (creating it), hands every entry after the checkpoint to
    /// `replay` in index order, and starts a new segment after the last entry.
    pub fn open(
        dir: &Path,
        segment_bytes: u64,
        replay: &mut dyn FnMut(Frame<'_>) -> Result<(), JournalError>,
    ) -> Result<(Wal, Opened), JournalError> {
        fsync::create_dir_all(dir)?;
        let checkpoint = read_checkpoint(dir)?;
        let firsts = list_segments(dir)?;
        let (mut last_index, mut term) = (checkpoint, 1);
        for (i, &first) in firsts.iter().enumerate() {
            // Every entry of a segment whose successor starts at or below the checkpoint's
            // next is in the state machine already.
            if firsts.get(i + 1).is_some_and(|&next| next <= checkpoint + 1) {
                continue;
            }
            let path = segment_path(dir, first);
            let bytes = std::fs::read(&path)?;
            let scan = frame::scan(&bytes, first).map_err(|error| {
                JournalError::Io(format!("write-ahead log {}: {error}", path.display()).into())
            })?;
            if let Some(offset) = scan.torn_at {
                if i + 1 < firsts.len() {
                    return Err(JournalError::Io(
                        format!("write-ahead log {}: bad entry at byte {offset}", path.display())
                            .into(),
                    ));
                }
                tracing::warn!(segment = %path.display(), offset, "dropping a torn entry at the log's tail");
                // Cut off, so that the segment reads whole once another follows it.
                let file = OpenOptions::new().write(true).open(&path)?;
                file.set_len(offset as u64)?;
                file.sync_all()?;
            }
            for frame in scan.frames.into_iter().filter(|frame| frame.index > checkpoint) {
                if frame.index != last_index + 1 {
                    return Err(JournalError::Io(
                        format!(
                            "write-ahead log has a gap: expected entry {}, found {} in {}",
                            last_index + 1,
                            frame.index,
                            path.display()
                        )
                        .into(),
                    ));
                }
                replay(frame)?;
                (last_index, term) = (frame.index, frame.term);
            }
        }
        let mut segments = firsts;
        let active = create_segment(dir, last_index + 1)?;
        if segments.last() != Some(&(last_index + 1)) {
            segments.push(last_index + 1);
        }
        let wal = Wal {
            dir: dir.to_path_buf(),
            term,
            next_index: last_index + 1,
            active,
            active_len: 0,
            zeroed_len: 0,
            segment_bytes,
            segments: Arc::new(Mutex::new(segments)),
        };
        Ok((wal, Opened { checkpoint, last_index }))
    }

    /// The index the next appended entry gets.
    pub fn next_index(&self) -> u64 {
        self.next_index
    }

    /// The term new entries are written with.
    pub fn term(&self) -> u64 {
        self.term
    }

    /// Sets the term of entries appended from now on (a replica's leadership changed).
    pub fn set_term(&mut self, term: u64) {
        self.term = term;
    }

    /// Appends `count` frames built by [`frame::push`] (numbered from `next_index`) and makes
    /// them durable. Starts a new segment first if the current one is full.
    ///
    /// Appends overwrite zeros written ahead of them: an `fdatasync` of a file whose size and
    /// blocks do not change writes the data alone, where growing the file also commits its
    /// metadata (twice the time on ext4). Once the appends reach the zeros' end, the same
    /// write extends them by [`ZEROS_AHEAD_BYTES`] more.
    pub fn append(&mut self, frames: &[u8], count: u64) -> Result<(), JournalError> {
        if self.active_len >= self.segment_bytes {
            self.roll()?;
        }
        let end = self.active_len + frames.len() as u64;
        if end <= self.zeroed_len {
            self.active.write_all_at(frames, self.active_len)?;
        } else {
            let mut extended = Vec::with_capacity(frames.len() + ZEROS_AHEAD_BYTES as usize);
            extended.extend_from_slice(frames);
            extended.resize(frames.len() + ZEROS_AHEAD_BYTES as usize, 0);
            self.active.write_all_at(&extended, self.active_len)?;
            self.zeroed_len = end + ZEROS_AHEAD_BYTES;
        }
        fail::fail_point!("wal-before-sync", |_| Err(JournalError::Io(
            "failpoint wal-before-sync".into()
        )));
        self.active.sync_data()?;
        self.active_len = end;
        self.next_index += count;
        Ok(())
    }

    /// Closes the current segment (its appends are synced already) and starts the next.
    fn roll(&mut self) -> Result<(), JournalError> {
        self.active = create_segment(&self.dir, self.next_index)?;
        (self.active_len, self.zeroed_len) = (0, 0);
        lock(&self.segments).push(self.next_index);
        Ok(())
    }

    /// Removes every entry from `from` on (a replica's conflicting suffix): later segments
    /// go, the one holding `from` is cut before it, and `from` is the next index.
    pub fn truncate(&mut self, from: u64) -> Result<(), JournalError> {
        if from >= self.next_index {
            return Ok(());
        }
        let mut segments = lock(&self.segments);
        let keep = segments.iter().rposition(|&first| first <= from).ok_or_else(|| {
            JournalError::Io(format!("cannot truncate at {from}: it was purged").into())
        })?;
        for &first in segments[keep + 1..].iter().rev() {
            std::fs::remove_file(segment_path(&self.dir, first))?;
        }
        segments.truncate(keep + 1);
        let path = segment_path(&self.dir, segments[keep]);
        let bytes = std::fs::read(&path)?;
        let scan = frame::scan(&bytes, segments[keep])
            .map_err(|error| JournalError::Io(format!("{}: {error}", path.display()).into()))?;
        let cut: usize = scan
            .frames
            .iter()
            .take_while(|frame| frame.index < from)
            .map(|frame| frame::HEADER_BYTES + frame.payload.len())
            .sum();
        drop(segments);
        let file = OpenOptions::new().write(true).open(&path)?;
        file.set_len(cut as u64)?;
        file.sync_all()?;
        fsync::sync_dir(&self.dir)?;
        self.active = OpenOptions::new().write(true).open(&path)?;
        (self.active_len, self.zeroed_len) = (cut as u64, cut as u64);
        self.next_index = from;
        Ok(())
    }

    /// Visits the entries `from..=to` still in the log, in order.
    pub fn read(
        &self,
        from: u64,
        to: u64,
        visit: &mut dyn FnMut(Frame<'_>),
    ) -> Result<(), JournalError> {
        let firsts = lock(&self.segments).clone();
        for (i, &first) in firsts.iter().enumerate() {
            let past = firsts.get(i + 1).is_some_and(|&next| next <= from);
            if past || first > to {
                continue;
            }
            let path = segment_path(&self.dir, first);
            let bytes = std::fs::read(&path)?;
            let scan = frame::scan(&bytes, first)
                .map_err(|error| JournalError::Io(format!("{}: {error}", path.display()).into()))?;
            scan.frames
                .into_iter()
                .filter(|f| (from..=to).contains(&f.index))
                .for_each(&mut *visit);
        }
        Ok(())
    }

    /// A handle that deletes what a checkpoint covers, for the thread that checkpoints.
    pub fn purger(&self) -> Purger {
        Purger { dir: self.dir.clone(), segments: self.segments.clone() }
    }
}

/// Deletes the segments a durable checkpoint covers.
#[derive(Clone)]
pub struct Purger {
    dir: PathBuf,
    segments: Segments,
}

impl Purger {
    /// Deletes, oldest first, every closed segment whose entries are all at or below `upto`,
    /// then makes the deletions durable. The caller has made the checkpoint at `upto`
    /// durable first. Returns how many segments went.
    pub fn purge(&self, upto: u64) -> Result<usize, JournalError> {
        let mut segments = lock(&self.segments);
        let covered =
            segments.windows(2).take_while(|pair| pair[1] <= upto.saturating_add(1)).count();
        for (deleted, &first) in segments[..covered].iter().enumerate() {
            if deleted > 0 {
                fail::fail_point!("wal-purge-between-deletions", |_| Err(JournalError::Io(
                    "failpoint wal-purge-between-deletions".into()
                )));
            }
            std::fs::remove_file(segment_path(&self.dir, first))?;
        }
        segments.drain(..covered);
        drop(segments);
        if covered > 0 {
            fsync::sync_dir(&self.dir)?;
        }
        Ok(covered)
    }
}

fn lock(segments: &Segments) -> std::sync::MutexGuard<'_, Vec<u64>> {
    // Every critical section leaves the list whole.
    segments.lock().unwrap_or_else(PoisonError::into_inner)
}

fn segment_path(dir: &Path, first: u64) -> PathBuf {
    dir.join(format!("{first:020}{SEGMENT_SUFFIX}"))
}

/// Creates an empty segment and makes its name durable before anything is written in it.
fn create_segment(dir: &Path, first: u64) -> Result<File, JournalError> {
    let path = segment_path(dir, first);
    // A segment of this name left by an earlier run holds only entries below the checkpoint
    // or a torn tail that recovery dropped: it is replaced.
    let file = OpenOptions::new().create(true).write(true).truncate(true).open(&path)?;
    file.sync_all()?;
    fsync::sync_dir(dir)?;
    Ok(file)
}

/// The first indexes of the segments in `dir`, ascending.
fn list_segments(dir: &Path) -> Result<Vec<u64>, JournalError> {
    let mut firsts = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let name = entry?.file_name();
        let Some(stem) = name.to_str().and_then(|name| name.strip_suffix(SEGMENT_SUFFIX)) else {
            continue;
        };
        let first = stem.parse::<u64>().map_err(|_| {
            JournalError::Io(format!("unexpected file {name:?} in the write-ahead log").into())
        })?;
        firsts.push(first);
    }
    firsts.sort_unstable();
    Ok(firsts)
}

#[cfg(test)]
mod tests;
