//! Catalog search: ranking, filters, sorts, pagination, facet counts checked against a count
//! over the inserted documents, upsert and remove semantics, reopening, rebuild detection and
//! hostile input. Plain `#[test]`s over in-memory or temporary-directory indexes.

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use bazaar_services::search::{
    BenchRng, PRICE_BUCKET_BOUNDS_MINOR, SearchConfig, SearchDoc, SearchError, SearchErrorKind,
    SearchIndex, SearchPage, SearchQuery, Sort, bench_catalog, limits, price_bucket,
    price_bucket_labels,
};

const BRANDS: [&str; 15] = [
    "Acme",
    "Acme Labs",
    "Bolt",
    "Crest",
    "Dyna",
    "Elara",
    "Fjord",
    "Gala",
    "Helix",
    "Ionic",
    "Jolt",
    "Kite",
    "Lumen",
    "Müller",
    "Nova",
];

const CATEGORIES: [(&str, [&str; 3]); 3] = [
    ("Electronics", ["Audio", "Computers", "Cameras"]),
    ("Home & Kitchen", ["Cookware", "Bedding", "Lighting"]),
    ("Books", ["Fiction", "History", "Science"]),
];

const LEAVES: [&str; 2] = ["Essentials", "Premium"];

/// `n` documents with random brands, categories, prices, stock and fulfilment, seeded. Some
/// have no brand, no category or no price; some prices sit exactly on bucket bounds.
fn generate(n: usize, seed: u64) -> Vec<SearchDoc> {
    let mut rng = BenchRng::new(seed);
    (0..n)
        .map(|i| {
            let brand =
                if rng.chance(0.05) { String::new() } else { rng.pick(&BRANDS).to_string() };
            let (top, subs) = rng.pick(&CATEGORIES);
            let category_path = match rng.below(10) {
                0 => Vec::new(),
                1 => vec![top.to_string()],
                2 | 3 => vec![top.to_string(), rng.pick(subs).to_string()],
                _ => {
                    vec![top.to_string(), rng.pick(subs).to_string(), rng.pick(&LEAVES).to_string()]
                }
            };
            let price_minor = match rng.below(10) {
                0 => None,
                1 => Some(*rng.pick(&PRICE_BUCKET_BOUNDS_MINOR)),
                _ => Some(rng.below(200_000) as i64),
            };
            let fulfilment = match rng.below(3) {
                0 => vec!["marketplace".to_owned()],
                1 => vec!["seller".to_owned()],
                _ => vec!["marketplace".to_owned(), "seller".to_owned()],
            };
            SearchDoc {
                asin: format!("T{i:09}"),
                title: format!("{brand} item {i}"),
                brand,
                description: "a generated product for the facet tests".to_owned(),
                category_path,
                price_minor,
                currency: "EUR".to_owned(),
                in_stock: rng.chance(0.8),
                fulfilment,
                created_ms: 1_000_000 + rng.below(1_000_000) as u64,
            }
        })
        .collect()
}

fn doc(asin: &str, title: &str, description: &str) -> SearchDoc {
    SearchDoc {
        asin: asin.to_owned(),
        title: title.to_owned(),
        brand: "Acme".to_owned(),
        description: description.to_owned(),
        category_path: vec!["Electronics".to_owned(), "Audio".to_owned()],
        price_minor: Some(1_999),
        currency: "EUR".to_owned(),
        in_stock: true,
        fulfilment: vec!["marketplace".to_owned()],
        created_ms: 1,
    }
}

/// An index of `docs`, committed in several batches so that most tests run over several
/// segments (each with its own term ordinals).
fn index_with(docs: &[SearchDoc]) -> SearchIndex {
    let index = SearchIndex::in_memory().unwrap();
    for batch in docs.chunks(97) {
        for d in batch {
            index.upsert(d.clone()).unwrap();
        }
        index.refresh_now().unwrap();
    }
    index.refresh_now().unwrap();
    index
}

fn query() -> SearchQuery {
    SearchQuery { page_size: limits::PAGE_SIZE_MAX, ..SearchQuery::default() }
}

/// Every hit of `q`, page by page, with the ASINs of each page.
fn all_pages(index: &SearchIndex, q: &SearchQuery) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut page = 1;
    loop {
        let answer = index.search(&SearchQuery { page, ..q.clone() }).unwrap();
        if answer.hits.is_empty() {
            return pages;
        }
        pages.push(answer.hits.into_iter().map(|h| h.asin).collect());
        page += 1;
    }
}

fn all_asins(index: &SearchIndex, q: &SearchQuery) -> Vec<String> {
    all_pages(index, q).concat()
}

