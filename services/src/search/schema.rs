//! The index's schema, its text analyzer, and how a [`SearchDoc`] becomes a tantivy document.
//!
//! On-disk format (fields by name; a change here bumps [`SCHEMA_VERSION`], and an index of
//! another version is discarded and rebuilt from the journal):
//!
//! - `asin`: raw string, indexed and fast. Delete-by-term for upserts; a hit's key is read
//!   from the fast column.
//! - `title`, `brand_text`, `description`: text through [`TEXT_ANALYZER`], indexed with term
//!   frequencies and no positions (BM25 needs no positions, and there are no phrase queries).
//! - `brand`: raw string, indexed and fast. The exact brand filter; brand facet counts come
//!   from its term ordinals.
//! - `category`: facet (`/Electronics/Audio`), indexed and fast. A term per ancestor, so one
//!   term query filters a whole subtree.
//! - `price`: i64, indexed and fast. Range filter, price sorts, price buckets; absent when
//!   there is no buy box.
//! - `currency`, `fulfilment`: raw strings, indexed. Exact filters (`fulfilment` holds one
//!   value per channel).
//! - `in_stock`: bool, indexed. Filter.
//! - `created_ms`: u64, fast. Newest-first sort.
//! - `fingerprint`: u64, fast. [`SearchDoc::fingerprint`] of the document: what a catch-up
//!   after a crash compares with the read model (`SearchIndex::indexed`).
//!
//! Nothing is stored: the index answers with ASINs, and the caller reads products from its own
//! read model. That keeps the index a pure projection.

use tantivy::schema::{
    FAST, Facet, FacetOptions, Field, INDEXED, IndexRecordOption, STRING, Schema,
    TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer,
    TextAnalyzer,
};
use tantivy::{TantivyDocument, Term};

use super::doc::SearchDoc;
use super::limits::TOKEN_BYTES_MAX;

/// Version of the schema and analyzer; part of every commit's payload.
pub(crate) const SCHEMA_VERSION: u32 = 3;

/// Name under which [`text_analyzer`] is registered with the index.
pub(crate) const TEXT_ANALYZER: &str = "bazaar_text";

/// The path separator of a category in queries and facet answers: `Electronics > Audio`.
pub const CATEGORY_SEPARATOR: &str = " > ";

/// Handles to every field, resolved once.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fields {
    pub asin: Field,
    pub title: Field,
    pub brand_text: Field,
    pub description: Field,
    pub brand: Field,
    pub category: Field,
    pub price: Field,
    pub currency: Field,
    pub in_stock: Field,
    pub fulfilment: Field,
    pub created_ms: Field,
    pub fingerprint: Field,
}

/// Field names that collectors and sorts look up by name.
pub(crate) const F_ASIN: &str = "asin";
pub(crate) const F_BRAND: &str = "brand";
pub(crate) const F_CATEGORY: &str = "category";
pub(crate) const F_PRICE: &str = "price";
pub(crate) const F_CREATED_MS: &str = "created_ms";
pub(crate) const F_FINGERPRINT: &str = "fingerprint";

pub(crate) fn build_schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(TEXT_ANALYZER)
            .set_index_option(IndexRecordOption::WithFreqs),
    );
    let fields = Fields {
        asin: builder.add_text_field(F_ASIN, STRING | FAST),
        title: builder.add_text_field("title", text.clone()),
        brand_text: builder.add_text_field("brand_text", text.clone()),
        description: builder.add_text_field("description", text),
        brand: builder.add_text_field(F_BRAND, STRING | FAST),
        category: builder.add_facet_field(F_CATEGORY, FacetOptions::default()),
        price: builder.add_i64_field(F_PRICE, INDEXED | FAST),
        currency: builder.add_text_field("currency", STRING),
        in_stock: builder.add_bool_field("in_stock", INDEXED),
        fulfilment: builder.add_text_field("fulfilment", STRING),
        created_ms: builder.add_u64_field(F_CREATED_MS, FAST),
        fingerprint: builder.add_u64_field(F_FINGERPRINT, FAST),
    };
    (builder.build(), fields)
}

/// Words split on anything not alphanumeric (Unicode-aware), over-long tokens dropped,
/// lowercased, folded to ASCII where possible (`café` finds `cafe`), English-stemmed
/// (`headphones` finds `headphone`). Queries go through the same analyzer.
pub(crate) fn text_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(TOKEN_BYTES_MAX))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .filter(Stemmer::new(Language::English))
        .build()
}

/// The facet of a (validated, trimmed) category path; the root for an empty one.
pub(crate) fn category_facet<S: AsRef<str>>(path: &[S]) -> Facet {
    Facet::from_path(path.iter().map(|s| s.as_ref()))
}

/// `Electronics > Audio` for the facet `/Electronics/Audio`.
pub(crate) fn category_label(facet: &Facet) -> String {
    facet.to_path().join(CATEGORY_SEPARATOR)
}

pub(crate) fn asin_term(fields: &Fields, asin: &str) -> Term {
    Term::from_field_text(fields.asin, asin)
}

/// The tantivy document of a validated [`SearchDoc`] whose fingerprint is `fingerprint`.
pub(crate) fn to_document(fields: &Fields, doc: &SearchDoc, fingerprint: u64) -> TantivyDocument {
    let mut out = TantivyDocument::default();
    out.add_text(fields.asin, &doc.asin);
    out.add_text(fields.title, &doc.title);
    out.add_text(fields.description, &doc.description);
    if !doc.brand.is_empty() {
        out.add_text(fields.brand_text, &doc.brand);
        out.add_text(fields.brand, &doc.brand);
    }
    if !doc.category_path.is_empty() {
        out.add_facet(fields.category, category_facet(&doc.category_path));
    }
    if let Some(price) = doc.price_minor {
        out.add_i64(fields.price, price);
    }
    if !doc.currency.is_empty() {
        out.add_text(fields.currency, &doc.currency);
    }
    out.add_bool(fields.in_stock, doc.in_stock);
    for channel in &doc.fulfilment {
        out.add_text(fields.fulfilment, channel);
    }
    out.add_u64(fields.created_ms, doc.created_ms);
    out.add_u64(fields.fingerprint, fingerprint);
    out
}
