//! [`SearchIndex`]: opening (or recreating) the index, the background refresher, writes and
//! queries.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::Ordering as AtomicOrdering;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use tantivy::collector::{Collector, FacetCollector, FacetCounts, TopDocs};
use tantivy::columnar::StrColumn;
use tantivy::directory::MmapDirectory;
use tantivy::indexer::IndexWriterOptions;
use tantivy::query::Query;
use tantivy::schema::Schema;
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{DocAddress, Index, IndexReader, IndexSettings, Order, ReloadPolicy, Searcher};

use super::doc::SearchDoc;
use super::error::SearchError;
use super::facets::{Stats, StatsCollector, facets};
use super::limits::{
    PENDING_DOCS_MAX_DEFAULT, REFRESH_MS_DEFAULT, REFRESH_MS_MAX, WRITER_MEMORY_BYTES_DEFAULT,
    WRITER_MEMORY_BYTES_MIN,
};
use super::page::{Hit, SearchPage, SearchStats};
use super::query::{Plan, SearchQuery, Sort, plan};
use super::schema::{
    F_ASIN, F_CATEGORY, F_CREATED_MS, F_FINGERPRINT, F_PRICE, Fields, SCHEMA_VERSION,
    TEXT_ANALYZER, build_schema, text_analyzer, to_document,
};
use super::writer::Writer;

/// How the index is run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchConfig {
    /// The background thread commits staged changes at least this often: the bound on how long
    /// a change waits before it is searchable (plus the commit itself). 1 to
    /// [`REFRESH_MS_MAX`].
    pub refresh_ms: u64,
    /// Most staged (coalesced, uncommitted) changes; staging one more commits on the caller's
    /// thread.
    pub pending_docs_max: usize,
    /// Memory the tantivy writer buffers before flushing a segment, in bytes.
    pub writer_memory_bytes: usize,
}

impl Default for SearchConfig {
    fn default() -> Self {
        SearchConfig {
            refresh_ms: REFRESH_MS_DEFAULT,
            pending_docs_max: PENDING_DOCS_MAX_DEFAULT,
            writer_memory_bytes: WRITER_MEMORY_BYTES_DEFAULT,
        }
    }
}

impl SearchConfig {
    fn check(&self) -> Result<(), SearchError> {
        if self.refresh_ms == 0 || self.refresh_ms > REFRESH_MS_MAX {
            return Err(SearchError::Config("refresh_ms out of range"));
        }
        if self.pending_docs_max == 0 {
            return Err(SearchError::Config("pending_docs_max must be at least 1"));
        }
        if self.writer_memory_bytes < WRITER_MEMORY_BYTES_MIN {
            return Err(SearchError::Config("writer_memory_bytes below tantivy's minimum"));
        }
        Ok(())
    }
}

/// Commit payload while the index is open: changes may be staged and not committed, so if the
/// process dies now, the index is behind the journal.
fn payload_open() -> String {
    format!("bazaar-search v{SCHEMA_VERSION} open")
}

/// Commit payload of a clean close: everything staged was committed.
fn payload_clean() -> String {
    format!("bazaar-search v{SCHEMA_VERSION} clean")
}

/// A full-text catalog index; see the [module docs](super) for its invariants.
///
/// All methods take `&self` and run tantivy I/O on the caller's thread; share it in an `Arc`
/// and call it from blocking threads. Dropping it stops the refresher, commits what is staged
/// and marks the files clean.
pub struct SearchIndex {
    shared: Arc<Shared>,
    refresher: Option<JoinHandle<()>>,
}

// Shared by the gateway's blocking threads through an `Arc`.
const _: () = {
    const fn shareable<T: Send + Sync>() {}
    shareable::<SearchIndex>();
};

struct Shared {
    fields: Fields,
    analyzer: TextAnalyzer,
    reader: IndexReader,
    writer: Writer,
    needs_rebuild: bool,
    payload_open: String,
    /// Set to stop the refresher; `wake` tells it.
    stop: Mutex<bool>,
    wake: Condvar,
}

impl SearchIndex {
    /// Opens the index in `dir` (which it owns), with the default configuration.
    pub fn open(dir: &Path) -> Result<SearchIndex, SearchError> {
        SearchIndex::open_with(dir, SearchConfig::default())
    }

