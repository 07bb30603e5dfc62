//! Facet counts over every document matching a query (not only the page): brands, categories
//! and price buckets, gathered in the same pass as the page of hits.
//!
//! Brands and prices are counted from fast columns by [`StatsCollector`]: per segment, one
//! counter per brand term ordinal and one per price bucket, turned into names once per segment
//! at harvest, so the cost per matching document is two column reads and two increments.
//! Categories use tantivy's `FacetCollector`, which maps each category term ordinal to the
//! child of the filtered category it lies under.

use std::collections::HashMap;

use tantivy::collector::{Collector, FacetCounts, SegmentCollector};
use tantivy::columnar::{Column, StrColumn};
use tantivy::schema::Facet;
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

use super::limits::FACET_VALUES_MAX;
use super::schema::{F_BRAND, F_PRICE, category_label};

/// Upper bounds (exclusive) of the price buckets, in minor units; the last bucket is open.
/// Buckets are `[0, 1000)`, `[1000, 2500)`, ..., `[100000, ∞)`, labelled `0-1000`, ...,
/// `100000+`. Every bucket is listed in every answer, empty ones with 0.
pub const PRICE_BUCKET_BOUNDS_MINOR: [i64; 7] =
    [1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000];

const PRICE_BUCKETS: usize = PRICE_BUCKET_BOUNDS_MINOR.len() + 1;

const _: () = {
    let mut i = 1;
    while i < PRICE_BUCKET_BOUNDS_MINOR.len() {
        assert!(PRICE_BUCKET_BOUNDS_MINOR[i - 1] < PRICE_BUCKET_BOUNDS_MINOR[i]);
        i += 1;
    }
    assert!(PRICE_BUCKET_BOUNDS_MINOR[0] > 0);
};

/// Facet counts of one answer. Lists are ordered by count, highest first, then by name, and
/// hold at most [`FACET_VALUES_MAX`] values; zero counts are left out (price buckets excepted).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facets {
    pub brand: Vec<(String, u64)>,
    /// Without a category filter, the top-level categories; with one, its children, each as a
    /// full path (`Electronics > Audio`) that can be passed back as the filter.
    pub category: Vec<(String, u64)>,
    /// One entry per bucket of [`PRICE_BUCKET_BOUNDS_MINOR`], in price order. Products without
    /// a price are in none.
    pub price_buckets: Vec<(String, u64)>,
}

/// The label of every price bucket, in order.
pub fn price_bucket_labels() -> Vec<String> {
    let mut labels = Vec::with_capacity(PRICE_BUCKETS);
    let mut low = 0;
    for high in PRICE_BUCKET_BOUNDS_MINOR {
        labels.push(format!("{low}-{high}"));
        low = high;
    }
    labels.push(format!("{low}+"));
    labels
}

/// The bucket of a (non-negative) price.
pub fn price_bucket(price_minor: i64) -> usize {
    PRICE_BUCKET_BOUNDS_MINOR.partition_point(|&bound| bound <= price_minor)
}

/// What [`StatsCollector`] gathers: the total, brand counts, price bucket counts.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub total: u64,
    pub brands: HashMap<String, u64>,
    pub price_buckets: [u64; PRICE_BUCKETS],
    /// A brand dictionary could not be read (an I/O error under the mmap); the answer fails.
    pub dictionary_failed: bool,
}

/// Counts matching documents, their brands and their price buckets.
pub(crate) struct StatsCollector;

pub(crate) struct StatsSegmentCollector {
    total: u64,
    brand: Option<(StrColumn, Column<u64>)>,
    brand_counts: Vec<u64>,
    price: Option<Column<i64>>,
    price_buckets: [u64; PRICE_BUCKETS],
    /// Scratch space for block collection, reused across blocks.
    brand_block: Vec<Option<u64>>,
    price_block: Vec<Option<i64>>,
}

impl Collector for StatsCollector {
    type Fruit = Stats;
    type Child = StatsSegmentCollector;

