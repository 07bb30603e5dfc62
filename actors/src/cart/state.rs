//! The cart's state and `apply`: folding events, no rules.
//!
//! Invariants of the representation:
//! - `owner` and `currency` are both set or both unset.
//! - `lines` is keyed by each line's own key.
//! - `revision` counts the events applied.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::owner::CartOwner;
use super::{CartEvent, CartLine, CartView, LineKey};
use crate::money::Currency;

/// A shopper's cart. The default is a cart not yet created.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cart {
    pub(super) owner: Option<CartOwner>,
    pub(super) currency: Option<Currency>,
    pub(super) created_at_ms: u64,
    pub(super) lines: BTreeMap<LineKey, CartLine>,
    pub(super) revision: u64,
}

impl Cart {
    pub fn owner(&self) -> Option<&CartOwner> {
        self.owner.as_ref()
    }

    pub fn lines(&self) -> impl Iterator<Item = &CartLine> {
        self.lines.values()
    }

    pub fn line(&self, key: &LineKey) -> Option<&CartLine> {
        self.lines.get(key)
    }

    /// The whole cart; `None` before it is created.
    pub fn view(&self) -> Option<CartView> {
        Some(CartView {
            owner: self.owner.clone()?,
            currency: self.currency?,
            created_at_ms: self.created_at_ms,
            revision: self.revision,
            lines: self.lines.values().cloned().collect(),
        })
    }

    pub(super) fn apply_event(&mut self, event: &CartEvent) {
        self.revision += 1;
        match event {
            CartEvent::Created { owner, currency, at_ms } => {
                self.owner = Some(owner.clone());
                self.currency = Some(*currency);
                self.created_at_ms = *at_ms;
            }
            CartEvent::LineAdded { line } | CartEvent::LineChanged { line } => {
                self.lines.insert(line.key(), line.clone());
            }
            CartEvent::LineRemoved { asin, offer } => {
                self.lines.remove(&LineKey { asin: asin.clone(), offer: offer.clone() });
            }
            CartEvent::Cleared => self.lines.clear(),
        }
    }
}
