//! The log's two small files, each replaced whole and atomically (written beside, synced,
//! renamed over, directory synced): `checkpoint`, the index up to which the state machine is
//! durable, and `vote`, the replication vote.
//!
//! Each file is `crc32 (u32 LE) | body`; one that fails its checksum is an error, never
//! taken for "absent": the rename makes a half-written file impossible, so a bad one is
//! damage to report.

use std::path::Path;

use crate::fsync;
use crate::journal::JournalError;

const CHECKPOINT: &str = "checkpoint";
const VOTE: &str = "vote";

/// The checkpoint recorded in `dir` (0 if none was ever recorded).
pub fn read_checkpoint(dir: &Path) -> Result<u64, JournalError> {
    match read(dir, CHECKPOINT)? {
        None => Ok(0),
        Some(body) => {
            let bytes: [u8; 8] = body.as_slice().try_into().map_err(|_| {
                JournalError::Io(format!("{}: not 8 bytes", dir.join(CHECKPOINT).display()).into())
            })?;
            Ok(u64::from_le_bytes(bytes))
        }
    }
}

/// Records durably that the state machine holds every entry up to `index`.
pub fn save_checkpoint(dir: &Path, index: u64) -> Result<(), JournalError> {
    save(dir, CHECKPOINT, &index.to_le_bytes())
}

/// The vote recorded in `dir`, if any.
pub fn read_vote(dir: &Path) -> Result<Option<Vec<u8>>, JournalError> {
    read(dir, VOTE)
}

/// Records a vote durably, replacing the previous one.
pub fn save_vote(dir: &Path, vote: &[u8]) -> Result<(), JournalError> {
    save(dir, VOTE, vote)
}

fn read(dir: &Path, name: &str) -> Result<Option<Vec<u8>>, JournalError> {
    let path = dir.join(name);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error.into()),
    };
    let bad = || JournalError::Io(format!("{}: checksum mismatch", path.display()).into());
    let (crc, body) = bytes.split_at_checked(4).ok_or_else(bad)?;
    if u32::from_le_bytes(crc.try_into().expect("4 bytes")) != crc32fast::hash(body) {
        return Err(bad());
    }
    Ok(Some(body.to_vec()))
}

fn save(dir: &Path, name: &str, body: &[u8]) -> Result<(), JournalError> {
    let mut bytes = crc32fast::hash(body).to_le_bytes().to_vec();
    bytes.extend_from_slice(body);
    let beside = dir.join(format!("{name}.next"));
    fsync::write(&beside, &bytes, 0o600, false)?;
    std::fs::rename(&beside, dir.join(name))?;
    fsync::sync_dir(dir)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoint_and_vote_round_trip_and_default_to_nothing() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read_checkpoint(dir.path()).unwrap(), 0);
        assert_eq!(read_vote(dir.path()).unwrap(), None);
        save_checkpoint(dir.path(), 41).unwrap();
        save_checkpoint(dir.path(), 42).unwrap();
        save_vote(dir.path(), b"term 3 node 1").unwrap();
        assert_eq!(read_checkpoint(dir.path()).unwrap(), 42);
        assert_eq!(read_vote(dir.path()).unwrap().as_deref(), Some(&b"term 3 node 1"[..]));
    }

    #[test]
    fn a_damaged_checkpoint_is_an_error_not_zero() {
        let dir = tempfile::tempdir().unwrap();
        save_checkpoint(dir.path(), 7).unwrap();
        let path = dir.path().join(CHECKPOINT);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[5] ^= 1;
        std::fs::write(&path, bytes).unwrap();
        assert!(read_checkpoint(dir.path()).is_err());
    }
}