    /// Opens the index in `dir`. A missing directory, no index, an unreadable index or one of
    /// another schema version is replaced by a fresh, empty one, and so is reported by
    /// [`needs_rebuild`](SearchIndex::needs_rebuild); so is an index that was not closed
    /// cleanly (its documents are kept, but may be behind the journal). `dir` is the index's
    /// own: recreating it deletes the files at its top level.
    pub fn open_with(dir: &Path, config: SearchConfig) -> Result<SearchIndex, SearchError> {
        config.check()?;
        let (schema, fields) = build_schema();
        let (index, needs_rebuild) = open_or_create(dir, &schema)?;
        SearchIndex::start(index, fields, needs_rebuild, config)
    }

    /// A fresh index in memory (for tests); it always needs a rebuild.
    pub fn in_memory() -> Result<SearchIndex, SearchError> {
        SearchIndex::in_memory_with(SearchConfig::default())
    }

    pub fn in_memory_with(config: SearchConfig) -> Result<SearchIndex, SearchError> {
        config.check()?;
        let (schema, fields) = build_schema();
        SearchIndex::start(Index::create_in_ram(schema), fields, true, config)
    }

    fn start(
        index: Index,
        fields: Fields,
        needs_rebuild: bool,
        config: SearchConfig,
    ) -> Result<SearchIndex, SearchError> {
        index.tokenizers().register(TEXT_ANALYZER, text_analyzer());
        let options = IndexWriterOptions::builder()
            .memory_budget_per_thread(config.writer_memory_bytes)
            .num_worker_threads(1)
            .num_merge_threads(1)
            .build();
        let writer =
            index.writer_with_options(options).map_err(SearchError::index("open writer"))?;
        let reader: IndexReader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(SearchError::index("open reader"))?;
        let shared = Arc::new(Shared {
            fields,
            analyzer: text_analyzer(),
            reader: reader.clone(),
            writer: Writer::new(fields, writer, reader, config.pending_docs_max),
            needs_rebuild,
            payload_open: payload_open(),
            stop: Mutex::new(false),
            wake: Condvar::new(),
        });
        // Mark the files open before any change is staged: if the process dies from here on,
        // the next open reports `needs_rebuild`.
        shared.writer.commit(&shared.payload_open, 0)?;
        let period = Duration::from_millis(config.refresh_ms);
        let refresher = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("search-refresh".to_owned())
                .spawn(move || refresh_loop(&shared, period))
                .map_err(SearchError::io("spawn refresher"))?
        };
        Ok(SearchIndex { shared, refresher: Some(refresher) })
    }

    /// True when the index was created empty, replaced, or not closed cleanly: the caller
    /// brings it up to the read model (what [`indexed`](SearchIndex::indexed) holds is kept
    /// where its fingerprint is current; `upsert`/`remove` are idempotent per ASIN), then calls
    /// [`refresh_now`](SearchIndex::refresh_now).
    pub fn needs_rebuild(&self) -> bool {
        self.shared.needs_rebuild
    }

    /// Stages `doc`, replacing any document with its ASIN; searchable after the next refresh.
    pub fn upsert(&self, doc: SearchDoc) -> Result<(), SearchError> {
        self.upsert_unless_current(doc, None).map(|_| ())
    }

    /// Every indexed document's ASIN and fingerprint as of the last commit: what a catch-up
    /// after a crash compares with the read model, so that only what changed is indexed again.
    pub fn indexed(&self) -> Result<HashMap<String, u64>, SearchError> {
        let searcher = self.shared.reader.searcher();
        let mut out = HashMap::new();
        for reader in searcher.segment_readers() {
            let fast = reader.fast_fields();
            let asins = fast
                .str(F_ASIN)
                .map_err(SearchError::index("asin column"))?
                .ok_or(SearchError::Inconsistent("segment without asins"))?;
            let prints =
                fast.u64(F_FINGERPRINT).map_err(SearchError::index("fingerprint column"))?;
            // The segment's ASINs in ordinal order, streamed once: a lookup per document
            // would cost a dictionary block each.
            let mut by_ord = Vec::new();
            let mut terms = asins.dictionary().stream().map_err(SearchError::io("read asins"))?;
            while terms.advance() {
                by_ord.push(String::from_utf8_lossy(terms.key()).into_owned());
            }
            for doc in reader.doc_ids_alive() {
                let Some(ord) = asins.term_ords(doc).next() else { continue };
                let asin = by_ord
                    .get(ord as usize)
                    .ok_or(SearchError::Inconsistent("asin ordinal out of range"))?;
                out.insert(asin.clone(), prints.first(doc).unwrap_or(0));
            }
        }
        Ok(out)
    }

    /// [`upsert`](SearchIndex::upsert), unless the index holds the document already:
    /// `indexed` is the fingerprint [`indexed`](SearchIndex::indexed) read for its ASIN. True
    /// when it was staged.
    pub fn upsert_unless_current(
        &self,
        doc: SearchDoc,
        indexed: Option<u64>,
    ) -> Result<bool, SearchError> {
        // The fingerprint of the document as given, so that it equals the one the product
        // keeps in the journal's index (`bazaar_actors::index::search_row`).
        let fingerprint = doc.fingerprint();
        let doc = super::doc::normalize(doc)?;
        if indexed == Some(fingerprint) {
            return Ok(false);
        }
        let document = to_document(&self.shared.fields, &doc, fingerprint);
        self.shared.writer.stage(doc.asin, Some(document), &self.shared.payload_open)?;
        Ok(true)
    }

    /// Stages the removal of `asin` (a no-op if it is not indexed).
    pub fn remove(&self, asin: &str) -> Result<(), SearchError> {
        if asin.is_empty() {
            return Err(SearchError::invalid("asin", "is empty"));
        }
        self.shared.writer.stage(asin.to_owned(), None, &self.shared.payload_open)
    }

    /// Commits every staged change and reloads the reader, on the caller's thread.
    pub fn refresh_now(&self) -> Result<(), SearchError> {
        self.shared.writer.commit(&self.shared.payload_open, 0)
    }

    pub fn stats(&self) -> SearchStats {
        let w = &self.shared.writer;
        SearchStats {
            upserts: w.upserts.load(AtomicOrdering::Relaxed),
            removes: w.removes.load(AtomicOrdering::Relaxed),
            docs_written: w.docs_written.load(AtomicOrdering::Relaxed),
            commits: w.commits.load(AtomicOrdering::Relaxed),
            pending: w.pending(),
            docs_searchable: self.shared.reader.searcher().num_docs(),
        }
    }

    /// Runs `query` against the last refreshed state, on the caller's thread.
    pub fn search(&self, query: &SearchQuery) -> Result<SearchPage, SearchError> {
        let shared = &self.shared;
        let plan = plan(query, &shared.fields, &shared.analyzer)?;
        let searcher = shared.reader.searcher();
        let top = TopDocs::with_limit(plan.limit).and_offset(plan.offset);
        let Collected { hits, categories, stats } = match (plan.sort, plan.has_text()) {
            (Sort::Relevance, true) => collect(&searcher, &plan, top.order_by_score(), |s| s),
            (Sort::Relevance, false) | (Sort::Newest, _) => collect(
                &searcher,
                &plan,
                top.order_by_fast_field::<u64>(F_CREATED_MS, Order::Desc),
                |_| 0.0,
            ),
            (Sort::PriceAsc, _) => collect(
                &searcher,
                &plan,
                top.order_by_fast_field::<i64>(F_PRICE, Order::Asc),
                |_| 0.0,
            ),
            (Sort::PriceDesc, _) => collect(
                &searcher,
                &plan,
                top.order_by_fast_field::<i64>(F_PRICE, Order::Desc),
                |_| 0.0,
            ),
        }?;
        if stats.dictionary_failed {
            return Err(SearchError::Inconsistent("brand dictionary unreadable"));
        }
        Ok(SearchPage {
            total: stats.total,
            hits: asins(&searcher, hits)?,
            facets: facets(&stats, &categories, &plan.category),
        })
    }

    /// Stops the refresher, commits what is staged and marks the files clean, reporting any
    /// failure (dropping does the same, silently).
    pub fn close(mut self) -> Result<(), SearchError> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<(), SearchError> {
        let Some(refresher) = self.refresher.take() else {
            return Ok(());
        };
        *self.shared.stop.lock().expect("search stop lock poisoned") = true;
        self.shared.wake.notify_all();
        // The refresher only commits; a panic there is a bug already reported on stderr.
        let _ = refresher.join();
        self.shared.writer.close(&payload_clean())
    }
}