/// The test's own reading of the filters (text aside).
fn matches(d: &SearchDoc, q: &SearchQuery) -> bool {
    if let Some(category) = &q.category {
        let path: Vec<&str> = category.split('>').map(str::trim).collect();
        if d.category_path.len() < path.len() || d.category_path[..path.len()] != path[..] {
            return false;
        }
    }
    if q.brand.as_ref().is_some_and(|b| *b != d.brand) {
        return false;
    }
    if q.price_min_minor.is_some() || q.price_max_minor.is_some() {
        let Some(price) = d.price_minor else { return false };
        if q.price_min_minor.is_some_and(|min| price < min)
            || q.price_max_minor.is_some_and(|max| price > max)
        {
            return false;
        }
    }
    if q.in_stock.is_some_and(|s| s != d.in_stock) {
        return false;
    }
    if let Some(channel) = &q.fulfilment
        && !d.fulfilment.contains(channel)
    {
        return false;
    }
    true
}

fn expected_asins(docs: &[SearchDoc], q: &SearchQuery) -> HashSet<String> {
    docs.iter().filter(|d| matches(d, q)).map(|d| d.asin.clone()).collect()
}

fn ranked(counts: BTreeMap<String, u64>) -> Vec<(String, u64)> {
    let mut counts: Vec<(String, u64)> = counts.into_iter().collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    counts.truncate(limits::FACET_VALUES_MAX);
    counts
}

/// Facet counts done by the test over the documents it inserted.
fn check_facets(docs: &[SearchDoc], q: &SearchQuery, page: &SearchPage) {
    let matching: Vec<&SearchDoc> = docs.iter().filter(|d| matches(d, q)).collect();
    assert_eq!(page.total, matching.len() as u64, "total for {q:?}");
    let mut brands = BTreeMap::new();
    let mut categories = BTreeMap::new();
    let mut buckets = vec![0u64; PRICE_BUCKET_BOUNDS_MINOR.len() + 1];
    let depth = q.category.as_ref().map_or(0, |c| c.split('>').count());
    for d in &matching {
        if !d.brand.is_empty() {
            *brands.entry(d.brand.clone()).or_insert(0) += 1;
        }
        if d.category_path.len() > depth {
            *categories.entry(d.category_path[..=depth].join(" > ")).or_insert(0) += 1;
        }
        if let Some(price) = d.price_minor {
            buckets[price_bucket(price)] += 1;
        }
    }
    assert_eq!(page.facets.brand, ranked(brands), "brand facet for {q:?}");
    assert_eq!(page.facets.category, ranked(categories), "category facet for {q:?}");
    let buckets: Vec<(String, u64)> = price_bucket_labels().into_iter().zip(buckets).collect();
    assert_eq!(page.facets.price_buckets, buckets, "price buckets for {q:?}");
}

