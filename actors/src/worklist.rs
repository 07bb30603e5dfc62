//! Worklists: durable sets of unfinished work (voids no provider answered; open checkout sagas
//! before the journal's index listed them),
//! so that a restarted node finds what it must resume without scanning every entity.
//!
//! A worklist is spread over [`WORKLIST_BUCKETS`] entities keyed `{queue}/{bucket}` (bucket =
//! xxh3 of the item mod the bucket count), so concurrent sagas do not all queue on one mailbox.
//! A small list may be one entity of its own, unbucketed: a cart's holds were
//! (`keys::cart_holds`), before carts recorded them (such a list is read once, moved onto its
//! cart and emptied).
//!
//! Invariants:
//! - An item is added before the work it names has any effect, and removed only once that
//!   work is finished; so after a crash, every unfinished piece of work is listed (an item may
//!   also name work that finished just before the crash: resuming it must be a no-op).
//! - `Add` and `Remove` are idempotent; a bucket holds at most [`WORKLIST_BUCKET_ITEMS_MAX`]
//!   items (`Add` beyond is refused, so back-pressure reaches the caller, never a silent drop).

use std::collections::BTreeSet;

use bazaar_entity::{Ctx, Decision, Entity, Kind};
use serde::{Deserialize, Serialize};

use crate::kinds;
use crate::limits::WORKLIST_BUCKET_ITEMS_MAX;
use crate::limits::WORKLIST_ITEM_BYTES_MAX;
use crate::rejection::{Rejection, RejectionKind};

/// Buckets per queue.
pub const WORKLIST_BUCKETS: u32 = 16;

/// One bucket of a worklist.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Worklist {
    items: BTreeSet<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum WorklistCommand {
    Add { item: String },
    Remove { item: String },
    List,
}

/// Variants are append-only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum WorklistEvent {
    Added { item: String },
    Removed { item: String },
}

/// For `List`, the bucket's items in order; empty for the other commands.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorklistReply {
    pub items: Vec<String>,
}

/// Variants are append-only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum WorklistRejection {
    #[error("a worklist bucket holds at most {max} items")]
    Full { max: u32 },
    #[error("a worklist item is 1 to {max} bytes")]
    ItemInvalid { max: u32 },
}

impl Rejection for WorklistRejection {
    fn code(&self) -> &'static str {
        match self {
            WorklistRejection::Full { .. } => "worklist_full",
            WorklistRejection::ItemInvalid { .. } => "worklist_item_invalid",
        }
    }

    fn kind(&self) -> RejectionKind {
        match self {
            WorklistRejection::Full { .. } => RejectionKind::Conflict,
            WorklistRejection::ItemInvalid { .. } => RejectionKind::Invalid,
        }
    }
}

impl Entity for Worklist {
    const KIND: Kind = kinds::WORKLIST;
    type Command = WorklistCommand;
    type Event = WorklistEvent;
    type Reply = WorklistReply;
    type Rejection = WorklistRejection;

    fn decide(
        &self,
        command: WorklistCommand,
        _ctx: &Ctx<'_>,
    ) -> Result<Decision<Self>, WorklistRejection> {
        match command {
            WorklistCommand::Add { item } => {
                if item.is_empty() || item.len() > WORKLIST_ITEM_BYTES_MAX {
                    let max = WORKLIST_ITEM_BYTES_MAX as u32;
                    return Err(WorklistRejection::ItemInvalid { max });
                }
                if self.items.contains(&item) {
                    return Ok((Vec::new(), WorklistReply::default()));
                }
                if self.items.len() >= WORKLIST_BUCKET_ITEMS_MAX {
                    return Err(WorklistRejection::Full { max: WORKLIST_BUCKET_ITEMS_MAX as u32 });
                }
                Ok((vec![WorklistEvent::Added { item }], WorklistReply::default()))
            }
            WorklistCommand::Remove { item } => {
                let events = match self.items.contains(&item) {
                    true => vec![WorklistEvent::Removed { item }],
                    false => Vec::new(),
                };
                Ok((events, WorklistReply::default()))
            }
            WorklistCommand::List => {
                Ok((Vec::new(), WorklistReply { items: self.items.iter().cloned().collect() }))
            }
        }
    }

    fn apply(&mut self, event: &WorklistEvent) {
        match event {
            WorklistEvent::Added { item } => {
                self.items.insert(item.clone());
            }
            WorklistEvent::Removed { item } => {
                self.items.remove(item);
            }
        }
    }
}

/// The entity id of the bucket of `queue` that holds `item`.
pub fn bucket_of(queue: &str, item: &str) -> String {
    let bucket = xxhash_rust::xxh3::xxh3_64(item.as_bytes()) % u64::from(WORKLIST_BUCKETS);
    format!("{queue}/{bucket:02}")
}

/// The entity ids of every bucket of `queue`.
pub fn buckets(queue: &str) -> impl Iterator<Item = String> + '_ {
    (0..WORKLIST_BUCKETS).map(move |bucket| format!("{queue}/{bucket:02}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bazaar_entity::EntityKey;

    fn run(
        list: &mut Worklist,
        command: WorklistCommand,
    ) -> Result<Vec<String>, WorklistRejection> {
        let key = EntityKey::new(kinds::WORKLIST, "checkout/00");
        let (events, _) = list.decide(command, &Ctx { now_ms: 0, key: &key })?;
        events.iter().for_each(|event| list.apply(event));
        let (_, reply) = list.decide(WorklistCommand::List, &Ctx { now_ms: 0, key: &key })?;
        Ok(reply.items)
    }

    #[test]
    fn add_and_remove_are_idempotent() {
        let mut list = Worklist::default();
        let add = |item: &str| WorklistCommand::Add { item: item.into() };
        assert_eq!(run(&mut list, add("b")).unwrap(), ["b"]);
        assert_eq!(run(&mut list, add("a")).unwrap(), ["a", "b"]);
        assert_eq!(run(&mut list, add("a")).unwrap(), ["a", "b"]);
        let remove = |item: &str| WorklistCommand::Remove { item: item.into() };
        assert_eq!(run(&mut list, remove("a")).unwrap(), ["b"]);
        assert_eq!(run(&mut list, remove("a")).unwrap(), ["b"]);
    }

    #[test]
    fn bad_items_and_full_buckets_are_refused() {
        let mut list = Worklist::default();
        let max = WORKLIST_ITEM_BYTES_MAX as u32;
        let empty = WorklistCommand::Add { item: String::new() };
        assert_eq!(run(&mut list, empty), Err(WorklistRejection::ItemInvalid { max }));
        for i in 0..WORKLIST_BUCKET_ITEMS_MAX {
            list.apply(&WorklistEvent::Added { item: format!("i{i}") });
        }
        let one_more = WorklistCommand::Add { item: "x".into() };
        let full = WorklistRejection::Full { max: WORKLIST_BUCKET_ITEMS_MAX as u32 };
        assert_eq!(run(&mut list, one_more), Err(full));
    }

    #[test]
    fn an_item_always_lands_in_one_of_the_buckets() {
        let all: Vec<String> = buckets("capture").collect();
        for item in ["t/o-1", "t/o-2", "other/x"] {
            assert!(all.contains(&bucket_of("capture", item)));
        }
    }
}