impl Drop for SearchIndex {
    fn drop(&mut self) {
        // A failure leaves the payload "open", so the next open rebuilds: nothing to report.
        let _ = self.shutdown();
    }
}

/// Commits staged changes every `period` until told to stop.
fn refresh_loop(shared: &Shared, period: Duration) {
    let mut stopped = shared.stop.lock().expect("search stop lock poisoned");
    loop {
        stopped = shared
            .wake
            .wait_timeout_while(stopped, period, |stopped| !*stopped)
            .expect("search stop lock poisoned")
            .0;
        if *stopped {
            return;
        }
        drop(stopped);
        // A failure is kept by the writer and answered to every later write.
        let _ = shared.writer.commit(&shared.payload_open, 1);
        stopped = shared.stop.lock().expect("search stop lock poisoned");
    }
}

/// What one pass over the matching documents gathers.
struct Collected {
    /// The page: score (or 0) and address of each hit, in order.
    hits: Vec<(f32, DocAddress)>,
    categories: FacetCounts,
    stats: Stats,
}

/// Runs the plan's query with a top-k collector, the category facet collector and the stats
/// collector, in one pass over the matching documents.
fn collect<K, C>(
    searcher: &Searcher,
    plan: &Plan,
    top: C,
    score: impl Fn(K) -> f32,
) -> Result<Collected, SearchError>
where
    C: Collector<Fruit = Vec<(K, DocAddress)>>,
{
    let mut categories = FacetCollector::for_field(F_CATEGORY);
    categories.add_facet(plan.category.clone());
    let query: &dyn Query = plan.query.as_ref();
    let (top, categories, stats) = searcher
        .search(query, &(top, categories, StatsCollector))
        .map_err(SearchError::index("search"))?;
    let hits = top.into_iter().map(|(key, address)| (score(key), address)).collect();
    Ok(Collected { hits, categories, stats })
}

