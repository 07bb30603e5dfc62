//! A seeded, realistic synthetic catalog and query mix, for the gateway benchmark
//! (`search_p99_ms` over 100,000 products) and for tests. Same seed, same output.
//!
//! Shape: 10 top-level categories of 4-5 subcategories, each with 3 leaves; 400 brands with
//! skewed popularity (a few brands hold most products); titles of brand, adjectives, a product
//! noun, a model number and a colour; descriptions of 25-50 words over a vocabulary of a few
//! thousand words; prices log-uniform between 3.00 and 1,500.00 with 4 % unpriced (no buy box);
//! 88 % in stock; fulfilment by the marketplace, the seller or both; listings over three years.

use super::doc::SearchDoc;
use super::query::{SearchQuery, Sort};

/// SplitMix64: tiny, fast, and good enough for synthetic data.
#[derive(Debug, Clone)]
pub struct BenchRng(u64);

impl BenchRng {
    pub fn new(seed: u64) -> BenchRng {
        BenchRng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const TOP: [(&str, &[&str]); 10] = [
    ("Electronics", &["Audio", "Computers", "Cameras", "Phones", "Wearables"]),
    ("Home & Kitchen", &["Cookware", "Appliances", "Furniture", "Bedding"]),
    ("Books", &["Fiction", "Science", "History", "Children"]),
    ("Clothing", &["Men", "Women", "Shoes", "Accessories"]),
    ("Sports & Outdoors", &["Camping", "Cycling", "Fitness", "Running", "Water Sports"]),
    ("Toys & Games", &["Puzzles", "Board Games", "Building Sets", "Dolls"]),
    ("Beauty", &["Skin Care", "Hair Care", "Fragrance", "Makeup"]),
    ("Garden", &["Tools", "Plants", "Lighting", "Watering"]),
    ("Office Products", &["Paper", "Pens", "Desks", "Organizers"]),
    ("Automotive", &["Parts", "Care", "Electronics", "Tools"]),
];

const LEAVES: [&str; 3] = ["Essentials", "Premium", "Accessories"];

const NOUNS: [&str; 40] = [
    "headphones",
    "speaker",
    "charger",
    "cable",
    "monitor",
    "keyboard",
    "mouse",
    "camera",
    "tablet",
    "router",
    "kettle",
    "blender",
    "pan",
    "knife",
    "lamp",
    "chair",
    "pillow",
    "blanket",
    "novel",
    "guide",
    "atlas",
    "jacket",
    "shirt",
    "sneakers",
    "backpack",
    "tent",
    "bicycle",
    "helmet",
    "bottle",
    "puzzle",
    "drone",
    "serum",
    "shampoo",
    "perfume",
    "shovel",
    "hose",
    "notebook",
    "pen",
    "desk",
    "wipers",
];

const ADJECTIVES: [&str; 30] = [
    "wireless",
    "portable",
    "compact",
    "premium",
    "ergonomic",
    "waterproof",
    "lightweight",
    "durable",
    "smart",
    "classic",
    "professional",
    "foldable",
    "rechargeable",
    "organic",
    "stainless",
    "ultra",
    "silent",
    "adjustable",
    "vintage",
    "modern",
    "heavy-duty",
    "slim",
    "noise-cancelling",
    "bluetooth",
    "ceramic",
    "cotton",
    "leather",
    "solar",
    "digital",
    "mini",
];

const COLOURS: [&str; 10] =
    ["black", "white", "silver", "red", "blue", "green", "grey", "gold", "pink", "navy"];

const FILLER: [&str; 30] = [
    "the",
    "with",
    "for",
    "and",
    "your",
    "this",
    "designed",
    "everyday",
    "use",
    "quality",
    "easy",
    "long",
    "lasting",
    "perfect",
    "gift",
    "home",
    "travel",
    "office",
    "comfort",
    "includes",
    "warranty",
    "year",
    "made",
    "from",
    "materials",
    "great",
    "value",
    "new",
    "fits",
    "most",
];

const SYLLABLES: [&str; 24] = [
    "zen", "kor", "vo", "tra", "lux", "ma", "ri", "on", "pex", "al", "nu", "vi", "sta", "ber",
    "qu", "ix", "ta", "mo", "del", "fin", "ga", "ro", "sol", "ke",
];

/// Brands in the generated catalog, most popular first.
pub const BENCH_BRANDS: usize = 400;

fn word(rng: &mut BenchRng, syllables: usize) -> String {
    (0..syllables).map(|_| *rng.pick(&SYLLABLES)).collect()
}

fn brands(seed: u64) -> Vec<String> {
    let mut rng = BenchRng::new(seed ^ 0x00B4_A2D5);
    (0..BENCH_BRANDS)
        .map(|i| {
            let mut name = word(&mut rng, 2 + i % 2);
            name[..1].make_ascii_uppercase();
            format!("{name}{}", if i < 26 { String::new() } else { format!(" {}", i % 97) })
        })
        .collect()
}

fn vocabulary(rng: &mut BenchRng) -> Vec<String> {
    (0..3_000)
        .map(|_| {
            let syllables = 2 + rng.below(3);
            word(rng, syllables)
        })
        .collect()
}

/// `n` products, deterministic in `seed`. ASINs are `B` and nine hex digits of the index.
pub fn bench_catalog(n: usize, seed: u64) -> Vec<SearchDoc> {
    let mut rng = BenchRng::new(seed);
    let brands = brands(seed);
    let vocabulary = vocabulary(&mut rng);
    (0..n).map(|i| product(&mut rng, i, &brands, &vocabulary)).collect()
}

fn product(rng: &mut BenchRng, i: usize, brands: &[String], vocabulary: &[String]) -> SearchDoc {
    // Skewed popularity: u^3 puts most products on the first brands.
    let brand = brands[(rng.unit().powi(3) * brands.len() as f64) as usize].clone();
    let (top, subs) = TOP[rng.below(TOP.len())];
    let category_path =
        vec![top.to_owned(), rng.pick(subs).to_string(), rng.pick(&LEAVES).to_string()];
    let noun = *rng.pick(&NOUNS);
    let title = format!(
        "{brand} {} {} {noun} {}{} - {}",
        rng.pick(&ADJECTIVES),
        rng.pick(&ADJECTIVES),
        (b'A' + rng.below(26) as u8) as char,
        100 + rng.below(900),
        rng.pick(&COLOURS),
    );
    let words = 25 + rng.below(26);
    let description = (0..words)
        .map(|_| match rng.below(10) {
            0..=3 => rng.pick(&FILLER).to_string(),
            4 => rng.pick(&NOUNS).to_string(),
            5 | 6 => rng.pick(&ADJECTIVES).to_string(),
            _ => rng.pick(vocabulary).clone(),
        })
        .collect::<Vec<_>>()
        .join(" ");
    let price_minor =
        (!rng.chance(0.04)).then(|| (300f64 * (500f64).powf(rng.unit())).round() as i64);
    let fulfilment = match rng.below(20) {
        0..=8 => vec!["marketplace".to_owned()],
        9..=15 => vec!["seller".to_owned()],
        _ => vec!["marketplace".to_owned(), "seller".to_owned()],
    };
    SearchDoc {
        asin: format!("B{i:09X}"),
        title,
        brand,
        description,
        category_path,
        price_minor,
        currency: "EUR".to_owned(),
        in_stock: rng.chance(0.88),
        fulfilment,
        created_ms: 1_600_000_000_000 + rng.below(3 * 365 * 24 * 3_600_000) as u64,
    }
}

/// A shopper's query mix over a [`bench_catalog`]: mostly one or two words, some with a
/// category, price or stock filter, some category browsing, a few price sorts and later pages.
pub fn bench_queries(n: usize, seed: u64) -> Vec<SearchQuery> {
    let mut rng = BenchRng::new(seed ^ 0x005E_A4C4);
    let brands = brands(seed);
    (0..n)
        .map(|_| {
            let mut q = SearchQuery { page_size: 24, ..SearchQuery::default() };
            let text = if rng.chance(0.5) {
                format!("{} {}", rng.pick(&ADJECTIVES), rng.pick(&NOUNS))
            } else {
                rng.pick(&NOUNS).to_string()
            };
            let (top, subs) = TOP[rng.below(TOP.len())];
            match rng.below(20) {
                0..=8 => q.text = Some(text),
                9..=11 => {
                    q.text = Some(text);
                    q.category = Some(top.to_owned());
                }
                12 | 13 => q.category = Some(format!("{top} > {}", rng.pick(subs))),
                14 | 15 => {
                    q.text = Some(text);
                    q.price_max_minor = Some(5_000);
                    q.in_stock = Some(true);
                }
                16 => q.brand = Some(brands[rng.below(20)].clone()),
                17 | 18 => {
                    q.text = Some(text);
                    q.sort = if rng.chance(0.5) { Sort::PriceAsc } else { Sort::PriceDesc };
                }
                _ => {
                    q.category = Some(top.to_owned());
                    q.sort = Sort::Newest;
                    q.page = 1 + rng.below(5) as u32;
                }
            }
            q
        })
        .collect()
}
