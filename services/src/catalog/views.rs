//! Product views: a cache bounded by bytes in front of the products' journal.
//!
//! A view not cached is read from the product's durable state in the journal (its snapshot
//! and the events after it, folded without activating the entity), then cached; the
//! product projection puts every durable change's view in the cache. So memory holds the
//! products read or changed lately, whatever the catalogue's size, and a start loads none.
//!
//! Invariant: the cache never holds a view older than one it held or published before: a
//! publish and a read-through's insert of the same product are serialized (a lock stripe per
//! key), and a read-through inserts only a view newer than the one cached.

use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex, PoisonError};

use bazaar_engine::{Engine, EngineError};

use super::Tenant;
use crate::cache::{BoundedCache, Weigh};
use crate::limits::{PRODUCT_VIEW_BYTES_TYPICAL, PRODUCT_VIEW_CACHE_BYTES};
use bazaar_actors::ids::Asin;
use bazaar_actors::keys;
use bazaar_actors::product::{Offer, Product, ProductView};

type ViewKey = (Tenant, Asin);

/// Lock stripes serializing the cache's writes per key.
const STRIPES: usize = 64;

pub(super) struct Views {
    cache: BoundedCache<ViewKey, Arc<ProductView>>,
    stripes: Box<[Mutex<()>]>,
    hasher: RandomState,
}

impl Default for Views {
    fn default() -> Views {
        Views {
            cache: BoundedCache::new(
                "product_view_cache",
                PRODUCT_VIEW_CACHE_BYTES,
                PRODUCT_VIEW_BYTES_TYPICAL,
            ),
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
        let key = (Tenant::from(tenant), asin.clone());
        if let Some(view) = self.cache.get_if(&key, |_| true) {
            return Ok(Some(view));
        }
        let product = engine.durable_state::<Product>(&keys::product(tenant, asin))?;
        let Some(view) = product.view().map(Arc::new) else { return Ok(None) };
        let _writing = self.stripe(&key);
        match self.cache.peek(&key) {
            Some(cached) if cached.revision >= view.revision => Ok(Some(cached)),
            _ => {
                self.cache.insert(key, view.clone());
                Ok(Some(view))
            }
        }
    }

    /// Puts a durable change's view in the cache; returns the view it replaces, if cached.
    pub fn publish(
        &self,
        tenant: Tenant,
        asin: Asin,
        view: Arc<ProductView>,
    ) -> Option<Arc<ProductView>> {
        let key = (tenant, asin);
        let _writing = self.stripe(&key);
        let previous = self.cache.peek(&key);
        self.cache.insert(key, view);
        previous
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
