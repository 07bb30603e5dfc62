//! The synthetic catalogue a run seeds and shops in: products with real words in their titles
//! (so search finds them), brands and categories (so facets have counts), offers by several
//! sellers (so buy boxes are contested), stock, and the customers.
//!
//! Invariants: pure and deterministic: the same sizes, seller ids and run tag give the same
//! catalogue. Every ASIN is 10 characters (`B`, the 3-character run tag, 6 digits) and every
//! SKU names its run tag, so runs against one node never collide. Product 0 is the price
//! storm's ASIN and the flash sale's is [`Catalogue::flash`]: it has one offer only, with the
//! flash stock, so its stock is exactly what the sale may sell.

use super::scenario::Scenario;

pub const ADJECTIVES: &[&str] = &[
    "red", "blue", "green", "black", "silver", "compact", "deluxe", "classic", "portable", "quiet",
    "smart", "vintage", "rugged", "slim", "cozy", "bright",
];
pub const MATERIALS: &[&str] =
    &["steel", "oak", "bamboo", "ceramic", "leather", "cotton", "glass", "copper", "wool"];
/// Nouns and the category path each belongs to.
pub const NOUNS: &[(&str, &[&str])] = &[
    ("kettle", &["Home", "Kitchen"]),
    ("teapot", &["Home", "Kitchen"]),
    ("skillet", &["Home", "Kitchen"]),
    ("blender", &["Home", "Kitchen"]),
    ("lamp", &["Home", "Lighting"]),
    ("lantern", &["Home", "Lighting"]),
    ("chair", &["Home", "Furniture"]),
    ("bookshelf", &["Home", "Furniture"]),
    ("backpack", &["Outdoors", "Bags"]),
    ("tent", &["Outdoors", "Camping"]),
    ("hammock", &["Outdoors", "Camping"]),
    ("headphones", &["Electronics", "Audio"]),
    ("speaker", &["Electronics", "Audio"]),
    ("keyboard", &["Electronics", "Computers"]),
    ("monitor", &["Electronics", "Computers"]),
    ("jacket", &["Fashion", "Outerwear"]),
    ("scarf", &["Fashion", "Accessories"]),
    ("wallet", &["Fashion", "Accessories"]),
    ("sneakers", &["Fashion", "Shoes"]),
    ("puzzle", &["Toys", "Games"]),
];
pub const BRANDS: &[&str] = &[
    "Acme",
    "Northwind",
    "Globex",
    "Initech",
    "Umbra",
    "Fjord",
    "Lumen",
    "Tessel",
    "Orbit",
    "Pioneer",
    "Kestrel",
    "Marlow",
];

/// The location every SKU is stocked at.
pub const LOCATION: &str = "FRA1";

