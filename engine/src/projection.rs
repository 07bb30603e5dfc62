//! Read models that follow an entity kind's durable changes (CQRS projections).
//!
//! After a command's events are applied, the entity's actor asks every projection of its kind
//! to `prepare` an update from the new state; the update is published only once those events
//! are durable, in the order they were written, on the journal's completion thread (so
//! `publish` must be quick: a map insert, a channel send). A read model therefore never shows
//! a change that could still be lost, and hot reads never wait on an entity's mailbox.

use std::any::{Any, TypeId};
use std::sync::Arc;

use dashmap::DashMap;

use crate::entity::{Entity, EntityKey};

/// A publication prepared on the entity's actor and run once its events are durable.
pub type Publish = Box<dyn FnOnce() + Send>;

/// A read model of entity kind `E`.
pub trait Projection<E: Entity>: Send + Sync + 'static {
    /// Called on the entity's actor right after `events` were applied to `state`.
    fn prepare(&self, key: &EntityKey, state: &E, events: &[E::Event]) -> Option<Publish>;
}

pub(crate) type Projections<E> = Arc<[Arc<dyn Projection<E>>]>;

/// Projections by entity type.
#[derive(Default)]
pub(crate) struct Registry {
    by_type: DashMap<TypeId, Box<dyn Any + Send + Sync>>,
}

impl Registry {
    pub fn add<E: Entity>(&self, projection: Arc<dyn Projection<E>>) {
        let mut entry = self.by_type.entry(TypeId::of::<E>()).or_insert_with(|| {
            let empty: Projections<E> = Arc::from(Vec::new());
            Box::new(empty)
        });
        let current = entry.downcast_ref::<Projections<E>>().expect("registered by type");
        let mut all = current.to_vec();
        all.push(projection);
        *entry = Box::new(Projections::<E>::from(all));
    }

    /// The projections of `E` (those registered before this entity was activated).
    pub fn of<E: Entity>(&self) -> Projections<E> {
        self.by_type
            .get(&TypeId::of::<E>())
            .and_then(|entry| entry.downcast_ref::<Projections<E>>().cloned())
            .unwrap_or_else(|| Arc::from(Vec::new()))
    }
}
