//! The product's state and `apply`: folding events and recomputing the buy box, no rules.
//!
//! Invariants of the representation:
//! - `document` and `currency` are both set or both unset.
//! - `buy_box` is `buy_box::choose(offers)` after every applied event.
//! - `revision` counts the events applied.

use std::collections::BTreeMap;

use serde::Serialize;

use super::buy_box::{self, BuyBox};
use super::document::CatalogDocument;
use super::offer::Offer;
use super::{ProductEvent, ProductView};
use crate::ids::SellerId;
use crate::money::Currency;

/// A catalog item: document, offers, buy box. The default is a product not yet created.
///
/// Encoded field by field in this order (the snapshot's format); `owner` came last, and a
/// snapshot written before it decodes with none ([`crate::snapshot`]).
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Product {
    pub(super) document: Option<CatalogDocument>,
    pub(super) currency: Option<Currency>,
    pub(super) created_at_ms: u64,
    pub(super) offers: BTreeMap<SellerId, Offer>,
    pub(super) buy_box: Option<SellerId>,
    pub(super) revision: u64,
    /// The seller who owns the document; none for a product created before owners were
    /// recorded (the snapshot of such a product decodes with none).
    pub(super) owner: Option<SellerId>,
    /// The attributes its category requires that its document lacks.
    pub(super) missing_attributes: Vec<String>,
}

crate::snapshot::grown_state!(Product {
    document, currency, created_at_ms, offers, buy_box, revision
} added { owner, missing_attributes });

impl Product {
    pub fn document(&self) -> Option<&CatalogDocument> {
        self.document.as_ref()
    }

    pub fn currency(&self) -> Option<Currency> {
        self.currency
    }

    pub fn offers(&self) -> impl Iterator<Item = &Offer> {
        self.offers.values()
    }

    pub fn offer(&self, seller: &SellerId) -> Option<&Offer> {
        self.offers.get(seller)
    }

    /// The winning seller, if any offer is eligible.
    pub fn buy_box_winner(&self) -> Option<&SellerId> {
        self.buy_box.as_ref()
    }

    pub fn buy_box(&self) -> Option<BuyBox> {
        self.buy_box.as_ref().and_then(|seller| self.offers.get(seller)).map(BuyBox::of)
    }

    /// The seller who owns the catalog document, if recorded.
    pub fn owner(&self) -> Option<&SellerId> {
        self.owner.as_ref()
    }

    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// The whole product; `None` before it is created.
    pub fn view(&self) -> Option<ProductView> {
        let (document, currency) = (self.document.as_ref()?, self.currency?);
        let terms = self.terms();
        let mut eligible: Vec<&Offer> =
            self.offers.values().filter(|offer| buy_box::is_eligible(offer, terms)).collect();
        eligible.sort_by(|a, b| buy_box::compare(a, b));
        let others = self.offers.values().filter(|offer| !buy_box::is_eligible(offer, terms));
        Some(ProductView {
            document: document.clone(),
            currency,
            created_at_ms: self.created_at_ms,
            revision: self.revision,
            buy_box: self.buy_box(),
            offers: eligible.into_iter().chain(others).cloned().collect(),
            missing_attributes: self.missing_attributes.clone(),
        })
    }

    /// What the product says of every offer on it.
    pub fn terms(&self) -> buy_box::ProductTerms {
        buy_box::ProductTerms::of(self.offers.values(), &self.missing_attributes)
    }

    fn recompute_buy_box(&mut self) {
        let winner = buy_box::choose(self.offers.values(), &self.missing_attributes);
        self.buy_box = winner.map(|offer| offer.seller.clone());
    }

    pub(super) fn apply_event(&mut self, event: &ProductEvent) {
        self.revision += 1;
        match event {
            ProductEvent::DocumentCreated { document, currency, at_ms } => {
                self.document = Some(document.clone());
                self.currency = Some(*currency);
                self.created_at_ms = *at_ms;
            }
            ProductEvent::DocumentUpdated { document, .. } => {
                self.document = Some(document.clone());
            }
            ProductEvent::OfferListed { offer } | ProductEvent::OfferRevised { offer } => {
                self.offers.insert(offer.seller.clone(), offer.clone());
                self.recompute_buy_box();
            }
            ProductEvent::OfferWithdrawn { seller } => {
                self.offers.remove(seller);
                self.recompute_buy_box();
            }
            ProductEvent::OfferStockSet { seller, available } => {
                if let Some(offer) = self.offers.get_mut(seller) {
                    offer.terms.available = *available;
                }
                self.recompute_buy_box();
            }
            ProductEvent::SellerScoreRecorded { seller, score } => {
                if let Some(offer) = self.offers.get_mut(seller) {
                    offer.score = *score;
                }
                self.recompute_buy_box();
            }
            // The winner is derived from the offers; this event is for projections.
            ProductEvent::BuyBoxChanged { .. } => {}
            ProductEvent::OwnerRecorded { owner } => self.owner = Some(owner.clone()),
            ProductEvent::AttributesMissing { missing } => {
                self.missing_attributes = missing.clone();
                self.recompute_buy_box();
            }
        }
    }
}
