//! Reads of the journal's index: the tail's rows laid over the `index` tree's.
//!
//! A row's last write in the tail (frozen, then active) wins over sled's value, a removal in
//! the tail hides it. Unlike a stream's load, a read takes no stripe lock, so it never waits
//! for a checkpoint; each row read is never older than the row was when the read began.
//! - `get` copies the tail first: meanwhile a checkpoint can only have written into sled rows
//!   the copy holds (the frozen tail) or rows newer than the copy (a later freeze), and the
//!   copy's value, laid over sled's, is the row's value at the copy; a key the copy lacks
//!   reads sled's value, which is at least as new.
//! - `scan` reads sled's page first (the tail's rows it needs end at the page's last key),
//!   then copies the tail, and reads again if a checkpoint ended in between: while none
//!   ends, the frozen tail stays, so whatever a checkpoint wrote into sled during the page's
//!   read is in the copy too. (A scan is not one snapshot of many rows: each row is as fresh
//!   as a lone read of it.)

use std::collections::BTreeMap;
use std::ops::Bound;

use super::Shared;
use crate::journal::{IndexRow, JournalError};

/// The value of the row at `key`.
pub(super) fn get(shared: &Shared, key: &[u8]) -> Result<Option<Vec<u8>>, JournalError> {
    shared.check()?;
    match shared.tails.index_row(key) {
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
    let Some(from) = crate::journal::scan_start(prefix, after) else { return Ok(Vec::new()) };
    'again: loop {
        let checkpointed = shared.tails.checkpointed();
        let (mut page, mut cursor) = (Vec::new(), from.map(<[u8]>::to_vec));
        // Chunks of sled's rows, each with the tail's rows up to its last key laid over it,
        // until the page is full or sled has no more: rows the tail removed may leave a
        // chunk short.
        while page.len() < limit {
            let mut rows = BTreeMap::new();
            let range = (cursor.as_ref().map(Vec::as_slice), Bound::Unbounded);
            for row in shared.trees.index.range::<&[u8], _>(range) {
                let (key, value) = row?;
                if !key.starts_with(prefix) || rows.len() == limit {
                    break;
                }
                rows.insert(key.to_vec(), Some(value.to_vec()));
            }
            let full = rows.len() == limit;
            let end = match (rows.last_key_value(), after_prefix(prefix)) {
                (Some((last, _)), _) if full => Bound::Included(last.clone()),
                (_, Some(end)) => Bound::Excluded(end),
                (_, None) => Bound::Unbounded,
            };
            // Widens the window a checkpoint may end in, for the test that races it.
            fail::fail_point!("index-scan-between-reads");
            let tail_range = (cursor.as_ref().map(Vec::as_slice), end.as_ref().map(Vec::as_slice));
            let (tail, copied_at) = shared.tails.read_index(tail_range);
            if copied_at != checkpointed {
                continue 'again;
            }
            rows.extend(tail.into_iter().filter(|(key, _)| key.starts_with(prefix)));
            page.extend(rows.into_iter().filter_map(|(key, value)| Some((key, value?))));
            match end {
                Bound::Included(last) if full => cursor = Bound::Excluded(last),
                _ => break,
            }
        }
        page.truncate(limit);
        return Ok(page);
    }
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
