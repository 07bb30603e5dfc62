//! The cart's state and `apply`: folding events, no rules.
//!
//! Invariants of the representation:
//! - `owner` and `currency` are both set or both unset.
//! - `lines` is keyed by each line's own key.
//! - `revision` counts the events applied, records of holds aside.
//! - `merged` names each source cart once, with the newest revision taken from it.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::owner::CartOwner;
use super::{CartEvent, CartLine, CartView, HoldRecord, LineKey};
use crate::limits::CART_MERGES_REMEMBERED_MAX;
use crate::money::Currency;

/// A shopper's cart. The default is a cart not yet created.
///
/// Encoded field by field in this order (the snapshot's format); `merged`, `holds` and
/// `holds_on_cart` came later, in that order, and a snapshot written before one decodes with
/// its default ([`crate::snapshot`]): no holds, and not all of them on the cart.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Cart {
    pub(super) owner: Option<CartOwner>,
    pub(super) currency: Option<Currency>,
    pub(super) created_at_ms: u64,
    pub(super) lines: BTreeMap<LineKey, CartLine>,
    pub(super) revision: u64,
    /// The carts merged in and the revision each was taken at, oldest first, at most
    /// `CART_MERGES_REMEMBERED_MAX` (a repeated merge is answered from here).
    pub(super) merged: Vec<(String, u64)>,
    /// What the cart's reservation holds (see the module's rules).
    pub(super) holds: BTreeSet<HoldRecord>,
    /// Whether every hold is recorded here (none in a `cart-holds` worklist).
    pub(super) holds_on_cart: bool,
}

crate::snapshot::grown_state!(Cart {
    owner, currency, created_at_ms, lines, revision
} added { merged, holds, holds_on_cart });

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
            holds: self.holds.iter().cloned().collect(),
            holds_on_cart: self.holds_on_cart,
        })
    }

    pub(super) fn apply_event(&mut self, event: &CartEvent) {
        // A record of holds changes no line: it leaves the revision as it is.
        let holds_only = matches!(
            event,
            CartEvent::HoldRecorded { .. }
                | CartEvent::HoldForgotten { .. }
                | CartEvent::HoldsOnCart
        );
        if !holds_only {
            self.revision += 1;
        }
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
            CartEvent::MergedFrom { from, revision } => {
                self.merged.retain(|(merged, _)| merged != from);
                if self.merged.len() >= CART_MERGES_REMEMBERED_MAX {
                    self.merged.remove(0);
                }
                self.merged.push((from.clone(), *revision));
            }
            CartEvent::HoldRecorded { hold } => {
                self.holds.insert(hold.clone());
            }
            CartEvent::HoldForgotten { hold } => {
                self.holds.remove(hold);
            }
            CartEvent::HoldsOnCart => self.holds_on_cart = true,
        }
    }
}
