//! Helpers for tests and benches of what stands on the journal (feature `testkit`).

use std::path::Path;

use crate::JournalConfig;

/// A journal that checkpoints only when it opens and closes (or is asked): a copy of its
/// directory taken while it runs leaves the whole log to replay.
pub fn lazy_checkpoints(path: &Path) -> JournalConfig {
    JournalConfig {
        checkpoint_interval_ms: 3_600_000,
        checkpoint_bytes: 1024 * 1024 * 1024,
        ..JournalConfig::new(path)
    }
}

/// Copies the directory `from` to `to`, recursively: with nothing writing in `from` at the
/// time (no checkpoint running, every write acknowledged), the copy is what a killed
/// process leaves on disk.
pub fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}
