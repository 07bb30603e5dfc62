//! Every bound of the search projection, in one place. A query beyond a bound is a bad-input
//! error naming the bound, never a panic and never a silent clamp.

/// Most hits one page may hold.
pub const PAGE_SIZE_MAX: u32 = 100;

/// Deepest result a page may reach (`page * page_size`). Deeper paging costs a top-k heap of
/// that size on every query; shoppers refine the query instead.
pub const RESULT_WINDOW_MAX: u32 = 10_000;

/// Longest query text, in bytes. Longer text is a bad input, not truncated.
pub const QUERY_TEXT_BYTES_MAX: usize = 512;

/// Most distinct words one query text may hold after analysis.
pub const QUERY_TERMS_MAX: usize = 32;

/// Longest brand, fulfilment or currency value in a query or a document, in bytes.
pub const KEYWORD_BYTES_MAX: usize = 200;

/// Longest ASIN (or other product key) the index accepts, in bytes.
pub const ASIN_BYTES_MAX: usize = 64;

/// Deepest category path, in a query or a document.
pub const CATEGORY_DEPTH_MAX: usize = 8;

/// Longest category name at one level, in bytes.
pub const CATEGORY_NAME_BYTES_MAX: usize = 200;

/// Most fulfilment channels on one document.
pub const FULFILMENTS_MAX: usize = 8;

/// Most text (title + brand + description) one document may carry, in bytes. Bounds the memory
/// the pending map can hold: `pending_docs_max * DOC_TEXT_BYTES_MAX`.
pub const DOC_TEXT_BYTES_MAX: usize = 64 * 1024;

/// Most values one facet list (brand, category) returns, highest counts first.
pub const FACET_VALUES_MAX: usize = 50;

/// Default bound on the time a change waits before it is searchable.
pub const REFRESH_MS_DEFAULT: u64 = 500;

/// Longest refresh interval a configuration may ask for: a change is searchable within a
/// second of being upserted, with room for the commit itself.
pub const REFRESH_MS_MAX: u64 = 500;

/// Default bound on coalesced, not yet committed documents.
pub const PENDING_DOCS_MAX_DEFAULT: usize = 10_000;

/// Default memory the index writer buffers before it flushes a segment, in bytes.
pub const WRITER_MEMORY_BYTES_DEFAULT: usize = 64 * 1024 * 1024;

/// Least memory tantivy accepts for one indexing thread, in bytes.
pub const WRITER_MEMORY_BYTES_MIN: usize = 15 * 1024 * 1024;

/// Tokens longer than this many bytes (pasted hashes, base64) are dropped rather than indexed.
pub const TOKEN_BYTES_MAX: usize = 40;

const _: () = assert!(PAGE_SIZE_MAX <= RESULT_WINDOW_MAX);
const _: () = assert!(REFRESH_MS_DEFAULT <= REFRESH_MS_MAX);
const _: () = assert!(REFRESH_MS_MAX < 1_000);
const _: () = assert!(WRITER_MEMORY_BYTES_MIN <= WRITER_MEMORY_BYTES_DEFAULT);
const _: () = assert!(QUERY_TERMS_MAX <= QUERY_TEXT_BYTES_MAX);
