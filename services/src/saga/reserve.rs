//! The reserve step: every priced line held at one of its seller's locations, or none.
//!
//! Invariants:
//! - Line `i` is held under the reservation id `{order}.{i}`, so a repeated step meets its
//!   own holds; a repeated attempt first gives back what an earlier one may hold at another
//!   location, so each line is held once.
//! - A line that cannot be held releases the lines held before it, then fails the saga.

use super::{Attempt, Run, StepResult, failed};
use crate::catalog::{Item, ReserveFailure};
use bazaar_actors::checkout::{FailureCode, Outcome, PricedItem, Step};
use bazaar_actors::inventory::Held;

impl Run<'_> {
    /// Holds every priced item at one of its seller's locations, or nothing.
    pub(super) async fn reserve(&self, items: &[PricedItem], attempt: Attempt) -> StepResult {
        let mut held: Vec<Held> = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            let wanted = Item {
                asin: item.line.asin.clone(),
                seller: item.line.seller.clone(),
                sku: item.sku.clone(),
                quantity: item.line.quantity,
            };
            let reservation_id = self.order.line_reservation(index);
            let ttl_ms = self.inner.config.hold_ttl_ms;
            if attempt.repeated {
                // An earlier attempt may hold this line at a location that had more stock
                // then; it is given back, so the line is held once.
                let (seller, sku) = (&wanted.seller, &wanted.sku);
                self.inner
                    .catalog
                    .release_everywhere(self.tenant, seller, sku, &reservation_id)
                    .await?;
            }
            match self.inner.catalog.hold(self.tenant, wanted, reservation_id, ttl_ms).await {
                Ok(line) => held.push(line),
                Err(ReserveFailure::Engine(error)) => return Err(error.into()),
                Err(failure) => {
                    self.inner.catalog.release_held(self.tenant, &held).await?;
                    let code = match failure {
                        ReserveFailure::OutOfStock { .. } => FailureCode::OutOfStock,
                        _ => FailureCode::LineUnavailable,
                    };
                    return Ok(failed(Step::Reserve, code, failure.to_string()));
                }
            }
        }
        Ok(Outcome::Reserved { held })
    }
}
