//! Search over real HTTP, against a catalog of sixty products the test builds itself: totals
//! and facet counts equal a count the test makes over that catalog, for every filter alone and
//! combined; pages partition the hits whatever the sort; price sorts order them, products
//! without a price last.
//!
//! Stock travels from the inventory feed to the offers, and search refreshes within a second:
//! the test polls with a deadline ([`eventually`]) until the whole catalog is searchable as
//! built, never sleeps.

use std::collections::{BTreeMap, BTreeSet};

use crate::support::{
    Auth, Body, Market, SELLER_1, SELLER_2, document, eventually, hit_asins, offer,
};
use reqwest::Method;
use serde_json::{Value, json};

/// A deterministic generator (xorshift64*), so the catalog is the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// What the test knows of one product it created.
#[derive(Debug, Clone)]
struct Listed {
    asin: String,
    colour: &'static str,
    brand: &'static str,
    category: Vec<&'static str>,
    /// The offer's seller, SKU, landed price and fulfilment, if any.
    offer: Option<(&'static str, String, i64, &'static str)>,
    stock: u32,
}

impl Listed {
    /// The buy box's landed price: an offer in stock (new, seller in good standing) wins.
    fn price(&self) -> Option<i64> {
        self.offer.as_ref().filter(|_| self.stock > 0).map(|offer| offer.2)
    }

    fn fulfilment(&self) -> Option<&'static str> {
        self.offer.as_ref().filter(|_| self.stock > 0).map(|offer| offer.3)
    }

    /// Whether an offer of the product has stock (search's `in_stock`).
    fn stocked(&self) -> bool {
        self.offer.is_some() && self.stock > 0
    }

    fn in_category(&self, path: &[&str]) -> bool {
        self.category.starts_with(path)
    }
}

/// A search the test checks against its own count: the parameters, the category they filter
/// on (whose children the category facet counts), and which products must match.
struct Search {
    params: &'static [(&'static str, &'static str)],
    category: &'static [&'static str],
    matches: fn(&Listed) -> bool,
}

/// The price buckets as search documents them: `[0, 1000)`, `[1000, 2500)`, ..., `100000+`.
const BUCKETS: [(i64, Option<i64>, &str); 8] = [
    (0, Some(1_000), "0-1000"),
    (1_000, Some(2_500), "1000-2500"),
    (2_500, Some(5_000), "2500-5000"),
    (5_000, Some(10_000), "5000-10000"),
    (10_000, Some(25_000), "10000-25000"),
    (25_000, Some(50_000), "25000-50000"),
    (50_000, Some(100_000), "50000-100000"),
    (100_000, None, "100000+"),
];

/// Counts by value, highest first, then by name (the documented facet order).
fn ranked(values: impl Iterator<Item = String>) -> Value {
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for value in values {
        *counts.entry(value).or_default() += 1;
    }
    let mut counts: Vec<(String, u64)> = counts.into_iter().collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    counts.into_iter().map(|(value, count)| json!({ "value": value, "count": count })).collect()
}

/// The facets search must answer for `matching`, counted here: brands; the top-level
/// categories, or the children of `category` as full paths; every price bucket.
fn expected_facets(matching: &[&Listed], category: &[&str]) -> Value {
    let brand = ranked(matching.iter().map(|p| p.brand.to_string()));
    let depth = category.len() + 1;
    let categories = ranked(
        matching
            .iter()
            .filter(|p| p.category.len() >= depth)
            .map(|p| p.category[..depth].join(" > ")),
    );
    let price: Vec<Value> = BUCKETS
        .iter()
        .map(|(low, high, label)| {
            let count = matching
                .iter()
                .filter_map(|p| p.price())
                .filter(|&price| price >= *low && high.is_none_or(|high| price < high))
                .count();
            json!({ "value": label, "count": count })
        })
        .collect();
    json!({ "brand": brand, "category": categories, "price": price })
}

fn hit_prices(answer: &Value) -> Vec<Option<i64>> {
    answer["hits"].as_array().unwrap().iter().map(|h| h["price"]["minor"].as_i64()).collect()
}