/// Reads each hit's ASIN from the fast column of its segment.
fn asins(searcher: &Searcher, hits: Vec<(f32, DocAddress)>) -> Result<Vec<Hit>, SearchError> {
    let mut columns: Vec<Option<StrColumn>> = vec![None; searcher.segment_readers().len()];
    let mut out = Vec::with_capacity(hits.len());
    for (score, address) in hits {
        let slot = &mut columns[address.segment_ord as usize];
        if slot.is_none() {
            let reader = searcher.segment_reader(address.segment_ord);
            *slot = reader.fast_fields().str(F_ASIN).map_err(SearchError::index("asin column"))?;
        }
        let column = slot.as_ref().ok_or(SearchError::Inconsistent("segment without asins"))?;
        let ord = column
            .term_ords(address.doc_id)
            .next()
            .ok_or(SearchError::Inconsistent("document without asin"))?;
        let mut asin = String::new();
        let found = column.ord_to_str(ord, &mut asin).map_err(SearchError::io("read asin"))?;
        if !found {
            return Err(SearchError::Inconsistent("asin ordinal out of range"));
        }
        out.push(Hit { asin, score });
    }
    Ok(out)
}

/// Opens the index in `dir`, or creates a fresh one; the flag says whether it needs a rebuild.
fn open_or_create(dir: &Path, schema: &Schema) -> Result<(Index, bool), SearchError> {
    std::fs::create_dir_all(dir).map_err(SearchError::io("create"))?;
    let directory = MmapDirectory::open(dir)
        .map_err(|error| SearchError::index("open directory")(error.into()))?;
    if Index::exists(&directory).unwrap_or(false)
        && let Ok(index) = Index::open(directory)
        && index.schema() == *schema
        && let Ok(metas) = index.load_metas()
    {
        match metas.payload {
            Some(payload) if payload == payload_clean() => return Ok((index, false)),
            // Not closed cleanly: keep the documents (a rebuild upserts over them).
            Some(payload) if payload == payload_open() => return Ok((index, true)),
            // No payload or another version's: start over.
            _ => {}
        }
    }
    wipe(dir)?;
    let directory = MmapDirectory::open(dir)
        .map_err(|error| SearchError::index("open directory")(error.into()))?;
    let index = Index::create(directory, schema.clone(), IndexSettings::default())
        .map_err(SearchError::index("create"))?;
    Ok((index, true))
}

/// Deletes the regular files at the top of `dir` (tantivy keeps no subdirectories), except
/// lock files, which may belong to a live writer in another process.
fn wipe(dir: &Path) -> Result<(), SearchError> {
    for entry in std::fs::read_dir(dir).map_err(SearchError::io("list"))? {
        let entry = entry.map_err(SearchError::io("list"))?;
        let is_file = entry.file_type().map_err(SearchError::io("stat"))?.is_file();
        let is_lock = entry.file_name().to_string_lossy().ends_with(".lock");
        if is_file && !is_lock {
            std::fs::remove_file(entry.path()).map_err(SearchError::io("remove stale file"))?;
        }
    }
    Ok(())
}
