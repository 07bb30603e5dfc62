//! The tests' own reading of a query: which inserted documents its filters match and what
//! its facets must count, computed over the documents without the index, and the filter
//! queries that reading is checked on.

use std::collections::{BTreeMap, HashSet};

use bazaar_services::search::{
    PRICE_BUCKET_BOUNDS_MINOR, SearchDoc, SearchPage, SearchQuery, limits, price_bucket,
    price_bucket_labels,
};

use crate::support::query;

/// The test's own reading of the filters (text aside).
pub fn matches(d: &SearchDoc, q: &SearchQuery) -> bool {
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

pub fn expected_asins(docs: &[SearchDoc], q: &SearchQuery) -> HashSet<String> {
    docs.iter().filter(|d| matches(d, q)).map(|d| d.asin.clone()).collect()
}

pub fn ranked(counts: BTreeMap<String, u64>) -> Vec<(String, u64)> {
    let mut counts: Vec<(String, u64)> = counts.into_iter().collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    counts.truncate(limits::FACET_VALUES_MAX);
    counts
}

/// Facet counts done by the test over the documents it inserted.
pub fn check_facets(docs: &[SearchDoc], q: &SearchQuery, page: &SearchPage) {
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

pub fn filter_queries() -> Vec<SearchQuery> {
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
