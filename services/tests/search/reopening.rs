//! An index on disk across restarts: one closed cleanly is trusted with its documents; one
//! left as a crash leaves it, missing, or broken asks for a rebuild.

use bazaar_services::search::{SearchIndex, SearchQuery};

use crate::model::check_facets;
use crate::support::{doc, generate, query};

#[test]
fn a_reopened_index_keeps_its_documents() {
    let dir = tempfile::tempdir().unwrap();
    let docs = generate(120, 6);
    {
        let index = SearchIndex::open(dir.path()).unwrap();
        assert!(index.needs_rebuild(), "a new index needs a rebuild");
        for d in &docs {
            index.upsert(d.clone()).unwrap();
        }
        // No refresh: closing commits what is staged.
        index.close().unwrap();
    }
    let index = SearchIndex::open(dir.path()).unwrap();
    assert!(!index.needs_rebuild(), "a cleanly closed index is trusted");
    let page = index.search(&query()).unwrap();
    check_facets(&docs, &query(), &page);
    drop(index);
    // Dropping closes cleanly too.
    assert!(!SearchIndex::open(dir.path()).unwrap().needs_rebuild());
}

#[test]
fn an_index_not_closed_cleanly_is_caught_up_with_only_what_changed() {
    let dir = tempfile::tempdir().unwrap();
    let copy = tempfile::tempdir().unwrap();
    let docs = generate(30, 8);
    let index = SearchIndex::open(dir.path()).unwrap();
    for d in &docs {
        index.upsert(d.clone()).unwrap();
    }
    index.refresh_now().unwrap();
    // The files as a crash would leave them: committed, never closed.
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), copy.path().join(entry.file_name())).unwrap();
    }
    let crashed = SearchIndex::open(copy.path()).unwrap();
    assert!(crashed.needs_rebuild());
    assert_eq!(crashed.search(&query()).unwrap().total, 30, "documents are kept");
    drop(index);

    // Caught up, not rebuilt: the documents the crash left are current, one changed since.
    let mut indexed = crashed.indexed().unwrap();
    assert_eq!(indexed.len(), 30);
    let mut changed = docs[7].clone();
    changed.title.push_str(" zyzzyva");
    let mut staged = 0;
    for d in docs.iter().filter(|d| d.asin != changed.asin).chain([&changed]) {
        let held = indexed.remove(&d.asin);
        staged += usize::from(crashed.upsert_unless_current(d.clone(), held).unwrap());
    }
    assert_eq!(staged, 1, "only the changed document is indexed again");
    assert!(indexed.is_empty());
    crashed.refresh_now().unwrap();
    let found = crashed.search(&SearchQuery::text("zyzzyva")).unwrap();
    assert_eq!(found.total, 1);
}

#[test]
fn a_missing_or_broken_directory_needs_a_rebuild() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("search");
    SearchIndex::open(&path).unwrap().upsert(doc("B000000001", "kept", "")).unwrap();
    assert!(!SearchIndex::open(&path).unwrap().needs_rebuild());
    std::fs::remove_dir_all(&path).unwrap();
    let index = SearchIndex::open(&path).unwrap();
    assert!(index.needs_rebuild());
    assert_eq!(index.search(&query()).unwrap().total, 0);
    drop(index);
    std::fs::write(path.join("meta.json"), b"{ not json").unwrap();
    let index = SearchIndex::open(&path).unwrap();
    assert!(index.needs_rebuild());
    index.upsert(doc("B000000002", "rebuilt", "")).unwrap();
    index.refresh_now().unwrap();
    assert_eq!(index.search(&SearchQuery::text("rebuilt")).unwrap().total, 1);
}