    fn for_segment(
        &self,
        _segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<StatsSegmentCollector> {
        // A segment where no document has a brand (or a price) may have no column at all.
        let brand = reader.fast_fields().str(F_BRAND)?.map(|column| {
            let ords = column.ords().clone();
            (column, ords)
        });
        let terms = brand.as_ref().map_or(0, |(column, _)| column.num_terms());
        let price = reader.fast_fields().column_opt::<i64>(F_PRICE)?;
        Ok(StatsSegmentCollector {
            total: 0,
            brand,
            brand_counts: vec![0; terms],
            price,
            price_buckets: [0; PRICE_BUCKETS],
            brand_block: Vec::new(),
            price_block: Vec::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, segments: Vec<Stats>) -> tantivy::Result<Stats> {
        let mut merged = Stats::default();
        for segment in segments {
            merged.total += segment.total;
            merged.dictionary_failed |= segment.dictionary_failed;
            for (brand, count) in segment.brands {
                *merged.brands.entry(brand).or_insert(0) += count;
            }
            for (sum, count) in merged.price_buckets.iter_mut().zip(segment.price_buckets) {
                *sum += count;
            }
        }
        Ok(merged)
    }
}

impl SegmentCollector for StatsSegmentCollector {
    type Fruit = Stats;

    fn collect(&mut self, doc: DocId, _score: Score) {
        self.total += 1;
        if let Some((_, ords)) = &self.brand
            && let Some(ord) = ords.first(doc)
        {
            self.brand_counts[ord as usize] += 1;
        }
        if let Some(price) = &self.price
            && let Some(price) = price.first(doc)
        {
            self.price_buckets[price_bucket(price)] += 1;
        }
    }

    /// Queries that need no score hand over documents in blocks; reading a block of column
    /// values at once is cheaper than one lookup per document.
    fn collect_block(&mut self, docs: &[DocId]) {
        self.total += docs.len() as u64;
        if let Some((_, ords)) = &self.brand {
            self.brand_block.resize(docs.len(), None);
            ords.first_vals(docs, &mut self.brand_block);
            for &ord in self.brand_block.iter().flatten() {
                self.brand_counts[ord as usize] += 1;
            }
        }
        if let Some(price) = &self.price {
            self.price_block.resize(docs.len(), None);
            price.first_vals(docs, &mut self.price_block);
            for &price in self.price_block.iter().flatten() {
                self.price_buckets[price_bucket(price)] += 1;
            }
        }
    }

    fn harvest(self) -> Stats {
        let mut brands = HashMap::new();
        let mut dictionary_failed = false;
        if let Some((column, _)) = &self.brand {
            let ords: Vec<u64> = (0..self.brand_counts.len() as u64)
                .filter(|&ord| self.brand_counts[ord as usize] > 0)
                .collect();
            let mut counts = ords.iter().map(|&ord| self.brand_counts[ord as usize]);
            // The dictionary streams names for sorted ordinals block by block; a name that is
            // not valid UTF-8 cannot occur (the field is a str field) and is skipped.
            let found = column.dictionary().sorted_ords_to_term_cb(&ords, |bytes| {
                let count = counts.next().unwrap_or(0);
                if let Ok(name) = std::str::from_utf8(bytes) {
                    brands.insert(name.to_owned(), count);
                }
            });
            dictionary_failed = !matches!(found, Ok(true));
        }
        Stats { total: self.total, brands, price_buckets: self.price_buckets, dictionary_failed }
    }
}

/// Builds the answer's facets from the collected counts.
pub(crate) fn facets(stats: &Stats, categories: &FacetCounts, filtered: &Facet) -> Facets {
    let brand = top_values(stats.brands.iter().map(|(name, &count)| (name.clone(), count)));
    let category = top_values(
        categories.get(filtered.clone()).map(|(facet, count)| (category_label(facet), count)),
    );
    let price_buckets = price_bucket_labels().into_iter().zip(stats.price_buckets).collect();
    Facets { brand, category, price_buckets }
}

/// Highest counts first, then by name; at most [`FACET_VALUES_MAX`]; no zero counts.
fn top_values(values: impl Iterator<Item = (String, u64)>) -> Vec<(String, u64)> {
    let mut values: Vec<(String, u64)> = values.filter(|(_, count)| *count > 0).collect();
    values.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    values.truncate(FACET_VALUES_MAX);
    values
}