/// Sixty products of six brands in seven categories, some without an offer, some offered
/// without stock, half offered with stock, by two sellers, priced across every bucket.
async fn build_search_catalog(m: &Market) -> Vec<Listed> {
    const COLOURS: [&str; 4] = ["crimson", "azure", "olive", "amber"];
    const NOUNS: [&str; 3] = ["lamp", "speaker", "teapot"];
    const BRANDS: [&str; 6] = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Soylent"];
    const CATEGORIES: [&[&str]; 7] = [
        &["Electronics", "Audio"],
        &["Electronics", "Audio", "Headphones"],
        &["Electronics", "Computers"],
        &["Electronics"],
        &["Home", "Kitchen"],
        &["Home", "Garden"],
        &["Books"],
    ];
    // Bucket edges on both sides, and the rest spread over every bucket.
    const EDGES: [i64; 8] = [1, 999, 1_000, 2_499, 2_500, 9_999, 10_000, 100_000];
    m.register(SELLER_1, "First").await;
    m.register(SELLER_2, "Second").await;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut listed = Vec::new();
    for i in 0..60 {
        let asin = format!("SRCH{i:06}");
        let (colour, noun) = (*rng.pick(&COLOURS), *rng.pick(&NOUNS));
        let brand = *rng.pick(&BRANDS);
        let category = rng.pick(&CATEGORIES).to_vec();
        let mut doc = document(&format!("{colour} {noun} model {i}"), brand, &category);
        doc["description"] = json!("Sturdy and simple, made to last.");
        m.create_product(SELLER_1, &asin, doc).await;
        let kind = rng.below(10);
        let mut product = Listed { asin, colour, brand, category, offer: None, stock: 0 };
        if kind >= 3 {
            let seller = if rng.below(2) == 0 { "seller-1" } else { "seller-2" };
            let landed =
                if rng.below(3) == 0 { *rng.pick(&EDGES) } else { 100 + rng.below(150_000) as i64 };
            let shipping = if landed > 499 && rng.below(2) == 0 { 499 } else { 0 };
            let fulfilment = *rng.pick(&["marketplace", "seller"]);
            let sku = format!("SKU-{}", product.asin);
            let terms = offer(&sku, landed - shipping, shipping, fulfilment, 2);
            m.put_offer(Auth::As(seller), &product.asin, terms).await;
            product.offer = Some((seller, sku, landed, fulfilment));
            product.stock = if kind >= 5 { 1 + rng.below(50) as u32 } else { 0 };
        }
        listed.push(product);
    }
    // Stock arrives by one NDJSON feed per seller; offers without stock get a zero line or
    // none at all.
    for seller in ["seller-1", "seller-2"] {
        let lines: Vec<String> = listed
            .iter()
            .filter_map(|p| p.offer.as_ref().map(|o| (p, o)))
            .filter(|(p, o)| o.0 == seller && (p.stock > 0 || p.asin.ends_with('0')))
            .map(|(p, o)| {
                json!({ "sku": o.1, "location": "FRA1", "quantity": p.stock, "feed_seq": 1 })
                    .to_string()
            })
            .collect();
        let body = Body::Raw(Some("application/x-ndjson"), lines.join("\n").into_bytes());
        let reply = m.call(Method::POST, "/v1/seller/inventory:feed", Auth::As(seller), body).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert_eq!(
            (reply.json["accepted"].as_u64(), reply.json["refused"].as_u64()),
            (Some(lines.len() as u64), Some(0))
        );
    }
    listed
}

