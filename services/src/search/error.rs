//! What a search call can fail with, split for the gateway into bad input (the caller's query
//! or document breaks a bound: 400/422) and internal failure (the index: 500/503).

use tantivy::TantivyError;

/// The class of a [`SearchError`], for the gateway's one exhaustive mapping to HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchErrorKind {
    /// The query or document breaks a rule whatever the index holds: fix the input.
    BadInput,
    /// The index could not do its work (I/O, a failed commit, a bad configuration).
    Internal,
}

/// A failed search, upsert, remove or refresh.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("page must be at least 1")]
    PageZero,
    #[error("page size must be between 1 and {max}")]
    PageSize { max: u32 },
    #[error("page reaches past result {max}; refine the query instead of paging deeper")]
    ResultWindow { max: u32 },
    #[error("query text is longer than {max} bytes")]
    TextTooLong { max: usize },
    #[error("query text has more than {max} distinct words")]
    TooManyTerms { max: usize },
    #[error("price range is empty: the minimum is above the maximum")]
    PriceRange,
    /// A query filter or a document field breaks a bound; `field` names it.
    #[error("invalid {field}: {reason}")]
    InvalidValue { field: &'static str, reason: &'static str },
    #[error("invalid search configuration: {0}")]
    Config(&'static str),
    #[error("search index {context}: {source}")]
    Index {
        context: &'static str,
        #[source]
        source: TantivyError,
    },
    #[error("search index directory {context}: {source}")]
    Io {
        context: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// An earlier commit failed; the writer refuses further writes until the index is reopened
    /// (and, being marked unclean, rebuilt from the journal).
    /// The index's files contradict its schema (a document without an ASIN, an unreadable
    /// dictionary): a corrupt cache, to be deleted and rebuilt.
    #[error("search index is inconsistent: {0}")]
    Inconsistent(&'static str),
    #[error("search index failed earlier and takes no more writes: {0}")]
    Failed(String),
}

impl SearchError {
    pub fn kind(&self) -> SearchErrorKind {
        match self {
            SearchError::PageZero
            | SearchError::PageSize { .. }
            | SearchError::ResultWindow { .. }
            | SearchError::TextTooLong { .. }
            | SearchError::TooManyTerms { .. }
            | SearchError::PriceRange
            | SearchError::InvalidValue { .. } => SearchErrorKind::BadInput,
            SearchError::Config(_)
            | SearchError::Index { .. }
            | SearchError::Io { .. }
            | SearchError::Inconsistent(_)
            | SearchError::Failed(_) => SearchErrorKind::Internal,
        }
    }

    /// A stable snake_case code, fit for a problem+json `code`.
    pub fn code(&self) -> &'static str {
        match self {
            SearchError::PageZero => "search_page_zero",
            SearchError::PageSize { .. } => "search_page_size",
            SearchError::ResultWindow { .. } => "search_result_window",
            SearchError::TextTooLong { .. } => "search_text_too_long",
            SearchError::TooManyTerms { .. } => "search_too_many_terms",
            SearchError::PriceRange => "search_price_range",
            SearchError::InvalidValue { .. } => "search_invalid_value",
            SearchError::Config(_) => "search_config",
            SearchError::Index { .. } => "search_index",
            SearchError::Io { .. } => "search_io",
            SearchError::Inconsistent(_) => "search_inconsistent",
            SearchError::Failed(_) => "search_failed",
        }
    }

    pub(crate) fn index(context: &'static str) -> impl FnOnce(TantivyError) -> SearchError {
        move |source| SearchError::Index { context, source }
    }

    pub(crate) fn io(context: &'static str) -> impl FnOnce(std::io::Error) -> SearchError {
        move |source| SearchError::Io { context, source }
    }

    pub(crate) fn invalid(field: &'static str, reason: &'static str) -> SearchError {
        SearchError::InvalidValue { field, reason }
    }
}
