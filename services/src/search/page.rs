//! What a search answers: the total, one page of hits, and facet counts.

use super::facets::Facets;

/// One product on a page.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub asin: String,
    /// The BM25 relevance score for a relevance-sorted query with text; 0 otherwise.
    pub score: f32,
}

/// One page of an answer.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchPage {
    /// Documents matching the query and every filter, over all pages.
    pub total: u64,
    pub hits: Vec<Hit>,
    /// Counted over all `total` documents, not only this page.
    pub facets: Facets,
}

/// Counters of the write side, for metrics and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchStats {
    /// `upsert` calls accepted.
    pub upserts: u64,
    /// `remove` calls accepted.
    pub removes: u64,
    /// Changes written to the index after coalescing (at most one per ASIN per commit).
    pub docs_written: u64,
    pub commits: u64,
    /// Changes staged and not yet committed.
    pub pending: usize,
    /// Documents a search sees now.
    pub docs_searchable: u64,
}