#[derive(Debug, Clone, PartialEq)]
pub struct Catalogue {
    /// Three characters `[A-Z0-9]` naming the run in ASINs and SKUs.
    pub tag: String,
    pub products: Vec<Product>,
    /// Seller principals; product `n` is created by seller `n % sellers`.
    pub sellers: Vec<String>,
    /// Customer principals.
    pub customers: Vec<String>,
    /// The flash sale's product, when the scenario has one.
    pub flash: Option<u32>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Product {
    pub asin: String,
    pub title: String,
    pub brand: String,
    pub category: Vec<String>,
    pub offers: Vec<Offer>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Offer {
    /// Index into [`Catalogue::sellers`].
    pub seller: u32,
    pub sku: String,
    pub price_minor: i64,
    pub shipping_minor: i64,
    /// Units on hand at the start.
    pub stock: u32,
}

impl Catalogue {
    /// The catalogue of `scenario` for these principals, named by `tag`.
    pub fn build(
        scenario: &Scenario,
        tag: &str,
        sellers: Vec<String>,
        customers: Vec<String>,
    ) -> Self {
        assert!(!sellers.is_empty() && !customers.is_empty(), "sellers and customers");
        let count = scenario.catalogue.products;
        let flash = scenario.flash_sale.as_ref().map(|_| if count > 1 { 1 } else { 0 });
        let offers_max = scenario.catalogue.offers_per_product.min(sellers.len() as u32);
        let products = (0..count)
            .map(|n| {
                let (adjective, material) = (pick(ADJECTIVES, n, 7), pick(MATERIALS, n, 3));
                let (noun, category) = NOUNS[(n as usize) % NOUNS.len()];
                let offers_count = if Some(n) == flash {
                    1
                } else if n == 0 {
                    offers_max.max(2).min(sellers.len() as u32)
                } else {
                    1 + (n / 3) % offers_max
                };
                let base = 1_500 + i64::from((n * 37) % 2_000);
                let offers = (0..offers_count)
                    .map(|k| Offer {
                        seller: (n + k) % sellers.len() as u32,
                        sku: format!("{}-{n}-{k}", tag.to_ascii_lowercase()),
                        price_minor: base + i64::from(k) * 50,
                        shipping_minor: if (n + k) % 2 == 0 { 0 } else { 299 },
                        stock: match (Some(n) == flash, &scenario.flash_sale) {
                            (true, Some(sale)) => sale.stock,
                            _ => scenario.catalogue.stock_per_sku,
                        },
                    })
                    .collect();
                Product {
                    asin: asin(tag, n),
                    title: format!("{} {} {}", capital(adjective), material, noun),
                    brand: pick(BRANDS, n, 5).to_string(),
                    category: category.iter().map(|c| c.to_string()).collect(),
                    offers,
                }
            })
            .collect();
        Catalogue { tag: tag.to_string(), products, sellers, customers, flash }
    }

    /// The words of the titles and brands, which searches look up.
    pub fn vocabulary() -> Vec<&'static str> {
        let nouns = NOUNS.iter().map(|(noun, _)| *noun);
        ADJECTIVES.iter().copied().chain(MATERIALS.iter().copied()).chain(nouns).collect()
    }

    /// The top-level categories, for the category facet.
    pub fn categories() -> Vec<&'static str> {
        let mut all: Vec<&str> = NOUNS.iter().map(|(_, path)| path[0]).collect();
        all.dedup();
        all
    }

    /// Every SKU with its product and offer index.
    pub fn skus(&self) -> impl Iterator<Item = (u32, u32, &Offer)> {
        self.products.iter().enumerate().flat_map(|(n, product)| {
            product.offers.iter().enumerate().map(move |(k, offer)| (n as u32, k as u32, offer))
        })
    }
}

/// The ASIN of product `n` of run `tag`.
pub fn asin(tag: &str, n: u32) -> String {
    format!("B{tag}{n:06}")
}

/// A run tag of three characters `[A-Z0-9]` from any number.
pub fn tag_of(value: u64) -> String {
    const DIGITS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut value = value;
    (0..3)
        .map(|_| {
            let digit = DIGITS[(value % 36) as usize] as char;
            value /= 36;
            digit
        })
        .collect()
}

fn pick<'a>(words: &[&'a str], n: u32, stride: u32) -> &'a str {
    words[((n.wrapping_mul(stride) + n / words.len() as u32) as usize) % words.len()]
}

fn capital(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::scenario::Scenario;

    fn principals(prefix: &str, n: u32) -> Vec<String> {
        (1..=n).map(|k| format!("{prefix}-{k}")).collect()
    }

    #[test]
    fn the_catalogue_is_deterministic_well_formed_and_has_its_flash_product() {
        let scenario = Scenario::default_scenario();
        let build = || Catalogue::build(&scenario, "S1M", principals("s", 6), principals("c", 3));
        let catalogue = build();
        assert_eq!(catalogue, build());
        assert_eq!(catalogue.products.len(), 300);
        for product in &catalogue.products {
            assert_eq!(product.asin.len(), 10, "{}", product.asin);
            assert!(product.asin.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
            let words = product.title.split(' ').count();
            assert_eq!(words, 3, "{}", product.title);
            assert!(!product.offers.is_empty());
        }
        let flash = &catalogue.products[catalogue.flash.unwrap() as usize];
        assert_eq!(flash.offers.len(), 1);
        assert_eq!(flash.offers[0].stock, scenario.flash_sale.as_ref().unwrap().stock);
        assert!(catalogue.products[0].offers.len() >= 2, "the storm ASIN is contested");
        let skus: std::collections::BTreeSet<&str> =
            catalogue.skus().map(|(_, _, offer)| offer.sku.as_str()).collect();
        assert_eq!(skus.len(), catalogue.skus().count(), "SKUs are unique");
    }

    #[test]
    fn run_tags_are_three_characters() {
        for value in [0, 35, 36, 46_655, u64::MAX] {
            let tag = tag_of(value);
            assert_eq!(tag.len(), 3, "{tag}");
        }
        assert_ne!(tag_of(1), tag_of(2));
    }
}
