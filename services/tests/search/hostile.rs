//! Hostile input: any query text gives a result or a bad-input error, queries past a bound
//! and invalid documents are bad input, and nothing invalid reaches the index.

use bazaar_services::search::{
    SearchDoc, SearchError, SearchErrorKind, SearchIndex, SearchPage, SearchQuery, limits,
};

use crate::support::{doc, generate, index_with, query};

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