fn filter_queries() -> Vec<SearchQuery> {
    let q = query();
    vec![
        q.clone(),
        SearchQuery { category: Some("Electronics".into()), ..q.clone() },
        SearchQuery { category: Some("Electronics > Audio".into()), ..q.clone() },
        SearchQuery { category: Some(" Home & Kitchen >Lighting > Premium ".into()), ..q.clone() },
        SearchQuery { category: Some("Audio".into()), ..q.clone() },
        SearchQuery { brand: Some("Acme".into()), ..q.clone() },
        SearchQuery { brand: Some("Müller".into()), ..q.clone() },
        SearchQuery { brand: Some("acme".into()), ..q.clone() },
        SearchQuery { price_min_minor: Some(10_000), ..q.clone() },
        SearchQuery { price_max_minor: Some(2_500), ..q.clone() },
        SearchQuery { price_min_minor: Some(1_000), price_max_minor: Some(5_000), ..q.clone() },
        SearchQuery { in_stock: Some(true), ..q.clone() },
        SearchQuery { in_stock: Some(false), ..q.clone() },
        SearchQuery { fulfilment: Some("marketplace".into()), ..q.clone() },
        SearchQuery { fulfilment: Some("seller".into()), ..q.clone() },
        SearchQuery {
            category: Some("Books".into()),
            brand: Some("Nova".into()),
            price_max_minor: Some(150_000),
            in_stock: Some(true),
            fulfilment: Some("seller".into()),
            ..q.clone()
        },
    ]
}

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
    let by_asin: std::collections::HashMap<&str, &SearchDoc> =
        docs.iter().map(|d| (d.asin.as_str(), d)).collect();
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
fn an_index_not_closed_cleanly_needs_a_rebuild() {
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

fn bad_input(result: Result<SearchPage, SearchError>) -> SearchError {
    let error = result.expect_err("expected a bad-input error");
    assert_eq!(error.kind(), SearchErrorKind::BadInput, "{error}");
    error
}

#[test]
fn hostile_query_text_gives_a_result_or_a_bad_input_error() {
    let index = index_with(&generate(60, 12));
    let long = "headphones ".repeat(1_000);
    let texts = [
        "\"unbalanced quote",
        "item\"",
        "title:item asin:* price:[0 TO 10] in_stock:true",
        "field: : ::",
        "((((item",
        "item AND OR NOT -item +item",
        "*",
        "?~^2 \\ / {} [] <> !",
        "",
        "   ",
        "耳机 🎧 Ünïcödé ﷽ עברית \u{200B}\u{0}\u{FEFF}",
        "e\u{301}",
        "a b c d e f g h i j k l m n o p q r s t u v w x y z aa bb cc dd ee ff",
    ];
    for text in texts {
        match index.search(&SearchQuery::text(text)) {
            Ok(page) => assert!(page.hits.len() as u64 <= page.total),
            Err(error) => assert_eq!(error.kind(), SearchErrorKind::BadInput, "{text:?}: {error}"),
        }
    }
    let error = bad_input(index.search(&SearchQuery::text(long)));
    assert!(matches!(error, SearchError::TextTooLong { .. }));
    let many: String = (0..40).map(|i| format!("w{i} ")).collect();
    assert!(matches!(
        bad_input(index.search(&SearchQuery::text(many))),
        SearchError::TooManyTerms { .. }
    ));
    // Query syntax is plain text: a field name is a word like any other.
    assert_eq!(index.search(&SearchQuery::text("item:")).unwrap().total, 60);
    assert_eq!(index.search(&SearchQuery::text("title:item")).unwrap().total, 0);
}

#[test]
fn out_of_bounds_queries_are_bad_input() {
    let index = index_with(&generate(10, 13));
    let q = query();
    let cases = [
        SearchQuery { page: 0, ..q.clone() },
        SearchQuery { page_size: 0, ..q.clone() },
        SearchQuery { page_size: limits::PAGE_SIZE_MAX + 1, ..q.clone() },
        SearchQuery { page: limits::RESULT_WINDOW_MAX / limits::PAGE_SIZE_MAX + 1, ..q.clone() },
        SearchQuery { page: u32::MAX, page_size: limits::PAGE_SIZE_MAX, ..q.clone() },
        SearchQuery { price_min_minor: Some(10), price_max_minor: Some(9), ..q.clone() },
        SearchQuery { category: Some(String::new()), ..q.clone() },
        SearchQuery { category: Some("Electronics >".into()), ..q.clone() },
        SearchQuery { category: Some("a > ".repeat(20) + "b"), ..q.clone() },
        SearchQuery { brand: Some("x".repeat(1_000)), ..q.clone() },
        SearchQuery { fulfilment: Some("\u{7}".into()), ..q.clone() },
    ];
    for case in cases {
        bad_input(index.search(&case));
    }
    let deep = SearchQuery { page: limits::RESULT_WINDOW_MAX / limits::PAGE_SIZE_MAX, ..q };
    assert!(index.search(&deep).unwrap().hits.is_empty());
}

#[test]
fn invalid_documents_are_rejected_whole() {
    let index = SearchIndex::in_memory().unwrap();
    let base = doc("B000000001", "fine", "");
    let cases = [
        SearchDoc { asin: String::new(), ..base.clone() },
        SearchDoc { asin: "A".repeat(100), ..base.clone() },
        SearchDoc { price_minor: Some(-1), ..base.clone() },
        SearchDoc { category_path: vec!["A > B".into()], ..base.clone() },
        SearchDoc { category_path: vec!["A".into(), " ".into()], ..base.clone() },
        SearchDoc { category_path: vec!["x".into(); 9], ..base.clone() },
        SearchDoc { fulfilment: vec!["seller".into(); 9], ..base.clone() },
        SearchDoc { description: "x".repeat(100_000), ..base.clone() },
    ];
    for case in cases {
        let error = index.upsert(case).unwrap_err();
        assert_eq!(error.kind(), SearchErrorKind::BadInput, "{error}");
    }
    assert_eq!(index.remove("").unwrap_err().kind(), SearchErrorKind::BadInput);
    index.refresh_now().unwrap();
    assert_eq!(index.stats().docs_searchable, 0);
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
    for q in bazaar_services::search::bench_queries(200, 42) {
        index.search(&q).unwrap();
    }
}
