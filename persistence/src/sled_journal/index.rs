//! Reads of the journal's index: the tail's rows laid over the `index` tree's.
//!
//! A row's last write in the tail (frozen, then active) wins over sled's value, a removal in
//! the tail hides it. Unlike a stream's load, a read takes no stripe lock, so it never waits
//! for a checkpoint: each row is one value, and the value read is never older than the row's
//! value when the read began. The tail is copied first; a checkpoint can only have written
//! into sled, meanwhile, rows the copy holds (the frozen tail) or rows newer than the copy
//! (a later freeze), and the copy's value, which is laid over sled's, is the row's value at
//! the copy. A key the copy lacks reads sled's value, which is at least as new. (A scan is
//! thereby not one snapshot of many rows: each row is as fresh as a lone read of it.)

use std::collections::BTreeMap;
use std::ops::Bound;

use super::Shared;
use crate::journal::{IndexRow, JournalError};

/// The value of the row at `key`.
pub(super) fn get(shared: &Shared, key: &[u8]) -> Result<Option<Vec<u8>>, JournalError> {
    shared.check()?;
    match shared.tails.read_index((Bound::Included(key), Bound::Included(key))).remove(key) {
        Some(written) => Ok(written),
        None => Ok(shared.trees.index.get(key)?.map(|value| value.to_vec())),
    }
}

/// Up to `limit` rows under `prefix` after `after`, in key order.
pub(super) fn scan(
    shared: &Shared,
    prefix: &[u8],
    after: Option<&[u8]>,
    limit: usize,
) -> Result<Vec<IndexRow>, JournalError> {
    shared.check()?;
    let from = match after {
        Some(after) => Bound::Excluded(after),
        None => Bound::Included(prefix),
    };
    let mut rows = BTreeMap::new();
    for row in shared.trees.index.range::<&[u8], _>((from, Bound::Unbounded)) {
        let (key, value) = row?;
        if !key.starts_with(prefix) || rows.len() == limit {
            break;
        }
        rows.insert(key.to_vec(), Some(value.to_vec()));
    }
    // The tail's rows under the prefix; a full page from sled ends at its last key, and the
    // tail's rows past it belong to the next page.
    let end = match (rows.last_key_value(), after_prefix(prefix)) {
        (Some((last, _)), _) if rows.len() == limit => Bound::Included(last.clone()),
        (_, Some(end)) => Bound::Excluded(end),
        (_, None) => Bound::Unbounded,
    };
    let tail = shared.tails.read_index((from, end.as_ref().map(Vec::as_slice)));
    rows.extend(tail.into_iter().filter(|(key, _)| key.starts_with(prefix)));
    Ok(rows.into_iter().filter_map(|(key, value)| Some((key, value?))).take(limit).collect())
}

/// The least key greater than every key beginning with `prefix` (`None`: there is none, the
/// prefix is empty or all `0xFF`).
fn after_prefix(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::after_prefix;

    #[test]
    fn the_end_of_a_prefix_is_past_all_its_keys_and_before_the_rest() {
        assert_eq!(after_prefix(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(after_prefix(b"a\xff"), Some(b"b".to_vec()));
        assert_eq!(after_prefix(b"\xff\xff"), None);
        assert_eq!(after_prefix(b""), None);
    }
}
