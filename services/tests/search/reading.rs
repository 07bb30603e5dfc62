//! Reading the index: ranking, each filter, facet counts, sorts and pagination agree with the
//! tests' own reading of the inserted documents; documents with empty columns and the bench
//! catalogue search too.

use std::collections::{HashMap, HashSet};

use bazaar_services::search::{SearchDoc, SearchQuery, Sort, bench_catalog, bench_queries, limits};

use crate::model::{check_facets, expected_asins, filter_queries};
use crate::support::{all_asins, all_pages, doc, generate, index_with, query};

#[test]
fn a_title_match_ranks_first() {
    let index = index_with(&[
        doc("B000000001", "Acme cable", "works with headphones, any headphones, all headphones"),
        doc("B000000002", "Acme wireless Headphones", "over-ear, black"),
        doc("B000000003", "Acme kettle", "boils water"),
    ]);
    let page = index.search(&SearchQuery::text("headphone")).unwrap();
    assert_eq!(page.total, 2);
    assert_eq!(page.hits[0].asin, "B000000002");
    assert!(page.hits[0].score > page.hits[1].score);
    // Every word must match somewhere.
    let page = index.search(&SearchQuery::text("wireless HEADPHONES")).unwrap();
    assert_eq!(page.hits.iter().map(|h| h.asin.as_str()).collect::<Vec<_>>(), ["B000000002"]);
    // Brand words are full text too.
    assert_eq!(index.search(&SearchQuery::text("acme")).unwrap().total, 3);
    assert_eq!(index.search(&SearchQuery::text("nothing-like-this")).unwrap().total, 0);
}

#[test]
fn each_filter_matches_the_documents_it_names() {
    let docs = generate(300, 7);
    let index = index_with(&docs);
    for q in filter_queries() {
        let found = all_asins(&index, &q);
        let unique: HashSet<String> = found.iter().cloned().collect();
        assert_eq!(unique.len(), found.len(), "duplicates for {q:?}");
        assert_eq!(unique, expected_asins(&docs, &q), "hits for {q:?}");
    }
    // Filters combine with text.
    let q = SearchQuery { brand: Some("Bolt".into()), ..SearchQuery::text("item") };
    assert_eq!(index.search(&q).unwrap().total as usize, expected_asins(&docs, &q).len());
}

#[test]
fn facet_counts_equal_a_count_over_the_inserted_documents() {
    let docs = generate(400, 11);
    let index = index_with(&docs);
    for q in filter_queries() {
        for page in [1, 2] {
            let q = SearchQuery { page, page_size: 10, ..q.clone() };
            check_facets(&docs, &q, &index.search(&q).unwrap());
        }
    }
    // Facets of a leaf category have no children to count.
    let q = SearchQuery { category: Some("Books > Fiction > Premium".into()), ..query() };
    let page = index.search(&q).unwrap();
    assert!(page.total > 0);
    assert!(page.facets.category.is_empty());
}

#[test]
fn facet_values_are_bounded_and_ranked() {
    let docs = bench_catalog(2_000, 3);
    let index = index_with(&docs);
    let q = query();
    let page = index.search(&q).unwrap();
    assert_eq!(page.total, 2_000);
    assert_eq!(page.facets.brand.len(), limits::FACET_VALUES_MAX);
    check_facets(&docs, &q, &page);
}

#[test]
fn sorts_order_hits_and_put_unpriced_products_last() {
    let docs = generate(300, 5);
    let index = index_with(&docs);
    let by_asin: HashMap<&str, &SearchDoc> = docs.iter().map(|d| (d.asin.as_str(), d)).collect();
    for sort in [Sort::PriceAsc, Sort::PriceDesc, Sort::Newest, Sort::Relevance] {
        let found = all_asins(&index, &SearchQuery { sort, ..query() });
        assert_eq!(found.len(), docs.len(), "{sort:?}");
        let found: Vec<&SearchDoc> = found.iter().map(|a| by_asin[a.as_str()]).collect();
        for pair in found.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            let ordered = match sort {
                Sort::PriceAsc => match (a.price_minor, b.price_minor) {
                    (Some(a), Some(b)) => a <= b,
                    (_, None) => true,
                    (None, Some(_)) => false,
                },
                Sort::PriceDesc => match (a.price_minor, b.price_minor) {
                    (Some(a), Some(b)) => a >= b,
                    (_, None) => true,
                    (None, Some(_)) => false,
                },
                // Without text, relevance is newest first.
                Sort::Newest | Sort::Relevance => a.created_ms >= b.created_ms,
            };
            assert!(ordered, "{sort:?}: {} before {}", a.asin, b.asin);
        }
    }
    // With text, relevance orders by score.
    let page = index.search(&SearchQuery { page_size: 50, ..SearchQuery::text("item acme") });
    let scores: Vec<f32> = page.unwrap().hits.iter().map(|h| h.score).collect();
    assert!(!scores.is_empty());
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
}

#[test]
fn pages_partition_the_result_set() {
    let docs = generate(250, 9);
    let index = index_with(&docs);
    for sort in [Sort::Relevance, Sort::PriceAsc, Sort::PriceDesc, Sort::Newest] {
        for page_size in [1, 7, 50, 100] {
            let q = SearchQuery { sort, page_size, ..SearchQuery::text("item") };
            let pages = all_pages(&index, &q);
            let total = index.search(&q).unwrap().total as usize;
            assert!(pages[..pages.len() - 1].iter().all(|p| p.len() == page_size as usize));
            let all: Vec<String> = pages.concat();
            let unique: HashSet<&String> = all.iter().collect();
            assert_eq!(all.len(), total, "{sort:?} {page_size}");
            assert_eq!(unique.len(), total, "{sort:?} {page_size}: a hit on two pages");
        }
    }
}

#[test]
fn products_without_a_price_or_brand_need_no_columns() {
    let mut d = doc("B000000001", "plain", "");
    d.price_minor = None;
    d.brand = String::new();
    d.category_path = Vec::new();
    let index = index_with(&[d]);
    for sort in [Sort::PriceAsc, Sort::PriceDesc, Sort::Newest, Sort::Relevance] {
        let page = index.search(&SearchQuery { sort, ..query() }).unwrap();
        assert_eq!(page.total, 1, "{sort:?}");
        assert!(page.facets.brand.is_empty() && page.facets.category.is_empty());
        assert!(page.facets.price_buckets.iter().all(|(_, count)| *count == 0));
    }
    let q = SearchQuery { price_max_minor: Some(i64::MAX), ..query() };
    assert_eq!(index.search(&q).unwrap().total, 0);
}

#[test]
fn the_bench_catalog_is_deterministic_and_valid() {
    let a = bench_catalog(500, 42);
    assert_eq!(a, bench_catalog(500, 42));
    assert_ne!(a, bench_catalog(500, 43));
    let asins: HashSet<&str> = a.iter().map(|d| d.asin.as_str()).collect();
    assert_eq!(asins.len(), 500);
    let index = index_with(&a);
    assert_eq!(index.stats().docs_searchable, 500);
    for q in bench_queries(200, 42) {
        index.search(&q).unwrap();
    }
}
