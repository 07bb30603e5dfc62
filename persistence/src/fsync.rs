//! Files that survive a power loss: every file the node writes and relies on is fsynced, and
//! so is its directory after the file was created, renamed or removed, before anything that
//! depends on it is acknowledged. A process crash never needs this (the kernel keeps what a
//! dead process wrote); a power loss drops whatever was not synced, directory entries included.
//!
//! Every file the node writes goes through here or through the journal, whose checkpoint
//! also syncs what sled writes beside its data file ([`DirSync`]).

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// How old a directory's mtime must be before it is trusted to change with the next change
/// of its names: far longer than any file system's timestamp granularity.
const SETTLED: Duration = Duration::from_secs(1);

/// Fsyncs a directory: the names in it (files created, renamed or removed) are durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// `create_dir_all`, and every directory it created is durable in its parent.
pub fn create_dir_all(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent().filter(|parent| !parent.as_os_str().is_empty()) {
        create_dir_all(parent)?;
    }
    match std::fs::create_dir(dir) {
        Ok(()) => {}
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => return Ok(()),
        Err(error) => return Err(error),
    }
    sync_dir(parent_of(dir))
}

/// Opens `path` for writing (created with `mode` if missing; appended to or truncated), writes
/// `bytes` and makes both the content and, for a new file, its name durable.
pub fn write(path: &Path, bytes: &[u8], mode: u32, append: bool) -> io::Result<()> {
    let existed = path.exists();
    let mut file = OpenOptions::new()
        .create(true)
        .write(true)
        .append(append)
        .truncate(!append)
        .mode(mode)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    if !existed {
        sync_dir(parent_of(path))?;
    }
    Ok(())
}

fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// Keeps the files a library writes beside its own synced file durable: a sync fsyncs each
/// file that is new or has grown since the last one, then each directory whose names changed.
/// For sled: its blob files (which it never syncs), its `conf` and snapshot files, and the
/// directories that name them.
pub struct DirSync {
    dirs: Vec<Watched>,
}

struct Watched {
    dir: PathBuf,
    /// The directory's mtime at the last full look, if it was old enough then to be sure that
    /// any later change of its names gives it another one (file times are coarse: two changes
    /// within one clock tick can share a time).
    settled_mtime: Option<SystemTime>,
    /// Files already synced, with the length they had then.
    synced: BTreeMap<PathBuf, u64>,
    /// Whether the directory itself has been synced since its names last changed.
    clean: bool,
    /// Files not to touch (the one the owner syncs itself).
    skip: Vec<PathBuf>,
}

impl DirSync {
    /// Watches `dirs`; `skip` names files their owner syncs itself.
    pub fn new(dirs: &[PathBuf], skip: &[PathBuf]) -> DirSync {
        let dirs = dirs
            .iter()
            .map(|dir| Watched {
                dir: dir.clone(),
                settled_mtime: None,
                synced: BTreeMap::new(),
                clean: false,
                skip: skip.to_vec(),
            })
            .collect();
        DirSync { dirs }
    }

    /// Fsyncs what changed since the last call. A directory that does not exist (yet) is
    /// skipped; its parent's sync covers its creation once it does.
    pub fn sync(&mut self) -> io::Result<()> {
        for watched in &mut self.dirs {
            watched.sync()?;
        }
        Ok(())
    }
}

