//! Catalog search: a projection of products onto a tantivy index, with full text, filters,
//! facet counts, sorts and pagination.
//!
//! Entry point: [`SearchIndex`] (`open`, `in_memory`, `upsert`, `remove`, `search`,
//! `refresh_now`). It knows nothing of the product aggregate: the gateway maps a product and
//! its buy box to a [`SearchDoc`] and a shopper's request to a [`SearchQuery`].
//!
//! Invariants, and how they are kept:
//! - **Rebuildable; the files are a cache.** The journal is the source of truth. Every commit
//!   carries a payload naming the schema version and whether the index is open or was closed
//!   cleanly; only a cleanly closed index of this version is trusted at open. A missing,
//!   unreadable or other-version index is recreated empty, and one that was not closed cleanly
//!   (a crash may have lost staged changes) is kept but flagged: in both cases
//!   [`SearchIndex::needs_rebuild`] is true and the caller brings the index up to its read
//!   model. Each document carries a fingerprint of its fields, so after a crash only the
//!   documents that differ are indexed again ([`SearchIndex::indexed`],
//!   [`SearchIndex::upsert_unless_current`]), not the whole catalogue. Catching up is safe
//!   over any state because `upsert` and `remove` are idempotent per ASIN.
//! - **Coalescing.** Changes are staged in a map keyed by ASIN, the last change winning, so a
//!   storm of updates to one product between two commits is indexed once.
//! - **Refresh bound.** A background thread commits staged changes and reloads the reader at
//!   least every `refresh_ms` (default 500 ms, at most [`limits::REFRESH_MS_MAX`]), so a change
//!   is searchable within a second. `refresh_now` commits at once (tests, end of a rebuild).
//! - **Bounded.** The pending map holds at most `pending_docs_max` changes: staging past it
//!   commits on the caller's thread (back-pressure), never grows the map. Documents, query
//!   text, page size and page depth have bounds in [`limits`]; beyond one is a bad-input
//!   error naming it.
//! - **One document per ASIN.** A commit deletes the ASIN's term before adding its document.
//! - **No user input reaches a query language.** Query text is analyzed into words; filters
//!   become term and range queries. Hostile text yields a result or a bad-input error, never
//!   a panic.
//! - **Facets count every match, not the page**, in the same pass as the top-k collection,
//!   from fast columns (see [`facets`]).
//! - **No async.** tantivy I/O runs on the caller's (blocking) thread or the refresher thread.
//!
//! Category representation: a category path is a tantivy facet (`/Electronics/Audio`), which
//! indexes a term for every ancestor, so filtering on `Electronics` or on
//! `Electronics > Audio` is one term query; queries and facet answers spell paths with
//! [`CATEGORY_SEPARATOR`].

mod doc;
mod error;
pub mod facets;
mod index;
pub mod limits;
mod page;
mod query;
mod schema;
#[cfg(any(test, feature = "testkit"))]
mod synthetic;
mod writer;

pub use doc::SearchDoc;
pub use error::{SearchError, SearchErrorKind};
pub use facets::{Facets, PRICE_BUCKET_BOUNDS_MINOR, price_bucket, price_bucket_labels};
pub use index::{SearchConfig, SearchIndex};
pub use page::{Hit, SearchPage, SearchStats};
pub use query::{SearchQuery, Sort};
pub use schema::CATEGORY_SEPARATOR;
#[cfg(any(test, feature = "testkit"))]
pub use synthetic::{BENCH_BRANDS, BenchRng, bench_catalog, bench_queries};
