//! The journal's index as the engine keeps it: each write carries the rows its state changes
//! (`Entity::index_rows`), from the rows of the state before it, across reactivations, and an
//! index is built for streams written before their kind had rows.

use std::sync::Arc;
use std::time::Duration;

use bazaar_engine::replay::index_kind;
use bazaar_engine::testkit::{Counter, CounterEvent, add, counter_row, single_node};
use bazaar_engine::{EngineConfig, Entity};
use bazaar_persistence::{Journal, JournalExt, MemJournal, Stream, codec};

fn row(journal: &MemJournal, id: &str) -> Option<i64> {
    let value = journal.index_get(&counter_row(id)).unwrap()?;
    Some(i64::from_le_bytes(value.try_into().expect("8 bytes")))
}

#[tokio::test]
async fn a_write_puts_changes_and_removes_its_rows_with_its_events() {
    let journal = Arc::new(MemJournal::default());
    let engine = single_node(journal.clone(), EngineConfig::default());
    engine.ask::<Counter>("indexed-a", add(3)).await.unwrap().unwrap();
    assert_eq!(row(&journal, "indexed-a"), Some(3));
    engine.ask::<Counter>("indexed-a", add(4)).await.unwrap().unwrap();
    assert_eq!(row(&journal, "indexed-a"), Some(7));
    engine.ask::<Counter>("indexed-a", add(-7)).await.unwrap().unwrap();
    assert_eq!(row(&journal, "indexed-a"), None, "a row the state no longer has is removed");
    engine.ask::<Counter>("plain", add(1)).await.unwrap().unwrap();
    assert!(journal.index_scan(b"", None, 10).unwrap().is_empty());
}

#[tokio::test]
async fn a_reactivated_entity_writes_the_difference_from_its_stored_rows() {
    let journal = Arc::new(MemJournal::default());
    let engine = single_node(journal.clone(), EngineConfig::default());
    engine.ask::<Counter>("indexed-b", add(5)).await.unwrap().unwrap();
    engine.shutdown(Duration::from_secs(5)).await.unwrap();

    let engine = single_node(journal.clone(), EngineConfig::default());
    engine.ask::<Counter>("indexed-b", add(-5)).await.unwrap().unwrap();
    assert_eq!(row(&journal, "indexed-b"), None, "the row recovered is the one removed");
}

#[test]
fn an_index_is_built_for_streams_written_before_their_kind_had_rows() {
    let journal = MemJournal::default();
    for (id, amount) in [("indexed-c", 2), ("indexed-d", 0), ("plain", 9)] {
        let event = CounterEvent::Added { amount, padding: Vec::new() };
        let record = codec::encode(&event).unwrap();
        journal
            .append_receipt(Stream::new(Counter::KIND.code, id), 1, vec![record])
            .wait()
            .unwrap();
    }
    assert_eq!(index_kind::<Counter>(&journal).unwrap(), 1);
    assert_eq!(row(&journal, "indexed-c"), Some(2));
    assert_eq!(journal.index_scan(b"", None, 10).unwrap().len(), 1);
}

#[tokio::test]
async fn an_entity_s_first_write_puts_the_rows_its_default_state_has() {
    // This counter has a row at 0, its default state; a first write that leaves the value
    // at 0 (`Keep`) must still put it: nothing was ever written for the entity.
    let journal = Arc::new(MemJournal::default());
    let engine = single_node(journal.clone(), EngineConfig::default());
    let keep = bazaar_engine::testkit::CounterCommand::Keep { text: "x".into() };
    engine.ask::<Counter>("always-indexed-f", keep).await.unwrap().unwrap();
    assert_eq!(row(&journal, "always-indexed-f"), Some(0), "the first write puts the row");
}