impl Watched {
    fn sync(&mut self) -> io::Result<()> {
        let mtime = match std::fs::metadata(&self.dir) {
            Ok(metadata) => metadata.modified()?,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(error) => return Err(error),
        };
        // The common case, one stat: nothing was created, renamed or removed since a look
        // that synced everything, so no file is new (and none grows: what a library writes
        // beside its synced file, it writes once, right after creating it).
        if self.clean && self.settled_mtime == Some(mtime) {
            return Ok(());
        }
        let settled = SystemTime::now().duration_since(mtime).is_ok_and(|age| age >= SETTLED);
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(error) => return Err(error),
        };
        let mut seen = BTreeMap::new();
        for entry in entries {
            let entry = entry?;
            let path = entry.path();
            let metadata = match entry.metadata() {
                Ok(metadata) => metadata,
                // Removed since it was listed: the directory's names changed.
                Err(error) if error.kind() == io::ErrorKind::NotFound => continue,
                Err(error) => return Err(error),
            };
            if !metadata.is_file() || self.skip.contains(&path) {
                continue;
            }
            let len = metadata.len();
            if self.synced.get(&path) != Some(&len) {
                match File::open(&path) {
                    Ok(file) => file.sync_all()?,
                    Err(error) if error.kind() == io::ErrorKind::NotFound => continue,
                    Err(error) => return Err(error),
                }
            }
            seen.insert(path, len);
        }
        let names_changed = !seen.keys().eq(self.synced.keys());
        self.synced = seen;
        if names_changed || !self.clean {
            sync_dir(&self.dir)?;
            self.clean = true;
        }
        self.settled_mtime = settled.then_some(mtime);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_dir_all_makes_every_level() {
        let tmp = tempfile::tempdir().unwrap();
        let deep = tmp.path().join("a/b/c");
        create_dir_all(&deep).unwrap();
        assert!(deep.is_dir());
        create_dir_all(&deep).unwrap();
    }

    #[test]
    fn write_creates_truncates_and_appends() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("f");
        write(&path, b"one", 0o600, false).unwrap();
        write(&path, b"two", 0o600, true).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"onetwo");
        write(&path, b"three", 0o600, false).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"three");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    }

    /// Sets `dir`'s mtime `age` into the past, as if its names last changed then.
    fn age(dir: &Path, age: Duration) {
        let then = SystemTime::now() - age;
        File::open(dir).unwrap().set_times(std::fs::FileTimes::new().set_modified(then)).unwrap();
    }

    #[test]
    fn only_a_settled_unchanged_directory_is_skipped() {
        let tmp = tempfile::tempdir().unwrap();
        let mut sync = DirSync::new(&[tmp.path().to_path_buf()], &[]);
        // A recent mtime is not trusted: a change in the same clock tick would keep it.
        std::fs::write(tmp.path().join("a"), b"1").unwrap();
        sync.sync().unwrap();
        assert_eq!(sync.dirs[0].settled_mtime, None);
        // Once settled, an unchanged directory is skipped: a file that appeared behind the
        // mtime's back (what the settle time rules out) would not be looked at.
        age(tmp.path(), 2 * SETTLED);
        sync.sync().unwrap();
        assert!(sync.dirs[0].settled_mtime.is_some());
        std::fs::write(tmp.path().join("b"), b"2").unwrap();
        let settled = sync.dirs[0].settled_mtime;
        std::fs::File::open(tmp.path())
            .unwrap()
            .set_times(std::fs::FileTimes::new().set_modified(settled.unwrap()))
            .unwrap();
        sync.sync().unwrap();
        assert_eq!(sync.dirs[0].synced.len(), 1, "skipped: the mtime says nothing changed");
        // A change of names moves the mtime, and the next sync looks and syncs the new file.
        std::fs::write(tmp.path().join("c"), b"3").unwrap();
        sync.sync().unwrap();
        assert_eq!(sync.dirs[0].synced.len(), 3);
    }

    #[test]
    fn dir_sync_tracks_new_grown_and_removed_files() {
        let tmp = tempfile::tempdir().unwrap();
        let skip = tmp.path().join("db");
        std::fs::write(&skip, b"x").unwrap();
        let mut sync = DirSync::new(&[tmp.path().to_path_buf(), tmp.path().join("later")], &[skip]);
        sync.sync().unwrap();
        std::fs::write(tmp.path().join("blob"), b"1").unwrap();
        sync.sync().unwrap();
        let watched = &sync.dirs[0];
        assert_eq!(watched.synced.len(), 1, "the skipped file is not tracked");
        std::fs::remove_file(tmp.path().join("blob")).unwrap();
        sync.sync().unwrap();
        assert!(sync.dirs[0].synced.is_empty());
    }
}
