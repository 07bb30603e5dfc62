//! The documents and indexes the search tests run over: a seeded random catalogue (some
//! documents without brand, category or price, some prices on bucket bounds), a hand-written
//! document, an index committed in several segments, and paging through every hit.

use bazaar_services::search::{
    BenchRng, PRICE_BUCKET_BOUNDS_MINOR, SearchDoc, SearchIndex, SearchQuery, limits,
};

pub const BRANDS: [&str; 15] = [
    "Acme",
    "Acme Labs",
    "Bolt",
    "Crest",
    "Dyna",
    "Elara",
    "Fjord",
    "Gala",
    "Helix",
    "Ionic",
    "Jolt",
    "Kite",
    "Lumen",
    "Müller",
    "Nova",
];

pub const CATEGORIES: [(&str, [&str; 3]); 3] = [
    ("Electronics", ["Audio", "Computers", "Cameras"]),
    ("Home & Kitchen", ["Cookware", "Bedding", "Lighting"]),
    ("Books", ["Fiction", "History", "Science"]),
];

pub const LEAVES: [&str; 2] = ["Essentials", "Premium"];

/// `n` documents with random brands, categories, prices, stock and fulfilment, seeded. Some
/// have no brand, no category or no price; some prices sit exactly on bucket bounds.
pub fn generate(n: usize, seed: u64) -> Vec<SearchDoc> {
    let mut rng = BenchRng::new(seed);
    (0..n)
        .map(|i| {
            let brand =
                if rng.chance(0.05) { String::new() } else { rng.pick(&BRANDS).to_string() };
            let (top, subs) = rng.pick(&CATEGORIES);
            let category_path = match rng.below(10) {
                0 => Vec::new(),
                1 => vec![top.to_string()],
                2 | 3 => vec![top.to_string(), rng.pick(subs).to_string()],
                _ => {
                    vec![top.to_string(), rng.pick(subs).to_string(), rng.pick(&LEAVES).to_string()]
                }
            };
            let price_minor = match rng.below(10) {
                0 => None,
                1 => Some(*rng.pick(&PRICE_BUCKET_BOUNDS_MINOR)),
                _ => Some(rng.below(200_000) as i64),
            };
            let fulfilment = match rng.below(3) {
                0 => vec!["marketplace".to_owned()],
                1 => vec!["seller".to_owned()],
                _ => vec!["marketplace".to_owned(), "seller".to_owned()],
            };
            SearchDoc {
                asin: format!("T{i:09}"),
                title: format!("{brand} item {i}"),
                brand,
                description: "a generated product for the facet tests".to_owned(),
                category_path,
                price_minor,
                currency: "EUR".to_owned(),
                in_stock: rng.chance(0.8),
                fulfilment,
                created_ms: 1_000_000 + rng.below(1_000_000) as u64,
            }
        })
        .collect()
}

pub fn doc(asin: &str, title: &str, description: &str) -> SearchDoc {
    SearchDoc {
        asin: asin.to_owned(),
        title: title.to_owned(),
        brand: "Acme".to_owned(),
        description: description.to_owned(),
        category_path: vec!["Electronics".to_owned(), "Audio".to_owned()],
        price_minor: Some(1_999),
        currency: "EUR".to_owned(),
        in_stock: true,
        fulfilment: vec!["marketplace".to_owned()],
        created_ms: 1,
    }
}

/// An index of `docs`, committed in several batches so that most tests run over several
/// segments (each with its own term ordinals).
pub fn index_with(docs: &[SearchDoc]) -> SearchIndex {
    let index = SearchIndex::in_memory().unwrap();
    for batch in docs.chunks(97) {
        for d in batch {
            index.upsert(d.clone()).unwrap();
        }
        index.refresh_now().unwrap();
    }
    index.refresh_now().unwrap();
    index
}

pub fn query() -> SearchQuery {
    SearchQuery { page_size: limits::PAGE_SIZE_MAX, ..SearchQuery::default() }
}

/// Every hit of `q`, page by page, with the ASINs of each page.
pub fn all_pages(index: &SearchIndex, q: &SearchQuery) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut page = 1;
    loop {
        let answer = index.search(&SearchQuery { page, ..q.clone() }).unwrap();
        if answer.hits.is_empty() {
            return pages;
        }
        pages.push(answer.hits.into_iter().map(|h| h.asin).collect());
        page += 1;
    }
}

pub fn all_asins(index: &SearchIndex, q: &SearchQuery) -> Vec<String> {
    all_pages(index, q).concat()
}