#[tokio::test]
async fn search_totals_and_facets_equal_a_count_over_the_catalog_pages_partition_and_prices_sort() {
    let m = Market::open(&[("seller", "seller-2")]);
    let listed = build_search_catalog(&m).await;
    let all: Vec<&Listed> = listed.iter().collect();
    let priced = all.iter().filter(|p| p.price().is_some()).count();
    assert!((20..50).contains(&priced), "a mix of priced and unpriced products: {priced}");

    // Stock flows to the offers, then search refreshes: wait until the whole catalog is
    // searchable as built.
    let expected_all = expected_facets(&all, &[]);
    let expected_prices: BTreeMap<String, Option<i64>> =
        all.iter().map(|p| (p.asin.clone(), p.price())).collect();
    eventually("the catalog searchable as built", async || {
        let answer = m.search(&[("page_size", "100")]).await;
        let prices: BTreeMap<String, Option<i64>> =
            hit_asins(&answer).into_iter().zip(hit_prices(&answer)).collect();
        if answer["total"] == 60 && answer["facets"] == expected_all && prices == expected_prices {
            Ok(())
        } else {
            Err(format!("total {}, facets {}", answer["total"], answer["facets"]))
        }
    })
    .await;

    // Every filter, alone and combined: the total, the hits and the facets are what the test
    // counts over its own catalog.
    let searches = [
        Search { params: &[], category: &[], matches: |_| true },
        Search { params: &[("brand", "Acme")], category: &[], matches: |p| p.brand == "Acme" },
        Search {
            params: &[("category", "Electronics")],
            category: &["Electronics"],
            matches: |p| p.in_category(&["Electronics"]),
        },
        Search {
            params: &[("category", "Electronics > Audio")],
            category: &["Electronics", "Audio"],
            matches: |p| p.in_category(&["Electronics", "Audio"]),
        },
        Search { params: &[("in_stock", "true")], category: &[], matches: |p| p.stocked() },
        Search { params: &[("in_stock", "false")], category: &[], matches: |p| !p.stocked() },
        Search {
            params: &[("price_min", "1000"), ("price_max", "9999")],
            category: &[],
            matches: |p| p.price().is_some_and(|price| (1_000..=9_999).contains(&price)),
        },
        Search {
            params: &[("price_min", "2500")],
            category: &[],
            matches: |p| p.price().is_some_and(|price| price >= 2_500),
        },
        Search {
            params: &[("fulfilment", "marketplace")],
            category: &[],
            matches: |p| p.fulfilment() == Some("marketplace"),
        },
        Search { params: &[("q", "crimson")], category: &[], matches: |p| p.colour == "crimson" },
        Search {
            params: &[("q", "Azure"), ("in_stock", "true")],
            category: &[],
            matches: |p| p.colour == "azure" && p.stocked(),
        },
        Search {
            params: &[("q", "olive"), ("category", "Home"), ("brand", "Globex")],
            category: &["Home"],
            matches: |p| p.colour == "olive" && p.in_category(&["Home"]) && p.brand == "Globex",
        },
        Search { params: &[("brand", "Nobody")], category: &[], matches: |_| false },
    ];
    for search in &searches {
        let params = search.params;
        let matching: Vec<&Listed> = all.iter().copied().filter(|p| (search.matches)(p)).collect();
        let mut query = params.to_vec();
        query.push(("page_size", "100"));
        let answer = m.search(&query).await;
        assert_eq!(answer["total"], matching.len(), "total of {params:?}");
        let hits: BTreeSet<String> = hit_asins(&answer).into_iter().collect();
        let wanted: BTreeSet<String> = matching.iter().map(|p| p.asin.clone()).collect();
        assert_eq!(hits, wanted, "hits of {params:?}");
        let facets = expected_facets(&matching, search.category);
        assert_eq!(answer["facets"], facets, "facets of {params:?}");
    }

    // Pages partition the hits: no duplicates, nothing missing, whatever the sort.
    for sort in ["relevance", "newest", "price_asc", "price_desc"] {
        let mut seen = Vec::new();
        for page in 1..=10 {
            let page_text = page.to_string();
            let answer =
                m.search(&[("sort", sort), ("page_size", "7"), ("page", &page_text)]).await;
            assert_eq!(answer["total"], 60);
            let want = match page {
                1..=8 => 7,
                9 => 4,
                _ => 0,
            };
            assert_eq!(hit_asins(&answer).len(), want, "{sort} page {page}");
            seen.extend(hit_asins(&answer));
        }
        let distinct: BTreeSet<&String> = seen.iter().collect();
        assert_eq!(distinct.len(), seen.len(), "{sort}: a product on two pages: {seen:?}");
        let everything: BTreeSet<&String> = listed.iter().map(|p| &p.asin).collect();
        assert_eq!(distinct, everything, "{sort}: the pages together are the catalog");
    }

    // Price sorts: cheapest (or dearest) first, products without a price last.
    let mut ascending: Vec<i64> = all.iter().filter_map(|p| p.price()).collect();
    ascending.sort();
    let unpriced = 60 - ascending.len();
    let with_unpriced = |prices: &[i64]| -> Vec<Option<i64>> {
        prices.iter().map(|&p| Some(p)).chain(std::iter::repeat_n(None, unpriced)).collect()
    };
    let answer = m.search(&[("sort", "price_asc"), ("page_size", "100")]).await;
    assert_eq!(hit_prices(&answer), with_unpriced(&ascending), "price_asc");
    let descending: Vec<i64> = ascending.iter().rev().copied().collect();
    let answer = m.search(&[("sort", "price_desc"), ("page_size", "100")]).await;
    assert_eq!(hit_prices(&answer), with_unpriced(&descending), "price_desc");
    // The same order across pages of a filtered query.
    let mut paged = Vec::new();
    for page in 1..=ascending.len().div_ceil(8) {
        let page = page.to_string();
        let params =
            [("sort", "price_asc"), ("in_stock", "true"), ("page_size", "8"), ("page", &page)];
        paged.extend(hit_prices(&m.search(&params).await));
    }
    assert_eq!(paged, with_unpriced(&ascending)[..ascending.len()], "paged price_asc");
}
