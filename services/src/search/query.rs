//! A shopper's query, its validation, and the tantivy query it becomes.
//!
//! The query text is words, not a query language: it is run through the index's own analyzer,
//! so quotes, `field:` prefixes, operators and brackets are plain punctuation and cannot fail to
//! parse or reach a field the shopper should not name. Every word must match (in the title,
//! the brand or the description); the title weighs most. Filters narrow the result without
//! changing scores.

use std::collections::HashSet;
use std::ops::Bound;

use tantivy::Term;
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, Occur, Query, RangeQuery, TermQuery,
};
use tantivy::schema::{Facet, IndexRecordOption};
use tantivy::tokenizer::TextAnalyzer;

use super::doc::{check_keyword, normalize_category};
use super::error::SearchError;
use super::limits::{
    KEYWORD_BYTES_MAX, PAGE_SIZE_MAX, QUERY_TERMS_MAX, QUERY_TEXT_BYTES_MAX, RESULT_WINDOW_MAX,
};
use super::schema::{CATEGORY_SEPARATOR, Fields, category_facet};

/// Weight of a title match against a description match.
const TITLE_BOOST: f32 = 3.0;
/// Weight of a brand match against a description match.
const BRAND_BOOST: f32 = 2.0;

/// The order of hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sort {
    /// Best text match first (BM25). Without query text, newest first.
    #[default]
    Relevance,
    /// Cheapest first; products without a price last.
    PriceAsc,
    /// Dearest first; products without a price last.
    PriceDesc,
    /// Most recently listed first.
    Newest,
}

/// What a shopper asks. Ties in any sort are broken by index order, which is stable while the
/// index does not change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    /// Words looked up in title, brand and description; at most [`QUERY_TEXT_BYTES_MAX`]
    /// bytes. Text with no words in it (only punctuation) is treated as no text.
    pub text: Option<String>,
    /// A category path from the root, names joined by `>` (`Electronics > Audio`); matches
    /// products at that category or anywhere below it. Names are compared exactly, after
    /// trimming.
    pub category: Option<String>,
    /// Exact brand.
    pub brand: Option<String>,
    /// Lowest buy-box price, inclusive, in minor units. Products without a price never match a
    /// price bound.
    pub price_min_minor: Option<i64>,
    /// Highest buy-box price, inclusive, in minor units.
    pub price_max_minor: Option<i64>,
    pub in_stock: Option<bool>,
    /// Exact fulfilment channel, e.g. `marketplace`.
    pub fulfilment: Option<String>,
    pub sort: Sort,
    /// From 1.
    pub page: u32,
    /// From 1 to [`PAGE_SIZE_MAX`]; `page * page_size` at most [`RESULT_WINDOW_MAX`].
    pub page_size: u32,
}

impl Default for SearchQuery {
    fn default() -> Self {
        SearchQuery {
            text: None,
            category: None,
            brand: None,
            price_min_minor: None,
            price_max_minor: None,
            in_stock: None,
            fulfilment: None,
            sort: Sort::Relevance,
            page: 1,
            page_size: 20,
        }
    }
}

impl SearchQuery {
    /// A first page of 20 for the given words.
    pub fn text(text: impl Into<String>) -> SearchQuery {
        SearchQuery { text: Some(text.into()), ..SearchQuery::default() }
    }
}

/// A validated query, ready to run.
#[derive(Debug)]
pub(crate) struct Plan {
    /// Analyzed, distinct words, in query order.
    pub terms: Vec<String>,
    /// The filtered category; the root when there is none.
    pub category: Facet,
    pub query: Box<dyn Query>,
    pub sort: Sort,
    pub offset: usize,
    pub limit: usize,
}

impl Plan {
    pub fn has_text(&self) -> bool {
        !self.terms.is_empty()
    }
}

