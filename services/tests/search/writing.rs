//! Writing to the index: an upsert replaces the document with its ASIN and several coalesce
//! in one commit, a remove takes a document out of hits and facets, a change becomes
//! searchable within a second on its own, and a full pending map commits on the caller.

use std::time::{Duration, Instant};

use bazaar_services::search::{SearchConfig, SearchDoc, SearchIndex, SearchQuery};

use crate::model::check_facets;
use crate::support::{all_asins, doc, generate, index_with, query};

#[test]
fn upsert_replaces_and_coalesces() {
    let docs = generate(50, 1);
    let index = index_with(&docs);
    let before = index.stats();
    for round in 0..100 {
        let mut d = docs[0].clone();
        d.title = format!("round{round} edition");
        d.price_minor = Some(round);
        index.upsert(d).unwrap();
    }
    index.refresh_now().unwrap();
    let after = index.stats();
    // Each commit writes the ASIN at most once, however many updates it coalesced.
    assert!(after.docs_written - before.docs_written <= after.commits - before.commits);
    assert_eq!(after.upserts - before.upserts, 100);
    assert_eq!(after.docs_searchable, 50);
    assert_eq!(index.search(&SearchQuery::text("round99")).unwrap().hits[0].asin, docs[0].asin);
    assert_eq!(index.search(&SearchQuery::text("round98")).unwrap().total, 0);
    assert_eq!(index.search(&SearchQuery::text("edition")).unwrap().total, 1);
    // Updates spread over many commits (and segments) still leave one document.
    for round in 0..20 {
        let mut d = docs[1].clone();
        d.title = format!("spread{round}");
        index.upsert(d).unwrap();
        index.refresh_now().unwrap();
    }
    assert_eq!(all_asins(&index, &query()).len(), 50);
    assert_eq!(index.stats().docs_searchable, 50);
}

#[test]
fn remove_takes_a_document_out_of_hits_and_facets() {
    let docs = generate(100, 2);
    let index = index_with(&docs);
    let gone = &docs[10];
    index.remove(&gone.asin).unwrap();
    index.remove("NEVER-SEEN").unwrap();
    index.refresh_now().unwrap();
    let rest: Vec<SearchDoc> = docs.iter().filter(|d| d.asin != gone.asin).cloned().collect();
    let page = index.search(&query()).unwrap();
    check_facets(&rest, &query(), &page);
    assert!(!all_asins(&index, &query()).contains(&gone.asin));
    // Remove then upsert in one commit: the upsert wins.
    index.remove(&docs[11].asin).unwrap();
    index.upsert(docs[11].clone()).unwrap();
    index.refresh_now().unwrap();
    assert_eq!(index.search(&query()).unwrap().total, 99);
}

#[test]
fn a_change_is_searchable_within_a_second_without_refresh_now() {
    let index = SearchIndex::in_memory().unwrap();
    let start = Instant::now();
    index.upsert(doc("B0000000AA", "Zyzzyva speaker", "")).unwrap();
    while index.search(&SearchQuery::text("zyzzyva")).unwrap().total == 0 {
        assert!(start.elapsed() < Duration::from_secs(1), "not searchable after a second");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_full_pending_map_commits_on_the_callers_thread() {
    let config = SearchConfig { pending_docs_max: 10, ..SearchConfig::default() };
    let index = SearchIndex::in_memory_with(config).unwrap();
    for d in generate(25, 4) {
        index.upsert(d).unwrap();
        assert!(index.stats().pending < 10);
    }
    assert!(index.stats().docs_searchable >= 20);
}
