//! The reserve step: every priced line held at its seller's locations nearest the
//! destination (split over several when no single one has enough), or none.
//!
//! Invariants:
//! - Holds are numbered in the items' order: hold `j` is held under `{order}.{j}` and
//!   becomes the order's line `j` (`sourcing.rs`). A repeated attempt first adopts the holds
//!   an earlier one placed, at any location, so each unit is held once. (Giving a hold back
//!   to hold it anew cannot work: a released id is spent, and the step failed "the
//!   reservation was released" after a crash that fell between a hold and its record.)
//! - A line that cannot be held releases every hold placed before it, then fails the saga.

use super::{Attempt, Run, StepResult, failed};
use crate::catalog::{Item, ReserveFailure};
use bazaar_actors::checkout::{FailureCode, Outcome, PricedItem, Step};
use bazaar_actors::inventory::Held;

impl Run<'_> {
    /// Holds every priced item, nearest the destination first, or nothing.
    pub(super) async fn reserve(&self, items: &[PricedItem], attempt: Attempt) -> StepResult {
        let zone = self.destination_zone().await;
        let mut held: Vec<Held> = Vec::with_capacity(items.len());
        for item in items {
            let wanted = Item {
                asin: item.line.asin.clone(),
                seller: item.line.seller.clone(),
                sku: item.sku.clone(),
                quantity: item.line.quantity,
            };
            let failure = match self.source(&wanted, zone.as_deref(), &mut held, attempt).await? {
                Ok(()) => continue,
                Err(ReserveFailure::Engine(error)) => return Err(error.into()),
                Err(failure) => failure,
            };
            self.inner.catalog.release_held(self.tenant, &held).await?;
            let code = match failure {
                ReserveFailure::OutOfStock { .. } => FailureCode::OutOfStock,
                _ => FailureCode::LineUnavailable,
            };
            return Ok(failed(Step::Reserve, code, failure.to_string()));
        }
        Ok(Outcome::Reserved { held })
    }
}