/// Checks every bound of `q` and builds its tantivy query.
pub(crate) fn plan(
    q: &SearchQuery,
    fields: &Fields,
    analyzer: &TextAnalyzer,
) -> Result<Plan, SearchError> {
    if q.page == 0 {
        return Err(SearchError::PageZero);
    }
    if q.page_size == 0 || q.page_size > PAGE_SIZE_MAX {
        return Err(SearchError::PageSize { max: PAGE_SIZE_MAX });
    }
    let window = u64::from(q.page) * u64::from(q.page_size);
    if window > u64::from(RESULT_WINDOW_MAX) {
        return Err(SearchError::ResultWindow { max: RESULT_WINDOW_MAX });
    }
    let terms = match &q.text {
        Some(text) => analyze(text, analyzer)?,
        None => Vec::new(),
    };
    let category_path = match &q.category {
        Some(category) => parse_category(category)?,
        None => Vec::new(),
    };
    if let (Some(min), Some(max)) = (q.price_min_minor, q.price_max_minor)
        && min > max
    {
        return Err(SearchError::PriceRange);
    }
    if let Some(brand) = &q.brand {
        check_keyword("brand", brand, KEYWORD_BYTES_MAX)?;
    }
    if let Some(channel) = &q.fulfilment {
        check_keyword("fulfilment", channel, KEYWORD_BYTES_MAX)?;
    }
    let category = category_facet(&category_path);
    let query = build_query(q, fields, &terms, &category);
    Ok(Plan {
        terms,
        category,
        query,
        sort: q.sort,
        offset: ((q.page - 1) * q.page_size) as usize,
        limit: q.page_size as usize,
    })
}

/// The distinct analyzed words of `text`.
fn analyze(text: &str, analyzer: &TextAnalyzer) -> Result<Vec<String>, SearchError> {
    if text.len() > QUERY_TEXT_BYTES_MAX {
        return Err(SearchError::TextTooLong { max: QUERY_TEXT_BYTES_MAX });
    }
    let mut analyzer = analyzer.clone();
    let mut stream = analyzer.token_stream(text);
    let mut seen = HashSet::new();
    let mut terms = Vec::new();
    while stream.advance() {
        let word = &stream.token().text;
        if seen.insert(word.clone()) {
            if terms.len() == QUERY_TERMS_MAX {
                return Err(SearchError::TooManyTerms { max: QUERY_TERMS_MAX });
            }
            terms.push(word.clone());
        }
    }
    Ok(terms)
}

/// `Electronics > Audio` to `["Electronics", "Audio"]`.
fn parse_category(category: &str) -> Result<Vec<String>, SearchError> {
    let separator = CATEGORY_SEPARATOR.trim();
    normalize_category(&category.split(separator).collect::<Vec<_>>())
}

fn build_query(q: &SearchQuery, f: &Fields, terms: &[String], category: &Facet) -> Box<dyn Query> {
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    for word in terms {
        clauses.push((Occur::Must, word_query(f, word)));
    }
    let mut filter = |query: Box<dyn Query>| {
        clauses.push((Occur::Must, Box::new(ConstScoreQuery::new(query, 0.0))));
    };
    if !category.is_root() {
        filter(term_query(Term::from_facet(f.category, category)));
    }
    if let Some(brand) = &q.brand {
        filter(term_query(Term::from_field_text(f.brand, brand)));
    }
    if q.price_min_minor.is_some() || q.price_max_minor.is_some() {
        let bound = |price: Option<i64>| match price {
            Some(price) => Bound::Included(Term::from_field_i64(f.price, price)),
            None => Bound::Unbounded,
        };
        filter(Box::new(RangeQuery::new(bound(q.price_min_minor), bound(q.price_max_minor))));
    }
    if let Some(in_stock) = q.in_stock {
        filter(term_query(Term::from_field_bool(f.in_stock, in_stock)));
    }
    if let Some(channel) = &q.fulfilment {
        filter(term_query(Term::from_field_text(f.fulfilment, channel)));
    }
    if clauses.is_empty() {
        return Box::new(AllQuery);
    }
    Box::new(BooleanQuery::new(clauses))
}

/// One word, in any of the text fields.
fn word_query(f: &Fields, word: &str) -> Box<dyn Query> {
    let text_term = |field| {
        Box::new(TermQuery::new(Term::from_field_text(field, word), IndexRecordOption::WithFreqs))
    };
    Box::new(BooleanQuery::new(vec![
        (
            Occur::Should,
            Box::new(BoostQuery::new(text_term(f.title), TITLE_BOOST)) as Box<dyn Query>,
        ),
        (Occur::Should, Box::new(BoostQuery::new(text_term(f.brand_text), BRAND_BOOST))),
        (Occur::Should, text_term(f.description)),
    ]))
}

fn term_query(term: Term) -> Box<dyn Query> {
    Box::new(TermQuery::new(term, IndexRecordOption::Basic))
}
