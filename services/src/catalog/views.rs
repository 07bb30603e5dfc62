//! Product views: a cache bounded by bytes in front of the products' journal.
//!
//! A view not cached is read from the product's durable state in the journal (its snapshot
//! and the events after it, folded without activating the entity), then cached; the
//! product projection puts every durable change's view in the cache. So memory holds the
//! products read or changed lately, whatever the catalogue's size, and a start loads none.
//!
//! Each entry also keeps the fingerprint of the search document the product projection last
//! gave search (none for a view only read through, or evicted), so a publish tells search
//! whenever the document may differ from what search has, whoever filled the cache, and
//! spares it only a document search is known to hold.
//!
//! Invariant: the cache never holds a view older than one it held before: a publish and a
//! read-through's insert of the same product are serialized (a lock stripe per key), and
//! each replaces the cached view only with a newer revision.

use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex, PoisonError};

use bazaar_engine::{Engine, EngineError};

use super::Tenant;
use crate::cache::{BoundedCache, TextPair, Weigh};
use crate::limits::PRODUCT_VIEW_BYTES_TYPICAL;
use bazaar_actors::ids::Asin;
use bazaar_actors::keys;
use bazaar_actors::product::{Offer, Product, ProductView};

type ViewKey = (Tenant, Asin);

/// Lock stripes serializing the cache's writes per key.
const STRIPES: usize = 64;

pub(super) struct Views {
    cache: BoundedCache<ViewKey, Cached>,
    stripes: Box<[Mutex<()>]>,
    hasher: RandomState,
}

/// A cached view, and the fingerprint of the search document search last got for it.
#[derive(Clone)]
struct Cached {
    view: Arc<ProductView>,
    indexed: Option<u64>,
}

impl Weigh for Cached {
    fn weigh(&self) -> u64 {
        16 + self.view.weigh()
    }
}

impl Views {
    /// Views of at most `bytes` in memory.
    pub fn new(bytes: u64) -> Views {
        Views {
            cache: BoundedCache::new("product_view_cache", bytes, PRODUCT_VIEW_BYTES_TYPICAL),
            stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(),
            hasher: RandomState::new(),
        }
    }
}

impl Views {
    fn stripe(&self, key: &ViewKey) -> std::sync::MutexGuard<'_, ()> {
        let stripe = self.hasher.hash_one(key) as usize % STRIPES;
        self.stripes[stripe].lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The product's current view: cached, or read through from the journal.
    pub fn get(
        &self,
        engine: &Engine,
        tenant: &str,
        asin: &Asin,
    ) -> Result<Option<Arc<ProductView>>, EngineError> {
        if let Some(cached) = self.cache.get_if(&TextPair(tenant, asin.as_str()), |_| true) {
            return Ok(Some(cached.view));
        }
        let key = (Tenant::from(tenant), asin.clone());
        let product = engine.durable_state::<Product>(&keys::product(tenant, asin))?;
        let Some(view) = product.view().map(Arc::new) else { return Ok(None) };
        let _writing = self.stripe(&key);
        let indexed = match self.cache.peek(&key) {
            Some(cached) if cached.view.revision >= view.revision => return Ok(Some(cached.view)),
            Some(cached) => cached.indexed,
            None => None,
        };
        self.cache.insert(key, Cached { view: view.clone(), indexed });
        Ok(Some(view))
    }

    /// Puts a durable change's view in the cache (unless a newer one is there already) and
    /// records that search is given the document of fingerprint `search`. True when search
    /// must be told: the document differs from the one it last got, or that is not known.
    pub fn publish(&self, tenant: Tenant, asin: Asin, view: Arc<ProductView>, search: u64) -> bool {
        let key = (tenant, asin);
        let _writing = self.stripe(&key);
        let previous = self.cache.peek(&key);
        let changed = previous.as_ref().and_then(|cached| cached.indexed) != Some(search);
        let view = match previous {
            Some(cached) if cached.view.revision > view.revision => cached.view,
            _ => view,
        };
        self.cache.insert(key, Cached { view, indexed: Some(search) });
        changed
    }

    /// Views cached.
    pub fn cached(&self) -> usize {
        self.cache.len()
    }
}

impl Weigh for ProductView {
    fn weigh(&self) -> u64 {
        let document = &self.document;
        let strings = document.title.len()
            + document.brand.len()
            + document.description.len()
            + document.category_path.iter().map(|name| name.len() + 24).sum::<usize>()
            + document.attributes.iter().map(|(k, v)| k.len() + v.len() + 64).sum::<usize>()
            + document.images.iter().map(|url| url.len() + 24).sum::<usize>();
        let offers = self
            .offers
            .iter()
            .map(|offer| {
                std::mem::size_of::<Offer>()
                    + offer.seller.as_str().len()
                    + offer.terms.sku.as_str().len()
            })
            .sum::<usize>();
        (std::mem::size_of::<ProductView>() + strings + offers) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bazaar_actors::product::{CatalogDocument, ProductCommand, SearchDoc};
    use bazaar_actors::{Currency, SellerId};
    use bazaar_engine::EngineConfig;
    use bazaar_engine::testkit::single_node;

    /// A view the cache read through was never given to search: its first publish tells
    /// search even when the document equals it; the next equal one does not; an older
    /// revision's publish never replaces a newer cached view.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn only_what_search_was_given_spares_it_a_write() {
        let engine = single_node(
            Arc::new(bazaar_persistence::MemJournal::default()),
            EngineConfig::default(),
        );
        crate::register(&engine);
        let asin = Asin::parse("B000000001").unwrap();
        let document = CatalogDocument {
            title: "A lamp".into(),
            brand: "Lumo".into(),
            category_path: vec!["Home".into()],
            ..CatalogDocument::default()
        };
        let by = SellerId::parse("s1").unwrap();
        let create = ProductCommand::CreateOrUpdateDocument {
            document,
            currency: Currency::EUR,
            by,
            required: Vec::new(),
        };
        engine.ask::<Product>(&keys::product("t", &asin), create).await.unwrap().unwrap();

        let views = Views::new(crate::limits::PRODUCT_VIEW_CACHE_BYTES);
        let view = views.get(&engine, "t", &asin).unwrap().expect("read through");
        let search = SearchDoc::fingerprint_of(&asin, &view);
        let (tenant, older) =
            (Tenant::from("t"), Arc::new(ProductView { revision: 0, ..(*view).clone() }));
        assert!(views.publish(tenant.clone(), asin.clone(), view.clone(), search), "never given");
        assert!(!views.publish(tenant.clone(), asin.clone(), view.clone(), search), "given");
        views.publish(tenant, asin.clone(), older, search);
        let cached = views.get(&engine, "t", &asin).unwrap().unwrap();
        assert_eq!(cached.revision, view.revision, "an older view never replaces a newer one");
    }
}
